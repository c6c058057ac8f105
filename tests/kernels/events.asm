; events.asm -- instructions after which an event may become due, each in a loop
; run often enough to be replayed from the translation cache and compiled
; (ROUNDS is above the block compiler's threshold of 5000 replays):
;
;   1. POPF setting TF (every other round, so that the instruction after it
;      also runs cached without TF): the single-step #DB comes after the
;      instruction that follows the POPF (Intel SDM vol. 3, 17.3.1.4), with its EIP;
;   2. STI with IRQ 0 pending: the interrupt is taken after the one instruction
;      STI's shadow covers, not before it and not later;
;   3. POPF setting IF with IRQ 0 pending: taken right after the POPF (no shadow);
;   4. VERR/VERW: they only set ZF.
;
; For 2 and 3 the 8259 is initialised here (IRQ 0 -> vector 0x20, every other
; IRQ masked) and the 8254's channel 0 is armed in mode 0 with a count of 2;
; the kernel waits with IF = 0 until the 8259's IRR shows IRQ 0 (OCW3), so the
; interrupt is pending when STI/POPF runs whatever the timing.

%include "lib.inc"

ROUNDS equ 6000

main:
    ; ---- 1. POPF sets TF
    IDTSET 1, db_handler, SEL_CODE0, 0x8E
    xor esi, esi                ; #DB taken
    xor edi, edi                ; #DB with an unexpected EIP
    xor ebx, ebx
    mov ecx, ROUNDS
.tf:
    pushfd
    mov eax, ecx
    and eax, 1
    shl eax, 8                  ; F_TF in odd rounds
    or [esp], eax
    popfd
    inc ebx                     ; single-stepped in odd rounds: #DB after it
.tf_after:
    dec ecx
    jnz .tf
    PRINT 'popf tf:'
    SHOWV 'steps', ebx
    SHOWV 'db', esi
    SHOWV 'wrong_eip', edi
    NL

    ; ---- the 8259 (ICW1-4; OCW1: only IRQ 0) and IRQ 0's gate
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    IDTSET 0x20, irq0_handler, SEL_CODE0, 0x8E

    ; ---- 2. STI with IRQ 0 pending
    xor esi, esi                ; ticks seen by the shadowed instruction
    xor edi, edi                ; ticks seen by the one after it
    mov ecx, ROUNDS
.sti:
    call arm_irq0
    sti
    mov eax, [ticks]            ; in STI's shadow: the IRQ is not taken yet
    mov edx, [ticks]            ; taken before this one
    cli
    add esi, eax
    add edi, edx
    dec ecx
    jnz .sti
    PRINT 'sti:'
    SHOWV 'shadowed', esi
    SHOWV 'after', edi
    SHOWV 'ticks', [ticks_total]
    NL

    ; ---- 3. POPF sets IF with IRQ 0 pending
    xor esi, esi
    mov ecx, ROUNDS
.popf_if:
    call arm_irq0
    pushfd
    or dword [esp], F_IF
    popfd                       ; the IRQ is taken right after it
    mov eax, [ticks]
    cli
    add esi, eax
    dec ecx
    jnz .popf_if
    PRINT 'popf if:'
    SHOWV 'after', esi
    SHOWV 'ticks', [ticks_total]
    NL
    mov al, 0xff                ; mask the 8259 again
    out 0x21, al

    ; ---- 4. VERR/VERW
    xor esi, esi
    xor edi, edi
    mov ecx, ROUNDS
.verw:
    mov ax, SEL_DATA0
    verw ax                     ; writable data: ZF = 1
    setz dl
    movzx edx, dl
    add esi, edx
    mov ax, SEL_CODE0
    verw ax                     ; code: ZF = 0
    setz dl
    movzx edx, dl
    add edi, edx
    verr ax                     ; readable code: ZF = 1
    setz dl
    movzx edx, dl
    add edi, edx
    dec ecx
    jnz .verw
    PRINT 'verr/verw:'
    SHOWV 'data_w', esi
    SHOWV 'code_w+r', edi
    NL
    ret

; Clear [ticks], arm the 8254's channel 0 (mode 0, count 2) and wait until IRQ 0 is pending in the 8259.
arm_irq0:
    mov dword [ticks], 0
    mov al, 0x30                ; channel 0, lobyte/hibyte, mode 0
    out 0x43, al
    mov al, 2
    out 0x40, al
    xor al, al
    out 0x40, al
.wait:
    mov al, 0x0a                ; OCW3: read IRR
    out 0x20, al
    in al, 0x20
    test al, 1
    jz .wait
    ret

db_handler:
    inc esi
    cmp dword [esp], main.tf_after
    je .ok
    inc edi
.ok:
    and dword [esp + 8], ~F_TF
    iretd

irq0_handler:
    push eax
    inc dword [ticks]
    inc dword [ticks_total]
    mov al, 0x20                ; EOI
    out 0x20, al
    pop eax
    iretd

section .bss
ticks:       resd 1
ticks_total: resd 1
