/**
 * SSE3 and SSSE3 cases QEMU cannot be the oracle for (tests/kernels/sse.asm, sse2fp.asm and
 * ssse3.asm cover the instructions against QEMU): expectations from the Intel SDM — Table 4-7
 * (two NaN operands: the first, an SNaN quieted; QEMU 7.2 picks the larger significand) for the
 * horizontal adds and subtracts, and §9.5 for SSSE3's MMX forms (TOP = 0, every tag valid, the
 * written register's exponent bits all ones; QEMU leaves the exponent as it was, and the kernel
 * checks TOP only). Both engines; programs run in real mode (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import { run, m, q, fninit, fld1, fxsave, top, d32, setCr4, movaps, movupsStore, OSFXSR } from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000, OUT = 0x6000;

describe.each(ENGINES)("SSE3 and SSSE3 on %s", (kind) => {
  it("HADDPS and HSUBPD return the first of two NaN operands, an SNaN quieted", async () => {
    const code = [
      ...setCr4(OSFXSR), ...movaps(0, D), ...[0xf2, ...m([0x0f, 0x7c], 0, D + 0x10)], ...movupsStore(OUT, 0), // haddps xmm0, [D + 16]
      ...movaps(1, D + 0x20), ...[0x66, ...m([0x0f, 0x7d], 1, D + 0x30)], ...movupsStore(OUT + 0x10, 1), // hsubpd xmm1, [D + 48]
    ];
    const r = await run(kind, code, [
      [D, [...d32(0x7fc00001), ...d32(0xffc12345), ...d32(0x3f800000), ...d32(0x40000000)]], // QNaN, QNaN (larger significand), 1, 2
      [D + 0x10, [...d32(0x7f800001), ...d32(0x7fc54321), ...d32(0x3fc00000), ...d32(0x40200000)]], // SNaN, QNaN, 1.5, 2.5
      [D + 0x20, [...q(0x7ff8000000000001n), ...q(0xfff8123456789abcn)]],
      [D + 0x30, [...q(0x4000000000000000n), ...q(0x3fe0000000000000n)]], // 2, 0.5
    ]);
    expect(r.vector).toBeNull();
    expect([r.u32(OUT), r.u32(OUT + 4), r.u32(OUT + 8), r.u32(OUT + 12)]).toEqual([0x7fc00001, 0x40400000, 0x7fc00001, 0x40800000]);
    expect([r.u64(OUT + 0x10), r.u64(OUT + 0x18)]).toEqual([0x7ff8000000000001n, 0x3ff8000000000000n]);
  });

  it("an SSSE3 MMX form enters MMX state: TOP 0, every tag valid, its destination's exponent bits all ones", async () => {
    // fninit; fld1; fld1 (TOP 6); pabsb mm3, [D]; fxsave [OUT]
    const code = [...setCr4(OSFXSR), ...fninit, ...fld1, ...fld1, ...m([0x0f, 0x38, 0x1c], 3, D), ...fxsave(OUT)];
    const r = await run(kind, code, [[D, q(0x80ff7f0102fe8001n)]]);
    expect(r.vector).toBeNull();
    expect(top(r.u16(OUT + 2))).toBe(0);
    expect(r.u8(OUT + 4)).toBe(0xff); // the abridged tag byte: all valid
    expect(r.u64(OUT + 32 + 3 * 16)).toBe(0x80017f0102028001n);
    expect(r.u16(OUT + 32 + 3 * 16 + 8)).toBe(0xffff);
  });

  it("LDDQU's register form is #UD; its memory form needs no alignment", async () => {
    expect((await run(kind, [...setCr4(OSFXSR), 0xf2, 0x0f, 0xf0, 0xc1])).vector).toBe(6);
    const r = await run(kind, [...setCr4(OSFXSR), ...[0xf2, ...m([0x0f, 0xf0], 2, D + 3)], ...movupsStore(OUT, 2)], [[D, Array.from({ length: 20 }, (_, i) => i)]]);
    expect(r.vector).toBeNull();
    expect(r.u32(OUT)).toBe(0x06050403);
  });
});
