/**
 * Bochs/QEMU debug console at port 0xE9: a zero-setup output channel that
 * needs no UART programming, handy for the first lines of a test kernel.
 * Reads return 0xE9 (QEMU's default `readback`), which guests use to detect
 * the device.
 *
 * @module
 */
import type { AccessSize, PortDevice } from "../vmm/bus.js";

/** Hooks for {@link Debugcon}. */
export interface DebugconOptions {
  /** Called with each byte the guest writes. */
  onOutput(byte: number): void;
}

/** The 0xE9 debug console; register with length 1. */
export class Debugcon implements PortDevice {
  /** The port Bochs and QEMU use. */
  static readonly DEFAULT_PORT = 0xe9;
  /** The value reads return (QEMU's `readback` default). */
  static readonly READBACK = 0xe9;

  readonly name = "debugcon";
  private readonly onOutput: (byte: number) => void;

  constructor(opts: DebugconOptions) {
    this.onOutput = opts.onOutput;
  }

  read(_offset: number, _size: AccessSize): number {
    return Debugcon.READBACK;
  }

  /** Only the low byte is output, as QEMU does for any access width. */
  write(_offset: number, _size: AccessSize, value: number): void {
    this.onOutput(value & 0xff);
  }
}
