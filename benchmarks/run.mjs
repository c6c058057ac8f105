// `npm run bench`: guest instructions per second of Symbiont's two engines
// (Wasm and JS) on the compute kernels in benchmarks/kernels/, the Wasm/JS
// ratio, the cost of an I/O exit, and v86 on the same kernels, all measured
// in this one run. Table on stdout, progress on stderr, JSON (with machine
// info) in benchmarks/results/latest.json plus a dated copy, and an SVG chart.
// Method: benchmarks/README.md.
//
// Environment: BENCH_RUNS (measured runs per kernel and engine, default 3),
// BENCH_WARMUP (warm-up runs, default 1), BENCH_KERNELS (comma list, default
// all, "linux" included), BENCH_ENGINES (comma list of wasm,js,v86,v86-nojit,qemu;
// default all; qemu applies to the Linux rows only), BENCH_V86_BIOS (SeaBIOS
// directory, default /usr/share/seabios, or "none"), BENCH_LINUX (0/1: leave
// out or add the Linux rows), BENCH_LINUX_RUNS (default 3), BENCH_LINUX_RSS
// (0: skip the 256 MiB peak-RSS boot), BENCH_LINUX_TIMEOUT (seconds per boot,
// default 1800). The Linux rows are in linux.mjs. BENCH_DISK (0/1: leave out or
// add the disk rows, virtio-blk vs IDE, default with the Linux rows), BENCH_DISK_MB
// (default 16); they are in disk.mjs. BENCH_PAGING (0/1: leave out or add the
// paging table — direct/nested/shadow — default with all kernels), BENCH_PAGING_RUNS
// (default BENCH_RUNS), BENCH_PAGING_LINUX (0: no Linux paging rows),
// BENCH_PAGING_LINUX_ENGINES (default wasm,js); they are in paging.mjs.
// BENCH_NET (0/1: leave out or add the network rows, virtio-net vs NE2000 emulated vs NE2000
// under VPIO, default with the Linux rows), BENCH_NET_MB (default 4), BENCH_NET_CARDS; they are in net.mjs.
// BENCH_SWAPBYPASS (0/1: leave out or add the SwapBypass rows — floor / swap / SwapBypass on the
// thrashing workloads — default with the Linux rows), BENCH_SWAPBYPASS_RUNS (default 1); swapbypass.mjs.
// BENCH_FIRMWARE (0/1: leave out or add Linux booted from a SYSLINUX disk through SeaBIOS, us vs QEMU, default
// with the Linux rows), BENCH_FIRMWARE_RUNS (default 3); firmware.mjs.
// BENCH_USERNET (0/1: leave out or add user-mode networking, download and upload through --net user against QEMU's
// -netdev user, default with the Linux rows), BENCH_USERNET_RUNS (default 3), BENCH_USERNET_MB (default 16); usernet.mjs.
// BENCH_SNAPSHOT (0/1: leave out or add snapshots of Linux at its prompt, save and restore, us vs v86's save_state,
// default with the Linux rows), BENCH_SNAPSHOT_RUNS (default 3); snapshot.mjs.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import os from "node:os";
import { KERNELS } from "./kernels.mjs";
import { runKernel, freshEngine, cpuMs, RAM } from "./kernel-run.mjs";
import { pagingBench, pagingLines } from "./paging.mjs";
import { linuxBench, linuxLines, LINUX_ENGINES } from "./linux.mjs";
import { diskBench, diskLines } from "./disk.mjs";
import { firmwareBench, firmwareLines } from "./firmware.mjs";
import { symcallBench } from "./symcall.mjs";
import { netBench, netLines } from "./net.mjs";
import { usernetBench, usernetLines } from "./usernet.mjs";
import { snapshotBench, snapshotLines } from "./snapshot.mjs";
import { swapbypassBench, swapbypassLines } from "./swapbypass.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const RUNS = intEnv("BENCH_RUNS", 3, 1);
const WARMUP = intEnv("BENCH_WARMUP", 1, 0);
const ENGINES = listEnv("BENCH_ENGINES", ["wasm", "js", "v86", "v86-nojit", "qemu"]);
for (const e of ENGINES) {
  if (!["wasm", "js", "v86", "v86-nojit", "qemu"].includes(e)) { console.error(`bench: unknown engine "${e}" in BENCH_ENGINES`); process.exit(2); }
}

function intEnv(name, dflt, min) {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) { console.error(`bench: ${name} must be an integer >= ${min}`); process.exit(2); }
  return n;
}
function listEnv(name, dflt) {
  const v = process.env[name];
  return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : dflt;
}
const progress = (s) => process.stderr.write(s);
/** Which clock the medians and ratios use: wall time (default) or this process's CPU time. */
const CLOCK = process.env.BENCH_CLOCK === "cpu" ? "cpu" : "wall";

const only = listEnv("BENCH_KERNELS", null);
const kernels = only ? KERNELS.filter((k) => only.includes(k.name)) : KERNELS;
if (only && kernels.length !== only.filter((k) => k !== "linux" && k !== "symcall").length) {
  console.error(`bench: unknown kernel in BENCH_KERNELS (have ${KERNELS.map((k) => k.name).join(", ")}, symcall, linux)`);
  process.exit(2);
}
// The Linux rows (minutes): part of "all kernels", or named "linux"; BENCH_LINUX=0/1 overrides.
const LINUX = process.env.BENCH_LINUX === "0" ? false : process.env.BENCH_LINUX === "1" ? true : !only || only.includes("linux");
const LINUX_RUNS = intEnv("BENCH_LINUX_RUNS", 3, 1);
const LINUX_TIMEOUT = intEnv("BENCH_LINUX_TIMEOUT", 1800, 1);
const kernelEngines = ENGINES.filter((e) => e !== "qemu");

// ---- one run on a Symbiont engine ---------------------------------------------------------

// ---- v86, in a child process -------------------------------------------------------------------

function v86Version() {
  try {
    const require = createRequire(import.meta.url);
    return JSON.parse(readFileSync(require.resolve("v86/package.json"), "utf8")).version;
  } catch { return null; }
}

function runV86(path, noJit) {
  const out = execFileSync(process.execPath, [join(here, "v86-child.mjs"), path, String(WARMUP), String(RUNS), noJit ? "nojit" : "jit"], {
    encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"],
  });
  const line = out.split("\n").find((l) => l.startsWith("V86JSON "));
  if (!line) throw new Error(`v86 child gave no result; its output: ${out.slice(0, 500)}`);
  return JSON.parse(line.slice(8));
}

// ---- statistics ------------------------------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function summarize(times, instructions, units) {
  const ms = median(times);
  return {
    medianMs: ms, minMs: Math.min(...times), maxMs: Math.max(...times),
    runsMs: times,
    mips: instructions / ms / 1000,
    mipsMin: instructions / Math.max(...times) / 1000,
    mipsMax: instructions / Math.min(...times) / 1000,
    unitsPerSec: units !== null ? units / (ms / 1000) : null,
  };
}

// ---- main -------------------------------------------------------------------------------------------

const loadStart = os.loadavg();
const results = [];
let failures = 0;
const v86Ver = v86Version();
let v86Note = null;
let v86Bios = null;
if (ENGINES.some((e) => e.startsWith("v86")) && !v86Ver) v86Note = "v86 is not installed (npm install): skipped";

progress(`bench: ${kernels.length} kernels × [${kernelEngines.join(", ")}], ${WARMUP} warm-up + ${RUNS} measured runs each${LINUX ? `; then Linux × [${ENGINES.filter((e) => LINUX_ENGINES.includes(e)).join(", ")}], ${LINUX_RUNS} run(s)` : ""}\n`);
for (const k of kernels) {
  const path = join(here, "kernels/bin", `${k.name}.elf`);
  if (!existsSync(path)) { console.error(`bench: ${path} is missing (benchmarks/kernels/build.sh)`); process.exit(2); }
  const image = new Uint8Array(readFileSync(path));
  const expected = `RESULT ${k.name} ${k.expected()}`;
  const row = { kernel: k.name, measures: k.measures, unit: k.unit, expected, engines: {} };
  let instructions = null; // retired in the work window (the same on every engine and run)
  for (const kind of kernelEngines.filter((e) => !e.startsWith("v86"))) {
    const wall = [];
    const cpu = [];
    let last = null;
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const warm = i < WARMUP;
      progress(`  ${k.name.padEnd(9)} ${kind.padEnd(9)} ${warm ? "warm-up " : `run ${i - WARMUP + 1}/${RUNS}`} … `);
      const r = await runKernel(kind, image, path, { setup: k.setup });
      const ok = r.result === expected;
      if (!ok) { failures++; row.error = `${kind}: got "${r.result}", expected "${expected}"`; }
      if (instructions !== null && r.windowInstructions !== instructions) {
        failures++; row.error = `${kind}: retired ${r.windowInstructions} instructions, another run retired ${instructions}`;
      }
      instructions = r.windowInstructions;
      const ms = CLOCK === "cpu" ? r.windowCpuMs : r.windowMs;
      progress(`${(ms / 1000).toFixed(3)} s  ${(r.windowInstructions / ms / 1000).toFixed(1)} MIPS${ok ? "" : "  WRONG RESULT"}\n`);
      if (!warm) { wall.push(r.windowMs); cpu.push(r.windowCpuMs); }
      last = r;
    }
    row.engines[kind] = {
      ...summarize(CLOCK === "cpu" ? cpu : wall, instructions, k.units), wallMs: wall, cpuMs: cpu,
      exits: last.exits, tlbMisses: last.tlbMisses, tlbLookups: last.tlbLookups,
      tlbHitRate: last.tlbLookups ? 1 - last.tlbMisses / last.tlbLookups : null,
      totalMs: last.totalMs, totalInstructions: last.totalInstructions,
    };
  }
  for (const kind of kernelEngines.filter((e) => e.startsWith("v86"))) {
    if (!v86Ver) break;
    progress(`  ${k.name.padEnd(9)} ${kind.padEnd(9)} ${WARMUP} warm-up + ${RUNS} runs (child process) … `);
    try {
      const v = runV86(path, kind === "v86-nojit");
      v86Bios = v.bios;
      const bad = [...v.warmup, ...v.runs].find((r) => r.result !== expected);
      if (bad) { failures++; row.error = `${kind}: got "${bad.result}", expected "${expected}"`; }
      const wall = v.runs.map((r) => r.windowMs);
      const cpu = v.runs.map((r) => r.windowCpuMs);
      if (instructions === null) {
        // No Symbiont engine ran: count this kernel's instructions once on the Wasm engine.
        instructions = (await runKernel("wasm", image, path, { setup: k.setup })).windowInstructions;
      }
      const sum = summarize(CLOCK === "cpu" ? cpu : wall, instructions, k.units);
      row.engines[kind] = { ...sum, wallMs: wall, cpuMs: cpu, startupMs: median(v.runs.map((r) => r.startupMs)) };
      progress(`median ${(sum.medianMs / 1000).toFixed(3)} s  ${sum.mips.toFixed(1)} MIPS${bad ? "  WRONG RESULT" : ""}\n`);
    } catch (e) {
      v86Note = `${kind} failed: ${e.message.split("\n")[0]}`;
      progress(`${v86Note}\n`);
    }
  }
  row.instructions = instructions;
  const e = row.engines;
  row.ratios = {
    wasmOverJs: e.wasm && e.js ? e.js.medianMs / e.wasm.medianMs : null,
    wasmOverV86: e.wasm && e.v86 ? e.v86.medianMs / e.wasm.medianMs : null,
    jsOverV86: e.js && e.v86 ? e.v86.medianMs / e.js.medianMs : null,
    wasmOverV86NoJit: e.wasm && e["v86-nojit"] ? e["v86-nojit"].medianMs / e.wasm.medianMs : null,
  };
  results.push(row);
}

// The cost of an I/O exit: (io − iobase) / K, per engine; and that time in
// guest instructions at the engine's primes rate (its compute speed).
const exitCost = {};
const io = results.find((r) => r.kernel === "io");
const iobase = results.find((r) => r.kernel === "iobase");
const primes = results.find((r) => r.kernel === "primes");
if (io && iobase) {
  const K = KERNELS.find((k) => k.name === "io").units;
  for (const kind of ["wasm", "js", "v86", "v86-nojit"]) {
    if (!io.engines[kind] || !iobase.engines[kind]) continue;
    const ns = (io.engines[kind].medianMs - iobase.engines[kind].medianMs) * 1e6 / K;
    const mips = primes?.engines[kind]?.mips ?? iobase.engines[kind].mips;
    exitCost[kind] = { ns, instructionEquivalents: ns * mips / 1000, atMips: mips, mipsFrom: primes?.engines[kind] ? "primes" : "iobase" };
  }
}

// The translation cache's effect: the compute kernels again with the cache off,
// per engine; ratio = median time off / median time on (same clock, same run).
// And the region compiler's: the Wasm engine with the cache on but every block replayed.
const tcacheEffect = {};
const compilerEffect = {};
/** Median window time of `kind` on kernel k with the cache on or off; a wrong RESULT marks the row failed as `what`. */
async function medianVariant(row, k, image, path, kind, label, tcache, what) {
  const times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    progress(`  ${k.name.padEnd(9)} ${label} ${i < WARMUP ? "warm-up " : `run ${i - WARMUP + 1}/${RUNS}`} … `);
    const r = await runKernel(kind, image, path, { tcache });
    if (r.result !== `RESULT ${k.name} ${k.expected()}`) { failures++; row.error = `${what}: got "${r.result}"`; }
    const ms = CLOCK === "cpu" ? r.windowCpuMs : r.windowMs;
    progress(`${(ms / 1000).toFixed(3)} s\n`);
    if (i >= WARMUP) times.push(ms);
  }
  return median(times);
}
for (const name of ["primes", "calls"]) {
  const row = results.find((r) => r.kernel === name);
  const k = KERNELS.find((x) => x.name === name);
  if (!row || !k) continue;
  const path = join(here, "kernels/bin", `${name}.elf`);
  const image = new Uint8Array(readFileSync(path));
  for (const kind of ["wasm", "js"]) {
    if (!row.engines[kind]) continue;
    const off = await medianVariant(row, k, image, path, kind, `${kind.padEnd(9)} cache off`, false, `${kind} without the translation cache`);
    (tcacheEffect[name] ??= {})[kind] = { offMedianMs: off, onMedianMs: row.engines[kind].medianMs, speedup: off / row.engines[kind].medianMs };
  }
  if (row.engines.wasm) {
    const replay = await medianVariant(row, k, image, path, "wasm-replay", "wasm      compiler off", true, "wasm without the region compiler");
    compilerEffect[name] = { replayMedianMs: replay, compiledMedianMs: row.engines.wasm.medianMs, speedup: replay / row.engines.wasm.medianMs };
  }
}

// ---- SymCall round trip (symcall.mjs) -------------------------------------------------------------------

let symcall = null;
const symcallKinds = ["wasm", "js"].filter((k) => ENGINES.includes(k));
if ((!only || only.includes("symcall")) && symcallKinds.length) {
  try {
    symcall = await symcallBench({
      kinds: symcallKinds, freshEngine, ramBytes: RAM, runs: RUNS, warmup: WARMUP, progress,
      timer: CLOCK === "cpu" ? cpuMs : () => performance.now(),
    });
  } catch (e) {
    failures++;
    symcall = { error: e.message };
  }
}

// ---- Linux ---------------------------------------------------------------------------------------------

let linux = null;
if (LINUX) {
  const loadBefore = os.loadavg();
  linux = await linuxBench({
    engines: ENGINES.filter((e) => LINUX_ENGINES.includes(e)), runs: LINUX_RUNS, clock: CLOCK, timeoutS: LINUX_TIMEOUT,
    rss: process.env.BENCH_LINUX_RSS !== "0" && ENGINES.includes("wasm"), v86: v86Version(), progress,
  });
  if (linux.skipped) progress(`bench: ${linux.skipped}\n`);
  linux.loadavgStart = loadBefore.map((x) => +x.toFixed(2));
  linux.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
  failures += linux.failures ?? 0;
}

// ---- disks: virtio-blk vs IDE ------------------------------------------------------------------------

const DISK = process.env.BENCH_DISK === "0" ? false : process.env.BENCH_DISK === "1" ? true : LINUX;
let disk = null;
if (DISK) {
  disk = await diskBench({ engines: ENGINES.filter((e) => e === "wasm" || e === "js"), mb: intEnv("BENCH_DISK_MB", 16, 1), clock: CLOCK, progress });
  if (disk.skipped) progress(`bench: ${disk.skipped}\n`);
}

// ---- Linux through SeaBIOS and SYSLINUX, us vs QEMU -------------------------------------------------------

const FIRMWARE = process.env.BENCH_FIRMWARE === "0" ? false : process.env.BENCH_FIRMWARE === "1" ? true : LINUX;
let firmware = null;
if (FIRMWARE) {
  firmware = await firmwareBench({ runs: intEnv("BENCH_FIRMWARE_RUNS", 3, 1), progress });
  if (firmware.skipped) progress(`bench: ${firmware.skipped}\n`);
}

// ---- paging modes: direct, nested, shadow -----------------------------------------------------------

const PAGING = process.env.BENCH_PAGING === "0" ? false : process.env.BENCH_PAGING === "1" ? true : !only;
let paging = null;
if (PAGING) {
  paging = await pagingBench({
    engines: kernelEngines.filter((e) => e === "wasm" || e === "js"),
    linuxEngines: process.env.BENCH_PAGING_LINUX === "0" ? [] : listEnv("BENCH_PAGING_LINUX_ENGINES", ["wasm", "js"]).filter((e) => ENGINES.includes(e)),
    runs: intEnv("BENCH_PAGING_RUNS", RUNS, 1), warmup: WARMUP, clock: CLOCK, timeoutS: LINUX_TIMEOUT, progress,
  });
  failures += paging.failures;
}

// ---- networks: virtio-net vs NE2000 (emulated, VPIO) ------------------------------------------------

const NET = process.env.BENCH_NET === "0" ? false : process.env.BENCH_NET === "1" ? true : LINUX;
let net = null;
if (NET) {
  net = await netBench({ engines: ENGINES.filter((e) => e === "wasm" || e === "js"), mb: intEnv("BENCH_NET_MB", 4, 1), clock: CLOCK, progress });
  if (net.skipped) progress(`bench: ${net.skipped}\n`);
}

// ---- user-mode networking, us vs QEMU ----------------------------------------------------------------

const USERNET = process.env.BENCH_USERNET === "0" ? false : process.env.BENCH_USERNET === "1" ? true : LINUX;
let usernet = null;
if (USERNET) {
  usernet = await usernetBench({ runs: intEnv("BENCH_USERNET_RUNS", 3, 1), mb: intEnv("BENCH_USERNET_MB", 16, 1), progress });
  if (usernet.skipped) progress(`bench: ${usernet.skipped}\n`);
}

// ---- snapshots of Linux, us vs v86 (snapshot.mjs) -----------------------------------------------------

const SNAPSHOT = process.env.BENCH_SNAPSHOT === "0" ? false : process.env.BENCH_SNAPSHOT === "1" ? true : LINUX;
let snapshot = null;
if (SNAPSHOT) {
  snapshot = await snapshotBench({ runs: intEnv("BENCH_SNAPSHOT_RUNS", 3, 1), progress, systems: ["wasm", "v86"].filter((s) => ENGINES.includes(s)) });
  if (snapshot.skipped) progress(`bench: ${snapshot.skipped}\n`);
}

// ---- SwapBypass: floor, plain swap, SwapBypass on the thrashing workloads ---------------------------

const SWAPBYPASS = process.env.BENCH_SWAPBYPASS === "0" ? false : process.env.BENCH_SWAPBYPASS === "1" ? true : LINUX;
let swapbypass = null;
if (SWAPBYPASS) {
  try {
    swapbypass = await swapbypassBench({ runs: intEnv("BENCH_SWAPBYPASS_RUNS", 1, 1), progress });
    if (swapbypass.skipped) progress(`bench: ${swapbypass.skipped}\n`);
    failures += swapbypass.failures ?? 0;
  } catch (e) {
    failures++;
    swapbypass = { error: e.message };
  }
}

// ---- machine info ---------------------------------------------------------------------------------

function git(args) {
  try { return execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { return null; }
}
const cpus = os.cpus();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const date = new Date();
const machine = {
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  cpu: cpus[0]?.model ?? "unknown", cpus: cpus.length,
  memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  node: process.version, v8: process.versions.v8,
  loadavgStart: loadStart.map((x) => +x.toFixed(2)), loadavgEnd: os.loadavg().map((x) => +x.toFixed(2)),
};
const report = {
  date: date.toISOString(),
  symbiont: { version: pkg.version, commit: git(["rev-parse", "HEAD"]), dirty: (git(["status", "--porcelain", "--untracked-files=no"]) ?? "") !== "" },
  v86: { version: v86Ver, bios: v86Bios, note: v86Note },
  machine,
  method: {
    runs: RUNS, warmup: WARMUP, ramMiB: RAM >> 20, clock: CLOCK,
    timing: "work window: newline of 'BEGIN name' to first byte of 'RESULT' on COM1, timestamped in the serial callback (all engines)",
    instructions: "Symbiont's retired-instruction count in the work window (identical on both engines); v86 runs the same kernel, so the same count is used for it",
    median: "medianMs over the measured runs (of the clock above; wallMs and cpuMs hold both); mips = instructions / medianMs; mipsMin/mipsMax from the slowest/fastest run",
    exitCost: "(median io − median iobase) / 10M OUTs; instructionEquivalents = ns × the engine's primes MIPS / 1000",
    symcall: "SYMCALL_TEST on the symbiotic test kernel, made between runs: median time of 20000 calls / 20000; instructions = guest instructions one call retires",
  },
  kernels: results,
  exitCost,
  symcall,
  tcacheEffect,
  compilerEffect,
  linux,
  disk,
  firmware,
  paging,
  net,
  usernet,
  snapshot,
  swapbypass,
  failures,
};

mkdirSync(join(here, "results"), { recursive: true });
const json = JSON.stringify(report, null, 2) + "\n";
writeFileSync(join(here, "results/latest.json"), json);
writeFileSync(join(here, "results", `${date.toISOString().replace(/[:.]/g, "-")}.json`), json);
writeFileSync(join(here, "results/latest.svg"), chart(report));

// ---- the table ------------------------------------------------------------------------------------------

const f = (x, d = 1) => (x === null || x === undefined ? "—" : x.toFixed(d));
const lines = [];
lines.push(`Symbiont ${pkg.version} (${report.symbiont.commit?.slice(0, 10) ?? "?"}${report.symbiont.dirty ? "+dirty" : ""}) · ${machine.cpu} ×${machine.cpus} · Node ${process.version} · v86 ${v86Ver ?? "absent"}${v86Bios ? ` (BIOS: ${v86Bios})` : ""}`);
if (results.length) lines.push(`median of ${RUNS} runs after ${WARMUP} warm-up; MIPS = guest instructions retired / ${CLOCK === "cpu" ? "CPU" : "wall"} time of the work window [min–max over runs]`);
const load = os.loadavg()[0];
if (load > 0.5 * os.cpus().length) lines.push(`WARNING: load average ${load.toFixed(1)} on ${os.cpus().length} CPUs: other processes compete for the CPU; wall-clock numbers are unreliable (BENCH_CLOCK=cpu measures CPU time)`);
if (results.length) lines.push("");
const hdr = ["kernel", "instr (M)", "wasm MIPS", "js MIPS", "v86 MIPS", "v86-nojit MIPS", "wasm/js", "wasm/v86", "js/v86", "wasm/v86-nojit", "check"];
const rows = results.map((r) => {
  const e = r.engines;
  const m = (x) => (x ? `${f(x.mips)} [${f(x.mipsMin)}–${f(x.mipsMax)}]` : "—");
  return [r.kernel, f(r.instructions / 1e6, 1), m(e.wasm), m(e.js), m(e.v86), m(e["v86-nojit"]),
    f(r.ratios.wasmOverJs, 2), f(r.ratios.wasmOverV86, 3), f(r.ratios.jsOverV86, 3), f(r.ratios.wasmOverV86NoJit, 2), r.error ? "FAIL" : "ok"];
});
const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
if (results.length) {
  lines.push(fmt(hdr));
  lines.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) lines.push(fmt(r));
  lines.push("");
  lines.push("work units per second (median):");
}
for (const r of results) {
  const per = ["wasm", "js", "v86", "v86-nojit"].filter((x) => r.engines[x]?.unitsPerSec).map((x) => `${x} ${si(r.engines[x].unitsPerSec)}`);
  if (per.length) lines.push(`  ${r.kernel.padEnd(10)} ${r.unit.padEnd(13)} ${per.join("  ")}`);
}
if (Object.keys(exitCost).length) {
  lines.push("");
  lines.push("I/O exit round trip ((io − iobase) / 10M OUTs):");
  for (const [kind, c] of Object.entries(exitCost)) {
    lines.push(`  ${kind.padEnd(9)} ${f(c.ns, 1)} ns = ${f(c.instructionEquivalents, 1)} guest instructions at ${f(c.atMips)} MIPS (${c.mipsFrom})${kind.startsWith("v86") ? "  (v86: a port write handled in-process, not an exit)" : ""}`);
  }
}
if (symcall?.error) lines.push("", `FAIL symcall: ${symcall.error}`);
else if (symcall) {
  lines.push("");
  lines.push("SymCall round trip (SYMCALL_TEST into the symbiotic test kernel and back, state saved and restored):");
  for (const [kind, c] of Object.entries(symcall)) {
    const exit = exitCost[kind];
    lines.push(`  ${kind.padEnd(9)} ${f(c.ns / 1000, 2)} µs, ${c.instructions} guest instructions${exit ? `; ${f(c.ns / exit.ns, 1)}× the I/O exit round trip (${f(exit.ns, 1)} ns)` : ""}`);
  }
}
if (Object.keys(tcacheEffect).length) {
  lines.push("");
  lines.push("translation cache (median time without / with it):");
  for (const [name, per] of Object.entries(tcacheEffect)) {
    lines.push(`  ${name.padEnd(10)} ${Object.entries(per).map(([kind, x]) => `${kind} ${f(x.speedup, 2)}×`).join("  ")}`);
  }
}
if (Object.keys(compilerEffect).length) {
  lines.push("");
  lines.push("region compiler (wasm: median time replaying blocks / compiling hot ones):");
  for (const [name, x] of Object.entries(compilerEffect)) lines.push(`  ${name.padEnd(10)} ${f(x.speedup, 2)}×`);
}
// (From the JS engine: the Wasm engine's compiled code checks the TLB inline without counting; the guest's accesses are the same.)
const hit = results.filter((r) => r.engines.js?.tlbHitRate !== undefined && r.engines.js?.tlbHitRate !== null);
if (hit.length) {
  lines.push("");
  lines.push(`TLB hit rate (data accesses, counted on the JS engine): ${hit.map((r) => `${r.kernel} ${f(100 * r.engines.js.tlbHitRate, 3)}%`).join("  ")}`);
}
const p = primes?.ratios;
if (p) {
  lines.push("");
  lines.push(`primes targets: wasm/js ${f(p.wasmOverJs, 2)} (target ≥ 2) ${p.wasmOverJs === null ? "not measured" : p.wasmOverJs >= 2 ? "met" : "NOT met"}; ` +
    `wasm/v86 ${f(p.wasmOverV86, 3)} (target ≥ 0.1) ${p.wasmOverV86 === null ? "not measured" : p.wasmOverV86 >= 0.1 ? "met" : "NOT met"}`);
}
if (v86Note) lines.push(v86Note);
for (const r of results) if (r.error) lines.push(`FAIL ${r.kernel}: ${r.error}`);
if (linux) lines.push(...linuxLines(linux));
if (disk) lines.push(...diskLines(disk));
if (firmware) lines.push(...firmwareLines(firmware));
if (paging) lines.push(...pagingLines(paging, CLOCK));
if (net) lines.push(...netLines(net));
if (usernet) lines.push(...usernetLines(usernet));
if (snapshot) lines.push(...snapshotLines(snapshot));
if (swapbypass?.error) lines.push("", `SwapBypass: failed: ${swapbypass.error}`);
else if (swapbypass) lines.push(...swapbypassLines(swapbypass));
lines.push("");
lines.push(`results: benchmarks/results/latest.json, latest.svg`);
console.log(lines.join("\n"));
process.exitCode = failures ? 1 : 0;

function si(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

// ---- SVG chart: throughput of each engine relative to the JS engine, or the Wasm engine without it (log scale)

function chart(rep) {
  // Linux rows: speed = 1 / time of the boot and of the workload, labelled in seconds.
  const L = rep.linux && !rep.linux.skipped ? rep.linux : null;
  const linuxRows = L ? ["boot", "workload"].map((what) => ({
    kernel: `linux ${what}`, seconds: true,
    engines: Object.fromEntries(Object.entries(L.engines).map(([k, e]) => [k, { medianMs: e[what].medianMs }])),
  })).filter((r) => Object.keys(r.engines).length) : [];
  const ks = [...rep.kernels, ...linuxRows];
  const kinds = ["wasm", "js", "v86", "v86-nojit", ...(linuxRows.some((r) => r.engines.qemu) ? ["qemu"] : [])];
  const colors = { wasm: "#3b6fd8", js: "#e0a030", v86: "#6a6a6a", "v86-nojit": "#b0b0b0", qemu: "#3a9a5a" };
  const rel = (r, kind) => {
    const base = r.engines.js ?? r.engines.wasm;
    return r.engines[kind] && base ? base.medianMs / r.engines[kind].medianMs : null;
  };
  if (!ks.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="30"><text x="10" y="20">no results</text></svg>\n`;
  const vals = ks.flatMap((r) => kinds.map((x) => rel(r, x)).filter((v) => v !== null));
  const lo = Math.min(0, Math.floor(Math.log10(Math.min(1, ...vals))));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(1, ...vals))));
  const W = 820, left = 90, right = 250, barH = 13, gap = 12, top = 56;
  const groupH = kinds.length * barH + gap;
  const H = top + ks.length * groupH + 36;
  const x = (v) => left + ((Math.log10(v) - lo) / (hi - lo)) * (W - left - right);
  const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  const baseName = ks.some((r) => r.engines.js) ? "JS" : "Wasm"; // (a run without the JS engine: relative to the Wasm engine)
  out.push(`<text x="10" y="18" font-size="13" font-weight="bold">Guest throughput relative to Symbiont's ${baseName} engine (log scale; median of ${rep.method.runs} runs, ${rep.method.clock} clock)</text>`);
  out.push(`<text x="10" y="34" fill="#555">${esc(`${rep.date.slice(0, 10)} · ${rep.machine.cpu} ×${rep.machine.cpus} · Node ${rep.machine.node} · v86 ${rep.v86.version ?? "absent"} · symbiont ${rep.symbiont.commit?.slice(0, 10) ?? "?"}${rep.symbiont.dirty ? "+dirty" : ""}`)}</text>`);
  if (L) out.push(`<text x="10" y="47" fill="#555" font-size="10">${esc(`linux rows: 1 / time (boot to init, workload), median of ${L.runs} run(s), same kernel, initramfs and command line; Symbiont on the host clock`)}</text>`);
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e);
    out.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${H - 30}" stroke="${e === 0 ? "#888" : "#ddd"}"${e === 0 ? ' stroke-dasharray="3,3"' : ""}/>`);
    out.push(`<text x="${gx.toFixed(1)}" y="${H - 16}" text-anchor="middle" fill="#555">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}×</text>`);
  }
  ks.forEach((r, i) => {
    const y0 = top + i * groupH;
    out.push(`<text x="${left - 8}" y="${y0 + (kinds.length * barH) / 2 + 4}" text-anchor="end" font-weight="bold">${esc(r.kernel)}</text>`);
    kinds.forEach((kind, j) => {
      const v = rel(r, kind);
      if (v === null) return;
      const y = y0 + j * barH;
      const x0 = x(10 ** lo);
      out.push(`<rect x="${x0}" y="${y}" width="${Math.max(1, x(v) - x0).toFixed(1)}" height="${barH - 2}" fill="${colors[kind]}"/>`);
      const label = r.seconds ? `${(r.engines[kind].medianMs / 1000).toFixed(1)} s` : r.kernel === "memcpy" ? `${(r.engines[kind].unitsPerSec / 1e6).toFixed(0)} MB/s` : `${r.engines[kind].mips.toFixed(1)} MIPS`;
      out.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + barH - 3}">${kind} ${v.toFixed(2)}× · ${label}</text>`);
    });
  });
  kinds.forEach((kind, j) => {
    out.push(`<rect x="${W - 110}" y="${top + j * 16}" width="10" height="10" fill="${colors[kind]}"/><text x="${W - 95}" y="${top + j * 16 + 9}">${kind}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
