; gdbregs.asm -- the general, x87 and SSE registers with values in them at the label stop_here, for
; tests/gdb.test.ts: GDB reads them through QEMU's gdbstub and through ours and must print the same.
; Eight x87 loads leave TOP = 0, where ST(i) is physical register i: QEMU 7.2's stub sends the
; physical registers as GDB's st0-st7, which GDB means as ST(0)-ST(7). Every value is a binary64 one
; and no operation rounds (the core's x87 keeps binary64 values: README, "x87 FPU").
%include "lib.inc"
cpu prescott

main:
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)    ; OSFXSR, OSXMMEXCPT
    mov cr4, eax
    fninit
    fld1
    fld qword [values]              ; 2.5
    fadd st0, st1                   ; 3.5
    fldz
    fld1
    fld qword [values + 8]          ; -0.75
    fild dword [seven]
    fld qword [values + 16]         ; 1e300
    fld qword [values + 24]         ; 0.1
    movaps xmm1, [vectors]
    movaps xmm2, [vectors + 16]
    addps xmm2, xmm1
    ldmxcsr [mx]
    mov eax, 0x12345678
    mov ebx, 0xcafe
    mov esi, -3
stop_here:
    nop
    fstp qword [out]
    fstp qword [out + 8]
    movups [out + 16], xmm2
    PRINT 'gdbregs '
    PHEX32 [out + 4]
    SPC
    PHEX32 [out + 12]
    SPC
    PHEX32 [out + 16]
    NL
    ret

section .rodata
align 16
vectors: dd 1.0, 2.0, 3.0, 4.0, 0.5, 0.25, -1.0, 1.0e10
values:  dq 2.5, -0.75, 1.0e300, 0.1
seven:   dd 7
mx:      dd 0x3f80                  ; every exception masked, rounding down

section .bss
alignb 16
out:  resb 32
