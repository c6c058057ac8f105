/**
 * The virtual network: the learning switch and its port rules, a NIC's link
 * (flow control, taps), the pcap writer (read back by Debian's tcpdump, the
 * independent oracle for the file format), QEMU's stream framing and the
 * TCP back end between two endpoints on localhost.
 *
 * Frames are built here by hand from the formats' definitions (Ethernet II,
 * ARP per RFC 826, IPv4 per RFC 791 with its header checksum).
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { VirtualSwitch, MAC_AGE_MS } from "../../src/net/switch.js";
import { NicLink, LINK_QUEUE_FRAMES, type NicReceiver } from "../../src/net/link.js";
import { PcapWriter } from "../../src/net/pcap.js";
import { StreamFrameDecoder, encodeStreamFrame, STREAM_MAX_FRAME } from "../../src/net/stream-framing.js";
import { parseMac, formatMac, macBytes, isMulticast, BROADCAST_MAC, defaultMac } from "../../src/net/ethernet.js";
import { SocketNetBackend, parseSocketEndpoint } from "../../src/node/net-socket.js";
import { connectPortToSwitch } from "../../src/net/worker-port.js";
import { Worker, MessageChannel } from "node:worker_threads";

const A = parseMac("52:54:00:12:34:56"), B = parseMac("52:54:00:12:34:57"), C = parseMac("52:54:00:12:34:58");

function frame(dst: number, src: number, type: number, payload: number[] = []): Uint8Array {
  const f = new Uint8Array(Math.max(60, 14 + payload.length));
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  f[12] = type >> 8; f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** An ARP request (RFC 826): who has `target`? tell `sender` (IPv4 addresses as [a,b,c,d]). */
function arpRequest(src: number, sender: number[], target: number[]): Uint8Array {
  return frame(BROADCAST_MAC, src, 0x0806, [0, 1, 0x08, 0x00, 6, 4, 0, 1, ...macBytes(src), ...sender, 0, 0, 0, 0, 0, 0, ...target]);
}

/** An IPv4/UDP datagram (RFC 791/768) with a correct header checksum and no UDP checksum. */
function udp(dst: number, src: number, from: number[], to: number[], sport: number, dport: number, data: number[]): Uint8Array {
  const ip = [0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, ...from, ...to];
  const total = 20 + 8 + data.length;
  ip[2] = total >> 8; ip[3] = total & 0xff;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const ck = ~sum & 0xffff;
  ip[10] = ck >> 8; ip[11] = ck & 0xff;
  const u = [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, (8 + data.length) >> 8, (8 + data.length) & 0xff, 0, 0, ...data];
  return frame(dst, src, 0x0800, [...ip, ...u]);
}

describe("Ethernet addresses", () => {
  it("parse, format and classify MACs", () => {
    expect(formatMac(A)).toBe("52:54:00:12:34:56");
    expect(parseMac("52-54-00-12-34-57")).toBe(B);
    expect(formatMac(defaultMac(1))).toBe("52:54:00:12:34:57");
    expect(isMulticast(BROADCAST_MAC)).toBe(true);
    expect(isMulticast(parseMac("33:33:00:00:00:01"))).toBe(true);
    expect(isMulticast(parseMac("01:00:5e:00:00:fb"))).toBe(true);
    expect(isMulticast(A)).toBe(false);
    expect(() => parseMac("52:54:00:12:34")).toThrow(/not a MAC address/);
  });
});

describe("virtual switch", () => {
  function rig() {
    const sw = new VirtualSwitch();
    const got: Record<string, Uint8Array[]> = { a: [], b: [], c: [] };
    const ports = {
      a: sw.connect({ name: "a" }, (f) => got.a!.push(f)),
      b: sw.connect({ name: "b" }, (f) => got.b!.push(f)),
      c: sw.connect({ name: "c" }, (f) => got.c!.push(f)),
    };
    return { sw, got, ports };
  }

  it("floods unknown and broadcast frames, then forwards learned unicast to one port only", () => {
    const { sw, got, ports } = rig();
    ports.a.send(arpRequest(A, [10, 0, 0, 1], [10, 0, 0, 2]));
    expect(got.a!.length).toBe(0);
    expect(got.b!.length).toBe(1);
    expect(got.c!.length).toBe(1);
    expect(sw.lookup(A)).toBe(ports.a);
    ports.b.send(frame(A, B, 0x0806)); // the reply: A is known
    expect(got.a!.length).toBe(1);
    expect(got.c!.length).toBe(1);
    ports.a.send(frame(B, A, 0x0800)); // B learned from its reply
    expect(got.b!.length).toBe(2);
    expect(got.c!.length).toBe(1);
    ports.a.send(frame(C, A, 0x0800)); // C never spoke: flooded
    expect(got.b!.length).toBe(3);
    expect(got.c!.length).toBe(2);
    expect(sw.addresses()).toEqual([{ mac: "52:54:00:12:34:56", port: "a" }, { mac: "52:54:00:12:34:57", port: "b" }]);
  });

  it("never sends a frame back to its port, and forgets a port's addresses when it leaves", () => {
    const { sw, got, ports } = rig();
    ports.a.send(frame(C, A, 0x0800));
    ports.b.send(frame(C, B, 0x0800));
    expect(got.a!.length).toBe(1);
    ports.a.send(frame(A, A, 0x0800)); // to an address learned on the sending port: nowhere
    expect([got.a!.length, got.b!.length, got.c!.length]).toEqual([1, 1, 2]);
    ports.b.disconnect();
    expect(sw.lookup(B)).toBeUndefined();
    ports.a.send(frame(B, A, 0x0800)); // B unknown again: flooded to what is still plugged in
    expect(got.b!.length).toBe(1);
    expect(got.c!.length).toBe(3);
  });

  it("gives its learned addresses to a snapshot, and a new switch with ports of the same names forwards as the old one did", () => {
    const { sw, ports } = rig();
    ports.a.send(frame(C, A, 0x0800));
    ports.b.send(frame(A, B, 0x0800));
    const saved = sw.saveAddresses();
    expect(saved).toEqual([[A, "a"], [B, "b"]]);
    const again = rig();
    again.sw.restoreAddresses([...saved, [C, "gone"]]); // (a port the new switch lacks: left out)
    again.ports.c.send(frame(B, C, 0x0800)); // B known: to b alone, not flooded to a
    expect([again.got.a!.length, again.got.b!.length]).toEqual([0, 1]);
    expect(again.sw.addresses()).toEqual([{ mac: "52:54:00:12:34:56", port: "a" }, { mac: "52:54:00:12:34:57", port: "b" }, { mac: "52:54:00:12:34:58", port: "c" }]);
    // Addresses older than MAC_AGE_MS are not saved (they would be flooded to anyway).
    let now = 0;
    const aging = new VirtualSwitch("aging", () => now);
    const p = aging.connect({ name: "p" }, () => {});
    p.send(frame(B, A, 0x0800));
    now = MAC_AGE_MS + 1;
    expect(aging.saveAddresses()).toEqual([]);
  });

  it("applies per-port rules (first match wins) and the source lock", () => {
    const sw = new VirtualSwitch();
    const got: Uint8Array[] = [];
    const a = sw.connect({ name: "a", lockSource: A, rules: [{ action: "drop", direction: "out", etherType: 0x86dd }] }, () => {});
    sw.connect({ name: "b", rules: [{ action: "accept", direction: "in", src: A, etherType: 0x0806 }, { action: "drop", direction: "in", etherType: 0x0806 }] }, (f) => got.push(f));
    const c = sw.connect({ name: "c" }, () => {});
    a.send(frame(B, A, 0x86dd));          // IPv6 out of a: dropped by a's rule
    a.send(frame(B, C, 0x0800));          // spoofed source: dropped by the lock
    a.send(frame(B, A, 0x0800));          // fine
    a.send(arpRequest(A, [10, 0, 0, 1], [10, 0, 0, 2])); // ARP from A: accepted into b by the first rule
    c.send(arpRequest(C, [10, 0, 0, 3], [10, 0, 0, 2])); // ARP from C: dropped by b's second rule
    expect(got.map((f) => f[13])).toEqual([0x00, 0x06]);
    expect(a.stats.filtered).toBe(2);
    expect(sw.list()[1]!.stats.filtered).toBe(1);
  });
});

describe("NIC link", () => {
  class Nic implements NicReceiver {
    room = 2;
    readonly got: Uint8Array[] = [];
    canReceive(): boolean { return this.room > 0; }
    receive(f: Uint8Array): void { this.room--; this.got.push(f); }
  }

  it("queues frames while the NIC cannot take them and hands them over in order when it is ready", () => {
    const link = new NicLink("eth0");
    const nic = new Nic();
    link.attachNic(nic);
    const taps: string[] = [];
    link.addTap((f, dir) => taps.push(`${dir}:${f[14]}`));
    for (let i = 0; i < 5; i++) link.deliver(frame(A, B, 0x0800, [i]));
    expect(nic.got.map((f) => f[14])).toEqual([0, 1]);
    expect(link.queued).toBe(3);
    nic.room = 2;
    link.ready();
    expect(nic.got.map((f) => f[14])).toEqual([0, 1, 2, 3]);
    const sent: Uint8Array[] = [];
    link.attachBackend((f) => sent.push(f));
    link.transmit(frame(B, A, 0x0800, [9]));
    expect(sent.length).toBe(1);
    expect(taps).toEqual(["rx:0", "rx:1", "rx:2", "rx:3", "tx:9"]);
    expect(link.stats).toMatchObject({ rxFrames: 4, txFrames: 1, rxDropped: 0 });
  });

  it("drops the oldest frames beyond its queue", () => {
    const link = new NicLink("eth0");
    const nic = new Nic();
    nic.room = 0;
    link.attachNic(nic);
    for (let i = 0; i < LINK_QUEUE_FRAMES + 3; i++) link.deliver(frame(A, B, 0x0800, [i & 0xff, i >> 8]));
    expect(link.stats.rxDropped).toBe(3);
    nic.room = 1;
    link.ready();
    expect([nic.got[0]![14], nic.got[0]![15]]).toEqual([3, 0]);
  });

  it("for a recorded history: logs frames between runs as input and replies by their transmit; muted, replays them there and sends nothing", () => {
    const link = new NicLink("eth0");
    const nic = new Nic();
    nic.room = 100;
    link.attachNic(nic);
    const sent: number[] = [], taps: string[] = [];
    // A back end that answers each frame inside its transmit (as the user network answers ARP and pings).
    link.attachBackend((f) => { sent.push(f[14]!); link.deliver(frame(A, B, 0x0800, [f[14]! + 100])); });
    link.addTap((f, dir) => taps.push(`${dir}:${f[14]}`));
    const input: (() => void)[] = [];
    link.record((redeliver) => input.push(redeliver));
    link.deliver(frame(A, B, 0x0800, [1])); // between runs: host input
    const start = link.checkpoint();
    link.transmit(frame(B, A, 0x0800, [2])); // answered inside: a reply, not input
    link.deliver(frame(A, B, 0x0800, [3]));
    link.transmit(frame(B, A, 0x0800, [4]));
    expect(nic.got.map((f) => f[14])).toEqual([1, 102, 3, 104]);
    expect(input.length).toBe(2);
    expect(sent).toEqual([2, 4]);

    // The past again, from the checkpoint: the machine sends the same frames; the log gives what came, where it came.
    link.mute(true);
    link.restoreCheckpoint(start);
    nic.got.length = 0;
    link.transmit(frame(B, A, 0x0800, [2]));
    input[1]!();
    link.transmit(frame(B, A, 0x0800, [4]));
    link.mute(false);
    expect(nic.got.map((f) => f[14])).toEqual([102, 3, 104]);
    expect(sent).toEqual([2, 4]); // (nothing reached the back end)
    expect(taps).toEqual(["rx:1", "tx:2", "rx:102", "rx:3", "tx:4", "rx:104"]); // (nor the taps)
    expect(link.stats).toMatchObject({ txFrames: 2, rxFrames: 4 });

    // A new branch from the checkpoint: its transmit goes to the back end, and its reply replaces the old branch's.
    link.restoreCheckpoint(start);
    nic.got.length = 0;
    link.transmit(frame(B, A, 0x0800, [7]));
    link.mute(true);
    link.restoreCheckpoint(start);
    link.transmit(frame(B, A, 0x0800, [7]));
    link.mute(false);
    expect(nic.got.map((f) => f[14])).toEqual([107, 107]);
    expect(sent).toEqual([2, 4, 7]);

    // A checkpoint holds the frames that wait for the NIC.
    nic.room = 0;
    link.deliver(frame(A, B, 0x0800, [8]));
    const waiting = link.checkpoint();
    link.discardQueued();
    link.restoreCheckpoint(waiting);
    nic.room = 1;
    link.ready();
    expect(nic.got.at(-1)![14]).toBe(8);
  });
});

describe("large TCP packets (TSO packets passed whole, link.ts)", () => {
  /** An IPv4/TCP packet (RFC 791/793 headers, checksums left 0) of `payload` bytes from A to `dst`. */
  const big = (dst: number, payload: number) => {
    const total = 40 + payload;
    return frame(dst, A, 0x0800, [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
      0x9c, 0x40, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x01, 0xf5, 0, 0, 0, 0, ...Array.from({ length: payload }, (_, i) => i & 0xff)]);
  };
  class LargeNic implements NicReceiver {
    large = true;
    readonly got: [number, number][] = []; // [length, mss]
    canReceive(): boolean { return true; }
    receive(f: Uint8Array): void { this.got.push([f.length, 0]); }
    acceptsLargeTcp(): boolean { return this.large; }
    receiveLarge(f: Uint8Array, mss: number): void { this.got.push([f.length, mss]); }
  }

  it("cross the switch whole to a NIC that takes them, as the wire's segments to every other port and to taps", () => {
    const sw = new VirtualSwitch();
    const toB = new NicLink("b"), toC = new NicLink("c"), fromA = new NicLink("a");
    const b = new LargeNic(), c = new LargeNic();
    c.large = false; // its driver did not take the receive offload
    toB.attachNic(b); toC.attachNic(c); fromA.attachNic(new LargeNic());
    sw.connectLink(toB); sw.connectLink(toC); sw.connectLink(fromA);
    const plain: number[] = [], tapped: number[] = [];
    sw.connect({ name: "uplink" }, (f) => plain.push(f.length));
    sw.addTap((f) => tapped.push(f.length));
    fromA.transmitLarge(big(BROADCAST_MAC, 3000), 1448); // flooded: every port
    expect(b.got).toEqual([[3054, 1448]]);
    expect(c.got).toEqual([[1502, 0], [1502, 0], [158, 0]]);
    expect(plain).toEqual([1502, 1502, 158]);
    expect(tapped).toEqual([1502, 1502, 158]);
  });

  it("a link with a tap, or a back end without them, passes segments", () => {
    const link = new NicLink("eth0");
    const nic = new LargeNic();
    link.attachNic(nic);
    const sent: number[] = [];
    link.attachBackend((f) => sent.push(f.length)); // no large sender
    link.transmitLarge(big(B, 2000), 1000);
    expect(sent).toEqual([1054, 1054]);
    link.deliverLarge(big(A, 2000), 1000);
    expect(nic.got).toEqual([[2054, 1000]]);
    link.addTap(() => {});
    link.deliverLarge(big(A, 2000), 1000);
    expect(nic.got.slice(1)).toEqual([[1054, 0], [1054, 0]]);
  });
});

const tcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
const requireTools = !!process.env.SYMBIONT_REQUIRE_IMAGES;

describe("pcap capture", () => {
  it.runIf(tcpdump || requireTools)("is read back by tcpdump with the frames, addresses and times written", () => {
    expect(tcpdump).toBe(true);
    const chunks: Uint8Array[] = [];
    let t = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z in ns
    const w = new PcapWriter((b) => chunks.push(b.slice()), { timeNs: () => t });
    w.write(arpRequest(A, [10, 0, 0, 1], [10, 0, 0, 2]));
    t += 1_500_250_000; // +1.50025 s
    w.write(udp(B, A, [10, 0, 0, 1], [10, 0, 0, 2], 40000, 7, [104, 105]));
    const dir = mkdtempSync(join(tmpdir(), "symbiont-pcap-"));
    try {
      const path = join(dir, "cap.pcap");
      writeFileSync(path, Buffer.concat(chunks));
      const r = spawnSync("tcpdump", ["-r", path, "-n", "-e", "-tt", "-v"], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^1767225600\.000000 52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, ethertype ARP \(0x0806\), length 60: .*Request who-has 10\.0\.0\.2 tell 10\.0\.0\.1/);
      expect(r.stdout).toMatch(/1767225601\.500250 52:54:00:12:34:56 > 52:54:00:12:34:57, ethertype IPv4 \(0x0800\), length 60:/);
      expect(r.stdout).toMatch(/10\.0\.0\.1\.40000 > 10\.0\.0\.2\.7: UDP, length 2/);
      expect(r.stdout).not.toMatch(/bad cksum/);
      expect(w.frames).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("QEMU stream framing", () => {
  it("prefixes the big-endian length and reassembles frames from any split", () => {
    const frames = [frame(A, B, 0x0800, [1, 2, 3]), new Uint8Array(9000).map((_, i) => i & 0xff), frame(B, A, 0x0806)];
    const wire = Buffer.concat(frames.map(encodeStreamFrame));
    expect([...wire.subarray(0, 4)]).toEqual([0, 0, 0, 60]);
    for (const step of [1, 3, 7, 1000, wire.length]) {
      const dec = new StreamFrameDecoder();
      const out: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += step) dec.push(wire.subarray(i, i + step), (f) => out.push(f));
      expect(out).toEqual(frames);
    }
  });

  it("refuses a length beyond QEMU's buffer", () => {
    const dec = new StreamFrameDecoder();
    const bad = new Uint8Array(4);
    new DataView(bad.buffer).setUint32(0, STREAM_MAX_FRAME + 1, false);
    expect(() => dec.push(bad, () => {})).toThrow(/frame length/);
  });
});

describe("socket back end (--net socket:…)", () => {
  it("parses endpoints and refuses bad ones with one line", () => {
    expect(parseSocketEndpoint("listen=:5555")).toEqual({ mode: "listen", host: "0.0.0.0", port: 5555 });
    expect(parseSocketEndpoint("listen=127.0.0.1:5555")).toEqual({ mode: "listen", host: "127.0.0.1", port: 5555 });
    expect(parseSocketEndpoint("connect=10.1.2.3:80")).toEqual({ mode: "connect", host: "10.1.2.3", port: 80 });
    expect(parseSocketEndpoint("localhost:1234")).toEqual({ mode: "connect", host: "localhost", port: 1234 });
    expect(parseSocketEndpoint("listen:5555")).toEqual({ mode: "listen", host: "0.0.0.0", port: 5555 });
    expect(parseSocketEndpoint("listen:127.0.0.1:5555")).toEqual({ mode: "listen", host: "127.0.0.1", port: 5555 });
    expect(() => parseSocketEndpoint("localhost")).toThrow(/expected HOST:PORT, listen:PORT/);
    expect(() => parseSocketEndpoint("listen:12ab")).toThrow(/port 1-65535/);
    expect(() => parseSocketEndpoint(":99999")).toThrow(/port 1-65535/);
  });

  it("carries frames both ways between a listening and a connecting end", async () => {
    const server = await SocketNetBackend.open({ mode: "listen", host: "127.0.0.1", port: 0 });
    const atServer: Uint8Array[] = [];
    server.onFrame = (f) => atServer.push(f);
    const client = await SocketNetBackend.open({ mode: "connect", host: "127.0.0.1", port: server.port });
    const atClient: Uint8Array[] = [];
    client.onFrame = (f) => atClient.push(f);
    try {
      const big = new Uint8Array(60000).map((_, i) => (i * 7) & 0xff);
      client.send(frame(A, B, 0x0800, [1]));
      client.send(big);
      await until(() => atServer.length === 2 && server.connected);
      server.send(frame(B, A, 0x0800, [2]));
      await until(() => atClient.length === 1);
      expect(atServer[0]![14]).toBe(1);
      expect(atServer[1]).toEqual(big);
      expect(atClient[0]![14]).toBe(2);
      await expect(SocketNetBackend.open({ mode: "connect", host: "127.0.0.1", port: 1 })).rejects.toThrow(/cannot connect to 127\.0\.0\.1:1: ECONNREFUSED/);
    } finally {
      client.close();
      server.close();
    }
  });
});

describe("a switch port in a worker thread", () => {
  it("carries frames to a NIC in a worker and back (tests/net/echo-worker.mjs)", async () => {
    const sw = new VirtualSwitch();
    const got: Uint8Array[] = [];
    const local = sw.connect({ name: "local" }, (f) => got.push(f));
    const { port1, port2 } = new MessageChannel();
    connectPortToSwitch(sw, port1 as unknown as Parameters<typeof connectPortToSwitch>[1], { name: "worker" });
    const w = new Worker(new URL("../net/echo-worker.mjs", import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
    try {
      await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
      const f = frame(B, A, 0x0800, [1, 2, 3]);
      local.send(f);
      await until(() => got.length === 1);
      expect(got[0]!.subarray(0, 12)).toEqual(Uint8Array.from([...macBytes(A), ...macBytes(B)]));
      expect(got[0]!.subarray(12)).toEqual(f.subarray(12));
      expect(sw.lookup(B)?.name).toBe("worker"); // learned from the worker's reply
    } finally {
      port1.close();
      await w.terminate();
    }
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}
