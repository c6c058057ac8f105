// x87 FPU state: the register stack, tags, status and control words, the
// last-instruction pointers, exception signalling and #MF/FERR#.
//
// Precision model (see README "x87 FPU"): registers hold IEEE binary64 (f64)
// values, not 80-bit extended ones, as in v86. Consequences:
//  - arithmetic rounds to 53 bits whatever the precision control says for
//    PC=11 (64 bits); PC=10 (53 bits) is exact x87 behaviour; PC=00 (24
//    bits) rounds correctly to 24 bits (from the f64 result and the sign of
//    its error, so without double rounding) but keeps f64's exponent range;
//  - the rounding control (RC) is honoured by every arithmetic operation,
//    by FRNDINT, FIST(P), FBSTP, FST m32 and the constants (cpu/fpu/round.ts);
//  - the exponent range is f64's: results beyond ±1.8e308 overflow (OE) and
//    results below 2^-1022 underflow (UE, denormalised), where a real x87
//    keeps 15 exponent bits; an unmasked OE/UE stores the masked result;
//  - FLD m80 / FILD m64 / FBLD round to nearest-even to 53 bits (silently:
//    a real x87 loads them exactly); 80-bit values beyond f64's range load
//    as ±inf / ±0; unsupported 80-bit encodings (pseudo-NaN, pseudo-inf,
//    unnormals) load as the QNaN indefinite; NaN payloads keep their top 52
//    fraction bits. FST(P) m80 is exact (every f64 is an 80-bit value);
//  - the denormal-operand exception (DE) is raised for m32/m64 denormal
//    memory operands only (an f64 denormal in a register is an 80-bit normal);
//  - PE and C1 ("rounded up") describe the f64 result, computed exactly with
//    error-free transformations (round.ts).
// Both engines are bit-identical: NaNs never travel through a Number where
// their bits matter (they are moved as words, and every NaN result is built
// from bits by the x87 rules), out-of-range f64→int conversions are checked
// before converting, and the transcendental functions are our own portable
// fdlibm ports (libm.ts), not the engines' Math functions.
import { FPU } from "../../layout";
import { ld32a, st32a, ldf64, stf64 } from "../../portable";
import { cr0, CR0_NE, instrEip, segSel, CS } from "../../state";
import { raiseNoCode, MF } from "../../fault";
import { modrm, eaOff, eaSeg } from "../decode";
import { setExit, exitReason, EXIT_NONE, EXIT_BUDGET } from "../../exit";

// Status word
export const IE: i32 = 0x01; // invalid operation
export const DE: i32 = 0x02; // denormal operand
export const ZE: i32 = 0x04; // zero divide
export const OE: i32 = 0x08; // overflow
export const UE: i32 = 0x10; // underflow
export const PE: i32 = 0x20; // precision (inexact)
export const SF: i32 = 0x40; // stack fault
export const ES: i32 = 0x80; // error summary
export const C0: i32 = 0x100;
export const C1: i32 = 0x200;
export const C2: i32 = 0x400;
export const C3: i32 = 0x4000;
export const BUSY: i32 = 0x8000;
export const CC_MASK: i32 = C0 | C1 | C2 | C3;
export const EXC_MASK: i32 = 0x3f;

// Rounding control (CW bits 11:10)
export const RC_NEAR: i32 = 0;
export const RC_DOWN: i32 = 1;
export const RC_UP: i32 = 2;
export const RC_CHOP: i32 = 3;

/** Slots in core memory: 8 physical registers, then operand/result scratch. */
export const TMP: i32 = FPU + 64;   // memory operand, converted
export const TMP2: i32 = FPU + 72;  // second scratch operand
export const RES: i32 = FPU + 80;   // result of an operation
export const CONST0: i32 = FPU + 88; // +0.0 (FTST)
export const STAGE: i32 = FPU + 96;  // 8 slots: FRSTOR reads every register before changing any

export let cw: i32 = 0x40;
/** Status word without TOP (bits 13:11 stay zero here). */
export let sw: i32 = 0;
export let top: i32 = 0;
/** Bit i set: physical register i is empty (tag 11). */
export let empty: i32 = 0;
// Last non-control instruction: offset/selector of the instruction and of its memory operand, opcode.
export let fip: i32 = 0;
export let fcs: i32 = 0;
export let fdp: i32 = 0;
export let fds: i32 = 0;
export let fop: i32 = 0;
/** FERR# (CR0.NE=0 error reporting): asserted until the error summary clears. */
export let ferr: bool = false;
/** IGNNE# (the chipset's answer to a write of port 0xF0): pending errors are ignored. */
export let ignne: bool = false;

export function setCw(v: i32): void { cw = (v & ~0xe0c0) | 0x40; }
export function setSw(v: i32): void { sw = v & ~0x3800; }
export function setTop(v: i32): void { top = v & 7; }
export function setEmpty(v: i32): void { empty = v & 0xff; }
export function setPointers(ip: i32, cs: i32, dp: i32, ds: i32, op: i32): void {
  fip = ip; fcs = cs & 0xffff; fdp = dp; fds = ds & 0xffff; fop = op & 0x7ff;
}
export function rc(): i32 { return (cw >> 10) & 3; }
export function pc(): i32 { return (cw >> 8) & 3; }
/** FNSTSW: the status word with TOP. */
export function statusWord(): i32 { return (sw & ~0x3800) | (top << 11); }

// ---- registers ------------------------------------------------------------------

/** Physical register number of ST(i). */
export function phys(i: i32): i32 { return (top + i) & 7; }
/** Address of the f64 slot of ST(i). */
export function stp(i: i32): i32 { return FPU + (((top + i) & 7) << 3); }
export function regp(physReg: i32): i32 { return FPU + ((physReg & 7) << 3); }
export function isEmpty(i: i32): bool { return ((empty >> ((top + i) & 7)) & 1) != 0; }
export function setValid(i: i32): void { empty &= ~(1 << ((top + i) & 7)); }
export function free(i: i32): void { empty |= 1 << ((top + i) & 7); }

export function hiw(p: i32): i32 { return ld32a(p + 4); }
export function low(p: i32): i32 { return ld32a(p); }
export function val(p: i32): f64 { return ldf64(p); }
export function putBits(p: i32, hi: i32, lo: i32): void { st32a(p + 4, hi); st32a(p, lo); wrote(p); }
/** Store a value; a NaN here can only be an invalid-operation result: the QNaN indefinite. */
export function putVal(p: i32, x: f64): void {
  if (x != x) { putIndefinite(p); return; }
  stf64(p, x);
  wrote(p);
}
export function putIndefinite(p: i32): void { putBits(p, i32(0xfff80000), 0); }
export function copySlot(dst: i32, src: i32): void { st32a(dst, ld32a(src)); st32a(dst + 4, ld32a(src + 4)); wrote(dst); }

// ---- exact images: MMX registers, FRSTOR ----------------------------------------------------
// A register can hold what an f64 cannot: an MMX value (a 64-bit significand under an exponent
// of all ones, SDM Vol. 1 §9.5.1) or any 80-bit value FRSTOR loaded. Such a register keeps its
// exact image here — MMX register i is physical register i's significand — and its f64 slot is
// that image rounded as FLD m80 rounds it (cpu/fpu/alias.ts). FNSAVE stores the image; an x87
// write to the register (any store into its slot) ends it.

/** Significands (low dword, high dword) of the physical registers' images: MM0-MM7. */
export const RAW: i32 = FPU + 0xa0;
/** Sign and exponent (bits 15:0) of the images, one i32 each. */
export const RAW_SE: i32 = FPU + 0xe0;
/** Bit i: physical register i's contents are its image (its f64 slot their rounding). */
export let exact: i32 = 0;
/** Bit i: register i's f64 slot is not yet its image's rounding (an MMX write); x87 code derives it first. */
export let stale: i32 = 0;
export function setExact(v: i32): void { exact = v & 0xff; }
export function setStale(v: i32): void { stale = v & 0xff; }
export function rawp(physReg: i32): i32 { return RAW + ((physReg & 7) << 3); }
export function rawSe(physReg: i32): i32 { return ld32a(RAW_SE + ((physReg & 7) << 2)) & 0xffff; }
export function putRaw(physReg: i32, lo: i32, hi: i32, se: i32): void {
  const r = physReg & 7;
  st32a(RAW + (r << 3), lo); st32a(RAW + (r << 3) + 4, hi); st32a(RAW_SE + (r << 2), se & 0xffff);
}
/** A store into a register's f64 slot: the register no longer holds its image. */
function wrote(p: i32): void {
  const d = p - FPU;
  if (u32(d) < 64) exact &= ~(1 << (d >> 3));
}
export function isNaNAt(p: i32): bool {
  const h = ld32a(p + 4);
  return (h & 0x7ff00000) == 0x7ff00000 && ((h & 0xfffff) | ld32a(p)) != 0;
}
export function isSNaNAt(p: i32): bool { return isNaNAt(p) && (ld32a(p + 4) & 0x80000) == 0; }
export function signAt(p: i32): bool { return ld32a(p + 4) < 0; }

/** Push: TOP-1, the new ST(0) becomes valid (the caller writes it). */
export function push(): void { top = (top - 1) & 7; empty &= ~(1 << top); }
export function pop(): void { empty |= 1 << top; top = (top + 1) & 7; }
/** A push would overwrite a valid register (ST(7) not empty). */
export function pushWouldOverflow(): bool { return ((empty >> ((top - 1) & 7)) & 1) == 0; }

// ---- condition codes and exceptions ------------------------------------------------

export function setCC(mask: i32, bits: i32): void { sw = (sw & ~mask) | (bits & mask); }
export function setC1(on: bool): void { sw = on ? sw | C1 : sw & ~C1; }

/**
 * Record exception flags; sets ES/B when one of them is unmasked. Returns
 * true if an unmasked exception was raised (the caller then leaves the
 * destination and the stack unchanged for IE/ZE/DE).
 */
export function signal(flags: i32): bool {
  sw |= flags;
  if ((flags & ~cw & EXC_MASK) != 0) { sw |= ES | BUSY; return true; }
  return false;
}
/** Stack underflow (an empty register was read): IE|SF, C1=0. */
export function underflow(): bool { sw &= ~C1; return signal(IE | SF); }
/** Stack overflow (a push onto a valid register): IE|SF, C1=1. */
export function overflow(): bool { sw |= C1; return signal(IE | SF); }
export function masked(flag: i32): bool { return (cw & flag) != 0; }

/** ES/B after the control word or the flags were replaced (FLDCW, FLDENV, FRSTOR). */
export function updateSummary(): void {
  if ((sw & ~cw & EXC_MASK) != 0) sw |= ES | BUSY;
  else clearSummary();
}
/** Clear ES/B and release FERR#/IGNNE#. */
export function clearSummary(): void {
  sw &= ~(ES | BUSY);
  ferr = false;
  ignne = false;
}

/**
 * A waiting x87 instruction (or WAIT) found an unmasked exception pending.
 * CR0.NE=1: #MF. CR0.NE=0 (PC-compatible): assert FERR# so the VMM raises
 * IRQ13, and go on (as QEMU does); the run loop returns early so the VMM
 * sees it. Returns false when #MF was raised.
 */
export function checkPending(): bool {
  if ((sw & ES) == 0) return true;
  if ((cr0 & CR0_NE) != 0) { raiseNoCode(MF); return false; }
  if (!ferr && !ignne) {
    ferr = true;
    if (exitReason == EXIT_NONE) setExit(EXIT_BUDGET, 0, 0, 0);
  }
  return true;
}
/** FERR# level, for the VMM (IRQ13 on its rising edge). */
export function fpuFerr(): bool { return ferr; }
/** A write to port 0xF0: IGNNE# until the error summary clears (the pending error is then ignored). */
export function fpuIgnne(): void { if (ferr) { ignne = true; ferr = false; } }

/** Remember the last non-control instruction (FSTENV/FSAVE report it). */
export function noteInsn(op: i32, withMem: bool): void {
  fip = instrEip;
  fcs = segSel(CS);
  fop = ((op & 7) << 8) | (modrm & 0xff);
  if (withMem) { fdp = eaOff; fds = segSel(eaSeg); }
}

// ---- initialisation -------------------------------------------------------------------

/** FNINIT: the registers keep their contents. */
export function finit(): void {
  cw = 0x37f; sw = 0; top = 0; empty = 0xff;
  fip = 0; fcs = 0; fdp = 0; fds = 0; fop = 0;
  ferr = false; ignne = false;
}
/** Power-on/RESET (SDM Vol. 3 Table 9-1): CW 0040h, tag word 5555h (all zero, valid), registers +0. */
export function fpuReset(): void {
  finit();
  cw = 0x40;
  empty = 0;
  for (let i = 0; i < 8; i++) putBits(regp(i), 0, 0);
  putBits(CONST0, 0, 0);
  stale = 0;
}
