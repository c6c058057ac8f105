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
 *
 * @module
 */

/** The receiving side of a NIC, as its link sees it. */
export interface NicReceiver {
  /** Whether a frame of `length` bytes would be accepted now (room in the receive ring, receiver on). */
  canReceive(length: number): boolean;
  /** Take one frame (only called when {@link canReceive} said yes). */
  receive(frame: Uint8Array): void;
}

export type FrameDirection = "tx" | "rx";
export type FrameTap = (frame: Uint8Array, direction: FrameDirection) => void;

/** Frames a link holds for a NIC that cannot receive. */
export const LINK_QUEUE_FRAMES = 512;

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
  private readonly queue: Uint8Array[] = [];
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

  /** The back end side: where transmitted frames go (null: nowhere, the cable is unplugged). */
  attachBackend(send: ((frame: Uint8Array) => void) | null): void { this.backend = send; }

  addTap(tap: FrameTap): void { this.taps.push(tap); }

  /** The NIC sends a frame. */
  transmit(frame: Uint8Array): void {
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
    for (const t of this.taps) t(frame, "tx");
    this.backend?.(frame);
  }

  /** The back end has a frame for the NIC: hand it over now, or queue it until the NIC is ready. */
  deliver(frame: Uint8Array): void {
    if (this.queue.length === 0 && this.nic?.canReceive(frame.length)) {
      this.handOver(frame);
      return;
    }
    if (this.queue.length >= LINK_QUEUE_FRAMES) {
      this.queue.shift();
      this.stats.rxDropped++;
    }
    this.queue.push(frame);
  }

  /** The NIC has room again (its driver freed receive buffers): hand over what is queued. */
  ready(): void {
    const nic = this.nic;
    if (!nic) return;
    while (this.queue.length > 0 && nic.canReceive(this.queue[0]!.length)) this.handOver(this.queue.shift()!);
  }

  /** Frames waiting for the NIC. */
  get queued(): number { return this.queue.length; }

  private handOver(frame: Uint8Array): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    for (const t of this.taps) t(frame, "rx");
    this.nic!.receive(frame);
    this.onDelivered?.();
  }
}
