/**
 * The local APIC of one vCPU (xAPIC; Intel SDM vol. 3, chapter 10): the
 * register page at 0xFEE00000, the IA32_APIC_BASE MSR (0x1B) and
 * IA32_TSC_DEADLINE (0x6E0) — IRR/ISR/TMR, TPR/PPR, EOI, the spurious-vector
 * register, the LVTs (timer, thermal, performance, LINT0, LINT1, error,
 * CMCI), the error status register, the ICR (fixed, lowest priority, NMI,
 * INIT, start-up, with shorthands and physical/logical destinations) and the
 * timer in one-shot, periodic and TSC-deadline modes.
 *
 * It is the vCPU's interrupt controller as the run loop sees it
 * ({@link InterruptController}): a fixed interrupt is deliverable when the
 * highest IRR vector's priority class is above the PPR's; LINT0 in ExtINT
 * mode (QEMU sets it so on the BSP at reset, the virtual-wire mode a BIOS
 * leaves) passes the 8259A's INTR through, and so does an APIC that is
 * hardware-disabled. NMIs, INIT and start-up IPIs go to the vCPU through
 * {@link ApicCpu}.
 *
 * The timer counts a 1 GHz bus clock (as QEMU's) divided by the divide
 * configuration register.
 *
 * x2APIC mode (SDM 10.12), when the machine offers it (`x2apic`, CPUID.1:ECX[21]):
 * IA32_APIC_BASE.EXTD switches the registers from the page to MSRs 0x800 + offset/16,
 * with a 32-bit read-only ID, an LDR derived from it (cluster model only), one 64-bit
 * ICR with a 32-bit destination, the SELF IPI register, and #GP for reserved bits,
 * read-only registers and write-only ones read. The page then reads as all ones and
 * ignores writes (as KVM's; on hardware it is no longer the APIC's).
 *
 * Not modelled: relocating the APIC base (a write that moves it stops the VM as
 * unimplemented), SMI, the thermal/performance/CMCI sources (their LVTs are
 * registers only).
 *
 * @module
 */
import { allOnes, type MmioDevice, type AccessSize } from "../vmm/bus.js";
import type { InterruptController } from "../vmm/vm.js";
import type { VirtualClock, TimerHandle, SavedTimer } from "../vmm/clock.js";
import { saveFields, restoreFields, type State } from "../vmm/snapshot.js";
import { DeliveryMode, broadcastDestination, type ApicBus, type ApicEndpoint, type ApicMessage } from "./apic-bus.js";

export const APIC_DEFAULT_BASE = 0xfee00000;
export const MSR_APIC_BASE = 0x1b;
export const MSR_TSC_DEADLINE = 0x6e0;
const BASE_BSP = 1 << 8;
const BASE_ENABLE = 1 << 11;
const BASE_X2APIC = 1 << 10; // EXTD
/** x2APIC mode's registers: MSR 0x800 + (xAPIC offset >> 4) (SDM Table 10-6). */
export const X2APIC_MSR_BASE = 0x800;
export const X2APIC_MSR_COUNT = 0x100;
/** Version register: version 14h (integrated APIC), 7 LVT entries (max LVT index 6). */
const VERSION = 0x14 | (6 << 16);
export const APIC_BUS_HZ = 1_000_000_000;

// Register offsets (SDM Table 10-1).
export const enum Reg {
  Id = 0x20, Version = 0x30, Tpr = 0x80, Apr = 0x90, Ppr = 0xa0, Eoi = 0xb0, Rrd = 0xc0, Ldr = 0xd0, Dfr = 0xe0,
  Svr = 0xf0, Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280, LvtCmci = 0x2f0, IcrLo = 0x300, IcrHi = 0x310,
  LvtTimer = 0x320, LvtThermal = 0x330, LvtPerf = 0x340, LvtLint0 = 0x350, LvtLint1 = 0x360, LvtError = 0x370,
  TimerInitial = 0x380, TimerCurrent = 0x390, TimerDivide = 0x3e0,
  /** x2APIC mode only (MSR 0x83F). */
  SelfIpi = 0x3f0,
}
/** LVT index by register: timer, thermal, performance, LINT0, LINT1, error, CMCI. */
const LVT_REGS = [Reg.LvtTimer, Reg.LvtThermal, Reg.LvtPerf, Reg.LvtLint0, Reg.LvtLint1, Reg.LvtError, Reg.LvtCmci];
const LVT_TIMER = 0, LVT_LINT0 = 3, LVT_LINT1 = 4, LVT_ERROR = 5;
/** Writable bits per LVT (SDM Figure 10-8): vector, delivery mode, polarity, trigger, mask, timer mode. */
const LVT_WRITABLE = [0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff, 0x107ff];
const LVT_MASKED = 1 << 16;
/** Delivery status and remote IRR: read-only LVT bits, so a value read back may hold them. */
const LVT_STATUS = (1 << 12) | (1 << 14);
const SVR_ENABLE = 1 << 8;
/** Spurious vector, enable (8), focus checking (9), EOI-broadcast suppression (12). */
const SVR_WRITABLE = 0x13ff;
/** The ICR's defined bits in x2APIC mode: vector, mode, destination mode, level, trigger, shorthand (SDM 10.12.9; no delivery status). */
const ICR_X2APIC_WRITABLE = 0xccfff;
/**
 * x2APIC mode: the bits WRMSR may set in each writable register (a write with any other bit set
 * raises #GP, SDM 10.12.1.3; EOI and ESR take only 0); the ICR, 64 bits wide, apart.
 */
const X2APIC_WRITE_BITS: ReadonlyMap<number, number> = new Map([
  [Reg.Tpr, 0xff], [Reg.Eoi, 0], [Reg.Svr, SVR_WRITABLE], [Reg.Esr, 0],
  [Reg.TimerInitial, 0xffffffff], [Reg.TimerDivide, 0xb], [Reg.SelfIpi, 0xff],
  ...LVT_REGS.map((r, i): [number, number] => [r, LVT_WRITABLE[i]! | LVT_STATUS]),
]);
/** x2APIC mode: the registers RDMSR reads (not EOI or SELF IPI, write-only; not APR, RRD, DFR or ICR2, absent). */
const X2APIC_READABLE: ReadonlySet<number> = new Set([
  Reg.Id, Reg.Version, Reg.Tpr, Reg.Ppr, Reg.Ldr, Reg.Svr, Reg.Esr, Reg.IcrLo,
  Reg.TimerInitial, Reg.TimerCurrent, Reg.TimerDivide, ...LVT_REGS,
  ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [Reg.Isr + i * 16, Reg.Tmr + i * 16, Reg.Irr + i * 16]),
]);
/** The logical x2APIC ID: cluster ID[19:4] in bits 31:16, bit ID[3:0] set in 15:0 (SDM 10.12.10.2). */
const x2apicLdr = (id: number) => (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;
// ESR bits (SDM Figure 10-9).
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

/** ICR destination shorthands (bits 19:18). */
const enum Shorthand { None = 0, Self = 1, All = 2, AllButSelf = 3 }

/** Timer modes (LVT timer bits 18:17). */
const enum TimerMode { OneShot = 0, Periodic = 1, TscDeadline = 2 }

/** What the APIC needs of its vCPU and machine. */
export interface ApicCpu {
  /** Queue an NMI on this vCPU. */
  nmi(): void;
  /** INIT: the vCPU resets and waits for a start-up IPI (the BSP's INIT is a reset too). */
  init(): void;
  /** Start-up IPI: a vCPU waiting after INIT starts in real mode at vector × 4096. */
  startup(vector: number): void;
  /** Something became deliverable: wake the vCPU if it is halted. */
  kick(): void;
  /** The vCPU's TSC now (for TSC-deadline mode). */
  tsc(): number;
  /** TSC ticks per second. */
  readonly tscHz: number;
  /** Stop the VM with an unimplemented exit. */
  unimplemented(what: string): void;
}

export interface LocalApicOptions {
  id: number;
  bsp: boolean;
  bus: ApicBus;
  clock: VirtualClock;
  cpu: ApicCpu;
  /** The 8259A pair's INTR/INTA, wired to LINT0. */
  pic?: InterruptController;
  /** Offer x2APIC mode: IA32_APIC_BASE.EXTD writable, the registers as MSRs (CPUID.1:ECX[21] is the machine's to set). */
  x2apic?: boolean;
}

export class LocalApic implements MmioDevice, ApicEndpoint, InterruptController {
  readonly name = "local-apic";
  id: number;
  private base: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffffffff;
  private svr = 0xff;
  private readonly irr = new Uint32Array(8);
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  /** Errors collected since the last ESR write; the ESR shows them after that write. */
  private esrPending = 0;
  private esr = 0;
  private icrLo = 0;
  private icrHi = 0;
  private readonly lvt = new Uint32Array(7);
  private divide = 0;
  private initialCount = 0;
  /** Virtual time (ns) the current count was loaded; -1 when the timer is not counting. */
  private timerStartNs = -1;
  private timer: TimerHandle | null = null;
  private tscDeadline = 0;
  private readonly bus: ApicBus;
  private readonly clock: VirtualClock;
  private readonly cpu: ApicCpu;
  private readonly pic: InterruptController | undefined;
  /**
   * Vectors taken without setting their in-service bit (a Hyper-V SynIC's auto-EOI SINTs): the handler sends no
   * EOI. Not machine state of the APIC's own — its owner restores what it answers.
   */
  autoEoi: ((vector: number) => boolean) | null = null;

  constructor(private readonly opts: LocalApicOptions) {
    this.id = opts.id;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.cpu = opts.cpu;
    this.pic = opts.pic;
    this.base = APIC_DEFAULT_BASE | BASE_ENABLE | (opts.bsp ? BASE_BSP : 0);
    this.reset();
    opts.bus.attach(this);
  }

  /** Power-on / INIT state (SDM 10.4.7.1); the BSP's LINT0 in ExtINT mode as QEMU leaves it. */
  reset(): void {
    this.tpr = 0; this.ldr = this.x2apicMode ? x2apicLdr(this.id) : 0; this.dfr = 0xffffffff; this.svr = 0xff;
    this.irr.fill(0); this.isr.fill(0); this.tmr.fill(0);
    this.esr = 0; this.esrPending = 0; this.icrLo = 0; this.icrHi = 0;
    this.lvt.fill(LVT_MASKED);
    if (this.opts.bsp) this.lvt[LVT_LINT0] = DeliveryMode.ExtInt << 8;
    this.divide = 0; this.initialCount = 0; this.tscDeadline = 0;
    this.stopTimer();
  }

  get hardwareEnabled(): boolean { return (this.base & BASE_ENABLE) !== 0; }
  /** In x2APIC mode (IA32_APIC_BASE.EXTD, which only an enabled APIC has). */
  get x2apicMode(): boolean { return (this.base & BASE_X2APIC) !== 0; }
  private get softwareEnabled(): boolean { return this.hardwareEnabled && (this.svr & SVR_ENABLE) !== 0; }

  // ---- the MSRs ----------------------------------------------------------------

  /** IA32_APIC_BASE: base, enable (bit 11), EXTD (bit 10, x2APIC mode), BSP (bit 8). */
  readBaseMsr(): bigint { return BigInt(this.base >>> 0); }
  /** Returns false for a write that must #GP (reserved bits, EXTD without x2APIC, a transition SDM 10.12.5 forbids). */
  writeBaseMsr(v: bigint): boolean {
    // Reserved: bits 0-7, 9, 63:32 (MAXPHYADDR 32) and, unless offered, 10.
    if ((v >> 32n) !== 0n || (v & (this.opts.x2apic ? 0x2ffn : 0x6ffn)) !== 0n) return false;
    const lo = Number(v & 0xffffffffn);
    const enable = (lo & BASE_ENABLE) !== 0, extd = (lo & BASE_X2APIC) !== 0;
    // SDM 10.12.5: EXTD without EN is an invalid state; x2APIC → xAPIC and disabled → x2APIC are
    // not transitions (x2APIC is left through disabled, and entered from xAPIC).
    if (extd && (!enable || !this.hardwareEnabled)) return false;
    if (this.x2apicMode && enable && !extd) return false;
    if ((lo & 0xfffff000) >>> 0 !== APIC_DEFAULT_BASE) {
      this.cpu.unimplemented(`local APIC relocation to 0x${(lo >>> 0).toString(16)}`);
      return true;
    }
    const wasEnabled = this.hardwareEnabled, wasX2apic = this.x2apicMode;
    this.base = (lo & ~BASE_BSP) | (this.base & BASE_BSP);
    if (wasEnabled && !this.hardwareEnabled) this.reset(); // SDM 10.4.3: disabling resets the APIC's state
    else if (!wasX2apic && this.x2apicMode) {
      // SDM 10.12.5.1: the x2APIC ID is the initial APIC ID, whatever the xAPIC ID register was set to; the LDR follows from it.
      this.id = this.opts.id;
      this.ldr = x2apicLdr(this.id);
    }
    return true;
  }

  /** RDMSR of x2APIC register MSR `index` (0x800-0x8FF); undefined: #GP (not in x2APIC mode, absent, write-only). */
  readX2apicMsr(index: number): bigint | undefined {
    const reg = (index - X2APIC_MSR_BASE) << 4;
    if (!this.x2apicMode || !X2APIC_READABLE.has(reg)) return undefined;
    if (reg === Reg.Id) return BigInt(this.id >>> 0);
    if (reg === Reg.IcrLo) return (BigInt(this.icrHi >>> 0) << 32n) | BigInt(this.icrLo & ICR_X2APIC_WRITABLE);
    return BigInt(this.readRegister(reg) >>> 0);
  }
  /** WRMSR of x2APIC register MSR `index`; false: #GP (not in x2APIC mode, absent, read-only, a reserved bit set). */
  writeX2apicMsr(index: number, v: bigint): boolean {
    const reg = (index - X2APIC_MSR_BASE) << 4;
    if (!this.x2apicMode) return false;
    const lo = Number(v & 0xffffffffn);
    if (reg === Reg.IcrLo) {
      if ((lo & ~ICR_X2APIC_WRITABLE) !== 0) return false;
      this.icrHi = Number(v >> 32n) >>> 0;
      this.icrLo = lo;
      this.sendIpi();
      return true;
    }
    const bits = X2APIC_WRITE_BITS.get(reg);
    if (bits === undefined || (v >> 32n) !== 0n || (lo & ~bits) !== 0) return false; // bits 63:32 are reserved but in the ICR
    if (reg === Reg.SelfIpi) this.deliverIpi({ vector: lo, mode: DeliveryMode.Fixed, logical: false, dest: this.id, level: false, assert: true }, Shorthand.Self);
    else this.writeRegister(reg, lo);
    return true;
  }
  readTscDeadline(): bigint { return this.lvtTimerMode() === TimerMode.TscDeadline ? BigInt(this.tscDeadline) : 0n; }
  writeTscDeadline(v: bigint): void {
    if (this.lvtTimerMode() !== TimerMode.TscDeadline) return; // ignored in the other modes (SDM 10.5.4.1)
    this.tscDeadline = Number(v);
    this.armDeadline();
  }

  // ---- MMIO ------------------------------------------------------------------------

  read(offset: number, size: AccessSize): number {
    if (this.x2apicMode) return allOnes(size); // as an absent device
    const reg = offset & 0xff0;
    const v = this.readRegister(reg);
    // Registers are 32 bits on 16-byte boundaries; narrower reads see part of one.
    const shift = (offset & 3) * 8;
    if ((offset & 0xf) >= 4) return 0;
    const mask = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return ((v >>> shift) & mask) >>> 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if ((offset & 0xf) !== 0 || size !== 4 || this.x2apicMode) return; // only aligned 32-bit writes are defined (SDM 10.4.1)
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  readRegister(reg: number): number {
    if (reg >= Reg.Isr && reg < Reg.Isr + 0x80) return this.isr[(reg - Reg.Isr) >> 4]!;
    if (reg >= Reg.Tmr && reg < Reg.Tmr + 0x80) return this.tmr[(reg - Reg.Tmr) >> 4]!;
    if (reg >= Reg.Irr && reg < Reg.Irr + 0x80) return this.irr[(reg - Reg.Irr) >> 4]!;
    const lvtIndex = LVT_REGS.indexOf(reg);
    if (lvtIndex >= 0) return this.lvt[lvtIndex]!;
    switch (reg) {
      case Reg.Id: return (this.id << 24) >>> 0;
      case Reg.Version: return VERSION;
      case Reg.Tpr: return this.tpr;
      case Reg.Apr: return 0;
      case Reg.Ppr: return this.ppr();
      case Reg.Ldr: return this.ldr;
      case Reg.Dfr: return this.dfr >>> 0;
      case Reg.Svr: return this.svr;
      case Reg.Esr: return this.esr;
      case Reg.IcrLo: return this.icrLo; // delivery status (bit 12) is always idle: IPIs are delivered at once
      case Reg.IcrHi: return this.icrHi;
      case Reg.TimerInitial: return this.initialCount;
      case Reg.TimerCurrent: return this.currentCount();
      case Reg.TimerDivide: return this.divide;
      case Reg.Eoi: case Reg.Rrd: return 0;
      default:
        this.error(ESR_ILLEGAL_REGISTER);
        return 0;
    }
  }

  writeRegister(reg: number, v: number): void {
    const lvtIndex = LVT_REGS.indexOf(reg);
    if (lvtIndex >= 0) { this.writeLvt(lvtIndex, v); return; }
    switch (reg) {
      case Reg.Id: this.id = v >>> 24; return;
      case Reg.Tpr: this.tpr = v & 0xff; this.changed(); return;
      case Reg.Eoi: this.eoi(); return;
      case Reg.Ldr: this.ldr = (v & 0xff000000) >>> 0; return;
      case Reg.Dfr: this.dfr = (v | 0x0fffffff) >>> 0; return;
      case Reg.Svr: {
        this.svr = v & SVR_WRITABLE;
        // Software-disabled: every LVT is masked and stays so until re-enabled (SDM 10.4.7.2).
        if ((this.svr & SVR_ENABLE) === 0) for (let i = 0; i < this.lvt.length; i++) this.lvt[i]! |= LVT_MASKED;
        this.changed();
        return;
      }
      case Reg.Esr: this.esr = this.esrPending; this.esrPending = 0; return;
      case Reg.IcrHi: this.icrHi = (v & 0xff000000) >>> 0; return;
      case Reg.IcrLo: this.icrLo = v & 0xcdfff; this.sendIpi(); return;
      case Reg.TimerInitial: this.initialCount = v; this.startTimer(); return;
      case Reg.TimerDivide: {
        // Re-base the count at the old rate before the divisor changes.
        const cur = this.currentCount();
        this.divide = v & 0xb;
        if (this.timerStartNs >= 0) this.restartAt(cur);
        return;
      }
      case Reg.Version: case Reg.Apr: case Reg.Ppr: case Reg.Rrd: case Reg.TimerCurrent: return; // read-only
      default:
        if ((reg >= Reg.Isr && reg < Reg.Irr + 0x80)) return; // ISR/TMR/IRR are read-only
        this.error(ESR_ILLEGAL_REGISTER);
    }
  }

  private writeLvt(i: number, v: number): void {
    let nv = v & LVT_WRITABLE[i]!;
    if (!this.softwareEnabled) nv |= LVT_MASKED;
    if (i === LVT_LINT0 || i === LVT_LINT1) nv |= this.lvt[i]! & (1 << 14); // remote IRR is read-only
    const oldMode = this.lvtTimerMode();
    this.lvt[i] = nv;
    if (i === LVT_TIMER && this.lvtTimerMode() !== oldMode) {
      // Switching into or out of TSC-deadline mode disarms the timer (SDM 10.5.4.1).
      this.stopTimer();
      this.initialCount = 0;
      this.tscDeadline = 0;
    }
    this.changed();
  }

  // ---- the monitor ----------------------------------------------------------------------

  /** The state `info lapic` shows (QEMU's monitor has the same command): mode, IDs, priorities, vectors, LVTs, timer, ICR. */
  describe(): string[] {
    const h = (v: number, w = 8) => "0x" + (v >>> 0).toString(16).padStart(w, "0");
    const vectors = (bits: Uint32Array) => {
      const out: string[] = [];
      for (let v = 0; v < 256; v++) if ((bits[v >> 5]! >>> (v & 31)) & 1) out.push(h(v, 2));
      return out.length ? out.join(" ") : "(none)";
    };
    const mode = !this.hardwareEnabled ? "disabled" : this.x2apicMode ? "x2APIC" : "xAPIC";
    const lvtNames = ["timer", "thermal", "perf", "LINT0", "LINT1", "error", "CMCI"];
    const timerMode = ["one-shot", "periodic", "TSC-deadline", "reserved"][this.lvtTimerMode()]!;
    return [
      `${mode} (IA32_APIC_BASE ${h(this.base)}${(this.base & BASE_BSP) !== 0 ? ", BSP" : ""}), ID ${this.id}, LDR ${h(this.ldr)}` +
        (this.x2apicMode ? "" : `, DFR ${h(this.dfr)}`),
      `SVR ${h(this.svr, 3)} (${this.softwareEnabled ? "software-enabled" : "software-disabled"}, spurious vector ${h(this.svr & 0xff, 2)}), ` +
        `TPR ${h(this.tpr, 2)}, PPR ${h(this.ppr(), 2)}, ESR ${h(this.esr, 2)}`,
      `ISR ${vectors(this.isr)}; IRR ${vectors(this.irr)}; TMR ${vectors(this.tmr)}`,
      "LVT " + lvtNames.map((n, i) => `${n} ${h(this.lvt[i]!)}${(this.lvt[i]! & LVT_MASKED) !== 0 ? " (masked)" : ""}`).join(", "),
      `timer ${timerMode}, divide by ${this.divisor()}, initial count ${this.initialCount}, current count ${this.currentCount()}` +
        (this.lvtTimerMode() === TimerMode.TscDeadline ? `, deadline ${this.tscDeadline}` : ""),
      `ICR ${this.x2apicMode ? `${h(this.icrHi)}_${h(this.icrLo).slice(2)}` : `${h(this.icrHi)} ${h(this.icrLo)}`}`,
    ];
  }

  // ---- priorities and acceptance ------------------------------------------------------

  private static highest(bits: Uint32Array): number {
    for (let i = 7; i >= 0; i--) {
      const w = bits[i]!;
      if (w !== 0) return i * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }
  /** Processor priority (SDM 10.8.3.1): the TPR, or the class of the highest in-service vector if higher. */
  ppr(): number {
    const isrv = Math.max(0, LocalApic.highest(this.isr));
    return (this.tpr >> 4) >= (isrv >> 4) ? this.tpr : isrv & 0xf0;
  }
  arbitrationPriority(): number { return this.ppr(); }

  matchesLogical(dest: number, wide = false): boolean {
    const broadcast = broadcastDestination(wide);
    if (!this.softwareEnabled && dest !== broadcast) return false;
    if (this.x2apicMode) {
      // Cluster model only (SDM 10.12.10.2): cluster in bits 31:16, member bitmap in 15:0.
      return dest === broadcast || ((dest >>> 16) === (this.ldr >>> 16) && (dest & this.ldr & 0xffff) !== 0);
    }
    if (wide) return false; // an x2APIC-format destination for an APIC still in xAPIC mode: not defined, not taken
    const logicalId = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (logicalId & dest) !== 0; // flat model
    // cluster model: cluster in bits 7:4, member bits 3:0 (0xF: broadcast to all clusters)
    const cluster = dest >> 4;
    return (cluster === 0xf || cluster === logicalId >> 4) && (dest & logicalId & 0xf) !== 0;
  }

  /** A message from the bus (an IPI or an I/O APIC interrupt). */
  receive(msg: ApicMessage): void {
    switch (msg.mode) {
      case DeliveryMode.Fixed: case DeliveryMode.LowestPriority:
        this.accept(msg.vector, msg.level);
        return;
      case DeliveryMode.Nmi: this.cpu.nmi(); return;
      case DeliveryMode.Init:
        if (!msg.level || msg.assert) this.cpu.init(); // INIT level de-assert only resynchronises arbitration IDs
        return;
      case DeliveryMode.StartUp: this.cpu.startup(msg.vector); return;
      case DeliveryMode.ExtInt: this.cpu.kick(); return; // the 8259A's vector, read at acknowledge
      case DeliveryMode.Smi: return; // no SMM
    }
  }

  /** Set the vector's IRR bit (and its TMR bit for level-triggered interrupts). */
  accept(vector: number, level: boolean): void {
    if (vector < 16) { this.error(ESR_RECEIVE_ILLEGAL_VECTOR); return; }
    if (!this.softwareEnabled) return; // a software-disabled APIC takes only NMI, INIT and SIPI (SDM 10.4.7.2)
    const w = vector >> 5, b = 1 << (vector & 31);
    this.irr[w]! |= b;
    if (level) this.tmr[w]! |= b; else this.tmr[w]! &= ~b;
    this.changed();
  }

  private changed(): void { if (this.hasInterrupt()) this.cpu.kick(); }

  private extIntOpen(): boolean {
    if (!this.pic) return false;
    if (!this.hardwareEnabled) return true; // the PIC's INTR goes straight to the CPU
    const l = this.lvt[LVT_LINT0]!;
    return (l & LVT_MASKED) === 0 && ((l >> 8) & 7) === DeliveryMode.ExtInt;
  }

  hasInterrupt(): boolean {
    if (this.extIntOpen() && this.pic!.hasInterrupt()) return true;
    if (!this.softwareEnabled) return false;
    const v = LocalApic.highest(this.irr);
    return v >= 0 && (v >> 4) > (this.ppr() >> 4);
  }

  /** The INTA cycle: the highest deliverable vector moves from IRR to ISR. */
  acknowledge(): number {
    if (this.extIntOpen() && this.pic!.hasInterrupt()) return this.pic!.acknowledge();
    const v = LocalApic.highest(this.irr);
    if (v < 0 || (v >> 4) <= (this.ppr() >> 4)) return this.svr & 0xff; // spurious (SDM 10.9)
    this.irr[v >> 5]! &= ~(1 << (v & 31));
    if (!this.autoEoi?.(v)) this.isr[v >> 5]! |= 1 << (v & 31);
    return v;
  }

  private eoi(): void {
    const v = LocalApic.highest(this.isr);
    if (v < 0) return;
    this.isr[v >> 5]! &= ~(1 << (v & 31));
    if ((this.tmr[v >> 5]! & (1 << (v & 31))) !== 0 && (this.svr & (1 << 12)) === 0) this.bus.broadcastEoi(v);
    this.changed();
  }

  private error(bit: number): void {
    const was = this.esrPending;
    this.esrPending |= bit;
    const l = this.lvt[LVT_ERROR]!;
    if (was !== this.esrPending && (l & LVT_MASKED) === 0) this.accept(l & 0xff, false);
  }

  // ---- IPIs ------------------------------------------------------------------------------

  /** The ICR written: its message, to the destination (xAPIC: ICR bits 63:56; x2APIC: 63:32) or the shorthand's. */
  private sendIpi(): void {
    const lo = this.icrLo;
    const wide = this.x2apicMode;
    const msg: ApicMessage = {
      vector: lo & 0xff,
      mode: (lo >> 8) & 7,
      logical: (lo & (1 << 11)) !== 0,
      dest: wide ? this.icrHi >>> 0 : this.icrHi >>> 24,
      level: (lo & (1 << 15)) !== 0,
      assert: (lo & (1 << 14)) !== 0,
      wide,
    };
    this.deliverIpi(msg, (lo >> 18) & 3);
  }

  private deliverIpi(msg: ApicMessage, shorthand: Shorthand): void {
    if ((msg.mode === DeliveryMode.Fixed || msg.mode === DeliveryMode.LowestPriority) && msg.vector < 16) {
      this.error(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    const all = this.bus.apics.filter((a) => a.hardwareEnabled);
    const targets = shorthand === Shorthand.Self ? [this] : shorthand === Shorthand.All ? all
      : shorthand === Shorthand.AllButSelf ? all.filter((a) => a !== this) : this.bus.targets(msg.logical, msg.dest, msg.wide);
    this.bus.send(msg, targets);
  }

  // ---- the timer ---------------------------------------------------------------------------

  private lvtTimerMode(): TimerMode { return (this.lvt[LVT_TIMER]! >> 17) & 3; }
  /** Bus clocks per timer tick: 2, 4, 8, 16, 32, 64, 128 or 1 (divide configuration bits 3, 1:0). */
  private divisor(): number {
    const d = ((this.divide >> 1) & 4) | (this.divide & 3);
    return d === 7 ? 1 : 2 << d;
  }
  private tickNs(): number { return (this.divisor() * 1e9) / APIC_BUS_HZ; }

  private currentCount(): number {
    if (this.timerStartNs < 0 || this.lvtTimerMode() === TimerMode.TscDeadline) return 0;
    const elapsed = Math.floor((this.clock.nowNs() - this.timerStartNs) / this.tickNs());
    if (this.lvtTimerMode() === TimerMode.Periodic) return this.initialCount - (elapsed % this.initialCount);
    return Math.max(0, this.initialCount - elapsed);
  }

  private stopTimer(): void {
    this.clock.cancel(this.timer);
    this.timer = null;
    this.timerStartNs = -1;
  }

  private startTimer(): void {
    this.stopTimer();
    if (this.lvtTimerMode() === TimerMode.TscDeadline || this.initialCount === 0) return;
    this.restartAt(this.initialCount);
  }

  /** Count down from `count` ticks starting now. */
  private restartAt(count: number): void {
    this.clock.cancel(this.timer);
    const now = this.clock.nowNs();
    this.timerStartNs = now - (this.initialCount - count) * this.tickNs();
    this.timer = this.clock.schedule(now + Math.max(1, Math.ceil(count * this.tickNs())), (at) => this.timerExpired(at));
  }

  private timerExpired(atNs: number): void {
    this.timer = null;
    this.fireLvt(LVT_TIMER);
    if (this.lvtTimerMode() === TimerMode.Periodic && this.initialCount > 0) {
      const period = Math.max(1, Math.ceil(this.initialCount * this.tickNs()));
      this.timerStartNs = atNs;
      this.timer = this.clock.schedule(atNs + period, (at) => this.timerExpired(at));
    } else {
      this.timerStartNs = -1;
    }
  }

  private armDeadline(): void {
    this.clock.cancel(this.timer);
    this.timer = null;
    if (this.tscDeadline === 0) return;
    const left = this.tscDeadline - this.cpu.tsc();
    if (left <= 0) { this.tscDeadline = 0; this.fireLvt(LVT_TIMER); return; }
    const ns = Math.max(1, Math.ceil((left * 1e9) / this.cpu.tscHz));
    this.timer = this.clock.schedule(this.clock.nowNs() + ns, () => this.armDeadline());
  }

  save(): State { return { ...saveFields(this, ["timer"]), timer: this.clock.saveTimer(this.timer) }; }

  restore(state: State): void {
    const { timer, ...fields } = state;
    restoreFields(this, fields);
    // Its timer counts down (one-shot, periodic) or waits for the TSC deadline, as its LVT says.
    this.timer = this.clock.restoreTimer(timer as SavedTimer,
      this.lvtTimerMode() === TimerMode.TscDeadline ? () => this.armDeadline() : (at) => this.timerExpired(at));
  }

  private fireLvt(i: number): void {
    const l = this.lvt[i]!;
    if ((l & LVT_MASKED) !== 0) return;
    this.accept(l & 0xff, false);
  }

  /** LINT1 (the NMI line) and LINT0 used as a plain interrupt line, for boards that wire them. */
  lint(pin: 0 | 1): void {
    const l = this.lvt[pin === 0 ? LVT_LINT0 : LVT_LINT1]!;
    if ((l & LVT_MASKED) !== 0) return;
    const mode = (l >> 8) & 7;
    if (mode === DeliveryMode.Nmi) this.cpu.nmi();
    else if (mode === DeliveryMode.Fixed) this.accept(l & 0xff, false);
    else if (mode === DeliveryMode.ExtInt) this.cpu.kick();
  }
}
