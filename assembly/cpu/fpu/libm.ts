// Portable atan, atan2, expm1, log2 for the x87 transcendental
// instructions (sin, cos, tan: libm-trig.ts),
// ported from fdlibm (via V8's src/base/ieee754.cc and FreeBSD's e_log2.c),
// written with 32-bit words so that both engines compute bit-identical
// results (the engines' own Math.sin & co. are different implementations).
// Errors are below 1 ulp of the f64 result (fdlibm's bounds).
//
// ====================================================
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//
// Developed at SunSoft, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice
// is preserved.
// ====================================================
import { f64bitsHi as HI, f64bitsLo as LO, f64fromBits as mk } from "../../portable";

function setLo0(x: f64): f64 { return mk(HI(x), 0); }

// ---- atan atan2 --------------------------------------------------------------------------

const ATANHI: StaticArray<f64> = [4.63647609000806093515e-01, 7.85398163397448278999e-01, 9.82793723247329054082e-01, 1.57079632679489655800e+00];
const ATANLO: StaticArray<f64> = [2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17, 6.12323399573676603587e-17];
const AT: StaticArray<f64> = [
  3.33333333333329318027e-01, -1.99999999998764832476e-01, 1.42857142725034663711e-01,
  -1.11111104054623557880e-01, 9.09088713343650656196e-02, -7.69187620504482999495e-02,
  6.66107313738753120669e-02, -5.83357013379057348645e-02, 4.97687799461593236017e-02,
  -3.65315727442169155270e-02, 1.62858201153657823623e-02,
];

export function atan(x0: f64): f64 {
  let x = x0;
  const hx = HI(x);
  const ix = hx & 0x7fffffff;
  let id: i32;
  if (ix >= 0x44100000) { // |x| >= 2^66 (NaN excluded by the caller)
    return hx > 0 ? unchecked(ATANHI[3]) + unchecked(ATANLO[3]) : -unchecked(ATANHI[3]) - unchecked(ATANLO[3]);
  }
  if (ix < 0x3fdc0000) {
    if (ix < 0x3e400000) return x;
    id = -1;
  } else {
    x = Math.abs(x);
    if (ix < 0x3ff30000) {
      if (ix < 0x3fe60000) { id = 0; x = (2.0 * x - 1.0) / (2.0 + x); }
      else { id = 1; x = (x - 1.0) / (x + 1.0); }
    } else {
      if (ix < 0x40038000) { id = 2; x = (x - 1.5) / (1.0 + 1.5 * x); }
      else { id = 3; x = -1.0 / x; }
    }
  }
  const z = x * x;
  const w = z * z;
  const s1 = z * (unchecked(AT[0]) + w * (unchecked(AT[2]) + w * (unchecked(AT[4]) + w * (unchecked(AT[6]) + w * (unchecked(AT[8]) + w * unchecked(AT[10]))))));
  const s2 = w * (unchecked(AT[1]) + w * (unchecked(AT[3]) + w * (unchecked(AT[5]) + w * (unchecked(AT[7]) + w * unchecked(AT[9])))));
  if (id < 0) return x - x * (s1 + s2);
  const r = unchecked(ATANHI[id]) - ((x * (s1 + s2) - unchecked(ATANLO[id])) - x);
  return hx < 0 ? -r : r;
}

const PI: f64 = 3.1415926535897931160E+00;
const PI_O_2: f64 = 1.5707963267948965580E+00;
const PI_O_4: f64 = 7.8539816339744827900E-01;
const PI_LO: f64 = 1.2246467991473531772E-16;
const TINY: f64 = 1.0e-300;

/** atan2(y, x) for non-NaN operands (C99 special cases for zeros and infinities). */
export function atan2(y: f64, x: f64): f64 {
  const hx = HI(x), lx = LO(x), hy = HI(y), ly = LO(y);
  const ix = hx & 0x7fffffff, iy = hy & 0x7fffffff;
  if (i32(hx - 0x3ff00000) == 0 && lx == 0) return atan(y); // x = 1.0
  let m = ((hy >> 31) & 1) | ((hx >> 30) & 2);
  if ((iy | ly) == 0) {
    if (m <= 1) return y;
    return m == 2 ? PI + TINY : -PI - TINY;
  }
  if ((ix | lx) == 0) return hy < 0 ? -PI_O_2 - TINY : PI_O_2 + TINY;
  if (ix == 0x7ff00000) {
    if (iy == 0x7ff00000) {
      if (m == 0) return PI_O_4 + TINY;
      if (m == 1) return -PI_O_4 - TINY;
      if (m == 2) return 3.0 * PI_O_4 + TINY;
      return -3.0 * PI_O_4 - TINY;
    }
    if (m == 0) return 0.0;
    if (m == 1) return -0.0;
    if (m == 2) return PI + TINY;
    return -PI - TINY;
  }
  if (iy == 0x7ff00000) return hy < 0 ? -PI_O_2 - TINY : PI_O_2 + TINY;
  const k = (iy - ix) >> 20;
  let z: f64;
  if (k > 60) { z = PI_O_2 + 0.5 * PI_LO; m &= 1; }
  else if (hx < 0 && k < -60) z = 0.0;
  else z = atan(Math.abs(y / x));
  if (m == 0) return z;
  if (m == 1) return -z;
  if (m == 2) return PI - (z - PI_LO);
  return (z - PI_LO) - PI;
}

// ---- expm1 -----------------------------------------------------------------------------------

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INVLN2: f64 = 1.44269504088896338700e+00;

/** exp(x) − 1 for finite x. */
export function expm1(x0: f64): f64 {
  let x = x0;
  let hx = HI(x);
  const xsb = hx & 0x80000000;
  hx &= 0x7fffffff;
  if (hx >= 0x4043687a) { // |x| >= 56·ln2
    if (hx >= 0x40862e42 && x > 7.09782712893383973096e+02) return Infinity;
    if (xsb != 0) return TINY - 1.0;
  }
  let k = 0;
  let c: f64 = 0;
  if (hx > 0x3fd62e42) {
    let hi: f64, lo: f64;
    if (hx < 0x3ff0a2b2) {
      if (xsb == 0) { hi = x - LN2_HI; lo = LN2_LO; k = 1; }
      else { hi = x + LN2_HI; lo = -LN2_LO; k = -1; }
    } else {
      k = i32(INVLN2 * x + (xsb == 0 ? 0.5 : -0.5));
      const t = f64(k);
      hi = x - t * LN2_HI;
      lo = t * LN2_LO;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x3c900000) {
    return x;
  }
  const hfx = 0.5 * x;
  const hxs = x * hfx;
  const r1 = 1.0 + hxs * (-3.33333333333331316428e-02 + hxs * (1.58730158725481460165e-03 + hxs * (-7.93650757867487942473e-05 +
    hxs * (4.00821782732936239552e-06 + hxs * -2.01099218183624371326e-07))));
  let t = 3.0 - r1 * hfx;
  let e = hxs * ((r1 - t) / (6.0 - x * t));
  if (k == 0) return x - (x * e - hxs);
  const twopk = mk(0x3ff00000 + (k << 20), 0);
  e = (x * (e - c) - c);
  e -= hxs;
  if (k == -1) return 0.5 * (x - e) - 0.5;
  if (k == 1) {
    if (x < -0.25) return -2.0 * (e - (x + 0.5));
    return 1.0 + 2.0 * (x - e);
  }
  let y: f64;
  if (k <= -2 || k > 56) {
    y = 1.0 - (e - x);
    if (k == 1024) y = y * 2.0 * 8.98846567431158e307;
    else y = y * twopk;
    return y - 1.0;
  }
  if (k < 20) {
    t = mk(0x3ff00000 - (0x200000 >> k), 0);
    y = t - (e - x);
    y = y * twopk;
  } else {
    t = mk((0x3ff - k) << 20, 0);
    y = x - (e + t);
    y += 1.0;
    y = y * twopk;
  }
  return y;
}

// ---- log2 ------------------------------------------------------------------------------------

const LG1: f64 = 6.666666666666735130e-01;
const LG2: f64 = 3.999999999940941908e-01;
const LG3: f64 = 2.857142874366239149e-01;
const LG4: f64 = 2.222219843214978396e-01;
const LG5: f64 = 1.818357216161805012e-01;
const LG6: f64 = 1.531383769920937332e-01;
const LG7: f64 = 1.479819860511658591e-01;

/** Low part of the last log2 result: log2(x) ≈ result + log2Lo (for FYL2X's product). */
export let log2Lo: f64 = 0;

/** log2(x) for finite x > 0 (FreeBSD e_log2.c); exact for powers of two. */
export function log2(x0: f64): f64 {
  let x = x0;
  let hx = HI(x);
  const lx = LO(x);
  let k = 0;
  log2Lo = 0;
  if (hx < 0x00100000) { k -= 54; x *= 1.80143985094819840000e+16; hx = HI(x); }
  if (hx == 0x3ff00000 && lx == 0) return 0.0;
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = mk(hx | (i ^ 0x3ff00000), LO(x));
  k += i >> 20;
  const y = f64(k);
  const f = x - 1.0;
  const hfsq = 0.5 * f * f;
  // k_log1p(f)
  const s = f / (2.0 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const r = s * (hfsq + t2 + t1);
  const hi = setLo0(f - hfsq);
  const lo = (f - hi) - hfsq + r;
  let valHi = hi * 1.44269504072144627571e+00;
  let valLo = (lo + hi) * 1.67517131648865118353e-10 + lo * 1.44269504072144627571e+00;
  const ww = y + valHi;
  valLo += (y - ww) + valHi;
  valHi = ww;
  const res = valLo + valHi;
  log2Lo = valLo - (res - valHi);
  return res;
}
