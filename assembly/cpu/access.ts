// Guest virtual memory: segmentation (limit and type checks against the
// descriptor cache), then paging through the TLB (mmu/), then physical.
// Fast paths read RAM straight through a TLB entry; everything else — page
// crossings, ROM writes, MMIO, TLB misses — takes the slow path.
import { TLB } from "../layout";
import { ld8, ld16, ld32, st8, st16, st32, ld32a, st32a } from "../portable";
import { cpl, cplUserMask, implicitDenyMask, segAttr, segLo, segHi, segBase, SS, reg32, reg16, setReg32, setReg16, ss32, ESP } from "../state";
import { tlbHost, TLB_VALID, TLB_READONLY, TLB_SLOW, TLB_HAS_CODE } from "../mmu/tlb";
import { translate, setStoreSize as setTracedStoreSize, ACC_WRITE, ACC_USER } from "../mmu/walk";
import { setAccessBytes } from "../mmu/p2m";
import { readAt, writeAt, resKind, resHost } from "../memory";
import { aborted, raise, GP, SSF } from "../fault";

/** The size of the store about to be translated: the trace log's, and an EPT violation's. */
function setStoreSize(n: i32): void { setTracedStoreSize(n); setAccessBytes(n); }

/** Derived bits kept in SEG_ATTR above the VMX access-rights format. */
export const ATTR_UNUSABLE: i32 = 1 << 16;
export const ATTR_NOREAD: i32 = 1 << 24;
export const ATTR_NOWRITE: i32 = 1 << 25;

function segFault(seg: i32): void {
  raise(seg == SS ? SSF : GP, 0);
}

/** Check an access of sz bytes at offset off in segment seg; raises #GP/#SS. */
export function segCheck(seg: i32, off: i32, sz: i32, write: bool): bool {
  if ((segAttr(seg) & (write ? ATTR_NOWRITE : ATTR_NOREAD)) != 0) { segFault(seg); return false; }
  const hi = segHi(seg);
  const end = i32(off + sz - 1);
  if (u32(off) < u32(segLo(seg)) || u32(end) > u32(hi) || (hi != -1 && u32(end) < u32(off))) {
    segFault(seg);
    return false;
  }
  return true;
}

// ---- linear accesses ------------------------------------------------------

/** Data accesses that consulted the TLB (for the hit rate: 1 - fills / lookups). */
export let tlbLookups: f64 = 0;

/** Read at a linear address with the current privilege (CPL 3 = user access). */
export function readLin(lin: i32, sz: i32): i32 { return readThroughTlb(lin, sz, cplUserMask, cpl == 3 ? ACC_USER : 0); }
export function writeLin(lin: i32, sz: i32, v: i32): void { writeThroughTlb(lin, sz, v, cplUserMask, cpl == 3 ? ACC_USER : 0); }
/**
 * Supervisor (implicit) accesses: descriptor tables, TSS, IDT — regardless of CPL: a page only user mode may not
 * use is no bar (a segment load at CPL 3 reads the GDT). Under CR4.SMAP a user page is one — at CPL 0-2 unless
 * EFLAGS.AC is set, at CPL 3 always: the slow path's walk decides.
 */
export function readSys(lin: i32, sz: i32): i32 { return readThroughTlb(lin, sz, implicitDenyMask, 0); }
export function writeSys(lin: i32, sz: i32, v: i32): void { writeThroughTlb(lin, sz, v, implicitDenyMask, 0); }

/**
 * Through the TLB when its entry allows the access (`userDeny`: TLB_NO_USER for a user access, TLB_USER_PAGE for a
 * supervisor one under SMAP or SMEP), else the slow path with `acc` (ACC_USER or 0).
 */
function readThroughTlb(lin: i32, sz: i32, userDeny: i32, acc: i32): i32 {
  tlbLookups += 1;
  const e = ld32a(TLB + ((lin >>> 12) << 2));
  if ((e & (TLB_VALID | TLB_SLOW | userDeny)) == TLB_VALID && (lin & 0xfff) <= 0x1000 - sz) {
    const h = (e & ~0xfff) ^ lin;
    return sz == 4 ? ld32(h) : sz == 2 ? ld16(h) : ld8(h);
  }
  return readLinSlow(lin, sz, acc);
}
function writeThroughTlb(lin: i32, sz: i32, v: i32, userDeny: i32, acc: i32): void {
  tlbLookups += 1;
  const e = ld32a(TLB + ((lin >>> 12) << 2));
  if ((e & (TLB_VALID | TLB_SLOW | TLB_READONLY | TLB_HAS_CODE | userDeny)) == TLB_VALID && (lin & 0xfff) <= 0x1000 - sz) {
    const h = (e & ~0xfff) ^ lin;
    if (sz == 4) st32(h, v); else if (sz == 2) st16(h, v); else st8(h, v);
    return;
  }
  writeLinSlow(lin, sz, v, ACC_WRITE | acc);
}

/** The slow path of a read (`acc`: ACC_USER or 0): walk, fault, MMIO. */
export function readLinSlow(lin: i32, sz: i32, acc: i32): i32 {
  if ((lin & 0xfff) > 0x1000 - sz) {
    let v = 0;
    setAccessBytes(1);
    for (let i = 0; i < sz; i++) {
      const pa = translate(i32(lin + i), acc);
      if (aborted) return 0;
      v |= (readAt(pa, resKind, resHost, 1) & 0xff) << (i << 3);
      if (aborted) return 0;
    }
    return v;
  }
  setAccessBytes(sz);
  const pa = translate(lin, acc);
  if (aborted) return 0;
  return readAt(pa, resKind, resHost, sz);
}

/** The slow path of a write (`acc` includes ACC_WRITE). */
export function writeLinSlow(lin: i32, sz: i32, v: i32, acc: i32): void {
  if ((lin & 0xfff) > 0x1000 - sz) {
    // Both pages must be writable before any byte is written.
    const second = i32((lin | 0xfff) + 1);
    setStoreSize(i32(second - lin));
    const pa1 = translate(lin, acc);
    if (aborted) return;
    const kind1 = resKind, host1 = resHost;
    setStoreSize(i32(lin + sz - second));
    const pa2 = translate(second, acc);
    if (aborted) return;
    const kind2 = resKind, host2 = resHost;
    const firstLen = i32(second - lin);
    for (let i = 0; i < sz; i++) {
      const b = (v >> (i << 3)) & 0xff;
      if (i < firstLen) writeAt(i32(pa1 + i), kind1, host1, 1, b);
      else writeAt(i32(pa2 + (i - firstLen)), kind2, host2, 1, b);
    }
    return;
  }
  setStoreSize(sz);
  const pa = translate(lin, acc);
  if (aborted) return;
  writeAt(pa, resKind, resHost, sz, v);
}

/**
 * Host address of a linear address when the TLB already allows this access
 * on the fast path (RAM, permitted, and for writes: dirty and without
 * cached code), else -1. Never faults: callers fall back to the slow path.
 */
export function hostIfCached(lin: i32, write: bool): i32 {
  return tlbHost(lin, cplUserMask | (write ? TLB_READONLY | TLB_HAS_CODE : 0));
}

/** Like segCheck, without raising anything: may len bytes at off be accessed? */
export function segRangeOk(seg: i32, off: i32, len: i32, write: bool): bool {
  if ((segAttr(seg) & (write ? ATTR_NOWRITE : ATTR_NOREAD)) != 0) return false;
  const end = i32(off + len - 1);
  return u32(off) >= u32(segLo(seg)) && u32(end) <= u32(segHi(seg)) && u32(end) >= u32(off);
}

// ---- segmented accesses ---------------------------------------------------

export function readV(seg: i32, off: i32, sz: i32): i32 {
  if (!segCheck(seg, off, sz, false)) return 0;
  return readLin(i32(segBase(seg) + off), sz);
}
export function writeV(seg: i32, off: i32, sz: i32, v: i32): void {
  if (!segCheck(seg, off, sz, true)) return;
  writeLin(i32(segBase(seg) + off), sz, v);
}
/** Check that a write would succeed (segment and page) without writing. */
export function probeWriteV(seg: i32, off: i32, sz: i32): bool {
  if (!segCheck(seg, off, sz, true)) return false;
  const lin = i32(segBase(seg) + off);
  // A page the TLB already allows writing to needs no walk (RMW instructions probe every time).
  if ((lin & 0xfff) <= 0x1000 - sz && hostIfCached(lin, true) >= 0) return true;
  const second = i32((lin | 0xfff) + 1);
  const crosses = (lin & 0xfff) > 0x1000 - sz;
  setStoreSize(crosses ? i32(second - lin) : sz);
  translate(lin, ACC_WRITE | (cpl == 3 ? ACC_USER : 0));
  if (aborted) return false;
  if (crosses) { setStoreSize(i32(lin + sz - second)); translate(second, ACC_WRITE | (cpl == 3 ? ACC_USER : 0)); }
  return !aborted;
}

// ---- stack ----------------------------------------------------------------

export function getSP(): i32 { return ss32 ? reg32(ESP) : reg16(ESP); }
export function setSP(v: i32): void { if (ss32) setReg32(ESP, v); else setReg16(ESP, v); }
/** ESP/SP after adding delta, wrapped to the stack's address size. */
export function spPlus(delta: i32): i32 { return ss32 ? i32(reg32(ESP) + delta) : (reg16(ESP) + delta) & 0xffff; }

export function push(sz: i32, v: i32): void {
  const sp = spPlus(-sz);
  writeV(SS, sp, sz, v);
  if (aborted) return;
  setSP(sp);
}
export function pop(sz: i32): i32 {
  const v = readV(SS, getSP(), sz);
  if (aborted) return 0;
  setSP(spPlus(sz));
  return v;
}
/** Read the stack at SP + offset without popping. */
export function peek(sz: i32, offset: i32): i32 { return readV(SS, spPlus(offset), sz); }
