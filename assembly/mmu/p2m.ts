// Guest-physical → host-physical: the second layer of address translation,
// which the VMM owns. "Host-physical" addresses are offsets into the core's
// host frame pool (layout.ts RAM_BASE); guest RAM is part of that pool.
//
// Three paging modes, chosen by the VMM (controls.ts):
//  - direct: the guest-physical map (P2M, one entry per 4 KiB guest page) is
//    consulted at every TLB fill — the "hardware" has a flat, one-level EPT.
//  - nested: the core walks nested page tables that the VMM builds in host
//    frames (VT-x EPT / AMD NPT), in the 32-bit page-table format with 4 MiB
//    pages; every guest page-table reference and the final address go
//    through them (a 2-D walk). A missing or insufficient entry exits.
//  - shadow: the core walks only tables the VMM builds (mmu/walk.ts); their
//    frames are host-physical already, so nothing here is consulted.
// Whatever the mode, a guest-physical access the map does not allow leaves
// the core as an EPT-violation exit (GPA, linear address when known, access,
// the entry found) and the instruction restarts once the VMM has changed
// the map. A frame can instead be read-only with writes leaving as MMIO-write
// exits (KVM's read-only memory slots): the guest never sees the write, the
// VMM does, and the instruction completes.
import { P2M, P2M_WRITTEN, RAM_BASE } from "../layout";
import { ld8, st8, ld32, st32, ld32a, st32a, fill8 } from "../portable";
import {
  setExit, setExitField, exitReason, EXIT_NONE, EXIT_EPT_VIOLATION, X_QUAL, X_LINEAR, X_ENTRY,
} from "../exit";
import { requestRestart, aborted } from "../fault";

// A map entry: host frame (bits 31-12) | permissions.
export const P2M_READ: i32 = 1;
export const P2M_WRITE: i32 = 2;
export const P2M_EXEC: i32 = 4;
/** The entry maps a host frame. */
export const P2M_VALID: i32 = 8;
/** Not backed, by the VMM's choice: every access is a violation (entry 0 means unassigned: the MMIO bus answers). */
export const P2M_TRAP: i32 = 16;
/** Writes the entry does not allow leave as MMIO-write exits instead of violations. */
export const P2M_WRITE_MMIO: i32 = 32;

export const MODE_DIRECT: i32 = 0;
export const MODE_NESTED: i32 = 1;
export const MODE_SHADOW: i32 = 2;
export let pagingMode: i32 = MODE_DIRECT;
/** Root of the nested page tables (host-physical, 4 KiB aligned). */
export let nptRoot: i32 = 0;
/** Bytes in the host frame pool: host-physical addresses are below this. */
export let hostSize: i32 = 0;

export function setPagingModeRaw(mode: i32, root: i32): void { pagingMode = mode; nptRoot = root & ~0xfff; }
export function setHostSize(bytes: i32): void { hostSize = bytes; }

// Access kinds, as an EPT violation's qualification reports them.
export const Q_READ: i32 = 1;
export const Q_WRITE: i32 = 2;
export const Q_FETCH: i32 = 4;
/** The access was the page walker's own (a guest page-table entry, or its A/D update). */
export const Q_WALK: i32 = 8;
/** X_LINEAR holds the linear address whose translation needed this access. */
export const Q_LINEAR_VALID: i32 = 16;
/** The entry reported is a nested page-table entry (else a P2M entry). */
export const Q_NESTED: i32 = 32;

/**
 * Bytes of the data access being translated (set by cpu/access.ts before each data translation). An EPT violation
 * reports it (X_SIZE; 0 for a fetch or the page walker's own access), so that a VMM watching a few bytes of a page
 * can tell an access to them from one beside them.
 */
let accessBytes: i32 = 0;
export function setAccessBytes(n: i32): void { accessBytes = n; }

// Statistics.
export let nestedWalks: f64 = 0;     // guest-physical translations through the nested tables
export let nestedRefs: f64 = 0;      // nested-table entries read for them
export let violations: f64 = 0;      // EPT-violation exits

export function p2mEntry(gpa: i32): i32 { return ld32a(P2M + ((gpa >>> 12) << 2)); }
export function setP2mEntry(gpa: i32, entry: i32): void { markWritten(gpa >>> 22); st32a(P2M + ((gpa >>> 12) << 2), entry); }

// Which pages of the map's table may hold a non-zero entry (the VMM's writes mark them too, src/vmm/memory.ts): a
// reset clears only those. The table's 4 MiB are mostly never touched and should cost the host nothing — on a host
// kernel without a shared zero page even reading an untouched page makes it resident.
function markWritten(tablePage: i32): void { st8(P2M_WRITTEN + (tablePage >>> 3), ld8(P2M_WRITTEN + (tablePage >>> 3)) | (1 << (tablePage & 7))); }
function written(tablePage: i32): bool { return (ld8(P2M_WRITTEN + (tablePage >>> 3)) & (1 << (tablePage & 7))) != 0; }

/**
 * Is an access of these Q_* kinds allowed by permissions P2M_READ/WRITE/EXEC? A fetch needs execute permission
 * only: a page may be execute-only, as EPT allows (what a debugger's read watchpoint on a code page needs).
 */
function allows(perm: i32, q: i32): bool {
  if ((q & Q_WRITE) != 0 && (perm & P2M_WRITE) == 0) return false;
  if ((q & Q_FETCH) != 0) return (perm & P2M_EXEC) != 0;
  return (perm & P2M_READ) != 0;
}

// Nested page-table entries: the 32-bit format (P, RW, PS, frame) and three
// software bits: "no execute", which that format lacks, P2M_WRITE_MMIO's twin,
// and "the MMIO bus's".
const NPT_P: i32 = 1, NPT_RW: i32 = 2, NPT_PS: i32 = 0x80;
/** A leaf for guest-physical addresses that are the MMIO bus's (unassigned), as KVM marks MMIO in its EPT. */
export const NPT_MMIO: i32 = 0x200;
export const NPT_WRITE_MMIO: i32 = 0x400;
export const NPT_NX: i32 = 0x800;
/** A leaf that does not allow reads: execute-only (a present leaf is readable otherwise). */
export const NPT_NO_READ: i32 = 0x100;

/** Permissions (P2M_READ/WRITE/EXEC) of the frame gpaToHost last returned: the TLB entry keeps them. */
export let mapPerm: i32 = 7;

/** gpaToHost: the address is the MMIO bus's (unassigned, or a write the map sends there). */
export const TO_MMIO: i32 = -1;
/** gpaToHost: an EPT-violation exit was raised (aborted is set; the instruction restarts). */
export const TO_EXIT: i32 = -2;

/**
 * Host-physical address of the 4 KiB frame that backs guest-physical `gpa`,
 * or TO_MMIO, or TO_EXIT. `q` is the access (Q_*), `lin` the linear address
 * being translated when Q_LINEAR_VALID.
 */
export function gpaToHost(gpa: i32, q: i32, lin: i32): i32 {
  if (pagingMode == MODE_NESTED) return nestedToHost(gpa, q, lin);
  const e = ld32a(P2M + ((gpa >>> 12) << 2));
  if ((e & P2M_VALID) != 0 && allows(e, q)) { mapPerm = e & 7; return e & ~0xfff; }
  if (e == 0) return TO_MMIO;
  if ((e & P2M_WRITE_MMIO) != 0 && (q & Q_WRITE) != 0 && allows(e, q & ~Q_WRITE)) return TO_MMIO;
  return violation(gpa, q, lin, e);
}

function nestedToHost(gpa: i32, q: i32, lin: i32): i32 {
  nestedWalks += 1;
  nestedRefs += 1;
  const pde = npRead(nptRoot + ((gpa >>> 22) << 2));
  if ((pde & NPT_P) == 0) return violation(gpa, q | Q_NESTED, lin, pde);
  if ((pde & NPT_PS) != 0) {
    if ((pde & NPT_MMIO) != 0) return TO_MMIO;
    const r = nptCheck(pde, gpa, q, lin);
    if (r < 0) return r;
    mapPerm = nptPerm(pde);
    return (pde & 0xffc00000) | (gpa & 0x3ff000);
  }
  nestedRefs += 1;
  const pte = npRead((pde & 0xfffff000) + (((gpa >>> 12) & 0x3ff) << 2));
  if ((pte & NPT_P) == 0) return violation(gpa, q | Q_NESTED, lin, pte);
  if ((pte & NPT_MMIO) != 0) return TO_MMIO;
  const leaf = (pde & NPT_RW) != 0 ? pte : pte & ~NPT_RW;
  const r = nptCheck(leaf, gpa, q, lin);
  if (r < 0) return r;
  mapPerm = nptPerm(leaf);
  return pte & 0xfffff000;
}

function nptPerm(leaf: i32): i32 {
  return ((leaf & NPT_NO_READ) != 0 ? 0 : P2M_READ) | ((leaf & NPT_RW) != 0 ? P2M_WRITE : 0) | ((leaf & NPT_NX) != 0 ? 0 : P2M_EXEC);
}

/** Permissions of a nested leaf (`e`: the leaf, writable only if every level is). */
function nptCheck(e: i32, gpa: i32, q: i32, lin: i32): i32 {
  if ((q & Q_FETCH) != 0 && (e & NPT_NX) != 0) return violation(gpa, q | Q_NESTED, lin, e);
  if ((q & (Q_FETCH | Q_WRITE)) == 0 && (e & NPT_NO_READ) != 0) return violation(gpa, q | Q_NESTED, lin, e);
  if ((q & Q_WRITE) != 0 && (e & NPT_RW) == 0) return (e & NPT_WRITE_MMIO) != 0 ? TO_MMIO : violation(gpa, q | Q_NESTED, lin, e);
  return 0;
}

/** A nested-table entry at host-physical `hpa`; outside the pool it reads as not present. */
function npRead(hpa: i32): i32 {
  if (u32(hpa) > u32(hostSize - 4)) return 0;
  return ld32(RAM_BASE + hpa);
}

function violation(gpa: i32, q: i32, lin: i32, entry: i32): i32 {
  if (aborted) return TO_EXIT;
  // Another exit of this instruction is already out (an MMIO write): this access is met again on re-execution.
  if (exitReason != EXIT_NONE) { requestRestart(); return TO_EXIT; }
  violations += 1;
  setExit(EXIT_EPT_VIOLATION, gpa, (q & (Q_FETCH | Q_WALK)) != 0 ? 0 : accessBytes, 0);
  setExitField(X_QUAL, q);
  setExitField(X_LINEAR, lin);
  setExitField(X_ENTRY, entry);
  requestRestart();
  return TO_EXIT;
}

/** Host address of host-physical `hpa` when it is inside the pool, else -1. */
export function hostAddr(hpa: i32, len: i32): i32 {
  if (u32(hpa) > u32(hostSize - len)) return -1;
  return RAM_BASE + hpa;
}

/** The identity map for guest RAM of `ramBytes`: RWX frames 0..n, nothing above. */
export function p2mIdentity(ramBytes: i32): void {
  const pages = ramBytes >>> 12;
  for (let t = 0; t < 1024; t++) {
    const first = t << 10 > pages ? t << 10 : pages;
    if (written(t) && first < (t + 1) << 10) fill8(P2M + (first << 2), 0, ((t + 1) << 12) - (first << 2));
  }
  fill8(P2M_WRITTEN, 0, 128);
  for (let p = 0; p < pages; p++) st32a(P2M + (p << 2), (p << 12) | P2M_VALID | P2M_READ | P2M_WRITE | P2M_EXEC);
  for (let t = 0; t << 10 < pages; t++) markWritten(t);
}

/** Write a word at host-physical `hpa` (page-table A/D updates in nested tables' guest frames). */
export function hostWrite32(hpa: i32, v: i32): void { st32(RAM_BASE + hpa, v); }
