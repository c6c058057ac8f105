// SSSE3 (CPUID.1:ECX[9], Core 2's set; SDM Vol. 2, each instruction): the three-byte opcodes
// 0F 38 00-0B, 1C-1E and 0F 3A 0F — PSHUFB, PHADD/PHSUB(S)W/D, PMADDUBSW, PSIGNB/W/D, PMULHRSW,
// PABSB/W/D, PALIGNR — each on MMX registers (no prefix) and on XMM registers (66). Unlike
// MMX's and SSE2's lane-wise operations, several work across the whole operand (byte shuffles,
// horizontal pairs, the alignment shift), so both forms run here on byte images of the operands
// in core memory: A the destination, B the source, R the result, 8 or 16 bytes each.
import { cr0, CR0_EM, CR0_TS, cs32 } from "../state";
import { aborted, raiseUD, raiseNoCode, NM } from "../fault";
import { opsize, repPrefix, decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff } from "./decode";
import { fetch8 } from "./fetch";
import { readV } from "./access";
import { ld8, st8, st16, ld32a, st32a, mul32 } from "../portable";
import { mmLo, mmHi, writeMm, enterMmxState } from "./mmx";
import { checkPending } from "./fpu/state";
import { captureImages } from "./fpu/alias";
import { xmmp, SRC, RES, XMM_STAGE, copy16, sbyte, sword, lane, putLane } from "./sse/state";
import { usable, source } from "./sse/exec";

const A: i32 = XMM_STAGE; // (FXRSTOR's staging area: never live across an instruction)
const B: i32 = SRC;
const R: i32 = RES;

/** 0F 38 `op` (or 0F 3A `op` when `map3a`) is an SSSE3 instruction. */
export function isSsse3(op: i32, map3a: bool): bool {
  if (map3a) return op == 0x0f;
  return op <= 0x0b || (op >= 0x1c && op <= 0x1e);
}

/** Execute 0F 38 `op` (`map3a` false) or 0F 3A `op` (isSsse3). */
export function ssse3Execute(op: i32, map3a: bool): void {
  if (repPrefix != 0) { raiseUD(); return; }
  const xmm = opsize != (cs32 ? 4 : 2), n = xmm ? 16 : 8;
  if (xmm) {
    if (!usable()) return;
  } else {
    if ((cr0 & CR0_EM) != 0) { raiseUD(); return; }
    if ((cr0 & CR0_TS) != 0) { raiseNoCode(NM); return; }
  }
  decodeModrm(); if (aborted) return;
  if (xmm) {
    if (!source(16, true)) return; // (B is SSE's SRC)
    copy16(A, xmmp(modrmReg));
  } else {
    if (!checkPending()) return;
    captureImages();
    const lo = modrmMod == 3 ? mmLo(modrmRm) : readV(eaSeg, eaOff, 4); if (aborted) return;
    const hi = modrmMod == 3 ? mmHi(modrmRm) : readV(eaSeg, i32(eaOff + 4), 4); if (aborted) return;
    st32a(B, lo); st32a(B + 4, hi);
    st32a(A, mmLo(modrmReg)); st32a(A + 4, mmHi(modrmReg));
  }
  if (map3a) {
    const imm = fetch8(); if (aborted) return;
    alignRight(n, imm);
  } else compute(op, n);
  if (xmm) { copy16(xmmp(modrmReg), R); return; }
  enterMmxState();
  writeMm(modrmReg, ld32a(R), ld32a(R + 4));
}

function compute(op: i32, n: i32): void {
  switch (op) {
    case 0x00: // PSHUFB: each result byte is A's byte the source byte names, or 0 when its top bit is set
      for (let i = 0; i < n; i++) { const x = ld8(B + i); st8(R + i, (x & 0x80) != 0 ? 0 : ld8(A + (x & (n - 1)))); }
      return;
    case 0x01: case 0x02: case 0x03: case 0x05: case 0x06: case 0x07: { // PHADDW/D, PHADDSW, PHSUBW/D, PHSUBSW
      const size = op == 0x02 || op == 0x06 ? 4 : 2, sub = op >= 0x05, saturate = (op & 3) == 3;
      const half = n >> 1; // the destination's pairs fill R's low half, the source's its high half
      for (let i = 0; i < half; i += size) {
        putLane(R + i, size, pair(A + 2 * i, size, sub, saturate));
        putLane(R + half + i, size, pair(B + 2 * i, size, sub, saturate));
      }
      return;
    }
    case 0x04: // PMADDUBSW: unsigned bytes of A times signed bytes of B, adjacent products added, saturated
      for (let i = 0; i < n; i += 2) {
        const s = ld8(A + i) * sbyte(B + i) + ld8(A + i + 1) * sbyte(B + i + 1);
        st16(R + i, saturate16(s));
      }
      return;
    case 0x08: case 0x09: case 0x0a: { // PSIGNB/W/D: A negated, zeroed or kept as B's element is <0, 0, >0
      const size = 1 << (op - 0x08);
      for (let i = 0; i < n; i += size) {
        const s = lane(B + i, size), a = lane(A + i, size);
        putLane(R + i, size, s < 0 ? i32(-a) : s == 0 ? 0 : a);
      }
      return;
    }
    case 0x0b: // PMULHRSW: the 32-bit product's bits 30-15, rounded (the product >> 14, plus 1, >> 1)
      for (let i = 0; i < n; i += 2) st16(R + i, ((mul32(sword(A + i), sword(B + i)) >> 14) + 1) >> 1);
      return;
    default: { // 1C-1E PABSB/W/D: B's elements' absolute values (the most negative stays as it is)
      const size = 1 << (op - 0x1c);
      for (let i = 0; i < n; i += size) { const s = lane(B + i, size); putLane(R + i, size, s < 0 ? i32(-s) : s); }
      return;
    }
  }
}

/** PALIGNR: A:B (B the low half) shifted right by `imm` bytes, the low n bytes of it; zeros shifted in. */
function alignRight(n: i32, imm: i32): void {
  for (let i = 0; i < n; i++) {
    const k = i + imm;
    st8(R + i, k < n ? ld8(B + k) : k < 2 * n ? ld8(A + k - n) : 0);
  }
}

/** The horizontal sum or difference of the two `size`-byte elements at p (signed-saturated to 16 bits when asked). */
function pair(p: i32, size: i32, sub: bool, saturate: bool): i32 {
  const a = lane(p, size), b = lane(p + size, size);
  const v = sub ? i32(a - b) : i32(a + b);
  return saturate ? saturate16(v) : v;
}

function saturate16(v: i32): i32 { return v > 0x7fff ? 0x7fff : v < -0x8000 ? -0x8000 : v; }
