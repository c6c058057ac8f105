// One translation-cache record as Wasm in a region function: the common
// integer instructions inline (registers in locals, lazy flags in locals,
// memory through the TLB with the core's helpers as slow paths), everything
// else through replayRecord — the interpreter's own body for the record —
// with the registers and flags written back before and read again after.
//
// Each inline form does what exec.ts does for its opcode, in the same order:
// reads (which may fault) before any state changes, a read-modify-write
// destination probed before the flags change, exits after the instruction.
import { ld32a } from "../portable";
import { JIT_LINK_ON } from "../layout";
import { REC_HEADER, REC_MODRM, REC_VALUES, H_OPSIZE4, H_ADSIZE32 } from "../cpu/fetch";
import { ALU_ADD, ALU_AND, ALU_CMP, ALU_SUB } from "../cpu/ops/arith";
import { CF, OF, DF, IF, VM, RF, EAX, ECX, EDX, ESP, EBP, ESI, EDI, DS, ES, CS } from "../state";
import {
  F_CALL, F_DIV, F_END_SHADOW, F_RETIRED_AT, F_IN, F_OUT, OP_I32_GT_S, OP_I32_LOAD, P_R, F_JUMP, F_RET, F_SHIFT, F_STEP, G_EIP, G_FLAT_SEGS, I32, I64, L_FRAW, L_HOST, L_OFF, L_SEGS, L_T1,
  L_T2, L_T3, L_VAL, L_W, OP_I32_ADD, OP_I32_AND, OP_I32_EQ, OP_I32_EQZ, OP_I32_GT_U, OP_I32_MUL, OP_I32_NE,
  OP_I32_OR, OP_I32_ROTL, OP_I32_SHL, OP_I32_SHR_S, OP_I32_SHR_U, OP_I32_SUB, OP_I32_XOR, OP_I32_EXTEND16_S,
  OP_I32_EXTEND8_S, OP_I64_DIV_S, OP_I64_DIV_U, OP_I64_EXTEND_I32_S, OP_I64_EXTEND_I32_U, OP_I64_MUL,
  OP_I64_NE, OP_I64_OR, OP_I64_REM_S, OP_I64_REM_U, OP_I64_SHL, OP_I64_SHR_U, OP_I32_WRAP_I64, OP_I64_CONST,
  OP_SELECT, OP_I32_DIV_U, OP_I32_REM_U, OP_I32_DIV_S, OP_I32_REM_S, L_W2, OP_I64_EQ, OP_I64_EQZ, L_FA, L_FB, L_FRES,
} from "./abi";
import * as W from "./writer";
import {
  call, elseOp, end, getReg, memOp, getReg16, getReg32, getReg8, globalGet, globalSet, ifOpen, ifVoid, ifLikely, insNext, insRel, konst, leave, leaveAt,
  leaveAfterIfKeepEip, leaveIfAborted, leaveIfExitKeepEip, localGet, localSet, localTee, op, pushEip, reloadCached,
  reloadFlags, reloadReg, setEip, setInstrEip, setReg, setReg32, spillFlags, storeDirty, storeReg, unretiredAfter,
} from "./emit";
import {
  emitAlu, emitCondition, emitIncDec, emitNeg, emitCF, emitGetFlags, emitSetFlags, forgetFlags, recordResult,
  sizeMask, signBit,
} from "./flags";
import {
  stackFast, flatSeg, aIsUser, beginPending, clearPending, eaSegment, emitEa, emitPop, emitPush, emitRead, emitRmwRead, emitRmwWrite,
  emitStackHost, emitWrite, leaveIfPending, leaveIfPendingAt, loadHost, reloadEsp,
} from "./memory";
import { emitGoto, landingCount, landingRel, markLink, regionCs32 } from "./region";
import { isInvlpg, isMovToCr3, readsTsc } from "../tcache";

/** emitInstruction's answer: the next record follows, or control has left (the block's end is emitted). */
export const NEXT: i32 = 0;
export const ENDS: i32 = 1;

// The record being emitted, decoded once.
let rec: i32 = 0;
let opc: i32 = 0;
let os: i32 = 4;          // operand size
let as32: bool = true;    // address size
let segOv: i32 = -1;      // segment override
let rep: i32 = 0;         // REP prefix byte (0: none)
let modrm: i32 = 0;
let mod3: bool = false;
let reg: i32 = 0;
let rm: i32 = 0;

function value(k: i32): i32 { return ld32a(rec + REC_VALUES + (k << 2)); }
function sext8(v: i32): i32 { return (v << 24) >> 24; }
function sext16(v: i32): i32 { return (v << 16) >> 16; }
/** The code segment's own operand size: near transfers of this size keep EIP in the page arithmetic. */
function nativeSize(): bool { return os == (regionCs32 ? 4 : 2); }

/** Emit record r (instruction i of its block). */
export function emitInstruction(r: i32): i32 {
  rec = r;
  const hdr = ld32a(rec + REC_HEADER);
  opc = hdr & 0xff;
  os = (hdr & H_OPSIZE4) != 0 ? 4 : 2;
  as32 = (hdr & H_ADSIZE32) != 0;
  segOv = ((hdr >> 12) & 7) - 1;
  rep = (hdr >> 16) & 0xff;
  modrm = ld32a(rec + REC_MODRM);
  mod3 = (modrm & 0xc0) == 0xc0;
  reg = (modrm >> 3) & 7;
  rm = modrm & 7;
  beginPending();
  if (opc == 0x0f) return twoByte(value(0) & 0xff);
  return oneByte();
}

// ---- operands ---------------------------------------------------------------------------------

function seg(): i32 { return eaSegment(rec, segOv); }
function ea(): void { emitEa(rec, as32); localSet(L_OFF); }
/** Push the r/m operand of `size` (a register, or memory read; a fault leaves). */
function readRm(size: i32): void {
  if (mod3) { getReg(size, rm); return; }
  ea(); emitRead(seg(), size);
}
/** Stack [v] -> (): write the r/m operand (memory: at L_OFF, computed by readRm/ea before). */
function writeRm(size: i32): void {
  if (mod3) { setReg(size, rm); return; }
  localSet(L_VAL); emitWrite(seg(), size);
}
/** Read-modify-write destination: push its value (memory: probed for the write). */
function rmwRead(size: i32): void {
  if (mod3) { getReg(size, rm); return; }
  ea(); emitRmwRead(seg(), size);
}
function rmwWrite(size: i32): void {
  if (mod3) { setReg(size, rm); return; }
  localSet(L_VAL); emitRmwWrite(seg(), size);
}

// ---- one-byte opcodes ---------------------------------------------------------------------------

function oneByte(): i32 {
  const op = opc;
  if (op < 0x40 && (op & 7) < 6) { aluBlock(op); return NEXT; }
  if (op >= 0x40 && op <= 0x4f) { getReg(os, op & 7); emitIncDec(os, op >= 0x48); setReg(os, op & 7); return NEXT; }
  if (op >= 0x50 && op <= 0x57) { getReg(os, op & 7); localSet(L_VAL); emitPush(os); leaveIfPending(); return NEXT; }
  if (op >= 0x58 && op <= 0x5f) { emitPop(os); setReg(os, op & 7); return NEXT; }
  if (op >= 0x70 && op <= 0x7f) return jcc(op & 15, sext8(value(0)));
  if (op >= 0x91 && op <= 0x97) {
    getReg(os, EAX); localSet(L_T1); getReg(os, op & 7); setReg(os, EAX); localGet(L_T1); setReg(os, op & 7);
    return NEXT;
  }
  if (op >= 0xb0 && op <= 0xb7) { konst(value(0) & 0xff); setReg(1, op & 7); return NEXT; }
  if (op >= 0xb8 && op <= 0xbf) { konst(value(0)); setReg(os, op & 7); return NEXT; }
  switch (op) {
    case 0x68: konst(value(0)); localSet(L_VAL); emitPush(os); leaveIfPending(); return NEXT;
    case 0x6a: konst(sext8(value(0)) & sizeMask(os)); localSet(L_VAL); emitPush(os); leaveIfPending(); return NEXT;
    case 0x69: case 0x6b: {
      readRm(os);
      konst(op == 0x69 ? value(0) : sext8(value(0)));
      imulTrunc(os); setReg(os, reg);
      return NEXT;
    }
    case 0x80: case 0x81: case 0x82: case 0x83: {
      const s = op == 0x81 || op == 0x83 ? os : 1;
      const imm = op == 0x81 ? value(0) & sizeMask(s) : op == 0x83 ? sext8(value(0)) & sizeMask(s) : value(0) & 0xff;
      aluRm(reg, s, imm, true);
      return NEXT;
    }
    case 0x84: case 0x85: {
      const s = op == 0x85 ? os : 1;
      readRm(s); getReg(s, reg); emitAlu(ALU_AND, s); op_(0x1a); // drop
      return NEXT;
    }
    case 0x86: case 0x87: { // XCHG r/m, reg
      const s = op == 0x87 ? os : 1;
      if (mod3) { getReg(s, rm); localSet(L_T1); getReg(s, reg); setReg(s, rm); localGet(L_T1); setReg(s, reg); return NEXT; }
      rmwRead(s); localSet(L_T1);
      getReg(s, reg); rmwWrite(s);
      localGet(L_T1); setReg(s, reg);
      leaveIfPending();
      return NEXT;
    }
    case 0x88: case 0x89: {
      const s = op == 0x89 ? os : 1;
      if (mod3) { getReg(s, reg); setReg(s, rm); return NEXT; }
      ea(); getReg(s, reg); writeRm(s); leaveIfPending();
      return NEXT;
    }
    case 0x8a: case 0x8b: { const s = op == 0x8b ? os : 1; readRm(s); setReg(s, reg); return NEXT; }
    case 0x8d: if (mod3) break; emitEa(rec, as32); setReg(os, reg); return NEXT; // (LEA with a register operand is #UD)
    case 0x90: return NEXT; // NOP, PAUSE
    case 0x98:
      if (os == 4) { getReg32(EAX); op_(OP_I32_EXTEND16_S); setReg32(EAX); }
      else { getReg8(0); op_(OP_I32_EXTEND8_S); setReg(2, EAX); }
      return NEXT;
    case 0x99:
      if (os == 4) { getReg32(EAX); konst(31); op_(OP_I32_SHR_S); setReg32(EDX); }
      else { getReg32(EAX); op_(OP_I32_EXTEND16_S); konst(15); op_(OP_I32_SHR_S); setReg(2, EDX); }
      return NEXT;
    case 0xa0: case 0xa1: { // MOV AL/eAX, moffs
      const s = op == 0xa1 ? os : 1;
      konst(value(0)); localSet(L_OFF); emitRead(segOv >= 0 ? segOv : DS, s); setReg(s, EAX);
      return NEXT;
    }
    case 0xa2: case 0xa3: {
      const s = op == 0xa3 ? os : 1;
      konst(value(0)); localSet(L_OFF); getReg(s, EAX); localSet(L_VAL); emitWrite(segOv >= 0 ? segOv : DS, s); leaveIfPending();
      return NEXT;
    }
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      if (rep != 0 || !as32) break; // (REP forms and 16-bit addressing: the interpreter's, string.ts)
      stringOnce(op, (op & 1) != 0 ? os : 1);
      return NEXT;
    case 0xa8: case 0xa9: {
      const s = op == 0xa9 ? os : 1;
      getReg(s, EAX); konst(value(0) & sizeMask(s)); emitAlu(ALU_AND, s); op_(0x1a);
      return NEXT;
    }
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
      shift(op, (op & 1) != 0 ? os : 1);
      return NEXT;
    case 0xc2: case 0xc3: return ret(op == 0xc2 ? value(0) & 0xffff : 0);
    case 0xc6: case 0xc7: {
      if (reg != 0) break;
      const s = op == 0xc7 ? os : 1;
      if (mod3) { konst(value(0) & sizeMask(s)); setReg(s, rm); return NEXT; }
      ea(); konst(value(0) & sizeMask(s)); writeRm(s); leaveIfPending();
      return NEXT;
    }
    case 0xc9: if (os == 4) { leaveInsn(); return NEXT; } break;
    case 0xe4: case 0xe5: case 0xec: case 0xed: portIn(op); return NEXT;
    case 0xe6: case 0xe7: case 0xee: case 0xef: portOut(op); return NEXT;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: return loop(op, sext8(value(0)));
    case 0xe8: return callRel(os == 4 ? value(0) : sext16(value(0)));
    case 0xe9: return jmpRel(os == 4 ? value(0) : sext16(value(0)));
    case 0xeb: return jmpRel(sext8(value(0)));
    case 0xf5: case 0xf8: case 0xf9: { // CMC, CLC, STC: materialise EFLAGS, as setFlags(getFlags() ...)
      emitGetFlags();
      if (op == 0xf5) { konst(CF); op_(OP_I32_XOR); }
      else if (op == 0xf8) { konst(~CF); op_(OP_I32_AND); }
      else { konst(CF); op_(OP_I32_OR); }
      emitSetFlags();
      return NEXT;
    }
    case 0xfa: // CLI: allowed at CPL 0 (exec.ts iflagAllowed); elsewhere the interpreter's (#GP, VIF)
      if (aIsUser()) break;
      emitGetFlags(); konst(~IF); op_(OP_I32_AND); emitSetFlags();
      return NEXT;
    case 0x9c: // PUSHF at CPL 0 (not virtual-8086 mode): EFLAGS without VM and RF (exec.ts pushf)
      if (aIsUser()) break;
      emitGetFlags(); konst(~(VM | RF) & (os == 2 ? 0xffff : -1)); op_(OP_I32_AND); localSet(L_VAL);
      emitPush(os); leaveIfPending();
      return NEXT;
    case 0x9d: // POPF ends its block (tcache.ts): back to the cache, which checks what it made due
      genericBody(); leaveAt(insNext, unretiredAfter());
      return ENDS;
    case 0xfb: // STI ends its block too: while the cache chains and budget is left, its shadow ends at once
      // and the code goes on (tcache.ts jitEndShadow); else back to the cache with the shadow set
      genericBody();
      konst(0); memOp(OP_I32_LOAD, 2, JIT_LINK_ON); localGet(P_R); konst(0); op_(OP_I32_GT_S); op_(OP_I32_AND);
      ifVoid(); call(F_END_SHADOW); elseOp(); leaveAt(insNext, unretiredAfter()); end();
      return NEXT;
    case 0xfc: localGet(L_FRAW); konst(~DF); op_(OP_I32_AND); localSet(L_FRAW); return NEXT;
    case 0xfd: localGet(L_FRAW); konst(DF); op_(OP_I32_OR); localSet(L_FRAW); return NEXT;
    case 0xf6: case 0xf7: if (group3(op == 0xf7 ? os : 1)) return NEXT; break;
    case 0xfe: case 0xff: return group45(op == 0xff ? os : 1);
    default: break;
  }
  return generic();
}
function op_(o: i32): void { op(o); }

/** 00-3F: ALU Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,imm8 / eAX,imm. */
function aluBlock(o: i32): void {
  const aop = o >> 3;
  switch (o & 7) {
    case 0: case 1: { // r/m op= reg
      const s = (o & 1) != 0 ? os : 1;
      aluRm(aop, s, 0, false);
      return;
    }
    case 2: case 3: { // reg op= r/m
      const s = (o & 1) != 0 ? os : 1;
      getReg(s, reg); readRm(s);
      emitAlu(aop, s);
      if (aop != ALU_CMP) setReg(s, reg);
      return;
    }
    case 4: getReg8(0); konst(value(0) & 0xff); emitAlu(aop, 1); if (aop != ALU_CMP) setReg(1, EAX); return;
    default: getReg(os, EAX); konst(value(0) & sizeMask(os)); emitAlu(aop, os); if (aop != ALU_CMP) setReg(os, EAX); return;
  }
}
/** r/m op= (imm, or the reg operand): a register, a memory read for CMP, else a read-modify-write. */
function aluRm(aop: i32, s: i32, imm: i32, useImm: bool): void {
  if (aop == ALU_CMP || mod3) readRm(s); else rmwRead(s);
  if (useImm) konst(imm); else getReg(s, reg);
  emitAlu(aop, s);
  if (aop == ALU_CMP) return;
  rmwWrite(s);
  leaveIfPending();
}

/** F6/F7: TEST, NOT, NEG, MUL, IMUL, DIV, IDIV. Returns false for forms left to the interpreter. */
function group3(s: i32): bool {
  switch (reg) {
    case 0: case 1: readRm(s); konst(value(0) & sizeMask(s)); emitAlu(ALU_AND, s); op_(0x1a); return true;
    case 2: rmwRead(s); konst(sizeMask(s)); op_(OP_I32_XOR); rmwWrite(s); leaveIfPending(); return true;
    case 3: rmwRead(s); emitNeg(s); rmwWrite(s); leaveIfPending(); return true;
    case 4: case 5: if (s != 4) return false; readRm(4); mulAcc32(reg == 5); return true;
    default: readRm(s); divide(s, reg == 7); return true;
  }
}

/** EDX:EAX = EAX * src (on the stack); CF = OF = the high half is significant (arith.ts mulAcc). */
function mulAcc32(signed: bool): void {
  op_(signed ? OP_I64_EXTEND_I32_S : OP_I64_EXTEND_I32_U);
  getReg32(EAX); op_(signed ? OP_I64_EXTEND_I32_S : OP_I64_EXTEND_I32_U);
  op_(OP_I64_MUL); localSet(L_W);
  localGet(L_W); op_(OP_I32_WRAP_I64); setReg32(EAX);
  localGet(L_W); i64Const(32); op_(OP_I64_SHR_U); op_(OP_I32_WRAP_I64); setReg32(EDX);
  getReg32(EAX); // lazyResult(4, lo, overflow ? CF | OF : 0)
  getReg32(EDX);
  if (signed) { getReg32(EAX); konst(31); op_(OP_I32_SHR_S); op_(OP_I32_NE); } else { konst(0); op_(OP_I32_NE); }
  overflowBits();
  recordResult(4);
}
/** Stack [bool] -> [bool ? CF | OF : 0]. */
function overflowBits(): void { konst(CF | OF); op_(OP_I32_MUL); }

function i64Const(v: i32): void { W.byte(OP_I64_CONST); W.i32leb(v); }

/** IMUL with a truncated result (arith.ts imulTrunc): stack [a, b] -> [result]. */
function imulTrunc(size: i32): void {
  if (size == 4) {
    op_(OP_I64_EXTEND_I32_S); localSet(L_W);
    op_(OP_I64_EXTEND_I32_S); localGet(L_W); op_(OP_I64_MUL); localSet(L_W);
    localGet(L_W); op_(OP_I32_WRAP_I64); localTee(L_T1);
    localGet(L_T1); op_(OP_I64_EXTEND_I32_S); localGet(L_W); op_(OP_I64_NE);
  } else {
    op_(OP_I32_EXTEND16_S); localSet(L_T2);
    op_(OP_I32_EXTEND16_S); localGet(L_T2); op_(OP_I32_MUL); localSet(L_T2);
    localGet(L_T2); konst(0xffff); op_(OP_I32_AND); localTee(L_T1);
    localGet(L_T1); op_(OP_I32_EXTEND16_S); localGet(L_T2); op_(OP_I32_NE);
  }
  // stack: [lo, overflow]
  overflowBits();
  recordResult(size);
  localGet(L_T1);
}

/** DIV/IDIV by the value on the stack: inline for 32 bits when it cannot fault, else divAcc (which raises #DE). */
function divide(size: i32, signed: bool): void {
  localSet(L_T1);
  if (size != 4) { divAccCall(size, signed); return; }
  // A zero divisor is #DE, and IDIV by -1 may overflow (and trap in Wasm): both go to divAcc.
  localGet(L_T1); op_(OP_I32_EQZ);
  if (signed) { localGet(L_T1); konst(-1); op_(OP_I32_EQ); op_(OP_I32_OR); }
  op_(OP_I32_EQZ);
  ifLikely();
  // A dividend that fits 32 bits (EDX = EAX's sign, as after CDQ; for DIV, EDX = 0) divides in 32 bits:
  // the quotient always fits, and a 32-bit divide is much cheaper than a 64-bit one.
  getReg32(EDX);
  if (signed) { getReg32(EAX); konst(31); op_(OP_I32_SHR_S); op_(OP_I32_EQ); } else op_(OP_I32_EQZ);
  ifVoid();
  getReg32(EAX); localGet(L_T1); op_(signed ? OP_I32_REM_S : OP_I32_REM_U); setReg32(EDX);
  getReg32(EAX); localGet(L_T1); op_(signed ? OP_I32_DIV_S : OP_I32_DIV_U); setReg32(EAX);
  elseOp();
  getReg32(EDX); op_(OP_I64_EXTEND_I32_U); i64Const(32); op_(OP_I64_SHL);
  getReg32(EAX); op_(OP_I64_EXTEND_I32_U); op_(OP_I64_OR); localSet(L_W);
  localGet(L_W); localGet(L_T1); op_(signed ? OP_I64_EXTEND_I32_S : OP_I64_EXTEND_I32_U);
  op_(signed ? OP_I64_DIV_S : OP_I64_DIV_U); localSet(L_W2);
  // The quotient must fit 32 bits (else #DE).
  if (signed) { localGet(L_W2); op_(OP_I32_WRAP_I64); op_(OP_I64_EXTEND_I32_S); localGet(L_W2); op_(OP_I64_EQ); }
  else { localGet(L_W2); i64Const(32); op_(OP_I64_SHR_U); op_(OP_I64_EQZ); }
  ifVoid();
  localGet(L_W); localGet(L_T1); op_(signed ? OP_I64_EXTEND_I32_S : OP_I64_EXTEND_I32_U);
  op_(signed ? OP_I64_REM_S : OP_I64_REM_U); op_(OP_I32_WRAP_I64); setReg32(EDX);
  localGet(L_W2); op_(OP_I32_WRAP_I64); setReg32(EAX);
  elseOp();
  divAccCall(size, signed);
  end();
  end();
  elseOp();
  divAccCall(size, signed);
  end();
}
function divAccCall(size: i32, signed: bool): void {
  setInstrEip(insRel);
  getReg32(EAX); op_(0x1a); getReg32(EDX); op_(0x1a); // (divAcc reads both from the register file: the block loads them)
  storeReg(EAX); storeReg(EDX);
  konst(size); localGet(L_T1); konst(signed ? 1 : 0); call(F_DIV); op_(0x1a);
  reloadReg(EAX); reloadReg(EDX);
  leaveIfAborted();
}

/** C0 C1 D0-D3: shifts and rotates. SHL, SHR and SAR by a constant run inline, the rest through shiftOp. */
function shift(o: i32, s: i32): void {
  rmwRead(s); localSet(L_T3); // the operand (read and probed even when the count turns out 0, as exec.ts)
  if (o <= 0xd1) {
    const count = (o < 0xd0 ? value(0) : 1) & 31;
    if (count == 0) return;
    if (reg >= 4 && reg != 6) { // SHL(4) SHR(5) SAR(7); 6 is SAL = SHL but left to shiftOp like the rest
      constShift(reg, s, count);
    } else {
      spillFlags();
      konst(reg); konst(s); localGet(L_T3); konst(count); call(F_SHIFT);
      reloadFlags(); forgetFlags();
    }
    rmwWrite(s);
    leaveIfPending();
    return;
  }
  // By CL: nothing happens for a count of 0 (mod 32).
  clearPending(); // (the write happens only for a count other than 0)
  getReg8(ECX); konst(31); op_(OP_I32_AND); localTee(L_T2);
  ifVoid();
  spillFlags();
  konst(reg); konst(s); localGet(L_T3); localGet(L_T2); call(F_SHIFT);
  reloadFlags();
  rmwWrite(s);
  end();
  forgetFlags();
  leaveIfPending();
}
/** Stack () -> [result]: SHL/SHR/SAR of L_T3 (masked to s) by 1..31, flags as shift.ts's lazyResult. */
function constShift(o: i32, s: i32, count: i32): void {
  const n = s << 3, m = sizeMask(s), sign = signBit(s);
  if (o == 4) {
    localGet(L_T3); konst(count); op_(OP_I32_SHL); konst(m); op_(OP_I32_AND); localSet(L_T1);
    // CF = the last bit shifted out; OF = CF ^ the result's sign
    if (count <= n) { localGet(L_T3); konst(n - count); op_(OP_I32_SHR_U); konst(1); op_(OP_I32_AND); } else konst(0);
    localTee(L_T2);
    localGet(L_T1); konst(sign); op_(OP_I32_AND); konst(0); op_(OP_I32_NE); op_(OP_I32_XOR);
    konst(11); op_(OP_I32_SHL); localGet(L_T2); op_(OP_I32_OR);
  } else if (o == 5) {
    localGet(L_T3); konst(count); op_(OP_I32_SHR_U); localSet(L_T1);
    localGet(L_T3); konst(count - 1); op_(OP_I32_SHR_U); konst(1); op_(OP_I32_AND);
    if (count == 1) { localGet(L_T3); konst(sign); op_(OP_I32_AND); konst(0); op_(OP_I32_NE); konst(11); op_(OP_I32_SHL); op_(OP_I32_OR); }
  } else {
    localGet(L_T3); if (s == 2) op_(OP_I32_EXTEND16_S); else if (s == 1) op_(OP_I32_EXTEND8_S); localSet(L_T2);
    localGet(L_T2); konst(count < 31 ? count : 31); op_(OP_I32_SHR_S); konst(m); op_(OP_I32_AND); localSet(L_T1);
    localGet(L_T2); konst(count - 1 < 31 ? count - 1 : 31); op_(OP_I32_SHR_S); konst(1); op_(OP_I32_AND);
  }
  // stack: [CF | OF bits]; lazyResult wants [result, bits]
  localSet(L_T2); localGet(L_T1); localGet(L_T2);
  recordResult(s);
  localGet(L_T1);
}

/** FE/FF: INC, DEC, CALL/JMP near indirect, PUSH r/m; others through the interpreter. */
function group45(s: i32): i32 {
  if (reg < 2) { rmwRead(s); emitIncDec(s, reg == 1); rmwWrite(s); leaveIfPending(); return NEXT; }
  if (s == 1) return generic();
  switch (reg) {
    case 2: case 4: { // CALL/JMP near indirect: the target is read first (a fault leaves nothing changed)
      readRm(s); localSet(L_T1);
      if (nativeSize() && csFlat()) {
        // Flat 32-bit code: no limit to check, so the CALL pushes as a direct one does and both leave at the target.
        if (reg == 2) { pushEip(insNext); localSet(L_VAL); emitPush(s); }
        localGet(L_T1); globalSet(G_EIP);
        markLink();
        leave(unretiredAfter());
        return ENDS;
      }
      setInstrEip(insRel); setEip(insNext);
      getReg32(ESP); op_(0x1a); storeReg(ESP);
      localGet(L_T1); konst(s); call(reg == 2 ? F_CALL : F_JUMP);
      reloadEsp();
      leaveIfAborted();
      leave(unretiredAfter());
      return ENDS;
    }
    case 6: readRm(s); localSet(L_VAL); emitPush(s); leaveIfPending(); return NEXT;
    default: return generic();
  }
}

// ---- port I/O ------------------------------------------------------------------------------------
// The core checks the permission (a #GP leaves before the instruction) and serves a direct
// port at once, or exits: IN then restarts once the VMM has answered, OUT leaves after itself.

/** The port of IN/OUT `o`: DX (EC-EF) or the immediate byte. */
function pushPort(o: i32): void { if (o >= 0xec) getReg16(EDX); else konst(value(0) & 0xff); }
function portIn(o: i32): void {
  const s = (o & 1) != 0 ? os : 1;
  setInstrEip(insRel); setEip(insNext);
  storeDirty(); // (the device serving a direct port may look at the registers)
  pushPort(o); konst(s); call(F_IN); localSet(L_T1);
  leaveIfAborted();
  localGet(L_T1); setReg(s, EAX);
  leaveIfExitKeepEip(); // a direct port's device asked run() to end after the instruction
}
function portOut(o: i32): void {
  const s = (o & 1) != 0 ? os : 1;
  setInstrEip(insRel); setEip(insNext);
  storeDirty();
  pushPort(o); konst(s); getReg(s, EAX); call(F_OUT);
  leaveIfAborted();
  leaveIfExitKeepEip();
}

// ---- 0F opcodes ------------------------------------------------------------------------------------

function twoByte(op2: i32): i32 {
  if (readsTsc(rec)) return rdtsc();
  if (op2 >= 0x80 && op2 <= 0x8f) return jcc(op2 & 15, os == 4 ? value(1) : sext16(value(1)));
  if (op2 >= 0x90 && op2 <= 0x9f) {
    if (!mod3) ea();
    emitCondition(op2 & 15); writeRm(1); leaveIfPending();
    return NEXT;
  }
  if (op2 >= 0x40 && op2 <= 0x4f) { // CMOVcc: the source is read even when the condition is false
    readRm(os); localSet(L_T1);
    emitCondition(op2 & 15);
    ifVoid(); localGet(L_T1); setReg(os, reg); end();
    return NEXT;
  }
  if (op2 >= 0xc8 && op2 <= 0xcf) { // BSWAP
    const r = op2 & 7;
    if (os == 4) {
      getReg32(r); konst(0xff00ff); op_(OP_I32_AND); konst(8); op_(0x77 /* rotl */);
      getReg32(r); konst(0xff00ff00); op_(OP_I32_AND); konst(8); op_(0x78 /* rotr */);
      op_(OP_I32_OR); konst(16); op_(0x77 /* rotl */); setReg32(r);
    } else { konst(0); setReg(2, r); }
    return NEXT;
  }
  // INVLPG and MOV CR3 end their block (tcache.ts): the code page may map elsewhere after them,
  // so the next block runs here only if the TLB still maps it where the region was compiled for.
  if (isInvlpg(rec) || isMovToCr3(rec)) { genericBody(); emitGoto(insNext, unretiredAfter(), true); return ENDS; }
  switch (op2) {
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f: return NEXT; // hint NOPs
    case 0xaf: getReg(os, reg); readRm(os); imulTrunc(os); setReg(os, reg); return NEXT;
    case 0xba: // BT/BTS/BTR/BTC r/m, imm8: the bit is imm8 modulo the operand size, in the operand itself
      if (reg < 4) return generic(); // (#UD)
      bitOp(reg - 4, os, value(1) & (os * 8 - 1));
      return NEXT;
    case 0xa3: case 0xab: case 0xb3: case 0xbb: // BT/BTS/BTR/BTC r/m, r: a register's bit (in memory the register addresses a bit string: the interpreter's)
      if (!mod3) return generic();
      bitOp((op2 >> 3) & 3, os, -1);
      return NEXT;
    case 0xc0: case 0xc1: { // XADD r/m, r: TEMP = SRC + DEST, SRC = DEST, DEST = TEMP; flags as ADD (emitAlu leaves DEST in L_FA)
      const s = op2 == 0xc0 ? 1 : os;
      rmwRead(s); getReg(s, reg); emitAlu(ALU_ADD, s); localSet(L_T3);
      localGet(L_FA); setReg(s, reg);
      localGet(L_T3); rmwWrite(s); leaveIfPending();
      return NEXT;
    }
    case 0xb0: case 0xb1: { // CMPXCHG r/m, r: flags as CMP accumulator, DEST; equal: DEST = SRC, else the accumulator = DEST (DEST is written back either way)
      const s = op2 == 0xb0 ? 1 : os;
      rmwRead(s); localSet(L_T3);
      getReg(s, EAX); localGet(L_T3); emitAlu(ALU_CMP, s); // (L_FB = DEST, L_FRES = accumulator - DEST)
      localGet(L_FRES); op_(OP_I32_EQZ); localSet(L_T3);
      getReg(s, reg); localGet(L_FB); localGet(L_T3); op_(OP_SELECT);
      rmwWrite(s);
      localGet(L_T3); op_(OP_I32_EQZ); ifVoid(); localGet(L_FB); setReg(s, EAX); end();
      leaveIfPending();
      return NEXT;
    }
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
      const s = (op2 & 1) != 0 ? 2 : 1;
      readRm(s);
      if (op2 >= 0xbe) op_(s == 2 ? OP_I32_EXTEND16_S : OP_I32_EXTEND8_S);
      setReg(os, reg);
      return NEXT;
    }
    default: return generic();
  }
}

/**
 * BT family (cpu/ops/bits.ts bitTest; bop 0 BT, 1 BTS, 2 BTR, 3 BTC) on the r/m operand, bit `bit` (-1: the reg
 * operand's value modulo the size, register forms only): CF = the bit, set as setFlags(getFlags() ...) does
 * (the other flags materialised, unchanged), then BTS/BTR/BTC write the operand back.
 */
function bitOp(bop: i32, s: i32, bit: i32): void {
  if (bop == 0) readRm(s); else rmwRead(s);
  localSet(L_T3);
  if (bit < 0) { getReg(s, reg); konst(s * 8 - 1); op_(OP_I32_AND); localSet(L_T2); }
  emitGetFlags(); konst(~CF); op_(OP_I32_AND);
  localGet(L_T3); pushBit(bit); op_(OP_I32_SHR_U); konst(1); op_(OP_I32_AND); op_(OP_I32_OR);
  emitSetFlags();
  if (bop == 0) return;
  localGet(L_T3);
  konst(1); pushBit(bit); op_(OP_I32_SHL);
  if (bop == 2) { konst(-1); op_(OP_I32_XOR); op_(OP_I32_AND); } else op_(bop == 1 ? OP_I32_OR : OP_I32_XOR);
  rmwWrite(s); leaveIfPending();
}

/** Push bitOp's bit index: the constant, or (-1) the one in L_T2. */
function pushBit(bit: i32): void { if (bit < 0) localGet(L_T2); else konst(bit); }

// ---- string instructions -----------------------------------------------------------------------------

/**
 * MOVS, CMPS, STOS, LODS, SCAS without REP, 32-bit addressing: one element, as string.ts once() — the source
 * at seg:ESI (DS unless overridden), the destination at ES:EDI, each read or write faulting before anything
 * changes, CMPS and SCAS setting the flags as CMP (source − destination, accumulator − destination), then ESI
 * and EDI moving by the size, backwards when DF is set. (i386 Linux's strcmp and strncmp are LODSB/SCASB loops.)
 */
function stringOnce(op: i32, s: i32): void {
  const src = segOv >= 0 ? segOv : DS;
  const k = op & 0xfe;
  const fromSource = k == 0xa4 || k == 0xa6 || k == 0xac; // MOVS, CMPS, LODS read seg:ESI (and move ESI)
  if (fromSource) { getReg32(ESI); localSet(L_OFF); emitRead(src, s); localSet(L_T3); }
  if (k == 0xa4 || k == 0xaa) {
    clearPending();
    getReg32(EDI); localSet(L_OFF);
    if (k == 0xa4) localGet(L_T3); else getReg(s, EAX);
    localSet(L_VAL); emitWrite(ES, s);
  } else if (k != 0xac) {
    // CMPS: [ESI] − [EDI]; SCAS: accumulator − [EDI] (the destination read second, as the interpreter).
    getReg32(EDI); localSet(L_OFF); emitRead(ES, s); localSet(L_VAL);
    if (k == 0xa6) localGet(L_T3); else getReg(s, EAX);
    localGet(L_VAL); emitAlu(ALU_CMP, s);
  } else { localGet(L_T3); setReg(s, EAX); }
  if (fromSource) stringAdvance(ESI, s);
  if (k != 0xac) stringAdvance(EDI, s);
  leaveIfPending();
}
/** r += DF ? −s : s */
function stringAdvance(r: i32, s: i32): void {
  getReg32(r); konst(-s); konst(s); localGet(L_FRAW); konst(DF); op_(OP_I32_AND); op_(OP_SELECT); op_(OP_I32_ADD); setReg32(r);
}

// ---- control transfers ------------------------------------------------------------------------------

/** Jcc rel: taken goes to the target (inside the region when a block starts there), else the block goes on. */
function jcc(cc: i32, d: i32): i32 {
  if (!nativeSize()) return generic();
  emitCondition(cc);
  ifVoid();
  jumpTo(insNext + d);
  end();
  return NEXT;
}
/** LOOPNE/LOOPE/LOOP/JECXZ rel8: the count is ECX or CX (address size); no flag changes. */
function loop(opc: i32, d: i32): i32 {
  if (!nativeSize()) return generic();
  const cs = as32 ? 4 : 2;
  getReg(cs, ECX);
  if (opc == 0xe3) op_(OP_I32_EQZ);
  else {
    konst(1); op_(OP_I32_SUB); setReg(cs, ECX);
    getReg(cs, ECX); konst(0); op_(OP_I32_NE);
    if (opc != 0xe2) { emitCondition(opc == 0xe1 ? 4 : 5); op_(OP_I32_AND); } // LOOPE: ZF set, LOOPNE: ZF clear
  }
  ifVoid();
  jumpTo(insNext + d);
  end();
  return NEXT;
}
function jmpRel(d: i32): i32 {
  if (!nativeSize()) return generic();
  jumpTo(insNext + d);
  return ENDS;
}
/** A near jump to page offset rel, with the instruction retired: inside the page (or a flat code segment) needs no limit check. */
function jumpTo(rel: i32): void {
  if ((rel >= 0 && rel < 4096) || csFlat()) { emitGoto(rel, unretiredAfter()); return; }
  setInstrEip(insRel);
  pushEip(rel); konst(os); call(F_JUMP);
  leaveIfAborted();
  leave(unretiredAfter());
}
/** CS is flat in this region (32-bit code, base 0, 4 GiB): no near transfer can fault on its limit. */
function csFlat(): bool { return regionCs32 && flatSeg(CS); }
function callRel(d: i32): i32 {
  if (!nativeSize()) return generic();
  const t = insNext + d;
  if (!(t >= 0 && t < 4096) && !csFlat()) {
    // callNear checks the limit before it pushes (in flat code there is none: the push is inline, to any target)
    setInstrEip(insRel); setEip(insNext);
    getReg32(ESP); op_(0x1a); storeReg(ESP);
    pushEip(t); konst(os); call(F_CALL);
    reloadEsp();
    leaveIfAborted();
    leave(unretiredAfter());
    return ENDS;
  }
  pushEip(insNext); localSet(L_VAL);
  emitPush(os);
  leaveIfPendingAt(t);
  emitGoto(t, unretiredAfter());
  return ENDS;
}
/**
 * RET [imm16]: a return address read on the fast path that starts a block of this region (after one
 * of its CALLs) stays inside; any other leaves with EIP = it, when CS is flat 32-bit code (no limit to
 * check) — kernel code returns to callers on other pages all the time. Else the interpreter's.
 */
function ret(imm: i32): i32 {
  if (nativeSize() && (landingCount > 0 || csFlat()) && stackFast()) {
    getReg32(ESP); emitStackHost(os);
    localGet(L_HOST);
    ifLikely();
    localGet(L_HOST); loadHost(os); localSet(L_T1);
    for (let k = 0; k < landingCount; k++) {
      localGet(L_T1); pushEip(landingRel(k)); op_(OP_I32_EQ);
      ifVoid();
      getReg32(ESP); konst(os + imm); op_(OP_I32_ADD); setReg32(ESP);
      emitGoto(landingRel(k), unretiredAfter());
      end();
    }
    if (csFlat()) {
      getReg32(ESP); konst(os + imm); op_(OP_I32_ADD); setReg32(ESP);
      localGet(L_T1); globalSet(G_EIP);
      markLink();
      leave(unretiredAfter());
    }
    end();
  }
  setInstrEip(insRel);
  getReg32(ESP); op_(0x1a); storeReg(ESP);
  konst(os); konst(imm); call(F_RET);
  reloadEsp();
  leaveIfAborted();
  leave(unretiredAfter());
  return ENDS;
}
/** LEAVE (32-bit operand): ESP = EBP + 4, EBP = [SS:EBP]; off the fast path, the interpreter's. */
function leaveInsn(): void {
  getReg32(EBP); emitStackHost(4);
  localGet(L_HOST);
  ifLikely();
  localGet(L_HOST); loadHost(4); localSet(L_T1);
  getReg32(EBP); konst(4); op_(OP_I32_ADD); setReg32(ESP);
  localGet(L_T1); setReg32(EBP);
  elseOp();
  genericBody();
  end();
}

// ---- everything else ------------------------------------------------------------------------------

/** The record through replayRecord: registers and flags written back first, read again after. */
function generic(): i32 {
  genericBody();
  return NEXT;
}
/** RDTSC (0F 31) and RDTSCP (0F 01 F9): the retired count exact before it (tcache.ts jitRetiredAt), then the interpreter's body. */
function rdtsc(): i32 {
  localGet(P_R); konst(unretiredAfter() + 1); op_(OP_I32_ADD); call(F_RETIRED_AT);
  genericBody();
  return NEXT;
}
function genericBody(): void {
  setInstrEip(insRel); setEip(insNext);
  storeDirty(); spillFlags();
  globalGet(G_FLAT_SEGS); localSet(L_SEGS);
  konst(rec); call(F_STEP);
  reloadCached(); reloadFlags();
  forgetFlags();
  leaveIfAborted();
  leaveIfExitKeepEip();
  // A jump taken (16-bit Jcc, LOOP, a REP string instruction not done yet) leaves the straight line,
  // and a segment load that made a segment less flat leaves the region: the code after it may rely on
  // that bit (memory.ts; the cache checks what the region relies on before it enters again).
  globalGet(G_EIP); pushEip(insNext); op_(OP_I32_NE);
  localGet(L_SEGS); globalGet(G_FLAT_SEGS); konst(-1); op_(OP_I32_XOR); op_(OP_I32_AND); op_(OP_I32_OR);
  leaveAfterIfKeepEip();
}
