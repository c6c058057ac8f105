; ptupdate.asm -- page-table-update-heavy, what a fork/exec/exit loop does to
; a VMM: ROUNDS times, build an address space (write PAGES PTEs of a page
; table under a second page directory that shares the kernel's identity
; mapping), switch CR3 to it, touch each new page once, switch back, and
; tear the mapping down (clear the PTEs, INVLPG).  Shadow paging pays for the
; page-table writes (trace faults) and the CR3 switches; nested and direct
; paging only for the TLB misses.
; The PAGES frames hold 1..PAGES in their first dword; each round sums them:
; RESULT = ROUNDS * PAGES(PAGES+1)/2 mod 2^32.
; Work unit: PTE writes (one to map and one to unmap each page, per round).
%define KERNEL_NAME "ptupdate"
%include "bench.inc"
%include "paging.inc"

ROUNDS equ 20000
PAGES  equ 64
FRAMES equ 0x2000000            ; the frames mapped (32 MiB up, inside the identity map)
WINDOW equ 0x40000000           ; where the second address space maps them (PDE 256)

main:
    call paging_on              ; page_dir: identity map of 64 MiB
    mov esi, page_dir           ; space_dir = page_dir + one page table at WINDOW
    mov edi, space_dir
    mov ecx, 1024
    rep movsd
    mov dword [space_dir + (WINDOW >> 22) * 4], space_pt + 3
    mov edi, FRAMES             ; frame i holds i + 1
    mov eax, 1
.frames:
    mov [edi], eax
    add edi, 4096
    inc eax
    cmp eax, PAGES
    jbe .frames

    xor ebx, ebx                ; sum
    mov ebp, ROUNDS
.round:
    mov edi, space_pt           ; map: PTE i -> frame i, present + writable
    mov eax, FRAMES + 3
    mov ecx, PAGES
.map:
    mov [edi], eax
    add edi, 4
    add eax, 4096
    loop .map
    mov eax, space_dir
    mov cr3, eax
    mov esi, WINDOW             ; touch each page
    mov ecx, PAGES
.touch:
    add ebx, [esi]
    add esi, 4096
    loop .touch
    mov eax, page_dir
    mov cr3, eax
    mov edi, space_pt           ; unmap
    mov esi, WINDOW
    mov ecx, PAGES
.unmap:
    mov dword [edi], 0
    invlpg [esi]
    add edi, 4
    add esi, 4096
    loop .unmap
    dec ebp
    jnz .round
    mov eax, ebx
    ret

section .bss
alignb 4096
space_dir: resb 4096
space_pt:  resb 4096
