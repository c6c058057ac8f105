// A byte writer for WebAssembly binaries in the JIT buffer (layout.ts JIT_BUF).
// Sizes that are only known afterwards (sections, function bodies) are
// reserved as 5-byte LEB128 and patched: the binary format allows padded
// LEB128 for u32.
import { st8 } from "../portable";
import { JIT_BUF, JIT_BUF_SIZE } from "../layout";

let pos: i32 = 0;
/** Set when the module would not fit: the caller gives up on this batch. */
export let overflow: bool = false;
/** A dry run writes nothing: the emitter runs once to learn what a function uses, then for real. */
export let dry: bool = false;
export function setDry(on: bool): void { dry = on; }

export function reset(): void { pos = 0; overflow = false; dry = false; }
export function length(): i32 { return pos; }

export function byte(b: i32): void {
  if (dry) return;
  if (pos >= JIT_BUF_SIZE) { overflow = true; return; }
  st8(JIT_BUF + pos, b);
  pos++;
}
export function u32leb(v: i32): void {
  let x = v;
  for (;;) {
    const b = x & 0x7f;
    x = x >>> 7;
    if (x == 0) { byte(b); return; }
    byte(b | 0x80);
  }
}
export function i32leb(v: i32): void {
  let x = v;
  for (;;) {
    const b = x & 0x7f;
    x = x >> 7;
    if ((x == 0 && (b & 0x40) == 0) || (x == -1 && (b & 0x40) != 0)) { byte(b); return; }
    byte(b | 0x80);
  }
}
export function name(s: string): void {
  u32leb(s.length);
  for (let i = 0; i < s.length; i++) byte(s.charCodeAt(i));
}
/** Reserve a 5-byte size field; returns its position for patch(). */
export function reserveSize(): i32 {
  if (dry) return 0;
  const at = pos;
  for (let i = 0; i < 5; i++) byte(0);
  return at;
}
/** Write the number of bytes since the reserved field into it. */
export function patch(at: i32): void {
  if (overflow || dry) return;
  const v = pos - at - 5;
  for (let i = 0; i < 5; i++) st8(JIT_BUF + at + i, ((v >>> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
}
