/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * The SymCall entry. The VMM enters here at CPL 0 on this CPU's SymCall
 * stack (MSR 0x537) with the kernel's code and data segments (MSR 0x538),
 * FS based at this CPU's per-CPU area (MSR 0x540, so `current` and the stack
 * protector's canary work), interrupts off, EAX = call number and EBX, ECX,
 * EDX, ESI, EDI = arguments. The stub saves them as a struct symcall_frame,
 * calls the dispatcher, and ends the call with VMCALL: EAX = 0x535 with the
 * results in EBX..EDI, or 0x536 with the error in EBX. The VMM then puts the
 * interrupted context back, so nothing after the VMCALL runs.
 */
#include <linux/linkage.h>
#include <asm/segment.h>
#include "symbiotic_abi.h"

	.text
SYM_CODE_START(symbiotic_symcall_entry)
	cld
	pushl	%edi
	pushl	%esi
	pushl	%edx
	pushl	%ecx
	pushl	%ebx
	pushl	%eax
	movl	$(__USER_DS), %eax	/* what a 32-bit kernel keeps in DS and ES */
	movl	%eax, %ds
	movl	%eax, %es
	movl	%esp, %eax
	pushl	%eax			/* asmlinkage: the frame pointer on the stack */
	call	symbiotic_symcall_dispatch
	addl	$4, %esp
	testl	%eax, %eax
	jnz	1f
	addl	$4, %esp		/* the call number */
	popl	%ebx
	popl	%ecx
	popl	%edx
	popl	%esi
	popl	%edi
	movl	$HCALL_SYMCALL_RETURN, %eax
	vmcall
	ud2
1:	movl	%eax, %ebx
	movl	$HCALL_SYMCALL_ERROR, %eax
	vmcall
	ud2
SYM_CODE_END(symbiotic_symcall_entry)
