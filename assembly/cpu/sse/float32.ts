// Single-precision arithmetic as SSE does it (SDM Vol. 1 §4.8, §11.5; each instruction in
// Vol. 2): operands and results are binary32 bit patterns; values are computed in f64 (every
// binary32 is exact there) and rounded once to binary32 in MXCSR's rounding mode, using the
// sign of the f64 result's error (cpu/fpu/round.ts) so nothing is rounded twice. Exception
// flags collect in `flags` for the instruction's elements; the dispatcher decides whether
// they are unmasked (#XM) before anything is written.
import { f64bitsHi, f64bitsLo, f64fromBits } from "../../portable";
import {
  roundTo, roundInt, inexact, pow2, addErrSign, divErrSign, sqrtErrSign, clearRounding,
} from "../fpu/round";
import { RC_NEAR, RC_DOWN, RC_UP, RC_CHOP } from "../fpu/state";
import { mxcsr, mxRound, signal, MX_IE, MX_DE, MX_ZE, MX_OE, MX_UE, MX_PE, MX_DAZ, MX_FTZ } from "./state";


export const INDEFINITE: i32 = i32(0xffc00000); // the QNaN "real indefinite"
const FLT_MAX: f64 = 3.4028234663852886e38;
const MIN_NORMAL32: f64 = 1.1754943508222875e-38; // 2^-126

export function isNaN32(b: i32): bool { return (b & 0x7f800000) == 0x7f800000 && (b & 0x7fffff) != 0; }
export function isSNaN32(b: i32): bool { return isNaN32(b) && (b & 0x400000) == 0; }
function isDenormal32(b: i32): bool { return (b & 0x7f800000) == 0 && (b & 0x7fffff) != 0; }
function isInf32(b: i32): bool { return (b & 0x7fffffff) == 0x7f800000; }
function quiet(b: i32): i32 { return b | 0x400000; }

/**
 * An operand as the instruction sees it: a denormal is DE, or with MXCSR.DAZ a zero of
 * its sign (no DE). NaNs are never converted.
 */
export function operand(b: i32): i32 {
  if (!isDenormal32(b)) return b;
  if ((mxcsr & MX_DAZ) != 0) return b & i32(0x80000000);
  signal(MX_DE);
  return b;
}

/** binary32 bits → f64 (exact; not for NaNs). */
export function toF64(b: i32): f64 {
  const neg = b < 0;
  const e = (b >>> 23) & 0xff, f = b & 0x7fffff;
  let x: f64;
  if (e == 0xff) x = Infinity;
  else if (e == 0) x = f64(f) * pow2(-149);
  else x = f64fromBits(((e - 127 + 1023) << 20) | (f >>> 3), f << 29);
  return neg ? -x : x;
}
/** f64 that is a binary32 value (or ±inf) → its bits. */
export function fromF64(x: f64): i32 {
  const hi = f64bitsHi(x), lo = f64bitsLo(x);
  const sign = hi & i32(0x80000000);
  const a = Math.abs(x);
  if (a == Infinity) return sign | 0x7f800000;
  if (a == 0) return sign;
  const e = ((hi >>> 20) & 0x7ff) - 1023;
  if (e >= -126) return sign | ((e + 127) << 23) | ((hi & 0xfffff) << 3) | (lo >>> 29);
  return sign | i32(a * pow2(149)); // a denormal: an integer number of 2^-149
}

/**
 * The exact value r + s·ε (r = its f64 rounding, s the sign of the error) rounded to binary32
 * in MXCSR's mode: OE, UE, PE; FTZ flushes a tiny result to zero when underflow is masked.
 * Tininess is detected after rounding, as x86 does (and QEMU): the value rounded to 24 bits
 * with an unbounded exponent is below 2^-126.
 */
export function round32(r: f64, s: i32): i32 {
  const mode = mxRound();
  const tiny = (r != 0 || s != 0) && Math.abs(roundTo(r, s, 24, mode)) < MIN_NORMAL32;
  const uMasked = (mxcsr & (MX_UE << 7)) != 0;
  if (tiny && (mxcsr & MX_FTZ) != 0 && uMasked) {
    signal(MX_UE | MX_PE);
    return (r < 0 || (r == 0 && s < 0)) ? i32(0x80000000) : 0;
  }
  const res = roundTo(r, s, 24, mode, -149);
  if (Math.abs(res) > FLT_MAX) return overflow(res < 0, mode);
  if (inexact) { if (tiny) signal(MX_UE); signal(MX_PE); }
  else if (tiny && !uMasked) signal(MX_UE);
  return fromF64(res);
}
function overflow(neg: bool, mode: i32): i32 {
  signal(MX_OE | MX_PE);
  const toInf = mode == RC_NEAR || (mode == RC_UP && !neg) || (mode == RC_DOWN && neg);
  const mag = toInf ? 0x7f800000 : 0x7f7fffff;
  return neg ? mag | i32(0x80000000) : mag;
}

// ---- arithmetic --------------------------------------------------------------------------------

export const OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3, OP_MIN = 4, OP_MAX = 5, OP_SQRT = 6, OP_RCP = 7, OP_RSQRT = 8;

/** NaN operands (SDM Table 4-7): an SNaN is IE; the result is the first NaN operand, quieted. */
function nanResult(a: i32, b: i32): i32 {
  if (isSNaN32(a) || isSNaN32(b)) signal(MX_IE);
  return isNaN32(a) ? quiet(a) : quiet(b);
}

/** dest `op` src for one element (SQRT/RCP/RSQRT read src only). */
export function arith(op: i32, a: i32, b: i32): i32 {
  if (op == OP_MIN || op == OP_MAX) return minMax(op == OP_MAX, a, b);
  if (op >= OP_SQRT) return unary(op, b);
  if (isNaN32(a) || isNaN32(b)) return nanResult(a, b);
  a = operand(a); b = operand(b);
  const x = toF64(a), y = toF64(b);
  const sign = (a ^ b) & i32(0x80000000);
  switch (op) {
    case OP_ADD: case OP_SUB: {
      const yy = op == OP_SUB ? -y : y;
      if (isInf32(a) && isInf32(b) && (x > 0) != (yy > 0)) { signal(MX_IE); return INDEFINITE; }
      if (isInf32(a) || isInf32(b)) return fromF64(x + yy);
      const r = x + yy;
      if (r == 0) {
        // An exact zero (IEEE 754 §6.3): two zeros of one sign sum to that zero; any other exact zero sum is
        // +0, −0 when rounding down.
        if (x == 0 && yy == 0 && (1.0 / x < 0) == (1.0 / yy < 0)) return 1.0 / x < 0 ? i32(0x80000000) : 0;
        return mxRound() == RC_DOWN ? i32(0x80000000) : 0;
      }
      return round32(r, addErrSign(x, yy, r));
    }
    case OP_MUL: {
      if ((isInf32(a) && y == 0) || (isInf32(b) && x == 0)) { signal(MX_IE); return INDEFINITE; }
      if (isInf32(a) || isInf32(b)) return sign | 0x7f800000;
      return x == 0 || y == 0 ? sign : round32(x * y, 0); // 24 × 24 bits: exact in an f64
    }
    default: { // OP_DIV
      if ((isInf32(a) && isInf32(b)) || (x == 0 && y == 0)) { signal(MX_IE); return INDEFINITE; }
      if (isInf32(a)) return sign | 0x7f800000; // ∞ / finite (∞ / 0 included): exact
      if (y == 0) { signal(MX_ZE); return sign | 0x7f800000; }
      if (isInf32(b) || x == 0) return sign;
      const r = x / y;
      return round32(r, divErrSign(x, y, r));
    }
  }
}

function unary(op: i32, b: i32): i32 {
  if (isNaN32(b)) return nanResult(b, b);
  if (op != OP_SQRT) return approx(op == OP_RSQRT, b);
  b = operand(b);
  const y = toF64(b);
  if (y == 0) return b; // ±0
  if (y < 0) { signal(MX_IE); return INDEFINITE; }
  if (isInf32(b)) return b;
  const r = Math.sqrt(y);
  return round32(r, sqrtErrSign(y, r));
}

/**
 * RCPPS/RSQRTPS: the SDM asks for a relative error at most 1.5·2^-12 and no exception flags;
 * this CPU gives what QEMU gives — 1/x, and 1/√x through √x, each rounded to nearest — and
 * raises nothing. Denormal operands count as zero (∞ of their sign), a negative operand of
 * RSQRT gives the indefinite.
 */
function approx(rsqrt: bool, b: i32): i32 {
  const sign = b & i32(0x80000000);
  if ((b & 0x7f800000) == 0) return sign | 0x7f800000;
  if (isInf32(b)) return rsqrt ? (sign != 0 ? INDEFINITE : 0) : sign;
  if (rsqrt && sign != 0) return INDEFINITE;
  let y = toF64(b);
  if (rsqrt) y = nearest32(Math.sqrt(y));
  return fromF64(nearest32(1.0 / y));
}
/** An f64 that is the f64 rounding of one operation on binary32 values → binary32, to nearest (rounding twice is exact here). */
function nearest32(r: f64): f64 {
  const res = roundTo(r, 0, 24, RC_NEAR, -149);
  clearRounding();
  return Math.abs(res) > FLT_MAX ? (res < 0 ? -Infinity : Infinity) : res;
}

/**
 * MIN/MAX: the second operand when either is a NaN (IE for any NaN: these compare ordered)
 * or both are zeros, else the smaller/larger.
 */
function minMax(max: bool, a: i32, b: i32): i32 {
  if (isNaN32(a) || isNaN32(b)) { signal(MX_IE); return b; }
  const x = toF64(operand(a)), y = toF64(operand(b));
  if (max ? x > y : x < y) return (mxcsr & MX_DAZ) != 0 && isDenormal32(a) ? a & i32(0x80000000) : a;
  return (mxcsr & MX_DAZ) != 0 && isDenormal32(b) ? b & i32(0x80000000) : b;
}

// ---- comparisons -------------------------------------------------------------------------------

/** CMPPS/CMPSS predicate imm8 (0-7: EQ LT LE UNORD NEQ NLT NLE ORD): all ones when it holds. */
export function compare(pred: i32, a: i32, b: i32): i32 {
  const nan = isNaN32(a) || isNaN32(b);
  const signaling = pred == 1 || pred == 2 || pred == 5 || pred == 6; // LT LE NLT NLE raise IE on a QNaN too
  if (nan) {
    if (signaling || isSNaN32(a) || isSNaN32(b)) signal(MX_IE);
    return pred == 3 || pred == 4 || pred == 5 || pred == 6 ? -1 : 0; // UNORD and the negated ones hold
  }
  const x = toF64(operand(a)), y = toF64(operand(b));
  let r: bool;
  switch (pred & 3) {
    case 0: r = x == y; break;
    case 1: r = x < y; break;
    case 2: r = x <= y; break;
    default: r = true; break; // ORD/UNORD of numbers
  }
  if (pred == 3) r = false;
  else if (pred >= 4 && pred != 7) r = !r;
  return r ? -1 : 0;
}

/** COMISS/UCOMISS: ZF PF CF as 111 unordered, 000 greater, 001 less, 100 equal; `signaling`: IE for a QNaN too. */
export function compareFlags(a: i32, b: i32, signaling: bool): i32 {
  if (isNaN32(a) || isNaN32(b)) {
    if (signaling || isSNaN32(a) || isSNaN32(b)) signal(MX_IE);
    return 7;
  }
  const x = toF64(operand(a)), y = toF64(operand(b));
  return x > y ? 0 : x < y ? 1 : 4;
}

// ---- conversions -------------------------------------------------------------------------------

/** int32 → binary32 in MXCSR's mode (PE when inexact). */
export function fromInt(v: i32): i32 {
  if (v == 0) return 0;
  return round32(f64(v), 0);
}
/** binary32 → int32 in MXCSR's mode (or toward zero): NaN or out of range is IE and 80000000h. */
export function toInt(b: i32, truncate: bool): i32 {
  if (isNaN32(b)) { signal(MX_IE); return i32(0x80000000); }
  if (isDenormal32(b) && (mxcsr & MX_DAZ) != 0) return 0;
  const x = toF64(b); // (a denormal is no DE here: conversions raise IE and PE only)
  if (!(Math.abs(x) < 4294967296.0)) { signal(MX_IE); return i32(0x80000000); }
  const mode = truncate ? RC_CHOP : mxRound();
  const u = Math.abs(x) < 8388608.0 ? roundInt(x, 0, mode) : x; // 2^23: binary32 values beyond are integers
  if (u >= 2147483648.0 || u < -2147483648.0) { signal(MX_IE); return i32(0x80000000); }
  if (u != x) signal(MX_PE);
  return i32(u);
}
