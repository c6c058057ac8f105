// Segment registers and descriptors: reading GDT/LDT entries, the checks of
// a segment-register load in protected mode, and the hidden descriptor
// cache (base, limit, access rights) that every memory access consults.
import { SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_ATTR, SEG_LO, SEG_HI } from "../layout";
import { st32a } from "../portable";
import {
  protectedMode, cpl, gdtrBase, gdtrLimit, segBase, segLimit, segSel, segAttr, segLo, segHi, flatSegs, setFlatSegs,
  CS, SS, LDTR, setCs32, setSs32, flagsRaw, VM,
} from "../state";
import { readSys, writeSys, ATTR_NOREAD, ATTR_NOWRITE, ATTR_UNUSABLE } from "./access";
import { invalidateFetch } from "./fetch";
import { aborted, raise, GP, NP, SSF } from "../fault";

// Access-rights (VMX format) fields.
export const AR_TYPE: i32 = 0xf;
export const AR_S: i32 = 0x10;       // code/data (not system)
export const AR_DPL_SHIFT: i32 = 5;
export const AR_P: i32 = 0x80;
export const AR_DB: i32 = 0x4000;
export const AR_G: i32 = 0x8000;
export const TYPE_CODE: i32 = 8;     // within AR_TYPE for S=1
export const TYPE_CONFORMING: i32 = 4; // code
export const TYPE_READABLE: i32 = 2; // code
export const TYPE_WRITABLE: i32 = 2; // data
export const TYPE_EXPDOWN: i32 = 4;  // data
export const TYPE_ACCESSED: i32 = 1;

/** The last descriptor read by readDescriptor(). */
export let descLo: i32 = 0;
export let descHi: i32 = 0;
export let descAddr: i32 = 0;

export function descBase(lo: i32, hi: i32): i32 { return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000); }
export function descLimit(lo: i32, hi: i32): i32 {
  const l = (lo & 0xffff) | (hi & 0xf0000);
  return (hi & 0x800000) != 0 ? (l << 12) | 0xfff : l;
}
/** Access rights in VMX format from a descriptor's high dword. */
export function descAttr(hi: i32): i32 { return ((hi >> 8) & 0xff) | ((hi >> 8) & 0xf000); }
export function attrDpl(attr: i32): i32 { return (attr >> AR_DPL_SHIFT) & 3; }

/**
 * Read the 8-byte descriptor for a selector from the GDT or LDT. Raises
 * #GP(selector) when it lies outside the table (when fault is set).
 */
export function readDescriptor(sel: i32, fault: bool): bool {
  let base: i32, limit: i32;
  if ((sel & 4) != 0) {
    if ((segAttr(LDTR) & ATTR_UNUSABLE) != 0) { if (fault) raise(GP, sel & 0xfffc); return false; }
    base = segBase(LDTR); limit = segLimit(LDTR);
  } else { base = gdtrBase; limit = gdtrLimit; }
  const off = sel & 0xfff8;
  if (u32(off + 7) > u32(limit)) { if (fault) raise(GP, sel & 0xfffc); return false; }
  descAddr = i32(base + off);
  descLo = readSys(descAddr, 4);
  if (aborted) return false;
  descHi = readSys(i32(descAddr + 4), 4);
  return !aborted;
}

/** Restore the "last descriptor" after reading others (callers that check CS first, then the stack). */
export function setLastDesc(lo: i32, hi: i32, addr: i32): void { descLo = lo; descHi = hi; descAddr = addr; }

/** Set the accessed bit of the descriptor last read, as the CPU does on a load. */
export function markAccessed(): void {
  if ((descHi & 0x100) == 0) {
    descHi |= 0x100;
    writeSys(i32(descAddr + 4), 4, descHi);
  }
}

/** Fill a segment register's cache; derive the fast-check fields. */
export function setSegCache(seg: i32, sel: i32, base: i32, limit: i32, attr: i32): void {
  let a = attr & 0x1f0ff;
  let lo = 0, hi = limit;
  if ((a & ATTR_UNUSABLE) != 0) {
    a |= ATTR_NOREAD | ATTR_NOWRITE;
  } else if ((a & AR_S) != 0) {
    const type = a & AR_TYPE;
    if ((type & TYPE_CODE) != 0) {
      a |= ATTR_NOWRITE;
      if ((type & TYPE_READABLE) == 0) a |= ATTR_NOREAD;
    } else {
      if ((type & TYPE_WRITABLE) == 0) a |= ATTR_NOWRITE;
      if ((type & TYPE_EXPDOWN) != 0) { lo = i32(limit + 1); hi = (a & AR_DB) != 0 ? -1 : 0xffff; }
    }
  }
  st32a(SEG_SEL + (seg << 2), sel & 0xffff);
  st32a(SEG_BASE + (seg << 2), base);
  st32a(SEG_LIMIT + (seg << 2), limit);
  st32a(SEG_ATTR + (seg << 2), a);
  st32a(SEG_LO + (seg << 2), lo);
  st32a(SEG_HI + (seg << 2), hi);
  if (seg == CS) { setCs32((a & AR_DB) != 0); invalidateFetch(); }
  else if (seg == SS) setSs32((a & AR_DB) != 0);
  noteFlat(seg);
}

/** Recompute the segment's bits in flatSegs (state.ts) from its descriptor cache. */
function noteFlat(seg: i32): void {
  const whole = segLo(seg) == 0 && segHi(seg) == -1; // (no offset can be out of its limit)
  const a = segAttr(seg);
  let f = flatSegs & ~((1 << seg) | (1 << (8 + seg)) | (1 << (16 + seg)));
  if (whole && (a & ATTR_NOREAD) == 0) f |= 1 << seg;
  if (whole && (a & ATTR_NOWRITE) == 0) f |= 1 << (8 + seg);
  if (segBase(seg) == 0) f |= 1 << (16 + seg);
  setFlatSegs(f);
}

/** Real mode and virtual-8086 mode: only the selector and base change. */
export function loadSegReal(seg: i32, sel: i32): void {
  sel &= 0xffff;
  // Real mode keeps the cached limit and attributes (so "unreal mode" works, as on hardware).
  let attr = segAttr(seg) & 0x1f0ff;
  let limit = segLimit(seg);
  // V86: every segment (CS too) is a present, DPL 3, read/write 64 KiB segment (SDM 20.1.1;
  // VMX's guest-state checks require AR 0xF3 for all six).
  if ((flagsRaw & VM) != 0) { attr = 0xf3; limit = 0xffff; }
  else if ((attr & ATTR_UNUSABLE) != 0) { attr = 0x93; limit = 0xffff; }
  setSegCache(seg, sel, sel << 4, limit, attr);
  // Real mode checks no segment types: a cached code type (CS after a far JMP keeps 0x9B) stays
  // writable, as on hardware and QEMU (MOV CS:[x] works in real mode). Reported attr unchanged.
  st32a(SEG_ATTR + (seg << 2), segAttr(seg) & ~(ATTR_NOREAD | ATTR_NOWRITE));
  noteFlat(seg);
}

/** MOV/POP/LxS to a data or stack segment register, with the protected-mode checks. */
export function loadSeg(seg: i32, sel: i32): bool {
  sel &= 0xffff;
  if (!protectedMode || (flagsRaw & VM) != 0) { loadSegReal(seg, sel); return true; }
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) {
    if (seg == SS) { raise(GP, 0); return false; }
    setSegCache(seg, sel, 0, 0, ATTR_UNUSABLE);
    return true;
  }
  if (!readDescriptor(sel, true)) return false;
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  const type = attr & AR_TYPE;
  if (seg == SS) {
    if (rpl != cpl || (attr & AR_S) == 0 || (type & TYPE_CODE) != 0 || (type & TYPE_WRITABLE) == 0 || dpl != cpl) {
      raise(GP, sel & 0xfffc); return false;
    }
    if ((attr & AR_P) == 0) { raise(SSF, sel & 0xfffc); return false; }
  } else {
    if ((attr & AR_S) == 0 || ((type & TYPE_CODE) != 0 && (type & TYPE_READABLE) == 0)) { raise(GP, sel & 0xfffc); return false; }
    const conformingCode = (type & (TYPE_CODE | TYPE_CONFORMING)) == (TYPE_CODE | TYPE_CONFORMING);
    if (!conformingCode && (rpl > dpl || cpl > dpl)) { raise(GP, sel & 0xfffc); return false; }
    if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return false; }
  }
  markAccessed();
  if (aborted) return false;
  setSegCache(seg, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr | TYPE_ACCESSED);
  return true;
}

/** Reload the CS cache from a descriptor already checked by the caller. */
export function loadCsChecked(sel: i32, newCpl: i32): void {
  markAccessed();
  const attr = descAttr(descHi) | TYPE_ACCESSED;
  setSegCache(CS, (sel & 0xfffc) | newCpl, descBase(descLo, descHi), descLimit(descLo, descHi), attr);
}

/** After a return to an outer ring: data segments the new CPL may not use become null. */
export function nullInaccessibleSegments(newCpl: i32, seg: i32): void {
  const attr = segAttr(seg);
  if ((attr & ATTR_UNUSABLE) != 0) return;
  const type = attr & AR_TYPE;
  const isData = (attr & AR_S) != 0 && ((type & TYPE_CODE) == 0 || (type & TYPE_CONFORMING) == 0);
  if (isData && attrDpl(attr) < newCpl) setSegCache(seg, 0, 0, 0, ATTR_UNUSABLE);
}

export function segSelector(seg: i32): i32 { return segSel(seg); }
