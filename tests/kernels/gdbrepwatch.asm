; gdbrepwatch.asm -- watchpoints met inside REP string instructions, for tests/gdb.test.ts: a write watchpoint on a
; dword a REP STOSD fills (the 11th of 64 iterations writes it) and a read watchpoint on a byte a REP MOVSB copies
; (the 101st of 256 reads it). A data breakpoint traps after the iteration that met it, with ECX, ESI and EDI
; counted that far and EIP still on the instruction (SDM vol. 3, 17.3.1.2). Then a write watchpoint on the fourth
; dword a PUSHA writes (EBX's): the instruction writes the page eight times, and traps after it. GDB must print what
; it prints against QEMU's gdbstub. Some of what was written printed.
%include "lib.inc"

main:
    cld
    mov edi, buf
    mov eax, 0x5a5a5a5a
    mov ecx, 64
rep_stos:
    rep stosd
    mov esi, buf
    mov edi, copy
    mov ecx, 256
rep_movs:
    rep movsb
    mov [saved_esp], esp
    mov esp, pstack_top
    mov eax, 0xa0a0a0a0
    mov ebx, 0xb0b0b0b0
pusha_at:
    pusha
    mov esp, [saved_esp]
    PRINT 'gdbrepwatch '
    PHEX32 [copy+40]
    SPC
    PHEX32 [copy+252]
    SPC
    PHEX32 [pstack_top-16]
    NL
    ret

section .data
align 16
buf:    times 64 dd 0
copy:   times 256 db 0
saved_esp: dd 0
pstack: times 8 dd 0
pstack_top:
