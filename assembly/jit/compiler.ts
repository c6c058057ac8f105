// The region compiler: hot translation-cache blocks, with the other warm
// blocks of their page, become one WebAssembly function per page.
//
// The translation cache queues a block once it has been replayed often
// (tcache.ts, jitHot). After run() returns, the Wasm engine asks for one
// module holding a function per queued page (jitEmit), instantiates it with
// the core's memory, globals and helpers as imports, puts each function in
// the function-table slot the core chose for it (jitRegionSlot), and tells
// the core (jitInstall). The cache then enters a block's region instead of
// replaying the block (tcache.ts runBlock; jit/region.ts says how a region
// runs). A page compiled before is compiled again, whole, when another of
// its blocks gets hot; its old slot is reused.
//
// A compiled region does exactly what replay() does, instruction by
// instruction (jit/instr.ts): faults restart the instruction, exits and
// writes into cached code stop after it. The JS engine does not compile: its
// cache only replays.
import * as W from "./writer";
import { ld32a, st32a } from "../portable";
import { JIT_QUEUE, JIT_REGIONS, JIT_REGIONS_MAX } from "../layout";
import {
  jitQueued, setJitQueued, blockValid, blockMode, blockKey, blockCount, blockHot, setBlockHot, blockSlot,
  setBlockRegion, firstBlockOnPage, nextBlockOnPage, dropCompiledRegions, blockAssumed, HOT_QUEUED, HOT_FAILED,
  ASSUME_USER, ASSUME_SS32,
} from "../tcache";
import { TLB_NO_USER } from "../mmu/tlb";
import { allocSlot, freeSlot, slotsAvailable } from "./slots";
import { beginRegion, emitEntry, emitBlockFunction, endRegion, MAX_REGION_BLOCKS, MAX_REGION_RECORDS } from "./region";
import { setAssumptions } from "./memory";
import { BLOCK_PARAMS, F64, I32, IMPORTED_FUNCS, IMPORTED_GLOBALS, T_BLOCK, T_ENTRY, T_I_I, T_I_II, T_I_III, T_I_IIII, T_V_I, T_V_II, T_V_IIII, TYPES } from "./abi";

/** Records per module: the module's size and its compile time. Queued pages beyond it wait for the next one. */
const MODULE_RECORDS: i32 = 16384;
/** Marks a block taken into a region of the module being emitted. */
const HOT_IN_MODULE: i32 = -3;

let regionCount: i32 = 0;
/** Where region r's entry starts in JIT_REGIONS: slot, code size, assumptions, block count, blocks. */
const regionAt = new StaticArray<i32>(1024);
function regionBlocks(r: i32): i32 { return ld32a(JIT_REGIONS + ((unchecked(regionAt[r]) + 3) << 2)); }

export function jitRegionCount(): i32 { return regionCount; }
export function jitRegionSlot(r: i32): i32 { return ld32a(JIT_REGIONS + (unchecked(regionAt[r]) << 2)); }

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
 * Emit a module with one function per queued page into the JIT buffer;
 * returns its length in bytes (0: nothing to compile, or it did not fit).
 * Export r of the module is region r's function.
 */
export function jitEmit(): i32 {
  regionCount = 0;
  if (jitQueued == 0) return 0;
  if (slotsAvailable() < jitQueued) dropCompiledRegions(); // the code cache is full: start over
  collectRegions();
  if (regionCount == 0) return 0;
  W.reset();
  // header
  W.byte(0); W.byte(0x61); W.byte(0x73); W.byte(0x6d); W.byte(1); W.byte(0); W.byte(0); W.byte(0);
  // types (abi.ts T_*)
  W.byte(1); let at = W.reserveSize();
  W.u32leb(TYPES);
  funcType(3, true); funcType(1, false); funcType(3, true); funcType(4, false);
  funcType(4, true); funcType(1, true); funcType(2, false); funcType(2, true);
  funcType(BLOCK_PARAMS, true);
  W.patch(at);
  // imports (abi.ts G_* and F_*, in order)
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
  importFunc("jitProbeWriteV", T_I_III); importFunc("jitPush", T_V_II); importFunc("jitPop", T_I_I);
  importFunc("jitJumpNear", T_V_II); importFunc("jitCallNear", T_V_II); importFunc("jitRetNear", T_V_II);
  importFunc("jitShiftOp", T_I_IIII); importFunc("jitDivAcc", T_I_III);
  W.patch(at);
  // functions: per region its entry, then a function per block
  let functions = 0;
  for (let r = 0; r < regionCount; r++) functions += 1 + regionBlocks(r);
  W.byte(3); at = W.reserveSize();
  W.u32leb(functions);
  for (let r = 0; r < regionCount; r++) {
    W.u32leb(T_ENTRY);
    for (let j = regionBlocks(r); j > 0; j--) W.u32leb(T_BLOCK);
  }
  W.patch(at);
  // exports: "0", "1", ... the regions' entry functions
  W.byte(7); at = W.reserveSize();
  W.u32leb(regionCount);
  let f = 0;
  for (let r = 0; r < regionCount; r++) { decimalName(r); W.byte(0x00); W.u32leb(IMPORTED_FUNCS + f); f += 1 + regionBlocks(r); }
  W.patch(at);
  // code
  W.byte(10); at = W.reserveSize();
  W.u32leb(functions);
  f = 0;
  for (let r = 0; r < regionCount; r++) {
    const e = unchecked(regionAt[r]);
    const n = regionBlocks(r);
    const assume = ld32a(JIT_REGIONS + ((e + 2) << 2));
    setAssumptions(assume & 0xffff, (assume & ASSUME_USER) != 0 ? TLB_NO_USER : 0, (assume & ASSUME_SS32) != 0);
    beginRegion(JIT_REGIONS + ((e + 4) << 2), n, ld32a(JIT_REGIONS + ((e + 1) << 2)) != 0, f);
    emitEntry();
    for (let j = 0; j < n; j++) emitBlockFunction(j);
    endRegion();
    f += 1 + n;
  }
  W.patch(at);
  return W.overflow ? 0 : W.length();
}

/** The queued blocks' regions into JIT_REGIONS; queue entries that did not fit stay queued. */
function collectRegions(): void {
  let words = 0, records = 0, q = 0;
  const n = jitQueued;
  for (; q < n; q++) {
    const b = ld32a(JIT_QUEUE + (q << 2));
    if (!blockValid(b) || blockHot(b) != HOT_QUEUED) continue; // invalidated, or taken into a region of this module
    if (records >= MODULE_RECORDS || regionCount >= 1024 || words + 4 + MAX_REGION_BLOCKS > JIT_REGIONS_MAX) break;
    const e = words;
    const mode = blockMode(b);
    let count = 0;
    // The hot block first, then the page's other warm blocks of the same code size.
    st32a(JIT_REGIONS + ((e + 4) << 2), b); count = 1;
    setBlockHot(b, HOT_IN_MODULE);
    let size = blockCount(b);
    for (let o = firstBlockOnPage(blockKey(b)); o >= 0; o = nextBlockOnPage(o)) {
      if (count >= MAX_REGION_BLOCKS || size >= MAX_REGION_RECORDS) break;
      if (o == b || blockMode(o) != mode || !warm(o)) continue;
      st32a(JIT_REGIONS + ((e + 4 + count) << 2), o); count++;
      setBlockHot(o, HOT_IN_MODULE);
      size += blockCount(o);
    }
    st32a(JIT_REGIONS + (e << 2), allocSlot());
    st32a(JIT_REGIONS + ((e + 1) << 2), mode == 2 ? 1 : 0);
    st32a(JIT_REGIONS + ((e + 2) << 2), blockAssumed(b));
    st32a(JIT_REGIONS + ((e + 3) << 2), count);
    unchecked(regionAt[regionCount++] = e);
    words += 4 + count;
    records += size;
  }
  // Keep what was not taken for the next module.
  let kept = 0;
  for (; q < n; q++) {
    const b = ld32a(JIT_QUEUE + (q << 2));
    if (blockValid(b) && blockHot(b) == HOT_QUEUED) st32a(JIT_QUEUE + (kept++ << 2), b);
  }
  setJitQueued(kept);
}
/** A block worth compiling with its page's hot one: replayed before, queued, or compiled already. */
function warm(b: i32): bool { const h = blockHot(b); return h > 0 || h == HOT_QUEUED || blockSlot(b) != 0; }

/**
 * The module's functions are in their slots (ok), or it could not be
 * compiled: its blocks then stay replayed for good and the slots are free.
 */
export function jitInstall(ok: bool): void {
  for (let r = 0; r < regionCount; r++) {
    const e = unchecked(regionAt[r]);
    const slot = ld32a(JIT_REGIONS + (e << 2));
    const count = ld32a(JIT_REGIONS + ((e + 3) << 2));
    const assume = ld32a(JIT_REGIONS + ((e + 2) << 2));
    if (!ok) {
      for (let j = 0; j < count; j++) {
        const b = ld32a(JIT_REGIONS + ((e + 4 + j) << 2));
        setBlockHot(b, blockSlot(b) != 0 ? 0 : HOT_FAILED);
      }
      freeSlot(slot);
      continue;
    }
    for (let j = 0; j < count; j++) {
      const b = ld32a(JIT_REGIONS + ((e + 4 + j) << 2));
      const old = blockSlot(b);
      setBlockRegion(b, slot, j, assume);
      if (old != 0 && old != slot && !slotStillUsed(b, old)) freeSlot(old);
    }
  }
  regionCount = 0;
}
/** Does a block on b's page still run in the region at `slot`? */
function slotStillUsed(b: i32, slot: i32): bool {
  for (let o = firstBlockOnPage(blockKey(b)); o >= 0; o = nextBlockOnPage(o)) if (blockSlot(o) == slot) return true;
  return false;
}

function decimalName(v: i32): void {
  let digits = 1;
  for (let x = v; x >= 10; x = i32(x / 10)) digits++;
  W.u32leb(digits);
  let div = 1;
  for (let i = 1; i < digits; i++) div *= 10;
  for (; div > 0; div = i32(div / 10)) W.byte(0x30 + i32(v / div) % 10);
}
