// ALU operations (ADD OR ADC SBB AND SUB XOR CMP), INC/DEC/NEG, and the
// multiply/divide family. Results are masked to the operand size.
import { sizeMask, signBit, sext, CF, OF, AF, setReg, getReg, EAX, EDX } from "../../state";
import { lazyArith, lazyIncDec, lazyLogic, lazyResult, getCF } from "../flags";
import { mul32, mulhu, mulhs, divu64, divs64, divQuot, divRem } from "../../portable";
import { raiseNoCode, DE } from "../../fault";

export const ALU_ADD: i32 = 0;
export const ALU_OR: i32 = 1;
export const ALU_ADC: i32 = 2;
export const ALU_SBB: i32 = 3;
export const ALU_AND: i32 = 4;
export const ALU_SUB: i32 = 5;
export const ALU_XOR: i32 = 6;
export const ALU_CMP: i32 = 7;

/** Compute op(a, b) at size sz, set the flags, return the result (CMP returns a). */
export function alu(op: i32, sz: i32, a: i32, b: i32): i32 {
  const m = sizeMask(sz);
  let r: i32;
  switch (op) {
    case ALU_ADD: r = i32(a + b) & m; lazyArith(sz, a, b, r, false); return r;
    case ALU_OR: r = (a | b) & m; lazyLogic(sz, r); return r;
    case ALU_ADC: { const c = getCF() ? 1 : 0; r = i32(i32(a + b) + c) & m; lazyArith(sz, a, b, r, false); return r; }
    case ALU_SBB: { const c = getCF() ? 1 : 0; r = i32(i32(a - b) - c) & m; lazyArith(sz, a, b, r, true); return r; }
    case ALU_AND: r = a & b & m; lazyLogic(sz, r); return r;
    case ALU_SUB: r = i32(a - b) & m; lazyArith(sz, a, b, r, true); return r;
    case ALU_XOR: r = (a ^ b) & m; lazyLogic(sz, r); return r;
    default: r = i32(a - b) & m; lazyArith(sz, a, b, r, true); return a;
  }
}

export function inc(sz: i32, a: i32): i32 { const r = i32(a + 1) & sizeMask(sz); lazyIncDec(sz, a, r, false); return r; }
export function dec(sz: i32, a: i32): i32 { const r = i32(a - 1) & sizeMask(sz); lazyIncDec(sz, a, r, true); return r; }
export function neg(sz: i32, a: i32): i32 { const r = i32(0 - a) & sizeMask(sz); lazyArith(sz, 0, a, r, true); return r; }

// ---- multiply ---------------------------------------------------------------

/** MUL/IMUL with one operand: AX / DX:AX / EDX:EAX ← accumulator × src. */
export function mulAcc(sz: i32, src: i32, signed: bool): void {
  const a = getReg(sz, EAX);
  let lo: i32, hi: i32, overflow: bool;
  if (sz == 1) {
    const p = signed ? mul32(sext(1, a), sext(1, src)) : mul32(a, src);
    setReg(2, EAX, p & 0xffff);
    lo = p & 0xff; hi = (p >> 8) & 0xff;
    overflow = signed ? sext(1, lo) != p : hi != 0;
  } else if (sz == 2) {
    const p = signed ? mul32(sext(2, a), sext(2, src)) : mul32(a, src);
    lo = p & 0xffff; hi = (p >> 16) & 0xffff;
    setReg(2, EAX, lo); setReg(2, EDX, hi);
    overflow = signed ? sext(2, lo) != p : hi != 0;
  } else {
    lo = mul32(a, src);
    hi = signed ? mulhs(a, src) : mulhu(a, src);
    setReg(4, EAX, lo); setReg(4, EDX, hi);
    overflow = signed ? hi != (lo >> 31) : hi != 0;
  }
  // SF/ZF/PF/AF are undefined; like QEMU, compute SF/ZF/PF from the low half, AF = 0.
  lazyResult(sz, lo, overflow ? CF | OF : 0, CF | OF | AF);
}

/** IMUL with two or three operands: returns the truncated product. */
export function imulTrunc(sz: i32, a: i32, b: i32): i32 {
  let r: i32, overflow: bool;
  if (sz == 2) {
    const p = mul32(sext(2, a), sext(2, b));
    r = p & 0xffff;
    overflow = sext(2, r) != p;
  } else {
    r = mul32(a, b);
    overflow = mulhs(a, b) != (r >> 31);
  }
  lazyResult(sz, r, overflow ? CF | OF : 0, CF | OF | AF);
  return r;
}

// ---- divide -------------------------------------------------------------------

/** DIV/IDIV: returns false after raising #DE (divide by zero or quotient overflow). */
export function divAcc(sz: i32, d: i32, signed: bool): bool {
  if ((d & sizeMask(sz)) == 0) { raiseNoCode(DE); return false; }
  if (sz == 1) {
    const n = getReg(2, EAX);
    let q: i32, r: i32;
    if (signed) {
      const sn = sext(2, n), sd = sext(1, d);
      if (!divs64(sn >> 31, sn, sd)) { raiseNoCode(DE); return false; }
      q = divQuot; r = divRem;
      if (q > 127 || q < -128) { raiseNoCode(DE); return false; }
    } else {
      divu64(0, n, d);
      q = divQuot; r = divRem;
      if (q > 255) { raiseNoCode(DE); return false; }
    }
    setReg(2, EAX, ((r & 0xff) << 8) | (q & 0xff));
  } else if (sz == 2) {
    const n = (getReg(2, EDX) << 16) | getReg(2, EAX);
    let q: i32, r: i32;
    if (signed) {
      if (!divs64(n >> 31, n, sext(2, d))) { raiseNoCode(DE); return false; }
      q = divQuot; r = divRem;
      if (q > 32767 || q < -32768) { raiseNoCode(DE); return false; }
    } else {
      divu64(0, n, d);
      q = divQuot; r = divRem;
      if (u32(q) > 0xffff) { raiseNoCode(DE); return false; }
    }
    setReg(2, EAX, q & 0xffff); setReg(2, EDX, r & 0xffff);
  } else {
    const hi = getReg(4, EDX), lo = getReg(4, EAX);
    const ok = signed ? divs64(hi, lo, d) : divu64(hi, lo, d);
    if (!ok) { raiseNoCode(DE); return false; }
    setReg(4, EAX, divQuot); setReg(4, EDX, divRem);
  }
  return true;
}
