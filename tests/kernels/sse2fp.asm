; sse2fp.asm -- SSE2's double-precision instructions (CPUID.1:EDX[26]) against QEMU: the PD and
; SD arithmetic over 20 × 20 binary64 pairs in two lanes under every rounding mode, FTZ and DAZ
; with MXCSR after each, compares, conversions to and from binary32 and int32, moves, shuffles.
; Left out where QEMU 7.2 departs from the SDM (tests/unit/sse2.test.ts): DE (QEMU: only when
; DAZ flushed), lanes with two NaN operands (QEMU: the larger significand; SDM: the first),
; MIN/MAX under DAZ (QEMU returns the flushed denormal's bits), MUL under FTZ (QEMU flushes a
; product that is tiny only before rounding; x86 detects tininess after rounding).
%include "lib.inc"
%include "fop.inc"
cpu prescott                    ; SSE2 and SSE3

ND equ 20
NPAIRS equ ND

%macro LOADPAIR 0
    mov eax, [f64v + esi*8]
    mov [opa], eax
    mov eax, [f64v + esi*8 + 4]
    mov [opa + 4], eax
    mov eax, [f64v + edi*8]
    mov [opa + 8], eax
    mov [opb], eax
    mov eax, [f64v + edi*8 + 4]
    mov [opa + 12], eax
    mov [opb + 4], eax
    mov eax, [f64v + esi*8]
    mov [opb + 8], eax
    mov eax, [f64v + esi*8 + 4]
    mov [opb + 12], eax
    movapd xmm0, [opa]
    movapd xmm1, [opb]
%endmacro


main:
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax
    FOP 'addpd', addpd, xmm1
    FOP 'subpd', subpd, xmm1
    FOP 'mulpd', mulpd, xmm1, mx_noftz
    FOP 'divpd', divpd, xmm1
    FOP 'sqrtpd', sqrtpd, xmm1
    FOP 'addsd', addsd, xmm1
    FOP 'mulsd', mulsd, [opb], mx_noftz
    FOP 'divsd', divsd, xmm1
    FOP 'cvtpd2ps', cvtpd2ps, xmm1
    FOP 'cvtsd2ss', cvtsd2ss, xmm1
    FOP 'cvtpd2dq', cvtpd2dq, xmm1
    FOP 'cvttpd2dq', cvttpd2dq, xmm1
    FOP 'cmpltpd', cmpltpd, xmm1
    FOP 'cmpunordsd', cmpunordsd, xmm1
    FOP 'minpd', minpd, xmm1, mx_nodaz
    FOP 'maxsd', maxsd, xmm1, mx_nodaz
    FOP 'cmplepd', cmplepd, [opb]
    FOP 'cmpneqpd', cmpneqpd, xmm1
    FOP 'cmpnltsd', cmpnltsd, xmm1
    FOP 'cmpordpd', cmpordpd, xmm1
    FOP 'cmpeqpd', cmpeqpd, xmm1
    FOP 'cvtps2pd', cvtps2pd, xmm1
    FOP 'cvtss2sd', cvtss2sd, xmm1
    FOP 'cvtdq2ps', cvtdq2ps, xmm1
    FOP 'cvtps2dq', cvtps2dq, xmm1
    FOP 'cvttps2dq', cvttps2dq, xmm1
    FOP 'cvtdq2pd', cvtdq2pd, xmm1
    FOP 'unpcklpd', unpcklpd, xmm1
    FOP 'unpckhpd', unpckhpd, [opb]
    FOP 'andnpd', andnpd, xmm1
    FOP 'xorpd', xorpd, [opb]
    FOP 'sqrtsd', sqrtsd, [opb]
    ; SSE3 (CPUID.1:ECX[0]): with LOADPAIR's operands HADDPD's and HSUBPD's lanes pair the same
    ; values as mask_two_nans's
    FOP 'addsubpd', addsubpd, xmm1
    FOP 'haddpd', haddpd, xmm1
    FOP 'hsubpd', hsubpd, xmm1
    FOP 'hsubpd-m', hsubpd, [opb]
    HBEGIN
    xor esi, esi
.dup:
    mov edi, esi
    LOADPAIR
    movddup xmm2, xmm0
    movupd [res], xmm2
    HASH16 res
    movddup xmm2, [opa + 8]
    movupd [res], xmm2
    HASH16 res
    inc esi
    cmp esi, ND
    jb .dup
    HEND 'movddup'
    ; COMISD/UCOMISD, CVTSD2SI/CVTTSD2SI, CVTSI2SD, MOVMSKPD, SHUFPD
    HBEGIN
    xor ebx, ebx
.cm:
    mov eax, [mx_modes + ebx*4]
    mov [mxv], eax
    xor esi, esi
.ca:
    xor edi, edi
.cb:
    LOADPAIR
    ldmxcsr [mxv]
    push dword 0x8d5
    popfd
    comisd xmm0, xmm1
    pushfd
    pop eax
    HASHV eax
    push dword 0x8d5
    popfd
    ucomisd xmm1, xmm0
    pushfd
    pop eax
    HASHV eax
    cvtsd2si eax, xmm0
    HASHV eax
    cvttsd2si eax, [opb]
    HASHV eax
    mov eax, [opa]
    xor eax, [opb + 4]
    cvtsi2sd xmm2, eax
    movupd [res], xmm2
    HASHV [res]
    HASHV [res + 4]
    movmskpd eax, xmm1
    HASHV eax
    movapd xmm3, xmm0
    shufpd xmm3, xmm1, 2
    movupd [res], xmm3
    HASH16 res
    MXHASH
    inc edi
    cmp edi, ND
    jb .cb
    inc esi
    cmp esi, ND
    jb .ca
    inc ebx
    cmp ebx, NMODES
    jb .cm
    HEND 'scalar-misc'
    ret

mask_two_nans:
    push eax
    push ecx
    xor ecx, ecx
.lane:
    mov eax, [opa + ecx*8 + 4]
    and eax, 0x7fffffff
    cmp eax, 0x7ff00000
    jb .next
    ja .nan_a
    cmp dword [opa + ecx*8], 0
    je .next
.nan_a:
    mov eax, [opb + ecx*8 + 4]
    and eax, 0x7fffffff
    cmp eax, 0x7ff00000
    jb .next
    ja .both
    cmp dword [opb + ecx*8], 0
    je .next
.both:
    mov dword [res + ecx*8], 0
    mov dword [res + ecx*8 + 4], 0
.next:
    inc ecx
    cmp ecx, 2
    jb .lane
    pop ecx
    pop eax
    ret

section .rodata
align 16
f64v:
    dq 0x0000000000000000, 0x8000000000000000, 0x3ff0000000000000, 0xbff8000000000000
    dq 0x3fb999999999999a, 0x0000000000012345, 0x8000000000000001, 0x0010000000000000
    dq 0x7fefffffffffffff, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000001
    dq 0x7ff0000000000001, 0xfff8123456789abc, 0x3ff0000000000001, 0x4340000000000000
    dq 0x000fffffffffffff, 0x3fefffffffffffff, 0x41dfffffffc00000, 0xc1e0000000000000
    dd NMODES
mx_modes: dd 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80, 0x1fc0
NMODES equ ($ - mx_modes) / 4
    dd 5
mx_noftz: dd 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x1fc0
    dd 5
mx_nodaz: dd 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80

section .bss
alignb 16
opa:   resq 2
opb:   resq 2
res:   resq 2
mxv:   resd 1
mxout: resd 1
