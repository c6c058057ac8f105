/**
 * SSE4.1 cases tests/kernels/sse41.asm leaves out, from the Intel SDM. Where QEMU 7.2 departs:
 * ROUND with MXCSR.DAZ takes a denormal as a zero of its sign and signals no DE (SDM Vol. 1
 * §10.2.3.4; QEMU raises DE when it flushes an input), and a misaligned m128 is #GP(0) for PTEST,
 * PHMINPOSUW, the blends, ROUND and DP too (exception types 2 and 4; QEMU loads it unaligned).
 * Where the kernel keeps to exact values: DPPS adds its products as (p0 + p1) + (p2 + p3), each
 * sum rounded (the SDM's DP_primitive; QEMU too), which shows only when a sum rounds. Both
 * engines; programs run in real mode (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import { run, m, d32, setCr4, ldmxcsr, stmxcsr, movaps, movupsStore, f32, OSFXSR } from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000, OUT = 0x6000;
const dpps = (x: number, a: number, imm: number) => [0x66, ...m([0x0f, 0x3a, 0x40], x, a), imm];
const roundps = (x: number, a: number, imm: number) => [0x66, ...m([0x0f, 0x3a, 0x08], x, a), imm];

describe.each(ENGINES)("SSE4.1 on %s", (kind) => {
  it("DPPS adds the products in the SDM's tree: (p0 + p1) + (p2 + p3), each sum rounded", async () => {
    // products 1, 2^-24, 2^-24, -1: 1 + 2^-24 rounds to 1 (a tie, to even), 2^-24 - 1 is exact, the sum 2^-24
    // (added one by one: 1, 1, 1, 0); all products -0: the sum is -0 (added one by one to +0: +0)
    const code = [
      ...setCr4(OSFXSR), ...movaps(0, D), ...dpps(0, D + 0x10, 0xf1), ...movupsStore(OUT, 0), ...stmxcsr(OUT + 0x30),
      ...movaps(1, D + 0x20), ...dpps(1, D + 0x10, 0xff), ...movupsStore(OUT + 0x10, 1),
    ];
    const r = await run(kind, code, [
      [D, [...d32(f32(1)), ...d32(f32(2 ** -24)), ...d32(f32(2 ** -24)), ...d32(f32(-1))]],
      [D + 0x10, [...d32(f32(1)), ...d32(f32(1)), ...d32(f32(1)), ...d32(f32(1))]],
      [D + 0x20, [...d32(0x80000000), ...d32(0x80000000), ...d32(0x80000000), ...d32(0x80000000)]],
    ]);
    expect(r.vector).toBeNull();
    expect([r.u32(OUT), r.u32(OUT + 4), r.u32(OUT + 8), r.u32(OUT + 12)]).toEqual([f32(2 ** -24), 0, 0, 0]);
    expect(r.u32(OUT + 0x30) & 0x3f).toBe(0x20); // PE: the first sum was inexact
    expect([r.u32(OUT + 0x10), r.u32(OUT + 0x14), r.u32(OUT + 0x18), r.u32(OUT + 0x1c)]).toEqual([0x80000000, 0x80000000, 0x80000000, 0x80000000]);
  });

  it("ROUNDPS with DAZ rounds a denormal as a zero of its sign, without DE", async () => {
    const code = [...setCr4(OSFXSR), ...ldmxcsr(D + 0x20), ...roundps(0, D, 0x02), ...movupsStore(OUT, 0), ...stmxcsr(OUT + 0x10)];
    const r = await run(kind, code, [
      [D, [...d32(0x00000001), ...d32(0x80400000), ...d32(f32(0.25)), ...d32(f32(-2.5))]], // denormals, 0.25, -2.5; round up
      [D + 0x20, d32(0x1f80 | 0x40)], // every exception masked, DAZ
    ]);
    expect(r.vector).toBeNull();
    expect([r.u32(OUT), r.u32(OUT + 4), r.u32(OUT + 8), r.u32(OUT + 12)]).toEqual([0, 0x80000000, f32(1), f32(-2)]);
    expect(r.u32(OUT + 0x10) & 0x3f).toBe(0x20); // PE (0.25 and -2.5 were inexact), no DE
  });

  it("a misaligned m128 is #GP(0) for PTEST, PHMINPOSUW, the blends, ROUND and DP", async () => {
    const forms: [string, number[]][] = [
      ["ptest", [0x66, ...m([0x0f, 0x38, 0x17], 0, D + 4)]],
      ["phminposuw", [0x66, ...m([0x0f, 0x38, 0x41], 0, D + 4)]],
      ["blendvps", [0x66, ...m([0x0f, 0x38, 0x14], 0, D + 4)]],
      ["blendvpd", [0x66, ...m([0x0f, 0x38, 0x15], 0, D + 4)]],
      ["blendps", [0x66, ...m([0x0f, 0x3a, 0x0c], 0, D + 4), 1]],
      ["blendpd", [0x66, ...m([0x0f, 0x3a, 0x0d], 0, D + 4), 1]],
      ["roundps", roundps(0, D + 4, 0)],
      ["roundpd", [0x66, ...m([0x0f, 0x3a, 0x09], 0, D + 4), 0]],
      ["dpps", dpps(0, D + 4, 0xff)],
      ["dppd", [0x66, ...m([0x0f, 0x3a, 0x41], 0, D + 4), 0x33]],
    ];
    for (const [name, insn] of forms) {
      const r = await run(kind, [...setCr4(OSFXSR), ...insn]);
      expect(r.vector, name).toBe(13);
    }
    // aligned, the same instruction runs
    expect((await run(kind, [...setCr4(OSFXSR), 0x66, ...m([0x0f, 0x38, 0x17], 0, D)])).vector).toBeNull();
  });
});
