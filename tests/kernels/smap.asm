; smap.asm -- supervisor-mode access prevention (CR4.SMAP, EFLAGS.AC, STAC/CLAC),
; recorded with `-cpu max` (tests/kernels/qemu-args/smap.args; the emulator's PC
; gets `smap: true`).
;
; Address space (32-bit paging, CR4.PSE = 0):
;   0x00000000-0x003fffff  PDE 0 -> pt0: identity, 4 KiB pages, P|RW supervisor
;                          (the kernel, its stack, GDT, IDT: SMAP never blocks them)
;   0x00400000-0x007fffff  PDE 1 (P|RW|U) -> pt1, the test window, page i = LIN(i):
;        0 pgA RW U   1 pgB RO U   2 pgC RW S   3 pgX RW U (code: mov eax, 0x5a5a; ret)
;        4 pgL RW U (an LDT)
;
; Covered, at CPL 0: CPUID.(EAX=7,ECX=0):EBX[20]; CR4.SMAP read back; with
; SMAP and AC = 0 a read, a write and REP MOVSD/STOSD on a user page fault
; (#PF, P = 1, U/S = 0, W/R as the access) with CR2, and a
; supervisor page and an instruction fetch from a user page (no SMEP) do
; not; with AC = 1 (STAC, and POPFD) the same accesses go through; a
; supervisor write to a read-only user page with AC = 1 obeys CR0.WP; an
; implicit access (a segment load from an LDT on a user page) faults with
; AC = 0 and not with AC = 1; SMAP off again lets everything through; CLAC
; and STAC keep the other flags.
;
; Not covered: implicit accesses from CPL 3 (SMAP blocks them whatever AC
; says) -- ring 3 needs user pages the kernel itself would then fault on; the
; W/R bit of a read-modify-write that SMAP stops (QEMU checks its read first
; and reports a read; not an oracle for what Intel reports).

%include "lib.inc"
%include "supervisor.inc"

CR4_SMAP equ 0x00200000
F_AC    equ 0x00040000

SEL_LDT  equ 0x30               ; a GDT entry of the kernels' own (lib.inc): the LDT at LIN(4)
SEL_LDT0 equ 0x04               ; LDT entry 0, TI = 1, RPL 0: a flat data segment

; CLAC / STAC (0F 01 CA / CB): newer than nasm's `cpu 686`
%macro CLAC 0
    db 0x0f, 0x01, 0xca
%endmacro
%macro STAC 0
    db 0x0f, 0x01, 0xcb
%endmacro

; AC as the instructions left it: "ac 0" / "ac 1"
%macro SHOWAC 0
    pushfd
    pop eax
    shr eax, 18
    and eax, 1
    PRINT 'ac '
    PHEXN eax, 1
    NL
%endmacro

main:
    mov dword [exc_hook], exc_hook_fn
    ; ------------------------------------------------------------ CPUID
    mov eax, 7
    xor ecx, ecx
    cpuid
    and ebx, 1 << 20
    PRINT 'cpuid7 ebx.smap '
    PHEX32 ebx
    NL
    ; ------------------------------------------------------------ pages and tables
    mov dword [pgA], 0xaaaa0001
    mov dword [pgA + 4], 0xaaaa0002
    mov dword [pgB], 0xbbbb0001
    mov dword [pgC], 0xcccc0001
    mov byte [pgX], 0xb8
    mov dword [pgX + 1], 0x5a5a
    mov byte [pgX + 5], 0xc3
    ; pgL: LDT entry 0 = flat data, DPL 0
    mov dword [pgL], 0x0000ffff
    mov dword [pgL + 4], 0x00cf9200
    ; GDT entry SEL_LDT: the LDT at LIN(4), limit 7
    GDTSET SEL_LDT, LIN(4), 7, 0x82, 0x0
    mov dword [pt1 + 0 * 4], pgA + P_P + P_RW + P_US
    mov dword [pt1 + 1 * 4], pgB + P_P + P_US
    mov dword [pt1 + 2 * 4], pgC + P_P + P_RW
    mov dword [pt1 + 3 * 4], pgX + P_P + P_RW + P_US
    mov dword [pt1 + 4 * 4], pgL + P_P + P_RW + P_US
    call setup_paging
    mov ax, SEL_LDT
    lldt ax
    PRINTLN '-- SMAP off'
    T 'read user page', {mov eax, [LIN(0)]}
    T 'write user page', {mov dword [LIN(0) + 8], 0x11110001}, {mov eax, [pgA + 8]}
    T 'LDT segment load', {mov ax, SEL_LDT0}, {mov fs, ax}, {mov eax, [fs:LIN(0)]}
    ; ------------------------------------------------------------ SMAP on, AC = 0
    PRINTLN '-- SMAP on, AC 0'
    mov eax, cr4
    or eax, CR4_SMAP
    mov cr4, eax
    mov eax, cr4
    PRINT 'cr4 '
    PHEX32 eax
    NL
    CLAC
    SHOWAC
    T 'read supervisor page', {mov eax, [LIN(2)]}
    T 'read user page', {mov eax, [LIN(0)]}
    T 'write user page', {mov dword [LIN(0) + 8], 0x22220001}
    T 'rep movsd from user page', {mov esi, LIN(0)}, {mov edi, scratch}, {mov ecx, 2}, {rep movsd}, {mov eax, ecx}
    T 'rep stosd to user page', {mov edi, LIN(0) + 16}, {mov eax, 0x33330001}, {mov ecx, 2}, {rep stosd}, {mov eax, ecx}
    T 'call into user page (no SMEP)', {call LIN(3)}
    T 'LDT segment load', {mov ax, SEL_LDT0}, {mov fs, ax}, {mov eax, [fs:LIN(2)]}
    PRINT 'pgA+8 '
    PHEX32 [pgA + 8]
    PRINT ' pgA+4 '
    PHEX32 [pgA + 4]
    PRINT ' pgA+16 '
    PHEX32 [pgA + 16]
    NL
    ; ------------------------------------------------------------ AC = 1
    PRINTLN '-- SMAP on, AC 1'
    STAC
    SHOWAC
    T 'read user page', {mov eax, [LIN(0)]}
    T 'write user page', {mov dword [LIN(0) + 8], 0x44440001}, {mov eax, [pgA + 8]}
    T 'add to user page', {add dword [LIN(0) + 4], 1}, {mov eax, [pgA + 4]}
    T 'rep movsd from user page', {mov esi, LIN(0)}, {mov edi, scratch}, {mov ecx, 2}, {rep movsd}, {mov eax, [scratch + 4]}
    T 'rep stosd to user page', {mov edi, LIN(0) + 16}, {mov eax, 0x55550001}, {mov ecx, 2}, {rep stosd}, {mov eax, [pgA + 20]}
    T 'LDT segment load', {mov ax, SEL_LDT0}, {mov fs, ax}, {mov eax, [fs:LIN(0)]}
    T 'write read-only user page, WP 0', {mov dword [LIN(1) + 4], 0x66660001}, {mov eax, [pgB + 4]}
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    T 'write read-only user page, WP 1', {mov dword [LIN(1) + 8], 0x77770001}
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    ; AC from POPFD, and CLAC/STAC keep the other flags
    pushfd
    pop eax
    and eax, ~F_AC
    push eax
    popfd
    SHOWAC
    T 'read user page after POPFD', {mov eax, [LIN(0)]}
    pushfd
    pop eax
    or eax, F_AC
    push eax
    popfd
    SHOWAC
    T 'read user page after POPFD', {mov eax, [LIN(0)]}
    stc
    std
    CLAC
    pushfd
    pop eax
    and eax, 0x40cd7
    cld
    PRINT 'flags after stc std clac '
    PHEX32 eax
    NL
    STAC
    pushfd
    pop eax
    and eax, 0x40cd7
    PRINT 'flags after stac '
    PHEX32 eax
    NL
    CLAC
    ; ------------------------------------------------------------ SMAP off again
    PRINTLN '-- SMAP off, AC 0'
    mov eax, cr4
    and eax, ~CR4_SMAP
    mov cr4, eax
    T 'read user page', {mov eax, [LIN(0)]}
    T 'add to user page', {add dword [LIN(0) + 4], 1}, {mov eax, [pgA + 4]}
    mov ax, SEL_DATA0
    mov fs, ax
    xor eax, eax
    lldt ax
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    ret

section .bss
alignb 4096
pgA: resb 4096
pgB: resb 4096
pgC: resb 4096
pgX: resb 4096
pgL: resb 4096
scratch: resb 16
