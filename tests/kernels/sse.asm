; sse.asm -- SSE (CPUID.1:EDX[25]): the XMM instructions over a table of
; binary32 values in every rounding mode, with FTZ and DAZ, MXCSR's flags after
; each; moves, shuffles, logic, conversions, LDMXCSR/STMXCSR, FXSAVE's SSE
; state, #GP/#UD/#NM; and SSE's additions to MMX. Compared with QEMU.

%include "lib.inc"
%include "mmx.inc"
%include "fop.inc"
cpu prescott                    ; SSE and SSE3 (lib.inc: 686)

NF equ 24                       ; binary32 table entries
NPAIRS equ NF
NM equ 16                       ; 64-bit (MMX) table entries

; MXCSR values the arithmetic runs under: masks all set, RC 0-3, then FTZ, DAZ, both
%define MX_MODES 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80, 0x1fc0, 0x9fc0

; LOADPAIR -- xmm0, xmm1 from the table by esi, edi (four lanes each, mixed)
%macro LOADPAIR 0
    mov eax, [f32 + esi*4]
    mov [opa], eax
    mov eax, [f32 + edi*4]
    mov [opa + 4], eax
    mov [opb], eax
    mov eax, [f32 + esi*4]
    mov [opb + 4], eax
    lea eax, [esi + 5]
    xor edx, edx
    mov ecx, NF
    div ecx
    mov eax, [f32 + edx*4]
    mov [opa + 8], eax
    mov [opb + 12], eax
    lea eax, [edi + 11]
    xor edx, edx
    div ecx
    mov eax, [f32 + edx*4]
    mov [opa + 12], eax
    mov [opb + 8], eax
    movaps xmm0, [opa]
    movaps xmm1, [opb]
%endmacro


; CMPOP 'name', insn -- insn xmm0, xmm1, imm for imm 0-7 over every pair
%macro CMPOP 2
    HBEGIN
    xor esi, esi
%%a:
    xor edi, edi
%%b:
%assign p 0
%rep 8
    LOADPAIR
    ldmxcsr [mx_default]
    %2 xmm0, xmm1, p
    movups [res], xmm0
    HASH16 res
    MXHASH
%assign p p + 1
%endrep
    inc edi
    cmp edi, NF
    jb %%b
    inc esi
    cmp esi, NF
    jb %%a
    HEND %1
%endmacro

main:
    mov eax, 1
    cpuid
    mov eax, edx
    shr eax, 25
    and eax, 1
    SHOWV 'cpuid.sse', eax
    ; without CR4.OSFXSR an SSE instruction is #UD
    EXPECT .no_osfxsr
    addps xmm0, xmm1
.no_osfxsr:
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax
    stmxcsr [mxout]
    SHOWV 'mxcsr', [mxout]
    NL

    ; ---- arithmetic
    FOP 'addps', addps, xmm1
    FOP 'subps', subps, xmm1
    FOP 'mulps', mulps, xmm1
    FOP 'divps', divps, xmm1
    FOP 'minps', minps, xmm1, mx_modes_nodaz
    FOP 'maxps', maxps, xmm1, mx_modes_nodaz
    FOP 'sqrtps', sqrtps, xmm1
    FOP 'addps-m', addps, [opb]
    FOP 'divps-m', divps, [opb]
    FOP 'addss', addss, xmm1
    FOP 'subss', subss, xmm1
    FOP 'mulss', mulss, xmm1
    FOP 'divss', divss, xmm1
    FOP 'minss', minss, xmm1, mx_modes_nodaz
    FOP 'maxss', maxss, xmm1, mx_modes_nodaz
    FOP 'sqrtss', sqrtss, xmm1
    FOP 'mulss-m', mulss, [opb + 4]
    FOP 'sqrtss-m', sqrtss, [opb + 8]
    ; SSE3 (CPUID.1:ECX[0])
    FOP 'addsubps', addsubps, xmm1
    FOP 'addsubps-m', addsubps, [opb]
    FOP 'haddps', haddps, xmm1, mx_modes, mask_adjacent_nans
    FOP 'hsubps', hsubps, xmm1, mx_modes, mask_adjacent_nans
    FOP 'hsubps-m', hsubps, [opb], mx_modes, mask_adjacent_nans
    HBEGIN
    xor esi, esi
.dup:
    mov edi, esi
    LOADPAIR
    movsldup xmm2, xmm0
    movups [res], xmm2
    HASHV [res]
    HASHV [res + 8]
    movshdup xmm2, [opa]
    movups [res], xmm2
    HASHV [res]
    HASHV [res + 8]
    lddqu xmm2, [opa + 4]
    movups [res], xmm2
    HASH16 res
    inc esi
    cmp esi, NF
    jb .dup
    HEND 'sse3-moves'

    ; ---- pseudo-random operands (xorshift32): ordinary numbers whose sums, differences,
    ; products, quotients and roots round, and now and then denormals, in every mode
    mov dword [seed], 0x2545f491
    HBEGIN
    xor ebx, ebx
.rmode:
    mov eax, [mx_modes + ebx*4]
    mov [mxv], eax
    mov ecx, 1500
.rloop:
    push ecx
    xor ecx, ecx
.rfill:
    call rand_f32
    mov [opa + ecx*4], eax
    call rand_f32
    mov [opb + ecx*4], eax
    inc ecx
    cmp ecx, 4
    jb .rfill
%assign k 0
%rep 5
    movaps xmm0, [opa]
    ldmxcsr [mxv]
%if k == 0
    addps xmm0, [opb]
%elif k == 1
    subps xmm0, [opb]
%elif k == 2
    mulps xmm0, [opb]
%elif k == 3
    divps xmm0, [opb]
%else
    sqrtps xmm0, [opb]
%endif
    movups [res], xmm0
    HASH16 res
    MXHASH
%assign k k + 1
%endrep
    pop ecx
    dec ecx
    jnz .rloop
    inc ebx
    cmp ebx, NMODES
    jb .rmode
    HEND 'random'

    ; tininess: (1 - 2^-23) × 2^-126 (1 + 2^-23) is below 2^-126 before rounding, 2^-126 after
    ldmxcsr [mx_default]
    movss xmm0, [tiny_a]
    mulss xmm0, [tiny_b]
    movss [res], xmm0
    mov eax, [res]
    stmxcsr [mxout]
    SHOWV 'tiny', eax
    SHOWV 'mxcsr', [mxout]
    NL

    ; ---- RCP and RSQRT (QEMU: exact quotients; the SDM: 12-bit approximations) over positive normal values
    HBEGIN
    xor esi, esi
.rcp:
    ldmxcsr [mx_default]
    movss xmm0, [pos + esi*4]
    rcpss xmm1, xmm0
    rsqrtss xmm2, xmm0
    movss [res], xmm1
    mov eax, [res]
    HASHV eax
    movss [res], xmm2
    mov eax, [res]
    HASHV eax
    inc esi
    cmp esi, NPOS
    jb .rcp
    HEND 'rcp/rsqrt'

    ; ---- comparisons
    CMPOP 'cmpps', cmpps
    CMPOP 'cmpss', cmpss
    HBEGIN
    xor esi, esi
.comi_a:
    xor edi, edi
.comi_b:
    LOADPAIR
    ldmxcsr [mx_default]
    push dword 0x8d5            ; OF SF AF ZF PF CF set: COMISS must clear OF SF AF
    popfd
    comiss xmm0, xmm1
    pushfd
    pop eax
    HASHV eax
    MXHASH
    ldmxcsr [mx_default]
    push dword 0x8d5
    popfd
    ucomiss xmm0, xmm1
    pushfd
    pop eax
    HASHV eax
    MXHASH
    inc edi
    cmp edi, NF
    jb .comi_b
    inc esi
    cmp esi, NF
    jb .comi_a
    HEND 'comiss/ucomiss'

    ; ---- conversions
    HBEGIN
    xor ebx, ebx
.cvt_mode:
    mov eax, [mx_modes + ebx*4]
    mov [mxv], eax
    xor esi, esi
.cvt:
    ldmxcsr [mxv]
    mov eax, [ints + esi*4]
    movaps xmm0, [ones]
    cvtsi2ss xmm0, eax
    movups [res], xmm0
    HASHV [res]
    HASHV [res + 4]
    cvtsi2ss xmm1, [ints + esi*4]
    movss [res], xmm1
    mov eax, [res]
    HASHV eax
    MXHASH
    inc esi
    cmp esi, NI
    jb .cvt
    xor esi, esi
.cvt2:
    ldmxcsr [mxv]
    cvtss2si eax, [f32 + esi*4]
    HASHV eax
    cvttss2si eax, [f32 + esi*4]
    HASHV eax
    movss xmm3, [f32 + esi*4]
    cvtss2si eax, xmm3
    HASHV eax
    MXHASH
    inc esi
    cmp esi, NF
    jb .cvt2
    ; packed with MMX registers
    xor esi, esi
.cvt3:
    ldmxcsr [mxv]
    movaps xmm0, [ones]
    movq mm0, [ints + esi*4]
    cvtpi2ps xmm0, mm0
    movups [res], xmm0
    HASHV [res]
    HASHV [res + 4]
    HASHV [res + 8]
    movaps xmm1, [opa]
    cvtpi2ps xmm1, [ints + esi*4]
    movups [res], xmm1
    HASHV [res]
    HASHV [res + 4]
    HASHV [res + 8]
    cvtps2pi mm1, [f32 + esi*4]
    movq [res], mm1
    HASHV [res]
    HASHV [res + 4]
    movups xmm2, [f32 + esi*4]
    cvttps2pi mm2, xmm2
    movq [res], mm2
    HASHV [res]
    HASHV [res + 4]
    MXHASH
    inc esi
    cmp esi, NI - 1
    jb .cvt3
    inc ebx
    cmp ebx, NMODES
    jb .cvt_mode
    emms
    HEND 'conversions'

    ; ---- moves, shuffles, logic
    movaps xmm0, [opa]
    movaps xmm1, [opb]
    movups xmm2, [f32 + 4]      ; unaligned
    movaps xmm3, xmm2
    movss xmm3, xmm0            ; low lane only
    movss xmm4, [f32 + 8]       ; upper lanes zeroed
    movaps xmm5, xmm1
    movlps xmm5, [f32 + 12]
    movhps xmm5, [f32 + 20]
    movaps xmm6, xmm0
    movhlps xmm6, xmm1
    movaps xmm7, xmm0
    movlhps xmm7, xmm1
    call dump_xmm
    PRINT 'moves'
    call print_dump
    movaps xmm2, xmm0
    unpcklps xmm2, xmm1
    movaps xmm3, xmm0
    unpckhps xmm3, [opb]
    movaps xmm4, xmm0
    shufps xmm4, xmm1, 0x1b
    movaps xmm5, xmm0
    shufps xmm5, [opb], 0xe4
    movaps xmm6, xmm0
    andps xmm6, xmm1
    movaps xmm7, xmm0
    xorps xmm7, [opb]
    call dump_xmm
    PRINT 'shuffles'
    call print_dump
    movaps xmm2, xmm0
    andnps xmm2, xmm1
    movaps xmm3, xmm0
    orps xmm3, xmm1
    movaps xmm4, xmm0
    shufps xmm4, xmm4, 0x93
    call dump_xmm
    PRINT 'logic'
    call print_dump
    movmskps eax, xmm0
    SHOWV 'movmskps', eax
    movmskps eax, xmm1
    SHOWV 'movmskps', eax
    ; stores
    movups [buf + 4], xmm0
    movss [buf + 20], xmm1
    movlps [buf + 24], xmm1
    movhps [buf + 32], xmm0
    movntps [buf + 48], xmm1
    movaps [buf + 64], xmm0
    HBEGIN
    mov esi, 0
.st:
    HASHV [buf + esi]
    add esi, 4
    cmp esi, 80
    jb .st
    HEND 'stores'

    ; ---- MXCSR: every writable bit reads back (a reserved bit is #GP(0) in the SDM,
    ; not in QEMU 7.2: tests/unit/sse.test.ts)
    ldmxcsr [mx_all]
    stmxcsr [mxout]
    SHOWV 'mxcsr-all', [mxout]
    ldmxcsr [mx_default]
    NL

    ; ---- FXSAVE: MXCSR, its mask, the XMM registers
    ldmxcsr [mx_fx]
    fninit
    movaps xmm0, [opa]
    movaps xmm7, [opb]
    mov edi, fxbuf
    mov ecx, 512 / 4
    xor eax, eax
    rep stosd
    fxsave [fxbuf]
    SHOWV 'fx.mxcsr', [fxbuf + 24]
    SHOWV 'fx.mask', [fxbuf + 28]
    SHOWV 'fx.xmm0', [fxbuf + 160]
    SHOWV 'fx.xmm7', [fxbuf + 160 + 7*16 + 12]
    NL
    ; FXRSTOR puts them back
    mov dword [fxbuf + 24], 0x9fc0
    mov dword [fxbuf + 160 + 16 + 4], 0x12345678
    fxrstor [fxbuf]
    stmxcsr [mxout]
    SHOWV 'rst.mxcsr', [mxout]
    movups [res], xmm1
    SHOWV 'rst.xmm1', [res + 4]
    NL
    ldmxcsr [mx_default]

    ; ---- faults
    EXPECT .a1
    movaps xmm0, [buf + 4]      ; misaligned: #GP(0)
.a1:
    EXPECT .a2
    addps xmm0, [buf + 8]
.a2:
    EXPECT .a3
    movaps [buf + 12], xmm0
.a3:
    addss xmm0, [buf + 4]       ; scalar: no alignment
    movups xmm0, [buf + 4]      ; MOVUPS: none
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    EXPECT .nm1
    addps xmm0, xmm1            ; CR0.TS: #NM
.nm1:
    EXPECT .nm2
    ldmxcsr [mx_default]
.nm2:
    clts
    mov eax, cr0
    or eax, 4
    mov cr0, eax
    EXPECT .ud1
    mulps xmm0, xmm1            ; CR0.EM: #UD
.ud1:
    mov eax, cr0
    and eax, ~4
    mov cr0, eax

    ; ---- SSE's additions to MMX
    MMXOP 'pminub', pminub
    MMXOP 'pmaxub', pmaxub
    MMXOP 'pminsw', pminsw
    MMXOP 'pmaxsw', pmaxsw
    MMXOP 'pavgb', pavgb
    MMXOP 'pavgw', pavgw
    MMXOP 'pmulhuw', pmulhuw
    MMXOP 'psadbw', psadbw
    HBEGIN
    xor esi, esi
.mx2:
    movq mm0, [m64v + esi*8]
%assign k 0
%rep 4
    pshufw mm1, mm0, (0x1b + k * 0x35) & 0xff
    movq [res], mm1
    HASHV [res]
    HASHV [res + 4]
    pshufw mm1, [m64v + esi*8], (0xe4 + k * 0x17) & 0xff
    movq [res], mm1
    HASHV [res]
    HASHV [res + 4]
    pextrw eax, mm0, k
    HASHV eax
    movq mm2, mm0
    pinsrw mm2, esi, k
    pinsrw mm2, [m64v + esi*8 + 2], (k + 1) & 3
    movq [res], mm2
    HASHV [res]
    HASHV [res + 4]
%assign k k + 1
%endrep
    pmovmskb eax, mm0
    HASHV eax
    movntq [res], mm0
    HASHV [res]
    HASHV [res + 4]
    ; MASKMOVQ: the bytes of mm0 selected by mm3's top bits, to [EDI]
    mov dword [buf], 0x11111111
    mov dword [buf + 4], 0x22222222
    lea eax, [esi + 3]
    and eax, 15
    movq mm3, [m64v + eax*8]
    lea edi, [buf]
    maskmovq mm0, mm3
    HASHV [buf]
    HASHV [buf + 4]
    inc esi
    cmp esi, NM
    jb .mx2
    emms
    HEND 'mmx-ext'
    ret

; NANMASK a, b -- zero res's lane k (0-3, in ecx) where the dwords at [a] and [b] (address expressions of ecx) are both
; NaNs; preserves eax and ecx
%macro NANMASK 2
    push eax
    push ecx
    xor ecx, ecx
%%lane:
    mov eax, [%1]
    and eax, 0x7fffffff
    cmp eax, 0x7f800000
    jbe %%next
    mov eax, [%2]
    and eax, 0x7fffffff
    cmp eax, 0x7f800000
    jbe %%next
    mov dword [res + ecx*4], 0
%%next:
    inc ecx
    cmp ecx, 4
    jb %%lane
    pop ecx
    pop eax
    ret
%endmacro

; HADDPS/HSUBPS: lane k works on dwords 2k and 2k + 1 of opa:opb (adjacent in .bss)
mask_adjacent_nans:
    NANMASK opa + ecx*8, opa + ecx*8 + 4

; A lane whose operands (opa, opb) are both NaNs is left out (zeroed in res): the SDM returns
; the first operand's NaN, QEMU 7.2 the x87's choice, the larger significand
; (tests/unit/sse.test.ts checks the SDM's rule).
mask_two_nans:
    NANMASK opa + ecx*4, opb + ecx*4

; xorshift32 on [seed] -> eax (ecx, ebx kept)
rand:
    push edx
    mov eax, [seed]
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    mov [seed], eax
    pop edx
    ret
; a random binary32 -> eax: random sign and significand; the exponent 2^-32..2^31, or one
; time in 16 the lowest eight (denormals and the smallest normals)
rand_f32:
    push edx
    call rand
    and eax, 0x807fffff
    mov edx, eax
    call rand
    test al, 0x0f
    jnz .normal
    shr eax, 4
    and eax, 7
    jmp .exp
.normal:
    shr eax, 8
    and eax, 63
    add eax, 95
.exp:
    shl eax, 23
    or eax, edx
    pop edx
    ret

; the eight XMM registers into xdump
dump_xmm:
    movups [xdump], xmm0
    movups [xdump + 16], xmm1
    movups [xdump + 32], xmm2
    movups [xdump + 48], xmm3
    movups [xdump + 64], xmm4
    movups [xdump + 80], xmm5
    movups [xdump + 96], xmm6
    movups [xdump + 112], xmm7
    ret
print_dump:
    push esi
    xor esi, esi
.d:
    SPC
    PHEX32 [xdump + esi]
    add esi, 4
    cmp esi, 128
    jb .d
    NL
    pop esi
    ret

section .rodata
align 16
f32:
    dd 0x00000000, 0x80000000, 0x3f800000, 0xbfc00000, 0x40400000, 0x3dcccccd
    dd 0x000116c2, 0x80012345, 0x00800000, 0x7f7fffff, 0x7f800000, 0xff800000
    dd 0x7fc00001, 0x7f800001, 0xffc12345, 0x3f800001, 0x4b800000, 0x00800001
    dd 0xff7ffffe, 0x3f7fffff, 0x7e000000, 0x01000000, 0xcf000000, 0x4effffff
    dd 0, 0, 0, 0               ; (cvtps2pi/cvtpi2ps read past the last entry)
    dd NMODES
mx_modes: dd MX_MODES
NMODES equ ($ - mx_modes) / 4
; MIN/MAX without DAZ: with it the SDM returns the selected denormal as the zero DAZ made it,
; QEMU 7.2 the operand's own bits (tests/unit/sse.test.ts)
    dd NMODES_NODAZ
mx_modes_nodaz: dd 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80
NMODES_NODAZ equ ($ - mx_modes_nodaz) / 4
mx_default:  dd 0x1f80
mx_all:      dd 0xffff
mx_fx:       dd 0x3f85          ; RC down, flags IE and ZE set
tiny_a:  dd 0x3f7ffffe          ; 1 - 2^-23
tiny_b:  dd 0x00800001          ; 2^-126 (1 + 2^-23)
pos:
    dd 0x3f800000, 0x40400000, 0x3dcccccd, 0x00800000, 0x7f7fffff, 0x3f800001, 0x4b800000, 0x42f6e979
    dd 0x3f7fffff, 0x7e000000, 0x01000000, 0x34000000, 0x5f000000, 0x3eaaaaab, 0x40490fdb, 0x3c23d70a
NPOS equ ($ - pos) / 4
ints:
    dd 0, 1, -1, 7, 16777217, -16777217, 0x7fffffff, 0x80000000, 123456789, -987654321, 0x40000001, 3
NI equ ($ - ints) / 4
    dd 0
align 16
ones: dd 0x3f800000, 0x40000000, 0x40400000, 0x40800000
m64v:
    MMX_VALUES

section .bss
alignb 16
opa:    resd 4
opb:    resd 4                 ; (right after opa: mask_adjacent_nans)
res:    resd 4
mxv:    resd 1
seed:   resd 1
mxout:  resd 2
buf:    resb 96
xdump:  resb 128
fxbuf:  resb 512
