// The memory balloon as the README shows it, on a terminal: `symbiont boot --balloon`, the monitor's `balloon 96`
// (QEMU's command: the guest's memory in MiB), and Debian's kernel giving up 32 MiB — its MemTotal drops by exactly
// 32 768 kB, Linux's own count (drivers/virtio/virtio_balloon.c without DEFLATE_ON_OOM) — with `info balloon` and
// `--stats` saying where the balloon is. Skipped, saying so, without the cached images or util-linux's `script`.
import { describe, it, expect } from "vitest";
import { findCachedImages } from "../src/node/images.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { CURSOR_ANSWER as ANSWER, haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const skip = !findCachedImages() ? "images not cached: run npm run images" : !haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null;

if (skip && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("balloon CLI prerequisites", () => { it("are here (npm run images, util-linux)", () => { expect(skip).toBeNull(); }); });
}

describe.skipIf(skip !== null)(`symbiont boot --balloon on a terminal (${skip ?? "the monitor's balloon and info balloon"})`, () => {
  it("takes 32 MiB from the running guest: Linux's MemTotal drops by 32 768 kB, info balloon and --stats say so", async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --balloon --stats --deterministic --append '${LINUX_CMDLINE} quiet'`;
    const memtotal = "awk '/^MemTotal/ { print $2 }' /proc/meminfo";
    const got: Record<string, string> = {};
    const steps: TerminalStep[] = [
      [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${ANSWER}echo M0=$(${memtotal})\r`],
      [/M0=(\d+)\r*\n[\s\S]*# \x1b\[6n$/, (m) => { got.m0 = m[1]!; return `${ANSWER}\x01c`; }],
      [/\(symbiont\) $/, () => "balloon 96\r"],
      // Back to the guest, which waits (at most a minute) for its driver to have given up the pages.
      [/target 96 MiB[^\n]*\n[\s\S]*\(symbiont\) $/, () => `\x01ci=0; while [ $(${memtotal}) -gt $((${got.m0} - 32768)) ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done; echo M1=$(${memtotal})\r`],
      [/M1=(\d+)\r*\n[\s\S]*# \x1b\[6n$/, (m) => { got.m1 = m[1]!; return `${ANSWER}\x01c`; }],
      [/\(symbiont\) $/, () => "info balloon\r"],
      [/(balloon: actual=[^\r\n]*)\r*\n[\s\S]*\(symbiont\) $/, (m) => { got.info = m[1]!; return "quit\r"; }],
    ];
    const { status, steps: taken, out, text } = await runOnTerminal(cmd, steps, 3 * 60 * 1000);
    expect(taken, out.slice(-3000)).toBe(steps.length);
    expect(status).toBe(0);
    expect(Number(got.m0)).toBeGreaterThan(100_000);
    expect(Number(got.m0) - Number(got.m1)).toBe(32768);
    expect(got.info).toMatch(/^balloon: actual=96 MiB \(target 96 MiB\); 8192 pages withdrawn \(inflated 8192, deflated 0, faulted back 0\); the guest's last report: /);
    expect(text).toMatch(/\[stats\] balloon +actual=96 MiB \(target 96 MiB\); 8192 pages withdrawn/);
  }, 10 * 60 * 1000);
});
