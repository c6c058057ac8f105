; sse42.asm -- SSE4.2 (CPUID.1:ECX[20]; the SSE4.1, POPCNT and MOVBE bits printed too, POPCNT
; itself is in sse41.asm) against QEMU: PCMPGTQ over 16 × 16 pairs twice (MMX_VALUES, and q64v:
; qwords differing in the sign bit, the high or the low dword only), register and aligned memory
; sources; CRC32 r32 from r/m8 (also BH), r/m16 and r/m32 over initial values × operands × EFLAGS
; in {clear, set} (EFLAGS compared: unchanged), chained over a 64-byte buffer as bytes, words
; (66 F2 and F2 66) and dwords, and the CRC-32C check value; PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM
; under all 256 imm8 values over 25 cases (string pairs with EAX/EDX lengths), register and
; misaligned memory sources, EFLAGS all set (imm8 >= 0x80) or all clear before each, one hash per
; case and instruction over ECX, XMM0 and the flags (AF and PF cleared; EAX, EDX, XMM1 kept), and
; 25 (case, imm8) results in full; the faults: #UD without CR4.OSFXSR and with CR0.EM, #NM with
; CR0.TS (CRC32 runs under all three), #GP(0) for PCMPGTQ's misaligned m128 and none for
; PCMPxSTRx's, #UD for LOCK CRC32 and for 0F 38 37 without 66. MOVBE (CPUID.1:ECX[22], the same
; map's F0/F1 without F2): loads and stores of 16 and 32 bits (misaligned), the register forms and
; an F3 prefix #UD.
; Assembled with -DDUMP (nasm -DDUMP ...) the kernel also prints every PCMPxSTRx result ("C" lines:
; a case's A, B, EAX, EDX; "D case insn imm8 form" lines: EAX ECX EDX EFLAGS XMM0 XMM1), to diff
; against QEMU when a hash differs.
%include "lib.inc"
%include "mmx.inc"
cpu nehalem

NM equ 16
PC_STRIDE equ 48                ; a PCMPxSTRx case: A (xmm1) 16, B (the source) 16, EAX, EDX, 2 unused
MISAL equ 5                     ; the memory source's offset from a 16-byte boundary

; QLOAD -- XLOAD over q64v: xmm0 = (a, b) and xmm1 = (b, c) by esi, edi (c: entry esi + 5), at [opa], [opb]
%macro QLOAD 0
    movq xmm3, [q64v + esi*8]
    movq [opa], xmm3
    movq xmm3, [q64v + edi*8]
    movq [opa + 8], xmm3
    movq [opb], xmm3
    lea eax, [esi + 5]
    and eax, 15
    movq xmm3, [q64v + eax*8]
    movq [opb + 8], xmm3
    movdqa xmm0, [opa]
    movdqa xmm1, [opb]
%endmacro

; QOP 'name', insn -- XOP over q64v
%macro QOP 2
    HBEGIN
    xor esi, esi
%%a:
    xor edi, edi
%%b:
    QLOAD
    %2 xmm0, xmm1
    XHASH xmm0
    movdqa xmm2, [opa]
    %2 xmm2, [opb]
    XHASH xmm2
    inc edi
    cmp edi, NM
    jb %%b
    inc esi
    cmp esi, NM
    jb %%a
    HEND %1
%endmacro

; PSTUBS label, insn, source -- label: 256 stubs of 8 bytes, "insn xmm1, source, imm8 / ret" for
; imm8 = 0…255
%macro PSTUBS 3
    align 8, db 0xcc
%1:
%assign %%i 0
%rep 256
    %2 xmm1, %3, %%i
    ret
    align 8, db 0xcc
%assign %%i %%i + 1
%endrep
    times 2048 - ($ - %1) db 0      ; (an error unless every stub fits its 8 bytes)
%endmacro

; PDUMP form -- (assembled with -DDUMP) "D case insn imm8 form eax ecx edx eflags xmm0 xmm1"
%macro PDUMP 1
%ifdef DUMP
    PRINT 'D '
    PHEX8 ebp
    SPC
    PHEX8 edx
    SPC
    PHEX8 ebx
    PRINT ' '
    PHEX8 %1
    push esi
    push ecx
    mov esi, pr
    mov ecx, 12
%%l:
    SPC
    PHEX32 [esi]
    add esi, 4
    dec ecx
    jnz %%l
    pop ecx
    pop esi
    NL
%endif
%endmacro

; PCB eax, edx, {A bytes}, {B bytes} -- a byte case, each operand filled up with '#' to 16 bytes
%macro PCB 4
%%a: db %3
    times 16 - ($ - %%a) db '#'
%%b: db %4
    times 16 - ($ - %%b) db '#'
    dd %1, %2, 0, 0
%endmacro
; PCW eax, edx, {A words}, {B words} -- a word case, filled up with 0x2323
%macro PCW 4
%%a: dw %3
    times 8 - ($ - %%a) / 2 dw 0x2323
%%b: dw %4
    times 8 - ($ - %%b) / 2 dw 0x2323
    dd %1, %2, 0, 0
%endmacro

main:
    mov eax, 1
    cpuid
    SHOWBIT 'cpuid.sse4.1', ecx, 19
    SHOWBIT 'sse4.2', ecx, 20
    SHOWBIT 'popcnt', ecx, 23
    SHOWBIT 'movbe', ecx, 22
    NL

    ; without CR4.OSFXSR: the XMM instructions are #UD, CRC32 runs
    FAULTS pcmpgtq xmm0, xmm1
    FAULTS pcmpistri xmm0, xmm1, 0
    mov eax, 0xffffffff
    mov ebx, 0x12345678
    crc32 eax, ebx
    SHOWV 'no-osfxsr crc32', eax
    NL
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax

    XOP 'pcmpgtq', pcmpgtq
    QOP 'pcmpgtq q64v', pcmpgtq

    ; CRC32: every (initial value, operand, EFLAGS in) of the tables, EFLAGS compared (unchanged)
    FMASK F_ALL
    TABLES crc_init, crc_data, tbl_flags2
    HT 'crc32 r32,r8', {crc32 eax, bl}
    HT 'crc32 r32,m8', {mov [scratch], ebx}, {crc32 eax, byte [scratch]}
    HT 'crc32 r32,r8h', {crc32 eax, bh}
    HT 'crc32 r32,r16', {crc32 eax, bx}
    HT 'crc32 r32,m16', {mov [scratch], ebx}, {crc32 eax, word [scratch]}
    HT 'crc32 r32,r32', {crc32 eax, ebx}
    HT 'crc32 r32,m32', {mov [scratch], ebx}, {crc32 eax, dword [scratch]}
    mov eax, 0
    call crc_chains
    mov eax, 0xffffffff
    call crc_chains
    mov eax, 0x5a5aa5a5
    call crc_chains
    mov eax, 0xffffffff         ; the CRC-32C check value: e3069283
    xor ecx, ecx
.check:
    crc32 eax, byte [crcbuf + ecx]
    inc ecx
    cmp ecx, 9
    jb .check
    not eax
    SHOWV 'crc32c("123456789")', eax
    NL

    call pcmp_cases
    call pcmp_raw

    ; faults
    FAULTS pcmpgtq xmm0, [opa + 8]     ; misaligned m128: #GP(0)
    movdqa xmm1, [pcases]
    mov ecx, RT_ECX
    pcmpistri xmm1, [opa + 3], 0x00 ; PCMPxSTRx: no alignment needed
    SHOWV 'misaligned pcmpistri', ecx
    NL
    ; MOVBE: byte-swapped loads (the register's other half kept for 16 bits) and stores
    mov esi, crcbuf
    mov eax, 0xdeadbeef
    movbe eax, [esi + 1]
    SHOWV 'movbe r32', eax
    mov eax, 0xdeadbeef
    movbe ax, [esi + 3]
    SHOWV 'movbe r16', eax
    mov dword [movbe_out], 0x11111111
    mov dword [movbe_out + 4], 0x22222222
    mov eax, 0x01234567
    movbe [movbe_out + 1], eax
    mov ecx, 0x89abcdef
    movbe [movbe_out + 5], cx
    SHOWV 'movbe m32', [movbe_out]
    SHOWV 'm', [movbe_out + 4]
    NL
    FAULTS db 0x0f, 0x38, 0xf0, 0xc1   ; movbe eax, ecx: no register form
    FAULTS db 0x66, 0x0f, 0x38, 0xf1, 0xc1 ; movbe cx, ax
    FAULTS db 0xf3, 0x0f, 0x38, 0xf0, 0x06 ; movbe eax, [esi] with F3
    FAULTS db 0xf0, 0xf2, 0x0f, 0x38, 0xf1, 0x06 ; lock crc32 eax, [esi]
    FAULTS db 0x0f, 0x38, 0x37, 0xc1   ; pcmpgtq without 66 (no MMX form)
    mov eax, cr0
    or eax, 1 << 3              ; CR0.TS
    mov cr0, eax
    FAULTS pcmpgtq xmm0, xmm1
    FAULTS pcmpestri xmm0, xmm1, 0
    mov eax, 0x5a5aa5a5
    mov ebx, 0xfedcba98
    crc32 eax, bx
    SHOWV 'cr0.ts crc32', eax
    NL
    clts
    mov eax, cr0
    or eax, 1 << 2              ; CR0.EM
    mov cr0, eax
    FAULTS pcmpistrm xmm0, xmm1, 0
    mov eax, 0x5a5aa5a5
    mov ebx, 0xfedcba98
    crc32 eax, bl
    SHOWV 'cr0.em crc32', eax
    NL
    mov eax, cr0
    and eax, ~(1 << 2)
    mov cr0, eax
    emms
    ret

; crc_chains: eax = initial value -- "crc32 chain init" and the CRCs chained over crcbuf: 64 bytes
; (memory; BH), 32 words (F2 66 from memory; 66 F2 from BX), 16 dwords (memory; EBX); all six equal
; (the CRC of a word or dword is that of its bytes, low byte first)
crc_chains:
    pushad
    mov ebp, eax
    PRINT 'crc32 chain '
    PHEX32 ebp
    mov esi, crcbuf
    PRINT ' b'
    mov eax, ebp
    xor ecx, ecx
.b1:
    crc32 eax, byte [esi + ecx]
    inc ecx
    cmp ecx, 64
    jb .b1
    SPC
    PHEX32 eax
    mov edi, ebp
    xor ecx, ecx
.b2:
    mov bh, [esi + ecx]
    crc32 edi, bh
    inc ecx
    cmp ecx, 64
    jb .b2
    SPC
    PHEX32 edi
    PRINT ' w'
    mov eax, ebp
    xor ecx, ecx
.w1:
    db 0xf2, 0x66, 0x0f, 0x38, 0xf1, 0x04, 0x4e ; crc32 eax, word [esi + ecx*2]
    inc ecx
    cmp ecx, 32
    jb .w1
    SPC
    PHEX32 eax
    mov edx, ebp
    xor ecx, ecx
.w2:
    mov bx, [esi + ecx*2]
    crc32 edx, bx               ; (66 F2)
    inc ecx
    cmp ecx, 32
    jb .w2
    SPC
    PHEX32 edx
    PRINT ' d'
    mov eax, ebp
    xor ecx, ecx
.d1:
    crc32 eax, dword [esi + ecx*4]
    inc ecx
    cmp ecx, 16
    jb .d1
    SPC
    PHEX32 eax
    mov edx, ebp
    xor ecx, ecx
.d2:
    mov ebx, [esi + ecx*4]
    crc32 edx, ebx
    inc ecx
    cmp ecx, 16
    jb .d2
    SPC
    PHEX32 edx
    NL
    popad
    ret

; pcmp_run: edi = a stub table, ebx = imm8, [pcur] = the case -- the stub with xmm1 = A,
; xmm2 and [mbuf + MISAL] = B, EAX/EDX = the case's lengths, ECX and XMM0 sentinels and EFLAGS all
; set (imm8 ≥ 0x80) or all clear; EAX ECX EDX, EFLAGS & F_ALL, XMM0 and XMM1 after it into pr
pcmp_run:
    pushad
    mov ebp, [pcur]
    movdqu xmm1, [ebp]
    movdqu xmm2, [ebp + 16]
    movdqa xmm0, [xsentinel]
    mov esi, mbuf + MISAL
    mov eax, [ebp + 32]
    mov edx, [ebp + 36]
    mov ecx, RT_ECX
    lea edi, [edi + ebx*8]
    mov ebp, 0x002
    test bl, bl
    jns .flags
    mov ebp, 0x8d7
.flags:
    push ebp
    popfd
    call edi
    pushfd
    pop dword [pr + 12]
    mov [pr], eax
    mov [pr + 4], ecx
    mov [pr + 8], edx
    and dword [pr + 12], F_ALL
    movdqu [pr + 16], xmm0
    movdqu [pr + 32], xmm1
    popad
    ret

; pcmp_case: ebp = case number -- [pcur] = the case, B copied to [mbuf + MISAL]
pcmp_case:
    push eax
    imul eax, ebp, PC_STRIDE
    add eax, pcases
    mov [pcur], eax
    movdqu xmm2, [eax + 16]
    movdqu [mbuf + MISAL], xmm2
    pop eax
    ret

; pcmp_cases: per case "pcmpxstrx NN eax edx" and one hash for each instruction over its 256 imm8
; values and both forms (register, misaligned memory)
pcmp_cases:
    pushad
    xor ebp, ebp
.case:
    call pcmp_case
    mov eax, [pcur]
    PRINT 'pcmpxstrx '
    PHEX8 ebp
    SPC
    PHEX32 [eax + 32]
    SPC
    PHEX32 [eax + 36]
%ifdef DUMP
    NL
    PRINT 'C '
    PHEX8 ebp
    mov esi, eax
    mov ecx, 10
.dumpcase:
    SPC
    PHEX32 [esi]
    add esi, 4
    dec ecx
    jnz .dumpcase
    NL
%endif
    xor edx, edx                ; the instruction
.insn:
    SPC
    mov esi, [pnames + edx*4]
    call puts
    SPC
    HBEGIN
    xor ebx, ebx
.imm:
    mov edi, [pst_tab + edx*8]
    call pcmp_run
    PDUMP 0
    mov esi, pr
    mov ecx, 12
    call hash_mem
    mov edi, [pst_tab + edx*8 + 4]
    call pcmp_run
    PDUMP 1
    mov esi, pr
    mov ecx, 12
    call hash_mem
    inc ebx
    cmp ebx, 256
    jb .imm
    PHEX32 [hash]
    inc edx
    cmp edx, 4
    jb .insn
    NL
    inc ebp
    cmp ebp, NCASES
    jb .case
    popad
    ret

; pcmp_raw: the (case, imm8) pairs of praw in full, register forms: "pcmp NN ii" then ECX (I forms)
; or XMM0 (M forms) and EFLAGS of each instruction
pcmp_raw:
    pushad
    xor eax, eax
.l:
    movzx ebp, byte [praw + eax*2]
    movzx ebx, byte [praw + eax*2 + 1]
    call pcmp_case
    PRINT 'pcmp '
    PHEX8 ebp
    SPC
    PHEX8 ebx
    xor edx, edx
.insn:
    SPC
    mov esi, [pnames + edx*4]
    call puts
    mov edi, [pst_tab + edx*8]
    call pcmp_run
    test dl, 1
    jnz .mask
    SPC
    PHEX32 [pr + 4]
    jmp .fl
.mask:
    mov esi, pr + 16
    mov ecx, 4
.x0:
    SPC
    PHEX32 [esi]
    add esi, 4
    dec ecx
    jnz .x0
.fl:
    SPC
    PHEXN [pr + 12], 3
    inc edx
    cmp edx, 4
    jb .insn
    NL
    inc eax
    cmp eax, (praw_end - praw) / 2
    jb .l
    popad
    ret

    ; the stubs (8 tables of 256 × 8 bytes)
    PSTUBS st_estri_r, pcmpestri, xmm2
    PSTUBS st_estri_m, pcmpestri, [esi]
    PSTUBS st_estrm_r, pcmpestrm, xmm2
    PSTUBS st_estrm_m, pcmpestrm, [esi]
    PSTUBS st_istri_r, pcmpistri, xmm2
    PSTUBS st_istri_m, pcmpistri, [esi]
    PSTUBS st_istrm_r, pcmpistrm, xmm2
    PSTUBS st_istrm_m, pcmpistrm, [esi]

section .rodata
align 4
pst_tab:
    dd st_estri_r, st_estri_m, st_estrm_r, st_estrm_m
    dd st_istri_r, st_istri_m, st_istrm_r, st_istrm_m
pnames: dd n_estri, n_estrm, n_istri, n_istrm
n_estri: db 'estri', 0
n_estrm: db 'estrm', 0
n_istri: db 'istri', 0
n_istrm: db 'istrm', 0

; (case, imm8) printed in full
praw:
    db 0x00, 0x00,  0x00, 0x40,  0x02, 0x04,  0x02, 0x44,  0x03, 0x14,  0x03, 0x34
    db 0x05, 0x18,  0x06, 0x38,  0x06, 0x48,  0x07, 0x0c,  0x08, 0x0c,  0x08, 0x4c
    db 0x09, 0x0c,  0x09, 0x4c,  0x0c, 0x0c,  0x0e, 0x04,  0x0e, 0x06,  0x0e, 0x3a
    db 0x10, 0x01,  0x10, 0x41,  0x11, 0x05,  0x11, 0x07,  0x13, 0x0d,  0x16, 0x08
    db 0x17, 0x0c
praw_end:

align 16
xsentinel: dd 0x0badc0de, 0x5eed5eed, 0xfeedface, 0x13579bdf

; the PCMPxSTRx cases: PCB/PCW eax, edx, A (xmm1: the set, ranges, string or needle), B (the source)
align 16
pcases:
    PCB 5, 13, {"aeiou", 0}, {"hello, world!", 0}                       ; 00 equal any
    PCB 3, 14, {"lol", 0, "x"}, {"hello lollipop", 0}                   ; 01 repeated characters
    PCB 6, 16, {"azAZ09", 0}, {"Hello World 42!x"}                      ; 02 ranges, B without a null
    PCB 5, 15, {"za09q", 0}, {"quiz 2 zebras a", 0}                     ; 03 low > high, unpaired 'q'
    PCB 4, 17, {"za09q", 0}, {"q9z0a5 qq", 0}                           ; 04 (EDX 17)
    PCB 16, 16, {"hello world12345"}, {"hello_world12_45"}              ; 05 equal each, full
    PCB 100, -3, {"abcdef", 0, "gh"}, {"abcxefgh", 0, "ij"}             ; 06 nulls at 6 and 8
    PCB 3, 11, {"hel", 0}, {"hello world", 0}                           ; 07 ordered: at the start
    PCB 3, 16, {"wor", 0}, {"hello world, wor"}                         ; 08 in the middle, at the end
    PCB 4, 16, {"abcd", 0}, {"xxxxxxxxxxxxxxab"}                        ; 09 partial at the end
    PCB -2, -100, {"ab", 0}, {"xbxxxxxxxaxxxxxa"}                       ; 0a (negative lengths)
    PCB 3, 5, {"zzz", 0}, {"hello", 0}                                  ; 0b not present
    PCB 0, 5, {0, "abc"}, {"hello", 0}                                  ; 0c empty needle
    PCB 2, 0, {"ab", 0}, {0, "ab"}                                      ; 0d empty source
    PCB 7, 16, {0x80, 0x90, 0xf0, 0x10, 0x7f, 0xff, 0x01, 0}, \
        {0x85, 0xf5, 0x05, 0x20, 0x7f, 0x80, 0xff, 0xa0, 0x01, 0x90, 0x8f, 0x10, 0xf0, 0x7e, 0xc0, 0x40} ; 0e signed
    PCB -7, 9, {0x80, 0x90, 0xf0, 0x10, 0x7f, 0xff, 0x01, 0}, \
        {0x85, 0xf5, 0x00, 0x20, 0x7f, 0x80, 0xff, 0xa0, 0x01, 0x90, 0x8f, 0x10, 0xf0, 0x7e, 0xc0, 0x40} ; 0f null at 2
    PCW 5, 8, {0x0041, 0x0100, 0x8000, 0x7fff, 0, 0x4100}, \
        {0x0100, 0x0041, 0xffff, 0, 0x8000, 0x7fff, 0x0041, 0x4100}     ; 10 words, null words
    PCW 7, 8, {0x8000, 0x8fff, 0xfff0, 0x0010, 0x7000, 0x7fff, 0x0001, 0}, \
        {0x8001, 0xfff5, 0x0005, 0x7001, 0x9000, 0x0001, 0x7fff, 0x8000} ; 11 signed word ranges
    PCW 9, -3, {0x8000, 0x8fff, 0xfff0, 0x0010, 0x7000, 0x7fff, 0x0001, 0}, \
        {0x0010, 0xfff0, 0x8fff, 0x8000, 0x7fff, 0, 0x1234, 0x5678}     ; 12 (EAX 9)
    PCW 2, 8, {'a', 'b', 0}, {'x', 'a', 'b', 'x', 'x', 'x', 'x', 'a'}  ; 13 words ordered
    PCB 16, -16, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, \
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}                ; 14 zeros
    PCB 17, 100, {"0123456789abcdef"}, {"0123456789abcdef"}             ; 15 equal, full
    PCB 0x80000000, -17, {"0123456789abcdef"}, {"fedcba9876543210"}     ; 16 EAX = INT_MIN
    PCB 3, 10, {"aab", 0}, {"aaaabaaab", 0}                             ; 17 ordered, repeated prefix
    PCB 6, 3, {"abcdef", 0}, {"abc", 0}                                 ; 18 needle longer
pcases_end:
NCASES equ (pcases_end - pcases) / PC_STRIDE

; PCMPGTQ's second table: qwords differing in the sign bit, in the high or the low dword only
align 8
q64v:
    dq 0, 1, -1, 0x8000000000000000, 0x7fffffffffffffff, 0x00000000ffffffff
    dq 0x0000000080000000, 0x000000007fffffff, 0x0000000100000000, 0xffffffff00000000
    dq 0xffffffff80000000, 0xffffffff7fffffff, 0x8000000000000001, 0x7ffffffffffffffe
    dq 0x80000000ffffffff, 0x00000001ffffffff

crc_init: dd 6, 0, 0xffffffff, 0x12345678, 0x80000000, 1, 0xdeadbeef
crc_data: dd 10, 0, 1, 0x80, 0xff, 0x7fff8000, 0x12345678, 0xffffffff, 0x80000000, 0xa5a5a5a5, 0x31323334

align 4
crcbuf:
    db "123456789"
%assign i 9
%rep 64 - 9
    db (i * 37 + 11) & 0xff
%assign i i + 1
%endrep

    PAIR_DATA 16
alignb 16
mbuf: resb 32
pr: resd 12
pcur: resd 1
scratch: resd 2
movbe_out: resd 2
