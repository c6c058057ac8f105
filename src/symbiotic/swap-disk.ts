/**
 * The swap disk SwapBypass stands on (seed 000; Palacios'
 * `devices/swapbypass_cache.c`, its "v1": the whole swap area in VMM memory):
 * a virtio-blk backend whose 4 KiB pages are host frames of the VMM, beyond
 * guest RAM, so that the shadow pager can point a guest's page table entry
 * straight at the page the guest swapped out.
 *
 * Why the whole area and not a bounded LRU cache in front of a file (Palacios'
 * v2): a bypass mapping must point at a frame that stays put while the mapping
 * lives; with an LRU, evicting a page means first dropping every mapping of it,
 * and a page the guest reads back through a mapping costs host disk I/O inside a
 * page fault. The whole area in frames is the paper's ideal swap device (the
 * same device runs plain swap for comparison), deterministic, and costs what it
 * holds: the swap size of VMM memory (`--vmm-mem`), reserved when the disk is
 * made, so a full pool fails at start-up with one line, never in the middle of a
 * guest's swap-out.
 *
 * The disk knows the Linux swap header (`union swap_header`,
 * include/linux/swap.h: "SWAPSPACE2" in the last 10 bytes of page 0,
 * `version` = 1 at byte 1024, `last_page` at 1028): a slot is a page index on
 * the device (the header is page 0; Linux's swap offset is that index for a
 * whole-device swap area), and it *holds* a page when the guest wrote it since
 * the header it formats the disk with. Listeners hear of every read and write
 * before the data moves (SwapBypass drops its mappings of those slots).
 *
 * @module
 */
import type { BlockBackend } from "../devices/block/backend.js";
import type { GuestMemory } from "../vmm/memory.js";
import { savePages, restorePages, restoreFields, type State } from "../vmm/snapshot.js";

const PAGE = 4096;
const MAGIC = "SWAPSPACE2";

/** What the guest wrote into page 0, when it is a Linux swap header. */
export interface SwapHeader {
  version: number;
  /** The last usable page (slot) of the area. */
  lastPage: number;
  badPages: number;
  uuid: string;
  label: string;
}

/** A guest request is about to touch slots first…first+count-1 ("read": the guest reads them back; "write": new data). */
export type SlotListener = (kind: "read" | "write", first: number, count: number) => void;

export class SwapDisk implements BlockBackend {
  readonly readOnly = false;
  readonly name: string;
  readonly size: number;
  /** Host frame of each page of the disk. */
  private readonly frames: number[] = [];
  /** Per slot: written by the guest since the current header. */
  private readonly written: Uint8Array;
  private header_: SwapHeader | null = null;
  private readonly listeners: SlotListener[] = [];
  readonly stats = { slotsRead: 0, slotsWritten: 0, headers: 0 };

  constructor(private readonly mem: GuestMemory, bytes: number) {
    if (!Number.isInteger(bytes) || bytes < 2 * PAGE || bytes % PAGE !== 0) throw new Error(`a swap disk is a whole number of 4 KiB pages, at least two (got ${bytes} bytes)`);
    const pages = bytes / PAGE;
    if (mem.framesFree < pages + 256) {
      throw new Error(`a ${bytes / 1048576} MiB swap disk needs ${bytes / 1048576} MiB of VMM memory and only ${(mem.framesFree * PAGE / 1048576).toFixed(0)} MiB is free (raise it with --vmm-mem)`);
    }
    for (let i = 0; i < pages; i++) this.frames.push(mem.allocFrame());
    this.size = bytes;
    this.written = new Uint8Array(pages);
    this.name = `${bytes / 1048576} MiB swap disk in VMM memory`;
  }

  get pages(): number { return this.frames.length; }
  /** The Linux swap header the guest wrote, or null (not formatted as swap). */
  get header(): SwapHeader | null { return this.header_; }

  onSlots(listener: SlotListener): void { this.listeners.push(listener); }

  /** The host frame holding slot `slot`. */
  frameOf(slot: number): number {
    const f = this.frames[slot];
    if (f === undefined) throw new RangeError(`slot ${slot} is beyond the ${this.pages}-page swap disk`);
    return f;
  }

  /** Whether slot `slot` holds a page the guest swapped out (inside the formatted area, written since the header). */
  holds(slot: number): boolean {
    return this.header_ !== null && slot >= 1 && slot <= this.header_.lastPage && slot < this.pages && this.written[slot] === 1;
  }

  /** Slots holding swapped-out pages. */
  get slotsHeld(): number {
    let n = 0;
    for (let s = 1; s < this.pages; s++) if (this.holds(s)) n++;
    return n;
  }

  read(offset: number, into: Uint8Array): void {
    const [first, count] = this.slotsOf(offset, into.length);
    for (const l of this.listeners) l("read", first, count);
    this.stats.slotsRead += count;
    this.eachPage(offset, into.length, (hpa, at, n) => into.set(this.mem.readHost(hpa, n), at));
  }

  write(offset: number, data: Uint8Array): void {
    const [first, count] = this.slotsOf(offset, data.length);
    for (const l of this.listeners) l("write", first, count);
    this.stats.slotsWritten += count;
    this.eachPage(offset, data.length, (hpa, at, n) => this.mem.writeHost(hpa, data.subarray(at, at + n)));
    for (let s = first; s < first + count; s++) this.written[s] = 1;
    if (first === 0) this.readHeader();
  }

  flush(): void {}

  /**
   * The disk for a machine snapshot: its pages (all-zero ones left out, as guest RAM's), which slots hold a page,
   * the header. The listeners are not told: a snapshot's machine goes back together (SwapBypass restores its own).
   */
  save(): State {
    const bytes = new Uint8Array(this.size);
    this.frames.forEach((f, i) => bytes.set(this.mem.readHost(f, PAGE), i * PAGE));
    return { pages: savePages(bytes), written: this.written.slice(), header: this.header_ ? { ...this.header_ } : null, stats: { ...this.stats } };
  }

  restore(state: State): void {
    const bytes = new Uint8Array(this.size);
    restorePages(bytes, state.pages as State, `swap disk (--swap) ${this.name}`);
    this.frames.forEach((f, i) => this.mem.writeHost(f, bytes.subarray(i * PAGE, (i + 1) * PAGE)));
    restoreFields(this, { written: state.written!, stats: state.stats! });
    this.header_ = state.header ? { ...(state.header as unknown as SwapHeader) } : null;
  }

  /** Page 0 was written: a new header (mkswap) starts an empty area; anything else is not a swap area. */
  private readHeader(): void {
    const page = this.mem.readHost(this.frames[0]!, PAGE);
    const dv = new DataView(page.buffer);
    const magic = String.fromCharCode(...page.subarray(PAGE - 10));
    this.written.fill(0);
    this.header_ = null;
    if (magic !== MAGIC || dv.getUint32(1024, true) !== 1) return;
    const hex = [...page.subarray(1036, 1052)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const label = page.subarray(1052, 1068);
    const end = label.indexOf(0);
    this.header_ = {
      version: 1, lastPage: dv.getUint32(1028, true), badPages: dv.getUint32(1032, true),
      uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      label: String.fromCharCode(...(end < 0 ? label : label.subarray(0, end))),
    };
    this.stats.headers++;
  }

  /** The slots a byte range touches. */
  private slotsOf(offset: number, length: number): [number, number] {
    const first = Math.floor(offset / PAGE);
    return [first, length === 0 ? 0 : Math.floor((offset + length - 1) / PAGE) - first + 1];
  }

  private eachPage(offset: number, length: number, f: (hpa: number, at: number, n: number) => void): void {
    for (let at = 0; at < length;) {
      const pos = offset + at, page = Math.floor(pos / PAGE), within = pos - page * PAGE;
      const n = Math.min(PAGE - within, length - at);
      f(this.frames[page]! + within, at, n);
      at += n;
    }
  }
}
