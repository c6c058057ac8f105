/**
 * The full architectural CPU state as plain data, for the bare-machine API
 * (conformance harnesses) and for debuggers: read it, change it, write it.
 *
 * @module
 */
import type { CoreExports } from "../engine/core.js";

/** A segment register with its hidden descriptor cache. `attr` uses the VMX access-rights format (type, S, DPL, P in bits 0-7; AVL, L, D/B, G in bits 12-15; bit 16 = unusable). */
export interface SegmentState { selector: number; base: number; limit: number; attr: number }
export interface TableRegister { base: number; limit: number }

export const GPR_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export const SEG_NAMES = ["es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr"] as const;
export type GprName = (typeof GPR_NAMES)[number];
export type SegName = (typeof SEG_NAMES)[number];

export type CpuState = Record<GprName, number> & Record<SegName, SegmentState> & {
  eip: number;
  eflags: number;
  cr0: number; cr2: number; cr3: number; cr4: number;
  efer: number;
  gdtr: TableRegister;
  idtr: TableRegister;
  /** Current privilege level (normally CS.RPL; kept separately as the CPU does). */
  cpl: number;
  halted: boolean;
};

/** Access-rights values for common segments (VMX format). */
export const Attr = {
  /** Real-mode data segment: present, read/write, accessed. */
  realData: 0x93,
  /** Real-mode code segment as after reset: present, read/write, accessed (SDM vol. 3, 9.1.1). */
  realCode: 0x93,
  /** Flat 32-bit ring-0 code: D=1, G=1. */
  flatCode32: 0xc09b,
  /** Flat 32-bit ring-0 data: B=1, G=1. */
  flatData32: 0xc093,
  unusable: 0x10000,
} as const;

export function readCpuState(core: CoreExports, view: DataView): CpuState {
  const regs = core.regsBase();
  const s: Partial<CpuState> = {};
  GPR_NAMES.forEach((n, i) => { s[n] = view.getUint32(regs + 4 * i, true); });
  SEG_NAMES.forEach((n, i) => {
    s[n] = { selector: core.getSegSel(i) & 0xffff, base: core.getSegBase(i) >>> 0, limit: core.getSegLimit(i) >>> 0, attr: core.getSegAttr(i) >>> 0 };
  });
  s.eip = core.getEip() >>> 0;
  s.eflags = core.getEflags() >>> 0;
  s.cr0 = core.getCr(0) >>> 0; s.cr2 = core.getCr(2) >>> 0; s.cr3 = core.getCr(3) >>> 0; s.cr4 = core.getCr(4) >>> 0;
  s.efer = core.getEfer() >>> 0;
  s.gdtr = { base: core.getGdtrBase() >>> 0, limit: core.getGdtrLimit() & 0xffff };
  s.idtr = { base: core.getIdtrBase() >>> 0, limit: core.getIdtrLimit() & 0xffff };
  s.cpl = core.getCpl();
  s.halted = Boolean(core.isHalted()); // the Wasm engine returns 0/1
  return s as CpuState;
}

/** Write any subset of the state; unspecified fields keep their values. */
export function writeCpuState(core: CoreExports, view: DataView, st: Partial<CpuState>): void {
  const regs = core.regsBase();
  GPR_NAMES.forEach((n, i) => { const v = st[n]; if (v !== undefined) view.setUint32(regs + 4 * i, v >>> 0, true); });
  // Control registers first: they decide how segments and EIP are interpreted.
  if (st.cr0 !== undefined) core.setCr(0, st.cr0 | 0);
  if (st.cr2 !== undefined) core.setCr(2, st.cr2 | 0);
  if (st.cr3 !== undefined) core.setCr(3, st.cr3 | 0);
  if (st.cr4 !== undefined) core.setCr(4, st.cr4 | 0);
  if (st.efer !== undefined) core.setEferReg(st.efer | 0);
  if (st.gdtr) core.setGdtrReg(st.gdtr.base | 0, st.gdtr.limit);
  if (st.idtr) core.setIdtrReg(st.idtr.base | 0, st.idtr.limit);
  SEG_NAMES.forEach((n, i) => {
    const v = st[n];
    if (v) core.setSeg(i, v.selector & 0xffff, v.base | 0, v.limit | 0, v.attr | 0);
  });
  if (st.cpl !== undefined) core.setCplReg(st.cpl);
  else if (st.cs) core.setCplReg((core.getCr(0) & 1) !== 0 ? st.cs.selector & 3 : 0);
  if (st.eflags !== undefined) core.setEflags(st.eflags | 0);
  if (st.eip !== undefined) core.setEipReg(st.eip | 0);
  if (st.halted !== undefined) core.setHaltedState(st.halted);
}

/** The default operand and address size of the code the vCPU runs: 16 in real and virtual-8086 mode and under a 16-bit code segment (CS.D clear). */
export function codeSize(st: CpuState): 16 | 32 {
  const protectedMode = (st.cr0 & 1) !== 0 && (st.eflags & (1 << 17)) === 0;
  return protectedMode && (st.cs.attr & (1 << 14)) !== 0 ? 32 : 16;
}

/** A real-mode segment register for a selector (base = selector × 16, 64 KiB limit). */
export function realSegment(selector: number, code = false): SegmentState {
  return { selector: selector & 0xffff, base: (selector & 0xffff) << 4, limit: 0xffff, attr: code ? Attr.realCode : Attr.realData };
}
