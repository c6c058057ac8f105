; vga.asm -- a standard VGA's I/O registers and its text-mode memory.
;
; Needs `-device isa-vga` (tests/kernels/qemu-args/vga.args; the emulator's PC
; gets `vga: true`).  SeaBIOS runs the VGA BIOS before the -kernel, so the
; kernel starts in text mode 3 with whatever state that BIOS left: misc output
; 0x67 (colour, CRTC at 0x3D4/0x3D5), odd/even text mapping at 0xB8000-0xBFFFF.
;
; 1. The handoff: misc output (0x3CC), feature control (0x3CA), SR0-4, CR00-18
;    (without CR0E/CR0F: the cursor location depends on what the firmware
;    printed; part 4 sets and prints them), GR0-8, AR00-14 and all 256 DAC
;    entries.  The emulator has no VGA BIOS: it must reproduce this state
;    itself, so every register of it is printed.
; 2. Register semantics: what the index registers keep of 0xFF (the
;    sequencer's and graphics controller's are 3 and 4 bits wide), the data
;    registers' writable bits (SR0-7, GR0-15 written with 0xFF and 0x00),
;    CRTC indexes 0x19-0x3F and 0xFF, CR0-CR7 write protection by CR11 bit 7
;    (only CR7 bit 4 stays writable), the attribute controller's index/data
;    flip-flop (reset by reading input status 1; what 0x3C0 reads in either
;    state), the AC registers' writable bits, input status 1, the DAC's index
;    auto-increment, its state register and a partially written triple
;    (dropped when the write index is rewritten), misc output
;    bit 4 and bit 0 (I/O address select: with it clear the CRTC moves to
;    0x3B4/0x3B5 and input status 1 to 0x3BA, while 0x3D4/0x3D5/0x3DA float to
;    0xFF and ignore writes).  Every register changed is restored, and the
;    whole handoff state is read again and compared at the end of the part.
; 3. Text memory at 0xB8000-0xBFFFF (32 KiB; mode 3 maps odd bytes to plane 1
;    and even bytes to plane 0, so every access goes through the VGA's memory
;    decoder, one byte at a time in QEMU): filled with REP STOSD, then
;    overwritten in parts with dword, byte and word MOVs (also unaligned ones,
;    and narrower stores over wider ones), read back with byte, word and dword
;    loads into three hashes, and a few words printed.
; 4. A clean screen: 0x0720 everywhere, a message on row 0, the cursor at
;    row 1 column 0 (CR0E/CR0F) and the start address 0 (CR0C/CR0D), read back.
;
; Where a VGA leaves a result undefined (CRTC indexes past 0x18, AC indexes
; 0x15-0x1F, what 0x3C0 reads while the flip-flop is at "data", input status
; 1 without a real raster), QEMU's answer is the expected one.
;
; Not covered: the PEL mask (0x3C6: a VGA register that QEMU 7.2 does not
; model -- it reads 0x00 and drops writes, where a VGA BIOS leaves 0xFF; the
; golden would make the emulator copy the hole), 0xA0000-0xB7FFF (outside the
; mode 3 window: QEMU's VGA answers 0xFF and drops writes there, the emulator
; has RAM), graphics modes, the graphics controller's write modes, latches,
; set/reset and bit mask (only their registers are read back), word OUTs to
; index/data pairs, DAC values above 0x3F (QEMU keeps 8 bits, a VGA 6), input
; status 0 (0x3C2: its monitor sense bit is wiring), 0x3C3, writes to the
; feature control register.
;
; Input status 1 toggles bits 0 and 3 on each read in QEMU ("just toggle to
; fool polling"); at the handoff the next read returns 0x09 (that depends on
; how often the firmware read it), and since every read here is at a fixed
; point the printed values are reproducible.
;
; Only the ports 0x3B4/0x3B5/0x3BA, 0x3C0-0x3C5, 0x3C7-0x3CF and
; 0x3D4/0x3D5/0x3DA are touched (plus the lib's COM1, PIC masks and debug
; exit), with byte IN/OUT; IF stays 0.

%include "lib.inc"

TEXT      equ 0xb8000           ; mode 3 text memory, 32 KiB
TEXT_SIZE equ 0x8000

; ---------------------------------------------------------------- helpers

; ph8: print ' ' and al as two hex digits. Preserves everything.
ph8:
    SPC
    push eax
    movzx eax, al
    PHEX8 eax
    pop eax
    ret

; pbytes: esi = buffer, ecx = count: ' xx' for each byte. Preserves everything.
pbytes:
    pushad
    jecxz .done
.l:
    mov al, [esi]
    call ph8
    inc esi
    dec ecx
    jnz .l
.done:
    popad
    ret

%include "vga.inc"

; ac_rd: bl = AC index -> al. Reads 0x3DA (flip-flop to "index"), writes the
; index with bit 5 (palette address source: the screen stays on) to 0x3C0 and
; reads the data from 0x3C1; the flip-flop is left at "data".
ac_rd:
    push edx
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, bl
    or al, 0x20
    out dx, al
    mov dx, 0x3c1
    in al, dx
    pop edx
    ret

; ac_wr: bl = AC index, al = data: 0x3DA read, index | 0x20 and the data to
; 0x3C0 (the flip-flop ends at "index"). Preserves everything.
ac_wr:
    push edx
    push eax
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, bl
    or al, 0x20
    out dx, al
    pop eax
    out dx, al
    pop edx
    ret

; dac_rd_all: edi = 768-byte buffer <- all 256 DAC entries (read index 0).
dac_rd_all:
    pushad
    mov dx, 0x3c7
    xor al, al
    out dx, al
    mov dx, 0x3c9
    mov ecx, 768
.l:
    in al, dx
    stosb
    dec ecx
    jnz .l
    popad
    ret

; read_state: edi = a state block (ST_* layout) <- misc, feature control,
; SR0-7, CR00-18, GR0-15, AR00-14, DAC.
ST_MISC equ 0
ST_FCR  equ 1
ST_SR   equ 2                   ; 8
ST_CR   equ 10                  ; 0x19
ST_GR   equ 35                  ; 16
ST_AR   equ 51                  ; 0x15
ST_DAC  equ 72                  ; 768
ST_SIZE equ 840
read_state:
    pushad
    mov ebp, edi
    mov dx, 0x3cc
    in al, dx
    mov [ebp + ST_MISC], al
    mov dx, 0x3ca
    in al, dx
    mov [ebp + ST_FCR], al
    mov dx, 0x3c4
    xor ebx, ebx
.sr:
    call rd_ix
    mov [ebp + ST_SR + ebx], al
    inc ebx
    cmp ebx, 8
    jb .sr
    mov dx, 0x3d4
    xor ebx, ebx
.cr:
    call rd_ix
    mov [ebp + ST_CR + ebx], al
    inc ebx
    cmp ebx, 0x19
    jb .cr
    mov dx, 0x3ce
    xor ebx, ebx
.gr:
    call rd_ix
    mov [ebp + ST_GR + ebx], al
    inc ebx
    cmp ebx, 16
    jb .gr
    xor ebx, ebx
.ar:
    call ac_rd
    mov [ebp + ST_AR + ebx], al
    inc ebx
    cmp ebx, 0x15
    jb .ar
    lea edi, [ebp + ST_DAC]
    call dac_rd_all
    popad
    ret

; cr_probe: ebx = first CRTC index, ecx = last: each written with 0x5A and
; read back (printed), then given its old value again.
cr_probe:
    pushad
    mov dx, 0x3d4
.l:
    call rd_ix
    mov ah, al                  ; old value
    mov al, 0x5a
    call wr_ix
    call rd_ix
    call ph8
    mov al, ah
    call wr_ix
    inc ebx
    cmp ebx, ecx
    jbe .l
    popad
    ret

; mask_probe: dx = index port, ebx = first index, ecx = last, edi = saved
; values (by index), esi = name: one line "name i ff->xx 00->yy" per index,
; each register given its saved value back right after.
mask_probe:
    pushad
.l:
    call puts
    mov al, bl
    call ph8
    PRINT ' ff->'
    mov al, 0xff
    call wr_ix
    call rd_ix
    movzx eax, al
    PHEX8 eax
    PRINT ' 00->'
    xor al, al
    call wr_ix
    call rd_ix
    movzx eax, al
    PHEX8 eax
    NL
    mov al, [edi + ebx]
    call wr_ix
    inc ebx
    cmp ebx, ecx
    jbe .l
    popad
    ret

; cmp_bytes: esi = old, edi = new, ecx = count, ebx = name: prints
; "diff name i: xx -> yy" for each difference and counts them in [diffs].
cmp_bytes:
    pushad
    xor edx, edx
.l:
    mov al, [esi + edx]
    cmp al, [edi + edx]
    je .next
    inc dword [diffs]
    PRINT 'diff '
    push esi
    mov esi, ebx
    call puts
    pop esi
    PRINT ' '
    PHEX16 edx
    PRINT ':'
    call ph8
    PRINT ' ->'
    mov al, [edi + edx]
    call ph8
    NL
.next:
    inc edx
    cmp edx, ecx
    jb .l
    popad
    ret

%macro CMPST 3                  ; offset, count, 'name'
    [section .rodata]
%%n: db %3, 0
    __SECT__
    lea esi, [handoff + %1]
    lea edi, [after + %1]
    mov ecx, %2
    mov ebx, %%n
    call cmp_bytes
%endmacro

; IN8 port -> prints ' xx' (the byte read)
%macro IN8 1
    mov dx, %1
    in al, dx
    call ph8
%endmacro
; OUT8 port, value
%macro OUT8 2
    mov dx, %1
    mov al, %2
    out dx, al
%endmacro

; ---------------------------------------------------------------- main
main:
    ; ======== 1. the handoff state
    mov edi, handoff
    call read_state
    PRINT 'misc'
    mov al, [handoff + ST_MISC]
    call ph8
    NL
    PRINT 'feature'
    mov al, [handoff + ST_FCR]
    call ph8
    NL
    PRINT 'sr00-04'
    mov esi, handoff + ST_SR
    mov ecx, 5
    call pbytes
    NL
    PRINT 'cr00-0d'             ; CR0E/CR0F (cursor location) left out
    mov esi, handoff + ST_CR
    mov ecx, 0x0e
    call pbytes
    NL
    PRINT 'cr10-18'
    mov esi, handoff + ST_CR + 0x10
    mov ecx, 9
    call pbytes
    NL
    PRINT 'gr00-08'
    mov esi, handoff + ST_GR
    mov ecx, 9
    call pbytes
    NL
    PRINT 'ar00-0f'
    mov esi, handoff + ST_AR
    mov ecx, 16
    call pbytes
    NL
    PRINT 'ar10-14'
    mov esi, handoff + ST_AR + 0x10
    mov ecx, 5
    call pbytes
    NL
    ; DAC: "dac NN:" and 8 entries as rrggbb
    mov esi, handoff + ST_DAC
    xor ebx, ebx
.dac_line:
    PRINT 'dac '
    PHEX8 ebx
    PRINT ':'
    mov ecx, 8
.dac_entry:
    SPC
    movzx eax, byte [esi]
    PHEX8 eax
    movzx eax, byte [esi + 1]
    PHEX8 eax
    movzx eax, byte [esi + 2]
    PHEX8 eax
    add esi, 3
    inc ebx
    dec ecx
    jnz .dac_entry
    NL
    cmp ebx, 256
    jb .dac_line

    ; ======== 2. register semantics
    ; -- index registers: what they keep of the value written
    PRINT 'index 3c4 <- ff:'
    OUT8 0x3c4, 0xff
    IN8 0x3c4
    NL
    PRINT 'index 3ce <- ff:'
    OUT8 0x3ce, 0xff
    IN8 0x3ce
    NL
    PRINT 'index 3d4 <- ff:'
    OUT8 0x3d4, 0xff
    IN8 0x3d4
    NL
    PRINT 'index 3d4 <- 3f:'
    OUT8 0x3d4, 0x3f
    IN8 0x3d4
    NL

    ; -- data registers: writable bits (0xFF and 0x00 written, read back)
    mov dx, 0x3c4
    xor ebx, ebx
    mov ecx, 7
    mov edi, handoff + ST_SR
    mov esi, name_sr
    call mask_probe
    mov dx, 0x3ce
    xor ebx, ebx
    mov ecx, 15
    mov edi, handoff + ST_GR
    mov esi, name_gr
    call mask_probe

    ; -- CRTC indexes past the standard registers: 0x5A written, read back
    PRINT 'cr19-1f 5a:'
    mov ebx, 0x19
    mov ecx, 0x1f
    call cr_probe
    NL
    PRINT 'cr20-2f 5a:'
    mov ebx, 0x20
    mov ecx, 0x2f
    call cr_probe
    NL
    PRINT 'cr30-3f 5a:'
    mov ebx, 0x30
    mov ecx, 0x3f
    call cr_probe
    NL
    PRINT 'crff 5a:'
    mov ebx, 0xff
    mov ecx, 0xff
    call cr_probe
    NL

    ; -- CR0-CR7 write protection (CR11 bit 7): only CR7 bit 4 (line compare
    ;    bit 8) stays writable
    mov dx, 0x3d4
    mov bl, 0x11
    mov al, [handoff + ST_CR + 0x11]
    or al, 0x80
    call wr_ix
    PRINT 'cr11 locked:'
    call rd_ix
    call ph8
    NL
    xor ebx, ebx
.lock:
    mov al, 0xff
    call wr_ix
    call rd_ix
    mov [buf + ebx], al
    xor al, al
    call wr_ix
    call rd_ix
    mov [buf + 8 + ebx], al
    inc ebx
    cmp ebx, 8
    jb .lock
    PRINT 'cr00-07 locked ff:'
    mov esi, buf
    mov ecx, 8
    call pbytes
    NL
    PRINT 'cr00-07 locked 00:'
    mov esi, buf + 8
    call pbytes
    NL
    mov bl, 0x11
    mov al, [handoff + ST_CR + 0x11]
    and al, 0x7f
    call wr_ix
    PRINT 'cr11 unlocked:'
    call rd_ix
    call ph8
    NL
    xor ebx, ebx
.unlock:
    mov al, 0xff
    call wr_ix
    call rd_ix
    mov [buf + ebx], al
    xor al, al
    call wr_ix
    call rd_ix
    mov [buf + 8 + ebx], al
    mov al, [handoff + ST_CR + ebx]     ; back to the handoff value
    call wr_ix
    call rd_ix
    mov [buf + 16 + ebx], al
    inc ebx
    cmp ebx, 8
    jb .unlock
    PRINT 'cr00-07 unlocked ff:'
    mov esi, buf
    mov ecx, 8
    call pbytes
    NL
    PRINT 'cr00-07 unlocked 00:'
    mov esi, buf + 8
    call pbytes
    NL
    PRINT 'cr00-07 restored:'
    mov esi, buf + 16
    call pbytes
    NL
    mov bl, 0x11
    mov al, [handoff + ST_CR + 0x11]
    call wr_ix
    PRINT 'cr11 restored:'
    call rd_ix
    call ph8
    NL

    ; -- the attribute controller's flip-flop: 0x3C0 takes an index, then a
    ;    data byte, alternately; reading 0x3DA resets it to "index"
    mov dx, 0x3da
    in al, dx
    PRINT 'ac 3c0 read (index state):'
    IN8 0x3c0
    NL
    OUT8 0x3c0, 0x32            ; index 0x12 (plane enable) | 0x20
    PRINT 'ac 3c0 read after index 32 (data state):'
    IN8 0x3c0
    NL
    OUT8 0x3c0, 0x05            ; data -> AR12
    PRINT 'ac 3c0 read after data 05 (index state):'
    IN8 0x3c0
    NL
    PRINT 'ac 3c1 read (ar12):'
    IN8 0x3c1
    NL
    mov bl, 0x12
    mov al, [handoff + ST_AR + 0x12]
    call ac_wr

    ; -- AC data registers: writable bits, and indexes 0x15-0x1F
    xor ebx, ebx
.acm:
    mov al, 0xff
    call ac_wr
    call ac_rd
    mov [buf + ebx], al
    mov al, [handoff + ST_AR + ebx]
    call ac_wr
    inc ebx
    cmp ebx, 0x15
    jb .acm
    PRINT 'ar00-0f ff:'
    mov esi, buf
    mov ecx, 16
    call pbytes
    NL
    PRINT 'ar10-14 ff:'
    mov esi, buf + 0x10
    mov ecx, 5
    call pbytes
    NL
    PRINT 'ar15-1f:'
    mov ebx, 0x15
.ach:
    call ac_rd
    call ph8
    inc ebx
    cmp ebx, 0x20
    jb .ach
    NL
    mov dx, 0x3da               ; flip-flop back to "index"
    in al, dx

    ; -- input status 1, six reads in a row
    PRINT 'is1 x6:'
    mov ecx, 6
.is1:
    IN8 0x3da
    dec ecx
    jnz .is1
    NL

    ; -- DAC: write index, auto-increment after each triple, state register
    OUT8 0x3c8, 0x10
    OUT8 0x3c9, 0x3f
    OUT8 0x3c9, 0x15
    OUT8 0x3c9, 0x2a
    PRINT 'dac write 10 3f 15 2a: 3c8 3c7'
    IN8 0x3c8
    IN8 0x3c7
    NL
    OUT8 0x3c7, 0x10
    PRINT 'dac read index 10: 3c7'
    IN8 0x3c7
    PRINT ' data'
    IN8 0x3c9
    IN8 0x3c9
    IN8 0x3c9
    NL
    ; a partial triple is dropped when the write index is set again
    OUT8 0x3c8, 0x11
    OUT8 0x3c9, 0x01
    OUT8 0x3c9, 0x02
    OUT8 0x3c8, 0x12
    OUT8 0x3c9, 0x03
    OUT8 0x3c9, 0x04
    OUT8 0x3c9, 0x05
    OUT8 0x3c7, 0x11
    PRINT 'dac partial 11: 11'
    IN8 0x3c9
    IN8 0x3c9
    IN8 0x3c9
    PRINT ' 12'
    IN8 0x3c9
    IN8 0x3c9
    IN8 0x3c9
    NL
    ; ... and a partial read restarts at the new read index
    OUT8 0x3c7, 0x10
    mov dx, 0x3c9
    in al, dx
    OUT8 0x3c7, 0x12
    PRINT 'dac read 1 of 10, read index 12:'
    IN8 0x3c9
    IN8 0x3c9
    IN8 0x3c9
    NL
    ; entries 0x10-0x12 back to the handoff values
    OUT8 0x3c8, 0x10
    mov dx, 0x3c9
    mov esi, handoff + ST_DAC + 0x10 * 3
    mov ecx, 9
.dac_restore:
    lodsb
    out dx, al
    dec ecx
    jnz .dac_restore

    ; -- misc output: bit 4 is not writable
    mov al, [handoff + ST_MISC]
    or al, 0x10
    mov dx, 0x3c2
    out dx, al
    PRINT 'misc <- |10:'
    IN8 0x3cc
    NL
    ; known CRTC index before the switch
    OUT8 0x3d4, 0x0c
    ; -- mono I/O addresses (misc bit 0 clear): CRTC at 0x3B4/0x3B5, input
    ;    status 1 at 0x3BA; the colour ports float and ignore writes
    mov al, [handoff + ST_MISC]
    and al, 0xfe
    mov dx, 0x3c2
    out dx, al
    PRINT 'misc <- &fe:'
    IN8 0x3cc
    NL
    PRINT 'mono: 3d4 3d5 3da'
    IN8 0x3d4
    IN8 0x3d5
    IN8 0x3da
    NL
    OUT8 0x3d4, 0x0d            ; must not land
    OUT8 0x3d5, 0x77            ; must not land
    PRINT 'mono: 3b4 3b5'
    IN8 0x3b4                   ; still 0x0c
    IN8 0x3b5                   ; CR0C, unchanged
    NL
    OUT8 0x3b4, 0x0c
    OUT8 0x3b5, 0x12
    PRINT 'mono: 3b5 <- 12:'
    IN8 0x3b5
    NL
    PRINT 'mono: 3ba'
    IN8 0x3ba
    NL
    OUT8 0x3b5, [handoff + ST_CR + 0x0c]
    ; -- back to colour: the 0x3Bx ports float now
    mov al, [handoff + ST_MISC]
    mov dx, 0x3c2
    out dx, al
    PRINT 'colour: 3cc 3d4 3d5 3b4 3b5 3ba'
    IN8 0x3cc
    IN8 0x3d4
    IN8 0x3d5
    IN8 0x3b4
    IN8 0x3b5
    IN8 0x3ba
    NL

    ; -- everything back as the BIOS left it?
    mov edi, after
    call read_state
    mov dword [diffs], 0
    CMPST ST_MISC, 1, 'misc'
    CMPST ST_FCR, 1, 'feature'
    CMPST ST_SR, 8, 'sr'
    CMPST ST_CR, 0x19, 'cr'
    CMPST ST_GR, 16, 'gr'
    CMPST ST_AR, 0x15, 'ar'
    CMPST ST_DAC, 768, 'dac'
    PRINT 'registers restored, differences:'
    mov eax, [diffs]
    call ph8
    NL

    ; ======== 3. text memory
    ; a background for everything: REP STOSD
    mov edi, TEXT
    mov ecx, TEXT_SIZE / 4
    mov eax, 0x1e411f42
    rep stosd
    ; 0x0000-0x1FFF: dword MOVs, i * 0x9E3779B1 + 0x01234567
    xor ecx, ecx
.tdw:
    mov eax, ecx
    imul eax, eax, 0x9e3779b1
    add eax, 0x01234567
    mov [TEXT + ecx * 4], eax
    inc ecx
    cmp ecx, 0x2000 / 4
    jb .tdw
    ; 0x2000-0x3FFF: byte MOVs, 0x5B + 13 i
    xor ecx, ecx
    mov al, 0x5b
.tb:
    mov [TEXT + 0x2000 + ecx], al
    add al, 13
    inc ecx
    cmp ecx, 0x2000
    jb .tb
    ; 0x4000-0x5FFF: word MOVs, (i * 0x2F1) ^ 0xA5C3
    xor ecx, ecx
.tw:
    mov eax, ecx
    imul eax, eax, 0x2f1
    xor eax, 0xa5c3
    mov [TEXT + 0x4000 + ecx * 2], ax
    inc ecx
    cmp ecx, 0x2000 / 2
    jb .tw
    ; 0x6000-0x7FFF: the REP STOSD background, with narrower stores over
    ; wider data, unaligned stores, and the last bytes of the window
    mov byte [TEXT + 0x0005], 0xee
    mov word [TEXT + 0x000a], 0x1234
    mov dword [TEXT + 0x6001], 0xdeadbeef
    mov word [TEXT + 0x6007], 0xcafe
    mov dword [TEXT + 0x600e], 0x11223344
    mov dword [TEXT + 0x7ffc], 0x55667788
    mov byte [TEXT + 0x7fff], 0x99
    ; read back: dwords, words, bytes
    HBEGIN
    xor ecx, ecx
.hd:
    mov eax, [TEXT + ecx * 4]
    call hash_eax
    inc ecx
    cmp ecx, TEXT_SIZE / 4
    jb .hd
    HEND 'text dwords'
    HBEGIN
    xor ecx, ecx
.hw:
    movzx eax, word [TEXT + ecx * 2]
    call hash_eax
    inc ecx
    cmp ecx, TEXT_SIZE / 2
    jb .hw
    HEND 'text words'
    HBEGIN
    xor ecx, ecx
.hb:
    movzx eax, byte [TEXT + ecx]
    call hash_eax
    inc ecx
    cmp ecx, TEXT_SIZE
    jb .hb
    HEND 'text bytes'
    PRINT 'text words +0000 +0004 +000a +2000 +2001 +4000 +6000 +6001 +6007 +600f +7ffe:'
%macro TW 1
    SPC
    movzx eax, word [TEXT + %1]
    PHEX16 eax
%endmacro
    TW 0x0000
    TW 0x0004
    TW 0x000a
    TW 0x2000
    TW 0x2001
    TW 0x4000
    TW 0x6000
    TW 0x6001
    TW 0x6007
    TW 0x600f
    TW 0x7ffe
    NL
    PRINT 'text dwords +0003 +6001 +600e:'
    SPC
    PHEX32 [TEXT + 0x0003]
    SPC
    PHEX32 [TEXT + 0x6001]
    SPC
    PHEX32 [TEXT + 0x600e]
    NL

    ; ======== 4. a clean screen, a message, the cursor below it
    mov edi, TEXT
    mov ecx, TEXT_SIZE / 2
    mov ax, 0x0720
    rep stosw
    mov esi, message
    mov edi, TEXT
    mov ah, 0x1f
.msg_l:
    lodsb
    test al, al
    jz .msg_done
    mov [edi], ax
    add edi, 2
    jmp .msg_l
.msg_done:
    PRINT 'text row 0:'
    TW 0x0000
    TW 0x0002
    TW 0x00a0
    NL
    mov dx, 0x3d4
    mov bl, 0x0e
    mov al, 0x00                ; cursor location 80 = row 1, column 0
    call wr_ix
    mov bl, 0x0f
    mov al, 0x50
    call wr_ix
    PRINT 'cr0e cr0f'
    mov bl, 0x0e
    call rd_ix
    call ph8
    mov bl, 0x0f
    call rd_ix
    call ph8
    NL
    mov bl, 0x0c
    xor al, al
    call wr_ix
    mov bl, 0x0d
    call wr_ix
    PRINT 'cr0c cr0d'
    mov bl, 0x0c
    call rd_ix
    call ph8
    mov bl, 0x0d
    call rd_ix
    call ph8
    NL
    PRINTLN 'vga done'
    ret

section .rodata
name_sr: db 'sr', 0
name_gr: db 'gr', 0
message: db 'Symbiont VGA test', 0
section .text

section .bss
alignb 4
diffs:   resd 1
buf:     resb 64
handoff: resb ST_SIZE
after:   resb ST_SIZE
