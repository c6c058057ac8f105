; primes.asm -- a tight integer loop: count the primes in [2, LIMIT) by trial
; division, with the isPrime loop of seed 002 (Adams & Agesen's binary
; translation example) instruction for instruction:
;     int isPrime(int a) { for (int i = 2; i < a; i++) if (a % i == 0) return 0; return 1; }
; Stresses decode/dispatch of simple ALU ops, IDIV and conditional branches.
; RESULT is pi(LIMIT - 1), the number of primes below LIMIT.
%define KERNEL_NAME "primes"
%include "bench.inc"

LIMIT equ 15000                 ; pi(14999) = 1754

main:
    xor ebx, ebx                ; primes found
    mov edi, 2
.next:
    mov ecx, edi
    call isPrime
    add ebx, eax
    inc edi
    cmp edi, LIMIT
    jb .next
    mov eax, ebx
    ret

; isPrime: ecx = a; returns eax = 1 if a is prime, else 0 (clobbers edx, esi).
isPrime:
    mov esi, 2
    cmp esi, ecx
    jge .prime
.nexti:
    mov eax, ecx
    cdq
    idiv esi
    test edx, edx
    jz .notPrime
    inc esi
    cmp esi, ecx
    jl .nexti
.prime:
    mov eax, 1
    ret
.notPrime:
    xor eax, eax
    ret
