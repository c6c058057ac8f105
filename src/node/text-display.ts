/**
 * `--display text`: the VGA's screen on the terminal, as QEMU's `-display
 * curses` shows it. The terminal switches to its alternate screen; the text
 * screen is redrawn when it changes (each cell in the DAC's own colours, as
 * 24-bit SGR, CP437 glyphs as Unicode, the hardware cursor where the CRTC
 * puts it), a graphics mode as one line saying where to see it. Typed bytes
 * become key presses on the PS/2 keyboard ({@link TerminalKeys}): what a
 * terminal sends for a key is turned back into the key (a US layout).
 *
 * @module
 */
import { CP437 } from "../devices/vga/cp437.js";
import { cellColors, screenLines } from "../devices/vga/screen-text.js";
import type { VgaScreen } from "../devices/vga/vga.js";
import { ps2Typing } from "../devices/ps2-keymap.js";
import type { ConsoleSink } from "./console.js";

const ESC = "\x1b";

/** Draws screens on a terminal (an ANSI/xterm one), only when they changed. */
export class TextDisplay {
  private last = "";

  constructor(private readonly write: (s: string) => void) {
    this.write(`${ESC}[?1049h${ESC}[2J`); // the alternate screen, cleared
  }

  /** Draw `screen` unless it looks as it did last time. */
  show(screen: VgaScreen): void {
    const frame = render(screen);
    if (frame === this.last) return;
    this.last = frame;
    this.write(frame);
  }

  /** Draw the next screen even if it looks as the last one did (the terminal showed something else meanwhile). */
  invalidate(): void { this.last = ""; }

  /** Back to the terminal's own screen, the cursor shown. */
  close(): void { this.write(`${ESC}[0m${ESC}[?25h${ESC}[?1049l`); }
}

const rgb = (c: number) => `${c >> 16};${(c >> 8) & 0xff};${c & 0xff}`;

/** One frame: home, every row (colour changes as SGR, the rest of the line cleared), then the cursor. */
export function render(screen: VgaScreen): string {
  let out = `${ESC}[H`;
  if (screen.kind !== "text") return `${out}${ESC}[0m${ESC}[2J${screenLines(screen)[0]} (the web page draws pictures; the monitor's screendump saves them)${ESC}[?25l`;
  for (let r = 0; r < screen.rows; r++) {
    let attr = -1;
    for (let c = 0; c < screen.cols; c++) {
      const i = r * screen.cols + c, a = screen.attrs[i]!;
      if (a !== attr) {
        const [fg, bg] = cellColors(screen, a);
        out += `${ESC}[38;2;${rgb(fg)};48;2;${rgb(bg)}m`;
        attr = a;
      }
      out += CP437[screen.chars[i]!];
    }
    out += `${ESC}[0m${ESC}[K${r + 1 < screen.rows ? "\r\n" : ""}`;
  }
  return out + (screen.cursor ? `${ESC}[${screen.cursor.row + 1};${screen.cursor.col + 1}H${ESC}[?25h` : `${ESC}[?25l`);
}

/** What a US keyboard's keys type, unshifted and shifted, in KeyboardEvent.code names. */
const US_KEYS: readonly [string, string, string][] = [
  ["`", "~", "Backquote"], ["1", "!", "Digit1"], ["2", "@", "Digit2"], ["3", "#", "Digit3"], ["4", "$", "Digit4"],
  ["5", "%", "Digit5"], ["6", "^", "Digit6"], ["7", "&", "Digit7"], ["8", "*", "Digit8"], ["9", "(", "Digit9"],
  ["0", ")", "Digit0"], ["-", "_", "Minus"], ["=", "+", "Equal"], ["[", "{", "BracketLeft"], ["]", "}", "BracketRight"],
  ["\\", "|", "Backslash"], [";", ":", "Semicolon"], ["'", "\"", "Quote"], [",", "<", "Comma"], [".", ">", "Period"],
  ["/", "?", "Slash"], [" ", " ", "Space"],
  ..."abcdefghijklmnopqrstuvwxyz".split("").map((ch): [string, string, string] => [ch, ch.toUpperCase(), `Key${ch.toUpperCase()}`]),
];
const CHAR_KEYS = new Map<string, string>();
for (const [plain, shifted, code] of US_KEYS) {
  CHAR_KEYS.set(plain, code);
  if (shifted !== plain) CHAR_KEYS.set(shifted, `Shift+${code}`);
}

/** xterm's sequences for the keys that have no character (after ESC). */
const SEQUENCES: Record<string, string> = {
  "[A": "ArrowUp", "[B": "ArrowDown", "[C": "ArrowRight", "[D": "ArrowLeft", "[H": "Home", "[F": "End",
  "OH": "Home", "OF": "End", "[1~": "Home", "[4~": "End", "[2~": "Insert", "[3~": "Delete", "[5~": "PageUp", "[6~": "PageDown",
  "OP": "F1", "OQ": "F2", "OR": "F3", "OS": "F4", "[15~": "F5", "[17~": "F6", "[18~": "F7", "[19~": "F8",
  "[20~": "F9", "[21~": "F10", "[23~": "F11", "[24~": "F12",
};

/**
 * Bytes typed on a terminal as key presses on the PS/2 keyboard: printable characters through a US layout (Shift
 * held for the shifted ones), Enter, Tab, Backspace, Escape, Ctrl+letter (Control held), and xterm's escape
 * sequences for arrows, Home/End, Insert/Delete, Page Up/Down and F1-F12. A ConsoleSink: SerialConsole hands it what
 * is typed; {@link tick} moves the scan codes into the keyboard as its queue has room (it takes 64 bytes; a key
 * with Shift or Control around it is 10).
 */
export class TerminalKeys implements ConsoleSink {
  private seq: string | null = null;
  private escapeAt = 0;
  private readonly scancodes: number[] = [];

  constructor(private readonly keyboard: { readonly queue: readonly number[]; sendScancodes(bytes: readonly number[]): void }) {}

  /** Typed bytes it takes now: while fewer than 256 scan codes wait for the keyboard. */
  get receiveSpace(): number { return this.scancodes.length < 256 ? 16 : 0; }

  receive(bytes: number[]): void {
    for (const b of bytes) {
      const keys = this.key(b);
      if (keys.length > 0) this.scancodes.push(...ps2Typing(keys));
    }
    this.feed();
  }

  /** Between slices: an Escape typed alone is pressed, and waiting scan codes go to the keyboard. */
  tick(now: number): void {
    if (this.seq === "" && now - this.escapeAt > 50) { this.seq = null; this.scancodes.push(...ps2Typing(["Escape"])); }
    this.feed();
  }

  private feed(): void {
    const room = 32 - this.keyboard.queue.length;
    if (room > 0 && this.scancodes.length > 0) this.keyboard.sendScancodes(this.scancodes.splice(0, room));
  }

  /** The keys a byte completes (none while an escape sequence is still coming). */
  private key(b: number): string[] {
    const ch = String.fromCharCode(b);
    if (this.seq !== null) {
      this.seq += ch;
      const done = SEQUENCES[this.seq];
      if (done) { this.seq = null; return [done]; }
      if (this.seq.length === 1 && ch !== "[" && ch !== "O") { this.seq = null; return ["Escape", ...this.key(b)]; }
      if (/[A-Za-z~]$/.test(this.seq) && this.seq.length > 1) this.seq = null; // a sequence this table lacks: dropped
      return [];
    }
    if (b === 0x1b) { this.seq = ""; this.escapeAt = performance.now(); return []; }
    if (b === 0x0d || b === 0x0a) return ["Enter"];
    if (b === 0x09) return ["Tab"];
    if (b === 0x7f || b === 0x08) return ["Backspace"];
    if (b >= 0x01 && b <= 0x1a) return ["Control+" + `Key${String.fromCharCode(0x40 + b)}`];
    const key = CHAR_KEYS.get(ch);
    return key ? [key] : [];
  }

}
