/**
 * Code page 437, the character set of the VGA's ROM font: what a text-mode
 * character code looks like, as Unicode, for drawing a screen with a host's
 * fonts (a terminal, a web page). Codes 0x00-0x1F are the font's glyphs
 * (☺ ♥ ♪ …), not control characters; 0x00 and 0xFF are blank glyphs.
 *
 * @module
 */

const GLYPHS =
  "\u0020☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼" +
  " !\"#$%&'()*+,-./0123456789:;<=>?" +
  "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_" +
  "`abcdefghijklmnopqrstuvwxyz{|}~⌂" +
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒ" +
  "áíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
  "└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
  "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

/** The 256 glyphs, indexed by character code. */
export const CP437: readonly string[] = Array.from(GLYPHS);

if (CP437.length !== 256) throw new Error(`CP437 table has ${CP437.length} entries, not 256`);

/** A row of character codes as Unicode text. */
export function cp437ToText(codes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < codes.length; i++) s += CP437[codes[i]! & 0xff];
  return s;
}
