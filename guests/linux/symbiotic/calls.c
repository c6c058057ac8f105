// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * The SymCalls symbiotic.ko answers (docs/symbiotic.md has the register
 * conventions). A call runs in whatever context the VMM interrupted — user
 * mode, a system call, an interrupt handler, the idle loop — with interrupts
 * off, and the VMM runs nothing else in the guest until it returns. So a call
 * must not sleep and must not wait for a lock: the interrupted context may
 * hold it and would never run to release it. Locks are only tried; one that
 * is held makes the answer -EBUSY (the seed's "symcalls cannot wait on
 * locks"). RCU-protected lists (the task list) are read under rcu_read_lock()
 * and cannot change meanwhile, since nothing else runs.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/pid.h>
#include <linux/cred.h>
#include <linux/uidgid.h>
#include <linux/vmstat.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/highmem.h>
#include <linux/string.h>
#include <linux/kprobes.h>
#include <linux/vmalloc.h>
#include <asm/pgtable.h>
#include <asm/io.h>
#include "symbiotic.h"

static u32 swap_total_kib;

void symbiotic_swap_total(u32 kib)
{
	WRITE_ONCE(swap_total_kib, kib);
}

static void fill_record(struct symcall_task_record *r, struct task_struct *p)
{
	struct mm_struct *mm = READ_ONCE(p->mm);

	memset(r, 0, sizeof(*r));
	r->pid = task_tgid_nr(p);
	r->ppid = task_tgid_nr(rcu_dereference(p->real_parent));
	r->uid = from_kuid_munged(&init_user_ns, task_uid(p));
	r->state = task_state_to_char(p);
	r->threads = get_nr_threads(p);
	if (mm && !(p->flags & PF_KTHREAD)) {
		r->vsz_kib = mm->total_vm << (PAGE_SHIFT - 10);
		r->rss_kib = get_mm_rss(mm) << (PAGE_SHIFT - 10);
	}
	r->flags = (p->flags & PF_KTHREAD) ? 1 : 0;
	memcpy(r->comm, p->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = 0;
}

/* SYMCALL_CURRENT: the interrupted task. */
static int sym_current(struct symcall_frame *f)
{
	void *buf = this_cpu_read(symbiotic_cpu.buffer);

	rcu_read_lock();
	fill_record(buf, current);
	rcu_read_unlock();
	f->arg[0] = task_tgid_nr(current);
	f->arg[1] = task_pid_nr(current);
	f->arg[2] = (u32)virt_to_phys(buf);
	f->arg[3] = smp_processor_id();
	f->arg[4] = 0;
	return 0;
}

/* SYMCALL_PS: the processes from index arg[0] on, as many as the buffer holds. */
static int sym_ps(struct symcall_frame *f)
{
	struct symcall_task_record *buf = this_cpu_read(symbiotic_cpu.buffer);
	const u32 max = PAGE_SIZE / sizeof(*buf), cursor = f->arg[0];
	struct task_struct *p;
	u32 index = 0, n = 0, next = 0;

	rcu_read_lock();
	for_each_process(p) {
		if (index++ < cursor)
			continue;
		if (n == max) {
			next = index - 1;
			break;
		}
		fill_record(&buf[n++], p);
	}
	rcu_read_unlock();
	f->arg[0] = n;
	f->arg[1] = (u32)virt_to_phys(buf);
	f->arg[2] = next;
	f->arg[3] = sizeof(*buf);
	f->arg[4] = 0;
	return 0;
}

/* SYMCALL_MEMINFO: as /proc/meminfo counts them, without its locks (swap total: the last refresh). */
static int sym_meminfo(struct symcall_frame *f)
{
	f->arg[0] = totalram_pages() << (PAGE_SHIFT - 10);
	f->arg[1] = global_zone_page_state(NR_FREE_PAGES) << (PAGE_SHIFT - 10);
	f->arg[2] = si_mem_available() << (PAGE_SHIFT - 10);
	f->arg[3] = READ_ONCE(swap_total_kib);
	f->arg[4] = get_nr_swap_pages() << (PAGE_SHIFT - 10);
	return 0;
}

/* The page-table entry that maps addr in mm (a large page's PMD), or 0. */
static u32 read_pte(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;
	pte_t *pte;
	u32 val;

	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return 0;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d))
		return 0;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud))
		return 0;
	pmd = pmd_offset(pud, addr);
	if (pmd_none(*pmd))
		return 0;
	if (pmd_large(*pmd))
		return pmd_val(*pmd);
	if (pmd_bad(*pmd))
		return 0;
	pte = pte_offset_map(pmd, addr);
	val = pte_val(*pte);
	pte_unmap(pte);
	return val;
}

/*
 * SYMCALL_MEM_LOOKUP (Palacios' query_vaddr): arg0 vaddr, arg1 the PTE the
 * caller has, arg3 pid (0: the interrupted task). Answers arg0 the page's
 * vaddr (0: no mapping covers it), arg1 the PTE now in the task's tables,
 * arg2 permissions (LOOKUP_*), arg3/arg4 the covering mapping's start and end.
 */
static int sym_mem_lookup(struct symcall_frame *f)
{
	unsigned long addr = f->arg[0];
	u32 pid = f->arg[3], perms = 0, pte;
	struct task_struct *t;
	struct vm_area_struct *vma;
	struct mm_struct *mm;

	rcu_read_lock();
	t = pid ? pid_task(find_vpid(pid), PIDTYPE_PID) : current;
	if (!t) {
		rcu_read_unlock();
		return -ESRCH;
	}
	if (!spin_trylock(&t->alloc_lock)) {	/* task_lock(), tried */
		rcu_read_unlock();
		return -EBUSY;
	}
	mm = (t->flags & PF_KTHREAD) ? NULL : t->mm;
	spin_unlock(&t->alloc_lock);
	rcu_read_unlock();
	memset(f->arg, 0, sizeof(f->arg));
	if (!mm)
		return 0;			/* a kernel thread has no user mappings */
	if (!mmap_read_trylock(mm))
		return -EBUSY;
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start <= addr) {
		pte = read_pte(mm, addr);
		if (vma->vm_flags & VM_READ)
			perms |= LOOKUP_READ;
		if (vma->vm_flags & VM_WRITE)
			perms |= LOOKUP_WRITE;
		if (vma->vm_flags & VM_EXEC)
			perms |= LOOKUP_EXEC;
		perms |= LOOKUP_USER;
		if (pte & _PAGE_PRESENT)
			perms |= LOOKUP_PRESENT;
		f->arg[0] = addr & PAGE_MASK;
		f->arg[1] = pte;
		f->arg[2] = perms;
		f->arg[3] = vma->vm_start;
		f->arg[4] = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return 0;
}

/*
 * SYMCALL_SWAP_MAP: arg0 swap type, arg1 slot. Answers arg0 the guest-physical
 * address of that slot's byte in the area's swap_map (its use count, with
 * SWAP_HAS_CACHE while a swap-cache page stands for it), arg1 the area's
 * slots, arg2 the byte now. The VMM reads and watches the byte itself: a slot
 * whose count is 1 without a swap-cache page is the only copy of one PTE's
 * page, and may be mapped writable (SwapBypass); a fork (count 2) or a
 * swap-in (SWAP_HAS_CACHE) shows as a store to it.
 *
 * Linux exports neither swap_info nor a way to it, so the address of
 * swp_swap_info() (type -> swap_info_struct) is found once by a kprobe
 * lookup: register one on the symbol, take its address, unregister.
 */
static struct swap_info_struct *(*swap_info_of)(swp_entry_t entry);

void symbiotic_swap_map_init(void)
{
	/* Registered disabled: resolved, never armed (no breakpoint is written into the kernel). */
	struct kprobe kp = { .symbol_name = "swp_swap_info", .flags = KPROBE_FLAG_DISABLED };

	if (register_kprobe(&kp) == 0) {
		swap_info_of = (void *)kp.addr;
		unregister_kprobe(&kp);
	} else {
		pr_info("symbiotic: swp_swap_info not found: SYMCALL_SWAP_MAP unavailable\n");
	}
}

static int sym_swap_map(struct symcall_frame *f)
{
	u32 type = f->arg[0], slot = f->arg[1];
	struct swap_info_struct *si;
	unsigned char *map;
	struct page *pg;

	if (!swap_info_of)
		return -ENOSYS;
	if (type >= MAX_SWAPFILES)
		return -EINVAL;
	si = swap_info_of(swp_entry(type, 0));
	map = si ? READ_ONCE(si->swap_map) : NULL;
	if (!map || !(READ_ONCE(si->flags) & SWP_USED) || slot >= READ_ONCE(si->max))
		return -ENOENT;
	pg = vmalloc_to_page(map + slot);
	if (!pg)
		return -ENOENT;
	f->arg[0] = (u32)(page_to_phys(pg) + offset_in_page(map + slot));
	f->arg[1] = si->max;
	f->arg[2] = READ_ONCE(map[slot]);
	f->arg[3] = 0;
	f->arg[4] = 0;
	return 0;
}

asmlinkage int symbiotic_symcall_dispatch(struct symcall_frame *f)
{
	int i;

	switch (f->nr) {
	case SYMCALL_TEST:
		for (i = 0; i < 5; i++)
			f->arg[i] = ~f->arg[i];
		return 0;
	case SYMCALL_MEM_LOOKUP:
		return sym_mem_lookup(f);
	case SYMCALL_CURRENT:
		return sym_current(f);
	case SYMCALL_PS:
		return sym_ps(f);
	case SYMCALL_MEMINFO:
		return sym_meminfo(f);
	case SYMCALL_SWAP_MAP:
		return sym_swap_map(f);
	default:
		return -ENOSYS;
	}
}
