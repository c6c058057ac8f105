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
    for (const t of this.taps) t(frame, "tx");
    this.backend?.(frame);
  }

  /** The NIC sends a large TCP packet (TSO): whole if the back end carries it so, else as the wire's segments. */
  transmitLarge(frame: Uint8Array, mss: number): void {
    if (this.taps.length === 0 && this.backendLarge) {
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
      this.backendLarge(frame, mss);
      return;
    }
    for (const f of wireSegments(frame, mss)) this.transmit(f);
  }

  /** The back end has a frame for the NIC: hand it over now, or queue it until the NIC is ready. */
  deliver(frame: Uint8Array): void { this.enqueue(frame, 0); }

  /** The back end has a large TCP packet for the NIC: whole if the NIC takes it so (now or when it is handed over), else as segments. */
  deliverLarge(frame: Uint8Array, mss: number): void {
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
    for (const t of this.taps) t(frame, "rx");
    if (mss > 0) nic.receiveLarge!(frame, mss);
    else nic.receive(frame);
    this.onDelivered?.();
  }
}
