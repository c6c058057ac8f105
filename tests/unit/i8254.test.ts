/**
 * Expected behaviour from the Intel 8254 datasheet (231306), counted in
 * CLK pulses: control word format (SC1-0, RW1-0, M2-0, BCD), "after the
 * control word and initial count are written, the initial count is loaded
 * on the next CLK pulse; this pulse does not decrement the count, so for an
 * initial count of N, OUT does not go high until N + 1 CLK pulses after the
 * initial count is written" (mode 0), mode 1 one-shot of N clocks after a
 * gate trigger, mode 2 OUT low for one clock every N, mode 3 square wave
 * (even N: N/2 high, N/2 low, decrement by two; odd N: (N+1)/2 high,
 * (N-1)/2 low), mode 4 one-clock strobe N + 1 clocks after the write, mode 5
 * strobe N + 1 clocks after a trigger; gate semantics (mode 0 GATE = 0
 * suspends counting; modes 2/3 GATE = 0 forces OUT high and a rising edge
 * reloads); the counter latch command (SC, RW = 00), the read-back command
 * (11 COUNT# STATUS# CNT2 CNT1 CNT0 0) and the status byte (OUTPUT, NULL
 * COUNT, RW1-0, M2-0, BCD), "if both count and status are latched, the
 * first read returns the status"; a count of 0 is 2^16 (binary) or 10^4
 * (BCD). The input clock is 1.193182 MHz (the PC's 14.31818 MHz / 12).
 */
import { describe, expect, it } from "vitest";
import { I8254, PIT_HZ } from "../../src/devices/i8254.js";
import { SystemControlB } from "../../src/devices/system-ports.js";
import { PortBus } from "../../src/vmm/bus.js";
import { TickRate, VirtualClock } from "../../src/vmm/clock.js";

const rate = new TickRate(PIT_HZ);

function setup(withIrq = false) {
  const clock = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
  const irq: { level: boolean; edge: number }[] = [];
  const pit = new I8254({
    clock,
    setIrq: withIrq ? (level) => irq.push({ level, edge: rate.ticksAt(clock.nowNs()) }) : undefined,
  });
  const bus = new PortBus();
  bus.register(0x40, 4, pit);
  const out = (p: number, v: number) => bus.write(p, 1, v);
  const inb = (p: number) => bus.read(p, 1);
  /**
   * Move the clock to the instant CLK edge `e` occurs (plus `extraNs`),
   * stopping at every timer deadline on the way as the VM's run loop does.
   */
  const edge = (e: number, extraNs = 0) => {
    const target = rate.nsOfTick(e) + extraNs;
    while (clock.nextDeadline() <= target) {
      clock.advanceTo(Math.max(clock.nowNs(), clock.nextDeadline()));
      clock.runDue();
    }
    clock.advanceTo(target);
    clock.runDue();
  };
  const read16 = (p: number) => {
    const lo = inb(p);
    return lo | (inb(p) << 8);
  };
  /** Read-back status of one counter. */
  const status = (ch: number) => {
    out(0x43, 0xe0 | (2 << ch));
    return inb(0x40 + ch);
  };
  return { clock, pit, bus, out, inb, edge, read16, status, irq };
}

describe("8254 mode 0: interrupt on terminal count", () => {
  it("raises OUT N + 1 clocks after the count is written", () => {
    const t = setup();
    t.edge(1000, 100);
    t.out(0x43, 0x30); // counter 0, LSB then MSB, mode 0, binary
    expect(t.pit.out(0)).toBe(false);
    t.out(0x40, 100);
    t.out(0x40, 0);
    t.edge(1100);
    expect(t.pit.out(0)).toBe(false);
    t.edge(1101);
    expect(t.pit.out(0)).toBe(true);
    t.edge(5000);
    expect(t.pit.out(0)).toBe(true); // stays high until a new count or control word
  });

  it("loads N on the next CLK and then counts down by one per CLK, wrapping after 0", () => {
    const t = setup();
    t.edge(10, 1);
    t.out(0x43, 0x30);
    t.out(0x40, 0x34);
    t.out(0x40, 0x12); // N = 0x1234, loaded at edge 11
    t.edge(11);
    expect(t.read16(0x40)).toBe(0x1234);
    t.edge(11 + 0x34);
    expect(t.read16(0x40)).toBe(0x1200);
    t.edge(11 + 0x1234 + 1);
    expect(t.read16(0x40)).toBe(0xffff);
  });

  it("sets OUT low on the first byte of a new count and suspends counting", () => {
    const t = setup();
    t.out(0x43, 0x30);
    t.out(0x40, 10);
    t.out(0x40, 0);
    t.edge(100);
    expect(t.pit.out(0)).toBe(true);
    t.out(0x40, 50); // first byte: OUT low, counting disabled
    expect(t.pit.out(0)).toBe(false);
    t.edge(200);
    t.out(0x40, 0); // second byte: N = 50 loaded at edge 201
    t.edge(250);
    expect(t.pit.out(0)).toBe(false);
    t.edge(251);
    expect(t.pit.out(0)).toBe(true);
  });

  it("counts 0 as 65536", () => {
    const t = setup();
    t.out(0x43, 0x30);
    t.out(0x40, 0);
    t.out(0x40, 0); // written at edge 0: OUT high at edge 65537
    t.edge(65536);
    expect(t.pit.out(0)).toBe(false);
    t.edge(65537);
    expect(t.pit.out(0)).toBe(true);
  });

  it("suspends counting while GATE is low (counter 2)", () => {
    const t = setup();
    t.pit.setGate(2, true);
    t.out(0x43, 0xb0); // counter 2, LSB/MSB, mode 0
    t.out(0x42, 20);
    t.out(0x42, 0); // loaded at edge 1
    t.edge(11, 5); // value 10 after edge 11
    t.pit.setGate(2, false);
    t.edge(500);
    expect(t.read16(0x42)).toBe(10);
    t.pit.setGate(2, true); // decrements again from edge 501: reaches 0 at edge 510
    t.edge(509);
    expect(t.read16(0x42)).toBe(1);
    expect(t.pit.out(2)).toBe(false);
    t.edge(510);
    expect(t.pit.out(2)).toBe(true);
  });
});

describe("8254 mode 1: hardware retriggerable one-shot", () => {
  it("holds OUT low for N clocks from the clock after a gate trigger", () => {
    const t = setup();
    t.out(0x43, 0xb2); // counter 2, LSB/MSB, mode 1
    t.out(0x42, 5);
    t.out(0x42, 0);
    t.edge(100);
    expect(t.pit.out(2)).toBe(true); // no trigger yet
    t.edge(100, 10);
    t.pit.setGate(2, true); // trigger: loaded at edge 101
    expect(t.pit.out(2)).toBe(true);
    t.edge(101);
    expect(t.pit.out(2)).toBe(false);
    t.edge(105);
    expect(t.pit.out(2)).toBe(false);
    t.edge(106);
    expect(t.pit.out(2)).toBe(true);
  });
});

describe("8254 mode 2: rate generator", () => {
  it("is low for one clock every N clocks and reads N..1", () => {
    const t = setup();
    t.out(0x43, 0x34); // counter 0, LSB/MSB, mode 2
    t.out(0x40, 4);
    t.out(0x40, 0); // loaded at edge 1
    const seen: [number, boolean][] = [];
    for (let e = 1; e <= 9; e++) {
      t.edge(e);
      seen.push([t.read16(0x40), t.pit.out(0)]);
    }
    expect(seen).toEqual([
      [4, true], [3, true], [2, true], [1, false],
      [4, true], [3, true], [2, true], [1, false],
      [4, true],
    ]);
  });

  it("applies a new count at the end of the current period", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 10);
    t.out(0x40, 0); // loaded at edge 1, reloads at 11, 21, ...
    t.edge(3);
    t.out(0x40, 3);
    t.out(0x40, 0);
    expect(t.status(0) & 0x40).toBe(0x40); // null count until the new count is loaded
    t.edge(10);
    expect(t.read16(0x40)).toBe(1);
    t.edge(11);
    expect(t.read16(0x40)).toBe(3);
    expect(t.status(0) & 0x40).toBe(0);
    t.edge(13);
    expect(t.pit.out(0)).toBe(false);
    t.edge(14);
    expect(t.read16(0x40)).toBe(3);
  });

  it("forces OUT high while GATE is low and reloads on the rising edge", () => {
    const t = setup();
    t.pit.setGate(2, true);
    t.out(0x43, 0xb4); // counter 2, mode 2
    t.out(0x42, 5);
    t.out(0x42, 0);
    t.edge(4, 1); // value 2
    t.pit.setGate(2, false);
    t.edge(5);
    expect(t.pit.out(2)).toBe(true); // would have been low at count 1
    t.edge(20, 1);
    t.pit.setGate(2, true); // reload at edge 21
    t.edge(21);
    expect(t.read16(0x42)).toBe(5);
    t.edge(25);
    expect(t.pit.out(2)).toBe(false);
  });

  it("drives IRQ 0 with a rising edge every N clocks, through clock timers", () => {
    const t = setup(true);
    t.out(0x43, 0x34);
    t.out(0x40, 0xe8);
    t.out(0x40, 0x03); // N = 1000, loaded at edge 1
    t.irq.length = 0;
    for (let e = 1; e < 3200; e += 7) t.edge(e);
    expect(t.irq).toEqual([
      { level: false, edge: 1000 }, { level: true, edge: 1001 },
      { level: false, edge: 2000 }, { level: true, edge: 2001 },
      { level: false, edge: 3000 }, { level: true, edge: 3001 },
    ]);
  });

  it("lets the clock bound the next slice to the next OUT transition", () => {
    const t = setup(true);
    t.out(0x43, 0x34);
    t.out(0x40, 100);
    t.out(0x40, 0);
    expect(t.clock.nextDeadline()).toBe(rate.nsOfTick(100));
  });
});

describe("8254 mode 3: square wave", () => {
  it("divides an even count into N/2 high and N/2 low, decrementing by two", () => {
    const t = setup();
    t.out(0x43, 0x36); // counter 0, mode 3
    t.out(0x40, 6);
    t.out(0x40, 0);
    const seen: [number, boolean][] = [];
    for (let e = 1; e <= 7; e++) {
      t.edge(e);
      seen.push([t.read16(0x40), t.pit.out(0)]);
    }
    expect(seen).toEqual([[6, true], [4, true], [2, true], [6, false], [4, false], [2, false], [6, true]]);
  });

  it("is high (N+1)/2 and low (N-1)/2 clocks for an odd count", () => {
    const t = setup();
    t.out(0x43, 0x36);
    t.out(0x40, 5);
    t.out(0x40, 0);
    const outs: boolean[] = [];
    for (let e = 1; e <= 11; e++) {
      t.edge(e);
      outs.push(t.pit.out(0));
    }
    expect(outs).toEqual([true, true, true, false, false, true, true, true, false, false, true]);
  });

  it("runs counter 0 at 18.2 Hz (count 65536) from power-on, as a BIOS leaves it", () => {
    const t = setup(true);
    t.edge(70000);
    expect(t.irq).toEqual([{ level: false, edge: 1 + 32768 }, { level: true, edge: 1 + 65536 }]);
  });
});

describe("8254 modes 4 and 5: strobes", () => {
  it("mode 4 strobes OUT low for one clock N + 1 clocks after the write", () => {
    const t = setup();
    t.out(0x43, 0x38); // counter 0, mode 4
    t.out(0x40, 3);
    t.out(0x40, 0);
    const outs: boolean[] = [];
    for (let e = 1; e <= 6; e++) {
      t.edge(e);
      outs.push(t.pit.out(0));
    }
    expect(outs).toEqual([true, true, true, false, true, true]);
  });

  it("mode 5 strobes N + 1 clocks after a gate trigger", () => {
    const t = setup();
    t.out(0x43, 0xba); // counter 2, mode 5
    t.out(0x42, 2);
    t.out(0x42, 0);
    t.edge(50, 3);
    t.pit.setGate(2, true); // loaded at edge 51
    t.edge(52);
    expect(t.pit.out(2)).toBe(true);
    t.edge(53);
    expect(t.pit.out(2)).toBe(false);
    t.edge(54);
    expect(t.pit.out(2)).toBe(true);
  });
});

describe("8254 reading", () => {
  it("holds a latched count until it is read, ignoring further latches", () => {
    const t = setup();
    t.out(0x43, 0x30);
    t.out(0x40, 0x00);
    t.out(0x40, 0x10); // N = 0x1000 loaded at edge 1
    t.edge(0x11);
    t.out(0x43, 0x00); // latch counter 0: 0x0ff0
    t.edge(0x500);
    t.out(0x43, 0x00); // ignored: a latched count is unread
    expect(t.inb(0x40)).toBe(0xf0);
    t.out(0x43, 0x00); // still ignored: MSB unread
    expect(t.inb(0x40)).toBe(0x0f);
    expect(t.read16(0x40)).toBe(0x1000 - 0x4ff); // live again
  });

  it("reads one byte per access in LSB-only and MSB-only modes", () => {
    const t = setup();
    t.out(0x43, 0x10); // counter 0, LSB only, mode 0
    t.out(0x40, 0x80); // N = 0x80
    t.edge(0x11);
    expect(t.inb(0x40)).toBe(0x70);
    expect(t.inb(0x40)).toBe(0x70);
    t.out(0x43, 0x20); // MSB only, mode 0
    t.out(0x40, 0x02); // N = 0x200, loaded at edge 0x12
    t.edge(0x12 + 0x101);
    expect(t.inb(0x40)).toBe(0x00); // 0x0ff
  });

  it("returns the status byte, then the count, after a read-back of both", () => {
    const t = setup();
    t.out(0x43, 0x30);
    // After the control word: OUT low, null count, RW = 11, mode 0, binary.
    expect(t.status(0)).toBe(0x70);
    t.out(0x40, 0x05);
    t.out(0x40, 0x00);
    t.edge(1);
    expect(t.status(0)).toBe(0x30); // count loaded
    t.edge(3);
    t.out(0x43, 0xc2); // read-back, COUNT# = 0, STATUS# = 0, counter 0
    expect(t.inb(0x40)).toBe(0x30);
    expect(t.read16(0x40)).toBe(3);
    t.edge(6);
    expect(t.status(0)).toBe(0xb0); // OUT high after terminal count
  });

  it("latches several counters with one read-back command", () => {
    const t = setup();
    t.out(0x43, 0x30);
    t.out(0x40, 100);
    t.out(0x40, 0);
    t.pit.setGate(2, true);
    t.out(0x43, 0xb0);
    t.out(0x42, 200);
    t.out(0x42, 0);
    t.edge(11);
    t.out(0x43, 0xd2 | 0x08); // latch count of counters 0 and 2
    t.edge(50);
    expect(t.read16(0x40)).toBe(90);
    expect(t.read16(0x42)).toBe(190);
  });

  it("counts in BCD when the BCD bit is set (count 0 = 10000)", () => {
    const t = setup();
    t.out(0x43, 0x31); // mode 0, BCD
    t.out(0x40, 0x00);
    t.out(0x40, 0x01); // 100 decimal
    t.edge(1 + 11);
    expect(t.read16(0x40)).toBe(0x0089);
    expect(t.status(0) & 1).toBe(1);
    t.out(0x43, 0x31);
    t.out(0x40, 0);
    t.out(0x40, 0); // 10000
    t.edge(13 + 1);
    expect(t.read16(0x40)).toBe(0x9999);
  });

  it("reads the control word register as 0xff", () => {
    expect(setup().inb(0x43)).toBe(0xff);
  });
});

describe("8254 counter 2 through port 0x61 (TSC calibration)", () => {
  it("sets port 0x61 bit 5 exactly when counter 2 reaches terminal count", () => {
    // Linux pit_calibrate_tsc(): gate high, speaker off; counter 2 mode 0; poll bit 5.
    const t = setup();
    const p61 = new SystemControlB(t.pit, t.clock);
    t.bus.register(0x61, 1, p61);
    t.edge(5000, 200);
    t.out(0x61, (t.inb(0x61) & ~0x02) | 0x01);
    t.out(0x43, 0xb0);
    const latch = Math.floor(PIT_HZ / (1000 / 10)); // CAL_LATCH: 10 ms
    t.out(0x42, latch & 0xff);
    t.out(0x42, latch >> 8);
    t.edge(5000 + latch);
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.edge(5000 + latch + 1);
    expect(t.inb(0x61) & 0x20).toBe(0x20);
    // (latch + 1) clocks of 1.193182 MHz: 10.0 ms of virtual time after the write.
    const ms = (rate.nsOfTick(5000 + latch + 1) - rate.nsOfTick(5000)) / 1e6;
    expect(ms).toBeGreaterThan(9.99);
    expect(ms).toBeLessThan(10.01);
  });
});
