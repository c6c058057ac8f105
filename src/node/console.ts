/**
 * The host side of the guest's console: stdin feeds the guest's UART (or
 * its virtio console) at the pace its receive buffer allows (nothing is
 * dropped), and a terminal is put in raw mode with QEMU's escapes: Ctrl-A x
 * quits, Ctrl-A c switches between the guest's console and the VMM monitor
 * (when one is given), Ctrl-A Ctrl-A sends Ctrl-A, and with several VMs
 * Ctrl-A n moves the input to the next one. Several VMs' output shares the
 * terminal line by line ({@link PrefixedOutput}).
 *
 * @module
 */
import type { Monitor } from "../vmm/monitor.js";

/** Where typed bytes go: the UART (COM1) or the virtio console (hvc0). */
export interface ConsoleSink {
  /** Bytes it can take now. */
  readonly receiveSpace: number;
  receive(bytes: number[]): void;
}

const PROMPT = "(symbiont) ";

/** The monitor's side of the terminal: a line editor whose lines the Monitor runs. */
export class MonitorConsole {
  private line = "";
  constructor(readonly monitor: Monitor, private readonly write: (s: string) => void) {}

  enter(): void { this.write(`\r\nSymbiont monitor — help lists the commands, Ctrl-A c goes back to the guest\r\n${PROMPT}`); }
  leave(): void { this.line = ""; this.write("\r\n"); }

  key(b: number): void {
    if (b === 0x0d || b === 0x0a) {
      this.write("\r\n");
      const out = this.monitor.execute(this.line);
      this.line = "";
      if (out) this.write(out.replace(/\n/g, "\r\n") + "\r\n");
      if (!this.monitor.quitRequested) this.write(PROMPT);
    } else if (b === 0x7f || b === 0x08) {
      if (this.line.length > 0) { this.line = this.line.slice(0, -1); this.write("\b \b"); }
    } else if (b === 0x03 || b === 0x15) { // Ctrl-C, Ctrl-U: drop the line
      this.line = "";
      this.write(`^C\r\n${PROMPT}`);
    } else if (b >= 0x20 && b < 0x7f) {
      this.line += String.fromCharCode(b);
      this.write(String.fromCharCode(b));
    }
  }
}

export class SerialConsole {
  private readonly pending: number[] = [];
  private escape = false;
  private ended = false;
  /** Set when the user typed Ctrl-A x (or quit in the monitor). */
  get quitRequested(): boolean { return this.quit || this.monitor?.monitor.quitRequested === true; }
  private quit = false;
  /** The terminal shows the monitor (Ctrl-A c), not the guest. */
  monitorActive = false;
  /** The monitor Ctrl-A c switches to (none: the escape is ignored). */
  monitor: MonitorConsole | null = null;
  /** Called when the user types Ctrl-A n (null: the escape is ignored). */
  onNext: (() => void) | null = null;
  private readonly onData = (d: Buffer) => this.accept(d);
  private readonly onEnd = () => { this.ended = true; };

  constructor(private uart: ConsoleSink, private readonly input: NodeJS.ReadStream = process.stdin) {
    if (input.isTTY) input.setRawMode(true);
    // (A console closed before — the machine a reset replaced — paused and unref'd the stream: a listener alone would not resume it.)
    input.ref?.();
    input.resume();
    input.on("data", this.onData);
    input.on("end", this.onEnd);
    input.on("error", this.onEnd);
  }

  private accept(d: Buffer): void {
    for (const b of d) {
      if (this.input.isTTY) {
        if (this.escape) {
          this.escape = false;
          if (b === 0x78 /* x */) { this.quit = true; continue; }
          if (b === 0x63 /* c */ && this.monitor) {
            this.monitorActive = !this.monitorActive;
            if (this.monitorActive) this.monitor.enter(); else this.monitor.leave();
            continue;
          }
          if (b === 0x6e /* n */) { this.onNext?.(); continue; }
          if (b !== 0x01) continue;
        } else if (b === 0x01) { this.escape = true; continue; }
      }
      if (this.monitorActive) this.monitor!.key(b);
      else this.pending.push(b);
    }
  }

  /** Move queued input into the UART (or hvc0) while it has room; call between slices. */
  pump(): void {
    if (this.pending.length === 0) return;
    const n = Math.min(this.pending.length, this.uart.receiveSpace);
    if (n > 0) this.uart.receive(this.pending.splice(0, n));
  }

  /** Send typed input to another guest console from now on. */
  retarget(sink: ConsoleSink): void { this.uart = sink; }

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

/**
 * Several VMs' output on one terminal: every line starts with the VM's tag
 * (`[vm1] `). A line one VM leaves unfinished (a shell prompt) is ended
 * before another VM's output, and its rest gets the tag again.
 */
export class PrefixedOutput {
  /** The VM whose line is open (its last byte was not a newline), or -1. */
  private open = -1;
  private readonly buf: number[] = [];

  constructor(private readonly tags: readonly string[], private readonly write: (bytes: Uint8Array) => void) {}

  push(vm: number, byte: number): void {
    if (this.open !== vm) {
      if (this.open >= 0) this.buf.push(0x0a);
      for (let i = 0; i < this.tags[vm]!.length; i++) this.buf.push(this.tags[vm]!.charCodeAt(i));
      this.open = vm;
    }
    this.buf.push(byte);
    if (byte === 0x0a) this.open = -1;
    if (this.buf.length >= 4096) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.write(Uint8Array.from(this.buf));
    this.buf.length = 0;
  }
}
