; iobase.asm -- io.asm without the exits: the same loop, K iterations, with a
; NOP in place of `out 0x80, al`.  The baseline for the exit round-trip cost.
; RESULT is K.
%define KERNEL_NAME "iobase"
%include "bench.inc"

K equ 10000000

main:
    mov ecx, K
    xor eax, eax
    xor edx, edx
.loop:
    mov al, cl
    nop
    inc edx
    dec ecx
    jnz .loop
    mov eax, edx
    ret
