// A bare machine with hand-built 32-bit guest page tables, for the paging
// tests: the low 4 MiB identity-mapped (code at 0x1000, tables at 0x10000),
// and N data pages at DATA_LIN mapped to DATA_PHYS. Entry bits are the test's
// choice (accessed/dirty preset or not), so that what the walk and the VMM
// must do to them is known from the architecture.
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";
import type { PagingStrategy } from "../../src/vmm/paging/index.js";

export const RAM = 8 << 20;
export const CODE = 0x1000;
export const PD = 0x10000, PT_LOW = 0x11000, PT_DATA = 0x12000;
export const DATA_LIN = 0x400000, DATA_PHYS = 0x200000;
export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

export interface PagedGuest {
  m: BareMachine;
  /** Start (again) at CODE with paging on: setState's CR3 write empties the TLB. */
  start(): void;
}

export async function pagedGuest(kind: EngineKind, opts: { code: number[]; pages: number; pte: number; paging?: PagingStrategy }): Promise<PagedGuest> {
  const m = new BareMachine({ engine: await createEngine(kind, RAM), ramBytes: RAM });
  if (opts.paging) m.vm.setPaging(opts.paging);
  const mem = m.vm.memory;
  mem.writeU32(PD, PT_LOW | opts.pte);
  mem.writeU32(PD + (DATA_LIN >>> 22) * 4, PT_DATA | opts.pte);
  for (let i = 0; i < 1024; i++) mem.writeU32(PT_LOW + i * 4, (i << 12) | opts.pte);
  for (let i = 0; i < opts.pages; i++) {
    mem.writeU32(PT_DATA + i * 4, (DATA_PHYS + i * 0x1000) | opts.pte);
    mem.writeU32(DATA_PHYS + i * 0x1000, 0x1000 + i);
  }
  m.writeMemory(CODE, opts.code);
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  const start = () => m.setState({
    cr0: 0x80000011, cr3: PD, cr4: 0, eip: CODE, eflags: 2, cpl: 0, halted: false, esp: 0x8000,
    cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16), es: flat(Attr.flatData32, 16), ss: flat(Attr.flatData32, 16),
  });
  start();
  return { m, start };
}

/** mov esi, DATA_LIN ; mov ecx, n ; l: mov eax, [esi] ; add esi, 0x1000 ; loop l */
export const touchPages = (n: number) => [0xbe, ...le32(DATA_LIN), 0xb9, ...le32(n), 0x8b, 0x06, 0x81, 0xc6, ...le32(0x1000), 0xe2, 0xf6];
