; pae.asm -- PAE paging (CR4.PAE) and the execute-disable bit (EFER.NXE).
;
; Recorded under QEMU with `-cpu qemu32,+nx` (tests/kernels/qemu-args/pae.args):
; the default qemu32 model has PAE but not NX.  The kernel never executes
; CPUID (the feature bits differ between emulators); it only uses
; WRMSR/RDMSR on EFER (0xC0000080), which needs CPUID.80000001h:EDX[20].
;
; Address space (PDPT with 4 entries; every entry is 64 bits):
;   PDPTE 0 -> pd0, PDPTE 1 -> pd1, PDPTE 2 not present, PDPTE 3 -> pd1
;   (later -> pd2).  pd1[0]/pd2[0]: 2 MiB pages -> phys 0 / phys 0x200000.
;   pd0:
;     0 0x000000 -> pt0: identity, 4 KiB pages (the kernel), P|RW|U
;     1 0x200000  2 MiB page, identity, P|RW|U
;     2 0x400000 -> pt1: the test window, page i = LIN(i):
;          0 pgA RW U    1 pgB RW U    2 not present    3 pgC RO U
;          4 pgD RW S    5 pgX RW U XD (code)   6 pgX RW U (code, executable)
;          7 pgA + bit 40 (reserved)   8 not present, bits 40 and 63 set
;          9 pgA XD      10 A/D test   11 TLB tests   12 pgY (code)
;          13 pgZ XD (rest of an instruction that starts in pgY)
;          14 pgC + bit 51 (reserved)  15 pgB RO S  16 pgC + bit 62 (reserved)
;     3 0x600000  2 MiB page -> phys 0, RW U             BIG_LIN
;     4 0x800000  2 MiB page -> phys 0, RW U, XD         BIGX_LIN
;     5 0xa00000 -> pt2, PDE XD                           PDEX_LIN
;     6 0xc00000 -> pt2, PDE with bit 40 (reserved)       PDER_LIN
;     7 0xe00000  2 MiB page with bit 13 (reserved)       BIGR_LIN
;     8 0x1000000 not present                             NP_LIN
;     9 0x1200000 -> pt2, PDE RO U                        PDRO_LIN
;    10 0x1400000 -> pt2, PDE RW S                        PDS_LIN
;    11 0x1600000 2 MiB page -> phys 0, RW U (A/D test)   BIGAD_LIN
;   pt2: 0 pgX RW U (code), 1 pgA RW U
;
; Covered: 4 KiB and 2 MiB pages through all four PDPTEs; #PF error codes
; (P, W/R, U/S, RSVD, I/D) and CR2 at CPL 0 and 3; reserved bits (bit 40 in
; PTEs and PDEs, bits 51 and 62 in PTEs, bits 20:13 of a 2 MiB PDE, bit 63 with
; EFER.NXE = 0) for reads, writes and fetches, and a not-present entry with
; reserved bits (plain not-present fault); EFER.NXE read back; XD in a PTE,
; in a PDE above a page table, and in a 2 MiB PDE: fetches fault with I/D
; set, reads and writes succeed; an instruction straddling from an
; executable into an XD page (CR2 = the XD page), then runnable after XD is
; cleared with INVLPG; XD turned back into a reserved bit by clearing NXE;
; A/D bits of 64-bit PDEs/PTEs and 2 MiB PDEs with the high dword (XD)
; preserved; CR0.WP; protection combined from PDE and PTE; INVLPG for 4 KiB
; and 2 MiB pages (address inside the page), CR3 reload after a PTE change
; and after a PDPTE change.
;
; Not tested (QEMU is not a valid oracle, or implementation-defined):
; * PDPTE reserved bits (SDM: #GP at the MOV to CR3/CR0/CR4 that loads the
;   PDPTEs; QEMU reads the PDPTEs at each walk and raises #PF with RSVD) and
;   PDPTE changes without a CR3 reload (the PDPTE registers are loaded by
;   MOV CR3; QEMU re-reads them);
; * physical address bits 35:32 (QEMU's qemu32 has MAXPHYADDR 32, so they are
;   reserved there; the emulator has MAXPHYADDR 36 and no memory above 4 GiB);
; * stale TLB entries (changes are always followed by INVLPG or a CR3 load),
;   a PDE's A bit when the walk faults at the PTE, A/D bits after a fault.
;
; * the P bit of the error code of a reserved-bit #PF: SDM vol. 3, 4.7
;   ("bit 3 of the error code can be set only if bit 0 is also set"), but
;   QEMU 7.2 reports RSVD faults with P = 0 (err 0x08 for a read).  The
;   exception line prints the error code of a #PF with RSVD set with bit 0
;   masked (the emulator's P = 1 is checked by the unit tests instead).
;
; Each test prints "name: ok eax=xxxxxxxx" or an exception line in lib.inc's
; format ("EXC vv err xxxxxxxx eip xxxxxxxx", printed by exc_hook_fn, see
; above for the RSVD masking) followed by "  cr2 xxxxxxxx" for #PF.

%include "lib.inc"

%define LIN(i) (0x00400000 + (i) * 4096)
BIG_LIN     equ 0x00600000
BIGX_LIN    equ 0x00800000
PDEX_LIN    equ 0x00a00000
PDER_LIN    equ 0x00c00000
BIGR_LIN    equ 0x00e00000
NP_LIN      equ 0x01000000
PDRO_LIN    equ 0x01200000
PDS_LIN     equ 0x01400000
BIGAD_LIN   equ 0x01600000
HI1_LIN     equ 0x40000000
HI2_LIN     equ 0x80000000
HI3_LIN     equ 0xc0000000

P_P   equ 0x001
P_RW  equ 0x002
P_US  equ 0x004
P_A   equ 0x020
P_D   equ 0x040
P_PS  equ 0x080
XD_HI  equ 0x80000000           ; bit 63, in the high dword
B40_HI equ 0x00000100           ; bit 40
B51_HI equ 0x00080000           ; bit 51
B62_HI equ 0x40000000           ; bit 62

CR0_PG equ 0x80000000
CR0_WP equ 0x00010000
CR4_PAE equ 0x20
MSR_EFER equ 0xc0000080
EFER_NXE equ 0x800

VEC_SYS     equ 0x80
VEC_RING0   equ 0x83

; E64 table, index, low dword, high dword
%macro E64 4
    mov dword [%1 + (%2) * 8], %3
    mov dword [%1 + (%2) * 8 + 4], %4
%endmacro
; MAP idx, low, high: set pt1[idx] and INVLPG the page
%macro MAP 3
    E64 pt1, %1, %2, %3
    invlpg [LIN(%1)]
%endmacro

%macro RELOAD_CR3 0
    mov eax, cr3
    mov cr3, eax
%endmacro

; T 'name', insn...: ring-0 test; prints ok + eax or the exception
%macro T 2-*
    PRINT %1
    PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    PRINT 'ok eax='
    PHEX32 eax
    NL
%%after:
    mov dword [exc_resume], 0
%endmacro

; TX: like T, for tests that transfer control (ESP restored afterwards)
%macro TX 2-*
    mov [saved_esp], esp
    PRINT %1
    PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    PRINT 'ok eax='
    PHEX32 eax
    NL
%%after:
    mov dword [exc_resume], 0
    mov esp, [saved_esp]
%endmacro

%macro T3 2-*
    R3PRINT %1
    R3PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    R3PRINT 'ok eax='
    R3HEX eax
    R3NL
%%after:
    mov dword [exc_resume], 0
%endmacro

; SHOWAD 'label', pde address, pte address: low 12 bits and high dword of both
%macro SHOWAD 3
    PRINT %1
    PRINT ' pde '
    mov eax, [%2]
    and eax, 0xfff
    PHEXN eax, 3
    SPC
    PHEX32 [%2 + 4]
    PRINT ' pte '
    mov eax, [%3]
    and eax, 0xfff
    PHEXN eax, 3
    SPC
    PHEX32 [%3 + 4]
    NL
%endmacro

%macro SHOWEFER 0
    mov ecx, MSR_EFER
    rdmsr
    PRINT 'efer '
    PHEX32 edx
    PHEX32 eax
    NL
%endmacro

main:
    mov dword [exc_hook], exc_hook_fn
    mov byte [exc_quiet], 1
    ; ------------------------------------------------------------ markers
    mov dword [pgA], 0xaaaa0000
    mov dword [pgB], 0xbbbb0000
    mov dword [pgC], 0xcccc0000
    mov dword [pgD], 0xdddd0000
    mov dword [0x200100], 0x2020beef    ; RAM at 2 MiB (initialised here)
    ; pgX = "mov eax, 0x1111; ret" (+0x100: "mov eax, 0x3c3c3c3c; ret")
    mov byte [pgX], 0xb8
    mov dword [pgX + 1], 0x1111
    mov byte [pgX + 5], 0xc3
    mov byte [pgX + 0x100], 0xb8
    mov dword [pgX + 0x101], 0x3c3c3c3c
    mov byte [pgX + 0x105], 0xc3
    ; "mov eax, 0x44332211; ret" starting 2 bytes before the end of pgY
    mov byte [pgY + 0xffe], 0xb8
    mov byte [pgY + 0xfff], 0x11
    mov byte [pgZ], 0x22
    mov byte [pgZ + 1], 0x33
    mov byte [pgZ + 2], 0x44
    mov byte [pgZ + 3], 0xc3
    ; ------------------------------------------------------------ tables
    mov edi, pt0
    mov eax, P_P | P_RW | P_US
    mov ecx, 512
.id:
    mov [edi], eax
    mov dword [edi + 4], 0
    add edi, 8
    add eax, 4096
    loop .id
    E64 pdpt, 0, pd0 + P_P, 0
    E64 pdpt, 1, pd1 + P_P, 0
    E64 pdpt, 2, 0, 0
    E64 pdpt, 3, pd1 + P_P, 0
    E64 pd1, 0, 0x000000 + P_PS + P_P + P_RW + P_US, 0
    E64 pd2, 0, 0x200000 + P_PS + P_P + P_RW + P_US, 0
    E64 pd0, 0, pt0 + P_P + P_RW + P_US, 0
    E64 pd0, 1, 0x200000 + P_PS + P_P + P_RW + P_US, 0
    E64 pd0, 2, pt1 + P_P + P_RW + P_US, 0
    E64 pd0, 3, 0x000000 + P_PS + P_P + P_RW + P_US, 0
    E64 pd0, 4, 0x000000 + P_PS + P_P + P_RW + P_US, XD_HI
    E64 pd0, 5, pt2 + P_P + P_RW + P_US, XD_HI
    E64 pd0, 6, pt2 + P_P + P_RW + P_US, B40_HI
    E64 pd0, 7, 0x000000 + 0x2000 + P_PS + P_P + P_RW + P_US, 0
    E64 pd0, 8, 0, 0
    E64 pd0, 9, pt2 + P_P + P_US, 0
    E64 pd0, 10, pt2 + P_P + P_RW, 0
    E64 pd0, 11, 0x000000 + P_PS + P_P + P_RW + P_US, 0
    E64 pt2, 0, pgX + P_P + P_RW + P_US, 0
    E64 pt2, 1, pgA + P_P + P_RW + P_US, 0
    E64 pt1, 0, pgA + P_P + P_RW + P_US, 0
    E64 pt1, 1, pgB + P_P + P_RW + P_US, 0
    E64 pt1, 2, 0, 0
    E64 pt1, 3, pgC + P_P + P_US, 0
    E64 pt1, 4, pgD + P_P + P_RW, 0
    E64 pt1, 5, pgX + P_P + P_RW + P_US, XD_HI
    E64 pt1, 6, pgX + P_P + P_RW + P_US, 0
    E64 pt1, 7, pgA + P_P + P_RW + P_US, B40_HI
    E64 pt1, 8, pgA + P_RW + P_US, XD_HI | B40_HI
    E64 pt1, 9, pgA + P_P + P_RW + P_US, XD_HI
    E64 pt1, 12, pgY + P_P + P_RW + P_US, 0
    E64 pt1, 13, pgZ + P_P + P_RW + P_US, XD_HI
    E64 pt1, 14, pgC + P_P + P_RW + P_US, B51_HI
    E64 pt1, 15, pgB + P_P, 0
    E64 pt1, 16, pgC + P_P + P_RW + P_US, B62_HI

    ; ------------------------------------------------------------ paging on
    PRINTLN '-- PAE paging on (EFER.NXE = 0)'
    mov eax, pdpt
    mov cr3, eax
    mov eax, CR4_PAE
    mov cr4, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg_on
.pg_on:
    mov eax, cr0
    PRINT 'cr0 '
    PHEX32 eax
    mov eax, cr4
    PRINT ' cr4 '
    PHEX32 eax
    mov eax, cr3
    sub eax, pdpt
    PRINT ' cr3-pdpt '
    PHEX32 eax
    NL
    SHOWEFER
    T 'read LIN(0) 4K pgA', {mov eax, [LIN(0)]}
    T 'write LIN(0)+4, read pgA+4', {mov dword [LIN(0) + 4], 0x600dbeef}, {mov eax, [pgA + 4]}
    T 'read 2M page BIG_LIN+pgB', {mov eax, [BIG_LIN + pgB]}
    T 'write 2M page BIG_LIN+pgB+8, read pgB+8', {mov dword [BIG_LIN + pgB + 8], 0x4e4e4e4e}, {mov eax, [pgB + 8]}
    T 'read identity 2M page 0x200100', {mov eax, [0x200100]}
    T 'read PDPTE 1: HI1_LIN+pgC', {mov eax, [HI1_LIN + pgC]}
    T 'read PDPTE 3: HI3_LIN+pgD', {mov eax, [HI3_LIN + pgD]}
    T 'read PDPTE 2 (not present)', {mov eax, [HI2_LIN + 0x1234]}
    T 'write PDPTE 2 (not present)', {mov [HI2_LIN + 0x5678], eax}
    T 'read PDRO_LIN+0x1000 (pt2[1] = pgA)', {mov eax, [PDRO_LIN + 0x1000]}
    T 'read PDS_LIN+0x1000', {mov eax, [PDS_LIN + 0x1000]}
    T 'call LIN(6) (executable pgX)', {xor eax, eax}, {call LIN(6)}

    PRINTLN '-- #PF, not present'
    T 'read LIN(2)+0x123 (PTE)', {mov eax, [LIN(2) + 0x123]}
    T 'write LIN(2)+0x124 (PTE)', {mov [LIN(2) + 0x124], eax}
    T 'read NP_LIN+0x456 (PDE)', {mov eax, [NP_LIN + 0x456]}
    T 'write byte NP_LIN+0x3ff (PDE)', {mov byte [NP_LIN + 0x3ff], 1}
    TX 'jmp LIN(2) (fetch, PTE)', {mov eax, LIN(2)}, {jmp eax}
    TX 'jmp HI2_LIN (fetch, PDPTE)', {mov eax, HI2_LIN + 0x10}, {jmp eax}
    T 'read LIN(8) (not present, bits 40 and 63 set)', {mov eax, [LIN(8) + 8]}
    T 'write LIN(8) (not present, bits 40 and 63 set)', {mov [LIN(8) + 8], eax}

    PRINTLN '-- reserved bits (RSVD)'
    T 'read LIN(7) (PTE bit 40)', {mov eax, [LIN(7) + 0x10]}
    T 'write LIN(7) (PTE bit 40)', {mov dword [LIN(7) + 0x10], 1}
    TX 'jmp LIN(7) (fetch, PTE bit 40)', {mov eax, LIN(7) + 0x20}, {jmp eax}
    T 'read LIN(14) (PTE bit 51)', {mov eax, [LIN(14)]}
    T 'read LIN(16) (PTE bit 62)', {mov eax, [LIN(16)]}
    T 'read PDER_LIN+0x1000 (PDE bit 40)', {mov eax, [PDER_LIN + 0x1000]}
    T 'write PDER_LIN+0x1000 (PDE bit 40)', {mov [PDER_LIN + 0x1000], eax}
    T 'read BIGR_LIN+pgA (2M PDE bit 13)', {mov eax, [BIGR_LIN + pgA]}
    T 'read LIN(9) (PTE XD, NXE=0)', {mov eax, [LIN(9)]}
    TX 'call LIN(5) (fetch, PTE XD, NXE=0)', {xor eax, eax}, {call LIN(5)}
    T 'read BIGX_LIN+pgA (2M PDE XD, NXE=0)', {mov eax, [BIGX_LIN + pgA]}
    T 'read PDEX_LIN+0x1000 (PDE XD, NXE=0)', {mov eax, [PDEX_LIN + 0x1000]}
    T 'write dword LIN(6)+0xffe (LIN(7) reserved)', {mov dword [LIN(6) + 0xffe], 0x12345678}
    PRINT 'pgX end '
    PHEX32 [pgX + 0xffc]
    NL
    T 'read word LIN(6)+0xfff (LIN(7) reserved)', {mov eax, 0x0badbad0}, {mov ax, [LIN(6) + 0xfff]}

    ; ------------------------------------------------------------ NX
    PRINTLN '-- EFER.NXE = 1'
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    RELOAD_CR3
    SHOWEFER
    TX 'call LIN(6) (pgX, no XD)', {xor eax, eax}, {call LIN(6)}
    TX 'call LIN(5) (pgX, PTE XD)', {xor eax, eax}, {call LIN(5)}
    TX 'call LIN(5)+0x100 (PTE XD)', {xor eax, eax}, {call LIN(5) + 0x100}
    T 'read LIN(5) (PTE XD)', {mov eax, [LIN(5)]}
    T 'read LIN(9) (PTE XD)', {mov eax, [LIN(9)]}
    T 'write LIN(9)+0x10 (PTE XD), read pgA+0x10', {mov dword [LIN(9) + 0x10], 0x9d9d9d9d}, {mov eax, [pgA + 0x10]}
    TX 'call PDEX_LIN (PDE XD, PTE no XD)', {xor eax, eax}, {call PDEX_LIN}
    T 'read PDEX_LIN (PDE XD)', {mov eax, [PDEX_LIN]}
    T 'read BIGX_LIN+pgB (2M XD)', {mov eax, [BIGX_LIN + pgB]}
    TX 'call BIGX_LIN+pgX (2M XD)', {xor eax, eax}, {call BIGX_LIN + pgX}
    TX 'call BIG_LIN+pgX (2M, no XD)', {xor eax, eax}, {call BIG_LIN + pgX}
    TX 'jmp LIN(2) (fetch, not present, NXE=1)', {mov eax, LIN(2)}, {jmp eax}
    TX 'jmp LIN(7) (fetch, reserved, NXE=1)', {mov eax, LIN(7)}, {jmp eax}
    T 'read LIN(7) (reserved, NXE=1)', {mov eax, [LIN(7)]}
    TX 'call LIN(12)+0xffe (insn runs into XD LIN(13))', {mov eax, 0x0badbad0}, {call LIN(12) + 0xffe}
    PRINT 'eax after '
    PHEX32 eax
    NL
    T 'read LIN(13) (XD)', {mov eax, [LIN(13)]}
    MAP 13, pgZ + P_P + P_RW + P_US, 0
    PRINTLN 'pt1[13] XD cleared, INVLPG'
    TX 'call LIN(12)+0xffe (insn spans two pages)', {mov eax, 0x0badbad0}, {call LIN(12) + 0xffe}
    MAP 13, pgZ + P_P + P_RW + P_US, XD_HI
    PRINTLN 'pt1[13] XD set, INVLPG'
    TX 'call LIN(12)+0xffe again', {mov eax, 0x0badbad0}, {call LIN(12) + 0xffe}
    MAP 5, pgX + P_P + P_RW + P_US, 0
    TX 'call LIN(5) after XD cleared + INVLPG', {xor eax, eax}, {call LIN(5)}
    MAP 5, pgX + P_P + P_RW + P_US, XD_HI
    TX 'call LIN(5) after XD set + INVLPG', {xor eax, eax}, {call LIN(5)}

    PRINTLN '-- accessed/dirty bits (64-bit entries)'
    E64 pt1, 10, pgB + P_P + P_RW + P_US, XD_HI
    and dword [pd0 + 2 * 8], ~(P_A | P_D)
    RELOAD_CR3
    SHOWAD 'initial        ', pd0 + 2 * 8, pt1 + 10 * 8
    mov eax, [LIN(10)]
    SHOWAD 'after read     ', pd0 + 2 * 8, pt1 + 10 * 8
    mov [LIN(10) + 12], eax
    SHOWAD 'after write    ', pd0 + 2 * 8, pt1 + 10 * 8
    and dword [pt1 + 10 * 8], ~P_D
    invlpg [LIN(10)]
    mov eax, [LIN(10)]
    SHOWAD 'D cleared, read', pd0 + 2 * 8, pt1 + 10 * 8
    mov [LIN(10) + 12], eax
    SHOWAD 'then write     ', pd0 + 2 * 8, pt1 + 10 * 8
    MAP 10, pgX + P_P + P_RW + P_US, 0
    TX 'call LIN(10) (fetch sets A)', {xor eax, eax}, {call LIN(10)}
    SHOWAD 'after fetch    ', pd0 + 2 * 8, pt1 + 10 * 8
    E64 pd0, 11, 0x000000 + 0xe00 + P_PS + P_P + P_RW + P_US, XD_HI
    RELOAD_CR3
    SHOWAD '2M initial     ', pd0 + 11 * 8, pd0 + 11 * 8
    mov eax, [BIGAD_LIN + pgC]
    SHOWAD '2M after read  ', pd0 + 11 * 8, pd0 + 11 * 8
    mov [BIGAD_LIN + pgC + 12], eax
    SHOWAD '2M after write ', pd0 + 11 * 8, pd0 + 11 * 8

    PRINTLN '-- CR0.WP and combined protection'
    T 'WP=0 write LIN(3) user RO', {mov dword [LIN(3) + 16], 0x33333333}, {mov eax, [pgC + 16]}
    T 'WP=0 write LIN(15) supervisor RO', {mov dword [LIN(15) + 16], 0x55555555}, {mov eax, [pgB + 16]}
    T 'WP=0 write PDRO_LIN+0x1000 (PDE RO)', {mov dword [PDRO_LIN + 0x1000 + 20], 0x40404040}, {mov eax, [pgA + 20]}
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    PRINTLN 'CR0.WP=1'
    T 'WP=1 write LIN(3) user RO', {mov dword [LIN(3) + 16], 0x3333}
    T 'WP=1 write LIN(15) supervisor RO', {mov dword [LIN(15) + 16], 0x5555}
    T 'WP=1 write PDRO_LIN+0x1000 (PDE RO, PTE RW)', {mov dword [PDRO_LIN + 0x1000 + 20], 0x4040}
    T 'WP=1 write PDS_LIN+0x1000 (PDE S, PTE U)', {mov dword [PDS_LIN + 0x1000 + 24], 0x2424}, {mov eax, [pgA + 24]}
    T 'WP=1 write LIN(7) (reserved and RW)', {mov dword [LIN(7) + 24], 0x7777}
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax

    PRINTLN '-- TLB maintenance'
    MAP 11, pgA + P_P + P_RW + P_US, 0
    T 'LIN(11) -> pgA', {mov eax, [LIN(11)]}
    E64 pt1, 11, pgB + P_P + P_RW + P_US, 0
    invlpg [LIN(11)]
    T 'LIN(11) -> pgB, INVLPG', {mov eax, [LIN(11)]}
    E64 pt1, 11, pgC + P_P + P_RW + P_US, XD_HI
    RELOAD_CR3
    T 'LIN(11) -> pgC XD, CR3 reload', {mov eax, [LIN(11)]}
    E64 pt1, 11, pgD + P_P + P_RW + P_US, 0
    invlpg [LIN(11) + 0xabc]
    T 'LIN(11) -> pgD, INVLPG inside the page', {mov eax, [LIN(11)]}
    E64 pt1, 11, 0, 0
    invlpg [LIN(11)]
    T 'LIN(11) unmapped, INVLPG', {mov eax, [LIN(11)]}
    T 'BIG_LIN+0x100 -> phys 0x100', {mov eax, [BIG_LIN + pgA]}
    E64 pd0, 3, 0x200000 + P_PS + P_P + P_RW + P_US, 0
    invlpg [BIG_LIN + 0x12345]
    T 'PDE 3 -> phys 0x200000, INVLPG inside the 2M page', {mov eax, [BIG_LIN + 0x100]}
    E64 pd0, 3, 0, 0
    invlpg [BIG_LIN + 0x1fffff]
    T 'PDE 3 cleared, INVLPG', {mov eax, [BIG_LIN + 0x100]}
    T 'HI3_LIN+pgD (PDPTE 3 -> pd1)', {mov eax, [HI3_LIN + pgD]}
    E64 pdpt, 3, pd2 + P_P, 0
    RELOAD_CR3
    T 'PDPTE 3 -> pd2, CR3 reload: HI3_LIN+0x100', {mov eax, [HI3_LIN + 0x100]}
    E64 pdpt, 3, 0, 0
    RELOAD_CR3
    T 'PDPTE 3 cleared, CR3 reload', {mov eax, [HI3_LIN + 0x100]}

    ; ------------------------------------------------------------ ring 3
    PRINTLN '-- ring 3'
    mov dword [tss + 4], kstack_top
    mov dword [tss + 8], SEL_DATA0
    mov word [tss + 0x66], 0x68         ; no I/O bitmap
    GDTSET SEL_TSS, tss, 0x67, 0x89, 0x00
    mov ax, SEL_TSS
    ltr ax
    IDTSET VEC_SYS, sys_handler, SEL_CODE0, 0xee
    IDTSET VEC_RING0, ring0_handler, SEL_CODE0, 0xee
    mov [r0_esp], esp
    push dword SEL_DATA3 | 3
    push dword r3stack_top
    push dword 0x002
    push dword SEL_CODE3 | 3
    push dword r3_entry
    iret
r0_back:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    PRINTLN '-- back in ring 0'

    PRINTLN '-- EFER.NXE = 0 again'
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_NXE
    wrmsr
    RELOAD_CR3
    SHOWEFER
    TX 'call LIN(5) (PTE XD, NXE=0)', {xor eax, eax}, {call LIN(5)}
    T 'read LIN(9) (PTE XD, NXE=0)', {mov eax, [LIN(9)]}
    T 'read LIN(10) (pgX, no XD)', {mov eax, [LIN(10)]}
    ; paging off for the exit path is not needed: everything is identity-mapped
    PRINTLN 'pae done'
    ret

; ================================================================ ring 3
r3_entry:
    mov ax, SEL_DATA3 | 3
    mov ds, ax
    mov es, ax
    T3 'read LIN(0) user RW', {mov eax, [LIN(0)]}
    T3 'write LIN(0)+32', {mov dword [LIN(0) + 32], 0x32323232}, {mov eax, [LIN(0) + 32]}
    T3 'read LIN(2) not present', {mov eax, [LIN(2) + 8]}
    T3 'write LIN(3) user RO', {mov [LIN(3) + 36], eax}
    T3 'read LIN(4) supervisor', {mov eax, [LIN(4)]}
    T3 'read PDS_LIN+0x1000 (PDE S, PTE U)', {mov eax, [PDS_LIN + 0x1000]}
    T3 'write PDRO_LIN+0x1000 (PDE RO, PTE RW)', {mov [PDRO_LIN + 0x1000 + 36], eax}
    T3 'read LIN(7) reserved', {mov eax, [LIN(7)]}
    T3 'write LIN(7) reserved', {mov [LIN(7) + 40], eax}
    T3 'read PDER_LIN+0x1000 (PDE reserved)', {mov eax, [PDER_LIN + 0x1000]}
    T3 'read LIN(9) XD', {mov eax, [LIN(9)]}
    T3 'call LIN(6) user code', {xor eax, eax}, {call LIN(6)}
    mov [r3_esp], esp
    T3 'call LIN(5) (XD)', {xor eax, eax}, {call LIN(5)}
    mov esp, [r3_esp]
    T3 'call BIGX_LIN+pgX (2M XD)', {xor eax, eax}, {call BIGX_LIN + pgX}
    mov esp, [r3_esp]
    T3 'jmp LIN(4) (supervisor, no XD)', {mov eax, LIN(4)}, {jmp eax}
    T3 'jmp LIN(2) (not present)', {mov eax, LIN(2)}, {jmp eax}
    T3 'jmp LIN(7) (reserved)', {mov eax, LIN(7)}, {jmp eax}
    R3PRINT `back to ring 0 via int 0x83\n`
    int VEC_RING0
    jmp $

; ================================================================ handlers
; (exc_quiet is set: the hook prints the line lib.inc would, with bit 0 of
; the error code masked when RSVD is set -- see the header)
exc_hook_fn:
    PRINT 'EXC '
    PHEX8 [exc_vec]
    PRINT ' err '
    mov eax, [exc_err]
    cmp dword [ebp + EXF_VEC], 14
    jne .e
    test eax, 8
    jz .e
    and eax, ~1
.e:
    PHEX32 eax
    PRINT ' eip '
    PHEX32 [exc_eip]
    NL
    cmp dword [ebp + EXF_VEC], 14
    jne .r
    mov eax, cr2
    PRINT '  cr2 '
    PHEX32 eax
    NL
.r:
    ret

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
    jmp .out
.n2:
    NL
.out:
    popad
    pop es
    pop ds
    iret

ring0_handler:
    mov ax, SEL_DATA0
    mov ds, ax
    mov es, ax
    mov esp, [r0_esp]
    jmp r0_back

section .data
align 4
saved_esp: dd 0
r0_esp: dd 0
r3_esp: dd 0

section .bss
alignb 4096
pdpt: resb 4096
pd0: resb 4096
pd1: resb 4096
pd2: resb 4096
pt0: resb 4096
pt1: resb 4096
pt2: resb 4096
pgA: resb 4096
pgB: resb 4096
pgC: resb 4096
pgD: resb 4096
pgX: resb 4096
pgY: resb 4096
pgZ: resb 4096
tss: resb 0x68
alignb 16
kstack: resb 4096
kstack_top:
r3stack: resb 2048
r3stack_top:
