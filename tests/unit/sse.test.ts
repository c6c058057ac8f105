/**
 * SSE cases QEMU cannot be the oracle for (tests/kernels/sse.asm covers the instructions
 * against QEMU): expectations from the Intel SDM — Vol. 1 §10.2.3 and §11.5 (MXCSR; DE for a
 * denormal operand unless DAZ makes it zero; an unmasked SIMD exception is #XM with
 * CR4.OSXMMEXCPT, #UD without, and writes no destination), Vol. 2 LDMXCSR/FXRSTOR (#GP(0)
 * for a reserved MXCSR bit, which QEMU 7.2 loads), RCPPS/RCPSS (no exception flags), CVTPI2PS
 * and friends (#UD with CR0.EM, which QEMU 7.2 does not raise), CPUID
 * (SSE, SSE2) — and the state across a vCPU switch and a nested
 * entry. Both engines. Programs run in real mode (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import { run, m, q, w16, top, fninit, fld1, fnstsw, fxsave, fxrstor, movqLoad, d32, setCr4, ldmxcsr, stmxcsr, f32, OSFXSR, OSXMMEXCPT, movaps, movupsStore } from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000;    // data (16-byte aligned)
const OUT = 0x6000;  // results
const FX = 0x5000;

const divps = (x: number, a: number) => m([0x0f, 0x5e], x, a), addps = (x: number, a: number) => m([0x0f, 0x58], x, a);
const vec = (...xs: number[]) => xs.flatMap((x) => d32(x));

describe.each(ENGINES)("SSE on %s", (kind) => {
  it("CPUID.1:EDX offers SSE and SSE2, and CLFLUSH with a 64-byte line (EBX[15:8] = 8)", async () => {
    const r = await run(kind, [0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x66, 0x89, 0x16, ...w16(OUT), 0x66, 0x89, 0x1e, ...w16(OUT + 4)]);
    expect((r.u32(OUT) >>> 25) & 3).toBe(3);
    expect((r.u32(OUT) >>> 19) & 1).toBe(1);
    expect((r.u32(OUT + 4) >>> 8) & 0xff).toBe(8);
  });

  it("LDMXCSR of a reserved bit is #GP(0) and MXCSR stays; FXRSTOR of one is #GP(0) before anything is loaded", async () => {
    const r = await run(kind, [...setCr4(OSFXSR), ...ldmxcsr(D)], [[D, d32(0x10000)]], 0x10, [...stmxcsr(OUT)]);
    expect(r.u32(OUT)).toBe(0x1f80);
    const image = new Array(512).fill(0);
    image.splice(0, 2, ...w16(0x27f));
    image.splice(24, 4, ...d32(0x11f80));
    const r2 = await run(kind, [...setCr4(OSFXSR), ...fninit, ...fxrstor(FX)], [[FX, image]], 0x10, [...m([0xd9], 7, OUT)]); // FNSTCW
    expect(r2.u16(OUT)).toBe(0x37f);
  });

  it("a denormal operand is DE; with DAZ it is a zero of its sign and no DE", async () => {
    const den = 0x00012345;
    const code = (mx: number) => [...setCr4(OSFXSR), ...ldmxcsr(D + 0x40), ...movaps(0, D), ...addps(0, D + 0x10), ...stmxcsr(OUT), ...movupsStore(OUT + 0x10, 0)];
    const data: [number, number[]][] = [[D, vec(den, f32(1), 0, 0)], [D + 0x10, vec(0, den, 0x80000000, 0)]];
    const plain = await run(kind, code(0x1f80), [...data, [D + 0x40, d32(0x1f80)]]);
    expect(plain.u32(OUT) & 0x3f).toBe(0x02 | 0x20); // DE, and PE: 1 + denormal is inexact
    expect(plain.u32(OUT + 0x10)).toBe(den);
    const daz = await run(kind, code(0x1fc0), [...data, [D + 0x40, d32(0x1fc0)]]);
    expect(daz.u32(OUT) & 0x3f).toBe(0);
    expect(daz.u32(OUT + 0x10)).toBe(0);            // +denormal as +0, +0 → +0
    expect(daz.u32(OUT + 0x14)).toBe(f32(1));
    expect(daz.u32(OUT + 0x18)).toBe(0);            // +0 + (−0) = +0 when rounding to nearest
  });

  it("an unmasked exception is #XM with CR4.OSXMMEXCPT (#UD without), the destination unchanged, the flag set", async () => {
    const code = (cr4: number) => [...setCr4(cr4), ...ldmxcsr(D + 0x40), ...movaps(0, D), ...divps(0, D + 0x10)];
    const data: [number, number[]][] = [[D, vec(f32(1), f32(2), f32(3), f32(4))], [D + 0x10, vec(f32(1), 0, f32(1), f32(1))], [D + 0x40, d32(0x1f80 & ~0x200)]]; // ZM clear
    const after = [...stmxcsr(OUT), ...movupsStore(OUT + 0x10, 0)]; // run from the fault's handler
    for (const [cr4, vector] of [[OSFXSR | OSXMMEXCPT, 19], [OSFXSR, 6]]) {
      const r = await run(kind, code(cr4), [...data, [0x1800, [...after, 0xf4]]]);
      expect(r.vector).toBe(vector);
      expect(r.step(0x1800)).toBeNull();
      expect(r.u32(OUT) & 0x3f).toBe(0x04); // ZE
      expect([0, 4, 8, 12].map((k) => r.u32(OUT + 0x10 + k))).toEqual([f32(1), f32(2), f32(3), f32(4)]); // unchanged
    }
  });

  it("two NaN operands give the first (the destination's), quieted; MIN/MAX give the second for any NaN (SDM Table 4-7)", async () => {
    const qa = 0x7fc00001, qb = 0xffc12345, sb = 0x7f800001;
    const code = [...setCr4(OSFXSR), ...movaps(0, D), ...addps(0, D + 0x10), ...movupsStore(OUT, 0),
      ...movaps(1, D), ...m([0x0f, 0x5d], 1, D + 0x10), ...movupsStore(OUT + 0x10, 1)]; // MINPS
    const r = await run(kind, code, [[D, vec(qa, qa, sb, f32(1))], [D + 0x10, vec(qb, sb, qa, qb)]]);
    expect([0, 4, 8, 12].map((k) => r.u32(OUT + k))).toEqual([qa, qa, sb | 0x400000, qb]);
    expect([0, 4, 8, 12].map((k) => r.u32(OUT + 0x10 + k))).toEqual([qb, sb, qa, qb]);
  });

  it("MIN/MAX with DAZ return a selected denormal as the zero DAZ made it", async () => {
    const den = 0x80012345;
    const code = [...setCr4(OSFXSR), ...ldmxcsr(D + 0x40), ...movaps(0, D), ...m([0x0f, 0x5d], 0, D + 0x10), ...movupsStore(OUT, 0)];
    const r = await run(kind, code, [[D, vec(0, f32(1), den, 0)], [D + 0x10, vec(den, den, f32(2), 0)], [D + 0x40, d32(0x1fc0)]]);
    expect([0, 4, 8, 12].map((k) => r.u32(OUT + k))).toEqual([0x80000000, 0x80000000, 0x80000000, 0]);
  });

  it("prefixed forms SSE, SSE2 and SSE3 do not define are #UD; SSE3's own run", async () => {
    for (const code of [[0x0f, 0x7c, 0xc1], [0xf3, 0x0f, 0x7c, 0xc1], [0x0f, 0xd0, 0xc1], [0x66, 0x0f, 0x16, 0xc1], [0xf3, 0x0f, 0x54, 0xc1], [0xf3, 0x0f, 0x14, 0xc1], [0x66, 0x0f, 0x52, 0xc1], [0xf2, 0x0f, 0x54, 0xc1]]) {
      expect((await run(kind, [...setCr4(OSFXSR), ...code])).vector).toBe(6);
    }
    for (const code of [[0xf2, 0x0f, 0x7c, 0xc1], [0x66, 0x0f, 0x7c, 0xc1], [0xf2, 0x0f, 0xd0, 0xc1], [0xf3, 0x0f, 0x16, 0xc1], [0xf2, 0x0f, 0x12, 0xc1]]) {
      expect((await run(kind, [...setCr4(OSFXSR), ...code])).vector).toBeNull();
    }
  });

  it("with CR0.EM every SSE instruction is #UD, the MMX conversions included; with CR0.TS #NM", async () => {
    for (const insn of [[0x0f, 0x2a, 0xc1], [0x0f, 0x2c, 0xc1], [0x0f, 0x2d, 0xc1], [0xf3, 0x0f, 0x2d, 0xc1], [0x0f, 0x58, 0xc1], m([0x0f, 0xae], 2, D)]) {
      expect((await run(kind, [...setCr4(OSFXSR), ...insn], [[D, d32(0x1f80)]], 0x10 | 4)).vector).toBe(6);
      expect((await run(kind, [...setCr4(OSFXSR), ...insn], [[D, d32(0x1f80)]], 0x10 | 8)).vector).toBe(7);
    }
  });

  it("RCPSS and RSQRTSS raise no exception flags", async () => {
    const code = [...setCr4(OSFXSR), ...ldmxcsr(D + 0x40), 0xf3, ...m([0x0f, 0x53], 1, D), 0xf3, ...m([0x0f, 0x52], 2, D), ...stmxcsr(OUT)];
    const r = await run(kind, code, [[D, d32(f32(3))], [D + 0x40, d32(0x1f80)]]);
    expect(r.u32(OUT)).toBe(0x1f80);
  });

  it("CVTPI2PS from an MMX register enters MMX state (TOP 0), from memory it does not", async () => {
    const cvtpi2psReg = [0x0f, 0x2a, 0xc0 | (1 << 3) | 2]; // CVTPI2PS xmm1, mm2
    const r = await run(kind, [...setCr4(OSFXSR), ...fninit, ...fld1, ...cvtpi2psReg, ...fnstsw(OUT)]);
    expect(top(r.u16(OUT))).toBe(0);
    const r2 = await run(kind, [...setCr4(OSFXSR), ...fninit, ...fld1, ...m([0x0f, 0x2a], 1, D), ...fnstsw(OUT)], [[D, q(0x0000000200000001n)]]);
    expect(top(r2.u16(OUT))).toBe(7);
  });

  it("XMM registers and MXCSR follow their vCPU across a switch and a nested entry", async () => {
    const A = vec(1, 2, 3, 4), B = vec(9, 9, 9, 9);
    const mine = [...ldmxcsr(D + 0x40), ...movaps(5, D)];
    const clobber = [...ldmxcsr(D + 0x44), ...movaps(5, D + 0x10)];
    const back = [...stmxcsr(OUT), ...movupsStore(OUT + 0x10, 5)];
    const r = await run(kind, [...setCr4(OSFXSR), ...mine], [[D, [...A, ...B]], [D + 0x40, [...d32(0x7f80), ...d32(0x1f80)]], [0x1800, [...clobber, 0xf4]], [0x1900, [...back, 0xf4]]]);
    const core = r.m.vm.core;
    core.vcpuSave(0);
    expect(r.step(0x1800)).toBeNull();
    core.vcpuLoad(0);
    expect(r.step(0x1900)).toBeNull();
    expect(r.u32(OUT)).toBe(0x7f80);
    expect([0, 4, 8, 12].map((k) => r.u32(OUT + 0x10 + k))).toEqual([1, 2, 3, 4]);
    r.m.writeMemory(OUT, new Array(32).fill(0));
    expect(core.pushEntry(true)).toBeTruthy();
    expect(r.step(0x1800)).toBeNull();
    core.popEntry();
    expect(r.step(0x1900)).toBeNull();
    expect(r.u32(OUT)).toBe(0x7f80);
    expect([0, 4, 8, 12].map((k) => r.u32(OUT + 0x10 + k))).toEqual([1, 2, 3, 4]);
  });
});
