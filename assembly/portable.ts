// The only per-target code of the core. Everything whose JavaScript and
// WebAssembly semantics differ — memory access, 32-bit multiply, 64-bit
// products and quotients, bit counting — lives here and branches on the
// compile-time ASC_TARGET (0 = the pure-JS engine built by esbuild, which
// defines it as a constant so the dead branch is dropped in both builds).
//
// Conventions for the rest of the core (see DESIGN.md): all integer values
// are i32 (JS: normalised with |0); sums and differences are wrapped with
// i32(); unsigned comparisons are written u32(a) < u32(b); a right logical
// shift is wrapped: i32(a >>> n).

// JS engine: the core's linear memory, attached by the engine loader.
let mem8: Uint8Array = new Uint8Array(0);
let mem32: Int32Array = new Int32Array(0);
let memView: DataView = new DataView(new ArrayBuffer(0));

/** JS engine only: attach the ArrayBuffer that plays the Wasm memory. */
export function jsAttachMemory(buffer: ArrayBuffer): void {
  if (ASC_TARGET == 0) {
    mem8 = new Uint8Array(buffer);
    mem32 = new Int32Array(buffer);
    memView = new DataView(buffer);
  }
}

export function ld8(p: i32): i32 {
  if (ASC_TARGET == 0) return mem8[p];
  return i32(load<u8>(p));
}
export function ld16(p: i32): i32 {
  if (ASC_TARGET == 0) return memView.getUint16(p, true);
  return i32(load<u16>(p));
}
export function ld32(p: i32): i32 {
  if (ASC_TARGET == 0) return memView.getInt32(p, true);
  return load<i32>(p);
}
/** Aligned 32-bit load (p % 4 == 0): core metadata such as registers and the TLB. */
export function ld32a(p: i32): i32 {
  if (ASC_TARGET == 0) return mem32[p >> 2];
  return load<i32>(p);
}
export function st8(p: i32, v: i32): void {
  if (ASC_TARGET == 0) { mem8[p] = v; return; }
  store<u8>(p, v);
}
export function st16(p: i32, v: i32): void {
  if (ASC_TARGET == 0) { memView.setUint16(p, v & 0xffff, true); return; }
  store<u16>(p, v);
}
export function st32(p: i32, v: i32): void {
  if (ASC_TARGET == 0) { memView.setInt32(p, v, true); return; }
  store<i32>(p, v);
}
export function st32a(p: i32, v: i32): void {
  if (ASC_TARGET == 0) { mem32[p >> 2] = v; return; }
  store<i32>(p, v);
}
export function fill8(p: i32, v: i32, n: i32): void {
  if (ASC_TARGET == 0) { mem8.fill(v, p, p + n); return; }
  memory.fill(usize(p), u8(v), usize(n));
}
export function copy8(dst: i32, src: i32, n: i32): void {
  if (ASC_TARGET == 0) { mem8.copyWithin(dst, src, src + n); return; }
  memory.copy(usize(dst), usize(src), usize(n));
}

/** Low 32 bits of a 32×32 product. AssemblyScript's Math.imul works on f64. */
export function mul32(a: i32, b: i32): i32 {
  if (ASC_TARGET == 0) return Math.imul(a, b);
  return a * b;
}

// High halves of 64-bit products, and 64/32 division. The JS engine works in
// f64 where the values fit in 53 bits and splits into 16-bit halves otherwise.

/** High 32 bits of the unsigned product a*b. */
export function mulhu(a: i32, b: i32): i32 {
  if (ASC_TARGET == 0) {
    const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
    const lo = al * bl;
    const mid1 = ah * bl, mid2 = al * bh;
    const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
    return i32(ah * bh + (mid1 >>> 16) + (mid2 >>> 16) + carry);
  }
  return i32((u64(u32(a)) * u64(u32(b))) >> 32);
}
/** High 32 bits of the signed product a*b. */
export function mulhs(a: i32, b: i32): i32 {
  if (ASC_TARGET == 0) {
    let h = mulhu(a, b);
    if (a < 0) h = i32(h - b);
    if (b < 0) h = i32(h - a);
    return h;
  }
  return i32((i64(a) * i64(b)) >> 32);
}

// 64-by-32 division for DIV/IDIV: the quotient and remainder land in these
// globals; the functions return false when the quotient overflows 32 bits
// (the caller raises #DE). Divisor is never 0 here.
export let divQuot: i32 = 0;
export let divRem: i32 = 0;

export function divu64(hi: i32, lo: i32, d: i32): bool {
  if (ASC_TARGET == 0) {
    const uhi = hi >>> 0, ulo = lo >>> 0, ud = d >>> 0;
    if (uhi >= ud) return false;
    if (uhi == 0) { divQuot = i32(Math.floor(ulo / ud)); divRem = i32(ulo % ud); return true; }
    // Long division in two 16-bit steps keeps every intermediate below 2^53.
    const n1 = uhi * 65536 + (ulo >>> 16);
    const q1 = Math.floor(n1 / ud), r1 = n1 - q1 * ud;
    const n0 = r1 * 65536 + (ulo & 0xffff);
    const q0 = Math.floor(n0 / ud), r0 = n0 - q0 * ud;
    divQuot = i32(q1 * 65536 + q0); divRem = i32(r0);
    return true;
  }
  const n = (u64(u32(hi)) << 32) | u64(u32(lo));
  const q = n / u64(u32(d));
  if (q > 0xffffffff) return false;
  divQuot = i32(q); divRem = i32(n - q * u64(u32(d)));
  return true;
}
export function divs64(hi: i32, lo: i32, d: i32): bool {
  if (ASC_TARGET == 0) {
    const neg = hi < 0;
    let nhi = hi, nlo = lo;
    if (neg) { nlo = i32(-lo); nhi = i32(~hi + (lo == 0 ? 1 : 0)); }
    const dneg = d < 0;
    const ad = dneg ? i32(-d) : d;
    if (!divu64(nhi, nlo, ad)) return false;
    let q = divQuot, r = divRem;
    const qneg = neg != dneg;
    if (qneg ? u32(q) > 0x80000000 : u32(q) > 0x7fffffff) return false;
    divQuot = qneg ? i32(-q) : q;
    divRem = neg ? i32(-r) : r;
    return true;
  }
  const n = (i64(hi) << 32) | i64(u32(lo));
  if (d == -1 && n == i64.MIN_VALUE) return false;
  const q = n / i64(d);
  if (q > 0x7fffffff || q < -0x80000000) return false;
  divQuot = i32(q); divRem = i32(n % i64(d));
  return true;
}

export function clz32(x: i32): i32 {
  if (ASC_TARGET == 0) return Math.clz32(x);
  return clz<i32>(x);
}
export function ctz32(x: i32): i32 {
  if (ASC_TARGET == 0) return x == 0 ? 32 : 31 - Math.clz32(x & -x);
  return ctz<i32>(x);
}
export function popcnt32(x: i32): i32 {
  if (ASC_TARGET == 0) {
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return popcnt<i32>(x);
}
/** f64 → unsigned 32-bit wrap (for counters kept in f64). */
export function f64lo(x: f64): i32 {
  return i32(u32(x % 4294967296.0));
}
export function f64hi(x: f64): i32 {
  return i32(u32(Math.floor(x / 4294967296.0)));
}

// IEEE binary64 bit patterns and f64 memory slots (the x87 register file).
// The JS engine must never let a NaN pass through a Number where its bits
// matter (DataView.setFloat64 may canonicalise it): NaNs are moved as words.
const f64scratch = new DataView(new ArrayBuffer(8)); // JS engine only

/** High word (sign, exponent, top 20 fraction bits) of x. */
export function f64bitsHi(x: f64): i32 {
  if (ASC_TARGET == 0) { f64scratch.setFloat64(0, x, true); return f64scratch.getInt32(4, true); }
  return i32(reinterpret<i64>(x) >>> 32);
}
/** Low word (low 32 fraction bits) of x. */
export function f64bitsLo(x: f64): i32 {
  if (ASC_TARGET == 0) { f64scratch.setFloat64(0, x, true); return f64scratch.getInt32(0, true); }
  return i32(reinterpret<i64>(x));
}
/** The f64 with the given words (callers never build NaNs this way). */
export function f64fromBits(hi: i32, lo: i32): f64 {
  if (ASC_TARGET == 0) { f64scratch.setInt32(4, hi, true); f64scratch.setInt32(0, lo, true); return f64scratch.getFloat64(0, true); }
  return reinterpret<f64>((i64(hi) << 32) | i64(u32(lo)));
}
/** Aligned f64 load/store (p % 8 == 0) in core memory. */
export function ldf64(p: i32): f64 {
  if (ASC_TARGET == 0) return memView.getFloat64(p, true);
  return load<f64>(p);
}
export function stf64(p: i32, v: f64): void {
  if (ASC_TARGET == 0) { memView.setFloat64(p, v, true); return; }
  store<f64>(p, v);
}

// Direct port I/O (cpu/ops/io.ts): ports the VMM passes through are served by a host
// function called synchronously from the instruction, without an exit. The Wasm engine
// imports the two functions (module "portable"); the JS engine is handed them by the
// engine loader through jsAttachDirectPorts.
declare function hostPortIn(port: i32, size: i32): i32;
declare function hostPortOut(port: i32, size: i32, value: i32): void;
function noPortIn(port: i32, size: i32): i32 { return -1; }
function noPortOut(port: i32, size: i32, value: i32): void {}
let jsPortIn: (port: i32, size: i32) => i32 = noPortIn;
let jsPortOut: (port: i32, size: i32, value: i32) => void = noPortOut;

/** JS engine only: the host's handlers for direct ports. */
export function jsAttachDirectPorts(read: (port: i32, size: i32) => i32, write: (port: i32, size: i32, value: i32) => void): void {
  if (ASC_TARGET == 0) { jsPortIn = read; jsPortOut = write; }
}
export function directPortIn(port: i32, size: i32): i32 {
  if (ASC_TARGET == 0) return jsPortIn(port, size);
  return hostPortIn(port, size);
}
export function directPortOut(port: i32, size: i32, value: i32): void {
  if (ASC_TARGET == 0) { jsPortOut(port, size, value); return; }
  hostPortOut(port, size, value);
}
