; gdbirq.asm -- an interrupt pending while GDB steps, for tests/gdb.test.ts: with IF clear the kernel sends itself
; an IPI (its local APIC, vector 0x41), then enables interrupts at `stepping`. Run alone, the interrupt comes right
; after the instruction STI's shadow covers; under a debugger's single steps it waits (QEMU's gdbstub steps with
; interrupts held back, as ours does) until GDB continues. Reverse execution must replay those steps the same way.
%include "lib.inc"

APIC         equ 0xfee00000
APIC_EOI     equ APIC + 0xb0
APIC_SVR     equ APIC + 0xf0
APIC_ICR_LO  equ APIC + 0x300
APIC_ICR_HI  equ APIC + 0x310
VECTOR       equ 0x41

main:
    IDTSET VECTOR, ipi_handler, SEL_CODE0, 0x8E
    mov dword [APIC_SVR], 0x1ff
    mov dword [APIC_ICR_HI], 0
    mov dword [APIC_ICR_LO], 0x40000 | VECTOR   ; fixed, to itself (shorthand 01)
    xor eax, eax
    xor ebx, ebx
stepping:
    sti
    nop
    mov eax, 0x11
    mov ebx, 0x22
    add eax, ebx
    mov ecx, 0x33
    cli
    PRINT 'gdbirq '
    PHEX32 [ticks]
    SPC
    PHEX32 [seen_eax]
    SPC
    PHEX32 eax
    NL
    ret

ipi_handler:
    inc dword [ticks]
    mov [seen_eax], eax         ; how far the steps had come when it was taken
    mov dword [APIC_EOI], 0
    iretd

section .data
align 4
ticks:    dd 0
seen_eax: dd 0
