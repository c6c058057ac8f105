; ssse3.asm -- SSSE3 (CPUID.1:ECX[9]) against QEMU: every instruction on MMX registers and on XMM
; registers over 16 × 16 operand pairs (register and memory sources), PALIGNR over shift counts
; from 0 past both operands, the MMX state after the MMX forms, and the faults: #UD for the XMM
; forms without CR4.OSFXSR (the MMX forms run), for CR0.EM, for an F3 prefix and for undefined
; opcodes of the same map; #NM for CR0.TS; #GP(0) for a misaligned m128.
%include "lib.inc"
%include "mmx.inc"
cpu prescott                    ; (NASM's levels stop there; it accepts SSSE3's mnemonics at it)

NM equ 16

; BOTH 'name', insn -- MMXOP then XOP: the MMX forms' hash, then the XMM forms'
%macro BOTH 2
    MMXOP %1, %2
    XOP %1, %2
%endmacro

; MMXALIGNS, XMMALIGNS counts... -- palignr mm2 (m64 source) or xmm2 (register source) by every count of the list, each result hashed
%macro MMXALIGNS 0-*
%rep %0
    movq mm2, [m64v + esi*8]
    palignr mm2, [m64v + edi*8], %1
    movq [res], mm2
    HASHV [res]
    HASHV [res + 4]
%rotate 1
%endrep
%endmacro
%macro XMMALIGNS 0-*
%rep %0
    movdqa xmm2, xmm0
    palignr xmm2, xmm1, %1
    XHASH xmm2
%rotate 1
%endrep
%endmacro
%define COUNTS 0, 1, 3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 255

main:
    mov eax, 1
    cpuid
    SHOWBIT 'cpuid.sse3', ecx, 0
    shr ecx, 9
    and ecx, 1
    SHOWV 'ssse3', ecx
    NL
    ; without CR4.OSFXSR: the XMM form is #UD, the MMX form runs
    movq mm0, [m64v + 8]
    pabsb mm1, mm0
    movq [res], mm1
    SHOWV 'no-osfxsr mmx', [res]
    NL
    FAULTS pabsb xmm1, xmm0
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax

    BOTH 'pshufb', pshufb
    BOTH 'phaddw', phaddw
    BOTH 'phaddd', phaddd
    BOTH 'phaddsw', phaddsw
    BOTH 'phsubw', phsubw
    BOTH 'phsubd', phsubd
    BOTH 'phsubsw', phsubsw
    BOTH 'pmaddubsw', pmaddubsw
    BOTH 'psignb', psignb
    BOTH 'psignw', psignw
    BOTH 'psignd', psignd
    BOTH 'pmulhrsw', pmulhrsw
    BOTH 'pabsb', pabsb
    BOTH 'pabsw', pabsw
    BOTH 'pabsd', pabsd

    HBEGIN
    xor esi, esi
.pa:
    xor edi, edi
.pb:
    MMXALIGNS COUNTS
    XLOAD
    XMMALIGNS COUNTS
    inc edi
    cmp edi, NM
    jb .pb
    inc esi
    cmp esi, NM
    jb .pa
    HEND 'palignr'

    ; the MMX forms enter MMX state: TOP 0 (the tags, which QEMU 7.2 reports from register contents
    ; it leaves without the exponent bits MMX writes set, in tests/unit/ssse3.test.ts)
    fninit
    fld1
    fld1
    psignw mm3, [m64v + 16]
    fnstenv [env]
    mov eax, [env + 4]
    and eax, 0x3800
    SHOWV 'mmx top', eax
    NL
    emms

    ; faults
    FAULTS pshufb xmm0, [buf + 4]      ; misaligned m128: #GP(0)
    pshufb mm0, [buf + 4]       ; m64: no alignment needed
    FAULTS db 0xf3, 0x0f, 0x38, 0x00, 0xc1 ; pshufb mm0, mm1 with F3
    FAULTS db 0x66, 0x0f, 0x38, 0x16, 0xc1 ; undefined in the legacy 0F 38 map (VEX's VPERMPS)
    FAULTS db 0x66, 0x0f, 0x3a, 0x10, 0xc1, 0x00 ; undefined in the 0F 3A map
    mov eax, cr0
    or eax, 1 << 3              ; CR0.TS
    mov cr0, eax
    FAULTS phaddw mm0, mm1
    FAULTS phaddw xmm0, xmm1
    clts
    mov eax, cr0
    or eax, 1 << 2              ; CR0.EM
    mov cr0, eax
    FAULTS pmulhrsw mm0, mm1
    and eax, ~(1 << 2)
    mov cr0, eax
    emms
    ret

    PAIR_DATA 32
env:  resb 28
