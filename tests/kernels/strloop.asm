; strloop.asm -- MOVS CMPS STOS LODS SCAS without REP, each in a loop run
; ROUNDS times, so that the block compiler compiles them (above its threshold
; of 5000 replays; the test run that compiles every block after one replay
; compiles them at once): byte/word/dword, DF 0 and 1, a segment override on
; the source (a flat FS, and an FS based at 2 MiB), ES based at 2 MiB with a
; 64 KiB limit as the destination, and i386 Linux's strcmp and strncmp
; (arch/x86/lib/string_32.c: LODSB/SCASB loops). 67h forms stay the
; interpreter's and run here once per loop too.
;
; One line per case: "name hhhhhhhh", the hash over every round's EAX ESI EDI
; and EFLAGS & F_ALL after the instruction(s), then over the buffers.
;
; Flags (Intel SDM vol. 2): MOVS LODS STOS affect none; CMPS and SCAS set
; CF OF SF ZF AF PF as CMP (source - destination, accumulator - destination).

%include "lib.inc"

ROUNDS      equ 6000
SEL_FS2M    equ 0x30            ; data, base 2 MiB, 4 GiB limit (flat but based)
SEL_ES64K   equ 0x38            ; data, base 2 MiB, limit 0xffff (byte granular)
LOWBUF      equ 0x00200000
BUFSZ       equ 512

; LOOPCASE 'name', insn... -- ROUNDS rounds of: ESI = S + (round & 63),
; EDI = D + ((round * 5) & 63), EAX = round * 0x01010101 ^ 0x5a3c, DF = 0;
; the instructions; fold EAX ESI EDI EFLAGS.
%macro LOOPCASE 2-*
    %xdefine _LNAME %1
    call buf_init
    HBEGIN
    xor ebp, ebp
%%round:
    mov esi, ebp
    and esi, 63
    add esi, sbuf
    mov edi, ebp
    imul edi, edi, 5
    and edi, 63
    add edi, dbuf
    mov eax, ebp
    imul eax, eax, 0x01010101
    xor eax, 0x5a3c
    %rep %0-1
    %rotate 1
    %1
    %endrep
    pushfd
    cld
    HASHV eax
    HASHV esi
    HASHV edi
    pop edx
    and edx, F_ALL
    HASHV edx
    inc ebp
    cmp ebp, ROUNDS
    jb %%round
    call hash_bufs
    HEND _LNAME
%endmacro

main:
    GDTSET SEL_FS2M, LOWBUF, 0xfffff, 0x93, 0xc0
    GDTSET SEL_ES64K, LOWBUF, 0xffff, 0x93, 0x40

    LOOPCASE 'lodsb',        {lodsb}
    LOOPCASE 'lodsw_df1',    {std}, {lodsw}
    LOOPCASE 'lodsd_x2',     {lodsd}, {lodsd}
    LOOPCASE 'stosb',        {stosb}
    LOOPCASE 'stosw_df1',    {std}, {stosw}
    LOOPCASE 'stosd',        {stosd}
    LOOPCASE 'movsb',        {movsb}
    LOOPCASE 'movsw',        {movsw}
    LOOPCASE 'movsd_df1',    {std}, {movsd}
    LOOPCASE 'cmpsb',        {cmpsb}
    LOOPCASE 'cmpsw_df1',    {std}, {cmpsw}
    LOOPCASE 'cmpsd',        {cmpsd}
    LOOPCASE 'scasb',        {scasb}
    LOOPCASE 'scasw',        {scasw}
    LOOPCASE 'scasd_df1',    {std}, {scasd}
    LOOPCASE 'fs_lodsb',     {fs lodsb}
    LOOPCASE 'fs2m_lodsd',   {mov bx, SEL_FS2M}, {mov fs, bx}, {and esi, 0x1ff}, {fs lodsd}
    LOOPCASE 'fs2m_movsb',   {mov bx, SEL_FS2M}, {mov fs, bx}, {and esi, 0x1ff}, {fs movsb}
    LOOPCASE 'fs2m_cmpsw',   {mov bx, SEL_FS2M}, {mov fs, bx}, {and esi, 0x1ff}, {std}, {fs cmpsw}
    LOOPCASE 'es64k_stosd',  {mov bx, SEL_ES64K}, {mov es, bx}, {and edi, 0x1ff}, {stosd}
    LOOPCASE 'es64k_scasb',  {mov bx, SEL_ES64K}, {mov es, bx}, {and edi, 0x1ff}, {scasb}
    LOOPCASE 'es64k_movsw',  {mov bx, SEL_ES64K}, {mov es, bx}, {and edi, 0x1ff}, {movsw}
    LOOPCASE 'a16_fs2m_lodsb', {mov bx, SEL_FS2M}, {mov fs, bx}, {and esi, 0x1ff}, {a16 fs lodsb}
    LOOPCASE 'strcmp',       {call strcmp_i386}
    LOOPCASE 'strncmp',      {mov ecx, ebp}, {and ecx, 31}, {call strncmp_i386}
    ; restore ES/FS for the report
    mov bx, SEL_DATA0
    mov es, bx
    mov fs, bx
    ret

; arch/x86/lib/string_32.c strcmp: ESI = cs, EDI = ct; EAX = 0, or -1/1.
strcmp_i386:
.c: lodsb
    scasb
    jne .ne
    test al, al
    jne .c
    xor eax, eax
    jmp .done
.ne:
    sbb eax, eax
    or al, 1
.done:
    ret

; strncmp: ECX = count.
strncmp_i386:
.c: dec ecx
    js .eq
    lodsb
    scasb
    jne .ne
    test al, al
    jne .c
.eq:
    xor eax, eax
    jmp .done
.ne:
    sbb eax, eax
    or al, 1
.done:
    ret

; buf_init: sbuf = a string of non-zero bytes with a NUL every 29, dbuf = the
; same with a byte changed every 41 and at 2 MiB a pattern; ES, FS flat.
buf_init:
    pushad
    mov bx, SEL_DATA0
    mov es, bx
    mov fs, bx
    xor ecx, ecx
.l:
    mov eax, ecx
    imul eax, eax, 7
    and eax, 0x7f
    or al, 1
    push eax
    mov eax, ecx
    xor edx, edx
    mov ebx, 29
    div ebx
    pop eax
    cmp edx, 28
    jne .nz
    xor eax, eax
.nz:
    mov [sbuf + ecx], al
    mov [dbuf + ecx], al
    push eax
    mov eax, ecx
    xor edx, edx
    mov ebx, 41
    div ebx
    pop eax
    cmp edx, 40
    jne .same
    xor byte [dbuf + ecx], 0x24
.same:
    inc ecx
    cmp ecx, BUFSZ
    jb .l
    xor ecx, ecx
.low:
    mov eax, ecx
    imul eax, eax, 0x3b
    add eax, 0x11
    mov [LOWBUF + ecx], al
    inc ecx
    cmp ecx, BUFSZ * 2
    jb .low
    popad
    ret

hash_bufs:
    pushad
    mov esi, sbuf
    mov ecx, BUFSZ * 2 / 4
    call hash_mem
    mov esi, LOWBUF
    mov ecx, BUFSZ * 2 / 4
    call hash_mem
    popad
    ret

section .bss
alignb 16
sbuf: resb BUFSZ
dbuf: resb BUFSZ
