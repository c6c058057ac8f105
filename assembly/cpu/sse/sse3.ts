// SSE3 (CPUID.1:ECX[0], Prescott's set; SDM Vol. 2, each instruction): ADDSUBPS/PD, HADDPS/PD,
// HSUBPS/PD, MOVSLDUP, MOVSHDUP, MOVDDUP and LDDQU. Its x87 instruction, FISTTP, is in
// cpu/fpu (ops.ts storeInt's chop); MONITOR/MWAIT are not offered (CPUID.1:ECX[3] clear) and
// stay #UD. The arithmetic is SSE's and SSE2's, element by element (float32.ts, float64.ts).
import { cs32 } from "../../state";
import { aborted, raiseUD } from "../../fault";
import { opsize, repPrefix, decodeModrm, modrmMod, modrmReg } from "../decode";
import { xmmp, SRC, RES, el, setEl, copy16, clearFlags } from "./state";
import { usable, source, commitFlags } from "./exec";
import { arith, OP_ADD, OP_SUB } from "./float32";
import { arith64, resHi, resLo, OP_ADD as OP_ADD64, OP_SUB as OP_SUB64 } from "./float64";

/** Is 0F `op` with the current prefixes an SSE3 instruction? (Checked before SSE's and SSE2's forms of the same opcodes.) */
export function isSse3Form(op: i32): bool {
  const p66 = opsize != (cs32 ? 4 : 2), f2 = repPrefix == 0xf2, f3 = repPrefix == 0xf3;
  if (p66 && repPrefix != 0) return false;
  switch (op) {
    case 0x12: return f2 || f3;                   // MOVDDUP, MOVSLDUP
    case 0x16: return f3;                         // MOVSHDUP
    case 0x7c: case 0x7d: case 0xd0: return p66 || f2; // HADDPx, HSUBPx, ADDSUBPx
    case 0xf0: return f2;                         // LDDQU
    default: return false;
  }
}

/** Execute an SSE3 instruction (isSse3Form). */
export function sse3Execute(op: i32): void {
  const double = opsize != (cs32 ? 4 : 2), f3 = repPrefix == 0xf3;
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  const d = xmmp(modrmReg);
  switch (op) {
    case 0x12: case 0x16: { // MOVSLDUP / MOVSHDUP xmm, xmm/m128 (F3); MOVDDUP xmm, xmm/m64 (F2)
      if (!f3) {
        if (!source(8, false)) return;
        setEl(RES, 0, el(SRC, 0)); setEl(RES, 1, el(SRC, 1)); setEl(RES, 2, el(SRC, 0)); setEl(RES, 3, el(SRC, 1));
      } else {
        if (!source(16, true)) return;
        const k = op == 0x16 ? 1 : 0; // the odd elements (SHDUP) or the even ones (SLDUP), each twice
        setEl(RES, 0, el(SRC, k)); setEl(RES, 1, el(SRC, k)); setEl(RES, 2, el(SRC, k + 2)); setEl(RES, 3, el(SRC, k + 2));
      }
      copy16(d, RES);
      return;
    }
    case 0xf0: // LDDQU xmm, m128: an unaligned load
      if (modrmMod == 3) { raiseUD(); return; }
      if (!source(16, false)) return;
      copy16(d, SRC);
      return;
    default: break;
  }
  // ADDSUB (D0): even elements subtract, odd ones add. HADD/HSUB (7C/7D): adjacent elements of the
  // destination, then of the source, added or subtracted (the first of each pair minus the second).
  if (!source(16, true)) return;
  clearFlags();
  if (!double) {
    if (op == 0xd0) {
      for (let k = 0; k < 4; k++) setEl(RES, k, arith((k & 1) != 0 ? OP_ADD : OP_SUB, el(d, k), el(SRC, k)));
    } else {
      const fop = op == 0x7c ? OP_ADD : OP_SUB;
      for (let k = 0; k < 4; k++) {
        const from = k < 2 ? d : SRC, i = (k & 1) << 1;
        setEl(RES, k, arith(fop, el(from, i), el(from, i + 1)));
      }
    }
  } else {
    for (let k = 0; k < 2; k++) {
      if (op == 0xd0) arith64(k != 0 ? OP_ADD64 : OP_SUB64, el(d, 2 * k + 1), el(d, 2 * k), el(SRC, 2 * k + 1), el(SRC, 2 * k));
      else {
        const from = k == 0 ? d : SRC;
        arith64(op == 0x7c ? OP_ADD64 : OP_SUB64, el(from, 1), el(from, 0), el(from, 3), el(from, 2));
      }
      setEl(RES, 2 * k, resLo); setEl(RES, 2 * k + 1, resHi);
    }
  }
  if (!commitFlags()) return;
  copy16(d, RES);
}
