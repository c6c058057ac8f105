// The MMX registers are the x87 registers' significands (SDM Vol. 1 §9.5). x87 code works
// on the f64 slots, MMX code on the exact images (state.ts RAW): each side brings the
// other's view up to date when it starts, so neither pays for the aliasing in between.
import { ld32a } from "../../portable";
import { exact, stale, setExact, setStale, regp, rawp, rawSe, putRaw } from "./state";
import { fromF80, toF80, img0, img1, img2 } from "./formats";

/** Before an x87 instruction: registers an MMX instruction wrote get their f64 slots (FLD m80's rounding). */
export function refreshSlots(): void {
  const s = stale;
  if (s == 0) return;
  for (let i = 0; i < 8; i++) {
    if (((s >> i) & 1) == 0) continue;
    const p = rawp(i);
    fromF80(ld32a(p), ld32a(p + 4), rawSe(i), regp(i));
  }
  setStale(0);
  setExact(exact | s); // (fromF80's store into the slot ended the image; it is still the contents)
}

/** Before an MMX instruction: every register gets its exact image (an f64's is exact: FST m80). */
export function captureImages(): void {
  const missing = ~exact & 0xff;
  if (missing == 0) return;
  for (let i = 0; i < 8; i++) {
    if (((missing >> i) & 1) == 0) continue;
    toF80(regp(i));
    putRaw(i, img0, img1, img2);
  }
  setExact(0xff);
}

/** The x87 tag (00 valid, 01 zero, 10 special) of a register's exact image. */
export function imageTag(physReg: i32): i32 {
  const se = rawSe(physReg), p = rawp(physReg);
  const lo = ld32a(p), hi = ld32a(p + 4);
  const e = se & 0x7fff;
  if (e == 0x7fff) return 2;
  if (e == 0) return (lo | hi) == 0 ? 1 : 2; // zero, or a denormal
  return hi < 0 ? 0 : 2;                     // normal, or an unnormal (integer bit clear)
}
