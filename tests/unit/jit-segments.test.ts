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
