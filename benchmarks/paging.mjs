// The paging table of `npm run bench` (issue #10; seed 002's software-vs-
// hardware comparison): the same guests under direct paging (the core walks
// the guest's tables), nested paging (EPT-style 2-D walks) and shadow paging
// (the VMM's shadow tables, hidden faults and a trace log), on both engines:
//   primes     compute, almost no TLB misses: what a mode costs when paging is idle
//   tlb        TLB misses: each one a 2-D walk under nested paging
//   pagefault  guest #PF: each one a true fault the shadow pager reflects
//   ptupdate   page-table updates (address spaces built, used, torn down): traces
//   Linux      the boot to init and a fork+exec loop at the shell (child processes)
// with exits by reason per mode; and shadow paging once more without its
// trace log ("shadow-faults": every page-table store a trace fault, let through
// alone by the monitor trap flag — the classic method the trace log replaces). Method: benchmarks/README.md ("Paging").
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { KERNELS } from "./kernels.mjs";
import { runKernel } from "./kernel-run.mjs";
import { runChild } from "./linux.mjs";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { ShadowPaging } from "../dist/vmm/paging/index.js";
import { findCachedImages } from "../dist/node/images.js";

const here = dirname(fileURLToPath(import.meta.url));
export const PAGING_MODES = ["direct", "nested", "shadow", "shadow-faults"];
/** The Pc's paging option for a row's mode. */
export function pagingOption(mode) { return mode === "shadow-faults" ? new ShadowPaging({ traceLog: false }) : mode; }
export const PAGING_KERNELS = ["primes", "tlb", "pagefault", "ptupdate"];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Run the table. `engines`: Symbiont engines for the kernels; `linuxEngines`
 * for the Linux rows (empty: none); `clock`: "wall" or "cpu".
 */
export async function pagingBench({ engines, linuxEngines, runs, warmup, clock, timeoutS, progress }) {
  const report = { modes: PAGING_MODES, kernels: [], linux: [], failures: 0, notes: [] };
  for (const name of PAGING_KERNELS) {
    const k = KERNELS.find((x) => x.name === name);
    const path = join(here, "kernels/bin", `${name}.elf`);
    const image = new Uint8Array(readFileSync(path));
    const expected = `RESULT ${name} ${k.expected()}`;
    for (const engine of engines) {
      const row = { kernel: name, engine, modes: {} };
      for (const mode of PAGING_MODES) {
        const times = [];
        let last = null;
        for (let i = 0; i < warmup + runs; i++) {
          progress(`  paging ${name.padEnd(9)} ${engine.padEnd(4)} ${mode.padEnd(6)} ${i < warmup ? "warm-up " : `run ${i - warmup + 1}/${runs}`} … `);
          const r = await runKernel(engine, image, path, { paging: pagingOption(mode), setup: k.setup });
          if (r.result !== expected) { report.failures++; row.error = `${mode}: got "${r.result}", expected "${expected}"`; }
          const ms = clock === "cpu" ? r.windowCpuMs : r.windowMs;
          progress(`${(ms / 1000).toFixed(3)} s${r.result === expected ? "" : "  WRONG RESULT"}\n`);
          if (i >= warmup) times.push(ms);
          last = r;
        }
        row.modes[mode] = { medianMs: median(times), runsMs: times, instructions: last.windowInstructions, exits: last.windowExits, counters: last.paging };
      }
      for (const mode of PAGING_MODES) row.modes[mode].overDirect = row.modes[mode].medianMs / row.modes.direct.medianMs;
      report.kernels.push(row);
    }
  }

  if (linuxEngines.length > 0) {
    const images = findCachedImages();
    if (!images) {
      report.notes.push("the Debian kernel and busybox are not cached (npm run images): Linux paging rows skipped");
    } else {
      const dir = mkdtempSync(join(tmpdir(), "symbiont-bench-paging-"));
      const initrd = join(dir, "initramfs.cpio");
      writeFileSync(initrd, busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images.busybox)) }));
      try {
        for (const engine of linuxEngines) {
          const row = { engine, modes: {} };
          for (const mode of PAGING_MODES) {
            progress(`  paging linux     ${engine.padEnd(4)} ${mode.padEnd(6)} boot + fork/exec loop (child process) … `);
            let r;
            try {
              r = await runChild([join(here, "linux-child.mjs"), engine, images.kernel, initrd, "128", "forkexec", String(timeoutS), mode], timeoutS * 1000);
            } catch (e) { r = { error: e.message }; }
            if (!r.error && !(r.boot && r.workload)) r.error = "no init marker or fork/exec loop markers on the console";
            if (r.error) {
              progress(`FAILED: ${r.error}\n`);
              report.failures++;
              row.error = `${mode}: ${r.error}`;
              break;
            }
            const ms = (s) => (clock === "cpu" ? s.cpuMs : s.ms);
            progress(`boot ${(ms(r.boot) / 1000).toFixed(2)} s, fork/exec ${(ms(r.workload) / 1000).toFixed(2)} s\n`);
            row.modes[mode] = { bootMs: ms(r.boot), forkExecMs: ms(r.workload), instructions: r.totalInstructions, exits: r.exits, counters: r.paging };
          }
          if (!row.error) {
            for (const mode of PAGING_MODES) {
              row.modes[mode].bootOverDirect = row.modes[mode].bootMs / row.modes.direct.bootMs;
              row.modes[mode].forkExecOverDirect = row.modes[mode].forkExecMs / row.modes.direct.forkExecMs;
            }
          }
          report.linux.push(row);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return report;
}

/** Exits by reason, the commonest first: "ept-violation 12, exception 4.1k". */
function exitSummary(exits) {
  const si = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
  const e = Object.entries(exits ?? {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).slice(0, 4);
  return e.length ? e.map(([r, n]) => `${r} ${si(n)}`).join(", ") : "none";
}

/** The table's lines for the report on stdout. */
export function pagingLines(report, clock) {
  const lines = ["", `paging modes (median ${clock} time of the work window; × = time / direct's, same engine and run):`];
  const f = (x, d = 2) => (x === null || x === undefined ? "—" : x.toFixed(d));
  for (const r of report.kernels) {
    const m = r.modes;
    lines.push(`  ${r.kernel.padEnd(9)} ${r.engine.padEnd(4)} ` + PAGING_MODES.map((mode) => `${mode} ${f(m[mode].medianMs / 1000, 3)} s (${f(m[mode].overDirect)}×)`).join("  ") + (r.error ? "  FAIL" : ""));
    for (const mode of PAGING_MODES.slice(1)) lines.push(`  ${"".padEnd(14)}   ${mode} exits: ${exitSummary(m[mode].exits)}`);
  }
  for (const r of report.linux) {
    if (r.error) { lines.push(`  linux     ${r.engine.padEnd(4)} FAILED: ${r.error}`); continue; }
    const m = r.modes;
    lines.push(`  linux     ${r.engine.padEnd(4)} boot:      ` + PAGING_MODES.map((mode) => `${mode} ${f(m[mode].bootMs / 1000, 1)} s (${f(m[mode].bootOverDirect)}×)`).join("  "));
    lines.push(`  ${"".padEnd(14)} fork/exec: ` + PAGING_MODES.map((mode) => `${mode} ${f(m[mode].forkExecMs / 1000, 2)} s (${f(m[mode].forkExecOverDirect)}×)`).join("  "));
    for (const mode of PAGING_MODES.slice(1)) lines.push(`  ${"".padEnd(14)} ${mode} exits: ${exitSummary(m[mode].exits)}`);
  }
  for (const n of report.notes) lines.push(`  note: ${n}`);
  return lines;
}
