/**
 * Hyper-V's enlightenments as KVM offers them to a guest (QEMU's `-cpu
 * …,hv-synic,hv-stimer,hv-stimer-direct,hv-time,hv-vpindex,hv-frequencies`),
 * after the Hypervisor Top-Level Functional Specification (TLFS) and KVM's
 * arch/x86/kvm/hyperv.c: the synthetic interrupt controller and timers
 * (synic.ts, stimer.ts), the reference counter, VP index, frequency MSRs and
 * the hypercall page with HvPostMessage and HvSignalEvent. Off unless asked
 * for (`hyperv: true`, `--hyperv`): a guest that finds "Microsoft Hv" in CPUID
 * looks for more of Hyper-V than this (VMBus), so Linux is better served by
 * KVM's own leaves, which move to 0x40000100 while these are on (as KVM moves
 * them).
 *
 * CPUID: 0x40000000 "Microsoft Hv" (highest leaf 0x40000005); 0x40000001
 * "Hv#1"; 0x40000003 EAX: reference counter (1), SynIC (2), timers (3),
 * hypercall MSRs (5), VP index (6), reference TSC page (9), frequency MSRs (11); EBX: PostMessages
 * (4), SignalEvents (5); EDX: frequency MSRs (8), direct-mode timers (19).
 *
 * | MSR | name | behaviour |
 * |---|---|---|
 * | 0x40000000 | GUEST_OS_ID | the guest's identity; non-zero enables hypercalls |
 * | 0x40000001 | HYPERCALL | GPA \| enable: the hypervisor writes `vmcall; ret` there (ignored while GUEST_OS_ID is 0) |
 * | 0x40000002 | VP_INDEX | read-only: the vCPU's index |
 * | 0x40000020 | TIME_REF_COUNT | read-only: virtual time since power-on in 100 ns units |
 * | 0x40000021 | REFERENCE_TSC | GPA \| enable: the hypervisor writes the TSC page there — `{ u32 sequence; u32 reserved; u64 scale; i64 offset }`, the reference time being `((TSC × scale) >> 64) + offset` — computed when the guest enables it, and TIME_REF_COUNT is read through it from then on (KVM recomputes it when the guest's TSC is written; here it keeps the values it had) |
 * | 0x40000022 / 23 | TSC_FREQUENCY / APIC_FREQUENCY | read-only, Hz |
 *
 * Hypercalls (VMCALL at CPL 0 in protected mode, else #UD; i386: control in
 * EDX:EAX, input in EBX:ECX, result in EDX:EAX): HvPostMessage (0x5C) hands
 * the 256-byte input at the input GPA to the connection's message handler;
 * HvSignalEvent (0x5D, fast or not) the connection's event handler. Who
 * listens on a connection is the VMM's (hyperv-testdev registers some).
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { VirtualClock } from "../vmm/clock.js";
import type { State } from "../vmm/snapshot.js";
import { Synic, HV_MESSAGE_PAYLOAD_BYTES, type HvMessage, type PostResult } from "./synic.js";
import { SyntheticTimer, STIMER_MSR_BASE, STIMER_COUNT } from "./stimer.js";

export const HV_MSR_GUEST_OS_ID = 0x40000000;
export const HV_MSR_HYPERCALL = 0x40000001;
export const HV_MSR_VP_INDEX = 0x40000002;
export const HV_MSR_TIME_REF_COUNT = 0x40000020;
export const HV_MSR_REFERENCE_TSC = 0x40000021;
export const HV_MSR_TSC_FREQUENCY = 0x40000022;
export const HV_MSR_APIC_FREQUENCY = 0x40000023;
export const HVCALL_POST_MESSAGE = 0x5c;
export const HVCALL_SIGNAL_EVENT = 0x5d;

/** Hypercall status codes (TLFS Appendix B). */
export const enum HvStatus {
  Success = 0,
  InvalidHypercallCode = 2,
  InvalidHypercallInput = 3,
  InvalidAlignment = 4,
  InsufficientMemory = 11,
  InvalidPortId = 17,
  InvalidConnectionId = 18,
  InsufficientBuffers = 19,
}

/** HvPostMessage's input: the connection and the message for it. */
export interface PostedMessage extends HvMessage { connectionId: number }
export type MessageHandler = (msg: PostedMessage) => HvStatus;
export type EventHandler = () => HvStatus;

const HV_SIGNATURE = [0x7263694d, 0x666f736f, 0x76482074] as const; // "Microsoft Hv"
const HV_INTERFACE = 0x31237648; // "Hv#1"
const HV_MAX_LEAF = 0x40000005;
const FEATURES_EAX = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 11);
const FEATURES_EBX = (1 << 4) | (1 << 5);
const FEATURES_EDX = (1 << 8) | (1 << 19);
/** `vmcall; ret`: what KVM writes into the hypercall page on Intel. */
const HYPERCALL_CODE = Uint8Array.of(0x0f, 0x01, 0xc1, 0xc3);

export interface HypervOptions {
  clock: VirtualClock;
  vcpus: number;
  /** A fixed, edge-triggered interrupt on vCPU `vcpu`'s local APIC. */
  raise(vcpu: number, vector: number): void;
  /** The local APIC timer's input clock (Hz), for APIC_FREQUENCY. */
  apicHz: number;
}

/** One vCPU's SynIC and synthetic timers. */
export interface HvVcpu {
  readonly synic: Synic;
  readonly timers: readonly SyntheticTimer[];
}

export class Hyperv {
  readonly vcpus: HvVcpu[] = [];
  private guestOsId = 0n;
  private hypercallMsr = 0n;
  private referenceTscMsr = 0n;
  /** The TSC page's sequence number: 1, 2 … each time it is written (0 and 0xFFFFFFFF mean "invalid" to the guest). */
  private tscSequence = 0;
  /** The TSC page's scale and offset while it is on: then the reference counter is read through them, as in KVM. */
  private tscPage: { scale: bigint; offset: bigint } | null = null;
  private readonly messageHandlers = new Map<number, MessageHandler>();
  private readonly eventHandlers = new Map<number, EventHandler>();
  /** Hypercalls by code (for stats). */
  private readonly hypercalls = new Map<number, number>();

  constructor(private readonly vm: Vm, private readonly opts: HypervOptions) {
    const memory = vm.memory;
    for (let i = 0; i < opts.vcpus; i++) {
      const synic = new Synic({
        readU32: (gpa) => memory.readU32(gpa), readU8: (gpa) => memory.readU8(gpa),
        write: (gpa, bytes) => memory.write(gpa, bytes), isRam: (gpa, len) => memory.isRam(gpa, len),
        raise: (vector) => opts.raise(i, vector),
      });
      const host = { synic, clock: opts.clock, referenceTime: () => this.referenceTime(), raise: (vector: number) => opts.raise(i, vector) };
      this.vcpus.push({ synic, timers: Array.from({ length: STIMER_COUNT }, (_, t) => new SyntheticTimer(t, host)) });
    }
    vm.onCpuid((leaf) => this.cpuid(leaf));
    const partition = { read: (i: number) => this.readMsr(i), write: (i: number, v: bigint) => this.writeMsr(i, v) };
    for (const i of [HV_MSR_GUEST_OS_ID, HV_MSR_HYPERCALL, HV_MSR_VP_INDEX, HV_MSR_TIME_REF_COUNT, HV_MSR_REFERENCE_TSC, HV_MSR_TSC_FREQUENCY, HV_MSR_APIC_FREQUENCY]) {
      vm.onMsr(i, partition);
    }
    const synicMsr = { read: (i: number) => this.current.synic.readMsr(i), write: (i: number, v: bigint) => this.current.synic.writeMsr(i, v) };
    for (let i = 0x40000080; i <= 0x4000009f; i++) if (Synic.handles(i)) vm.onMsr(i, synicMsr);
    const timerMsr = {
      read: (i: number) => this.current.timers[(i - STIMER_MSR_BASE) >> 1]!.readMsr((i & 1) === 0),
      write: (i: number, v: bigint) => {
        const t = this.current.timers[(i - STIMER_MSR_BASE) >> 1]!;
        if ((i & 1) === 0) t.writeConfig(v); else t.writeCount(v);
        return true;
      },
    };
    for (let i = STIMER_MSR_BASE; i < STIMER_MSR_BASE + 2 * STIMER_COUNT; i++) vm.onMsr(i, timerMsr);
    vm.onHypercallInterface((exit) => this.hypercall(exit.eip));
  }

  private get current(): HvVcpu { return this.vcpus[this.vm.vcpu.index]!; }

  /**
   * HV_X64_MSR_TIME_REF_COUNT: virtual time in 100 ns units — through the TSC page while it is on, so that the
   * guest's two clocks agree exactly (KVM's get_time_ref_counter).
   */
  referenceTime(): bigint {
    if (!this.tscPage) return BigInt(Math.floor(this.opts.clock.nowNs() / 100));
    return ((this.guestTsc() * this.tscPage.scale) >> 64n) + this.tscPage.offset;
  }

  private guestTsc(): bigint { return BigInt(this.vm.core.getTscOffset() + this.vm.core.getRetired()); }

  /** Listen on a message connection (HvPostMessage to `id`); null stops listening. */
  setMessageHandler(id: number, handler: MessageHandler | null): void {
    if (handler) this.messageHandlers.set(id, handler); else this.messageHandlers.delete(id);
  }

  /** Listen on an event connection (HvSignalEvent to `id`); null stops listening. */
  setEventHandler(id: number, handler: EventHandler | null): void {
    if (handler) this.eventHandlers.set(id, handler); else this.eventHandlers.delete(id);
  }

  /** Post a message to vCPU `vp`'s SINT for `owner` (a VMM device's route), as HvPostMessage's handlers do. */
  postMessage(vp: number, sint: number, owner: object, msg: HvMessage): PostResult | "off" {
    const synic = this.vcpus[vp]?.synic;
    if (!synic?.receivesMessages) return "off";
    return synic.post(sint, owner, () => msg);
  }

  /** What the guest has used, summed over the vCPUs: hypercalls by name, messages, event flags, timer expiries. */
  stats(): { hypercalls: Record<string, number>; messages: number; messagesWaited: number; eventFlags: number; timerExpiries: number } {
    const name = (code: number) => code === HVCALL_POST_MESSAGE ? "post-message" : code === HVCALL_SIGNAL_EVENT ? "signal-event" : `0x${code.toString(16)}`;
    const sum = (f: (v: HvVcpu) => number) => this.vcpus.reduce((n, v) => n + f(v), 0);
    return {
      hypercalls: Object.fromEntries([...this.hypercalls].map(([code, n]) => [name(code), n])),
      messages: sum((v) => v.synic.counts.delivered), messagesWaited: sum((v) => v.synic.counts.waited),
      eventFlags: sum((v) => v.synic.counts.events), timerExpiries: sum((v) => v.timers.reduce((n, t) => n + t.expiries, 0)),
    };
  }

  private cpuid(leaf: number): [number, number, number, number] | undefined {
    switch (leaf) {
      case 0x40000000: return [HV_MAX_LEAF, ...HV_SIGNATURE];
      case 0x40000001: return [HV_INTERFACE, 0, 0, 0];
      case 0x40000002: return [0x3839, 0xa0000, 0, 0]; // the version KVM reports
      case 0x40000003: return [FEATURES_EAX, FEATURES_EBX, 0, FEATURES_EDX];
      case 0x40000004: return [0, 0xffffffff, 0, 0]; // no recommendations; never notify on spinlock retries
      case 0x40000005: return [this.opts.vcpus, this.opts.vcpus, 0, 0];
    }
    return undefined;
  }

  private readMsr(index: number): bigint | undefined {
    switch (index) {
      case HV_MSR_GUEST_OS_ID: return this.guestOsId;
      case HV_MSR_HYPERCALL: return this.hypercallMsr;
      case HV_MSR_VP_INDEX: return BigInt(this.vm.vcpu.index);
      case HV_MSR_TIME_REF_COUNT: return this.referenceTime();
      case HV_MSR_REFERENCE_TSC: return this.referenceTscMsr;
      case HV_MSR_TSC_FREQUENCY: return BigInt(Math.round(this.opts.clock.tscFrequencyHz));
      case HV_MSR_APIC_FREQUENCY: return BigInt(this.opts.apicHz);
    }
    return undefined;
  }

  private writeMsr(index: number, v: bigint): boolean {
    switch (index) {
      case HV_MSR_GUEST_OS_ID: this.guestOsId = v; return true;
      case HV_MSR_HYPERCALL: {
        if (this.guestOsId === 0n) return true; // KVM: the page stays off until the guest says who it is
        if ((v & 1n) !== 0n) {
          const gpa = Number(v & 0xfffff000n);
          if (v > 0xffffffffn || !this.vm.memory.isRam(gpa, HYPERCALL_CODE.length)) return false;
          this.vm.memory.write(gpa, HYPERCALL_CODE);
        }
        this.hypercallMsr = v;
        return true;
      }
      case HV_MSR_REFERENCE_TSC: {
        if ((v & 1n) === 0n) this.tscPage = null;
        else if (!this.writeTscPage(v)) return false;
        this.referenceTscMsr = v;
        return true;
      }
    }
    return false; // VP_INDEX and the counters are read-only
  }

  /**
   * The reference TSC page at the MSR's GPA, for the current vCPU's TSC now: scale = 10^7 · 2^64 / TSC Hz (100 ns
   * units per tick as a 64-bit fraction), offset = the reference counter now less the TSC's share of it.
   */
  private writeTscPage(v: bigint): boolean {
    const gpa = Number(v & 0xfffff000n);
    if (v > 0xffffffffn || !this.vm.memory.isRam(gpa, 24)) return false;
    const scale = (10_000_000n << 64n) / BigInt(Math.round(this.opts.clock.tscFrequencyHz));
    if (scale >> 64n !== 0n) { this.vm.memory.write(gpa, new Uint8Array(24)); return true; } // a TSC under 10 MHz: sequence 0, "use the MSR"
    const offset = this.referenceTime() - ((this.guestTsc() * scale) >> 64n);
    this.tscPage = { scale, offset };
    this.tscSequence = this.tscSequence >= 0xfffffffe ? 1 : this.tscSequence + 1;
    const page = new Uint8Array(24), dv = new DataView(page.buffer);
    dv.setUint32(0, this.tscSequence, true);
    dv.setBigUint64(8, BigInt.asUintN(64, scale), true);
    dv.setBigInt64(16, offset, true);
    this.vm.memory.write(gpa, page);
    return true;
  }

  /** A VMCALL: ours while the guest has set its OS ID (KVM's kvm_hv_hypercall_enabled), else KVM's hypercalls'. */
  private hypercall(eip: number): boolean {
    if (this.guestOsId === 0n) return false;
    const vm = this.vm, st = vm.getState();
    if ((st.cr0 & 1) === 0 || (st.eflags & 0x20000) !== 0 || (st.cs.selector & 3) !== 0) {
      vm.setState({ eip }); // #UD is a fault: at the VMCALL
      vm.injectException(6);
      return true;
    }
    const control = (BigInt(vm.reg(2)) << 32n) | BigInt(vm.reg(0));
    const input = (BigInt(vm.reg(3)) << 32n) | BigInt(vm.reg(1));
    const code = Number(control & 0xffffn), fast = (control & 0x10000n) !== 0n;
    // Neither call takes a variable header or repetitions.
    const plain = ((control >> 17n) & 0x3ffn) === 0n && ((control >> 32n) & 0xfffn) === 0n;
    this.hypercalls.set(code, (this.hypercalls.get(code) ?? 0) + 1);
    let status: HvStatus;
    if (code === HVCALL_POST_MESSAGE) status = !plain ? HvStatus.InvalidHypercallInput : this.postMessageCall(input, fast);
    else if (code === HVCALL_SIGNAL_EVENT) status = !plain ? HvStatus.InvalidHypercallInput : this.signalEventCall(input, fast);
    else status = HvStatus.InvalidHypercallCode;
    vm.setReg(0, status);
    vm.setReg(2, 0);
    return true;
  }

  private postMessageCall(gpa: bigint, fast: boolean): HvStatus {
    if (fast) return HvStatus.InvalidHypercallCode; // (its input is 256 bytes: a memory call only)
    if ((gpa & 7n) !== 0n) return HvStatus.InvalidAlignment;
    if (gpa > 0xffffff00n || !this.vm.memory.isRam(Number(gpa), 256)) return HvStatus.InsufficientMemory;
    const input = this.vm.memory.read(Number(gpa), 256);
    const dv = new DataView(input.buffer, input.byteOffset);
    const size = dv.getUint32(12, true);
    if (size > HV_MESSAGE_PAYLOAD_BYTES) return HvStatus.InvalidHypercallInput;
    return this.post(dv.getUint32(0, true), dv.getUint32(8, true), input.slice(16, 16 + size));
  }

  /** HvPostMessage's effect, as the guest's hypercall has it (its input read): to whoever listens on the connection. */
  post(connectionId: number, type: number, payload: Uint8Array): HvStatus {
    const handler = this.messageHandlers.get(connectionId);
    if (!handler) return HvStatus.InvalidConnectionId;
    return handler({ connectionId, type, payload });
  }

  private signalEventCall(input: bigint, fast: boolean): HvStatus {
    let param = input;
    if (!fast) {
      if ((input & 7n) !== 0n) return HvStatus.InvalidAlignment;
      if (input > 0xfffffff8n || !this.vm.memory.isRam(Number(input), 8)) return HvStatus.InsufficientMemory;
      const b = this.vm.memory.read(Number(input), 8);
      param = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    }
    if ((param & 0xffff00000000n) !== 0n) return HvStatus.InvalidPortId; // a flag number: none is supported, as in KVM
    if ((param & 0xffffffffff000000n) !== 0n) return HvStatus.InvalidHypercallInput;
    const handler = this.eventHandlers.get(Number(param));
    return handler ? handler() : HvStatus.InvalidPortId;
  }

  save(): State {
    return {
      guestOsId: this.guestOsId, hypercallMsr: this.hypercallMsr, referenceTscMsr: this.referenceTscMsr, tscSequence: this.tscSequence,
      tscPage: this.tscPage ? [this.tscPage.scale, this.tscPage.offset] : null,
      vcpus: this.vcpus.map((v) => ({ synic: v.synic.save(), timers: v.timers.map((t) => t.save()) })),
    };
  }

  restore(state: State): void {
    this.guestOsId = state.guestOsId as bigint; this.hypercallMsr = state.hypercallMsr as bigint;
    this.referenceTscMsr = state.referenceTscMsr as bigint; this.tscSequence = state.tscSequence as number;
    const page = state.tscPage as [bigint, bigint] | null;
    this.tscPage = page ? { scale: page[0], offset: page[1] } : null;
    (state.vcpus as State[]).forEach((s, i) => {
      const v = this.vcpus[i]!;
      v.synic.restore(s.synic as State); // (first: the timers stage their waiting messages in it again)
      (s.timers as State[]).forEach((t, k) => v.timers[k]!.restore(t));
    });
  }
}
