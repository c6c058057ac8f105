/**
 * The VM's single time source. Every device that needs time (PIT, RTC, the
 * TSC, later the network and block back ends) reads it from here, never from
 * `Date.now()` or `performance.now()` directly, so that one switch makes the
 * whole machine deterministic.
 *
 * Two modes:
 *
 * - **host**: virtual time follows a monotonic host time source passed in
 *   (`() => performance.now()`, in milliseconds). The guest sees real
 *   elapsed time; runs are not reproducible.
 * - **deterministic**: virtual time is a pure function of the instructions
 *   the vCPU has retired, `retired × nsPerInstruction`, plus the time skipped
 *   while the guest was halted (see {@link VirtualClock.skipTo}). The same
 *   guest with the same input then produces the same output on every run and
 *   on both engines.
 *
 * The default deterministic rate is 10 ns per instruction — a nominal
 * 100 MIPS machine. That is close to what the Wasm engine achieves, so the
 * guest's idea of time stays within a small factor of wall time, and it is
 * coarse enough that guest delay loops (`udelay`, PIT polling, the RTC's
 * update-in-progress wait) finish in a reasonable number of instructions:
 * 1 ms of guest time is 100 000 instructions.
 *
 * Time is latched: {@link VirtualClock.nowNs} returns the value fixed by the
 * last {@link VirtualClock.advanceTo}. The VM advances the clock when the
 * core returns (before dispatching an exit, so a port read sees the exact
 * instant of the IN instruction) and between slices. Latching keeps every
 * device that looks at "now" during one exit in agreement, in both modes.
 *
 * Timers are one-shot callbacks at absolute virtual times. They never fire
 * by themselves: the VM calls {@link VirtualClock.runDue} after advancing,
 * and bounds the core's next slice with {@link VirtualClock.instructionsUntil}
 * so that, in deterministic mode, a timer fires at the first instruction
 * boundary at or after its deadline — never late by a whole slice.
 *
 * **TSC.** The core's RDTSC returns `tscOffset + retired` (one tick per
 * instruction, WRMSR 0x10 rewrites the offset). In deterministic mode the TSC
 * frequency defaults to `1e9 / nsPerInstruction` (100 MHz), so one tick per
 * instruction *is* the clock's TSC and nothing needs reconciling while the
 * guest runs. The clock's TSC additionally advances over time skipped
 * while halted, and in host mode it runs at {@link VirtualClock.tscFrequencyHz}
 * of host time; both are brought into the core by adding the non-negative
 * increment {@link VirtualClock.tscCatchUp} returns to the core's TSC offset
 * (so a guest WRMSR to the TSC is preserved, and the TSC never runs
 * backwards). See that method for the exact protocol.
 *
 * @module
 */
import { saveFields, restoreFields, type State } from "./snapshot.js";

/** How virtual time is derived. */
export type ClockMode = "host" | "deterministic";

/** Construction options for {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** "deterministic" (time from retired instructions) or "host" (time from `hostMs`). */
  mode: ClockMode;
  /**
   * Monotonic host time in milliseconds (e.g. `() => performance.now()`).
   * Required in host mode, ignored in deterministic mode.
   */
  hostMs?: () => number;
  /**
   * Virtual nanoseconds per retired instruction (deterministic mode; in host
   * mode only used by {@link VirtualClock.instructionsUntil} as the nominal
   * rate). Default {@link DEFAULT_NS_PER_INSTRUCTION}.
   */
  nsPerInstruction?: number;
  /**
   * TSC frequency reported to the guest (through its calibration against
   * the PIT). Default: `1e9 / nsPerInstruction` in deterministic mode (one
   * tick per instruction), {@link DEFAULT_HOST_TSC_HZ} in host mode.
   */
  tscFrequencyHz?: number;
}

/** Host mode: advanceLazily reads the host clock at least every this many calls… */
const HOST_SAMPLE_CALLS = 32;
/** …and whenever this many instructions retired since it last did (~20-100 µs of guest work). */
const HOST_SAMPLE_INSTRUCTIONS = 10_000;

/** 10 ns per instruction: a nominal 100 MIPS machine (see the module comment). */
export const DEFAULT_NS_PER_INSTRUCTION = 10;

/**
 * Host-mode TSC rate: 1 GHz, faster than either engine retires
 * instructions, so that the clock (not the instruction count) drives the
 * TSC and its rate matches what the guest calibrates against the PIT.
 */
export const DEFAULT_HOST_TSC_HZ = 1_000_000_000;

/** An opaque handle for {@link VirtualClock.cancel}. */
export interface TimerHandle {
  /** The virtual time (ns) the timer is due at. */
  readonly atNs: number;
  /** Its place among timers due at the same time (scheduling order). */
  readonly seq: number;
}

/** A pending timer as a snapshot holds it (a device re-arms it with {@link VirtualClock.restoreTimer}). */
export type SavedTimer = { atNs: number; seq: number } | null;

/** A timer callback; `atNs` is the time it was scheduled for (≤ the clock's now). */
export type TimerCallback = (atNs: number) => void;

interface Timer extends TimerHandle {
  readonly atNs: number;
  readonly seq: number;
  readonly callback: TimerCallback;
  cancelled: boolean;
}

/** Deadline order; equal deadlines fire in scheduling order (deterministic). */
function before(a: Timer, b: Timer): boolean {
  return a.atNs < b.atNs || (a.atNs === b.atNs && a.seq < b.seq);
}

/** Virtual time, timers and the TSC for one VM. */
export class VirtualClock {
  readonly mode: ClockMode;
  /** Virtual ns per retired instruction (the nominal rate in host mode). */
  readonly nsPerInstruction: number;
  /** The TSC's frequency in Hz. */
  readonly tscFrequencyHz: number;

  private readonly tscRate: TickRate;
  private readonly hostMs: (() => number) | undefined;
  private hostStartMs: number;
  private now = 0;
  /** Retired-instruction count seen by the last advanceTo (deterministic mode). */
  private lastRetired = 0;
  /** Virtual time at which the TSC was last reset (CPU reset). */
  private tscEpochNs = 0;
  /** Sum of the increments handed out by tscCatchUp since the TSC epoch. */
  private tscAdded = 0;
  /** Host mode: advanceLazily was called since the host clock was last read; calls and retired count since then. */
  private hostStale = false;
  private callsSinceSample = 0;
  private retiredAtSample = 0;
  /** The time and retired count of the last tscCatchUp (its answer was then 0 or has been added). */
  private tscCheckedNs = -1;
  private tscCheckedRetired = 0;

  private readonly heap: Timer[] = [];
  private changes = 0;
  private seq = 0;

  constructor(opts: VirtualClockOptions) {
    this.mode = opts.mode;
    const nspi = opts.nsPerInstruction ?? DEFAULT_NS_PER_INSTRUCTION;
    if (!(nspi > 0) || !Number.isFinite(nspi)) throw new RangeError(`nsPerInstruction must be positive (got ${nspi})`);
    this.nsPerInstruction = nspi;
    if (opts.mode === "host") {
      if (!opts.hostMs) throw new Error("VirtualClock: host mode needs a hostMs time source");
      this.hostMs = opts.hostMs;
      this.hostStartMs = opts.hostMs();
    } else {
      this.hostMs = undefined;
      this.hostStartMs = 0;
    }
    const tsc = opts.tscFrequencyHz ?? (opts.mode === "host" ? DEFAULT_HOST_TSC_HZ : 1e9 / nspi);
    if (!(tsc > 0) || !Number.isFinite(tsc)) throw new RangeError(`tscFrequencyHz must be positive (got ${tsc})`);
    this.tscFrequencyHz = tsc;
    this.tscRate = new TickRate(tsc);
  }

  // ---- time ------------------------------------------------------------------------

  /**
   * Bumped whenever the time moves or a timer is scheduled or cancelled: while
   * it stays the same, nothing is due that was not before and the next
   * deadline is as far away (the run loop skips its bookkeeping then).
   */
  get changeCount(): number { return this.changes; }

  /** Virtual nanoseconds since power-on, as of the last {@link advanceTo} (an integer). */
  nowNs(): number {
    if (this.hostStale) this.sampleHost();
    return this.now;
  }

  /**
   * Bring virtual time up to date. `retired` is the core's retired
   * instruction count (`core.getRetired()`). Deterministic mode adds the
   * instructions retired since the previous call; a count lower than the
   * previous one means the core was reset and counts from 0 again. Host
   * mode samples the host source. Time never goes backwards. Returns the
   * new time.
   */
  advanceTo(retired: number): number {
    if (this.mode === "deterministic") {
      const delta = retired >= this.lastRetired ? retired - this.lastRetired : retired;
      this.lastRetired = retired;
      if (delta > 0) { this.now += delta * this.nsPerInstruction; this.changes++; }
    } else {
      this.sampleHost();
    }
    return this.now;
  }

  /**
   * {@link advanceTo} for the run loop, which calls it at every exit. Reading
   * the host clock costs about as much as an exit's whole round trip, so in
   * host mode, while the guest exits often with few instructions in between,
   * the host clock is read only every few calls (a timer then fires at most a
   * few microseconds late) — and whenever a device asks for the time
   * ({@link nowNs}), so what devices see is always current. Deterministic
   * mode: the same as advanceTo.
   */
  advanceLazily(retired: number): void {
    if (this.mode === "deterministic") { this.advanceTo(retired); return; }
    this.hostStale = true;
    if (++this.callsSinceSample >= HOST_SAMPLE_CALLS || retired - this.retiredAtSample >= HOST_SAMPLE_INSTRUCTIONS) {
      this.sampleHost();
      this.retiredAtSample = retired;
    }
  }

  private sampleHost(): void {
    const t = Math.floor((this.hostMs!() - this.hostStartMs) * 1e6);
    if (t > this.now) { this.now = t; this.changes++; }
    this.hostStale = false;
    this.callsSinceSample = 0;
  }

  /**
   * Deterministic mode: let time pass without instructions, up to `ns`.
   * Two uses: the vCPU halted with interrupts enabled (the VM skips to
   * {@link nextDeadline}, then calls {@link runDue}; with no deadline the
   * guest is halted for good), and charging a fixed cost to slow operations
   * (e.g. `skipTo(nowNs() + 1000)` per ISA port access, about what an ISA
   * bus cycle takes, which keeps polling loops from costing hundreds of
   * thousands of exits). Either way the TSC must then catch up
   * ({@link tscCatchUp}). In host mode the VM waits for real time instead,
   * so this is an error there. No-op if `ns` is not in the future.
   */
  skipTo(ns: number): void {
    if (this.mode !== "deterministic") throw new Error("VirtualClock.skipTo: only in deterministic mode (host mode waits for real time)");
    if (!Number.isFinite(ns)) throw new RangeError("VirtualClock.skipTo: no finite deadline to skip to");
    const t = Math.ceil(ns);
    if (t > this.now) { this.now = t; this.changes++; }
  }

  /**
   * Instructions the core may run before the virtual time reaches
   * `deadlineNs`: the slice budget that makes the deadline fall on the
   * first instruction boundary at or after it. 0 if it is already due,
   * Infinity if `deadlineNs` is Infinity. In host mode this is an estimate
   * at the nominal rate (time there does not depend on instructions); the VM
   * still calls {@link runDue} after every slice.
   */
  instructionsUntil(deadlineNs: number): number {
    if (deadlineNs === Infinity) return Infinity;
    const ns = deadlineNs - this.now;
    if (ns <= 0) return 0;
    return Math.ceil(ns / this.nsPerInstruction);
  }

  // ---- timers ----------------------------------------------------------------------

  /**
   * Call `callback(atNs)` from the first {@link runDue} at which the time is
   * ≥ `atNs`. Timers due at the same time fire in the order they were
   * scheduled. A callback may schedule and cancel timers.
   */
  schedule(atNs: number, callback: TimerCallback): TimerHandle {
    if (Number.isNaN(atNs)) throw new RangeError("VirtualClock.schedule: deadline is NaN");
    const t: Timer = { atNs, seq: this.seq++, callback, cancelled: false };
    this.push(t);
    this.changes++;
    return t;
  }

  /** A device's timer for a snapshot: its deadline and place, or null when none is pending. */
  saveTimer(handle: TimerHandle | null | undefined): SavedTimer {
    return handle && !(handle as Timer).cancelled ? { atNs: handle.atNs, seq: handle.seq } : null;
  }

  /** Re-arm a timer saveTimer recorded, in the same place among timers due at the same time. */
  restoreTimer(saved: SavedTimer, callback: TimerCallback): TimerHandle | null {
    if (!saved) return null;
    const t: Timer = { atNs: saved.atNs, seq: saved.seq, callback, cancelled: false };
    this.push(t);
    this.changes++;
    return t;
  }

  /** The clock's own state for a snapshot (the timers are their devices': each saves and re-arms its own). */
  save(): State {
    this.nowNs();
    return saveFields(this, ["mode", "nsPerInstruction", "tscFrequencyHz", "hostStartMs", "hostStale", "callsSinceSample", "retiredAtSample", "changes"]);
  }

  /**
   * Take back save()'s state. Every pending timer is dropped (the devices' restore re-arms theirs); in host mode
   * virtual time goes on from the saved instant, the host's time before this moment not counted.
   */
  restore(state: State): void {
    restoreFields(this, state);
    this.heap.length = 0;
    this.changes++;
    if (this.hostMs) { this.hostStartMs = this.hostMs() - this.now / 1e6; this.hostStale = false; this.callsSinceSample = 0; this.retiredAtSample = this.lastRetired; }
  }

  /** Cancel a timer; harmless if it has fired or was cancelled already. */
  cancel(handle: TimerHandle | null | undefined): void {
    if (handle) { (handle as Timer).cancelled = true; this.changes++; }
  }

  /** The earliest pending deadline (ns), or Infinity if no timer is pending. */
  nextDeadline(): number {
    this.dropCancelled();
    return this.heap.length === 0 ? Infinity : this.heap[0]!.atNs;
  }

  /**
   * Fire every timer due at the current time, in deadline order (including
   * ones that due callbacks schedule at or before now). Returns how many fired.
   */
  runDue(): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (!top || top.atNs > this.now) return fired;
      this.pop();
      top.cancelled = true;
      fired++;
      top.callback(top.atNs);
    }
  }

  // ---- TSC -------------------------------------------------------------------------

  /** The clock's TSC value now: ticks at {@link tscFrequencyHz} since the last CPU reset. */
  tscTicks(): number {
    return this.tscRate.ticksAt(this.now - this.tscEpochNs);
  }

  /**
   * Reconcile the core's TSC with the clock. The core counts one TSC tick
   * per retired instruction (`core TSC = tscOffset + retired`); the clock's
   * TSC may run ahead of that (host mode, or time skipped while halted).
   * Call with the core's current `getRetired()` after {@link advanceTo},
   * before the core runs again; add the returned increment (≥ 0, an integer)
   * to the core's TSC offset:
   *
   * ```ts
   * const d = clock.tscCatchUp(core.getRetired());
   * if (d > 0) core.setTscOffset(core.getTscOffset() + d);   // setTscOffset: to be exported by the core
   * ```
   *
   * The result is the amount by which `retired + (all increments so far)`
   * lags {@link tscTicks}; when the core runs ahead (more instructions than
   * ticks) it returns 0 until the clock catches up, so the guest's TSC is
   * monotonic and never slower than one tick per instruction. Adding to the
   * offset (instead of setting it) keeps a guest's WRMSR to the TSC intact.
   * In deterministic mode with the default TSC rate this is 0 except after
   * {@link skipTo}.
   */
  tscCatchUp(retired: number): number {
    // Time has not moved since the last call and the core only ran on: the lag can only have shrunk (to ≤ 0).
    if (this.now === this.tscCheckedNs && retired >= this.tscCheckedRetired) return 0;
    this.tscCheckedNs = this.now;
    this.tscCheckedRetired = retired;
    const lag = this.tscTicks() - (retired + this.tscAdded);
    if (lag <= 0) return 0;
    this.tscAdded += lag;
    return lag;
  }

  /**
   * The vCPU was reset (its TSC and retired count are 0 again): restart
   * the clock's TSC at the current time. Virtual time itself continues.
   */
  cpuReset(): void {
    this.tscEpochNs = this.nowNs();
    this.tscAdded = 0;
    this.tscCheckedNs = -1;
    this.lastRetired = 0;
  }

  // ---- binary heap -----------------------------------------------------------------

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private push(t: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(t);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(t, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = t;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Conversion between virtual nanoseconds and the edges of a clock of `hz`
 * Hz whose edge 0 is at time 0 (power-on): the PIT's 1.193182 MHz input,
 * the RTC's 32.768 kHz crystal, the TSC. Exact integer arithmetic for
 * integer rates — the rate is reduced to N/D ticks per ns and the time split
 * into whole multiples of D, so no intermediate product reaches 2^53 — which
 * is what lets a guest that polls a PIT counter against the TSC see
 * consistent values at every instant. Non-integer rates use one correctly
 * rounded floating-point product.
 */
export class TickRate {
  private readonly n: number;
  private readonly d: number;
  private readonly exact: boolean;

  constructor(readonly hz: number) {
    if (!(hz > 0) || !Number.isFinite(hz)) throw new RangeError(`TickRate: bad frequency ${hz}`);
    this.exact = Number.isInteger(hz);
    const g = this.exact ? gcd(hz, 1e9) : 1;
    this.n = this.exact ? hz / g : hz;
    this.d = this.exact ? 1e9 / g : 1e9;
  }

  /** Edges in (0, ns]: floor(ns × hz / 1e9); 0 for ns ≤ 0. `ns` is an integer. */
  ticksAt(ns: number): number {
    if (ns <= 0) return 0;
    if (!this.exact) return Math.floor((ns * this.n) / this.d);
    const s = Math.floor(ns / this.d);
    return s * this.n + Math.floor(((ns - s * this.d) * this.n) / this.d);
  }

  /** The first integer ns at which edge `ticks` has occurred: the least ns with ticksAt(ns) ≥ ticks. */
  nsOfTick(ticks: number): number {
    if (ticks <= 0) return 0;
    if (!this.exact) return Math.ceil((ticks * this.d) / this.n);
    const s = Math.floor(ticks / this.n);
    return s * this.d + Math.ceil(((ticks - s * this.n) * this.d) / this.n);
  }
}
