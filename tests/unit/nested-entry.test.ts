// The run loop is re-entrant (Vm.runNested): an exit handler may run the guest
// again and the interrupted exit still completes exactly once. And an interrupt
// that becomes deliverable right after STI's shadow is delivered there, whether
// the next instructions are cached or not. Both engines, cache on and off.
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { BareMachine } from "../../src/machine/bare.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { ENGINES } from "../helpers.js";

const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });
const PM = { cr0: 0x11, cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32), esp: 0x8000 };

async function machine(kind: "wasm" | "js", tcache: boolean) {
  const ram = 2 << 20;
  const m = new BareMachine({ engine: await createEngine(kind, ram), ramBytes: ram });
  m.vm.setTranslationCache(tcache);
  return m;
}

describe.each(ENGINES.flatMap((e) => [[e, true], [e, false]] as const))("on %s (translation cache %s)", (kind, tcache) => {
  it("an IN whose handler enters the guest again completes once, with the handler's value", async () => {
    const m = await machine(kind, tcache);
    const vm = m.vm;
    // 0x1000: mov dx, 0x300; in eax, dx; hlt          (the interrupted instruction)
    m.writeMemory(0x1000, [0x66, 0xba, 0x00, 0x03, 0xed, 0xf4]);
    // 0x2000: mov dx, 0x301; in eax, dx; out dx, eax; mov eax, 0x77; vmcall   (the nested code: an input exit of its own)
    m.writeMemory(0x2000, [0x66, 0xba, 0x01, 0x03, 0xed, 0xef, 0xb8, 0x77, 0, 0, 0, 0x0f, 0x01, 0xc1]);
    const reads: number[] = [];
    const writes: number[] = [];
    let returned = false;
    vm.onHypercall(0x77, () => { returned = true; });
    vm.addPortDevice(0x300, 8, {
      name: "nesting",
      read: (offset) => {
        reads.push(0x300 + offset);
        if (offset === 1) return 0x5555aaaa;
        const saved = vm.getState();
        returned = false;
        vm.setState({ eip: 0x2000 });
        const r = vm.runNested(1000, () => returned);
        vm.setState(saved);
        expect(r.kind).toBe("done");
        return 0xabcd1234;
      },
      write: (offset, _size, value) => { writes.push(value); },
    });
    m.setState({ ...PM, eip: 0x1000 });
    expect(m.step(100).kind).toBe("halted");
    expect(reads).toEqual([0x300, 0x301]);
    expect(writes).toEqual([0x5555aaaa]);
    expect(m.getState().eax).toBe(0xabcd1234);
  });

  it("delivers a pending interrupt right after STI's shadow, inside what would be one cached block", async () => {
    const m = await machine(kind, tcache);
    // IDT at 0x3000 with vector 0x41 → 0x4000: inc dword [0x5000]; iretd
    const gate = new Uint8Array(8);
    const dv = new DataView(gate.buffer);
    dv.setUint16(0, 0x4000, true); dv.setUint16(2, 8, true); gate[5] = 0x8e; dv.setUint16(6, 0, true);
    m.writeMemory(0x3000 + 0x41 * 8, gate);
    m.writeMemory(0x4000, [0xff, 0x05, 0x00, 0x50, 0x00, 0x00, 0xcf]);
    // 0x1000: twice (so the second run replays a cached block): sti; nop; nop; cli; ...; hlt
    m.writeMemory(0x1000, [0xfb, 0x90, 0x90, 0xfa, 0x90, 0x90, 0xf4]);
    // GDT at 0x6000: null, code 0x08, data 0x10
    m.writeMemory(0x6000, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0]);
    const setup = { ...PM, gdtr: { base: 0x6000, limit: 23 }, idtr: { base: 0x3000, limit: 0x7ff }, eflags: 2, halted: false };
    for (let round = 1; round <= 3; round++) {
      m.setState({ ...setup, eip: 0x1000 });
      m.vm.injectInterrupt(0x41);
      expect(m.step(100).kind).toBe("halted");
      expect(new DataView(m.readMemory(0x5000, 4).buffer).getUint32(0, true)).toBe(round);
      // The handler ran between the NOPs: it returned to the second NOP, not after the CLI.
    }
  });
});
