// Segment checks inside loops the region compiler compiles (compiling every
// block after one replay), against the SDM — QEMU's TCG does not check data
// segment types and limits, so tests/kernels/segbase.asm (recorded with QEMU)
// leaves these out. SDM vol. 3, 5.3 and 5.4: a write through a read-only data
// segment and an access past a data segment's limit (any byte of it) raise
// #GP(0), before the instruction changes anything. The VMM intercepts #GP
// through the exception bitmap (Control.ExceptionBitmap), so the fault is
// reported with the registers as they were at the faulting instruction.
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { BareMachine } from "../../src/machine/bare.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";
import { COMPILE_EAGERLY, runToException } from "../helpers.js";

// At 0x1000 (nasm, bits 32):
//        xor esi, esi                    31 F6
//        xor ecx, ecx                    31 C9
//   l:   add esi, [fs:ecx*4 + 0x100000]  64 03 34 8D 00 00 10 00
//        cmp ecx, 4                      83 F9 04
//        jne n                           75 07
//        mov [fs:0x100000], esi          64 89 35 00 00 10 00     (0x1011)
//   n:   inc ecx                         41
//        cmp ecx, 64                     83 F9 40
//        jb l                            72 E6
//        hlt                             F4
//   l2:  add esi, [gs:ecx]               65 03 31                 (0x101F)
//        inc ecx                         41
//        jmp l2                          EB FA
const CODE = [
  0x31, 0xf6, 0x31, 0xc9, 0x64, 0x03, 0x34, 0x8d, 0x00, 0x00, 0x10, 0x00, 0x83, 0xf9, 0x04, 0x75, 0x07, 0x64, 0x89, 0x35,
  0x00, 0x00, 0x10, 0x00, 0x41, 0x83, 0xf9, 0x40, 0x72, 0xe6, 0xf4, 0x65, 0x03, 0x31, 0x41, 0xeb, 0xfa,
];
const RO_WRITE = 0x1011, LIMIT_LOOP = 0x101f;
const RAM = 4 << 20;
const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });

interface Fault { vector: number; errorCode: number | null; eip: number; esi: number; ecx: number; compiled: number }

async function run(kind: EngineKind, start: number, ecx: number): Promise<Fault> {
  const engine = await createEngine(kind, RAM, COMPILE_EAGERLY);
  const m = new BareMachine({ engine, ramBytes: RAM });
  m.writeMemory(0x1000, CODE);
  // Dwords i * 3 + 1 at 2 MiB: FS (base 1 MiB, 4 GiB, read-only) reads them at offset 1 MiB + 4i.
  const data = new Uint8Array(0x1000);
  for (let i = 0; i < 0x400; i++) new DataView(data.buffer).setUint32(4 * i, i * 3 + 1, true);
  m.writeMemory(0x200000, data);
  m.setState({
    cr0: 0x11, eip: start, esi: 0, ecx, halted: false,
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
    fs: { selector: 0x18, base: 0x100000, limit: 0xffffffff, attr: 0xc091 }, // read-only data, 4 GiB, based
    gs: { selector: 0x20, base: 0x200000, limit: 0xfff, attr: 0x4093 },      // read/write data, byte limit 0xFFF
  });
  const f: Fault = runToException(m, 13, 5, (exit, vm) => {
    const s = vm.getState();
    return { vector: exit.vector, errorCode: exit.errorCode, eip: s.eip, esi: s.esi, ecx: s.ecx, compiled: 0 };
  });
  f.compiled = m.vm.stats().tcache.compiledInstructions;
  return f;
}

describe("segment checks in compiled loops (SDM 5.3, 5.4)", () => {
  it("a write through a read-only 4 GiB segment with a base raises #GP(0) on the loop's 5th turn", async () => {
    // The loop added dwords 0..4 (1 + 4 + 7 + 10 + 13 = 35) and stopped at the MOV, ECX = 4.
    const expected = { vector: 13, errorCode: 0, eip: RO_WRITE, esi: 35, ecx: 4 };
    const wasm = await run("wasm", 0x1000, 0);
    const js = await run("js", 0x1000, 0);
    expect(wasm).toMatchObject(expected);
    expect(js).toMatchObject(expected);
    expect(wasm.compiled).toBeGreaterThan(0); // (the loop did run compiled)
  });

  it("a dword read crossing a byte limit of 0xFFF raises #GP(0) at offset 0xFFD", async () => {
    // Offsets 0xF00..0xFFC were read: dwords at byte offsets, so each reads bytes from two
    // stored dwords; the sum is computed here from the same bytes.
    const mem = new DataView(new ArrayBuffer(0x1004));
    for (let i = 0; i < 0x400; i++) mem.setUint32(4 * i, i * 3 + 1, true);
    let sum = 0;
    for (let off = 0xf00; off <= 0xffc; off++) sum = (sum + mem.getUint32(off, true)) >>> 0;
    const expected = { vector: 13, errorCode: 0, eip: LIMIT_LOOP, esi: sum, ecx: 0xffd };
    const wasm = await run("wasm", LIMIT_LOOP, 0xf00);
    const js = await run("js", LIMIT_LOOP, 0xf00);
    expect(wasm).toMatchObject(expected);
    expect(js).toMatchObject(expected);
    expect(wasm.compiled).toBeGreaterThan(0); // (the loop did run compiled)
  });
});

// What a compiled region needs of the segments is what its code relies on, not the whole
// segment state it was compiled in: Linux's kernel code, compiled while one process ran (GS
// its TLS segment), must run compiled in another (a kernel thread, GS null) — it never uses GS
// — while code that does use a segment must not run on the fast path once that segment has
// become less flat (SDM 5.3: an access past the limit raises #GP(0)).
//
// At 0x2000 (nasm, bits 32):
//   l:   add esi, [ecx*4 + 0x200000]   03 34 8D 00 00 20 00     (DS only)
//        inc ecx                       41
//        cmp ecx, 64                   83 F9 40
//        jb l                          72 F3
//        hlt                           F4
//   l3:  mov gs, dx                    8E EA                    (0x200E)
//        add esi, [gs:ecx]             65 03 31                 (0x2010)
//        inc ecx                       41
//        cmp ecx, 0x7f0                81 F9 F0 07 00 00
//        jne n3                        75 02
//        mov dl, 0x28                  B2 28                    (GS byte-limited from the next turn on)
//   n3:  jmp l3                        EB EE
const CODE2 = [
  0x03, 0x34, 0x8d, 0x00, 0x00, 0x20, 0x00, 0x41, 0x83, 0xf9, 0x40, 0x72, 0xf3, 0xf4, 0x8e, 0xea, 0x65, 0x03, 0x31, 0x41,
  0x81, 0xf9, 0xf0, 0x07, 0x00, 0x00, 0x75, 0x02, 0xb2, 0x28, 0xeb, 0xee,
];
const DS_LOOP = 0x2000, GS_LOOP = 0x200e, GS_READ = 0x2010;
// GDT: 0x28 read/write data, base 0x200000, byte limit 0x7FF (mid-page: the TLB's page-crossing slow path cannot
// hide a missing limit check); 0x30 the same base with 4 GiB. The other entries are never loaded.
const GDT = 0x3000, LIMITED_GS = 0x28, BASED_GS = 0x30;
const tls = { selector: 0x33, base: 0x300000, limit: 0xffffffff, attr: 0xc093 };    // a TLS-like segment: 4 GiB, based
const nullGs = { selector: 0, base: 0, limit: 0, attr: 0 };
const basedGs = { selector: BASED_GS, base: 0x200000, limit: 0xffffffff, attr: 0xc093 };
const limitedGs = { selector: LIMITED_GS, base: 0x200000, limit: 0x7ff, attr: 0x4093 };

async function machine2(kind: EngineKind): Promise<BareMachine> {
  const m = new BareMachine({ engine: await createEngine(kind, RAM, COMPILE_EAGERLY), ramBytes: RAM });
  m.writeMemory(DS_LOOP, CODE2);
  const data = new Uint8Array(0x1000);
  for (let i = 0; i < 0x400; i++) new DataView(data.buffer).setUint32(4 * i, i * 3 + 1, true);
  m.writeMemory(0x200000, data);
  m.writeMemory(GDT + LIMITED_GS, [0xff, 0x07, 0x00, 0x00, 0x20, 0x93, 0x40, 0x00]);
  m.writeMemory(GDT + BASED_GS, [0xff, 0xff, 0x00, 0x00, 0x20, 0x93, 0xcf, 0x00]);
  return m;
}
type Seg = { selector: number; base: number; limit: number; attr: number };
function enter(m: BareMachine, eip: number, ecx: number, gs: Seg, edx = gs.selector): void {
  m.setState({
    cr0: 0x11, eip, esi: 0, ecx, edx, halted: false, gdtr: { base: GDT, limit: 0x37 },
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
    fs: flat(0x10, Attr.flatData32), gs,
  });
}
/** Run to HLT: ESI, and the instructions that ran compiled meanwhile. */
function runToHlt(m: BareMachine): { esi: number; compiled: number } {
  const before = m.vm.stats().tcache.compiledInstructions;
  for (let i = 0; i < 1000 && !m.vm.getState().halted; i++) {
    const stop = m.step(50);
    if (stop.kind !== "budget" && stop.kind !== "halted") throw new Error(`stopped: ${JSON.stringify(stop)}`);
  }
  return { esi: m.vm.getState().esi, compiled: m.vm.stats().tcache.compiledInstructions - before };
}
/** Run to #GP in one slice: a region, once entered, runs on until the fault (no re-entry checks in between). */
function runToGp(m: BareMachine) {
  return runToException(m, 13, 100_000, (exit, vm) => {
    const s = vm.getState();
    return { vector: exit.vector, errorCode: exit.errorCode, eip: s.eip, esi: s.esi, ecx: s.ecx, gs: s.gs.selector };
  });
}

describe("what a compiled region needs of the segments", () => {
  // 1 + 4 + … + (3·63 + 1): the 64 dwords the DS loop adds.
  const DS_SUM = 3 * (63 * 64) / 2 + 64;

  it("a loop that never uses GS, compiled with GS a based 4 GiB segment, runs compiled with GS null", async () => {
    for (const kind of ["wasm", "js"] as const) {
      const m = await machine2(kind);
      enter(m, DS_LOOP, 0, tls);
      expect(runToHlt(m).esi).toBe(DS_SUM);
      enter(m, DS_LOOP, 0, nullGs);
      const second = runToHlt(m);
      expect(second.esi).toBe(DS_SUM);
      // The loop's 4 instructions × 64 turns, nearly all compiled on the Wasm engine (the JS engine has no compiler).
      if (kind === "wasm") expect(second.compiled).toBeGreaterThan(200);
      else expect(second.compiled).toBe(0);
    }
  });

  it("a loop through GS compiled with GS 4 GiB faults at the limit once GS is byte-limited, loaded inside the compiled loop or before it", async () => {
    // Offsets 0x700..0x7FC are read (dwords at byte offsets), then 0x7FD is past the limit.
    const mem = new DataView(new ArrayBuffer(0x1004));
    for (let i = 0; i < 0x400; i++) mem.setUint32(4 * i, i * 3 + 1, true);
    let sum = 0;
    for (let off = 0x700; off <= 0x7fc; off++) sum = (sum + mem.getUint32(off, true)) >>> 0;
    const expected = { vector: 13, errorCode: 0, eip: GS_READ, esi: sum, ecx: 0x7fd, gs: LIMITED_GS };
    for (const kind of ["wasm", "js"] as const) {
      // The loop loads GS every turn: the 4 GiB segment until ECX = 0x7F0, then the limited one.
      const m = await machine2(kind);
      enter(m, GS_LOOP, 0x700, basedGs);
      for (let i = 0; i < 4; i++) m.step(50); // (the loop gets compiled)
      if (kind === "wasm") expect(m.vm.stats().tcache.compiledInstructions).toBeGreaterThan(0);
      expect(runToGp(m)).toEqual(expected);
      // Compiled with GS 4 GiB (the loop's first turns from 0), entered again with GS limited.
      const n = await machine2(kind);
      enter(n, GS_LOOP, 0, basedGs);
      for (let i = 0; i < 4; i++) n.step(50);
      expect(n.vm.getState().ecx).toBeLessThan(0x700);
      if (kind === "wasm") expect(n.vm.stats().tcache.compiledInstructions).toBeGreaterThan(0);
      enter(n, GS_LOOP, 0x700, limitedGs);
      expect(runToGp(n)).toEqual(expected);
    }
  });
});
