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
  jitQueued, blockKey, blockLin, setBlockHot, blockSlot, setBlockRegion, dropRegion, keepRegionForPage, firstBlockOnPage, nextBlockOnPage, dropCompiledRegions,
  HOT_FAILED, ASSUME_USER, ASSUME_SUPER, ASSUME_SUPER_GUARDED, ASSUME_SS32,
} from "../tcache";
import { freeSlot, slotsAvailable, setSlotPages, slotPageCount, slotPage, slotLive } from "./slots";
import { collectRegions, regionCount, regionWord, regionAddr, resetRegions, R_SLOT, R_CS32, R_ASSUME, R_COUNT, R_PAGES, R_BLOCKS } from "./collect";
import { beginRegion, emitEntry, emitBlockFunction, endRegion } from "./region";
import { setAssumptions, reliedFlatSegs, reliesOnStack } from "./memory";
import { HELPERS, helperType, helperName, emitHelpers } from "./helpers";
import { BLOCK_PARAMS, I32, IMPORTED_FUNCS, IMPORTED_GLOBALS, MODULE_GLOBALS, T_BLOCK, T_ENTRY, T_I_I, T_I_II, T_I_III, T_I_IIII, T_V_I, T_V_II, T_V_III, T_V_IIII, T_V_V, TYPES } from "./abi";

export function jitRegionCount(): i32 { return regionCount; }
export function jitRegionSlot(r: i32): i32 { return regionWord(r, R_SLOT); }

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
  resetRegions();
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
  funcType(BLOCK_PARAMS, true); funcType(3, false); funcType(5, true); funcType(0, false);
  W.patch(at);
  // imports (abi.ts G_* and F_*, in order)
  W.byte(2); at = W.reserveSize();
  W.u32leb(2 + IMPORTED_GLOBALS + IMPORTED_FUNCS);
  W.name("c"); W.name("memory"); W.byte(0x02); W.byte(0); W.u32leb(0);
  W.name("c"); W.name("table"); W.byte(0x01); W.byte(0x70); W.byte(0); W.u32leb(0); // (region links tail-call through it)
  importGlobal("jitEip", I32); importGlobal("jitInstrEip", I32); importGlobal("jitAborted", I32);
  importGlobal("jitExitReason", I32); importGlobal("jitSmcHit", I32); importGlobal("jitFlatSegs", I32);
  importGlobal("jitFlagsRaw", I32); importGlobal("jitFlagsLazy", I32); importGlobal("jitLastOp1", I32);
  importGlobal("jitLastOp2", I32); importGlobal("jitLastResult", I32); importGlobal("jitLastSize", I32);
  importGlobal("jitLastSub", I32); importGlobal("jitMmioReadsAnswered", I32); importGlobal("jitSs32", I32);
  importFunc("jitStep", T_V_I); importFunc("jitReadV", T_I_III); importFunc("jitWriteV", T_V_IIII);
  importFunc("jitProbeWriteV", T_I_III); importFunc("jitPush", T_V_II); importFunc("jitPop", T_I_I);
  importFunc("jitJumpNear", T_V_II); importFunc("jitCallNear", T_V_II); importFunc("jitRetNear", T_V_II);
  importFunc("jitShiftOp", T_I_IIII); importFunc("jitDivAcc", T_I_III); importFunc("jitIn", T_I_II);
  importFunc("jitOut", T_V_III); importFunc("jitEndShadow", T_V_V); importFunc("jitRetiredAt", T_V_I);
  W.patch(at);
  // functions: per region its entry, then a function per block
  let functions = HELPERS;
  for (let r = 0; r < regionCount; r++) functions += 1 + regionWord(r, R_COUNT);
  W.byte(3); at = W.reserveSize();
  W.u32leb(functions);
  for (let h = 0; h < HELPERS; h++) W.u32leb(helperType(h));
  for (let r = 0; r < regionCount; r++) {
    W.u32leb(T_ENTRY);
    for (let j = regionWord(r, R_COUNT); j > 0; j--) W.u32leb(T_BLOCK);
  }
  W.patch(at);
  // globals: the running region's base, the region entry a link goes to (abi.ts G_BASE, G_LINK_*)
  W.byte(6); at = W.reserveSize();
  W.u32leb(MODULE_GLOBALS);
  for (let g = 0; g < MODULE_GLOBALS; g++) { W.byte(I32); W.byte(1); W.byte(0x41); W.byte(0); W.byte(0x0b); }
  W.patch(at);
  // exports: "0", "1", ... the regions' entry functions
  W.byte(7); at = W.reserveSize();
  W.u32leb(regionCount);
  let f = HELPERS;
  for (let r = 0; r < regionCount; r++) { decimalName(r); W.byte(0x00); W.u32leb(IMPORTED_FUNCS + f); f += 1 + regionWord(r, R_COUNT); }
  W.patch(at);
  // code (the branch hints, known once it is emitted, go before it)
  const codeAt = W.length();
  W.byte(10); at = W.reserveSize();
  W.u32leb(functions);
  emitHelpers();
  f = HELPERS;
  for (let r = 0; r < regionCount; r++) {
    const n = regionWord(r, R_COUNT);
    const assume = regionWord(r, R_ASSUME);
    const privilege = assume & (ASSUME_USER | ASSUME_SUPER | ASSUME_SUPER_GUARDED);
    setAssumptions(assume & 0xffffff, privilege, (assume & ASSUME_SS32) != 0);
    beginRegion(regionAddr(r, R_BLOCKS), n, regionAddr(r, R_PAGES + 1), regionWord(r, R_PAGES), regionWord(r, R_CS32) != 0, f);
    emitEntry();
    for (let j = 0; j < n; j++) emitBlockFunction(j);
    endRegion();
    // What the region needs at entry: the flat bits its code relies on, its privilege, a 32-bit stack if it relies on one.
    st32a(regionAddr(r, R_ASSUME), reliedFlatSegs() | privilege |
      (reliesOnStack() ? ASSUME_SS32 : 0));
    f += 1 + n;
  }
  W.patch(at);
  W.insertHints(codeAt);
  // names: the helpers by what they do, each region's entry and block functions by the guest address of their
  // block ("r"/"b" + 8 hex digits), so that a host profile (node --cpu-prof) says which guest code the time went to
  W.byte(0); at = W.reserveSize();
  W.name("name");
  W.byte(1); const names = W.reserveSize();
  W.u32leb(functions);
  for (let h = 0; h < HELPERS; h++) { W.u32leb(IMPORTED_FUNCS + h); W.name(helperName(h)); }
  f = HELPERS;
  for (let r = 0; r < regionCount; r++) {
    const list = regionAddr(r, R_BLOCKS);
    W.u32leb(IMPORTED_FUNCS + f++); hexName(0x72 /* r */, blockLin(ld32a(list)));
    for (let j = 0; j < regionWord(r, R_COUNT); j++) { W.u32leb(IMPORTED_FUNCS + f++); hexName(0x62 /* b */, blockLin(ld32a(list + (j << 2)))); }
  }
  W.patch(names);
  W.patch(at);
  return W.overflow ? 0 : W.length();
}
function hexName(prefix: i32, v: i32): void {
  W.u32leb(9); W.byte(prefix);
  for (let i = 28; i >= 0; i -= 4) { const d = (v >>> i) & 15; W.byte(d < 10 ? 0x30 + d : 0x57 + d); }
}

/**
 * The module's functions are in their slots (ok), or it could not be
 * compiled: its blocks then stay replayed for good and the slots are free.
 */
export function jitInstall(ok: bool): void {
  for (let r = 0; r < regionCount; r++) {
    const slot = regionWord(r, R_SLOT);
    const count = regionWord(r, R_COUNT);
    const assume = regionWord(r, R_ASSUME);
    const ref = regionWord(r, R_PAGES + 1);
    const list = regionAddr(r, R_BLOCKS);
    if (!ok) {
      for (let j = 0; j < count; j++) { const b = ld32a(list + (j << 2)); setBlockHot(b, blockSlot(b) != 0 ? 0 : HOT_FAILED); }
      freeSlot(slot);
      continue;
    }
    setSlotPages(slot, regionAddr(r, R_PAGES + 1), regionWord(r, R_PAGES));
    for (let j = 0; j < count; j++) {
      const b = ld32a(list + (j << 2));
      const old = blockSlot(b);
      setBlockRegion(b, slot, j, assume, blockKey(b) - ref);
      // The older region still holds the block's code, and its other blocks may still reach it; but a write to the
      // block's page finds only the new region (a block names one): kept, the older one must be found there too.
      // (One no block names any more is freed: nothing enters it but links, which its slot's next generation ends.)
      if (old == 0 || old == slot || !slotLive(old) || namedOnPage(old, blockKey(b))) continue;
      if (slotStillUsed(old)) keepRegionForPage(old, blockKey(b));
      else dropRegion(old);
    }
  }
  resetRegions();
}
/** Does a block on one of the pages of the region at `slot` still name it? */
function slotStillUsed(slot: i32): bool {
  for (let i = slotPageCount(slot) - 1; i >= 0; i--) if (namedOnPage(slot, slotPage(slot, i))) return true;
  return false;
}
/** Does a block on the page of host address `host` name the region in `slot` (so a write there finds it)? */
function namedOnPage(slot: i32, host: i32): bool {
  for (let o = firstBlockOnPage(host & ~0xfff); o >= 0; o = nextBlockOnPage(o)) if (blockSlot(o) == slot) return true;
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
