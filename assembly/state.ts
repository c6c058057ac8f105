// Architectural CPU state. General registers and segment registers live in
// core memory (layout.ts) because instructions index them by number; the
// rest are module globals (Wasm globals / JS module variables).
import { REGS, SEG_SEL, SEG_BASE, SEG_LIMIT, SEG_ATTR, SEG_LO, SEG_HI } from "./layout";
import { ld8, st8, ld16, st16, ld32a, st32a } from "./portable";
import { TLB_NO_USER, TLB_USER_PAGE } from "./mmu/tlb";

export const EAX: i32 = 0; export const ECX: i32 = 1; export const EDX: i32 = 2; export const EBX: i32 = 3;
export const ESP: i32 = 4; export const EBP: i32 = 5; export const ESI: i32 = 6; export const EDI: i32 = 7;

export const ES: i32 = 0; export const CS: i32 = 1; export const SS: i32 = 2; export const DS: i32 = 3;
export const FS: i32 = 4; export const GS: i32 = 5; export const LDTR: i32 = 6; export const TR: i32 = 7;

// EFLAGS bits
export const CF: i32 = 1 << 0;
export const PF: i32 = 1 << 2;
export const AF: i32 = 1 << 4;
export const ZF: i32 = 1 << 6;
export const SF: i32 = 1 << 7;
export const TF: i32 = 1 << 8;
export const IF: i32 = 1 << 9;
export const DF: i32 = 1 << 10;
export const OF: i32 = 1 << 11;
export const IOPL: i32 = 3 << 12;
export const NT: i32 = 1 << 14;
export const RF: i32 = 1 << 16;
export const VM: i32 = 1 << 17;
export const AC: i32 = 1 << 18;
export const VIF: i32 = 1 << 19;
export const VIP: i32 = 1 << 20;
export const ID: i32 = 1 << 21;
export const ARITH_FLAGS: i32 = CF | PF | AF | ZF | SF | OF;

// CR0 bits
export const CR0_PE: i32 = 1;
export const CR0_MP: i32 = 2;
export const CR0_EM: i32 = 4;
export const CR0_TS: i32 = 8;
export const CR0_ET: i32 = 16;
export const CR0_NE: i32 = 32;
export const CR0_WP: i32 = 1 << 16;
export const CR0_AM: i32 = 1 << 18;
export const CR0_NW: i32 = 1 << 29;
export const CR0_CD: i32 = 1 << 30;
export const CR0_PG: i32 = 1 << 31;
// CR4 bits
export const CR4_VME: i32 = 1;
export const CR4_PVI: i32 = 2;
export const CR4_TSD: i32 = 4;
export const CR4_DE: i32 = 8;
export const CR4_PSE: i32 = 16;
export const CR4_PAE: i32 = 32;
export const CR4_PGE: i32 = 128;
export const CR4_OSFXSR: i32 = 512;
export const CR4_OSXMMEXCPT: i32 = 1024;
/** Supervisor-mode execution prevention (SDM Vol. 3 4.6): only with smepSupported. */
export const CR4_SMEP: i32 = 1 << 20;
/** Supervisor-mode access prevention (SDM Vol. 3 4.6): only with smapSupported. */
export const CR4_SMAP: i32 = 1 << 21;

export let eip: i32 = 0;
/** EIP of the instruction being executed (faults restart here). */
export let instrEip: i32 = 0;
/** EFLAGS with the arithmetic flags possibly stale: see flags.ts. */
export let flagsRaw: i32 = 2;
export let cpl: i32 = 0;
export let cr0: i32 = 0x60000010;
export let cr2: i32 = 0;
export let cr3: i32 = 0;
export let cr4: i32 = 0;
export let efer: i32 = 0;
export let gdtrBase: i32 = 0;
export let gdtrLimit: i32 = 0xffff;
export let idtrBase: i32 = 0;
export let idtrLimit: i32 = 0xffff;
/** CS.D: default operand and address size of the code segment is 32-bit. */
export let cs32: bool = false;
/** SS.B: the stack pointer is ESP (else SP). */
export let ss32: bool = false;
export let protectedMode: bool = false;
export let pagingEnabled: bool = false;
export let halted: bool = false;
/** Interrupts are inhibited for one instruction after STI, MOV SS and POP SS. */
export let irqShadow: bool = false;
export let a20Mask: i32 = -1;
export let sysenterCs: i32 = 0;
export let sysenterEsp: i32 = 0;
export let sysenterEip: i32 = 0;
export let tscOffset: f64 = 0;
/** An NMI is waiting for delivery (the VMM injected it: LAPIC NMI IPI, LINT1). */
export let nmiPending: bool = false;
/** NMIs are blocked from an NMI's delivery until the next IRET (SDM vol. 3, 6.7.1). */
export let nmiBlocked: bool = false;
export function setNmiPending(v: bool): void { nmiPending = v; }
export function setNmiBlocked(v: bool): void { nmiBlocked = v; }
/** Instructions retired since reset (exact up to 2^53). */
export let retired: f64 = 0;

// Setters for the globals (AssemblyScript exports only functions across modules cleanly).
export function setEip(v: i32): void { eip = v; }
export function setInstrEip(v: i32): void { instrEip = v; mmioReadsAnswered = 0; }
/** MMIO reads the current instruction has had answered (memory.ts); each instruction starts with none. */
export let mmioReadsAnswered: i32 = 0;
export function setMmioReadsAnswered(v: i32): void { mmioReadsAnswered = v; }
export function setFlagsRaw(v: i32): void { flagsRaw = v; }
export function setCpl(v: i32): void { cpl = v; updateCplUserMask(); }
/**
 * The TLB flag that sends this CPL's explicit accesses to the slow path: TLB_NO_USER at CPL 3; at CPL 0-2,
 * TLB_USER_PAGE while CR4.SMAP or CR4.SMEP is set (the slow path applies them), else 0.
 */
export let cplUserMask: i32 = 0;
/** The same for implicit supervisor accesses (descriptor tables, TSS, IDT), at any CPL: only SMAP concerns them. */
export let implicitDenyMask: i32 = 0;
function updateCplUserMask(): void {
  implicitDenyMask = (cr4 & CR4_SMAP) != 0 ? TLB_USER_PAGE : 0;
  cplUserMask = cpl == 3 ? TLB_NO_USER : (cr4 & (CR4_SMAP | CR4_SMEP)) != 0 ? TLB_USER_PAGE : 0;
}
/** CPUID advertises SMAP and CR4.SMAP may be set (a VMM choice: PcOptions.smap, the CLI's --smap). */
export let smapSupported: bool = false;
export function setSmapSupported(v: bool): void { smapSupported = v; }
/** CPUID advertises SMEP and CR4.SMEP may be set (PcOptions.smep, --smep). */
export let smepSupported: bool = false;
export function setSmepSupported(v: bool): void { smepSupported = v; }
/**
 * Segments whose accesses need no limit or type check — limit 4 GiB,
 * readable (bit s) / writable (bit 8 + s) — and those whose base is 0 (bit
 * 16 + s), kept by cpu/segments.ts for the region compiler's inline memory
 * accesses (jit/memory.ts): linear = offset (+ the base when it is not 0).
 */
export let flatSegs: i32 = 0;
export function setFlatSegs(v: i32): void { flatSegs = v; }
export function setCr0Raw(v: i32): void { cr0 = v; protectedMode = (v & CR0_PE) != 0; pagingEnabled = (v & CR0_PG) != 0 && protectedMode; }
export function setCr2(v: i32): void { cr2 = v; }
export function setCr3Raw(v: i32): void { cr3 = v; }
export function setCr4Raw(v: i32): void { cr4 = v; updateCplUserMask(); }
export function setEfer(v: i32): void { efer = v; }
export function setGdtr(base: i32, limit: i32): void { gdtrBase = base; gdtrLimit = limit; }
export function setIdtr(base: i32, limit: i32): void { idtrBase = base; idtrLimit = limit; }
export function setCs32(v: bool): void { cs32 = v; }
export function setSs32(v: bool): void { ss32 = v; }
export function setHalted(v: bool): void { halted = v; }
export function setIrqShadow(v: bool): void { irqShadow = v; }
export function setA20(enabled: bool): void { a20Mask = enabled ? -1 : ~(1 << 20); }
export function setSysenter(cs: i32, esp: i32, eip_: i32): void { sysenterCs = cs; sysenterEsp = esp; sysenterEip = eip_; }
export function setSysenterCs(v: i32): void { sysenterCs = v; }
export function setSysenterEsp(v: i32): void { sysenterEsp = v; }
export function setSysenterEip(v: i32): void { sysenterEip = v; }
export function setTscOffset(v: f64): void { tscOffset = v; }
export function addRetired(n: i32): void { retired += f64(n); }
/**
 * Instructions retired in the current run() before the one executing now (run()
 * adds them to `retired` only when it returns): what RDTSC must count, so that
 * the TSC a guest reads is the same wherever exits split its run.
 */
export let retiredInRun: i32 = 0;
export function setRetiredInRun(n: i32): void { retiredInRun = n; }
export function setRetired(v: f64): void { retired = v; }

// General registers by number.
export function reg32(r: i32): i32 { return ld32a(REGS + (r << 2)); }
export function setReg32(r: i32, v: i32): void { st32a(REGS + (r << 2), v); }
export function reg16(r: i32): i32 { return ld16(REGS + (r << 2)); }
export function setReg16(r: i32, v: i32): void { st16(REGS + (r << 2), v); }
/** 8-bit registers: 0-3 = AL CL DL BL, 4-7 = AH CH DH BH. */
export function reg8(r: i32): i32 { return ld8(REGS + ((r & 3) << 2) + (r >> 2)); }
export function setReg8(r: i32, v: i32): void { st8(REGS + ((r & 3) << 2) + (r >> 2), v); }

/** Register of operand size sz (1, 2, 4) as an i32 (zero-extended for 1 and 2). */
export function getReg(sz: i32, r: i32): i32 {
  if (sz == 4) return reg32(r);
  if (sz == 2) return reg16(r);
  return reg8(r);
}
export function setReg(sz: i32, r: i32, v: i32): void {
  if (sz == 4) setReg32(r, v);
  else if (sz == 2) setReg16(r, v);
  else setReg8(r, v);
}

// Segment registers: visible selector and hidden descriptor cache.
export function segSel(s: i32): i32 { return ld32a(SEG_SEL + (s << 2)); }
export function segBase(s: i32): i32 { return ld32a(SEG_BASE + (s << 2)); }
export function segLimit(s: i32): i32 { return ld32a(SEG_LIMIT + (s << 2)); }
export function segAttr(s: i32): i32 { return ld32a(SEG_ATTR + (s << 2)); }
export function segLo(s: i32): i32 { return ld32a(SEG_LO + (s << 2)); }
export function segHi(s: i32): i32 { return ld32a(SEG_HI + (s << 2)); }
export function setSegSelRaw(s: i32, v: i32): void { st32a(SEG_SEL + (s << 2), v); }
export function setSegBaseRaw(s: i32, v: i32): void { st32a(SEG_BASE + (s << 2), v); }

/** Operand-size masks and sign bits by size in bytes. */
export function sizeMask(sz: i32): i32 { return sz == 4 ? -1 : sz == 2 ? 0xffff : 0xff; }
export function signBit(sz: i32): i32 { return sz == 4 ? (1 << 31) : sz == 2 ? 0x8000 : 0x80; }
/** Sign-extend a value of size sz to 32 bits. */
export function sext(sz: i32, v: i32): i32 { return sz == 4 ? v : sz == 2 ? (v << 16) >> 16 : (v << 24) >> 24; }
