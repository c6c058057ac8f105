; smoke.asm -- the simplest kernel: prints a greeting and a few register ops.
%include "lib.inc"

main:
    PRINTLN 'Hello from smoke'
    mov eax, 0x12345678
    mov ebx, 0x9abcdef0
    add eax, ebx                ; 0xacf13568, no carry
    PRINT 'add '
    PHEX32 eax
    NL
    xor ecx, ecx
    mov cx, 0xffff
    inc cx                      ; 16-bit wrap: ecx = 0
    PRINT 'inc16 '
    PHEX32 ecx
    NL
    mov edx, 0x80000000
    shr edx, 4                  ; 0x08000000
    PRINT 'shr '
    PHEX32 edx
    NL
    mov eax, 7
    imul eax, eax, 6            ; 42
    PRINT 'imul '
    PHEX32 eax
    NL
    push dword 0x2badb002
    pop esi
    PRINT 'pop '
    PHEX32 esi
    NL
    mov eax, 0xffffffff
    add eax, 1                  ; CF=1 ZF=1 PF=1 AF=1 -> EFLAGS & 0xCD7 = 0x57
    pushfd
    pop eax
    and eax, F_ALL
    PRINT 'flags '
    PHEX32 eax
    NL
    PRINTLN 'smoke done'
    ret
