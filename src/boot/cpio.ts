/**
 * cpio "newc" (SVR4, no CRC) archives — the format of a Linux initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Each entry is a 110-byte ASCII header: the magic "070701" then thirteen
 * 8-digit hexadecimal fields (ino, mode, uid, gid, nlink, mtime, filesize,
 * devmajor, devminor, rdevmajor, rdevminor, namesize, check), then the
 * NUL-terminated name (namesize counts the NUL), padded with NULs to a
 * multiple of 4 bytes from the start of the header, then the file data,
 * padded to a multiple of 4. A symlink's data is its target. The archive
 * ends with an entry named "TRAILER!!!".
 *
 * @module
 */

/** File type bits of st_mode. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** The newc magic. */
export const NEWC_MAGIC = "070701";
/** Name of the last entry. */
export const CPIO_TRAILER = "TRAILER!!!";
const HEADER_SIZE = 110;

/** One archive member. `mode` is the full st_mode: type bits | permissions. */
export interface CpioEntry {
  /** Path inside the archive, without a leading "/" (e.g. "bin/sh"). */
  name: string;
  mode: number;
  uid?: number;
  gid?: number;
  /** Default 2 for directories, 1 otherwise. */
  nlink?: number;
  /** Seconds since the epoch; default 0 (reproducible archives). */
  mtime?: number;
  /** File contents, or a symlink's target; empty for other types. */
  data?: Uint8Array;
  /** Device numbers of a character or block device node. */
  rdevMajor?: number;
  rdevMinor?: number;
}

const utf8 = new TextEncoder();

function hex8(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio: ${what} ${n} does not fit a newc header field`);
  return n.toString(16).toUpperCase().padStart(8, "0");
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Serialize `entries` (in order) as a newc archive ending with the trailer.
 * Inode numbers are assigned 1, 2, … in order.
 */
export function writeNewc(entries: readonly CpioEntry[]): Uint8Array {
  const parts: { header: Uint8Array; name: Uint8Array; data: Uint8Array }[] = [];
  let total = 0;
  const add = (e: CpioEntry, ino: number) => {
    const name = utf8.encode(e.name + "\0");
    const data = e.data ?? new Uint8Array(0);
    const isDir = (e.mode & S_IFMT) === S_IFDIR;
    const fields = [
      ino, e.mode, e.uid ?? 0, e.gid ?? 0, e.nlink ?? (isDir ? 2 : 1), e.mtime ?? 0, data.length,
      0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0,
    ];
    const names = ["ino", "mode", "uid", "gid", "nlink", "mtime", "filesize", "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check"];
    const header = utf8.encode(NEWC_MAGIC + fields.map((f, i) => hex8(f, names[i]!)).join(""));
    parts.push({ header, name, data });
    total += pad4(HEADER_SIZE + name.length) + pad4(data.length);
  };
  entries.forEach((e, i) => add(e, i + 1));
  add({ name: CPIO_TRAILER, mode: 0, nlink: 1 }, 0);

  const out = new Uint8Array(total); // zero-filled: the padding is NULs
  let o = 0;
  for (const p of parts) {
    out.set(p.header, o);
    out.set(p.name, o + HEADER_SIZE);
    o += pad4(HEADER_SIZE + p.name.length);
    out.set(p.data, o);
    o += pad4(p.data.length);
  }
  return out;
}
