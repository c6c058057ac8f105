// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * symbiotic.ko -- makes Linux a symbiotic guest of Symbiont (or Palacios).
 *
 * It finds the VMM by CPUID (leaf 0x90000000 says "V3V"), registers a global
 * SymSpy page (MSR 0x534) and one local page per CPU (MSR 0x535, written on
 * that CPU), and keeps Symbiont's extension of them current without exits:
 * the task running on each CPU (a probe on the sched_switch tracepoint) and
 * the memory figures (a delayed work item, every REFRESH_MS). Then it
 * publishes the SymCall entry on every CPU — entry.S's stub, a stack of its
 * own per CPU, the kernel code segment and the CPU's per-CPU base in the FS
 * base MSR — and sets sym_call_enabled. The calls are in calls.c.
 *
 * Unloading withdraws everything (the MSRs are written 0 first, so the VMM
 * stops using the pages before they are freed).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/swap.h>
#include <linux/tracepoint.h>
#include <linux/workqueue.h>
#include <linux/string.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/cpufeature.h>
#include "symbiotic.h"

MODULE_LICENSE("Dual MIT/GPL");
MODULE_AUTHOR("Symbiont");
MODULE_DESCRIPTION("Symbiotic guest interfaces (SymSpy, SymCall) for Symbiont and Palacios");

#define REFRESH_MS 250
#define SYMCALL_STACK_ORDER 1	/* 8 KiB, as a 32-bit kernel stack */

static struct symspy_global_page *global_page;
DEFINE_PER_CPU(struct symbiotic_cpu, symbiotic_cpu);
static struct tracepoint *sched_switch_tp;
static void refresh_work_fn(struct work_struct *w);
static DECLARE_DELAYED_WORK(refresh_work, refresh_work_fn);

/* ---- SymSpy extension ---------------------------------------------------------- */

static void seq_begin(struct symspy_ext_header *h)
{
	WRITE_ONCE(h->seq, h->seq + 1);
	smp_wmb();
}

static void seq_end(struct symspy_ext_header *h)
{
	smp_wmb();
	WRITE_ONCE(h->seq, h->seq + 1);
}

/* The task now running on this CPU, into its local page. */
static void publish_task(struct symspy_local_page *p, struct task_struct *t)
{
	seq_begin(&p->ext);
	p->pid = t->tgid;
	p->tid = t->pid;
	p->switches++;
	p->flags = ((t->flags & PF_KTHREAD) ? 1 : 0) | (is_idle_task(t) ? 2 : 0);
	memcpy(p->comm, t->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = 0;
	seq_end(&p->ext);
}

static void probe_sched_switch(void *data, bool preempt, struct task_struct *prev,
			       struct task_struct *next, unsigned int prev_state)
{
	struct symspy_local_page *p = this_cpu_read(symbiotic_cpu.local);

	if (p)
		publish_task(p, next);
}

static void find_sched_switch(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		sched_switch_tp = tp;
}

/*
 * Total swap in KiB, from /proc/meminfo's SwapTotal: the kernel keeps the
 * total where modules cannot see it (si_swapinfo and total_swap_pages are
 * not exported), while free swap is nr_swap_pages, which is. (/proc/swaps
 * cannot be read from the kernel: it has no read_iter.)
 */
static u32 swap_total_kib(void)
{
	struct file *f = filp_open("/proc/meminfo", O_RDONLY, 0);
	char *buf, *at;
	loff_t pos = 0;
	ssize_t n;
	unsigned long kib = 0;

	if (IS_ERR(f))
		return 0;
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	n = buf ? kernel_read(f, buf, PAGE_SIZE - 1, &pos) : -ENOMEM;
	filp_close(f, NULL);
	if (n > 0) {
		buf[n] = 0;
		at = strstr(buf, "\nSwapTotal:");
		if (!at || sscanf(at + 11, "%lu", &kib) != 1)
			kib = 0;
	}
	kfree(buf);
	return kib;
}

/* Memory figures into the global page (process context: it may read a file). */
static void refresh_work_fn(struct work_struct *w)
{
	struct symspy_global_page *g = global_page;
	struct sysinfo si;
	struct task_struct *t;
	u32 tasks = 0, swap_total = swap_total_kib();

	si_meminfo(&si);
	rcu_read_lock();
	for_each_process(t)
		tasks++;
	rcu_read_unlock();
	seq_begin(&g->ext);
	g->mem_total_kib = si.totalram << (PAGE_SHIFT - 10);
	g->mem_free_kib = si.freeram << (PAGE_SHIFT - 10);
	g->mem_available_kib = si_mem_available() << (PAGE_SHIFT - 10);
	g->swap_total_kib = swap_total;
	g->swap_free_kib = get_nr_swap_pages() << (PAGE_SHIFT - 10);
	g->tasks = tasks;
	g->updates++;
	seq_end(&g->ext);
	symbiotic_swap_total(swap_total);
	schedule_delayed_work(&refresh_work, msecs_to_jiffies(REFRESH_MS));
}

/* ---- per-CPU registration (runs on each CPU with interrupts off) ----------------- */

static void register_this_cpu(void *failed)
{
	struct symbiotic_cpu *c = this_cpu_ptr(&symbiotic_cpu);
	int cpu = smp_processor_id();
	struct symspy_local_page *p = c->local;

	if (wrmsr_safe(MSR_SYMSPY_LOCAL, (u32)virt_to_phys(p), 0)) {
		atomic_inc(failed);
		return;
	}
	/* The VMM wrote its magic and header into the page; the extension is ours. */
	p->ext.guest_version = SYMSPY_EXT_VERSION;
	publish_task(p, current);
	if (wrmsr_safe(MSR_SYMCALL_RIP, (u32)(unsigned long)symbiotic_symcall_entry, 0) ||
	    wrmsr_safe(MSR_SYMCALL_RSP, (u32)(unsigned long)c->stack + (PAGE_SIZE << SYMCALL_STACK_ORDER), 0) ||
	    wrmsr_safe(MSR_SYMCALL_CS, __KERNEL_CS, 0) ||
	    wrmsr_safe(MSR_SYMCALL_GS, 0, 0) ||
	    wrmsr_safe(MSR_SYMCALL_FS, (u32)per_cpu_offset(cpu), 0)) {
		atomic_inc(failed);
		return;
	}
	WRITE_ONCE(c->registered, true);
	WRITE_ONCE(p->symcall_flags, READ_ONCE(p->symcall_flags) | SYM_CALL_ENABLED);
}

static void unregister_this_cpu(void *unused)
{
	struct symbiotic_cpu *c = this_cpu_ptr(&symbiotic_cpu);

	if (!c->registered)
		return;
	WRITE_ONCE(c->local->symcall_flags, READ_ONCE(c->local->symcall_flags) & ~SYM_CALL_ENABLED);
	wrmsr_safe(MSR_SYMCALL_RIP, 0, 0);
	wrmsr_safe(MSR_SYMSPY_LOCAL, 0, 0);
	c->registered = false;
}

static void free_cpus(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct symbiotic_cpu *c = per_cpu_ptr(&symbiotic_cpu, cpu);

		if (c->local)
			free_page((unsigned long)c->local);
		if (c->stack)
			free_pages((unsigned long)c->stack, SYMCALL_STACK_ORDER);
		if (c->buffer)
			free_page((unsigned long)c->buffer);
		c->local = NULL;
		c->stack = NULL;
		c->buffer = NULL;
	}
}

/* Take back the entry and the pages (the VMM stops using them) and stop updating them. */
static void withdraw(void)
{
	symbiotic_notify_exit();
	on_each_cpu(unregister_this_cpu, NULL, 1);
	if (sched_switch_tp) {
		tracepoint_probe_unregister(sched_switch_tp, probe_sched_switch, NULL);
		tracepoint_synchronize_unregister();
	}
	cancel_delayed_work_sync(&refresh_work);
	wrmsr_safe(MSR_SYMSPY_GLOBAL, 0, 0);
}

static bool symbiotic_vmm_present(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	cpuid(SYM_CPUID_LEAF, &eax, &ebx, &ecx, &edx);
	return eax == SYM_CPUID_EAX;
}

static int __init symbiotic_init(void)
{
	atomic_t failed = ATOMIC_INIT(0);
	int cpu, err = -ENOMEM;

	if (!symbiotic_vmm_present()) {
		pr_info("symbiotic: no symbiotic VMM (CPUID 0x%x does not say V3V)\n", SYM_CPUID_LEAF);
		return -ENODEV;
	}
	global_page = (struct symspy_global_page *)get_zeroed_page(GFP_KERNEL);
	if (!global_page)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct symbiotic_cpu *c = per_cpu_ptr(&symbiotic_cpu, cpu);

		c->local = (struct symspy_local_page *)get_zeroed_page(GFP_KERNEL);
		c->stack = (void *)__get_free_pages(GFP_KERNEL, SYMCALL_STACK_ORDER);
		c->buffer = (void *)get_zeroed_page(GFP_KERNEL);
		if (!c->local || !c->stack || !c->buffer)
			goto out_free;
	}
	err = -EIO;
	if (wrmsr_safe(MSR_SYMSPY_GLOBAL, (u32)virt_to_phys(global_page), 0)) {
		pr_err("symbiotic: the VMM refused the global SymSpy page (MSR 0x%x)\n", MSR_SYMSPY_GLOBAL);
		goto out_free;
	}
	global_page->ext.guest_version = SYMSPY_EXT_VERSION;
	refresh_work_fn(NULL);
	symbiotic_swap_map_init();
	symbiotic_notify_init(READ_ONCE(global_page->ext.vmm_magic) == SYMSPY_EXT_MAGIC);

	for_each_kernel_tracepoint(find_sched_switch, NULL);
	if (!sched_switch_tp || tracepoint_probe_register(sched_switch_tp, probe_sched_switch, NULL)) {
		sched_switch_tp = NULL;
		pr_warn("symbiotic: no sched_switch tracepoint: the running task is published only at registration\n");
	}
	on_each_cpu(register_this_cpu, &failed, 1);
	if (atomic_read(&failed)) {
		pr_err("symbiotic: the VMM refused SymSpy or SymCall MSRs on %d CPU(s)\n", atomic_read(&failed));
		goto out_unregister;
	}
	pr_info("symbiotic: Symbiont VMM found; SymSpy global page at %#lx, SymCall on %u CPU(s)\n",
		(unsigned long)virt_to_phys(global_page), num_online_cpus());
	return 0;

out_unregister:
	withdraw();
out_free:
	free_cpus();
	free_page((unsigned long)global_page);
	return err;
}

static void __exit symbiotic_exit(void)
{
	withdraw();
	free_cpus();
	free_page((unsigned long)global_page);
	pr_info("symbiotic: withdrawn\n");
}

module_init(symbiotic_init);
module_exit(symbiotic_exit);
