// SSE (CPUID.1:EDX.SSE, a Pentium III's set; SDM Vol. 1 ch. 10, each instruction in Vol. 2):
// the XMM instructions — moves, packed and scalar single-precision arithmetic, comparisons,
// logic, shuffles, conversions, MXCSR. Its additions to MMX live in cpu/mmx.ts; SSE2's 66- and
// F2-prefixed forms in double.ts (floating point) and integer.ts; F3 forms of packed-only
// instructions are #UD.
import { cr0, CR0_EM, CR0_TS, cr4, CR4_OSFXSR, CR4_OSXMMEXCPT, cs32, setReg, segBase, CF, PF, AF, ZF, SF, OF } from "../../state";
import { aborted, raise, raiseUD, raiseNoCode, NM, GP, XM } from "../../fault";
import { opsize, repPrefix, decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff, readRM } from "../decode";
import { fetch8 } from "../fetch";
import { readV, writeV, probeWriteV } from "../access";
import { getFlags, setFlags } from "../flags";
import { ld32a, st32a } from "../../portable";
import { checkPending } from "../fpu/state";
import { captureImages } from "../fpu/alias";
import { mmLo, mmHi, writeMm, enterMmxState } from "../mmx";
import { isDoubleForm, sse2Double } from "./double";
import { xmmp, SRC, RES, el, setEl, copy16, mxcsr, setMxcsr, unmasked, MXCSR_MASK, flags, clearFlags } from "./state";
import {
  arith, compare, compareFlags, fromInt, toInt,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MIN, OP_MAX, OP_SQRT, OP_RCP, OP_RSQRT,
} from "./float32";

/** 0F xx opcodes of SSE's XMM instructions (group 15's LDMXCSR/STMXCSR are reached through sseMxcsr). */
export function isSseOpcode(op: i32): bool {
  return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x5f) ||
    op == 0xc2 || op == 0xc6 || op == 0xe6;
}

/** #UD without OSFXSR (or with CR0.EM), #NM with CR0.TS: false when one was raised. */
export function usable(): bool {
  if ((cr0 & CR0_EM) != 0 || (cr4 & CR4_OSFXSR) == 0) { raiseUD(); return false; }
  if ((cr0 & CR0_TS) != 0) { raiseNoCode(NM); return false; }
  return true;
}

/** Execute 0F `op` (isSseOpcode). */
export function sseExecute(op: i32): void {
  const scalar = repPrefix == 0xf3;
  if (isDoubleForm(op)) { sse2Double(op); return; } // cpu/sse/double.ts (SSE2)
  if (opsize != (cs32 ? 4 : 2) || repPrefix == 0xf2 || (scalar && !hasScalarForm(op))) { raiseUD(); return; } // (not SSE2's either: SSE3's)
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  const reg = modrmReg, mem = modrmMod != 3;
  switch (op) {
    case 0x10: // MOVUPS / MOVSS xmm, xmm/m
      if (scalar) {
        if (!mem) { setEl(xmmp(reg), 0, el(xmmp(modrmRm), 0)); return; }
        const v = readV(eaSeg, eaOff, 4); if (aborted) return;
        const d = xmmp(reg); setEl(d, 0, v); setEl(d, 1, 0); setEl(d, 2, 0); setEl(d, 3, 0);
        return;
      }
      if (!source(16, false)) return;
      copy16(xmmp(reg), SRC); return;
    case 0x28: if (!source(16, true)) return; copy16(xmmp(reg), SRC); return; // MOVAPS
    case 0x11: // MOVUPS / MOVSS xmm/m, xmm
      if (scalar) {
        if (!mem) { setEl(xmmp(modrmRm), 0, el(xmmp(reg), 0)); return; }
        writeV(eaSeg, eaOff, 4, el(xmmp(reg), 0)); return;
      }
      store(16, false, xmmp(reg)); return;
    case 0x29: store(16, true, xmmp(reg)); return; // MOVAPS
    case 0x2b: if (!mem) { raiseUD(); return; } store(16, true, xmmp(reg)); return; // MOVNTPS
    case 0x12: case 0x16: { // MOVLPS/MOVHPS xmm, m64; MOVHLPS/MOVLHPS xmm, xmm
      const d = xmmp(reg), high = op == 0x16 ? 8 : 0;
      if (mem) {
        const lo = readV(eaSeg, eaOff, 4); if (aborted) return;
        const hi = readV(eaSeg, i32(eaOff + 4), 4); if (aborted) return;
        st32a(d + high, lo); st32a(d + high + 4, hi);
        return;
      }
      const s = xmmp(modrmRm), from = op == 0x12 ? 8 : 0; // MOVHLPS: its high half; MOVLHPS: its low half
      const lo = ld32a(s + from), hi = ld32a(s + from + 4);
      st32a(d + high, lo); st32a(d + high + 4, hi);
      return;
    }
    case 0x13: case 0x17: { // MOVLPS/MOVHPS m64, xmm
      if (!mem) { raiseUD(); return; }
      const s = xmmp(reg) + (op == 0x17 ? 8 : 0);
      if (!probeWriteV(eaSeg, eaOff, 8)) return;
      writeV(eaSeg, eaOff, 4, ld32a(s)); if (aborted) return;
      writeV(eaSeg, i32(eaOff + 4), 4, ld32a(s + 4));
      return;
    }
    case 0x14: case 0x15: { // UNPCKLPS / UNPCKHPS
      if (!source(16, true)) return;
      const d = xmmp(reg), k = op == 0x15 ? 2 : 0;
      const a0 = el(d, k), a1 = el(d, k + 1), b0 = el(SRC, k), b1 = el(SRC, k + 1);
      setEl(d, 0, a0); setEl(d, 1, b0); setEl(d, 2, a1); setEl(d, 3, b1);
      return;
    }
    case 0xc6: { // SHUFPS
      if (!source(16, true)) return;
      const imm = fetch8(); if (aborted) return;
      const d = xmmp(reg);
      setEl(RES, 0, el(d, imm & 3)); setEl(RES, 1, el(d, (imm >> 2) & 3));
      setEl(RES, 2, el(SRC, (imm >> 4) & 3)); setEl(RES, 3, el(SRC, (imm >> 6) & 3));
      copy16(d, RES);
      return;
    }
    case 0x50: { // MOVMSKPS r32, xmm
      if (mem) { raiseUD(); return; }
      const s = xmmp(modrmRm);
      setReg(4, reg, ((el(s, 0) >>> 31) | ((el(s, 1) >>> 31) << 1) | ((el(s, 2) >>> 31) << 2) | ((el(s, 3) >>> 31) << 3)));
      return;
    }
    case 0x54: case 0x55: case 0x56: case 0x57: bitwise(op, xmmp(reg)); return; // ANDPS ANDNPS ORPS XORPS
    case 0x2e: case 0x2f: { // UCOMISS / COMISS
      if (!source(4, false)) return;
      clearFlags();
      const r = compareFlags(el(xmmp(reg), 0), el(SRC, 0), op == 0x2f);
      if (!commitFlags()) return;
      setComparisonFlags(r);
      return;
    }
    case 0xc2: { // CMPPS / CMPSS
      if (!source(scalar ? 4 : 16, !scalar)) return;
      const pred = fetch8(); if (aborted) return;
      elementwise(-1 - (pred & 7), reg, scalar);
      return;
    }
    case 0x2a: { // CVTPI2PS xmm, mm/m64 / CVTSI2SS xmm, r/m32
      clearFlags();
      const d = xmmp(reg);
      copy16(RES, d);
      if (scalar) {
        const v = readRM(4); if (aborted) return;
        setEl(RES, 0, fromInt(v));
      } else {
        if (!mem && !mmxOperands()) return;
        const lo = mem ? readV(eaSeg, eaOff, 4) : mmLo(modrmRm); if (aborted) return;
        const hi = mem ? readV(eaSeg, i32(eaOff + 4), 4) : mmHi(modrmRm); if (aborted) return;
        setEl(RES, 0, fromInt(lo)); setEl(RES, 1, fromInt(hi));
      }
      if (!commitFlags()) return;
      if (!scalar && !mem) enterMmxState();
      copy16(d, RES);
      return;
    }
    case 0x2c: case 0x2d: { // CVT(T)PS2PI mm, xmm/m64 / CVT(T)SS2SI r32, xmm/m32
      const truncate = op == 0x2c;
      if (!scalar && !mmxOperands()) return;
      if (!source(scalar ? 4 : 8, false)) return;
      clearFlags();
      if (scalar) {
        const v = toInt(el(SRC, 0), truncate);
        if (!commitFlags()) return;
        setReg(4, reg, v);
        return;
      }
      const lo = toInt(el(SRC, 0), truncate), hi = toInt(el(SRC, 1), truncate);
      if (!commitFlags()) return;
      enterMmxState();
      writeMm(reg, lo, hi);
      return;
    }
    case 0x51: elementwiseSource(OP_SQRT, reg, scalar); return;
    case 0x52: elementwiseSource(OP_RSQRT, reg, scalar); return;
    case 0x53: elementwiseSource(OP_RCP, reg, scalar); return;
    case 0x58: elementwiseSource(OP_ADD, reg, scalar); return;
    case 0x59: elementwiseSource(OP_MUL, reg, scalar); return;
    case 0x5c: elementwiseSource(OP_SUB, reg, scalar); return;
    case 0x5d: elementwiseSource(OP_MIN, reg, scalar); return;
    case 0x5e: elementwiseSource(OP_DIV, reg, scalar); return;
    case 0x5f: elementwiseSource(OP_MAX, reg, scalar); return;
    default: raiseUD(); return;
  }
}

/** AND/ANDN/OR/XOR (0F 54-57) of the 128 bits at d with the source: the PS and PD forms alike. */
export function bitwise(op: i32, d: i32): void {
  if (!source(16, true)) return;
  for (let k = 0; k < 4; k++) {
    const a = el(d, k), b = el(SRC, k);
    setEl(d, k, op == 0x54 ? a & b : op == 0x55 ? ~a & b : op == 0x56 ? a | b : a ^ b);
  }
}
/** COMIS/UCOMIS: ZF PF CF from the comparison (bits 2, 1, 0 of r), OF SF AF cleared. */
export function setComparisonFlags(r: i32): void {
  setFlags((getFlags() & ~(CF | PF | AF | ZF | SF | OF)) | ((r & 4) != 0 ? ZF : 0) | ((r & 2) != 0 ? PF : 0) | ((r & 1) != 0 ? CF : 0));
}

/** Instructions that have an F3 (scalar) form in SSE. */
function hasScalarForm(op: i32): bool {
  return op == 0x10 || op == 0x11 || op == 0x2a || op == 0x2c || op == 0x2d || op == 0xc2 ||
    op == 0x51 || op == 0x52 || op == 0x53 || op == 0x58 || op == 0x59 || (op >= 0x5c && op <= 0x5f);
}

/**
 * The ModRM source into SRC: an XMM register, or `bytes` of memory (2, 4, 8 or 16; 16 with
 * `aligned`: a misaligned operand is #GP(0), whatever AC says). False when it faulted.
 */
export function source(bytes: i32, aligned: bool): bool {
  if (modrmMod == 3) { copy16(SRC, xmmp(modrmRm)); return true; }
  if (aligned && (i32(segBase(eaSeg) + eaOff) & 15) != 0) { raise(GP, 0); return false; }
  for (let k = 0; k < bytes; k += 4) {
    const v = readV(eaSeg, i32(eaOff + k), bytes < 4 ? bytes : 4); if (aborted) return false;
    st32a(SRC + k, v);
  }
  return true;
}
/** The 16 bytes at `from` to the ModRM destination (an XMM register or memory). */
export function store(bytes: i32, aligned: bool, from: i32): void {
  if (modrmMod == 3) { copy16(xmmp(modrmRm), from); return; }
  if (aligned && (i32(segBase(eaSeg) + eaOff) & 15) != 0) { raise(GP, 0); return; }
  if (!probeWriteV(eaSeg, eaOff, bytes)) return;
  for (let k = 0; k < bytes; k += 4) { writeV(eaSeg, i32(eaOff + k), 4, ld32a(from + k)); if (aborted) return; }
}

function elementwiseSource(fop: i32, reg: i32, scalar: bool): void {
  if (!source(scalar ? 4 : 16, !scalar)) return;
  elementwise(fop, reg, scalar);
}
/** dest[k] = dest[k] op SRC[k] for every element (element 0 only when scalar); op < 0: compare predicate −1 − op. */
function elementwise(fop: i32, reg: i32, scalar: bool): void {
  const d = xmmp(reg);
  copy16(RES, d);
  clearFlags();
  const n = scalar ? 1 : 4;
  for (let k = 0; k < n; k++) {
    const a = el(d, k), b = el(SRC, k);
    setEl(RES, k, fop < 0 ? compare(-1 - fop, a, b) : arith(fop, a, b));
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}

/**
 * The elements' exception flags into MXCSR; an unmasked one is #XM (#UD without
 * CR4.OSXMMEXCPT) and nothing is written. False then.
 */
export function commitFlags(): bool {
  setMxcsr(mxcsr | flags);
  if (unmasked(flags) == 0) return true;
  if ((cr4 & CR4_OSXMMEXCPT) != 0) raiseNoCode(XM); else raiseUD();
  return false;
}

/** CVTPI2PS/CVTPS2PI with an MMX register: the x87's pending exceptions first, and every register's image (cpu/mmx.ts). */
export function mmxOperands(): bool {
  if (!checkPending()) return false;
  captureImages();
  return true;
}

/** LDMXCSR/STMXCSR m32 (0F AE /2, /3): reserved bits set in the loaded value are #GP(0). */
export function sseMxcsr(load: bool): void {
  if (opsize != (cs32 ? 4 : 2) || repPrefix != 0) { raiseUD(); return; }
  if (!usable()) return;
  if (load) {
    const v = readV(eaSeg, eaOff, 4); if (aborted) return;
    if ((v & ~MXCSR_MASK) != 0) { raise(GP, 0); return; }
    setMxcsr(v);
    return;
  }
  writeV(eaSeg, eaOff, 4, mxcsr);
}
