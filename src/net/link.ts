/**
 * A NIC's cable: what sits between an emulated network card and a network
 * back end (the virtual switch, a TCP socket to another process, nothing).
 *
 * - The NIC calls {@link NicLink.transmit} with each frame it sends.
 * - The back end calls {@link NicLink.deliver} with each frame for the NIC.
 *   A NIC that cannot take a frame now (its receive ring is full) is not
 *   dropped on: the link queues the frame and hands it over when the NIC
 *   calls {@link NicLink.ready} — the flow control QEMU's net queue gives
 *   its NICs (`can_receive` / `qemu_flush_queued_packets`). Beyond
 *   {@link LINK_QUEUE_FRAMES} frames the oldest are dropped and counted, as
 *   a full switch port would.
 * - Taps (a pcap writer) see every frame in both directions.
 * - **A recorded history** (the GDB stub's reverse execution, src/debug/history.ts, through Pc.rewindable): what the
 *   back end delivers is logged — frames that come between the guest's runs as host input at their instruction
 *   count, replies the back end gives inside a transmit (the user network answers ARP and pings at once) by the
 *   number of that transmit. While history is replayed the link is muted: transmitted frames reach neither the back
 *   end nor the taps, and each transmit gets back the replies logged for it, at the same point of the exit.
 * - **Large TCP packets** (up to 64 KiB of IPv4/TCP with a segment size): a
 *   NIC that transmits with TSO and a back end that can carry them whole
 *   ({@link NicLink.transmitLarge}, the switch) pass them on whole, and a NIC
 *   whose driver took the receive offload takes them whole
 *   ({@link NicLink.deliverLarge}) — what a tap device's GSO packets give QEMU.
 *   Whoever cannot gets the segments the wire would carry (offload.ts's
 *   segmentTcpv4): taps always, a back end or NIC without the offload.
 *
 * @module
 */
import { segmentTcpv4 } from "./offload.js";

/** The receiving side of a NIC, as its link sees it. */
export interface NicReceiver {
  /** Whether a frame of `length` bytes would be accepted now (room in the receive ring, receiver on). */
  canReceive(length: number): boolean;
  /** Take one frame (only called when {@link canReceive} said yes). */
  receive(frame: Uint8Array): void;
  /** Whether the NIC takes IPv4/TCP packets larger than a frame now (its driver took the receive offload). */
  acceptsLargeTcp?(): boolean;
  /** Take one large IPv4/TCP packet, `mss` payload bytes a segment (only when canReceive(frame.length) and acceptsLargeTcp said yes). */
  receiveLarge?(frame: Uint8Array, mss: number): void;
}

/** Where a link's frames go: ordinary frames, and large TCP packets when the back end carries them whole. */
export type LargeSender = (frame: Uint8Array, mss: number) => void;

/** The frames a wire carries for a large TCP packet (none if it cannot be cut: not IPv4/TCP). */
export function wireSegments(frame: Uint8Array, mss: number): Uint8Array[] {
  const s = segmentTcpv4(frame, mss);
  return typeof s === "string" ? [] : s;
}

export type FrameDirection = "tx" | "rx";
export type FrameTap = (frame: Uint8Array, direction: FrameDirection) => void;

/** Frames a link holds for a NIC that cannot receive. */
export const LINK_QUEUE_FRAMES = 512;

/** Frames each way; a large TCP packet passed whole counts once. */
export interface LinkStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames dropped because the queue for the NIC was full. */
  rxDropped: number;
}

/** A frame (mss 0) or a large TCP packet (mss > 0). */
interface Delivery { frame: Uint8Array; mss: number }

/** What a history checkpoint holds of a link besides the machine snapshot (frames waiting, transmits so far, counts). */
export interface LinkCheckpoint { queue: Delivery[]; transmits: number; stats: LinkStats }

export class NicLink {
  private nic: NicReceiver | null = null;
  private backend: ((frame: Uint8Array) => void) | null = null;
  private backendLarge: LargeSender | null = null;
  /** Frames (mss 0) and large TCP packets waiting for the NIC. */
  private readonly queue: { frame: Uint8Array; mss: number }[] = [];
  private readonly taps: FrameTap[] = [];
  readonly stats: LinkStats = { txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0 };
  /** Called after a frame was handed to the NIC (the VM may want to wake a halted vCPU). */
  onDelivered: (() => void) | null = null;
  /** Transmits so far (frames and large packets): what a reply given inside one is logged by. */
  private transmits = 0;
  /** The transmit under way (its number), while the back end has it. */
  private inTransmit: number | null = null;
  /** Recording: told of each delivery between runs (to log as host input, with the means to give it again). */
  private recorder: ((redeliver: () => void) => void) | null = null;
  /** Replies the back end gave inside transmit n, while recording. */
  private readonly replies = new Map<number, Delivery[]>();
  /** The last transmit with logged replies (-1: none). */
  private lastReplied = -1;
  /** Replaying history: transmits go nowhere, their logged replies come back. */
  private muted = false;

  constructor(readonly name: string) {}

  /** The card side (one NIC per link). */
  attachNic(nic: NicReceiver): void {
    if (this.nic) throw new Error(`${this.name}: a NIC is already attached`);
    this.nic = nic;
  }

  /** The back end side: where transmitted frames go (null: nowhere, the cable is unplugged), and large TCP packets if it carries them whole. */
  attachBackend(send: ((frame: Uint8Array) => void) | null, sendLarge: LargeSender | null = null): void {
    this.backend = send;
    this.backendLarge = sendLarge;
  }

  addTap(tap: FrameTap): void { this.taps.push(tap); }

  /** The NIC sends a frame. */
  transmit(frame: Uint8Array): void {
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    this.toBackend(() => {
      for (const t of this.taps) t(frame, "tx");
      this.backend?.(frame);
    });
  }

  /** The NIC sends a large TCP packet (TSO): whole if the back end carries it so, else as the wire's segments. */
  transmitLarge(frame: Uint8Array, mss: number): void {
    if (this.taps.length === 0 && this.backendLarge) {
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
      const send = this.backendLarge;
      this.toBackend(() => send(frame, mss));
      return;
    }
    for (const f of wireSegments(frame, mss)) this.transmit(f);
  }

  /** One transmit: to the back end (what it replies meanwhile logged by the transmit's number when recording), or, muted, its logged replies. */
  private toBackend(send: () => void): void {
    const n = this.transmits++;
    if (this.muted) {
      for (const d of this.replies.get(n) ?? []) this.arrive(d.frame, d.mss);
      return;
    }
    if (this.recorder && this.lastReplied >= n) { // (replies of a branch's old future)
      for (const k of this.replies.keys()) if (k >= n) this.replies.delete(k);
      this.lastReplied = n - 1;
    }
    this.inTransmit = n;
    try { send(); } finally { this.inTransmit = null; }
  }

  /** The back end has a frame for the NIC: hand it over now, or queue it until the NIC is ready. */
  deliver(frame: Uint8Array): void { this.fromBackend(frame, 0); }

  /** The back end has a large TCP packet for the NIC (see {@link deliver}). */
  deliverLarge(frame: Uint8Array, mss: number): void { this.fromBackend(frame, mss); }

  /** A delivery, logged when recording: inside a transmit as its reply, else as host input at this instruction. */
  private fromBackend(frame: Uint8Array, mss: number): void {
    if (this.muted) return; // (the back end's own doing while history replays — none is expected: it is the past)
    if (this.recorder && this.inTransmit !== null) {
      const list = this.replies.get(this.inTransmit) ?? [];
      list.push({ frame, mss });
      this.replies.set(this.inTransmit, list);
      this.lastReplied = this.inTransmit;
    } else this.recorder?.(() => this.arrive(frame, mss));
    this.arrive(frame, mss);
  }

  /** Record what the back end delivers (`recorder` logs input between runs; null: stop) — see the module's notes. */
  record(recorder: ((redeliver: () => void) => void) | null): void {
    this.recorder = recorder;
    if (!recorder) { this.replies.clear(); this.lastReplied = -1; }
  }

  /** While history replays: transmits reach neither back end nor taps, and get their logged replies. */
  mute(on: boolean): void { this.muted = on; }

  /** What a history checkpoint keeps of the link (the machine snapshot drops its queue). */
  checkpoint(): LinkCheckpoint {
    return { queue: this.queue.map((d) => ({ ...d })), transmits: this.transmits, stats: { ...this.stats } };
  }

  /** Back to a checkpoint's link, after the machine's snapshot is back. */
  restoreCheckpoint(c: LinkCheckpoint): void {
    this.queue.splice(0, this.queue.length, ...c.queue.map((d) => ({ ...d })));
    this.transmits = c.transmits;
    Object.assign(this.stats, c.stats);
  }

  /** A frame or large packet from the back end on its way to the NIC. */
  private arrive(frame: Uint8Array, mss: number): void {
    if (mss === 0) { this.enqueue(frame, 0); return; }
    if (this.taps.length > 0 || !this.nic?.acceptsLargeTcp?.()) {
      for (const f of wireSegments(frame, mss)) this.enqueue(f, 0);
      return;
    }
    this.enqueue(frame, mss);
  }

  private enqueue(frame: Uint8Array, mss: number): void {
    if (this.queue.length === 0 && this.nic?.canReceive(frame.length)) {
      this.handOver(frame, mss);
      return;
    }
    if (this.queue.length >= LINK_QUEUE_FRAMES) {
      this.queue.shift();
      this.stats.rxDropped++;
    }
    this.queue.push({ frame, mss });
  }

  /** The NIC has room again (its driver freed receive buffers): hand over what is queued. */
  ready(): void {
    const nic = this.nic;
    if (!nic) return;
    while (this.queue.length > 0 && nic.canReceive(this.queue[0]!.frame.length)) {
      const { frame, mss } = this.queue.shift()!;
      this.handOver(frame, mss);
    }
  }

  /** Frames waiting for the NIC. */
  get queued(): number { return this.queue.length; }

  /**
   * The NIC was taken back to a snapshot's instant: what waited for it was sent to the machine as it was, and is
   * dropped (the wire loses it; the guest's protocols send again, as after a cable pulled and plugged back).
   */
  discardQueued(): void { this.queue.length = 0; }

  private handOver(frame: Uint8Array, mss: number): void {
    const nic = this.nic!;
    if (mss > 0 && !nic.acceptsLargeTcp?.()) { // the driver was reset since: the segments, queued in front
      this.queue.unshift(...wireSegments(frame, mss).map((f) => ({ frame: f, mss: 0 })));
      this.ready();
      return;
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    if (!this.muted) for (const t of this.taps) t(frame, "rx");
    if (mss > 0) nic.receiveLarge!(frame, mss);
    else nic.receive(frame);
    this.onDelivered?.();
  }
}
