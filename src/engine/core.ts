/**
 * The core's exported functions (assembly/index.ts), identical for both
 * engines, and the fixed memory layout the VMM reads without calls.
 *
 * @module
 */

/** Functions exported by assembly/index.ts. */
export interface CoreExports {
  run(budget: number): number;
  reset(ramBytes: number): void;
  injectInterrupt(vector: number): void;
  pendingInterrupt(): number;
  cancelInterrupt(): void;
  requestIrqWindow(on: boolean): void;
  interruptsEnabled(): boolean;
  setRomSize(bytes: number): void;
  setRomShadowed(ram: boolean): void;
  addMmioRange(start: number, length: number): boolean;
  clearMmioRanges(): void;
  setA20(enabled: boolean): void;
  interceptCpuid(all: boolean): void;
  flushCaches(): void;
  ramBase(): number;
  romBase(): number;
  exitBlock(): number;
  regsBase(): number;
  memoryNeeded(ramBytes: number): number;
  getEip(): number;
  setEipReg(v: number): void;
  getEflags(): number;
  setEflags(v: number): void;
  getCpl(): number;
  setCplReg(v: number): void;
  getCr(n: number): number;
  setCr(n: number, v: number): void;
  getEfer(): number;
  setEferReg(v: number): void;
  getGdtrBase(): number;
  getGdtrLimit(): number;
  getIdtrBase(): number;
  getIdtrLimit(): number;
  setGdtrReg(base: number, limit: number): void;
  setIdtrReg(base: number, limit: number): void;
  getSegSel(s: number): number;
  getSegBase(s: number): number;
  getSegLimit(s: number): number;
  getSegAttr(s: number): number;
  setSeg(s: number, sel: number, base: number, limit: number, attr: number): void;
  isHalted(): boolean;
  setHaltedState(v: boolean): void;
  getRetired(): number;
  getTlbMisses(): number;
  getTlbFlushes(): number;
  getSysenter(i: number): number;
  getTscOffset(): number;
  /** JS engine only: attach the ArrayBuffer that plays the Wasm memory. */
  jsAttachMemory(buffer: ArrayBuffer): void;
}

/** Exit reasons (assembly/exit.ts). */
export const enum ExitCode {
  None = 0,
  Budget = 1,
  Hlt = 2,
  IoIn = 3,
  IoOut = 4,
  MmioRead = 5,
  MmioWrite = 6,
  Cpuid = 7,
  Rdmsr = 8,
  Wrmsr = 9,
  Hypercall = 10,
  Shutdown = 11,
  Unimplemented = 12,
  IrqWindow = 13,
}

/** Byte offsets of the exit block fields (assembly/exit.ts). */
export const ExitField = {
  reason: 0,
  a: 4,
  size: 8,
  value: 12,
  value2: 16,
  cs: 20,
  eip: 24,
  nbytes: 28,
  bytes: 32,
  respValid: 64,
  respFault: 68,
  resp0: 72,
  resp1: 76,
  resp2: 80,
  resp3: 84,
  detail: 100,
} as const;
