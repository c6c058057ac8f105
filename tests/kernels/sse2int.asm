; sse2int.asm -- SSE2's 128-bit integer instructions against QEMU: the 66-prefixed MMX
; operations on XMM registers over 16 × 16 pairs (register and aligned memory sources), shifts
; by register and immediate, PSLLDQ/PSRLDQ, PSHUFD/HW/LW, PEXTRW/PINSRW/PMOVMSKB, MOVD/MOVQ/
; MOVDQA/MOVDQU/MOVNTDQ, MOVQ2DQ/MOVDQ2Q, MASKMOVDQU.
%include "lib.inc"
%include "mmx.inc"
cpu willamette

NM equ 16

%macro XSHIFTIS 2-*
%define %%insn %1
%rep %0 - 1
%rotate 1
    movdqa xmm3, xmm0
    %%insn xmm3, %1
    XHASH xmm3
%endrep
%endmacro

; XSHIFTI 'name', insn -- insn xmm3, imm for the immediates
%macro XSHIFTI 2
    HBEGIN
    xor esi, esi
%%a:
    mov edi, esi
    XLOAD
    XSHIFTIS %2, 0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 255
    inc esi
    cmp esi, NM
    jb %%a
    HEND %1
%endmacro

main:
    mov eax, 1
    cpuid
    mov eax, edx
    shr eax, 26
    and eax, 1
    SHOWV 'cpuid.sse2', eax
    shr edx, 19
    and edx, 1
    SHOWV 'clfsh', edx
    NL
    clflush [opa]
    movnti [buf], esi
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax
    XOP 'paddb', paddb
    XOP 'paddw', paddw
    XOP 'paddd', paddd
    XOP 'paddq', paddq
    XOP 'paddsb', paddsb
    XOP 'paddusw', paddusw
    XOP 'psubb', psubb
    XOP 'psubq', psubq
    XOP 'psubsw', psubsw
    XOP 'psubusb', psubusb
    XOP 'pmullw', pmullw
    XOP 'pmulhw', pmulhw
    XOP 'pmulhuw', pmulhuw
    XOP 'pmuludq', pmuludq
    XOP 'pmaddwd', pmaddwd
    XOP 'pcmpeqb', pcmpeqb
    XOP 'pcmpgtw', pcmpgtw
    XOP 'pcmpgtd', pcmpgtd
    XOP 'pand', pand
    XOP 'pandn', pandn
    XOP 'por', por
    XOP 'pxor', pxor
    XOP 'packsswb', packsswb
    XOP 'packssdw', packssdw
    XOP 'packuswb', packuswb
    XOP 'punpcklbw', punpcklbw
    XOP 'punpcklwd', punpcklwd
    XOP 'punpckldq', punpckldq
    XOP 'punpcklqdq', punpcklqdq
    XOP 'punpckhbw', punpckhbw
    XOP 'punpckhwd', punpckhwd
    XOP 'punpckhdq', punpckhdq
    XOP 'punpckhqdq', punpckhqdq
    XOP 'pminub', pminub
    XOP 'pmaxsw', pmaxsw
    XOP 'pavgb', pavgb
    XOP 'pavgw', pavgw
    XOP 'psadbw', psadbw
    XOP 'psllw', psllw
    XOP 'psrld', psrld
    XOP 'psrlq', psrlq
    XOP 'psraw', psraw
    XSHIFTI 'psllw-i', psllw
    XSHIFTI 'psrad-i', psrad
    XSHIFTI 'psrlq-i', psrlq
    XSHIFTI 'pslldq', pslldq
    XSHIFTI 'psrldq', psrldq
    ; moves and shuffles
    HBEGIN
    xor esi, esi
.mv:
    mov edi, esi
    XLOAD
%assign k 0
%rep 4
    pshufd xmm2, xmm0, (0x1b + k * 0x35) & 0xff
    XHASH xmm2
    pshufhw xmm2, xmm0, (0xe4 + k * 0x17) & 0xff
    XHASH xmm2
    pshuflw xmm2, [opa], (0x4e + k * 0x29) & 0xff
    XHASH xmm2
    pextrw eax, xmm0, k * 2 + 1
    HASHV eax
    movdqa xmm2, xmm0
    pinsrw xmm2, esi, k * 2
    pinsrw xmm2, [opb + k * 2], k * 2 + 1
    XHASH xmm2
%assign k k + 1
%endrep
    pmovmskb eax, xmm0
    HASHV eax
    movd xmm2, esi
    XHASH xmm2
    movd xmm2, [opb + 4]
    XHASH xmm2
    movd eax, xmm1
    HASHV eax
    movq xmm2, xmm1
    XHASH xmm2
    movq xmm2, [opb + 8]
    XHASH xmm2
    movq [res], xmm0
    movdqa xmm3, xmm1
    movq xmm3, xmm0
    XHASH xmm3
    movq2dq xmm4, mm0
    XHASH xmm4
    movdq2q mm5, xmm1
    movq [res], mm5
    HASHV [res]
    HASHV [res + 4]
    movdqu xmm5, [opa + 4]
    XHASH xmm5
    movdqu [buf + 4], xmm1
    movntdq [buf + 32], xmm0
    HASHV [buf + 4]
    HASHV [buf + 16]
    HASHV [buf + 32]
    HASHV [buf + 44]
    ; MASKMOVDQU: bytes of xmm0 where xmm1's top bits are set, to [EDI]
    mov dword [buf + 64], 0x11111111
    mov dword [buf + 68], 0x22222222
    mov dword [buf + 72], 0x33333333
    mov dword [buf + 76], 0x44444444
    lea edi, [buf + 64]
    maskmovdqu xmm0, xmm1
    HASHV [buf + 64]
    HASHV [buf + 68]
    HASHV [buf + 72]
    HASHV [buf + 76]
    inc esi
    cmp esi, NM
    jb .mv
    emms
    HEND 'moves'
    ret

    PAIR_DATA 96
