/**
 * The I/O APIC (82093AA datasheet; QEMU's model has the same registers) at
 * 0xFEC00000: IOREGSEL at offset 0x00, IOWIN at 0x10; registers ID (0),
 * version (1: 0x11 with 24 redirection entries, as QEMU's), arbitration (2)
 * and the redirection table (0x10 + 2n, 0x11 + 2n). Each entry: vector,
 * delivery mode, destination mode, delivery status (read-only), polarity,
 * remote IRR (read-only), trigger mode, mask, destination (bits 63:56).
 *
 * Pins are levels (true = asserted; polarity is a wiring property and is
 * not inverted here, as in QEMU). An edge-triggered pin sends a message on
 * its rising edge; a level-triggered pin sends while asserted and remote
 * IRR is clear, sets remote IRR, and sends again after the local APIC's EOI
 * of that vector if the pin is still asserted.
 *
 * @module
 */
import type { MmioDevice, AccessSize } from "../vmm/bus.js";
import type { ApicBus } from "./apic-bus.js";

export const IOAPIC_BASE = 0xfec00000;
export const IOAPIC_PINS = 24;
const VERSION = 0x11 | ((IOAPIC_PINS - 1) << 16);

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const DELIVERY_STATUS = 1 << 12;
/** Writable bits of an entry's low dword: vector, delivery mode, destination mode, polarity, trigger, mask. */
const LOW_WRITABLE = 0x1afff;

export class IoApic implements MmioDevice {
  readonly name = "ioapic";
  private select = 0;
  private id = 0;
  private readonly low = new Uint32Array(IOAPIC_PINS);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  private readonly levels = new Array<boolean>(IOAPIC_PINS).fill(false);

  constructor(private readonly bus: ApicBus, id = 0) {
    this.id = id & 0xf;
    this.low.fill(MASKED);
    bus.onEoi((vector) => this.eoi(vector));
  }

  read(offset: number, size: AccessSize): number {
    if (offset === 0x00) return this.select;
    if (offset !== 0x10 || size !== 4) return 0;
    return this.readRegister(this.select);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset === 0x00) { this.select = value & 0xff; return; }
    if (offset === 0x10 && size === 4) this.writeRegister(this.select, value >>> 0);
  }

  readRegister(r: number): number {
    if (r === 0) return this.id << 24;
    if (r === 1) return VERSION;
    if (r === 2) return this.id << 24;
    const pin = (r - 0x10) >> 1;
    if (r < 0x10 || pin >= IOAPIC_PINS) return 0xffffffff;
    return (r & 1) === 0 ? this.low[pin]! : this.high[pin]!;
  }

  writeRegister(r: number, v: number): void {
    if (r === 0) { this.id = (v >>> 24) & 0xf; return; }
    const pin = (r - 0x10) >> 1;
    if (r < 0x10 || pin >= IOAPIC_PINS) return;
    if ((r & 1) === 1) { this.high[pin] = (v & 0xff000000) >>> 0; return; }
    const keep = this.low[pin]! & (REMOTE_IRR | DELIVERY_STATUS);
    this.low[pin] = ((v & LOW_WRITABLE) | keep) >>> 0;
    if ((v & LEVEL) === 0) this.low[pin]! &= ~REMOTE_IRR; // edge mode has no remote IRR
    this.service(pin);
  }

  /** Drive input `pin` to `level`. */
  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) throw new RangeError(`IoApic.setPin: no pin ${pin}`);
    const rising = level && !this.levels[pin];
    this.levels[pin] = level;
    const lo = this.low[pin]!;
    if ((lo & LEVEL) !== 0) this.service(pin);
    else if (rising && (lo & MASKED) === 0) this.send(pin);
  }

  /** A level-triggered pin that is asserted, unmasked and not awaiting EOI sends its message. */
  private service(pin: number): void {
    const lo = this.low[pin]!;
    if ((lo & LEVEL) === 0 || (lo & MASKED) !== 0 || (lo & REMOTE_IRR) !== 0 || !this.levels[pin]) return;
    this.low[pin] = (lo | REMOTE_IRR) >>> 0;
    this.send(pin);
  }

  private send(pin: number): void {
    const lo = this.low[pin]!;
    this.bus.send({
      vector: lo & 0xff,
      mode: (lo >> 8) & 7,
      logical: (lo & (1 << 11)) !== 0,
      dest: this.high[pin]! >>> 24,
      level: (lo & LEVEL) !== 0,
      assert: true,
    });
  }

  /**
   * The monitor's `info pic` lines, laid out as QEMU's: the registers, then each pin's entry (raw, destination,
   * vector, polarity, trigger, mask, delivery mode, destination mode), the asserted pins and those awaiting EOI.
   */
  describe(): string[] {
    const modes = ["fixed", "lowest", "SMI", "...", "NMI", "INIT", "...", "extINT"];
    const pins = (set: (pin: number) => boolean) => {
      const on = Array.from({ length: IOAPIC_PINS }, (_, i) => i).filter(set);
      return on.length ? on.join(" ") : "(none)";
    };
    const lines = [`ioapic0: ver=0x${(VERSION & 0xff).toString(16)} id=0x${this.id.toString(16).padStart(2, "0")} sel=0x${this.select.toString(16).padStart(2, "0")}` +
      (this.select >= 0x10 && this.select < 0x10 + 2 * IOAPIC_PINS ? ` (redir[${(this.select - 0x10) >> 1}])` : "")];
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.low[pin]!, hi = this.high[pin]!, logical = (lo & (1 << 11)) !== 0;
      lines.push(`  pin ${String(pin).padEnd(2)} 0x${hi.toString(16).padStart(8, "0")}${lo.toString(16).padStart(8, "0")} ` +
        `dest=${((hi >>> 24) & (logical ? 0xff : 0xf)).toString(16)} vec=${String(lo & 0xff).padEnd(3)} ${lo & (1 << 13) ? "active-lo" : "active-hi"} ` +
        `${(lo & LEVEL ? "level" : "edge").padEnd(5)} ${(lo & MASKED ? "masked" : "").padEnd(6)} ${modes[(lo >> 8) & 7]!.padEnd(6)} ${logical ? "logical" : "physical"}`);
    }
    lines.push(`  IRR ${pins((p) => this.levels[p]!)}`, `  Remote IRR ${pins((p) => (this.low[p]! & (LEVEL | REMOTE_IRR)) === (LEVEL | REMOTE_IRR))}`);
    return lines;
  }

  private eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const lo = this.low[pin]!;
      if ((lo & REMOTE_IRR) === 0 || (lo & 0xff) !== vector) continue;
      this.low[pin] = (lo & ~REMOTE_IRR) >>> 0;
      this.service(pin);
    }
  }
}
