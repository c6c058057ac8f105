; mprotswap.asm -- a Linux i386 program (no libc) for tests/swapbypass-linux.test.ts:
; it maps MiB (argv[1], decimal) of anonymous memory, stores into every page and
; reads every page back (more than the guest's free memory: part of it is
; swapped out, and under SwapBypass the read-back maps those slots straight in),
; finds the last page that is not resident (mincore: swapped out), makes the
; whole mapping read-only (mprotect PROT_READ), prints "PAGE <address>" and
; stores into that page. Linux must kill it with SIGSEGV; if the store lands it
; prints "WROTE" and exits 0 (no page swapped out: "NONE", exit 2).
; Build: tests/linux/build.sh.

%include "common.inc"

SYS_EXIT     equ 1
SYS_MPROTECT equ 125
SYS_MINCORE  equ 218
MAX_PAGES    equ 16384              ; 64 MiB

section .text
global _start
_start:
    mov esi, [esp + 8]              ; argv[1]
    xor eax, eax
.digit:
    movzx ecx, byte [esi]
    sub ecx, '0'
    cmp ecx, 9
    ja .parsed
    imul eax, eax, 10
    add eax, ecx
    inc esi
    jmp .digit
.parsed:
    shl eax, 20
    mov [size], eax
    mmap_anon [size]
    mov edi, eax
    mov ecx, [size]
    shr ecx, 12
.store:                             ; a frame and a PTE for every page (the guest swaps some out)
    mov [edi], ecx
    add edi, 4096
    loop .store
    mov esi, [addr]
    mov ecx, [size]
    shr ecx, 12
    xor edx, edx
.load:                              ; read back: swapped-out pages fault (SwapBypass maps them)
    add edx, [esi]
    add esi, 4096
    loop .load
    mov eax, SYS_MINCORE
    mov ebx, [addr]
    mov ecx, [size]
    mov edx, vec
    int 0x80
    mov ecx, [size]
    shr ecx, 12
.find:                              ; the last page not resident
    dec ecx
    js .none
    test byte [vec + ecx], 1
    jnz .find
    shl ecx, 12
    add ecx, [addr]
    mov [target], ecx
    mov eax, SYS_MPROTECT
    mov ebx, [addr]
    mov ecx, [size]
    mov edx, 1                      ; PROT_READ
    int 0x80
    mov edi, line
    mov dword [edi], 'PAGE'
    mov byte [edi + 4], ' '
    add edi, 5
    mov eax, [target]
    call hex8
    mov byte [edi], 10
    print_line 14
    mov eax, [target]
    mov dword [eax], 1              ; read-only now: SIGSEGV
    mov dword [line], 'WROT'
    mov word [line + 4], 'E' | (10 << 8)
    print_line 6
    mov eax, SYS_EXIT
    xor ebx, ebx
    int 0x80
.none:
    mov dword [line], 'NONE'
    mov byte [line + 4], 10
    print_line 5
    mov eax, SYS_EXIT
    mov ebx, 2
    int 0x80

section .bss
size:   resd 1
target: resd 1
line:   resb 16
vec:    resb MAX_PAGES
