; symbiotic.asm -- a symbiotic guest for Symbiont's SymSpy and SymCall
; (tests/symbiotic.test.ts drives it; QEMU cannot be the oracle here, since it
; has no symbiotic interface and VMCALL is #UD there: the guest's own output
; and the ABI are).
;
; The guest discovers the VMM by CPUID, tries bad SymSpy addresses (each must
; be #GP), registers a global and a local SymSpy page, fills Symbiont's
; extension, publishes a SymCall entry (first with bad CS selectors) and
; answers calls. The pages are the VMM's frames laid over its RAM: what it
; wrote in that RAM before is hidden while a page is there and back when the
; page moves away or is withdrawn (MSR = 0), and a page that moves takes its
; contents along. At each CHECKPOINT it tells the test harness (OUT to port
; 0xE00) with known values in every register, EFLAGS, CR2 and segment, and
; checks afterwards that the harness's calls left them all intact.
;
; Calls it answers (EAX = number, EBX..EDI = arguments):
;   1      SYMCALL_TEST: EBX..EDI bit-inverted
;   0x200  port I/O: prints a line on COM1, OUT EBX to port 0xE04, IN from it -> EBX
;   0x201  page fault: stores ECX at DEMAND_BASE + EBX * 4 KiB, a page that is not
;          mapped until its own #PF handler maps it -> EBX value read back,
;          ECX faults handled so far, EDX CR2 as the call saw it
;   0x202  returns error -22 (EINVAL) with the error hypercall
;   0x203  never returns
;   0x204  triple-faults (empty IDT, INT3)
;   0x205  its entry state: EBX CS | SS << 16, ECX EFLAGS, EDX [FS:0], ESI [GS:0], EDI ESP
;          (ESP after the entry's PUSHFD/POP: the same)
;   0x206  halts with interrupts off
;   0x207  OUT to port 0xE01, where the harness tries a second call (refused)
;   other  error -38 (ENOSYS)

%include "lib.inc"
%include "symbiotic.inc"

CHECKPOINT_PORT equ 0xe00
NESTED_PORT     equ 0xe01
DATA_PORT       equ 0xe04
DEMAND_BASE     equ 0x40000000
DEMAND_PAGES    equ 4
TEST_VECTOR     equ 0x41
CR2_CANARY      equ 0x0bad0c20
RAM_MARK        equ 0x214d4152      ; "RAM!": what the guest left in RAM under a SymSpy page
SPARE_MARK      equ 0x52415053      ; "SPAR"
MARK_AT         equ 0xff0           ; an offset no SymSpy field uses
FS_MAGIC        equ 0xf5f5f5f5
GS_MAGIC        equ 0x65656565

%macro VMCALL 0
    db 0x0f, 0x01, 0xc1
%endmacro

%macro CHECKPOINT 1
    mov dword [cp_no], %1
    call checkpoint
%endmacro

; WRMSR_IMM msr, value -- EDX:EAX = 0:value
%macro WRMSR_IMM 2
    mov ecx, %1
    mov eax, %2
    xor edx, edx
    wrmsr
%endmacro

; BAD_SYMSPY msr, low, high -- the write must raise #GP(0)
%macro BAD_SYMSPY 3
    EXPECT %%after
    mov ecx, %1
    mov eax, %2
    mov edx, %3
    wrmsr
    PRINTLN 'no #GP'
%%after:
%endmacro

section .text

main:
    PRINTLN 'symbiotic test kernel'
    IDTSET 14, pf_handler, SEL_CODE0, 0x8e
    IDTSET TEST_VECTOR, test_vector_handler, SEL_CODE0, 0x8e
    mov dword [fs_area], FS_MAGIC   ; what the call finds at FS:0 and GS:0
    mov dword [gs_area], GS_MAGIC

    ; --- discovery
    mov eax, 1
    cpuid
    shr ecx, 31
    PRINT 'hypervisor bit: '
    PHEXN ecx, 1
    NL
    mov eax, SYM_CPUID_LEAF
    cpuid
    PRINT 'cpuid 90000000: '
    PHEX32 eax
    SPC
    PHEX32 ebx
    NL

    ; --- paging: 0-32 MiB identity in 4 MiB pages; DEMAND_BASE's page table starts empty
    mov edi, page_dir
    mov eax, 0x83                   ; P | RW | PS
    mov ecx, 8
.pde:
    mov [edi], eax
    add eax, 0x400000
    add edi, 4
    loop .pde
    mov eax, demand_pt
    or eax, 3
    mov [page_dir + (DEMAND_BASE >> 22) * 4], eax
    mov eax, cr4
    or eax, 0x10                    ; PSE
    mov cr4, eax
    mov eax, page_dir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax

    ; --- SymSpy: bad addresses are #GP, as a real MSR refuses a bad value
    BAD_SYMSPY MSR_SYMSPY_GLOBAL, 0x7ffff000, 0     ; beyond RAM
    BAD_SYMSPY MSR_SYMSPY_LOCAL, 0x000a0000, 0      ; the VGA window (MMIO)
    BAD_SYMSPY MSR_SYMSPY_GLOBAL, 0x00001000, 1     ; above 4 GiB
    BAD_SYMSPY MSR_SYMSPY_LOCAL, 0xfffff000, 0      ; the top page (not RAM)
    mov ecx, MSR_SYMSPY_GLOBAL
    rdmsr
    mov ebx, eax
    mov ecx, MSR_SYMSPY_LOCAL
    rdmsr
    PRINT 'symspy msrs: '
    PHEX32 ebx
    SPC
    PHEX32 eax
    NL
    CHECKPOINT 1                    ; no local page: calls are refused

    ; --- SymSpy pages (the low bits of the MSR value are ignored)
    mov dword [global_page + MARK_AT], RAM_MARK
    mov dword [spare_page + MARK_AT], SPARE_MARK
    WRMSR_IMM MSR_SYMSPY_GLOBAL, global_page + 0x123
    WRMSR_IMM MSR_SYMSPY_LOCAL, local_page
    mov ecx, MSR_SYMSPY_GLOBAL
    rdmsr
    cmp eax, global_page
    PRINT 'global msr = page: '
    call yes_no
    mov ecx, MSR_SYMSPY_LOCAL
    rdmsr
    cmp eax, local_page
    PRINT 'local msr = page: '
    call yes_no
    PRINT 'global magic: '
    mov esi, global_page + GLOBAL_MAGIC
    call puts
    NL
    PRINT 'local magic: '
    mov esi, local_page + LOCAL_MAGIC
    call puts
    NL
    PRINT 'under the global page: '
    PHEX32 [global_page + MARK_AT]  ; the VMM's zeroed frame, not the RAM mark
    NL
    BAD_SYMSPY MSR_SYMSPY_LOCAL, global_page, 0     ; the other page's place
    PRINT 'ext: '
    PHEX32 [global_page + EXT_VMM_MAGIC]
    SPC
    PHEX32 [global_page + EXT_VMM_VERSION]
    SPC
    PHEX32 [local_page + EXT_VMM_MAGIC]
    SPC
    PHEX32 [local_page + EXT_VMM_VERSION]
    NL
    ; Symbiont's extension, as a guest keeps it: inside the sequence count
    inc dword [global_page + EXT_SEQ]
    mov dword [global_page + EXT_GUEST_VERSION], EXT_VERSION
    mov dword [global_page + GEXT_MEM_TOTAL], 32768
    mov dword [global_page + GEXT_MEM_FREE], 30000
    mov dword [global_page + GEXT_MEM_AVAILABLE], 31000
    mov dword [global_page + GEXT_SWAP_TOTAL], 0
    mov dword [global_page + GEXT_SWAP_FREE], 0
    mov dword [global_page + GEXT_UPDATES], 1
    mov dword [global_page + GEXT_TASKS], 1
    inc dword [global_page + EXT_SEQ]
    inc dword [local_page + EXT_SEQ]
    mov dword [local_page + EXT_GUEST_VERSION], EXT_VERSION
    mov dword [local_page + LEXT_PID], 42
    mov dword [local_page + LEXT_TID], 43
    mov dword [local_page + LEXT_SWITCHES], 7
    mov dword [local_page + LEXT_FLAGS], 0
    mov esi, comm_name
    mov edi, local_page + LEXT_COMM
    mov ecx, 16
    rep movsb
    inc dword [local_page + EXT_SEQ]
    CHECKPOINT 2                    ; pages registered, SymCall not enabled: refused

    ; --- the SymCall entry, first with bad CS selectors
    WRMSR_IMM MSR_SYMCALL_RIP, symcall_entry
    WRMSR_IMM MSR_SYMCALL_RSP, symcall_stack_top
    WRMSR_IMM MSR_SYMCALL_GS, gs_area
    WRMSR_IMM MSR_SYMCALL_FS, fs_area
    WRMSR_IMM MSR_SYMCALL_CS, SEL_CODE3     ; ring-3 code
    or dword [local_page + LOCAL_FLAGS], SYM_CALL_ENABLED
    CHECKPOINT 3
    WRMSR_IMM MSR_SYMCALL_CS, SEL_CODE0 | 4 ; an LDT selector
    CHECKPOINT 4
    WRMSR_IMM MSR_SYMCALL_CS, 0x100         ; beyond the GDT's limit
    CHECKPOINT 5
    EXPECT .cs_wide
    WRMSR_IMM MSR_SYMCALL_CS, 0x10000       ; not a selector: #GP
    PRINTLN 'no #GP'
.cs_wide:
    WRMSR_IMM MSR_SYMCALL_CS, SEL_CODE0
    CHECKPOINT 6                    ; the harness makes its calls from inside this exit

    ; --- the guest interrupted in the middle of an update of its extension
    inc dword [local_page + EXT_SEQ]
    mov dword [local_page + LEXT_PID], 99
    CHECKPOINT 7
    mov dword [local_page + LEXT_PID], 42
    inc dword [local_page + EXT_SEQ]

    ; --- what the guest saw
    PRINT 'calls served: '
    PHEX32 [calls_served]
    NL
    PRINT 'call log:'
    xor ebx, ebx
.log:
    cmp ebx, [log_len]
    jae .log_done
    SPC
    PHEX32 [call_log + ebx * 4]
    inc ebx
    jmp .log
.log_done:
    NL
    PRINT 'page faults handled: '
    PHEX32 [pf_count]
    NL
    PRINT 'demand page: '
    PHEX32 [DEMAND_BASE]
    NL
    ; a vector injected during a call waits until the guest can take it here
    sti
    nop
    nop
    cli
    PRINT 'vector 41: '
    PHEX32 [vector_count]
    PRINT ' during a call: '
    PHEX32 [vector_in_call]
    NL
    ; --- the global page moves (its contents with it) and is withdrawn
    WRMSR_IMM MSR_SYMSPY_GLOBAL, spare_page
    PRINT 'moved: '
    PHEX32 [spare_page + GEXT_MEM_TOTAL]
    SPC
    PHEX32 [global_page + MARK_AT]  ; the RAM under the old place is back
    SPC
    PHEX32 [spare_page + MARK_AT]   ; the page's own (zero), over the spare mark
    NL
    CHECKPOINT 9                    ; the harness looks at the map
    WRMSR_IMM MSR_SYMSPY_GLOBAL, 0
    mov ecx, MSR_SYMSPY_GLOBAL
    rdmsr
    PRINT 'withdrawn: '
    PHEX32 eax
    SPC
    PHEX32 [spare_page + MARK_AT]
    SPC
    PHEX32 [spare_page + GEXT_MEM_TOTAL]
    NL
    CHECKPOINT 10
    CHECKPOINT 8                    ; the harness stops the run and calls between runs

    ; --- halted, waiting for an interrupt: the harness calls, then injects the vector
    mov dword [vector_count], 0
    sti
    hlt
    cli
    PRINT 'woke: '
    PHEX32 [vector_count]
    NL
    PRINTLN 'done'
    ret

; yes_no: print "yes" if ZF else "no", and a newline
yes_no:
    jne .no
    PRINTLN 'yes'
    ret
.no:
    PRINTLN 'no'
    ret

; checkpoint: [cp_no] to the harness with canaries everywhere; report whether
; the registers, EFLAGS, CR2, CR3 and segments came back unchanged.
checkpoint:
    pushad
    mov [cp_esp], esp
    mov eax, CR2_CANARY
    mov cr2, eax
    mov ebx, 0x11111111
    mov ecx, 0x22222222
    mov esi, 0x33333333
    mov edi, 0x44444444
    mov ebp, 0x55555555
    mov eax, [cp_no]
    mov edx, CHECKPOINT_PORT
    push dword 0xcd7                ; CF PF AF ZF SF DF OF set, IF clear
    popfd
    out dx, al
    pushfd
    cld
    mov [cp_ebx], ebx
    mov [cp_eax], eax
    pop eax
    cmp eax, 0xcd7
    jne .bad_flags
    mov eax, [cp_eax]
    cmp eax, [cp_no]
    jne .bad_regs
    cmp ebx, 0x11111111
    jne .bad_regs
    cmp ecx, 0x22222222
    jne .bad_regs
    cmp edx, CHECKPOINT_PORT
    jne .bad_regs
    cmp esi, 0x33333333
    jne .bad_regs
    cmp edi, 0x44444444
    jne .bad_regs
    cmp ebp, 0x55555555
    jne .bad_regs
    cmp esp, [cp_esp]
    jne .bad_regs
    mov eax, cr2
    cmp eax, CR2_CANARY
    jne .bad_cr
    mov eax, cr3
    cmp eax, page_dir
    jne .bad_cr
    mov ax, cs
    cmp ax, SEL_CODE0
    jne .bad_seg
    mov ax, ss
    cmp ax, SEL_DATA0
    jne .bad_seg
    mov ax, ds
    cmp ax, SEL_DATA0
    jne .bad_seg
    mov ax, es
    cmp ax, SEL_DATA0
    jne .bad_seg
    mov eax, [fs:fs_area]           ; FS and GS have base 0 again
    cmp eax, FS_MAGIC
    jne .bad_seg
    mov eax, [gs:gs_area]
    cmp eax, GS_MAGIC
    jne .bad_seg
    mov eax, 'inta'
    jmp .report
.bad_flags:
    mov eax, 'flag'
    jmp .report
.bad_regs:
    mov eax, 'regs'
    jmp .report
.bad_cr:
    mov eax, 'crs '
    jmp .report
.bad_seg:
    mov eax, 'segs'
.report:
    PRINT 'checkpoint '
    PHEX8 [cp_no]
    cmp eax, 'inta'
    jne .changed
    PRINTLN ': state intact'
    popad
    ret
.changed:
    mov [cp_what], eax
    PRINT ': STATE CHANGED '
    mov esi, cp_what
    call puts
    NL
    popad
    ret

; ---------------------------------------------------------------- the SymCall side

symcall_entry:
    pushfd                          ; EFLAGS as the VMM entered (0x205 reports it)
    pop dword [entry_flags]
    inc dword [calls_served]
    push ebp
    mov ebp, [log_len]
    cmp ebp, 32
    jae .logged
    mov [call_log + ebp * 4], eax
    inc dword [log_len]
.logged:
    pop ebp
    cmp eax, SYMCALL_TEST
    je sc_test
    cmp eax, 0x200
    je sc_port
    cmp eax, 0x201
    je sc_fault
    cmp eax, 0x202
    je sc_einval
    cmp eax, 0x203
    je sc_forever
    cmp eax, 0x204
    je sc_triple
    cmp eax, 0x205
    je sc_state
    cmp eax, 0x206
    je sc_halt
    cmp eax, 0x207
    je sc_nested
    mov ebx, -38                    ; ENOSYS
    jmp sc_error

sc_test:
    not ebx
    not ecx
    not edx
    not esi
    not edi
    jmp sc_return

sc_port:
    PRINTLN 'symcall: port I/O'
    mov eax, ebx
    mov edx, DATA_PORT
    out dx, eax
    in eax, dx
    mov ebx, eax
    jmp sc_return

sc_fault:
    mov eax, ebx
    and eax, DEMAND_PAGES - 1
    shl eax, 12
    add eax, DEMAND_BASE
    mov [eax], ecx                  ; not mapped: pf_handler maps it and the store is retried
    mov ebx, [eax]
    mov ecx, [pf_count]
    mov edx, cr2
    jmp sc_return

sc_einval:
    mov ebx, -22
    jmp sc_error

sc_forever:
    jmp sc_forever

sc_triple:
    lidt [empty_idt]
    int3

sc_state:
    xor ebx, ebx
    mov bx, ss
    shl ebx, 16
    mov bx, cs
    mov ecx, [entry_flags]
    mov edx, [fs:0]
    mov esi, [gs:0]
    mov edi, esp
    jmp sc_return

sc_halt:
    hlt
    jmp sc_halt

sc_nested:
    mov edx, NESTED_PORT
    mov al, 1
    out dx, al
    mov ebx, 1
    jmp sc_return

sc_return:
    mov eax, HCALL_SYMCALL_RETURN
    VMCALL
    PRINTLN 'BUG: the return hypercall came back'
    EXIT 0x7e

sc_error:
    mov eax, HCALL_SYMCALL_ERROR
    VMCALL
    PRINTLN 'BUG: the error hypercall came back'
    EXIT 0x7e

; #PF: map a DEMAND_BASE page on first touch; anything else is a bug
pf_handler:
    push eax
    push ebx
    mov eax, cr2
    sub eax, DEMAND_BASE
    cmp eax, DEMAND_PAGES * 4096
    jae .unexpected
    shr eax, 12
    mov ebx, eax
    shl ebx, 12
    add ebx, demand_frames
    or ebx, 3
    mov [demand_pt + eax * 4], ebx
    inc dword [pf_count]
    pop ebx
    pop eax
    add esp, 4                      ; the error code
    iretd
.unexpected:
    PRINT 'UNEXPECTED #PF at '
    mov eax, cr2
    PHEX32 eax
    NL
    EXIT 0x7f

; the test vector: count it, and note whether the VMM said a call was running
test_vector_handler:
    inc dword [vector_count]
    push eax
    mov eax, [local_page + LOCAL_FLAGS]
    and eax, SYM_CALL_ACTIVE
    or [vector_in_call], eax
    pop eax
    iretd

section .rodata
comm_name: db 'symtest', 0, 0, 0, 0, 0, 0, 0, 0, 0

section .data
align 4
empty_idt: dw 0
           dd 0

section .bss
alignb 4096
page_dir:       resb 4096
demand_pt:      resb 4096
demand_frames:  resb DEMAND_PAGES * 4096
global_page:    resb 4096
local_page:     resb 4096
spare_page:     resb 4096
symcall_stack:  resb 4096
symcall_stack_top:
fs_area:        resd 1
gs_area:        resd 1
cp_no:          resd 1
entry_flags:    resd 1
cp_esp:         resd 1
cp_eax:         resd 1
cp_ebx:         resd 1
cp_what:        resd 2
calls_served:   resd 1
log_len:        resd 1
call_log:       resd 32
pf_count:       resd 1
vector_count:   resd 1
vector_in_call: resd 1
