/**
 * Turns the VM's cumulative counters (Vm.stats(), sampled by the worker)
 * into rates over each interval between two samples.
 *
 * @module
 */
import type { VmStats } from "../../src/vmm/vm.js";

export interface RateSample {
  /** Seconds since the first sample of this boot. */
  t: number;
  /** Guest instructions per second, in millions. */
  mips: number;
  /** Exits per second by reason (only reasons seen so far). */
  exits: Record<string, number>;
  tlbMissesPerSec: number;
  /** Translation-cache hits / lookups over the interval, in percent; null when there were no lookups. */
  tcacheHitRate: number | null;
}

export class RateTracker {
  private first: number | null = null;
  private prev: { t: number; s: VmStats } | null = null;

  /** The rates since the previous sample (null for the first one). `t` is in milliseconds. */
  push(t: number, s: VmStats): RateSample | null {
    const prev = this.prev;
    this.prev = { t, s };
    if (this.first === null) this.first = t;
    if (!prev || t <= prev.t) return null;
    const dt = (t - prev.t) / 1000;
    const exits: Record<string, number> = {};
    for (const [k, v] of Object.entries(s.exits)) exits[k] = (v - (prev.s.exits[k] ?? 0)) / dt;
    const lookups = s.tcache.lookups - prev.s.tcache.lookups;
    return {
      t: (t - this.first) / 1000,
      mips: (s.instructions - prev.s.instructions) / dt / 1e6,
      exits,
      tlbMissesPerSec: (s.tlbMisses - prev.s.tlbMisses) / dt,
      tcacheHitRate: lookups > 0 ? (100 * (s.tcache.hits - prev.s.tcache.hits)) / lookups : null,
    };
  }
}
