; smppaging.asm -- two CPUs with paging on, sharing page tables and each with its own address space:
; what a VMM's shadow pager must keep straight when several vCPUs walk the guest's tables. The BSP
; builds the tables and starts the AP, which first reads a linear address with paging off (physical
; memory, where the BSP's tables map another page), then turns paging on through the BSP's directory
; without CR4.PSE (a paging form the BSP does not have) and later with it (a 4 MiB page). In rounds the
; BSP points a PTE the AP uses at another page and the AP reads and writes through it (INVLPG after
; each change, so the result does not depend on either TLB); then the AP moves to a directory of its
; own whose window maps another page than the BSP's, and changes a PTE there. The BSP prints what both
; saw and the entries with the accessed and dirty bits the two walks set.
%include "lib.inc"

APIC         equ 0xfee00000
APIC_ICR_LO  equ APIC + 0x300
APIC_ICR_HI  equ APIC + 0x310
TRAMPOLINE   equ 0x70000                ; start-up IPI vector 0x70

P_P    equ 1
P_RW   equ 2
P_PS   equ 0x80
CR0_PG equ 0x80000000
CR4_PSE equ 0x10
WINDOW equ 0x00400000                   ; pd[1] -> pt1 (pd2[1] -> pt2), entry 0
LARGE  equ 0x00800000                   ; pd[2]: a 4 MiB page, identity
ROUNDS equ 6

; ICR: dest (APIC ID), low word
%macro IPI 2
    mov dword [APIC_ICR_HI], (%1) << 24
    mov dword [APIC_ICR_LO], %2
%endmacro

; WAITFOR var, value -- spin (PAUSE) until the dword var holds value
%macro WAITFOR 2
%%spin:
    pause
    cmp dword [%1], %2
    jne %%spin
%endmacro

main:
    ; Physical memory where linear WINDOW and LARGE point with paging off.
    mov dword [WINDOW], 0x0ff1ce00
    mov dword [LARGE + 0x10], 0x1a49e010
    ; Four pages the window takes in turn, a word each to tell them apart.
    mov dword [pages], 0xaaaa0001
    mov dword [pages + 0x1000], 0xbbbb0002
    mov dword [pages + 0x2000], 0xcccc0003
    mov dword [pages + 0x3000], 0xdddd0004
    ; The BSP's space: the first 4 MiB identity (4 KiB pages), the window through pt1, LARGE a 4 MiB page.
    IDMAP4K pt0, P_P | P_RW
    mov dword [pd], pt0 + P_P + P_RW
    mov dword [pd + 4], pt1 + P_P + P_RW
    mov dword [pd + 8], LARGE + P_P + P_RW + P_PS
    mov dword [pt1], pages + P_P + P_RW
    ; The AP's own space later: the same first 4 MiB, its window through pt2.
    mov dword [pd2], pt0 + P_P + P_RW
    mov dword [pd2 + 4], pt2 + P_P + P_RW
    mov dword [pt2], pages + 0x3000 + P_P + P_RW
    ; Start the AP (paging still off here: the APIC is not mapped once it is on).
    mov esi, trampoline
    mov edi, TRAMPOLINE
    mov ecx, trampoline_end - trampoline
    rep movsb
    IPI 1, 0x4500                       ; INIT
    IPI 1, 0x4600 | (TRAMPOLINE >> 12)  ; start-up
    IPI 1, 0x4600 | (TRAMPOLINE >> 12)
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    mov dword [bsp_ready], 1
    ; The AP reads with paging off, then turns it on without PSE; meanwhile the BSP reads its window and LARGE.
    WAITFOR ap_stage, 1
    mov eax, [WINDOW]
    mov [bsp_window], eax
    mov eax, [LARGE + 0x10]
    mov [bsp_large], eax
    mov dword [bsp_stage], 1
    WAITFOR ap_stage, 2
    ; Rounds: the BSP points the window at page k % 4, the AP reads it and writes k into it.
    xor ebx, ebx
.round:
    mov eax, ebx
    and eax, 3
    shl eax, 12
    add eax, pages + P_P + P_RW
    mov [pt1], eax
    invlpg [WINDOW]
    lea eax, [ebx + 1]
    mov [round], eax
    WAITFOR ack, eax
    ; (the ack's value is in eax: WAITFOR compares with it)
    invlpg [WINDOW]
    mov eax, [WINDOW + 8]
    add [bsp_sum], eax
    inc ebx
    cmp ebx, ROUNDS
    jne .round
    ; The AP moves to its own directory; the BSP's window stays where the last round left it.
    mov dword [bsp_stage], 2
    WAITFOR ap_stage, 3
    mov eax, [WINDOW]
    mov [bsp_after], eax
    mov dword [bsp_stage], 3
    WAITFOR ap_stage, 4
    PRINT 'smppaging ap: '
    PHEX32 [ap_physical]
    SPC
    PHEX32 [ap_first]
    SPC
    PHEX32 [ap_large]
    SPC
    PHEX32 [ap_sum]
    SPC
    PHEX32 [ap_private]
    SPC
    PHEX32 [ap_private2]
    NL
    PRINT 'smppaging bsp: '
    PHEX32 [bsp_window]
    SPC
    PHEX32 [bsp_large]
    SPC
    PHEX32 [bsp_sum]
    SPC
    PHEX32 [bsp_after]
    NL
    PRINT 'smppaging entries: '
    PHEX32 [pd + 4]
    SPC
    PHEX32 [pd + 8]
    SPC
    PHEX32 [pt1]
    SPC
    PHEX32 [pd2 + 4]
    SPC
    PHEX32 [pt2]
    SPC
    PHEX32 [pt2 + 4]
    NL
    PRINT 'smppaging pages: '
    PHEX32 [pages + 8]
    SPC
    PHEX32 [pages + 0x1008]
    SPC
    PHEX32 [pages + 0x2008]
    SPC
    PHEX32 [pages + 0x3008]
    NL
    ret

; The AP's first instructions, copied to TRAMPOLINE: real mode, CS = 0x7000, IP = 0.
    AP_START ap_stack_top
    WAITFOR bsp_ready, 1
    ; Paging off: the linear address is physical, whatever the BSP's tables say.
    mov eax, [WINDOW]
    mov [ap_physical], eax
    ; Paging on through the BSP's directory, without PSE.
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    mov eax, [WINDOW]
    mov [ap_first], eax
    mov dword [ap_stage], 1
    WAITFOR bsp_stage, 1
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, [LARGE + 0x10]
    mov [ap_large], eax
    mov dword [ap_stage], 2
    xor ebx, ebx
.round:
    lea ecx, [ebx + 1]
    WAITFOR round, ecx
    invlpg [WINDOW]
    mov eax, [WINDOW]
    add [ap_sum], eax
    mov [WINDOW + 8], ecx
    mov [ack], ecx
    inc ebx
    cmp ebx, ROUNDS
    jne .round
    WAITFOR bsp_stage, 2
    ; A space of its own: the same window linear address, another page.
    mov eax, pd2
    mov cr3, eax
    mov eax, [WINDOW]
    mov [ap_private], eax
    mov dword [ap_stage], 3
    WAITFOR bsp_stage, 3
    ; Its own PTE changed, and one more page mapped read-only beside it.
    mov dword [pt2], pages + 0x2000 + P_P + P_RW
    mov dword [pt2 + 4], pages + P_P
    invlpg [WINDOW]
    mov eax, [WINDOW]
    add eax, [WINDOW + 0x1000]
    mov [ap_private2], eax
    mov dword [ap_stage], 4
    cli
.hang:
    hlt
    jmp .hang

section .data
align 4
bsp_ready:   dd 0
bsp_stage:   dd 0
ap_stage:    dd 0
round:       dd 0
ack:         dd 0
ap_physical: dd 0
ap_first:    dd 0
ap_large:    dd 0
ap_sum:      dd 0
ap_private:  dd 0
ap_private2: dd 0
bsp_window:  dd 0
bsp_large:   dd 0
bsp_sum:     dd 0
bsp_after:   dd 0

section .bss
alignb 4096
pd:    resb 4096
pd2:   resb 4096
pt0:   resb 4096
pt1:   resb 4096
pt2:   resb 4096
pages: resb 4 * 4096
alignb 16
ap_stack:    resb 1024
ap_stack_top:
