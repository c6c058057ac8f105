; sse41.asm -- SSE4.1 (CPUID.1:ECX[19]) and POPCNT (CPUID.1:ECX[23]) against QEMU: the integer
; instructions over 16 × 16 pairs of 128-bit operands (register and aligned m128 sources), PTEST's
; EFLAGS, PMOVSX/PMOVZX (register and misaligned m64/m32/m16), the blends with several immediates
; and XMM0 masks, PEXTR*/PINSR*/EXTRACTPS/INSERTPS with every lane index (and beyond), MPSADBW with
; every block selection, MOVNTDQA; ROUNDPS/PD/SS/SD with all 16 immediates under the four MXCSR
; rounding modes over binary32/binary64 tables (halves, 2^23/2^52 neighbours, denormals, zeros,
; infinities, QNaNs, SNaNs) with MXCSR after each; DPPS/DPPD over exact products and sums; POPCNT
; r16/r32 (register and memory) with EFLAGS; the faults: #UD without CR4.OSFXSR, with CR0.EM, for
; the opcodes without their 66 prefix and for 66 0F 38 F0 with a register operand (MOVBE has no
; register form); #NM with CR0.TS
; (none for POPCNT, nor #UD with CR0.EM); #GP(0) for a misaligned m128 (none for the narrower
; operands).
; DPPS/DPPD run over products and sums that are exact in binary32/binary64 (small integers, halves,
; quarters, signed zeros) under every rounding mode: the order of the sums (the SDM's
; (p0 + p1) + (p2 + p3)) then shows only in the signs of zero sums.
; Left out where QEMU 7.2 departs from the SDM: #GP(0) for a misaligned m128 of PHMINPOSUW, PTEST,
; BLENDPS, BLENDPD, BLENDVPS, BLENDVPD, ROUNDPS, ROUNDPD, DPPS and DPPD (QEMU loads it unaligned;
; the SDM's exception types 2 and 4 fault), so only PMULLD PACKUSDW PBLENDW PBLENDVB MPSADBW and
; MOVNTDQA are checked for it.
%include "lib.inc"
%include "mmx.inc"
cpu nehalem                     ; (SSE4.1 and POPCNT: NASM's prescott and x64 levels reject them)

NM equ 16                       ; the pair table's entries (m64v)
NF32 equ 32                     ; binary32 rounding table (8 groups of 4)
NF64 equ 28                     ; binary64 rounding table (14 groups of 2)
NDP equ 20                      ; dot-product vectors

; MXH -- MXCSR folded into [hash]
%macro MXH 0
    stmxcsr [mxout]
    HASHV [mxout]
%endmacro

; PAIRS_BEGIN / PAIRS_END -- loop over every (esi, edi) of the pair table, XLOAD at the top
%macro PAIRS_BEGIN 0
    xor esi, esi
%%a:
    xor edi, edi
%%b:
    XLOAD
%push pairs
%define %$a %%a
%define %$b %%b
%endmacro
%macro PAIRS_END 0
    inc edi
    cmp edi, NM
    jb %$b
    inc esi
    cmp esi, NM
    jb %$a
%pop
%endmacro

; SOME_BEGIN / SOME_END -- loop over esi = 0..15 with edi = esi xor 5, XLOAD at the top
%macro SOME_BEGIN 0
    xor esi, esi
%%a:
    mov edi, esi
    xor edi, 5
    XLOAD
%push some
%define %$a %%a
%endmacro
%macro SOME_END 0
    inc esi
    cmp esi, NM
    jb %$a
%pop
%endmacro

; XIMMS insn, imm... -- for each imm: insn xmm2 (= xmm0), xmm1, imm and insn xmm3 (= [opa]),
; [opb], imm, both results hashed
%macro XIMMS 1-*
%define %%insn %1
%rep %0 - 1
%rotate 1
    movdqa xmm2, xmm0
    %%insn xmm2, xmm1, %1
    XHASH xmm2
    movdqa xmm3, [opa]
    %%insn xmm3, [opb], %1
    XHASH xmm3
%endrep
%endmacro

; XIMM 'name', insn, imm... -- XIMMS over every pair
%macro XIMM 3-*
    HBEGIN
    PAIRS_BEGIN
    XIMMS %{2:-1}
    PAIRS_END
    HEND %1
%endmacro

; PMOV 'name', insn -- insn xmm2, xmm1 and insn xmm3, [buf + k] with xmm1 stored at the odd
; (misaligned) offset k = 1 + 2 * ((esi + edi) mod 8), over every pair; the destinations
; hold all ones before
%macro PMOV 2
    HBEGIN
    PAIRS_BEGIN
    lea ecx, [esi + edi]
    and ecx, 7
    lea ecx, [ecx*2 + 1]
    movdqu [buf + ecx], xmm1
    pcmpeqd xmm2, xmm2
    %2 xmm2, xmm1
    XHASH xmm2
    pcmpeqd xmm3, xmm3
    %2 xmm3, [buf + ecx]
    XHASH xmm3
    PAIRS_END
    HEND %1
%endmacro

; BLENDV 'name', insn -- insn xmm2 (= xmm0), xmm1 and insn xmm3 (= [opa]), [opb] with the
; implicit mask XMM0 = (m64v[esi + 3], m64v[edi + 11]) (indices mod 16), over every pair
%macro BLENDV 2
    HBEGIN
    PAIRS_BEGIN
    movdqa xmm2, xmm0
    lea eax, [esi + 3]
    and eax, 15
    movq mm0, [m64v + eax*8]
    movq [opm], mm0
    lea eax, [edi + 11]
    and eax, 15
    movq mm0, [m64v + eax*8]
    movq [opm + 8], mm0
    movdqa xmm0, [opm]
    %2 xmm2, xmm1
    XHASH xmm2
    movdqa xmm3, [opa]
    %2 xmm3, [opb]
    XHASH xmm3
    PAIRS_END
    HEND %1
%endmacro

; EXTRS insn, idx... -- insn eax, xmm0, idx (EAX = 0xdeadbeef before) and insn [buf + 1], xmm0,
; idx (buf holding a pattern: the bytes around the store hashed too), for each idx
%macro EXTRS 1-*
%define %%insn %1
%rep %0 - 1
%rotate 1
    mov eax, 0xdeadbeef
    %%insn eax, xmm0, %1
    HASHV eax
    mov dword [buf], 0x5a5a5a5a
    mov dword [buf + 4], 0xa5a5a5a5
    %%insn [buf + 1], xmm0, %1
    HASHV [buf]
    HASHV [buf + 4]
%endrep
%endmacro

; EXTRWS idx... -- PEXTRW eax, xmm0, idx in its SSE4.1 encoding 66 0F 3A 15 /r ib (NASM picks
; SSE2's 66 0F C5 for a register destination) and PEXTRW [buf + 1], xmm0, idx
%macro EXTRWS 0-*
%rep %0
    mov eax, 0xdeadbeef
    db 0x66, 0x0f, 0x3a, 0x15, 0xc0, %1
    HASHV eax
    mov dword [buf], 0x5a5a5a5a
    mov dword [buf + 4], 0xa5a5a5a5
    pextrw [buf + 1], xmm0, %1
    HASHV [buf]
    HASHV [buf + 4]
%rotate 1
%endrep
%endmacro

; INSS insn, idx... -- insn xmm2 (= xmm0), eax, idx and insn xmm3 (= xmm0), [buf + 3], idx; the
; sources eax = [opb + 4] and [buf + 3] = [opb + 8]
%macro INSS 1-*
%define %%insn %1
    mov eax, [opb + 8]
    mov [buf + 3], eax
    mov eax, [opb + 4]
%rep %0 - 1
%rotate 1
    movdqa xmm2, xmm0
    %%insn xmm2, eax, %1
    XHASH xmm2
    movdqa xmm3, xmm0
    %%insn xmm3, [buf + 3], %1
    XHASH xmm3
%endrep
%endmacro

%define IDX_B 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 21, 31, 0x80, 0xff
%define IDX_W 0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 0x80, 0xff
%define IDX_D 0, 1, 2, 3, 4, 7, 0x42, 0xff

; ROUNDP 'name', insn, table, groups -- insn xmm2, xmm1 (a 16-byte group of the table) and insn
; xmm3, [group] with imm8 0..15, under each MXCSR rounding mode (flags cleared before): results
; and MXCSR hashed
%macro ROUNDP 4
    HBEGIN
    xor ebx, ebx
%%mode:
    mov eax, [rc_modes + ebx*4]
    mov [mxv], eax
    xor esi, esi
%%g:
    mov eax, esi
    shl eax, 4
    movaps xmm1, [%3 + eax]
%assign i 0
%rep 16
    ldmxcsr [mxv]
    %2 xmm2, xmm1, i
    XHASH xmm2
    MXH
    ldmxcsr [mxv]
    %2 xmm3, [%3 + eax], i
    XHASH xmm3
    MXH
%assign i i + 1
%endrep
    inc esi
    cmp esi, %4
    jb %%g
    inc ebx
    cmp ebx, 4
    jb %%mode
    HEND %1
%endmacro

; ROUNDS 'name', insn, table, entries, size -- the scalar form: the destination holds [dpat], the
; source register the table's entries from the current one on (the upper ones ignored), the memory
; source one entry; imm8 0..15 under each rounding mode; results and MXCSR hashed
%macro ROUNDS 5
    HBEGIN
    xor ebx, ebx
%%mode:
    mov eax, [rc_modes + ebx*4]
    mov [mxv], eax
    xor esi, esi
%%v:
    movups xmm1, [%3 + esi*%5]
%assign i 0
%rep 16
    movaps xmm2, [dpat]
    ldmxcsr [mxv]
    %2 xmm2, xmm1, i
    XHASH xmm2
    MXH
    movaps xmm3, [dpat]
    ldmxcsr [mxv]
    %2 xmm3, [%3 + esi*%5], i
    XHASH xmm3
    MXH
%assign i i + 1
%endrep
    inc esi
    cmp esi, %4
    jb %%v
    inc ebx
    cmp ebx, 4
    jb %%mode
    HEND %1
%endmacro

; RRAW32 index / RRAW64 index -- one line: the table value, then ROUNDSS/ROUNDSD of it with imm8
; 0 1 2 3 4 8 12 under MXCSR = 0x3f80 (round down, so imm8 4 and 12 differ from 0): result/MXCSR
%define RAW_IMMS 0, 1, 2, 3, 4, 8, 12
%macro RRAW32 1
    PRINT 'roundss '
    PHEX32 [f32v + %1*4]
    PRINT ':'
    RRAW32_IMMS %1, RAW_IMMS
    NL
%endmacro
%macro RRAW32_IMMS 1-*
%define %%idx %1
%rep %0 - 1
%rotate 1
    ldmxcsr [mx_rd]
    roundss xmm2, [f32v + %%idx*4], %1
    stmxcsr [mxout]
    movd eax, xmm2
    SPC
    PHEX32 eax
    PRINT '/'
    PHEX16 [mxout]
%endrep
%endmacro
%macro RRAW64 1
    PRINT 'roundsd '
    PHEX32 [f64v + %1*8 + 4]
    PHEX32 [f64v + %1*8]
    PRINT ':'
    RRAW64_IMMS %1, RAW_IMMS
    NL
%endmacro
%macro RRAW64_IMMS 1-*
%define %%idx %1
%rep %0 - 1
%rotate 1
    ldmxcsr [mx_rd]
    roundsd xmm2, [f64v + %%idx*8], %1
    stmxcsr [mxout]
    movq [res], xmm2
    SPC
    PHEX32 [res + 4]
    PHEX32 [res]
    PRINT '/'
    PHEX16 [mxout]
%endrep
%endmacro

; DPIMMS insn, table, imm... -- for each imm: insn xmm2 (= vector esi), xmm1 (= vector edi), imm
; and insn xmm3, [vector edi], imm (ecx = edi * 16), MXCSR (flags cleared) before each
%macro DPIMMS 2-*
%define %%insn %1
%define %%tab %2
%rep %0 - 2
%rotate 1
    movaps xmm2, [%%tab + edx]
    ldmxcsr [mxv]
    %%insn xmm2, xmm1, %2
    XHASH xmm2
    MXH
    movaps xmm3, [%%tab + edx]
    ldmxcsr [mxv]
    %%insn xmm3, [%%tab + ecx], %2
    XHASH xmm3
    MXH
%endrep
%endmacro

; DP 'name', insn, table, imm... -- DPIMMS over every pair of the table's NDP vectors, under
; each rounding mode
%macro DP 4-*
    HBEGIN
    xor ebx, ebx
%%mode:
    mov eax, [rc_modes + ebx*4]
    mov [mxv], eax
    xor esi, esi
%%a:
    xor edi, edi
%%b:
    mov edx, esi
    shl edx, 4
    mov ecx, edi
    shl ecx, 4
    movaps xmm1, [%3 + ecx]
    DPIMMS %{2:-1}
    inc edi
    cmp edi, NDP
    jb %%b
    inc esi
    cmp esi, NDP
    jb %%a
    inc ebx
    cmp ebx, 4
    jb %%mode
    HEND %1
%endmacro

; DPRAW insn, table, a, b, imm -- one line: vector a · vector b with imm under round to nearest,
; the result's dwords and MXCSR
%macro DPRAW 5
    movaps xmm2, [%2 + %3*16]
    ldmxcsr [mx_rn]
    %1 xmm2, [%2 + %4*16], %5
    stmxcsr [mxout]
    movdqu [res], xmm2
    PRINT %str(%1)
    PRINT ' '
    PHEX8 %3
    PRINT '.'
    PHEX8 %4
    PRINT ' '
    PHEX8 %5
    PRINT ':'
    SPC
    PHEX32 [res]
    SPC
    PHEX32 [res + 4]
    SPC
    PHEX32 [res + 8]
    SPC
    PHEX32 [res + 12]
    SPC
    PHEX16 [mxout]
    NL
%endmacro

; PTRAW a, b -- PTEST of two of the ptv vectors from all flags clear and all set: both EFLAGS
%macro PTRAW 2
    movdqa xmm2, [ptv + %1*16]
    push dword 0x002
    popfd
    ptest xmm2, [ptv + %2*16]
    pushfd
    pop eax
    SPC
    PHEXN eax, 3
    push dword 0x8d7
    popfd
    ptest xmm2, [ptv + %2*16]
    pushfd
    pop eax
    PRINT '/'
    PHEXN eax, 3
%endmacro

main:
    mov eax, 1
    cpuid
    SHOWBIT 'cpuid.sse3', ecx, 0
    SHOWBIT 'ssse3', ecx, 9
    SHOWBIT 'sse4.1', ecx, 19
    SHOWBIT 'sse4.2', ecx, 20
    SHOWBIT 'popcnt', ecx, 23
    NL
    ; without CR4.OSFXSR: POPCNT runs, the XMM forms are #UD
    mov ebx, 0x00f0f00f
    popcnt eax, ebx
    SHOWV 'no-osfxsr popcnt', eax
    NL
    FAULTS pmulld xmm1, xmm0
    FAULTS roundss xmm1, xmm0, 0
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax

    ; ---- integer
    XOP 'pmulld', pmulld
    XOP 'pmuldq', pmuldq
    XOP 'pminsb', pminsb
    XOP 'pminsd', pminsd
    XOP 'pminuw', pminuw
    XOP 'pminud', pminud
    XOP 'pmaxsb', pmaxsb
    XOP 'pmaxsd', pmaxsd
    XOP 'pmaxuw', pmaxuw
    XOP 'pmaxud', pmaxud
    XOP 'pcmpeqq', pcmpeqq
    XOP 'packusdw', packusdw
    XOP 'phminposuw', phminposuw

    ; PTEST: ZF = (dest AND src) = 0, CF = (src AND NOT dest) = 0, OF SF AF PF cleared
    HBEGIN
    PAIRS_BEGIN
    push dword 0x8d7
    popfd
    ptest xmm0, xmm1
    pushfd
    pop eax
    HASHV eax
    push dword 0x002
    popfd
    ptest xmm0, [opb]
    pushfd
    pop eax
    HASHV eax
    push dword 0x8d7
    popfd
    ptest xmm1, xmm1
    pushfd
    pop eax
    HASHV eax
    XHASH xmm0
    PAIRS_END
    HEND 'ptest'
    PRINT 'ptest'
    PTRAW 0, 0
    PTRAW 1, 1
    PTRAW 2, 3
    PTRAW 2, 4
    PTRAW 5, 5
    PTRAW 5, 1
    NL

    PMOV 'pmovsxbw', pmovsxbw
    PMOV 'pmovsxbd', pmovsxbd
    PMOV 'pmovsxbq', pmovsxbq
    PMOV 'pmovsxwd', pmovsxwd
    PMOV 'pmovsxwq', pmovsxwq
    PMOV 'pmovsxdq', pmovsxdq
    PMOV 'pmovzxbw', pmovzxbw
    PMOV 'pmovzxbd', pmovzxbd
    PMOV 'pmovzxbq', pmovzxbq
    PMOV 'pmovzxwd', pmovzxwd
    PMOV 'pmovzxwq', pmovzxwq
    PMOV 'pmovzxdq', pmovzxdq

    XIMM 'pblendw', pblendw, 0, 0xff, 0x55, 0xa3, 0x01, 0x80, 0x3c, 0xca, 0x0f
    BLENDV 'pblendvb', pblendvb
    XIMM 'mpsadbw', mpsadbw, 0, 1, 2, 3, 4, 5, 6, 7, 0x0d, 0xfa, 0xff

    HBEGIN
    SOME_BEGIN
    EXTRS pextrb, IDX_B
    SOME_END
    HEND 'pextrb'
    HBEGIN
    SOME_BEGIN
    EXTRWS IDX_W
    SOME_END
    HEND 'pextrw'
    HBEGIN
    SOME_BEGIN
    EXTRS pextrd, IDX_D
    SOME_END
    HEND 'pextrd'
    HBEGIN
    SOME_BEGIN
    INSS pinsrb, IDX_B
    SOME_END
    HEND 'pinsrb'
    HBEGIN
    SOME_BEGIN
    INSS pinsrd, IDX_D
    SOME_END
    HEND 'pinsrd'

    HBEGIN
    xor esi, esi
.ntdqa:
    mov edi, esi
    XLOAD
    movntdqa xmm2, [opa]
    XHASH xmm2
    movntdqa xmm3, [opb]
    XHASH xmm3
    inc esi
    cmp esi, NM
    jb .ntdqa
    HEND 'movntdqa'

    ; ---- floating point: blends, moves
    XIMM 'blendps', blendps, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x5a, 0xf3
    XIMM 'blendpd', blendpd, 0, 1, 2, 3, 0x55, 0xfe
    BLENDV 'blendvps', blendvps
    BLENDV 'blendvpd', blendvpd
    HBEGIN
    SOME_BEGIN
    EXTRS extractps, IDX_D
    SOME_END
    HEND 'extractps'
    ; INSERTPS: every imm8 (count_s, count_d, zmask) from a register; from m32 (count_s ignored)
    HBEGIN
    SOME_BEGIN
    mov eax, [opb + 12]
    mov [buf + 5], eax
%assign i 0
%rep 256
    movdqa xmm2, xmm0
    insertps xmm2, xmm1, i
    XHASH xmm2
    movdqa xmm3, xmm0
    insertps xmm3, [buf + 5], i
    XHASH xmm3
%assign i i + 1
%endrep
    SOME_END
    HEND 'insertps'

    ; ---- ROUNDPS/PD/SS/SD
    ROUNDP 'roundps', roundps, f32v, NF32 / 4
    ROUNDP 'roundpd', roundpd, f64v, NF64 / 2
    ROUNDS 'roundss', roundss, f32v, NF32, 4
    ROUNDS 'roundsd', roundsd, f64v, NF64, 8
    RRAW32 2                    ; 2.5
    RRAW32 4                    ; -2.5
    RRAW32 10                   ; 2^23 - 0.5
    RRAW32 16                   ; the smallest denormal
    RRAW32 26                   ; SNaN
    RRAW64 3                    ; -0.5
    RRAW64 12                   ; 2^51 + 0.5
    RRAW64 27                   ; -SNaN

    ; ---- DPPS/DPPD
    DP 'dpps', dpps, dpsv, 0xff, 0xf1, 0x31, 0x7f, 0x33, 0x21, 0x00, 0xe2, 0x1f, 0xc4, 0x5c
    DP 'dppd', dppd, dpdv, 0x33, 0x31, 0x32, 0x13, 0x21, 0x00, 0xff, 0x30, 0x11, 0x23
    DPRAW dpps, dpsv, 0, 0, 0xff
    DPRAW dpps, dpsv, 4, 8, 0xf1
    DPRAW dpps, dpsv, 11, 12, 0x3a
    DPRAW dppd, dpdv, 0, 6, 0x33
    DPRAW dppd, dpdv, 3, 4, 0x31
    DPRAW dppd, dpdv, 2, 9, 0x32
    DPRAW dpps, dpsv, 16, 0, 0xff
    DPRAW dppd, dpdv, 16, 6, 0x33
    ldmxcsr [mx_rn]

    ; ---- POPCNT: OF SF AF CF PF cleared, ZF = (source = 0)
    TABLES tbl_dead, popv, tbl_flags2
    RAWTABLES tbl_dead, pop32raw, tbl_flags2
    FMASK F_ALL
    HRT 'popcnt32', {popcnt eax, ebx}
    HT 'popcnt32', {mov [buf], ebx}, {popcnt eax, [buf]}
    RAWTABLES tbl_dead, pop16raw, tbl_flags2
    HRT 'popcnt16', {popcnt ax, bx}
    HT 'popcnt16', {mov [buf + 1], ebx}, {popcnt ax, [buf + 1]}

    ; ---- faults
    FAULTS pmulld xmm0, [buf + 4]      ; misaligned m128: #GP(0)
    FAULTS packusdw xmm0, [buf + 8]
    FAULTS pblendw xmm0, [buf + 4], 0x0f
    FAULTS mpsadbw xmm0, [buf + 12], 5
    FAULTS pblendvb xmm2, [buf + 4]
    FAULTS movntdqa xmm2, [buf + 8]
    ; narrower memory operands: no alignment
    pmovsxbw xmm0, [buf + 1]
    pmovzxbq xmm0, [buf + 3]
    roundss xmm0, [buf + 1], 0
    roundsd xmm0, [buf + 3], 0
    insertps xmm0, [buf + 1], 0
    pinsrd xmm0, [buf + 3], 1
    pextrd [buf + 1], xmm0, 1
    extractps [buf + 7], xmm0, 1
    ; SSE4.1 has only 66-prefixed forms: without the prefix these are #UD
    FAULTS db 0x0f, 0x38, 0x10, 0xc1   ; pblendvb
    FAULTS db 0x0f, 0x38, 0x17, 0xc1   ; ptest
    FAULTS db 0x0f, 0x38, 0x20, 0xc1   ; pmovsxbw
    FAULTS db 0x0f, 0x38, 0x2b, 0xc1   ; packusdw
    FAULTS db 0x0f, 0x38, 0x40, 0xc1   ; pmulld
    FAULTS db 0x0f, 0x38, 0x41, 0xc1   ; phminposuw
    FAULTS db 0x0f, 0x3a, 0x08, 0xc1, 0x00 ; roundps
    FAULTS db 0x0f, 0x3a, 0x0c, 0xc1, 0x00 ; blendps
    FAULTS db 0x0f, 0x3a, 0x14, 0xc0, 0x00 ; pextrb
    FAULTS db 0x0f, 0x3a, 0x21, 0xc1, 0x00 ; insertps
    FAULTS db 0x0f, 0x3a, 0x40, 0xc1, 0x00 ; dpps
    FAULTS db 0x0f, 0x3a, 0x42, 0xc1, 0x00 ; mpsadbw
    ; 66 0F 38 F0 with a register operand: MOVBE's map slot, which has no register form
    FAULTS db 0x66, 0x0f, 0x38, 0xf0, 0xc0 ; movbe ax, ax
    ; CR0.TS: #NM for SSE4.1, POPCNT runs
    mov eax, cr0
    or eax, 1 << 3
    mov cr0, eax
    FAULTS ptest xmm0, xmm1
    FAULTS dppd xmm0, xmm1, 0x31
    mov ebx, 0x80000001
    popcnt ecx, ebx
    SHOWV 'ts popcnt', ecx
    NL
    clts
    ; CR0.EM: #UD for SSE4.1, POPCNT runs
    mov eax, cr0
    or eax, 1 << 2
    mov cr0, eax
    FAULTS pmaxud xmm0, xmm1
    FAULTS roundps xmm0, xmm1, 0
    mov ebx, 0xfff0
    popcnt cx, bx
    SHOWV 'em popcnt', ecx
    NL
    mov eax, cr0
    and eax, ~(1 << 2)
    mov cr0, eax
    emms
    ret

section .rodata
align 16
; binary32: halves, 2^23 and 2^22 neighbours, a large integer, fractions, denormals, zeros,
; infinities, FLT_MAX, QNaNs and SNaNs of both signs (then padding for the unaligned loads)
f32v:
    dd 0x3f000000, 0x3fc00000, 0x40200000, 0xbf000000 ; 0.5 1.5 2.5 -0.5
    dd 0xc0200000, 0xbfc00000, 0x3effffff, 0xbf333333 ; -2.5 -1.5 0.49999997 -0.7
    dd 0x4b000000, 0x4b000001, 0x4affffff, 0xcaffffff ; 2^23, 2^23+1, ±(2^23-0.5)
    dd 0x4a800001, 0x7149f2ca, 0x3dcccccd, 0xbfe00000 ; 2^22+0.5, 1e30, 0.1, -1.75
    dd 0x00000001, 0x807fffff, 0x00000000, 0x80000000 ; denormals, ±0
    dd 0x7f800000, 0xff800000, 0x7f7fffff, 0x3f800000 ; ±inf, FLT_MAX, 1.0
    dd 0x7fc00001, 0xffc12345, 0x7f800001, 0xffa00000 ; QNaNs, SNaNs
    dd 0xc0600000, 0x3f7fffff, 0xcb7fffff, 0x4b800001 ; -3.5, 0.99999994, -(2^24-1), 2^24+2
    dd 0, 0, 0, 0
f64v:
    dq 0x3fe0000000000000, 0x3ff8000000000000, 0x4004000000000000, 0xbfe0000000000000
    dq 0xc004000000000000, 0xbff8000000000000, 0x3fdfffffffffffff, 0xbfe6666666666666
    dq 0x4330000000000000, 0x4330000000000001, 0x432fffffffffffff, 0xc32fffffffffffff
    dq 0x4320000000000001, 0x7e37e43c8800759c, 0x3fb999999999999a, 0xbffc000000000000
    dq 0x0000000000000001, 0x800fffffffffffff, 0x0000000000000000, 0x8000000000000000
    dq 0x7ff0000000000000, 0xfff0000000000000, 0x7fefffffffffffff, 0x3ff0000000000000
    dq 0x7ff8000000000001, 0xfff8123456789abc, 0x7ff0000000000001, 0xfff4000000000000
    dq 0, 0
; dot-product vectors: small integers, halves, quarters, signed zeros
dpsv:
    dd 1.0, 2.0, 3.0, 4.0
    dd -1.0, 0.5, -0.0, 2.0
    dd 0.5, -0.0, -0.0, -0.0
    dd 2.0, 0.0, -3.0, 0.25
    dd -2.0, -0.5, 1.5, -4.0
    dd 3.0, -0.0, 0.0, -0.0
    dd 0.25, 8.0, -8.0, 0.5
    dd -0.5, 1.0, -1.0, 1.0
    dd 4.0, -2.0, 2.0, -1.0
    dd 1.5, 1.5, -1.5, -1.5
    dd -3.0, 0.0, 0.0, 0.0
    dd 5.0, -6.0, 7.0, -0.25
    dd 100.0, -100.0, 0.5, -0.5
    dd -0.25, 3.0, 2.5, -0.0
    dd 6.0, 2.5, -2.5, 10.0
    dd -1.0, -1.0, -1.0, -1.0
    dd -0.0, -0.0, -0.0, -0.0
    dd 0.0, -0.0, 0.0, -0.0
    dd -0.0, 1.0, -1.0, 0.0
    dd 1.0, -1.0, -0.0, -0.0
dpdv:
    dq 1.0, 2.0
    dq -1.0, -0.0
    dq 0.5, 0.0
    dq 2.0, -3.0
    dq -0.5, 0.5
    dq 3.0, -0.0
    dq 1.5, 4.0
    dq -2.0, 2.0
    dq 0.25, -8.0
    dq -3.0, 0.0
    dq 10.0, -10.0
    dq -0.25, -0.5
    dq 7.0, 1.5
    dq -4.0, 100.0
    dq 2.5, -2.5
    dq -6.0, -0.0
    dq -0.0, -0.0
    dq 0.0, -0.0
    dq -0.0, 1.0
    dq 1.0, -1.0
; PTEST operands
ptv:
    dq 0, 0
    dq -1, -1
    dq 0x0f0f0f0f0f0f0f0f, 0x0f0f0f0f0f0f0f0f
    dq 0xf0f0f0f0f0f0f0f0, 0xf0f0f0f0f0f0f0f0
    dq 0x0f0f0f0f0f0f0f0f, 0x1f0f0f0f0f0f0f0f
    dq 0, 0x8000000000000000
; the scalar rounds' destination
dpat:
    dq 0x1111111122222222, 0x3333333344444444
rc_modes: dd 0x1f80, 0x3f80, 0x5f80, 0x7f80
mx_rn: dd 0x1f80
mx_rd: dd 0x3f80
tbl_dead: dd 1, 0xdeadbeef
popv: dd 18, 0, 1, 0xffffffff, 0x80000000, 0x55555555, 0xaaaaaaaa, 0x0000ffff, 0xffff0000
    dd 0x00008000, 0x12345678, 0xdeadbeef, 0x7fffffff, 0x80000001, 0x0f0f0f0f, 0x9e3779b9
    dd 0x3c6ef372, 0x00010000, 0xfffe0001
pop32raw: dd 5, 0, 1, 0xffffffff, 0x80000000, 0x55555555
pop16raw: dd 3, 0xffff0000, 0x00018001, 0x1234ffff

    PAIR_DATA 64
alignb 16
opm:   resq 2
mxv:   resd 1
mxout: resd 1
