// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * What symbiotic.ko tells the VMM on its own, outside a SymCall.
 *
 * HCALL_PROTECTION_CHANGED: mprotect changes the VMA and the present PTEs but
 * leaves swap PTEs as they are (mm/mprotect.c), so a VMM that maps swapped-out
 * pages on the guest's behalf (Symbiont's SwapBypass) sees nothing change in
 * the page tables and would keep a mapping with the old rights. A kprobe on
 * change_protection() reports the range first: it runs with the VMA's new
 * flags already set and the mmap lock held for writing (a MEM_LOOKUP on that
 * address space answers -EBUSY meanwhile), so whatever the VMM maps there
 * afterwards has the new rights. Only when the VMM is Symbiont (it wrote its
 * magic into the SymSpy extension): Palacios defines no such hypercall.
 */
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <asm/ptrace.h>
#include "symbiotic.h"

static int protection_changed(struct kprobe *p, struct pt_regs *regs)
{
	/* change_protection(tlb, vma, start, end, newprot, cp_flags) */
	unsigned long start = regs_get_kernel_argument(regs, 2);
	unsigned long end = regs_get_kernel_argument(regs, 3);
	unsigned long nr = HCALL_PROTECTION_CHANGED;

	if (start < TASK_SIZE && start < end)
		asm volatile("vmcall" : "+a"(nr) : "b"(start), "c"(end) : "memory");
	return 0;
}

static struct kprobe protection_probe = {
	.symbol_name = "change_protection",
	.pre_handler = protection_changed,
};
static bool protection_probe_armed;

void symbiotic_notify_init(bool symbiont)
{
	if (!symbiont)
		return;
	if (register_kprobe(&protection_probe) == 0)
		protection_probe_armed = true;
	else
		pr_warn("symbiotic: no probe on change_protection: the VMM is not told of mprotect\n");
}

void symbiotic_notify_exit(void)
{
	if (protection_probe_armed)
		unregister_kprobe(&protection_probe);
	protection_probe_armed = false;
}
