// Nested paging (src/vmm/paging/nested.ts): the 2-D walk's cost is what the
// architecture says it is, and a VMM change to the guest-physical map drops
// exactly the translations derived from it. Both engines.
import { describe, it, expect } from "vitest";
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { NestedPaging } from "../../src/vmm/paging/index.js";
import { ENGINES } from "../helpers.js";

const RAM = 8 << 20;
const PD = 0x10000, PT_LOW = 0x11000, PT_DATA = 0x12000;
const DATA_LIN = 0x400000, DATA_PHYS = 0x200000;
const N = 16;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
// Present, writable, accessed and dirty: the walk writes no A/D bits, so it reads only.
const PTE = 0x63;

// mov esi, DATA_LIN ; mov ecx, N ; l: mov eax, [esi] ; add esi, 0x1000 ; loop l ; hlt
const LOOP = [0xbe, ...le32(DATA_LIN), 0xb9, ...le32(N), 0x8b, 0x06, 0x81, 0xc6, ...le32(0x1000), 0xe2, 0xf6, 0xf4];

async function pagedMachine(kind: (typeof ENGINES)[number], largePages: boolean) {
  const m = new BareMachine({ engine: await createEngine(kind, RAM), ramBytes: RAM });
  const paging = new NestedPaging({ largePages });
  m.vm.setPaging(paging);
  const mem = m.vm.memory;
  // Guest tables: 0-4 MiB identity (code), DATA_LIN.. → DATA_PHYS.. (N pages).
  mem.writeU32(PD, PT_LOW | PTE);
  mem.writeU32(PD + (DATA_LIN >>> 22) * 4, PT_DATA | PTE);
  for (let i = 0; i < 1024; i++) mem.writeU32(PT_LOW + i * 4, (i << 12) | PTE);
  for (let i = 0; i < N; i++) {
    mem.writeU32(PT_DATA + i * 4, (DATA_PHYS + i * 0x1000) | PTE);
    mem.writeU32(DATA_PHYS + i * 0x1000, 0x1000 + i);
  }
  m.writeMemory(0x1000, LOOP);
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  const start = () => m.setState({
    cr0: 0x80000011, cr3: PD, cr4: 0, eip: 0x1000, eflags: 2, cpl: 0, halted: false, // setState's CR3 write empties the TLB
    cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16), es: flat(Attr.flatData32, 16), ss: flat(Attr.flatData32, 16),
  });
  start();
  return { m, mem, start };
}

const stat = (m: BareMachine) => {
  const p = m.vm.stats().paging;
  return { walks: p.nestedWalks, refs: p.nestedRefs, misses: m.vm.stats().tlbMisses };
};
const delta = (a: ReturnType<typeof stat>, b: ReturnType<typeof stat>) => ({ walks: b.walks - a.walks, refs: b.refs - a.refs, misses: b.misses - a.misses });

describe.each(ENGINES)("nested paging on %s", (kind) => {
  // A TLB miss under 2-level guest tables translates three guest-physical addresses through
  // the nested tables: the PDE's, the PTE's and the final one (SDM 28.2, "EPT translation";
  // AMD APM 15.25.5). Each nested translation reads one entry per nested level.
  it("walks 2 nested levels per guest-physical address with 4 KiB nested pages: 8 references per TLB miss", async () => {
    const { m, start } = await pagedMachine(kind, false);
    expect(m.step(1000).kind).toBe("halted"); // fills the nested tables
    start();
    const before = stat(m);
    expect(m.step(1000).kind).toBe("halted");
    expect(m.getState().eax).toBe(0x1000 + N - 1);
    const d = delta(before, stat(m));
    const misses = N + 1; // N data pages and the code page
    expect(d.misses).toBe(misses);
    expect(d.walks).toBe(3 * misses);
    expect(d.refs).toBe(3 * 2 * misses); // + 2 guest references: 8 per miss
  });

  it("walks 1 nested level with 4 MiB nested pages: 5 references per TLB miss", async () => {
    const { m, start } = await pagedMachine(kind, true);
    expect(m.step(1000).kind).toBe("halted");
    start();
    const before = stat(m);
    expect(m.step(1000).kind).toBe("halted");
    const d = delta(before, stat(m));
    expect(d.walks).toBe(3 * (N + 1));
    expect(d.refs).toBe(3 * 1 * (N + 1));
    expect(m.vm.stats().paging.nptLargeFills).toBeGreaterThan(0);
  });

  it("drops only the translations a map change makes stale", async () => {
    const { m, mem } = await pagedMachine(kind, false);
    // Run the loop twice without refilling anything: the second pass hits the TLB everywhere.
    const again = () => m.setState({ eip: 0x1000, halted: false }); // (a plain EIP change keeps the TLB)
    expect(m.step(1000).kind).toBe("halted");
    again();
    let before = stat(m);
    expect(m.step(1000).kind).toBe("halted");
    expect(delta(before, stat(m)).misses).toBe(0);
    // The VMM moves one data page to another host frame: one TLB refill, and the guest sees the new frame.
    const frame = mem.allocFrame();
    mem.writeHost(frame, Uint8Array.from(le32(0xabcdef)));
    mem.map(DATA_PHYS + (N - 1) * 0x1000, frame);
    again();
    before = stat(m);
    expect(m.step(1000).kind).toBe("halted");
    expect(delta(before, stat(m)).misses).toBe(1);
    expect(m.getState().eax).toBe(0xabcdef);
  });
});
