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

// A flat protected-mode machine with a GDT (0x6000) and an IDT (0x3000) whose gates 2 (NMI), 6 (#UD) and
// 0x41 each go to a handler that counts (0x5004 + 4·k) and logs the EIP it interrupted (0x5024 + 4·k).
const HANDLED = [2, 6, 0x41] as const;
async function withIdt(kind: "wasm" | "js", tcache: boolean) {
  const m = await machine(kind, tcache);
  m.writeMemory(0x6000, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0]);
  HANDLED.forEach((vector, k) => {
    const at = 0x4000 + k * 0x40, count = 0x5004 + 4 * k, log = 0x5024 + 4 * k;
    const le = (x: number) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
    // push eax; mov eax, [esp+4]; mov [log], eax; inc dword [count]; pop eax; iretd
    m.writeMemory(at, [0x50, 0x8b, 0x44, 0x24, 0x04, 0xa3, ...le(log), 0xff, 0x05, ...le(count), 0x58, 0xcf]);
    m.writeMemory(0x3000 + vector * 8, [at & 0xff, at >> 8, 8, 0, 0, 0x8e, 0, 0]);
  });
  const setup = { ...PM, gdtr: { base: 0x6000, limit: 23 }, idtr: { base: 0x3000, limit: 0x7ff }, halted: false };
  const word = (a: number) => new DataView(m.readMemory(a, 4).buffer).getUint32(0, true);
  return { m, setup, counts: () => HANDLED.map((_, k) => word(0x5004 + 4 * k)), eips: () => HANDLED.map((_, k) => word(0x5024 + 4 * k)) };
}

describe.each(ENGINES.flatMap((e) => [[e, true], [e, false]] as const))("events around a nested entry on %s (translation cache %s)", (kind, tcache) => {
  it("an exception and an NMI injected before it, and an interrupt during it, are delivered after it, not inside", async () => {
    const { m, setup, counts, eips } = await withIdt(kind, tcache);
    const vm = m.vm;
    // 0x1000: mov dx, 0x300; out dx, al; hlt      0x2000 (nested): nop × 3; mov eax, 0x77; vmcall
    m.writeMemory(0x1000, [0x66, 0xba, 0x00, 0x03, 0xee, 0xf4]);
    m.writeMemory(0x2000, [0x90, 0x90, 0x90, 0xb8, 0x77, 0, 0, 0, 0x0f, 0x01, 0xc1]);
    let returned = false;
    vm.onHypercall(0x77, () => { returned = true; });
    vm.addPortDevice(0x300, 1, {
      name: "nesting",
      read: () => 0xff,
      write: () => {
        vm.injectException(6);   // for the interrupted context, at its next entry
        vm.nmiVcpu(0);
        const saved = vm.getState();
        vm.setState({ eip: 0x2000 });
        const r = vm.runNested(1000, () => returned, { enter: () => vm.injectInterrupt(0x41) });
        vm.setState(saved);
        expect(r).toEqual({ kind: "done", instructions: 5 });
      },
    });
    m.setState({ ...setup, eip: 0x1000, eflags: 0x202 });
    expect(m.step(1000).kind).toBe("halted");
    expect(counts()).toEqual([1, 1, 1]);
    // All three interrupted the main code (after the OUT, at the HLT), none the nested code at 0x2000.
    for (const eip of eips()) expect(eip === 0x1005 || (eip >= 0x4000 && eip < 0x4100)).toBe(true);
  });

  it("a nested entry on another vCPU (Vm.withVcpu) runs that vCPU's state and puts the interrupted one back", async () => {
    const { m, setup } = await withIdt(kind, tcache);
    const vm = m.vm;
    // vCPU 0 at 0x1000: mov dx, 0x300; in eax, dx; hlt        vCPU 1 at 0x2000: add ebx, ecx; mov eax, 0x77; vmcall; hlt
    m.writeMemory(0x1000, [0x66, 0xba, 0x00, 0x03, 0xed, 0xf4]);
    m.writeMemory(0x2000, [0x01, 0xcb, 0xb8, 0x77, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xf4]);
    const v1 = vm.addVcpu();
    vm.switchTo(1);
    v1.waitingForSipi = false;
    m.setState({ ...setup, eip: 0x2000, ebx: 0x2000, ecx: 0x22, eflags: 2 });
    vm.switchTo(0);
    let returned = false, ranOn = -1;
    vm.onHypercall(0x77, () => { returned = true; ranOn = vm.vcpu.index; });
    vm.addPortDevice(0x300, 4, {
      name: "other-vcpu",
      read: () => {
        const r = vm.withVcpu(1, () => vm.runNested(1000, () => returned));
        expect(r.kind).toBe("done");
        expect(vm.vcpu.index).toBe(0);
        return 0xabcd1234;
      },
      write: () => {},
    });
    m.setState({ ...setup, eip: 0x1000, ebx: 0x1111, ecx: 0x33, eflags: 2 });
    expect(m.step(1000).kind).toBe("halted");
    expect(ranOn).toBe(1);
    // vCPU 0: its IN completed with the handler's value, its registers untouched.
    vm.switchTo(0);
    expect(m.getState()).toMatchObject({ eax: 0xabcd1234, ebx: 0x1111, ecx: 0x33, eip: 0x1006 });
    // vCPU 1: where its nested code left it (then the scheduler gave it its turn: the HLT).
    vm.switchTo(1);
    expect(m.getState()).toMatchObject({ eax: 0x77, ebx: 0x2022, eip: 0x200b, halted: true });
  });
});
