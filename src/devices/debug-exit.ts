/**
 * QEMU's `isa-debug-exit` device: the conventional way for a test kernel to
 * end the run with a status, e.g. `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
 *
 * A write of value `v` (of whatever access width) asks the VMM to exit with
 * status `(v << 1) | 1`, exactly QEMU's formula — so a guest can never
 * produce status 0, and "exit code 1" means "the guest wrote 0". The status
 * is reported as an unsigned 32-bit number; a process exit code keeps only
 * its low 8 bits (as QEMU's `exit()` does), which the caller applies.
 * Reads return 0.
 *
 * @module
 */
import type { AccessSize, PortDevice } from "../vmm/bus.js";

/** Hooks for {@link IsaDebugExit}. */
export interface IsaDebugExitOptions {
  /** The guest requested exit with this status ((value << 1) | 1, unsigned 32-bit). */
  onExit(status: number): void;
}

/** isa-debug-exit; register with `bus.register(IsaDebugExit.DEFAULT_PORT, IsaDebugExit.DEFAULT_LENGTH, dev)`. */
export class IsaDebugExit implements PortDevice {
  /** The base the project's CLI and test kernels use (QEMU's own default is 0x501). */
  static readonly DEFAULT_PORT = 0xf4;
  /** iosize 4, so `outl` to the base stays inside the device. */
  static readonly DEFAULT_LENGTH = 4;

  readonly name = "isa-debug-exit";
  private readonly onExit: (status: number) => void;

  constructor(opts: IsaDebugExitOptions) {
    this.onExit = opts.onExit;
  }

  /** The exit status QEMU reports for a guest write of `value`. */
  static statusFor(value: number): number {
    return ((value << 1) | 1) >>> 0;
  }

  read(_offset: number, _size: AccessSize): number {
    return 0;
  }

  write(_offset: number, _size: AccessSize, value: number): void {
    this.onExit(IsaDebugExit.statusFor(value));
  }
}
