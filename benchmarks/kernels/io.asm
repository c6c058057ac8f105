; io.asm -- an I/O-exit-heavy loop: K writes to port 0x80 (the POST-code
; port), each one a VM exit in Symbiont.  iobase.asm is the same loop with a
; NOP where the OUT is; their time difference over K is the exit round trip.
; RESULT is K.  Work unit: OUTs.
%define KERNEL_NAME "io"
%include "bench.inc"

K equ 10000000

main:
    mov ecx, K
    xor eax, eax
    xor edx, edx
.loop:
    mov al, cl
    out 0x80, al
    inc edx
    dec ecx
    jnz .loop
    mov eax, edx
    ret
