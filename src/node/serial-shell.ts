/**
 * Drive a guest's shell on the PC's serial port, for tests and benchmarks:
 * run the VM until its output says something, type a command line and get
 * what it printed (between two markers the shell expands, so the echoed
 * command line never matches).
 *
 * ```ts
 * const shell = new SerialShell(pc);            // before the guest boots: it records COM1
 * await shell.until((out) => out.includes("# "));
 * const text = await shell.sh("cat /proc/meminfo");
 * ```
 *
 * @module
 */
import type { Pc } from "../machine/pc.js";

/**
 * Guest instructions between two looks at the output (and two chances to type): small enough that a
 * command's end is seen soon after it prints (an idle guest's time goes by as instructions on the
 * deterministic clock, and each timer tick it wakes for costs the host an exit), large enough that the
 * looks cost nothing beside the guest's work.
 */
const STEP = 1_000_000;

export class SerialShell {
  private bytes: number[] = [];
  /** When (performance.now()) each byte of `bytes` arrived. */
  private times: number[] = [];
  private n = 0;
  private text = "";
  private converted = 0;

  /** Record the PC's serial output: give `shell.onSerial` as the Pc's `onSerial`, then `attach(pc)`. */
  readonly onSerial = (b: number): void => { this.bytes.push(b); this.times.push(performance.now()); };
  private pc!: Pc;

  attach(pc: Pc): this { this.pc = pc; return this; }

  /** Everything the guest printed, carriage returns removed. */
  get output(): string {
    if (this.converted < this.bytes.length) {
      this.text += Buffer.from(this.bytes.slice(this.converted)).toString("latin1").replace(/\r/g, "");
      this.converted = this.bytes.length;
    }
    return this.text;
  }

  /** Run the guest until `done(output)`, at most `max` more instructions (throws past that, or if the VM stops). */
  async until(done: (out: string) => boolean, max = 5e9): Promise<void> {
    const vm = this.pc.vm;
    const retired = (): number => vm.core.getRetired(); // (vm.stats() builds every counter: too much for each look)
    const end = retired() + max;
    while (retired() < end) {
      const stop = vm.run(STEP);
      // Every vCPU halted until the next timer (host clock): let that time pass.
      if (stop.kind === "idle") await new Promise((r) => setTimeout(r, Math.min(10, Math.max(0, (stop.untilNs - this.pc.clock.nowNs()) / 1e6))));
      else if (stop.kind !== "budget") throw new Error(`guest stopped: ${JSON.stringify(stop)}\n${this.output.slice(-2000)}`);
      if (done(this.output)) return;
    }
    throw new Error(`guest did not get there in ${max} instructions:\n${this.output.slice(-3000)}`);
  }

  /** Type a shell command line; its output. */
  async sh(command: string, max = 5e9): Promise<string> { return (await this.timed(command, max)).output; }

  /**
   * Type a shell command line; its output and the host milliseconds it ran for: from the shell's line
   * before it (the begin marker's last byte arriving) to the line after it (the end marker's first byte) —
   * without the typing and the looks at the output around it.
   */
  async timed(command: string, max = 5e9): Promise<{ output: string; ms: number }> {
    const id = ++this.n;
    const begin = `B${id}-$((0))B`, end = `E${id}-$((0))E`;
    const from = this.bytes.length;
    const pending = [...Buffer.from(`echo ${begin}; ${command}; echo ${end}\n`, "latin1")];
    const want = `E${id}-0E`;
    const fromText = this.output.length;
    await this.until((out) => {
      if (pending.length) this.pc.uart.receive(pending.splice(0, this.pc.uart.receiveSpace));
      return out.indexOf(want, fromText) >= 0;
    }, max);
    const m = new RegExp(`B${id}-0B\\n([\\s\\S]*?)E${id}-0E`).exec(this.output.slice(fromText));
    if (!m) throw new Error(`no output markers for ${command}:\n${this.output.slice(fromText)}`);
    // The markers in the raw bytes (carriage returns kept): the begin marker's line ends with its newline.
    const raw = Buffer.from(this.bytes.slice(from)).toString("latin1");
    const b = raw.indexOf(`B${id}-0B`), e = raw.indexOf(want, b);
    const ms = this.times[from + e]! - this.times[from + b + `B${id}-0B`.length - 1]!;
    return { output: m[1]!, ms };
  }
}
