// SwapBypass with Debian's kernel (src/node/thrash.ts: shadow paging, a swap
// disk in VMM memory, the thrashing workloads of guests/linux/thrash that
// `npm run workloads` builds). The oracle for every run is the checksum the
// same static i386 binary prints when run natively on this host (under qemu-i386
// where the host's kernel runs no 32-bit programs: src/node/i386.ts).
// - One shared Wasm boot with symbiotic.ko: both workloads over about twice the
//   guest's free memory with plain swap, then with SwapBypass, which learns the
//   disk's swap type from the guest, bypasses faults and avoids swap-ins;
//   `stream -v`'s lines with the host times they arrived at, and a GUPS run cut
//   at a host time (the benchmark's plain swap at HPCC's length) by Ctrl-C, no
//   process of it left; a program that makes its swapped-out, bypass-mapped memory read-only
//   (tests/linux/mprotswap.asm) must die of SIGSEGV at its store; then
//   the guest moves its swap to another disk, which takes the same swap type,
//   and SwapBypass must map nothing (its slots are older than the guest's swap
//   PTEs) and call nothing.
// - A small Wasm boot without the module, SwapBypass on from boot: it watches
//   the guest swap (learns the type, sees the faults) but no SymCall is made
//   and nothing is mapped.
// - The JS engine runs a smaller instance of the same test (both workloads
//   under SwapBypass from boot).
// - GUPS under SwapBypass stopped every 100 M instructions, saved and restored
//   into a new machine (the swap disk's pages and what SwapBypass learned go
//   with the snapshot; its mappings are made again): the native checksum, and
//   the swap type known from the first instruction after each restore.
// Skipped, saying so, when the images, the module or the workloads are not
// built; CI builds all three.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findCachedImages } from "../src/node/images.js";
import { ShadowPaging } from "../src/vmm/paging/index.js";
import { SwapBypass } from "../src/symbiotic/swapbypass.js";
import { Monitor } from "../src/vmm/monitor.js";
import { SWAP_DISK_SERIAL } from "../src/machine/pc.js";
import { runI386 } from "../src/node/i386.js";
import { bootThrashGuest, thrashMachine, thrashPrerequisites, guestMemFreeMiB, guestVirtioDisks, OTHER_DISK_SERIAL, runWorkload, workloadChecksum, WORKLOADS_DIR, type ThrashGuest, type Workload } from "../src/node/thrash.js";

const skip = thrashPrerequisites(), skipNoModule = thrashPrerequisites(false);
const RAM = 48 << 20, SWAP = 64 << 20;
/** tests/linux/mprotswap.asm: swapped-out pages of its own read back, then mprotect PROT_READ and a store into one. */
const MPROTSWAP = new URL("./linux/bin/mprotswap", import.meta.url).pathname;

if (skip && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("SwapBypass Linux prerequisites", () => { it("are built (npm run images, npm run module, npm run workloads)", () => { expect(skip).toBeNull(); }); });
}

/** The workload's checksum natively on this host (the same static i386 binary). */
function nativeChecksum(name: Workload, args: string[]): string | undefined {
  return workloadChecksum(runI386(join(WORKLOADS_DIR, name), args));
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
    g = await bootThrashGuest({
      ramBytes: RAM, swapBytes: SWAP, swapBypass: false, otherDiskBytes: SWAP,
      extraFiles: [{ path: "bin/mprotswap", data: new Uint8Array(readFileSync(MPROTSWAP)), mode: 0o755 }],
    });
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
    // Every MEM_LOOKUP ends in a mapping, an illegal answer, an error, or a store declined (the slot shared or cached).
    expect(s.bypassSymcalls).toBe(s.bypassFaults + s.bypassIllegal + s.bypassSymcallErrors + s.bypassDeclinedWrites);
    expect(s.bypassSwapInsAvoided).toBeGreaterThan(0);
    // symbiotic.ko answered SWAP_MAP: stores went straight into slots only one PTE used (the checksums say they were right).
    expect(s.bypassSwapMapCalls).toBeGreaterThan(0);
    expect(s.bypassWritable).toBeGreaterThan(100);
    // A mapping dropped by a swap-in is a slot the guest read back.
    expect(s.bypassDroppedSwapIn).toBeLessThanOrEqual(disk.stats.slotsRead - readBefore);
    expect(new Monitor(g.pc.vm).execute("info swapbypass")).toMatch(/^swap type 0; faults on swap PTEs \d+, bypassed [1-9]\d*/);
  }, 30 * 60 * 1000);

  it("stream -v (the README's demo): the fill's and each pass's time as they end, then the same checksum", async () => {
    const sweeps = [args.stream[0]!, "2"];
    const run = await runWorkload(g, "stream", [...sweeps, "-v"]);
    const lines = run.line.split(/\r?\n/).map((l) => l.trim());
    expect(lines.slice(0, 3).map((l) => l.replace(/: \d+ ms$/, ": N ms"))).toEqual(["stream: fill: N ms", "stream: pass 1: N ms", "stream: pass 2: N ms"]);
    expect(lines).toHaveLength(4);
    expect(workloadChecksum(lines[3]!)).toBe(nativeChecksum("stream", sweeps));
    // The host times of the lines (the benchmark's sweeps): the same lines, in the order they came, within the command's time.
    expect(run.lines.map((l) => l.text)).toEqual(lines);
    const at = run.lines.map((l) => l.ms);
    expect(at[0]).toBeGreaterThan(0);
    for (let i = 1; i < at.length; i++) expect(at[i]).toBeGreaterThan(at[i - 1]!);
    expect(at[3]).toBeLessThanOrEqual(run.ms);
  }, 30 * 60 * 1000);

  it("a run cut short (the benchmark's plain swap at HPCC's length): Ctrl-C ends the workload and the shell goes on", async () => {
    const run = await runWorkload(g, "gups", [args.gups[0]!, String(Number(args.gups[0]) << 20)], { cutMs: 2000 });
    expect(run.cut).toBe(true);
    expect(run.ms).toBeGreaterThanOrEqual(2000);
    expect(run.line).not.toMatch(/checksum/);
    expect(await g.shell.sh("ps | grep '[g]ups'; echo rc=$?")).toBe("rc=1\n"); // no such process left
  }, 30 * 60 * 1000);

  it("mprotect: the module reports the range, its mappings go, and a store into a swapped-out page made read-only is the guest's SIGSEGV", async () => {
    const before = paging(g);
    // mprotect leaves swap PTEs as they are: without the module's notice the writable bypass mapping would take the store.
    const out = await g.shell.sh(`mprotswap ${args.gups[0]}; echo rc=$?`, 600e9);
    const after = paging(g), delta = (k: string) => after[k]! - before[k]!;
    expect(out).toMatch(/^PAGE [0-9a-f]{8}$/m);
    expect(out).not.toMatch(/WROTE/);
    expect(out).toMatch(/^rc=139$/m); // 128 + SIGSEGV
    expect(delta("bypassFaults")).toBeGreaterThan(0); // its read-back was bypassed …
    expect(delta("bypassDroppedProtection")).toBeGreaterThan(0); // … and those mappings went at the mprotect
  }, 30 * 60 * 1000);

  it("swap moved to another disk (the same swap type): nothing is called or mapped from the old slots, the checksums stay right", async () => {
    const ours = g.pc.swapDisk!;
    const disks = await guestVirtioDisks(g.shell);
    const mine = disks.find((d) => d.serial === SWAP_DISK_SERIAL)!.dev, other = disks.find((d) => d.serial === OTHER_DISK_SERIAL)?.dev;
    expect(other).toBeDefined();
    const swaps = await g.shell.sh(`swapoff /dev/${mine} && mkswap /dev/${other} >/dev/null && swapon /dev/${other} && cat /proc/swaps`, 60e9);
    expect(swaps.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0])).toEqual([`/dev/${other}`]); // the guest's only swap now
    const before = paging(g), written = ours.stats.slotsWritten, calls = g.pc.vm.symbiotic!.symcall.stats.calls;
    // Smaller than the runs above: enough to swap to the other disk and fault on its (type 0) entries.
    const mib = String(Math.floor(1.25 * await guestMemFreeMiB(g.shell)));
    await runChecked(g, "stream", [mib, "1"]);
    const after = paging(g), delta = (k: string) => after[k]! - before[k]!;
    expect(bypass.type).toBe(0); // still: the guest gave the other disk the type it had
    expect(ours.stats.slotsWritten).toBe(written); // the guest did swap elsewhere …
    expect(delta("bypassSwapPteFaults")).toBeGreaterThan(0); // … and faulted on type-0 swap PTEs,
    expect(delta("bypassOlderThanPte")).toBeGreaterThan(0); // some naming slots our disk still holds (stale),
    // every one declined before a call for that reason (or because our disk never held the slot):
    expect(delta("bypassOlderThanPte") + delta("bypassNotHeld")).toBe(delta("bypassSwapPteFaults"));
    expect(delta("bypassSymcalls")).toBe(0);
    expect(delta("bypassFaults")).toBe(0);
    expect(g.pc.vm.symbiotic!.symcall.stats.calls).toBe(calls);
    bypass.detach();
    expect(bypass.live).toBe(0);
  }, 30 * 60 * 1000);
});

describe.skipIf(skipNoModule !== null)(`SwapBypass on a guest without the symbiotic module (${skipNoModule ?? "Wasm, STREAM, SwapBypass on from boot"})`, () => {
  it("runs as without SwapBypass: the native checksum, no SymCall made, nothing mapped", async () => {
    const g = await bootThrashGuest({ ramBytes: RAM, swapBytes: SWAP, swapBypass: true, symbiotic: false });
    expect(await g.shell.sh("grep -c symbiotic /proc/modules")).toBe("0\n");
    const mib = String(Math.floor(1.25 * await guestMemFreeMiB(g.shell)));
    await runChecked(g, "stream", [mib, "1"]);
    const s = paging(g), sym = g.pc.vm.symbiotic!;
    // SwapBypass was watching: it learned the swap type from the guest's swap-ins and saw faults on its swap PTEs …
    expect(s.bypassSwapType).toBe(0);
    expect(s.bypassSwapPteFaults).toBeGreaterThan(0);
    // … some of which it would have asked about, but the guest never registered SymCall:
    expect(s.bypassUnavailable).toBeGreaterThan(0);
    expect(sym.local(0)).toBeNull();
    expect(sym.symcall.stats.calls).toBe(0);
    expect(s.bypassSymcalls).toBe(0);
    // No shadow PTE ever pointed at the disk: every fault on a swap PTE was the guest's own #PF.
    expect(s.bypassFaults).toBe(0);
    expect(s.bypassLive).toBe(0);
  }, 30 * 60 * 1000);
});

describe.skipIf(skip !== null)(`SwapBypass on two vCPUs (${skip ?? "Wasm, STREAM and GUPS at once, SwapBypass on from boot"})`, () => {
  it("prints the native checksums; every fault is asked about on the vCPU that took it, so the guest finds each access legal", async () => {
    const g = await bootThrashGuest({ ramBytes: RAM, swapBytes: SWAP, swapBypass: true, cpus: 2 });
    expect(await g.shell.sh("grep -c ^processor /proc/cpuinfo")).toBe("2\n");
    // Each over the guest's free memory, both at once: together about twice it, the two CPUs faulting side by side.
    const mib = String(await guestMemFreeMiB(g.shell));
    const stream = [mib, "1"], gups = [mib, "20000"];
    const out = await g.shell.sh(`stream ${stream.join(" ")} > /tmp/s & gups ${gups.join(" ")} > /tmp/g; wait; cat /tmp/s /tmp/g`, 600e9);
    const [s1, g1] = out.trim().split(/\r?\n/);
    expect(workloadChecksum(s1!)).toBe(nativeChecksum("stream", stream));
    expect(workloadChecksum(g1!)).toBe(nativeChecksum("gups", gups));
    const s = paging(g);
    expect(s.bypassFaults).toBeGreaterThan(100);
    // MEM_LOOKUP answers for the process the calling CPU runs: asked on another vCPU, the faulting process's own
    // accesses come back illegal (its PTE is not that process's) — as they did before the call went to the faulting vCPU.
    expect(s.bypassIllegal).toBe(0);
    expect(s.bypassSymcalls).toBe(s.bypassFaults + s.bypassSymcallErrors + s.bypassDeclinedWrites);
  }, 30 * 60 * 1000);
});

describe.skipIf(skip !== null)(`SwapBypass on the JS engine, a smaller instance (${skip ?? "both workloads under SwapBypass from boot"})`, () => {
  it("prints the native checksums, bypasses faults by asking the guest", async () => {
    const g = await bootThrashGuest({ engine: "js", ramBytes: RAM, swapBytes: SWAP, swapBypass: true });
    const mib = String(Math.floor(1.25 * await guestMemFreeMiB(g.shell)));
    await runChecked(g, "stream", [mib, "1"]);
    await runChecked(g, "gups", [mib, "2000"]);
    const s = paging(g);
    expect(g.pc.swapBypass!.type).toBe(0);
    expect(s.bypassFaults).toBeGreaterThan(0);
    // Every MEM_LOOKUP ends in a mapping, an illegal answer, an error, or a store declined (the slot shared or cached).
    expect(s.bypassSymcalls).toBe(s.bypassFaults + s.bypassIllegal + s.bypassSymcallErrors + s.bypassDeclinedWrites);
    expect(g.pc.vm.symbiotic!.symcall.stats.calls).toBe(s.bypassSymcalls + s.bypassSwapMapCalls);
  }, 30 * 60 * 1000);
});

describe.skipIf(skip !== null)(`SwapBypass saved and restored in the middle of thrashing (${skip ?? "snapshots of the swap disk and SwapBypass"})`, () => {
  it("GUPS stopped every 100 M instructions and restored into a new machine: the native checksum; SwapBypass goes on bypassing, its swap type kept", async () => {
    const opts = { ramBytes: RAM, swapBytes: SWAP, swapBypass: true };
    const g = await bootThrashGuest(opts);
    const args = [String(2 * await guestMemFreeMiB(g.shell)), "20000"];
    const typed = [...Buffer.from(`gups ${args.join(" ")}; echo GUPS-$((0))-DONE\n`, "latin1")];
    let pc = g.pc, lastSave = pc.vm.core.getRetired(), snapshots = 0, bypassedBefore = 0;
    const typesKept: boolean[] = [];
    for (let slices = 0; !g.shell.output.includes("GUPS-0-DONE"); slices++) {
      if (slices > 20_000) throw new Error(`no end:\n${g.shell.output.slice(-2000)}`);
      if (typed.length) pc.uart.receive(typed.splice(0, pc.uart.receiveSpace));
      const stop = pc.vm.run(1_000_000);
      if (stop.kind !== "budget") throw new Error(`guest stopped: ${JSON.stringify(stop)}`);
      if (pc.vm.core.getRetired() - lastSave < 100_000_000) continue;
      const type = pc.swapBypass!.type, bytes = pc.saveSnapshot();
      pc = await thrashMachine(opts, g.shell.onSerial);
      pc.loadSnapshot(bytes);
      g.shell.attach(pc);
      typesKept.push(pc.swapBypass!.type === type);
      bypassedBefore = (pc.vm.stats().paging as Record<string, number>).bypassFaults!;
      lastSave = pc.vm.core.getRetired();
      snapshots++;
    }
    const line = g.shell.output.split("\n").find((l) => l.startsWith(`gups: ${args[0]} MiB`)) ?? g.shell.output.slice(-2000);
    expect(workloadChecksum(line), line).toBe(nativeChecksum("gups", args));
    expect(snapshots).toBeGreaterThanOrEqual(5);
    expect(typesKept.every((k) => k)).toBe(true);
    expect(pc.swapBypass!.type).toBeGreaterThanOrEqual(0);
    // After the last restore the guest's faults were bypassed again (the mappings made anew from what it had learned).
    expect((pc.vm.stats().paging as Record<string, number>).bypassFaults).toBeGreaterThan(bypassedBefore);
  }, 30 * 60 * 1000);
});
