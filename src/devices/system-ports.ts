/**
 * The small PIIX3 system ports that have no chip of their own:
 *
 * - **0x61, NMI status and control (system control port B)**: bit 0 timer
 *   counter 2 GATE and bit 1 speaker data enable (read/write), bits 2-3
 *   PCI SERR# / IOCHK# NMI enables (read/write, stored), bit 4 refresh
 *   cycle toggle, bit 5 timer counter 2 OUT, bits 6-7 IOCHK# / SERR# NMI
 *   status (read-only, 0: nothing signals NMIs here). The PIT owns the
 *   timer-2 bits: GATE is forwarded to it and OUT read from it at the
 *   clock's current time (Linux's TSC calibration polls this bit).
 * - **0x92, port 92 ("fast A20 and init")**: bit 1 A20 gate, bit 0 fast
 *   reset (a 0 → 1 transition resets the CPU); the other bits read back.
 * - **0xCF9, reset control register**: bit 1 SYS_RST (hard vs soft reset),
 *   bit 2 RST_CPU (a 0 → 1 transition resets), bit 3 full reset
 *   (PIIX4 and later; accepted). It sits inside the PCI configuration
 *   address register's dword, so the PCI host forwards byte accesses of
 *   0xCF9 to it (see pci.ts) instead of it being registered on its own.
 *
 * And {@link A20Gate}, which ORs the two A20 sources (8042 output port and
 * port 92), as the PIIX does, into one callback for the core.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";
import type { VirtualClock } from "../vmm/clock.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";

/** What port 0x61 needs from the PIT (an {@link I8254} provides it). */
export interface Timer2Lines {
  setGate(channel: number, level: boolean): void;
  out(channel: number): boolean;
}

/** Half-period of the refresh toggle (port 0x61 bit 4): 15.085 µs, the PC's DRAM refresh interval. */
export const REFRESH_TOGGLE_NS = 15085;

/** System control port B at 0x61 (length 1). */
export class SystemControlB implements PortDevice {
  static readonly DEFAULT_PORT = 0x61;
  readonly name = "port61";
  /** Bits 0-3 as written. */
  private control = 0;

  constructor(private readonly pit: Timer2Lines, private readonly clock: VirtualClock) {
    this.pit.setGate(2, false);
  }

  /** Speaker data enable (bit 1): the speaker sounds channel 2's OUT when set. */
  get speakerEnabled(): boolean {
    return (this.control & 0x02) !== 0;
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise(() => {
      const refresh = Math.floor(this.clock.nowNs() / REFRESH_TOGGLE_NS) & 1;
      return this.control | (refresh << 4) | (this.pit.out(2) ? 0x20 : 0);
    }, offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((_o, v) => {
      const old = this.control;
      this.control = v & 0x0f;
      if ((old ^ v) & 0x01) this.pit.setGate(2, (v & 0x01) !== 0);
    }, offset, size, value);
  }
}

/** Port 0x92 (length 1). */
export class Port92 implements PortDevice {
  static readonly DEFAULT_PORT = 0x92;
  readonly name = "port92";
  private value = 0x00; // A20 comes from the 8042 output port at power-on

  constructor(private readonly opts: { setA20?(enabled: boolean): void; onReset?(): void }) {}

  read(offset: number, size: AccessSize): number {
    return readBytewise(() => this.value, offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((_o, v) => {
      const old = this.value;
      this.value = v;
      if ((old ^ v) & 0x02) this.opts.setA20?.((v & 0x02) !== 0);
      if (v & 0x01 && !(old & 0x01)) this.opts.onReset?.();
    }, offset, size, value);
  }
}

/** Kind of reset 0xCF9 asks for: SYS_RST = 1 → hard, 0 → soft (INIT); bit 3 → full. */
export type ResetKind = "soft" | "hard" | "full";

/** Reset control register (PIIX RC), one byte; see the module comment for where it is decoded. */
export class ResetControl implements PortDevice {
  static readonly PORT = 0xcf9;
  readonly name = "reset-control";
  private value = 0;

  constructor(private readonly onReset: (kind: ResetKind) => void) {}

  read(offset: number, size: AccessSize): number {
    return readBytewise(() => this.value, offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((_o, v) => {
      // RST_CPU (bit 2) is a trigger: it reads back 0, so every write of it is a 0 → 1 transition.
      this.value = v & 0x0a;
      if (v & 0x04) this.onReset(v & 0x08 ? "full" : v & 0x02 ? "hard" : "soft");
    }, offset, size, value);
  }
}

/**
 * A20 = 8042 output port bit 1 OR port 92 bit 1. Calls `apply` when the
 * combined gate changes (the VM passes `core.setA20`).
 */
export class A20Gate {
  private kbc = true;
  private fast = false;
  private current = true;

  constructor(private readonly apply: (enabled: boolean) => void) {}

  /** From the 8042 output port. */
  setKbc(enabled: boolean): void {
    this.kbc = enabled;
    this.update();
  }

  /** From port 92. */
  setFast(enabled: boolean): void {
    this.fast = enabled;
    this.update();
  }

  get enabled(): boolean {
    return this.current;
  }

  save(): State { return saveFields(this); }
  restore(state: State): void { restoreFields(this, state); this.apply(this.current); }

  private update(): void {
    const e = this.kbc || this.fast;
    if (e !== this.current) {
      this.current = e;
      this.apply(e);
    }
  }
}
