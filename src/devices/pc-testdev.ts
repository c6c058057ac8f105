/**
 * QEMU's `pc-testdev` (hw/misc/pc-testdev.c, `-device pc-testdev`): the ISA
 * test device of kvm-unit-tests. Present only when a machine asks for it
 * (`PcOptions.testdev`, CLI `--testdev`). Its parts:
 *
 * | where                | what                                                        |
 * |----------------------|-------------------------------------------------------------|
 * | MMIO 0xFF000000, 64 KiB | "iomem": plain scratch memory, little-endian, zero at power-on |
 * | ports 0xE0-0xE3      | a 32-bit data register: an access of `size` bytes at offset `o` reads/writes bytes o…o+size-1 of it |
 * | ports 0xE8-0xEB      | the same register again (QEMU serves it one byte at a time; same values) |
 * | ports 0xE4-0xE7      | "flush page": a 32-bit write names a guest page whose host mapping QEMU re-protects (no guest-visible effect); reads 0 |
 * | ports 0x2000-0x2017  | IRQ lines: a byte write of v sets ISA IRQ (port - 0x2000) to (v != 0); reads 0 |
 *
 * Only accesses QEMU accepts behave the same: QEMU rejects unaligned
 * accesses to the MMIO window and the ports (no `unaligned` in its
 * MemoryRegionOps), non-dword accesses to 0xE4 and non-byte accesses to
 * 0x2000; here writes of the wrong width to those two are ignored and
 * reads return 0. IRQ lines 16-23 exist in QEMU's region but abort QEMU
 * (an ISA bus has 16 IRQs); here they are ignored.
 *
 * @module
 */
import type { AccessSize, MmioDevice, PortDevice } from "../vmm/bus.js";
import type { State } from "../vmm/snapshot.js";

/** Hooks for {@link PcTestdev}. */
export interface PcTestdevOptions {
  /** Drive ISA IRQ line `line` (0-15) to `level`. */
  setIrq?(line: number, level: boolean): void;
}

function maskOf(size: AccessSize): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

/** The "iomem" MMIO window: 64 KiB of scratch memory. */
export class PcTestdevIomem implements MmioDevice {
  readonly name = "pc-testdev-iomem";
  readonly buf = new Uint8Array(PcTestdev.IOMEM_LENGTH);

  read(offset: number, size: AccessSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.buf[offset + i] ?? 0) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      if (offset + i < this.buf.length) this.buf[offset + i] = (value >>> (8 * i)) & 0xff;
    }
  }
}

/** Ports 0xE0-0xE3 and their byte-wise alias 0xE8-0xEB: one shared 32-bit register. */
export class PcTestdevIoport implements PortDevice {
  constructor(readonly name: string, private readonly dev: PcTestdev) {}

  read(offset: number, size: AccessSize): number {
    const shift = (offset & 3) * 8;
    return ((this.dev.ioportData >>> shift) & maskOf(size)) >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    const shift = (offset & 3) * 8;
    const mask = (maskOf(size) << shift) >>> 0;
    this.dev.ioportData = ((this.dev.ioportData & ~mask) | ((value << shift) & mask)) >>> 0;
  }
}

/** Port 0xE4: "flush page" (write-only; the host-side mprotect has no guest-visible effect). */
export class PcTestdevFlush implements PortDevice {
  readonly name = "pc-testdev-flush-page";
  /** The last page address written (for inspection in tests). */
  lastPage: number | null = null;
  read(): number { return 0; }
  write(offset: number, size: AccessSize, value: number): void {
    if (offset === 0 && size === 4) this.lastPage = (value & ~0xfff) >>> 0;
  }
}

/** Ports 0x2000-0x2017: one byte-wide port per ISA IRQ line. */
export class PcTestdevIrq implements PortDevice {
  readonly name = "pc-testdev-irq-line";
  constructor(private readonly setIrq?: (line: number, level: boolean) => void) {}
  read(): number { return 0; }
  write(offset: number, size: AccessSize, value: number): void {
    if (size !== 1 || offset >= 16) return;
    this.setIrq?.(offset, (value & 0xff) !== 0);
  }
}

/**
 * The whole device; {@link attach} registers its parts at QEMU's addresses.
 */
export class PcTestdev {
  static readonly IOMEM_BASE = 0xff000000;
  static readonly IOMEM_LENGTH = 0x10000;
  static readonly IOPORT = 0xe0;
  static readonly FLUSH_PORT = 0xe4;
  static readonly IOPORT_BYTE = 0xe8;
  static readonly IRQ_PORT = 0x2000;
  static readonly IRQ_PORT_LENGTH = 24;

  ioportData = 0;
  readonly iomem = new PcTestdevIomem();
  readonly ioport = new PcTestdevIoport("pc-testdev-ioport", this);
  readonly ioportByte = new PcTestdevIoport("pc-testdev-ioport-byte", this);
  readonly flush = new PcTestdevFlush();
  readonly irq: PcTestdevIrq;

  constructor(opts: PcTestdevOptions = {}) {
    this.irq = new PcTestdevIrq(opts.setIrq);
  }

  /** Its data register and scratch memory (the IRQ lines' levels are the interrupt controllers' to keep). */
  save(): State { return { ioportData: this.ioportData, iomem: this.iomem.buf.slice(), lastPage: this.flush.lastPage }; }
  restore(state: State): void {
    this.ioportData = state.ioportData as number;
    this.iomem.buf.set(state.iomem as Uint8Array);
    this.flush.lastPage = state.lastPage as number | null;
  }

  /** Register the parts with a VM (anything with addPortDevice/addMmioDevice). */
  attach(vm: {
    addPortDevice(base: number, length: number, dev: PortDevice): void;
    addMmioDevice(base: number, length: number, dev: MmioDevice): void;
  }): void {
    vm.addPortDevice(PcTestdev.IOPORT, 4, this.ioport);
    vm.addPortDevice(PcTestdev.FLUSH_PORT, 4, this.flush);
    vm.addPortDevice(PcTestdev.IOPORT_BYTE, 4, this.ioportByte);
    vm.addPortDevice(PcTestdev.IRQ_PORT, PcTestdev.IRQ_PORT_LENGTH, this.irq);
    vm.addMmioDevice(PcTestdev.IOMEM_BASE, PcTestdev.IOMEM_LENGTH, this.iomem);
  }
}
