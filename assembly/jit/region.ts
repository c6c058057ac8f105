// A region: translation-cache blocks of one code size compiled together —
// a hot block's page and the pages its blocks jump or call to (collect.ts).
// Each block becomes a Wasm function of its own; a jump, a taken Jcc, a
// fall-through, a CALL or a RET (to a block after one of the region's CALLs)
// from one block to another of the region is a tail call (`return_call`) —
// to another page only after checking that the TLB still maps it where the
// region was compiled for — and a block that jumps back to its own start
// loops inside its function, so a hot loop runs with its registers in locals
// and never returns to the translation cache. The lazy flags travel from
// block to block as parameters; registers live in core memory between blocks.
//
// The region's entry function (tcache.ts calls it with the index of the
// block to start at, the budget and the base — the EIP at which the region's
// first page would start) stores the base, reads the flags from the globals
// and tail-calls the block. Every function returns the budget left when
// control leaves the region, when the next block would exceed the budget, on
// a fault (before the faulting instruction), or after an instruction that
// exits or writes cached code — as replay() would.
//
// Entering at a block requires its whole page to lie inside the code
// segment's limit (tcache.ts checks it), so that jumps inside the page need
// no limit check and EIP arithmetic never wraps; jumps to the region's other
// pages are made only in a flat 32-bit code segment.
import * as W from "./writer";
import { ld32a, st32a } from "../portable";
import { JIT_OFFSETS, TLB } from "../layout";
import { TLB_VALID, TLB_SLOW, TLB_NO_EXEC } from "../mmu/tlb";
import { CS } from "../state";
import { REC_HEADER, REC_MODRM, REC_POS } from "../cpu/fetch";
import { blockCount, blockRecord, blockKey } from "../tcache";
import {
  BLOCKTYPE_VOID, E_BASE, E_BUDGET, E_ENTRY, G_BASE, G_FLAGS_LAZY, G_FLAGS_RAW, G_LAST_OP1, G_LAST_OP2, G_LAST_RESULT,
  G_LAST_SIZE, G_LAST_SUB, I32, I32_LOCALS, I64, I64_LOCALS, IMPORTED_FUNCS, OP_BR_TABLE, OP_END, OP_I32_ADD,
  OP_I32_LOAD, OP_I32_LT_S, OP_I32_OR, OP_I32_SHL, OP_I32_STORE, OP_RETURN_CALL, P_R, FOP_SIZE, FOP_SUB,
  L_T1, L_E, OP_I32_SHR_U, OP_I32_AND, OP_I32_EQ, OP_I32_XOR, L_LINK, H_LINK, G_LINK_ENTRY, G_LINK_BASE, OP_RETURN_CALL_INDIRECT, T_ENTRY,
} from "./abi";
import {
  EXIT_LEVEL, exitAtCode, globalSet, exitCode, beginInstruction, beginRegisters, blockOpen, br, end, globalGet, ifVoid, ifLikely, ifUnlikely, konst, leaveAt, localAdd,
  localGet, localSet, loadRegisters, loopOpen, memOp, op, readSet, resetDepth, spillFlags, storeDirty, writeSet,
  pushEip, setPageMoff, call, localTee,
} from "./emit";
import { forgetFlags, pushFlagArgs, unpackFlags } from "./flags";
import { ENDS, emitInstruction } from "./instr";
import { flatSeg, aUserMask, aPrivilege } from "./memory";

/** The region being emitted: its blocks (indices in the translation cache), its pages (host addresses), code size. */
const blocks = new StaticArray<i32>(256);
let count: i32 = 0;
const pages = new StaticArray<i32>(8);
let pageCount: i32 = 0;
/** The host address of the region's first page: a block's EIP is the region's base + (its host address - ref). */
let ref: i32 = 0;
/** Index in the module's function space of the region's first block function. */
let firstFunc: i32 = 0;
export let regionCs32: bool = true;

// Blocks that start at the return address of one of the region's CALLs (module offsets): a RET compares its target with these.
const MAX_LANDINGS: i32 = 8;
const landings = new StaticArray<i32>(8);
export let landingCount: i32 = 0;
/** Landing k's offset relative to the current block's page. */
export function landingRel(k: i32): i32 { return unchecked(landings[k]) - currentPageMoff; }

function offsetOf(b: i32): i32 { return blockKey(b) & 0xfff; }
/** Where the region's block at host address `host` would be noted in JIT_OFFSETS (0: not one of its pages). */
function slotFor(host: i32): i32 {
  const page = host & ~0xfff;
  for (let p = 0; p < pageCount; p++) if (unchecked(pages[p]) == page) return JIT_OFFSETS + (((p << 12) | (host & 0xfff)) << 2);
  return 0;
}
/** Index + 1 of the region's block at module offset moff (host address - ref), or 0. */
function blockAtMoff(moff: i32): i32 { const at = slotFor(i32(ref + moff)); return at == 0 ? 0 : ld32a(at); }

/** Set up the region of `n` blocks listed at `list`, over `np` pages listed at `pageList`; its entry is module function `entryFunc`. */
export function beginRegion(list: i32, n: i32, pageList: i32, np: i32, cs32: bool, entryFunc: i32): void {
  count = n;
  pageCount = np;
  for (let p = 0; p < np; p++) unchecked(pages[p] = ld32a(pageList + (p << 2)));
  ref = unchecked(pages[0]);
  regionCs32 = cs32;
  firstFunc = entryFunc + 1;
  for (let j = 0; j < n; j++) {
    const b = ld32a(list + (j << 2));
    unchecked(blocks[j] = b);
    st32a(slotFor(blockKey(b)), j + 1);
  }
  findLandings();
}
export function endRegion(): void {
  for (let j = 0; j < count; j++) st32a(slotFor(blockKey(unchecked(blocks[j]))), 0);
}

function findLandings(): void {
  landingCount = 0;
  for (let j = 0; j < count; j++) {
    const b = unchecked(blocks[j]);
    const c = blockCount(b);
    for (let i = 0; i < c; i++) {
      const rec = blockRecord(b, i);
      const opc = ld32a(rec + REC_HEADER) & 0xff;
      const isCall = opc == 0xe8 || (opc == 0xff && ((ld32a(rec + REC_MODRM) >> 3) & 7) == 2);
      if (!isCall) continue;
      const pos = ld32a(rec + REC_POS);
      const next = i32(blockKey(b) - ref) + (pos & 0xffff) + (pos >>> 16); // (module offset)
      if (blockAtMoff(next) == 0 || landingCount >= MAX_LANDINGS) continue;
      let seen = false;
      for (let k = 0; k < landingCount; k++) if (unchecked(landings[k]) == next) seen = true;
      if (!seen) unchecked(landings[landingCount++] = next);
    }
  }
}

/** The entry function's body: store the base, pass the flags from the globals, tail-call the block asked for. */
export function emitEntry(): void {
  const size = W.bodySize(IMPORTED_FUNCS + firstFunc - 1);
  W.u32leb(1); W.u32leb(5); W.byte(I32); // locals 3-7: the flag arguments
  resetDepth();
  localGet(E_BASE); globalSet(G_BASE);
  globalGet(G_FLAGS_RAW); localSet(3);
  globalGet(G_LAST_OP1); localSet(4);
  globalGet(G_LAST_OP2); localSet(5);
  globalGet(G_LAST_RESULT); localSet(6);
  globalGet(G_FLAGS_LAZY); globalGet(G_LAST_SIZE); konst(FOP_SIZE); op(OP_I32_SHL); op(OP_I32_OR);
  globalGet(G_LAST_SUB); konst(FOP_SUB); op(OP_I32_SHL); op(OP_I32_OR); localSet(7);
  for (let j = 0; j < count; j++) blockOpen(BLOCKTYPE_VOID);
  localGet(E_ENTRY);
  W.byte(OP_BR_TABLE); W.u32leb(count);
  for (let j = 0; j < count; j++) W.u32leb(j);
  W.u32leb(count - 1);
  for (let j = 0; j < count; j++) {
    end();
    localGet(E_BUDGET); localGet(3); localGet(4); localGet(5); localGet(6); localGet(7);
    W.byte(OP_RETURN_CALL); W.u32leb(IMPORTED_FUNCS + firstFunc + j);
  }
  W.byte(OP_END);
  W.patch(size);
}

// The block being emitted.
let current: i32 = 0;
let currentStart: i32 = 0;
/** Module offset of the current block's page. */
let currentPageMoff: i32 = 0;
/** The block branches back to its own start: its body is a loop. */
let selfLoop: bool = false;
const SELF_LEVEL: i32 = 3;

/** Block j's function: a dry run to learn its registers and loop, then the real one. */
export function emitBlockFunction(j: i32): void {
  current = j;
  currentStart = offsetOf(unchecked(blocks[j]));
  currentPageMoff = i32((blockKey(unchecked(blocks[j])) & ~0xfff) - ref);
  setPageMoff(currentPageMoff);
  W.setDry(true);
  selfLoop = false;
  beginRegisters(0, 0, 0);
  emitBody();
  const reads = readSet, writes = writeSet, loops = selfLoop;
  W.setDry(false);
  const size = W.bodySize(IMPORTED_FUNCS + firstFunc + j);
  W.u32leb(2); W.u32leb(I32_LOCALS); W.byte(I32); W.u32leb(I64_LOCALS); W.byte(I64);
  // Registers the block writes are loaded too, so the shared exit can store them on any path; a loop's
  // back edge carries the registers it wrote: they count as written from the start.
  beginRegisters(reads | writes, writes, loops ? writes : 0);
  selfLoop = loops;
  emitBody();
  W.byte(OP_END);
  W.patch(size);
}

function emitBody(): void {
  const b = unchecked(blocks[current]);
  const c = blockCount(b);
  resetDepth();
  linkSites = false;
  unpackFlags();
  loadRegisters();
  blockOpen(BLOCKTYPE_VOID); // EXIT_LEVEL
  blockOpen(BLOCKTYPE_VOID); // EXIT_AT_LEVEL
  if (selfLoop) { loopOpen(); forgetFlags(); } // SELF_LEVEL
  // Not enough budget for the whole block: leave before it (the cache replays what the budget allows).
  localGet(P_R); konst(c); op(OP_I32_LT_S);
  ifUnlikely(); leaveAt(currentStart, 0); end();
  localAdd(P_R, -c);
  let next = currentStart;
  let ended = false;
  for (let i = 0; i < c; i++) {
    const rec = blockRecord(b, i);
    const pos = ld32a(rec + REC_POS);
    const rel = currentStart + (pos & 0xffff);
    next = rel + (pos >>> 16);
    beginInstruction(rel, next, c - i);
    if (emitInstruction(rec) == ENDS) { ended = true; break; }
  }
  // The block ended without a transfer (its size limit, the page's end, an instruction the cache does not keep).
  if (!ended) emitGoto(next, 0);
  if (selfLoop) end();
  end(); // EXIT_AT_LEVEL
  exitAtCode();
  end(); // EXIT_LEVEL
  // The way out: registers to memory, the flags to the globals, the budget left as the result.
  exitCode();
  spillFlags();
  if (linkSites) emitLinkExit();
  localGet(P_R);
}

// ---- links between regions ----------------------------------------------------------------------
// A block leaving its region for a plain EIP — a jump, call or return to code outside it, in flat 32-bit
// code — goes on into that code's region itself when the cache has one noted for the EIP and it may be
// entered here and now (helpers.ts H_LINK checks as the cache would): a tail call through the function
// table, so kernel code calling small functions on other pages does not go back through tcRun at every
// call and return. Registers are in memory and the flags in the globals by then, as for any way out.

/** A way out of the current block function may link (set by leaveLinked / markLink while emitting it). */
let linkSites: bool = false;
/** The way out that follows is a near transfer to a plain EIP (G_EIP set, or leaveAt's): it may link. */
export function markLink(): void {
  if (!regionCs32 || !flatSeg(CS)) return;
  linkSites = true;
  konst(1); localSet(L_LINK);
}
/** leaveAt(rel, unretired) for a transfer to rel that is not one of the region's blocks. */
function leaveLinked(rel: i32, unretired: i32): void { markLink(); leaveAt(rel, unretired); }
/** At the shared exit (registers stored, flags spilled): if the way out may link and H_LINK finds a region, tail-call it. */
function emitLinkExit(): void {
  localGet(L_LINK);
  ifVoid();
  konst(aUserMask()); konst(aPrivilege()); call(H_LINK); localTee(L_T1);
  ifVoid();
  globalGet(G_LINK_ENTRY); localGet(P_R); globalGet(G_LINK_BASE); localGet(L_T1);
  W.byte(OP_RETURN_CALL_INDIRECT); W.u32leb(T_ENTRY); W.u32leb(0);
  end();
  end();
}

/**
 * Continue at page offset rel (of the current block's page), `unretired`
 * instructions of the current block not executed (given back to the budget):
 * the block's own start loops, another block of the region is a tail call —
 * on another page, or after an instruction that changed the TLB
 * (`retranslate`), only if the TLB maps that page where the region expects
 * it — and anything else leaves.
 */
export function emitGoto(rel: i32, unretired: i32, retranslate: bool = false): void {
  const t = blockAtMoff(currentPageMoff + rel);
  if (t == 0) { leaveLinked(rel, unretired); return; }
  if (t - 1 == current && !retranslate) {
    selfLoop = true;
    if (W.dry) { br(EXIT_LEVEL); return; } // (the dry run has no loop open yet)
    localAdd(P_R, unretired);
    br(SELF_LEVEL);
    return;
  }
  const checked = retranslate || !(rel >= 0 && rel < 4096);
  if (checked) {
    // Another page of the region (or this one, the TLB changed): its TLB entry must allow the fetch and name the host page compiled.
    if (!regionCs32 || !flatSeg(CS)) { leaveAt(rel, unretired); return; }
    const host = i32(ref + currentPageMoff + rel) & ~0xfff;
    pushEip(rel); localSet(L_T1);
    localGet(L_T1); konst(12); op(OP_I32_SHR_U); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, TLB); localSet(L_E);
    localGet(L_E); konst(TLB_VALID | TLB_SLOW | TLB_NO_EXEC | aUserMask()); op(OP_I32_AND); konst(TLB_VALID); op(OP_I32_EQ);
    localGet(L_E); localGet(L_T1); op(OP_I32_XOR); konst(-4096); op(OP_I32_AND); konst(host); op(OP_I32_EQ);
    op(OP_I32_AND);
    ifLikely();
  }
  storeDirty();
  localAdd(P_R, unretired);
  localGet(P_R); pushFlagArgs();
  W.byte(OP_RETURN_CALL); W.u32leb(IMPORTED_FUNCS + firstFunc + t - 1);
  if (checked) { end(); leaveLinked(rel, unretired); }
}
