// How an instruction stops early. AssemblyScript has no exceptions, so a
// fault (or an input exit that must re-run the instruction) sets `aborted`
// and every step that can fail is followed by `if (aborted) return`.
// Instructions do their faulting work (reads, address checks) before they
// change architectural state, so stopping leaves the machine as it was.
import { setExit, setExitField, EXIT_EXCEPTION, X_VALUE2 } from "./exit";

export let aborted: bool = false;
/** The instruction must be re-executed after the VMM answers an input exit. */
export let restart: bool = false;
export let faultVector: i32 = -1;
export let faultCode: i32 = 0;
export let faultHasCode: bool = false;

export const DE: i32 = 0;   // divide error
export const DB: i32 = 1;
export const NMI: i32 = 2;
export const BP: i32 = 3;
export const OFV: i32 = 4;  // overflow (INTO)
export const BR: i32 = 5;   // BOUND range
export const UD: i32 = 6;
export const NM: i32 = 7;
export const DF_: i32 = 8;  // double fault
export const TS_: i32 = 10;
export const NP: i32 = 11;
export const SSF: i32 = 12;
export const GP: i32 = 13;
export const PF_: i32 = 14;
export const MF: i32 = 16;
export const AC_: i32 = 17;
export const XM: i32 = 19;  // SIMD floating-point exception

/** The VMM's exception bitmap (controls.ts): vectors that exit instead of being delivered. */
export let exceptionBitmap: i32 = 0;
export function setExceptionBitmap(v: i32): void { exceptionBitmap = v; }

export function raise(vector: i32, code: i32): void {
  if (aborted) return; // first fault wins
  if (txActive) { abortTransaction(vector == DB ? TX_DEBUG : 0); return; }
  if (((exceptionBitmap >>> vector) & 1) != 0) { exceptionExit(vector, true, code); return; }
  aborted = true; faultVector = vector; faultCode = code; faultHasCode = true;
}
export function raiseNoCode(vector: i32): void {
  if (aborted) return;
  if (txActive) { abortTransaction(vector == DB ? TX_DEBUG : 0); return; }
  if (((exceptionBitmap >>> vector) & 1) != 0) { exceptionExit(vector, false, 0); return; }
  aborted = true; faultVector = vector; faultCode = 0; faultHasCode = false;
}

/** Record an exception the VMM injected, for deliverFault (the exception bitmap does not apply to it). */
export function raiseInjected(vector: i32, hasCode: bool, code: i32): void {
  aborted = true; restart = false; faultVector = vector; faultCode = code; faultHasCode = hasCode;
}

/** An intercepted exception: EXIT_EXCEPTION, and the instruction restarts once the VMM is done (it may inject the exception). */
function exceptionExit(vector: i32, hasCode: bool, code: i32): void {
  setExit(EXIT_EXCEPTION, vector, hasCode ? 1 : 0, code);
  setExitField(X_VALUE2, 0);
  aborted = true; restart = true; faultVector = -1;
}
export function raiseGP(code: i32): void { raise(GP, code); }
export function raiseUD(): void { raiseNoCode(UD); }
/** Stop the instruction so that it runs again once the VMM has answered. */
export function requestRestart(): void {
  if (aborted) return;
  aborted = true; restart = true; faultVector = -1;
}
export function clearAbort(): void {
  aborted = false; restart = false; faultVector = -1; faultHasCode = false; txAbortPending = false;
}

// ---- RTM transactions (cpu/ops/rtm.ts) ------------------------------------------------
// While a transaction runs, an exception does not reach the guest's IDT nor the VMM's exception bitmap: it aborts
// the transaction (SDM vol. 1, 16.3.7: "exceptions ... cause the transactional execution to abort ... as though the
// exception had never occurred"). So does an MMIO access (memory.ts). The instruction stops as after a fault, and
// the run loop rolls the transaction back once it has (index.ts afterAbort).

/** A transaction is running (rtm.ts sets it). */
export let txActive: bool = false;
export function setTxActive(v: bool): void { txActive = v; }
/** The current instruction aborted the running transaction, with this status (EAX after the abort). */
export let txAbortPending: bool = false;
export let txAbortStatus: i32 = 0;
/** RTM abort status, EAX bit 4: a debug exception (SDM vol. 1, table 16-1). */
export const TX_DEBUG: i32 = 1 << 4;

/** Stop the current instruction and abort the running transaction (rtm.ts rolls it back once the instruction has stopped). */
export function abortTransaction(status: i32): void {
  if (aborted) return;
  aborted = true; restart = true; faultVector = -1;
  txAbortPending = true; txAbortStatus = status;
}
