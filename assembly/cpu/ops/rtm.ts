// Intel TSX's Restricted Transactional Memory: XBEGIN, XEND, XABORT, XTEST (SDM vol. 1, 16.3; vol. 2) and the
// IA32_TSX_CTRL MSR that turns it off (Intel's "TSX Asynchronous Abort" guidance, IA32_ARCH_CAPABILITIES bit 7).
// Offered only when the VMM asks (setRtmSupported: `--rtm`, as QEMU's -cpu max on hardware that has TSX).
//
// How a transaction is kept, with one vCPU running at a time on one thread:
// - Registers: the outermost XBEGIN saves the whole vCPU (vcpu.ts saveVcpuAt) at TX_SAVE; an abort loads it back,
//   with EAX the abort status and EIP the fallback address.
// - Memory: an undo log of whole pages. XBEGIN empties the TLB; while the transaction runs, a page cached for a read
//   is cached read-only, and the first write to a page copies it into TX_LOG_DATA (mmu/walk.ts translate calls
//   rtmNoteAccess), so the fast paths of reads and writes are untouched. An abort copies the pages back. More
//   pages than the log holds abort the transaction (EAX bit 3, as an overflowing L1 does).
// - Isolation: nothing else runs while a transaction does. Before the core returns to the VMM for any reason (the
//   budget, an interrupt window, an EPT violation, the trace log) the transaction aborts (index.ts run), so devices,
//   DMA and the other vCPUs never see its stores half done and it never sees theirs; the VMM finds the vCPU at the
//   fallback, as a VM exit inside a transaction leaves it on hardware.
// - What aborts it on the spot: XABORT, CPUID and PAUSE (which always abort, 16.3.8.1), the instructions an
//   implementation may abort on that have effects outside the core's registers and memory (I/O, HLT, INT n, IRET,
//   far transfers, control/debug registers, MSRs, descriptor-table loads, INVLPG, cache control: cpu/exec.ts
//   abortsTransaction), device memory (memory.ts), an exception — which is then not delivered (16.3.7; fault.ts) —
//   and an interrupt or NMI, which is delivered at the fallback (index.ts).
// - The translation cache and the region compiler stay out: the run loop interprets while a transaction runs, and
//   XBEGIN and XABORT end recording (tcache.ts cacheable; XEND and XTEST are 0F 01 forms, never cached).
import { TX_SAVE, TX_LOG_PAGES, TX_LOG_DATA, TX_LOG_MAX, RAM_BASE } from "../../layout";
import { ld32a, st32a, copy8 } from "../../portable";
import { eip, setEip, setInstrEip, setReg32, EAX, CS, segHi, ZF, ARITH_FLAGS } from "../../state";
import { getFlags, setFlags } from "../flags";
import { raise, raiseUD, GP, setTxActive, txAbortStatus, abortTransaction, clearAbort } from "../../fault";
import { saveVcpuAt, loadVcpuFrom } from "../../vcpu";
import { tlbFlush, tlbDenyWrite } from "../../mmu/tlb";
import { resKind, resHost, PHYS_RAM } from "../../memory";
import { pageHasCode, invalidateCodeRange } from "../../tcache";
import { invalidateFetch } from "../fetch";

// Abort status in EAX (SDM vol. 1, table 16-1).
const TX_XABORT: i32 = 1 << 0;   // XABORT, its operand in bits 31:24
const TX_RETRY: i32 = 1 << 1;    // may succeed on a retry
const TX_CAPACITY: i32 = 1 << 3; // an internal buffer overflowed
const TX_NESTED: i32 = 1 << 5;   // aborted inside a nested transaction
/** MAX_RTM_NEST_COUNT: a deeper XBEGIN aborts. */
const MAX_NEST: i32 = 7;

/** IA32_TSX_CTRL bits: every XBEGIN aborts; CPUID stops enumerating RTM and HLE. */
export const TSX_CTRL_RTM_DISABLE: i32 = 1;
export const TSX_CTRL_CPUID_CLEAR: i32 = 2;

/** The VMM offers RTM (CPUID.(EAX=7,ECX=0):EBX[11], IA32_TSX_CTRL, IA32_ARCH_CAPABILITIES). */
export let rtmSupported: bool = false;
export function setRtmSupported(v: bool): void { rtmSupported = v; }
/** This vCPU's IA32_TSX_CTRL (vcpu.ts saves it per vCPU). */
export let tsxCtrl: i32 = 0;
export function setTsxCtrl(v: i32): void { tsxCtrl = v; }

/** Nesting depth of the running transaction; 0 outside one. */
export let txDepth: i32 = 0;
let txFallback: i32 = 0;
let txPages: i32 = 0;

// Statistics.
export let txStarted: f64 = 0;
export let txCommitted: f64 = 0;
export let txAborted: f64 = 0;

/** Power-on: no transaction, IA32_TSX_CTRL 0. (Whether RTM is offered is the VMM's choice and stays.) */
export function resetRtm(): void {
  txDepth = 0; txPages = 0; tsxCtrl = 0;
  setTxActive(false);
}

/** XBEGIN rel16/rel32 (C7 F8), EIP already past it: start (or nest) a transaction whose abort goes to EIP + rel. */
export function xbegin(rel: i32, operandSize: i32): void {
  if (!rtmSupported) { raiseUD(); return; }
  if (txDepth >= MAX_NEST) { rollback(TX_NESTED); return; }
  if (txDepth > 0) { txDepth++; return; }
  let fallback = i32(eip + rel);
  if (operandSize == 2) fallback &= 0xffff;
  if (u32(fallback) > u32(segHi(CS))) { raise(GP, 0); return; }
  if ((tsxCtrl & TSX_CTRL_RTM_DISABLE) != 0) { setReg32(EAX, 0); setEip(fallback); txStarted += 1; txAborted += 1; return; }
  saveVcpuAt(TX_SAVE, -1, false);
  txFallback = fallback;
  txPages = 0;
  txDepth = 1;
  setTxActive(true);
  // Every page must be translated again, so that reads cache it read-only and the first write logs it.
  tlbFlush(false);
  txStarted += 1;
}

/** XEND (0F 01 D5): the outermost one commits. #GP(0) outside a transaction. */
export function xend(): void {
  if (!rtmSupported) { raiseUD(); return; }
  if (txDepth == 0) { raise(GP, 0); return; }
  txDepth--;
  if (txDepth > 0) return;
  txPages = 0;
  setTxActive(false);
  txCommitted += 1;
}

/** XABORT imm8 (C6 F8 ib): abort with the operand in EAX[31:24]; a NOP outside a transaction. */
export function xabort(imm: i32): void {
  if (!rtmSupported) { raiseUD(); return; }
  if (txDepth > 0) rollback(((imm & 0xff) << 24) | TX_XABORT);
}

/** XTEST (0F 01 D6): ZF clear inside a transaction, set outside; CF, OF, SF, PF and AF cleared. */
export function xtest(): void {
  if (!rtmSupported) { raiseUD(); return; }
  setFlags((getFlags() & ~ARITH_FLAGS) | (txDepth == 0 ? ZF : 0));
}

/** Abort the running transaction at an instruction boundary (an interrupt, an exit, an instruction that aborts). */
export function rtmAbort(status: i32): void { if (txDepth > 0) rollback(status); }
/** An event outside the transaction (an interrupt, the end of the run) aborts it: it may succeed if tried again. */
export function rtmAbortForEvent(): void { rtmAbort(TX_RETRY); }

/** The instruction that stopped aborted the transaction (fault.ts abortTransaction): roll it back. */
export function rtmAbortStopped(): void {
  const status = txAbortStatus;
  clearAbort();
  rtmAbort(status);
}

/**
 * A translation inside a transaction (mmu/walk.ts translate, after it succeeded): a write logs its page before
 * the store is made; a read leaves its page cached read-only, so that a later write comes back here.
 */
export function rtmNoteAccess(lin: i32, write: bool): void {
  if (resKind != PHYS_RAM) return; // ROM ignores writes; device memory aborts at the access (memory.ts)
  const page = resHost & ~0xfff;
  if (!write) {
    if (!logged(page)) tlbDenyWrite(lin); // (a RAM page's entry, if the walk cached one)
    return;
  }
  if (logged(page)) return;
  if (txPages >= TX_LOG_MAX) { abortTransaction(TX_CAPACITY); return; }
  st32a(TX_LOG_PAGES + (txPages << 2), page);
  copy8(TX_LOG_DATA + (txPages << 12), page, 0x1000);
  txPages++;
}

function logged(page: i32): bool {
  for (let i = 0; i < txPages; i++) if (ld32a(TX_LOG_PAGES + (i << 2)) == page) return true;
  return false;
}

/** Undo the transaction: its pages, then the registers; EAX = status, execution goes on at the fallback. */
function rollback(status: i32): void {
  for (let i = 0; i < txPages; i++) {
    const page = ld32a(TX_LOG_PAGES + (i << 2));
    copy8(page, TX_LOG_DATA + (i << 12), 0x1000);
    // Code the transaction wrote was invalidated as it wrote it; what it decoded from there since is dropped too.
    const hpa = page - RAM_BASE;
    if (pageHasCode(hpa)) invalidateCodeRange(hpa, 0x1000);
  }
  const nested = txDepth > 1 ? TX_NESTED : 0;
  txPages = 0;
  txDepth = 0;
  setTxActive(false);
  loadVcpuFrom(TX_SAVE, false);
  setReg32(EAX, status | nested);
  setEip(txFallback);
  setInstrEip(txFallback);
  // Translations made from pages the transaction wrote (its own page tables) must not outlive it.
  tlbFlush(false);
  invalidateFetch();
  txAborted += 1;
}
