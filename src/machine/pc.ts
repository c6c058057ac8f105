/**
 * The PC: which devices sit at which ports, and how their interrupts and
 * time are wired. Used for test kernels, Multiboot kernels, BIOS ROMs and Linux.
 *
 * | port          | device                                              |
 * |---------------|-----------------------------------------------------|
 * | 0x20, 0xA0    | 8259A PIC pair (cascade on IRQ 2), ELCR at 0x4D0     |
 * | 0x40-0x43     | 8254 PIT: channel 0 → IRQ 0, channel 2 via port 0x61 |
 * | 0x60, 0x64    | i8042 keyboard controller (IRQ 1/12, reset, A20)     |
 * | 0x61          | system control port B (PIT channel 2 gate/output)    |
 * | 0x70-0x71     | MC146818 RTC/CMOS (IRQ 8)                            |
 * | 0x92          | fast A20 and reset                                   |
 * | 0xCF8-0xCFF   | PCI configuration mechanism #1 (440FX, PIIX3), 0xCF9 reset |
 * | 0x3F8-0x3FF   | 16550A UART (COM1, IRQ 4), the console               |
 * | 0x3B0-0x3DF   | VGA (only with `vga: true`; its window 0xA0000-0xBFFFF is RAM, or MMIO in planar modes) |
 * | 0x1CE-0x1CF, MMIO 0xE0000000 | its Bochs VBE interface and linear framebuffer (8 MiB of VMM frames, on first use) |
 * | 0xF4-0xF7     | isa-debug-exit (QEMU's test exit)                    |
 * | 0x80, 0x190   | POST code recorder (0x190: test386.asm's default)    |
 * | 0xE9          | debugcon (when an output is given; `debugconPort` moves it) |
 * | 0xE0-0xEB, 0x2000-0x2017, MMIO 0xFF000000 | pc-testdev (only with `testdev: true`) |
 * | PCI 00:01.1    | PIIX3 IDE (disks with interface "ide"): 0x1F0/0x3F6 IRQ 14, 0x170/0x376 IRQ 15 |
 * | PCI 00:03.0 …  | pvpanic, then the virtio devices asked for (disks, console, rng); BARs and IRQs as pci-slots.ts assigns |
 *
 * | 0x510-0x511   | QEMU's fw_cfg (CPU count, RAM size)                  |
 * | 0xB000-0xB00B | ACPI PM1a event/control blocks and PM timer          |
 * | MMIO 0xFEC00000 | I/O APIC: ISA IRQs on pins 0-15 (IRQ 0 on pin 2), PCI PIRQA-D on 16-19 |
 * | MMIO 0xFEE00000 | the running vCPU's local APIC (MSR 0x1B, 0x6E0)     |
 *
 * Every ISA IRQ line goes to both the 8259A pair and the I/O APIC; the
 * BSP's LINT0 takes the 8259A's INTR in ExtINT mode (virtual wire), so a
 * guest that never touches the APICs runs on the 8259A as on a PC. With
 * `apic: false` the machine has neither APIC (CPUID says so) and the 8259A
 * drives the CPU directly. Boot loaders leave firmware tables in the BIOS
 * area 0xF0000-0xFFFFF: an MP table always, and ACPI tables for Multiboot
 * kernels (see loadKernel/loadLinux for why Linux gets the MP table only).
 *
 * The KVM paravirtual CPUID leaves and kvmclock (paravirt/kvm.ts) are on
 * unless `kvmParavirt: false`; Hyper-V's enlightenments (paravirt/hyperv.ts)
 * with `hyperv: true` (and hyperv-testdev at port 0x3000 with `testdev`). PCI interrupts reach the 8259A through the
 * PIIX3's PIRQ routing and the I/O APIC on pins 16-19 (pci-slots.ts).
 *
 * The symbiotic interfaces (CPUID 0x90000000, MSRs 0x534-0x540, VMCALL
 * 0x535/0x536; src/symbiotic) are there unless `symbiotic: false`.
 *
 * @module
 */
import type { RewindableMachine } from "../debug/history.js";
import { Vm } from "../vmm/vm.js";
import type { Engine } from "../engine/engine.js";
import { Uart16550 } from "../devices/uart16550.js";
import { IsaDebugExit } from "../devices/debug-exit.js";
import { PostCode } from "../devices/post-code.js";
import { Debugcon } from "../devices/debugcon.js";
import { loadMultiboot, isMultiboot, qemuCommandLine, type MultibootModule } from "../boot/multiboot.js";
import { loadFlat } from "../boot/flat.js";
import type { BootEntry } from "../boot/types.js";
import { Attr } from "../vmm/cpu-state.js";
import { VirtualClock, type ClockMode } from "../vmm/clock.js";
import { PicPair } from "../devices/i8259.js";
import { I8254 } from "../devices/i8254.js";
import { Mc146818, CMOS_SHUTDOWN_STATUS, SHUTDOWN_S3_RESUME } from "../devices/mc146818.js";
import { I8042 } from "../devices/i8042.js";
import { SystemControlB, Port92, ResetControl, A20Gate } from "../devices/system-ports.js";
import { PciBus, PciHost, PciFunction, createI440fx, I440FX_PAM0, Piix3IsaBridge, PciIntxRouter, PCI_IOAPIC_PIN_BASE } from "../devices/pci.js";
import { PciSlots } from "./pci-slots.js";
import { KvmParavirt } from "../paravirt/kvm.js";
import type { NicLink, LinkCheckpoint } from "../net/link.js";
import { PvPanic } from "../devices/pvpanic.js";
import type { BlockBackend, DiskStats } from "../devices/block/backend.js";
import type { VirtioDevice } from "../devices/virtio/device.js";
import { VirtioPci } from "../devices/virtio/pci.js";
import { VirtioBlk } from "../devices/virtio/blk.js";
import { VirtioConsole } from "../devices/virtio/console.js";
import { VirtioRng, hostEntropy, seededEntropy } from "../devices/virtio/rng.js";
import { VirtioBalloon } from "../devices/virtio/balloon.js";
import { VirtioNet } from "../devices/virtio/net.js";
import { formatMac } from "../net/ethernet.js";
import { PiixIde } from "../devices/ide.js";
import { loadLinux, type LinuxEntry } from "../boot/linux.js";
import { PcTestdev } from "../devices/pc-testdev.js";
import { Vga, VGA_PORT_BASE, VGA_PORT_COUNT } from "../devices/vga/vga.js";
import { VBE_PORT_BASE, VBE_PORT_COUNT } from "../devices/vga/vbe.js";
import { WINDOW_BASE, WINDOW_BYTES } from "../devices/vga/video-memory.js";
import { createPaging, ShadowPaging, type PagingModeName, type PagingStrategy } from "../vmm/paging/index.js";
import { ApicBus, type ApicMessage } from "../devices/apic-bus.js";
import { Hyperv } from "../paravirt/hyperv.js";
import { HypervTestdev, HYPERV_TESTDEV_PORT } from "../devices/hyperv-testdev.js";
import { LocalApic, APIC_BUS_HZ, APIC_DEFAULT_BASE, MSR_APIC_BASE, MSR_TSC_DEADLINE, X2APIC_MSR_BASE, X2APIC_MSR_COUNT } from "../devices/lapic.js";
import { IoApic, IOAPIC_BASE } from "../devices/ioapic.js";
import { CpuMsrs, ARCH_MSRS } from "../devices/cpu-msrs.js";
import { FwCfg, FW_CFG_PORT, e820Table, E820_RAM, le } from "../devices/fw-cfg.js";
import { AcpiPm, PM_BASE, PM_LENGTH } from "../devices/acpi-pm.js";
import { acpiTables, acpiTableSet, tableLoader, ACPI_FILES, FACS_ADDR, FACS_WAKING_VECTOR, type AcpiTableSet } from "../boot/acpi.js";
import { BIOS_HANDOFF_PORT_WRITES, biosInterruptVectors } from "../boot/bios-handoff.js";
import { mpTable } from "../boot/mptable.js";
import { Symbiotic } from "../symbiotic/symbiotic.js";
import { SwapDisk } from "../symbiotic/swap-disk.js";
import { SwapBypass } from "../symbiotic/swapbypass.js";
import { saveFields, restoreFields, encodeSnapshot, decodeSnapshot, part, SnapshotError, type Saveable, type State } from "../vmm/snapshot.js";
import { groupSize } from "./group-snapshot.js";

export const COM1_PORT = 0x3f8;

/** A disk as the monitor lists it (Pc.blockDevices). */
export interface BlockDeviceInfo { id: string; backend: BlockBackend; stats: DiskStats; attached: string }

/** A network card plugged into a PC from outside it (machine/nics.ts): its state, its PCI function, what it is. */
export interface NetworkCard extends Saveable {
  readonly pci: PciFunction;
  /** Its cable, when the card is this machine's alone (a recorded history logs what comes in on it). */
  readonly link?: NicLink;
  /** The card and its station address, as a snapshot's machine must have had it ("ne2k-pci 52:54:00:12:34:56"). */
  readonly identity: string;
  /** Other VMs share the card: this machine is saved only together with them (src/machine/group-snapshot.ts). */
  readonly shared?: boolean;
  /** Every machine of a snapshot of several VMs is back: a card they share settles whose it is now. */
  groupRestored?(): void;
}

export interface PcOptions {
  engine: Engine;
  ramBytes: number;
  /** Bytes the guest writes to COM1. */
  onSerial(byte: number): void;
  /** Bytes written to the debug console's port (device absent when omitted). */
  onDebugcon?(byte: number): void;
  /** The debug console's port (default 0xE9, Bochs's and QEMU's; SeaBIOS writes its log to 0x402). */
  debugconPort?: number;
  /** "deterministic": time from retired instructions (same input, same output); "host" (default): real time. */
  clock?: ClockMode;
  /** Wall-clock time at power-on for the RTC (seconds since the Unix epoch); default: now, or 2026-01-01 when deterministic. */
  startEpochSeconds?: number;
  /**
   * A VGA (src/devices/vga/), as QEMU's `-device isa-vga`: its text screen is `pc.vga.screen()`. A kernel loaded
   * without a firmware finds it in text mode 3, as a VGA BIOS leaves it; a firmware gets `vgaBios` to run.
   */
  vga?: boolean;
  /** The VGA BIOS a firmware runs (SeaBIOS's vgabios-isavga.bin), handed over in fw_cfg's "vgaroms/" as QEMU does. */
  vgaBios?: Uint8Array;
  /** Add QEMU's pc-testdev (MMIO 0xFF000000-0xFF00FFFF, ports 0xE0-0xEB, 0x2000-0x2017), as `-device pc-testdev`. */
  testdev?: boolean;
  /**
   * How guest memory is virtualized: "direct" (default: the core walks the
   * guest's tables, guest-physical map consulted at each TLB fill), "nested"
   * (EPT-style nested tables built on demand) or "shadow" (the core walks only
   * shadow tables the VMM builds from the guest's) — or a strategy of your own
   * making (`new ShadowPaging({ traceLog: false })`). See src/vmm/paging/.
   */
  paging?: PagingModeName | PagingStrategy;
  /** Number of vCPUs (1-16, default 1); more than one needs the APICs. */
  cpus?: number;
  /** Local APICs and the I/O APIC (default true); false: a PC with the 8259A pair only. */
  apic?: boolean;
  /**
   * Offer SMAP (supervisor-mode access prevention: CPUID.7:EBX[20], CR4.SMAP, STAC/CLAC), as QEMU's `-cpu max`
   * does; default false, the CPU QEMU's default model is. Not with shadow paging (its tables' U bits are the VMM's).
   * Supervisor code compiled before CR4.SMAP was set is replayed, not run compiled, while it is set.
   */
  smap?: boolean;
  /** Offer SMEP (supervisor-mode execution prevention: CPUID.7:EBX[7], CR4.SMEP), as `-cpu max` does; like `smap`. */
  smep?: boolean;
  /**
   * Offer Intel TSX's RTM (CPUID.7:EBX[11]: XBEGIN, XEND, XABORT, XTEST) with IA32_TSX_CTRL and
   * IA32_ARCH_CAPABILITIES, as `-cpu max` does on hardware with TSX; default false. Transactions are interpreted
   * and abort at any exit to the VMM (see assembly/cpu/ops/rtm.ts).
   */
  rtm?: boolean;
  /**
   * Offer x2APIC mode (CPUID.1:ECX[21]; the local APICs' registers as MSRs 0x800-0x8FF once the guest sets
   * IA32_APIC_BASE.EXTD), as QEMU's CPU models do under KVM; default false. Needs the APICs.
   */
  x2apic?: boolean;
  /** Disks, in order (virtio: /dev/vda, vdb …). */
  disks?: DiskOptions[];
  /** Add a virtio console (the guest's hvc0); its output goes here, input through `pc.virtioConsole.receive()`. */
  onVirtioConsole?(bytes: Uint8Array): void;
  /** Add virtio-rng (host entropy; a fixed seed when the clock is deterministic). */
  rng?: boolean;
  /**
   * Add virtio-balloon (src/devices/virtio/balloon.ts), as QEMU's `-device virtio-balloon`: `pc.balloon.setTarget(pages)`
   * takes pages from the guest (out of the guest-physical map, zeroed), its statistics queue brings the guest's
   * memory figures. Default false.
   */
  balloon?: boolean;
  /** QEMU's pvpanic device (default true): a guest kernel panic stops run() with { kind: "guest-panic" }. */
  pvpanic?: boolean;
  /** KVM's paravirtual CPUID leaves and kvmclock (default true). */
  kvmParavirt?: boolean;
  /**
   * Hyper-V's enlightenments (src/paravirt/hyperv.ts: SynIC, synthetic timers, reference counter, VP index,
   * HvPostMessage/HvSignalEvent), as QEMU's `-cpu …,hv-synic,hv-stimer,…` under KVM; KVM's own leaves move to
   * 0x40000100. Default false. Needs the APICs. With `testdev`, QEMU's hyperv-testdev (port 0x3000) comes too.
   */
  hyperv?: boolean;
  /** Offer the symbiotic interfaces (CPUID 0x90000000, SymSpy, SymCall; src/symbiotic) — default true. */
  symbiotic?: boolean;
  /**
   * A swap disk of this many bytes in VMM memory (src/symbiotic/swap-disk.ts): a virtio disk after the
   * `disks`, serial "symbiont-swap" (/sys/block/vdX/serial), for the guest to mkswap and swapon.
   */
  swapDiskBytes?: number;
  /**
   * SwapBypass (src/symbiotic/swapbypass.ts): the guest's swapped-out pages on the swap disk are mapped
   * read-only into it by the shadow pager. Needs `swapDiskBytes`, `paging: "shadow"` and the symbiotic interfaces.
   */
  swapBypass?: boolean;
}

/** The serial number of the swap disk in VMM memory (`swapDiskBytes`). */
export const SWAP_DISK_SERIAL = "symbiont-swap";

/** A disk of the PC. */
export interface DiskOptions {
  backend: BlockBackend;
  /** "virtio" (default): virtio-blk; "ide": PIIX3 IDE. */
  interface?: "virtio" | "ide";
  /** Serial number the guest sees (virtio-blk GET_ID). */
  serial?: string;
}

export class Pc {
  readonly vm: Vm;
  readonly uart: Uart16550;
  readonly postCode = new PostCode();
  readonly clock: VirtualClock;
  readonly pic: PicPair;
  readonly pit: I8254;
  readonly rtc: Mc146818;
  readonly kbc: I8042;
  readonly pci = new PciBus();
  /** One local APIC per vCPU (index = vCPU index = APIC ID), when the machine has APICs. */
  readonly lapics: LocalApic[] = [];
  /** The APIC bus (null without APICs): the I/O APIC's and MSI-X devices' messages go on it. */
  private apicBus: ApicBus | null = null;
  readonly ioapic: IoApic | null = null;
  /** The ACPI tables (a PC with APICs): handed to a firmware through fw_cfg, or linked in place for a Multiboot kernel. */
  private readonly acpi: AcpiTableSet | null;
  /** The P6 architectural MSRs the VMM keeps, per vCPU. */
  readonly msrs: CpuMsrs[] = [];
  readonly cpus: number;
  /** The CPU features offered on request (smap, smep, rtm, x2apic), for snapshots: a machine without them cannot take one that has them. */
  private readonly cpuFeatures: string;
  /** Drive ISA IRQ line n (to the 8259A pair and the I/O APIC). */
  readonly isaIrq: (n: number, level: boolean) => void;
  /** PCI slots, BAR assignment and the one entry point for PCI interrupts (pci-slots.ts). */
  readonly pciSlots: PciSlots;
  /** Virtio devices in the order they were plugged in. */
  readonly virtio: VirtioPci[] = [];
  /** virtio-blk devices (disks with interface "virtio"), in order. */
  readonly virtioBlk: VirtioBlk[] = [];
  readonly virtioConsole: VirtioConsole | null = null;
  readonly rng: VirtioRng | null = null;
  readonly pvpanic: PvPanic | null = null;
  /** The swap disk in VMM memory (`swapDiskBytes`), and SwapBypass over it (`swapBypass`). */
  readonly swapDisk: SwapDisk | null = null;
  readonly swapBypass: SwapBypass | null = null;
  readonly kvm: KvmParavirt | null = null;
  /** Hyper-V's enlightenments (`hyperv: true`). */
  readonly hyperv: Hyperv | null = null;
  /** QEMU's hyperv-testdev (`hyperv` and `testdev`). */
  private hypervTestdev: HypervTestdev | null = null;
  /** The memory balloon (`balloon: true`). */
  readonly balloon: VirtioBalloon | null = null;
  /** QEMU's pc-testdev (`testdev: true`). */
  readonly testdev: PcTestdev | null = null;
  /** The VGA (`vga: true`). */
  readonly vga: Vga | null = null;
  /** The PIIX3 IDE controller (00:01.1), when a disk uses interface "ide". */
  readonly ide: PiixIde | null = null;
  /** Wall-clock time at power-on (seconds since the Unix epoch): the RTC's and kvmclock's start. */
  readonly startEpochSeconds: number;
  /** Status written to isa-debug-exit, once the guest has written it. */
  exitStatus: number | null = null;
  /** Device errors reported so far (a virtio device put in NEEDS_RESET, a failed disk image). */
  readonly deviceErrors: string[] = [];
  private readonly fwCfg: FwCfg;
  private readonly pm: AcpiPm;
  private readonly a20: A20Gate;
  private readonly port61: SystemControlB;
  private readonly port92: Port92;
  private readonly resetControl: ResetControl;
  /** The disks' backends: IDE ones, then virtio ones as added. */
  private readonly disks: BlockBackend[] = [];
  /** Network cards plugged in from outside (machine/nics.ts; virtio-net is among `virtio`), in plugging order. */
  private readonly networkCards: NetworkCard[] = [];
  /** While true the guest's output does not reach the host (a replay of its history retraces what it printed). */
  private outputMuted = false;

  constructor(opts: PcOptions) {
    const vm = new Vm(opts.engine, opts.ramBytes);
    this.vm = vm;
    const mode = opts.clock ?? "host";
    const clock = new VirtualClock(mode === "host" ? { mode, hostMs: () => performance.now() } : { mode });
    this.clock = clock;
    vm.clock = clock;
    // A change of the PIC's INT output during a direct (non-exiting) port access ends the run
    // after that instruction, so the interrupt is offered at once.
    const pic = new PicPair({ onChange: () => vm.direct.kick() });
    this.pic = pic;
    const cpus = opts.cpus ?? 1;
    const apic = opts.apic ?? true;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 16) throw new Error(`a PC has 1 to 16 vCPUs (got ${cpus})`);
    if (cpus > 1 && !apic) throw new Error("more than one vCPU needs the APICs");
    if (opts.x2apic && !apic) throw new Error("x2APIC is a mode of the local APIC: not with --no-apic");
    if (opts.smap) vm.core.setCpuSmap(true);
    if (opts.smep) vm.core.setCpuSmep(true);
    if (opts.rtm) vm.core.setCpuRtm(true);
    this.cpus = cpus;
    this.cpuFeatures = (["smap", "smep", "rtm", "x2apic"] as const).filter((f) => opts[f]).map((f) => `--${f}`).join(" ");
    const ioapic = apic ? this.attachApics(pic, cpus, opts.x2apic ?? false) : null;
    this.ioapic = ioapic;
    if (!apic) vm.vcpus[0]!.interrupts = pic;
    // An ISA IRQ line reaches both interrupt controllers; IRQ 0 is on I/O APIC pin 2 (the MP and ACPI tables say so).
    const isaIrq = (n: number, level: boolean) => {
      pic.setIrq(n, level);
      if (ioapic && n !== 2) ioapic.setPin(n === 0 ? 2 : n, level);
    };
    this.isaIrq = isaIrq;
    for (let i = 0; i < cpus; i++) this.msrs.push(new CpuMsrs());
    for (const index of ARCH_MSRS.keys()) {
      vm.onMsr(index, { read: (i) => this.msrs[vm.vcpu.index]!.read(i), write: (i, v) => this.msrs[vm.vcpu.index]!.write(i, v) });
    }
    // What QEMU tells a firmware: the memory map and, on a PC with APICs, the ACPI tables a direct boot gets too.
    const fwCfg = new FwCfg({ ramBytes: opts.ramBytes, cpus, irq0Override: ioapic !== null });
    fwCfg.addFile("etc/e820", e820Table([{ base: 0, length: opts.ramBytes, type: E820_RAM }]));
    // A firmware's text screen goes to COM1, as SeaBIOS's serial console does under QEMU's -machine graphics=off
    // (its INT 10h output as VT100 sequences, INT 16h keys read from the port) — and to the VGA too when there is
    // one and a VGA BIOS for it: SeaBIOS then writes both.
    fwCfg.addFile("etc/sercon-port", le(COM1_PORT, 2));
    if (opts.vgaBios && !opts.vga) throw new Error("a VGA BIOS needs the VGA (vga: true)");
    if (opts.vgaBios) fwCfg.addFile("vgaroms/vgabios-isavga.bin", opts.vgaBios);
    this.acpi = ioapic ? acpiTableSet(cpus, opts.ramBytes) : null;
    if (this.acpi) {
      fwCfg.addFile(ACPI_FILES.rsdp, this.acpi.rsdp);
      fwCfg.addFile(ACPI_FILES.tables, this.acpi.tables);
      fwCfg.addFile(ACPI_FILES.loader, tableLoader(this.acpi));
    }
    vm.addPortDevice(FW_CFG_PORT, 2, fwCfg);
    this.fwCfg = fwCfg;
    const pm = new AcpiPm({
      clock,
      onSleep: (state) => {
        if (state === "S5") vm.requestStop({ kind: "halted", message: "powered off (ACPI S5)" });
        else {
          // As QEMU's RTC does: the CMOS shutdown status says "S3 resume" (0xFE) for a firmware's reset path.
          this.rtc.setCmosByte(CMOS_SHUTDOWN_STATUS, SHUTDOWN_S3_RESUME);
          vm.sleepS3();
        }
      },
    });
    vm.addPortDevice(PM_BASE, PM_LENGTH, pm);
    this.pm = pm;
    const reset = (why: string) => vm.requestStop({ kind: "reset", why });
    const a20 = new A20Gate((on) => vm.core.setA20(on));
    this.a20 = a20;

    vm.addPortDevice(PicPair.MASTER_PORT, 2, pic.master);
    vm.addPortDevice(PicPair.SLAVE_PORT, 2, pic.slave);
    vm.addPortDevice(PicPair.ELCR_PORT, 2, pic.elcr);
    this.pit = new I8254({ clock, setIrq: (l) => isaIrq(0, l) });
    vm.addPortDevice(0x40, 4, this.pit);
    this.port61 = new SystemControlB(this.pit, clock);
    vm.addPortDevice(0x61, 1, this.port61);
    const start = opts.startEpochSeconds ?? (mode === "deterministic" ? 1767225600 : Math.floor(Date.now() / 1000));
    this.startEpochSeconds = start;
    // The RTC alarm wakes the machine from S3 when PM1_EN.RTC_EN allows it (ACPI 6.4, 4.8.3.1.1).
    const rtcIrq = (level: boolean) => {
      if (level && vm.asleep && pm.rtcWakeEnabled) {
        pm.wokeByRtc();
        // A firmware resumes the OS itself, from its reset vector; a direct boot's tables are where acpiTables put them.
        vm.wakeFromS3(vm.hasFirmware ? null : vm.memory.readU32(FACS_ADDR + FACS_WAKING_VECTOR));
      }
      isaIrq(8, level);
    };
    this.rtc = new Mc146818({ clock, startEpochSeconds: start, ramBytes: opts.ramBytes, setIrq: rtcIrq });
    vm.addPortDevice(0x70, 2, this.rtc);
    this.kbc = new I8042({ setIrq: (n, l) => isaIrq(n, l), onReset: () => reset("i8042 reset"), setA20: (e) => a20.setKbc(e) });
    vm.addPortDevice(I8042.DATA_PORT, 1, this.kbc.data);
    vm.addPortDevice(I8042.COMMAND_PORT, 1, this.kbc.command);
    this.port92 = new Port92({ setA20: (e) => a20.setFast(e), onReset: () => reset("port 0x92 reset") });
    vm.addPortDevice(0x92, 1, this.port92);
    // PAM0 (0x59) bits 5:4 say where the BIOS area's reads go: DRAM once its read enable (bit 4) is set, as SeaBIOS
    // sets it to shadow itself. The core has one switch for the whole low ROM window (0xE0000-0xFFFFF): writes go to
    // DRAM too while it is on (a read-only PAM setting's write protection is not modelled).
    this.pci.add(0, 0, createI440fx({
      onConfigWrite: (f, offset, size) => {
        if (offset <= I440FX_PAM0 && offset + size > I440FX_PAM0) vm.core.setRomShadowed((f.config[I440FX_PAM0]! & 0x10) !== 0);
      },
    }));
    const isa: Piix3IsaBridge = new Piix3IsaBridge({ onConfigWrite: () => intx.reroute() });
    // PIRQA-D reach the ISA IRQ the PIIX3 routes them to — the 8259A and that I/O APIC pin, which SeaBIOS's MP table
    // names — and the I/O APIC directly on pins 16-19, which our MP table and the DSDT's _PRT name.
    const intx = new PciIntxRouter(isa, (irq, level) => isaIrq(irq, level), ioapic ? (n, level) => ioapic.setPin(PCI_IOAPIC_PIN_BASE + n, level) : undefined);
    this.pci.add(1, 0, isa);
    PciSlots.routePirqs(isa, pic);
    this.pciSlots = new PciSlots(this.pci, intx, {
      mapPorts: (base, len, dev) => vm.addPortDevice(base, len, dev),
      unmapPorts: (dev) => vm.ports.unregister(dev),
      mapMmio: (base, len, dev) => vm.addMmioDevice(base, len, dev),
      unmapMmio: (dev) => vm.removeMmioDevice(dev),
    });
    this.resetControl = new ResetControl((kind) => reset(`0xCF9 ${kind} reset`));
    vm.addPortDevice(PciHost.PORT, 8, new PciHost(this.pci, this.resetControl));

    const onSerial = opts.onSerial, onDebugcon = opts.onDebugcon, onVirtioConsole = opts.onVirtioConsole;
    this.uart = new Uart16550({ onTransmit: onSerial && ((b) => { if (!this.outputMuted) onSerial(b); }), raiseIrq: (l) => isaIrq(4, l) });
    vm.addPortDevice(COM1_PORT, 8, this.uart);
    vm.addPortDevice(IsaDebugExit.DEFAULT_PORT, IsaDebugExit.DEFAULT_LENGTH, new IsaDebugExit({
      onExit: (status) => {
        this.exitStatus = status;
        vm.requestStop({ kind: "debug-exit", status });
      },
    }));
    vm.addPortDevice(PostCode.DEFAULT_PORT, 1, this.postCode);
    // Port 0x80 is also Linux's I/O delay port (outb_p/inb_p write it after every slow access):
    // recording a POST code needs no VMM decision, so it is served without exits.
    vm.direct.set(PostCode.DEFAULT_PORT, 1, this.postCode, { read: true, write: true });
    // CPU-test ROMs such as test386.asm report progress on 0x190 by default.
    vm.addPortDevice(0x190, 1, this.postCode);
    if (onDebugcon) vm.addPortDevice(opts.debugconPort ?? Debugcon.DEFAULT_PORT, 1, new Debugcon({ onOutput: (b) => { if (!this.outputMuted) onDebugcon(b); } }));
    if (opts.testdev) {
      this.testdev = new PcTestdev({ setIrq: (n, l) => isaIrq(n, l) });
      this.testdev.attach(vm);
    }
    if (opts.vga) {
      // The legacy window 0xA0000-0xBFFFF, an MMIO hole on a PC without a display, becomes the RAM behind it: the
      // text memory a text mode shows (src/devices/vga/vga.ts says why RAM is enough for that).
      vm.core.setVgaHole(false);
      this.vga = new Vga(vm.memory, (message) => {
        this.deviceErrors.push(message);
        vm.requestStop({ kind: "device-error", message });
      });
      vm.addPortDevice(VGA_PORT_BASE, VGA_PORT_COUNT, this.vga);
      vm.addPortDevice(VBE_PORT_BASE, VBE_PORT_COUNT, this.vga.vbe);
      // The planar view of video memory: its pages are unassigned while it lasts, and those accesses come here.
      vm.addUnassignedMmioDevice(WINDOW_BASE, WINDOW_BYTES, this.vga.video.mmio);
    }
    const paging = createPaging(opts.paging ?? "direct");
    if (paging) vm.setPaging(paging);

    if (opts.hyperv) this.hyperv = this.attachHyperv(opts.testdev ?? false);
    if (opts.kvmParavirt ?? true) this.kvm = new KvmParavirt(vm, { clock, bootEpochSeconds: start, cpuidBase: this.hyperv ? 0x40000100 : undefined });
    if (opts.pvpanic ?? true) {
      const p = new PvPanic(() => vm.requestStop({ kind: "guest-panic", message: "the guest kernel panicked (pvpanic)" }));
      this.pciSlots.add(p.pci);
      p.attach(this.pciSlots.addressSpaces);
      this.pvpanic = p;
    }
    const ideDisks = (opts.disks ?? []).filter((d) => d.interface === "ide");
    if (ideDisks.length > 0) {
      const ide = new PiixIde(ideDisks.map((d) => d.backend), { memory: vm.memory, setIrq: (n, l) => isaIrq(n, l), onFatal: (m) => this.diskFailed(m) });
      this.disks.push(...ideDisks.map((d) => d.backend));
      this.pciSlots.add(ide.pci, 1, 1);
      ide.attach((base, len, dev) => vm.addPortDevice(base, len, dev), this.pciSlots.addressSpaces);
      this.ide = ide;
    }
    for (const d of opts.disks ?? []) if (d.interface !== "ide") this.addDisk(d);
    if (onVirtioConsole) this.virtioConsole = this.addVirtio(new VirtioConsole((bytes) => { if (!this.outputMuted) onVirtioConsole(bytes); }));
    if (opts.rng) this.rng = this.addVirtio(new VirtioRng(mode === "deterministic" ? seededEntropy(start) : hostEntropy));
    if (opts.symbiotic ?? true) new Symbiotic(vm);
    if (opts.swapBypass && !(paging instanceof ShadowPaging)) throw new Error("SwapBypass is a mode of the shadow pager: it needs shadow paging (--paging shadow)");
    if (opts.swapBypass && !vm.symbiotic) throw new Error("SwapBypass asks the guest by SymCall: it needs the symbiotic interfaces (--symbiotic)");
    if (opts.swapBypass && !opts.swapDiskBytes) throw new Error("SwapBypass needs a swap disk in VMM memory (--swap MB)");
    if (opts.swapDiskBytes) {
      this.swapDisk = new SwapDisk(vm.memory, opts.swapDiskBytes);
      this.addDisk({ backend: this.swapDisk, serial: SWAP_DISK_SERIAL });
      if (opts.swapBypass) this.swapBypass = new SwapBypass(vm, paging as ShadowPaging, this.swapDisk);
    }
    if (opts.balloon) {
      const balloon = this.balloon = this.addVirtio(new VirtioBalloon(vm.memory));
      vm.onEptViolation((e) => (balloon.faultBack(e.gpa) ? "resume" : undefined)); // a page the guest touched before it deflated
    }
  }

  /**
   * The disks as the monitor's info block and info blockstats name them (QEMU's ids: ide0-hd0 … for the PIIX3's
   * drives by channel and unit, virtio0 … for virtio-blk in PCI order), with where they are and what they did.
   */
  blockDevices(): BlockDeviceInfo[] {
    const ide = (this.ide?.drives() ?? []).map((d) => ({
      id: `ide${d.channel}-hd${d.unit}`, backend: d.backend, stats: d.stats,
      attached: `PIIX3 IDE (PCI 00:01.1), ${d.channel ? "secondary" : "primary"} channel, ${d.unit ? "slave" : "master"}`,
    }));
    const virtio = this.virtioBlk.map((blk, i) => {
      const at = this.pci.addressOf(this.virtio.find((t) => t.device === blk)!.pci);
      return { id: `virtio${i}`, backend: blk.backend, stats: blk.stats, attached: `virtio-blk${at ? ` (PCI ${at})` : ""}` };
    });
    return [...ide, ...virtio];
  }

  /** The interrupt controllers, for the monitor's info pic: the 8259 pair, then the I/O APIC (none with --no-apic). */
  interruptControllers(): { describe(): string[] }[] { return [this.pic, ...this.ioapic ? [this.ioapic] : []]; }

  /** A network card plugged in from outside the PC (machine/nics.ts's NE2000s): snapshots hold it. */
  addNetworkCard(card: NetworkCard): void { this.networkCards.push(card); }

  // ---- snapshots (src/vmm/snapshot.ts) ----------------------------------------------------------

  /**
   * The machine as it is now — vCPUs, RAM, every device, virtual time — as bytes that {@link loadSnapshot} takes back
   * into this PC or one built with the same options (QEMU's savevm/loadvm, v86's save_state). Between runs only.
   * Of the disks it holds what their images do not (a disk in memory, a ,snapshot overlay's writes); an image the guest
   * writes in place, or a device that cannot be saved yet, is refused with a SnapshotError naming it. `savedBy`: how
   * the machine was started (the CLI's command line), for the error of a load into a machine that differs.
   */
  saveSnapshot(opts: { savedBy?: string } = {}): Uint8Array {
    return encodeSnapshot({ ...this.snapshotState(), ...opts.savedBy ? { savedBy: opts.savedBy } : {} });
  }

  /**
   * The tree {@link saveSnapshot} encodes. `group`: as one machine of a snapshot of every VM of the run
   * (group-snapshot.ts), which may hold a network card they share.
   */
  snapshotState(opts: { group?: boolean } = {}): State {
    if (!opts.group && this.networkCards.some((c) => c.shared)) {
      throw new SnapshotError("savevm: this machine's NE2000 is shared with other VMs (--vms, shared=): only a snapshot of all of them holds it");
    }
    const unsaved = [
      ...this.disks.filter((d) => !d.save).map((d) => `the disk ${d.name}`),
      ...this.virtio.filter((t) => !(t.device instanceof VirtioRng || t.device instanceof VirtioConsole || t.device instanceof VirtioBlk || t.device instanceof VirtioNet || t.device instanceof VirtioBalloon)).map((t) => t.device.name),
    ];
    if (unsaved.length > 0) throw new SnapshotError(`savevm: snapshots of a machine with ${[...new Set(unsaved)].join(", ")} are not supported yet`);
    const pci = this.pci.save(new Set([
      this.pci.get(0, 0)!, this.pci.get(1, 0)!, ...this.pvpanic ? [this.pvpanic.pci] : [], ...this.ide ? [this.ide.pci] : [],
      ...this.virtio.map((t) => t.pci), ...this.networkCards.map((c) => c.pci),
    ]));
    const vm = this.vm.save();
    const devices: State = {};
    for (const [name, part] of this.snapshotParts()) devices[name] = part.save();
    return { machine: this.snapshotIdentity(), vm, devices, pci, exitStatus: this.exitStatus };
  }

  /**
   * Take back a snapshot {@link saveSnapshot} made — of this PC or of one built with the same options — replacing
   * all of this one's state; the next run goes on from the saved instant. A snapshot of a different machine (RAM,
   * vCPUs, devices) is refused with a SnapshotError saying how they differ, this PC unchanged.
   */
  loadSnapshot(bytes: Uint8Array): void {
    const tree = decodeSnapshot(bytes);
    const vms = groupSize(tree);
    if (vms !== null) throw new SnapshotError(`snapshot: of ${vms} VMs (--vms ${vms}): it goes back into as many, started with the options they had`);
    this.restoreSnapshotState(tree);
  }

  /** Take back {@link snapshotState}'s tree (`group`: one machine of a snapshot of every VM of the run). */
  restoreSnapshotState(tree: State, opts: { group?: boolean } = {}): void {
    if (!opts.group && this.networkCards.some((c) => c.shared)) {
      throw new SnapshotError("snapshot: this machine's NE2000 is shared with other VMs: it goes back only with all of them");
    }
    this.checkSnapshotFits(tree);
    const devices = part(tree, "devices"), parts = this.snapshotParts();
    this.vm.restore(part(tree, "vm"));
    for (const [name, p] of parts) p.restore(part(devices, name));
    this.pci.restore(part(tree, "pci"));
    this.exitStatus = tree.exitStatus as number | null;
  }

  /** Every machine of a snapshot of several VMs is back (group-snapshot.ts): the network cards they share settle. */
  groupRestored(): void { for (const c of this.networkCards) c.groupRestored?.(); }

  /** A SnapshotError unless {@link snapshotState}'s tree is of a machine like this one, with every part there. */
  checkSnapshotFits(tree: State): void {
    const mine = this.snapshotIdentity(), theirs = part(tree, "machine");
    for (const [key, value] of Object.entries(mine)) {
      if (!(key in theirs) && value === "none") continue; // (a snapshot from before the key was recorded: that machine had none)
      if (theirs[key] !== value) throw new SnapshotError(`snapshot: its machine's ${key} is ${String(theirs[key])}, this one's ${String(value)}`);
    }
    part(tree, "vm"); part(tree, "pci");
    const devices = part(tree, "devices");
    for (const [name] of this.snapshotParts()) part(devices, name);
  }

  /**
   * The machine as the GDB stub's reverse execution needs it (src/debug/history.ts), or why it cannot go back: it
   * needs the deterministic clock — every instruction's effect then follows from the machine's state and the input
   * it is given, which the history logs (host input; what network cards receive: src/net/link.ts; on a
   * multiprocessor, which vCPUs GDB let run) — and devices snapshots hold (the first checkpoint says which not).
   */
  rewindable(): RewindableMachine | string {
    if (this.clock.mode !== "deterministic") return "it needs the deterministic clock (symbiont … --deterministic)";
    const links = [...this.virtio.flatMap((t) => t.device instanceof VirtioNet ? [t.device.link] : []), ...this.networkCards.map((c) => c.link)];
    if (links.some((l) => l === undefined)) return "its network card is a VPIO NE2000 other VMs share: the frames it receives are not this machine's alone";
    const cables = links as NicLink[];
    // A checkpoint is the machine's snapshot and, beside it, what its cables hold (frames waiting, transmits so far).
    const cableState = new WeakMap<Uint8Array, LinkCheckpoint[]>();
    const keyboard = this.kbc.keyboard, uart = this.uart, console = this.virtioConsole;
    return {
      retired: () => this.vm.core.getRetired(),
      save: () => {
        const bytes = this.saveSnapshot();
        cableState.set(bytes, cables.map((l) => l.checkpoint()));
        return bytes;
      },
      load: (bytes) => {
        this.loadSnapshot(bytes);
        cableState.get(bytes)?.forEach((c, i) => cables[i]!.restoreCheckpoint(c));
      },
      mute: (on) => { this.outputMuted = on; for (const l of cables) l.mute(on); },
      observeInput: (listener) => {
        const tap = (deliver: (bytes: number[]) => void) => (listener ? (bytes: number[]) => listener(() => deliver(bytes)) : () => {});
        uart.inputTap = tap((b) => uart.receive(b));
        keyboard.inputTap = tap((b) => keyboard.sendScancodes(b));
        if (console) console.inputTap = tap((b) => console.receive(b));
        for (const l of cables) l.record(listener);
      },
    };
  }

  /** What must be the same for a snapshot to fit: a mismatch is named in loadSnapshot's error. */
  private snapshotIdentity(): State {
    return {
      "RAM (--mem)": this.vm.ramBytes, "vCPUs (--smp)": this.cpus, "APICs": this.ioapic !== null,
      "paging (--paging)": this.vm.paging?.mode ?? "direct", "clock": this.clock.mode,
      "devices": this.virtio.map((t) => t.device.name).join(",") || "none",
      "disks": this.disks.map((d) => `${d.name} (${d.size} bytes${d.readOnly ? ", read-only" : ""})`).join(", ") || "none",
      "VGA (--vga)": this.vga !== null, "symbiotic interfaces": this.vm.symbiotic !== null, "kvmclock": this.kvm !== null, "pvpanic": this.pvpanic !== null,
      "network cards (--nic)": this.networkCardNames().join(", ") || "none",
      "SwapBypass (--swapbypass)": this.swapBypass ? "on" : "none",
      "Hyper-V enlightenments (--hyperv)": this.hyperv ? "on" : "none",
      "CPU features offered": this.cpuFeatures || "none",
      "pc-testdev (--testdev)": this.testdev ? "on" : "none",
    };
  }

  /** The network cards, each with its station address (virtio-net in its PCI slot's order, then the NE2000s). */
  private networkCardNames(): string[] {
    return [
      ...this.virtio.flatMap((t) => t.device instanceof VirtioNet ? [`virtio-net ${formatMac(t.device.mac)}`] : []),
      ...this.networkCards.map((c) => c.identity),
    ];
  }

  /** The parts of the machine a snapshot holds, by name; the PCI configuration spaces come after them. */
  private snapshotParts(): [string, Saveable][] {
    const fields = (o: object): Saveable => ({ save: () => saveFields(o), restore: (s) => restoreFields(o, s) });
    const parts: [string, Saveable][] = [
      ["pic", this.pic], ["pit", this.pit], ["port61", fields(this.port61)], ["rtc", this.rtc], ["kbc", this.kbc],
      ["port92", fields(this.port92)], ["resetControl", fields(this.resetControl)], ["a20", this.a20],
      ["uart", fields(this.uart)], ["postCode", fields(this.postCode)], ["pm", fields(this.pm)], ["fwCfg", this.fwCfg],
    ];
    if (this.ioapic) parts.push(["ioapic", fields(this.ioapic)]);
    this.lapics.forEach((l, i) => parts.push([`lapic${i}`, l]));
    this.msrs.forEach((m, i) => parts.push([`msrs${i}`, m]));
    if (this.kvm) parts.push(["kvmclock", fields(this.kvm)]);
    if (this.hyperv) parts.push(["hyperv", this.hyperv]);
    if (this.hypervTestdev) parts.push(["hyperv-testdev", this.hypervTestdev]); // (after the SynICs: they drop what waits)
    if (this.testdev) parts.push(["pc-testdev", this.testdev]);
    if (this.vm.symbiotic) parts.push(["symspy", this.vm.symbiotic.spy], ["symcall", this.vm.symbiotic.symcall]);
    if (this.pvpanic) parts.push(["pvpanic", fields(this.pvpanic)]);
    this.virtio.forEach((t, i) => parts.push([`virtio${i}`, t]));
    if (this.ide) parts.push(["ide", this.ide]);
    if (this.vga) parts.push(["vga", this.vga]);
    this.disks.forEach((d, i) => parts.push([`disk${i}`, d as Saveable]));
    this.networkCards.forEach((c, i) => parts.push([`nic${i}`, c]));
    if (this.swapBypass) parts.push(["swapbypass", this.swapBypass]);
    return parts;
  }

  /**
   * Plug a virtio device into the next free PCI slot behind the virtio PCI
   * transport (its pin routed like any PCI function's). Returns the device.
   */
  addVirtio<D extends VirtioDevice>(device: D): D {
    const slot = this.pciSlots.freeSlot();
    const t = new VirtioPci(device, {
      memory: this.vm.memory,
      setIntx: (level) => this.pciSlots.intx(slot, 0, level),
      onError: (message) => this.deviceErrors.push(message),
      // MSI-X when there are APICs to take the messages (Linux then needs no ISR read and no level-triggered EOI per interrupt).
      ...(this.apicBus ? { msi: (msg: ApicMessage) => this.apicBus!.send(msg) } : {}),
    });
    this.pciSlots.add(t.pci, slot);
    t.attach(this.pciSlots.addressSpaces);
    this.virtio.push(t);
    return device;
  }

  /** Add a virtio disk (what `disks` does at construction; IDE disks can only be given there). */
  addDisk(d: DiskOptions): void {
    if (d.interface === "ide") throw new Error("IDE disks are given when the PC is built (the disks option)");
    this.virtioBlk.push(this.addVirtio(new VirtioBlk(d.backend, { serial: d.serial, onFatal: (m) => this.diskFailed(m) })));
    this.disks.push(d.backend);
  }

  /** A disk image failed under the guest: record it and end the run. */
  private diskFailed(message: string): void {
    this.deviceErrors.push(message);
    this.vm.requestStop({ kind: "device-error", message });
  }

  /**
   * The APIC bus with one local APIC per vCPU and the I/O APIC; vCPUs 1.. are
   * added as application processors waiting for a start-up IPI.
   */
  private attachApics(pic: PicPair, cpus: number, x2apic: boolean): IoApic {
    const vm = this.vm, clock = this.clock;
    const bus = new ApicBus();
    this.apicBus = bus;
    const ioapic = new IoApic(bus, cpus);
    for (let i = 0; i < cpus; i++) {
      const vcpu = i === 0 ? vm.vcpus[0]! : vm.addVcpu();
      const lapic = new LocalApic({
        id: i, bsp: i === 0, bus, clock, pic: i === 0 ? pic : undefined, x2apic,
        cpu: {
          nmi: () => vm.nmiVcpu(i),
          init: () => vm.initVcpu(i),
          startup: (vector) => vm.startupVcpu(i, vector),
          kick: () => vm.direct.kick(), // an interrupt raised inside a direct port access ends the run after it
          tsc: () => vm.core.getTscOffset() + vm.core.getRetired(),
          tscHz: clock.tscFrequencyHz,
          unimplemented: (what) => vm.requestStop({ kind: "unimplemented", message: `unimplemented: ${what}` }),
        },
      });
      vcpu.interrupts = lapic;
      this.lapics.push(lapic);
      vm.switchTo(i);
      vm.core.setCpuidApic(true, i);
    }
    vm.core.setCpuidX2apic(x2apic);
    vm.switchTo(0);
    vm.core.setPauseExiting(cpus > 1);
    const current = () => this.lapics[vm.vcpu.index]!;
    vm.addMmioDevice(APIC_DEFAULT_BASE, 0x1000, {
      name: "local-apic",
      read: (offset, size) => current().read(offset, size),
      write: (offset, size, value) => current().write(offset, size, value),
    });
    vm.addMmioDevice(IOAPIC_BASE, 0x1000, ioapic);
    vm.onMsr(MSR_APIC_BASE, { read: () => current().readBaseMsr(), write: (_i, v) => current().writeBaseMsr(v) });
    vm.onMsr(MSR_TSC_DEADLINE, { read: () => current().readTscDeadline(), write: (_i, v) => { current().writeTscDeadline(v); return true; } });
    if (x2apic) {
      const x2apicRegister = { read: (i: number) => current().readX2apicMsr(i), write: (i: number, v: bigint) => current().writeX2apicMsr(i, v) };
      for (let i = 0; i < X2APIC_MSR_COUNT; i++) vm.onMsr(X2APIC_MSR_BASE + i, x2apicRegister);
    }
    return ioapic;
  }

  /** Hyper-V's SynIC raises its vectors in the local APICs, and its auto-EOI SINTs' vectors skip their ISRs. */
  private attachHyperv(testdev: boolean): Hyperv {
    if (this.lapics.length === 0) throw new Error("Hyper-V's SynIC interrupts through the local APICs: not with --no-apic");
    const hv = new Hyperv(this.vm, { clock: this.clock, vcpus: this.cpus, apicHz: APIC_BUS_HZ, raise: (i, vector) => this.lapics[i]!.accept(vector, false) });
    this.lapics.forEach((l, i) => { l.autoEoi = (v) => hv.vcpus[i]!.synic.autoEoi(v); });
    if (testdev) {
      this.hypervTestdev = new HypervTestdev(hv);
      this.vm.addPortDevice(HYPERV_TESTDEV_PORT, 4, this.hypervTestdev);
    }
    return hv;
  }

  private guestMemory() {
    const vm = this.vm;
    return { size: vm.ramBytes, write: (gpa: number, data: Uint8Array) => vm.memory.write(gpa, data) };
  }

  /**
   * Load a Multiboot kernel (ELF or a.out kludge) as QEMU's -kernel does, or a
   * flat binary at 1 MiB, and set the CPU to the Multiboot entry state, the
   * interrupt controllers and timer as the BIOS QEMU runs first leaves them.
   */
  loadKernel(image: Uint8Array, opts: { path: string; append?: string; modules?: MultibootModule[] }): BootEntry {
    // The loader's GDT and the BIOS's vectors first: a kernel loaded over them (at 0x8000, 0x20) keeps its own bytes.
    this.writeBootGdt();
    this.writeFirmwareTables(true);
    this.leaveBiosHandoffState();
    this.vga?.biosTextMode();
    let entry: BootEntry;
    if (isMultiboot(image)) {
      entry = loadMultiboot(image, this.guestMemory(), {
        cmdline: opts.append ?? "",
        kernelPath: opts.path,
        modules: opts.modules ?? [],
      });
    } else {
      if (opts.modules && opts.modules.length > 0) throw new Error("modules (--initrd) need a Multiboot kernel");
      entry = loadFlat(image, this.guestMemory());
    }
    this.enterProtectedMode(entry);
    return entry;
  }

  /**
   * Load a Linux bzImage (and initrd) with the 32-bit boot protocol and set
   * the CPU to its entry state: flat segments from the loader's GDT, ESI →
   * boot_params, paging and interrupts off.
   */
  loadLinux(kernel: Uint8Array, opts: { cmdline: string; initrd?: Uint8Array }): LinuxEntry {
    // The MP table only: our ACPI tables have no DSDT namespace (no PCI root bridge, no _PRT),
    // and Linux with ACPI would look for PCI devices there and find none.
    this.writeFirmwareTables(false);
    this.vga?.biosTextMode();
    const e = loadLinux(kernel, this.guestMemory(), { ...opts, vgaText: this.vga !== null });
    const code = { selector: e.cs, base: 0, limit: 0xffffffff, attr: Attr.flatCode32 };
    const data = { selector: e.ds, base: 0, limit: 0xffffffff, attr: Attr.flatData32 };
    this.vm.setState({
      cr0: 0x11, gdtr: e.gdt, idtr: { base: 0, limit: 0 },
      cs: code, ds: data, es: data, fs: data, gs: data, ss: data, cpl: 0,
      eflags: 2, eip: e.eip, esi: e.esi, eax: 0, ebx: 0, ebp: 0, edi: 0,
    });
    return e;
  }

  /** The MP table (machines with APICs) and, for Multiboot kernels, the ACPI tables, in the reserved BIOS area. */
  private writeFirmwareTables(acpi: boolean): void {
    if (!this.ioapic) return;
    const blobs = [...(acpi && this.acpi ? acpiTables(this.acpi) : []), ...mpTable(this.cpus)].sort((a, b) => a.addr - b.addr);
    blobs.forEach((b, i) => {
      const next = blobs[i + 1];
      if (next && b.addr + b.bytes.length > next.addr) throw new Error(`firmware table at 0x${b.addr.toString(16)} overruns the one at 0x${next.addr.toString(16)}`);
    });
    for (const b of blobs) this.vm.memory.write(b.addr, b.bytes);
  }

  /** The 8259As, the 8254's channel 0 and the real-mode vectors of their interrupts as a BIOS hands them over (boot/bios-handoff.ts). */
  private leaveBiosHandoffState(): void {
    for (const b of biosInterruptVectors()) this.vm.memory.write(b.addr, b.bytes);
    for (const [port, value] of BIOS_HANDOFF_PORT_WRITES) this.vm.ports.write(port, 1, value);
  }

  /** A GDT like the one QEMU's multiboot ROM leaves (code 0x10, data 0x18), at 0x8000. */
  private writeBootGdt(): void {
    const gdt = new Uint8Array(32);
    const dv = new DataView(gdt.buffer);
    dv.setUint32(16, 0x0000ffff, true); dv.setUint32(20, 0x00cf9a00, true);
    dv.setUint32(24, 0x0000ffff, true); dv.setUint32(28, 0x00cf9200, true);
    this.vm.memory.write(0x8000, gdt);
  }

  /** The Multiboot machine state: flat 32-bit segments, PE=1, paging and interrupts off. */
  enterProtectedMode(entry: BootEntry): void {
    const code = { selector: 0x10, base: 0, limit: 0xffffffff, attr: Attr.flatCode32 };
    const data = { selector: 0x18, base: 0, limit: 0xffffffff, attr: Attr.flatData32 };
    this.vm.setState({
      cr0: 0x11,
      gdtr: { base: 0x8000, limit: 31 },
      idtr: { base: 0, limit: 0x3ff },
      cs: code, ds: data, es: data, fs: data, gs: data, ss: data,
      cpl: 0,
      eflags: 2,
      eax: entry.eax, ebx: entry.ebx,
      eip: entry.eip,
    });
  }
}

export { qemuCommandLine };
