// The translation cache: instructions decoded once, replayed afterwards.
//
// A block is a run of instructions within one page, keyed by the host
// address of its first byte (which names the guest-physical page, or the
// ROM) and the code-segment size (the only mode that changes decoding). A
// record holds what decoding produced: the prefixes and opcode, the ModRM
// byte with its address form (base, index, scale, displacement), and the
// values the instruction body fetched (immediates, the second opcode byte).
// Replaying sets the decoder state from the record and runs the same
// instruction body as the interpreter (exec.ts), with fetches answered from
// the record — so cached and uncached execution cannot diverge.
//
// Blocks are built by recording while interpreting. They end after a near
// control transfer or REP string instruction — except a conditional jump
// that was not taken while recording: the block goes on along the fall-through
// path, and replaying stops wherever a jump is taken — before a page boundary, and
// after any instruction that changes how later code decodes or runs
// (far transfers, IRET, INT, HLT, MOV SS, system instructions) — those are
// executed but not cached. POPF and STI are cached but end their block, and
// the cache stops there when they made an event due: a single-step trap (TF),
// or STI's interrupt shadow with an event pending (the run loop in index.ts
// takes both, and an interrupt that IF now lets in — tcRun chains only when
// none is pending; with none, the shadow ends at once: jitEndShadow).
// INVLPG and MOV CR3 are cached but end
// their block: the code page may map elsewhere after them.
//
// Self-modifying code is exact: a page holding blocks is marked in the TLB
// so writes to it take the slow path. A write to one of the page's 64-byte
// lines that hold cached instructions invalidates every block on the page
// and stops the running block after the current instruction; writes to the
// page's other lines (data next to code) invalidate nothing.
import {
  JIT_QUEUE, JIT_QUEUE_MAX, JIT_LINKS, JIT_LINKS_COUNT, JIT_LINK_ON, JIT_LINKS_TAKEN, JIT_KEPT, JIT_KEPT_MAX, TC_HASH, TC_HASH_SIZE, TC_BLOCKS, TC_BLOCK_MAX, TC_PAGES, TC_LINES, TC_SMC, TC_RECORDS, TC_RECORD_MAX, RAM_BASE,
} from "./layout";
import { ld32a, st32a, ld8, st8, fill8, copy8 } from "./portable";
import { eip, setEip, setInstrEip, cs32, ss32, flatSegs, cplUserMask, cpl, segLimit, segBase, CS, retiredInRun, setRetiredInRun, flagsRaw, TF, irqShadow, setIrqShadow } from "./state";
import {
  opsize, adsize32, segOverride, repPrefix, lockPrefix, setOpsize, setAdsize32, setSegOverride, setRepPrefix,
  setLockPrefix, modrmFormWord, eaDisp,
} from "./cpu/decode";
import {
  fetchHostAddress, fetchWindowLeft, startRecording, startReplay, stopRecordReplay, recordedCount,
  REC_HEADER, REC_POS, REC_MODRM, REC_DISP, REC_VALUES, REC_MAX_VALUES, H_OPSIZE4, H_ADSIZE32, H_LOCK, noteFetchEnd, fetchEnd,
} from "./cpu/fetch";
import { fastForm, runFast, FAST_NONE } from "./fastforms";
import { step, exec1 } from "./cpu/exec";
import { aborted } from "./fault";
import { exitReason, EXIT_NONE } from "./exit";
import { hostSize } from "./mmu/p2m";
import { tlbFlush, tlbMarkCode } from "./mmu/tlb";
import { freeSlot, dropAllSlots, slotLive, slotPageCount, slotPage, slotGen } from "./jit/slots";

const MAX_BLOCK_INSNS: i32 = 64;

// Block fields (64 bytes).
const B_KEY: i32 = 0;
const B_MODE: i32 = 4;    // 0 = invalid, else 1 + cs32
const B_FIRST: i32 = 8;
const B_COUNT: i32 = 12;
const B_HNEXT: i32 = 16;  // next block in the hash bucket + 1
const B_PNEXT: i32 = 20;  // next block on the same page + 1
const B_LEN: i32 = 24;    // bytes covered
const B_HOT: i32 = 28;    // ≥ 0: replays so far; HOT_QUEUED: waiting for the compiler; HOT_FAILED: never compiled
const B_SUCC: i32 = 32;   // the blocks that ran next, most recent first (index + 1; checked by key before use)
const B_SUCC2: i32 = 36;
const B_FUNC: i32 = 40;   // function-table slot of the compiled region holding the block (0: none)
const B_ENTRY: i32 = 44;  // the block's index in that region
const B_ASSUME: i32 = 48; // what the region needs (assumedState() bits it relies on: jit/memory.ts); when queued: the state it ran in
const B_LIN: i32 = 52;    // the linear address it was built at (jit/compiler.ts follows jumps to other pages with it)
const B_MOFF: i32 = 56;   // in its region: host address - the region's first page (EIP = the region's base + this)
export const HOT_QUEUED: i32 = -1;
export const HOT_FAILED: i32 = -2;

export let tcEnabled: bool = true;
export let tcLookups: f64 = 0;
export let tcHits: f64 = 0;
export let tcBuilt: f64 = 0;
export let tcInvalidations: f64 = 0;
export let tcEvictions: f64 = 0;
/** Entries into compiled regions, and instructions retired there and by replaying blocks (the rest were interpreted). */
export let tcRegionEntries: f64 = 0;
export let tcCompiledRetired: f64 = 0;
export let tcReplayedRetired: f64 = 0;
/** Set when a write hit a page with cached code; the running block stops. */
export let smcHit: bool = false;

let nextBlock: i32 = 0;
let nextRecord: i32 = 0;

export function setTcacheEnabled(on: bool): void { tcEnabled = on; tcFlushAll(); }

function blockAddr(b: i32): i32 { return TC_BLOCKS + (b << 6); }
function recordAddr(r: i32): i32 { return TC_RECORDS + (r << 5); }
function bucketOf(host: i32, mode: i32): i32 { return ((host ^ (host >>> 12) ^ (mode << 7)) & (TC_HASH_SIZE - 1)); }

// ---- code pages ------------------------------------------------------------------------

/** Does the host frame at host-physical `pa` hold cached code? (Pool frames only; ROM cannot be written.) */
export function pageHasCode(pa: i32): bool {
  const page = pa >>> 12;
  if (u32(page) >= u32(hostSize >>> 12)) return false;
  return ld32a(TC_PAGES + (page << 2)) != 0;
}

/** Does a write of `len` bytes at `pa` (within one page) touch a line holding cached code? */
export function writeHitsCode(pa: i32, len: i32): bool {
  const page = pa >>> 12;
  if (u32(page) >= u32(hostSize >>> 12)) return false;
  const first = (pa & 0xfff) >> 6, last = ((pa & 0xfff) + len - 1) >> 6;
  const lines = TC_LINES + (page << 3);
  for (let l = first; l <= last && l < 64; l++) {
    if ((ld32a(lines + ((l >> 5) << 2)) & (1 << (l & 31))) != 0) return true;
  }
  return false;
}

function markLines(page: i32, from: i32, to: i32): void {
  const lines = TC_LINES + (page << 3);
  for (let l = from >> 6; l <= (to - 1) >> 6 && l < 64; l++) {
    const w = lines + ((l >> 5) << 2);
    st32a(w, ld32a(w) | (1 << (l & 31)));
  }
}

/** A write reached the host frame at host-physical `pa`: drop its blocks. */
export function invalidateCodeAt(pa: i32): void {
  const page = pa >>> 12;
  if (u32(page) >= u32(hostSize >>> 12)) return;
  const headAddr = TC_PAGES + (page << 2);
  let b = ld32a(headAddr) - 1;
  if (b < 0) return;
  while (b >= 0) {
    const a = blockAddr(b);
    const slot = ld32a(a + B_FUNC);
    if (slotLive(slot)) dropRegion(slot); // (with every page it covers: its functions call each other)
    st32a(a + B_MODE, 0);
    b = ld32a(a + B_PNEXT) - 1;
    tcInvalidations += 1;
  }
  if (keptCount > 0) dropKeptRegions(page);
  st32a(headAddr, 0);
  st32a(TC_LINES + (page << 3), 0);
  st32a(TC_LINES + (page << 3) + 4, 0);
  smcHit = true;
  // A page whose code keeps being rewritten (or that mixes code and hot data in
  // one line) is cheaper to interpret than to translate again and again.
  const c = ld8(TC_SMC + page);
  if (c < SMC_LIMIT) st8(TC_SMC + page, c + 1);
}

/** Invalidations after which a page is only interpreted (until the next full flush). */
const SMC_LIMIT: i32 = 32;

/** Writes by the VMM or devices to host frames [pa, pa+len) (host-physical). */
export function invalidateCodeRange(pa: i32, len: i32): void {
  if (len <= 0) return;
  const first = pa >>> 12, last = i32(pa + len - 1) >>> 12;
  for (let p = first; p <= last; p++) invalidateCodeAt(p << 12);
}

/** Drop everything (eviction when full, ROM or memory-map changes, switching the cache). */
export function tcFlushAll(): void {
  fill8(TC_HASH, 0, TC_HASH_SIZE << 2);
  fill8(TC_PAGES, 0, (hostSize >>> 12) << 2);
  fill8(TC_LINES, 0, (hostSize >>> 12) << 3);
  fill8(TC_SMC, 0, hostSize >>> 12);
  nextBlock = 0;
  nextRecord = 0;
  jitQueued = 0;
  keptCount = 0;
  dropAllSlots(); // compiled functions of the old blocks are unreachable now: their table slots may be reused
  tlbFlush(false); // TLB entries marked "has code" may now be stale
}

// ---- the region compiler's queue (jit/compiler.ts emits, the engine installs) ---------------

/** Replays after which a block is queued for compilation (set by the engine). */
let jitHot: i32 = 0; // (the engine sets it with jitEnabled: src/engine/engine.ts has the default)
export let jitEnabled: bool = false;
export let jitQueued: i32 = 0;
export function setJitEnabled(on: bool, threshold: i32): void { jitEnabled = on; jitHot = threshold; }
export function jitThreshold(): i32 { return jitHot; }
export function setJitQueued(n: i32): void { jitQueued = n; }

// What jit/ reads and writes of a block.
export function blockValid(b: i32): bool { return ld32a(blockAddr(b) + B_MODE) != 0; }
export function blockMode(b: i32): i32 { return ld32a(blockAddr(b) + B_MODE); }
export function blockKey(b: i32): i32 { return ld32a(blockAddr(b) + B_KEY); }
export function blockCount(b: i32): i32 { return ld32a(blockAddr(b) + B_COUNT); }
export function blockRecord(b: i32, i: i32): i32 { return recordAddr(ld32a(blockAddr(b) + B_FIRST) + i); }
export function blockHot(b: i32): i32 { return ld32a(blockAddr(b) + B_HOT); }
export function setBlockHot(b: i32, v: i32): void { st32a(blockAddr(b) + B_HOT, v); }
export function blockSlot(b: i32): i32 { return ld32a(blockAddr(b) + B_FUNC); }
/** The block now runs as entry `entry` of the compiled region in table slot `slot`, compiled for state `assume`. */
export function setBlockRegion(b: i32, slot: i32, entry: i32, assume: i32, moff: i32): void {
  const a = blockAddr(b);
  st32a(a + B_FUNC, slot); st32a(a + B_ENTRY, entry); st32a(a + B_HOT, 0); st32a(a + B_ASSUME, assume); st32a(a + B_MOFF, moff);
}
export function blockLin(b: i32): i32 { return ld32a(blockAddr(b) + B_LIN); }
/** Forget the region in `slot`: its blocks, on every page it covers, replay (and queue again when hot). */
export function dropRegion(slot: i32): void {
  for (let i = slotPageCount(slot) - 1; i >= 0; i--) {
    for (let o = firstBlockOnPage(slotPage(slot, i)); o >= 0; o = nextBlockOnPage(o)) {
      const a = blockAddr(o);
      if (ld32a(a + B_FUNC) == slot) { st32a(a + B_FUNC, 0); st32a(a + B_HOT, 0); }
    }
  }
  freeSlot(slot);
}

// A write to a page drops the regions its blocks name, and a block names one region. When a newer region takes a
// block along (a hot block brings its page's compiled blocks: jit/compiler.ts jitInstall), the older region still
// holds the block's code and its other blocks still run it there, so a write to the block's page must drop the older
// region too. It is kept, with the page, in this list, instead of dropped whole — which made every region compiled on
// a page drop every older region with a block there, whose other blocks then replayed until hot again, compiled and
// dropped more in turn (a Linux guest's STREAM ran 2 – 3 × slower). Entries name the slot's generation: a region
// dropped since is not another region in its slot. Full (stale entries removed first), the older region is dropped.
let keptCount: i32 = 0;
function keptAt(i: i32): i32 { return JIT_KEPT + (i << 4); }
/** No block left on the page of host address `host` names region `slot`: a write there must still drop it. */
export function keepRegionForPage(slot: i32, host: i32): void {
  if (u32(host - RAM_BASE) >= u32(hostSize)) { dropRegion(slot); return; }
  const page = i32(host - RAM_BASE) >>> 12, gen = slotGen(slot);
  for (let i = 0; i < keptCount; i++) {
    const e = keptAt(i);
    if (ld32a(e) == page && ld32a(e + 4) == slot && ld32a(e + 8) == gen) return; // (already kept for it)
  }
  if (keptCount == JIT_KEPT_MAX) {
    let n = 0;
    for (let i = 0; i < keptCount; i++) {
      const e = keptAt(i), s = ld32a(e + 4);
      if (slotLive(s) && slotGen(s) == ld32a(e + 8)) { copy8(keptAt(n), e, 16); n++; }
    }
    keptCount = n;
    if (n == JIT_KEPT_MAX) { dropRegion(slot); return; }
  }
  const e = keptAt(keptCount++);
  st32a(e, page); st32a(e + 4, slot); st32a(e + 8, gen);
}
/** A write reached `page`: drop the regions kept for it (and forget entries whose region is gone). */
function dropKeptRegions(page: i32): void {
  let n = 0;
  for (let i = 0; i < keptCount; i++) {
    const e = keptAt(i), s = ld32a(e + 4);
    if (!slotLive(s) || slotGen(s) != ld32a(e + 8)) continue;
    if (ld32a(e) == page) { dropRegion(s); continue; }
    if (n != i) copy8(keptAt(n), e, 16);
    n++;
  }
  keptCount = n;
}

export function blockAssumed(b: i32): i32 { return ld32a(blockAddr(b) + B_ASSUME); }

// What a region is compiled for (jit/memory.ts): which segments are flat, the CPL's user bit, a 32-bit stack.
// A region runs where the state has every bit it needs (runBlock): privilege is one of two bits, so it must match.
export const ASSUME_USER: i32 = 1 << 24;
export const ASSUME_SS32: i32 = 1 << 25;
export const ASSUME_SUPER: i32 = 1 << 26;
/** CPL 0-2 with CR4.SMAP or CR4.SMEP: compiled accesses send user pages to the slow path (state.ts cplUserMask). */
export const ASSUME_SUPER_GUARDED: i32 = 1 << 27;
function assumedState(): i32 {
  const privilege = cpl == 3 ? ASSUME_USER : cplUserMask != 0 ? ASSUME_SUPER_GUARDED : ASSUME_SUPER;
  return flatSegs | privilege | (ss32 ? ASSUME_SS32 : 0);
}
/** The first block cached on the RAM page holding host address `host` (-1: none, or not RAM). */
export function firstBlockOnPage(host: i32): i32 {
  if (u32(host - RAM_BASE) >= u32(hostSize)) return -1;
  return ld32a(TC_PAGES + ((i32(host - RAM_BASE) >>> 12) << 2)) - 1;
}
export function nextBlockOnPage(b: i32): i32 { return ld32a(blockAddr(b) + B_PNEXT) - 1; }
/** Forget every compiled region (the table is full): blocks replay and queue again when hot. */
export function dropCompiledRegions(): void {
  for (let b = 0; b < nextBlock; b++) {
    const a = blockAddr(b);
    st32a(a + B_FUNC, 0);
    if (ld32a(a + B_HOT) < 0) st32a(a + B_HOT, 0);
  }
  jitQueued = 0;
  keptCount = 0;
  dropAllSlots();
}

// ---- lookup -----------------------------------------------------------------------------

function lookup(host: i32, mode: i32): i32 {
  let b = ld32a(TC_HASH + (bucketOf(host, mode) << 2)) - 1;
  while (b >= 0) {
    const a = blockAddr(b);
    if (ld32a(a + B_KEY) == host && ld32a(a + B_MODE) == mode) return b;
    b = ld32a(a + B_HNEXT) - 1;
  }
  return -1;
}

/**
 * The instructions retired in this run() before the block tcRun runs now (set before each block): RDTSC reads
 * the count before it (state.ts retiredInRun), which replay keeps exact instruction by instruction, and a compiled
 * region through jitRetiredAt — its budget left counts down from regionBudget, the budget it was entered with,
 * through every region it links to (jit/region.ts), so that what it has retired is regionBudget minus what is left.
 */
let blockBase: i32 = 0;
let regionBudget: i32 = 0;
/** Compiled code before an RDTSC: `left` = its budget left plus the instructions from this one to its block's end. */
export function jitRetiredAt(left: i32): void { setRetiredInRun(blockBase + regionBudget - left); }

/**
 * End STI's interrupt shadow right after the STI, while the cache chains: nothing is pending (`chain`) and
 * nothing can become so before the run returns (events come from the VMM, between runs), and the budget has
 * room for the next instruction (tcRun and the compiled STI check it) — so the shadow blocks nothing, and the
 * run loop, had the cache returned to it, would clear it before that instruction and go on (index.ts run):
 * the same state, without the way out and back in (Linux's spin_unlock_irq is an STI — 95 000 a STREAM run
 * under SwapBypass). With an event pending, or the budget used up, the shadow stays for the run loop and the VMM.
 */
export function jitEndShadow(): void { setIrqShadow(false); }

/**
 * Run instructions at CS:EIP through the cache. Returns the number retired
 * (a fault or exit may stop it early: check `aborted` and the exit reason),
 * or -1 when the cache cannot be used here and the caller should interpret.
 * With `chain`, cached blocks follow one another without returning, as long
 * as each ends normally and the next is cached: the caller passes it when no
 * interrupt can become deliverable meanwhile (none is pending, no window is
 * wanted: what cached code does to IF — POPF, STI — then makes nothing due).
 */
export function tcRun(budget: i32, chain: bool): i32 {
  st32a(JIT_LINK_ON, chain ? 1 : 0); // (a compiled region goes on into another only where the cache would chain)
  const base = retiredInRun; // (the run loop's count before this call)
  let done = 0;
  let prev = -1;
  for (;;) {
    setInstrEip(eip);
    const host = fetchHostAddress(1);
    if (host < 0) return done > 0 || aborted ? done : -1;
    const mode = cs32 ? 2 : 1;
    tcLookups += 1;
    let b = prev >= 0 ? successor(prev, host, mode) : -1;
    if (b < 0) {
      b = lookup(host, mode);
      if (b >= 0 && prev >= 0) noteSuccessor(prev, b);
    }
    if (b < 0) {
      if (done > 0) return done; // built on the next call
      if (u32(host - RAM_BASE) < u32(hostSize) && ld8(TC_SMC + (i32(host - RAM_BASE) >>> 12)) >= SMC_LIMIT) return -1;
      return build(host, mode, budget);
    }
    const a = blockAddr(b);
    if (ld32a(a + B_COUNT) == 0) return done > 0 ? done : -1; // an instruction the cache does not keep (build)
    if (u32(i32(eip + ld32a(a + B_LEN) - 1)) > u32(segLimit(CS))) return done > 0 ? done : -1;
    tcHits += 1;
    blockBase = base + done;
    done += runBlock(b, a, budget - done);
    if (!chain || done >= budget || aborted || exitReason != EXIT_NONE || smcHit) return done;
    if ((flagsRaw & TF) != 0) return done; // (a block ending in a POPF that set TF: the run loop takes the trap)
    if (irqShadow) jitEndShadow(); // (a block ending in STI: see jitEndShadow)
    prev = b;
  }
  return done; // (not reached: the loop returns)
}

/**
 * Run cached block b (at a): through its compiled region when it has one,
 * the budget covers the block and the region's page lies inside the code
 * segment (jit/region.ts), else replay it.
 */
function runBlock(b: i32, a: i32, budget: i32): i32 {
  const slot = ld32a(a + B_FUNC);
  if (slot != 0) {
    const needs = ld32a(a + B_ASSUME);
    if (budget >= ld32a(a + B_COUNT) && pageInsideCs(i32(eip - (ld32a(a + B_KEY) & 0xfff))) && (assumedState() & needs) == needs) {
      smcHit = false;
      noteLink(a, slot, needs);
      regionBudget = budget;
      const n = budget - call_indirect<i32>(slot, ld32a(a + B_ENTRY), budget, i32(eip - ld32a(a + B_MOFF)));
      tcRegionEntries += 1;
      tcCompiledRetired += n;
      return n;
    }
  } else if (jitEnabled) {
    const hot = ld32a(a + B_HOT);
    if (hot >= 0) {
      if (hot + 1 < jitHot) st32a(a + B_HOT, hot + 1); // the jitHot-th replay queues it
      else if (jitQueued < JIT_QUEUE_MAX) {
        st32a(JIT_QUEUE + (jitQueued++ << 2), b); st32a(a + B_HOT, HOT_QUEUED); st32a(a + B_ASSUME, assumedState());
      }
    }
  }
  const n = replay(a, budget);
  tcReplayedRetired += n;
  return n;
}
/**
 * Remember how block `a` (compiled, in `slot`) is entered at EIP, for compiled regions that leave for this EIP:
 * they tail-call its region themselves (jit/region.ts emitLink) while the slot's generation, the TLB's page
 * for EIP and the state the region needs are as here. Only 32-bit code: the regions that link are.
 */
function noteLink(a: i32, slot: i32, needs: i32): void {
  if (!cs32) return;
  const e = JIT_LINKS + (linkHash(eip) << 5);
  st32a(e, eip);
  st32a(e + LINK_HOST, ld32a(a + B_KEY) & ~0xfff);
  st32a(e + LINK_SLOT, slot);
  st32a(e + LINK_GEN, slotGen(slot));
  st32a(e + LINK_ENTRY, ld32a(a + B_ENTRY));
  st32a(e + LINK_MOFF, ld32a(a + B_MOFF));
  st32a(e + LINK_NEEDS, needs);
}
/** A links entry's fields (layout.ts JIT_LINKS) and the entry for an EIP. */
export const LINK_HOST: i32 = 4, LINK_SLOT: i32 = 8, LINK_GEN: i32 = 12, LINK_ENTRY: i32 = 16, LINK_MOFF: i32 = 20, LINK_NEEDS: i32 = 24;
export const LINK_HASH_MUL: i32 = 0x9e3779b1, LINK_HASH_SHIFT: i32 = 21; // (Fibonacci hashing: 2048 entries)
export function linkHash(eip: i32): i32 { return i32(u32(eip * LINK_HASH_MUL) >>> LINK_HASH_SHIFT); }
/** Links taken (an i64 the regions count in). */
export function tcLinksTaken(): f64 { return f64(u32(ld32a(JIT_LINKS_TAKEN))) + f64(u32(ld32a(JIT_LINKS_TAKEN + 4))) * 4294967296.0; }

/** Do the CS offsets base .. base + 4095 lie inside the code segment (and, for 16-bit code, below 64 KiB)? */
function pageInsideCs(base: i32): bool {
  const end = i32(base + 0xfff);
  const limit = segLimit(CS);
  return u32(base) <= u32(end) && u32(end) <= u32(limit) && (cs32 || u32(end) <= 0xffff);
}

/** The block that followed `prev` before, if it is the valid block for (host, mode), else -1. */
function successor(prev: i32, host: i32, mode: i32): i32 {
  const pa = blockAddr(prev);
  let s = ld32a(pa + B_SUCC) - 1;
  if (s >= 0) {
    const sa = blockAddr(s);
    if (ld32a(sa + B_KEY) == host && ld32a(sa + B_MODE) == mode) return s;
  }
  s = ld32a(pa + B_SUCC2) - 1;
  if (s >= 0) {
    const sa = blockAddr(s);
    if (ld32a(sa + B_KEY) == host && ld32a(sa + B_MODE) == mode) return s;
  }
  return -1;
}
function noteSuccessor(prev: i32, b: i32): void {
  const pa = blockAddr(prev);
  st32a(pa + B_SUCC2, ld32a(pa + B_SUCC));
  st32a(pa + B_SUCC, b + 1);
}

/** Prefix bits of the last replayed record; -1 after anything else set the decoder state. */
let lastPrefixes: i32 = -1;
export function forgetReplayPrefixes(): void { lastPrefixes = -1; }

function replay(a: i32, budget: i32): i32 {
  const first = ld32a(a + B_FIRST), count = ld32a(a + B_COUNT);
  const start = eip;
  smcHit = false;
  let n = 0;
  for (let i = 0; i < count && n < budget; i++) {
    const rec = recordAddr(first + i);
    const pos = ld32a(rec + REC_POS);
    const ieip = i32(start + (pos & 0xffff));
    setInstrEip(ieip);
    setEip(i32(ieip + (pos >>> 16)));
    setRetiredInRun(blockBase + n); // (what RDTSC reads)
    replayRecord(rec);
    if (aborted) return n;
    n++;
    // An exit, a write into cached code, or a taken jump ends the block.
    if (exitReason != EXIT_NONE || smcHit || eip != i32(ieip + (pos >>> 16))) break;
  }
  return n;
}

/** Execute one record (EIP and the instruction's EIP already set): by its fast form, or through the interpreter's body. */
export function replayRecord(rec: i32): void {
  const hdr = ld32a(rec + REC_HEADER);
  // Prefix state rarely changes from one instruction to the next: set it only when it does.
  const prefixes = hdr & 0xffff00; // (the fast form in bits 24-31 is not decoder state)
  if (prefixes != lastPrefixes) {
    lastPrefixes = prefixes;
    setOpsize((hdr & H_OPSIZE4) != 0 ? 4 : 2);
    setAdsize32((hdr & H_ADSIZE32) != 0);
    setLockPrefix((hdr & H_LOCK) != 0);
    setRepPrefix((hdr >> 16) & 0xff);
    setSegOverride(((hdr >> 12) & 7) - 1);
  }
  const fast = hdr >>> 24;
  if (fast != FAST_NONE) runFast(fast, hdr & 0xff, rec);
  else {
    startReplay(rec);
    exec1(hdr & 0xff);
    stopRecordReplay();
  }
}

// ---- building --------------------------------------------------------------------------------


let recording: i32 = 0;       // the record being filled
let recOp: i32 = 0;

/** Called by the interpreter (exec.ts) once prefixes and opcode are decoded, while recording. */
export function recordHeader(op: i32): void {
  recOp = op;
  noteFetchEnd();
  st32a(recording + REC_HEADER, (op & 0xff) | (opsize == 4 ? H_OPSIZE4 : 0) | (adsize32 ? H_ADSIZE32 : 0) |
    (lockPrefix ? H_LOCK : 0) | (((segOverride + 1) & 7) << 12) | ((repPrefix & 0xff) << 16));
}
/** Called by the decoder after ModRM/SIB/displacement were read, while recording. */
export function recordModrm(): void {
  noteFetchEnd();
  st32a(recording + REC_MODRM, modrmFormWord());
  st32a(recording + REC_DISP, eaDisp);
}

function build(host: i32, mode: i32, budget: i32): i32 {
  if (nextBlock >= TC_BLOCK_MAX || nextRecord + MAX_BLOCK_INSNS > TC_RECORD_MAX) { tcEvictions += 1; tcFlushAll(); }
  const b = nextBlock;
  const a = blockAddr(b);
  const first = nextRecord;
  const start = eip;
  const lin = i32(segBase(CS) + start);
  smcHit = false;
  let count = 0, n = 0, end = start;
  let uncacheable = 0; // the length of the first instruction, when the cache does not keep it
  const before = retiredInRun; // (blocks are built only first in a run() step: see tcRun)
  while (n < budget && count < MAX_BLOCK_INSNS) {
    setRetiredInRun(before + n);
    // The block lives in one page: an instruction that ran past it (or the CS limit) is executed but not kept.
    const window = fetchWindowLeft();
    const rec = recordAddr(first + count);
    recording = rec;
    recOp = -1;
    const ieip = eip;
    startRecording(rec);
    step();
    stopRecordReplay();
    if (aborted) break;
    n++;
    const values = recordedCount();
    if (recOp < 0 || values > REC_MAX_VALUES || smcHit || exitReason != EXIT_NONE && !cacheableWithExit(recOp)) break;
    const len = instrLength(rec, ieip);
    if (len > window) break;
    if (!cacheable(rec, recOp)) {
      if (count == 0) uncacheable = len;
      break;
    }
    st32a(rec + REC_HEADER, ld32a(rec + REC_HEADER) | (fastForm(rec, recOp) << 24));
    st32a(rec + REC_POS, (i32(ieip - start) & 0xffff) | (len << 16));
    count++;
    end = i32(ieip + len);
    if (endsBlock(rec, recOp) || eip != end || exitReason != EXIT_NONE) break;
  }
  if (count > 0 && !smcHit) { register(b, a, host, mode, first, count, i32(end - start)); st32a(a + B_LIN, lin); }
  else if (uncacheable > 0 && !smcHit) {
    // An empty block says so: tcRun hands this address to the interpreter without building again.
    register(b, a, host, mode, first, 0, uncacheable);
    st32a(a + B_LIN, lin); st32a(a + B_HOT, HOT_FAILED);
  }
  return n;
}

function register(b: i32, a: i32, host: i32, mode: i32, first: i32, count: i32, len: i32): void {
  st32a(a + B_KEY, host);
  st32a(a + B_MODE, mode);
  st32a(a + B_FIRST, first);
  st32a(a + B_COUNT, count);
  st32a(a + B_LEN, len);
  st32a(a + B_HOT, 0);
  st32a(a + B_SUCC, 0);
  st32a(a + B_SUCC2, 0);
  st32a(a + B_FUNC, 0);
  st32a(a + B_ENTRY, 0);
  const bucket = TC_HASH + (bucketOf(host, mode) << 2);
  st32a(a + B_HNEXT, ld32a(bucket));
  st32a(bucket, b + 1);
  // RAM pages remember their blocks so writes can invalidate them.
  if (u32(host - RAM_BASE) < u32(hostSize)) {
    const page = i32(host - RAM_BASE) >>> 12;
    const head = TC_PAGES + (page << 2);
    const wasCode = ld32a(head) != 0;
    st32a(a + B_PNEXT, ld32a(head));
    st32a(head, b + 1);
    markLines(page, (host - RAM_BASE) & 0xfff, ((host - RAM_BASE) & 0xfff) + len);
    // TLB entries for this page were filled without the "has code" mark.
    if (!wasCode) tlbMarkCode(host & ~0xfff);
  } else {
    st32a(a + B_PNEXT, 0);
  }
  nextBlock = b + 1;
  nextRecord = first + count;
  tcBuilt += 1;
}

/** Length of the recorded instruction: everything fetched from its start to its last fetch. */
function instrLength(rec: i32, ieip: i32): i32 { return i32(fetchEnd() - ieip); }

function secondByte(rec: i32): i32 { return ld32a(rec + REC_VALUES) & 0xff; }
function modrmReg(rec: i32): i32 { return (ld32a(rec + REC_MODRM) >> 3) & 7; }
/** 0F 01 /7 with a memory operand. */
export function isInvlpg(rec: i32): bool {
  return (ld32a(rec + REC_HEADER) & 0xff) == 0x0f && secondByte(rec) == 0x01 && modrmReg(rec) == 7 && (ld32a(rec + REC_MODRM) & 0xc0) != 0xc0;
}
/** RDTSC (0F 31) or RDTSCP (0F 01 F9): it reads the retired count, which replay and compiled code keep exact (blockBase). */
export function readsTsc(rec: i32): bool {
  if ((ld32a(rec + REC_HEADER) & 0xff) != 0x0f) return false;
  const op2 = secondByte(rec);
  return op2 == 0x31 || (op2 == 0x01 && (ld32a(rec + REC_MODRM) & 0xff) == 0xf9);
}
/** 0F 22 /3 (MOV CR3, r32: its ModRM byte is the second value fetched, exec.ts decodeModrmReg). */
export function isMovToCr3(rec: i32): bool {
  return (ld32a(rec + REC_HEADER) & 0xff) == 0x0f && secondByte(rec) == 0x22 && ((ld32a(rec + REC_VALUES + 4) >> 3) & 7) == 3;
}

/** Instructions that change CS, the mode, the interrupt shadow or TF, or start or end a transaction, are never cached. */
function cacheable(rec: i32, op: i32): bool {
  switch (op) {
    case 0x9a: case 0xea: case 0xca: case 0xcb: case 0xcf: // far transfers, IRET
    case 0xcc: case 0xcd: case 0xce: case 0xf1: case 0xf4: // INT, HLT
    case 0x17:                                               // POP SS
      return false;
    case 0x8e: return modrmReg(rec) != 2;                    // MOV SS
    case 0xc6: case 0xc7: return (ld32a(rec + REC_MODRM) & 0xff) != 0xf8; // XABORT, XBEGIN (cpu/ops/rtm.ts)
    case 0xff: { const r = modrmReg(rec); return r != 3 && r != 5; } // far CALL/JMP
    case 0x0f: {
      const op2 = secondByte(rec);
      // INVLPG and MOV CR3 change only the TLB, not how code decodes: kept, each ending its block
      // (endsBlock) so that the next fetch translates again. Reading a CR changes nothing.
      if (isInvlpg(rec) || op2 == 0x20 || isMovToCr3(rec)) return true;
      if (op2 == 0x00 && (modrmReg(rec) == 4 || modrmReg(rec) == 5)) return true; // VERR, VERW: they only set ZF
      if (readsTsc(rec)) return true;
      if (op2 <= 0x0b || (op2 >= 0x20 && op2 <= 0x23) || (op2 >= 0x30 && op2 <= 0x35) || op2 == 0xa2 || op2 == 0xb2) return false;
      return true;
    }
    default: return true;
  }
}
function cacheableWithExit(op: i32): bool { return op != 0xf4; }

/** Near control transfers, REP string instructions, and POPF and STI (which may make an event due) end a block. */
function endsBlock(rec: i32, op: i32): bool {
  // (Jcc, 70-7F and 0F 80-8F, ends a block only when taken: build() sees EIP move.)
  switch (op) {
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe8: case 0xe9: case 0xeb: case 0xc2: case 0xc3:
    case 0x9d: case 0xfb:
      return true;
    case 0xff: { const r = modrmReg(rec); return r == 2 || r == 4; }
    case 0x0f: return isInvlpg(rec) || isMovToCr3(rec);
    default: return ((ld32a(rec + REC_HEADER) >> 16) & 0xff) != 0; // REP/REPNE prefix
  }
}
