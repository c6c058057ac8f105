// The block compiler: hot translation-cache blocks become WebAssembly functions.
//
// The translation cache queues a block once it has been replayed often
// (tcache.ts, jitHot). After run() returns, the Wasm engine asks for one
// module holding a function per queued block (jitEmit), instantiates it
// with the core's memory, globals and helpers as imports, puts the functions
// in the core's table and tells the cache their slots (jitInstall). The
// cache then calls a compiled block instead of replaying it, when the
// budget covers the whole block.
//
// A compiled block does exactly what replay() does, instruction by
// instruction: set EIP and the instruction's EIP, execute, return the count
// so far on a fault (aborted) and the count including this instruction on an
// exit or a write into cached code. Instructions whose fast form is emitted
// inline (register moves and ALU operations, loads and stores, jumps) call
// the same helpers as fastforms.ts; all others call replayRecord, i.e. the
// fast form or the interpreter. The JS engine does not compile: its cache
// only replays.
import * as W from "./writer";
import { ld32a } from "../portable";
import { JIT_QUEUE } from "../layout";
import { REC_HEADER, REC_POS, REC_MODRM, REC_VALUES } from "../cpu/fetch";
import { ALU_AND, ALU_CMP } from "../cpu/ops/arith";
import { jitQueued, blockCount, blockRecord, blockValid } from "../tcache";
import * as F from "../fastforms";
import {
  BLOCKTYPE_VOID, F64, F_ALU, F_CALL, F_DEC, F_IMUL, F_INC, F_JUMP, F_NEG, F_POP, F_PROBE, F_PUSH,
  F_RET, F_SHIFT, F_STEP, G_EIP, I32, IMPORTED_FUNCS, IMPORTED_GLOBALS, LOCALS, L_OFF, L_START,
  L_VAL, OP_DROP, OP_END, OP_GLOBAL_GET, OP_I32_ADD, OP_I32_AND, OP_I32_CONST, OP_I32_EQZ,
  OP_I32_EXTEND16_S, OP_I32_EXTEND8_S, OP_I32_NE, OP_I32_XOR, OP_IF, OP_LOCAL_SET, OP_RETURN,
  T_BLOCK, T_I_I, T_I_II, T_I_III, T_I_IIII, T_V_I, T_V_II, T_V_IIII,
} from "./abi";
import {
  FS_NONE, aluOp, aluPrefix, call, condition, eaSeg, emitEa, emitFastCheck, emitRead, emitReadAt,
  emitWriteAt, flagSource, getReg16, getReg32, getReg8, globalGet, konst, localGet, localSet, nextOf,
  op, regAddr, returnIf, returnIfAborted, returnIfExit, setEipTo, setEips, sext8, storeReg16,
  storeReg32, storeReg8,
  setFlagSource,
} from "./emit";

function importGlobal(field: string, type: i32): void {
  W.name("c"); W.name(field); W.byte(0x03); W.byte(type); W.byte(1);
}
function importFunc(field: string, type: i32): void {
  W.name("c"); W.name(field); W.byte(0x00); W.u32leb(type);
}
function funcType(params: i32, result: bool): void {
  W.byte(0x60); W.u32leb(params);
  for (let i = 0; i < params; i++) W.byte(I32);
  if (result) { W.u32leb(1); W.byte(I32); } else W.u32leb(0);
}

/**
 * Emit a module with one function per queued block into the JIT buffer;
 * returns its length in bytes (0: nothing queued, or it did not fit).
 * Export i of the module is the function of queue entry i.
 */
export function jitEmit(): i32 {
  const n = jitQueued;
  if (n == 0) return 0;
  W.reset();
  // header
  W.byte(0); W.byte(0x61); W.byte(0x73); W.byte(0x6d); W.byte(1); W.byte(0); W.byte(0); W.byte(0);
  // types
  W.byte(1); let at = W.reserveSize();
  W.u32leb(8);
  funcType(0, true); funcType(1, false); funcType(3, true); funcType(4, false);
  funcType(4, true); funcType(1, true); funcType(2, false); funcType(2, true);
  W.patch(at);
  // imports
  W.byte(2); at = W.reserveSize();
  W.u32leb(1 + IMPORTED_GLOBALS + IMPORTED_FUNCS);
  W.name("c"); W.name("memory"); W.byte(0x02); W.byte(0); W.u32leb(0);
  importGlobal("jitEip", I32); importGlobal("jitInstrEip", I32); importGlobal("jitAborted", I32);
  importGlobal("jitExitReason", I32); importGlobal("jitSmcHit", I32); importGlobal("jitFlatSegs", I32);
  importGlobal("jitCplUserMask", I32); importGlobal("jitTlbLookups", F64);
  importGlobal("jitFlagsRaw", I32); importGlobal("jitFlagsLazy", I32); importGlobal("jitLastOp1", I32);
  importGlobal("jitLastOp2", I32); importGlobal("jitLastResult", I32); importGlobal("jitLastSize", I32);
  importGlobal("jitLastSub", I32); importGlobal("jitMmioReadsAnswered", I32);
  importFunc("jitStep", T_V_I); importFunc("jitReadV", T_I_III); importFunc("jitWriteV", T_V_IIII);
  importFunc("jitAlu", T_I_IIII); importFunc("jitTestCC", T_I_I); importFunc("jitJumpNear", T_V_II);
  importFunc("jitPush", T_V_II); importFunc("jitPop", T_I_I); importFunc("jitCallNear", T_V_II);
  importFunc("jitRetNear", T_V_II); importFunc("jitProbeWriteV", T_I_III); importFunc("jitInc", T_I_II);
  importFunc("jitDec", T_I_II); importFunc("jitShiftOp", T_I_IIII); importFunc("jitImulTrunc", T_I_III);
  importFunc("jitNeg", T_I_II);
  W.patch(at);
  // functions
  W.byte(3); at = W.reserveSize();
  W.u32leb(n);
  for (let i = 0; i < n; i++) W.u32leb(T_BLOCK);
  W.patch(at);
  // exports: "0", "1", ...
  W.byte(7); at = W.reserveSize();
  W.u32leb(n);
  for (let i = 0; i < n; i++) { decimalName(i); W.byte(0x00); W.u32leb(IMPORTED_FUNCS + i); }
  W.patch(at);
  // code
  W.byte(10); at = W.reserveSize();
  W.u32leb(n);
  for (let i = 0; i < n; i++) emitBlock(ld32a(JIT_QUEUE + (i << 2)));
  W.patch(at);
  return W.overflow ? 0 : W.length();
}

function decimalName(v: i32): void {
  let digits = 1;
  for (let x = v; x >= 10; x = i32(x / 10)) digits++;
  W.u32leb(digits);
  let div = 1;
  for (let i = 1; i < digits; i++) div *= 10;
  for (; div > 0; div = i32(div / 10)) W.byte(0x30 + i32(v / div) % 10);
}

function emitBlock(b: i32): void {
  const size = W.reserveSize();
  W.u32leb(1); W.u32leb(LOCALS); W.byte(I32);
  W.byte(OP_GLOBAL_GET); W.u32leb(G_EIP); W.byte(OP_LOCAL_SET); W.u32leb(L_START);
  const count = blockValid(b) ? blockCount(b) : 0;
  setFlagSource(FS_NONE);
  let eipCurrent = true;
  let lastNext = 0;
  for (let i = 0; i < count; i++) {
    const rec = blockRecord(b, i);
    eipCurrent = emitInstruction(rec, i);
    const pos = ld32a(rec + REC_POS);
    lastNext = (pos & 0xffff) + (pos >>> 16);
  }
  // After register-only instructions EIP was not kept up to date: the block ends at the last one's successor.
  if (!eipCurrent) setEipTo(lastNext);
  W.byte(OP_I32_CONST); W.i32leb(count);
  W.byte(OP_END);
  W.patch(size);
}

/**
 * Emit one instruction. Returns whether EIP is current afterwards (false for
 * register-only forms, which neither fault nor read EIP and so skip it).
 */
function emitInstruction(rec: i32, i: i32): bool {
  const hdr = ld32a(rec + REC_HEADER);
  const fast = hdr >>> 24, opc = hdr & 0xff;
  const m = ld32a(rec + REC_MODRM);
  const reg = (m >> 3) & 7, rm = m & 7, mod3 = (m & 0xc0) == 0xc0;
  const v0 = ld32a(rec + REC_VALUES);
  // Forms that leave the flags alone set flagSource back to `source`; ALU operations set their own.
  const source = flagSource;
  setFlagSource(FS_NONE);
  switch (fast) {
    // ---- register-only forms --------------------------------------------------------
    case F.FAST_ALU_RR: {
      const aop = opc >> 3;
      const dst = (opc & 2) != 0 ? reg : rm, src = (opc & 2) != 0 ? rm : reg;
      if (aop != ALU_CMP) regAddr();
      aluPrefix(aop, 4); getReg32(dst); getReg32(src); aluOp(aop, 4);
      if (aop != ALU_CMP) storeReg32(dst); else op(OP_DROP);
      return false;
    }
    case F.FAST_MOV_RR: {
      const dst = opc == 0x89 ? rm : reg, src = opc == 0x89 ? reg : rm;
      regAddr(); getReg32(src); storeReg32(dst);
      setFlagSource(source);
      return false;
    }
    case F.FAST_INC: case F.FAST_DEC:
      regAddr(); konst(4); getReg32(opc & 7); call(fast == F.FAST_INC ? F_INC : F_DEC); storeReg32(opc & 7);
      return false;
    case F.FAST_TEST_RR: aluPrefix(ALU_AND, 4); getReg32(rm); getReg32(reg); aluOp(ALU_AND, 4); op(OP_DROP); return false;
    case F.FAST_ALU_RI8: case F.FAST_ALU_RI32: {
      if (reg != ALU_CMP) regAddr();
      aluPrefix(reg, 4); getReg32(rm); konst(fast == F.FAST_ALU_RI8 ? sext8(v0) : v0); aluOp(reg, 4);
      if (reg != ALU_CMP) storeReg32(rm); else op(OP_DROP);
      return false;
    }
    case F.FAST_MOV_RI: regAddr(); konst(v0); storeReg32(opc & 7); setFlagSource(source); return false;
    case F.FAST_LEA: regAddr(); emitEa(rec); storeReg32(reg); setFlagSource(source); return false;
    case F.FAST_ALU_EAX: case F.FAST_ALU_AL: {
      const aop = opc >> 3, size = fast == F.FAST_ALU_EAX ? 4 : 1;
      if (aop != ALU_CMP) regAddr();
      aluPrefix(aop, size);
      if (size == 4) getReg32(0); else getReg8(0);
      konst(v0); aluOp(aop, size);
      if (aop == ALU_CMP) op(OP_DROP); else if (size == 4) storeReg32(0); else storeReg8(0);
      return false;
    }
    case F.FAST_TEST_EAX: aluPrefix(ALU_AND, 4); getReg32(0); konst(v0); aluOp(ALU_AND, 4); op(OP_DROP); return false;
    case F.FAST_TEST8: konst(ALU_AND); konst(1); getReg8(rm); getReg8(reg); call(F_ALU); op(OP_DROP); return false;
    case F.FAST_ALU8_RI:
      if (reg != ALU_CMP) regAddr();
      konst(reg); konst(1); getReg8(rm); konst(v0); call(F_ALU);
      if (reg != ALU_CMP) storeReg8(rm); else op(OP_DROP);
      return false;
    case F.FAST_SHIFT: {
      if (opc == 0xd3) {
        getReg8(1); konst(31); op(OP_I32_AND);
        W.byte(OP_IF); W.byte(BLOCKTYPE_VOID);
        regAddr(); konst(reg); konst(4); getReg32(rm); getReg8(1); call(F_SHIFT); storeReg32(rm);
        op(OP_END);
      } else {
        const count = opc == 0xc1 ? v0 : 1;
        if ((count & 31) != 0) { regAddr(); konst(reg); konst(4); getReg32(rm); konst(count); call(F_SHIFT); storeReg32(rm); }
      }
      return false;
    }
    case F.FAST_NOT_NEG:
      regAddr();
      if (reg == 2) { getReg32(rm); konst(-1); op(OP_I32_XOR); setFlagSource(source); } // NOT changes no flags
      else { konst(4); getReg32(rm); call(F_NEG); }
      storeReg32(rm);
      return false;
    case F.FAST_SETCC:
      regAddr(); condition(v0 & 15, source); storeReg8(rm);
      setFlagSource(source);
      return false;
    case F.FAST_CMOV:
      condition(v0 & 15, source);
      W.byte(OP_IF); W.byte(BLOCKTYPE_VOID); regAddr(); getReg32(rm); storeReg32(reg); op(OP_END);
      setFlagSource(source);
      return false;
    case F.FAST_MOV8:
      if (mod3) {
        const dst = opc == 0x88 ? rm : reg, src = opc == 0x88 ? reg : rm;
        regAddr(); getReg8(src); storeReg8(dst);
        setFlagSource(source);
        return false;
      }
      break;
    case F.FAST_MOVX:
      if (mod3) {
        const op2 = v0 & 0xff;
        regAddr();
        if ((op2 & 1) != 0) getReg16(rm); else getReg8(rm);
        if (op2 >= 0xbe) op((op2 & 1) != 0 ? OP_I32_EXTEND16_S : OP_I32_EXTEND8_S);
        storeReg32(reg);
        setFlagSource(source);
        return false;
      }
      break;
    case F.FAST_IMUL:
      if (mod3) { regAddr(); konst(4); getReg32(reg); getReg32(rm); call(F_IMUL); storeReg32(reg); return false; }
      break;
    default: break;
  }

  // ---- forms that may fault, exit or use EIP -----------------------------------------------
  setEips(rec);
  switch (fast) {
    case F.FAST_LOAD: emitRead(rec, 4, i); regAddr(); localGet(L_VAL); storeReg32(reg); setFlagSource(source); return true;
    case F.FAST_STORE: case F.FAST_MOV_MI:
      emitEa(rec); localSet(L_OFF);
      if (fast == F.FAST_STORE) getReg32(reg); else konst(v0);
      localSet(L_VAL);
      emitWriteAt(eaSeg(rec), 4, i);
      setFlagSource(source);
      return true;
    case F.FAST_PUSH: case F.FAST_PUSH_I:
      konst(4);
      if (fast == F.FAST_PUSH) getReg32(opc & 7); else konst(opc == 0x68 ? v0 : sext8(v0));
      call(F_PUSH);
      returnIfAborted(i); returnIfExit(i + 1);
      setFlagSource(source);
      return true;
    case F.FAST_POP:
      konst(4); call(F_POP); localSet(L_VAL); returnIfAborted(i);
      regAddr(); localGet(L_VAL); storeReg32(opc & 7);
      setFlagSource(source);
      return true;
    case F.FAST_JCC8: case F.FAST_JCC32: {
      const cc = fast == F.FAST_JCC8 ? opc & 15 : v0 & 15;
      const d = fast == F.FAST_JCC8 ? sext8(v0) : ld32a(rec + REC_VALUES + 4);
      // Taken: the block ends here (build() recorded the fall-through path).
      condition(cc, source);
      W.byte(OP_IF); W.byte(BLOCKTYPE_VOID);
      localGet(L_START); konst(nextOf(rec) + d); op(OP_I32_ADD); konst(4); call(F_JUMP);
      returnIfAborted(i);
      konst(i + 1); op(OP_RETURN);
      op(OP_END);
      setFlagSource(source);
      return true;
    }
    case F.FAST_JMP8: case F.FAST_JMP32: case F.FAST_CALL: {
      const d = fast == F.FAST_JMP8 ? sext8(v0) : v0;
      localGet(L_START); konst(nextOf(rec) + d); op(OP_I32_ADD); konst(4);
      call(fast == F.FAST_CALL ? F_CALL : F_JUMP);
      returnIfAborted(i); returnIfExit(i + 1);
      return true;
    }
    case F.FAST_RET: konst(4); konst(0); call(F_RET); returnIfAborted(i); return true;
    case F.FAST_ALU_RM: case F.FAST_TEST_MR: {
      emitRead(rec, 4, i);
      const aop = fast == F.FAST_TEST_MR ? ALU_AND : opc >> 3;
      const store = fast == F.FAST_ALU_RM && aop != ALU_CMP;
      if (store) regAddr();
      aluPrefix(aop, 4);
      if (fast == F.FAST_TEST_MR) { localGet(L_VAL); getReg32(reg); } else { getReg32(reg); localGet(L_VAL); }
      aluOp(aop, 4);
      if (store) storeReg32(reg); else op(OP_DROP);
      return true;
    }
    case F.FAST_ALU_MR: case F.FAST_ALU_MI: case F.FAST_INCDEC_M: {
      // As the interpreter: read, check the write would succeed, compute (flags), write.
      const seg = eaSeg(rec);
      emitEa(rec); localSet(L_OFF);
      emitReadAt(seg, 4, i);
      const aop = fast == F.FAST_ALU_MR ? opc >> 3 : reg;
      const writes = fast == F.FAST_INCDEC_M || aop != ALU_CMP;
      if (writes) {
        emitFastCheck(seg, 4, true); op(OP_I32_EQZ);
        W.byte(OP_IF); W.byte(BLOCKTYPE_VOID);
        konst(seg); localGet(L_OFF); konst(4); call(F_PROBE); op(OP_I32_EQZ); returnIf(i);
        op(OP_END);
      }
      if (fast == F.FAST_INCDEC_M) { konst(4); localGet(L_VAL); call(reg == 0 ? F_INC : F_DEC); }
      else {
        aluPrefix(aop, 4); localGet(L_VAL);
        if (fast == F.FAST_ALU_MR) getReg32(reg); else konst(opc == 0x81 ? v0 : sext8(v0));
        aluOp(aop, 4);
      }
      if (writes) { localSet(L_VAL); emitWriteAt(seg, 4, i); } else op(OP_DROP);
      return true;
    }
    case F.FAST_MOVX: {
      const op2 = v0 & 0xff, size = (op2 & 1) != 0 ? 2 : 1;
      emitRead(rec, size, i);
      regAddr(); localGet(L_VAL);
      if (op2 >= 0xbe) op(size == 2 ? OP_I32_EXTEND16_S : OP_I32_EXTEND8_S);
      storeReg32(reg);
      setFlagSource(source);
      return true;
    }
    case F.FAST_IMUL:
      emitRead(rec, 4, i);
      regAddr(); konst(4); getReg32(reg); localGet(L_VAL); call(F_IMUL); storeReg32(reg);
      return true;
    case F.FAST_MOV8: case F.FAST_MOV16: {
      const size = fast == F.FAST_MOV8 ? 1 : 2;
      if (opc == 0x88 || opc == 0x89) {
        emitEa(rec); localSet(L_OFF);
        if (size == 1) getReg8(reg); else getReg16(reg);
        localSet(L_VAL);
        emitWriteAt(eaSeg(rec), size, i);
      } else {
        emitRead(rec, size, i);
        regAddr(); localGet(L_VAL);
        if (size == 1) storeReg8(reg); else storeReg16(reg);
      }
      setFlagSource(source);
      return true;
    }
    default:
      // Everything else: the record's fast form or the interpreter, through replayRecord.
      // As in replay(), a jump taken (a Jcc without a fast form: 16-bit code) ends the block.
      konst(rec); call(F_STEP);
      returnIfAborted(i); returnIfExit(i + 1);
      globalGet(G_EIP); localGet(L_START); konst(nextOf(rec)); op(OP_I32_ADD); op(OP_I32_NE); returnIf(i + 1);
      return true;
  }
}

