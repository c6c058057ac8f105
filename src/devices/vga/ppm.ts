/**
 * A picture as a binary PPM (P6, 8 bits a component): what QEMU's monitor
 * `screendump` writes, so the two can be compared byte for byte.
 *
 * @module
 */
import type { VgaPixels } from "./vga.js";

export function ppm(picture: VgaPixels): Uint8Array {
  const header = new TextEncoder().encode(`P6\n${picture.width} ${picture.height}\n255\n`);
  const out = new Uint8Array(header.length + picture.rgb.length);
  out.set(header);
  out.set(picture.rgb, header.length);
  return out;
}
