; gdbsmp.asm -- two vCPUs, for tests/gdb.test.ts's threads: GDB sees each CPU as a thread through
; QEMU's gdbstub (-smp 2) and through ours and must print the same. The BSP starts the AP (INIT,
; start-up IPI to a real-mode trampoline at 0x70000) and halts; the AP waits until the BSP is about
; to halt, spins long enough that it surely has, then runs a short loop GDB breaks and steps in,
; and wakes the BSP with an IPI: until then every stop GDB sees finds the BSP at the same place (in
; HLT). Then the AP spins, counting, until the BSP sets `release` — where it is when GDB stops the
; BSP depends on how the two ran, so GDB compares the AP's EIP and count before and after steps of
; the BSP under scheduler locking (the AP must not move) rather than printing them.
%include "lib.inc"

APIC         equ 0xfee00000
APIC_SVR     equ APIC + 0xf0
APIC_ICR_LO  equ APIC + 0x300
APIC_ICR_HI  equ APIC + 0x310
TRAMPOLINE   equ 0x70000                ; start-up IPI vector 0x70
WAKE_VECTOR  equ 0x40
AP_SPIN      equ 100000                 ; iterations the AP waits after the BSP said it halts

; ICR: dest (APIC ID), low word
%macro IPI 2
    mov dword [APIC_ICR_HI], (%1) << 24
    mov dword [APIC_ICR_LO], %2
%endmacro

main:
    mov esi, trampoline
    mov edi, TRAMPOLINE
    mov ecx, trampoline_end - trampoline
    rep movsb
    mov dword [APIC_SVR], 0x1ff         ; the BSP's APIC on, for the AP's wake-up IPI
    IPI 1, 0x4500                       ; INIT
    IPI 1, 0x4600 | (TRAMPOLINE >> 12)  ; start-up
    IPI 1, 0x4600 | (TRAMPOLINE >> 12)  ; the second one the MP spec asks for (ignored once it runs)
    mov dword [exc_resume], bsp_woken
    mov byte [exc_quiet], 1
    mov byte [bsp_halting], 1
    sti
bsp_halt:
    hlt
    jmp bsp_halt
bsp_woken:
    cli
    mov byte [release], 1
    PRINT 'gdbsmp '
    PHEX32 [ap_counter]
    SPC
    PHEX32 [ap_seen]
    NL
    ret

; The AP's first instructions, copied to TRAMPOLINE: real mode, CS = 0x7000, IP = 0.
    AP_START ap_stack_top
    mov dword [APIC_SVR], 0x1ff
.wait:
    cmp byte [bsp_halting], 0
    je .wait
    mov ecx, AP_SPIN
.spin:
    loop .spin
ap_ready:
    mov dword [ap_seen], 0xa9a9
    mov ecx, 3
ap_loop:
    add dword [ap_counter], 7
    loop ap_loop
ap_done:
    IPI 0, 0x4000 | WAKE_VECTOR         ; fixed, to the BSP
ap_spin:
    inc dword [ap_spins]
    cmp byte [release], 0
    je ap_spin
    cli
.hang:
    hlt
    jmp .hang

section .data
bsp_halting: db 0
release:     db 0
align 4
ap_counter:  dd 0x100
ap_seen:     dd 0
ap_spins:    dd 0

section .bss
alignb 16
ap_stack:    resb 1024
ap_stack_top:
