/**
 * The Bochs VBE extensions ("dispi") of QEMU's VGA: an index port at 0x1CE
 * and a data port at 0x1CF (16-bit) that set a linear-framebuffer mode of
 * any size — what hobby kernels ("BGA") and Linux's bochs drivers program,
 * and what QEMU's VGA BIOSes build their VBE modes on.
 *
 * Registers (index → meaning): 0 ID (0xB0C0-0xB0C5 accepted), 1 XRES, 2 YRES,
 * 3 BPP (4, 8, 15, 16, 24, 32; anything else becomes 8), 4 ENABLE
 * (0x01 enabled, 0x02 read the maximum sizes instead, 0x20 8-bit DAC, 0x40
 * LFB, 0x80 keep memory), 5 BANK, 6 VIRT_WIDTH, 7 VIRT_HEIGHT (read-only in
 * effect: video memory / line length), 8 X_OFFSET, 9 Y_OFFSET, 0xA video
 * memory in 64 KiB units (read-only). Sizes are clamped as QEMU clamps them.
 *
 * Video memory: {@link VBE_VRAM_BYTES} of host frames the VMM allocates the
 * first time the guest enables a mode (a text-mode guest never pays for
 * them), mapped at {@link VBE_LFB_BASE} — QEMU's isa-vga's address — as
 * plain RAM: drawing costs no exits. As on QEMU's isa-vga, a firmware that
 * puts PCI BARs there (SeaBIOS allocates from 0xE0000000) shadows that part
 * of it: a device's MMIO range wins over the map. Not modelled: banked
 * access through 0xA0000 (BANK is kept, the window stays the VGA's), the
 * 4-bit planar VBE modes (reported, not drawn).
 *
 * @module
 */
import { type AccessSize, type PortDevice } from "../../vmm/bus.js";
import { saveFields, restoreFields, savePages, restorePages, type State } from "../../vmm/snapshot.js";

/** QEMU's VBE_DISPI_LFB_PHYSICAL_ADDRESS: the framebuffer of an ISA VGA. */
export const VBE_LFB_BASE = 0xe0000000;
/** Video memory of QEMU's isa-vga (its VIRT_HEIGHT and VIDEO_MEMORY_64K say 8 MiB). */
export const VBE_VRAM_BYTES = 8 << 20;
export const VBE_PORT_BASE = 0x1ce;
/** 0x1CE-0x1D0: a 16-bit access to the data port (0x1CF) reaches one byte past it, and arrives here whole. */
export const VBE_PORT_COUNT = 3;

const ID = 0, XRES = 1, YRES = 2, BPP = 3, ENABLE = 4, BANK = 5, VIRT_WIDTH = 6, VIRT_HEIGHT = 7, X_OFFSET = 8, Y_OFFSET = 9;
const REGISTERS = 10;
const VIDEO_MEMORY_64K = 0xa;
const ENABLED = 0x01, GETCAPS = 0x02, DAC_8BIT = 0x20, NOCLEARMEM = 0x80;
const MAX_XRES = 16000, MAX_YRES = 12000, MAX_BPP = 32;

/** What the framebuffer holds, for drawing it. */
export interface VbeMode {
  width: number;
  height: number;
  bpp: number;
  /** Bytes from one line to the next. */
  lineBytes: number;
  /** Offset of the first visible pixel in video memory (X_OFFSET, Y_OFFSET). */
  start: number;
  /** 8-bit DAC components (ENABLE bit 5) instead of 6-bit ones. */
  dac8: boolean;
}

/** Where the video memory comes from: host frames of the VMM, mapped into the guest (GuestMemory's calls). */
export interface VbeMemory {
  allocFrame(): number;
  map(gpa: number, frame: number, perms: { read: boolean; write: boolean; exec: boolean }, pages: number): void;
  read(gpa: number, len: number): Uint8Array;
  write(gpa: number, data: Uint8Array): void;
  fill(gpa: number, len: number, value: number): void;
}

export class BochsVbe implements PortDevice {
  readonly name = "vbe";
  private index = 0;
  private readonly regs = new Uint16Array(REGISTERS);
  private lineBytes = 0;
  private startBytes = 0;
  private mapped = false;

  /** `fail`: the VMM cannot give the video memory (its frame pool is short): the run stops saying so. */
  constructor(private readonly memory: VbeMemory, private readonly fail: (message: string) => void) {}

  /** As a VGA BIOS leaves the interface: the newest ID, no mode. */
  biosState(): void {
    this.regs.fill(0);
    this.regs[ID] = 0xb0c5;
  }

  read(offset: number, _size: AccessSize): number {
    if (offset === 0) return this.index;
    if (offset === 2) return 0xff; // 0x1D0 alone: nothing
    const i = this.index;
    if (i < REGISTERS) {
      if (this.regs[ENABLE]! & GETCAPS) {
        if (i === XRES) return MAX_XRES;
        if (i === YRES) return MAX_YRES;
        if (i === BPP) return MAX_BPP;
      }
      return this.regs[i]!;
    }
    return i === VIDEO_MEMORY_64K ? VBE_VRAM_BYTES >> 16 : 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    const v = value & 0xffff;
    if (offset === 0) { this.index = v; return; }
    if (offset === 2) return;
    switch (this.index) {
      case ID:
        if (v >= 0xb0c0 && v <= 0xb0c5) this.regs[ID] = v;
        return;
      case XRES: case YRES: case BPP: case VIRT_WIDTH: case X_OFFSET: case Y_OFFSET:
        this.regs[this.index] = v;
        this.fixup();
        return;
      case BANK:
        this.regs[BANK] = v & ((VBE_VRAM_BYTES >> 16) - 1);
        return;
      case ENABLE:
        if (v & ENABLED && !(this.regs[ENABLE]! & ENABLED)) this.enable(v);
        this.regs[ENABLE] = v;
        return;
    }
  }

  /** Enabling a mode: the framebuffer appears (on first use), the virtual size and offsets reset, memory cleared. */
  private enable(v: number): void {
    if (!this.mapVideoMemory()) return;
    this.regs[VIRT_WIDTH] = 0;
    this.regs[X_OFFSET] = 0;
    this.regs[Y_OFFSET] = 0;
    this.regs[ENABLE] = this.regs[ENABLE]! | ENABLED;
    this.fixup();
    if (!(v & NOCLEARMEM)) this.memory.fill(VBE_LFB_BASE, Math.min(this.regs[YRES]! * this.lineBytes, VBE_VRAM_BYTES), 0);
  }

  private mapVideoMemory(): boolean {
    if (this.mapped) return true;
    const pages = VBE_VRAM_BYTES / 4096;
    const frames: number[] = [];
    try {
      for (let i = 0; i < pages; i++) frames.push(this.memory.allocFrame());
    } catch {
      this.fail(`the VBE framebuffer needs ${VBE_VRAM_BYTES >> 20} MiB of the VMM's host frames (vmmBytes), which has fewer free`);
      return false;
    }
    for (let i = 0; i < pages; i++) this.memory.map(VBE_LFB_BASE + i * 4096, frames[i]!, { read: true, write: true, exec: true }, 1);
    this.mapped = true;
    return true;
  }

  /** Clamp the mode to what the memory holds, as QEMU's vbe_fixup_regs does. */
  private fixup(): void {
    const r = this.regs;
    if (!(r[ENABLE]! & ENABLED)) return;
    if (![4, 8, 15, 16, 24, 32].includes(r[BPP]!)) r[BPP] = 8;
    const bits = r[BPP] === 15 ? 16 : r[BPP]!;
    r[XRES] = r[XRES]! & ~7;
    if (r[XRES] === 0) r[XRES] = 8;
    if (r[XRES]! > MAX_XRES) r[XRES] = MAX_XRES;
    r[VIRT_WIDTH] = r[VIRT_WIDTH]! & ~7;
    if (r[VIRT_WIDTH]! > MAX_XRES) r[VIRT_WIDTH] = MAX_XRES;
    if (r[VIRT_WIDTH]! < r[XRES]!) r[VIRT_WIDTH] = r[XRES]!;
    const lineBytes = (r[VIRT_WIDTH]! * bits) / 8;
    const maxY = Math.floor(VBE_VRAM_BYTES / lineBytes);
    if (r[YRES] === 0) r[YRES] = 1;
    if (r[YRES]! > MAX_YRES) r[YRES] = MAX_YRES;
    if (r[YRES]! > maxY) r[YRES] = maxY;
    if (r[X_OFFSET]! > MAX_XRES) r[X_OFFSET] = MAX_XRES;
    if (r[Y_OFFSET]! > MAX_YRES) r[Y_OFFSET] = MAX_YRES;
    let start = (r[X_OFFSET]! * bits) / 8 + r[Y_OFFSET]! * lineBytes;
    if (start + r[YRES]! * lineBytes > VBE_VRAM_BYTES) {
      r[Y_OFFSET] = 0;
      start = (r[X_OFFSET]! * bits) / 8;
      if (start + r[YRES]! * lineBytes > VBE_VRAM_BYTES) { r[X_OFFSET] = 0; start = 0; }
    }
    r[VIRT_HEIGHT] = Math.min(maxY, 0xffff);
    this.lineBytes = lineBytes;
    this.startBytes = start - (start % 4); // QEMU keeps the start address in 4-byte units
  }

  /** The registers and, once it exists, the framebuffer (its non-zero pages) — a snapshot's part. */
  save(): State {
    return { ...saveFields(this), framebuffer: this.mapped ? savePages(this.memory.read(VBE_LFB_BASE, VBE_VRAM_BYTES)) : null };
  }

  restore(state: State): void {
    const { framebuffer, mapped: _, ...fields } = state;
    restoreFields(this, fields);
    if (framebuffer && this.mapVideoMemory()) {
      const bytes = new Uint8Array(VBE_VRAM_BYTES);
      restorePages(bytes, framebuffer as State, "VBE framebuffer");
      this.memory.write(VBE_LFB_BASE, bytes);
    }
  }

  /** The mode being shown, or null when the interface is off (the VGA's own registers rule the screen). */
  mode(): VbeMode | null {
    const r = this.regs;
    if (!(r[ENABLE]! & ENABLED) || !this.mapped) return null;
    return { width: r[XRES]!, height: r[YRES]!, bpp: r[BPP]!, lineBytes: this.lineBytes, start: this.startBytes, dac8: (r[ENABLE]! & DAC_8BIT) !== 0 };
  }

  /** Bytes of the framebuffer from the mode's start. */
  frame(len: number): Uint8Array {
    return this.memory.read(VBE_LFB_BASE + this.startBytes, Math.min(len, VBE_VRAM_BYTES - this.startBytes));
  }
}
