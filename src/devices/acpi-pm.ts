/**
 * ACPI fixed hardware (ACPI spec 4.8): the PM1a event block (PM1_STS,
 * PM1_EN), the PM1a control block (PM1_CNT) and the PM timer, at QEMU's
 * PIIX4 PM I/O base 0xB000 (the FADT in src/boot/acpi.ts points here).
 *
 * - PM timer (0xB008): a free-running 24-bit counter at 3.579545 MHz of
 *   virtual time. Its overflow status/SCI (TMR_STS/TMR_EN) is not raised.
 * - PM1_STS (0xB000): write 1 to clear; RTC_STS (bit 10) and WAK_STS (bit
 *   15) are set by a wake from sleep.
 * - PM1_EN (0xB002): enables; RTC_EN (bit 10) lets the RTC alarm wake the
 *   machine from S3.
 * - PM1_CNT (0xB004): SCI_EN reads 1 (the FADT has no SMI command port:
 *   ACPI mode is always on); writing SLP_EN (bit 13) with SLP_TYP (12:10)
 *   enters the sleep state the DSDT's \_Sx_ packages name: 1 = S3
 *   (suspend to RAM), 0 = S5 (soft off); other types are ignored.
 *
 * @module
 */
import type { PortDevice, AccessSize } from "../vmm/bus.js";
import { TickRate, type VirtualClock } from "../vmm/clock.js";

export const PM_BASE = 0xb000;
export const PM1_EVT_LEN = 4;
export const PM1_CNT = 4;
export const PM1_CNT_LEN = 2;
export const PM_TMR = 8;
export const PM_LENGTH = 12;
export const SCI_IRQ = 9;
export const PM_TIMER_HZ = 3_579_545;

const STS_RTC = 1 << 10;
const STS_WAK = 1 << 15;
const CNT_SCI_EN = 1;
const CNT_SLP_EN = 1 << 13;
export const SLP_TYP_S3 = 1;
export const SLP_TYP_S5 = 0;

export interface AcpiPmOptions {
  clock: VirtualClock;
  /** The guest asked for sleep state S3 (suspend to RAM) or S5 (soft off). */
  onSleep(state: "S3" | "S5"): void;
}

export class AcpiPm implements PortDevice {
  readonly name = "acpi-pm";
  private sts = 0;
  private en = 0;
  private cnt = CNT_SCI_EN;
  private readonly timer = new TickRate(PM_TIMER_HZ);

  constructor(private readonly opts: AcpiPmOptions) {}

  read(offset: number, size: AccessSize): number {
    if (offset >= PM_TMR) return (this.timer.ticksAt(this.opts.clock.nowNs()) & 0xffffff) >>> (8 * (offset - PM_TMR));
    const v = offset < 2 ? this.sts : offset < 4 ? this.en : this.cnt;
    const shifted = v >>> (8 * (offset & 1));
    return size === 1 ? shifted & 0xff : shifted & 0xffff;
  }

  write(offset: number, size: AccessSize, value: number): void {
    const v = size === 1 ? (value & 0xff) << (8 * (offset & 1)) : value & 0xffff;
    const byteMask = size === 1 ? 0xff << (8 * (offset & 1)) : 0xffff;
    if (offset < 2) { this.sts &= ~(v & byteMask); return; }
    if (offset < 4) { this.en = (this.en & ~byteMask) | (v & byteMask); return; }
    if (offset < 6) {
      const cnt = (this.cnt & ~byteMask) | (v & byteMask);
      this.cnt = (cnt & ~CNT_SLP_EN) | CNT_SCI_EN;
      if ((cnt & CNT_SLP_EN) !== 0) {
        const type = (cnt >> 10) & 7;
        if (type === SLP_TYP_S3) this.opts.onSleep("S3");
        else if (type === SLP_TYP_S5) this.opts.onSleep("S5");
      }
    }
  }

  /** May the RTC alarm wake the machine (PM1_EN.RTC_EN)? */
  get rtcWakeEnabled(): boolean { return (this.en & STS_RTC) !== 0; }
  /** The machine woke from S3 because of the RTC alarm. */
  wokeByRtc(): void { this.sts |= STS_RTC | STS_WAK; }
}
