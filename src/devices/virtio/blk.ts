/**
 * virtio-blk (Virtual I/O Device (VIRTIO) Version 1.2, §5.2): one request
 * queue; each request is a 16-byte header (le32 type, le32 reserved, le64
 * sector) in device-readable memory, data, and a status byte as the last
 * device-writable byte. Requests complete synchronously on the backend
 * (block/backend.ts) inside the notify exit.
 *
 * Offered: SEG_MAX, GEOMETRY (the IDE disk's, as QEMU's; a BIOS reports it),
 * BLK_SIZE (512), FLUSH, and RO for read-only images.
 * IN/OUT beyond the capacity or not whole sectors get IOERR and nothing is
 * transferred; OUT to a read-only disk gets IOERR; unknown types UNSUPP. A
 * request without room for its header or status byte is a broken ring
 * (DEVICE_NEEDS_RESET, §5.2.6.1). When the image itself fails (it shrank
 * under the VM) the request gets IOERR and `onFatal` asks the VMM to stop.
 *
 * @module
 */
import type { AccessSize } from "../../vmm/bus.js";
import { type BlockBackend, type DiskStats, DiskError, SECTOR, diskGeometry, emptyDiskStats } from "../block/backend.js";
import { QueueDevice, type VirtioDevice, VIRTIO_ID_BLOCK, bit, readConfigBytes } from "./device.js";
import { type DescriptorChain, type Virtqueue, VirtqueueError } from "./virtqueue.js";

const F_SEG_MAX = 2, F_GEOMETRY = 4, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9;
export const VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1, VIRTIO_BLK_T_FLUSH = 4, VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2;
const QUEUE_SIZE = 256;
const ID_BYTES = 20;

export interface VirtioBlkOptions {
  /** The serial number GET_ID returns (at most 20 bytes; /sys/block/vdX/serial). */
  serial?: string;
  /** The image failed (e.g. shrank): stop the VM with this one line. */
  onFatal?(message: string): void;
}

/** Counters for the monitor, benchmarks and tests: every request taken, and those that did what they asked. */
export interface BlockStats extends DiskStats {
  requests: number;
}

export class VirtioBlk extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-blk";
  readonly deviceId = VIRTIO_ID_BLOCK;
  readonly pciClass = 0x010000; // mass storage, SCSI (as QEMU's virtio-blk-pci)
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE];
  readonly configSize = 0x24;
  readonly stats: BlockStats = { ...emptyDiskStats(), requests: 0 };
  private readonly config = new Uint8Array(0x24);

  constructor(readonly backend: BlockBackend, private readonly opts: VirtioBlkOptions = {}) {
    super();
    this.features = bit(F_SEG_MAX) | bit(F_GEOMETRY) | bit(F_BLK_SIZE) | bit(F_FLUSH) | (backend.readOnly ? bit(F_RO) : 0n);
    const dv = new DataView(this.config.buffer);
    const sectors = Math.floor(backend.size / SECTOR);
    dv.setUint32(0x00, sectors >>> 0, true);
    dv.setUint32(0x04, Math.floor(sectors / 0x100000000), true);
    dv.setUint32(0x0c, QUEUE_SIZE - 2, true); // seg_max: header and status take two descriptors
    const g = diskGeometry(sectors);
    dv.setUint16(0x10, g.cylinders, true);
    this.config[0x12] = g.heads;
    this.config[0x13] = g.sectorsPerTrack;
    dv.setUint32(0x14, SECTOR, true);
  }

  /** Capacity in sectors. */
  get sectors(): number {
    return Math.floor(this.backend.size / SECTOR);
  }

  readConfig(offset: number, size: AccessSize): number {
    return readConfigBytes(this.config, offset, size);
  }

  writeConfig(): void {
    // Only `writeback` (CONFIG_WCE) is writable, and it is not offered.
  }

  notify(): void {
    this.drain(0, (q, chain) => this.request(q, chain));
  }

  /** Serve one request; returns the bytes written into the chain (data + status). */
  private request(q: Virtqueue, chain: DescriptorChain): number {
    if (chain.readableBytes < 16) throw new VirtqueueError(q.index, `virtio-blk request ${chain.head} has no 16-byte header`);
    if (chain.writableBytes < 1) throw new VirtqueueError(q.index, `virtio-blk request ${chain.head} has no status byte`);
    const hdr = q.read(chain, 0, 16);
    const dv = new DataView(hdr.buffer);
    const type = dv.getUint32(0, true);
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 0x100000000;
    const dataIn = chain.writableBytes - 1; // bytes the device may write before the status
    this.stats.requests++;
    let status = VIRTIO_BLK_S_OK, written = 0;
    try {
      switch (type) {
        case VIRTIO_BLK_T_IN: {
          if (!this.inRange(sector, dataIn)) { status = VIRTIO_BLK_S_IOERR; break; }
          const data = new Uint8Array(dataIn);
          this.backend.read(sector * SECTOR, data);
          written = q.write(chain, 0, data);
          this.stats.reads++;
          this.stats.readBytes += dataIn;
          break;
        }
        case VIRTIO_BLK_T_OUT: {
          const len = chain.readableBytes - 16;
          if (this.backend.readOnly || !this.inRange(sector, len)) { status = VIRTIO_BLK_S_IOERR; break; }
          this.backend.write(sector * SECTOR, q.read(chain, 16, len));
          this.stats.writes++;
          this.stats.writtenBytes += len;
          break;
        }
        case VIRTIO_BLK_T_FLUSH:
          this.backend.flush();
          this.stats.flushes++;
          break;
        case VIRTIO_BLK_T_GET_ID: {
          const id = new Uint8Array(ID_BYTES);
          id.set(new TextEncoder().encode(this.opts.serial ?? "").subarray(0, ID_BYTES));
          written = q.write(chain, 0, id.subarray(0, Math.min(ID_BYTES, dataIn)));
          break;
        }
        default:
          status = VIRTIO_BLK_S_UNSUPP;
      }
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      status = VIRTIO_BLK_S_IOERR;
      written = 0;
      this.opts.onFatal?.(e.message);
    }
    q.write(chain, dataIn, Uint8Array.of(status));
    return written + 1;
  }

  /** Whether `bytes` from `sector` are whole sectors inside the disk. */
  private inRange(sector: number, bytes: number): boolean {
    return bytes % SECTOR === 0 && sector + bytes / SECTOR <= this.sectors;
  }
}
