/**
 * PIIX3 IDE driven through its ports as libata's ata_piix drives it, on
 * both engines' VMs. Expected behaviour: ATA/ATAPI-6 (T13 1410D) — the
 * ATA signature after SRST (sector count 1, LBA 1/0/0, error 01h), status
 * DRDY/DRQ/ERR, IDENTIFY DEVICE words 60-61 and 100-103 (capacity), the PIO
 * data-in/data-out protocols, ABRT for unknown commands and for sectors
 * beyond the end; SFF-8038i for bus-master DMA (PRD entries, the start bit,
 * the interrupt and error status bits); Intel's 82371SB datasheet for the
 * PCI function (8086:7010, class 01 01 80, BAR4, IDETIM decode enables).
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { MemoryDisk } from "../../src/devices/block/backend.js";
import { ENGINES, ramImage } from "../helpers.js";

const RAM = 16 << 20;
const SECTORS = 2048;

async function machine(engine: (typeof ENGINES)[number], readOnly = false) {
  const disk = new MemoryDisk(Uint8Array.from({ length: SECTORS * 512 }, (_, i) => (i >> 9) & 0xff ^ (i & 0xff)), readOnly);
  const pc = new Pc({ engine: await createEngine(engine, RAM), ramBytes: RAM, onSerial: () => {}, disks: [{ backend: disk, interface: "ide" }] });
  const p = pc.vm.ports;
  let irq14 = 0;
  const set = pc.pic.setIrq.bind(pc.pic);
  pc.pic.setIrq = (n, l) => { if (n === 14 && l) irq14++; set(n, l); };
  const bm = pc.ide!.pci.barAddress(4)!;
  const lba = (n: number, count: number) => {
    p.write(0x1f6, 1, 0xe0 | ((n >>> 24) & 0x0f));
    p.write(0x1f2, 1, count & 0xff);
    p.write(0x1f3, 1, n & 0xff); p.write(0x1f4, 1, (n >>> 8) & 0xff); p.write(0x1f5, 1, (n >>> 16) & 0xff);
  };
  const readWords = (n: number) => { const out = new Uint8Array(2 * n); for (let i = 0; i < n; i++) { const w = p.read(0x1f0, 2); out[2 * i] = w & 0xff; out[2 * i + 1] = w >> 8; } return out; };
  return { pc, p, disk, bm, lba, readWords, irq14: () => irq14 };
}

describe.each(ENGINES)("PIIX3 IDE (%s engine)", (engine) => {
  it("is the PIIX3 IDE function at 00:01.1 with its bus master in BAR4 and both channels decoded", async () => {
    const { pc } = await machine(engine);
    const f = pc.pci.get(1, 1)!;
    expect(f.configRead(0, 4)).toBe(0x70108086);
    expect(f.configRead(8, 4) >>> 8).toBe(0x010180);
    expect(pc.ide!.pci.barAddress(4)).not.toBeNull();
    expect(f.configRead(0x40, 4)).toBe(0x80008000);
  });

  it("resets to the ATA signature and identifies the disk", async () => {
    const { p, readWords, irq14 } = await machine(engine);
    p.write(0x3f6, 1, 0x04); p.write(0x3f6, 1, 0x00); // SRST
    expect([p.read(0x1f2, 1), p.read(0x1f3, 1), p.read(0x1f4, 1), p.read(0x1f5, 1), p.read(0x1f1, 1)]).toEqual([1, 1, 0, 0, 1]);
    expect(p.read(0x1f7, 1)).toBe(0x50);
    p.write(0x1f6, 1, 0xa0);
    p.write(0x1f7, 1, 0xec);
    expect(irq14()).toBe(1);
    expect(p.read(0x1f7, 1) & 0x08).toBe(0x08); // DRQ
    const id = new DataView(readWords(256).buffer);
    expect(id.getUint16(0, true)).toBe(0x0040);
    expect(id.getUint32(120, true)).toBe(SECTORS); // words 60-61
    expect(id.getUint32(200, true)).toBe(SECTORS); // words 100-101
    expect(id.getUint16(83 * 2, true) & 0x0400).toBe(0x0400); // LBA48
    expect(p.read(0x1f7, 1)).toBe(0x50); // DRQ gone after 256 words
    // The slave is absent: its status reads 0.
    p.write(0x1f6, 1, 0xb0);
    expect(p.read(0x1f7, 1)).toBe(0);
  });

  it("reads and writes sectors by PIO, an interrupt per block", async () => {
    const { p, disk, lba, readWords, irq14 } = await machine(engine);
    lba(7, 2);
    p.write(0x1f7, 1, 0x20); // READ SECTORS
    expect(readWords(512)).toEqual(disk.bytes.subarray(7 * 512, 9 * 512));
    expect(irq14()).toBe(2);
    expect(p.read(0x1f7, 1)).toBe(0x50);
    lba(100, 1);
    p.write(0x1f7, 1, 0x30); // WRITE SECTORS: DRQ, no interrupt before the data
    expect(p.read(0x1f7, 1) & 0x08).toBe(0x08);
    for (let i = 0; i < 256; i++) p.write(0x1f0, 2, 0xa55a);
    expect(irq14()).toBe(3);
    expect(disk.bytes.subarray(100 * 512, 101 * 512).every((b, i) => b === (i & 1 ? 0xa5 : 0x5a))).toBe(true);
  });

  it("aborts unknown commands and sectors past the end", async () => {
    const { p, lba } = await machine(engine);
    p.write(0x1f7, 1, 0x99);
    expect(p.read(0x1f7, 1)).toBe(0x51); // DRDY DSC ERR
    expect(p.read(0x1f1, 1)).toBe(0x04); // ABRT
    lba(SECTORS - 1, 2);
    p.write(0x1f7, 1, 0x20);
    expect(p.read(0x1f7, 1) & 0x01).toBe(1);
  });

  it("moves data by bus-master DMA through a PRD table, and refuses a PRD table that leaves RAM", async () => {
    const { pc, p, disk, bm, lba, irq14 } = await machine(engine);
    const m = pc.vm.memory;
    const prd = 0x10000, buf1 = 0x20000, buf2 = 0x30000;
    m.writeU32(prd, buf1); m.writeU32(prd + 4, 512);
    m.writeU32(prd + 8, buf2); m.writeU32(prd + 12, 0x8000 | 512);
    p.write(bm + 4, 4, prd);
    p.write(bm, 1, 0x08); // direction: to memory
    lba(3, 2);
    p.write(0x1f7, 1, 0xc8); // READ DMA
    p.write(bm, 1, 0x09); // start
    expect(m.read(buf1, 512)).toEqual(disk.bytes.subarray(3 * 512, 4 * 512));
    expect(m.read(buf2, 512)).toEqual(disk.bytes.subarray(4 * 512, 5 * 512));
    expect(p.read(bm + 2, 1) & 0x07).toBe(0x04); // interrupt, not active, no error
    expect(irq14()).toBe(1);
    p.write(bm + 2, 1, 0x04); // clear
    p.write(bm, 1, 0x00);
    // A PRD entry past the end of RAM: error, abort, nothing written anywhere.
    m.writeU32(prd, RAM - 256); m.writeU32(prd + 4, 0x8000 | 512);
    const after0 = ramImage(m, RAM);
    lba(3, 1);
    p.write(0x1f7, 1, 0xc8);
    p.write(bm, 1, 0x09);
    expect(p.read(bm + 2, 1) & 0x02).toBe(0x02); // error
    expect(p.read(0x1f7, 1) & 0x01).toBe(1);
    expect(Buffer.compare(Buffer.from(ramImage(m, RAM)), Buffer.from(after0))).toBe(0);
  });

  it("refuses writes to a read-only image", async () => {
    const { p, lba } = await machine(engine, true);
    lba(0, 1);
    p.write(0x1f7, 1, 0x30);
    expect(p.read(0x1f7, 1) & 0x01).toBe(1);
  });
});
