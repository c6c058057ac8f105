// Guest-physical accesses: the chipset's decode (VMM-registered MMIO ranges,
// the legacy VGA hole, the ROM with its alias below 4 GiB), then the
// guest-physical map (mmu/p2m.ts) for memory. Every physical access goes
// through here or through a TLB entry that was filled from here, so a guest
// address can never reach core metadata: memory accesses land in host
// frames the map names, inside the frame pool above RAM_BASE.
import { RAM_BASE, ROM, ROM_MAX, MMIO_READS, MMIO_READS_SIZE, WALKED_FRAMES } from "./layout";
import { gpaToHost, p2mEntry, hostAddr, P2M_VALID, TO_EXIT, Q_READ, Q_WRITE, Q_WALK, Q_LINEAR_VALID } from "./mmu/p2m";
import { ld8, ld16, ld32, st8, st16, st32, ld32a, st32a, copy8 } from "./portable";
import {
  armResponse, takeResponse, response, setExit, setExitField, EXIT_MMIO_READ, EXIT_MMIO_WRITE, EXIT_UNIMPLEMENTED,
  X_DETAIL, exitReason, EXIT_NONE,
} from "./exit";
import { instrEip, mmioReadsAnswered, setMmioReadsAnswered } from "./state";
import { requestRestart, txActive, abortTransaction } from "./fault";
import { writeHitsCode, invalidateCodeAt } from "./tcache";

/** Guest RAM the VMM configured (the identity map's extent; devices such as the CMOS report it). */
export let ramSize: i32 = 0;
/** ROM image size; it occupies [1 MiB - romSize, 1 MiB) and [4 GiB - romSize, 4 GiB). */
export let romSize: i32 = 0;
/** The ROM's low copy can be made RAM (shadowed), as a chipset's PAM registers do. */
export let romLowIsRam: bool = false;
/** The legacy VGA window 0xA0000-0xBFFFF is MMIO (off for bare machines: all RAM). */
export let vgaWindowMmio: bool = true;
export function setVgaWindowMmio(v: bool): void { vgaWindowMmio = v; }

const MAX_MMIO: i32 = 32;
const mmioStart = new StaticArray<i32>(32);
const mmioEnd = new StaticArray<i32>(32);   // exclusive, as u32
let mmioCount: i32 = 0;
/** The lowest MMIO range's start (-1: none): memory between 1 MiB and it needs no range search. */
let mmioLow: i32 = -1;

export function setRamSize(bytes: i32): void { ramSize = bytes; }
export function setRomSize(bytes: i32): void { romSize = bytes < ROM_MAX ? bytes : ROM_MAX; }
export function setRomLowIsRam(v: bool): void { romLowIsRam = v; }
export function romHostBase(): i32 { return ROM; }

/** Register an MMIO range [start, start+length); accesses leave the core as MMIO exits. */
export function addMmioRange(start: i32, length: i32): bool {
  if (mmioCount >= MAX_MMIO) return false;
  unchecked(mmioStart[mmioCount] = start);
  unchecked(mmioEnd[mmioCount] = i32(start + length));
  mmioCount++;
  if (u32(start) < u32(mmioLow)) mmioLow = start;
  return true;
}
export function clearMmioRanges(): void { mmioCount = 0; mmioLow = -1; }

function inMmioRange(pa: i32): bool {
  for (let i = 0; i < mmioCount; i++) {
    if (u32(pa) >= u32(unchecked(mmioStart[i])) && u32(pa) < u32(unchecked(mmioEnd[i]))) return true;
  }
  return false;
}

export const PHYS_RAM: i32 = 0;
export const PHYS_ROM: i32 = 1;
export const PHYS_MMIO: i32 = 2;

/**
 * What the chipset decodes a guest-physical address to, before the
 * guest-physical map: a device's MMIO range (or the VGA window), the ROM, or
 * memory — where the map (mmu/p2m.ts) decides between a host frame, the MMIO
 * bus (unassigned) and a violation. 4 KiB granularity; ranges are page-aligned.
 */
export function physKind(pa: i32): i32 {
  if (plainMemory(pa)) return PHYS_RAM; // the common case first
  if (mmioCount > 0 && inMmioRange(pa)) return PHYS_MMIO;
  const upa = u32(pa);
  if (upa >= 0xa0000 && upa < 0xc0000 && vgaWindowMmio) return PHYS_MMIO; // legacy VGA window
  if (romSize > 0) {
    // Below 1 MiB only the last 128 KiB of the image shows (0xE0000-0xFFFFF), as on a PC.
    const low = romSize < 0x20000 ? romSize : 0x20000;
    if (upa >= u32(0x100000 - low) && upa < 0x100000 && !romLowIsRam) return PHYS_ROM;
    if (upa >= u32(i32(-romSize))) return PHYS_ROM;
  }
  return PHYS_RAM;
}

/**
 * Memory with nothing to look up: below every MMIO range and either below the
 * VGA window or between 1 MiB and the ROM's high copy (physKind's PHYS_RAM
 * without a range search; false says nothing).
 */
function plainMemory(pa: i32): bool {
  const upa = u32(pa);
  return upa < u32(mmioLow) && (upa < 0xa0000 || (upa >= 0x100000 && (romSize == 0 || upa < u32(i32(-romSize)))));
}

/**
 * The guest-physical map's entry for `pa` when the chipset decodes it to
 * plain memory (plainMemory), else 0: the page walker's fast path (direct
 * paging) uses the frame when the entry is valid and allows the access, and
 * takes the general path (resolve) otherwise.
 */
export function plainRamEntry(pa: i32): i32 { return plainMemory(pa) ? p2mEntry(pa) : 0; }

/** Host address of a ROM address: both copies map onto the image, which ends at the top of each window. */
function romHost(pa: i32): i32 { return ROM + ((pa & 0xfffff) - (0x100000 - romSize)); }

// ---- resolving a guest-physical page --------------------------------------------------
// resolve() decides where a guest-physical page lives for one access and leaves the answer
// in resKind/resHost; the TLB fill and the slow access paths use it.

/** PHYS_RAM (a host frame), PHYS_ROM or PHYS_MMIO (the MMIO bus answers). */
export let resKind: i32 = PHYS_MMIO;
/** Host address of the resolved page (RAM or ROM); -1 for MMIO. */
export let resHost: i32 = -1;

export function setResolved(kind: i32, host: i32): void { resKind = kind; resHost = host; }

/** Resolve guest-physical `pa` for an access (p2m.ts Q_* bits); false after an exit (aborted). */
export function resolve(pa: i32, q: i32, lin: i32): bool {
  const kind = physKind(pa);
  if (kind == PHYS_ROM) { resKind = PHYS_ROM; resHost = romHost(pa & ~0xfff); return true; }
  if (kind == PHYS_RAM) {
    const h = gpaToHost(pa, q, lin);
    if (h >= 0) { resKind = PHYS_RAM; resHost = RAM_BASE + h; return true; }
    if (h == TO_EXIT) return false;
  }
  resKind = PHYS_MMIO; resHost = -1;
  return true;
}

/** Host-physical frame of guest RAM page `pa` without permission checks or exits, or -1 (the VMM's and devices' view). */
export function ramFrame(pa: i32): i32 {
  if (physKind(pa) != PHYS_RAM) return -1;
  const e = p2mEntry(pa);
  return (e & P2M_VALID) != 0 ? e & ~0xfff : -1;
}

/** Read sz bytes (within one page) at guest-physical `pa` resolved as (kind, hostPage). */
export function readAt(pa: i32, kind: i32, hostPage: i32, sz: i32): i32 {
  if (kind == PHYS_MMIO) {
    // Device memory inside an RTM transaction aborts it, never reaching the device (cpu/ops/rtm.ts).
    if (txActive) { abortTransaction(0); return 0; }
    return mmioRead(pa, sz);
  }
  const h = hostPage + (pa & 0xfff);
  return sz == 1 ? ld8(h) : sz == 2 ? ld16(h) : ld32(h);
}

/** Write sz bytes (within one page) at guest-physical `pa` resolved as (kind, hostPage). ROM ignores writes. */
export function writeAt(pa: i32, kind: i32, hostPage: i32, sz: i32, v: i32): void {
  if (kind == PHYS_RAM) {
    const h = hostPage + (pa & 0xfff);
    const hpa = h - RAM_BASE;
    if (writeHitsCode(hpa, sz)) invalidateCodeAt(hpa); // self-modifying code
    if (sz == 1) st8(h, v); else if (sz == 2) st16(h, v); else st32(h, v);
    return;
  }
  if (kind == PHYS_ROM) return;
  if (txActive) { abortTransaction(0); return; }
  mmioWrite(pa, sz, v);
}

// ---- MMIO reads ----------------------------------------------------------------------
// An MMIO read exits to the VMM and the instruction is executed again with the
// answer (exit.ts). An instruction that reads several MMIO locations (LDS,
// CMPS, POPA, a read split into bytes) exits once per location: the reads it
// had answered before an exit are carried into its next execution and
// answered again from there, in order, so each location is read from the
// device once. Carried answers belong to one instruction (its EIP) and are
// dropped at the first read that does not match them.
const MMIO_MAX_READS: i32 = 16;
const ANSWERED: i32 = MMIO_READS;                       // 16 × (address, size, value)
const CARRIED: i32 = MMIO_READS + MMIO_MAX_READS * 12;  // the same, for the re-execution
let carriedCount: i32 = 0;
let carriedNext: i32 = 0;
let carriedEip: i32 = 0;

function mmioRead(pa: i32, sz: i32): i32 {
  let v: i32;
  const c = CARRIED + carriedNext * 12;
  if (carriedNext < carriedCount && carriedEip == instrEip && ld32a(c) == pa && ld32a(c + 4) == sz) {
    v = ld32a(c + 8);
    carriedNext++;
  } else {
    carriedCount = 0;
    if (!takeResponse(EXIT_MMIO_READ, pa, sz)) { mmioReadExit(pa, sz); return 0; }
    v = response(0);
  }
  const n = mmioReadsAnswered;
  if (n < MMIO_MAX_READS) {
    const a = ANSWERED + n * 12;
    st32a(a, pa); st32a(a + 4, sz); st32a(a + 8, v);
  }
  setMmioReadsAnswered(n + 1);
  return sz == 1 ? v & 0xff : sz == 2 ? v & 0xffff : v;
}

function mmioReadExit(pa: i32, sz: i32): void {
  if (exitReason != EXIT_NONE) { requestRestart(); return; }
  const n = mmioReadsAnswered;
  if (n >= MMIO_MAX_READS) {
    // More locations than can be carried: stop with a clear exit rather than loop.
    setExit(EXIT_UNIMPLEMENTED, pa, sz, 0);
    setExitField(X_DETAIL, 6);
    requestRestart();
    return;
  }
  for (let i = 0; i < n * 12; i += 4) st32a(CARRIED + i, ld32a(ANSWERED + i));
  carriedCount = n;
  carriedNext = 0;
  carriedEip = instrEip;
  armResponse(EXIT_MMIO_READ, pa, sz);
  setExit(EXIT_MMIO_READ, pa, sz, 0);
  requestRestart();
}

/** An MMIO write leaves as an exit once the instruction is done. */
function mmioWrite(pa: i32, sz: i32, v: i32): void {
  // Further writes of the same instruction (PUSHA, MOVS, a write split into bytes) wait in a
  // queue, and run() sends them out one exit each before it executes anything else (takeQueuedWrite).
  if (exitReason == EXIT_NONE) { setExit(EXIT_MMIO_WRITE, pa, sz, v); return; }
  if (queuedWrites < MMIO_MAX_WRITES) {
    const q = QUEUED_WRITES + queuedWrites * 12;
    st32a(q, pa); st32a(q + 4, sz); st32a(q + 8, v);
    queuedWrites++;
  }
}

const MMIO_MAX_WRITES: i32 = 16;
const QUEUED_WRITES: i32 = MMIO_READS + 2 * MMIO_MAX_READS * 12;  // 16 × (address, size, value)
let queuedWrites: i32 = 0;
let queuedNext: i32 = 0;

/**
 * A nested VM entry (index.ts) keeps the interrupted instruction's MMIO state:
 * the answered/carried/queued tables and their counters, saved at `to`.
 */
export function saveMmioState(to: i32): void {
  copy8(to, MMIO_READS, MMIO_READS_SIZE);
  st32a(to + MMIO_READS_SIZE, carriedCount); st32a(to + MMIO_READS_SIZE + 4, carriedNext);
  st32a(to + MMIO_READS_SIZE + 8, carriedEip); st32a(to + MMIO_READS_SIZE + 12, queuedWrites);
  st32a(to + MMIO_READS_SIZE + 16, queuedNext); st32a(to + MMIO_READS_SIZE + 20, mmioReadsAnswered);
  resetMmioState();
}
export function restoreMmioState(from: i32): void {
  copy8(MMIO_READS, from, MMIO_READS_SIZE);
  carriedCount = ld32a(from + MMIO_READS_SIZE); carriedNext = ld32a(from + MMIO_READS_SIZE + 4);
  carriedEip = ld32a(from + MMIO_READS_SIZE + 8); queuedWrites = ld32a(from + MMIO_READS_SIZE + 12);
  queuedNext = ld32a(from + MMIO_READS_SIZE + 16); setMmioReadsAnswered(ld32a(from + MMIO_READS_SIZE + 20));
}
/** Bytes saveMmioState writes. */
export const MMIO_STATE_BYTES: i32 = MMIO_READS_SIZE + 24;

/** Machine reset: no MMIO answers carried, no writes queued. */
export function resetMmioState(): void { carriedCount = 0; queuedWrites = 0; queuedNext = 0; }

/** If an instruction left MMIO writes queued, make the next one the current exit and return true. */
export function takeQueuedWrite(): bool {
  if (queuedNext >= queuedWrites) { queuedWrites = 0; queuedNext = 0; return false; }
  const q = QUEUED_WRITES + queuedNext * 12;
  setExit(EXIT_MMIO_WRITE, ld32a(q), ld32a(q + 4), ld32a(q + 8));
  queuedNext++;
  return true;
}

// ---- the page walker's own accesses ------------------------------------------------------

/**
 * A guest page-table entry at guest-physical `pa` (4-byte aligned), read for the walk that
 * translates `lin`. RAM through the map (a violation exits: check aborted), ROM as stored;
 * unassigned addresses read as zero (not present), as QEMU's do; a table inside a device's
 * MMIO range stops the VM with a clear exit rather than reading a device register.
 */
export function ptRead(pa: i32, lin: i32): i32 {
  noteWalked(pa);
  if (!resolve(pa, Q_READ | Q_WALK | Q_LINEAR_VALID, lin)) return 0;
  if (resKind == PHYS_MMIO) { if (physKind(pa) == PHYS_MMIO) walkThroughMmio(pa); return 0; }
  return ld32(resHost + (pa & 0xfff));
}

/** Set accessed/dirty bits in a guest page-table entry (RAM only; ROM and MMIO keep theirs). */
export function ptWrite(pa: i32, v: i32, lin: i32): void {
  if (!resolve(pa, Q_WRITE | Q_WALK | Q_LINEAR_VALID, lin)) return;
  if (resKind == PHYS_RAM) writeAt(pa, PHYS_RAM, resHost, 4, v);
}

function walkThroughMmio(pa: i32): void {
  setExit(EXIT_UNIMPLEMENTED, pa, 0, 0);
  setExitField(X_DETAIL, 7); // page walk through MMIO
  requestRestart();
}

/** The page walker reads table entries from guest-physical page `pa` (walkedFrame). */
export function noteWalked(pa: i32): void {
  const bits = WALKED_FRAMES + (pa >>> 15);
  st8(bits, ld8(bits) | (1 << ((pa >>> 12) & 7)));
}

/** Has the page walker read table entries from guest-physical page `pa`? */
export function walkedFrame(pa: i32): bool { return (ld8(WALKED_FRAMES + (pa >>> 15)) & (1 << ((pa >>> 12) & 7))) != 0; }

/** Host address for the VMM's host-physical `hpa`, or -1 outside the pool. */
export { hostAddr };
