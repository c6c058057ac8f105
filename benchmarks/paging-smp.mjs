// Memory virtualization on a multiprocessor guest: Debian's Linux on two vCPUs under direct, nested and shadow
// paging (the shadow tables shared by the vCPUs, a root each), booted to init and then running two copies of the
// Linux test workload at once (tests/linux/workload.sh: pipelines, forks and execs on both CPUs — address spaces
// built, switched and torn down side by side). On the deterministic clock every mode retires the same
// instructions; the table gives each mode's wall time for the boot and for the workload (median of the runs, the
// modes taking turns run by run), the ratio to direct paging and the mode's counters. Exits 1 if the two copies
// printed different output or a mode retired other instructions than direct paging.
//   node benchmarks/paging-smp.mjs [RUNS]        (default 3; writes results/paging-smp-<date>.json)
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { execFileSync } from "node:child_process";
import { createEngine } from "../dist/node/engines.js";
import { Pc } from "../dist/machine/pc.js";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { findCachedImages } from "../dist/node/images.js";
import { CMDLINE, MARKER, dataFiles } from "./linux-guest.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.argv[2] ?? 3);
const MODES = ["direct", "nested", "shadow"];
const CPUS = 2;
const images = findCachedImages();
if (!images) { console.error("paging-smp: the Linux images are not cached (npm run images)"); process.exit(2); }
// (The same kernel and initramfs for every run: tests/linux.test.ts's busybox layout with the workload and its data.)
const kernel = new Uint8Array(readFileSync(images.kernel));
const initrd = busyboxInitramfs({
  busybox: new Uint8Array(readFileSync(images.busybox)),
  extraFiles: dataFiles().map((f) => ({ path: `/work/${f.path}`, data: f.data, mode: 0o644 })),
});
const input = "cd /work; sh -c 'sh workload.sh > /tmp/a & sh workload.sh > /tmp/b; wait'; cmp /tmp/a /tmp/b && echo SAME$((0)); echo DONE$((0))\n";

async function run(paging) {
  const ramBytes = 128 << 20, bytes = [];
  const pc = new Pc({ engine: await createEngine("wasm", ramBytes), ramBytes, clock: "deterministic", onSerial: (b) => bytes.push(b), paging, cpus: CPUS });
  pc.loadLinux(kernel, { cmdline: `${CMDLINE} quiet`, initrd });
  const pending = [...new TextEncoder().encode(input)];
  const t0 = performance.now();
  let boot = null;
  for (let steps = 0; ; steps++) {
    if (steps > 2000) throw new Error(`${paging}: no end after ${pc.vm.stats().instructions} instructions`);
    const stop = pc.vm.run(20_000_000);
    if (stop.kind !== "budget") throw new Error(`${paging}: the guest stopped: ${JSON.stringify(stop)}`);
    const out = Buffer.from(bytes).toString("latin1");
    if (!boot && out.includes(MARKER) && out.lastIndexOf("# ") > out.indexOf(MARKER)) boot = { s: (performance.now() - t0) / 1000, instructions: pc.vm.stats().instructions };
    if (boot && pending.length) pc.uart.receive(pending.splice(0, pc.uart.receiveSpace));
    if (/\nDONE0/.test(out.replace(/\r/g, ""))) {
      const s = pc.vm.stats();
      return { boot, workloadS: (performance.now() - t0) / 1000 - boot.s, instructions: s.instructions, same: /\nSAME0/.test(out.replace(/\r/g, "")), paging: s.paging };
    }
  }
}

const results = Object.fromEntries(MODES.map((m) => [m, []]));
const load = [loadavg()[0]];
for (let r = 0; r < RUNS; r++) {
  for (const m of MODES) {
    const x = await run(m);
    results[m].push(x);
    console.error(`paging-smp: run ${r + 1}/${RUNS} ${m}: boot ${x.boot.s.toFixed(2)} s, workload ${x.workloadS.toFixed(2)} s`);
  }
}
load.push(loadavg()[0]);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const row = (m) => ({ boot: median(results[m].map((x) => x.boot.s)), workload: median(results[m].map((x) => x.workloadS)) });
const base = row("direct");
console.log(`Linux on ${CPUS} vCPUs, boot to init and two copies of the workload at once (median of ${RUNS}, load ${load.map((l) => l.toFixed(1)).join(" → ")}):\n`);
console.log("| paging | boot to init | workload | workload vs direct | instructions | counters |\n|---|---|---|---|---|---|");
let failures = 0;
for (const m of MODES) {
  const r = row(m), last = results[m].at(-1), p = last.paging;
  const counters = m === "nested" ? `violations ${p.violations}, 2-D walks ${p.nestedWalks}`
    : m === "shadow" ? `hidden ${p.hiddenFaults}, true ${p.trueFaults}, trace exits ${p.traceExits}, roots ${p.shadowRoots}, resets ${p.shadowResets}` : "";
  console.log(`| ${m} | ${r.boot.toFixed(2)} s | ${r.workload.toFixed(2)} s | ${(r.workload / base.workload).toFixed(2)}× | ${(last.instructions / 1e9).toFixed(3)} G | ${counters} |`);
  for (const x of results[m]) {
    if (!x.same) { console.error(`paging-smp: ${m}: the two copies printed different output`); failures++; }
    if (x.instructions !== results.direct[0].instructions) { console.error(`paging-smp: ${m} retired ${x.instructions} instructions, direct paging ${results.direct[0].instructions}`); failures++; }
  }
}
const commit = (() => { try { return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: here, encoding: "utf8" }).trim(); } catch { return null; } })();
mkdirSync(join(here, "results"), { recursive: true });
const file = join(here, "results", `paging-smp-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ commit, node: process.version, cpus: CPUS, runs: RUNS, load, results }, null, 1));
console.log(`\n(${file.slice(here.length + 1)})`);
process.exit(failures ? 1 : 0);
