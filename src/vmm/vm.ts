/**
 * A virtual machine: one vCPU (an Engine), the port and MMIO buses, and the
 * run loop that calls the core and dispatches its exits — the VMM side of
 * the KVM-style boundary. Devices and policies attach through the buses and
 * the hook tables; nothing here knows which devices a PC has (machine/pc.ts).
 *
 * @module
 */
import type { Engine } from "../engine/engine.js";
import { ExitCode, ExitField, Control, VCPU_SLOT_BYTES, ENTRY_SAVE_BYTES } from "../engine/core.js";
import { PortBus, MmioBus, type PortDevice, type MmioDevice, type AccessSize } from "./bus.js";
import { readExit, writeResponse, writeResponse1, describeUnimplemented, exitCountsByReason, EXIT_CODES, type VcpuExit } from "./exits.js";
import { readCpuState, writeCpuState, type CpuState } from "./cpu-state.js";
import type { VirtualClock } from "./clock.js";
import { GuestMemory } from "./memory.js";
import { DirectPorts } from "./direct-ports.js";
import type { PagingStrategy, ExitAction, PagingExit } from "./paging/strategy.js";
import type { Symbiotic } from "../symbiotic/symbiotic.js";
import { saveFields, restoreFields, savePages, restorePages, part, SnapshotError, type State } from "./snapshot.js";

/** Why run() stopped. */
export type StopReason =
  | { kind: "debug-exit"; status: number }
  | { kind: "shutdown"; message: string }
  | { kind: "unimplemented"; message: string }
  | { kind: "halted"; message: string }
  /** HLT with interrupts enabled in host-time mode: nothing to do until this virtual time (or host input). */
  | { kind: "idle"; untilNs: number }
  | { kind: "reset"; why: string }
  /** The guest kernel reported a panic (pvpanic). */
  | { kind: "guest-panic"; message: string }
  /** A device's backend failed in a way the guest cannot be told about (a disk image shrank): the run must end. */
  | { kind: "device-error"; message: string }
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

/**
 * One virtual CPU as the VMM sees it. Its architectural state is in the core while it
 * runs and in a core save slot (assembly/vcpu.ts) otherwise; what the VMM keeps here is
 * its interrupt controller and the events aimed at it while another vCPU ran.
 */
export class Vcpu {
  /** Where its external interrupts come from: its local APIC, or the 8259A pair on a machine without one. */
  interrupts: InterruptController | null = null;
  /** After INIT an application processor waits for a start-up IPI and runs nothing. */
  waitingForSipi = false;
  /** HLT state and IF as of the end of its last run (the core has them only while it runs). */
  halted = false;
  interruptsOn = false;
  /** Events for a vCPU that is not running, applied when it next runs. */
  nmiRequested = false;
  initRequested = false;
  sipiVector = -1;
  /** A wake from S3 (the BSP only): the real-mode address, CS:IP = (v >> 4):(v & 0xF), the firmware jumps to. */
  wakeVector = -1;
  /** Held by a debugger (GDB's scheduler locking: only the threads it resumes run): runs nothing until released. */
  held = false;
  /**
   * Who wants a monitor-trap exit after its next instruction ({@link Vm.requestMonitorTrap}): the flag is on while
   * anyone does; the value says whether after each iteration of a REP string instruction too.
   */
  readonly monitorTrapWanted = new Map<string, boolean>();
  constructor(readonly index: number) {}
}

export interface MsrHook { read?(index: number): bigint | undefined; write?(index: number, value: bigint): boolean }
/** A hypercall handler reads and writes guest registers through the VM. */
export type HypercallHook = (vm: Vm) => void;
/** A hypercall interface that takes every VMCALL while its guest has it on (true: handled). */
export type HypercallInterface = (exit: Extract<VcpuExit, { reason: "hypercall" }>) => boolean;
/** Answers a CPUID leaf, or returns undefined to leave it to the next hook and finally to the CPU's own answer. */
export type CpuidHook = (leaf: number, subleaf: number) => [number, number, number, number] | undefined;
/**
 * A VMM hook for EPT violations or intercepted exceptions (after the paging
 * strategy declined it): "resume" once handled (map changed, exception
 * injected…), a StopReason to stop, undefined to let the next hook decide.
 */
export type ExitHook<E> = (exit: E, vm: Vm) => ExitAction | undefined;

export interface VmStats {
  instructions: number;
  exits: Record<string, number>;
  tlbMisses: number;
  tlbFlushes: number;
  /**
   * Data accesses that consulted the TLB through the core's lookup; hit rate = 1 - tlbMisses / tlbLookups.
   * The Wasm engine's compiled code checks the TLB inline and counts nothing on its fast path (a counter
   * there cost a fifth of a call-heavy loop's time), so for exact rates use the JS engine: the same
   * guest makes the same accesses on both.
   */
  tlbLookups: number;
  tcache: {
    enabled: boolean; lookups: number; hits: number; blocksBuilt: number; invalidations: number; evictions: number;
    /** Entries into compiled regions; instructions retired in them and by replaying cached blocks (the rest were interpreted). */
    regionEntries: number; compiledInstructions: number; replayedInstructions: number;
    /** Compiled regions that went straight on into another (jit/region.ts links) instead of returning to the cache. */
    regionLinks: number;
  };
  /** The Wasm engine's block compiler (absent when off or on the JS engine). */
  compiler?: { regions: number; modules: number; bytes: number; ms: number; flushes: number; compactions: number; modulesDropped: number; error?: string };
  /** RTM transactions (when the CPU offers RTM): begun, committed, aborted (an XBEGIN that RTM_DISABLE aborts counts as both). */
  rtm: { transactions: number; committed: number; aborted: number };
  /** Memory virtualization: the paging mode and its counters. */
  paging: { mode: string; nestedWalks: number; nestedRefs: number; violations: number; cr3Loads: number; cr3TargetHits: number } & Record<string, number | string>;
}

/** How a vCPU's slice ended: a reason to stop the VM, "yield" (halted or spinning: the next vCPU's turn), or null (budget used). */
type SliceEnd = StopReason | "yield" | null;

/** How many instructions the core may run per call before coming back to the VMM. */
const SLICE = 1 << 20;
/** Exits that retire nothing a run may take, at the least, before it stops anyway (runSlice's livelock guard). */
const STALL_LIMIT = 1 << 20;

export class Vm {
  readonly ports = new PortBus();
  readonly mmio = new MmioBus();
  /** Devices on the MMIO bus that serve unassigned pages only (addUnassignedMmioDevice): not in the core's ranges. */
  private readonly unassignedOnly = new Set<MmioDevice>();
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
  private readonly hypercallInterfaces: HypercallInterface[] = [];
  private readonly violationHooks: ExitHook<Extract<VcpuExit, { reason: "ept-violation" }>>[] = [];
  private readonly exceptionHooks: ExitHook<Extract<VcpuExit, { reason: "exception" }>>[] = [];
  private readonly monitorTrapHooks: ExitHook<Extract<VcpuExit, { reason: "monitor-trap" }>>[] = [];
  /** How guest memory is virtualized (src/vmm/paging/); null: direct, nothing intercepted. */
  paging: PagingStrategy | null = null;
  private readonly cpuidHooks: CpuidHook[] = [];
  /** Exits so far by exit code (ExitCode); stats() names them. */
  private readonly exitCounts = new Float64Array(EXIT_CODES);
  /** Virtual time for devices; when set, timers bound each slice of guest instructions. */
  clock: VirtualClock | null = null;
  /** The vCPUs; vcpus[0] is the bootstrap processor. */
  readonly vcpus: Vcpu[] = [new Vcpu(0)];
  /** The vCPU whose state is in the core. */
  private running = 0;
  /** Instructions a vCPU runs before the next one's turn (multiprocessor VMs). */
  quantum = 20_000;
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
    this.hasFirmware = true;
  }
  /** A BIOS was loaded ({@link loadRom}): the machine starts at its reset vector, and S3 resume goes through it. */
  hasFirmware = false;

  // ---- CPU state -----------------------------------------------------------------------

  getState(): CpuState { return readCpuState(this.core, this.dataView()); }
  setState(st: Partial<CpuState>): void {
    writeCpuState(this.core, this.dataView(), st);
    if (st.cr0 !== undefined || st.cr3 !== undefined || st.cr4 !== undefined || st.efer !== undefined) this.paging?.stateChanged?.();
  }
  /** A word of the core's own memory at a fixed layout address (exit block, logs): for the VMM's mechanisms, not guest memory. */
  readCoreU32(addr: number): number { return this.dataView().getUint32(addr, true); }
  reg(i: number): number { return this.dataView().getUint32(this.core.regsBase() + 4 * i, true); }
  setReg(i: number, v: number): void { this.dataView().setUint32(this.core.regsBase() + 4 * i, v >>> 0, true); }
  private dataView(): DataView {
    if (this.view.byteLength === 0) this.view = new DataView(this.engine.buffer); // the memory grew: the old buffer is detached
    return this.view;
  }

  // ---- hooks ---------------------------------------------------------------------------------

  addPortDevice(base: number, length: number, dev: PortDevice): void { this.ports.register(base, length, dev); }
  addMmioDevice(base: number, length: number, dev: MmioDevice): void {
    this.mmio.register(base, length, dev);
    if (!this.core.addMmioRange(base | 0, length | 0)) throw new Error("too many MMIO ranges (the core keeps 32)");
  }
  /** Unmap every region of `dev` (a PCI BAR that moves): the core's MMIO map is rebuilt from the bus. */
  removeMmioDevice(dev: MmioDevice): void {
    this.mmio.unregister(dev);
    this.core.clearMmioRanges();
    for (const r of this.mmio.regions()) if (!this.unassignedOnly.has(r.device)) this.core.addMmioRange(r.base | 0, r.length | 0);
  }
  /**
   * A device for the pages of [base, base + length) that the guest-physical map leaves unassigned: the core's MMIO
   * ranges stay as they are (the map decides, page by page, between RAM and this device) — the VGA's window, RAM in
   * some of its modes and the device in others.
   */
  addUnassignedMmioDevice(base: number, length: number, dev: MmioDevice): void {
    this.mmio.register(base, length, dev);
    this.unassignedOnly.add(dev);
  }
  onMsr(index: number, hook: MsrHook): void { this.msrHooks.set(index >>> 0, hook); }
  onHypercall(nr: number, hook: HypercallHook): void { this.hypercalls.set(nr >>> 0, hook); }
  /**
   * An interface that decides by its own state whether a VMCALL is its own, whatever EAX holds — Hyper-V's, whose
   * control word is in EDX:EAX, once the guest has enabled it. Asked first; the numbered hooks get the rest.
   */
  onHypercallInterface(hook: HypercallInterface): void { this.hypercallInterfaces.push(hook); }
  /** Handle EPT violations (an access the guest-physical map refuses) the paging strategy leaves alone. */
  onEptViolation(hook: ExitHook<Extract<VcpuExit, { reason: "ept-violation" }>>): void { this.violationHooks.push(hook); }
  /** Handle exceptions intercepted by the exception bitmap (set with setControl(Control.ExceptionBitmap)). */
  onException(hook: ExitHook<Extract<VcpuExit, { reason: "exception" }>>): void { this.exceptionHooks.push(hook); }
  /**
   * Handle monitor-trap exits (after one instruction with {@link requestMonitorTrap}). Every hook hears of
   * each one, after the paging strategy: several may have asked for the same instruction.
   */
  onMonitorTrap(hook: ExitHook<Extract<VcpuExit, { reason: "monitor-trap" }>>): void { this.monitorTrapHooks.push(hook); }
  /** Add a CPUID hook (hooks are asked in the order added; leaves none answers read as the CPU's own). */
  onCpuid(hook: CpuidHook): void { this.cpuidHooks.push(hook); this.core.interceptCpuid(true); }
  injectInterrupt(vector: number): void {
    if (this.nested > 0) this.heldVector = vector; // no injection during a nested entry (a SymCall)
    else this.core.injectInterrupt(vector);
  }
  /**
   * Inject an exception, delivered before the guest's next instruction through
   * its IDT as the hardware would (VMX event injection); for #PF, `cr2` is
   * written to CR2 first.
   */
  injectException(vector: number, errorCode: number | null = null, cr2 = 0): void {
    this.core.injectException(vector, errorCode !== null, errorCode ?? 0, cr2);
  }
  /** VMWRITE: an execution control (which events exit, the paging mode and roots). */
  setControl(field: Control, value: number): void { this.core.setControl(field, value | 0); }
  /**
   * Ask for a monitor-trap exit after a vCPU's next instruction (the running one's unless `vcpu` names
   * another), or stop asking (`owner` names who asks: the shadow pager letting a store through, a debugger
   * stepping). The core's one flag is on while anyone asks for the vCPU it runs, so one party's "done"
   * does not cancel another's step, and a step asked for one vCPU does not stop the others. `iterations`:
   * after each iteration of a REP string instruction too, as VT-x's flag and the guest's TF stop (a
   * debugger's step); otherwise a REP instruction runs on to the end of its chunk of iterations.
   */
  requestMonitorTrap(owner: string, on: boolean, vcpu = this.running, iterations = false): void {
    const wanted = this.vcpus[vcpu]!.monitorTrapWanted;
    if (on) wanted.set(owner, iterations); else wanted.delete(owner);
    if (vcpu === this.running) this.loadMonitorTrap();
  }
  /** The core's one monitor-trap flag is the running vCPU's: set it from who asks for that vCPU. */
  private loadMonitorTrap(): void {
    const wanted = this.vcpu.monitorTrapWanted;
    this.setControl(Control.MonitorTrap, wanted.size === 0 ? 0 : [...wanted.values()].some((i) => i) ? 2 : 1);
  }
  getControl(field: Control): number { return this.core.getControl(field); }
  /** Adopt a paging strategy (src/vmm/paging/); it programs the core's controls. */
  setPaging(strategy: PagingStrategy): void { this.paging = strategy; strategy.attach(this); }

  // ---- vCPUs -----------------------------------------------------------------------------

  /** The vCPU whose state the core holds now (the one an exit handler is serving). */
  get vcpu(): Vcpu { return this.vcpus[this.running]!; }
  /** Where the running vCPU's external interrupts come from (its APIC or the PIC). */
  get interrupts(): InterruptController | null { return this.vcpu.interrupts; }

  /**
   * Add an application processor. It starts as after INIT — waiting for a start-up IPI
   * ({@link startupVcpu}) — with the x87 state of the running vCPU (INIT keeps it).
   */
  addVcpu(): Vcpu {
    const index = this.vcpus.length;
    if (index >= 16) throw new Error("at most 16 vCPUs");
    const v = new Vcpu(index);
    v.waitingForSipi = true;
    this.vcpus.push(v);
    const core = this.core;
    core.vcpuSave(this.running);
    core.initCpu();
    core.vcpuSave(index);
    core.vcpuLoad(this.running);
    return v;
  }

  /** Make vCPU i the running one (its saved state goes into the core, with the events that waited for it). */
  switchTo(i: number): void {
    if (i !== this.running) this.loadVcpu(i);
    const v = this.vcpus[i]!;
    if (v.initRequested) {
      v.initRequested = false;
      this.initRunningCpu();
      // INIT: the BSP restarts at the reset vector, an AP waits for a start-up IPI (SDM vol. 3, 9.4).
      if (i !== 0) v.waitingForSipi = true;
    }
    if (v.sipiVector >= 0) {
      const vector = v.sipiVector;
      v.sipiVector = -1;
      if (v.waitingForSipi) {
        v.waitingForSipi = false;
        this.setState({ cs: { selector: vector << 8, base: vector << 12, limit: 0xffff, attr: 0x9b }, eip: 0, halted: false });
      }
    }
    if (v.wakeVector >= 0) {
      const w = v.wakeVector;
      v.wakeVector = -1;
      this.setState({ cs: { selector: w >>> 4, base: (w >>> 4) << 4, limit: 0xffff, attr: 0x9b }, eip: w & 0xf, halted: false });
    }
    if (v.nmiRequested) { v.nmiRequested = false; this.core.injectNmi(); }
  }

  /** In ACPI S3 (suspend to RAM): no vCPU runs; time passes until a device calls {@link wakeFromS3}. */
  asleep = false;
  /**
   * Enter S3: every vCPU loses its state, as a processor's power is cut (here: INIT, so the
   * BSP would restart at the reset vector and the APs wait for a start-up IPI); RAM and the
   * devices keep theirs. The running vCPU stops at once.
   */
  sleepS3(): void {
    for (let i = 0; i < this.vcpus.length; i++) this.initVcpu(i);
    this.asleep = true;
    this.requestStop({ kind: "budget" });
  }
  /**
   * Leave S3. Given the FACS firmware waking vector, the way a firmware's resume path leaves
   * it: the BSP starts in real mode there (CS = vector >> 4, IP = vector & 0xF; ACPI 6.4,
   * 5.2.10). Given null, the BSP starts at the reset vector, where a loaded firmware finds the
   * CMOS shutdown status "S3 resume" and takes that path itself. The APs wait for a start-up IPI.
   */
  wakeFromS3(wakingVector: number | null): void {
    if (!this.asleep) return;
    this.asleep = false;
    if (wakingVector !== null) this.vcpus[0]!.wakeVector = wakingVector & 0xfffff;
  }

  /** NMI to vCPU i (the LAPIC's NMI delivery mode). */
  nmiVcpu(i: number): void {
    // During a nested entry (a SymCall) nothing is injected: the NMI waits for its end.
    if (i === this.running && this.nested === 0) this.core.injectNmi(); else this.vcpus[i]!.nmiRequested = true;
  }
  /** INIT to vCPU i. */
  initVcpu(i: number): void {
    const v = this.vcpus[i]!;
    v.sipiVector = -1;
    if (i === this.running) {
      this.initRunningCpu();
      if (i !== 0) v.waitingForSipi = true;
      this.requestStop({ kind: "budget" }); // the vCPU runs nothing more now; let the scheduler move on
    } else {
      v.initRequested = true;
    }
  }
  /**
   * Run `fn` with vCPU i's state in the core — between runs or from inside an
   * exit handler of another vCPU (a SymCall on vCPU i) — then put the running
   * vCPU back, with its exit and events as they were (a nested entry level).
   */
  withVcpu<T>(i: number, fn: () => T): T {
    if (i === this.running) return fn();
    if (!Number.isInteger(i) || i < 0 || i >= this.vcpus.length) throw new RangeError(`no vCPU ${i}`);
    const core = this.core, from = this.running;
    if (!core.pushEntry(false)) throw new Error("nested entries are limited to 4 levels");
    this.loadVcpu(i);
    try {
      return fn();
    } finally {
      this.loadVcpu(from);
      core.popEntry();
    }
  }

  /** INIT of the running vCPU: its state as after reset, which the paging strategy re-reads (its CR0 has paging off). */
  private initRunningCpu(): void {
    this.core.initCpu();
    this.paging?.stateChanged?.();
  }

  /** The core runs vCPU i from now on: the running one's state saved to its slot, i's loaded, the controls that are per vCPU with it. */
  private loadVcpu(i: number): void {
    const from = this.running;
    this.core.vcpuSave(from);
    this.core.vcpuLoad(i);
    this.running = i;
    this.loadMonitorTrap();
    this.paging?.vcpuSwitched?.(from, i);
  }

  /** vCPU i is halted (HLT, or waiting for a start-up IPI) as of now, or as of the end of its last turn when it is not running. */
  isHalted(i: number): boolean {
    const v = this.vcpus[i]!;
    return v.waitingForSipi || !!(i === this.running ? this.core.isHalted() : v.halted); // (the Wasm core answers 0 or 1)
  }

  /** Start-up IPI to vCPU i: if it waits after INIT, it starts in real mode at vector × 4096. */
  startupVcpu(i: number, vector: number): void {
    const v = this.vcpus[i]!;
    if (!v.waitingForSipi && !v.initRequested) return; // ignored unless waiting (SDM vol. 3, 10.6.1)
    v.sipiVector = vector & 0xff;
    if (i === this.running) this.switchTo(i);
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
   * executed — retired, whatever exits the VMM took meanwhile (runSlice), so
   * a driver acting between runs acts at the same guest instruction in every
   * paging mode. Synchronous: callers that need to stay responsive call it with
   * a bounded budget in a loop (see node/runner.ts). Several vCPUs take turns
   * of {@link quantum} instructions on the one core, in index order, which
   * keeps a deterministic VM deterministic.
   */
  run(maxInstructions = Infinity): StopReason {
    if (this.nested > 0) throw new Error("Vm.run() called from inside a nested entry: use runNested()");
    let r: SliceEnd;
    if (this.vcpus.length === 1 && !this.asleep) {
      this.switchTo(0);
      r = this.runSlice(maxInstructions);
    } else {
      r = this.runVcpus(maxInstructions);
    }
    if (r !== null && r !== "yield") { this.stopRequest = null; return r; }
    const s = this.stopRequest ?? { kind: "budget" as const };
    this.stopRequest = null;
    return s;
  }

  /**
   * The running vCPU until its budget is used, it stops the VM, or (multiprocessor) it halts or spins.
   * The budget counts retired instructions only: an exit that retired nothing (a hidden page fault, a trace-log
   * exit, an IN answered and restarted) uses none of it, so a run of n instructions ends at the same instruction
   * however the VMM's exits split it, and what happens between runs — input a driver types, a timer it checks —
   * reaches the guest at a point its own instructions fix, not the VMM's internals (one more exit per page fault
   * would otherwise move a typed command, and with it the guest's history). A guest whose exits retire nothing
   * at all is still stopped: after as many of them as its budget, at least STALL_LIMIT.
   */
  private runSlice(maxInstructions: number): SliceEnd {
    const core = this.core, clock = this.clock;
    let left = maxInstructions;
    let stallsLeft = Math.max(maxInstructions, STALL_LIMIT);
    if (this.suspendedBy !== null) return { kind: "suspended", why: this.suspendedBy };
    let retired = core.getRetired();
    clock?.advanceLazily(retired);
    while (left > 0) {
      let budget = Math.min(SLICE, left);
      if (clock) budget = Math.max(1, Math.min(budget, this.syncTime(retired)));
      this.offerInterrupt();
      // (Under the monitor trap flag the core runs one instruction.)
      const stepping = this.vcpu.monitorTrapWanted.size > 0;
      const code = core.run(budget);
      const before = retired;
      retired = core.getRetired();
      if (retired > before) left -= retired - before;
      else if (--stallsLeft <= 0) break;
      clock?.advanceLazily(retired);
      if (code === ExitCode.Budget) { if (this.stopRequest) break; continue; }
      this.exitCounts[code]!++;
      // Port exits are the commonest by far: answered here, without building the typed exit.
      const r = code === ExitCode.IoOut || code === ExitCode.IoIn ? this.portExit(code === ExitCode.IoOut) : this.handleExit(readExit(this.dataView(), this.exitBase, code));
      if (r) return r;
      // The monitor trap flag's exit is due after an instruction that ended in an exit of its own (an OUT, an MMIO
      // store): the core reported that one, so the trap is taken here, as a VMM emulates VT-x's pending MTF
      // exit — else the next instruction would run before it (a debugger's step over an OUT taking two).
      if (stepping && retired > before && code !== ExitCode.MonitorTrap && this.vcpu.monitorTrapWanted.size > 0) {
        const t = this.handleMonitorTrap({ reason: "monitor-trap" });
        if (t) return t;
      }
      if (this.stopRequest) break;
      const now = core.getRetired();
      if (now !== retired) { retired = now; clock?.advanceLazily(retired); } // (a handler reset the CPU)
    }
    return null;
  }

  /** An IN or OUT exit: the port bus answers (the "io-in"/"io-out" cases of handleExit, read straight from the exit block). */
  private portExit(out: boolean): SliceEnd {
    const view = this.dataView(), base = this.exitBase;
    const port = view.getUint32(base + ExitField.a, true);
    const size = view.getInt32(base + ExitField.size, true) as AccessSize;
    this.direct.exits[port]!++;
    if (out) this.ports.write(port, size, view.getUint32(base + ExitField.value, true));
    else {
      const v = this.ports.read(port, size);
      if (this.suspendedBy === null) writeResponse1(view, base, v);
    }
    return this.suspendedBy !== null ? { kind: "suspended", why: this.suspendedBy } : null; // (an unanswered IN runs again)
  }

  /**
   * Where the scheduler is, kept between runs: the vCPU of the round (rounds go from vCPU 0 up) the next run goes on
   * with, whether a vCPU of this round ran yet, and what is left of that vCPU's quantum when a run ended inside its
   * turn. So a run split into several — by budgets, stops, snapshots — schedules the vCPUs exactly as one run would:
   * the same rounds (a round that began anew where a run resumed would order the vCPUs differently whenever one
   * yields or sleeps).
   */
  private roundPos = 0;
  private roundRan = false;
  private quantumLeft = 0;

  /**
   * Round-robin over the vCPUs that can run; when none can, let time pass (or report why not). Where a run ends — its
   * budget, a stop — does not change the schedule (see roundPos): runs of any sizes, stopped anywhere, interleave
   * the vCPUs as one long run would (what snapshots and a recorded history's replays rely on).
   */
  private runVcpus(maxInstructions: number): SliceEnd {
    const core = this.core;
    const n = this.vcpus.length;
    let left = maxInstructions;
    while (left > 0) {
      for (let i = this.roundPos; i < n && left > 0; i++) {
        const v = this.vcpus[i]!;
        const quantum = this.quantumLeft > 0 ? this.quantumLeft : this.quantum;
        this.quantumLeft = 0;
        this.roundPos = i + 1;
        if (!this.runnable(v)) continue;
        this.switchTo(i);
        if (v.waitingForSipi) continue;
        const before = core.getRetired();
        const r = this.runSlice(Math.min(quantum, left));
        const retired = core.getRetired() - before;
        left -= Math.max(1, retired); // (a turn that retired nothing still uses budget: the run always ends)
        v.halted = core.isHalted();
        v.interruptsOn = (core.getEflags() & 0x200) !== 0;
        this.roundRan = true;
        if (r !== null && r !== "yield") return r;
        if (this.stopRequest || left <= 0) {
          // Stopped (a debugger's breakpoint, step or interrupt; a device's request) or out of budget inside the turn:
          // the vCPU goes on with the rest of its quantum next time, unless it used it up or yielded.
          if (r === null && retired < quantum) { this.roundPos = i; this.quantumLeft = quantum - retired; }
          return null;
        }
      }
      // A whole round (every way out of the loop but its end returns): the next begins at vCPU 0.
      const ran = this.roundRan;
      this.roundPos = 0;
      this.roundRan = false;
      if (!ran) {
        const r = this.idleAll();
        if (r !== "continue") return r;
      }
    }
    return null;
  }

  private runnable(v: Vcpu): boolean {
    if (this.asleep || v.held) return false;
    if (v.wakeVector >= 0) return true;
    if (v.initRequested || v.sipiVector >= 0) return true;
    if (v.waitingForSipi) return false;
    if (!v.halted || v.nmiRequested) return true;
    if (v.index === this.running && this.core.nmiIsPending()) return true;
    return v.interruptsOn && (v.interrupts?.hasInterrupt() ?? false);
  }

  /** Every vCPU is halted or waiting for a start-up IPI: move time to the next timer, or say why nothing can run. */
  private idleAll(): SliceEnd | "continue" {
    // A vCPU a debugger holds back may run once it is released: with one, nothing is stuck for good.
    const held = this.vcpus.some((v) => v.held);
    if (!this.asleep && !held && this.vcpus.every((v) => v.waitingForSipi || !v.interruptsOn)) {
      return { kind: "halted", message: "every vCPU halted with interrupts disabled (or waits for a start-up IPI)" };
    }
    const clock = this.clock;
    const stuck: StopReason = held ? { kind: "idle", untilNs: Infinity } : {
      kind: "halted", message: this.asleep ? "asleep in ACPI S3 with no wake-up event pending"
        : "every vCPU halted waiting for an interrupt, and no timer is pending",
    };
    if (!clock) return stuck;
    // The TSC follows the clock before timers run: a LAPIC TSC-deadline timer compares with it, and with no
    // vCPU running nothing else would move it (the deadline would seem as far away at every wake-up).
    const retired = this.core.getRetired();
    clock.advanceTo(retired);
    this.catchUpTsc(retired);
    clock.runDue();
    if (this.vcpus.some((v) => this.runnable(v))) return "continue";
    const next = clock.nextDeadline();
    if (next === Infinity) return stuck;
    if (clock.mode === "deterministic") {
      if (next > this.timeHorizonNs) { clock.skipTo(this.timeHorizonNs); return { kind: "idle", untilNs: next }; } // a VmGroup's horizon
      clock.skipTo(next);
      this.catchUpTsc(retired);
      clock.runDue();
      return "continue";
    }
    return { kind: "idle", untilNs: next };
  }

  /**
   * Enter the guest again — from inside an exit handler, or between runs — and
   * run it until `done()` is true or `budget` instructions have retired: the
   * nested entry a SymCall makes. Exits are handled exactly as in run(), so a
   * handler may itself call runNested, and a paging strategy's handler may call
   * it too; no interrupt or NMI is offered or injected meanwhile (those that
   * arrive wait until after); the interrupted entry's exit block, MMIO state,
   * pending events and injected exception are saved in the core and put back
   * afterwards (core pushEntry/popEntry). With `saveState` the core also
   * saves the vCPU's whole state and puts it back on every way out;
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
    const clock = this.clock;
    try {
      opts.enter?.();
      let retired = core.getRetired();
      clock?.advanceLazily(retired);
      while (!done()) {
        const left = budget - spent;
        if (left <= 0) return { kind: "budget", instructions: ran() };
        let slice = Math.min(SLICE, left);
        if (clock) slice = Math.max(1, Math.min(slice, this.syncTime(retired)));
        const code = core.run(slice);
        const before = retired;
        retired = core.getRetired();
        spent += Math.max(1, retired - before);
        clock?.advanceLazily(retired);
        if (code !== ExitCode.Budget) {
          this.exitCounts[code]!++;
          if (code === ExitCode.Hlt) {
            const st = this.getState();
            return { kind: "stopped", instructions: ran(), reason: { kind: "halted", message: `guest halted at ${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}` } };
          }
          const stop = code === ExitCode.IoOut || code === ExitCode.IoIn ? this.portExit(code === ExitCode.IoOut) : this.handleExit(readExit(this.dataView(), this.exitBase, code));
          const now = core.getRetired();
          if (now !== retired) { retired = now; clock?.advanceLazily(retired); }
          if (stop === "yield") continue; // a PAUSE: the other vCPUs wait until the nested entry is over
          if (stop) return { kind: "stopped", instructions: ran(), reason: stop };
        }
        if (this.stopRequest && !done()) return { kind: "stopped", instructions: ran(), reason: this.stopRequest };
      }
      return { kind: "done", instructions: ran() };
    } finally {
      this.nested--;
      const paging = [core.getCr(0), core.getCr(3), core.getCr(4), core.getEfer()];
      core.popEntry();
      // The paging strategy follows the paging registers (a shadow root per guest CR3): tell it when they came back changed.
      if (paging[0] !== core.getCr(0) || paging[1] !== core.getCr(3) || paging[2] !== core.getCr(4) || paging[3] !== core.getEfer()) this.paging?.stateChanged?.();
      if (this.nested === 0) {
        if (this.heldVector >= 0) { core.injectInterrupt(this.heldVector); this.heldVector = -1; }
        const v = this.vcpu;
        if (v.nmiRequested) { v.nmiRequested = false; core.injectNmi(); }
      }
    }
  }

  /** True while a nested entry (runNested) runs. */
  get inNestedEntry(): boolean { return this.nested > 0; }

  /**
   * Fire due timers, keep the guest's TSC in step with the clock. Returns how
   * many instructions may run before the next timer is due. The clock is
   * already at `retired`: the run loops advance it whenever the count moves
   * (after each run, and where a handler changed it), not again here — an
   * exit-heavy guest would pay for it twice per exit.
   */
  private syncTime(retired: number): number {
    const clock = this.clock!;
    if (clock.changeCount === this.syncedChanges && clock === this.syncedClock) return this.syncedBudget; // (the same time and timers)
    clock.runDue();
    this.catchUpTsc(retired);
    this.syncedBudget = clock.instructionsUntil(clock.nextDeadline());
    this.syncedChanges = clock.changeCount;
    this.syncedClock = clock;
    return this.syncedBudget;
  }
  /** Add to the core's TSC what the clock says it lags (time skipped or passed while halted, host time). */
  private catchUpTsc(retired: number): void {
    const d = this.clock!.tscCatchUp(retired);
    if (d > 0) this.core.setTscOffsetValue(this.core.getTscOffset() + d);
  }
  private syncedClock: VirtualClock | null = null;
  private syncedChanges = -1;
  private syncedBudget = 0;

  /** Hand a pending external interrupt to the core when it can take one (INTA happens only then). */
  private offerInterrupt(): void {
    const pic = this.interrupts;
    if (!pic || !pic.hasInterrupt() || this.core.pendingInterrupt() >= 0) return;
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

  private handleExit(exit: VcpuExit): SliceEnd {
    const view = this.dataView();
    switch (exit.reason) {
      case "io-in":
      case "io-out":
        return this.portExit(exit.reason === "io-out"); // (runSlice calls it directly)
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
        writeResponse(view, this.exitBase, this.cpuid(exit.leaf, exit.subleaf));
        return null;
      }
      case "hypercall": {
        if (this.hypercallInterfaces.some((i) => i(exit))) return null;
        const h = this.hypercalls.get(exit.nr);
        if (h) h(this); else this.setReg(0, -1000); // -KVM_ENOSYS, as KVM answers unknown hypercalls
        return null;
      }
      case "hlt": {
        if (this.core.pendingInterrupt() >= 0 && this.core.interruptsEnabled()) return null;
        if (this.core.nmiIsPending()) return null;
        if (this.vcpus.length > 1) return this.interrupts?.hasInterrupt() && this.core.interruptsEnabled() ? null : "yield";
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
      case "pause":
        return this.vcpus.length > 1 ? "yield" : null; // a spinning vCPU lets the others run
      case "budget":
        return null;
      case "ept-violation":
      case "exception":
      case "cr-write":
      case "invlpg":
      case "monitor-trap":
      case "trace-log":
        return this.handlePagingExit(exit);
    }
  }

  /** The memory-virtualization exits: the paging strategy first, then the VMM's hooks. */
  private handlePagingExit(exit: PagingExit): StopReason | null {
    if (exit.reason === "monitor-trap") return this.handleMonitorTrap(exit);
    let action = this.paging?.handle(exit);
    if (action === undefined && exit.reason === "ept-violation") {
      for (const h of this.violationHooks) { action = h(exit, this); if (action !== undefined) break; }
    } else if (action === undefined && exit.reason === "exception") {
      for (const h of this.exceptionHooks) { action = h(exit, this); if (action !== undefined) break; }
    }
    if (action === undefined) {
      // Nothing claimed the exit: CR writes and INVLPG complete as if not intercepted; the rest stop, saying why.
      if (exit.reason === "cr-write" || exit.reason === "invlpg") action = "resume";
      else return { kind: "unimplemented", message: describePagingExit(exit, this.getState()) };
    }
    if (action !== "resume") return action;
    if (exit.reason === "cr-write" || exit.reason === "invlpg") writeResponse(this.dataView(), this.exitBase, []);
    return null;
  }

  /**
   * One instruction retired under the monitor trap flag: the paging strategy, then every hook, each
   * told (the same instruction may end a shadow pager's let-through and a debugger's step); the first
   * stop any of them asks for wins. An exit nobody claims stops the VM, saying why.
   */
  private handleMonitorTrap(exit: Extract<PagingExit, { reason: "monitor-trap" }>): StopReason | null {
    let claimed = false, stop: StopReason | null = null;
    const actions = [this.paging?.handle(exit), ...this.monitorTrapHooks.map((h) => h(exit, this))];
    for (const a of actions) {
      if (a === undefined) continue;
      claimed = true;
      if (a !== "resume") stop ??= a;
    }
    return claimed ? stop : { kind: "unimplemented", message: describePagingExit(exit, this.getState()) };
  }

  /** CPUID as the guest sees it: the first hook that answers, else the CPU's own leaf. */
  cpuid(leaf: number, subleaf: number): [number, number, number, number] {
    for (const h of this.cpuidHooks) {
      const r = h(leaf >>> 0, subleaf >>> 0);
      if (r) return r;
    }
    const c = this.core;
    return [c.cpuidDefault(leaf, subleaf, 0), c.cpuidDefault(leaf, subleaf, 1), c.cpuidDefault(leaf, subleaf, 2), c.cpuidDefault(leaf, subleaf, 3)];
  }

  // ---- snapshots ---------------------------------------------------------------------------------

  /**
   * The VM's part of a snapshot (src/vmm/snapshot.ts): every vCPU — the running one with its pending events and
   * any exit response armed for its next entry, as a nested entry saves them — guest RAM, the retired count and
   * the TSC offset, virtual time. Between runs only; the devices are the machine's to save (machine/pc.ts).
   */
  save(): State {
    if (this.nested > 0 || this.core.entryDepth() > 0) throw new Error("savevm: not from inside a nested entry (a SymCall)");
    const core = this.core;
    if (!core.pushEntry(true)) throw new Error("savevm: the core's entry levels are in use");
    const entry = this.coreBytes(core.entrySaveBase(), ENTRY_SAVE_BYTES).slice();
    core.popEntry();
    return {
      entry,
      vcpuSlots: this.coreBytes(core.vcpuSlotBase(), VCPU_SLOT_BYTES * this.vcpus.length).slice(),
      vcpus: this.vcpus.map((v) => saveFields(v, ["index", "held"])),
      running: this.running, asleep: this.asleep, hasFirmware: this.hasFirmware, heldVector: this.heldVector,
      roundPos: this.roundPos, roundRan: this.roundRan, quantumLeft: this.quantumLeft,
      retired: core.getRetired(), tscOffset: core.getTscOffset(), tsc: [core.getTscState(0), core.getTscState(1)],
      exitCounts: this.exitCounts.slice(),
      clock: this.clock?.save() ?? null,
      ram: savePages(this.coreBytes(core.ramBase(), this.ramBytes)),
    };
  }

  /** Take back save()'s state (a VM built as the saved one was; its devices restore theirs after this). */
  restore(state: State): void {
    if (this.nested > 0 || this.core.entryDepth() > 0) throw new Error("loadvm: not from inside a nested entry (a SymCall)");
    const vcpus = state.vcpus as State[];
    if (vcpus.length !== this.vcpus.length) throw new SnapshotError(`snapshot: its machine has ${vcpus.length} vCPU(s), this one ${this.vcpus.length} (--smp)`);
    if (state.hasFirmware !== this.hasFirmware) throw new SnapshotError(`snapshot: its machine ${state.hasFirmware ? "has" : "has no"} firmware (--bios), this one ${this.hasFirmware ? "has" : "has none"}`);
    if ((state.clock === null) !== (this.clock === null)) throw new SnapshotError("snapshot: its machine's clock and this one's differ");
    const core = this.core;
    restorePages(this.coreBytes(core.ramBase(), this.ramBytes), part(state, "ram"));
    this.coreBytes(core.vcpuSlotBase(), VCPU_SLOT_BYTES * this.vcpus.length).set(state.vcpuSlots as Uint8Array);
    vcpus.forEach((v, i) => restoreFields(this.vcpus[i]!, v));
    this.running = state.running as number;
    core.vcpuLoad(this.running);
    // The running vCPU with its events and armed exit response: pushEntry makes level 0, which then holds the snapshot's.
    core.pushEntry(true);
    this.coreBytes(core.entrySaveBase(), ENTRY_SAVE_BYTES).set(state.entry as Uint8Array);
    core.popEntry();
    this.loadMonitorTrap();
    this.asleep = state.asleep as boolean;
    this.heldVector = state.heldVector as number;
    // (A snapshot from before rounds were kept names the vCPU to go on with as nextVcpu.)
    this.roundPos = (state.roundPos ?? state.nextVcpu) as number;
    this.roundRan = (state.roundRan ?? false) as boolean;
    this.quantumLeft = state.quantumLeft as number;
    this.stopRequest = null;
    this.suspendedBy = null;
    core.setRetiredCount(state.retired as number);
    core.setTscOffsetValue(state.tscOffset as number);
    const tsc = state.tsc as number[] | undefined; // (a snapshot from before it was saved: no read yet, no adjust)
    core.setTscState(tsc?.[0] ?? -1, tsc?.[1] ?? 0);
    this.exitCounts.set(state.exitCounts as Float64Array);
    if (this.clock && state.clock) this.clock.restore(state.clock as State);
    this.syncedClock = null; // (syncTime's budget was for the timers before: a restored clock's change count may match it)
    core.flushCaches();
    this.paging?.restored?.();
  }

  private coreBytes(at: number, length: number): Uint8Array { return new Uint8Array(this.engine.buffer, at, length); }

  stats(): VmStats {
    return {
      instructions: this.core.getRetired(),
      exits: exitCountsByReason(this.exitCounts),
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
        regionEntries: this.core.getTcacheStat(5),
        compiledInstructions: this.core.getTcacheStat(6),
        replayedInstructions: this.core.getTcacheStat(7),
        regionLinks: this.core.getTcacheStat(8),
      },
      ...(this.engine.compiler ? { compiler: { ...this.engine.compiler } } : {}),
      rtm: { transactions: this.core.getRtmStat(0), committed: this.core.getRtmStat(1), aborted: this.core.getRtmStat(2) },
      paging: {
        mode: this.paging?.mode ?? "direct",
        nestedWalks: this.core.getPagingStat(0),
        nestedRefs: this.core.getPagingStat(1),
        violations: this.core.getPagingStat(2),
        cr3Loads: this.core.getPagingStat(3),
        cr3TargetHits: this.core.getPagingStat(4),
        ...(this.paging?.stats() ?? {}),
      },
    };
  }
}

function describePagingExit(exit: PagingExit, st: CpuState): string {
  const at = `${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}`;
  if (exit.reason === "ept-violation") {
    const what = exit.walk ? "page-table " : "";
    return `EPT violation: ${what}${exit.access} of guest-physical 0x${hex(exit.gpa, 8)}${exit.linear !== null ? ` (linear 0x${hex(exit.linear, 8)})` : ""} at ${at}, and no handler for it`;
  }
  if (exit.reason === "exception") return `intercepted exception ${exit.vector}${exit.errorCode !== null ? ` (error code 0x${hex(exit.errorCode, 4)})` : ""} at ${at}, and no handler for it`;
  return `unhandled ${exit.reason} exit at ${at}`;
}

function hex(n: number, w: number): string { return (n >>> 0).toString(16).padStart(w, "0"); }
