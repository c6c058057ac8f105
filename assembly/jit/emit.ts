// The region compiler's emission helpers: instructions and constants,
// structured control flow with its nesting depth (so that branches to a
// block function's exit get their label index), guest registers cached in
// locals, and the ways out of a block function.
//
// Guest registers live in core memory (REGS). A block function loads the
// registers it reads into locals when it starts, works on the locals, and
// stores the ones it wrote wherever control leaves it (an exit, a call out
// that reads them, a tail call to the next block). Each block is emitted
// twice: a dry run (writer.ts) learns which registers the block reads and
// writes, then the real run emits the loads first.
import * as W from "./writer";
import { REGS } from "../layout";
import {
  BLOCKTYPE_VOID, G_ABORTED, G_BASE, G_EIP, G_EXIT_REASON, G_SMC_HIT, G_FLAGS_LAZY, G_FLAGS_RAW, G_INSTR_EIP, G_LAST_OP1,
  G_LAST_OP2, G_LAST_RESULT, G_LAST_SIZE, G_LAST_SUB, G_MMIO_READS, L_FA, L_FB, L_FRAW, L_FRES, P_FOP, FOP_SIZE, FOP_SUB,
  L_REG, L_XREL, L_XUN, NO_REG, OP_I32_SHL, OP_I32_SHR_U, OP_BLOCK, OP_BR, OP_CALL, OP_ELSE, OP_END, OP_GLOBAL_GET, OP_GLOBAL_SET, OP_I32_ADD,
  OP_I32_AND, OP_I32_CONST, OP_I32_LOAD, OP_I32_OR, OP_I32_STORE, OP_IF, OP_LOCAL_GET, OP_LOCAL_SET, OP_LOCAL_TEE,
  OP_LOOP, P_R,
} from "./abi";

export function op(o: i32): void { W.byte(o); }
export function konst(v: i32): void { W.byte(OP_I32_CONST); W.i32leb(v); }
export function call(f: i32): void { W.byte(OP_CALL); W.u32leb(f); }
export function localGet(l: i32): void { W.byte(OP_LOCAL_GET); W.u32leb(l); }
export function localSet(l: i32): void { W.byte(OP_LOCAL_SET); W.u32leb(l); }
export function localTee(l: i32): void { W.byte(OP_LOCAL_TEE); W.u32leb(l); }
export function globalGet(g: i32): void { W.byte(OP_GLOBAL_GET); W.u32leb(g); }
export function globalSet(g: i32): void { W.byte(OP_GLOBAL_SET); W.u32leb(g); }
export function memOp(o: i32, align: i32, offset: i32): void { W.byte(o); W.u32leb(align); W.u32leb(offset); }
/** local l = local l + v */
export function localAdd(l: i32, v: i32): void { if (v == 0) return; localGet(l); konst(v); op(OP_I32_ADD); localSet(l); }

// ---- structured control flow ------------------------------------------------------------
// `depth` counts the open blocks, loops and ifs; a label is named by the depth
// just inside it, and a branch from depth d to the label at level l is
// `br (d - l)`. `conditional` counts the open if/else arms: what happens
// inside one may not happen at run time.

export let depth: i32 = 0;
let conditional: i32 = 0;
/** Per open construct: 1 if it is an if (its arms are conditional). */
const isIf = new StaticArray<u8>(256);
export function resetDepth(): void { depth = 0; conditional = 0; }
function open(kind: i32, type: i32, anIf: bool): void {
  W.byte(kind); W.byte(type);
  unchecked(isIf[depth & 255] = anIf ? 1 : 0);
  depth++;
  if (anIf) conditional++;
}
export function blockOpen(type: i32): i32 { open(OP_BLOCK, type, false); return depth; }
export function loopOpen(): i32 { open(OP_LOOP, BLOCKTYPE_VOID, false); return depth; }
export function ifOpen(type: i32): void { open(OP_IF, type, true); }
export function ifVoid(): void { ifOpen(BLOCKTYPE_VOID); }
/** An `if` whose condition is almost always true (a fast path): the else arm is laid out of line (writer.ts hint). */
export function ifLikely(type: i32 = BLOCKTYPE_VOID): void { W.hint(true); ifOpen(type); }
/** An `if` whose condition is almost never true (a fault, an exit, the budget running out). */
export function ifUnlikely(): void { W.hint(false); ifVoid(); }
export function elseOp(): void { W.byte(OP_ELSE); }
export function end(): void {
  W.byte(OP_END);
  depth--;
  if (unchecked(isIf[depth & 255]) != 0) conditional--;
}
export function br(level: i32): void { W.byte(OP_BR); W.u32leb(depth - level); }

// ---- guest registers -------------------------------------------------------------------------
// readSet: registers the block reads (loaded into locals when it starts);
// writeSet: registers it writes; dirty: registers written so far in emission
// order (stored to memory on every way out after that point). A register
// written only on some paths is also loaded, so its local is always current.

export let readSet: i32 = 0;
export let writeSet: i32 = 0;
let dirty: i32 = 0;
export function beginRegisters(reads: i32, writes: i32, dirtyAtStart: i32): void { readSet = reads; writeSet = writes; dirty = dirtyAtStart; }
function noteRead(r: i32): void { readSet |= 1 << r; }
function noteWrite(r: i32): void { writeSet |= 1 << r; dirty |= 1 << r; if (conditional > 0) readSet |= 1 << r; }

export function getReg32(r: i32): void { if (r == NO_REG) { konst(0); return; } noteRead(r); localGet(L_REG + r); }
export function getReg16(r: i32): void { noteRead(r); localGet(L_REG + r); konst(0xffff); op(OP_I32_AND); }
export function getReg8(r: i32): void {
  noteRead(r & 3);
  localGet(L_REG + (r & 3));
  if (r >= 4) { konst(8); op(0x76 /* i32.shr_u */); }
  konst(0xff); op(OP_I32_AND);
}
/** Register of size 1, 2 or 4, zero-extended. */
export function getReg(size: i32, r: i32): void { if (size == 4) getReg32(r); else if (size == 2) getReg16(r); else getReg8(r); }
/** Stack: [value] -> (); sets the register's size-wide part (the rest kept, as the core's setReg). */
export function setReg(size: i32, r: i32): void {
  if (size == 4) { noteWrite(r); localSet(L_REG + r); return; }
  if (size == 2) {
    noteRead(r); noteWrite(r);
    konst(0xffff); op(OP_I32_AND);
    localGet(L_REG + r); konst(~0xffff); op(OP_I32_AND); op(OP_I32_OR); localSet(L_REG + r);
    return;
  }
  const l = L_REG + (r & 3);
  noteRead(r & 3); noteWrite(r & 3);
  konst(0xff); op(OP_I32_AND);
  if (r >= 4) { konst(8); op(0x74 /* i32.shl */); }
  localGet(l); konst(r >= 4 ? ~0xff00 : ~0xff); op(OP_I32_AND); op(OP_I32_OR); localSet(l);
}
export function setReg32(r: i32): void { setReg(4, r); }

/** At the block's start: load the registers it reads. */
export function loadRegisters(): void {
  for (let r = 0; r < 8; r++) if ((readSet & (1 << r)) != 0) reloadReg(r);
}
/** Store the registers written so far (before a way out, or a call out that reads the register file). */
export function storeDirty(): void {
  for (let r = 0; r < 8; r++) if ((dirty & (1 << r)) != 0) storeReg(r);
}
/** After a call out that may have changed any register: read the cached ones again (their memory is current). */
export function reloadCached(): void {
  const cached = readSet | writeSet;
  for (let r = 0; r < 8; r++) if ((cached & (1 << r)) != 0) reloadReg(r);
  if (conditional == 0) dirty = 0;
}
export function storeReg(r: i32): void { konst(0); localGet(L_REG + r); memOp(OP_I32_STORE, 2, REGS + (r << 2)); }
export function reloadReg(r: i32): void { konst(0); memOp(OP_I32_LOAD, 2, REGS + (r << 2)); localSet(L_REG + r); }

// ---- flags -------------------------------------------------------------------------------------

/** The lazy-flags locals to the globals cpu/flags.ts reads (before a call out that reads flags, and at exits). */
export function spillFlags(): void {
  localGet(L_FRAW); globalSet(G_FLAGS_RAW);
  localGet(P_FOP); konst(0xfff); op(OP_I32_AND); globalSet(G_FLAGS_LAZY);
  localGet(L_FA); globalSet(G_LAST_OP1);
  localGet(L_FB); globalSet(G_LAST_OP2);
  localGet(L_FRES); globalSet(G_LAST_RESULT);
  localGet(P_FOP); konst(FOP_SIZE); op(OP_I32_SHR_U); konst(0xff); op(OP_I32_AND); globalSet(G_LAST_SIZE);
  localGet(P_FOP); konst(FOP_SUB); op(OP_I32_SHR_U); globalSet(G_LAST_SUB);
}
export function reloadFlags(): void {
  globalGet(G_FLAGS_RAW); localSet(L_FRAW);
  globalGet(G_FLAGS_LAZY); globalGet(G_LAST_SIZE); konst(FOP_SIZE); op(OP_I32_SHL); op(OP_I32_OR);
  globalGet(G_LAST_SUB); konst(FOP_SUB); op(OP_I32_SHL); op(OP_I32_OR); localSet(P_FOP);
  globalGet(G_LAST_OP1); localSet(L_FA);
  globalGet(G_LAST_OP2); localSet(L_FB);
  globalGet(G_LAST_RESULT); localSet(L_FRES);

}

// ---- EIP --------------------------------------------------------------------------------
// Instruction addresses are offsets in the region: EIP = base + the host
// address's distance from the region's first page; the region's entry
// function keeps base in the module's global G_BASE.

export function pushBase(): void { globalGet(G_BASE); }
/** The module offset (host address - the region's first page) of the page being emitted. */
export let pageMoff: i32 = 0;
export function setPageMoff(v: i32): void { pageMoff = v; }
/** Push EIP of page offset rel (of the current block's page). */
export function pushEip(rel: i32): void { pushBase(); if (pageMoff + rel != 0) { konst(pageMoff + rel); op(OP_I32_ADD); } }
export function setEip(rel: i32): void { pushEip(rel); globalSet(G_EIP); }
/** Before a call out that may fault or exit: the instruction's EIP, as state.ts setInstrEip (no MMIO reads answered yet). */
export function setInstrEip(rel: i32): void {
  pushEip(rel); globalSet(G_INSTR_EIP);
  konst(0); globalSet(G_MMIO_READS);
}

// ---- the instruction being emitted -------------------------------------------------------------
// Its offset in the page, the offset of the next one, and how many
// instructions of the block remain after it (a way out adds them back to
// the budget left, which the block's start had reduced by all of them).

export let insRel: i32 = 0;
export let insNext: i32 = 0;
/** Instructions of the block from this one to its end. */
let insLeft: i32 = 0;
export function beginInstruction(rel: i32, next: i32, left: i32): void { insRel = rel; insNext = next; insLeft = left; }

// ---- ways out ----------------------------------------------------------------------------------
// Every way out of a block function that returns to the translation cache
// names the instructions not retired (L_XUN) and, unless a helper has set
// EIP already, where to continue (L_XREL), and branches to the function's
// shared exit (region.ts emitBody): it sets EIP, stores the registers the
// block writes (their locals are loaded at its start, so they are current
// on every path), gives the budget back, writes the flags back and returns
// the budget left. One exit per function keeps the module small, and V8's
// compile time with it.

/** Leave with EIP as the globals have it. */
export const EXIT_LEVEL: i32 = 1;
/** Leave with EIP = base + L_XREL. */
export const EXIT_AT_LEVEL: i32 = 2;

/** Leave with `unretired` instructions of the block not done, EIP as the globals have it. */
export function leave(unretired: i32): void { konst(unretired); localSet(L_XUN); br(EXIT_LEVEL); }
/** Leave with EIP = base + rel. */
export function leaveAt(rel: i32, unretired: i32): void {
  konst(pageMoff + rel); localSet(L_XREL);
  konst(unretired); localSet(L_XUN);
  br(EXIT_AT_LEVEL);
}
/** The shared exit's code, after the EXIT_AT_LEVEL block: EIP = base + L_XREL. */
export function exitAtCode(): void { pushBase(); localGet(L_XREL); op(OP_I32_ADD); globalSet(G_EIP); }
/** The shared exit's code, after the EXIT_LEVEL block: registers and budget back (the caller writes the flags back). */
export function exitCode(): void {
  for (let r = 0; r < 8; r++) if ((writeSet & (1 << r)) != 0) storeReg(r);
  localGet(P_R); localGet(L_XUN); op(OP_I32_ADD); localSet(P_R);
}
/** The instruction faulted (or must restart): leave before it. */
export function leaveFault(): void { leave(insLeft); }
/** if (aborted) leave before the instruction. */
export function leaveIfAborted(): void { globalGet(G_ABORTED); ifUnlikely(); leaveFault(); end(); }
/** if (cond on the stack) leave before the instruction. */
export function leaveFaultIf(): void { ifUnlikely(); leaveFault(); end(); }
/** The instruction is done but needs the VMM (an exit) or wrote cached code: leave after it at rel. */
export function leaveAfterAt(rel: i32): void { leaveAt(rel, insLeft - 1); }
/** if (exitReason || smcHit) leave after the instruction, EIP as the globals have it. */
export function leaveIfExitKeepEip(): void {
  globalGet(G_EXIT_REASON); globalGet(G_SMC_HIT); op(OP_I32_OR);
  ifUnlikely(); leave(insLeft - 1); end();
}
/** if (cond on the stack) leave after the instruction, EIP as the globals have it. */
export function leaveAfterIfKeepEip(): void { ifUnlikely(); leave(insLeft - 1); end(); }
/** Instructions of the block after the current one (a transfer after it gives them back to the budget). */
export function unretiredAfter(): i32 { return insLeft - 1; }
