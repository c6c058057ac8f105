// SSE2's double-precision instructions: the 66 (packed, PD) and F2 (scalar, SD) forms of SSE's
// opcodes, and the conversions between binary32, binary64 and int32 vectors (0F 5A, 5B, E6).
// SDM Vol. 2, each instruction.
import { cs32, setReg } from "../../state";
import { aborted, raiseUD } from "../../fault";
import { opsize, repPrefix, decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff, readRM } from "../decode";
import { fetch8 } from "../fetch";
import { readV } from "../access";
import { st32a, f64bitsHi, f64bitsLo } from "../../portable";
import { mmLo, mmHi, writeMm, enterMmxState } from "../mmx";
import { xmmp, SRC, RES, el, setEl, copy16, clearFlags } from "./state";
import { usable, source, store, commitFlags, mmxOperands, bitwise, setComparisonFlags } from "./exec";
import { fromInt, toInt, round32, fromF64 } from "./float32";
import {
  arith64, compare64, compareFlags64, toInt64, fromSingle, nanToSingle, valueForSingle, isNaN64, resHi, resLo,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MIN, OP_MAX, OP_SQRT,
} from "./float64";


/** Is 0F `op` with the current prefixes one of SSE2's floating-point forms? */
export function isDoubleForm(op: i32): bool {
  const p66 = opsize != (cs32 ? 4 : 2), f2 = repPrefix == 0xf2, f3 = repPrefix == 0xf3;
  if (op == 0x5a || op == 0x5b || op == 0xe6) return true; // every prefix: conversions
  if (!(p66 || f2) || (p66 && repPrefix != 0)) return false;
  if (f2) return op == 0x10 || op == 0x11 || op == 0x2a || op == 0x2c || op == 0x2d || op == 0x51 || op == 0xc2 ||
    op == 0x58 || op == 0x59 || (op >= 0x5c && op <= 0x5f);
  return !f3;
}

/** Execute an SSE2 floating-point form (isDoubleForm). */
export function sse2Double(op: i32): void {
  const p66 = opsize != (cs32 ? 4 : 2), scalar = repPrefix == 0xf2, f3 = repPrefix == 0xf3;
  if (p66 && repPrefix != 0) { raiseUD(); return; }
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  const reg = modrmReg, mem = modrmMod != 3, d = xmmp(reg);
  switch (op) {
    case 0x10: // MOVUPD / MOVSD xmm, xmm/m
      if (scalar) {
        if (!mem) { st32a(d, el(xmmp(modrmRm), 0)); st32a(d + 4, el(xmmp(modrmRm), 1)); return; }
        if (!source(8, false)) return;
        setEl(d, 0, el(SRC, 0)); setEl(d, 1, el(SRC, 1)); setEl(d, 2, 0); setEl(d, 3, 0);
        return;
      }
      if (!source(16, false)) return;
      copy16(d, SRC); return;
    case 0x28: if (!source(16, true)) return; copy16(d, SRC); return; // MOVAPD
    case 0x11: // MOVUPD / MOVSD xmm/m, xmm
      if (scalar) {
        if (!mem) { const t = xmmp(modrmRm); setEl(t, 0, el(d, 0)); setEl(t, 1, el(d, 1)); return; }
        store(8, false, d); return;
      }
      store(16, false, d); return;
    case 0x29: store(16, true, d); return; // MOVAPD
    case 0x2b: if (!mem) { raiseUD(); return; } store(16, true, d); return; // MOVNTPD
    case 0x12: case 0x16: { // MOVLPD / MOVHPD xmm, m64
      if (!mem) { raiseUD(); return; }
      if (!source(8, false)) return;
      const k = op == 0x16 ? 2 : 0;
      setEl(d, k, el(SRC, 0)); setEl(d, k + 1, el(SRC, 1));
      return;
    }
    case 0x13: case 0x17: { // MOVLPD / MOVHPD m64, xmm
      if (!mem) { raiseUD(); return; }
      store(8, false, d + (op == 0x17 ? 8 : 0)); return;
    }
    case 0x14: case 0x15: { // UNPCKLPD / UNPCKHPD
      if (!source(16, true)) return;
      const k = op == 0x15 ? 2 : 0;
      setEl(RES, 0, el(d, k)); setEl(RES, 1, el(d, k + 1)); setEl(RES, 2, el(SRC, k)); setEl(RES, 3, el(SRC, k + 1));
      copy16(d, RES); return;
    }
    case 0xc6: { // SHUFPD
      if (!source(16, true)) return;
      const imm = fetch8(); if (aborted) return;
      const a = (imm & 1) << 1, b = imm & 2;
      setEl(RES, 0, el(d, a)); setEl(RES, 1, el(d, a + 1)); setEl(RES, 2, el(SRC, b)); setEl(RES, 3, el(SRC, b + 1));
      copy16(d, RES); return;
    }
    case 0x50: // MOVMSKPD r32, xmm
      if (mem) { raiseUD(); return; }
      setReg(4, reg, (el(xmmp(modrmRm), 1) >>> 31) | ((el(xmmp(modrmRm), 3) >>> 31) << 1));
      return;
    case 0x54: case 0x55: case 0x56: case 0x57: bitwise(op, d); return; // ANDPD ANDNPD ORPD XORPD
    case 0x2e: case 0x2f: { // UCOMISD / COMISD
      if (!source(8, false)) return;
      clearFlags();
      const r = compareFlags64(el(d, 1), el(d, 0), el(SRC, 1), el(SRC, 0), op == 0x2f);
      if (!commitFlags()) return;
      setComparisonFlags(r);
      return;
    }
    case 0xc2: { // CMPPD / CMPSD
      if (!source(scalar ? 8 : 16, !scalar)) return;
      const pred = fetch8(); if (aborted) return;
      copy16(RES, d);
      clearFlags();
      const n = scalar ? 1 : 2;
      for (let k = 0; k < n; k++) {
        const m = compare64(pred & 7, el(d, 2 * k + 1), el(d, 2 * k), el(SRC, 2 * k + 1), el(SRC, 2 * k)) ? -1 : 0;
        setEl(RES, 2 * k, m); setEl(RES, 2 * k + 1, m);
      }
      if (!commitFlags()) return;
      copy16(d, RES); return;
    }
    case 0x51: arithmetic(OP_SQRT, d, scalar); return;
    case 0x58: arithmetic(OP_ADD, d, scalar); return;
    case 0x59: arithmetic(OP_MUL, d, scalar); return;
    case 0x5c: arithmetic(OP_SUB, d, scalar); return;
    case 0x5d: arithmetic(OP_MIN, d, scalar); return;
    case 0x5e: arithmetic(OP_DIV, d, scalar); return;
    case 0x5f: arithmetic(OP_MAX, d, scalar); return;
    case 0x2a: { // CVTPI2PD xmm, mm/m64 / CVTSI2SD xmm, r/m32: exact
      if (scalar) {
        const v = readRM(4); if (aborted) return;
        storeDouble(d, 0, f64(v));
        return;
      }
      if (!mem && !mmxOperands()) return;
      const lo = mem ? readV(eaSeg, eaOff, 4) : mmLo(modrmRm); if (aborted) return;
      const hi = mem ? readV(eaSeg, i32(eaOff + 4), 4) : mmHi(modrmRm); if (aborted) return;
      if (!mem) enterMmxState();
      storeDouble(d, 0, f64(lo)); storeDouble(d, 1, f64(hi));
      return;
    }
    case 0x2c: case 0x2d: { // CVT(T)PD2PI mm, xmm/m128 / CVT(T)SD2SI r32, xmm/m64
      const truncate = op == 0x2c;
      if (!scalar && !mmxOperands()) return;
      if (!source(scalar ? 8 : 16, !scalar)) return;
      clearFlags();
      const lo = toInt64(el(SRC, 1), el(SRC, 0), truncate);
      const hi = scalar ? 0 : toInt64(el(SRC, 3), el(SRC, 2), truncate);
      if (!commitFlags()) return;
      if (scalar) { setReg(4, reg, lo); return; }
      enterMmxState();
      writeMm(reg, lo, hi);
      return;
    }
    case 0x5a: convertFloat(d, p66, scalar, f3); return;
    case 0x5b: convertInt32s(d, p66, f3); return;
    case 0xe6: convertE6(d, p66, scalar, f3); return;
    default: raiseUD(); return; // (66 0F 52, 53: no PD forms)
  }
}

/** Element k of the binary64 vector at d := x (a number, never a NaN). */
function storeDouble(d: i32, k: i32, x: f64): void { setEl(d, 2 * k, f64bitsLo(x)); setEl(d, 2 * k + 1, f64bitsHi(x)); }

/** ADD SUB MUL DIV MIN MAX SQRT, PD (two elements) or SD (element 0, the high one kept). */
function arithmetic(fop: i32, d: i32, scalar: bool): void {
  if (!source(scalar ? 8 : 16, !scalar)) return;
  copy16(RES, d);
  clearFlags();
  const n = scalar ? 1 : 2;
  for (let k = 0; k < n; k++) {
    arith64(fop, el(d, 2 * k + 1), el(d, 2 * k), el(SRC, 2 * k + 1), el(SRC, 2 * k));
    setEl(RES, 2 * k, resLo); setEl(RES, 2 * k + 1, resHi);
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}

/** 0F 5A: CVTPS2PD (none), CVTPD2PS (66), CVTSS2SD (F3), CVTSD2SS (F2). */
function convertFloat(d: i32, p66: bool, scalar: bool, f3: bool): void {
  const toDouble = !p66 && !scalar;
  const n = f3 || scalar ? 1 : 2;
  if (!source(toDouble ? (f3 ? 4 : 8) : (scalar ? 8 : 16), p66)) return;
  copy16(RES, d);
  clearFlags();
  if (toDouble) {
    for (let k = n - 1; k >= 0; k--) { fromSingle(el(SRC, k)); setEl(RES, 2 * k, resLo); setEl(RES, 2 * k + 1, resHi); }
  } else {
    for (let k = 0; k < n; k++) {
      const hi = el(SRC, 2 * k + 1), lo = el(SRC, 2 * k);
      if (isNaN64(hi, lo)) { setEl(RES, k, nanToSingle(hi, lo)); continue; }
      const x = valueForSingle(hi, lo);
      setEl(RES, k, x == Infinity || x == -Infinity ? fromF64(x) : round32(x, 0)); // (∞ converts exactly)
    }
    if (!scalar) { setEl(RES, 2, 0); setEl(RES, 3, 0); }
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}

/** 0F 5B: CVTDQ2PS (none), CVTPS2DQ (66), CVTTPS2DQ (F3). */
function convertInt32s(d: i32, p66: bool, f3: bool): void {
  if (repPrefix == 0xf2) { raiseUD(); return; }
  if (!source(16, true)) return;
  clearFlags();
  for (let k = 0; k < 4; k++) setEl(RES, k, p66 || f3 ? toInt(el(SRC, k), f3) : fromInt(el(SRC, k)));
  if (!commitFlags()) return;
  copy16(d, RES);
}

/** 0F E6: CVTTPD2DQ (66), CVTPD2DQ (F2), CVTDQ2PD (F3); no prefix is #UD. */
function convertE6(d: i32, p66: bool, scalar: bool, f3: bool): void {
  if (!p66 && !scalar && !f3) { raiseUD(); return; }
  if (!source(f3 ? 8 : 16, !f3)) return;
  clearFlags();
  if (f3) {
    const a = el(SRC, 0), b = el(SRC, 1);
    storeDouble(RES, 0, f64(a)); storeDouble(RES, 1, f64(b));
  } else {
    setEl(RES, 0, toInt64(el(SRC, 1), el(SRC, 0), p66));
    setEl(RES, 1, toInt64(el(SRC, 3), el(SRC, 2), p66));
    setEl(RES, 2, 0); setEl(RES, 3, 0);
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}
