// Memory operands and the stack in a block function. A region is compiled
// for the segment state its hot block ran with (which segments were flat,
// the CPL's user bit, a flat 32-bit stack: region.ts checks it at every
// entry and after every call out that may load a segment). An access
// through a flat segment whose page the TLB already allows (cpu/access.ts
// readLin/writeLin: RAM, the CPL permitted; for writes also dirty and
// without cached code) runs inline; anything else calls readV/writeV/
// probeWriteV, which check the segment, walk, fault or exit — with the
// instruction's EIP set first, so a fault restarts it. Compiled code reaches
// guest memory only through the TLB.
import { ld32a } from "../portable";
import { TLB, JIT_TLB_LOOKUPS } from "../layout";
import { TLB_VALID, TLB_SLOW, TLB_READONLY, TLB_HAS_CODE } from "../mmu/tlb";
import { REC_MODRM, REC_DISP } from "../cpu/fetch";
import { SS, ESP } from "../state";
import {
  F_POP, F_PROBE, F_PUSH, F_READ, F_WRITE, G_EXIT_REASON, G_SMC_HIT, I32, L_E, L_HOST, L_OFF, L_PEND, L_VAL,
  NO_REG, OP_I32_ADD, OP_I32_AND, OP_I32_EQ, OP_I32_EQZ, OP_I32_LE_U, OP_I32_LOAD, OP_I32_LOAD16_U,
  OP_I32_LOAD8_U, OP_I32_OR, OP_I32_SHL, OP_I32_SHR_U, OP_I32_STORE, OP_I32_STORE16, OP_I32_STORE8,
  OP_I32_SUB, OP_I32_XOR,
} from "./abi";
import {
  call, elseOp, end, getReg16, getReg32, globalGet, ifOpen, ifVoid, konst, leaveAfterAt, leaveFaultIf,
  leaveIfAborted, localGet, localSet, localTee, memOp, op, reloadReg, setInstrEip, setReg32, storeReg, insRel, insNext,
} from "./emit";

// ---- the region's assumptions ----------------------------------------------------------------

/** flatSegs (state.ts) the region was compiled for: bit s readable and flat, bit 8 + s writable. */
export let aFlat: i32 = 0;
/** TLB_NO_USER at CPL 3, else 0 (state.ts cplUserMask). */
let aUser: i32 = 0;
export function aUserMask(): i32 { return aUser; }
/** SS is flat, readable, writable and 32-bit: PUSH/POP/CALL/RET/LEAVE run inline. */
export let aStack: bool = false;
export function setAssumptions(flat: i32, user: i32, ss32: bool): void {
  aFlat = flat; aUser = user;
  const ssBits = (1 << SS) | (1 << (8 + SS));
  aStack = ss32 && (flat & ssBits) == ssBits;
}

/** Inline accesses emitted for the current block (the fast path's share of tlbLookups is counted per block). */
export let accesses: i32 = 0;
export function resetAccesses(): void { accesses = 0; }
/** A slow path counts its own lookup (cpu/access.ts): take back the block's count for it. */
function uncount(): void {
  konst(0); konst(0); memOp(OP_I32_LOAD, 2, JIT_TLB_LOOKUPS); konst(1); op(OP_I32_SUB); memOp(OP_I32_STORE, 2, JIT_TLB_LOOKUPS);
}

// ---- effective addresses -------------------------------------------------------------------

/** Push the record's effective address (decode.ts evalEa) with the registers in locals. */
export function emitEa(rec: i32, adsize32: bool): void {
  const w = ld32a(rec + REC_MODRM);
  const base = (w >> 8) & 15, index = (w >> 12) & 15, scale = (w >> 16) & 3;
  konst(ld32a(rec + REC_DISP));
  if (adsize32) {
    if (base != NO_REG) { getReg32(base); op(OP_I32_ADD); }
    if (index != NO_REG) {
      getReg32(index);
      if (scale != 0) { konst(scale); op(OP_I32_SHL); }
      op(OP_I32_ADD);
    }
  } else {
    if (base != NO_REG) { getReg16(base); op(OP_I32_ADD); }
    if (index != NO_REG) { getReg16(index); op(OP_I32_ADD); }
    konst(0xffff); op(OP_I32_AND);
  }
}
/** The record's memory operand's segment: the override, else the address form's default. */
export function eaSegment(rec: i32, ov: i32): i32 { return ov >= 0 ? ov : (ld32a(rec + REC_MODRM) >> 18) & 7; }

// ---- the TLB fast path --------------------------------------------------------------------------

/** L_HOST = host address of L_OFF in segment seg if the fast path allows this access, else 0. */
function emitHost(seg: i32, size: i32, write: bool): void {
  if ((aFlat & (write ? 1 << (8 + seg) : 1 << seg)) == 0) { konst(0); localSet(L_HOST); return; }
  emitHostLinear(size, write);
}
/** L_HOST = host address of linear L_OFF if the TLB allows the access on the fast path, else 0. */
function emitHostLinear(size: i32, write: bool): void {
  accesses++;
  // entry = TLB[lin >>> 12]; usable when VALID is its only bit among the access's deny mask
  localGet(L_OFF); konst(12); op(OP_I32_SHR_U); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, TLB);
  localTee(L_E);
  konst(TLB_VALID | TLB_SLOW | aUser | (write ? TLB_READONLY | TLB_HAS_CODE : 0)); op(OP_I32_AND); konst(TLB_VALID); op(OP_I32_EQ);
  if (size > 1) { localGet(L_OFF); konst(0xfff); op(OP_I32_AND); konst(0x1000 - size); op(OP_I32_LE_U); op(OP_I32_AND); }
  ifOpen(I32);
  localGet(L_E); konst(-4096); op(OP_I32_AND); localGet(L_OFF); op(OP_I32_XOR);
  elseOp(); konst(0); end();
  localSet(L_HOST);
}
export function loadHost(size: i32): void {
  if (size == 4) memOp(OP_I32_LOAD, 0, 0); else if (size == 2) memOp(OP_I32_LOAD16_U, 0, 0); else memOp(OP_I32_LOAD8_U, 0, 0);
}
function storeHost(size: i32): void {
  if (size == 4) memOp(OP_I32_STORE, 0, 0); else if (size == 2) memOp(OP_I32_STORE16, 0, 0); else memOp(OP_I32_STORE8, 0, 0);
}
/** Did the access get a host address? (Slow paths only when it did not, or the segment is never flat here.) */
function fastPossible(seg: i32, write: bool): bool { return (aFlat & (write ? 1 << (8 + seg) : 1 << seg)) != 0; }

/** Push the value of `size` bytes at seg:L_OFF (zero-extended); a fault leaves before the instruction. */
export function emitRead(seg: i32, size: i32): void {
  emitHost(seg, size, false);
  if (!fastPossible(seg, false)) { slowRead(seg, size); return; }
  localGet(L_HOST);
  ifOpen(I32);
  localGet(L_HOST); loadHost(size);
  elseOp();
  uncount();
  slowRead(seg, size);
  end();
}
function slowRead(seg: i32, size: i32): void {
  setInstrEip(insRel);
  konst(seg); localGet(L_OFF); konst(size); call(F_READ);
  leaveIfAborted();
}

/**
 * Write L_VAL (`size` bytes) at seg:L_OFF. A fault leaves before the
 * instruction; an exit or a write into cached code sets L_PEND, and
 * leaveIfPending() after the instruction's last effect leaves after it.
 */
export function emitWrite(seg: i32, size: i32): void {
  emitHost(seg, size, true);
  if (!fastPossible(seg, true)) { slowWrite(seg, size); return; }
  localGet(L_HOST);
  ifVoid();
  localGet(L_HOST); localGet(L_VAL); storeHost(size);
  elseOp();
  uncount();
  slowWrite(seg, size);
  end();
}
function slowWrite(seg: i32, size: i32): void {
  setInstrEip(insRel);
  konst(seg); localGet(L_OFF); konst(size); localGet(L_VAL); call(F_WRITE);
  leaveIfAborted();
  notePending();
}
function notePending(): void { globalGet(G_EXIT_REASON); globalGet(G_SMC_HIT); op(OP_I32_OR); localSet(L_PEND); pendingUsed = true; }

/** The current instruction has a slow-path write whose exit must wait for its end. */
let pendingUsed: bool = false;
export function beginPending(): void { pendingUsed = false; konst(0); localSet(L_PEND); }
/** After the instruction's last effect: leave if a slow-path write asked for it. */
export function leaveIfPending(): void { leaveIfPendingAt(insNext); }
/** The same, for an instruction that continues at page offset `rel` (a CALL). */
export function leaveIfPendingAt(rel: i32): void { if (pendingUsed) { localGet(L_PEND); ifVoid(); leaveAfterAt(rel); end(); } }

/**
 * Read-modify-write, first half: push the value at seg:L_OFF after checking
 * (on the slow path, with probeWriteV, as the interpreter's rmwWritable)
 * that it can be written back; L_HOST stays for emitRmwWrite.
 */
export function emitRmwRead(seg: i32, size: i32): void {
  emitHost(seg, size, true);
  if (!fastPossible(seg, true)) { slowRmwRead(seg, size); return; }
  localGet(L_HOST);
  ifOpen(I32);
  localGet(L_HOST); loadHost(size);
  elseOp();
  uncount();
  slowRmwRead(seg, size);
  end();
}
function slowRmwRead(seg: i32, size: i32): void {
  slowRead(seg, size);
  konst(seg); localGet(L_OFF); konst(size); call(F_PROBE); op(OP_I32_EQZ);
  leaveFaultIf();
}
/** Read-modify-write, second half: write L_VAL back where emitRmwRead read. */
export function emitRmwWrite(seg: i32, size: i32): void {
  if (!fastPossible(seg, true)) { slowWrite(seg, size); return; }
  localGet(L_HOST);
  ifVoid();
  localGet(L_HOST); localGet(L_VAL); storeHost(size);
  elseOp();
  slowWrite(seg, size);
  end();
}

// ---- the stack --------------------------------------------------------------------------------------

/** PUSH L_VAL (`size` bytes). ESP changes only when the write succeeded. */
export function emitPush(size: i32): void {
  if (!aStack) { slowPush(size); return; }
  getReg32(ESP); konst(size); op(OP_I32_SUB); localSet(L_OFF);
  emitHostLinear(size, true);
  localGet(L_HOST);
  ifVoid();
  localGet(L_HOST); localGet(L_VAL); storeHost(size);
  localGet(L_OFF); setReg32(ESP);
  elseOp();
  uncount();
  slowPush(size);
  end();
}
function slowPush(size: i32): void {
  setInstrEip(insRel);
  getReg32(ESP); op(0x1a); // (ESP is read: the block loads it)
  storeReg(ESP);
  konst(size); localGet(L_VAL); call(F_PUSH);
  reloadEsp();
  leaveIfAborted();
  notePending();
}
/** POP: push the value (`size` bytes); ESP moves past it. */
export function emitPop(size: i32): void {
  if (!aStack) { slowPop(size); return; }
  getReg32(ESP); localSet(L_OFF);
  emitHostLinear(size, false);
  localGet(L_HOST);
  ifOpen(I32);
  localGet(L_HOST); loadHost(size);
  localGet(L_OFF); konst(size); op(OP_I32_ADD); setReg32(ESP);
  elseOp();
  uncount();
  slowPop(size);
  end();
}
function slowPop(size: i32): void {
  setInstrEip(insRel);
  getReg32(ESP); op(0x1a);
  storeReg(ESP);
  konst(size); call(F_POP);
  reloadEsp();
  leaveIfAborted();
}
/** After a helper moved ESP in the register file: the local follows. */
export function reloadEsp(): void { reloadReg(ESP); }
/** L_HOST = host address of SS:(value on the stack) for a `size`-byte read if the fast path allows it, else 0. */
export function emitStackHost(size: i32): void {
  if (!aStack) { op(0x1a); konst(0); localSet(L_HOST); return; }
  localSet(L_OFF);
  emitHostLinear(size, false);
}
