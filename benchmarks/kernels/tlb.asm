; tlb.asm -- TLB-miss-heavy: paging on (identity map, 4 KiB pages), each round
; touches PAGES distinct pages (one dword each, read-modify-write then read)
; and then reloads CR3, so every first touch of a page in a round is a TLB
; miss and a page walk.  In round r (1..ROUNDS) each touched dword gets r
; added and is then summed: RESULT = PAGES * sum(r(r+1)/2) mod 2^32.
; Work unit: page touches (= TLB misses after a flush).
%define KERNEL_NAME "tlb"
%include "bench.inc"
%include "paging.inc"

PAGES  equ 8192                 ; 32 MiB of pages, from 4 MiB up
ROUNDS equ 1500
REGION equ 0x400000
STRIDE equ 4096 + 4             ; next page, next dword: stays inside the page

main:
    call paging_on
    mov esi, REGION             ; zero the dwords we touch
    mov ecx, PAGES
.zero:
    mov dword [esi], 0
    add esi, STRIDE
    loop .zero

    xor ebx, ebx
    mov edi, 1                  ; round number
.round:
    mov esi, REGION
    mov ecx, PAGES
.touch:
    add [esi], edi
    add ebx, [esi]
    add esi, STRIDE
    dec ecx
    jnz .touch
    mov eax, cr3                ; flush the TLB
    mov cr3, eax
    inc edi
    cmp edi, ROUNDS
    jbe .round
    mov eax, ebx
    ret
