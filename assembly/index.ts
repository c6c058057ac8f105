// The core's exported interface: the KVM-style run(budget) entry point, the
// machine reset, interrupt injection, and accessors for the full CPU state.
// Data that the VMM reads on every exit (the exit block, the registers) sits
// at fixed addresses in memory (layout.ts) so no call is needed for it.
import * as L from "./layout";
import { st32a, ld32a, fill8, copy8 } from "./portable";
import {
  eip, setEip, instrEip, cpl, setCpl, cr0, cr2, cr3, cr4, efer, gdtrBase, gdtrLimit, idtrBase, idtrLimit,
  setCr0Raw, setCr2, setCr3Raw, setCr4Raw, setEfer, setGdtr, setIdtr, halted, setHalted, irqShadow, setIrqShadow,
  flagsRaw, IF, TF, RF, retired, addRetired, setRetired, setRetiredInRun, reg32, setReg32, segSel, segBase, segLimit, segAttr,
  CS, setA20 as setA20Mask, sysenterCs, sysenterEsp, sysenterEip, setSysenter, tscOffset, setTscOffset, EDX,
  nmiPending, setNmiPending, nmiBlocked, setNmiBlocked,
} from "./state";
import { getFlags, setFlags } from "./cpu/flags";
import { setSegCache } from "./cpu/segments";
import { step } from "./cpu/exec";
import { repPausedByMonitorTrap, clearRepPause } from "./cpu/ops/string";
import { deliver, deliverFault, deliveringVector, combineExceptions, clearDelivering, setDelivering } from "./cpu/interrupts";
import { aborted, restart, clearAbort, faultVector, raiseInjected, txAbortPending, TX_DEBUG } from "./fault";
import { txDepth, rtmAbort, rtmAbortForEvent, rtmAbortStopped, resetRtm, txStarted, txCommitted, txAborted } from "./cpu/ops/rtm";
import {
  exitReason, clearExitReason, setExit, setExitField, EXIT_NONE, EXIT_BUDGET, EXIT_HLT, EXIT_IRQ_WINDOW, EXIT_MONITOR_TRAP,
  EXIT_SHUTDOWN, X_CS, X_EIP, responsePending,
} from "./exit";
import { tlbFlush, tlbDropHost, tlbInvalidatePage, tlbMisses, tlbFlushes } from "./mmu/tlb";
import { loadPdptes, pdpte } from "./mmu/walk";
import { setHostSize, p2mIdentity, nestedWalks, nestedRefs, violations } from "./mmu/p2m";
import { setControlRaw, resetControls, cr3Loads, cr3TargetHits, monitorTrap } from "./controls";
import { slotGeneration, slotLive } from "./jit/slots";
import { jitQueued, tcRun, tcEnabled, tcFlushAll, setTcacheEnabled, invalidateCodeRange, tcLookups, tcHits, tcBuilt, tcInvalidations, tcEvictions, tcRegionEntries, tcCompiledRetired, tcReplayedRetired, tcLinksTaken } from "./tcache";
import { invalidateFetch } from "./cpu/fetch";
import { tlbLookups } from "./cpu/access";
import { ramFrame, walkedFrame, physKind, takeQueuedWrite, resetMmioState, setVgaWindowMmio, setRamSize, setRomSize as setRomSizeMem, addMmioRange as addMmio, clearMmioRanges as clearMmio, setRomLowIsRam } from "./memory";
import { setCpuidExitAll, resetTsc, setTscAux, setCpuidApic as setCpuidApicBits, setCpuidX2apic as setCpuidX2apicBit, cpuidAnswer, cpuidOut0, cpuidOut1, cpuidOut2, cpuidOut3 } from "./cpu/ops/system";
import { saveMmioState, restoreMmioState, MMIO_STATE_BYTES } from "./memory";
export { setCpuidLeaf, clearCpuidLeaves, getTscState, setTscState } from "./cpu/ops/system";
import { DR } from "./layout";
import { saveVcpu, loadVcpu, saveVcpuAt, loadVcpuFrom, savedPendingVector, savedIrqWindow } from "./vcpu";

export { jsAttachMemory, jsAttachDirectPorts } from "./portable";
/** A host function serving a direct port access calls kick() to end run() after the instruction. */
export { kick } from "./cpu/ops/io";
import { fpuReset } from "./cpu/fpu/state";
import { sseReset } from "./cpu/sse/state";
/** x87 FERR# (CR0.NE=0 error reporting): the VMM raises IRQ13 on its rising edge; port 0xF0 writes call fpuIgnne(). */
export { fpuFerr, fpuIgnne } from "./cpu/fpu/state";
// The region compiler (jit/compiler.ts): the Wasm engine emits, instantiates and installs
// modules of compiled regions; these are what a region's function imports.
export { jitEmit, jitInstall, jitRegionCount, jitRegionSlot } from "./jit/compiler";
export { setJitEnabled, replayRecord as jitStep, jitEndShadow, jitRetiredAt } from "./tcache";
export {
  eip as jitEip, instrEip as jitInstrEip, flatSegs as jitFlatSegs, ss32 as jitSs32,
  mmioReadsAnswered as jitMmioReadsAnswered,
} from "./state";
export { aborted as jitAborted } from "./fault";
export { exitReason as jitExitReason } from "./exit";
export { smcHit as jitSmcHit } from "./tcache";
export { readV as jitReadV, writeV as jitWriteV, push as jitPush, pop as jitPop, probeWriteV as jitProbeWriteV } from "./cpu/access";
export { divAcc as jitDivAcc } from "./cpu/ops/arith";
export { jitIn, jitOut } from "./cpu/ops/io";
export { shiftOp as jitShiftOp } from "./cpu/ops/shift";
export {
  flagsLazy as jitFlagsLazy, lastOp1 as jitLastOp1, lastOp2 as jitLastOp2,
  lastResult as jitLastResult, lastSize as jitLastSize, lastSub as jitLastSub,
} from "./cpu/flags";
export { flagsRaw as jitFlagsRaw } from "./state";
export { jumpNear as jitJumpNear, callNear as jitCallNear, retNear as jitRetNear } from "./cpu/ops/control";
/** Blocks waiting for the compiler, and the slots' generation (when every slot is dropped at once, the engine clears its table). */
export function jitPending(): i32 { return jitQueued; }
export function jitCacheGeneration(): i32 { return slotGeneration; }
/** Does table slot `slot` hold a region the cache still runs (else it was freed: recompiled, or its code changed)? */
export function jitSlotLive(slot: i32): bool { return slotLive(slot); }
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
/**
 * Inject an exception (VMX entry-interruption information): delivered at the
 * next run() before any instruction, through the guest's IDT exactly as the
 * hardware would (error code pushed when `hasCode`; for #PF, CR2 = `cr2`
 * first); a fault during its delivery escalates to #DF as usual. The VMM
 * uses it to reflect a guest's true page fault under shadow paging.
 */
export function injectException(vector: i32, hasCode: bool, code: i32, cr2v: i32): void {
  let v = vector & 0xff;
  // Injected while the last exit interrupted the delivery of another exception (the VMM
  // reflecting a fault it found in that delivery): the two combine as the hardware's would.
  const first = deliveringVector;
  if (first >= 0) {
    clearDelivering();
    const next = combineExceptions(first, v);
    if (next < 0) { tripleFault = true; injVector = -1; return; }
    if (next == 8) { v = 8; hasCode = true; code = 0; }
  }
  injVector = v; injHasCode = hasCode; injCode = code; injCr2 = cr2v;
}
/** A combination the VMM caused ended in a triple fault: the next run() shuts down. */
let tripleFault: bool = false;
let injVector: i32 = -1;
let injectedNow: bool = false;
let injHasCode: bool = false;
let injCode: i32 = 0;
let injCr2: i32 = 0;

/** Deliver the injected exception; false when run() must return (an exit during delivery keeps it pending, or shutdown). */
function deliverInjected(): bool {
  if (injVector == 14) setCr2(injCr2);
  setHalted(false);
  raiseInjected(injVector, injHasCode, injCode);
  const ok = deliverFault();
  if (exitReason != EXIT_SHUTDOWN && !ok) return false; // delivery exited: deliver again next time
  injVector = -1;
  return ok;
}

/**
 * Queue an NMI (the LAPIC's NMI delivery mode, LINT1): delivered through vector 2 at the
 * next instruction boundary whatever IF says, unless an NMI handler is still running
 * (blocked until its IRET) or a MOV SS/POP SS shadow is in force; it wakes a HLT.
 */
export function injectNmi(): void { setNmiPending(true); }
export function nmiIsPending(): bool { return nmiPending; }
/** Ask for an IRQ_WINDOW exit as soon as the guest can take an interrupt. */
export function requestIrqWindow(on: bool): void { irqWindowWanted = on; }
export function interruptsEnabled(): bool { return (flagsRaw & IF) != 0 && !irqShadow; }

// ---- vCPUs ---------------------------------------------------------------------------
// One core runs one vCPU at a time; the VMM switches between run() calls (vcpu.ts).

/** Save the running vCPU's state into slot (0-15). */
export function vcpuSave(slot: i32): void { saveVcpu(slot, pendingVector, irqWindowWanted); }
/** Make the vCPU saved in slot the running one. */
export function vcpuLoad(slot: i32): void {
  loadVcpu(slot);
  pendingVector = savedPendingVector(slot);
  irqWindowWanted = savedIrqWindow(slot);
}

// ---- nested entries ------------------------------------------------------------------
// The VMM may enter the guest again while it handles an exit (a SymCall from an exit
// handler, even from the shadow pager's). What the interrupted entry still needs besides
// the architectural state — the exit block with its armed response, the MMIO reads
// carried into the instruction's re-execution and the writes queued behind it, the
// pending interrupt and NMI, the interrupt window request and shadow, an exception the
// VMM injected and the delivery an exit interrupted — is saved here and cleared;
// popEntry puts it back. With `saveState`, the vCPU's whole state is saved too (vcpu.ts)
// and popEntry restores it: whatever the nested entry did, the interrupted context comes
// back exactly. The execution controls are the VMM's and stay as they are.
let nestedDepth: i32 = 0;
const N_EVENTS: i32 = L.EXIT_SIZE + MMIO_STATE_BYTES; // 10 words, below
const N_CPU: i32 = N_EVENTS + 40;                     // VCPU_SAVE_SIZE bytes (vcpu.ts)

/** Save and clear the current entry's context (and the vCPU state); false when NESTED_DEPTH levels are in use. */
export function pushEntry(saveState: bool): bool {
  if (nestedDepth >= L.NESTED_DEPTH) return false;
  const slot = L.NESTED_SAVE + nestedDepth * L.NESTED_SLOT;
  copy8(slot, L.EXIT, L.EXIT_SIZE);
  saveMmioState(slot + L.EXIT_SIZE);
  const ev = slot + N_EVENTS;
  st32a(ev, pendingVector); st32a(ev + 4, irqWindowWanted ? 1 : 0); st32a(ev + 8, irqShadow ? 1 : 0);
  st32a(ev + 12, nmiPending ? 1 : 0); st32a(ev + 16, injVector);
  st32a(ev + 20, (injHasCode ? 1 : 0) | (tripleFault ? 2 : 0)); st32a(ev + 24, injCode); st32a(ev + 28, injCr2);
  st32a(ev + 32, deliveringVector); st32a(ev + 36, saveState ? 1 : 0);
  if (saveState) saveVcpuAt(slot + N_CPU, pendingVector, irqWindowWanted);
  pendingVector = -1; irqWindowWanted = false; setIrqShadow(false); setNmiPending(false);
  injVector = -1; tripleFault = false; clearDelivering();
  fill8(L.EXIT, 0, L.EXIT_SIZE);
  nestedDepth++;
  return true;
}

/** Restore the context (and the vCPU state, if it was saved) of the matching pushEntry. */
export function popEntry(): void {
  if (nestedDepth == 0) return;
  nestedDepth--;
  const slot = L.NESTED_SAVE + nestedDepth * L.NESTED_SLOT;
  const ev = slot + N_EVENTS;
  if (ld32a(ev + 36) != 0) loadVcpuFrom(slot + N_CPU, false);
  copy8(L.EXIT, slot, L.EXIT_SIZE);
  restoreMmioState(slot + L.EXIT_SIZE);
  pendingVector = ld32a(ev); irqWindowWanted = ld32a(ev + 4) != 0; setIrqShadow(ld32a(ev + 8) != 0);
  setNmiPending(ld32a(ev + 12) != 0); injVector = ld32a(ev + 16);
  const f = ld32a(ev + 20);
  injHasCode = (f & 1) != 0; tripleFault = (f & 2) != 0; injCode = ld32a(ev + 24); injCr2 = ld32a(ev + 28);
  setDelivering(ld32a(ev + 32));
}
export function entryDepth(): i32 { return nestedDepth; }
/** Where pushEntry(true) saves the outermost entry (L.NESTED_SLOT bytes): a snapshot's copy of the CPU and its events. */
export function entrySaveBase(): i32 { return L.NESTED_SAVE; }
/** Where the vCPU slots are (L.VCPU_SAVE_SIZE bytes each, slot i at base + i × that). */
export function vcpuSlotBase(): i32 { return L.VCPU_SAVE; }

// ---- the run loop --------------------------------------------------------------------

/**
 * Run until an exit, or until `budget` instructions have been retired (or
 * events delivered). Returns the exit reason; details are in the exit block.
 */
export function run(budget: i32): i32 {
  clearExitReason();
  if (injVector < 0) clearDelivering(); // the VMM resumed without injecting: the delivery starts over
  let n = 0;
  let done = 0;
  // MMIO writes an instruction queued behind its first one leave first, one exit each.
  if (takeQueuedWrite()) n = budget;
  else if (tripleFault) { tripleFault = false; setHalted(true); setExit(EXIT_SHUTDOWN, 8, 0, 0); n = budget; }
  // An event the VMM injected is delivered at entry, before any instruction (VMX event injection).
  else if (injVector >= 0) { injectedNow = true; if (!deliverInjected()) n = budget; }
  // The monitor trap flag: exactly one instruction, then an exit (after an injected event: no instruction).
  if (monitorTrap && n < budget) {
    if (injectedNow) setExit(EXIT_MONITOR_TRAP, 0, 0, 0); else done = stepOne();
    n = budget;
  }
  injectedNow = false;
  // An instruction that exited for an answer (IN, RDMSR, WRMSR, CPUID, an MMIO load) re-executes now to take it,
  // and no interrupt or NMI comes first: it was under way, as on hardware. (Taken first, the handler's own exits
  // re-armed the answer for theirs and the instruction exited again on IRET: a second WRMSR to the ICR, a second IPI.)
  let resuming = responsePending();
  while (n < budget) {
    // Events between instructions.
    const shadow = irqShadow || resuming;
    resuming = false;
    if (shadow) setIrqShadow(false);
    if (nmiPending && !nmiBlocked && !shadow) {
      rtmAbortForEvent(); // an event aborts a transaction and is taken at its fallback (cpu/ops/rtm.ts)
      setNmiPending(false);
      setNmiBlocked(true);
      setHalted(false);
      deliver(2, false, 1, false, 0, eip);
      if (aborted) {
        if (!deliverFault()) break;
      }
      n++;
      continue;
    }
    if (!shadow && (flagsRaw & IF) != 0) {
      if (pendingVector >= 0) {
        rtmAbortForEvent();
        const v = pendingVector;
        pendingVector = -1;
        const wasHalted = halted;
        setHalted(false);
        deliver(v, false, 1, false, 0, eip);
        if (aborted) {
          // An exit during delivery (shadow paging filling the IDT's or stack's page): deliver it again afterwards.
          if (restart) { pendingVector = v; setHalted(wasHalted); clearAbort(); break; }
          if (!deliverFault()) break;
        }
        n++;
        continue;
      }
      if (irqWindowWanted) { irqWindowWanted = false; rtmAbortForEvent(); setExit(EXIT_IRQ_WINDOW, 0, 0, 0); break; }
    }
    if (halted) { setExit(EXIT_HLT, 0, 0, 0); break; }
    const trap = (flagsRaw & TF) != 0;
    // Right after STI / MOV SS the shadow covers one instruction only: with an event waiting,
    // interpret that one so the event is taken before the next (a cached block would run on).
    const shadowedEvent = shadow && (pendingVector >= 0 || irqWindowWanted || nmiPending);
    // (A transaction is interpreted: its stores are logged page by page through the slow paths, cpu/ops/rtm.ts.)
    if (tcEnabled && !trap && !shadowedEvent && txDepth == 0) {
      // Through the translation cache: a block at a time.
      setRetiredInRun(done);
      const r = tcRun(budget - n, pendingVector < 0 && !irqWindowWanted && !nmiPending);
      if (r >= 0) {
        n += r > 0 ? r : 1;
        done += r;
        if (aborted && !afterAbort()) break;
        if (exitReason != EXIT_NONE) break;
        continue;
      }
    }
    setRetiredInRun(done);
    step();
    n++;
    if (aborted) {
      if (!afterAbort()) break;
      continue;
    }
    done++;
    if (trap && txDepth != 0) rtmAbort(TX_DEBUG); // the single-step trap aborts a transaction, and is not delivered
    else if (trap) {
      // Single-step trap after the instruction (DR6.BS).
      st32a(DR + 6 * 4, 0xffff4ff0);
      deliver(1, false, 1, false, 0, eip);
      if (aborted && (restart ? (clearAbort(), true) : !deliverFault())) break;
    }
    if (exitReason != EXIT_NONE) break;
  }
  // The VMM never sees a transaction under way: whatever ends the run aborts it first (cpu/ops/rtm.ts).
  rtmAbortForEvent();
  addRetired(done);
  setRetiredInRun(0);
  if (exitReason == EXIT_NONE) setExit(EXIT_BUDGET, 0, 0, 0);
  setExitField(X_CS, segSel(CS));
  setExitField(X_EIP, exitReason == EXIT_BUDGET || exitReason == EXIT_HLT ? eip : instrEip);
  return exitReason;
}

/** One instruction under the monitor trap flag (no interrupt first); EXIT_MONITOR_TRAP unless it left another exit. */
function stepOne(): i32 {
  if (halted) { setExit(EXIT_HLT, 0, 0, 0); return 0; }
  setIrqShadow(false);
  clearRepPause();
  step();
  // An iteration inside a REP chunk retires nothing (the chunk retires once, stepped or not).
  let retired = repPausedByMonitorTrap ? 0 : 1;
  if (aborted) { retired = 0; if (!afterAbort() && exitReason != EXIT_NONE) return 0; }
  if (exitReason == EXIT_NONE) setExit(EXIT_MONITOR_TRAP, 0, 0, 0);
  return retired;
}

/**
 * The current instruction stopped early: restart it after an input exit, or
 * deliver its fault. Returns false when run() must return to the VMM.
 */
function afterAbort(): bool {
  if (txAbortPending) { rtmAbortStopped(); return exitReason == EXIT_NONE; } // it aborted a transaction: go on at the fallback
  setEip(instrEip);
  if (restart) { clearAbort(); return exitReason == EXIT_NONE; }
  if (faultVector < 0) { clearAbort(); return false; }
  return deliverFault();
}

// ---- machine set-up ---------------------------------------------------------------------

/** Reset the CPU to its power-on state and set the RAM size (bytes). */
export function reset(ramBytes: i32): void {
  setRamSize(ramBytes);
  // A fresh machine: the identity map, no MMIO ranges, no VMM controls, no event the last VMM injected.
  p2mIdentity(ramBytes);
  clearMmio();
  fill8(L.WALKED_FRAMES, 0, 0x20000);
  resetControls();
  clearTraceLog();
  clearSyncFrames();
  injVector = -1; tripleFault = false; clearDelivering();
  resetMmioState();
  initCpu();
  nestedDepth = 0;
  setA20Mask(true);
  setRetired(0); setTscOffset(0); resetTsc();
  fpuReset();
  sseReset();
  clearAbort();
  resetRtm();
  tcFlushAll();
}

/**
 * INIT (SDM vol. 3, 9.1.1 and Table 9-1): the running vCPU's registers as after RESET
 * (CR0 as at power-on), pending events dropped. The x87
 * state, the TSC and the machine (RAM, caches, A20) are left alone. An application
 * processor then waits for a start-up IPI (the VMM keeps that state).
 */
export function initCpu(): void {
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
  setTscAux(0);
  pendingVector = -1; irqWindowWanted = false; setNmiPending(false); setNmiBlocked(false);
  tlbFlush(false);
  invalidateFetch();
}

// ---- host memory, the guest-physical map and the VMM's controls ----------------------------

/**
 * Size the host frame pool (`hostBytes`, guest RAM included) and give guest
 * RAM of `ramBytes` the identity map. Called once, before reset().
 */
export function initHostMemory(ramBytes: i32, hostBytes: i32): void {
  setHostSize(hostBytes);
  setRamSize(ramBytes);
  p2mIdentity(ramBytes);
  fill8(L.WALKED_FRAMES, 0, 0x20000);
  tcFlushAll();
  invalidateFetch();
}
/** The guest-physical map's table in core memory (one i32 per guest page): the VMM edits it in place, then calls mapChanged. */
export function p2mBase(): i32 { return L.P2M; }
/** One bit per 4 KiB page of that table: the VMM sets a page's bit when it writes an entry there (mmu/p2m.ts p2mIdentity). */
export function p2mWrittenBase(): i32 { return L.P2M_WRITTEN; }
/**
 * The VMM changed the map entry of guest page `gpa`, which named host frame
 * `oldFrame` (-1: none, or several pages changed): drop the translations that
 * can be stale — those reaching the old frame, or every one if the page
 * walker ever read a table there (or there was no old frame) — and the fetch window.
 */
export function mapChanged(gpa: i32, oldFrame: i32): void {
  if (oldFrame < 0 || walkedFrame(gpa)) tlbFlush(false); else tlbDropHost(L.RAM_BASE + (oldFrame & ~0xfff));
  invalidateFetch();
}
/** Drop the TLB entries that reach host frame `hpa` (-1: all): the VMM changed a shadow entry that mapped it. */
export function flushTlbHost(hpa: i32): void {
  if (hpa < 0) tlbFlush(false); else tlbDropHost(L.RAM_BASE + (hpa & ~0xfff));
  invalidateFetch();
}
/** Drop the TLB entry of linear page `lin` (the VMM changed the shadow leaf that maps it: a targeted INVLPG). */
export function flushTlbLinear(lin: i32): void { tlbInvalidatePage(lin, false); invalidateFetch(); }
/** Shadow paging's trace log: where it is, and emptying it once the VMM has resynchronized those frames. */
export function traceLogBase(): i32 { return L.TRACE_LOG; }
import { clearTraceLog, traceLogCount } from "./mmu/walk";
import { setSyncWord, clearSyncFrames, syncStore } from "./mmu/sync";
export { clearTraceLog, traceLogCount, setSyncWord, clearSyncFrames };
/** Would a logged store of `size` bytes at host address `hpa` exit right after its instruction? (What a shadow walk asks.) */
export function syncStoreAt(hpa: i32, size: i32): bool { return syncStore(hpa, size); }

/** What the chipset decodes guest-physical `pa` to: 0 memory (the map decides), 1 ROM, 2 a device's MMIO. */
export function physKindOf(pa: i32): i32 { return physKind(pa); }
/** VMWRITE: set an execution control (controls.ts CTL_*). */
export function setControl(field: i32, v: i32): void {
  if (setControlRaw(field, v)) { tlbFlush(false); invalidateFetch(); }
}
export { getControl, setCr3Target } from "./controls";
/** The guest's PAE PDPTE registers (i = 0-3), which shadow paging reads instead of guest memory. */
export function getPdpte(i: i32, high: bool): i32 { return pdpte(i, high); }
/** 0 nested walks, 1 nested-table references, 2 EPT violations, 3 CR3 loads, 4 of them CR3-target hits. */
export function getPagingStat(i: i32): f64 {
  return i == 0 ? nestedWalks : i == 1 ? nestedRefs : i == 2 ? violations : i == 3 ? cr3Loads : cr3TargetHits;
}

export function setRomSize(bytes: i32): void { setRomSizeMem(bytes); tcFlushAll(); invalidateFetch(); }
export function setRomShadowed(ram: bool): void { setRomLowIsRam(ram); tcFlushAll(); invalidateFetch(); }
export function addMmioRange(start: i32, length: i32): bool { const ok = addMmio(start, length); tcFlushAll(); invalidateFetch(); return ok; }
export function clearMmioRanges(): void { clearMmio(); tcFlushAll(); invalidateFetch(); }
export function setA20(enabled: bool): void { setA20Mask(enabled); tlbFlush(false); invalidateFetch(); }
export function interceptCpuid(all: bool): void { setCpuidExitAll(all); }
/** Call after the VMM or a device wrote host frames [hpa, hpa+len): cached code there is dropped. */
export function notifyHostWrite(hpa: i32, len: i32): void { invalidateCodeRange(hpa, len); }
/** Call after the VMM or a device wrote guest-physical [pa, pa+len): cached code in the frames behind it is dropped. */
export function notifyPhysWrite(pa: i32, len: i32): void {
  if (len <= 0) return;
  const last = i32(pa + len - 1) >>> 12;
  for (let p = pa >>> 12; p <= last; p++) {
    const f = ramFrame(p << 12);
    if (f >= 0) invalidateCodeRange(f, 0x1000);
  }
}
/** PAUSE leaves run() with EXIT_PAUSE (a multiprocessor VM lets a spinning vCPU yield). */
export { setPauseExiting } from "./exit";
/** CPUID.1 reports a local APIC (EDX.APIC, ECX.TSC-deadline) and this vCPU's initial APIC ID. */
export function setCpuidApic(present: bool, apicId: i32): void { setCpuidApicBits(present, apicId); }
/** CPUID.1:ECX[21]: that APIC offers x2APIC mode (only with setCpuidApic's APIC present). */
export function setCpuidX2apic(on: bool): void { setCpuidX2apicBit(on); }
/** SMAP: CPUID.(EAX=7,ECX=0):EBX[20], CR4.SMAP, STAC/CLAC (off at power-on: a VMM choice, like QEMU's -cpu max). */
export { setSmapSupported as setCpuSmap } from "./state";
/** RTM: CPUID.(EAX=7,ECX=0):EBX[11], XBEGIN/XEND/XABORT/XTEST, IA32_TSX_CTRL and IA32_ARCH_CAPABILITIES (off at power-on, like SMAP). */
export { setRtmSupported as setCpuRtm } from "./cpu/ops/rtm";
/** RTM transactions begun, committed, aborted (cpu/ops/rtm.ts): i = 0, 1, 2. */
export function getRtmStat(i: i32): f64 { return i == 0 ? txStarted : i == 1 ? txCommitted : txAborted; }
/** SMEP: CPUID.(EAX=7,ECX=0):EBX[7], CR4.SMEP (off at power-on, like SMAP). */
export { setSmepSupported as setCpuSmep } from "./state";
/** The core's own answer to CPUID leaf/subleaf (what it returns without interception: the VMM's leaf table, else the CPU's): register i = 0..3 (EAX..EDX). */
export function cpuidDefault(leaf: i32, sub: i32, i: i32): i32 {
  cpuidAnswer(i32(leaf), i32(sub)); // i32(): the JS engine gets leaves above 0x7fffffff unsigned from the VMM
  return i == 0 ? cpuidOut0 : i == 1 ? cpuidOut1 : i == 2 ? cpuidOut2 : cpuidOut3;
}
/** Drop all cached translations (TLB and translation cache): guest RAM and paging replaced under the core (a snapshot restored). */
export function flushCaches(): void { tcFlushAll(); tlbFlush(false); invalidateFetch(); }
/** Turn the translation cache on or off (off: every instruction is decoded as it runs). */
export function setTranslationCache(on: bool): void { setTcacheEnabled(on); invalidateFetch(); }
export function getTcacheStat(i: i32): f64 {
  switch (i) {
    case 0: return tcLookups;
    case 1: return tcHits;
    case 2: return tcBuilt;
    case 3: return tcInvalidations;
    case 4: return tcEvictions;
    case 5: return tcRegionEntries;
    case 6: return tcCompiledRetired;
    case 8: return tcLinksTaken();
    default: return tcReplayedRetired;
  }
}

// ---- layout for the VMM ---------------------------------------------------------------

export function ramBase(): i32 { return L.RAM_BASE; }
export function romBase(): i32 { return L.ROM; }
export function exitBlock(): i32 { return L.EXIT; }
export function regsBase(): i32 { return L.REGS; }
/** XMM0-XMM7 in core memory, 16 bytes each (layout XMM): a debugger reads them as bytes. */
export function xmmBase(): i32 { return L.XMM; }
/** The x87 state for a debugger, written to fpuDebugBase() (cpu/fpu/env.ts fpuDebugState: ST(0)-ST(7) images, control words). */
export { fpuDebugState } from "./cpu/fpu/env";
export function fpuDebugBase(): i32 { return L.FPU_DEBUG; }
/** The I/O bitmaps of direct ports (bit set: no exit): IN at ioDirectBase(0), OUT at ioDirectBase(1), 8 KiB each. */
export function ioDirectBase(out: i32): i32 { return out != 0 ? L.IO_DIRECT_OUT : L.IO_DIRECT_IN; }
/** Bytes of core memory for a host frame pool of `hostBytes` (guest RAM plus the VMM's frames). */
export function memoryNeeded(hostBytes: i32): f64 { return f64(L.RAM_BASE) + f64(hostBytes); }

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
/** A restored snapshot's count (the clock and the TSC go on from it). */
export function setRetiredCount(v: f64): void { setRetired(v); }
export function getTlbMisses(): f64 { return tlbMisses; }
export function getTlbFlushes(): f64 { return tlbFlushes; }
export function getTlbLookups(): f64 { return tlbLookups; }
export function getSysenter(i: i32): i32 { return i == 0 ? sysenterCs : i == 1 ? sysenterEsp : sysenterEip; }
export function getTscOffset(): f64 { return tscOffset; }
export function setTscOffsetValue(v: f64): void { setTscOffset(v); }
/** The legacy VGA window 0xA0000-0xBFFFF: MMIO (a PC) or plain RAM (a bare machine). */
export function setVgaHole(on: bool): void { setVgaWindowMmio(on); tcFlushAll(); invalidateFetch(); }
