// SwapBypass (src/symbiotic/swapbypass.ts) on both engines, with hand-built
// guest page tables whose PTEs are Linux swap entries (the 2-level i386
// encoding of arch/x86/include/asm/pgtable-2level.h: type in bits 1-5, offset
// from bit 9), a swap disk in VMM memory formatted with a Linux swap header as
// mkswap writes it (include/linux/swap.h), and a guest #PF handler that counts
// its faults and makes the page present (its "swap-in"). The guest's answer to
// MEM_LOOKUP is the test's (a stand-in for the symbiotic module, so that legal,
// illegal and failing answers can be given); the real call from the shadow
// pager's fault path runs in tests/symbiotic-linux.test.ts.
import { describe, it, expect, beforeEach } from "vitest";
import { ShadowPaging } from "../../src/vmm/paging/index.js";
import { SwapDisk } from "../../src/symbiotic/swap-disk.js";
import { SwapBypass, linuxSwapEntry } from "../../src/symbiotic/swapbypass.js";
import { SymcallNr, LookupPerm } from "../../src/symbiotic/abi.js";
import type { Symbiotic } from "../../src/symbiotic/symbiotic.js";
import type { SymcallResult } from "../../src/symbiotic/symcall.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { ENGINES } from "../helpers.js";
import { pagedGuest, le32, PD, PT_LOW, PT_DATA, DATA_LIN, DATA_PHYS, CODE, type PagedGuest } from "../support/paged-guest.js";

const HLT = 0xf4;
const P = 1, RW = 2, US = 4;
const IDT = 0x8000, GDT = 0x8800, HANDLER = 0x3000, FAULTS = 0x9004, LAST_CR2 = 0x9000;
const TYPE = 3; // the guest's swap type for the disk (its fourth swapon)
/** __swp_entry(type, offset) as a PTE. */
const swapPte = (type: number, offset: number) => ((type << 1) | (offset << 9)) >>> 0;
const PAGE = 4096;

/** A page of a Linux swap header: version 1, last_page, "SWAPSPACE2" (what mkswap writes into page 0). */
function swapHeader(lastPage: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  const dv = new DataView(b.buffer);
  dv.setUint32(1024, 1, true);
  dv.setUint32(1028, lastPage, true);
  b.set(new TextEncoder().encode("SWAPSPACE2"), PAGE - 10);
  return b;
}
/** A page the guest swapped out: each word is `tag + index`. */
function slotPage(tag: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < PAGE / 4; i++) dv.setUint32(i * 4, (tag + i) >>> 0, true);
  return b;
}

/**
 * #PF handler: counts, records CR2 and makes the faulting data page present at
 * DATA_PHYS + index·4 KiB (the guest's swap-in, without its disk read).
 */
const PF_HANDLER = [
  0x58,                                  // pop eax (error code)
  0x0f, 0x20, 0xd0,                      // mov eax, cr2
  0xa3, ...le32(LAST_CR2),               // mov [LAST_CR2], eax
  0xff, 0x05, ...le32(FAULTS),           // inc dword [FAULTS]
  0x2d, ...le32(DATA_LIN),               // sub eax, DATA_LIN
  0xc1, 0xe8, 0x0c,                      // shr eax, 12
  0x8d, 0x1c, 0x85, ...le32(PT_DATA),    // lea ebx, [eax*4 + PT_DATA]
  0xc1, 0xe0, 0x0c,                      // shl eax, 12
  0x05, ...le32(DATA_PHYS | P | RW | US),// add eax, DATA_PHYS|P|RW|US
  0x89, 0x03,                            // mov [ebx], eax
  0x0f, 0x01, 0x3d, ...le32(DATA_LIN),   // invlpg [DATA_LIN] (any page: the shadow needs none)
  0xcf,                                  // iret
];
const load = (reg: "ecx" | "edx" | "esi", lin: number) => [0x8b, { ecx: 0x0d, edx: 0x15, esi: 0x35 }[reg], ...le32(lin)];
const store = (lin: number) => [0xa3, ...le32(lin)];
const page = (i: number) => DATA_LIN + i * PAGE;

/** Where the test keeps the guest's swap_map (one byte per slot, include/linux/swap.h), when its module answers SWAP_MAP. */
const SWAP_MAP = 0xa000;
const ENOSYS = 38;

/** The guest's answers to MEM_LOOKUP and SWAP_MAP, and the calls it got. */
class FakeGuest {
  /** MEM_LOOKUP calls; SWAP_MAP ones in swapMapCalls. */
  calls: number[][] = [];
  swapMapCalls: number[][] = [];
  answer: (vaddr: number, pte: number) => SymcallResult = (vaddr, pte) => ({ ok: true, regs: [vaddr & ~0xfff, pte, LookupPerm.READ | LookupPerm.WRITE | LookupPerm.USER, DATA_LIN, DATA_LIN + 0x400000], instructions: 1000 });
  /** A module that knows SWAP_MAP (swap_map at SWAP_MAP) or, by default, one from before it (-ENOSYS). */
  hasSwapMap = false;
  available = true;
  constructor(private readonly mem: { readU8(gpa: number): number }) {}
  call(nr: number, ...args: number[]): SymcallResult {
    if (nr === SymcallNr.SWAP_MAP) {
      this.swapMapCalls.push([nr, ...args]);
      if (!this.hasSwapMap) return { ok: false, reason: "guest-error", code: -ENOSYS, error: "ENOSYS", instructions: 100 };
      const slot = args[1]!;
      return { ok: true, regs: [SWAP_MAP + slot, 64, this.mem.readU8(SWAP_MAP + slot), 0, 0], instructions: 100 };
    }
    this.calls.push([nr, ...args]);
    return this.answer(args[0]!, args[1]!);
  }  /** SwapBypass calls on the vCPU that faulted (this guest has one, vCPU 0). */
  callOn(vcpu: number, nr: number, ...args: number[]): SymcallResult {
    if (vcpu !== 0) throw new Error(`a call on vCPU ${vcpu}: the guest has only vCPU 0`);
    return this.call(nr, ...args);
  }
}

interface Rig { g: PagedGuest; disk: SwapDisk; bypass: SwapBypass; guest: FakeGuest; run(code: number[]): void; faults(): number; stats(): Record<string, number> }

async function rig(kind: "wasm" | "js"): Promise<Rig> {
  const shadow = new ShadowPaging();
  // No data page present: the test writes each PTE (a swap entry) before the guest first touches it.
  const g = await pagedGuest(kind, { code: [HLT], pages: 0, pte: P | RW | US, paging: shadow });
  const mem = g.m.vm.memory;
  mem.writeU32(PD + (DATA_LIN >>> 22) * 4, PT_DATA | P | RW | US);
  // GDT (null, flat code 0x08, flat data 0x10; accessed already, as a running OS's are) and an IDT with the #PF handler.
  for (const [i, lo, hi] of [[1, 0x0000ffff, 0x00cf9b00], [2, 0x0000ffff, 0x00cf9300]] as const) { mem.writeU32(GDT + i * 8, lo); mem.writeU32(GDT + i * 8 + 4, hi); }
  mem.writeU32(IDT + 14 * 8, (8 << 16) | (HANDLER & 0xffff));
  mem.writeU32(IDT + 14 * 8 + 4, (HANDLER & 0xffff0000) | 0x8e00);
  g.m.writeMemory(HANDLER, PF_HANDLER);
  const guest = new FakeGuest(mem);
  g.m.vm.symbiotic = guest as unknown as Symbiotic;
  const disk = new SwapDisk(mem, 64 * PAGE);
  const bypass = new SwapBypass(g.m.vm, shadow, disk);
  disk.write(0, swapHeader(63));
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  const run = (code: number[]) => {
    g.m.writeMemory(CODE, [...code, HLT]);
    g.m.setState({
      cr0: 0x80010011, cr3: PD, cr4: 0, eip: CODE, eflags: 2, cpl: 0, halted: false, esp: 0x7000,
      gdtr: { base: GDT, limit: 23 }, idtr: { base: IDT, limit: 0x7ff },
      cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16), es: flat(Attr.flatData32, 16), ss: flat(Attr.flatData32, 16),
    });
    const stop = g.m.step(10_000);
    expect(stop.kind).toBe("halted");
  };
  return { g, disk, bypass, guest, run, faults: () => mem.readU32(FAULTS), stats: () => g.m.vm.stats().paging as Record<string, number> };
}

/** The guest stores `value` into the PTE of page i (through the identity map, as its kernel would). */
const setPte = (i: number, value: number) => [0xc7, 0x05, ...le32(PT_DATA + i * 4), ...le32(value)];

/** Page i of the guest swapped out to slot `slot` as Linux does it: the PTE made a swap entry, then the slot written. */
function swapOut(r: Rig, i: number, slot: number, type = TYPE): void {
  r.run(setPte(i, swapPte(type, slot)));
  r.disk.write(slot * PAGE, slotPage(0x5100000 + slot * 0x1000));
}

/** The guest swaps pages in twice (fault, then reads the slot from the disk): SwapBypass learns the disk's type. */
function learnType(r: Rig): void {
  for (const [i, slot] of [[6, 16], [7, 17]] as const) {
    swapOut(r, i, slot);
    r.run(load("ecx", page(i)));
    r.disk.read(slot * PAGE, new Uint8Array(PAGE));
  }
  expect(r.bypass.type).toBe(TYPE);
  expect(r.faults()).toBe(2);
  expect(r.guest.calls).toEqual([]); // nothing was asked before the type was known
}

/** With a module that answers SWAP_MAP: the type learned, page i swapped out to `slot`, and the slot's swap_map byte 1 (exclusive). */
function exclusiveSlot(r: Rig, i: number, slot: number): void {
  r.guest.hasSwapMap = true;
  learnType(r);
  swapOut(r, i, slot);
  r.g.m.vm.memory.writeU8(SWAP_MAP + slot, 1);
}

describe("the 2-level i386 swap PTE of Linux 6.1", () => {
  it("decodes type and offset as __swp_type/__swp_offset, and refuses what is_swap_pte refuses", () => {
    expect(linuxSwapEntry(swapPte(3, 0x12345))).toEqual({ type: 3, offset: 0x12345 });
    expect(linuxSwapEntry(swapPte(0, 1))).toEqual({ type: 0, offset: 1 });
    expect(linuxSwapEntry(0)).toBeNull(); // pte_none
    expect(linuxSwapEntry(0x1000 | P)).toBeNull(); // present
    expect(linuxSwapEntry(0x1000 | 0x100)).toBeNull(); // _PAGE_PROTNONE: present to Linux (a PROT_NONE page)
    expect(linuxSwapEntry(swapPte(29, 5))).toBeNull(); // a migration entry (types from MAX_SWAPFILES = 27 up)
  });
});

describe.each(ENGINES)("SwapBypass on %s", (kind) => {
  let r: Rig;
  beforeEach(async () => { r = await rig(kind); });

  it("learns the disk's swap type from the guest's swap-ins, then maps a swapped-out page straight at the slot", async () => {
    expect(r.disk.header).toMatchObject({ version: 1, lastPage: 63 });
    learnType(r);
    swapOut(r, 2, 40);
    r.run(load("edx", page(2) + 8));
    expect(r.g.m.getState().edx).toBe(0x5100000 + 40 * 0x1000 + 2); // the slot's word 2, read through the mapping
    expect(r.faults()).toBe(2); // no fault reached the guest
    expect(r.guest.calls).toEqual([[SymcallNr.MEM_LOOKUP, page(2) + 8, swapPte(TYPE, 40), 0, 0]]);
    expect(r.g.m.vm.memory.readU32(PT_DATA + 2 * 4)).toBe(swapPte(TYPE, 40)); // the guest's PTE untouched
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassLive: 1, bypassSwapInsAvoided: 1, bypassSymcalls: 1, bypassSwapType: TYPE });
    // A second read of the same page is a plain TLB/shadow hit: no second call.
    r.run(load("esi", page(2) + 12));
    expect(r.g.m.getState().esi).toBe(0x5100000 + 40 * 0x1000 + 3);
    expect(r.guest.calls).toHaveLength(1);
  });

  it("drops the mapping before the guest reads the slot back (swap-in), and maps again at the next fault", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.run(load("edx", page(2)));
    r.disk.read(40 * PAGE, new Uint8Array(PAGE)); // the guest's swap-in (readahead, swapoff…)
    expect(r.stats()).toMatchObject({ bypassLive: 0, bypassDroppedSwapIn: 1, bypassSwapInsAvoided: 0 });
    r.run(load("edx", page(2) + 4));
    expect(r.g.m.getState().edx).toBe(0x5100000 + 40 * 0x1000 + 1);
    expect(r.guest.calls).toHaveLength(2);
    expect(r.faults()).toBe(2);
  });

  it("drops the mapping when the guest writes a new page into the slot: the guest never reads stale data", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.run(load("edx", page(2)));
    expect(r.g.m.getState().edx).toBe(0x5100000 + 40 * 0x1000);
    r.disk.write(40 * PAGE, slotPage(0x7700000)); // slot reused (the PTE is the test's, not a real guest's)
    expect(r.stats()).toMatchObject({ bypassLive: 0, bypassDroppedSlotWrite: 1 });
    r.run(load("edx", page(2)));
    expect(r.g.m.getState().edx).toBe(0x7700000);
  });

  it("drops the mapping when the guest changes the PTE (the trace log), and uses the new entry", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.g.m.vm.memory.writeU32(DATA_PHYS + 0x9000, 0xc0ffee);
    r.run([
      ...load("edx", page(2)),
      0xc7, 0x05, ...le32(PT_DATA + 2 * 4), ...le32((DATA_PHYS + 0x9000) | P | RW | US), // the guest's swap-in maps a frame
      ...load("esi", page(2)),
    ]);
    const st = r.g.m.getState();
    expect(st.edx).toBe(0x5100000 + 40 * 0x1000);
    expect(st.esi).toBe(0xc0ffee);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassLive: 0, bypassDroppedPte: 1 });
    expect(r.faults()).toBe(2);
  });

  it("leaves a slot older than the swap PTE to the guest (its swap cache may hold newer data), and one whose PTE it never saw written", async () => {
    learnType(r);
    r.disk.write(40 * PAGE, slotPage(0x5100000)); // written out earlier …
    r.run(setPte(2, swapPte(TYPE, 40)));           // … and the PTE set to it again since (a page swapped in from the swap cache, dirtied, unmapped)
    r.run(load("edx", page(2)));
    expect(r.faults()).toBe(3);
    expect(r.guest.calls).toEqual([]);
    expect(r.stats()).toMatchObject({ bypassFaults: 0, bypassOlderThanPte: 1 });
    // Once the guest writes the page out again, the slot is newer than the PTE.
    swapOut(r, 3, 41);
    r.disk.write(41 * PAGE, slotPage(0x6600000));
    r.run(load("edx", page(3)));
    expect(r.g.m.getState().edx).toBe(0x6600000);
    // A swap PTE written behind the pager's back (not through a table it mirrors): not known to be older than the slot.
    r.g.m.vm.memory.writeU32(PT_DATA + 4 * 4, swapPte(TYPE, 42));
    r.disk.write(42 * PAGE, slotPage(0x6700000));
    r.run(load("edx", page(4)));
    expect(r.faults()).toBe(4);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassOlderThanPte: 2 });
  });

  it("counts the swap PTEs of a table it starts mirroring as written then (the guest may have written them unseen)", async () => {
    learnType(r);
    swapOut(r, 2, 40);                 // slot 40 named by a PTE the VMM saw, then written
    r.run(setPte(2, 0));               // … and that page freed
    // A second page table no shadow mirrors yet gets a PTE naming slot 40 (written by the guest, unseen): the slot may be
    // older than what that PTE stands for (a swap-cache copy not yet written out), so it must not be mapped.
    const PT2 = PT_DATA + 0x1000, lin = DATA_LIN + 0x400000; // where the #PF handler writes page 1024's PTE
    const mem = r.g.m.vm.memory;
    mem.writeU32(PD + (lin >>> 22) * 4, PT2 | P | RW | US);
    mem.writeU32(PT2, swapPte(TYPE, 40));
    r.run(load("edx", lin));
    expect(r.faults()).toBe(3);
    expect(r.guest.calls).toEqual([]);
    expect(r.stats()).toMatchObject({ bypassFaults: 0, bypassOlderThanPte: 1 });
  });

  it("keeps mappings across an address-space switch (no flush on CR3 loads)", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    const PD2 = 0x14000;
    for (let i = 0; i < 1024; i++) r.g.m.vm.memory.writeU32(PD2 + i * 4, r.g.m.vm.memory.readU32(PD + i * 4));
    r.run([
      ...load("edx", page(2)),
      0xb8, ...le32(PD2), 0x0f, 0x22, 0xd8, // mov eax, PD2 ; mov cr3, eax
      0xb8, ...le32(PD), 0x0f, 0x22, 0xd8,  // and back
      ...load("esi", page(2) + 4),
    ]);
    expect(r.g.m.getState().esi).toBe(0x5100000 + 40 * 0x1000 + 1);
    expect(r.guest.calls).toHaveLength(1);
    expect(r.stats()).toMatchObject({ bypassLive: 1 });
  });

  it("hands over at once only stores into a bypassed PTE: stores into the rest of its table, and other tables, still batch", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.run(load("edx", page(2))); // PT_DATA's PTE 2 now has a bypass mapping standing for it
    expect(r.stats()).toMatchObject({ bypassLive: 1 });
    const core = r.g.m.vm.core, traceExits = () => r.g.m.vm.stats().exits["trace-log"] ?? 0;
    // Stores into the low identity map's table, and into PTEs 3 and 1 next to the bypassed one (the words on either
    // side: a reclaim unmapping its neighbours): logged, left in the log for the next TLB fill.
    // (One run: entering the guest again reloads CR3, and the TLB fill after that would take the log.)
    let before = traceExits();
    r.run([
      0xc7, 0x05, ...le32(PT_LOW + 0x3ff * 4), ...le32(0),
      ...setPte(3, swapPte(TYPE, 43)),
      0x66, 0xc7, 0x05, ...le32(PT_DATA + 1 * 4 + 2), 0, 0, // mov word [PTE 1 + 2], 0: ends just before PTE 2
    ]);
    expect(traceExits() - before).toBe(0);
    expect(core.traceLogCount()).toBeGreaterThan(0);
    expect(r.stats()).toMatchObject({ bypassLive: 1 });
    // A store into PTE 2 itself: the VMM has it right after the instruction (the HLT after it makes no TLB fill),
    // and the mapping is gone before the guest's next instruction.
    before = traceExits();
    r.run(setPte(2, 0));
    expect(traceExits() - before).toBeGreaterThanOrEqual(1); // (the first at entering, with the stores above)
    expect(core.traceLogCount()).toBe(0);
    expect(r.stats()).toMatchObject({ bypassLive: 0, bypassDroppedPte: 1 });
    // Once no bypass mapping stands for it, stores into PTE 2 batch again.
    r.run([...setPte(2, swapPte(TYPE, 40)), ...load("ecx", CODE)]); // (the load hits the TLB: no fill after the store)
    expect(core.traceLogCount()).toBeGreaterThan(0);
  });

  it("drops the mappings in a range whose protection the guest changed (symbiotic.ko's mprotect notice), then asks again", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    swapOut(r, 3, 41);
    r.run([...load("edx", page(2)), ...load("esi", page(3))]);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassMappedAround: 1, bypassLive: 2 }); // (page 3 with page 2's fault)
    // mprotect(page 2, PROT_NONE): the swap PTE stays as it is, the VMA no longer allows access, and the module says so.
    r.guest.answer = (_vaddr, pte) => ({ ok: true, regs: [0, pte, 0, 0, 0], instructions: 900 });
    r.run([0xb8, ...le32(0x537), 0xbb, ...le32(page(2)), 0xb9, ...le32(page(3)), 0x0f, 0x01, 0xc1]); // mov eax/ebx/ecx ; vmcall
    expect(r.g.m.getState().eax).toBe(0);
    expect(r.stats()).toMatchObject({ bypassLive: 1, bypassDroppedProtection: 1 }); // page 3 is outside [start, end)
    const faults = r.faults();
    r.run(load("edx", page(2)));
    expect(r.faults()).toBe(faults + 1); // asked again: not allowed, the guest's #PF
    expect(r.stats()).toMatchObject({ bypassIllegal: 1, bypassSymcalls: 2 });
  });

  it("maps the swapped-out pages around a bypassed fault, in the same mapping, without asking the guest again", async () => {
    learnType(r);
    // The guest's mapping ends at page 4; page 1's slot was written before its PTE (the guest's swap cache may hold newer data).
    r.guest.answer = (vaddr, pte) => ({ ok: true, regs: [vaddr & ~0xfff, pte, LookupPerm.READ | LookupPerm.WRITE | LookupPerm.USER, DATA_LIN, page(4)], instructions: 1000 });
    r.disk.write(39 * PAGE, slotPage(0x5100000 + 39 * 0x1000));
    r.run(setPte(1, swapPte(TYPE, 39)));
    for (const [i, slot] of [[2, 40], [3, 41], [4, 42]] as const) swapOut(r, i, slot);
    const faults = r.faults();
    r.run(load("edx", page(2)));
    expect(r.guest.calls).toHaveLength(1);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassMappedAround: 1, bypassLive: 2, bypassOlderThanPte: 0 });
    // Page 3 came with page 2's fault: no fault, no SymCall, the slot's data.
    r.run(load("esi", page(3) + 8));
    expect(r.g.m.getState().esi).toBe(0x5100000 + 41 * 0x1000 + 2);
    expect(r.faults()).toBe(faults);
    expect(r.guest.calls).toHaveLength(1);
    // Page 4 lies outside the mapping the guest named: asked on its own fault. Page 1 is the guest's.
    r.run(load("ecx", page(4)));
    expect(r.guest.calls).toHaveLength(2);
    r.run(load("ecx", page(1)));
    expect(r.faults()).toBe(faults + 1);
    expect(r.stats()).toMatchObject({ bypassFaults: 2, bypassMappedAround: 1, bypassOlderThanPte: 1 });
  });

  it("an access the guest says is illegal faults into the guest as usual", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.guest.answer = (vaddr, pte) => ({ ok: true, regs: [0, pte, 0, 0, 0], instructions: 900 }); // no VMA covers it
    r.run(load("edx", page(2)));
    expect(r.faults()).toBe(3);
    expect(r.g.m.vm.memory.readU32(LAST_CR2)).toBe(page(2));
    expect(r.stats()).toMatchObject({ bypassFaults: 0, bypassIllegal: 1, bypassSymcalls: 1 });
    // Readable but not for this PTE any more (the guest changed it meanwhile): also the guest's.
    swapOut(r, 3, 41);
    r.guest.answer = (vaddr) => ({ ok: true, regs: [vaddr & ~0xfff, swapPte(TYPE, 42), LookupPerm.READ | LookupPerm.USER, 0, 0], instructions: 900 });
    r.run(load("edx", page(3)));
    expect(r.faults()).toBe(4);
    expect(r.stats()).toMatchObject({ bypassFaults: 0, bypassIllegal: 2 });
  });

  it("a SymCall that fails, or cannot be made, falls back to the guest's own #PF", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.guest.answer = () => ({ ok: false, reason: "guest-error", code: -16, error: "EBUSY", instructions: 500 });
    r.run(load("edx", page(2)));
    expect(r.faults()).toBe(3);
    expect(r.stats()).toMatchObject({ bypassSymcallErrors: 1, bypassFaults: 0 });
    swapOut(r, 3, 41);
    r.guest.available = false; // e.g. a call already running, or the module unloaded
    r.run(load("edx", page(3)));
    expect(r.faults()).toBe(4);
    expect(r.stats()).toMatchObject({ bypassUnavailable: 1, bypassSymcalls: 1 });
  });

  it("without SWAP_MAP (a module from before it) mappings are read-only: stores are the guest's, asked once", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.g.m.setState({ eax: 0x1234 });
    r.run(store(page(2)));
    expect(r.faults()).toBe(3);
    expect(r.guest.calls).toHaveLength(1);
    expect(r.guest.swapMapCalls).toEqual([[SymcallNr.SWAP_MAP, TYPE, 40, 0, 0]]);
    expect(r.stats()).toMatchObject({ bypassDeclinedWrites: 1, bypassWritable: 0 });
    // A store to a page already bypassed: the read-only mapping faults, the guest swaps the page in.
    swapOut(r, 3, 41);
    r.run([...load("edx", page(3)), 0xa3, ...le32(page(3))]);
    expect(r.faults()).toBe(4);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassDeclinedWrites: 2 });
    expect(r.guest.swapMapCalls).toHaveLength(1); // -ENOSYS is remembered
  });

  it("maps a slot whose swap_map byte is 1 (one user, no swap-cache page) writable: the store lands in the slot, no fault", async () => {
    exclusiveSlot(r, 2, 40);
    r.g.m.setState({ eax: 0xc0ffee });
    r.run([...store(page(2) + 8), ...load("edx", page(2) + 12)]);
    expect(r.faults()).toBe(2);
    expect(r.g.m.getState().edx).toBe(0x5100000 + 40 * 0x1000 + 3);
    const back = new Uint8Array(PAGE);
    r.disk.read(40 * PAGE, back); // the guest's own swap-in reads the stored word (and drops the mapping first)
    expect(new DataView(back.buffer).getUint32(8, true)).toBe(0xc0ffee);
    expect(r.stats()).toMatchObject({ bypassFaults: 1, bypassWritable: 1, bypassWritableLive: 0, bypassDroppedSwapIn: 1, bypassSwapMapCalls: 1 });
    expect(r.g.m.vm.memory.readU32(PT_DATA + 2 * 4)).toBe(swapPte(TYPE, 40)); // the guest's PTE untouched
  });

  it("maps a shared (count 2) or swap-cached slot read-only, and a read-only VMA's page read-only", async () => {
    r.guest.hasSwapMap = true;
    learnType(r);
    for (const [i, slot, byte] of [[2, 40, 2], [3, 41, 0x41]] as const) {
      swapOut(r, i, slot);
      r.g.m.vm.memory.writeU8(SWAP_MAP + slot, byte);
      r.run(store(page(i)));
    }
    expect(r.faults()).toBe(4); // both stores went to the guest
    swapOut(r, 4, 42);
    r.g.m.vm.memory.writeU8(SWAP_MAP + 42, 1);
    r.guest.answer = (vaddr, pte) => ({ ok: true, regs: [vaddr & ~0xfff, pte, LookupPerm.READ | LookupPerm.USER, DATA_LIN, DATA_LIN + 0x400000], instructions: 1000 });
    r.run([...load("edx", page(4)), ...store(page(4))]);
    expect(r.g.m.getState().edx).toBe(0x5100000 + 42 * 0x1000);
    expect(r.faults()).toBe(5);
    expect(r.stats()).toMatchObject({ bypassWritable: 0, bypassDeclinedWrites: 3 });
  });

  it("makes a writable mapping read-only when the guest's store changes the slot's swap_map byte (fork, swap-in), before its next instruction", async () => {
    exclusiveSlot(r, 2, 40);
    r.g.m.setState({ eax: 0x1111 });
    r.run(store(page(2)));
    expect(r.stats()).toMatchObject({ bypassWritable: 1, bypassWritableLive: 1, watchedFrames: 1 });
    // Other slots' bytes in that page of swap_map (the words on either side of slot 40's, which holds slots 40-43):
    // the guest's swap-outs there wait in the log, and the mapping stays writable.
    const traceExits = () => r.g.m.vm.stats().exits["trace-log"] ?? 0, before = traceExits();
    r.run([0xc6, 0x05, ...le32(SWAP_MAP + 44), 1, 0xc6, 0x05, ...le32(SWAP_MAP + 39), 1]);
    expect(traceExits()).toBe(before);
    expect(r.stats()).toMatchObject({ bypassWritableLive: 1 });
    // The guest's kernel: swap_duplicate (mov byte [SWAP_MAP + 40], 2), then the process stores again.
    r.g.m.setState({ eax: 0x2222 });
    r.run([0xc6, 0x05, ...le32(SWAP_MAP + 40), 2, ...store(page(2) + 4)]);
    expect(r.faults()).toBe(3); // the second store faulted into the guest
    expect(r.stats()).toMatchObject({ bypassMadeReadOnly: 1, bypassWritableLive: 0 });
    expect(r.g.m.vm.memory.readHostU32(r.disk.frameOf(40))).toBe(0x1111); // the first store is in the slot (read without a swap-in)
    // Nothing writable left: swap_map is no longer watched.
    expect(r.stats().watchedFrames).toBe(0);
  });

  it("drops a mapping whose slot the guest frees (count 0), so that the PTE's clearing after it waits in the log", async () => {
    exclusiveSlot(r, 2, 40);
    r.g.m.setState({ eax: 0x1111 });
    r.run(store(page(2)));
    expect(r.stats()).toMatchObject({ bypassWritableLive: 1, bypassLive: 1 });
    // zap_pte_range: free_swap_and_cache leaves SWAP_HAS_CACHE alone in the byte (the count 0), then the PTE is cleared.
    const core = r.g.m.vm.core, traceExits = () => r.g.m.vm.stats().exits["trace-log"] ?? 0, before = traceExits();
    r.run([0xc6, 0x05, ...le32(SWAP_MAP + 40), 0x40, ...setPte(2, 0)]);
    expect(r.stats()).toMatchObject({ bypassLive: 0, bypassWritableLive: 0, bypassDroppedSlotFreed: 1, bypassDroppedPte: 0, bypassMadeReadOnly: 0 });
    expect(traceExits() - before).toBe(1); // the byte's store, at once; the PTE's …
    expect(core.traceLogCount()).toBeGreaterThan(0); // … waits in the log (the HLT after it makes no TLB fill)
  });

  it("swap entries of another type (swap on another device), or slots the disk does not hold, are left to the guest", async () => {
    learnType(r);
    swapOut(r, 2, 40, TYPE + 1);
    r.run(load("edx", page(2)));
    swapOut(r, 3, 41);
    r.g.m.vm.memory.writeU32(PT_DATA + 3 * 4, swapPte(TYPE, 50)); // slot 50 was never written
    r.run(load("edx", page(3)));
    expect(r.faults()).toBe(4);
    expect(r.guest.calls).toEqual([]);
    expect(r.stats()).toMatchObject({ bypassFaults: 0, bypassNotHeld: 1 });
  });

  it("a new header (mkswap) or the guest reading it (swapon) drops every mapping and forgets the type", async () => {
    learnType(r);
    swapOut(r, 2, 40);
    r.run(load("edx", page(2)));
    r.disk.read(0, new Uint8Array(PAGE));
    expect(r.stats()).toMatchObject({ bypassLive: 0, bypassDroppedHeader: 1, bypassSwapType: -1 });
    r.disk.write(0, swapHeader(63));
    expect(r.disk.holds(40)).toBe(false); // a fresh area holds nothing
  });
});

describe("the swap disk in VMM memory", () => {
  it("serves what was written, in VMM frames beyond guest RAM, and refuses to outgrow the VMM's pool", async () => {
    const r = await rig("wasm");
    const data = slotPage(0x42);
    r.disk.write(5 * PAGE + 512, data.subarray(0, 1024));
    const back = new Uint8Array(1024);
    r.disk.read(5 * PAGE + 512, back);
    expect(back).toEqual(data.subarray(0, 1024));
    expect(r.disk.frameOf(5)).toBeGreaterThanOrEqual(r.g.m.vm.memory.ramBytes);
    expect(r.disk.holds(5)).toBe(true);
    expect(r.disk.holds(0)).toBe(false);
    expect(() => new SwapDisk(r.g.m.vm.memory, 1024 * 1048576)).toThrow(/needs 1024 MiB of VMM memory .* \(raise it with --vmm-mem\)/);
  });
});
