/**
 * Guest-physical memory as the VMM owns it: the host frame pool, the
 * guest-physical map (p2m) from guest pages to host frames, and reads and
 * writes by guest-physical address (GPA) for devices, loaders and the VMM.
 *
 * Host frames live in the core's memory. "Host-physical" addresses (hpa) are
 * offsets into the pool: guest RAM is its first `ramBytes` (identity-mapped
 * at GPA 0 by default), the rest are frames the VMM allocates for itself —
 * shadow and nested page tables, SymSpy pages, swap caches. The map itself
 * is a table in core memory (one entry per 4 KiB guest page: host frame and
 * permissions, see {@link P2mBits}) that the core's page walker consults at
 * every TLB fill; this class edits it in place and tells the core which
 * cached translations to drop. Every device that moves data (DMA,
 * descriptor rings, loaders) goes through here, never through raw offsets,
 * so a guest can make no device reach core metadata or another VM's frames.
 *
 * @module
 */
import type { Engine } from "../engine/engine.js";
import { P2mBits } from "../engine/core.js";

/** A guest-physical access that the memory map does not back with RAM. */
export class GuestMemoryError extends RangeError {
  constructor(readonly gpa: number, readonly length: number, why: string) {
    super(`guest-physical range 0x${(gpa >>> 0).toString(16)}+0x${length.toString(16)} ${why}`);
    this.name = "GuestMemoryError";
  }
}

/** Permissions of a mapping: any of "r", "w", "x" (read is implied by write; execute without read is an execute-only page, as EPT allows). */
export type Perms = { read?: boolean; write?: boolean; exec?: boolean };

/** What the map says about one guest page. */
export type MapEntry =
  | { kind: "mapped"; frame: number; read: boolean; write: boolean; exec: boolean; writesExit: boolean }
  /** The VMM withdrew it: every access is an EPT-violation exit. */
  | { kind: "trap" }
  /** Nothing there: the MMIO bus answers (all ones unless a device claims it). */
  | { kind: "unassigned" };

/** Called after map entries changed, with the first GPA and the page count (paging strategies drop what they derived). */
export type MapListener = (gpa: number, pages: number) => void;

const PAGE = 4096;

export class GuestMemory {
  private view: DataView;
  readonly hostBytes: number;
  /** Free host frames (host-physical addresses), the VMM's part of the pool. */
  private readonly freeFrames: number[] = [];
  private readonly listeners: MapListener[] = [];

  constructor(private readonly engine: Engine, readonly ramBytes: number) {
    this.view = new DataView(engine.buffer);
    this.hostBytes = engine.hostBytes;
    for (let f = this.hostBytes - PAGE; f >= ramBytes; f -= PAGE) this.freeFrames.push(f);
  }

  private get core() { return this.engine.core; }

  /** The DataView over the core's memory (re-made when the Wasm memory grew, which detaches the old buffer). */
  private dv(): DataView {
    if (this.view.byteLength === 0) this.view = new DataView(this.engine.buffer);
    return this.view;
  }

  // ---- the map ------------------------------------------------------------------------

  private entryAddr(gpa: number): number { return this.core.p2mBase() + (gpa >>> 12) * 4; }
  private rawEntry(gpa: number): number { return this.dv().getUint32(this.entryAddr(gpa), true); }

  /** What guest page `gpa` maps to. */
  lookup(gpa: number): MapEntry {
    const e = this.rawEntry(gpa);
    if (e & P2mBits.valid) {
      return {
        kind: "mapped", frame: e & ~0xfff & 0xffffffff, read: (e & P2mBits.read) !== 0, write: (e & P2mBits.write) !== 0,
        exec: (e & P2mBits.exec) !== 0, writesExit: (e & P2mBits.writeMmio) !== 0,
      };
    }
    return e & P2mBits.trap ? { kind: "trap" } : { kind: "unassigned" };
  }

  /** The raw map entry (host frame | P2mBits), as the core reads it. */
  entry(gpa: number): number { return this.rawEntry(gpa) >>> 0; }

  /**
   * Map `pages` guest pages from `gpa` onto host frames from `frame`
   * (host-physical, both 4 KiB aligned), with permissions (default rwx).
   * `writesExit`: writes the permissions forbid leave as MMIO-write exits
   * (the guest never sees them) instead of EPT violations.
   */
  map(gpa: number, frame: number, perms: Perms = { read: true, write: true, exec: true }, pages = 1, writesExit = false): void {
    this.checkGpa(gpa, pages);
    if (!Number.isInteger(frame) || frame % PAGE !== 0 || frame < 0 || frame + pages * PAGE > this.hostBytes) {
      throw new GuestMemoryError(frame, pages * PAGE, `is not a range of host frames (the pool has ${this.hostBytes / 1048576} MiB)`);
    }
    const bits = permBits(perms) | P2mBits.valid | (writesExit ? P2mBits.writeMmio : 0);
    for (let i = 0; i < pages; i++) this.setEntry(gpa + i * PAGE, (frame + i * PAGE) | bits);
    this.changed(gpa, pages);
  }

  /** Withdraw guest pages: every access becomes an EPT-violation exit until they are mapped again. */
  unmap(gpa: number, pages = 1): void {
    this.checkGpa(gpa, pages);
    for (let i = 0; i < pages; i++) this.setEntry(gpa + i * PAGE, P2mBits.trap);
    this.changed(gpa, pages);
  }

  /** Make guest pages unassigned: the MMIO bus answers them. */
  unassign(gpa: number, pages = 1): void {
    this.checkGpa(gpa, pages);
    for (let i = 0; i < pages; i++) this.setEntry(gpa + i * PAGE, 0);
    this.changed(gpa, pages);
  }

  /** Change the permissions of mapped guest pages (see {@link map} for `writesExit`). */
  protect(gpa: number, perms: Perms, pages = 1, writesExit = false): void {
    this.checkGpa(gpa, pages);
    for (let i = 0; i < pages; i++) {
      const a = gpa + i * PAGE, e = this.rawEntry(a);
      if (!(e & P2mBits.valid)) throw new GuestMemoryError(a, PAGE, "is not mapped");
      this.setEntry(a, (e & ~0xfff) | permBits(perms) | P2mBits.valid | (writesExit ? P2mBits.writeMmio : 0));
    }
    this.changed(gpa, pages);
  }

  /** Be told of map changes (paging strategies keep derived tables coherent). */
  onChange(listener: MapListener): () => void {
    this.listeners.push(listener);
    return () => { const i = this.listeners.indexOf(listener); if (i >= 0) this.listeners.splice(i, 1); };
  }

  /** Set while a change replaced an unassigned page, whose MMIO translations the TLB keeps by guest address. */
  private flushAll = false;

  /** The core's reset clears only the table pages marked written (core.p2mWrittenBase). */
  private markWritten(gpa: number): void {
    const tablePage = gpa >>> 22, at = this.core.p2mWrittenBase() + (tablePage >>> 3);
    this.dv().setUint8(at, this.dv().getUint8(at) | (1 << (tablePage & 7)));
  }

  /**
   * The map entry as an access by GPA sees it: pages the chipset decodes to a
   * device's MMIO range, the VGA window or the ROM are not memory, whatever
   * the map holds behind them (0 = not RAM).
   */
  private decoded(gpa: number): number {
    return this.core.physKindOf(gpa) === 0 ? this.rawEntry(gpa) : 0;
  }

  private setEntry(gpa: number, e: number): void {
    const old = this.rawEntry(gpa);
    this.dv().setUint32(this.entryAddr(gpa), e >>> 0, true);
    this.markWritten(gpa);
    // Translations that reached the old frame are stale.
    if (old & P2mBits.valid) this.core.mapChanged(gpa, old & ~0xfff);
    else if (old === 0) this.flushAll = true;
  }

  private changed(gpa: number, pages: number): void {
    if (this.flushAll) { this.core.mapChanged(gpa, -1); this.flushAll = false; }
    for (const l of this.listeners) l(gpa, pages);
  }

  private checkGpa(gpa: number, pages: number): void {
    if (!Number.isInteger(gpa) || gpa % PAGE !== 0 || gpa < 0 || !Number.isInteger(pages) || pages < 1 || gpa + pages * PAGE > 2 ** 32) {
      throw new GuestMemoryError(gpa, pages * PAGE, "is not a page-aligned guest-physical range");
    }
  }

  // ---- host frames -------------------------------------------------------------------

  /** Allocate a host frame for the VMM (zeroed); its host-physical address. Throws when the pool is exhausted. */
  allocFrame(): number {
    const f = this.freeFrames.pop();
    if (f === undefined) throw new Error(`out of VMM memory: all ${(this.hostBytes - this.ramBytes) / 1048576} MiB of host frames beyond guest RAM are in use (raise it with --vmm-mem)`);
    this.zeroHost(f, PAGE);
    return f;
  }
  /** Return a host frame to the pool. */
  freeFrame(frame: number): void {
    if (frame % PAGE !== 0 || frame < 0 || frame >= this.hostBytes) throw new GuestMemoryError(frame, PAGE, "is not a host frame");
    this.freeFrames.push(frame);
  }
  /** Host frames free for the VMM. */
  get framesFree(): number { return this.freeFrames.length; }

  private hostOffset(hpa: number, len: number): number {
    if (!Number.isInteger(hpa) || hpa < 0 || len < 0 || hpa + len > this.hostBytes) {
      throw new GuestMemoryError(hpa, len, `is outside host memory (${this.hostBytes / 1048576} MiB)`);
    }
    return this.core.ramBase() + hpa;
  }
  readHostU32(hpa: number): number { return this.dv().getUint32(this.hostOffset(hpa, 4), true); }
  /** Write a word of a VMM frame (page tables): no code invalidation — the guest does not execute VMM frames. */
  writeHostU32(hpa: number, v: number): void { this.dv().setUint32(this.hostOffset(hpa, 4), v >>> 0, true); }
  readHost(hpa: number, len: number): Uint8Array { const h = this.hostOffset(hpa, len); return new Uint8Array(this.engine.buffer, h, len).slice(); }
  writeHost(hpa: number, data: Uint8Array): void {
    const h = this.hostOffset(hpa, data.length);
    new Uint8Array(this.engine.buffer, h, data.length).set(data);
    this.core.notifyHostWrite(hpa, data.length);
  }
  zeroHost(hpa: number, len: number): void {
    const h = this.hostOffset(hpa, len);
    new Uint8Array(this.engine.buffer, h, len).fill(0);
    this.core.notifyHostWrite(hpa, len);
  }

  // ---- accesses by guest-physical address ------------------------------------------------

  /**
   * Visit [gpa, gpa+len) page by page: fn(hostOffset, bufferOffset, length).
   * Each page must be mapped with the access's permission (a device's DMA
   * obeys the map as the CPU does), else a GuestMemoryError.
   */
  private each(gpa: number, len: number, write: boolean, fn: (host: number, off: number, n: number, hpa: number) => void): void {
    if (!Number.isInteger(gpa) || !Number.isInteger(len) || gpa < 0 || len < 0 || gpa + len > 2 ** 32) {
      throw new GuestMemoryError(gpa, len, "is not a guest-physical range");
    }
    const base = this.core.ramBase();
    let off = 0;
    while (off < len) {
      const a = gpa + off;
      const e = this.decoded(a);
      const need = write ? P2mBits.write : P2mBits.read;
      if (!(e & P2mBits.valid) || !(e & need)) {
        throw new GuestMemoryError(gpa, len, e & P2mBits.valid ? `is not ${write ? "writable" : "readable"} at 0x${a.toString(16)}` : `is not RAM at 0x${a.toString(16)}`);
      }
      const n = Math.min(len - off, PAGE - (a & (PAGE - 1)));
      const hpa = (e & ~0xfff) + (a & (PAGE - 1));
      fn(base + hpa, off, n, hpa);
      off += n;
    }
  }

  /**
   * The 1024 words of guest page `gpa` (4 KiB aligned) as a live view of the
   * host frame behind it, or null when the page is not readable RAM. For the
   * VMM's own use (shadow paging reads whole guest page tables); devices use
   * read/write, which check every access.
   */
  pageWords(gpa: number): Uint32Array | null {
    const at = this.pageWordIndex(gpa);
    return at < 0 ? null : this.words().subarray(at, at + 1024);
  }

  /**
   * Where guest page `gpa`'s first word is in {@link words} (as pageWords, without a view made per call: for
   * handlers that read a few words of a page at every exit), or -1 when the page is not readable RAM.
   */
  pageWordIndex(gpa: number): number {
    const e = this.decoded(gpa);
    if ((e & (P2mBits.valid | P2mBits.read)) !== (P2mBits.valid | P2mBits.read)) return -1;
    return (this.core.ramBase() + (e & ~0xfff)) >>> 2;
  }

  /** The core's memory as 32-bit words (re-made when the Wasm memory grew, which detaches the old buffer). */
  words(): Uint32Array {
    if (this.u32.length === 0) this.u32 = new Uint32Array(this.engine.buffer);
    return this.u32;
  }
  private u32 = new Uint32Array(0);

  /** Is all of [gpa, gpa+len) RAM the guest may read (and write, with `write`)? What a device checks before trusting a guest's buffer address. */
  isRam(gpa: number, len: number, write = false): boolean {
    if (!Number.isInteger(gpa) || !Number.isInteger(len) || gpa < 0 || len < 0 || gpa + len > 2 ** 32) return false;
    const need = P2mBits.valid | (write ? P2mBits.write : P2mBits.read);
    const last = len === 0 ? gpa : gpa + len - 1;
    for (let p = Math.floor(gpa / PAGE); p <= Math.floor(last / PAGE); p++) {
      if ((this.decoded(p * PAGE) & need) !== need) return false;
    }
    return true;
  }

  /** Copy bytes out of guest memory. */
  read(gpa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    const buf = this.engine.buffer;
    this.each(gpa, len, false, (h, off, n) => out.set(new Uint8Array(buf, h, n), off));
    return out;
  }

  /** Copy bytes into guest memory; code the CPU had cached there is dropped. */
  write(gpa: number, data: Uint8Array): void {
    const buf = this.engine.buffer;
    this.each(gpa, data.length, true, (h, off, n, hpa) => {
      new Uint8Array(buf, h, n).set(data.subarray(off, off + n));
      this.core.notifyHostWrite(hpa, n);
    });
  }

  /** Fill [gpa, gpa+len) with a byte. */
  fill(gpa: number, len: number, value: number): void {
    const buf = this.engine.buffer;
    this.each(gpa, len, true, (h, _off, n, hpa) => { new Uint8Array(buf, h, n).fill(value); this.core.notifyHostWrite(hpa, n); });
  }

  /** Host offset of a naturally aligned scalar (it cannot cross a page). */
  private scalar(gpa: number, size: number, write: boolean): number {
    if (gpa % size !== 0) return -1;
    const e = this.decoded(gpa);
    const need = P2mBits.valid | (write ? P2mBits.write : P2mBits.read);
    if ((e & need) !== need || !Number.isInteger(gpa) || gpa < 0 || gpa >= 2 ** 32) {
      throw new GuestMemoryError(gpa, size, (e & P2mBits.valid) ? `is not ${write ? "writable" : "readable"}` : "is not RAM");
    }
    return this.core.ramBase() + (e & ~0xfff) + (gpa & (PAGE - 1));
  }
  private readScalar(gpa: number, size: number): number {
    const h = this.scalar(gpa, size, false);
    if (h < 0) { const b = this.read(gpa, size); let v = 0; for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!; return v; }
    const dv = this.dv();
    return size === 1 ? dv.getUint8(h) : size === 2 ? dv.getUint16(h, true) : dv.getUint32(h, true);
  }
  private writeScalar(gpa: number, size: number, v: number): void {
    const h = this.scalar(gpa, size, true);
    if (h < 0) { const b = new Uint8Array(size); for (let i = 0; i < size; i++) b[i] = (v >>> (8 * i)) & 0xff; this.write(gpa, b); return; }
    const dv = this.dv();
    if (size === 1) dv.setUint8(h, v); else if (size === 2) dv.setUint16(h, v, true); else dv.setUint32(h, v >>> 0, true);
    this.core.notifyHostWrite(h - this.core.ramBase(), size);
  }
  readU8(gpa: number): number { return this.readScalar(gpa, 1); }
  readU16(gpa: number): number { return this.readScalar(gpa, 2); }
  readU32(gpa: number): number { return this.readScalar(gpa, 4); }
  writeU8(gpa: number, v: number): void { this.writeScalar(gpa, 1, v); }
  writeU16(gpa: number, v: number): void { this.writeScalar(gpa, 2, v); }
  writeU32(gpa: number, v: number): void { this.writeScalar(gpa, 4, v); }
}

function permBits(p: Perms): number {
  const w = p.write ? P2mBits.write : 0, x = p.exec ? P2mBits.exec : 0;
  return (p.read || w ? P2mBits.read : 0) | w | x;
}
