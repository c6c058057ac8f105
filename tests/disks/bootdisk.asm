; A boot disk for firmware tests: SeaBIOS loads sector 0 at 0000:7C00 and jumps to it
; with DL = the boot drive. The code asks the BIOS about the drive and reads and writes
; it through INT 13h, printing each result on COM1 (polled), then writes 0 to QEMU's
; isa-debug-exit (port 0xF4) and halts. Run under QEMU
; and under symbiont, the lines must be the same (tests/unit/seabios-boot.test.ts).
; Layout: sector 0 this code; sector 1 a message read back with INT 13h AH=42h;
; sector 3 is written with AH=43h and read back.
; Build: tests/disks/build.sh (nasm -f bin).
bits 16
org 0x7c00

drive  equ 0x0600               ; variables below the code, in free conventional memory
dap    equ 0x0610               ; INT 13h disk address packet
params equ 0x0620               ; INT 13h AH=48h result buffer

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov [drive], dl

    mov si, s_drive
    call puts
    mov al, dl
    call hex8
    call crlf

    mov si, s_base
    call puts
    int 0x12                    ; conventional memory in KiB
    call hex16
    call crlf

    mov si, s_edd
    call puts
    mov ah, 0x41                ; EDD installation check
    mov bx, 0x55aa
    mov dl, [drive]
    int 0x13
    call carry
    mov ax, bx
    call hex16
    mov ax, cx                  ; API subset bitmap
    call hex16
    call crlf

    mov si, s_geom
    call puts
    mov ah, 0x08                ; drive parameters (CHS)
    mov dl, [drive]
    xor di, di
    int 0x13
    call carry
    mov ax, cx                  ; cylinders and sectors per track
    call hex16
    mov ax, dx                  ; heads and drives
    call hex16
    call crlf

    mov si, s_params
    call puts
    mov word [params], 0x1a     ; extended drive parameters: total sectors, bytes per sector
    mov ah, 0x48
    mov dl, [drive]
    mov si, params
    int 0x13
    call carry
    mov ax, [params + 0x12]
    call hex16
    mov ax, [params + 0x10]
    call hex16
    mov ax, [params + 0x18]
    call hex16
    call crlf

    mov si, s_read
    call puts
    mov dword [dap + 8], 1      ; read LBA 1 (the message) to 0000:8000
    mov ah, 0x42
    call disk_op
    call carry
    mov si, 0x8000
    call puts
    call crlf

    mov di, 0x8000              ; write LBA 3: 512 bytes 00 01 02 … FF 00 01 …
    xor ax, ax
.fill:
    stosb
    inc al
    cmp di, 0x8200
    jne .fill
    mov si, s_write
    call puts
    mov dword [dap + 8], 3
    mov ax, 0x4300              ; extended write, no verify
    call disk_op
    call carry
    call crlf

    mov di, 0x8000              ; clear the buffer, read LBA 3 back, sum its bytes
    mov cx, 256
    xor ax, ax
    rep stosw
    mov si, s_back
    call puts
    mov dword [dap + 8], 3
    mov ah, 0x42
    call disk_op
    call carry
    mov si, 0x8000
    xor bx, bx
    xor ax, ax
.sum:
    lodsb
    add bx, ax
    cmp si, 0x8200
    jne .sum
    mov ax, bx
    call hex16
    call crlf

    mov si, s_done
    call puts
    mov al, 0                   ; QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4) ends the run
    out 0xf4, al
.halt:
    hlt
    jmp .halt

; INT 13h with AH (AL) as given on the DAP: one sector to 0000:8000.
disk_op:
    mov byte [dap], 0x10
    mov byte [dap + 1], 0
    mov word [dap + 2], 1
    mov word [dap + 4], 0x8000
    mov word [dap + 6], 0
    mov dword [dap + 12], 0
    mov dl, [drive]
    mov si, dap
    int 0x13
    ret

; The carry flag and AH after an INT 13h, as "CF AH " in hex; AX kept.
carry:
    push ax
    setc al
    call hex8
    pop ax
    push ax
    mov al, ah
    call hex8
    pop ax
    ret

crlf:
    mov al, 13
    call putc
    mov al, 10
    ; fall through into putc, the first routine of serial.inc
%include "serial.inc"

hex16:                          ; AX in hex, then a space
    push ax
    mov al, ah
    call hex2
    pop ax
hex8:                           ; AL in hex, then a space
    call hex2
    mov al, ' '
    jmp putc

s_drive:  db "drive ", 0
s_base:   db "mem ", 0
s_edd:    db "edd ", 0
s_geom:   db "chs ", 0
s_params: db "edd48 ", 0
s_read:   db "read ", 0
s_write:  db "write ", 0
s_back:   db "back ", 0
s_done:   db "BOOTDISK-DONE", 13, 10, 0


times 510 - ($ - $$) db 0
dw 0xaa55

; sector 1
db "sector 1 says hello", 0
times 1024 - ($ - $$) db 0
; The tests pad the image with zeros to 1 MiB: a firmware's CHS view of a disk under
; 16 × 63 sectors has no cylinder at all, and SeaBIOS reads the boot sector by CHS.
