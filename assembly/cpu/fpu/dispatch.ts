// The x87 escape opcodes D8-DF (SDM Vol. 2 Appendix A.4) and WAIT. exec.ts
// has already raised #NM for CR0.EM/TS; here: reserved encodings (#UD),
// pending unmasked exceptions (#MF or FERR#) before every waiting
// instruction, then the operation. Memory operands are read, or the
// destination probed, before any FPU state changes, so a fault restarts
// the instruction cleanly.
import { aborted, raiseUD, raiseNoCode, NM } from "../../fault";
import { cr0, CR0_MP, CR0_TS, EAX, setReg16 } from "../../state";
import { decodeModrm, modrmMod, modrmReg, modrmRm } from "../decode";
import { testCC } from "../flags";
import {
  TMP, CONST0, underflow, checkPending, noteInsn, stp, isEmpty, setValid, free, pop, putBits, putIndefinite, hiw, low,
  setC1, statusWord, stale,
} from "./state";
import { refreshSlots } from "./alias";
import { loadArith, memDenormal, fromF80, fromI64, loadBcd, rd } from "./formats";
import { fxam } from "./compare";
import { fldcw, fnstcw, fnstswMem, fnclex, fninit, fnstenv, fldenv, fnsave, frstor } from "./env";
import {
  pushValue, storeReal, storeInt, storeBcdOp, arithTo, compareWith, compareFlags, unary, binary, pushingTrig, doFxtract,
  pushConst, setTopRel, fldReg, fstReg, fxch, fcmov, U_SQRT, U_RNDINT, U_SIN, U_COS, U_F2XM1,
  B_YL2X, B_YL2XP1, B_PATAN, B_SCALE, B_PREM, B_PREM1,
} from "./ops";

/** WAIT/FWAIT (9B): #NM when CR0.MP and CR0.TS, then pending exceptions. */
export function fpuWait(): void {
  if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) { raiseNoCode(NM); return; }
  checkPending();
}

/** Execute the x87 instruction whose escape byte (D8-DF) was just fetched. */
export function fpuExecute(op: i32): void {
  decodeModrm(); if (aborted) return;
  const mod = modrmMod, reg = modrmReg, rm = modrmRm;
  if (reserved(op, mod, reg, rm)) { raiseUD(); return; }
  if (!noWait(op, mod, reg) && !checkPending()) return;
  if (stale != 0) refreshSlots(); // registers an MMX instruction wrote (alias.ts)
  if (mod != 3) memForm(op, reg); else regForm(op, reg, rm);
}

function reserved(op: i32, mod: i32, reg: i32, rm: i32): bool {
  if (mod != 3) return (op == 0xd9 && reg == 1) || (op == 0xdb && (reg == 4 || reg == 6)) || (op == 0xdd && reg == 5);
  switch (op) {
    case 0xd9: return (reg == 2 && rm != 0) || (reg == 4 && (rm == 2 || rm == 3 || rm >= 6)) || (reg == 5 && rm == 7);
    case 0xda: return reg >= 6 || reg == 4 || (reg == 5 && rm != 1);
    case 0xdb: return reg == 7 || (reg == 4 && rm >= 5);
    case 0xdd: return reg >= 6;
    case 0xde: return reg == 3 && rm != 1;
    case 0xdf: return reg == 7 || (reg == 4 && rm != 0);
    default: return false;
  }
}
/** FNSTENV FNSTCW FNSAVE FNSTSW, FNCLEX FNINIT (and the 8087/287 leftovers FNENI FNDISI FNSETPM). */
function noWait(op: i32, mod: i32, reg: i32): bool {
  if (mod != 3) return (op == 0xd9 || op == 0xdd) && reg >= 6;
  return (op == 0xdb && reg == 4) || (op == 0xdf && reg == 4);
}

// ---- memory forms -----------------------------------------------------------------------

function memForm(op: i32, reg: i32): void {
  switch (op) {
    case 0xd8: case 0xdc: case 0xda: case 0xde: {
      // arithmetic/compare with m32real, m64real, m32int, m16int
      loadArith(op == 0xd8 ? 0 : op == 0xdc ? 2 : op == 0xda ? 1 : 3, TMP); if (aborted) return;
      noteInsn(op, true);
      if (reg == 2 || reg == 3) { compareWith(TMP, false, false, reg == 3 ? 1 : 0, memDenormal); return; }
      arithTo(reg, 0, TMP, false, false, memDenormal);
      return;
    }
    case 0xd9:
      switch (reg) {
        case 0: loadArith(0, TMP); if (aborted) return; noteInsn(op, true); pushValue(true, memDenormal); return;
        case 2: case 3: storeReal(op, 4, reg == 3); return;
        case 4: fldenv(); return;
        case 5: fldcw(); return;
        case 6: fnstenv(); return;
        default: fnstcw(); return;
      }
    case 0xdb:
      switch (reg) {
        case 0: loadArith(1, TMP); if (aborted) return; noteInsn(op, true); pushValue(false, false); return;
        case 1: storeInt(op, 4, true, true); return;
        case 2: case 3: storeInt(op, 4, reg == 3, false); return;
        case 5: {
          const lo = rd(0, 4); if (aborted) return;
          const hi = rd(4, 4); if (aborted) return;
          const se = rd(8, 2); if (aborted) return;
          noteInsn(op, true);
          fromF80(lo, hi, se, TMP);
          pushValue(false, false);
          return;
        }
        default: storeReal(op, 10, true); return; // FSTP m80
      }
    case 0xdd:
      switch (reg) {
        case 0: loadArith(2, TMP); if (aborted) return; noteInsn(op, true); pushValue(true, memDenormal); return;
        case 1: storeInt(op, 8, true, true); return;
        case 2: case 3: storeReal(op, 8, reg == 3); return;
        case 4: frstor(); return;
        case 6: fnsave(); return;
        default: fnstswMem(); return;
      }
    default: // 0xdf
      switch (reg) {
        case 0: loadArith(3, TMP); if (aborted) return; noteInsn(op, true); pushValue(false, false); return;
        case 1: storeInt(op, 2, true, true); return;
        case 2: case 3: storeInt(op, 2, reg == 3, false); return;
        case 4: loadBcd(TMP); if (aborted) return; noteInsn(op, true); pushValue(false, false); return;
        case 5: {
          const lo = rd(0, 4); if (aborted) return;
          const hi = rd(4, 4); if (aborted) return;
          noteInsn(op, true);
          fromI64(hi, lo, TMP);
          pushValue(false, false);
          return;
        }
        case 6: storeBcdOp(op); return;
        default: storeInt(op, 8, true, false); return;
      }
  }
}

// ---- register forms ------------------------------------------------------------------------

function regForm(op: i32, reg: i32, rm: i32): void {
  const ctl = op == 0xdb && reg == 4 || op == 0xdf && reg == 4;
  if (!ctl) noteInsn(op, false);
  switch (op) {
    case 0xd8:
      if (reg == 2 || reg == 3) { compareWith(stp(rm), isEmpty(rm), false, reg == 3 ? 1 : 0, false); return; }
      arithTo(reg, 0, stp(rm), isEmpty(rm), false, false);
      return;
    case 0xdc: case 0xde:
      if (reg == 2 || reg == 3) { // FCOM2/FCOMP3 (DC), FCOMP5 (DE D0+i), FCOMPP (DE D9)
        if (op == 0xde && reg == 3) compareWith(stp(1), isEmpty(1), false, 2, false);
        else compareWith(stp(rm), isEmpty(rm), false, op == 0xde || reg == 3 ? 1 : 0, false);
        return;
      }
      // DC/DE with a register destination: E0+i is FSUBR, E8+i FSUB, F0+i FDIVR, F8+i FDIV.
      arithTo(reg >= 4 ? reg ^ 1 : reg, rm, stp(0), isEmpty(0), op == 0xde, false);
      return;
    case 0xd9: d9reg(reg, rm); return;
    case 0xda:
      if (reg < 4) { fcmov(rm, testCC(reg == 0 ? 2 : reg == 1 ? 4 : reg == 2 ? 6 : 10)); return; }
      compareWith(stp(1), isEmpty(1), true, 2, false); // FUCOMPP
      return;
    case 0xdb:
      if (reg < 4) { fcmov(rm, testCC(reg == 0 ? 3 : reg == 1 ? 5 : reg == 2 ? 7 : 11)); return; }
      if (reg == 4) {
        if (rm == 2) fnclex();
        else if (rm == 3) fninit();
        return; // FNENI, FNDISI, FNSETPM: no-ops on a 387 and later
      }
      compareFlags(rm, reg == 5, false); // FUCOMI / FCOMI
      return;
    case 0xdd:
      switch (reg) {
        case 0: free(rm); return;                       // FFREE
        case 1: fxch(rm); return;                       // FXCH4
        case 2: case 3: fstReg(rm, reg == 3); return;   // FST/FSTP ST(i)
        default: compareWith(stp(rm), isEmpty(rm), true, reg == 5 ? 1 : 0, false); return; // FUCOM(P)
      }
    default: // 0xdf
      switch (reg) {
        case 0: free(rm); pop(); return;                // FFREEP
        case 1: fxch(rm); return;                       // FXCH7
        case 2: case 3: fstReg(rm, true); return;       // FSTP8, FSTP9
        case 4: setReg16(EAX, statusWord()); return;    // FNSTSW AX
        default: compareFlags(rm, reg == 5, true); return; // FUCOMIP / FCOMIP
      }
  }
}

function d9reg(reg: i32, rm: i32): void {
  switch (reg) {
    case 0: fldReg(rm); return;
    case 1: fxch(rm); return;
    case 2: return;                       // FNOP
    case 3: fstReg(rm, true); return;     // FSTP1
    case 4:
      if (rm == 4) { compareWith(CONST0, false, false, 0, false); return; } // FTST
      if (rm == 5) { fxam(); return; }
      if (isEmpty(0)) { if (underflow()) return; putIndefinite(stp(0)); setValid(0); return; }
      setC1(false);
      putBits(stp(0), hiw(stp(0)) ^ (rm == 0 ? i32(0x80000000) : 0), low(stp(0)));  // FCHS
      if (rm == 1) putBits(stp(0), hiw(stp(0)) & 0x7fffffff, low(stp(0)));           // FABS
      return;
    case 5: pushConst(rm); return;
    case 6:
      switch (rm) {
        case 0: unary(U_F2XM1); return;
        case 1: binary(B_YL2X); return;
        case 2: pushingTrig(false); return;
        case 3: binary(B_PATAN); return;
        case 4: doFxtract(); return;
        case 5: binary(B_PREM1); return;
        case 6: setTopRel(-1); return;    // FDECSTP
        default: setTopRel(1); return;    // FINCSTP
      }
    default:
      switch (rm) {
        case 0: binary(B_PREM); return;
        case 1: binary(B_YL2XP1); return;
        case 2: unary(U_SQRT); return;
        case 3: pushingTrig(true); return;
        case 4: unary(U_RNDINT); return;
        case 5: binary(B_SCALE); return;
        case 6: unary(U_SIN); return;
        default: unary(U_COS); return;
      }
  }
}
