; The demo guest that `npm start` runs: a Multiboot kernel that prints a
; greeting and a small computation over COM1, then exits via isa-debug-exit.
; Rebuild: nasm -f bin -o guests/demo/demo.bin guests/demo/demo.asm && node scripts/embed-demo.mjs
bits 32
org 0x100000
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010000          ; a.out kludge: load addresses in the header
header:
  dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
  dd header, header, end_of_image, end_of_image, start
start:
  mov esp, 0x90000
  mov esi, hello
  call puts
  ; sum of the first 100000 odd numbers is 100000^2 = 0x2540BE400 -> low 32 bits 0x540BE400
  xor eax, eax
  mov ecx, 100000
  mov ebx, 1
.sum:
  add eax, ebx
  add ebx, 2
  loop .sum
  mov esi, result
  call puts
  call puthex
  mov al, 10
  call putc
  mov esi, bye
  call puts
  mov al, 0
  out 0xf4, al
  cli
  hlt
puts:                  ; esi -> NUL-terminated string
  lodsb
  test al, al
  jz .done
  push eax
  call putc
  pop eax
  jmp puts
.done:
  ret
putc:                  ; al -> COM1 (polled)
  push edx
  push eax
  mov dx, 0x3fd
.wait:
  in al, dx
  test al, 0x20
  jz .wait
  pop eax
  mov dx, 0x3f8
  out dx, al
  pop edx
  ret
puthex:                ; eax as 8 hex digits
  mov ecx, 8
.next:
  rol eax, 4
  push eax
  and al, 0x0f
  add al, '0'
  cmp al, '9'
  jbe .digit
  add al, 'a' - '0' - 10
.digit:
  call putc
  pop eax
  loop .next
  ret
hello:  db "Hello from the Symbiont demo guest!", 10, 0
result: db "sum of the first 100000 odd numbers (low 32 bits): 0x", 0
bye:    db "This guest ran on the Symbiont x86 core.", 10, 0
end_of_image:
