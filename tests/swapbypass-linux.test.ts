// SwapBypass with Debian's kernel and the symbiotic module (src/node/thrash.ts:
// one shared Wasm boot, shadow paging, a swap disk in VMM memory): the
// thrashing workloads (guests/linux/thrash, built by `npm run workloads`) over
// about twice the guest's free memory print the checksums they print when run
// natively on this host (the same static binaries: the oracle), with plain swap
// and with SwapBypass; SwapBypass learns the disk's swap type from the guest,
// bypasses faults and avoids swap-ins. A small boot without the module swaps
// with SwapBypass on and runs instruction for instruction as one without it.
// Skipped, saying so, when the images, the module or the workloads are not
// built; CI builds all three.
import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { findCachedImages } from "../src/node/images.js";
import { ShadowPaging } from "../src/vmm/paging/index.js";
import { SwapBypass } from "../src/symbiotic/swapbypass.js";
import { Monitor } from "../src/vmm/monitor.js";
import { bootThrashGuest, thrashPrerequisites, guestMemFreeMiB, runWorkload, workloadChecksum, WORKLOADS_DIR, type ThrashGuest, type Workload } from "../src/node/thrash.js";

const skip = thrashPrerequisites();
const RAM = 48 << 20, SWAP = 64 << 20;

if (skip && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("SwapBypass Linux prerequisites", () => { it("are built (npm run images, npm run module, npm run workloads)", () => { expect(skip).toBeNull(); }); });
}

/** The workload's checksum natively on this host (the same static i386 binary). */
function nativeChecksum(name: Workload, args: string[]): string | undefined {
  return workloadChecksum(execFileSync(join(WORKLOADS_DIR, name), args, { encoding: "utf8" }));
}

describe.skipIf(skip !== null)(`SwapBypass: thrashing workloads on Linux ${findCachedImages()?.version ?? ""} (${skip ?? "shadow paging, symbiotic.ko, swap in VMM memory"})`, () => {
  let g: ThrashGuest;
  let args: Record<Workload, string[]>;
  beforeAll(async () => {
    g = await bootThrashGuest({ ramBytes: RAM, swapBytes: SWAP, swapBypass: false });
    const mib = String(2 * await guestMemFreeMiB(g.shell));
    // One sweep of STREAM's four kernels; GUPS's updates few enough for a test (its table's fill and checksum sweep it twice).
    args = { stream: [mib, "1"], gups: [mib, "20000"] };
  }, 30 * 60 * 1000);

  const runBoth = async () => {
    for (const name of ["stream", "gups"] as const) {
      const { line, ms, instructions } = await runWorkload(g, name, args[name]);
      if (process.env.SWAPBYPASS_VERBOSE) console.log(`${line} — ${(ms / 1000).toFixed(1)} s, ${(instructions / 1e6).toFixed(0)} M instructions`, JSON.stringify(g.pc.vm.stats().paging));
      expect(line).toMatch(new RegExp(`^${name}: ${args[name][0]} MiB`));
      expect(workloadChecksum(line), `${name} ${args[name].join(" ")}`).toBe(nativeChecksum(name, args[name]));
    }
  };

  it("with plain swap: the guest swaps to the VMM-memory disk and its checksums are the native ones", async () => {
    const disk = g.pc.swapDisk!;
    const before = disk.stats.slotsWritten;
    await runBoth();
    expect(disk.stats.slotsWritten - before).toBeGreaterThan(Number(args.gups[0]) * 256 / 4); // it really swapped
    expect(disk.header).toMatchObject({ version: 1 });
    expect(g.pc.vm.stats().paging.bypassFaults).toBeUndefined();
  }, 30 * 60 * 1000);

  it("with SwapBypass: the same checksums, faults bypassed by asking the guest, swap-ins avoided", async () => {
    const disk = g.pc.swapDisk!;
    const bypass = new SwapBypass(g.pc.vm, g.pc.vm.paging as ShadowPaging, disk);
    const readBefore = disk.stats.slotsRead;
    await runBoth();
    const s = g.pc.vm.stats().paging as Record<string, number>;
    expect(bypass.type).toBe(0); // the guest's only swap area
    expect(s.bypassFaults).toBeGreaterThan(100);
    expect(s.bypassSymcalls).toBe(s.bypassFaults + s.bypassIllegal + s.bypassSymcallErrors);
    expect(s.bypassSwapInsAvoided).toBeGreaterThan(0);
    // A mapping dropped by a swap-in is a slot the guest read back.
    expect(s.bypassDroppedSwapIn).toBeLessThanOrEqual(disk.stats.slotsRead - readBefore);
    expect(new Monitor(g.pc.vm).execute("info swapbypass")).toMatch(/^swap type 0; faults on swap PTEs \d+, bypassed [1-9]\d*/);
    bypass.detach();
    expect(bypass.live).toBe(0);
  }, 30 * 60 * 1000);
});
