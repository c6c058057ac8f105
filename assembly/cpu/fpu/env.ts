// Control instructions: FLDCW FNSTCW FNSTSW FNCLEX FNINIT, and the
// environment and state images of FNSTENV/FLDENV/FNSAVE/FRSTOR in their
// four layouts (16/32-bit operand size × protected/real-or-V86 mode; SDM
// Vol. 1 §8.1.10, Figures 8-9 to 8-12), and FXSAVE/FXRSTOR's (Table 10-2).
// Reserved fields are written as 0.
import { protectedMode, flagsRaw, VM, cr4, CR4_OSFXSR } from "../../state";
import { aborted } from "../../fault";
import { opsize } from "../decode";
import { rd, wr, probe, fromF80, toF80, img0, img1, img2 } from "./formats";
import {
  cw, sw, empty, fip, fcs, fdp, fds, fop, STAGE, setCw, setSw, setTop, setEmpty, setPointers, statusWord,
  updateSummary, finit, regp, hiw, low, copySlot, stp, phys, exact, setExact, setStale, rawp, rawSe, putRaw,
} from "./state";
import { imageTag } from "./alias";
import { ld32a, st32a, st32, st16 } from "../../portable";
import { raise, GP } from "../../fault";
import { XMM, FPU_DEBUG } from "../../layout";
import { mxcsr, setMxcsr, MXCSR_MASK, XMM_STAGE } from "../sse/state";

function realFormat(): bool { return !protectedMode || (flagsRaw & VM) != 0; }
function envBytes(): i32 { return opsize == 4 ? 28 : 14; }

/** Tag word: 00 valid, 01 zero, 10 special (NaN, infinity), 11 empty; by physical register. */
export function tagWord(): i32 {
  let t = 0;
  for (let i = 7; i >= 0; i--) {
    t <<= 2;
    if (((empty >> i) & 1) != 0) { t |= 3; continue; }
    if (((exact >> i) & 1) != 0) { t |= imageTag(i); continue; }
    const p = regp(i);
    if ((hiw(p) & 0x7ff00000) == 0x7ff00000) t |= 2;
    else if (((hiw(p) & 0x7fffffff) | low(p)) == 0) t |= 1;
  }
  return t;
}
function emptyFromTags(t: i32): i32 {
  let e = 0;
  for (let i = 0; i < 8; i++) if (((t >> (i << 1)) & 3) == 3) e |= 1 << i;
  return e;
}

/** Write the environment at the operand (already probed). */
function storeEnv(): void {
  const sw16 = statusWord(), tw = tagWord();
  if (opsize == 4) {
    wr(0, 4, cw); wr(4, 4, sw16); wr(8, 4, tw);
    if (realFormat()) {
      const ipl = i32((fcs << 4) + fip), dpl = i32((fds << 4) + fdp);
      wr(12, 4, ipl & 0xffff); wr(16, 4, ((ipl >>> 16) << 12) | fop);
      wr(20, 4, dpl & 0xffff); wr(24, 4, (dpl >>> 16) << 12);
    } else {
      wr(12, 4, fip); wr(16, 4, fcs | (fop << 16)); wr(20, 4, fdp); wr(24, 4, fds);
    }
  } else {
    wr(0, 2, cw); wr(2, 2, sw16); wr(4, 2, tw);
    if (realFormat()) {
      const ipl = i32((fcs << 4) + fip), dpl = i32((fds << 4) + fdp);
      wr(6, 2, ipl); wr(8, 2, (((ipl >>> 16) & 0xf) << 12) | fop);
      wr(10, 2, dpl); wr(12, 2, ((dpl >>> 16) & 0xf) << 12);
    } else {
      wr(6, 2, fip); wr(8, 2, fcs); wr(10, 2, fdp); wr(12, 2, fds);
    }
  }
}

// Environment read by loadEnvRead, applied by applyEnv (after every read succeeded).
let ecw: i32 = 0, esw: i32 = 0, etw: i32 = 0, envIp: i32 = 0, ecs: i32 = 0, edp: i32 = 0, eds: i32 = 0, eop: i32 = 0;

function readEnv(): void {
  if (opsize == 4) {
    ecw = rd(0, 2); if (aborted) return;
    esw = rd(4, 2); if (aborted) return;
    etw = rd(8, 2); if (aborted) return;
    const a = rd(12, 4); if (aborted) return;
    const b = rd(16, 4); if (aborted) return;
    const c = rd(20, 4); if (aborted) return;
    const d = rd(24, 4); if (aborted) return;
    if (realFormat()) { envIp = (a & 0xffff) | ((b >>> 12) << 16); ecs = 0; eop = b & 0x7ff; edp = (c & 0xffff) | ((d >>> 12) << 16); eds = 0; }
    else { envIp = a; ecs = b & 0xffff; eop = (b >>> 16) & 0x7ff; edp = c; eds = d & 0xffff; }
  } else {
    ecw = rd(0, 2); if (aborted) return;
    esw = rd(2, 2); if (aborted) return;
    etw = rd(4, 2); if (aborted) return;
    const a = rd(6, 2); if (aborted) return;
    const b = rd(8, 2); if (aborted) return;
    const c = rd(10, 2); if (aborted) return;
    const d = rd(12, 2); if (aborted) return;
    if (realFormat()) { envIp = a | ((b >>> 12) << 16); ecs = 0; eop = b & 0x7ff; edp = c | ((d >>> 12) << 16); eds = 0; }
    else { envIp = a; ecs = b; eop = 0; edp = c; eds = d; }
  }
}
function applyEnv(): void {
  setCw(ecw);
  setSw(esw);
  setTop((esw >> 11) & 7);
  setEmpty(emptyFromTags(etw));
  setPointers(envIp, ecs, edp, eds, eop);
  updateSummary();
}

/** FNSTENV: store, then mask every exception (SDM). */
export function fnstenv(): void {
  if (!probe(envBytes())) return;
  storeEnv();
  setCw(cw | 0x3f);
}
export function fldenv(): void {
  readEnv(); if (aborted) return;
  applyEnv();
}

/** FNSAVE: environment, ST(0)..ST(7) as 80-bit values, then FNINIT. */
export function fnsave(): void {
  const n = envBytes();
  if (!probe(n + 80)) return;
  storeEnv();
  for (let i = 0; i < 8; i++) storeImage(i, n + i * 10);
  finit();
}
/** FRSTOR: everything is read (the registers into staging) before anything changes. */
export function frstor(): void {
  readEnv(); if (aborted) return;
  const n = envBytes();
  if (!readImages(n, 10)) return;
  applyEnv();
  loadImages();
}

/**
 * FXSAVE (0F AE /0; the operand 16-byte aligned and probed by the caller): the x87, MMX and SSE
 * state in the 512-byte layout of SDM Vol. 1 Table 10-2 — the tag word abridged to one bit per
 * physical register (1 = not empty), each ST(i) in a 16-byte slot, MXCSR and the bits it
 * implements, and the XMM registers when CR4.OSFXSR is set (without it they are not saved:
 * the SDM leaves that to the implementation, QEMU and this CPU skip them).
 */
export function fxsave(): void {
  wr(0, 2, cw); wr(2, 2, statusWord()); wr(4, 2, ~empty & 0xff); wr(6, 2, fop);
  wr(8, 4, fip); wr(12, 4, fcs); wr(16, 4, fdp); wr(20, 4, fds);
  wr(24, 4, mxcsr); wr(28, 4, MXCSR_MASK);
  for (let i = 0; i < 8; i++) {
    const o = 32 + (i << 4);
    storeImage(i, o);
    wr(o + 10, 2, 0); wr(o + 12, 4, 0);
  }
  if ((cr4 & CR4_OSFXSR) == 0) return;
  for (let k = 0; k < 0x80; k += 4) wr(160 + k, 4, ld32a(XMM + k));
}
/**
 * FXRSTOR (0F AE /1; the operand aligned): everything is read before anything changes; MXCSR
 * with a reserved bit set is #GP(0). The XMM registers only with CR4.OSFXSR (as FXSAVE).
 */
export function fxrstor(): void {
  rd(508, 4); if (aborted) return; // the operand's far end: its limit and page checked before anything changes
  const c = rd(0, 2); if (aborted) return;
  const st = rd(2, 2); if (aborted) return;
  const tags = rd(4, 1); if (aborted) return;
  const op = rd(6, 2); if (aborted) return;
  const ip = rd(8, 4); if (aborted) return;
  const ipSel = rd(12, 2); if (aborted) return;
  const dp = rd(16, 4); if (aborted) return;
  const dpSel = rd(20, 2); if (aborted) return;
  const mx = rd(24, 4); if (aborted) return;
  if ((mx & ~MXCSR_MASK) != 0) { raise(GP, 0); return; }
  if (!readImages(32, 16)) return;
  const withXmm = (cr4 & CR4_OSFXSR) != 0;
  if (withXmm) {
    for (let k = 0; k < 0x80; k += 4) {
      const v = rd(160 + k, 4); if (aborted) return;
      st32a(XMM_STAGE + k, v);
    }
  }
  setCw(c); setSw(st); setTop((st >> 11) & 7); setEmpty(~tags & 0xff);
  setPointers(ip, ipSel, dp, dpSel, op);
  updateSummary();
  loadImages();
  setMxcsr(mx);
  if (withXmm) for (let k = 0; k < 0x80; k += 4) st32a(XMM + k, ld32a(XMM_STAGE + k));
}
/**
 * For a debugger (src/debug/gdb-stub.ts): the x87 state in GDB's i386 register order at layout
 * FPU_DEBUG — ST(0)-ST(7) as 80-bit images 10 bytes apart, then FCW, FSW (with TOP), the tag word,
 * FCS, FIP, FDS, FDP, FOP and MXCSR, an i32 each. Changes no state the guest can see.
 */
export function fpuDebugState(): void {
  for (let i = 0; i < 8; i++) {
    const o = FPU_DEBUG + i * 10;
    image(i);
    st32(o, imageLo); st32(o + 4, imageHi); st16(o + 8, imageSe);
  }
  const o = FPU_DEBUG + 80;
  st32(o, cw); st32(o + 4, statusWord()); st32(o + 8, tagWord()); st32(o + 12, fcs); st32(o + 16, fip);
  st32(o + 20, fds); st32(o + 24, fdp); st32(o + 28, fop); st32(o + 32, mxcsr);
}

// ---- register images -------------------------------------------------------------------------

let imageLo: i32 = 0, imageHi: i32 = 0, imageSe: i32 = 0;
/** ST(i) as an 80-bit value into imageLo/imageHi/imageSe: the register's exact image when it holds one. */
function image(i: i32): void {
  const r = phys(i);
  if (((exact >> r) & 1) != 0) {
    const p = rawp(r);
    imageLo = ld32a(p); imageHi = ld32a(p + 4); imageSe = rawSe(r);
    return;
  }
  toF80(stp(i));
  imageLo = img0; imageHi = img1; imageSe = img2;
}
/** ST(i) as an 80-bit value at offset o of the operand. */
function storeImage(i: i32, o: i32): void {
  image(i);
  wr(o, 4, imageLo); wr(o + 4, 4, imageHi); wr(o + 8, 2, imageSe);
}

const stagedImage = new StaticArray<i32>(24);
/** Read ST(0)..ST(7)'s 80-bit images at offsets base + stride·i into staging; false when a read faulted. */
function readImages(base: i32, stride: i32): bool {
  for (let i = 0; i < 8; i++) {
    const o = base + i * stride;
    const lo = rd(o, 4); if (aborted) return false;
    const hi = rd(o + 4, 4); if (aborted) return false;
    const se = rd(o + 8, 2); if (aborted) return false;
    fromF80(lo, hi, se, STAGE + (i << 3));
    unchecked(stagedImage[i * 3] = lo); unchecked(stagedImage[i * 3 + 1] = hi); unchecked(stagedImage[i * 3 + 2] = se);
  }
  return true;
}
/**
 * The staged images into the registers, TOP already loaded: each keeps its exact image beside
 * its double, so FNSAVE/FXSAVE give back what was loaded, MMX registers included.
 */
function loadImages(): void {
  for (let i = 0; i < 8; i++) {
    copySlot(stp(i), STAGE + (i << 3));
    putRaw(phys(i), unchecked(stagedImage[i * 3]), unchecked(stagedImage[i * 3 + 1]), unchecked(stagedImage[i * 3 + 2]));
  }
  setExact(0xff);
  setStale(0);
}

export function fldcw(): void {
  const v = rd(0, 2); if (aborted) return;
  setCw(v);
  updateSummary();
}
export function fnstcw(): void {
  if (!probe(2)) return;
  wr(0, 2, cw);
}
export function fnstswMem(): void {
  if (!probe(2)) return;
  wr(0, 2, statusWord());
}
export function fnclex(): void {
  setSw(sw & ~0xff);
  updateSummary();
}
export function fninit(): void { finit(); }
