/**
 * Symbiont's library API. Create an engine, build a VM (or the test PC),
 * load a guest, attach hooks, run.
 *
 * @module
 */
export { createWasmEngine, createJsEngine, MAX_RAM_BYTES, type Engine, type EngineKind } from "./engine/engine.js";
export type { CoreExports } from "./engine/core.js";
export { GuestMemory, GuestMemoryError } from "./vmm/memory.js";
export { Vm, type NestedOutcome, type StopReason, type MsrHook, type HypercallHook, type CpuidHook, type VmStats } from "./vmm/vm.js";
export type { VcpuExit, ExitReason } from "./vmm/exits.js";
export { PortBus, MmioBus, type PortDevice, type MmioDevice, type AccessSize } from "./vmm/bus.js";
export { Attr, realSegment, type CpuState, type SegmentState, type TableRegister } from "./vmm/cpu-state.js";
export { Pc, COM1_PORT, type PcOptions } from "./machine/pc.js";
export { BareMachine, type BareMachineOptions } from "./machine/bare.js";
export { Uart16550 } from "./devices/uart16550.js";
export { IsaDebugExit } from "./devices/debug-exit.js";
export { PostCode } from "./devices/post-code.js";
export { Debugcon } from "./devices/debugcon.js";
export { loadMultiboot, isMultiboot } from "./boot/multiboot.js";
export { loadFlat } from "./boot/flat.js";
export { DEMO_KERNEL } from "./guests/demo.js";
export { Symbiotic, DEFAULT_SYMCALL_BUDGET, type SymbioticOptions } from "./symbiotic/symbiotic.js";
export type { SymcallResult, SymcallFailure } from "./symbiotic/symcall.js";
export type { SymSpyGlobal, SymSpyLocal, GlobalExtension, LocalExtension } from "./symbiotic/symspy.js";
export * as SymbioticAbi from "./symbiotic/abi.js";
export { SymcallNr } from "./symbiotic/abi.js";
export { guestProcesses, guestCurrent, guestVaddr, guestMeminfo, type GuestTask, type VaddrInfo, type GuestMeminfo } from "./symbiotic/linux-calls.js";
export { Monitor } from "./vmm/monitor.js";
export { translateLinear, readLinear, listMappings, pagingMode, type GuestMapping, type MappedRange, type PagingRegs } from "./vmm/guest-paging.js";
