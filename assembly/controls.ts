// The VMM's execution controls, VT-x's VMCS fields in miniature: which guest
// events leave the core as exits instead of taking effect, and the paging
// mode with its roots. The VMM writes them with setControl(field, value)
// (VMWRITE) and reads them with getControl (VMREAD); index.ts exports both.
//
//  - exception bitmap: a guest exception whose bit is set exits
//    (EXIT_EXCEPTION: vector, error code, and the faulting linear address for
//    #PF) instead of vectoring through the guest's IDT. CR2 is not written.
//  - CR0/CR4 guest/host masks: a MOV to CR0/CR4 (or LMSW, CLTS) that would
//    change a masked bit exits before it takes effect (EXIT_CR_WRITE); the
//    VMM answers and the instruction then completes.
//  - CR3-load exiting with a CR3-target list: a CR3 load (MOV, task switch)
//    exits unless the value is in the list; under shadow paging each target
//    names the shadow root for that guest CR3, and loading it switches the
//    walker's root with no exit.
//  - INVLPG exiting (EXIT_INVLPG: the linear address; answered, INVLPG completes).
//  - paging mode (p2m.ts): direct, nested (with its root) or shadow (root, PAE format).
//  - the monitor trap flag: run() executes one instruction (no interrupt is
//    taken first) and exits with EXIT_MONITOR_TRAP; the VMM clears it. Shadow
//    paging uses it to let one guest store reach a write-protected page table.
//    Value 2 is VT-x's own monitor trap flag, which stops a REP string
//    instruction after each iteration (SDM vol. 3C, 25.5.2), EIP still on it:
//    a debugger's single step, as TF steps. Value 1 lets the iterations of one
//    chunk run (string.ts), which the pager wants of "one instruction".
//  (Which trace-logged stores exit at once is per word, not a control: see setSyncWord in index.ts.)
import { CR3_TARGETS, CR3_TARGET_MAX } from "./layout";
import { ld32a, st32a } from "./portable";
import { setExit, armResponse, takeResponse, exitReason, EXIT_NONE, EXIT_CR_WRITE, EXIT_INVLPG } from "./exit";
import { requestRestart, aborted, exceptionBitmap, setExceptionBitmap } from "./fault";
import { setPagingModeRaw, pagingMode, nptRoot, MODE_SHADOW } from "./mmu/p2m";

export const CTL_EXCEPTION_BITMAP: i32 = 0;
export const CTL_CR0_MASK: i32 = 1;
export const CTL_CR4_MASK: i32 = 2;
export const CTL_CR3_EXITING: i32 = 3;
export const CTL_INVLPG_EXITING: i32 = 4;
export const CTL_PAGING_MODE: i32 = 5;
export const CTL_NPT_ROOT: i32 = 6;
export const CTL_SHADOW_ROOT: i32 = 7;
export const CTL_SHADOW_PAE: i32 = 8;
export const CTL_CR3_TARGET_COUNT: i32 = 9;
export const CTL_MONITOR_TRAP: i32 = 10;

let cr0Mask: i32 = 0;
let cr4Mask: i32 = 0;
let cr3Exiting: bool = false;
export let invlpgExiting: bool = false;
/** Shadow paging: the root the walker uses (host-physical), and whether the VMM's tables are in PAE format. */
export let shadowRoot: i32 = 0;
export let shadowPae: bool = false;
let cr3TargetCount: i32 = 0;
export let monitorTrap: bool = false;
/** The monitor trap flag stops after each iteration of a REP string instruction (the control's value 2). */
export let monitorTrapIterations: bool = false;

// Statistics.
export let cr3Loads: f64 = 0;        // CR3 loads that changed the value (MOV, task switch)
export let cr3TargetHits: f64 = 0;   // of them, found in the CR3-target list (no exit)

/**
 * Set a control. Returns true when the change can alter translations, so
 * that the caller (index.ts) flushes the TLB and the fetch window.
 */
export function setControlRaw(field: i32, v: i32): bool {
  switch (field) {
    case CTL_EXCEPTION_BITMAP: setExceptionBitmap(v); return false;
    case CTL_CR0_MASK: cr0Mask = v; return false;
    case CTL_CR4_MASK: cr4Mask = v; return false;
    case CTL_CR3_EXITING: cr3Exiting = v != 0; return false;
    case CTL_INVLPG_EXITING: invlpgExiting = v != 0; return false;
    case CTL_PAGING_MODE: setPagingModeRaw(v, nptRoot); return true;
    case CTL_NPT_ROOT: setPagingModeRaw(pagingMode, v); return true;
    case CTL_SHADOW_ROOT: shadowRoot = v & ~0x1f; return true;
    case CTL_SHADOW_PAE: shadowPae = v != 0; return true;
    case CTL_CR3_TARGET_COUNT: cr3TargetCount = v < 0 ? 0 : v > CR3_TARGET_MAX ? CR3_TARGET_MAX : v; return false;
    case CTL_MONITOR_TRAP: monitorTrap = v != 0; monitorTrapIterations = v == 2; return false;
  }
  return false;
}

/** Every control back to its power-on value (VMCLEAR): nothing intercepted, direct paging. */
export function resetControls(): void {
  for (let f = CTL_EXCEPTION_BITMAP; f <= CTL_MONITOR_TRAP; f++) setControlRaw(f, 0);
  cr3Loads = 0; cr3TargetHits = 0;
}

export function getControl(field: i32): i32 {
  switch (field) {
    case CTL_EXCEPTION_BITMAP: return exceptionBitmap;
    case CTL_CR0_MASK: return cr0Mask;
    case CTL_CR4_MASK: return cr4Mask;
    case CTL_CR3_EXITING: return cr3Exiting ? 1 : 0;
    case CTL_INVLPG_EXITING: return invlpgExiting ? 1 : 0;
    case CTL_PAGING_MODE: return pagingMode;
    case CTL_NPT_ROOT: return nptRoot;
    case CTL_SHADOW_ROOT: return shadowRoot;
    case CTL_SHADOW_PAE: return shadowPae ? 1 : 0;
    case CTL_CR3_TARGET_COUNT: return cr3TargetCount;
    case CTL_MONITOR_TRAP: return monitorTrapIterations ? 2 : monitorTrap ? 1 : 0;
  }
  return 0;
}

/** Entry i of the CR3-target list: the guest CR3 value and (shadow paging) its shadow root. */
export function setCr3Target(i: i32, guestCr3: i32, root: i32): void {
  if (u32(i) >= u32(CR3_TARGET_MAX)) return;
  st32a(CR3_TARGETS + i * 8, guestCr3);
  st32a(CR3_TARGETS + i * 8 + 4, root);
}
export function cr3TargetValue(i: i32): i32 { return ld32a(CR3_TARGETS + (i & (CR3_TARGET_MAX - 1)) * 8); }

export function exceptionExits(vector: i32): bool { return ((exceptionBitmap >>> vector) & 1) != 0; }

/**
 * A CR0 (cr = 0) or CR4 (cr = 4) write of `v` over `old`: true if it may take
 * effect now; false after raising EXIT_CR_WRITE (the instruction restarts and
 * completes once the VMM has answered).
 */
export function crWriteAllowed(cr: i32, old: i32, v: i32): bool {
  const mask = cr == 0 ? cr0Mask : cr4Mask;
  if (((old ^ v) & mask) == 0) return true;
  return crExit(cr, v);
}

/**
 * A CR3 load of `v` (from `old`): true if it may take effect now (switching
 * the shadow root when the target list names one); false after an exit.
 */
export function cr3LoadAllowed(old: i32, v: i32): bool {
  if (v != old) cr3Loads += 1;
  if (!cr3Exiting || takeResponse(EXIT_CR_WRITE, 3, v)) return true; // (answered: the VMM set the root itself)
  for (let i = 0; i < cr3TargetCount; i++) {
    if (ld32a(CR3_TARGETS + i * 8) == v) {
      if (v != old) cr3TargetHits += 1;
      if (pagingMode == MODE_SHADOW) shadowRoot = ld32a(CR3_TARGETS + i * 8 + 4) & ~0x1f;
      return true;
    }
  }
  if (crExit(3, v)) return true;
  if (v != old) cr3Loads -= 1; // counted again when the instruction completes
  return false;
}

/** INVLPG of `lin`: true if it may take effect now; false after EXIT_INVLPG (answered, it completes). */
export function invlpgAllowed(lin: i32): bool {
  if (!invlpgExiting || takeResponse(EXIT_INVLPG, lin, 0)) return true;
  if (aborted) return false;
  if (exitReason != EXIT_NONE) { requestRestart(); return false; }
  setExit(EXIT_INVLPG, lin, 0, 0);
  armResponse(EXIT_INVLPG, lin, 0);
  requestRestart();
  return false;
}

function crExit(cr: i32, v: i32): bool {
  if (takeResponse(EXIT_CR_WRITE, cr, v)) return true;
  if (aborted) return false;
  if (exitReason != EXIT_NONE) { requestRestart(); return false; }
  setExit(EXIT_CR_WRITE, cr, 4, v);
  armResponse(EXIT_CR_WRITE, cr, v);
  requestRestart();
  return false;
}
