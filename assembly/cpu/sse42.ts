// SSE4.2 (CPUID.1:ECX[20], Nehalem's set; SDM Vol. 2, each instruction): PCMPGTQ (66 0F 38 37),
// CRC32 (F2 0F 38 F0/F1, a general-purpose instruction) and the string compares PCMPESTRI,
// PCMPESTRM, PCMPISTRI, PCMPISTRM (66 0F 3A 60-63). POPCNT has its own CPUID bit and lives with
// the other 0F opcodes in cpu/exec.ts.
import { CF, PF, AF, ZF, SF, OF, EAX, ECX, EDX, reg32, setReg32 } from "../state";
import { aborted } from "../fault";
import { opsize, decodeModrm, modrmReg, readRM } from "./decode";
import { fetch8 } from "./fetch";
import { getFlags, setFlags } from "./flags";
import { ld8, ld16, ld32a, st32a, st8, st16, clz32, ctz32 } from "../portable";
import { xmmp, SRC, RES, XMM_STAGE, copy16, sbyte, sword } from "./sse/state";
import { usable, source } from "./sse/exec";

/** 66 0F 38 `op` (or 66 0F 3A `op` when `map3a`) is an SSE4.2 XMM instruction. */
export function isSse42(op: i32, map3a: bool): bool {
  return map3a ? op >= 0x60 && op <= 0x63 : op == 0x37;
}

/** Execute 66 0F 38 37 (PCMPGTQ) or 66 0F 3A 60-63 (isSse42). */
export function sse42Execute(op: i32, map3a: bool): void {
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  if (map3a) { stringCompare(op); return; }
  if (!source(16, true)) return; // PCMPGTQ: signed qwords, all ones where the destination's is greater
  const d = xmmp(modrmReg);
  for (let i = 0; i < 16; i += 8) {
    const ah = ld32a(d + i + 4), bh = ld32a(SRC + i + 4);
    const gt = ah > bh || (ah == bh && u32(ld32a(d + i)) > u32(ld32a(SRC + i))) ? -1 : 0;
    st32a(d + i, gt); st32a(d + i + 4, gt);
  }
}

/**
 * CRC32 r32, r/m8 (F2 0F 38 F0) or r/m16/32 (F1): the destination is the running CRC-32C
 * (Castagnoli, reflected polynomial 82F63B78h) with the source's bytes folded in, low byte
 * first; no inversion before or after. EFLAGS are untouched.
 */
export function crc32(op: i32): void {
  decodeModrm(); if (aborted) return;
  const size = op == 0xf0 ? 1 : opsize;
  const v = readRM(size); if (aborted) return;
  let crc = reg32(modrmReg);
  for (let k = 0; k < size; k++) {
    crc ^= (v >>> (8 * k)) & 0xff;
    for (let b = 0; b < 8; b++) crc = (crc >>> 1) ^ (i32(0x82f63b78) & -(crc & 1));
  }
  setReg32(modrmReg, crc);
}

// ---- PCMPxSTRx ---------------------------------------------------------------------------------

/**
 * PCMPESTRM (60), PCMPESTRI (61), PCMPISTRM (62), PCMPISTRI (63) xmm1, xmm2/m128, imm8 (SDM
 * §4.1 of Vol. 2B): imm8[1:0] the elements (unsigned/signed bytes/words), [3:2] the aggregation
 * (equal any, ranges, equal each, equal ordered), [5:4] the polarity, [6] the output (the
 * highest index instead of the lowest; a byte/word mask instead of a bit mask). The lengths are
 * EAX and EDX (explicit: their absolute values, at most the element count) or up to each
 * operand's first zero element (implicit). The memory operand need not be aligned.
 */
function stringCompare(op: i32): void {
  if (!source(16, false)) return;
  const imm = fetch8(); if (aborted) return;
  const A = XMM_STAGE;
  copy16(A, xmmp(modrmReg));
  const words = (imm & 1) != 0, signed = (imm & 2) != 0, n = words ? 8 : 16;
  const explicit = op <= 0x61;
  const len1 = explicit ? explicitLength(reg32(EAX), n) : implicitLength(A, words, n);
  const len2 = explicit ? explicitLength(reg32(EDX), n) : implicitLength(SRC, words, n);
  let res1 = 0;
  const agg = (imm >> 2) & 3;
  for (let j = 0; j < n; j++) { // j: an element of the second operand (the text)
    let bit = false;
    if (agg == 0) { // equal any: the text's element j is one of the first operand's
      for (let i = 0; i < len1 && !bit; i++) bit = j < len2 && elt(A, i, words, signed) == elt(SRC, j, words, signed);
    } else if (agg == 1) { // ranges: within one of the first operand's [low, high] pairs
      for (let i = 0; i + 1 < len1 && !bit; i += 2) {
        const x = elt(SRC, j, words, signed);
        bit = j < len2 && elt(A, i, words, signed) <= x && x <= elt(A, i + 1, words, signed);
      }
    } else if (agg == 2) { // equal each: element j equal in both (both past their ends counts as equal)
      bit = j < len1 && j < len2 ? elt(A, j, words, signed) == elt(SRC, j, words, signed) : j >= len1 && j >= len2;
    } else { // equal ordered: the first operand found in the text at j (it may run past the text's last element)
      bit = true;
      for (let i = 0; j + i < n && bit; i++) {
        if (i >= len1) break; // the needle ended: a match
        bit = j + i < len2 && elt(A, i, words, signed) == elt(SRC, j + i, words, signed);
      }
    }
    if (bit) res1 |= 1 << j;
  }
  const all = (1 << n) - 1, polarity = (imm >> 4) & 3;
  const res2 = polarity == 1 ? res1 ^ all : polarity == 3 ? res1 ^ ((1 << len2) - 1) : res1;
  setFlags((getFlags() & ~(CF | PF | AF | ZF | SF | OF)) | (res2 != 0 ? CF : 0) | (len2 < n ? ZF : 0) |
    (len1 < n ? SF : 0) | ((res2 & 1) != 0 ? OF : 0));
  if ((op & 1) != 0) { // the index: of the lowest or highest set bit, or the element count when none is
    setReg32(ECX, res2 == 0 ? n : (imm & 0x40) != 0 ? 31 - clz32(res2) : ctz32(res2));
    return;
  }
  const x0 = xmmp(0); // the mask, into XMM0
  if ((imm & 0x40) == 0) { st32a(RES, res2); st32a(RES + 4, 0); st32a(RES + 8, 0); st32a(RES + 12, 0); }
  else for (let j = 0; j < n; j++) {
    const v = ((res2 >> j) & 1) != 0 ? 0xffff : 0;
    if (words) st16(RES + 2 * j, v); else st8(RES + j, v);
  }
  copy16(x0, RES);
}

function explicitLength(v: i32, n: i32): i32 {
  const a = v < 0 ? -v : v;
  return a < 0 || a > n ? n : a; // (-2^31 stays negative)
}
function implicitLength(p: i32, words: bool, n: i32): i32 {
  for (let i = 0; i < n; i++) if ((words ? ld16(p + 2 * i) : ld8(p + i)) == 0) return i;
  return n;
}
function elt(p: i32, i: i32, words: bool, signed: bool): i32 {
  if (words) return signed ? sword(p + 2 * i) : ld16(p + 2 * i);
  return signed ? sbyte(p + i) : ld8(p + i);
}
