// The Linux rows of `npm run bench`: Debian's i386 kernel (the images that
// `npm run images` caches) with the busybox initramfs of tests/linux.test.ts,
// on Symbiont's Wasm and JS engines, v86 and qemu-system-i386 (TCG) when
// installed: the time from power-on to the init marker on the serial console,
// and the time of a fixed workload (tests/linux/workload.sh) typed at the
// shell prompt. Every engine boots the same bzImage, the same initramfs bytes
// (built once here and written to a temporary file) and the same command
// line. Also the peak RSS of a Symbiont process booting a 256 MiB guest to
// init. Method: benchmarks/README.md ("Linux").
import { readFileSync, writeFileSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { findCachedImages } from "../dist/node/images.js";
import { i386Runner, spawnI386 } from "../dist/node/i386.js";
import { CMDLINE, INPUT, SerialScanner, dataFiles } from "./linux-guest.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const LINUX_ENGINES = ["wasm", "js", "v86", "qemu"];
/** Issue 5's memory target for a 256 MiB guest: guest RAM + 96 MiB of VMM overhead. */
export const RSS_TARGET_MIB = 256 + 96;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A child process's stdout as a string; resolves when it exits (stderr passes through). */
export function runChild(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => { out += d; });
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`child ${args[1]} ${args[0]} timed out`)); }, timeoutMs + 60_000);
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("LINUXJSON "));
      if (!line) reject(new Error(`child exited with status ${code} and no result: ${out.slice(-500)}`));
      else resolve(JSON.parse(line.slice(10)));
    });
  });
}

// ---- QEMU -------------------------------------------------------------------------------------------

function qemuVersion() {
  try {
    return execFileSync("qemu-system-i386", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
  } catch { return null; }
}
let clkTck = null;
/** CPU ms of process `pid` (all its threads) from /proc, or NaN. */
export function procCpuMs(pid) {
  try {
    if (clkTck === null) clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck; // utime, stime (fields 14, 15)
  } catch { return NaN; }
}

/**
 * qemu-system-i386 with TCG, COM1 on stdin/stdout: boot to the marker, type
 * the workload at the prompt, kill QEMU at the end marker. Timestamps are
 * taken when this process reads QEMU's output (a pipe: microseconds late).
 * CPU time is QEMU's (all threads: vCPU and I/O thread), from /proc.
 */
function runQemu(kernel, initrd, memMiB, timeoutMs) {
  return new Promise((resolve) => {
    const args = ["-accel", "tcg", "-m", String(memMiB), "-kernel", kernel, "-initrd", initrd, "-append", CMDLINE,
      "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"];
    const t0 = performance.now();
    const child = spawn("qemu-system-i386", args, { stdio: ["pipe", "pipe", "pipe"] });
    const mark = () => ({ t: performance.now(), cpu: procCpuMs(child.pid) });
    let settled = false;
    let stderr = "";
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(r);
    };
    const scanner = new SerialScanner(mark, {
      onPrompt: () => child.stdin.write(INPUT),
      onEnd: () => {
        const at = scanner.at;
        const start = { t: t0, cpu: 0 };
        const span = (a, b) => (a && b ? { ms: b.t - a.t, cpuMs: b.cpu - a.cpu } : null);
        done({
          engine: "qemu", memMiB, mode: "workload", args,
          boot: span(start, at.marker), firstByte: span(start, at.first),
          workload: span(at.begin, at.end), workloadOutput: scanner.workloadOutput(),
        });
      },
    });
    const timer = setTimeout(() => done({ engine: "qemu", error: `timed out after ${timeoutMs / 1000} s`, serialTail: scanner.text.slice(-1500) }), timeoutMs);
    child.stdout.on("data", (d) => { for (const b of d) scanner.byte(b); });
    child.stderr.on("data", (d) => { stderr += d; });
    child.stdin.on("error", () => {});
    child.on("error", (e) => done({ engine: "qemu", error: e.message }));
    child.on("close", (code) => done({ engine: "qemu", error: `QEMU exited with status ${code}: ${stderr.trim().slice(-300)}`, serialTail: scanner.text.slice(-1500) }));
  });
}

// ---- the benchmark ------------------------------------------------------------------------------------

/**
 * Runs the Linux rows. opts: engines (subset of LINUX_ENGINES), runs, clock
 * ("wall" | "cpu"), timeoutS, rss (measure the 256 MiB guest), v86 (v86's
 * version or null), progress (a function writing to stderr).
 * Returns the JSON section (with `skipped` set when nothing could run).
 */
export async function linuxBench(opts) {
  const { progress, clock, runs, timeoutS } = opts;
  const images = findCachedImages();
  if (!images) {
    return { skipped: "the Debian kernel and busybox are not cached (run npm run images): Linux rows skipped" };
  }
  const qemu = qemuVersion();
  const notes = [];
  let engines = opts.engines;
  if (engines.includes("v86") && !opts.v86) { engines = engines.filter((e) => e !== "v86"); notes.push("v86 is not installed (npm install): skipped"); }
  if (engines.includes("qemu") && !qemu) { engines = engines.filter((e) => e !== "qemu"); notes.push("qemu-system-i386 is not installed (Debian: qemu-system-x86): QEMU row skipped"); }

  // One initramfs for everyone, written to a temporary file for the children and QEMU.
  const initrdBytes = busyboxInitramfs({
    busybox: new Uint8Array(readFileSync(images.busybox)),
    extraFiles: dataFiles().map((f) => ({ path: `/work/${f.path}`, data: f.data, mode: 0o644 })),
  });
  const dir = mkdtempSync(join(tmpdir(), "symbiont-bench-linux-"));
  const initrd = join(dir, "initramfs.cpio");
  writeFileSync(initrd, initrdBytes);

  // The oracle for the workload's output: the same busybox binary on the host, natively or under
  // qemu-i386 where the host's kernel runs no 32-bit programs (src/node/i386.ts).
  // mtime 0, as the initramfs gives the guest's files: `gzip -c < data.bin` records its input's mtime.
  for (const f of dataFiles()) { writeFileSync(join(dir, f.path), f.data); utimesSync(join(dir, f.path), 0, 0); }
  const runner = i386Runner();
  let expected = null, nativeMs = null;
  if (typeof runner === "object") notes.push(`busybox cannot run on this host (${runner.error}): the workload output is not checked`);
  else {
    const tn = performance.now();
    const native = spawnI386(images.busybox, ["sh", "workload.sh"], { cwd: dir, encoding: "latin1" });
    if (runner === "native") nativeMs = performance.now() - tn; // (under qemu-i386 the time is QEMU's, not the host's)
    if (native.status === 0) expected = native.stdout.replace(/\r/g, "").trim();
    else notes.push(`busybox on the host (${runner}) failed (status ${native.status}): the workload output is not checked`);
  }

  const report = {
    kernel: { path: images.kernel, package: images.kernelPackage, release: images.version, sha256: sha256(readFileSync(images.kernel)) },
    busybox: images.busyboxPackage,
    initramfs: { bytes: initrdBytes.length, sha256: sha256(initrdBytes) },
    cmdline: CMDLINE, input: INPUT, memMiB: 128, runs, clock, qemu,
    nativeWorkloadMs: nativeMs, oracle: typeof runner === "object" ? null : runner,
    engines: {}, ratios: {}, rss: null, notes, failures: 0, errors: [],
  };
  const timeoutMs = timeoutS * 1000;
  try {
    for (const kind of engines) {
      const all = [];
      for (let i = 0; i < runs; i++) {
        progress(`  linux     ${kind.padEnd(9)} run ${i + 1}/${runs} (boot + workload) … `);
        let r;
        try {
          r = kind === "qemu"
            ? await runQemu(images.kernel, initrd, 128, timeoutMs)
            : await runChild([join(here, "linux-child.mjs"), kind, images.kernel, initrd, "128", "workload", String(timeoutS)], timeoutMs);
        } catch (e) { r = { engine: kind, error: e.message }; }
        if (!r.error && !(r.boot && r.workload)) r.error = "no init marker or workload markers on the console";
        if (!r.error && expected !== null && r.workloadOutput.trim() !== expected) r.error = "the workload's output differs from busybox run natively";
        if (r.error) {
          const msg = `linux ${kind}: ${r.error}`;
          progress(`FAILED: ${r.error}\n${r.serialTail ? `  serial tail: ${JSON.stringify(r.serialTail.slice(-600))}\n` : ""}`);
          report.errors.push({ engine: kind, error: r.error, serialTail: r.serialTail });
          if (kind === "wasm" || kind === "js") report.failures++;
          else notes.push(msg);
          break;
        }
        const ms = (s) => (clock === "cpu" ? s.cpuMs : s.ms);
        progress(`boot ${(ms(r.boot) / 1000).toFixed(2)} s, workload ${(ms(r.workload) / 1000).toFixed(2)} s (${clock})` +
          `${r.boot.instructions ? `, ${(r.boot.instructions / 1e6).toFixed(0)} M + ${(r.workload.instructions / 1e6).toFixed(0)} M instructions` : ""}` +
          `${r.maxRssKiB ? `, max RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB` : ""}\n`);
        delete r.workloadOutput;
        all.push(r);
      }
      if (all.length === runs) report.engines[kind] = summarizeLinux(all, clock);
    }
    const e = report.engines;
    const ratio = (a, b, what) => (e[a] && e[b] ? e[b][what].medianMs / e[a][what].medianMs : null);
    for (const what of ["boot", "workload"]) {
      report.ratios[what] = {
        wasmOverV86: ratio("wasm", "v86", what), jsOverV86: ratio("js", "v86", what), qemuOverV86: ratio("qemu", "v86", what),
        wasmOverJs: ratio("wasm", "js", what), wasmOverQemu: ratio("wasm", "qemu", what),
      };
    }
    if (opts.rss) {
      progress(`  linux     wasm      256 MiB guest: peak RSS at init and after writing 200 MiB to its tmpfs (child process) … `);
      try {
        const r = await runChild([join(here, "linux-child.mjs"), "wasm", images.kernel, initrd, "256", "fill", String(timeoutS)], timeoutMs);
        if (r.error || !r.boot || !r.workload) throw new Error(r.error ?? "no init marker or fill markers");
        if (!/^200\+0 records out$/m.test(r.workloadOutput ?? "")) notes.push(`the 200 MiB fill did not complete: ${JSON.stringify(r.workloadOutput)}`);
        const atInit = r.maxRssAtMarkerKiB / 1024, filled = r.maxRssKiB / 1024;
        report.rss = {
          engine: "wasm", guestMiB: 256, targetMiB: RSS_TARGET_MIB,
          atInitMiB: atInit, filledMiB: filled, met: Math.max(atInit, filled) <= RSS_TARGET_MIB,
          bootMs: r.boot.ms, bootCpuMs: r.boot.cpuMs, bootInstructions: r.boot.instructions, fillMs: r.workload.ms,
          fillOutput: r.workloadOutput,
          how: "process.resourceUsage().maxRSS of a child (node benchmarks/linux-child.mjs wasm KERNEL INITRD 256 fill): at the init marker, and after the guest ran `dd if=/dev/zero of=/mnt/fill bs=1M count=200` on a 240 MiB tmpfs (so ~200 MiB of guest page cache is touched)",
        };
        progress(`${atInit.toFixed(1)} MiB at init, ${filled.toFixed(1)} MiB after the fill (target ≤ ${RSS_TARGET_MIB} MiB)\n`);
      } catch (err) {
        report.failures++;
        report.errors.push({ engine: "wasm-256", error: err.message });
        progress(`FAILED: ${err.message}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

function summarizeLinux(runs, clock) {
  const part = (what) => {
    const wall = runs.map((r) => r[what].ms);
    const cpu = runs.map((r) => r[what].cpuMs);
    const times = clock === "cpu" ? cpu : wall;
    const out = {
      medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times),
      medianWallMs: median(wall), medianCpuMs: median(cpu), wallMs: wall, cpuMs: cpu,
    };
    if (runs[0][what].instructions !== undefined) {
      const n = runs.map((r) => r[what].instructions);
      out.instructions = median(n);
      out.instructionsRuns = n;
      out.mips = out.instructions / out.medianMs / 1000;
    }
    return out;
  };
  const s = { boot: part("boot"), workload: part("workload"), firstByteMs: median(runs.map((r) => r.firstByte.ms)) };
  const rss = runs.map((r) => r.maxRssKiB).filter(Boolean);
  if (rss.length) s.maxRssKiB = Math.max(...rss);
  if (runs[0].startupMs !== undefined) s.startupMs = median(runs.map((r) => r.startupMs));
  if (runs[0].bios) s.bios = runs[0].bios;
  if (runs[0].args) s.args = runs[0].args;
  return s;
}

function sha256(bytes) { return createHash("sha256").update(bytes).digest("hex"); }

// ---- the table ------------------------------------------------------------------------------------------

/** The Linux part of the printed report. */
export function linuxLines(L) {
  const lines = [""];
  if (L.skipped) { lines.push(`Linux: ${L.skipped}`); return lines; }
  const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? "—" : x.toFixed(d));
  const s = (ms) => (ms === undefined ? "—" : (ms / 1000).toFixed(2));
  lines.push(`Linux ${L.kernel.release} (${L.kernel.package}), busybox initramfs ${L.initramfs.bytes} bytes, ${L.memMiB} MiB, append "${L.cmdline}"`);
  lines.push(`median of ${L.runs} run(s), each a fresh process; ratios use ${L.clock === "cpu" ? "CPU" : "wall"} time; Symbiont on the host clock (not deterministic)`);
  lines.push(`boot = power-on (v86: emulator-started, QEMU: process spawn; both run SeaBIOS first) to the end of "SYMBIONT-INIT-OK"; workload = tests/linux/workload.sh between its markers`);
  const hdr = ["engine", "boot wall s", "boot CPU s", "boot instr (M)", "MIPS", "workload wall s", "CPU s", "instr (M)", "MIPS", "boot ×v86", "workload ×v86", "max RSS MiB"];
  const rows = [];
  const mips = (p) => (p.instructions ? f(p.instructions / (L.clock === "cpu" ? p.medianCpuMs : p.medianWallMs) / 1000) : "—");
  for (const kind of LINUX_ENGINES) {
    const e = L.engines[kind];
    if (!e) continue;
    const v = L.engines.v86;
    rows.push([kind, s(e.boot.medianWallMs), s(e.boot.medianCpuMs), f(e.boot.instructions / 1e6, 0), mips(e.boot),
      s(e.workload.medianWallMs), s(e.workload.medianCpuMs), f(e.workload.instructions / 1e6, 0), mips(e.workload),
      v ? f(v.boot.medianMs / e.boot.medianMs, 3) : "—", v ? f(v.workload.medianMs / e.workload.medianMs, 3) : "—",
      e.maxRssKiB ? f(e.maxRssKiB / 1024, 0) : "—"]);
  }
  if (rows.length) {
    const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    lines.push(fmt(hdr));
    lines.push(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of rows) lines.push(fmt(r));
    lines.push(`  ×v86 = t(v86) / t(engine), ${L.clock} time: above 1 is faster than v86. max RSS: the child process (QEMU: not measured). ${L.oracle === "native" ? `Workload output checked against busybox run natively (${f(L.nativeWorkloadMs, 0)} ms there).` : L.oracle ? "Workload output checked against busybox under qemu-i386 (this host's kernel runs no 32-bit programs)." : "Workload output not checked (see the notes)."}`);
  }
  if (L.rss) {
    lines.push(`256 MiB guest (wasm): peak RSS ${f(L.rss.atInitMiB, 1)} MiB at init (guest RAM mostly untouched), ${f(L.rss.filledMiB, 1)} MiB after writing 200 MiB to its tmpfs; ` +
      `target 256 MiB + 96 MiB = ${L.rss.targetMiB} MiB: ${L.rss.met ? "met" : "NOT met"}`);
  }
  for (const n of L.notes) lines.push(`Linux: ${n}`);
  for (const e of L.errors) lines.push(`FAIL linux ${e.engine}: ${e.error}`);
  return lines;
}
