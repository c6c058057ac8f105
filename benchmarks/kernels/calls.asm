; calls.asm -- call/return-heavy code: naive recursive Fibonacci with a
; frame per call (push ebp / mov ebp, esp / ... / leave / ret), the argument
; passed on the stack as in cdecl.  fib(N) makes 2*fib(N+1) - 1 calls.
; RESULT is fib(N).  Work unit: calls.
%define KERNEL_NAME "calls"
%include "bench.inc"

N equ 32                        ; fib(32) = 2178309, 7049155 calls

main:
    push N
    call fib
    add esp, 4
    ret

; unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
fib:
    push ebp
    mov ebp, esp
    push ebx
    mov eax, [ebp + 8]
    cmp eax, 2
    jb .done
    dec eax
    push eax
    call fib
    mov ebx, eax
    mov eax, [ebp + 8]
    sub eax, 2
    mov [esp], eax
    call fib
    add esp, 4
    add eax, ebx
.done:
    pop ebx
    leave
    ret
