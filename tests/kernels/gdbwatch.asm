; gdbwatch.asm -- variables written and read in a loop, for tests/gdb.test.ts's watchpoints: GDB
; watches them through QEMU's gdbstub and through ours and must print the same (old and new values,
; where the write happened); a variable on the same page written without being watched.
%include "lib.inc"

main:
    mov ecx, 3
.loop:
    add dword [counter], 5
    mov [neighbour], ecx            ; same page, not watched
    mov eax, [readme]               ; read
    add dword [readme], 1
    loop .loop
after_loop:
    PRINT 'gdbwatch '
    PHEX32 [counter]
    SPC
    PHEX32 [neighbour]
    SPC
    PHEX32 [readme]
    NL
    ret

section .data
align 16
counter:   dd 0
neighbour: dd 0x11111111
readme:    dd 7
