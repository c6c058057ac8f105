/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * The symbiotic ABI, guest side: Palacios' discovery leaf, SymSpy and SymCall
 * MSRs, hypercalls and page layouts, and Symbiont's extension and calls.
 * The VMM declares the same in src/symbiotic/abi.ts; the project's test
 * tests/unit/symbiotic-abi.test.ts checks that the two agree, and
 * docs/symbiotic.md describes them.
 */
#ifndef SYMBIOTIC_ABI_H
#define SYMBIOTIC_ABI_H

#define SYM_CPUID_LEAF		0x90000000
#define SYM_CPUID_EAX		0x00563356	/* "V3V" */

#define MSR_SYMSPY_GLOBAL	0x534
#define MSR_SYMSPY_LOCAL	0x535
#define MSR_SYMCALL_RIP		0x536
#define MSR_SYMCALL_RSP		0x537
#define MSR_SYMCALL_CS		0x538
#define MSR_SYMCALL_GS		0x539
#define MSR_SYMCALL_FS		0x540

#define HCALL_SYMCALL_RETURN	0x535
#define HCALL_SYMCALL_ERROR	0x536
/* Symbiont's: EBX..ECX (exclusive) of the current address space changed protection (mprotect); EAX <- 0 */
#define HCALL_PROTECTION_CHANGED	0x537

#define SYMCALL_TEST		1
#define SYMCALL_MEM_LOOKUP	10
#define SYMCALL_CURRENT		0x100
#define SYMCALL_PS		0x101
#define SYMCALL_MEMINFO		0x102
#define SYMCALL_SWAP_MAP	0x103

/* MEM_LOOKUP permission bits */
#define LOOKUP_READ		(1 << 0)
#define LOOKUP_WRITE		(1 << 1)
#define LOOKUP_USER		(1 << 2)
#define LOOKUP_EXEC		(1 << 4)
#define LOOKUP_PRESENT		(1 << 5)
#define LOOKUP_SWAP_CACHED	(1 << 6)

/* local page flags */
#define SYM_CALL_ACTIVE		(1 << 0)
#define SYM_CALL_ENABLED	(1 << 1)

#define SYMSPY_EXT_OFFSET	0x100
#define SYMSPY_EXT_MAGIC	0x424d5953	/* "SYMB" */
#define SYMSPY_EXT_VERSION	1

#ifndef __ASSEMBLY__
#include <linux/types.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>

/* Symbiont's extension header, at SYMSPY_EXT_OFFSET in both pages. */
struct symspy_ext_header {
	u32 vmm_magic;		/* written by the VMM */
	u32 vmm_version;	/* written by the VMM */
	u32 guest_version;	/* the layout this guest fills */
	u32 seq;		/* odd while the guest updates */
} __packed;

struct symspy_global_page {
	u64 magic;			/* 0x000 "V3V" (VMM) */
	u32 feature_flags;		/* 0x008 (VMM) */
	u8 pci_pt_map[128];		/* 0x00c (VMM) */
	u8 reserved[SYMSPY_EXT_OFFSET - 140];
	struct symspy_ext_header ext;	/* 0x100 */
	u32 mem_total_kib;		/* 0x110 */
	u32 mem_free_kib;		/* 0x114 */
	u32 mem_available_kib;		/* 0x118 */
	u32 swap_total_kib;		/* 0x11c */
	u32 swap_free_kib;		/* 0x120 */
	u32 updates;			/* 0x124 */
	u32 tasks;			/* 0x128 */
} __packed;

struct symspy_local_page {
	u64 magic;			/* 0x000 "V3V.<cpu>" (VMM) */
	u32 symcall_flags;		/* 0x008 */
	u8 reserved[SYMSPY_EXT_OFFSET - 12];
	struct symspy_ext_header ext;	/* 0x100 */
	u32 pid;			/* 0x110 tgid of the running task */
	u32 tid;			/* 0x114 */
	u32 switches;			/* 0x118 */
	u32 flags;			/* 0x11c bit 0 kernel thread, bit 1 idle */
	char comm[16];			/* 0x120 */
} __packed;

/* One process, as SYMCALL_PS and SYMCALL_CURRENT write it into the call buffer. */
struct symcall_task_record {
	u32 pid;			/* 0 */
	u32 ppid;			/* 4 */
	u32 uid;			/* 8 */
	u32 state;			/* 12: one character, as /proc/PID/stat */
	u32 threads;			/* 16 */
	u32 vsz_kib;			/* 20 */
	u32 rss_kib;			/* 24 */
	u32 flags;			/* 28: bit 0 kernel thread */
	char comm[16];			/* 32 */
} __packed;

#define TASK_RECORD_SIZE	48

/* The layouts, checked by the compiler (and the numbers by tests/unit/symbiotic-abi.test.ts). */
#define SYMBIOTIC_ABI_OFFSET(type, field, off) \
	static_assert(offsetof(struct type, field) == (off), #type "." #field " is at " #off)
SYMBIOTIC_ABI_OFFSET(symspy_global_page, feature_flags, 0x008);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, pci_pt_map, 0x00c);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, ext, 0x100);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, mem_total_kib, 0x110);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, mem_free_kib, 0x114);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, mem_available_kib, 0x118);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, swap_total_kib, 0x11c);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, swap_free_kib, 0x120);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, updates, 0x124);
SYMBIOTIC_ABI_OFFSET(symspy_global_page, tasks, 0x128);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, symcall_flags, 0x008);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, ext, 0x100);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, pid, 0x110);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, tid, 0x114);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, switches, 0x118);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, flags, 0x11c);
SYMBIOTIC_ABI_OFFSET(symspy_local_page, comm, 0x120);
SYMBIOTIC_ABI_OFFSET(symspy_ext_header, guest_version, 0x008);
SYMBIOTIC_ABI_OFFSET(symspy_ext_header, seq, 0x00c);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, ppid, 4);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, uid, 8);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, state, 12);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, threads, 16);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, vsz_kib, 20);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, rss_kib, 24);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, flags, 28);
SYMBIOTIC_ABI_OFFSET(symcall_task_record, comm, 32);
static_assert(sizeof(struct symcall_task_record) == TASK_RECORD_SIZE, "task record size");
#endif

#endif
