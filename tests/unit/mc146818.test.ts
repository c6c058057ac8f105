/**
 * Expected values from the Motorola MC146818A datasheet: the address map
 * (0 seconds, 1 seconds alarm, 2 minutes, 3 minutes alarm, 4 hours, 5 hours
 * alarm, 6 day of week with Sunday = 1, 7 date, 8 month, 9 year, A-D status
 * registers, 14-63 user RAM — the PC extends it to 128 bytes), Table 3's
 * BCD and binary data modes and 12-hour format (PM = bit 7, hours 1-12),
 * alarm "don't care" codes 11xxxxxx, Table 4's periodic interrupt rates for
 * a 32.768 kHz time base (RS 0011 122.070 µs ... 1111 500 ms; 0001 and
 * 0010 3.90625 and 7.8125 ms), UIP = 1 from 244 µs before the update cycle
 * through the 1984 µs cycle, the first update 500 ms after the divider
 * leaves reset, SET = 1 stops updates and clears UIE, register C flags
 * (IRQF PF AF UF) cleared by reading it, register D VRT = 1; the PC's NMI
 * mask in bit 7 of port 0x70. CMOS memory-size bytes follow the IBM PC/AT
 * layout (0x15-0x16 base KiB, 0x17-0x18 and 0x30-0x31 extended KiB,
 * 0x2E-0x2F checksum of 0x10-0x2D, high byte first) and the later
 * 0x34-0x35 (64 KiB above 16 MiB) and 0x5B-0x5D (64 KiB above 4 GiB).
 */
import { describe, expect, it } from "vitest";
import { Mc146818, daysFromCivil, periodicClocks } from "../../src/devices/mc146818.js";
import { PortBus } from "../../src/vmm/bus.js";
import { VirtualClock } from "../../src/vmm/clock.js";

const MiB = 1 << 20;
/** 2024-02-29 23:59:58 UTC, a Thursday (Date.UTC is a pure function; only devices must not read the host's time). */
const LEAP_EVE = Date.UTC(2024, 1, 29, 23, 59, 58) / 1000;

function setup(opts: { start?: number; ramBytes?: number; cmos?: Record<number, number> } = {}) {
  const clock = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
  const irq: { level: boolean; ns: number }[] = [];
  const rtc = new Mc146818({
    clock,
    startEpochSeconds: opts.start ?? LEAP_EVE,
    ramBytes: opts.ramBytes ?? 128 * MiB,
    setIrq: (level) => irq.push({ level, ns: clock.nowNs() }),
    cmos: opts.cmos,
  });
  const bus = new PortBus();
  bus.register(0x70, 2, rtc);
  const rd = (i: number) => {
    bus.write(0x70, 1, i);
    return bus.read(0x71, 1);
  };
  const wr = (i: number, v: number) => {
    bus.write(0x70, 1, i);
    bus.write(0x71, 1, v);
  };
  const at = (ns: number) => {
    while (clock.nextDeadline() <= ns) {
      clock.advanceTo(Math.max(clock.nowNs(), clock.nextDeadline()));
      clock.runDue();
    }
    clock.advanceTo(ns);
    clock.runDue();
  };
  const time = () => [0, 2, 4, 6, 7, 8, 9].map(rd);
  return { clock, rtc, bus, rd, wr, at, irq, time };
}

describe("MC146818 time registers", () => {
  it("reads the start time in BCD, 24-hour mode (the PC default, register B = 0x02)", () => {
    const t = setup();
    expect(t.rd(0x0b)).toBe(0x02);
    // seconds, minutes, hours, day of week (Thursday = 5), date, month, year
    expect(t.time()).toEqual([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24]);
    expect(t.rd(0x32)).toBe(0x20);
  });

  it("advances once per second of virtual time, through a leap day", () => {
    const t = setup();
    t.at(1e9);
    expect(t.rd(0)).toBe(0x59);
    t.at(2e9 - 1);
    expect(t.rd(0)).toBe(0x59);
    t.at(2e9);
    expect(t.time()).toEqual([0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24]);
  });

  it("uses binary values when DM = 1", () => {
    const t = setup();
    t.wr(0x0b, 0x06);
    expect(t.time()).toEqual([58, 59, 23, 5, 29, 2, 24]);
  });

  it("uses 12-hour format with the PM flag in bit 7 when 24/12 = 0", () => {
    const t = setup();
    t.wr(0x0b, 0x00); // BCD, 12-hour
    expect(t.rd(4)).toBe(0x91); // 11 PM
    t.at(2e9);
    expect(t.rd(4)).toBe(0x12); // 12 AM
    t.wr(0x0b, 0x04); // binary, 12-hour
    expect(t.rd(4)).toBe(12);
  });

  it("sets the time while SET = 1 and resumes counting from it when SET is cleared", () => {
    const t = setup();
    t.wr(0x0b, 0x82); // SET, 24-hour, BCD
    t.wr(0x09, 0x99); // 2099... (century stays 20)
    t.wr(0x08, 0x12);
    t.wr(0x07, 0x31);
    t.wr(0x04, 0x23);
    t.wr(0x02, 0x59);
    t.wr(0x00, 0x59);
    t.wr(0x06, 0x05);
    t.at(5e9);
    expect(t.time()).toEqual([0x59, 0x59, 0x23, 0x05, 0x31, 0x12, 0x99]); // frozen
    t.wr(0x0b, 0x02);
    t.at(6e9); // next update on the unchanged once-a-second phase
    expect(t.time()).toEqual([0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00]);
    expect(t.rd(0x32)).toBe(0x21);
    expect(t.rtc.epochSeconds()).toBe(Date.UTC(2100, 0, 1) / 1000);
  });

  it("converts dates consistently with the proleptic Gregorian calendar", () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(2000, 3, 1)).toBe(Date.UTC(2000, 2, 1) / 86400000);
    expect(daysFromCivil(1900, 3, 1)).toBe(Date.UTC(1900, 2, 1) / 86400000);
  });
});

describe("MC146818 status registers", () => {
  it("powers on with A = 0x26 (32.768 kHz, 1024 Hz) and D = VRT", () => {
    const t = setup();
    expect(t.rd(0x0a)).toBe(0x26);
    expect(t.rd(0x0d)).toBe(0x80);
    t.wr(0x0d, 0x00);
    expect(t.rd(0x0d)).toBe(0x80);
  });

  it("sets UIP from 244 µs before the update until the 1984 µs cycle ends", () => {
    const t = setup();
    t.at(1e9 - 2_228_001);
    expect(t.rd(0x0a) & 0x80).toBe(0);
    t.at(1e9 - 2_228_000);
    expect(t.rd(0x0a) & 0x80).toBe(0x80);
    expect(t.rd(0)).toBe(0x58); // old time during the update
    t.at(1e9 - 1);
    expect(t.rd(0x0a) & 0x80).toBe(0x80);
    t.at(1e9);
    expect(t.rd(0x0a) & 0x80).toBe(0);
    expect(t.rd(0)).toBe(0x59);
  });

  it("stops updates while the divider is in reset and updates 500 ms after it restarts", () => {
    const t = setup();
    t.at(300e6);
    t.wr(0x0a, 0x66); // DV = 110: reset
    t.at(5e9);
    expect(t.rd(0)).toBe(0x58);
    expect(t.rd(0x0a) & 0x80).toBe(0);
    t.wr(0x0a, 0x26);
    t.at(5.5e9 - 1);
    expect(t.rd(0)).toBe(0x58);
    t.at(5.5e9);
    expect(t.rd(0)).toBe(0x59);
  });

  it("clears UIE when SET is written as 1", () => {
    const t = setup();
    t.wr(0x0b, 0x12);
    expect(t.rd(0x0b)).toBe(0x12);
    t.wr(0x0b, 0x92);
    expect(t.rd(0x0b)).toBe(0x82);
  });
});

describe("MC146818 interrupts", () => {
  it("has the datasheet's periodic rates for a 32.768 kHz time base", () => {
    const ns = (rs: number) => (periodicClocks(rs) * 1e9) / 32768;
    expect(periodicClocks(0)).toBe(0);
    expect(ns(1)).toBe(3_906_250);
    expect(ns(2)).toBe(7_812_500);
    expect(ns(3)).toBe(122_070.3125);
    expect(ns(6)).toBe(976_562.5);
    expect(ns(15)).toBe(500_000_000);
  });

  it("raises IRQ 8 for each periodic interrupt until register C is read", () => {
    const t = setup();
    t.wr(0x0a, 0x2f); // 500 ms
    t.wr(0x0b, 0x42); // PIE
    t.at(499_999_999);
    expect(t.irq).toEqual([]);
    t.at(500_000_000);
    expect(t.irq).toEqual([{ level: true, ns: 500_000_000 }]);
    t.at(1_200_000_000);
    expect(t.rd(0x0c)).toBe(0xd0); // IRQF | PF, and UF: the flags are set whatever the enables
    expect(t.irq.at(-1)!.level).toBe(false);
    expect(t.rd(0x0c)).toBe(0x00);
    t.at(1.5e9);
    expect(t.irq.at(-1)).toEqual({ level: true, ns: 1_500_000_000 });
  });

  it("sets PF without PIE but does not interrupt", () => {
    const t = setup();
    t.at(2e6); // rate 6: periodic flag every 976.5625 µs
    expect(t.irq).toEqual([]);
    expect(t.rd(0x0c) & 0x40).toBe(0x40);
  });

  it("raises the update-ended interrupt at the end of each update cycle", () => {
    const t = setup();
    t.wr(0x0b, 0x12); // UIE
    t.at(1e9);
    expect(t.irq).toEqual([{ level: true, ns: 1e9 }]);
    expect(t.rd(0x0c)).toBe(0xd0); // IRQF | UF, and PF from the 1024 Hz rate (set without PIE)
  });

  it("matches the alarm, with 11xxxxxx as don't care", () => {
    const t = setup();
    t.wr(0x01, 0x03); // seconds alarm 03
    t.wr(0x03, 0xc0); // any minute
    t.wr(0x05, 0xff); // any hour
    t.wr(0x0b, 0x22); // AIE
    t.at(4e9); // 00:00:02
    expect(t.irq).toEqual([]);
    t.at(5e9); // 00:00:03
    expect(t.irq).toEqual([{ level: true, ns: 5e9 }]);
    expect(t.rd(0x0c) & 0xb0).toBe(0xb0); // IRQF | AF | UF
  });

  it("finds an alarm that passed while its interrupt was disabled", () => {
    const t = setup();
    t.wr(0x01, 0x00);
    t.wr(0x03, 0x00);
    t.wr(0x05, 0x00); // 00:00:00, two seconds after the start
    t.rd(0x0c);
    t.at(10e9);
    expect(t.rd(0x0c) & 0x20).toBe(0x20);
    expect(t.rd(0x0c) & 0x20).toBe(0);
  });
});

describe("MC146818 index port and CMOS RAM", () => {
  it("takes the NMI mask from bit 7 of the index", () => {
    const t = setup();
    t.bus.write(0x70, 1, 0x8f);
    expect(t.rtc.nmiMasked).toBe(true);
    t.bus.write(0x71, 1, 0x5a);
    t.bus.write(0x70, 1, 0x0f);
    expect(t.rtc.nmiMasked).toBe(false);
    expect(t.bus.read(0x71, 1)).toBe(0x5a);
  });

  it("fills the memory-size bytes for 128 MiB", () => {
    const t = setup({ ramBytes: 128 * MiB });
    expect([t.rd(0x15), t.rd(0x16)]).toEqual([0x80, 0x02]); // 640 KiB
    expect([t.rd(0x17), t.rd(0x18)]).toEqual([0x00, 0xfc]); // capped at 63 MiB = 0xFC00 KiB
    expect([t.rd(0x30), t.rd(0x31)]).toEqual([0x00, 0xfc]);
    expect([t.rd(0x34), t.rd(0x35)]).toEqual([0x00, 0x07]); // 112 MiB / 64 KiB = 0x700
    expect([t.rd(0x5b), t.rd(0x5c), t.rd(0x5d)]).toEqual([0, 0, 0]);
  });

  it("fills the memory-size bytes for 32 MiB and 8 MiB", () => {
    const a = setup({ ramBytes: 32 * MiB });
    expect([a.rd(0x17), a.rd(0x18)]).toEqual([0x00, 0x7c]); // 31744 KiB
    expect([a.rd(0x34), a.rd(0x35)]).toEqual([0x00, 0x01]); // 16 MiB / 64 KiB = 256
    const b = setup({ ramBytes: 8 * MiB });
    expect([b.rd(0x17), b.rd(0x18)]).toEqual([0x00, 0x1c]); // 7168 KiB
    expect([b.rd(0x34), b.rd(0x35)]).toEqual([0x00, 0x00]);
  });

  it("stores the AT checksum of 0x10-0x2D, high byte first", () => {
    const t = setup({ ramBytes: 32 * MiB, cmos: { 0x10: 0x40, 0x14: 0x06 } });
    const sum = 0x40 + 0x06 + 0x80 + 0x02 + 0x00 + 0x7c;
    expect([t.rd(0x2e), t.rd(0x2f)]).toEqual([sum >> 8, sum & 0xff]);
  });

  it("is 128 bytes of read/write RAM above the clock registers", () => {
    const t = setup();
    t.wr(0x40, 0xa5);
    t.wr(0x7f, 0x3c);
    expect(t.rd(0x40)).toBe(0xa5);
    expect(t.rd(0x7f)).toBe(0x3c);
    t.wr(0x0c, 0xff); // register C is read-only
    expect(t.rd(0x0c) & 0x0f).toBe(0);
  });
});
