// Comparisons: FCOM/FUCOM (condition codes), FCOMI/FUCOMI (EFLAGS), FTST,
// FXAM. The sign of zero is ignored; NaNs compare unordered (FCOM-type
// instructions raise IE for any NaN, FUCOM-type only for SNaNs).
import { CF, PF, ZF, SF, AF, OF } from "../../state";
import { getFlags, setFlags } from "../flags";
import { IE, C0, C1, C2, C3, CC_MASK, signal, setCC, isNaNAt, isSNaNAt, val, hiw, low, isEmpty, stp } from "./state";

export const REL_GT: i32 = 0;
export const REL_LT: i32 = 1;
export const REL_EQ: i32 = 2;
export const REL_UN: i32 = 3;

/** Compare the slots; -1 when an unmasked IE stops the instruction. */
export function relation(pa: i32, pb: i32, quiet: bool): i32 {
  if (isNaNAt(pa) || isNaNAt(pb)) {
    const raise = !quiet || isSNaNAt(pa) || isSNaNAt(pb);
    if (raise && signal(IE)) return -1;
    return REL_UN;
  }
  const a = val(pa), b = val(pb);
  return a > b ? REL_GT : a < b ? REL_LT : REL_EQ;
}

/** FCOM-style condition codes (C1 cleared). */
export function setCompareCC(rel: i32): void {
  const cc = rel == REL_GT ? 0 : rel == REL_LT ? C0 : rel == REL_EQ ? C3 : C3 | C2 | C0;
  setCC(CC_MASK, cc);
}

/** FCOMI-style EFLAGS: ZF PF CF by the relation; OF SF AF cleared (SDM). */
export function setCompareFlags(rel: i32): void {
  const f = rel == REL_GT ? 0 : rel == REL_LT ? CF : rel == REL_EQ ? ZF : ZF | PF | CF;
  setFlags((getFlags() & ~(CF | PF | ZF | SF | AF | OF)) | f);
}

/** FXAM: class of ST(0) in C3 C2 C0, sign in C1. */
export function fxam(): void {
  const p = stp(0);
  const hi = hiw(p);
  const sign = hi < 0 ? C1 : 0;
  let cls: i32;
  if (isEmpty(0)) cls = C3 | C0;
  else if ((hi & 0x7ff00000) == 0x7ff00000) cls = ((hi & 0xfffff) | low(p)) != 0 ? C0 : C2 | C0;
  else if (((hi & 0x7fffffff) | low(p)) == 0) cls = C3;
  else cls = C2; // every nonzero f64 is a normal 80-bit value
  setCC(CC_MASK, cls | sign);
}
