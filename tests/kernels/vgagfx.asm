; vgagfx.asm -- VGA graphics modes and the Bochs VBE "dispi" interface,
; programmed without the BIOS, one test picture per mode.
;
; Needs `-device isa-vga`.  SeaBIOS runs the VGA BIOS before the -kernel, so
; the kernel starts in text mode 3; everything below is set from here, with
; byte OUTs to the VGA ports and 16-bit OUT/IN to the dispi ports 0x1CE/0x1CF.
;
; After each picture the kernel prints "READY <name>" on COM1 and waits for
; one byte on COM1 (LSR 0x3FD bit 0, then RBR 0x3F8).  The harness
; (tests/unit/vga-graphics.test.ts) takes QEMU's monitor screendump at each
; READY and then sends the byte; the emulator's picture must be the same.
; Not a golden-file kernel: it waits for input (no golden/vgagfx.txt), and
; the test compares the whole serial output with QEMU's too.
;
; 1. mode13h        standard mode 13h from the register tables below (misc,
;                   SR0-4, CR0-18 after unlocking CR0-7, GR0-8, AR0-14, then
;                   0x20 to 0x3C0); all 256 DAC entries
;                       r = i & 63, g = i >> 2, b = (7 i + 13) & 63
;                   (6-bit values, the full range in each component, all
;                   entries distinct since (r, g) gives i).  Before the fill
;                   the 64 KiB window is cleared with planar writes (chain-4
;                   off, all planes: 256 KiB of video memory = 0).  Then the
;                   chain-4 window 0xA0000-0xAFFFF, all 65536 bytes, gets
;                       pixel(x, y) = (x + 3 y + ((x y) >> 6)) & 255,
;                   offset = 320 y + x (lines 0-204, the last one partial).
; 2. mode13h-scroll CRTC start address CR0C:CR0D = 320 * 4 / 4 = 0x0140 (4-byte
;                   units in chain-4) and DAC entries 0-15 = (63 - 4 k,
;                   4 k + 2, k odd ? 63 : 0).  Lines 0-199 show lines 4-203
;                   of the picture: all inside the 64 KiB window (QEMU does
;                   not wrap the display address at 64 KiB as a VGA would,
;                   so a picture reaching past it is not a fair test).
; 3. bga32          dispi ID (as found, after writing 0xB0C0, after writing
;                   0xB0C5), 640x480x32 with the LFB
;                   at 0xE0000000 (a dword written and read back), pixels
;                   0x00RRGGBB with R = x & 255, G = y & 255, B = (x ^ y) & 255;
;                   registers read back.
; 4. bga16          800x600x16 (RGB565), X_OFFSET = Y_OFFSET = 0,
;                   R5 = x & 31, G6 = y & 63, B5 = ((x + y) >> 4) & 31.
; 5. bga8           320x240x8 through the 6-bit DAC (ENABLE = 0x41, no
;                   VBE_DISPI_8BIT_DAC), DAC reloaded with
;                       r = i >> 2, g = (11 i + 5) & 63, b = i & 63,
;                   pixel(x, y) = ((x ^ 3 y) + ((x y) >> 7)) & 255.
; 6. dispi disabled, "vgagfx done".

%include "lib.inc"

VGA_WIN   equ 0xa0000
LFB       equ 0xe0000000          ; VBE_DISPI_LFB_PHYSICAL_ADDRESS

DISPI_ID      equ 0
DISPI_XRES    equ 1
DISPI_YRES    equ 2
DISPI_BPP     equ 3
DISPI_ENABLE  equ 4
DISPI_BANK    equ 5
DISPI_VWIDTH  equ 6
DISPI_VHEIGHT equ 7
DISPI_XOFF    equ 8
DISPI_YOFF    equ 9

; ---------------------------------------------------------------- helpers

; wr_ix: dx = index port, bl = index, al = data (to dx + 1). Preserves everything.
wr_ix:
    push edx
    push eax
    mov al, bl
    out dx, al
    pop eax
    inc edx
    out dx, al
    pop edx
    ret

; rd_ix: dx = index port, bl = index -> al. Preserves the rest.
rd_ix:
    push edx
    mov al, bl
    out dx, al
    inc edx
    in al, dx
    pop edx
    ret

; load_ix: dx = index port, esi = table, ecx = count: indexes 0..count-1.
load_ix:
    pushad
    xor ebx, ebx
.l:
    mov al, [esi + ebx]
    call wr_ix
    inc ebx
    cmp ebx, ecx
    jb .l
    popad
    ret

; vbe_wr: ebx = dispi index, eax = value (16-bit OUTs). Preserves everything.
vbe_wr:
    push edx
    push eax
    mov dx, 0x1ce
    mov eax, ebx
    out dx, ax
    pop eax
    mov dx, 0x1cf
    out dx, ax
    pop edx
    ret

; vbe_rd: ebx = dispi index -> eax (16-bit IN, zero-extended). Preserves the rest.
vbe_rd:
    push edx
    mov dx, 0x1ce
    mov eax, ebx
    out dx, ax
    mov dx, 0x1cf
    in ax, dx
    movzx eax, ax
    pop edx
    ret

%macro VBEW 2
    push eax
    push ebx
    mov ebx, %1
    mov eax, %2
    call vbe_wr
    pop ebx
    pop eax
%endmacro

; VBESHOW 'name', index -> " name=xxxx"
%macro VBESHOW 2
    PRINT %1
    push eax
    push ebx
    mov ebx, %2
    call vbe_rd
    PHEX16 eax
    pop ebx
    pop eax
%endmacro

; wait_byte: poll COM1 until a byte has arrived, read it. Preserves everything.
wait_byte:
    pushfd
    push edx
    push eax
    mov dx, 0x3fd
.w:
    in al, dx
    test al, 1
    jz .w
    mov dx, 0x3f8
    in al, dx
    pop eax
    pop edx
    popfd
    ret

; READY 'name' -- "READY name", then wait for one byte on COM1
%macro READY 1
    PRINT 'READY '
    PRINTLN %1
    call wait_byte
%endmacro

; dac_load: esi = function (ecx = index -> al = r, ah = g, bl = b), all 256
; entries from index 0.
dac_load:
    pushad
    mov edi, esi
    mov dx, 0x3c8
    xor al, al
    out dx, al
    mov dx, 0x3c9
    xor ecx, ecx
.l:
    call edi
    out dx, al
    mov al, ah
    out dx, al
    mov al, bl
    out dx, al
    inc ecx
    cmp ecx, 256
    jb .l
    popad
    ret

; palette 1: r = i & 63, g = i >> 2, b = (7 i + 13) & 63
pal1:
    mov eax, ecx
    and al, 63
    mov ah, cl
    shr ah, 2
    lea ebx, [ecx * 8]
    sub ebx, ecx
    add ebx, 13
    and bl, 63
    ret

; palette 3: r = i >> 2, g = (11 i + 5) & 63, b = i & 63
pal3:
    mov eax, ecx
    shr al, 2
    imul ebx, ecx, 11
    add ebx, 5
    and bl, 63
    mov ah, bl
    mov ebx, ecx
    and bl, 63
    ret

; ---------------------------------------------------------------- main
main:
    ; ======== 1. mode 13h
    ; misc output: 0x63 (colour I/O at 0x3Dx, 25 MHz clock, sync polarities)
    mov dx, 0x3c2
    mov al, [mode13_misc]
    out dx, al
    ; sequencer 0-4
    mov dx, 0x3c4
    mov esi, mode13_seq
    mov ecx, 5
    call load_ix
    ; CRTC: unlock CR0-7 (CR11 bit 7 = 0), then CR0-18 (CR11 = 0x8E from
    ; the table locks CR0-7 again after they have been written)
    mov dx, 0x3d4
    mov bl, 0x11
    call rd_ix
    and al, 0x7f
    call wr_ix
    mov esi, mode13_crtc
    mov ecx, 0x19
    call load_ix
    ; graphics controller 0-8
    mov dx, 0x3ce
    mov esi, mode13_gc
    mov ecx, 9
    call load_ix
    ; attribute controller 0-0x14: flip-flop reset by reading 0x3DA, then
    ; index/data pairs to 0x3C0 (index bit 5 = 0: screen off meanwhile)
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    xor ebx, ebx
.ac:
    mov al, bl
    out dx, al
    mov al, [mode13_ac + ebx]
    out dx, al
    inc ebx
    cmp ebx, 0x15
    jb .ac
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, 0x20                ; palette address source: display on
    out dx, al
    ; DAC
    mov esi, pal1
    call dac_load

    ; clear all of video memory: chain-4 off, planar write mode 0 to all
    ; four planes through the 64 KiB window (256 KiB), then chain-4 again
    mov dx, 0x3c4
    mov bl, 4
    mov al, 0x06                ; SR4: extended memory, odd/even off, chain-4 off
    call wr_ix
    mov bl, 2
    mov al, 0x0f
    call wr_ix
    mov dx, 0x3ce
    mov bl, 5
    mov al, 0x00                ; GR5: write mode 0, no odd/even
    call wr_ix
    mov edi, VGA_WIN
    mov ecx, 0x10000 / 4
    xor eax, eax
    rep stosd
    mov bl, 5
    mov al, [mode13_gc + 5]     ; 0x40
    call wr_ix
    mov dx, 0x3c4
    mov bl, 4
    mov al, [mode13_seq + 4]    ; 0x0E
    call wr_ix

    ; the picture: all 65536 bytes of the window, offset = 320 y + x
    xor edi, edi                ; offset
    xor ebx, ebx                ; y
.fy:
    xor ecx, ecx                ; x
.fx:
    mov eax, ecx
    imul eax, ebx
    shr eax, 6
    add eax, ecx
    lea eax, [eax + ebx * 2]
    add eax, ebx
    mov [VGA_WIN + edi], al
    inc edi
    cmp edi, 0x10000
    jae .fdone
    inc ecx
    cmp ecx, 320
    jb .fx
    inc ebx
    jmp .fy
.fdone:
    ; a few bytes read back through the window (chain-4)
    PRINT 'mode13h a0000 a0001 a0140 a0141 af9ff affff:'
%macro VB 1
    SPC
    movzx eax, byte [VGA_WIN + %1]
    PHEX8 eax
%endmacro
    VB 0
    VB 1
    VB 0x140
    VB 0x141
    VB 0xf9ff
    VB 0xffff
    NL
    READY 'mode13h'

    ; ======== 2. start address 4 lines down, DAC entries 0-15 changed
    mov dx, 0x3d4
    mov bl, 0x0c
    mov al, (320 * 4 / 4) >> 8
    call wr_ix
    mov bl, 0x0d
    mov al, (320 * 4 / 4) & 0xff
    call wr_ix
    PRINT 'cr0c cr0d'
    mov bl, 0x0c
    call rd_ix
    movzx eax, al
    SPC
    PHEX8 eax
    mov bl, 0x0d
    call rd_ix
    movzx eax, al
    SPC
    PHEX8 eax
    NL
    mov dx, 0x3c8
    xor al, al
    out dx, al
    mov dx, 0x3c9
    xor ecx, ecx
.pal2:
    mov al, 63
    sub al, cl
    sub al, cl
    sub al, cl
    sub al, cl
    out dx, al                  ; r = 63 - 4 k
    lea eax, [ecx * 4 + 2]
    out dx, al                  ; g = 4 k + 2
    mov al, cl
    and al, 1
    neg al
    and al, 63
    out dx, al                  ; b = k odd ? 63 : 0
    inc ecx
    cmp ecx, 16
    jb .pal2
    READY 'mode13h-scroll'

    ; ======== 3. Bochs VBE dispi, 640x480x32, LFB at 0xE0000000
    PRINT 'dispi id at start:'
    VBESHOW ' ', DISPI_ID
    NL
    VBEW DISPI_ID, 0xb0c0
    PRINT 'dispi id after b0c0:'
    VBESHOW ' ', DISPI_ID
    NL
    VBEW DISPI_ID, 0xb0c5
    PRINT 'dispi id after b0c5:'
    VBESHOW ' ', DISPI_ID
    NL
    VBEW DISPI_ENABLE, 0
    VBEW DISPI_XRES, 640
    VBEW DISPI_YRES, 480
    VBEW DISPI_BPP, 32
    VBEW DISPI_ENABLE, 0x41
    ; the LFB: a dword written and read back (enabling cleared the memory)
    mov eax, [LFB + 4]
    PRINT 'lfb e0000004 after enable:'
    SPC
    PHEX32 eax
    NL
    mov dword [LFB], 0x12345678
    mov eax, [LFB]
    PRINT 'lfb e0000000 <- 12345678:'
    SPC
    PHEX32 eax
    NL
    ; R = x, G = y, B = x ^ y (each & 255)
    mov edi, LFB
    xor ebx, ebx                ; y
.b32y:
    xor ecx, ecx                ; x
.b32x:
    mov eax, ecx
    xor eax, ebx
    and eax, 0xff               ; B
    movzx edx, bl
    shl edx, 8
    or eax, edx                 ; G
    movzx edx, cl
    shl edx, 16
    or eax, edx                 ; R
    stosd
    inc ecx
    cmp ecx, 640
    jb .b32x
    inc ebx
    cmp ebx, 480
    jb .b32y
    PRINT 'bga32'
    call show_dispi
    PRINT 'bga32 lfb +0 +4 +a00 +12c0fc:'
    SPC
    PHEX32 [LFB]
    SPC
    PHEX32 [LFB + 4]
    SPC
    PHEX32 [LFB + 640 * 4]
    SPC
    PHEX32 [LFB + 640 * 480 * 4 - 4]
    NL
    READY 'bga32'

    ; ======== 4. 800x600x16 (RGB565)
    VBEW DISPI_ENABLE, 0
    VBEW DISPI_XRES, 800
    VBEW DISPI_YRES, 600
    VBEW DISPI_BPP, 16
    VBEW DISPI_ENABLE, 0x41
    VBEW DISPI_XOFF, 0
    VBEW DISPI_YOFF, 0
    mov edi, LFB
    xor ebx, ebx                ; y
.b16y:
    xor ecx, ecx                ; x
.b16x:
    mov eax, ecx
    and eax, 31
    shl eax, 11                 ; R5 = x & 31
    mov edx, ebx
    and edx, 63
    shl edx, 5
    or eax, edx                 ; G6 = y & 63
    lea edx, [ecx + ebx]
    shr edx, 4
    and edx, 31
    or eax, edx                 ; B5 = ((x + y) >> 4) & 31
    stosw
    inc ecx
    cmp ecx, 800
    jb .b16x
    inc ebx
    cmp ebx, 600
    jb .b16y
    PRINT 'bga16'
    call show_dispi
    READY 'bga16'

    ; ======== 5. 320x240x8 through the 6-bit DAC
    VBEW DISPI_ENABLE, 0
    VBEW DISPI_XRES, 320
    VBEW DISPI_YRES, 240
    VBEW DISPI_BPP, 8
    VBEW DISPI_ENABLE, 0x41
    mov esi, pal3
    call dac_load
    mov edi, LFB
    xor ebx, ebx                ; y
.b8y:
    xor ecx, ecx                ; x
.b8x:
    mov eax, ecx
    imul eax, ebx
    shr eax, 7
    lea edx, [ebx * 2 + ebx]
    xor edx, ecx
    add eax, edx
    stosb
    inc ecx
    cmp ecx, 320
    jb .b8x
    inc ebx
    cmp ebx, 240
    jb .b8y
    PRINT 'bga8'
    call show_dispi
    READY 'bga8'

    ; ======== 6. dispi off
    VBEW DISPI_ENABLE, 0
    PRINT 'dispi after disable:'
    VBESHOW ' enable=', DISPI_ENABLE
    NL
    PRINTLN 'vgagfx done'
    ret

; show_dispi: " xres=... yres=... bpp=... enable=... virt_width=...
; virt_height=... x_offset=... y_offset=... bank=..." and a newline
show_dispi:
    VBESHOW ' xres=', DISPI_XRES
    VBESHOW ' yres=', DISPI_YRES
    VBESHOW ' bpp=', DISPI_BPP
    VBESHOW ' enable=', DISPI_ENABLE
    VBESHOW ' virt_width=', DISPI_VWIDTH
    VBESHOW ' virt_height=', DISPI_VHEIGHT
    VBESHOW ' x_offset=', DISPI_XOFF
    VBESHOW ' y_offset=', DISPI_YOFF
    VBESHOW ' bank=', DISPI_BANK
    NL
    ret

section .rodata
; standard VGA mode 13h (IBM VGA BIOS parameter table values)
mode13_misc: db 0x63
mode13_seq:  db 0x03, 0x01, 0x0f, 0x00, 0x0e
mode13_crtc: db 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f
             db 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
             db 0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3
             db 0xff
mode13_gc:   db 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff
mode13_ac:   db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
             db 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
             db 0x41, 0x00, 0x0f, 0x00, 0x00
section .text
