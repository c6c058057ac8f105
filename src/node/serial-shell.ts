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

export class SerialShell {
  private bytes: number[] = [];
  private n = 0;

  /** Record the PC's serial output: give `shell.onSerial` as the Pc's `onSerial`, then `attach(pc)`. */
  readonly onSerial = (b: number): void => { this.bytes.push(b); };
  private pc!: Pc;

  attach(pc: Pc): this { this.pc = pc; return this; }

  /** Everything the guest printed, carriage returns removed. */
  get output(): string { return Buffer.from(this.bytes).toString("latin1").replace(/\r/g, ""); }

  /** Run the guest until `done(output)`, at most `max` more instructions (throws past that, or if the VM stops). */
  async until(done: (out: string) => boolean, max = 5e9): Promise<void> {
    const vm = this.pc.vm;
    const end = vm.stats().instructions + max;
    while (vm.stats().instructions < end) {
      const stop = vm.run(10_000_000);
      // Every vCPU halted until the next timer (host clock): let that time pass.
      if (stop.kind === "idle") await new Promise((r) => setTimeout(r, Math.min(10, Math.max(0, (stop.untilNs - this.pc.clock.nowNs()) / 1e6))));
      else if (stop.kind !== "budget") throw new Error(`guest stopped: ${JSON.stringify(stop)}\n${this.output.slice(-2000)}`);
      if (done(this.output)) return;
    }
    throw new Error(`guest did not get there in ${max} instructions:\n${this.output.slice(-3000)}`);
  }

  /** Type a shell command line; its output. */
  async sh(command: string, max = 5e9): Promise<string> {
    const id = ++this.n;
    const begin = `B${id}-$((0))B`, end = `E${id}-$((0))E`;
    const from = this.output.length;
    const pending = [...Buffer.from(`echo ${begin}; ${command}; echo ${end}\n`, "latin1")];
    const want = `E${id}-0E`;
    await this.until((out) => {
      if (pending.length) this.pc.uart.receive(pending.splice(0, this.pc.uart.receiveSpace));
      return out.indexOf(want, from) >= 0;
    }, max);
    const m = new RegExp(`B${id}-0B\\n([\\s\\S]*?)E${id}-0E`).exec(this.output.slice(from));
    if (!m) throw new Error(`no output markers for ${command}:\n${this.output.slice(from)}`);
    return m[1]!;
  }
}
