; gdbrwatch.asm -- variables read, written and both in a loop, on the page that holds the loop's own
; code, for tests/gdb.test.ts's read and access watchpoints (rwatch, awatch): GDB sets them through
; QEMU's gdbstub and through ours and must print the same. Every instruction the loop runs is fetched
; from the watched page, and one variable there is read without being watched.
%include "lib.inc"

main:
    mov ecx, 3
.loop:
    mov eax, [rvar]                 ; read
    mov [wvar], ecx                 ; write
    add dword [avar], 2             ; read and write
    mov edx, [neighbour]            ; read, on the same page
    loop .loop
after_loop:
    PRINT 'gdbrwatch '
    PHEX32 eax
    SPC
    PHEX32 [wvar]
    SPC
    PHEX32 [avar]
    SPC
    PHEX32 edx
    NL
    ret

; (in .text: the variables share the code's page; paging is off, so nothing stops the stores)
align 16
rvar:      dd 0x1111
wvar:      dd 0
avar:      dd 0x10
neighbour: dd 5
