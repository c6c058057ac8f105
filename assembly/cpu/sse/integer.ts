// SSE2's 128-bit integer instructions: the 66-prefixed forms of the
// MMX opcodes on XMM registers — each 64-bit half through cpu/mmx.ts's lane code, the packs and
// unpacks by halves — and SSE2's own: MOVD/MOVQ/MOVDQA/MOVDQU, PSHUFD/PSHUFHW/PSHUFLW,
// PSLLDQ/PSRLDQ, PUNPCKLQDQ/PUNPCKHQDQ, MOVQ2DQ/MOVDQ2Q, PEXTRW/PINSRW/PMOVMSKB, MOVNTDQ,
// MASKMOVDQU. No x87 state is touched (except by MOVQ2DQ/MOVDQ2Q, which read or write an MMX register).
import { cs32, setReg, reg32, EDI } from "../../state";
import { aborted, raiseUD } from "../../fault";
import { opsize, repPrefix, adsize32, dataSeg, decodeModrm, modrmMod, modrmReg, modrmRm, eaSeg, eaOff, readRM, writeRM } from "../decode";
import { fetch8 } from "../fetch";
import { readV, writeV } from "../access";
import { xmmp, SRC, RES, el, setEl, copy16 } from "./state";
import { usable, source, store, mmxOperands } from "./exec";
import { packedHalf, shiftHalf, halfLo, halfHi, mmLo, mmHi, writeMm, enterMmxState } from "../mmx";

/** Execute 0F `op` with a 66, F3 or F2 prefix, routed here from mmxExecute. */
export function xmmInteger(op: i32): void {
  const p66 = opsize != (cs32 ? 4 : 2), f3 = repPrefix == 0xf3, f2 = repPrefix == 0xf2;
  if (p66 && repPrefix != 0) { raiseUD(); return; }
  if (f3 && op != 0x6f && op != 0x7f && op != 0x7e && op != 0x70 && op != 0xd6) { raiseUD(); return; }
  if (f2 && op != 0x70 && op != 0xd6) { raiseUD(); return; }
  if (p66 && op == 0x77) { raiseUD(); return; }
  if (!usable()) return;
  decodeModrm(); if (aborted) return;
  const reg = modrmReg, mem = modrmMod != 3, d = xmmp(reg);
  switch (op) {
    case 0x6e: { // MOVD xmm, r/m32
      const v = readRM(4); if (aborted) return;
      setEl(d, 0, v); setEl(d, 1, 0); setEl(d, 2, 0); setEl(d, 3, 0);
      return;
    }
    case 0x7e: // MOVD r/m32, xmm (66) / MOVQ xmm, xmm/m64 (F3)
      if (!f3) { writeRM(4, el(d, 0)); return; }
      if (!source(8, false)) return;
      setEl(d, 0, el(SRC, 0)); setEl(d, 1, el(SRC, 1)); setEl(d, 2, 0); setEl(d, 3, 0);
      return;
    case 0x6f: if (!source(16, !f3)) return; copy16(d, SRC); return; // MOVDQA (66) / MOVDQU (F3)
    case 0x7f: store(16, !f3, d); return;
    case 0xe7: if (!mem) { raiseUD(); return; } store(16, true, d); return; // MOVNTDQ
    case 0xd6: { // MOVQ xmm/m64, xmm (66); MOVQ2DQ xmm, mm (F3); MOVDQ2Q mm, xmm (F2)
      if (f3 || f2) {
        if (mem) { raiseUD(); return; }
        if (!mmxOperands()) return;
        enterMmxState();
        if (f3) { const t = xmmp(reg); setEl(t, 0, mmLo(modrmRm)); setEl(t, 1, mmHi(modrmRm)); setEl(t, 2, 0); setEl(t, 3, 0); }
        else writeMm(reg, el(xmmp(modrmRm), 0), el(xmmp(modrmRm), 1));
        return;
      }
      if (mem) { store(8, false, d); return; }
      const t = xmmp(modrmRm);
      setEl(t, 0, el(d, 0)); setEl(t, 1, el(d, 1)); setEl(t, 2, 0); setEl(t, 3, 0);
      return;
    }
    case 0x70: { // PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2)
      if (!source(16, true)) return;
      const imm = fetch8(); if (aborted) return;
      if (p66) { for (let k = 0; k < 4; k++) setEl(RES, k, el(SRC, (imm >> (2 * k)) & 3)); }
      else {
        copy16(RES, SRC);
        const base = f3 ? 4 : 0; // the words shuffled: the high four (HW) or the low four (LW)
        for (let k = 0; k < 4; k++) putWord(RES, base + k, word(SRC, base + ((imm >> (2 * k)) & 3)));
      }
      copy16(d, RES);
      return;
    }
    case 0x71: case 0x72: case 0x73: { // shift groups by imm8; 73 /3 PSRLDQ, /7 PSLLDQ (bytes)
      if (mem) { raiseUD(); return; }
      const imm = fetch8(); if (aborted) return;
      const t = xmmp(modrmRm);
      if (op == 0x73 && (reg == 3 || reg == 7)) { byteShift(t, reg == 7, imm); return; }
      if ((reg != 2 && reg != 4 && reg != 6) || (op == 0x73 && reg == 4)) { raiseUD(); return; }
      shiftHalf(op, reg, imm, el(t, 0), el(t, 1)); const lo0 = halfLo, lo1 = halfHi;
      shiftHalf(op, reg, imm, el(t, 2), el(t, 3));
      setEl(t, 0, lo0); setEl(t, 1, lo1); setEl(t, 2, halfLo); setEl(t, 3, halfHi);
      return;
    }
    case 0xc4: { // PINSRW xmm, r32/m16, imm8
      const v = mem ? readV(eaSeg, eaOff, 2) : readRM(4); if (aborted) return;
      const imm = fetch8(); if (aborted) return;
      putWord(d, imm & 7, v);
      return;
    }
    case 0xc5: { // PEXTRW r32, xmm, imm8
      if (mem) { raiseUD(); return; }
      const imm = fetch8(); if (aborted) return;
      setReg(4, reg, word(xmmp(modrmRm), imm & 7));
      return;
    }
    case 0xd7: { // PMOVMSKB r32, xmm
      if (mem) { raiseUD(); return; }
      const t = xmmp(modrmRm);
      let v = 0;
      for (let k = 0; k < 16; k++) v |= ((el(t, k >> 2) >>> (((k & 3) << 3) + 7)) & 1) << k;
      setReg(4, reg, v);
      return;
    }
    case 0xf7: { // MASKMOVDQU xmm1, xmm2: the bytes selected by xmm2's top bits, to DS:(E)DI
      if (!mem) {
        const m = xmmp(modrmRm);
        const base = adsize32 ? reg32(EDI) : reg32(EDI) & 0xffff, seg = dataSeg();
        for (let k = 0; k < 16; k++) {
          if (((el(m, k >> 2) >>> (((k & 3) << 3) + 7)) & 1) == 0) continue;
          writeV(seg, adsize32 ? i32(base + k) : (base + k) & 0xffff, 1, (el(d, k >> 2) >>> ((k & 3) << 3)) & 0xff); if (aborted) return;
        }
        return;
      }
      raiseUD(); return;
    }
    case 0x60: case 0x61: case 0x62: case 0x6c: // PUNPCKL(BW WD DQ QDQ): the low halves interleaved
    case 0x68: case 0x69: case 0x6a: case 0x6d: { // PUNPCKH: the high halves
      if (!source(16, true)) return;
      const high = op >= 0x68 && op != 0x6c ? 2 : 0;
      const dlo = el(d, high), dhi = el(d, high + 1), slo = el(SRC, high), shi = el(SRC, high + 1);
      if (op == 0x6c || op == 0x6d) { setEl(d, 0, dlo); setEl(d, 1, dhi); setEl(d, 2, slo); setEl(d, 3, shi); return; }
      const lowOp = op & ~0x08, highOp = op | 0x08; // PUNPCKL and PUNPCKH of the same width
      packedHalf(lowOp, dlo, dhi, slo, shi); const r0 = halfLo, r1 = halfHi;
      packedHalf(highOp, dlo, dhi, slo, shi);
      setEl(d, 0, r0); setEl(d, 1, r1); setEl(d, 2, halfLo); setEl(d, 3, halfHi);
      return;
    }
    case 0x63: case 0x67: case 0x6b: { // PACKSSWB PACKUSWB PACKSSDW: the destination's elements, then the source's
      if (!source(16, true)) return;
      packedHalf(op, el(d, 0), el(d, 1), el(d, 2), el(d, 3)); const r0 = halfLo, r1 = halfHi;
      packedHalf(op, el(SRC, 0), el(SRC, 1), el(SRC, 2), el(SRC, 3));
      setEl(d, 0, r0); setEl(d, 1, r1); setEl(d, 2, halfLo); setEl(d, 3, halfHi);
      return;
    }
    default: { // element-wise on each half; shifts by xmm/m128 use the low 64 bits as the count
      if (!source(16, true)) return;
      const shiftByReg = op == 0xd1 || op == 0xd2 || op == 0xd3 || op == 0xe1 || op == 0xe2 || op == 0xf1 || op == 0xf2 || op == 0xf3;
      const c0 = el(SRC, 0), c1 = el(SRC, 1);
      packedHalf(op, el(d, 0), el(d, 1), c0, c1); const r0 = halfLo, r1 = halfHi;
      packedHalf(op, el(d, 2), el(d, 3), shiftByReg ? c0 : el(SRC, 2), shiftByReg ? c1 : el(SRC, 3));
      setEl(d, 0, r0); setEl(d, 1, r1); setEl(d, 2, halfLo); setEl(d, 3, halfHi);
      return;
    }
  }
}

function word(p: i32, k: i32): i32 { return (el(p, k >> 1) >>> ((k & 1) << 4)) & 0xffff; }
function putWord(p: i32, k: i32, v: i32): void {
  const sh = (k & 1) << 4;
  setEl(p, k >> 1, (el(p, k >> 1) & ~(0xffff << sh)) | ((v & 0xffff) << sh));
}
/** PSLLDQ/PSRLDQ: the 16 bytes shifted by imm8 bytes (16 or more: zero). */
function byteShift(t: i32, left: bool, n: i32): void {
  for (let k = 0; k < 16; k++) {
    const from = left ? k - n : k + n;
    const b = from < 0 || from > 15 ? 0 : (el(t, from >> 2) >>> ((from & 3) << 3)) & 0xff;
    st8res(k, b);
  }
  copy16(t, RES);
}
function st8res(k: i32, b: i32): void {
  const sh = (k & 3) << 3;
  setEl(RES, k >> 2, (el(RES, k >> 2) & ~(0xff << sh)) | (b << sh));
}
