// Exact rounding for the f64-based x87: every arithmetic result is first
// computed in round-to-nearest (the only mode f64 arithmetic has in both
// engines), then the sign s of its error (exact − rounded, from an
// error-free transformation) lets us round again, exactly, to the precision
// control's width in the rounding control's direction, and tells whether
// the result is inexact (PE) and was rounded up in magnitude (C1).
import { f64bitsHi, f64bitsLo, f64fromBits } from "../../portable";
import { RC_NEAR, RC_DOWN, RC_UP, rc, pc, signal, setC1, masked, OE, UE, PE } from "./state";

const TWO64: f64 = 18446744073709551616.0;
export const DBL_MAX: f64 = 1.7976931348623157e308;
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/** Set by roundInt/roundTo: the result differs from the exact value / its magnitude grew. */
export let inexact: bool = false;
export let roundedUp: bool = false;

export function clearRounding(): void { inexact = false; roundedUp = false; }

/** 2^k for -1074 <= k <= 1023 (exact). */
export function pow2(k: i32): f64 {
  if (k >= -1022) return f64fromBits((k + 1023) << 20, 0);
  const s = k + 1074;
  return s >= 32 ? f64fromBits(1 << (s - 32), 0) : f64fromBits(0, 1 << s);
}
/** x·2^k, exact whenever the result is representable. */
export function scalb(x: f64, k: i32): f64 {
  while (k > 1023) { x *= 8.98846567431158e307; k -= 1023; }   // 2^1023
  while (k < -1022) { x *= MIN_NORMAL; k += 1022; }
  return x * pow2(k);
}
/** Unbiased exponent of finite nonzero x (x = m·2^e, 1 <= |m| < 2), subnormals normalised. */
export function expOf(x: f64): i32 {
  const e = (f64bitsHi(x) >>> 20) & 0x7ff;
  if (e != 0) return e - 1023;
  return ((f64bitsHi(x * TWO64) >>> 20) & 0x7ff) - 1023 - 64;
}
/** |x| is a power of two (finite, nonzero). */
export function isPow2(x: f64): bool {
  const hi = f64bitsHi(x);
  if ((hi & 0x7ff00000) == 0) { const y = x * TWO64; return (f64bitsHi(y) & 0xfffff) == 0 && f64bitsLo(y) == 0; }
  return (hi & 0xfffff) == 0 && f64bitsLo(x) == 0;
}
function isOdd(n: f64): bool { return n - 2.0 * Math.floor(n * 0.5) != 0; }

/**
 * Round v = t + s·ε (ε infinitesimal, s in {-1,0,1}) to an integer in mode
 * mode. |t| < 2^53. Sets inexact and roundedUp.
 */
export function roundInt(t: f64, s: i32, mode: i32): f64 {
  const fl = Math.floor(t);
  const frac = t - fl;
  inexact = false; roundedUp = false;
  if (frac == 0 && s == 0) return t;
  inexact = true;
  let lo = fl;
  let gtHalf = false, eqHalf = false;
  if (frac == 0) {
    if (s < 0) { lo = fl - 1.0; gtHalf = true; }
  } else {
    gtHalf = frac > 0.5 || (frac == 0.5 && s > 0);
    eqHalf = frac == 0.5 && s == 0;
  }
  const neg = t < 0 || (t == 0 && s < 0);
  let up: bool;
  if (mode == RC_NEAR) up = gtHalf || (eqHalf && isOdd(lo));
  else if (mode == RC_DOWN) up = false;
  else if (mode == RC_UP) up = true;
  else up = neg; // toward zero
  roundedUp = neg ? !up : up;
  return up ? lo + 1.0 : lo;
}

/**
 * Round the exact value v = r + s·ε (r finite, s = sign(v − r)) to `bits`
 * significant bits in mode `mode`; `lowest` is the exponent of the smallest
 * denormal (f64's, or f32's −149 for SSE).
 */
export function roundTo(r: f64, s: i32, bits: i32, mode: i32, lowest: i32 = -1074): f64 {
  inexact = false; roundedUp = false;
  if (s == 0 && (bits >= 53 || r == 0)) return r;
  let g: i32; // exponent of the unit in the last place of v's binade
  if (r == 0) g = lowest;
  else {
    let e = expOf(r);
    if (s != 0 && (s < 0) == (r > 0) && isPow2(r)) e -= 1; // v lies in the binade below
    g = e - bits + 1;
    if (g < lowest) g = lowest;
  }
  const t = scalb(r, -g);
  const u = roundInt(t, s, mode);
  if (u == 0) return (r < 0 || (r == 0 && s < 0)) ? -0.0 : 0.0;
  return scalb(u, g);
}

// ---- error-free transformations (signs of exact − rounded) -----------------------

function sgn(x: f64): i32 { return x > 0 ? 1 : x < 0 ? -1 : 0; }

/** Exact residual a·b − p for |a|, |b| < 2^500 or so (Dekker/Veltkamp), p = RN(a·b). */
function twoProdErr(a: f64, b: f64, p: f64): f64 {
  const ca = a * 134217729.0, cb = b * 134217729.0;
  const ah = ca - (ca - a), al = a - ah;
  const bh = cb - (cb - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** sign((a + b) − r), r = RN(a + b) finite (TwoSum). */
export function addErrSign(a: f64, b: f64, r: f64): i32 {
  const bb = r - a;
  return sgn((a - (r - bb)) + (b - bb));
}

/** sign(x·y − r), r = RN(x·y) finite, x, y finite nonzero. */
export function mulErrSign(x: f64, y: f64, r: f64): i32 {
  const ex = expOf(x), ey = expOf(y);
  const xs = scalb(x, -ex), ys = scalb(y, -ey);
  const p = xs * ys;
  const e = twoProdErr(xs, ys, p);
  const rs = scalb(r, -(ex + ey)); // == p unless r was denormalised
  return sgn((p - rs) + e);
}

/** sign(x/y − r), r = RN(x/y) finite, x, y finite nonzero. */
export function divErrSign(x: f64, y: f64, r: f64): i32 {
  const ex = expOf(x), ey = expOf(y);
  const xs = scalb(x, -ex), ys = scalb(y, -ey);
  const rs = scalb(r, ey - ex);
  if (rs == 0) return sgn(xs) * sgn(ys);
  const ph = rs * ys;
  const pl = twoProdErr(rs, ys, ph);
  return sgn((xs - ph) - pl) * sgn(ys);
}

/** sign(sqrt(x) − r), r = RN(sqrt(x)), x finite > 0. */
export function sqrtErrSign(x: f64, r: f64): i32 {
  const m = expOf(x) >> 1;
  const xs = scalb(x, -2 * m), rs = scalb(r, -m);
  const ph = rs * rs;
  return sgn((xs - ph) - twoProdErr(rs, rs, ph));
}

// ---- delivering an arithmetic result ------------------------------------------------

/**
 * The x87 result of an operation whose exact value is r + s·ε, r = RN(exact)
 * (±inf when it overflowed f64, then s is the sign of the overflow):
 * precision and rounding control applied, PE/UE/OE raised, C1 = rounded up.
 */
export function finish(r: f64, s: i32): f64 {
  const mode = rc();
  if (r == Infinity || r == -Infinity) return overflowResult(r < 0, mode);
  const bits = pc() == 0 ? 24 : 53;
  const res = roundTo(r, s, bits, mode);
  if (res == Infinity || res == -Infinity) return overflowResult(res < 0, mode);
  const a = Math.abs(r);
  const tiny = (r != 0 && a < MIN_NORMAL) || (r == 0 && s != 0) || (a == MIN_NORMAL && s != 0 && (s < 0) == (r > 0));
  setC1(inexact && roundedUp);
  if (inexact) {
    if (tiny) signal(UE);
    signal(PE);
  } else if (tiny && !masked(UE)) signal(UE);
  return res;
}

/** Overflow: ±inf or ±DBL_MAX by rounding mode; OE and PE. */
export function overflowResult(neg: bool, mode: i32): f64 {
  signal(OE);
  signal(PE);
  const toInf = mode == RC_NEAR || (mode == RC_UP && !neg) || (mode == RC_DOWN && neg);
  setC1(toInf);
  if (toInf) return neg ? -Infinity : Infinity;
  return neg ? -DBL_MAX : DBL_MAX;
}
