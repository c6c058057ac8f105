// The README's thrashing demo as a user runs it: `symbiont boot --mem 64 --paging shadow --symbiotic --swap 128
// --swapbypass --stats` on a terminal (util-linux's `script` gives the CLI a pty), the README's commands typed at
// the guest's shell, then Ctrl-A c and `info swapbypass` in the monitor, `quit`, and the counters `--stats`
// prints at exit. The oracles: each workload's checksum is the one the same static binary prints natively on
// this host (or under qemu-i386: src/node/i386.ts), and the guest's own /proc/vmstat says it swapped out and swapped (almost) nothing back in — on plain
// swap every page STREAM's second pass reads back from the disk is a swap-in (tests/swapbypass-linux.test.ts
// runs both ways on one boot). Skipped, saying so, when the images, the module, the workloads or `script` are
// missing (CI has them all).
import { describe, it, expect } from "vitest";
import { runI386 } from "../src/node/i386.js";
import { join } from "node:path";
import { thrashPrerequisites, workloadChecksum, WORKLOADS_DIR } from "../src/node/thrash.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { CURSOR_ANSWER as ANSWER, haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const skip = thrashPrerequisites() ?? (!haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null);

/** The longest quiet spell (no output) the demo has: a workload's run on a loaded 2-core machine, with room. */
const IDLE_MS = 5 * 60 * 1000;

describe.skipIf(skip !== null)(`symbiont boot --swapbypass, the README's demo on a terminal (${skip ?? "stream and gups over twice the guest's free memory"})`, () => {
  it("thrashes into SwapBypass's mappings: native checksums, the guest's swap-ins avoided, the counters in the monitor and --stats", async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --mem 64 --paging shadow --symbiotic --swap 128 --swapbypass --stats ` +
      `--deterministic --append '${LINUX_CMDLINE} quiet'`;
    let mib = 0;
    const got: Record<string, string> = {};
    const steps: TerminalStep[] = [
      [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${ANSWER}mkswap /dev/vda >/dev/null && swapon /dev/vda && grep MemFree /proc/meminfo\r`],
      [/MemFree:\s+(\d+) kB[\s\S]*# \x1b\[6n$/, (m) => { mib = 2 * Math.floor(Number(m[1]) / 1024); return `${ANSWER}stream ${mib} 2 -v\r`; }],
      [/(stream: \d+ MiB, 2 passes, checksum [0-9a-f]{8}, \d+ ms)[\s\S]*# \x1b\[6n$/, (m) => { got.stream = m[1]!; return `${ANSWER}gups ${mib} 20000\r`; }],
      [/(gups: \d+ MiB, 20000 updates, checksum [0-9a-f]{8}, \d+ ms)[\s\S]*# \x1b\[6n$/, (m) => { got.gups = m[1]!; return `${ANSWER}grep -E '^pswp(in|out) ' /proc/vmstat\r`; }],
      [/pswpin (\d+)\r*\npswpout (\d+)[\s\S]*# \x1b\[6n$/, (m) => { got.pswpin = m[1]!; got.pswpout = m[2]!; return `${ANSWER}\x01c`; }],
      [/\(symbiont\) $/, () => "info swapbypass\r"],
      [/(swap type [\s\S]*SymCalls [^\r\n]*)\r*\n[\s\S]*\(symbiont\) $/, (m) => { got.info = Buffer.from(m[1]!, "latin1").toString("utf8").replace(/\r/g, ""); return "quit\r"; }],
    ];
    const { status, steps: taken, out, text } = await runOnTerminal(cmd, steps, IDLE_MS);
    expect(taken, out.slice(-3000)).toBe(steps.length);
    expect(status).toBe(0);

    // The workloads' answers are the native ones, over a working set twice the guest's free memory.
    expect(mib).toBeGreaterThan(40);
    const native = (name: string, args: string[]) => workloadChecksum(runI386(join(WORKLOADS_DIR, name), args));
    expect(workloadChecksum(got.stream!), got.stream).toBe(native("stream", [String(mib), "2"]));
    expect(workloadChecksum(got.gups!), got.gups).toBe(native("gups", [String(mib), "20000"]));

    // The guest's own count: it swapped out (more than a quarter of the working set) and read back a small part of
    // it — on plain swap STREAM's second pass alone would read every swapped-out page back.
    const pswpout = Number(got.pswpout), pswpin = Number(got.pswpin);
    expect(pswpout).toBeGreaterThan(mib * 256 / 4);
    expect(pswpin).toBeLessThan(pswpout / 10);

    // The monitor: the swap type learned (the guest's only swap area, 0), faults bypassed by asking the guest.
    const info = /swap type (\d+); faults on swap PTEs (\d+), bypassed (\d+) \(and (\d+) pages around them\), mappings live \d+, swap-ins avoided (\d+)/.exec(got.info!);
    expect(info, got.info).not.toBeNull();
    const [, type, swapPteFaults, bypassed, around, avoided] = info!.map(Number);
    expect(type).toBe(0);
    expect(bypassed).toBeGreaterThan(0);
    expect(bypassed).toBeLessThanOrEqual(swapPteFaults!);
    // What the guest did not swap in, SwapBypass mapped: more than half as many pages as the guest swapped out and did
    // not read back (a page mapped, dropped and mapped again counts twice; one never touched again, not at all).
    expect(bypassed! + around!).toBeGreaterThan((pswpout - pswpin) / 2);
    expect(avoided).toBeGreaterThan(0);
    expect(got.info).toMatch(/\nSymCalls [1-9]\d*: [\d.]+ µs and \d+ guest instructions each$/);

    // --stats at exit: the same counters, under [stats] swapbypass.
    const stats = text.split("\n").filter((l) => l.startsWith("[stats] swapbypass "));
    expect(stats.length, text.slice(-3000)).toBe(5);
    const atExit = /^\[stats\] swapbypass +swap type 0; faults on swap PTEs \d+, bypassed (\d+)/.exec(stats[0]!);
    expect(atExit, stats[0]).not.toBeNull();
    expect(Number(atExit![1])).toBeGreaterThanOrEqual(bypassed!);
  }, 25 * 60 * 1000);
});
