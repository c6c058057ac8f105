// Transcendental instructions: FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X
// FYL2XP1, on top of libm.ts (errors below 1 ulp of the f64 result, plus
// the extra rounding of the final product for FYL2X/FYL2XP1/F2XM1).
// Results are rounded to nearest whatever RC says; PE is set unless the
// result is exact (the special values), and C1 is then left clear.
import { RES, ZE, PE, C2, signal, setC1, setCC, val, putVal, isNaNAt, hiw } from "./state";
import { nanResult, invalid, finite } from "./arith";
import { atan2, expm1, log2, log2Lo } from "./libm";
import { sin, cos, tan } from "./libm-trig";
import { finish, isPow2, expOf, mulErrSign } from "./round";

const TWO63: f64 = 9223372036854775808.0;

/** FSIN/FCOS/FPTAN/FSINCOS operand check: false (C2 = 1, nothing changes) when |x| >= 2^63. */
export function inTrigRange(p: i32): bool {
  if (!isNaNAt(p) && Math.abs(val(p)) >= TWO63 && finite(val(p))) { setCC(C2, C2); return false; }
  setCC(C2, 0);
  return true;
}

/** kind 0 sin, 1 cos, 2 tan: RES ← f(ST0). False: unmasked exception. */
export function trig(p: i32, kind: i32): bool {
  setC1(false);
  if (isNaNAt(p)) return nanResult(p, -1);
  const x = val(p);
  if (!finite(x)) return invalid();
  if (x == 0) { putVal(RES, kind == 1 ? 1.0 : x); return true; }
  putVal(RES, kind == 0 ? sin(x) : kind == 1 ? cos(x) : tan(x));
  signal(PE);
  return true;
}

/** FPATAN: RES ← atan(ST1 / ST0) with the quadrant of (ST0, ST1) (p0 = ST0, p1 = ST1). */
export function fpatan(p0: i32, p1: i32): bool {
  setC1(false);
  if (isNaNAt(p0) || isNaNAt(p1)) return nanResult(p1, p0);
  const r = atan2(val(p1), val(p0));
  putVal(RES, r);
  if (r != 0) signal(PE);
  return true;
}

const LN2: f64 = 0.6931471805599453;
const LN2_LO: f64 = 2.3190468138462996e-17;

/** F2XM1: RES ← 2^ST0 − 1. */
export function f2xm1(p: i32): bool {
  setC1(false);
  if (isNaNAt(p)) return nanResult(p, -1);
  const x = val(p);
  if (x == 0 || x == Infinity) { putVal(RES, x); return true; }
  if (x == -Infinity) { putVal(RES, -1.0); return true; }
  if (x == 1.0 || x == -1.0) { putVal(RES, x > 0 ? 1.0 : -0.5); return true; }
  putVal(RES, exp2m1(x));
  signal(PE);
  return true;
}

/**
 * 2^x − 1: x·ln2 as hi + lo, expm1(hi + lo) ≈ expm1(hi) + lo·(1 + expm1(hi)),
 * then one Newton step on log2(1 + t) = x with an extra-precise log2.
 */
export function exp2m1(x: f64): f64 {
  const hi = x * LN2;
  const lo = twoProdLo(x, LN2, hi) + x * LN2_LO;
  const e = expm1(hi);
  const t0 = e + lo * (1.0 + e);
  const l = log2OnePlus(t0);
  const d = (x - l) - l2lo;
  return t0 + d * LN2 * (1.0 + t0);
}

/** log2(1 + x) for x > -1, as the pair (result, l2lo). */
let l2lo: f64 = 0;
function log2OnePlus(x: f64): f64 {
  const u = 1.0 + x;
  const bb = u - 1.0;
  const c = (1.0 - (u - bb)) + (x - bb); // 1 + x = u + c exactly (TwoSum)
  const h = log2(u);
  const l = log2Lo + (c / u) * INVLN2_HI;
  const r = h + l;
  l2lo = l - (r - h);
  return r;
}

/** FYL2X: RES ← ST1 · log2(ST0) (p0 = ST0 = x, p1 = ST1 = y). */
export function fyl2x(p0: i32, p1: i32): bool {
  setC1(false);
  if (isNaNAt(p0) || isNaNAt(p1)) return nanResult(p0, p1);
  const x = val(p0), y = val(p1);
  const yneg = hiw(p1) < 0;
  if (x < 0) return invalid();
  if (!finite(y)) {
    if (x == 1.0) return invalid();
    putVal(RES, x < 1.0 ? -y : y);
    return true;
  }
  if (x == Infinity) {
    if (y == 0) return invalid();
    putVal(RES, yneg ? -Infinity : Infinity);
    return true;
  }
  if (x == 0) {
    if (y == 0) return invalid();
    if (signal(ZE)) return false;
    putVal(RES, yneg ? Infinity : -Infinity);
    return true;
  }
  if (y == 0) { putVal(RES, x < 1.0 ? -y : y); return true; }
  if (x == 1.0) { putVal(RES, yneg ? -0.0 : 0.0); return true; }
  const l = log2(x);
  if (isPow2(x)) { // log2 is the exact integer l: one rounding of y·l
    const r = y * l;
    putVal(RES, finish(r, finite(r) ? mulErrSign(y, l, r) : 0));
    return true;
  }
  putVal(RES, yl2x(x, y));
  signal(PE);
  return true;
}

const INVLN2_HI: f64 = 1.4426950408889634;

/** FYL2XP1: RES ← ST1 · log2(ST0 + 1). */
export function fyl2xp1(p0: i32, p1: i32): bool {
  setC1(false);
  if (isNaNAt(p0) || isNaNAt(p1)) return nanResult(p0, p1);
  const x = val(p0), y = val(p1);
  if (x <= -1.0 || x == Infinity) return invalid();
  if (x == 0 || y == 0 || !finite(y)) {
    const r = x * y;
    if (r != r) return invalid();
    putVal(RES, r);
    return true;
  }
  putVal(RES, yl2xp1(x, y));
  signal(PE);
  return true;
}
/** y·log2(1 + x) for finite nonzero x > -1 and y. */
export function yl2xp1(x: f64, y: f64): f64 {
  const l = log2OnePlus(x);
  return product(y, l, l2lo);
}

/** y·log2(x) for finite x > 0, x not a power of two, finite nonzero y. */
export function yl2x(x: f64, y: f64): f64 {
  const l = log2(x);
  return product(y, l, log2Lo);
}

/** y · (hi + lo), rounded once (nearly). */
function product(y: f64, hi: f64, lo: f64): f64 {
  const p = y * hi;
  if (!finite(p) || expOf(y) + expOf(hi) > 1000 || expOf(y) + expOf(hi) < -960) return p + y * lo;
  return p + (twoProdLo(y, hi, p) + y * lo);
}
function twoProdLo(a: f64, b: f64, p: f64): f64 {
  const ca = a * 134217729.0, cb = b * 134217729.0;
  const ah = ca - (ca - a), al = a - ah, bh = cb - (cb - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}
