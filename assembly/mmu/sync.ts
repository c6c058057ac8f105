// Which logged stores the VMM must have at once (mmu/walk.ts fill): a store
// the shadow walk logs into a guest page table normally waits in the trace log
// for the next TLB fill, but one into a word the VMM marked synchronous exits
// right after its instruction (EXIT_TRACE_LOG) — SwapBypass's mappings must not
// outlive a changed PTE: a not-present PTE made present needs no INVLPG, and
// the VMM's translation for it may be in the TLB.
//
// Per 4-byte word, so that the guest's stores into the rest of a table (the
// PTEs next to a bypassed one, which reclaim rewrites by the thousand) still
// batch. Two bitmaps over host frames (2 GiB): SYNC_FRAMES, the frame has
// synchronous words (the one test a store into any other frame pays);
// SYNC_OVERFLOW, words were asked for when the mask table was full, so all of
// the frame is, until the next clearSyncFrames (never too few exits). A
// frame's words are a 1024-bit mask in SYNC_MASKS, found through SYNC_KEYS
// (frame + 1, open addressing, linear probing, removal by backward shift).
import { SYNC_FRAMES, SYNC_OVERFLOW, SYNC_KEYS, SYNC_MASKS, SYNC_SLOTS } from "../layout";
import { ld8, st8, ld32a, st32a, fill8, copy8 } from "../portable";

const MASK_BYTES: i32 = 128;
/** Live entries at most (a quarter of the table stays empty, so probes stay short). */
const SYNC_LIVE_MAX: i32 = (SYNC_SLOTS * 3) >> 2;
let live: i32 = 0;

function bitAt(map: i32, hpa: i32): bool { return (ld8(map + ((hpa >>> 15) & 0xffff)) & (1 << ((hpa >>> 12) & 7))) != 0; }
function setBit(map: i32, hpa: i32, on: bool): void {
  const at = map + ((hpa >>> 15) & 0xffff), bit = 1 << ((hpa >>> 12) & 7);
  st8(at, on ? ld8(at) | bit : ld8(at) & ~bit);
}
function home(frame: i32): i32 { return i32(u32(frame * 0x9e3779b1) >>> 22) & (SYNC_SLOTS - 1); }
function keyAt(s: i32): i32 { return ld32a(SYNC_KEYS + (s << 2)); }
function maskAt(s: i32): i32 { return SYNC_MASKS + s * MASK_BYTES; }
/** The slot holding frame's mask, else -1. */
function find(frame: i32): i32 {
  for (let s = home(frame); ; s = (s + 1) & (SYNC_SLOTS - 1)) {
    const k = keyAt(s);
    if (k == frame + 1) return s;
    if (k == 0) return -1;
  }
  return -1; // (not reached: the table is never full)
}
/** Free slot s, moving later entries of its probe run back (no tombstones). */
function remove(s: i32): void {
  let hole = s;
  for (let j = (s + 1) & (SYNC_SLOTS - 1); keyAt(j) != 0; j = (j + 1) & (SYNC_SLOTS - 1)) {
    const h = home(keyAt(j) - 1);
    // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
    const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
    if (stays) continue;
    st32a(SYNC_KEYS + (hole << 2), keyAt(j));
    copy8(maskAt(hole), maskAt(j), MASK_BYTES);
    hole = j;
  }
  st32a(SYNC_KEYS + (hole << 2), 0);
  fill8(maskAt(hole), 0, MASK_BYTES);
  live--;
}
function updateFrameBit(hpa: i32, hasWords: bool): void {
  setBit(SYNC_FRAMES, hpa, hasWords || bitAt(SYNC_OVERFLOW, hpa));
}

/** The word at host address `hpa` (4-byte aligned) synchronous or not. */
export function setSyncWord(hpa: i32, on: bool): void {
  const frame = hpa >>> 12;
  let s = find(frame);
  if (s < 0) {
    if (!on) return;
    if (live >= SYNC_LIVE_MAX) { setBit(SYNC_OVERFLOW, hpa, true); updateFrameBit(hpa, false); return; }
    s = home(frame);
    while (keyAt(s) != 0) s = (s + 1) & (SYNC_SLOTS - 1);
    st32a(SYNC_KEYS + (s << 2), frame + 1);
    live++;
  }
  const w = (hpa & 0xfff) >>> 2, at = maskAt(s) + ((w >>> 5) << 2), bit = 1 << (w & 31);
  st32a(at, on ? ld32a(at) | bit : ld32a(at) & ~bit);
  if (!on) {
    let any = false;
    for (let i = 0; i < MASK_BYTES; i += 4) if (ld32a(maskAt(s) + i) != 0) { any = true; break; }
    if (!any) { remove(s); updateFrameBit(hpa, false); return; }
  }
  updateFrameBit(hpa, true);
}

export function clearSyncFrames(): void {
  fill8(SYNC_FRAMES, 0, 0x10000); fill8(SYNC_OVERFLOW, 0, 0x10000);
  fill8(SYNC_KEYS, 0, SYNC_SLOTS << 2); fill8(SYNC_MASKS, 0, SYNC_SLOTS * MASK_BYTES);
  live = 0;
}

/** Does a store of `size` bytes at host address `hpa` (within its page) reach a synchronous word? */
export function syncStore(hpa: i32, size: i32): bool {
  if (!bitAt(SYNC_FRAMES, hpa)) return false;
  if (bitAt(SYNC_OVERFLOW, hpa)) return true;
  const s = find(hpa >>> 12);
  if (s < 0) return true; // (not reached: the frame bit says it has words)
  const first = (hpa & 0xfff) >>> 2;
  let last = ((hpa & 0xfff) + size - 1) >>> 2;
  if (last > 1023) last = 1023;
  for (let w = first; w <= last; w++) if ((ld32a(maskAt(s) + ((w >>> 5) << 2)) & (1 << (w & 31))) != 0) return true;
  return false;
}
