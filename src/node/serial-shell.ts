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

/** A command's output and host time (SerialShell.timed). */
export interface TimedOutput {
  output: string;
  ms: number;
  /** The output's lines, each with the host ms from the command's start to its newline. */
  lines: { text: string; ms: number }[];
  /** Whether the command was still running at `cutMs` and was interrupted. */
  cut: boolean;
}

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
   * without the typing and the looks at the output around it. `lines` are the output's lines, each with
   * the host milliseconds from that start to its newline's arrival (a workload's progress lines timed as
   * the host saw them, not by the guest's clock). With `cutMs`, a command still running that long after
   * its start gets Ctrl-C (the console shell has job control) and the result says `cut`: `ms` is then
   * when it was cut, `output` what it printed until then, and the shell is back at its prompt.
   */
  async timed(command: string, max = 5e9, { cutMs }: { cutMs?: number } = {}): Promise<TimedOutput> {
    const id = ++this.n;
    const begin = `B${id}-$((0))B`, end = `E${id}-$((0))E`;
    const from = this.bytes.length;
    const pending = [...Buffer.from(`echo ${begin}; ${command}; echo ${end}\n`, "latin1")];
    const marker = `B${id}-0B`, want = `E${id}-0E`;
    const fromText = this.output.length;
    // Where the command's output starts (just past the begin marker's newline) and when: the marker's last byte.
    let start = -1, t0 = 0;
    const findStart = (): boolean => {
      if (start < 0) {
        const raw = this.raw(from, this.bytes.length);
        const m = raw.indexOf(marker), nl = m < 0 ? -1 : raw.indexOf("\n", m);
        if (nl >= 0) { start = from + nl + 1; t0 = this.times[from + m + marker.length - 1]!; }
      }
      return start >= 0;
    };
    let cut = false;
    await this.until((out) => {
      if (pending.length) this.pc.uart.receive(pending.splice(0, this.pc.uart.receiveSpace));
      if (out.indexOf(want, fromText) >= 0) return true;
      cut = cutMs !== undefined && findStart() && performance.now() - t0 > cutMs;
      return cut;
    }, max);
    const result = (end: number, ms: number): TimedOutput => ({ output: this.textOf(start, end), ms, lines: this.lineTimes(start, t0, end), cut });
    if (cut) {
      const r = result(this.bytes.length, performance.now() - t0);
      const mark = this.output.length;
      this.pc.uart.receive([3]); // Ctrl-C: the shell drops the rest of the line and prompts again
      await this.until((out) => out.indexOf("# ", mark) >= 0, max);
      await this.sh("true"); // a fresh prompt past the interrupted line
      return r;
    }
    if (!findStart()) throw new Error(`no output markers for ${command}:\n${this.output.slice(fromText)}`);
    // The end marker's first byte (the command's output ends with the newline before it).
    const e = from + this.raw(from, this.bytes.length).indexOf(want, start - from);
    return result(e, this.times[e]! - t0);
  }

  /** Bytes [start, end) of the output, one character each (indices stay byte indices). */
  private raw(start: number, end: number): string {
    return Buffer.from(this.bytes.slice(start, end)).toString("latin1");
  }
  /** Bytes [start, end) of the output as text, carriage returns removed. */
  private textOf(start: number, end: number): string {
    return this.raw(start, end).replace(/\r/g, "");
  }

  /** The lines whose newlines arrived in bytes [start, end), each with its newline's time less `t0`. */
  private lineTimes(start: number, t0: number, end: number): { text: string; ms: number }[] {
    const lines: { text: string; ms: number }[] = [];
    let text = "";
    for (let i = start; i < end; i++) {
      const c = this.bytes[i]!;
      if (c === 10) { lines.push({ text, ms: this.times[i]! - t0 }); text = ""; }
      else if (c !== 13) text += String.fromCharCode(c);
    }
    return lines;
  }
}
