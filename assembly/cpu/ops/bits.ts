// Bit tests and scans: BT/BTS/BTR/BTC (register, immediate and memory
// bit-string forms), BSF/BSR, and BSWAP.
import { CF, ZF, sizeMask, getReg } from "../../state";
import { getFlags, setFlags, lazyResult } from "../flags";
import { modrmMod, modrmRm, eaSeg, eaPlus, readRM, writeRM } from "../decode";
import { readV, writeV } from "../access";
import { clz32, ctz32 } from "../../portable";
import { aborted } from "../../fault";

/** BT family: op 0=BT 1=BTS 2=BTR 3=BTC. `offset` is the bit offset (register form: full signed value). */
export function bitTest(op: i32, sz: i32, offset: i32, fromRegister: bool): void {
  const bitsz = sz << 3;
  let v: i32, bit: i32;
  if (modrmMod == 3) {
    bit = offset & (bitsz - 1);
    v = getReg(sz, modrmRm);
    setCarry(((v >> bit) & 1) != 0);
    if (op != 0) writeRM(sz, apply(op, v, bit));
    return;
  }
  // Memory: a register offset addresses a bit string (signed, may lie outside the operand).
  let disp = 0;
  if (fromRegister) {
    const signed = sz == 2 ? (offset << 16) >> 16 : offset;
    disp = (signed >> (sz == 2 ? 4 : 5)) * sz;
    bit = signed & (bitsz - 1);
  } else {
    bit = offset & (bitsz - 1);
  }
  const off = eaPlus(disp);
  v = readV(eaSeg, off, sz);
  if (aborted) return;
  if (op != 0) { writeV(eaSeg, off, sz, apply(op, v, bit)); if (aborted) return; }
  setCarry(((v >> bit) & 1) != 0);
}

function apply(op: i32, v: i32, bit: i32): i32 {
  const m = 1 << bit;
  return op == 1 ? v | m : op == 2 ? v & ~m : v ^ m;
}

function setCarry(c: bool): void {
  const f = getFlags();
  setFlags(c ? f | CF : f & ~CF);
}

/** BSF/BSR: returns true and the index in bitIndex when the source is nonzero. */
export let bitIndex: i32 = 0;
export function bitScan(sz: i32, src: i32, reverse: bool): bool {
  const v = src & sizeMask(sz);
  const f = getFlags();
  if (v == 0) { setFlags(f | ZF); return false; }
  bitIndex = reverse ? 31 - clz32(v) : ctz32(v);
  setFlags(f & ~ZF);
  return true;
}

export function bswap(v: i32): i32 {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | (i32(v >>> 8) & 0xff00) | i32(v >>> 24);
}
