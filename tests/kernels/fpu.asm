; fpu.asm -- the x87 FPU, compared with QEMU's 80-bit softfloat.
;
; The emulator keeps x87 registers as IEEE doubles (README, "x87 FPU"), so
; every case is designed to give the same bits either way: results are
; stored as m64 (printed as two hex dwords, high first) and are exactly
; representable, or are computed with precision control = 53 bits
; (FLDCW 027Fh | RC) where the x87 rounds exactly like a double, or are
; correctly rounded to double from an exact 80-bit value.
;
; Status words are printed masked only where the SDM calls bits undefined,
; or where QEMU 7.2 departs from the SDM (documented in README.md of this
; directory):
;   SW_ARITH  = ~4702h: C0 C2 C3 are undefined after arithmetic, loads,
;               stores and conversions; C1 is "rounded up" in the SDM, QEMU
;               never sets it; DE: QEMU never reports the denormal-operand
;               exception (the SDM raises it when FLD m32/m64 loads a denormal).
;   SW_TRANS  = SW_ARITH & ~PE (20h) for FSIN FCOS FSINCOS FPTAN: QEMU 7.2
;               computes them with the host's double functions and reports
;               no precision exception; the SDM (and we) set PE.
;   compares: the full status word (C1 is 0 in both).
;   FPREM1: C0 C1 C3 (quotient bits in the SDM) are masked: QEMU 7.2 clears them.
;   FNSTENV/FNSAVE: the FOP field (QEMU stores 0; the SDM's P6 stores the
;   opcode) and DE in the status word are masked; pointers are not printed
;   after FLDENV/FRSTOR (QEMU does not reload FIP/FDP).
;   #MF: TOP is masked in the pending status word (QEMU pops even though the
;   unmasked exception must leave the stack unchanged).
;   FCOMI/FUCOMI: EFLAGS & (ZF PF CF); the SDM clears OF SF AF, QEMU keeps them.
; Not covered here (QEMU is no oracle): stack overflow/underflow (QEMU has no
; stack-fault checking), unmasked-exception results (QEMU writes the result
; anyway), pending-exception #MF on instructions other than WAIT, results
; beyond double's exponent range kept in registers. tests/unit/fpu.test.ts
; checks those against the SDM.

%include "lib.inc"

SW_ARITH equ 0xb8fd
SW_TRANS equ 0xb8dd
CW53     equ 0x027f             ; all exceptions masked, PC = 53 bits, RC = nearest
CW64     equ 0x037f             ; FNINIT's control word (PC = 64 bits)

; SHOWQ 'name', swmask -- FSTP m64, FNSTSW, print "name hi lo sw"
%macro SHOWQ 2
    fstp qword [fq]
    fnstsw [fsw]
    PRINT %1
    mov dword [swmask], %2
    call print_q_sw
%endmacro

; SETCW value
%macro SETCW 1
    mov word [cwv], %1
    fldcw [cwv]
%endmacro

main:
    ; the FPU is there, its power-on state is overwritten by FNINIT
    fninit
    fnstcw [cwv]
    fnstsw [fsw]
    PRINT 'fninit cw '
    PHEX16 [cwv]
    PRINT ' sw '
    PHEX16 [fsw]
    NL
    call test_loadstore
    call test_consts
    call test_arith
    call test_precision
    call test_misc
    call test_int
    call test_bcd
    call test_compare
    call test_stack
    call test_trans
    call test_env
    call test_traps
    ret

; ---------------------------------------------------------------- helpers
; print_q_sw: " hi lo sw" for [fq] and [fsw] & [swmask]
print_q_sw:
    call print_q
    PRINT ' sw '
    push eax
    mov eax, [fsw]
    and eax, [swmask]
    PHEXN eax, 4
    pop eax
    NL
    ret

print_q:
    SPC
    PHEX32 [fq + 4]
    SPC
    PHEX32 [fq]
    ret

; set_rc: eax = rc (0..3), ebx = base control word -> FLDCW
set_rc:
    push eax
    shl eax, 10
    or eax, ebx
    mov [cwv], ax
    fldcw [cwv]
    pop eax
    ret

; ---------------------------------------------------------------- loads and stores
; Every value of `vals` through FLD m64 -> FSTP m32 / m64 / m80 and back.
test_loadstore:
    xor esi, esi
.l:
    cmp esi, [vals]
    jae .done
    PRINT 'ld/st '
    PHEX8 esi
    ; m64 -> m64
    fninit
    fld qword [vals + 4 + esi * 8]
    SHOWQ ' m64', SW_ARITH
    ; m64 -> m32 (RC nearest), printed as one dword
    fninit
    fld qword [vals + 4 + esi * 8]
    fstp dword [fd]
    fnstsw [fsw]
    PRINT '      m32 '
    PHEX32 [fd]
    PRINT ' sw '
    mov eax, [fsw]
    and eax, SW_ARITH
    PHEXN eax, 4
    ; m32 -> m64
    fninit
    fld dword [fd]
    fstp qword [fq]
    fnstsw [fsw]
    PRINT ' back'
    mov dword [swmask], SW_ARITH
    call print_q_sw
    ; m64 -> m80 -> m64
    fninit
    fld qword [vals + 4 + esi * 8]
    fstp tword [ft]
    PRINT '      m80 '
    PHEX16 [ft + 8]
    SPC
    PHEX32 [ft + 4]
    SPC
    PHEX32 [ft]
    fninit
    fld tword [ft]
    fstp qword [fq]
    fnstsw [fsw]
    PRINT ' back'
    call print_q_sw
    inc esi
    jmp .l
.done:
    ; FST m32 in all four rounding modes (and FST without pop)
    xor esi, esi
.r:
    cmp esi, [f32vals]
    jae .rdone
    xor eax, eax
.rc:
    fninit
    mov ebx, CW64
    call set_rc
    fld qword [f32vals + 4 + esi * 8]
    fst dword [fd]
    fnstsw [fsw]
    PRINT 'fst m32 '
    PHEX8 esi
    PRINT ' rc'
    PHEXN eax, 1
    SPC
    PHEX32 [fd]
    PRINT ' sw '
    push eax
    mov eax, [fsw]
    and eax, SW_ARITH
    PHEXN eax, 4
    pop eax
    NL
    inc eax
    cmp eax, 4
    jb .rc
    inc esi
    jmp .r
.rdone:
    ; 80-bit values that are exact doubles (incl. double denormals, NaN payloads)
    xor esi, esi
.t:
    cmp esi, [tvals]
    jae .tdone
    fninit
    imul eax, esi, 10
    fld tword [tvals + 4 + eax]
    fld st0
    fstp tword [ft]
    PRINT 'fld m80 '
    PHEX8 esi
    SPC
    PHEX16 [ft + 8]
    SPC
    PHEX32 [ft + 4]
    SPC
    PHEX32 [ft]
    SHOWQ ' m64', SW_ARITH
    inc esi
    jmp .t
.tdone:
    ret

; ---------------------------------------------------------------- constants
; FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ in the four rounding modes
; (values only: storing QEMU's 64-bit constant to m64 is inexact and sets PE,
; our double constants are exact -- a documented precision-model deviation).
test_consts:
    xor eax, eax
.l:
    PRINT 'const rc'
    PHEXN eax, 1
    mov ebx, CW64
%macro CONSTQ 1
    fninit
    call set_rc
    %1
    fstp qword [fq]
    call print_q
%endmacro
    CONSTQ fld1
    CONSTQ fldl2t
    CONSTQ fldl2e
    CONSTQ fldpi
    CONSTQ fldlg2
    CONSTQ fldln2
    CONSTQ fldz
    NL
    inc eax
    cmp eax, 4
    jb .l
    ret

; ---------------------------------------------------------------- arithmetic
; binrun: esi = name, edi = stub, ecx = 1 to also print every case.
; For every pair (a, b) and rounding mode: FNINIT, FLDCW 027Fh|RC, stub
; (which leaves its result in ST0), FSTP m64, FNSTSW; hashed and/or printed.
binrun:
    pushad
    mov [br_name], esi
    mov [br_stub], edi
    mov [br_raw], ecx
    mov dword [hash], 0
    xor esi, esi
.lp:
    cmp esi, [pairs]
    jae .done
    mov eax, esi
    shl eax, 4
    mov edx, [pairs + 4 + eax]
    mov [opa], edx
    mov edx, [pairs + 8 + eax]
    mov [opa + 4], edx
    mov edx, [pairs + 12 + eax]
    mov [opb], edx
    mov edx, [pairs + 16 + eax]
    mov [opb + 4], edx
    xor eax, eax
.lr:
    fninit
    mov ebx, CW53
    call set_rc
    push eax
    call [br_stub]
    pop eax
    fstp qword [fq]
    fnstsw [fsw]
    and dword [fsw], SW_ARITH
    push eax
    mov eax, [fq]
    call hash_eax
    mov eax, [fq + 4]
    call hash_eax
    mov eax, [fsw]
    call hash_eax
    pop eax
    cmp dword [br_raw], 0
    je .next
    push esi
    mov esi, [br_name]
    call puts
    pop esi
    SPC
    PHEX8 esi
    PRINT ' rc'
    PHEXN eax, 1
    call print_q
    PRINT ' sw '
    PHEXN [fsw], 4
    NL
.next:
    inc eax
    cmp eax, 4
    jb .lr
    inc esi
    jmp .lp
.done:
    mov esi, [br_name]
    call puts
    PRINT ' all '
    PHEX32 [hash]
    NL
    popad
    ret

; BIN 'name', raw, insn... -- run a stub over all pairs
%macro BIN 3-*
    [section .rodata]
%%name: db %2, 0
    __SECT__
    mov esi, %%name
    mov edi, %%stub
    mov ecx, %1
    call binrun
    jmp %%end
%%stub:
    %rotate 2
    %rep %0-2
    %1
    %rotate 1
    %endrep
    ret
%%end:
%endmacro

test_arith:
    ; ST0 <- ST0 op ST(1)
    BIN 1, 'fadd', {fld qword [opb]}, {fld qword [opa]}, {fadd st0, st1}
    BIN 1, 'fsub', {fld qword [opb]}, {fld qword [opa]}, {fsub st0, st1}
    BIN 1, 'fsubr', {fld qword [opb]}, {fld qword [opa]}, {fsubr st0, st1}
    BIN 1, 'fmul', {fld qword [opb]}, {fld qword [opa]}, {fmul st0, st1}
    BIN 1, 'fdiv', {fld qword [opb]}, {fld qword [opa]}, {fdiv st0, st1}
    BIN 1, 'fdivr', {fld qword [opb]}, {fld qword [opa]}, {fdivr st0, st1}
    ; ST(1) <- ST(1) op ST0 (DC), then drop ST0: same results as above
    BIN 0, 'fadd st1', {fld qword [opa]}, {fld qword [opb]}, {fadd st1, st0}, {fstp st0}
    BIN 0, 'fsub st1', {fld qword [opa]}, {fld qword [opb]}, {fsub st1, st0}, {fstp st0}
    BIN 0, 'fsubr st1', {fld qword [opa]}, {fld qword [opb]}, {fsubr st1, st0}, {fstp st0}
    BIN 0, 'fmul st1', {fld qword [opa]}, {fld qword [opb]}, {fmul st1, st0}, {fstp st0}
    BIN 0, 'fdiv st1', {fld qword [opa]}, {fld qword [opb]}, {fdiv st1, st0}, {fstp st0}
    BIN 0, 'fdivr st1', {fld qword [opa]}, {fld qword [opb]}, {fdivr st1, st0}, {fstp st0}
    ; ...P forms (DE)
    BIN 0, 'faddp', {fld qword [opa]}, {fld qword [opb]}, {faddp st1, st0}
    BIN 0, 'fsubp', {fld qword [opa]}, {fld qword [opb]}, {fsubp st1, st0}
    BIN 0, 'fsubrp', {fld qword [opa]}, {fld qword [opb]}, {fsubrp st1, st0}
    BIN 0, 'fmulp', {fld qword [opa]}, {fld qword [opb]}, {fmulp st1, st0}
    BIN 0, 'fdivp', {fld qword [opa]}, {fld qword [opb]}, {fdivp st1, st0}
    BIN 0, 'fdivrp', {fld qword [opa]}, {fld qword [opb]}, {fdivrp st1, st0}
    ; m64 operand (DC)
    BIN 0, 'fadd m64', {fld qword [opa]}, {fadd qword [opb]}
    BIN 0, 'fsub m64', {fld qword [opa]}, {fsub qword [opb]}
    BIN 0, 'fsubr m64', {fld qword [opa]}, {fsubr qword [opb]}
    BIN 0, 'fmul m64', {fld qword [opa]}, {fmul qword [opb]}
    BIN 0, 'fdiv m64', {fld qword [opa]}, {fdiv qword [opb]}
    BIN 0, 'fdivr m64', {fld qword [opa]}, {fdivr qword [opb]}
    ; m32 and integer operands (exact small values), ST0 = a
    BIN 1, 'fadd m32', {fld qword [opa]}, {fadd dword [m32_3]}
    BIN 1, 'fsubr m32', {fld qword [opa]}, {fsubr dword [m32_3]}
    BIN 1, 'fdiv m32', {fld qword [opa]}, {fdiv dword [m32_3]}
    BIN 1, 'fimul m32', {fld qword [opa]}, {fimul dword [i32_m7]}
    BIN 1, 'fidivr m32', {fld qword [opa]}, {fidivr dword [i32_m7]}
    BIN 1, 'fisub m16', {fld qword [opa]}, {fisub word [i16_5]}
    BIN 1, 'fidiv m16', {fld qword [opa]}, {fidiv word [i16_5]}
    BIN 0, 'fiadd m16', {fld qword [opa]}, {fiadd word [i16_5]}
    BIN 0, 'fisubr m32', {fld qword [opa]}, {fisubr dword [i32_m7]}
    ; square root and round to integer, in every rounding mode
    BIN 1, 'fsqrt', {fld qword [opa]}, {fsqrt}
    BIN 1, 'frndint', {fld qword [opa]}, {frndint}
    BIN 0, 'fsqrt b', {fld qword [opb]}, {fsqrt}
    BIN 0, 'frndint b', {fld qword [opb]}, {frndint}
    BIN 1, 'fabs', {fld qword [opa]}, {fabs}
    BIN 1, 'fchs', {fld qword [opa]}, {fchs}
    ret

; ---------------------------------------------------------------- precision control
; PC = 64 bits (FNINIT's) on exact operations, PC = 24 bits rounds to single.
test_precision:
    xor esi, esi
.l:
    cmp esi, [exact]
    jae .done
    mov eax, esi
    shl eax, 4
    fninit
    fld qword [exact + 12 + eax]
    fld qword [exact + 4 + eax]
    fld st0
    fadd st0, st2
    fld st1
    fmul st0, st3
    fld st2
    fdiv st0, st4
    SHOWQ 'pc64 div', SW_ARITH
    SHOWQ 'pc64 mul', SW_ARITH
    SHOWQ 'pc64 add', SW_ARITH
    inc esi
    jmp .l
.done:
    ; PC = 24: 1/3, 2/3, 1+2^-30, 1e20*3.3 in the four rounding modes
    xor eax, eax
.rc:
    fninit
    mov ebx, 0x007f
    call set_rc
    PRINT 'pc24 rc'
    PHEXN eax, 1
    NL
    fld1
    fdiv qword [three]
    SHOWQ ' 1/3', SW_ARITH
    fld qword [two]
    fdiv qword [three]
    SHOWQ ' 2/3', SW_ARITH
    fld1
    fadd qword [tiny30]
    SHOWQ ' 1+2^-30', SW_ARITH
    fld qword [two]
    fsqrt
    SHOWQ ' sqrt2', SW_ARITH
    inc eax
    cmp eax, 4
    jb .rc
    ret

; ---------------------------------------------------------------- FSCALE FXTRACT FPREM FPREM1
test_misc:
    xor esi, esi
.s:
    cmp esi, [scales]
    jae .sdone
    mov eax, esi
    shl eax, 4
    fninit
    fld qword [scales + 12 + eax]
    fld qword [scales + 4 + eax]
    fscale
    PRINT 'fscale '
    PHEX8 esi
    SHOWQ '', SW_ARITH
    inc esi
    jmp .s
.sdone:
    xor esi, esi
.x:
    cmp esi, [vals]
    jae .xdone
    fninit
    fld qword [vals + 4 + esi * 8]
    fxtract
    PRINT 'fxtract '
    PHEX8 esi
    SHOWQ ' sig', SW_ARITH
    SHOWQ '         exp', SW_ARITH
    inc esi
    jmp .x
.xdone:
    ; FPREM / FPREM1: repeat while C2 (partial remainder), print the steps,
    ; the remainder and C3 C1 C0 (quotient bits) of the final step.
    xor esi, esi
.p:
    cmp esi, [prems]
    jae .pdone
    mov dword [fround], 0
.pr:
    mov eax, esi
    shl eax, 4
    fninit
    fld qword [prems + 12 + eax]
    fld qword [prems + 4 + eax]
    xor ecx, ecx
.again:
    inc ecx
    cmp dword [fround], 0
    jne .one
    fprem
    jmp .st
.one:
    fprem1
.st:
    fnstsw ax
    test ah, 4
    jnz .again
    mov [fsw], eax
    fstp qword [fq]
    fstp st0
    PRINT 'fprem'
    mov dword [swmask], 0x47fd  ; C3 C2 C1 C0 and the flags (not DE, not TOP)
    cmp dword [fround], 0
    je .n1
    PRINT '1'
    mov dword [swmask], 0x04fd  ; FPREM1: QEMU 7.2 does not report the quotient bits
    jmp .n2
.n1:
    PRINT ' '
.n2:
    SPC
    PHEX8 esi
    PRINT ' steps '
    PHEX8 ecx
    call print_q_sw
    inc dword [fround]
    cmp dword [fround], 2
    jb .pr
    inc esi
    jmp .p
.pdone:
    ret

; ---------------------------------------------------------------- integers
; FIST m16/m32, FISTP m64 in each rounding mode, then FISTTP; FILD back.
test_int:
    xor esi, esi
.v:
    cmp esi, [ivals]
    jae .vdone
    xor eax, eax
.rc:
    fninit
    mov ebx, CW64
    call set_rc
    fld qword [ivals + 4 + esi * 8]
    fist word [fi16]
    fnstsw [fsw]
    fnclex
    fist dword [fi32]
    fnstsw [fsw + 2]
    fnclex
    fistp qword [fi64]
    fnstsw [fsw16]
    PRINT 'fist '
    PHEX8 esi
    PRINT ' rc'
    PHEXN eax, 1
    SPC
    PHEX16 [fi16]
    SPC
    push eax
    mov eax, [fsw]
    and eax, SW_ARITH
    PHEXN eax, 4
    SPC
    PHEX32 [fi32]
    SPC
    movzx eax, word [fsw + 2]
    and eax, SW_ARITH
    PHEXN eax, 4
    SPC
    PHEX32 [fi64 + 4]
    SPC
    PHEX32 [fi64]
    SPC
    movzx eax, word [fsw16]
    and eax, SW_ARITH
    PHEXN eax, 4
    NL
    pop eax
    inc eax
    cmp eax, 4
    jb .rc
    ; FISTTP (truncates whatever RC says: use RC = up)
    fninit
    mov ebx, CW64
    mov eax, 2
    call set_rc
    fld qword [ivals + 4 + esi * 8]
    fld st0
    fld st0
cpu prescott                    ; FISTTP is SSE3's (QEMU and the core execute it anyway)
    fisttp word [fi16]
    fisttp dword [fi32]
    fisttp qword [fi64]
cpu 686
    fnstsw [fsw]
    PRINT 'fisttp '
    PHEX8 esi
    SPC
    PHEX16 [fi16]
    SPC
    PHEX32 [fi32]
    SPC
    PHEX32 [fi64 + 4]
    SPC
    PHEX32 [fi64]
    PRINT ' sw '
    mov eax, [fsw]
    and eax, SW_ARITH
    PHEXN eax, 4
    NL
    inc esi
    jmp .v
.vdone:
    ; FILD m16/m32/m64
    fninit
    fild word [ild16]
    SHOWQ 'fild m16', SW_ARITH
    fild word [ild16 + 2]
    SHOWQ 'fild m16', SW_ARITH
    fild dword [ild32]
    SHOWQ 'fild m32', SW_ARITH
    fild dword [ild32 + 4]
    SHOWQ 'fild m32', SW_ARITH
    xor esi, esi
.i64:
    cmp esi, 5
    jae .i64done
    fild qword [ild64 + esi * 8]
    SHOWQ 'fild m64', SW_ARITH
    inc esi
    jmp .i64
.i64done:
    ret

; ---------------------------------------------------------------- packed BCD
test_bcd:
    xor esi, esi
.l:
    cmp esi, 4
    jae .ldone
    fninit
    imul eax, esi, 10
    fbld [bcds + eax]
    SHOWQ 'fbld', SW_ARITH
    inc esi
    jmp .l
.ldone:
    xor esi, esi
.s:
    cmp esi, [bvals]
    jae .sdone
    xor eax, eax
.rc:
    fninit
    mov ebx, CW64
    call set_rc
    fld qword [bvals + 4 + esi * 8]
    fbstp [ft]
    fnstsw [fsw]
    PRINT 'fbstp '
    PHEX8 esi
    PRINT ' rc'
    PHEXN eax, 1
    SPC
    PHEX16 [ft + 8]
    SPC
    PHEX32 [ft + 4]
    SPC
    PHEX32 [ft]
    PRINT ' sw '
    push eax
    mov eax, [fsw]
    and eax, SW_ARITH
    PHEXN eax, 4
    pop eax
    NL
    inc eax
    cmp eax, 4
    jb .rc
    inc esi
    jmp .s
.sdone:
    ret

; ---------------------------------------------------------------- comparisons
; For every pair: FCOM FUCOM (status word), FCOMI FUCOMI (EFLAGS, input all
; arithmetic flags set), FCOMP/FCOMPP/FUCOMPP (TOP), FCOM m64, FTST, FXAM.
test_compare:
    xor esi, esi
.l:
    cmp esi, [pairs]
    jae .ldone
    mov eax, esi
    shl eax, 4
    PRINT 'cmp '
    PHEX8 esi
%macro CMPSW 1
    fninit
    fld qword [pairs + 12 + eax]
    fld qword [pairs + 4 + eax]
    %1
    fnstsw [fsw]
    SPC
    PHEX16 [fsw]
%endmacro
    CMPSW {fcom st1}
    CMPSW {fucom st1}
    CMPSW {fcomp st1}
    CMPSW {fcompp}
    CMPSW {fucompp}
    CMPSW {fcom qword [pairs + 12 + eax]}
    CMPSW {ftst}
    CMPSW {fxam}
%macro CMPFL 1
    fninit
    fld qword [pairs + 12 + eax]
    fld qword [pairs + 4 + eax]
    push dword 0x8d7
    popfd
    %1
    pushfd
    pop ebx
    fnstsw [fsw]
    and ebx, F_ZF | F_PF | F_CF
    SPC
    PHEXN ebx, 2
    PRINT '/'
    PHEX16 [fsw]
%endmacro
    CMPFL {fcomi st0, st1}
    CMPFL {fucomi st0, st1}
    CMPFL {fcomip st0, st1}
    CMPFL {fucomip st0, st1}
    NL
    inc esi
    jmp .l
.ldone:
    ; FICOM / FICOMP with integers
    fninit
    fld qword [three]
    ficom word [i16_5]
    fnstsw [fsw]
    fcom dword [m32_3]
    fnstsw [fsw + 2]
    ficomp dword [i32_m7]
    fnstsw [fsw16]
    PRINT 'ficom '
    PHEX16 [fsw]
    SPC
    PHEX16 [fsw + 2]
    SPC
    PHEX16 [fsw16]
    NL
    ; FXAM: empty register, and the sign of an empty register
    fninit
    fxam
    fnstsw [fsw]
    fld1
    fchs
    ffree st0
    fxam
    fnstsw [fsw + 2]
    PRINT 'fxam empty '
    PHEX16 [fsw]
    SPC
    PHEX16 [fsw + 2]
    NL
    ret

; ---------------------------------------------------------------- stack and moves
test_stack:
    fninit
    fld1                        ; ST0 = 1
    fldz                        ; ST0 = 0, ST1 = 1
    fld qword [three]           ; 3 0 1
    fxch st2                    ; 1 0 3
    fld st2                     ; 3 1 0 3
    fst st1                     ; 3 3 0 3
    fstp st2                    ; 3 3 3
    fnstsw ax
    PRINT 'stack sw '
    PHEX16 eax
    fnstenv [env]
    PRINT ' tw '
    PHEX16 [env + 8]
    fincstp
    fincstp
    fnstsw ax
    PRINT ' inc '
    PHEX16 eax
    fdecstp
    fnstsw ax
    PRINT ' dec '
    PHEX16 eax
    NL
    fninit
    fld qword [two]
    fld qword [three]
    fxch
    SHOWQ 'fxch st0', SW_ARITH
    SHOWQ 'fxch st1', SW_ARITH
    ; FFREE and FFREEP leave tags empty
    fninit
    fld1
    fld1
    fld1
    ffree st1
    ffreep st0
    fnstenv [env]
    fnstsw [fsw]
    PRINT 'ffree tw '
    PHEX16 [env + 8]
    PRINT ' sw '
    PHEX16 [fsw]
    NL
    ; FCMOVcc: ST0 = 1, ST1 = 2, EFLAGS = each combination of CF ZF PF
    PRINT 'fcmov'
    xor esi, esi
.c:
%macro FCM 1
    fninit
    fld qword [two]
    fld1
    mov eax, esi
    and eax, 1
    test esi, 2
    jz %%nz
    or eax, F_ZF
%%nz:
    test esi, 4
    jz %%np
    or eax, F_PF
%%np:
    or eax, 2
    push eax
    popfd
    %1 st0, st1
    fistp dword [fi32]
    mov eax, [fi32]
    add al, '0'
    call putc
%endmacro
    SPC
    FCM fcmovb
    FCM fcmove
    FCM fcmovbe
    FCM fcmovu
    FCM fcmovnb
    FCM fcmovne
    FCM fcmovnbe
    FCM fcmovnu
    inc esi
    cmp esi, 8
    jb .c
    NL
    ; FNSTSW AX / m16 with TOP and flags; FLDCW/FNSTCW; FNCLEX keeps TOP
    fninit
    SETCW CW53
    fld1
    fldz
    fdiv st1, st0               ; 1/0: ZE (masked), ST1 = +inf
    fnstsw ax
    fnstcw [cwv]
    PRINT 'fnstsw '
    PHEX16 eax
    PRINT ' cw '
    PHEX16 [cwv]
    fnclex
    fnstsw [fsw]
    PRINT ' fnclex '
    PHEX16 [fsw]
    fstp st0
    SHOWQ ' inf', SW_ARITH
    ret

; ---------------------------------------------------------------- transcendental
; Arguments for which our fdlibm ports give the correctly rounded double
; (checked with mpmath), which is what QEMU's host libm and 80-bit code give.
test_trans:
    xor esi, esi
.l:
    cmp esi, [targs]
    jae .ldone
    PRINT 'trans '
    PHEX8 esi
    NL
    fninit
    fld qword [targs + 4 + esi * 8]
    fsin
    SHOWQ ' fsin', SW_TRANS
    fninit
    fld qword [targs + 4 + esi * 8]
    fcos
    SHOWQ ' fcos', SW_TRANS
    fninit
    fld qword [targs + 4 + esi * 8]
    fptan
    SHOWQ ' fptan 1', SW_TRANS
    SHOWQ ' fptan', SW_TRANS
    fninit
    fld qword [targs + 4 + esi * 8]
    fsincos
    SHOWQ ' fsincos cos', SW_TRANS
    SHOWQ ' fsincos sin', SW_TRANS
    inc esi
    jmp .l
.ldone:
    xor esi, esi
.a:
    cmp esi, [xargs]
    jae .adone
    mov eax, esi
    shl eax, 4
    PRINT 'trans2 '
    PHEX8 esi
    NL
    fninit
    fld qword [xargs + 4 + eax]
    f2xm1
    SHOWQ ' f2xm1', SW_ARITH
    fninit
    fld qword [xargs + 12 + eax]
    fld qword [xargs + 4 + eax]
    fpatan
    SHOWQ ' fpatan', SW_ARITH
    fninit
    fld qword [xargs + 12 + eax]
    fld qword [xargs + 4 + eax]
    fabs
    fyl2x
    SHOWQ ' fyl2x', SW_ARITH
    fninit
    fld qword [xargs + 12 + eax]
    fld qword [xargs + 4 + eax]
    fmul qword [quarter]
    fyl2xp1
    SHOWQ ' fyl2xp1', SW_ARITH
    inc esi
    jmp .a
.adone:
    ; |x| >= 2^63: C2 set, ST0 unchanged (QEMU computes at exactly 2^63: 2^64 here)
    fninit
    fld qword [big64]
    fsin
    fnstsw [fsw]
    PRINT 'fsin 2^64 sw '
    PHEX16 [fsw]
    SHOWQ '', SW_ARITH
    ret

; ---------------------------------------------------------------- environment
; FNSTENV/FLDENV and FNSAVE/FRSTOR images, 32- and 16-bit (66h) layouts.
test_env:
    ; zero every physical register first: FNSAVE also dumps empty ones
    fninit
%rep 8
    fldz
%endrep
    fninit
    SETCW 0x0a7f
    fld qword [three]
    fld1
    fldz
    fld qword [snanq]           ; IE (masked): QNaN
    fdiv st0, st1               ; NaN / 0 -> NaN
    fld qword [denq]            ; DE (a double denormal)
    fnstenv [env]
    fnstcw [cwv]
    PRINT 'fnstenv'
    mov esi, env
    call print_env
    PRINT 'cw after fnstenv '
    PHEX16 [cwv]
    NL
    ; FNSAVE right away (same pointers), FRSTOR, FNSAVE again
    fnsave [save]
    fnstcw [cwv]
    fnstsw [fsw]
    PRINT 'fnsave -> cw '
    PHEX16 [cwv]
    PRINT ' sw '
    PHEX16 [fsw]
    NL
    PRINT 'fnsave'
    mov esi, save
    call print_env
    call print_regs
    frstor [save]
    fnsave [save2]
    PRINT 'frstor'
    mov esi, save2
    call print_env3
    mov esi, save2
    call print_regs_at
    ; FLDENV of the first image
    fninit
    fldenv [env]
    fnstenv [env2]
    PRINT 'fldenv'
    mov esi, env2
    call print_env3
    ; 16-bit layouts
    fninit
    SETCW 0x067f
    fld qword [two]
    fld qword [three]
    o16 fnstenv [env]
    PRINT 'fnstenv16 '
    PHEX16 [env]
    SPC
    PHEX16 [env + 2]
    SPC
    PHEX16 [env + 4]
    NL
    o16 fnsave [save]
    o16 frstor [save]
    fnstcw [cwv]
    fnstsw [fsw]
    PRINT 'frstor16 cw '
    PHEX16 [cwv]
    PRINT ' sw '
    PHEX16 [fsw]
    SHOWQ ' st0', SW_ARITH
    SHOWQ 'frstor16 st1', SW_ARITH
    ret

; print_env: the 32-bit environment at esi: cw, sw (DE masked), tw, FIP,
; FCS (FOP masked), FDP, FDS. print_env3: only cw, sw, tw.
print_env:
    pushad
    call print_env3_nonl
    SPC
    PHEX32 [esi + 12]
    SPC
    mov eax, [esi + 16]
    and eax, 0xf800ffff
    PHEX32 eax
    SPC
    PHEX32 [esi + 20]
    SPC
    PHEX32 [esi + 24]
    NL
    popad
    ret
print_env3:
    call print_env3_nonl
    NL
    ret
print_env3_nonl:
    SPC
    PHEX32 [esi]
    SPC
    push eax
    mov eax, [esi + 4]
    and eax, ~2
    PHEX32 eax
    pop eax
    SPC
    PHEX32 [esi + 8]
    ret

print_regs:
    mov esi, save
print_regs_at:
    pushad
    add esi, 28
    xor ecx, ecx
.l:
    PRINT ' st'
    PHEXN ecx, 1
    SPC
    PHEX16 [esi + 8]
    SPC
    PHEX32 [esi + 4]
    SPC
    PHEX32 [esi]
    NL
    add esi, 10
    inc ecx
    cmp ecx, 8
    jb .l
    popad
    ret

; ---------------------------------------------------------------- #MF, #NM
test_traps:
    ; CR0.NE = 1: an unmasked exception is reported by #MF at the next WAIT
    mov eax, cr0
    or eax, 0x20
    mov cr0, eax
    fninit
    SETCW 0x037b                ; ZE unmasked
    fld1
    fldz
    fdivp st1, st0              ; ZE: pending, no trap yet
    fnstsw [fsw]
    PRINT 'pending sw '
    and dword [fsw], ~0x3800
    PHEX16 [fsw]
    NL
    EXPECT .mf_done
.mf_at:
    fwait
    PRINTLN 'no #MF'
.mf_done:
    PRINT 'wait at '
    PHEX32 .mf_at
    NL
    fnclex
    fwait                       ; nothing pending any more
    fninit
    ; CR0.EM = 1: #NM for every escape opcode (but not for WAIT)
    mov eax, cr0
    or eax, 4
    mov cr0, eax
    EXPECT .em_done
.em_at:
    fld1
    PRINTLN 'no #NM'
.em_done:
    PRINT 'em at '
    PHEX32 .em_at
    NL
    fwait
    mov eax, cr0
    and eax, ~4
    mov cr0, eax
    ; CR0.TS = 1: #NM for escapes; WAIT only with MP = 1
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    EXPECT .ts_done
.ts_at:
    fnstsw ax
    PRINTLN 'no #NM'
.ts_done:
    PRINT 'ts at '
    PHEX32 .ts_at
    NL
    fwait                       ; MP = 0: no fault
    mov eax, cr0
    or eax, 2
    mov cr0, eax
    EXPECT .mp_done
.mp_at:
    fwait
    PRINTLN 'no #NM'
.mp_done:
    PRINT 'mp at '
    PHEX32 .mp_at
    NL
    clts
    fwait
    mov eax, cr0
    and eax, ~0x22
    mov cr0, eax
    PRINTLN 'traps done'
    ret

; ---------------------------------------------------------------- data
section .rodata
align 8
; values for loads/stores and FXTRACT
vals:
    dd 16
    dq 1.0, -2.5, 0.1, 1.0e300, -1.0e-300, 0x1.fffffffffffffp+1023
    dq 0x0000000000000010       ; double denormal (an 80-bit normal)
    dq 0x8000000000000000       ; -0
    dq 0x7ff0000000000000       ; +inf
    dq 0xfff0000000000000       ; -inf
    dq 0x7ff8000000000abc       ; QNaN with a payload
    dq 0xfffc000000000000       ; negative QNaN
    dq 0x7ff4000000000000       ; SNaN: IE, quieted
    dq 3.4028234663852886e38, 1.1754943508222875e-38, 1.0e-40
; FST m32 in four rounding modes
f32vals:
    dd 9
    dq 0.1, -0.1, 1.0e39, -1.0e39, 1.0e-40, -1.0e-45, 3.4028235677973366e38, 16777217.0, -2.0
; 80-bit images: sign/exp word last (little endian tword)
tvals:
    dd 6
    dq 0xc000000000000000
    dw 0x3fff                   ; 1.5
    dq 0x8000000000000000
    dw 0x3bcd                   ; 2^-1074, a double denormal
    dq 0xfffffffffffff800
    dw 0x43fe                   ; DBL_MAX
    dq 0xc000000000000800
    dw 0xffff                   ; negative QNaN, payload in the top 52 bits
    dq 0x8000000000000000
    dw 0x7fff                   ; +inf
    dq 0xa000000000000000
    dw 0x7fff                   ; SNaN (FLD m80 keeps it; FSTP m64: IE, quieted)

; (a, b) pairs for the arithmetic and compare tests
pairs:
    dd 24
    dq 1.0, 3.0
    dq 2.0, 3.0
    dq -1.0, 3.0
    dq 0.1, 0.2
    dq 1.0e300, 1.0e10          ; a*b overflows double (QEMU: at the m64 store)
    dq 1.0e-300, 1.0e300        ; a/b underflows to zero
    dq 0x0178000000000000, 0x3c34000000000000 ; a*b: an exact double denormal
    dq 0x0170000000000001, 0x3b90000000000000 ; a*b: inexact denormal (UE PE)
    dq 0x7ff0000000000000, 1.0
    dq 0x7ff0000000000000, 0x7ff0000000000000
    dq 0x7ff0000000000000, 0xfff0000000000000
    dq 0.0, 0.0
    dq 0x8000000000000000, 0.0
    dq 1.0, 0.0
    dq 0x7ff8000000000abc, 1.0
    dq 1.0, 0xfff8000000000123
    dq 0x7ff8000000000abc, 0x7ff8000000000123
    dq 3.0, 7.0
    dq 1.0000000000000002, 0.9999999999999999
    dq -5.5, 2.25
    dq 1.0e308, 1.0e308
    dq 123456789.0, 1.0e-9
    dq 2.5, -2.5
    dq 0x8000000000000000, 0x8000000000000000

m32_3:  dd 3.0
i32_m7: dd -7
i16_5:  dw 5
align 8
three:  dq 3.0
two:    dq 2.0
quarter: dq 0.25
tiny30: dq 0x1p-30
big64:  dq 0x1p64
snanq:  dq 0x7ff4000000000000
denq:   dq 0x0000000000000001

; exact operations at 64-bit precision: a+b, a*b, a/b all exact doubles
exact:
    dd 5
    dq 1.0, 3.0
    dq 0.75, 0.5
    dq 1024.0, -0.125
    dq 0x1.fffffp+10, 0x1p-3
    dq 6.0, 3.0

; FSCALE: (x, scale)
scales:
    dd 9
    dq 1.5, 3.0
    dq 1.5, -2.5
    dq -3.0, 0.99
    dq 1.0, 1100.0              ; overflows double: OE at the store in QEMU
    dq 1.0, -1080.0             ; underflows double
    dq 0.0, 5.0
    dq 0x7ff0000000000000, -3.0
    dq 3.0, 0xfff0000000000000  ; scale -inf: +0
    dq 0x0000000000000010, 64.0 ; a double denormal scaled up

; FPREM/FPREM1: (dividend, divisor)
prems:
    dd 8
    dq 7.5, 2.0
    dq -7.5, 2.0
    dq 7.0, 2.0
    dq 5.0, -2.0
    dq 0x1p80, 3.0              ; expdiff >= 64: partial remainders
    dq 1.0e300, 7.0
    dq 1.0, 3.0
    dq 0.0, 3.0

; FIST / FISTTP / FRNDINT
ivals:
    dd 22
    dq 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1.4999999999999998
    dq 32767.5, -32768.5, 32768.0, 2147483647.5, -2147483648.5, 2147483648.0
    dq 9.2e18, 9.3e18, -9223372036854775808.0, 1.0e300
    dq 0x7ff0000000000000, 0x7ff8000000000000, 0x8000000000000000
    dq 0x0000000000000001, -0.75
ild16:  dw -32768, 12345
ild32:  dd -2147483648, 2147483647
align 8
ild64:  dq -9223372036854775808, 0x7ffffffffffffc00, -123456789012345, 0, 1

; packed BCD: 10-byte images
bcds:
    db 0x45, 0x23, 0x01, 0x21, 0x43, 0x65, 0x87, 0x09, 0x00, 0x00  ; 987654321012345
    db 0x45, 0x23, 0x01, 0, 0, 0, 0, 0, 0, 0x80                    ; -12345
    db 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80                             ; -0
    db 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x00, 0, 0        ; 99999999999999
align 8
bvals:
    dd 7
    dq 12345.5, -987654321.25, 1.0e17, -0.0, 1.0e18, 0.5, 0x7ff8000000000000

; transcendental arguments (FSIN FCOS FPTAN FSINCOS)
targs:
    dd 8
    dq 0.0, 0.5, 1.0, -1.0, 3.0, 100.0, 0x8000000000000000, 1.0e-10
; (x, y): F2XM1(x), FPATAN(ST1 = y, ST0 = x), FYL2X(|x|, y), FYL2XP1(x/4, y)
xargs:
    dd 8
    dq 0.0, 1.0
    dq 1.0, 1.0
    dq -1.0, 1.0
    dq 0.5, 2.0
    dq -0.5, 3.0
    dq 1.0, 0.0
    dq 0.75, -1.5
    dq 0.125, 1.5

section .bss
alignb 16
fq:     resq 1
ft:     resb 16
fd:     resd 1
fsw:    resd 1
fsw16:  resd 1
swmask: resd 1
cwv:    resd 1
opa:    resq 1
opb:    resq 1
fi16:   resd 1
fi32:   resd 1
fi64:   resq 1
fround: resd 1
br_name: resd 1
br_stub: resd 1
br_raw: resd 1
env:    resb 32
env2:   resb 32
save:   resb 112
save2:  resb 112

section .text
