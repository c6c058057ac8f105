/**
 * MMX cases QEMU cannot be the oracle for (tests/kernels/mmx.asm covers every instruction
 * against QEMU): expectations from the Intel SDM — Vol. 1 §9.5 (the MMX registers are the
 * x87 registers' significands; an MMX write sets bits 79:64 to ones; TOP = 0 and every
 * register valid after an MMX instruction) and each instruction's exception list in
 * Vol. 2 (#UD with CR0.EM, #NM with CR0.TS, EMMS included; #MF for a pending x87
 * exception).
 * Also: MMX state through FNSAVE/FRSTOR, a fault, a vCPU switch and a nested entry.
 * Every case runs on both engines. Programs run in real mode (tests/unit/real-mode-program.ts).
 */
import { describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engine/engine.js";
import {
  run, m, q, w16, top, fninit, fld1, fldz, fsqrt, fchs, emms, fnstsw, fnstenv, fnsave, frstor, fldcw, fstp64, movqLoad, movqStore, hlt,
} from "./real-mode-program.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const D = 0x4000;   // data
const OUT = 0x5000; // results
const paddb = (mm: number, a: number) => m([0x0f, 0xfc], mm, a);

const V1 = 0x0123456789abcdefn, V2 = 0xfedcba9876543210n, V3 = 0x8000000000000000n;

describe.each(ENGINES)("MMX on %s", (kind) => {
  it("CPUID.1:EDX offers MMX", async () => {
    const r = await run(kind, [0x66, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x66, 0x89, 0x16, ...w16(OUT)]); // mov eax,1; cpuid; mov [OUT],edx
    expect(Number(r.u64(OUT) & 0xffffffffn) >>> 23 & 1).toBe(1);
  });

  it("an MMX write sets the register's bits 79:64 to ones: FNSAVE stores them, FNSTENV tags it special", async () => {
    // 7 × FLDZ then FLD1: TOP = 0, physical register 0 = 1.0, 1-7 = +0; MMX writes MM2
    const code = [...fninit, ...Array(7).fill(fldz).flat(), ...fld1, ...movqLoad(2, D), ...fnstenv(OUT), ...fnsave(OUT + 0x40)];
    const r = await run(kind, code, [[D, q(V1)]]);
    expect(r.vector).toBeNull();
    // tags by physical register, 7 first: zero ×5, special (MM2), zero, valid (1.0)
    expect(r.u16(OUT + 4)).toBe(0b01_01_01_01_01_10_01_00); // (16-bit layout: the tag word at 4, registers from 14)
    const st2 = OUT + 0x40 + 14 + 2 * 10; // ST(2) = physical register 2 (TOP = 0)
    expect(r.u64(st2)).toBe(V1);
    expect(r.u16(st2 + 8)).toBe(0xffff);
  });

  it("x87 code reads an MMX value as the 80-bit value it is: −∞, a QNaN with its payload's top bits", async () => {
    const qnan = 0xc123456789abc800n; // integer bit and quiet bit set
    const code = [...fninit, ...movqLoad(0, D), ...fstp64(OUT), ...movqLoad(0, D + 8), ...fstp64(OUT + 8)];
    const r = await run(kind, code, [[D, [...q(V3), ...q(qnan)]]]);
    expect(r.vector).toBeNull();
    expect(r.u64(OUT)).toBe(0xfff0000000000000n); // sign 1, exponent all ones, significand 1.0: −∞
    const fraction = (qnan >> 11n) & ((1n << 52n) - 1n);
    expect(r.u64(OUT + 8)).toBe((1n << 63n) | (0x7ffn << 52n) | fraction);
  });

  it("#UD with CR0.EM and #NM with CR0.TS, EMMS included, before the memory operand is read", async () => {
    for (const insn of [paddb(0, 0xfffc), emms]) { // [0xFFFC] would be #GP: the check comes first
      expect((await run(kind, insn, [], 0x10 | 4)).vector).toBe(6);
      expect((await run(kind, insn, [], 0x10 | 8)).vector).toBe(7);
    }
    expect((await run(kind, [...paddb(0, D), ...emms])).vector).toBeNull();
  });

  it("a pending unmasked x87 exception raises #MF before an MMX instruction (CR0.NE), and before EMMS", async () => {
    // IE unmasked, FSQRT(−1): invalid operation pending
    for (const insn of [movqLoad(0, D), emms]) {
      const code = [...fninit, ...fldcw(D + 8), ...fld1, ...fchs, ...fsqrt, ...insn];
      const r = await run(kind, code, [[D, q(V1)], [D + 8, w16(0x37e)]], 0x10 | 0x20);
      expect(r.vector).toBe(16);
    }
  });

  it("66-prefixed MMX opcodes are SSE2's XMM forms: #UD without CR4.OSFXSR; F2/F3 forms that SSE2 lacks are #UD", async () => {
    expect((await run(kind, [0x66, ...paddb(0, D)], [[D, q(V1)]])).vector).toBe(6);        // PADDB xmm0, [D]: needs OSFXSR
    expect((await run(kind, [0xf3, 0x0f, 0xfc, 0xc1])).vector).toBe(6);                  // F3 0F FC: nothing
    expect((await run(kind, [0xf2, 0x0f, 0x6f, 0xc1])).vector).toBe(6);                  // F2 0F 6F: nothing
    expect((await run(kind, [0x0f, 0x6c, 0xc1])).vector).toBe(6);                        // PUNPCKLQDQ has no MMX form
  });

  it("a shift group's memory form is #UD", async () => {
    expect((await run(kind, [0x0f, 0x71, 0x16, ...w16(D), 3])).vector).toBe(6); // PSRLW [D], 3
  });

  it("an MMX instruction whose operand faults changes no x87 state", async () => {
    // TOP = 7 with one register in use; MOVQ MM1, [0xFFFC] crosses the segment limit: #GP, whose handler looks
    const code = [...fninit, ...fld1, ...movqLoad(1, 0xfffc)];
    const r = await run(kind, code, [], 0x10, [...fnstsw(OUT), ...fnstenv(OUT + 0x10)]);
    expect(top(r.u16(OUT))).toBe(7);
    expect(r.u16(OUT + 0x14)).toBe(0b00_11_11_11_11_11_11_11); // (16-bit layout: the tag word at 4)
  });

  it("FRSTOR then FNSAVE give back any 80-bit image, MMX values included; MMX reads see the significands", async () => {
    const images: [number, bigint][] = [
      [0x3fff, 0x8000000000000001n], [0xffff, V2], [0x7fff, 0x123456789abcdef0n], [0x0000, 1n],
      [0x43ff, 0xc000000000000abcn], [0x1234, 0x7fffffffffffffffn], [0xbffe, 0xffffffffffffffffn], [0x0001, V3],
    ];
    const state = [...w16(0x37f), 0, 0, 0, 0, 0, 0, 0, 0, ...new Array(18).fill(0)]; // 32-bit real-mode layout: CW, SW, TW…
    state[8] = 0; state[9] = 0; // tag word: every register valid
    for (const [se, sig] of images) state.push(...q(sig), ...w16(se));
    const code = [0x66, ...frstor(D), ...movqStore(OUT, 1), ...movqStore(OUT + 8, 5), 0x66, ...fnsave(OUT + 0x20)];
    const r = await run(kind, code, [[D, state]]);
    expect(r.vector).toBeNull();
    expect(r.u64(OUT)).toBe(V2);
    expect(r.u64(OUT + 8)).toBe(0x7fffffffffffffffn);
    images.forEach(([se, sig], i) => {
      expect(r.u64(OUT + 0x20 + 28 + 10 * i)).toBe(sig);
      expect(r.u16(OUT + 0x20 + 28 + 10 * i + 8)).toBe(se);
    });
  });

  it("MMX registers follow their vCPU across a switch and a nested entry", async () => {
    // vCPU A writes MM0/MM3 and halts; its state is saved, another context clobbers every
    // register through MMX and the x87, A comes back and stores MM0/MM3
    const clobber = [...movqLoad(0, D + 16), ...movqLoad(3, D + 16), ...fninit, ...fld1, ...fld1, ...emms];
    const back = [...movqStore(OUT, 0), ...movqStore(OUT + 8, 3)];
    const r = await run(kind, [...movqLoad(0, D), ...movqLoad(3, D + 8)], [[D, [...q(V1), ...q(V2), ...q(V3)]], [0x1800, [...clobber, ...hlt]], [0x1900, [...back, ...hlt]]]);
    const core = r.m.vm.core;
    core.vcpuSave(0);
    expect(r.step(0x1800)).toBeNull();
    core.vcpuSave(1);
    core.vcpuLoad(0);
    expect(r.step(0x1900)).toBeNull();
    expect(r.u64(OUT)).toBe(V1);
    expect(r.u64(OUT + 8)).toBe(V2);
    // the same through a nested entry (a SymCall's): what it runs is undone by popEntry
    r.m.writeMemory(OUT, new Array(16).fill(0));
    expect(core.pushEntry(true)).toBeTruthy();
    expect(r.step(0x1800)).toBeNull();
    core.popEntry();
    expect(r.step(0x1900)).toBeNull();
    expect(r.u64(OUT)).toBe(V1);
    expect(r.u64(OUT + 8)).toBe(V2);
  });
});
