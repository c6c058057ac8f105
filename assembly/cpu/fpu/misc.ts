// FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1 on f64 values.
import {
  RES, ZE, UE, PE, C0, C1, C2, C3, CC_MASK, signal, masked, setCC, setC1, rc, val, putVal, copySlot, isNaNAt,
} from "./state";
import { nanResult, invalid, finite } from "./arith";
import { roundInt, inexact, roundedUp, scalb, expOf, finish } from "./round";

/** RES ← ST0 rounded to an integer by RC. */
export function frndint(p: i32): bool {
  if (isNaNAt(p)) return nanResult(p, -1);
  const x = val(p);
  setC1(false);
  if (x == 0 || !finite(x) || Math.abs(x) >= 4503599627370496.0) { putVal(RES, x); return true; }
  let u = roundInt(x, 0, rc());
  if (u == 0) u = x < 0 ? -0.0 : 0.0;
  if (inexact) { signal(PE); setC1(roundedUp); }
  putVal(RES, u);
  return true;
}

/** RES ← ST0 · 2^trunc(ST1). */
export function fscale(p0: i32, p1: i32): bool {
  if (isNaNAt(p0) || isNaNAt(p1)) return nanResult(p0, p1);
  const x = val(p0), y = val(p1);
  setC1(false);
  if (!finite(y)) {
    if (y < 0) { if (!finite(x)) return invalid(); putVal(RES, x < 0 ? -0.0 : 0.0); return true; }
    if (x == 0) return invalid();
    putVal(RES, x < 0 ? -Infinity : Infinity);
    return true;
  }
  if (x == 0 || !finite(x)) { putVal(RES, x); return true; }
  let n = Math.trunc(y);
  if (n > 5000) n = 5000;
  if (n < -5000) n = -5000;
  const k = i32(n);
  const e = expOf(x) + k;
  if (e > 1023) { putVal(RES, finish(x < 0 ? -Infinity : Infinity, 0)); return true; }
  if (e >= -1022) { putVal(RES, scalb(x, k)); return true; }
  // The result is tiny: round it once, on the denormal grid.
  let t: f64 = 0;
  let s = 0;
  if (e < -1100) s = x < 0 ? -1 : 1;
  else t = scalb(x, k + 1074);
  const u = roundInt(t, s, rc());
  if (inexact) { signal(UE); signal(PE); setC1(roundedUp); }
  else if (!masked(UE)) signal(UE);
  putVal(RES, u == 0 ? (x < 0 ? -0.0 : 0.0) : scalb(u, -1074));
  return true;
}

/**
 * FXTRACT of the value at p: RES ← exponent, TMP-like slot q ← significand.
 * Returns false on an unmasked exception.
 */
export function fxtract(p: i32, q: i32): bool {
  if (isNaNAt(p)) { if (!nanResult(p, -1)) return false; copySlot(q, RES); return true; }
  const x = val(p);
  if (x == 0) {
    if (signal(ZE)) return false;
    putVal(RES, -Infinity);
    putVal(q, x);
    return true;
  }
  if (!finite(x)) { putVal(RES, Infinity); putVal(q, x); return true; }
  const e = expOf(x);
  putVal(RES, f64(e));
  putVal(q, scalb(x, -e));
  return true;
}

/**
 * FPREM (round = false: truncated quotient) / FPREM1 (IEEE remainder):
 * RES ← partial remainder of a / b; C0 C3 C1 = quotient bits 2 1 0,
 * C2 = 1 when the reduction is incomplete. False: unmasked exception.
 */
export function fprem(pa: i32, pb: i32, ieee: bool): bool {
  setCC(CC_MASK, 0);
  if (isNaNAt(pa) || isNaNAt(pb)) return nanResult(pa, pb);
  const a = val(pa), b = val(pb);
  if (!finite(a) || b == 0) return invalid();
  if (a == 0 || !finite(b)) { putVal(RES, a); return true; }
  const d = expOf(a) - expOf(b);
  if (d >= 64) {
    // Partial remainder: reduce by b·2^(d − n), n in 32..63 (AMD's rule, which Intel follows).
    const n = 32 + (d & 31);
    putVal(RES, a % scalb(b, d - n));
    setCC(C2, C2);
    return true;
  }
  const aa = Math.abs(a), bb = Math.abs(b);
  let r = aa % bb;
  let q = 0;
  if (d >= 0) {
    // Quotient mod 8 from the remainder modulo 8|b| (scaled so 8|b| cannot overflow).
    const big = bb > 1e300;
    const a2 = big ? aa * 0.0009765625 : aa, b2 = big ? bb * 0.0009765625 : bb;
    const r8 = a2 % (b2 * 8.0);
    const r1 = big ? r * 0.0009765625 : r;
    q = i32(Math.floor((r8 - r1) / b2 + 0.5)) & 7;
  }
  if (ieee && (r > bb - r || (r == bb - r && (q & 1) != 0))) { r -= bb; q = (q + 1) & 7; }
  putVal(RES, a < 0 ? -r : r);
  setCC(C0 | C3 | C1, ((q & 4) != 0 ? C0 : 0) | ((q & 2) != 0 ? C3 : 0) | ((q & 1) != 0 ? C1 : 0));
  return true;
}
