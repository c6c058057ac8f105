/**
 * virtio-net on the virtio PCI transport, driven from the test as Linux's
 * virtio_net drives it (modern interface in BAR1, legacy in BAR0), on both
 * engines' VMs, with a {@link NicLink} as the wire. Expected values come from
 * the Virtio 1.2 specification: the transitional PCI IDs (§4.1.2.3: device
 * 0x1000, subsystem 1), the configuration layout mac[6] + le16 status with
 * VIRTIO_NET_S_LINK_UP (§5.1.4), the feature bits MAC = 5 and STATUS = 16
 * (§5.1.3), the header of §5.1.6 (12 bytes with VERSION_1, num_buffers = 1
 * on receive without MRG_RXBUF; 10 bytes for a legacy driver), and
 * DEVICE_NEEDS_RESET for a broken ring (§2.1.2); the transmit offloads of
 * §5.1.6.2 (CSUM = 0, HOST_TSO4 = 11; gso_type TCPV4 = 1, UDP = 3) — what the
 * segments and checksums must be is tests/unit/net-offload.test.ts's.
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { VirtioNet } from "../../src/devices/virtio/net.js";
import { NicLink } from "../../src/net/link.js";
import { ENGINES, barAccess } from "../helpers.js";
import type { EngineKind } from "../../src/engine/engine.js";

const RAM = 16 << 20;
const QSIZE = 8;
/** Queue q's descriptor table, available and used rings. */
const ring = (q: number) => ({ desc: 0x100000 + q * 0x4000, avail: 0x101000 + q * 0x4000, used: 0x102000 + q * 0x4000 });
const BUF = 0x200000;
const F_CSUM = 0, F_GUEST_CSUM = 1, F_MAC = 5, F_GUEST_TSO4 = 7, F_HOST_TSO4 = 11, F_MRG_RXBUF = 15, F_STATUS = 16, F_VERSION_1 = 32;
const RX_OFFLOADS = (1 << F_GUEST_CSUM) | (1 << F_GUEST_TSO4) | (1 << F_MRG_RXBUF);
const NEXT = 1, WRITE = 2;
const MAC = 0x525400abcdef;

/** A frame of `n` bytes: to MAC, from 52:54:00:00:00:01, EtherType 0x0800, then counting bytes. */
function frame(n: number): Uint8Array {
  const f = Uint8Array.from({ length: n }, (_, i) => (i * 13 + 7) & 0xff);
  f.set([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00]);
  return f;
}

/** An IPv4/TCP packet from 10.0.0.1:40000 to 10.0.0.2:5001 with `payload` counting bytes (headers 14 + 20 + 20). */
function tcpPacket(payload: number): Uint8Array {
  const f = frame(54 + payload);
  const total = 40 + payload;
  f.set([0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x9c, 0x40, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x01, 0xf5, 0, 0, 0, 0], 34);
  return f;
}

/** RFC 1071's checksum of `b` (0 over a header whose checksum is right). */
function rfc1071(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

async function machine(engine: EngineKind, offloads = true) {
  const pc = new Pc({ engine: await createEngine(engine, RAM), ramBytes: RAM, onSerial: () => {} });
  const link = new NicLink("test");
  const sent: Uint8Array[] = [];
  link.attachBackend((f) => sent.push(f));
  const net = pc.addVirtio(new VirtioNet(MAC, link, { offloads }));
  const t = pc.virtio.at(-1)!;
  const m = pc.vm.memory;
  const { mmio, io } = barAccess(pc, t.pci);
  const availIdx = [0, 0];
  /** Linux's modern probe: reset, ACK, DRIVER, features (MAC, STATUS and `more`), FEATURES_OK, both queues, DRIVER_OK. */
  const init = (more = 0) => {
    mmio.w(0x14, 1, 0);
    mmio.w(0x14, 1, 1); mmio.w(0x14, 1, 3);
    mmio.w(0x08, 4, 0); mmio.w(0x0c, 4, (1 << F_MAC) | (1 << F_STATUS) | more);
    mmio.w(0x08, 4, 1); mmio.w(0x0c, 4, 1 << (F_VERSION_1 - 32));
    mmio.w(0x14, 1, 0x0b);
    m.fill(0x100000, 0x8000, 0);
    for (const q of [0, 1]) {
      const r = ring(q);
      mmio.w(0x16, 2, q); mmio.w(0x18, 2, QSIZE);
      mmio.w(0x20, 4, r.desc); mmio.w(0x24, 4, 0);
      mmio.w(0x28, 4, r.avail); mmio.w(0x2c, 4, 0);
      mmio.w(0x30, 4, r.used); mmio.w(0x34, 4, 0);
      mmio.w(0x1c, 2, 1);
    }
    mmio.w(0x14, 1, 0x0f);
  };
  const desc = (q: number, i: number, addr: number, len: number, flags: number, next = 0) => {
    const d = ring(q).desc + 16 * i;
    m.writeU32(d, addr); m.writeU32(d + 4, 0); m.writeU32(d + 8, len); m.writeU16(d + 12, flags); m.writeU16(d + 14, next);
  };
  /** Make chain `head` available on queue q and notify. */
  const offer = (q: number, head: number, notify = (n: number) => mmio.w(0x3000 + 4 * n, 2, n)) => {
    const r = ring(q);
    m.writeU16(r.avail + 4 + 2 * (availIdx[q]! % QSIZE), head);
    availIdx[q] = (availIdx[q]! + 1) & 0xffff;
    m.writeU16(r.avail + 2, availIdx[q]!);
    notify(q);
  };
  const used = (q: number, k: number) => ({ idx: m.readU16(ring(q).used + 2), id: m.readU32(ring(q).used + 4 + 8 * k), len: m.readU32(ring(q).used + 8 + 8 * k) });
  return { pc, t, net, link, sent, m, mmio, io, init, desc, offer, used };
}

describe.each(ENGINES)("virtio-net over PCI (%s engine)", (engine) => {
  it("is a transitional network function with its address and link status in the configuration space", async () => {
    const d = await machine(engine);
    expect(d.t.pci.get(0, 2)).toBe(0x1af4);
    expect(d.t.pci.get(2, 2)).toBe(0x1000);
    expect(d.t.pci.get(0x2e, 2)).toBe(1);
    expect(d.t.pci.get(0x08, 4) >>> 8).toBe(0x020000); // class: Ethernet controller
    d.mmio.w(0x00, 4, 0);
    const offered = d.mmio.r(0x04, 4);
    expect(offered & (1 << F_MAC)).not.toBe(0);
    expect(offered & (1 << F_STATUS)).not.toBe(0);
    expect([0, 1, 2, 3, 4, 5].map((i) => d.mmio.r(0x2000 + i, 1))).toEqual([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    expect(d.mmio.r(0x2006, 2)).toBe(1); // VIRTIO_NET_S_LINK_UP
  });

  it("offers checksum and TCPv4 segmentation offloads (CSUM, HOST_TSO4), none with offloads: false", async () => {
    for (const offloads of [true, false]) {
      const d = await machine(engine, offloads);
      d.mmio.w(0x00, 4, 0);
      expect(d.mmio.r(0x04, 4) & ((1 << F_CSUM) | (1 << F_HOST_TSO4))).toBe(offloads ? (1 << F_CSUM) | (1 << F_HOST_TSO4) : 0);
    }
  });

  it("offers the receive offloads GUEST_CSUM, GUEST_TSO4 and MRG_RXBUF, none with offloads: false", async () => {
    for (const offloads of [true, false]) {
      const d = await machine(engine, offloads);
      d.mmio.w(0x00, 4, 0);
      expect(d.mmio.r(0x04, 4) & RX_OFFLOADS).toBe(offloads ? RX_OFFLOADS : 0);
    }
  });

  it("with the receive offloads, a large TCP packet arrives whole over mergeable buffers: GSO_TCPV4, NEEDS_CSUM, num_buffers (§5.1.6.3-4)", async () => {
    const d = await machine(engine);
    d.init(RX_OFFLOADS);
    for (const i of [0, 1, 2]) { d.desc(0, i, BUF + i * 0x1000, 1536, WRITE); d.offer(0, i); }
    d.link.deliverLarge(tcpPacket(3000), 1448);
    // 12 + 3 054 bytes: two 1 536-byte buffers, the second one not full.
    expect([d.used(0, 0), d.used(0, 1)]).toEqual([{ idx: 2, id: 0, len: 1536 }, { idx: 2, id: 1, len: 3066 - 1536 }]);
    const hdr = d.m.read(BUF, 12);
    // flags NEEDS_CSUM, gso_type TCPV4, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16, num_buffers 2.
    expect([...hdr]).toEqual([1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 2, 0]);
    const got = new Uint8Array([...d.m.read(BUF + 12, 1536 - 12), ...d.m.read(BUF + 0x1000, 3066 - 1536)]);
    const want = tcpPacket(3000);
    expect(got.subarray(54)).toEqual(want.subarray(54)); // the payload, whole
    expect(rfc1071(got.subarray(14, 34))).toBe(0); // a valid IPv4 header checksum
    // The TCP checksum field holds the pseudo-header's folded sum (CHECKSUM_PARTIAL): 10.0.0.1, 10.0.0.2, TCP, 3 020 bytes.
    let pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 3020;
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
    expect((got[50]! << 8) | got[51]!).toBe(pseudo);
    expect(d.net.stats).toMatchObject({ rxFrames: 1, rxLarge: 1, rxLargeBuffers: 2, rxTruncated: 0 });
  });

  it("without the receive offloads a large TCP packet arrives as the wire's segments, one buffer each", async () => {
    const d = await machine(engine);
    d.init(); // VERSION_1 only
    for (const i of [0, 1, 2]) { d.desc(0, i, BUF + i * 0x1000, 12 + 1518, WRITE); d.offer(0, i); }
    d.link.deliverLarge(tcpPacket(3000), 1448);
    expect([0, 1, 2].map((k) => d.used(0, k).len)).toEqual([12 + 1502, 12 + 1502, 12 + 158]);
    expect([...d.m.read(BUF, 12)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(d.net.stats).toMatchObject({ rxFrames: 3, rxLarge: 0 });
  });

  it("a TCPV4 GSO packet leaves as MSS-sized segments; a GSO type not offered is dropped and counted", async () => {
    const d = await machine(engine);
    d.init();
    // 14 + 20 + 20 header bytes and 3 000 payload bytes: IPv4, TCP, ACK.
    const f = frame(3054);
    f.set([0x45, 0, 0x0b, 0xe0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    f.set([0x9c, 0x40, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x01, 0xf5, 0, 0, 0, 0], 34);
    const hdr = (gsoType: number) => new Uint8Array([1, gsoType, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0]); // NEEDS_CSUM, hdr_len 54, gso_size 1448, csum at 34 + 16
    d.m.write(BUF, hdr(1));
    d.m.write(BUF + 0x100, f);
    d.desc(1, 0, BUF, 12, NEXT, 1);
    d.desc(1, 1, BUF + 0x100, f.length, 0);
    d.offer(1, 0);
    expect(d.sent.map((s) => s.length)).toEqual([1502, 1502, 158]);          // 1 448 + 1 448 + 104 payload bytes
    expect(d.sent.map((s) => (s[38]! << 24 | s[39]! << 16 | s[40]! << 8 | s[41]!) >>> 0)).toEqual([1, 1449, 2897]);
    expect(d.net.stats).toMatchObject({ txFrames: 3, txSegmented: 1, txDropped: 0 });
    d.m.write(BUF, hdr(3)); // VIRTIO_NET_HDR_GSO_UDP: not offered
    d.offer(1, 0);
    expect(d.sent.length).toBe(3);
    expect(d.net.stats).toMatchObject({ txFrames: 3, txDropped: 1 });
    expect(d.used(1, 1)).toEqual({ idx: 2, id: 0, len: 0 });                 // the buffer still goes back
  });

  it("transmits the frame after the 12-byte header, gathered from several buffers", async () => {
    const d = await machine(engine);
    d.init();
    const f = frame(100);
    d.m.write(BUF, new Uint8Array(12)); // header: nothing asked
    d.m.write(BUF + 0x100, f.subarray(0, 40));
    d.m.write(BUF + 0x200, f.subarray(40));
    d.desc(1, 0, BUF, 12, NEXT, 1);
    d.desc(1, 1, BUF + 0x100, 40, NEXT, 2);
    d.desc(1, 2, BUF + 0x200, 60, 0);
    d.offer(1, 0);
    expect(d.sent).toEqual([f]);
    expect(d.used(1, 0)).toEqual({ idx: 1, id: 0, len: 0 });
    expect(d.net.stats.txFrames).toBe(1);
  });

  it("receives into posted buffers with num_buffers = 1, and holds frames in the link while none are posted", async () => {
    const d = await machine(engine);
    d.init();
    const a = frame(60), b = frame(1514);
    d.link.deliver(a); // no receive buffer yet: the link keeps it
    expect(d.link.queued).toBe(1);
    for (const i of [0, 1]) d.desc(0, i, BUF + i * 0x1000, 12 + 1518, WRITE);
    d.offer(0, 0); // the driver's notification hands the waiting frame over
    expect(d.link.queued).toBe(0);
    expect(d.used(0, 0)).toEqual({ idx: 1, id: 0, len: 12 + 60 });
    const hdr = d.m.read(BUF, 12);
    expect([...hdr]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(d.m.read(BUF + 12, 60)).toEqual(a);
    d.offer(0, 1, () => {}); // posted without a notification (EVENT_IDX may suppress it): found on arrival
    d.link.deliver(b);
    expect(d.used(0, 1)).toEqual({ idx: 2, id: 1, len: 12 + 1514 });
    expect(d.m.read(BUF + 0x1000 + 12, 1514)).toEqual(b);
    expect(d.mmio.r(0x1000, 1) & 1).toBe(1); // ISR: used buffers
    expect(d.net.stats).toMatchObject({ rxFrames: 2, rxTruncated: 0 });
  });

  it("cuts a frame to a buffer too small for it and counts it", async () => {
    const d = await machine(engine);
    d.init();
    d.desc(0, 0, BUF, 12 + 100, WRITE);
    d.offer(0, 0);
    d.link.deliver(frame(300));
    expect(d.used(0, 0).len).toBe(112);
    expect(d.m.read(BUF + 12, 100)).toEqual(frame(300).subarray(0, 100));
    expect(d.net.stats.rxTruncated).toBe(1);
  });

  it("goes to DEVICE_NEEDS_RESET when an arriving frame meets a broken receive chain, and stays quiet until reset", async () => {
    const d = await machine(engine);
    d.init();
    d.desc(0, 0, RAM + 0x1000, 1530, WRITE); // beyond RAM
    d.offer(0, 0);
    expect(() => d.link.deliver(frame(64))).not.toThrow();
    expect(d.t.deviceStatus & 0x40).toBe(0x40);
    expect(d.pc.deviceErrors).toHaveLength(1);
    expect(d.pc.deviceErrors[0]).toMatch(/virtio-net: device needs reset: .*not in RAM/);
    expect(d.mmio.r(0x1000, 1) & 2).toBe(2); // configuration interrupt
    d.link.deliver(frame(64)); // waits in the link: the device takes nothing now
    expect(d.pc.deviceErrors).toHaveLength(1);
    expect(d.link.queued).toBe(1);
    // The driver resets and starts again: the device works, and the waiting frame arrives.
    d.init();
    expect(d.t.deviceStatus & 0x40).toBe(0);
    d.desc(0, 0, BUF, 1530, WRITE);
    d.offer(0, 0);
    expect(d.used(0, 0)).toEqual({ idx: 1, id: 0, len: 12 + 64 });
  });

  it("uses the 10-byte header with a legacy driver (BAR0)", async () => {
    const d = await machine(engine);
    d.io.w(0x12, 1, 0);
    d.io.w(0x12, 1, 3);
    expect([0, 1, 2, 3, 4, 5].map((i) => d.io.r(0x14 + i, 1))).toEqual([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    d.io.w(0x04, 4, (1 << F_MAC) | (1 << F_STATUS));
    // Legacy rings: one page-aligned area per queue, used ring on the next page (maximum queue size 256).
    const area = [0x300000, 0x310000];
    for (const q of [0, 1]) { d.m.fill(area[q]!, 0x4000, 0); d.io.w(0x0e, 2, q); d.io.w(0x08, 4, area[q]! / 4096); }
    d.io.w(0x12, 1, 7);
    const n = 256, avail = (q: number) => area[q]! + 16 * n, usedRing = (q: number) => Math.ceil((avail(q) + 6 + 2 * n) / 4096) * 4096;
    const post = (q: number, addr: number, len: number, flags: number) => {
      d.m.writeU32(area[q]!, addr); d.m.writeU32(area[q]! + 8, len); d.m.writeU16(area[q]! + 12, flags);
      d.m.writeU16(avail(q) + 4, 0); d.m.writeU16(avail(q) + 2, 1);
      d.io.w(0x10, 2, q);
    };
    post(0, BUF, 10 + 1518, WRITE);
    d.link.deliver(frame(80));
    expect(d.m.readU32(usedRing(0) + 8)).toBe(10 + 80);
    expect(d.m.read(BUF + 10, 80)).toEqual(frame(80));
    d.m.write(BUF + 0x2000, new Uint8Array(10));
    d.m.write(BUF + 0x200a, frame(70));
    post(1, BUF + 0x2000, 80, 0);
    expect(d.sent).toEqual([frame(70)]);
  });
});
