// Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and
// SHLD/SHRD, with the architectural count masking (to 5 bits; RCL/RCR
// rotate modulo size+1) and the flag rules: a zero count changes nothing;
// OF is defined for single-bit counts and computed like hardware otherwise.
import { sizeMask, signBit, CF, OF, AF } from "../../state";
import { getFlags, setFlags, lazyResult, getCF } from "../flags";

function bits(sz: i32): i32 { return sz << 3; }

/** Group-2 operation `op` (ModRM reg field) on value a by count (unmasked). */
export function shiftOp(op: i32, sz: i32, a: i32, count: i32): i32 {
  count &= 31;
  if (count == 0) return a;
  const m = sizeMask(sz), sign = signBit(sz), n = bits(sz);
  a &= m;
  let r: i32, cf: i32, ovf: i32;
  switch (op) {
    case 0: { // ROL
      const c = count & (n - 1);
      r = c == 0 ? a : ((a << c) | i32(a >>> (n - c))) & m;
      cf = r & 1;
      ovf = (((r & sign) != 0 ? 1 : 0) ^ cf);
      setRot(cf, ovf);
      return r;
    }
    case 1: { // ROR
      const c = count & (n - 1);
      r = c == 0 ? a : (i32(a >>> c) | (a << (n - c))) & m;
      cf = (r & sign) != 0 ? 1 : 0;
      ovf = cf ^ ((r & (sign >>> 1)) != 0 ? 1 : 0);
      setRot(cf, ovf);
      return r;
    }
    case 2: { // RCL: rotate through CF, n+1 bits
      const c = count % (n + 1);
      if (c == 0) return a;
      const cin = getCF() ? 1 : 0;
      // Bits shifted out of the top re-enter through CF.
      let v = a, carry = cin;
      for (let i = 0; i < c; i++) {
        const out = (v & sign) != 0 ? 1 : 0;
        v = ((v << 1) | carry) & m;
        carry = out;
      }
      r = v; cf = carry;
      ovf = ((a ^ r) & sign) != 0 ? 1 : 0; // count 1 as the SDM; larger counts as QEMU
      setRot(cf, ovf);
      return r;
    }
    case 3: { // RCR
      const c = count % (n + 1);
      if (c == 0) return a;
      const cin = getCF() ? 1 : 0;
      let v = a, carry = cin;
      for (let i = 0; i < c; i++) {
        const out = v & 1;
        v = i32(v >>> 1) | (carry != 0 ? sign : 0);
        carry = out;
      }
      r = v & m; cf = carry;
      ovf = ((a ^ r) & sign) != 0 ? 1 : 0; // count 1 as the SDM; larger counts as QEMU
      setRot(cf, ovf);
      return r;
    }
    case 4: case 6: { // SHL/SAL
      r = count < 32 ? (a << count) & m : 0;
      cf = count <= n ? (i32(a >>> (n - count)) & 1) : 0;
      ovf = ((r & sign) != 0 ? 1 : 0) ^ cf;
      lazyResult(sz, r, (cf != 0 ? CF : 0) | (ovf != 0 ? OF : 0), CF | OF | AF);
      return r;
    }
    case 5: { // SHR
      r = i32(a >>> count) & m;
      cf = (i32(a >>> (count - 1))) & 1;
      ovf = (a & sign) != 0 ? 1 : 0;
      if (count != 1) ovf = 0;
      lazyResult(sz, r, (cf != 0 ? CF : 0) | (ovf != 0 ? OF : 0), CF | OF | AF);
      return r;
    }
    default: { // SAR
      const s = sz == 4 ? a : sz == 2 ? (a << 16) >> 16 : (a << 24) >> 24;
      r = (s >> (count < 31 ? count : 31)) & m;
      cf = (s >> (count - 1 < 31 ? count - 1 : 31)) & 1;
      lazyResult(sz, r, cf != 0 ? CF : 0, CF | OF | AF);
      return r;
    }
  }
}

function setRot(cf: i32, ovf: i32): void {
  const f = getFlags() & ~(CF | OF);
  setFlags(f | (cf != 0 ? CF : 0) | (ovf != 0 ? OF : 0));
}

/**
 * SHLD (left) / SHRD: shift dst, filling from src; count masked to 5 bits.
 * For 16-bit operands with counts above 16 (undefined in the SDM) this
 * models Intel's behaviour as QEMU does: the 48-bit value dst:src:dst shifts.
 */
export function shiftDouble(sz: i32, dst: i32, src: i32, count: i32, left: bool): i32 {
  count &= 31;
  if (count == 0) return dst;
  const sign = signBit(sz);
  let r: i32, cf: i32, before: i32; // before: the value shifted by count-1 (for OF, as QEMU)
  if (sz == 4) {
    if (left) {
      r = (dst << count) | i32(src >>> (32 - count));
      before = count == 1 ? dst : (dst << (count - 1)) | i32(src >>> (33 - count));
      cf = i32(dst >>> (32 - count)) & 1;
    } else {
      r = i32(dst >>> count) | (src << (32 - count));
      before = count == 1 ? dst : i32(dst >>> (count - 1)) | (src << (33 - count));
      cf = i32(dst >>> (count - 1)) & 1;
    }
  } else {
    // 48-bit dst:src:dst as hi (16 bits) and lo (32 bits).
    const d = dst & 0xffff, s16 = src & 0xffff;
    if (left) {
      const hi = d, lo = (s16 << 16) | d;
      r = field16(hi, lo, 32 - count);
      before = field16(hi, lo, 33 - count);
      cf = bit48(hi, lo, 48 - count);
    } else {
      const hi = d, lo = (s16 << 16) | d;
      r = field16(hi, lo, count);
      before = field16(hi, lo, count - 1);
      cf = bit48(hi, lo, count - 1);
    }
  }
  r &= sizeMask(sz);
  const ovf = ((r ^ before) & sign) != 0 ? 1 : 0;
  lazyResult(sz, r, (cf != 0 ? CF : 0) | (ovf != 0 ? OF : 0), CF | OF | AF);
  return r;
}

/** 16 bits starting at bit `start` (0..32) ovf the 48-bit value hi:lo. */
function field16(hi: i32, lo: i32, start: i32): i32 {
  if (start == 0) return lo & 0xffff;
  if (start >= 32) return i32(hi >>> (start - 32)) & 0xffff;
  return (i32(lo >>> start) | (hi << (32 - start))) & 0xffff;
}
function bit48(hi: i32, lo: i32, k: i32): i32 {
  return k < 32 ? i32(lo >>> k) & 1 : i32(hi >>> (k - 32)) & 1;
}
