/**
 * The NE2000 (DP8390 + RTL8029AS port decoding) driven through its ports the
 * way Linux's ne2k-pci and 8390 drivers drive it (drivers/net/ethernet/8390/
 * ne2k-pci.c: probe, SAPROM read, block_input/block_output/get_8390_hdr;
 * lib8390.c: NS8390_init, ei_receive, NS8390_trigger_send). The expected
 * values are the datasheet's (DP8390D: register pages, ring header, remote
 * DMA wrap at PSTOP) and the drivers' own consistency checks (ei_receive's
 * next-page check), not the model's output. The Linux transfer tests drive
 * the card with the real driver.
 */
import { describe, it, expect } from "vitest";
import { Dp8390, multicastHashIndex, ISR_PRX, ISR_PTX, ISR_RDC, ISR_RST } from "../../src/devices/ne2k/dp8390.js";
import { Ne2000Ports } from "../../src/devices/ne2k/ne2k-pci.js";
import { NicLink } from "../../src/net/link.js";
import { parseMac, macBytes, BROADCAST_MAC } from "../../src/net/ethernet.js";
import { VirtualClock } from "../../src/vmm/clock.js";
import { decodeSnapshot, encodeSnapshot, type State } from "../../src/vmm/snapshot.js";

const MAC = parseMac("52:54:00:12:34:56");
const OTHER = parseMac("52:54:00:ab:cd:ef");
// Linux's constants (8390.h, ne2k-pci.c).
const CMD = 0x00, STARTPG = 0x01, STOPPG = 0x02, BOUNDARY = 0x03, TPSR = 0x04, TCNTLO = 0x05, TCNTHI = 0x06, ISR = 0x07;
const RSARLO = 0x08, RSARHI = 0x09, RCNTLO = 0x0a, RCNTHI = 0x0b, RXCR = 0x0c, TXCR = 0x0d, DCFG = 0x0e, IMR = 0x0f;
const CURPAG = 0x07, DATAPORT = 0x10, RESET = 0x1f;
const STOP = 0x01, START = 0x02, TRANS = 0x04, RREAD = 0x08, RWRITE = 0x10, NODMA = 0x20, PAGE1 = 0x40;
const TX_START = 0x40, RX_START = 0x4c, STOP_PG = 0x80;

/** Linux's ne2k-pci + 8390 driver, reduced to its port accesses. */
class Driver {
  readonly sent: Uint8Array[] = [];
  irq = false;
  readonly link = new NicLink("eth0");
  readonly chip: Dp8390;
  readonly io: Ne2000Ports;
  current = RX_START;

  constructor(mac = MAC) {
    this.chip = new Dp8390({ mac, transmit: (f) => this.link.transmit(f), setIrq: (l) => { this.irq = l; }, onReceiveReady: () => this.link.ready() });
    this.link.attachNic(this.chip);
    this.link.attachBackend((f) => this.sent.push(f));
    this.io = new Ne2000Ports(this.chip);
  }
  outb(v: number, off: number) { this.io.write(off, 1, v); }
  inb(off: number) { return this.io.read(off, 1); }

  /** ne2k_pci_init_one: reset, then read the station address PROM in word mode. */
  probe(): Uint8Array {
    this.outb(this.inb(RESET), RESET);
    expect(this.inb(ISR) & 0x80).toBe(0x80);
    this.outb(0xff, ISR);
    for (const [v, o] of [[NODMA + STOP, CMD], [0x49, DCFG], [0, RCNTLO], [0, RCNTHI], [0, IMR], [0xff, ISR], [0x20, RXCR], [0x02, TXCR],
      [32, RCNTLO], [0, RCNTHI], [0, RSARLO], [0, RSARHI], [RREAD + START, CMD]] as const) this.outb(v, o);
    const prom = new Uint8Array(32);
    for (let i = 0; i < 32; i++) prom[i] = this.inb(DATAPORT);
    return prom;
  }

  /** NS8390_init(dev, 1) with the station address. */
  init(mac = MAC): void {
    this.outb(NODMA + STOP, CMD);
    this.outb(0x49, DCFG);
    this.outb(0, RCNTLO); this.outb(0, RCNTHI);
    this.outb(0x20, RXCR); this.outb(0x02, TXCR);
    this.outb(TX_START, TPSR);
    this.outb(RX_START, STARTPG);
    this.outb(STOP_PG - 1, BOUNDARY);
    this.current = RX_START;
    this.outb(STOP_PG, STOPPG);
    this.outb(0xff, ISR); this.outb(0, IMR);
    this.outb(NODMA + PAGE1 + STOP, CMD);
    macBytes(mac).forEach((b, i) => this.outb(b, 1 + i));
    this.outb(RX_START, CURPAG);
    this.outb(NODMA + STOP, CMD);
    this.outb(0xff, ISR); this.outb(0x3f, IMR);
    this.outb(NODMA + START, CMD);
    this.outb(0x00, TXCR);
    this.outb(0x04, RXCR); // E8390_RXCONFIG: accept broadcast
  }

  /** ne2k_pci_block_output + NS8390_trigger_send, 32-bit data-port accesses. */
  send(frame: Uint8Array): void {
    const count = (frame.length + 3) & ~3;
    const buf = new Uint8Array(count);
    buf.set(frame);
    this.outb(NODMA + START, CMD);
    this.outb(ISR_RDC, ISR);
    this.outb(count & 0xff, RCNTLO); this.outb(count >> 8, RCNTHI);
    this.outb(0, RSARLO); this.outb(TX_START, RSARHI);
    this.outb(RWRITE + START, CMD);
    const dv = new DataView(buf.buffer);
    for (let i = 0; i < count; i += 4) this.io.write(DATAPORT, 4, dv.getUint32(i, true));
    expect(this.inb(ISR) & ISR_RDC).toBe(ISR_RDC);
    this.outb(ISR_RDC, ISR);
    this.outb(NODMA, CMD);
    expect(this.inb(CMD) & TRANS).toBe(0);
    this.outb(frame.length & 0xff, TCNTLO); this.outb(frame.length >> 8, TCNTHI);
    this.outb(TX_START, TPSR);
    this.outb(NODMA + TRANS + START, CMD);
  }

  /** A remote read of `count` bytes from `addr` through 32-bit data-port reads (block_input). */
  remoteRead(addr: number, count: number): Uint8Array {
    const c4 = (count + 3) & ~3;
    this.outb(NODMA + START, CMD);
    this.outb(c4 & 0xff, RCNTLO); this.outb(c4 >> 8, RCNTHI);
    this.outb(addr & 0xff, RSARLO); this.outb(addr >> 8, RSARHI);
    this.outb(RREAD + START, CMD);
    const out = new Uint8Array(c4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < c4; i += 4) dv.setUint32(i, this.io.read(DATAPORT, 4), true);
    this.outb(ISR_RDC, ISR);
    return out.subarray(0, count);
  }

  /** lib8390 ei_receive: the frames between BNRY+1 and CURR (at most 9, as Linux), with the driver's header checks; then PRX acknowledged. */
  receiveAll(max = Infinity): Uint8Array[] {
    const frames: Uint8Array[] = [];
    while (frames.length < max) {
      this.outb(NODMA + PAGE1, CMD);
      const rxing = this.inb(CURPAG);
      this.outb(NODMA, CMD);
      let thisFrame = this.inb(BOUNDARY) + 1;
      if (thisFrame >= STOP_PG) thisFrame = RX_START;
      expect(thisFrame).toBe(this.current);
      if (thisFrame === rxing) break;
      const hdr = this.remoteRead(thisFrame << 8, 4);
      const count = hdr[2]! | (hdr[3]! << 8);
      const len = count - 4;
      const next = thisFrame + 1 + ((len + 4) >> 8);
      const ring = STOP_PG - RX_START;
      expect([next, next + 1, next - ring, next + 1 - ring]).toContain(hdr[1]);
      expect(hdr[0]! & 0x0f).toBe(0x01); // ENRSR_RXOK
      frames.push(this.remoteRead((thisFrame << 8) + 4, len));
      this.current = hdr[1]!;
      this.outb(hdr[1]! - 1, BOUNDARY);
    }
    this.outb(ISR_PRX, ISR);
    return frames;
  }
}

function frameTo(dst: number, n: number, len = 100): Uint8Array {
  const f = new Uint8Array(len);
  f.set(macBytes(dst), 0);
  f.set(macBytes(OTHER), 6);
  f[12] = 0x08; f[13] = 0x00;
  for (let i = 14; i < len; i++) f[i] = (n * 31 + i) & 0xff;
  return f;
}

describe("NE2000 (DP8390, RTL8029AS) driven as Linux drives it", () => {
  it("is found by the probe: 8390 signature, reset acknowledge, station address PROM with the NE2000 'WW'", () => {
    const d = new Driver();
    // ne2k_pci_init_one's 8390 check: page 1 reg 0x0d written, page 0 CNTR0 reads 0 after a clearing read.
    d.outb(NODMA + PAGE1 + STOP, CMD); d.inb(0x0d); d.outb(0xff, 0x0d); d.outb(NODMA, CMD); d.inb(0x0d);
    expect(d.inb(0x0d)).toBe(0);
    const prom = d.probe();
    // Word mode (DCR 0x49): each byte read is one word transfer of the doubled PROM, so the driver
    // sees the 16 PROM bytes once each; the 32-byte count ends the DMA after 16 words.
    expect([...prom.subarray(0, 6)]).toEqual([...macBytes(MAC)]);
    expect([...prom.subarray(14, 16)]).toEqual([0x57, 0x57]);
    expect([...prom.subarray(16)]).toEqual(new Array(16).fill(0xff));
    expect([d.inb(0x0a), d.inb(0x0b)]).toEqual([0x50, 0x43]); // RTL8029AS ID (page 0)
  });

  it("transmits a frame written through remote DMA, with PTX and the interrupt", () => {
    const d = new Driver();
    d.probe();
    d.init();
    const f = frameTo(OTHER, 1, 99);
    d.send(f);
    expect(d.sent).toEqual([f]);
    expect(d.inb(0x04) & 0x01).toBe(0x01); // TSR PTX
    expect(d.inb(ISR) & ISR_PTX).toBe(ISR_PTX);
    expect(d.irq).toBe(true);
    d.outb(ISR_PTX, ISR);
    expect(d.irq).toBe(false);
  });

  it("with a clock, transmits for the frame's time on a 10 Mbit/s wire: TXP stays set, then the frame and PTX", () => {
    const timers: { at: number; cb: () => void }[] = [];
    let now = 1000;
    const clock = { nowNs: () => now, schedule: (at: number, cb: () => void) => { timers.push({ at, cb }); return { atNs: at, seq: timers.length }; }, saveTimer: () => null, restoreTimer: () => null };
    const sent: Uint8Array[] = [];
    let irq = false;
    const chip = new Dp8390({ mac: MAC, clock, transmit: (f) => sent.push(f), setIrq: (l) => { irq = l; } });
    const io = new Ne2000Ports(chip);
    io.write(CMD, 1, NODMA + START); io.write(IMR, 1, 0x3f);
    io.write(TPSR, 1, TX_START); io.write(TCNTLO, 1, 100); io.write(TCNTHI, 1, 0);
    io.write(CMD, 1, NODMA + TRANS + START);
    expect(io.read(CMD, 1) & TRANS).toBe(TRANS);
    expect(sent.length).toBe(0);
    // (100 + 8 preamble + 4 FCS + 12 gap) bytes × 8 bits × 100 ns
    expect(timers.map((t) => t.at)).toEqual([1000 + 124 * 800]);
    io.write(CMD, 1, NODMA + START); // TXP cannot be cleared by writing
    expect(io.read(CMD, 1) & TRANS).toBe(TRANS);
    now = timers[0]!.at;
    timers[0]!.cb();
    expect(sent.length).toBe(1);
    expect(io.read(CMD, 1) & TRANS).toBe(0);
    expect(io.read(ISR, 1) & ISR_PTX).toBe(ISR_PTX);
    expect(irq).toBe(true);
  });

  it("in a snapshot taken mid-transmission: a new chip on a new clock sends the frame at the same time, with PTX and the pin", () => {
    /** A chip on a deterministic clock (1 ns an instruction), transmitting 100 bytes from TX_START. */
    const machine = () => {
      const clock = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
      const m = { clock, sent: [] as { at: number; frame: Uint8Array }[], irq: false, chip: null as unknown as Dp8390 };
      m.chip = new Dp8390({ mac: MAC, clock, transmit: (f) => m.sent.push({ at: clock.nowNs(), frame: f }), setIrq: (l) => { m.irq = l; } });
      return m;
    };
    const a = machine(), io = new Ne2000Ports(a.chip);
    io.write(CMD, 1, NODMA + START); io.write(IMR, 1, 0x3f); io.write(ISR, 1, 0xff);
    const frame = frameTo(OTHER, 3, 100);
    io.write(RCNTLO, 1, frame.length); io.write(RCNTHI, 1, 0); io.write(RSARLO, 1, 0); io.write(RSARHI, 1, TX_START);
    io.write(CMD, 1, RWRITE + START);
    for (const b of frame) io.write(DATAPORT, 1, b);
    io.write(ISR, 1, ISR_RDC);
    io.write(TPSR, 1, TX_START); io.write(TCNTLO, 1, frame.length); io.write(TCNTHI, 1, 0);
    a.clock.advanceTo(1000);
    io.write(CMD, 1, NODMA + TRANS + START);
    a.clock.advanceTo(20_000); // (the frame's 124 bytes take 99 200 ns)
    a.clock.runDue();
    expect(a.sent).toEqual([]);
    // Saved on the way through the file format, restored into a chip on a clock that starts where this one was.
    const saved = decodeSnapshot(encodeSnapshot({ chip: a.chip.save(), clock: a.clock.save() }));
    const b = machine();
    b.clock.restore(saved.clock as State);
    b.chip.restore(saved.chip as State);
    expect(new Ne2000Ports(b.chip).read(CMD, 1) & TRANS).toBe(TRANS); // still on the wire
    for (const m of [a, b]) {
      m.clock.advanceTo(1000 + 124 * 800 - 1);
      m.clock.runDue();
      expect(m.sent).toEqual([]);
      m.clock.advanceTo(1000 + 124 * 800);
      m.clock.runDue();
      expect(m.sent).toEqual([{ at: 1000 + 124 * 800, frame }]);
      expect(m.chip.state.isr & ISR_PTX).toBe(ISR_PTX);
      expect(m.irq).toBe(true);
    }
  });

  it("receives frames into the ring (headers Linux accepts), wrapping at PSTOP, holding frames back while the ring is full", () => {
    const d = new Driver();
    d.probe();
    d.init();
    const frames = Array.from({ length: 40 }, (_, i) => frameTo(MAC, i, 60 + ((i * 397) % 1455)));
    for (const f of frames) d.link.deliver(f);
    // The ring (52 pages) fills long before 40 frames: the rest wait in the link.
    expect(d.link.queued).toBeGreaterThan(0);
    expect(d.irq).toBe(true);
    const got: Uint8Array[] = [];
    for (let rounds = 0; rounds < 50 && got.length < frames.length; rounds++) got.push(...d.receiveAll());
    expect(got).toEqual(frames);
    expect(d.link.queued).toBe(0);
    expect(d.chip.state.curr).not.toBe(RX_START); // wrapped at least once: 40 frames > one ring
  });

  it("sets PRX again when it is acknowledged with frames left in the ring (Linux reads 9 per interrupt, then acknowledges)", () => {
    const d = new Driver();
    d.probe();
    d.init();
    for (let i = 0; i < 80; i++) d.link.deliver(frameTo(MAC, i, 60)); // one ring page each: 51 fit, the rest wait
    expect(d.link.queued).toBeGreaterThan(0);
    const got: Uint8Array[] = [];
    for (let round = 0; round < 20 && got.length < 80; round++) {
      expect(d.inb(ISR) & ISR_PRX, `round ${round}`).toBe(ISR_PRX); // an interrupt is pending whenever frames remain
      got.push(...d.receiveAll(9));
    }
    expect(got.length).toBe(80);
    expect(d.inb(ISR) & ISR_PRX).toBe(0); // nothing held, ring empty: no more
  });

  it("filters addresses as the DP8390: own unicast, broadcast with AB, multicast by the CRC hash with AM, all with PRO", () => {
    const d = new Driver();
    d.probe();
    d.init();
    const mcast = parseMac("01:00:5e:00:00:fb");
    d.link.deliver(frameTo(OTHER, 1));        // someone else's: dropped
    d.link.deliver(frameTo(BROADCAST_MAC, 2)); // broadcast: RCR.AB is set by init
    d.link.deliver(frameTo(mcast, 3));         // multicast: AM off
    const idx = linuxEtherCrc(macBytes(mcast)) >>> 26;
    d.outb(NODMA + PAGE1, CMD);
    d.outb(1 << (idx & 7), 0x08 + (idx >> 3));
    d.outb(NODMA, CMD);
    d.outb(0x0c, RXCR);
    d.link.deliver(frameTo(mcast, 4));         // now accepted
    d.outb(0x1c, RXCR);
    d.link.deliver(frameTo(OTHER, 5));         // promiscuous
    expect(d.receiveAll().map((f) => f[14])).toEqual([2, 4, 5].map((n) => (n * 31 + 14) & 0xff));
  });

  it("keeps the running state when only the page is selected, and the reset port stops the chip", () => {
    const d = new Driver();
    d.probe();
    d.init();
    d.outb(NODMA + PAGE1, CMD); // STA = STP = 0: no change
    d.outb(NODMA, CMD);
    d.link.deliver(frameTo(MAC, 7));
    expect(d.inb(ISR) & ISR_PRX).toBe(ISR_PRX);
    d.inb(RESET);
    expect(d.inb(CMD) & (STOP | START)).toBe(STOP);
    expect(d.inb(ISR) & ISR_RST).toBe(ISR_RST);
    d.outb(0xff, ISR);
    expect(d.inb(ISR) & ISR_RST).toBe(ISR_RST); // RST is not cleared by writing it (datasheet)
  });

  it("completes a zero-length DMA at once and reports an aborted transfer complete", () => {
    const d = new Driver();
    d.probe();
    d.init();
    d.outb(0, RCNTLO); d.outb(0, RCNTHI);
    d.outb(RREAD + START, CMD);
    expect(d.inb(ISR) & ISR_RDC).toBe(ISR_RDC);
    d.outb(ISR_RDC, ISR);
    d.outb(16, RCNTLO); d.outb(0, RCNTHI); d.outb(0, RSARLO); d.outb(0x50, RSARHI);
    d.outb(RWRITE + START, CMD);
    d.io.write(DATAPORT, 4, 0x11223344);
    expect(d.inb(ISR) & ISR_RDC).toBe(0);
    d.outb(NODMA + START, CMD);
    expect(d.inb(ISR) & ISR_RDC).toBe(ISR_RDC);
    d.io.write(DATAPORT, 4, 0x55667788); // no transfer active: ignored
    expect([...d.remoteRead(0x5000, 8)]).toEqual([0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0]);
  });

  it("wraps a remote read from PSTOP to PSTART (a packet that wraps is read in one DMA)", () => {
    const d = new Driver();
    d.probe();
    d.init();
    d.outb(8, RCNTLO); d.outb(0, RCNTHI); d.outb(0xfc, RSARLO); d.outb(0x7f, RSARHI);
    d.outb(RWRITE + START, CMD);
    for (const w of [0x0201, 0x0403, 0x0605, 0x0807]) d.io.write(DATAPORT, 2, w);
    expect([...d.remoteRead(0x7ffc, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...d.remoteRead(RX_START << 8, 4)]).toEqual([5, 6, 7, 8]);
  });
});

/** Linux's ether_crc: bitrev32(crc32_le(~0, addr)), computed with the reflected table algorithm. */
function linuxEtherCrc(addr: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of addr) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  let r = 0;
  for (let i = 0; i < 32; i++) r = (r << 1) | ((crc >>> i) & 1);
  return r >>> 0;
}

describe("multicast hash", () => {
  it("agrees with Linux's ether_crc for a range of addresses", () => {
    for (let i = 0; i < 200; i++) {
      const a = Uint8Array.from([1, 0, 0x5e, i, (i * 7) & 0xff, (i * 13) & 0xff]);
      expect(multicastHashIndex(a)).toBe(linuxEtherCrc(a) >>> 26);
    }
  });
});
