; pageout.asm -- a Linux i386 program (no libc) for tests/symbiotic-linux.test.ts:
; it maps two anonymous pages, writes to both, asks the kernel to page the first
; one out (madvise MADV_PAGEOUT: with swap on, its PTE becomes a swap entry),
; prints "ADDRESS RESULT" in hex (the first page's address, madvise's return
; value) and waits (pause) until it is killed. Build: tests/linux/build.sh.

%include "common.inc"

SYS_PAUSE   equ 29
SYS_MADVISE equ 219
MADV_PAGEOUT equ 21

section .text
global _start
_start:
    mmap_anon 8192              ; two pages
    mov dword [eax], 0x53594d42         ; both pages now have frames
    mov dword [eax + 4096], 0x4b454550
    mov ebx, eax
    mov eax, SYS_MADVISE
    mov ecx, 4096               ; the first page only
    mov edx, MADV_PAGEOUT
    int 0x80
    mov [result], eax
    mov eax, [addr]
    mov edi, line
    call hex8
    mov byte [edi], ' '
    inc edi
    mov eax, [result]
    call hex8
    mov byte [edi], 10
    print_line 18
.wait:
    mov eax, SYS_PAUSE
    int 0x80
    jmp .wait

section .bss
result: resd 1
line:   resb 18
