; pmode.asm -- protected-mode system behaviour.
;
;  ring 0: SGDT SIDT SLDT STR SMSW / CR0; LLDT + an LDT data segment; LTR;
;          faulting segment loads (#GP(sel) beyond the limit, system/execute-only
;          segments, RPL/DPL violations, null SS; #NP not present; #SS not-present
;          SS), far JMP/CALL faults (#GP data segment as code, #NP, #TS from a TSS
;          with limit < 67h), LTR/LLDT faults, #UD (UD2, MOV CS), #BP (INT3 and
;          INT 3: traps, EIP after), INTO (#OF, trap), BOUND (#BR, fault), INT n
;          through a not-present gate (#NP) and beyond the IDT limit (#GP),
;          LAR/LSL/VERR/VERW over all GDT selectors (RPL 0 and 3) and the LDT,
;          ARPL for all RPL combinations.
;  ring 3 (entered with IRET; TSS with SS0:ESP0 and an I/O bitmap allowing only
;          port 0x80): segment registers after the IRET (DPL<3 data nulled),
;          INT to a DPL3 gate (stack switch, frame printed), INT to a DPL0 gate
;          (#GP(vec*8+2)), INT3 through a DPL0 gate (#GP) and INTO through a DPL3
;          gate, call gate with 2 parameters (copied; RETF 8 back), call gate
;          with DPL0 (#GP), IN/OUT with IOPL 0 (bitmap: allowed / #GP(0)),
;          CLI/STI/HLT/MOV CR0/LGDT (#GP(0)), POPF trying to set IF and IOPL
;          (silently ignored), loading DS/SS with ring-0 selectors (#GP),
;          a conforming code segment into FS (allowed), UD2, SMSW/SGDT/SIDT/
;          SLDT/STR (allowed: no UMIP), LAR/LSL/VERR/VERW at CPL 3, a far RET
;          from ring 0 to ring 3 that nulls DS/ES/GS holding DPL<3 data segments,
;          and the way back to ring 0 through a DPL3 "syscall" gate.
;
; Exceptions print "EXC vv err xxxxxxxx eip xxxxxxxx" (lib.inc); for faults
; taken from ring 3 an extra line "  from cs=.. ss=.. esp=.." follows.
; Ring 3 prints through INT 0x80 (1: string at ESI, 2: hex32 EBX, 3: newline,
; 4: hex16 EBX).
;
; Not tested (QEMU is not a valid oracle): data-segment limit violations,
; writes to read-only data segments, accesses through a segment register
; nulled by IRET/RET or loaded with 0 (QEMU does not fault).
; Masked: LAR results are ANDed with 00F0FF00h (SDM: "masked by 00FxFF00H";
; bits 19:16 are not specified) and 16-bit LAR with FF00h; SLDT/STR/SMSW are
; stored to 16-bit destinations only (high halves of r32 forms differ between
; processor generations); exception frames' EFLAGS are never printed (RF).

%include "lib.inc"

SEL_LDT     equ 0x30            ; LDT (4 entries)
SEL_NP      equ 0x38            ; data, DPL0, not present
SEL_RO      equ 0x40            ; data, DPL0, read-only
SEL_XO      equ 0x48            ; code, DPL0, execute-only
SEL_CG      equ 0x50            ; call gate, DPL3 -> 0x08:cg_handler, 2 dword params
SEL_CNP     equ 0x58            ; code, DPL0, not present
SEL_CG2     equ 0x60            ; call gate, DPL3 -> 0x08:cg2_handler, no params
SEL_BADTSS  equ 0x68            ; 32-bit TSS, available, limit 0x20 (< 0x67)
SEL_CONF    equ 0x70            ; code, DPL0, conforming, readable
SEL_D2      equ 0x78            ; data, DPL2
SEL_CG0     equ 0x80            ; call gate, DPL0 -> cg_handler
SEL_TG      equ 0x88            ; task gate, DPL0 -> SEL_TSS
SEL_IG      equ 0x90            ; interrupt gate in the GDT (not valid for LAR)
SEL_ED      equ 0x98            ; data, expand-down, byte granular, limit 0x0fff
SEL_BYTE    equ 0xa0            ; data, DPL3, byte granular, limit 0x12345
SEL_C16     equ 0xa8            ; code, DPL3, 16-bit, readable
SEL_RSV     equ 0xb0            ; system, type 0 (reserved)
SEL_TSS16   equ 0xb8            ; 16-bit TSS, available
SEL_LDTNP   equ 0xc0            ; LDT descriptor, not present
; LDT selectors (TI=1)
LSEL_FLAT0  equ 0x04            ; data, DPL0, flat
LSEL_LOW3   equ 0x0c            ; data, DPL3, base LOWBUF_BASE, limit 0xffff
LSEL_CODE0  equ 0x14            ; code, DPL0, flat
LSEL_NP     equ 0x1c            ; data, DPL0, not present
LOWBUF_BASE equ 0x00200000

VEC_SYS     equ 0x80            ; ring-3 print service, DPL3 interrupt gate
VEC_SHOW    equ 0x81            ; DPL3 interrupt gate: prints its frame
VEC_DPL0    equ 0x82            ; DPL0 gate: INT from ring 3 -> #GP
VEC_RING0   equ 0x83            ; DPL3 gate: back to ring 0
VEC_NP      equ 0x90            ; not-present gate

; GATESET selector, target selector, target offset, param count, access byte
%macro GATESET 5
    pushad
    mov edi, gdt + (%1)
    mov eax, %3
    mov [edi], ax
    shr eax, 16
    mov [edi + 6], ax
    mov word [edi + 2], %2
    mov byte [edi + 4], %4
    mov byte [edi + 5], %5
    popad
%endmacro

; XT 'description', insn... : print the description, run the instruction(s);
; an exception prints its line and resumes after them
%macro XT 2-*
    PRINT %1
    PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    PRINTLN 'no exception'
%%after:
    mov dword [exc_resume], 0
%endmacro

; ring-3 version of XT
%macro XT3 2-*
    R3PRINT %1
    R3PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    R3PRINT `no exception\n`
%%after:
    mov dword [exc_resume], 0
%endmacro

main:
    ; ------------------------------------------------------------ descriptors
    GDTSET SEL_LDT, ldt, 4 * 8 - 1, 0x82, 0x00
    GDTSET SEL_NP, 0, 0xfffff, 0x13, 0xc0
    GDTSET SEL_RO, 0, 0xfffff, 0x91, 0xc0
    GDTSET SEL_XO, 0, 0xfffff, 0x99, 0xc0
    GATESET SEL_CG, SEL_CODE0, cg_handler, 2, 0xec
    GDTSET SEL_CNP, 0, 0xfffff, 0x1b, 0xc0
    GATESET SEL_CG2, SEL_CODE0, cg2_handler, 0, 0xec
    GDTSET SEL_BADTSS, dummy_tss, 0x20, 0x89, 0x00
    GDTSET SEL_CONF, 0, 0xfffff, 0x9f, 0xc0
    GDTSET SEL_D2, 0, 0xfffff, 0xd3, 0xc0
    GATESET SEL_CG0, SEL_CODE0, cg_handler, 2, 0x8c
    GATESET SEL_TG, SEL_TSS, 0, 0, 0x85
    GATESET SEL_IG, SEL_CODE0, cg_handler, 0, 0x8e
    GDTSET SEL_ED, 0, 0x00fff, 0x97, 0x40
    GDTSET SEL_BYTE, 0, 0x12345, 0xf3, 0x40
    GDTSET SEL_C16, 0, 0x0ffff, 0xfb, 0x00
    GDTSET SEL_RSV, 0, 0x0ffff, 0x80, 0x00
    GDTSET SEL_TSS16, dummy_tss, 0x2b, 0x81, 0x00
    GDTSET SEL_LDTNP, ldt, 4 * 8 - 1, 0x02, 0x00
    ; TSS: SS0:ESP0, I/O bitmap at 0x68 (ports 0..0x3ff; only 0x80 allowed)
    mov dword [tss + 4], kstack_top
    mov dword [tss + 8], SEL_DATA0
    mov word [tss + 0x66], tss_iomap - tss
    mov edi, tss_iomap
    mov ecx, 129
    mov al, 0xff
    rep stosb
    and byte [tss_iomap + 0x80 / 8], ~(1 << (0x80 & 7))
    GDTSET SEL_TSS, tss, tss_end - tss - 1, 0x89, 0x00
    ; IDT: ring-3 services, test gates
    IDTSET VEC_SYS, sys_handler, SEL_CODE0, 0xee
    IDTSET VEC_SHOW, show_handler, SEL_CODE0, 0xee
    IDTSET VEC_DPL0, show_handler, SEL_CODE0, 0x8e
    IDTSET VEC_RING0, ring0_handler, SEL_CODE0, 0xee
    IDTSET VEC_NP, show_handler, SEL_CODE0, 0x0e          ; P=0
    IDTSET 4, isr_stub_4, SEL_CODE0, 0xee                 ; INTO allowed from ring 3
    mov dword [exc_hook], exc_hook_fn
    ; the LDT's data segment reads this
    mov dword [LOWBUF_BASE + 0x10], 0x1d70da7a

    ; ------------------------------------------------------------ system registers
    PRINTLN '-- system registers'
    sgdt [dtbuf]
    PRINT 'sgdt limit '
    PHEX16 [dtbuf]
    PRINT ' base '
    PHEX32 [dtbuf + 2]
    PRINT ' (gdt '
    PHEX32 gdt
    PRINTLN ')'
    sidt [dtbuf]
    PRINT 'sidt limit '
    PHEX16 [dtbuf]
    PRINT ' base '
    PHEX32 [dtbuf + 2]
    PRINT ' (idt '
    PHEX32 idt
    PRINTLN ')'
    mov eax, cr0
    PRINT 'cr0 '
    PHEX32 eax
    mov word [dtbuf], 0xeeee
    smsw [dtbuf]
    PRINT ' smsw m16 '
    PHEX16 [dtbuf]
    mov eax, 0xeeeeeeee
    smsw ax
    PRINT ' smsw r16 '
    PHEX32 eax
    NL
    mov ax, SEL_LDT
    lldt ax
    mov ax, SEL_TSS
    ltr ax
    mov eax, 0xeeeeeeee
    sldt ax
    PRINT 'sldt '
    PHEX32 eax
    mov word [dtbuf], 0xeeee
    str [dtbuf]
    PRINT ' str m16 '
    PHEX16 [dtbuf]
    NL
    ; LDT data segment (base 2 MiB): read through it
    mov ax, LSEL_LOW3
    mov fs, ax
    mov eax, [fs:0x10]
    PRINT 'ldt seg read '
    PHEX32 eax
    mov ax, fs
    PRINT ' fs '
    PHEX16 eax
    NL
    mov ax, SEL_DATA0
    mov fs, ax

    ; ------------------------------------------------------------ ring-0 faults
    PRINTLN '-- ring 0 faults'
    XT 'mov ds,0x100 (beyond GDT limit)', {mov ax, 0x100}, {mov ds, ax}
    XT 'mov ds,0xfff8', {mov ax, 0xfff8}, {mov ds, ax}
    XT 'mov ds,execute-only code', {mov ax, SEL_XO}, {mov ds, ax}
    XT 'mov es,TSS', {mov ax, SEL_TSS}, {mov es, ax}
    XT 'mov es,LDT descriptor', {mov ax, SEL_LDT}, {mov es, ax}
    XT 'mov ds,not present', {mov ax, SEL_NP}, {mov ds, ax}
    XT 'mov ds,0x13 (RPL3 > DPL0)', {mov ax, 0x13}, {mov ds, ax}
    XT 'mov ds,ldt not present', {mov ax, LSEL_NP}, {mov ds, ax}
    XT 'mov ds,0x24 (beyond LDT limit)', {mov ax, 0x24}, {mov ds, ax}
    XT 'mov fs,conforming readable code (ok)', {mov ax, SEL_CONF}, {mov fs, ax}
    mov ax, fs
    PRINT 'fs='
    PHEX16 eax
    NL
    XT 'mov gs,DPL2 data (ok)', {mov ax, SEL_D2}, {mov gs, ax}
    ; (a null DS must not be used for any access: a real CPU raises #GP(0),
    ; QEMU does not -- so reload DS before printing)
    PRINT 'mov ds,null (ok): '
    xor eax, eax
    mov ds, ax
    mov bx, ds
    mov ax, SEL_DATA0
    mov ds, ax
    PRINT 'ds='
    PHEX16 ebx
    NL
    mov ax, SEL_DATA0
    mov ds, ax
    mov fs, ax
    mov gs, ax
    XT 'mov ss,null', {mov ax, 0}, {mov ss, ax}
    XT 'mov ss,not present', {mov ax, SEL_NP}, {mov ss, ax}
    XT 'mov ss,read-only', {mov ax, SEL_RO}, {mov ss, ax}
    XT 'mov ss,0x23 (RPL != CPL)', {mov ax, 0x23}, {mov ss, ax}
    XT 'mov ss,0x20 (DPL != CPL)', {mov ax, 0x20}, {mov ss, ax}
    XT 'mov ss,code', {mov ax, SEL_CODE0}, {mov ss, ax}
    XT 'mov ss,DPL2 data', {mov ax, SEL_D2}, {mov ss, ax}
    mov [sv_esp], esp
    XT 'pop ss,not present', {push dword SEL_NP}, {pop ss}
    mov esp, [sv_esp]                   ; the faulting pop leaves the value on the stack
    XT 'jmp far data segment', {jmp SEL_DATA0:0}
    XT 'call far not-present code', {call SEL_CNP:0}
    XT 'call far DPL3 code', {call (SEL_CODE3 | 3):0}
    XT 'jmp far TSS with limit 0x20', {jmp SEL_BADTSS:0}
    XT 'jmp far reserved system type', {jmp SEL_RSV:0}
    XT 'ltr busy TSS', {mov ax, SEL_TSS}, {ltr ax}
    XT 'ltr data segment', {mov ax, SEL_DATA0}, {ltr ax}
    XT 'lldt data segment', {mov ax, SEL_DATA0}, {lldt ax}
    XT 'lldt not-present LDT', {mov ax, SEL_LDTNP}, {lldt ax}
    XT 'ud2', {ud2}
    XT 'mov cs,ax', {mov ax, SEL_CODE0}, {db 0x8e, 0xc8}
    XT 'int3', {int3}
    XT 'int 3', {db 0xcd, 0x03}
    XT 'into OF=0', {push dword 0x002}, {popfd}, {into}
    XT 'into OF=1', {push dword 0x802}, {popfd}, {into}
    push dword 2
    popfd
    XT 'bound 5 in [10,20]', {mov eax, 5}, {bound eax, [bnd32]}
    XT 'bound 10 in [10,20]', {mov eax, 10}, {bound eax, [bnd32]}
    XT 'bound 20 in [10,20]', {mov eax, 20}, {bound eax, [bnd32]}
    XT 'bound 21 in [10,20]', {mov eax, 21}, {bound eax, [bnd32]}
    XT 'bound -1 in [10,20]', {mov eax, -1}, {bound eax, [bnd32]}
    XT 'bound16 -3 in [-5,5]', {mov eax, 0x1234fffd}, {bound ax, [bnd16]}
    XT 'bound16 6 in [-5,5]', {mov eax, 0xffff0006}, {bound ax, [bnd16]}
    XT 'int 0x90 (gate not present)', {int VEC_NP}
    sidt [saved_idtr]
    mov word [small_idtr], 0x50 * 8 - 1
    mov eax, [saved_idtr + 2]
    mov [small_idtr + 2], eax
    lidt [small_idtr]
    XT 'int 0x60 (beyond IDT limit 0x27f)', {int 0x60}
    lidt [saved_idtr]
    PRINTLN 'int 0x81 from ring 0 (DPL3 interrupt gate):'
    mov dword [show_expect], .after_int81_r0
    push dword 0x8d7                    ; arithmetic flags set: the frame must show them
    popfd
    int VEC_SHOW
.after_int81_r0:
    push dword 2
    popfd

    ; ------------------------------------------------------------ LAR/LSL/VERR/VERW, CPL 0
    PRINTLN '-- lar/lsl/verr/verw at CPL 0'
    mov edi, scan_buf
    xor ecx, ecx
.scan0:
    call scan_sel
    add edi, SCAN_REC
    or ecx, 3
    call scan_sel
    add edi, SCAN_REC
    and ecx, ~3
    add ecx, 8
    cmp ecx, 0x100
    jb .scan0
    mov esi, ldt_sels
.scan0l:
    movzx ecx, word [esi]
    cmp ecx, 0xffff
    je .scan0d
    call scan_sel
    add edi, SCAN_REC
    add esi, 2
    jmp .scan0l
.scan0d:
    mov dword [edi], 0xffffffff         ; end marker
    mov esi, scan_buf
    call print_scan

    ; ------------------------------------------------------------ ARPL
    PRINTLN '-- arpl (dst, src -> dst zf)'
    xor esi, esi
.arpl_d:
    xor edi, edi
.arpl_s:
    mov eax, 0xabcd1230
    or eax, esi
    mov ebx, 0x00005678
    or ebx, edi
    push dword 0x8d7
    popfd
    arpl ax, bx
    pushfd
    pop edx
    shr edx, 6
    and edx, 1
    PRINT 'arpl '
    PHEXN esi, 1
    SPC
    PHEXN edi, 1
    PRINT ' -> '
    PHEX32 eax
    SPC
    PHEXN edx, 1
    NL
    inc edi
    cmp edi, 4
    jb .arpl_s
    inc esi
    cmp esi, 4
    jb .arpl_d
    push dword 2
    popfd

    ; ------------------------------------------------------------ ring 3
    PRINTLN '-- to ring 3 via iret (ds=es=0x10, fs=0x23, gs=DPL2 data)'
    mov ax, SEL_DATA3 | 3
    mov fs, ax
    mov ax, SEL_D2
    mov gs, ax
    mov [r0_esp], esp
    push dword SEL_DATA3 | 3
    push dword r3stack_top
    push dword 0x002
    push dword SEL_CODE3 | 3
    push dword r3_entry
    iret
r0_back:
    PRINTLN '-- back in ring 0'
    mov ax, cs
    PRINT 'cs '
    PHEX16 eax
    mov ax, ss
    PRINT ' ss '
    PHEX16 eax
    mov eax, esp
    sub eax, [r0_esp]
    PRINT ' esp-saved '
    PHEX32 eax
    PRINT ' tss.esp0 '
    PHEX32 [tss + 4]
    PRINT ' (kstack_top '
    PHEX32 kstack_top
    PRINTLN ')'
    PRINTLN '-- lar/lsl/verr/verw at CPL 3 (recorded in ring 3)'
    mov esi, scan_buf3
    call print_scan
    PRINTLN 'pmode done'
    ret

; ================================================================ ring 3 code
r3_entry:
    mov ax, ds                          ; read the selectors without using them
    mov bx, es
    mov cx, fs
    mov dx, gs
    mov si, cs
    mov di, ss
    push dword SEL_DATA3 | 3
    pop ds
    push dword SEL_DATA3 | 3
    pop es
    R3PRINT 'ring3: cs='
    R3HEX16 esi
    R3PRINT 'ss='
    R3HEX16 edi
    R3PRINT 'ds='
    R3HEX16 eax
    R3PRINT 'es='
    R3HEX16 ebx
    R3PRINT 'fs='
    R3HEX16 ecx
    R3PRINT 'gs='
    R3HEX16 edx
    pushfd
    pop eax
    R3PRINT 'eflags='
    R3HEX eax
    mov eax, esp
    R3PRINT 'esp='
    R3HEX eax
    R3NL

    ; INT to a DPL3 interrupt gate: stack switch to SS0:ESP0
    R3PRINT `int 0x81 from ring 3:\n`
    mov dword [show_expect], .after_int81
    int VEC_SHOW
.after_int81:
    mov eax, esp
    R3PRINT 'back, esp='
    R3HEX eax
    R3NL

    XT3 'int 0x82 (DPL0 gate)', {int VEC_DPL0}
    XT3 'int3 (DPL0 gate)', {int3}
    XT3 'int 3 (DPL0 gate)', {db 0xcd, 0x03}
    XT3 'int 0x90 (not present, DPL0)', {int VEC_NP}
    XT3 'into OF=1 (DPL3 gate)', {push dword 0x802}, {popfd}, {into}
    push dword 0x002
    popfd

    ; call gate with 2 parameters
    R3PRINT `call gate, 2 params:\n`
    mov [r3_esp_before], esp
    push dword 0x11111111
    push dword 0x22222222
    mov [r3_esp_params], esp
    call (SEL_CG | 3):0x12345678        ; offset ignored
.after_cg:
    mov eax, esp
    sub eax, [r3_esp_before]
    R3PRINT 'after retf 8: esp delta='
    R3HEX eax
    mov ax, cs
    R3PRINT 'cs='
    R3HEX16 eax
    R3NL
    XT3 'call gate DPL0', {call (SEL_CG0 | 3):0}
    XT3 'call task gate DPL0', {call (SEL_TG | 3):0}

    ; I/O with IOPL 0: the TSS bitmap decides
    XT3 'out 0x80,al (allowed)', {mov al, 0x55}, {out 0x80, al}
    XT3 'in al,0x81', {in al, 0x81}
    XT3 'out 0x80,ax (0x81 denied)', {out 0x80, ax}
    XT3 'in al,dx dx=0x3fd', {mov edx, 0x3fd}, {in al, dx}
    XT3 'out dx,al dx=0x400 (beyond bitmap)', {mov edx, 0x400}, {out dx, al}
    XT3 'outsb dx=0x80 (allowed)', {mov edx, 0x80}, {mov esi, r3_byte}, {outsb}
    XT3 'cli', {cli}
    XT3 'sti', {sti}
    XT3 'hlt', {hlt}
    XT3 'mov eax,cr0', {mov eax, cr0}
    XT3 'lgdt', {lgdt [dtbuf]}
    XT3 'mov ds,0x10', {mov ax, SEL_DATA0}, {mov ds, ax}
    XT3 'mov ss,0x10', {mov ax, SEL_DATA0}, {mov ss, ax}
    XT3 'mov ds,DPL2 data RPL3', {mov ax, SEL_D2 | 3}, {mov ds, ax}
    XT3 'mov fs,conforming code (ok)', {mov ax, SEL_CONF | 3}, {mov fs, ax}
    mov ax, fs
    R3PRINT 'fs='
    R3HEX16 eax
    R3NL
    mov ax, SEL_DATA3 | 3
    mov fs, ax
    XT3 'mov gs,LDT DPL3 data (ok)', {mov ax, LSEL_LOW3 | 3}, {mov gs, ax}
    mov eax, [gs:0x10]
    R3PRINT 'gs:0x10='
    R3HEX eax
    R3NL
    XT3 'ud2', {ud2}

    ; POPF at CPL 3 with IOPL 0: IF and IOPL silently unchanged, AC may change
    push dword 0x002
    popfd
    pushfd
    pop eax
    R3PRINT 'popf: before='
    R3HEX eax
    or eax, 0x3200 | 0x40000 | 0x8d5    ; IOPL=3, IF, AC, arithmetic flags
    push eax
    popfd
    pushfd
    pop eax
    R3PRINT 'after popf(|0x43ad5)='
    R3HEX eax
    push dword 0x3202
    popfd
    pushfd
    pop eax
    R3PRINT 'after popf(0x3202)='
    R3HEX eax
    push word 0x3200
    popfw
    pushfd
    pop eax
    R3PRINT 'after popfw(0x3200)='
    R3HEX eax
    R3NL
    push dword 0x002
    popfd

    ; unprivileged system-register reads (CR4.UMIP = 0)
    mov word [r3_buf], 0xeeee
    smsw [r3_buf]
    R3PRINT 'smsw='
    R3HEX16 [r3_buf]
    sgdt [r3_buf]
    R3PRINT 'sgdt='
    R3HEX16 [r3_buf]
    R3HEX [r3_buf + 2]
    sidt [r3_buf]
    R3PRINT 'sidt='
    R3HEX16 [r3_buf]
    R3HEX [r3_buf + 2]
    mov word [r3_buf], 0xeeee
    sldt [r3_buf]
    R3PRINT 'sldt='
    R3HEX16 [r3_buf]
    mov word [r3_buf], 0xeeee
    str [r3_buf]
    R3PRINT 'str='
    R3HEX16 [r3_buf]
    R3NL

    ; LAR/LSL/VERR/VERW at CPL 3 (printed later from ring 0)
    mov edi, scan_buf3
    mov ecx, 3
.scan3:
    call scan_sel
    add edi, SCAN_REC
    add ecx, 8
    cmp ecx, 0x100
    jb .scan3
    mov esi, ldt_sels3
.scan3l:
    movzx ecx, word [esi]
    cmp ecx, 0xffff
    je .scan3d
    call scan_sel
    add edi, SCAN_REC
    add esi, 2
    jmp .scan3l
.scan3d:
    mov dword [edi], 0xffffffff         ; end marker

    ; far RET from ring 0 nulls DS/ES/GS if they hold data segments with DPL < 3
    R3PRINT `call gate 2 (ring 0 loads ds=es=0x10, fs=0x23, gs=DPL2 data, then retf):\n`
    call (SEL_CG2 | 3):0
    mov ax, ds                          ; do not touch memory through them
    mov bx, es
    mov cx, fs
    mov dx, gs
    push dword SEL_DATA3 | 3
    pop ds
    push dword SEL_DATA3 | 3
    pop es
    R3PRINT 'after retf: ds='
    R3HEX16 eax
    R3PRINT 'es='
    R3HEX16 ebx
    R3PRINT 'fs='
    R3HEX16 ecx
    R3PRINT 'gs='
    R3HEX16 edx
    mov ax, cs
    R3PRINT 'cs='
    R3HEX16 eax
    R3NL

    R3PRINT `back to ring 0 via int 0x83\n`
    int VEC_RING0
    R3PRINT `not reached\n`
    jmp $

; ================================================================ handlers
; INT 0x80: ring-3 print service (DPL3 interrupt gate)
sys_handler:
    push ds
    push es
    pushad
    mov bx, SEL_DATA0
    mov ds, bx
    mov es, bx
    mov ebx, [esp + 16]                 ; saved ebx
    cmp eax, 1
    jne .n1
    call puts
    jmp .out
.n1:
    cmp eax, 2
    jne .n2
    PHEX32 ebx
    SPC
    jmp .out
.n2:
    cmp eax, 3
    jne .n3
    NL
    jmp .out
.n3:
    PHEX16 ebx
    SPC
.out:
    popad
    pop es
    pop ds
    iret

; INT 0x81 (DPL3 interrupt gate), also used for the not-present/DPL0 gates
show_handler:
    push ds
    push es
    pushad
    mov ebp, esp
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    lea ebx, [ebp + 40]                 ; frame: eip cs eflags [esp ss]
    PRINT '  frame eip='
    PHEX32 [ebx]
    PRINT ' (exp '
    PHEX32 [show_expect]
    PRINT ') cs='
    PHEX16 [ebx + 4]
    PRINT ' eflags='
    PHEX32 [ebx + 8]
    test byte [ebx + 4], 3
    jz .same
    PRINT ' esp='
    PHEX32 [ebx + 12]
    PRINT ' ss='
    PHEX16 [ebx + 16]
    mov eax, kstack_top
    sub eax, ebx
    PRINT ' (kstack_top - frame '
    PHEX32 eax
    PRINT ')'
.same:
    mov ax, ss
    PRINT ' handler ss='
    PHEX16 eax
    pushfd
    pop eax
    and eax, ~F_ARITH                   ; (the handler's own arithmetic flags are noise)
    PRINT ' handler eflags&~8d5='
    PHEX32 eax
    NL
    popad
    pop es
    pop ds
    iret

; INT 0x83 (DPL3): return to ring 0, discarding the ring-3 context
ring0_handler:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, [r0_esp]
    jmp r0_back

; call gate SEL_CG (2 params): print the inner stack, return with RETF 8
cg_handler:
    push ds
    push ebp
    mov ebp, esp                        ; [ebp+8] eip, +12 cs, +16 p0, +20 p1, +24 esp3, +28 ss3
    mov ax, SEL_DATA0
    mov ds, ax
    PRINT '  gate: eip='
    PHEX32 [ebp + 8]
    PRINT ' (exp '
    PHEX32 r3_entry.after_cg
    PRINT ') cs='
    PHEX16 [ebp + 12]
    PRINT ' p0='
    PHEX32 [ebp + 16]
    PRINT ' p1='
    PHEX32 [ebp + 20]
    PRINT ' esp3='
    PHEX32 [ebp + 24]
    PRINT ' (exp '
    PHEX32 [r3_esp_params]
    PRINT ') ss3='
    PHEX16 [ebp + 28]
    lea eax, [ebp + 8]
    neg eax
    add eax, kstack_top
    PRINT ' kstack_top-frame='
    PHEX32 eax
    mov ax, cs
    PRINT ' cs='
    PHEX16 eax
    NL
    pop ebp
    pop ds
    retf 8

; call gate SEL_CG2: load ring-0 data segments, far return to ring 3
cg2_handler:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov ax, SEL_DATA3 | 3
    mov fs, ax
    mov ax, SEL_D2
    mov gs, ax
    retf

; exception hook: for faults from ring 3 show the outer stack
exc_hook_fn:
    test byte [ebp + EXF_CS], 3
    jz .r
    PRINT '  from cs='
    PHEX16 [ebp + EXF_CS]
    PRINT ' ss='
    PHEX16 [ebp + EXF_SS]
    PRINT ' esp='
    PHEX32 [ebp + EXF_ESP]
    NL
.r:
    ret

; ================================================================ LAR & co
; scan_sel: ecx = selector, edi = record (unprivileged; callable at CPL 3)
; record: sel, lar zf, lar (masked 00F0FF00), lar16 (masked FF00), lsl zf, lsl, verr zf, verw zf
SCAN_REC equ 32
scan_sel:
    push eax
    push ebx
    mov [edi], ecx
    mov eax, 0xeeeeeeee
    lar eax, ecx
    setz bl
    movzx ebx, bl
    mov [edi + 4], ebx
    jnz .1
    and eax, 0x00f0ff00
.1:
    mov [edi + 8], eax
    mov eax, 0xeeeeeeee
    lar ax, cx
    jnz .2
    and eax, 0xffffff00
.2:
    mov [edi + 12], eax
    mov eax, 0xeeeeeeee
    lsl eax, ecx
    setz bl
    movzx ebx, bl
    mov [edi + 16], ebx
    mov [edi + 20], eax
    verr cx
    setz bl
    movzx ebx, bl
    mov [edi + 24], ebx
    verw cx
    setz bl
    movzx ebx, bl
    mov [edi + 28], ebx
    pop ebx
    pop eax
    ret

; print_scan: esi = records, terminated by sel = 0xffffffff
print_scan:
    pushad
.l:
    cmp dword [esi], 0xffffffff
    je .d
    PRINT 'sel '
    PHEX16 [esi]
    PRINT ' lar '
    PHEXN [esi + 4], 1
    SPC
    PHEX32 [esi + 8]
    SPC
    PHEX16 [esi + 12]
    PRINT ' lsl '
    PHEXN [esi + 16], 1
    SPC
    PHEX32 [esi + 20]
    PRINT ' verr '
    PHEXN [esi + 24], 1
    PRINT ' verw '
    PHEXN [esi + 28], 1
    NL
    add esi, SCAN_REC
    jmp .l
.d:
    popad
    ret

section .rodata
align 4
bnd32: dd 10, 20
bnd16: dw -5, 5
ldt_sels: dw 0x04, 0x07, 0x0c, 0x0f, 0x14, 0x1c, 0x24, 0x100, 0xfff8, 0xffff
ldt_sels3: dw 0x07, 0x0f, 0x17, 0x1f, 0xffff
r3_byte: db 0x42

section .data
align 8
; LDT: 0x04 data DPL0 flat, 0x0c data DPL3 base 2 MiB limit 0xffff,
;      0x14 code DPL0 flat, 0x1c data DPL0 not present
ldt:
    dq 0x00cf93000000ffff
    dq 0x0000f3200000ffff             ; base 0x00200000 (byte 4 = 0x20)
    dq 0x00cf9b000000ffff
    dq 0x00cf13000000ffff
sv_esp: dd 0

section .bss
alignb 16
tss: resb 0x68
tss_iomap: resb 129
tss_end:
alignb 16
dummy_tss: resb 0x68
dtbuf: resb 8
saved_idtr: resb 8
small_idtr: resb 8
r0_esp: resd 1
r3_esp_before: resd 1
r3_esp_params: resd 1
show_expect: resd 1
r3_buf: resb 8
scan_buf: resb SCAN_REC * 80
scan_buf3: resb SCAN_REC * 40
alignb 16
kstack: resb 4096
kstack_top:
r3stack: resb 2048
r3stack_top:
