; mmx.asm -- MMX: every instruction of the Pentium II's set over a table of
; 64-bit operands, register and memory forms, and the MMX registers' aliasing
; of the x87 registers, compared with QEMU.
;
; Where QEMU departs from the SDM the value is not printed here (unit tests
; check it against the SDM, tests/unit/mmx.test.ts): an MMX write leaves the
; register's exponent bits as they were in QEMU (all ones in the SDM), so the
; tag word after MMX code is printed as empty/not empty only and saved images
; as their significands; QEMU raises no #MF for a pending x87 exception before
; an MMX instruction, no #NM for EMMS with CR0.TS set, and runs 66-prefixed
; forms as SSE2.

%include "lib.inc"
%include "mmx.inc"

NV equ 16                       ; operand table entries

; BINOP 'name', insn -- insn mm0, mm1 and insn mm2, [m64] over every pair of
; the table; hashes the results, prints three of them
%macro BINOP 2
    HBEGIN
    MMXPAIRS %2, vals, NV, vals, NV
    PRINT %1
    SPC
    PHEX32 [hash]
    mov esi, 5
%%raw:
    movq mm3, [vals + esi*8]
    %2 mm3, [vals + esi*8 + 8]
    movq [res], mm3
    SPC
    PHEX32 [res + 4]
    PHEX32 [res]
    inc esi
    cmp esi, 8
    jb %%raw
    NL
%endmacro

; SHIFTOP 'name', insn -- insn mm0, mm1 / insn mm2, [m64] for every value × count
%macro SHIFTOP 2
    HBEGIN
    MMXPAIRS %2, vals, NV, counts, NC
    HEND %1
%endmacro

; SHIFTIMM 'name', insn -- insn mm5, imm8 for every value × the immediates below
%macro SHIFTIMM 2
    HBEGIN
    xor esi, esi
%%a:
    SHIFTI %2, 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 255
    inc esi
    cmp esi, NV
    jb %%a
    HEND %1
%endmacro
%macro SHIFTI 2-*
%define %%insn %1
%rep %0 - 1
%rotate 1
    movq mm5, [vals + esi*8]
    %%insn mm5, %1
    movq [res], mm5
    HASHV [res]
    HASHV [res + 4]
%endrep
%endmacro

main:
    ; CPUID.1:EDX[23] (MMX)
    mov eax, 1
    cpuid
    shr edx, 23
    and edx, 1
    SHOWV 'cpuid.mmx', edx
    NL

    fninit
    ; ---- data movement
    HBEGIN
    xor esi, esi
.mov:
    mov eax, [vals + esi*8 + 4]
    movd mm0, eax               ; MOVD mm, r32 (zero-extends)
    movq [res], mm0
    HASHV [res]
    HASHV [res + 4]
    movd mm1, [vals + esi*8]    ; MOVD mm, m32
    movd ebx, mm1               ; MOVD r32, mm
    HASHV ebx
    movq mm2, [vals + esi*8]
    movd [res], mm2             ; MOVD m32, mm (the high dword of res untouched)
    mov dword [res + 4], 0x11223344
    movd [res], mm2
    HASHV [res]
    HASHV [res + 4]
    movq mm3, mm2               ; MOVQ mm, mm (0F 6F, mod 3)
    db 0x0f, 0x7f, 0xdc         ; MOVQ mm4, mm3 (0F 7F, mod 3)
    movq [res], mm4             ; MOVQ m64, mm
    HASHV [res]
    HASHV [res + 4]
    inc esi
    cmp esi, NV
    jb .mov
    HEND 'movd/movq'

    ; ---- arithmetic, comparison, logic, pack/unpack
    BINOP 'paddb', paddb
    BINOP 'paddw', paddw
    BINOP 'paddd', paddd
    BINOP 'paddsb', paddsb
    BINOP 'paddsw', paddsw
    BINOP 'paddusb', paddusb
    BINOP 'paddusw', paddusw
    BINOP 'psubb', psubb
    BINOP 'psubw', psubw
    BINOP 'psubd', psubd
    BINOP 'psubsb', psubsb
    BINOP 'psubsw', psubsw
    BINOP 'psubusb', psubusb
    BINOP 'psubusw', psubusw
    BINOP 'pmullw', pmullw
    BINOP 'pmulhw', pmulhw
    BINOP 'pmaddwd', pmaddwd
    BINOP 'pcmpeqb', pcmpeqb
    BINOP 'pcmpeqw', pcmpeqw
    BINOP 'pcmpeqd', pcmpeqd
    BINOP 'pcmpgtb', pcmpgtb
    BINOP 'pcmpgtw', pcmpgtw
    BINOP 'pcmpgtd', pcmpgtd
    BINOP 'pand', pand
    BINOP 'pandn', pandn
    BINOP 'por', por
    BINOP 'pxor', pxor
    BINOP 'packsswb', packsswb
    BINOP 'packssdw', packssdw
    BINOP 'packuswb', packuswb
    BINOP 'punpcklbw', punpcklbw
    BINOP 'punpcklwd', punpcklwd
    BINOP 'punpckldq', punpckldq
    BINOP 'punpckhbw', punpckhbw
    BINOP 'punpckhwd', punpckhwd
    BINOP 'punpckhdq', punpckhdq

    ; ---- shifts
    SHIFTOP 'psllw', psllw
    SHIFTOP 'pslld', pslld
    SHIFTOP 'psllq', psllq
    SHIFTOP 'psrlw', psrlw
    SHIFTOP 'psrld', psrld
    SHIFTOP 'psrlq', psrlq
    SHIFTOP 'psraw', psraw
    SHIFTOP 'psrad', psrad
    SHIFTIMM 'psllw-i', psllw
    SHIFTIMM 'pslld-i', pslld
    SHIFTIMM 'psllq-i', psllq
    SHIFTIMM 'psrlw-i', psrlw
    SHIFTIMM 'psrld-i', psrld
    SHIFTIMM 'psrlq-i', psrlq
    SHIFTIMM 'psraw-i', psraw
    SHIFTIMM 'psrad-i', psrad

    ; ---- the x87 state: TOP = 0 and every register in use after an MMX
    ; instruction; EMMS empties them and leaves TOP
    fninit
    fld1
    fld1
    fnstsw ax
    call print_top
    movq mm0, mm1
    fnstsw ax
    call print_top
    call print_empties
    emms
    fnstsw ax
    call print_top
    call print_empties
    fld1                        ; TOP 7 after EMMS
    movd eax, mm0               ; a read is an MMX instruction too
    fnstsw ax
    call print_top
    call print_empties
    emms
    NL

    ; ---- MMi is the significand of physical register i: x87 loads read as MMX
    fninit
    fld qword [one]             ; physical register 7
    fld qword [pi]              ; 6
    fld qword [negtiny]         ; 5 (a double denormal: an 80-bit normal)
    fldz                        ; 4
    PRINT 'x87->mmx'
    movq [res], mm7
    call print_res
    movq [res], mm6
    call print_res
    movq [res], mm5
    call print_res
    movq [res], mm4
    call print_res
    NL
    emms

    ; ---- MMX values saved by FNSAVE and restored by FRSTOR (a context switch)
    fninit
    xor esi, esi
.fill:
    movq mm0, [vals + esi*8 + 8]
    movq mm1, [vals + esi*8 + 16]
    movq mm2, [vals + esi*8 + 24]
    movq mm3, [vals + esi*8 + 32]
    movq mm4, [vals + esi*8 + 40]
    movq mm5, [vals + esi*8 + 48]
    movq mm6, [vals + esi*8 + 56]
    movq mm7, [vals + esi*8 + 64]
    fnsave [img]
    PRINT 'fnsave'
    call print_significands
    ; clobber every register through the x87, then restore
    fninit
    fldz
    fld1
    fldpi
    fldl2e
    fldl2t
    fldlg2
    fldln2
    fld1
    frstor [img]
    PRINT 'frstor'
    movq [res], mm0
    call print_res
    movq [res], mm3
    call print_res
    movq [res], mm7
    call print_res
    NL
    add esi, 4
    cmp esi, 8
    jb .fill
    emms

    ; ---- 80-bit images that are no double, through FRSTOR into MMX and back out by FNSAVE
    fninit
    fnsave [img]
    mov esi, 0
.img:
    mov eax, [images + esi*4]
    mov [img + 28 + esi*4], eax
    inc esi
    cmp esi, 20
    jb .img
    frstor [img]
    PRINT 'images->mmx'
    movq [res], mm0
    call print_res
    movq [res], mm1
    call print_res
    movq [res], mm2
    call print_res
    movq [res], mm3
    call print_res
    NL
    PRINT 'images->mmx'
    movq [res], mm4
    call print_res
    movq [res], mm5
    call print_res
    movq [res], mm6
    call print_res
    movq [res], mm7
    call print_res
    NL
    ; MMX reads changed no register: FNSAVE gives back the images exactly
    fnsave [img2]
    PRINT 'images-fnsave'
    xor esi, esi
.cmp:
    SPC
    PHEX16 [img2 + 28 + esi*2 + 8]
    PHEX32 [img2 + 28 + esi*2 + 4]
    PHEX32 [img2 + 28 + esi*2]
    add esi, 5
    cmp esi, 40
    jb .cmp
    NL
    emms

    ; ---- #UD with CR0.EM, #NM with CR0.TS (before any operand is read)
    mov eax, cr0
    or eax, 4
    mov cr0, eax
    EXPECT .ud_done
    paddb mm0, [0xfffffff0]
.ud_done:
    mov eax, cr0
    and eax, ~4
    or eax, 8
    mov cr0, eax
    EXPECT .nm_done
    movq mm1, [0xfffffff0]
.nm_done:
    clts
    ; group 12-14 encodings that are not MMX shifts: #UD
    EXPECT .g1
    db 0x0f, 0x71, 0xc1, 0x01   ; 0F 71 /0
.g1:
    EXPECT .g2
    db 0x0f, 0x73, 0xe1, 0x01   ; 0F 73 /4 (there is no PSRAQ)
.g2:
    EXPECT .g3
    db 0x0f, 0x72, 0xf9, 0x01   ; 0F 72 /7
.g3:
    ret

print_top:
    PRINT 'top='
    shr eax, 11
    and eax, 7
    PHEX8 eax
    SPC
    ret

; the tag word as "not empty" bits, physical register 7 first
print_empties:
    fnstenv [env]
    fldenv [env]
    mov eax, [env + 8]
    PRINT 'used='
    mov ecx, 8
.bit:
    mov ebx, eax
    shr ebx, 14
    and ebx, 3
    cmp ebx, 3
    mov bl, '1'
    jne .put
    mov bl, '0'
.put:
    push eax
    mov al, bl
    call putc
    pop eax
    shl eax, 2
    loop .bit
    SPC
    ret

print_res:
    SPC
    PHEX32 [res + 4]
    PHEX32 [res]
    ret

; the significands of the eight register images FNSAVE stored at img
print_significands:
    push esi
    xor esi, esi
.s:
    SPC
    PHEX32 [img + 28 + esi*2 + 4]
    PHEX32 [img + 28 + esi*2]
    add esi, 5
    cmp esi, 40
    jb .s
    NL
    pop esi
    ret

section .rodata
align 8
vals:
    MMX_VALUES
    dq 0x0123456789abcdef, 0x8765432112345678, 0xffff0000ffff0000, 0x00000000ffffffff
    dq 0xc0c0c0c03f3f3f3f, 0x4000c000a0005000, 0x0000000100000002, 0xff00ff00ff00ff00
counts:
    dq 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0x100000000, -1
NC equ ($ - counts) / 8
one:     dq 1.0
pi:      dq 3.14159265358979311600
negtiny: dq 0x800fedcba9876543   ; a negative double denormal
; eight 80-bit images (significand, sign/exponent): none of them a double
images:
    dq 0x8000000000000001
    dw 0x3fff                   ; 1 + 2^-63
    dq 0xfedcba9876543210
    dw 0xffff                   ; an MMX value (NaN)
    dq 0x123456789abcdef0
    dw 0x7fff                   ; a pseudo-NaN (integer bit clear)
    dq 0x0000000000000001
    dw 0x0000                   ; an 80-bit denormal
    dq 0xc000000000000abc
    dw 0x43ff                   ; beyond a double's range
    dq 0x7fffffffffffffff
    dw 0x1234                   ; an unnormal
    dq 0xffffffffffffffff
    dw 0xbffe                   ; -(1 - 2^-64)
    dq 0x8000000000000000
    dw 0x0001                   ; the smallest 80-bit normal

section .bss
alignb 8
res:  resq 1
env:  resd 8
img:  resb 108
img2: resb 108
