; mprotloop.asm -- a Linux i386 program (no libc) for tests/symbiotic-linux.test.ts:
; it maps 16 MiB of anonymous memory, writes to every page (each gets a frame
; and a PTE), prints the mapping's address in hex, then flips the mapping
; between read-only and read-write forever. mprotect takes the process's mmap
; lock for writing and rewrites every PTE under it, so while this runs its
; mmap lock is held nearly all the time: a SymCall that needs the lock must
; answer EBUSY rather than wait. Build: tests/linux/build.sh.

SYS_WRITE    equ 4
SYS_MPROTECT equ 125
SYS_MMAP2    equ 192
SIZE         equ 16 << 20

section .text
global _start
_start:
    mov eax, SYS_MMAP2
    xor ebx, ebx                ; anywhere
    mov ecx, SIZE
    mov edx, 3                  ; PROT_READ | PROT_WRITE
    mov esi, 0x22               ; MAP_PRIVATE | MAP_ANONYMOUS
    mov edi, -1                 ; no file
    xor ebp, ebp
    int 0x80
    mov [addr], eax
    mov edi, eax
    mov ecx, SIZE / 4096
.touch:                         ; a frame and a PTE for every page
    mov dword [edi], 1
    add edi, 4096
    loop .touch
    mov eax, [addr]
    mov edi, line
    call hex8
    mov byte [edi], 10
    mov eax, SYS_WRITE
    mov ebx, 1
    mov ecx, line
    mov edx, 9
    int 0x80
.flip:
    mov eax, SYS_MPROTECT
    mov ebx, [addr]
    mov ecx, SIZE
    mov edx, 1                  ; PROT_READ
    int 0x80
    mov eax, SYS_MPROTECT
    mov ebx, [addr]
    mov ecx, SIZE
    mov edx, 3                  ; PROT_READ | PROT_WRITE
    int 0x80
    jmp .flip

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
line:   resb 9
