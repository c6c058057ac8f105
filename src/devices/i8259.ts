/**
 * The PC's two cascaded Intel 8259A programmable interrupt controllers
 * (master at 0x20/0x21, slave at 0xA0/0xA1, slave INT on master IR2) and
 * the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * The VM sees the pair as one interrupt source: devices drive IRQ lines
 * 0-15 with {@link PicPair.setIrq}; the VM asks {@link PicPair.hasInterrupt}
 * (the master's INT output) and, when the vCPU can take an interrupt,
 * runs the INTA cycle with {@link PicPair.acknowledge}, which returns the
 * vector and moves the request from IRR to ISR exactly as the two INTA
 * pulses do on the chips.
 *
 * Modelled from the 8259A datasheet (Intel 231468):
 *
 * - Initialization: ICW1 (LTIM, SNGL, IC4) on the command port, then ICW2
 *   (vector base, bits 7-3), ICW3 when cascaded, ICW4 when IC4 (µPM, AEOI,
 *   SFNM; BUF/M-S are accepted and ignored — the roles are wired). ICW1
 *   clears IMR, ISR and the edge-sense latches, makes IR7 lowest priority,
 *   clears special mask mode and selects the IRR for reads.
 * - OCW1 = IMR; OCW2 = EOI (non-specific, specific), rotate on EOI, rotate
 *   in AEOI mode, set priority; OCW3 = read IRR/ISR, poll, special mask mode.
 * - Edge-triggered lines set IRR on a rising edge; level lines follow the
 *   input. As on the chip, a request must still be asserted at INTA time:
 *   an edge request whose line has dropped is gone, and an INTA with no
 *   request left returns the IR7 vector of that chip without setting ISR
 *   (the "default IR7" / spurious interrupt; IRQ 15 when it is the slave,
 *   with master IR2 in service).
 * - Trigger mode per line = ICW1.LTIM OR the line's ELCR bit (PIIX: ELCR
 *   bits for IRQ 0, 1, 2, 8, 13 are reserved and read 0).
 *
 * Choices: until the first ICW1 (power-on, no BIOS yet) the chip never
 * raises INT, since its vector base is undefined; ICW1 also clears ISR (the datasheet leaves it alone, but a
 * re-initialized chip with stale in-service bits would block forever); the cascade input (master IR2) is treated as a level input fed by
 * the slave's INT output (it is never lost to an edge that happened while IR2
 * was in service); 8080/85 mode (µPM = 0) still returns 8086-style vectors
 * (an x86 cannot take the CALL sequence); buffered mode and the M/S bit
 * have no effect.
 *
 * @module
 */
import { saveFields, restoreFields, part, type State } from "../vmm/snapshot.js";
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";

/** Callbacks of a {@link PicPair}. */
export interface PicPairOptions {
  /**
   * The master's INT output may have changed (a request arrived, was masked,
   * acknowledged, ...). The VM re-evaluates {@link PicPair.hasInterrupt};
   * needed to wake a halted vCPU for input that arrives from the host.
   */
  onChange?(): void;
}

// ICW1
const ICW1_IC4 = 0x01;
const ICW1_SNGL = 0x02;
const ICW1_LTIM = 0x08;
const ICW1_SELECT = 0x10;
// ICW4
const ICW4_AEOI = 0x02;
const ICW4_SFNM = 0x10;
// OCW3
const OCW3_RIS = 0x01;
const OCW3_RR = 0x02;
const OCW3_POLL = 0x04;
const OCW3_SMM = 0x20;
const OCW3_ESMM = 0x40;

const CASCADE_LINE = 2;

/** One 8259A. Exported for tests and for machines with a single PIC. */
export class I8259 implements PortDevice {
  readonly name: string;

  /** Interrupt request register. */
  irr = 0;
  /** In-service register. */
  isr = 0;
  /** Interrupt mask register (OCW1). */
  imr = 0;
  /** ELCR bits (1 = level-triggered) — written through the PIIX ELCR port. */
  elcr = 0;
  /** Vector base from ICW2 (bits 7-3). */
  vectorBase = 0;

  private icw1 = 0;
  private icw3 = 0;
  private icw4 = 0;
  /** Which ICW the next data-port write is (0 = initialized, OCW1 mode). */
  private initStep = 0;
  /** Input levels of IR0-7 as last driven. */
  private levels = 0;
  /** IR line with the lowest priority (rotation); IR7 after ICW1. */
  private lowest = 7;
  private readIsr = false;
  private pollPending = false;
  private specialMask = false;
  private rotateInAeoi = false;
  /** Until the first ICW1 the chip's state is undefined; we keep INT low. */
  private initialized = false;

  /**
   * @param isMaster the master has a slave on IR2 (when ICW3 says so) and
   *   SFNM applies to it.
   * @param changed called after every state change that may move INT.
   */
  constructor(name: string, readonly isMaster: boolean, private readonly changed: () => void) {
    this.name = name;
  }

  /** Whether ICW1.LTIM set (all lines level-triggered). */
  get levelTriggeredAll(): boolean {
    return (this.icw1 & ICW1_LTIM) !== 0;
  }

  /** Whether this chip is configured as a master with a slave on `line` (ICW3, not single). */
  hasSlaveOn(line: number): boolean {
    return this.isMaster && (this.icw1 & ICW1_SNGL) === 0 && (this.icw3 & (1 << line)) !== 0;
  }

  private isLevel(line: number): boolean {
    return (this.icw1 & ICW1_LTIM) !== 0 || (this.elcr & (1 << line)) !== 0 || this.hasSlaveOn(line);
  }

  /** Drive input IR`line` (0-7) to `level`. */
  setLine(line: number, level: boolean): void {
    const bit = 1 << line;
    const was = (this.levels & bit) !== 0;
    if (level) this.levels |= bit;
    else this.levels &= ~bit;
    if (this.isLevel(line)) {
      if (level) this.irr |= bit;
      else this.irr &= ~bit;
    } else if (level && !was) {
      this.irr |= bit; // rising edge latches the request
    } else if (!level) {
      this.irr &= ~bit; // a request must stay asserted until INTA (datasheet)
    }
    if (level !== was) this.changed();
  }

  /** After a trigger-mode change (ELCR): level-triggered lines request while asserted. */
  refreshTriggerModes(): void {
    for (let line = 0; line < 8; line++) {
      const bit = 1 << line;
      if (this.isLevel(line)) this.irr = this.levels & bit ? this.irr | bit : this.irr & ~bit;
    }
  }

  /** Priority rank of `line`: 0 is the highest. */
  private rank(line: number): number {
    return (line - this.lowest - 1) & 7;
  }

  /** The highest-priority line set in `bits`, or -1. */
  private highest(bits: number): number {
    for (let r = 0; r < 8; r++) {
      const line = (r + this.lowest + 1) & 7;
      if (bits & (1 << line)) return line;
    }
    return -1;
  }

  /**
   * The line the chip would present at INTA now, or -1 (INT low): the
   * highest-priority unmasked request above everything in service (fully
   * nested); in special mask mode any unmasked request not itself in
   * service; with SFNM, the slave's in-service bit does not block further
   * slave requests.
   */
  pending(): number {
    if (!this.initialized) return -1;
    const req = this.irr & ~this.imr;
    if (req === 0) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.isMaster && (this.icw4 & ICW4_SFNM) !== 0) inService &= ~(1 << CASCADE_LINE);
    const line = this.specialMask ? this.highest(req & ~inService) : this.highest(req);
    if (line < 0) return -1;
    const top = this.highest(inService);
    if (!this.specialMask && top >= 0 && this.rank(top) <= this.rank(line)) return -1;
    return line;
  }

  /**
   * The chip's part of an INTA cycle for `line` (from {@link pending}):
   * IRR → ISR (or nothing in AEOI mode, with rotation if enabled).
   */
  acknowledgeLine(line: number): void {
    const bit = 1 << line;
    if (!this.isLevel(line)) this.irr &= ~bit; // the edge latch is consumed
    if (this.icw4 & ICW4_AEOI) {
      if (this.rotateInAeoi) this.lowest = line;
    } else {
      this.isr |= bit;
    }
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => this.readByte(o), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => this.writeByte(o, v), offset, size, value);
  }

  private readByte(offset: number): number {
    if ((offset & 1) === 1) return this.imr;
    if (this.pollPending) {
      this.pollPending = false;
      const line = this.pending();
      if (line < 0) return 0x00;
      this.acknowledgeLine(line);
      this.changed();
      return 0x80 | line;
    }
    return this.readIsr ? this.isr : this.irr;
  }

  private writeByte(offset: number, v: number): void {
    if ((offset & 1) === 0) {
      if (v & ICW1_SELECT) this.icw1Write(v);
      else if (v & 0x08) this.ocw3(v);
      else this.ocw2(v);
    } else {
      switch (this.initStep) {
        case 0:
          this.imr = v;
          break;
        case 2: // ICW2
          this.vectorBase = v & 0xf8;
          this.initStep = (this.icw1 & ICW1_SNGL) === 0 ? 3 : (this.icw1 & ICW1_IC4) !== 0 ? 4 : 0;
          return;
        case 3: // ICW3
          this.icw3 = v;
          this.initStep = (this.icw1 & ICW1_IC4) !== 0 ? 4 : 0;
          break;
        case 4: // ICW4
          this.icw4 = v & 0x1f;
          this.initStep = 0;
          break;
      }
    }
    this.changed();
  }

  private icw1Write(v: number): void {
    this.icw1 = v;
    this.initialized = true;
    this.initStep = 2;
    this.imr = 0;
    this.isr = 0;
    // Edge-sense latches reset: only level-triggered inputs still request.
    this.irr = 0;
    for (let line = 0; line < 8; line++) if (this.isLevel(line) && this.levels & (1 << line)) this.irr |= 1 << line;
    this.lowest = 7;
    this.specialMask = false;
    this.readIsr = false;
    this.pollPending = false;
    this.rotateInAeoi = false;
    this.icw3 = 0;
    if ((v & ICW1_IC4) === 0) this.icw4 = 0;
    this.changed();
  }

  private ocw2(v: number): void {
    const level = v & 7;
    switch (v >> 5) {
      case 0b001: // non-specific EOI
      case 0b101: { // rotate on non-specific EOI
        const line = this.highest(this.isr);
        if (line >= 0) {
          this.isr &= ~(1 << line);
          if (v & 0x80) this.lowest = line;
        }
        break;
      }
      case 0b011: // specific EOI
        this.isr &= ~(1 << level);
        break;
      case 0b111: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.lowest = level;
        break;
      case 0b110: // set priority
        this.lowest = level;
        break;
      case 0b100:
        this.rotateInAeoi = true;
        break;
      case 0b000:
        this.rotateInAeoi = false;
        break;
      default: // 0b010: no operation
        break;
    }
  }

  private ocw3(v: number): void {
    if (v & OCW3_ESMM) this.specialMask = (v & OCW3_SMM) !== 0;
    if (v & OCW3_POLL) this.pollPending = true;
    if (v & OCW3_RR) this.readIsr = (v & OCW3_RIS) !== 0;
  }
}

/** PIIX ELCR bits that are reserved (edge only): IRQ 0, 1, 2 and 8, 13. */
const ELCR_WRITABLE = [0xf8, 0xde] as const;

/** The ELCR pair at 0x4D0 (IRQ 0-7) and 0x4D1 (IRQ 8-15); register with length 2. */
class Elcr implements PortDevice {
  readonly name = "piix-elcr";
  constructor(private readonly chips: readonly [I8259, I8259], private readonly changed: () => void) {}
  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => (o < 2 ? this.chips[o]!.elcr : 0xff), offset, size);
  }
  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => {
      if (o < 2) {
        this.chips[o]!.elcr = v & ELCR_WRITABLE[o]!;
        this.chips[o]!.refreshTriggerModes();
      }
    }, offset, size, value);
    this.changed();
  }
}

/**
 * Master + slave 8259A and the ELCR, as one interrupt controller for the VM.
 * Register {@link master} at 0x20 (length 2), {@link slave} at 0xA0
 * (length 2) and {@link elcr} at 0x4D0 (length 2).
 */
export class PicPair {
  /** Standard ports. */
  static readonly MASTER_PORT = 0x20;
  static readonly SLAVE_PORT = 0xa0;
  static readonly ELCR_PORT = 0x4d0;

  readonly master: I8259;
  readonly slave: I8259;
  readonly elcr: PortDevice;
  private readonly onChange: (() => void) | undefined;
  private lastIntr = false;
  private inUpdate = false;

  constructor(opts: PicPairOptions = {}) {
    this.onChange = opts.onChange;
    this.master = new I8259("i8259-master", true, () => this.update());
    this.slave = new I8259("i8259-slave", false, () => this.update());
    this.elcr = new Elcr([this.master, this.slave], () => this.update());
  }

  /**
   * Drive ISA IRQ `line` (0-15) to `level`. Edge-triggered lines request on
   * the rising edge (so a pulse is `setIrq(n, true)` while low); IRQ 2
   * is the cascade and is not a device line (devices wired to IRQ 2 on a PC
   * AT are on IRQ 9).
   */
  setIrq(line: number, level: boolean): void {
    if (line < 0 || line > 15 || !Number.isInteger(line)) throw new RangeError(`PicPair.setIrq: no IRQ ${line}`);
    if (line < 8) this.master.setLine(line, level);
    else this.slave.setLine(line - 8, level);
  }

  /** The master's INT output: an interrupt is waiting for INTA. */
  hasInterrupt(): boolean {
    return this.master.pending() >= 0;
  }

  /**
   * The INTA cycle: returns the vector the PICs put on the bus and updates
   * IRR/ISR on both chips. With no request left (it was withdrawn since INT
   * was raised) returns the master's IR7 vector (spurious IRQ 7); a cascade
   * acknowledge whose slave request vanished returns the slave's IR7 vector
   * (spurious IRQ 15) with master IR2 in service. Call only when the vCPU
   * takes the interrupt (see the wiring notes in the machine).
   */
  acknowledge(): number {
    const m = this.master;
    const line = m.pending();
    if (line < 0) {
      this.update();
      return (m.vectorBase + 7) & 0xff;
    }
    m.acknowledgeLine(line);
    let vector: number;
    if (m.hasSlaveOn(line)) {
      const s = this.slave;
      const sl = s.pending();
      if (sl < 0) vector = s.vectorBase + 7;
      else {
        s.acknowledgeLine(sl);
        vector = s.vectorBase + sl;
      }
    } else {
      vector = m.vectorBase + line;
    }
    this.update();
    return vector & 0xff;
  }

  save(): State { return { master: saveFields(this.master), slave: saveFields(this.slave), lastIntr: this.lastIntr }; }

  /** The monitor's `info pic` lines for the two chips, as QEMU's (requests, mask, in service, vector base, trigger modes). */
  describe(): string[] {
    const h = (v: number) => v.toString(16).padStart(2, "0");
    return [this.master, this.slave].map((c, i) => `pic${i}: irr=${h(c.irr)} imr=${h(c.imr)} isr=${h(c.isr)} irq_base=${h(c.vectorBase)} elcr=${h(c.elcr)}`);
  }

  restore(state: State): void {
    restoreFields(this.master, part(state, "master"));
    restoreFields(this.slave, part(state, "slave"));
    this.lastIntr = state.lastIntr as boolean;
  }

  /** Propagate the slave's INT to master IR2 and report INT changes. */
  private update(): void {
    if (this.inUpdate) return;
    this.inUpdate = true;
    try {
      // The slave output feeds IR2 (ignored by the master unless ICW3 says a slave is there).
      this.master.setLine(CASCADE_LINE, this.slave.pending() >= 0);
    } finally {
      this.inUpdate = false;
    }
    const intr = this.hasInterrupt();
    if (intr !== this.lastIntr) {
      this.lastIntr = intr;
      this.onChange?.();
    }
  }
}
