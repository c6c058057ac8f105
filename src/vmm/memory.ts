/**
 * Guest-physical memory as the VMM and its devices see it: reads and writes by
 * guest-physical address (GPA), checked against what the guest's memory map
 * backs. Every device that moves data (DMA, descriptor rings, loaders) goes
 * through here, never through raw offsets into the core's memory, so a guest
 * cannot make a device reach core metadata or another VM's frames.
 *
 * @module
 */
import type { Engine } from "../engine/engine.js";

/** A guest-physical access that the memory map does not back with RAM. */
export class GuestMemoryError extends RangeError {
  constructor(readonly gpa: number, readonly length: number, why: string) {
    super(`guest-physical range 0x${(gpa >>> 0).toString(16)}+0x${length.toString(16)} ${why}`);
    this.name = "GuestMemoryError";
  }
}

export class GuestMemory {
  private view: DataView;

  constructor(private readonly engine: Engine, readonly ramBytes: number) {
    this.view = new DataView(engine.buffer);
  }

  private get core() { return this.engine.core; }

  /** The DataView over the core's memory (re-made when the Wasm memory grew). */
  private dv(): DataView {
    if (this.view.buffer !== this.engine.buffer) this.view = new DataView(this.engine.buffer);
    return this.view;
  }

  /**
   * Host offset of [gpa, gpa+len) when all of it is RAM the guest may access,
   * else a GuestMemoryError. (Identity map: RAM is one run at core.ramBase().)
   */
  private host(gpa: number, len: number): number {
    if (!Number.isInteger(gpa) || !Number.isInteger(len) || gpa < 0 || len < 0 || gpa + len > this.ramBytes) {
      throw new GuestMemoryError(gpa, len, `is outside RAM (${this.ramBytes / 1048576} MiB)`);
    }
    return this.core.ramBase() + gpa;
  }

  /** Is all of [gpa, gpa+len) RAM? (What a device checks before it trusts a guest's buffer address.) */
  isRam(gpa: number, len: number): boolean {
    return Number.isInteger(gpa) && Number.isInteger(len) && gpa >= 0 && len >= 0 && gpa + len <= this.ramBytes;
  }

  /** Copy bytes out of guest RAM. */
  read(gpa: number, len: number): Uint8Array {
    const h = this.host(gpa, len);
    return new Uint8Array(this.engine.buffer, h, len).slice();
  }

  /** Copy bytes into guest RAM; code the CPU had cached there is dropped. */
  write(gpa: number, data: Uint8Array): void {
    const h = this.host(gpa, data.length);
    new Uint8Array(this.engine.buffer, h, data.length).set(data);
    this.core.notifyPhysWrite(gpa, data.length);
  }

  /** Fill [gpa, gpa+len) with a byte. */
  fill(gpa: number, len: number, value: number): void {
    const h = this.host(gpa, len);
    new Uint8Array(this.engine.buffer, h, len).fill(value);
    this.core.notifyPhysWrite(gpa, len);
  }

  readU8(gpa: number): number { return this.dv().getUint8(this.host(gpa, 1)); }
  readU16(gpa: number): number { return this.dv().getUint16(this.host(gpa, 2), true); }
  readU32(gpa: number): number { return this.dv().getUint32(this.host(gpa, 4), true); }
  writeU8(gpa: number, v: number): void { this.dv().setUint8(this.host(gpa, 1), v); this.core.notifyPhysWrite(gpa, 1); }
  writeU16(gpa: number, v: number): void { this.dv().setUint16(this.host(gpa, 2), v, true); this.core.notifyPhysWrite(gpa, 2); }
  writeU32(gpa: number, v: number): void { this.dv().setUint32(this.host(gpa, 4), v >>> 0, true); this.core.notifyPhysWrite(gpa, 4); }
}
