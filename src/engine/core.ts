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
  /** INIT the running vCPU: registers as after RESET; x87 state, TSC and machine kept. */
  initCpu(): void;
  injectInterrupt(vector: number): void;
  pendingInterrupt(): number;
  cancelInterrupt(): void;
  requestIrqWindow(on: boolean): void;
  interruptsEnabled(): boolean;
  /** Queue an NMI (vector 2; delivered whatever IF says, blocked from an NMI's delivery to its IRET). */
  injectNmi(): void;
  nmiIsPending(): boolean;
  /** PAUSE exits (EXIT_PAUSE) when on. */
  setPauseExiting(on: boolean): void;
  /** Save the running vCPU's state into slot 0-15 (assembly/vcpu.ts). */
  vcpuSave(slot: number): void;
  /** Make the vCPU saved in a slot the running one (flushes the TLB). */
  vcpuLoad(slot: number): void;
  /** CPUID.1: local APIC present (EDX.APIC, ECX.TSC-deadline) and the initial APIC ID in EBX[31:24]. */
  setCpuidApic(present: boolean, apicId: number): void;
  /** CPUID.1:ECX[21]: the local APIC offers x2APIC mode (reported only with setCpuidApic's APIC present). */
  setCpuidX2apic(on: boolean): void;
  /** SMAP offered: CPUID.(EAX=7,ECX=0):EBX[20], CR4.SMAP writable, STAC/CLAC (else they #GP/#UD, as before). */
  setCpuSmap(on: boolean): void;
  /** SMEP offered: CPUID.(EAX=7,ECX=0):EBX[7], CR4.SMEP writable (else #GP, as before). */
  setCpuSmep(on: boolean): void;
  /** RTM offered: CPUID.(EAX=7,ECX=0):EBX[11], XBEGIN/XEND/XABORT/XTEST, IA32_TSX_CTRL, IA32_ARCH_CAPABILITIES (else #UD / the VMM's MSRs). */
  setCpuRtm(on: boolean): void;
  /** RTM transactions begun (i = 0), committed (1), aborted (2). */
  getRtmStat(i: number): number;
  setRomSize(bytes: number): void;
  setRomShadowed(ram: boolean): void;
  addMmioRange(start: number, length: number): boolean;
  clearMmioRanges(): void;
  setA20(enabled: boolean): void;
  interceptCpuid(all: boolean): void;
  /** The core's own answer to CPUID leaf/subleaf (the VMM's leaf table, else the CPU's), register i (0..3 = EAX..EDX). */
  cpuidDefault(leaf: number, sub: number, i: number): number;
  /** Answer CPUID `leaf` with these registers, in the core, without an exit; false when the table (8 leaves) is full. */
  setCpuidLeaf(leaf: number, eax: number, ebx: number, ecx: number, edx: number): boolean;
  clearCpuidLeaves(): void;
  /** Save and clear the interrupted entry's exit block, MMIO carry state and pending events (a nested entry), and with `saveState` the CPU's architectural state; false when 4 levels deep. The execution controls stay as they are. */
  pushEntry(saveState: boolean): boolean;
  /** Restore what the matching pushEntry saved. */
  popEntry(): void;
  entryDepth(): number;
  /** Where pushEntry(true) saves the outermost entry ({@link ENTRY_SAVE_BYTES}): what a snapshot keeps of the running vCPU. */
  entrySaveBase(): number;
  /** Where the vCPU save slots are ({@link VCPU_SLOT_BYTES} each). */
  vcpuSlotBase(): number;
  flushCaches(): void;
  notifyPhysWrite(pa: number, len: number): void;
  /** The VMM or a device wrote host frames [hpa, hpa+len): cached code there is dropped. */
  notifyHostWrite(hpa: number, len: number): void;
  /** Size the host frame pool (guest RAM included) and give guest RAM the identity map; once, before reset(). */
  initHostMemory(ramBytes: number, hostBytes: number): void;
  /** Address of the guest-physical map in core memory (one i32 per guest 4 KiB page: host frame | P2mBits). */
  p2mBase(): number;
  /** Address of a 1024-bit map, one bit per 4 KiB page of that table: set the page's bit when writing an entry there (a reset clears only those pages). */
  p2mWrittenBase(): number;
  /** After editing the map entry of guest page `gpa` that named host frame `oldFrame` (-1: none/unknown): drop stale translations. */
  mapChanged(gpa: number, oldFrame: number): void;
  /** Shadow paging's trace log (host addresses of the 16-byte lines of guest page tables the guest wrote), and emptying it. */
  traceLogBase(): number;
  clearTraceLog(): void;
  traceLogCount(): number;
  /**
   * A logged store into the 4-byte word at host address `hpa` exits right after its instruction (on) or waits in
   * the log for the next TLB fill (assembly/mmu/sync.ts); clearSyncFrames: no word does.
   */
  setSyncWord(hpa: number, on: boolean): void;
  clearSyncFrames(): void;
  /** Would a logged store of `size` bytes at host address `hpa` (within its page) exit right after its instruction? */
  syncStoreAt(hpa: number, size: number): boolean;
  /** What the chipset decodes guest-physical `pa` to: 0 memory (the map decides), 1 ROM, 2 a device's MMIO. */
  physKindOf(pa: number): number;
  /** Drop TLB entries reaching host frame `hpa` (-1: all): the VMM changed shadow entries. */
  flushTlbHost(hpa: number): void;
  /** Drop the TLB entry of linear page `lin` (the VMM changed the shadow leaf that maps it). */
  flushTlbLinear(lin: number): void;
  /** VMWRITE / VMREAD of an execution control ({@link Control}). */
  setControl(field: number, value: number): void;
  getControl(field: number): number;
  /** Entry i of the CR3-target list: guest CR3 value → shadow root (host-physical). */
  setCr3Target(i: number, guestCr3: number, root: number): void;
  /** Inject an exception, delivered at the next run() before any instruction (CR2 set first for #PF). */
  injectException(vector: number, hasCode: boolean, code: number, cr2: number): void;
  /** The guest's PAE PDPTE registers. */
  getPdpte(i: number, high: boolean): number;
  /** 0 nested walks, 1 nested-table references, 2 EPT violations, 3 CR3 loads, 4 CR3-target hits. */
  getPagingStat(i: number): number;
  setTranslationCache(on: boolean): void;
  /** 0 lookups, 1 hits, 2 blocks built, 3 invalidations, 4 evictions. */
  getTcacheStat(i: number): number;
  ramBase(): number;
  romBase(): number;
  exitBlock(): number;
  regsBase(): number;
  /** XMM0-XMM7 in core memory (16 bytes each, element 0 lowest). */
  xmmBase(): number;
  /** Write the x87 state a debugger shows at fpuDebugBase(): ST(0)-ST(7) as 80-bit images 10 bytes apart, then FCW, FSW, the tag word, FCS, FIP, FDS, FDP, FOP, MXCSR (i32 each). */
  fpuDebugState(): void;
  fpuDebugBase(): number;
  /** Bytes of core memory for a host frame pool of hostBytes. */
  memoryNeeded(hostBytes: number): number;
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
  /** Set the retired-instruction count (a restored snapshot's). */
  setRetiredCount(v: number): void;
  getTlbMisses(): number;
  getTlbFlushes(): number;
  /** Data accesses that consulted the TLB through the core's lookup (compiled code's inline hits are not counted). */
  getTlbLookups(): number;
  getSysenter(i: number): number;
  getTscOffset(): number;
  setTscOffsetValue(v: number): void;
  /** The TSC's last read (i = 0; later reads exceed it) and IA32_TSC_ADJUST (1), for snapshots. */
  getTscState(i: number): number;
  setTscState(last: number, adjust: number): void;
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
  Debug = 14,
  EptViolation = 15,
  Exception = 16,
  CrWrite = 17,
  Invlpg = 18,
  MonitorTrap = 19,
  TraceLog = 20,
  Pause = 21,
}

/** Execution controls (assembly/controls.ts), VMCS fields in miniature: vm.setControl(Control.X, value). */
export const Control = {
  ExceptionBitmap: 0,
  Cr0Mask: 1,
  Cr4Mask: 2,
  Cr3Exiting: 3,
  InvlpgExiting: 4,
  PagingMode: 5,
  NptRoot: 6,
  ShadowRoot: 7,
  ShadowPae: 8,
  Cr3TargetCount: 9,
  MonitorTrap: 10,
} as const;
export type Control = (typeof Control)[keyof typeof Control];

/** Paging modes (assembly/mmu/p2m.ts), the value of Control.PagingMode. */
export const PagingModeCode = { Direct: 0, Nested: 1, Shadow: 2 } as const;

/** Bits of a guest-physical map entry (assembly/mmu/p2m.ts): host frame in bits 31-12. */
/** What the chipset decodes a guest-physical page to before the map (Core.physKindOf; assembly/memory.ts PHYS_*). */
export const PhysKind = { ram: 0, rom: 1, mmio: 2 } as const;

export const P2mBits = { read: 1, write: 2, exec: 4, valid: 8, trap: 16, writeMmio: 32 } as const;

/** Nested page-table entry bits (assembly/mmu/p2m.ts): the 32-bit page-table format plus software bits. */
export const NptBits = { present: 1, write: 2, large: 0x80, noRead: 0x100, mmio: 0x200, writeMmio: 0x400, noExec: 0x800 } as const;

/** An EPT violation's access qualification (assembly/mmu/p2m.ts Q_*). */
export const ViolationQual = { read: 1, write: 2, fetch: 4, walk: 8, linearValid: 16, nested: 32 } as const;

/** The core's CR3-target list holds this many entries. */
export const CR3_TARGET_MAX = 64;
/** Bytes of one vCPU save slot (assembly/layout.ts VCPU_SAVE_SIZE) and of one nested entry's save area (NESTED_SLOT). */
export const VCPU_SLOT_BYTES = 0x300;
export const ENTRY_SAVE_BYTES = 0x700;

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
  qual: 104,
  linear: 108,
  entry: 112,
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
  /** 0F 38 / 0F 3A: a third opcode byte before the ModRM byte */
  escape3: 0x2000,
} as const;
