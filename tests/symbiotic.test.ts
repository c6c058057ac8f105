// SymSpy and SymCall with the symbiotic test kernel (tests/kernels/symbiotic.asm),
// on both engines and in the three paging modes (SymSpy pages are frames laid over
// the guest's RAM by the guest-physical map, which nested and shadow tables follow). The oracles are the ABI (Palacios' and docs/symbiotic.md:
// what each call must answer, what a bad MSR write must raise) and the guest's
// own view, which it prints: whether its registers, flags, CR2, CR3 and
// segments came back intact after every checkpoint at which the harness made
// calls, which calls it served, the faults it handled, the vector it got.
import { describe, it, expect } from "vitest";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { ENGINES, readBytes } from "./helpers.js";
import { SymcallNr } from "../src/symbiotic/abi.js";
import type { SymcallResult } from "../src/symbiotic/symcall.js";
import type { CpuState } from "../src/vmm/cpu-state.js";
import type { PagingModeName } from "../src/vmm/paging/strategy.js";

const KERNEL = new URL("./kernels/bin/symbiotic.elf", import.meta.url).pathname;
const FS_MAGIC = 0xf5f5f5f5, GS_MAGIC = 0x65656565;
const PORT_IO = 0x200, PAGE_FAULT = 0x201, EINVAL = 0x202, FOREVER = 0x203, TRIPLE = 0x204, STATE = 0x205, HALT = 0x206, NESTED = 0x207;
const TEST_VECTOR = 0x41;

function expectRefused(r: SymcallResult, pattern: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe("refused");
  expect(r.error).toMatch(pattern);
}

const RAM_BYTES = 32 << 20;
const PAGING_MODES: PagingModeName[] = ["direct", "nested", "shadow"];
const CASES = ENGINES.flatMap((engine) => PAGING_MODES.map((paging) => [engine, paging] as const));

async function boot(engine: "wasm" | "js", paging: PagingModeName = "direct") {
  const ramBytes = RAM_BYTES;
  const bytes: number[] = [];
  const pc = new Pc({ engine: await createEngine(engine, ramBytes), ramBytes, onSerial: (b) => bytes.push(b), paging });
  pc.loadKernel(readBytes(KERNEL), { path: KERNEL });
  return { pc, serial: () => Buffer.from(bytes).toString("latin1") };
}

describe.each(CASES)("symbiotic test kernel on %s, %s paging", (engine, paging) => {
  it("discovers, registers SymSpy, answers every kind of SymCall, and keeps its state", async () => {
    const { pc, serial } = await boot(engine, paging);
    expect(pc.vm.stats().paging.mode).toBe(paging);
    const vm = pc.vm;
    const sym = vm.symbiotic!;
    expect(sym).toBeTruthy();
    const results: Record<string, SymcallResult> = {};
    const checks: Record<number, () => void> = {};
    const dataWrites: number[] = [];
    let activeDuringCall: boolean | undefined;
    let nestedAttempt: SymcallResult | undefined;
    let stateBefore: CpuState | undefined, stateAfter: CpuState | undefined;

    expectRefused(sym.call(SymcallNr.TEST), /no SymSpy local page/);

    checks[1] = () => {
      expect(sym.available).toBe(false);
      expect(sym.global).toBeNull();
      expectRefused(sym.call(SymcallNr.TEST, 1), /no SymSpy local page/);
    };
    let globalFrame = -1, globalGpa = -1;
    checks[2] = () => {
      const g = sym.global!;
      expect(g.magic).toBe("V3V");
      // The page is a frame of the VMM's (beyond guest RAM) mapped at the GPA the guest gave.
      globalFrame = sym.spy.frameOf("global");
      globalGpa = g.gpa;
      expect(globalFrame).toBeGreaterThanOrEqual(RAM_BYTES);
      expect(vm.memory.lookup(g.gpa)).toMatchObject({ kind: "mapped", frame: globalFrame, write: true });
      expect(vm.memory.lookup(sym.local(0)!.gpa)).toMatchObject({ kind: "mapped", frame: sym.spy.frameOf(0) });
      expect(sym.spy.frameOf(0)).toBeGreaterThanOrEqual(RAM_BYTES);
      expect(g.ext).toEqual({ version: 1, memTotalKiB: 32768, memFreeKiB: 30000, memAvailableKiB: 31000, swapTotalKiB: 0, swapFreeKiB: 0, updates: 1, tasks: 1, stale: false });
      const l = sym.local(0)!;
      expect(l.magic).toBe("V3V.0");
      expect(l.symCallEnabled).toBe(false);
      expect(l.ext).toEqual({ version: 1, pid: 42, tid: 43, comm: "symtest", switches: 7, kernelThread: false, idle: false, stale: false });
      expectRefused(sym.call(SymcallNr.TEST), /has not enabled SymCall/);
    };
    checks[3] = () => expectRefused(sym.call(SymcallNr.TEST), /0x538\) = 0x18: GDT entry 0x18 \(CS\) is not a present 32-bit ring-0 code segment/);
    checks[4] = () => expectRefused(sym.call(SymcallNr.TEST), /is an LDT selector/);
    checks[5] = () => expectRefused(sym.call(SymcallNr.TEST), /beyond the GDT limit/);
    checks[6] = () => {
      expect(sym.available).toBe(true);
      stateBefore = vm.getState();
      results.test = sym.call(SymcallNr.TEST, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555);
      results.port = sym.call(PORT_IO, 0x12345678);
      results.fault = sym.call(PAGE_FAULT, 0, 0xcafe0001);
      results.einval = sym.call(EINVAL);
      sym.budget = 200_000;
      results.forever = sym.call(FOREVER);
      sym.budget = 10_000_000;
      results.triple = sym.call(TRIPLE);
      results.state = sym.call(STATE);
      results.halt = sym.call(HALT);
      results.nested = sym.call(NESTED);
      results.unknown = sym.call(0x999);
      results.again = sym.call(SymcallNr.TEST, 1, 2, 3, 4, 5);
      stateAfter = vm.getState();
    };
    checks[7] = () => {
      const l = sym.local(0)!;
      expect(l.ext!.stale).toBe(true);
      expect(l.ext!.pid).toBe(42); // the last consistent value, not the 99 being written
    };
    checks[9] = () => {
      // Moved: the same frame at the new GPA, the RAM frame back at the old one.
      const g = sym.global!;
      expect(g.gpa).not.toBe(globalGpa);
      expect(g.ext?.memTotalKiB).toBe(32768);
      expect(vm.memory.lookup(g.gpa)).toMatchObject({ kind: "mapped", frame: globalFrame });
      expect(vm.memory.lookup(globalGpa)).toMatchObject({ kind: "mapped", frame: globalGpa, read: true, write: true, exec: true });
      globalGpa = g.gpa;
    };
    checks[10] = () => {
      expect(sym.global).toBeNull();
      expect(sym.spy.frameOf("global")).toBe(-1);
      expect(vm.memory.lookup(globalGpa)).toMatchObject({ kind: "mapped", frame: globalGpa });
    };
    checks[8] = () => vm.requestStop({ kind: "requested", why: "checkpoint 8" });

    vm.addPortDevice(0xe00, 8, {
      name: "symbiotic-test-harness",
      read: (offset) => (offset === 4 ? (dataWrites[dataWrites.length - 1]! + 1) >>> 0 : 0xff),
      write: (offset, _size, value) => {
        if (offset === 0) checks[value]!();
        else if (offset === 1) nestedAttempt = sym.call(SymcallNr.TEST);
        else if (offset === 4) {
          dataWrites.push(value);
          activeDuringCall = sym.local(0)!.symCallActive;
          vm.injectInterrupt(TEST_VECTOR); // held: nothing is injected during a call
        }
      },
    });

    // A SymCall from inside the paging strategy's exit handler (what SwapBypass does from the shadow
    // pager's #PF exits): at the fault or EPT violation the global page's move causes at its new place.
    const fromPaging: SymcallResult[] = [];
    if (vm.paging) {
      const strategy = vm.paging, handle = strategy.handle.bind(strategy);
      strategy.handle = (exit) => {
        const gpa = exit.reason === "exception" && exit.vector === 14 ? exit.cr2 : exit.reason === "ept-violation" ? exit.gpa : -1;
        const page = sym.spy.globalPageGpa;
        if (sym.available && page !== 0 && page !== globalGpa && gpa >>> 12 === page >>> 12 && fromPaging.length === 0) {
          fromPaging.push(sym.call(SymcallNr.TEST, 0x10, 0x20, 0x30, 0x40, 0x50));
        }
        return handle(exit);
      };
    }

    let stop = vm.run(200_000_000);
    expect(stop).toEqual({ kind: "requested", why: "checkpoint 8" });
    if (vm.paging) expect(fromPaging).toMatchObject([{ ok: true, regs: [0x10, 0x20, 0x30, 0x40, 0x50].map((x) => ~x >>> 0) }]);
    // Between runs (the guest stopped at an exit boundary): a call, state unchanged.
    const between = vm.getState();
    const r1 = sym.call(SymcallNr.TEST, 7);
    expect(r1.ok && r1.regs[0]).toBe(~7 >>> 0);
    expect(vm.getState()).toEqual(between);
    // Halted, waiting for an interrupt (run() says "idle" while timers are pending, "budget"
    // when the clock is deterministic): a call, and the guest still halted afterwards.
    stop = vm.run(2_000_000);
    expect(["idle", "halted", "budget"]).toContain(stop.kind);
    const halted = vm.getState();
    expect(halted.halted).toBe(true);
    const r2 = sym.call(SymcallNr.TEST, 8);
    expect(r2.ok && r2.regs[0]).toBe(~8 >>> 0);
    expect(vm.getState()).toEqual(halted);
    vm.injectInterrupt(TEST_VECTOR);
    stop = vm.run(200_000_000);
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });

    // What the VMM got back.
    const inv = (x: number) => ~x >>> 0;
    expect(results.test).toMatchObject({ ok: true, regs: [inv(0x1111), inv(0x2222), inv(0x3333), inv(0x4444), inv(0x5555)] });
    const regs = (r: SymcallResult | undefined, n: number) => (r?.ok ? r.regs.slice(0, n) : r);
    expect(regs(results.port, 1)).toEqual([0x12345679]);
    expect(dataWrites).toEqual([0x12345678]);
    expect(activeDuringCall).toBe(true);
    expect(regs(results.fault, 3)).toEqual([0xcafe0001, 1, 0x40000000]);
    expect(results.einval).toMatchObject({ ok: false, reason: "guest-error", code: -22 });
    expect(!results.einval!.ok && results.einval!.error).toMatch(/error -22 \(EINVAL\)/);
    expect(results.forever).toMatchObject({ ok: false, reason: "budget" });
    expect(!results.forever!.ok && results.forever!.error).toMatch(/did not return within 200000 instructions/);
    expect(results.triple).toMatchObject({ ok: false, reason: "triple-fault" });
    expect(results.state).toMatchObject({ ok: true, regs: [0x08 | (0x10 << 16), 0x2, FS_MAGIC, GS_MAGIC, sym.symcall.entry(0).rsp] });
    expect(results.halt).toMatchObject({ ok: false, reason: "halted" });
    expect(regs(results.nested, 1)).toEqual([1]);
    expect(nestedAttempt).toBeDefined();
    expectRefused(nestedAttempt!, /already running/);
    expect(results.unknown).toMatchObject({ ok: false, reason: "guest-error", code: -38 });
    expect(results.again).toMatchObject({ ok: true, regs: [inv(1), inv(2), inv(3), inv(4), inv(5)] });
    expect(stateAfter).toEqual(stateBefore);
    expect(sym.local(0)!.symCallActive).toBe(false);

    // What the guest saw.
    const out = serial();
    const lines = out.split("\n");
    expect(lines).toContain("hypervisor bit: 1");
    expect(lines).toContain("cpuid 90000000: 00563356 00584d56");
    // Five bad SymSpy GPAs (beyond RAM, VGA window, above 4 GiB, top page, the other page's place), a CS that is no selector.
    expect(out.match(/^EXC 0d err 00000000 eip [0-9a-f]{8}$/gm)).toHaveLength(6);
    expect(out).not.toContain("no #GP");
    expect(lines).toContain("symspy msrs: 00000000 00000000");
    expect(lines).toContain("global msr = page: yes");
    expect(lines).toContain("local msr = page: yes");
    expect(lines).toContain("global magic: V3V");
    expect(lines).toContain("local magic: V3V.0");
    expect(lines).toContain("under the global page: 00000000"); // the VMM's frame hides the RAM mark
    expect(lines).toContain("ext: 424d5953 00000001 424d5953 00000001");
    expect(lines).toContain("moved: 00008000 214d4152 00000000"); // contents moved along; "RAM!" back at the old place
    expect(lines).toContain("withdrawn: 00000000 52415053 00000000"); // MSR 0; "SPAR" back under the spare page
    for (let i = 1; i <= 10; i++) expect(lines).toContain(`checkpoint ${i.toString(16).padStart(2, "0")}: state intact`);
    expect(out).not.toContain("STATE CHANGED");
    expect(lines.filter((l) => l === "symcall: port I/O")).toHaveLength(1);
    expect(lines).toContain("calls served: 0000000b");
    expect(lines).toContain("call log: 00000001 00000200 00000201 00000202 00000203 00000204 00000205 00000206 00000207 00000999 00000001");
    expect(lines).toContain("page faults handled: 00000001");
    expect(lines).toContain("demand page: cafe0001");
    expect(lines).toContain("vector 41: 00000001 during a call: 00000000");
    expect(lines).toContain("woke: 00000001");
    expect(lines).toContain("done");
    expect(out).not.toContain("UNEXPECTED");
    expect(out).not.toContain("BUG");
  });
});

describe("a VM without the symbiotic interfaces", () => {
  it("answers the leaf, MSRs and hypercalls as before", async () => {
    const ramBytes = 32 << 20;
    const pc = new Pc({ engine: await createEngine("wasm", ramBytes), ramBytes, onSerial: () => {}, symbiotic: false });
    expect(pc.vm.symbiotic).toBeNull();
    pc.loadKernel(readBytes(KERNEL), { path: KERNEL });
    const stop = pc.vm.run(50_000_000);
    // The kernel's first WRMSR to 0x534 with a good address is #GP without the interface: it dies there.
    expect(stop.kind).toBe("debug-exit");
  });
});
