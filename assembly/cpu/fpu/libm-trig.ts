// Portable sin, cos, tan for FSIN FCOS FPTAN FSINCOS, with fdlibm's argument
// reduction (Payne-Hanek for large arguments); libm.ts has the rest. Ported
// from fdlibm (via V8's src/base/ieee754.cc) with 32-bit words so that both
// engines compute bit-identical results. Errors are below 1 ulp.
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
import { scalb } from "./round";

function setLo0(x: f64): f64 { return mk(HI(x), 0); }

// ---- argument reduction -------------------------------------------------------------

const TWO_OVER_PI: StaticArray<i32> = [
  0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C,
  0x439041, 0xFE5163, 0xABDEBB, 0xC561B7, 0x246E3A, 0x424DD2, 0xE00649,
  0x2EEA09, 0xD1921C, 0xFE1DEB, 0x1CB129, 0xA73EE8, 0x8235F5, 0x2EBB44,
  0x84E99C, 0x7026B4, 0x5F7E41, 0x3991D6, 0x398353, 0x39F49C, 0x845F8B,
  0xBDF928, 0x3B1FF8, 0x97FFDE, 0x05980F, 0xEF2F11, 0x8B5A0A, 0x6D1F6D,
  0x367ECF, 0x27CB09, 0xB74F46, 0x3F669E, 0x5FEA2D, 0x7527BA, 0xC7EBE5,
  0xF17B3D, 0x0739F7, 0x8A5292, 0xEA6BFB, 0x5FB11F, 0x8D5D08, 0x560330,
  0x46FC7B, 0x6BABF0, 0xCFBC20, 0x9AF436, 0x1DA9E3, 0x91615E, 0xE61B08,
  0x659985, 0x5F14A0, 0x68408D, 0xFFD880, 0x4D7327, 0x310606, 0x1556CA,
  0x73A8C9, 0x60E27B, 0xC08C6B,
];
const NPIO2_HW: StaticArray<i32> = [
  0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C,
  0x4025FDBB, 0x402921FB, 0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C,
  0x40346B9C, 0x4035FDBB, 0x40378FDB, 0x403921FB, 0x403AB41B, 0x403C463A,
  0x403DD85A, 0x403F6A7A, 0x40407E4C, 0x4041475C, 0x4042106C, 0x4042D97C,
  0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB, 0x4046C6CB, 0x40478FDB,
  0x404858EB, 0x404921FB,
];
const PIO2: StaticArray<f64> = [
  1.57079625129699707031e+00, 7.54978941586159635335e-08, 5.39030252995776476554e-15,
  3.28200341580791294123e-22, 1.27065575308067607349e-29, 1.22933308981111328932e-36,
  2.73370053816464559624e-44, 2.16741683877804819444e-51,
];

const INVPIO2: f64 = 6.36619772367581382433e-01;
const PIO2_1: f64 = 1.57079632673412561417e+00;
const PIO2_1T: f64 = 6.07710050650619224932e-11;
const PIO2_2: f64 = 6.07710050630396597660e-11;
const PIO2_2T: f64 = 2.02226624879595063154e-21;
const PIO2_3: f64 = 2.02226624871116645580e-21;
const PIO2_3T: f64 = 8.47842766036889956997e-32;
const TWO24: f64 = 1.67772160000000000000e+07;
const TWON24: f64 = 5.96046447753906250000e-08;

/** Remainder of x mod π/2 in y0 + y1; rem_pio2 returns the quadrant number n. */
let y0: f64 = 0;
let y1: f64 = 0;

function remPio2(x: f64): i32 {
  const hx = HI(x);
  const ix = hx & 0x7fffffff;
  if (ix < 0x4002d97c) { // |x| < 3π/4: n = ±1
    if (hx > 0) {
      let z = x - PIO2_1;
      if (ix != 0x3ff921fb) { y0 = z - PIO2_1T; y1 = (z - y0) - PIO2_1T; }
      else { z -= PIO2_2; y0 = z - PIO2_2T; y1 = (z - y0) - PIO2_2T; }
      return 1;
    }
    let z = x + PIO2_1;
    if (ix != 0x3ff921fb) { y0 = z + PIO2_1T; y1 = (z - y0) + PIO2_1T; }
    else { z += PIO2_2; y0 = z + PIO2_2T; y1 = (z - y0) + PIO2_2T; }
    return -1;
  }
  if (ix <= 0x413921fb) { // |x| ≤ 2^19·π/2: medium size
    const t0 = Math.abs(x);
    const n = i32(t0 * INVPIO2 + 0.5);
    const fn = f64(n);
    let r = t0 - fn * PIO2_1;
    let w = fn * PIO2_1T;
    if (n < 32 && ix != unchecked(NPIO2_HW[n - 1])) {
      y0 = r - w;
    } else {
      const j = ix >> 20;
      y0 = r - w;
      let i = j - ((HI(y0) >> 20) & 0x7ff);
      if (i > 16) {
        let t = r;
        w = fn * PIO2_2;
        r = t - w;
        w = fn * PIO2_2T - ((t - r) - w);
        y0 = r - w;
        i = j - ((HI(y0) >> 20) & 0x7ff);
        if (i > 49) {
          t = r;
          w = fn * PIO2_3;
          r = t - w;
          w = fn * PIO2_3T - ((t - r) - w);
          y0 = r - w;
        }
      }
    }
    y1 = (r - y0) - w;
    if (hx < 0) { y0 = -y0; y1 = -y1; return -n; }
    return n;
  }
  // Large arguments (the x87 takes |x| < 2^63): Payne-Hanek.
  const e0 = (ix >> 20) - 1046;
  let z = mk(ix - (e0 << 20), LO(x));
  for (let i = 0; i < 2; i++) {
    const t = f64(i32(z));
    unchecked(TX[i] = t);
    z = (z - t) * TWO24;
  }
  unchecked(TX[2] = z);
  let nx = 3;
  while (unchecked(TX[nx - 1]) == 0) nx--;
  const n = kernelRemPio2(e0, nx);
  if (hx < 0) { y0 = -y0; y1 = -y1; return -n; }
  return n;
}

const TX = new StaticArray<f64>(3);
const IQ = new StaticArray<i32>(20);
const FF = new StaticArray<f64>(20);
const FQ = new StaticArray<f64>(20);
const QQ = new StaticArray<f64>(20);

/** __kernel_rem_pio2 as fdlibm calls it (prec = 2: jk = 4, two-part result). */
function kernelRemPio2(e0: i32, nx: i32): i32 {
  const jk = 4;
  const jp = jk;
  const jx = nx - 1;
  let jv = i32(Math.floor(f64(e0 - 3) / 24.0));
  if (jv < 0) jv = 0;
  let q0 = e0 - 24 * (jv + 1);
  let j = jv - jx;
  const m = jx + jk;
  for (let i = 0; i <= m; i++, j++) unchecked(FF[i] = j < 0 ? 0.0 : f64(unchecked(TWO_OVER_PI[j])));
  for (let i = 0; i <= jk; i++) {
    let fw: f64 = 0;
    for (let k = 0; k <= jx; k++) fw += unchecked(TX[k]) * unchecked(FF[jx + i - k]);
    unchecked(QQ[i] = fw);
  }
  let jz = jk;
  let z: f64 = 0;
  let n = 0;
  let ih = 0;
  let again = true;
  while (again) {
    again = false;
    // distill q[] into iq[] reversingly
    z = unchecked(QQ[jz]);
    for (let i = 0, k = jz; k > 0; i++, k--) {
      const fw = f64(i32(TWON24 * z));
      unchecked(IQ[i] = i32(z - TWO24 * fw));
      z = unchecked(QQ[k - 1]) + fw;
    }
    z = scalb(z, q0);
    z -= 8.0 * Math.floor(z * 0.125);
    n = i32(z);
    z -= f64(n);
    ih = 0;
    if (q0 > 0) {
      const i = unchecked(IQ[jz - 1]) >> (24 - q0);
      n += i;
      unchecked(IQ[jz - 1] = unchecked(IQ[jz - 1]) - (i << (24 - q0)));
      ih = unchecked(IQ[jz - 1]) >> (23 - q0);
    } else if (q0 == 0) ih = unchecked(IQ[jz - 1]) >> 23;
    else if (z >= 0.5) ih = 2;
    if (ih > 0) {
      n += 1;
      let carry = 0;
      for (let i = 0; i < jz; i++) {
        const v = unchecked(IQ[i]);
        if (carry == 0) {
          if (v != 0) { carry = 1; unchecked(IQ[i] = 0x1000000 - v); }
        } else unchecked(IQ[i] = 0xffffff - v);
      }
      if (q0 == 1) unchecked(IQ[jz - 1] = unchecked(IQ[jz - 1]) & 0x7fffff);
      else if (q0 == 2) unchecked(IQ[jz - 1] = unchecked(IQ[jz - 1]) & 0x3fffff);
      if (ih == 2) {
        z = 1.0 - z;
        if (carry != 0) z -= scalb(1.0, q0);
      }
    }
    if (z == 0) {
      let acc = 0;
      for (let i = jz - 1; i >= jk; i--) acc |= unchecked(IQ[i]);
      if (acc == 0) { // need recomputation
        let k = 1;
        while (jk >= k && unchecked(IQ[jk - k]) == 0) k++;
        for (let i = jz + 1; i <= jz + k; i++) {
          unchecked(FF[jx + i] = f64(unchecked(TWO_OVER_PI[jv + i])));
          let fw: f64 = 0;
          for (let t = 0; t <= jx; t++) fw += unchecked(TX[t]) * unchecked(FF[jx + i - t]);
          unchecked(QQ[i] = fw);
        }
        jz += k;
        again = true;
      }
    }
  }
  if (z == 0) {
    jz -= 1; q0 -= 24;
    while (unchecked(IQ[jz]) == 0) { jz--; q0 -= 24; }
  } else {
    z = scalb(z, -q0);
    if (z >= TWO24) {
      const fw = f64(i32(TWON24 * z));
      unchecked(IQ[jz] = i32(z - TWO24 * fw));
      jz += 1; q0 += 24;
      unchecked(IQ[jz] = i32(fw));
    } else unchecked(IQ[jz] = i32(z));
  }
  let fw = scalb(1.0, q0);
  for (let i = jz; i >= 0; i--) { unchecked(QQ[i] = fw * f64(unchecked(IQ[i]))); fw *= TWON24; }
  for (let i = jz; i >= 0; i--) {
    let s: f64 = 0;
    for (let k = 0; k <= jp && k <= jz - i; k++) s += unchecked(PIO2[k]) * unchecked(QQ[i + k]);
    unchecked(FQ[jz - i] = s);
  }
  let s: f64 = 0;
  for (let i = jz; i >= 0; i--) s += unchecked(FQ[i]);
  y0 = ih == 0 ? s : -s;
  s = unchecked(FQ[0]) - s;
  for (let i = 1; i <= jz; i++) s += unchecked(FQ[i]);
  y1 = ih == 0 ? s : -s;
  return n & 7;
}

// ---- kernels on [-π/4, π/4] -----------------------------------------------------------

function kSin(x: f64, y: f64, iy: i32): f64 {
  const ix = HI(x) & 0x7fffffff;
  if (ix < 0x3e400000) return x;
  const z = x * x, v = z * x;
  const r = 8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 + z * (2.75573137070700676789e-06 +
    z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)));
  if (iy == 0) return x + v * (-1.66666666666666324348e-01 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * -1.66666666666666324348e-01);
}

function kCos(x: f64, y: f64): f64 {
  const ix = HI(x) & 0x7fffffff;
  if (ix < 0x3e400000) return 1.0;
  const z = x * x;
  const r = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * (2.48015872894767294178e-05 +
    z * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
  if (ix < 0x3fd33333) return 1.0 - (0.5 * z - (z * r - x * y));
  const qx = ix > 0x3fe90000 ? 0.28125 : mk(ix - 0x00200000, 0);
  const hz = 0.5 * z - qx;
  const a = 1.0 - qx;
  return a - (hz - (z * r - x * y));
}

const T: StaticArray<f64> = [
  3.33333333333334091986e-01, 1.33333333333201242699e-01, 5.39682539762260521377e-02,
  2.18694882948595424599e-02, 8.86323982359930005737e-03, 3.59207910759131235356e-03,
  1.45620945432529025516e-03, 5.88041240820264096874e-04, 2.46463134818469906812e-04,
  7.81794442939557092300e-05, 7.14072491382608190305e-05, -1.85586374855275456654e-05,
  2.59073051863633712884e-05,
];
const PIO4: f64 = 7.85398163397448278999e-01;
const PIO4LO: f64 = 3.06161699786838301793e-17;

function kTan(x0: f64, y0_: f64, iy: i32): f64 {
  let x = x0, y = y0_;
  const hx = HI(x);
  const ix = hx & 0x7fffffff;
  if (ix < 0x3e300000) {
    if (((ix | LO(x)) | (iy + 1)) == 0) return 1.0 / Math.abs(x);
    if (iy == 1) return x;
    const w = x + y;
    const z = setLo0(w);
    const v = y - (z - x);
    const a = -1.0 / w;
    const t = setLo0(a);
    const s = 1.0 + t * z;
    return t + a * (s + t * v);
  }
  if (ix >= 0x3fe59428) {
    if (hx < 0) { x = -x; y = -y; }
    const z = PIO4 - x;
    const w = PIO4LO - y;
    x = z + w;
    y = 0.0;
  }
  const z = x * x;
  let w = z * z;
  let r = unchecked(T[1]) + w * (unchecked(T[3]) + w * (unchecked(T[5]) + w * (unchecked(T[7]) + w * (unchecked(T[9]) + w * unchecked(T[11])))));
  let v = z * (unchecked(T[2]) + w * (unchecked(T[4]) + w * (unchecked(T[6]) + w * (unchecked(T[8]) + w * (unchecked(T[10]) + w * unchecked(T[12]))))));
  const s = z * x;
  r = y + z * (s * (r + v) + y);
  r += unchecked(T[0]) * s;
  w = x + r;
  if (ix >= 0x3fe59428) {
    v = f64(iy);
    return f64(1 - ((hx >> 30) & 2)) * (v - 2.0 * (x - (w * w / (w + v) - r)));
  }
  if (iy == 1) return w;
  const zz = setLo0(w);
  const vv = r - (zz - x);
  const a = -1.0 / w;
  const t = setLo0(a);
  const ss = 1.0 + t * zz;
  return t + a * (ss + t * vv);
}

// ---- sin cos tan (finite x) --------------------------------------------------------------

export function sin(x: f64): f64 {
  if ((HI(x) & 0x7fffffff) <= 0x3fe921fb) return kSin(x, 0, 0);
  const n = remPio2(x) & 3;
  if (n == 0) return kSin(y0, y1, 1);
  if (n == 1) return kCos(y0, y1);
  if (n == 2) return -kSin(y0, y1, 1);
  return -kCos(y0, y1);
}
export function cos(x: f64): f64 {
  if ((HI(x) & 0x7fffffff) <= 0x3fe921fb) return kCos(x, 0);
  const n = remPio2(x) & 3;
  if (n == 0) return kCos(y0, y1);
  if (n == 1) return -kSin(y0, y1, 1);
  if (n == 2) return -kCos(y0, y1);
  return kSin(y0, y1, 1);
}
export function tan(x: f64): f64 {
  if ((HI(x) & 0x7fffffff) <= 0x3fe921fb) return kTan(x, 0, 1);
  const n = remPio2(x);
  return kTan(y0, y1, 1 - ((n & 1) << 1));
}

