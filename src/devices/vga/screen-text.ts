/**
 * A VGA screen as text, for a terminal or a log: each row's characters as
 * Unicode (CP437 glyphs), trailing blanks dropped; a blank or graphics screen
 * as one line saying so.
 *
 * @module
 */
import { cp437ToText } from "./cp437.js";
import type { VgaScreen, VgaTextScreen } from "./vga.js";

/**
 * A cell's foreground and background colours (0xRRGGBB) for its attribute byte: the low nibble and the high one,
 * whose bit 7 makes the character blink instead of brightening the background when blinking is on (AR10 bit 3).
 */
export function cellColors(screen: VgaTextScreen, attr: number): [fg: number, bg: number] {
  return [screen.colors[attr & 15]!, screen.colors[screen.blink ? (attr >> 4) & 7 : attr >> 4]!];
}

/** The screen's rows as Unicode text (blank rows kept, trailing blanks dropped). */
export function screenLines(screen: VgaScreen): string[] {
  if (screen.kind === "pixels") return [`[screen ${screen.width}×${screen.height}, ${screen.mode}: a picture, not text (the monitor's screendump FILE saves it)]`];
  if (screen.kind !== "text") return [`[screen ${screen.kind}: ${screen.why}]`];
  const lines: string[] = [];
  for (let r = 0; r < screen.rows; r++) {
    lines.push(cp437ToText(screen.chars.subarray(r * screen.cols, (r + 1) * screen.cols)).replace(/[ \u00a0]+$/, ""));
  }
  return lines;
}

/** The screen as the monitor's `screen` command shows it: a header line (mode, cursor), then the rows. */
export function describeScreen(screen: VgaScreen): string {
  if (screen.kind !== "text") return screenLines(screen)[0]!;
  const cursor = screen.cursor ? `cursor at row ${screen.cursor.row}, column ${screen.cursor.col}` : "cursor off";
  const rows = screenLines(screen);
  while (rows.length > 0 && rows[rows.length - 1] === "") rows.pop();
  return [`text ${screen.cols}×${screen.rows}, ${cursor}`, ...rows].join("\n");
}
