// Per-vCPU state: everything that belongs to one virtual CPU rather than to the
// machine, saved into and restored from a slot in core memory (layout.ts VCPU_SAVE),
// so that one core can run several vCPUs in turn (the VMM switches between run()
// calls, at instruction boundaries). A new piece of per-vCPU state (an MSR the
// core keeps, a symbiotic page register, a per-vCPU TLB tag) must be added here.
//
// Machine state stays outside: RAM, ROM, MMIO ranges, A20, the translation cache
// (keyed by physical address, shared by all vCPUs), the retired-instruction count
// and TSC offset (one virtual time for the machine: every vCPU reads the same TSC).
// The TLB and the fetch window are flushed at a switch; the PAE PDPTE registers are
// reloaded from the new vCPU's CR3 (they are cached copies of guest memory).
import { REGS, SEG_SEL, DR, FPU, XMM, VCPU_SAVE, VCPU_SAVE_SIZE, VCPU_MAX } from "./layout";
import { mxcsr, setMxcsr } from "./cpu/sse/state";
import { ld32a, st32a, copy8 } from "./portable";
import {
  eip, setEip, cpl, setCpl, cr0, cr2, cr3, cr4, efer, setCr0Raw, setCr2, setCr3Raw, setCr4Raw, setEfer,
  gdtrBase, gdtrLimit, idtrBase, idtrLimit, setGdtr, setIdtr, halted, setHalted, irqShadow, setIrqShadow,
  sysenterCs, sysenterEsp, sysenterEip, setSysenter, nmiPending, setNmiPending, nmiBlocked, setNmiBlocked,
  pagingEnabled, CR4_PAE,
} from "./state";
import { getFlags, setFlags } from "./cpu/flags";
import { setSegCache } from "./cpu/segments";
import { tscAux, setTscAux, initialApicId, setInitialApicId } from "./cpu/ops/system";
import {
  cw, sw, top, empty, fip, fcs, fdp, fds, fop, setCw, setSw, setTop, setEmpty, setPointers, RAW, exact, stale, setExact, setStale,
} from "./cpu/fpu/state";
import { tlbFlush } from "./mmu/tlb";
import { loadPdptes } from "./mmu/walk";
import { invalidateFetch } from "./cpu/fetch";
import { tsxCtrl, setTsxCtrl } from "./cpu/ops/rtm";

// Slot layout: register file (0x00), segment caches (0x40: SEG_SEL..SEG_HI, 6 × 8 × i32),
// debug registers (0x100), x87 registers (0x140), the globals below (0x180), the x87 registers'
// exact images — the MMX registers — (0x200, 0x60 bytes), two more globals (0x260), the XMM
// registers (0x270, 0x80 bytes), MXCSR (0x2F0) and IA32_TSX_CTRL (0x2F4).
const S_REGS: i32 = 0x00;
const S_SEGS: i32 = 0x40;
const S_DR: i32 = 0x100;
const S_FPU: i32 = 0x140;
const S_G: i32 = 0x180;
const S_IMAGES: i32 = 0x200;
const S_IMAGE_MASKS: i32 = 0x260; // exact, stale (cpu/fpu/state.ts)
const S_XMM: i32 = 0x270;
const S_MXCSR: i32 = 0x2f0;
const S_TSX_CTRL: i32 = 0x2f4;
const G_EIP = 0, G_FLAGS = 1, G_CPL = 2, G_CR0 = 3, G_CR2 = 4, G_CR3 = 5, G_CR4 = 6, G_EFER = 7, G_GDTR_BASE = 8,
  G_GDTR_LIMIT = 9, G_IDTR_BASE = 10, G_IDTR_LIMIT = 11, G_HALTED = 12, G_SHADOW = 13, G_SYSENTER_CS = 14,
  G_SYSENTER_ESP = 15, G_SYSENTER_EIP = 16, G_NMI_PENDING = 17, G_NMI_BLOCKED = 18, G_PENDING_VECTOR = 19,
  G_IRQ_WINDOW = 20, G_TSC_AUX = 21, G_APIC_ID = 22, G_FPU_CW = 23, G_FPU_SW = 24, G_FPU_TOP = 25,
  G_FPU_EMPTY = 26, G_FIP = 27, G_FCS = 28, G_FDP = 29, G_FDS = 30, G_FOP = 31;
// (32 globals × 4 bytes end at 0x200.)

function slotBase(slot: i32): i32 { return VCPU_SAVE + (slot & (VCPU_MAX - 1)) * VCPU_SAVE_SIZE; }
function g(b: i32, i: i32): i32 { return ld32a(b + S_G + (i << 2)); }
function setG(b: i32, i: i32, v: i32): void { st32a(b + S_G + (i << 2), v); }

/** Save the running vCPU's state (with the event slots of index.ts) into `slot`. */
export function saveVcpu(slot: i32, pendingVector: i32, irqWindow: bool): void { saveVcpuAt(slotBase(slot), pendingVector, irqWindow); }

/** Make the vCPU saved in `slot` the running one (index.ts takes its event slots back). */
export function loadVcpu(slot: i32): void { loadVcpuFrom(slotBase(slot), true); }

/**
 * Save the running vCPU's state into VCPU_SAVE_SIZE bytes at `b`: a vCPU slot, or a
 * nested entry's save area (index.ts pushEntry), which puts the interrupted context back
 * exactly whatever the nested entry did.
 */
export function saveVcpuAt(b: i32, pendingVector: i32, irqWindow: bool): void {
  copy8(b + S_REGS, REGS, 0x24);
  copy8(b + S_SEGS, SEG_SEL, 0xc0);
  copy8(b + S_DR, DR, 0x20);
  copy8(b + S_FPU, FPU, 0x40);
  copy8(b + S_IMAGES, RAW, 0x60);
  st32a(b + S_IMAGE_MASKS, exact); st32a(b + S_IMAGE_MASKS + 4, stale);
  copy8(b + S_XMM, XMM, 0x80);
  st32a(b + S_MXCSR, mxcsr);
  st32a(b + S_TSX_CTRL, tsxCtrl);
  setG(b, G_EIP, eip); setG(b, G_FLAGS, getFlags()); setG(b, G_CPL, cpl);
  setG(b, G_CR0, cr0); setG(b, G_CR2, cr2); setG(b, G_CR3, cr3); setG(b, G_CR4, cr4); setG(b, G_EFER, efer);
  setG(b, G_GDTR_BASE, gdtrBase); setG(b, G_GDTR_LIMIT, gdtrLimit);
  setG(b, G_IDTR_BASE, idtrBase); setG(b, G_IDTR_LIMIT, idtrLimit);
  setG(b, G_HALTED, halted ? 1 : 0); setG(b, G_SHADOW, irqShadow ? 1 : 0);
  setG(b, G_SYSENTER_CS, sysenterCs); setG(b, G_SYSENTER_ESP, sysenterEsp); setG(b, G_SYSENTER_EIP, sysenterEip);
  setG(b, G_NMI_PENDING, nmiPending ? 1 : 0); setG(b, G_NMI_BLOCKED, nmiBlocked ? 1 : 0);
  setG(b, G_PENDING_VECTOR, pendingVector); setG(b, G_IRQ_WINDOW, irqWindow ? 1 : 0);
  setG(b, G_TSC_AUX, tscAux); setG(b, G_APIC_ID, initialApicId);
  setG(b, G_FPU_CW, cw); setG(b, G_FPU_SW, sw); setG(b, G_FPU_TOP, top); setG(b, G_FPU_EMPTY, empty);
  setG(b, G_FIP, fip); setG(b, G_FCS, fcs); setG(b, G_FDP, fdp); setG(b, G_FDS, fds); setG(b, G_FOP, fop);
}

/**
 * Load the state saved at `b` into the core. A vCPU switch (`flushAlways`) drops the
 * TLB and reloads the PDPTEs; putting back a nested entry's interrupted context does so
 * only when the paging registers differ (a SymCall changes none: the TLB stays warm).
 */
export function loadVcpuFrom(b: i32, flushAlways: bool): void {
  const c0 = g(b, G_CR0), c3 = g(b, G_CR3), c4 = g(b, G_CR4), e = g(b, G_EFER);
  const pagingChanged = flushAlways || c0 != cr0 || c3 != cr3 || c4 != cr4 || e != efer;
  copy8(REGS, b + S_REGS, 0x24);
  copy8(DR, b + S_DR, 0x20);
  copy8(FPU, b + S_FPU, 0x40);
  copy8(RAW, b + S_IMAGES, 0x60);
  setExact(ld32a(b + S_IMAGE_MASKS)); setStale(ld32a(b + S_IMAGE_MASKS + 4));
  copy8(XMM, b + S_XMM, 0x80);
  setMxcsr(ld32a(b + S_MXCSR));
  setTsxCtrl(ld32a(b + S_TSX_CTRL));
  setCpl(g(b, G_CPL));
  setCr0Raw(c0); setCr2(g(b, G_CR2)); setCr3Raw(c3); setCr4Raw(c4);
  setEfer(e);
  setGdtr(g(b, G_GDTR_BASE), g(b, G_GDTR_LIMIT)); setIdtr(g(b, G_IDTR_BASE), g(b, G_IDTR_LIMIT));
  // Segment caches through setSegCache, which derives CS.D, SS.B and the flat-segment bits.
  const segs = b + S_SEGS;
  for (let s = 0; s < 8; s++) {
    setSegCache(s, ld32a(segs + (s << 2)), ld32a(segs + 0x20 + (s << 2)), ld32a(segs + 0x40 + (s << 2)), ld32a(segs + 0x60 + (s << 2)));
  }
  setFlags(g(b, G_FLAGS));
  setEip(g(b, G_EIP));
  setHalted(g(b, G_HALTED) != 0); setIrqShadow(g(b, G_SHADOW) != 0);
  setSysenter(g(b, G_SYSENTER_CS), g(b, G_SYSENTER_ESP), g(b, G_SYSENTER_EIP));
  setNmiPending(g(b, G_NMI_PENDING) != 0); setNmiBlocked(g(b, G_NMI_BLOCKED) != 0);
  setTscAux(g(b, G_TSC_AUX)); setInitialApicId(g(b, G_APIC_ID));
  setCw(g(b, G_FPU_CW)); setSw(g(b, G_FPU_SW)); setTop(g(b, G_FPU_TOP)); setEmpty(g(b, G_FPU_EMPTY));
  setPointers(g(b, G_FIP), g(b, G_FCS), g(b, G_FDP), g(b, G_FDS), g(b, G_FOP));
  if (pagingChanged) {
    if (pagingEnabled && (cr4 & CR4_PAE) != 0) loadPdptes();
    tlbFlush(false);
  }
  invalidateFetch();
}

export function savedPendingVector(slot: i32): i32 { return g(slotBase(slot), G_PENDING_VECTOR); }
export function savedIrqWindow(slot: i32): bool { return g(slotBase(slot), G_IRQ_WINDOW) != 0; }
