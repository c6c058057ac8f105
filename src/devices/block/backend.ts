/**
 * Disk images behind the emulated and paravirtual disks (virtio-blk, IDE):
 * a byte-addressed backend with synchronous reads, writes and flush, so a
 * device completes a request inside the exit that started it (deterministic,
 * and no request is ever half-done when the VM stops).
 *
 * Backends here are platform-neutral: {@link MemoryDisk} (a blank disk, or a
 * file the browser's picker read into memory) and {@link SnapshotOverlay}
 * (QEMU's `-snapshot`: writes go to a copy-on-write overlay in memory, the
 * image is never written). Node's raw image file is src/node/disk-file.ts.
 *
 * @module
 */
import { savePages, restorePages, type State } from "../../vmm/snapshot.js";

/** Bytes per sector, as both virtio-blk and ATA count. */
export const SECTOR = 512;

/**
 * The cylinders/heads/sectors a disk of `sectors` reports (ATA IDENTIFY words 1/3/6, virtio-blk's
 * geometry): 16 heads, 63 sectors a track and as many cylinders as fit, at least 2 and at most 16383 —
 * QEMU's guess for an image without a partition table (hw/block/hd-geometry.c), so a firmware sees the
 * same drive under both (SeaBIOS keeps the last cylinder back, so even a tiny disk has one to boot from).
 */
export function diskGeometry(sectors: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  return { cylinders: Math.max(2, Math.min(16383, Math.floor(sectors / (16 * 63)))), heads: 16, sectorsPerTrack: 63 };
}

/** The image cannot serve a request (it shrank, the host file failed): the VM must stop. */
export class DiskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiskError";
  }
}

export interface BlockBackend {
  /** For messages: the file name, or "memory". */
  readonly name: string;
  /** Size in bytes, fixed when the image was opened. */
  readonly size: number;
  /** Writes are refused (the device reports the disk read-only). */
  readonly readOnly: boolean;
  /** Fill `into` from byte `offset` (inside `size`). Throws {@link DiskError}. */
  read(offset: number, into: Uint8Array): void;
  /** Write `data` at byte `offset` (inside `size`). Throws {@link DiskError}. */
  write(offset: number, data: Uint8Array): void;
  /** Make written data durable. Throws {@link DiskError}. */
  flush(): void;
  /**
   * For a machine snapshot: what the disk holds that its image does not — all of a disk in memory, a ,snapshot
   * overlay's writes, nothing for an image the guest cannot write. Absent, or throwing a SnapshotError that says
   * why, when a snapshot cannot hold the disk (an image written in place: the snapshot would not match it later).
   */
  save?(): State;
  restore?(state: State): void;
}

/** What a disk's device did for the guest (the monitor's info blockstats: QEMU's operations and bytes by kind). */
export interface DiskStats {
  /** Read and write commands or requests that transferred data, and cache flushes. */
  reads: number;
  writes: number;
  flushes: number;
  readBytes: number;
  writtenBytes: number;
}

export function emptyDiskStats(): DiskStats { return { reads: 0, writes: 0, flushes: 0, readBytes: 0, writtenBytes: 0 }; }

/** A disk held in memory: a blank disk of some size, or an image's bytes. */
export class MemoryDisk implements BlockBackend {
  readonly size: number;

  constructor(readonly bytes: Uint8Array, readonly readOnly = false, readonly name = "memory") {
    this.size = bytes.length;
  }

  /** A zero-filled disk of `bytes` bytes. */
  static blank(bytes: number): MemoryDisk {
    return new MemoryDisk(new Uint8Array(bytes), false, `blank ${bytes / 1048576} MiB disk`);
  }

  read(offset: number, into: Uint8Array): void {
    into.set(this.bytes.subarray(offset, offset + into.length));
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new DiskError(`${this.name} is read-only`);
    this.bytes.set(data, offset);
  }

  flush(): void {}

  save(): State { return savePages(this.bytes); }
  restore(state: State): void { restorePages(this.bytes, state, `disk ${this.name}`); }
}

const CHUNK = 4096;

/** Split [offset, offset+length) at chunk boundaries: chunk number, offset in it, offset in the request, bytes. */
function eachChunk(offset: number, length: number, f: (chunk: number, within: number, at: number, n: number) => void): void {
  for (let o = 0; o < length;) {
    const pos = offset + o, c = Math.floor(pos / CHUNK), within = pos - c * CHUNK;
    const n = Math.min(CHUNK - within, length - o);
    f(c, within, o, n);
    o += n;
  }
}

/**
 * Copy-on-write over a backend that is only read: written 4 KiB chunks live
 * in memory and are dropped with the VM, as QEMU's `-snapshot` does.
 */
export class SnapshotOverlay implements BlockBackend {
  readonly readOnly = false;
  readonly size: number;
  readonly name: string;
  private readonly chunks = new Map<number, Uint8Array>();

  constructor(private readonly base: BlockBackend) {
    this.size = base.size;
    this.name = `${base.name} (snapshot)`;
  }

  /** Bytes held in the overlay. */
  get overlayBytes(): number {
    return this.chunks.size * CHUNK;
  }

  read(offset: number, into: Uint8Array): void {
    eachChunk(offset, into.length, (c, within, o, n) => {
      const chunk = this.chunks.get(c);
      if (chunk) into.set(chunk.subarray(within, within + n), o);
      else this.base.read(offset + o, into.subarray(o, o + n));
    });
  }

  write(offset: number, data: Uint8Array): void {
    eachChunk(offset, data.length, (c, within, o, n) => {
      let chunk = this.chunks.get(c);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK);
        const len = Math.min(CHUNK, this.size - c * CHUNK);
        if (n < len) this.base.read(c * CHUNK, chunk.subarray(0, len)); // a partial chunk keeps the rest of the image's bytes
        this.chunks.set(c, chunk);
      }
      chunk.set(data.subarray(o, o + n), within);
    });
  }

  flush(): void {}

  /** The chunks written so far (the image under them is only read: the same image restores the same disk). */
  save(): State {
    const chunks = [...this.chunks.keys()].sort((a, b) => a - b);
    const data = new Uint8Array(chunks.length * CHUNK);
    chunks.forEach((c, i) => data.set(this.chunks.get(c)!, i * CHUNK));
    const base = this.base.save?.();
    return { ...base ? { base } : {}, chunks: Uint32Array.from(chunks), data };
  }

  restore(state: State): void {
    if (state.base) this.base.restore?.(state.base as State);
    this.chunks.clear();
    const data = state.data as Uint8Array;
    (state.chunks as Uint32Array).forEach((c, i) => this.chunks.set(c, data.slice(i * CHUNK, (i + 1) * CHUNK)));
  }
}
