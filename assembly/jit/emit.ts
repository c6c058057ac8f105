// The block compiler's emission helpers: instructions and constants,
// registers (core memory at REGS), effective addresses, early returns,
// inline memory access through the TLB, and inline ALU operations with the
// conditions that follow them.
import * as W from "./writer";
import { ld32a } from "../portable";
import { REGS, TLB } from "../layout";
import { TLB_VALID, TLB_SLOW, TLB_READONLY, TLB_HAS_CODE } from "../mmu/tlb";
import { REC_POS, REC_MODRM, REC_DISP } from "../cpu/fetch";
import { ALU_ADD, ALU_OR, ALU_AND, ALU_SUB, ALU_CMP } from "../cpu/ops/arith";
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "../state";
import {
  BLOCKTYPE_VOID, F_ALU, F_READ, F_TESTCC, F_WRITE, G_ABORTED, G_EIP, G_EXIT_REASON, G_FLAGS_LAZY,
  G_FLAGS_RAW, G_FLAT_SEGS, G_INSTR_EIP, G_LAST_OP1, G_LAST_OP2, G_LAST_RESULT, G_LAST_SIZE,
  G_LAST_SUB, G_MMIO_READS, G_SMC_HIT, G_TLB_LOOKUPS, G_USER_MASK, I32, L_A, L_B, L_ENTRY, L_OFF, L_R, L_START,
  L_VAL, NO_REG, OP_CALL, OP_ELSE, OP_END, OP_F64_ADD, OP_F64_CONST, OP_GLOBAL_GET, OP_GLOBAL_SET,
  OP_I32_ADD, OP_I32_AND, OP_I32_CONST, OP_I32_EQ, OP_I32_EQZ, OP_I32_LE_S, OP_I32_LE_U, OP_I32_LOAD,
  OP_I32_LOAD16_U, OP_I32_LOAD8_U, OP_I32_LT_S, OP_I32_LT_U, OP_I32_OR, OP_I32_SHL, OP_I32_SHR_U,
  OP_I32_STORE, OP_I32_STORE16, OP_I32_STORE8, OP_I32_SUB, OP_I32_XOR, OP_IF, OP_LOCAL_GET,
  OP_LOCAL_SET, OP_LOCAL_TEE, OP_RETURN,
} from "./abi";

export function op(o: i32): void { W.byte(o); }
export function konst(v: i32): void { W.byte(OP_I32_CONST); W.i32leb(v); }
export function call(f: i32): void { W.byte(OP_CALL); W.u32leb(f); }
export function localGet(l: i32): void { W.byte(OP_LOCAL_GET); W.u32leb(l); }
export function localSet(l: i32): void { W.byte(OP_LOCAL_SET); W.u32leb(l); }
export function memOp(o: i32, align: i32, offset: i32): void { W.byte(o); W.u32leb(align); W.u32leb(offset); }

export function setEipTo(rel: i32): void {
  localGet(L_START); konst(rel); op(OP_I32_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_EIP);
}
/** instrEip and EIP of an instruction that may fault, exit or read EIP; as state.ts setInstrEip, no MMIO reads answered yet. */
export function setEips(rec: i32): void {
  const pos = ld32a(rec + REC_POS);
  const ieip = pos & 0xffff;
  localGet(L_START); konst(ieip); op(OP_I32_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_INSTR_EIP);
  konst(0); W.byte(OP_GLOBAL_SET); W.u32leb(G_MMIO_READS);
  setEipTo(ieip + (pos >>> 16));
}
/** Offset of the byte after the instruction, relative to the block's entry EIP. */
export function nextOf(rec: i32): i32 { const pos = ld32a(rec + REC_POS); return (pos & 0xffff) + (pos >>> 16); }

// Registers live in core memory at REGS (state.ts); 8-bit registers 4-7 are the high bytes of 0-3.
export function getReg32(r: i32): void { if (r == NO_REG) { konst(0); return; } konst(0); memOp(OP_I32_LOAD, 2, REGS + (r << 2)); }
export function getReg16(r: i32): void { konst(0); memOp(OP_I32_LOAD16_U, 1, REGS + (r << 2)); }
export function getReg8(r: i32): void { konst(0); memOp(OP_I32_LOAD8_U, 0, REGS + ((r & 3) << 2) + (r >> 2)); }
/** Push the address operand of a register store; the value follows, then storeReg*. */
export function regAddr(): void { konst(0); }
export function storeReg32(r: i32): void { memOp(OP_I32_STORE, 2, REGS + (r << 2)); }
export function storeReg16(r: i32): void { memOp(OP_I32_STORE16, 1, REGS + (r << 2)); }
export function storeReg8(r: i32): void { memOp(OP_I32_STORE8, 0, REGS + ((r & 3) << 2) + (r >> 2)); }

/** disp + base + (index << scale), with the registers at run time (fastforms.ts eaOffset). */
export function emitEa(rec: i32): void {
  const w = ld32a(rec + REC_MODRM);
  const base = (w >> 8) & 15, index = (w >> 12) & 15, scale = (w >> 16) & 3;
  konst(ld32a(rec + REC_DISP));
  if (base != NO_REG) { getReg32(base); op(OP_I32_ADD); }
  if (index != NO_REG) {
    getReg32(index);
    if (scale != 0) { konst(scale); op(OP_I32_SHL); }
    op(OP_I32_ADD);
  }
}
export function eaSeg(rec: i32): i32 { return (ld32a(rec + REC_MODRM) >> 18) & 7; }

export function returnIf(n: i32): void {
  W.byte(OP_IF); W.byte(BLOCKTYPE_VOID); konst(n); op(OP_RETURN); op(OP_END);
}
export function returnIfAborted(n: i32): void { W.byte(OP_GLOBAL_GET); W.u32leb(G_ABORTED); returnIf(n); }
export function returnIfExit(n: i32): void {
  W.byte(OP_GLOBAL_GET); W.u32leb(G_EXIT_REASON); W.byte(OP_GLOBAL_GET); W.u32leb(G_SMC_HIT); op(OP_I32_OR);
  returnIf(n);
}
// Memory operands. A flat segment (state.ts flatSegs) whose page the TLB
// already allows for this access (cpu/access.ts readLin/writeLin: RAM, the
// CPL permitted; for writes also dirty and without cached code) is accessed
// inline; anything else calls readV/writeV, which check, walk, fault or exit.

/** L_ENTRY = the TLB entry of linear L_OFF if segment seg is flat for this access, else 0; leaves "fast path allowed". */
export function emitFastCheck(seg: i32, size: i32, write: bool): void {
  W.byte(OP_GLOBAL_GET); W.u32leb(G_FLAT_SEGS); konst(write ? 1 << (8 + seg) : 1 << seg); op(OP_I32_AND);
  W.byte(OP_IF); W.byte(I32);
  localGet(L_OFF); konst(12); op(OP_I32_SHR_U); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, TLB);
  W.byte(OP_ELSE); konst(0); op(OP_END);
  W.byte(OP_LOCAL_TEE); W.u32leb(L_ENTRY);
  W.byte(OP_GLOBAL_GET); W.u32leb(G_USER_MASK);
  konst(TLB_VALID | TLB_SLOW | (write ? TLB_READONLY | TLB_HAS_CODE : 0)); op(OP_I32_OR); op(OP_I32_AND);
  konst(TLB_VALID); op(OP_I32_EQ);
  localGet(L_OFF); konst(0xfff); op(OP_I32_AND); konst(0x1000 - size); op(OP_I32_LE_U);
  op(OP_I32_AND);
}
/** Host address of L_OFF through L_ENTRY (fast path only). */
export function emitHostAddress(): void {
  localGet(L_ENTRY); konst(-4096); op(OP_I32_AND); localGet(L_OFF); op(OP_I32_XOR);
}
export function countTlbLookup(): void {
  W.byte(OP_GLOBAL_GET); W.u32leb(G_TLB_LOOKUPS); W.byte(OP_F64_CONST);
  for (let i = 0; i < 6; i++) W.byte(0); W.byte(0xf0); W.byte(0x3f); // 1.0
  op(OP_F64_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_TLB_LOOKUPS);
}
/** L_VAL = readV(seg, L_OFF, size); return i on a fault. */
export function emitReadAt(seg: i32, size: i32, i: i32): void {
  emitFastCheck(seg, size, false);
  W.byte(OP_IF); W.byte(BLOCKTYPE_VOID);
  countTlbLookup();
  emitHostAddress();
  if (size == 4) memOp(OP_I32_LOAD, 0, 0); else if (size == 2) memOp(OP_I32_LOAD16_U, 0, 0); else memOp(OP_I32_LOAD8_U, 0, 0);
  localSet(L_VAL);
  W.byte(OP_ELSE);
  konst(seg); localGet(L_OFF); konst(size); call(F_READ); localSet(L_VAL);
  returnIfAborted(i);
  op(OP_END);
}
export function emitRead(rec: i32, size: i32, i: i32): void {
  emitEa(rec); localSet(L_OFF);
  emitReadAt(eaSeg(rec), size, i);
}
/** writeV(seg, L_OFF, size, L_VAL); return i on a fault, i + 1 on an exit or a write into cached code. */
export function emitWriteAt(seg: i32, size: i32, i: i32): void {
  emitFastCheck(seg, size, true);
  W.byte(OP_IF); W.byte(BLOCKTYPE_VOID);
  countTlbLookup();
  emitHostAddress(); localGet(L_VAL);
  if (size == 4) memOp(OP_I32_STORE, 0, 0); else if (size == 2) memOp(OP_I32_STORE16, 0, 0); else memOp(OP_I32_STORE8, 0, 0);
  W.byte(OP_ELSE);
  konst(seg); localGet(L_OFF); konst(size); localGet(L_VAL); call(F_WRITE);
  returnIfAborted(i); returnIfExit(i + 1);
  op(OP_END);
}
export function sext8(v: i32): i32 { return (v << 24) >> 24; }

// ---- ALU operations and conditions -------------------------------------------------------------
// ADD, SUB, CMP, AND, OR, XOR (and TEST) with 32-bit operands run inline and
// record the lazy flags exactly as alu() does (cpu/flags.ts lazyArith,
// lazyLogic); ADC, SBB and other sizes call alu(). The operands and result
// stay in locals, so a conditional jump, SETcc or CMOVcc right after reads
// its condition from them instead of from the flags (when the condition is
// one of those the operation decides simply; PF and the like call testCC).

export const FS_NONE: i32 = 0, FS_SUB: i32 = 1, FS_ADD: i32 = 2, FS_LOGIC: i32 = 3;
/** What L_A, L_B, L_R hold for the condition of the next instruction. */
export let flagSource: i32 = FS_NONE;
export function setFlagSource(v: i32): void { flagSource = v; }

export function aluInline(aop: i32, size: i32): bool { return size == 4 && aop != 2 && aop != 3; } // not ADC, SBB
/** Before the operands of alu(aop, size, a, b): the helper's leading arguments. */
export function aluPrefix(aop: i32, size: i32): void { if (!aluInline(aop, size)) { konst(aop); konst(size); } }
export function globalSet(g: i32): void { W.byte(OP_GLOBAL_SET); W.u32leb(g); }
export function globalGet(g: i32): void { W.byte(OP_GLOBAL_GET); W.u32leb(g); }
/** Stack [a, b] → [result] (for CMP: a - b, to be dropped); sets flagSource. */
export function aluOp(aop: i32, size: i32): void {
  if (!aluInline(aop, size)) { call(F_ALU); setFlagSource(FS_NONE); return; }
  localSet(L_B); localSet(L_A);
  localGet(L_A); localGet(L_B);
  if (aop == ALU_ADD) op(OP_I32_ADD);
  else if (aop == ALU_SUB || aop == ALU_CMP) op(OP_I32_SUB);
  else if (aop == ALU_AND) op(OP_I32_AND);
  else if (aop == ALU_OR) op(OP_I32_OR);
  else op(OP_I32_XOR);
  localSet(L_R);
  if (aop == ALU_ADD || aop == ALU_SUB || aop == ALU_CMP) {
    localGet(L_A); globalSet(G_LAST_OP1);
    localGet(L_B); globalSet(G_LAST_OP2);
    localGet(L_R); globalSet(G_LAST_RESULT);
    konst(4); globalSet(G_LAST_SIZE);
    konst(aop == ALU_ADD ? 0 : 1); globalSet(G_LAST_SUB);
    konst(ARITH_FLAGS); globalSet(G_FLAGS_LAZY);
    flagSource = aop == ALU_ADD ? FS_ADD : FS_SUB;
  } else {
    localGet(L_R); globalSet(G_LAST_RESULT);
    konst(4); globalSet(G_LAST_SIZE);
    globalGet(G_FLAGS_RAW); konst(~(CF | OF | AF)); op(OP_I32_AND); globalSet(G_FLAGS_RAW);
    konst(SF | ZF | PF); globalSet(G_FLAGS_LAZY);
    setFlagSource(FS_LOGIC);
  }
  localGet(L_R);
}

/** Push condition cc (0-15) as 0/1: from the last inline ALU operation's locals when possible, else testCC. */
export function condition(cc: i32, source: i32): void {
  const base = cc & 14, negate = (cc & 1) != 0;
  let done = true;
  if (source == FS_SUB) {
    switch (base) {
      case 0: localGet(L_A); localGet(L_B); op(OP_I32_XOR); localGet(L_A); localGet(L_R); op(OP_I32_XOR); op(OP_I32_AND); konst(0); op(OP_I32_LT_S); break;
      case 2: localGet(L_A); localGet(L_B); op(OP_I32_LT_U); break;
      case 4: localGet(L_R); op(OP_I32_EQZ); break;
      case 6: localGet(L_A); localGet(L_B); op(OP_I32_LE_U); break;
      case 8: localGet(L_R); konst(0); op(OP_I32_LT_S); break;
      case 12: localGet(L_A); localGet(L_B); op(OP_I32_LT_S); break;
      case 14: localGet(L_A); localGet(L_B); op(OP_I32_LE_S); break;
      default: done = false;
    }
  } else if (source == FS_ADD) {
    switch (base) {
      case 0: localGet(L_A); localGet(L_R); op(OP_I32_XOR); localGet(L_B); localGet(L_R); op(OP_I32_XOR); op(OP_I32_AND); konst(0); op(OP_I32_LT_S); break;
      case 2: localGet(L_R); localGet(L_A); op(OP_I32_LT_U); break;
      case 4: localGet(L_R); op(OP_I32_EQZ); break;
      case 8: localGet(L_R); konst(0); op(OP_I32_LT_S); break;
      default: done = false;
    }
  } else if (source == FS_LOGIC) {
    // CF = OF = 0: O and B are false, BE is ZF, L is SF, LE is ZF or SF.
    switch (base) {
      case 0: case 2: konst(0); break;
      case 4: case 6: localGet(L_R); op(OP_I32_EQZ); break;
      case 8: case 12: localGet(L_R); konst(0); op(OP_I32_LT_S); break;
      case 14: localGet(L_R); konst(0); op(OP_I32_LE_S); break;
      default: done = false;
    }
  } else done = false;
  if (!done) { konst(cc); call(F_TESTCC); return; }
  if (negate) op(OP_I32_EQZ);
}
