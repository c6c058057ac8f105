/**
 * A virtual machine: one vCPU (an Engine), the port and MMIO buses, and the
 * run loop that calls the core and dispatches its exits — the VMM side of
 * the KVM-style boundary. Devices and policies attach through the buses and
 * the hook tables; nothing here knows which devices a PC has (machine/pc.ts).
 *
 * @module
 */
import type { Engine } from "../engine/engine.js";
import { ExitCode } from "../engine/core.js";
import { PortBus, MmioBus, type PortDevice, type MmioDevice } from "./bus.js";
import { readExit, writeResponse, describeUnimplemented, type VcpuExit } from "./exits.js";
import { readCpuState, writeCpuState, type CpuState } from "./cpu-state.js";
import type { VirtualClock } from "./clock.js";
import { GuestMemory } from "./memory.js";
import { DirectPorts } from "./direct-ports.js";
import type { Symbiotic } from "../symbiotic/symbiotic.js";

/** Why run() stopped. */
export type StopReason =
  | { kind: "debug-exit"; status: number }
  | { kind: "shutdown"; message: string }
  | { kind: "unimplemented"; message: string }
  | { kind: "halted"; message: string }
  /** HLT with interrupts enabled in host-time mode: nothing to do until this virtual time (or host input). */
  | { kind: "idle"; untilNs: number }
  | { kind: "reset"; why: string }
  | { kind: "budget" }
  | { kind: "requested"; why: string }
  /** A device holds the vCPU back (see {@link Vm.suspend}); run() returns this until it is resumed. */
  | { kind: "suspended"; why: string };

/** How a nested entry ({@link Vm.runNested}) ended. */
export type NestedOutcome =
  | { kind: "done"; instructions: number }
  | { kind: "budget"; instructions: number }
  /** Something that would have stopped run(): a halt, a triple fault, a stop request (left pending for run()). */
  | { kind: "stopped"; instructions: number; reason: StopReason };

/** The interrupt controller as the run loop sees it (the PC's 8259A pair). */
export interface InterruptController {
  hasInterrupt(): boolean;
  /** The INTA cycle: the vector to deliver. */
  acknowledge(): number;
}

export interface MsrHook { read?(index: number): bigint | undefined; write?(index: number, value: bigint): boolean }
/** A hypercall handler reads and writes guest registers through the VM. */
export type HypercallHook = (vm: Vm) => void;
export type CpuidHook = (leaf: number, subleaf: number) => [number, number, number, number] | undefined;

export interface VmStats {
  instructions: number;
  exits: Record<string, number>;
  tlbMisses: number;
  tlbFlushes: number;
  /** Data accesses that consulted the TLB; hit rate = 1 - tlbMisses / tlbLookups. */
  tlbLookups: number;
  tcache: { enabled: boolean; lookups: number; hits: number; blocksBuilt: number; invalidations: number; evictions: number };
  /** The Wasm engine's block compiler (absent when off or on the JS engine). */
  compiler?: { blocks: number; modules: number; bytes: number; ms: number; error?: string };
}

/** How many instructions the core may run per call before coming back to the VMM. */
const SLICE = 1 << 20;

export class Vm {
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  readonly engine: Engine;
  /** Guest-physical memory: what devices, loaders and the VMM read and write by GPA. */
  readonly memory: GuestMemory;
  /** Ports served without exits (the I/O bitmap), and per-port exit/direct counts. */
  readonly direct: DirectPorts;
  private view: DataView;
  private readonly exitBase: number;
  private stopRequest: StopReason | null = null;
  private readonly msrHooks = new Map<number, MsrHook>();
  private readonly hypercalls = new Map<number, HypercallHook>();
  private cpuidHook: CpuidHook | null = null;
  readonly exitCounts: Record<string, number> = {};
  /** Virtual time for devices; when set, timers bound each slice of guest instructions. */
  clock: VirtualClock | null = null;
  /** Where external interrupts come from; polled between slices and on interrupt-window exits. */
  interrupts: InterruptController | null = null;
  /** The symbiotic interfaces (SymSpy, SymCall) when attached (src/symbiotic). */
  symbiotic: Symbiotic | null = null;
  /** Nested entries in progress (runNested); no interrupt is offered or injected meanwhile. */
  private nested = 0;
  /** A vector injected during a nested entry, delivered after it. */
  private heldVector = -1;

  constructor(engine: Engine, readonly ramBytes: number) {
    this.engine = engine;
    this.view = new DataView(engine.buffer);
    this.exitBase = engine.core.exitBlock();
    this.memory = new GuestMemory(engine, ramBytes);
    this.direct = new DirectPorts(engine);
  }

  get core() { return this.engine.core; }

  // ---- memory ------------------------------------------------------------------------

  /** Copy bytes into guest RAM at a physical address (vm.memory.write). */
  writePhysical(addr: number, data: Uint8Array): void { this.memory.write(addr, data); }
  /** Copy bytes out of guest RAM (vm.memory.read). */
  readPhysical(addr: number, len: number): Uint8Array { return this.memory.read(addr, len); }
  /** Load a BIOS image: it ends at 1 MiB and is aliased at 4 GiB (the reset vector). */
  loadRom(image: Uint8Array): void {
    if (image.length === 0 || image.length % 4096 !== 0 || image.length > 1024 * 1024) {
      throw new Error(`ROM image size must be a multiple of 4 KiB up to 1 MiB (got ${image.length} bytes)`);
    }
    new Uint8Array(this.engine.buffer, this.core.romBase(), image.length).set(image);
    this.core.setRomSize(image.length);
  }

  // ---- CPU state -----------------------------------------------------------------------

  getState(): CpuState { return readCpuState(this.core, this.dataView()); }
  setState(st: Partial<CpuState>): void { writeCpuState(this.core, this.dataView(), st); }
  reg(i: number): number { return this.dataView().getUint32(this.core.regsBase() + 4 * i, true); }
  setReg(i: number, v: number): void { this.dataView().setUint32(this.core.regsBase() + 4 * i, v >>> 0, true); }
  private dataView(): DataView {
    if (this.view.buffer !== this.engine.buffer) this.view = new DataView(this.engine.buffer);
    return this.view;
  }

  // ---- hooks ---------------------------------------------------------------------------------

  addPortDevice(base: number, length: number, dev: PortDevice): void { this.ports.register(base, length, dev); }
  addMmioDevice(base: number, length: number, dev: MmioDevice): void {
    this.mmio.register(base, length, dev);
    if (!this.core.addMmioRange(base | 0, length | 0)) throw new Error("too many MMIO ranges (the core keeps 32)");
  }
  onMsr(index: number, hook: MsrHook): void { this.msrHooks.set(index >>> 0, hook); }
  onHypercall(nr: number, hook: HypercallHook): void { this.hypercalls.set(nr >>> 0, hook); }
  onCpuid(hook: CpuidHook | null): void { this.cpuidHook = hook; this.core.interceptCpuid(hook !== null); }
  injectInterrupt(vector: number): void {
    if (this.nested > 0) this.heldVector = vector; // no injection during a nested entry (a SymCall)
    else this.core.injectInterrupt(vector);
  }
  private tcacheEnabled = true;
  /** Turn the translation cache on or off (results must not change; speed does). */
  setTranslationCache(on: boolean): void { this.tcacheEnabled = on; this.core.setTranslationCache(on); }
  /** Ask run() to stop after the current exit (from a device callback). */
  requestStop(reason: StopReason): void { this.stopRequest ??= reason; }

  /**
   * Deterministic clocks: how far a halted vCPU may skip ahead in virtual
   * time (set by a VmGroup so that VMs that talk to each other stay within a
   * quantum of each other; run() then returns "idle" at the horizon).
   */
  timeHorizonNs = Infinity;

  /** Why the vCPU is held back, or null (see {@link suspend}). */
  suspendedBy: string | null = null;

  /**
   * From a port handler: the access cannot be served now (VPIO: the card
   * belongs to another VM) and the vCPU waits. An IN is left unanswered, so
   * the instruction runs again when the VM is resumed; an OUT has completed
   * in the core, so the device keeps its value and applies it later. run()
   * returns { kind: "suspended" } until {@link resume}.
   */
  suspend(why: string): void { this.suspendedBy = why; }
  resume(): void { this.suspendedBy = null; }

  // ---- the run loop -----------------------------------------------------------------------------

  /**
   * Run until something stops the VM or `maxInstructions` have been
   * executed. Synchronous: callers that need to stay responsive call it with
   * a bounded budget in a loop (see node/runner.ts).
   */
  run(maxInstructions = Infinity): StopReason {
    if (this.nested > 0) throw new Error("Vm.run() called from inside a nested entry: use runNested()");
    const core = this.core;
    let left = maxInstructions;
    if (this.suspendedBy !== null) return { kind: "suspended", why: this.suspendedBy };
    while (left > 0) {
      let budget = Math.min(SLICE, left);
      if (this.clock) budget = Math.max(1, Math.min(budget, this.syncTime()));
      this.offerInterrupt();
      const before = core.getRetired();
      const code = core.run(budget);
      left -= Math.max(1, core.getRetired() - before);
      this.clock?.advanceTo(core.getRetired());
      if (code === ExitCode.Budget) { if (this.stopRequest) break; continue; }
      const exit = readExit(this.dataView(), this.exitBase, code);
      this.exitCounts[exit.reason] = (this.exitCounts[exit.reason] ?? 0) + 1;
      const stop = this.handleExit(exit);
      if (stop) return stop;
      if (this.stopRequest) break;
    }
    const s = this.stopRequest ?? { kind: "budget" as const };
    this.stopRequest = null;
    return s;
  }

  /**
   * Enter the guest again — from inside an exit handler, or between runs — and
   * run it until `done()` is true or `budget` instructions have retired: the
   * nested entry a SymCall makes. Exits are handled exactly as in run(), so a
   * handler may itself call runNested; no interrupt is offered or injected
   * meanwhile (those that arrive wait until after); the interrupted entry's
   * exit block, MMIO state and pending event are saved in the core and put
   * back afterwards (core pushEntry/popEntry). With `saveState` the core also
   * saves the CPU's architectural state and puts it back on every way out;
   * `enter` then sets the nested entry's state. A halt ends it (nothing would
   * wake the guest); a stop request ends it and stays pending for run().
   */
  runNested(budget: number, done: () => boolean, opts: { saveState?: boolean; enter?: () => void } = {}): NestedOutcome {
    const core = this.core;
    if (!core.pushEntry(opts.saveState ?? false)) throw new Error("nested entries are limited to 4 levels");
    this.nested++;
    const start = core.getRetired();
    const ran = () => core.getRetired() - start;
    let spent = 0; // as run(): every entry counts as at least one instruction, so the budget always ends it
    try {
      opts.enter?.();
      while (!done()) {
        const left = budget - spent;
        if (left <= 0) return { kind: "budget", instructions: ran() };
        let slice = Math.min(SLICE, left);
        if (this.clock) slice = Math.max(1, Math.min(slice, this.syncTime()));
        const before = core.getRetired();
        const code = core.run(slice);
        spent += Math.max(1, core.getRetired() - before);
        this.clock?.advanceTo(core.getRetired());
        if (code !== ExitCode.Budget) {
          const exit = readExit(this.dataView(), this.exitBase, code);
          this.exitCounts[exit.reason] = (this.exitCounts[exit.reason] ?? 0) + 1;
          if (exit.reason === "hlt") {
            const st = this.getState();
            return { kind: "stopped", instructions: ran(), reason: { kind: "halted", message: `guest halted at ${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}` } };
          }
          const stop = this.handleExit(exit);
          if (stop) return { kind: "stopped", instructions: ran(), reason: stop };
        }
        if (this.stopRequest && !done()) return { kind: "stopped", instructions: ran(), reason: this.stopRequest };
      }
      return { kind: "done", instructions: ran() };
    } finally {
      this.nested--;
      core.popEntry();
      if (this.nested === 0 && this.heldVector >= 0) { core.injectInterrupt(this.heldVector); this.heldVector = -1; }
    }
  }

  /** True while a nested entry (runNested) runs. */
  get inNestedEntry(): boolean { return this.nested > 0; }

  /**
   * Bring devices to the current virtual time: fire due timers, keep the
   * guest's TSC in step with the clock. Returns how many instructions may
   * run before the next timer is due.
   */
  private syncTime(): number {
    const clock = this.clock!, core = this.core;
    clock.advanceTo(core.getRetired());
    clock.runDue();
    const d = clock.tscCatchUp(core.getRetired());
    if (d > 0) core.setTscOffsetValue(core.getTscOffset() + d);
    return clock.instructionsUntil(clock.nextDeadline());
  }

  /** Hand a pending external interrupt to the core when it can take one (INTA happens only then). */
  private offerInterrupt(): void {
    const pic = this.interrupts;
    if (!pic || this.core.pendingInterrupt() >= 0 || !pic.hasInterrupt()) return;
    if (this.core.interruptsEnabled()) this.core.injectInterrupt(pic.acknowledge());
    else this.core.requestIrqWindow(true);
  }

  /**
   * HLT with interrupts enabled: let virtual time pass to the next timer.
   * Deterministic clocks jump there; host clocks make run() return "idle" so
   * the caller can wait without spinning.
   */
  private idle(): StopReason | "continue" | null {
    if (this.interrupts?.hasInterrupt()) return "continue"; // offered before the next slice
    const clock = this.clock;
    if (!clock) return null;
    const next = clock.nextDeadline();
    if (next === Infinity) return null;
    if (clock.mode === "deterministic") {
      // A VmGroup keeps several VMs' clocks together: idle time is skipped only up to its horizon.
      if (next > this.timeHorizonNs) { clock.skipTo(this.timeHorizonNs); return { kind: "idle", untilNs: next }; }
      clock.skipTo(next);
      return "continue";
    }
    clock.advanceTo(this.core.getRetired());
    if (clock.nowNs() >= next) return "continue";
    return { kind: "idle", untilNs: next };
  }

  private handleExit(exit: VcpuExit): StopReason | null {
    const view = this.dataView();
    switch (exit.reason) {
      case "io-in": {
        this.direct.exits[exit.port]!++;
        const v = this.ports.read(exit.port, exit.size);
        if (this.suspendedBy !== null) return { kind: "suspended", why: this.suspendedBy }; // unanswered: IN runs again
        writeResponse(view, this.exitBase, [v]);
        return null;
      }
      case "io-out":
        this.direct.exits[exit.port]!++;
        this.ports.write(exit.port, exit.size, exit.value);
        if (this.suspendedBy !== null) return { kind: "suspended", why: this.suspendedBy };
        return null;
      case "mmio-read":
        writeResponse(view, this.exitBase, [this.mmio.read(exit.address, exit.size)]);
        return null;
      case "mmio-write":
        this.mmio.write(exit.address, exit.size, exit.value);
        return null;
      case "rdmsr": {
        const v = this.msrHooks.get(exit.index)?.read?.(exit.index);
        if (v === undefined) writeResponse(view, this.exitBase, [0, 0], true); // #GP, as hardware does for unknown MSRs
        else writeResponse(view, this.exitBase, [Number(v & 0xffffffffn), Number(v >> 32n)]);
        return null;
      }
      case "wrmsr": {
        const ok = this.msrHooks.get(exit.index)?.write?.(exit.index, exit.value) ?? false;
        writeResponse(view, this.exitBase, [], !ok);
        return null;
      }
      case "cpuid": {
        const r = this.cpuidHook?.(exit.leaf, exit.subleaf) ?? [0, 0, 0, 0];
        writeResponse(view, this.exitBase, r);
        return null;
      }
      case "hypercall": {
        const h = this.hypercalls.get(exit.nr);
        if (h) h(this); else this.setReg(0, -1000); // -KVM_ENOSYS, as KVM answers unknown hypercalls
        return null;
      }
      case "hlt": {
        if (this.core.pendingInterrupt() >= 0 && this.core.interruptsEnabled()) return null;
        if ((this.core.getEflags() & 0x200) !== 0) {
          const r = this.idle();
          if (r === "continue") return null; // an interrupt is waiting, or time moved to the next timer
          if (r) return r;
        }
        const st = this.getState();
        const at = `${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}`;
        return {
          kind: "halted",
          message: (st.eflags & 0x200) === 0 ? `guest halted with interrupts disabled at ${at}` : `guest halted waiting for an interrupt at ${at}`,
        };
      }
      case "shutdown": {
        const st = this.getState();
        return { kind: "shutdown", message: `triple fault: guest shut down at ${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}` };
      }
      case "unimplemented":
        return { kind: "unimplemented", message: describeUnimplemented(exit) };
      case "irq-window":
        return null;
      case "budget":
        return null;
    }
  }

  stats(): VmStats {
    return {
      instructions: this.core.getRetired(),
      exits: { ...this.exitCounts },
      tlbMisses: this.core.getTlbMisses(),
      tlbFlushes: this.core.getTlbFlushes(),
      tlbLookups: this.core.getTlbLookups(),
      tcache: {
        enabled: this.tcacheEnabled,
        lookups: this.core.getTcacheStat(0),
        hits: this.core.getTcacheStat(1),
        blocksBuilt: this.core.getTcacheStat(2),
        invalidations: this.core.getTcacheStat(3),
        evictions: this.core.getTcacheStat(4),
      },
      ...(this.engine.compiler ? { compiler: { ...this.engine.compiler } } : {}),
    };
  }
}

function hex(n: number, w: number): string { return (n >>> 0).toString(16).padStart(w, "0"); }
