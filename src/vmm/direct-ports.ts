/**
 * Direct (pass-through) port I/O — the VMM's side of VT-x's I/O bitmap.
 *
 * By default every IN and OUT leaves the core as an exit and the run loop
 * hands it to the port bus. A port the VMM marks *direct* for reads and/or
 * writes is instead served inside the instruction: the core finds the bit
 * set in its I/O bitmap (assembly/cpu/ops/io.ts, layout IO_DIRECT_IN/OUT) and
 * calls back into the host synchronously (Wasm: an imported function; JS: a
 * function handed to the core), which lands here and goes straight to the
 * device registered for the port — no exit, no run-loop turn. This is what
 * a passthrough device looks like to a VMM with hardware virtualization, and
 * what VPIO (seed 004) builds on: only the ports its device model needs stay
 * hooked (exiting); everything else is direct.
 *
 * A direct device must not stop the VM from inside an access (it runs in the
 * middle of an instruction); if the access raises an interrupt the VM kicks
 * the core so that run() returns after the instruction and the interrupt is
 * offered at once (see {@link DirectPorts.kick}).
 *
 * Counters: every port access is counted per port, as an exit (by the run
 * loop) or as a direct access (here).
 *
 * @module
 */
import type { Engine } from "../engine/engine.js";
import type { AccessSize, PortDevice } from "./bus.js";

interface Registration { base: number; length: number; device: PortDevice }

export interface PortAccessCounts { exits: number; direct: number }

export class DirectPorts {
  /** Per port: accesses that left the core as exits (counted by the run loop). */
  readonly exits = new Uint32Array(0x10000);
  /** Per port: accesses served directly. */
  readonly direct = new Uint32Array(0x10000);
  private readonly registrations: (Registration | undefined)[] = [];
  /** port → registration index + 1 (0: not direct for either direction). */
  private readonly table = new Uint16Array(0x10000);
  private inAccess = false;

  constructor(private readonly engine: Engine) {
    engine.setDirectPortHandler({
      read: (port, size) => this.read(port, size as AccessSize),
      write: (port, size, value) => this.write(port, size as AccessSize, value >>> 0), // the core passes an i32
    });
  }

  /**
   * Serve ports [base, base + length) of `device` without exits, for reads
   * and/or writes as `mode` says; `mode` false for both hooks them again
   * (they exit to the port bus). The device sees port `base` as offset
   * `deviceOffset` (a device whose ports are split between direct and hooked
   * ones is mapped a range at a time). Re-mapping a range replaces whatever
   * was direct there before.
   */
  set(base: number, length: number, device: PortDevice, mode: { read: boolean; write: boolean }, deviceOffset = 0): void {
    if (!Number.isInteger(base) || !Number.isInteger(length) || length <= 0 || base < 0 || base + length > 0x10000) {
      throw new Error(`direct ports: invalid range for ${device.name}: base ${base}, length ${length}`);
    }
    this.unset(base, length);
    if (mode.read || mode.write) {
      let slot = this.registrations.indexOf(undefined);
      if (slot < 0) { slot = this.registrations.length; this.registrations.push(undefined); }
      this.registrations[slot] = { base: base - deviceOffset, length: length + deviceOffset, device };
      this.table.fill(slot + 1, base, base + length);
    }
    for (let p = base; p < base + length; p++) { this.setBit(0, p, mode.read); this.setBit(1, p, mode.write); }
  }

  /** Hook every port of [base, base + length) again (both directions). */
  unset(base: number, length: number): void {
    for (let p = base; p < base + length; p++) {
      this.setBit(0, p, false);
      this.setBit(1, p, false);
      const idx = this.table[p]!;
      if (idx === 0) continue;
      this.table[p] = 0;
      const r = this.registrations[idx - 1]!;
      let used = false;
      for (let q = r.base; q < r.base + r.length && !used; q++) used = this.table[q] === idx;
      if (!used) this.registrations[idx - 1] = undefined;
    }
  }

  /** Whether reads (out = false) or writes (out = true) of `port` are direct. */
  isDirect(port: number, out: boolean): boolean {
    const bitmap = this.engine.core.ioDirectBase(out ? 1 : 0);
    return ((new Uint8Array(this.engine.buffer)[bitmap + ((port & 0xffff) >> 3)]! >> (port & 7)) & 1) !== 0;
  }

  /** Exits and direct accesses of `port` so far. */
  counts(port: number): PortAccessCounts {
    return { exits: this.exits[port & 0xffff]!, direct: this.direct[port & 0xffff]! };
  }

  /** Sum of the counts over [base, base + length). */
  countsIn(base: number, length: number): PortAccessCounts {
    let exits = 0, direct = 0;
    for (let p = base; p < base + length; p++) { exits += this.exits[p]!; direct += this.direct[p]!; }
    return { exits, direct };
  }

  /** Reset all counters (benchmarks measure a phase). */
  resetCounts(): void { this.exits.fill(0); this.direct.fill(0); }

  /**
   * End run() after the current instruction if a direct access is being
   * served (an interrupt line changed, a device needs the VMM): called by the
   * interrupt controller's output-change hook and by device models.
   */
  kick(): void { if (this.inAccess) this.engine.core.kick(); }

  private setBit(out: number, port: number, on: boolean): void {
    const mem = new Uint8Array(this.engine.buffer);
    const a = this.engine.core.ioDirectBase(out) + (port >> 3);
    mem[a] = on ? mem[a]! | (1 << (port & 7)) : mem[a]! & ~(1 << (port & 7));
  }

  private read(port: number, size: AccessSize): number {
    this.direct[port]!++;
    this.inAccess = true;
    try {
      const idx = this.table[port]!;
      const r = this.registrations[idx - 1];
      if (r && port - r.base + size <= r.length) return r.device.read(port - r.base, size);
      // Crosses the end of a registration: byte by byte, as the port bus does.
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.readByte((port + i) & 0xffff) << (8 * i);
      return v >>> 0;
    } finally {
      this.inAccess = false;
    }
  }

  private write(port: number, size: AccessSize, value: number): void {
    this.direct[port]!++;
    this.inAccess = true;
    try {
      const idx = this.table[port]!;
      const r = this.registrations[idx - 1];
      if (r && port - r.base + size <= r.length) { r.device.write(port - r.base, size, value); return; }
      for (let i = 0; i < size; i++) {
        const p = (port + i) & 0xffff;
        const q = this.registrations[this.table[p]! - 1];
        q?.device.write(p - q.base, 1, (value >>> (8 * i)) & 0xff);
      }
    } finally {
      this.inAccess = false;
    }
  }

  private readByte(p: number): number {
    const r = this.registrations[this.table[p]! - 1];
    return r ? r.device.read(p - r.base, 1) & 0xff : 0xff;
  }
}
