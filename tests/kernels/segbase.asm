; segbase.asm -- data accesses through segments with a non-zero base, in loops
; (so that a compiler sees them hot): 4 GiB segments with a base, as Linux's
; per-CPU %fs, where linear = base + offset wraps at 4 GiB and no limit
; applies; reads, writes, read-modify-writes, MOVZX and string-free moves
; through FS and GS; a base that changes inside a loop (MOV FS between two
; 4 GiB segments); a dword straddling a page boundary through a based
; segment. All data at 2 MiB (the work area lib.inc leaves to kernels).
; (Read-only and byte-limited segments in loops are in
; tests/unit/jit-segments.test.ts: QEMU's TCG does not check data segment
; types and limits, so it cannot record them.)
%include "lib.inc"

SEL_B1    equ 0x30              ; data RW, base 0x00110000, 4 GiB
SEL_B2    equ 0x38              ; data RW, base 0x00120000, 4 GiB
SEL_WRAP  equ 0x40              ; data RW, base 0xfff00000, 4 GiB (wraps to low memory)

WORK      equ 0x200000          ; 2 MiB: the work area
N         equ 64

main:
    GDTSET SEL_B1, 0x00110000, 0xfffff, 0x93, 0xc0
    GDTSET SEL_B2, 0x00120000, 0xfffff, 0x93, 0xc0
    GDTSET SEL_WRAP, 0xfff00000, 0xfffff, 0x93, 0xc0

    ; the work area: WORK[i] = i * 0x01010101 for 2 pages
    mov edi, WORK
    xor eax, eax
    mov ecx, 2048
.fill:
    mov [edi], eax
    add eax, 0x01010101
    add edi, 4
    loop .fill
    mov edi, WORK + 0x10000             ; and 4 KiB of zeroes 64 KiB further
    xor eax, eax
    mov ecx, 1024
    cld
    rep stosd

    ; ---- FS based, 4 GiB: stores then loads, offset = WORK - base
    mov ax, SEL_B1
    mov fs, ax
    mov ebx, WORK - 0x00110000
    xor ecx, ecx
.st:
    lea eax, [ecx * 8 + 3]
    mov [fs:ebx + ecx * 4], eax
    inc ecx
    cmp ecx, N
    jb .st
    xor esi, esi
    xor ecx, ecx
.ld:
    add esi, [fs:ebx + ecx * 4]
    movzx eax, byte [fs:ebx + ecx * 4]
    add esi, eax
    movsx eax, word [fs:ebx + ecx * 4 + 2]
    add esi, eax
    inc ecx
    cmp ecx, N
    jb .ld
    PRINT 'fs sum '
    PHEX32 esi
    NL
    PRINT 'ds view '
    PHEX32 [WORK + 4 * 10]
    SPC
    PHEX32 [WORK + 4 * 63]
    NL

    ; ---- read-modify-write through GS (ADD, INC, NOT, XCHG, XADD, shifts)
    mov ax, SEL_B1
    mov gs, ax
    xor ecx, ecx
.rmw:
    add dword [gs:ebx + ecx * 4], 0x11
    inc word [gs:ebx + ecx * 4 + 2]
    not byte [gs:ebx + ecx * 4 + 1]
    mov eax, ecx
    xchg [gs:ebx + ecx * 4 + 4 * N], eax
    xadd [gs:ebx + ecx * 4 + 8 * N], eax
    shl dword [gs:ebx + ecx * 4 + 8 * N], 3
    inc ecx
    cmp ecx, N
    jb .rmw
    mov esi, WORK
    mov ecx, 3 * N
    call sum_dwords
    PRINT 'rmw sum '
    PHEX32 eax
    NL

    ; ---- the base changes inside the loop: FS alternates between two 4 GiB segments
    xor esi, esi
    xor ecx, ecx
    mov edx, WORK + 0x100 - 0x00110000  ; through B1: WORK + 0x100; through B2: WORK + 0x100 - 0x10000
.alt:
    mov ax, SEL_B1
    test ecx, 1
    jz .b1
    mov ax, SEL_B2
.b1:
    mov fs, ax
    mov eax, [fs:edx + 0x10000]         ; B1: WORK + 0x10100 (zeroes, past the fill); B2: WORK + 0x100
    add esi, eax
    mov [fs:edx + 0x10000 + 4 * ecx], ecx
    inc ecx
    cmp ecx, N
    jb .alt
    PRINT 'alt sum '
    PHEX32 esi
    SPC
    mov esi, WORK + 0x100
    mov ecx, N
    call sum_dwords
    PHEX32 eax
    SPC
    mov esi, WORK + 0x10100
    mov ecx, N
    call sum_dwords
    PHEX32 eax
    NL

    ; ---- linear address wraps at 4 GiB: base 0xfff00000 + offset 0x00300000 = WORK
    mov ax, SEL_WRAP
    mov fs, ax
    xor esi, esi
    xor ecx, ecx
.wrap:
    add esi, [fs:0x00300000 + ecx * 4]
    mov [fs:0x00300000 + 0x800 + ecx * 4], esi
    inc ecx
    cmp ecx, N
    jb .wrap
    PRINT 'wrap sum '
    PHEX32 esi
    SPC
    PHEX32 [WORK + 0x800 + 4 * (N - 1)]
    NL

    ; ---- a dword straddling a page through a based segment
    mov ax, SEL_B1
    mov fs, ax
    mov dword [fs:WORK + 0xffe - 0x00110000], 0xa1b2c3d4
    mov eax, [fs:WORK + 0xffe - 0x00110000]
    PRINT 'straddle '
    PHEX32 eax
    SPC
    PHEX32 [WORK + 0xffc]
    SPC
    PHEX32 [WORK + 0x1000]
    NL

    mov ax, SEL_DATA0
    mov fs, ax
    mov gs, ax
    PRINTLN 'segbase done'
    ret

; eax = sum of ecx dwords at esi (rotating, so the order matters)
sum_dwords:
    xor eax, eax
.l:
    rol eax, 5
    add eax, [esi]
    add esi, 4
    loop .l
    ret
