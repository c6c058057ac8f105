// String instructions MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE
// and both address sizes. A REP instruction runs in chunks: EIP stays on the
// instruction until the count reaches zero, so interrupts and exits can come
// between iterations exactly as on hardware.
import { reg32, setReg32, ECX, ESI, EDI, EDX, ES, DF, TF, flagsRaw, getReg, setReg, EAX, eip, setEip, instrEip, reg16, segBase } from "../../state";
import { adsize32, repPrefix, dataSeg } from "../decode";
import { readV, writeV, probeWriteV, hostIfCached, segRangeOk } from "../access";
import { copy8, fill8, st16, st32 } from "../../portable";
import { alu, ALU_CMP } from "./arith";
import { getZF } from "../flags";
import { aborted } from "../../fault";
import { ioAllowed, portIn, portOut } from "./io";
import { exitReason, EXIT_NONE } from "../../exit";
import { monitorTrapIterations } from "../../controls";

export const STR_MOVS: i32 = 0;
export const STR_CMPS: i32 = 1;
export const STR_STOS: i32 = 2;
export const STR_LODS: i32 = 3;
export const STR_SCAS: i32 = 4;
export const STR_INS: i32 = 5;
export const STR_OUTS: i32 = 6;

/** Iterations per step before EIP is left on the instruction to let events in. */
const CHUNK: i32 = 16384;

/**
 * The last REP instruction stopped after an iteration inside its chunk for the monitor trap flag's value 2
 * (the VMM's single step): it retired nothing — how many instructions retire stays the guest's registers' affair.
 */
export let repPausedByMonitorTrap: bool = false;
export function clearRepPause(): void { repPausedByMonitorTrap = false; }

function idx(r: i32): i32 { return adsize32 ? reg32(r) : reg16(r); }
function advance(r: i32, d: i32): void {
  if (adsize32) setReg32(r, i32(reg32(r) + d));
  else setReg32(r, (reg32(r) & 0xffff0000) | ((reg32(r) + d) & 0xffff));
}
function count(): i32 { return adsize32 ? reg32(ECX) : reg16(ECX); }
function setCount(v: i32): void {
  if (adsize32) setReg32(ECX, v); else setReg32(ECX, (reg32(ECX) & 0xffff0000) | (v & 0xffff));
}

/** One element; returns false when the instruction must stop (fault or exit). */
function once(kind: i32, sz: i32, d: i32): bool {
  switch (kind) {
    case STR_MOVS: {
      const v = readV(dataSeg(), idx(ESI), sz); if (aborted) return false;
      writeV(ES, idx(EDI), sz, v); if (aborted) return false;
      advance(ESI, d); advance(EDI, d);
      break;
    }
    case STR_CMPS: {
      const a = readV(dataSeg(), idx(ESI), sz); if (aborted) return false;
      const b = readV(ES, idx(EDI), sz); if (aborted) return false;
      alu(ALU_CMP, sz, a, b);
      advance(ESI, d); advance(EDI, d);
      break;
    }
    case STR_STOS: {
      writeV(ES, idx(EDI), sz, getReg(sz, EAX)); if (aborted) return false;
      advance(EDI, d);
      break;
    }
    case STR_LODS: {
      const v = readV(dataSeg(), idx(ESI), sz); if (aborted) return false;
      setReg(sz, EAX, v);
      advance(ESI, d);
      break;
    }
    case STR_SCAS: {
      const b = readV(ES, idx(EDI), sz); if (aborted) return false;
      alu(ALU_CMP, sz, getReg(sz, EAX), b);
      advance(EDI, d);
      break;
    }
    case STR_INS: {
      const port = reg32(EDX) & 0xffff;
      if (!ioAllowed(port, sz)) return false;
      // The destination must be writable before the port is read (a read can have side effects).
      if (!probeWriteV(ES, idx(EDI), sz)) return false;
      const v = portIn(port, sz); if (aborted) return false;
      writeV(ES, idx(EDI), sz, v); if (aborted) return false;
      advance(EDI, d);
      break;
    }
    default: { // OUTS
      const port = reg32(EDX) & 0xffff;
      if (!ioAllowed(port, sz)) return false;
      const v = readV(dataSeg(), idx(ESI), sz); if (aborted) return false;
      portOut(port, sz, v);
      advance(ESI, d);
      break;
    }
  }
  return true;
}

/**
 * REP MOVS / REP STOS forward over RAM the TLB already maps: move the part
 * that stays within one source and one destination page at once. Returns the
 * number of elements done (0: take the element-by-element path, which also
 * raises any fault at the exact element).
 */
function bulk(kind: i32, sz: i32, n: i32): i32 {
  const shift = sz == 4 ? 2 : sz == 2 ? 1 : 0;
  const dOff = idx(EDI);
  const dLin = i32(segBase(ES) + dOff);
  let bytes = 0x1000 - (dLin & 0xfff);
  let sOff = 0, sLin = 0;
  if (kind == STR_MOVS) {
    sOff = idx(ESI);
    sLin = i32(segBase(dataSeg()) + sOff);
    const sLeft = 0x1000 - (sLin & 0xfff);
    if (sLeft < bytes) bytes = sLeft;
  }
  let elems = bytes >> shift;
  if (u32(elems) > u32(n)) elems = n;
  if (elems <= 1) return 0;
  bytes = elems << shift;
  // 16-bit addressing wraps SI/DI at 64 KiB: leave wrapping runs to the slow path.
  if (!adsize32 && (dOff + bytes > 0x10000 || sOff + bytes > 0x10000)) return 0;
  if (!segRangeOk(ES, dOff, bytes, true)) return 0;
  const dst = hostIfCached(dLin, true);
  if (dst < 0 || hostIfCached(i32(dLin + bytes - 1), true) != i32(dst + bytes - 1)) return 0;
  if (kind == STR_MOVS) {
    if (!segRangeOk(dataSeg(), sOff, bytes, false)) return 0;
    const src = hostIfCached(sLin, false);
    if (src < 0 || hostIfCached(i32(sLin + bytes - 1), false) != i32(src + bytes - 1)) return 0;
    // An overlapping forward copy with the destination ahead repeats data element by element.
    if (u32(i32(dst - src)) < u32(bytes)) return 0;
    copy8(dst, src, bytes);
    advance(ESI, bytes);
  } else {
    const v = getReg(sz, EAX);
    if (sz == 1) fill8(dst, v, bytes);
    else for (let p = 0; p < bytes; p += sz) { if (sz == 4) st32(dst + p, v); else st16(dst + p, v); }
  }
  advance(EDI, bytes);
  return elems;
}

export function stringOp(kind: i32, sz: i32): void {
  const d = (flagsRaw & DF) != 0 ? -sz : sz;
  if (repPrefix == 0) { once(kind, sz, d); return; }
  const compares = kind == STR_CMPS || kind == STR_SCAS;
  const next = eip;
  let n = count();
  if (n == 0) { setEip(next); return; }
  // This chunk ends where the count reaches a multiple of CHUNK: where a chunk ends (and so
  // how many instructions retire) depends on the guest's registers only, not on where an
  // exit the guest cannot see (an EPT violation, a shadow fill) stopped the instruction.
  const end = (u32(n) - 1) & ~u32(CHUNK - 1);
  // Forward MOVS/STOS move whole runs within a page at once where the TLB maps them (not while single-stepping).
  const canBulk = (kind == STR_MOVS || kind == STR_STOS) && d > 0 && (flagsRaw & TF) == 0 && !monitorTrapIterations;
  while (u32(n) > end) {
    if (canBulk) {
      const done = bulk(kind, sz, i32(u32(n) - end));
      if (done > 0) { n = i32(n - done); setCount(n); continue; }
    }
    if (!once(kind, sz, d)) return;
    n = i32(n - 1);
    setCount(n);
    if (compares) {
      const zf = getZF();
      if (repPrefix == 0xf3 ? !zf : zf) { setEip(next); return; }
    }
    if (exitReason != EXIT_NONE) break; // an I/O or MMIO exit: resume after the VMM
    if ((flagsRaw & TF) != 0) break;    // single-step traps after each iteration (SDM vol. 3, 17.3.1.4)
    if (monitorTrapIterations) {        // so does VT-x's monitor trap flag (SDM vol. 3C, 25.5.2)
      repPausedByMonitorTrap = u32(n) > end;
      break;
    }
  }
  // Not finished: re-execute the instruction (its prefixes included) next time.
  setEip(n == 0 ? next : instrEip);
}
