/**
 * Runs a VM from Node without blocking the event loop: slices of guest
 * instructions, with the timeout, --until matching and host input checked
 * between slices.
 *
 * @module
 */
import type { Vm, StopReason } from "../vmm/vm.js";
import type { Waker } from "../vmm/vm-group.js";

export type RunOutcome = StopReason | { kind: "timeout"; seconds: number } | { kind: "until-matched"; pattern: string };

export interface RunOptions {
  /** Wall-clock limit in seconds (Infinity for none). */
  timeoutSeconds?: number;
  /** Instructions per slice between event-loop turns. */
  slice?: number;
  /** Stop as soon as this returns a reason (checked between slices and on serial output). */
  shouldStop?: () => RunOutcome | null;
  /** While this is true the guest does not run (the monitor's `stop`); shouldStop is still polled. */
  paused?: () => boolean;
  /** Ends the idle sleep early (a network frame arrived for the halted guest). */
  waker?: Waker;
}

export async function runVm(vm: Vm, opts: RunOptions = {}): Promise<RunOutcome> {
  const slice = opts.slice ?? 500_000;
  const deadline = opts.timeoutSeconds !== undefined && Number.isFinite(opts.timeoutSeconds)
    ? performance.now() + opts.timeoutSeconds * 1000 : Infinity;
  for (;;) {
    if (opts.paused?.()) {
      const external = opts.shouldStop?.();
      if (external) return external;
      await new Promise<void>((r) => setTimeout(r, 20));
      continue;
    }
    const stop = vm.run(slice);
    const external = opts.shouldStop?.();
    if (external) return external;
    if (stop.kind === "idle") {
      // The guest waits for a timer: sleep in real time until it is due (or a little, for host input).
      if (performance.now() > deadline) return { kind: "timeout", seconds: opts.timeoutSeconds! };
      const ms = Math.max(0, Math.min(20, (stop.untilNs - (vm.clock?.nowNs() ?? 0)) / 1e6));
      await (opts.waker ? opts.waker.sleep(ms) : new Promise<void>((r) => setTimeout(r, ms)));
      continue;
    }
    if (stop.kind !== "budget") {
      if (stop.kind === "halted" && vm.core.pendingInterrupt() >= 0) continue;
      return stop;
    }
    if (performance.now() > deadline) return { kind: "timeout", seconds: opts.timeoutSeconds! };
    await new Promise<void>((r) => setImmediate(r));
  }
}
