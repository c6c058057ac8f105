; pagefault.asm -- page-fault-heavy: K times, touch a page that is not
; present; the #PF handler marks it present and returns; the loop then
; marks it not present again (INVLPG).  Each iteration is one #PF delivered
; through an interrupt gate, CR2 read, PTE update, IRET, re-execution and an
; INVLPG.  Pages cycle through PAGES pages; each touch increments the page's
; first dword and adds it to a sum: RESULT = PAGES * T(T+1)/2 with T = K/PAGES,
; or 0xFFFFFFFF if the handler did not run exactly K times.
; Work unit: page faults.
%define KERNEL_NAME "pagefault"
%include "bench.inc"
%include "paging.inc"

K      equ 1500000
PAGES  equ 1000                 ; K must be a multiple of PAGES
REGION equ 0x800000

main:
    call paging_on
    mov eax, pf_handler         ; vector 14's gate offset (split 16/16)
    mov [idt + 14 * 8], ax
    shr eax, 16
    mov [idt + 14 * 8 + 6], ax
    lidt [idt_desc]
    mov esi, REGION             ; zero the dwords, then unmap the pages
    mov ecx, PAGES
.prep:
    mov dword [esi], 0
    mov eax, esi
    shr eax, 12
    and dword [pt_entries + eax * 4], ~1
    invlpg [esi]
    add esi, 4096
    loop .prep

    xor ebx, ebx                ; sum
    xor ecx, ecx                ; iteration
    mov esi, REGION
    mov edi, REGION + PAGES * 4096
.loop:
    inc dword [esi]             ; #PF here, then re-executed
    add ebx, [esi]
    mov eax, esi
    shr eax, 12
    and dword [pt_entries + eax * 4], ~1
    invlpg [esi]
    add esi, 4096
    cmp esi, edi
    jb .same
    mov esi, REGION
.same:
    inc ecx
    cmp ecx, K
    jb .loop

    mov eax, ebx
    cmp dword [faults], K
    je .ok
    mov eax, 0xFFFFFFFF
.ok:
    ret

; #PF: map the faulting page and retry the instruction.
pf_handler:
    push eax
    mov eax, cr2
    shr eax, 12
    or dword [pt_entries + eax * 4], 1
    inc dword [faults]
    pop eax
    add esp, 4                  ; error code
    iret

section .data
align 8
idt:
    times 14 dq 0
    dw 0                        ; vector 14: 32-bit interrupt gate, DPL0
    dw 0x08
    db 0, 0x8E
    dw 0
idt_end:
idt_desc:
    dw idt_end - idt - 1
    dd idt
faults: dd 0
