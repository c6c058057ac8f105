// Memory operands and the stack in a block function. A region is compiled
// for the segment state its hot block ran with (which segments were flat,
// the CPL's user bit, a flat 32-bit stack) and runs wherever the state has
// what its code relied on (below: tcache.ts runBlock checks it at every
// entry, instr.ts genericBody after an instruction that may load a
// segment). An access
// through a flat segment whose page the TLB already allows (cpu/access.ts
// readLin/writeLin: RAM, the CPL permitted; for writes also dirty and
// without cached code) runs inline; anything else calls readV/writeV/
// probeWriteV, which check the segment, walk, fault or exit — with the
// instruction's EIP set first, so a fault restarts it. Compiled code reaches
// guest memory only through the TLB.
import { ld32a } from "../portable";
import { TLB, SEG_BASE } from "../layout";
import { TLB_VALID, TLB_SLOW, TLB_READONLY, TLB_HAS_CODE, TLB_NO_USER, TLB_USER_PAGE } from "../mmu/tlb";
import { ASSUME_USER, ASSUME_SUPER_GUARDED } from "../tcache";
import { REC_MODRM, REC_DISP } from "../cpu/fetch";
import { SS, ESP } from "../state";
import {
  H_POP, H_PUSH, H_READ, H_RMW_READ, H_WRITE, H_WRITE_RMW, I32, L_E, L_HOST, L_LIN, L_OFF, L_PEND, L_VAL,
  NO_REG, OP_I32_ADD, OP_I32_EQZ, OP_I32_OR, OP_I32_AND, OP_I32_EQ, OP_I32_LE_U, OP_I32_LOAD, OP_I32_LOAD16_U,
  OP_I32_LOAD8_U, OP_I32_SHL, OP_I32_SHR_U, OP_I32_STORE, OP_I32_STORE16, OP_I32_STORE8,
  OP_I32_SUB, OP_I32_XOR,
} from "./abi";
import {
  call, elseOp, end, getReg16, getReg32, ifOpen, ifVoid, ifLikely, ifUnlikely, konst, leaveAfterAt, leaveIfAborted, localGet, localSet,
  localTee, memOp, op, pageMoff, reloadReg, setReg32, insRel, insNext,
} from "./emit";

// ---- the region's assumptions ----------------------------------------------------------------
//
// The code relies only on the flat bits it found set: a bit found clear
// means the general path, right in any state. So the region records the
// bits it relied on, and needs only those at entry (tcache.ts runBlock):
// kernel code compiled while one process ran (its GS the TLS segment) runs
// compiled in another (GS null) because it never touches GS.

/** flatSegs (state.ts) the region was compiled for: bit s readable, bit 8 + s writable, with no limit to check; bit 16 + s base 0. */
let aFlat: i32 = 0;
/** The bits of aFlat the code emitted so far relies on, and whether it relies on aStack. */
let reliedFlat: i32 = 0;
let reliedStack: bool = false;
export function reliedFlatSegs(): i32 { return reliedFlat; }
export function reliesOnStack(): bool { return reliedStack; }
/** Are all of flatSegs' `bits` set (then the code may rely on them: noted)? */
function flatBits(bits: i32): bool {
  if ((aFlat & bits) != bits) return false;
  reliedFlat |= bits;
  return true;
}
/** Segment s is flat: base 0, no limit to check, readable (linear = offset). */
export function flatSeg(s: i32): bool { return flatBits((1 << s) | (1 << (16 + s))); }
/** The TLB flag the region's accesses deny (state.ts cplUserMask): TLB_NO_USER at CPL 3, TLB_USER_PAGE under SMAP/SMEP, else 0. */
let aUser: i32 = 0;
export function aUserMask(): i32 { return aUser; }
/** The region's privilege (tcache.ts ASSUME_USER, ASSUME_SUPER or ASSUME_SUPER_GUARDED). */
let aPriv: i32 = 0;
export function aPrivilege(): i32 { return aPriv; }
export function aIsUser(): bool { return aPriv == ASSUME_USER; }
/** SS is flat, readable, writable and 32-bit: PUSH/POP/CALL/RET/LEAVE run inline. */
let aStack: bool = false;
const SS_FLAT_BITS: i32 = (1 << SS) | (1 << (8 + SS)) | (1 << (16 + SS));
export function stackFast(): bool {
  if (!aStack) return false;
  reliedFlat |= SS_FLAT_BITS;
  reliedStack = true;
  return true;
}
/** Compile for this state (reliance starts empty: a new region). */
export function setAssumptions(flat: i32, privilege: i32, ss32: bool): void {
  aFlat = flat; aPriv = privilege;
  aUser = privilege == ASSUME_USER ? TLB_NO_USER : privilege == ASSUME_SUPER_GUARDED ? TLB_USER_PAGE : 0;
  aStack = ss32 && (flat & SS_FLAT_BITS) == SS_FLAT_BITS;
  reliedFlat = 0; reliedStack = false;
}

/** The current instruction's module offset, the helpers' last argument. */
function pushRel(): void { konst(pageMoff + insRel); }

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

/**
 * Push 1 if the TLB allows a `size`-byte access at linear lin on the fast
 * path (L_E = its entry), else 0: the entry is usable when VALID is its only
 * bit among the access's deny mask, and the access stays inside the page.
 * lin is L_OFF in a segment with base 0 (and on the stack), else L_LIN =
 * L_OFF + the base, read from the segment cache (setLinear).
 */
function emitFastCheck(size: i32, write: bool): void {
  localGet(lin); konst(12); op(OP_I32_SHR_U); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, TLB);
  localTee(L_E);
  // (entry & mask) ^ VALID, or'ed with bit 12 of (page offset + size - 1): 0 when the access may go ahead
  konst(TLB_VALID | TLB_SLOW | aUser | (write ? TLB_READONLY | TLB_HAS_CODE : 0)); op(OP_I32_AND); konst(TLB_VALID); op(OP_I32_XOR);
  if (size > 1) { localGet(lin); konst(0xfff); op(OP_I32_AND); konst(size - 1); op(OP_I32_ADD); konst(0x1000); op(OP_I32_AND); op(OP_I32_OR); }
  op(OP_I32_EQZ);
}
/** The local holding the access's linear address. */
let lin: i32 = L_OFF;
/** The access is through segment seg (whose limit needs no check): find its linear address. */
function setLinear(seg: i32): void {
  if (flatBits(1 << (16 + seg))) { lin = L_OFF; return; }
  localGet(L_OFF); konst(0); memOp(OP_I32_LOAD, 2, SEG_BASE + (seg << 2)); op(OP_I32_ADD); localSet(L_LIN);
  lin = L_LIN;
}
/** Push the host address of the access, once emitFastCheck said yes. */
function pushHost(): void { localGet(L_E); konst(-4096); op(OP_I32_AND); localGet(lin); op(OP_I32_XOR); }
/** L_HOST = host address of linear L_OFF if the TLB allows the access on the fast path, else 0. */
function emitHostLinear(size: i32, write: bool): void {
  lin = L_OFF;
  emitFastCheck(size, write);
  ifLikely(I32); pushHost(); elseOp(); konst(0); end();
  localSet(L_HOST);
}
export function loadHost(size: i32): void {
  if (size == 4) memOp(OP_I32_LOAD, 0, 0); else if (size == 2) memOp(OP_I32_LOAD16_U, 0, 0); else memOp(OP_I32_LOAD8_U, 0, 0);
}
function storeHost(size: i32): void {
  if (size == 4) memOp(OP_I32_STORE, 0, 0); else if (size == 2) memOp(OP_I32_STORE16, 0, 0); else memOp(OP_I32_STORE8, 0, 0);
}
/** Did the access get a host address? (Slow paths only when it did not, or the segment is never flat here.) */
function fastPossible(seg: i32, write: bool): bool { return flatBits(write ? 1 << (8 + seg) : 1 << seg); }

/** Push the value of `size` bytes at seg:L_OFF (zero-extended); a fault leaves before the instruction. */
export function emitRead(seg: i32, size: i32): void {
  if (!fastPossible(seg, false)) { slowRead(seg, size); return; }
  setLinear(seg);
  emitFastCheck(size, false);
  ifLikely(I32);
  pushHost(); loadHost(size);
  elseOp();
  slowRead(seg, size);
  end();
}
function slowRead(seg: i32, size: i32): void {
  konst(seg); localGet(L_OFF); konst(size); pushRel(); call(H_READ);
  leaveIfAborted();
}

/**
 * Write L_VAL (`size` bytes) at seg:L_OFF. A fault leaves before the
 * instruction; an exit or a write into cached code sets L_PEND, and
 * leaveIfPending() after the instruction's last effect leaves after it.
 */
export function emitWrite(seg: i32, size: i32): void {
  clearPending();
  if (!fastPossible(seg, true)) { slowWrite(seg, size, H_WRITE); return; }
  setLinear(seg);
  emitFastCheck(size, true);
  ifLikely();
  pushHost(); localGet(L_VAL); storeHost(size);
  elseOp();
  slowWrite(seg, size, H_WRITE);
  end();
}
/** The write through helper `h` (H_WRITE, or H_WRITE_RMW after a read-modify-write's read). */
function slowWrite(seg: i32, size: i32, h: i32): void {
  konst(seg); localGet(L_OFF); konst(size); localGet(L_VAL); pushRel(); call(h);
  notePending();
  leaveIfAborted();
}
/** Stack [exit or cached code hit] -> (): remember it for leaveIfPending. */
function notePending(): void { localSet(L_PEND); pendingUsed = true; }

/** The current instruction has a slow-path write whose exit must wait for its end. */
let pendingUsed: bool = false;
export function beginPending(): void { pendingUsed = false; }
/**
 * Before an instruction's first write that may take a slow path: nothing pending yet (the
 * slow path sets it). An instruction whose write happens only on some paths calls it before
 * they part, so that leaveIfPending never reads what an earlier instruction left.
 */
export function clearPending(): void { if (!pendingUsed) { konst(0); localSet(L_PEND); pendingUsed = true; } }
/** After the instruction's last effect: leave if a slow-path write asked for it. */
export function leaveIfPending(): void { leaveIfPendingAt(insNext); }
/** The same, for an instruction that continues at page offset `rel` (a CALL). */
export function leaveIfPendingAt(rel: i32): void { if (pendingUsed) { localGet(L_PEND); ifUnlikely(); leaveAfterAt(rel); end(); } }

/**
 * Read-modify-write, first half: push the value at seg:L_OFF after checking
 * (on the slow path, with probeWriteV, as the interpreter's rmwWritable)
 * that it can be written back; L_HOST stays for emitRmwWrite.
 */
export function emitRmwRead(seg: i32, size: i32): void {
  if (!fastPossible(seg, true)) { slowRmwRead(seg, size); return; }
  setLinear(seg);
  emitFastCheck(size, true);
  ifLikely(I32);
  pushHost(); localTee(L_HOST); loadHost(size);
  elseOp();
  slowRmwRead(seg, size);
  // The slow path walked (a TLB miss, the usual reason to be here): the write may go inline after all.
  emitFastCheck(size, true);
  ifOpen(I32); pushHost(); elseOp(); konst(0); end();
  localSet(L_HOST);
  end();
}
function slowRmwRead(seg: i32, size: i32): void {
  konst(seg); localGet(L_OFF); konst(size); pushRel(); call(H_RMW_READ);
  leaveIfAborted();
}
/** Read-modify-write, second half: write L_VAL back where emitRmwRead read. */
export function emitRmwWrite(seg: i32, size: i32): void {
  clearPending();
  if (!fastPossible(seg, true)) { slowWrite(seg, size, H_WRITE_RMW); return; }
  localGet(L_HOST);
  ifLikely();
  localGet(L_HOST); localGet(L_VAL); storeHost(size);
  elseOp();
  slowWrite(seg, size, H_WRITE_RMW);
  end();
}

// ---- the stack --------------------------------------------------------------------------------------

/** PUSH L_VAL (`size` bytes). ESP changes only when the write succeeded. */
export function emitPush(size: i32): void {
  clearPending();
  if (!stackFast()) { slowPush(size); return; }
  getReg32(ESP); konst(size); op(OP_I32_SUB); localSet(L_OFF);
  lin = L_OFF;
  emitFastCheck(size, true);
  ifLikely();
  pushHost(); localGet(L_VAL); storeHost(size);
  localGet(L_OFF); setReg32(ESP);
  elseOp();
  slowPush(size);
  end();
}
function slowPush(size: i32): void {
  konst(size); localGet(L_VAL); getReg32(ESP); pushRel(); call(H_PUSH);
  notePending();
  reloadEsp();
  leaveIfAborted();
}
/** POP: push the value (`size` bytes); ESP moves past it. */
export function emitPop(size: i32): void {
  if (!stackFast()) { slowPop(size); return; }
  getReg32(ESP); localSet(L_OFF);
  lin = L_OFF;
  emitFastCheck(size, false);
  ifLikely(I32);
  pushHost(); loadHost(size);
  localGet(L_OFF); konst(size); op(OP_I32_ADD); setReg32(ESP);
  elseOp();
  slowPop(size);
  end();
}
function slowPop(size: i32): void {
  konst(size); getReg32(ESP); pushRel(); call(H_POP);
  reloadEsp();
  leaveIfAborted();
}
/** After a helper moved ESP in the register file: the local follows. */
export function reloadEsp(): void { reloadReg(ESP); }
/** L_HOST = host address of SS:(value on the stack) for a `size`-byte read if the fast path allows it, else 0. */
export function emitStackHost(size: i32): void {
  if (!stackFast()) { op(0x1a); konst(0); localSet(L_HOST); return; }
  localSet(L_OFF);
  emitHostLinear(size, false);
}
