/**
 * A raw disk image file as a {@link BlockBackend} (Node only): positioned
 * synchronous reads and writes, fsync for flush. Opening checks that the
 * file exists, is a regular file, is at least one sector and can be opened
 * for writing (unless read-only); before every access the file's size is
 * checked again, so an image truncated under a running VM stops it with
 * one line instead of serving zeros or growing the file back.
 *
 * @module
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { type BlockBackend, DiskError, SECTOR, SnapshotOverlay } from "../devices/block/backend.js";
import { SnapshotError, type State } from "../vmm/snapshot.js";

export class DiskFile implements BlockBackend {
  readonly size: number;
  private fd: number;

  private constructor(readonly name: string, fd: number, size: number, readonly readOnly: boolean) {
    this.fd = fd;
    this.size = size;
  }

  /** A snapshot holds nothing of an image the guest only reads; one the guest writes in place it cannot hold. */
  save(): State {
    if (!this.readOnly) throw new SnapshotError(`savevm: the disk image ${this.name} is written in place, and a snapshot holds the machine, not its disks: use --disk ${this.name},snapshot (its writes are kept and saved with the machine) or ,ro`);
    return {};
  }
  restore(): void {}

  /** Open `path`; throws {@link DiskError} with a one-line reason. */
  static open(path: string, opts: { readOnly?: boolean } = {}): DiskFile {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      throw new DiskError(`cannot open disk image ${path}: ${why(e)}`);
    }
    if (!st.isFile()) throw new DiskError(`disk image ${path} is not a regular file`);
    if (st.size < SECTOR) throw new DiskError(`disk image ${path} is ${st.size} bytes, less than one ${SECTOR}-byte sector`);
    let fd: number;
    try {
      fd = openSync(path, opts.readOnly ? "r" : "r+");
    } catch (e) {
      throw new DiskError(`cannot open disk image ${path}${opts.readOnly ? "" : " for writing"}: ${why(e)}${opts.readOnly ? "" : " (use ,ro or ,snapshot)"}`);
    }
    return new DiskFile(path, fd, st.size, opts.readOnly ?? false);
  }

  private checkSize(): void {
    const now = fstatSync(this.fd).size;
    if (now < this.size) throw new DiskError(`disk image ${this.name} shrank from ${this.size} to ${now} bytes while the VM was running`);
  }

  read(offset: number, into: Uint8Array): void {
    this.checkSize();
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) throw new DiskError(`disk image ${this.name} ended at ${offset + done} bytes while reading`);
      done += n;
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new DiskError(`disk image ${this.name} is read-only`);
    this.checkSize();
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, offset + done);
  }

  flush(): void {
    if (!this.readOnly) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Open a disk image as `--disk FILE[,snapshot|,ro]` asks: writable, read-only, or read-only under a copy-on-write overlay. */
export function openDiskImage(path: string, mode: "rw" | "ro" | "snapshot"): BlockBackend {
  if (mode === "snapshot") return new SnapshotOverlay(DiskFile.open(path, { readOnly: true }));
  return DiskFile.open(path, { readOnly: mode === "ro" });
}

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "ENOENT": return "no such file";
    case "EACCES": case "EPERM": return "permission denied";
    case "EISDIR": return "is a directory";
    case "EROFS": return "read-only file system";
    default: return err.message;
  }
}
