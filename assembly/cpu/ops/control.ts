// Far control transfers: JMP/CALL far (direct, through call gates, to
// tasks), RET far to the same or an outer privilege level, and IRET, in
// real and protected mode.
import {
  protectedMode, cpl, setCpl, eip, setEip, reg32, setReg32, ESP, segSel, segLimit, CS, SS, DS, ES, FS, GS,
  ss32, flagsRaw, VM, segBase, TR, NT, IOPL, IF, TF, RF, AC, ID, VIF, VIP, ARITH_FLAGS, DF, setSs32, setNmiBlocked,
} from "../../state";
import { getFlags, setFlags } from "../flags";
import { readV, writeSys, readSys, push, pop, spPlus, getSP, setSP, segCheck } from "../access";
import {
  readDescriptor, descLo, descHi, descAddr, setLastDesc, descAttr, attrDpl, loadCsChecked, loadSegReal, setSegCache,
  descBase, descLimit, nullInaccessibleSegments, markAccessed, loadSeg,
  AR_P, AR_S, AR_TYPE, AR_DB, TYPE_CODE, TYPE_CONFORMING, TYPE_WRITABLE, TYPE_ACCESSED,
} from "../segments";
import { loadStackFromTss, stackSel, stackEsp, ssLo, ssHi, stackPut } from "../interrupts";
import { taskSwitch, TASK_SWITCH_JMP, TASK_SWITCH_CALL, TASK_SWITCH_IRET } from "../task";
import { aborted, raise, GP, NP, SSF, TS_ } from "../../fault";
import { setExit, setExitField, EXIT_UNIMPLEMENTED, X_DETAIL } from "../../exit";
import { requestRestart } from "../../fault";

function unimplemented(detail: i32): void {
  setExit(EXIT_UNIMPLEMENTED, 0, 0, 0);
  setExitField(X_DETAIL, detail);
  requestRestart();
}

/** Set EIP for a near transfer, checking the CS limit (#GP(0)). */
export function jumpNear(target: i32, sz: i32): void {
  const t = sz == 2 ? target & 0xffff : target;
  if (protectedMode && u32(t) > u32(segLimit(CS))) { raise(GP, 0); return; }
  setEip(t);
}

/** CALL near: push the return EIP, then jump (the limit is checked before the push). */
export function callNear(target: i32, sz: i32): void {
  const t = sz == 2 ? target & 0xffff : target;
  if (protectedMode && u32(t) > u32(segLimit(CS))) { raise(GP, 0); return; }
  push(sz, eip); if (aborted) return;
  setEip(t);
}

/** RET near [imm16]. */
export function retNear(sz: i32, imm: i32): void {
  const v = readV(SS, getSP(), sz); if (aborted) return;
  const t = sz == 2 ? v & 0xffff : v;
  if (protectedMode && u32(t) > u32(segLimit(CS))) { raise(GP, 0); return; }
  setSP(spPlus(sz + imm));
  setEip(t);
}

/** Check a code-segment descriptor as the target of a direct far JMP/CALL. */
function checkDirectCode(sel: i32): bool {
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  if ((attr & AR_TYPE & TYPE_CONFORMING) != 0) { if (dpl > cpl) { raise(GP, sel & 0xfffc); return false; } }
  else if ((sel & 3) > cpl || dpl != cpl) { raise(GP, sel & 0xfffc); return false; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return false; }
  return true;
}

/** JMP far (call=false) or CALL far to sel:offset with operand size sz. */
export function farTransfer(sel: i32, offset: i32, sz: i32, call: bool, retEip: i32): void {
  sel &= 0xffff;
  if (!protectedMode || (flagsRaw & VM) != 0) {
    if (call) {
      const sp0 = reg32(ESP);
      push(sz, segSel(CS)); if (aborted) return;
      push(sz, retEip); if (aborted) { setReg32(ESP, sp0); return; }
    }
    loadSegReal(CS, sel);
    setEip(sz == 2 ? offset & 0xffff : offset);
    return;
  }
  if ((sel & 0xfffc) == 0) { raise(GP, 0); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  if ((attr & AR_S) != 0) {
    if ((attr & AR_TYPE & TYPE_CODE) == 0) { raise(GP, sel & 0xfffc); return; }
    if (!checkDirectCode(sel)) return;
    const limit = descLimit(descLo, descHi);
    const target = sz == 2 ? offset & 0xffff : offset;
    if (u32(target) > u32(limit)) { raise(GP, 0); return; }
    markAccessed(); if (aborted) return; // (before any commit: see interrupts.ts)
    if (call) {
      const lo = descLo, hi = descHi, addr = descAddr;
      const sp0 = reg32(ESP);
      push(sz, segSel(CS)); if (aborted) return;
      push(sz, retEip); if (aborted) { setReg32(ESP, sp0); return; }
      setLastDesc(lo, hi, addr);
    }
    loadCsChecked(sel, cpl);
    setEip(target);
    return;
  }
  const type = attr & AR_TYPE;
  const dpl = attrDpl(attr);
  switch (type) {
    case 1: case 9: // available TSS
      if (dpl < cpl || dpl < (sel & 3)) { raise(GP, sel & 0xfffc); return; }
      if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
      taskSwitch(sel, call ? TASK_SWITCH_CALL : TASK_SWITCH_JMP, retEip, 0);
      return;
    case 5: { // task gate
      if (dpl < cpl || dpl < (sel & 3)) { raise(GP, sel & 0xfffc); return; }
      if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
      taskSwitch(descLo >>> 16, call ? TASK_SWITCH_CALL : TASK_SWITCH_JMP, retEip, 0);
      return;
    }
    case 4: case 12: { callGate(sel, type == 12, call, retEip); return; }
    default: raise(GP, sel & 0xfffc); return;
  }
}

function callGate(gateSel: i32, gate32: bool, call: bool, retEip: i32): void {
  const gattr = descAttr(descHi);
  const gdpl = attrDpl(gattr);
  if (gdpl < cpl || gdpl < (gateSel & 3)) { raise(GP, gateSel & 0xfffc); return; }
  if ((gattr & AR_P) == 0) { raise(NP, gateSel & 0xfffc); return; }
  const gLo = descLo, gHi = descHi;
  const sel = gLo >>> 16;
  const offset = gate32 ? (gLo & 0xffff) | (gHi & 0xffff0000) : gLo & 0xffff;
  const paramCount = gHi & 0x1f;
  if ((sel & 0xfffc) == 0) { raise(GP, 0); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  const dpl = attrDpl(attr);
  const type = attr & AR_TYPE;
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) == 0 || dpl > cpl) { raise(GP, sel & 0xfffc); return; }
  if (!call && (type & TYPE_CONFORMING) == 0 && dpl != cpl) { raise(GP, sel & 0xfffc); return; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
  markAccessed(); if (aborted) return; // (before any commit: see interrupts.ts)
  const csLo = descLo, csHi = descHi, csAddr = descAddr;
  const limit = descLimit(csLo, csHi);
  const target = gate32 ? offset : offset & 0xffff;
  const psz = gate32 ? 4 : 2;
  if (call && (type & TYPE_CONFORMING) == 0 && dpl < cpl) {
    // More privileged: switch to the stack for the new CPL and copy parameters.
    const oldSS = segSel(SS), oldESP = reg32(ESP), oldSs32 = ss32;
    if (!loadStackFromTss(dpl, 0)) return;
    const newBase = descBase(ssLo, ssHi), newLimit = descLimit(ssLo, ssHi);
    const newAttr = descAttr(ssHi) | TYPE_ACCESSED;
    const big = (newAttr & AR_DB) != 0;
    if (u32(target) > u32(limit)) { raise(GP, 0); return; }
    let sp = big ? stackEsp : stackEsp & 0xffff;
    const frame = (4 + paramCount) * psz;
    const low = big ? i32(sp - frame) : (sp - frame) & 0xffff;
    if (u32(low) > u32(newLimit)) { raise(SSF, stackSel & 0xfffc); return; }
    sp = stackPut(newBase, sp, psz, oldSS, big); if (aborted) return;
    sp = stackPut(newBase, sp, psz, oldESP, big); if (aborted) return;
    const oldBase = segBase(SS);
    for (let i = paramCount - 1; i >= 0; i--) {
      const off = oldSs32 ? i32(oldESP + i * psz) : (oldESP + i * psz) & 0xffff;
      const v = readSys(i32(oldBase + off), psz); if (aborted) return;
      sp = stackPut(newBase, sp, psz, v, big); if (aborted) return;
    }
    sp = stackPut(newBase, sp, psz, segSel(CS), big); if (aborted) return;
    sp = stackPut(newBase, sp, psz, retEip, big); if (aborted) return;
    setSegCache(SS, (stackSel & 0xfffc) | dpl, newBase, newLimit, newAttr);
    if (big) setReg32(ESP, sp); else setReg32(ESP, (reg32(ESP) & 0xffff0000) | sp);
    setCpl(dpl);
    setLastDesc(csLo, csHi, csAddr);
    loadCsChecked(sel, dpl);
    setEip(target);
    return;
  }
  if (u32(target) > u32(limit)) { raise(GP, 0); return; }
  if (call) {
    const sp0 = reg32(ESP);
    push(psz, segSel(CS)); if (aborted) return;
    push(psz, retEip); if (aborted) { setReg32(ESP, sp0); return; }
  }
  const newCpl = (type & TYPE_CONFORMING) != 0 ? cpl : dpl;
  setLastDesc(csLo, csHi, csAddr);
  loadCsChecked(sel, newCpl);
  setEip(target);
}



/** RET far [imm16]. */
export function farReturn(sz: i32, imm: i32): void {
  if (!protectedMode || (flagsRaw & VM) != 0) {
    const ip = readV(SS, getSP(), sz); if (aborted) return;
    const cs = readV(SS, spPlus(sz), sz); if (aborted) return;
    setSP(spPlus(sz * 2 + imm));
    loadSegReal(CS, cs & 0xffff);
    setEip(sz == 2 ? ip & 0xffff : ip);
    return;
  }
  const ip = readV(SS, getSP(), sz); if (aborted) return;
  const sel = readV(SS, spPlus(sz), sz) & 0xffff; if (aborted) return;
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) { raise(GP, 0); return; }
  if (rpl < cpl) { raise(GP, sel & 0xfffc); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  const dpl = attrDpl(attr);
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) == 0) { raise(GP, sel & 0xfffc); return; }
  if ((type & TYPE_CONFORMING) != 0 ? dpl > rpl : dpl != rpl) { raise(GP, sel & 0xfffc); return; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
  markAccessed(); if (aborted) return; // (before any commit: see interrupts.ts)
  const csLo = descLo, csHi = descHi, csAddr = descAddr;
  const target = sz == 2 ? ip & 0xffff : ip;
  if (rpl == cpl) {
    if (u32(target) > u32(descLimit(csLo, csHi))) { raise(GP, 0); return; }
    setSP(spPlus(sz * 2 + imm));
    loadCsChecked(sel, cpl);
    setEip(target);
    return;
  }
  // Return to an outer privilege level: SS:ESP follow on the stack.
  const newEsp = readV(SS, spPlus(sz * 2 + imm), sz); if (aborted) return;
  const newSS = readV(SS, spPlus(sz * 3 + imm), sz) & 0xffff; if (aborted) return;
  if (!checkOuterStack(newSS, rpl)) return;
  const sLo = descLo, sHi = descHi;
  if (u32(target) > u32(descLimit(csLo, csHi))) { raise(GP, 0); return; }
  enterOuterRing(sel, rpl, csLo, csHi, csAddr, newSS, sLo, sHi, i32((sz == 2 ? newEsp & 0xffff : newEsp) + imm), target);
}

/**
 * Commit a RET far / IRET to the outer privilege level rpl, all checks done:
 * CS from its (saved) descriptor, SS:ESP from the popped values, CPL, EIP, and
 * the data segments the new CPL may not use become null.
 */
function enterOuterRing(sel: i32, rpl: i32, csLo: i32, csHi: i32, csAddr: i32, newSS: i32, sLo: i32, sHi: i32, esp: i32, target: i32): void {
  setLastDesc(csLo, csHi, csAddr);
  loadCsChecked(sel, rpl);
  setCpl(rpl);
  setSegCache(SS, newSS, descBase(sLo, sHi), descLimit(sLo, sHi), descAttr(sHi) | TYPE_ACCESSED);
  if (ss32) setReg32(ESP, esp); else setReg32(ESP, (reg32(ESP) & 0xffff0000) | (esp & 0xffff));
  setEip(target);
  nullInaccessibleSegments(rpl, ES); nullInaccessibleSegments(rpl, DS);
  nullInaccessibleSegments(rpl, FS); nullInaccessibleSegments(rpl, GS);
}

/** Check the SS selector popped for a return to privilege level rpl; leaves its descriptor read. */
function checkOuterStack(ss: i32, rpl: i32): bool {
  if ((ss & 0xfffc) == 0) { raise(GP, 0); return false; }
  if ((ss & 3) != rpl) { raise(GP, ss & 0xfffc); return false; }
  if (!readDescriptor(ss, true)) return false;
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) != 0 || (type & TYPE_WRITABLE) == 0 || attrDpl(attr) != rpl) {
    raise(GP, ss & 0xfffc); return false;
  }
  if ((attr & AR_P) == 0) { raise(SSF, ss & 0xfffc); return false; }
  markAccessed();
  return !aborted;
}

/** Which EFLAGS bits POPF/IRET may change at the current CPL and IOPL. */
export function writableFlags(sz: i32): i32 {
  let m = ARITH_FLAGS | TF | DF | NT;
  if (sz == 4) m |= AC | ID;
  if (!protectedMode || cpl == 0) m |= IOPL;
  if (!protectedMode || cpl <= ((flagsRaw & IOPL) >> 12)) m |= IF;
  return sz == 2 ? m & 0xffff : m;
}

/** IRET / IRETD. */
export function iret(sz: i32): void {
  setNmiBlocked(false); // IRET ends NMI blocking, even when it faults (SDM vol. 3, 6.7.1)
  const v86 = (flagsRaw & VM) != 0;
  // In virtual-8086 mode IRET is IOPL-sensitive (no VME); at IOPL 3 it behaves as in real mode.
  if (v86 && (flagsRaw & IOPL) != IOPL) { raise(GP, 0); return; }
  if (!protectedMode || v86) {
    const ip = readV(SS, getSP(), sz); if (aborted) return;
    const cs = readV(SS, spPlus(sz), sz); if (aborted) return;
    const fl = readV(SS, spPlus(sz * 2), sz); if (aborted) return;
    setSP(spPlus(sz * 3));
    loadSegReal(CS, cs & 0xffff);
    setEip(sz == 2 ? ip & 0xffff : ip);
    const m = writableFlags(sz) | RF;
    setFlags((getFlags() & ~m) | (fl & m));
    return;
  }
  if ((flagsRaw & NT) != 0) {
    // Return from a nested task: the back link is the first word of the TSS.
    const link = readSys(segBase(TR), 2); if (aborted) return;
    taskSwitch(link, TASK_SWITCH_IRET, eip, 0);
    return;
  }
  const ip = readV(SS, getSP(), sz); if (aborted) return;
  const sel = readV(SS, spPlus(sz), sz) & 0xffff; if (aborted) return;
  const fl = readV(SS, spPlus(sz * 2), sz); if (aborted) return;
  if (sz == 4 && (fl & VM) != 0 && cpl == 0) { iretToV86(ip, sel, fl); return; }
  const rpl = sel & 3;
  if ((sel & 0xfffc) == 0) { raise(GP, 0); return; }
  if (rpl < cpl) { raise(GP, sel & 0xfffc); return; }
  if (!readDescriptor(sel, true)) return;
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  const dpl = attrDpl(attr);
  if ((attr & AR_S) == 0 || (type & TYPE_CODE) == 0) { raise(GP, sel & 0xfffc); return; }
  if ((type & TYPE_CONFORMING) != 0 ? dpl > rpl : dpl != rpl) { raise(GP, sel & 0xfffc); return; }
  if ((attr & AR_P) == 0) { raise(NP, sel & 0xfffc); return; }
  markAccessed(); if (aborted) return; // (before any commit: see interrupts.ts)
  const csLo = descLo, csHi = descHi, csAddr = descAddr;
  const target = sz == 2 ? ip & 0xffff : ip;
  const m = writableFlags(sz) | RF;
  if (rpl == cpl) {
    if (u32(target) > u32(descLimit(csLo, csHi))) { raise(GP, 0); return; }
    setSP(spPlus(sz * 3));
    loadCsChecked(sel, cpl);
    setEip(target);
    setFlags((getFlags() & ~m) | (fl & m));
    return;
  }
  const newEsp = readV(SS, spPlus(sz * 3), sz); if (aborted) return;
  const newSS = readV(SS, spPlus(sz * 4), sz) & 0xffff; if (aborted) return;
  if (!checkOuterStack(newSS, rpl)) return;
  const sLo = descLo, sHi = descHi;
  if (u32(target) > u32(descLimit(csLo, csHi))) { raise(GP, 0); return; }
  // Flags are written with the privilege of the IRET (the old CPL).
  setFlags((getFlags() & ~m) | (fl & m));
  enterOuterRing(sel, rpl, csLo, csHi, csAddr, newSS, sLo, sHi, newEsp, target);
}

/** IRETD from ring 0 with VM set in the popped EFLAGS: enter virtual-8086 mode. */
function iretToV86(ip: i32, cs: i32, fl: i32): void {
  // The frame continues with ESP, SS, ES, DS, FS, GS (32 bits each).
  const esp = readV(SS, spPlus(12), 4); if (aborted) return;
  const ss = readV(SS, spPlus(16), 4); if (aborted) return;
  const es = readV(SS, spPlus(20), 4); if (aborted) return;
  const ds = readV(SS, spPlus(24), 4); if (aborted) return;
  const fs = readV(SS, spPlus(28), 4); if (aborted) return;
  const gs = readV(SS, spPlus(32), 4); if (aborted) return;
  setFlags(fl | 2);
  setCpl(3);
  loadSegReal(CS, cs & 0xffff);
  loadSegReal(SS, ss & 0xffff);
  loadSegReal(ES, es & 0xffff);
  loadSegReal(DS, ds & 0xffff);
  loadSegReal(FS, fs & 0xffff);
  loadSegReal(GS, gs & 0xffff);
  setReg32(ESP, esp);
  setEip(ip & 0xffff);
}
