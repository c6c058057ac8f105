// The VMM monitor as a user reaches it: `symbiont run` on a terminal (util-linux's `script` gives the CLI a pty),
// Ctrl-A c. system_reset starts the machine over — the guest's own output is the oracle: it prints its banner
// again, from power-on — and the fresh machine's monitor ends the run. Skipped, saying so, without `script`.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const KERNEL = new URL("./kernels/bin/gdbattach.elf", import.meta.url).pathname; // prints a banner, then spins

describe.skipIf(!haveScript)(`the monitor on a terminal${haveScript ? "" : " (skipped: no `script` (util-linux) to give the CLI a terminal)"}`, () => {
  it("system_reset: the machine starts over, and the guest prints its banner again", async () => {
    const steps: TerminalStep[] = [
      [/gdbattach spinning/, () => "\x01c"],
      [/\(symbiont\) $/, () => "system_reset\r"],
      // The fresh machine's console takes keys too (a reset once left the terminal's input paused).
      [/restarting\r?\n[\s\S]*gdbattach spinning/, () => "\x01c"],
      [/\(symbiont\) $/, () => "quit\r"],
    ];
    const run = await runOnTerminal(`${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run ${KERNEL}`, steps, 60_000);
    expect(run.steps, run.out).toBe(steps.length);
    expect(run.text).toMatch(/^gdbattach spinning\n[\s\S]*resetting the machine\n[\s\S]*symbiont: system_reset in the monitor; restarting\n[\s\S]*gdbattach spinning\n/);
    expect(run.text.match(/gdbattach spinning/g)).toHaveLength(2);
    expect(run.status).toBe(0); // the monitor's quit: the user's end
  }, 120_000);

  it("info pci, info block, info pic and info mtree see the CLI's machine: its chipset, its disk, its I/O APIC, its map", async () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-monitor-cli-"));
    try {
      const disk = join(dir, "disk.img");
      writeFileSync(disk, new Uint8Array(1 << 20));
      const steps: TerminalStep[] = [
        [/gdbattach spinning/, () => "\x01c"],
        [/\(symbiont\) $/, () => "info pci\r"],
        [/PCI device 8086:1237[\s\S]*\(symbiont\) $/, () => "info block\r"],
        [/virtio0: [\s\S]*\(symbiont\) $/, () => "info pic\r"],
        [/Remote IRR[\s\S]*\(symbiont\) $/, () => "info mtree\r"],
        [/I\/O ports[\s\S]*\(symbiont\) $/, () => "quit\r"],
      ];
      const run = await runOnTerminal(`${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run ${KERNEL} --disk ${JSON.stringify(disk)}`, steps, 60_000);
      expect(run.steps, run.out).toBe(steps.length);
      expect(run.text).toContain("    Host bridge: PCI device 8086:1237"); // (the 82441FX's ID, Intel's datasheet)
      expect(run.text).toMatch(/virtio0: \S*disk\.img \(1 MiB, 2048 sectors, read-write\)\n {4}Attached to: virtio-blk \(PCI 00:[0-9a-f]{2}\.0\)/);
      expect(run.text).toMatch(/ioapic0: ver=0x11 /);
      expect(run.text).toMatch(/ {2}fec00000-fec00fff {2}mmio ioapic\n/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
