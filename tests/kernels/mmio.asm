; mmio.asm -- memory-mapped I/O through QEMU's pc-testdev.
;
; Needs `-device pc-testdev` (tests/kernels/qemu-args/mmio.args; the test
; runner gives the emulator's PC the same device, see tests/kernels.test.ts).
; The device (hw/misc/pc-testdev.c): 64 KiB of scratch memory ("iomem") at
; physical 0xFF000000, zero at power-on; a 32-bit data register at ports
; 0xE0-0xE3, served again byte by byte at 0xE8-0xEB.
;
; Covered: 8/16/32-bit MMIO writes and reads at aligned offsets (byte order
; of wider accesses over narrower ones), MOVZX/MOVSX from MMIO, read-modify-
; write instructions on MMIO (ADD, INC, NOT, NEG, XCHG, CMPXCHG in both
; outcomes, XADD, BTS), PUSH m32 / POP m32 with MMIO operands, LODSD/STOSD/
; MOVSD (RAM->MMIO, MMIO->RAM, MMIO->MMIO), REP STOSD/MOVSD/LODSB into and
; out of the window, the last dword of the window; the same window through
; 32-bit paging: a 4 MiB page (PSE) and a 4 KiB page aliasing it at other
; linear addresses (writes through one alias, reads through another); the
; I/O-port register in 8/16/32-bit accesses through both port ranges.
;
; Not covered: accesses that are unaligned or cross the end of the window
; or a page (QEMU 7.2 rejects unaligned accesses to the device -- its
; MemoryRegionOps do not allow them -- and reads outside the window hit
; unassigned memory, where QEMU returns 0 and the emulator's bus all ones);
; instruction fetches from MMIO; ports 0xE4 (host-side page flush) and
; 0x2000-0x2017 (IRQ lines; the PICs stay masked).
;
; Several MMIO reads in one instruction: CMPSD with both operands in the
; window, LFS (offset and selector), POPAD from a stack in the window (each
; location is read from the device once; the core carries the answered reads
; into the instruction's re-execution); several MMIO writes in one instruction:
; PUSHAD to a stack in the window (the core sends them as one exit each).

%include "lib.inc"

MMIO     equ 0xff000000
ALIAS4M  equ 0x00800000         ; PDE 2: 4 MiB page -> MMIO & ~0x3fffff (0xff000000)
ALIAS4K  equ 0x00c00000         ; PDE 3 -> pt1; pt1[0] -> MMIO + 0x1000, pt1[1] -> MMIO + 0x2000

P_P   equ 0x001
P_RW  equ 0x002
P_US  equ 0x004
P_PS  equ 0x080
CR0_PG equ 0x80000000
CR4_PSE equ 0x10

; T 'name', insn...: prints "name: eax=xxxxxxxx" (or the exception)
%macro T 2-*
    PRINT %1
    PRINT ': '
    EXPECT %%after
    %rep %0-1
    %rotate 1
    %1
    %endrep
    PRINT 'eax='
    PHEX32 eax
    NL
%%after:
    mov dword [exc_resume], 0
%endmacro

; SHOW 'name', address: prints "name: [addr] = xxxxxxxx" reading one dword
%macro SHOW 2
    PRINT %1
    PRINT ': '
    mov eax, [%2]
    PHEX32 eax
    NL
%endmacro

main:
    PRINTLN '-- ports 0xe0-0xe3 / 0xe8-0xeb'
    T 'outl 0xe0 11223344, inl 0xe0', {mov eax, 0x11223344}, {out 0xe0, eax}, {xor eax, eax}, {in eax, 0xe0}
    T 'inb 0xe0', {mov eax, -1}, {in al, 0xe0}
    T 'inb 0xe1', {mov eax, -1}, {in al, 0xe1}
    T 'inb 0xe2', {mov eax, -1}, {in al, 0xe2}
    T 'inb 0xe3', {mov eax, -1}, {in al, 0xe3}
    T 'inw 0xe0', {mov eax, -1}, {in ax, 0xe0}
    T 'inw 0xe2', {mov eax, -1}, {in ax, 0xe2}
    T 'outb 0xe2 ab, inl 0xe0', {mov al, 0xab}, {out 0xe2, al}, {in eax, 0xe0}
    T 'outw 0xe0 beef, inl 0xe0', {mov ax, 0xbeef}, {out 0xe0, ax}, {in eax, 0xe0}
    T 'inl 0xe8 (byte-wise alias)', {xor eax, eax}, {in eax, 0xe8}
    T 'inw 0xea', {mov eax, -1}, {in ax, 0xea}
    T 'inb 0xeb', {mov eax, -1}, {in al, 0xeb}
    T 'outb 0xe9 5a, inl 0xe0', {mov al, 0x5a}, {out 0xe9, al}, {in eax, 0xe0}
    T 'outl 0xe8 cafef00d, inl 0xe0', {mov eax, 0xcafef00d}, {out 0xe8, eax}, {xor eax, eax}, {in eax, 0xe0}
    T 'outw 0xea 1234, inw 0xe2', {mov ax, 0x1234}, {out 0xea, ax}, {mov eax, -1}, {in ax, 0xe2}

    PRINTLN '-- MMIO, paging off'
    T 'read dword +0x100 (power-on value)', {mov eax, [MMIO + 0x100]}
    T 'write dword +0, read dword', {mov dword [MMIO], 0x11223344}, {mov eax, 0}, {mov eax, [MMIO]}
    T 'movzx byte +0', {movzx eax, byte [MMIO]}
    T 'movzx byte +1', {movzx eax, byte [MMIO + 1]}
    T 'movzx byte +2', {movzx eax, byte [MMIO + 2]}
    T 'movzx byte +3', {movzx eax, byte [MMIO + 3]}
    T 'movzx word +0', {movzx eax, word [MMIO]}
    T 'movzx word +2', {movzx eax, word [MMIO + 2]}
    T 'mov al, byte +1 (upper eax kept)', {mov eax, 0x99999999}, {mov al, [MMIO + 1]}
    T 'mov ax, word +2 (upper eax kept)', {mov eax, 0x99999999}, {mov ax, [MMIO + 2]}
    mov byte [MMIO + 0x10], 0x81
    mov byte [MMIO + 0x11], 0x92
    mov byte [MMIO + 0x12], 0xa3
    mov byte [MMIO + 0x13], 0xf4
    SHOW 'bytes 81 92 a3 f4 at +0x10, dword', MMIO + 0x10
    mov word [MMIO + 0x20], 0x8765
    mov word [MMIO + 0x22], 0xfedc
    SHOW 'words 8765 fedc at +0x20, dword', MMIO + 0x20
    T 'movsx byte +0x13', {movsx eax, byte [MMIO + 0x13]}
    T 'movsx word +0x20', {movsx eax, word [MMIO + 0x20]}
    mov byte [MMIO + 0x21], 0x00
    SHOW 'byte 00 at +0x21, dword +0x20', MMIO + 0x20
    mov word [MMIO + 0x12], 0x5555
    SHOW 'word 5555 at +0x12, dword +0x10', MMIO + 0x10
    T 'write dword +0xfffc (last), read', {mov dword [MMIO + 0xfffc], 0xe0d0c0b0}, {mov eax, [MMIO + 0xfffc]}
    T 'movzx byte +0xffff', {movzx eax, byte [MMIO + 0xffff]}
    T 'movzx word +0xfffe', {movzx eax, word [MMIO + 0xfffe]}
    T 'write via ebx+esi*4 (+0x40)', {mov ebx, MMIO}, {mov esi, 0x10}, {mov dword [ebx + esi * 4], 0x40404040}, {mov eax, [MMIO + 0x40]}

    PRINTLN '-- read-modify-write on MMIO'
    mov dword [MMIO + 0x30], 0x7ffffffe
    T 'add dword +0x30, 5', {add dword [MMIO + 0x30], 5}, {pushfd}, {pop eax}, {and eax, 0x8d5}, {shl eax, 16}, {mov ax, [MMIO + 0x30]}
    SHOW 'dword +0x30', MMIO + 0x30
    T 'inc byte +0x33', {inc byte [MMIO + 0x33]}, {mov eax, [MMIO + 0x30]}
    T 'not word +0x30', {not word [MMIO + 0x30]}, {mov eax, [MMIO + 0x30]}
    T 'neg dword +0x30', {neg dword [MMIO + 0x30]}, {mov eax, [MMIO + 0x30]}
    T 'xchg +0x30, eax=abcd1234', {mov eax, 0xabcd1234}, {xchg [MMIO + 0x30], eax}
    SHOW 'dword +0x30', MMIO + 0x30
    T 'cmpxchg +0x30 (equal)', {mov eax, 0xabcd1234}, {mov ecx, 0x600d600d}, {cmpxchg [MMIO + 0x30], ecx}, {mov eax, [MMIO + 0x30]}
    T 'cmpxchg +0x30 (not equal)', {mov eax, 0x12345678}, {mov ecx, 0x0badbad0}, {cmpxchg [MMIO + 0x30], ecx}
    SHOW 'dword +0x30', MMIO + 0x30
    T 'xadd +0x30, eax=1', {mov eax, 1}, {xadd [MMIO + 0x30], eax}
    SHOW 'dword +0x30', MMIO + 0x30
    T 'bts dword +0x30, 31 (CF)', {bts dword [MMIO + 0x30], 31}, {setc al}, {movzx eax, al}
    SHOW 'dword +0x30', MMIO + 0x30
    T 'or byte +0x31, 0xf0', {or byte [MMIO + 0x31], 0xf0}, {mov eax, [MMIO + 0x30]}

    PRINTLN '-- stack and string instructions'
    mov dword [MMIO + 0x50], 0x50505050
    T 'push dword +0x50, pop eax', {push dword [MMIO + 0x50]}, {pop eax}
    T 'push 0x5151, pop dword +0x54', {push dword 0x5151}, {pop dword [MMIO + 0x54]}, {mov eax, [MMIO + 0x54]}
    T 'lodsd from +0x50', {mov esi, MMIO + 0x50}, {lodsd}, {sub esi, MMIO}, {shl esi, 16}, {or eax, esi}
    T 'stosd to +0x58', {mov edi, MMIO + 0x58}, {mov eax, 0x58585858}, {stosd}, {mov eax, [MMIO + 0x58]}
    mov dword [ram_buf], 0x1a2b3c4d
    T 'movsd RAM -> +0x5c', {mov esi, ram_buf}, {mov edi, MMIO + 0x5c}, {movsd}, {mov eax, [MMIO + 0x5c]}
    T 'movsd +0x50 -> RAM', {mov esi, MMIO + 0x50}, {mov edi, ram_buf + 4}, {movsd}, {mov eax, [ram_buf + 4]}
    T 'movsd +0x54 -> +0x60', {mov esi, MMIO + 0x54}, {mov edi, MMIO + 0x60}, {movsd}, {mov eax, [MMIO + 0x60]}
    T 'movsw +0x5c -> +0x64', {mov esi, MMIO + 0x5c}, {mov edi, MMIO + 0x64}, {movsw}, {mov eax, [MMIO + 0x64]}

    ; instructions that read several MMIO locations
    mov dword [MMIO + 0xb0], 5
    mov dword [MMIO + 0xb4], 7
    T 'cmpsd +0xb0 (5) vs +0xb4 (7): flags', {mov esi, MMIO + 0xb0}, {mov edi, MMIO + 0xb4}, {cmpsd}, {pushfd}, {pop eax}, {and eax, 0x8d5}
    T '  esi after cmpsd', {mov eax, esi}, {sub eax, MMIO}
    mov dword [MMIO + 0xc0], 0x12345678
    mov word [MMIO + 0xc4], SEL_DATA0
    T 'lfs from +0xc0: offset', {xor eax, eax}, {lfs eax, [MMIO + 0xc0]}
    T '  fs', {mov eax, fs}
    mov dword [MMIO + 0xd0], 0x0000d0d0     ; edi
    mov dword [MMIO + 0xd4], 0x0000d4d4     ; esi
    mov dword [MMIO + 0xd8], 0x0000d8d8     ; ebp
    mov dword [MMIO + 0xdc], 0xffffffff     ; (esp: skipped)
    mov dword [MMIO + 0xe0], 0x00e00000     ; ebx
    mov dword [MMIO + 0xe4], 0x0e400000     ; edx
    mov dword [MMIO + 0xe8], 0xe8000000     ; ecx
    mov dword [MMIO + 0xec], 0x000000ec     ; eax
    T 'pushad to a stack at +0x120, then read back', {mov [ram_buf + 0x30], esp}, {mov eax, 0xa0a0a0a0}, {mov ecx, 0xc1c1c1c1}, {mov edx, 0xd2d2d2d2}, {mov ebx, 0xb3b3b3b3}, {mov ebp, 0xb5b5b5b5}, {mov esi, 0x56565656}, {mov edi, 0xd7d7d7d7}, {mov esp, MMIO + 0x120}, {pushad}, {mov esp, [ram_buf + 0x30]}, {mov eax, [MMIO + 0x100]}
    SHOW '  +0x104 (esi)', MMIO + 0x104
    SHOW '  +0x108 (ebp)', MMIO + 0x108
    SHOW '  +0x10c (esp)', MMIO + 0x10c
    SHOW '  +0x110 (ebx)', MMIO + 0x110
    SHOW '  +0x114 (edx)', MMIO + 0x114
    SHOW '  +0x118 (ecx)', MMIO + 0x118
    SHOW '  +0x11c (eax)', MMIO + 0x11c
    T 'movsd +0x104 -> +0x140 (read and write)', {mov esi, MMIO + 0x104}, {mov edi, MMIO + 0x140}, {movsd}, {mov eax, [MMIO + 0x140]}
    T 'popad from a stack at +0xd0: eax^ebx^ecx^edx^esi^edi^ebp', {mov [ram_buf + 0x30], esp}, {mov esp, MMIO + 0xd0}, {popad}, {mov esp, [ram_buf + 0x30]}, {xor eax, ebx}, {xor eax, ecx}, {xor eax, edx}, {xor eax, esi}, {xor eax, edi}, {xor eax, ebp}
    T 'rep stosd x4 to +0x70', {mov edi, MMIO + 0x70}, {mov ecx, 4}, {mov eax, 0x70707070}, {rep stosd}, {mov eax, edi}, {sub eax, MMIO}
    SHOW '  +0x70', MMIO + 0x70
    SHOW '  +0x74', MMIO + 0x74
    SHOW '  +0x78', MMIO + 0x78
    SHOW '  +0x7c', MMIO + 0x7c
    SHOW '  +0x80', MMIO + 0x80
    mov dword [MMIO + 0x74], 0x74747474
    mov dword [MMIO + 0x78], 0x78787878
    T 'rep movsd x4 +0x70 -> RAM', {mov esi, MMIO + 0x70}, {mov edi, ram_buf}, {mov ecx, 4}, {rep movsd}, {mov eax, esi}, {sub eax, MMIO}
    SHOW '  ram+0', ram_buf
    SHOW '  ram+4', ram_buf + 4
    SHOW '  ram+8', ram_buf + 8
    SHOW '  ram+c', ram_buf + 12
    mov dword [ram_buf], 0x90919293
    mov dword [ram_buf + 4], 0x94959697
    mov dword [ram_buf + 8], 0x98999a9b
    T 'rep movsd x3 RAM -> +0x90', {mov esi, ram_buf}, {mov edi, MMIO + 0x90}, {mov ecx, 3}, {rep movsd}, {mov eax, edi}, {sub eax, MMIO}
    SHOW '  +0x90', MMIO + 0x90
    SHOW '  +0x94', MMIO + 0x94
    SHOW '  +0x98', MMIO + 0x98
    T 'rep movsb x6 +0x90 -> +0xa1', {mov esi, MMIO + 0x90}, {mov edi, MMIO + 0xa1}, {mov ecx, 6}, {rep movsb}, {mov eax, ecx}
    SHOW '  +0xa0', MMIO + 0xa0
    SHOW '  +0xa4', MMIO + 0xa4
    T 'rep lodsb x5 from +0x90 (last byte)', {mov esi, MMIO + 0x90}, {mov ecx, 5}, {rep lodsb}
    T 'repe scasd over +0x70 (eax=70707070)', {mov edi, MMIO + 0x70}, {mov ecx, 4}, {mov eax, 0x70707070}, {repe scasd}, {mov eax, ecx}

    PRINTLN '-- through paging'
    ; identity-map the first 4 MiB with 4 KiB pages, the window's 4 MiB page
    ; at its own address and at ALIAS4M, and two of its pages at ALIAS4K
    IDMAP4K pt0, P_P | P_RW | P_US
    mov dword [pd + 0 * 4], pt0 + P_P + P_RW + P_US
    mov dword [pd + 2 * 4], MMIO + P_PS + P_P + P_RW + P_US
    mov dword [pd + 3 * 4], pt1 + P_P + P_RW + P_US
    mov dword [pd + (MMIO >> 22) * 4], MMIO + P_PS + P_P + P_RW + P_US
    mov dword [pt1 + 0 * 4], MMIO + 0x1000 + P_P + P_RW + P_US
    mov dword [pt1 + 1 * 4], MMIO + 0x2000 + P_P + P_RW + P_US
    mov dword [pt1 + 2 * 4], MMIO + 0x1000 + P_P + P_US          ; read-only alias
    mov eax, pd
    mov cr3, eax
    mov eax, CR4_PSE
    mov cr4, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp .pg_on
.pg_on:
    T 'read MMIO+0 (identity 4M page)', {mov eax, [MMIO]}
    T 'read ALIAS4M+0 (4M alias)', {mov eax, [ALIAS4M]}
    T 'write ALIAS4M+0x200, read MMIO+0x200', {mov dword [ALIAS4M + 0x200], 0x4a4a4a4a}, {mov eax, [MMIO + 0x200]}
    T 'write ALIAS4K+0x10 (-> +0x1010), read MMIO+0x1010', {mov dword [ALIAS4K + 0x10], 0x4b4b4b4b}, {mov eax, [MMIO + 0x1010]}
    T 'write ALIAS4K+0x1020 (-> +0x2020) word, read', {mov word [ALIAS4K + 0x1020], 0x2020}, {mov eax, [ALIAS4M + 0x2020]}
    T 'byte via ALIAS4K+0x2011 (RO alias, read)', {movzx eax, byte [ALIAS4K + 0x2011]}
    T 'write ALIAS4K+0x2010 (RO alias, WP=0)', {mov dword [ALIAS4K + 0x2010], 0x4c4c4c4c}, {mov eax, [MMIO + 0x1010]}
    mov eax, cr0
    or eax, 0x10000
    mov cr0, eax
    T 'write ALIAS4K+0x2010 (RO alias, WP=1)', {mov dword [ALIAS4K + 0x2010], 0x4d4d4d4d}
    T '  MMIO+0x1010 unchanged', {mov eax, [MMIO + 0x1010]}
    T 'add ALIAS4K+0x2010 (RO alias, WP=1)', {add dword [ALIAS4K + 0x2010], 1}
    T '  MMIO+0x1010 unchanged', {mov eax, [MMIO + 0x1010]}
    mov eax, cr0
    and eax, ~0x10000
    mov cr0, eax
    T 'movsd ALIAS4K+0x10 -> ALIAS4M+0x300', {mov esi, ALIAS4K + 0x10}, {mov edi, ALIAS4M + 0x300}, {movsd}, {mov eax, [MMIO + 0x300]}
    ; remap pt1[0] to another page of the window
    mov dword [pt1 + 0 * 4], MMIO + 0x3000 + P_P + P_RW + P_US
    invlpg [ALIAS4K]
    mov dword [MMIO + 0x3010], 0x30103010
    T 'pt1[0] -> +0x3000, INVLPG, read ALIAS4K+0x10', {mov eax, [ALIAS4K + 0x10]}
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    jmp .pg_off
.pg_off:
    T 'paging off: read MMIO+0x200', {mov eax, [MMIO + 0x200]}
    T 'paging off: read MMIO+0x2020', {mov eax, [MMIO + 0x2020]}
    T 'final inl 0xe0', {in eax, 0xe0}
    PRINTLN 'mmio done'
    ret

section .bss
alignb 4096
pd:  resb 4096
pt0: resb 4096
pt1: resb 4096
ram_buf: resb 64
