// System instructions: descriptor-table registers (0F 00, 0F 01), LAR/LSL/
// VERR/VERW/ARPL, control and debug registers, MSRs, CPUID, RDTSC,
// SYSENTER/SYSEXIT, and the hypercall (VMCALL).
import {
  cpl, setCpl, protectedMode, cr0, cr2, cr3, cr4, setCr0Raw, setCr2, setCr3Raw, setCr4Raw, efer, setEfer,
  gdtrBase, gdtrLimit, idtrBase, idtrLimit, setGdtr, setIdtr, segSel, segAttr, LDTR, TR, CS, SS, getReg, setReg,
  reg32, setReg32, EAX, ECX, EDX, EBX, ESP, CR0_PE, CR0_PG, CR0_WP, CR0_TS, CR0_ET, CR4_PGE, CR4_PSE, CR4_PAE,
  flagsRaw, VM, IF, RF, retired, tscOffset, sysenterCs, sysenterEsp, sysenterEip, setSysenterCs, setSysenterEsp,
  setSysenterEip, ZF, setEip, eip, CR4_TSD, CR4_OSFXSR, CR4_OSXMMEXCPT, setA20, CR4_SMAP, smapSupported, CR4_SMEP, smepSupported, AC,
} from "../../state";
import { DR as DR_AREA } from "../../layout";
import { ld32a, st32a, f64lo, f64hi } from "../../portable";
import { getFlags, setFlags } from "../flags";
import { modrmMod, modrmReg, modrmRm, eaSeg, eaOff, eaPlus, readRM, writeRM, opsize } from "../decode";
import { readV, writeV, readSys, writeSys, ATTR_UNUSABLE } from "../access";
import {
  readDescriptor, descLo, descHi, descAttr, attrDpl, descBase, descLimit, setSegCache, markAccessed,
  AR_P, AR_S, AR_TYPE, TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE, TYPE_WRITABLE,
} from "../segments";
import { tlbFlush, tlbInvalidatePage } from "../../mmu/tlb";
import { loadPdptes, EFER_NXE } from "../../mmu/walk";
import { crWriteAllowed, cr3LoadAllowed, invlpgAllowed } from "../../controls";
import { invalidateFetch } from "../fetch";
import { aborted, raise, raiseUD, GP, NP, requestRestart } from "../../fault";
import {
  setExit, armResponse, takeResponse, response, responseFault, EXIT_CPUID, EXIT_RDMSR, EXIT_WRMSR, EXIT_HYPERCALL,
  setExitField, X_VALUE2,
} from "../../exit";
import { descAddr } from "../segments";
import { rtmSupported, tsxCtrl, setTsxCtrl, xend, xtest, TSX_CTRL_RTM_DISABLE, TSX_CTRL_CPUID_CLEAR } from "./rtm";
import { segBase as segBaseOf } from "../../state";
import { modrm } from "../decode";
import { setTscOffset, retiredInRun } from "../../state";

/** VMM controls: which CPUID leaves and MSRs leave the core (see index.ts). */
export let cpuidExitAll: bool = false;
export function setCpuidExitAll(v: bool): void { cpuidExitAll = v; }

// Leaves the VMM defines (KVM_SET_CPUID2's idea, for a few leaves): answered by the core
// without an exit, before its own table — and the answer a CPUID exit falls back to
// when no VMM hook takes the leaf (cpuidAnswer). The symbiotic interface's discovery
// leaf (0x90000000) lives here.
const VMM_LEAVES_MAX: i32 = 8;
const vmmLeaf = new StaticArray<i32>(8);
const vmmRegs = new StaticArray<i32>(32); // 4 per leaf: EAX EBX ECX EDX
let vmmLeafCount: i32 = 0;

/** Define (or redefine) a CPUID leaf's answer; false when the table is full. */
export function setCpuidLeaf(leaf: i32, a: i32, b: i32, c: i32, d: i32): bool {
  let i = 0;
  while (i < vmmLeafCount && unchecked(vmmLeaf[i]) != leaf) i++;
  if (i == vmmLeafCount) {
    if (vmmLeafCount >= VMM_LEAVES_MAX) return false;
    vmmLeafCount++;
  }
  unchecked(vmmLeaf[i] = leaf);
  unchecked(vmmRegs[i * 4] = a); unchecked(vmmRegs[i * 4 + 1] = b);
  unchecked(vmmRegs[i * 4 + 2] = c); unchecked(vmmRegs[i * 4 + 3] = d);
  return true;
}
export function clearCpuidLeaves(): void { vmmLeafCount = 0; }

function requirePM(): bool {
  if (!protectedMode || (flagsRaw & VM) != 0) { raiseUD(); return false; }
  return true;
}
function requireCpl0(): bool {
  if (cpl != 0) { raise(GP, 0); return false; }
  return true;
}

// ---- control registers -------------------------------------------------------

export function writeCr0(v: i32): void {
  v |= CR0_ET;
  if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0) { raise(GP, 0); return; }
  const changed = v ^ cr0;
  const old = cr0;
  if ((v & CR0_PG) != 0 && (changed & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0) {
    // Turning on PAE paging loads the PDPTEs; reserved bits there are #GP(0).
    setCr0Raw(v);
    const ok = loadPdptes();
    setCr0Raw(old);
    if (aborted) return;
    if (!ok) { raise(GP, 0); return; }
  }
  if (!crWriteAllowed(0, old, v)) return; // the VMM's CR0 mask: exit first
  setCr0Raw(v);
  if ((v & CR0_PE) == 0) setCpl(0); // real mode runs at privilege 0
  if ((changed & (CR0_PG | CR0_WP | CR0_PE)) != 0) { tlbFlush(false); invalidateFetch(); }
}
export function writeCr3(v: i32): void {
  const old = cr3;
  if ((cr0 & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0) {
    setCr3Raw(v);
    const ok = loadPdptes();
    setCr3Raw(old);
    if (aborted) return;
    if (!ok) { raise(GP, 0); return; }
  }
  if (!cr3LoadAllowed(old, v)) return; // CR3-load exiting (shadow paging switches roots here)
  commitCr3(v);
}
/** Load CR3 once it is allowed (MOV CR3, task switches): the PDPTEs with PAE paging, and the TLB flush. */
export function commitCr3(v: i32): void {
  setCr3Raw(v);
  if ((cr0 & CR0_PG) != 0 && (cr4 & CR4_PAE) != 0) loadPdptes();
  tlbFlush((cr4 & CR4_PGE) != 0);
  invalidateFetch();
}
export function writeCr4(v: i32): void {
  // Only what is implemented may be set: VME/PVI... are not; SMAP and SMEP when the VMM offers them.
  // OSFXSR enables SSE and FXSAVE's XMM state, OSXMMEXCPT #XM for unmasked SIMD exceptions.
  const supported = CR4_PSE | CR4_PGE | CR4_TSD | CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | (smapSupported ? CR4_SMAP : 0) | (smepSupported ? CR4_SMEP : 0);
  if ((v & ~supported) != 0) { raise(GP, 0); return; }
  const changed = v ^ cr4;
  const old = cr4;
  if ((cr0 & CR0_PG) != 0 && (v & CR4_PAE) != 0 && (changed & (CR4_PAE | CR4_PSE | CR4_PGE)) != 0) {
    setCr4Raw(v);
    const ok = loadPdptes();
    setCr4Raw(old);
    if (aborted) return;
    if (!ok) { raise(GP, 0); return; }
  }
  if (!crWriteAllowed(4, old, v)) return; // the VMM's CR4 mask: exit first
  setCr4Raw(v);
  if ((changed & (CR4_PSE | CR4_PGE | CR4_PAE)) != 0) { tlbFlush(false); invalidateFetch(); }
  else if ((changed & CR4_SMEP) != 0) invalidateFetch(); // the fetch window was opened under the old rule
}

/** MOV r32, CRn (toCr=false) / MOV CRn, r32. */
export function movCr(toCr: bool): void {
  if (!requireCpl0()) return;
  const n = modrmReg;
  if (toCr) {
    const v = reg32(modrmRm);
    switch (n) {
      case 0: writeCr0(v); return;
      case 2: setCr2(v); return;
      case 3: writeCr3(v); return;
      case 4: writeCr4(v); return;
      default: raiseUD(); return;
    }
  }
  let v: i32;
  switch (n) {
    case 0: v = cr0; break;
    case 2: v = cr2; break;
    case 3: v = cr3; break;
    case 4: v = cr4; break;
    default: raiseUD(); return;
  }
  setReg32(modrmRm, v);
}

/** MOV r32, DRn / MOV DRn, r32 (breakpoints are stored, not yet enforced). */
export function movDr(toDr: bool): void {
  if (!requireCpl0()) return;
  let n = modrmReg;
  if (n == 4 || n == 5) n += 2; // aliases of DR6/DR7 when CR4.DE = 0
  if (toDr) {
    let v = reg32(modrmRm);
    if (n == 6) v = (v & 0xf00f) | 0xffff0ff0;
    else if (n == 7) v = (v & ~0xd000) | 0x400;
    st32a(DR_AREA + (n << 2), v);
  } else {
    setReg32(modrmRm, ld32a(DR_AREA + (n << 2)));
  }
}

export function clts(): void {
  if (!requireCpl0()) return;
  if (!crWriteAllowed(0, cr0, cr0 & ~CR0_TS)) return;
  setCr0Raw(cr0 & ~CR0_TS);
}

// ---- 0F 00: SLDT STR LLDT LTR VERR VERW ---------------------------------------

export function group6(): void {
  if (!requirePM()) return;
  switch (modrmReg) {
    case 0: storeSel(segSel(LDTR)); return;
    case 1: storeSel(segSel(TR)); return;
    case 2: { if (!requireCpl0()) return; const s = readRM(2); if (aborted) return; lldt(s); return; }
    case 3: { if (!requireCpl0()) return; const s = readRM(2); if (aborted) return; ltr(s); return; }
    case 4: case 5: { const s = readRM(2); if (aborted) return; verify(s, modrmReg == 5); return; }
    default: raiseUD(); return;
  }
}

/** SLDT/STR: a register destination takes the selector zero-extended to the operand size. */
function storeSel(v: i32): void {
  if (modrmMod == 3) setReg(opsize, modrmRm, v);
  else writeRM(2, v);
}

function lldt(sel: i32): void {
  if ((sel & 0xfffc) == 0) { setSegCache(LDTR, sel, 0, 0, ATTR_UNUSABLE); return; }
  if ((sel & 4) != 0) { raise(GP, sel & 0xfffc); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  if ((attr & AR_S) != 0 || (attr & AR_TYPE) != 2) { raise(GP, sel & 0xfffc); return; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
  setSegCache(LDTR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr);
}

function ltr(sel: i32): void {
  if ((sel & 0xfffc) == 0 || (sel & 4) != 0) { raise(GP, sel & 0xfffc); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  if ((attr & AR_S) != 0 || (type != 1 && type != 9)) { raise(GP, sel & 0xfffc); return; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
  // Mark the TSS busy.
  writeSys(descAddrHi(), 4, descHi | 0x200);
  if (aborted) return;
  setSegCache(TR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr | 2);
}
function descAddrHi(): i32 { return i32(descAddr + 4); }

/** VERR/VERW: ZF=1 when the segment is readable/writable at CPL and RPL. */
function verify(sel: i32, write: bool): void {
  let ok = false;
  if ((sel & 0xfffc) != 0 && readDescriptor(sel, false)) {
    const attr = descAttr(descHi);
    const type = attr & AR_TYPE;
    const dpl = attrDpl(attr);
    if ((attr & AR_S) != 0) {
      const code = (type & TYPE_CODE) != 0;
      const conforming = code && (type & TYPE_CONFORMING) != 0;
      const privOk = conforming || (dpl >= cpl && dpl >= (sel & 3));
      if (write) ok = !code && (type & TYPE_WRITABLE) != 0 && privOk;
      else ok = (!code || (type & TYPE_READABLE) != 0) && privOk;
    }
  }
  if (aborted) return;
  const f = getFlags();
  setFlags(ok ? f | ZF : f & ~ZF);
}

/** LAR (lsl=false) / LSL: load access rights or limit when the descriptor is visible. */
export function larLsl(lsl: bool): void {
  if (!requirePM()) return;
  const sel = readRM(2);
  if (aborted) return;
  let ok = false;
  if ((sel & 0xfffc) != 0 && readDescriptor(sel, false)) {
    const attr = descAttr(descHi);
    const type = attr & AR_TYPE;
    const dpl = attrDpl(attr);
    let valid: bool;
    if ((attr & AR_S) != 0) valid = true;
    else if (lsl) valid = type == 1 || type == 2 || type == 3 || type == 9 || type == 11;
    else valid = type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9 || type == 11 || type == 12;
    const conforming = (attr & AR_S) != 0 && (type & (TYPE_CODE | TYPE_CONFORMING)) == (TYPE_CODE | TYPE_CONFORMING);
    if (valid && (conforming || (dpl >= cpl && dpl >= (sel & 3)))) {
      ok = true;
      if (lsl) setReg(opsize, modrmReg, descLimit(descLo, descHi));
      else setReg(opsize, modrmReg, descHi & (opsize == 4 ? 0x00f0ff00 : 0xff00));
    }
  }
  if (aborted) return;
  const f = getFlags();
  setFlags(ok ? f | ZF : f & ~ZF);
}

export function arpl(): void {
  if (!requirePM()) return;
  const dst = readRM(2);
  if (aborted) return;
  const src = getReg(2, modrmReg);
  const f = getFlags();
  if ((dst & 3) < (src & 3)) {
    writeRM(2, (dst & ~3) | (src & 3));
    if (aborted) return;
    setFlags(f | ZF);
  } else {
    // Nothing is written when the RPL is already high enough (SDM ARPL; real
    // CPUs do not touch memory, test386.asm checks it; QEMU and Bochs store anyway).
    setFlags(f & ~ZF);
  }
}

// ---- 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG VMCALL ------------------------

export function group7(): void {
  const reg = modrmReg;
  if (modrmMod == 3) {
    if (reg == 4) { setReg(opsize, modrmRm, cr0 & (opsize == 2 ? 0xffff : -1)); return; } // SMSW r
    if (reg == 6) { if (!requireCpl0()) return; lmsw(getReg(2, modrmRm)); return; }
    if (modrm8() == 0xc1) { vmcall(); return; }
    if (modrm8() == 0xf9) { rdtscp(); return; }
    if (modrm8() == 0xca || modrm8() == 0xcb) { clacStac(modrm8() == 0xcb); return; }
    if (modrm8() == 0xd5) { xend(); return; }
    if (modrm8() == 0xd6) { xtest(); return; }
    raiseUD();
    return;
  }
  switch (reg) {
    case 0: case 1: { // SGDT / SIDT: 16-bit limit, 32-bit base (24 bits with a 16-bit operand... stored fully on i686)
      const base = reg == 0 ? gdtrBase : idtrBase;
      const limit = reg == 0 ? gdtrLimit : idtrLimit;
      writeV(eaSeg, eaOff, 2, limit); if (aborted) return;
      writeV(eaSeg, eaPlus(2), 4, opsize == 2 ? base & 0xffffff : base);
      return;
    }
    case 2: case 3: { // LGDT / LIDT
      if (!requireCpl0()) return;
      const limit = readV(eaSeg, eaOff, 2); if (aborted) return;
      let base = readV(eaSeg, eaPlus(2), 4); if (aborted) return;
      if (opsize == 2) base &= 0xffffff;
      if (reg == 2) setGdtr(base, limit); else setIdtr(base, limit);
      return;
    }
    case 4: writeRM(2, cr0 & 0xffff); return; // SMSW m16
    case 6: { if (!requireCpl0()) return; const v = readRM(2); if (aborted) return; lmsw(v); return; }
    case 7: { // INVLPG
      if (!requireCpl0()) return;
      const lin = i32(segBaseOf(eaSeg) + eaOff);
      if (!invlpgAllowed(lin)) return; // INVLPG exiting: the VMM sees it first (shadow paging)
      tlbInvalidatePage(lin, (cr4 & CR4_PAE) != 0);
      invalidateFetch();
      return;
    }
    default: raiseUD(); return;
  }
}
function modrm8(): i32 { return modrm; }

/** CLAC (0F 01 CA) / STAC (0F 01 CB): EFLAGS.AC, for SMAP; #UD without SMAP, in virtual-8086 mode and above CPL 0. */
function clacStac(set: bool): void {
  if (!smapSupported || (flagsRaw & VM) != 0 || (protectedMode && cpl != 0)) { raiseUD(); return; }
  const f = getFlags();
  setFlags(set ? f | AC : f & ~AC);
}

/** LMSW: loads PE MP EM TS; cannot clear PE. */
function lmsw(v: i32): void {
  const nv = (cr0 & ~0xe) | (v & 0xf) | (cr0 & CR0_PE);
  writeCr0(nv);
}

function vmcall(): void {
  // Hypercall: the instruction completes and the VMM reads and writes registers.
  setExit(EXIT_HYPERCALL, reg32(EAX), 0, 0);
}

// ---- MSRs, CPUID, TSC ---------------------------------------------------------

const MSR_TSC: i32 = 0x10;
const MSR_TSC_ADJUST: i32 = 0x3b;
/** IA32_ARCH_CAPABILITIES and IA32_TSX_CTRL: the core's when it offers RTM (rtm.ts), else the VMM's (#GP). */
const MSR_ARCH_CAPABILITIES: i32 = 0x10a;
const MSR_TSX_CTRL: i32 = 0x122;
/**
 * IA32_ARCH_CAPABILITIES with RTM: TSX_CTRL_MSR (bit 7: IA32_TSX_CTRL exists) and TAA_NO (bit 8: not affected by TSX
 * Asynchronous Abort — nothing here runs speculatively).
 */
const ARCH_CAP_WITH_RTM: i32 = 1 << 7 | 1 << 8;
const MSR_SYSENTER_CS: i32 = 0x174;
const MSR_SYSENTER_ESP: i32 = 0x175;
const MSR_SYSENTER_EIP: i32 = 0x176;
const MSR_EFER: i32 = i32(0xc0000080); // i32(): the JS engine would keep the literal positive

const MSR_TSC_AUX: i32 = i32(0xc0000103);
const EFER_SCE: i32 = 1 << 0;

/**
 * The TSC counts retired instructions (plus the VMM's offset): `retired` as of
 * the last run() and those retired in this one before the reading instruction
 * (index.ts and tcache.ts keep retiredInRun exact, also in cached and compiled
 * code: tcache.ts blockBase), so the value is the same wherever exits split the guest's run. Two
 * reads are never equal, which no CPU allows (kvm-unit-tests' tsc checks it):
 * a read is at least one more than the last.
 */
let tscLast: f64 = -1;
export function tscNow(): f64 {
  let t = tscOffset + retired + f64(retiredInRun);
  if (t <= tscLast) t = tscLast + 1;
  tscLast = t;
  return t;
}
/**
 * WRMSR TSC: the counter starts again from the value written, and IA32_TSC_ADJUST
 * moves by the same amount (SDM vol. 3, 17.17.3: "if an execution of WRMSR to the
 * IA32_TIME_STAMP_COUNTER MSR adds (or subtracts) value X from the TSC, the logical
 * processor also adds (or subtracts) value X from the IA32_TSC_ADJUST MSR").
 */
function setTsc(v: f64): void {
  const before = tscNow();
  setTscOffset(v - retired - f64(retiredInRun));
  tscLast = v - 1;
  setTscAdjust(tscAdjustValue() + (v - before));
}

/**
 * IA32_TSC_ADJUST (MSR 3BH, CPUID.(EAX=07H,ECX=0):EBX[1]), kept as its two 32-bit
 * words so that negative values read back bit for bit on both engines. The TSC here
 * is one machine-wide counter (tscOffset), so its adjust value is machine-wide too.
 */
let tscAdjustLo: i32 = 0;
let tscAdjustHi: i32 = 0;
function tscAdjustValue(): f64 { return f64(tscAdjustHi) * 4294967296.0 + f64(u32(tscAdjustLo)); }
/** A value (an integer within ±2^53) written to IA32_TSC_ADJUST as its two's-complement words. */
function setTscAdjust(v: f64): void {
  const hi = Math.floor(v / 4294967296.0);
  tscAdjustHi = i32(u32(hi >= 0 ? hi : hi + 4294967296.0));
  tscAdjustLo = i32(u32(v - hi * 4294967296.0));
}
/**
 * The TSC's state beside the offset, for a snapshot (i = 0: the last value read, which later reads exceed; 1:
 * IA32_TSC_ADJUST) and its restore: a machine that goes back in time must not keep a later last read.
 */
export function getTscState(i: i32): f64 { return i == 0 ? tscLast : tscAdjustValue(); }
export function setTscState(last: f64, adjust: f64): void { tscLast = last; setTscAdjust(adjust); }

/** WRMSR TSC_ADJUST: the TSC moves by the change of the adjust value (SDM vol. 3, 17.17.3). */
function writeTscAdjust(lo: i32, hi: i32): void {
  const delta = (f64(hi) * 4294967296.0 + f64(u32(lo))) - tscAdjustValue();
  setTscOffset(tscOffset + delta);
  tscLast += delta;
  tscAdjustLo = lo; tscAdjustHi = hi;
}
/** Machine reset (index.ts). */
export function resetTsc(): void { tscLast = -1; tscAux = 0; tscAdjustLo = 0; tscAdjustHi = 0; }

/** IA32_TSC_AUX (per vCPU; RDTSCP returns it in ECX, Linux keeps the CPU number there). */
export let tscAux: i32 = 0;
export function setTscAux(v: i32): void { tscAux = v; }

export function rdtsc(): void {
  if ((cr4 & CR4_TSD) != 0 && cpl != 0 && protectedMode) { raise(GP, 0); return; }
  const t = tscNow();
  setReg32(EAX, f64lo(t));
  setReg32(EDX, f64hi(t));
}

/** RDTSCP (0F 01 F9): RDTSC plus IA32_TSC_AUX in ECX. */
function rdtscp(): void {
  if ((cr4 & CR4_TSD) != 0 && cpl != 0 && protectedMode) { raise(GP, 0); return; }
  const t = tscNow();
  setReg32(EAX, f64lo(t));
  setReg32(EDX, f64hi(t));
  setReg32(ECX, tscAux);
}

/** RDPMC: this CPU has no performance counters (CPUID leaf 0AH is zero), so every ECX is invalid: #GP(0). */
export function rdpmc(): void { raise(GP, 0); }


/** MSRs the core implements; everything else exits to the VMM, which answers or injects #GP. */
export function rdmsr(): void {
  if (!requireCpl0()) return;
  const idx = reg32(ECX);
  switch (idx) {
    case MSR_TSC: { const t = tscNow(); setReg32(EAX, f64lo(t)); setReg32(EDX, f64hi(t)); return; }
    case MSR_SYSENTER_CS: setReg32(EAX, sysenterCs); setReg32(EDX, 0); return;
    case MSR_SYSENTER_ESP: setReg32(EAX, sysenterEsp); setReg32(EDX, 0); return;
    case MSR_SYSENTER_EIP: setReg32(EAX, sysenterEip); setReg32(EDX, 0); return;
    case MSR_EFER: setReg32(EAX, efer); setReg32(EDX, 0); return;
    case MSR_TSC_AUX: setReg32(EAX, tscAux); setReg32(EDX, 0); return;
    case MSR_TSC_ADJUST: setReg32(EAX, tscAdjustLo); setReg32(EDX, tscAdjustHi); return;
    case MSR_ARCH_CAPABILITIES: if (rtmSupported) { setReg32(EAX, ARCH_CAP_WITH_RTM); setReg32(EDX, 0); return; } break;
    case MSR_TSX_CTRL: if (rtmSupported) { setReg32(EAX, tsxCtrl); setReg32(EDX, 0); return; } break;
  }
  if (takeResponse(EXIT_RDMSR, idx, 8)) {
    if (responseFault()) { raise(GP, 0); return; }
    setReg32(EAX, response(0)); setReg32(EDX, response(1));
    return;
  }
  armResponse(EXIT_RDMSR, idx, 8);
  setExit(EXIT_RDMSR, idx, 8, 0);
  requestRestart();
}

export function wrmsr(): void {
  if (!requireCpl0()) return;
  const idx = reg32(ECX), lo = reg32(EAX), hi = reg32(EDX);
  switch (idx) {
    case MSR_TSC: setTsc(f64(u32(lo)) + f64(u32(hi)) * 4294967296.0); return;
    case MSR_TSC_AUX: if (hi != 0) { raise(GP, 0); return; } tscAux = lo; return;
    case MSR_TSC_ADJUST: writeTscAdjust(lo, hi); return;
    case MSR_ARCH_CAPABILITIES: if (rtmSupported) { raise(GP, 0); return; } break; // read-only
    case MSR_TSX_CTRL:
      if (!rtmSupported) break;
      if ((lo & ~(TSX_CTRL_RTM_DISABLE | TSX_CTRL_CPUID_CLEAR)) != 0 || hi != 0) { raise(GP, 0); return; }
      setTsxCtrl(lo);
      return;
    case MSR_SYSENTER_CS: setSysenterCs(lo & 0xffff); return;
    case MSR_SYSENTER_ESP: setSysenterEsp(lo); return;
    case MSR_SYSENTER_EIP: setSysenterEip(lo); return;
    case MSR_EFER:
      // SCE (bit 0) and NXE (bit 11) are the bits this CPU has; the rest (long mode) are
      // reserved and #GP. SCE is R/W (SDM vol. 4, table 2-2, IA32_EFER) but enables
      // SYSCALL/SYSRET only in 64-bit mode on Intel, so here it is stored and nothing else.
      if ((lo & ~(EFER_NXE | EFER_SCE)) != 0 || hi != 0) { raise(GP, 0); return; }
      setEfer(lo); tlbFlush(false); invalidateFetch();
      return;
  }
  if (takeResponse(EXIT_WRMSR, idx, 8)) {
    if (responseFault()) raise(GP, 0);
    return;
  }
  armResponse(EXIT_WRMSR, idx, 8);
  setExit(EXIT_WRMSR, idx, 8, lo);
  setExitField(X_VALUE2, hi);
  requestRestart();
}

// CPUID: family 6 (i686) with an x87 FPU, MMX, FXSAVE/FXRSTOR, SSE and SSE2. Feature bits name exactly what the core does.
const FEAT_FPU: i32 = 1 << 0;
const FEAT_PSE: i32 = 1 << 3;
const FEAT_TSC: i32 = 1 << 4;
const FEAT_MSR: i32 = 1 << 5;
const FEAT_CX8: i32 = 1 << 8;
const FEAT_SEP: i32 = 1 << 11;
const FEAT_PGE: i32 = 1 << 13;
const FEAT_CMOV: i32 = 1 << 15;
const FEAT_MMX: i32 = 1 << 23;
const FEAT_FXSR: i32 = 1 << 24;
const FEAT_SSE: i32 = 1 << 25;
const FEAT_SSE2: i32 = 1 << 26;
const FEAT_CLFSH: i32 = 1 << 19;
const FEAT_PAE: i32 = 1 << 6;
const FEAT_APIC: i32 = 1 << 9;
const FEAT_ECX_SSE3: i32 = 1 << 0;
const FEAT_ECX_SSSE3: i32 = 1 << 9;
const FEAT_ECX_SSE41: i32 = 1 << 19;
const FEAT_ECX_SSE42: i32 = 1 << 20;
const FEAT_ECX_MOVBE: i32 = 1 << 22;
const FEAT_ECX_POPCNT: i32 = 1 << 23;
const FEAT_ECX_TSC_DEADLINE: i32 = 1 << 24;

/**
 * The VMM's local APIC (src/devices/lapic.ts), when the machine has one: CPUID.1 then
 * reports it (EDX.APIC, ECX.TSC-deadline, which that APIC implements) and this vCPU's
 * initial APIC ID in EBX[31:24].
 */
let cpuidApic: bool = false;
export let initialApicId: i32 = 0;
export function setCpuidApic(present: bool, apicId: i32): void { cpuidApic = present; initialApicId = apicId & 0xff; }
export function setInitialApicId(id: i32): void { initialApicId = id & 0xff; }
/** That APIC also offers x2APIC mode (CPUID.1:ECX[21]): a VMM choice, off at power-on like SMAP. */
let cpuidX2apic: bool = false;
export function setCpuidX2apic(on: bool): void { cpuidX2apic = on; }
const FEAT_ECX_X2APIC: i32 = 1 << 21;
const FEAT7_TSC_ADJUST: i32 = 1 << 1; // CPUID.(EAX=07H,ECX=0):EBX[1]
const FEAT7_SMEP: i32 = 1 << 7;
const FEAT7_SMAP: i32 = 1 << 20;
const FEAT7_RTM: i32 = 1 << 11;
const FEAT7_EDX_ARCH_CAPABILITIES: i32 = 1 << 29;
const EXT_FEAT_NX: i32 = 1 << 20;
const EXT_FEAT_RDTSCP: i32 = 1 << 27;
// i32(): leaves above 0x7fffffff must compare equal to the signed register value in the JS engine too.
const LEAF_EXT_MAX: i32 = i32(0x80000000);
const LEAF_EXT_FEATURES: i32 = i32(0x80000001);

export function cpuid(): void {
  const leaf = reg32(EAX), sub = reg32(ECX);
  if (cpuidExitAll) {
    if (takeResponse(EXIT_CPUID, leaf, 4)) {
      setReg32(EAX, response(0)); setReg32(EBX, response(1)); setReg32(ECX, response(2)); setReg32(EDX, response(3));
      return;
    }
    armResponse(EXIT_CPUID, leaf, 4);
    setExit(EXIT_CPUID, leaf, 4, 0);
    setExitField(X_VALUE2, sub);
    requestRestart();
    return;
  }
  cpuidAnswer(leaf, sub);
  setReg32(EAX, cpuidOut0); setReg32(EBX, cpuidOut1); setReg32(ECX, cpuidOut2); setReg32(EDX, cpuidOut3);
}

/** The core's own CPUID answer (EAX..EDX), left by cpuidAnswer: the VMM falls back to it for leaves it does not answer. */
export let cpuidOut0: i32 = 0;
export let cpuidOut1: i32 = 0;
export let cpuidOut2: i32 = 0;
export let cpuidOut3: i32 = 0;

/** The core's answer to a leaf: the VMM-defined table first, then the CPU's own leaves. */
export function cpuidAnswer(leaf: i32, sub: i32): void {
  for (let i = 0; i < vmmLeafCount; i++) {
    if (unchecked(vmmLeaf[i]) == leaf) {
      cpuidOut0 = unchecked(vmmRegs[i * 4]); cpuidOut1 = unchecked(vmmRegs[i * 4 + 1]);
      cpuidOut2 = unchecked(vmmRegs[i * 4 + 2]); cpuidOut3 = unchecked(vmmRegs[i * 4 + 3]);
      return;
    }
  }
  cpuidBuiltin(leaf, sub);
}

/** The CPU's own CPUID leaves: what a leaf reads without a VMM hook or table entry. */
export function cpuidBuiltin(leaf: i32, sub: i32): void {
  let a = 0, b = 0, c = 0, d = 0;
  switch (leaf) {
    case 0: a = 7; b = 0x756e6547; d = 0x49656e69; c = 0x6c65746e; break; // "GenuineIntel"
    case 1:
      a = 0x0633; // family 6, model 3, stepping 3
      d = FEAT_FPU | FEAT_PAE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_SEP | FEAT_PGE | FEAT_CMOV | FEAT_MMX | FEAT_FXSR | FEAT_SSE | FEAT_SSE2 | FEAT_CLFSH;
      b = 8 << 8; // CLFLUSH line size: 8 × 8 = 64 bytes
      c = FEAT_ECX_SSE3 | FEAT_ECX_SSSE3 | FEAT_ECX_SSE41 | FEAT_ECX_SSE42 | FEAT_ECX_MOVBE | FEAT_ECX_POPCNT | 1 << 31; // (bit 31: running under a hypervisor)
      if (cpuidApic) {
        d |= FEAT_APIC; c |= FEAT_ECX_TSC_DEADLINE; b |= initialApicId << 24;
        if (cpuidX2apic) c |= FEAT_ECX_X2APIC;
      }
      break;
    case 7: // EAX = 0: sub-leaf 0 is the only one
      if (sub == 0) {
        b = FEAT7_TSC_ADJUST | (smepSupported ? FEAT7_SMEP : 0) | (smapSupported ? FEAT7_SMAP : 0);
        if (rtmSupported) {
          if ((tsxCtrl & TSX_CTRL_CPUID_CLEAR) == 0) b |= FEAT7_RTM;
          d = FEAT7_EDX_ARCH_CAPABILITIES;
        }
      }
      break;
    case LEAF_EXT_MAX: a = LEAF_EXT_FEATURES; break;
    case LEAF_EXT_FEATURES: d = EXT_FEAT_NX | EXT_FEAT_RDTSCP; break;
    default: break; // unknown leaves, and leaves 2-6 (no cache/MONITOR/power details), read as zero
  }
  cpuidOut0 = a; cpuidOut1 = b; cpuidOut2 = c; cpuidOut3 = d;
}

// ---- SYSENTER / SYSEXIT ---------------------------------------------------------

export function sysenter(): void {
  if (!protectedMode || (sysenterCs & 0xfffc) == 0) { raise(GP, 0); return; }
  const f = getFlags();
  setFlags(f & ~(VM | IF | RF));
  setCpl(0);
  setSegCache(CS, sysenterCs & 0xfffc, 0, -1, 0xc09b);
  setSegCache(SS, (sysenterCs + 8) & 0xfffc, 0, -1, 0xc093);
  setReg32(ESP, sysenterEsp);
  setEip(sysenterEip);
}

export function sysexit(): void {
  if (!protectedMode || cpl != 0 || (sysenterCs & 0xfffc) == 0) { raise(GP, 0); return; }
  setCpl(3);
  setSegCache(CS, ((sysenterCs + 16) & 0xfffc) | 3, 0, -1, 0xc0fb);
  setSegCache(SS, ((sysenterCs + 24) & 0xfffc) | 3, 0, -1, 0xc0f3);
  setReg32(ESP, reg32(ECX));
  setEip(reg32(EDX));
}
