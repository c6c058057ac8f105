// The operations behind the x87 opcodes (dispatch.ts decodes them): pushes
// and stores with their stack checks and masked responses, arithmetic and
// compares on stack registers, the one- and two-operand instructions that
// work on ST(0)/ST(1), constants, FXCH, FCMOVcc.
import {
  TMP, RES, IE, DE, CC_MASK, RC_UP, RC_DOWN, RC_CHOP, rc, signal, underflow, overflow, noteInsn, stp, isEmpty,
  setValid, push, pop, pushWouldOverflow, putBits, putIndefinite, copySlot, isSNaNAt, hiw, low, setC1, setCC,
  setTop, top,
} from "./state";
import { probe, writeImage, toF32, toF64, toF80, toInt, storeBcd } from "./formats";
import { OP_ADD, OP_MUL, OP_SUB, OP_DIV, binop, sqrtOp } from "./arith";
import { relation, setCompareCC, setCompareFlags, REL_UN } from "./compare";
import { frndint, fscale, fxtract, fprem } from "./misc";
import { trig, inTrigRange, fpatan, f2xm1, fyl2x, fyl2xp1 } from "./trans";

/** FLD/FILD/FBLD: push the value in TMP (m32/m64 SNaNs are quieted with IE; denormals raise DE). */
export function pushValue(checkSNaN: bool, denormal: bool): void {
  if (pushWouldOverflow()) {
    if (overflow()) return;
    push(); putIndefinite(stp(0));
    return;
  }
  if (checkSNaN && isSNaNAt(TMP)) {
    if (signal(IE)) return;
    putBits(TMP, hiw(TMP) | 0x80000, low(TMP));
  }
  if (denormal && signal(DE)) return;
  setC1(false);
  push();
  copySlot(stp(0), TMP);
}

/** FST/FSTP m32/m64/m80. */
export function storeReal(op: i32, sz: i32, popAfter: bool): void {
  if (!probe(sz)) return;
  noteInsn(op, true);
  let p = stp(0);
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(TMP); // stored as the indefinite of the format (IE already raised)
    p = TMP;
  }
  if (sz == 4) { if (!toF32(p)) return; }
  else if (sz == 8) { if (!toF64(p)) return; }
  else toF80(p);
  writeImage(sz);
  if (popAfter) pop();
}

/** FIST/FISTP/FISTTP m16/m32/m64. */
export function storeInt(op: i32, sz: i32, popAfter: bool, chop: bool): void {
  if (!probe(sz)) return;
  noteInsn(op, true);
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(TMP);
    toInt(TMP, sz, chop); // a NaN: the integer indefinite (IE already raised)
  } else if (!toInt(stp(0), sz, chop)) return;
  writeImage(sz);
  if (popAfter) pop();
}

/** FBSTP m80bcd. */
export function storeBcdOp(op: i32): void {
  if (!probe(10)) return;
  noteInsn(op, true);
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(TMP);
    storeBcd(TMP);
  } else if (!storeBcd(stp(0))) return;
  pop();
}

// ---- shared operations ---------------------------------------------------------------------

/**
 * ST(dst) ← ST(dst) op src, with op in D8's numbering (0 FADD, 1 FMUL,
 * 4 FSUB, 5 FSUBR, 6 FDIV, 7 FDIVR); src is a slot address.
 */
export function arithTo(reg: i32, dst: i32, src: i32, srcEmpty: bool, popAfter: bool, denormal: bool): void {
  if (isEmpty(dst) || srcEmpty) {
    if (underflow()) return;
    putIndefinite(stp(dst)); setValid(dst);
    if (popAfter) pop();
    return;
  }
  setC1(false);
  const pd = stp(dst);
  let pa = pd, pb = src;
  if (reg == 5 || reg == 7) { pa = src; pb = pd; }
  const kind = reg == 0 ? OP_ADD : reg == 1 ? OP_MUL : reg <= 5 ? OP_SUB : OP_DIV;
  if (!binop(kind, pa, pb, denormal)) return;
  copySlot(pd, RES);
  if (popAfter) pop();
}

/** FCOM/FUCOM of ST(0) with the slot p; pops 0, 1 or 2 times. */
export function compareWith(p: i32, srcEmpty: bool, quiet: bool, pops: i32, denormal: bool): void {
  if (isEmpty(0) || srcEmpty) {
    if (underflow()) return;
    setCompareCC(REL_UN);
  } else {
    if (denormal && signal(DE)) return;
    const rel = relation(stp(0), p, quiet);
    if (rel < 0) return;
    setCompareCC(rel);
  }
  if (pops > 0) pop();
  if (pops > 1) pop();
}

/** FCOMI/FUCOMI (pop: FCOMIP/FUCOMIP). */
export function compareFlags(i: i32, quiet: bool, popAfter: bool): void {
  setC1(false);
  if (isEmpty(0) || isEmpty(i)) {
    if (underflow()) return;
    setCompareFlags(REL_UN);
  } else {
    const rel = relation(stp(0), stp(i), quiet);
    if (rel < 0) return;
    setCompareFlags(rel);
  }
  if (popAfter) pop();
}

/** ST(0) ← f(ST(0)) for the one-operand instructions that write RES. */
export const U_SQRT: i32 = 0, U_RNDINT: i32 = 1, U_SIN: i32 = 2, U_COS: i32 = 3, U_F2XM1: i32 = 4;
export function unary(kind: i32): void {
  if (isEmpty(0)) { if (underflow()) return; putIndefinite(stp(0)); setValid(0); return; }
  const p = stp(0);
  if ((kind == U_SIN || kind == U_COS) && !inTrigRange(p)) return;
  let ok: bool;
  if (kind == U_SQRT) { setC1(false); ok = sqrtOp(p); }
  else if (kind == U_RNDINT) ok = frndint(p);
  else if (kind == U_F2XM1) ok = f2xm1(p);
  else ok = trig(p, kind == U_SIN ? 0 : 1);
  if (ok) copySlot(p, RES);
}

/** ST(1) ← f(ST(0), ST(1)), then pop (FYL2X FYL2XP1 FPATAN); or ST(0) ← f (FSCALE FPREM FPREM1). */
export const B_YL2X: i32 = 0, B_YL2XP1: i32 = 1, B_PATAN: i32 = 2, B_SCALE: i32 = 3, B_PREM: i32 = 4, B_PREM1: i32 = 5;
export function binary(kind: i32): void {
  const toSt1 = kind <= B_PATAN;
  if (isEmpty(0) || isEmpty(1)) {
    if (kind >= B_PREM) setCC(CC_MASK, 0);
    if (underflow()) return;
    const d = toSt1 ? 1 : 0;
    putIndefinite(stp(d)); setValid(d);
    if (toSt1) pop();
    return;
  }
  const p0 = stp(0), p1 = stp(1);
  let ok: bool;
  switch (kind) {
    case B_YL2X: ok = fyl2x(p0, p1); break;
    case B_YL2XP1: ok = fyl2xp1(p0, p1); break;
    case B_PATAN: ok = fpatan(p0, p1); break;
    case B_SCALE: ok = fscale(p0, p1); break;
    case B_PREM: ok = fprem(p0, p1, false); break;
    default: ok = fprem(p0, p1, true); break;
  }
  if (!ok) return;
  copySlot(toSt1 ? p1 : p0, RES);
  if (toSt1) pop();
}

/** FPTAN (tan, push 1.0) and FSINCOS (sin, push cos). */
export function pushingTrig(sincos: bool): void {
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(stp(0)); setValid(0);
    if (!pushWouldOverflow()) { push(); putIndefinite(stp(0)); }
    return;
  }
  if (pushWouldOverflow()) { if (overflow()) return; putIndefinite(stp(0)); push(); putIndefinite(stp(0)); return; }
  const p = stp(0);
  if (!inTrigRange(p)) return;
  if (sincos) {
    if (!trig(p, 1)) return;
    copySlot(TMP, RES);
    trig(p, 0);
    copySlot(p, RES);
    push();
    copySlot(stp(0), TMP);
    return;
  }
  if (!trig(p, 2)) return;
  copySlot(p, RES);
  const nan = (hiw(RES) & 0x7ff00000) == 0x7ff00000 && ((hiw(RES) & 0xfffff) | low(RES)) != 0;
  push();
  if (nan) copySlot(stp(0), RES); else putBits(stp(0), 0x3ff00000, 0);
}

/** FXTRACT: ST(0) ← exponent, push significand. */
export function doFxtract(): void {
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(stp(0)); setValid(0);
    if (!pushWouldOverflow()) { push(); putIndefinite(stp(0)); }
    return;
  }
  if (pushWouldOverflow()) { if (overflow()) return; putIndefinite(stp(0)); push(); putIndefinite(stp(0)); return; }
  setC1(false);
  if (!fxtract(stp(0), TMP)) return;
  copySlot(stp(0), RES);
  push();
  copySlot(stp(0), TMP);
}

// Constants: RN values (bits) and the direction of their rounding.
export function pushConst(k: i32): void {
  if (pushWouldOverflow()) { if (overflow()) return; push(); putIndefinite(stp(0)); return; }
  const mode = rc();
  let hi = 0, lo = 0;
  // For the irrational constants the correctly rounded f64 in each mode; LG2's nearest value was rounded up, the others down.
  const up = mode == RC_UP ? 1 : 0;
  const down = mode == RC_DOWN || mode == RC_CHOP ? 1 : 0;
  switch (k) {
    case 0: hi = 0x3ff00000; break;                                  // FLD1
    case 1: hi = 0x400a934f; lo = 0x0979a371 + up; break;            // FLDL2T
    case 2: hi = 0x3ff71547; lo = 0x652b82fe + up; break;            // FLDL2E
    case 3: hi = 0x400921fb; lo = 0x54442d18 + up; break;            // FLDPI
    case 4: hi = 0x3fd34413; lo = 0x509f79ff - down; break;          // FLDLG2
    case 5: hi = 0x3fe62e42; lo = i32(0xfefa39ef) + up; break;       // FLDLN2
    default: break;                                                  // FLDZ
  }
  setC1(false);
  push();
  putBits(stp(0), hi, lo);
}

export function setTopRel(d: i32): void { setTop(top + d); setCC(CC_MASK, 0); }

export function fldReg(i: i32): void {
  if (pushWouldOverflow()) { if (overflow()) return; push(); putIndefinite(stp(0)); return; }
  if (isEmpty(i)) { if (underflow()) return; push(); putIndefinite(stp(0)); return; }
  copySlot(TMP, stp(i));
  setC1(false);
  push();
  copySlot(stp(0), TMP);
}
export function fstReg(i: i32, popAfter: bool): void {
  if (isEmpty(0)) {
    if (underflow()) return;
    putIndefinite(stp(i));
  } else {
    setC1(false);
    copySlot(stp(i), stp(0));
  }
  setValid(i);
  if (popAfter) pop();
}
export function fxch(i: i32): void {
  if (isEmpty(0) || isEmpty(i)) {
    if (underflow()) return;
    if (isEmpty(0)) { putIndefinite(stp(0)); setValid(0); }
    if (isEmpty(i)) { putIndefinite(stp(i)); setValid(i); }
  } else setC1(false);
  copySlot(TMP, stp(0));
  copySlot(stp(0), stp(i));
  copySlot(stp(i), TMP);
}
export function fcmov(i: i32, cond: bool): void {
  if (isEmpty(0) || isEmpty(i)) {
    if (underflow()) return;
    if (cond) { putIndefinite(stp(0)); setValid(0); }
    return;
  }
  setC1(false);
  if (cond) copySlot(stp(0), stp(i));
}
