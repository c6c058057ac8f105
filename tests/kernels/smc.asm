; smc.asm -- self-modifying code.
;
; Since the P6 family a store to an instruction that is about to execute takes
; effect, even if the instruction was already fetched (Intel SDM vol. 3,
; 11.6 "Self-Modifying Code"); for accesses through a different linear
; address the detection is by physical address.  Covered:
;   * a store into the immediate / the opcode of the very next instruction
;   * a store straddling the storing instruction and the next one
;   * a store to an instruction further on in the same straight-line block
;   * an instruction that rewrites its own immediate (the current execution
;     still uses the old value), in a loop
;   * a loop that rewrites an instruction it executed earlier in its body
;   * REP MOVSB / REP STOSB overwriting the instructions right after them
;   * code in another page, executed, modified, executed again
;   * an instruction spanning two pages, modified in either page
;   * the last instruction of a page patching the first one of the next page
;   * an exception handler patching the faulting instruction, IRET to it
;   * code written through a data segment with a non-zero base
;   * code copied to a buffer and patched (immediate and opcode) in a loop
;   * with paging: two linear pages mapping one physical page; code executed
;     through one and written through the other (and through the identity map)
;
; Lines: "name: eax=xxxxxxxx" (and other registers where relevant).

%include "lib.inc"

SEL_DBUF  equ 0x30              ; data segment, base = cbuf

P_PRW   equ 0x007               ; present, writable, user
ALIAS_X equ 0x00400000          ; -> pgcode (written through)
ALIAS_Y equ 0x00401000          ; -> pgcode (executed through)

%macro SHOW 1
    PRINT %1
    PRINT ': eax='
    PHEX32 eax
    NL
%endmacro

main:
    GDTSET SEL_DBUF, cbuf, 0xfffff, 0x93, 0x40

    ; ------------------------------------------------------------ next instruction
    PRINTLN '-- the next instruction'
    mov eax, 0xffffffff
    mov byte [.n1 + 1], 0x42
.n1:
    mov al, 0x11
    SHOW 'imm8 of next insn 11->42'

    mov dword [.n2 + 1], 0xcafebabe
.n2:
    mov eax, 0x11111111
    SHOW 'imm32 of next insn'

    mov eax, 10
    mov byte [.n3], 0x48                ; inc eax -> dec eax
.n3:
    inc eax
    SHOW 'opcode of next insn inc->dec (10)'

    mov eax, 0x1000
    mov word [.n4], 0x9090              ; jmp short .n4skip -> nop nop
.n4:
    jmp short .n4skip
    add eax, 1
.n4skip:
    SHOW 'jmp short replaced by nops'

    mov eax, 0x2000
    mov byte [.n5 + 1], 0               ; jmp short +3 -> +0
.n5:
    jmp short .n5b
.n5a:
    add eax, 7                          ; (3 bytes: 83 c0 07)
.n5b:
    SHOW 'jmp short displacement 3->0'

    ; a dword store whose first half overwrites the rest of its own imm32 and
    ; whose second half turns the next instruction into "mov al, 0x42"
    mov eax, 0xffffffff
.n6:
    mov dword [.n6 + 8], 0x42b09090     ; c7 05 disp32 imm32: bytes 8..11
    mov al, 0x11                        ; (b0 11)
    SHOW 'store straddling this and the next insn'
    mov eax, [.n6 + 6]
    SHOW '  its own imm32 now'

    ; ------------------------------------------------------------ same block
    PRINTLN '-- later in the same block'
    xor eax, eax
    xor ebx, ebx
    mov byte [.b1 + 1], 0x77
    add ebx, 1
    add ebx, 2
    add ebx, 3
    add ebx, 4
    add ebx, 5
    add ebx, 6
    add ebx, 7
    add ebx, 8
.b1:
    mov al, 0x00
    add eax, ebx
    SHOW '8 insns later, imm8 00->77 (+36)'

    mov ecx, 0x100
    mov dword [.b2 + 2], 0x01020304     ; imm32 of "add ecx, imm32" (81 c1)
    imul ecx, ecx, 3
    rol ecx, 4
.b2:
    add ecx, 0x7fffffff
    mov eax, ecx
    SHOW '3 insns later, add imm32'

    ; ------------------------------------------------------------ own immediate
    PRINTLN '-- an instruction rewriting itself'
    mov ecx, 4
    xor edx, edx
.s1:
    add byte [.s1 + 6], 1               ; 80 05 disp32 imm8: its own imm8
    inc edx
    dec ecx
    jnz .s1
    movzx eax, byte [.s1 + 6]
    SHOW 'add byte [own imm8] x4 (1,2,4,8 -> 16)'

    ; loop rewriting an instruction it executed before
    mov ecx, 5
    xor ebx, ebx
.s2:
    add ebx, 1                          ; 83 c3 imm8
    shl byte [.s2 + 2], 1
    dec ecx
    jnz .s2
    mov eax, ebx
    SHOW 'loop doubling an earlier imm8 (1+2+4+8+16)'

    ; ------------------------------------------------------------ string stores
    PRINTLN '-- string instructions over the following code'
    xor eax, eax
    mov esi, .r1_new
    mov edi, .r1
    mov ecx, 5
    rep movsb
.r1:
    mov eax, 0x11111111
    SHOW 'rep movsb over the next insn'
    jmp .r1_end
.r1_new:
    mov eax, 0x22222222
.r1_end:

    mov ebx, 0x3000
    mov edi, .r2
    mov ecx, 6
    mov al, 0x90
    rep stosb
.r2:
    add ebx, 0x100                      ; (81 c3 imm32: 6 bytes)
    mov eax, ebx
    SHOW 'rep stosb nops over the next insn (add skipped)'

    mov ebx, 0x4000
    mov edi, .r3
    mov al, 0x90
    stosb
    stosb
    stosb
.r3:
    add ebx, 5                          ; 83 c3 05
    mov eax, ebx
    SHOW 'three stosb over the insn after them'

    ; ------------------------------------------------------------ other pages
    PRINTLN '-- code in another page'
    call far_fn
    SHOW 'far_fn first call'
    mov dword [far_fn + 1], 0xfa12fa12
    call far_fn
    SHOW 'far_fn after imm patch'
    mov byte [far_fn + 5], 0x40         ; nop -> inc eax
    call far_fn
    SHOW 'far_fn after nop->inc'
    mov ecx, 3
    xor ebx, ebx
.o1:
    call far_fn
    add ebx, eax
    inc dword [far_fn + 1]
    dec ecx
    jnz .o1
    mov eax, ebx
    SHOW 'far_fn called 3x, imm incremented after each'

    ; an instruction spanning two pages: b8 (imm32) ret at cbuf+0xffe
    mov edi, cbuf + 0xffe
    mov byte [edi], 0xb8
    mov dword [edi + 1], 0x11223344
    mov byte [edi + 5], 0xc3
    call cbuf + 0xffe
    SHOW 'insn across pages'
    mov byte [cbuf + 0x1001], 0x55      ; imm byte 2 (second page)
    call cbuf + 0xffe
    SHOW 'patched in the second page'
    mov byte [cbuf + 0xfff], 0x66       ; imm byte 0 (first page)
    call cbuf + 0xffe
    SHOW 'patched in the first page'
    mov byte [cbuf + 0x1003], 0x40      ; ret -> inc eax, then ret
    mov byte [cbuf + 0x1004], 0xc3
    call cbuf + 0xffe
    SHOW 'ret -> inc eax; ret (second page)'

    ; the store is the last instruction of a page, its target the first of the next
    mov edi, cbuf + 0x3000 - 7
    mov word [edi], 0x05c6              ; c6 05 disp32 imm8: mov byte [cbuf+0x3001], 0x42
    mov dword [edi + 2], cbuf + 0x3001
    mov byte [edi + 6], 0x42
    mov word [cbuf + 0x3000], 0x11b0    ; mov al, 0x11
    mov byte [cbuf + 0x3002], 0xc3
    mov eax, 0xffffffff
    call cbuf + 0x3000 - 7
    SHOW 'store at a page end patching the next page'

    ; through a data segment based at cbuf
    mov byte [cbuf + 0x2000], 0xb8
    mov dword [cbuf + 0x2001], 0x0d0d0d0d
    mov byte [cbuf + 0x2005], 0xc3
    call cbuf + 0x2000
    SHOW 'cbuf+0x2000'
    mov ax, SEL_DBUF
    mov fs, ax
    mov dword [fs:0x2001], 0x5e65e65e
    mov ax, SEL_DATA0
    mov fs, ax
    call cbuf + 0x2000
    SHOW 'written through fs (base cbuf)'

    ; an exception handler patches the faulting instruction and returns to it
    PRINTLN '-- handler patches the faulting insn'
    mov dword [exc_hook], patch_hook
    mov eax, 0xffffffff
    EXPECT .u1
.u1:
    ud2                                 ; becomes "mov al, 0x42"
    SHOW 'ud2 -> mov al,0x42, iret to it'
    mov dword [exc_hook], 0

    ; ------------------------------------------------------------ copied and patched
    PRINTLN '-- buffer patched in a loop'
    mov esi, tmpl
    mov edi, cbuf + 0x2100
    mov ecx, tmpl_end - tmpl
    rep movsb
    HBEGIN
    xor esi, esi
.p1:
    mov eax, esi
    imul eax, eax, 0x01010101
    mov [cbuf + 0x2100 + 1], eax        ; imm32 of mov eax
    mov eax, esi
    and eax, 3
    mov al, [ops + eax]
    mov [cbuf + 0x2100 + 5], al         ; add/sub/xor/and eax, ebx
    mov ebx, 0x5a5a5a5a
    call cbuf + 0x2100
    HASHV eax
    cmp esi, 4
    jae .p2
    PRINT '  i='
    PHEXN esi, 1
    PRINT ' eax='
    PHEX32 eax
    NL
.p2:
    inc esi
    cmp esi, 64
    jb .p1
    HEND 'patched buffer x64 hash'

    ; the same, with the buffer's first instruction patched by itself:
    ; "add dword [cbuf+0x2200+7], 1" followed by "mov eax, imm32; ret"
    mov edi, cbuf + 0x2200
    mov word [edi], 0x0583              ; 83 05 disp32 imm8
    mov dword [edi + 2], cbuf + 0x2200 + 7 + 1
    mov byte [edi + 6], 1
    mov byte [edi + 7], 0xb8
    mov dword [edi + 8], 0
    mov byte [edi + 12], 0xc3
    xor ebx, ebx
    mov ecx, 10
.p3:
    call cbuf + 0x2200
    add ebx, eax
    dec ecx
    jnz .p3
    mov eax, ebx
    SHOW 'buffer bumping the next insn imm x10 (1+..+10)'

    ; ------------------------------------------------------------ alias mapping
    PRINTLN '-- alias mapping (paging)'
    IDMAP4K pt0, P_PRW
    mov dword [pd], pt0 + P_PRW
    mov dword [pd + 4], pt1 + P_PRW
    mov dword [pt1], pgcode + P_PRW      ; ALIAS_X
    mov dword [pt1 + 4], pgcode + P_PRW  ; ALIAS_Y
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .pg
.pg:
    mov byte [pgcode + 0x10], 0xb8
    mov dword [pgcode + 0x11], 0xa1a1a1a1
    mov byte [pgcode + 0x15], 0xc3
    call ALIAS_Y + 0x10
    SHOW 'exec via Y'
    mov dword [ALIAS_X + 0x11], 0xb2b2b2b2
    call ALIAS_Y + 0x10
    SHOW 'written via X, exec via Y'
    mov dword [pgcode + 0x11], 0xc3c3c3c3
    call ALIAS_Y + 0x10
    SHOW 'written via identity, exec via Y'
    call pgcode + 0x10
    SHOW 'exec via identity'
    mov dword [ALIAS_Y + 0x11], 0xd4d4d4d4
    call pgcode + 0x10
    SHOW 'written via Y, exec via identity'
    call ALIAS_X + 0x10
    SHOW 'exec via X'
    ; a loop executing via Y that patches via X each iteration
    mov dword [ALIAS_X + 0x11], 0
    xor ebx, ebx
    mov ecx, 8
.al:
    call ALIAS_Y + 0x10
    add ebx, eax
    add dword [ALIAS_X + 0x11], 0x100
    dec ecx
    jnz .al
    mov eax, ebx
    SHOW 'loop: exec Y, bump imm via X (0x100*(0+..+7))'
    ; code that modifies its own next instruction through the alias
    mov byte [pgcode + 0x20], 0xc6      ; mov byte [ALIAS_X + 0x28], 0x42
    mov byte [pgcode + 0x21], 0x05
    mov dword [pgcode + 0x22], ALIAS_X + 0x28
    mov byte [pgcode + 0x26], 0x42
    mov byte [pgcode + 0x27], 0xb0      ; mov al, 0x11
    mov byte [pgcode + 0x28], 0x11
    mov byte [pgcode + 0x29], 0xc3      ; ret
    mov eax, 0xffffffff
    call ALIAS_Y + 0x20
    SHOW 'exec via Y, next insn patched via X'
    mov eax, cr0
    and eax, ~0x80000000
    mov cr0, eax
    jmp .nopg
.nopg:
    PRINTLN 'smc done'
    ret

; exception hook: overwrite the faulting instruction (ebp = frame)
patch_hook:
    mov eax, [ebp + EXF_EIP]            ; (already the resume address = the ud2)
    mov word [eax], 0x42b0
    ret

section .rodata
ops: db 0x01, 0x29, 0x31, 0x21          ; add/sub/xor/and r/m32, r32 (modrm d8: eax, ebx)
tmpl:
    mov eax, 0x12345678
    add eax, ebx                        ; (01 d8)
    ret
tmpl_end:

; a page of its own: filled from .text so that it is in a different page than main
section .text
align 4096
    times 16 nop
far_fn:
    mov eax, 0x12121212
    nop
    ret
align 4096

section .bss
alignb 4096
cbuf: resb 4 * 4096
pd: resb 4096
pt0: resb 4096
pt1: resb 4096
pgcode: resb 4096
