// MMX: 64-bit integer SIMD on MM0-MM7, which are the x87 registers' significands (SDM Vol. 1
// ch. 9; each instruction in Vol. 2): the Pentium II's set, SSE's additions to it (PSHUFW,
// PINSRW, PEXTRW, PMOVMSKB, PMIN/PMAX, PAVG, PMULHUW, PSADBW, MOVNTQ, MASKMOVQ) and SSE2's
// (PADDQ, PSUBQ, PMULUDQ). The 66/F2/F3-prefixed forms are SSE2's on XMM registers
// (cpu/sse/integer.ts), which runs its halves through packedHalf/shiftHalf here.
// An operand is two i32 halves (the core's integers are i32, DESIGN.md); packed operations
// take lanes out of them and put lanes back, element by element.
import { cr0, CR0_EM, CR0_TS, cs32, setReg, reg32, EDI } from "../state";
import { aborted, raiseUD, raiseNoCode, NM } from "../fault";
import { opsize, repPrefix, adsize32, dataSeg, decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff, readRM, writeRM } from "./decode";
import { fetch8 } from "./fetch";
import { readV, writeV, probeWriteV } from "./access";
import { ld32a, st32a, mul32, mulhu } from "../portable";
import { xmmInteger } from "./sse/integer";
import { checkPending, setTop, setEmpty, stale, setStale, rawp, RAW_SE } from "./fpu/state";
import { captureImages } from "./fpu/alias";

/** 0F xx opcodes that are MMX instructions (the rest of the MMX/SSE rows stay #UD). */
export function isMmxOpcode(op: i32): bool {
  if (op < 0x60) return false;
  if (op < 0x80) return op <= 0x77 || op == 0x7e || op == 0x7f; // (6C 6D: SSE2's PUNPCKxQDQ, XMM only)
  if (op < 0xd0) return op == 0xc4 || op == 0xc5;
  // D0-FF: bit n of the row's mask is the opcode row+n.
  const row = op & 0xf0, n = op & 15;
  const mask = row == 0xd0 ? 0xfffe : row == 0xe0 ? 0xffbf : 0x7ffe; // (with SSE2's PADDQ D4, MOVQ D6, PMULUDQ F4, PSUBQ FB)
  return ((mask >> n) & 1) != 0;
}

// Operands and result: low and high dwords.
let d0: i32 = 0, d1: i32 = 0;
let s0: i32 = 0, s1: i32 = 0;
let r0: i32 = 0, r1: i32 = 0;

/** One 64-bit half of a packed operation — the XMM forms run it on each half: (dlo, dhi) op (slo, shi). */
export let halfLo: i32 = 0, halfHi: i32 = 0;
export function packedHalf(op: i32, dlo: i32, dhi: i32, slo: i32, shi: i32): void {
  d0 = dlo; d1 = dhi; s0 = slo; s1 = shi;
  compute(op);
  halfLo = r0; halfHi = r1;
}
/** One 64-bit half of a shift by an immediate (groups 12-14: reg 2, 4, 6; op 71-73). */
export function shiftHalf(op: i32, reg: i32, count: i32, dlo: i32, dhi: i32): void {
  d0 = dlo; d1 = dhi;
  shift(reg == 2 ? SHIFT_RL : reg == 4 ? SHIFT_RA : SHIFT_LL, 16 << (op - 0x71), count);
  halfLo = r0; halfHi = r1;
}

/** Execute the MMX instruction 0F `op` (isMmxOpcode). */
export function mmxExecute(op: i32): void {
  if (opsize != (cs32 ? 4 : 2) || repPrefix != 0) { xmmInteger(op); return; } // SSE2's XMM forms: cpu/sse/integer.ts
  if (op == 0x6c || op == 0x6d || op == 0xd6) { raiseUD(); return; } // XMM-only SSE2 instructions
  if ((cr0 & CR0_EM) != 0) { raiseUD(); return; }
  if ((cr0 & CR0_TS) != 0) { raiseNoCode(NM); return; }
  if (op == 0x77) { // EMMS: every register empty; TOP as it is
    if (!checkPending()) return;
    setEmpty(0xff);
    return;
  }
  decodeModrm(); if (aborted) return;
  if (op >= 0x71 && op <= 0x73) { shiftImmediate(op); return; }
  if (!checkPending()) return;
  captureImages();
  switch (op) {
    case 0x6e: { // MOVD mm, r/m32
      const v = readRM(4); if (aborted) return;
      enter(); writeMm(modrmReg, v, 0); return;
    }
    case 0x7e: { // MOVD r/m32, mm
      writeRM(4, mmLo(modrmReg)); if (aborted) return;
      enter(); return;
    }
    case 0x7f: case 0xe7: { // MOVQ mm/m64, mm; MOVNTQ m64, mm
      const lo = mmLo(modrmReg), hi = mmHi(modrmReg);
      if (modrmMod == 3) {
        if (op == 0xe7) { raiseUD(); return; }
        enter(); writeMm(modrmRm, lo, hi); return;
      }
      if (!probeWriteV(eaSeg, eaOff, 8)) return;
      writeV(eaSeg, eaOff, 4, lo); if (aborted) return;
      writeV(eaSeg, i32(eaOff + 4), 4, hi); if (aborted) return;
      enter(); return;
    }
    case 0xc4: { // PINSRW mm, r32/m16, imm8
      const v = modrmMod == 3 ? readRM(4) : readV(eaSeg, eaOff, 2); if (aborted) return;
      const imm = fetch8(); if (aborted) return;
      d0 = mmLo(modrmReg); d1 = mmHi(modrmReg);
      r0 = d0; r1 = d1;
      const k = imm & 3, sh = (k & 1) << 4, m = ~(0xffff << sh), w = (v & 0xffff) << sh;
      if (k < 2) r0 = (r0 & m) | w; else r1 = (r1 & m) | w;
      enter(); writeMm(modrmReg, r0, r1); return;
    }
    case 0xc5: case 0xd7: { // PEXTRW r32, mm, imm8; PMOVMSKB r32, mm
      if (modrmMod != 3) { raiseUD(); return; }
      let v = 0;
      if (op == 0xc5) {
        const imm = fetch8(); if (aborted) return;
        v = lane(mmLo(modrmRm), mmHi(modrmRm), imm & 3, 16);
      } else {
        for (let k = 0; k < 8; k++) v |= (lane(mmLo(modrmRm), mmHi(modrmRm), k, 8) >> 7) << k;
      }
      setReg(4, modrmReg, v);
      enter(); return;
    }
    case 0xf7: maskMovq(); return;
    default: break;
  }
  if (op == 0x70) { // PSHUFW mm, mm/m64, imm8
    readSource(false); if (aborted) return;
    const imm = fetch8(); if (aborted) return;
    r0 = 0; r1 = 0;
    for (let k = 0; k < 4; k++) putLane(k, 16, lane(s0, s1, (imm >> (2 * k)) & 3, 16));
    enter(); writeMm(modrmReg, r0, r1);
    return;
  }
  // mm, mm/m64 (m32 for the low unpacks, which read only the half they use)
  readSource(op >= 0x60 && op <= 0x62); if (aborted) return;
  d0 = mmLo(modrmReg); d1 = mmHi(modrmReg);
  compute(op);
  enter();
  writeMm(modrmReg, r0, r1);
}

/** Every MMX instruction but EMMS: TOP = 0, every register valid (SDM Vol. 1 §9.5.1). */
export function enterMmxState(): void { setTop(0); setEmpty(0); }
function enter(): void { enterMmxState(); }

export function mmLo(i: i32): i32 { return ld32a(rawp(i)); }
export function mmHi(i: i32): i32 { return ld32a(rawp(i) + 4); }
/** An MMX write: the significand, exponent and sign all ones; the f64 slot is derived when x87 code next runs. */
export function writeMm(i: i32, lo: i32, hi: i32): void {
  const p = rawp(i);
  st32a(p, lo); st32a(p + 4, hi); st32a(RAW_SE + ((i & 7) << 2), 0xffff);
  setStale(stale | (1 << (i & 7)));
}

function readSource(half: bool): void {
  if (modrmMod == 3) { s0 = mmLo(modrmRm); s1 = mmHi(modrmRm); return; }
  s0 = readV(eaSeg, eaOff, 4); if (aborted) return;
  s1 = half ? 0 : readV(eaSeg, i32(eaOff + 4), 4); // (no wrap at 64 KiB: beyond the limit is #GP, as for x87 operands)
}

// ---- operations ----------------------------------------------------------------------------

const ADD = 0, ADDS = 1, ADDUS = 2, SUB = 3, SUBS = 4, SUBUS = 5, MULL = 6, MULH = 7, CMPEQ = 8, CMPGT = 9;
const MULHU = 10, MINU = 11, MAXU = 12, MINS = 13, MAXS = 14, AVG = 15;

function compute(op: i32): void {
  switch (op) {
    case 0x60: case 0x61: case 0x62: unpack(8 << (op - 0x60), false); return;
    case 0x68: case 0x69: case 0x6a: unpack(8 << (op - 0x68), true); return;
    case 0x63: pack(16, true); return;  // PACKSSWB
    case 0x6b: pack(32, true); return;  // PACKSSDW
    case 0x67: pack(16, false); return; // PACKUSWB
    case 0x64: case 0x65: case 0x66: lanes(CMPGT, 8 << (op - 0x64)); return;
    case 0x74: case 0x75: case 0x76: lanes(CMPEQ, 8 << (op - 0x74)); return;
    case 0x6f: r0 = s0; r1 = s1; return; // MOVQ mm, mm/m64
    case 0xdb: r0 = d0 & s0; r1 = d1 & s1; return;   // PAND
    case 0xdf: r0 = ~d0 & s0; r1 = ~d1 & s1; return; // PANDN
    case 0xeb: r0 = d0 | s0; r1 = d1 | s1; return;   // POR
    case 0xef: r0 = d0 ^ s0; r1 = d1 ^ s1; return;   // PXOR
    case 0xfc: case 0xfd: case 0xfe: lanes(ADD, 8 << (op - 0xfc)); return;
    case 0xf8: case 0xf9: case 0xfa: lanes(SUB, 8 << (op - 0xf8)); return;
    case 0xec: case 0xed: lanes(ADDS, 8 << (op - 0xec)); return;
    case 0xe8: case 0xe9: lanes(SUBS, 8 << (op - 0xe8)); return;
    case 0xdc: case 0xdd: lanes(ADDUS, 8 << (op - 0xdc)); return;
    case 0xd8: case 0xd9: lanes(SUBUS, 8 << (op - 0xd8)); return;
    case 0xd5: lanes(MULL, 16); return; // PMULLW
    case 0xe5: lanes(MULH, 16); return; // PMULHW
    case 0xe4: lanes(MULHU, 16); return; // PMULHUW
    case 0xd4: { // PADDQ (SSE2)
      const lo = i32(d0 + s0);
      r1 = i32(d1 + s1 + (u32(lo) < u32(d0) ? 1 : 0)); r0 = lo;
      return;
    }
    case 0xfb: { // PSUBQ (SSE2)
      r0 = i32(d0 - s0);
      r1 = i32(d1 - s1 - (u32(d0) < u32(s0) ? 1 : 0));
      return;
    }
    case 0xf4: // PMULUDQ (SSE2): the low dwords' unsigned 64-bit product
      r0 = mul32(d0, s0); r1 = mulhu(d0, s0);
      return;
    case 0xda: lanes(MINU, 8); return;   // PMINUB
    case 0xde: lanes(MAXU, 8); return;   // PMAXUB
    case 0xea: lanes(MINS, 16); return;  // PMINSW
    case 0xee: lanes(MAXS, 16); return;  // PMAXSW
    case 0xe0: lanes(AVG, 8); return;    // PAVGB
    case 0xe3: lanes(AVG, 16); return;   // PAVGW
    case 0xf6: { // PSADBW: the sum of the bytes' absolute differences, in the low word
      let sum = 0;
      for (let k = 0; k < 8; k++) { const x = lane(d0, d1, k, 8) - lane(s0, s1, k, 8); sum += x < 0 ? -x : x; }
      r0 = sum; r1 = 0;
      return;
    }
    case 0xf5: // PMADDWD: each dword the sum of two word products (wrapping only for 4 × −32768)
      r0 = i32(mul32(sext16(d0), sext16(s0)) + mul32(d0 >> 16, s0 >> 16));
      r1 = i32(mul32(sext16(d1), sext16(s1)) + mul32(d1 >> 16, s1 >> 16));
      return;
    // Shifts by mm/m64: the whole 64-bit count; beyond the lane width a logical shift gives 0.
    case 0xd1: case 0xd2: case 0xd3: shift(SHIFT_RL, 16 << (op - 0xd1), countOf()); return;
    case 0xe1: case 0xe2: shift(SHIFT_RA, 16 << (op - 0xe1), countOf()); return;
    case 0xf1: case 0xf2: case 0xf3: shift(SHIFT_LL, 16 << (op - 0xf1), countOf()); return;
    default: return; // (isMmxOpcode admits no other)
  }
}

function sext16(v: i32): i32 { return (v << 16) >> 16; }

/** Lane k (unsigned) of the operand (lo, hi) cut into `bits`-bit lanes. */
function lane(lo: i32, hi: i32, k: i32, bits: i32): i32 {
  const per = 32 / bits;
  const w = k < per ? lo : hi;
  if (bits == 32) return w;
  return (w >>> ((k % per) * bits)) & ((1 << bits) - 1);
}
function signed(v: i32, bits: i32): i32 { return bits == 32 ? v : (v << (32 - bits)) >> (32 - bits); }
/** Put lane k of the result (r0, r1 start at 0). */
function putLane(k: i32, bits: i32, v: i32): void {
  const per = 32 / bits;
  const x = bits == 32 ? v : (v & ((1 << bits) - 1)) << ((k % per) * bits);
  if (k < per) r0 |= x; else r1 |= x;
}
function saturateSigned(v: i32, bits: i32): i32 {
  const max = (1 << (bits - 1)) - 1, min = -(1 << (bits - 1));
  return v > max ? max : v < min ? min : v;
}
function saturateUnsigned(v: i32, bits: i32): i32 {
  const max = (1 << bits) - 1;
  return v > max ? max : v < 0 ? 0 : v;
}

/** An element-wise operation on `bits`-bit lanes of d and s. */
function lanes(kind: i32, bits: i32): void {
  r0 = 0; r1 = 0;
  const n = 64 / bits;
  for (let k = 0; k < n; k++) {
    const a = lane(d0, d1, k, bits), b = lane(s0, s1, k, bits);
    let v = 0;
    switch (kind) {
      case ADD: v = i32(a + b); break;
      case SUB: v = i32(a - b); break;
      case ADDS: v = saturateSigned(signed(a, bits) + signed(b, bits), bits); break;
      case SUBS: v = saturateSigned(signed(a, bits) - signed(b, bits), bits); break;
      case ADDUS: v = saturateUnsigned(a + b, bits); break;
      case SUBUS: v = saturateUnsigned(a - b, bits); break;
      case MULL: v = mul32(signed(a, 16), signed(b, 16)); break;
      case MULH: v = mul32(signed(a, 16), signed(b, 16)) >> 16; break;
      case CMPEQ: v = a == b ? -1 : 0; break;
      case MULHU: v = i32(u32(mul32(a, b)) >>> 16); break; // (16 × 16 bits: the product fits in 32)
      case MINU: v = a < b ? a : b; break;
      case MAXU: v = a > b ? a : b; break;
      case MINS: v = signed(a, bits) < signed(b, bits) ? a : b; break;
      case MAXS: v = signed(a, bits) > signed(b, bits) ? a : b; break;
      case AVG: v = (a + b + 1) >> 1; break;
      default: v = signed(a, bits) > signed(b, bits) ? -1 : 0; break; // CMPGT (signed)
    }
    putLane(k, bits, v);
  }
}

/** PACKSS/PACKUS: d's then s's `bits`-bit lanes, each saturated (signed) to a lane of half the width. */
function pack(bits: i32, toSigned: bool): void {
  r0 = 0; r1 = 0;
  const n = 64 / bits, half = bits >> 1;
  for (let k = 0; k < n; k++) {
    const a = signed(lane(d0, d1, k, bits), bits), b = signed(lane(s0, s1, k, bits), bits);
    putLane(k, half, toSigned ? saturateSigned(a, half) : saturateUnsigned(a, half));
    putLane(n + k, half, toSigned ? saturateSigned(b, half) : saturateUnsigned(b, half));
  }
}

/** PUNPCKL/PUNPCKH: the low (or high) halves' lanes of d and s, interleaved (d's first). */
function unpack(bits: i32, high: bool): void {
  r0 = 0; r1 = 0;
  const n = 32 / bits, from = high ? n : 0;
  for (let k = 0; k < n; k++) {
    putLane(2 * k, bits, lane(d0, d1, from + k, bits));
    putLane(2 * k + 1, bits, lane(s0, s1, from + k, bits));
  }
}

const SHIFT_RL = 0, SHIFT_RA = 1, SHIFT_LL = 2;

/** A 64-bit shift count from the source: anything from 64 up is "too large" (64). */
function countOf(): i32 { return s1 != 0 || u32(s0) > 63 ? 64 : s0; }

/** Shift d's `bits`-bit lanes (64: the whole quadword) by `count`. */
function shift(kind: i32, bits: i32, count: i32): void {
  if (count >= bits) {
    if (kind != SHIFT_RA) { r0 = 0; r1 = 0; return; }
    count = bits - 1; // arithmetic: every bit a copy of the sign
  }
  if (bits == 64) {
    if (count == 0) { r0 = d0; r1 = d1; return; }
    if (kind == SHIFT_LL) {
      if (count < 32) { r1 = (d1 << count) | (d0 >>> (32 - count)); r0 = d0 << count; }
      else { r1 = d0 << (count - 32); r0 = 0; }
    } else { // PSRLQ (there is no PSRAQ)
      if (count < 32) { r0 = (d0 >>> count) | (d1 << (32 - count)); r1 = i32(d1 >>> count); }
      else { r0 = i32(d1 >>> (count - 32)); r1 = 0; }
    }
    return;
  }
  r0 = 0; r1 = 0;
  const n = 64 / bits;
  for (let k = 0; k < n; k++) {
    const a = lane(d0, d1, k, bits);
    const v = kind == SHIFT_LL ? a << count : kind == SHIFT_RL ? i32(a >>> count) : signed(a, bits) >> count;
    putLane(k, bits, v);
  }
}

/** Groups 12-14 (0F 71-73): PSRLx /2, PSRAx /4, PSLLx /6 of an MMX register by imm8. */
function shiftImmediate(op: i32): void {
  const r = modrmReg;
  if (modrmMod != 3 || (r != 2 && r != 4 && r != 6) || (op == 0x73 && r == 4)) { raiseUD(); return; }
  const count = fetch8(); if (aborted) return;
  if (!checkPending()) return;
  captureImages();
  d0 = mmLo(modrmRm); d1 = mmHi(modrmRm);
  shift(r == 2 ? SHIFT_RL : r == 4 ? SHIFT_RA : SHIFT_LL, 16 << (op - 0x71), count);
  enter();
  writeMm(modrmRm, r0, r1);
}

/** MASKMOVQ mm1, mm2: the bytes of mm1 whose mask byte in mm2 has its top bit set, to DS:(E)DI (segment overridable). */
function maskMovq(): void {
  if (modrmMod != 3) { raiseUD(); return; }
  const lo = mmLo(modrmReg), hi = mmHi(modrmReg), mlo = mmLo(modrmRm), mhi = mmHi(modrmRm);
  const base = adsize32 ? reg32(EDI) : reg32(EDI) & 0xffff, seg = dataSeg();
  for (let k = 0; k < 8; k++) {
    if ((lane(mlo, mhi, k, 8) & 0x80) == 0) continue;
    writeV(seg, adsize32 ? i32(base + k) : (base + k) & 0xffff, 1, lane(lo, hi, k, 8)); if (aborted) return;
  }
  enter();
}
