/**
 * Symbiont's library API. Create an engine, build a VM (or the test PC),
 * load a guest, attach hooks, run.
 *
 * @module
 */
export { createWasmEngine, createJsEngine, MAX_RAM_BYTES, MAX_HOST_BYTES, type Engine, type EngineKind, type HostMemoryOptions, type WasmEngineOptions } from "./engine/engine.js";
export type { CoreExports } from "./engine/core.js";
export { Control, P2mBits, NptBits } from "./engine/core.js";
export { NestedPaging, ShadowPaging, createPaging, PAGING_MODES, type PagingStrategy, type PagingModeName, type ExitAction } from "./vmm/paging/index.js";
export { GuestMemory, GuestMemoryError } from "./vmm/memory.js";
export { Vm, type NestedOutcome, type StopReason, type MsrHook, type HypercallHook, type CpuidHook, type VmStats, type ExitHook } from "./vmm/vm.js";
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
export { type DiskOptions } from "./machine/pc.js";
export { PciSlots } from "./machine/pci-slots.js";
export { type BlockBackend, MemoryDisk, SnapshotOverlay, DiskError } from "./devices/block/backend.js";
export { type VirtioDevice, type VirtioContext } from "./devices/virtio/device.js";
export { Virtqueue, VirtqueueError, type DescriptorChain } from "./devices/virtio/virtqueue.js";
export { VirtioPci } from "./devices/virtio/pci.js";
export { VirtioBlk } from "./devices/virtio/blk.js";
export { VirtioConsole } from "./devices/virtio/console.js";
export { VirtioRng } from "./devices/virtio/rng.js";
export { PvPanic } from "./devices/pvpanic.js";
export { KvmParavirt } from "./paravirt/kvm.js";
export { DRIVER_MODULES, driverModules, modulesLoadOrder, generateModulesDep } from "./boot/kmod.js";
export { Symbiotic, DEFAULT_SYMCALL_BUDGET } from "./symbiotic/symbiotic.js";
export type { SymcallResult, SymcallFailure } from "./symbiotic/symcall.js";
export type { SymSpyGlobal, SymSpyLocal, GlobalExtension, LocalExtension } from "./symbiotic/symspy.js";
export * as SymbioticAbi from "./symbiotic/abi.js";
export { SymcallNr } from "./symbiotic/abi.js";
export { guestProcesses, guestCurrent, guestVaddr, guestMeminfo, type GuestTask, type VaddrInfo, type GuestMeminfo } from "./symbiotic/linux-calls.js";
export { Monitor } from "./vmm/monitor.js";
export { translateLinear, readLinear, listMappings, pagingMode, type GuestMapping, type MappedRange, type PagingRegs } from "./vmm/guest-paging.js";
