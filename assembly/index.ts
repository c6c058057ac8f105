// The core's exported interface: the KVM-style run(budget) entry point, the
// machine reset, interrupt injection, and accessors for the full CPU state.
// Data that the VMM reads on every exit (the exit block, the registers) sits
// at fixed addresses in memory (layout.ts) so no call is needed for it.
import * as L from "./layout";
import { EXIT_SIZE } from "./layout";
import { st32a, ld32a, fill8, copy8 } from "./portable";
import {
  eip, setEip, instrEip, cpl, setCpl, cr0, cr2, cr3, cr4, efer, gdtrBase, gdtrLimit, idtrBase, idtrLimit,
  setCr0Raw, setCr2, setCr3Raw, setCr4Raw, setEfer, setGdtr, setIdtr, halted, setHalted, irqShadow, setIrqShadow,
  flagsRaw, IF, TF, RF, retired, addRetired, setRetired, reg32, setReg32, segSel, segBase, segLimit, segAttr,
  CS, setA20 as setA20Mask, sysenterCs, sysenterEsp, sysenterEip, setSysenter, tscOffset, setTscOffset, EDX,
} from "./state";
import { getFlags, setFlags } from "./cpu/flags";
import { setSegCache } from "./cpu/segments";
import { step } from "./cpu/exec";
import { deliver, deliverFault } from "./cpu/interrupts";
import { aborted, restart, clearAbort, faultVector } from "./fault";
import {
  exitReason, clearExitReason, setExit, setExitField, EXIT_NONE, EXIT_BUDGET, EXIT_HLT, EXIT_IRQ_WINDOW,
  EXIT_SHUTDOWN, X_CS, X_EIP,
} from "./exit";
import { tlbFlush, tlbMisses, tlbFlushes } from "./mmu/tlb";
import { loadPdptes } from "./mmu/walk";
import { jitQueued, jitGeneration, tcRun, tcEnabled, tcFlushAll, setTcacheEnabled, invalidateCodeRange, tcLookups, tcHits, tcBuilt, tcInvalidations, tcEvictions } from "./tcache";
import { invalidateFetch } from "./cpu/fetch";
import { tlbLookups } from "./cpu/access";
import { saveMmioState, restoreMmioState, MMIO_STATE_BYTES } from "./memory";
import { saveCpu, restoreCpu } from "./nested";
import { takeQueuedWrite, resetMmioState, setVgaWindowMmio, setRamSize, setRomSize as setRomSizeMem, addMmioRange as addMmio, clearMmioRanges as clearMmio, setRomLowIsRam } from "./memory";
import { setCpuidExitAll } from "./cpu/ops/system";
export { setCpuidLeaf, clearCpuidLeaves } from "./cpu/ops/system";
import { DR } from "./layout";

export { jsAttachMemory, jsAttachDirectPorts } from "./portable";
/** A host function serving a direct port access calls kick() to end run() after the instruction. */
export { kick } from "./cpu/ops/io";
import { fpuReset } from "./cpu/fpu/state";
/** x87 FERR# (CR0.NE=0 error reporting): the VMM raises IRQ13 on its rising edge; port 0xF0 writes call fpuIgnne(). */
export { fpuFerr, fpuIgnne } from "./cpu/fpu/state";
// The block compiler (jit/compiler.ts): the Wasm engine emits, instantiates and installs
// modules of compiled blocks; these are what a compiled block imports.
export { jitEmit } from "./jit/compiler";
export { jitInstall, setJitEnabled, replayRecord as jitStep } from "./tcache";
export {
  eip as jitEip, instrEip as jitInstrEip, flatSegs as jitFlatSegs, cplUserMask as jitCplUserMask,
  mmioReadsAnswered as jitMmioReadsAnswered,
} from "./state";
export { tlbLookups as jitTlbLookups } from "./cpu/access";
export { aborted as jitAborted } from "./fault";
export { exitReason as jitExitReason } from "./exit";
export { smcHit as jitSmcHit } from "./tcache";
export { readV as jitReadV, writeV as jitWriteV, push as jitPush, pop as jitPop, probeWriteV as jitProbeWriteV } from "./cpu/access";
export { alu as jitAlu, inc as jitInc, dec as jitDec, neg as jitNeg, imulTrunc as jitImulTrunc } from "./cpu/ops/arith";
export { shiftOp as jitShiftOp } from "./cpu/ops/shift";
export {
  testCC as jitTestCC, flagsLazy as jitFlagsLazy, lastOp1 as jitLastOp1, lastOp2 as jitLastOp2,
  lastResult as jitLastResult, lastSize as jitLastSize, lastSub as jitLastSub,
} from "./cpu/flags";
export { flagsRaw as jitFlagsRaw } from "./state";
export { jumpNear as jitJumpNear, callNear as jitCallNear, retNear as jitRetNear } from "./cpu/ops/control";
/** Blocks waiting for the compiler, and the cache's generation (a flush makes every table slot free). */
export function jitPending(): i32 { return jitQueued; }
export function jitCacheGeneration(): i32 { return jitGeneration; }
export function jitBuffer(): i32 { return L.JIT_BUF; }
/** The decoder's opcode table (cpu/opcodes.ts): format word of a one-byte or 0F opcode. */
export { opcodeFormat } from "./cpu/opcodes";

// ---- events ------------------------------------------------------------------------

let pendingVector: i32 = -1;
let irqWindowWanted: bool = false;

/** Queue an external interrupt; delivered when IF=1 and no interrupt shadow. */
export function injectInterrupt(vector: i32): void { pendingVector = vector & 0xff; }
export function pendingInterrupt(): i32 { return pendingVector; }
export function cancelInterrupt(): void { pendingVector = -1; }
/** Ask for an IRQ_WINDOW exit as soon as the guest can take an interrupt. */
export function requestIrqWindow(on: bool): void { irqWindowWanted = on; }
export function interruptsEnabled(): bool { return (flagsRaw & IF) != 0 && !irqShadow; }

// ---- nested entries ------------------------------------------------------------------
// The VMM may enter the guest again while it handles an exit (a SymCall from an exit
// handler). What the interrupted entry still needs besides the architectural state —
// the exit block with its armed response, the MMIO reads carried into the instruction's
// re-execution and the writes queued behind it, the pending event, the interrupt window
// request and shadow — is saved here and cleared; popEntry puts it back. With
// `saveState`, the architectural state is saved too (nested.ts) and popEntry restores it:
// whatever the nested entry did, the interrupted context comes back exactly.
let nestedDepth: i32 = 0;
const NESTED_EVENTS: i32 = EXIT_SIZE + MMIO_STATE_BYTES;
const NESTED_CPU_SAVED: i32 = NESTED_EVENTS + 12;
const NESTED_CPU: i32 = NESTED_CPU_SAVED + 4;

/** Save and clear the current entry's context (and the CPU state); false when NESTED_DEPTH levels are in use. */
export function pushEntry(saveState: bool): bool {
  if (nestedDepth >= L.NESTED_DEPTH) return false;
  const slot = L.NESTED_SAVE + nestedDepth * L.NESTED_SLOT;
  copy8(slot, L.EXIT, EXIT_SIZE);
  saveMmioState(slot + EXIT_SIZE);
  st32a(slot + NESTED_EVENTS, pendingVector);
  st32a(slot + NESTED_EVENTS + 4, irqWindowWanted ? 1 : 0);
  st32a(slot + NESTED_EVENTS + 8, irqShadow ? 1 : 0);
  st32a(slot + NESTED_CPU_SAVED, saveState ? 1 : 0);
  if (saveState) saveCpu(slot + NESTED_CPU);
  pendingVector = -1; irqWindowWanted = false; setIrqShadow(false);
  fill8(L.EXIT, 0, EXIT_SIZE);
  nestedDepth++;
  return true;
}

/** Restore the context (and the CPU state, if it was saved) of the matching pushEntry. */
export function popEntry(): void {
  if (nestedDepth == 0) return;
  nestedDepth--;
  const slot = L.NESTED_SAVE + nestedDepth * L.NESTED_SLOT;
  if (ld32a(slot + NESTED_CPU_SAVED) != 0) restoreCpu(slot + NESTED_CPU);
  copy8(L.EXIT, slot, EXIT_SIZE);
  restoreMmioState(slot + EXIT_SIZE);
  pendingVector = ld32a(slot + NESTED_EVENTS);
  irqWindowWanted = ld32a(slot + NESTED_EVENTS + 4) != 0;
  setIrqShadow(ld32a(slot + NESTED_EVENTS + 8) != 0);
}
export function entryDepth(): i32 { return nestedDepth; }

// ---- the run loop --------------------------------------------------------------------

/**
 * Run until an exit, or until `budget` instructions have been retired (or
 * events delivered). Returns the exit reason; details are in the exit block.
 */
export function run(budget: i32): i32 {
  clearExitReason();
  let n = 0;
  let done = 0;
  // MMIO writes an instruction queued behind its first one leave first, one exit each.
  if (takeQueuedWrite()) n = budget;
  while (n < budget) {
    // Events between instructions.
    const shadow = irqShadow;
    if (shadow) setIrqShadow(false);
    if (!shadow && (flagsRaw & IF) != 0) {
      if (pendingVector >= 0) {
        const v = pendingVector;
        pendingVector = -1;
        setHalted(false);
        deliver(v, false, 1, false, 0, eip);
        if (aborted) {
          if (!deliverFault()) break;
        }
        n++;
        continue;
      }
      if (irqWindowWanted) { irqWindowWanted = false; setExit(EXIT_IRQ_WINDOW, 0, 0, 0); break; }
    }
    if (halted) { setExit(EXIT_HLT, 0, 0, 0); break; }
    const trap = (flagsRaw & TF) != 0;
    // After STI/MOV SS with an event waiting, run one instruction alone: the event is due
    // right after it, which may be inside a cached block.
    const windowNext = shadow && (pendingVector >= 0 || irqWindowWanted);
    if (tcEnabled && !trap && !windowNext) {
      // Through the translation cache: a block at a time.
      const r = tcRun(budget - n, pendingVector < 0 && !irqWindowWanted);
      if (r >= 0) {
        n += r > 0 ? r : 1;
        done += r;
        if (aborted && !afterAbort()) break;
        if (exitReason != EXIT_NONE) break;
        continue;
      }
    }
    step();
    n++;
    if (aborted) {
      if (!afterAbort()) break;
      continue;
    }
    done++;
    if (trap) {
      // Single-step trap after the instruction (DR6.BS).
      st32a(DR + 6 * 4, 0xffff4ff0);
      deliver(1, false, 1, false, 0, eip);
      if (aborted && !deliverFault()) break;
    }
    if (exitReason != EXIT_NONE) break;
  }
  addRetired(done);
  if (exitReason == EXIT_NONE) setExit(EXIT_BUDGET, 0, 0, 0);
  setExitField(X_CS, segSel(CS));
  setExitField(X_EIP, exitReason == EXIT_BUDGET || exitReason == EXIT_HLT ? eip : instrEip);
  return exitReason;
}

/**
 * The current instruction stopped early: restart it after an input exit, or
 * deliver its fault. Returns false when run() must return to the VMM.
 */
function afterAbort(): bool {
  setEip(instrEip);
  if (restart) { clearAbort(); return exitReason == EXIT_NONE; }
  if (faultVector < 0) { clearAbort(); return false; }
  return deliverFault();
}

// ---- machine set-up ---------------------------------------------------------------------

/** Reset the CPU to its power-on state and set the RAM size (bytes). */
export function reset(ramBytes: i32): void {
  setRamSize(ramBytes);
  resetMmioState();
  for (let i = 0; i < 8; i++) setReg32(i, 0);
  setReg32(EDX, 0x0633); // family/model/stepping after reset, as CPUID reports
  setFlags(2);
  setEip(0xfff0);
  setCpl(0);
  setCr0Raw(0x60000010); setCr2(0); setCr3Raw(0); setCr4Raw(0); setEfer(0);
  setGdtr(0, 0xffff); setIdtr(0, 0xffff);
  for (let s = 0; s < 6; s++) setSegCache(s, 0, 0, 0xffff, 0x93);
  setSegCache(CS, 0xf000, 0xffff0000, 0xffff, 0x93); // SDM: CS after reset is present, read/write, accessed
  setSegCache(6, 0, 0, 0xffff, 0x82);
  setSegCache(7, 0, 0, 0xffff, 0x8b);
  for (let i = 0; i < 8; i++) st32a(DR + i * 4, 0);
  st32a(DR + 6 * 4, 0xffff0ff0); st32a(DR + 7 * 4, 0x400);
  setHalted(false); setIrqShadow(false);
  setSysenter(0, 0, 0);
  setA20Mask(true);
  pendingVector = -1; irqWindowWanted = false; nestedDepth = 0;
  setRetired(0); setTscOffset(0);
  fpuReset();
  clearAbort();
  tcFlushAll();
  tlbFlush(false);
  invalidateFetch();
}

export function setRomSize(bytes: i32): void { setRomSizeMem(bytes); tcFlushAll(); invalidateFetch(); }
export function setRomShadowed(ram: bool): void { setRomLowIsRam(ram); tcFlushAll(); invalidateFetch(); }
export function addMmioRange(start: i32, length: i32): bool { const ok = addMmio(start, length); tcFlushAll(); invalidateFetch(); return ok; }
export function clearMmioRanges(): void { clearMmio(); tcFlushAll(); invalidateFetch(); }
export function setA20(enabled: bool): void { setA20Mask(enabled); tlbFlush(false); invalidateFetch(); }
export function interceptCpuid(all: bool): void { setCpuidExitAll(all); }
/** Call after the VMM or a device wrote guest RAM: cached code there is dropped. */
export function notifyPhysWrite(pa: i32, len: i32): void { invalidateCodeRange(pa, len); }
/** Drop all cached translations (TLB and translation cache). */
export function flushCaches(): void { tcFlushAll(); invalidateFetch(); }
/** Turn the translation cache on or off (off: every instruction is decoded as it runs). */
export function setTranslationCache(on: bool): void { setTcacheEnabled(on); invalidateFetch(); }
export function getTcacheStat(i: i32): f64 {
  return i == 0 ? tcLookups : i == 1 ? tcHits : i == 2 ? tcBuilt : i == 3 ? tcInvalidations : tcEvictions;
}

// ---- layout for the VMM ---------------------------------------------------------------

export function ramBase(): i32 { return L.RAM_BASE; }
export function romBase(): i32 { return L.ROM; }
export function exitBlock(): i32 { return L.EXIT; }
export function regsBase(): i32 { return L.REGS; }
/** The I/O bitmaps of direct ports (bit set: no exit): IN at ioDirectBase(0), OUT at ioDirectBase(1), 8 KiB each. */
export function ioDirectBase(out: i32): i32 { return out != 0 ? L.IO_DIRECT_OUT : L.IO_DIRECT_IN; }
export function memoryNeeded(ramBytes: i32): f64 { return f64(L.RAM_BASE) + f64(ramBytes); }

// ---- state accessors ------------------------------------------------------------------------

export function getEip(): i32 { return eip; }
export function setEipReg(v: i32): void { setEip(v); invalidateFetch(); }
export function getEflags(): i32 { return getFlags(); }
export function setEflags(v: i32): void { setFlags(v); }
export function getCpl(): i32 { return cpl; }
export function setCplReg(v: i32): void { setCpl(v & 3); invalidateFetch(); }
export function getCr(n: i32): i32 { return n == 0 ? cr0 : n == 2 ? cr2 : n == 3 ? cr3 : n == 4 ? cr4 : 0; }
export function setCr(n: i32, v: i32): void {
  if (n == 0) setCr0Raw(v); else if (n == 2) setCr2(v); else if (n == 3) setCr3Raw(v); else if (n == 4) setCr4Raw(v);
  if ((cr0 & 0x80000000) != 0 && (cr4 & 0x20) != 0) loadPdptes(); // PAE: the PDPTE registers follow CR3
  tlbFlush(false); invalidateFetch();
}
export function getEfer(): i32 { return efer; }
export function setEferReg(v: i32): void { setEfer(v); }
export function getGdtrBase(): i32 { return gdtrBase; }
export function getGdtrLimit(): i32 { return gdtrLimit; }
export function getIdtrBase(): i32 { return idtrBase; }
export function getIdtrLimit(): i32 { return idtrLimit; }
export function setGdtrReg(base: i32, limit: i32): void { setGdtr(base, limit & 0xffff); }
export function setIdtrReg(base: i32, limit: i32): void { setIdtr(base, limit & 0xffff); }
/** Segment register s (0-5 ES CS SS DS FS GS, 6 LDTR, 7 TR): selector, base, limit, VMX access rights. */
export function getSegSel(s: i32): i32 { return segSel(s); }
export function getSegBase(s: i32): i32 { return segBase(s); }
export function getSegLimit(s: i32): i32 { return segLimit(s); }
export function getSegAttr(s: i32): i32 { return segAttr(s) & 0x1f0ff; }
export function setSeg(s: i32, sel: i32, base: i32, limit: i32, attr: i32): void { setSegCache(s, sel, base, limit, attr); }
export function isHalted(): bool { return halted; }
export function setHaltedState(v: bool): void { setHalted(v); }
export function getRetired(): f64 { return retired; }
export function getTlbMisses(): f64 { return tlbMisses; }
export function getTlbFlushes(): f64 { return tlbFlushes; }
export function getTlbLookups(): f64 { return tlbLookups; }
export function getSysenter(i: i32): i32 { return i == 0 ? sysenterCs : i == 1 ? sysenterEsp : sysenterEip; }
export function getTscOffset(): f64 { return tscOffset; }
export function setTscOffsetValue(v: f64): void { setTscOffset(v); }
/** The legacy VGA window 0xA0000-0xBFFFF: MMIO (a PC) or plain RAM (a bare machine). */
export function setVgaHole(on: bool): void { setVgaWindowMmio(on); tcFlushAll(); invalidateFetch(); }
