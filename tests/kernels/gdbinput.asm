; gdbinput.asm -- reads three characters from COM1 (polling its line status), then prints them: for
; tests/gdb.test.ts's reverse execution across host input (QEMU's record/replay logs the input, our history
; does too). It waits for its input, so it has no golden file: the test compares its output with QEMU's.
%include "lib.inc"

main:
    xor ebx, ebx
    mov esi, 3
next:
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 1                      ; data ready
    jz .wait
    mov dx, 0x3f8
    in al, dx
got_char:
    movzx eax, al
    shl ebx, 8
    or ebx, eax
    dec esi
    jnz next
    PRINT 'gdbinput '
    PHEX32 ebx
    NL
    ret
