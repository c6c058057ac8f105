; alu.asm -- ADD ADC SUB SBB AND OR XOR CMP TEST INC DEC NEG NOT, 8/16/32-bit,
; register/memory/immediate encodings (incl. 82h, 83h sign-extended imm8 and the
; AL/AX/EAX short forms), over a table of interesting operand values with all
; arithmetic flags clear and all set on input (so CF in = 0 and 1).
;
; Output per op/size/encoding: "name hash" (hash over every result register,
; the masked EFLAGS, for every A x B x EFLAGS-in); plus raw lines for the
; reg,reg form: "name A B Fin : EAX Fout".
;
; Flag masks (Intel SDM vol. 2 "Flags Affected"):
;   ADD ADC SUB SBB CMP NEG INC DEC: OF SF ZF AF PF CF all defined
;       (INC/DEC leave CF unchanged -- still compared) -> F_ALL
;   AND OR XOR TEST: "OF and CF cleared; SF ZF PF set according to the
;       result; the state of the AF flag is undefined" -> F_ALL & ~AF
;   NOT: "None" (no flags affected) -> F_ALL (checks they are preserved)
; F_ALL = 0xCD7 = OF DF SF ZF AF PF CF + reserved bit 1.

%include "lib.inc"

MASK_ARITH equ F_ALL
MASK_LOGIC equ F_ALL & ~F_AF
MASK_NONE  equ F_ALL

; IMMRUN 'name', imm... -- one hash over the immediates; the instruction is
; _PRE / _INS(imm) / _POST (single-line macros defined by the caller)
%macro IMMRUN 2-*
    %define _HN %1
    HBEGIN
    %rep %0-1
    %rotate 1
    HACC _HN, {_PRE}, {_INS(%1)}, {_POST}
    %endrep
    HEND _HN
%endmacro

%define IMM8L  0x00, 0x01, 0x7f, 0x80, 0xff, 0x5a
%define IMM8S  0, 1, 127, -128, -1, 90
%define IMM16L 0x0000, 0x0001, 0x7fff, 0x8000, 0xffff, 0x1234, 0x0080
%define IMM32L 0x00000000, 0x00000001, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x00000080

; BINOP mnemonic, 'name', /digit, flag mask
; (/digit also gives the base opcode: digit*8 is the r/m,reg form)
%macro BINOP 4
    FMASK %4
    ; ---------------- 8-bit
    TABLES VALS, VALS, tbl_flags2
    RAWTABLES RAWV, RAWV, tbl_flags2
    %strcat _NM %2, '8'
    HRT _NM, {%1 al, bl}                                ; (op) r/m8, r8
    %strcat _NM %2, '8_r_rm'
    HT _NM, {db (%3 << 3) + 2, 0xc3}                    ; (op+2) r8, r/m8: op al, bl
    %strcat _NM %2, '8_hi'
    HT _NM, {%1 ah, bh}
    %strcat _NM %2, '8_m_r'
    HT _NM, {mov [scratch], al}, {%1 [scratch], bl}, {mov al, [scratch]}
    %strcat _NM %2, '8_r_m'
    HT _NM, {mov [scratch], bl}, {%1 al, [scratch]}
    TABLES VALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _INS(v) %1 al, v                            ; (op+4) AL, imm8
    %define _POST nop
    %strcat _NM %2, '8_al_i'
    IMMRUN _NM, IMM8L
    %define _PRE mov ebx, eax
    %define _INS(v) %1 bl, v                            ; 80 /d ib
    %strcat _NM %2, '8_r_i'
    IMMRUN _NM, IMM8L
    %define _INS(v) db 0x82, 0xc3 + (%3 << 3), v        ; 82 /d ib (alias of 80)
    %strcat _NM %2, '8_r_i82'
    IMMRUN _NM, IMM8L
    %define _PRE mov [scratch], al
    %define _INS(v) %1 byte [scratch], v                ; 80 /d ib, memory
    %define _POST mov al, [scratch]
    %strcat _NM %2, '8_m_i'
    IMMRUN _NM, IMM8L
    ; ---------------- 16-bit
    TABLES VALS, VALS, tbl_flags2
    %strcat _NM %2, '16'
    HRT _NM, {%1 ax, bx}
    %strcat _NM %2, '16_r_rm'
    HT _NM, {db 0x66, (%3 << 3) + 3, 0xc3}
    %strcat _NM %2, '16_m_r'
    HT _NM, {mov [scratch], ax}, {%1 [scratch], bx}, {mov ax, [scratch]}
    %strcat _NM %2, '16_r_m'
    HT _NM, {mov [scratch], bx}, {%1 ax, [scratch]}
    TABLES VALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _INS(v) %1 ax, strict word v                ; (op+5) AX, imm16
    %define _POST nop
    %strcat _NM %2, '16_ax_i'
    IMMRUN _NM, IMM16L
    %define _PRE mov ebx, eax
    %define _INS(v) %1 bx, strict word v                ; 81 /d iw
    %strcat _NM %2, '16_r_i'
    IMMRUN _NM, IMM16L
    %define _INS(v) %1 bx, byte v                       ; 83 /d ib (sign-extended)
    %strcat _NM %2, '16_r_i8'
    IMMRUN _NM, IMM8S
    %define _PRE mov [scratch], ax
    %define _INS(v) %1 word [scratch], strict word v
    %define _POST mov ax, [scratch]
    %strcat _NM %2, '16_m_i'
    IMMRUN _NM, IMM16L
    %define _INS(v) %1 word [scratch], byte v
    %strcat _NM %2, '16_m_i8'
    IMMRUN _NM, IMM8S
    ; ---------------- 32-bit
    TABLES VALS, VALS, tbl_flags2
    %strcat _NM %2, '32'
    HRT _NM, {%1 eax, ebx}
    %strcat _NM %2, '32_r_rm'
    HT _NM, {db (%3 << 3) + 3, 0xc3}
    %strcat _NM %2, '32_m_r'
    HT _NM, {mov [scratch], eax}, {%1 [scratch], ebx}, {mov eax, [scratch]}
    %strcat _NM %2, '32_r_m'
    HT _NM, {mov [scratch], ebx}, {%1 eax, [scratch]}
    TABLES VALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _INS(v) %1 eax, strict dword v              ; (op+5) EAX, imm32
    %define _POST nop
    %strcat _NM %2, '32_eax_i'
    IMMRUN _NM, IMM32L
    %define _PRE mov ebx, eax
    %define _INS(v) %1 ebx, strict dword v              ; 81 /d id
    %strcat _NM %2, '32_r_i'
    IMMRUN _NM, IMM32L
    %define _INS(v) %1 ebx, byte v                      ; 83 /d ib (sign-extended)
    %strcat _NM %2, '32_r_i8'
    IMMRUN _NM, IMM8S
    %define _PRE mov [scratch], eax
    %define _INS(v) %1 dword [scratch], strict dword v
    %define _POST mov eax, [scratch]
    %strcat _NM %2, '32_m_i'
    IMMRUN _NM, IMM32L
    %define _INS(v) %1 dword [scratch], byte v
    %strcat _NM %2, '32_m_i8'
    IMMRUN _NM, IMM8S
%endmacro

; TESTOP: TEST has only r/m,reg (84/85), AL/AX/EAX,imm (A8/A9) and F6/F7 /0 forms
%macro TESTOP 0
    FMASK MASK_LOGIC
    TABLES VALS, VALS, tbl_flags2
    RAWTABLES RAWV, RAWV, tbl_flags2
    HRT 'test8', {test al, bl}
    HT 'test8_hi', {test ah, bh}
    HT 'test8_m_r', {mov [scratch], al}, {test [scratch], bl}
    HRT 'test16', {test ax, bx}
    HT 'test16_m_r', {mov [scratch], ax}, {test [scratch], bx}
    HRT 'test32', {test eax, ebx}
    HT 'test32_m_r', {mov [scratch], eax}, {test [scratch], ebx}
    TABLES VALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _POST nop
    %define _INS(v) test al, v                          ; A8 ib
    IMMRUN 'test8_al_i', IMM8L
    %define _INS(v) test ax, strict word v              ; 66 A9 iw
    IMMRUN 'test16_ax_i', IMM16L
    %define _INS(v) test eax, strict dword v            ; A9 id
    IMMRUN 'test32_eax_i', IMM32L
    %define _PRE mov ebx, eax
    %define _INS(v) test bl, v                          ; F6 /0 ib
    IMMRUN 'test8_r_i', IMM8L
    %define _INS(v) test bx, strict word v              ; 66 F7 /0 iw
    IMMRUN 'test16_r_i', IMM16L
    %define _INS(v) test ebx, strict dword v            ; F7 /0 id
    IMMRUN 'test32_r_i', IMM32L
    %define _PRE mov [scratch], eax
    %define _INS(v) test byte [scratch], v
    IMMRUN 'test8_m_i', IMM8L
    %define _INS(v) test word [scratch], strict word v
    IMMRUN 'test16_m_i', IMM16L
    %define _INS(v) test dword [scratch], strict dword v
    IMMRUN 'test32_m_i', IMM32L
%endmacro

; UNOP mnemonic, 'name', /digit, group opcode (FE/F6), flag mask, short-form base (0x40/0x48 or 0)
%macro UNOP 6
    FMASK %5
    TABLES VALS, tbl_zero, tbl_flags2
    RAWTABLES RAWU, tbl_zero, tbl_flags2
    %strcat _NM %2, '8'
    HRT _NM, {%1 al}
    %strcat _NM %2, '8_hi'
    HT _NM, {%1 ah}
    %strcat _NM %2, '8_m'
    HT _NM, {mov [scratch], eax}, {%1 byte [scratch]}, {mov eax, [scratch]}
    %strcat _NM %2, '16'
    HRT _NM, {%1 ax}
    %strcat _NM %2, '16_m'
    HT _NM, {mov [scratch], eax}, {%1 word [scratch]}, {mov eax, [scratch]}
    %strcat _NM %2, '32'
    HRT _NM, {%1 eax}
    %strcat _NM %2, '32_m'
    HT _NM, {mov [scratch], eax}, {%1 dword [scratch]}, {mov eax, [scratch]}
%if %6
    ; NASM encodes inc/dec r16/r32 with the one-byte 40+r/48+r forms above;
    ; here the ModRM forms FF /0, FF /1 on a register
    %strcat _NM %2, '16_modrm'
    HT _NM, {db 0x66, %4 + 1, 0xc0 + (%3 << 3)}
    %strcat _NM %2, '32_modrm'
    HT _NM, {db %4 + 1, 0xc0 + (%3 << 3)}
    %strcat _NM %2, '32_ebx'
    HT _NM, {mov ebx, eax}, {%1 ebx}
%else
    %strcat _NM %2, '32_ebx'
    HT _NM, {mov ebx, eax}, {%1 ebx}
%endif
%endmacro

main:
    RAWREGS 1
    BINOP add, 'add', 0, MASK_ARITH
    BINOP or,  'or',  1, MASK_LOGIC
    BINOP adc, 'adc', 2, MASK_ARITH
    BINOP sbb, 'sbb', 3, MASK_ARITH
    BINOP and, 'and', 4, MASK_LOGIC
    BINOP sub, 'sub', 5, MASK_ARITH
    BINOP xor, 'xor', 6, MASK_LOGIC
    BINOP cmp, 'cmp', 7, MASK_ARITH
    TESTOP
    UNOP inc, 'inc', 0, 0xfe, MASK_ARITH, 1
    UNOP dec, 'dec', 1, 0xfe, MASK_ARITH, 1
    UNOP not, 'not', 2, 0xf6, MASK_NONE, 0
    UNOP neg, 'neg', 3, 0xf6, MASK_ARITH, 0
    ; a few single hand-checkable results
    RAWTABLES SPOT_A, SPOT_B, tbl_flags2
    RAWREGS 1
    FMASK MASK_ARITH
    RT 'spot_add32', {add eax, ebx}
    RT 'spot_sub32', {sub eax, ebx}
    RT 'spot_adc8', {adc al, bl}
    RT 'spot_sbb16', {sbb ax, bx}
    ret

section .rodata
align 4
VALS:
    dd 24
    dd 0x00000000, 0x00000001, 0x00000002, 0x0000007f
    dd 0x00000080, 0x000000ff, 0x00000100, 0x00007fff
    dd 0x00008000, 0x0000ffff, 0x00010000, 0x7fffffff
    dd 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff
    dd 0x12345678, 0x9abcdef0, 0xdeadbeef, 0x0f0f0f0f
    dd 0x55aa55aa, 0xc3c3807f, 0x00ff7f80, 0x3c5a96e1
; raw operands: low bytes 01 7f ff 80, low words 0001 807f ffff 7f80
RAWV:
    dd 4, 0x00000001, 0x7fff807f, 0xffffffff, 0x80007f80
RAWU:
    dd 5, 0x00000000, 0x00000001, 0x7fff807f, 0xffffffff, 0x80007f80
SPOT_A:
    dd 2, 0x0000abcd, 0x80000000
SPOT_B:
    dd 2, 0x00000893, 0x00000001

section .bss
scratch: resd 2
