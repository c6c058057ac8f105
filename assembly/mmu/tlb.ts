// Software TLB: one i32 per linear page, indexed by linear page number.
// entry = (hostPage ^ linearPage) | flags, so that for a cached page
// host address = (entry & ~0xfff) ^ linear. Zero means "not cached".
// Pages that are not plain RAM (ROM, MMIO) keep the physical page instead of
// a host page and carry TLB_SLOW, which sends every access to the slow path.
import { TLB, TLB_VALID_LIST, TLB_VALID_LIST_MAX } from "../layout";
import { ld32a, st32a } from "../portable";

export const TLB_VALID: i32 = 1;
/** Writes must take the slow path: page not writable at some level, or not yet dirty. */
export const TLB_READONLY: i32 = 2;
/** User-mode accesses must take the slow path (supervisor page). */
export const TLB_NO_USER: i32 = 4;
/** Not plain RAM: ROM or MMIO; every access takes the slow path. */
export const TLB_SLOW: i32 = 8;
/** Global page (CR4.PGE and PTE.G): survives CR3 loads. */
export const TLB_GLOBAL: i32 = 16;
/** Instruction fetch not allowed (NX). */
export const TLB_NO_EXEC: i32 = 32;
/** The page holds translated code: writes take the slow path so they invalidate it. */
export const TLB_HAS_CODE: i32 = 64;
/**
 * User-mode page (U/S = 1 at every level). With CR4.SMAP or SMEP, supervisor accesses deny it (state.ts
 * cplUserMask) and take the slow path, where the walk applies their rules (SMAP: EFLAGS.AC at CPL 0-2, implicit
 * accesses at CPL 3; SMEP: fetches).
 */
export const TLB_USER_PAGE: i32 = 128;

let validCount: i32 = 0;
let overflowed: bool = false;

// Statistics.
export let tlbMisses: f64 = 0;
export let tlbFlushes: f64 = 0;

export function tlbEntry(lin: i32): i32 {
  return ld32a(TLB + ((lin >>> 12) << 2));
}

/**
 * Host address of linear `lin` when its entry is valid, plain RAM/ROM and
 * carries none of the `deny` flags (the access's own restrictions), else -1.
 * Never walks or faults: callers take their slow path on -1.
 */
export function tlbHost(lin: i32, deny: i32): i32 {
  const e = tlbEntry(lin);
  return (e & (TLB_VALID | TLB_SLOW | deny)) == TLB_VALID ? (e & ~0xfff) ^ lin : -1;
}

export function tlbSet(lin: i32, entry: i32): void {
  const page = lin >>> 12;
  const addr = TLB + (page << 2);
  if (ld32a(addr) == 0) {
    if (validCount < TLB_VALID_LIST_MAX) st32a(TLB_VALID_LIST + (validCount++ << 2), page);
    else overflowed = true;
  }
  st32a(addr, entry);
  tlbMisses += 1;
}

/** Keep the cached page of `lin` (if any) from writes on the fast path: the next write translates again (cpu/ops/rtm.ts). */
export function tlbDenyWrite(lin: i32): void {
  const addr = TLB + ((lin >>> 12) << 2);
  const e = ld32a(addr);
  if (e != 0) st32a(addr, e | TLB_READONLY);
}

/** Set when a 2 MiB / 4 MiB page was cached: its 4 KiB slots must all go on INVLPG. */
let largeCached: bool = false;
export function noteLargePage(): void { largeCached = true; }

/** INVLPG: drop the page holding `lin`; with large pages cached, the whole large page (SDM INVLPG). */
export function tlbInvalidatePage(lin: i32, pae: bool): void {
  if (!largeCached) { st32a(TLB + ((lin >>> 12) << 2), 0); return; }
  const pages = pae ? 512 : 1024;
  const first = (lin >>> 12) & ~(pages - 1);
  for (let p = 0; p < pages; p++) st32a(TLB + ((first + p) << 2), 0);
}

/** Drop every entry, or every non-global entry when keepGlobal. */
export function tlbFlush(keepGlobal: bool): void {
  tlbFlushes += 1;
  if (overflowed) {
    for (let p = 0; p < 0x100000; p++) {
      const a = TLB + (p << 2);
      if (!keepGlobal || (ld32a(a) & TLB_GLOBAL) == 0) st32a(a, 0);
    }
    overflowed = false;
    validCount = 0;
    if (keepGlobal) rebuildValidList();
    return;
  }
  let kept = 0;
  for (let i = 0; i < validCount; i++) {
    const page = ld32a(TLB_VALID_LIST + (i << 2));
    const a = TLB + (page << 2);
    const e = ld32a(a);
    if (e == 0) continue;
    if (keepGlobal && (e & TLB_GLOBAL) != 0) { st32a(TLB_VALID_LIST + (kept++ << 2), page); continue; }
    st32a(a, 0);
  }
  validCount = kept;
  largeCached = kept > 0 && largeCached;
}

function rebuildValidList(): void {
  for (let p = 0; p < 0x100000; p++) {
    if (ld32a(TLB + (p << 2)) != 0) {
      if (validCount < TLB_VALID_LIST_MAX) st32a(TLB_VALID_LIST + (validCount++ << 2), p);
      else { overflowed = true; return; }
    }
  }
}

/** Drop every entry that maps host page `hostPage` (the VMM remapped or protected that frame). */
export function tlbDropHost(hostPage: i32): void {
  if (overflowed) { tlbFlush(false); return; }
  for (let i = 0; i < validCount; i++) {
    const page = ld32a(TLB_VALID_LIST + (i << 2));
    const a = TLB + (page << 2);
    const e = ld32a(a);
    if (e != 0 && (e & TLB_SLOW) == 0 && ((e & ~0xfff) ^ (page << 12)) == hostPage) st32a(a, 0);
  }
}

/**
 * A host page just started holding translated code: mark the TLB entries
 * that map it so that writes through them take the slow path.
 */
export function tlbMarkCode(hostPage: i32): void {
  if (overflowed) { tlbFlush(false); return; }
  for (let i = 0; i < validCount; i++) {
    const page = ld32a(TLB_VALID_LIST + (i << 2));
    const a = TLB + (page << 2);
    const e = ld32a(a);
    if (e != 0 && ((e & ~0xfff) ^ (page << 12)) == hostPage) st32a(a, e | TLB_HAS_CODE);
  }
}
