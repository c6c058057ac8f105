// Hardware task switching (SDM vol. 3, 7.3): JMP/CALL to a TSS or task
// gate, IRET with NT set, and task gates in the IDT — how operating systems
// usually catch #DF on a known-good stack. 16- and 32-bit TSSs.
// Switching to a task whose EFLAGS image has VM set enters virtual-8086 mode.
// Not done: the debug-trap (T) bit of the new TSS.
import {
  eip, setEip, cpl, setCpl, reg32, setReg32, segSel, segBase, segLimit, segAttr, cr0, cr3, setCr0Raw,
  ES, CS, SS, DS, FS, GS, LDTR, TR, NT, VM, CR0_TS, CR0_PG, pagingEnabled,
} from "../state";
import { getFlags, setFlags } from "./flags";
import { readSys, writeSys, ATTR_UNUSABLE } from "./access";
import {
  readDescriptor, descLo, descHi, descAddr, descAttr, attrDpl, descBase, descLimit, setSegCache, loadSegReal,
  AR_P, AR_S, AR_TYPE, TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE, TYPE_WRITABLE, TYPE_ACCESSED,
} from "./segments";
import { commitCr3 } from "./ops/system";
import { cr3LoadAllowed } from "../controls";
import { aborted, raise, GP, NP, SSF, TS_ } from "../fault";

export const TASK_SWITCH_JMP: i32 = 0;
export const TASK_SWITCH_CALL: i32 = 1;
export const TASK_SWITCH_IRET: i32 = 2;
export const TASK_SWITCH_INT: i32 = 3;

/**
 * Switch to the task whose TSS selector is `sel`. `retEip` is the EIP saved
 * in the outgoing TSS; `ext` goes into error codes raised on the way.
 */
// Scratch for the incoming task's registers (preallocated: the stub runtime never frees).
const taskRegs = new StaticArray<i32>(8);
const taskSegs = new StaticArray<i32>(6);

export function taskSwitch(sel: i32, reason: i32, retEip: i32, ext: i32): void {
  sel &= 0xffff;
  // A bad back link (IRET with NT=1) is #TS(link); a bad TSS selector from JMP/CALL or a task
  // gate is #GP(selector) (SDM: IRET "TASK-RETURN", JMP/CALL "TASK-GATE", INT n "TASK-GATE").
  const badSel = reason == TASK_SWITCH_IRET ? TS_ : GP;
  if ((sel & 4) != 0) { raise(badSel, (sel & 0xfffc) + ext); return; } // TSS descriptors live in the GDT
  if (!readDescriptor(sel, false)) { if (!aborted) raise(badSel, (sel & 0xfffc) + ext); return; }
  const nLo = descLo, nHi = descHi, nAddr = descAddr;
  const nAttr = descAttr(nHi);
  const nType = nAttr & AR_TYPE;
  if ((nAttr & AR_S) != 0 || (nType != 1 && nType != 3 && nType != 9 && nType != 11)) { raise(badSel, (sel & 0xfffc) + ext); return; }
  const busy = (nType & 2) != 0;
  if (reason == TASK_SWITCH_IRET ? !busy : busy) { raise(reason == TASK_SWITCH_IRET ? TS_ : GP, (sel & 0xfffc) + ext); return; }
  if ((nAttr & AR_P) == 0) { raise(NP, (sel & 0xfffc) + ext); return; }
  const n32 = (nType & 8) != 0;
  const nBase = descBase(nLo, nHi), nLimit = descLimit(nLo, nHi);
  if (u32(nLimit) < u32(n32 ? 0x67 : 0x2b)) { raise(TS_, (sel & 0xfffc) + ext); return; }

  // Read the whole incoming state first: a fault here leaves the old task untouched.
  let nEip: i32, nFlags: i32, nCr3: i32 = 0, nLdt: i32;
  const nRegs = taskRegs, nSegs = taskSegs;
  if (n32) {
    nCr3 = readSys(i32(nBase + 0x1c), 4); if (aborted) return;
    nEip = readSys(i32(nBase + 0x20), 4); if (aborted) return;
    nFlags = readSys(i32(nBase + 0x24), 4); if (aborted) return;
    for (let i = 0; i < 8; i++) { nRegs[i] = readSys(i32(nBase + 0x28 + i * 4), 4); if (aborted) return; }
    for (let i = 0; i < 6; i++) { nSegs[i] = readSys(i32(nBase + 0x48 + i * 4), 2); if (aborted) return; }
    nLdt = readSys(i32(nBase + 0x60), 2); if (aborted) return;
  } else {
    nEip = readSys(i32(nBase + 0x0e), 2); if (aborted) return;
    nFlags = readSys(i32(nBase + 0x10), 2); if (aborted) return;
    for (let i = 0; i < 8; i++) { nRegs[i] = readSys(i32(nBase + 0x12 + i * 2), 2) | 0xffff0000; if (aborted) return; }
    for (let i = 0; i < 4; i++) { nSegs[i] = readSys(i32(nBase + 0x22 + i * 2), 2); if (aborted) return; }
    nSegs[4] = 0; nSegs[5] = 0;
    nLdt = readSys(i32(nBase + 0x2a), 2); if (aborted) return;
  }

  // A CR3 load the VMM must see (CR3-load exiting, shadow paging) exits before anything is committed.
  if (n32 && pagingEnabled && nCr3 != cr3 && !cr3LoadAllowed(cr3, nCr3)) return;

  // Save the outgoing task.
  const oSel = segSel(TR), oBase = segBase(TR), oAttr = segAttr(TR);
  const o32 = (oAttr & 8) != 0;
  let oFlags = getFlags();
  if (reason == TASK_SWITCH_IRET) oFlags &= ~NT;
  if (o32) {
    writeSys(i32(oBase + 0x20), 4, retEip); if (aborted) return;
    writeSys(i32(oBase + 0x24), 4, oFlags); if (aborted) return;
    for (let i = 0; i < 8; i++) { writeSys(i32(oBase + 0x28 + i * 4), 4, reg32(i)); if (aborted) return; }
    for (let i = 0; i < 6; i++) { writeSys(i32(oBase + 0x48 + i * 4), 2, segSel(i)); if (aborted) return; }
  } else {
    writeSys(i32(oBase + 0x0e), 2, retEip); if (aborted) return;
    writeSys(i32(oBase + 0x10), 2, oFlags); if (aborted) return;
    for (let i = 0; i < 8; i++) { writeSys(i32(oBase + 0x12 + i * 2), 2, reg32(i)); if (aborted) return; }
    for (let i = 0; i < 4; i++) { writeSys(i32(oBase + 0x22 + i * 2), 2, segSel(i)); if (aborted) return; }
  }
  // Busy bits: the old task stops being busy on JMP and IRET; the new one becomes busy unless IRET.
  if (reason == TASK_SWITCH_JMP || reason == TASK_SWITCH_IRET) {
    if (readDescriptor(oSel, false)) writeSys(i32(descAddr + 4), 4, descHi & ~0x200);
    if (aborted) return;
  }
  let newHi = nHi;
  if (reason != TASK_SWITCH_IRET) { newHi |= 0x200; writeSys(i32(nAddr + 4), 4, newHi); if (aborted) return; }
  if (reason == TASK_SWITCH_CALL || reason == TASK_SWITCH_INT) {
    writeSys(nBase, 2, oSel); if (aborted) return;
    nFlags |= NT;
  }

  // Commit: TR, CR0.TS, CR3, registers; then segment descriptors of the new task.
  setSegCache(TR, sel, nBase, nLimit, descAttr(newHi));
  setCr0Raw(cr0 | CR0_TS);
  if (n32 && pagingEnabled && nCr3 != cr3) commitCr3(nCr3);
  // A 16-bit TSS holds 16-bit registers; the upper halves read as ones afterwards, as on
  // real CPUs, QEMU and Bochs (test386.asm POST 22h checks it).
  for (let i = 0; i < 8; i++) setReg32(i, n32 ? nRegs[i] : 0xffff0000 | (nRegs[i] & 0xffff));
  setFlags(nFlags | 2);
  setEip(n32 ? nEip : nEip & 0xffff);
  if ((nFlags & VM) != 0) {
    // A virtual-8086 task: CPL 3, the segment registers loaded as real-mode selectors
    // (base = selector * 16, 64 KiB, DPL 3), the LDT as usual (SDM 7.3 step 12, 20.2.5).
    setCpl(3);
    for (let i = 0; i < 6; i++) loadSegReal(i, nSegs[i]);
    setSegCache(LDTR, nLdt, 0, 0, ATTR_UNUSABLE);
    loadTaskLdt(nLdt, ext);
    return;
  }
  // Selectors are loaded first, descriptors checked after (faults occur in the new task).
  for (let i = 0; i < 6; i++) setSegCache(i, nSegs[i], 0, 0, ATTR_UNUSABLE);
  setSegCache(LDTR, nLdt, 0, 0, ATTR_UNUSABLE);
  const newCpl = nSegs[CS] & 3;
  setCpl(newCpl);
  if (!loadTaskLdt(nLdt, ext)) return;
  if (!loadTaskSeg(CS, nSegs[CS], newCpl, ext)) return;
  if (!loadTaskSeg(SS, nSegs[SS], newCpl, ext)) return;
  for (let s = 0; s < 6; s++) {
    if (s == CS || s == SS) continue;
    if (!loadTaskSeg(s, nSegs[s], newCpl, ext)) return;
  }
}

function loadTaskLdt(sel: i32, ext: i32): bool {
  if ((sel & 0xfffc) == 0) { setSegCache(LDTR, sel, 0, 0, ATTR_UNUSABLE); return true; }
  if ((sel & 4) != 0) { raise(TS_, (sel & 0xfffc) + ext); return false; }
  if (!readDescriptor(sel, false)) { if (!aborted) raise(TS_, (sel & 0xfffc) + ext); return false; }
  const attr = descAttr(descHi);
  if ((attr & AR_S) != 0 || (attr & AR_TYPE) != 2) { raise(TS_, (sel & 0xfffc) + ext); return false; }
  if ((attr & AR_P) == 0) { raise(TS_, (sel & 0xfffc) + ext); return false; }
  setSegCache(LDTR, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr);
  return true;
}

/** Load a segment register of the new task; failures are #TS (or #NP/#SS for not present). */
function loadTaskSeg(seg: i32, sel: i32, newCpl: i32, ext: i32): bool {
  const err = (sel & 0xfffc) + ext;
  if ((sel & 0xfffc) == 0) {
    if (seg == CS || seg == SS) { raise(TS_, err); return false; }
    setSegCache(seg, sel, 0, 0, ATTR_UNUSABLE);
    return true;
  }
  if (!readDescriptor(sel, false)) { if (!aborted) raise(TS_, err); return false; }
  const attr = descAttr(descHi);
  const type = attr & AR_TYPE;
  const dpl = attrDpl(attr);
  const rpl = sel & 3;
  if ((attr & AR_S) == 0) { raise(TS_, err); return false; }
  if (seg == CS) {
    if ((type & TYPE_CODE) == 0) { raise(TS_, err); return false; }
    if ((type & TYPE_CONFORMING) != 0 ? dpl > rpl : dpl != rpl) { raise(TS_, err); return false; }
    if ((attr & AR_P) == 0) { raise(NP, err); return false; }
  } else if (seg == SS) {
    if ((type & TYPE_CODE) != 0 || (type & TYPE_WRITABLE) == 0 || dpl != newCpl || rpl != newCpl) { raise(TS_, err); return false; }
    if ((attr & AR_P) == 0) { raise(SSF, err); return false; }
  } else {
    if ((type & TYPE_CODE) != 0 && (type & TYPE_READABLE) == 0) { raise(TS_, err); return false; }
    const conformingCode = (type & (TYPE_CODE | TYPE_CONFORMING)) == (TYPE_CODE | TYPE_CONFORMING);
    if (!conformingCode && (rpl > dpl || newCpl > dpl)) { raise(TS_, err); return false; }
    if ((attr & AR_P) == 0) { raise(NP, err); return false; }
  }
  if ((descHi & 0x100) == 0) { writeSys(i32(descAddr + 4), 4, descHi | 0x100); if (aborted) return false; }
  setSegCache(seg, sel, descBase(descLo, descHi), descLimit(descLo, descHi), attr | TYPE_ACCESSED);
  return true;
}
