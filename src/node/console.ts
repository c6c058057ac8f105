/**
 * The host side of the guest's console: stdin feeds the guest's UART (or
 * its virtio console) at the pace its receive buffer allows (nothing is dropped), and a terminal is put in raw
 * mode with QEMU's escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.
 *
 * @module
 */
/** Where typed bytes go: the UART (COM1) or the virtio console (hvc0). */
export interface ConsoleSink {
  /** Bytes it can take now. */
  readonly receiveSpace: number;
  receive(bytes: number[]): void;
}

export class SerialConsole {
  private readonly pending: number[] = [];
  private escape = false;
  private ended = false;
  /** Set when the user typed Ctrl-A x. */
  quitRequested = false;
  private readonly onData = (d: Buffer) => this.accept(d);
  private readonly onEnd = () => { this.ended = true; };

  constructor(private readonly uart: ConsoleSink, private readonly input: NodeJS.ReadStream = process.stdin) {
    if (input.isTTY) input.setRawMode(true);
    input.on("data", this.onData);
    input.on("end", this.onEnd);
    input.on("error", this.onEnd);
  }

  private accept(d: Buffer): void {
    for (const b of d) {
      if (this.input.isTTY) {
        if (this.escape) {
          this.escape = false;
          if (b === 0x78 /* x */) { this.quitRequested = true; continue; }
          if (b !== 0x01) continue;
        } else if (b === 0x01) { this.escape = true; continue; }
      }
      this.pending.push(b);
    }
  }

  /** Move queued input into the UART while its FIFO has room; call between slices. */
  pump(): void {
    if (this.pending.length === 0) return;
    const n = Math.min(this.pending.length, this.uart.receiveSpace);
    if (n > 0) this.uart.receive(this.pending.splice(0, n));
  }

  /** True once stdin has closed and everything it sent reached the guest. */
  get drained(): boolean { return this.ended && this.pending.length === 0; }

  close(): void {
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    this.input.off("error", this.onEnd);
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
    this.input.unref?.();
  }
}
