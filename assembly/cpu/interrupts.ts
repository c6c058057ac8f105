// Interrupt and exception delivery: the real-mode IVT and the protected-mode
// IDT (interrupt, trap and task gates, with the TSS stack switch on a change
// of privilege), and the double-fault / triple-fault escalation.
import {
  protectedMode, cpl, setCpl, eip, setEip, idtrBase, idtrLimit, reg32, setReg32, ESP,
  segSel, segBase, segLimit, segAttr, CS, SS, TR, ES, DS, FS, GS, ss32, IF, TF, NT, RF, VM, AC, setHalted, flagsRaw,
} from "../state";
import { getFlags, setFlags } from "./flags";
import { readSys, writeSys, push, readLin, ATTR_UNUSABLE } from "./access";
import {
  readDescriptor, descLo, descHi, descAddr, setLastDesc, descAttr, attrDpl, loadCsChecked, setSegCache, loadSegReal,
  descBase, descLimit, AR_P, AR_S, AR_TYPE, AR_DB, TYPE_CODE, TYPE_CONFORMING, TYPE_WRITABLE, TYPE_ACCESSED, markAccessed,
} from "./segments";
import { aborted, restart, raise, clearAbort, faultVector, faultCode, faultHasCode, GP, NP, SSF, TS_, DF_, PF_ } from "../fault";
import { taskSwitch, TASK_SWITCH_INT } from "./task";
import { setExit, EXIT_SHUTDOWN } from "../exit";

/**
 * Deliver interrupt `vector`. `soft` marks INT n / INT3 / INTO (gate DPL is
 * checked against CPL); `ext` is the EXT bit for error codes raised during
 * delivery of an external event or exception; `retEip` is the EIP pushed.
 */
export function deliver(vector: i32, soft: bool, ext: i32, hasErr: bool, err: i32, retEip: i32): void {
  if (!protectedMode) { deliverReal(vector, retEip); return; }
  deliverProtected(vector, soft, ext, hasErr, err, retEip);
}

function deliverReal(vector: i32, retEip: i32): void {
  const off = vector << 2;
  if (off + 3 > idtrLimit) { raise(GP, vector * 8 + 2); return; }
  const ip = readSys(i32(idtrBase + off), 2);
  if (aborted) return;
  const cs = readSys(i32(idtrBase + off + 2), 2);
  if (aborted) return;
  const f = getFlags();
  push(2, f); if (aborted) return;
  push(2, segSel(CS)); if (aborted) return;
  push(2, retEip); if (aborted) return;
  setFlags(f & ~(IF | TF | AC | RF));
  loadSegReal(CS, cs);
  setEip(ip);
}

function deliverProtected(vector: i32, soft: bool, ext: i32, hasErr: bool, err: i32, retEip: i32): void {
  const idtErr = vector * 8 + 2 + ext;
  if (u32(vector * 8 + 7) > u32(idtrLimit)) { raise(GP, idtErr); return; }
  const gaddr = i32(idtrBase + vector * 8);
  const lo = readSys(gaddr, 4); if (aborted) return;
  const hi = readSys(i32(gaddr + 4), 4); if (aborted) return;
  const gtype = (hi >> 8) & 0x1f; // S bit + type
  const gdpl = (hi >> 13) & 3;
  const gate32 = (gtype & 8) != 0;
  const kind = gtype & 7;
  if ((gtype & 0x10) != 0 || (kind != 5 && kind != 6 && kind != 7) || (kind == 5 && gate32)) { raise(GP, idtErr); return; }
  if (soft && gdpl < cpl) { raise(GP, idtErr); return; }
  if ((hi & 0x8000) == 0) { raise(NP, idtErr); return; }
  if (kind == 5) {
    // Task gate: switch to the task named by the gate, then push the error code there.
    taskSwitch(lo >>> 16, TASK_SWITCH_INT, retEip, ext);
    if (aborted) return;
    if (hasErr) { push((segAttr(TR) & 8) != 0 ? 4 : 2, err); }
    return;
  }
  const trap = kind == 7;
  const sel = lo >>> 16;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  if ((sel & 0xfffc) == 0) { raise(GP, ext); return; }
  if (!readDescriptor(sel, false)) { if (!aborted) raise(GP, (sel & 0xfffc) + ext); return; }
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  const dpl = attrDpl(attr);
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) == 0 || dpl > cpl) { raise(GP, (sel & 0xfffc) + ext); return; }
  if ((attr & AR_P) == 0) { raise(NP, (sel & 0xfffc) + ext); return; }
  // The accessed bit before anything is committed: its store may fault (a hidden fault under shadow paging), and the
  // delivery must then start over from the same state.
  markAccessed(); if (aborted) return;
  const csLo = descLo, csHi = descHi, csAddr = descAddr;
  const f = getFlags();
  const psz = gate32 ? 4 : 2;
  const fromV86 = (flagsRaw & VM) != 0;
  // From virtual-8086 mode only a ring-0, non-conforming handler may be reached.
  if (fromV86 && ((type & TYPE_CONFORMING) != 0 || dpl != 0)) { raise(GP, (sel & 0xfffc) + ext); return; }
  if ((type & TYPE_CONFORMING) == 0 && dpl < cpl) {
    // Inter-privilege: new stack from the TSS.
    const oldSS = segSel(SS), oldESP = reg32(ESP);
    if (!loadStackFromTss(dpl, ext)) return;
    const newSS = stackSel, newESP = stackEsp;
    // Write the frame on the new stack before committing anything.
    const ssBase = descBase(ssLo, ssHi);
    const ss32New = (descAttr(ssHi) & AR_DB) != 0;
    const sp = newESP;
    const n = (hasErr ? 6 : 5) + (fromV86 ? 4 : 0);
    const frameTop = ss32New ? i32(sp - n * psz) : (sp - n * psz) & 0xffff;
    // Limit check of the new stack (expand-up).
    const ssLim = descLimit(ssLo, ssHi);
    if (u32(frameTop) > u32(ssLim) || u32(i32((ss32New ? sp : sp & 0xffff) - 1)) > u32(ssLim)) { raise(SSF, (newSS & 0xfffc) + ext); return; }
    let p = ss32New ? sp : sp & 0xffff;
    if (fromV86) {
      p = stackPut(ssBase, p, psz, segSel(GS), ss32New); if (aborted) return;
      p = stackPut(ssBase, p, psz, segSel(FS), ss32New); if (aborted) return;
      p = stackPut(ssBase, p, psz, segSel(DS), ss32New); if (aborted) return;
      p = stackPut(ssBase, p, psz, segSel(ES), ss32New); if (aborted) return;
    }
    p = stackPut(ssBase, p, psz, oldSS, ss32New); if (aborted) return;
    p = stackPut(ssBase, p, psz, oldESP, ss32New); if (aborted) return;
    p = stackPut(ssBase, p, psz, f, ss32New); if (aborted) return;
    p = stackPut(ssBase, p, psz, segSel(CS), ss32New); if (aborted) return;
    p = stackPut(ssBase, p, psz, retEip, ss32New); if (aborted) return;
    if (hasErr) { p = stackPut(ssBase, p, psz, err, ss32New); if (aborted) return; }
    // Commit: SS, ESP, CS, EIP, CPL, flags.
    setSegCache(SS, (newSS & 0xfffc) | dpl, ssBase, ssLim, descAttr(ssHi) | TYPE_ACCESSED);
    if (ss32New) setReg32(ESP, p); else setReg32(ESP, (reg32(ESP) & 0xffff0000) | (p & 0xffff));
    if (fromV86) {
      for (let s = 0; s < 6; s++) if (s != CS && s != SS) setSegCache(s, 0, 0, 0, ATTR_UNUSABLE);
    }
    setCpl(dpl);
    setLastDesc(csLo, csHi, csAddr);
    loadCsChecked(sel, dpl);
  } else {
    // Same privilege (or conforming code): push on the current stack.
    const saveEsp = reg32(ESP);
    push(psz, f); if (aborted) { setReg32(ESP, saveEsp); return; }
    push(psz, segSel(CS)); if (aborted) { setReg32(ESP, saveEsp); return; }
    push(psz, retEip); if (aborted) { setReg32(ESP, saveEsp); return; }
    if (hasErr) { push(psz, err); if (aborted) { setReg32(ESP, saveEsp); return; } }
    setLastDesc(csLo, csHi, csAddr);
    loadCsChecked(sel, cpl);
  }
  let nf = f & ~(TF | NT | RF | VM);
  if (!trap) nf &= ~IF;
  setFlags(nf);
  setEip(gate32 ? offset : offset & 0xffff);
}


// Stack selector/pointer read from the TSS for a privilege level, with the SS descriptor.
export let stackSel: i32 = 0;
export let stackEsp: i32 = 0;
export let ssLo: i32 = 0;
export let ssHi: i32 = 0;

/** Read SSn:ESPn from the current TSS and check the new stack segment (#TS on failure). */
export function loadStackFromTss(dpl: i32, ext: i32): bool {
  const trAttr = segAttr(TR);
  const tss32 = (trAttr & 8) != 0;
  const tssBase = segBase(TR), tssLimit = segLimit(TR);
  const off = tss32 ? dpl * 8 + 4 : dpl * 4 + 2;
  const need = tss32 ? off + 5 : off + 3;
  if (u32(need) > u32(tssLimit)) { raise(TS_, (segSel(TR) & 0xfffc) + ext); return false; }
  let esp: i32, ss: i32;
  if (tss32) { esp = readSys(i32(tssBase + off), 4); if (aborted) return false; ss = readSys(i32(tssBase + off + 4), 2); }
  else { esp = readSys(i32(tssBase + off), 2); if (aborted) return false; ss = readSys(i32(tssBase + off + 2), 2); }
  if (aborted) return false;
  if ((ss & 0xfffc) == 0) { raise(TS_, ext); return false; }
  if ((ss & 3) != dpl) { raise(TS_, (ss & 0xfffc) + ext); return false; }
  if (!readDescriptor(ss, false)) { if (!aborted) raise(TS_, (ss & 0xfffc) + ext); return false; }
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) != 0 || (type & TYPE_WRITABLE) == 0 || attrDpl(attr) != dpl) {
    raise(TS_, (ss & 0xfffc) + ext); return false;
  }
  if ((attr & AR_P) == 0) { raise(SSF, (ss & 0xfffc) + ext); return false; }
  markAccessed();
  if (aborted) return false;
  stackSel = ss; stackEsp = esp; ssLo = descLo; ssHi = descHi;
  return true;
}


/** Store one value below p on a stack with the given base (a stack being switched to); returns the new p. */
export function stackPut(base: i32, p: i32, sz: i32, v: i32, big: bool): i32 {
  const np = big ? i32(p - sz) : (p - sz) & 0xffff;
  writeSys(i32(base + np), sz, v);
  return np;
}

// ---- exceptions: classification and escalation -----------------------------

function isContributory(v: i32): bool { return v == 0 || (v >= 10 && v <= 13); }

/**
 * The SDM's table 6-5: exception `second` raised while delivering `first`.
 * Returns the vector to deliver next — DF_ for a double fault — or -1 for a
 * triple fault (shutdown).
 */
export function combineExceptions(first: i32, second: i32): i32 {
  if (first == DF_) return -1;
  if ((isContributory(first) && isContributory(second)) || (first == PF_ && (second == PF_ || isContributory(second)))) return DF_;
  return second;
}

/** The exception whose delivery is under way (-1: none): an exit in the middle records it (VMX IDT-vectoring information). */
export let deliveringVector: i32 = -1;

/**
 * Deliver the fault recorded in fault.ts, escalating to #DF and triple fault
 * as the SDM's table 6-5 says. EIP has already been reset to the faulting
 * instruction by the caller. Returns false on shutdown, or when delivery
 * exited to the VMM (nothing committed; deliveringVector says what was being delivered).
 */
export function deliverFault(): bool {
  let vector = faultVector, code = faultCode, hasCode = faultHasCode;
  let first = -1;
  for (let attempt = 0; attempt < 3; attempt++) {
    clearAbort();
    deliveringVector = vector;
    deliver(vector, false, 1, hasCode, code, eip);
    if (!aborted) { deliveringVector = -1; return true; }
    // An exit during delivery (a VMM-intercepted exception, an EPT violation): nothing was
    // committed; the VMM runs, then the instruction runs again and faults again.
    if (restart) { clearAbort(); return false; }
    deliveringVector = -1;
    const second = faultVector;
    const secondCode = faultCode, secondHas = faultHasCode;
    const next = combineExceptions(vector, second);
    if (next < 0) break; // fault while delivering #DF: triple fault
    first = vector;
    if (next == DF_) { vector = DF_; code = 0; hasCode = true; }
    else { vector = second; code = secondCode; hasCode = secondHas; }
  }
  clearAbort();
  deliveringVector = -1;
  setHalted(true);
  setExit(EXIT_SHUTDOWN, first, 0, 0);
  return false;
}

/** The VMM took the exit that delivery left with: nothing is being delivered any more. */
export function clearDelivering(): void { deliveringVector = -1; }
/** Put back the delivery an exit interrupted (a nested entry's end, index.ts popEntry). */
export function setDelivering(vector: i32): void { deliveringVector = vector; }
