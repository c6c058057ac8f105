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
export { SnapshotError, SNAPSHOT_VERSION } from "./vmm/snapshot.js";
export { BareMachine, type BareMachineOptions } from "./machine/bare.js";
export { GdbStub } from "./debug/gdb-stub.js";
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
export { VirtioNet } from "./devices/virtio/net.js";
export { Dp8390 } from "./devices/ne2k/dp8390.js";
export { Ne2kPci } from "./devices/ne2k/ne2k-pci.js";
export { Ne2kVpio, VpioMember } from "./vpio/ne2k-vpio.js";
export { Ne2kModel, HOOKED_PORTS } from "./vpio/ne2k-model.js";
export { plugNics, plugNe2k, plugVpioMember, guestAddress, ipCommandLine, DEFAULT_ADDRESSES, type Nics, type NicKind, type NicHost, type AddressBase } from "./machine/nics.js";
export { VirtualSwitch, SwitchPort, type PortRule, type PortOptions } from "./net/switch.js";
export { NicLink, type NicReceiver } from "./net/link.js";
export { PcapWriter } from "./net/pcap.js";
export { defaultMac, formatMac, parseMac, type Mac } from "./net/ethernet.js";
export { VmGroup, Waker, type GroupOutcome } from "./vmm/vm-group.js";
export { UserNetwork, parseHostForward, userNetMac, USER_NET, type HostForward, type UserNetworkOptions } from "./net/user/user-network.js";
export type { HostNet, HostTcpSocket, HostTcpEvents, HostUdpSocket, HostListener } from "./net/user/host.js";
