/**
 * A Hyper-V synthetic timer (TLFS §12.2; four per vCPU), with KVM's
 * reading of the specification (arch/x86/kvm/hyperv.c, stimer_*):
 *
 * | MSR | name | behaviour |
 * |---|---|---|
 * | 0x400000B0 + 2i | STIMERi_CONFIG | enable (0), periodic (1), lazy (2), auto-enable (3), APIC vector (4-11), direct mode (12), SINTx (16-19) |
 * | 0x400000B1 + 2i | STIMERi_COUNT | periodic: the period; one-shot: the absolute expiry — both in 100 ns units of the reference counter |
 *
 * Writing either register stops the timer. A non-zero count with auto-enable
 * set enables it; a zero count disables it; enabling with SINTx 0 (message
 * mode) leaves it disabled. On expiry a timer in message mode posts
 * HVMSG_TIMER_EXPIRED (index, expiration and delivery time) to SINTx; in
 * direct mode it raises its APIC vector. A one-shot timer then disables
 * itself; a periodic one re-arms at the next multiple of its period — not
 * before its message is delivered: while the message waits for a busy slot
 * the timer does not run on (so a guest that holds its slot gets no burst).
 *
 * @module
 */
import type { Synic, HvMessage } from "./synic.js";
import type { VirtualClock, TimerHandle, SavedTimer } from "../vmm/clock.js";
import type { State } from "../vmm/snapshot.js";

export const STIMER_MSR_BASE = 0x400000b0;
export const STIMER_COUNT = 4;
export const HVMSG_TIMER_EXPIRED = 0x80000010;

const ENABLE = 1n, PERIODIC = 2n, AUTO_ENABLE = 8n, DIRECT = 1n << 12n;

/** What a timer needs of its vCPU. */
export interface StimerHost {
  readonly synic: Synic;
  readonly clock: VirtualClock;
  /** The partition's reference counter (HV_X64_MSR_TIME_REF_COUNT), 100 ns units. */
  referenceTime(): bigint;
  /** A fixed, edge-triggered interrupt on this vCPU's local APIC (direct mode). */
  raise(vector: number): void;
}

export class SyntheticTimer {
  private config = 0n;
  private count = 0n;
  /** Reference time of the armed expiry (100 ns units); 0: not armed. */
  private expTime = 0n;
  /** Expired, its message not delivered yet (staged in the SynIC). */
  private msgPending = false;
  private timer: TimerHandle | null = null;
  /** Expiries so far (for stats). */
  expiries = 0;

  constructor(readonly index: number, private readonly host: StimerHost) {}

  readMsr(configRegister: boolean): bigint { return configRegister ? this.config : this.count; }

  writeConfig(v: bigint): void {
    this.stop();
    const sintx = (v >> 16n) & 0xfn;
    if ((this.config & ENABLE) !== 0n && (v & DIRECT) === 0n && sintx === 0n) v &= ~ENABLE;
    this.config = v;
    this.update();
  }

  writeCount(v: bigint): void {
    this.stop();
    this.count = v;
    if (v === 0n) this.config &= ~ENABLE;
    else if ((this.config & AUTO_ENABLE) !== 0n) this.config |= ENABLE;
    this.update();
  }

  private get enabled(): boolean { return (this.config & ENABLE) !== 0n; }
  private get periodic(): boolean { return (this.config & PERIODIC) !== 0n; }
  private get sint(): number { return Number((this.config >> 16n) & 0xfn); }

  private stop(): void {
    this.host.clock.cancel(this.timer);
    this.timer = null;
    this.host.synic.cancel(this);
    this.msgPending = false;
    this.expTime = 0n;
  }

  /** Expire if due, then arm the next expiry (KVM's kvm_hv_process_stimers for one timer). */
  private update(): void {
    if (!this.enabled) return;
    if (this.expTime !== 0n && this.host.referenceTime() >= this.expTime) this.expire();
    if (this.enabled && this.count !== 0n) { if (!this.msgPending) this.start(); }
    else this.stop();
  }

  private start(): void {
    const now = this.host.referenceTime();
    if (this.periodic) {
      if (this.expTime === 0n) this.expTime = now + this.count;
      else if (now >= this.expTime) this.expTime = now + (this.count - ((now - this.expTime) % this.count));
    } else {
      this.expTime = this.count; // an expiry already past fires at once
    }
    // Armed for the reference time's distance to the expiry (it may run through the TSC page, not the clock):
    // a timer that finds the expiry not reached yet arms again for what is left.
    this.host.clock.cancel(this.timer);
    const left = this.expTime > now ? Number(this.expTime - now) * 100 : 0;
    this.timer = this.host.clock.schedule(this.host.clock.nowNs() + left, () => this.fired());
  }

  private fired(): void {
    this.timer = null;
    this.update();
  }

  private expire(): void {
    this.expiries++;
    if ((this.config & DIRECT) !== 0n) {
      this.host.raise(Number((this.config >> 4n) & 0xffn));
      this.delivered(false);
      return;
    }
    this.msgPending = true;
    if (this.host.synic.post(this.sint, this, () => this.message(), () => this.delivered(true)) === "delivered") this.delivered(false);
  }

  private message(): HvMessage {
    const payload = new Uint8Array(24);
    const dv = new DataView(payload.buffer);
    dv.setUint32(0, this.index, true);
    dv.setBigUint64(8, this.expTime, true);
    dv.setBigUint64(16, this.host.referenceTime(), true);
    return { type: HVMSG_TIMER_EXPIRED, payload };
  }

  /** The expiry reached the guest; `late`: from an EOM, after waiting for the slot (then a periodic timer runs on now). */
  private delivered(late: boolean): void {
    this.msgPending = false;
    if (!this.periodic) this.config &= ~ENABLE;
    if (!late) return;
    if (this.enabled && this.count !== 0n) this.start(); else this.stop();
  }

  save(): State {
    return { config: this.config, count: this.count, expTime: this.expTime, msgPending: this.msgPending, timer: this.host.clock.saveTimer(this.timer) };
  }

  restore(state: State): void {
    this.stop();
    this.config = state.config as bigint; this.count = state.count as bigint; this.expTime = state.expTime as bigint;
    this.msgPending = state.msgPending as boolean;
    this.timer = this.host.clock.restoreTimer(state.timer as SavedTimer, () => this.fired());
    if (this.msgPending) this.host.synic.stage(this.sint, this, () => this.message(), () => this.delivered(true));
  }
}
