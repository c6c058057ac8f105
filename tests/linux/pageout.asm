; pageout.asm -- a Linux i386 program (no libc) for tests/symbiotic-linux.test.ts:
; it maps two anonymous pages, writes to both, asks the kernel to page the first
; one out (madvise MADV_PAGEOUT: with swap on, its PTE becomes a swap entry),
; prints "ADDRESS RESULT" in hex (the first page's address, madvise's return
; value) and waits (pause) until it is killed. Build: tests/linux/build.sh.

SYS_WRITE   equ 4
SYS_PAUSE   equ 29
SYS_MADVISE equ 219
SYS_MMAP2   equ 192
MADV_PAGEOUT equ 21

section .text
global _start
_start:
    mov eax, SYS_MMAP2
    xor ebx, ebx                ; anywhere
    mov ecx, 8192               ; two pages
    mov edx, 3                  ; PROT_READ | PROT_WRITE
    mov esi, 0x22               ; MAP_PRIVATE | MAP_ANONYMOUS
    mov edi, -1                 ; no file
    xor ebp, ebp
    int 0x80
    mov [addr], eax
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
    mov eax, SYS_WRITE
    mov ebx, 1
    mov ecx, line
    mov edx, 18
    int 0x80
.wait:
    mov eax, SYS_PAUSE
    int 0x80
    jmp .wait

; hex8: EAX as 8 hex digits at EDI; EDI moves past them
hex8:
    mov ecx, 8
.digit:
    rol eax, 4
    mov edx, eax
    and edx, 15
    mov dl, [digits + edx]
    mov [edi], dl
    inc edi
    loop .digit
    ret

section .rodata
digits: db '0123456789abcdef'

section .bss
addr:   resd 1
result: resd 1
line:   resb 18
