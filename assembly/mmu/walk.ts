// Linear → physical translation: the 32-bit two-level page walk with 4 MiB
// pages (CR4.PSE), and the PAE three-level walk with 2 MiB pages and the NX
// bit (EFER.NXE); global pages (CR4.PGE), CR0.WP, accessed/dirty bits, and
// #PF with the architectural error code. Successful walks fill the TLB with
// the host address, the guest-physical map (p2m.ts) folded in.
//
// Under shadow paging (p2m.ts MODE_SHADOW) the same walker reads only the
// tables the VMM built: their root is the shadow root, not CR3; their frames
// are host-physical; a leaf with SHADOW_GPA names a guest-physical frame
// instead (MMIO, ROM, or a frame the map sends writes of to the MMIO bus),
// resolved through the map at each fill; accessed/dirty bits are the VMM's
// business (the guest's own are kept in its tables); CR0.WP is always on
// and PSE always available, whatever the guest's CR0/CR4 say, because the
// VMM expresses the guest's view in the entries it builds.
// Physical addresses are 32 bits: a PAE entry pointing above 4 GiB stops
// the VM with an "unimplemented" exit rather than guessing.
import { cr0, cr3, cr4, efer, pagingEnabled, a20Mask, cpl, instrEip, CR0_WP, CR4_PSE, CR4_PGE, CR4_PAE, CR4_SMAP, CR4_SMEP, AC, flagsRaw, setCr2 } from "../state";
import { ptRead, ptWrite, resolve, resKind, resHost, setResolved, physKind, plainRamEntry, noteWalked, writeAt, PHYS_RAM, PHYS_ROM, PHYS_MMIO } from "../memory";
import { tlbSet, TLB_VALID, TLB_READONLY, TLB_NO_USER, TLB_USER_PAGE, TLB_SLOW, TLB_GLOBAL, TLB_NO_EXEC, TLB_HAS_CODE, noteLargePage } from "./tlb";
import { pagingMode, MODE_SHADOW, MODE_DIRECT, mapPerm, hostAddr, P2M_VALID, P2M_READ, P2M_WRITE, P2M_EXEC, Q_READ, Q_WRITE, Q_FETCH, Q_LINEAR_VALID } from "./p2m";
import { shadowRoot, shadowPae, exceptionExits } from "../controls";
import { RAM_BASE, TRACE_LOG, TRACE_LOG_MAX } from "../layout";
import { syncStore } from "./sync";
import { ld32, ld32a, st32a } from "../portable";
import { pageHasCode } from "../tcache";
import { raise, aborted, requestRestart, PF_, txActive } from "../fault";
import { rtmNoteAccess } from "../cpu/ops/rtm";
import { setExit, setExitField, exitReason, EXIT_NONE, EXIT_UNIMPLEMENTED, EXIT_TRACE_LOG, X_DETAIL, X_VALUE2 } from "../exit";

export const ACC_WRITE: i32 = 1;
export const ACC_USER: i32 = 2;
export const ACC_FETCH: i32 = 4;

const PTE_P: i32 = 1, PTE_RW: i32 = 2, PTE_US: i32 = 4, PTE_A: i32 = 0x20, PTE_D: i32 = 0x40, PTE_PS: i32 = 0x80, PTE_G: i32 = 0x100;
/** Shadow leaf (an available bit): the frame is guest-physical, resolved through the map. */
export const SHADOW_GPA: i32 = 0x200;
/**
 * Shadow leaf (an available bit) of a guest page-table page that the guest may
 * write: the leaf stays read-only (so every store comes here), but a store is
 * let through and its frame logged instead of faulting. Before the next TLB
 * fill the VMM brings the shadow up to date (EXIT_TRACE_LOG): guest stores into
 * its own page tables cost one exit per batch, not a fault each — seed 002's
 * adaptive answer to trace faults, done in the "hardware".
 */
export const SHADOW_TRACE: i32 = 0x400;
/**
 * Shadow leaf (an available bit) that is one 4 KiB piece of a guest large page:
 * the TLB entry is noted as part of a large page, so that the guest's INVLPG of
 * any address in that page drops all of it, as the SDM says for large pages.
 */
export const SHADOW_SPLIT: i32 = 0x800;

/** Shadow mode: the walk reads the VMM's tables in host frames (set at the start of each translate). */
let shadow: bool = false;
/** Shadow leaf flagged SHADOW_GPA: the walk's result is guest-physical after all. */
let leafIsGpa: bool = false;
/** The walk allowed a store through a SHADOW_TRACE leaf. */
let traced: bool = false;
/** Lines in the trace log (layout.ts TRACE_LOG), and the instruction that logged the last one. */
let traceCount: i32 = 0;
let traceEip: i32 = 0;
export function clearTraceLog(): void { traceCount = 0; }
/** Lines logged and not yet handed to the VMM (it may drain the log at any exit, not only at EXIT_TRACE_LOG). */
export function traceLogCount(): i32 { return traceCount; }

/** Bytes the store being translated writes in this page (cpu/access.ts sets it before a write's walk): which words it reaches. */
let storeSize: i32 = 16;
export function setStoreSize(n: i32): void { storeSize = n; }

/**
 * Translate a linear address for an access (ACC_* bits; ACC_USER when the
 * access is made at CPL 3, not for implicit supervisor accesses such as
 * descriptor-table reads). Returns the guest-physical address (host-physical
 * under shadow paging, unless the leaf names a guest-physical frame) and
 * caches the page in the TLB, leaving resKind/resHost (memory.ts) for the
 * caller; or raises #PF / exits and returns -1 (check `aborted`).
 */
export function translate(lin: i32, access: i32): i32 {
  const pa = walkAndFill(lin, access);
  // Inside an RTM transaction a write logs its page first, a read leaves it cached read-only (cpu/ops/rtm.ts).
  if (txActive && !aborted) rtmNoteAccess(lin, (access & ACC_WRITE) != 0);
  return pa;
}

function walkAndFill(lin: i32, access: i32): i32 {
  const write = (access & ACC_WRITE) != 0;
  shadow = pagingMode == MODE_SHADOW;
  if (pagingMode == MODE_DIRECT && pagingEnabled && (cr4 & CR4_PAE) == 0) {
    const pa = walkPlain(lin, access, write);
    if (plainDone) return pa;
  }
  leafIsGpa = false;
  traced = false;
  let pa: i32;
  let flags = TLB_VALID;
  if (!pagingEnabled && !shadow) {
    pa = lin & a20Mask;
  } else if (shadow ? shadowPae : (cr4 & CR4_PAE) != 0) {
    pa = walkPae(shadow && !pagingEnabled ? lin & a20Mask : lin, access);
    if (pa == -1 && aborted) return -1;
    flags = paeFlags;
  } else {
    const wlin = shadow && !pagingEnabled ? lin & a20Mask : lin;
    const root = shadow ? shadowRoot : cr3;
    const pdeAddr = (root & 0xfffff000) | ((wlin >>> 22) << 2);
    let pde = tableRead(pdeAddr, lin);
    if (aborted) return -1;
    if ((pde & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
    let rw = pde & PTE_RW, us = pde & PTE_US;
    if ((pde & PTE_PS) != 0 && (shadow || (cr4 & CR4_PSE) != 0)) {
      // 4 MiB page: the PDE is the leaf.
      if (!permitted(rw, us, access)) { pageFault(lin, access, true); return -1; }
      flags |= commitLeaf(pdeAddr, pde, rw, write, lin);
      if (aborted) return -1;
      pa = (pde & 0xffc00000) | (wlin & 0x3fffff);
      noteLargePage();
      flags |= us == 0 ? TLB_NO_USER : TLB_USER_PAGE;
      leafIsGpa = shadow && (pde & SHADOW_GPA) != 0;
    } else {
      const pteAddr = (pde & 0xfffff000) | (((wlin >>> 12) & 0x3ff) << 2);
      const pte = tableRead(pteAddr, lin);
      if (aborted) return -1;
      if ((pte & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
      traced = shadow && write && (pte & SHADOW_TRACE) != 0 && rw != 0;
      rw &= pte; us &= pte;
      if (!permitted(traced ? PTE_RW : rw, us, access)) { pageFault(lin, access, true); return -1; }
      // Accessed bits are set only once the whole walk succeeds, as Intel CPUs and Bochs do
      // (QEMU sets the PDE's early); test386.asm's #PF handler checks the PDE's A is still 0.
      if ((pde & PTE_A) == 0 && !shadow) { ptWrite(pdeAddr, pde | PTE_A, lin); if (aborted) return -1; }
      flags |= commitLeaf(pteAddr, pte, rw, write, lin);
      if (aborted) return -1;
      pa = (pte & 0xfffff000) | (wlin & 0xfff);
      flags |= us == 0 ? TLB_NO_USER : TLB_USER_PAGE;
      leafIsGpa = shadow && (pte & SHADOW_GPA) != 0;
      if (shadow && (pte & SHADOW_SPLIT) != 0) noteLargePage();
    }
    if (!shadow || leafIsGpa) pa &= a20Mask;
  }
  return fill(lin, pa, access, flags);
}

/** walkPlain translated the address (else it did nothing and the general walk runs). */
let plainDone: bool = false;
const P2M_RV: i32 = P2M_VALID | P2M_READ;

/**
 * The common case of a TLB miss, in one function: direct paging, 32-bit
 * tables, the tables and the page in plain memory that the map lets the
 * access through (memory.ts plainRamEntry), and no fault. Whatever else
 * (MMIO or ROM anywhere, a map entry that does not allow the access, a
 * not-present entry, a protection fault, an accessed/dirty bit to set in a
 * table the map does not let the walker write) leaves plainDone false with
 * nothing changed but the walked-frame marks, and the general walk decides
 * — so both paths give the same answer, the general one just looks more up.
 */
function walkPlain(lin: i32, access: i32, write: bool): i32 {
  plainDone = false;
  const pdeAddr = (cr3 & 0xfffff000) | ((lin >>> 22) << 2);
  const pdeMap = plainRamEntry(pdeAddr);
  if ((pdeMap & P2M_RV) != P2M_RV) return 0;
  const pdeHost = RAM_BASE + (pdeMap & ~0xfff);
  noteWalked(pdeAddr);
  const pde = ld32(pdeHost + (pdeAddr & 0xfff));
  if ((pde & PTE_P) == 0) return 0;
  let rw = pde & PTE_RW, us = pde & PTE_US;
  let leafAddr = pdeAddr, leafHost = pdeHost, leafMap = pdeMap, leaf = pde, pa: i32;
  const large = (pde & PTE_PS) != 0 && (cr4 & CR4_PSE) != 0;
  if (large) {
    pa = (pde & 0xffc00000) | (lin & 0x3fffff);
  } else {
    leafAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x3ff) << 2);
    leafMap = plainRamEntry(leafAddr);
    if ((leafMap & P2M_RV) != P2M_RV) return 0;
    leafHost = RAM_BASE + (leafMap & ~0xfff);
    noteWalked(leafAddr);
    leaf = ld32(leafHost + (leafAddr & 0xfff));
    if ((leaf & PTE_P) == 0) return 0;
    rw &= leaf; us &= leaf;
    pa = (leaf & 0xfffff000) | (lin & 0xfff);
  }
  if (!permitted(rw, us, access)) return 0;
  pa &= a20Mask;
  // The page itself, for this access.
  const need = P2M_RV | (write ? P2M_WRITE : 0) | ((access & ACC_FETCH) != 0 ? P2M_EXEC : 0);
  const map = plainRamEntry(pa);
  if ((map & need) != need) return 0;
  // Accessed/dirty bits, as the general walk sets them (the PDE's first), in tables the walker may write.
  const setPdeA = !large && (pde & PTE_A) == 0;
  let upd = leaf | PTE_A;
  if (write) upd |= PTE_D;
  if (setPdeA && (pdeMap & P2M_WRITE) == 0) return 0;
  if (upd != leaf && (leafMap & P2M_WRITE) == 0) return 0;
  if (setPdeA) writeAt(pdeAddr, PHYS_RAM, pdeHost, 4, pde | PTE_A);
  if (upd != leaf) writeAt(leafAddr, PHYS_RAM, leafHost, 4, upd);
  let flags = TLB_VALID;
  if ((upd & PTE_D) == 0 || rw == 0 || (map & P2M_WRITE) == 0) flags |= TLB_READONLY;
  if ((map & P2M_EXEC) == 0) flags |= TLB_NO_EXEC;
  flags |= us == 0 ? TLB_NO_USER : TLB_USER_PAGE;
  if ((leaf & PTE_G) != 0 && (cr4 & CR4_PGE) != 0) flags |= TLB_GLOBAL;
  if (large) noteLargePage();
  const hostPage = RAM_BASE + (map & ~0xfff);
  if (pageHasCode(hostPage - RAM_BASE)) flags |= TLB_HAS_CODE;
  setResolved(PHYS_RAM, hostPage);
  tlbSet(lin, (hostPage ^ (lin & ~0xfff)) | flags);
  plainDone = true;
  return pa;
}

/** Resolve the walk's result to a host page and cache the translation. */
function fill(lin: i32, pa: i32, access: i32, walkFlags: i32): i32 {
  let flags = walkFlags;
  if (shadow) {
    if (traced) {
      if (!logTrace(pa)) return -1;
      // A word the VMM syncs (mmu/sync.ts): it takes the log right after this instruction (no restart: the store is made).
      if (syncStore(pa, storeSize) && exitReason == EXIT_NONE) setExit(EXIT_TRACE_LOG, traceCount, 0, 0);
    }
    else if (logWaiting()) { traceExit(); return -1; }
  }
  if (shadow && !leafIsGpa) {
    // A host-physical frame named by the VMM's own tables.
    const h = hostAddr(pa & ~0xfff, 0x1000);
    if (h < 0) { badShadowFrame(lin); return -1; }
    pageIsRam(h);
  } else {
    const q = (access & ACC_WRITE) != 0 ? Q_WRITE : (access & ACC_FETCH) != 0 ? Q_FETCH : Q_READ;
    if (!resolve(pa, q | Q_LINEAR_VALID, lin)) return -1;
    if (resKind == PHYS_RAM) {
      // An execute-only page: the TLB has no "no read" bit, so nothing is cached (every access translates again).
      if ((mapPerm & P2M_READ) == 0) return pa;
      if ((mapPerm & P2M_WRITE) == 0) flags |= TLB_READONLY;
      if ((mapPerm & P2M_EXEC) == 0) flags |= TLB_NO_EXEC;
    } else if (resKind == PHYS_MMIO && (access & ACC_WRITE) != 0 && physKind(pa) == PHYS_RAM) {
      // A write the map sends to the MMIO bus (read-only memory): reads of the page stay RAM, so cache nothing.
      return pa;
    }
  }
  const kind = resKind;
  let hostPage: i32;
  if (kind == PHYS_RAM) { hostPage = resHost; if (pageHasCode(hostPage - RAM_BASE)) flags |= TLB_HAS_CODE; }
  else if (kind == PHYS_ROM) { hostPage = resHost; flags |= TLB_READONLY; }
  else { hostPage = pa & ~0xfff; flags |= TLB_SLOW; }
  tlbSet(lin, (hostPage ^ (lin & ~0xfff)) | flags);
  return pa;
}

/** resolve()'s answer for a host frame the shadow tables name directly. */
function pageIsRam(host: i32): void { setResolved(PHYS_RAM, host); }

/**
 * Log a store at host address `addr` into a guest page table; false (after an
 * exit) when the log is full. The log holds 16-byte lines, the line of `addr`
 * and, for a store not aligned on one, the next (in this page: a store that
 * crosses the page translates its second page on its own), so that any store
 * of up to 16 bytes is covered without knowing its size here — and the VMM
 * compares only those entries with its copy, not the whole table.
 */
function logTrace(addr: i32): bool {
  const line = addr & ~15;
  if (!logLine(line)) return false;
  if ((addr & 15) != 0 && ((line + 16) & 0xfff) != 0 && !logLine(line + 16)) return false;
  traceEip = instrEip;
  return true;
}

function logLine(line: i32): bool {
  for (let i = 0; i < traceCount; i++) if (ld32a(TRACE_LOG + (i << 2)) == line) return true;
  if (traceCount >= TRACE_LOG_MAX) { traceExit(); return false; }
  st32a(TRACE_LOG + (traceCount++ << 2), line);
  return true;
}

/**
 * The guest wrote its page tables since the VMM last looked: before a translation is made (fill) or a shadow fault
 * taken (pageFault) the VMM updates the shadow, and the access is tried again — unless the store was this
 * instruction's own (restarting it would store and exit again forever; a translation through an entry the same
 * instruction rewrote may be old or new, as on hardware).
 */
function logWaiting(): bool { return traceCount > 0 && instrEip != traceEip; }
function traceExit(): void {
  if (exitReason != EXIT_NONE) { requestRestart(); return; }
  setExit(EXIT_TRACE_LOG, traceCount, 0, 0);
  requestRestart();
}

function badShadowFrame(lin: i32): void {
  setExit(EXIT_UNIMPLEMENTED, lin, 0, 0);
  setExitField(X_DETAIL, 8); // a shadow page-table entry outside host memory
  requestRestart();
}

/** A page-table entry: the guest's (through the map) or, under shadow paging, the VMM's (host-physical). */
function tableRead(addr: i32, lin: i32): i32 {
  if (!shadow) return ptRead(addr, lin);
  const h = hostAddr(addr, 4);
  if (h < 0) { badShadowFrame(lin); return 0; }
  return ld32(h);
}

function permitted(rw: i32, us: i32, access: i32): bool {
  const write = (access & ACC_WRITE) != 0;
  if ((access & ACC_USER) != 0) {
    if (us == 0) return false;
    if (write && rw == 0) return false;
    return true;
  }
  // Supervisor: SMAP keeps data accesses off user pages — at CPL 0-2 unless EFLAGS.AC is set, and the implicit
  // ones made at CPL 3 always (SDM Vol. 3 4.6.1). Only through the guest's paging: under shadow paging with the
  // guest's off, the VMM's passthrough tables mark every page user.
  if (us != 0 && (cr4 & CR4_SMAP) != 0 && pagingEnabled && (access & ACC_FETCH) == 0 && (cpl == 3 || (flagsRaw & AC) == 0)) return false;
  // SMEP keeps instruction fetches off them (the same section).
  if (us != 0 && (cr4 & CR4_SMEP) != 0 && pagingEnabled && (access & ACC_FETCH) != 0) return false;
  // Writes to read-only pages fault only with CR0.WP (always on under shadow paging).
  if (write && rw == 0 && (shadow || (cr0 & CR0_WP) != 0)) return false;
  return true;
}

/**
 * A leaf entry (PTE, or a PDE mapping a large page) that allowed the access:
 * set its accessed bit, and dirty bit on a write (guest tables only), and
 * return the TLB flags it implies (read-only until dirty or when not writable
 * at some level; global). `rw` is the writable bit combined over all levels.
 */
function commitLeaf(entryAddr: i32, entry: i32, rw: i32, write: bool, lin: i32): i32 {
  let flags = 0;
  if (shadow) {
    // The VMM keeps a shadow entry read-only until the guest's dirty bit is set.
    if (rw == 0) flags |= TLB_READONLY;
  } else {
    let upd = entry | PTE_A;
    if (write) upd |= PTE_D;
    if (upd != entry) { ptWrite(entryAddr, upd, lin); if (aborted) return 0; }
    if ((upd & PTE_D) == 0 || rw == 0) flags |= TLB_READONLY;
  }
  if ((entry & PTE_G) != 0 && (cr4 & CR4_PGE) != 0) flags |= TLB_GLOBAL;
  return flags;
}

function pageFault(lin: i32, access: i32, present: bool): void {
  // Most often the store waiting in the log was the PTE this access needs (a fresh page: the guest's own fault
  // handler just wrote it), which the update fills, so the VMM need not take a fault to fill it.
  if (shadow && logWaiting()) { traceExit(); return; }
  let code = present ? 1 : 0;
  if ((access & ACC_WRITE) != 0) code |= 2;
  if ((access & ACC_USER) != 0) code |= 4;
  // I/D is defined only with SMEP, or PAE paging and EFER.NXE. Under shadow paging the #PF is the VMM's, which builds
  // the guest's error code itself and needs to know a fetch whatever the guest's form (SMAP spares fetches).
  if ((access & ACC_FETCH) != 0 && (shadow || (cr4 & CR4_SMEP) != 0 || ((cr4 & CR4_PAE) != 0 && (efer & EFER_NXE) != 0))) code |= 16;
  raisePf(lin, code);
}

/** #PF: to the guest (CR2 = lin), or, when the VMM intercepts it, an exception exit with lin beside it (CR2 untouched, as VT-x). */
function raisePf(lin: i32, code: i32): void {
  if (exceptionExits(PF_)) {
    raise(PF_, code); // an intercepted vector becomes an EXIT_EXCEPTION (controls.ts)
    setExitField(X_VALUE2, lin);
    return;
  }
  setCr2(lin);
  raise(PF_, code);
}

// ---- PAE ------------------------------------------------------------------------

export const EFER_NXE: i32 = 1 << 11;

/** The four PDPTEs, loaded from CR3 when it is written with PAE paging on (as hardware does). */
const pdpteLo = new StaticArray<i32>(4);
const pdpteHi = new StaticArray<i32>(4);
let paeFlags: i32 = 0;

/**
 * Load the PDPTEs for PAE paging; returns false when one has reserved bits set
 * (the caller raises #GP(0)).
 */
export function loadPdptes(): bool {
  const base = cr3 & 0xffffffe0;
  for (let i = 0; i < 4; i++) {
    const lo = ptRead(i32(base + i * 8), 0), hi = ptRead(i32(base + i * 8 + 4), 0);
    if (aborted) return true; // a violation exit: the instruction restarts
    // Reserved: bits 1-2, 5-8 and 63:36 (MAXPHYADDR = 36).
    if ((lo & PTE_P) != 0 && ((lo & 0x1e6) != 0 || (hi & 0xfffffff0) != 0)) return false;
    unchecked(pdpteLo[i] = lo);
    unchecked(pdpteHi[i] = hi);
  }
  return true;
}
/** The guest's PDPTE register i (low or high half), for the VMM's shadow pager. */
export function pdpte(i: i32, high: bool): i32 { return high ? unchecked(pdpteHi[i & 3]) : unchecked(pdpteLo[i & 3]); }

/** High-dword reserved bits of a PAE PDE/PTE: 62:36, and 63 unless EFER.NXE. */
function reservedHi(hi: i32): bool {
  const mask = (efer & EFER_NXE) != 0 ? 0x7ffffff0 : 0xfffffff0;
  return (hi & mask) != 0;
}

function walkPae(lin: i32, access: i32): i32 {
  const write = (access & ACC_WRITE) != 0;
  const fetch = (access & ACC_FETCH) != 0;
  let flags = TLB_VALID;
  const idx = lin >>> 30;
  // Under shadow paging the PDPT is the VMM's, read at each walk; the guest's PDPTE registers are its own.
  const pdpLo = shadow ? tableRead((shadowRoot & 0xffffffe0) + idx * 8, lin) : unchecked(pdpteLo[idx]);
  if (aborted) return -1;
  if ((pdpLo & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
  const pdeAddr = (pdpLo & 0xfffff000) | (((lin >>> 21) & 0x1ff) << 3);
  const pde = tableRead(pdeAddr, lin), pdeHi = tableRead(pdeAddr + 4, lin);
  if (aborted) return -1;
  if ((pde & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
  if (reservedHi(pdeHi) || ((pde & PTE_PS) != 0 && (pde & 0x1fe000) != 0)) { paeReserved(lin, access); return -1; }
  let rw = pde & PTE_RW, us = pde & PTE_US;
  let nx = (efer & EFER_NXE) != 0 && pdeHi < 0;
  let pa: i32;
  if ((pde & PTE_PS) != 0) {
    // 2 MiB page.
    if (!permitted(rw, us, access) || (fetch && nx)) { pageFault(lin, access, true); return -1; }
    flags |= commitLeaf(pdeAddr, pde, rw, write, lin);
    if (aborted) return -1;
    pa = (pde & 0xffe00000) | (lin & 0x1fffff);
    noteLargePage();
    if ((pdeHi & 0xf) != 0) { above4G(lin); return -1; }
    leafIsGpa = shadow && (pde & SHADOW_GPA) != 0;
  } else {
    const pteAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x1ff) << 3);
    const pte = tableRead(pteAddr, lin), pteHi = tableRead(pteAddr + 4, lin);
    if (aborted) return -1;
    if ((pte & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
    if (reservedHi(pteHi)) { paeReserved(lin, access); return -1; }
    traced = shadow && write && (pte & SHADOW_TRACE) != 0 && rw != 0;
    rw &= pte; us &= pte;
    nx = nx || ((efer & EFER_NXE) != 0 && pteHi < 0);
    if (!permitted(traced ? PTE_RW : rw, us, access) || (fetch && nx)) { pageFault(lin, access, true); return -1; }
    if ((pde & PTE_A) == 0 && !shadow) { ptWrite(pdeAddr, pde | PTE_A, lin); if (aborted) return -1; } // only after a successful walk, as above
    flags |= commitLeaf(pteAddr, pte, rw, write, lin);
    if (aborted) return -1;
    pa = (pte & 0xfffff000) | (lin & 0xfff);
    if ((pteHi & 0xf) != 0) { above4G(lin); return -1; }
    leafIsGpa = shadow && (pte & SHADOW_GPA) != 0;
    if (shadow && (pte & SHADOW_SPLIT) != 0) noteLargePage();
  }
  flags |= us == 0 ? TLB_NO_USER : TLB_USER_PAGE;
  if (nx) flags |= TLB_NO_EXEC;
  paeFlags = flags;
  return pa;
}

/** The core's physical address space is 32-bit: a frame above 4 GiB stops the VM with a clear exit. */
function above4G(lin: i32): void {
  setExit(EXIT_UNIMPLEMENTED, lin, 0, 0);
  setExitField(X_DETAIL, 5);
  requestRestart();
}
function paeReserved(lin: i32, access: i32): void {
  let code = 1 | 8;
  if ((access & ACC_WRITE) != 0) code |= 2;
  if ((access & ACC_USER) != 0) code |= 4;
  if ((access & ACC_FETCH) != 0 && (efer & EFER_NXE) != 0) code |= 16;
  raisePf(lin, code);
}

/** The user bit for an access at the current privilege level. */
export function userAccess(): i32 { return cpl == 3 ? ACC_USER : 0; }
