/**
 * The architectural MSRs of a P6-class CPU that the core leaves to the VMM
 * (the core itself keeps TSC, SYSENTER_*, EFER and TSC_AUX): one table,
 * one value set per vCPU. Every MSR not listed here — and every write of a
 * reserved bit — raises #GP, as the SDM says for RDMSR/WRMSR of an
 * unimplemented MSR (QEMU's TCG reads them as zero instead).
 *
 * | MSR | name | behaviour |
 * |---|---|---|
 * | 0x17 | IA32_PLATFORM_ID | read-only 0 |
 * | 0x8B | IA32_BIOS_SIGN_ID | microcode revision: writes ignored (no update loaded), reads 0 |
 * | 0x179 | IA32_MCG_CAP | read-only 0: no machine-check banks |
 * | 0x17A | IA32_MCG_STATUS | read 0, write 0 |
 * | 0x1A0 | IA32_MISC_ENABLE | fast strings, BTS/PEBS unavailable (bits 11, 12 read-only); reserved bits #GP |
 * | 0x1D9 | IA32_DEBUGCTL | LBR and BTF bits stored (no effect) |
 * | 0x277 | IA32_PAT | eight memory types (0, 1, 4-7 valid); stored, caching is not modelled |
 *
 * @module
 */
import type { State } from "../vmm/snapshot.js";

interface MsrSpec {
  readonly reset: bigint;
  /** Bits a write may change; other bits must be written as they read. Undefined: read-only (writes #GP). */
  readonly writable?: bigint;
  /** Writes are accepted and dropped. */
  readonly ignoreWrites?: boolean;
  /** Extra validity check on the whole value written. */
  readonly valid?: (v: bigint) => boolean;
}

/** A PAT entry must name a memory type: UC, WC, WT, WP, WB or UC- (SDM vol. 3, 11.12.2). */
function validPat(v: bigint): boolean {
  for (let i = 0n; i < 8n; i++) {
    const t = (v >> (8n * i)) & 0xffn;
    if (t === 2n || t === 3n || t > 7n) return false;
  }
  return true;
}

export const ARCH_MSRS: ReadonlyMap<number, MsrSpec> = new Map<number, MsrSpec>([
  [0x17, { reset: 0n }],
  [0x8b, { reset: 0n, ignoreWrites: true }],
  [0x179, { reset: 0n }],
  [0x17a, { reset: 0n, writable: 0n }],
  // Bits 0 (fast strings), 3 (TCC), 16 (EIST), 18 (MONITOR), 22 (limit CPUID), 23 (xTPR), 34 (XD disable) are
  // writable; 7 (perfmon), 11 (BTS unavailable) and 12 (PEBS unavailable) read-only; the rest reserved
  // (a write that changes a read-only or reserved bit raises #GP).
  [0x1a0, { reset: 0x1801n, writable: 0x400c50009n }],
  [0x1d9, { reset: 0n, writable: 0x3n }],
  [0x277, { reset: 0x0007040600070406n, writable: 0xffffffffffffffffn, valid: validPat }],
]);

/** One vCPU's values of {@link ARCH_MSRS}. */
export class CpuMsrs {
  private readonly values = new Map<number, bigint>();
  constructor() { this.reset(); }
  reset(): void { for (const [i, spec] of ARCH_MSRS) this.values.set(i, spec.reset); }
  static has(index: number): boolean { return ARCH_MSRS.has(index); }
  save(): State { return Object.fromEntries(this.values) as unknown as State; }
  restore(state: State): void { for (const [i, v] of Object.entries(state)) if (ARCH_MSRS.has(Number(i))) this.values.set(Number(i), v as bigint); }
  read(index: number): bigint | undefined { return this.values.get(index); }
  /** False: the write raises #GP. */
  write(index: number, v: bigint): boolean {
    const spec = ARCH_MSRS.get(index);
    if (!spec) return false;
    if (spec.ignoreWrites) return true;
    if (spec.writable === undefined) return false;
    const old = this.values.get(index)!;
    if (((v ^ old) & ~spec.writable & 0xffffffffffffffffn) !== 0n) return false;
    if (spec.valid && !spec.valid(v)) return false;
    this.values.set(index, v);
    return true;
  }
}
