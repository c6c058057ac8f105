// Shadow paging (src/vmm/paging/shadow.ts) against the architecture, on both
// engines: the number of hidden faults a known access pattern must take, the
// guest's accessed/dirty bits exactly as the SDM's page walk sets them, trace
// faults on stores into live page tables, and the awkward guests (recursive
// page directories, a store spanning two page tables, CR3 outside RAM, tables
// in MMIO) behaving as the hardware (the direct mode's walk) does.
import { describe, it, expect } from "vitest";
import { ShadowPaging, NestedPaging, type PagingStrategy } from "../../src/vmm/paging/index.js";
import { ENGINES } from "../helpers.js";
import { pagedGuest, touchPages, le32, PD, PT_LOW, PT_DATA, DATA_LIN, DATA_PHYS, CODE } from "../support/paged-guest.js";

const HLT = 0xf4;
const P = 1, RW = 2, A = 0x20, D = 0x40;
const modes: [string, () => PagingStrategy | undefined][] = [["direct", () => undefined], ["nested", () => new NestedPaging()], ["shadow", () => new ShadowPaging()]];

const shadowStats = (g: { m: { vm: { stats(): { paging: Record<string, number | string> } } } }) => g.m.vm.stats().paging as Record<string, number>;

/** Read page k (its shadow entry is live), store NEW|P|RW into its PTE through the identity map, INVLPG it, read it into EBX. */
const remapPage = (k: number, NEW: number) => [
  0xa1, ...le32(DATA_LIN + k * 0x1000),                           // mov eax, [page k]
  0xc7, 0x05, ...le32(PT_DATA + 4 * k), ...le32(NEW | P | RW),     // mov dword [PTE k], NEW|P|RW
  0x0f, 0x01, 0x3d, ...le32(DATA_LIN + k * 0x1000),               // invlpg [page k]
  0x8b, 0x1d, ...le32(DATA_LIN + k * 0x1000),                     // mov ebx, [page k]
  HLT,
];

describe.each(ENGINES)("shadow paging on %s", (kind) => {
  it("takes exactly one hidden fault per page touched once, and sets the guest's accessed bits as the walk would", async () => {
    const N = 12;
    // Entries present and writable, never accessed: nothing to prefetch, every first touch is a fault.
    const g = await pagedGuest(kind, { code: [...touchPages(N), HLT], pages: N, pte: P | RW, paging: new ShadowPaging() });
    expect(g.m.step(10_000).kind).toBe("halted");
    expect(g.m.getState().eax).toBe(0x1000 + N - 1);
    const s = shadowStats(g);
    expect(s.hiddenFaults).toBe(N + 1); // N data pages and the code page
    expect(s.trueFaults).toBe(0);
    const mem = g.m.vm.memory;
    for (let i = 0; i < N; i++) expect(mem.readU32(PT_DATA + i * 4)).toBe((DATA_PHYS + i * 0x1000) | P | RW | A); // read: A, no D
    expect(mem.readU32(PT_DATA + N * 4)).toBe(0);
    expect(mem.readU32(PT_LOW + 4)).toBe(CODE | P | RW | A); // the code page
    expect(mem.readU32(PT_LOW + 8)).toBe(0x2000 | P | RW); // untouched: no A
    expect(mem.readU32(PD) & A).toBe(A);
    expect(mem.readU32(PD + 4) & A).toBe(A);
  });

  it("sets the dirty bit at the first store through a page, and only there", async () => {
    // mov [DATA_LIN + 0x1000], eax ; mov ebx, [DATA_LIN] ; mov [DATA_LIN + 0x1000], ebx ; hlt
    const code = [0xa3, ...le32(DATA_LIN + 0x1000), 0x8b, 0x1d, ...le32(DATA_LIN), 0x89, 0x1d, ...le32(DATA_LIN + 0x1000), HLT];
    const g = await pagedGuest(kind, { code, pages: 2, pte: P | RW, paging: new ShadowPaging() });
    g.m.setState({ eax: 0x77 });
    expect(g.m.step(100).kind).toBe("halted");
    const mem = g.m.vm.memory;
    expect(mem.readU32(PT_DATA)).toBe(DATA_PHYS | P | RW | A);
    expect(mem.readU32(PT_DATA + 4)).toBe((DATA_PHYS + 0x1000) | P | RW | A | D);
    expect(mem.readU32(DATA_PHYS + 0x1000)).toBe(0x1000);
    // The store went through a shadow entry kept read-only until the guest's D was set: one fault for it.
    expect(shadowStats(g).hiddenFaults).toBe(3); // code page, data page 1 (a store), data page 0
  });

  it("traces a store into a live page table (one exit, at the next translation), after which the new mapping is used", async () => {
    const k = 3, NEW = 0x300000, code = remapPage(k, NEW);
    const g = await pagedGuest(kind, { code, pages: 8, pte: P | RW, paging: new ShadowPaging() });
    g.m.vm.memory.writeU32(NEW, 0xfeedface);
    expect(g.m.step(100).kind).toBe("halted");
    const st = g.m.getState();
    expect(st.eax).toBe(0x1000 + k);
    expect(st.ebx).toBe(0xfeedface);
    const s = shadowStats(g);
    // The store itself does not fault: the core lets it through and logs the page table; the next
    // translation (page k again, after INVLPG) first exits once for the VMM to update the shadow.
    expect(s.traceExits).toBe(1);
    // Hidden faults: the code page, page k, the page table's own page (the store, which also sets its
    // D bit), and page k again: its new PTE was never accessed, so the update left it to its first use.
    expect(s.hiddenFaults).toBe(4);
    expect(g.m.vm.memory.readU32(PT_DATA + 4 * k)).toBe(NEW | P | RW | A);
  });

  it("fills a fresh page's shadow from the trace log: the PTE the guest just wrote is there at the first access, with no hidden fault", async () => {
    // A guest's page-fault handler writes the PTE of a page never mapped and returns to the access: the shadow leaf
    // is absent and the store is in the trace log. The core takes the log before it would fault (one trace exit);
    // the VMM's update fills the leaf (the new PTE is present and accessed), and the access goes through.
    const k = 5, NEW = 0x300000;
    const code = [
      0xa1, ...le32(DATA_LIN),                                                  // mov eax, [page 0] (a shadow for the table)
      0xc7, 0x05, ...le32(PT_DATA + 4 * k), ...le32(NEW | P | RW | A | D),      // mov dword [PTE k], NEW|P|RW|A|D
      0x8b, 0x1d, ...le32(DATA_LIN + k * 0x1000),                               // mov ebx, [page k]
      HLT,
    ];
    const g = await pagedGuest(kind, { code, pages: k, pte: P | RW, paging: new ShadowPaging() });
    g.m.vm.memory.writeU32(NEW, 0xfeedface);
    expect(g.m.step(100).kind).toBe("halted");
    expect(g.m.getState().ebx).toBe(0xfeedface);
    const s = shadowStats(g);
    expect(s.traceExits).toBe(1);
    expect(s.hiddenFaults).toBe(3); // the code page, page 0, the page table's own page (the store); not page k
  });

  it("without the trace log, the same store is a trace fault: let through alone by the monitor trap flag, then resynchronized", async () => {
    const k = 3, NEW = 0x300000, code = remapPage(k, NEW);
    const g = await pagedGuest(kind, { code, pages: 8, pte: P | RW, paging: new ShadowPaging({ traceLog: false }) });
    g.m.vm.memory.writeU32(NEW, 0xfeedface);
    expect(g.m.step(100).kind).toBe("halted");
    expect(g.m.getState().ebx).toBe(0xfeedface);
    const s = shadowStats(g);
    expect(s.traceExits).toBe(0);
    expect(s.traceFaults).toBe(1); // the store: a fault, then one instruction under the monitor trap flag
    expect(g.m.vm.stats().exits["monitor-trap"]).toBe(1);
    expect(s.hiddenFaults).toBe(3); // the code page, page k, page k again (its new PTE)
    expect(g.m.vm.memory.readU32(PT_DATA + 4 * k)).toBe(NEW | P | RW | A);
  });

  it("makes a store into a page table that is not plain RAM (a VMM frame mapped over it, as SymSpy's page is) a trace fault, not a fault for ever", async () => {
    // Linux can reuse a frame that was a page table (still shadowed) as the symbiotic module's SymSpy page, whose VMM
    // frame is mapped read-write without execute: its leaves cannot carry the trace-log bit, so a store must be let through.
    const k = 3, NEW = 0x300000, code = remapPage(k, NEW);
    const g = await pagedGuest(kind, { code, pages: 8, pte: P | RW, paging: new ShadowPaging() });
    const mem = g.m.vm.memory;
    const table = Array.from({ length: 1024 }, (_, i) => mem.readU32(PT_DATA + i * 4));
    mem.map(PT_DATA, mem.allocFrame(), { read: true, write: true });
    table.forEach((v, i) => mem.writeU32(PT_DATA + i * 4, v));
    mem.writeU32(NEW, 0xfeedface);
    expect(g.m.step(100).kind).toBe("halted");
    expect(g.m.getState().eax).toBe(0x1000 + k);
    expect(g.m.getState().ebx).toBe(0xfeedface);
    expect(shadowStats(g).traceFaults).toBe(1);
    expect(mem.readU32(PT_DATA + 4 * k)).toBe(NEW | P | RW | A);
  });

  it("follows a page directory that maps itself (the recursive-mapping trick) exactly as the hardware walk does", async () => {
    const SELF = 0xffc00000; // PD[1023] → PD: 0xFFC00000 + i·4 KiB shows page table i, 0xFFFFF000 the directory
    const results: Record<string, number[]> = {};
    for (const [name, make] of modes) {
      const code = [
        0xa1, ...le32(SELF + 0x1000),                                   // mov eax, [PT_DATA[0] through the window]
        0x8b, 0x1d, ...le32(0xfffff004),                                // mov ebx, [PD[1] through the window]
        0xc7, 0x05, ...le32(SELF + 0x1000 + 5 * 4), ...le32(0x300000 | P | RW), // PT_DATA[5] = 0x300000 through the window
        0x0f, 0x01, 0x3d, ...le32(DATA_LIN + 5 * 0x1000),               // invlpg [page 5]
        0x8b, 0x0d, ...le32(DATA_LIN + 5 * 0x1000),                     // mov ecx, [page 5]
        HLT,
      ];
      const g = await pagedGuest(kind, { code, pages: 8, pte: P | RW, paging: make() });
      const mem = g.m.vm.memory;
      mem.writeU32(PD + 1023 * 4, PD | P | RW);
      mem.writeU32(0x300000, 0xabad1dea);
      expect(g.m.step(100).kind, name).toBe("halted");
      const st = g.m.getState();
      results[name] = [st.eax, st.ebx, st.ecx, mem.readU32(PT_DATA + 5 * 4)];
    }
    // What the architecture gives: PT_DATA[0] (accessed through the window: A set by that walk's leaf), PD[1], the new page's content.
    expect(results.direct).toEqual([DATA_PHYS | P | RW, PT_DATA | P | RW | A, 0xabad1dea, 0x300000 | P | RW | A]);
    expect(results.shadow).toEqual(results.direct);
    expect(results.nested).toEqual(results.direct);
  });

  it("handles a store spanning two live page tables", async () => {
    const PT2 = 0x13000; // page table of PD[2] (0x800000…), right after PT_DATA
    const code = [
      0xa1, ...le32(DATA_LIN),                          // mov eax, [DATA_LIN]: PT_DATA is shadowed
      0x8b, 0x1d, ...le32(0x800000),                    // mov ebx, [0x800000]: so is PT2
      0xc7, 0x05, ...le32(PT2 - 2), ...le32(0x5003_0000), // bytes 00 00 | 03 50: PT2[0]'s low half becomes 0x5003
      0x0f, 0x01, 0x3d, ...le32(0x800000),              // invlpg [0x800000]
      0x8b, 0x0d, ...le32(0x800000),                    // mov ecx, [0x800000]
      HLT,
    ];
    const results: Record<string, number[]> = {};
    for (const [name, make] of modes) {
      const g = await pagedGuest(kind, { code, pages: 4, pte: P | RW, paging: make() });
      const mem = g.m.vm.memory;
      mem.writeU32(PD + 2 * 4, PT2 | P | RW);
      mem.writeU32(PT2, 0x300000 | P | RW);
      mem.writeU32(0x300000, 0x11111111);
      mem.writeU32(0x305000, 0x55555555);
      expect(g.m.step(100).kind, name).toBe("halted");
      const st = g.m.getState();
      results[name] = [st.ebx, st.ecx, mem.readU32(PT2), mem.readU32(PT_DATA + 1023 * 4)];
    }
    expect(results.direct).toEqual([0x11111111, 0x55555555, 0x305003 | A, 0]);
    expect(results.shadow).toEqual(results.direct);
    expect(results.nested).toEqual(results.direct);
  });

  it("delivers a #PF once when setting the handler's code descriptor accessed bit faults in the VMM first, in every mode", async () => {
    // The GDT's descriptors are not yet accessed and its page not yet dirty: under shadow paging the CPU's store of the
    // accessed bit, in the middle of the delivery, is a hidden fault. The delivery must start over with nothing committed.
    const IDT = 0x8000, GDT = 0x8800, HANDLER = 0x3000, COUNT = 0x9004;
    const handler = [
      0x58,                                                      // pop eax (error code)
      0xff, 0x05, ...le32(COUNT),                                // inc dword [COUNT]
      0xc7, 0x05, ...le32(PT_DATA), ...le32(DATA_PHYS | P | RW), // map the page
      0xcf,                                                      // iret
    ];
    for (const [name, make] of modes) {
      const g = await pagedGuest(kind, { code: [0xa1, ...le32(DATA_LIN), HLT], pages: 0, pte: P | RW, paging: make() });
      const mem = g.m.vm.memory;
      mem.writeU32(GDT + 8, 0x0000ffff); mem.writeU32(GDT + 12, 0x00cf9a00);  // flat code, type 0xa (not accessed)
      mem.writeU32(GDT + 16, 0x0000ffff); mem.writeU32(GDT + 20, 0x00cf9200); // flat data, type 0x2
      mem.writeU32(IDT + 14 * 8, (8 << 16) | HANDLER);
      mem.writeU32(IDT + 14 * 8 + 4, 0x8e00);
      mem.writeU32(DATA_PHYS, 0x600df00d);
      g.m.writeMemory(HANDLER, handler);
      g.m.setState({ gdtr: { base: GDT, limit: 23 }, idtr: { base: IDT, limit: 0x7ff }, esp: 0x7000 });
      expect(g.m.step(10_000).kind, name).toBe("halted");
      expect(mem.readU32(COUNT), name).toBe(1);
      const st = g.m.getState();
      expect(st.eax, name).toBe(0x600df00d);
      expect(st.esp, name).toBe(0x7000);
      expect(mem.readU32(GDT + 12) & 0x100, name).toBe(0x100); // accessed now
    }
  });

  it("drops a cached root whose directory page is rewritten as data while another address space runs, and builds it again when it returns", async () => {
    // A process exits, its page directory is freed and its page reused for data the kernel writes: the shadow root cached
    // for it must not keep that page traced. PD2 is a copy of PD; the guest switches to it, fills PD's page with `n`
    // dwords of data, makes a translation (the VMM takes the trace log), then turns PD into a directory again (a copy
    // of PD2), switches back to it and reads page 0 through it.
    const PD2 = 0x13000;
    const code = (n: number) => [
      0xb8, ...le32(PD2), 0x0f, 0x22, 0xd8,                        // mov eax, PD2 ; mov cr3, eax
      0xbf, ...le32(PD), 0xb9, ...le32(n),                          // mov edi, PD ; mov ecx, n
      0x89, 0x0f, 0x83, 0xc7, 0x04, 0xe2, 0xf9,                     // l: mov [edi], ecx ; add edi, 4 ; loop l
      0x0f, 0x22, 0xd8, 0x8b, 0x15, ...le32(DATA_LIN + 0x1000),     // mov cr3, eax ; mov edx, [page 1]
      0xbe, ...le32(PD2), 0xbf, ...le32(PD), 0xb9, ...le32(1024), 0xf3, 0xa5, // PD = PD2 (rep movsd)
      0xb8, ...le32(PD), 0x0f, 0x22, 0xd8,                          // mov eax, PD ; mov cr3, eax
      0x8b, 0x1d, ...le32(DATA_LIN),                                // mov ebx, [page 0]
      HLT,
    ];
    for (const [n, dropped] of [[200, 1], [16, 0]]) { // (2n entries change: the data, then the copy of PD2)
      const g = await pagedGuest(kind, { code: code(n), pages: 2, pte: P | RW | A | D, paging: new ShadowPaging() });
      const mem = g.m.vm.memory;
      for (let i = 0; i < 1024; i++) mem.writeU32(PD2 + i * 4, mem.readU32(PD + i * 4));
      expect(g.m.step(10_000).kind, `n = ${n}`).toBe("halted");
      const st = g.m.getState();
      expect(st.edx, `n = ${n}`).toBe(0x1001);
      expect(st.ebx, `n = ${n}`).toBe(0x1000);
      expect(shadowStats(g).floodedRoots, `n = ${n}`).toBe(dropped);
    }
  });

  it("stops a guest whose CR3 points outside RAM as the hardware walk does (no table: #PF, no IDT: triple fault)", async () => {
    for (const [name, make] of modes) {
      const g = await pagedGuest(kind, { code: [HLT], pages: 1, pte: P | RW, paging: make() });
      g.m.setState({ cr3: 0x7000000 });
      const stop = g.m.step(100);
      expect(stop.kind, name).toBe("shutdown");
    }
  });

  it("stops with a clear exit when the page tables are in a device's MMIO range, in every mode", async () => {
    for (const [name, make] of modes) {
      const g = await pagedGuest(kind, { code: [HLT], pages: 1, pte: P | RW, paging: make() });
      g.m.vm.addMmioDevice(0x700000, 0x1000, { name: "regs", read: () => 0, write: () => {} });
      g.m.setState({ cr3: 0x700000 });
      expect(g.m.step(100), name).toEqual({ kind: "unimplemented", message: "unimplemented: page walk through MMIO at 0008:00001000" });
    }
  });
});
