; A boot disk for the firmware's serial console (tests/unit/seabios-boot.test.ts): it waits for keys with
; INT 16h AH=00h — which SeaBIOS's serial console feeds from bytes typed on COM1 — and prints each one's
; scan code and character (AX) on COM1 (polled), until a "q"; then it writes 0 to QEMU's isa-debug-exit
; (port 0xF4) and halts. Under QEMU and under symbiont, the same typed bytes must print the same lines.
; Build: tests/disks/build.sh (nasm -f bin).
bits 16
org 0x7c00


start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    sti                         ; INT 16h waits for the keyboard's (here: the console's) interrupts
    mov si, s_ready
    call puts
.key:
    xor ah, ah                  ; INT 16h AH=00h: wait for a key, AH = scan code, AL = character
    int 0x16
    push ax
    mov si, s_key
    call puts
    pop ax
    push ax
    call hex16
    mov si, s_crlf
    call puts
    pop ax
    cmp al, 'q'
    jne .key
    mov si, s_done
    call puts
    mov al, 0
    out 0xf4, al
.halt:
    cli
    hlt
    jmp .halt

hex16:                          ; AX in hex
    push ax
    mov al, ah
    call hex2
    pop ax
    jmp hex2

%include "serial.inc"

s_ready: db "KEYS?", 13, 10, 0
s_key:   db "key ", 0
s_crlf:  db 13, 10, 0
s_done:  db "KEYDISK-DONE", 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xaa55
