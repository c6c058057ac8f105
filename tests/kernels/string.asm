; string.asm -- MOVS LODS STOS CMPS SCAS OUTS, byte/word/dword, DF=0 and DF=1,
; without and with REP/REPE/REPNE (ECX=0, termination on count and on the ZF
; condition), overlapping MOVS (must behave element by element), segment
; overrides on the source, ES as a non-flat destination, and 16-bit address
; size (67h: SI/DI/CX, wrapping at 0xFFFF inside a data segment based at 2 MiB,
; upper halves of ESI/EDI/ECX preserved).  INS is not tested.
;
; One line per case:
;   name : ESI EDI ECX EAX EFLAGS(masked) memhash
; memhash covers the three 512-byte buffers and the 2 MiB areas, all
; re-initialised before every case.
;
; Flags (Intel SDM vol. 2): MOVS LODS STOS OUTS affect no flags; CMPS and SCAS
; set CF OF SF ZF AF PF like CMP (all defined); with ECX=0 a REP-prefixed
; instruction changes nothing.  -> mask F_ALL (0xCD7, DF included) everywhere.

%include "lib.inc"

SEL_SEG16   equ 0x30            ; data, base LOWBUF_BASE, limit 0xffff
LOWBUF_BASE equ 0x00200000

S equ sbuf
D equ dbuf
C equ cbuf
FL0  equ 0x002                  ; DF=0, arithmetic flags clear
FL1  equ 0x402                  ; DF=1
FLX  equ 0x8d7                  ; DF=0, all arithmetic flags set
FLX1 equ 0xcd7                  ; DF=1, all arithmetic flags set

%define SEG16 {mov bx, SEL_SEG16}, {mov ds, bx}, {mov es, bx}

; STR 'name', esi, edi, ecx, eax, eflags, insn...
; (edx = 0x80 for OUTS; segment loads may be among the instructions: they
; come after the popfd but do not touch the flags)
%macro STR 7-*
    call str_init
    mov esi, %2
    mov edi, %3
    mov ecx, %4
    mov eax, %5
    mov edx, 0x80
    push dword %6
    %xdefine _SNAME %1
    %rotate 6
    popfd
    %rep %0-6
    %1
    %rotate 1
    %endrep
    pushfd
    push ss
    pop ds
    push ss
    pop es
    push ss
    pop fs
    pop dword [sv_fl]
    cld
    mov [sv_esi], esi
    mov [sv_edi], edi
    mov [sv_ecx], ecx
    mov [sv_eax], eax
    PRINT _SNAME
    call str_report
%endmacro

main:
    GDTSET SEL_SEG16, LOWBUF_BASE, 0xffff, 0x93, 0x00

    ; ------------------------------------------------------------ MOVS
    STR 'movsb',            S+256, D+256, 0x77, 0, FLX, {movsb}
    STR 'movsw',            S+256, D+256, 0x77, 0, FL0, {movsw}
    STR 'movsd',            S+256, D+256, 0x77, 0, FL0, {movsd}
    STR 'movsb_df1',        S+256, D+256, 0x77, 0, FL1, {movsb}
    STR 'movsw_df1',        S+256, D+256, 0x77, 0, FLX1, {movsw}
    STR 'movsd_df1',        S+256, D+256, 0x77, 0, FL1, {movsd}
    STR 'rep_movsb_0',      S+256, D+256, 0, 0, FLX, {rep movsb}
    STR 'rep_movsb_7',      S+256, D+256, 7, 0, FL0, {rep movsb}
    STR 'rep_movsw_5',      S+256, D+256, 5, 0, FL0, {rep movsw}
    STR 'rep_movsd_9',      S+256, D+256, 9, 0, FLX, {rep movsd}
    STR 'rep_movsb_7_df1',  S+256, D+256, 7, 0, FL1, {rep movsb}
    STR 'rep_movsd_9_df1',  S+256, D+256, 9, 0, FL1, {rep movsd}
    STR 'rep_movsb_overlap_up',   D+256, D+257, 16, 0, FL0, {rep movsb}
    STR 'rep_movsb_overlap_down', D+257, D+256, 16, 0, FL1, {rep movsb}
    STR 'rep_movsd_overlap',      D+256, D+258, 8, 0, FL0, {rep movsd}
    STR 'rep_movsw_f3_66',  S+256, D+256, 3, 0, FL0, {db 0xf3, 0x66, 0xa5}
    STR 'rep_movsb_fs_src', 0x10, D+256, 4, 0, FL0, {mov bx, SEL_SEG16}, {mov fs, bx}, {db 0xf3, 0x64, 0xa4}
    STR 'rep_movsb_es_dst', S+256, 0x100, 6, 0, FL0, {mov bx, SEL_SEG16}, {mov es, bx}, {rep movsb}
    ; ------------------------------------------------------------ LODS
    STR 'lodsb',            S+256, D+256, 0x77, 0x12345678, FL0, {lodsb}
    STR 'lodsw',            S+256, D+256, 0x77, 0x12345678, FL0, {lodsw}
    STR 'lodsd',            S+256, D+256, 0x77, 0x12345678, FLX, {lodsd}
    STR 'lodsd_df1',        S+256, D+256, 0x77, 0x12345678, FL1, {lodsd}
    STR 'rep_lodsb_5',      S+256, D+256, 5, 0x12345678, FL0, {rep lodsb}
    STR 'lodsd_es',         0x20, D+256, 0x77, 0, FL0, {mov bx, SEL_SEG16}, {mov es, bx}, {db 0x26, 0xad}
    ; ------------------------------------------------------------ STOS
    STR 'stosb',            S+256, D+256, 0x77, 0xa1b2c3d4, FL0, {stosb}
    STR 'stosw',            S+256, D+256, 0x77, 0xa1b2c3d4, FLX, {stosw}
    STR 'stosd',            S+256, D+256, 0x77, 0xa1b2c3d4, FL0, {stosd}
    STR 'rep_stosd_10',     S+256, D+256, 10, 0xa1b2c3d4, FL0, {rep stosd}
    STR 'rep_stosb_0',      S+256, D+256, 0, 0xa1b2c3d4, FLX1, {rep stosb}
    STR 'rep_stosw_6_df1',  S+256, D+256, 6, 0xa1b2c3d4, FL1, {rep stosw}
    STR 'stosb_df1',        S+256, D+256, 0x77, 0xa1b2c3d4, FL1, {stosb}
    ; ------------------------------------------------------------ CMPS (S vs C: C differs at 40, 41, 42, 200, 300)
    STR 'cmpsb_eq',         S+10, C+10, 0x77, 0, FLX, {cmpsb}
    STR 'cmpsb_ne',         S+40, C+40, 0x77, 0, FL0, {cmpsb}
    STR 'cmpsw_ne',         S+40, C+40, 0x77, 0, FL0, {cmpsw}
    STR 'cmpsd_ne_df1',     S+40, C+40, 0x77, 0, FL1, {cmpsd}
    STR 'repe_cmpsb_100',   S+0, C+0, 100, 0, FL0, {repe cmpsb}
    STR 'repe_cmpsb_0',     S+0, C+0, 0, 0, FLX, {repe cmpsb}
    STR 'repe_cmpsb_30',    S+0, C+0, 30, 0, FL0, {repe cmpsb}
    STR 'repne_cmpsb_10',   S+40, C+40, 10, 0, FL0, {repne cmpsb}
    STR 'repne_cmpsb_2',    S+40, C+40, 2, 0, FLX, {repne cmpsb}
    STR 'repe_cmpsw_50',    S+0, C+0, 50, 0, FL0, {repe cmpsw}
    STR 'repe_cmpsd_25',    S+0, C+0, 25, 0, FL0, {repe cmpsd}
    STR 'repe_cmpsb_df1',   S+60, C+60, 100, 0, FL1, {repe cmpsb}
    STR 'repe_cmpsd_df1',   S+220, C+220, 50, 0, FL1, {repe cmpsd}
    STR 'repne_cmpsb_df1',  S+310, C+310, 100, 0, FL1, {repne cmpsb}
    ; ------------------------------------------------------------ SCAS (D: 0x77 at 100..119, A5 5A C3 3C at 150..153)
    STR 'scasb_eq',         S, D+100, 0x77, 0x77, FL0, {scasb}
    STR 'scasb_ne',         S, D+100, 0x77, 0x78, FLX, {scasb}
    STR 'scasw',            S, D+150, 0x77, 0x12345aa5, FL0, {scasw}
    STR 'scasd',            S, D+150, 0x77, 0x3cc35aa5, FL0, {scasd}
    STR 'repne_scasb_find', S, D+120, 100, 0xa5, FL0, {repne scasb}
    STR 'repe_scasb_run',   S, D+100, 50, 0x77, FL0, {repe scasb}
    STR 'repne_scasw_find', S, D+130, 100, 0x5aa5, FL0, {repne scasw}
    STR 'repne_scasd_find', S, D+130, 100, 0x3cc35aa5, FL0, {repne scasd}
    STR 'repne_scasb_0',    S, D+120, 0, 0xa5, FLX, {repne scasb}
    STR 'repne_scasb_df1',  S, D+170, 100, 0xa5, FL1, {repne scasb}
    STR 'repne_scasb_none', S, D+120, 8, 0xa5, FL0, {repne scasb}
    STR 'repe_scasd_none',  S, D+100, 3, 0x77777777, FLX, {repe scasd}
    ; ------------------------------------------------------------ OUTS (port 0x80)
    STR 'outsb',            S+256, D, 0x77, 0, FL0, {outsb}
    STR 'rep_outsw_3',      S+256, D, 3, 0, FL0, {rep outsw}
    STR 'rep_outsd_2_df1',  S+256, D, 2, 0, FL1, {rep outsd}
    STR 'rep_outsb_0',      S+256, D, 0, 0, FLX, {rep outsb}
    ; ------------------------------------------------------------ 16-bit addressing (67h), DS=ES base 2 MiB
    STR 'a16_rep_movsb_wrap',     0xabcdfffc, 0x12340100, 0x55550008, 0, FL0, SEG16, {a16 rep movsb}
    STR 'a16_rep_movsw_wrap_df1', 0xabcd0002, 0x12340180, 0x55550004, 0, FL1, SEG16, {a16 rep movsw}
    STR 'a16_rep_stosw_wrap',     0xabcd0000, 0x1234fffc, 0x55550004, 0xdeadbeef, FL0, SEG16, {a16 rep stosw}
    STR 'a16_rep_stosb_wrap_df1', 0xabcd0000, 0x12340001, 0x55550004, 0xdeadbeef, FL1, SEG16, {a16 rep stosb}
    STR 'a16_rep_stosd_wrap',     0xabcd0000, 0x1234fff8, 0x55550004, 0xcafebabe, FLX, SEG16, {a16 rep stosd}
    STR 'a16_lodsd_wrap',         0xabcdfffc, 0x12340000, 0x55550004, 0, FL0, SEG16, {a16 lodsd}
    STR 'a16_rep_lodsw_wrap',     0xabcdfffe, 0x12340000, 0x55550003, 0, FL0, SEG16, {a16 rep lodsw}
    STR 'a16_repe_cmpsb_wrap',    0xabcdfffe, 0x1234fffe, 0x55550006, 0, FL0, SEG16, {a16 repe cmpsb}
    STR 'a16_repne_scasb_wrap',   0xabcd0000, 0x1234fff8, 0x55550020, 0xca, FL0, SEG16, {a16 repne scasb}
    STR 'a16_repe_cmpsw',         0xabcd0100, 0x1234ff00, 0x55550010, 0, FLX, SEG16, {a16 repe cmpsw}
    STR 'a16_rep_movsd_0',        0xabcdfffc, 0x12340100, 0x55550000, 0, FL0, SEG16, {a16 rep movsd}
    STR 'a16_rep_movsd_cx0_ecx',  0xabcdfffc, 0x12340100, 0x00010000, 0, FL0, SEG16, {a16 rep movsd}
    STR 'a16_rep_outsb_wrap',     0xabcdfffe, 0x12340000, 0x55550004, 0, FL0, SEG16, {mov edx, 0x80}, {a16 rep outsb}
    ret

; ---------------------------------------------------------------- helpers
; str_init: S[i] = pattern, C = S with bytes 40 41 42 200 300 changed,
; D = other pattern with a 0x77 run at 100..119 and A5 5A C3 3C at 150;
; 2 MiB area: +0x000..0x1ff and +0xfe00..0x100ff patterned.
str_init:
    pushad
    xor ecx, ecx
.l1:
    mov eax, ecx
    imul eax, eax, 0x1d
    add eax, 0x33
    mov [S + ecx], al
    mov [C + ecx], al
    mov eax, ecx
    imul eax, eax, 0x47
    mov [D + ecx], al
    inc ecx
    cmp ecx, BUFSZ
    jb .l1
    xor byte [C + 40], 0x01
    xor byte [C + 41], 0x80
    xor byte [C + 42], 0xff
    xor byte [C + 200], 0x10
    xor byte [C + 300], 0x04
    mov edi, D + 100
    mov ecx, 20
    mov al, 0x77
    rep stosb
    mov dword [D + 150], 0x3cc35aa5
    mov edi, LOWBUF_BASE
    mov ecx, 0x200
    mov al, 0x11
.a:
    stosb
    add al, 0x25
    loop .a
    mov edi, LOWBUF_BASE + 0xfe00
    mov ecx, 0x300
    mov al, 0x99
.b:
    stosb
    add al, 0x3b
    loop .b
    popad
    ret

str_report:
    PRINT ' : '
    PHEX32 [sv_esi]
    SPC
    PHEX32 [sv_edi]
    SPC
    PHEX32 [sv_ecx]
    SPC
    PHEX32 [sv_eax]
    SPC
    mov eax, [sv_fl]
    and eax, F_ALL
    PHEXN eax, 3
    SPC
    HBEGIN
    mov esi, S
    mov ecx, BUFSZ * 3 / 4
    call hash_mem
    mov esi, LOWBUF_BASE
    mov ecx, 0x200 / 4
    call hash_mem
    mov esi, LOWBUF_BASE + 0xfe00
    mov ecx, 0x300 / 4
    call hash_mem
    PHEX32 [hash]
    NL
    ret

section .bss
alignb 16
BUFSZ equ 512
sbuf: resb BUFSZ
dbuf: resb BUFSZ
cbuf: resb BUFSZ
sv_esi: resd 1
sv_edi: resd 1
sv_ecx: resd 1
sv_eax: resd 1
sv_fl: resd 1
