// Instruction fetch. A window of EIP values [winStart, winStart + winLen)
// known to be readable RAM/ROM inside the CS limit and one page is cached
// with its host delta, so the common fetch is one compare and one load.
// Fetching reads guest memory every time, so self-modifying code is seen.
import { ld8, ld16, ld32 } from "../portable";
import { eip, setEip, segBase, segLimit, CS, cpl } from "../state";
import { translate, ACC_FETCH, ACC_USER } from "../mmu/walk";
import { physKind, physHost, PHYS_MMIO } from "../memory";
import { aborted, raise, GP, requestRestart } from "../fault";
import { setExit, setExitField, EXIT_UNIMPLEMENTED, X_DETAIL } from "../exit";

let winStart: i32 = 0;
let winLen: i32 = 0;
let winDelta: i32 = 0;

export function invalidateFetch(): void { winLen = 0; }

function refill(): bool {
  const e = eip;
  const limit = segLimit(CS);
  if (u32(e) > u32(limit)) { raise(GP, 0); return false; }
  const lin = i32(segBase(CS) + e);
  const pa = translate(lin, ACC_FETCH | (cpl == 3 ? ACC_USER : 0));
  if (aborted) return false;
  const kind = physKind(pa);
  if (kind == PHYS_MMIO) {
    setExit(EXIT_UNIMPLEMENTED, pa, 0, 0);
    setExitField(X_DETAIL, 2); // instruction fetch from MMIO
    requestRestart();
    return false;
  }
  const inPage = 0x1000 - (lin & 0xfff);
  const toLimit = u32(i32(limit - e)) >= u32(inPage) ? inPage : i32(limit - e) + 1;
  winStart = e;
  winLen = toLimit;
  winDelta = i32(physHost(pa, kind) - e);
  return true;
}

export function fetch8(): i32 {
  const e = eip;
  if (u32(i32(e - winStart)) >= u32(winLen)) { if (!refill()) return 0; }
  setEip(i32(e + 1));
  return ld8(winDelta + e);
}
export function fetch16(): i32 {
  const e = eip;
  const d = i32(e - winStart);
  if (d >= 0 && d + 1 < winLen) { setEip(i32(e + 2)); return ld16(winDelta + e); }
  const lo = fetch8(); if (aborted) return 0;
  return lo | (fetch8() << 8);
}
export function fetch32(): i32 {
  const e = eip;
  const d = i32(e - winStart);
  if (d >= 0 && d + 3 < winLen) { setEip(i32(e + 4)); return ld32(winDelta + e); }
  const lo = fetch16(); if (aborted) return 0;
  return lo | (fetch16() << 16);
}
/** Fetch an immediate of operand size sz (1, 2, 4), zero-extended. */
export function fetchImm(sz: i32): i32 { return sz == 4 ? fetch32() : sz == 2 ? fetch16() : fetch8(); }
/** Fetch a sign-extended imm8. */
export function fetchS8(): i32 { return (fetch8() << 24) >> 24; }
