// SSE state: XMM0-XMM7 in core memory (layout XMM: the VMM and vcpu.ts copy them as bytes)
// and MXCSR (SDM Vol. 1 §10.2.3). Both are saved per vCPU and by FXSAVE.
import { XMM } from "../../layout";
import { ld8, st8, ld16, st16, ld32a, st32a } from "../../portable";

/** XMM register i's four dwords (element 0 lowest). */
export function xmmp(i: i32): i32 { return XMM + ((i & 7) << 4); }
/** Scratch: the source operand as read (16 bytes), the result being built (16 bytes). */
export const SRC: i32 = XMM + 0x80;
export const RES: i32 = XMM + 0x90;
/** FXRSTOR's XMM registers as read, before any is loaded (0x80 bytes). */
export const XMM_STAGE: i32 = XMM + 0xa0;

export function el(p: i32, k: i32): i32 { return ld32a(p + (k << 2)); }
export function setEl(p: i32, k: i32, v: i32): void { st32a(p + (k << 2), v); }
export function copy16(dst: i32, src: i32): void { for (let k = 0; k < 16; k += 4) st32a(dst + k, ld32a(src + k)); }

// Elements of the byte images in core memory the SSSE3/SSE4 instructions work on (ssse3.ts, sse41.ts, sse42.ts).
/** The signed byte or word at p. */
export function sbyte(p: i32): i32 { return (ld8(p) << 24) >> 24; }
export function sword(p: i32): i32 { return (ld16(p) << 16) >> 16; }
/** The signed element of `size` bytes (1, 2 or 4) at p. */
export function lane(p: i32, size: i32): i32 { return size == 1 ? sbyte(p) : size == 2 ? sword(p) : ld32a(p); }
/** Store the low `size` bytes (1, 2 or 4) of v at p. */
export function putLane(p: i32, size: i32, v: i32): void {
  if (size == 1) st8(p, v); else if (size == 2) st16(p, v); else st32a(p, v);
}

// MXCSR: flags 0-5 (IE DE ZE OE UE PE), DAZ (6), masks 7-12, rounding control 13-14, FTZ (15).
export const MX_IE: i32 = 0x01;
export const MX_DE: i32 = 0x02;
export const MX_ZE: i32 = 0x04;
export const MX_OE: i32 = 0x08;
export const MX_UE: i32 = 0x10;
export const MX_PE: i32 = 0x20;
export const MX_DAZ: i32 = 0x40;
export const MX_FTZ: i32 = 0x8000;
/** The bits this CPU implements (FXSAVE's MXCSR_MASK): all 16, DAZ included. */
export const MXCSR_MASK: i32 = 0xffff;
export const MXCSR_RESET: i32 = 0x1f80; // every exception masked, round to nearest

export let mxcsr: i32 = MXCSR_RESET;

/** Exception flags the current instruction's elements raised (float32.ts, float64.ts); exec.ts commits them. */
export let flags: i32 = 0;
export function signal(f: i32): void { flags |= f; }
export function clearFlags(): void { flags = 0; }
export function setMxcsr(v: i32): void { mxcsr = v & MXCSR_MASK; }
/** The rounding control, encoded as the x87's (00 nearest, 01 down, 10 up, 11 toward zero). */
export function mxRound(): i32 { return (mxcsr >> 13) & 3; }
/** Flags whose exception is unmasked. */
export function unmasked(flags: i32): i32 { return flags & ~(mxcsr >> 7) & 0x3f; }

/** Power-on/RESET and INIT: XMM registers +0, MXCSR 1F80h (SDM Vol. 3 Table 9-1). */
export function sseReset(): void {
  for (let k = 0; k < 0x80; k += 4) st32a(XMM + k, 0);
  mxcsr = MXCSR_RESET;
}
