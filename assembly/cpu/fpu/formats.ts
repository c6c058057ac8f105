// Memory formats of the x87: single/double/extended reals, 16/32/64-bit
// integers and 18-digit packed BCD, converted to and from the f64 register
// representation (see the precision model in state.ts). Loads read the
// operand at eaSeg:eaOff into a slot; stores build an image in img0..img2
// (and the BCD bytes) that the caller writes after probing the destination.
import { f64bitsHi, f64bitsLo } from "../../portable";
import { aborted } from "../../fault";
import { readV, writeV, probeWriteV } from "../access";
import { eaSeg, eaOff } from "../decode";
import {
  IE, OE, UE, PE, signal, masked, setC1, rc, RC_NEAR, RC_UP, RC_DOWN, RC_CHOP,
  hiw, low, val, putBits, putVal, putIndefinite, isNaNAt, isSNaNAt,
} from "./state";
import { scalb, expOf, roundInt, inexact, roundedUp, addErrSign, clearRounding } from "./round";

/** The memory operand just loaded was a single/double denormal (DE). */
export let memDenormal: bool = false;
/** Store image: low dword, high dword, top word (m80). */
export let img0: i32 = 0;
export let img1: i32 = 0;
export let img2: i32 = 0;

// ---- memory access ------------------------------------------------------------------

export function rd(k: i32, sz: i32): i32 { return readV(eaSeg, i32(eaOff + k), sz); }
export function wr(k: i32, sz: i32, v: i32): void { writeV(eaSeg, i32(eaOff + k), sz, v); }
/** Check the whole destination before anything is written or changed. */
export function probe(sz: i32): bool { return probeWriteV(eaSeg, eaOff, sz); }
/** Write the image of an operand of sz bytes (2, 4, 8, 10) after a successful probe. */
export function writeImage(sz: i32): void {
  if (sz == 2) { wr(0, 2, img0); return; }
  wr(0, 4, img0);
  if (sz == 4) return;
  wr(4, 4, img1);
  if (sz == 10) wr(8, 2, img2);
}

// ---- loads --------------------------------------------------------------------------

/** Load the memory operand (kind: 0 m32 real, 1 m32 int, 2 m64 real, 3 m16 int) into slot p. */
export function loadArith(kind: i32, p: i32): void {
  memDenormal = false;
  if (kind == 0) { const v = rd(0, 4); if (aborted) return; fromF32(v, p); return; }
  if (kind == 1) { const v = rd(0, 4); if (aborted) return; putVal(p, f64(v)); return; }
  if (kind == 3) { const v = rd(0, 2); if (aborted) return; putVal(p, f64((v << 16) >> 16)); return; }
  const lo = rd(0, 4); if (aborted) return;
  const hi = rd(4, 4); if (aborted) return;
  fromF64(hi, lo, p);
}

export function fromF32(b: i32, p: i32): void {
  const sign = b & 0x80000000;
  const e = (b >>> 23) & 0xff, f = b & 0x7fffff;
  if (e == 0xff) { putBits(p, sign | 0x7ff00000 | (f >>> 3), f << 29); return; }
  if (e == 0) {
    if (f != 0) memDenormal = true;
    const v = f64(f) * 1.401298464324817e-45; // 2^-149, exact
    putVal(p, sign != 0 ? -v : v);
    return;
  }
  putBits(p, sign | ((e - 127 + 1023) << 20) | (f >>> 3), f << 29);
}
export function fromF64(hi: i32, lo: i32, p: i32): void {
  memDenormal = (hi & 0x7ff00000) == 0 && ((hi & 0xfffff) | lo) != 0;
  putBits(p, hi, lo);
}

/** 80-bit extended → f64, rounded to nearest-even (see the precision model). */
export function fromF80(lo: i32, hi: i32, se: i32, p: i32): void {
  const neg = (se & 0x8000) != 0;
  const sign = neg ? i32(0x80000000) : 0;
  const e = se & 0x7fff;
  if (e == 0x7fff) {
    if (hi >= 0) { putIndefinite(p); return; } // pseudo-infinity / pseudo-NaN: unsupported
    if ((hi & 0x7fffffff) == 0 && lo == 0) { putBits(p, sign | 0x7ff00000, 0); return; }
    const fh = (hi >>> 11) & 0xfffff;
    let fl = (hi << 21) | (lo >>> 11);
    if (fh == 0 && fl == 0) fl = 1; // SNaN whose payload sits in the dropped bits
    putBits(p, sign | 0x7ff00000 | fh, fl);
    return;
  }
  if (e == 0) { putBits(p, sign, 0); return; } // zero, or far below f64's range
  if (hi >= 0) { putIndefinite(p); return; }   // unnormal: unsupported
  const ue = e - 16383; // exponent of the integer bit
  if (ue > 1023) { putBits(p, sign | 0x7ff00000, 0); return; }
  if (ue < -1080) { putBits(p, sign, 0); return; }
  let g = ue - 52;
  if (g < -1074) g = -1074;
  // t = significand · 2^(ue − 63 − g), split exactly into its two words, then rounded with sticky.
  const a = f64(u32(hi)) * scalb(1.0, ue - 31 - g);
  const b = f64(u32(lo)) * scalb(1.0, ue - 63 - g);
  const r = a + b;
  const u = roundInt(r, addErrSign(a, b, r), RC_NEAR);
  const v = scalb(u, g);
  putVal(p, neg ? -v : v);
}

/** 64-bit integer (two words) → f64, rounded to nearest-even. */
export function fromI64(hi: i32, lo: i32, p: i32): void {
  putVal(p, f64(hi) * 4294967296.0 + f64(u32(lo)));
}

/** 18-digit packed BCD at eaSeg:eaOff → slot p (FBLD). */
export function loadBcd(p: i32): void {
  let hi9: f64 = 0, lo9: f64 = 0;
  for (let i = 8; i >= 0; i--) {
    const b = rd(i, 1); if (aborted) return;
    const two = f64((b >> 4) * 10 + (b & 15));
    if (i > 4) hi9 = hi9 * 100.0 + two;
    else if (i == 4) { hi9 = hi9 * 10.0 + f64(b >> 4); lo9 = f64(b & 15); }
    else lo9 = lo9 * 100.0 + two;
  }
  const s = rd(9, 1); if (aborted) return;
  const v = hi9 * 1e9 + lo9;
  putVal(p, (s & 0x80) != 0 ? -v : v);
}

// ---- stores -------------------------------------------------------------------------

const FLT_MAX: f64 = 3.4028234663852886e38;

/** ST → single real image (img0). False: unmasked exception, nothing is stored. */
export function toF32(p: i32): bool {
  const hi = hiw(p), lo = low(p);
  const sign = hi & 0x80000000;
  setC1(false);
  if (isNaNAt(p)) {
    if (isSNaNAt(p) && signal(IE)) return false;
    img0 = sign | 0x7fc00000 | ((hi & 0xfffff) << 3) | (lo >>> 29);
    return true;
  }
  const x = val(p);
  if (x == 0) { img0 = sign; return true; }
  if (x - x != 0) { img0 = sign | 0x7f800000; return true; }
  let g = expOf(x) - 23;
  if (g < -149) g = -149;
  const mode = rc();
  const u = roundInt(scalb(x, -g), 0, mode);
  const y = scalb(u, g);
  const ax = Math.abs(y);
  if (ax > FLT_MAX) {
    if (signal(OE)) return false;
    signal(PE);
    const neg = sign != 0;
    const toInf = mode == RC_NEAR || (mode == RC_UP && !neg) || (mode == RC_DOWN && neg);
    setC1(toInf);
    img0 = sign | (toInf ? 0x7f800000 : 0x7f7fffff);
    return true;
  }
  const tiny = Math.abs(x) < 1.1754943508222875e-38;
  if (tiny && (inexact || !masked(UE))) { if (signal(UE)) return false; }
  if (inexact) { signal(PE); setC1(roundedUp); }
  if (ax >= 1.1754943508222875e-38) {
    const h = f64bitsHi(y), l = f64bitsLo(y);
    img0 = sign | ((((h >>> 20) & 0x7ff) - 1023 + 127) << 23) | ((h & 0xfffff) << 3) | (l >>> 29);
  } else {
    img0 = sign | i32(ax * 713623846352979940529142984724747568191373312.0); // 2^149
  }
  return true;
}

/** ST → double real image (img0 low, img1 high). */
export function toF64(p: i32): bool {
  const hi = hiw(p), lo = low(p);
  setC1(false);
  if (isNaNAt(p)) {
    if (isSNaNAt(p) && signal(IE)) return false;
    img0 = lo; img1 = hi | 0x80000;
    return true;
  }
  // An f64 denormal is an exact but tiny double: UE only when unmasked.
  if ((hi & 0x7ff00000) == 0 && ((hi & 0xfffff) | lo) != 0 && !masked(UE)) { signal(UE); return false; }
  img0 = lo; img1 = hi;
  return true;
}

/** ST → extended real image (img0, img1 significand; img2 sign/exponent). Exact. */
export function toF80(p: i32): void {
  const hi = hiw(p), lo = low(p);
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  if (e == 0x7ff) {
    img2 = sign | 0x7fff;
    img1 = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
    img0 = lo << 11;
    return;
  }
  const x = val(p);
  if (x == 0) { img0 = 0; img1 = 0; img2 = sign; return; }
  const ue = expOf(x);
  const m = scalb(Math.abs(x), -ue); // [1, 2): its fraction bits are the significand's
  const mh = f64bitsHi(m), ml = f64bitsLo(m);
  img2 = sign | (ue + 16383);
  img1 = 0x80000000 | ((mh & 0xfffff) << 11) | (ml >>> 21);
  img0 = ml << 11;
}

/** Round ST to an integer in mode `mode`; returns NaN-free f64 or sets intBad. */
export let intBad: bool = false;
function toIntegral(p: i32, mode: i32): f64 {
  intBad = false;
  if (isNaNAt(p)) { intBad = true; return 0; }
  const x = val(p);
  if (x - x != 0) { intBad = true; return 0; }
  if (Math.abs(x) >= 4503599627370496.0) { clearRounding(); return x; } // 2^52: already integral
  return roundInt(x, 0, mode);
}

/** ST → integer image of sz bytes (2, 4, 8); chop for FISTTP. False: unmasked IE. */
export function toInt(p: i32, sz: i32, chop: bool): bool {
  setC1(false);
  const u = toIntegral(p, chop ? RC_CHOP : rc());
  const lim = sz == 2 ? 32768.0 : sz == 4 ? 2147483648.0 : 9223372036854775808.0;
  if (intBad || u >= lim || u < -lim) {
    if (signal(IE)) return false;
    img0 = sz == 2 ? 0x8000 : sz == 4 ? i32(0x80000000) : 0; img1 = i32(0x80000000);
    return true;
  }
  if (inexact) { signal(PE); setC1(roundedUp); }
  if (sz < 8) { img0 = i32(u); return true; }
  const h = Math.floor(u / 4294967296.0);
  img1 = i32(h);
  img0 = i32(u32(u - h * 4294967296.0));
  return true;
}

/** ST → packed BCD, written to memory here (10 bytes, destination already probed). False: unmasked IE. */
export function storeBcd(p: i32): bool {
  setC1(false);
  const u = toIntegral(p, rc());
  if (intBad || Math.abs(u) >= 1e18) {
    if (signal(IE)) return false;
    for (let i = 0; i < 7; i++) wr(i, 1, 0);
    wr(7, 1, 0xc0); wr(8, 1, 0xff); wr(9, 1, 0xff);
    return true;
  }
  if (inexact) { signal(PE); setC1(roundedUp); }
  const a = Math.abs(u);
  let hi9 = Math.floor(a / 1e9);
  let lo9 = a - hi9 * 1e9;
  if (lo9 < 0) { hi9 -= 1.0; lo9 += 1e9; }
  if (lo9 >= 1e9) { hi9 += 1.0; lo9 -= 1e9; }
  let n = lo9;
  for (let i = 0; i < 9; i++) {
    if (i == 4) { // digit 9 (lowest of the upper half) shares byte 4 with digit 8
      const q = Math.floor(n / 10.0);
      const d8 = i32(n - q * 10.0);
      const q2 = Math.floor(hi9 / 10.0);
      const d9 = i32(hi9 - q2 * 10.0);
      wr(4, 1, (d9 << 4) | d8);
      n = q2;
      continue;
    }
    const q = Math.floor(n / 100.0);
    const two = i32(n - q * 100.0);
    const t = i32(Math.floor(f64(two) / 10.0));
    wr(i, 1, (t << 4) | (two - t * 10));
    n = q;
  }
  wr(9, 1, hiw(p) < 0 ? 0x80 : 0);
  return true;
}
