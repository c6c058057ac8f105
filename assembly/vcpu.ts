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
import { REGS, SEG_SEL, DR, FPU, VCPU_SAVE, VCPU_SAVE_SIZE, VCPU_MAX } from "./layout";
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
import { cw, sw, top, empty, fip, fcs, fdp, fds, fop, setCw, setSw, setTop, setEmpty, setPointers } from "./cpu/fpu/state";
import { tlbFlush } from "./mmu/tlb";
import { loadPdptes } from "./mmu/walk";
import { invalidateFetch } from "./cpu/fetch";

// Slot layout: register file (0x00), segment caches (0x40: SEG_SEL..SEG_HI, 6 × 8 × i32),
// debug registers (0x100), x87 registers (0x140), then the globals below (0x180).
const S_REGS: i32 = 0x00;
const S_SEGS: i32 = 0x40;
const S_DR: i32 = 0x100;
const S_FPU: i32 = 0x140;
const S_G: i32 = 0x180;
const G_EIP = 0, G_FLAGS = 1, G_CPL = 2, G_CR0 = 3, G_CR2 = 4, G_CR3 = 5, G_CR4 = 6, G_EFER = 7, G_GDTR_BASE = 8,
  G_GDTR_LIMIT = 9, G_IDTR_BASE = 10, G_IDTR_LIMIT = 11, G_HALTED = 12, G_SHADOW = 13, G_SYSENTER_CS = 14,
  G_SYSENTER_ESP = 15, G_SYSENTER_EIP = 16, G_NMI_PENDING = 17, G_NMI_BLOCKED = 18, G_PENDING_VECTOR = 19,
  G_IRQ_WINDOW = 20, G_TSC_AUX = 21, G_APIC_ID = 22, G_FPU_CW = 23, G_FPU_SW = 24, G_FPU_TOP = 25,
  G_FPU_EMPTY = 26, G_FIP = 27, G_FCS = 28, G_FDP = 29, G_FDS = 30, G_FOP = 31;
// (32 globals × 4 bytes end at 0x200 = VCPU_SAVE_SIZE.)

function slotBase(slot: i32): i32 { return VCPU_SAVE + (slot & (VCPU_MAX - 1)) * VCPU_SAVE_SIZE; }
function g(slot: i32, i: i32): i32 { return ld32a(slotBase(slot) + S_G + (i << 2)); }
function setG(slot: i32, i: i32, v: i32): void { st32a(slotBase(slot) + S_G + (i << 2), v); }

/** Save the running vCPU's state (with the event slots of index.ts) into `slot`. */
export function saveVcpu(slot: i32, pendingVector: i32, irqWindow: bool): void {
  const b = slotBase(slot);
  copy8(b + S_REGS, REGS, 0x24);
  copy8(b + S_SEGS, SEG_SEL, 0xc0);
  copy8(b + S_DR, DR, 0x20);
  copy8(b + S_FPU, FPU, 0x40);
  setG(slot, G_EIP, eip); setG(slot, G_FLAGS, getFlags()); setG(slot, G_CPL, cpl);
  setG(slot, G_CR0, cr0); setG(slot, G_CR2, cr2); setG(slot, G_CR3, cr3); setG(slot, G_CR4, cr4); setG(slot, G_EFER, efer);
  setG(slot, G_GDTR_BASE, gdtrBase); setG(slot, G_GDTR_LIMIT, gdtrLimit);
  setG(slot, G_IDTR_BASE, idtrBase); setG(slot, G_IDTR_LIMIT, idtrLimit);
  setG(slot, G_HALTED, halted ? 1 : 0); setG(slot, G_SHADOW, irqShadow ? 1 : 0);
  setG(slot, G_SYSENTER_CS, sysenterCs); setG(slot, G_SYSENTER_ESP, sysenterEsp); setG(slot, G_SYSENTER_EIP, sysenterEip);
  setG(slot, G_NMI_PENDING, nmiPending ? 1 : 0); setG(slot, G_NMI_BLOCKED, nmiBlocked ? 1 : 0);
  setG(slot, G_PENDING_VECTOR, pendingVector); setG(slot, G_IRQ_WINDOW, irqWindow ? 1 : 0);
  setG(slot, G_TSC_AUX, tscAux); setG(slot, G_APIC_ID, initialApicId);
  setG(slot, G_FPU_CW, cw); setG(slot, G_FPU_SW, sw); setG(slot, G_FPU_TOP, top); setG(slot, G_FPU_EMPTY, empty);
  setG(slot, G_FIP, fip); setG(slot, G_FCS, fcs); setG(slot, G_FDP, fdp); setG(slot, G_FDS, fds); setG(slot, G_FOP, fop);
}

/** Make the vCPU saved in `slot` the running one. Returns its pending vector (index.ts keeps the event slots). */
export function loadVcpu(slot: i32): void {
  const b = slotBase(slot);
  copy8(REGS, b + S_REGS, 0x24);
  copy8(DR, b + S_DR, 0x20);
  copy8(FPU, b + S_FPU, 0x40);
  setCpl(g(slot, G_CPL));
  setCr0Raw(g(slot, G_CR0)); setCr2(g(slot, G_CR2)); setCr3Raw(g(slot, G_CR3)); setCr4Raw(g(slot, G_CR4));
  setEfer(g(slot, G_EFER));
  setGdtr(g(slot, G_GDTR_BASE), g(slot, G_GDTR_LIMIT)); setIdtr(g(slot, G_IDTR_BASE), g(slot, G_IDTR_LIMIT));
  // Segment caches through setSegCache, which derives CS.D, SS.B and the flat-segment bits.
  const segs = b + S_SEGS;
  for (let s = 0; s < 8; s++) {
    setSegCache(s, ld32a(segs + (s << 2)), ld32a(segs + 0x20 + (s << 2)), ld32a(segs + 0x40 + (s << 2)), ld32a(segs + 0x60 + (s << 2)));
  }
  setFlags(g(slot, G_FLAGS));
  setEip(g(slot, G_EIP));
  setHalted(g(slot, G_HALTED) != 0); setIrqShadow(g(slot, G_SHADOW) != 0);
  setSysenter(g(slot, G_SYSENTER_CS), g(slot, G_SYSENTER_ESP), g(slot, G_SYSENTER_EIP));
  setNmiPending(g(slot, G_NMI_PENDING) != 0); setNmiBlocked(g(slot, G_NMI_BLOCKED) != 0);
  setTscAux(g(slot, G_TSC_AUX)); setInitialApicId(g(slot, G_APIC_ID));
  setCw(g(slot, G_FPU_CW)); setSw(g(slot, G_FPU_SW)); setTop(g(slot, G_FPU_TOP)); setEmpty(g(slot, G_FPU_EMPTY));
  setPointers(g(slot, G_FIP), g(slot, G_FCS), g(slot, G_FDP), g(slot, G_FDS), g(slot, G_FOP));
  if (pagingEnabled && (cr4 & CR4_PAE) != 0) loadPdptes();
  tlbFlush(false);
  invalidateFetch();
}

export function savedPendingVector(slot: i32): i32 { return g(slot, G_PENDING_VECTOR); }
export function savedIrqWindow(slot: i32): bool { return g(slot, G_IRQ_WINDOW) != 0; }
