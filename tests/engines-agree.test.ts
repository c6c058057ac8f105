// The two engines must agree bit for bit. Values above 0x7fffffff are where
// JavaScript's numbers and Wasm's i32 part ways (a literal stays positive in
// JS), so this runs CPUID's extended leaves and the EFER MSR on both engines.
import { describe, it, expect } from "vitest";
import { createEngine } from "../src/node/engines.js";
import { BareMachine } from "../src/machine/bare.js";
import { Attr } from "../src/vmm/cpu-state.js";
import type { EngineKind } from "../src/engine/engine.js";

const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });

async function probe(kind: EngineKind) {
  const ram = 2 << 20;
  const m = new BareMachine({ engine: await createEngine(kind, ram), ramBytes: ram });
  const out: number[] = [];
  for (const leaf of [0, 1, 0x80000000, 0x80000001]) {
    m.setState({ cr0: 0x11, cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32), eip: 0x1000, eax: leaf, ecx: 0, halted: false });
    m.writeMemory(0x1000, [0x0f, 0xa2, 0xf4]); // cpuid; hlt
    expect(m.step(2).kind).toBe("halted");
    const s = m.getState();
    out.push(s.eax, s.ebx, s.ecx, s.edx);
  }
  // WRMSR then RDMSR of EFER (0xC0000080): NXE round-trips.
  m.setState({ eip: 0x1000, ecx: 0xc0000080, eax: 0x800, edx: 0, halted: false });
  m.writeMemory(0x1000, [0x0f, 0x30, 0x31, 0xc0, 0x0f, 0x32, 0xf4]); // wrmsr; xor eax,eax; rdmsr; hlt
  expect(m.step(4).kind).toBe("halted");
  out.push(m.getState().eax);
  return out;
}

describe("engines agree where JS numbers and i32 differ", () => {
  it("CPUID extended leaves and the EFER MSR", async () => {
    const wasm = await probe("wasm");
    const js = await probe("js");
    expect(js).toEqual(wasm);
    expect(wasm[8]).toBe(0x80000001); // leaf 0x80000000 reports the highest extended leaf
    expect(wasm[wasm.length - 1]).toBe(0x800); // EFER.NXE read back
  });
});
