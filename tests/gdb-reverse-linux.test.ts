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
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { plugNics, guestAddress, ipCommandLine, type NicKind } from "../src/machine/nics.js";
import { UserNetwork } from "../src/net/user/user-network.js";
import type { HostNet } from "../src/net/user/host.js";
import { defaultMac } from "../src/net/ethernet.js";
import { GdbStub } from "../src/debug/gdb-stub.js";
import { framePacket } from "../src/debug/gdb-packets.js";

const images = findCachedImages();
const RAM = 64 << 20;
const STOP = 2_800_000_000;
const LOOP = "i=0; while true; do i=$((i+1)); [ $((i % 3000)) = 0 ] && echo tick $i; done";

/** Run `pc` to instruction `n` in slices of 500 000 (`between` runs after each, as the CLI's runner does between its slices). */
function runTo(pc: Pc, n: number, between = () => {}): void {
  while (pc.vm.core.getRetired() < n) {
    const stop = pc.vm.run(Math.min(500_000, n - pc.vm.core.getRetired()));
    if (stop.kind !== "budget") throw new Error(`the guest stopped: ${JSON.stringify(stop)}`);
    between();
  }
}
const ramHash = (pc: Pc) => createHash("md5").update(new Uint8Array(pc.vm.engine.buffer, pc.vm.core.ramBase(), RAM)).digest("hex");
/** Where the machine is: its count, every register, all of RAM. */
const state = (pc: Pc) => ({ count: pc.vm.core.getRetired(), cpu: pc.vm.getState(), ram: ramHash(pc) });
/** The stub's side of a GDB session: `send` a packet, get what the stub answered. */
function gdbSession(pc: Pc, rewind = pc.rewindable()) {
  let replies: string[] = [];
  const stub = new GdbStub(pc.vm, (d) => { if (d !== "+") replies.push(d); }, undefined, rewind);
  const send = (p: string) => { replies = []; stub.receive(new TextEncoder().encode(framePacket(p))); return replies.join(""); };
  const interrupt = () => { replies = []; stub.receive(Uint8Array.of(3)); return replies.join(""); }; // Ctrl-C
  send("qSupported:swbreak+;hwbreak+;multiprocess-");
  /** Run the guest under the stub until it stops it (a breakpoint, a step) or instruction `limit`; the stop reply, if any. */
  const runUntilStop = (limit: number) => {
    while (!stub.halted && pc.vm.core.getRetired() < limit) {
      const stop = pc.vm.run(Math.min(500_000, limit - pc.vm.core.getRetired()));
      if (stop.kind !== "budget") throw new Error(`the guest stopped: ${JSON.stringify(stop)}`);
      stub.running();
    }
    return replies.join("");
  };
  return { stub, send, interrupt, runUntilStop };
}

/** Every vCPU's registers (each as the monitor's cpu N sees them), the count and all of RAM. */
const everyVcpu = (pc: Pc) => ({ ...state(pc), cpu: undefined, cpus: pc.vm.vcpus.map((_, i) => pc.vm.withVcpu(i, () => pc.vm.getState())) });

describe.skipIf(!images)(`GDB going back in Linux${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it("reverse-stepi and reverse-continue land where a fresh run is at that instruction; forward again, too; a replay prints nothing", async () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), run: LOOP });
    const machine = async (out: number[]) => {
      const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, onSerial: (b) => out.push(b) });
      pc.loadLinux(kernel, { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
      return pc;
    };

    const out: number[] = [];
    const pc = await machine(out);
    const { stub, send, interrupt } = gdbSession(pc);
    send("c");
    runTo(pc, STOP, () => stub.running());
    expect(interrupt()).toMatch(/^\$T02thread:01;#/);
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

  // With network cards: virtio-net, an emulated NE2000 and one under VPIO, each cabled to a user network whose router
  // answers ARP and pings inside the transmit that asked (a reply the history logs by that transmit) — and that never
  // reaches the host.
  it("with network cards pinging the router: going back lands where a fresh run is, no frame reaches the network while the past replays", async () => {
    const CARDS: NicKind[] = [
      { model: "virtio", vpio: false, shared: false }, { model: "ne2k", vpio: false, shared: false }, { model: "ne2k", vpio: true, shared: false },
    ];
    const cardBase = (k: number) => ({ mac: defaultMac(k), ipv4: (0x0a00020f + k) >>> 0, prefix: 24 });
    const PINGS = "while true; do for i in eth0 eth1 eth2; do ping -c 3 -i 0.02 -s 200 -I $i 10.0.2.2 | grep -c 'bytes from'; done; done";
    const NO_HOST = new Proxy({}, { get: (_t, p) => p === "dnsServers" ? () => [] : () => { throw new Error(`the guest asked the host (${String(p)})`); } }) as HostNet;
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(images!.busybox)), modules: cachedModules(images!, driverModules(["virtio-net", "ne2k-pci"])), run: PINGS,
    });
    const cmdline = `${LINUX_CMDLINE} quiet ${ipCommandLine(CARDS.map((_, k) => guestAddress(0, cardBase(k))))}`;
    /** A machine whose cards each have a user network of their own; `net` counts what reached the networks and when frames came back. */
    const machine = async (out: number[]) => {
      const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, onSerial: (b) => out.push(b) });
      const net = { sent: 0, deliveredAt: CARDS.map(() => [] as number[]) };
      CARDS.forEach((kind, k) => {
        const link = plugNics([pc], kind, { addresses: cardBase(k) }).links[0]!, user = new UserNetwork(NO_HOST);
        link.attachBackend((f) => { net.sent++; user.receive(f); });
        user.output = (f) => { net.deliveredAt[k]!.push(pc.vm.core.getRetired()); link.deliver(f); };
      });
      pc.loadLinux(kernel, { cmdline, initrd });
      return { pc, net };
    };
    const STOP_NET = 3_200_000_000; // (the pings start near 2.85 G)
    // The pings go through one card at a time, and a replay runs from the last checkpoint, whose place depends on how
    // long saving took (the host's load). So that the stretch replayed holds a frame the VPIO NE2000 received: the
    // first such frame after STOP_NET, found in a run of its own; no checkpoint is taken from 1000 instructions
    // before it, and GDB stops the guest 6000 after it (the breakpoint below lands within 5000 before that).
    const probe = await machine([]);
    runTo(probe.pc, STOP_NET);
    while (!probe.net.deliveredAt[2]!.some((at) => at > STOP_NET)) runTo(probe.pc, probe.pc.vm.core.getRetired() + 100_000);
    const vpioFrameAt = probe.net.deliveredAt[2]!.find((at) => at > STOP_NET)!;

    const out: number[] = [];
    const { pc, net } = await machine(out);
    expect(typeof pc.rewindable()).toBe("object");
    const { stub, send, interrupt } = gdbSession(pc);
    send("c");
    runTo(pc, vpioFrameAt - 1000, () => stub.running());
    runTo(pc, vpioFrameAt + 6000);
    expect(interrupt()).toMatch(/^\$T02thread:01;#/);
    const C = pc.vm.core.getRetired(), printedAtC = out.length, sentAtC = net.sent;
    expect(Buffer.from(out).toString("latin1")).toMatch(/(3\r?\n){20}/); // (pinging: every ping answered)

    const fresh = (await machine([])).pc;
    runTo(fresh, C - 5001);
    const addr = fresh.vm.getState().eip;
    let lastAt = -1;
    for (let n = C - 5001; n < C - 1; n++) {
      if (fresh.vm.getState().eip === addr) lastAt = n;
      runTo(fresh, n + 1);
    }
    expect(send("bs")).toMatch(/^\$T05thread:01;#/);
    expect(state(pc)).toEqual(state(fresh));
    expect(send(`Z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    expect(send("bc")).toMatch(/^\$T05swbreak:;thread:01;#/);
    expect(send(`z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    const hit = (await machine([])).pc;
    runTo(hit, lastAt);
    expect(state(pc)).toEqual(state(hit));
    // The replays ran from a checkpoint through frames the router gave back, and sent nothing, printed nothing.
    const history = (stub as unknown as { history: { checkpointCounts(): number[] } }).history;
    const from = Math.max(...history.checkpointCounts().filter((c) => c <= lastAt));
    const replayed = net.deliveredAt.map((card) => card.filter((at) => at > from && at <= lastAt).length);
    expect(replayed[2]).toBeGreaterThan(0); // (the VPIO NE2000's among them: its cable's history too)
    expect(net.sent).toBe(sentAtC);
    expect(out.length).toBe(printedAtC);

    // Forward again: a new branch, whose pings go to the networks again and are answered (the networks, outside the
    // machine, did not go back: their IP identification counters went on, so RAM is not the first branch's).
    send("c");
    runTo(pc, lastAt + 100_000_000, () => stub.running());
    expect(net.sent).toBeGreaterThan(sentAtC);
    const after = Buffer.from(out.slice(printedAtC)).toString("latin1");
    expect(after).toMatch(/^(3\r?\n){10,}/);
  }, 600_000);

  // Two vCPUs, a loop on each: their instructions interleave by the VMM's round robin, which a stop leaves as it was
  // (src/vmm/vm.ts), so fresh runs without a debugger are the oracle again; the last hit of a breakpoint before the
  // stop is found live, by a stub on a fresh run stopping at each hit and continuing.
  it("on two vCPUs: back one instruction, back to a breakpoint's last hit, and GDB's steps of one vCPU — alone, or with the other running — undone and redone", async () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), run: `(${LOOP}) & ${LOOP}` });
    const machine = async () => {
      const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, cpus: 2, onSerial: () => {} });
      pc.loadLinux(kernel, { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
      return pc;
    };
    const STOP_SMP = 3_000_000_000;
    const pc = await machine();
    const { stub, send, interrupt, runUntilStop } = gdbSession(pc);
    send("c");
    runTo(pc, STOP_SMP, () => stub.running());
    expect(interrupt()).toMatch(/^\$T02thread:0[12];#/);
    const C = pc.vm.core.getRetired();

    const fresh = await machine();
    runTo(fresh, C - 1);
    expect(send("bs")).toMatch(/^\$T05thread:0[12];#/);
    expect(everyVcpu(pc)).toEqual(everyVcpu(fresh));

    // The breakpoint: where the vCPU about to run is, 100 000 instructions back; its hits found live on a fresh run.
    const hitter = await machine();
    runTo(hitter, C - 100_000);
    const addr = hitter.vm.getState().eip;
    const live = gdbSession(hitter, "(the oracle: no history)");
    expect(live.send(`Z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    const hits: { at: number; reply: string }[] = [];
    live.send("c");
    for (;;) {
      const reply = live.runUntilStop(C);
      if (hitter.vm.core.getRetired() >= C) break;
      hits.push({ at: hitter.vm.core.getRetired(), reply });
      // On, as GDB goes on from a breakpoint: out, the thread that hit it stepped alone, back in, continue.
      const thread = /thread:(\w+);/.exec(reply)![1]!;
      live.send(`z0,${addr.toString(16)},1`);
      live.send(`vCont;s:${thread}`);
      expect(live.runUntilStop(Infinity)).toMatch(new RegExp(`^\\$T05thread:${thread};#`));
      live.send(`Z0,${addr.toString(16)},1`);
      live.send("c");
    }
    expect(hits.length).toBeGreaterThan(0);
    const last = hits[hits.length - 1]!;
    expect(send(`Z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    expect(send("bc")).toBe(last.reply.replace(/^.*?\$/, "$")); // (the same stop: swbreak, the same thread)
    expect(send(`z0,${addr.toString(16)},1`)).toBe("$OK#9a");
    const L = pc.vm.core.getRetired();
    expect(L).toBe(last.at);
    const landed = everyVcpu(pc);
    const atL = await machine();
    runTo(atL, L);
    expect(landed).toEqual(everyVcpu(atL));

    // A step of vCPU 1 alone (GDB's scheduler locking), undone: back where it was.
    send("vCont;s:02");
    expect(runUntilStop(Infinity)).toMatch(/^\$T05thread:02;#/);
    expect(pc.vm.core.getRetired()).toBe(L + 1);
    expect(send("bs")).toMatch(/^\$T05thread:0[12];#/);
    expect(everyVcpu(pc)).toEqual(landed);
    // A step of vCPU 1 while vCPU 0 runs (GDB's default): back one instruction — inside the step, vCPU 0 having run
    // part of it — and the step again ends where it ended.
    send("vCont;s:02;c");
    expect(runUntilStop(Infinity)).toMatch(/^\$T05thread:02;#/);
    const stepped = everyVcpu(pc);
    expect(stepped.count).toBeGreaterThan(L);
    expect(send("bs")).toMatch(/^\$T05thread:0[12];#/);
    expect(pc.vm.core.getRetired()).toBe(stepped.count - 1);
    send("vCont;s:02;c");
    expect(runUntilStop(Infinity)).toMatch(/^\$T05thread:02;#/);
    expect(everyVcpu(pc)).toEqual(stepped);
  }, 600_000);
});
