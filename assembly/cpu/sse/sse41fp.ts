// SSE4.1's floating-point instructions (SDM Vol. 2): ROUNDPS/PD/SS/SD (66 0F 3A 08-0B) and
// DPPS/DPPD (66 0F 3A 40, 41). ROUND rounds to an integer in imm8's mode (or MXCSR's with bit 2
// set); bit 3 suppresses the precision exception; only an SNaN is otherwise an exception (no DE:
// a denormal is a number to round, or DAZ's zero). DP multiplies, then adds in the SDM's tree —
// (p0 + p1) + (p2 + p3) — each step rounded in MXCSR's mode as SSE's ADD and MUL are.
import { aborted } from "../../fault";
import { modrmReg } from "../decode";
import { fetch8 } from "../fetch";
import { f64bitsHi, f64bitsLo, f64fromBits } from "../../portable";
import { roundInt, inexact } from "../fpu/round";
import { xmmp, SRC, RES, el, setEl, copy16, clearFlags, signal, mxcsr, mxRound, MX_IE, MX_PE, MX_DAZ } from "./state";
import { source, commitFlags } from "./exec";
import { isNaN32, isSNaN32, toF64, fromF64, arith, OP_ADD, OP_MUL } from "./float32";
import { isNaN64, isSNaN64, arith64, resHi, resLo, OP_ADD as OP_ADD64, OP_MUL as OP_MUL64 } from "./float64";

const SIGN: i32 = i32(0x80000000);

/** ROUNDPS (08), ROUNDPD (09), ROUNDSS (0A), ROUNDSD (0B) xmm, xmm/m, imm8. */
export function roundExecute(op: i32): void {
  const scalar = op >= 0x0a, double = (op & 1) != 0;
  if (!source(scalar ? (double ? 8 : 4) : 16, !scalar)) return;
  const imm = fetch8(); if (aborted) return;
  const mode = (imm & 4) != 0 ? mxRound() : imm & 3, quietPE = (imm & 8) != 0;
  const d = xmmp(modrmReg);
  copy16(RES, d);
  clearFlags();
  const n = scalar ? 1 : double ? 2 : 4;
  for (let k = 0; k < n; k++) {
    if (!double) { setEl(RES, k, roundSingle(el(SRC, k), mode, quietPE)); continue; }
    const hi = el(SRC, 2 * k + 1), lo = el(SRC, 2 * k);
    if (isNaN64(hi, lo)) { if (isSNaN64(hi, lo)) signal(MX_IE); setEl(RES, 2 * k + 1, hi | 0x80000); setEl(RES, 2 * k, lo); continue; }
    const r = roundValue(f64fromBits(hi, lo), (hi & 0x7ff00000) == 0, mode, quietPE);
    setEl(RES, 2 * k + 1, f64bitsHi(r) | (hi & SIGN)); setEl(RES, 2 * k, f64bitsLo(r));
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}

function roundSingle(b: i32, mode: i32, quietPE: bool): i32 {
  if (isNaN32(b)) { if (isSNaN32(b)) signal(MX_IE); return b | 0x400000; }
  return fromF64(roundValue(toF64(b), (b & 0x7f800000) == 0, mode, quietPE)) | (b & SIGN);
}

/**
 * x (not a NaN) rounded to an integer in `mode` (PE when inexact, unless suppressed); a zero
 * result takes x's sign from the caller. `zeroExponent`: x is a zero or a denormal (DAZ's zero).
 */
function roundValue(x: f64, zeroExponent: bool, mode: i32, quietPE: bool): f64 {
  if (zeroExponent && (mxcsr & MX_DAZ) != 0) return 0;
  if (!(Math.abs(x) < 4503599627370496.0)) return x; // 2^52: infinities and binary64 values beyond are integers
  const r = roundInt(x, 0, mode);
  if (inexact && !quietPE) signal(MX_PE);
  return r;
}

/**
 * DPPS / DPPD xmm, xmm/m128 (the source in SRC), imm8: the products of the elements imm8[7:4]
 * (DPPD: [5:4]) selects, +0 for the others, summed; the sum into the elements imm8[3:0] selects
 * ([1:0]), +0 into the rest.
 */
export function dotProduct(single: bool, imm: i32): void {
  const d = xmmp(modrmReg);
  clearFlags();
  if (single) {
    const p0 = product(d, 0, imm), p1 = product(d, 1, imm), p2 = product(d, 2, imm), p3 = product(d, 3, imm);
    const sum = arith(OP_ADD, arith(OP_ADD, p0, p1), arith(OP_ADD, p2, p3));
    for (let k = 0; k < 4; k++) setEl(RES, k, ((imm >> k) & 1) != 0 ? sum : 0);
  } else {
    let h0 = 0, l0 = 0, h1 = 0, l1 = 0;
    if ((imm & 0x10) != 0) { arith64(OP_MUL64, el(d, 1), el(d, 0), el(SRC, 1), el(SRC, 0)); h0 = resHi; l0 = resLo; }
    if ((imm & 0x20) != 0) { arith64(OP_MUL64, el(d, 3), el(d, 2), el(SRC, 3), el(SRC, 2)); h1 = resHi; l1 = resLo; }
    arith64(OP_ADD64, h0, l0, h1, l1);
    for (let k = 0; k < 2; k++) {
      const on = ((imm >> k) & 1) != 0;
      setEl(RES, 2 * k, on ? resLo : 0); setEl(RES, 2 * k + 1, on ? resHi : 0);
    }
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}

function product(d: i32, k: i32, imm: i32): i32 {
  return ((imm >> (4 + k)) & 1) != 0 ? arith(OP_MUL, el(d, k), el(SRC, k)) : 0;
}
