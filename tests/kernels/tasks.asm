; tasks.asm -- hardware task switching (Intel SDM vol. 3, chapter 7).
;
;   * JMP to a 32-bit TSS descriptor and back: the outgoing task's registers,
;     EIP, EFLAGS and selectors saved in its TSS (and the fields a switch must
;     not write -- link, SS0:ESP0..SS2:ESP2, CR3, LDT, I/O map base -- left
;     alone), the incoming task's registers, EFLAGS (NT from the TSS), LDTR,
;     TR, CR0.TS; busy bits read back from the GDT
;   * CALL through a task gate, nested CALL of a TSS, IRET with NT=1 back up
;     the chain: back links, NT, busy bits, NT cleared in the saved EFLAGS
;     image of the task left by IRET
;   * INT n through an IDT task gate (twice: the handler task resumes after
;     its IRET)
;   * a ring-3 task (entered by JMP from ring 0; CALL through a DPL3 task gate
;     to a ring-0 task and IRET back to ring 3; an interrupt using its TSS's
;     SS0:ESP0; JMP through a DPL3 task gate to the ring-0 main task)
;   * a 16-bit TSS (CALL + IRET; 16-bit register image)
;   * #DF through an IDT task gate (a #GP whose handler's code segment is not
;     present): error code on the new task's stack, back link, the faulting
;     EIP saved in the old TSS; the handler task fixes it and IRETs back
;   * faults detected before the switch: #GP (busy TSS, task gate to a
;     non-TSS, TSS through an RPL3 selector), #TS (limit < 67h, also through a
;     task gate), #NP (TSS, task gate not present); IRET with NT=1 to a
;     non-busy TSS, beyond the GDT limit, to a TI=1 or to a data selector (#TS)
;   * faults after the switch (in the new task's context, delivered through
;     task gates for #TS and #NP): bad LDT selector, CS/SS/DS/ES/FS checks
;   * with paging: CR3 loaded from the new TSS, and the old TSS's CR3 field
;     not written
;
; Not tested (implementation-specific or QEMU is not a valid oracle): the
; upper halves of 16-bit selector fields and of general registers loaded from
; a 16-bit TSS, FS/GS after a switch to a 16-bit TSS, a not-present SS in a
; new TSS (SDM: #SS, QEMU: #NP), a task-gate selector with TI=1 (SDM: #GP,
; QEMU: #TS), the T (debug trap) bit, EFLAGS.RF in saved images, and the EIP
; of a fault raised after the commit point (SDM: the fault belongs to the new
; task, so its first instruction; QEMU 7.2 unwinds to the JMP in the old task
; and saves that EIP in the new task's TSS) -- the handler task prints only
; the error code, the back link and the busy bit.
; QEMU 7.2 computes the EFLAGS image it saves on an IRET task switch from
; stale lazy-flag state unless a flag-writing POPF just ended the translation
; block; every task here therefore loads known flags with POPFD right before
; its IRET (SDM: the image is simply the current EFLAGS with NT cleared).

%include "lib.inc"

SEL_A       equ SEL_TSS         ; 0x28 the main task
SEL_B       equ 0x30            ; JMP target
SEL_C       equ 0x38            ; called through SEL_TGC
SEL_TGC     equ 0x40            ; task gate -> SEL_C
SEL_D       equ 0x48            ; called by C
SEL_DF      equ 0x50            ; #DF handler task (IDT 8)
SEL_TSH     equ 0x58            ; #TS handler task (IDT 10, post-commit tests)
SEL_E       equ 0x60            ; task with broken TSS fields
SEL_SMALL   equ 0x68            ; TSS descriptor with limit 0x20
SEL_TGSMALL equ 0x70            ; task gate -> SEL_SMALL
SEL_TGDATA  equ 0x78            ; task gate -> SEL_DATA0
SEL_TGNP    equ 0x80            ; task gate, not present
SEL_TSSNP   equ 0x88            ; TSS, not present
SEL_CNP     equ 0x90            ; code segment, not present
SEL_LDT     equ 0x98            ; LDT of task B (1 entry: flat data)
SEL_RO      equ 0xa0            ; data, read-only
SEL_XO      equ 0xa8            ; code, execute-only
SEL_F16     equ 0xb0            ; 16-bit TSS
SEL_I       equ 0xb8            ; INT 0x40 handler task
SEL_G       equ 0xc0            ; available TSS that never runs
SEL_NPH     equ 0xc8            ; #NP handler task (IDT 11, post-commit tests)
SEL_CODEB   equ 0xd0            ; 32-bit code, base 1 MiB (for the 16-bit task)
SEL_DNP     equ 0xd8            ; data, not present
SEL_P       equ 0xe0            ; paging task
SEL_LDT2    equ 0xe8            ; LDT, not present
SEL_R       equ 0x70            ; ring-3 task (reuses SEL_TGSMALL's slot)
SEL_Q       equ 0x78            ; ring-0 task called from R (reuses SEL_TGDATA)
SEL_TGQ3    equ 0x80            ; DPL3 task gate -> SEL_Q (reuses SEL_TGNP)
SEL_TGA3    equ 0xf0            ; DPL3 task gate -> SEL_A
VEC_R       equ 0x42            ; DPL3 interrupt gate used by task R

VEC_TASK    equ 0x40            ; IDT task gate -> SEL_I
VEC_BUSY    equ 0x41            ; IDT task gate -> SEL_A (busy while A runs)

LIN         equ 0x00400000      ; paging test page

; TSS offsets (32-bit)
T_LINK equ 0x00
T_ESP0 equ 0x04
T_SS0  equ 0x08
T_ESP1 equ 0x0c
T_SS1  equ 0x10
T_ESP2 equ 0x14
T_SS2  equ 0x18
T_CR3  equ 0x1c
T_EIP  equ 0x20
T_EFL  equ 0x24
T_EAX  equ 0x28
T_ECX  equ 0x2c
T_EDX  equ 0x30
T_EBX  equ 0x34
T_ESP  equ 0x38
T_EBP  equ 0x3c
T_ESI  equ 0x40
T_EDI  equ 0x44
T_ES   equ 0x48
T_CS   equ 0x4c
T_SS   equ 0x50
T_DS   equ 0x54
T_FS   equ 0x58
T_GS   equ 0x5c
T_LDT  equ 0x60
T_IOMAP equ 0x64                ; T bit (word) + I/O map base (word)

%macro GATESET 3                ; gdt selector, tss selector, access byte
    pushad
    mov edi, gdt + (%1)
    mov dword [edi], (%2) << 16
    mov dword [edi + 4], (%3) << 8
    popad
%endmacro

; TSSINIT tss, eip, esp: a ring-0 flat task (EFLAGS=2, CR3 = current)
%macro TSSINIT 3
    pushad
    mov edi, %1
    mov ebx, %2
    mov ecx, %3
    call tss_init
    popad
%endmacro

; XT 'description', insn...: print, run; an exception prints its line
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
    push dword 2                ; (NT may be set in the restored EFLAGS)
    popfd
    mov dword [exc_resume], 0
%endmacro

; BAD 'description', offset, value: run task E with one TSS field broken;
; it either faults (a handler task prints) or prints "E ran"
%macro BAD 3
    PRINT %1
    PRINT ': '
    TSSINIT tssE, task_e, stackE_top
    mov dword [tssE + %2], %3
    jmp SEL_E:0
%endmacro

; TYPES: print the type nibble (9 available, b busy; 1/3 for 16-bit) of some TSSs
%macro TYPE1 2
    PRINT %1
    movzx eax, byte [gdt + (%2) + 5]
    and eax, 0x0f
    PHEXN eax, 1
%endmacro

main:
    ; ------------------------------------------------------------ descriptors
    GDTSET SEL_A, tssA, 0x67, 0x89, 0x00
    GDTSET SEL_B, tssB, 0x67, 0x89, 0x00
    GDTSET SEL_C, tssC, 0x67, 0x89, 0x00
    GATESET SEL_TGC, SEL_C, 0x85
    GDTSET SEL_D, tssD, 0x67, 0x89, 0x00
    GDTSET SEL_DF, tssDF, 0x67, 0x89, 0x00
    GDTSET SEL_TSH, tssTS, 0x67, 0x89, 0x00
    GDTSET SEL_E, tssE, 0x67, 0x89, 0x00
    GDTSET SEL_SMALL, tssG, 0x20, 0x89, 0x00
    GATESET SEL_TGSMALL, SEL_SMALL, 0x85
    GATESET SEL_TGDATA, SEL_DATA0, 0x85
    GATESET SEL_TGNP, SEL_C, 0x05
    GDTSET SEL_TSSNP, tssG, 0x67, 0x09, 0x00
    GDTSET SEL_CNP, 0, 0xfffff, 0x1b, 0xc0
    GDTSET SEL_LDT, ldt, 7, 0x82, 0x00
    GDTSET SEL_RO, 0, 0xfffff, 0x91, 0xc0
    GDTSET SEL_XO, 0, 0xfffff, 0x99, 0xc0
    GDTSET SEL_F16, tssF, 0x2b, 0x81, 0x00
    GDTSET SEL_I, tssI, 0x67, 0x89, 0x00
    GDTSET SEL_G, tssG, 0x67, 0x89, 0x00
    GDTSET SEL_NPH, tssNP, 0x67, 0x89, 0x00
    GDTSET SEL_CODEB, image_base, 0xfffff, 0x9b, 0xc0
    GDTSET SEL_DNP, 0, 0xfffff, 0x13, 0xc0
    GDTSET SEL_P, tssP, 0x67, 0x89, 0x00
    GDTSET SEL_LDT2, ldt, 7, 0x02, 0x00
    ; TSS A: only the fields a task switch reads back matter; the others
    ; carry markers that must survive
    TSSINIT tssA, 0, 0
    mov dword [tssA + T_LINK], 0x5a5a1234
    mov dword [tssA + T_ESP0], 0xe0e0e0e0
    mov dword [tssA + T_SS0], 0x5a5a0010
    mov dword [tssA + T_ESP1], 0xe1e1e1e1
    mov dword [tssA + T_SS1], 0x5a5a0011
    mov dword [tssA + T_ESP2], 0xe2e2e2e2
    mov dword [tssA + T_SS2], 0x5a5a0012
    mov dword [tssA + T_IOMAP], 0x00680000
    mov ax, SEL_A
    ltr ax

    ; ------------------------------------------------------------ JMP to a TSS
    PRINTLN '-- jmp to TSS B and back'
    TSSINIT tssB, task_b, stackB_top
    mov dword [tssB + T_EFL], 0x48d7    ; NT OF SF ZF AF PF CF
    mov dword [tssB + T_EAX], 0x0b0b0001
    mov dword [tssB + T_ECX], 0x0b0b0002
    mov dword [tssB + T_EDX], 0x0b0b0003
    mov dword [tssB + T_EBX], 0x0b0b0004
    mov dword [tssB + T_EBP], 0x0b0b0005
    mov dword [tssB + T_ESI], 0x0b0b0006
    mov dword [tssB + T_EDI], 0x0b0b0007
    mov dword [tssB + T_LDT], SEL_LDT
    mov dword [tssB + T_LINK], 0x4321
    mov dword [tssB + T_FS], SEL_DATA3 | 3
    mov dword [tssB + T_GS], 0
    call show_types
    mov ax, SEL_DATA3 | 3
    mov fs, ax
    xor eax, eax
    mov gs, ax
    mov [a_esp], esp
    push dword 0x8d7
    popfd
    mov eax, 0xa0a0a001
    mov ecx, 0xa0a0a002
    mov edx, 0xa0a0a003
    mov ebx, 0xa0a0a004
    mov ebp, 0xa0a0a005
    mov esi, 0xa0a0a006
    mov edi, 0xa0a0a007
    jmp SEL_B:0
a_after_jmp:
    pushfd
    mov [saved + 0], eax
    mov [saved + 4], ecx
    mov [saved + 8], edx
    mov [saved + 12], ebx
    mov [saved + 16], ebp
    mov [saved + 20], esi
    mov [saved + 24], edi
    pop eax
    and eax, ~0x10000
    mov [saved + 28], eax
    mov [saved + 32], esp
    push dword 2
    popfd
    PRINTLN 'A resumed:'
    PRINT '  eax..edi'
    mov esi, saved
    mov ecx, 7
    call print_dwords
    PRINT ' eflags '
    PHEX32 [saved + 28]
    mov eax, [saved + 32]
    sub eax, [a_esp]
    PRINT ' esp-before '
    PHEX32 eax
    NL
    mov ax, fs
    PRINT '  fs '
    PHEX16 eax
    mov ax, gs
    PRINT ' gs '
    PHEX16 eax
    str ax
    PRINT ' tr '
    PHEX16 eax
    sldt ax
    PRINT ' ldtr '
    PHEX16 eax
    mov eax, cr0
    and eax, 8
    PRINT ' cr0.ts '
    PHEXN eax, 1
    NL
    clts
    mov ax, SEL_DATA0
    mov fs, ax
    mov gs, ax
    call show_types
    PRINTLN 'TSS B as saved by its jmp back:'
    mov esi, tssB
    call dump_tss
    PRINT '  (task_b.jmp_back_end '
    PHEX32 task_b.back
    PRINTLN ')'

    ; ------------------------------------------------------------ CALL through a task gate
    PRINTLN '-- call task gate -> C, C calls D, iret, iret'
    TSSINIT tssC, task_c, stackC_top
    TSSINIT tssD, task_d, stackD_top
    mov dword [tssC + T_LINK], 0x7777
    mov dword [tssD + T_LINK], 0x8888
    push dword 0x08d5                   ; arithmetic flags set (no NT)
    popfd
    call SEL_TGC:0x12345678             ; (offset ignored)
a_after_call:
    pushfd
    pop eax
    and eax, ~0x10000
    mov [saved], eax
    push dword 2
    popfd
    PRINT 'A resumed: eflags '
    PHEX32 [saved]
    str ax
    PRINT ' tr '
    PHEX16 eax
    NL
    call show_types
    PRINTLN 'TSS C as saved by its iret:'
    mov esi, tssC
    call dump_tss
    PRINT '  (task_c.iret_end '
    PHEX32 task_c.back
    PRINTLN ')'
    PRINTLN 'TSS D as saved by its iret:'
    mov esi, tssD
    call dump_tss
    clts

    ; ------------------------------------------------------------ INT through a task gate
    PRINTLN '-- int 0x40 (IDT task gate -> I), twice'
    TSSINIT tssI, task_i, stackI_top
    IDTSET VEC_TASK, 0, SEL_I, 0x85
    IDTSET VEC_BUSY, 0, SEL_A, 0x85
    mov dword [i_count], 0
    mov eax, 0x1111
    int VEC_TASK
    PRINT 'A: eax '
    PHEX32 eax
    NL
    mov eax, 0x2222
    int VEC_TASK
    PRINT 'A: eax '
    PHEX32 eax
    NL
    PRINT 'TSS I eip-task_i.back '
    mov eax, [tssI + T_EIP]
    sub eax, task_i.back
    PHEX32 eax
    NL
    call show_types
    clts

    ; ------------------------------------------------------------ 16-bit TSS
    PRINTLN '-- call 16-bit TSS F'
    mov edi, tssF
    mov ecx, 0x2c
    xor eax, eax
    rep stosb
    mov word [tssF + 0x0e], task_f - image_base     ; ip (CS base = 1 MiB)
    mov word [tssF + 0x10], 0x08d5                  ; flags
    mov word [tssF + 0x12], 0xf001                  ; ax
    mov word [tssF + 0x14], 0xf002                  ; cx
    mov word [tssF + 0x16], 0xf003                  ; dx
    mov word [tssF + 0x18], 0xf004                  ; bx
    mov word [tssF + 0x1a], 0xfffc                  ; sp (replaced by the task)
    mov word [tssF + 0x1c], 0xf006                  ; bp
    mov word [tssF + 0x1e], 0xf007                  ; si
    mov word [tssF + 0x20], 0xf008                  ; di
    mov word [tssF + 0x22], SEL_DATA0               ; es
    mov word [tssF + 0x24], SEL_CODEB               ; cs
    mov word [tssF + 0x26], SEL_DATA0               ; ss
    mov word [tssF + 0x28], SEL_DATA0               ; ds
    mov word [tssF + 0x2a], 0                       ; ldt
    call SEL_F16:0
    PRINTLN 'A resumed'
    call show_types
    PRINT 'TSS F: link '
    PHEX16 [tssF]
    PRINT ' ip '
    PHEX16 [tssF + 0x0e]
    PRINT ' (exp '
    mov eax, task_f.back - image_base
    PHEX16 eax
    PRINT ') flags '
    PHEX16 [tssF + 0x10]
    PRINT ' ax..di'
    mov esi, tssF + 0x12
    mov ecx, 8
.f16:
    SPC
    PHEX16 [esi]
    add esi, 2
    loop .f16
    PRINT ' es cs ss ds'
    mov esi, tssF + 0x22
    mov ecx, 4
.f16s:
    SPC
    PHEX16 [esi]
    add esi, 2
    loop .f16s
    NL
    clts

    ; ------------------------------------------------------------ #DF through a task gate
    PRINTLN '-- #DF through an IDT task gate'
    TSSINIT tssDF, task_df, stackDF_top
    IDTSET 8, 0, SEL_DF, 0x85
    IDTSET 13, isr_stub_13, SEL_CNP, 0x8e           ; #GP handler's CS not present
    mov eax, 0x100
df_fault:
    mov ds, ax                                      ; #GP(0x100) -> #NP -> #DF
    PRINTLN 'not reached'
df_resume:
    mov [saved], eax
    mov ax, SEL_DATA0
    mov ds, ax
    PRINT 'A resumed at df_resume, eax '
    PHEX32 [saved]
    str ax
    PRINT ' tr '
    PHEX16 eax
    NL
    call show_types
    clts

    ; ------------------------------------------------------------ faults before the switch
    PRINTLN '-- faults detected before the switch'
    XT 'jmp busy TSS (A itself)', {jmp SEL_A:0}
    XT 'call busy TSS (A itself)', {call SEL_A:0}
    XT 'jmp TSS limit 0x20', {jmp SEL_SMALL:0}
    XT 'call TSS limit 0x20', {call SEL_SMALL:0}
    XT 'jmp task gate -> TSS limit 0x20', {jmp SEL_TGSMALL:0}
    XT 'jmp task gate -> data segment', {jmp SEL_TGDATA:0}
    XT 'jmp task gate not present', {jmp SEL_TGNP:0}
    XT 'call TSS not present', {call SEL_TSSNP:0}
    XT 'call task gate with RPL 3', {call (SEL_TGC | 3):0}
    XT 'call TSS with RPL 3', {call (SEL_G | 3):0}
    XT 'int 0x41 (task gate -> busy TSS A)', {int VEC_BUSY}
    mov word [tssA + T_LINK], SEL_G
    XT 'iret NT=1, link -> available TSS', {pushfd}, {or dword [esp], 0x4000}, {popfd}, {iret}
    mov word [tssA + T_LINK], 0x100
    XT 'iret NT=1, link 0x100 (beyond GDT)', {pushfd}, {or dword [esp], 0x4000}, {popfd}, {iret}
    mov word [tssA + T_LINK], 0x0c
    XT 'iret NT=1, link 0x0c (TI=1)', {pushfd}, {or dword [esp], 0x4000}, {popfd}, {iret}
    mov word [tssA + T_LINK], SEL_DATA0
    XT 'iret NT=1, link -> data segment', {pushfd}, {or dword [esp], 0x4000}, {popfd}, {iret}
    mov word [tssA + T_LINK], 0x1234
    call show_types

    ; ------------------------------------------------------------ a ring-3 task
    PRINTLN '-- ring-3 task R: jmp from A, call gate to Q (ring 0) and iret, int, jmp gate to A'
    ; (0x70/0x78/0x80 are reused: the tests above are done with them)
    GDTSET SEL_R, tssR, 0x67, 0x89, 0x00
    GDTSET SEL_Q, tssQ, 0x67, 0x89, 0x00
    GATESET SEL_TGQ3, SEL_Q, 0xe5
    GATESET SEL_TGA3, SEL_A, 0xe5
    IDTSET VEC_R, r_int_handler, SEL_CODE0, 0xee
    TSSINIT tssR, task_r, stackR_top
    mov dword [tssR + T_CS], SEL_CODE3 | 3
    mov dword [tssR + T_SS], SEL_DATA3 | 3
    mov dword [tssR + T_DS], SEL_DATA3 | 3
    mov dword [tssR + T_ES], SEL_DATA3 | 3
    mov dword [tssR + T_FS], SEL_DATA3 | 3
    mov dword [tssR + T_GS], 0
    mov dword [tssR + T_ESP0], stackR0_top
    mov dword [tssR + T_SS0], SEL_DATA0
    TSSINIT tssQ, task_q, stackQ_top
    jmp SEL_R:0
    PRINT 'A resumed: R saw cs '
    PHEX16 [r_vals]
    PRINT ' ss '
    PHEX16 [r_vals + 4]
    PRINT ' eflags '
    PHEX32 [r_vals + 8]
    PRINT ' cs after Q '
    PHEX16 [r_vals + 12]
    PRINT ' str '
    PHEX16 [r_vals + 16]
    NL
    PRINT '  int 0x42 in R: frame cs '
    PHEX16 [h42 + 4]
    PRINT ' esp '
    PHEX32 [h42 + 12]
    PRINT ' ss '
    PHEX16 [h42 + 16]
    PRINT ' handler ss '
    PHEX16 [h42 + 20]
    mov eax, stackR0_top
    sub eax, [h42 + 24]
    PRINT ' stackR0_top-esp '
    PHEX32 eax
    NL
    call show_types
    TYPE1 '  R ', SEL_R
    TYPE1 ' Q ', SEL_Q
    NL
    PRINTLN 'TSS R as saved by its jmp:'
    mov esi, tssR
    call dump_tss
    clts

    ; ------------------------------------------------------------ faults after the switch
    PRINTLN '-- faults in the new task (#TS/#NP through task gates)'
    TSSINIT tssTS, task_fault, stackTS_top
    mov dword [tssTS + T_EBX], 10
    TSSINIT tssNP, task_fault, stackNP_top
    mov dword [tssNP + T_EBX], 11
    IDTSET 10, 0, SEL_TSH, 0x85
    IDTSET 11, 0, SEL_NPH, 0x85
    BAD 'E unchanged', T_EIP, task_e
    BAD 'ldt = data segment', T_LDT, SEL_DATA0
    BAD 'ldt = 0x9c (TI=1)', T_LDT, SEL_LDT | 4
    BAD 'ldt = 0x100 (beyond GDT)', T_LDT, 0x100
    BAD 'ldt not present', T_LDT, SEL_LDT2
    BAD 'cs = data segment', T_CS, SEL_DATA0
    BAD 'cs = null', T_CS, 0
    BAD 'cs = 0x0b (RPL 3, DPL 0 code)', T_CS, SEL_CODE0 | 3
    BAD 'cs not present', T_CS, SEL_CNP
    BAD 'ss = read-only data', T_SS, SEL_RO
    BAD 'ss = 0x23 (DPL 3)', T_SS, SEL_DATA3 | 3
    BAD 'ss = null', T_SS, 0
    BAD 'ss = code', T_SS, SEL_CODE0
    BAD 'ds = execute-only code', T_DS, SEL_XO
    BAD 'ds = not present', T_DS, SEL_DNP
    BAD 'es = 0x100 (beyond GDT)', T_ES, 0x100
    BAD 'fs = TSS', T_FS, SEL_G
    BAD 'gs = 0x13 (RPL 3 > DPL 0)', T_GS, SEL_DATA0 | 3
    BAD 'gs = 0x23 (DPL 3 data, ok)', T_GS, SEL_DATA3 | 3
    BAD 'ds = null (ok)', T_DS, 0
    IDTSET 10, isr_stub_10, SEL_CODE0, 0x8e
    IDTSET 11, isr_stub_11, SEL_CODE0, 0x8e
    call show_types
    str ax
    PRINT 'tr '
    PHEX16 eax
    NL
    clts

    ; ------------------------------------------------------------ CR3 from the TSS
    PRINTLN '-- CR3 loaded from the new TSS (paging)'
    mov dword [pgA], 0xaaaaaaaa
    mov dword [pgB], 0xbbbbbbbb
    mov dword [pgC], 0xcccccccc
    IDMAP4K pt0, 0x003
    mov dword [pdA], pt0 + 3
    mov dword [pdA + 4], ptA + 3
    mov dword [ptA], pgA + 3
    mov dword [pdB], pt0 + 3
    mov dword [pdB + 4], ptB + 3
    mov dword [ptB], pgB + 3
    mov dword [pdC], pt0 + 3
    mov dword [pdC + 4], ptC + 3
    mov dword [ptC], pgC + 3
    mov eax, pdA
    mov cr3, eax
    mov [tssA + T_CR3], eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .pg
.pg:
    TSSINIT tssP, task_p, stackP_top
    mov dword [tssP + T_CR3], pdB
    PRINT 'A reads '
    PHEX32 [LIN]
    NL
    call SEL_P:0
    PRINT 'A reads '
    PHEX32 [LIN]
    mov eax, cr3
    sub eax, pdA
    PRINT ' cr3-pdA '
    PHEX32 eax
    NL
    mov eax, pdC
    mov cr3, eax
    PRINT 'A: cr3 = pdC, reads '
    PHEX32 [LIN]
    NL
    call SEL_P:0
    PRINT 'A reads '
    PHEX32 [LIN]
    mov eax, cr3
    sub eax, pdA
    PRINT ' cr3-pdA '
    PHEX32 eax
    mov eax, [tssA + T_CR3]
    sub eax, pdA
    PRINT ' tssA.cr3-pdA '
    PHEX32 eax
    NL
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    jmp .nopg
.nopg:
    clts
    PRINTLN 'TSS A markers:'
    mov esi, tssA
    call dump_tss
    PRINTLN 'tasks done'
    ret

; ================================================================ tasks
task_b:
    pushfd
    mov [saved + 0], eax
    mov [saved + 4], ecx
    mov [saved + 8], edx
    mov [saved + 12], ebx
    mov [saved + 16], ebp
    mov [saved + 20], esi
    mov [saved + 24], edi
    pop eax
    and eax, ~0x10000
    mov [saved + 28], eax
    mov [saved + 32], esp
    push dword 2
    popfd
    PRINTLN 'B running:'
    PRINT '  eax..edi'
    mov esi, saved
    mov ecx, 7
    call print_dwords
    PRINT ' eflags '
    PHEX32 [saved + 28]
    mov eax, [saved + 32]
    sub eax, stackB_top
    PRINT ' esp-top '
    PHEX32 eax
    NL
    mov ax, cs
    PRINT '  cs '
    PHEX16 eax
    mov ax, ss
    PRINT ' ss '
    PHEX16 eax
    mov ax, ds
    PRINT ' ds '
    PHEX16 eax
    mov ax, es
    PRINT ' es '
    PHEX16 eax
    mov ax, fs
    PRINT ' fs '
    PHEX16 eax
    mov ax, gs
    PRINT ' gs '
    PHEX16 eax
    str ax
    PRINT ' tr '
    PHEX16 eax
    sldt ax
    PRINT ' ldtr '
    PHEX16 eax
    mov eax, cr0
    and eax, 8
    PRINT ' cr0.ts '
    PHEXN eax, 1
    NL
    clts
    mov ax, 0x04                        ; LDT entry 0: flat data
    mov es, ax
    mov eax, [es:ldt_marker]
    PRINT '  via ldt: '
    PHEX32 eax
    PRINT ' link '
    PHEX16 [tssB + T_LINK]
    NL
    mov ax, SEL_DATA0
    mov es, ax
    call show_types
    PRINTLN 'TSS A as saved by the jmp:'
    mov esi, tssA
    call dump_tss
    PRINT '  (a_after_jmp '
    PHEX32 a_after_jmp
    PRINTLN ')'
    push dword 0x08d7                   ; a recognisable EFLAGS image (NT=0)
    popfd
    mov eax, 0xb1b1b1b1
    mov ebx, 0xb2b2b2b2
    jmp SEL_A:0
.back:
    PRINTLN 'B resumed (not expected)'
    jmp $

task_c:
    pushfd
    pop eax
    and eax, ~0x10000
    PRINT 'C running: eflags '
    PHEX32 eax
    PRINT ' link '
    PHEX16 [tssC + T_LINK]
    str ax
    PRINT ' tr '
    PHEX16 eax
    NL
    call show_types
    PRINTLN 'C: call D (TSS)'
    call SEL_D:0
    pushfd
    pop eax
    and eax, ~0x10000
    PRINT 'C resumed: eflags '
    PHEX32 eax
    PRINT ' link '
    PHEX16 [tssC + T_LINK]
    NL
    call show_types
    mov ebx, 0xc0c0c0c0
    push dword 0x48d7                   ; NT set, arithmetic flags set
    popfd
    iret
.back:
    PRINTLN 'C resumed after iret (not expected)'
    jmp $

task_d:
    pushfd
    pop eax
    and eax, ~0x10000
    PRINT 'D running: eflags '
    PHEX32 eax
    PRINT ' link '
    PHEX16 [tssD + T_LINK]
    str ax
    PRINT ' tr '
    PHEX16 eax
    NL
    call show_types
    mov ebx, 0xd0d0d0d0
    push dword 0x4002                   ; NT set
    popfd
    iret
    jmp $

task_i:
    inc dword [i_count]
    pushfd
    pop eax
    and eax, ~0x10000
    PRINT 'I running ('
    PHEXN [i_count], 1
    PRINT '): eflags '
    PHEX32 eax
    PRINT ' link '
    PHEX16 [tssI + T_LINK]
    PRINT ' A.eax '
    PHEX32 [tssA + T_EAX]
    PRINT ' A.eip '
    PHEX32 [tssA + T_EIP]
    PRINT ' esp-top '
    mov eax, esp
    sub eax, stackI_top
    PHEX32 eax
    NL
    call show_types
    mov eax, [i_count]
    add [tssA + T_EAX], eax             ; (the caller's EAX, reloaded on return)
    push dword 0x4047                   ; NT ZF PF CF: saved (NT cleared) in TSS I
    popfd                               ; (see below: QEMU and stale flags)
    iret
.back:
    jmp task_i

; 16-bit TSS; CS = SEL_CODEB (base 1 MiB): offsets are label - image_base,
; relative jumps and calls work unchanged, absolute data addresses use DS
task_f:
    mov esp, stackF_top
    pushfd
    pop eax
    mov [saved], eax
    PRINT 'F running: flags '
    PHEX16 [saved]
    mov [saved], ecx
    mov [saved + 4], edx
    mov [saved + 8], ebx
    mov [saved + 12], ebp
    mov [saved + 16], esi
    mov [saved + 20], edi
    PRINT ' cx..di '
    PHEX16 [saved]
    SPC
    PHEX16 [saved + 4]
    SPC
    PHEX16 [saved + 8]
    SPC
    PHEX16 [saved + 12]
    SPC
    PHEX16 [saved + 16]
    SPC
    PHEX16 [saved + 20]
    mov ax, cs
    PRINT ' cs '
    PHEX16 eax
    str ax
    PRINT ' tr '
    PHEX16 eax
    PRINT ' link '
    PHEX16 [tssF]
    NL
    call show_types
    mov eax, 0x1234abcd
    mov ecx, 0x0000c1c1
    mov esp, stackF_top - 0x10
    push dword 0x48d7
    popfd
    iret
.back:
    PRINTLN 'F resumed after iret (not expected)'
    jmp $

task_df:
    pop eax                             ; error code
    mov [saved], eax
    PRINT 'DF task: err '
    PHEX32 [saved]
    PRINT ' link '
    PHEX16 [tssDF + T_LINK]
    str ax
    PRINT ' tr '
    PHEX16 eax
    pushfd
    pop eax
    and eax, ~0x10000
    PRINT ' eflags '
    PHEX32 eax
    NL
    PRINT '  A.eip '
    PHEX32 [tssA + T_EIP]
    PRINT ' (df_fault '
    PHEX32 df_fault
    PRINT ') A.eax '
    PHEX32 [tssA + T_EAX]
    PRINT ' A.ds '
    PHEX16 [tssA + T_DS]
    NL
    call show_types
    IDTSET 13, isr_stub_13, SEL_CODE0, 0x8e
    mov dword [tssA + T_EIP], df_resume
    iret
    jmp task_df

; #TS / #NP handler task (EBX = vector, from its TSS): print, clear E's busy
; bit, jmp back to A (A jumped to E, so A is not busy)
task_fault:
    pop eax
    mov [saved], eax
    PRINT '#'
    cmp ebx, 10
    jne .np
    PRINT 'TS'
    jmp .p
.np:
    PRINT 'NP'
.p:
    PRINT ' err '
    PHEX32 [saved]
    PRINT ' link '
    mov esi, tssTS
    cmp ebx, 10
    je .l
    mov esi, tssNP
.l:
    PHEX16 [esi + T_LINK]
    TYPE1 ' E ', SEL_E
    NL
    and byte [gdt + SEL_E + 5], ~2
    jmp SEL_A:0
    jmp task_fault

task_e:
    mov bx, ds                          ; (read before anything uses DS)
    mov cx, gs
    mov ax, SEL_DATA0
    mov ds, ax
    PRINT 'E ran'
    PRINT ' ds '
    PHEX16 ebx
    PRINT ' gs '
    PHEX16 ecx
    NL
    jmp SEL_A:0
    jmp task_e

; ring 3 (CPL from the TSS's CS); DS = 0x23 flat
task_r:
    mov [r_vals], cs
    mov [r_vals + 4], ss
    pushfd
    pop dword [r_vals + 8]
    call SEL_TGQ3:0
    mov [r_vals + 12], cs
    str [r_vals + 16]
    int VEC_R
    jmp SEL_TGA3:0
    jmp $

; called from R through a DPL3 task gate
task_q:
    PRINT 'Q running: link '
    PHEX16 [tssQ + T_LINK]
    str ax
    PRINT ' tr '
    PHEX16 eax
    PRINT ' R.cs '
    PHEX16 [tssR + T_CS]
    PRINT ' R.ss '
    PHEX16 [tssR + T_SS]
    PRINT ' R.esp-top '
    mov eax, [tssR + T_ESP]
    sub eax, stackR_top
    PHEX32 eax
    NL
    call show_types
    TYPE1 '  R ', SEL_R
    TYPE1 ' Q ', SEL_Q
    NL
    push dword 0x4002
    popfd
    iret
    jmp task_q

; INT 0x42 from task R (ring 3 -> ring 0 on R's SS0:ESP0)
r_int_handler:
    push eax
    mov eax, [esp + 4]
    mov [h42], eax
    mov eax, [esp + 8]
    mov [h42 + 4], eax
    mov eax, [esp + 16]
    mov [h42 + 12], eax
    mov eax, [esp + 20]
    mov [h42 + 16], eax
    mov ax, ss
    mov [h42 + 20], ax
    lea eax, [esp + 4]
    mov [h42 + 24], eax
    pop eax
    iret

task_p:
    mov eax, cr3
    sub eax, pdB
    PRINT 'P: cr3-pdB '
    PHEX32 eax
    PRINT ' reads '
    PHEX32 [LIN]
    NL
    iret
    jmp task_p

; ================================================================ helpers
; tss_init: edi = TSS, ebx = eip, ecx = esp
tss_init:
    push edi
    push ecx
    mov ecx, 0x68 / 4
    xor eax, eax
    rep stosd
    pop ecx
    pop edi
    mov eax, cr3
    mov [edi + T_CR3], eax
    mov [edi + T_EIP], ebx
    mov dword [edi + T_EFL], 2
    mov [edi + T_ESP], ecx
    mov dword [edi + T_ES], SEL_DATA0
    mov dword [edi + T_CS], SEL_CODE0
    mov dword [edi + T_SS], SEL_DATA0
    mov dword [edi + T_DS], SEL_DATA0
    mov dword [edi + T_FS], SEL_DATA0
    mov dword [edi + T_GS], SEL_DATA0
    mov dword [edi + T_IOMAP], 0x00680000
    ret

; print_dwords: esi = array, ecx = count (" xxxxxxxx" each)
print_dwords:
    pushad
.l:
    SPC
    PHEX32 [esi]
    add esi, 4
    loop .l
    popad
    ret

; dump_tss: esi = 32-bit TSS (selector fields: low 16 bits; EFLAGS without RF)
dump_tss:
    pushad
    PRINT '  link '
    PHEX32 [esi + T_LINK]
    PRINT ' esp0 '
    PHEX32 [esi + T_ESP0]
    PRINT ' ss0 '
    PHEX32 [esi + T_SS0]
    PRINT ' esp1 '
    PHEX32 [esi + T_ESP1]
    PRINT ' ss1 '
    PHEX32 [esi + T_SS1]
    PRINT ' esp2 '
    PHEX32 [esi + T_ESP2]
    PRINT ' ss2 '
    PHEX32 [esi + T_SS2]
    PRINT ' iomap '
    PHEX32 [esi + T_IOMAP]
    NL
    PRINT '  eip '
    PHEX32 [esi + T_EIP]
    mov eax, [esi + T_EFL]
    and eax, ~0x10000
    PRINT ' eflags '
    PHEX32 eax
    PRINT ' eax..edi'
    push esi
    add esi, T_EAX
    mov ecx, 8
    call print_dwords
    pop esi
    NL
    PRINT '  es cs ss ds fs gs ldt'
    mov ebx, T_ES
.s:
    SPC
    PHEX16 [esi + ebx]
    add ebx, 4
    cmp ebx, T_LDT
    jbe .s
    NL
    popad
    ret

show_types:
    pushad
    TYPE1 '  types A ', SEL_A
    TYPE1 ' B ', SEL_B
    TYPE1 ' C ', SEL_C
    TYPE1 ' D ', SEL_D
    TYPE1 ' I ', SEL_I
    TYPE1 ' F ', SEL_F16
    TYPE1 ' DF ', SEL_DF
    TYPE1 ' TS ', SEL_TSH
    TYPE1 ' NP ', SEL_NPH
    TYPE1 ' E ', SEL_E
    TYPE1 ' G ', SEL_G
    NL
    popad
    ret

section .data
align 8
ldt:
    dq 0x00cf93000000ffff               ; 0x04: flat data, DPL0
ldt_marker: dd 0x1d71d71d
a_esp: dd 0
i_count: dd 0
saved: times 16 dd 0
r_vals: times 8 dd 0
h42: times 8 dd 0

section .bss
alignb 4096
pdA: resb 4096
pdB: resb 4096
pdC: resb 4096
pt0: resb 4096
ptA: resb 4096
ptB: resb 4096
ptC: resb 4096
pgA: resb 4096
pgB: resb 4096
pgC: resb 4096
alignb 16
tssA: resb 0x68
tssB: resb 0x68
tssC: resb 0x68
tssD: resb 0x68
tssDF: resb 0x68
tssTS: resb 0x68
tssNP: resb 0x68
tssE: resb 0x68
tssG: resb 0x68
tssI: resb 0x68
tssP: resb 0x68
tssR: resb 0x68
tssQ: resb 0x68
tssF: resb 0x30
alignb 16
stackB: resb 1024
stackB_top:
stackC: resb 1024
stackC_top:
stackD: resb 1024
stackD_top:
stackI: resb 1024
stackI_top:
stackF: resb 1024
stackF_top:
stackDF: resb 1024
stackDF_top:
stackTS: resb 1024
stackTS_top:
stackNP: resb 1024
stackNP_top:
stackE: resb 1024
stackE_top:
stackP: resb 1024
stackP_top:
stackR: resb 1024
stackR_top:
stackR0: resb 1024
stackR0_top:
stackQ: resb 1024
stackQ_top:
