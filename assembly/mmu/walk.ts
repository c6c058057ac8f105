// Linear → physical translation: the 32-bit two-level page walk with 4 MiB
// pages (CR4.PSE), and the PAE three-level walk with 2 MiB pages and the NX
// bit (EFER.NXE); global pages (CR4.PGE), CR0.WP, accessed/dirty bits, and
// #PF with the architectural error code. Successful walks fill the TLB.
// Physical addresses are 32 bits: a PAE entry pointing above 4 GiB stops
// the VM with an "unimplemented" exit rather than guessing.
import { cr0, cr3, cr4, efer, pagingEnabled, a20Mask, cpl, CR0_WP, CR4_PSE, CR4_PGE, CR4_PAE, setCr2 } from "../state";
import { ptRead, ptWrite, physKind, physHost, PHYS_RAM, PHYS_ROM } from "../memory";
import { tlbSet, TLB_VALID, TLB_READONLY, TLB_NO_USER, TLB_SLOW, TLB_GLOBAL, TLB_NO_EXEC, TLB_HAS_CODE, noteLargePage } from "./tlb";
import { pageHasCode } from "../tcache";
import { raise, aborted, requestRestart, PF_ } from "../fault";
import { setExit, setExitField, EXIT_UNIMPLEMENTED, X_DETAIL } from "../exit";

export const ACC_WRITE: i32 = 1;
export const ACC_USER: i32 = 2;
export const ACC_FETCH: i32 = 4;

const PTE_P: i32 = 1, PTE_RW: i32 = 2, PTE_US: i32 = 4, PTE_A: i32 = 0x20, PTE_D: i32 = 0x40, PTE_PS: i32 = 0x80, PTE_G: i32 = 0x100;

/**
 * Translate a linear address for an access (ACC_* bits; ACC_USER when the
 * access is made at CPL 3, not for implicit supervisor accesses such as
 * descriptor-table reads). Returns the physical address and caches the page
 * in the TLB, or raises #PF and returns -1 (check `aborted`).
 */
export function translate(lin: i32, access: i32): i32 {
  const write = (access & ACC_WRITE) != 0;
  const user = (access & ACC_USER) != 0;
  let pa: i32;
  let flags = TLB_VALID;
  if (!pagingEnabled) {
    pa = lin & a20Mask;
  } else if ((cr4 & CR4_PAE) != 0) {
    pa = walkPae(lin, access);
    if (pa == -1 && aborted) return -1;
    flags = paeFlags;
  } else {
    const pdeAddr = (cr3 & 0xfffff000) | ((lin >>> 22) << 2);
    let pde = ptRead(pdeAddr);
    if ((pde & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
    let rw = pde & PTE_RW, us = pde & PTE_US;
    if ((pde & PTE_PS) != 0 && (cr4 & CR4_PSE) != 0) {
      // 4 MiB page: the PDE is the leaf.
      if (!permitted(rw, us, write, user)) { pageFault(lin, access, true); return -1; }
      flags |= commitLeaf(pdeAddr, pde, rw, write);
      pa = (pde & 0xffc00000) | (lin & 0x3fffff);
      noteLargePage();
      if (us == 0) flags |= TLB_NO_USER;
    } else {
      const pteAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x3ff) << 2);
      const pte = ptRead(pteAddr);
      if ((pte & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
      rw &= pte; us &= pte;
      if (!permitted(rw, us, write, user)) { pageFault(lin, access, true); return -1; }
      // Accessed bits are set only once the whole walk succeeds, as Intel CPUs and Bochs do
      // (QEMU sets the PDE's early); test386.asm's #PF handler checks the PDE's A is still 0.
      if ((pde & PTE_A) == 0) ptWrite(pdeAddr, pde | PTE_A);
      flags |= commitLeaf(pteAddr, pte, rw, write);
      pa = (pte & 0xfffff000) | (lin & 0xfff);
      if (us == 0) flags |= TLB_NO_USER;
    }
    pa &= a20Mask;
  }
  const kind = physKind(pa & ~0xfff);
  let hostPage: i32;
  if (kind == PHYS_RAM) { hostPage = physHost(pa & ~0xfff, kind); if (pageHasCode(pa)) flags |= TLB_HAS_CODE; }
  else if (kind == PHYS_ROM) { hostPage = physHost(pa & ~0xfff, kind); flags |= TLB_READONLY; }
  else { hostPage = pa & ~0xfff; flags |= TLB_SLOW; }
  tlbSet(lin, (hostPage ^ (lin & ~0xfff)) | flags);
  return pa;
}

function permitted(rw: i32, us: i32, write: bool, user: bool): bool {
  if (user) {
    if (us == 0) return false;
    if (write && rw == 0) return false;
    return true;
  }
  // Supervisor: writes to read-only pages fault only with CR0.WP.
  if (write && rw == 0 && (cr0 & CR0_WP) != 0) return false;
  return true;
}

/**
 * A leaf entry (PTE, or a PDE mapping a large page) that allowed the access:
 * set its accessed bit, and dirty bit on a write, and return the TLB flags it
 * implies (read-only until dirty or when not writable at some level; global).
 * `rw` is the writable bit combined over all levels.
 */
function commitLeaf(entryAddr: i32, entry: i32, rw: i32, write: bool): i32 {
  let upd = entry | PTE_A;
  if (write) upd |= PTE_D;
  if (upd != entry) ptWrite(entryAddr, upd);
  let flags = 0;
  if ((upd & PTE_D) == 0 || rw == 0) flags |= TLB_READONLY;
  if ((entry & PTE_G) != 0 && (cr4 & CR4_PGE) != 0) flags |= TLB_GLOBAL;
  return flags;
}

function pageFault(lin: i32, access: i32, present: bool): void {
  setCr2(lin);
  let code = present ? 1 : 0;
  if ((access & ACC_WRITE) != 0) code |= 2;
  if ((access & ACC_USER) != 0) code |= 4;
  // I/D is defined only with PAE paging and EFER.NXE.
  if ((access & ACC_FETCH) != 0 && (cr4 & CR4_PAE) != 0 && (efer & EFER_NXE) != 0) code |= 16;
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
    const lo = ptRead(i32(base + i * 8)), hi = ptRead(i32(base + i * 8 + 4));
    // Reserved: bits 1-2, 5-8 and 63:36 (MAXPHYADDR = 36).
    if ((lo & PTE_P) != 0 && ((lo & 0x1e6) != 0 || (hi & 0xfffffff0) != 0)) return false;
    unchecked(pdpteLo[i] = lo);
    unchecked(pdpteHi[i] = hi);
  }
  return true;
}

/** High-dword reserved bits of a PAE PDE/PTE: 62:36, and 63 unless EFER.NXE. */
function reservedHi(hi: i32): bool {
  const mask = (efer & EFER_NXE) != 0 ? 0x7ffffff0 : 0xfffffff0;
  return (hi & mask) != 0;
}

function walkPae(lin: i32, access: i32): i32 {
  const write = (access & ACC_WRITE) != 0;
  const user = (access & ACC_USER) != 0;
  const fetch = (access & ACC_FETCH) != 0;
  let flags = TLB_VALID;
  const idx = lin >>> 30;
  const pdpLo = unchecked(pdpteLo[idx]);
  if ((pdpLo & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
  const pdeAddr = (pdpLo & 0xfffff000) | (((lin >>> 21) & 0x1ff) << 3);
  const pde = ptRead(pdeAddr), pdeHi = ptRead(pdeAddr + 4);
  if ((pde & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
  if (reservedHi(pdeHi) || ((pde & PTE_PS) != 0 && (pde & 0x1fe000) != 0)) { paeReserved(lin, access); return -1; }
  let rw = pde & PTE_RW, us = pde & PTE_US;
  let nx = (efer & EFER_NXE) != 0 && pdeHi < 0;
  let pa: i32;
  if ((pde & PTE_PS) != 0) {
    // 2 MiB page.
    if (!permitted(rw, us, write, user) || (fetch && nx)) { pageFault(lin, access, true); return -1; }
    flags |= commitLeaf(pdeAddr, pde, rw, write);
    pa = (pde & 0xffe00000) | (lin & 0x1fffff);
    noteLargePage();
    if ((pdeHi & 0xf) != 0) { above4G(lin); return -1; }
  } else {
    const pteAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x1ff) << 3);
    const pte = ptRead(pteAddr), pteHi = ptRead(pteAddr + 4);
    if ((pte & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
    if (reservedHi(pteHi)) { paeReserved(lin, access); return -1; }
    rw &= pte; us &= pte;
    nx = nx || ((efer & EFER_NXE) != 0 && pteHi < 0);
    if (!permitted(rw, us, write, user) || (fetch && nx)) { pageFault(lin, access, true); return -1; }
    if ((pde & PTE_A) == 0) ptWrite(pdeAddr, pde | PTE_A); // only after a successful walk, as above
    flags |= commitLeaf(pteAddr, pte, rw, write);
    pa = (pte & 0xfffff000) | (lin & 0xfff);
    if ((pteHi & 0xf) != 0) { above4G(lin); return -1; }
  }
  if (us == 0) flags |= TLB_NO_USER;
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
  setCr2(lin);
  let code = 1 | 8;
  if ((access & ACC_WRITE) != 0) code |= 2;
  if ((access & ACC_USER) != 0) code |= 4;
  if ((access & ACC_FETCH) != 0 && (efer & EFER_NXE) != 0) code |= 16;
  raise(PF_, code);
}

/** The user bit for an access at the current privilege level. */
export function userAccess(): i32 { return cpl == 3 ? ACC_USER : 0; }
