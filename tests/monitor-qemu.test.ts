// The monitor's x, xp, info mem and info tlb against QEMU's (its HMP through QMP's human-monitor-command, the
// oracle): the same kernel run to its end under both, then the same commands in the same order (the format and
// size each dump leaves behind are part of what is compared), and the text must be the same. gdbpaging.elf leaves
// 32-bit paging on with a window page mapped twice, read-only the second time, and the page after it not present;
// paging.elf 32-bit tables with 4 MiB pages, user and supervisor, accessed and dirty bits; pae.elf PAE tables with
// 2 MiB pages and NX; alu.elf paging off. For x/i and xp/i the addresses and instruction bytes are compared (where
// each instruction starts, how long it is, QEMU's layout of them): QEMU's Capstone spells AT&T its own way, and
// the instructions' text is checked against GNU objdump instead (tests/unit/disasm.test.ts).
// Skips, saying so, without qemu-system-i386 (Debian: qemu-system-x86).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { ENGINES, runKernel, readBytes } from "./helpers.js";
import { Monitor } from "../src/vmm/monitor.js";
import { withQemuAtHalt } from "./support/qemu-qmp.js";

const kernel = (name: string) => new URL(`./kernels/bin/${name}.elf`, import.meta.url).pathname;
const haveQemu = spawnSync("qemu-system-i386", ["--version"], { stdio: "ignore" }).status === 0;
if (!haveQemu) console.warn("tests/monitor-qemu.test.ts skipped: qemu-system-i386 not installed (Debian: qemu-system-x86)");

const DUMPS = [
  "xp /8xw 0x100000", "xp /3xb 0x100000", "xp /20xb 0x100000", "xp /4xh 0x100000", "xp /2xg 0x100000",
  "xp /4dw 0x100000", "xp /4uw 0x100000", "xp /3ow 0x100000", "xp /12c 0x100000", "xp /2dh 0x100002",
  "xp /3db 0x100000", "xp /2dg 0x100008", "xp /16cb 0x1015ef", "xp /2og 0x100000",
  "x /4xw 0x400000", "x /4xw 0x401000", "x /8xw 0x401ff0", "x /2xw 0x800000", "x 0x100000", "x /3 0x100004",
  "x /4xw $esp", "x /2xw $esp+8", "x /xw 0x400000 - 4096 + 0x1000", "xp /2xw 0x20000000",
];
const DISASSEMBLY = ["xp /40i 0x100000", "x /12i 0x100061", "x /20i 0x100400"];
const KERNELS: { name: string; qemu: string[]; commands: string[] }[] = [
  { name: "gdbpaging", qemu: [], commands: [...DUMPS, "info mem", "info tlb", ...DISASSEMBLY] },
  { name: "paging", qemu: [], commands: ["info mem", "info tlb"] },
  { name: "pae", qemu: ["-cpu", "qemu32,+nx"], commands: ["info mem", "info tlb"] }, // (tests/kernels/qemu-args/pae.args)
  { name: "alu", qemu: [], commands: ["info mem", "info tlb", ...DISASSEMBLY] },
  { name: "sse", qemu: [], commands: DISASSEMBLY },
];

/** An x/i answer without the instructions' text: address and bytes, the columns QEMU's layout puts before it. */
const columns = (command: string, answer: string) =>
  / \/\d*i /.test(command) ? answer.split("\n").map((l) => l.slice(0, 37).trimEnd()).join("\n") : answer;

/** QEMU's answers to the commands once the kernel has halted at its end (no isa-debug-exit: its EXIT halts). */
async function qemuAnswers({ name, qemu, commands }: (typeof KERNELS)[number]): Promise<string[]> {
  return withQemuAtHalt(kernel(name), qemu, async (hmp) => {
    const out: string[] = [];
    for (const c of commands) out.push(await hmp(c));
    return out;
  });
}

describe.skipIf(!haveQemu)("the monitor's x, xp, info mem and info tlb print what QEMU's print", () => {
  const expected = new Map<string, Promise<string[]>>();
  for (const k of KERNELS) {
    for (const engine of ENGINES) {
      it(`${k.name}.elf at its end (${engine} engine)`, async () => {
        if (!expected.has(k.name)) expected.set(k.name, qemuAnswers(k));
        const want = await expected.get(k.name)!;
        expect(want.at(-1)!.length, "QEMU answered").toBeGreaterThan(0);
        const r = await runKernel(readBytes(kernel(k.name)), engine, { path: kernel(k.name) });
        expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
        const mon = new Monitor(r.pc.vm);
        expect(k.commands.map((c) => columns(c, mon.execute(c)))).toEqual(want.map((a, i) => columns(k.commands[i]!, a)));
      }, 60_000);
    }
  }
});
