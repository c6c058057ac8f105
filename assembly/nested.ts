// The architectural state of the vCPU saved to core memory and put back, for
// nested VM entries (index.ts pushEntry/popEntry): a SymCall enters the guest in
// a context of its own and the interrupted context must come back exactly,
// whatever the nested code did. What is saved: the general registers, EIP,
// EFLAGS, CPL, the eight segment registers with their caches, CR0/2/3/4, EFER,
// GDTR, IDTR and the halted flag. Putting back flushes the TLB only when the
// paging registers differ (the common case, a call that changed none, keeps it).
import { ld32a, st32a } from "./portable";
import {
  eip, setEip, cpl, setCpl, cr0, cr2, cr3, cr4, efer, gdtrBase, gdtrLimit, idtrBase, idtrLimit, halted, setHalted,
  setCr0Raw, setCr2, setCr3Raw, setCr4Raw, setEfer, setGdtr, setIdtr, reg32, setReg32, segSel, segBase, segLimit, segAttr,
  pagingEnabled, CR4_PAE,
} from "./state";
import { getFlags, setFlags } from "./cpu/flags";
import { setSegCache } from "./cpu/segments";
import { tlbFlush } from "./mmu/tlb";
import { loadPdptes } from "./mmu/walk";
import { invalidateFetch } from "./cpu/fetch";

const GPRS: i32 = 0;         // 8 × i32
const EIP: i32 = 32;
const EFLAGS: i32 = 36;
const CPL: i32 = 40;
const CR0: i32 = 44;
const CR2: i32 = 48;
const CR3: i32 = 52;
const CR4: i32 = 56;
const EFER: i32 = 60;
const GDTR: i32 = 64;        // base, limit
const IDTR: i32 = 72;        // base, limit
const HALTED: i32 = 80;
const SEGS: i32 = 84;        // 8 × (selector, base, limit, attr)
/** Bytes saveCpu writes. */
export const CPU_STATE_BYTES: i32 = SEGS + 8 * 16;

export function saveCpu(to: i32): void {
  for (let i = 0; i < 8; i++) st32a(to + GPRS + (i << 2), reg32(i));
  st32a(to + EIP, eip); st32a(to + EFLAGS, getFlags()); st32a(to + CPL, cpl);
  st32a(to + CR0, cr0); st32a(to + CR2, cr2); st32a(to + CR3, cr3); st32a(to + CR4, cr4); st32a(to + EFER, efer);
  st32a(to + GDTR, gdtrBase); st32a(to + GDTR + 4, gdtrLimit); st32a(to + IDTR, idtrBase); st32a(to + IDTR + 4, idtrLimit);
  st32a(to + HALTED, halted ? 1 : 0);
  for (let s = 0; s < 8; s++) {
    const a = to + SEGS + (s << 4);
    st32a(a, segSel(s)); st32a(a + 4, segBase(s)); st32a(a + 8, segLimit(s)); st32a(a + 12, segAttr(s) & 0x1f0ff);
  }
}

export function restoreCpu(from: i32): void {
  const c0 = ld32a(from + CR0), c3 = ld32a(from + CR3), c4 = ld32a(from + CR4), e = ld32a(from + EFER);
  const pagingChanged = c0 != cr0 || c3 != cr3 || c4 != cr4 || e != efer;
  setCr0Raw(c0); setCr2(ld32a(from + CR2)); setCr3Raw(c3); setCr4Raw(c4); setEfer(e);
  if (pagingChanged) {
    if (pagingEnabled && (cr4 & CR4_PAE) != 0) loadPdptes();
    tlbFlush(false);
  }
  setGdtr(ld32a(from + GDTR), ld32a(from + GDTR + 4));
  setIdtr(ld32a(from + IDTR), ld32a(from + IDTR + 4));
  for (let s = 0; s < 8; s++) {
    const a = from + SEGS + (s << 4);
    setSegCache(s, ld32a(a), ld32a(a + 4), ld32a(a + 8), ld32a(a + 12));
  }
  for (let i = 0; i < 8; i++) setReg32(i, ld32a(from + GPRS + (i << 2)));
  setCpl(ld32a(from + CPL));
  setFlags(ld32a(from + EFLAGS));
  setEip(ld32a(from + EIP));
  setHalted(ld32a(from + HALTED) != 0);
  invalidateFetch();
}
