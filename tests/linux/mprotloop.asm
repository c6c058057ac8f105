; mprotloop.asm -- a Linux i386 program (no libc) for tests/symbiotic-linux.test.ts:
; it maps 16 MiB of anonymous memory, writes to every page (each gets a frame
; and a PTE), prints the mapping's address in hex, then flips the mapping
; between read-only and read-write forever. mprotect takes the process's mmap
; lock for writing and rewrites every PTE under it, so while this runs its
; mmap lock is held nearly all the time: a SymCall that needs the lock must
; answer EBUSY rather than wait. Build: tests/linux/build.sh.

%include "common.inc"

SYS_MPROTECT equ 125
SIZE         equ 16 << 20

section .text
global _start
_start:
    mmap_anon SIZE
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
    print_line 9
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

section .bss
line:   resb 9
