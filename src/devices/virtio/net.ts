/**
 * virtio-net (Virtual I/O Device (VIRTIO) Version 1.2, §5.1): one receive
 * and one transmit queue, the station address and link status in the
 * configuration space (VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS), cabled to a
 * network back end through a {@link NicLink} (the switch, a socket, nothing).
 *
 * Every buffer starts with the virtio-net header (§5.1.6): 12 bytes when the
 * driver accepted VIRTIO_F_VERSION_1 (num_buffers is always there), 10 for a
 * legacy driver without VIRTIO_NET_F_MRG_RXBUF.
 *
 * Transmit offloads (§5.1.6.2), as a NIC's hardware does them
 * (src/net/offload.ts): VIRTIO_NET_F_CSUM — a frame whose header has
 * NEEDS_CSUM gets its transport checksum completed from csum_start — and
 * VIRTIO_NET_F_HOST_TSO4 — a frame with gso_type TCPV4 (up to 64 KiB) leaves
 * as segments of gso_size payload bytes, every header and checksum fixed — so
 * the wire (the switch, a socket, a capture) carries ordinary frames. Linux
 * takes both: its TCP then hands the card 64 KiB at a time. A GSO type not
 * offered (UDP, TCPv6, ECN) or a frame the segmenter refuses is dropped and
 * counted, as §5.1.6.2 lets a device. `offloads: false` offers neither.
 *
 * Receive offloads: VIRTIO_NET_F_GUEST_CSUM, GUEST_TSO4 and MRG_RXBUF. A
 * large TCP packet from the link (another VM's TSO packet passed through the
 * switch whole, the user network's TCP — link.ts) reaches the driver whole:
 * gso_type TCPV4 with the segment size, NEEDS_CSUM with the checksum left
 * partial (offload.ts's largeTcpForGuest), spread over as many mergeable
 * buffers as it takes (num_buffers) — so Linux's stack handles one 64 KiB
 * packet where it would handle 45 frames, as under QEMU with a tap's GSO
 * packets. Ordinary frames get a zero header (the driver checks their
 * checksums). A driver that takes no receive offload gets frames only (the
 * link cuts large packets into them) in one buffer each: Linux's "small
 * buffers" of 1518 bytes + header are enough for any untagged frame.
 *
 * Flow control: a frame for the guest waits in the link while the driver
 * has no receive buffer posted, and the link is told when it posts some —
 * the counterpart of QEMU's `virtio_net_can_receive`. A buffer too small for
 * a frame gets the frame cut to fit (counted in {@link VirtioNet.stats}).
 *
 * @module
 */
import { QueueDevice, type VirtioDevice, VIRTIO_ID_NET, VIRTIO_F_VERSION_1, bit, readConfigBytes } from "./device.js";
import type { AccessSize } from "../../vmm/bus.js";
import { ETH_HEADER, macBytes, type Mac } from "../../net/ethernet.js";
import type { NicLink } from "../../net/link.js";
import { completeChecksum, largeTcpForGuest, tcpv4Headers } from "../../net/offload.js";
import { restoreFields, type State } from "../../vmm/snapshot.js";

const RECEIVEQ = 0, TRANSMITQ = 1;
/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
/** struct virtio_net_hdr (§5.1.6): flags, gso_type, le16 hdr_len, gso_size, csum_start, csum_offset. */
const HDR_FLAGS = 0, HDR_GSO_TYPE = 1, HDR_HDR_LEN = 2, HDR_GSO_SIZE = 4, HDR_CSUM_START = 6, HDR_CSUM_OFFSET = 8;
const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** Configuration space: mac[6], le16 status (§5.1.4). */
const CONFIG_BYTES = 8, CONFIG_STATUS = 6;
const VIRTIO_NET_S_LINK_UP = 1;
/** Header bytes: struct virtio_net_hdr with num_buffers (VERSION_1 or MRG_RXBUF), without it (legacy). */
const HEADER_V1 = 12, HEADER_LEGACY = 10, NUM_BUFFERS = 10;

export interface VirtioNetStats {
  /** Frames onto the wire (a segmented packet counts each segment). */
  txFrames: number;
  /** Packets the driver handed over with gso_type TCPV4 (cut into segments here or passed on whole), and checksums completed (NEEDS_CSUM without GSO). */
  txSegmented: number;
  txChecksummed: number;
  /** Packets dropped: a GSO type not offered, or headers the segmenter could not read. */
  txDropped: number;
  rxFrames: number;
  /** Large TCP packets handed to the driver whole (counted in rxFrames too), and the buffers they took. */
  rxLarge: number;
  rxLargeBuffers: number;
  rxTruncated: number;
}

export class VirtioNet extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-net";
  readonly deviceId = VIRTIO_ID_NET;
  readonly pciClass = 0x020000; // Ethernet controller
  readonly features: bigint;
  readonly queueSizes = [256, 256];
  readonly configSize = CONFIG_BYTES;
  readonly stats: VirtioNetStats = { txFrames: 0, txSegmented: 0, txChecksummed: 0, txDropped: 0, rxFrames: 0, rxLarge: 0, rxLargeBuffers: 0, rxTruncated: 0 };
  private readonly config = new Uint8Array(CONFIG_BYTES);

  constructor(readonly mac: Mac, readonly link: NicLink, opts: { offloads?: boolean } = {}) {
    super();
    const offloads = opts.offloads ?? true;
    this.features = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | (offloads
      ? bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_MRG_RXBUF)
      : 0n);
    this.config.set(macBytes(mac), 0);
    this.config[CONFIG_STATUS] = VIRTIO_NET_S_LINK_UP;
    link.attachNic({
      canReceive: (length) => this.canReceive(length),
      receive: (f) => this.receive(f, null),
      acceptsLargeTcp: () => this.negotiated(VIRTIO_NET_F_GUEST_TSO4) && this.negotiated(VIRTIO_NET_F_GUEST_CSUM),
      receiveLarge: (f, mss) => this.receiveLarge(f, mss),
    });
  }

  /** The device's own part of a snapshot (the transport saves the queues and the features the driver took). */
  save(): State { return { config: this.config.slice(), stats: { ...this.stats } }; }

  /** Take back save()'s state; frames that waited for the device as it was are dropped. */
  restore(state: State): void {
    restoreFields(this, state);
    this.link.discardQueued();
  }

  readConfig(offset: number, size: AccessSize): number { return readConfigBytes(this.config, offset, size); }
  writeConfig(): void {} // the address is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR

  private negotiated(feature: number): boolean { return this.ctx !== null && (this.ctx.features & bit(feature)) !== 0n; }

  private get headerBytes(): number {
    return this.negotiated(VIRTIO_F_VERSION_1) || this.negotiated(VIRTIO_NET_F_MRG_RXBUF) ? HEADER_V1 : HEADER_LEGACY;
  }

  /** DRIVER_OK: frames that waited for the driver may come in now. */
  protected override activated(): void { this.link.ready(); }

  notify(index: number): void {
    if (index === TRANSMITQ) this.transmit();
    else if (index === RECEIVEQ) this.link.ready(); // new receive buffers
  }

  private transmit(): void {
    const hdr = this.headerBytes;
    this.drain(TRANSMITQ, (q, chain) => {
      const header = q.read(chain, 0, hdr);
      const frame = q.read(chain, hdr);
      if (frame.length > 0) this.send(header, frame);
      return 0;
    });
  }

  /** A packet onto the link as its header asks: a TSO packet whole (the link cuts it if its back end must), a checksum completed. */
  private send(header: Uint8Array, frame: Uint8Array): void {
    const h = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const gso = header[HDR_GSO_TYPE]!;
    if (gso === VIRTIO_NET_HDR_GSO_TCPV4) {
      const mss = h.getUint16(HDR_GSO_SIZE, true), headers = tcpv4Headers(frame);
      if (typeof headers === "string" || mss === 0) { this.stats.txDropped++; return; }
      this.stats.txSegmented++;
      this.stats.txFrames += Math.max(1, Math.ceil((frame.length - ETH_HEADER - headers.ipLen - headers.tcpLen) / mss));
      this.link.transmitLarge(frame, mss);
      return;
    }
    if (gso !== VIRTIO_NET_HDR_GSO_NONE) { this.stats.txDropped++; return; } // not offered
    if ((header[HDR_FLAGS]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && completeChecksum(frame, h.getUint16(HDR_CSUM_START, true), h.getUint16(HDR_CSUM_OFFSET, true))) {
      this.stats.txChecksummed++;
    }
    this.stats.txFrames++;
    this.link.transmit(frame);
  }

  /** Room for a frame of `length` bytes: one buffer (a frame too long for it is cut), or enough mergeable buffers. */
  private canReceive(length: number): boolean {
    const q = this.queues[RECEIVEQ];
    if (this.ctx === null || !q?.hasAvailable()) return false;
    if (!this.negotiated(VIRTIO_NET_F_MRG_RXBUF)) return true;
    try {
      return q.peekWritable(HEADER_V1 + length).bytes >= HEADER_V1 + length;
    } catch (e) {
      this.ctx.fail(e);
      return false;
    }
  }

  /** A large TCP packet whole: GSO_TCPV4 with its segment size, the checksum partial. */
  private receiveLarge(frame: Uint8Array, mss: number): void {
    const p = largeTcpForGuest(frame);
    if (!p) { this.stats.rxTruncated++; return; } // the link only hands over IPv4/TCP; a broken packet is dropped
    this.stats.rxLarge++;
    this.receive(p.frame, { headerLength: p.headerLength, mss, checksumStart: p.checksumStart, checksumOffset: p.checksumOffset });
  }

  /**
   * One frame (or a large packet, `gso` saying how it was cut) into the receive queue: into one buffer, or with
   * mergeable buffers into as many as it takes, num_buffers in the first one's header (the link asked
   * {@link canReceive} first).
   */
  private receive(frame: Uint8Array, gso: { headerLength: number; mss: number; checksumStart: number; checksumOffset: number } | null): void {
    const hdr = this.headerBytes, mergeable = this.negotiated(VIRTIO_NET_F_MRG_RXBUF);
    const header = new Uint8Array(hdr);
    const h = new DataView(header.buffer);
    if (gso) {
      header[HDR_FLAGS] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      header[HDR_GSO_TYPE] = VIRTIO_NET_HDR_GSO_TCPV4;
      h.setUint16(HDR_HDR_LEN, gso.headerLength, true);
      h.setUint16(HDR_GSO_SIZE, gso.mss, true);
      h.setUint16(HDR_CSUM_START, gso.checksumStart, true);
      h.setUint16(HDR_CSUM_OFFSET, gso.checksumOffset, true);
    }
    let buffers = 1;
    if (mergeable) {
      try { buffers = this.queues[RECEIVEQ]!.peekWritable(hdr + frame.length).chains; } catch (e) { this.ctx!.fail(e); return; }
    }
    if (hdr === HEADER_V1) h.setUint16(NUM_BUFFERS, Math.max(1, buffers), true);
    let taken = 0, offset = 0;
    this.drain(RECEIVEQ, (q, chain) => {
      let n = 0;
      if (taken++ === 0) n = q.write(chain, 0, header);
      const room = Math.max(0, chain.writableBytes - n);
      const part = frame.subarray(offset, offset + room);
      offset += part.length;
      return n + q.write(chain, n, part);
    }, () => taken === 0 || (mergeable && offset < frame.length && taken < buffers));
    if (taken === 0) return;
    this.stats.rxFrames++;
    if (gso) this.stats.rxLargeBuffers += taken;
    if (offset < frame.length) this.stats.rxTruncated++;
  }
}
