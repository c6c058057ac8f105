; fxsr.asm -- FXSAVE/FXRSTOR (CPUID.1:EDX[24]) and CR4.OSFXSR, compared with QEMU.
;
; Printed from each FXSAVE image: FCW, FSW, the abridged tag byte and the byte
; after it, and the eight 80-bit register images. Not printed, because QEMU 7.2
; departs from the SDM there (tests/unit/fxsr.test.ts checks them): FOP, FIP,
; FCS, FDP, FDS (QEMU stores zeros; a P6 stores the last x87 instruction's),
; MXCSR and its mask and the XMM area (tests/kernels/sse.asm prints them), the
; reserved bytes after each register image (QEMU leaves them alone), and the
; exponent bits of registers MMX instructions wrote (QEMU leaves them alone;
; the SDM sets them to ones).

%include "lib.inc"

; SHOWFX -- print the FXSAVE image at fxbuf: "cw sw tags:reserved | ST0 … ST7"
%macro SHOWFX 1
    PRINT %1
    call show_fx
%endmacro

main:
    mov eax, 1
    cpuid
    shr edx, 24
    and edx, 1
    SHOWV 'cpuid.fxsr', edx
    ; CR4.OSFXSR can be set and reads back
    mov eax, cr4
    or eax, 1 << 9
    mov cr4, eax
    mov eax, cr4
    shr eax, 9
    and eax, 1
    SHOWV 'cr4.osfxsr', eax
    NL

    ; ---- x87 state: three values, TOP = 5, a control word with PC/RC set
    fninit
    fldcw [cw_a]
    fld1
    fld qword [pi64]
    fld qword [negval]
    fxsave [fxbuf]
    SHOWFX 'x87'
    ; FXSAVE leaves the state as it was (FNSAVE would reinitialise it)
    fnstsw ax
    SHOWV 'sw-after', eax
    fstp qword [res]
    SHOWV 'st0', [res + 4]
    fnstcw [res]
    movzx eax, word [res]
    SHOWV 'cw-after', eax
    NL
    fninit

    ; ---- MMX registers: TOP = 0, every register in use; significands as written
    movq mm0, [vals]
    movq mm3, [vals + 8]
    movq mm7, [vals + 16]
    fxsave [fxbuf]
    PRINT 'mmx'
    call show_head
    mov esi, 0
.mm:
    SPC
    PHEX32 [fxbuf + 32 + esi + 4]
    PHEX32 [fxbuf + 32 + esi]
    add esi, 16
    cmp esi, 128
    jb .mm
    NL
    emms

    ; ---- FXRSTOR: every field from memory, then the x87 reads it back
    mov edi, fxbuf
    mov ecx, 512 / 4
    xor eax, eax
    rep stosd
    mov word [fxbuf], 0x0a7f      ; FCW: RC up, PC 53 bits, all masked
    mov word [fxbuf + 2], 0x4300 | (3 << 11) ; FSW: C3 C1 C0, TOP 3
    mov byte [fxbuf + 4], 0x39    ; abridged tags: physical registers 0, 3, 4, 5 in use
    mov esi, images
    mov edi, fxbuf + 32
    mov ecx, 8
.cp:
    movsd
    movsd
    movsw
    add edi, 6
    loop .cp
    fxrstor [fxbuf]
    fnstenv [env]
    SHOWV 'env.cw', [env]
    SHOWV 'env.sw', [env + 4]
    SHOWV 'env.tw', [env + 8]
    NL
    ; every image back, bit for bit
    mov edi, fxbuf2
    mov ecx, 512 / 4
    xor eax, eax
    rep stosd
    fxsave [fxbuf2]
    PRINT 'restored'
    mov esi, fxbuf2
    call show_fx_at
    ; ST(0) = physical 3 = 2.5, ST(1) = 4 = -0.75, ST(2) = 5 = 2.0: arithmetic on them
    fld st0
    fadd st0, st2
    fstp qword [res]
    SHOWV 'sum', [res + 4]
    SHOWV 'lo', [res]
    fmul st0, st1
    fstp qword [res]
    SHOWV 'prod', [res + 4]
    SHOWV 'lo', [res]
    NL
    ; FNSAVE of the restored state: the same images in the older layout
    fnsave [fsbuf]
    PRINT 'fnsave'
    mov esi, 0
.fs:
    SPC
    PHEX16 [fsbuf + 28 + esi + 8]
    PHEX32 [fsbuf + 28 + esi + 4]
    PHEX32 [fsbuf + 28 + esi]
    add esi, 10
    cmp esi, 80
    jb .fs
    NL

    ; ---- FXSAVE/FXRSTOR round trip of a state left by real arithmetic
    fninit
    fldcw [cw53]
    fld qword [negval]
    fld1
    fdiv st0, st1
    fld1
    fchs
    fxsave [fxbuf]
    fninit
    fldz
    fldz
    fxrstor [fxbuf]
    fxsave [fxbuf2]
    PRINT 'roundtrip'
    mov esi, fxbuf2
    call show_fx_at
    fninit

    ; ---- faults: a misaligned operand is #GP(0) (AC is not involved), CR0.TS or CR0.EM #NM
    EXPECT .a1
    fxsave [fxbuf + 8]
.a1:
    EXPECT .a2
    fxrstor [fxbuf + 4]
.a2:
    mov eax, cr0
    or eax, 8
    mov cr0, eax
    EXPECT .t1
    fxsave [fxbuf]
.t1:
    EXPECT .t2
    fxrstor [fxbuf]
.t2:
    mov eax, cr0
    and eax, ~8
    or eax, 4
    mov cr0, eax
    EXPECT .e1
    fxsave [fxbuf]
.e1:
    mov eax, cr0
    and eax, ~4
    mov cr0, eax
    ; CR4.OSFXSR cleared again
    mov eax, cr4
    and eax, ~(1 << 9)
    mov cr4, eax
    mov eax, cr4
    SHOWV 'cr4', eax
    NL
    ret

; FCW FSW tags:reserved, then the register images of the FXSAVE image at fxbuf
show_fx:
    mov esi, fxbuf
show_fx_at:
    call show_head_at
    push esi
    add esi, 32
    mov ecx, 8
.r:
    SPC
    PHEX16 [esi + 8]
    PHEX32 [esi + 4]
    PHEX32 [esi]
    add esi, 16
    loop .r
    pop esi
    NL
    ret

show_head:
    mov esi, fxbuf
show_head_at:
    SPC
    PHEX16 [esi]
    SPC
    PHEX16 [esi + 2]
    SPC
    PHEX16 [esi + 4]
    ret

section .rodata
align 8
cw_a:        dw 0x0e7f            ; RC = chop, PC = 53 bits
cw53:        dw 0x027f            ; PC = 53 bits (so QEMU's 80-bit arithmetic rounds as ours)
pi64:        dq 3.14159265358979311600
negval:      dq -1234.5678
vals:        dq 0x0123456789abcdef, 0xfedcba9876543210, 0x8000000000000000
; FXRSTOR's registers, ST0-ST7 with TOP = 3 (physical 3-7, 0-2); in use: 3, 4, 5, 0
images:
    dq 0xa000000000000000
    dw 0x4000                     ; ST0 (physical 3): 2.5
    dq 0xc000000000000000
    dw 0xbffe                     ; ST1 (4): -0.75
    dq 0x8000000000000000
    dw 0x4000                     ; ST2 (5): 2.0
    dq 0x123456789abcdef0
    dw 0x7fff                     ; ST3 (6, empty): a pseudo-NaN
    dq 0xfedcba9876543210
    dw 0xffff                     ; ST4 (7, empty): an MMX value
    dq 0x8000000000000001
    dw 0x3fff                     ; ST5 (0): 1 + 2^-63, no double
    dq 0x0000000000000001
    dw 0x0000                     ; ST6 (1, empty): a denormal
    dq 0x8000000000000000
    dw 0x43ff                     ; ST7 (2, empty): beyond a double's range

section .bss
alignb 16
fxbuf:  resb 512
fxbuf2: resb 512
fsbuf:  resb 108
env:    resd 7
res:    resq 1
