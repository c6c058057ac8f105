/**
 * Port 0x80 POST-code recorder. BIOSes and many kernels write progress
 * codes here (Linux also uses it as an I/O delay); keeping the last codes
 * tells where a guest stopped when it hangs before it has a console.
 *
 * @module
 */
import type { AccessSize, PortDevice } from "../vmm/bus.js";

/** POST code port; register with length 1 (a wider write is split by the bus, so the code is its low byte). */
export class PostCode implements PortDevice {
  /** The PC's POST diagnostic port. */
  static readonly DEFAULT_PORT = 0x80;
  /** How many codes {@link history} keeps. */
  static readonly HISTORY = 64;

  readonly name = "post-code";
  /** The last code written, or null if none yet. */
  last: number | null = null;
  /** The last HISTORY codes written, in a ring (a guest may write millions: Linux's I/O delay). */
  private readonly ring = new Uint8Array(PostCode.HISTORY);
  private written = 0;

  /** The most recent codes, oldest first, at most {@link PostCode.HISTORY}. */
  get history(): number[] {
    const n = Math.min(this.written, PostCode.HISTORY);
    const out: number[] = [];
    for (let i = this.written - n; i < this.written; i++) out.push(this.ring[i % PostCode.HISTORY]!);
    return out;
  }

  /** Reads return the last code (0xff, the floating-bus value, before the first write). */
  read(_offset: number, size: AccessSize): number {
    const v = this.last ?? 0xff;
    return size === 1 ? v : size === 2 ? v | 0xff00 : (v | 0xffffff00) >>> 0;
  }

  write(_offset: number, _size: AccessSize, value: number): void {
    const code = value & 0xff;
    this.last = code;
    this.ring[this.written++ % PostCode.HISTORY] = code;
  }
}
