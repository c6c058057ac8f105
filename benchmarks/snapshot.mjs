// Snapshots of a running Linux, us vs v86 (the emulator known for starting guests from a saved state): Debian's
// kernel and busybox booted to the first shell prompt in a 128 MiB guest, then the whole machine saved
// (Pc.saveSnapshot; v86's save_state), a new machine made as the first was and the snapshot restored into it
// (Pc.loadSnapshot; a new V86, restore_state), and a line typed into it answered. Wall times in a child process per
// run (benchmarks/snapshot-child.mjs), the median of BENCH_SNAPSHOT_RUNS (default 3); the snapshot's size.
//
// Alone: node benchmarks/snapshot.mjs (after npm run build); npm run bench runs it too (BENCH_SNAPSHOT=0 leaves it
// out). Needs the images (npm run images); the v86 row needs the v86 package and SeaBIOS (BENCH_V86_BIOS, as the
// Linux rows).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { findCachedImages } from "../dist/node/images.js";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { runChild } from "./linux.mjs";
import { v86BiosMissing } from "./v86-linux.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const FIELDS = ["bootMs", "saveMs", "bytes", "restoreMs", "answerMs"];

function haveV86() {
  try { createRequire(import.meta.url).resolve("v86/package.json"); } catch { return "v86 is not installed (npm install)"; }
  return v86BiosMissing();
}

export async function snapshotBench({ runs, progress, timeoutS = 600, systems = ["wasm", "v86"] }) {
  const images = findCachedImages();
  if (!images) return { skipped: "the Debian kernel and busybox are not cached (run npm run images): snapshot rows skipped" };
  const notes = [];
  const noV86 = systems.includes("v86") ? haveV86() : null;
  if (noV86) { systems = systems.filter((s) => s !== "v86"); notes.push(`${noV86}: the v86 row is skipped`); }
  const dir = mkdtempSync(join(tmpdir(), "symbiont-bench-snapshot-"));
  const initrd = join(dir, "initramfs.cpio");
  writeFileSync(initrd, busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images.busybox)) }));
  const rows = [];
  try {
    for (const system of systems) {
      const all = [];
      let error = null;
      for (let i = 0; i < runs && !error; i++) {
        progress(`  snapshot  ${system.padEnd(9)} run ${i + 1}/${runs} (boot, save, restore, answer) … `);
        const r = await runChild([join(here, "snapshot-child.mjs"), system, images.kernel, initrd, "128", String(timeoutS)], timeoutS * 1000);
        if (r.error) { error = r.error; progress(`failed: ${r.error}\n`); break; }
        progress(`save ${r.saveMs} ms, restore ${r.restoreMs} ms, ${(r.bytes / 1048576).toFixed(1)} MiB\n`);
        all.push(r);
      }
      rows.push(error ? { system, error } : { system, ...Object.fromEntries(FIELDS.map((f) => [f, median(all.map((r) => r[f]))])), runs: all });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const us = rows.find((r) => r.system === "wasm" && !r.error), v86 = rows.find((r) => r.system === "v86" && !r.error);
  const ratio = (f) => (us && v86 ? +(v86[f] / us[f]).toFixed(2) : null);
  return { memMiB: 128, runs, rows, notes, ratios: { save: ratio("saveMs"), restore: ratio("restoreMs"), bytes: ratio("bytes") } };
}

export function snapshotLines(s) {
  if (!s || s.skipped) return [s?.skipped ?? ""];
  const lines = ["", `Snapshots of Linux at its shell prompt (${s.memMiB} MiB guest; median of ${s.runs}; wall time):`,
    "| system | boot to prompt | save | snapshot size | restore into a new machine | restored guest answers a line |", "|---|---|---|---|---|---|"];
  for (const r of s.rows) {
    lines.push(r.error ? `| ${r.system} | failed: ${r.error} | | | | |`
      : `| ${r.system === "wasm" ? "symbiont (wasm)" : r.system} | ${(r.bootMs / 1000).toFixed(2)} s | ${r.saveMs.toFixed(0)} ms | ${(r.bytes / 1048576).toFixed(1)} MiB | ${r.restoreMs.toFixed(0)} ms | ${r.answerMs.toFixed(0)} ms |`);
  }
  lines.push(...s.notes);
  const q = s.ratios;
  if (q.save !== null) lines.push(`v86 / symbiont (above 1: we are faster or smaller): save ${q.save}×, restore ${q.restore}×, size ${q.bytes}×`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await snapshotBench({ runs: Number(process.env.BENCH_SNAPSHOT_RUNS ?? 3), progress: (t) => process.stderr.write(t) });
  console.log(snapshotLines(s).join("\n"));
  console.log(JSON.stringify(s));
}
