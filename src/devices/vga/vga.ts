/**
 * A VGA (IBM's Video Graphics Array, as QEMU's `isa-vga` presents it): the
 * register file at ports 0x3B0-0x3DF, its video memory behind the window at
 * 0xA0000-0xBFFFF (video-memory.ts), a screen drawn from it in the text
 * modes, the 16-colour planar modes and the 256-colour modes, and the Bochs
 * VBE extensions' linear framebuffer modes (vbe.ts).
 *
 * Registers (what a guest reads back is what QEMU's VGA returns):
 *
 * | port         | register                                                   |
 * |--------------|------------------------------------------------------------|
 * | 0x3C0/0x3C1  | attribute controller: index and data share 0x3C0 through a flip-flop that a read of input status 1 resets; index bit 5 (palette address source) clear blanks the screen |
 * | 0x3C2 / 0x3CC| miscellaneous output (write / read); bit 0 moves the CRTC and input status 1 between 0x3Bx (mono) and 0x3Dx (colour), the other block floating at 0xFF |
 * | 0x3C4/0x3C5  | sequencer, index masked to 3 bits                          |
 * | 0x3C6-0x3C9  | DAC: pixel mask, read index / state, write index, data (three 6-bit components per entry, auto-incrementing) |
 * | 0x3CA        | feature control (read; written at 0x3BA/0x3DA)             |
 * | 0x3CE/0x3CF  | graphics controller, index masked to 4 bits                |
 * | 0x3D4/0x3D5  | CRTC (0x3B4/0x3B5 in mono), 256 indexes; CR11 bit 7 write-protects CR0-CR7 but CR7 bit 4 |
 * | 0x3DA        | input status 1 (0x3BA in mono): display-enable and vertical-retrace bits toggle on every read, as QEMU's "dumb" retrace does |
 *
 * Memory: a text mode's CPU view of video memory (character and attribute
 * bytes interleaved at 0xB8000, odd/even) and mode 13h's (chain-4: pixel n at
 * 0xA0000 + n) are plain RAM to the guest, its stores costing no exits; the
 * planar view of the 16-colour modes goes through the MMIO bus
 * (video-memory.ts says how the two are kept one memory). Text is drawn with
 * the host's CP437 glyphs (vga/cp437.ts), not with the font in plane 2. Not
 * drawn (reported as {@link VgaScreen} kind "graphics"): the CGA-compatible
 * 4-colour modes (GR5's shift register in interleaved mode).
 *
 * A guest booted without a firmware (Multiboot, Linux's 32-bit protocol)
 * finds the card as a VGA BIOS leaves it: {@link biosTextMode}.
 *
 * @module
 */
import { type AccessSize, type PortDevice, readBytewise, writeBytewise } from "../../vmm/bus.js";
import { BochsVbe, type VbeMemory, type VbeMode } from "./vbe.js";
import { VideoMemory, VRAM_BYTES, memoryMapWindow, type WindowMemory } from "./video-memory.js";
import { saveFields, restoreFields, type State } from "../../vmm/snapshot.js";

/** First port of the VGA's I/O block. */
export const VGA_PORT_BASE = 0x3b0;
/** Ports 0x3B0-0x3DF. */
export const VGA_PORT_COUNT = 0x30;

/** What the VGA shows: a text screen, a picture, nothing (blanked), or a graphics mode this model does not draw. */
export type VgaScreen =
  | VgaTextScreen
  | VgaPixels
  | { kind: "blank"; why: string }
  | { kind: "graphics"; why: string };

/** A graphics mode's picture, one RGB triple per pixel (the mode's own resolution: mode 13h is 320 × 200). */
export interface VgaPixels {
  kind: "pixels";
  width: number;
  height: number;
  /** width × height × 3 bytes, row by row. */
  rgb: Uint8Array;
  /** What draws it: "VGA 256-colour" or "VBE 32 bpp" …. */
  mode: string;
}

export interface VgaTextScreen {
  kind: "text";
  cols: number;
  rows: number;
  /** Character codes (CP437), row by row: cols × rows. */
  chars: Uint8Array;
  /** Attribute bytes (background << 4 | foreground, bit 7 blink when blinking is enabled), row by row. */
  attrs: Uint8Array;
  /** Where the cursor is, or null when it is switched off, has no scan lines, or is off the screen. */
  cursor: { row: number; col: number } | null;
  /** The 16 attribute colours as 0xRRGGBB, through the attribute controller's palette and the DAC. */
  colors: number[];
  /** Attribute bit 7 blinks the character instead of selecting a bright background. */
  blink: boolean;
}

// Register indexes and bits named after the IBM VGA reference.
const CR_CURSOR_START = 0x0a;
const CR_START_HI = 0x0c;
const CR_CURSOR_HI = 0x0e;
const CR_OVERFLOW = 0x07;
const CR_MAX_SCAN = 0x09;
const CR_V_SYNC_END = 0x11;
const CR_V_DISP_END = 0x12;
const CR_OFFSET = 0x13;
const CR11_PROTECT = 0x80;
const AR_MODE = 0x10;
const AR_COLOR_SELECT = 0x14;
const AR_PAS = 0x20;
const SR_CLOCKING = 0x01;
const SR01_SCREEN_OFF = 0x20;
const GR_MISC = 0x06;
const GR_MODE = 0x05;
const SR_MEMORY_MODE = 0x04;
const MISC_COLOR = 0x01;
const ST01_TOGGLE = 0x09; // vertical retrace (bit 3) and display enable (bit 0)

/** Bits of each sequencer and graphics register that exist (the rest read 0), as QEMU keeps them. */
const SR_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
const GR_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

/**
 * Mode 3 (80 × 25 text, 16 colours, 9 × 16 cells) as a VGA BIOS sets it —
 * the values of IBM's VGA BIOS mode table, which SeaBIOS's VGA BIOS
 * (vgabios-isavga, what QEMU's isa-vga runs) writes too.
 */
const MODE3 = {
  misc: 0x67,
  sr: [0x03, 0x00, 0x03, 0x00, 0x02],
  cr: [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
  gr: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff],
  ar: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x0c, 0x00, 0x0f, 0x08, 0x00],
};

/** Entry i of the EGA's 64-colour palette (6-bit components): bits 2/1/0 the ⅔ red/green/blue, bits 5/4/3 the ⅓. */
function egaColor(i: number): [number, number, number] {
  const c = (hi: number, lo: number) => ((i >> hi) & 1) * 0x2a + ((i >> lo) & 1) * 0x15;
  return [c(2, 5), c(1, 4), c(0, 3)];
}

/** Guest memory as the VGA uses it: the window's RAM and its map entries, and host frames for the VBE framebuffer. */
export interface VgaMemory extends VbeMemory, WindowMemory {}

export class Vga implements PortDevice {
  readonly name = "vga";
  private misc = 0;
  private featureControl = 0;
  private st01 = 0;
  private srIndex = 0;
  private readonly sr = new Uint8Array(8);
  private grIndex = 0;
  private readonly gr = new Uint8Array(16);
  private crIndex = 0;
  private readonly cr = new Uint8Array(256);
  private arIndex = 0;
  private arFlipFlop = 0;
  private readonly ar = new Uint8Array(0x15);
  private pelMask = 0xff;
  /** 256 entries × 3 six-bit components. */
  private readonly dac = new Uint8Array(768);
  private dacReadIndex = 0;
  private dacWriteIndex = 0;
  private dacSub = 0;
  private dacState = 0;
  private readonly dacLatch = new Uint8Array(3);

  /** The Bochs VBE interface (ports 0x1CE-0x1CF): its modes take the screen while enabled. */
  readonly vbe: BochsVbe;
  /** The planes and the window's views of them; `video.mmio` serves the planar view (register it at 0xA0000). */
  readonly video: VideoMemory;

  /** `fail`: the VMM cannot back the VBE framebuffer (see vbe.ts). */
  constructor(private readonly memory: VgaMemory, fail: (message: string) => void = () => {}) {
    this.vbe = new BochsVbe(memory, fail);
    this.video = new VideoMemory({ sr: this.sr, gr: this.gr }, memory);
    this.video.update();
  }

  /** The VGA's registers and DAC, its video memory, the VBE interface — a snapshot's part. */
  save(): State { return { ...saveFields(this), vbe: this.vbe.save(), video: this.video.save() }; }

  restore(state: State): void {
    const { vbe, video, ...fields } = state;
    restoreFields(this, fields);
    this.vbe.restore(vbe as State);
    this.video.restore(video as State);
  }

  read(offset: number, size: AccessSize): number {
    return readBytewise((o) => this.readPort(VGA_PORT_BASE + o), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    writeBytewise((o, v) => this.writePort(VGA_PORT_BASE + o, v), offset, size, value);
  }

  /** Ports of the CRTC block the miscellaneous output register does not select float. */
  private unselected(port: number): boolean {
    return this.misc & MISC_COLOR ? port >= 0x3b0 && port <= 0x3bf : port >= 0x3d0 && port <= 0x3df;
  }

  private readPort(port: number): number {
    if (this.unselected(port)) return 0xff;
    switch (port) {
      case 0x3c0: return this.arFlipFlop === 0 ? this.arIndex : 0;
      case 0x3c1: {
        const i = this.arIndex & 0x1f;
        return i < this.ar.length ? this.ar[i]! : 0;
      }
      case 0x3c2: return 0; // input status 0
      case 0x3c4: return this.srIndex;
      case 0x3c5: return this.sr[this.srIndex]!;
      case 0x3c6: return this.pelMask;
      case 0x3c7: return this.dacState;
      case 0x3c8: return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacSub]!;
        if (++this.dacSub === 3) {
          this.dacSub = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return v;
      }
      case 0x3ca: return this.featureControl;
      case 0x3cc: return this.misc;
      case 0x3ce: return this.grIndex;
      case 0x3cf: return this.gr[this.grIndex]!;
      case 0x3b4: case 0x3d4: return this.crIndex;
      case 0x3b5: case 0x3d5: return this.cr[this.crIndex]!;
      case 0x3ba: case 0x3da:
        this.st01 ^= ST01_TOGGLE;
        this.arFlipFlop = 0;
        return this.st01;
      default: return 0;
    }
  }

  private writePort(port: number, v: number): void {
    if (this.unselected(port)) return;
    switch (port) {
      case 0x3c0:
        if (this.arFlipFlop === 0) this.arIndex = v & 0x3f;
        else this.writeAttribute(this.arIndex & 0x1f, v);
        this.arFlipFlop ^= 1;
        return;
      case 0x3c2: this.misc = v & ~0x10; return;
      case 0x3c4: this.srIndex = v & 7; return;
      case 0x3c5:
        this.sr[this.srIndex] = v & SR_MASK[this.srIndex]!;
        if (this.srIndex === SR_MEMORY_MODE) this.video.update();
        return;
      case 0x3c6: this.pelMask = v; return;
      case 0x3c7:
        this.dacReadIndex = v;
        this.dacSub = 0;
        this.dacState = 3;
        return;
      case 0x3c8:
        this.dacWriteIndex = v;
        this.dacSub = 0;
        this.dacState = 0;
        return;
      case 0x3c9:
        this.dacLatch[this.dacSub] = v;
        if (++this.dacSub === 3) {
          this.dac.set(this.dacLatch, this.dacWriteIndex * 3);
          this.dacSub = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        }
        return;
      case 0x3ce: this.grIndex = v & 0x0f; return;
      case 0x3cf:
        this.gr[this.grIndex] = v & GR_MASK[this.grIndex]!;
        if (this.grIndex >= 4 && this.grIndex <= 6) this.video.update(); // read map (odd/even page), mode, memory map
        return;
      case 0x3b4: case 0x3d4: this.crIndex = v; return;
      case 0x3b5: case 0x3d5:
        if (this.cr[CR_V_SYNC_END]! & CR11_PROTECT && this.crIndex <= CR_OVERFLOW) {
          // CR0-CR7 are locked, but for CR7 bit 4 (line compare bit 8).
          if (this.crIndex === CR_OVERFLOW) this.cr[CR_OVERFLOW] = (this.cr[CR_OVERFLOW]! & ~0x10) | (v & 0x10);
          return;
        }
        this.cr[this.crIndex] = v;
        return;
      case 0x3ba: case 0x3da: this.featureControl = v & 0x10; return;
    }
  }

  private writeAttribute(i: number, v: number): void {
    if (i < 0x10) this.ar[i] = v & 0x3f;
    else if (i === AR_MODE) this.ar[i] = v & ~0x10;
    else if (i === 0x11) this.ar[i] = v; // overscan colour
    else if (i === 0x12) this.ar[i] = v & ~0xc0; // colour plane enable
    else if (i === 0x13 || i === AR_COLOR_SELECT) this.ar[i] = v & ~0xf0; // horizontal pel panning, colour select
  }

  /**
   * Leave the card in text mode 3 with a cleared screen (space on light
   * grey, 0x0720) and the cursor at the top left, as a PC's VGA BIOS does
   * before it boots anything: the state a kernel loaded without a firmware
   * expects (Linux's screen_info says mode 3, 80 × 25).
   */
  biosTextMode(): void {
    this.misc = MODE3.misc;
    this.sr.fill(0).set(MODE3.sr);
    this.cr.fill(0).set(MODE3.cr);
    this.gr.fill(0).set(MODE3.gr);
    this.ar.fill(0).set(MODE3.ar);
    this.arIndex = AR_PAS;
    this.arFlipFlop = 0;
    this.pelMask = 0xff;
    this.dac.fill(0);
    for (let i = 0; i < 64; i++) this.dac.set(egaColor(i), i * 3);
    this.video.update();
    this.memory.write(0xb8000, new Uint8Array(new Uint16Array(0x4000).fill(0x0720).buffer));
    this.vbe.biosState();
  }

  /** The screen as the card would show it now. */
  screen(): VgaScreen {
    const cr = this.cr;
    const vbe = this.vbe.mode();
    if (vbe) return this.vbePixels(vbe);
    if (!(this.arIndex & AR_PAS)) return { kind: "blank", why: "the attribute controller's palette address source is clear" };
    if (this.sr[SR_CLOCKING]! & SR01_SCREEN_OFF) return { kind: "blank", why: "the sequencer's screen-off bit is set" };
    if ((this.gr[GR_MISC]! & 1) || (this.ar[AR_MODE]! & 1)) {
      const shift = (this.gr[GR_MODE]! >> 5) & 3;
      if (shift === 1) return { kind: "graphics", why: "a CGA-compatible 4-colour mode (this VGA draws 16- and 256-colour modes, text and VBE)" };
      return shift === 0 ? this.planarPixels() : this.pixels256();
    }
    const cols = cr[1]! + 1;
    const lines = this.scanLines();
    const cellHeight = (cr[CR_MAX_SCAN]! & 0x1f) + 1;
    const rows = Math.floor((cr[CR_MAX_SCAN]! & 0x80 ? lines >> 1 : lines) / cellHeight);
    // The memory map select of the graphics controller: where the CPU (and so this drawing) finds text memory.
    const { base, bytes: windowBytes } = memoryMapWindow(this.gr[GR_MISC]!);
    const window = this.memory.read(base, windowBytes);
    const start = ((cr[CR_START_HI]! << 8) | cr[CR_START_HI + 1]!) * 2;
    const stride = cr[CR_OFFSET]! * 4;
    const chars = new Uint8Array(cols * rows), attrs = new Uint8Array(cols * rows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const at = (start + r * stride + c * 2) % windowBytes;
        chars[r * cols + c] = window[at]!;
        attrs[r * cols + c] = window[(at + 1) % windowBytes]!;
      }
    }
    const cursorAt = ((cr[CR_CURSOR_HI]! << 8) | cr[CR_CURSOR_HI + 1]!) * 2 - start;
    const row = stride > 0 ? Math.floor(cursorAt / stride) : -1, col = stride > 0 ? (cursorAt % stride) / 2 : -1;
    // No cursor when it is switched off (bit 5), or its scan lines are empty (start after end, or below the cell):
    // how Linux's vgacon hides it (start 31, end 30).
    const cursorStart = cr[CR_CURSOR_START]! & 0x1f, cursorEnd = Math.min(cr[CR_CURSOR_START + 1]! & 0x1f, cellHeight - 1);
    const cursorShown = !(cr[CR_CURSOR_START]! & 0x20) && cursorStart <= cursorEnd;
    const cursorOn = cursorShown && cursorAt >= 0 && row < rows && col < cols;
    return { kind: "text", cols, rows, chars, attrs, cursor: cursorOn ? { row, col } : null, colors: this.colors(), blink: (this.ar[AR_MODE]! & 0x08) !== 0 };
  }

  /**
   * Where a graphics mode's lines are: the CRTC counts the start address in 4-byte units of the planes (CR0C/CR0D)
   * and the line offset in 8-byte ones (CR13); lines are repeated CR9's scan-line count times, and twice more with
   * double scanning (400 scan lines of 200 lines in modes 13h and 0Dh), as QEMU draws them.
   */
  private graphicsGeometry(): { start: number; stride: number; height: number } {
    const cr = this.cr;
    return {
      start: ((cr[CR_START_HI]! << 8) | cr[CR_START_HI + 1]!) * 4,
      stride: cr[CR_OFFSET]! * 8,
      height: Math.floor(this.scanLines() / (((cr[CR_MAX_SCAN]! & 0x1f) + 1) << (cr[CR_MAX_SCAN]! >> 7))),
    };
  }

  /**
   * A 256-colour mode, chained (13h: pixel n is CPU byte 0xA0000 + n) or not ("mode X": pixel n in plane n & 3):
   * either way the planes' bytes in order, DAC entries. Each pixel takes two dot clocks (CR1 counts 4 a character).
   */
  private pixels256(): VgaPixels {
    const vram = this.video.planes();
    const { start, stride, height } = this.graphicsGeometry();
    const width = (this.cr[1]! + 1) * 4;
    const palette = this.palette(false);
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = palette[vram[(start + y * stride + x) % VRAM_BYTES]! & this.pelMask]!, o = (y * width + x) * 3;
        rgb[o] = p >> 16; rgb[o + 1] = (p >> 8) & 0xff; rgb[o + 2] = p & 0xff;
      }
    }
    return { kind: "pixels", width, height, rgb, mode: "VGA 256-colour" };
  }

  /**
   * A 16-colour planar mode (12h, 10h, 0Dh …): pixel x of a line is bit 7 - (x & 7) of the four planes' bytes at
   * offset x >> 3, masked by the colour plane enable register (AR12), through the attribute controller's palette
   * into the DAC: CR1 counts 8 pixels a character (a halved dot clock, SR1 bit 3 in mode 0Dh, only shows each twice).
   */
  private planarPixels(): VgaPixels {
    const vram = this.video.planes();
    const { start, stride, height } = this.graphicsGeometry();
    const width = (this.cr[1]! + 1) * 8;
    const colors = this.colors(), enable = this.ar[0x12]! & 0x0f;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const at = (start + y * stride + (x >> 3) * 4) % VRAM_BYTES, bit = 7 - (x & 7);
        let index = 0;
        for (let plane = 0; plane < 4; plane++) index |= ((vram[at + plane]! >> bit) & 1) << plane;
        const p = colors[index & enable]!, o = (y * width + x) * 3;
        rgb[o] = p >> 16; rgb[o + 1] = (p >> 8) & 0xff; rgb[o + 2] = p & 0xff;
      }
    }
    return { kind: "pixels", width, height, rgb, mode: "VGA 16-colour" };
  }

  /** A VBE mode's framebuffer: 8 bpp through the DAC, 15/16 bpp 5-6-5 (5-5-5) with bit replication, 24/32 bpp BGR(X). */
  private vbePixels(m: VbeMode): VgaScreen {
    if (m.bpp === 4) return { kind: "graphics", why: "a 4-bit planar VBE mode (this VGA draws 8, 15, 16, 24 and 32 bpp)" };
    const { width, height, lineBytes } = m;
    const fb = this.vbe.frame(height * lineBytes);
    const rgb = new Uint8Array(width * height * 3);
    const palette = m.bpp === 8 ? this.palette(m.dac8) : [];
    const five = (v: number) => (v << 3) | (v >> 2), six = (v: number) => (v << 2) | (v >> 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let r: number, g: number, b: number;
        switch (m.bpp) {
          case 8: { const p = palette[fb[y * lineBytes + x]!]!; r = p >> 16; g = (p >> 8) & 0xff; b = p & 0xff; break; }
          case 15: case 16: {
            const at = y * lineBytes + x * 2, v = fb[at]! | (fb[at + 1]! << 8);
            if (m.bpp === 16) { r = five(v >> 11); g = six((v >> 5) & 0x3f); b = five(v & 0x1f); }
            else { r = five((v >> 10) & 0x1f); g = five((v >> 5) & 0x1f); b = five(v & 0x1f); }
            break;
          }
          default: {
            const at = y * lineBytes + x * (m.bpp >> 3);
            b = fb[at]!; g = fb[at + 1]!; r = fb[at + 2]!;
          }
        }
        const o = (y * width + x) * 3;
        rgb[o] = r; rgb[o + 1] = g; rgb[o + 2] = b;
      }
    }
    return { kind: "pixels", width, height, rgb, mode: `VBE ${m.bpp} bpp` };
  }

  /** Scan lines displayed: the CRTC's vertical display end (CR12, with bits 8 and 9 in the overflow register) + 1. */
  private scanLines(): number {
    const cr = this.cr;
    return (cr[CR_V_DISP_END]! | ((cr[CR_OVERFLOW]! & 0x02) << 7) | ((cr[CR_OVERFLOW]! & 0x40) << 3)) + 1;
  }

  /** The DAC's 256 entries as 0xRRGGBB (6-bit components scaled to 8, or taken as they are with an 8-bit DAC). */
  private palette(dac8: boolean): number[] {
    const to8 = dac8 ? (c: number) => c : (c: number) => ((c & 0x3f) << 2) | ((c & 0x3f) >> 4);
    const out: number[] = [];
    for (let i = 0; i < 256; i++) out.push((to8(this.dac[i * 3]!) << 16) | (to8(this.dac[i * 3 + 1]!) << 8) | to8(this.dac[i * 3 + 2]!));
    return out;
  }

  /** Attribute colour i → palette register → DAC entry (bits 5:4 from colour select when AR10 bit 7 says so, bits 7:6 always). */
  private colors(): number[] {
    const select = this.ar[AR_COLOR_SELECT]!, p54 = (this.ar[AR_MODE]! & 0x80) !== 0;
    const palette = this.palette(false);
    const out: number[] = [];
    for (let i = 0; i < 16; i++) {
      const p = this.ar[i]!;
      out.push(palette[(((select & 0x0c) << 4) | (p54 ? ((select & 0x03) << 4) | (p & 0x0f) : p & 0x3f)) & this.pelMask]!);
    }
    return out;
  }
}
