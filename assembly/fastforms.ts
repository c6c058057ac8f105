// Fast forms: the commonest instructions, replayed from their translation-cache
// record without the decoder.
//
// An instruction gets a fast form when its record says 32-bit operands and
// addresses with no LOCK, REP or segment override (or, for the 16-bit moves,
// a lone operand-size prefix). Each form does what the interpreter's body
// for that opcode does (exec.ts), in the same order and with the same
// helpers — ALU, shifts, memory access with its faults, stack, jumps — but
// takes its operands straight from the record: the ModRM byte and address
// form (REC_MODRM, REC_DISP) and the fetched values (REC_VALUES; for 0F
// opcodes the first value is the second opcode byte). The address is
// evaluated against the registers at replay time: disp + base + index << scale,
// with "no register" reading the zero slot after the register file.
import { ld32a } from "./portable";
import { eip, reg32, setReg32, reg16, setReg16, reg8, setReg8, sext, ECX } from "./state";
import { alu, inc, dec, neg, imulTrunc, ALU_CMP, ALU_AND } from "./cpu/ops/arith";
import { shiftOp } from "./cpu/ops/shift";
import { push, pop, readV, writeV, probeWriteV } from "./cpu/access";
import { testCC } from "./cpu/flags";
import { jumpNear, callNear, retNear } from "./cpu/ops/control";
import { REC_HEADER, REC_MODRM, REC_DISP, REC_VALUES, H_OPSIZE4, H_ADSIZE32 } from "./cpu/fetch";
import { aborted } from "./fault";

export const FAST_NONE: i32 = 0;
export const FAST_ALU_RR: i32 = 1;    // 01 03 09 0B ... 39 3B, mod = 3
export const FAST_MOV_RR: i32 = 2;    // 89 8B, mod = 3
export const FAST_INC: i32 = 3;       // 40-47
export const FAST_DEC: i32 = 4;       // 48-4F
export const FAST_PUSH: i32 = 5;      // 50-57
export const FAST_POP: i32 = 6;       // 58-5F
export const FAST_JCC8: i32 = 7;      // 70-7F
export const FAST_TEST_RR: i32 = 8;   // 85, mod = 3
export const FAST_ALU_RI8: i32 = 9;   // 83, mod = 3
export const FAST_LOAD: i32 = 10;     // 8B, memory
export const FAST_STORE: i32 = 11;    // 89, memory
export const FAST_JMP8: i32 = 12;     // EB
export const FAST_CALL: i32 = 13;     // E8
export const FAST_RET: i32 = 14;      // C3
export const FAST_MOV_RI: i32 = 15;   // B8-BF
export const FAST_ALU_RI32: i32 = 16; // 81, mod = 3
export const FAST_LEA: i32 = 17;      // 8D
export const FAST_JCC32: i32 = 18;    // 0F 80-8F
export const FAST_ALU_RM: i32 = 19;   // 03 0B ... 3B, memory: reg op= [mem]
export const FAST_ALU_MR: i32 = 20;   // 01 09 ... 39, memory: [mem] op= reg
export const FAST_ALU_MI: i32 = 21;   // 81 83, memory
export const FAST_ALU_EAX: i32 = 22;  // 05 0D ... 3D
export const FAST_TEST_EAX: i32 = 23; // A9
export const FAST_MOVX: i32 = 24;     // 0F B6 B7 BE BF (MOVZX, MOVSX)
export const FAST_IMUL: i32 = 25;     // 0F AF
export const FAST_SHIFT: i32 = 26;    // C1 D1 D3, mod = 3
export const FAST_JMP32: i32 = 27;    // E9
export const FAST_MOV_MI: i32 = 28;   // C7 /0, memory
export const FAST_INCDEC_M: i32 = 29; // FF /0 /1, memory
export const FAST_NOT_NEG: i32 = 30;  // F7 /2 /3, mod = 3
export const FAST_MOV8: i32 = 31;     // 88 8A
export const FAST_MOV16: i32 = 32;    // 66 89, 66 8B, memory
export const FAST_SETCC: i32 = 33;    // 0F 90-9F, mod = 3
export const FAST_ALU8_RI: i32 = 34;  // 80, mod = 3
export const FAST_ALU_AL: i32 = 35;   // 04 0C ... 3C
export const FAST_TEST8: i32 = 36;    // 84, mod = 3
export const FAST_PUSH_I: i32 = 37;   // 68 6A
export const FAST_CMOV: i32 = 38;     // 0F 40-4F, mod = 3
export const FAST_TEST_MR: i32 = 39;  // 85, memory

/** Which fast form (if any) replays this record; `op` is the first opcode byte. */
export function fastForm(rec: i32, op: i32): i32 {
  const prefixes = ld32a(rec + REC_HEADER) & 0xffff00;
  const m = ld32a(rec + REC_MODRM);
  const mod3 = (m & 0xc0) == 0xc0, reg = (m >> 3) & 7;
  const v0 = ld32a(rec + REC_VALUES);
  if (prefixes == H_ADSIZE32) return (op == 0x89 || op == 0x8b) && !mod3 ? FAST_MOV16 : FAST_NONE;
  if (prefixes != (H_OPSIZE4 | H_ADSIZE32)) return FAST_NONE;
  if (op < 0x40 && (op & 7) < 6) { // the ALU block (its x6/x7 slots are other opcodes, 0F among them)
    switch (op & 7) {
      case 1: return mod3 ? FAST_ALU_RR : FAST_ALU_MR;
      case 3: return mod3 ? FAST_ALU_RR : FAST_ALU_RM;
      case 4: return FAST_ALU_AL;
      case 5: return FAST_ALU_EAX;
      default: return FAST_NONE;
    }
  }
  if (op >= 0x40 && op <= 0x47) return FAST_INC;
  if (op >= 0x48 && op <= 0x4f) return FAST_DEC;
  if (op >= 0x50 && op <= 0x57) return FAST_PUSH;
  if (op >= 0x58 && op <= 0x5f) return FAST_POP;
  if (op >= 0x70 && op <= 0x7f) return FAST_JCC8;
  if (op >= 0xb8 && op <= 0xbf) return FAST_MOV_RI;
  switch (op) {
    case 0x0f: {
      const op2 = v0 & 0xff;
      if (op2 >= 0x80 && op2 <= 0x8f) return FAST_JCC32;
      if (op2 >= 0x90 && op2 <= 0x9f) return mod3 ? FAST_SETCC : FAST_NONE;
      if (op2 >= 0x40 && op2 <= 0x4f) return mod3 ? FAST_CMOV : FAST_NONE;
      if (op2 == 0xb6 || op2 == 0xb7 || op2 == 0xbe || op2 == 0xbf) return FAST_MOVX;
      if (op2 == 0xaf) return FAST_IMUL;
      return FAST_NONE;
    }
    case 0x68: case 0x6a: return FAST_PUSH_I;
    case 0x80: return mod3 ? FAST_ALU8_RI : FAST_NONE;
    case 0x81: return mod3 ? FAST_ALU_RI32 : FAST_ALU_MI;
    case 0x83: return mod3 ? FAST_ALU_RI8 : FAST_ALU_MI;
    case 0x84: return mod3 ? FAST_TEST8 : FAST_NONE;
    case 0x85: return mod3 ? FAST_TEST_RR : FAST_TEST_MR;
    case 0x88: case 0x8a: return FAST_MOV8;
    case 0x89: return mod3 ? FAST_MOV_RR : FAST_STORE;
    case 0x8b: return mod3 ? FAST_MOV_RR : FAST_LOAD;
    case 0x8d: return mod3 ? FAST_NONE : FAST_LEA; // LEA with a register operand is #UD
    case 0xa9: return FAST_TEST_EAX;
    case 0xc1: case 0xd1: case 0xd3: return mod3 ? FAST_SHIFT : FAST_NONE;
    case 0xc3: return FAST_RET;
    case 0xc7: return !mod3 && reg == 0 ? FAST_MOV_MI : FAST_NONE;
    case 0xe8: return FAST_CALL;
    case 0xe9: return FAST_JMP32;
    case 0xeb: return FAST_JMP8;
    case 0xf7: return mod3 && (reg == 2 || reg == 3) ? FAST_NOT_NEG : FAST_NONE;
    case 0xff: return !mod3 && reg < 2 ? FAST_INCDEC_M : FAST_NONE;
    default: return FAST_NONE;
  }
}

/** Offset of the record's memory operand (32-bit address form) with the registers as they are now. */
function eaOffset(rec: i32): i32 {
  const w = ld32a(rec + REC_MODRM);
  return i32(i32(ld32a(rec + REC_DISP) + reg32((w >> 8) & 15)) + (reg32((w >> 12) & 15) << ((w >> 16) & 3)));
}
/** Segment of the record's memory operand (no override: the form's default, DS or SS). */
function eaSegment(rec: i32): i32 { return (ld32a(rec + REC_MODRM) >> 18) & 7; }

function sext8(v: i32): i32 { return (v << 24) >> 24; }

/** Replay one record by its fast form; faults and exits are left in `aborted` / the exit block, as the interpreter leaves them. */
export function runFast(fast: i32, op: i32, rec: i32): void {
  const m = ld32a(rec + REC_MODRM);
  const reg = (m >> 3) & 7, rm = m & 7;
  switch (fast) {
    case FAST_ALU_RR: {
      const aop = op >> 3;
      if ((op & 2) != 0) { const r = alu(aop, 4, reg32(reg), reg32(rm)); if (aop != ALU_CMP) setReg32(reg, r); }
      else { const r = alu(aop, 4, reg32(rm), reg32(reg)); if (aop != ALU_CMP) setReg32(rm, r); }
      return;
    }
    case FAST_MOV_RR: if (op == 0x89) setReg32(rm, reg32(reg)); else setReg32(reg, reg32(rm)); return;
    case FAST_INC: setReg32(op & 7, inc(4, reg32(op & 7))); return;
    case FAST_DEC: setReg32(op & 7, dec(4, reg32(op & 7))); return;
    case FAST_PUSH: push(4, reg32(op & 7)); return;
    case FAST_POP: { const v = pop(4); if (aborted) return; setReg32(op & 7, v); return; }
    case FAST_JCC8: if (testCC(op & 15)) jumpNear(i32(eip + sext8(ld32a(rec + REC_VALUES))), 4); return;
    case FAST_TEST_RR: alu(ALU_AND, 4, reg32(rm), reg32(reg)); return;
    case FAST_ALU_RI8: {
      const r = alu(reg, 4, reg32(rm), sext8(ld32a(rec + REC_VALUES)));
      if (reg != ALU_CMP) setReg32(rm, r);
      return;
    }
    case FAST_ALU_RI32: {
      const r = alu(reg, 4, reg32(rm), ld32a(rec + REC_VALUES));
      if (reg != ALU_CMP) setReg32(rm, r);
      return;
    }
    case FAST_LOAD: { const v = readV(eaSegment(rec), eaOffset(rec), 4); if (aborted) return; setReg32(reg, v); return; }
    case FAST_STORE: writeV(eaSegment(rec), eaOffset(rec), 4, reg32(reg)); return;
    case FAST_LEA: setReg32(reg, eaOffset(rec)); return;
    case FAST_JMP8: jumpNear(i32(eip + sext8(ld32a(rec + REC_VALUES))), 4); return;
    case FAST_JMP32: jumpNear(i32(eip + ld32a(rec + REC_VALUES)), 4); return;
    case FAST_CALL: callNear(i32(eip + ld32a(rec + REC_VALUES)), 4); return;
    case FAST_RET: retNear(4, 0); return;
    case FAST_MOV_RI: setReg32(op & 7, ld32a(rec + REC_VALUES)); return;
    case FAST_JCC32: // values: the second opcode byte, then rel32
      if (testCC(ld32a(rec + REC_VALUES) & 15)) jumpNear(i32(eip + ld32a(rec + REC_VALUES + 4)), 4);
      return;
    case FAST_ALU_RM: {
      const b = readV(eaSegment(rec), eaOffset(rec), 4); if (aborted) return;
      const aop = op >> 3;
      const r = alu(aop, 4, reg32(reg), b);
      if (aop != ALU_CMP) setReg32(reg, r);
      return;
    }
    case FAST_ALU_MR: {
      const seg = eaSegment(rec), off = eaOffset(rec), aop = op >> 3;
      const a = readV(seg, off, 4); if (aborted) return;
      if (aop != ALU_CMP && !probeWriteV(seg, off, 4)) return;
      const r = alu(aop, 4, a, reg32(reg));
      if (aop != ALU_CMP) writeV(seg, off, 4, r);
      return;
    }
    case FAST_ALU_MI: {
      const seg = eaSegment(rec), off = eaOffset(rec);
      const a = readV(seg, off, 4); if (aborted) return;
      if (reg != ALU_CMP && !probeWriteV(seg, off, 4)) return;
      const v = ld32a(rec + REC_VALUES);
      const r = alu(reg, 4, a, op == 0x81 ? v : sext8(v));
      if (reg != ALU_CMP) writeV(seg, off, 4, r);
      return;
    }
    case FAST_ALU_EAX: {
      const aop = op >> 3;
      const r = alu(aop, 4, reg32(0), ld32a(rec + REC_VALUES));
      if (aop != ALU_CMP) setReg32(0, r);
      return;
    }
    case FAST_ALU_AL: {
      const aop = op >> 3;
      const r = alu(aop, 1, reg8(0), ld32a(rec + REC_VALUES));
      if (aop != ALU_CMP) setReg8(0, r);
      return;
    }
    case FAST_TEST_EAX: alu(ALU_AND, 4, reg32(0), ld32a(rec + REC_VALUES)); return;
    case FAST_TEST8: alu(ALU_AND, 1, reg8(rm), reg8(reg)); return;
    case FAST_TEST_MR: { const a = readV(eaSegment(rec), eaOffset(rec), 4); if (aborted) return; alu(ALU_AND, 4, a, reg32(reg)); return; }
    case FAST_ALU8_RI: {
      const r = alu(reg, 1, reg8(rm), ld32a(rec + REC_VALUES));
      if (reg != ALU_CMP) setReg8(rm, r);
      return;
    }
    case FAST_MOVX: {
      const op2 = ld32a(rec + REC_VALUES) & 0xff;
      const s = (op2 & 1) != 0 ? 2 : 1;
      let v: i32;
      if ((m & 0xc0) == 0xc0) v = s == 2 ? reg16(rm) : reg8(rm);
      else { v = readV(eaSegment(rec), eaOffset(rec), s); if (aborted) return; }
      setReg32(reg, op2 >= 0xbe ? sext(s, v) : v);
      return;
    }
    case FAST_IMUL: {
      let b: i32;
      if ((m & 0xc0) == 0xc0) b = reg32(rm);
      else { b = readV(eaSegment(rec), eaOffset(rec), 4); if (aborted) return; }
      setReg32(reg, imulTrunc(4, reg32(reg), b));
      return;
    }
    case FAST_SHIFT: {
      const count = op == 0xc1 ? ld32a(rec + REC_VALUES) : op == 0xd1 ? 1 : reg8(ECX);
      if ((count & 31) == 0) return;
      setReg32(rm, shiftOp(reg, 4, reg32(rm), count));
      return;
    }
    case FAST_MOV_MI: writeV(eaSegment(rec), eaOffset(rec), 4, ld32a(rec + REC_VALUES)); return;
    case FAST_INCDEC_M: {
      const seg = eaSegment(rec), off = eaOffset(rec);
      const a = readV(seg, off, 4); if (aborted) return;
      if (!probeWriteV(seg, off, 4)) return;
      writeV(seg, off, 4, reg == 0 ? inc(4, a) : dec(4, a));
      return;
    }
    case FAST_NOT_NEG: setReg32(rm, reg == 2 ? ~reg32(rm) : neg(4, reg32(rm))); return;
    case FAST_MOV8:
      if ((m & 0xc0) == 0xc0) { if (op == 0x88) setReg8(rm, reg8(reg)); else setReg8(reg, reg8(rm)); return; }
      if (op == 0x88) { writeV(eaSegment(rec), eaOffset(rec), 1, reg8(reg)); return; }
      { const v = readV(eaSegment(rec), eaOffset(rec), 1); if (aborted) return; setReg8(reg, v); return; }
    case FAST_MOV16:
      if (op == 0x89) { writeV(eaSegment(rec), eaOffset(rec), 2, reg16(reg)); return; }
      { const v = readV(eaSegment(rec), eaOffset(rec), 2); if (aborted) return; setReg16(reg, v); return; }
    case FAST_SETCC: setReg8(rm, testCC(ld32a(rec + REC_VALUES) & 15) ? 1 : 0); return;
    case FAST_CMOV: if (testCC(ld32a(rec + REC_VALUES) & 15)) setReg32(reg, reg32(rm)); return;
    case FAST_PUSH_I: { const v = ld32a(rec + REC_VALUES); push(4, op == 0x68 ? v : sext8(v)); return; }
    default: return;
  }
}
