// Region boundaries under the region compiler (compiling every block after
// one replay), with the JS engine (no compiler: replay and the interpreter)
// as the second witness:
// - a loop whose two halves sit on two pages (one region spanning both, the
//   jump between them checked against the TLB), the guest unmapping the second
//   page inside the loop. SDM vol. 3, 4.7 and 6.15: the fetch from the
//   not-present page is a #PF with CR2 = the address, error code 0
//   (supervisor, read/fetch, not present; 32-bit paging reports no I/D bit),
//   and EIP = the instruction that could not be fetched. The VMM intercepts
//   #PF through the exception bitmap, so the fault is seen with the registers
//   as they were.
// - external interrupts injected while a compiled loop runs: each is taken
//   once (SDM 6.8.1), between instructions, at the same instruction on both
//   engines (the run() budget splits the loop at the same points).
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { BareMachine } from "../../src/machine/bare.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { Control } from "../../src/engine/core.js";
import type { EngineKind } from "../../src/engine/engine.js";
import { COMPILE_EAGERLY } from "../helpers.js";

// At 0x3FE0 (nasm, bits 32), the loop's first half at the end of one page, its second at 0x4000:
//   start: inc eax                    40
//          cmp eax, 50                83 F8 32
//          jne go                     75 11
//          mov dword [0x11010], 0     C7 05 10 10 01 00 00 00 00 00   (PTE of 0x4000: not present)
//          invlpg [0x4000]            0F 01 3D 00 40 00 00
//   go:    jmp 0x4000                 E9 04 00 00 00
//          (4 × nop)
//   0x4000: inc ebx                   43
//          cmp ebx, 1000              81 FB E8 03 00 00
//          jb start                   72 D7
//          hlt                        F4
const CODE = [
  0x40, 0x83, 0xf8, 0x32, 0x75, 0x11, 0xc7, 0x05, 0x10, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x01, 0x3d, 0x00,
  0x40, 0x00, 0x00, 0xe9, 0x04, 0x00, 0x00, 0x00, 0x90, 0x90, 0x90, 0x90, 0x43, 0x81, 0xfb, 0xe8, 0x03, 0x00, 0x00, 0x72,
  0xd7, 0xf4,
];
const RAM = 4 << 20;
const PD = 0x10000, PT = 0x11000;
const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });

interface Fault { vector: number; errorCode: number | null; cr2: number; eip: number; eax: number; ebx: number; compiled: number; perEntry: number }

async function run(kind: EngineKind): Promise<Fault> {
  const engine = await createEngine(kind, RAM, COMPILE_EAGERLY);
  const m = new BareMachine({ engine, ramBytes: RAM });
  // 32-bit paging, the first 4 MiB identity-mapped with 4 KiB pages.
  const pd = new DataView(new ArrayBuffer(4096)), pt = new DataView(new ArrayBuffer(4096));
  pd.setUint32(0, PT | 3, true);
  for (let i = 0; i < 1024; i++) pt.setUint32(4 * i, (i << 12) | 3, true);
  m.writeMemory(PD, new Uint8Array(pd.buffer));
  m.writeMemory(PT, new Uint8Array(pt.buffer));
  m.writeMemory(0x3fe0, CODE);
  m.setState({
    cr0: 0x80000011, cr3: PD, eip: 0x3fe0, eax: 0, ebx: 0, halted: false,
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
  });
  m.vm.setControl(Control.ExceptionBitmap, 1 << 14);
  let fault: Fault | null = null;
  m.vm.onException((exit, vm) => {
    const s = vm.getState();
    fault = { vector: exit.vector, errorCode: exit.errorCode, cr2: exit.cr2, eip: s.eip, eax: s.eax, ebx: s.ebx, compiled: 0, perEntry: 0 };
    return { kind: "requested", why: "the test stops at the fault" };
  });
  // Runs of 50 instructions: the Wasm engine compiles what was queued between them.
  for (let i = 0; i < 10_000 && fault === null; i++) {
    const stop = m.step(50);
    if (stop.kind !== "budget" && stop.kind !== "requested") throw new Error(`stopped: ${JSON.stringify(stop)}`);
  }
  if (fault === null) throw new Error("no fault");
  const f = fault as Fault;
  const t = m.vm.stats().tcache;
  f.compiled = t.compiledInstructions;
  f.perEntry = t.regionEntries ? t.compiledInstructions / t.regionEntries : 0;
  return f;
}

describe("regions across pages (SDM 4.7, 6.15)", () => {
  it("a loop spread over two pages faults at the second page's first instruction once the guest unmaps it", async () => {
    // 50 turns of the first half, 49 of the second: the 50th jump to 0x4000 cannot fetch.
    const expected = { vector: 14, errorCode: 0, cr2: 0x4000, eip: 0x4000, eax: 50, ebx: 49 };
    const wasm = await run("wasm");
    const js = await run("js");
    expect(wasm).toMatchObject(expected);
    expect(js).toMatchObject(expected);
    // The loop did run compiled, several turns per entry into its region: the jumps between the
    // two pages stayed inside it (a region ends at every instruction otherwise).
    expect(wasm.compiled).toBeGreaterThan(0);
    expect(wasm.perEntry).toBeGreaterThan(10);
  });
});

// At 0x1000: loop: inc eax; add ebx, eax; cmp eax, 20000; jb loop; hlt. At 0x6000 (vector 0x20's
// interrupt gate): inc esi; add edi, eax; iret.
const LOOP = [0x40, 0x01, 0xc3, 0x3d, 0x20, 0x4e, 0x00, 0x00, 0x72, 0xf6, 0xf4];
const HANDLER = [0x46, 0x01, 0xc7, 0xcf];

async function interrupted(kind: EngineKind) {
  const engine = await createEngine(kind, RAM, COMPILE_EAGERLY);
  const m = new BareMachine({ engine, ramBytes: RAM });
  m.writeMemory(0x1000, LOOP);
  m.writeMemory(0x6000, HANDLER);
  // GDT at 0x800 (null, flat code 0x08, flat data 0x10); IDT at 0x5000: vector 0x20 -> 0x08:0x6000,
  // a 32-bit interrupt gate, DPL 0.
  m.writeMemory(0x800, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);
  m.writeMemory(0x5000 + 8 * 0x20, [0x00, 0x60, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00]);
  m.setState({
    cr0: 0x11, eip: 0x1000, eax: 0, ebx: 0, esi: 0, edi: 0, esp: 0x9000, eflags: 0x202, halted: false,
    gdtr: { base: 0x800, limit: 23 }, idtr: { base: 0x5000, limit: 0x7ff },
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
  });
  let injected = 0;
  for (let i = 0; i < 100_000; i++) {
    const stop = m.step(37);
    if (stop.kind === "halted") break;
    if (stop.kind !== "budget") throw new Error(`stopped: ${JSON.stringify(stop)}`);
    if (i % 5 === 4) { m.vm.core.injectInterrupt(0x20); injected++; }
  }
  const s = m.getState();
  return { eax: s.eax, ebx: s.ebx, esi: s.esi, edi: s.edi, esp: s.esp, eip: s.eip, retired: m.instructions, injected, compiled: m.vm.stats().tcache.compiledInstructions };
}

describe("interrupts into compiled loops (SDM 6.8.1)", () => {
  it("each injected interrupt is taken once, at the same instruction as without the compiler", async () => {
    const wasm = await interrupted("wasm");
    const js = await interrupted("js");
    expect(wasm.eax).toBe(20000);
    expect(wasm.ebx).toBe((20000 * 20001 / 2) >>> 0);
    expect(wasm.esi).toBe(wasm.injected); // every interrupt delivered once
    expect(wasm.esp).toBe(0x9000);        // every handler returned
    expect(wasm.eip).toBe(0x100b);        // after the HLT
    const { compiled: _c, ...same } = wasm;
    const { compiled: _j, ...sameJs } = js;
    expect(same).toEqual(sameJs);         // EDI sums EAX where each interrupt landed: the same points
    expect(wasm.compiled).toBeGreaterThan(0);
  });
});
