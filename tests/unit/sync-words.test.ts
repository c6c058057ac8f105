// Which logged page-table stores exit at once (assembly/mmu/sync.ts): the
// shadow pager marks single 4-byte words synchronous (the guest PTE a
// SwapBypass mapping stands for, a watched swap_map word).
// The core keeps the words in an open-addressed table of per-frame masks; here
// it is driven with random marks and unmarks over more frames than its probe
// runs can keep apart, and every answer is compared with a plain model (a set
// of words): a word marked must always exit (a missed one would let a bypass
// mapping outlive its PTE), and one not marked must not while the table has room.
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { ENGINES } from "../helpers.js";

/** A small deterministic generator (xorshift32), so that a failure repeats. */
function rng(seed: number) {
  let x = seed >>> 0;
  return (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

describe.each(ENGINES)("synchronous page-table words on %s", (kind) => {
  it("answers as a set of words would, through inserts and removals that collide", async () => {
    const core = (await createEngine(kind, 4 << 20)).core;
    const sync = (at: number, size: number) => Boolean(core.syncStoreAt(at, size)); // (a Wasm bool is 0 or 1)
    core.clearSyncFrames();
    const marked = new Set<number>();
    const r = rng(0x5eed);
    // 600 frames (the table keeps at most 768), 1-3 words each at a time: long probe runs, many backward shifts.
    const frames = Array.from({ length: 600 }, (_, i) => (i * 7919 + 13) % 0x40000);
    const check = () => {
      for (let n = 0; n < 400; n++) {
        const frame = frames[r(frames.length)]!, at = frame * 4096 + r(1024) * 4;
        const size = [1, 2, 4, 8, 16][r(5)]!;
        let want = false;
        for (let w = at; w < Math.min(at + size, frame * 4096 + 4096); w += 4) if (marked.has(w & ~3)) want = true;
        expect(sync(at, size), `store of ${size} at ${at.toString(16)}`).toBe(want);
      }
      for (const w of marked) expect(sync(w, 4)).toBe(true);
    };
    for (let step = 0; step < 20_000; step++) {
      const frame = frames[r(frames.length)]!;
      const word = frame * 4096 + r(3) * 4 * 257; // (three words per frame: removals empty frames often)
      const on = !marked.has(word);
      core.setSyncWord(word, on);
      if (on) marked.add(word); else marked.delete(word);
      if (step % 2000 === 0) check();
    }
    check();
    // Everything removed: nothing exits.
    for (const w of [...marked]) { core.setSyncWord(w, false); marked.delete(w); }
    for (const f of frames) expect(sync(f * 4096, 16) || sync(f * 4096 + 4 * 257, 4) || sync(f * 4096 + 8 * 257, 4)).toBe(false);
  });

  it("past the table's room, a frame's stores all exit (never too few) until the marks are cleared", async () => {
    const core = (await createEngine(kind, 4 << 20)).core;
    const sync = (at: number, size: number) => Boolean(core.syncStoreAt(at, size));
    core.clearSyncFrames();
    for (let f = 0; f < 1000; f++) core.setSyncWord(f * 4096 + 8, true);
    for (let f = 0; f < 1000; f++) expect(sync(f * 4096 + 8, 4)).toBe(true);
    // The table holds 768 frames' masks: at least the frames beyond them exit for any word.
    let whole = 0;
    for (let f = 0; f < 1000; f++) if (sync(f * 4096 + 100, 4)) whole++;
    expect(whole).toBe(1000 - 768);
    core.clearSyncFrames();
    for (let f = 0; f < 1000; f++) expect(sync(f * 4096 + 8, 4)).toBe(false);
  });
});
