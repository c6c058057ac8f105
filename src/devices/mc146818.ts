/**
 * Motorola MC146818A real-time clock and CMOS RAM at 0x70 (index, with the
 * PC's NMI mask in bit 7) and 0x71 (data), on IRQ 8.
 *
 * Time: the wall clock is `startEpochSeconds` (seconds since 1970-01-01
 * 00:00:00, UTC, as the guest should see it at power-on — passed in, never
 * read from the host here) plus the update cycles the chip has completed,
 * which happen once per second of {@link VirtualClock} time: at 1 s, 2 s, ...
 * after power-on, or 500 ms after the divider chain leaves reset and every
 * second after that (datasheet). Deterministic mode with a fixed start
 * therefore reads the same dates on every run. The 32.768 kHz time base and
 * its divider chain are derived from the clock like the PIT's input
 * ({@link TickRate}); nothing ticks in the background: the registers and
 * flags are computed when read, and clock timers are armed only for the
 * events that can raise IRQ 8 while it is enabled.
 *
 * Modelled from the MC146818A datasheet: time, alarm and calendar
 * registers 0-9 in BCD or binary (register B DM) and 12- or 24-hour format
 * (B 24/12, PM flag in hour bit 7), alarm "don't care" codes (11xxxxxx),
 * register A (UIP, DV2-0, RS3-0: periodic rates 122.070 µs - 500 ms with
 * rate 1 and 2 aliasing 3.90625 and 7.8125 ms), register B (SET inhibits
 * updates and clears UIE; PIE, AIE, UIE), register C (IRQF = PF·PIE +
 * AF·AIE + UF·UIE, all cleared when C is read), register D (VRT = 1).
 * UIP is 1 from 244 µs before an update cycle until the end of the
 * 1984 µs cycle (tBUC + tUC for a 32.768 kHz time base); the new time and
 * UF appear when the cycle ends.
 *
 * Choices: the clock keeps time as seconds, so a DM or 24/12 change
 * re-renders the current time in the new format (the chip would reinterpret
 * the stored bytes), and guest-written out-of-range values are normalized
 * (31 February becomes 3 March); the day of the week keeps whatever offset
 * the guest writes; CMOS byte 0x32 (IBM century, in the current data mode)
 * is part of the clock, as on QEMU.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../vmm/bus.js";
import { TickRate, type TimerHandle, type VirtualClock, type SavedTimer } from "../vmm/clock.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";

/** Options of an {@link Mc146818}. */
export interface Mc146818Options {
  /** The VM's clock. */
  clock: VirtualClock;
  /** Wall-clock time at virtual time 0, in seconds since the Unix epoch (UTC). */
  startEpochSeconds: number;
  /** Guest RAM size in bytes: fills the BIOS memory-size bytes of the CMOS. */
  ramBytes: number;
  /** IRQ 8 (the chip's IRQ output, active while register C IRQF is 1). */
  setIrq?(level: boolean): void;
  /** Extra CMOS bytes (index → value), applied before the checksum is computed (e.g. 0x10 floppy types, 0x14 equipment). */
  cmos?: Readonly<Record<number, number>>;
}

// Register indices.
const SECONDS = 0x00, SECONDS_ALARM = 0x01, MINUTES = 0x02, MINUTES_ALARM = 0x03;
const HOURS = 0x04, HOURS_ALARM = 0x05, DAY_OF_WEEK = 0x06, DATE = 0x07, MONTH = 0x08, YEAR = 0x09;
const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
/** IBM PC/AT century byte. */
export const CMOS_CENTURY = 0x32;
/** The shutdown status byte a BIOS reads on its reset path (IBM AT), and its value for an ACPI S3 resume (SeaBIOS's and QEMU's). */
export const CMOS_SHUTDOWN_STATUS = 0x0f, SHUTDOWN_S3_RESUME = 0xfe;

// Register A
const A_UIP = 0x80;
const A_DV_MASK = 0x70;
// Register B
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
// Register C
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
// Register D
const D_VRT = 0x80;

const SECOND_NS = 1_000_000_000;
/** UIP leads the end of an update by tBUC (244 µs) + tUC (1984 µs). */
const UIP_WINDOW_NS = (244 + 1984) * 1000;
const CRYSTAL_HZ = 32768;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day number (inverse of {@link daysFromCivil}). */
export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

interface BrokenDown {
  sec: number;
  min: number;
  hour: number;
  day: number;
  month: number;
  year: number;
}

function breakDown(t: number): BrokenDown {
  const days = Math.floor(t / 86400);
  const sod = t - days * 86400;
  const { year, month, day } = civilFromDays(days);
  return { sec: sod % 60, min: Math.floor(sod / 60) % 60, hour: Math.floor(sod / 3600), day, month, year };
}

function compose(b: BrokenDown): number {
  return daysFromCivil(b.year, b.month, b.day) * 86400 + b.hour * 3600 + b.min * 60 + b.sec;
}

/**
 * Periodic interrupt period in 32.768 kHz clocks for rate select `rs`, or 0
 * (none): rates 1 and 2 alias 128 and 256 clocks, 3-15 are 2^(rs-1).
 */
export function periodicClocks(rs: number): number {
  if (rs === 0) return 0;
  if (rs <= 2) return 1 << (rs + 6);
  return 1 << (rs - 1);
}

/** The RTC; register at 0x70 with length 2. */
export class Mc146818 implements PortDevice {
  static readonly DEFAULT_PORT = 0x70;
  readonly name = "mc146818";

  /** NMI mask: bit 7 of the last index write (1 = NMIs disabled). */
  nmiMasked = false;

  private readonly clock: VirtualClock;
  private readonly setIrq: ((level: boolean) => void) | undefined;
  private readonly crystal = new TickRate(CRYSTAL_HZ);
  /** CMOS RAM; also holds the alarm registers (1, 3, 5). */
  private readonly ram = new Uint8Array(128);
  private index = 0;
  /** Register A without UIP: DV 010 (32.768 kHz), rate 6 (1024 Hz), as a PC BIOS leaves it. */
  private regA = 0x26;
  /** Register B: 24-hour, BCD. */
  private regB = 0x02;
  /** Register C flags PF/AF/UF (IRQF is derived). */
  private flags = 0;
  /** Flags are up to date for events at or before this time. */
  private syncedNs = 0;

  /** Time of day (epoch seconds) at update index {@link baseK}; the value itself while frozen. */
  private baseSeconds: number;
  private baseK = 0;
  /** Updates complete at updatePhaseNs + k s (k ≥ 1 after the phase was set). */
  private updatePhaseNs = 0;
  /** The divider chain (periodic rate) counts from here. */
  private dividerStartNs = 0;
  /** Day-of-week register minus the computed day of the week (mod 7). */
  private dowOffset = 0;

  private irqLevel = false;
  private timer: TimerHandle | null = null;

  constructor(opts: Mc146818Options) {
    this.clock = opts.clock;
    this.setIrq = opts.setIrq;
    this.baseSeconds = Math.floor(opts.startEpochSeconds);
    const now = this.clock.nowNs();
    this.syncedNs = now;
    this.updatePhaseNs = now;
    this.dividerStartNs = now;
    this.initCmos(opts.ramBytes, opts.cmos ?? {});
  }

  /** Wall-clock seconds (since the epoch) the RTC shows now. */
  epochSeconds(): number {
    if (!this.updating()) return this.baseSeconds;
    return this.baseSeconds + this.updateIndex(this.clock.nowNs()) - this.baseK;
  }

  /** A raw CMOS byte (no side effects; time registers are rendered). */
  peek(index: number): number {
    index &= 0x7f;
    if (index <= REG_D || index === CMOS_CENTURY) return this.readRegister(index, false);
    return this.ram[index]!;
  }

  /** Set a CMOS RAM byte from the host (machine set-up). */
  setCmosByte(index: number, value: number): void {
    this.ram[index & 0x7f] = value & 0xff;
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => (o === 1 ? this.readRegister(this.index, true) : 0xff), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => {
      if (o === 0) {
        this.index = v & 0x7f;
        this.nmiMasked = (v & 0x80) !== 0;
      } else {
        this.writeRegister(this.index, v);
      }
    }, offset, size, value);
  }

  // ---- CMOS memory map -----------------------------------------------------------------

  private initCmos(ramBytes: number, extra: Readonly<Record<number, number>>): void {
    const kib = Math.floor(ramBytes / 1024);
    const set16 = (i: number, v: number) => {
      this.ram[i] = v & 0xff;
      this.ram[i + 1] = (v >> 8) & 0xff;
    };
    set16(0x15, 640); // base memory, KiB
    const ext = Math.min(Math.max(kib - 1024, 0), 0xfc00); // KiB above 1 MiB, at most 63 MiB
    set16(0x17, ext);
    set16(0x30, ext);
    const above16 = ramBytes > 16 << 20 ? Math.min(Math.floor((ramBytes - (16 << 20)) / 65536), 0xffff) : 0;
    set16(0x34, above16); // 64 KiB units above 16 MiB
    this.ram[0x5b] = this.ram[0x5c] = this.ram[0x5d] = 0; // 64 KiB units above 4 GiB
    for (const [k, v] of Object.entries(extra)) this.ram[Number(k) & 0x7f] = v & 0xff;
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.ram[i]!;
    // AT checksum over 0x10-0x2D, high byte first.
    this.ram[0x2e] = (sum >> 8) & 0xff;
    this.ram[0x2f] = sum & 0xff;
  }

  // ---- time ------------------------------------------------------------------------------

  /** Updates happen: divider running (DV ≠ 11x) and SET = 0. */
  private updating(): boolean {
    return this.dividerRunning() && (this.regB & B_SET) === 0;
  }

  private dividerRunning(): boolean {
    return (this.regA & 0x60) !== 0x60;
  }

  /** Update cycles completed by time `ns` under the current phase. */
  private updateIndex(ns: number): number {
    return Math.floor((ns - this.updatePhaseNs) / SECOND_NS);
  }

  /** Re-anchor the time at "now" (before any change to how it advances). */
  private rebase(): void {
    this.baseSeconds = this.epochSeconds();
    this.baseK = this.updateIndex(this.clock.nowNs());
  }

  private binary(): boolean {
    return (this.regB & B_DM_BINARY) !== 0;
  }

  private encode(v: number): number {
    return this.binary() ? v : ((Math.floor(v / 10) % 10) << 4) | v % 10;
  }

  private decode(v: number): number {
    return this.binary() ? v : (v >> 4) * 10 + (v & 0xf);
  }

  private encodeHour(h: number): number {
    if (this.regB & B_24H) return this.encode(h);
    return this.encode(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  private decodeHour(v: number): number {
    if (this.regB & B_24H) return this.decode(v);
    return (this.decode(v & 0x7f) % 12) + (v & 0x80 ? 12 : 0);
  }

  private dayOfWeek(t: number): number {
    const days = Math.floor(t / 86400);
    return (((days + 4 + this.dowOffset) % 7) + 7) % 7 + 1; // 1970-01-01 was a Thursday; Sunday = 1
  }

  // ---- flags and IRQ 8 ---------------------------------------------------------------------

  private periodClocks(): number {
    return periodicClocks(this.regA & 0x0f);
  }

  /** Set PF/AF/UF for every event in (syncedNs, now]. */
  private syncFlags(): void {
    const now = this.clock.nowNs();
    const from = this.syncedNs;
    if (now <= from) return;
    this.syncedNs = now;
    const p = this.periodClocks();
    if (p !== 0 && this.dividerRunning()) {
      const ticks = (t: number) => Math.floor(this.crystal.ticksAt(t - this.dividerStartNs) / p);
      if (ticks(now) > ticks(from)) this.flags |= C_PF;
    }
    if (this.updating()) {
      const k0 = this.updateIndex(from);
      const k1 = this.updateIndex(now);
      if (k1 > k0) {
        this.flags |= C_UF;
        if (!(this.flags & C_AF)) {
          // At most one day of updates can matter: after that every alarm has matched.
          for (let k = Math.max(k0 + 1, k1 - 86400); k <= k1; k++) {
            if (this.alarmMatches(this.baseSeconds + k - this.baseK)) {
              this.flags |= C_AF;
              break;
            }
          }
        }
      }
    }
  }

  private alarmMatches(t: number): boolean {
    const b = breakDown(t);
    const match = (alarm: number, v: number) => (alarm & 0xc0) === 0xc0 || alarm === v;
    return (
      match(this.ram[SECONDS_ALARM]!, this.encode(b.sec)) &&
      match(this.ram[MINUTES_ALARM]!, this.encode(b.min)) &&
      match(this.ram[HOURS_ALARM]!, this.encodeHour(b.hour))
    );
  }

  private irqf(): boolean {
    const f = this.flags, b = this.regB;
    return ((f & C_PF) !== 0 && (b & B_PIE) !== 0) || ((f & C_AF) !== 0 && (b & B_AIE) !== 0) || ((f & C_UF) !== 0 && (b & B_UIE) !== 0);
  }

  /** Drive IRQ 8 from IRQF and arm a timer for the next event that can raise it. */
  private updateIrq(): void {
    const level = this.irqf();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq?.(level);
    }
    this.clock.cancel(this.timer);
    this.timer = null;
    if (level || !this.setIrq) return; // nothing can change until register C is read
    const now = this.clock.nowNs();
    let next = Infinity;
    const p = this.periodClocks();
    if (this.regB & B_PIE && p !== 0 && this.dividerRunning()) {
      const m = Math.floor(this.crystal.ticksAt(now - this.dividerStartNs) / p) + 1;
      next = this.dividerStartNs + this.crystal.nsOfTick(m * p);
    }
    if (this.regB & (B_AIE | B_UIE) && this.updating()) {
      next = Math.min(next, this.updatePhaseNs + (this.updateIndex(now) + 1) * SECOND_NS);
    }
    if (next !== Infinity) this.timer = this.clock.schedule(next, this.timerExpired);
  }

  private readonly timerExpired = (): void => {
    this.timer = null;
    this.syncFlags();
    this.updateIrq();
  };

  save(): State { return { ...saveFields(this, ["timer"]), timer: this.clock.saveTimer(this.timer) }; }

  restore(state: State): void {
    const { timer, ...fields } = state;
    restoreFields(this, fields);
    this.timer = this.clock.restoreTimer(timer as SavedTimer, this.timerExpired);
  }

  // ---- registers ------------------------------------------------------------------------------

  private readRegister(index: number, sideEffects: boolean): number {
    switch (index) {
      case SECONDS:
      case MINUTES:
      case HOURS:
      case DAY_OF_WEEK:
      case DATE:
      case MONTH:
      case YEAR:
      case CMOS_CENTURY: {
        const t = this.epochSeconds();
        const b = breakDown(t);
        switch (index) {
          case SECONDS: return this.encode(b.sec);
          case MINUTES: return this.encode(b.min);
          case HOURS: return this.encodeHour(b.hour);
          case DAY_OF_WEEK: return this.encode(this.dayOfWeek(t));
          case DATE: return this.encode(b.day);
          case MONTH: return this.encode(b.month);
          case YEAR: return this.encode(((b.year % 100) + 100) % 100);
          default: return this.encode(Math.floor(b.year / 100));
        }
      }
      case REG_A: {
        let uip = false;
        if (this.updating()) {
          const now = this.clock.nowNs();
          const next = this.updatePhaseNs + (this.updateIndex(now) + 1) * SECOND_NS;
          uip = next - now <= UIP_WINDOW_NS;
        }
        return this.regA | (uip ? A_UIP : 0);
      }
      case REG_B:
        return this.regB;
      case REG_C: {
        this.syncFlags();
        const v = this.flags | (this.irqf() ? C_IRQF : 0);
        if (sideEffects) {
          this.flags = 0;
          this.updateIrq();
        }
        return v;
      }
      case REG_D:
        return D_VRT;
      default:
        return this.ram[index]!;
    }
  }

  private writeRegister(index: number, v: number): void {
    switch (index) {
      case SECONDS:
      case MINUTES:
      case HOURS:
      case DAY_OF_WEEK:
      case DATE:
      case MONTH:
      case YEAR:
      case CMOS_CENTURY:
        this.syncFlags();
        this.setTimeField(index, v);
        this.updateIrq();
        return;
      case REG_A: {
        this.syncFlags();
        this.rebase();
        const wasRunning = this.dividerRunning();
        this.regA = v & 0x7f;
        const running = this.dividerRunning();
        if (running && !wasRunning) {
          // The divider chain restarts; the first update is half a second later.
          const now = this.clock.nowNs();
          this.dividerStartNs = now;
          this.updatePhaseNs = now + SECOND_NS / 2 - SECOND_NS;
          this.baseK = this.updateIndex(now);
        }
        this.updateIrq();
        return;
      }
      case REG_B: {
        this.syncFlags();
        this.rebase();
        if (v & B_SET) v &= ~B_UIE; // SET = 1 clears UIE
        this.regB = v;
        this.baseK = this.updateIndex(this.clock.nowNs());
        this.updateIrq();
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        this.ram[index] = v;
    }
  }

  private setTimeField(index: number, v: number): void {
    const t = this.epochSeconds();
    if (index === DAY_OF_WEEK) {
      this.dowOffset = (((this.decode(v) - 1 - (this.dayOfWeek(t) - 1 - this.dowOffset)) % 7) + 7) % 7;
      return;
    }
    const b = breakDown(t);
    switch (index) {
      case SECONDS: b.sec = this.decode(v); break;
      case MINUTES: b.min = this.decode(v); break;
      case HOURS: b.hour = this.decodeHour(v); break;
      case DATE: b.day = this.decode(v); break;
      case MONTH: b.month = this.decode(v); break;
      case YEAR: b.year = Math.floor(b.year / 100) * 100 + this.decode(v); break;
      default: b.year = this.decode(v) * 100 + (b.year % 100); break;
    }
    const dow = this.dayOfWeek(t);
    this.baseSeconds = compose(b);
    this.baseK = this.updateIndex(this.clock.nowNs());
    // The day-of-week register is independent of the date on the chip: keep its value.
    this.dowOffset = 0;
    this.dowOffset = (((dow - this.dayOfWeek(this.baseSeconds)) % 7) + 7) % 7;
  }
}
