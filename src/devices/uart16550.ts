/**
 * National Semiconductor PC16550D UART (the "16550A" of every PC's COM ports).
 *
 * Register map (offsets from the base, e.g. 0x3f8 for COM1):
 *
 * | off | DLAB=0 read | DLAB=0 write | DLAB=1     |
 * |-----|-------------|--------------|------------|
 * | 0   | RBR         | THR          | DLL        |
 * | 1   | IER         | IER          | DLM        |
 * | 2   | IIR         | FCR          | (IIR/FCR)  |
 * | 3   | LCR         | LCR          |            |
 * | 4   | MCR         | MCR          |            |
 * | 5   | LSR         | (ignored)    |            |
 * | 6   | MSR         | (ignored)    |            |
 * | 7   | SCR         | SCR          |            |
 *
 * Modelling choices, each because the guest cannot tell the difference or
 * because it keeps the device deterministic without a clock:
 *
 * - Transmission is instantaneous: a byte written to THR goes to
 *   `onTransmit` at once, so LSR.THRE and LSR.TEMT always read 1 and the
 *   THR-empty interrupt re-arms right after each THR write (as QEMU does).
 * - The receiver character timeout takes zero time: in FIFO mode, whenever
 *   the RX FIFO holds at least one byte but fewer than the trigger level, the
 *   character-timeout interrupt (IIR 0xCC) is the RX indication; at or above
 *   the trigger level it is "received data available" (IIR 0xC4).
 * - No parity/framing errors or breaks are ever received (host input is
 *   clean bytes), so LSR bits 2-4 and 7 stay 0; overrun (bit 1) is real.
 * - The modem inputs outside loopback are CTS, DSR and DCD asserted, RI off
 *   (MSR 0xB0), like QEMU with no modem backend.
 * - OUT2 does not gate the interrupt line (QEMU does not gate it either);
 *   a PC board's OUT2 buffer is a board detail, not a 16550 one.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";

/** Host-side hooks for one UART. */
export interface Uart16550Options {
  /** Called with each byte the guest transmits (not called in loopback mode). */
  onTransmit(byte: number): void;
  /** Level of the UART's interrupt output; called only when it changes. */
  raiseIrq?(level: boolean): void;
}

// IER bits
const IER_ERBFI = 0x01;
const IER_ETBEI = 0x02;
const IER_ELSI = 0x04;
const IER_EDSSI = 0x08;
// IIR interrupt identifications (bits 0-3)
/** IIR value: no interrupt pending. */
export const IIR_NONE = 0x01;
/** IIR value: receiver line status (overrun/parity/framing/break), highest priority. */
export const IIR_RLS = 0x06;
/** IIR value: received data available (trigger level reached). */
export const IIR_RDA = 0x04;
/** IIR value: character timeout (FIFO mode only). */
export const IIR_CTI = 0x0c;
/** IIR value: transmitter holding register empty. */
export const IIR_THRE = 0x02;
/** IIR value: modem status change, lowest priority. */
export const IIR_MSR = 0x00;
const IIR_FIFO_ENABLED = 0xc0;
// FCR bits
const FCR_ENABLE = 0x01;
const FCR_RX_RESET = 0x02;
// LCR
const LCR_DLAB = 0x80;
// MCR
const MCR_LOOP = 0x10;
// LSR
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
// MSR
const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
/** Modem inputs when nothing is attached: CTS, DSR, DCD asserted. */
const EXTERNAL_MODEM_INPUTS = MSR_CTS | MSR_DSR | MSR_DCD;

const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** A 16550A UART; register it on a {@link PortBus} with length 8. */
export class Uart16550 implements PortDevice {
  readonly name = "uart16550";

  private readonly onTransmit: (byte: number) => void;
  private readonly raiseIrq: ((level: boolean) => void) | undefined;

  private ier = 0;
  private fcr = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0; // OE (the only error we can produce)
  private msrDeltas = 0; // MSR bits 0-3
  private modemInputs = EXTERNAL_MODEM_INPUTS; // MSR bits 4-7 as seen by the chip
  private scr = 0;
  private divisor = 12; // 9600 baud; the datasheet leaves it undefined at reset
  private rbr = 0; // last byte moved out of the receiver (read when empty)
  private thrPending = false;
  private irqLevel = false;

  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;

  constructor(opts: Uart16550Options) {
    this.onTransmit = opts.onTransmit;
    this.raiseIrq = opts.raiseIrq;
  }

  /** Baud-rate divisor latch (DLM:DLL); baud = 115200 / divisor on a PC's 1.8432 MHz clock. */
  get divisorLatch(): number {
    return this.divisor;
  }

  /** Whether the interrupt output is asserted. */
  get irq(): boolean {
    return this.irqLevel;
  }

  /**
   * How many bytes the receiver can accept now without overrun (16 with
   * FIFOs enabled, 1 in 16450 mode). Host input beyond this should be held
   * back by the caller and offered again when the guest has drained the
   * receiver, instead of being lost to an overrun.
   */
  get receiveSpace(): number {
    return this.rxCapacity() - this.rxCount;
  }

  /** Told of host input as it arrives (a recorded history's log: src/debug/history.ts). */
  inputTap: (bytes: number[]) => void = () => {};

  /**
   * Host input arriving on the serial line. Bytes that find the receiver
   * full are lost and set LSR.OE, as on the wire. In non-FIFO mode the new
   * byte overwrites the unread one (16450 behaviour); in FIFO mode the FIFO
   * keeps its contents and the new byte is discarded (16550 datasheet).
   */
  receive(bytes: Uint8Array | number[]): void {
    this.inputTap(Array.from(bytes));
    for (let i = 0; i < bytes.length; i++) this.rxPush(bytes[i]! & 0xff);
    this.updateIrq();
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => this.readByte(o), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => this.writeByte(o, v), offset, size, value);
  }

  private fifoEnabled(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  private rxCapacity(): number {
    return this.fifoEnabled() ? FIFO_SIZE : 1;
  }

  private rxPush(byte: number): void {
    if (this.rxCount >= this.rxCapacity()) {
      this.lsrErrors |= LSR_OE;
      if (!this.fifoEnabled()) this.rx[this.rxHead] = byte; // 16450: the new char overwrites
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte;
    this.rxCount++;
  }

  private rxClear(): void {
    this.rxHead = 0;
    this.rxCount = 0;
  }

  private loopback(): boolean {
    return (this.mcr & MCR_LOOP) !== 0;
  }

  /** MSR bits 4-7 the chip sees: external inputs, or MCR bits in loopback. */
  private currentModemInputs(): number {
    if (!this.loopback()) return EXTERNAL_MODEM_INPUTS;
    const m = this.mcr;
    return (
      ((m & 0x02) !== 0 ? MSR_CTS : 0) | // RTS → CTS
      ((m & 0x01) !== 0 ? MSR_DSR : 0) | // DTR → DSR
      ((m & 0x04) !== 0 ? MSR_RI : 0) | // OUT1 → RI
      ((m & 0x08) !== 0 ? MSR_DCD : 0) // OUT2 → DCD
    );
  }

  /** Latch delta bits for modem-input changes (TERI only on RI's trailing edge). */
  private refreshModemInputs(): void {
    const now = this.currentModemInputs();
    const old = this.modemInputs;
    const changed = now ^ old;
    if (changed & MSR_CTS) this.msrDeltas |= MSR_DCTS;
    if (changed & MSR_DSR) this.msrDeltas |= MSR_DDSR;
    if (changed & MSR_DCD) this.msrDeltas |= MSR_DDCD;
    if (old & MSR_RI && !(now & MSR_RI)) this.msrDeltas |= MSR_TERI;
    this.modemInputs = now;
  }

  private lsr(): number {
    return (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** Highest-priority pending interrupt (PC16550D Table IV), as IIR bits 0-3. */
  private interruptId(): number {
    const ier = this.ier;
    if (ier & IER_ELSI && this.lsrErrors !== 0) return IIR_RLS;
    if (ier & IER_ERBFI && this.rxCount > 0) {
      if (!this.fifoEnabled()) return IIR_RDA;
      const trigger = TRIGGER_LEVELS[this.fcr >> 6]!;
      return this.rxCount >= trigger ? IIR_RDA : IIR_CTI;
    }
    if (ier & IER_ETBEI && this.thrPending) return IIR_THRE;
    if (ier & IER_EDSSI && this.msrDeltas !== 0) return IIR_MSR;
    return IIR_NONE;
  }

  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NONE;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.raiseIrq?.(level);
    }
  }

  private readByte(offset: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case 0: {
        if (dlab) return this.divisor & 0xff;
        if (this.rxCount > 0) {
          this.rbr = this.rx[this.rxHead]!;
          this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
          this.rxCount--;
          this.updateIrq();
        }
        return this.rbr;
      }
      case 1:
        return dlab ? (this.divisor >> 8) & 0xff : this.ier;
      case 2: {
        const id = this.interruptId();
        if (id === IIR_THRE) {
          this.thrPending = false;
          this.updateIrq();
        }
        return id | (this.fifoEnabled() ? IIR_FIFO_ENABLED : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr();
        if (this.lsrErrors !== 0) {
          this.lsrErrors = 0;
          this.updateIrq();
        }
        return v;
      }
      case 6: {
        const v = this.modemInputs | this.msrDeltas;
        if (this.msrDeltas !== 0) {
          this.msrDeltas = 0;
          this.updateIrq();
        }
        return v;
      }
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
  }

  private writeByte(offset: number, value: number): void {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case 0:
        if (dlab) {
          this.divisor = (this.divisor & 0xff00) | value;
          return;
        }
        this.thrPending = false; // writing THR clears the THRE interrupt...
        if (this.loopback()) this.rxPush(value);
        else this.onTransmit(value);
        this.thrPending = true; // ...and instant transmission empties THR again
        break;
      case 1:
        if (dlab) {
          this.divisor = (this.divisor & 0x00ff) | (value << 8);
          return;
        }
        // Enabling ETBEI while THR is empty raises THRE even if an IIR read
        // had cleared it (datasheet behaviour Linux relies on; QEMU too).
        if (value & IER_ETBEI && !(this.ier & IER_ETBEI)) this.thrPending = true;
        this.ier = value & 0x0f;
        break;
      case 2: {
        const wasEnabled = this.fifoEnabled();
        if (!(value & FCR_ENABLE)) {
          // FCR0=0: FIFOs off; other bits are not programmed.
          if (wasEnabled) this.rxClear();
          this.fcr = 0;
        } else {
          if (!wasEnabled || value & FCR_RX_RESET) this.rxClear();
          // XMIT FIFO reset (bit 2) has nothing to clear: transmission is instant.
          this.fcr = value & 0xc9; // bits 1-2 self-clear, 4-5 reserved
        }
        break;
      }
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        this.refreshModemInputs();
        break;
      case 7:
        this.scr = value;
        return;
      default:
        return; // LSR and MSR are read-only (factory test writes ignored)
    }
    this.updateIrq();
  }
}
