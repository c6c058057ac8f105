/**
 * The minimal PC used to run test kernels, multiboot kernels and BIOS ROMs:
 * which devices sit at which ports. (The full PC — PIC, PIT, RTC, i8042,
 * PCI — grows here as issue 4 lands.)
 *
 * | port        | device                                  |
 * |-------------|-----------------------------------------|
 * | 0x3F8-0x3FF | 16550A UART (COM1), the console          |
 * | 0xF4-0xF7   | isa-debug-exit (QEMU's test exit)        |
 * | 0x80, 0x190 | POST code recorder (0x190: test386.asm's default) |
 * | 0xE9        | debugcon (when an output is given)       |
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

export const COM1_PORT = 0x3f8;

export interface PcOptions {
  engine: Engine;
  ramBytes: number;
  /** Bytes the guest writes to COM1. */
  onSerial(byte: number): void;
  /** Bytes written to the debugcon port 0xE9 (device absent when omitted). */
  onDebugcon?(byte: number): void;
}

export class Pc {
  readonly vm: Vm;
  readonly uart: Uart16550;
  readonly postCode = new PostCode();
  /** Status written to isa-debug-exit, once the guest has written it. */
  exitStatus: number | null = null;

  constructor(opts: PcOptions) {
    const vm = new Vm(opts.engine, opts.ramBytes);
    this.vm = vm;
    this.uart = new Uart16550({ onTransmit: opts.onSerial });
    vm.addPortDevice(COM1_PORT, 8, this.uart);
    vm.addPortDevice(IsaDebugExit.DEFAULT_PORT, IsaDebugExit.DEFAULT_LENGTH, new IsaDebugExit({
      onExit: (status) => {
        this.exitStatus = status;
        vm.requestStop({ kind: "debug-exit", status });
      },
    }));
    vm.addPortDevice(PostCode.DEFAULT_PORT, 1, this.postCode);
    // CPU-test ROMs such as test386.asm report progress on 0x190 by default.
    vm.addPortDevice(0x190, 1, this.postCode);
    if (opts.onDebugcon) vm.addPortDevice(Debugcon.DEFAULT_PORT, 1, new Debugcon({ onOutput: opts.onDebugcon }));
  }

  private guestMemory() {
    const vm = this.vm;
    return { size: vm.ramBytes, write: (gpa: number, data: Uint8Array) => vm.writePhysical(gpa, data) };
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

  /** The Multiboot machine state: flat 32-bit segments, PE=1, paging and interrupts off. */
  enterProtectedMode(entry: BootEntry): void {
    // A GDT like the one QEMU's multiboot ROM leaves (code 0x10, data 0x18), at 0x8000.
    const gdt = new Uint8Array(32);
    const dv = new DataView(gdt.buffer);
    dv.setUint32(16, 0x0000ffff, true); dv.setUint32(20, 0x00cf9a00, true);
    dv.setUint32(24, 0x0000ffff, true); dv.setUint32(28, 0x00cf9200, true);
    this.vm.writePhysical(0x8000, gdt);
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
