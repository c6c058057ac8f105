// x87 arithmetic on f64 slots: FADD/FSUB/FMUL/FDIV (and the reversed forms,
// by swapping operands), FSQRT, with the x87 rules for NaN operands,
// invalid operations, division by zero, and the exact rounding of round.ts.
import {
  RES, IE, ZE, DE, signal, hiw, low, val, putBits, putVal, putIndefinite, isNaNAt, isSNaNAt, rc, RC_DOWN,
} from "./state";
import { finish, addErrSign, mulErrSign, divErrSign, sqrtErrSign } from "./round";

export const OP_ADD: i32 = 0;
export const OP_MUL: i32 = 1;
export const OP_SUB: i32 = 4;
export const OP_DIV: i32 = 6;

/**
 * A NaN operand: the result is the QNaN the x87 picks (SDM Vol. 1 Table
 * 4-7): an SNaN raises IE; with two NaNs the QNaN wins over an SNaN, else
 * the larger significand (equal: the positive one), quieted. Writes RES.
 * Returns false when IE is unmasked (no result).
 */
export function nanResult(pa: i32, pb: i32): bool {
  const an = isNaNAt(pa), bn = pb >= 0 && isNaNAt(pb);
  const as = an && isSNaNAt(pa), bs = bn && isSNaNAt(pb);
  if (as || bs) { if (signal(IE)) return false; }
  let p = pa;
  if (an && bn) {
    if (as != bs) p = as ? pb : pa;
    else {
      const ah = hiw(pa) & 0xfffff, bh = hiw(pb) & 0xfffff;
      const al = low(pa), bl = low(pb);
      if (u32(ah) != u32(bh)) p = u32(ah) > u32(bh) ? pa : pb;
      else if (al != bl) p = u32(al) > u32(bl) ? pa : pb;
      else p = hiw(pa) >= 0 ? pa : pb;
    }
  } else if (bn) p = pb;
  putBits(RES, hiw(p) | 0x80000, low(p));
  return true;
}

/** Invalid operation (masked: QNaN indefinite in RES). Returns false when unmasked. */
export function invalid(): bool {
  if (signal(IE)) return false;
  putIndefinite(RES);
  return true;
}

/** RES ← a op b (op: OP_ADD, OP_SUB, OP_MUL, OP_DIV). False: unmasked exception, no result. */
export function binop(op: i32, pa: i32, pb: i32, memDenormal: bool): bool {
  if (isNaNAt(pa) || isNaNAt(pb)) return nanResult(pa, pb);
  if (memDenormal && signal(DE)) return false;
  const x = val(pa), y = val(pb);
  let r: f64;
  let s = 0;
  if (op == OP_ADD || op == OP_SUB) {
    const yy = op == OP_SUB ? -y : y;
    r = x + yy;
    if (r != r) return invalid(); // inf − inf
    if (r == 0) {
      if (x == 0 && yy == 0 && (1.0 / x < 0) == (1.0 / yy < 0)) { putVal(RES, x); return true; }
      if (x != 0 || yy != 0) { s = addErrSign(x, yy, r); }
      if (s == 0) { putVal(RES, rc() == RC_DOWN ? -0.0 : 0.0); return true; }
    } else if (finite(r)) s = addErrSign(x, yy, r);
    else if (finite(x) && finite(yy)) s = r > 0 ? 1 : -1;
    else { putVal(RES, r); return true; } // an infinite operand: exact
  } else if (op == OP_MUL) {
    r = x * y;
    if (r != r) return invalid(); // 0 × inf
    if (!finite(x) || !finite(y) || x == 0 || y == 0) { putVal(RES, r); return true; }
    if (finite(r)) s = r == 0 ? ((x < 0) != (y < 0) ? -1 : 1) : mulErrSign(x, y, r);
  } else {
    if (y == 0 && x == 0) return invalid();
    if (y == 0 && finite(x)) {
      if (signal(ZE)) return false;
      putVal(RES, (x < 0) != (1.0 / y < 0) ? -Infinity : Infinity);
      return true;
    }
    r = x / y;
    if (r != r) return invalid(); // inf / inf
    if (!finite(x) || !finite(y) || x == 0) { putVal(RES, r); return true; }
    if (finite(r)) s = r == 0 ? ((x < 0) != (y < 0) ? -1 : 1) : divErrSign(x, y, r);
  }
  putVal(RES, finish(r, s));
  return true;
}

/** RES ← sqrt(a). */
export function sqrtOp(pa: i32): bool {
  if (isNaNAt(pa)) return nanResult(pa, -1);
  const x = val(pa);
  if (x == 0 || x == Infinity) { putVal(RES, x); return true; }
  if (x < 0) return invalid();
  const r = Math.sqrt(x);
  putVal(RES, finish(r, sqrtErrSign(x, r)));
  return true;
}

/** x is neither infinite nor NaN. */
export function finite(x: f64): bool { return x - x == 0; }
