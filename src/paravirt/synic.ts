/**
 * One vCPU's Hyper-V synthetic interrupt controller (SynIC), after the
 * Hypervisor Top-Level Functional Specification (TLFS) §11 and KVM's
 * arch/x86/kvm/hyperv.c: sixteen synthetic interrupt sources (SINTs), each
 * with a vector in the local APIC, a 256-byte message slot in the guest's
 * message page (SIMP) and 2048 event flags in its event-flags page (SIEFP).
 *
 * | MSR | name | behaviour |
 * |---|---|---|
 * | 0x40000080 | SCONTROL | bit 0 enables the SynIC |
 * | 0x40000081 | SVERSION | read-only 1 |
 * | 0x40000082 | SIEFP | GPA \| enable; the page is cleared when enabled (as KVM does) |
 * | 0x40000083 | SIMP | GPA \| enable; likewise |
 * | 0x40000084 | EOM | reads 0; a write retries the messages waiting for a slot |
 * | 0x40000090-9F | SINT0-15 | vector (16-255) \| masked (bit 16) \| auto-EOI (bit 17); reset value masked |
 *
 * A message goes into its SINT's slot when the slot is free (message type 0)
 * and the SINT's vector is raised, unless masked. When the slot still holds
 * a message the guest has not consumed, the new one waits here (staged),
 * the slot's `msg_pending` flag is set, and the guest's EOM write — which it
 * makes after freeing a slot whose flag was set — delivers it. An auto-EOI
 * SINT's vector never sets the APIC's in-service bit ({@link autoEoi}).
 *
 * @module
 */
import type { State } from "../vmm/snapshot.js";

export const SYNIC_MSR_SCONTROL = 0x40000080;
export const SYNIC_MSR_SVERSION = 0x40000081;
export const SYNIC_MSR_SIEFP = 0x40000082;
export const SYNIC_MSR_SIMP = 0x40000083;
export const SYNIC_MSR_EOM = 0x40000084;
export const SYNIC_MSR_SINT0 = 0x40000090;
export const SINT_COUNT = 16;
export const SINT_MASKED = 1n << 16n;
export const SINT_AUTO_EOI = 1n << 17n;
/** Bytes of one message slot, and of one SINT's event flags. */
export const HV_MESSAGE_SIZE = 256;
/** Payload bytes a message can carry (the slot less its 16-byte header). */
export const HV_MESSAGE_PAYLOAD_BYTES = 240;
const ENABLE = 1n;
const PAGE = 4096;

/** What a SynIC needs of its machine: guest memory and its vCPU's local APIC. */
export interface SynicHost {
  readU32(gpa: number): number;
  readU8(gpa: number): number;
  write(gpa: number, bytes: Uint8Array): void;
  isRam(gpa: number, length: number): boolean;
  /** A fixed, edge-triggered interrupt at `vector` on this vCPU's local APIC. */
  raise(vector: number): void;
}

/** A message for a SINT: its header fields and payload (≤ 240 bytes). */
export interface HvMessage {
  type: number;
  payload: Uint8Array;
}

/** A message waiting for its slot. `owner` (a timer, a connection) has at most one waiting. */
interface Staged {
  sint: number;
  owner: object;
  /** Built when it is delivered (a timer's message says when that was). */
  build: () => HvMessage;
  delivered?: () => void;
}

export type PostResult = "delivered" | "staged" | "busy";

export class Synic {
  private control = 0n;
  private simp = 0n;
  private siefp = 0n;
  private readonly sints = new BigUint64Array(SINT_COUNT).fill(SINT_MASKED);
  private staged: Staged[] = [];
  /** Counters for stats: messages written into a slot, of them those that waited for it, event flags set. */
  readonly counts = { delivered: 0, waited: 0, events: 0 };

  constructor(private readonly host: SynicHost) {}

  static handles(index: number): boolean {
    return (index >= SYNIC_MSR_SCONTROL && index <= SYNIC_MSR_EOM) || (index >= SYNIC_MSR_SINT0 && index < SYNIC_MSR_SINT0 + SINT_COUNT);
  }

  readMsr(index: number): bigint | undefined {
    switch (index) {
      case SYNIC_MSR_SCONTROL: return this.control;
      case SYNIC_MSR_SVERSION: return 1n;
      case SYNIC_MSR_SIEFP: return this.siefp;
      case SYNIC_MSR_SIMP: return this.simp;
      case SYNIC_MSR_EOM: return 0n;
    }
    return Synic.handles(index) ? this.sints[index - SYNIC_MSR_SINT0]! : undefined;
  }

  /** False: the write raises #GP. */
  writeMsr(index: number, v: bigint): boolean {
    switch (index) {
      case SYNIC_MSR_SCONTROL: this.control = v; return true;
      case SYNIC_MSR_SVERSION: return false;
      case SYNIC_MSR_SIEFP: return this.setPage(v, (p) => { this.siefp = p; });
      case SYNIC_MSR_SIMP: return this.setPage(v, (p) => { this.simp = p; });
      case SYNIC_MSR_EOM: this.endOfMessage(); return true;
    }
    if (!Synic.handles(index)) return false;
    // Vectors 0-15 are not interrupts; KVM lets a masked SINT name one (Hyper-V writes the reset value so).
    if ((v & 0xffn) < 16n && (v & SINT_MASKED) === 0n) return false;
    this.sints[index - SYNIC_MSR_SINT0] = v;
    return true;
  }

  /** SIEFP/SIMP: an enabled page is cleared first, as KVM clears it; a page outside RAM is refused. */
  private setPage(v: bigint, set: (page: bigint) => void): boolean {
    if ((v & ENABLE) !== 0n) {
      const gpa = Number(v & 0xfffff000n);
      if (v > 0xffffffffn || !this.host.isRam(gpa, PAGE)) return false;
      this.host.write(gpa, new Uint8Array(PAGE));
    }
    set(v);
    return true;
  }

  /** Messages can be delivered: the SynIC and its message page are enabled. */
  get receivesMessages(): boolean { return (this.control & ENABLE) !== 0n && (this.simp & ENABLE) !== 0n; }
  /** Event flags can be set: the SynIC and its event-flags page are enabled. */
  get receivesEvents(): boolean { return (this.control & ENABLE) !== 0n && (this.siefp & ENABLE) !== 0n; }

  /** The vector an unmasked SINT raises, or -1. */
  private vector(sint: number): number {
    const s = this.sints[sint]!;
    return (s & SINT_MASKED) !== 0n ? -1 : Number(s & 0xffn);
  }

  /** Raise a SINT's vector (a device's interrupt through the SynIC): nothing when it is masked. */
  raise(sint: number): void {
    const v = this.vector(sint);
    if (v >= 16) this.host.raise(v);
  }

  /** The local APIC takes `vector` without setting its in-service bit: an unmasked auto-EOI SINT has it. */
  autoEoi(vector: number): boolean {
    for (let i = 0; i < SINT_COUNT; i++) if (this.vector(i) === vector && (this.sints[i]! & SINT_AUTO_EOI) !== 0n) return true;
    return false;
  }

  /**
   * Post a message to a SINT for `owner`: into the slot now if it is free ("delivered"), else staged until an EOM
   * finds it free, and then `delivered` is called ("staged"); "busy" when the owner already has one staged (a source
   * has one message in flight at a time).
   */
  post(sint: number, owner: object, build: () => HvMessage, delivered?: () => void): PostResult {
    if (this.staged.some((s) => s.owner === owner)) return "busy";
    const item: Staged = { sint, owner, build, delivered };
    if (this.tryDeliver(item)) return "delivered";
    this.staged.push(item);
    return "staged";
  }

  /** Stage a message without trying its slot (a snapshot's restore: the slot was busy when it was saved). */
  stage(sint: number, owner: object, build: () => HvMessage, delivered?: () => void): void {
    this.staged.push({ sint, owner, build, delivered });
  }

  /** The message the owner has waiting for its slot, built as it would be delivered now (a snapshot's save), or null. */
  waitingMessage(owner: object): HvMessage | null {
    const item = this.staged.find((s) => s.owner === owner);
    return item ? item.build() : null;
  }

  /** Drop the owner's staged message (a timer reprogrammed, a connection gone). */
  cancel(owner: object): void { this.staged = this.staged.filter((s) => s.owner !== owner); }

  /** Set event flag `flag` of a SINT; its vector is raised when the flag was clear. False: the SynIC takes no events. */
  signalEvent(sint: number, flag: number): boolean {
    if (!this.receivesEvents) return false;
    const gpa = Number(this.siefp & 0xfffff000n) + sint * HV_MESSAGE_SIZE + (flag >> 3);
    const byte = this.host.readU8(gpa), bit = 1 << (flag & 7);
    if ((byte & bit) !== 0) return true;
    this.host.write(gpa, Uint8Array.of(byte | bit));
    this.counts.events++;
    this.raise(sint);
    return true;
  }

  /** EOM: each SINT's first staged message goes into its slot if the guest has freed it. */
  private endOfMessage(): void {
    for (let sint = 0; sint < SINT_COUNT; sint++) {
      const item = this.staged.find((s) => s.sint === sint);
      if (!item || !this.tryDeliver(item)) continue;
      this.staged.splice(this.staged.indexOf(item), 1);
      this.counts.waited++;
      item.delivered?.();
    }
  }

  /** Write the message into its slot if it is free and raise its SINT; else set the slot's msg_pending flag. */
  private tryDeliver(item: Staged): boolean {
    if (!this.receivesMessages) return false;
    const slot = Number(this.simp & 0xfffff000n) + item.sint * HV_MESSAGE_SIZE;
    if (this.host.readU32(slot) !== 0) {
      this.host.write(slot + 5, Uint8Array.of(this.host.readU8(slot + 5) | 1)); // message_flags.msg_pending
      return false;
    }
    const msg = item.build();
    const bytes = new Uint8Array(16 + msg.payload.length);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, msg.type, true);
    dv.setUint8(4, msg.payload.length);
    bytes.set(msg.payload, 16);
    this.host.write(slot, bytes);
    this.counts.delivered++;
    this.raise(item.sint);
    return true;
  }

  /** Registers only: a staged message belongs to its owner, which stages it again on restore. */
  save(): State { return { control: this.control, simp: this.simp, siefp: this.siefp, sints: [...this.sints] }; }
  restore(state: State): void {
    this.control = state.control as bigint; this.simp = state.simp as bigint; this.siefp = state.siefp as bigint;
    this.sints.set(state.sints as bigint[]);
    this.staged = [];
  }
}
