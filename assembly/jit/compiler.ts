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
import { REGS, TLB } from "../layout";
import { TLB_VALID, TLB_SLOW, TLB_READONLY, TLB_HAS_CODE } from "../mmu/tlb";
import { REC_HEADER, REC_POS, REC_MODRM, REC_DISP, REC_VALUES } from "../cpu/fetch";
import { ALU_ADD, ALU_OR, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP } from "../cpu/ops/arith";
import { CF, PF, AF, ZF, SF, OF, ARITH_FLAGS } from "../state";
import { jitQueued, blockCount, blockRecord, blockValid } from "../tcache";
import { JIT_QUEUE } from "../layout";
import * as F from "../fastforms";

// Imported globals, in import order (index.ts exports them under these names).
const G_EIP: i32 = 0;
const G_INSTR_EIP: i32 = 1;
const G_ABORTED: i32 = 2;
const G_EXIT_REASON: i32 = 3;
const G_SMC_HIT: i32 = 4;
const G_FLAT_SEGS: i32 = 5;
const G_USER_MASK: i32 = 6;
const G_TLB_LOOKUPS: i32 = 7; // f64
// The lazy-flags state (cpu/flags.ts), which inline ALU operations record as alu() does.
const G_FLAGS_RAW: i32 = 8;
const G_FLAGS_LAZY: i32 = 9;
const G_LAST_OP1: i32 = 10;
const G_LAST_OP2: i32 = 11;
const G_LAST_RESULT: i32 = 12;
const G_LAST_SIZE: i32 = 13;
const G_LAST_SUB: i32 = 14;
const IMPORTED_GLOBALS: i32 = 15;

// Function types.
const T_BLOCK: i32 = 0;   // () -> i32
const T_V_I: i32 = 1;     // (i32) -> ()
const T_I_III: i32 = 2;   // (i32 i32 i32) -> i32
const T_V_IIII: i32 = 3;  // (i32 i32 i32 i32) -> ()
const T_I_IIII: i32 = 4;  // (i32 i32 i32 i32) -> i32
const T_I_I: i32 = 5;     // (i32) -> i32
const T_V_II: i32 = 6;    // (i32 i32) -> ()
const T_I_II: i32 = 7;    // (i32 i32) -> i32

// Imported functions, in import order.
const F_STEP: i32 = 0;      // replayRecord(rec)
const F_READ: i32 = 1;      // readV(seg, off, size) -> value
const F_WRITE: i32 = 2;     // writeV(seg, off, size, value)
const F_ALU: i32 = 3;       // alu(op, size, a, b) -> result
const F_TESTCC: i32 = 4;    // testCC(cc) -> bool
const F_JUMP: i32 = 5;      // jumpNear(target, size)
const F_PUSH: i32 = 6;      // push(size, value)
const F_POP: i32 = 7;       // pop(size) -> value
const F_CALL: i32 = 8;      // callNear(target, size)
const F_RET: i32 = 9;       // retNear(size, imm)
const F_PROBE: i32 = 10;    // probeWriteV(seg, off, size) -> bool
const F_INC: i32 = 11;      // inc(size, a)
const F_DEC: i32 = 12;      // dec(size, a)
const F_SHIFT: i32 = 13;    // shiftOp(op, size, a, count)
const F_IMUL: i32 = 14;     // imulTrunc(size, a, b)
const F_NEG: i32 = 15;      // neg(size, a)
const IMPORTED_FUNCS: i32 = 16;

// Opcodes.
const OP_IF: i32 = 0x04, OP_ELSE: i32 = 0x05, OP_END: i32 = 0x0b, OP_RETURN: i32 = 0x0f, OP_CALL: i32 = 0x10, OP_DROP: i32 = 0x1a;
const OP_LOCAL_GET: i32 = 0x20, OP_LOCAL_SET: i32 = 0x21, OP_LOCAL_TEE: i32 = 0x22, OP_GLOBAL_GET: i32 = 0x23, OP_GLOBAL_SET: i32 = 0x24;
const OP_I32_LOAD: i32 = 0x28, OP_I32_LOAD8_U: i32 = 0x2d, OP_I32_LOAD16_U: i32 = 0x2f;
const OP_I32_STORE: i32 = 0x36, OP_I32_STORE8: i32 = 0x3a, OP_I32_STORE16: i32 = 0x3b;
const OP_I32_CONST: i32 = 0x41, OP_I32_EQZ: i32 = 0x45, OP_I32_ADD: i32 = 0x6a, OP_I32_AND: i32 = 0x71, OP_I32_OR: i32 = 0x72;
const OP_I32_EQ: i32 = 0x46, OP_I32_NE: i32 = 0x47, OP_I32_LT_S: i32 = 0x48, OP_I32_LT_U: i32 = 0x49, OP_I32_GT_S: i32 = 0x4a;
const OP_I32_GT_U: i32 = 0x4b, OP_I32_LE_S: i32 = 0x4c, OP_I32_GE_S: i32 = 0x4e, OP_I32_GE_U: i32 = 0x4f, OP_I32_SUB: i32 = 0x6b;
const OP_I32_LE_U: i32 = 0x4d, OP_I32_SHR_U: i32 = 0x76, OP_F64_CONST: i32 = 0x44, OP_F64_ADD: i32 = 0xa0;
const OP_I32_XOR: i32 = 0x73, OP_I32_SHL: i32 = 0x74, OP_I32_EXTEND8_S: i32 = 0xc0, OP_I32_EXTEND16_S: i32 = 0xc1;
const BLOCKTYPE_VOID: i32 = 0x40;
const I32: i32 = 0x7f;
const F64: i32 = 0x7c;

// Locals of a block function.
const L_START: i32 = 0;   // EIP at entry: instruction addresses are relative to it
const L_OFF: i32 = 1;     // a memory operand's offset
const L_VAL: i32 = 2;     // a value read
const L_ENTRY: i32 = 3;   // a TLB entry
const L_A: i32 = 4;       // operands and result of the last inline ALU operation
const L_B: i32 = 5;
const L_R: i32 = 6;
const LOCALS: i32 = 7;

/** "No register" in an address form (decode.ts NO_REG); it reads as 0. */
const NO_REG: i32 = 8;

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
  importGlobal("jitLastSub", I32);
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
  flagSource = FS_NONE;
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

// ---- emission helpers -----------------------------------------------------------------------

function op(o: i32): void { W.byte(o); }
function konst(v: i32): void { W.byte(OP_I32_CONST); W.i32leb(v); }
function call(f: i32): void { W.byte(OP_CALL); W.u32leb(f); }
function localGet(l: i32): void { W.byte(OP_LOCAL_GET); W.u32leb(l); }
function localSet(l: i32): void { W.byte(OP_LOCAL_SET); W.u32leb(l); }
function memOp(o: i32, align: i32, offset: i32): void { W.byte(o); W.u32leb(align); W.u32leb(offset); }

function setEipTo(rel: i32): void {
  localGet(L_START); konst(rel); op(OP_I32_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_EIP);
}
/** instrEip and EIP of an instruction that may fault, exit or read EIP. */
function setEips(rec: i32): void {
  const pos = ld32a(rec + REC_POS);
  const ieip = pos & 0xffff;
  localGet(L_START); konst(ieip); op(OP_I32_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_INSTR_EIP);
  setEipTo(ieip + (pos >>> 16));
}
/** Offset of the byte after the instruction, relative to the block's entry EIP. */
function nextOf(rec: i32): i32 { const pos = ld32a(rec + REC_POS); return (pos & 0xffff) + (pos >>> 16); }

// Registers live in core memory at REGS (state.ts); 8-bit registers 4-7 are the high bytes of 0-3.
function getReg32(r: i32): void { if (r == NO_REG) { konst(0); return; } konst(0); memOp(OP_I32_LOAD, 2, REGS + (r << 2)); }
function getReg16(r: i32): void { konst(0); memOp(OP_I32_LOAD16_U, 1, REGS + (r << 2)); }
function getReg8(r: i32): void { konst(0); memOp(OP_I32_LOAD8_U, 0, REGS + ((r & 3) << 2) + (r >> 2)); }
/** Push the address operand of a register store; the value follows, then storeReg*. */
function regAddr(): void { konst(0); }
function storeReg32(r: i32): void { memOp(OP_I32_STORE, 2, REGS + (r << 2)); }
function storeReg16(r: i32): void { memOp(OP_I32_STORE16, 1, REGS + (r << 2)); }
function storeReg8(r: i32): void { memOp(OP_I32_STORE8, 0, REGS + ((r & 3) << 2) + (r >> 2)); }

/** disp + base + (index << scale), with the registers at run time (fastforms.ts eaOffset). */
function emitEa(rec: i32): void {
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
function eaSeg(rec: i32): i32 { return (ld32a(rec + REC_MODRM) >> 18) & 7; }

function returnIf(n: i32): void {
  W.byte(OP_IF); W.byte(BLOCKTYPE_VOID); konst(n); op(OP_RETURN); op(OP_END);
}
function returnIfAborted(n: i32): void { W.byte(OP_GLOBAL_GET); W.u32leb(G_ABORTED); returnIf(n); }
function returnIfExit(n: i32): void {
  W.byte(OP_GLOBAL_GET); W.u32leb(G_EXIT_REASON); W.byte(OP_GLOBAL_GET); W.u32leb(G_SMC_HIT); op(OP_I32_OR);
  returnIf(n);
}
// Memory operands. A flat segment (state.ts flatSegs) whose page the TLB
// already allows for this access (cpu/access.ts readLin/writeLin: RAM, the
// CPL permitted; for writes also dirty and without cached code) is accessed
// inline; anything else calls readV/writeV, which check, walk, fault or exit.

/** L_ENTRY = the TLB entry of linear L_OFF if segment seg is flat for this access, else 0; leaves "fast path allowed". */
function emitFastCheck(seg: i32, size: i32, write: bool): void {
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
function emitHostAddress(): void {
  localGet(L_ENTRY); konst(-4096); op(OP_I32_AND); localGet(L_OFF); op(OP_I32_XOR);
}
function countTlbLookup(): void {
  W.byte(OP_GLOBAL_GET); W.u32leb(G_TLB_LOOKUPS); W.byte(OP_F64_CONST);
  for (let i = 0; i < 6; i++) W.byte(0); W.byte(0xf0); W.byte(0x3f); // 1.0
  op(OP_F64_ADD); W.byte(OP_GLOBAL_SET); W.u32leb(G_TLB_LOOKUPS);
}
/** L_VAL = readV(seg, L_OFF, size); return i on a fault. */
function emitReadAt(seg: i32, size: i32, i: i32): void {
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
function emitRead(rec: i32, size: i32, i: i32): void {
  emitEa(rec); localSet(L_OFF);
  emitReadAt(eaSeg(rec), size, i);
}
/** writeV(seg, L_OFF, size, L_VAL); return i on a fault, i + 1 on an exit or a write into cached code. */
function emitWriteAt(seg: i32, size: i32, i: i32): void {
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
function sext8(v: i32): i32 { return (v << 24) >> 24; }

// ---- ALU operations and conditions -------------------------------------------------------------
// ADD, SUB, CMP, AND, OR, XOR (and TEST) with 32-bit operands run inline and
// record the lazy flags exactly as alu() does (cpu/flags.ts lazyArith,
// lazyLogic); ADC, SBB and other sizes call alu(). The operands and result
// stay in locals, so a conditional jump, SETcc or CMOVcc right after reads
// its condition from them instead of from the flags (when the condition is
// one of those the operation decides simply; PF and the like call testCC).

const FS_NONE: i32 = 0, FS_SUB: i32 = 1, FS_ADD: i32 = 2, FS_LOGIC: i32 = 3;
/** What L_A, L_B, L_R hold for the condition of the next instruction. */
let flagSource: i32 = FS_NONE;

function aluInline(aop: i32, size: i32): bool { return size == 4 && aop != 2 && aop != 3; } // not ADC, SBB
/** Before the operands of alu(aop, size, a, b): the helper's leading arguments. */
function aluPrefix(aop: i32, size: i32): void { if (!aluInline(aop, size)) { konst(aop); konst(size); } }
function globalSet(g: i32): void { W.byte(OP_GLOBAL_SET); W.u32leb(g); }
function globalGet(g: i32): void { W.byte(OP_GLOBAL_GET); W.u32leb(g); }
/** Stack [a, b] → [result] (for CMP: a - b, to be dropped); sets flagSource. */
function aluOp(aop: i32, size: i32): void {
  if (!aluInline(aop, size)) { call(F_ALU); flagSource = FS_NONE; return; }
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
    flagSource = FS_LOGIC;
  }
  localGet(L_R);
}

/** Push condition cc (0-15) as 0/1: from the last inline ALU operation's locals when possible, else testCC. */
function condition(cc: i32, source: i32): void {
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
  flagSource = FS_NONE;
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
      flagSource = source;
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
    case F.FAST_MOV_RI: regAddr(); konst(v0); storeReg32(opc & 7); flagSource = source; return false;
    case F.FAST_LEA: regAddr(); emitEa(rec); storeReg32(reg); flagSource = source; return false;
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
      if (reg == 2) { getReg32(rm); konst(-1); op(OP_I32_XOR); flagSource = source; } // NOT changes no flags
      else { konst(4); getReg32(rm); call(F_NEG); }
      storeReg32(rm);
      return false;
    case F.FAST_SETCC:
      regAddr(); condition(v0 & 15, source); storeReg8(rm);
      flagSource = source;
      return false;
    case F.FAST_CMOV:
      condition(v0 & 15, source);
      W.byte(OP_IF); W.byte(BLOCKTYPE_VOID); regAddr(); getReg32(rm); storeReg32(reg); op(OP_END);
      flagSource = source;
      return false;
    case F.FAST_MOV8:
      if (mod3) {
        const dst = opc == 0x88 ? rm : reg, src = opc == 0x88 ? reg : rm;
        regAddr(); getReg8(src); storeReg8(dst);
        flagSource = source;
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
        flagSource = source;
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
    case F.FAST_LOAD: emitRead(rec, 4, i); regAddr(); localGet(L_VAL); storeReg32(reg); flagSource = source; return true;
    case F.FAST_STORE: case F.FAST_MOV_MI:
      emitEa(rec); localSet(L_OFF);
      if (fast == F.FAST_STORE) getReg32(reg); else konst(v0);
      localSet(L_VAL);
      emitWriteAt(eaSeg(rec), 4, i);
      flagSource = source;
      return true;
    case F.FAST_PUSH: case F.FAST_PUSH_I:
      konst(4);
      if (fast == F.FAST_PUSH) getReg32(opc & 7); else konst(opc == 0x68 ? v0 : sext8(v0));
      call(F_PUSH);
      returnIfAborted(i); returnIfExit(i + 1);
      flagSource = source;
      return true;
    case F.FAST_POP:
      konst(4); call(F_POP); localSet(L_VAL); returnIfAborted(i);
      regAddr(); localGet(L_VAL); storeReg32(opc & 7);
      flagSource = source;
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
      flagSource = source;
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
      flagSource = source;
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
      flagSource = source;
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
