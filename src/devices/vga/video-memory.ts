/**
 * The VGA's video memory and the CPU's views of it through the window at
 * 0xA0000-0xBFFFF.
 *
 * The memory is four planes, kept as QEMU keeps them: byte `offset * 4 +
 * plane` of {@link VideoMemory.vram}. How the CPU reaches it depends on the
 * sequencer's memory mode and the graphics controller's mode register:
 *
 * - chain-4 (SR4 bit 3; the 256-colour mode 13h): CPU byte n is VRAM byte n —
 *   a linear view;
 * - odd/even (GR5 bit 4; the text modes): CPU byte n is plane (n & 1) (of the
 *   pair GR4 bit 1 selects) at offset n & ~1 — characters and attributes
 *   interleaved;
 * - otherwise planar: every CPU byte is a 32-bit latch of four planes, read
 *   through read modes 0/1 and written through write modes 0-3 with
 *   set/reset, rotation, the logical function, the bit mask and the map mask.
 *
 * The first two views are plain memory to the CPU, so they are *RAM*: the
 * window's pages are the guest RAM behind them, and the guest's stores cost
 * no exits. The planar view cannot be RAM: its pages are taken out of the
 * guest-physical map (unassigned: the MMIO bus answers, and {@link mmio}
 * serves it from the planes). When the view changes, the window's RAM is
 * written back into the planes through the old view and, for a RAM view,
 * filled from them through the new one — so a font loaded into plane 2, the
 * text in planes 0/1 and a mode-13h picture all stay where a VGA keeps them.
 * The RAM view ignores the map mask (a store in a text mode lands whatever
 * SR2 says) and, in odd/even, GR4's page bit changing while it lasts.
 *
 * @module
 */
import type { AccessSize, MmioDevice } from "../../vmm/bus.js";
import type { State } from "../../vmm/snapshot.js";

/** 512 KiB: the planes' offsets reach 0x1FFFF through the 128 KiB window (QEMU's VGA has more memory still). */
export const VRAM_BYTES = 512 * 1024;
export const WINDOW_BASE = 0xa0000;
export const WINDOW_BYTES = 0x20000;

/** The guest-physical map as the window needs it (GuestMemory). */
export interface WindowMemory {
  read(gpa: number, len: number): Uint8Array;
  write(gpa: number, data: Uint8Array): void;
  map(gpa: number, frame: number, perms: { read: boolean; write: boolean; exec: boolean }, pages: number): void;
  unassign(gpa: number, pages: number): void;
}

/** The registers the memory's behaviour depends on: the sequencer's and the graphics controller's. */
export interface MemoryRegisters {
  readonly sr: Uint8Array;
  readonly gr: Uint8Array;
}

/** Where GR6's memory map select (bits 3:2) puts video memory in the window: 128 KiB, 64 KiB, or 32 KiB at 0xB0000/0xB8000. */
export function memoryMapWindow(gr6: number): { base: number; bytes: number } {
  const map = (gr6 >> 2) & 3;
  return { base: [0xa0000, 0xa0000, 0xb0000, 0xb8000][map]!, bytes: [0x20000, 0x10000, 0x8000, 0x8000][map]! };
}

type ViewKind = "chain4" | "odd-even" | "planar";
interface View { kind: ViewKind; base: number; bytes: number; page: number }

/** A byte of `v` in every plane (QEMU's mask16): bit i of m selects plane i. */
function planesOf(m: number): number {
  return ((m & 1 ? 0xff : 0) | (m & 2 ? 0xff00 : 0) | (m & 4 ? 0xff0000 : 0) | (m & 8 ? 0xff000000 : 0)) >>> 0;
}

export class VideoMemory {
  /** The planes, interleaved: plane p of offset o at o * 4 + p. */
  readonly vram = new Uint8Array(VRAM_BYTES);
  private readonly words = new Uint32Array(this.vram.buffer);
  private latch = 0;
  private view: View | null = null;

  constructor(private readonly regs: MemoryRegisters, private readonly guest: WindowMemory) {}

  /** The planar view's accesses, offsets from 0xA0000 (registered on the MMIO bus; reached only while unassigned). */
  readonly mmio: MmioDevice = {
    name: "vga-memory",
    read: (offset: number, size: AccessSize) => {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
      return v >>> 0;
    },
    write: (offset: number, size: AccessSize, value: number) => {
      for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
    },
  };

  /** The mode the registers ask for, and where the window shows it (GR6's memory map select). */
  private wanted(): View {
    const { sr, gr } = this.regs;
    const kind: ViewKind = sr[4]! & 0x08 ? "chain4" : gr[5]! & 0x10 ? "odd-even" : "planar";
    return { kind, ...memoryMapWindow(gr[6]!), page: gr[4]! & 2 };
  }

  /** Follow a change of SR4, GR4, GR5 or GR6: write the old RAM view back, fill the new one, (un)map the window. */
  update(): void {
    const next = this.wanted();
    const now = this.view;
    if (now && now.kind === next.kind && now.base === next.base && now.bytes === next.bytes && now.page === next.page) return;
    if (now && now.kind !== "planar") this.store(now, this.guest.read(now.base, now.bytes));
    this.guest.map(WINDOW_BASE, WINDOW_BASE, { read: true, write: true, exec: true }, WINDOW_BYTES / 4096);
    if (next.kind === "planar") this.guest.unassign(next.base, next.bytes / 4096);
    else this.guest.write(next.base, this.load(next));
    this.view = next;
  }

  /** The planes (with what the guest stored through a RAM view) and the latches — a snapshot's part. */
  save(): State { return { vram: this.planes().slice(), latch: this.latch }; }

  /** Take back save()'s planes; the window is mapped again as the (already restored) registers say. */
  restore(state: State): void {
    this.vram.set(state.vram as Uint8Array);
    this.latch = state.latch as number;
    this.view = null;
    this.update();
  }

  /** The planes as they are now (what the guest stored through a RAM view written back first), to draw from. */
  planes(): Uint8Array {
    const v = this.view;
    if (v && v.kind !== "planar") this.store(v, this.guest.read(v.base, v.bytes));
    return this.vram;
  }

  /** The window's bytes into the planes, through a RAM view. */
  private store(v: View, bytes: Uint8Array): void {
    for (let n = 0; n < bytes.length; n++) this.vram[this.vramIndex(v, n)] = bytes[n]!;
  }

  /** The planes through a RAM view, as the window's bytes. */
  private load(v: View): Uint8Array {
    const out = new Uint8Array(v.bytes);
    for (let n = 0; n < v.bytes; n++) out[n] = this.vram[this.vramIndex(v, n)]!;
    return out;
  }

  private vramIndex(v: View, n: number): number {
    return v.kind === "chain4" ? n : ((n & ~1) << 1) | v.page | (n & 1);
  }

  /** The planes' offset of window byte `offset`, or -1 outside the mapped part. */
  private planeOffset(offset: number): number {
    const { base, bytes } = memoryMapWindow(this.regs.gr[6]!);
    const rel = (offset & 0x1ffff) - (base - WINDOW_BASE);
    return rel >= 0 && rel < bytes ? rel : -1;
  }

  /** Read mode 0 (one plane, GR4) or 1 (colour compare against GR2 over the planes GR7 cares about); loads the latches. */
  readByte(offset: number): number {
    const a = this.planeOffset(offset);
    if (a < 0) return 0xff;
    const gr = this.regs.gr;
    this.latch = this.words[a]!;
    if (!(gr[5]! & 0x08)) return (this.latch >>> (8 * (gr[4]! & 3))) & 0xff;
    let r = (this.latch ^ planesOf(gr[2]!)) & planesOf(gr[7]!);
    r |= r >>> 16;
    r |= r >>> 8;
    return ~r & 0xff;
  }

  /** Write modes 0-3 through rotation, set/reset, the logical function and the bit mask, into the planes SR2 enables. */
  writeByte(offset: number, value: number): void {
    const a = this.planeOffset(offset);
    if (a < 0) return;
    const gr = this.regs.gr;
    const rotate = gr[3]! & 7;
    let v: number, bitMask: number;
    switch (gr[5]! & 3) {
      case 0: {
        const b = ((value >> rotate) | (value << (8 - rotate))) & 0xff;
        const setReset = planesOf(gr[1]!);
        v = ((b * 0x01010101) & ~setReset) | (planesOf(gr[0]!) & setReset);
        bitMask = gr[8]!;
        break;
      }
      case 1:
        this.commit(a, this.latch);
        return;
      case 2:
        v = planesOf(value & 0x0f);
        bitMask = gr[8]!;
        break;
      default: {
        const b = ((value >> rotate) | (value << (8 - rotate))) & 0xff;
        bitMask = gr[8]! & b;
        v = planesOf(gr[0]!);
      }
    }
    switch (gr[3]! >> 3) {
      case 1: v &= this.latch; break;
      case 2: v |= this.latch; break;
      case 3: v ^= this.latch; break;
    }
    const m = bitMask * 0x01010101;
    this.commit(a, ((v & m) | (this.latch & ~m)) >>> 0);
  }

  /** Store the four planes' bytes of `v` into the planes the map mask (SR2) enables. */
  private commit(a: number, v: number): void {
    const mask = planesOf(this.regs.sr[2]!);
    this.words[a] = ((this.words[a]! & ~mask) | (v & mask)) >>> 0;
  }
}
