/**
 * Several VMs in one thread: the scheduler that takes turns between them
 * (VMs on one virtual switch, or sharing one VPIO card).
 *
 * - **Deterministic clocks** (every VM's time comes from its own retired
 *   instructions): the VM whose virtual time is furthest behind runs next,
 *   for at most a quantum past the others ({@link VmGroupOptions.quantumNs}),
 *   and a halted VM skips idle time only up to that horizon. The VMs' clocks
 *   stay within a quantum of each other, so a frame one sends reaches the
 *   other at about the same virtual time, and the whole group is
 *   reproducible: the same guests and input give the same output.
 * - **Host clocks**: round robin by slices; when every runnable VM is idle
 *   the group sleeps until the earliest timer, or until {@link VmGroup.wake}
 *   (a frame arrived).
 *
 * A VM suspended by a device (a VPIO card owned by another VM) is skipped
 * until the device resumes it. The pollers run between turns (a shared VPIO
 * card hands itself over there). A VM that stops for good (halt, power off,
 * debug exit, triple fault) leaves the rotation.
 *
 * @module
 */
import type { Vm, StopReason } from "./vm.js";
import type { State } from "./snapshot.js";

export interface VmGroupOptions {
  /** Instructions per turn at most (default 500 000). */
  slice?: number;
  /** Deterministic mode: how far one VM may run ahead of the slowest (default 200 µs of virtual time). */
  quantumNs?: number;
  /** Called between turns. */
  pollers?: (() => void)[];
}

/** Wakes a runner (runVm, a VmGroup) that sleeps while its guests wait for a timer. */
export class Waker {
  private pending: (() => void) | null = null;

  wake(): void {
    const p = this.pending;
    this.pending = null;
    p?.();
  }

  /** Sleep up to `ms`, or until {@link wake}. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.pending = null; resolve(); }, ms);
      this.pending = () => { clearTimeout(t); resolve(); };
    });
  }
}

export type GroupOutcome = { kind: "all-stopped" } | { kind: "until"; why: string } | { kind: "timeout"; seconds: number } | { kind: "stuck"; why: string };

export class VmGroup {
  /** Final stop reason of each VM (undefined while it runs). */
  readonly finished: (StopReason | undefined)[];
  readonly slice: number;
  readonly quantumNs: number;
  private readonly pollers: (() => void)[];
  private readonly deterministic: boolean;
  private next = 0;
  private readonly waker = new Waker();
  /** Consecutive turns that ended with a VM halted for good unless an interrupt comes (no timer pending). */
  private haltedStreak = 0;

  constructor(readonly vms: readonly Vm[], opts: VmGroupOptions = {}) {
    if (vms.length === 0) throw new Error("VmGroup: no VMs");
    const modes = new Set(vms.map((v) => v.clock?.mode ?? "none"));
    if (modes.size !== 1 || modes.has("none")) throw new Error("VmGroup: every VM needs a clock, all deterministic or all host");
    this.deterministic = modes.has("deterministic");
    this.finished = vms.map(() => undefined);
    this.slice = opts.slice ?? 500_000;
    this.quantumNs = opts.quantumNs ?? 200_000;
    this.pollers = opts.pollers ?? [];
  }

  /** Where the rotation is, for a snapshot of the VMs (group-snapshot.ts); the deterministic turn follows from their clocks. */
  save(): State { return { next: this.next, haltedStreak: this.haltedStreak }; }

  /** The VMs were taken back to a snapshot's instant: the rotation as it was then, every VM in it again. */
  restore(state: State): void {
    this.next = state.next as number;
    this.haltedStreak = state.haltedStreak as number;
    this.finished.fill(undefined);
  }

  /** Wake a sleeping host-clock group (a frame was delivered to a halted VM). */
  wake(): void { this.waker.wake(); }

  /**
   * One turn: run the VM whose turn it is. Returns "idle" when no VM could
   * make progress (all halted waiting for timers, host clocks), "stuck" when
   * every remaining VM is suspended, "stopped" when all have finished, else
   * "ran".
   */
  turn(): "ran" | "idle" | "stuck" | "stopped" {
    for (const p of this.pollers) p();
    const live = this.vms.map((_, i) => i).filter((i) => this.finished[i] === undefined);
    if (live.length === 0) return "stopped";
    const runnable = live.filter((i) => this.vms[i]!.suspendedBy === null);
    if (runnable.length === 0 || this.haltedStreak > 2 * live.length) return "stuck";
    return this.deterministic ? this.turnDeterministic(runnable, live) : this.turnHost(runnable);
  }

  private turnDeterministic(runnable: number[], live: number[]): "ran" | "idle" {
    const now = (i: number) => this.vms[i]!.clock!.nowNs();
    let pick = runnable[0]!;
    for (const i of runnable) if (now(i) < now(pick)) pick = i;
    // The horizon: a quantum past the slowest other VM that is still live (suspended ones count: they wait at their time).
    let slowest = Infinity;
    for (const i of live) if (i !== pick) slowest = Math.min(slowest, now(i));
    const vm = this.vms[pick]!;
    const horizon = slowest === Infinity ? Infinity : Math.max(slowest, now(pick)) + this.quantumNs;
    vm.timeHorizonNs = horizon;
    const budget = horizon === Infinity ? this.slice : Math.max(1, Math.min(this.slice, vm.clock!.instructionsUntil(horizon)));
    this.settle(pick, vm.run(budget));
    return "ran";
  }

  private turnHost(runnable: number[]): "ran" | "idle" {
    let idle = 0;
    for (let k = 0; k < runnable.length; k++) {
      const i = runnable[(this.next + k) % runnable.length]!;
      const stop = this.vms[i]!.run(this.slice);
      if (stop.kind === "idle") { idle++; continue; }
      this.settle(i, stop);
      this.next = (this.next + k + 1) % Math.max(1, runnable.length);
      return "ran";
    }
    return idle === runnable.length ? "idle" : "ran";
  }

  private settle(i: number, stop: StopReason): void {
    this.haltedStreak = stop.kind === "halted" ? this.haltedStreak + 1 : 0;
    switch (stop.kind) {
      case "budget": case "idle": case "suspended": return;
      case "requested": return; // a device asked for a look between turns (the caller checks its own condition)
      case "halted":
        // Halted with interrupts disabled (Linux's power off) is the end; waiting for an interrupt may still end
        // when another VM sends this one a frame, so it stays in the rotation unless every VM is in that state.
        if (/interrupts disabled/.test(stop.message)) this.finished[i] = stop;
        return;
      default:
        this.finished[i] = stop;
    }
  }

  /**
   * Run until `shouldStop` says so, every VM has finished, or the timeout.
   * Yields to the event loop between turns (sockets, timers, input).
   */
  async run(opts: { shouldStop?: () => string | null; timeoutSeconds?: number; paused?: () => boolean } = {}): Promise<GroupOutcome> {
    const deadline = opts.timeoutSeconds !== undefined && Number.isFinite(opts.timeoutSeconds) ? performance.now() + opts.timeoutSeconds * 1000 : Infinity;
    let sinceYield = 0;
    for (;;) {
      const why = opts.shouldStop?.();
      if (why) return { kind: "until", why };
      // The monitor's `stop`: no VM runs (their clocks wait too), input and the stop condition are still polled.
      if (opts.paused?.()) { await new Promise<void>((r2) => setTimeout(r2, 20)); continue; }
      if (performance.now() > deadline) return { kind: "timeout", seconds: opts.timeoutSeconds! };
      const r = this.turn();
      if (r === "stopped") return { kind: "all-stopped" };
      if (r === "stuck") return { kind: "stuck", why: this.vms.map((v) => v.suspendedBy).filter(Boolean).join("; ") || "every VM is halted with no timer pending" };
      if (r === "idle") {
        await this.waker.sleep(this.idleWaitMs());
        sinceYield = 0;
      } else if (++sinceYield >= 8) {
        sinceYield = 0;
        await new Promise<void>((r2) => setImmediate(r2));
      }
    }
  }

  /** Host clocks: time until the earliest pending timer of any VM, at most 20 ms. */
  private idleWaitMs(): number {
    let ms = 20;
    for (const vm of this.vms) {
      const c = vm.clock!;
      const next = c.nextDeadline();
      if (next !== Infinity) ms = Math.min(ms, Math.max(0, (next - c.nowNs()) / 1e6));
    }
    return ms;
  }
}
