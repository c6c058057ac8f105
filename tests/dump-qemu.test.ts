// The monitor's dump-guest-memory against QEMU's (its HMP through QMP, the oracle): gdbpaging.elf — 32-bit paging
// on at its end, a page mapped twice, the next one not present — run to its end under both (as
// tests/monitor-qemu.test.ts does), then each writes its core, and Debian's GDB reads both: the registers (but EIP
// and EFLAGS: QEMU, without isa-debug-exit, goes on from the exit into the kernel's CLI; HLT) and, from the -p cores,
// memory at the kernel's virtual addresses must read the same. (The cores without -p differ in their segments as the
// machines do: a PC here has its VGA window however it is built, and QEMU's core holds its BIOS ROM.)
// Skips, saying so, without qemu-system-i386 or gdb (Debian: qemu-system-x86, gdb).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ENGINES, runKernel, readBytes } from "./helpers.js";
import { Monitor } from "../src/vmm/monitor.js";
import { withQemuAtHalt } from "./support/qemu-qmp.js";

const kernel = new URL("./kernels/bin/gdbpaging.elf", import.meta.url).pathname;
const have = (cmd: string, arg = "--version") => spawnSync(cmd, [arg], { stdio: "ignore" }).status === 0;
const missing = ["qemu-system-i386", "gdb"].filter((c) => !have(c));
if (missing.length > 0) console.warn(`tests/dump-qemu.test.ts skipped: ${missing.join(" and ")} not installed (Debian: qemu-system-x86, gdb)`);

const MEM_MIB = 32; // runKernel's RAM
const GDB = ["info registers", "x/4xw 0x400000", "x/4xw 0x401000", "x/8xw 0x401ff0", "x/4xw 0x100000", "x/2xw $esp"];

/** gdbpaging.elf at its end under QEMU; its cores (physical, then -p) written to `dir`. */
async function qemuCores(dir: string): Promise<void> {
  await withQemuAtHalt(kernel, ["-m", String(MEM_MIB)], async (hmp) => {
    await hmp(`dump-guest-memory ${join(dir, "qemu.core")}`);
    await hmp(`dump-guest-memory -p ${join(dir, "qemu-p.core")}`);
  });
}

function gdb(core: string): string {
  const r = spawnSync("gdb", ["-q", "-batch", "-nx", "-ex", `core-file ${core}`, ...GDB.flatMap((c) => ["-ex", c])], { encoding: "utf8" });
  return r.stdout;
}
/** GDB's registers but EIP and EFLAGS, and its memory lines. */
const comparable = (out: string) => out.split("\n").filter((l) => /^(e[a-ds][xip]|e[sd]i|ebp|esp|[c-gs]s)\s|^0x[0-9a-f]+:/.test(l) && !/^(eip|eflags)\s/.test(l));

describe.skipIf(missing.length > 0)("dump-guest-memory writes a core GDB reads as it reads QEMU's", () => {
  let qemu: Promise<void> | null = null;
  const dir = mkdtempSync(join(tmpdir(), "symbiont-dump-qemu-"));
  for (const engine of ENGINES) {
    it(`gdbpaging.elf at its end (${engine} engine)`, async () => {
      try {
        qemu ??= qemuCores(dir);
        await qemu;
        const r = await runKernel(readBytes(kernel), engine, { path: kernel, memMiB: MEM_MIB });
        expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
        const mon = new Monitor(r.pc.vm, { saveFile: (p, b) => writeFileSync(join(dir, p), b) });
        expect(mon.execute(`dump-guest-memory ${engine}.core`)).toMatch(/an ELF core/);
        expect(mon.execute(`dump-guest-memory -p ${engine}-p.core`)).toMatch(/an ELF core/);
        const want = comparable(gdb(join(dir, "qemu-p.core")));
        expect(want.length, "GDB read QEMU's core").toBe(14 + 5); // 16 registers but EIP and EFLAGS; the memory lines
        expect(want).toContain("0x400000:\t0xbbbb0002\t0x00000000\t0x00000000\t0x00000000");
        expect(comparable(gdb(join(dir, `${engine}-p.core`)))).toEqual(want);
        expect(comparable(gdb(join(dir, `${engine}.core`))).filter((l) => !l.startsWith("0x"))).toEqual(want.filter((l) => !l.startsWith("0x")));
      } finally {
        if (engine === ENGINES.at(-1)) rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  }
});
