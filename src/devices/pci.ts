/**
 * PCI: configuration mechanism #1 (PCI Local Bus Specification 3.0,
 * section 3.2.2.3.2), bus 0 with an Intel 440FX host bridge at 00:00.0 and
 * a PIIX3 PCI-to-ISA bridge at 00:01.0, and the configuration-space model
 * that later devices (virtio, NE2K) reuse.
 *
 * Mechanism #1: CONFIG_ADDRESS at 0xCF8 is latched only by 32-bit writes
 * (enable bit 31, bus 23-16, device 15-11, function 10-8, register 7-2;
 * bits 30-24 and 1-0 read as 0); other accesses to 0xCF8-0xCFB are ordinary
 * I/O — on a PIIX machine that is the reset control register at 0xCF9,
 * which {@link PciHost} forwards. CONFIG_DATA at 0xCFC-0xCFF accesses the
 * dword selected by CONFIG_ADDRESS, at byte, word or dword width, when the
 * enable bit is set. Absent devices (and bus numbers other than 0) read as
 * all ones, writes to them are dropped — the master abort of a type 0/1
 * configuration cycle nobody claims.
 *
 * {@link PciFunction} keeps a 256-byte type 0 header and applies the spec's
 * access rules per byte: a writable-bits mask (vendor/device ID, class,
 * revision, header type, subsystem IDs and interrupt pin are read-only),
 * status error bits that are cleared by writing 1, and base address
 * registers whose low bits are hard-wired (size and type), so that writing
 * all ones reads back the size mask the way the spec prescribes for sizing.
 *
 * @module
 */
import { type AccessSize, type PortDevice, allOnes } from "../vmm/bus.js";
import { SnapshotError, type State } from "../vmm/snapshot.js";

/** A PCI function's configuration space, as the host bridge reaches it. */
export interface PciDevice {
  readonly name: string;
  /** Read `size` bytes at `offset` (0-255; the access stays within one dword). */
  configRead(offset: number, size: AccessSize): number;
  /** Write `size` bytes at `offset`. */
  configWrite(offset: number, size: AccessSize, value: number): void;
}

/** One base address register. Sizes are powers of two (I/O ≥ 4 bytes, memory ≥ 16 bytes). */
export interface PciBar {
  kind: "io" | "mem32";
  size: number;
  prefetchable?: boolean;
}

/** Identity and resources of a {@link PciFunction}. */
export interface PciFunctionInit {
  name: string;
  vendorId: number;
  deviceId: number;
  /** Class code: base class << 16 | subclass << 8 | programming interface. */
  classCode: number;
  revision?: number;
  /** Header type bits 6-0 (0 = general device). Bit 7 (multi-function) is added by the bus. */
  headerType?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 0 = no interrupt, 1-4 = INTA#-INTD#. */
  interruptPin?: number;
  /** Up to six BARs (undefined = not implemented, reads 0). */
  bars?: readonly (PciBar | undefined)[];
  /** Command register power-on value (default 0). */
  command?: number;
  /** Which command bits are writable (default 0x0547: I/O, memory, bus master, parity, SERR#, INTx disable). */
  commandWritable?: number;
  /** Status register power-on value: the read-only capability bits (default 0). */
  status?: number;
  /** Called after any configuration write, with the range written (device-specific registers, PAM, PIRQ routing...). */
  onConfigWrite?(offset: number, size: AccessSize): void;
  /** Called when a BAR or the command register's I/O / memory enables change: (un)map the device. */
  onRemap?(): void;
}

// Header offsets
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE = 0x0c;
export const PCI_LATENCY = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

/** Command register bits. */
export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;

/** Status bits cleared by writing 1: parity error, system error, master/target aborts, master data parity error. */
const STATUS_W1C = 0xf900;

/**
 * A PCI function's type 0 configuration space with the standard access
 * rules. Devices either use it as is (identity + BARs) or extend it and
 * react in `onConfigWrite` / `onRemap`.
 */
export class PciFunction implements PciDevice {
  readonly name: string;
  /** The 256 configuration bytes. */
  readonly config = new Uint8Array(256);
  /** Bits a configuration write may change. */
  private readonly writable = new Uint8Array(256);
  /** Bits a configuration write of 1 clears. */
  private readonly clearable = new Uint8Array(256);
  private readonly bars: readonly (PciBar | undefined)[];
  private readonly onConfigWrite: ((offset: number, size: AccessSize) => void) | undefined;
  private readonly onRemap: (() => void) | undefined;

  /**
   * Take back a snapshot's configuration bytes, then redo what they imply as a write of each dword would: the BARs'
   * decoding (onRemap) and the owner's reaction (onConfigWrite: the chipset's PAM, the PIRQ routing, INTx).
   */
  restoreConfig(bytes: Uint8Array): void {
    this.config.set(bytes);
    this.onRemap?.();
    for (let offset = 0; offset < 256; offset += 4) this.onConfigWrite?.(offset, 4);
  }

  constructor(init: PciFunctionInit) {
    this.name = init.name;
    this.onConfigWrite = init.onConfigWrite;
    this.onRemap = init.onRemap;
    this.set16(PCI_VENDOR_ID, init.vendorId);
    this.set16(PCI_DEVICE_ID, init.deviceId);
    this.set16(PCI_COMMAND, init.command ?? 0);
    this.set16(PCI_STATUS, init.status ?? 0);
    this.config[PCI_REVISION] = init.revision ?? 0;
    this.config[PCI_CLASS_PROG] = init.classCode & 0xff;
    this.config[PCI_CLASS_PROG + 1] = (init.classCode >> 8) & 0xff;
    this.config[PCI_CLASS_PROG + 2] = (init.classCode >> 16) & 0xff;
    this.config[PCI_HEADER_TYPE] = (init.headerType ?? 0) & 0x7f;
    this.set16(PCI_SUBSYSTEM_VENDOR, init.subsystemVendorId ?? 0);
    this.set16(PCI_SUBSYSTEM_ID, init.subsystemId ?? 0);
    this.config[PCI_INTERRUPT_PIN] = init.interruptPin ?? 0;

    const cw = init.commandWritable ?? 0x0547;
    this.writable[PCI_COMMAND] = cw & 0xff;
    this.writable[PCI_COMMAND + 1] = (cw >> 8) & 0xff;
    this.clearable[PCI_STATUS] = STATUS_W1C & 0xff;
    this.clearable[PCI_STATUS + 1] = STATUS_W1C >> 8;
    this.writable[PCI_CACHE_LINE] = 0xff;
    this.writable[PCI_LATENCY] = 0xff;
    this.writable[PCI_INTERRUPT_LINE] = 0xff;

    this.bars = init.bars ?? [];
    if (this.bars.length > 6) throw new Error(`${init.name}: a type 0 header has six BARs`);
    this.bars.forEach((bar, i) => {
      if (!bar) return;
      const min = bar.kind === "io" ? 4 : 16;
      if (bar.size < min || (bar.size & (bar.size - 1)) !== 0 || bar.size > 0x80000000) {
        throw new Error(`${init.name}: BAR${i} size ${bar.size} is not a power of two ≥ ${min}`);
      }
      const flags = bar.kind === "io" ? 0x1 : bar.prefetchable ? 0x8 : 0x0;
      const mask = (~(bar.size - 1) & (bar.kind === "io" ? 0xfffffffc : 0xfffffff0)) >>> 0;
      this.set32(PCI_BAR0 + 4 * i, flags);
      for (let b = 0; b < 4; b++) this.writable[PCI_BAR0 + 4 * i + b] = (mask >>> (8 * b)) & 0xff;
    });
  }

  /** Set a 16-bit field (device set-up; ignores write masks). */
  set16(offset: number, v: number): void {
    this.config[offset] = v & 0xff;
    this.config[offset + 1] = (v >> 8) & 0xff;
  }

  /** Set a 32-bit field (device set-up; ignores write masks). */
  set32(offset: number, v: number): void {
    for (let b = 0; b < 4; b++) this.config[offset + b] = (v >>> (8 * b)) & 0xff;
  }

  /** Read a little-endian field of the configuration space. */
  get(offset: number, size: AccessSize): number {
    let v = 0;
    for (let b = 0; b < size; b++) v |= this.config[offset + b]! << (8 * b);
    return v >>> 0;
  }

  /** Make bits of device-specific registers guest-writable (set-up). */
  setWritable(offset: number, mask: number, length = 1): void {
    for (let i = 0; i < length; i++) this.writable[offset + i] = mask & 0xff;
  }

  /** The command register. */
  get command(): number {
    return this.get(PCI_COMMAND, 2);
  }

  /**
   * BAR `i`'s current address, or null when it is not implemented, not
   * enabled in the command register, or not yet assigned (0).
   */
  barAddress(i: number): number | null {
    const bar = this.bars[i];
    if (!bar) return null;
    const enable = bar.kind === "io" ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    if ((this.command & enable) === 0) return null;
    const raw = this.get(PCI_BAR0 + 4 * i, 4);
    const base = bar.kind === "io" ? raw & 0xfffffffc : raw & 0xfffffff0;
    return base === 0 ? null : base >>> 0;
  }

  /** The BAR definition `i` (undefined if not implemented). */
  bar(i: number): PciBar | undefined {
    return this.bars[i];
  }

  configRead(offset: number, size: AccessSize): number {
    return this.get(offset & 0xff, size);
  }

  configWrite(offset: number, size: AccessSize, value: number): void {
    offset &= 0xff;
    let remap = false;
    for (let b = 0; b < size && offset + b < 256; b++) {
      const o = offset + b;
      const v = (value >>> (8 * b)) & 0xff;
      const old = this.config[o]!;
      const w = this.writable[o]!;
      const next = ((old & ~w) | (v & w)) & ~(v & this.clearable[o]!);
      this.config[o] = next;
      if (next !== old && ((o >= PCI_BAR0 && o < PCI_BAR0 + 24) || o === PCI_COMMAND)) remap = true;
    }
    this.onConfigWrite?.(offset, size);
    if (remap) this.onRemap?.();
  }
}

/** PCI bus 0: functions by device and function number. */
export class PciBus {
  private readonly functions = new Map<number, PciDevice>();

  /** Attach `dev` as device `slot` (0-31), function `fn` (0-7). */
  add(slot: number, fn: number, dev: PciDevice): void {
    if (slot < 0 || slot > 31 || fn < 0 || fn > 7) throw new RangeError(`PCI: no device ${slot}.${fn}`);
    const devfn = (slot << 3) | fn;
    const other = this.functions.get(devfn);
    if (other) throw new Error(`PCI: ${dev.name} at ${pciAddress(slot, fn)} clashes with ${other.name}`);
    this.functions.set(devfn, dev);
  }

  /** Every function's configuration space, by devfn; `saved` are those whose devices the snapshot holds (others are refused). */
  save(saved: ReadonlySet<PciDevice>): State {
    const out: State = {};
    for (const [devfn, dev] of this.functions) {
      if (!saved.has(dev) || !(dev instanceof PciFunction)) throw new SnapshotError(`savevm: snapshots of a machine with ${dev.name} (PCI ${pciAddress(devfn >> 3, devfn & 7)}) are not supported yet`);
      out[devfn] = dev.config.slice();
    }
    return out;
  }

  /** Take back save()'s configuration spaces (after the devices behind them took back their own state). */
  restore(state: State): void {
    const names = (m: Iterable<string>) => [...m].sort().join(",");
    if (names(Object.keys(state)) !== names([...this.functions.keys()].map(String))) throw new SnapshotError("snapshot: its machine's PCI functions are not this one's (different devices: --disk, --nic, --console, --vga …)");
    for (const [devfn, dev] of this.functions) (dev as PciFunction).restoreConfig(state[devfn] as Uint8Array);
  }

  /** Every function with its device and function number, in bus order (the monitor's info pci). */
  list(): { slot: number; fn: number; dev: PciDevice }[] {
    return [...this.functions.entries()].sort(([a], [b]) => a - b).map(([devfn, dev]) => ({ slot: devfn >> 3, fn: devfn & 7, dev }));
  }

  /** Where `dev` is on the bus ("00:04.0"), if it is. */
  addressOf(dev: PciDevice): string | undefined {
    for (const [devfn, d] of this.functions) if (d === dev) return pciAddress(devfn >> 3, devfn & 7);
    return undefined;
  }

  /** The function at `slot`.`fn`, if any. */
  get(slot: number, fn: number): PciDevice | undefined {
    return this.functions.get((slot << 3) | fn);
  }

  /**
   * A configuration read. A function 0 whose slot has other functions reads
   * with the multi-function bit (header type bit 7) set; functions 1-7 are
   * only visible when function 0 exists, as the spec requires of probing.
   */
  read(slot: number, fn: number, offset: number, size: AccessSize): number {
    const dev = this.functions.get((slot << 3) | fn);
    if (!dev || (fn !== 0 && !this.functions.has(slot << 3))) return allOnes(size);
    let v = dev.configRead(offset, size);
    if (fn === 0 && offset <= PCI_HEADER_TYPE && offset + size > PCI_HEADER_TYPE && this.isMultiFunction(slot)) {
      v |= 0x80 << (8 * (PCI_HEADER_TYPE - offset));
    }
    return v >>> 0;
  }

  /** A configuration write; dropped when nobody decodes it. */
  write(slot: number, fn: number, offset: number, size: AccessSize, value: number): void {
    this.functions.get((slot << 3) | fn)?.configWrite(offset, size, value);
  }

  private isMultiFunction(slot: number): boolean {
    for (let fn = 1; fn < 8; fn++) if (this.functions.has((slot << 3) | fn)) return true;
    return false;
  }
}

/** A function's bus:device.function, as lspci and QEMU write it ("00:04.0"). */
export function pciAddress(slot: number, fn: number): string {
  return `00:${hex2(slot)}.${fn}`;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** CONFIG_ADDRESS bits that exist: enable, bus, device, function, register (30-24 and 1-0 read 0). */
const ADDRESS_MASK = 0x80fffffc;

/**
 * The host bridge's configuration mechanism #1 ports: register at 0xCF8
 * with length 8. `resetControl` receives byte accesses to 0xCF9 (offset 0).
 */
export class PciHost implements PortDevice {
  static readonly PORT = 0xcf8;
  readonly name = "pci-conf1";
  /** CONFIG_ADDRESS as latched. */
  address = 0;

  constructor(private readonly bus: PciBus, private readonly resetControl?: PortDevice) {}

  read(offset: number, size: AccessSize): number {
    if (offset < 4) {
      if (offset === 0 && size === 4) return this.address >>> 0;
      return this.legacyRead(offset, size);
    }
    const a = this.address;
    if (!(a & 0x80000000) || ((a >> 16) & 0xff) !== 0) return allOnes(size);
    return this.bus.read((a >> 11) & 0x1f, (a >> 8) & 7, (a & 0xfc) + (offset - 4), size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset < 4) {
      if (offset === 0 && size === 4) this.address = (value & ADDRESS_MASK) >>> 0;
      else this.legacyWrite(offset, size, value);
      return;
    }
    const a = this.address;
    if (!(a & 0x80000000) || ((a >> 16) & 0xff) !== 0) return;
    this.bus.write((a >> 11) & 0x1f, (a >> 8) & 7, (a & 0xfc) + (offset - 4), size, value);
  }

  /** Non-dword accesses to 0xCF8-0xCFB are ordinary I/O: only 0xCF9 (reset control) answers. */
  private legacyRead(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const b = o === 1 && this.resetControl ? this.resetControl.read(0, 1) & 0xff : 0xff;
      v |= b << (8 * i);
    }
    return v >>> 0;
  }

  private legacyWrite(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      if (offset + i === 1) this.resetControl?.write(0, 1, (value >>> (8 * i)) & 0xff);
    }
  }
}

/** The 82441FX's PAM0 register: the BIOS area 0xF0000-0xFFFFF, bits 5:4 (read enable, write enable; 82441FX datasheet). */
export const I440FX_PAM0 = 0x59;

/** Intel 82441FX (440FX PMC) host bridge at 00:00.0. */
export function createI440fx(opts: { onConfigWrite?(fn: PciFunction, offset: number, size: AccessSize): void } = {}): PciFunction {
  const f: PciFunction = new PciFunction({
    name: "i440fx",
    vendorId: 0x8086,
    deviceId: 0x1237,
    revision: 0x02,
    classCode: 0x060000,
    command: 0x0006,
    commandWritable: 0x0140,
    status: 0x0280,
    // QEMU's subsystem IDs (Red Hat, "QEMU virtual machine"), which SeaBIOS checks to know it runs on QEMU's i440fx.
    subsystemVendorId: 0x1af4,
    subsystemId: 0x1100,
    onConfigWrite: (o, s) => opts.onConfigWrite?.(f, o, s),
  });
  // Device-specific registers (PMCCFG, DRAM control, PAM0-6, DRB0-7, SMRAM...) are plain read/write.
  f.setWritable(0x40, 0xff, 0xc0);
  f.config[0x72] = 0x02; // SMRAM: C_BASE_SEG = 010 (A0000h)
  return f;
}

/** PIRQ route control registers of the PIIX3 (0x60-0x63: PIRQA#-PIRQD#). */
export const PIIX_PIRQRC = 0x60;

/** The PIIX3 PCI-to-ISA bridge function at 00:01.0. */
export class Piix3IsaBridge extends PciFunction {
  constructor(opts: { onConfigWrite?(offset: number, size: AccessSize): void } = {}) {
    super({
      name: "piix3-isa",
      vendorId: 0x8086,
      deviceId: 0x7000,
      classCode: 0x060100,
      command: 0x0007,
      commandWritable: 0x0008,
      status: 0x0200,
      onConfigWrite: opts.onConfigWrite,
    });
    this.setWritable(0x40, 0xff, 0xc0);
    this.config[0x4c] = 0x4d; // IORT
    this.config[0x4e] = 0x03; // XBCS
    for (let i = 0; i < 4; i++) this.config[PIIX_PIRQRC + i] = 0x80; // PIRQx routing disabled
    this.config[0x69] = 0x02; // TOM
    this.config[0x70] = this.config[0x71] = 0x80; // MBIRQ disabled
    this.config[0x76] = this.config[0x77] = 0x0c; // MBDMA disabled
    this.config[0xa0] = 0x08; // SMICNTL
    this.config[0xa8] = 0x0f; // FTMR
  }

  /**
   * The ISA IRQ PIRQ`n` (0-3 = A-D) is routed to, or null when routing is
   * disabled (bit 7) or names a reserved IRQ (0-2, 8, 13).
   */
  pirqRoute(n: number): number | null {
    const v = this.config[PIIX_PIRQRC + n]!;
    if (v & 0x80) return null;
    const irq = v & 0x0f;
    return irq < 3 || irq === 8 || irq === 13 ? null : irq;
  }
}

/**
 * The I/O APIC input of PIRQA (B-D follow): our board wires the PIRQ lines to pins 16-19 besides routing them
 * to ISA IRQs (QEMU's i440FX has only the ISA route); our MP table and the DSDT's _PRT name these pins.
 */
export const PCI_IOAPIC_PIN_BASE = 16;

/**
 * Which PIRQ line a device's INTx pin reaches on the PIIX board: pins
 * rotate by slot ((slot - 1 + pin) mod 4, pin 0 = INTA#), the wiring
 * QEMU's i440FX machine and SeaBIOS's $PIR table describe.
 */
export function pirqForSlot(slot: number, pin: number): number {
  return (((slot - 1 + pin) % 4) + 4) % 4;
}

/**
 * Level-triggered, shareable PCI INTx delivery through the PIIX3 PIRQ
 * routers to ISA IRQs: a routed ISA line is asserted while any device on
 * any PIRQ routed to it asserts its pin. Call {@link reroute} after the
 * guest rewrites PIRQRC (from the bridge's onConfigWrite).
 */
export class PciIntxRouter {
  /** Asserted sources per PIRQ. */
  private readonly asserted: Set<string>[] = [new Set(), new Set(), new Set(), new Set()];
  private readonly levels = new Map<number, boolean>();

  private readonly pirqLevels = [false, false, false, false];

  constructor(
    private readonly bridge: Piix3IsaBridge,
    private readonly setIrq: (irq: number, level: boolean) => void,
    /** A second sink that sees the PIRQ lines themselves (the I/O APIC's pins 16-19 on the i440FX board). */
    private readonly setPirq?: (pirq: number, level: boolean) => void,
  ) {}

  /** Device at `slot` drives its pin (0 = INTA#) to `level`. */
  setIntx(slot: number, pin: number, level: boolean): void {
    const n = pirqForSlot(slot, pin);
    const set = this.asserted[n]!;
    const key = `${slot}:${pin}`;
    if (level) set.add(key);
    else set.delete(key);
    const pirq = set.size > 0;
    if (pirq !== this.pirqLevels[n]) {
      this.pirqLevels[n] = pirq;
      this.setPirq?.(n, pirq);
    }
    this.reroute();
  }

  /** Recompute every ISA line fed by a PIRQ. */
  reroute(): void {
    const want = new Map<number, boolean>();
    for (const irq of this.levels.keys()) want.set(irq, false);
    for (let n = 0; n < 4; n++) {
      const irq = this.bridge.pirqRoute(n);
      if (irq === null) continue;
      want.set(irq, (want.get(irq) ?? false) || this.asserted[n]!.size > 0);
    }
    for (const [irq, level] of want) {
      if ((this.levels.get(irq) ?? false) !== level) this.setIrq(irq, level);
      if (level) this.levels.set(irq, true);
      else this.levels.delete(irq);
    }
  }
}
