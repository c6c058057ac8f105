/**
 * PIIX3 IDE (Intel 82371SB, PCI 8086:7010 at 00:01.1, the controller Linux's
 * ata_piix drives): two ATA channels at their legacy ports with ISA IRQs,
 * PIO transfers through the data register and bus-master DMA through PRD
 * tables — the emulated disk to compare virtio-blk with (seed 002: every
 * 16-bit data word is an exit here).
 *
 * ```
 * channel    command block   control block   IRQ   bus master (BAR4)
 * primary    0x1F0-0x1F7     0x3F6           14    +0 command +2 status +4 PRD table
 * secondary  0x170-0x177     0x376           15    +8 …
 * ```
 *
 * ATA after ATA/ATAPI-6 (T13 1410D): registers data, error/features, sector
 * count, LBA low/mid/high, device, status/command (a command block shared by
 * both drives, device bit 4 selects one; LBA48 registers keep the previous
 * byte, read back with HOB); device control (nIEN, SRST) and alternate
 * status. Commands: IDENTIFY DEVICE, READ/WRITE SECTORS (EXT), READ/WRITE
 * MULTIPLE (EXT), READ/WRITE DMA (EXT), FLUSH CACHE (EXT), SET FEATURES
 * (transfer mode), SET MULTIPLE MODE, READ NATIVE MAX ADDRESS (EXT),
 * READ VERIFY, INITIALIZE DEVICE PARAMETERS, RECALIBRATE, power management
 * no-ops; anything else is aborted (ERR, ABRT). INTRQ is asserted per
 * the PIO protocols (each block of a read; each block and the end of a
 * write) and at the end of a DMA command; reading Status clears it.
 *
 * Bus-master IDE (SFF-8038i): the PRD table (entries { u32 address;
 * u16 bytes (0 = 64 KiB); u16 bit 15 end of table }) must lie in RAM, as
 * must every region it names; a table that does not, or that is shorter
 * than the transfer, sets the bus master's error bit and fails the command
 * (ABRT) without touching memory or the image.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise } from "../vmm/bus.js";
import type { GuestMemory } from "../vmm/memory.js";
import { type BlockBackend, type DiskStats, DiskError, SECTOR, diskGeometry, emptyDiskStats } from "./block/backend.js";
import { PciFunction } from "./pci.js";
import { BarDecoder, type PciAddressSpaces } from "./pci-bars.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";

const BSY = 0x80, DRDY = 0x40, DSC = 0x10, DRQ = 0x08, ERR = 0x01;
const ABRT = 0x04;
const NIEN = 0x02, SRST = 0x04, HOB = 0x80;
const MAX_MULTIPLE = 16;
/** Bus master command and status bits. */
const BM_START = 0x01, BM_TO_MEMORY = 0x08;
const BM_ACTIVE = 0x01, BM_ERROR = 0x02, BM_IRQ = 0x04;

export const IDE_CHANNELS = [
  { command: 0x1f0, control: 0x3f6, irq: 14 },
  { command: 0x170, control: 0x376, irq: 15 },
] as const;

/** One ATA disk. */
class Drive {
  /** Identify data, 256 words. */
  readonly identify = new Uint16Array(256);
  multiple = 0;
  /** Read, write and flush commands the drive took (counted when taken: their data moves as the guest goes on). */
  readonly stats = emptyDiskStats();

  constructor(readonly backend: BlockBackend, serial: string) {
    const sectors = Math.floor(backend.size / SECTOR);
    const w = this.identify;
    const { cylinders: cyls } = diskGeometry(sectors);
    const text = (at: number, words: number, s: string) => {
      const p = s.padEnd(words * 2, " ");
      for (let i = 0; i < words; i++) w[at + i] = (p.charCodeAt(2 * i) << 8) | p.charCodeAt(2 * i + 1);
    };
    w[0] = 0x0040; // fixed disk
    w[1] = cyls; w[3] = 16; w[6] = 63;
    text(10, 10, serial);
    text(23, 4, "1.0");
    text(27, 20, "SYMBIONT HARDDISK");
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[49] = 0x0300; // LBA, DMA
    w[53] = 0x0007; // words 54-58, 64-70, 88 valid
    w[54] = cyls; w[55] = 16; w[56] = 63;
    const chs = cyls * 16 * 63;
    w[57] = chs & 0xffff; w[58] = chs >>> 16;
    const lba28 = Math.min(sectors, 0x0fffffff);
    w[60] = lba28 & 0xffff; w[61] = lba28 >>> 16;
    w[63] = 0x0007; // multiword DMA 0-2
    w[64] = 0x0003; // PIO 3, 4
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x00f0; // ATA-4 … ATA-7
    w[82] = 0x4000; w[83] = 0x7400; // LBA48, FLUSH CACHE (EXT)
    w[84] = 0x4000; w[85] = 0x4000; w[86] = 0x3400; w[87] = 0x4000;
    w[88] = 0x003f; // UDMA 0-5 supported (PIIX3 itself only does multiword DMA)
    for (let i = 0; i < 4; i++) w[100 + i] = Math.floor(sectors / 2 ** (16 * i)) & 0xffff;
  }

  get sectors(): number {
    return Math.floor(this.backend.size / SECTOR);
  }
}

type Transfer =
  | { kind: "none" }
  | { kind: "pio-in"; buf: Uint8Array; pos: number; block: number; lba: number; left: number }
  | { kind: "pio-out"; buf: Uint8Array; pos: number; block: number; lba: number; left: number }
  | { kind: "dma"; toMemory: boolean; lba: number; count: number };

/** One channel: its task-file registers, up to two drives, its bus-master registers. */
class Channel {
  readonly drives: (Drive | null)[] = [null, null];
  // Task file, with the previous byte of the LBA48 registers (HOB).
  feature = 0; nsect = 0; lbal = 0; lbam = 0; lbah = 0;
  hobFeature = 0; hobNsect = 0; hobLbal = 0; hobLbam = 0; hobLbah = 0;
  device = 0xa0; status = 0; error = 0; control = 0;
  private xfer: Transfer = { kind: "none" };
  private intrq = false;
  // Bus master.
  bmCommand = 0; bmStatus = 0; prd = 0;

  constructor(private readonly irq: (level: boolean) => void, private readonly mem: GuestMemory, private readonly onFatal: (m: string) => void) {}

  private get drive(): Drive | null {
    return this.drives[(this.device >> 4) & 1]!;
  }

  private setIntrq(on: boolean): void {
    this.intrq = on;
    if (on) this.bmStatus |= BM_IRQ;
    this.irq(on && (this.control & NIEN) === 0);
  }

  /** The signature and state after a reset (power-on, SRST). */
  reset(): void {
    this.nsect = this.lbal = 1; this.lbam = this.lbah = 0;
    this.device = 0xa0; this.error = 0x01; // diagnostics passed
    this.status = this.drives[0] || this.drives[1] ? DRDY | DSC : 0;
    this.xfer = { kind: "none" };
    this.setIntrq(false);
  }

  // ---- command block -------------------------------------------------------------------

  readRegister(offset: number, size: AccessSize): number {
    if (offset === 0) return this.readData(size);
    const hob = (this.control & HOB) !== 0;
    if (offset === 7) {
      if (!this.drive) return 0;
      this.setIntrq(false);
      return this.status;
    }
    if (!this.drive) return 0;
    switch (offset) {
      case 1: return hob ? this.hobFeature : this.error;
      case 2: return hob ? this.hobNsect : this.nsect;
      case 3: return hob ? this.hobLbal : this.lbal;
      case 4: return hob ? this.hobLbam : this.lbam;
      case 5: return hob ? this.hobLbah : this.lbah;
      case 6: return this.device;
      default: return 0xff;
    }
  }

  writeRegister(offset: number, size: AccessSize, v: number): void {
    if (offset === 0) { this.writeData(size, v); return; }
    v &= 0xff;
    this.control &= ~HOB; // a register write clears HOB
    switch (offset) {
      case 1: this.hobFeature = this.feature; this.feature = v; return;
      case 2: this.hobNsect = this.nsect; this.nsect = v; return;
      case 3: this.hobLbal = this.lbal; this.lbal = v; return;
      case 4: this.hobLbam = this.lbam; this.lbam = v; return;
      case 5: this.hobLbah = this.lbah; this.lbah = v; return;
      case 6: this.device = v | 0xa0; return;
      case 7: this.command(v); return;
    }
  }

  readAltStatus(): number {
    return this.drive ? this.status : 0;
  }

  writeControl(v: number): void {
    const was = this.control;
    this.control = v & (NIEN | SRST | HOB);
    if ((v & SRST) && !(was & SRST)) { this.status = BSY; this.xfer = { kind: "none" }; }
    else if (!(v & SRST) && (was & SRST)) this.reset();
    this.irq(this.intrq && (this.control & NIEN) === 0);
  }

  // ---- commands ------------------------------------------------------------------------

  /** A read (or write) command of `count` sectors taken. */
  private counted(stats: DiskStats, read: boolean, count: number): void {
    if (read) { stats.reads++; stats.readBytes += count * SECTOR; } else { stats.writes++; stats.writtenBytes += count * SECTOR; }
  }

  private lba28(): number {
    return ((this.device & 0x0f) << 24 | this.lbah << 16 | this.lbam << 8 | this.lbal) >>> 0;
  }

  private lba48(): number {
    return (this.hobLbah * 2 ** 40) + (this.hobLbam * 2 ** 32) + (this.hobLbal * 2 ** 24) + (this.lbah << 16 | this.lbam << 8 | this.lbal);
  }

  private count28(): number { return this.nsect || 256; }
  private count48(): number { return (this.hobNsect << 8 | this.nsect) || 65536; }

  private done(irq = true): void {
    this.status = DRDY | DSC;
    this.xfer = { kind: "none" };
    if (irq) this.setIntrq(true);
  }

  private abort(): void {
    this.error = ABRT;
    this.status = DRDY | DSC | ERR;
    this.xfer = { kind: "none" };
    this.setIntrq(true);
  }

  private command(cmd: number): void {
    const d = this.drive;
    if (!d) return; // nobody answers
    if (this.status & BSY) return;
    this.error = 0;
    const ext = [0x24, 0x29, 0x25, 0x34, 0x39, 0x35, 0x27, 0x42].includes(cmd);
    const lba = ext ? this.lba48() : this.lba28();
    const count = ext ? this.count48() : this.count28();
    switch (cmd) {
      case 0xec: { // IDENTIFY DEVICE
        const buf = new Uint8Array(d.identify.buffer.slice(0));
        this.xfer = { kind: "pio-in", buf, pos: 0, block: 512, lba: 0, left: 0 };
        this.status = DRDY | DSC | DRQ;
        this.setIntrq(true);
        return;
      }
      case 0x20: case 0x21: case 0x24: case 0xc4: case 0x29: // READ SECTORS / MULTIPLE (EXT)
        if (!this.inRange(d, lba, count)) { this.abort(); return; }
        if ((cmd === 0xc4 || cmd === 0x29) && d.multiple === 0) { this.abort(); return; }
        this.counted(d.stats, true, count);
        this.startPioIn(d, lba, count, cmd === 0xc4 || cmd === 0x29 ? d.multiple : 1);
        return;
      case 0x30: case 0x31: case 0x34: case 0xc5: case 0x39: { // WRITE SECTORS / MULTIPLE (EXT)
        if (!this.inRange(d, lba, count) || d.backend.readOnly) { this.abort(); return; }
        if ((cmd === 0xc5 || cmd === 0x39) && d.multiple === 0) { this.abort(); return; }
        this.counted(d.stats, false, count);
        const per = cmd === 0xc5 || cmd === 0x39 ? d.multiple : 1;
        const block = Math.min(per, count) * SECTOR;
        this.xfer = { kind: "pio-out", buf: new Uint8Array(block), pos: 0, block, lba, left: count };
        this.status = DRDY | DSC | DRQ; // no interrupt before the first block
        return;
      }
      case 0xc8: case 0x25: case 0xca: case 0x35: { // READ / WRITE DMA (EXT)
        const toMemory = cmd === 0xc8 || cmd === 0x25;
        if (!this.inRange(d, lba, count) || (!toMemory && d.backend.readOnly)) { this.abort(); return; }
        this.counted(d.stats, toMemory, count);
        this.xfer = { kind: "dma", toMemory, lba, count };
        this.status = DRDY | DSC | DRQ;
        if (this.bmCommand & BM_START) this.runDma();
        return;
      }
      case 0xe7: case 0xea: // FLUSH CACHE (EXT)
        if (!this.io(() => d.backend.flush())) return;
        d.stats.flushes++;
        this.done();
        return;
      case 0xef: // SET FEATURES
        if (this.feature === 0x03) this.setTransferMode(d, this.nsect);
        this.done();
        return;
      case 0xc6: // SET MULTIPLE MODE
        if (this.nsect === 0 || this.nsect > MAX_MULTIPLE || (this.nsect & (this.nsect - 1)) !== 0) { this.abort(); return; }
        d.multiple = this.nsect;
        d.identify[59] = 0x0100 | d.multiple;
        this.done();
        return;
      case 0xf8: case 0x27: { // READ NATIVE MAX ADDRESS (EXT)
        const max = d.sectors - 1;
        this.lbal = max & 0xff; this.lbam = (max >>> 8) & 0xff; this.lbah = (max >>> 16) & 0xff;
        if (cmd === 0x27) { this.hobLbal = Math.floor(max / 2 ** 24) & 0xff; this.hobLbam = Math.floor(max / 2 ** 32) & 0xff; this.hobLbah = 0; }
        else this.device = (this.device & 0xf0) | ((max >>> 24) & 0x0f);
        this.done();
        return;
      }
      case 0x40: case 0x41: case 0x42: // READ VERIFY SECTORS (EXT)
        if (!this.inRange(d, lba, count)) { this.abort(); return; }
        this.done();
        return;
      case 0xe5: // CHECK POWER MODE: active
        this.nsect = 0xff;
        this.done();
        return;
      case 0x91: case 0x10: case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0x00:
        // INITIALIZE DEVICE PARAMETERS, RECALIBRATE, standby/idle (no-ops for a disk that never spins down), NOP
        this.done();
        return;
      default:
        this.abort();
    }
  }

  private setTransferMode(d: Drive, mode: number): void {
    const w = d.identify;
    w[63] = w[63]! & 0x00ff; w[88] = w[88]! & 0x00ff;
    if ((mode & 0xf8) === 0x20) w[63] = w[63]! | (0x100 << (mode & 7));
    else if ((mode & 0xf8) === 0x40) w[88] = w[88]! | (0x100 << (mode & 7));
  }

  private inRange(d: Drive, lba: number, count: number): boolean {
    return lba + count <= d.sectors;
  }

  /** Run a backend operation; a failing image aborts the command and stops the VM. */
  private io(f: () => void): boolean {
    try {
      f();
      return true;
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      this.abort();
      this.onFatal(e.message);
      return false;
    }
  }

  private startPioIn(d: Drive, lba: number, count: number, perBlock: number): void {
    const n = Math.min(perBlock, count);
    const buf = new Uint8Array(n * SECTOR);
    if (!this.io(() => d.backend.read(lba * SECTOR, buf))) return;
    this.xfer = { kind: "pio-in", buf, pos: 0, block: buf.length, lba: lba + n, left: count - n };
    this.status = DRDY | DSC | DRQ;
    this.setIntrq(true);
  }

  private readData(size: AccessSize): number {
    const x = this.xfer;
    if (x.kind !== "pio-in") return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (x.buf[x.pos + i] ?? 0) << (8 * i);
    x.pos += size;
    if (x.pos >= x.block) {
      const d = this.drive!;
      if (x.left > 0) this.startPioIn(d, x.lba, x.left, d.multiple || 1);
      else this.done(false);
    }
    return v >>> 0;
  }

  private writeData(size: AccessSize, v: number): void {
    const x = this.xfer;
    if (x.kind !== "pio-out") return;
    for (let i = 0; i < size && x.pos < x.block; i++) x.buf[x.pos++] = (v >>> (8 * i)) & 0xff;
    if (x.pos < x.block) return;
    const d = this.drive!;
    if (!this.io(() => d.backend.write(x.lba * SECTOR, x.buf))) return;
    const n = x.block / SECTOR;
    const left = x.left - n;
    if (left === 0) { this.done(); return; }
    const block = Math.min(d.multiple || 1, left) * SECTOR;
    this.xfer = { kind: "pio-out", buf: new Uint8Array(block), pos: 0, block, lba: x.lba + n, left };
    this.status = DRDY | DSC | DRQ;
    this.setIntrq(true);
  }

  // ---- bus master ------------------------------------------------------------------------

  writeBmCommand(v: number): void {
    const was = this.bmCommand;
    this.bmCommand = v & (BM_START | BM_TO_MEMORY);
    if ((v & BM_START) && !(was & BM_START)) {
      this.bmStatus |= BM_ACTIVE;
      if (this.xfer.kind === "dma") this.runDma();
    } else if (!(v & BM_START)) {
      this.bmStatus &= ~BM_ACTIVE;
    }
  }

  writeBmStatus(v: number): void {
    // Bits 1 and 2 clear when written with 1; 5 and 6 (drive DMA capable) are plain bits.
    this.bmStatus = (this.bmStatus & ~(v & (BM_ERROR | BM_IRQ)) & ~0x60) | (v & 0x60);
  }

  /** The PRD table's regions for `bytes`, or null when it breaks a rule (outside RAM, too short). */
  private prdRegions(bytes: number): { addr: number; len: number }[] | null {
    const out: { addr: number; len: number }[] = [];
    let at = this.prd, total = 0;
    for (let i = 0; i < 8192; i++, at += 8) {
      if (!this.mem.isRam(at, 8)) return null;
      const addr = this.mem.readU32(at), count = this.mem.readU16(at + 4) || 0x10000, eot = this.mem.readU16(at + 6) & 0x8000;
      const len = Math.min(count, bytes - total);
      if (len > 0) {
        if (!this.mem.isRam(addr & ~1, len)) return null;
        out.push({ addr: addr & ~1, len });
        total += len;
      }
      if (eot || total >= bytes) return total >= bytes ? out : null;
    }
    return null;
  }

  private runDma(): void {
    const x = this.xfer;
    if (x.kind !== "dma") return;
    const d = this.drive!;
    const bytes = x.count * SECTOR;
    const regions = this.prdRegions(bytes);
    if (!regions || ((this.bmCommand & BM_TO_MEMORY) !== 0) !== x.toMemory) {
      this.bmStatus = (this.bmStatus | BM_ERROR) & ~BM_ACTIVE;
      this.abort();
      return;
    }
    const buf = new Uint8Array(bytes);
    let ok: boolean;
    if (x.toMemory) {
      ok = this.io(() => d.backend.read(x.lba * SECTOR, buf));
      if (ok) { let o = 0; for (const r of regions) { this.mem.write(r.addr, buf.subarray(o, o + r.len)); o += r.len; } }
    } else {
      let o = 0;
      for (const r of regions) { buf.set(this.mem.read(r.addr, r.len), o); o += r.len; }
      ok = this.io(() => d.backend.write(x.lba * SECTOR, buf));
    }
    this.bmStatus &= ~BM_ACTIVE;
    if (ok) this.done();
  }
}

export interface PiixIdeOptions {
  memory: GuestMemory;
  /** Drive ISA IRQ `irq` (14 or 15). */
  setIrq(irq: number, level: boolean): void;
  /** A disk image failed (it shrank): stop the VM with this line. */
  onFatal?(message: string): void;
}

/** The PIIX3 IDE function with up to four disks (primary master, primary slave, secondary master, secondary slave). */
export class PiixIde {
  readonly pci: PciFunction;
  private readonly channels: Channel[];
  private bars: BarDecoder | null = null;

  constructor(disks: readonly (BlockBackend | null)[], private readonly opts: PiixIdeOptions) {
    if (disks.length > 4) throw new Error(`PIIX3 IDE has room for 4 disks (got ${disks.length})`);
    this.channels = IDE_CHANNELS.map((c) => new Channel((l) => opts.setIrq(c.irq, l), opts.memory, (m) => opts.onFatal?.(m)));
    disks.forEach((b, i) => { if (b) this.channels[i >> 1]!.drives[i & 1] = new Drive(b, `SYMB${i}`); });
    for (const c of this.channels) c.reset();
    this.pci = new PciFunction({
      name: "piix3-ide",
      vendorId: 0x8086,
      deviceId: 0x7010,
      classCode: 0x010180, // IDE, bus master, both channels in compatibility mode
      command: 0,
      status: 0x0280,
      bars: [undefined, undefined, undefined, undefined, { kind: "io", size: 16 }],
      onRemap: () => this.bars?.remap(),
    });
    this.pci.setWritable(0x40, 0xff, 0x10); // IDETIM, SIDETIM …
    this.pci.config[0x41] = 0x80; // IDETIM: primary channel decode enabled
    this.pci.config[0x43] = 0x80; // secondary
  }

  /** The drives present: channel (0 primary, 1 secondary), unit (0 master, 1 slave), backend and statistics. */
  drives(): { channel: number; unit: number; backend: BlockBackend; stats: DiskStats }[] {
    return this.channels.flatMap((c, channel) => c.drives.flatMap((d, unit) => (d ? [{ channel, unit, backend: d.backend, stats: d.stats }] : [])));
  }

  /** Each channel's task file, transfer under way and bus master, and its drives' settings (a snapshot's part). */
  save(): State {
    return { channels: this.channels.map((c) => ({ ...saveFields(c), drives: c.drives.map((d) => d ? { multiple: d.multiple } : null) })) };
  }

  restore(state: State): void {
    (state.channels as State[]).forEach((s, i) => {
      const { drives, ...fields } = s, c = this.channels[i]!;
      restoreFields(c, fields);
      (drives as (State | null)[]).forEach((d, k) => { if (d && c.drives[k]) c.drives[k]!.multiple = d.multiple as number; });
    });
  }

  /** Claim the legacy ports, and decode BAR4 (the bus master) from now on. */
  attach(ports: (base: number, length: number, dev: PortDevice) => void, spaces: PciAddressSpaces): void {
    IDE_CHANNELS.forEach((c, i) => {
      const ch = this.channels[i]!;
      ports(c.command, 8, {
        name: `ide${i}`,
        read: (o, s) => ch.readRegister(o, s),
        write: (o, s, v) => ch.writeRegister(o, s, v),
      });
      ports(c.control, 1, { name: `ide${i}-control`, read: () => ch.readAltStatus(), write: (_o, _s, v) => ch.writeControl(v) });
    });
    const bm: PortDevice = {
      name: "piix3-ide-busmaster",
      read: (o, s) => readBytewise((b) => this.bmRead(b), o, s),
      write: (o, s, v) => this.bmWrite(o, s, v),
    };
    this.bars = new BarDecoder(() => this.pci, spaces, [undefined, undefined, undefined, undefined, bm]);
    this.bars.remap();
  }

  private bmRead(o: number): number {
    const ch = this.channels[o >> 3]!;
    switch (o & 7) {
      case 0: return ch.bmCommand;
      case 2: return ch.bmStatus;
      case 4: case 5: case 6: case 7: return (ch.prd >>> (8 * ((o & 7) - 4))) & 0xff;
      default: return 0;
    }
  }

  private bmWrite(o: number, size: AccessSize, v: number): void {
    const ch = this.channels[o >> 3]!;
    const r = o & 7;
    if (r === 4 && size === 4) { ch.prd = (v & ~3) >>> 0; return; }
    for (let i = 0; i < size; i++) {
      const b = (v >>> (8 * i)) & 0xff, at = r + i;
      if (at === 0) ch.writeBmCommand(b);
      else if (at === 2) ch.writeBmStatus(b);
      else if (at >= 4) ch.prd = ((ch.prd & ~(0xff << (8 * (at - 4)))) | (b << (8 * (at - 4)))) >>> 0 & ~3;
    }
  }
}
