// Double-precision arithmetic as SSE2 does it (SDM Vol. 1 §4.8, §11.5): operands and results
// are binary64 bit patterns (high word, low word) — NaNs never pass through a Number (DESIGN.md);
// values are computed in f64 and rounded again in MXCSR's mode with the sign of the f64
// result's error (cpu/fpu/round.ts), so every result and flag is exact. A result is left in
// (resHi, resLo); exception flags go to sse/state.ts's accumulator.
import { f64bitsHi, f64bitsLo, f64fromBits } from "../../portable";
import { roundTo, roundInt, inexact, addErrSign, mulErrSign, divErrSign, sqrtErrSign } from "../fpu/round";
import { RC_NEAR, RC_DOWN, RC_UP, RC_CHOP } from "../fpu/state";
import { mxcsr, mxRound, signal, MX_IE, MX_DE, MX_ZE, MX_OE, MX_UE, MX_PE, MX_DAZ, MX_FTZ } from "./state";

/** The last result: binary64 high and low words. */
export let resHi: i32 = 0;
export let resLo: i32 = 0;

const SIGN: i32 = i32(0x80000000);
export const INDEFINITE_HI: i32 = i32(0xfff80000); // the QNaN "real indefinite" (low word 0)
const MIN_NORMAL: f64 = 2.2250738585072014e-308;   // 2^-1022
const TWO600: f64 = 4.149515568880993e180;          // 2^600: scales a tiny exact value into the normal range
const TWO300: f64 = 2.037035976334486e90;           // 2^300

export function isNaN64(hi: i32, lo: i32): bool { return (hi & 0x7ff00000) == 0x7ff00000 && ((hi & 0xfffff) | lo) != 0; }
export function isSNaN64(hi: i32, lo: i32): bool { return isNaN64(hi, lo) && (hi & 0x80000) == 0; }
function isDenormal64(hi: i32, lo: i32): bool { return (hi & 0x7ff00000) == 0 && ((hi & 0xfffff) | lo) != 0; }
function isInf64(hi: i32, lo: i32): bool { return (hi & 0x7fffffff) == 0x7ff00000 && lo == 0; }

function set(hi: i32, lo: i32): void { resHi = hi; resLo = lo; }
/** A result that is a number (never a NaN). */
function setValue(x: f64): void { resHi = f64bitsHi(x); resLo = f64bitsLo(x); }
function setIndefinite(): void { signal(MX_IE); set(INDEFINITE_HI, 0); }

/** The operand's value: a denormal is DE, or with MXCSR.DAZ a zero of its sign (no DE). Not for NaNs. */
function value(hi: i32, lo: i32): f64 {
  if (isDenormal64(hi, lo)) {
    if ((mxcsr & MX_DAZ) != 0) return (hi & SIGN) != 0 ? -0.0 : 0.0;
    signal(MX_DE);
  }
  return f64fromBits(hi, lo);
}

/** NaN operands (SDM Table 4-7): an SNaN is IE; the result is the first NaN operand, quieted. */
function nanResult(ah: i32, al: i32, bh: i32, bl: i32): void {
  if (isSNaN64(ah, al) || isSNaN64(bh, bl)) signal(MX_IE);
  if (isNaN64(ah, al)) set(ah | 0x80000, al); else set(bh | 0x80000, bl);
}

/**
 * The exact value r + s·ε (r its f64 rounding to nearest, ±∞ when that overflowed) rounded to
 * binary64 in MXCSR's mode: OE, UE, PE; FTZ flushes a tiny result to zero when underflow is
 * masked. `tiny`: the value rounded to 53 bits with an unbounded exponent is below 2^-1022
 * (x86 detects tininess after rounding), which the caller knows best.
 */
function round64(r: f64, s: i32, tiny: bool): void {
  const mode = mxRound();
  if (r == Infinity || r == -Infinity) { overflow(r < 0, mode); return; }
  const uMasked = (mxcsr & (MX_UE << 7)) != 0;
  if (tiny && (mxcsr & MX_FTZ) != 0 && uMasked) {
    signal(MX_UE | MX_PE);
    set(r < 0 || (r == 0 && s < 0) ? SIGN : 0, 0);
    return;
  }
  const res = roundTo(r, s, 53, mode);
  if (res == Infinity || res == -Infinity) { overflow(res < 0, mode); return; }
  if (inexact) { if (tiny) signal(MX_UE); signal(MX_PE); }
  else if (tiny && !uMasked) signal(MX_UE);
  setValue(res);
}
function overflow(neg: bool, mode: i32): void {
  signal(MX_OE | MX_PE);
  const toInf = mode == RC_NEAR || (mode == RC_UP && !neg) || (mode == RC_DOWN && neg);
  set((neg ? SIGN : 0) | (toInf ? 0x7ff00000 : 0x7fefffff), toInf ? 0 : -1);
}
/** Tininess after rounding of an exact value known as q·2^-600 (q = its scaled f64 rounding, s the error's sign). */
function tinyScaled(q: f64, s: i32): bool { return Math.abs(roundTo(q, s, 53, mxRound())) < MIN_NORMAL * TWO600; }

export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MIN = 4, OP_MAX = 5, OP_SQRT = 6;

/** dest `op` src for one binary64 element (SQRT reads src only); the result in (resHi, resLo). */
export function arith64(op: i32, ah: i32, al: i32, bh: i32, bl: i32): void {
  if (op == OP_MIN || op == OP_MAX) { minMax64(op == OP_MAX, ah, al, bh, bl); return; }
  if (op == OP_SQRT) { sqrt64(bh, bl); return; }
  if (isNaN64(ah, al) || isNaN64(bh, bl)) { nanResult(ah, al, bh, bl); return; }
  const x = value(ah, al), y = value(bh, bl);
  const sign = (ah ^ bh) & SIGN;
  switch (op) {
    case OP_ADD: case OP_SUB: {
      const yy = op == OP_SUB ? -y : y;
      if (isInf64(ah, al) && isInf64(bh, bl) && (x > 0) != (yy > 0)) { setIndefinite(); return; }
      if (isInf64(ah, al) || isInf64(bh, bl)) { setValue(x + yy); return; }
      const r = x + yy;
      if (r == 0) {
        // An exact zero (IEEE 754 §6.3): two zeros of one sign sum to that zero; any other exact zero is +0, −0 rounding down.
        if (x == 0 && yy == 0 && (1.0 / x < 0) == (1.0 / yy < 0)) { setValue(x); return; }
        set(mxRound() == RC_DOWN ? SIGN : 0, 0);
        return;
      }
      // A sum below 2^-1022 is exact (its operands' units are no finer than the denormals'): tiny, no rounding.
      round64(r, r == Infinity || r == -Infinity ? (r > 0 ? 1 : -1) : addErrSign(x, yy, r), Math.abs(r) < MIN_NORMAL);
      return;
    }
    case OP_MUL: {
      if ((isInf64(ah, al) && y == 0) || (isInf64(bh, bl) && x == 0)) { setIndefinite(); return; }
      if (isInf64(ah, al) || isInf64(bh, bl)) { set(sign | 0x7ff00000, 0); return; }
      if (x == 0 || y == 0) { set(sign, 0); return; }
      const r = x * y;
      if (r == Infinity || r == -Infinity) { round64(r, 0, false); return; }
      let tiny = false;
      if (Math.abs(r) <= MIN_NORMAL) { // both factors below 2^53 then: scaled by 2^300 each, the product is normal
        const xs = x * TWO300, ys = y * TWO300;
        const q = xs * ys;
        tiny = tinyScaled(q, mulErrSign(xs, ys, q));
      }
      round64(r, mulErrSign(x, y, r), tiny);
      return;
    }
    default: { // OP_DIV
      if ((isInf64(ah, al) && isInf64(bh, bl)) || (x == 0 && y == 0)) { setIndefinite(); return; }
      if (isInf64(ah, al)) { set(sign | 0x7ff00000, 0); return; } // ∞ / finite: exact
      if (y == 0) { signal(MX_ZE); set(sign | 0x7ff00000, 0); return; }
      if (isInf64(bh, bl) || x == 0) { set(sign, 0); return; }
      const r = x / y;
      if (r == Infinity || r == -Infinity) { round64(r, 0, false); return; }
      let tiny = false;
      if (Math.abs(r) <= MIN_NORMAL) { // the dividend is then below 2^3: scaled by 2^600 the quotient is normal
        const xs = x * TWO600;
        const q = xs / y;
        tiny = tinyScaled(q, divErrSign(xs, y, q));
      }
      round64(r, divErrSign(x, y, r), tiny);
      return;
    }
  }
}

function sqrt64(bh: i32, bl: i32): void {
  if (isNaN64(bh, bl)) { nanResult(bh, bl, bh, bl); return; }
  const y = value(bh, bl);
  if (y == 0) { set(bh & SIGN, 0); return; } // ±0 (DAZ: the denormal's signed zero)
  if (y < 0) { setIndefinite(); return; }
  if (isInf64(bh, bl)) { set(bh, bl); return; }
  const r = Math.sqrt(y);
  round64(r, sqrtErrSign(y, r), false); // a square root is never tiny
}

/** MIN/MAX: the second operand when either is a NaN (IE: they compare ordered) or both are zeros. */
function minMax64(max: bool, ah: i32, al: i32, bh: i32, bl: i32): void {
  if (isNaN64(ah, al) || isNaN64(bh, bl)) { signal(MX_IE); set(bh, bl); return; }
  const x = value(ah, al), y = value(bh, bl);
  const daz = (mxcsr & MX_DAZ) != 0;
  if (max ? x > y : x < y) set(ah, daz && isDenormal64(ah, al) ? 0 : al);
  else set(bh, daz && isDenormal64(bh, bl) ? 0 : bl);
  if (daz && isDenormal64(resHi, resLo)) set(resHi & SIGN, 0);
}

/** CMPPD/CMPSD predicate imm8 (0-7: EQ LT LE UNORD NEQ NLT NLE ORD): all ones when it holds. */
export function compare64(pred: i32, ah: i32, al: i32, bh: i32, bl: i32): bool {
  if (isNaN64(ah, al) || isNaN64(bh, bl)) {
    const signaling = pred == 1 || pred == 2 || pred == 5 || pred == 6;
    if (signaling || isSNaN64(ah, al) || isSNaN64(bh, bl)) signal(MX_IE);
    return pred == 3 || pred == 4 || pred == 5 || pred == 6;
  }
  const x = value(ah, al), y = value(bh, bl);
  let r: bool;
  switch (pred & 3) {
    case 0: r = x == y; break;
    case 1: r = x < y; break;
    case 2: r = x <= y; break;
    default: r = true; break;
  }
  if (pred == 3) r = false;
  else if (pred >= 4 && pred != 7) r = !r;
  return r;
}

/** COMISD/UCOMISD: ZF PF CF as 111 unordered, 000 greater, 001 less, 100 equal. */
export function compareFlags64(ah: i32, al: i32, bh: i32, bl: i32, signaling: bool): i32 {
  if (isNaN64(ah, al) || isNaN64(bh, bl)) {
    if (signaling || isSNaN64(ah, al) || isSNaN64(bh, bl)) signal(MX_IE);
    return 7;
  }
  const x = value(ah, al), y = value(bh, bl);
  return x > y ? 0 : x < y ? 1 : 4;
}

// ---- conversions ---------------------------------------------------------------------------------

/** int32 → binary64: exact. */
export function fromInt64(v: i32): void { setValue(f64(v)); }

/** binary64 → int32 in MXCSR's mode (or toward zero): NaN or out of range is IE and 80000000h, inexact PE. */
export function toInt64(hi: i32, lo: i32, truncate: bool): i32 {
  if (isNaN64(hi, lo)) { signal(MX_IE); return SIGN; }
  if (isDenormal64(hi, lo) && (mxcsr & MX_DAZ) != 0) return 0;
  const x = f64fromBits(hi, lo); // (no DE: conversions raise IE and PE only)
  if (!(Math.abs(x) < 4294967296.0)) { signal(MX_IE); return SIGN; }
  const u = roundInt(x, 0, truncate ? RC_CHOP : mxRound());
  if (u >= 2147483648.0 || u < -2147483648.0) { signal(MX_IE); return SIGN; }
  if (u != x) signal(MX_PE);
  return i32(u);
}

/** binary32 bits → binary64 (CVTSS2SD/CVTPS2PD): exact; an SNaN is IE and quieted, a denormal DE (or DAZ's zero). */
export function fromSingle(b: i32): void {
  const sign = b & SIGN, e = (b >>> 23) & 0xff, f = b & 0x7fffff;
  if (e == 0xff) {
    if (f != 0 && (f & 0x400000) == 0) signal(MX_IE);
    set(sign | 0x7ff00000 | (f != 0 ? 0x80000 : 0) | (f >>> 3), f << 29); // (NaN payloads keep their bits)
    return;
  }
  if (e == 0 && f != 0) {
    if ((mxcsr & MX_DAZ) != 0) { set(sign, 0); return; }
    signal(MX_DE);
    const x = f64(f) * 1.401298464324817e-45; // 2^-149
    setValue(sign != 0 ? -x : x);
    return;
  }
  if (e == 0) { set(sign, 0); return; }
  set(sign | ((e - 127 + 1023) << 20) | (f >>> 3), f << 29);
}

/** Whether binary64 (hi, lo) is a NaN, and the binary32 NaN it converts to (CVTSD2SS/CVTPD2PS): the top payload bits, quieted. */
export function nanToSingle(hi: i32, lo: i32): i32 {
  if (isSNaN64(hi, lo)) signal(MX_IE);
  return (hi & SIGN) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
}
/** The binary64 value of (hi, lo), not a NaN, with DAZ and DE applied (for CVTSD2SS, which rounds it to binary32). */
export function valueForSingle(hi: i32, lo: i32): f64 { return value(hi, lo); }
