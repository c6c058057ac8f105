// Lazy arithmetic flags. An ALU instruction records its operands, result and
// size; CF/PF/AF/ZF/SF/OF are computed only when something reads them.
// `flagsLazy` says which of the six flags are stale in flagsRaw.
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS, flagsRaw, setFlagsRaw, sizeMask, signBit } from "../state";

export let flagsLazy: i32 = 0;
export let lastOp1: i32 = 0;
export let lastOp2: i32 = 0;
export let lastResult: i32 = 0;
export let lastSize: i32 = 4;
/** The last arithmetic op was a subtraction (borrow/overflow rules differ). */
export let lastSub: bool = false;

/** Record an ADD/ADC (sub=false) or SUB/SBB/CMP/NEG (sub=true): all six flags lazy. */
export function lazyArith(sz: i32, a: i32, b: i32, res: i32, sub: bool): void {
  lastOp1 = a; lastOp2 = b; lastResult = res; lastSize = sz; lastSub = sub;
  flagsLazy = ARITH_FLAGS;
}
/** INC/DEC: like ADD/SUB 1 but CF is kept. */
export function lazyIncDec(sz: i32, a: i32, res: i32, sub: bool): void {
  // Materialise only CF: the other five flags are recomputed from this op.
  const cf = getCF();
  setFlagsRaw(cf ? flagsRaw | CF : flagsRaw & ~CF);
  lastOp1 = a; lastOp2 = 1; lastResult = res; lastSize = sz; lastSub = sub;
  flagsLazy = ARITH_FLAGS & ~CF;
}
/** Logic ops and others that set SF/ZF/PF from the result and clear CF/OF (AF := 0, as QEMU and hardware do). */
export function lazyLogic(sz: i32, res: i32): void {
  lastResult = res; lastSize = sz;
  setFlagsRaw(flagsRaw & ~(CF | OF | AF));
  flagsLazy = SF | ZF | PF;
}
/** SF/ZF/PF from the result; the caller sets CF/OF/AF explicitly (shifts, multiplies). */
export function lazyResult(sz: i32, res: i32, otherFlags: i32, otherMask: i32): void {
  const f = (flagsLazy & ~(otherMask | SF | ZF | PF)) != 0 ? getFlags() : flagsRaw;
  lastResult = res; lastSize = sz;
  setFlagsRaw((f & ~(otherMask | SF | ZF | PF)) | (otherFlags & otherMask));
  flagsLazy = SF | ZF | PF;
}

function parity(v: i32): i32 {
  v &= 0xff;
  v ^= v >> 4; v ^= v >> 2; v ^= v >> 1;
  return (v & 1) == 0 ? PF : 0;
}

/** EFLAGS with every flag current. */
export function getFlags(): i32 {
  const lazy = flagsLazy;
  if (lazy == 0) return flagsRaw;
  let f = flagsRaw & ~lazy;
  const mask = sizeMask(lastSize), sign = signBit(lastSize);
  const r = lastResult & mask;
  if ((lazy & ZF) != 0 && r == 0) f |= ZF;
  if ((lazy & SF) != 0 && (r & sign) != 0) f |= SF;
  if ((lazy & PF) != 0) f |= parity(r);
  if ((lazy & (CF | AF | OF)) != 0) {
    const a = lastOp1, b = lastOp2, res = lastResult;
    if ((lazy & AF) != 0) f |= (a ^ b ^ res) & AF;
    if (lastSub) {
      if ((lazy & CF) != 0 && (((~a & b) | ((~a | b) & res)) & sign) != 0) f |= CF;
      if ((lazy & OF) != 0 && (((a ^ b) & (a ^ res)) & sign) != 0) f |= OF;
    } else {
      if ((lazy & CF) != 0 && (((a & b) | ((a | b) & ~res)) & sign) != 0) f |= CF;
      if ((lazy & OF) != 0 && (((a ^ res) & (b ^ res)) & sign) != 0) f |= OF;
    }
  }
  return f;
}

/** Replace EFLAGS wholesale (no lazy state left). */
export function setFlags(v: i32): void {
  setFlagsRaw(v | 2);
  flagsLazy = 0;
}

export function getCF(): bool {
  if ((flagsLazy & CF) == 0) return (flagsRaw & CF) != 0;
  const a = lastOp1, b = lastOp2, res = lastResult;
  const c = lastSub ? (~a & b) | ((~a | b) & res) : (a & b) | ((a | b) & ~res);
  return (c & signBit(lastSize)) != 0;
}
export function getZF(): bool {
  if ((flagsLazy & ZF) == 0) return (flagsRaw & ZF) != 0;
  return (lastResult & sizeMask(lastSize)) == 0;
}
export function getSF(): bool {
  if ((flagsLazy & SF) == 0) return (flagsRaw & SF) != 0;
  return (lastResult & signBit(lastSize)) != 0;
}
export function getOF(): bool {
  if ((flagsLazy & OF) == 0) return (flagsRaw & OF) != 0;
  const a = lastOp1, b = lastOp2, res = lastResult;
  const o = lastSub ? (a ^ b) & (a ^ res) : (a ^ res) & (b ^ res);
  return (o & signBit(lastSize)) != 0;
}
export function getPF(): bool { return (getFlags() & PF) != 0; }
export function getAF(): bool { return (getFlags() & AF) != 0; }

/** Set or clear individual flags, materialising the rest first. */
export function setFlagBits(mask: i32, on: bool): void {
  const f = getFlags();
  setFlags(on ? f | mask : f & ~mask);
}

/** Jcc/SETcc/CMOVcc condition codes 0-15. */
export function testCC(cc: i32): bool {
  let r: bool;
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = getCF(); break;
    case 2: r = getZF(); break;
    case 3: r = getCF() || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || (getSF() != getOF()); break;
  }
  return (cc & 1) != 0 ? !r : r;
}
