/**
 * FXSAVE/FXRSTOR cases QEMU cannot be the oracle for (tests/kernels/fxsr.asm covers the
 * rest against QEMU): expectations from the Intel SDM — Vol. 1 §10.5.1 and Table 10-2 (the
 * 512-byte layout: FOP, FIP, FCS, FDP, FDS stored, which QEMU 7.2 writes as zeros; the XMM
 * area only with CR4.OSFXSR), Vol. 2 FXSAVE/FXRSTOR (no wait for pending x87 exceptions; #GP
 * for a misaligned or out-of-limit operand before anything changes) and LDMXCSR/STMXCSR (#UD
 * without CR4.OSFXSR). Both engines.
 * Programs run in real mode (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import { run, m, q, w16, top, fninit, fld1, fchs, fsqrt, fwait, fnstsw, fnstenv, fldcw, fld64, fxsave, fxrstor, movqLoad } from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000;    // data
const FX = 0x5000;   // a 512-byte image (16-byte aligned)
const OUT = 0x6000;  // results

describe.each(ENGINES)("FXSAVE/FXRSTOR on %s", (kind) => {
  it("CPUID.1:EDX offers FXSR", async () => {
    const r = await run(kind, [0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x66, 0x89, 0x16, ...w16(OUT)]); // mov eax,1; cpuid; mov [OUT],edx
    expect((r.u32(OUT) >>> 24) & 1).toBe(1);
  });

  it("FXSAVE stores the last x87 instruction's opcode and pointers, zeros in the reserved bytes, MXCSR, and no XMM registers without CR4.OSFXSR", async () => {
    const load = fld64(D);              // DD 06 00 40 at CODE + 2
    const code = [...fninit, ...load, ...fxsave(FX)];
    const r = await run(kind, code, [[D, q(0x3ff0000000000000n)], [FX, new Array(512).fill(0xaa)]]);
    expect(r.vector).toBeNull();
    expect(r.u16(FX + 6)).toBe(0x506);  // FOP: (DD & 7) << 8 | ModRM
    expect(r.u32(FX + 8)).toBe(0x1002); // FIP: the FLD
    expect(r.u16(FX + 12)).toBe(0);     // FCS
    expect(r.u32(FX + 16)).toBe(D);     // FDP: its operand
    expect(r.u16(FX + 20)).toBe(0);     // FDS
    for (const a of [5, 14, 15, 22, 23]) expect(r.u8(FX + a)).toBe(0);
    expect(r.u32(FX + 24)).toBe(0x1f80); // MXCSR as at reset
    expect(r.u32(FX + 28)).toBe(0xffff); // MXCSR_MASK: every bit, DAZ included
    expect(r.u64(FX + 32 + 16 * 0)).toBe(0x8000000000000000n); // ST0 = 1.0
    expect(r.u16(FX + 32 + 8)).toBe(0x3fff);
    for (let i = 0; i < 8; i++) { expect(r.u16(FX + 32 + 16 * i + 10)).toBe(0); expect(r.u32(FX + 32 + 16 * i + 12)).toBe(0); }
    for (let a = 160; a < 512; a += 4) expect(r.u32(FX + a)).toBe(0xaaaaaaaa);
  });

  it("FXSAVE does not wait: a pending unmasked exception is saved (ES, B), #MF comes at the next WAIT", async () => {
    const code = [...fninit, ...fldcw(D), ...fld1, ...fchs, ...fsqrt, ...fxsave(FX), ...fnstsw(OUT), ...fwait];
    const r = await run(kind, code, [[D, w16(0x37e)]], 0x10 | 0x20); // CR0.NE
    expect(r.u16(FX + 2) & 0x8081).toBe(0x8081); // B, ES, IE
    expect(r.u16(OUT) & 0x8081).toBe(0x8081);    // FXSAVE got as far as the FNSTSW after it
    expect(r.vector).toBe(16);
  });

  it("FXSAVE after MMX writes: the written registers' exponent bits are ones, every tag bit set", async () => {
    const code = [...fninit, ...movqLoad(2, D), ...fxsave(FX)];
    const r = await run(kind, code, [[D, q(0x0123456789abcdefn)]]);
    expect(r.u8(FX + 4)).toBe(0xff);
    expect(r.u64(FX + 32 + 16 * 2)).toBe(0x0123456789abcdefn);
    expect(r.u16(FX + 32 + 16 * 2 + 8)).toBe(0xffff);
  });

  it("FXRSTOR loads the opcode and pointers: FXSAVE right after gives them back", async () => {
    const image = new Array(512).fill(0);
    image.splice(0, 24, ...w16(0x37f), ...w16(0), 0x00, 0, ...w16(0x123), 0x78, 0x56, 0x34, 0x12, ...w16(0x1234), 0, 0, 0xf0, 0xde, 0xbc, 0x0a, ...w16(0x5678), 0, 0);
    const r = await run(kind, [...fxrstor(FX), ...fxsave(OUT)], [[FX, image]]);
    expect(r.vector).toBeNull();
    expect(r.u16(OUT + 6)).toBe(0x123);       // FOP
    expect(r.u32(OUT + 8)).toBe(0x12345678);  // FIP
    expect(r.u16(OUT + 12)).toBe(0x1234);     // FCS
    expect(r.u32(OUT + 16)).toBe(0x0abcdef0); // FDP
    expect(r.u16(OUT + 20)).toBe(0x5678);     // FDS
  });

  it("a misaligned operand is #GP(0), whatever AC says", async () => {
    expect((await run(kind, fxsave(FX + 8))).vector).toBe(13);
    expect((await run(kind, fxrstor(FX + 4))).vector).toBe(13);
  });

  it("FXRSTOR of an operand that crosses the segment limit changes nothing", async () => {
    // TOP = 7, one register in use; FXRSTOR [0xFE80]: 512 bytes end beyond 0xFFFF
    const r = await run(kind, [...fninit, ...fld1, ...fxrstor(0xfe80)], [], 0x10, [...fnstsw(OUT), ...fnstenv(OUT + 0x10)]);
    expect(top(r.u16(OUT))).toBe(7);
    expect(r.u16(OUT + 0x14)).toBe(0b00_11_11_11_11_11_11_11);
  });

  it("LDMXCSR and STMXCSR are #UD without CR4.OSFXSR; CR4.OSXMMEXCPT can be set (CPUID offers SSE)", async () => {
    const movCr4 = (v: number) => [0x66, 0xb8, v & 0xff, (v >> 8) & 0xff, 0, 0, 0x0f, 0x22, 0xe0]; // mov eax, v; mov cr4, eax
    expect((await run(kind, m([0x0f, 0xae], 2, D))).vector).toBe(6);
    expect((await run(kind, m([0x0f, 0xae], 3, D))).vector).toBe(6);
    expect((await run(kind, movCr4(0x400))).vector).toBeNull();
    expect((await run(kind, [...movCr4(0x200), ...m([0x0f, 0xae], 3, D)])).vector).toBeNull();
  });
});
