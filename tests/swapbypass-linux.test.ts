// SwapBypass with Debian's kernel and the symbiotic module (src/node/thrash.ts:
// shadow paging, a swap disk in VMM memory). On one shared Wasm boot the
// thrashing workloads (guests/linux/thrash, built by `npm run workloads`) over
// about twice the guest's free memory print the checksums they print when run
// natively on this host (the same static binaries: the oracle), with plain swap
// and with SwapBypass, which learns the disk's swap type from the guest,
// bypasses faults and avoids swap-ins; then the guest moves its swap to another
// disk, which takes the same swap type, and SwapBypass must map nothing (its
// slots are older than the guest's swap PTEs) while the checksums stay right.
// The JS engine runs a smaller instance (STREAM under SwapBypass from boot).
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

async function runChecked(g: ThrashGuest, name: Workload, args: string[]): Promise<void> {
  const { line, ms, instructions } = await runWorkload(g, name, args);
  if (process.env.SWAPBYPASS_VERBOSE) console.log(`${line} — ${(ms / 1000).toFixed(1)} s, ${(instructions / 1e6).toFixed(0)} M instructions`, JSON.stringify(g.pc.vm.stats().paging));
  expect(line).toMatch(new RegExp(`^${name}: ${args[0]} MiB`));
  expect(workloadChecksum(line), `${name} ${args.join(" ")}`).toBe(nativeChecksum(name, args));
}

const paging = (g: ThrashGuest) => g.pc.vm.stats().paging as Record<string, number>;

describe.skipIf(skip !== null)(`SwapBypass: thrashing workloads on Linux ${findCachedImages()?.version ?? ""} (${skip ?? "shadow paging, symbiotic.ko, swap in VMM memory"})`, () => {
  let g: ThrashGuest;
  let args: Record<Workload, string[]>;
  let bypass: SwapBypass;
  beforeAll(async () => {
    g = await bootThrashGuest({ ramBytes: RAM, swapBytes: SWAP, swapBypass: false, otherDiskBytes: SWAP });
    const mib = String(2 * await guestMemFreeMiB(g.shell));
    // One sweep of STREAM's four kernels; GUPS's updates few enough for a test (its table's fill and checksum sweep it twice).
    args = { stream: [mib, "1"], gups: [mib, "20000"] };
  }, 30 * 60 * 1000);

  it("with plain swap: the guest swaps to the VMM-memory disk and its checksums are the native ones", async () => {
    const disk = g.pc.swapDisk!;
    const before = disk.stats.slotsWritten;
    for (const name of ["stream", "gups"] as const) await runChecked(g, name, args[name]);
    expect(disk.stats.slotsWritten - before).toBeGreaterThan(Number(args.gups[0]) * 256 / 4); // it really swapped
    expect(disk.header).toMatchObject({ version: 1 });
    expect(paging(g).bypassFaults).toBeUndefined();
  }, 30 * 60 * 1000);

  it("with SwapBypass: the same checksums, faults bypassed by asking the guest, swap-ins avoided", async () => {
    const disk = g.pc.swapDisk!;
    bypass = new SwapBypass(g.pc.vm, g.pc.vm.paging as ShadowPaging, disk);
    const readBefore = disk.stats.slotsRead;
    for (const name of ["stream", "gups"] as const) await runChecked(g, name, args[name]);
    const s = paging(g);
    expect(bypass.type).toBe(0); // the guest's only swap area
    expect(s.bypassFaults).toBeGreaterThan(100);
    expect(s.bypassSymcalls).toBe(s.bypassFaults + s.bypassIllegal + s.bypassSymcallErrors);
    expect(s.bypassSwapInsAvoided).toBeGreaterThan(0);
    // A mapping dropped by a swap-in is a slot the guest read back.
    expect(s.bypassDroppedSwapIn).toBeLessThanOrEqual(disk.stats.slotsRead - readBefore);
    expect(new Monitor(g.pc.vm).execute("info swapbypass")).toMatch(/^swap type 0; faults on swap PTEs \d+, bypassed [1-9]\d*/);
  }, 30 * 60 * 1000);

  it("swap moved to another disk (the same swap type): nothing is mapped from the old slots, the checksums stay right", async () => {
    const ours = g.pc.swapDisk!;
    const other = (await g.shell.sh(`for d in /sys/block/vd*; do [ "$(cat $d/serial)" != symbiont-swap ] && echo \${d##*/}; done`)).trim();
    expect(other).toMatch(/^vd[a-z]$/);
    const mine = (await g.shell.sh(`for d in /sys/block/vd*; do [ "$(cat $d/serial)" = symbiont-swap ] && echo \${d##*/}; done`)).trim();
    expect(await g.shell.sh(`swapoff /dev/${mine} && mkswap /dev/${other} >/dev/null && swapon /dev/${other} && cat /proc/swaps | wc -l`, 60e9)).toBe("2\n");
    const before = paging(g), written = ours.stats.slotsWritten;
    await runChecked(g, "stream", args.stream);
    const after = paging(g);
    expect(bypass.type).toBe(0); // still: the guest gave the other disk the type it had
    expect(after.bypassSwapPteFaults).toBeGreaterThan(before.bypassSwapPteFaults!); // faults on type-0 swap PTEs …
    expect(after.bypassSymcalls).toBe(before.bypassSymcalls); // … but no call, no mapping
    expect(after.bypassFaults).toBe(before.bypassFaults);
    expect(ours.stats.slotsWritten).toBe(written);
    bypass.detach();
    expect(bypass.live).toBe(0);
  }, 30 * 60 * 1000);
});

describe.skipIf(skip !== null)(`SwapBypass on the JS engine, a smaller instance (${skip ?? "STREAM under SwapBypass from boot"})`, () => {
  it("prints the native checksum and bypasses faults", async () => {
    const g = await bootThrashGuest({ engine: "js", ramBytes: RAM, swapBytes: SWAP, swapBypass: true });
    const mib = String(Math.floor(1.5 * await guestMemFreeMiB(g.shell)));
    await runChecked(g, "stream", [mib, "1"]);
    expect(g.pc.swapBypass!.type).toBe(0);
    expect(paging(g).bypassFaults).toBeGreaterThan(0);
  }, 30 * 60 * 1000);
});
