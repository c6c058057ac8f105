/**
 * VirtualClock: the definitions in src/vmm/clock.ts (time = retired ×
 * ns/instruction, latched by advanceTo; timers in deadline order) and the
 * integer tick conversion the PIT and RTC rely on. Expected tick counts are
 * floor(t × f) computed by hand for the PIT's 1 193 182 Hz and the RTC's
 * 32 768 Hz.
 */
import { describe, expect, it } from "vitest";
import { TickRate, VirtualClock } from "../../src/vmm/clock.js";

describe("VirtualClock, deterministic mode", () => {
  it("derives time from retired instructions at 10 ns each by default", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    expect(c.nsPerInstruction).toBe(10);
    expect(c.nowNs()).toBe(0);
    c.advanceTo(100);
    expect(c.nowNs()).toBe(1000);
    c.advanceTo(250);
    expect(c.nowNs()).toBe(2500);
    c.advanceTo(250);
    expect(c.nowNs()).toBe(2500);
  });

  it("keeps time running across a core reset (retired count restarts at 0)", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    c.advanceTo(1000); // 10 µs
    c.advanceTo(5); // core reset, then 5 instructions
    expect(c.nowNs()).toBe(10_050);
  });

  it("bounds the next slice to the first instruction boundary at or after a deadline", () => {
    const c = new VirtualClock({ mode: "deterministic", nsPerInstruction: 10 });
    c.advanceTo(10);
    expect(c.instructionsUntil(200)).toBe(10);
    expect(c.instructionsUntil(205)).toBe(11);
    expect(c.instructionsUntil(100)).toBe(0);
    expect(c.instructionsUntil(50)).toBe(0);
    expect(c.instructionsUntil(Infinity)).toBe(Infinity);
  });

  it("skips idle time to a deadline", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    const fired: number[] = [];
    c.schedule(1_000_000, (at) => fired.push(at));
    c.skipTo(c.nextDeadline());
    expect(c.nowNs()).toBe(1_000_000);
    expect(c.runDue()).toBe(1);
    expect(fired).toEqual([1_000_000]);
    c.advanceTo(10); // instructions keep adding on top of skipped time
    expect(c.nowNs()).toBe(1_000_100);
  });
});

describe("VirtualClock, host mode", () => {
  it("follows the host source from construction, monotonically", () => {
    let ms = 5000;
    const c = new VirtualClock({ mode: "host", hostMs: () => ms });
    expect(c.nowNs()).toBe(0);
    ms = 5001.5;
    expect(c.advanceTo(0)).toBe(1_500_000);
    ms = 5001; // a host clock that steps back is ignored
    expect(c.advanceTo(0)).toBe(1_500_000);
    expect(() => c.skipTo(10)).toThrow();
  });

  it("advanceLazily reads the host source only now and then, but devices always see the current time", () => {
    let ms = 0, reads = 0;
    const c = new VirtualClock({ mode: "host", hostMs: () => { reads++; return ms; } });
    reads = 0;
    ms = 1;
    for (let i = 0; i < 10; i++) c.advanceLazily(i); // exits in quick succession, few instructions apart
    expect(reads).toBeLessThan(10);
    expect(c.nowNs()).toBe(1_000_000); // a device asking reads it
    const before = reads;
    expect(c.nowNs()).toBe(1_000_000); // latched until the next advance
    expect(reads).toBe(before);
    ms = 2;
    c.advanceLazily(1_000_000); // many instructions since the last read: read now
    expect(reads).toBe(before + 1);
  });

  it("requires a host time source", () => {
    expect(() => new VirtualClock({ mode: "host" })).toThrow(/hostMs/);
  });
});

describe("VirtualClock timers", () => {
  it("fires due timers in deadline order, ties in scheduling order", () => {
    const c = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
    const log: string[] = [];
    c.schedule(30, () => log.push("c"));
    c.schedule(10, () => log.push("a"));
    c.schedule(20, () => log.push("b1"));
    c.schedule(20, () => log.push("b2"));
    c.schedule(40, () => log.push("d"));
    expect(c.nextDeadline()).toBe(10);
    c.advanceTo(30);
    expect(c.runDue()).toBe(4);
    expect(log).toEqual(["a", "b1", "b2", "c"]);
    expect(c.nextDeadline()).toBe(40);
  });

  it("cancels timers and reports Infinity when none are left", () => {
    const c = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
    const h = c.schedule(5, () => { throw new Error("cancelled timer fired"); });
    c.cancel(h);
    c.cancel(h);
    expect(c.nextDeadline()).toBe(Infinity);
    c.advanceTo(10);
    expect(c.runDue()).toBe(0);
  });

  it("fires timers that due callbacks schedule in the past, in the same runDue", () => {
    const c = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
    const log: number[] = [];
    c.schedule(10, (at) => {
      log.push(at);
      c.schedule(at + 10, (at2) => log.push(at2));
      c.schedule(1000, (at3) => log.push(at3));
    });
    c.advanceTo(50);
    c.runDue();
    expect(log).toEqual([10, 20]);
    expect(c.nextDeadline()).toBe(1000);
  });
});

describe("VirtualClock TSC", () => {
  it("runs the deterministic TSC at one tick per instruction (100 MHz at 10 ns)", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    expect(c.tscFrequencyHz).toBe(100_000_000);
    c.advanceTo(12345);
    expect(c.tscTicks()).toBe(12345);
    expect(c.tscCatchUp(12345)).toBe(0);
  });

  it("hands out skipped idle time once, as an offset increment", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    c.advanceTo(1000);
    c.skipTo(1_000_000); // 1 ms idle from 10 µs: 99 000 ticks at 100 MHz
    expect(c.tscCatchUp(1000)).toBe(99_000);
    expect(c.tscCatchUp(1000)).toBe(0);
    c.advanceTo(1100);
    expect(c.tscCatchUp(1100)).toBe(0);
  });

  it("lets the core run ahead in host mode without going backwards", () => {
    let ms = 0;
    const c = new VirtualClock({ mode: "host", hostMs: () => ms, tscFrequencyHz: 1e9 });
    ms = 1; // 1 ms = 1e6 ticks; the core retired 400 000 instructions
    c.advanceTo(400_000);
    expect(c.tscCatchUp(400_000)).toBe(600_000);
    // Next slice: 2 000 000 instructions but only 1 ms more of host time: core is ahead.
    ms = 2;
    c.advanceTo(2_400_000);
    expect(c.tscCatchUp(2_400_000)).toBe(0);
    ms = 4; // 4e6 ticks vs 2.4e6 + 0.6e6 counted
    c.advanceTo(2_400_000);
    expect(c.tscCatchUp(2_400_000)).toBe(1_000_000);
  });

  it("restarts the TSC at a CPU reset", () => {
    const c = new VirtualClock({ mode: "deterministic" });
    c.advanceTo(500);
    c.cpuReset();
    c.advanceTo(20);
    expect(c.tscTicks()).toBe(20);
    expect(c.tscCatchUp(20)).toBe(0);
  });
});

describe("TickRate", () => {
  it("counts PIT input edges exactly (1 193 182 Hz)", () => {
    const r = new TickRate(1193182);
    expect(r.ticksAt(1_000_000_000)).toBe(1193182);
    expect(r.ticksAt(838)).toBe(0); // 838 ns × 1.193182 = 0.9999 clocks
    expect(r.ticksAt(839)).toBe(1);
    expect(r.nsOfTick(1)).toBe(839);
    expect(r.nsOfTick(1193182)).toBe(1_000_000_000);
    // One day in: 86400 × 1193182 edges, still exact.
    expect(r.ticksAt(86_400_000_000_000)).toBe(86400 * 1193182);
    for (const n of [1, 2, 11931, 65536, 1193181, 1193183, 3_000_000_000_123]) {
      const t = r.nsOfTick(n);
      expect(r.ticksAt(t)).toBe(n);
      expect(r.ticksAt(t - 1)).toBe(n - 1);
    }
  });

  it("counts the RTC crystal (32 768 Hz): 32 clocks = 976.5625 µs", () => {
    const r = new TickRate(32768);
    expect(r.nsOfTick(32)).toBe(976_563);
    expect(r.ticksAt(976_562)).toBe(31);
    expect(r.ticksAt(1_000_000_000)).toBe(32768);
  });
});
