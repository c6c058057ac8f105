// SSE4.1 (CPUID.1:ECX[19], Penryn's set; SDM Vol. 2, each instruction): the 66-prefixed opcodes
// of the 0F 38 and 0F 3A maps — blends, PTEST, sign/zero extension, the new multiplies, minimum
// and maximum forms, PACKUSDW, PCMPEQQ, PHMINPOSUW, MPSADBW, MOVNTDQA, the element inserts and
// extracts; ROUND and DP (floating point) are in sse/sse41fp.ts. Every one works on XMM
// registers only (no MMX form: the unprefixed opcodes are #UD). Operands are staged as in
// cpu/ssse3.ts: the destination's bytes at A, the source's at B (SSE's SRC), the result at R.
import { CF, PF, AF, ZF, SF, OF, reg32, setReg32 } from "../state";
import { aborted, raiseUD } from "../fault";
import { decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff } from "./decode";
import { fetch8 } from "./fetch";
import { readV, writeV } from "./access";
import { getFlags, setFlags } from "./flags";
import { ld8, st8, ld16, st16, ld32a, st32a, mul32, mulhs } from "../portable";
import { xmmp, SRC, RES, XMM_STAGE, el, setEl, copy16, sbyte, sword, putLane } from "./sse/state";
import { usable, source } from "./sse/exec";
import { roundExecute, dotProduct } from "./sse/sse41fp";

const A: i32 = XMM_STAGE; // (FXRSTOR's staging area: never live across an instruction)
const B: i32 = SRC;
const R: i32 = RES;

/** 66 0F 38 `op` (or 66 0F 3A `op` when `map3a`) is an SSE4.1 instruction. */
export function isSse41(op: i32, map3a: bool): bool {
  if (map3a) return (op >= 0x08 && op <= 0x0e) || (op >= 0x14 && op <= 0x17) || (op >= 0x20 && op <= 0x22) || (op >= 0x40 && op <= 0x42);
  return op == 0x10 || op == 0x14 || op == 0x15 || op == 0x17 || (op >= 0x20 && op <= 0x25) || (op >= 0x28 && op <= 0x2b) ||
    (op >= 0x30 && op <= 0x35) || (op >= 0x38 && op <= 0x41);
}

/** Execute 66 0F 38 `op` or 66 0F 3A `op` (isSse41; the prefixes were checked by the caller). */
export function sse41Execute(op: i32, map3a: bool): void {
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  if (map3a) { withImmediate(op); return; }
  if (op >= 0x20 && op <= 0x35 && (op & 0x0f) <= 5) { extend(op); return; }
  if (op == 0x2a) { // MOVNTDQA xmm, m128: an aligned load (the hint is for write-combining memory)
    if (modrmMod == 3) { raiseUD(); return; }
    if (!source(16, true)) return;
    copy16(xmmp(modrmReg), B);
    return;
  }
  if (!source(16, true)) return;
  const d = xmmp(modrmReg);
  copy16(A, d);
  if (op == 0x17) { ptest(); return; }
  compute(op);
  copy16(d, R);
}

function compute(op: i32): void {
  const mask = xmmp(0); // the variable blends' implicit operand
  switch (op) {
    case 0x10: // PBLENDVB: the source's byte where XMM0's byte has its top bit set
      for (let i = 0; i < 16; i++) st8(R + i, ld8((ld8(mask + i) & 0x80) != 0 ? B + i : A + i));
      return;
    case 0x14: case 0x15: { // BLENDVPS / BLENDVPD: by the sign of XMM0's dword / qword
      const size = op == 0x14 ? 4 : 8;
      for (let i = 0; i < 16; i += size) {
        const from = ld32a(mask + i + size - 4) < 0 ? B : A;
        for (let k = 0; k < size; k += 4) st32a(R + i + k, ld32a(from + i + k));
      }
      return;
    }
    case 0x28: // PMULDQ: the signed products of dwords 0 and 2, as qwords
      for (let i = 0; i < 16; i += 8) {
        const a = ld32a(A + i), b = ld32a(B + i);
        st32a(R + i, mul32(a, b)); st32a(R + i + 4, mulhs(a, b));
      }
      return;
    case 0x29: // PCMPEQQ
      for (let i = 0; i < 16; i += 8) {
        const eq = ld32a(A + i) == ld32a(B + i) && ld32a(A + i + 4) == ld32a(B + i + 4) ? -1 : 0;
        st32a(R + i, eq); st32a(R + i + 4, eq);
      }
      return;
    case 0x2b: // PACKUSDW: the destination's then the source's signed dwords, saturated to unsigned words
      for (let i = 0; i < 4; i++) {
        st16(R + 2 * i, saturateU16(ld32a(A + 4 * i)));
        st16(R + 8 + 2 * i, saturateU16(ld32a(B + 4 * i)));
      }
      return;
    case 0x40: // PMULLD: the low dwords of the products
      for (let i = 0; i < 16; i += 4) st32a(R + i, mul32(ld32a(A + i), ld32a(B + i)));
      return;
    case 0x41: { // PHMINPOSUW: the source's smallest unsigned word (the first of equals) and its index
      let min = ld16(B), at = 0;
      for (let i = 1; i < 8; i++) { const w = ld16(B + 2 * i); if (w < min) { min = w; at = i; } }
      for (let i = 0; i < 16; i += 4) st32a(R + i, 0);
      st32a(R, min | (at << 16));
      return;
    }
    default: { // 38-3F PMINSB PMINSD PMINUW PMINUD PMAXSB PMAXSD PMAXUW PMAXUD
      const max = op >= 0x3c, kind = op & 3; // 0 signed bytes, 1 signed dwords, 2 unsigned words, 3 unsigned dwords
      const size = kind == 0 ? 1 : kind == 2 ? 2 : 4;
      for (let i = 0; i < 16; i += size) {
        const a = element(A + i, kind), b = element(B + i, kind);
        const aWins = kind == 3 ? (max ? u32(a) > u32(b) : u32(a) < u32(b)) : (max ? a > b : a < b);
        putLane(R + i, size, aWins ? a : b);
      }
      return;
    }
  }
}

/** PTEST: ZF when the source AND the destination is zero, CF when the source AND NOT the destination is; OF SF AF PF cleared. */
function ptest(): void {
  let and = 0, andNot = 0;
  for (let i = 0; i < 16; i += 4) { const s = ld32a(B + i), d = ld32a(A + i); and |= s & d; andNot |= s & ~d; }
  setFlags((getFlags() & ~(CF | PF | AF | ZF | SF | OF)) | (and == 0 ? ZF : 0) | (andNot == 0 ? CF : 0));
}

/**
 * PMOVSX (20-25) / PMOVZX (30-35) xmm, xmm/m: the source's low elements widened — BW BD BQ WD WQ
 * DQ; a memory source is only as wide as those elements (m64, m32 or m16) and need not be aligned.
 */
function extend(op: i32): void {
  const k = op & 0x0f, signed = op < 0x30;
  const from = k < 3 ? 1 : k < 5 ? 2 : 4;
  const to = k == 0 || k == 3 ? 2 * from : k == 1 || k == 4 ? 4 * from : 8;
  const count = to == 2 ? 8 : to == 4 ? 4 : 2;
  if (!source(count * from, false)) return;
  for (let i = 0; i < count; i++) {
    const p = B + i * from;
    const v = from == 1 ? (signed ? sbyte(p) : ld8(p)) : from == 2 ? (signed ? sword(p) : ld16(p)) : ld32a(p);
    putLane(R + i * to, to, v);
    if (to == 8) st32a(R + i * 8 + 4, signed ? v >> 31 : 0);
  }
  copy16(xmmp(modrmReg), R);
}

/** The 0F 3A instructions: an imm8 after the ModRM bytes. */
function withImmediate(op: i32): void {
  if (op >= 0x14 && op <= 0x17) { extract(op); return; }
  if (op == 0x20 || op == 0x22) { insertInteger(op == 0x20); return; }
  if (op == 0x21) { insertps(); return; }
  if (op >= 0x08 && op <= 0x0b) { roundExecute(op); return; }
  if (!source(16, true)) return;
  const imm = fetch8(); if (aborted) return;
  if (op == 0x40 || op == 0x41) { dotProduct(op == 0x40, imm); return; }
  const d = xmmp(modrmReg);
  copy16(A, d);
  switch (op) {
    case 0x0c: case 0x0d: case 0x0e: { // BLENDPS / BLENDPD / PBLENDW: the source's elements imm8 selects
      const shift = op == 0x0c ? 2 : op == 0x0d ? 3 : 1; // log2 of the element size
      for (let i = 0; i < 16; i += 2) st16(R + i, ld16(((imm >> (i >> shift)) & 1) != 0 ? B + i : A + i));
      break;
    }
    default: { // 42 MPSADBW: eight sums of absolute differences, the destination's four-byte window sliding past the source's
      const a = A + (imm & 4), b = B + ((imm & 3) << 2);
      for (let i = 0; i < 8; i++) {
        let sum = 0;
        for (let j = 0; j < 4; j++) { const x = ld8(a + i + j) - ld8(b + j); sum += x < 0 ? -x : x; }
        st16(R + 2 * i, sum);
      }
      break;
    }
  }
  copy16(d, R);
}

/** PEXTRB (14), PEXTRW (15), PEXTRD (16), EXTRACTPS (17) r32/m, xmm, imm8: a register destination is zero-extended. */
function extract(op: i32): void {
  const imm = fetch8(); if (aborted) return;
  const size = op == 0x14 ? 1 : op == 0x15 ? 2 : 4;
  const p = xmmp(modrmReg) + (size == 1 ? imm & 15 : size == 2 ? (imm & 7) << 1 : (imm & 3) << 2);
  const v = size == 1 ? ld8(p) : size == 2 ? ld16(p) : ld32a(p);
  if (modrmMod == 3) setReg32(modrmRm, v);
  else writeV(eaSeg, eaOff, size, v);
}

/** PINSRB (20) / PINSRD (22) xmm, r32/m8 or r/m32, imm8. */
function insertInteger(byte: bool): void {
  const v = modrmMod == 3 ? reg32(modrmRm) : readV(eaSeg, eaOff, byte ? 1 : 4); if (aborted) return;
  const imm = fetch8(); if (aborted) return;
  const d = xmmp(modrmReg);
  if (byte) st8(d + (imm & 15), v); else setEl(d, imm & 3, v);
}

/**
 * INSERTPS xmm, xmm/m32, imm8: the source element imm8[7:6] (a memory source is the m32 itself)
 * into element imm8[5:4], then the elements imm8[3:0] names zeroed.
 */
function insertps(): void {
  const v = modrmMod == 3 ? 0 : readV(eaSeg, eaOff, 4); if (aborted) return;
  const imm = fetch8(); if (aborted) return;
  const d = xmmp(modrmReg);
  setEl(d, (imm >> 4) & 3, modrmMod == 3 ? el(xmmp(modrmRm), (imm >> 6) & 3) : v);
  for (let k = 0; k < 4; k++) if (((imm >> k) & 1) != 0) setEl(d, k, 0);
}

/** The element at p: signed byte, signed dword, unsigned word or dword (the min/max kinds). */
function element(p: i32, kind: i32): i32 {
  return kind == 0 ? sbyte(p) : kind == 2 ? ld16(p) : ld32a(p);
}
function saturateU16(v: i32): i32 { return v < 0 ? 0 : v > 0xffff ? 0xffff : v; }
