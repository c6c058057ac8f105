/**
 * x87 FPU cases that QEMU cannot be the oracle for (tests/kernels/fpu.asm
 * covers the rest against QEMU): expectations come from the Intel SDM
 * (Vol. 1 ch. 8 "Programming with the x87 FPU", Vol. 2 instruction pages,
 * Vol. 3 §2.5 CR0.NE/EM/TS/MP), and from the precision model documented in
 * README.md ("x87 FPU"). Every case runs on both engines; a seeded random
 * program at the end checks that the two engines are bit-identical on
 * NaN payloads, denormals, rounding modes and transcendental results.
 *
 * Programs run in real mode (CS=0, code at 0x1000, data below 0x10000,
 * IVT vector v → a HLT at 0x3000+v, so a fault stops at EIP 0x3001+v).
 */
import { describe, expect, it } from "vitest";
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { realSegment } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";

const ENGINES: EngineKind[] = ["wasm", "js"];
const RAM = 1 << 20;
const CODE = 0x1000;
const D = 0x4000; // data area

// ---- a tiny assembler for 16-bit addressing ([disp16] operands) -------------------------
const m = (op: number, reg: number, a: number) => [op, (reg << 3) | 6, a & 0xff, (a >> 8) & 0xff];
const fninit = [0xdb, 0xe3], fnclex = [0xdb, 0xe2], fwait = [0x9b], hlt = [0xf4];
const fld1 = [0xd9, 0xe8], fldz = [0xd9, 0xee];
const fld64 = (a: number) => m(0xdd, 0, a), fstp64 = (a: number) => m(0xdd, 3, a), fst64 = (a: number) => m(0xdd, 2, a);
const fld80 = (a: number) => m(0xdb, 5, a), fstp80 = (a: number) => m(0xdb, 7, a);
const fstp32 = (a: number) => m(0xd9, 3, a);
const fnstsw = (a: number) => m(0xdd, 7, a), fnstcw = (a: number) => m(0xd9, 7, a), fldcw = (a: number) => m(0xd9, 5, a);
const fnstenv = (a: number) => m(0xd9, 6, a), fldenv = (a: number) => m(0xd9, 4, a), fnsave = (a: number) => m(0xdd, 6, a);
const fistp16 = (a: number) => m(0xdf, 3, a), fist32 = (a: number) => m(0xdb, 2, a), fistp64 = (a: number) => m(0xdf, 7, a);
const fbstp = (a: number) => m(0xdf, 6, a);
const fmul64 = (a: number) => m(0xdc, 1, a);
const reg = (op: number, modrm: number) => [op, modrm];

const SW = { IE: 1, DE: 2, ZE: 4, OE: 8, UE: 0x10, PE: 0x20, SF: 0x40, ES: 0x80, C0: 0x100, C1: 0x200, C2: 0x400, C3: 0x4000, B: 0x8000 };
const top = (sw: number) => (sw >> 11) & 7;

function f64bytes(x: number): number[] { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, x, true); return [...b]; }
function bitsBytes(hi: number, lo: number): number[] { const b = new Uint8Array(8); const v = new DataView(b.buffer); v.setUint32(0, lo >>> 0, true); v.setUint32(4, hi >>> 0, true); return [...b]; }
function f80bytes(se: number, hi: number, lo: number): number[] { return [...bitsBytes(hi, lo), se & 0xff, (se >> 8) & 0xff]; }
function w16(v: number): number[] { return [v & 0xff, (v >> 8) & 0xff]; }

interface Run { m: BareMachine; u16(a: number): number; u32(a: number): number; hex64(a: number): string; f64(a: number): number; vector: number | null; core: any }

async function run(kind: EngineKind, code: number[], data: [number, number[]][] = [], cr0 = 0x10): Promise<Run> {
  const mach = new BareMachine({ engine: await createEngine(kind, RAM), ramBytes: RAM });
  const ivt: number[] = [];
  for (let v = 0; v < 256; v++) ivt.push(...w16(0x3000 + v), 0, 0);
  mach.writeMemory(0, ivt);
  mach.writeMemory(0x3000, new Array(256).fill(0xf4));
  for (const [a, bytes] of data) mach.writeMemory(a, bytes);
  mach.writeMemory(CODE, [...code, ...hlt]);
  mach.setState({
    cr0, eip: CODE, eflags: 2, esp: 0x8000,
    cs: realSegment(0, true), ds: realSegment(0), ss: realSegment(0), es: realSegment(0),
  });
  mach.step(100_000);
  const eip = mach.getState().eip;
  const vector = eip > 0x3000 && eip <= 0x3100 ? eip - 0x3001 : null;
  const mem = (a: number, n: number) => mach.readMemory(a, n);
  const dv = (a: number, n: number) => new DataView(mem(a, n).buffer);
  return {
    m: mach, vector, core: mach.vm.core,
    u16: (a) => dv(a, 2).getUint16(0, true),
    u32: (a) => dv(a, 4).getUint32(0, true),
    f64: (a) => dv(a, 8).getFloat64(0, true),
    hex64: (a) => { const v = dv(a, 8); return v.getUint32(4, true).toString(16).padStart(8, "0") + v.getUint32(0, true).toString(16).padStart(8, "0"); },
  };
}

describe.each(ENGINES)("x87 on %s", (kind) => {
  it("stack overflow (masked): IE SF C1, the indefinite is pushed", async () => {
    const code = [...fninit, ...Array(9).fill(fld1).flat(), ...fnstsw(D), ...fstp64(D + 8)];
    const r = await run(kind, code);
    const sw = r.u16(D);
    expect(sw & (SW.IE | SW.SF | SW.C1)).toBe(SW.IE | SW.SF | SW.C1);
    expect(top(sw)).toBe(7); // nine pushes from TOP=0
    expect(r.hex64(D + 8)).toBe("fff8000000000000");
  });

  it("stack underflow (masked): IE SF, C1=0, the destination gets the indefinite", async () => {
    const code = [...fninit, ...fld1, ...reg(0xd8, 0xc1) /* fadd st0,st1: ST1 empty */, ...fnstsw(D), ...fstp64(D + 8), ...fninit, ...fst64(D + 16), ...fnstsw(D + 24)];
    const r = await run(kind, code);
    expect(r.u16(D) & 0x7ff).toBe(SW.IE | SW.SF);
    expect(r.hex64(D + 8)).toBe("fff8000000000000");
    expect(r.hex64(D + 16)).toBe("fff8000000000000"); // FST m64 of an empty ST0
    expect(r.u16(D + 24) & 0xff).toBe(SW.IE | SW.SF);
  });

  it("stack underflow (unmasked): nothing changes, ES and B are set", async () => {
    const code = [...fninit, ...fldcw(D + 32), ...fld1, ...reg(0xde, 0xc1) /* faddp: ST1 empty */, ...fnstsw(D), ...fnsave(D + 64)];
    const r = await run(kind, code, [[D + 32, w16(0x37e)]]);
    const sw = r.u16(D);
    expect(sw & 0xff).toBe(SW.IE | SW.SF | SW.ES);
    expect(sw & SW.B).toBe(SW.B);
    expect(top(sw)).toBe(7); // not popped
    expect(r.u16(D + 64 + 4)).toBe(0x3fff); // 16-bit image: tags, only the 1.0 (physical 7) is valid
  });

  it("an unmasked zero divide leaves ST(1) and TOP alone; the next waiting instruction raises #MF (CR0.NE=1)", async () => {
    const code = [...fninit, ...fldcw(D + 32), ...fld1, ...fldz, ...reg(0xde, 0xf9) /* fdivp st1,st0 */, ...fnstsw(D), ...fld1];
    const r = await run(kind, code, [[D + 32, w16(0x37b)]], 0x30);
    expect(r.vector).toBe(16);
    const sw = r.u16(D);
    expect(sw & 0xff).toBe(SW.ZE | SW.ES);
    expect(top(sw)).toBe(6);
    expect(r.u16(0x8000 - 6)).toBe(CODE + 2 + 4 + 2 + 2 + 2 + 4); // pushed IP: the FLD1
  });

  it("WAIT: #MF with CR0.NE=1; with NE=0 it asserts FERR# (IRQ13) and goes on; IGNNE#; FNCLEX releases it", async () => {
    const prog = [...fninit, ...fldcw(D + 32), ...fld1, ...fldz, ...reg(0xde, 0xf9), ...fwait];
    const withNe = await run(kind, prog, [[D + 32, w16(0x37b)]], 0x30);
    expect(withNe.vector).toBe(16);
    const noNe = await run(kind, [...prog, ...fld1, ...fstp64(D)], [[D + 32, w16(0x37b)]], 0x10);
    expect(noNe.vector).toBeNull();
    expect(noNe.f64(D)).toBe(1);
    expect(Boolean(noNe.core.fpuFerr())).toBe(true);
    noNe.core.fpuIgnne();
    expect(Boolean(noNe.core.fpuFerr())).toBe(false);
  });

  it("#NM: CR0.EM for escapes, CR0.TS for escapes, WAIT only with MP and TS", async () => {
    expect((await run(kind, [...fld1], [], 0x14)).vector).toBe(7);
    expect((await run(kind, [...fwait], [], 0x14)).vector).toBeNull();
    expect((await run(kind, [...fnstsw(D)], [], 0x18)).vector).toBe(7);
    expect((await run(kind, [...fwait], [], 0x18)).vector).toBeNull();
    expect((await run(kind, [...fwait], [], 0x1a)).vector).toBe(7);
  });

  it("FLD m64 of a double denormal raises DE (SDM; QEMU does not)", async () => {
    const r = await run(kind, [...fninit, ...fld64(D + 8), ...fnstsw(D)], [[D + 8, bitsBytes(0, 1)]]);
    expect(r.u16(D) & 0xff).toBe(SW.DE);
  });

  it("FCOMI sets ZF PF CF and clears OF SF AF (SDM; QEMU keeps them)", async () => {
    // popf with all arithmetic flags set, then fcomi st0,st1 with 1 < 2, then pushf
    const code = [...fninit, ...fld64(D + 16), ...fld1, 0x68, 0xd7, 0x08 /* push 0x8d7 */, 0x9d, ...reg(0xdb, 0xf1), 0x9c, 0x58 /* pop ax */, 0xa3, ...w16(D)];
    const r = await run(kind, code, [[D + 16, f64bytes(2)]]);
    expect(r.u16(D) & 0x8d5).toBe(0x001); // CF only
  });

  it("C1 tells a rounded-up result (SDM; QEMU never sets it)", async () => {
    const code = (den: number) => [...fninit, ...fld1, ...m(0xdc, 6, den), ...fnstsw(D)];
    const up = await run(kind, code(D + 8), [[D + 8, f64bytes(10)]]); // 1/10 rounds up
    expect(up.u16(D) & (SW.PE | SW.C1)).toBe(SW.PE | SW.C1);
    const down = await run(kind, code(D + 8), [[D + 8, f64bytes(3)]]); // 1/3 rounds down
    expect(down.u16(D) & (SW.PE | SW.C1)).toBe(SW.PE);
  });

  it("precision control 24 bits rounds correctly in the directed modes (QEMU 7.2 is one ulp low)", async () => {
    const cw = (rc: number) => 0x007f | (rc << 10);
    for (const [rc, want] of [[1, "4431e3ab80000000"], [3, "4431e3ab80000000"], [2, "4431e3aba0000000"], [0, "4431e3ab80000000"]] as const) {
      const r = await run(kind, [...fninit, ...fldcw(D + 32), ...fld64(D + 8), ...fmul64(D + 16), ...fstp64(D)], [[D + 32, w16(cw(rc))], [D + 8, f64bytes(1e20)], [D + 16, f64bytes(3.3)]]);
      expect(r.hex64(D)).toBe(want);
    }
  });

  it("FSIN of exactly 2^63 is out of range: C2, operand unchanged (QEMU computes it)", async () => {
    const r = await run(kind, [...fninit, ...fld64(D + 8), ...reg(0xd9, 0xfe), ...fnstsw(D), ...fstp64(D + 16)], [[D + 8, f64bytes(2 ** 63)]]);
    expect(r.u16(D) & SW.C2).toBe(SW.C2);
    expect(r.f64(D + 16)).toBe(2 ** 63);
  });

  it("FPREM1 reports the quotient bits (SDM; QEMU 7.2 does not)", async () => {
    // 7.5 rem1 2 = -0.5, quotient 4: C0=1 C3=0 C1=0
    const r = await run(kind, [...fninit, ...fld64(D + 16), ...fld64(D + 8), ...reg(0xd9, 0xf5), ...fnstsw(D), ...fstp64(D + 24)], [[D + 8, f64bytes(7.5)], [D + 16, f64bytes(2)]]);
    expect(r.u16(D) & (SW.C0 | SW.C1 | SW.C2 | SW.C3)).toBe(SW.C0);
    expect(r.f64(D + 24)).toBe(-0.5);
  });

  it("FNSTENV keeps the opcode (P6) and masks all exceptions; FLDENV reloads the pointers", async () => {
    const code = [...fninit, ...fldcw(D + 32), ...fld64(D + 8) /* DD 06: FOP 0x506 */, ...fnstenv(D + 64), ...fnstcw(D), ...fninit, ...fldenv(D + 64), ...fnstenv(D + 96)];
    const r = await run(kind, code, [[D + 32, w16(0x360)], [D + 8, f64bytes(1)]]);
    // real mode, 16-bit operand size: the 14-byte real-mode layout
    expect(r.u16(D + 64)).toBe(0x360);
    expect(r.u16(D)).toBe(0x37f);
    expect(r.u16(D + 64 + 6)).toBe(CODE + 4 + 2); // FIP 15:0 (linear)
    expect(r.u16(D + 64 + 8) & 0x7ff).toBe(0x506);
    expect(r.u16(D + 64 + 10)).toBe(D + 8); // FDP
    for (let i = 6; i < 14; i += 2) expect(r.u16(D + 96 + i)).toBe(r.u16(D + 64 + i));
  });

  it("integer stores of out-of-range values give the integer indefinite with IE", async () => {
    const code = [...fninit, ...fld64(D + 8), ...fist32(D + 32), ...fld64(D + 16), ...fistp64(D + 40), ...fld64(D + 16), ...fistp16(D + 48), ...fnstsw(D)];
    const r = await run(kind, code, [[D + 8, f64bytes(3e9)], [D + 16, f64bytes(2 ** 63)]]);
    expect(r.u32(D + 32)).toBe(0x80000000);
    expect(r.hex64(D + 40)).toBe("8000000000000000");
    expect(r.u16(D + 48)).toBe(0x8000);
    expect(r.u16(D) & SW.IE).toBe(SW.IE);
  });

  it("FLD m80 rounds to nearest even; unsupported encodings load the indefinite; out-of-range values saturate", async () => {
    const cases: [number[], string][] = [
      [f80bytes(0x3fff, 0x80000000, 0x00000400), "3ff0000000000000"], // 1 + 2^-53: a tie, to even
      [f80bytes(0x3fff, 0x80000000, 0x00000401), "3ff0000000000001"], // just above the tie
      [f80bytes(0x3fff, 0x80000000, 0x00000c00), "3ff0000000000002"], // 1 + 3·2^-53: a tie, to even (up)
      [f80bytes(0x3fff, 0x40000000, 0), "fff8000000000000"],          // unnormal
      [f80bytes(0x7fff, 0x00000000, 0), "fff8000000000000"],          // pseudo-infinity
      [f80bytes(0x5000, 0x80000000, 0), "7ff0000000000000"],          // 2^4097: +inf
      [f80bytes(0x8001, 0x80000000, 0), "8000000000000000"],          // -2^-16382: -0
      [f80bytes(0x3bcd, 0xc0000000, 0), "0000000000000002"],          // 1.5·2^-1074: a tie, to even
    ];
    for (const [img, want] of cases) {
      const r = await run(kind, [...fninit, ...fld80(D + 16), ...fstp64(D)], [[D + 16, img]]);
      expect(r.hex64(D), want).toBe(want);
    }
  });

  it("FBSTP writes packed BCD, the indefinite when out of range", async () => {
    const r = await run(kind, [...fninit, ...fld64(D + 8), ...fbstp(D + 16), ...fld64(D + 48), ...fbstp(D + 32)], [[D + 8, f64bytes(-987654321012345)], [D + 48, f64bytes(1e18)]]);
    expect([...r.m.readMemory(D + 16, 10)]).toEqual([0x45, 0x23, 0x01, 0x21, 0x43, 0x65, 0x87, 0x09, 0x00, 0x80]);
    expect([...r.m.readMemory(D + 32, 10)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
  });

  it("zero results keep the sign: FRNDINT(-0.25), (-1e-300)·(1e-300), x − x in round-down", async () => {
    const cwDown = 0x077f;
    const r = await run(kind, [
      ...fninit, ...fld64(D + 8), ...reg(0xd9, 0xfc), ...fstp64(D + 32),
      ...fld64(D + 16), ...fmul64(D + 24), ...fstp64(D + 40),
      ...fldcw(D + 64), ...fld64(D + 24), ...m(0xdc, 4, D + 24) /* fsub m64 */, ...fstp64(D + 48),
    ], [[D + 8, f64bytes(-0.25)], [D + 16, f64bytes(-1e-300)], [D + 24, f64bytes(1e-300)], [D + 64, w16(cwDown)]]);
    expect(r.hex64(D + 32)).toBe("8000000000000000");
    expect(r.hex64(D + 40)).toBe("8000000000000000");
    expect(r.hex64(D + 48)).toBe("8000000000000000");
  });

  it("FST m32 overflow with OE unmasked stores nothing", async () => {
    const r = await run(kind, [...fninit, ...fldcw(D + 32), ...fld64(D + 8), ...fstp32(D + 16), ...fnstsw(D)], [[D + 32, w16(0x377)], [D + 8, f64bytes(1e39)], [D + 16, [1, 2, 3, 4]]]);
    expect(r.u32(D + 16)).toBe(0x04030201);
    expect(r.u16(D) & 0xff).toBe(SW.OE | SW.ES);
  });
});

// ---- the two engines agree bit for bit --------------------------------------------------------

function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}

describe("x87: both engines are bit-identical", () => {
  it("on a random program over special values, NaN payloads, denormals and every rounding/precision mode", async () => {
    const next = rng(20240611);
    const pick = <T>(a: T[]): T => a[next() % a.length]!;
    const values = (): number[] => {
      switch (next() % 9) {
        case 0: return bitsBytes(0x7ff00000 | (next() & 0xfffff), next() | 1);                 // NaN, random payload (maybe signaling)
        case 1: return bitsBytes((next() & 0x800fffff) >>> 0, next());                         // denormal or zero
        case 2: return f64bytes(pick([0, -0, Infinity, -Infinity, 1, -1, 0.5, 2, 3, 10]));
        case 3: return f64bytes((next() / 2 ** 32 - 0.5) * 2 ** ((next() % 64) - 32));
        case 4: return f64bytes((next() - 2 ** 31) * (next() % 4 === 0 ? 2 ** 20 : 1));
        case 5: return bitsBytes(next(), next());                                              // anything
        case 6: return f64bytes((next() / 2 ** 32) * 2 ** (((next() % 2000) | 0) - 1000));
        case 7: return f64bytes(pick([2 ** 63, -(2 ** 63), 1e18, 2 ** 1023, 1e-310, 0.25, -0.75]));
        default: return f64bytes((next() / 2 ** 32 - 0.5) * 8);
      }
    };
    const ops: number[][] = [
      reg(0xd8, 0xc1), reg(0xd8, 0xc9), reg(0xd8, 0xe1), reg(0xd8, 0xe9), reg(0xd8, 0xf1), reg(0xd8, 0xf9), // fadd fmul fsub fsubr fdiv fdivr
      reg(0xdc, 0xe9), reg(0xde, 0xf9), reg(0xd9, 0xfa), reg(0xd9, 0xfc), reg(0xd9, 0xfd), reg(0xd9, 0xf4), // fsub st1 fdivp fsqrt frndint fscale fxtract
      reg(0xd9, 0xf8), reg(0xd9, 0xf5), reg(0xd9, 0xfe), reg(0xd9, 0xff), reg(0xd9, 0xf2), reg(0xd9, 0xfb), // fprem fprem1 fsin fcos fptan fsincos
      reg(0xd9, 0xf3), reg(0xd9, 0xf0), reg(0xd9, 0xf1), reg(0xd9, 0xf9), reg(0xd9, 0xe5), reg(0xd9, 0xe4), // fpatan f2xm1 fyl2x fyl2xp1 fxam ftst
      reg(0xd8, 0xd1), reg(0xdd, 0xe1), reg(0xd9, 0xe1), reg(0xd9, 0xe0), reg(0xd9, 0xc9),                  // fcom fucom fabs fchs fxch
    ];
    const N = 400;
    const code: number[] = [];
    const data: [number, number[]][] = [];
    for (let i = 0; i < N; i++) {
      const base = 0x5000 + i * 48; // a, b, cw | results: r0 r1 (m64), r2 (m32), sw, int (m32), bcd
      data.push([base, values()], [base + 8, values()], [base + 16, w16((pick([0x000, 0x200, 0x300]) | (next() % 4) << 10 | 0x40 | pick([0x3f, 0x3f, 0x3f, 0x3e, 0x3b, 0x37, 0x2f, 0x1f])) & 0xffff)]);
      code.push(...fninit, ...fldcw(base + 16), ...fld64(base + 8), ...fld64(base), ...pick(ops));
      code.push(...m(0xd9, 2, base + 18) /* fst m32 */, ...fist32(base + 22), ...fnclex, ...fstp64(base + 26), ...fstp64(base + 34), ...fnstsw(base + 42), ...fnclex);
      if (i % 8 === 0) code.push(...fld64(base), ...fbstp(base + 36));
    }
    const outputs = await Promise.all(ENGINES.map(async (k) => {
      const mach = new BareMachine({ engine: await createEngine(k, RAM), ramBytes: RAM });
      for (const [a, b] of data) mach.writeMemory(a, b);
      mach.writeMemory(0x10000, [...code, ...hlt]);
      mach.setState({ cr0: 0x10, eip: 0, eflags: 2, esp: 0xfff0, cs: realSegment(0x1000, true), ds: realSegment(0), ss: realSegment(0), es: realSegment(0) });
      const stop = mach.step(1_000_000);
      expect(stop.kind).toBe("halted");
      return [...mach.readMemory(0x5000, N * 48)];
    }));
    expect(code.length).toBeLessThan(0x10000);
    const [a, b] = outputs;
    const firstDiff = a!.findIndex((v, i) => v !== b![i]);
    expect(firstDiff, `engines differ at byte ${firstDiff} (case ${Math.floor(firstDiff / 48)})`).toBe(-1);
  });
});
