// Drive the CLI on a terminal as a person would: util-linux's `script` gives it a pty, and each step types its
// input once the output since the previous step matches (tests/symbiotic-cli.test.ts, swapbypass-cli.test.ts).
import { spawn, spawnSync } from "node:child_process";

/** Is util-linux's `script` here to give the CLI a terminal? */
export const haveScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

/** busybox's line editor asks the terminal where the cursor is (ESC [6n) at each prompt; a terminal answers this. */
export const CURSOR_ANSWER = "\x1b[24;3R";

/** When the output since the last step matches the pattern, type what the function returns for the match. */
export type TerminalStep = [RegExp, (m: RegExpExecArray) => string];

export interface TerminalRun {
  /** The exit status of the command (null: killed, having been quiet for idleMs). */
  status: number | null;
  /** Steps taken: all of them when every prompt came. */
  steps: number;
  /** Everything printed, as latin1 (as the steps matched it). */
  out: string;
  /** Everything printed, as UTF-8 without carriage returns. */
  text: string;
}

/** Run shell command `cmd` on a terminal through `steps`; give up once it has printed nothing for `idleMs`. */
export async function runOnTerminal(cmd: string, steps: TerminalStep[], idleMs: number): Promise<TerminalRun> {
  const child = spawn("script", ["-qfec", cmd, "/dev/null"]);
  const chunks: Buffer[] = [];
  let out = "", step = 0, since = 0;
  const status = await new Promise<number | null>((resolve) => {
    // Stuck at a step (a prompt that never comes): give up after idleMs without output, not a whole test's timeout.
    let timer = setTimeout(() => child.kill(), idleMs);
    child.stdout.on("data", (d: Buffer) => {
      clearTimeout(timer);
      timer = setTimeout(() => child.kill(), idleMs);
      chunks.push(d);
      out += d.toString("latin1");
      const m = step < steps.length ? steps[step]![0].exec(out.slice(since)) : null;
      if (!m) return;
      const input = steps[step]![1](m);
      // Type a moment after the prompt (input that arrives while the shell is still setting up its terminal is dropped by it).
      setTimeout(() => child.stdin.write(input), 300);
      since = out.length; // (the next step looks only past this one: no prompt answers twice)
      step++;
    });
    child.on("close", (code) => { clearTimeout(timer); resolve(code); });
  });
  return { status, steps: step, out, text: Buffer.concat(chunks).toString("utf8").replace(/\r/g, "") };
}
