/**
 * Intel 8254 programmable interval timer (the PC's PIT) at 0x40-0x43:
 * channel 0 drives IRQ 0, channel 1 is the old DRAM-refresh timer (unused),
 * channel 2 has its gate and output on system control port B (0x61) and
 * feeds the speaker; Linux calibrates the TSC against it.
 *
 * Time: the input clock is 1 193 182 Hz (Linux's PIT_TICK_RATE) derived
 * from the {@link VirtualClock}, with clock edge n at the first nanosecond at
 * which n × 1e9 / 1 193 182 ns have passed since power-on ({@link TickRate}).
 * Nothing counts in the background: each read computes the counter and OUT
 * from the edge number at the clock's current time, so a guest polling the
 * counter or port 0x61 sees values that agree exactly with the clock (and
 * the TSC derived from it). OUT transitions of channel 0 are delivered at
 * their exact time through a clock timer.
 *
 * Modelled from the 8254 datasheet (Intel 231306): all six modes (6 and 7
 * are 2 and 3), control word, counter latch command, read-back command
 * (count and/or status, several counters at once), LSB / MSB / LSB-then-MSB
 * access with separate read and write flip-flops, gate semantics per mode,
 * "the count is loaded on the next CLK pulse" after it is written (so mode 0
 * with count N raises OUT N + 1 clocks after the write), count 0 = 2^16
 * (10^4 in BCD), null-count status bit. BCD counting is implemented as
 * counting modulo 10 000 with BCD-encoded counts.
 *
 * Choices: a count written during mode 2/3 counting takes effect at the end
 * of the current period (mode 2: datasheet; mode 3 allows the end of a half
 * period — we take the end of the whole cycle); reading the counter before a
 * new count reaches the counting element returns the previous value; the
 * power-on state is what a PC BIOS leaves (all channels mode 3, count 0 =
 * 65536, channels 0 and 1 running, channel 2 gate low), so IRQ 0 ticks at
 * 18.2 Hz from power-on, as on QEMU.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";
import { TickRate, type TimerHandle, type VirtualClock, type SavedTimer } from "../vmm/clock.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";

/** The PIT input clock in Hz (14.31818 MHz / 12; Linux's PIT_TICK_RATE). */
export const PIT_HZ = 1193182;

/** Options of an {@link I8254}. */
export interface I8254Options {
  /** The VM's clock: the only time source. */
  clock: VirtualClock;
  /** Channel 0 OUT, wired to IRQ 0; called at each transition of OUT. */
  setIrq?(level: boolean): void;
}

// Access modes (control word bits 5-4).
const ACCESS_LATCH = 0;
const ACCESS_LSB = 1;
const ACCESS_MSB = 2;
const ACCESS_WORD = 3;

function toBcd(v: number): number {
  v %= 10000;
  return (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | Math.floor(v / 1000) << 12;
}
function fromBcd(v: number): number {
  return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + ((v >> 12) & 0xf) * 1000;
}
function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/**
 * One counter. Its counting element (CE) is described by a load edge `L`
 * and the value `V` it holds at that edge; from then on its value and OUT
 * are pure functions of the current edge E (see {@link valueAt}, {@link outAt}).
 * `L = Infinity` means "not counting": the CE holds `snapValue` and OUT is
 * `snapOut`. Those two also hold the state between a load request and the
 * CLK edge that performs it (E < L).
 */
class Channel {
  /** Mode bits as programmed (0-7), for the status byte. */
  rawMode = 3;
  /** Effective mode 0-5. */
  mode = 3;
  access = ACCESS_WORD;
  bcd = false;
  /** Count register N (1..modulus; a written 0 is the modulus). */
  count = 0x10000;
  /** A count has been written since the last control word (modes 1/5 need one to trigger). */
  hasCount = true;
  gate: boolean;

  // counting element
  L = Infinity;
  V = 0;
  /** Mode 0: OUT already high; modes 4/5: strobe already given (kept across gate pauses). */
  done = false;
  snapValue = 0;
  snapOut = true;
  /** Mode 2/3: a new count waiting for the end of the current period. */
  nextEdge = Infinity;
  nextCount = 0;
  /** Null count is 1 until this edge (Infinity: until a count is loaded). */
  nullUntil = 0;

  // bus interface
  writeMsbNext = false;
  lsbBuffer = 0;
  readMsbNext = false;
  /** Latched status byte (read-back), returned before anything else. */
  latchedStatus: number | null = null;
  /** Latched count bytes still to be read (a new latch is ignored until they are). */
  latchedCount: number[] = [];

  constructor(gate: boolean) {
    this.gate = gate;
  }

  get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Apply a deferred mode 2/3 count once its reload edge has passed. */
  private settle(E: number): void {
    if (E >= this.nextEdge) {
      this.L = this.nextEdge;
      this.V = this.nextCount;
      this.nextEdge = Infinity;
    }
  }

  /** CE value (binary, 0..modulus) at edge E. */
  valueAt(E: number): number {
    this.settle(E);
    if (E < this.L) return this.snapValue;
    const k = E - this.L;
    const N = this.V;
    switch (this.mode) {
      case 2:
        return N - (k % N);
      case 3: {
        const kk = k % N;
        const high = Math.ceil(N / 2);
        if (N % 2 === 0) return N - 2 * (kk < high ? kk : kk - high);
        return N - 1 - 2 * (kk < high ? kk : kk - high);
      }
      default: // 0, 1, 4, 5: count down and wrap
        return mod(N - k, this.modulus);
    }
  }

  /** OUT at edge E. */
  outAt(E: number): boolean {
    this.settle(E);
    if (E < this.L) return this.snapOut;
    const k = E - this.L;
    const N = this.V;
    switch (this.mode) {
      case 0:
        return this.done || k >= N;
      case 1:
        return k >= N;
      case 2:
        return N < 2 ? N !== 1 : k % N !== N - 1;
      case 3:
        return k % N < Math.ceil(N / 2);
      default: // 4, 5: one-clock low strobe when the count reaches 0
        return this.done || k !== N;
    }
  }

  /** The first edge after E at which OUT changes (Infinity if none is coming). */
  nextTransition(E: number): number {
    this.settle(E);
    if (this.L === Infinity) return Infinity;
    if (E < this.L) {
      if (this.outAt(this.L) !== this.snapOut) return this.L;
      E = this.L;
    }
    const k = E - this.L;
    const N = this.V;
    let x = Infinity;
    switch (this.mode) {
      case 0:
      case 1:
        if (!(this.mode === 0 && this.done) && k < N) x = this.L + N;
        break;
      case 2:
      case 3: {
        if (N < 2) break;
        const start = this.L + k - (k % N);
        const fall = this.mode === 2 ? N - 1 : Math.ceil(N / 2);
        x = k % N < fall ? start + fall : start + N;
        break;
      }
      default:
        if (!this.done) x = k < N ? this.L + N : k === N ? this.L + N + 1 : Infinity;
    }
    return Math.min(x, this.nextEdge);
  }

  /** Freeze the CE at edge E (not counting from now on). */
  stop(E: number, out: boolean): void {
    // A load requested for the next CLK still happens (datasheet, modes 0 and 2).
    const v = this.L !== Infinity && E < this.L ? this.V : this.valueAt(E);
    if (this.mode === 0 && this.L !== Infinity && E >= this.L) this.done = this.outAt(E);
    if ((this.mode === 4 || this.mode === 5) && this.L !== Infinity && E >= this.L) this.done ||= E - this.L >= this.V;
    this.snapValue = v;
    this.snapOut = out;
    this.L = Infinity;
    this.nextEdge = Infinity;
  }

  /** Start the CE: it holds `value` at edge `L` and counts on later edges. */
  start(E: number, L: number, value: number): void {
    this.snapValue = this.valueAt(E);
    this.snapOut = this.outAt(E);
    this.L = L;
    this.V = value;
    this.nextEdge = Infinity;
    if (this.nullUntil === Infinity) this.nullUntil = L;
  }

  /** Control word for this counter (not a latch command). */
  program(E: number, access: number, rawMode: number, bcd: boolean): void {
    // "All control logic is immediately reset and OUT goes to a known initial state"
    // (counting stops; the CE keeps its value until a count is loaded).
    this.stop(E, true);
    this.rawMode = rawMode;
    this.mode = rawMode > 5 ? rawMode & 3 : rawMode;
    this.access = access;
    this.bcd = bcd;
    this.snapOut = this.mode !== 0;
    this.done = false;
    this.hasCount = false;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latchedStatus = null;
    this.latchedCount = [];
    this.nullUntil = Infinity;
  }

  /** A complete count has been written at edge E. */
  countWritten(E: number, raw: number): void {
    let n = this.bcd ? fromBcd(raw) : raw;
    if (n === 0) n = this.modulus;
    this.count = n;
    this.hasCount = true;
    this.nullUntil = Infinity;
    switch (this.mode) {
      case 0:
      case 4:
        this.done = false;
        if (this.gate) this.start(E, E + 1, n);
        else {
          this.stop(E, this.mode === 4);
          this.done = false;
          this.snapValue = n; // loaded on the next CLK, then held by GATE low
          this.nullUntil = E + 1;
        }
        if (this.mode === 0) this.snapOut = false; // a new count sets OUT low at once
        break;
      case 2:
      case 3:
        if (this.L === Infinity) {
          if (this.gate) this.start(E, E + 1, n);
        } else if (E < this.L) {
          this.V = n; // not loaded yet: load the new count instead
          this.nullUntil = this.L;
        } else {
          const k = E - this.L;
          this.nextEdge = this.L + k - (k % this.V) + this.V;
          this.nextCount = n;
          this.nullUntil = this.nextEdge;
        }
        break;
      default: // 1, 5: wait for a gate trigger
        break;
    }
  }

  /** GATE input changed at edge E. */
  setGate(E: number, level: boolean): void {
    if (level === this.gate) return;
    this.gate = level;
    switch (this.mode) {
      case 0:
      case 4:
        if (!level) {
          if (this.L !== Infinity) this.stop(E, this.outAt(E));
        } else if (this.hasCount && this.L === Infinity) {
          // Resume: the edge that sees GATE high decrements (CE holds its value at edge E).
          const v = this.snapValue;
          this.start(E, E, v);
        }
        break;
      case 2:
      case 3:
        if (!level) this.stop(E, true); // OUT high immediately, counting stops
        else if (this.hasCount) this.start(E, E + 1, this.count); // trigger: reload on the next CLK
        break;
      default: // 1, 5: rising edge triggers
        if (level && this.hasCount) {
          this.done = false;
          this.start(E, E + 1, this.count);
        }
    }
  }

  /** Bytes of `v` as the access mode reads them. */
  formatted(v: number): number {
    return this.bcd ? toBcd(v % 10000) : v & 0xffff;
  }

  status(E: number): number {
    return (
      (this.outAt(E) ? 0x80 : 0) |
      (E < this.nullUntil ? 0x40 : 0) |
      (this.access << 4) |
      (this.rawMode << 1) |
      (this.bcd ? 1 : 0)
    );
  }

  /** Counter latch command (or the read-back COUNT bit): ignored while a latched count is unread. */
  latchCount(E: number): void {
    if (this.latchedCount.length > 0) return;
    const v = this.formatted(this.valueAt(E));
    if (this.access === ACCESS_LSB) this.latchedCount.push(v & 0xff);
    else if (this.access === ACCESS_MSB) this.latchedCount.push(v >> 8);
    else this.latchedCount.push(v & 0xff, v >> 8);
  }

  /** Read-back STATUS bit: ignored while a latched status is unread. */
  latchStatus(E: number): void {
    if (this.latchedStatus === null) this.latchedStatus = this.status(E);
  }

  readByte(E: number): number {
    if (this.latchedStatus !== null) {
      const st = this.latchedStatus;
      this.latchedStatus = null;
      return st;
    }
    if (this.latchedCount.length > 0) return this.latchedCount.shift()!;
    const v = this.formatted(this.valueAt(E));
    switch (this.access) {
      case ACCESS_LSB:
        return v & 0xff;
      case ACCESS_MSB:
        return v >> 8;
      default: {
        const msb = this.readMsbNext;
        this.readMsbNext = !msb;
        return msb ? v >> 8 : v & 0xff;
      }
    }
  }

  writeByte(E: number, b: number): void {
    switch (this.access) {
      case ACCESS_LSB:
        this.countWritten(E, b);
        return;
      case ACCESS_MSB:
        this.countWritten(E, b << 8);
        return;
      default:
        if (!this.writeMsbNext) {
          this.lsbBuffer = b;
          this.writeMsbNext = true;
          // Mode 0: writing the first byte stops counting and sets OUT low.
          if (this.mode === 0) {
            this.stop(E, false);
            this.done = false;
          }
        } else {
          this.writeMsbNext = false;
          this.countWritten(E, this.lsbBuffer | (b << 8));
        }
    }
  }
}

/** The PIT; register on a {@link PortBus} at 0x40 with length 4. */
export class I8254 implements PortDevice {
  static readonly DEFAULT_PORT = 0x40;
  readonly name = "i8254";

  private readonly clock: VirtualClock;
  private readonly rate = new TickRate(PIT_HZ);
  private readonly channels: [Channel, Channel, Channel];
  private readonly setIrq: ((level: boolean) => void) | undefined;
  private out0: boolean;
  private timer: TimerHandle | null = null;

  constructor(opts: I8254Options) {
    this.clock = opts.clock;
    this.setIrq = opts.setIrq;
    this.channels = [new Channel(true), new Channel(true), new Channel(false)];
    const E = this.edge();
    this.channels[0].start(E, E + 1, 0x10000);
    this.channels[1].start(E, E + 1, 0x10000);
    this.out0 = this.channels[0].outAt(E);
    this.channelChanged(0);
  }

  /** Number of PIT input clock edges since power-on at the clock's current time. */
  edge(): number {
    return this.rate.ticksAt(this.clock.nowNs());
  }

  /** OUT of `channel` now (port 0x61 bit 5 reads channel 2's). */
  out(channel: number): boolean {
    return this.channels[channel]!.outAt(this.edge());
  }

  /** GATE of `channel` (port 0x61 bit 0 drives channel 2's; 0 and 1 are tied high on a PC). */
  setGate(channel: number, level: boolean): void {
    this.channels[channel]!.setGate(this.edge(), level);
    this.channelChanged(channel);
  }

  /** Current GATE input of `channel`. */
  gate(channel: number): boolean {
    return this.channels[channel]!.gate;
  }

  /** The counting element of `channel` now, in binary (diagnostics, speaker frequency). */
  counter(channel: number): number {
    return this.channels[channel]!.valueAt(this.edge());
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => this.readByte(o), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => this.writeByte(o, v), offset, size, value);
  }

  private readByte(offset: number): number {
    if (offset >= 3) return 0xff; // the control word register is write-only
    return this.channels[offset]!.readByte(this.edge());
  }

  private writeByte(offset: number, v: number): void {
    const E = this.edge();
    if (offset < 3) {
      this.channels[offset]!.writeByte(E, v);
      this.channelChanged(offset);
      return;
    }
    const sc = v >> 6;
    if (sc === 3) {
      // Read-back: bit 5 = !COUNT, bit 4 = !STATUS, bits 3-1 select counters 2-0.
      for (let c = 0; c < 3; c++) {
        if (!(v & (2 << c))) continue;
        const ch = this.channels[c]!;
        if (!(v & 0x10)) ch.latchStatus(E);
        if (!(v & 0x20)) ch.latchCount(E);
      }
      return;
    }
    const ch = this.channels[sc]!;
    const access = (v >> 4) & 3;
    if (access === ACCESS_LATCH) {
      ch.latchCount(E);
      return;
    }
    ch.program(E, access, (v >> 1) & 7, (v & 1) !== 0);
    this.channelChanged(sc);
  }

  /** After a state change: report channel 0's OUT and re-arm its transition timer. */
  private channelChanged(channel: number): void {
    if (channel !== 0 || !this.setIrq) return;
    this.report(this.channels[0].outAt(this.edge()));
    this.arm();
  }

  private report(level: boolean): void {
    if (level === this.out0) return;
    this.out0 = level;
    this.setIrq?.(level);
  }

  private arm(): void {
    this.clock.cancel(this.timer);
    this.timer = null;
    const next = this.channels[0].nextTransition(this.edge());
    if (next === Infinity) return;
    this.timerEdge = next;
    this.timer = this.clock.schedule(this.rate.nsOfTick(next), () => this.fire(next));
  }
  /** The edge the pending timer is for. */
  private timerEdge = 0;

  save(): State {
    return { channels: this.channels.map((c) => saveFields(c)), out0: this.out0, timer: this.clock.saveTimer(this.timer), timerEdge: this.timerEdge };
  }

  restore(state: State): void {
    (state.channels as State[]).forEach((c, i) => restoreFields(this.channels[i]!, c));
    this.out0 = state.out0 as boolean;
    const next = this.timerEdge = state.timerEdge as number;
    this.timer = this.clock.restoreTimer(state.timer as SavedTimer, () => this.fire(next));
  }

  /**
   * Channel 0's OUT changed at edge `at`. Report that level first, then the
   * current one if the clock has run past further transitions (host mode),
   * so an edge-triggered IRQ 0 sees every rising edge it can.
   */
  private fire(at: number): void {
    this.timer = null;
    const ch = this.channels[0];
    this.report(ch.outAt(at));
    this.report(ch.outAt(this.edge()));
    this.arm();
  }
}
