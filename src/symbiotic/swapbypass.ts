/**
 * SwapBypass (seed 000, §5; Palacios' `mmu/vmm_shdw_pg_swapbypass.c`): a mode
 * of the shadow pager in which a guest that swaps to a {@link SwapDisk} reads
 * its swapped-out pages straight from the VMM's copy, without a page fault or
 * a swap-in.
 *
 * On a fault whose guest PTE is a Linux swap entry (decoded by
 * {@link linuxSwapEntry}) for a slot the disk holds, the VMM asks the guest by
 * SymCall MEM_LOOKUP (Palacios' query_vaddr) whether the address is mapped in
 * the interrupted task and with which rights; if it may be read, the shadow PTE
 * points at the disk's frame for that slot. Otherwise (or when the call fails,
 * or the guest cannot take one) the guest gets its own #PF, as without SwapBypass.
 *
 * **Writable only while the slot is the page's only copy.** A store through a
 * bypass mapping changes the swap slot behind the guest's back, which is right
 * only when the slot is exactly one PTE's page: after fork two processes share
 * the swap entry (a store by one must not be seen by the other: copy-on-write),
 * and the guest's swap cache may hold the page too (just written out and not
 * yet reclaimed, or read ahead) and would be used instead of the slot at the
 * next swap-in — the store lost. Linux keeps both facts in the slot's swap_map
 * byte (use count, SWAP_HAS_CACHE); SymCall SWAP_MAP gives the byte's
 * guest-physical address (once per page of swap_map), the VMM reads it, and a
 * mapping is writable when the guest's VMA is and the byte is 1 (one user, no
 * swap-cache page). While such a mapping lives the VMM watches that page of
 * swap_map (the shadow pager reports each store into it: ShadowPaging.watchFrame,
 * one into the word holding the slot's byte before the guest's next instruction:
 * syncWatchedWord — stores into the rest wait in the log, so the guest's own
 * swap-outs next to it cost no exit each): a fork's swap_duplicate or a swap-in's swapcache_prepare changes the
 * byte, and the mapping is made read-only before the guest's next instruction
 * (the stores made before are the page's contents, which the child or the
 * swap-cache copy then reads from the slot). Otherwise — a read-only VMA, a
 * shared or cached slot, a module without SWAP_MAP — the mapping is read-only
 * and a store faults into the guest, which swaps the page in as usual.
 *
 * **Only slots newer than the PTE.** The slot is not always what the guest
 * would read back either: a page swapped in from the swap cache without I/O,
 * written, and unmapped again gets the same swap entry back (its PTE says the
 * slot) while the newer data waits in the guest's swap cache to be written
 * out. Linux writes a page out after it has unmapped it, so a slot is mapped
 * only when the guest wrote it after it last wrote that swap PTE (the shadow
 * pager reports every not-present PTE the guest writes into a table it
 * mirrors); a swap PTE the VMM did not see written is left to the guest.
 *
 * **Coherence.** Every mapping of a slot is dropped before the guest reads the
 * slot back (its swap-in, readahead, swapoff), writes a new page into it (slot
 * reuse), or changes the PTE (the shadow pager's trace log resynchronizes the
 * entry and the leaf goes with it); reformatting the disk or a new `swapon`
 * (the header is written or read) drops them all.
 *
 * **Better than Palacios' flush of every mapping at every CR3 switch.** A bypass
 * leaf lives in the shadow page table that mirrors the guest page table holding
 * the swap PTE; that table belongs to one address space (i386 Linux shares no
 * user page tables) and a switch to another CR3 neither changes the PTE nor the
 * slot, so the mapping stays right across switches and is dropped only by the
 * events above — and by `mprotect`, which leaves swap PTEs as they are (Linux
 * changes the VMA and the present PTEs): symbiotic.ko reports each range whose
 * protection changes (Notify.PROTECTION_CHANGED, from change_protection(), with
 * the VMA's new flags already set) and every mapping of a linear address in it
 * is dropped; the next access asks the guest again. (A module without that
 * notice leaves a mapping its old rights until the PTE or the slot changes.)
 *
 * **Which swap type is the disk's.** A swap entry names its area by type (the
 * index of `swapon` order), which the VMM cannot see; Palacios patched the guest
 * to put it in the header. Here it is learned: a swap-PTE fault for (type T,
 * slot S) that the guest then serves by reading slot S from this disk is
 * evidence that T is the disk's; two such confirm it. Until then — and for a
 * guest swapping to another device — nothing is bypassed and nothing is called.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { ShadowPaging, AbsentPteHook } from "../vmm/paging/shadow.js";
import type { SwapDisk } from "./swap-disk.js";
import { SymcallNr, LookupPerm, Notify } from "./abi.js";
import type { State } from "../vmm/snapshot.js";

/** -ENOSYS: a module without SYMCALL_SWAP_MAP (then no mapping is ever writable). */
const ENOSYS = -38;
/** swap_map bytes in a page of it (one per slot). */
const SLOTS_PER_MAP_PAGE = 4096;
/** A swap_map byte's flag: the slot's page is in the swap cache (include/linux/swap.h); the rest is the use count. */
const SWAP_HAS_CACHE = 0x40;

/** Swap areas Debian's i386 6.1 kernel can have: 2^5 types less the special entries (migration 3, hwpoison 1, swapin error 1). */
export const LINUX_MAX_SWAPFILES = 27;

/**
 * A 32-bit non-PAE Linux 6.1 PTE as a swap entry (arch/x86/include/asm/pgtable-2level.h:
 * `__swp_type` = bits 1-5, `__swp_offset` = bits 9-31; is_swap_pte = not none and not
 * present, where present means _PAGE_PRESENT or _PAGE_PROTNONE, bit 8), or null.
 */
export function linuxSwapEntry(pte: number): { type: number; offset: number } | null {
  if (pte === 0 || (pte & 0x101) !== 0) return null;
  const type = (pte >>> 1) & 31;
  return type < LINUX_MAX_SWAPFILES ? { type, offset: pte >>> 9 } : null;
}

/** Confirmations (a fault on type T then a read of that slot from the disk) that bind a swap type to the disk. */
const BIND_EVIDENCE = 2;
/** Unconfirmed faults remembered for learning the type. */
const PENDING_MAX = 256;

type DropCause = "swapIn" | "slotWrite" | "slotFreed" | "header" | "guestPte" | "protection";

export class SwapBypass implements AbsentPteHook {
  /** The guest's swap type for the disk, once learned (-1 before). */
  private swapType = -1;
  private readonly evidence = new Map<number, number>();
  /** Recent swap-PTE faults not yet bypassable: slot → types seen. */
  private readonly pending = new Map<number, Set<number>>();
  private readonly slotLeaves = new Map<number, Set<number>>();
  private readonly leafSlot = new Map<number, number>();
  /** Per slot: when (an event count) the guest last wrote it, and last wrote a swap PTE naming it (0: not seen). */
  private readonly slotWritten: Float64Array;
  private readonly pteWritten: Float64Array;
  private events = 0;
  /** Why the leaves being dropped now go (a drop the pager starts on its own is the guest's PTE change). */
  private cause: DropCause = "guestPte";
  /** The guest-physical page of swap_map holding slots k·4096… (by k), as SWAP_MAP answered; cleared with the type. */
  private readonly swapMapPages = new Map<number, number>();
  /** The module cannot answer SWAP_MAP. */
  private swapMapUnavailable = false;
  /**
   * Writable leaves by the swap_map page whose byte keeps them writable (a watched frame), with the page's bytes
   * as last seen (a store is found by comparing, not by rereading every writable slot's byte); and the other way round.
   */
  private readonly writableByMapPage = new Map<number, { leaves: Set<number>; seen: Uint32Array }>();
  /** (word: the guest-physical word of swap_map holding the slot's byte.) */
  private readonly writableLeaf = new Map<number, { page: number; slotBase: number; word: number }>();
  private readonly counters = {
    writable: 0, madeReadOnly: 0, swapMapCalls: 0,
    swapFaults: 0, bypassed: 0, mappedAround: 0, declinedWrites: 0, notHeld: 0, olderThanPte: 0, symcalls: 0, symcallErrors: 0, illegal: 0, unavailable: 0,
    symcallInstructions: 0, symcallMs: 0,
    droppedReset: 0,
  };
  private readonly droppedBy: Record<DropCause, number> = { swapIn: 0, slotWrite: 0, slotFreed: 0, header: 0, guestPte: 0, protection: 0 };
  /** The linear address each bypass leaf maps (in whichever address space its table belongs to). */
  private readonly leafLin = new Map<number, number>();
  private attached = true;
  /** What the MEM_LOOKUP of the fault being mapped said (its mapping's bounds and permissions), for absentPteNear. */
  private lookup: { start: number; end: number; perms: number } | null = null;
  /** The pager is mapping what absentPteNear answered (mapped() counts it as mapped around, not as a fault). */
  private around = false;

  constructor(private readonly vm: Vm, private readonly shadow: ShadowPaging, readonly disk: SwapDisk) {
    this.slotWritten = new Float64Array(disk.pages);
    this.pteWritten = new Float64Array(disk.pages);
    disk.onSlots((kind, first, count) => this.slotsTouched(kind, first, count));
    shadow.setAbsentPteHook(this);
    vm.onHypercall(Notify.PROTECTION_CHANGED, () => {
      if (this.attached) this.protectionChanged(this.vm.reg(3) >>> 0, this.vm.reg(1) >>> 0); // EBX, ECX
      this.vm.setReg(0, 0);
    });
  }

  /** The swap type learned for the disk, or -1. */
  get type(): number { return this.swapType; }
  /** Bypass mappings now in the shadow tables. */
  get live(): number { return this.leafSlot.size; }

  // ---- the pager's questions ---------------------------------------------------------

  absentPte(lin: number, pte: number, access: { write: boolean; user: boolean; fetch: boolean }): { frame: number; user: boolean; write: boolean } | null {
    this.lookup = null;
    this.around = false;
    const e = linuxSwapEntry(pte);
    if (!e) return null;
    this.counters.swapFaults++;
    const refused = this.slotRefusal(e);
    if (refused) {
      if (refused === "type") this.remember(e.offset, e.type); else this.counters[refused]++;
      return null;
    }
    const sym = this.vm.symbiotic;
    if (!sym?.available) { this.counters.unavailable++; return null; }
    const t0 = performance.now();
    // (On the faulting vCPU: the guest answers for the process its CPU runs — `current` — and that is whose PTE this is.)
    const r = sym.callOn(this.vm.vcpu.index, SymcallNr.MEM_LOOKUP, lin, pte, 0, 0);
    this.counters.symcallMs += performance.now() - t0;
    this.counters.symcalls++;
    this.counters.symcallInstructions += r.instructions;
    if (!r.ok) { this.counters.symcallErrors++; return null; }
    const [vaddr, nowPte, perms, start, end] = r.regs;
    const legal = vaddr !== 0 && nowPte === pte && (perms & LookupPerm.READ) !== 0 && (!access.fetch || (perms & LookupPerm.EXEC) !== 0);
    if (!legal) { this.counters.illegal++; return null; }
    const write = (perms & LookupPerm.WRITE) !== 0 && this.slotExclusive(e.offset);
    if (access.write && !write) { this.counters.declinedWrites++; return null; }
    this.lookup = { start: start! >>> 0, end: end! >>> 0, perms: perms! };
    return { frame: this.disk.frameOf(e.offset), user: (perms & LookupPerm.USER) !== 0, write };
  }

  /**
   * A not-present PTE beside the fault absentPte just answered (the pager's fault-around): mapped as that fault was
   * when it lies in the same mapping (the guest's answer names the mapping's bounds and permissions, and the guest
   * has not run since) and its slot passes the same tests; no SymCall.
   */
  absentPteNear(lin: number, pte: number): { frame: number; user: boolean; write: boolean } | null {
    const at = this.lookup;
    if (!at || lin < at.start || lin >= at.end) return null;
    const e = linuxSwapEntry(pte);
    if (!e || this.slotRefusal(e)) return null;
    this.around = true;
    return { frame: this.disk.frameOf(e.offset), user: (at.perms & LookupPerm.USER) !== 0, write: (at.perms & LookupPerm.WRITE) !== 0 && this.slotExclusive(e.offset) };
  }

  /**
   * Why a swap entry's slot may not be mapped (null: it may): not the disk's swap type, not held by the disk, or
   * not written since the guest last wrote a PTE naming it (its swap cache may hold newer data).
   */
  private slotRefusal(e: { type: number; offset: number }): "type" | "notHeld" | "olderThanPte" | null {
    if (e.type !== this.swapType) return "type";
    if (!this.disk.holds(e.offset)) return "notHeld";
    if (!(this.pteWritten[e.offset]! > 0 && this.slotWritten[e.offset]! > this.pteWritten[e.offset]!)) return "olderThanPte";
    return null;
  }

  /** The slot's swap_map byte is 1: one PTE uses it and no swap-cache page stands for it (false when unknown). */
  private slotExclusive(slot: number): boolean {
    const page = this.swapMapPage(slot);
    return page >= 0 && this.vm.memory.readU8(page + (slot % SLOTS_PER_MAP_PAGE)) === 1;
  }

  /** The guest-physical page of swap_map holding `slot`'s byte (asked once per page by SymCall SWAP_MAP), or -1. */
  private swapMapPage(slot: number): number {
    const k = Math.floor(slot / SLOTS_PER_MAP_PAGE);
    const known = this.swapMapPages.get(k);
    if (known !== undefined) return known;
    const sym = this.vm.symbiotic;
    if (this.swapMapUnavailable || !sym?.available) return -1;
    this.counters.swapMapCalls++;
    const r = sym.callOn(this.vm.vcpu.index, SymcallNr.SWAP_MAP, this.swapType, slot, 0, 0); // (the running vCPU: no switch)
    if (!r.ok) {
      if (r.reason === "guest-error" && r.code === ENOSYS) this.swapMapUnavailable = true;
      return -1;
    }
    const gpa = r.regs[0] >>> 0;
    // swap_map is vmalloc'ed, so page-aligned: a byte elsewhere in its page is an answer not understood.
    if (gpa === 0 || (gpa & 0xfff) !== slot % SLOTS_PER_MAP_PAGE) return -1;
    this.swapMapPages.set(k, gpa - (gpa & 0xfff));
    return gpa - (gpa & 0xfff);
  }

  /**
   * A store went into a page of swap_map the VMM watches (within the 16-byte lines at `lines`, or anywhere):
   * writable mappings whose slot is no longer exclusive become read-only, and those of a slot no PTE uses any more
   * (its count 0: the byte 0, or SWAP_HAS_CACHE alone, which __swap_entry_free_locked leaves until the slot is
   * freed) go — zap_pte_range frees the slot before it clears the PTE, so the PTE's store that follows no longer
   * needs the VMM at once.
   */
  frameWritten(gpa: number, lines: number[] | null): void {
    const w = this.writableByMapPage.get(gpa);
    if (!w) return;
    const m = this.vm.memory, seen = w.seen;
    const firstSlot = this.writableLeaf.get(w.leaves.values().next().value!)!.slotBase;
    const freed: number[] = [];
    // Word by word, as the guest's bytes are read in its frame; only the bytes that changed are looked at.
    const word = (i: number): void => {
      const now = m.readU32(gpa + i * 4), was = seen[i]!;
      if (now === was) return;
      seen[i] = now;
      for (let k = 0; k < 4; k++) {
        const byte = (now >>> (k * 8)) & 0xff;
        if (byte === ((was >>> (k * 8)) & 0xff) || byte === 1) continue;
        const leaves = this.slotLeaves.get(firstSlot + i * 4 + k);
        if (!leaves) continue;
        if ((byte & ~SWAP_HAS_CACHE) === 0) { freed.push(...leaves); continue; }
        for (const leaf of [...leaves]) {
          if (!this.writableLeaf.has(leaf)) continue;
          this.forgetWritable(leaf);
          this.shadow.protectHookLeaf(leaf);
          this.counters.madeReadOnly++;
        }
      }
    };
    if (lines) for (const at of lines) for (let i = at >>> 2; i < (at >>> 2) + 4; i++) word(i);
    else for (let i = 0; i < 1024; i++) word(i);
    this.drop(freed, "slotFreed");
  }

  private forgetWritable(leaf: number): void {
    const at = this.writableLeaf.get(leaf);
    if (at === undefined) return;
    this.writableLeaf.delete(leaf);
    this.shadow.syncWatchedWord(at.word, false);
    const w = this.writableByMapPage.get(at.page)!;
    w.leaves.delete(leaf);
    if (w.leaves.size === 0) { this.writableByMapPage.delete(at.page); this.shadow.watchFrame(at.page, false); }
  }

  absentPteWritten(pte: number): void {
    const e = linuxSwapEntry(pte);
    if (e && e.offset < this.pteWritten.length) this.pteWritten[e.offset] = ++this.events;
  }

  mapped(leaf: number, lin: number, pte: number, write: boolean): void {
    const slot = pte >>> 9;
    this.leafLin.set(leaf, lin >>> 0);
    let set = this.slotLeaves.get(slot);
    if (!set) this.slotLeaves.set(slot, set = new Set());
    set.add(leaf);
    this.leafSlot.set(leaf, slot);
    if (this.around) { this.around = false; this.counters.mappedAround++; } else this.counters.bypassed++;
    if (!write) return;
    // Watched from now on: the byte that made it writable (read just now, no guest instruction since) must stay 1.
    const page = this.swapMapPage(slot);
    let w = this.writableByMapPage.get(page);
    if (!w) {
      this.writableByMapPage.set(page, w = { leaves: new Set(), seen: new Uint32Array(this.vm.memory.read(page, 4096).buffer) });
      this.shadow.watchFrame(page, true);
    }
    w.leaves.add(leaf);
    const word = page + ((slot % SLOTS_PER_MAP_PAGE) & ~3);
    this.writableLeaf.set(leaf, { page, slotBase: slot - (slot % SLOTS_PER_MAP_PAGE), word });
    this.shadow.syncWatchedWord(word, true);
    this.counters.writable++;
  }

  dropped(leaf: number): void {
    const slot = this.leafSlot.get(leaf);
    if (slot === undefined) return;
    this.forgetWritable(leaf);
    this.leafSlot.delete(leaf);
    this.leafLin.delete(leaf);
    const set = this.slotLeaves.get(slot)!;
    set.delete(leaf);
    if (set.size === 0) this.slotLeaves.delete(slot);
    this.droppedBy[this.cause]++;
  }

  reset(): void {
    this.counters.droppedReset += this.leafSlot.size;
    for (const { word } of this.writableLeaf.values()) this.shadow.syncWatchedWord(word, false);
    for (const page of this.writableByMapPage.keys()) this.shadow.watchFrame(page, false);
    this.writableByMapPage.clear();
    this.writableLeaf.clear();
    this.slotLeaves.clear();
    this.leafSlot.clear();
    this.leafLin.clear();
  }

  // ---- snapshots (src/vmm/snapshot.ts) --------------------------------------------------

  /**
   * What SwapBypass has learned, for a machine snapshot: the swap type and the evidence towards it, when each slot
   * and each swap PTE naming it was last written, swap_map's pages, the counters. Not its mappings: a restored shadow
   * pager starts over from the guest's tables (and drops them through reset()), and the next access asks again.
   */
  save(): State {
    return {
      swapType: this.swapType, events: this.events, swapMapUnavailable: this.swapMapUnavailable,
      evidence: [...this.evidence], pending: [...this.pending].map(([slot, types]) => [slot, ...types]),
      swapMapPages: [...this.swapMapPages], slotWritten: this.slotWritten.slice(), pteWritten: this.pteWritten.slice(),
      counters: { ...this.counters }, droppedBy: { ...this.droppedBy },
    };
  }

  restore(state: State): void {
    this.swapType = state.swapType as number;
    this.events = state.events as number;
    this.swapMapUnavailable = state.swapMapUnavailable as boolean;
    this.evidence.clear();
    for (const [type, n] of state.evidence as number[][]) this.evidence.set(type!, n!);
    this.pending.clear();
    for (const [slot, ...types] of state.pending as number[][]) this.pending.set(slot!, new Set(types));
    this.swapMapPages.clear();
    for (const [k, gpa] of state.swapMapPages as number[][]) this.swapMapPages.set(k!, gpa!);
    this.slotWritten.set(state.slotWritten as Float64Array);
    this.pteWritten.set(state.pteWritten as Float64Array);
    Object.assign(this.counters, state.counters);
    Object.assign(this.droppedBy, state.droppedBy);
    this.lookup = null;
  }

  stats(): Record<string, number> {
    const c = this.counters, d = this.droppedBy;
    return {
      bypassSwapType: this.swapType, bypassFaults: c.bypassed, bypassMappedAround: c.mappedAround, bypassLive: this.live,
      bypassWritable: c.writable, bypassWritableLive: this.writableLeaf.size, bypassMadeReadOnly: c.madeReadOnly, bypassSwapMapCalls: c.swapMapCalls,
      // A mapping the guest never read back through its own swap-in saved one.
      bypassSwapInsAvoided: c.bypassed + c.mappedAround - d.swapIn,
      bypassDroppedSwapIn: d.swapIn, bypassDroppedSlotWrite: d.slotWrite, bypassDroppedSlotFreed: d.slotFreed, bypassDroppedPte: d.guestPte,
      bypassDroppedHeader: d.header, bypassDroppedProtection: d.protection, bypassDroppedReset: c.droppedReset,
      bypassSwapPteFaults: c.swapFaults, bypassDeclinedWrites: c.declinedWrites, bypassNotHeld: c.notHeld, bypassOlderThanPte: c.olderThanPte,
      bypassSymcalls: c.symcalls, bypassSymcallErrors: c.symcallErrors, bypassIllegal: c.illegal, bypassUnavailable: c.unavailable,
      bypassSymcallInstructions: c.symcallInstructions, bypassSymcallUs: Math.round(c.symcallMs * 1000),
    };
  }

  /** Detach from the pager (its bypass leaves dropped) and the disk's events stop mattering. */
  detach(): void {
    this.attached = false;
    this.shadow.setAbsentPteHook(null);
  }

  /**
   * The guest changed the protection of linear [start, end) in some address space (its notice): drop every
   * mapping of an address in it, in whichever address space (another's are asked for again, no harm done).
   */
  private protectionChanged(start: number, end: number): void {
    const leaves: number[] = [];
    for (const [leaf, lin] of this.leafLin) if (lin >= start && lin < end) leaves.push(leaf);
    this.drop(leaves, "protection");
  }

  // ---- the disk's events -------------------------------------------------------------

  private slotsTouched(kind: "read" | "write", first: number, count: number): void {
    // PTEs the guest wrote before this request must count as written before it (Linux unmaps, then writes out).
    this.shadow.drainTraceLog();
    if (first === 0) {
      // A new header (mkswap) or the guest reading it (swapon): the area starts over, its type may be another.
      this.drop([...this.leafSlot.keys()], "header");
      this.swapType = -1;
      this.swapMapPages.clear();
      this.evidence.clear();
      this.pending.clear();
      return;
    }
    const leaves: number[] = [];
    if (kind === "write") this.slotWritten.fill(++this.events, first, Math.min(first + count, this.slotWritten.length));
    for (let s = first; s < first + count; s++) {
      for (const l of this.slotLeaves.get(s) ?? []) leaves.push(l);
      if (kind === "read") this.confirm(s);
    }
    if (leaves.length) this.drop(leaves, kind === "read" ? "swapIn" : "slotWrite");
  }

  private drop(leaves: number[], cause: DropCause): void {
    if (leaves.length === 0) return;
    this.cause = cause;
    try { this.shadow.dropHookLeaves(leaves); } finally { this.cause = "guestPte"; }
  }

  // ---- learning the swap type ----------------------------------------------------------

  private remember(slot: number, type: number): void {
    if (this.swapType >= 0) return;
    if (this.pending.size >= PENDING_MAX) this.pending.delete(this.pending.keys().next().value!);
    let types = this.pending.get(slot);
    if (!types) this.pending.set(slot, types = new Set());
    types.add(type);
  }

  private confirm(slot: number): void {
    const types = this.pending.get(slot);
    if (!types || this.swapType >= 0) return;
    this.pending.delete(slot);
    for (const t of types) {
      const n = (this.evidence.get(t) ?? 0) + 1;
      this.evidence.set(t, n);
      if (n >= BIND_EVIDENCE) { this.swapType = t; this.pending.clear(); return; }
    }
  }
}

/**
 * SwapBypass's counters (vm.stats().paging's `bypass…` entries) for people:
 * the CLI's --stats line and the monitor's `info swapbypass`; null when the VM has no SwapBypass.
 */
export function formatSwapBypass(paging: Record<string, number | string>): string | null {
  if (!("bypassFaults" in paging)) return null;
  const n = (k: string) => Number(paging[k] ?? 0);
  const calls = n("bypassSymcalls");
  return [
    `swap type ${n("bypassSwapType") < 0 ? "not learned yet" : n("bypassSwapType")}; faults on swap PTEs ${n("bypassSwapPteFaults")}, bypassed ${n("bypassFaults")} (and ${n("bypassMappedAround")} pages around them), mappings live ${n("bypassLive")}, swap-ins avoided ${n("bypassSwapInsAvoided")}`,
    `writable mappings ${n("bypassWritable")} (live ${n("bypassWritableLive")}), made read-only when the slot became shared or cached ${n("bypassMadeReadOnly")}; SWAP_MAP calls ${n("bypassSwapMapCalls")}`,
    `left to the guest: stores ${n("bypassDeclinedWrites")}, slot not on the disk ${n("bypassNotHeld")}, slot older than the PTE ${n("bypassOlderThanPte")}, illegal ${n("bypassIllegal")}, SymCall failed ${n("bypassSymcallErrors")}, SymCall unavailable ${n("bypassUnavailable")}`,
    `mappings dropped: swap-in ${n("bypassDroppedSwapIn")}, slot rewritten ${n("bypassDroppedSlotWrite")}, slot freed ${n("bypassDroppedSlotFreed")}, PTE changed ${n("bypassDroppedPte")}, protection changed ${n("bypassDroppedProtection")}, new header ${n("bypassDroppedHeader")}, shadow reset ${n("bypassDroppedReset")}`,
    `SymCalls ${calls}${calls ? `: ${(n("bypassSymcallUs") / calls).toFixed(1)} µs and ${Math.round(n("bypassSymcallInstructions") / calls)} guest instructions each` : ""}`,
  ].join("\n");
}
