// `symbiont run KERNEL --gdb PORT` as a user debugs with it: GDB itself (Debian's gdb) runs a
// script against QEMU's gdbstub (`qemu-system-i386 -gdb tcp::PORT -S`, the oracle) and against
// ours, on the same test kernel, and must print the same (SCRIPTS says what each covers); the
// kernel's serial output is then QEMU's golden.
// Skips, saying so, without gdb or qemu-system-i386 (Debian: gdb, qemu-system-x86).
import { beforeAll, describe, it, expect } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { ENGINES } from "./helpers.js";
import { haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const root = new URL("..", import.meta.url).pathname;
const kernelPath = (name: string) => `${root}tests/kernels/bin/${name}.elf`;
const have = (cmd: string) => spawnSync(cmd, ["--version"], { stdio: "ignore" }).status === 0;
const missing = ["gdb", "qemu-system-i386"].filter((c) => !have(c));
if (missing.length > 0) console.warn(`tests/gdb.test.ts skipped: ${missing.join(" and ")} not installed (Debian: gdb, qemu-system-x86)`);

/** GDB scripts by test kernel, after `file KERNEL` and `target remote :PORT`. */
const SCRIPTS: Record<string, string[]> = {
  // Breakpoints, registers, memory (the planted INT3 hidden), steps, a breakpoint hit again, and the kernel's
  // exit — which it reaches only if its own INT3s (pmode.asm tests #BP delivery) went on to the guest while a
  // breakpoint of GDB's was still planted.
  pmode: [
    "break main", "continue",
    "info registers eax ecx edx ebx esp ebp esi edi eip", "p/x $eflags", "p/x $cs", "p/x $ss", "p/x $ds",
    "x/16xb $eip", "stepi", "p/x $eip", "stepi", "p/x $eip", "stepi", "stepi", "p/x $eip", "x/4xw $esp",
    "break putc", "continue", "p/x $eip", "p/x $eax", "x/8xb putc", "continue", "p/x $eax", "p/x $esp",
    "delete 2", "break isr_common.unexpected", "continue",
  ],
  // The x87 registers as 80-bit values, FCW, FSW, XMM and MXCSR (not the tag word and the x87 pointers, which
  // QEMU 7.2's stub sends as zeros; nor EFLAGS' decoration, whose field order differs): gdbregs.asm.
  gdbregs: [
    "break stop_here", "continue", "info registers eax ebx esi eip", "p/x $eflags",
    "info registers st0 st1 st2 st3 st4 st5 st6 st7 fctrl fstat", "p $st2", "p $xmm2", "p $xmm1.v4_int32",
    "info registers mxcsr", "stepi", "stepi", "p/x $fstat", "p/x $eip", "continue",
  ],
  // Write watchpoints (old and new values, where the write happened), two on one page, which also holds the
  // code and a variable written without being watched, then a hardware breakpoint: gdbwatch.asm.
  gdbwatch: [
    "break main", "continue", "watch *(int*)&counter", "continue", "continue", "p/x $eip", "x/3xw &counter",
    "watch *(int*)&readme", "continue", "continue", "delete", "hbreak after_loop", "continue", "x/3xw &counter", "continue",
  ],
  // Paging on: a watchpoint on a PTE the loop rewrites (under shadow paging a guest page table the shadow pager
  // traces), steps over the remapping and the read through it, memory read through the guest's tables, the system
  // registers (CR0-CR4, EFER, the FS/GS bases), a step over a store the shadow pager lets through under the
  // monitor trap flag (CR0.WP = 0): gdbpaging.asm.
  gdbpaging: [
    "break paging_on", "continue", "x/2xw &pd", "watch *(int*)&pt1", "continue", "p/x $eip", "continue", "p/x $esi",
    "delete", "break remapped", "continue", "x/xw 0x400000", "info registers cr0 cr2 cr3 cr4 efer", "p/x $fs_base",
    "p/x $gs_base", "stepi", "p/x $esi", "stepi", "stepi", "p/x $eip",
    "continue", "x/xw 0x400000", "delete", "break wp0_store", "continue", "stepi", "p/x $eip", "x/xw 0x401000",
    "delete", "continue",
  ],
  // Read and access watchpoints on variables that share the loop's code page (every fetch there exits too and goes
  // on), one read without being watched, a read watchpoint on a variable the loop only writes: gdbrwatch.asm.
  gdbrwatch: [
    "break main", "continue", "rwatch *(int*)&rvar", "continue", "continue", "p/x $eip", "delete",
    "awatch *(int*)&avar", "continue", "continue", "p/x $eip", "delete",
    "rwatch *(int*)&wvar", "awatch *(int*)&neighbour", "continue", "p/x $edx", "continue", "p/x $eip", "delete", "continue",
  ],
  // Two vCPUs as two threads (gdbsmp.asm, -smp 2): the AP's breakpoint switches GDB to thread 2 while the BSP sits in
  // HLT; each thread's registers (one written), memory read from either, steps of thread 2, a watchpoint the AP hits,
  // `info threads` with QEMU's "CPU#i [halted ]" / "[running]"; then the BSP's breakpoint while the AP spins, and
  // steps of the BSP under scheduler locking (vCont naming one thread) that must leave the AP where it was.
  gdbsmp: [
    "break ap_ready", "continue", "info threads", "thread apply all p/x $esp",
    "thread 1", "p/x $eip", "set var $eax = 0x1234", "p/x $eax", "x/xw &ap_counter",
    "thread 2", "p/x $eax", "stepi", "stepi", "stepi", "p/x $ecx", "x/xw &ap_counter",
    "watch *(int*)&ap_counter", "continue", "p/x $eip", "continue", "delete",
    "break ap_done", "continue", "info threads", "thread 1", "p/x $eax", "delete",
    "break bsp_woken", "continue", "set scheduler-locking on",
    "thread apply 2 set $e = $eip", "thread apply 2 set $n = *(int*)&ap_spins", "stepi", "stepi", "p/x $eip", "x/xb &release",
    "thread apply 2 p $eip == $e", "thread apply 2 p *(int*)&ap_spins == $n", "delete", "continue",
  ],
  // Single steps through REP string instructions (gdbrep.asm): one iteration a step, EIP staying on the instruction
  // until the last — a REP MOVSB of four bytes, a REP STOSD of three dwords, the memory between steps — and a
  // REP MOVSB with ECX = 0, which one step passes.
  gdbrep: [
    "break rep_movs", "continue", "stepi", "p/x $ecx", "p/x $esi", "p/x $edi", "x/xw &dst", "stepi", "stepi", "p/x $ecx",
    "stepi", "p/x $ecx", "p/x $eip", "x/xw &dst", "break rep_stos", "continue", "stepi", "p/x $ecx", "x/4xw &dwords",
    "stepi", "stepi", "p/x $ecx", "p/x $eip", "x/4xw &dwords", "stepi", "stepi", "p/x $eip", "delete", "continue",
  ],
  // Watchpoints met inside instructions that access the watched page more than once (gdbrepwatch.asm): a REP STOSD's
  // 11th iteration writes the watched dword, a REP MOVSB's 101st reads the watched byte — stops after that iteration,
  // ECX, ESI and EDI counted that far — and a PUSHA's fourth push writes the watched dword.
  gdbrepwatch: [
    "break main", "continue", "watch *(int*)((char*)&buf + 40)", "continue", "p/x $eip", "p/x $ecx", "p/x $edi", "x/12xw &buf",
    "delete", "rwatch *(char*)((char*)&buf + 100)", "continue", "p/x $eip", "p/x $ecx", "p/x $esi", "p/x $edi", "delete",
    "watch *(int*)((char*)&pstack_top - 16)", "continue", "p/x $eip", "p/x $esp", "x/8xw &pstack", "delete", "continue",
  ],
};
/** Kernels that run on more than one vCPU, and how many (QEMU's -smp, our --smp). */
const CPUS: Record<string, number> = { gdbsmp: 2 };
/**
 * Which runs of ours each script is compared in: both engines, and under the other paging modes those that
 * meet them — watchpoints (the guest-physical map's permissions) under nested and shadow paging, paging's own
 * script under both on both engines, breakpoints and steps under shadow paging (whose pager shares the
 * monitor trap flag with the stub's steps).
 */
type Paging = "direct" | "nested" | "shadow";
const RUNS: { name: string; engine: (typeof ENGINES)[number]; paging: Paging }[] = [
  ...Object.keys(SCRIPTS).flatMap((name) => ENGINES.map((engine) => ({ name, engine, paging: "direct" as const }))),
  { name: "gdbwatch", engine: "wasm", paging: "nested" },
  { name: "gdbwatch", engine: "wasm", paging: "shadow" },
  { name: "pmode", engine: "wasm", paging: "shadow" },
  ...(["nested", "shadow"] as const).map((paging) => ({ name: "gdbsmp", engine: "wasm" as const, paging })),
  ...(["nested", "shadow"] as const).map((paging) => ({ name: "gdbrwatch", engine: "wasm" as const, paging })),
  { name: "gdbrepwatch", engine: "wasm", paging: "shadow" },
  ...ENGINES.flatMap((engine) => (["nested", "shadow"] as const).map((paging) => ({ name: "gdbpaging", engine, paging }))),
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/**
 * GDB's output for the kernel's script against the stub on `port`, from the first breakpoint on (QEMU starts at
 * the reset vector, `run` at the kernel's entry). The end is the same event told two ways: QEMU's stub closes
 * the connection when isa-debug-exit ends the process, ours first reports the exit (W).
 */
function runGdb(name: string, port: number, commands = SCRIPTS[name]!, timeoutMs = 120_000): Promise<string> {
  const script = ["set pagination off", "set confirm off", `file ${kernelPath(name)}`, `target remote :${port}`, ...commands];
  // (In the background: a guest of ours another test drives on a terminal must go on meanwhile.)
  const g = spawn("gdb", ["-q", "-batch", "-nx", ...script.flatMap((l) => ["-ex", l])], { timeout: timeoutMs });
  let out = "";
  // (Decoded as a stream: a character of several UTF-8 bytes — the stub's "…" — may be split between two chunks.)
  g.stdout.setEncoding("utf8");
  g.stderr.setEncoding("utf8");
  g.stdout.on("data", (text: string) => { out += text; });
  g.stderr.on("data", (text: string) => { out += text; });
  return new Promise((resolve) => g.on("close", () => resolve(out.slice(out.indexOf("Breakpoint 1 at"))
    .replace(/^(Remote connection closed|\[Inferior 1 \(.*\) exited with code 01\])$/m, "END"))));
}

/**
 * The child's exit, listened for from its start: the guest may end (GDB's last continue) and the process exit before
 * GDB's own output is closed, and an exit listener attached after that would wait for good.
 */
function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

/** Wait until the child says `pattern` (on stderr, or on `stream`); resolve with the match. */
function waitFor(child: ChildProcess, pattern: RegExp, stream: "stdout" | "stderr" = "stderr"): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = "";
    const on = (b: Buffer) => { text += b.toString(); const m = pattern.exec(text); if (m) resolve(m); };
    child[stream]?.on("data", on);
    child.on("exit", (code) => reject(new Error(`exited (${code}) before ${pattern}: ${text}`)));
  });
}

describe.skipIf(missing.length > 0)("the GDB stub against QEMU's, GDB driving both", () => {
  const qemuOutput = new Map<string, string>();
  const qemu = async (name: string) => {
    if (qemuOutput.has(name)) return qemuOutput.get(name)!;
    const port = await freePort();
    const q = spawn("qemu-system-i386", ["-nodefaults", "-display", "none", "-serial", "null",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-smp", String(CPUS[name] ?? 1), "-kernel", kernelPath(name), "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500)); // (QEMU says nothing when it listens)
    const out = await runGdb(name, port);
    q.kill();
    qemuOutput.set(name, out);
    return out;
  };

  for (const { name, engine, paging } of RUNS) {
    it(`${name}: GDB prints what it prints against QEMU (${engine} engine, ${paging} paging), and the kernel's output is QEMU's`, async () => {
      const expected = await qemu(name);
      expect(expected).toMatch(/^(Thread \d+ hit )?Breakpoint 1, 0x[0-9a-f]+ in \w+ \(\)$/m);
      expect(expected).toMatch(/\nEND\n?$/);
      const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath(name), "--engine", engine, "--paging", paging, "--smp", String(CPUS[name] ?? 1), "--gdb", "0"], { stdio: ["ignore", "pipe", "pipe"] });
      let serial = "";
      child.stdout!.on("data", (b: Buffer) => { serial += b.toString("latin1"); });
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
      expect(await runGdb(name, Number(m[1]))).toBe(expected);
      expect(await exited).toBe(1); // isa-debug-exit with 0, as under QEMU
      expect(serial).toBe(readFileSync(`${root}tests/kernels/golden/${name}.txt`, "latin1"));
    }, 180_000);
  }
});

// Attaching to a guest already running (gdbattach.asm spins until GDB sets `go`): QEMU's stub listening from the start
// without -S, ours started by the monitor's gdbserver command; GDB connecting stops the guest in both.
const ATTACH_SCRIPT = ["set var *(char*)&go = 1", "break done", "continue", "p/x $eax", "x/bx &go", "delete", "continue"];

describe.skipIf(missing.length > 0 || !haveScript)(`GDB attaches to a running guest: QEMU's -gdb without -S, our monitor's gdbserver${haveScript ? "" : " (skipped: no `script` (util-linux) to give the CLI a terminal)"}`, () => {
  const attach = (port: number) => runGdb("gdbattach", port, ATTACH_SCRIPT);

  // QEMU's transcript and serial output, once for all the runs below.
  let qemu: Promise<string> | null = null;
  const qemuTranscript = () => qemu ??= (async () => {
    const port = await freePort();
    const q = spawn("qemu-system-i386", ["-nodefaults", "-display", "none", "-serial", "stdio",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", kernelPath("gdbattach"), "-gdb", `tcp:127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "ignore"] });
    let qemuSerial = "";
    q.stdout!.on("data", (b: Buffer) => { qemuSerial += b.toString("latin1"); });
    const qemuExit = new Promise((r) => q.on("exit", r));
    await waitFor(q, /spinning/, "stdout");
    const expected = await attach(port);
    await qemuExit;
    expect(expected).toMatch(/^Breakpoint 1, 0x[0-9a-f]+ in done \(\)$/m);
    expect(expected).toMatch(/\nEND\n?$/);
    expect(qemuSerial).toBe("gdbattach spinning\ngdbattach 0000601e\n");
    return expected;
  })();

  // On a terminal (Ctrl-A c opens the monitor): the guest says it spins, the monitor starts the stub, GDB attaches —
  // once the terminal is back on the guest's console, or (backToGuest false) with the monitor still open, where the
  // guest's output waits until the monitor closes, here at the guest's exit.
  const onTerminal = async (engine: string, backToGuest: boolean) => {
    let ours: Promise<string> | null = null, port = 0;
    const steps: TerminalStep[] = [
      [/gdbattach spinning/, () => "\x01c"],
      [/\(symbiont\) $/, () => "gdbserver 0\r"],
      [/waiting for GDB on 127\.0\.0\.1:(\d+) [^\n]*\n/, (m) => {
        port = Number(m[1]);
        if (backToGuest) return "\x01c";
        ours = attach(port);
        return "";
      }],
      ...backToGuest ? [[/^\r*\n$/, () => { ours = attach(port); return ""; }] as TerminalStep] : [], // (the monitor has left the terminal)
    ];
    const run = await runOnTerminal(`${JSON.stringify(process.execPath)} ${JSON.stringify(`${root}bin/symbiont.js`)} run ${kernelPath("gdbattach")} --engine ${engine}`, steps, 60_000);
    expect(run.steps, run.out).toBe(steps.length);
    expect(await ours).toBe(await qemuTranscript());
    expect(run.status).toBe(1); // isa-debug-exit with 0, as under QEMU
    expect(run.text).toMatch(/^gdbattach spinning\n[\s\S]*\ngdbattach 0000601e\n$/); // (the monitor in between)
  };

  for (const engine of ENGINES) {
    it(`prints what it prints against QEMU (${engine} engine), and the guest's output is QEMU's`, () => onTerminal(engine, true), 180_000);
  }
  it("the guest ends while the monitor has the terminal: what it printed meanwhile still comes out", () => onTerminal("wasm", false), 180_000);
});

// Reverse execution (reverse-stepi, reverse-continue) against QEMU's record/replay (`-icount shift=7,rr=record`, then
// `rr=replay` with -gdb: QEMU's own reverse debugging, its snapshots in a qcow2 image): GDB runs the same script
// against QEMU's replay — once, its transcript kept in tests/kernels/golden/reverse/ (recordQemuReplay below) — and
// against ours (`--deterministic`). The scripts go back over breakpoints and watchpoints, across host input
// (gdbinput.asm reads COM1, the characters typed while GDB runs the guest), across the guest's own exceptions, ring
// changes and gates (pmode.asm), and across paging changes under every paging mode (gdbpaging.asm) — then forward
// again to the end.
const REVERSE_SCRIPTS: Record<string, string[]> = {
  gdbwatch: [
    "break main", "continue", "stepi", "stepi", "stepi", "p/x $eip", "reverse-stepi", "p/x $eip", "x/3xw &counter",
    "watch *(int*)&counter", "continue", "continue", "p/x $eip", "reverse-continue", "p/x $eip", "x/3xw &counter",
    "reverse-continue", "p/x $eip", "reverse-continue", "p/x $eip", "x/3xw &counter", "delete",
    "break after_loop", "continue", "x/3xw &counter", "reverse-stepi", "p/x $eip", "p/x $ecx", "reverse-stepi", "reverse-stepi",
    "x/3xw &counter", "p/x $eax", "delete", "continue",
  ],
  gdbinput: [
    "break got_char", "continue", "p/x $al", "continue", "p/x $al", "continue", "p/x $al", "reverse-continue", "p/x $al",
    "p/x $ebx", "reverse-stepi", "reverse-stepi", "p/x $eip", "p/x $edx", "reverse-continue", "p/x $al", "p/x $esi",
    "stepi", "stepi", "p/x $ebx", "delete", "continue",
  ],
  // Exceptions (isr_common: the frame's vector and error code), steps back out of a handler into the faulting
  // instruction; INT 0x80 from ring 3 (sys_handler), a step back into ring 3; a continue forward from the past.
  pmode: [
    "break isr_common", "continue", "continue", "continue", "continue", "continue", "continue", "info registers esp eip",
    "x/4xw $esp", "reverse-continue", "x/4xw $esp", "reverse-stepi", "reverse-stepi", "reverse-stepi", "p/x $eip", "p/x $cs",
    "reverse-continue", "reverse-continue", "x/4xw $esp", "delete",
    "break sys_handler", "continue", "continue", "continue", "p/x $eax", "x/6xw $esp", "reverse-stepi", "p/x $cs", "p/x $eip",
    "p/x $esp", "reverse-stepi", "p/x $eip", "reverse-continue", "p/x $eax", "x/6xw $esp", "delete", "break show_handler",
    "continue", "x/6xw $esp", "reverse-continue", "p/x $eip", "delete", "continue",
  ],
  // A loop remapping a page: back over its iterations (the page read through the guest's tables each time), a
  // watchpoint on the PTE going back to the last store, forward over the next two; a store through a read-only PTE
  // (CR0.WP clear) undone.
  // Watchpoints met inside REP string instructions: back from the PUSHA to the STOSD iteration that wrote the watched
  // dword, one iteration further back; forward to the MOVSB iteration reading a watched byte, two iterations back, then
  // back to each of the two iterations that wrote a watched word (gdbrepwatch.asm).
  gdbrepwatch: [
    "break main", "continue", "break pusha_at", "continue", "watch *(int*)((char*)&buf + 40)", "reverse-continue", "p/x $eip",
    "p/x $ecx", "p/x $edi", "x/2xw (char*)&buf + 40", "reverse-stepi", "p/x $eip", "p/x $ecx", "p/x $edi", "delete",
    "rwatch *(char*)((char*)&buf + 100)", "continue", "p/x $ecx", "p/x $esi", "reverse-stepi", "reverse-stepi", "p/x $ecx",
    "watch *(short*)((char*)&copy + 30)", "reverse-continue", "p/x $ecx", "p/x $edi", "reverse-continue", "p/x $ecx",
    "delete", "continue",
  ],
  gdbpaging: [
    "break remapped", "continue", "continue", "continue", "p/x $esi", "x/xw 0x400000", "reverse-continue", "p/x $esi",
    "x/xw 0x400000", "x/xw &pt1", "reverse-stepi", "reverse-stepi", "p/x $eip", "x/xw 0x400000", "delete",
    "watch *(int*)&pt1", "reverse-continue", "p/x $eip", "x/xw &pt1", "continue", "continue", "p/x $eip", "x/xw &pt1", "delete",
    "break wp0_store", "continue", "stepi", "x/xw 0x401000", "reverse-stepi", "x/xw 0x401000", "p/x $esi", "delete", "continue",
  ],
};
/**
 * Kernels whose script goes forward from the past over code that prints, so ours prints some lines again: a line
 * printed before the script's first going back, and the first whole line printed after its last.
 */
const REPRINTS: Record<string, { before: string; after: string }> = { pmode: { before: "-- ring 0 faults", after: "-- lar/lsl/verr/verw at CPL 0" } };
/** Host input for a kernel that reads COM1 (QEMU's recording gets it a character at a time, as typed). */
const INPUT: Record<string, string> = { gdbinput: "abc" };
const REVERSE_RUNS: { name: string; engine: (typeof ENGINES)[number]; paging: Paging }[] = [
  ...Object.keys(REVERSE_SCRIPTS).flatMap((name) => ENGINES.map((engine) => ({ name, engine, paging: "direct" as const }))),
  ...(["nested", "shadow"] as const).map((paging) => ({ name: "gdbpaging", engine: "wasm" as const, paging })),
  { name: "gdbwatch", engine: "wasm", paging: "shadow" },
  { name: "gdbrepwatch", engine: "wasm", paging: "shadow" },
  { name: "pmode", engine: "wasm", paging: "shadow" },
];

/** QEMU's transcripts of the scripts above (and gdbinput's output), recorded as the kernels' goldens are. */
const reverseGolden = (name: string, what: "gdb" | "serial") => `${root}tests/kernels/golden/reverse/${name}.${what}.txt`;
const recording = process.env.SYMBIONT_RECORD_REVERSE === "1";
const noQemuImg = !have("qemu-img");
if (recording && noQemuImg) throw new Error("SYMBIONT_RECORD_REVERSE=1 needs qemu-img (Debian: qemu-utils) for QEMU's snapshots");

/**
 * Record QEMU's side (SYMBIONT_RECORD_REVERSE=1 npx vitest run tests/gdb.test.ts -t reverse): the kernel run once
 * under `-icount shift=7,rr=record` (its snapshots in a qcow2 image), then GDB's script against `rr=replay`. QEMU 7.2's
 * replay now and then never answers a reverse-continue (always, on a loaded machine): a replay that does not reach
 * the script's end is tried again, on a machine with nothing else to do, and the transcripts are kept as goldens.
 */
async function recordQemuReplay(name: string): Promise<void> {
  const dir = mkdtempSync(`${tmpdir()}/symbiont-rr-`);
  const args = (mode: "record" | "replay") => ["-nodefaults", "-display", "none",
    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-icount", `shift=7,rr=${mode},rrfile=${dir}/rr.bin,rrsnapshot=init`,
    "-drive", `file=${dir}/rr.qcow2,if=none,id=rr`, "-net", "none", "-kernel", kernelPath(name)];
  try {
    expect(spawnSync("qemu-img", ["create", "-f", "qcow2", `${dir}/rr.qcow2`, "16M"]).status).toBe(0);
    // The replay needs the serial port as the recording had it: a kernel that reads COM1 has it on pipes (its input
    // written a character at a time, its output kept), the others on none (a replay of a long output through pipes
    // goes astray: 7.2's stdio backend is not replayed exactly).
    const input = INPUT[name];
    const serialArgs = input ? ["-serial", "stdio"] : ["-serial", "null"];
    const rec = spawn("qemu-system-i386", [...args("record"), ...serialArgs], { stdio: ["pipe", "pipe", "ignore"] });
    let serial = "";
    rec.stdout!.on("data", (b: Buffer) => { serial += b.toString("latin1"); });
    const recorded = new Promise((r) => rec.on("exit", r));
    for (const c of input ?? "") { await new Promise((r) => setTimeout(r, 300)); rec.stdin!.write(c); }
    await recorded;
    let transcript = "";
    for (let attempt = 0; attempt < 6 && !/\nEND\n?$/.test(transcript); attempt++) {
      const port = await freePort();
      const q = spawn("qemu-system-i386", [...args("replay"), ...serialArgs, "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: ["pipe", "pipe", "ignore"] });
      q.stdout!.resume();
      await new Promise((r) => setTimeout(r, 1000)); // (QEMU says nothing when it listens)
      transcript = await runGdb(name, port, REVERSE_SCRIPTS[name], 30_000);
      q.kill("SIGKILL"); // (a replay stuck in a reverse-continue does not end on SIGTERM)
    }
    expect(transcript).toMatch(/\nEND\n?$/);
    expect(transcript.match(/reverse/g) ?? []).toHaveLength(0); // (QEMU went back everywhere asked: no "no more history")
    mkdirSync(`${root}tests/kernels/golden/reverse`, { recursive: true });
    writeFileSync(reverseGolden(name, "gdb"), transcript);
    if (input) writeFileSync(reverseGolden(name, "serial"), serial);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

describe.skipIf(missing.includes("gdb"))("reverse execution: GDB going back prints what it printed against QEMU's record/replay", () => {
  if (recording) beforeAll(async () => { for (const name of Object.keys(REVERSE_SCRIPTS)) await recordQemuReplay(name); }, 900_000);
  const expectedFor = (name: string) => ({
    transcript: readFileSync(reverseGolden(name, "gdb"), "latin1"),
    serial: readFileSync(INPUT[name] ? reverseGolden(name, "serial") : `${root}tests/kernels/golden/${name}.txt`, "latin1"),
  });

  for (const { name, engine, paging } of REVERSE_RUNS) {
    it(`${name}: GDB going back prints what it prints against QEMU's replay (${engine} engine, ${paging} paging); the output is QEMU's`, async () => {
      const expected = expectedFor(name);
      const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath(name), "--deterministic", "--engine", engine, "--paging", paging, "--gdb", "0"], { stdio: ["pipe", "pipe", "pipe"] });
      let serial = "";
      child.stdout!.on("data", (b: Buffer) => { serial += b.toString("latin1"); });
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
      const transcript = runGdb(name, Number(m[1]), REVERSE_SCRIPTS[name]);
      // The input typed while GDB has the guest run: each character an event of the history (its count: where the
      // guest's polling was when it came), the later ones given again when the guest goes forward from the first.
      for (const c of INPUT[name] ?? "") { await new Promise((r) => setTimeout(r, 700)); child.stdin!.write(c); }
      expect(await transcript).toBe(expected.transcript);
      child.stdin!.end();
      expect(await exited).toBe(1); // isa-debug-exit with 0, as under QEMU
      const reprinted = REPRINTS[name];
      if (!reprinted) expect(serial).toBe(expected.serial);
      else {
        // Going forward from the past runs the guest's printing again (QEMU's replay prints nothing): its output begins
        // as QEMU's up to the first going back, is longer, and ends as QEMU's from the line after the last going back.
        const to = expected.serial.indexOf(`\n${reprinted.before}\n`), from = expected.serial.indexOf(`\n${reprinted.after}\n`);
        expect(to).toBeGreaterThan(0);
        expect(from).toBeGreaterThan(to);
        expect(serial.startsWith(expected.serial.slice(0, to))).toBe(true);
        expect(serial.endsWith(expected.serial.slice(from))).toBe(true);
        expect(serial.length).toBeGreaterThan(expected.serial.length);
      }
    }, 180_000);
  }

  // Where ours differs from QEMU's by design: the history begins where GDB attached (here the kernel's entry, which
  // the ELF header names; QEMU's replay begins at the reset vector), and GDB says so, as the protocol has it
  // (replaylog:begin); without a deterministic clock there is no going back, and GDB is told why.
  const entry = () => readFileSync(kernelPath("gdbwatch")).readUInt32LE(24);
  it("going back past the beginning: GDB says there is no more history, at the kernel's entry (ELF e_entry)", async () => {
    const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath("gdbwatch"), "--deterministic", "--gdb", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = exitOf(child);
    const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
    const out = await runGdb("gdbwatch", Number(m[1]), ["break main", "reverse-stepi", "p/x $eip", "continue", "reverse-continue", "p/x $eip", "delete", "continue"]);
    const at = `0x${entry().toString(16)}`;
    expect(out.match(/No more reverse-execution history\./g)).toHaveLength(2);
    expect(out).toMatch(new RegExp(`^\\$1 = ${at}$`, "m"));
    expect(out).toMatch(/^Breakpoint 1, 0x001014bd in main \(\)$/m);
    expect(out).toMatch(new RegExp(`^\\$2 = ${at}$`, "m"));
    expect(out).toMatch(/\nEND\n?$/);
    await exited;
  }, 60_000);
  it.each([
    [["--gdb", "0"], /symbiont: no reverse execution here: it needs the deterministic clock \(symbiont … --deterministic\)\nwarning: Remote failure reply: E01/],
  ])("%j: GDB is told why it cannot go back, and the guest goes on", async (args, message) => {
    const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath("gdbwatch"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = exitOf(child);
    const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
    const out = await runGdb("gdbwatch", Number(m[1]), ["break main", "continue", "reverse-stepi", "p/x $eip", "delete", "continue"]);
    expect(out).toMatch(message);
    expect(out).toMatch(/^\$1 = 0x1014bd$/m);
    expect(out).toMatch(/\nEND\n?$/);
    await exited;
  }, 60_000);
});

// Two vCPUs (the second waits for a start-up IPI the kernel never sends): GDB goes back as on one.
describe.skipIf(missing.includes("gdb"))("reverse execution on a multiprocessor", () => {
  it("--smp 2: reverse-stepi from main lands where it lands with one vCPU", async () => {
    const eipAfterStepBack = async (smp: string) => {
      const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath("gdbwatch"), "--deterministic", "--smp", smp, "--gdb", "0"], { stdio: ["ignore", "pipe", "pipe"] });
      const exited = exitOf(child);
      const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
      const out = await runGdb("gdbwatch", Number(m[1]), ["break main", "continue", "reverse-stepi", "p/x $eip", "delete", "continue"]);
      await exited;
      expect(out).not.toMatch(/no reverse execution/);
      expect(out).toMatch(/\nEND\n?$/);
      return /^\$1 = (0x[0-9a-f]+)$/m.exec(out)?.[1];
    };
    const one = await eipAfterStepBack("1");
    expect(one).toMatch(/^0x[0-9a-f]+$/);
    expect(one).not.toBe("0x1014bd"); // (main's first instruction: it went back)
    expect(await eipAfterStepBack("2")).toBe(one);
  }, 60_000);
});

/** GDB's transcript of `commands` against QEMU's gdbstub running the kernel live (not a replay), and its serial output. */
async function qemuLive(name: string, commands: string[]): Promise<{ transcript: string; serial: string }> {
  const port = await freePort();
  const q = spawn("qemu-system-i386", ["-nodefaults", "-display", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    "-kernel", kernelPath(name), "-gdb", `tcp:127.0.0.1:${port}`, "-S"], { stdio: ["ignore", "pipe", "ignore"] });
  let serial = "";
  q.stdout!.on("data", (b: Buffer) => { serial += b.toString("latin1"); });
  const exited = new Promise((r) => q.on("exit", r));
  await new Promise((r) => setTimeout(r, 500)); // (QEMU says nothing when it listens)
  const transcript = await runGdb(name, port, commands);
  await exited;
  return { transcript, serial };
}

/** The same against ours with `--deterministic` (a history to go back in): the transcript, serial output and exit status. */
async function oursDeterministic(name: string, engine: string, commands: string[]) {
  const child = spawn(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath(name), "--deterministic", "--engine", engine, "--gdb", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let serial = "";
  child.stdout!.on("data", (b: Buffer) => { serial += b.toString("latin1"); });
  const status = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const m = await waitFor(child, /waiting for GDB on 127\.0\.0\.1:(\d+) /);
  const transcript = await runGdb(name, Number(m[1]), commands);
  return { transcript, exited: status, get serial() { return serial; } }; // (read serial once it has exited)
}

// A step holds a pending interrupt back (QEMU's gdbstub steps so, and so does ours), and going back replays GDB's
// steps as they were made. QEMU's record/replay cannot be the oracle here: its replay delivers the interrupt where the
// recording (made without GDB) took it, whatever GDB steps. So QEMU runs forward live, four steps from `stepping`
// (gdbirq.asm: STI with its own IPI pending), and ours goes four steps, two back, two forward again: each step back
// must land where QEMU's forward step did (a replayed step that let the interrupt in lands in the handler), and the
// end — registers, the handler's count, the kernel's output — must be QEMU's.
describe.skipIf(missing.length > 0)("reverse execution replays GDB's steps with the interrupts they held back", () => {
  const forward = ["break stepping", "continue", "stepi", "stepi", "stepi", "stepi", "p/x $eip", "p/x $eax", "x/xw &ticks", "delete", "continue"];
  const there = ["break stepping", "continue", "stepi", "stepi", "stepi", "stepi", "reverse-stepi", "reverse-stepi",
    "stepi", "stepi", "p/x $eip", "p/x $eax", "x/xw &ticks", "delete", "continue"];
  const stops = (t: string) => t.split("\n").filter((l) => /^0x[0-9a-f]{8} in \w+ \(\)$/.test(l));
  const values = (t: string) => t.split("\n").filter((l) => /^\$\d+ = |^0x[0-9a-f]+:\t/.test(l)).map((l) => l.replace(/^\$\d+/, "$"));
  let qemu: { transcript: string; serial: string };
  beforeAll(async () => { qemu = await qemuLive("gdbirq", forward); }, 60_000);

  for (const engine of ENGINES) {
    it(`${engine} engine: four steps, two back, two forward again: where QEMU's steps were, and QEMU's end`, async () => {
      const q = stops(qemu.transcript);
      expect(q).toHaveLength(4);
      expect(qemu.serial).toBe("gdbirq 00000001 00000011 00000033\n"); // (the interrupt waited for the continue)
      const ours = await oursDeterministic("gdbirq", engine, there), transcript = ours.transcript;
      expect(stops(transcript)).toEqual([...q, q[2], q[1], q[2], q[3]]);
      expect(values(transcript)).toEqual(values(qemu.transcript));
      expect(transcript).toMatch(/\nEND\n?$/);
      expect(await ours.exited).toBe(1);
      expect(ours.serial).toBe(qemu.serial);
    }, 60_000);
  }
});

// Steps inside a REP instruction share its count (the instruction retires once, stepped or not), so going back through
// its iterations needs positions inside it: the history's steps at a count. QEMU runs forward live from `rep_movs`
// (gdbrep.asm: REP MOVSB of four bytes), ECX and the destination printed at the breakpoint and after each of four
// steps; ours takes the four steps, four back (the first back from past the instruction, the last to before its first
// iteration), four forward again, two back, then a continue that runs the last two iterations at once and one step
// back from after them, which lands where that continue began: each landing must print what QEMU printed there, and
// the end must be QEMU's.
describe.skipIf(missing.length > 0)("reverse execution steps back through a REP instruction's iterations", () => {
  const show = ["p/x $ecx", "x/xw &dst"];
  const steps = (n: number, cmd: string) => Array.from({ length: n }, () => [cmd, ...show]).flat();
  const forward = ["break rep_movs", "continue", ...show, ...steps(4, "stepi"), "delete", "continue"];
  const there = ["break rep_movs", "continue", ...show, ...steps(4, "stepi"), ...steps(4, "reverse-stepi"), ...steps(4, "stepi"),
    ...steps(2, "reverse-stepi"), "delete", "break after_movs", "continue", ...show, "reverse-stepi", ...show, "delete", "continue"];
  /** The values printed, two lines a position. */
  const positions = (t: string) => {
    const v = t.split("\n").filter((l) => /^\$\d+ = |^0x[0-9a-f]+:\t/.test(l)).map((l) => l.replace(/^\$\d+/, "$"));
    return Array.from({ length: v.length / 2 }, (_, i) => `${v[2 * i]} ${v[2 * i + 1]}`);
  };
  let qemu: { transcript: string; serial: string };
  beforeAll(async () => { qemu = await qemuLive("gdbrep", forward); }, 60_000);

  for (const engine of ENGINES) {
    it(`${engine} engine: four steps, four back, four forward, two back, a continue and one back: each where QEMU's was, and QEMU's end`, async () => {
      const q = positions(qemu.transcript);
      expect(q).toHaveLength(5);
      expect(q[0]).toMatch(/^\$ = 0x4 0x[0-9a-f]+:\t0x00000000$/);
      expect(new Set(q).size).toBe(5); // (each step changed ECX and the destination)
      const ours = await oursDeterministic("gdbrep", engine, there), transcript = ours.transcript;
      expect(positions(transcript)).toEqual([...q, q[3], q[2], q[1], q[0], q[1], q[2], q[3], q[4], q[3], q[2], q[4], q[2]]);
      expect(transcript).toMatch(/\nEND\n?$/);
      expect(await ours.exited).toBe(1);
      expect(ours.serial).toBe(qemu.serial);
    }, 60_000);
  }
});

describe("--gdb's errors", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [`${root}bin/symbiont.js`, "run", kernelPath("pmode"), ...args], { encoding: "utf8", input: "", timeout: 30_000 });
  it.each([
    [["--gdb", "65536"], /--gdb takes a TCP port, 0-65535/],
    [["--gdb", "x"], /--gdb takes a TCP port/],
    [["--gdb", "0", "--vms", "2"], /--gdb debugs one VM/],
  ])("%j: one line, status 2", (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
  it("says so when the port is taken", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const r = run("--gdb", String((server.address() as { port: number }).port));
    server.close();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--gdb: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});
