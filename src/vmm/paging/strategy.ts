/**
 * How the VMM virtualizes the guest's memory: a paging strategy owns the
 * core's paging mode and the exits it turns on (EPT violations, #PF, CR
 * writes, INVLPG), the way Palacios' vmm_direct_paging.c and
 * vmm_shadow_paging.c each own theirs. The Vm's run loop hands it those exits.
 *
 * @module
 */
import type { Vm, StopReason } from "../vm.js";
import type { VcpuExit } from "../exits.js";

export type PagingModeName = "direct" | "nested" | "shadow";

/** What an exit handler tells the run loop: go on, or stop with a reason. */
export type ExitAction = "resume" | StopReason;

export type PagingExit = Extract<VcpuExit, { reason: "ept-violation" | "exception" | "cr-write" | "invlpg" | "monitor-trap" | "trace-log" }>;

export interface PagingStrategy {
  readonly mode: PagingModeName;
  /** Program the core's controls; called once when the VM adopts the strategy. */
  attach(vm: Vm): void;
  /**
   * Handle an exit this strategy turned on. For "cr-write" and "invlpg" the
   * run loop answers the exit after "resume" so that the instruction completes.
   * `undefined`: not this strategy's business (the VM's own hooks decide).
   */
  handle(exit: PagingExit): ExitAction | undefined;
  /** The VMM set the CPU state directly (vm.setState, an INIT): re-read CR0/CR3/CR4/EFER. */
  stateChanged?(): void;
  /** The core runs vCPU `to` now instead of `from` (its registers loaded): whatever the strategy keeps per vCPU follows. */
  vcpuSwitched?(from: number, to: number): void;
  /**
   * A snapshot was taken back (Vm.restore): guest RAM and the CPU are replaced wholesale, with no write traced —
   * drop whatever was derived from them. (The guest-physical map's own changes come through its listeners.)
   */
  restored?(): void;
  /** Counters for vm.stats().paging and --stats. */
  stats(): Record<string, number>;
}
