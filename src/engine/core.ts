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
  /** Answer CPUID `leaf` with these registers, in the core, without an exit; false when the table (8 leaves) is full. */
  setCpuidLeaf(leaf: number, eax: number, ebx: number, ecx: number, edx: number): boolean;
  clearCpuidLeaves(): void;
  /** Save and clear the interrupted entry's exit block, MMIO carry state and pending events (a nested entry), and with `saveState` the CPU's architectural state; false when 4 levels deep. */
  pushEntry(saveState: boolean): boolean;
  /** Restore what the matching pushEntry saved. */
  popEntry(): void;
  entryDepth(): number;
  flushCaches(): void;
  notifyPhysWrite(pa: number, len: number): void;
  setTranslationCache(on: boolean): void;
  /** 0 lookups, 1 hits, 2 blocks built, 3 invalidations, 4 evictions. */
  getTcacheStat(i: number): number;
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
  /** Data accesses that consulted the TLB. */
  getTlbLookups(): number;
  getSysenter(i: number): number;
  getTscOffset(): number;
  setTscOffsetValue(v: number): void;
  setVgaHole(on: boolean): void;
  /** Format word of one-byte opcode `op`, or of 0F `op` when twoByte (bits in {@link OpcodeFormat}). */
  opcodeFormat(op: number, twoByte: boolean): number;
  /** JS engine only: attach the ArrayBuffer that plays the Wasm memory. */
  jsAttachMemory(buffer: ArrayBuffer): void;
  /** JS engine only: the host functions serving direct ports (the Wasm engine imports them). */
  jsAttachDirectPorts(read: (port: number, size: number) => number, write: (port: number, size: number, value: number) => void): void;
  /** Address of the I/O bitmap of direct ports: IN (out = 0) or OUT (out = 1); a set bit means no exit. */
  ioDirectBase(out: number): number;
  /** From a host function serving a direct port: end run() after the current instruction. */
  kick(): void;
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

/**
 * Bits of the word {@link CoreExports.opcodeFormat} returns (assembly/cpu/opcodes.ts,
 * where the table itself is declared).
 */
export const OpcodeFormat = {
  /** Bits 0-3: what follows the ModRM bytes; one of the imm* values. */
  immMask: 0xf,
  immNone: 0,
  /** imm8 */
  immB: 1,
  /** imm16 */
  immW: 2,
  /** imm16/32 by operand size */
  immZ: 3,
  /** far pointer: offset16/32 + selector16 */
  immPtr: 4,
  /** moffs16/32 by address size */
  immMoffs: 5,
  /** imm16 + imm8 (ENTER) */
  immWB: 6,
  /** imm8 when ModRM.reg < 2 (group 3 TEST) */
  immTestB: 7,
  /** imm16/32 when ModRM.reg < 2 (group 3 TEST) */
  immTestZ: 8,
  modrm: 0x10,
  /** ModRM.reg selects the operation */
  group: 0x20,
  /** ModRM names registers only, mod ignored (MOV CR/DR) */
  regOnly: 0x40,
  prefix: 0x80,
  /** 0F */
  escape: 0x100,
  /** #UD */
  invalid: 0x200,
  x87: 0x400,
  /** the core exits as unimplemented */
  unimplemented: 0x800,
  /** length unknown */
  unknown: 0x1000,
} as const;
