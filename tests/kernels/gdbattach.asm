; gdbattach.asm -- a kernel that says it runs, then spins until a debugger sets `go`: for
; tests/gdb.test.ts's attach to a running guest (the monitor's gdbserver; QEMU's -gdb without -S).
; It never ends on its own, so it has no golden file: the test compares its output with QEMU's.
%include "lib.inc"

main:
    PRINT 'gdbattach spinning'
    NL
spin:
    cmp byte [go], 0
    je spin
released:
    mov eax, 0x6000
    add eax, [bonus]
done:
    PRINT 'gdbattach '
    PHEX32 eax
    NL
    ret

section .data
go:     db 0
align 4
bonus:  dd 0x1e
