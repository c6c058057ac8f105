// AssemblyScript's built-in conversion functions and types for the pure-JS
// engine. esbuild injects these into the bundle of assembly/ (see
// scripts/build.mjs), so they are module-local functions V8 can inline.
// Conversions wrap exactly as the Wasm instructions do.
export function i8(x) { return (x << 24) >> 24; }
export function i16(x) { return (x << 16) >> 16; }
export function i32(x) { return x | 0; }
export function isize(x) { return x | 0; }
export function u8(x) { return x & 0xff; }
export function u16(x) { return x & 0xffff; }
export function u32(x) { return x >>> 0; }
export function usize(x) { return x >>> 0; }
export function f64(x) { return +x; }
export function f32(x) { return Math.fround(x); }
export function bool(x) { return !!x; }
export function unchecked(x) { return x; }
export class StaticArray extends Array {
  constructor(n) { super(n); this.fill(0); }
}
/** The block compiler's calls into the function table exist only in the Wasm engine (tcache.ts never reaches this in JS). */
export function call_indirect() { throw new Error("call_indirect: the JS engine has no block compiler"); }
