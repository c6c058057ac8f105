/**
 * virtio-net (Virtual I/O Device (VIRTIO) Version 1.2, §5.1): one receive
 * and one transmit queue, the station address and link status in the
 * configuration space (VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS), cabled to a
 * network back end through a {@link NicLink} (the switch, a socket, nothing).
 *
 * Every buffer starts with the virtio-net header (§5.1.6): 12 bytes when the
 * driver accepted VIRTIO_F_VERSION_1 (num_buffers is always there), 10 for a
 * legacy driver without VIRTIO_NET_F_MRG_RXBUF. No offloads are offered, so
 * the header the driver writes asks for nothing and the one the device
 * writes is zeros but num_buffers = 1 (one buffer per frame). Linux then
 * posts receive buffers of 1518 bytes + header ("small buffers" in
 * drivers/net/virtio_net.c), enough for any untagged frame: mergeable
 * buffers would only matter for frames larger than one buffer.
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

const RECEIVEQ = 0, TRANSMITQ = 1;
/** Feature bits (§5.1.3). */
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_STATUS = 16;
/** Configuration space: mac[6], le16 status (§5.1.4). */
const CONFIG_BYTES = 8, CONFIG_STATUS = 6;
const VIRTIO_NET_S_LINK_UP = 1;
/** Header bytes: struct virtio_net_hdr with num_buffers (VERSION_1), without it (legacy). */
const HEADER_V1 = 12, HEADER_LEGACY = 10, NUM_BUFFERS = 10;

export interface VirtioNetStats { txFrames: number; rxFrames: number; rxTruncated: number }

export class VirtioNet extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-net";
  readonly deviceId = VIRTIO_ID_NET;
  readonly pciClass = 0x020000; // Ethernet controller
  readonly features = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS);
  readonly queueSizes = [256, 256];
  readonly configSize = CONFIG_BYTES;
  readonly stats: VirtioNetStats = { txFrames: 0, rxFrames: 0, rxTruncated: 0 };
  private readonly config = new Uint8Array(CONFIG_BYTES);

  constructor(readonly mac: Mac, private readonly link: NicLink) {
    super();
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
      const frame = q.read(chain, hdr);
      if (frame.length > 0) {
        this.stats.txFrames++;
        this.link.transmit(frame);
      }
      return 0;
    });
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
