; shift.asm -- SHL SHR SAR ROL ROR RCL RCR (8/16/32-bit; by 1 (D0/D1), by CL
; (D2/D3), by imm8 (C0/C1), register and memory) and SHLD SHRD (16/32-bit, CL and
; imm8, register and memory).
;
; Counts: 0 1 2 3 4 7 8 9 15 16 17 24 31 32 33 63 255 and ECX=0xffffff21
; (only CL is used, masked to 5 bits).  RCL/RCR 8/16-bit rotate modulo 9/17.
;
; Flag masks (Intel SDM vol. 2):
;   SHL/SHR/SAR: "If the count is 0, the flags are not affected" -> F_ALL.
;     Non-zero count: "the AF flag is undefined" -> ~AF.
;     "The OF flag is affected only for 1-bit shifts; otherwise it is
;     undefined" -> ~OF when count > 1.
;     "CF ... is undefined for SHL and SHR instructions where the count is
;     greater than or equal to the size (in bits) of the destination operand"
;     -> ~CF for SHL/SHR when (count & 31) >= 8 / 16 (8-/16-bit operands).
;     (SAR keeps CF: SDM defines it as the last bit shifted out.)
;   ROL/ROR/RCL/RCR: masked count 0: flags unaffected -> F_ALL; "If the masked
;     count is 1, then the OF flag is affected, otherwise ... the OF flag is
;     undefined" -> ~OF when (count & 31) > 1; SF ZF AF PF "always unaffected"
;     (kept, so they are checked to be preserved); CF defined.
;   SHLD/SHRD: count 0: "flags are not affected" -> F_ALL.  Count >= 1: AF
;     undefined ("If a shift occurs, the AF flag is undefined"); OF undefined
;     for count > 1.  16-bit operands with (count & 31) > 16: "the result in
;     the destination operand is undefined" and "the flags are undefined"
;     -> those iterations are skipped entirely (not hashed, not printed).
;     Count == 16 for 16-bit is defined (not greater than the operand size).
; The results (destination register) are always defined and compared:
; counts >= operand size still shift by (count & 31).

%include "lib.inc"

; ---------------------------------------------------------------- mask functions
; in: eax = A, ebx = B (count in the low 5 bits); out: eax = mask or -1 (skip)

mf_sh8:
    mov ecx, 8
    jmp mf_sh
mf_sh16:
    mov ecx, 16
    jmp mf_sh
mf_sh32:
mf_sar:
    mov ecx, 99                 ; never reached: CF always defined
mf_sh:
    mov eax, F_ALL
    and ebx, 31
    jz .ret
    and eax, ~F_AF
    cmp ebx, 1
    je .ret
    and eax, ~F_OF
    cmp ebx, ecx
    jb .ret
    and eax, ~F_CF
.ret:
    ret

mf_rot:
    mov eax, F_ALL
    and ebx, 31
    cmp ebx, 1
    jbe .ret
    and eax, ~F_OF
.ret:
    ret

mf_shd16:
    and ebx, 31
    cmp ebx, 16
    jbe mf_shd32
    mov eax, -1
    ret
mf_shd32:
    mov eax, F_ALL
    and ebx, 31
    jz .ret
    and eax, ~F_AF
    cmp ebx, 1
    je .ret
    and eax, ~F_OF
.ret:
    ret

; ---------------------------------------------------------------- macros

; SHMASK class, size, count -> %assign _m (mask) and _skip (1 = undefined result)
; class: 0 = SHL/SHR, 1 = SAR, 2 = rotates, 3 = SHLD/SHRD
%macro SHMASK 3
    %assign _c (%3) & 31
    %assign _m F_ALL
    %assign _skip 0
    %if _c != 0
        %if %1 == 2
            %if _c > 1
                %assign _m _m & ~F_OF
            %endif
        %else
            %assign _m _m & ~F_AF
            %if _c > 1
                %assign _m _m & ~F_OF
            %endif
            %if %1 == 0 && _c >= %2
                %assign _m _m & ~F_CF
            %endif
            %if %1 == 3 && %2 == 16 && _c > 16
                %assign _skip 1
            %endif
        %endif
    %endif
%endmacro

%define SHCOUNTS 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255

; SHIMMS 'name', /digit, size, class, counts... : C0/C1 /digit ib on AL/AX/EAX
%macro SHIMMS 5-*
    %define _SN %1
    %assign _dg %2
    %assign _sz %3
    %assign _cls %4
    HBEGIN
    %rotate 4
    %rep %0-4
        SHMASK _cls, _sz, %1
        FMASK _m
        %if _sz == 8
            HACC _SN, {db 0xc0, 0xc0 + (_dg << 3), %1}
        %elif _sz == 16
            HACC _SN, {db 0x66, 0xc1, 0xc0 + (_dg << 3), %1}
        %else
            HACC _SN, {db 0xc1, 0xc0 + (_dg << 3), %1}
        %endif
        %rotate 1
    %endrep
    HEND _SN
%endmacro

; SHOP mnemonic, 'name', /digit, class(0 sh, 1 sar, 2 rot)
%macro SHOP 4
    ; ---- by CL (D2/D3), register: hash + raw
    TABLES SVALS, SCOUNTS, tbl_flags2
    RAWTABLES SRAWV, SRAWC, tbl_flags2
%if %4 == 0
    MASKFN mf_sh8
%elif %4 == 1
    MASKFN mf_sar
%else
    MASKFN mf_rot
%endif
    %strcat _NM %2, '8_cl'
    HRT _NM, {mov ecx, ebx}, {%1 al, cl}
    %strcat _NM %2, '8_m_cl'
    HT _NM, {mov [scratch], eax}, {mov ecx, ebx}, {%1 byte [scratch], cl}, {mov eax, [scratch]}
%if %4 == 0
    MASKFN mf_sh16
%endif
    %strcat _NM %2, '16_cl'
    HRT _NM, {mov ecx, ebx}, {%1 ax, cl}
    %strcat _NM %2, '16_m_cl'
    HT _NM, {mov [scratch], eax}, {mov ecx, ebx}, {%1 word [scratch], cl}, {mov eax, [scratch]}
%if %4 == 0
    MASKFN mf_sh32
%endif
    %strcat _NM %2, '32_cl'
    HRT _NM, {mov ecx, ebx}, {%1 eax, cl}
    %strcat _NM %2, '32_m_cl'
    HT _NM, {mov [scratch], eax}, {mov ecx, ebx}, {%1 dword [scratch], cl}, {mov eax, [scratch]}
    ; ---- by 1 (D0/D1): count 1 -> everything defined except AF for shifts
    TABLES SVALS, tbl_zero, tbl_flags2
%if %4 == 2
    FMASK F_ALL
%else
    FMASK F_ALL & ~F_AF
%endif
    %strcat _NM %2, '8_1'
    HT _NM, {db 0xd0, 0xc0 + (%3 << 3)}
    %strcat _NM %2, '16_1'
    HT _NM, {db 0x66, 0xd1, 0xc0 + (%3 << 3)}
    %strcat _NM %2, '32_1'
    HT _NM, {db 0xd1, 0xc0 + (%3 << 3)}
    %strcat _NM %2, '32_m_1'
    HT _NM, {mov [scratch], eax}, {%1 dword [scratch], 1}, {mov eax, [scratch]}
    ; ---- by imm8 (C0/C1)
    %strcat _NM %2, '8_i'
    SHIMMS _NM, %3, 8, %4, SHCOUNTS
    %strcat _NM %2, '16_i'
    SHIMMS _NM, %3, 16, %4, SHCOUNTS
    %strcat _NM %2, '32_i'
    SHIMMS _NM, %3, 32, %4, SHCOUNTS
%endmacro

; SHDOP mnemonic, 'name'
%macro SHDOP 2
    TABLES SVALS, SCOUNTS, tbl_flags2
    RAWTABLES SRAWV, SRAWC, tbl_flags2
    RAWREGS 1 | 8
    ; source = bswap(A) (bswap/mov/lea do not touch the flags)
    MASKFN mf_shd16
    %strcat _NM %2, '16_cl'
    HRT _NM, {mov ecx, ebx}, {mov edx, eax}, {bswap edx}, {%1 ax, dx, cl}
    %strcat _NM %2, '16_cl_k'
    HT _NM, {mov ecx, ebx}, {%1 ax, dx, cl}                 ; source = 0x600dcafe
    %strcat _NM %2, '16_m_cl'
    HT _NM, {mov ecx, ebx}, {mov edx, eax}, {bswap edx}, {mov [scratch], eax}, {%1 [scratch], dx, cl}, {mov eax, [scratch]}
    MASKFN mf_shd32
    %strcat _NM %2, '32_cl'
    HRT _NM, {mov ecx, ebx}, {mov edx, eax}, {bswap edx}, {%1 eax, edx, cl}
    %strcat _NM %2, '32_cl_k'
    HT _NM, {mov ecx, ebx}, {%1 eax, edx, cl}
    %strcat _NM %2, '32_m_cl'
    HT _NM, {mov ecx, ebx}, {mov edx, eax}, {bswap edx}, {mov [scratch], eax}, {%1 [scratch], edx, cl}, {mov eax, [scratch]}
    RAWREGS 1
    ; imm8 forms
    TABLES SVALS, tbl_zero, tbl_flags2
    %define _SHDM %1
    %strcat _NM %2, '16_i'
    SHDIMMS _NM, 16, 0, 1, 7, 8, 9, 15, 16, 32, 33     ; (17..31 undefined for 16-bit)
    %strcat _NM %2, '32_i'
    SHDIMMS _NM, 32, SHCOUNTS
%endmacro

; SHDIMMS 'name', size, counts...  (uses _SHDM = shld/shrd)
%macro SHDIMMS 3-*
    %define _SN %1
    %assign _sz %2
    HBEGIN
    %rotate 2
    %rep %0-2
        SHMASK 3, _sz, %1
        FMASK _m
        %if _sz == 16
            HACC _SN, {mov edx, eax}, {bswap edx}, {_SHDM ax, dx, %1}
        %else
            HACC _SN, {mov edx, eax}, {bswap edx}, {_SHDM eax, edx, %1}
        %endif
        %rotate 1
    %endrep
    HEND _SN
%endmacro

main:
    RAWREGS 1
    SHOP rol, 'rol', 0, 2
    SHOP ror, 'ror', 1, 2
    SHOP rcl, 'rcl', 2, 2
    SHOP rcr, 'rcr', 3, 2
    SHOP shl, 'shl', 4, 0
    SHOP shr, 'shr', 5, 0
    SHOP sar, 'sar', 7, 1
    SHDOP shld, 'shld'
    SHDOP shrd, 'shrd'
    ret

section .rodata
align 4
SVALS:
    dd 16
    dd 0x00000000, 0x00000001, 0x80000000, 0xffffffff
    dd 0x7fffffff, 0x12345678, 0x87654321, 0x0000807f
    dd 0x00008000, 0x00000080, 0x000000ff, 0xdeadbeef
    dd 0x5a5a5a5a, 0xa5a5c3c3, 0x00010001, 0xc0000003
SCOUNTS:
    dd 18
    dd 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 255, 0xffffff21
; raw: byte f1, word a5f1, dword 81c3a5f1
SRAWV:
    dd 1, 0x81c3a5f1
SRAWC:
    dd 12, 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33

section .bss
scratch: resd 2
