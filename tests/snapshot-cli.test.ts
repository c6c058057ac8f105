// Snapshots as a user takes them (Pc.saveSnapshot/loadSnapshot; src/vmm/snapshot.ts): Linux booted to its shell on a
// terminal, a file written in its tmpfs, the monitor's savevm; then a new symbiont process started with --loadvm
// goes on from that instant — the guest's own shell is the oracle: the file it wrote, its PID, SymSpy's view of it.
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { findCachedImages } from "../src/node/images.js";
import { findBuiltModule } from "../src/node/symbiotic-module.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { CURSOR_ANSWER, haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const images = findCachedImages();
const needs = !images ? "images not cached: run npm run images" : !findBuiltModule(images) ? "symbiotic module not built: run npm run module" : null;
const skip = needs ?? (!haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null);

describe.skipIf(skip !== null)(`Linux saved with the monitor's savevm, and started again with --loadvm (${skip ?? "on a terminal"})`, () => {
  it("goes on where it was saved: the shell, its PID, files in tmpfs and on ,snapshot disks, SymSpy's pages, SymCall", async () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-snapshot-"));
    const file = join(dir, "linux.snap");
    try {
      // Two blank disks under ,snapshot (their writes stay in memory, and go into the snapshot): virtio and IDE.
      const vda = join(dir, "vda.img"), sda = join(dir, "sda.img");
      writeFileSync(vda, new Uint8Array(8 << 20));
      writeFileSync(sda, new Uint8Array(8 << 20));
      const boot = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --symbiotic --disk ${vda},snapshot --disk ${sda},snapshot,if=ide --append '${LINUX_CMDLINE} quiet'`;
      const fill = (dev: string, text: string) => `mke2fs -q /dev/${dev} && mount -t ext2 /dev/${dev} /mnt && echo ${text} > /mnt/f && umount /mnt`;
      let pid = 0;
      const save: TerminalStep[] = [
        [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}${fill("vda", "on-virtio-$((6*7))")}; ${fill("sda", "on-ide-$((6*7))")}; echo written-$((6*7)) > /tmp/f; echo PID=$$\r`],
        [/PID=(\d+)\r*\n[\s\S]*# \x1b\[6n$/, (m) => { pid = Number(m[1]); return `${CURSOR_ANSWER}\x01c`; }],
        [/\(symbiont\) $/, () => `savevm ${file}\r`],
        [/saved the machine to [^\n]*\n[\s\S]*\(symbiont\) $/, () => "quit\r"],
      ];
      const first = await runOnTerminal(boot, save, 5 * 60 * 1000);
      expect(first.steps, first.out.slice(-3000)).toBe(save.length);
      expect(first.status).toBe(0);
      expect(statSync(file).size).toBeGreaterThan(1 << 20);

      const again: TerminalStep[] = [
        // The disks read back from the devices, not the page cache (dropped first).
        [/going on from the snapshot in /, () => "cat /tmp/f; echo changed > /tmp/f; echo 3 > /proc/sys/vm/drop_caches; for d in vda sda; do mount -t ext2 /dev/$d /mnt && cat /mnt/f; umount /mnt; done; echo PID=$$\r"],
        [/PID=\d+\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => "info symbiotic\r"],
        [/SymCalls: [\s\S]*\(symbiont\) $/, () => "sym ps\r"],
        // The monitor's loadvm: this machine, which ran on (and changed /tmp/f), goes back to the saved instant.
        [/COMMAND[\s\S]*\(symbiont\) $/, () => `loadvm ${file}\r`],
        [/the machine is now as saved in [^\n]*\n[\s\S]*\(symbiont\) $/, () => "\x01c"],
        [/\n$/, () => "echo back-$(cat /tmp/f) PID=$$\r"],
        [/back-[\w-]+ PID=\d+\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => "quit\r"],
      ];
      const second = await runOnTerminal(`${boot} --loadvm ${file}`, again, 5 * 60 * 1000);
      expect(second.steps, second.out.slice(-3000)).toBe(again.length);
      expect(second.status).toBe(0);
      expect(second.text).not.toContain("SYMBIONT-INIT-OK"); // (no boot: the machine starts where it was saved)
      expect(second.text).toMatch(/\nwritten-42\non-virtio-42\non-ide-42\n/);
      for (const img of [vda, sda]) expect(readFileSync(img).every((b) => b === 0)).toBe(true); // (,snapshot: the images untouched)
      expect(second.text).toContain(`\nPID=${pid}\n`);
      expect(second.text).toContain(`\nback-written-42 PID=${pid}\n`); // (not "changed": written after the save)
      expect(second.text).toMatch(/SymSpy local page, vCPU 0: GPA 0x[0-9a-f]{8}, magic "V3V.0", SymCall enabled\n {2}running: pid \d+/);
      // A SymCall into the restored guest (its entry MSRs came back with it): its process list has the shell.
      expect(second.text).toMatch(new RegExp(`\\n\\s+${pid}\\s+1\\s+0 \\w\\s+\\d+\\s+\\d+ sh\\n`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 25 * 60 * 1000);
});

describe("--loadvm's errors", () => {
  it("a missing file, or a file that is not a snapshot: one line, status 2", () => {
    const kernel = new URL("./kernels/bin/events.elf", import.meta.url).pathname;
    const missing = spawnSync(process.execPath, [cli, "run", kernel, "--loadvm", "/nonexistent/x.snap"], { encoding: "utf8", input: "" });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe("symbiont: cannot read snapshot /nonexistent/x.snap: no such file");
    const notSnap = spawnSync(process.execPath, [cli, "run", kernel, "--loadvm", kernel], { encoding: "utf8", input: "" });
    expect(notSnap.status).toBe(2);
    expect(notSnap.stderr.trim()).toBe(`symbiont: ${kernel}: not a Symbiont snapshot (it does not start with SYMBIONT-SNAPSHOT)`);
  });
});
