// `symbiont run KERNEL --trace FILE` as a user runs it, against QEMU's own instruction trace (the oracle):
// `qemu-system-i386 -singlestep -d exec,nochain` logs every instruction it executes (one translation block each)
// with its EIP. From the kernel's entry on, both must list the same instructions in the same order, up to the
// debug-exit OUT that ends both (our trace's last line is the instruction the vCPU stopped in front of). A
// REP string instruction may be listed several times in a row by either, so repeats are folded first. The listed
// text is objdump's (tests/unit/disasm.test.ts checks the disassembler itself); here each line's text is checked
// against objdump's listing of the kernel at that address. Skips, saying so, without qemu-system-i386.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { haveObjdump, objdump } from "./support/objdump.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const kernel = (name: string) => new URL(`./kernels/bin/${name}.elf`, import.meta.url).pathname;
const haveQemu = spawnSync("qemu-system-i386", ["--version"], { stdio: "ignore" }).status === 0;

/** Consecutive repeats folded into one (a REP instruction listed per chunk or per iteration). */
const fold = (xs: number[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);

/** The EIPs QEMU executed from the kernel's entry on (its BIOS and Multiboot loader run first). */
function qemuTrace(elf: string, dir: string, entry: number): number[] {
  const log = join(dir, "qemu.log");
  const r = spawnSync("qemu-system-i386", ["-kernel", elf, "-singlestep", "-d", "exec,nochain", "-D", log, "-display", "none",
    "-no-reboot", "-serial", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], { timeout: 120_000 });
  expect(r.status, r.stderr?.toString()).toBe(1); // (isa-debug-exit: QEMU exits with (value << 1) | 1; a passing kernel writes 0)
  const pcs = [...readFileSync(log, "latin1").matchAll(/^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+\/([0-9a-f]+)\//gm)].map((m) => parseInt(m[1]!, 16));
  const start = pcs.indexOf(entry);
  expect(start, "QEMU reached the kernel's entry").toBeGreaterThanOrEqual(0);
  return pcs.slice(start);
}

describe.skipIf(!haveQemu)(`symbiont run --trace lists what QEMU's single-step trace executes${haveQemu ? "" : " (skipped: no qemu-system-i386)"}`, () => {
  for (const name of ["smoke", "segbase"]) {
    it(`${name}.elf: the same instructions in the same order, each as objdump reads it`, () => {
      const dir = mkdtempSync(join(tmpdir(), "symbiont-trace-"));
      try {
        const file = join(dir, "trace.txt");
        const r = spawnSync(process.execPath, [cli, "run", kernel(name), "--trace", file, "--stats"], { encoding: "utf8", timeout: 120_000 });
        expect(r.stderr).toMatch(/\[stats\] trace: \d+ instructions listed to /);
        const lines = readFileSync(file, "utf8").trimEnd().split("\n");
        const listed = lines.map((l) => /^([0-9a-f]{4}):([0-9a-f]{8})  ((?:[0-9a-f]{2} )*[0-9a-f]{2}) +(.*)$/.exec(l));
        expect(listed.every((m) => m !== null), lines.find((_, i) => !listed[i])).toBe(true);
        expect(r.stderr).toContain(`trace: ${lines.length} instructions`);
        const ours = listed.map((m) => parseInt(m![2]!, 16)); // (flat segments: EIP is the linear address)
        const theirs = fold(qemuTrace(kernel(name), dir, ours[0]!));
        expect(theirs.length).toBeGreaterThan(5000);
        expect(fold(ours.slice(0, -1))).toEqual(theirs);
        if (haveObjdump) {
          const text = new Map(objdump([kernel(name)]).map((i) => [i.address, i.text]));
          const differ = listed.filter((m) => text.has(parseInt(m![2]!, 16)) && text.get(parseInt(m![2]!, 16)) !== m![4]!.replace(/\s+/g, " "));
          expect(differ.slice(0, 5).map((m) => m![0])).toEqual([]);
          expect(listed.filter((m) => text.has(parseInt(m![2]!, 16))).length).toBeGreaterThan(lines.length / 2);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  }
});

describe("symbiont run --trace, options", () => {
  it("one VM, a file that can be written: one line and status 2 otherwise", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", input: "" });
    const vms = run("boot", "--vms", "2", "--trace", "/dev/null");
    expect(vms.status).toBe(2);
    expect(vms.stderr.trim()).toBe("symbiont: --trace lists one VM's instructions: not with --vms above 1");
    const bad = run("run", kernel("smoke"), "--trace", "/nonexistent-dir/trace.txt");
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^symbiont: cannot open --trace file \/nonexistent-dir\/trace\.txt: ENOENT/);
  });
});
