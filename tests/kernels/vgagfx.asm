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
;                   SR0-4, CR0-18 after unlocking CR0-7, GR0-8, AR0-14 with
;                   the flip-flop reset by reading 0x3DA, then 0x20 to
;                   0x3C0: vga_set_regs); all 256 DAC entries
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
; 6. mode12h        dispi disabled (ENABLE = 0), then standard mode 12h
;                   (640x480, 16 colours, planar) from its table; DAC
;                   entries 0-63 = ((i & 3) 21, ((i >> 2) & 3) 21,
;                   (i >> 4) 21), seen through the attribute palette 0-5,
;                   14, 7, 38-3F.  The four planes cleared (map mask 0F,
;                   write mode 0, bit mask FF, 38400 bytes), then one band
;                   of rows per write path (x = byte 0-79 in the line,
;                   y = row, offset 80 y + x; "read first" = a byte read
;                   of the same offset to load the latches):
;                     0-119    plane p alone (map mask 1 << p, write mode 0):
;                              p0 = x ^ y, p1 = x + 2 y, p2 = rol8(0F, y & 7),
;                              p3 = ((x >> 2) + (y >> 3)) & 1 ? FF : 00;
;                     120-359  background first: write mode 2, colour
;                              (x >> 2) & 15, bit mask FF;
;                     120-179  write mode 2, read first, colour (x + y) & 15,
;                              bit mask FF / F0 / 3C by (y - 120) % 3;
;                     180-239  write mode 0, read first, set/reset enable 0F,
;                              set/reset (7 y) & 15, bit mask AA on odd rows
;                              (FF on even ones);
;                     240-299  write mode 3, read first, set/reset
;                              (y >> 2) & 15, rotate 1 + y % 3, data
;                              (9 x + y) & 255;
;                     300-359  write mode 0, read first, data (13 x + 3 y)
;                              & 255, functions by 15-row bands: AND (GR3 08),
;                              OR (10), XOR (18), XOR with set/reset enable
;                              05 and set/reset value 0C;
;                     360-419  write mode 1: read row y - 360, write row y
;                              (a latch copy of rows 0-59);
;                     420-479  left clear.
;                   Then 16 offsets read back ("mode12h rd", two lines of
;                   " oooo:p0p1p2p3/cc/dd"): read mode 0 with GR4 = 0-3,
;                   read mode 1 with colour compare 5 and colour don't care
;                   0F (cc), then 07 (dd).  GR0-5, GR7, GR8 and the map mask
;                   back to the table's values.
; 7. mode0dh        standard mode 0Dh (320x200, 16 colours, planar, half dot
;                   clock, double scan) from its table, DAC as left by
;                   mode12h (attribute palette 0-7, 10-17); 64 KiB of all
;                   planes cleared; write mode 2 (read first), colour
;                   (x ^ y) & 15 in byte x (0-39) of line y (0-199); four
;                   offsets read back per plane ("mode0dh rd"); then AR12
;                   (colour plane enable) = 07, read back ("ar12"), so
;                   plane 3 is masked off in the picture; AR12 = 0F again
;                   after the screendump.
; 8. modex          the mode 13h tables, then SR4 = 06 (chain-4 off),
;                   CR14 = 00, CR17 = E3 (read back: "modex sr4 cr14
;                   cr17"); DAC reloaded with palette 1; 64 KiB of all
;                   planes cleared; for each plane p = x & 3 (map mask
;                   1 << p, write mode 0)
;                       pixel(x, y) = (((x y) >> 5) ^ (x + 2 y)) & 255
;                   at offset 80 y + (x >> 2), 320x200; a few pixels read
;                   back with GR4 = x & 3 ("modex px x,y=vv").
; 9. dispi disabled, "vgagfx done".

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

%include "vga.inc"

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

; vga_set_regs: esi = register table (misc, SR0-4, CR0-18, GR0-8, AR0-14:
; 61 bytes, the layout of mode13_regs).  Misc output, sequencer 0-4, CRTC
; 0-18 after unlocking CR0-7 (CR11 bit 7 = 0; the table's CR11 may lock them
; again once they have been written), graphics controller 0-8, attribute
; controller 0-0x14 (flip-flop reset by reading 0x3DA, then index/data
; pairs to 0x3C0 with index bit 5 = 0: screen off meanwhile), then 0x20 to
; 0x3C0 (palette address source: display on).  Preserves everything.
vga_set_regs:
    pushad
    mov dx, 0x3c2
    mov al, [esi]
    out dx, al
    inc esi
    mov dx, 0x3c4
    mov ecx, 5
    call load_ix
    add esi, 5
    mov dx, 0x3d4
    mov bl, 0x11
    call rd_ix
    and al, 0x7f
    call wr_ix
    mov ecx, 0x19
    call load_ix
    add esi, 0x19
    mov dx, 0x3ce
    mov ecx, 9
    call load_ix
    add esi, 9
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    xor ebx, ebx
.ac:
    mov al, bl
    out dx, al
    mov al, [esi + ebx]
    out dx, al
    inc ebx
    cmp ebx, 0x15
    jb .ac
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, 0x20
    out dx, al
    popad
    ret

; GRW index, value / SRW index, value / CRW index, value -- one graphics
; controller / sequencer / CRTC register (value: an 8-bit register,
; immediate or memory operand).  Preserve everything.
%macro IXW 3
    push eax
    push ebx
    push edx
    mov al, %3
    mov bl, %2
    mov dx, %1
    call wr_ix
    pop edx
    pop ebx
    pop eax
%endmacro
%define GRW IXW 0x3ce,
%define SRW IXW 0x3c4,
%define CRW IXW 0x3d4,

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
    ; misc output 0x63 (colour I/O at 0x3Dx, 25 MHz clock, sync
    ; polarities), SR0-4, CR0-18, GR0-8, AR0-14 from the tables
    mov esi, mode13_regs
    call vga_set_regs
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

    ; ======== 6. mode 12h: 640x480, 16 colours, planar
    VBEW DISPI_ENABLE, 0
    mov esi, mode12_regs
    call vga_set_regs
    ; DAC entries 0-63: r = (i & 3) * 21, g = ((i >> 2) & 3) * 21,
    ; b = (i >> 4) * 21 (the base-4 digits of i: all distinct)
    mov dx, 0x3c8
    xor al, al
    out dx, al
    mov dx, 0x3c9
    xor ecx, ecx
.m12dac:
    mov eax, ecx
    and eax, 3
    imul eax, eax, 21
    out dx, al
    mov eax, ecx
    shr eax, 2
    and eax, 3
    imul eax, eax, 21
    out dx, al
    mov eax, ecx
    shr eax, 4
    imul eax, eax, 21
    out dx, al
    inc ecx
    cmp ecx, 64
    jb .m12dac
    ; clear all four planes: map mask 0x0F, write mode 0, no set/reset,
    ; no rotate / function, bit mask 0xFF, 38400 bytes
    SRW 2, 0x0f
    GRW 5, 0x00
    GRW 1, 0x00
    GRW 3, 0x00
    GRW 8, 0xff
    mov edi, VGA_WIN
    mov ecx, 38400 / 4
    xor eax, eax
    rep stosd

    ; ---- rows 0-119: one plane at a time (map mask 1 << p, write mode 0)
    xor ebp, ebp                ; plane
.m12ap:
    mov ecx, ebp
    mov al, 1
    shl al, cl
    SRW 2, al
    xor edi, edi                ; offset
    xor ebx, ebx                ; y
.m12ay:
    xor ecx, ecx                ; x byte
.m12ax:
    cmp ebp, 1
    jb .m12f0
    je .m12f1
    cmp ebp, 2
    je .m12f2
    mov eax, ecx                ; plane 3: ((x >> 2) + (y >> 3)) & 1 ? ff : 00
    shr eax, 2
    mov edx, ebx
    shr edx, 3
    add eax, edx
    and eax, 1
    neg eax
    jmp .m12fw
.m12f0:
    mov eax, ecx                ; plane 0: x ^ y
    xor eax, ebx
    jmp .m12fw
.m12f1:
    lea eax, [ecx + ebx * 2]    ; plane 1: x + 2 y
    jmp .m12fw
.m12f2:
    push ecx                    ; plane 2: rol8(0x0F, y & 7)
    mov ecx, ebx
    and ecx, 7
    mov al, 0x0f
    rol al, cl
    pop ecx
.m12fw:
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12ax
    inc ebx
    cmp ebx, 120
    jb .m12ay
    inc ebp
    cmp ebp, 4
    jb .m12ap
    SRW 2, 0x0f

    ; ---- rows 120-359: background, write mode 2, colour (x >> 2) & 15
    GRW 5, 0x02
    mov edi, 120 * 80
    mov ebx, 120
.m12gy:
    xor ecx, ecx
.m12gx:
    mov eax, ecx
    shr eax, 2
    and eax, 15
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12gx
    inc ebx
    cmp ebx, 360
    jb .m12gy

    ; ---- rows 120-179: write mode 2, colour (x + y) & 15, bit mask
    ; ff / f0 / 3c by (y - 120) % 3, latches loaded by a read first
    mov edi, 120 * 80
    mov ebx, 120
.m12by:
    lea eax, [ebx - 120]
    xor edx, edx
    mov ecx, 3
    div ecx
    GRW 8, [m12_masks + edx]
    xor ecx, ecx
.m12bx:
    mov al, [VGA_WIN + edi]     ; latches
    lea eax, [ecx + ebx]
    and eax, 15
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12bx
    inc ebx
    cmp ebx, 180
    jb .m12by
    GRW 8, 0xff

    ; ---- rows 180-239: write mode 0, set/reset on all planes (GR1 = 0F),
    ; GR0 = (7 y) & 15, bit mask aa on odd rows, ff on even rows
    GRW 5, 0x00
    GRW 1, 0x0f
.m12cy:
    imul eax, ebx, 7
    and eax, 15
    GRW 0, al
    mov al, 0xff
    test bl, 1
    jz .m12cm
    mov al, 0xaa
.m12cm:
    GRW 8, al
    xor ecx, ecx
.m12cx:
    mov al, [VGA_WIN + edi]     ; latches
    mov [VGA_WIN + edi], cl     ; (data unused: set/reset on every plane)
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12cx
    inc ebx
    cmp ebx, 240
    jb .m12cy
    GRW 1, 0x00
    GRW 8, 0xff

    ; ---- rows 240-299: write mode 3, GR0 = (y >> 2) & 15, rotate
    ; GR3 = 1 + y % 3, data (9 x + y) & 255
    GRW 5, 0x03
.m12dy:
    mov eax, ebx
    shr eax, 2
    and eax, 15
    GRW 0, al
    mov eax, ebx
    xor edx, edx
    mov ecx, 3
    div ecx
    inc edx
    GRW 3, dl
    xor ecx, ecx
.m12dx:
    mov al, [VGA_WIN + edi]     ; latches
    imul eax, ecx, 9
    add eax, ebx
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12dx
    inc ebx
    cmp ebx, 300
    jb .m12dy
    GRW 3, 0x00
    GRW 0, 0x00

    ; ---- rows 300-359: write mode 0, function select by 15-row bands:
    ; AND (08), OR (10), XOR (18), XOR with set/reset enable 05 and
    ; set/reset value 0C; data (13 x + 3 y) & 255, latches loaded first
    GRW 5, 0x00
    GRW 0, 0x0c
.m12ey:
    lea eax, [ebx - 300]
    xor edx, edx
    mov ecx, 15
    div ecx                     ; eax = band 0-3
    GRW 3, [m12_funcs + eax]
    GRW 1, [m12_sre + eax]
    xor ecx, ecx
.m12ex:
    mov al, [VGA_WIN + edi]     ; latches
    imul eax, ecx, 13
    lea eax, [eax + ebx * 2]
    add eax, ebx
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12ex
    inc ebx
    cmp ebx, 360
    jb .m12ey
    GRW 3, 0x00
    GRW 1, 0x00
    GRW 0, 0x00

    ; ---- rows 360-419: write mode 1, a latch copy of rows 0-59
    GRW 5, 0x01
.m12fy:
    xor ecx, ecx
.m12fx:
    mov al, [VGA_WIN + edi - 360 * 80]  ; latches from row y - 360
    mov [VGA_WIN + edi], cl             ; (data unused)
    inc edi
    inc ecx
    cmp ecx, 80
    jb .m12fx
    inc ebx
    cmp ebx, 420
    jb .m12fy
    GRW 5, 0x00

    ; ---- read back: " oooo:p0p1p2p3/c5/c5m7" for each offset: read mode 0
    ; with GR4 = 0-3, then read mode 1 with colour compare 5 and colour
    ; don't care 0F, then 07
    PRINT 'mode12h rd'
    xor esi, esi
.m12r:
    cmp esi, M12_NOFFS / 2
    jne .m12r1
    NL
    PRINT 'mode12h rd'
.m12r1:
    movzx edi, word [m12_offs + esi * 2]
    SPC
    PHEX16 edi
    PRINT ':'
    xor ebp, ebp
.m12rp:
    mov eax, ebp
    GRW 4, al
    movzx eax, byte [VGA_WIN + edi]
    PHEX8 eax
    inc ebp
    cmp ebp, 4
    jb .m12rp
    GRW 5, 0x08
    GRW 2, 0x05
    GRW 7, 0x0f
    PRINT '/'
    movzx eax, byte [VGA_WIN + edi]
    PHEX8 eax
    GRW 7, 0x07
    PRINT '/'
    movzx eax, byte [VGA_WIN + edi]
    PHEX8 eax
    GRW 5, 0x00
    inc esi
    cmp esi, M12_NOFFS
    jb .m12r
    NL
    ; back to the table's state
    GRW 0, 0x00
    GRW 1, 0x00
    GRW 2, 0x00
    GRW 3, 0x00
    GRW 4, 0x00
    GRW 5, 0x00
    GRW 7, 0x0f
    GRW 8, 0xff
    SRW 2, 0x0f
    READY 'mode12h'

    ; ======== 7. mode 0Dh: 320x200, 16 colours, planar, half dot clock and
    ; double scan
    mov esi, mode0d_regs
    call vga_set_regs
    ; clear the 64 KiB window on all planes (the table: map mask 0F, write
    ; mode 0, bit mask FF)
    mov edi, VGA_WIN
    mov ecx, 0x10000 / 4
    xor eax, eax
    rep stosd
    ; write mode 2: colour (x ^ y) & 15 per byte, 40 bytes a line
    GRW 5, 0x02
    xor edi, edi
    xor ebx, ebx                ; y
.m0dy:
    xor ecx, ecx                ; x byte
.m0dx:
    mov al, [VGA_WIN + edi]     ; latches
    mov eax, ecx
    xor eax, ebx
    and eax, 15
    mov [VGA_WIN + edi], al
    inc edi
    inc ecx
    cmp ecx, 40
    jb .m0dx
    inc ebx
    cmp ebx, 200
    jb .m0dy
    GRW 5, 0x00
    ; read back the four planes at a few offsets
    PRINT 'mode0dh rd'
    xor esi, esi
.m0dr:
    movzx edi, word [m0d_offs + esi * 2]
    SPC
    PHEX16 edi
    PRINT ':'
    xor ebp, ebp
.m0drp:
    mov eax, ebp
    GRW 4, al
    movzx eax, byte [VGA_WIN + edi]
    PHEX8 eax
    inc ebp
    cmp ebp, 4
    jb .m0drp
    inc esi
    cmp esi, M0D_NOFFS
    jb .m0dr
    NL
    GRW 4, 0x00
    ; AR12 (colour plane enable) = 07: plane 3 masked off in the picture
    ; (index 0x32: bit 5 set keeps the display on)
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, 0x32
    out dx, al
    mov al, 0x07
    out dx, al
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, 0x32
    out dx, al
    mov dx, 0x3c1
    in al, dx
    movzx eax, al
    PRINT 'ar12'
    SPC
    PHEX8 eax
    NL
    READY 'mode0dh'
    ; AR12 back to 0F
    mov dx, 0x3da
    in al, dx
    mov dx, 0x3c0
    mov al, 0x32
    out dx, al
    mov al, 0x0f
    out dx, al

    ; ======== 8. "mode X": mode 13h unchained
    mov esi, mode13_regs
    call vga_set_regs
    SRW 4, 0x06                 ; chain-4 off (odd/even off, extended memory)
    CRW 0x14, 0x00              ; underline location: doubleword mode off
    CRW 0x17, 0xe3              ; mode control: byte mode
    PRINT 'modex sr4 cr14 cr17'
    mov dx, 0x3c4
    mov bl, 4
    call rd_ix
    movzx eax, al
    SPC
    PHEX8 eax
    mov dx, 0x3d4
    mov bl, 0x14
    call rd_ix
    movzx eax, al
    SPC
    PHEX8 eax
    mov bl, 0x17
    call rd_ix
    movzx eax, al
    SPC
    PHEX8 eax
    NL
    mov esi, pal1
    call dac_load
    ; clear: all planes (map mask 0F from the table), 64 KiB window
    mov edi, VGA_WIN
    mov ecx, 0x10000 / 4
    xor eax, eax
    rep stosd
    ; pixel(x, y) = (((x y) >> 5) ^ (x + 2 y)) & 255 at plane x & 3,
    ; offset 80 y + (x >> 2); one plane at a time
    xor ebp, ebp                ; plane = x & 3
.mxp:
    mov ecx, ebp
    mov al, 1
    shl al, cl
    SRW 2, al
    xor ebx, ebx                ; y
.mxy:
    mov ecx, ebp                ; x
.mxx:
    mov eax, ecx
    imul eax, ebx
    shr eax, 5
    lea edx, [ecx + ebx * 2]
    xor eax, edx
    imul edx, ebx, 80
    mov esi, ecx
    shr esi, 2
    mov [VGA_WIN + edx + esi], al
    add ecx, 4
    cmp ecx, 320
    jb .mxx
    inc ebx
    cmp ebx, 200
    jb .mxy
    inc ebp
    cmp ebp, 4
    jb .mxp
    SRW 2, 0x0f
    ; read back a few pixels (read mode 0, GR4 = x & 3)
    PRINT 'modex px'
    xor esi, esi
.mxr:
    movzx ecx, word [mx_pix + esi * 4]      ; x
    movzx ebx, word [mx_pix + esi * 4 + 2]  ; y
    mov eax, ecx
    and eax, 3
    GRW 4, al
    imul edi, ebx, 80
    mov eax, ecx
    shr eax, 2
    add edi, eax
    movzx eax, byte [VGA_WIN + edi]
    SPC
    PHEX16 ecx
    PRINT ','
    PHEX8 ebx
    PRINT '='
    PHEX8 eax
    inc esi
    cmp esi, MX_NPIX
    jb .mxr
    NL
    GRW 4, 0x00
    READY 'modex'

    ; ======== 9. dispi off
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
; register tables: misc, SR0-4, CR0-18, GR0-8, AR0-14 (61 bytes each), the
; standard VGA BIOS parameter table values (as in the LGPL VGABios and
; SeaBIOS vgasrc/stdvgamodes.c)
; mode 13h
mode13_regs:
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
; mode 12h
mode12_regs: db 0xe3
             db 0x03, 0x01, 0x0f, 0x00, 0x06
             db 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e
             db 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
             db 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3
             db 0xff
             db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff
             db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07
             db 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f
             db 0x01, 0x00, 0x0f, 0x00, 0x00
; mode 0Dh
mode0d_regs: db 0x63
             db 0x03, 0x09, 0x0f, 0x00, 0x06
             db 0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f
             db 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
             db 0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xe3
             db 0xff
             db 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff
             db 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
             db 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
             db 0x01, 0x00, 0x0f, 0x00, 0x00

; mode 12h drawing parameters
m12_masks:   db 0xff, 0xf0, 0x3c            ; GR8 in rows 120-179
m12_funcs:   db 0x08, 0x10, 0x18, 0x18      ; GR3 in rows 300-359, 15-row bands
m12_sre:     db 0x00, 0x00, 0x00, 0x05      ; GR1 in the same bands
; read-back offsets (80 y + x): two or more per band, chosen where colour
; 5 or 13 occurs for the read mode 1 results, and one in the clear rows
m12_offs:    dw 1 * 80 + 6, 100 * 80 + 79, 119 * 80 + 74
             dw 121 * 80 + 20, 179 * 80 + 34
             dw 181 * 80 + 20, 181 * 80 + 52
             dw 240 * 80 + 20, 244 * 80 + 21
             dw 300 * 80 + 21, 315 * 80 + 52, 330 * 80 + 9, 345 * 80 + 5
             dw 361 * 80 + 6, 419 * 80 + 77, 450 * 80 + 40
M12_NOFFS    equ ($ - m12_offs) / 2
m0d_offs:    dw 1, 7 * 40 + 2, 100 * 40, 199 * 40 + 38
M0D_NOFFS    equ ($ - m0d_offs) / 2
; mode X read-back pixels: x, y
mx_pix:      dw 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 123, 45, 318, 199, 319, 199
MX_NPIX      equ ($ - mx_pix) / 4
section .text
