; echo.asm -- Symbiont's interactive test guest: a Multiboot kernel that
; echoes what arrives on COM1, interrupt-driven.
;
; Build: web/guests/build.sh (nasm -f bin; the Multiboot a.out kludge, so no
; linker is needed). Loaded at 1 MiB by Pc.loadKernel (as QEMU's -kernel).
;
; It prints a banner and a prompt "> ", then halts with interrupts enabled.
; The UART raises IRQ 4 (8259A master, remapped to vector 0x24) when bytes
; arrive; the handler echoes printable bytes, handles backspace (0x08/0x7f),
; and on Enter (CR or LF) prints "echo: <line>" and a new prompt. Ctrl-D
; (0x04) writes 0 to isa-debug-exit (port 0xf4) and the VM stops.
;
; Works the same under qemu-system-i386 -kernel echo.bin -serial stdio.

bits 32
cpu 686
org 0x100000

COM1        equ 0x3f8
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010000          ; bit 16: load addresses are in the header
LINE_MAX    equ 120
VEC_BASE    equ 0x20                ; master PIC vectors 0x20-0x27
NVEC        equ 0x30

image_start:
mb_header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd mb_header                    ; header_addr
    dd image_start                  ; load_addr
    dd image_end                    ; load_end_addr
    dd bss_end                      ; bss_end_addr
    dd start                        ; entry_addr

start:
    cli
    lgdt [gdt_desc]
    jmp 0x08:.flush
.flush:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, stack_top
    cld

    ; zero .bss
    mov edi, bss_start
    mov ecx, bss_end - bss_start
    xor eax, eax
    rep stosb

    ; IDT: every vector -> spurious (iret); vector 0x24 (IRQ 4) -> uart_irq
    mov edi, idt
    mov ecx, NVEC
.fill:
    mov eax, spurious
    call set_gate
    add edi, 8
    loop .fill
    mov edi, idt + (VEC_BASE + 4) * 8
    mov eax, uart_irq
    call set_gate
    lidt [idt_desc]

    ; 8259A pair: ICW1-4, vectors 0x20/0x28, only IRQ 4 unmasked
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, VEC_BASE
    out 0x21, al
    mov al, VEC_BASE + 8
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xef
    out 0x21, al
    mov al, 0xff
    out 0xa1, al

    ; COM1: 115200 8N1, FIFOs on (trigger 1), OUT2|RTS|DTR, IER = received data
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; IER = 0 while configuring
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                      ; DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                      ; DLL = 1
    mov dx, COM1 + 1
    xor al, al
    out dx, al                      ; DLM = 0
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                      ; 8N1
    mov dx, COM1 + 2
    mov al, 0x07
    out dx, al                      ; FCR: enable, clear both FIFOs
    mov dx, COM1 + 4
    mov al, 0x0b
    out dx, al                      ; MCR
    mov dx, COM1 + 1
    mov al, 0x01
    out dx, al                      ; IER: received data available

    mov esi, banner
    call puts
    mov esi, prompt
    call puts

idle:
    sti
    hlt
    jmp idle

; set_gate: 32-bit interrupt gate at [edi] to handler eax (selector 0x08, DPL 0)
set_gate:
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8e00
    shr eax, 16
    mov [edi + 6], ax
    ret

spurious:
    iret

uart_irq:
    pushad
.next:
    mov dx, COM1 + 5
    in al, dx
    test al, 1                      ; LSR.DR
    jz .done
    mov dx, COM1
    in al, dx
    call handle_byte
    jmp .next
.done:
    mov al, 0x20
    out 0x20, al                    ; EOI
    popad
    iret

; handle_byte: al = received byte
handle_byte:
    cmp al, 0x0d
    je .enter
    cmp al, 0x0a
    je .enter
    cmp al, 0x04
    je .quit
    cmp al, 0x08
    je .backspace
    cmp al, 0x7f
    je .backspace
    cmp al, 0x20
    jb .ret                         ; other control bytes are ignored
    mov ecx, [line_len]
    cmp ecx, LINE_MAX
    jae .ret
    mov [line + ecx], al
    inc dword [line_len]
    call putc
.ret:
    ret
.backspace:
    cmp dword [line_len], 0
    je .ret
    dec dword [line_len]
    mov esi, erase
    jmp puts
.enter:
    mov esi, crlf
    call puts
    mov esi, echo_label
    call puts
    mov ecx, [line_len]
    mov esi, line
.out:
    jecxz .end_line
    lodsb
    call putc
    dec ecx
    jmp .out
.end_line:
    mov dword [line_len], 0
    mov esi, crlf
    call puts
    mov esi, prompt
    jmp puts
.quit:
    mov esi, bye
    call puts
    xor al, al
    out 0xf4, al
    cli
    hlt
    jmp .quit

; putc: al -> COM1 (polled)
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20                   ; LSR.THRE
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puts: NUL-terminated string at esi -> COM1
puts:
    push eax
    push esi
.loop:
    lodsb
    test al, al
    jz .end
    call putc
    jmp .loop
.end:
    pop esi
    pop eax
    ret

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff           ; 0x08 flat code
    dq 0x00cf92000000ffff           ; 0x10 flat data
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
idt_desc:
    dw NVEC * 8 - 1
    dd idt

banner:     db "Symbiont echo guest: type a line and press Enter (Ctrl-D quits).", 13, 10, 0
prompt:     db "> ", 0
echo_label: db "echo: ", 0
crlf:       db 13, 10, 0
erase:      db 8, " ", 8, 0
bye:        db 13, 10, "bye", 13, 10, 0

image_end:

section .bss align=16
bss_start:
idt:        resq NVEC
line:       resb LINE_MAX
line_len:   resd 1
            alignb 16
stack:      resb 4096
stack_top:
bss_end:
