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
 * Receive: no offloads, so the header the device writes is zeros but
 * num_buffers = 1 (one buffer per frame). Linux then posts receive buffers of
 * 1518 bytes + header ("small buffers" in drivers/net/virtio_net.c), enough for
 * any untagged frame: mergeable buffers would only matter for frames larger
 * than one buffer.
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
import { macBytes, type Mac } from "../../net/ethernet.js";
import type { NicLink } from "../../net/link.js";
import { completeChecksum, segmentTcpv4 } from "../../net/offload.js";

const RECEIVEQ = 0, TRANSMITQ = 1;
/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_STATUS = 16;
/** struct virtio_net_hdr (§5.1.6): flags, gso_type, le16 hdr_len, gso_size, csum_start, csum_offset. */
const HDR_FLAGS = 0, HDR_GSO_TYPE = 1, HDR_GSO_SIZE = 4, HDR_CSUM_START = 6, HDR_CSUM_OFFSET = 8;
const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_NONE = 0, VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** Configuration space: mac[6], le16 status (§5.1.4). */
const CONFIG_BYTES = 8, CONFIG_STATUS = 6;
const VIRTIO_NET_S_LINK_UP = 1;
/** Header bytes: struct virtio_net_hdr with num_buffers (VERSION_1), without it (legacy). */
const HEADER_V1 = 12, HEADER_LEGACY = 10, NUM_BUFFERS = 10;

export interface VirtioNetStats {
  /** Frames onto the wire (a segmented packet counts each segment). */
  txFrames: number;
  /** Packets the driver handed over for segmentation (gso_type TCPV4), and checksums completed (NEEDS_CSUM without GSO). */
  txSegmented: number;
  txChecksummed: number;
  /** Packets dropped: a GSO type not offered, or headers the segmenter could not read. */
  txDropped: number;
  rxFrames: number;
  rxTruncated: number;
}

export class VirtioNet extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-net";
  readonly deviceId = VIRTIO_ID_NET;
  readonly pciClass = 0x020000; // Ethernet controller
  readonly features: bigint;
  readonly queueSizes = [256, 256];
  readonly configSize = CONFIG_BYTES;
  readonly stats: VirtioNetStats = { txFrames: 0, txSegmented: 0, txChecksummed: 0, txDropped: 0, rxFrames: 0, rxTruncated: 0 };
  private readonly config = new Uint8Array(CONFIG_BYTES);

  constructor(readonly mac: Mac, private readonly link: NicLink, opts: { offloads?: boolean } = {}) {
    super();
    const offloads = opts.offloads ?? true;
    this.features = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | (offloads ? bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4) : 0n);
    this.config.set(macBytes(mac), 0);
    this.config[CONFIG_STATUS] = VIRTIO_NET_S_LINK_UP;
    link.attachNic({ canReceive: () => this.canReceive(), receive: (f) => this.receive(f) });
  }

  readConfig(offset: number, size: AccessSize): number { return readConfigBytes(this.config, offset, size); }
  writeConfig(): void {} // the address is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR

  private get headerBytes(): number {
    return (this.ctx!.features & bit(VIRTIO_F_VERSION_1)) !== 0n ? HEADER_V1 : HEADER_LEGACY;
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
      if (frame.length > 0) for (const f of this.offload(header, frame)) { this.stats.txFrames++; this.link.transmit(f); }
      return 0;
    });
  }

  /** The frames a packet leaves as, after what its header asks of the device (none: a drop). */
  private offload(header: Uint8Array, frame: Uint8Array): Uint8Array[] {
    const h = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const gso = header[HDR_GSO_TYPE]!;
    if (gso === VIRTIO_NET_HDR_GSO_TCPV4) {
      const segments = segmentTcpv4(frame, h.getUint16(HDR_GSO_SIZE, true));
      if (typeof segments === "string") { this.stats.txDropped++; return []; }
      this.stats.txSegmented++;
      return segments;
    }
    if (gso !== VIRTIO_NET_HDR_GSO_NONE) { this.stats.txDropped++; return []; } // not offered
    if ((header[HDR_FLAGS]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && completeChecksum(frame, h.getUint16(HDR_CSUM_START, true), h.getUint16(HDR_CSUM_OFFSET, true))) {
      this.stats.txChecksummed++;
    }
    return [frame];
  }

  private canReceive(): boolean {
    return this.ctx !== null && (this.queues[RECEIVEQ]?.hasAvailable() ?? false);
  }

  /** One frame into one receive buffer (the link asked {@link canReceive} first). */
  private receive(frame: Uint8Array): void {
    const hdr = this.headerBytes;
    let taken = false;
    this.drain(RECEIVEQ, (q, chain) => {
      taken = true;
      const header = new Uint8Array(hdr);
      if (hdr === HEADER_V1) header[NUM_BUFFERS] = 1;
      const room = Math.max(0, chain.writableBytes - hdr);
      if (room < frame.length) this.stats.rxTruncated++;
      this.stats.rxFrames++;
      return q.write(chain, 0, header) + q.write(chain, hdr, frame.subarray(0, room));
    }, () => !taken);
  }
}
