// Nested paging (src/vmm/paging/nested.ts): the 2-D walk's cost is what the
// architecture says it is, and a VMM change to the guest-physical map drops
// exactly the translations derived from it. Both engines.
import { describe, it, expect } from "vitest";
import type { BareMachine } from "../../src/machine/bare.js";
import { NestedPaging } from "../../src/vmm/paging/index.js";
import { ENGINES } from "../helpers.js";
import { pagedGuest, touchPages, le32, DATA_PHYS } from "../support/paged-guest.js";

const N = 16;
// Present, writable, accessed and dirty: the walk writes no A/D bits, so it reads only.
const PTE = 0x63;

async function pagedMachine(kind: (typeof ENGINES)[number], largePages: boolean) {
  const g = await pagedGuest(kind, { code: [...touchPages(N), 0xf4], pages: N, pte: PTE, paging: new NestedPaging({ largePages }) });
  return { m: g.m, mem: g.m.vm.memory, start: g.start };
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
