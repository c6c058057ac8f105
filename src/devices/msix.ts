/**
 * MSI-X for a PCI function (PCI Local Bus 3.0, §6.8.2): the capability in
 * configuration space, the vector table and the pending-bit array in a
 * memory BAR, and interrupt messages delivered on the APIC bus as the
 * chipset turns a memory write to 0xFEExxxxx into one (Intel SDM vol. 3,
 * 10.11: address bits 19:12 destination, bit 2 logical; data bits 7:0
 * vector, 10:8 delivery mode, 15 level-triggered).
 *
 * Why: with the pin (INTx) every interrupt of a virtio device costs the
 * guest an ISR read and, through the I/O APIC's level-triggered entry, an
 * APIC TMR read — exits on every request. A message per queue needs
 * neither: Linux acknowledges it with one EOI.
 *
 * ```
 * capability: +0 ID 0x11, next   +2 message control (10:0 table size − 1,
 *             14 function mask, 15 enable)   +4 table offset | BIR   +8 PBA offset | BIR
 * table BAR:  0x000 entries of 16 bytes (address low, address high, data,
 *             vector control bit 0 = masked)   0x800 pending bits
 * ```
 *
 * @module
 */
import type { AccessSize, MmioDevice } from "../vmm/bus.js";
import type { ApicMessage } from "./apic-bus.js";
import type { PciFunction } from "./pci.js";

export const PCI_CAP_ID_MSIX = 0x11;
/** Size of the memory BAR holding the table (at 0) and the pending bits (at {@link MSIX_PBA_OFFSET}). */
export const MSIX_BAR_SIZE = 0x1000;
export const MSIX_PBA_OFFSET = 0x800;
const ENTRY = 16;
const CONTROL_ENABLE = 0x8000, CONTROL_FUNCTION_MASK = 0x4000;
const VECTOR_MASKED = 1;

export interface MsixStats {
  /** Messages delivered. */
  sent: number;
  /** Messages held pending because their vector or the function was masked. */
  heldPending: number;
  /** Messages whose address was not the APIC's 0xFEExxxxx (dropped). */
  badAddress: number;
}

export class Msix {
  private readonly table: Uint8Array;
  private readonly pending: Uint8Array;
  readonly stats: MsixStats = { sent: 0, heldPending: 0, badAddress: 0 };
  /** The table and pending bits, for the function's BAR decoder. */
  readonly mmio: MmioDevice;

  /**
   * @param cap  where the capability goes in `fn`'s configuration space (its `next` byte is `next`)
   * @param bar  the memory BAR (size {@link MSIX_BAR_SIZE}) that holds the table
   * @param send puts a message on the APIC bus
   */
  constructor(private readonly fn: PciFunction, private readonly cap: number, next: number, readonly vectors: number, bar: number,
    private readonly send: (msg: ApicMessage) => void) {
    if (vectors < 1 || vectors * ENTRY > MSIX_PBA_OFFSET) throw new Error(`${fn.name}: MSI-X table of ${vectors} vectors does not fit`);
    this.table = new Uint8Array(vectors * ENTRY);
    this.pending = new Uint8Array(Math.ceil(vectors / 64) * 8);
    fn.config.set([PCI_CAP_ID_MSIX, next], cap);
    fn.set16(cap + 2, vectors - 1);
    fn.setWritable(cap + 3, (CONTROL_ENABLE | CONTROL_FUNCTION_MASK) >> 8);
    fn.set32(cap + 4, 0 | bar);
    fn.set32(cap + 8, MSIX_PBA_OFFSET | bar);
    this.reset();
    this.mmio = { name: `${fn.name}-msix`, read: (o, s) => this.read(o, s), write: (o, s, v) => this.write(o, s, v) };
  }

  private get control(): number { return this.fn.get(this.cap + 2, 2); }

  /** MSI-X is on: the function signals by message only (its pin stays deasserted). */
  get enabled(): boolean { return (this.control & CONTROL_ENABLE) !== 0; }

  /** Power-on and function reset: every vector masked, nothing pending, the capability disabled. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * ENTRY + 12] = VECTOR_MASKED;
    this.pending.fill(0);
    this.fn.set16(this.cap + 2, this.vectors - 1);
  }

  /** Signal vector `v`: delivered now, or left pending while it (or the function) is masked. Out of range: nothing. */
  notify(v: number): void {
    if (!this.enabled || v < 0 || v >= this.vectors) return;
    if (this.masked(v)) {
      this.pending[v >> 3]! |= 1 << (v & 7);
      this.stats.heldPending++;
      return;
    }
    this.deliver(v);
  }

  /** Call after a configuration write: unmasking the function delivers what is pending. */
  configWritten(): void { this.flushPending(); }

  private masked(v: number): boolean {
    return (this.control & CONTROL_FUNCTION_MASK) !== 0 || (this.table[v * ENTRY + 12]! & VECTOR_MASKED) !== 0;
  }

  private entry32(v: number, field: number): number {
    const o = v * ENTRY + field;
    return (this.table[o]! | (this.table[o + 1]! << 8) | (this.table[o + 2]! << 16) | (this.table[o + 3]! << 24)) >>> 0;
  }

  private deliver(v: number): void {
    const address = this.entry32(v, 0), high = this.entry32(v, 4), data = this.entry32(v, 8);
    if (high !== 0 || (address >>> 20) !== 0xfee) { this.stats.badAddress++; return; }
    this.stats.sent++;
    this.send({
      vector: data & 0xff,
      mode: (data >> 8) & 7,
      logical: (address & 4) !== 0,
      dest: (address >>> 12) & 0xff,
      level: (data & 0x8000) !== 0,
      assert: true,
    });
  }

  private flushPending(): void {
    if (!this.enabled) return;
    for (let v = 0; v < this.vectors; v++) {
      const bit = 1 << (v & 7);
      if ((this.pending[v >> 3]! & bit) && !this.masked(v)) {
        this.pending[v >> 3]! &= ~bit;
        this.deliver(v);
      }
    }
  }

  private read(offset: number, size: AccessSize): number {
    const bytes = offset >= MSIX_PBA_OFFSET ? this.pending : this.table;
    const at = offset >= MSIX_PBA_OFFSET ? offset - MSIX_PBA_OFFSET : offset;
    let v = 0;
    for (let b = 0; b < size; b++) v |= (bytes[at + b] ?? 0) << (8 * b);
    return v >>> 0;
  }

  private write(offset: number, size: AccessSize, value: number): void {
    if (offset >= this.table.length) return; // the pending bits are read-only
    for (let b = 0; b < size && offset + b < this.table.length; b++) {
      const o = offset + b;
      // Vector control: only the mask bit is defined.
      this.table[o] = o % ENTRY === 12 ? (value >>> (8 * b)) & VECTOR_MASKED : (o % ENTRY > 12 ? 0 : (value >>> (8 * b)) & 0xff);
    }
    this.flushPending();
  }
}
