; A port-script interpreter for the VPIO model tests (tests/unit/vpio.test.ts):
; runs a list of port operations the test writes into guest memory, so the
; same sequence of IN/OUT/REP INSD/REP OUTSD instructions drives the NE2000
; through the core on both engines (hooked ports exit, direct ones do not).
;
; Script at 0x10000: 12-byte entries (op, port, value), little-endian dwords.
;   0 end: OUT 0xF4 (isa-debug-exit)      6 IN EAX,port      -> result
;   1 OUT port,AL    (value)              7 REP INSD,  value = count -> results
;   2 OUT port,AX                          8 REP OUTSD, value = count <- data at 0x30000 (advancing)
;   3 OUT port,EAX                         9 wait: IN AL,port until AL & value (low byte) != 0
;   4 IN AL,port   -> result (dword)      10 checkpoint: OUT 0x5F0,AL (the test's stop device)
;   5 IN AX,port   -> result
; Results (dwords) at 0x20000 onward.
;
; Build: nasm -f bin -o tests/vpio/portscript.bin tests/vpio/portscript.asm
bits 32
org 0x100000
start:
  mov esp, 0x90000
  mov esi, 0x10000
  mov edi, 0x20000
  mov ebx, 0x30000
  cld
next:
  mov eax, [esi]
  mov edx, [esi+4]
  mov ecx, [esi+8]
  add esi, 12
  cmp eax, 10
  ja done
  jmp [table + eax*4]
done:
  mov al, 0
  out 0xf4, al
  hlt
op_outb:
  mov eax, ecx
  out dx, al
  jmp next
op_outw:
  mov eax, ecx
  out dx, ax
  jmp next
op_outl:
  mov eax, ecx
  out dx, eax
  jmp next
op_inb:
  xor eax, eax
  in al, dx
  stosd
  jmp next
op_inw:
  xor eax, eax
  in ax, dx
  stosd
  jmp next
op_inl:
  in eax, dx
  stosd
  jmp next
op_insd:
  rep insd
  jmp next
op_outsd:
  push esi
  mov esi, ebx
  rep outsd
  mov ebx, esi
  pop esi
  jmp next
op_wait:
  in al, dx
  test al, cl
  jz op_wait
  jmp next
op_checkpoint:
  mov eax, ecx
  mov dx, 0x5f0
  out dx, al
  jmp next
align 4
table:
  dd done, op_outb, op_outw, op_outl, op_inb, op_inw, op_inl, op_insd, op_outsd, op_wait, op_checkpoint
