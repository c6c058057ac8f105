; gdbrep.asm -- REP string instructions for tests/gdb.test.ts's single steps: GDB steps through a REP MOVSB
; (four iterations), a REP STOSD (three) and a REP MOVSB with ECX = 0 under QEMU's gdbstub and under ours,
; which must stop after each iteration, EIP still on the instruction, as a single step does on hardware (TF)
; and under QEMU; reverse execution steps back through the iterations. The destinations printed.
%include "lib.inc"

main:
    cld
    mov esi, src
    mov edi, dst
    mov ecx, 4
rep_movs:
    rep movsb
after_movs:
    mov edi, dwords
    mov eax, 0xa5a5a5a5
    mov ecx, 3
rep_stos:
    rep stosd
    xor ecx, ecx
rep_none:
    rep movsb
    PRINT 'gdbrep '
    PHEX32 [dst]
    SPC
    PHEX32 [dwords]
    SPC
    PHEX32 [dwords+8]
    SPC
    PHEX32 [dwords+12]
    NL
    ret

section .data
align 16
src:    db 0x11, 0x22, 0x33, 0x44
dst:    dd 0
dwords: dd 0, 0, 0, 0x12345678
