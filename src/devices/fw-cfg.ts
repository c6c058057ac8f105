/**
 * QEMU's firmware configuration interface, traditional I/O form (QEMU's
 * docs/specs/fw_cfg.txt): a 16-bit selector written to port 0x510 picks an
 * item, and byte reads of port 0x511 return its bytes in order (zero past
 * the end). Items: signature "QEMU" (0x0000), interface ID 1 — traditional,
 * no DMA (0x0001), RAM size (0x0003, u64), number of CPUs (0x0005, u16),
 * maximum CPUs (0x000F, u16) and an empty file directory (0x0019). That is
 * what kvm-unit-tests (fwcfg_get_nb_cpus, RAM size) and a firmware probing
 * for QEMU read.
 *
 * @module
 */
import type { PortDevice, AccessSize } from "../vmm/bus.js";

export const FW_CFG_PORT = 0x510;

export const enum FwCfgItem { Signature = 0x00, Id = 0x01, RamSize = 0x03, NbCpus = 0x05, MaxCpus = 0x0f, FileDir = 0x19 }

function le(value: number | bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

export class FwCfg implements PortDevice {
  readonly name = "fw-cfg";
  private readonly items = new Map<number, Uint8Array>();
  private current: Uint8Array = new Uint8Array(0);
  private offset = 0;

  constructor(opts: { ramBytes: number; cpus: number }) {
    this.items.set(FwCfgItem.Signature, new TextEncoder().encode("QEMU"));
    this.items.set(FwCfgItem.Id, le(1, 4));
    this.items.set(FwCfgItem.RamSize, le(opts.ramBytes, 8));
    this.items.set(FwCfgItem.NbCpus, le(opts.cpus, 2));
    this.items.set(FwCfgItem.MaxCpus, le(opts.cpus, 2));
    this.items.set(FwCfgItem.FileDir, le(0, 4)); // big-endian count 0: no files
  }

  read(offset: number, size: AccessSize): number {
    if (offset !== 1) return 0;
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.offset < this.current.length ? this.current[this.offset++]! : 0) << (8 * i);
    return v >>> 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    if (offset !== 0) return; // the data port is read-only in the traditional interface
    this.current = this.items.get(value & 0xbfff) ?? new Uint8Array(0); // bit 14 is the write flag; arch items (bit 15) are absent
    this.offset = 0;
  }
}
