/**
 * QEMU's firmware configuration interface, traditional I/O form (QEMU's
 * docs/specs/fw_cfg.txt): a 16-bit selector written to port 0x510 picks an
 * item, and byte reads of port 0x511 return its bytes in order (zero past
 * the end). Items: signature "QEMU" (0x0000), interface ID 1 — traditional,
 * no DMA (0x0001), RAM size (0x0003, u64), number of CPUs (0x0005, u16),
 * maximum CPUs (0x000F, u16) and the file directory (0x0019: a big-endian
 * count, then per file its big-endian size and selector, two reserved bytes
 * and a 56-byte NUL-padded name), the files at selectors 0x0020 on. That is
 * what kvm-unit-tests (fwcfg_get_nb_cpus, RAM size) and a firmware probing
 * for QEMU read; the PC adds QEMU's `etc/e820`, the memory map SeaBIOS reads
 * before the CMOS, the ACPI tables with their linker script (boot/acpi.ts)
 * and the x86 item IRQ0_OVERRIDE.
 *
 * @module
 */
import type { PortDevice, AccessSize } from "../vmm/bus.js";
import type { State } from "../vmm/snapshot.js";

export const FW_CFG_PORT = 0x510;

export const enum FwCfgItem {
  Signature = 0x00, Id = 0x01, RamSize = 0x03, NbCpus = 0x05, MaxCpus = 0x0f, FileDir = 0x19, FileFirst = 0x20,
  /** x86 item (FW_CFG_ARCH_LOCAL + 2): ISA IRQ 0 reaches I/O APIC pin 2, so a firmware's MP table says so (SeaBIOS's "etc/irq0-override"). */
  Irq0Override = 0x8002,
}
/** Bytes of a file's name in the directory (NUL-padded). */
const FILE_NAME_BYTES = 56;

/** `value` as `bytes` little-endian bytes: an item's or a file's integer, as QEMU's fw_cfg_add_i16/i32/i64 store it. */
export function le(value: number | bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** An E820 address-range type: usable RAM (ACPI 6.4, 15.1). */
export const E820_RAM = 1;

/**
 * QEMU's `etc/e820` (hw/i386/e820_memory_layout.h, struct e820_entry): per range a little-endian u64 base,
 * u64 length and u32 type, 20 bytes, packed. QEMU's PC lists its RAM below 4 GiB as one range from 0.
 */
export function e820Table(ranges: readonly { base: number; length: number; type: number }[]): Uint8Array {
  const out = new Uint8Array(20 * ranges.length);
  const v = new DataView(out.buffer);
  ranges.forEach((r, i) => {
    v.setBigUint64(20 * i, BigInt(r.base), true);
    v.setBigUint64(20 * i + 8, BigInt(r.length), true);
    v.setUint32(20 * i + 16, r.type, true);
  });
  return out;
}

export class FwCfg implements PortDevice {
  readonly name = "fw-cfg";
  private readonly items = new Map<number, Uint8Array>();
  private selector = -1;
  private current: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private readonly files: { name: string; data: Uint8Array }[] = [];

  constructor(opts: { ramBytes: number; cpus: number; irq0Override?: boolean }) {
    this.items.set(FwCfgItem.Signature, new TextEncoder().encode("QEMU"));
    this.items.set(FwCfgItem.Id, le(1, 4));
    this.items.set(FwCfgItem.RamSize, le(opts.ramBytes, 8));
    this.items.set(FwCfgItem.NbCpus, le(opts.cpus, 2));
    this.items.set(FwCfgItem.MaxCpus, le(opts.cpus, 2));
    if (opts.irq0Override) this.items.set(FwCfgItem.Irq0Override, le(1, 4));
    this.updateDirectory();
  }

  /** Add a named file (QEMU's `etc/…`); it gets the next selector from 0x0020 and an entry in the directory. */
  addFile(name: string, data: Uint8Array): void {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length >= FILE_NAME_BYTES) throw new Error(`fw_cfg file name too long: ${name}`);
    if (this.files.some((f) => f.name === name)) throw new Error(`fw_cfg file ${name} already exists`);
    this.items.set(FwCfgItem.FileFirst + this.files.length, data);
    this.files.push({ name, data });
    this.updateDirectory();
  }

  private updateDirectory(): void {
    const dir = new Uint8Array(4 + 64 * this.files.length);
    const v = new DataView(dir.buffer);
    v.setUint32(0, this.files.length); // big-endian, as every field of the directory
    this.files.forEach((f, i) => {
      v.setUint32(4 + 64 * i, f.data.length);
      v.setUint16(8 + 64 * i, FwCfgItem.FileFirst + i);
      dir.set(new TextEncoder().encode(f.name), 12 + 64 * i);
    });
    this.items.set(FwCfgItem.FileDir, dir);
  }

  /** The selected item and how far it was read (a snapshot's part). */
  save(): State { return { selector: this.selector, offset: this.offset }; }
  restore(state: State): void { this.select(state.selector as number); this.offset = state.offset as number; }

  read(offset: number, size: AccessSize): number {
    if (offset !== 1) return 0;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.offset < this.current.length ? this.current[this.offset++]! : 0) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    if (offset !== 0) return; // the data port is read-only in the traditional interface
    this.select(value & 0xbfff); // bit 14 is the write flag
    this.offset = 0;
  }

  private select(selector: number): void {
    this.selector = selector;
    this.current = this.items.get(selector) ?? new Uint8Array(0);
  }
}
