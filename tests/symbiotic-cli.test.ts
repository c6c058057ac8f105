// `symbiont boot --symbiotic` as a user runs it: on a terminal (util-linux's
// `script` gives the CLI a pty), Ctrl-A c opens the monitor, which lists the
// guest's processes by SymCall and its running task by SymSpy. The oracle for
// the process list is the guest shell's own PID ($$). Skipped, saying so, when
// the images, the module or `script` are missing (CI has them all).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCachedImages } from "../src/node/images.js";
import { findBuiltModule, moduleGuestPath } from "../src/node/symbiotic-module.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { CURSOR_ANSWER, haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const images = findCachedImages();
const needs = !images ? "images not cached: run npm run images" : !findBuiltModule(images) ? "symbiotic module not built: run npm run module" : null;
const skip = needs ?? (!haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null);

describe("symbiont boot --symbiotic, options", () => {
  it("--symbiotic belongs to boot: one line and status 2 elsewhere", () => {
    const r = spawnSync(process.execPath, [cli, "demo", "--symbiotic"], { encoding: "utf8", input: "" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(["symbiont: --symbiotic is an option of boot (it adds the symbiotic Linux module)"]);
  });
});

describe.skipIf(skip !== null)(`symbiont boot --symbiotic on a terminal (${skip ?? "Ctrl-A c, the monitor"})`, () => {
  it("opens the monitor with Ctrl-A c: sym ps, sym current, info symbiotic, info lapic, quit", async () => {
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --symbiotic --deterministic --append '${LINUX_CMDLINE} quiet'`;
    let shellPid = 0;
    const steps: TerminalStep[] = [
      [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}echo PID=$$\r`],
      [/PID=(\d+)\r*\n[\s\S]*# \x1b\[6n$/, (m) => { shellPid = Number(m[1]); return `${CURSOR_ANSWER}\x01c`; }],
      [/\(symbiont\) $/, () => "sym ps\r"],
      [/COMMAND[\s\S]*\(symbiont\) $/, () => "sym current\r"],
      [/SymCall CURRENT[\s\S]*\(symbiont\) $/, () => "info symbiotic\r"],
      [/SymCalls: [\s\S]*\(symbiont\) $/, () => "info lapic\r"],
      [/cpu0: [\s\S]*ICR [\s\S]*\(symbiont\) $/, () => "quit\r"],
    ];
    const { status, steps: taken, out, text } = await runOnTerminal(cmd, steps, 5 * 60 * 1000);
    expect(taken, out.slice(-3000)).toBe(steps.length);
    expect(status).toBe(0);
    expect(text).toContain("Symbiont monitor — help lists the commands, Ctrl-A c goes back to the guest");
    expect(text).toMatch(/\n\s+1\s+0\s+0 S\s+\d+\s+\d+ init\n/);
    expect(text).toMatch(new RegExp(`\\n\\s+${shellPid}\\s+1\\s+0 \\w\\s+\\d+\\s+\\d+ sh\\n`));
    expect(text).toMatch(/\n\s+2\s+0\s+0 S\s+0\s+0 \[kthreadd\]\n/);
    expect(text).toMatch(/SymSpy \(read without an exit\): pid \d+/);
    expect(text).toMatch(/SymSpy local page, vCPU 0: GPA 0x[0-9a-f]{8}, magic "V3V.0", SymCall enabled\n {2}running: pid \d+/);
    // Linux's own APIC set-up (arch/x86/kernel/apic/apic.c): flat logical mode with the BSP's bit 0 in the LDR, the
    // APIC software-enabled, and the TSC-deadline timer, which CPUID offers.
    expect(text).toMatch(/cpu0: xAPIC \(IA32_APIC_BASE 0xfee00900, BSP\), ID 0, LDR 0x01000000, DFR 0xffffffff\n {2}SVR 0x1[0-9a-f]{2} \(software-enabled/);
    expect(text).toMatch(/\n {2}timer TSC-deadline, /);
  }, 25 * 60 * 1000);
});

describe.skipIf(needs !== null)(`symbiont boot --symbiotic --initrd (your own initramfs; ${needs ?? "the module appended"})`, () => {
  it("appends the module as a second cpio archive at the documented path, where the user's /init loads it", () => {
    const path = moduleGuestPath(images!.version);
    // A researcher's own /init: it knows only the documented path.
    const init = [
      "#!/bin/sh",
      "/bin/busybox mount -t proc proc /proc",
      `/bin/busybox insmod ${path} && echo "user init: insmod ok"`,
      "echo \"user init: $(/bin/busybox grep -c '^symbiotic ' /proc/modules) module, $(/bin/busybox dmesg | /bin/busybox grep -c 'symbiotic: Symbiont VMM found') VMM\"",
      "echo USER-INIT-$((6*7))",
      "exec /bin/busybox sleep 1000",
    ].join("\n") + "\n";
    const dir = mkdtempSync(join(tmpdir(), "symbiont-initrd-"));
    try {
      const initrd = join(dir, "mine.cpio");
      writeFileSync(initrd, busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), init }));
      const r = spawnSync(process.execPath, [cli, "boot", "--symbiotic", "--initrd", initrd, "--deterministic", "--until", "USER-INIT-42", "--timeout", "1200",
        "--append", `${LINUX_CMDLINE} quiet`], { encoding: "latin1", input: "" });
      expect(r.stderr).toContain(`symbiont: symbiotic.ko is in the initramfs at ${path}; your /init loads it with insmod`);
      expect(r.status, r.stdout.slice(-2000)).toBe(0);
      expect(r.stdout).toContain("user init: insmod ok");
      expect(r.stdout).toContain("user init: 1 module, 1 VMM");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 25 * 60 * 1000);
});
