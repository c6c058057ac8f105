; gdbpaging.asm -- paging on, and a loop that remaps a window page through its PTE (then INVLPG)
; and reads through it, then a store into a read-only page with CR0.WP = 0, for tests/gdb.test.ts:
; GDB breaks, watches the PTE itself and steps over the remapping and the store through QEMU's
; gdbstub and through ours, and must print the same. Under shadow paging the PTE's page is a guest
; page table the shadow pager traces while the debugger watches it, and the store one the pager
; lets through under the monitor trap flag while the debugger's step wants it too.
%include "lib.inc"

P_P    equ 1
P_RW   equ 2
CR0_PG equ 0x80000000
WINDOW equ 0x00400000           ; the page the loop remaps: pd[1] -> pt1, entry 0

main:
    ; the first 4 MiB identity-mapped with 4 KiB pages (code, data, stack), the window through pt1
    IDMAP4K pt0, P_P | P_RW
    mov dword [pd], pt0 + P_P + P_RW
    mov dword [pd + 4], pt1 + P_P + P_RW
    mov dword [pgA], 0xaaaa0001
    mov dword [pgB], 0xbbbb0002
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp paging_on
paging_on:
    xor esi, esi
    mov ecx, 4
remap:
    mov eax, pgA + P_P + P_RW
    test ecx, 1
    jz .store
    mov eax, pgB + P_P + P_RW
.store:
    mov [pt1], eax              ; the window's PTE
    invlpg [WINDOW]
remapped:
    add esi, [WINDOW]
    loop remap
after_loop:
    mov dword [pt1 + 4], pgA + P_P  ; the next window page: pgA, read-only (CR0.WP is clear: ring 0 writes it)
wp0_store:
    mov dword [WINDOW + 4096], 0xcccc0003
    PRINT 'gdbpaging '
    PHEX32 esi
    SPC
    PHEX32 [pt1]
    SPC
    PHEX32 [pgA]
    NL
    ret

section .bss
alignb 4096
pd:  resb 4096
pt0: resb 4096
pt1: resb 4096
pgA: resb 4096
pgB: resb 4096
