// Function-table slots of compiled regions. The core decides which slot a
// region's function goes to (the engine puts it there, block-compiler.ts);
// a slot is freed when the code of a page it covers is invalidated (found
// through the page's blocks, or kept for the page when a newer region took
// the last block there that named it: tcache.ts keepRegionForPage), and
// reused by the next region. The table is
// bounded: when it is full, every compiled region is dropped (its blocks
// replay until they are hot again) — the code cache's eviction.
import { ld8, st8, ld32a, st32a, fill8 } from "../portable";
import { JIT_SLOT_FREE, JIT_SLOT_GEN, JIT_SLOT_LIVE, JIT_SLOT_PAGES, JIT_SLOTS_MAX, JIT_LINKS, JIT_LINKS_COUNT } from "../layout";

/** Pages a region may cover (its slot remembers them, so a write to any drops the whole region). */
export const MAX_REGION_PAGES: i32 = 7;

/** Slots 1 .. next - 1 have been handed out (slot 0 stays a null function). */
let next: i32 = 1;
let freeCount: i32 = 0;
/** Bumped when every slot is dropped at once: the engine then clears its table. */
export let slotGeneration: i32 = 0;

export function slotsAvailable(): i32 { return freeCount + (JIT_SLOTS_MAX - next); }

/** A free slot (slotsAvailable() must be > 0). */
export function allocSlot(): i32 {
  let s: i32;
  if (freeCount > 0) s = ld32a(JIT_SLOT_FREE + (--freeCount << 2));
  else s = next++;
  st8(JIT_SLOT_LIVE + s, 1);
  return s;
}
export function freeSlot(s: i32): void {
  if (s <= 0 || ld8(JIT_SLOT_LIVE + s) == 0) return; // (already free)
  st8(JIT_SLOT_LIVE + s, 0);
  st32a(JIT_SLOT_GEN + (s << 2), ld32a(JIT_SLOT_GEN + (s << 2)) + 1); // links to the region it held are stale now
  st32a(JIT_SLOT_FREE + (freeCount++ << 2), s);
}
export function dropAllSlots(): void {
  fill8(JIT_SLOT_LIVE, 0, JIT_SLOTS_MAX);
  next = 1;
  freeCount = 0;
  slotGeneration++;
  fill8(JIT_LINKS, 0, JIT_LINKS_COUNT << 5); // (slots are handed out again from 1: no link may name one)
}
/** The generation of `slot` (bumped when it is freed): a link to its region holds while it is unchanged. */
export function slotGen(slot: i32): i32 { return ld32a(JIT_SLOT_GEN + (slot << 2)); }

/** The host addresses of the pages region `slot` covers. */
export function setSlotPages(slot: i32, list: i32, n: i32): void {
  const at = JIT_SLOT_PAGES + (slot << 5);
  st32a(at, n);
  for (let i = 0; i < n; i++) st32a(at + 4 + (i << 2), ld32a(list + (i << 2)));
}
export function slotPageCount(slot: i32): i32 { return ld32a(JIT_SLOT_PAGES + (slot << 5)); }
export function slotPage(slot: i32, i: i32): i32 { return ld32a(JIT_SLOT_PAGES + (slot << 5) + 4 + (i << 2)); }
export function slotLive(slot: i32): bool { return slot > 0 && ld8(JIT_SLOT_LIVE + slot) != 0; }
