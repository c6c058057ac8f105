// The web page's logic that needs no browser: rates from the VM's counters
// (web/src/rates.ts) and which dropped file is the kernel (web/src/guests.ts).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { RateTracker } from "../../web/src/rates.js";
import { classifyFiles } from "../../web/src/guests.js";
import { DEMO_KERNEL } from "../../src/guests/demo.js";
import { findCachedImages } from "../../src/node/images.js";
import type { VmStats } from "../../src/vmm/vm.js";

function stats(instructions: number, exits: Record<string, number>, tlbMisses: number, lookups: number, hits: number): VmStats {
  return {
    instructions, exits, tlbMisses, tlbFlushes: 0, tlbLookups: 0,
    tcache: { enabled: true, lookups, hits, blocksBuilt: 0, invalidations: 0, evictions: 0, regionEntries: 0, compiledInstructions: 0, replayedInstructions: 0, regionLinks: 0 },
    rtm: { transactions: 0, committed: 0, aborted: 0 },
    paging: { mode: "direct", nestedWalks: 0, nestedRefs: 0, violations: 0, cr3Loads: 0, cr3TargetHits: 0 },
  };
}

describe("RateTracker", () => {
  it("turns cumulative counters into per-second rates over each interval", () => {
    const r = new RateTracker();
    expect(r.push(1000, stats(0, {}, 0, 0, 0))).toBeNull();
    const a = r.push(1500, stats(25e6, { "io-out": 100 }, 500, 1000, 900))!;
    expect(a.t).toBe(0.5);
    expect(a.mips).toBeCloseTo(50);
    expect(a.exits).toEqual({ "io-out": 200 });
    expect(a.tlbMissesPerSec).toBe(1000);
    expect(a.tcacheHitRate).toBeCloseTo(90);
    const b = r.push(2500, stats(25e6, { "io-out": 100, hlt: 10 }, 500, 1000, 900))!;
    expect(b.t).toBe(1.5);
    expect(b.mips).toBe(0);
    expect(b.exits).toEqual({ "io-out": 0, hlt: 10 });
    expect(b.tcacheHitRate).toBeNull(); // no lookups in the interval
  });

  it("ignores a sample that is not later than the previous one", () => {
    const r = new RateTracker();
    r.push(10, stats(0, {}, 0, 0, 0));
    expect(r.push(10, stats(5, {}, 0, 0, 0))).toBeNull();
  });
});

describe("classifyFiles", () => {
  const echo = new Uint8Array(readFileSync(new URL("../../web/guests/echo.bin", import.meta.url)));

  it("takes a Multiboot kernel, with the other files as its modules, in any order", () => {
    const g = classifyFiles([{ name: "mod.txt", bytes: new Uint8Array([1, 2, 3]) }, { name: "echo.bin", bytes: echo }]);
    expect(g.kind).toBe("kernel");
    if (g.kind !== "kernel") return;
    expect(g.name).toBe("echo.bin");
    expect(g.modules).toEqual([{ data: new Uint8Array([1, 2, 3]), cmdline: "mod.txt" }]);
    expect(classifyFiles([{ name: "demo", bytes: DEMO_KERNEL }]).kind).toBe("kernel");
  });

  it("loads one unrecognised file as a flat binary, and refuses several", () => {
    const flat = { name: "flat.bin", bytes: new Uint8Array([0xf4]) };
    expect(classifyFiles([flat])).toMatchObject({ kind: "kernel", name: "flat.bin", modules: [] });
    expect(() => classifyFiles([flat, { ...flat, name: "other.bin" }])).toThrow(/bzImage or a Multiboot kernel/);
    expect(() => classifyFiles([])).toThrow(/no files/);
  });

  const images = findCachedImages();
  it.skipIf(!images)("takes a bzImage, with the other files concatenated into its initrd", () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const g = classifyFiles([{ name: "a.cpio", bytes: new Uint8Array(5) }, { name: "vmlinuz", bytes: kernel }, { name: "b.cpio", bytes: new Uint8Array(4) }]);
    expect(g.kind).toBe("linux");
    if (g.kind !== "linux") return;
    expect(g.name).toBe("vmlinuz");
    expect(g.initrd!.length).toBe(8 + 4); // 5 bytes padded to 8, then 4
  });
});
