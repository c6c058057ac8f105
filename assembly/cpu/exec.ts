// The interpreter: prefixes, then one switch over the one-byte opcode map
// and one over the 0F map. Instruction families with more than a few lines
// live in ops/; this file decodes operands and dispatches.
import {
  eip, setEip, instrEip, setInstrEip, cs32, ss32, cpl, protectedMode, flagsRaw, setFlagsRaw,
  getReg, setReg, reg32, setReg32, reg16, setReg16, reg8, setReg8, segSel, segBase,
  EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, ES, CS, SS, DS, FS, GS,
  CF, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL, VM, AC, ID, RF, NT, sext, sizeMask, setHalted, setIrqShadow, cr0, CR0_EM, CR0_TS,
} from "../state";
import {
  opsize, adsize32, modrmMod, modrmReg, modrmRm, eaSeg, eaOff, resetPrefixes, setOpsize, setAdsize32,
  setSegOverride, setRepPrefix, setLockPrefix, lockPrefix, decodeModrm, decodeMoffs, readRM, writeRM, readReg, writeReg,
  eaPlus, dataSeg, repPrefix, modrm, eaBaseEsp, adjustEa,
} from "./decode";
import { fetch8, fetch16, fetchImm, fetchS8, rawFetch8, fetchMode, FETCH_RECORD } from "./fetch";
import { recordHeader, forgetReplayPrefixes } from "../tcache";
import { readV, writeV, push, pop, getSP, setSP, spPlus, peek, probeWriteV } from "./access";
import { getFlags, setFlags, testCC, getCF, lazyLogic, flagsLazy } from "./flags";
import { alu, inc, dec, neg, mulAcc, imulTrunc, divAcc, ALU_CMP, ALU_SUB, ALU_AND } from "./ops/arith";
import { shiftOp, shiftDouble } from "./ops/shift";
import { bitTest, bitScan, bitIndex, bswap } from "./ops/bits";
import { daa, das, aaaAas, aam, aad } from "./ops/bcd";
import { stringOp, STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS, STR_INS, STR_OUTS } from "./ops/string";
import { inAcc, outAcc, ioAllowed } from "./ops/io";
import { farTransfer, farReturn, iret, jumpNear, callNear, retNear, writableFlags } from "./ops/control";
import {
  group6, group7, larLsl, arpl, movCr, movDr, clts, rdmsr, wrmsr, rdtsc, rdpmc, cpuid, sysenter, sysexit,
} from "./ops/system";
import { loadSeg } from "./segments";
import { deliver } from "./interrupts";
import { aborted, raise, raiseNoCode, raiseUD, requestRestart, GP, UD, NM, BP, OFV, BR } from "../fault";
import { setExit, setExitField, setExitByte, EXIT_UNIMPLEMENTED, EXIT_HLT, EXIT_PAUSE, pauseExiting, X_DETAIL, X_NBYTES, X_CS, X_EIP } from "../exit";
import { readLin } from "./access";
import { cmpxchg8b } from "./ops/cx8";
import { insnLength } from "./opcodes";
import { clearAbort } from "../fault";
import { exceptionExits } from "../controls";
import { fpuExecute, fpuWait } from "./fpu/dispatch";
import { fxsave, fxrstor } from "./fpu/env";
import { isMmxOpcode, mmxExecute } from "./mmx";
import { isSseOpcode, sseExecute, sseMxcsr } from "./sse/exec";
import { isSse3Form, sse3Execute } from "./sse/sse3";
import { ssse3Execute, isSsse3 } from "./ssse3";
import { sse41Execute, isSse41 } from "./sse41";
import { sse42Execute, isSse42, crc32 } from "./sse42";
import { setModrmRaw } from "./decode";
import { popcnt32 } from "../portable";
import { xbegin, xabort, txDepth, rtmAbort } from "./ops/rtm";

/** Unimplemented instruction: leave the core with its bytes, never guess. */
export function unimplemented(detail: i32): void {
  setExit(EXIT_UNIMPLEMENTED, i32(segBase(CS) + instrEip), 0, 0);
  setExitField(X_DETAIL, detail);
  // Exactly the instruction's bytes when the opcode table knows its format, else 15.
  let n = 0;
  while (n < 15) {
    const lin = i32(segBase(CS) + instrEip + n);
    insnBytes[n] = u8(readLinQuiet(lin));
    setExitByte(n, i32(insnBytes[n]));
    n++;
    if (insnLength(insnBytes, n, cs32) > 0) break;
  }
  setExitField(X_NBYTES, n);
  requestRestart();
}
const insnBytes = new StaticArray<u8>(15);
/** Read a byte for a report; a fault here is not the guest's and is dropped. */
function readLinQuiet(lin: i32): i32 {
  const v = readLin(lin, 1);
  if (aborted) { clearAbort(); return 0; }
  return v;
}

/** Execute one instruction at CS:EIP. */
export function step(): void {
  setInstrEip(eip);
  resetPrefixes(cs32);
  forgetReplayPrefixes();
  let op = rawFetch8();
  if (aborted) return;
  if (!isPrefix(op)) { dispatch(op); return; } // the common case: no prefix
  // Prefixes (at most 14 before the opcode; 15 bytes in all).
  for (let n = 0; ; n++) {
    if (aborted) return;
    if (n >= 14) { raise(GP, 0); return; }
    switch (op) {
      case 0x66: setOpsize(cs32 ? 2 : 4); break;
      case 0x67: setAdsize32(!cs32); break;
      case 0x26: setSegOverride(ES); break;
      case 0x2e: setSegOverride(CS); break;
      case 0x36: setSegOverride(SS); break;
      case 0x3e: setSegOverride(DS); break;
      case 0x64: setSegOverride(FS); break;
      case 0x65: setSegOverride(GS); break;
      case 0xf0: setLockPrefix(true); break;
      case 0xf2: case 0xf3: setRepPrefix(op); break;
      default:
        if (lockPrefix && !lockable(op)) { raiseUD(); return; }
        dispatch(op);
        return;
    }
    op = rawFetch8();
  }
}

/** Execute the opcode; when recording for the translation cache, note the decoded prefixes first. */
function dispatch(op: i32): void {
  if (txDepth != 0 && abortsTransaction(op)) { rtmAbort(0); return; }
  if (fetchMode == FETCH_RECORD) recordHeader(op);
  exec1(op);
}

/** 26 2E 36 3E (segments), 64-67 (FS GS operand/address size), F0 F2 F3 (LOCK REPNE REP). */
function isPrefix(op: i32): bool {
  return (op & 0xe7) == 0x26 || (op & 0xfc) == 0x64 || ((op & 0xfc) == 0xf0 && op != 0xf1);
}

/**
 * LOCK is allowed only on read-modify-write instructions with a memory
 * destination (SDM, LOCK); anything else raises #UD. Peeks at the opcode's
 * following bytes without consuming them.
 */
function lockable(op: i32): bool {
  let opc = op;
  let at = 0;
  if (op == 0x0f) { opc = 0x100 | peekByte(0); at = 1; }
  const m = peekByte(at);
  if (aborted) return true; // let the real fetch fault
  const mem = (m >> 6) != 3;
  const reg = (m >> 3) & 7;
  if (opc < 0x40 && (opc & 7) < 2 && (opc >> 3) != 7) return mem;     // ALU Eb,Gb / Ev,Gv except CMP
  if (opc >= 0x80 && opc <= 0x83) return mem && reg != 7;              // group 1 except CMP
  if (opc == 0x86 || opc == 0x87) return mem;                          // XCHG
  if (opc == 0xf6 || opc == 0xf7) return mem && (reg == 2 || reg == 3); // NOT, NEG
  if (opc == 0xfe || opc == 0xff) return mem && reg < 2;               // INC, DEC
  if (opc == 0x1ab || opc == 0x1b3 || opc == 0x1bb) return mem;        // BTS, BTR, BTC
  if (opc == 0x1ba) return mem && reg >= 5;                            // BTS/BTR/BTC imm
  if (opc == 0x1b0 || opc == 0x1b1 || opc == 0x1c0 || opc == 0x1c1) return mem; // CMPXCHG, XADD
  if (opc == 0x1c7) return mem && reg == 1;                            // CMPXCHG8B
  return false;
}
/**
 * Instructions an RTM transaction does not run (cpu/ops/rtm.ts): those that always abort one (CPUID, PAUSE; SDM
 * vol. 1, 16.3.8.1) and those an implementation may abort on whose effects reach beyond the registers and memory
 * the transaction can undo, or that would leave the core for the VMM: I/O, HLT, INT n, INT3, INTO, INT1, IRET, far
 * transfers, SYSENTER/SYSEXIT, MOV to and from control and debug registers, RDMSR/WRMSR, the 0F 00 and 0F 01 groups
 * (descriptor tables, LMSW, INVLPG, VMCALL) but for XEND and XTEST, CLTS, INVD/WBINVD and RSM.
 */
function abortsTransaction(op: i32): bool {
  switch (op) {
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0xe4: case 0xe5: case 0xe6: case 0xe7:
    case 0xec: case 0xed: case 0xee: case 0xef:
    case 0xcc: case 0xcd: case 0xce: case 0xf1: case 0xcf: case 0xf4:
    case 0x9a: case 0xea: case 0xca: case 0xcb:
      return true;
    case 0x90: return repPrefix == 0xf3; // PAUSE
    // (A fault while peeking has aborted the transaction already: true, and nothing runs.)
    case 0xff: { const r = (peekByte(0) >> 3) & 7; return aborted || r == 3 || r == 5; } // far CALL, far JMP
    case 0x0f: {
      const b = peekByte(0);
      if (aborted) return true;
      if (b == 0x01) { const m = peekByte(1); return aborted || (m != 0xd5 && m != 0xd6); }
      return b == 0x00 || b == 0x06 || b == 0x08 || b == 0x09 || (b >= 0x20 && b <= 0x23) || b == 0x30 || b == 0x32 ||
        b == 0x34 || b == 0x35 || b == 0xa2 || b == 0xaa;
    }
    default: return false;
  }
}

function peekByte(i: i32): i32 {
  const save = eip;
  setEip(i32(save + i));
  const b = rawFetch8();
  setEip(save);
  return b;
}

/** Execute one-byte opcode `op` (prefixes already decoded). The translation cache calls this to replay. */
export function exec1(op: i32): void {
  const sz = opsize;
  // ALU block 00-3F: op>>3 selects the operation, op&7 the form.
  if (op < 0x40 && (op & 7) < 6) {
    const aop = op >> 3;
    switch (op & 7) {
      case 0: case 1: { // Eb,Gb / Ev,Gv
        const s = (op & 1) != 0 ? sz : 1;
        decodeModrm(); if (aborted) return;
        const a = readRM(s); if (aborted) return; if (aop != ALU_CMP && !rmwWritable(s)) return;
        const r = alu(aop, s, a, getReg(s, modrmReg));
        if (aop != ALU_CMP) writeRM(s, r);
        return;
      }
      case 2: case 3: { // Gb,Eb / Gv,Ev
        const s = (op & 1) != 0 ? sz : 1;
        decodeModrm(); if (aborted) return;
        const b = readRM(s); if (aborted) return;
        const r = alu(aop, s, getReg(s, modrmReg), b);
        if (aop != ALU_CMP) setReg(s, modrmReg, r);
        return;
      }
      case 4: { const b = fetch8(); if (aborted) return; const r = alu(aop, 1, reg8(0), b); if (aop != ALU_CMP) setReg8(0, r); return; }
      default: { const b = fetchImm(sz); if (aborted) return; const r = alu(aop, sz, getReg(sz, EAX), b); if (aop != ALU_CMP) setReg(sz, EAX, r); return; }
    }
  }
  switch (op) {
    case 0x06: pushSeg(ES); return;
    case 0x07: popSeg(ES); return;
    case 0x0e: pushSeg(CS); return;
    case 0x0f: exec0F(); return;
    case 0x16: pushSeg(SS); return;
    case 0x17: popSeg(SS); return;
    case 0x1e: pushSeg(DS); return;
    case 0x1f: popSeg(DS); return;
    case 0x27: daa(); return;
    case 0x2f: das(); return;
    case 0x37: aaaAas(false); return;
    case 0x3f: aaaAas(true); return;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      setReg(sz, op & 7, inc(sz, getReg(sz, op & 7))); return;
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      setReg(sz, op & 7, dec(sz, getReg(sz, op & 7))); return;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      push(sz, getReg(sz, op & 7)); return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const v = pop(sz); if (aborted) return;
      setReg(sz, op & 7, v); return;
    }
    case 0x60: pusha(sz); return;
    case 0x61: popa(sz); return;
    case 0x62: bound(sz); return;
    case 0x63: decodeModrm(); if (aborted) return; arpl(); return;
    case 0x68: { const v = fetchImm(sz); if (aborted) return; push(sz, v); return; }
    case 0x69: case 0x6b: {
      decodeModrm(); if (aborted) return;
      const a = readRM(sz); if (aborted) return;
      const b = op == 0x69 ? fetchImm(sz) : fetchS8(); if (aborted) return;
      setReg(sz, modrmReg, imulTrunc(sz, a, b) & sizeMask(sz)); return;
    }
    case 0x6a: { const v = fetchS8(); if (aborted) return; push(sz, v); return; }
    case 0x6c: stringOp(STR_INS, 1); return;
    case 0x6d: stringOp(STR_INS, sz); return;
    case 0x6e: stringOp(STR_OUTS, 1); return;
    case 0x6f: stringOp(STR_OUTS, sz); return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const d = fetchS8(); if (aborted) return;
      if (testCC(op & 15)) jumpNear(i32(eip + d), sz);
      return;
    }
    case 0x80: case 0x82: case 0x81: case 0x83: {
      const s = op == 0x81 || op == 0x83 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const a = readRM(s); if (aborted) return; if (modrmReg != ALU_CMP && !rmwWritable(s)) return;
      const b = op == 0x81 ? fetchImm(s) : op == 0x83 ? fetchS8() & sizeMask(s) : fetch8(); if (aborted) return;
      const r = alu(modrmReg, s, a, b);
      if (modrmReg != ALU_CMP) writeRM(s, r);
      return;
    }
    case 0x84: case 0x85: {
      const s = op == 0x85 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const a = readRM(s); if (aborted) return;
      alu(ALU_AND, s, a, getReg(s, modrmReg)); return;
    }
    case 0x86: case 0x87: {
      const s = op == 0x87 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const a = readRM(s); if (aborted) return;
      writeRM(s, getReg(s, modrmReg)); if (aborted) return;
      setReg(s, modrmReg, a); return;
    }
    case 0x88: case 0x89: {
      const s = op == 0x89 ? sz : 1;
      decodeModrm(); if (aborted) return;
      writeRM(s, getReg(s, modrmReg)); return;
    }
    case 0x8a: case 0x8b: {
      const s = op == 0x8b ? sz : 1;
      decodeModrm(); if (aborted) return;
      const v = readRM(s); if (aborted) return;
      setReg(s, modrmReg, v); return;
    }
    case 0x8c: { // MOV Ev, Sreg: a register destination gets the selector zero-extended
      decodeModrm(); if (aborted) return;
      if (modrmReg > 5) { raiseUD(); return; }
      if (modrmMod == 3) setReg(sz, modrmRm, segSel(modrmReg)); else writeRM(2, segSel(modrmReg));
      return;
    }
    case 0x8d: { // LEA
      decodeModrm(); if (aborted) return;
      if (modrmMod == 3) { raiseUD(); return; }
      setReg(sz, modrmReg, eaOff & sizeMask(sz)); return;
    }
    case 0x8e: {
      decodeModrm(); if (aborted) return;
      if (modrmReg == CS || modrmReg > 5) { raiseUD(); return; }
      const v = readRM(2); if (aborted) return;
      if (!loadSeg(modrmReg, v)) return;
      if (modrmReg == SS) setIrqShadow(true);
      return;
    }
    case 0x8f: { // POP Ev: ESP is incremented before the destination address is used
      decodeModrmPop(sz); return;
    }
    case 0x90: // NOP / PAUSE
      if (repPrefix == 0xf3 && pauseExiting) setExit(EXIT_PAUSE, 0, 0, 0);
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const a = getReg(sz, EAX);
      setReg(sz, EAX, getReg(sz, op & 7));
      setReg(sz, op & 7, a); return;
    }
    case 0x98: if (sz == 2) setReg16(EAX, sext(1, reg8(0)) & 0xffff); else setReg32(EAX, sext(2, reg16(EAX))); return;
    case 0x99: if (sz == 2) setReg16(EDX, (reg16(EAX) & 0x8000) != 0 ? 0xffff : 0); else setReg32(EDX, reg32(EAX) >> 31); return;
    case 0x9a: {
      const off = fetchImm(sz); if (aborted) return;
      const sel = fetch16(); if (aborted) return;
      farTransfer(sel, off, sz, true, eip); return;
    }
    case 0x9b: fpuWait(); return; // WAIT: #NM (MP and TS), then pending x87 exceptions
    case 0x9c: pushf(sz); return;
    case 0x9d: popf(sz); return;
    case 0x9e: { const f = getFlags(); setFlags((f & ~0xd5) | (reg8(4) & 0xd5)); return; }
    case 0x9f: setReg8(4, (getFlags() & 0xd7) | 2); return;
    case 0xa0: case 0xa1: {
      const s = op == 0xa1 ? sz : 1;
      decodeMoffs(); if (aborted) return;
      const v = readV(eaSeg, eaOff, s); if (aborted) return;
      setReg(s, EAX, v); return;
    }
    case 0xa2: case 0xa3: {
      const s = op == 0xa3 ? sz : 1;
      decodeMoffs(); if (aborted) return;
      writeV(eaSeg, eaOff, s, getReg(s, EAX)); return;
    }
    case 0xa4: stringOp(STR_MOVS, 1); return;
    case 0xa5: stringOp(STR_MOVS, sz); return;
    case 0xa6: stringOp(STR_CMPS, 1); return;
    case 0xa7: stringOp(STR_CMPS, sz); return;
    case 0xa8: { const b = fetch8(); if (aborted) return; alu(ALU_AND, 1, reg8(0), b); return; }
    case 0xa9: { const b = fetchImm(sz); if (aborted) return; alu(ALU_AND, sz, getReg(sz, EAX), b); return; }
    case 0xaa: stringOp(STR_STOS, 1); return;
    case 0xab: stringOp(STR_STOS, sz); return;
    case 0xac: stringOp(STR_LODS, 1); return;
    case 0xad: stringOp(STR_LODS, sz); return;
    case 0xae: stringOp(STR_SCAS, 1); return;
    case 0xaf: stringOp(STR_SCAS, sz); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7: {
      const v = fetch8(); if (aborted) return; setReg8(op & 7, v); return;
    }
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: {
      const v = fetchImm(sz); if (aborted) return; setReg(sz, op & 7, v); return;
    }
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const s = (op & 1) != 0 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const a = readRM(s); if (aborted) return; if (!rmwWritable(s)) return;
      let count: i32;
      if (op < 0xd0) { count = fetch8(); if (aborted) return; }
      else count = op < 0xd2 ? 1 : reg8(ECX);
      if ((count & 31) == 0) return;
      writeRM(s, shiftOp(modrmReg, s, a, count)); return;
    }
    case 0xc2: { const n = fetch16(); if (aborted) return; retNear(sz, n); return; }
    case 0xc3: retNear(sz, 0); return;
    case 0xc4: loadFarPointer(ES); return;
    case 0xc5: loadFarPointer(DS); return;
    case 0xc6: case 0xc7: {
      const s = op == 0xc7 ? sz : 1;
      decodeModrm(); if (aborted) return;
      if (modrm == 0xf8) { // XABORT imm8, XBEGIN rel16/32
        const v = fetchImm(s); if (aborted) return;
        if (op == 0xc6) xabort(v); else xbegin(sz == 2 ? (v << 16) >> 16 : v, sz);
        return;
      }
      if (modrmReg != 0) { raiseUD(); return; }
      const v = fetchImm(s); if (aborted) return;
      writeRM(s, v); return;
    }
    case 0xc8: enter(sz); return;
    case 0xc9: { // LEAVE
      const bp = ss32 ? reg32(EBP) : reg16(EBP);
      const v = readV(SS, bp, sz); if (aborted) return;
      if (ss32) setReg32(ESP, i32(bp + sz)); else setReg16(ESP, (bp + sz) & 0xffff);
      setReg(sz, EBP, v); return;
    }
    case 0xca: { const n = fetch16(); if (aborted) return; farReturn(sz, n); return; }
    case 0xcb: farReturn(sz, 0); return;
    case 0xcc: softException(BP); return;
    case 0xcd: { const v = fetch8(); if (aborted) return; if ((flagsRaw & VM) != 0 && ((flagsRaw & IOPL) >> 12) < 3) { raise(GP, 0); return; } softInt(v); return; }
    case 0xce: if ((getFlags() & OF) != 0) softException(OFV); return;
    case 0xcf: iret(sz); return;
    case 0xd4: { const b = fetch8(); if (aborted) return; aam(b); return; }
    case 0xd5: { const b = fetch8(); if (aborted) return; aad(b); return; }
    case 0xd6: setReg8(0, getCF() ? 0xff : 0); return; // SALC
    case 0xd7: { // XLAT
      const off = adsize32 ? i32(reg32(EBX) + reg8(0)) : (reg16(EBX) + reg8(0)) & 0xffff;
      const v = readV(dataSeg(), off, 1); if (aborted) return;
      setReg8(0, v); return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      fpuEscape(op); return;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: {
      const d = fetchS8(); if (aborted) return;
      let c = adsize32 ? reg32(ECX) : reg16(ECX);
      if (op == 0xe3) { if (c == 0) jumpNear(i32(eip + d), sz); return; }
      c = adsize32 ? i32(c - 1) : (c - 1) & 0xffff;
      if (adsize32) setReg32(ECX, c); else setReg16(ECX, c);
      let take = c != 0;
      if (op == 0xe0) take = take && (getFlags() & ZF) == 0;
      else if (op == 0xe1) take = take && (getFlags() & ZF) != 0;
      if (take) jumpNear(i32(eip + d), sz);
      return;
    }
    case 0xe4: case 0xe5: { const p = fetch8(); if (aborted) return; inAcc(p, op == 0xe5 ? sz : 1); return; }
    case 0xe6: case 0xe7: { const p = fetch8(); if (aborted) return; outAcc(p, op == 0xe7 ? sz : 1); return; }
    case 0xe8: { const d = fetchImm(sz); if (aborted) return; callNear(i32(eip + d), sz); return; }
    case 0xe9: { const d = fetchImm(sz); if (aborted) return; jumpNear(i32(eip + d), sz); return; }
    case 0xea: {
      const off = fetchImm(sz); if (aborted) return;
      const sel = fetch16(); if (aborted) return;
      farTransfer(sel, off, sz, false, eip); return;
    }
    case 0xeb: { const d = fetchS8(); if (aborted) return; jumpNear(i32(eip + d), sz); return; }
    case 0xec: inAcc(reg16(EDX), 1); return;
    case 0xed: inAcc(reg16(EDX), sz); return;
    case 0xee: outAcc(reg16(EDX), 1); return;
    case 0xef: outAcc(reg16(EDX), sz); return;
    case 0xf1: softIntIcebp(); return;
    case 0xf4: // HLT
      if (protectedMode && cpl != 0) { raise(GP, 0); return; }
      setHalted(true);
      setExit(EXIT_HLT, 0, 0, 0);
      return;
    case 0xf5: { const f = getFlags(); setFlags(f ^ CF); return; }
    case 0xf6: case 0xf7: group3(op == 0xf7 ? sz : 1); return;
    case 0xf8: setFlags(getFlags() & ~CF); return;
    case 0xf9: setFlags(getFlags() | CF); return;
    case 0xfa: if (!iflagAllowed()) return; setFlags(getFlags() & ~IF); return;
    case 0xfb: {
      if (!iflagAllowed()) return;
      const f = getFlags();
      if ((f & IF) == 0) setIrqShadow(true);
      setFlags(f | IF); return;
    }
    case 0xfc: setFlags(getFlags() & ~DF); return;
    case 0xfd: setFlags(getFlags() | DF); return;
    case 0xfe: {
      decodeModrm(); if (aborted) return;
      if (modrmReg > 1) { raiseUD(); return; }
      const a = readRM(1); if (aborted) return; if (!rmwWritable(1)) return;
      writeRM(1, modrmReg == 0 ? inc(1, a) : dec(1, a)); return;
    }
    case 0xff: group5(sz); return;
    default:
      raiseUD(); return; // 0xD6-class holes are handled above; nothing else is undefined here
  }
}

function iflagAllowed(): bool {
  if (protectedMode && cpl > ((flagsRaw & IOPL) >> 12)) { raise(GP, 0); return false; }
  return true;
}

function pushSeg(s: i32): void {
  // With a 32-bit operand the selector is pushed zero-extended (the SDM allows this or a
  // 16-bit write; QEMU and P6-era CPUs zero-extend).
  push(opsize, segSel(s));
}
function popSeg(s: i32): void {
  const sz = opsize;
  const v = readV(SS, getSP(), sz); if (aborted) return;
  // SP moves by the width of the stack the value was popped from: POP SS may change SS.B.
  const wasSs32 = ss32; const newSp = spPlus(sz);
  if (!loadSeg(s, v & 0xffff)) return;
  if (wasSs32) setReg32(ESP, newSp); else setReg16(ESP, newSp);
  if (s == SS) setIrqShadow(true);
}

function pusha(sz: i32): void {
  const sp0 = getSP();
  for (let r = 0; r < 8; r++) {
    const v = r == ESP ? (sz == 4 ? reg32(ESP) : reg16(ESP)) : getReg(sz, r);
    const off = ss32 ? i32(sp0 - (r + 1) * sz) : (sp0 - (r + 1) * sz) & 0xffff;
    writeV(SS, off, sz, v);
    if (aborted) return;
  }
  setSP(ss32 ? i32(sp0 - 8 * sz) : (sp0 - 8 * sz) & 0xffff);
}
const popaValues = new StaticArray<i32>(8);
function popa(sz: i32): void {
  const sp0 = getSP();
  // Read everything first so a fault leaves the registers untouched.
  const vals = popaValues;
  for (let r = 7; r >= 0; r--) {
    const off = ss32 ? i32(sp0 + (7 - r) * sz) : (sp0 + (7 - r) * sz) & 0xffff;
    vals[r] = readV(SS, off, sz);
    if (aborted) return;
  }
  for (let r = 0; r < 8; r++) if (r != ESP) setReg(sz, r, vals[r]);
  setSP(ss32 ? i32(sp0 + 8 * sz) : (sp0 + 8 * sz) & 0xffff);
}

function bound(sz: i32): void {
  decodeModrm(); if (aborted) return;
  if (modrmMod == 3) { raiseUD(); return; }
  const lo = readV(eaSeg, eaOff, sz); if (aborted) return;
  const hi = readV(eaSeg, eaPlus(sz), sz); if (aborted) return;
  const idx = sext(sz, getReg(sz, modrmReg));
  if (idx < sext(sz, lo) || idx > sext(sz, hi)) raiseNoCode(BR);
}

function decodeModrmPop(sz: i32): void {
  decodeModrm(); if (aborted) return;
  if (modrmReg != 0) { raiseUD(); return; } // 8F /1-/7 are undefined (SDM opcode map, group 1A)
  const v = readV(SS, getSP(), sz); if (aborted) return;
  const oldSp = reg32(ESP);
  setSP(spPlus(sz));
  if (modrmMod == 3) { setReg(sz, modrmRm, v); return; }
  // With ESP as the base register the address uses the incremented ESP (SDM, POP).
  if (eaBaseEsp) adjustEa(sz);
  writeRM(sz, v);
  if (aborted) setReg32(ESP, oldSp);
}

function pushf(sz: i32): void {
  if ((flagsRaw & VM) != 0 && ((flagsRaw & IOPL) >> 12) < 3) { raise(GP, 0); return; }
  const f = getFlags() & ~(VM | RF);
  push(sz, sz == 2 ? f & 0xffff : f);
}
function popf(sz: i32): void {
  if ((flagsRaw & VM) != 0 && ((flagsRaw & IOPL) >> 12) < 3) { raise(GP, 0); return; }
  const v = pop(sz); if (aborted) return;
  // At CPL > IOPL the IF bit is silently kept, at CPL > 0 IOPL is kept (seed 002's "silent failure").
  const m = writableFlags(sz);
  setFlags((getFlags() & ~m) | (v & m));
}

function loadFarPointer(s: i32): void {
  const sz = opsize;
  decodeModrm(); if (aborted) return;
  if (modrmMod == 3) { raiseUD(); return; }
  const off = readV(eaSeg, eaOff, sz); if (aborted) return;
  const sel = readV(eaSeg, eaPlus(sz), 2); if (aborted) return;
  if (!loadSeg(s, sel)) return;
  setReg(sz, modrmReg, off);
  if (s == SS) setIrqShadow(true);
}

function enter(sz: i32): void {
  const size = fetch16(); if (aborted) return;
  const level = fetch8() & 31; if (aborted) return;
  const sp0 = getSP();
  const bp = ss32 ? reg32(EBP) : reg16(EBP);
  let sp = ss32 ? i32(sp0 - sz) : (sp0 - sz) & 0xffff;
  writeV(SS, sp, sz, getReg(sz, EBP)); if (aborted) return;
  // FrameTemp is ESP after the push: on a 16-bit stack ESP's upper half is kept (SDM ENTER).
  const frame = ss32 ? sp : (reg32(ESP) & 0xffff0000) | sp;
  let b = bp;
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      b = ss32 ? i32(b - sz) : (b - sz) & 0xffff;
      const v = readV(SS, b, sz); if (aborted) return;
      sp = ss32 ? i32(sp - sz) : (sp - sz) & 0xffff;
      writeV(SS, sp, sz, v); if (aborted) return;
    }
    sp = ss32 ? i32(sp - sz) : (sp - sz) & 0xffff;
    writeV(SS, sp, sz, frame); if (aborted) return;
  }
  sp = ss32 ? i32(sp - size) : (sp - size) & 0xffff;
  // The final stack pointer must be a valid stack address (probe like hardware).
  if (!probeWriteV(SS, sp, sz)) return;
  setReg(sz, EBP, frame);
  setSP(sp);
}

/**
 * INT3 and INTO: software exceptions, which the VMM's exception bitmap intercepts as VT-x does
 * (SDM Vol. 3 §26.2: #BP and #OF from INT3/INTO exit with EIP at the instruction; INT n never does).
 */
function softException(v: i32): void {
  if (exceptionExits(v)) { raiseNoCode(v); return; }
  softInt(v);
}
function softInt(v: i32): void {
  // The V86 IOPL check belongs to INT n (CD) only: INT3 and INTO are not IOPL-sensitive (SDM INT n).
  deliver(v, true, 0, false, 0, eip);
}
function softIntIcebp(): void {
  // INT1 (ICEBP): delivered as a #DB trap without the gate-DPL check; the exception bitmap intercepts it (a privileged software exception).
  if (exceptionExits(1)) { raiseNoCode(1); return; }
  deliver(1, false, 0, false, 0, eip);
}

function group3(s: i32): void {
  decodeModrm(); if (aborted) return;
  const a = readRM(s); if (aborted) return; if ((modrmReg == 2 || modrmReg == 3) && !rmwWritable(s)) return;
  switch (modrmReg) {
    case 0: case 1: { const b = fetchImm(s); if (aborted) return; alu(ALU_AND, s, a, b); return; }
    case 2: writeRM(s, ~a & sizeMask(s)); return;
    case 3: writeRM(s, neg(s, a)); return;
    case 4: mulAcc(s, a, false); return;
    case 5: mulAcc(s, a, true); return;
    case 6: divAcc(s, a, false); return;
    default: divAcc(s, a, true); return;
  }
}

function group5(sz: i32): void {
  decodeModrm(); if (aborted) return;
  switch (modrmReg) {
    case 0: case 1: {
      const a = readRM(sz); if (aborted) return; if (!rmwWritable(sz)) return;
      writeRM(sz, modrmReg == 0 ? inc(sz, a) : dec(sz, a)); return;
    }
    case 2: { const t = readRM(sz); if (aborted) return; callNear(t, sz); return; } // CALL near indirect
    case 3: case 5: { // CALL/JMP far indirect
      if (modrmMod == 3) { raiseUD(); return; }
      const off = readV(eaSeg, eaOff, sz); if (aborted) return;
      const sel = readV(eaSeg, eaPlus(sz), 2); if (aborted) return;
      farTransfer(sel, off, sz, modrmReg == 3, eip); return;
    }
    case 4: { const t = readRM(sz); if (aborted) return; jumpNear(t, sz); return; }
    case 6: { const v = readRM(sz); if (aborted) return; push(sz, v); return; }
    default: raiseUD(); return;
  }
}

function fpuEscape(op: i32): void {
  if ((cr0 & (CR0_EM | CR0_TS)) != 0) { raiseNoCode(NM); return; }
  fpuExecute(op); // cpu/fpu/dispatch.ts
}

// ---- two-byte opcodes ------------------------------------------------------------

function exec0F(): void {
  const op = fetch8(); if (aborted) return;
  const sz = opsize;
  if (op >= 0x80 && op <= 0x8f) { // Jcc rel16/32
    const d = fetchImm(sz); if (aborted) return;
    if (testCC(op & 15)) jumpNear(i32(eip + d), sz);
    return;
  }
  if (op >= 0x90 && op <= 0x9f) { // SETcc
    decodeModrm(); if (aborted) return;
    writeRM(1, testCC(op & 15) ? 1 : 0); return;
  }
  if (op >= 0x40 && op <= 0x4f) { // CMOVcc: the source is read even when the condition is false
    decodeModrm(); if (aborted) return;
    const v = readRM(sz); if (aborted) return;
    if (testCC(op & 15)) setReg(sz, modrmReg, v);
    return;
  }
  if (op >= 0xc8 && op <= 0xcf) { // BSWAP (16-bit operand: undefined; QEMU zeroes the low word)
    const r = op & 7;
    if (sz == 4) setReg32(r, bswap(reg32(r))); else setReg16(r, 0);
    return;
  }
  switch (op) {
    case 0x00: decodeModrm(); if (aborted) return; group6(); return;
    case 0x01: decodeModrm(); if (aborted) return; group7(); return;
    case 0x02: case 0x03: decodeModrm(); if (aborted) return; larLsl(op == 0x03); return;
    case 0x06: clts(); return;
    case 0x08: case 0x09: if (protectedMode && cpl != 0) { raise(GP, 0); return; } return; // INVD/WBINVD: no caches
    case 0x0b: case 0xb9: case 0xff: raiseUD(); return; // UD2, UD1, UD0
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      decodeModrm(); return; // hint NOPs (NOP Ev, PREFETCHh)
    case 0x20: case 0x22: decodeModrmReg(); if (aborted) return; movCr(op == 0x22); return;
    case 0x21: case 0x23: decodeModrmReg(); if (aborted) return; movDr(op == 0x23); return;
    case 0x30: wrmsr(); return;
    case 0x31: rdtsc(); return;
    case 0x32: rdmsr(); return;
    case 0x33: rdpmc(); return;
    case 0x34: sysenter(); return;
    case 0x35: sysexit(); return;
    case 0xa0: pushSeg(FS); return;
    case 0xa1: popSeg(FS); return;
    case 0xa2: cpuid(); return;
    case 0xa3: case 0xab: case 0xb3: case 0xbb: {
      decodeModrm(); if (aborted) return;
      const bop = op == 0xa3 ? 0 : op == 0xab ? 1 : op == 0xb3 ? 2 : 3;
      bitTest(bop, sz, getReg(sz, modrmReg), true); return;
    }
    case 0xa4: case 0xa5: case 0xac: case 0xad: {
      decodeModrm(); if (aborted) return;
      const a = readRM(sz); if (aborted) return; if (!rmwWritable(sz)) return;
      let count: i32;
      if ((op & 1) == 0) { count = fetch8(); if (aborted) return; } else count = reg8(ECX);
      if ((count & 31) == 0) return;
      writeRM(sz, shiftDouble(sz, a, getReg(sz, modrmReg), count, op < 0xa8)); return;
    }
    case 0xa8: pushSeg(GS); return;
    case 0xa9: popSeg(GS); return;
    case 0xaf: {
      decodeModrm(); if (aborted) return;
      const b = readRM(sz); if (aborted) return;
      setReg(sz, modrmReg, imulTrunc(sz, getReg(sz, modrmReg), b) & sizeMask(sz)); return;
    }
    case 0xb0: case 0xb1: { // CMPXCHG
      const s = op == 0xb1 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const d = readRM(s); if (aborted) return; if (!rmwWritable(s)) return;
      const acc = getReg(s, EAX);
      alu(ALU_CMP, s, acc, d);
      if (acc == d) writeRM(s, getReg(s, modrmReg));
      else { writeRM(s, d); if (aborted) return; setReg(s, EAX, d); } // the destination is always written
      return;
    }
    case 0xb2: loadFarPointer(SS); return;
    case 0xb4: loadFarPointer(FS); return;
    case 0xb5: loadFarPointer(GS); return;
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
      const s = (op & 1) != 0 ? 2 : 1;
      decodeModrm(); if (aborted) return;
      const v = readRM(s); if (aborted) return;
      setReg(sz, modrmReg, (op >= 0xbe ? sext(s, v) : v) & sizeMask(sz)); return;
    }
    case 0xba: {
      decodeModrm(); if (aborted) return;
      if (modrmReg < 4) { raiseUD(); return; }
      const imm = fetch8(); if (aborted) return;
      bitTest(modrmReg - 4, sz, imm, false); return;
    }
    case 0xbc: case 0xbd: {
      decodeModrm(); if (aborted) return;
      const v = readRM(sz); if (aborted) return;
      if (bitScan(sz, v, op == 0xbd)) setReg(sz, modrmReg, bitIndex);
      return;
    }
    case 0xc0: case 0xc1: { // XADD
      const s = op == 0xc1 ? sz : 1;
      decodeModrm(); if (aborted) return;
      const d = readRM(s); if (aborted) return; if (!rmwWritable(s)) return;
      const src = getReg(s, modrmReg);
      const r = alu(0, s, d, src);
      writeRM(s, r); if (aborted) return;
      if (modrmMod != 3 || modrmRm != modrmReg) setReg(s, modrmReg, d);
      else setReg(s, modrmReg, r);
      return;
    }
    case 0xae: {
      // Group 15: FXSAVE/FXRSTOR (/0, /1: cpu/fpu/env.ts), LDMXCSR/STMXCSR (/2, /3: cpu/sse/exec.ts),
      // and the fences LFENCE/MFENCE/SFENCE (mod 3, /5-/7), no-ops for one vCPU at a time. CPUID has
      // no SSE2, but Linux issues MFENCE before arming the TSC-deadline timer. No CLFLUSH (/7).
      decodeModrm(); if (aborted) return;
      if (modrmMod != 3 && modrmReg < 2) { fxsaveRestore(modrmReg == 0); return; }
      if (modrmMod != 3 && modrmReg < 4) { sseMxcsr(modrmReg == 2); return; }
      if (modrmMod != 3 && modrmReg == 7 && opsize == (cs32 ? 4 : 2) && repPrefix == 0) { clflush(); return; }
      if (modrmMod != 3 || modrmReg < 5) raiseUD();
      return;
    }
    case 0xc7: {
      decodeModrm(); if (aborted) return;
      if (modrmReg != 1 || modrmMod == 3) { raiseUD(); return; }
      cmpxchg8b(); return;
    }
    case 0xc3: { // MOVNTI m32, r32 (SSE2): a store with a non-temporal hint
      decodeModrm(); if (aborted) return;
      if (modrmMod == 3 || opsize != (cs32 ? 4 : 2) || repPrefix != 0) { raiseUD(); return; }
      writeRM(4, reg32(modrmReg)); return;
    }
    case 0x38: case 0x3a: threeByte(op == 0x3a); return;
    case 0xb8: { // POPCNT r, r/m (F3 0F B8; without F3 it is IA-64's JMPE: #UD)
      if (repPrefix != 0xf3) { raiseUD(); return; }
      decodeModrm(); if (aborted) return;
      const v = readRM(sz); if (aborted) return;
      const n = popcnt32(v & sizeMask(sz));
      setReg(sz, modrmReg, n);
      setFlags((getFlags() & ~(CF | PF | AF | ZF | SF | OF)) | (n == 0 ? ZF : 0));
      return;
    }
    default:
      if (isSse3Form(op)) { sse3Execute(op); return; } // cpu/sse/sse3.ts (before SSE's and SSE2's forms of the same opcodes)
      if (isMmxOpcode(op)) { mmxExecute(op); return; } // cpu/mmx.ts
      if (isSseOpcode(op)) { sseExecute(op); return; } // cpu/sse/exec.ts
      // Other encodings of these rows (AVX's, AMD's, undefined ones): CPUID advertises none of them.
      if ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
          (op >= 0xd0 && op <= 0xfe) || op == 0xc2 || op == 0xc3 || op == 0xc4 || op == 0xc5 || op == 0xc6 ||
          op == 0x0d || op == 0x0e || op == 0x0f ||
          op == 0x07 || op == 0x05 || op == 0xaa || op == 0x0a || op == 0x0c || op == 0x04 ||
          op == 0x24 || op == 0x25 || op == 0x26 || op == 0x27 || op == 0x36 || op == 0x37 || op == 0x39 ||
          op == 0x3b || op == 0x3c || op == 0x3d || op == 0x3e || op == 0x3f || (op >= 0x78 && op <= 0x7f) || op == 0xa6 || op == 0xa7) {
        raiseUD(); return;
      }
      unimplemented(0); return;
  }
}

/**
 * 0F 38 / 0F 3A: the third opcode byte picks SSSE3's instruction (cpu/ssse3.ts, with or without
 * 66), with 66 and no F2/F3 SSE4.1's (cpu/sse41.ts) or SSE4.2's (cpu/sse42.ts); 0F 38 F0/F1 is
 * CRC32 with F2 and MOVBE without F2/F3; anything else is #UD.
 */
function threeByte(map3a: bool): void {
  const op = fetch8(); if (aborted) return;
  if (isSsse3(op, map3a)) { ssse3Execute(op, map3a); return; }
  const p66 = opsize != (cs32 ? 4 : 2) && repPrefix == 0;
  if (p66 && isSse41(op, map3a)) { sse41Execute(op, map3a); return; }
  if (p66 && isSse42(op, map3a)) { sse42Execute(op, map3a); return; }
  if (!map3a && (op == 0xf0 || op == 0xf1) && repPrefix == 0xf2) { crc32(op); return; }
  if (!map3a && (op == 0xf0 || op == 0xf1) && repPrefix == 0) { movbe(op == 0xf1); return; }
  raiseUD();
}

/**
 * MOVBE r, m (0F 38 F0) / m, r (F1), 16 or 32 bits (CPUID.1:ECX[22]): a load or store with the
 * bytes in reverse order; the operand must be memory (a register form is #UD).
 */
function movbe(store: bool): void {
  decodeModrm(); if (aborted) return;
  if (modrmMod == 3) { raiseUD(); return; }
  const sz = opsize;
  if (store) { writeRM(sz, swapBytes(getReg(sz, modrmReg), sz)); return; }
  const v = readRM(sz); if (aborted) return;
  setReg(sz, modrmReg, swapBytes(v, sz));
}
function swapBytes(v: i32, sz: i32): i32 { return sz == 2 ? ((v & 0xff) << 8) | ((v >> 8) & 0xff) : bswap(v); }

/**
 * CLFLUSH m8 (SSE2's cache-line flush): this machine has no caches to write back (guest memory
 * is coherent with every device model), so it only checks the operand as a one-byte read would:
 * segment limit and page (SDM: a reserved or not-present page faults, user-readable suffices).
 */
function clflush(): void {
  readV(eaSeg, eaOff, 1);
}

/** FXSAVE/FXRSTOR m512: #NM for CR0.EM or CR0.TS, #GP(0) unless 16-byte aligned (whatever AC says). */
function fxsaveRestore(save: bool): void {
  if ((cr0 & (CR0_EM | CR0_TS)) != 0) { raiseNoCode(NM); return; }
  if ((i32(segBase(eaSeg) + eaOff) & 15) != 0) { raise(GP, 0); return; }
  if (save) { if (probeWriteV(eaSeg, eaOff, 512)) fxsave(); }
  else fxrstor();
}

/** MOV to/from CR/DR: the ModRM byte always names registers (mod is ignored). */
function decodeModrmReg(): void {
  const m = fetch8(); if (aborted) return;
  setModrmRaw(m);
}

/**
 * Read-modify-write destination: check it is writable right after the read,
 * before flags or results are computed, so a write fault leaves EFLAGS as they
 * were and a no-op write (shift count 0) still faults on a read-only page.
 */
function rmwWritable(s: i32): bool { return modrmMod == 3 || probeWriteV(eaSeg, eaOff, s); }
