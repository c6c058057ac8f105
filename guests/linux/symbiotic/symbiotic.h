/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/* symbiotic.ko's parts, shared between main.c, calls.c and entry.S. */
#ifndef SYMBIOTIC_H
#define SYMBIOTIC_H

#include <linux/percpu.h>
#include <linux/linkage.h>
#include "symbiotic_abi.h"

/* What each CPU has: its SymSpy local page, its SymCall stack, its call buffer. */
struct symbiotic_cpu {
	struct symspy_local_page *local;
	void *stack;
	void *buffer;
	bool registered;
};
DECLARE_PER_CPU(struct symbiotic_cpu, symbiotic_cpu);

/* The frame entry.S builds from the call's registers: number, then EBX..EDI (results go back there). */
struct symcall_frame {
	u32 nr;
	u32 arg[5];
};

/* entry.S: where the VMM enters a SymCall. */
extern void symbiotic_symcall_entry(void);
/* calls.c: 0 with results in frame->arg, or a negative errno for the error hypercall. */
asmlinkage int symbiotic_symcall_dispatch(struct symcall_frame *frame);
/* calls.c: the swap total (KiB) the refresh work read from /proc/swaps, for SYMCALL_MEMINFO. */
void symbiotic_swap_total(u32 kib);
/* calls.c: find what SYMCALL_SWAP_MAP needs (module init; the call answers -ENOSYS without it). */
void symbiotic_swap_map_init(void);
/* notify.c: the hypercalls the module makes on its own (armed only when the VMM is Symbiont). */
void symbiotic_notify_init(bool symbiont);
void symbiotic_notify_exit(void);

#endif
