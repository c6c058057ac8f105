; memcpy.asm -- string instructions: REP MOVSD over aligned 64 KiB buffers and
; REP MOVSB over misaligned ones.  Each round copies src to dst with REP MOVSD
; (16384 dwords), then copies dst+1 back to src with REP MOVSB (65535 bytes),
; so src ends each round shifted down by one byte (its last byte unchanged).
; RESULT is a hash of src after ROUNDS rounds (see hash below; the benchmark
; recomputes it in JavaScript).  Work unit: bytes copied, 131071 per round.
%define KERNEL_NAME "memcpy"
%include "bench.inc"

BUF    equ 65536
ROUNDS equ 1500

main:
    ; src[i] = i * 0x9E3779B1 (dword i)
    mov edi, src
    xor ecx, ecx
.fill:
    mov eax, ecx
    imul eax, eax, 0x9E3779B1
    stosd
    inc ecx
    cmp ecx, BUF / 4
    jb .fill

    mov ebp, ROUNDS
.round:
    mov esi, src
    mov edi, dst
    mov ecx, BUF / 4
    rep movsd
    mov esi, dst + 1
    mov edi, src
    mov ecx, BUF - 1
    rep movsb
    dec ebp
    jnz .round

    ; h = (rol(h, 5) xor v) * 0x9E3779B1 over the dwords of src
    mov esi, src
    mov ecx, BUF / 4
    xor eax, eax
.hash:
    rol eax, 5
    xor eax, [esi]
    imul eax, eax, 0x9E3779B1
    add esi, 4
    loop .hash
    ret

section .bss
alignb 4096
src: resb BUF
dst: resb BUF
