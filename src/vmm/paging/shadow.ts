/**
 * Shadow paging (VMware's, Xen's and Palacios' VTLB): the core walks only
 * page tables this strategy builds in host frames, and the guest's own
 * tables are data the VMM reads. The guest's CR3 loads, CR0.PG/WP and
 * CR4.PAE/PSE writes and page faults exit to here:
 *
 *  - a **hidden fault** (the guest's tables allow the access, the shadow does
 *    not have it yet) is filled silently: the guest's accessed bits are set at
 *    fill, its dirty bit when the shadow entry — read-only until then — is
 *    first written through;
 *  - a **true fault** (the guest's tables forbid it — SMAP and SMEP too, which
 *    the core checks against the shadow's U bits, the guest's own) is injected
 *    into the guest with the architectural error code and CR2 (the core tells
 *    the VMM a fetch whatever the guest's form, so SMAP's sparing fetches is
 *    decided right);
 *  - every guest page-table page that a shadow table mirrors is write-protected
 *    in the shadow: a store to it is a **trace**. Seed 002's answer to their
 *    cost (adaptive translation into a callout) is done here in the core: the
 *    leaf is marked SHADOW_TRACE, the store goes through and its frame is
 *    logged, and before the next TLB fill or fault the core exits once (EXIT_TRACE_LOG)
 *    for the whole batch; the VMM then brings the shadow entries mirroring what
 *    changed up to date (or drops them). Stores the shadow cannot express
 *    (a supervisor store into a read-only page with CR0.WP = 0) are let through
 *    one instruction by the monitor trap flag instead.
 *  - INVLPG needs no exit: the shadow is never stale when a translation is made.
 *
 * Shadow tables are shared between address spaces: a shadow page table is
 * keyed by the guest table it mirrors (a shadow directory by the guest
 * directory), so switching back to a known CR3 costs nothing — the core's
 * CR3-target list holds the roots of the most recent address spaces and
 * switches to them without an exit.
 *
 * All guest paging forms: paging off (passthrough tables), 32-bit with PSE
 * and PGE, PAE with NX (shadowed in PAE format), virtual-8086 mode, task
 * switches that load CR3 (they exit before committing anything).
 *
 * Several vCPUs share the shadow tables, as they share the guest's: each has
 * its own root (its own CR3) and its own paging form, and the tables are built
 * for the form of the vCPUs with paging on (a multiprocessor guest gives all
 * its CPUs one); a vCPU with paging off walks the passthrough root, which
 * suits any form. They take turns on the one core (Vm.switchTo), whose TLB a
 * switch drops, so a shadow entry changed while one vCPU runs is never stale
 * in another's TLB; the trace log is the core's, whichever vCPU stored.
 *
 * @module
 */
import { Control, PagingModeCode, CR3_TARGET_MAX } from "../../engine/core.js";
import type { Vm } from "../vm.js";
import type { GuestMemory } from "../memory.js";
import type { PagingStrategy, ExitAction, PagingExit } from "./strategy.js";

const PAGE = 4096;
/** Who asks the VM for monitor-trap exits here (Vm.requestMonitorTrap). */
const MTF_OWNER = "shadow pager";
const P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
/** A shadow leaf whose frame is guest-physical (MMIO, ROM, a frame the map restricts): the core resolves it. */
const SHADOW_GPA = 0x200;
/** A read-only shadow leaf of a guest page table the guest may write: the core lets stores through and logs them (mmu/walk.ts). */
const SHADOW_TRACE = 0x400;
/** Shadow leaf of a guest large page split into 4 KiB leaves: the guest's INVLPG drops the whole large page. */
const SHADOW_SPLIT = 0x800;
const CR0_PG = 0x80000000, CR0_WP = 0x10000, CR4_PSE = 0x10, CR4_PAE = 0x20, CR4_SMEP = 1 << 20, CR4_SMAP = 1 << 21;
const EFLAGS_AC = 1 << 18;
const EFER_NXE = 1 << 11;
const PF = 14;
/** Guest directory entries a cached root not in use may see changed before it is dropped (noteRootFlood). */
const ROOT_FLOOD_LIMIT = 64;
/** What resync reads of a guest table frame that is not readable RAM. */
const NO_WORDS = new Uint32Array(1024);
/** A guest page table inside a device's MMIO range. */
class WalkThroughMmio extends Error {
  constructor(readonly gpa: number) { super(`page walk through MMIO at 0x${gpa.toString(16)}`); }
}

type Kind = "pd" | "pt" | "split" | "pdpt" | "pae-pd" | "pae-pt" | "pae-split";

/** A shadow table: one host frame mirroring one guest table (or a large guest page, split). */
interface ShadowPage {
  hpa: number;
  kind: Kind;
  key: string;
  /** The guest page-table frame mirrored (write-protected while this page lives), or -1. */
  guestFrame: number;
  /** The guest's entries as last synchronized (32-bit words; PAE: low, high pairs). */
  guestCopy: Uint32Array;
  /** Host addresses of the shadow entries that point to this page. */
  parents: Set<number>;
  /** Children by entry index (non-leaf tables). */
  children: Map<number, ShadowPage>;
  /** A cached root not in use: guest entries changed since it last was (ROOT_FLOOD_LIMIT). */
  flood: number;
}

/** The guest's paging form, as its CR0/CR4/EFER say. */
interface GuestForm { paging: boolean; pae: boolean; pse: boolean; nxe: boolean; wp: boolean }

/** A guest page walk done by the VMM. */
interface GuestWalk {
  /** The guest's error code when its own tables refuse the access. */
  fault: number | null;
  /** Guest-physical address of the 4 KiB page reached. */
  gpa: number;
  /** Combined over the levels (what the access is checked against). */
  rw: boolean; us: boolean; nx: boolean;
  /** The leaf entry's own bits (a shared shadow page table mirrors the leaf, its directory entry the rest). */
  leafRw: boolean; leafUs: boolean; leafNx: boolean; global: boolean; dirty: boolean;
  /** Guest entry addresses to set accessed/dirty bits in, and the entries read. */
  entries: { gpa: number; value: number; hi: number; leaf: boolean }[];
  /** A 32-bit (non-PAE) walk that ended at a not-present PTE that is not zero: that PTE (the guest's swap entry, say), else 0. */
  absentPte: number;
}

/** The window a hook's fault maps around (AbsentPteHook.absentPteNear): 16 pages, Linux's fault_around_bytes of 64 KiB. */
export const FAULT_AROUND_PAGES = 16;

/**
 * A policy that may satisfy a fault on a not-present guest PTE itself
 * (SwapBypass, src/symbiotic/swapbypass.ts): 32-bit non-PAE guests only.
 * The pager asks it before injecting such a fault, writes the leaf it answers
 * (writable only if it says so: a store through a read-only one faults again
 * and is asked about again), watches the guest frames it asks it to, and
 * tells it when that leaf is gone, whatever the cause (the guest changed the
 * PTE, the shadow table was freed or reset, the policy dropped it).
 */
export interface AbsentPteHook {
  /**
   * The guest's PTE for `lin` is `pte` (present bit clear, not zero) and the
   * access would fault. Return the host frame to map `lin` to (and whether
   * user mode may read it) or null for the guest's own #PF. May make a nested
   * VM entry (a SymCall): the pager walks again after it.
   */
  absentPte(lin: number, pte: number, access: { write: boolean; user: boolean; fetch: boolean }): { frame: number; user: boolean; write: boolean } | null;
  /**
   * Right after a fault absentPte answered was mapped, the pager offers the other not-present, non-zero PTEs of
   * the same guest table in the fault's aligned window of {@link FAULT_AROUND_PAGES} pages whose shadow leaf is
   * empty (Linux's fault-around, done by the VMM): may `lin`, whose PTE is `pte`, be mapped too — from what the
   * hook learned answering the fault, without entering the guest? Null: left to its own fault.
   */
  absentPteNear?(lin: number, pte: number): { frame: number; user: boolean; write: boolean } | null;
  /**
   * The guest wrote `pte` (not present, not zero) into a page table the shadow mirrors: seen when the
   * pager resynchronizes, after the store and before any fault at that PTE is asked about.
   */
  absentPteWritten(pte: number): void;
  /** The pager wrote the shadow leaf at host address `leaf` for the answer `absentPte` just gave. */
  mapped(leaf: number, lin: number, pte: number, write: boolean): void;
  /**
   * The guest stored into guest-physical page `gpa`, which {@link ShadowPaging.watchFrame} watches (after the store):
   * within the 16-byte lines at these offsets in the page (the core's trace log), or anywhere in it (null).
   */
  frameWritten(gpa: number, lines: number[] | null): void;
  /** A leaf this hook asked for is gone. */
  dropped(leaf: number): void;
  /** Every shadow table was dropped. */
  reset(): void;
  /** Counters merged into the pager's stats(). */
  stats(): Record<string, number>;
}

export interface ShadowPagingOptions {
  /**
   * Stores into guest page tables: true (default) — the core lets them through
   * and logs them, the VMM resynchronizes at the next TLB fill (one exit per
   * batch); false — each is a trace fault, let through one instruction by the
   * monitor trap flag and resynchronized after it (two exits per store: the
   * classic method, kept to measure the difference).
   */
  traceLog?: boolean;
}

export class ShadowPaging implements PagingStrategy {
  readonly mode = "shadow" as const;
  private readonly useTraceLog: boolean;
  constructor(opts: ShadowPagingOptions = {}) { this.useTraceLog = opts.traceLog ?? true; }
  private vm!: Vm;
  private mem!: GuestMemory;
  /** The running vCPU's paging form. */
  private form: GuestForm = { paging: false, pae: false, pse: false, nxe: false, wp: false };
  /** The form the shadow tables are built for: the last a vCPU with paging on had (null: none yet). */
  private tableForm: GuestForm | null = null;
  /** The roots of the vCPUs not running (the running one's is the core's ShadowRoot control). */
  private readonly vcpuRoots = new Map<number, ShadowPage>();
  private readonly pages = new Map<string, ShadowPage>();
  private readonly byHost = new Map<number, ShadowPage>();
  /** Guest page-table frames mirrored by shadow pages (write-protected), with those pages. */
  private readonly tracked = new Map<number, Set<ShadowPage>>();
  /** Tracked guest frames by the host frame behind them (the core's trace log names host frames). */
  private readonly trackedHost = new Map<number, number>();
  /** Shadow leaves (host addresses) by the guest frame they map, and the other way round. */
  private readonly rmap = new Map<number, Set<number>>();
  private readonly leafOwner = new Map<number, number>();
  /** Roots by guest CR3 (or "off" with paging off), most recently used last. */
  private readonly roots = new Map<string, ShadowPage>();
  /** The root the core walks now: it switches roots itself on CR3 loads in its CR3-target list. */
  private get root(): ShadowPage | null { return this.byHost.get(this.vm.getControl(Control.ShadowRoot)) ?? null; }
  /** Shadow entries made writable for one instruction (a trace fault, a CR0.WP=0 store), restored at the monitor-trap exit. */
  private traced: { addr: number; value: number; leaf: boolean }[] = [];
  /** Guest page tables those stores may have changed. */
  private tracedFrames = new Set<number>();
  /** TLB entries to drop before the guest runs again: by linear page, or all. */
  private readonly flushLinears = new Set<number>();
  private flushEverything = false;
  /** The absent-PTE policy (SwapBypass) and the shadow leaves it asked for. */
  private absentHook: AbsentPteHook | null = null;
  /**
   * The hook's leaves, each with the host address of the guest PTE it stands for (-1: not plain RAM). A store into
   * that PTE must take effect before the guest's next access, not at its next TLB fill (a not-present PTE made
   * present needs no INVLPG, and the hook's translation may be in the TLB): the word is synchronous in the core
   * (setSyncWord: a logged store into it exits right after its instruction); stores into the rest of the table batch.
   */
  private readonly hookLeaves = new Map<number, number>();
  /** Host words synchronous in the core, with how many reasons each (hook leaves, syncWatchedWord). */
  private readonly syncWords = new Map<number, number>();
  /**
   * Guest frames the hook watches, by the host frame behind them when plain RAM: every store into one is reported
   * (frameWritten) — logged, or else let through alone as a fault; a logged one at the log's next drain, or before
   * the guest's next instruction in the words the hook asked for (watchedWords: guest word -> host word, reasons).
   */
  private readonly watched = new Map<number, number>();
  private readonly watchedHost = new Map<number, number>();
  private readonly watchedWords = new Map<number, { host: number; n: number }>();
  /** Watched frames the instruction let through now may have stored into. */
  private watchedStores = new Set<number>();
  private readonly counters = {
    hiddenFaults: 0, trueFaults: 0, traceExits: 0, traceFaults: 0, watchFaults: 0, tracedTables: 0, traceUpdates: 0, wp0Stores: 0, rootSwitches: 0, rootCacheHits: 0, shadowResets: 0, floodedRoots: 0,
  };

  attach(vm: Vm): void {
    this.vm = vm;
    this.mem = vm.memory;
    this.mem.onChange((gpa, pages) => {
      let table = false;
      for (let i = 0; i < pages; i++) { this.dropLeavesOf(gpa + i * PAGE); table ||= this.tracked.has(gpa + i * PAGE); }
      // A frame mirrored as a guest page table now has other contents (a SymSpy page over a frame Linux
      // once used as one, say): its shadows say nothing any more, and stores into it must not cost a
      // trace fault each (its leaves cannot carry SHADOW_TRACE). Rare: start over.
      if (table) { this.reset(); this.useRoot(this.vm.core.getCr(3) >>> 0); }
      this.commitFlush();
    });
    vm.setControl(Control.ExceptionBitmap, vm.getControl(Control.ExceptionBitmap) | (1 << PF));
    vm.setControl(Control.Cr0Mask, CR0_PG | CR0_WP);
    vm.setControl(Control.Cr4Mask, CR4_PAE | CR4_PSE);
    vm.setControl(Control.Cr3Exiting, 1);
    vm.setControl(Control.InvlpgExiting, 0);
    vm.setControl(Control.PagingMode, PagingModeCode.Shadow);
    this.stateChanged();
  }

  /** Every shadow table mirrors guest tables that a snapshot replaced without a trace: start over from its CR3. */
  restored(): void {
    this.reset();
    this.stateChanged();
  }

  stateChanged(): void {
    const st = this.vm.getState();
    this.switchForm(st.cr0, st.cr4, st.efer);
    this.useRoot(st.cr3);
    this.commitFlush();
  }

  // ---- exits ------------------------------------------------------------------------

  handle(exit: PagingExit): ExitAction | undefined {
    try {
      return this.dispatch(exit);
    } finally {
      this.commitFlush();
    }
  }

  // Cached translations the shadow changes made stale are dropped once per exit, not once per
  // entry: a changed leaf drops the linear pages it maps (a targeted INVLPG, found through the
  // shadow tables' parent links), a changed directory entry or root everything.
  private noteFlushAll(): void { this.flushEverything = true; }
  private noteLeafChanged(addr: number): void {
    if (this.flushEverything) return;
    const p = this.byHost.get(addr & ~0xfff);
    if (!p) { this.flushEverything = true; return; }
    const wide = p.kind.startsWith("pae");
    const low = ((addr & 0xfff) / (wide ? 8 : 4)) * PAGE;
    for (const pde of p.parents) {
      if (!wide) { this.flushLinear(((pde & 0xfff) / 4) * 0x400000 + low); continue; }
      const dir = this.byHost.get(pde & ~0xfff);
      if (!dir) { this.flushEverything = true; return; }
      const mid = ((pde & 0xfff) / 8) * 0x200000 + low;
      for (const pdpte of dir.parents) this.flushLinear(((pdpte & 0x1f) / 8) * 0x40000000 + mid);
    }
  }
  private flushLinear(lin: number): void {
    this.flushLinears.add(lin);
    if (this.flushLinears.size > 64) this.flushEverything = true;
  }
  private commitFlush(): void {
    if (!this.flushEverything && this.flushLinears.size === 0) return; // (most exits change no leaf)
    if (this.flushEverything) this.vm.core.flushTlbHost(-1);
    else for (const lin of this.flushLinears) this.vm.core.flushTlbLinear(lin);
    this.flushEverything = false;
    this.flushLinears.clear();
  }

  private dispatch(exit: PagingExit): ExitAction | undefined {
    switch (exit.reason) {
      case "exception":
        if (exit.vector !== PF) return undefined;
        try {
          return this.pageFault(exit.cr2, exit.errorCode ?? 0);
        } catch (e) {
          if (!(e instanceof WalkThroughMmio)) throw e;
          const st = this.vm.getState();
          const at = `${st.cs.selector.toString(16).padStart(4, "0")}:${st.eip.toString(16).padStart(8, "0")}`;
          return { kind: "unimplemented", message: `unimplemented: page walk through MMIO at ${at}` };
        }
      case "cr-write": {
        const st = this.vm.getState();
        if (exit.cr === 3) { this.useRoot(exit.value); return "resume"; }
        // A paging-form change: the shadow tables no longer say what the guest means.
        const cr0 = exit.cr === 0 ? exit.value : st.cr0, cr4 = exit.cr === 4 ? exit.value : st.cr4;
        this.switchForm(cr0, cr4, st.efer);
        this.useRoot(st.cr3);
        return "resume";
      }
      case "invlpg":
        // (Not intercepted: a translation is never made from a stale shadow, see the trace log.)
        return "resume";
      case "trace-log":
        // (A synchronous exit's count is the log's when it was raised; the instruction may have logged more since.)
        this.traceLog(this.vm.core.traceLogCount());
        return "resume";
      case "monitor-trap":
        if (this.traced.length === 0) return undefined;
        this.endTrace();
        return "resume";
      case "ept-violation":
        return undefined;
    }
  }

  stats(): Record<string, number> {
    return { ...this.counters, shadowPages: this.pages.size, shadowRoots: this.roots.size, trackedTables: this.tracked.size, watchedFrames: this.watched.size, ...this.absentHook?.stats() };
  }

  // ---- the absent-PTE policy (SwapBypass) ---------------------------------------------------

  /** Install the policy asked about faults on not-present guest PTEs (one at a time). */
  setAbsentPteHook(hook: AbsentPteHook | null): void {
    if (hook && this.absentHook) throw new Error("the shadow pager already has an absent-PTE policy");
    for (const leaf of [...this.hookLeaves.keys()]) this.clearLeaf(leaf);
    this.watched.clear();
    this.watchedHost.clear();
    for (const { host, n } of this.watchedWords.values()) this.syncWord(host, -n);
    this.watchedWords.clear();
    this.commitFlush();
    this.absentHook = hook;
  }

  /** `delta` more (or, negative, fewer) reasons for stores into host word `host` to exit at once (-1: none, not plain RAM). */
  private syncWord(host: number, delta: number): void {
    if (host < 0) return;
    const n = (this.syncWords.get(host) ?? 0) + delta;
    if (n > 0) {
      if (!this.syncWords.has(host)) this.vm.core.setSyncWord(host, true);
      this.syncWords.set(host, n);
    } else if (this.syncWords.delete(host)) this.vm.core.setSyncWord(host, false);
  }

  /**
   * Resynchronize now what the guest stored into its page tables since the last trace-log exit (the core hands
   * the log over at its next successful TLB fill): for a hook that must know every PTE written before an event
   * (a fault, a device request). Any exit is an instruction boundary, so this is what that exit would have done.
   */
  drainTraceLog(): void {
    const logged = this.vm.core.traceLogCount();
    if (logged > 0) this.traceLog(logged);
    this.commitFlush();
  }

  /**
   * Watch guest-physical page `gpa` for the hook (on) or stop (off): while watched, no shadow leaf maps it writable;
   * each store into it is logged (or, not plain RAM, a fault let through alone) and the hook hears of it
   * (frameWritten) when the log is next drained — before the guest's next instruction in the words it asked
   * for with {@link syncWatchedWord}, or any store that faulted.
   */
  watchFrame(gpa: number, on: boolean): void {
    if (!on) {
      // Its leaves stay read-only (and logged) until their next fault refills them.
      const host = this.watched.get(gpa);
      if (host !== undefined) { this.watched.delete(gpa); this.watchedHost.delete(host); }
      return;
    }
    if (this.watched.has(gpa)) return;
    const host = this.useTraceLog ? this.plainFrame(gpa) : -1;
    this.watched.set(gpa, host);
    if (host >= 0) this.watchedHost.set(host, gpa);
    const trace = host >= 0 ? SHADOW_TRACE : 0;
    for (const addr of this.rmap.get(gpa) ?? []) {
      const v = this.mem.readHostU32(addr);
      if (v & (RW | SHADOW_TRACE)) { this.mem.writeHostU32(addr, ((v & ~(RW | SHADOW_TRACE)) | trace) >>> 0); this.noteLeafChanged(addr); }
    }
    this.commitFlush();
  }
  /**
   * Stores into the word at guest-physical `gpa` (4-byte aligned, in a frame the hook watches) reach the hook before
   * the guest's next instruction: one more reason (on) or one less (off).
   */
  syncWatchedWord(gpa: number, on: boolean): void {
    let w = this.watchedWords.get(gpa);
    if (on) {
      const frame = this.watched.get(gpa & ~0xfff) ?? -1;
      if (!w) this.watchedWords.set(gpa, w = { host: frame >= 0 ? frame + (gpa & 0xffc) : -1, n: 0 });
      w.n++;
      this.syncWord(w.host, +1);
      return;
    }
    if (!w) return;
    this.syncWord(w.host, -1);
    if (--w.n === 0) this.watchedWords.delete(gpa);
  }


  /** Make a leaf the hook asked for read-only (a store through it faults and is asked about again). */
  protectHookLeaf(leaf: number): void {
    if (!this.hookLeaves.has(leaf)) return;
    const v = this.mem.readHostU32(leaf);
    if (!(v & RW)) return;
    this.mem.writeHostU32(leaf, (v & ~RW) >>> 0);
    this.noteLeafChanged(leaf);
    this.commitFlush();
  }

  /** Drop shadow leaves the hook asked for (their TLB entries with them) before the guest runs again. */
  dropHookLeaves(leaves: Iterable<number>): void {
    for (const leaf of [...leaves]) if (this.hookLeaves.has(leaf)) this.clearLeaf(leaf);
    this.commitFlush();
  }

  // ---- the guest's paging form and the roots ---------------------------------------------

  /**
   * The running vCPU's paging form is now what `cr0`, `cr4` and `efer` say. Paging off needs only the passthrough
   * root, which any tables can sit beside; a form with paging on whose tables read the guest's differently (PAE,
   * PSE, NX — CR0.WP changes only which faults are the guest's) starts the shadow over.
   */
  private switchForm(cr0: number, cr4: number, efer: number): void {
    const form: GuestForm = {
      paging: (cr0 & CR0_PG) !== 0 && (cr0 & 1) !== 0, pae: (cr4 & CR4_PAE) !== 0, pse: (cr4 & CR4_PSE) !== 0,
      nxe: (efer & EFER_NXE) !== 0, wp: (cr0 & CR0_WP) !== 0,
    };
    this.form = form;
    this.vm.setControl(Control.ShadowPae, form.paging && form.pae ? 1 : 0);
    if (!form.paging) return;
    const t = this.tableForm;
    if (t && t.pae === form.pae && t.pse === form.pse && t.nxe === form.nxe) return;
    this.reset();
    this.tableForm = form;
  }

  /**
   * The core runs vCPU `to` now instead of `from` (Vm.switchTo, Vm.withVcpu): `from` keeps its root for when it
   * runs again, `to` gets its own back — or, if the shadow started over meanwhile, one for its CR3. A store let
   * through for `from`'s next instruction is taken back: that instruction faults again when `from` runs.
   */
  vcpuSwitched(from: number, to: number): void {
    if (this.traced.length > 0) this.endTrace(from);
    const fromRoot = this.root;
    if (fromRoot) this.vcpuRoots.set(from, fromRoot);
    const core = this.vm.core;
    this.switchForm(core.getCr(0), core.getCr(4), core.getEfer());
    const root = this.vcpuRoots.get(to);
    this.vcpuRoots.delete(to);
    if (root && this.pages.get(root.key) === root) this.vm.setControl(Control.ShadowRoot, root.hpa);
    else this.useRoot(core.getCr(3) >>> 0);
    this.commitFlush();
  }

  /** A vCPU walks `p` as its root now (the running one, or one waiting for its turn). */
  private inUse(p: ShadowPage): boolean {
    if (p === this.root) return true;
    for (const r of this.vcpuRoots.values()) if (r === p) return true;
    return false;
  }

  /** Make the root for guest CR3 `cr3` current (building an empty one if new) and list it as a CR3 target. */
  private useRoot(cr3: number): void {
    const pae = this.form.paging && this.form.pae;
    const key = !this.form.paging ? "off" : pae ? `pae:${cr3 >>> 0}:${this.pdptes(cr3).join(",")}` : `cr3:${(cr3 & ~0xfff) >>> 0}`;
    let root = this.roots.get(key);
    if (root) { this.counters.rootCacheHits++; this.roots.delete(key); }
    else {
      root = this.page(!this.form.paging ? "pd" : pae ? "pdpt" : "pd", key, !this.form.paging || pae ? -1 : cr3 & ~0xfff);
      if (this.roots.size >= CR3_TARGET_MAX) {
        // The least recently used root no vCPU walks (each vCPU walks one: there are more roots than vCPUs).
        for (const old of this.roots.values()) if (!this.inUse(old)) { this.free(old); break; }
      }
    }
    this.roots.set(key, root);
    root.flood = 0;
    this.counters.rootSwitches++;
    this.vm.setControl(Control.ShadowRoot, root.hpa);
    this.publishTargets();
  }

  /** The CR3-target list: guest CR3 → shadow root, for the non-PAE roots (a PAE root also depends on the PDPTEs loaded). */
  private publishTargets(): void {
    let n = 0;
    for (const [key, r] of this.roots) {
      if (!key.startsWith("cr3:")) continue;
      this.vm.core.setCr3Target(n++, Number(key.slice(4)) | 0, r.hpa);
    }
    this.vm.setControl(Control.Cr3TargetCount, n);
  }

  private pdptes(cr3: number): number[] {
    const base = (cr3 & ~0x1f) >>> 0;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) out.push(this.guestRead(base + i * 8), this.guestRead(base + i * 8 + 4));
    return out;
  }

  /** Drop every shadow table (a paging-form change, or the VMM's frames ran out). */
  private reset(): void {
    for (const p of this.pages.values()) this.mem.freeFrame(p.hpa);
    this.pages.clear(); this.byHost.clear(); this.tracked.clear(); this.trackedHost.clear(); this.rmap.clear(); this.leafOwner.clear(); this.roots.clear();
    this.vcpuRoots.clear();
    this.traced = []; this.tracedFrames.clear();
    this.vm.requestMonitorTrap(MTF_OWNER, false);
    this.vm.core.clearTraceLog();
    this.vm.setControl(Control.Cr3TargetCount, 0);
    this.noteFlushAll();
    this.counters.shadowResets++;
    this.syncWords.clear();
    this.vm.core.clearSyncFrames();
    for (const { host, n } of this.watchedWords.values()) this.syncWord(host, n);
    this.watchedStores.clear();
    if (this.hookLeaves.size) { this.hookLeaves.clear(); this.absentHook?.reset(); }
  }

  // ---- page faults -------------------------------------------------------------------------

  private pageFault(lin: number, code: number, retry = true): ExitAction {
    const write = (code & 2) !== 0, user = (code & 4) !== 0, fetch = (code & 16) !== 0;
    // EFER.NXE is not intercepted (WRMSR): a change shows here first, and changes what the entries mean.
    const core = this.vm.core;
    if (((core.getEfer() & EFER_NXE) !== 0) !== this.form.nxe) {
      this.switchForm(core.getCr(0), core.getCr(4), core.getEfer());
      this.useRoot(core.getCr(3) >>> 0);
    }
    const walk = this.guestWalk(lin, write, user, fetch);
    if (walk.fault !== null && walk.absentPte !== 0 && this.absentHook && this.absentFault(lin, walk, write, user, fetch)) return "resume";
    if (walk.fault !== null) {
      this.counters.trueFaults++;
      this.vm.injectException(PF, walk.fault, lin);
      return "resume";
    }
    this.setAccessedDirty(walk, write);
    try {
      // A supervisor store CR0.WP = 0 allows into a read-only page: the shadow (WP always on) cannot say so,
      // so exactly this instruction is let through.
      const wp0 = write && !user && !walk.rw && !this.form.wp;
      // Without the trace log, a permitted store into a guest page table is a trace fault: let through the same way.
      // So is one into a table the log cannot cover, not plain RAM (a SymSpy page, say, that took over a frame
      // the guest once used as a page table): its leaf has no SHADOW_TRACE to log through.
      const traceFault = write && !wp0 && this.tracked.has(walk.gpa) && (!this.useTraceLog || this.plainFrame(walk.gpa) < 0);
      // A store into a frame the hook watches: the same, and the hook hears of it after.
      const watchFault = write && !wp0 && this.watched.get(walk.gpa) === -1;
      if (watchFault) this.counters.watchFaults++;
      else if (traceFault) this.counters.traceFaults++;
      else this.counters.hiddenFaults++;
      this.fill(lin, walk);
      if (wp0) { this.counters.wp0Stores++; return this.letThrough(lin, this.shadowLeafAddr(lin)!, walk.gpa); }
      if (traceFault || watchFault) return this.letThrough(lin, this.shadowLeafAddr(lin)!, walk.gpa);
    } catch (e) {
      if (!retry || !(e instanceof Error) || !e.message.startsWith("out of VMM memory")) throw e;
      // The VMM's frames ran out: start over with empty shadow tables.
      this.reset();
      this.useRoot(core.getCr(3) >>> 0);
      return this.pageFault(lin, code, false);
    }
    return "resume";
  }

  /**
   * The guest's PTE for `lin` is not present but not zero (32-bit, no PAE):
   * ask the hook, and if it answers, map `lin` to the frame it gives (writable if it says so).
   * The hook may enter the guest (a SymCall), so the walk is made again and
   * the leaf written only if the guest's entries are what the hook was asked about.
   */
  private absentFault(lin: number, walk: GuestWalk, write: boolean, user: boolean, fetch: boolean): boolean {
    const pte = walk.absentPte;
    // The hook must hear of every PTE written before the fault (this walk failed, so the core did not hand them over),
    // and of the table's entries if no shadow mirrors it yet (mirroring it reports them).
    this.drainTraceLog();
    const pde = walk.entries[0];
    if (this.root && pde && !pde.leaf) {
      try { this.leafTable(lin, pde); } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith("out of VMM memory")) throw e;
        return false;
      }
    }
    const answer = this.absentHook!.absentPte(lin, pte, { write, user, fetch });
    if (!answer) return false;
    const w = this.guestWalk(lin, write, user, fetch);
    if (w.fault === null || w.absentPte !== pte || !this.root) return false;
    // A leaf that would not allow this very access would fault again, for ever.
    if ((write && !answer.write) || (user && (!answer.user || !(w.entries[0]!.value & US)))) return false;
    this.setAccessedDirty(w, false); // the directory entry's accessed bit, as a successful walk sets it
    try {
      const table = this.leafTable(lin, w.entries[0]!);
      this.mapHookLeaf(table, lin, pte, answer);
      // The window around it: PTEs of the same guest table the hook can answer for without asking the guest again.
      const hook = this.absentHook!;
      if (hook.absentPteNear) {
        const first = (lin & ~(FAULT_AROUND_PAGES * PAGE - 1)) >>> 0; // (inside lin's 4 MiB: one guest table)
        for (let i = 0; i < FAULT_AROUND_PAGES; i++) {
          const near = (first + i * PAGE) >>> 0;
          if (near === (lin & ~0xfff) >>> 0 || this.mem.readHostU32(table.hpa + ((near >>> 12) & 0x3ff) * 4) & P) continue;
          const nearPte = this.guestRead(table.guestFrame + ((near >>> 12) & 0x3ff) * 4);
          if (nearPte & P || nearPte === 0) continue;
          const nearAnswer = hook.absentPteNear(near, nearPte);
          if (nearAnswer) this.mapHookLeaf(table, near, nearPte, nearAnswer);
        }
      }
      return true;
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("out of VMM memory")) throw e;
      this.reset();
      this.useRoot(this.vm.core.getCr(3) >>> 0);
      return false;
    }
  }

  /** Write the hook's leaf for `lin` (guest PTE `pte`) in shadow table `table`: the frame it gave, its permissions. */
  private mapHookLeaf(table: ShadowPage, lin: number, pte: number, answer: { frame: number; user: boolean; write: boolean }): void {
    const leaf = table.hpa + ((lin >>> 12) & 0x3ff) * 4;
    this.clearLeaf(leaf);
    this.mem.writeHostU32(leaf, (answer.frame | P | A | (answer.write ? RW | D : 0) | (answer.user ? US : 0)) >>> 0);
    const guestTable = this.plainFrame(table.guestFrame);
    const guestPte = guestTable >= 0 ? guestTable + ((lin >>> 12) & 0x3ff) * 4 : -1;
    this.hookLeaves.set(leaf, guestPte);
    this.syncWord(guestPte, +1);
    this.absentHook!.mapped(leaf, lin, pte, answer.write);
  }

  /** Walk the guest's tables for an access, as the hardware would (without setting A/D). */
  private guestWalk(lin: number, write: boolean, user: boolean, fetch: boolean): GuestWalk {
    const f = this.form;
    const w: GuestWalk = { fault: null, gpa: 0, rw: true, us: true, nx: false, leafRw: true, leafUs: true, leafNx: false, global: false, dirty: true, entries: [], absentPte: 0 };
    if (!f.paging) { w.gpa = ((lin >>> 0) & ~0xfff) >>> 0; return w; }
    // (CR4.SMEP and SMAP are the running vCPU's: they change which accesses the shared tables allow, not the tables.)
    const cr4 = this.vm.core.getCr(4);
    const faultCode = (present: boolean, rsvd = false) =>
      (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0) | (rsvd ? 8 : 0) | (fetch && ((f.pae && f.nxe) || (cr4 & CR4_SMEP)) ? 16 : 0);
    let leafValue = 0, leafHi = 0, pageMask = 0xfff;
    if (f.pae) {
      const pdpte = this.vm.core.getPdpte(lin >>> 30, false);
      if (!(pdpte & P)) { w.fault = faultCode(false); return w; }
      const pdeAddr = ((pdpte & ~0xfff) >>> 0) + ((lin >>> 21) & 0x1ff) * 8;
      const pde = this.guestRead(pdeAddr), pdeHi = this.guestRead(pdeAddr + 4);
      if (!(pde & P)) { w.fault = faultCode(false); return w; }
      if (this.reservedHi(pdeHi) || ((pde & PS) && (pde & 0x1fe000))) { w.fault = faultCode(true, true); return w; }
      w.rw = (pde & RW) !== 0; w.us = (pde & US) !== 0; w.nx = f.nxe && (pdeHi & 0x80000000) !== 0;
      w.entries.push({ gpa: pdeAddr, value: pde, hi: pdeHi, leaf: (pde & PS) !== 0 });
      if (pde & PS) {
        leafValue = pde; leafHi = pdeHi; pageMask = 0x1fffff;
      } else {
        const pteAddr = ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x1ff) * 8;
        const pte = this.guestRead(pteAddr), pteHi = this.guestRead(pteAddr + 4);
        if (!(pte & P)) { w.fault = faultCode(false); return w; }
        if (this.reservedHi(pteHi)) { w.fault = faultCode(true, true); return w; }
        w.rw &&= (pte & RW) !== 0; w.us &&= (pte & US) !== 0; w.nx ||= f.nxe && (pteHi & 0x80000000) !== 0;
        w.entries.push({ gpa: pteAddr, value: pte, hi: pteHi, leaf: true });
        leafValue = pte; leafHi = pteHi;
      }
    } else {
      const pdeAddr = ((this.vm.core.getCr(3) & ~0xfff) >>> 0) + (lin >>> 22) * 4;
      const pde = this.guestRead(pdeAddr);
      if (!(pde & P)) { w.fault = faultCode(false); return w; }
      w.rw = (pde & RW) !== 0; w.us = (pde & US) !== 0;
      const large = (pde & PS) !== 0 && f.pse;
      w.entries.push({ gpa: pdeAddr, value: pde, hi: 0, leaf: large });
      if (large) {
        leafValue = pde; pageMask = 0x3fffff;
      } else {
        const pteAddr = ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x3ff) * 4;
        const pte = this.guestRead(pteAddr);
        if (!(pte & P)) { w.fault = faultCode(false); w.absentPte = pte >>> 0; return w; }
        w.rw &&= (pte & RW) !== 0; w.us &&= (pte & US) !== 0;
        w.entries.push({ gpa: pteAddr, value: pte, hi: 0, leaf: true });
        leafValue = pte;
      }
    }
    // Permissions, as the hardware checks them with the guest's CR0.WP — and, a supervisor access to a user page, SMEP
    // (a fetch) and SMAP (data: at CPL 0-2 unless EFLAGS.AC, and the implicit accesses made at CPL 3; SDM Vol. 3 4.6.1).
    if ((user && !w.us) || (write && !w.rw && (user || f.wp)) || (fetch && w.nx)) { w.fault = faultCode(true); return w; }
    if (!user && w.us && cr4 & (CR4_SMEP | CR4_SMAP)) {
      const core = this.vm.core;
      if (fetch ? cr4 & CR4_SMEP : cr4 & CR4_SMAP && (core.getCpl() === 3 || !(core.getEflags() & EFLAGS_AC))) { w.fault = faultCode(true); return w; }
    }
    const frameMask = pageMask === 0xfff ? 0xfffff000 : pageMask === 0x1fffff ? 0xffe00000 : 0xffc00000;
    w.gpa = (((leafValue & frameMask) >>> 0) + ((lin & pageMask) & ~0xfff)) >>> 0;
    w.global = (leafValue & G) !== 0;
    w.dirty = (leafValue & D) !== 0;
    w.leafRw = (leafValue & RW) !== 0; w.leafUs = (leafValue & US) !== 0; w.leafNx = f.nxe && (leafHi & 0x80000000) !== 0;
    return w;
  }

  /** A PAE entry's high word sets reserved bits (bit 63 is NX, reserved unless EFER.NXE). */
  private reservedHi(hi: number, nxe = this.form.nxe): boolean {
    return (hi & (nxe ? 0x7ffffff0 : 0xfffffff0)) !== 0;
  }

  /**
   * The guest's page-table entry at `gpa`, as the core's walker reads it: RAM
   * through the map, unassigned addresses as zero (not present); a table in a
   * device's MMIO range stops the VM (the core's walker does the same).
   */
  private guestRead(gpa: number): number {
    if (this.vm.core.physKindOf(gpa) === 2) throw new WalkThroughMmio(gpa);
    try { return this.mem.readU32(gpa); } catch { return 0; }
  }

  /** Set the guest's accessed bits along a successful walk, and the leaf's dirty bit on a write (what the hardware walker would have done). */
  private setAccessedDirty(w: GuestWalk, write: boolean): void {
    for (const e of w.entries) {
      let v = e.value | A;
      if (e.leaf && write) v |= D;
      if (v !== e.value) {
        this.walkerWrite(e.gpa, v >>> 0);
        this.noteGuestWrite(e.gpa, v);
        if (e.leaf && write) w.dirty = true;
      }
    }
  }

  /**
   * Write a guest paging entry as the hardware walker would: a page the map keeps from the guest's writes
   * (a debugger's watchpoint) takes it through its host frame — accessed and dirty bits are not the
   * program's stores, and no watchpoint reports them (nor does QEMU's).
   */
  private walkerWrite(gpa: number, v: number): void {
    const e = this.mem.lookup(gpa);
    if (e.kind !== "mapped" || e.write) { this.mem.writeU32(gpa, v); return; }
    this.mem.writeHost(e.frame + (gpa & 0xfff), Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24));
  }

  /** Keep our copy of a guest table in step with a write we made ourselves (no resync needed for it). */
  private noteGuestWrite(gpa: number, v: number): void {
    for (const p of this.tracked.get((gpa & ~0xfff) >>> 0) ?? []) p.guestCopy[(gpa & 0xfff) >>> 2] = v >>> 0;
  }

  // ---- filling the shadow -------------------------------------------------------------

  /** Build the shadow path for `lin` from the guest walk `w`. */
  private fill(lin: number, w: GuestWalk): void {
    const root = this.root!;
    const f = this.form;
    let table: ShadowPage;
    let index: number;
    if (!f.paging) {
      // Passthrough: the root directory maps guest-physical = linear through split tables.
      const base = (lin >>> 22) * (4 << 20);
      table = this.child(root, lin >>> 22, "split", `off:${base}`, -1, P | RW | US, 0);
      this.prefillSplit(table, base, true, true, false, false);
      return;
    }
    if (f.pae) {
      const i = lin >>> 30;
      const pdpte = this.vm.core.getPdpte(i, false);
      const pd = this.child(root, i, "pae-pd", `pae-pd:${(pdpte & ~0xfff) >>> 0}`, (pdpte & ~0xfff) >>> 0, P, 0, 8, true);
      const pdIndex = (lin >>> 21) & 0x1ff;
      const pde = w.entries[0]!;
      if (pde.leaf) {
        const base = (pde.value & 0xffe00000) >>> 0;
        table = this.child(pd, pdIndex, "pae-split", `pae-split:${base}:${pde.value & (RW | US | D | G)}:${pde.hi >>> 31}`, -1, P | (pde.value & (RW | US)), 0, 8);
        this.prefillSplit(table, base, w.leafRw && w.dirty, w.leafUs, w.global, w.leafNx, lin);
        return;
      }
      const ptFrame = (pde.value & ~0xfff) >>> 0;
      table = this.child(pd, pdIndex, "pae-pt", `pae-pt:${ptFrame}`, ptFrame, P | (pde.value & (RW | US)), f.nxe ? pde.hi & 0x80000000 : 0, 8);
      index = (lin >>> 12) & 0x1ff;
      this.setLeaf(table, index, w, 8);
      return;
    }
    const pdIndex = lin >>> 22;
    const pde = w.entries[0]!;
    if (pde.leaf) {
      const base = (pde.value & 0xffc00000) >>> 0;
      table = this.child(root, pdIndex, "split", `split:${base}:${pde.value & (RW | US | D | G)}`, -1, P | (pde.value & (RW | US)), 0);
      this.prefillSplit(table, base, w.leafRw && w.dirty, w.leafUs, w.global, false, lin);
      return;
    }
    table = this.leafTable(lin, pde);
    index = (lin >>> 12) & 0x3ff;
    this.setLeaf(table, index, w, 4);
  }

  /** The shadow page table under the current root for `lin` (32-bit, no PAE), whose guest directory entry is `pde`. */
  private leafTable(lin: number, pde: { value: number }): ShadowPage {
    const ptFrame = (pde.value & ~0xfff) >>> 0;
    const fresh = !this.pages.has(`pt:${ptFrame}`);
    const table = this.child(this.root!, lin >>> 22, "pt", `pt:${ptFrame}`, ptFrame, P | (pde.value & (RW | US)), 0);
    // Neighbours the guest has already accessed cost no A-bit exactness: fill them too (as KVM's prefetch).
    if (fresh) this.prefetch(table);
    return table;
  }

  /**
   * The child table under entry `index` of `parent`, created (and linked) if
   * missing; the parent entry gets `bits` (its hi word `hi` in PAE format).
   */
  private child(parent: ShadowPage, index: number, kind: Kind, key: string, guestFrame: number, bits: number, hi: number, size = 4, pdpt = false): ShadowPage {
    const entryAddr = parent.hpa + index * (parent.kind === "pdpt" ? 8 : size);
    const existing = parent.children.get(index);
    if (existing && existing.key === key) {
      const cur = this.mem.readHostU32(entryAddr);
      if ((cur & ~0xfff) >>> 0 === existing.hpa && (cur & 0xfff) === (pdpt ? P : bits)) return existing;
    }
    if (existing) this.unlink(parent, index);
    const c = this.pages.get(key) ?? this.page(kind, key, guestFrame);
    this.mem.writeHostU32(entryAddr, (c.hpa | (pdpt ? P : bits)) >>> 0);
    if (size === 8) this.mem.writeHostU32(entryAddr + 4, hi >>> 0);
    c.parents.add(entryAddr);
    parent.children.set(index, c);
    return c;
  }

  /** A new, empty shadow page mirroring `guestFrame` (write-protected from now on). */
  private page(kind: Kind, key: string, guestFrame: number): ShadowPage {
    const hpa = this.mem.allocFrame();
    const p: ShadowPage = { hpa, kind, key, guestFrame, guestCopy: new Uint32Array(1024), parents: new Set(), children: new Map(), flood: 0 };
    if (guestFrame >= 0) {
      const words = this.mem.pageWords(guestFrame);
      if (words) p.guestCopy.set(words);
      this.track(guestFrame, p);
      // The hook must count these entries as written now: the guest may have written them while no shadow mirrored the table.
      if (kind === "pt" && this.absentHook) for (const g of p.guestCopy) if (g !== 0 && !(g & P)) this.absentHook.absentPteWritten(g);
    }
    this.pages.set(key, p);
    this.byHost.set(hpa, p);
    return p;
  }

  /** The shadow leaf for guest page `w.gpa` at `index` of a shadow page table. */
  private setLeaf(table: ShadowPage, index: number, w: GuestWalk, size: number): void {
    // Read-only until the guest's dirty bit is set, so the first store sets it (and the shadow says the leaf's own bits:
    // the directory entry above it mirrors the guest's, and the hardware combines them).
    this.writeLeaf(table.hpa + index * size, w.gpa, w.leafRw && w.dirty, w.leafUs, w.global, w.leafNx, size);
  }

  private writeLeaf(addr: number, gpa: number, writable: boolean, user: boolean, global: boolean, nx: boolean, size: number): void {
    this.clearLeaf(addr);
    const frame = this.plainFrame(gpa);
    const plain = frame >= 0;
    let v = (plain ? frame : gpa) | P | A | (plain ? 0 : SHADOW_GPA);
    const watch = this.watched.get(gpa);
    // Watched: read-only, every store the guest's entry allows logged (or a watch fault when it cannot be).
    if (watch !== undefined) v |= watch >= 0 && writable ? SHADOW_TRACE : 0;
    else if (writable && !this.tracked.has(gpa)) v |= RW | D;
    else if (writable && plain && this.useTraceLog) v |= SHADOW_TRACE;
    if (this.byHost.get(addr & ~0xfff)?.kind.endsWith("split")) v |= SHADOW_SPLIT;
    if (user) v |= US;
    if (global) v |= G;
    this.mem.writeHostU32(addr, v >>> 0);
    if (size === 8) this.mem.writeHostU32(addr + 4, nx ? 0x80000000 : 0);
    let set = this.rmap.get(gpa);
    if (!set) { set = new Set(); this.rmap.set(gpa, set); }
    set.add(addr);
    this.leafOwner.set(addr, gpa);
  }

  /**
   * The host frame behind guest page `gpa` when it is plain RAM (mapped read-write-execute, nothing the core must
   * see through the guest-physical map), else -1: only such a leaf holds a host frame, and only it can carry SHADOW_TRACE.
   */
  private plainFrame(gpa: number): number {
    const e = this.mem.lookup(gpa);
    return e.kind === "mapped" && e.read && e.write && e.exec && this.vm.core.physKindOf(gpa) === 0 ? e.frame : -1;
  }

  /** Forget the leaf at `addr` (its rmap entry and the TLB entries through it). */
  private clearLeaf(addr: number): void {
    const old = this.mem.readHostU32(addr);
    if (!(old & P)) return;
    const gpa = this.leafOwner.get(addr);
    if (gpa !== undefined) { this.rmap.get(gpa)?.delete(addr); this.leafOwner.delete(addr); }
    this.mem.writeHostU32(addr, 0);
    this.noteLeafChanged(addr);
    const guestPte = this.hookLeaves.get(addr);
    if (guestPte !== undefined) {
      this.hookLeaves.delete(addr);
      this.syncWord(guestPte, -1);
      this.absentHook?.dropped(addr);
    }
  }

  /** A large guest page split into 4 KiB shadow leaves, all filled at once (one guest entry: A/D are exact). */
  private prefillSplit(table: ShadowPage, base: number, writable: boolean, user: boolean, global: boolean, nx: boolean, lin?: number): void {
    const size = table.kind === "pae-split" ? 8 : 4;
    const n = size === 8 ? 512 : 1024;
    for (let i = 0; i < n; i++) {
      const addr = table.hpa + i * size;
      if (this.mem.readHostU32(addr) & P) continue;
      this.writeLeaf(addr, (base + i * PAGE) >>> 0, writable, user, global, nx, size);
    }
    // The faulting page's leaf may predate the guest's dirty bit.
    if (lin !== undefined) {
      const i = (lin >>> 12) & (n - 1);
      this.writeLeaf(table.hpa + i * size, (base + i * PAGE) >>> 0, writable, user, global, nx, size);
    }
  }

  /** Fill the leaves whose guest entries are present and already accessed (their A bits need no setting). */
  private prefetch(table: ShadowPage): void {
    for (let i = 0; i < 1024; i++) {
      const g = table.guestCopy[i]!;
      if ((g & (P | A)) !== (P | A)) continue;
      const addr = table.hpa + i * 4;
      if (this.mem.readHostU32(addr) & P) continue;
      this.writeLeaf(addr, (g & ~0xfff) >>> 0, (g & RW) !== 0 && (g & D) !== 0, (g & US) !== 0, (g & G) !== 0, false, 4);
    }
  }

  // ---- write protection and trace faults ---------------------------------------------------

  private track(frame: number, p: ShadowPage): void {
    let set = this.tracked.get(frame);
    if (set) { set.add(p); return; }
    this.tracked.set(frame, set = new Set([p]));
    const e = this.mem.lookup(frame);
    if (e.kind === "mapped") this.trackedHost.set(e.frame, frame);
    this.counters.tracedTables++;
    // A guest page-table page from now on: every writable shadow leaf mapping it becomes read-only, its stores traced.
    for (const addr of this.rmap.get(frame) ?? []) {
      const v = this.mem.readHostU32(addr);
      if (v & RW) {
        this.mem.writeHostU32(addr, ((v & ~RW) | (v & SHADOW_GPA || !this.useTraceLog ? 0 : SHADOW_TRACE)) >>> 0);
        this.noteLeafChanged(addr);
      }
    }
  }

  private untrack(frame: number, p: ShadowPage): void {
    const set = this.tracked.get(frame);
    if (!set) return;
    set.delete(p);
    if (set.size > 0) return;
    this.tracked.delete(frame);
    for (const [h, g] of this.trackedHost) if (g === frame) this.trackedHost.delete(h);
    // Leaves read-only for tracking: writable again (with the guest's permission, which SHADOW_TRACE stood for).
    for (const addr of this.rmap.get(frame) ?? []) {
      const v = this.mem.readHostU32(addr);
      if (v & SHADOW_TRACE) { this.mem.writeHostU32(addr, ((v & ~SHADOW_TRACE) | RW | D) >>> 0); this.noteLeafChanged(addr); }
    }
  }

  /** The shadow leaf that maps `lin` under the current root, or null. */
  private shadowLeafAddr(lin: number): number | null {
    const root = this.root;
    if (!root) return null;
    if (root.kind === "pdpt") {
      const pd = root.children.get(lin >>> 30);
      const pt = pd?.children.get((lin >>> 21) & 0x1ff);
      return pt ? pt.hpa + ((lin >>> 12) & 0x1ff) * 8 : null;
    }
    const pt = root.children.get(lin >>> 22);
    return pt ? pt.hpa + ((lin >>> 12) & 0x3ff) * 4 : null;
  }

  /**
   * Let the store at `lin` through for exactly one instruction: the shadow
   * path to it is made writable, the monitor trap flag set, and at its exit
   * everything is write-protected again and a guest table the store may have
   * changed is resynchronized (endTrace).
   */
  private letThrough(lin: number, leaf: number, frame: number): ExitAction {
    if (this.tracked.has(frame)) this.tracedFrames.add(frame);
    if (this.watched.has(frame)) this.watchedStores.add(frame);
    for (const addr of [this.shadowDirAddr(lin), leaf]) {
      if (addr === null) continue;
      const v = this.mem.readHostU32(addr);
      if (v & RW) continue;
      this.traced.push({ addr, value: v, leaf: addr === leaf });
      this.mem.writeHostU32(addr, (v | RW) >>> 0);
      this.noteTracedChange(addr === leaf, addr);
    }
    this.vm.requestMonitorTrap(MTF_OWNER, true);
    return "resume";
  }

  /** The traced instruction of vCPU `vcpu` retired (or will run again): write-protect again and drop what its table change made stale. */
  private endTrace(vcpu = this.vm.vcpu.index): void {
    this.vm.requestMonitorTrap(MTF_OWNER, false, vcpu);
    for (const t of this.traced) {
      const cur = this.mem.readHostU32(t.addr);
      if ((cur & ~0xfff) >>> 0 === (t.value & ~0xfff) >>> 0 && (cur & P)) this.mem.writeHostU32(t.addr, (cur & ~RW) >>> 0);
      this.noteTracedChange(t.leaf, t.addr);
    }
    this.traced = [];
    const frames = [...this.tracedFrames];
    this.tracedFrames.clear();
    for (const f of frames) this.resync(f);
    const watched = [...this.watchedStores];
    this.watchedStores.clear();
    for (const f of watched) this.absentHook?.frameWritten(f, null);
  }

  /**
   * A leaf opened or closed for one store changes only the translations through it (its linear pages); a directory
   * entry, every page under it — and the TLB holds combined rights, so then everything goes.
   */
  private noteTracedChange(leaf: boolean, addr: number): void {
    if (leaf) this.noteLeafChanged(addr); else this.noteFlushAll();
  }

  /** The shadow directory entry above `lin`'s leaf under the current root (a 32-bit or PAE PDE), or null. */
  private shadowDirAddr(lin: number): number | null {
    const root = this.root;
    if (!root) return null;
    if (root.kind === "pdpt") {
      const pd = root.children.get(lin >>> 30);
      return pd ? pd.hpa + ((lin >>> 21) & 0x1ff) * 8 : null;
    }
    return root.hpa + (lin >>> 22) * 4;
  }

  /** The core logged stores into guest page tables (host addresses of 16-byte lines): bring those entries' shadows up to date. */
  private traceLog(count: number): void {
    this.counters.traceExits++;
    const base = this.vm.core.traceLogBase();
    const lines: number[] = [];
    for (let i = 0; i < count; i++) lines.push(this.vm.readCoreU32(base + i * 4));
    this.vm.core.clearTraceLog();
    let watched: Map<number, number[]> | null = null;
    for (const h of lines) {
      const g = this.trackedHost.get(h & ~0xfff);
      if (g !== undefined) this.resync(g, (h & 0xfff) >>> 2, 4);
      const w = this.watchedHost.get(h & ~0xfff);
      if (w === undefined) continue;
      watched ??= new Map();
      const at = watched.get(w);
      if (at) at.push(h & 0xfff); else watched.set(w, [h & 0xfff]);
    }
    if (watched) for (const [w, at] of watched) this.absentHook?.frameWritten(w, at);
  }

  /**
   * Guest table `frame` was written (its words first…first+count-1, or all):
   * every shadow entry mirroring an entry that changed is brought up to date — a leaf refilled when the guest's new
   * entry needs no accessed bit set (present and accessed), else dropped to
   * be filled at its first use; a directory entry unlinked.
   */
  private resync(frame: number, first = 0, count = 1024): void {
    const set = this.tracked.get(frame);
    if (!set) return;
    // (The page's words read in place: a view made per call cost more than the few words an exit looks at.
    // A frame that is no readable RAM reads as zeros.)
    const at = this.mem.pageWordIndex(frame);
    const words = at < 0 ? NO_WORDS : this.mem.words(), base = at < 0 ? 0 : at;
    // (The tables' form, not the running vCPU's: it may have paging off.)
    const nxe = this.tableForm?.nxe ?? false;
    // (A page the loop frees leaves the set and is not visited: Set iteration allows deletion.)
    for (const p of set) {
      if (!this.pages.has(p.key)) continue;
      const wide = p.kind === "pae-pd" || p.kind === "pae-pt";
      let changed = 0;
      for (let i = first; i < first + count; i++) {
        const g = words[base + i]!;
        if (g === p.guestCopy[i]) continue;
        p.guestCopy[i] = g;
        changed++;
        if (p.kind === "pt" && g !== 0 && !(g & P)) this.absentHook?.absentPteWritten(g);
        const index = wide ? i >>> 1 : i;
        const child = p.children.get(index);
        if (child) { this.unlink(p, index); continue; }
        const addr = p.hpa + index * (wide ? 8 : 4);
        const lo = wide ? words[base + index * 2]! : g, hi = wide ? words[base + index * 2 + 1]! : 0;
        if ((p.kind === "pt" || p.kind === "pae-pt") && (lo & (P | A)) === (P | A) && !(wide && this.reservedHi(hi, nxe))) {
          this.writeLeaf(addr, (lo & ~0xfff) >>> 0, (lo & RW) !== 0 && (lo & D) !== 0, (lo & US) !== 0, (lo & G) !== 0, wide && nxe && (hi & 0x80000000) !== 0, wide ? 8 : 4);
          this.counters.traceUpdates++;
        } else this.clearLeaf(addr);
      }
      if (changed > 0) this.noteRootFlood(p, changed);
    }
  }

  /**
   * A cached root whose directory the guest rewrites while it is not in use is most likely no directory any more:
   * the process exited, its page was freed and now holds data the kernel writes (KVM's "write flooding"). Tracing
   * it would send every store to that data through the slow path and the trace log until 64 newer roots pushed it
   * out of the cache, so it goes now; if the address space does come back, its root is built again.
   */
  private noteRootFlood(p: ShadowPage, changed: number): void {
    if (this.inUse(p) || p.kind !== "pd" || this.roots.get(p.key) !== p) return;
    p.flood += changed;
    if (p.flood < ROOT_FLOOD_LIMIT) return;
    this.counters.floodedRoots++;
    this.free(p);
    this.publishTargets();
  }

  /** Remove the link from entry `index` of `parent` to its child; free the child when nothing points to it. */
  private unlink(parent: ShadowPage, index: number): void {
    const c = parent.children.get(index);
    if (!c) return;
    const addr = parent.hpa + index * (parent.kind === "pdpt" || parent.kind === "pae-pd" ? 8 : 4);
    this.mem.writeHostU32(addr, 0);
    parent.children.delete(index);
    c.parents.delete(addr);
    this.noteFlushAll();
    if (c.parents.size === 0) this.free(c);
  }

  private free(p: ShadowPage): void {
    for (const idx of [...p.children.keys()]) this.unlink(p, idx);
    const size = p.kind.startsWith("pae") ? 8 : 4;
    for (let a = p.hpa; a < p.hpa + PAGE; a += size) this.clearLeaf(a);
    this.pages.delete(p.key);
    this.byHost.delete(p.hpa);
    for (const [k, r] of this.roots) if (r === p) this.roots.delete(k);
    if (p.guestFrame >= 0) this.untrack(p.guestFrame, p);
    this.mem.freeFrame(p.hpa);
  }

  /** The guest-physical map changed for page `gpa`: drop the shadow leaves that mapped it. */
  private dropLeavesOf(gpa: number): void {
    for (const addr of [...(this.rmap.get(gpa) ?? [])]) this.clearLeaf(addr);
  }
}
