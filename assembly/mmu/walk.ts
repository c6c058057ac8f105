// Linear → physical translation: the 32-bit two-level page walk with 4 MiB
// pages (CR4.PSE), global pages (CR4.PGE), CR0.WP and accessed/dirty bits,
// and #PF with the architectural error code. Successful walks fill the TLB.
// Not yet here: PAE and NX (issue 3).
import { cr0, cr3, cr4, pagingEnabled, a20Mask, cpl, CR0_WP, CR4_PSE, CR4_PGE, setCr2 } from "../state";
import { ptRead, ptWrite, physKind, physHost, PHYS_RAM, PHYS_ROM } from "../memory";
import { tlbSet, TLB_VALID, TLB_READONLY, TLB_NO_USER, TLB_SLOW, TLB_GLOBAL } from "./tlb";
import { raise, PF_ } from "../fault";

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
  } else {
    const pdeAddr = (cr3 & 0xfffff000) | ((lin >>> 22) << 2);
    let pde = ptRead(pdeAddr);
    if ((pde & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
    let rw = pde & PTE_RW, us = pde & PTE_US;
    if ((pde & PTE_PS) != 0 && (cr4 & CR4_PSE) != 0) {
      // 4 MiB page: the PDE is the leaf.
      if (!permitted(rw, us, write, user)) { pageFault(lin, access, true); return -1; }
      let upd = pde | PTE_A;
      if (write) upd |= PTE_D;
      if (upd != pde) ptWrite(pdeAddr, upd);
      pa = (pde & 0xffc00000) | (lin & 0x3fffff);
      if ((upd & PTE_D) == 0 || rw == 0) flags |= TLB_READONLY;
      if (us == 0) flags |= TLB_NO_USER;
      if ((pde & PTE_G) != 0 && (cr4 & CR4_PGE) != 0) flags |= TLB_GLOBAL;
    } else {
      const pteAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x3ff) << 2);
      const pte = ptRead(pteAddr);
      if ((pte & PTE_P) == 0) { pageFault(lin, access, false); return -1; }
      rw &= pte; us &= pte;
      if (!permitted(rw, us, write, user)) { pageFault(lin, access, true); return -1; }
      if ((pde & PTE_A) == 0) ptWrite(pdeAddr, pde | PTE_A);
      let upd = pte | PTE_A;
      if (write) upd |= PTE_D;
      if (upd != pte) ptWrite(pteAddr, upd);
      pa = (pte & 0xfffff000) | (lin & 0xfff);
      if ((upd & PTE_D) == 0 || rw == 0) flags |= TLB_READONLY;
      if (us == 0) flags |= TLB_NO_USER;
      if ((pte & PTE_G) != 0 && (cr4 & CR4_PGE) != 0) flags |= TLB_GLOBAL;
    }
    pa &= a20Mask;
  }
  const kind = physKind(pa & ~0xfff);
  let hostPage: i32;
  if (kind == PHYS_RAM) hostPage = physHost(pa & ~0xfff, kind);
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

function pageFault(lin: i32, access: i32, present: bool): void {
  setCr2(lin);
  let code = present ? 1 : 0;
  if ((access & ACC_WRITE) != 0) code |= 2;
  if ((access & ACC_USER) != 0) code |= 4;
  raise(PF_, code);
}

/** The user bit for an access at the current privilege level. */
export function userAccess(): i32 { return cpl == 3 ? ACC_USER : 0; }
