; bcd.asm -- DAA DAS AAA AAS AAM AAD over all AL values (and several AH values
; where AH matters) with all four AF/CF inputs (other arithmetic flags clear
; and set); AAM/AAD with bases 10, 16, 7, 2, 1, 255 (and 0: AAM 0 -> #DE,
; AAD 0 is fine).
;
; Flag masks (Intel SDM vol. 2):
;   DAA, DAS: "The CF and AF flags are set if the adjustment of the value
;     results in a decimal carry [borrow] in either digit of the result. The
;     SF, ZF, and PF flags are set according to the result. The OF flag is
;     undefined." -> F_ALL & ~OF.
;   AAA, AAS: "The AF and CF flags are set to 1 if the adjustment results in a
;     decimal carry [borrow]; otherwise they are set to 0. The OF, SF, ZF, and
;     PF flags are undefined." -> AF CF (+DF, bit 1).
;   AAM, AAD: "The SF, ZF, and PF flags are set according to the resulting
;     binary value in the AL register. The OF, AF, and CF flags are undefined."
;     -> SF ZF PF (+DF, bit 1).
;   AAM 0: #DE, nothing modified (hashed in the run; also printed explicitly).

%include "lib.inc"

MASK_DAA equ F_ALL & ~F_OF
MASK_AAA equ F_AF | F_CF | F_DF | F_R1
MASK_AAM equ F_SF | F_ZF | F_PF | F_DF | F_R1

main:
    ; ---------------------------------------------------------- DAA / DAS
    FMASK MASK_DAA
    TABLES AL256, tbl_zero, FLAGS_BCD
    RAWTABLES ALRAW, tbl_zero, FLAGS_AFCF
    RAWREGS 1
    HRT 'daa', {daa}
    HRT 'das', {das}
    ; ---------------------------------------------------------- AAA / AAS
    FMASK MASK_AAA
    TABLES AX1024, tbl_zero, FLAGS_BCD
    RAWTABLES AXRAW, tbl_zero, FLAGS_AFCF
    HRT 'aaa', {aaa}
    HRT 'aas', {aas}
    ; ---------------------------------------------------------- AAM / AAD
    ; (AAM ignores AH and the input flags: AL 0..255 x flags clear/set;
    ;  AAD uses AH: 4 AH values x AL 0..255)
    FMASK MASK_AAM
    TABLES AL256, tbl_zero, tbl_flags2
    RAWTABLES AXRAW, tbl_zero, tbl_flags2
    HRT 'aam10', {aam}
    HT 'aam16', {aam 16}
    HT 'aam7', {aam 7}
    HT 'aam2', {aam 2}
    HT 'aam1', {aam 1}
    HT 'aam255', {aam 255}
    HT 'aam0', {aam 0}                          ; every iteration: #DE, state unchanged
    TABLES AX1024, tbl_zero, tbl_flags2
    HRT 'aad10', {aad}
    HT 'aad16', {aad 16}
    HT 'aad7', {aad 7}
    HT 'aad2', {aad 2}
    HT 'aad1', {aad 1}
    HT 'aad255', {aad 255}
    HRT 'aad0', {aad 0}                         ; AL = AL + AH*0, AH = 0

    ; ---------------------------------------------------------- explicit AAM 0
    PRINT 'aam 0: '
    mov eax, 0x12345678
    EXPECT .after
.insn:
    aam 0
    PRINTLN 'no exception'
.after:
    PHEX32 eax
    PRINT ' insn at '
    PHEX32 .insn
    NL
    ret

section .rodata
align 4
; AL = 0..255, AH = 0x79, upper half 0x9e37
AL256:
    dd 256
%assign i 0
%rep 256
    dd 0x9e377900 | i
%assign i i + 1
%endrep
; AH in {00, 12, ff, 09} x AL 0..255 (upper halves vary too)
AX1024:
    dd 1024
%assign h 0
%rep 4
%assign i 0
%rep 256
%if h == 0
    dd 0x00000000 | i
%elif h == 1
    dd 0x5a001200 | i
%elif h == 2
    dd 0x0000ff00 | i
%else
    dd 0xffff0900 | i
%endif
%assign i i + 1
%endrep
%assign h h + 1
%endrep
ALRAW:
    dd 14, 0x00, 0x09, 0x0a, 0x0f, 0x10, 0x19, 0x1a, 0x99, 0x9a, 0x9f, 0xa0, 0xf9, 0xfa, 0xff
AXRAW:
    dd 8, 0x0000, 0x0009, 0x000a, 0x0005, 0x00f9, 0x00fa, 0x12ff, 0xff0f
; all AF/CF combinations, other flags clear
FLAGS_AFCF:
    dd 4, 0x002, 0x003, 0x012, 0x013
; AF/CF combinations with the other arithmetic flags clear and set
FLAGS_BCD:
    dd 8, 0x002, 0x003, 0x012, 0x013, 0x8c6, 0x8c7, 0x8d6, 0x8d7
