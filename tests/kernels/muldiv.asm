; muldiv.asm -- MUL, IMUL (1-, 2- and 3-operand forms), DIV, IDIV, all sizes,
; register and memory operands; #DE (divide by zero, quotient overflow) both
; inside the hashed runs (vector/error/eip folded into the hash) and as
; explicit printed cases: the handler prints "EXC 00 err 00000000 eip X" where X
; must be the address of the faulting DIV/IDIV (first prefix byte), then
; execution continues after the instruction with registers unchanged.
;
; Flag masks (Intel SDM vol. 2):
;   MUL: "The OF and CF flags are set to 0 if the upper half of the result is
;     0; otherwise, they are set to 1. The SF, ZF, AF, and PF flags are
;     undefined." -> keep CF OF (+DF, bit 1).
;   IMUL: "the CF and OF flags are set when significant bits are carried into
;     the upper half of the result [1-operand] / the result must be truncated
;     [2-, 3-operand] ... The SF, ZF, AF, and PF flags are undefined."
;     -> keep CF OF.
;   DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." -> keep
;     only DF and bit 1.
;   Not covered: IDIV of 80000000:00000000 by -1 (crashes QEMU 7.2, see below).
;   On #DE nothing is modified (fault), so the registers and flags of the
;   faulting state are compared (with the same masks).

%include "lib.inc"

MASK_MUL equ F_CF | F_OF | F_DF | F_R1
MASK_DIV equ F_DF | F_R1

; IMMRUN 'name', imm... -- one hash over the immediates, instruction _INS(imm)
%macro IMMRUN 2-*
    %define _HN %1
    HBEGIN
    %rep %0-1
    %rotate 1
    HACC _HN, {_PRE}, {_INS(%1)}
    %endrep
    HEND _HN
%endmacro

%define IMM8S  0, 1, -1, 127, -128, 7, -7
%define IMM16L 0, 1, 0xffff, 0x7fff, 0x8000, 0x1234, 0x00ff
%define IMM32L 0, 1, -1, 0x7fffffff, 0x80000000, 0x00012345, 0x00010000, -0x10000

; DETEST 'description', setup..., last param = the faulting instruction
%macro DETEST 3-*
    PRINT %1
    %rep %0-2
    %rotate 1
    %1
    %endrep
    %rotate 1
    EXPECT %%after
%%insn:
    %1
    PRINTLN ' -> no exception'
%%after:
    mov dword [exc_resume], 0
    mov [de_eax], eax
    mov [de_edx], edx
    PRINT 'de insn at '
    PHEX32 %%insn
    PRINT ' eax '
    PHEX32 [de_eax]
    PRINT ' edx '
    PHEX32 [de_edx]
    NL
%endmacro

main:
    ; ---------------------------------------------------------- MUL / IMUL one operand
    FMASK MASK_MUL
    TABLES MVALS, MVALS, tbl_flags2
    RAWTABLES MRAWA, MRAWB, tbl_flags_clear
    RAWREGS 1 | 8                                   ; eax edx
    HRT 'mul8', {mul bl}
    HT 'mul8_m', {mov [scratch], ebx}, {mul byte [scratch]}
    HT 'mul8_ah', {mov ecx, ebx}, {mov ah, 0x5a}, {mul ch}
    HRT 'mul16', {mul bx}
    HT 'mul16_m', {mov [scratch], ebx}, {mul word [scratch]}
    HRT 'mul32', {mul ebx}
    HT 'mul32_m', {mov [scratch], ebx}, {mul dword [scratch]}
    HT 'mul32_eax', {mul eax}                       ; square
    HRT 'imul8', {imul bl}
    HT 'imul8_m', {mov [scratch], ebx}, {imul byte [scratch]}
    HRT 'imul16', {imul bx}
    HT 'imul16_m', {mov [scratch], ebx}, {imul word [scratch]}
    HRT 'imul32', {imul ebx}
    HT 'imul32_m', {mov [scratch], ebx}, {imul dword [scratch]}
    ; ---------------------------------------------------------- IMUL two operands (0F AF)
    HRT 'imul2_16', {imul ax, bx}
    HT 'imul2_16_m', {mov [scratch], ebx}, {imul ax, [scratch]}
    HRT 'imul2_32', {imul eax, ebx}
    HT 'imul2_32_m', {mov [scratch], ebx}, {imul eax, [scratch]}
    HT 'imul2_32_ecx', {mov ecx, eax}, {imul ecx, ebx}
    ; ---------------------------------------------------------- IMUL three operands (6B ib, 69 iw/id)
    TABLES MVALS, tbl_zero, tbl_flags2
    %define _PRE nop
    %define _INS(v) imul ax, bx, byte v
    IMMRUN 'imul3_16_i8', IMM8S
    %define _PRE mov ebx, eax
    %define _INS(v) imul ax, bx, strict word v
    IMMRUN 'imul3_16_i16', IMM16L
    %define _INS(v) imul ecx, ebx, byte v
    IMMRUN 'imul3_32_i8', IMM8S
    %define _INS(v) imul ecx, ebx, strict dword v
    IMMRUN 'imul3_32_i32', IMM32L
    %define _PRE mov [scratch], eax
    %define _INS(v) imul edx, [scratch], strict dword v
    IMMRUN 'imul3_32_m_i32', IMM32L
    %define _INS(v) imul dx, [scratch], byte v
    IMMRUN 'imul3_16_m_i8', IMM8S

    ; ---------------------------------------------------------- DIV / IDIV
    FMASK MASK_DIV
    TABLES DVALS, DVALS, tbl_flags2
    RAWTABLES DRAWA, DRAWB, tbl_flags_clear
    ; 8-bit: AX / r/m8 -> AL quotient, AH remainder
    HRT 'div8', {div bl}                            ; AX = A (mostly overflows)
    HRT 'div8_z', {movzx eax, al}, {div bl}         ; AH = 0
    HT 'div8_m', {movzx eax, al}, {mov [scratch], ebx}, {div byte [scratch]}
    HRT 'idiv8', {idiv bl}
    HRT 'idiv8_s', {cbw}, {idiv bl}                 ; AX = sign-extended AL
    HT 'idiv8_m', {cbw}, {mov [scratch], ebx}, {idiv byte [scratch]}
    ; 16-bit: DX:AX / r/m16
    HT 'div16', {div bx}                            ; DX = 0xcafe
    HRT 'div16_z', {mov dx, 0}, {div bx}
    HT 'div16_bm1', {lea edx, [ebx - 1]}, {div bx}  ; DX = B-1: quotient fits if B != 0
    HT 'div16_m', {mov dx, 0}, {mov [scratch], ebx}, {div word [scratch]}
    HT 'idiv16', {idiv bx}
    HRT 'idiv16_s', {cwd}, {idiv bx}
    HT 'idiv16_bm1', {lea edx, [ebx - 1]}, {idiv bx}
    HT 'idiv16_m', {cwd}, {mov [scratch], ebx}, {idiv word [scratch]}
    ; 32-bit: EDX:EAX / r/m32
    HT 'div32', {div ebx}                           ; EDX = 0x600dcafe
    HRT 'div32_z', {mov edx, 0}, {div ebx}
    HT 'div32_bm1', {lea edx, [ebx - 1]}, {div ebx}
    HT 'div32_m', {mov edx, 0}, {mov [scratch], ebx}, {div dword [scratch]}
    HT 'div32_ecx', {mov edx, 0}, {mov ecx, ebx}, {div ecx}
    HT 'idiv32', {idiv ebx}
    HRT 'idiv32_s', {cdq}, {idiv ebx}
    HT 'idiv32_bm1', {lea edx, [ebx - 1]}, {idiv ebx}
    HT 'idiv32_m', {cdq}, {mov [scratch], ebx}, {idiv dword [scratch]}
    HT 'idiv32_ecx', {cdq}, {mov ecx, ebx}, {idiv ecx}

    ; ---------------------------------------------------------- explicit #DE cases
    DETEST 'div32 by zero: ', {mov eax, 0x12345678}, {mov edx, 0}, {mov ecx, 0}, {div ecx}
    DETEST 'div8 by zero: ', {mov eax, 0x1234}, {mov edx, 0x5555}, {mov cl, 0}, {div cl}
    DETEST 'div16 by zero (66h prefix): ', {mov eax, 0x1234}, {mov edx, 0x5555}, {mov ecx, 0xffff0000}, {div cx}
    DETEST 'div32 mem by zero (es: prefix): ', {mov dword [scratch], 0}, {mov eax, 7}, {mov edx, 0}, {div dword [es:scratch]}
    DETEST 'idiv32 by zero: ', {mov eax, 0xffffffff}, {mov edx, 0xffffffff}, {mov ebx, 0}, {idiv ebx}
    DETEST 'div32 quotient overflow: ', {mov eax, 0}, {mov edx, 1}, {mov ecx, 1}, {div ecx}
    DETEST 'div32 edx == divisor: ', {mov eax, 0xffffffff}, {mov edx, 0x10}, {mov ecx, 0x10}, {div ecx}
    DETEST 'div32 edx < divisor (ok): ', {mov eax, 0xffffffff}, {mov edx, 0xf}, {mov ecx, 0x10}, {div ecx}
    ; NOT TESTED (QEMU cannot be the oracle): IDIV with EDX:EAX = 80000000:00000000
    ; (or DX:AX = 8000:0000) divided by -1.  SDM: quotient too large -> #DE.
    ; QEMU 7.2 computes INT64_MIN / -1 (INT32_MIN / -1) on the host in
    ; helper_idivl_EAX / helper_idivw_AX and dies with SIGFPE.
    DETEST 'idiv32 -2^31 / -1: ', {mov eax, 0x80000000}, {mov edx, 0xffffffff}, {mov ecx, -1}, {idiv ecx}
    DETEST 'idiv32 -2^31 / 1 (ok): ', {mov eax, 0x80000000}, {mov edx, 0xffffffff}, {mov ecx, 1}, {idiv ecx}
    DETEST 'idiv32 (-2^31+1) / -1 (ok): ', {mov eax, 0x80000001}, {mov edx, 0xffffffff}, {mov ecx, -1}, {idiv ecx}
    DETEST 'idiv32 2^31 / -1 (ok): ', {mov eax, 0x80000000}, {mov edx, 0}, {mov ecx, -1}, {idiv ecx}
    DETEST 'idiv32 2^31 / 1: ', {mov eax, 0x80000000}, {mov edx, 0}, {mov ecx, 1}, {idiv ecx}
    DETEST 'idiv8 -32768 / -1: ', {mov eax, 0x8000}, {mov ecx, 0xff}, {idiv cl}
    DETEST 'idiv8 -128 / -1: ', {mov eax, 0xff80}, {mov ecx, 0xff}, {idiv cl}
    DETEST 'idiv8 -256 / 2 (ok): ', {mov eax, 0xff00}, {mov ecx, 2}, {idiv cl}
    DETEST 'idiv8 -258 / 2: ', {mov eax, 0xfefe}, {mov ecx, 2}, {idiv cl}
    DETEST 'idiv8 254 / 2: ', {mov eax, 0x00fe}, {mov ecx, 2}, {idiv cl}
    DETEST 'idiv8 -7 / 2 (ok): ', {mov eax, 0xfff9}, {mov ecx, 2}, {idiv cl}
    DETEST 'idiv16 -2^15 / -1: ', {mov eax, 0x8000}, {mov edx, 0xffff}, {mov ecx, 0xffff}, {idiv cx}
    DETEST 'idiv16 -2^15 / 1 (ok): ', {mov eax, 0x8000}, {mov edx, 0xffff}, {mov ecx, 1}, {idiv cx}
    DETEST 'div16 quotient overflow: ', {mov eax, 0}, {mov edx, 2}, {mov ecx, 2}, {div cx}
    DETEST 'div8 quotient overflow: ', {mov eax, 0x0300}, {mov ecx, 3}, {div cl}
    ret

section .rodata
align 4
MVALS:
    dd 18
    dd 0x00000000, 0x00000001, 0x00000002, 0x00000003
    dd 0x0000007f, 0x00000080, 0x000000ff, 0x00007fff
    dd 0x00008000, 0x0000ffff, 0x7fffffff, 0x80000000
    dd 0xffffffff, 0x12345678, 0xdeadbeef, 0x00010003
    dd 0xfffffff9, 0x0000000a
MRAWA:
    dd 4, 0x000000ff, 0x7fffffff, 0x80000000, 0xfffffff9
MRAWB:
    dd 3, 0x00000002, 0xffffffff, 0x80008081
DVALS:
    dd 20
    dd 0x00000000, 0x00000001, 0x00000002, 0x00000003
    dd 0x00000007, 0x0000000a, 0x0000007f, 0x00000080
    dd 0x000000ff, 0x00000100, 0x00007fff, 0x00008000
    dd 0x0000ffff, 0x00010000, 0x7fffffff, 0x80000000
    dd 0xffffffff, 0xfffffff9, 0x12345678, 0xdeadbeef
DRAWA:
    dd 5, 0x00000064, 0x0000ff9c, 0x7fffffff, 0x80000000, 0xffffff9c
DRAWB:
    dd 4, 0x00000007, 0xfffffff9, 0x00000000, 0x00000100

section .bss
scratch: resd 2
de_eax: resd 1
de_edx: resd 1
