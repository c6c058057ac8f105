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
 * | 0xF4-0xF7     | isa-debug-exit (QEMU's test exit)                    |
 * | 0x80, 0x190   | POST code recorder (0x190: test386.asm's default)    |
 * | 0xE9          | debugcon (when an output is given)                   |
 * | 0xE0-0xEB, 0x2000-0x2017, MMIO 0xFF000000 | pc-testdev (only with `testdev: true`) |
 *
 * There is no local APIC (CPUID says so), so Linux uses the 8259A pair.
 * The symbiotic interfaces (CPUID 0x90000000, MSRs 0x534-0x540, VMCALL
 * 0x535/0x536) are there unless `symbiotic: false`.
 *
 * @module
 */
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
import { Mc146818 } from "../devices/mc146818.js";
import { I8042 } from "../devices/i8042.js";
import { SystemControlB, Port92, ResetControl, A20Gate } from "../devices/system-ports.js";
import { PciBus, PciHost, createI440fx, Piix3IsaBridge } from "../devices/pci.js";
import { loadLinux, type LinuxEntry } from "../boot/linux.js";
import { PcTestdev } from "../devices/pc-testdev.js";
import { Symbiotic } from "../symbiotic/symbiotic.js";

export const COM1_PORT = 0x3f8;

export interface PcOptions {
  engine: Engine;
  ramBytes: number;
  /** Bytes the guest writes to COM1. */
  onSerial(byte: number): void;
  /** Bytes written to the debugcon port 0xE9 (device absent when omitted). */
  onDebugcon?(byte: number): void;
  /** "deterministic": time from retired instructions (same input, same output); "host" (default): real time. */
  clock?: ClockMode;
  /** Wall-clock time at power-on for the RTC (seconds since the Unix epoch); default: now, or 2026-01-01 when deterministic. */
  startEpochSeconds?: number;
  /** Add QEMU's pc-testdev (MMIO 0xFF000000-0xFF00FFFF, ports 0xE0-0xEB, 0x2000-0x2017), as `-device pc-testdev`. */
  testdev?: boolean;
  /** Offer the symbiotic interfaces (CPUID 0x90000000, SymSpy, SymCall; src/symbiotic) — default true. */
  symbiotic?: boolean;
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
  /** Status written to isa-debug-exit, once the guest has written it. */
  exitStatus: number | null = null;

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
    vm.interrupts = pic;
    const reset = (why: string) => vm.requestStop({ kind: "reset", why });
    const a20 = new A20Gate((on) => vm.core.setA20(on));

    vm.addPortDevice(PicPair.MASTER_PORT, 2, pic.master);
    vm.addPortDevice(PicPair.SLAVE_PORT, 2, pic.slave);
    vm.addPortDevice(PicPair.ELCR_PORT, 2, pic.elcr);
    this.pit = new I8254({ clock, setIrq: (l) => pic.setIrq(0, l) });
    vm.addPortDevice(0x40, 4, this.pit);
    vm.addPortDevice(0x61, 1, new SystemControlB(this.pit, clock));
    const start = opts.startEpochSeconds ?? (mode === "deterministic" ? 1767225600 : Math.floor(Date.now() / 1000));
    this.rtc = new Mc146818({ clock, startEpochSeconds: start, ramBytes: opts.ramBytes, setIrq: (l) => pic.setIrq(8, l) });
    vm.addPortDevice(0x70, 2, this.rtc);
    this.kbc = new I8042({ setIrq: (n, l) => pic.setIrq(n, l), onReset: () => reset("i8042 reset"), setA20: (e) => a20.setKbc(e) });
    vm.addPortDevice(I8042.DATA_PORT, 1, this.kbc.data);
    vm.addPortDevice(I8042.COMMAND_PORT, 1, this.kbc.command);
    vm.addPortDevice(0x92, 1, new Port92({ setA20: (e) => a20.setFast(e), onReset: () => reset("port 0x92 reset") }));
    this.pci.add(0, 0, createI440fx());
    this.pci.add(1, 0, new Piix3IsaBridge());
    vm.addPortDevice(PciHost.PORT, 8, new PciHost(this.pci, new ResetControl((kind) => reset(`0xCF9 ${kind} reset`))));

    this.uart = new Uart16550({ onTransmit: opts.onSerial, raiseIrq: (l) => pic.setIrq(4, l) });
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
    if (opts.onDebugcon) vm.addPortDevice(Debugcon.DEFAULT_PORT, 1, new Debugcon({ onOutput: opts.onDebugcon }));
    if (opts.testdev) new PcTestdev({ setIrq: (n, l) => pic.setIrq(n, l) }).attach(vm);
    if (opts.symbiotic ?? true) new Symbiotic(vm);
  }

  private guestMemory() {
    const vm = this.vm;
    return { size: vm.ramBytes, write: (gpa: number, data: Uint8Array) => vm.memory.write(gpa, data) };
  }

  /**
   * Load a Multiboot kernel (ELF or a.out kludge) as QEMU's -kernel does, or a
   * flat binary at 1 MiB, and set the CPU to the Multiboot entry state.
   */
  loadKernel(image: Uint8Array, opts: { path: string; append?: string; modules?: MultibootModule[] }): BootEntry {
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
    const e = loadLinux(kernel, this.guestMemory(), opts);
    const code = { selector: e.cs, base: 0, limit: 0xffffffff, attr: Attr.flatCode32 };
    const data = { selector: e.ds, base: 0, limit: 0xffffffff, attr: Attr.flatData32 };
    this.vm.setState({
      cr0: 0x11, gdtr: e.gdt, idtr: { base: 0, limit: 0 },
      cs: code, ds: data, es: data, fs: data, gs: data, ss: data, cpl: 0,
      eflags: 2, eip: e.eip, esi: e.esi, eax: 0, ebx: 0, ebp: 0, edi: 0,
    });
    return e;
  }

  /** The Multiboot machine state: flat 32-bit segments, PE=1, paging and interrupts off. */
  enterProtectedMode(entry: BootEntry): void {
    // A GDT like the one QEMU's multiboot ROM leaves (code 0x10, data 0x18), at 0x8000.
    const gdt = new Uint8Array(32);
    const dv = new DataView(gdt.buffer);
    dv.setUint32(16, 0x0000ffff, true); dv.setUint32(20, 0x00cf9a00, true);
    dv.setUint32(24, 0x0000ffff, true); dv.setUint32(28, 0x00cf9200, true);
    this.vm.memory.write(0x8000, gdt);
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
