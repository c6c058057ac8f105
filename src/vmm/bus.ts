/**
 * Port-I/O and MMIO buses: route a guest access that exited the core to the
 * device model that owns the address, handing the device only an offset
 * relative to where it was registered (devices never know their base, so the
 * same model can sit at COM1 and COM2, or be moved by a PCI BAR).
 *
 * Access splitting (both buses): an access of 2 or 4 bytes that lies wholly
 * inside one registration is delivered to that device once, with its size.
 * An access that crosses the end of a registration (or touches unmapped
 * addresses) is split into byte accesses, each routed on its own, the way a
 * PC chipset breaks a wide cycle to 8-bit ISA devices; unmapped bytes read
 * as 0xff. Splitting only when needed keeps the common case (a device's own
 * 16/32-bit register) to one call. Devices that are byte-wide internally
 * can use {@link readBytewise} / {@link writeBytewise} for the size they are
 * handed.
 *
 * @module
 */

/** Width of one bus access in bytes. */
export type AccessSize = 1 | 2 | 4;

/** A device model reachable through I/O ports; sees offsets from its base. */
export interface PortDevice {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** A device model reachable through physical memory; sees offsets from its base. */
export interface MmioDevice {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** The value a read of an absent device returns: the bus floats high. */
export function allOnes(size: AccessSize): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

function maskFor(size: AccessSize): number {
  return allOnes(size);
}

/**
 * Serve a wide read from a device whose registers are bytes, as an 8-bit
 * ISA device would see it: consecutive byte reads, little-endian.
 */
export function readBytewise(
  readByte: (offset: number) => number,
  offset: number,
  size: AccessSize,
): number {
  if (size === 1) return readByte(offset) & 0xff;
  let v = 0;
  for (let i = 0; i < size; i++) v |= (readByte(offset + i) & 0xff) << (8 * i);
  return v >>> 0;
}

/** Counterpart of {@link readBytewise} for writes (little-endian bytes). */
export function writeBytewise(
  writeByte: (offset: number, value: number) => void,
  offset: number,
  size: AccessSize,
  value: number,
): void {
  if (size === 1) {
    writeByte(offset, value & 0xff);
    return;
  }
  for (let i = 0; i < size; i++) writeByte(offset + i, (value >>> (8 * i)) & 0xff);
}

interface Range<D> {
  base: number;
  length: number;
  device: D;
}

function hex(n: number, digits = 4): string {
  return "0x" + n.toString(16).padStart(digits, "0");
}

/**
 * The 64 KiB I/O port space. Lookup is one typed-array load per access
 * (a 65536-entry table of registration indices) because port I/O exits are
 * among the most frequent exits a PC guest makes (UART, PIC, PIT polling).
 * Port addresses wrap at 0x10000 for accesses that run off the top.
 */
export class PortBus {
  private readonly ranges: (Range<PortDevice> | undefined)[] = [];
  /** port → registration index + 1; 0 means unmapped. */
  private readonly table = new Uint16Array(0x10000);

  /**
   * Map `device` at ports [base, base + length). Throws if any of those
   * ports already belongs to another registration, naming both devices, so
   * that a wrong machine description fails at assembly time, not as a
   * silently shadowed device.
   */
  register(base: number, length: number, device: PortDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(length) || length <= 0 || base < 0 || base + length > 0x10000) {
      throw new Error(`PortBus: invalid range for ${device.name}: base ${hex(base)}, length ${length}`);
    }
    for (let p = base; p < base + length; p++) {
      const idx = this.table[p]!;
      if (idx !== 0) {
        const other = this.ranges[idx - 1]!;
        throw new Error(
          `PortBus: ${device.name} at ${hex(base)}-${hex(base + length - 1)} overlaps ` +
            `${other.device.name} at ${hex(other.base)}-${hex(other.base + other.length - 1)} (port ${hex(p)})`,
        );
      }
    }
    let slot = this.ranges.indexOf(undefined);
    if (slot < 0) {
      slot = this.ranges.length;
      if (slot >= 0xffff) throw new Error("PortBus: too many registrations");
      this.ranges.push(undefined);
    }
    this.ranges[slot] = { base, length, device };
    this.table.fill(slot + 1, base, base + length);
  }

  /** Remove every range registered for `device` (e.g. before moving it). */
  unregister(device: PortDevice): void {
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i];
      if (r && r.device === device) {
        this.table.fill(0, r.base, r.base + r.length);
        this.ranges[i] = undefined;
      }
    }
  }

  /** Registered ranges in port order (the monitor's info mtree). */
  regions(): { readonly base: number; readonly length: number; readonly device: PortDevice }[] {
    return this.ranges.filter((r): r is Range<PortDevice> => r !== undefined).sort((a, b) => a.base - b.base);
  }

  /** Whether some device decodes `port`; the VM uses it to build the core's I/O exit bitmap. */
  isMapped(port: number): boolean {
    return this.table[port & 0xffff] !== 0;
  }

  /** The device decoding `port`, if any (diagnostics, tests). */
  deviceAt(port: number): PortDevice | undefined {
    const idx = this.table[port & 0xffff]!;
    return idx === 0 ? undefined : this.ranges[idx - 1]!.device;
  }

  /** Guest IN: unmapped ports read as all ones for the access size. */
  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const idx = this.table[port]!;
    if (idx !== 0) {
      const r = this.ranges[idx - 1]!;
      const offset = port - r.base;
      if (offset + size <= r.length) {
        const v = r.device.read(offset, size);
        return size === 4 ? v >>> 0 : v & maskFor(size);
      }
    }
    if (size === 1) return 0xff; // unmapped (a byte never crosses a range end)
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read((port + i) & 0xffff, 1) << (8 * i);
    return v >>> 0;
  }

  /** Guest OUT: writes to unmapped ports are dropped, as on a PC. */
  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const idx = this.table[port]!;
    if (idx !== 0) {
      const r = this.ranges[idx - 1]!;
      const offset = port - r.base;
      if (offset + size <= r.length) {
        r.device.write(offset, size, size === 4 ? value >>> 0 : value & maskFor(size));
        return;
      }
    }
    if (size === 1) return; // unmapped
    for (let i = 0; i < size; i++) this.write((port + i) & 0xffff, 1, (value >>> (8 * i)) & 0xff);
  }
}

/**
 * Physical-address MMIO space (32-bit addresses). Regions are few and MMIO
 * exits rarer than port exits, so lookup is a binary search over ranges
 * sorted by base. Addresses wrap at 4 GiB for accesses that run off the top.
 */
export class MmioBus {
  private ranges: Range<MmioDevice>[] = [];
  private last: Range<MmioDevice> | undefined;

  /**
   * Map `device` at [base, base + length). Throws on overlap with an
   * existing region, naming both devices.
   */
  register(base: number, length: number, device: MmioDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(length) || length <= 0 || base < 0 || base + length > 0x100000000) {
      throw new Error(`MmioBus: invalid range for ${device.name}: base ${hex(base, 8)}, length ${length}`);
    }
    for (const r of this.ranges) {
      if (base < r.base + r.length && r.base < base + length) {
        throw new Error(
          `MmioBus: ${device.name} at ${hex(base, 8)}-${hex(base + length - 1, 8)} overlaps ` +
            `${r.device.name} at ${hex(r.base, 8)}-${hex(r.base + r.length - 1, 8)}`,
        );
      }
    }
    this.ranges.push({ base, length, device });
    this.ranges.sort((a, b) => a.base - b.base);
  }

  /** Remove every region registered for `device`. */
  unregister(device: MmioDevice): void {
    this.ranges = this.ranges.filter((r) => r.device !== device);
    this.last = undefined;
  }

  /** Registered regions in address order (the VM mirrors them into the core's MMIO map). */
  regions(): ReadonlyArray<{ readonly base: number; readonly length: number; readonly device: MmioDevice }> {
    return this.ranges;
  }

  private find(addr: number): Range<MmioDevice> | undefined {
    const l = this.last;
    if (l && addr >= l.base && addr - l.base < l.length) return l;
    const rs = this.ranges;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = rs[mid]!;
      if (addr < r.base) hi = mid - 1;
      else if (addr - r.base >= r.length) lo = mid + 1;
      else return (this.last = r);
    }
    return undefined;
  }

  /** Whether some device decodes physical address `addr`. */
  isMapped(addr: number): boolean {
    return this.find(addr >>> 0) !== undefined;
  }

  /** Guest load from MMIO space; unmapped bytes read as 0xff. */
  read(addr: number, size: AccessSize): number {
    addr >>>= 0;
    const r = this.find(addr);
    if (r) {
      const offset = addr - r.base;
      if (offset + size <= r.length) {
        const v = r.device.read(offset, size);
        return size === 4 ? v >>> 0 : v & maskFor(size);
      }
    }
    if (size === 1) return 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.read((addr + i) >>> 0, 1) << (8 * i);
    return v >>> 0;
  }

  /** Guest store to MMIO space; unmapped bytes are dropped. */
  write(addr: number, size: AccessSize, value: number): void {
    addr >>>= 0;
    const r = this.find(addr);
    if (r) {
      const offset = addr - r.base;
      if (offset + size <= r.length) {
        r.device.write(offset, size, size === 4 ? value >>> 0 : value & maskFor(size));
        return;
      }
    }
    if (size === 1) return; // unmapped
    for (let i = 0; i < size; i++) this.write((addr + i) >>> 0, 1, (value >>> (8 * i)) & 0xff);
  }
}
