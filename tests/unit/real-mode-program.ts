/**
 * A program run in real mode on a bare machine, for CPU cases QEMU cannot be the oracle
 * for (the SDM is): CS = 0, code at 0x1000, data below 0x10000, IVT vector v → a HLT at
 * 0x3000 + v, so a fault stops at EIP 0x3001 + v (`vector`); or, for #GP, a handler of the
 * test's own. Shared by the MMX and FXSAVE tests.
 */
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { realSegment } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";

export const CODE = 0x1000;
export const GP_HANDLER = 0x2000;
const RAM = 1 << 20;

// ---- a tiny assembler: 16-bit addressing ([disp16] operands) ------------------------------
export const m = (op: number[], reg: number, a: number) => [...op, (reg << 3) | 6, a & 0xff, (a >> 8) & 0xff];
export const fninit = [0xdb, 0xe3], fld1 = [0xd9, 0xe8], fldz = [0xd9, 0xee], fsqrt = [0xd9, 0xfa], fchs = [0xd9, 0xe0];
export const fwait = [0x9b], hlt = [0xf4], emms = [0x0f, 0x77];
export const fnstsw = (a: number) => m([0xdd], 7, a), fnstenv = (a: number) => m([0xd9], 6, a), fnsave = (a: number) => m([0xdd], 6, a);
export const frstor = (a: number) => m([0xdd], 4, a), fldcw = (a: number) => m([0xd9], 5, a), fstp64 = (a: number) => m([0xdd], 3, a);
export const fld64 = (a: number) => m([0xdd], 0, a);
export const movqLoad = (mm: number, a: number) => m([0x0f, 0x6f], mm, a);
export const movqStore = (a: number, mm: number) => m([0x0f, 0x7f], mm, a);
export const fxsave = (a: number) => m([0x0f, 0xae], 0, a), fxrstor = (a: number) => m([0x0f, 0xae], 1, a);
export const top = (sw: number) => (sw >> 11) & 7;

// SSE programs: CR4's OSFXSR/OSXMMEXCPT (mov eax, imm32; mov cr4, eax), MXCSR, 16-byte moves, values.
export const d32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const setCr4 = (v: number) => [0x66, 0xb8, ...d32(v), 0x0f, 0x22, 0xe0];
export const OSFXSR = 1 << 9, OSXMMEXCPT = 1 << 10;
export const ldmxcsr = (a: number) => m([0x0f, 0xae], 2, a), stmxcsr = (a: number) => m([0x0f, 0xae], 3, a);
export const movaps = (x: number, a: number) => m([0x0f, 0x28], x, a), movupsStore = (a: number, x: number) => m([0x0f, 0x11], x, a);
/** The binary32 bits of x. */
export const f32 = (x: number) => { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, x, true); return b.getUint32(0, true); };

export function q(v: bigint): number[] { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, true); return [...b]; }
export function w16(v: number): number[] { return [v & 0xff, (v >> 8) & 0xff]; }

export interface Run {
  m: BareMachine; vector: number | null;
  u8(a: number): number; u16(a: number): number; u32(a: number): number; u64(a: number): bigint;
  /** Run again from `eip` (the machine halted). */
  step(eip: number): number | null;
}

/** Run `code` (then HLT) with `data` in memory; `gpHandler` (then HLT) runs on #GP. */
export async function run(kind: EngineKind, code: number[], data: [number, number[]][] = [], cr0 = 0x10, gpHandler?: number[]): Promise<Run> {
  const mach = new BareMachine({ engine: await createEngine(kind, RAM), ramBytes: RAM });
  const ivt: number[] = [];
  for (let v = 0; v < 256; v++) ivt.push(...w16(v === 13 && gpHandler ? GP_HANDLER : 0x3000 + v), 0, 0);
  mach.writeMemory(0, ivt);
  mach.writeMemory(0x3000, new Array(256).fill(0xf4));
  if (gpHandler) mach.writeMemory(GP_HANDLER, [...gpHandler, ...hlt]);
  for (const [a, bytes] of data) mach.writeMemory(a, bytes);
  mach.writeMemory(CODE, [...code, ...hlt]);
  mach.setState({
    cr0, eip: CODE, eflags: 2, esp: 0x8000,
    cs: realSegment(0, true), ds: realSegment(0), ss: realSegment(0), es: realSegment(0),
  });
  const vectorAt = () => { const eip = mach.getState().eip; return eip > 0x3000 && eip <= 0x3100 ? eip - 0x3001 : null; };
  mach.step(100_000);
  const dv = (a: number, n: number) => new DataView(mach.readMemory(a, n).buffer);
  return {
    m: mach, vector: vectorAt(),
    u8: (a) => dv(a, 1).getUint8(0),
    u16: (a) => dv(a, 2).getUint16(0, true),
    u32: (a) => dv(a, 4).getUint32(0, true),
    u64: (a) => dv(a, 8).getBigUint64(0, true),
    step: (eip) => { mach.setState({ eip, halted: false }); mach.step(100_000); return vectorAt(); },
  };
}
