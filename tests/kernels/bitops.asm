; bitops.asm -- BT BTS BTR BTC (register, imm8, memory bit strings with signed
; register offsets), BSF BSR, SETcc / CMOVcc (all 16 conditions over all 32
; combinations of CF PF ZF SF OF), BSWAP, MOVSX MOVZX, XCHG XADD CMPXCHG
; CMPXCHG8B, CBW CWDE CWD CDQ, LAHF SAHF, XLAT (32- and 16-bit addressing), and
; LEA with 32-bit (SIB, all scales, no-index, no-base, disp8/disp32) and 16-bit
; (67h, all eight r/m combinations, disp8/disp16, wrap-around) addressing.
;
; Flag masks (Intel SDM vol. 2):
;   BT/BTS/BTR/BTC: "The CF flag contains the value of the selected bit
;     [before it is changed]. The ZF flag is unaffected. The OF, SF, AF, and PF
;     flags are undefined." -> CF ZF (+DF, bit 1).
;   BSF/BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise,
;     the ZF flag is cleared. The CF, OF, SF, AF, and PF flags are undefined."
;     -> ZF only.  "If the content of the source operand is 0, the content of
;     the destination operand is undefined": the stubs replace the destination
;     with 0x0badbad0 when ZF=1, so it is never compared.
;   XADD, CMPXCHG: flags as ADD / CMP, all defined -> F_ALL.
;   CMPXCHG8B: "ZF is set if ... equal; otherwise cleared. The CF, PF, AF, SF,
;     and OF flags are unaffected." -> F_ALL.
;   SAHF: loads SF ZF AF PF CF from AH; OF unaffected -> F_ALL.
;   SETcc CMOVcc BSWAP MOVSX MOVZX XCHG CBW CWDE CWD CDQ LAHF XLAT LEA: no
;     flags affected -> F_ALL (checked to be preserved).
;   BSWAP with a 16-bit operand is undefined and not tested.

%include "lib.inc"

MASK_BT  equ F_CF | F_ZF | F_DF | F_R1
MASK_BSF equ F_ZF | F_DF | F_R1

SEL_SEG16 equ 0x30              ; data, base LOWBUF_BASE, limit 0xffff (16-bit addressing tests)
LOWBUF_BASE equ 0x00200000      ; 2 MiB: free RAM outside the image

; IMMRUN 'name', imm... -- one hash over the immediates, instruction _INS(imm)
%macro IMMRUN 2-*
    %define _HN %1
    HBEGIN
    %rep %0-1
    %rotate 1
    HACC _HN, {_PRE}, {_INS(%1)}, {_POST}
    %endrep
    HEND _HN
%endmacro

%define BTIMMS 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 255

; BTOP mnemonic, 'name'
%macro BTOP 2
    FMASK MASK_BT
    TABLES BVALS, BOFFS, tbl_flags2
    RAWTABLES BRAWV, BRAWO, tbl_flags2
    %strcat _NM %2, '32'
    HRT _NM, {%1 eax, ebx}                                  ; offset mod 32
    %strcat _NM %2, '16'
    HRT _NM, {%1 ax, bx}                                    ; offset mod 16
    ; memory bit string, register offset: the dword/word that holds the bit is
    ; read back into esi (pushfd/popfd around the address arithmetic)
    call bitbuf_init
    HBEGIN
    %strcat _NM %2, '32_m_r'
    HACC _NM, {%1 [bitbuf_mid], ebx}, {pushfd}, {mov esi, ebx}, {sar esi, 5}, {mov esi, [bitbuf_mid + esi * 4]}, {popfd}
    mov esi, bitbuf
    mov ecx, BITBUF_DWORDS
    call hash_mem
    HEND _NM
    call bitbuf_init
    HBEGIN
    %strcat _NM %2, '16_m_r'
    HACC _NM, {%1 [bitbuf_mid], bx}, {pushfd}, {movsx esi, bx}, {sar esi, 4}, {movzx esi, word [bitbuf_mid + esi * 2]}, {popfd}
    mov esi, bitbuf
    mov ecx, BITBUF_DWORDS
    call hash_mem
    HEND _NM
    ; raw lines for the memory form: show offset, CF and the dword read back
    call bitbuf_init
    RAWREGS 1 | 16
    %strcat _NM %2, '32_m_r'
    RT _NM, {%1 [bitbuf_mid], ebx}, {pushfd}, {mov esi, ebx}, {sar esi, 5}, {mov esi, [bitbuf_mid + esi * 4]}, {popfd}
    RAWREGS 1
    ; imm8 forms (offset masked to the operand size, no bit-string addressing)
    TABLES BVALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _POST nop
    %define _INS(v) %1 eax, v
    %strcat _NM %2, '32_i'
    IMMRUN _NM, BTIMMS
    %define _INS(v) %1 ax, v
    %strcat _NM %2, '16_i'
    IMMRUN _NM, BTIMMS
    %define _PRE mov [scratch], eax
    %define _INS(v) %1 dword [scratch], v
    %define _POST mov eax, [scratch]
    %strcat _NM %2, '32_m_i'
    IMMRUN _NM, BTIMMS
    %define _INS(v) %1 word [scratch], v
    %strcat _NM %2, '16_m_i'
    IMMRUN _NM, BTIMMS
%endmacro

; CCTEST cc -- SETcc/CMOVcc over the 32 flag combinations; bit i of each
; bitmap = condition result for combination i (see cc_flags)
%macro CCTEST 1
    xor edi, edi                ; setcc r8
    xor esi, esi                ; setcc m8
    xor ebp, ebp                ; cmovcc r32
    mov dword [cc_b16], 0       ; cmovcc r16 (upper half of eax must be kept)
    mov dword [cc_bm], 0        ; cmovcc r32, m32
    mov dword [cc_up], 0
    mov ecx, 31
%%loop:
    mov eax, 0x12345600
    push dword [cc_flags + ecx * 4]
    popfd
    set%1 al
    movzx ebx, al
    shl edi, 1
    or edi, ebx
    xor eax, 0x12345600         ; bits 8..31 must be untouched
    shr eax, 8
    or [cc_up], eax
    push dword [cc_flags + ecx * 4]
    popfd
    set%1 byte [scratch]
    movzx eax, byte [scratch]
    shl esi, 1
    or esi, eax
    push dword [cc_flags + ecx * 4]
    popfd
    mov eax, 0
    mov ebx, 1
    cmov%1 eax, ebx
    shl ebp, 1
    or ebp, eax
    push dword [cc_flags + ecx * 4]
    popfd
    mov eax, 0xabcd0000
    mov ebx, 0x5a5a0001
    cmov%1 ax, bx
    mov ebx, eax
    shr ebx, 16
    xor ebx, 0xabcd             ; upper half must be untouched
    or [cc_up], ebx
    and eax, 0xffff
    shl dword [cc_b16], 1
    or [cc_b16], eax
    push dword [cc_flags + ecx * 4]
    popfd
    mov eax, 0
    cmov%1 eax, [one]
    shl dword [cc_bm], 1
    or [cc_bm], eax
    dec ecx
    jns %%loop
    %defstr _CCS %1
    PRINT 'cc '
    PRINT _CCS
    PRINT ' set '
    PHEX32 edi
    SPC
    PHEX32 esi
    PRINT ' cmov '
    PHEX32 ebp
    SPC
    PHEX32 [cc_b16]
    SPC
    PHEX32 [cc_bm]
    SPC
    PHEX32 [cc_up]
    NL
%endmacro

main:
    call lowbuf_init
    GDTSET SEL_SEG16, LOWBUF_BASE, 0xffff, 0x93, 0x00

    ; ---------------------------------------------------------- BT family
    RAWREGS 1
    BTOP bt, 'bt'
    BTOP bts, 'bts'
    BTOP btr, 'btr'
    BTOP btc, 'btc'

    ; ---------------------------------------------------------- BSF / BSR
    FMASK MASK_BSF
    TABLES BVALS, BVALS, tbl_flags2
    RAWTABLES BSFDST, BSFRAW, tbl_flags_clear
    ; destination preloaded with A; if the source is 0 (ZF=1) the destination is undefined
    ; and replaced by 0x0badbad0 (db 75 05 = jnz over the 5-byte mov)
    HRT 'bsf32', {bsf eax, ebx}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HRT 'bsr32', {bsr eax, ebx}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HRT 'bsf16', {bsf ax, bx}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HRT 'bsr16', {bsr ax, bx}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HT 'bsf32_m', {mov [scratch], ebx}, {bsf eax, [scratch]}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HT 'bsr32_m', {mov [scratch], ebx}, {bsr eax, [scratch]}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HT 'bsf16_m', {mov [scratch], ebx}, {bsf ax, [scratch]}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}
    HT 'bsr16_m', {mov [scratch], ebx}, {bsr ax, [scratch]}, {db 0x75, 0x05}, {mov eax, 0x0badbad0}

    ; ---------------------------------------------------------- SETcc / CMOVcc
    PRINTLN 'cc: bit i = condition true for flags combination i (i bits: 0 CF, 1 PF, 2 ZF, 3 SF, 4 OF)'
    PRINTLN 'cc: cols = setcc r8, setcc m8, cmovcc r32, cmovcc r16, cmovcc r32,m32, bits clobbered (must be 0)'
    CCTEST o
    CCTEST no
    CCTEST b
    CCTEST ae
    CCTEST e
    CCTEST ne
    CCTEST be
    CCTEST a
    CCTEST s
    CCTEST ns
    CCTEST p
    CCTEST np
    CCTEST l
    CCTEST ge
    CCTEST le
    CCTEST g

    ; ---------------------------------------------------------- BSWAP, MOVSX, MOVZX, CBW...
    FMASK F_ALL
    TABLES BVALS, tbl_zero, tbl_flags2
    RAWTABLES BRAWV, tbl_zero, tbl_flags_clear
    RAWREGS 1
    HRT 'bswap_eax', {bswap eax}
    HT 'bswap_ecx', {mov ecx, eax}, {bswap ecx}
    HT 'bswap_edx', {mov edx, eax}, {bswap edx}
    HT 'bswap_ebx', {mov ebx, eax}, {bswap ebx}
    HT 'bswap_ebp', {mov ebp, eax}, {bswap ebp}
    HT 'bswap_esi', {mov esi, eax}, {bswap esi}
    HT 'bswap_edi', {mov edi, eax}, {bswap edi}
    ; MOVSX/MOVZX: source = B; A only provides the bits a 16-bit destination keeps
    TABLES BKEEP, BVALS, tbl_flags2
    RAWTABLES BRAWV, BRAWV, tbl_flags_clear
    HRT 'movsx32_8', {movsx eax, bl}
    HT 'movsx32_8h', {movsx eax, bh}
    HRT 'movsx32_16', {movsx eax, bx}
    HRT 'movsx16_8', {movsx ax, bl}
    HT 'movsx32_m8', {mov [scratch], ebx}, {movsx eax, byte [scratch]}
    HT 'movsx32_m16', {mov [scratch], ebx}, {movsx eax, word [scratch]}
    HT 'movsx16_m8', {mov [scratch], ebx}, {movsx ax, byte [scratch]}
    HRT 'movzx32_8', {movzx eax, bl}
    HT 'movzx32_8h', {movzx eax, bh}
    HRT 'movzx32_16', {movzx eax, bx}
    HRT 'movzx16_8', {movzx ax, bl}
    HT 'movzx32_m8', {mov [scratch], ebx}, {movzx eax, byte [scratch]}
    HT 'movzx32_m16', {mov [scratch], ebx}, {movzx eax, word [scratch]}
    HT 'movzx16_m8', {mov [scratch], ebx}, {movzx ax, byte [scratch]}
    RAWREGS 1 | 8
    TABLES BVALS, tbl_zero, tbl_flags2
    RAWTABLES BRAWV, tbl_zero, tbl_flags_clear
    HRT 'cbw', {cbw}
    HRT 'cwde', {cwde}
    HRT 'cwd', {cwd}
    HRT 'cdq', {cdq}

    ; ---------------------------------------------------------- XCHG, XADD, CMPXCHG
    TABLES BVALS, BVALS, tbl_flags2
    RAWTABLES BRAWV, BRAWV, tbl_flags2
    RAWREGS 1 | 2
    FMASK F_ALL
    HRT 'xchg8', {xchg al, bl}
    HT 'xchg8_h', {xchg ah, bl}
    HT 'xchg16', {xchg ax, bx}                               ; 66 93
    HT 'xchg16_rm', {db 0x66, 0x87, 0xc3}                    ; 66 87 /r
    HRT 'xchg32', {xchg eax, ebx}                            ; 93
    HT 'xchg32_rm', {db 0x87, 0xc3}                          ; 87 /r
    HT 'xchg32_ecx_edx', {mov ecx, eax}, {mov edx, ebx}, {xchg ecx, edx}
    HT 'xchg32_m', {mov [scratch], ebx}, {xchg [scratch], eax}, {mov ebx, [scratch]}
    HT 'xchg8_m', {mov [scratch], ebx}, {xchg [scratch], al}, {mov ebx, [scratch]}
    HT 'xchg16_m', {mov [scratch], ebx}, {xchg [scratch], ax}, {mov ebx, [scratch]}
    HT 'nop90', {nop}
    FMASK F_ALL
    HRT 'xadd8', {xadd al, bl}
    HRT 'xadd16', {xadd ax, bx}
    HRT 'xadd32', {xadd eax, ebx}
    HT 'xadd32_m', {mov [scratch], eax}, {xadd [scratch], ebx}, {mov eax, [scratch]}
    HT 'xadd16_m', {mov [scratch], eax}, {xadd [scratch], bx}, {mov eax, [scratch]}
    HT 'xadd8_m', {mov [scratch], eax}, {lock xadd [scratch], bl}, {mov eax, [scratch]}
    ; CMPXCHG dest=B, accumulator=A, source = ecx (0x8badf00d)
    RAWTABLES CXRAW, CXRAW, tbl_flags_clear
    RAWREGS 1 | 2
    HRT 'cmpxchg8', {cmpxchg bl, cl}
    HRT 'cmpxchg16', {cmpxchg bx, cx}
    HRT 'cmpxchg32', {cmpxchg ebx, ecx}
    HT 'cmpxchg32_m', {mov [scratch], ebx}, {cmpxchg [scratch], ecx}, {mov ebx, [scratch]}
    HT 'cmpxchg16_m', {mov [scratch], ebx}, {cmpxchg [scratch], cx}, {mov ebx, [scratch]}
    HT 'cmpxchg8_m', {mov [scratch], ebx}, {lock cmpxchg [scratch], cl}, {mov ebx, [scratch]}
    ; CMPXCHG8B: m64 = 12345678:B, EDX:EAX = 12345678:A, ECX:EBX = c0ffee00:0badcafe
    RAWREGS 1 | 8 | 16 | 32
    HRT 'cmpxchg8b', {mov [scratch], ebx}, {mov dword [scratch + 4], 0x12345678}, {mov edx, 0x12345678}, {mov ebx, 0x0badcafe}, {mov ecx, 0xc0ffee00}, {cmpxchg8b [scratch]}, {mov esi, [scratch]}, {mov edi, [scratch + 4]}
    ; high halves differ: never equal
    HT 'cmpxchg8b_hi', {mov [scratch], ebx}, {mov dword [scratch + 4], 0x12345679}, {mov edx, 0x12345678}, {mov ebx, 0x0badcafe}, {mov ecx, 0xc0ffee00}, {lock cmpxchg8b [scratch]}, {mov esi, [scratch]}, {mov edi, [scratch + 4]}

    ; ---------------------------------------------------------- LAHF / SAHF
    FMASK F_ALL
    RAWREGS 1
    TABLES tbl_zero, tbl_zero, FLAGS64
    RAWTABLES tbl_zero, tbl_zero, tbl_flags2
    HRT 'lahf', {mov eax, 0x12345678}, {lahf}
    TABLES AHVALS, tbl_zero, tbl_flags2
    RAWTABLES AHRAW, tbl_zero, tbl_flags2
    HRT 'sahf', {sahf}

    ; ---------------------------------------------------------- XLAT
    FMASK F_ALL
    TABLES ALVALS, tbl_zero, tbl_flags_clear
    RAWTABLES XLRAW, tbl_zero, tbl_flags_clear
    HRT 'xlat32', {mov ebx, xlat_tbl}, {xlatb}
    HT 'xlat32_fs', {mov ebx, 0x10}, {mov dx, SEL_SEG16}, {mov fs, dx}, {db 0x64, 0xd7}          ; fs: xlatb, base 2 MiB
    ; 16-bit address size: offset = (BX + AL) & 0xffff, upper EBX ignored
    HRT 'xlat16_ff80', {mov ebx, 0x1234ff80}, {mov dx, SEL_SEG16}, {mov fs, dx}, {db 0x64, 0x67, 0xd7}
    HT 'xlat16_ffff', {mov ebx, 0xffffffff}, {mov dx, SEL_SEG16}, {mov fs, dx}, {db 0x64, 0x67, 0xd7}
    HT 'xlat16_0000', {mov ebx, 0xabcd0000}, {mov dx, SEL_SEG16}, {mov fs, dx}, {db 0x64, 0x67, 0xd7}

    ; ---------------------------------------------------------- LEA, 32-bit addressing
    ; eax = A, ebx = B, ecx = A*? via mov; results in eax (and others hashed)
    FMASK F_ALL
    TABLES LVALS, LVALS, tbl_flags_clear
    RAWTABLES LRAW, LRAW, tbl_flags_clear
    RAWREGS 1
    HRT 'lea_b', {lea eax, [ebx]}
    HT 'lea_b_d8', {lea eax, [ebx + 0x7f]}
    HT 'lea_b_d8n', {lea eax, [ebx - 0x80]}
    HT 'lea_b_d32', {lea eax, [ebx + 0x12345678]}
    HT 'lea_d32', {lea eax, [0x89abcdef]}
    HRT 'lea_bi1', {mov ecx, eax}, {lea eax, [ebx + ecx]}
    HT 'lea_bi2', {mov ecx, eax}, {lea eax, [ebx + ecx * 2]}
    HT 'lea_bi4', {mov ecx, eax}, {lea eax, [ebx + ecx * 4]}
    HRT 'lea_bi8_d32', {mov ecx, eax}, {lea eax, [ebx + ecx * 8 + 0xfedcba98]}
    HT 'lea_bi2_d8', {mov ecx, eax}, {lea eax, [ebx + ecx * 2 - 1]}
    HT 'lea_i4_d32', {lea eax, [eax * 4 + 0x1000]}          ; SIB, no base (mod 00, base 101)
    HT 'lea_i8_nob', {lea eax, [eax * 8]}
    HT 'lea_i1_nob', {db 0x8d, 0x04, 0x05}, {dd 0x11111111} ; [eax*1 + disp32] explicit SIB
    HT 'lea_ebp_d8', {mov ebp, eax}, {lea eax, [ebp + 4]}   ; mod 01 r/m 101
    HT 'lea_ebp_0', {mov ebp, eax}, {lea eax, [ebp]}
    HT 'lea_ebp_idx', {mov ebp, eax}, {lea eax, [ebp + ebx * 4 + 0x100]}
    HT 'lea_esi_edi', {mov esi, eax}, {mov edi, ebx}, {lea eax, [esi + edi * 2 + 3]}
    HT 'lea_noidx', {db 0x8d, 0x04, 0x23}                    ; SIB index=100: [ebx]
    HT 'lea_noidx_s8', {db 0x8d, 0x44, 0xe3, 0x10}           ; SIB ss=11 index=100 (ignored): [ebx+0x10]
    HT 'lea_esp', {mov ecx, esp}, {lea eax, [esp + ebx * 2 + 8]}   ; ecx = esp (hashed too)
    HT 'lea_same', {lea eax, [eax + eax * 4]}
    HT 'lea16op', {mov ecx, eax}, {lea ax, [ebx + ecx * 4 + 0x12345]}  ; 66: result truncated to 16 bits
    HT 'lea_dst_ecx', {lea ecx, [eax + ebx]}
    ; ---------------------------------------------------------- LEA, 16-bit addressing (67h)
    ; bx = B, si = A, di = bswap(A), bp = A + 2B; offsets wrap at 64 KiB,
    ; result zero-extended to 32 bits (32-bit operand) or written to AX (66h)
    %define L16PRE {mov esi, eax}, {mov edi, eax}, {bswap edi}, {lea ebp, [eax + ebx * 2]}
    HRT 'lea16_bx_si', L16PRE, {lea eax, [bx + si]}
    HT 'lea16_bx_di', L16PRE, {lea eax, [bx + di]}
    HT 'lea16_bp_si', L16PRE, {lea eax, [bp + si]}
    HT 'lea16_bp_di', L16PRE, {lea eax, [bp + di]}
    HT 'lea16_si', L16PRE, {lea eax, [si]}
    HT 'lea16_di', L16PRE, {lea eax, [di]}
    HT 'lea16_d16', L16PRE, {db 0x67, 0x8d, 0x06}, {dw 0xfedc}                ; [disp16]
    HT 'lea16_bx', L16PRE, {lea eax, [bx]}
    HT 'lea16_bx_si_d8', L16PRE, {lea eax, [bx + si - 0x80]}
    HT 'lea16_bx_di_d8', L16PRE, {lea eax, [bx + di + 0x7f]}
    HT 'lea16_bp_si_d8', L16PRE, {lea eax, [bp + si + 1]}
    HT 'lea16_bp_di_d8', L16PRE, {lea eax, [bp + di - 1]}
    HT 'lea16_si_d8', L16PRE, {lea eax, [si + 0x40]}
    HT 'lea16_di_d8', L16PRE, {lea eax, [di - 0x40]}
    HT 'lea16_bp_d8', L16PRE, {lea eax, [bp + 0]}           ; mod 01 r/m 110
    HT 'lea16_bx_d8', L16PRE, {lea eax, [bx - 2]}
    HRT 'lea16_bx_si_d16', L16PRE, {lea eax, [word bx + si + 0x8000]}
    HT 'lea16_bx_di_d16', L16PRE, {lea eax, [word bx + di + 0xffff]}
    HT 'lea16_bp_si_d16', L16PRE, {lea eax, [bp + si + 0x1234]}
    HT 'lea16_bp_di_d16', L16PRE, {lea eax, [bp + di + 0x7fff]}
    HT 'lea16_si_d16', L16PRE, {lea eax, [si + 0xabcd]}
    HT 'lea16_di_d16', L16PRE, {lea eax, [di + 0x0100]}
    HT 'lea16_bp_d16', L16PRE, {lea eax, [bp + 0x4321]}
    HT 'lea16_bx_d16', L16PRE, {lea eax, [bx + 0xf000]}
    HT 'lea16_16op', L16PRE, {lea ax, [bp + di - 5]}         ; 66 67
    ret

; ---------------------------------------------------------------- helpers
BITBUF_DWORDS equ 24
bitbuf_init:
    pushad
    mov edi, bitbuf
    mov ecx, BITBUF_DWORDS
    mov eax, 0x3c5a96e1
.l:
    stosd
    rol eax, 7
    add eax, 0x01234567
    loop .l
    popad
    ret

; fill LOWBUF_BASE + 0x0000..0x01ff and + 0xfe00..0xffff (+ guard above) with a pattern
lowbuf_init:
    pushad
    mov edi, LOWBUF_BASE
    mov ecx, 0x200
    mov al, 0x11
.a:
    stosb
    add al, 0x25
    loop .a
    mov edi, LOWBUF_BASE + 0xfe00
    mov ecx, 0x300
    mov al, 0x99
.b:
    stosb
    add al, 0x3b
    loop .b
    popad
    ret

section .rodata
align 4
BVALS:
    dd 20
    dd 0x00000000, 0x00000001, 0x80000000, 0xffffffff
    dd 0x7fffffff, 0x00008000, 0x00010000, 0x12345678
    dd 0x87654321, 0xdeadbeef, 0x00000080, 0x0000ffff
    dd 0x55555555, 0xaaaaaaaa, 0x00f00f00, 0x40000001
    dd 0x0000fffe, 0x00000100, 0xfffe0000, 0x01000000
BOFFS:
    dd 24
    dd 0, 1, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 100, 127
    dd -1, -8, -16, -17, -32, -33, -100, -128, -129
BRAWV:
    dd 2, 0x8421c3a5, 0x0000ff00
BKEEP:
    dd 2, 0x12345678, 0xfedcba98
BRAWO:
    dd 7, 0, 5, 16, 31, 33, -1, -100
BSFDST:
    dd 1, 0x5a5a5a5a
BSFRAW:
    dd 6, 0x00000000, 0x00000001, 0x80000000, 0x00018000, 0x7ff00000, 0x00000100
CXRAW:
    dd 3, 0x00000080, 0x8badf00d, 0x7fff0080
LVALS:
    dd 10
    dd 0x00000000, 0x00000001, 0x00007fff, 0x00008000, 0x0000ffff
    dd 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0xfedcba98
LRAW:
    dd 3, 0x00000003, 0x0000fff0, 0x80001234

; all 32 combinations of CF PF ZF SF OF (bit i of the index: 0 CF, 1 PF, 2 ZF, 3 SF, 4 OF)
cc_flags:
%assign i 0
%rep 32
    dd 0x002 | ((i & 1) ? F_CF : 0) | ((i & 2) ? F_PF : 0) | ((i & 4) ? F_ZF : 0) | ((i & 8) ? F_SF : 0) | ((i & 16) ? F_OF : 0)
%assign i i + 1
%endrep
; all 64 combinations of CF PF AF ZF SF OF
FLAGS64:
    dd 64
%assign i 0
%rep 64
    dd 0x002 | ((i & 1) ? F_CF : 0) | ((i & 2) ? F_PF : 0) | ((i & 4) ? F_AF : 0) | ((i & 8) ? F_ZF : 0) | ((i & 16) ? F_SF : 0) | ((i & 32) ? F_OF : 0)
%assign i i + 1
%endrep
; AH = 0..255 (AL and upper bits junk)
AHVALS:
    dd 256
%assign i 0
%rep 256
    dd 0xa5c30000 | (i << 8) | ((i * 37) & 0xff)
%assign i i + 1
%endrep
AHRAW:
    dd 6, 0x00000000, 0x0000ff00, 0x0000d500, 0x00002a00, 0x00000100, 0x00008000
; AL = 0..255 with junk above
ALVALS:
    dd 256
%assign i 0
%rep 256
    dd 0x9e377900 | i
%assign i i + 1
%endrep
XLRAW:
    dd 5, 0x00000000, 0x0000007f, 0x00000080, 0xffffff81, 0x000000ff
xlat_tbl:
%assign i 0
%rep 256
    db (i * 13 + 7) & 0xff
%assign i i + 1
%endrep
one: dd 1

section .bss
alignb 16
scratch: resd 4
bitbuf: resd BITBUF_DWORDS
bitbuf_mid equ bitbuf + BITBUF_DWORDS * 2
cc_b16: resd 1
cc_bm: resd 1
cc_up: resd 1
