// `symbiont boot --vga --display text` as a person uses it: on a terminal (util-linux's `script` gives the CLI a pty)
// the VGA's screen is drawn — Linux's console and the shell /init starts on tty1 — and what is typed goes to the
// PS/2 keyboard. The oracle is the guest's shell: it evaluates what it was typed ($((6 * 7)), a shifted character,
// a line edited with Backspace and the Left arrow — busybox's line editor gets the arrow from Linux's keymap as
// ESC [ D — and Ctrl-C interrupting a sleep), and its answers must appear on the drawn screen. Skipped, saying so,
// without the images or `script` (CI has both).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { findCachedImages } from "../src/node/images.js";
import { haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const images = findCachedImages();
const skip = !images ? "images not cached: run npm run images" : !haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null;

describe("symbiont boot --display text, options", () => {
  it("needs --vga, one VM, and text as its value: one line and status 2 otherwise", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, "demo", ...args], { encoding: "utf8", input: "" });
    for (const [args, line] of [
      [["--display", "text"], "symbiont: --display text shows the VGA's screen: add --vga"],
      [["--display", "sdl", "--vga"], "symbiont: --display must be text (the VGA's screen on the terminal; got \"sdl\")"],
    ] as const) {
      const r = run(...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(line);
    }
  });
});

describe.skipIf(skip !== null)(`symbiont boot --vga --display text on a terminal (${skip ?? "the screen drawn, keys to the keyboard"})`, () => {
  it("draws Linux's VGA console and takes typed keys: arithmetic, shifted characters, Backspace, the Left arrow, Ctrl-C", async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --vga --display text --deterministic`;
    const steps: TerminalStep[] = [
      // The tty1 shell's prompt on the drawn screen.
      [/BusyBox v[\s\S]*\/ # /, () => "echo T$((6 * 7))X\r"],
      // Each answer differs from the line typed for it, which the screen shows too.
      [/T42X/, () => "echo 'A_B:C' | tr A-C x-z\r"],
      [/x_y:z/, () => "echo ab$((2 + 3))cd\x7f\x7fZ\r"],
      [/ab5Z/, () => "echo X$((402))Y\x1b[D\x1b[D\x1b[D\x1b[D+\r"],
      [/X42Y/, () => "sleep 100\r"],
      [/sleep 100/, () => "\x03"],
      [/\^C/, () => "echo after-$((1 + 1))\r"],
      [/after-2/, () => "\x01x"],
    ];
    const { status, steps: taken, out } = await runOnTerminal(cmd, steps, 2 * 60 * 1000);
    expect(taken, out.slice(-3000)).toBe(steps.length);
    expect(status).toBe(0);
    expect(out).toContain("\x1b[?1049h"); // the alternate screen, and back to the terminal's own at the end
    expect(out.endsWith("\x1b[?1049l") || out.includes("\x1b[?1049l")).toBe(true);
    // The kernel's messages on the VGA console (console=tty0): the screen is drawn every 50 ms, so which lines a frame
    // caught depends on timing, but its last ones stay on the screen until the shell's banner follows them.
    expect(out).toMatch(/\[ +\d+\.\d{6}\] [\s\S]*BusyBox v/);
  }, 10 * 60 * 1000);
});
