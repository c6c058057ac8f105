; paging.asm -- 32-bit paging (no PAE).
;
; Address space (CR4.PSE = 1 throughout, CR0.WP = 0 unless stated):
;   0x00000000-0x003fffff  PDE 0 -> pt0: identity, 4 KiB pages, P|RW|U (the kernel)
;   0x00400000-0x007fffff  PDE 1 -> pt1: the test window, page i = LIN(i):
;        0 pgA RW U   1 pgB RW U   2 not present   3 pgC RO U   4 pgD RW S
;        5 pgD RO S   6 pgE RW U   7 pgF RO U      8, 9, 15 remapped by the TLB tests
;        10/11 IDT alias, 12/13 GDT alias, 16/17 TSS alias (RW S), 14 A/D test
;   0x00800000  PDE 2: 4 MiB page -> phys 0, RW U      (PSE)
;   0x00c00000  PDE 3: not present
;   0x01000000  PDE 4 -> pt2, PDE read-only, user;  pt2[0] = pgA RW U
;   0x01400000  PDE 5 -> pt2, PDE RW, supervisor
;   0x01800000  PDE 6: 4 MiB page -> phys 0, RW S
;   0x01c00000  PDE 7: 4 MiB page -> phys 0, RO U
;
; Covered: #PF error codes (P, W/R, U/S) for reads, writes, read-modify-writes
; and instruction fetches at CPL 0 and 3; CR2; CR0.WP; protection combined
; from PDE and PTE; 4 MiB pages; A/D bits in PDEs and PTEs (also for 4 MiB
; pages, and D set by a write after a read cached the translation); accesses
; and instructions straddling a page boundary (CR2 = first byte of the
; faulting page; a straddling store that faults modifies neither page);
; REP STOSB stopping at a not-present page; P 0->1 without invalidation; R/W
; 0->1 after a fault; INVLPG, CR3 reload, CR4.PGE toggle with global pages,
; CR0.PG toggle; code pages remapped (also by the code running on them); ring 3 with the GDT, IDT and TSS
; reachable only through supervisor pages (implicit supervisor accesses).
;
; Not tested (implementation-defined or QEMU is not a valid oracle):
; stale TLB contents (a global entry may or may not survive a CR3 load; a
; changed PTE may or may not be used before invalidation), whether a PDE's A
; bit is set when the PTE turns out not present, A/D bits after a faulting
; access, the W bit for read-modify-write instructions on not-present pages
; (Intel reports a write, QEMU a read), reserved-bit faults (PSE-36 layout
; depends on MAXPHYADDR).
;
; Each test prints "name: ok eax=xxxxxxxx" or the exception line from
; lib.inc followed by "  cr2 xxxxxxxx" for #PF.

%include "lib.inc"

TEST_LIN    equ 0x00400000
%define LIN(i) (TEST_LIN + (i) * 4096)
PSE_LIN     equ 0x00800000
NP_LIN      equ 0x00c00000
PDRO_LIN    equ 0x01000000
PDS_LIN     equ 0x01400000
PSES_LIN    equ 0x01800000
PSERO_LIN   equ 0x01c00000

P_P   equ 0x001
P_RW  equ 0x002
P_US  equ 0x004
P_A   equ 0x020
P_D   equ 0x040
P_PS  equ 0x080
P_G   equ 0x100

CR0_PG equ 0x80000000
CR0_WP equ 0x00010000
CR4_PSE equ 0x10
CR4_PGE equ 0x80

VEC_SYS     equ 0x80
VEC_RING0   equ 0x83

; MAP idx, phys, flags: set pt1[idx] and INVLPG the page
%macro MAP 3
    mov dword [pt1 + (%1) * 4], %2 + (%3)
    invlpg [LIN(%1)]
%endmacro
%macro UNMAP 1
    mov dword [pt1 + (%1) * 4], 0
    invlpg [LIN(%1)]
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

; T3: ring-3 version of T
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

; SHOWPTE 'label', pte address: print "label pde xxx pte xxx" (low 12 bits)
%macro SHOWAD 3
    PRINT %1
    PRINT ' pde '
    mov eax, [%2]
    and eax, 0xfff
    PHEXN eax, 3
    PRINT ' pte '
    mov eax, [%3]
    and eax, 0xfff
    PHEXN eax, 3
    NL
%endmacro

main:
    mov dword [exc_hook], exc_hook_fn
    ; ------------------------------------------------------------ markers
    mov dword [pgA], 0xaaaa0000
    mov dword [pgB], 0xbbbb0000
    mov dword [pgC], 0xcccc0000
    mov dword [pgD], 0xdddd0000
    mov dword [pgE], 0xeeee0000
    mov dword [pgF], 0xffff0000
    mov dword [pgE + 0xffc], 0x44332211
    mov dword [pgF], 0x88776655
    ; code pages: pgX = "mov eax, 0x1111; ret", pgY = "mov eax, 0x2222; ret"
    mov byte [pgX], 0xb8
    mov dword [pgX + 1], 0x1111
    mov byte [pgX + 5], 0xc3
    mov byte [pgY], 0xb8
    mov dword [pgY + 1], 0x2222
    mov byte [pgY + 5], 0xc3
    ; pgC+0x100 = "mov eax, 0x3c3c3c3c; ret" (executed from ring 3 through a RO page)
    mov byte [pgC + 0x100], 0xb8
    mov dword [pgC + 0x101], 0x3c3c3c3c
    mov byte [pgC + 0x105], 0xc3
    ; ------------------------------------------------------------ tables
    IDMAP4K pt0, P_P | P_RW | P_US
    mov dword [pd + 0 * 4], pt0 + P_P + P_RW + P_US
    mov dword [pd + 1 * 4], pt1 + P_P + P_RW + P_US
    mov dword [pd + 2 * 4], 0x00000000 + P_PS + P_P + P_RW + P_US
    mov dword [pd + 3 * 4], 0
    mov dword [pd + 4 * 4], pt2 + P_P + P_US
    mov dword [pd + 5 * 4], pt2 + P_P + P_RW
    mov dword [pd + 6 * 4], 0x00000000 + P_PS + P_P + P_RW
    mov dword [pd + 7 * 4], 0x00000000 + P_PS + P_P + P_US
    mov dword [pt2], pgA + P_P + P_RW + P_US
    mov dword [pt1 + 0 * 4], pgA + P_P + P_RW + P_US
    mov dword [pt1 + 1 * 4], pgB + P_P + P_RW + P_US
    mov dword [pt1 + 3 * 4], pgC + P_P + P_US
    mov dword [pt1 + 4 * 4], pgD + P_P + P_RW
    mov dword [pt1 + 5 * 4], pgD + P_P
    mov dword [pt1 + 6 * 4], pgE + P_P + P_RW + P_US
    mov dword [pt1 + 7 * 4], pgF + P_P + P_US
    ; ------------------------------------------------------------ paging on
    PRINTLN '-- paging on'
    mov eax, pd
    mov cr3, eax
    mov eax, CR4_PSE
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
    sub eax, pd
    PRINT ' cr3-pd '
    PHEX32 eax
    NL
    T 'read LIN(0) pgA', {mov eax, [LIN(0)]}
    T 'write LIN(0)+4, read pgA+4 (identity)', {mov dword [LIN(0) + 4], 0x600dbeef}, {mov eax, [pgA + 4]}
    T 'read 4M page PSE_LIN+pgB', {mov eax, [PSE_LIN + pgB]}
    T 'write 4M page PSE_LIN+pgB+8, read pgB+8', {mov dword [PSE_LIN + pgB + 8], 0x4e4e4e4e}, {mov eax, [pgB + 8]}
    T 'read PDRO_LIN (pt2[0] = pgA)', {mov eax, [PDRO_LIN]}
    T 'read PDS_LIN (same pt2)', {mov eax, [PDS_LIN]}
    T 'read LIN(4) supervisor page', {mov eax, [LIN(4)]}
    T 'read LIN(5) supervisor RO alias', {mov eax, [LIN(5)]}

    ; ------------------------------------------------------------ A/D bits
    PRINTLN '-- accessed/dirty bits'
    and dword [pd + 1 * 4], ~(P_A | P_D)
    mov dword [pt1 + 14 * 4], pgB + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    SHOWAD 'initial        ', pd + 4, pt1 + 14 * 4
    mov eax, [LIN(14)]
    SHOWAD 'after read     ', pd + 4, pt1 + 14 * 4
    mov eax, [LIN(14)]
    mov [LIN(14) + 12], eax
    SHOWAD 'after write    ', pd + 4, pt1 + 14 * 4
    and dword [pt1 + 14 * 4], ~P_D
    invlpg [LIN(14)]
    mov eax, [LIN(14)]
    SHOWAD 'D cleared, read', pd + 4, pt1 + 14 * 4
    mov [LIN(14) + 12], eax
    SHOWAD 'then write     ', pd + 4, pt1 + 14 * 4
    mov dword [pt1 + 14 * 4], pgB + P_P + P_RW + P_US
    invlpg [LIN(14)]
    mov dword [LIN(14) + 12], 0
    SHOWAD 'fresh, write   ', pd + 4, pt1 + 14 * 4
    ; 4 MiB page
    and dword [pd + 2 * 4], ~(P_A | P_D)
    mov eax, cr3
    mov cr3, eax
    SHOWAD '4M initial     ', pd + 8, pd + 8
    mov eax, [PSE_LIN + pgC]
    SHOWAD '4M after read  ', pd + 8, pd + 8
    mov [PSE_LIN + pgC + 12], eax
    SHOWAD '4M after write ', pd + 8, pd + 8
    ; supervisor write to RO pages with WP=0 sets D
    and dword [pt1 + 3 * 4], ~(P_A | P_D)
    invlpg [LIN(3)]
    T 'WP=0 write LIN(3) user RO', {mov dword [LIN(3) + 16], 0x33333333}, {mov eax, [pgC + 16]}
    SHOWAD 'LIN(3) after   ', pd + 4, pt1 + 3 * 4
    and dword [pt1 + 5 * 4], ~(P_A | P_D)
    invlpg [LIN(5)]
    T 'WP=0 write LIN(5) supervisor RO', {mov dword [LIN(5) + 16], 0x55555555}, {mov eax, [pgD + 16]}
    SHOWAD 'LIN(5) after   ', pd + 4, pt1 + 5 * 4
    T 'WP=0 write PDRO_LIN (PDE RO)', {mov dword [PDRO_LIN + 20], 0x40404040}, {mov eax, [pgA + 20]}
    T 'WP=0 write PSERO_LIN+pgC (4M RO)', {mov dword [PSERO_LIN + pgC + 20], 0x70707070}, {mov eax, [pgC + 20]}

    ; ------------------------------------------------------------ ring-0 faults
    PRINTLN '-- #PF at CPL 0'
    T 'read LIN(2)+0x123 (PTE not present)', {mov eax, [LIN(2) + 0x123]}
    T 'write LIN(2)+0x124 (PTE not present)', {mov [LIN(2) + 0x124], eax}
    T 'read NP_LIN+0x456 (PDE not present)', {mov eax, [NP_LIN + 0x456]}
    T 'write byte NP_LIN+0x3ff (PDE not present)', {mov byte [NP_LIN + 0x3ff], 1}
    T 'movzx word LIN(2)+0xffe', {movzx eax, word [LIN(2) + 0xffe]}
    T 'cs: 66h: mov ax,[LIN(2)] (EIP = first prefix)', {db 0x2e, 0x66, 0xa1}, {dd LIN(2) + 8}
    T 'rep movsd from LIN(2) (source not present)', {mov esi, LIN(2) + 0x10}, {mov edi, pgA + 0x100}, {mov ecx, 2}, {rep movsd}
    PRINT '  ecx '
    PHEX32 ecx
    PRINT ' esi '
    PHEX32 esi
    NL
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    PRINTLN 'CR0.WP=1'
    T 'WP=1 write LIN(3) user RO', {mov dword [LIN(3) + 16], 0x3333}
    T 'WP=1 write LIN(5) supervisor RO', {mov dword [LIN(5) + 16], 0x5555}
    T 'WP=1 write PDRO_LIN (PDE RO, PTE RW)', {mov dword [PDRO_LIN + 20], 0x4040}
    T 'WP=1 write PSERO_LIN+pgC (4M RO)', {mov dword [PSERO_LIN + pgC + 20], 0x7070}
    T 'WP=1 add [LIN(3)],eax (RMW, RO)', {add [LIN(3) + 16], eax}
    T 'WP=1 xchg [LIN(3)],eax (RO)', {xchg [LIN(3) + 16], eax}
    T 'WP=1 cmpxchg [LIN(3)] (RO, compare fails)', {mov eax, 0x0badbad0}, {mov ecx, 1}, {cmpxchg [LIN(3) + 16], ecx}
    T 'WP=1 read LIN(3)+16', {mov eax, [LIN(3) + 16]}
    T 'WP=1 write LIN(4) supervisor RW', {mov dword [LIN(4) + 24], 0x4444}, {mov eax, [pgD + 24]}
    mov dword [pgD + 24], 0
    T 'WP=1 write PDS_LIN (PDE S, PTE U)', {mov dword [PDS_LIN + 24], 0x2424}, {mov eax, [pgA + 24]}
    mov dword [pgA + 24], 0
    T 'WP=1 write PSES_LIN+pgC (4M S RW)', {mov dword [PSES_LIN + pgC + 24], 0x6c6c}, {mov eax, [pgC + 24]}
    mov dword [pgC + 24], 0

    PRINTLN '-- instruction fetch'
    mov [saved_esp], esp
    T 'jmp LIN(2) (not present)', {mov eax, LIN(2)}, {jmp eax}
    T 'jmp NP_LIN+0x10 (PDE not present)', {mov eax, NP_LIN + 0x10}, {jmp eax}
    ; "mov eax, imm32" starting 2 bytes before LIN(2)
    mov byte [pgB + 0xffe], 0xb8
    mov byte [pgB + 0xfff], 0x11
    T 'call LIN(1)+0xffe (insn crosses into LIN(2))', {mov eax, 0x0badbad0}, {call LIN(1) + 0xffe}
    mov esp, [saved_esp]
    ; now make LIN(2) present with the rest of the instruction and a RET
    mov byte [pgS], 0x22
    mov byte [pgS + 1], 0x33
    mov byte [pgS + 2], 0x44
    mov byte [pgS + 3], 0xc3
    mov dword [pt1 + 2 * 4], pgS + P_P + P_RW + P_US
    PRINTLN 'LIN(2) -> pgS (P 0->1, no INVLPG)'
    T 'call LIN(1)+0xffe (insn spans two pages)', {mov eax, 0x0badbad0}, {call LIN(1) + 0xffe}
    T 'read LIN(2)', {mov eax, [LIN(2)]}
    UNMAP 2
    T 'jmp LIN(2) after unmap+invlpg', {mov eax, LIN(2)}, {jmp eax}
    mov esp, [saved_esp]

    PRINTLN '-- ESP after a #PF (CPL 0)'
%macro TESP 2-*
    sub esp, 32                         ; (the faults may pop: keep main's frame safe)
    mov [tesp_esp], esp
    T %{1:-1}
    mov eax, esp
    sub eax, [tesp_esp]
    mov esp, [tesp_esp]
    add esp, 32
    PRINT '  esp delta '
    PHEX32 eax
    NL
%endmacro
    TESP 'pop dword [LIN(2)]', {push dword 0x12345678}, {pop dword [LIN(2)]}
    TESP 'push dword [LIN(2)]', {push dword [LIN(2)]}
    TESP 'call [LIN(2)] (pointer not present)', {call [LIN(2)]}
    TESP 'call LIN(2) (target not present)', {call LIN(2)}
    TESP 'ret to LIN(2)', {push dword LIN(2)}, {ret}
    TESP 'ret 8 to LIN(2)', {push dword LIN(2)}, {ret 8}

    PRINTLN '-- accesses straddling a page boundary'
    T 'read dword LIN(1)+0xffe (LIN(2) not present)', {mov eax, 0x12345678}, {mov eax, [LIN(1) + 0xffe]}
    PRINT 'eax after '
    PHEX32 eax
    NL
    T 'read word LIN(1)+0xfff', {mov eax, 0x12345678}, {mov ax, [LIN(1) + 0xfff]}
    T 'read dword LIN(2)+0xffd (first page not present)', {mov eax, [LIN(2) + 0xffd]}
    T 'read dword LIN(3)+0xffe (RO U | RW S)', {mov eax, [LIN(3) + 0xffe]}
    T 'read dword LIN(0)+0xffd (both present)', {mov eax, [LIN(0) + 0xffd]}
    T 'write dword LIN(6)+0xffe (LIN(7) RO, WP=1)', {mov dword [LIN(6) + 0xffe], 0xaabbccdd}
    PRINT 'pgE end '
    PHEX32 [pgE + 0xffc]
    PRINT ' pgF start '
    PHEX32 [pgF]
    NL
    T 'write word LIN(6)+0xfff (LIN(7) RO, WP=1)', {mov word [LIN(6) + 0xfff], 0xbeef}
    PRINT 'pgE end '
    PHEX32 [pgE + 0xffc]
    PRINT ' pgF start '
    PHEX32 [pgF]
    NL
    T 'write dword LIN(1)+0xffd (LIN(2) not present)', {mov dword [LIN(1) + 0xffd], 0x99999999}
    PRINT 'pgB end '
    PHEX32 [pgB + 0xffc]
    NL
    PRINT 'rep stosb LIN(1)+0xff0, ecx=0x20: '
    mov edi, LIN(1) + 0xff0
    mov ecx, 0x20
    mov al, 0x5a
    EXPECT .stos_done
    rep stosb
.stos_done:
    PRINT '  ecx '
    PHEX32 ecx
    PRINT ' edi '
    PHEX32 edi
    PRINT ' pgB end '
    PHEX32 [pgB + 0xffc]
    NL
    PRINT 'rep movsd pgA -> LIN(6)+0xff8, ecx=4 (LIN(7) RO): '
    mov esi, pgA
    mov edi, LIN(6) + 0xff8
    mov ecx, 4
    EXPECT .movs_done
    rep movsd
.movs_done:
    PRINT '  ecx '
    PHEX32 ecx
    PRINT ' esi-pgA '
    mov eax, esi
    sub eax, pgA
    PHEX32 eax
    PRINT ' edi '
    PHEX32 edi
    PRINT ' pgE end '
    PHEX32 [pgE + 0xffc]
    NL

    PRINTLN '-- permission upgrades'
    T 'write LIN(3) (RO, WP=1)', {mov dword [LIN(3) + 28], 0x12121212}
    or dword [pt1 + 3 * 4], P_RW
    PRINTLN 'pt1[3] |= RW, no INVLPG'
    T 'write LIN(3) again', {mov dword [LIN(3) + 28], 0x12121212}, {mov eax, [pgC + 28]}
    and dword [pt1 + 3 * 4], ~P_RW
    invlpg [LIN(3)]
    T 'write LIN(3) after RW cleared + INVLPG', {mov dword [LIN(3) + 28], 0x34343434}, {mov eax, [pgC + 28]}

    ; ------------------------------------------------------------ TLB maintenance
    PRINTLN '-- TLB maintenance'
    MAP 8, pgA, P_P | P_RW | P_US
    T 'LIN(8) -> pgA', {mov eax, [LIN(8)]}
    mov dword [pt1 + 8 * 4], pgB + P_P + P_RW + P_US
    invlpg [LIN(8)]
    T 'LIN(8) -> pgB, INVLPG', {mov eax, [LIN(8)]}
    mov dword [pt1 + 8 * 4], pgC + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    T 'LIN(8) -> pgC, CR3 reload', {mov eax, [LIN(8)]}
    mov dword [pt1 + 8 * 4], pgD + P_P + P_RW + P_US
    invlpg [LIN(8) + 0xabc]
    T 'LIN(8) -> pgD, INVLPG of an address inside the page', {mov eax, [LIN(8)]}
    mov dword [pt1 + 8 * 4], 0
    invlpg [LIN(8)]
    T 'LIN(8) unmapped, INVLPG', {mov eax, [LIN(8)]}
    ; INVLPG takes a memory operand: the linear address includes the segment base
    GDTSET 0x30, 0x1000, 0xfffff, 0x93, 0xc0
    mov ax, 0x30
    mov fs, ax
    MAP 8, pgA, P_P | P_RW | P_US
    mov eax, [LIN(8)]
    mov dword [pt1 + 8 * 4], pgB + P_P + P_RW + P_US
    invlpg [fs:LIN(8) - 0x1000]
    T 'LIN(8) -> pgB, INVLPG [fs:LIN(8)-0x1000] (fs base 0x1000)', {mov eax, [LIN(8)]}
    mov ax, SEL_DATA0
    mov fs, ax
    ; recursive mapping: PDE 1023 -> the page directory itself
    mov dword [pd + 1023 * 4], pd + P_P + P_RW
    mov eax, cr3
    mov cr3, eax
    T 'pt1[0] through the recursive map (0xffc01000)', {mov eax, [0xffc01000]}, {and eax, 0xfff}
    T 'pd[1] through the recursive map (0xfffff004)', {mov eax, [0xfffff004]}, {and eax, 0xfff}
    T 'pd[1023] through the recursive map', {mov eax, [0xfffffffc]}, {sub eax, pd}
    mov dword [0xffc01000 + 8 * 4], pgC + P_P + P_RW + P_US
    invlpg [LIN(8)]
    T 'pt1[8] = pgC written through the recursive map', {mov eax, [LIN(8)]}, {mov ecx, [pt1 + 8 * 4]}, {sub ecx, pgC}
    PRINT '  pt1[8]-pgC '
    PHEX32 ecx
    NL
    and dword [0xffc01000 + 8 * 4], ~(P_A | P_D)
    invlpg [LIN(8)]
    mov dword [LIN(8) + 0x20], 0
    T 'A/D set by a write, read through the recursive map', {mov eax, [0xffc01000 + 8 * 4]}, {and eax, 0xfff}
    mov dword [pd + 1023 * 4], 0
    mov eax, cr3
    mov cr3, eax
    T 'recursive map removed', {mov eax, [0xffc01000]}
    ; a whole page table replaced: PDE change + CR3 reload
    mov dword [pd + 1 * 4], pt3 + P_P + P_RW + P_US
    mov dword [pt3 + 8 * 4], pgE + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    T 'PDE 1 -> pt3 (LIN(8) -> pgE), CR3 reload', {mov eax, [LIN(8)]}
    T 'LIN(0) not present in pt3', {mov eax, [LIN(0)]}
    mov dword [pd + 1 * 4], pt1 + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    T 'PDE 1 -> pt1 again', {mov eax, [LIN(0)]}
    ; global pages
    mov eax, cr4
    or eax, CR4_PGE
    mov cr4, eax
    mov eax, cr4
    PRINT 'CR4.PGE=1: cr4 '
    PHEX32 eax
    NL
    MAP 9, pgA, P_P | P_RW | P_US | P_G
    T 'LIN(9) -> pgA global', {mov eax, [LIN(9)]}
    mov dword [pt1 + 9 * 4], pgB + P_P + P_RW + P_US + P_G
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    or eax, CR4_PGE
    mov cr4, eax
    T 'LIN(9) -> pgB global, CR4.PGE toggled', {mov eax, [LIN(9)]}
    mov dword [pt1 + 9 * 4], pgC + P_P + P_RW + P_US + P_G
    invlpg [LIN(9)]
    T 'LIN(9) -> pgC global, INVLPG', {mov eax, [LIN(9)]}
    mov dword [pt1 + 9 * 4], pgD + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    mov eax, [LIN(9)]                   ; (old or new: not printed)
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    or eax, CR4_PGE
    mov cr4, eax
    T 'LIN(9) -> pgD non-global, CR4.PGE toggled', {mov eax, [LIN(9)]}
    ; global 4 MiB page
    mov dword [pd + 2 * 4], 0x00000000 + P_PS + P_P + P_RW + P_US + P_G
    mov eax, cr3
    mov cr3, eax
    T 'PSE_LIN+pgE global 4M', {mov eax, [PSE_LIN + pgE]}
    mov dword [pd + 2 * 4], 0
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    T 'PDE 2 cleared, CR4.PGE=0', {mov eax, [PSE_LIN + pgE]}
    mov dword [pd + 2 * 4], 0x00000000 + P_PS + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    ; CR0.PG 1 -> 0 -> 1 flushes everything
    MAP 8, pgA, P_P | P_RW | P_US
    mov eax, [LIN(8)]
    mov dword [pt1 + 8 * 4], pgF + P_P + P_RW + P_US
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .pg_off
.pg_off:
    mov ebx, [pgA]                      ; (paging off: physical)
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg_on2
.pg_on2:
    PRINT 'with paging off: [pgA] '
    PHEX32 ebx
    NL
    T 'LIN(8) -> pgF, CR0.PG toggled', {mov eax, [LIN(8)]}
    ; code pages remapped
    MAP 15, pgX, P_P | P_RW | P_US
    T 'call LIN(15) -> pgX', {xor eax, eax}, {call LIN(15)}
    MAP 15, pgY, P_P | P_RW | P_US
    T 'call LIN(15) -> pgY after INVLPG', {xor eax, eax}, {call LIN(15)}
    mov dword [pt1 + 15 * 4], pgX + P_P + P_RW + P_US
    mov eax, cr3
    mov cr3, eax
    T 'call LIN(15) -> pgX after CR3 reload', {xor eax, eax}, {call LIN(15)}
    and dword [pt1 + 15 * 4], ~(P_A | P_D)
    invlpg [LIN(15)]
    T 'call LIN(15) with A=0 (fetch sets A)', {xor eax, eax}, {call LIN(15)}
    SHOWAD 'LIN(15) after  ', pd + 4, pt1 + 15 * 4
    ; code that remaps its own page: the instruction after the INVLPG (or the CR3 reload) comes from
    ; the new frame (both are serializing), also once the routine's code on the old frame is hot
    T 'LIN(15) remaps itself, INVLPG', {call self_remap_invlpg}
    T 'LIN(15) remaps itself, CR3 reload', {call self_remap_cr3}
    UNMAP 15
    T 'call LIN(15) unmapped', {xor eax, eax}, {call LIN(15)}
    mov esp, [saved_esp]
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax

    ; ------------------------------------------------------------ ring 3
    PRINTLN '-- GDT, IDT and TSS through supervisor-only aliases'
    ; alias pages: LIN(10..11) -> idt, LIN(12..13) -> gdt, LIN(16..17) -> tss
    mov eax, idt
    and eax, ~0xfff
    lea ebx, [eax + P_P + P_RW]
    mov [pt1 + 10 * 4], ebx
    add ebx, 0x1000
    mov [pt1 + 11 * 4], ebx
    mov eax, gdt
    and eax, ~0xfff
    lea ebx, [eax + P_P + P_RW]
    mov [pt1 + 12 * 4], ebx
    add ebx, 0x1000
    mov [pt1 + 13 * 4], ebx
    mov eax, tss
    and eax, ~0xfff
    lea ebx, [eax + P_P + P_RW]
    mov [pt1 + 16 * 4], ebx
    add ebx, 0x1000
    mov [pt1 + 17 * 4], ebx
    mov eax, cr3
    mov cr3, eax
    mov eax, idt
    and eax, 0xfff
    add eax, LIN(10)
    mov [new_idtr + 2], eax
    mov word [new_idtr], 256 * 8 - 1
    lidt [new_idtr]
    mov eax, gdt
    and eax, 0xfff
    add eax, LIN(12)
    mov [new_gdtr + 2], eax
    mov word [new_gdtr], GDT_ENTRIES * 8 - 1
    lgdt [new_gdtr]
    mov dword [tss + 4], kstack_top
    mov dword [tss + 8], SEL_DATA0
    mov word [tss + 0x66], 0x68         ; no I/O bitmap
    mov esi, tss
    and esi, 0xfff
    add esi, LIN(16)
    GDTSET SEL_TSS, esi, 0x67, 0x89, 0x00
    mov ax, SEL_TSS
    ltr ax
    IDTSET VEC_SYS, sys_handler, SEL_CODE0, 0xee
    IDTSET VEC_RING0, ring0_handler, SEL_CODE0, 0xee
    sidt [new_idtr]
    mov eax, [new_idtr + 2]
    PRINT 'idt base '
    PHEX32 eax
    sgdt [new_gdtr]
    mov eax, [new_gdtr + 2]
    PRINT ' gdt base '
    PHEX32 eax
    NL
    ; PTEs the ring-3 code reaches: LIN(2) not present, LIN(3) RO U, LIN(4)/(5) S
    PRINTLN '-- to ring 3'
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
    lgdt [gdt_desc]
    lidt [idt_desc]
    PRINTLN 'paging done'
    ; leave paging on: the exit path is identity-mapped
    ret

; ================================================================ ring 3
r3_entry:
    mov ax, SEL_DATA3 | 3
    mov ds, ax
    mov es, ax
    mov ax, cs
    R3PRINT 'ring 3, cs='
    movzx eax, ax
    R3HEX eax
    R3NL
    T3 'read LIN(0) user RW', {mov eax, [LIN(0)]}
    T3 'write LIN(0)+32', {mov dword [LIN(0) + 32], 0x32323232}, {mov eax, [LIN(0) + 32]}
    T3 'read LIN(2)+8 not present', {mov eax, [LIN(2) + 8]}
    T3 'write LIN(2)+12 not present', {mov [LIN(2) + 12], eax}
    T3 'read NP_LIN+4 (PDE not present)', {mov eax, [NP_LIN + 4]}
    T3 'read LIN(3) user RO', {mov eax, [LIN(3)]}
    T3 'write LIN(3) user RO', {mov [LIN(3) + 36], eax}
    T3 'read LIN(4) supervisor', {mov eax, [LIN(4)]}
    T3 'write LIN(4) supervisor', {mov [LIN(4) + 36], eax}
    T3 'write LIN(5) supervisor RO', {mov [LIN(5) + 36], eax}
    T3 'read PDRO_LIN (PDE RO U)', {mov eax, [PDRO_LIN]}
    T3 'write PDRO_LIN (PDE RO U, PTE RW)', {mov [PDRO_LIN + 36], eax}
    T3 'read PDS_LIN (PDE S, PTE U)', {mov eax, [PDS_LIN]}
    T3 'read PSE_LIN+pgB (4M U RW)', {mov eax, [PSE_LIN + pgB]}
    T3 'write PSE_LIN+pgB+40', {mov dword [PSE_LIN + pgB + 40], 0x40404040}, {mov eax, [pgB + 40]}
    T3 'read PSES_LIN+pgB (4M S)', {mov eax, [PSES_LIN + pgB]}
    T3 'read PSERO_LIN+pgB (4M RO U)', {mov eax, [PSERO_LIN + pgB]}
    T3 'write PSERO_LIN+pgB (4M RO U)', {mov [PSERO_LIN + pgB + 44], eax}
    T3 'read the IDT alias LIN(10)', {mov eax, [LIN(10)]}
    T3 'read dword LIN(3)+0xffe (RO U | S)', {mov eax, [LIN(3) + 0xffe]}
    T3 'write word LIN(6)+0xfff (RW U | RO U)', {mov word [LIN(6) + 0xfff], 0x1234}
    mov eax, [pgE + 0xffc]              ; (identity, user)
    R3PRINT 'pgE end '
    R3HEX eax
    mov eax, [pgF]
    R3PRINT ' pgF start '
    R3HEX eax
    R3NL
    T3 'jmp LIN(4) (fetch, supervisor)', {mov eax, LIN(4)}, {jmp eax}
    T3 'jmp LIN(2) (fetch, not present)', {mov eax, LIN(2)}, {jmp eax}
    T3 'call LIN(3)+0x100 (fetch, RO U)', {xor eax, eax}, {call LIN(3) + 0x100}
    mov [r3_esp], esp
    T3 'push with esp=LIN(2)+0x10', {mov esp, LIN(2) + 0x10}, {push eax}
    mov esp, [r3_esp]
    T3 'mov ds,SEL_DATA3 (GDT via S alias)', {mov ax, SEL_DATA3 | 3}, {mov ds, ax}, {mov eax, [LIN(0)]}
    T3 'invlpg at CPL 3', {invlpg [LIN(0)]}
    T3 'mov cr3,eax at CPL 3', {mov eax, cr3}
    R3PRINT `back to ring 0 via int 0x83\n`
    int VEC_RING0
    jmp $

; ================================================================ handlers
; self_remap_invlpg / self_remap_cr3: copy remap_invlpg / remap_cr3 to offset 0x200 of pgX and pgY
; (pgY's copy returning its immediate + 0x1000), then 8 times: LIN(15) -> pgX, call it; eax = the sum.
; The routine maps LIN(15) to [remap_target]: pgX itself the first 6 times (so that all of its pgX copy
; runs, hot), pgY the last 2 (the instructions after the INVLPG / CR3 reload come from pgY's copy).
self_remap_invlpg:
    mov esi, remap_invlpg
    mov ecx, remap_invlpg_end - remap_invlpg
    mov edx, remap_invlpg.imm - remap_invlpg + 1
    jmp self_remap
self_remap_cr3:
    mov esi, remap_cr3
    mov ecx, remap_cr3_end - remap_cr3
    mov edx, remap_cr3.imm - remap_cr3 + 1
self_remap:
    push ebx
    push ebp
    push esi
    push ecx
    mov edi, pgX + 0x200
    rep movsb
    pop ecx
    pop esi
    mov edi, pgY + 0x200
    rep movsb
    add dword [pgY + 0x200 + edx], 0x1000
    xor ebx, ebx
    mov ebp, 8
.again:
    MAP 15, pgX, P_P | P_RW | P_US
    mov dword [remap_target], pgX + P_P + P_RW + P_US
    cmp ebp, 2
    ja .call
    mov dword [remap_target], pgY + P_P + P_RW + P_US
.call:
    mov dx, 0x3fd                       ; an exit (the UART's line status): where the VMM compiles hot blocks
    in al, dx
    call LIN(15) + 0x200
    add ebx, eax
    dec ebp
    jnz .again
    mov eax, ebx
    pop ebp
    pop ebx
    ret
; (copied to pgX and pgY, run at LIN(15) + 0x200)
remap_invlpg:
    mov eax, [remap_target]
    mov [pt1 + 15 * 4], eax
    invlpg [LIN(15)]
.imm:
    mov eax, strict dword 0x1111
    ret
remap_invlpg_end:
remap_cr3:
    mov eax, [remap_target]
    mov [pt1 + 15 * 4], eax
    mov ecx, cr3
    mov cr3, ecx
.imm:
    mov eax, strict dword 0x3333
    ret
remap_cr3_end:

exc_hook_fn:
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
remap_target: dd 0
tesp_esp: dd 0
r0_esp: dd 0
r3_esp: dd 0
new_idtr: dw 0, 0, 0, 0
new_gdtr: dw 0, 0, 0, 0

section .bss
alignb 4096
pd:  resb 4096
pt0: resb 4096
pt1: resb 4096
pt2: resb 4096
pt3: resb 4096
pgA: resb 4096
pgB: resb 4096
pgC: resb 4096
pgD: resb 4096
pgE: resb 4096
pgF: resb 4096
pgX: resb 4096
pgY: resb 4096
pgS: resb 4096
tss: resb 0x68
alignb 16
kstack: resb 4096
kstack_top:
r3stack: resb 2048
r3stack_top:
