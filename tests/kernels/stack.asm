; stack.asm -- PUSH/POP (registers, immediates, memory, ESP-relative corner
; cases, segment registers), PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE (levels 0, 1,
; 2, 5, 33), CALL/RET near (rel32, register, memory, RET imm16), 16-bit operand
; size forms (66h: PUSH/POP/PUSHA/POPA/PUSHF/POPF/ENTER/LEAVE and, in a code
; segment based at the image base so that IP fits in 16 bits, CALL/RET/JMP
; rel16 and far CALL/RETF ptr16:16), LOOP/LOOPE/LOOPNE/JCXZ/JECXZ (also with
; 67h: CX; three rounds, so that the hot ones also run compiled), Jcc (all 16 conditions, short and near, over all 32 combinations of
; CF PF ZF SF OF), far CALL/JMP/RET (direct, indirect, RETF imm16) at ring 0.
;
; The pushes and pops run on a scratch stack whose dwords are pre-filled with
; 0xA5000000 + (offset in the scratch area); dumps show offsets relative to
; TSTOP (the initial ESP).
;
; Undefined results masked (Intel SDM vol. 2):
;   PUSH of a segment register with 32-bit operand size: "either a
;   zero-extended value is pushed on the stack or the segment selector is
;   written on the stack using a 16-bit move" -> only the low 16 bits of the
;   slot are printed (ESP change of 4 is defined).  The CS pushed by a 32-bit
;   far CALL is treated the same way.
; EFLAGS after POPF: IF and TF are never set (no interrupts, no single step).

%include "lib.inc"

SEL_CODE_B equ 0x38             ; code, base = image base (0x100000), 32-bit
IMAGE_BASE equ 0x100000
TSTOP equ tstack + 768
FRAME equ TSTOP + 128

%define BOFF(x) ((x) - image_base)    ; offset in the segment based at 1 MiB

; TSBEGIN / TSEND: run on the scratch stack
%macro TSBEGIN 0
    call tstack_fill
    mov [real_esp], esp
    mov esp, TSTOP
%endmacro
%macro TSEND 0
    mov [t_esp], esp
    mov esp, [real_esp]
%endmacro

%macro SHOW16 2
    PRINT %1
    PRINT '='
    PHEX16 %2
    SPC
%endmacro

; JCCTEST cc -- bit i = jump taken for flag combination i (short form, near form)
%macro JCCTEST 1
    xor edi, edi
    xor esi, esi
    mov ecx, 31
%%loop:
    mov eax, 0
    push dword [cc_flags + ecx * 4]
    popfd
    j%1 short %%t1
    jmp short %%n1
%%t1:
    mov eax, 1
%%n1:
    shl edi, 1
    or edi, eax
    mov eax, 0
    push dword [cc_flags + ecx * 4]
    popfd
    j%1 near %%t2
    jmp near %%n2
%%t2:
    mov eax, 1
%%n2:
    shl esi, 1
    or esi, eax
    dec ecx
    jns %%loop
    %defstr _JS %1
    PRINT 'j'
    PRINT _JS
    SPC
    PHEX32 edi
    SPC
    PHEX32 esi
    NL
%endmacro

main:
    GDTSET SEL_CODE_B, IMAGE_BASE, 0xfffff, 0x9b, 0xc0

    ; ================================================================ PUSH
    PRINTLN '-- push r32, r16, imm8, imm32, imm16, o16 imm8'
    TSBEGIN
    mov eax, 0x11111111
    push eax
    push ax                             ; 66 50
    push byte -2                        ; 6A
    push dword 0x12345678               ; 68
    push word 0x9abc                    ; 66 68
    db 0x66, 0x6a, 0xfd                 ; o16 push byte -3
    TSEND
    call tsdump

    PRINTLN '-- push m32, m16, esp, [esp], [esp+4]'
    TSBEGIN
    push dword [memval]
    push word [memval]
    push esp
    push dword [esp]
    push dword [esp + 4]
    TSEND
    call tsdump

    PRINTLN '-- pop r32, m32, m16, r16, [esp]'
    TSBEGIN
    push dword 0xaaaa0001
    push dword 0xbbbb0002
    push dword 0xcccc0003
    push dword 0xdddd0004
    mov ecx, 0x77777777
    pop eax
    pop dword [memdst]
    pop word [memdst + 4]               ; 66 8F /0
    pop cx                              ; 66 59
    pop dword [esp]                     ; address computed after the increment
    TSEND
    SHOWV 'eax', eax
    SHOWV 'm32', [memdst]
    SHOW16 'm16', [memdst + 4]
    SHOWV 'ecx', ecx
    NL
    call tsdump

    PRINTLN '-- pop [esp+4]'
    TSBEGIN
    push dword 0x0000000c
    push dword 0x0000000b
    push dword 0x0000000a
    pop dword [esp + 4]                 ; pops 0a, esp+=4, stores to old [esp+8]
    TSEND
    call tsdump

    PRINTLN '-- pop esp'
    TSBEGIN
    push dword TSTOP - 0x40
    pop esp
    TSEND
    call tsdump

    PRINTLN '-- push sreg (32-bit: low 16 bits only), o16 push ds'
    TSBEGIN
    push cs
    push ds
    push es
    push ss
    push fs
    push gs
    o16 push ds
    TSEND
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    SHOW16 'cs', [TSTOP - 4]
    SHOW16 'ds', [TSTOP - 8]
    SHOW16 'es', [TSTOP - 12]
    SHOW16 'ss', [TSTOP - 16]
    SHOW16 'fs', [TSTOP - 20]
    SHOW16 'gs', [TSTOP - 24]
    SHOW16 'o16ds', [TSTOP - 26]
    NL

    PRINTLN '-- pop sreg'
    TSBEGIN
    push dword 0x23
    pop es
    push dword 0x10
    pop ds
    push word 0x23
    o16 pop fs                          ; 66 0F A1
    push dword 0x20
    pop gs
    push dword SEL_DATA0
    pop ss
    TSEND
    mov ax, es
    SHOW16 'es', eax
    mov ax, ds
    SHOW16 'ds', eax
    mov ax, fs
    SHOW16 'fs', eax
    mov ax, gs
    SHOW16 'gs', eax
    mov ax, ss
    SHOW16 'ss', eax
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    NL
    mov ax, SEL_DATA0
    mov es, ax
    mov fs, ax
    mov gs, ax

    ; ================================================================ PUSHA / POPA
    PRINTLN '-- pushad'
    TSBEGIN
    mov eax, 0xa0a0a0a0
    mov ecx, 0xc1c1c1c1
    mov edx, 0xd2d2d2d2
    mov ebx, 0xb3b3b3b3
    mov ebp, 0xb5b5b5b5
    mov esi, 0x56565656
    mov edi, 0xd7d7d7d7
    pushad
    TSEND
    call tsdump
    PRINTLN '-- popad (ESP slot ignored)'
    TSBEGIN
    push dword 0x000000a0               ; eax
    push dword 0x000000c1               ; ecx
    push dword 0x000000d2               ; edx
    push dword 0x000000b3               ; ebx
    push dword 0xdeadbeef               ; esp: skipped
    push dword 0x000000b5               ; ebp
    push dword 0x00000056               ; esi
    push dword 0x000000d7               ; edi
    popad
    TSEND
    mov [sv_regs], eax
    mov [sv_regs + 4], ecx
    mov [sv_regs + 8], edx
    mov [sv_regs + 12], ebx
    mov [sv_regs + 16], ebp
    mov [sv_regs + 20], esi
    mov [sv_regs + 24], edi
    call show_regs
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    NL

    PRINTLN '-- pushaw (66h)'
    TSBEGIN
    mov eax, 0xa0a0a0a0
    mov ecx, 0xc1c1c1c1
    mov edx, 0xd2d2d2d2
    mov ebx, 0xb3b3b3b3
    mov ebp, 0xb5b5b5b5
    mov esi, 0x56565656
    mov edi, 0xd7d7d7d7
    pushaw
    TSEND
    call tsdump
    PRINTLN '-- popaw (66h): upper halves kept, SP slot ignored'
    TSBEGIN
    push word 0x11a0                    ; ax
    push word 0x11c1                    ; cx
    push word 0x11d2                    ; dx
    push word 0x11b3                    ; bx
    push word 0xbeef                    ; sp: skipped
    push word 0x11b5                    ; bp
    push word 0x1156                    ; si
    push word 0x11d7                    ; di
    mov eax, 0xffffffff
    mov ecx, 0xffffffff
    mov edx, 0xffffffff
    mov ebx, 0xffffffff
    mov ebp, 0xffffffff
    mov esi, 0xffffffff
    mov edi, 0xffffffff
    popaw
    TSEND
    mov [sv_regs], eax
    mov [sv_regs + 4], ecx
    mov [sv_regs + 8], edx
    mov [sv_regs + 12], ebx
    mov [sv_regs + 16], ebp
    mov [sv_regs + 20], esi
    mov [sv_regs + 24], edi
    call show_regs
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    NL

    ; ================================================================ PUSHF / POPF
    PRINTLN '-- pushfd / popfd'
    push dword 0x8d7
    popfd
    pushfd
    pop eax
    SHOWV 'popfd(8d7)', eax
    push dword 0xfffffcff               ; everything but IF and TF
    popfd
    pushfd
    pop eax
    push dword 2
    popfd
    SHOWV 'popfd(fffffcff)', eax
    push dword 0x00000000
    popfd
    pushfd
    pop eax
    SHOWV 'popfd(0)', eax
    NL
    PRINTLN '-- pushfw / popfw'
    push dword 0x00240002               ; AC and ID set: popfw must keep them
    popfd
    push word 0x7cd5
    popfw                               ; 66 9D
    pushfd
    pop eax
    push dword 2
    popfd
    SHOWV 'popfw(7cd5)', eax
    TSBEGIN
    push dword 0x8d7
    popfd
    pushfw
    push dword 2
    popfd
    TSEND
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'pushfw esp', eax
    SHOW16 'value', [TSTOP - 2]
    NL

    ; ================================================================ ENTER / LEAVE
    %macro ENTERTEST 3  ; 'name', size, level
    PRINTLN %1
    TSBEGIN
    mov ebp, FRAME
    enter %2, %3
    mov [t_ebp], ebp
    TSEND
    call tsdump_enter
    TSBEGIN
    mov ebp, FRAME
    enter %2, %3
    leave
    mov [t_ebp], ebp
    TSEND
    PRINT 'after leave:'
    call tsdump_espebp
    %endmacro
    ENTERTEST '-- enter 16, 0', 16, 0
    ENTERTEST '-- enter 8, 1', 8, 1
    ENTERTEST '-- enter 12, 2', 12, 2
    ENTERTEST '-- enter 4, 5', 4, 5
    ENTERTEST '-- enter 0, 33 (level mod 32 = 1)', 0, 33
    ENTERTEST '-- enter 0x1234, 3', 0x1234, 3
    PRINTLN '-- o16 enter 8, 2; o16 leave'
    TSBEGIN
    mov ebp, FRAME
    db 0x66, 0xc8, 0x08, 0x00, 0x02     ; o16 enter 8, 2
    mov [t_ebp], ebp
    TSEND
    call tsdump_enter
    TSBEGIN
    mov ebp, TSTOP - 8
    db 0x66, 0xc9                       ; o16 leave: esp = ebp, pop bp
    mov [t_ebp], ebp
    TSEND
    PRINT 'o16 leave:'
    call tsdump_espebp

    ; ================================================================ CALL / RET near
    PRINTLN '-- call/ret near'
    call .callee
.ret1:
    SHOWV 'call rel32 pushed', [sv_a]
    SHOWV 'expected', .ret1
    NL
    mov ebx, .callee
    call ebx
.ret2:
    SHOWV 'call r32 pushed', [sv_a]
    SHOWV 'expected', .ret2
    NL
    call [callee_ptr]
.ret3:
    SHOWV 'call m32 pushed', [sv_a]
    SHOWV 'expected', .ret3
    NL
    TSBEGIN
    push dword 1
    push dword 2
    push dword 3
    call .callee_ret8
    TSEND
    call tsdump
    TSBEGIN
    call .callee_ret0                   ; C2 00 00
    TSEND
    call tsdump
    jmp .after_callees
.callee:
    mov eax, [esp]
    mov [sv_a], eax
    ret
.callee_ret8:
    ret 8
.callee_ret0:
    ret 0
.after_callees:

    ; ================================================================ 16-bit IP (66h) in a based code segment
    PRINTLN '-- o16 call/ret/jmp in CS based at 0x100000'
    TSBEGIN
    jmp SEL_CODE_B:BOFF(.b16)
.b16:
    db 0x66, 0xe8                       ; o16 call rel16
    dw .t16a - ($ + 2)
.b16_ret1:
    db 0x66, 0xe8                       ; o16 call rel16, callee does o16 ret 4
    dw .t16b - ($ + 2)
.b16_ret2:
    mov ebx, BOFF(.t16c) + 0xffff0000
    db 0x66, 0xff, 0xd3                 ; o16 call bx (upper EBX ignored)
.b16_ret3:
    db 0x66, 0xe9                       ; o16 jmp rel16
    dw .t16d - ($ + 2)
    PRINTLN 'o16 jmp not taken'
.t16d:
    db 0x66, 0x9a                       ; o16 call far ptr16:16
    dw BOFF(.t16e), SEL_CODE_B
.b16_ret4:
    mov ax, cs
    mov [sv_cs], ax
    jmp SEL_CODE0:.b16_done
.t16a:
    movzx eax, word [esp]
    mov [sv_a], eax
    db 0x66, 0xc3                       ; o16 ret
.t16b:
    movzx eax, word [esp]
    mov [sv_b], eax
    db 0x66, 0xc2, 0x04, 0x00           ; o16 ret 4
.t16c:
    movzx eax, word [esp]
    mov [sv_c], eax
    mov [sv_d], esp
    db 0x66, 0xc3
.t16e:
    mov eax, [esp]
    mov [sv_e], eax                     ; CS:IP as two words
    db 0x66, 0xcb                       ; o16 retf
.b16_done:
    TSEND
    SHOWV 'ip1', [sv_a]
    SHOWV 'exp', BOFF(.b16_ret1)
    SHOWV 'ip2', [sv_b]
    SHOWV 'exp', BOFF(.b16_ret2)
    SHOWV 'ip3', [sv_c]
    SHOWV 'exp', BOFF(.b16_ret3)
    NL
    SHOWV 'far cs:ip', [sv_e]
    SHOWV 'exp ip', BOFF(.b16_ret4)
    SHOW16 'cs', [sv_cs]
    mov eax, [sv_d]
    sub eax, TSTOP
    SHOWV 'esp in t16c', eax
    NL
    call tsdump

    ; ================================================================ LOOP family
    ; three rounds, with exits between them (the output): the third runs the hot loops compiled
    mov dword [loop_rounds], 3
.loop_round:
    PRINTLN '-- loop'
    mov ecx, 5
    xor edx, edx
.l1:
    inc edx
    loop .l1
    SHOWV 'loop5 n', edx
    SHOWV 'ecx', ecx
    NL
    mov ecx, 1
    xor edx, edx
.l1b:
    inc edx
    loop .l1b
    SHOWV 'loop1 n', edx
    SHOWV 'ecx', ecx
    NL
    mov ecx, 0x00010003
    xor edx, edx
.l2:
    inc edx
    loop .l2, cx                        ; 67 E2: CX
    SHOWV 'a16 loop cx=3 n', edx
    SHOWV 'ecx', ecx
    NL
    mov ecx, 0x12340000
    xor edx, edx
.l3:
    inc edx
    loop .l3, cx                        ; CX=0: 65536 iterations
    SHOWV 'a16 loop cx=0 n', edx
    SHOWV 'ecx', ecx
    NL
    mov esi, zarr - 1
    mov ecx, 10
.l4:
    lea esi, [esi + 1]
    cmp byte [esi], 0
    loope .l4
    pushfd
    pop eax
    and eax, F_ALL
    sub esi, zarr
    SHOWV 'loope idx', esi
    SHOWV 'ecx', ecx
    SHOWV 'fl', eax
    NL
    mov esi, narr - 1
    mov ecx, 10
.l5:
    lea esi, [esi + 1]
    cmp byte [esi], 0
    loopne .l5
    pushfd
    pop eax
    and eax, F_ALL
    sub esi, narr
    SHOWV 'loopne idx', esi
    SHOWV 'ecx', ecx
    SHOWV 'fl', eax
    NL
    mov esi, zarr - 1
    mov ecx, 3
.l6:
    lea esi, [esi + 1]
    cmp byte [esi], 0
    loope .l6                           ; runs out of count with ZF=1
    sub esi, zarr
    SHOWV 'loope count idx', esi
    SHOWV 'ecx', ecx
    NL
    mov ecx, 0x00010002
    xor edx, edx
    xor esi, esi
.l6b:
    inc edx
    cmp esi, 0
    loope .l6b, cx                      ; 67 E1
    SHOWV 'a16 loope n', edx
    SHOWV 'ecx', ecx
    NL
    push dword 0x8d7
    popfd
    mov ecx, 3
.l7:
    loop .l7
    pushfd
    pop eax
    SHOWV 'loop keeps flags', eax
    NL
    push dword 2
    popfd
    xor edx, edx
    mov ecx, 0
    jecxz .j1
    or edx, 1
.j1:
    mov ecx, 0x00010000
    jecxz .j2
    or edx, 2
.j2:
    jcxz .j3                            ; 67 E3: CX = 0
    or edx, 4
.j3:
    mov ecx, 0x00000001
    jcxz .j4
    or edx, 8
.j4:
    SHOWV 'jecxz/jcxz not-taken mask', edx
    NL
    dec dword [loop_rounds]
    jnz .loop_round

    ; ================================================================ Jcc
    PRINTLN 'jcc: bit i = taken for flags combination i (i bits: 0 CF, 1 PF, 2 ZF, 3 SF, 4 OF); short near'
    JCCTEST o
    JCCTEST no
    JCCTEST b
    JCCTEST ae
    JCCTEST e
    JCCTEST ne
    JCCTEST be
    JCCTEST a
    JCCTEST s
    JCCTEST ns
    JCCTEST p
    JCCTEST np
    JCCTEST l
    JCCTEST ge
    JCCTEST le
    JCCTEST g
    PRINTLN '-- jmp forms'
    xor edx, edx
    jmp short .jm1
    or edx, 1
.jm1:
    jmp near .jm2
    or edx, 2
.jm2:
    mov eax, .jm3
    jmp eax
    or edx, 4
.jm3:
    jmp [jmp_ptr]
    or edx, 8
.jm4:
    SHOWV 'jmp skipped mask', edx
    NL

    ; ================================================================ far CALL / JMP / RET, ring 0
    PRINTLN '-- far call/jmp/ret'
    TSBEGIN
    call SEL_CODE0:far_target           ; 9A ptr16:32
.fr1:
    TSEND
    SHOWV 'call ptr pushed eip', [sv_a]
    SHOWV 'exp', .fr1
    SHOW16 'cs', [sv_b]
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    NL
    TSBEGIN
    call far [far_ptr]                  ; FF /3 m16:32
.fr2:
    TSEND
    SHOWV 'call m16:32 pushed eip', [sv_a]
    SHOWV 'exp', .fr2
    SHOW16 'cs', [sv_b]
    NL
    TSBEGIN
    call SEL_CODE_B:BOFF(far_target)    ; into the based segment
.fr3:
    TSEND
    SHOWV 'call based pushed eip', [sv_a]
    SHOWV 'exp', .fr3
    SHOW16 'cs', [sv_b]
    SHOW16 'callee cs', [sv_cs]
    NL
    TSBEGIN
    push dword 0x11
    push dword 0x22
    call SEL_CODE0:far_target_ret8      ; RETF 8
    TSEND
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'retf 8: esp', eax
    SHOWV 'params', [TSTOP - 4]
    SHOWV '', [TSTOP - 8]
    SHOWV 'eip slot', [TSTOP - 16]
    NL
    jmp far [far_jmp_ptr]               ; FF /5 -> based segment
.fj_back:
    SHOW16 'jmp m16:32 cs', [sv_cs]
    SHOWV 'eip', [sv_a]
    SHOWV 'exp', BOFF(far_jmp_target)
    NL
    jmp SEL_CODE0:.fj2                  ; EA ptr16:32
    PRINTLN 'far jmp not taken'
.fj2:
    mov ax, cs
    SHOW16 'cs', eax
    NL
    ret

far_target:
    mov eax, [esp]
    mov [sv_a], eax
    mov eax, [esp + 4]
    mov [sv_b], eax
    mov ax, cs
    mov [sv_cs], ax
    retf

far_target_ret8:
    retf 8

far_jmp_target:
    mov ax, cs
    mov [sv_cs], ax
    call .here                          ; find our EIP in the based segment
.here:
    pop eax
    sub eax, .here - far_jmp_target
    mov [sv_a], eax
    jmp SEL_CODE0:main.fj_back

; ---------------------------------------------------------------- helpers
tstack_fill:
    pushad
    mov edi, tstack
    xor ecx, ecx
.l:
    lea eax, [ecx + 0xa5000000]
    mov [edi + ecx], eax
    add ecx, 4
    cmp ecx, TSTACK_SIZE
    jb .l
    popad
    ret

; esp (relative to TSTOP) and the dwords at TSTOP-32 .. TSTOP+4
tsdump:
    pushad
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    PRINT '['
    mov ebx, -32
.l:
    PHEX32 [TSTOP + ebx]
    cmp ebx, 4
    je .d
    SPC
    add ebx, 4
    jmp .l
.d:
    PRINTLN ']'
    popad
    ret

tsdump_espebp:
    pushad
    mov eax, [t_esp]
    sub eax, TSTOP
    SHOWV 'esp', eax
    mov eax, [t_ebp]
    sub eax, TSTOP
    SHOWV 'ebp-TSTOP', eax
    NL
    popad
    ret

; enter: esp, ebp (relative to TSTOP), dwords TSTOP-40 .. TSTOP-4
tsdump_enter:
    pushad
    call tsdump_espebp
    PRINT '['
    mov ebx, -40
.l:
    PHEX32 [TSTOP + ebx]
    cmp ebx, -4
    je .d
    SPC
    add ebx, 4
    jmp .l
.d:
    PRINTLN ']'
    popad
    ret

show_regs:
    SHOWV 'eax', [sv_regs]
    SHOWV 'ecx', [sv_regs + 4]
    SHOWV 'edx', [sv_regs + 8]
    SHOWV 'ebx', [sv_regs + 12]
    NL
    SHOWV 'ebp', [sv_regs + 16]
    SHOWV 'esi', [sv_regs + 20]
    SHOWV 'edi', [sv_regs + 24]
    NL
    ret

section .rodata
align 4
memval: dd 0xfeedc0de
callee_ptr: dd main.callee
jmp_ptr: dd main.jm4
far_ptr: dd far_target
         dw SEL_CODE0
align 4
far_jmp_ptr: dd BOFF(far_jmp_target)
             dw SEL_CODE_B
zarr: db 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0
narr: db 1, 2, 3, 4, 5, 6, 0, 8, 9, 10, 11, 12
cc_flags:
%assign i 0
%rep 32
    dd 0x002 | ((i & 1) ? F_CF : 0) | ((i & 2) ? F_PF : 0) | ((i & 4) ? F_ZF : 0) | ((i & 8) ? F_SF : 0) | ((i & 16) ? F_OF : 0)
%assign i i + 1
%endrep

section .bss
alignb 16
TSTACK_SIZE equ 1024
tstack: resb TSTACK_SIZE
real_esp: resd 1
t_esp: resd 1
t_ebp: resd 1
memdst: resd 2
sv_regs: resd 8
sv_a: resd 1
sv_b: resd 1
sv_c: resd 1
sv_d: resd 1
sv_e: resd 1
sv_cs: resd 1
loop_rounds: resd 1
