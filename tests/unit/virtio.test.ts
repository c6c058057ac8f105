/**
 * The virtio PCI transport, split virtqueues and virtio-blk, driven from
 * the test the way Linux's virtio_pci and virtio_blk drive them (through the
 * modern register window in BAR1 and the legacy one in BAR0, on the VM's
 * buses), on both engines' VMs. Expected behaviour comes from the Virtio 1.2
 * specification: status handshake and FEATURES_OK (§3.1.1), the split ring
 * layout (§2.7), vring_need_event() for EVENT_IDX (§2.7.10), indirect
 * descriptors (§2.7.5.3), DEVICE_NEEDS_RESET with a configuration
 * interrupt for a broken ring (§2.1.2, §4.1.4.5), virtio-blk request
 * format and status codes (§5.2.6), the legacy layout (§4.1.4.8), MSI-X
 * vectors (§4.1.5.1.2) with the PCI 3.0 MSI-X capability, table and pending
 * bits (§6.8.2) and the message format of the Intel SDM (vol. 3, 10.11).
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { MemoryDisk, SnapshotOverlay } from "../../src/devices/block/backend.js";
import type { EngineKind } from "../../src/engine/engine.js";
import { ENGINES, ramImage, barAccess } from "../helpers.js";

const RAM = 16 << 20;
const DESC = 0x100000, AVAIL = 0x101000, USED = 0x102000, HDR = 0x110000, DATA = 0x120000, STATUS = 0x130000, INDIRECT = 0x140000;
const QSIZE = 8;
const F_INDIRECT = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32;
const NEXT = 1, WRITE = 2, INDIR = 4;

async function machine(engine: EngineKind, disk = MemoryDisk.blank(1 << 20)) {
  const pc = new Pc({ engine: await createEngine(engine, RAM), ramBytes: RAM, onSerial: () => {}, disks: [{ backend: disk, serial: "S1" }] });
  const t = pc.virtio[0]!;
  const m = pc.vm.memory;
  const { mmio, io } = barAccess(pc, t.pci);
  let irqs = 0;
  const pirq = pc.pic.setIrq.bind(pc.pic);
  pc.pic.setIrq = (n, l) => { if (l && n === t.pci.get(0x3c, 1)) irqs++; pirq(n, l); };
  /** Linux's modern probe: reset, ACK, DRIVER, features, FEATURES_OK, one queue, DRIVER_OK. */
  const init = (features: number[] = [F_VERSION_1, F_INDIRECT, F_EVENT_IDX]) => {
    mmio.w(0x14, 1, 0);
    mmio.w(0x14, 1, 1); mmio.w(0x14, 1, 3);
    let lo = 0, hi = 0;
    for (const f of features) if (f < 32) lo |= 1 << f; else hi |= 1 << (f - 32);
    mmio.w(0x08, 4, 0); mmio.w(0x0c, 4, lo >>> 0);
    mmio.w(0x08, 4, 1); mmio.w(0x0c, 4, hi);
    mmio.w(0x14, 1, 0x0b);
    const ok = (mmio.r(0x14, 1) & 8) !== 0;
    m.fill(DESC, 0x3000, 0);
    mmio.w(0x16, 2, 0);
    mmio.w(0x18, 2, QSIZE);
    mmio.w(0x20, 4, DESC); mmio.w(0x24, 4, 0);
    mmio.w(0x28, 4, AVAIL); mmio.w(0x2c, 4, 0);
    mmio.w(0x30, 4, USED); mmio.w(0x34, 4, 0);
    mmio.w(0x1c, 2, 1);
    mmio.w(0x14, 1, 0x0f);
    return ok;
  };
  const desc = (table: number, i: number, addr: number, len: number, flags: number, next = 0) => {
    m.writeU32(table + 16 * i, addr); m.writeU32(table + 16 * i + 4, 0); m.writeU32(table + 16 * i + 8, len);
    m.writeU16(table + 16 * i + 12, flags); m.writeU16(table + 16 * i + 14, next);
  };
  let availIdx = 0;
  const offer = (head: number) => {
    m.writeU16(AVAIL + 4 + 2 * (availIdx % QSIZE), head);
    availIdx = (availIdx + 1) & 0xffff;
    m.writeU16(AVAIL + 2, availIdx);
    mmio.w(0x3000, 2, 0); // notify queue 0
  };
  const header = (type: number, sector: number) => { m.writeU32(HDR, type); m.writeU32(HDR + 4, 0); m.writeU32(HDR + 8, sector); m.writeU32(HDR + 12, 0); };
  /** A three-descriptor request: header, data (writable for IN and GET_ID, else readable), status. */
  const request = (type: number, sector: number, len: number) => {
    header(type, sector);
    m.writeU8(STATUS, 0xee);
    desc(DESC, 0, HDR, 16, NEXT, 1);
    desc(DESC, 1, DATA, len, NEXT | (type === 0 || type === 8 ? WRITE : 0), 2);
    desc(DESC, 2, STATUS, 1, WRITE);
    offer(0);
  };
  const usedIdx = () => m.readU16(USED + 2);
  const status = () => t.deviceStatus;
  return { pc, t, m, mmio, io, init, desc, offer, request, header, usedIdx, status, disk, irqs: () => irqs, resetAvail: () => { availIdx = 0; } };
}

describe.each(ENGINES)("virtio-blk over PCI (%s engine)", (engine) => {
  it("presents a transitional virtio PCI function with the modern capabilities", async () => {
    const { t } = await machine(engine);
    expect(t.pci.get(0, 2)).toBe(0x1af4);
    expect(t.pci.get(2, 2)).toBe(0x1001); // transitional block device
    expect(t.pci.get(0x2e, 2)).toBe(2); // subsystem ID = virtio device ID
    expect(t.pci.get(6, 2) & 0x10).toBe(0x10); // capability list
    const types: number[] = [];
    const msix: number[] = [];
    for (let p = t.pci.get(0x34, 1); p; p = t.pci.get(p + 1, 1)) {
      if (t.pci.get(p, 1) === 0x11) { msix.push(p); continue; } // MSI-X (the machine has APICs)
      expect(t.pci.get(p, 1)).toBe(0x09); // vendor-specific
      types.push(t.pci.get(p + 3, 1));
      expect(t.pci.get(p + 4, 1)).toBe(1); // BAR1
    }
    expect(types.sort()).toEqual([1, 2, 3, 4]);
    expect(msix).toHaveLength(1);
    expect(t.pci.get(msix[0]! + 2, 2)).toBe(1); // table size − 1: one queue and the configuration vector; disabled
    expect(t.pci.get(0x3d, 1)).toBe(1); // INTA#
    expect([10, 11]).toContain(t.pci.get(0x3c, 1));
  });

  it("negotiates features, reads and writes sectors, flushes, and interrupts as EVENT_IDX says", async () => {
    const d = await machine(engine);
    expect(d.init()).toBe(true);
    expect(d.mmio.r(0x12, 2)).toBe(1); // num_queues
    // Capacity (le64 sectors) in the device configuration at 0x2000.
    expect(d.mmio.r(0x2000, 4)).toBe(2048);
    // used_event = 0: interrupt after the first used buffer.
    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 0);
    const pattern = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) & 0xff);
    d.m.write(DATA, pattern);
    d.request(1, 5, 1024); // OUT 2 sectors at sector 5
    expect(d.usedIdx()).toBe(1);
    expect(d.m.readU8(STATUS)).toBe(0);
    expect(d.m.readU32(USED + 4)).toBe(0); // id = head
    expect(d.m.readU32(USED + 8)).toBe(1); // only the status byte written
    expect(d.disk.bytes.subarray(5 * 512, 7 * 512)).toEqual(pattern);
    expect(d.irqs()).toBe(1);
    expect(d.mmio.r(0x1000, 1)).toBe(1); // ISR: used buffer; reading clears it
    expect(d.mmio.r(0x1000, 1)).toBe(0);
    // avail_event (after the used ring) tells the driver where to notify next.
    expect(d.m.readU16(USED + 4 + 8 * QSIZE)).toBe(1);
    // used_event = 5: no interrupt for used index 2 (vring_need_event(5, 2, 1) is false).
    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 5);
    d.m.fill(DATA, 1024, 0);
    d.request(0, 5, 1024); // IN
    expect(d.usedIdx()).toBe(2);
    expect(d.m.read(DATA, 1024)).toEqual(pattern);
    expect(d.m.readU32(USED + 8 + 8)).toBe(1025);
    expect(d.irqs()).toBe(1);
    // FLUSH and GET_ID.
    d.header(4, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 2);
    d.desc(DESC, 2, STATUS, 1, WRITE);
    d.m.writeU8(STATUS, 0xee);
    d.offer(0);
    expect(d.m.readU8(STATUS)).toBe(0);
    d.request(8, 0, 20);
    expect(new TextDecoder().decode(d.m.read(DATA, 2))).toBe("S1");
    expect(d.status() & 0x40).toBe(0);
  });

  it("follows an indirect descriptor table", async () => {
    const d = await machine(engine);
    d.init();
    d.disk.bytes.fill(0x5a, 0, 512);
    d.header(0, 0);
    d.desc(INDIRECT, 0, HDR, 16, NEXT, 1);
    d.desc(INDIRECT, 1, DATA, 512, NEXT | WRITE, 2);
    d.desc(INDIRECT, 2, STATUS, 1, WRITE);
    d.desc(DESC, 3, INDIRECT, 48, INDIR);
    d.offer(3);
    expect(d.m.readU8(STATUS)).toBe(0);
    expect(d.m.read(DATA, 512).every((b) => b === 0x5a)).toBe(true);
    expect(d.m.readU32(USED + 4)).toBe(3);
  });

  it("refuses FEATURES_OK for features it did not offer, and a modern driver without VERSION_1", async () => {
    const d = await machine(engine);
    expect(d.init([F_VERSION_1, 31])).toBe(false);
    expect(d.init([F_INDIRECT])).toBe(false);
  });

  it("answers requests outside the disk or of partial sectors with IOERR and writes nothing", async () => {
    const d = await machine(engine);
    d.init();
    d.m.fill(DATA, 1024, 0x77);
    d.request(1, 2047, 1024); // crosses the end (2048 sectors)
    expect(d.m.readU8(STATUS)).toBe(1);
    expect(d.disk.bytes.every((b) => b === 0)).toBe(true);
    d.request(1, 0, 100); // not a whole sector
    expect(d.m.readU8(STATUS)).toBe(1);
    d.request(99, 0, 512); // unknown type
    expect(d.m.readU8(STATUS)).toBe(2);
    expect(d.status() & 0x40).toBe(0);
  });

  it("reports a read-only disk and refuses writes to it", async () => {
    const disk = new MemoryDisk(new Uint8Array(1 << 20), true);
    const d = await machine(engine, disk);
    d.mmio.w(0x00, 4, 0);
    expect(d.mmio.r(0x04, 4) & (1 << 5)).toBe(1 << 5); // VIRTIO_BLK_F_RO
    d.init();
    d.m.fill(DATA, 512, 1);
    d.request(1, 0, 512);
    expect(d.m.readU8(STATUS)).toBe(1);
    expect(disk.bytes.every((b) => b === 0)).toBe(true);
  });

  it("keeps a snapshot's writes in its overlay", async () => {
    const base = new MemoryDisk(new Uint8Array(1 << 20).fill(9), true);
    const d = await machine(engine, base);
    const overlay = new SnapshotOverlay(base);
    expect(overlay.readOnly).toBe(false);
    const d2 = await machine(engine, overlay as unknown as MemoryDisk);
    d2.init();
    d2.m.fill(DATA, 512, 3);
    d2.request(1, 1, 512);
    expect(d2.m.readU8(STATUS)).toBe(0);
    d2.m.fill(DATA, 2048, 0);
    d2.request(0, 0, 2048);
    const back = d2.m.read(DATA, 2048);
    expect(back.subarray(0, 512).every((b) => b === 9)).toBe(true);
    expect(back.subarray(512, 1024).every((b) => b === 3)).toBe(true);
    expect(back.subarray(1024).every((b) => b === 9)).toBe(true);
    expect(base.bytes.every((b) => b === 9)).toBe(true);
    expect(d.status()).toBe(0);
  });

  it("drives the legacy interface in BAR0 too", async () => {
    const d = await machine(engine);
    d.io.w(0x12, 1, 0); d.io.w(0x12, 1, 3);
    expect(d.io.r(0x00, 4) & (1 << F_INDIRECT)).not.toBe(0);
    d.io.w(0x04, 4, 0); // no ring features
    d.io.w(0x0e, 2, 0);
    expect(d.io.r(0x0c, 2)).toBe(256);
    // Legacy ring: descriptors at PFN·4096, avail right after them, used on the next page.
    const base = 0x200000, n = 256, avail = base + 16 * n, used = Math.ceil((avail + 6 + 2 * n) / 4096) * 4096;
    d.m.fill(base, 0x4000, 0);
    d.io.w(0x08, 4, base / 4096);
    d.io.w(0x12, 1, 7);
    expect(d.io.r(0x14, 4)).toBe(2048); // capacity in the legacy device configuration
    d.disk.bytes.fill(0x33, 512, 1024);
    d.header(0, 1);
    d.desc(base, 0, HDR, 16, NEXT, 1);
    d.desc(base, 1, DATA, 512, NEXT | WRITE, 2);
    d.desc(base, 2, STATUS, 1, WRITE);
    d.m.writeU16(avail + 4, 0);
    d.m.writeU16(avail + 2, 1);
    d.io.w(0x10, 2, 0);
    expect(d.m.readU16(used + 2)).toBe(1);
    expect(d.m.readU8(STATUS)).toBe(0);
    expect(d.m.readU8(DATA)).toBe(0x33);
    expect(d.io.r(0x13, 1)).toBe(1);
  });
});

describe.each(ENGINES)("virtio over PCI with MSI-X (%s engine)", (engine) => {
  it("signals the queue's vector as an APIC message instead of the pin, holds it while masked, and moves the legacy configuration", async () => {
    const d = await machine(engine);
    const pci = d.t.pci;
    let cap = 0;
    for (let p = pci.get(0x34, 1); p; p = pci.get(p + 1, 1)) if (pci.get(p, 1) === 0x11) cap = p;
    expect(cap).not.toBe(0);
    const bir = pci.get(cap + 4, 4) & 7, pbaBir = pci.get(cap + 8, 4) & 7;
    expect(bir).toBe(pbaBir);
    const tableAt = pci.barAddress(bir)! + (pci.get(cap + 4, 4) & ~7), pbaAt = pci.barAddress(bir)! + (pci.get(cap + 8, 4) & ~7);
    const table = (v: number, field: number, value: number) => d.pc.vm.mmio.write(tableAt + 16 * v + field, 4, value);
    // Every vector starts masked (vector control bit 0).
    expect(d.pc.vm.mmio.read(tableAt + 12, 4)).toBe(1);
    expect(d.pc.vm.mmio.read(tableAt + 16 + 12, 4)).toBe(1);
    // The local APIC takes fixed interrupts once software-enabled (SVR bit 8).
    const lapic = d.pc.lapics[0]!;
    lapic.write(0xf0, 4, 0x1ff);
    const irr = (vector: number) => (lapic.read(0x200 + 0x10 * (vector >> 5), 4) >>> (vector & 31)) & 1;
    const tmr = (vector: number) => (lapic.read(0x180 + 0x10 * (vector >> 5), 4) >>> (vector & 31)) & 1;

    pci.configWrite(cap + 2, 2, 0x8000); // MSI-X enable
    // Vector 1 for queue 0: physical destination APIC 0, fixed, edge, vector 0x41.
    table(1, 0, 0xfee00000); table(1, 4, 0); table(1, 8, 0x41); table(1, 12, 0);
    expect(d.init()).toBe(true);
    d.mmio.w(0x10, 2, 0); // config_msix_vector
    expect(d.mmio.r(0x10, 2)).toBe(0);
    d.mmio.w(0x16, 2, 0);
    d.mmio.w(0x1a, 2, 7); // a vector the table does not have: the device answers NO_VECTOR
    expect(d.mmio.r(0x1a, 2)).toBe(0xffff);
    d.mmio.w(0x1a, 2, 1);
    expect(d.mmio.r(0x1a, 2)).toBe(1);

    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 0); // used_event: interrupt after the first used buffer
    d.request(0, 0, 512);
    expect(d.usedIdx()).toBe(1);
    expect(irr(0x41)).toBe(1);
    expect(tmr(0x41)).toBe(0); // edge-triggered: nothing for the I/O APIC at EOI
    expect(d.irqs()).toBe(0); // the pin stayed quiet
    expect(d.mmio.r(0x1000, 1)).toBe(0); // and the ISR has no queue bit

    // Masked: the message waits in the pending bits; unmasked, it goes out with the entry as it is then.
    table(1, 12, 1);
    table(1, 8, 0x52);
    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 1);
    d.request(0, 0, 512);
    expect(d.usedIdx()).toBe(2);
    expect(d.pc.vm.mmio.read(pbaAt, 4)).toBe(2); // vector 1 pending
    expect(irr(0x52)).toBe(0);
    table(1, 12, 0);
    expect(d.pc.vm.mmio.read(pbaAt, 4)).toBe(0);
    expect(irr(0x52)).toBe(1);

    // The function mask holds every vector the same way.
    pci.configWrite(cap + 2, 2, 0xc000);
    table(1, 8, 0x63);
    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 2);
    d.request(0, 0, 512);
    expect(irr(0x63)).toBe(0);
    expect(d.pc.vm.mmio.read(pbaAt, 4)).toBe(2);
    pci.configWrite(cap + 2, 2, 0x8000);
    expect(irr(0x63)).toBe(1);

    // A destination that no APIC has: the message reaches nobody.
    table(1, 0, 0xfee05000); table(1, 8, 0x74);
    d.m.writeU16(AVAIL + 4 + 2 * QSIZE, 3);
    d.request(0, 0, 512);
    expect(d.usedIdx()).toBe(4);
    expect(irr(0x74)).toBe(0);

    // Legacy interface while MSI-X is on: the two vector fields at 0x14 and 0x16, device configuration from 0x18.
    expect(d.io.r(0x14, 2)).toBe(0);
    expect(d.io.r(0x16, 2)).toBe(1);
    expect(d.io.r(0x18, 4)).toBe(2048); // capacity
    pci.configWrite(cap + 2, 2, 0);
    expect(d.io.r(0x14, 4)).toBe(2048);
  });

  it("has no MSI-X without APICs: the pin, as before", async () => {
    const pc = new Pc({ engine: await createEngine(engine, RAM), ramBytes: RAM, apic: false, onSerial: () => {}, disks: [{ backend: MemoryDisk.blank(1 << 20) }] });
    const pci = pc.virtio[0]!.pci;
    for (let p = pci.get(0x34, 1); p; p = pci.get(p + 1, 1)) expect(pci.get(p, 1)).toBe(0x09);
    expect(pci.bar(2)).toBeUndefined();
  });
});

describe.each(ENGINES)("malformed virtqueues (%s engine)", (engine) => {
  /** Set up a device, let `corrupt` break the ring, and check the device stopped cleanly. */
  async function broken(corrupt: (d: Awaited<ReturnType<typeof machine>>) => void, why: RegExp) {
    const d = await machine(engine);
    d.init();
    d.m.fill(DATA, 0x1000, 0x11);
    const before = ramImage(d.m, RAM);
    d.disk.bytes.fill(0);
    const irqsBefore = d.irqs();
    corrupt(d);
    expect(d.status() & 0x40).toBe(0x40); // DEVICE_NEEDS_RESET
    expect(d.mmio.r(0x14, 1) & 0x40).toBe(0x40);
    expect(d.mmio.r(0x1000, 1) & 2).toBe(2); // configuration interrupt
    expect(d.irqs()).toBe(irqsBefore + 1);
    expect(d.pc.deviceErrors.at(-1)).toMatch(why);
    expect(d.usedIdx()).toBe(0);
    expect(d.disk.bytes.every((b) => b === 0)).toBe(true);
    // Guest RAM is as the driver left it, but for the ring it wrote itself.
    const after = ramImage(d.m, RAM);
    for (let a = 0; a < RAM; a += 4096) {
      if (a === DESC || a === AVAIL || a === USED || a === HDR || a === INDIRECT || a === STATUS) continue;
      if (!sameBytes(before.subarray(a, a + 4096), after.subarray(a, a + 4096))) throw new Error(`page ${a.toString(16)} changed`);
    }
    // A further notify does nothing; a reset and a fresh set-up work again.
    d.mmio.w(0x3000, 2, 0);
    expect(d.usedIdx()).toBe(0);
    d.resetAvail();
    expect(d.init()).toBe(true);
    expect(d.status() & 0x40).toBe(0);
    d.request(0, 0, 512);
    expect(d.usedIdx()).toBe(1);
    expect(d.m.readU8(STATUS)).toBe(0);
  }

  it("a descriptor loop", () => broken((d) => {
    d.header(1, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 1);
    d.desc(DESC, 1, DATA, 512, NEXT, 0);
    d.offer(0);
  }, /loop/));

  it("a buffer outside RAM", () => broken((d) => {
    d.header(0, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 1);
    d.desc(DESC, 1, RAM - 256, 512, NEXT | WRITE, 2);
    d.desc(DESC, 2, STATUS, 1, WRITE);
    d.offer(0);
  }, /not in RAM/));

  it("an oversized length", () => broken((d) => {
    d.header(0, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 1);
    d.desc(DESC, 1, DATA, 0xfffffff0, NEXT | WRITE, 2);
    d.desc(DESC, 2, STATUS, 1, WRITE);
    d.offer(0);
  }, /not in RAM/));

  it("a buffer above 4 GiB", () => broken((d) => {
    d.header(0, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 1);
    d.desc(DESC, 1, DATA, 512, WRITE);
    d.m.writeU32(DESC + 16 + 4, 1);
    d.offer(0);
  }, /not in RAM/));

  it("a head or next index outside the table", () => broken((d) => {
    d.header(0, 0);
    d.desc(DESC, 0, HDR, 16, NEXT, 9);
    d.offer(0);
  }, /outside its table/));

  it("an available index more than a ring ahead", () => broken((d) => {
    d.m.writeU16(AVAIL + 2, QSIZE + 1);
    d.mmio.w(0x3000, 2, 0);
  }, /ahead/));

  it("an indirect table outside RAM, nested, chained or of a partial descriptor", async () => {
    for (const [setup, why] of [
      [(d: Awaited<ReturnType<typeof machine>>) => d.desc(DESC, 0, RAM - 16, 64, INDIR), /indirect table .* not in RAM/],
      [(d: Awaited<ReturnType<typeof machine>>) => { d.desc(INDIRECT, 0, INDIRECT, 16, INDIR); d.desc(DESC, 0, INDIRECT, 16, INDIR); }, /inside an indirect table/],
      [(d: Awaited<ReturnType<typeof machine>>) => d.desc(DESC, 0, INDIRECT, 32, INDIR | NEXT, 1), /NEXT/],
      [(d: Awaited<ReturnType<typeof machine>>) => d.desc(DESC, 0, INDIRECT, 20, INDIR), /whole number/],
      [(d: Awaited<ReturnType<typeof machine>>) => { d.desc(INDIRECT, 0, HDR, 16, NEXT, 1); d.desc(INDIRECT, 1, HDR, 16, NEXT, 0); d.desc(DESC, 0, INDIRECT, 32, INDIR); }, /loop/],
    ] as const) {
      await broken((d) => { setup(d); d.offer(0); }, why);
    }
  });

  it("a readable buffer after a writable one, and a request without a header or status", async () => {
    await broken((d) => {
      d.desc(DESC, 0, STATUS, 1, NEXT | WRITE, 1);
      d.desc(DESC, 1, HDR, 16, 0);
      d.offer(0);
    }, /readable buffer after a writable/);
    await broken((d) => {
      d.desc(DESC, 0, HDR, 8, NEXT, 1);
      d.desc(DESC, 1, STATUS, 1, WRITE);
      d.offer(0);
    }, /no 16-byte header/);
    await broken((d) => {
      d.header(1, 0);
      d.desc(DESC, 0, HDR, 16, 0);
      d.offer(0);
    }, /no status byte/);
  });

  it("rings placed outside RAM when the queue is enabled", async () => {
    const d = await machine(engine);
    d.mmio.w(0x14, 1, 0); d.mmio.w(0x14, 1, 3);
    d.mmio.w(0x08, 4, 1); d.mmio.w(0x0c, 4, 1);
    d.mmio.w(0x14, 1, 0x0b);
    d.mmio.w(0x16, 2, 0);
    d.mmio.w(0x18, 2, QSIZE);
    d.mmio.w(0x20, 4, RAM - 64);
    d.mmio.w(0x28, 4, AVAIL);
    d.mmio.w(0x30, 4, USED);
    d.mmio.w(0x1c, 2, 1);
    expect(d.status() & 0x40).toBe(0x40);
    expect(d.pc.deviceErrors.at(-1)).toMatch(/descriptor table .* not in RAM/);
  });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
