// Prefixes and ModRM/SIB decoding: the operand size, address size, segment
// and effective address of the current instruction.
import { reg32, reg16, DS, SS, EBX, EBP, ESI, EDI, ESP, getReg, setReg } from "../state";
import { fetch16, fetch32, rawFetch8, rawFetch16, rawFetch32, fetchMode, FETCH_REPLAY, replayModrmWord, replayDisp, FETCH_RECORD } from "./fetch";
import { recordModrm } from "../tcache";
import { aborted } from "../fault";
import { readV, writeV } from "./access";

/** Operand size in bytes (2 or 4) of the current instruction. */
export let opsize: i32 = 4;
export let adsize32: bool = true;
/** Segment override, or -1. */
export let segOverride: i32 = -1;
/** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
export let repPrefix: i32 = 0;
export let lockPrefix: bool = false;

export let modrm: i32 = 0;
export let modrmMod: i32 = 0;
export let modrmReg: i32 = 0;
export let modrmRm: i32 = 0;
/** Effective address of a memory operand: segment and offset. */
export let eaSeg: i32 = DS;
export let eaOff: i32 = 0;
/** The address uses ESP as its base (POP Ev then uses the incremented ESP). */
export let eaBaseEsp: bool = false;

export function resetPrefixes(default32: bool): void {
  opsize = default32 ? 4 : 2;
  adsize32 = default32;
  segOverride = -1;
  repPrefix = 0;
  lockPrefix = false;
}
export function setOpsize(v: i32): void { opsize = v; }
export function setAdsize32(v: bool): void { adsize32 = v; }
export function setSegOverride(v: i32): void { segOverride = v; }
export function setRepPrefix(v: i32): void { repPrefix = v; }
export function setLockPrefix(v: bool): void { lockPrefix = v; }

/** Segment for a string source or other DS-default operand. */
export function dataSeg(): i32 { return segOverride >= 0 ? segOverride : DS; }

// An effective address is decoded into a form — base and index registers,
// scale, displacement, default segment — and then evaluated against the
// registers. The translation cache (tcache.ts) keeps the form, so replaying
// a cached instruction evaluates it without decoding ModRM/SIB again.
const NO_REG: i32 = 8;
export let eaBase: i32 = NO_REG;
export let eaIndex: i32 = NO_REG;
export let eaScale: i32 = 0;
export let eaDisp: i32 = 0;
export let eaDefaultSeg: i32 = DS;

/** Fetch and split the ModRM byte; decode the effective address when mod != 3. */
export function decodeModrm(): void {
  if (fetchMode == FETCH_REPLAY) { replayModrm(); return; }
  const m = rawFetch8();
  if (aborted) return;
  modrm = m; modrmMod = m >> 6; modrmReg = (m >> 3) & 7; modrmRm = m & 7;
  if (modrmMod != 3) {
    if (adsize32) form32(); else form16();
    if (aborted) return;
  }
  if (fetchMode == FETCH_RECORD) recordModrm();
  if (modrmMod != 3) evalEa();
}

/** Evaluate the current address form with the current registers. */
function evalEa(): void {
  if (adsize32) {
    let off = eaDisp;
    if (eaBase != NO_REG) off = i32(off + reg32(eaBase));
    if (eaIndex != NO_REG) off = i32(off + (reg32(eaIndex) << eaScale));
    eaOff = off;
  } else {
    let off = eaDisp;
    if (eaBase != NO_REG) off += reg16(eaBase);
    if (eaIndex != NO_REG) off += reg16(eaIndex);
    eaOff = off & 0xffff;
  }
  eaSeg = segOverride >= 0 ? segOverride : eaDefaultSeg;
  eaBaseEsp = eaBase == ESP && adsize32;
}

// 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX.
function form16(): void {
  const rm = modrmRm, mod = modrmMod;
  eaScale = 0; eaDefaultSeg = DS; eaIndex = NO_REG; eaDisp = 0;
  switch (rm) {
    case 0: eaBase = EBX; eaIndex = ESI; break;
    case 1: eaBase = EBX; eaIndex = EDI; break;
    case 2: eaBase = EBP; eaIndex = ESI; eaDefaultSeg = SS; break;
    case 3: eaBase = EBP; eaIndex = EDI; eaDefaultSeg = SS; break;
    case 4: eaBase = ESI; break;
    case 5: eaBase = EDI; break;
    case 6:
      if (mod == 0) { eaBase = NO_REG; eaDisp = rawFetch16(); }
      else { eaBase = EBP; eaDefaultSeg = SS; }
      break;
    default: eaBase = EBX; break;
  }
  if (mod == 1) eaDisp = (rawFetch8() << 24) >> 24;
  else if (mod == 2) eaDisp = rawFetch16();
}

function form32(): void {
  const mod = modrmMod;
  let base = modrmRm;
  eaScale = 0; eaDefaultSeg = DS; eaIndex = NO_REG; eaDisp = 0;
  if (base == 4) {
    const sib = rawFetch8();
    if (aborted) return;
    const idx = (sib >> 3) & 7;
    base = sib & 7;
    if (idx != 4) { eaIndex = idx; eaScale = sib >> 6; }
    if (base == 5 && mod == 0) { eaBase = NO_REG; eaDisp = rawFetch32(); }
    else { eaBase = base; if (base == ESP || base == EBP) eaDefaultSeg = SS; }
  } else if (base == 5 && mod == 0) {
    eaBase = NO_REG; eaDisp = rawFetch32();
  } else {
    eaBase = base;
    if (base == EBP) eaDefaultSeg = SS;
  }
  if (mod == 1) eaDisp = i32(eaDisp + ((rawFetch8() << 24) >> 24));
  else if (mod == 2) eaDisp = i32(eaDisp + rawFetch32());
}

/** Decode state captured for the translation cache (see tcache.ts for the packing). */
export function modrmFormWord(): i32 {
  return (modrm & 0xff) | (eaBase << 8) | (eaIndex << 12) | (eaScale << 16) | (eaDefaultSeg << 18);
}
function replayModrm(): void {
  const w = replayModrmWord();
  const m = w & 0xff;
  modrm = m; modrmMod = m >> 6; modrmReg = (m >> 3) & 7; modrmRm = m & 7;
  if (modrmMod == 3) return;
  eaBase = (w >> 8) & 0xf; eaIndex = (w >> 12) & 0xf; eaScale = (w >> 16) & 3; eaDefaultSeg = (w >> 18) & 7;
  eaDisp = replayDisp();
  evalEa();
}

/** Effective address of a moffs operand (A0-A3). */
export function decodeMoffs(): void {
  eaOff = adsize32 ? fetch32() : fetch16();
  eaSeg = dataSeg();
}

// ---- r/m operand access -------------------------------------------------

/** Read the r/m operand of size sz (register or memory). */
export function readRM(sz: i32): i32 {
  if (modrmMod == 3) return getReg(sz, modrmRm);
  return readV(eaSeg, eaOff, sz);
}
/** Write the r/m operand (to the same address a preceding readRM used). */
export function writeRM(sz: i32, v: i32): void {
  if (modrmMod == 3) { setReg(sz, modrmRm, v); return; }
  writeV(eaSeg, eaOff, sz, v);
}
export function readReg(sz: i32): i32 { return getReg(sz, modrmReg); }
export function writeReg(sz: i32, v: i32): void { setReg(sz, modrmReg, v); }
/** Offset of the memory operand plus delta, wrapped to the address size. */
export function adjustEa(delta: i32): void { eaOff = eaPlus(delta); }
export function eaPlus(delta: i32): i32 { return adsize32 ? i32(eaOff + delta) : (eaOff + delta) & 0xffff; }

/** Set ModRM fields from a byte without decoding an address (MOV CR/DR). */
export function setModrmRaw(m: i32): void {
  modrm = m; modrmMod = 3; modrmReg = (m >> 3) & 7; modrmRm = m & 7;
}
