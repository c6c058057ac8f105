// Prefixes and ModRM/SIB decoding: the operand size, address size, segment
// and effective address of the current instruction.
import { reg32, reg16, DS, SS, EBX, EBP, ESI, EDI, ESP, getReg, setReg } from "../state";
import { fetch8, fetch16, fetch32 } from "./fetch";
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

/** Fetch and split the ModRM byte; decode the effective address when mod != 3. */
export function decodeModrm(): void {
  const m = fetch8();
  if (aborted) return;
  modrm = m; modrmMod = m >> 6; modrmReg = (m >> 3) & 7; modrmRm = m & 7;
  if (modrmMod != 3) { if (adsize32) ea32(); else ea16(); }
}

function ea16(): void {
  eaBaseEsp = false;
  let off: i32 = 0;
  let seg = DS;
  const rm = modrmRm, mod = modrmMod;
  switch (rm) {
    case 0: off = reg16(EBX) + reg16(ESI); break;
    case 1: off = reg16(EBX) + reg16(EDI); break;
    case 2: off = reg16(EBP) + reg16(ESI); seg = SS; break;
    case 3: off = reg16(EBP) + reg16(EDI); seg = SS; break;
    case 4: off = reg16(ESI); break;
    case 5: off = reg16(EDI); break;
    case 6: if (mod == 0) { off = fetch16(); } else { off = reg16(EBP); seg = SS; } break;
    default: off = reg16(EBX); break;
  }
  if (mod == 1) off += (fetch8() << 24) >> 24;
  else if (mod == 2) off += fetch16();
  eaOff = off & 0xffff;
  eaSeg = segOverride >= 0 ? segOverride : seg;
}

function ea32(): void {
  eaBaseEsp = false;
  let off: i32 = 0;
  let seg = DS;
  const mod = modrmMod;
  let base = modrmRm;
  if (base == 4) {
    const sib = fetch8();
    if (aborted) return;
    const idx = (sib >> 3) & 7;
    base = sib & 7;
    if (idx != 4) off = reg32(idx) << (sib >> 6);
    if (base == 5 && mod == 0) {
      off = i32(off + fetch32());
    } else {
      off = i32(off + reg32(base));
      if (base == ESP || base == EBP) seg = SS;
      if (base == ESP) eaBaseEsp = true;
    }
  } else if (base == 5 && mod == 0) {
    off = fetch32();
  } else {
    off = reg32(base);
    if (base == EBP) seg = SS;
  }
  if (mod == 1) off = i32(off + ((fetch8() << 24) >> 24));
  else if (mod == 2) off = i32(off + fetch32());
  eaOff = off;
  eaSeg = segOverride >= 0 ? segOverride : seg;
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
