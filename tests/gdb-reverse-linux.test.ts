// Reverse execution on Linux: Debian's kernel boots on a deterministic clock and runs a shell loop that prints now and
// then, under the GDB stub (its packets sent as GDB sends them) with the history recorded, checkpoints taken as the
// CLI takes them; stopped 2.8 G instructions in, it goes back one instruction, back to the last time a breakpoint's
// address ran, and forward again. Oracles: fresh machines run from power-on with no debugger to the same
// instruction (every register, all of RAM, the serial output), and the last time the breakpoint's address ran found
// by stepping one of them. Skipped, saying so, without the cached images.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { findCachedImages } from "../src/node/images.js";
import { GdbStub } from "../src/debug/gdb-stub.js";
import { framePacket } from "../src/debug/gdb-packets.js";

const images = findCachedImages();
const RAM = 64 << 20;
const STOP = 2_800_000_000;
const LOOP = "i=0; while true; do i=$((i+1)); [ $((i % 3000)) = 0 ] && echo tick $i; done";

describe.skipIf(!images)(`GDB going back in Linux${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it("reverse-stepi and reverse-continue land where a fresh run is at that instruction; forward again, too; a replay prints nothing", async () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), run: LOOP });
    const machine = async (out: number[]) => {
      const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, onSerial: (b) => out.push(b) });
      pc.loadLinux(kernel, { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
      return pc;
    };
    const runTo = (pc: Pc, n: number, between = () => {}) => {
      while (pc.vm.core.getRetired() < n) {
        const stop = pc.vm.run(Math.min(500_000, n - pc.vm.core.getRetired()));
        if (stop.kind !== "budget") throw new Error(`the guest stopped: ${JSON.stringify(stop)}`);
        between();
      }
    };
    const ramHash = (pc: Pc) => createHash("md5").update(new Uint8Array(pc.vm.engine.buffer, pc.vm.core.ramBase(), RAM)).digest("hex");
    const state = (pc: Pc) => ({ count: pc.vm.core.getRetired(), cpu: pc.vm.getState(), ram: ramHash(pc) });

    const out: number[] = [];
    const pc = await machine(out);
    let replies: string[] = [];
    const stub = new GdbStub(pc.vm, (d) => { if (d !== "+") replies.push(d); }, undefined, pc.rewindable());
    const send = (p: string) => { replies = []; stub.receive(new TextEncoder().encode(framePacket(p))); return replies.join(""); };
    send("qSupported:swbreak+;hwbreak+;multiprocess-");
    send("c");
    runTo(pc, STOP, () => stub.running());
    stub.receive(Uint8Array.of(3)); // Ctrl-C
    expect(replies.join("")).toMatch(/^\$T02thread:01;#/);
    const C = pc.vm.core.getRetired();
    const printedAtC = out.length;

    // The oracle: a fresh run to 5 000 instructions before, stepped from there to C - 1.
    const freshOut: number[] = [];
    const fresh = await machine(freshOut);
    runTo(fresh, C - 5001);
    const addr = fresh.vm.getState().eip; // (flat segments: linear = EIP)
    let lastAt = -1;
    for (let n = C - 5001; n < C - 1; n++) {
      if (fresh.vm.getState().eip === addr) lastAt = n;
      runTo(fresh, n + 1);
    }
    const before = state(fresh);

    expect(send("bs")).toMatch(/^\$T05thread:01;#/);
    expect(state(pc)).toEqual(before);

    expect(lastAt).toBeGreaterThanOrEqual(C - 5001);
    expect(send(`Z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    expect(send("bc")).toMatch(/^\$T05swbreak:;thread:01;#/);
    expect(send(`z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    const landed = state(pc);
    const hit = await machine([]);
    runTo(hit, lastAt);
    expect(landed).toEqual(state(hit));

    // Forward again from there, 50 M instructions: a new branch, the same as a run that never went back.
    send("c");
    const end = lastAt + 50_000_000;
    runTo(pc, end, () => stub.running());
    const again: number[] = [];
    const whole = await machine(again);
    runTo(whole, lastAt);
    const printedAtLanding = again.length;
    runTo(whole, end);
    expect(state(pc)).toEqual(state(whole));
    // What the guest printed: up to C once, nothing while replaying, from the landing on again.
    expect(Buffer.from(out).toString("latin1")).toBe(Buffer.from([...again.slice(0, printedAtC), ...again.slice(printedAtLanding)]).toString("latin1"));
    expect(Buffer.from(out).toString("latin1")).toMatch(/tick \d+\r?\n[\s\S]*tick \d+\r?\n/);
  }, 600_000);
});
