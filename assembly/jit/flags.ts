// Lazy flags in a region function's locals (L_FRAW, L_FA, L_FB, L_FRES and
// the packed P_FOP mirror the globals of cpu/flags.ts, and are written back
// to them at exits and before calls out that read flags). Inline operations record their operands and
// result exactly as cpu/flags.ts's lazyArith/lazyIncDec/lazyLogic/lazyResult
// do, so EFLAGS read later by anyone are the interpreter's. V8 removes the
// recordings no later instruction reads, which is the flags' liveness.
//
// The emitter also knows statically which operation set the flags last
// within the current block (`kind`): a condition then reads its answer from
// the operands (CMP + JL is one signed compare). After a call out or at a
// block's entry the kind is unknown and flags are evaluated from the locals
// at run time, as cpu/flags.ts would.
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "../state";
import { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_XOR, ALU_CMP } from "../cpu/ops/arith";
import {
  I32, L_FA, L_FB, L_FRAW, L_FRES, L_T1, L_T2, L_T3, P_FOP, FOP_SIZE, FOP_SUB, fop, OP_I32_ADD, OP_I32_AND,
  OP_I32_EQZ, OP_I32_LE_S, OP_I32_LE_U, OP_I32_LT_S, OP_I32_LT_U, OP_I32_NE, OP_I32_OR,
  OP_I32_POPCNT, OP_I32_SHL, OP_I32_SHR_U, OP_I32_SUB, OP_I32_XOR, OP_SELECT, OP_DROP,
} from "./abi";
import { konst, localGet, localSet, localTee, op, ifOpen, elseOp, end } from "./emit";

export const FK_UNKNOWN: i32 = 0;
export const FK_ARITH: i32 = 1;   // lazyArith: all six from L_FA, L_FB, L_FRES
export const FK_INCDEC: i32 = 2;  // lazyIncDec: CF in L_FRAW, the rest lazy (L_FB = 1)
export const FK_LOGIC: i32 = 3;   // lazyLogic: CF = OF = AF = 0, SF ZF PF from L_FRES
export const FK_RESULT: i32 = 4;  // lazyResult: SF ZF PF from L_FRES, CF OF AF in L_FRAW

/** What the flag locals hold, as far as the emitter knows. */
export let kind: i32 = FK_UNKNOWN;
let kSize: i32 = 4;
let kSub: bool = false;
/** The last FK_ARITH operation was a plain ADD/SUB/CMP (no carry in): CF and signed compares read the operands directly. */
let kPlain: bool = false;

export function forgetFlags(): void { kind = FK_UNKNOWN; }

/** At a block function's start: flagsLazy, lastSize and lastSub from the packed parameter. */
export function unpackFlags(): void {
  kind = FK_UNKNOWN;
}
/** Push the flag parameters of a block function: flagsRaw, lastOp1, lastOp2, lastResult, packed lazy/size/sub. */
export function pushFlagArgs(): void {
  localGet(L_FRAW); localGet(L_FA); localGet(L_FB); localGet(L_FRES);
  localGet(P_FOP);
}
export function flagsKnown(): bool { return kind != FK_UNKNOWN; }

export function sizeMask(size: i32): i32 { return size == 4 ? -1 : size == 2 ? 0xffff : 0xff; }
export function signBit(size: i32): i32 { return size == 4 ? (1 << 31) : size == 2 ? 0x8000 : 0x80; }
function mask(size: i32): void { if (size != 4) { konst(sizeMask(size)); op(OP_I32_AND); } }
/** Stack [v] -> [v != 0 ? 1 : 0] for a v that is 0 or one bit. */
function bitToBool(bit: i32): void { konst(bit); op(OP_I32_AND); konst(0); op(OP_I32_NE); }

// ---- recording ----------------------------------------------------------------------------

/** Stack [a, b] -> [result] (CMP: nothing). ALU operation `aop` (cpu/ops/arith.ts) at `size`; a and b zero-extended. */
export function emitAlu(aop: i32, size: i32): void {
  if (aop == ALU_AND || aop == ALU_OR || aop == ALU_XOR) {
    op(aop == ALU_AND ? OP_I32_AND : aop == ALU_OR ? OP_I32_OR : OP_I32_XOR);
    mask(size);
    recordLogic(size);
    return;
  }
  localSet(L_T2); localSet(L_T1);
  const sub = aop != ALU_ADD && aop != ALU_ADC;
  const carry = aop == ALU_ADC || aop == ALU_SBB;
  if (carry) { emitCF(); localSet(L_T3); }
  localGet(L_T1); localSet(L_FA);
  localGet(L_T2); localSet(L_FB);
  localGet(L_T1); localGet(L_T2); op(sub ? OP_I32_SUB : OP_I32_ADD);
  if (carry) { localGet(L_T3); op(sub ? OP_I32_SUB : OP_I32_ADD); }
  mask(size);
  localTee(L_FRES);
  recordArith(size, sub);
  kPlain = !carry;
  if (aop == ALU_CMP) op(OP_DROP);
}
/** After L_FA, L_FB, L_FRES are set: lastSize, lastSub, all six flags lazy. */
function recordArith(size: i32, sub: bool): void {
  konst(fop(ARITH_FLAGS, size, sub)); localSet(P_FOP);
  kind = FK_ARITH; kSize = size; kSub = sub; kPlain = false;
}
/** Stack [result] -> [result]: lazyLogic. */
export function recordLogic(size: i32): void {
  localTee(L_FRES);
  konst(fop(SF | ZF | PF, size, false)); localSet(P_FOP); // (lastSub does not matter with CF, OF, AF not lazy)
  localGet(L_FRAW); konst(~(CF | OF | AF)); op(OP_I32_AND); localSet(L_FRAW);
  kind = FK_LOGIC; kSize = size;
}
/** NEG: stack [a] -> [result], lazyArith(size, 0, a, -a, sub). */
export function emitNeg(size: i32): void {
  localSet(L_FB);
  konst(0); localSet(L_FA);
  konst(0); localGet(L_FB); op(OP_I32_SUB); mask(size);
  localTee(L_FRES);
  recordArith(size, true);
}
/** INC/DEC: stack [a] -> [result]; CF is materialised into L_FRAW first, as lazyIncDec does. */
export function emitIncDec(size: i32, dec: bool): void {
  localSet(L_T1);
  localGet(L_FRAW); konst(~CF); op(OP_I32_AND); emitCF(); op(OP_I32_OR); localSet(L_FRAW); // (from the old operands)
  localGet(L_T1); localSet(L_FA);
  konst(1); localSet(L_FB);
  localGet(L_FA); konst(1); op(dec ? OP_I32_SUB : OP_I32_ADD); mask(size);
  localTee(L_FRES);
  konst(fop(ARITH_FLAGS & ~CF, size, dec)); localSet(P_FOP);
  kind = FK_INCDEC; kSize = size; kSub = dec;
}
/**
 * lazyResult(size, result, other, CF | OF | AF): stack [result, otherFlags] -> ();
 * otherFlags holds only CF and OF bits.
 */
export function recordResult(size: i32): void {
  localGet(L_FRAW); konst(~(CF | OF | AF | SF | ZF | PF)); op(OP_I32_AND); op(OP_I32_OR); localSet(L_FRAW);
  localSet(L_FRES);
  konst(fop(SF | ZF | PF, size, false)); localSet(P_FOP);
  kind = FK_RESULT; kSize = size;
}

// ---- reading ------------------------------------------------------------------------------------

/** Push CF (0/1). */
export function emitCF(): void {
  if (kind == FK_ARITH) { staticArithCF(); return; }
  if (kind == FK_LOGIC) { konst(0); return; }
  if (kind == FK_INCDEC || kind == FK_RESULT) { localGet(L_FRAW); konst(CF); op(OP_I32_AND); return; }
  // Unknown: flagsLazy says whether CF is in flagsRaw or owed by the last operation.
  localGet(P_FOP); konst(CF); op(OP_I32_AND);
  ifOpen(I32);
  dynCarryWord(); dynSign(); op(OP_I32_AND); konst(0); op(OP_I32_NE);
  elseOp();
  localGet(L_FRAW); konst(CF); op(OP_I32_AND);
  end();
}
function staticArithCF(): void {
  if (kPlain) {
    // SUB/CMP: borrow iff a < b; ADD: carry iff the result wrapped below a (operands masked to the size).
    if (kSub) { localGet(L_FA); localGet(L_FB); } else { localGet(L_FRES); localGet(L_FA); }
    op(OP_I32_LT_U);
    return;
  }
  carryWord(kSub); bitToBool(signBit(kSize));
}
/** The carry (add) / borrow (sub) word whose sign bit is CF (cpu/flags.ts getCF). */
function carryWord(sub: bool): void {
  if (sub) { // (~a & b) | ((~a | b) & r)
    localGet(L_FA); konst(-1); op(OP_I32_XOR); localGet(L_FB); op(OP_I32_AND);
    localGet(L_FA); konst(-1); op(OP_I32_XOR); localGet(L_FB); op(OP_I32_OR); localGet(L_FRES); op(OP_I32_AND);
    op(OP_I32_OR);
  } else {   // (a & b) | ((a | b) & ~r)
    localGet(L_FA); localGet(L_FB); op(OP_I32_AND);
    localGet(L_FA); localGet(L_FB); op(OP_I32_OR); localGet(L_FRES); konst(-1); op(OP_I32_XOR); op(OP_I32_AND);
    op(OP_I32_OR);
  }
}
function overflowWord(sub: bool): void {
  if (sub) { // (a ^ b) & (a ^ r)
    localGet(L_FA); localGet(L_FB); op(OP_I32_XOR); localGet(L_FA); localGet(L_FRES); op(OP_I32_XOR); op(OP_I32_AND);
  } else {   // (a ^ r) & (b ^ r)
    localGet(L_FA); localGet(L_FRES); op(OP_I32_XOR); localGet(L_FB); localGet(L_FRES); op(OP_I32_XOR); op(OP_I32_AND);
  }
}
function dynCarryWord(): void {
  carryWord(true); carryWord(false); dynSub(); op(OP_SELECT);
}
function dynOverflowWord(): void {
  overflowWord(true); overflowWord(false); dynSub(); op(OP_SELECT);
}
/** Push the sign bit of lastSize: 1 << (8 * size - 1). */
function dynSign(): void { konst(1); dynBits(); konst(1); op(OP_I32_SUB); op(OP_I32_SHL); }
/** Push 8 * lastSize (from the packed word: (fop >>> 16 & 0xff) << 3). */
function dynBits(): void { localGet(P_FOP); konst(FOP_SIZE - 3); op(OP_I32_SHR_U); konst(0xff << 3); op(OP_I32_AND); }
/** Push lastSub (non-zero when the last operation subtracted). */
function dynSub(): void { localGet(P_FOP); konst(FOP_SUB); op(OP_I32_SHR_U); }
/** Push the mask of lastSize: -1 >>> (32 - 8 * size). */
function dynMask(): void { konst(-1); konst(32); dynBits(); op(OP_I32_SUB); op(OP_I32_SHR_U); }

/** Push ZF (0/1). */
export function emitZF(): void {
  if (kind != FK_UNKNOWN) { localGet(L_FRES); mask(kSize); op(OP_I32_EQZ); return; }
  lazyOr(ZF); localGet(L_FRES); dynMask(); op(OP_I32_AND); op(OP_I32_EQZ); rawBit(ZF); end();
}
/** Push SF (0/1). */
export function emitSF(): void {
  if (kind != FK_UNKNOWN) { localGet(L_FRES); bitToBool(signBit(kSize)); return; }
  lazyOr(SF); localGet(L_FRES); dynSign(); op(OP_I32_AND); konst(0); op(OP_I32_NE); rawBit(SF); end();
}
/** Push OF (0/1). */
export function emitOF(): void {
  if (kind == FK_LOGIC) { konst(0); return; }
  if (kind == FK_RESULT) { localGet(L_FRAW); bitToBool(OF); return; }
  if (kind == FK_ARITH || kind == FK_INCDEC) { overflowWord(kSub); bitToBool(signBit(kSize)); return; }
  lazyOr(OF); dynOverflowWord(); dynSign(); op(OP_I32_AND); konst(0); op(OP_I32_NE); rawBit(OF); end();
}
/** Push PF (0/1): even parity of the result's low byte. */
export function emitPF(): void {
  if (kind != FK_UNKNOWN) { parity(); return; }
  lazyOr(PF); parity(); rawBit(PF); end();
}
function parity(): void { localGet(L_FRES); konst(0xff); op(OP_I32_AND); op(OP_I32_POPCNT); konst(1); op(OP_I32_AND); op(OP_I32_EQZ); }
/** Open `if (flagsLazy & flag) (result i32)`: the lazy value follows, then rawBit() gives the else arm. */
function lazyOr(flag: i32): void { localGet(P_FOP); konst(flag); op(OP_I32_AND); ifOpen(I32); }
function rawBit(flag: i32): void { elseOp(); localGet(L_FRAW); bitToBool(flag); }

/** Push condition cc (0-15, as Jcc/SETcc/CMOVcc) as 0/1. */
export function emitCondition(cc: i32): void {
  const base = cc >> 1;
  if (!directCondition(base)) {
    switch (base) {
      case 0: emitOF(); break;
      case 1: emitCF(); break;
      case 2: emitZF(); break;
      case 3: emitCF(); emitZF(); op(OP_I32_OR); break;
      case 4: emitSF(); break;
      case 5: emitPF(); break;
      case 6: emitSF(); emitOF(); op(OP_I32_NE); break;
      default: emitZF(); emitSF(); emitOF(); op(OP_I32_NE); op(OP_I32_OR); break;
    }
  }
  if ((cc & 1) != 0) op(OP_I32_EQZ);
}
/** Conditions a plain SUB/CMP decides by comparing its operands. */
function directCondition(base: i32): bool {
  if (kind != FK_ARITH || !kPlain || !kSub) return false;
  const s = kSize;
  switch (base) {
    case 1: localGet(L_FA); localGet(L_FB); op(OP_I32_LT_U); return true;
    case 3: localGet(L_FA); localGet(L_FB); op(OP_I32_LE_U); return true;
    case 6: case 7:
      localGet(L_FA); signExtend(s); localGet(L_FB); signExtend(s);
      op(base == 6 ? OP_I32_LT_S : OP_I32_LE_S);
      return true;
    default: return false;
  }
}
function signExtend(size: i32): void {
  if (size == 4) return;
  op(size == 2 ? 0xc1 /* i32.extend16_s */ : 0xc0 /* i32.extend8_s */);
}

/** EFLAGS with every flag current (cpu/flags.ts getFlags), pushed. */
export function emitGetFlags(): void {
  localGet(L_FRAW); konst(~(CF | PF | AF | ZF | SF | OF)); op(OP_I32_AND);
  emitCF(); op(OP_I32_OR);
  emitPF(); konst(2); op(OP_I32_SHL); op(OP_I32_OR);
  emitAF(); op(OP_I32_OR);
  emitZF(); konst(6); op(OP_I32_SHL); op(OP_I32_OR);
  emitSF(); konst(7); op(OP_I32_SHL); op(OP_I32_OR);
  emitOF(); konst(11); op(OP_I32_SHL); op(OP_I32_OR);
}
/** Push AF as the bit value 0 or 16. */
function emitAF(): void {
  if (kind == FK_LOGIC || kind == FK_RESULT) { localGet(L_FRAW); konst(AF); op(OP_I32_AND); return; }
  if (kind == FK_UNKNOWN) { localGet(P_FOP); konst(AF); op(OP_I32_AND); ifOpen(I32); }
  localGet(L_FA); localGet(L_FB); op(OP_I32_XOR); localGet(L_FRES); op(OP_I32_XOR); konst(AF); op(OP_I32_AND);
  if (kind == FK_UNKNOWN) { elseOp(); localGet(L_FRAW); konst(AF); op(OP_I32_AND); end(); }
}
/** Replace the flags wholesale with the value on the stack (cpu/flags.ts setFlags). */
export function emitSetFlags(): void {
  konst(2); op(OP_I32_OR); localSet(L_FRAW);
  konst(fop(0, 4, false)); localSet(P_FOP);
  kind = FK_UNKNOWN; // (read at run time from flagsRaw: nothing is lazy)
}
