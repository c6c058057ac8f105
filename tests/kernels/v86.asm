; v86.asm -- virtual-8086 mode (Intel SDM vol. 3, chapter 20; CR4.VME = 0).
;
; The V86 code and its data and stack live in the first 64 KiB of the image,
; reached as segment 0xFFFF (linear 0xFFFF0 + offset, A20 enabled): an offset
; is V(label) = label - image_base + 0x10.
;
;   * entry with IRETD from ring 0 (VM=1, IOPL=3; frame with ES DS FS GS),
;     segment registers as loaded from the frame
;   * 16-bit code: arithmetic, 32-bit operands (66h), 16-bit addressing,
;     segment loads with real-mode semantics (MOV/POP/LES/LDS, seg*16+offset),
;     a far CALL through another segment value (pushed CS:IP), far JMP, RETF,
;     a 16-bit stack wrapping at SP=0, PUSHF/PUSHFD images (VM, RF clear),
;     IRET at IOPL 3, CLI/STI at IOPL 3
;   * INT n at IOPL 3 through a DPL3 32-bit interrupt gate into ring 0: the
;     9-dword frame (EIP CS EFLAGS ESP SS ES DS FS GS), DS/ES/FS/GS = 0 in the
;     handler, stack from TSS.SS0:ESP0, handler EFLAGS (VM NT TF IF RF clear);
;     a trap gate (IF kept); IRETD back to V86 (also with a changed ES)
;   * #GP(sel) for an INT whose gate leads to a DPL3 or a conforming code
;     segment; #GP(vector*8+2) for a DPL0 gate; #BP/#OF through DPL3 gates at
;     IOPL 0 (not IOPL-sensitive); #DE and #UD frames (with error code slot)
;   * IOPL 0: CLI STI PUSHF POPF INT n IRET -> #GP(0); HLT, MOV CR0, LGDT
;     -> #GP(0) at any IOPL
;   * IN/OUT through the TSS I/O bitmap (always consulted in V86 mode),
;     including direct output to COM1 from V86
;   * #UD for ARPL LAR LSL VERR SLDT STR LLDT LTR (not recognised in V86
;     mode), #GP(0) for CLTS LMSW INVLPG, SMSW allowed
;   * a second entry with IOPL 0 in the IRETD image, and leaving V86 mode for
;     good through an interrupt handler
;   * a third entry through a task switch (JMP to a TSS whose EFLAGS image has
;     VM set: segment registers loaded as real-mode selectors, interrupts on
;     that task's SS0:ESP0, no I/O bitmap), back by a task switch from the
;     interrupt handler
;
; Not tested: segment-limit (offset > 0xFFFF) faults (QEMU does not check
; data-segment limits), INT n to a gate whose code segment has DPL 1 or 2
; (SDM #GP, QEMU switches to that ring), upper halves of the segment
; selectors pushed in the frame (printed as 16 bits), EFLAGS.RF in frames.

%include "lib.inc"

SEL_CONF    equ 0x30            ; conforming code, DPL0
SEL_V       equ 0x38            ; TSS of the V86 task (third entry)
VEC_SVC     equ 0x80            ; service (DPL3 interrupt gate); also vector 3
VEC_CODE3   equ 0x85            ; DPL3 gate -> DPL3 code segment
VEC_CONF    equ 0x86            ; DPL3 gate -> conforming code segment
VEC_DPL0    equ 0x87            ; DPL0 gate
VEC_TRAP    equ 0x88            ; DPL3 trap gate -> service

F_VM    equ 0x20000
F_IOPL3 equ 0x3000

%define V(x) ((x) - image_base + 0x10)
V86SEG equ 0xffff

; ================================================================ V86 code
bits 16

%define VSVC int VEC_SVC

%macro VPRINT 1
    jmp %%o
%%s: db %1, 0
%%o:
    push ax
    push si
    mov ax, 1
    mov si, V(%%s)
    VSVC
    pop si
    pop ax
%endmacro
%macro VHEX16 1
    push ax
    push bx
    mov bx, %1
    mov ax, 2
    VSVC
    pop bx
    pop ax
%endmacro
%macro VHEX32 1
    push eax
    push ebx
    mov ebx, %1
    mov ax, 4
    VSVC
    pop ebx
    pop eax
%endmacro
%macro VSP 0
    VPRINT ' '
%endmacro
%macro VNL 0
    push ax
    mov ax, 3
    VSVC
    pop ax
%endmacro
%macro VFRAME 0
    push ax
    mov ax, 5
    VSVC
    pop ax
%endmacro
%macro VIOPL 1
    push ax
    push bx
    mov ax, 6
    mov bx, %1
    VSVC
    pop bx
    pop ax
%endmacro

; VT 'name', insn...: V86 test; a fault prints through the ring-0 handler,
; which resumes at the end (v_resume; written through SS = 0xFFFF)
%macro VT 2-*
    VPRINT %1
    VPRINT ': '
    mov word [ss:V(v_resume)], V(%%after)
    %rep %0-1
    %rotate 1
    %1
    %endrep
    VPRINT 'no exception'
    VNL
%%after:
    mov word [ss:V(v_resume)], 0
%endmacro

v86_entry:
    mov [ss:V(v_save)], ds
    mov [ss:V(v_save) + 2], es
    mov [ss:V(v_save) + 4], fs
    mov [ss:V(v_save) + 6], gs
    mov [ss:V(v_save) + 8], ss
    mov [ss:V(v_save) + 10], cs
    mov [ss:V(v_save) + 12], sp
    pushfd
    pop dword [ss:V(v_save) + 16]
    VPRINT 'in V86: ds '
    VHEX16 [ss:V(v_save)]
    VPRINT ' es '
    VHEX16 [ss:V(v_save) + 2]
    VPRINT ' fs '
    VHEX16 [ss:V(v_save) + 4]
    VPRINT ' gs '
    VHEX16 [ss:V(v_save) + 6]
    VPRINT ' ss '
    VHEX16 [ss:V(v_save) + 8]
    VPRINT ' cs '
    VHEX16 [ss:V(v_save) + 10]
    VPRINT ' sp '
    VHEX16 [ss:V(v_save) + 12]
    VPRINT ' pushfd '
    VHEX32 [ss:V(v_save) + 16]
    VNL
    push cs
    pop ds                              ; DS = 0xFFFF from here on

    VPRINT `int 0x80 (service 5) frame:\n`
    mov eax, 0x12345678                 ; (upper halves must survive)
    mov ebx, 0x9abcdef0
    VFRAME
    VPRINT 'after iretd: eax '
    VHEX32 eax
    VPRINT ' ebx '
    VHEX32 ebx
    VNL

    ; ------------------------------------------------------------ arithmetic
    VPRINT `-- 16-bit code\n`
    mov ax, 0x1234
    add ax, 0xfedc
    pushf
    pop bx
    VPRINT 'add ax: '
    VHEX16 ax
    VPRINT ' flags '
    VHEX16 bx
    VNL
    mov eax, 0x89abcdef
    mov ecx, 0x12345678
    mul ecx
    VPRINT 'mul ecx: '
    VHEX32 edx
    VPRINT ':'
    VHEX32 eax
    VNL
    mov ax, 1000
    mov cx, 7
    xor dx, dx
    div cx
    VPRINT 'div: '
    VHEX16 ax
    VPRINT ' rem '
    VHEX16 dx
    VNL
    mov bx, V(v_table)
    mov si, 4
    mov ax, [bx + si]
    mov di, 2
    mov bp, V(v_table)                  ; [bp+di] uses SS (= 0xFFFF too)
    mov cx, [bp + di + 4]
    lea dx, [bx + si + 0x1234]
    mov al, 3
    xlatb
    VPRINT '[bx+si] [bp+di+4] lea xlat: '
    VHEX16 [bx + si]
    VSP
    VHEX16 cx
    VSP
    VHEX16 dx
    VSP
    VHEX16 ax
    VNL
    mov ebx, V(v_table)                 ; 32-bit addressing (offset < 64K)
    mov ecx, 2
    mov eax, [ebx + ecx * 4]
    VPRINT '[ebx+ecx*4]: '
    VHEX32 eax
    VNL

    ; ------------------------------------------------------------ segments
    VPRINT `-- segment loads\n`
    VT 'mov [cs:x],ax (V86 segments are read/write)', {mov ax, 0x7e57}, {mov [cs:V(v_csw)], ax}
    VPRINT 'x = '
    VHEX16 [V(v_csw)]
    VNL
    mov ax, V86SEG - 1
    mov es, ax
    mov ax, [es:V(v_table) + 0x10]      ; 0xFFFE0 + V+0x10 = 0xFFFF0 + V
    VPRINT 'es=fffe [es:V+10]: '
    VHEX16 ax
    mov ax, V86SEG - 0x100
    mov es, ax
    mov ax, [es:V(v_table) + 0x1000 + 2]
    VPRINT ' es=feff [es:V+1002]: '
    VHEX16 ax
    VNL
    mov ax, 0x1234
    mov es, ax
    push word 0x4321
    pop fs
    mov ax, 0xabcd
    mov gs, ax
    VPRINT 'es fs gs: '
    VHEX16 es
    VSP
    VHEX16 fs
    VSP
    VHEX16 gs
    les di, [v_farptr - image_base + 0x10]
    VPRINT ' les di: '
    VHEX16 es
    VPRINT ':'
    VHEX16 di
    push ds
    lds si, [v_farptr - image_base + 0x10]
    mov ax, ds
    pop ds
    VPRINT ' lds si: '
    VHEX16 ax
    VPRINT ':'
    VHEX16 si
    VNL
    ; the same byte through four segment:offset pairs
    mov ax, V86SEG - 0x10
    mov fs, ax
    mov ax, V86SEG - 0x20
    mov gs, ax
    mov al, [V(v_table) + 6]
    mov ah, [fs:V(v_table) + 6 + 0x100]
    mov bl, [gs:V(v_table) + 6 + 0x200]
    mov bh, [es:di + 0]                 ; es:di = v_farptr -> v_table+6
    VPRINT 'one byte, four ways: '
    VHEX16 ax
    VSP
    VHEX16 bx
    VNL
    ; 16-bit stack wrapping at SP = 0
    mov [V(v_sp)], sp
    mov ax, ss
    mov [V(v_ss)], ax
    mov ax, 0xf001 + (v_wrap - image_base) / 16
    mov ss, ax
    mov sp, 0
    push word 0x5aa5
    mov cx, sp
    pop dx
    mov bx, sp
    mov ss, [V(v_ss)]
    mov sp, [V(v_sp)]
    VPRINT 'push at sp=0: sp '
    VHEX16 cx
    VPRINT ' wrap buffer '
    VHEX16 [V(v_wrap) + 14]
    VPRINT ' popped '
    VHEX16 dx
    VPRINT ' sp '
    VHEX16 bx
    VNL

    ; ------------------------------------------------------------ control transfer
    VPRINT `-- far call/jmp/retf/iret\n`
    call V86SEG - 1:V(v_far_target) + 0x10
v_after_farcall:
    VPRINT 'far call: pushed ip '
    VHEX16 [V(v_got)]
    VPRINT ' (exp '
    VHEX16 V(v_after_farcall)
    VPRINT ') cs '
    VHEX16 [V(v_got) + 2]
    VPRINT ' target cs '
    VHEX16 [V(v_got) + 4]
    VPRINT ' back in cs '
    mov ax, cs
    VHEX16 ax
    VNL
    call far [V(v_callptr)]
    VPRINT 'call far [mem]: target cs '
    VHEX16 [V(v_got) + 4]
    VNL
    jmp V86SEG - 2:V(v_jmp_target) + 0x20
v_jmp_back:
    VPRINT 'jmp far there and back: cs there '
    VHEX16 [V(v_got) + 4]
    VNL
    pushf
    pop ax
    or ax, 0x0801                       ; OF CF
    push ax
    push cs
    push word V(v_after_iret)
    iret
    VPRINT `iret: not reached\n`
v_after_iret:
    pushf
    pop ax
    VPRINT 'iret (IOPL 3): flags '
    VHEX16 ax
    VNL
    push word 0x0002
    popf
    sti
    pushf
    pop ax
    cli
    pushf
    pop bx
    VPRINT 'sti: '
    VHEX16 ax
    VPRINT ' cli: '
    VHEX16 bx
    VNL
    push dword 0x001f4ed7               ; VIP VIF AC VM RF, IOPL 0, NT OF DF IF, arith
    popfd                               ; (VIP VIF VM RF IOPL unchanged)
    pushfd
    pop eax
    VPRINT 'popfd 1f4ed7 -> pushfd '
    VHEX32 eax
    push dword 0x00000002
    popfd
    push word 0x0eff
    popf
    pushf
    pop ax
    VPRINT ' popf eff -> pushf '
    VHEX16 ax
    VNL
    push word 0x0002
    popf

    ; ------------------------------------------------------------ interrupts
    VPRINT `-- interrupts and exceptions at IOPL 3\n`
    VPRINT `int3 (DPL3 gate, service 5):\n`
    mov ax, 5
    int3
    VPRINT `int 0x88 (trap gate) with IF=1, service 5:\n`
    sti
    mov ax, 5
    int VEC_TRAP
    cli
    VT 'int 0x85 (gate -> DPL3 code)', {int VEC_CODE3}
    VT 'int 0x86 (gate -> conforming code)', {int VEC_CONF}
    VT 'int 0x87 (DPL0 gate)', {int VEC_DPL0}
    VT 'div by 0', {xor cx, cx}, {div cx}
    VT 'ud2', {ud2}
    VT 'hlt', {hlt}
    VT 'mov eax,cr0', {mov eax, cr0}
    VT 'lgdt', {lgdt [V(v_table)]}
    VT 'clts', {clts}
    VT 'lmsw ax', {mov ax, 0x11}, {lmsw ax}
    VT 'invlpg', {invlpg [V(v_table)]}
    VT 'arpl (#UD in V86)', {arpl [V(v_table)], ax}
    VT 'lar (#UD in V86)', {mov bx, 0x08}, {lar ax, bx}
    VT 'lsl (#UD in V86)', {mov bx, 0x08}, {lsl ax, bx}
    VT 'verr (#UD in V86)', {verr bx}
    VT 'sldt (#UD in V86)', {sldt ax}
    VT 'str (#UD in V86)', {str ax}
    VT 'lldt (#UD in V86)', {lldt ax}
    VT 'ltr (#UD in V86)', {ltr ax}
    VT 'smsw ax (allowed)', {mov ax, 0xeeee}, {smsw ax}
    VPRINT 'ax '
    VHEX16 ax
    VNL
    VT 'into OF=1 (DPL3 gate)', {push word 0x0802}, {popf}, {into}
    push word 0x0002
    popf
    VPRINT `service 9: frame es = 0x2468\n`
    mov dx, 0x2468
    mov ax, 9
    VSVC
    VPRINT 'es after iretd '
    VHEX16 es
    VNL

    ; ------------------------------------------------------------ I/O
    VPRINT `-- I/O bitmap (0x80, 0x3f8, 0x3fd allowed)\n`
    VT 'out 0x80,al', {mov al, 0x42}, {out 0x80, al}
    VT 'in al,0x81', {in al, 0x81}
    VT 'out 0x80,ax (0x81 denied)', {out 0x80, ax}
    VT 'in al,dx dx=0x3fd', {mov dx, 0x3fd}, {in al, dx}
    VT 'in ax,dx dx=0x3fd (0x3fe denied)', {mov dx, 0x3fd}, {in ax, dx}
    VT 'out dx,al dx=0x400 (beyond bitmap)', {mov dx, 0x400}, {out dx, al}
    VT 'outsb dx=0x80', {mov dx, 0x80}, {mov si, V(v_table)}, {outsb}
    VPRINT 'direct to COM1: '
    mov si, V(v_direct)
.dl:
    mov dx, 0x3fd
.dw:
    in al, dx
    test al, 0x20
    jz .dw
    lodsb
    test al, al
    jz .dd
    mov dx, 0x3f8
    out dx, al
    jmp .dl
.dd:

    ; ------------------------------------------------------------ IOPL 0
    VIOPL 0
%define VSVC int3
    VPRINT `-- IOPL 0 (printing through int3)\n`
    VT 'cli', {cli}
    VT 'sti', {sti}
    VT 'pushf', {pushf}
    VT 'popf', {popf}
    VT 'pushfd', {pushfd}
    VT 'int 0x80', {int VEC_SVC}
    VT 'iret', {iret}
    VT 'out 0x80,al', {out 0x80, al}
    VT 'in al,0x81', {in al, 0x81}
    VT 'into OF=0', {into}
    VPRINT `int3 (service 5):\n`
    mov ax, 5
    int3
    VIOPL 3
%define VSVC int VEC_SVC
    VPRINT `IOPL 3 again; leaving V86 (service 7)\n`
    mov ax, 7
    VSVC
    VPRINT `not reached\n`
    jmp $

; second entry: IOPL 0 straight from the IRETD image
v86_entry2:
%define VSVC int3
    push cs
    pop ds
    VPRINT `second entry (IOPL 0 in the IRETD image)\n`
    VT 'cli', {cli}
    mov ax, 7
    VSVC
%define VSVC int VEC_SVC
    jmp $

; third entry: through a task switch (TSS EFLAGS.VM=1, IOPL 3)
v86_entry3:
    mov [ss:V(v_save)], ds
    mov [ss:V(v_save) + 2], es
    mov [ss:V(v_save) + 4], fs
    mov [ss:V(v_save) + 6], gs
    mov [ss:V(v_save) + 8], ss
    mov [ss:V(v_save) + 10], cs
    mov [ss:V(v_save) + 12], sp
    pushfd
    pop dword [ss:V(v_save) + 16]
    push cs
    pop ds
    VPRINT 'V86 task: ds '
    VHEX16 [V(v_save)]
    VPRINT ' es '
    VHEX16 [V(v_save) + 2]
    VPRINT ' fs '
    VHEX16 [V(v_save) + 4]
    VPRINT ' gs '
    VHEX16 [V(v_save) + 6]
    VPRINT ' ss '
    VHEX16 [V(v_save) + 8]
    VPRINT ' cs '
    VHEX16 [V(v_save) + 10]
    VPRINT ' sp '
    VHEX16 [V(v_save) + 12]
    VPRINT ' pushfd '
    VHEX32 [V(v_save) + 16]
    VNL
    mov ax, 0x1234
    add ax, 0x4321
    VPRINT 'add: '
    VHEX16 ax
    VNL
    VPRINT `int 0x80 frame (stack from the V86 task's SS0:ESP0):\n`
    VFRAME
    VT 'out 0x80,al (no I/O bitmap)', {out 0x80, al}
    VPRINT `back to the main task (service 10)\n`
    mov ax, 10
    VSVC
    VPRINT `not reached\n`
    jmp $

; far targets (entered with CS = 0xFFFE or 0xFFFD: offsets shifted)
v_far_target:
    push bp
    mov bp, sp
    mov ax, [bp + 2]
    mov [V(v_got)], ax
    mov ax, [bp + 4]
    mov [V(v_got) + 2], ax
    mov ax, cs
    mov [V(v_got) + 4], ax
    pop bp
    retf
v_jmp_target:
    mov ax, cs
    mov [V(v_got) + 4], ax
    jmp V86SEG:V(v_jmp_back)

; V86 data
align 4
v_resume:   dw 0
v_csw:      dw 0
v_save:     times 10 dw 0
v_got:      times 4 dw 0
v_sp:       dw 0
v_ss:       dw 0
v_table:    dw 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888
v_farptr:   dw V(v_table) + 6 + 0x100, V86SEG - 0x10   ; same linear byte
v_callptr:  dw V(v_far_target) + 0x30, V86SEG - 3
v_direct:   db `hello from V86 through out dx,al\n`, 0
align 16
v_wrap:     times 16 db 0
align 16
v_stack:    times 512 db 0
v_stack_top:
v86_end:
    ; the block must be reachable from segment 0xFFFF
    times -((v86_end - image_base + 0x10) > 0xfff0) db 0

bits 32
; ================================================================ ring 0
main:
    GDTSET SEL_CONF, 0, 0xfffff, 0x9f, 0xc0
    ; TSS: SS0:ESP0, I/O bitmap for ports 0..0x3ff: 0x80, 0x3f8, 0x3fd allowed
    mov dword [tss + 4], kstack_top
    mov dword [tss + 8], SEL_DATA0
    mov word [tss + 0x66], tss_iomap - tss
    mov edi, tss_iomap
    mov ecx, 129
    mov al, 0xff
    rep stosb
    and byte [tss_iomap + 0x80 / 8], ~(1 << (0x80 & 7))
    and byte [tss_iomap + 0x3f8 / 8], ~(1 << (0x3f8 & 7))
    and byte [tss_iomap + 0x3fd / 8], ~(1 << (0x3fd & 7))
    GDTSET SEL_TSS, tss, tss_end - tss - 1, 0x89, 0x00
    mov ax, SEL_TSS
    ltr ax
    ; IDT
    IDTSET VEC_SVC, v86_svc, SEL_CODE0, 0xee
    IDTSET 3, v86_svc, SEL_CODE0, 0xee
    IDTSET VEC_TRAP, v86_svc, SEL_CODE0, 0xef
    IDTSET VEC_CODE3, v86_svc, SEL_CODE3, 0xee
    IDTSET VEC_CONF, v86_svc, SEL_CONF, 0xee
    IDTSET VEC_DPL0, v86_svc, SEL_CODE0, 0x8e
    IDTSET 0, vstub_0, SEL_CODE0, 0x8e
    IDTSET 4, vstub_4, SEL_CODE0, 0xee
    IDTSET 6, vstub_6, SEL_CODE0, 0x8e
    IDTSET 13, vstub_13, SEL_CODE0, 0x8e

    PRINT 'v86 block: V(v86_entry) '
    PHEX16 V(v86_entry)
    PRINT ' V(v86_end) '
    PHEX16 V(v86_end)
    NL
    PRINTLN '-- iretd to V86 (VM=1, IOPL=3)'
    mov [r0_esp], esp
    push dword 0xabcd                   ; gs
    push dword 0x5678                   ; fs
    push dword 0x1234                   ; ds
    push dword 0x9abc                   ; es
    push dword V86SEG                   ; ss
    push dword V(v_stack_top)           ; esp
    push dword F_VM | F_IOPL3 | 0x0002  ; eflags
    push dword V86SEG                   ; cs
    push dword V(v86_entry)             ; eip
    iretd
v86_back:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    PRINTLN '-- back in protected mode'
    pushfd
    pop eax
    PRINT 'eflags '
    PHEX32 eax
    mov ax, cs
    PRINT ' cs '
    PHEX16 eax
    mov ax, ss
    PRINT ' ss '
    PHEX16 eax
    mov eax, [r0_esp]
    sub eax, esp
    PRINT ' r0_esp-esp '
    PHEX32 eax
    NL
    mov dword [v86_back_to], v86_back2
    push dword 0
    push dword 0
    push dword 0
    push dword 0
    push dword V86SEG
    push dword V(v_stack_top)
    push dword F_VM | 0x0002            ; IOPL 0
    push dword V86SEG
    push dword V(v86_entry2)
    iretd
v86_back2:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    ; third entry: a task switch to a TSS whose EFLAGS image has VM set
    PRINTLN '-- jmp to a TSS with EFLAGS.VM=1'
    mov edi, tssV
    mov ecx, 0x68 / 4
    xor eax, eax
    rep stosd
    mov dword [tssV + 0x04], kstack2_top            ; esp0
    mov dword [tssV + 0x08], SEL_DATA0              ; ss0
    mov dword [tssV + 0x20], V(v86_entry3)          ; eip
    mov dword [tssV + 0x24], F_VM | F_IOPL3 | 0x0002
    mov dword [tssV + 0x38], V(v_stack_top)         ; esp
    mov dword [tssV + 0x48], 0x2222                 ; es
    mov dword [tssV + 0x4c], V86SEG                 ; cs
    mov dword [tssV + 0x50], V86SEG                 ; ss
    mov dword [tssV + 0x54], 0x1111                 ; ds
    mov dword [tssV + 0x58], 0x3333                 ; fs
    mov dword [tssV + 0x5c], 0x4444                 ; gs
    mov dword [tssV + 0x64], 0x00680000             ; no I/O bitmap
    GDTSET SEL_V, tssV, 0x67, 0x89, 0x00
    mov dword [cur_stack_top], kstack2_top
    jmp SEL_V:0
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    str ax
    PRINT 'back in the main task: tr '
    PHEX16 eax
    movzx eax, byte [gdt + SEL_V + 5]
    and eax, 0x0f
    PRINT ' V type '
    PHEXN eax, 1
    movzx eax, byte [gdt + SEL_TSS + 5]
    and eax, 0x0f
    PRINT ' main type '
    PHEXN eax, 1
    NL
    mov eax, cr0
    and eax, 8
    PRINT 'cr0.ts '
    PHEXN eax, 1
    NL
    clts
    PRINTLN 'v86 done'
    ret

; ---------------------------------------------------------------- handlers
; Frame offsets from ebp after PUSHAD (service handler, no error code)
SV_EAX    equ 28
SV_EBX    equ 16
SV_ECX    equ 24
SV_EDX    equ 20
SV_ESI    equ 4
SV_FRAME  equ 32

; print_frame: ebx = address of the EIP slot of a V86 interrupt frame
print_frame:
    pushad
    PRINT '  frame eip '
    PHEX32 [ebx]
    PRINT ' cs '
    PHEX16 [ebx + 4]
    mov eax, [ebx + 8]
    and eax, ~0x10000
    PRINT ' eflags '
    PHEX32 eax
    PRINT ' esp '
    PHEX32 [ebx + 12]
    PRINT ' ss '
    PHEX16 [ebx + 16]
    PRINT ' es '
    PHEX16 [ebx + 20]
    PRINT ' ds '
    PHEX16 [ebx + 24]
    PRINT ' fs '
    PHEX16 [ebx + 28]
    PRINT ' gs '
    PHEX16 [ebx + 32]
    NL
    popad
    ret

; print_hsegs: the handler's DS ES FS GS at entry (h_segs), CS SS, stack depth
print_hsegs:
    pushad
    PRINT '  handler ds es fs gs '
    PHEX16 [h_segs]
    SPC
    PHEX16 [h_segs + 2]
    SPC
    PHEX16 [h_segs + 4]
    SPC
    PHEX16 [h_segs + 6]
    mov ax, cs
    PRINT ' cs '
    PHEX16 eax
    mov ax, ss
    PRINT ' ss '
    PHEX16 eax
    mov eax, [cur_stack_top]
    sub eax, ebx
    PRINT ' stack_top-frame '
    PHEX32 eax
    mov eax, [h_eflags]
    and eax, ~F_ARITH
    PRINT ' eflags&~8d5 '
    PHEX32 eax
    NL
    popad
    ret

; INT 0x80 / INT3 / INT 0x88 from V86: services (AX)
;   1 string at CS:SI  2 hex16 BX  3 newline  4 hex32 EBX  5 print the frame
;   6 IOPL = BL  7 leave V86 for good  9 frame ES = DX
v86_svc:
    pushfd
    pop dword [ss:h_eflags]
    pushad
    mov [ss:h_segs], ds
    mov [ss:h_segs + 2], es
    mov [ss:h_segs + 4], fs
    mov [ss:h_segs + 6], gs
    mov ebp, esp
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    lea ebx, [ebp + SV_FRAME]
    test dword [ebx + 8], F_VM
    jz .notv86
    movzx eax, word [ebp + SV_EAX]
    cmp eax, 1
    jne .n1
    movzx esi, word [ebx + 4]           ; CS
    shl esi, 4
    movzx eax, word [ebp + SV_ESI]
    add esi, eax
    call puts
    jmp .out
.n1:
    cmp eax, 2
    jne .n2
    PHEX16 [ebp + SV_EBX]
    jmp .out
.n2:
    cmp eax, 3
    jne .n3
    NL
    jmp .out
.n3:
    cmp eax, 4
    jne .n4
    PHEX32 [ebp + SV_EBX]
    jmp .out
.n4:
    cmp eax, 5
    jne .n5
    call print_frame
    call print_hsegs
    jmp .out
.n5:
    cmp eax, 6
    jne .n6
    mov eax, [ebp + SV_EBX]
    and eax, 3
    shl eax, 12
    and dword [ebx + 8], ~F_IOPL3
    or [ebx + 8], eax
    jmp .out
.n6:
    cmp eax, 7
    jne .n7
    mov esp, [r0_esp]
    jmp [v86_back_to]
.n7:
    cmp eax, 10
    jne .n10
    jmp SEL_TSS:0
.n10:
    cmp eax, 9
    jne .n9
    mov eax, [ebp + SV_EDX]
    mov [ebx + 20], ax
    jmp .out
.n9:
    PRINT 'bad service '
    PHEX32 eax
    NL
    EXIT 0x7f
.notv86:
    PRINTLN 'UNEXPECTED service call from protected mode'
    EXIT 0x7f
.out:
    popad
    iretd

; exceptions from V86: vector stubs -> v86_exc
%macro VSTUB 2
vstub_%1:
%if %2 == 0
    push dword 0
%endif
    push dword %1
    jmp v86_exc
%endmacro
VSTUB 0, 0
VSTUB 4, 0
VSTUB 6, 0
VSTUB 13, 1

VX_VEC   equ 32
VX_ERR   equ 36
VX_FRAME equ 40
v86_exc:
    pushad
    mov [ss:h_segs], ds
    mov [ss:h_segs + 2], es
    mov [ss:h_segs + 4], fs
    mov [ss:h_segs + 6], gs
    mov ebp, esp
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    lea ebx, [ebp + VX_FRAME]
    test dword [ebx + 8], F_VM
    jz .unexpected
    movzx eax, word [v_resume]
    test eax, eax
    jz .unexpected
    mov word [v_resume], 0
    PRINT 'EXC '
    PHEX8 [ebp + VX_VEC]
    PRINT ' err '
    PHEX32 [ebp + VX_ERR]
    NL
    call print_frame
    mov [ebx], eax                      ; resume in V86 at v_resume
    popad
    add esp, 8
    iretd
.unexpected:
    PRINT 'UNEXPECTED EXC '
    PHEX8 [ebp + VX_VEC]
    PRINT ' err '
    PHEX32 [ebp + VX_ERR]
    PRINT ' at '
    PHEX32 [ebx + 4]
    PRINT ':'
    PHEX32 [ebx]
    NL
    EXIT 0x7f

section .data
align 4
r0_esp: dd 0
v86_back_to: dd v86_back
h_segs: dw 0, 0, 0, 0
h_eflags: dd 0
cur_stack_top: dd kstack_top

section .bss
alignb 16
tss: resb 0x68
tss_iomap: resb 129
tss_end:
alignb 16
kstack: resb 4096
kstack_top:
tssV: resb 0x68
alignb 16
kstack2: resb 1024
kstack2_top:
