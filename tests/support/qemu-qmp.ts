// QEMU (the oracle) on a test kernel with its monitor reachable through QMP: the kernel runs until it halts (its
// EXIT writes to isa-debug-exit, which the machine lacks, then halts), then HMP commands go to QEMU's monitor
// (human-monitor-command), as a user types them (tests/monitor-qemu.test.ts, tests/dump-qemu.test.ts).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** An HMP command's answer: its text with "\n" line ends and no trailing one. */
export type Hmp = (command: string) => Promise<string>;

/** Run `kernel` under qemu-system-i386 (with `args`) to its halt, then `use` its monitor; QEMU is killed after. */
export async function withQemuAtHalt<T>(kernel: string, args: string[], use: (hmp: Hmp) => Promise<T>): Promise<T> {
  const q = spawn("qemu-system-i386", ["-nodefaults", "-display", "none", "-serial", "null", ...args, "-kernel", kernel, "-qmp", "stdio"], { stdio: ["pipe", "pipe", "ignore"] });
  const lines = createInterface({ input: q.stdout! })[Symbol.asyncIterator]();
  const send = async (o: object): Promise<{ return?: unknown }> => {
    q.stdin!.write(`${JSON.stringify(o)}\n`);
    for (;;) {
      const r = JSON.parse((await lines.next()).value as string);
      if ("return" in r || "error" in r) return r;
    }
  };
  const hmp: Hmp = async (c) => String((await send({ execute: "human-monitor-command", arguments: { "command-line": c } })).return).replace(/\r\n/g, "\n").replace(/\n$/, "");
  try {
    await lines.next(); // the greeting
    await send({ execute: "qmp_capabilities" });
    for (let i = 0; i < 100 && !/HLT=1/.test(await hmp("info registers")); i++) await new Promise((r) => setTimeout(r, 50));
    return await use(hmp);
  } finally {
    q.kill();
  }
}
