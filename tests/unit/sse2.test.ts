/**
 * SSE2 cases QEMU cannot be the oracle for (tests/kernels/sse2fp.asm and sse2int.asm cover the
 * instructions against QEMU): expectations from the Intel SDM — Table 4-7 (two NaN operands:
 * the first), §10.2.3.3-4 and §4.9.1.5 (FTZ flushes a result that underflows; x86 detects
 * tininess after rounding, so a product that rounds up to 2^-1022 is no underflow; DAZ makes a
 * denormal operand a zero), Vol. 2 CLFLUSH and MOVNTI (NP: a 66/F2/F3 prefix is #UD, which QEMU 7.2
 * ignores). Both engines. Programs run in real mode
 * (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import { run, m, q, d32, setCr4, ldmxcsr, stmxcsr, OSFXSR } from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000, OUT = 0x6000;
const movapd = (x: number, a: number) => [0x66, ...m([0x0f, 0x28], x, a)], movupdStore = (a: number, x: number) => [0x66, ...m([0x0f, 0x11], x, a)];
const pd = (op: number) => (x: number, a: number) => [0x66, ...m([0x0f, op], x, a)];
const sd = (op: number) => (x: number, a: number) => [0xf2, ...m([0x0f, op], x, a)];
const vec = (...qs: bigint[]) => qs.flatMap((v) => q(v));

describe.each(ENGINES)("SSE2 on %s", (kind) => {
  it("two NaN operands give the first, quieted; MIN/MAX give the second for any NaN", async () => {
    const qa = 0x7ff8000000000001n, sb = 0x7ff0000000000005n;
    const code = [...setCr4(OSFXSR), ...movapd(0, D), ...pd(0x58)(0, D + 0x10), ...movupdStore(OUT, 0), ...movapd(1, D), ...pd(0x5d)(1, D + 0x10), ...movupdStore(OUT + 0x10, 1)];
    const r = await run(kind, code, [[D, vec(qa, sb)], [D + 0x10, vec(0xfff8123456789abcn, qa)]]);
    expect([r.u64(OUT), r.u64(OUT + 8)]).toEqual([qa, sb | 0x0008000000000000n]);
    expect([r.u64(OUT + 0x10), r.u64(OUT + 0x18)]).toEqual([0xfff8123456789abcn, qa]);
  });

  it("FTZ flushes an underflow only: a product that rounds up to 2^-1022 stays (PE, no UE)", async () => {
    const code = [...setCr4(OSFXSR), ...ldmxcsr(D + 0x40), ...movapd(0, D), ...sd(0x59)(0, D + 0x10), ...stmxcsr(OUT), ...movupdStore(OUT + 0x10, 0)];
    const r = await run(kind, code, [[D, vec(0x3ff0000000000001n, 0n)], [D + 0x10, vec(0x000fffffffffffffn, 0n)], [D + 0x40, d32(0x9f80)]]);
    expect(r.u64(OUT + 0x10)).toBe(0x0010000000000000n);
    expect(r.u32(OUT) & 0x3f).toBe(0x22); // PE, and DE for the denormal operand
    // a product below 2^-1022 after rounding too is flushed: UE and PE
    const r2 = await run(kind, code, [[D, vec(0x3fe0000000000000n, 0n)], [D + 0x10, vec(0x0010000000000003n, 0n)], [D + 0x40, d32(0x9f80)]]);
    expect(r2.u64(OUT + 0x10)).toBe(0n);
    expect(r2.u32(OUT) & 0x3f).toBe(0x30);
  });

  it("MIN/MAX with DAZ return a selected denormal as the zero DAZ made it", async () => {
    const den = 0x8000000000012345n;
    const code = [...setCr4(OSFXSR), ...ldmxcsr(D + 0x40), ...movapd(0, D), ...pd(0x5d)(0, D + 0x10), ...movupdStore(OUT, 0)];
    const r = await run(kind, code, [[D, vec(0n, den)], [D + 0x10, vec(den, 0x4000000000000000n)], [D + 0x40, d32(0x1fc0)]]);
    expect([r.u64(OUT), r.u64(OUT + 8)]).toEqual([0x8000000000000000n, 0x8000000000000000n]);
  });

  it("CLFLUSH checks its operand (#GP beyond the segment limit) and changes nothing; MOVNTI stores, its register form is #UD", async () => {
    expect((await run(kind, [...setCr4(OSFXSR), ...m([0x0f, 0xae], 7, D)])).vector).toBeNull();
    expect((await run(kind, [...setCr4(OSFXSR), 0x67, 0x0f, 0xae, 0x3d, ...d32(0x10000)])).vector).toBe(13); // [0x10000]: beyond DS's limit
    const movnti = [0x66, 0xb8, ...d32(0x12345678), ...m([0x0f, 0xc3], 0, OUT)]; // mov eax, imm; movnti [OUT], eax
    const r = await run(kind, movnti);
    expect(r.u32(OUT)).toBe(0x12345678);
    expect((await run(kind, [0x0f, 0xc3, 0xc1])).vector).toBe(6);
    expect((await run(kind, [0x66, ...m([0x0f, 0xc3], 0, OUT)])).vector).toBe(6); // NP: no 66/F2/F3 form
  });
});
