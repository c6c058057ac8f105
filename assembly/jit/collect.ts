// Which blocks form a region. A queued (hot) block brings the other warm
// blocks of its page with the same code size, and the pages its blocks jump
// or call to (when the TLB maps them at the same distance in linear and in
// host memory, as for code that runs with paging off or from the kernel's
// direct map), up to MAX_REGION_PAGES: a region's blocks reach each other
// by tail calls, so a loop spread over a few pages stays compiled. The
// regions of the module being emitted are listed in JIT_REGIONS.
import { ld32a, st32a } from "../portable";
import { JIT_QUEUE, JIT_REGIONS, JIT_REGIONS_MAX } from "../layout";
import { REC_HEADER, REC_POS, REC_VALUES, H_OPSIZE4 } from "../cpu/fetch";
import { tlbHost, TLB_NO_EXEC } from "../mmu/tlb";
import {
  jitQueued, setJitQueued, blockValid, blockMode, blockKey, blockCount, blockRecord, blockHot, setBlockHot, blockSlot,
  firstBlockOnPage, nextBlockOnPage, blockAssumed, blockLin, jitThreshold, HOT_QUEUED,
} from "../tcache";
import { allocSlot, MAX_REGION_PAGES } from "./slots";

/** Blocks per region and records per region (the module's size). */
export const MAX_REGION_BLOCKS: i32 = 256;
export const MAX_REGION_RECORDS: i32 = 4096;
/** Records per module: its size and compile time. Queued blocks beyond it wait for the next module. */
const MODULE_RECORDS: i32 = 16384;
/** Marks a block taken into a region of the module being emitted. */
export const HOT_IN_MODULE: i32 = -3;

// A region's entry in JIT_REGIONS (i32 words).
export const R_SLOT: i32 = 0;    // its function-table slot
export const R_CS32: i32 = 1;    // 32-bit code
export const R_ASSUME: i32 = 2;  // the state it is compiled for (tcache.ts assumedState); once emitted, what it needs (compiler.ts)
export const R_COUNT: i32 = 3;   // blocks
export const R_PAGES: i32 = 4;   // pages, then their host addresses (the first is the region's reference page)
export const R_BLOCKS: i32 = 5 + MAX_REGION_PAGES;

export let regionCount: i32 = 0;
/** Where region r's entry starts in JIT_REGIONS (in words). */
const regionAt = new StaticArray<i32>(1024);
export function regionWord(r: i32, field: i32): i32 { return ld32a(JIT_REGIONS + ((unchecked(regionAt[r]) + field) << 2)); }
export function regionAddr(r: i32, field: i32): i32 { return JIT_REGIONS + ((unchecked(regionAt[r]) + field) << 2); }
export function resetRegions(): void { regionCount = 0; }

let e: i32 = 0;        // the entry being filled
let count: i32 = 0;
let pages: i32 = 0;
let records: i32 = 0;

/** The queued blocks' regions into JIT_REGIONS; queue entries that did not fit stay queued. */
export function collectRegions(): void {
  regionCount = 0;
  let words = 0, total = 0, q = 0;
  const n = jitQueued;
  for (; q < n; q++) {
    const b = ld32a(JIT_QUEUE + (q << 2));
    if (!blockValid(b) || blockHot(b) != HOT_QUEUED) continue; // invalidated, or taken into a region of this module
    if (total >= MODULE_RECORDS || regionCount >= 1024 || words + R_BLOCKS + MAX_REGION_BLOCKS > JIT_REGIONS_MAX) break;
    e = words;
    count = 0; pages = 0; records = 0;
    const mode = blockMode(b);
    addPage(blockKey(b) & ~0xfff);
    add(b); // the hot block first
    for (let p = 0; p < pages; p++) {
      const page = ld32a(JIT_REGIONS + ((e + R_PAGES + 1 + p) << 2));
      const first = count;
      for (let o = firstBlockOnPage(page); o >= 0; o = nextBlockOnPage(o)) {
        if (count >= MAX_REGION_BLOCKS || records >= MAX_REGION_RECORDS) break;
        if (blockMode(o) == mode && blockHot(o) != HOT_IN_MODULE && warm(o)) add(o);
      }
      // Pages this page's blocks (the hot one too, on the first page) jump or call to.
      for (let j = p == 0 ? 0 : first; j < count; j++) followTargets(ld32a(JIT_REGIONS + ((e + R_BLOCKS + j) << 2)), mode);
    }
    st32a(JIT_REGIONS + ((e + R_SLOT) << 2), allocSlot());
    st32a(JIT_REGIONS + ((e + R_CS32) << 2), mode == 2 ? 1 : 0);
    st32a(JIT_REGIONS + ((e + R_ASSUME) << 2), blockAssumed(b));
    st32a(JIT_REGIONS + ((e + R_COUNT) << 2), count);
    st32a(JIT_REGIONS + ((e + R_PAGES) << 2), pages);
    unchecked(regionAt[regionCount++] = e);
    words += R_BLOCKS + count;
    total += records;
  }
  // Keep what was not taken for the next module.
  let kept = 0;
  for (; q < n; q++) {
    const b = ld32a(JIT_QUEUE + (q << 2));
    if (blockValid(b) && blockHot(b) == HOT_QUEUED) st32a(JIT_QUEUE + (kept++ << 2), b);
  }
  setJitQueued(kept);
}

/**
 * A block worth compiling with the hot one: queued, compiled already, or replayed at least
 * a sixteenth as often as it takes to be queued (a page's code that ran once, as much of a
 * kernel's does at boot, would cost compile time and memory and save nothing).
 */
function warm(b: i32): bool { const h = blockHot(b); return h >= warmReplays() || h == HOT_QUEUED || blockSlot(b) != 0; }
function warmReplays(): i32 { const t = jitThreshold() >> 4; return t > 1 ? t : 1; }

function add(b: i32): void {
  st32a(JIT_REGIONS + ((e + R_BLOCKS + count) << 2), b);
  count++;
  records += blockCount(b);
  setBlockHot(b, HOT_IN_MODULE);
}
function addPage(host: i32): void {
  st32a(JIT_REGIONS + ((e + R_PAGES + 1 + pages) << 2), host);
  pages++;
}
function hasPage(host: i32): bool {
  for (let p = 0; p < pages; p++) if (ld32a(JIT_REGIONS + ((e + R_PAGES + 1 + p) << 2)) == host) return true;
  return false;
}

/** Add the pages block b's direct jumps and calls (and its fall-through) lead to, when they hold warm code. */
function followTargets(b: i32, mode: i32): void {
  if (mode != 2) return; // (16-bit code stays on its page: IP wraps at 64 KiB)
  const page = blockKey(b) & ~0xfff;
  const pageLin = blockLin(b) - (blockKey(b) & 0xfff);
  const c = blockCount(b);
  let next = 0;
  for (let i = 0; i < c; i++) {
    const rec = blockRecord(b, i);
    const pos = ld32a(rec + REC_POS);
    next = (blockKey(b) & 0xfff) + (pos & 0xffff) + (pos >>> 16);
    const t = staticTarget(rec, next);
    if (t != NO_TARGET) considerPage(page, pageLin, t, mode);
  }
  considerPage(page, pageLin, next, mode); // (where the block ends, if it falls through)
}
function considerPage(page: i32, pageLin: i32, rel: i32, mode: i32): void {
  if (rel >= 0 && rel < 4096) return;
  if (pages >= MAX_REGION_PAGES) return;
  const host = page + (rel & ~0xfff);
  if (hasPage(host)) return;
  // The TLB maps the target as far from the block in linear memory as in host memory (checked again at run time).
  if (tlbHost(i32(pageLin + (rel & ~0xfff)), TLB_NO_EXEC) != host) return;
  let warmThere = false;
  for (let o = firstBlockOnPage(host); o >= 0; o = nextBlockOnPage(o)) {
    if (blockMode(o) == mode && warm(o) && blockHot(o) != HOT_IN_MODULE) { warmThere = true; break; }
  }
  if (warmThere) addPage(host);
}

const NO_TARGET: i32 = 0x7fffffff;
/** The page-relative target of a direct 32-bit jump or call (next: the offset after it), else NO_TARGET. */
function staticTarget(rec: i32, next: i32): i32 {
  const hdr = ld32a(rec + REC_HEADER);
  if ((hdr & H_OPSIZE4) == 0) return NO_TARGET;
  const op = hdr & 0xff;
  const v0 = ld32a(rec + REC_VALUES);
  if (op >= 0x70 && op <= 0x7f || op == 0xeb) return next + ((v0 << 24) >> 24);
  if (op == 0xe8 || op == 0xe9) return next + v0;
  if (op == 0x0f && (v0 & 0xf0) == 0x80) return next + ld32a(rec + REC_VALUES + 4);
  return NO_TARGET;
}
