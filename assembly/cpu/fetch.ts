// Instruction fetch. A window of EIP values [winStart, winStart + winLen)
// known to be readable RAM/ROM inside the CS limit and one page is cached
// with its host delta, so the common fetch is one compare and one load.
// Fetching reads guest memory every time, so self-modifying code is seen.
import { ld8, ld16, ld32, ld32a, st32a } from "../portable";
import { eip, setEip, segBase, segLimit, CS, cpl, cplUserMask } from "../state";
import { translate, ACC_FETCH, ACC_USER } from "../mmu/walk";
import { tlbHost, TLB_NO_EXEC } from "../mmu/tlb";
import { resKind, resHost, PHYS_MMIO } from "../memory";
import { aborted, raise, GP, requestRestart } from "../fault";
import { setExit, setExitField, EXIT_UNIMPLEMENTED, X_DETAIL } from "../exit";

let winStart: i32 = 0;
let winLen: i32 = 0;
let winDelta: i32 = 0;

export function invalidateFetch(): void { winLen = 0; }

/**
 * Host address of the byte at CS:EIP when the fetch window covers the next
 * `need` bytes (-1 otherwise: the caller interprets instead of using the cache).
 */
export function fetchHostAddress(need: i32): i32 {
  const e = eip;
  let d = i32(e - winStart);
  if (u32(d) >= u32(winLen)) { if (!refill()) return -1; d = 0; }
  if (d + need > winLen) return -1;
  return i32(winDelta + e);
}
/** Bytes left in the current fetch window from EIP (0 when EIP is outside it). */
export function fetchWindowLeft(): i32 {
  const d = i32(eip - winStart);
  return u32(d) < u32(winLen) ? winLen - d : 0;
}

function refill(): bool {
  const e = eip;
  const limit = segLimit(CS);
  if (u32(e) > u32(limit)) { raise(GP, 0); return false; }
  const lin = i32(segBase(CS) + e);
  // Code moves between pages all the time: a TLB entry that allows the fetch spares the walk.
  let host = tlbHost(lin, TLB_NO_EXEC | cplUserMask);
  if (host == -1) {
    const pa = translate(lin, ACC_FETCH | (cpl == 3 ? ACC_USER : 0));
    if (aborted) return false;
    if (resKind == PHYS_MMIO) {
      setExit(EXIT_UNIMPLEMENTED, pa, 0, 0);
      setExitField(X_DETAIL, 2); // instruction fetch from MMIO
      requestRestart();
      return false;
    }
    host = resHost + (pa & 0xfff);
  }
  const inPage = 0x1000 - (lin & 0xfff);
  const toLimit = u32(i32(limit - e)) >= u32(inPage) ? inPage : i32(limit - e) + 1;
  winStart = e;
  winLen = toLimit;
  winDelta = i32(host - e);
  return true;
}

// Raw fetches read guest memory at CS:EIP. The decoder uses them for
// prefixes, opcodes and ModRM/SIB/displacements; the instruction bodies use
// fetch8/16/32 below, whose values the translation cache records once and
// replays afterwards (tcache.ts).
export function rawFetch8(): i32 {
  const e = eip;
  if (u32(i32(e - winStart)) >= u32(winLen)) { if (!refill()) return 0; }
  setEip(i32(e + 1));
  return ld8(winDelta + e);
}
export function rawFetch16(): i32 {
  const e = eip;
  const d = i32(e - winStart);
  if (d >= 0 && d + 1 < winLen) { setEip(i32(e + 2)); return ld16(winDelta + e); }
  const lo = rawFetch8(); if (aborted) return 0;
  return lo | (rawFetch8() << 8);
}
export function rawFetch32(): i32 {
  const e = eip;
  const d = i32(e - winStart);
  if (d >= 0 && d + 3 < winLen) { setEip(i32(e + 4)); return ld32(winDelta + e); }
  const lo = rawFetch16(); if (aborted) return 0;
  return lo | (rawFetch16() << 16);
}

// ---- record / replay for the translation cache ------------------------------------

export const FETCH_DIRECT: i32 = 0;
export const FETCH_RECORD: i32 = 1;
export const FETCH_REPLAY: i32 = 2;
export let fetchMode: i32 = FETCH_DIRECT;
/** Where recorded values go / come from: a record in core memory (tcache.ts layout). */
let recPtr: i32 = 0;
let recCount: i32 = 0;
/** Values an instruction body may fetch (immediates, second opcode byte): at most 4. */
export const REC_MAX_VALUES: i32 = 4;
/** Byte offsets inside a record (8 × i32). */
export const REC_HEADER: i32 = 0;
export const REC_POS: i32 = 4;
export const REC_MODRM: i32 = 8;
export const REC_DISP: i32 = 12;
export const REC_VALUES: i32 = 16;
// Header word: opcode byte in bits 0-7, then the prefixes, then the fast form (fastforms.ts) in bits 24-31.
export const H_OPSIZE4: i32 = 1 << 8;
export const H_ADSIZE32: i32 = 1 << 9;
export const H_LOCK: i32 = 1 << 10;
// bits 12-14: segment override + 1; bits 16-23: REP prefix byte.

export function startRecording(rec: i32): void { fetchMode = FETCH_RECORD; recPtr = rec; recCount = 0; }
export function startReplay(rec: i32): void { fetchMode = FETCH_REPLAY; recPtr = rec; recCount = 0; }
export function stopRecordReplay(): void { fetchMode = FETCH_DIRECT; }
/** Number of values recorded, or -1 if the instruction fetched more than a record holds. */
export function recordedCount(): i32 { return recCount; }

/** EIP after the last byte the instruction being recorded has fetched. */
let lastFetchEnd: i32 = 0;
export function noteFetchEnd(): void { lastFetchEnd = eip; }
export function fetchEnd(): i32 { return lastFetchEnd; }

function record(v: i32): i32 {
  lastFetchEnd = eip;
  if (recCount < REC_MAX_VALUES) st32a(recPtr + REC_VALUES + (recCount << 2), v);
  recCount++;
  return v;
}
function replay(): i32 {
  const v = ld32a(recPtr + REC_VALUES + (recCount << 2));
  recCount++;
  return v;
}
export function replayModrmWord(): i32 { return ld32a(recPtr + REC_MODRM); }
export function replayDisp(): i32 { return ld32a(recPtr + REC_DISP); }

export function fetch8(): i32 {
  if (fetchMode == FETCH_DIRECT) return rawFetch8();
  if (fetchMode == FETCH_REPLAY) return replay();
  return record(rawFetch8());
}
export function fetch16(): i32 {
  if (fetchMode == FETCH_DIRECT) return rawFetch16();
  if (fetchMode == FETCH_REPLAY) return replay();
  return record(rawFetch16());
}
export function fetch32(): i32 {
  if (fetchMode == FETCH_DIRECT) return rawFetch32();
  if (fetchMode == FETCH_REPLAY) return replay();
  return record(rawFetch32());
}
/** Fetch an immediate of operand size sz (1, 2, 4), zero-extended. */
export function fetchImm(sz: i32): i32 { return sz == 4 ? fetch32() : sz == 2 ? fetch16() : fetch8(); }
/** Fetch a sign-extended imm8. */
export function fetchS8(): i32 { return (fetch8() << 24) >> 24; }
