; smep.asm -- supervisor-mode execution prevention (CR4.SMEP), recorded with
; `-cpu max` (tests/kernels/qemu-args/smep.args; the emulator's PC gets
; `smep: true`).
;
; Address space (32-bit paging, CR4.PSE = 0):
;   0x00000000-0x003fffff  PDE 0 -> pt0: identity, 4 KiB pages, P|RW supervisor (the kernel)
;   0x00400000-0x007fffff  PDE 1 (P|RW|U) -> pt1, the test window, page i = LIN(i):
;        0 pgA RW U (data)   1 pgS RW S (code: mov eax, 0x5353; ret)
;        2 pgX RW U (code: mov eax, 0x5a5a; ret)
;
; Covered, at CPL 0: CPUID.(EAX=7,ECX=0):EBX[7]; CR4.SMEP read back; with
; SMEP a call into a user page faults (#PF, error code P | I/D = 0x11 -- I/D
; is defined with SMEP even without PAE -- CR2 and the fault's EIP the
; user page's first byte), a call into a supervisor page of the same window
; and data reads and writes of a user page do not; the same call goes
; through before SMEP is set and after it is cleared.

%include "lib.inc"
%include "supervisor.inc"

CR4_SMEP equ 0x00100000

main:
    mov dword [exc_hook], exc_hook_fn
    mov eax, 7
    xor ecx, ecx
    cpuid
    and ebx, 1 << 7
    PRINT 'cpuid7 ebx.smep '
    PHEX32 ebx
    NL
    mov dword [pgA], 0xaaaa0001
    mov byte [pgS], 0xb8
    mov dword [pgS + 1], 0x5353
    mov byte [pgS + 5], 0xc3
    mov byte [pgX], 0xb8
    mov dword [pgX + 1], 0x5a5a
    mov byte [pgX + 5], 0xc3
    mov dword [pt1 + 0 * 4], pgA + P_P + P_RW + P_US
    mov dword [pt1 + 1 * 4], pgS + P_P + P_RW
    mov dword [pt1 + 2 * 4], pgX + P_P + P_RW + P_US
    call setup_paging
    PRINTLN '-- SMEP off'
    T 'call user page', {call LIN(2)}
    PRINTLN '-- SMEP on'
    mov eax, cr4
    or eax, CR4_SMEP
    mov cr4, eax
    mov eax, cr4
    PRINT 'cr4 '
    PHEX32 eax
    NL
    T 'call supervisor page', {call LIN(1)}
    T 'call user page', {call LIN(2)}
    T 'read user page', {mov eax, [LIN(0)]}
    T 'write user page', {mov dword [LIN(0) + 4], 0xaaaa0002}, {mov eax, [pgA + 4]}
    T 'call user page again', {call LIN(2)}
    PRINTLN '-- SMEP off'
    mov eax, cr4
    and eax, ~CR4_SMEP
    mov cr4, eax
    T 'call user page', {call LIN(2)}
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    ret

section .bss
alignb 4096
pgA: resb 4096
pgS: resb 4096
pgX: resb 4096
