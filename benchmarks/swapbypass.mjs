// SwapBypass, as the SymCall paper's Stream/GUPS runtime figure (seed 000):
// the thrashing workloads (guests/linux/thrash, `npm run workloads`) in a
// Linux guest with shadow paging and symbiotic.ko, three ways —
//   floor:      guest RAM large enough for the working set (no swapping),
//   swap:       small guest RAM, swap on the in-memory virtio disk (--swap),
//   swapbypass: the same with SwapBypass (--swapbypass);
// the working set is the same in all three: twice the small guest's free
// memory. Each configuration is one boot (not timed), all three up at once and
// taking turns run by run (floor, SwapBypass, swap), so that the shared
// machine's changing load falls on all alike; each workload's
// host time (the command's own: from the shell's output line before it to the
// one after it, SerialShell.timed — not the typing around it), its guest instructions, its
// checksum (all must agree) and, with SwapBypass, the counters. Wasm engine,
// deterministic clock (the guest's own time is its instruction count).
import { bootThrashGuest, thrashPrerequisites, guestMemFreeMiB, runWorkload, workloadChecksum, WORKLOADS } from "../dist/node/thrash.js";
import { SwapBypass } from "../dist/symbiotic/swapbypass.js";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The small guest's RAM and its swap disk; the floor guest's RAM for a working set of `mib` MiB. */
export const SMALL = 48 << 20, SWAP = 64 << 20;
export const floorRamBytes = (mib) => SMALL + ((mib + 16) << 20);
// One sweep of STREAM's kernels; GUPS's random updates few enough that the thrashing runs end in minutes.
export const WORKLOAD_ARGS = (mib) => ({ stream: [String(mib), "1"], gups: [String(mib), "20000"] });
/**
 * The workloads at the lengths their own benchmarks give them, timed whole — fill, swap-out and all:
 * GUPS as HPCC RandomAccess runs it (4 updates per table word: MiB × 2^20 updates of the 32-bit table), and
 * STREAM as McCalpin runs it (his NTIMES = 10 sweeps), which also reports its sweeps as STREAM reports its kernels:
 * the best of sweeps 2 – 10 (STREAM leaves its first iteration out), each sweep timed on the host by when its
 * `-v` line arrived. Plain swap thrashes through every sweep and nearly every update (GUPS at HPCC's length would
 * take it the best part of an hour), so it runs each once, cut (Ctrl-C) at CUT × that run's SwapBypass time: a
 * lower bound of its time and of swap ÷ SwapBypass.
 */
export const NTIMES = 10, CUT = 5;
export const standardArgs = (mib) => ({ stream: [String(mib), String(NTIMES), "-v"], gups: [String(mib), String(mib << 20)] });

/** The host ms of each `stream: pass K` line since the one before it (the fill's line before the first). */
export function sweepTimes(lines) {
  const marks = lines.filter((l) => /^stream: (fill|pass \d+): /.test(l.text)).map((l) => l.ms);
  return marks.slice(1).map((t, i) => t - marks[i]);
}

/** The shadow pager's counters recorded per workload run (where a configuration's exits go). */
const PAGER_COUNTERS = ["hiddenFaults", "trueFaults", "traceExits", "traceFaults", "watchFaults"];

/** after − before for the numeric entries (those `keep` accepts), zeros left out. */
function delta(before, after, keep = () => true) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    if (typeof v !== "number" || !keep(k)) continue;
    const d = v - (typeof before[k] === "number" ? before[k] : 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/**
 * { mib, configs: { floor|swap|swapbypass: { stream: { medianMs, runsMs, instructions, checksum, line, exits, paging }, gups: … } },
 * stats, failures } or { skipped }; swapbypass's entries also have pairedRatios (each run ÷ the floor run before it) and
 * pairedRatioMedian, and swap's and swapbypass's the disk's swapDisk counters. Instructions, exits and paging are the last run's.
 */
export async function swapbypassBench({ runs, progress }) {
  const why = thrashPrerequisites();
  if (why) return { skipped: `SwapBypass rows skipped: ${why}` };
  // The working set: twice the small guest's free memory after boot (measured on a first small boot, then its plain-swap guest).
  progress("  swapbypass: measuring the small guest's free memory … ");
  const probe = await bootThrashGuest({ ramBytes: SMALL, swapBytes: SWAP, swapBypass: false });
  const mib = 2 * await guestMemFreeMiB(probe.shell);
  progress(`${mib / 2} MiB free: working set ${mib} MiB\n`);
  const args = WORKLOAD_ARGS(mib);
  // All three guests stay up and take turns, run by run, so that a change in the shared machine's load
  // falls on all of them alike; each run's SwapBypass ÷ floor pairs two runs made one after the other.
  progress("  swapbypass: booting the floor and SwapBypass guests …\n");
  const guests = {
    floor: await bootThrashGuest({ ramBytes: floorRamBytes(mib), swapBytes: 0, swapBypass: false }),
    swapbypass: await bootThrashGuest({ ramBytes: SMALL, swapBytes: SWAP, swapBypass: false }),
    swap: probe,
  };
  new SwapBypass(guests.swapbypass.pc.vm, guests.swapbypass.pc.vm.paging, guests.swapbypass.pc.swapDisk);
  const configs = { floor: {}, swap: {}, swapbypass: {} };
  let failures = 0;
  for (const name of WORKLOADS) {
    const times = { floor: [], swap: [], swapbypass: [] }, pairs = [];
    for (let i = 0; i < runs; i++) {
      for (const config of ["floor", "swapbypass", "swap"]) {
        const g = guests[config];
        progress(`  swapbypass: ${config.padEnd(10)} ${name.padEnd(6)} run ${i + 1}/${runs} … `);
        const before = g.pc.vm.stats();
        const last = await runWorkload(g, name, args[name]);
        last.exits = delta(before.exits, g.pc.vm.stats().exits);
        last.paging = delta(before.paging, g.pc.vm.stats().paging, (k) => PAGER_COUNTERS.includes(k));
        times[config].push(last.ms);
        progress(`${(last.ms / 1000).toFixed(2)} s (${last.line})\n`);
        configs[config][name] = { instructions: last.instructions, checksum: workloadChecksum(last.line), line: last.line, exits: last.exits, paging: last.paging };
      }
      pairs.push(times.swapbypass[i] / times.floor[i]);
    }
    for (const config of ["floor", "swap", "swapbypass"]) Object.assign(configs[config][name], { medianMs: median(times[config]), runsMs: times[config] });
    configs.swapbypass[name].pairedRatios = pairs;
    configs.swapbypass[name].pairedRatioMedian = median(pairs);
  }
  // The workloads at their benchmarks' own lengths, floor and SwapBypass taking turns; plain swap once, cut.
  const standard = {};
  const std = standardArgs(mib);
  for (const name of WORKLOADS) {
    const r = { args: std[name], floorRunsMs: [], swapbypassRunsMs: [], pairs: [], checksums: new Set(), sweeps: { floor: [], swapbypass: [] } };
    for (let i = 0; i < runs; i++) {
      for (const config of ["floor", "swapbypass"]) {
        progress(`  swapbypass: ${config.padEnd(10)} ${name} ${std[name].join(" ")} run ${i + 1}/${runs} … `);
        const w = await runWorkload(guests[config], name, std[name]);
        r[`${config}RunsMs`].push(w.ms);
        r.checksums.add(workloadChecksum(w.line));
        if (name === "stream") r.sweeps[config].push(sweepTimes(w.lines));
        r[`${config}Instructions`] = w.instructions;
        progress(`${(w.ms / 1000).toFixed(2)} s (${w.line.split("\n").pop()})\n`);
      }
      r.pairs.push(r.swapbypassRunsMs[i] / r.floorRunsMs[i]);
    }
    const cutMs = CUT * r.swapbypassRunsMs[0];
    progress(`  swapbypass: swap       ${name} ${std[name].join(" ")}, cut at ${(cutMs / 1000).toFixed(1)} s … `);
    const w = await runWorkload(guests.swap, name, std[name], { cutMs });
    if (!w.cut) r.checksums.add(workloadChecksum(w.line));
    r.swap = { ms: w.ms, cut: w.cut, instructions: w.instructions };
    progress(`${w.cut ? "cut" : "done"} after ${(w.ms / 1000).toFixed(2)} s\n`);
    Object.assign(r, { floorMs: median(r.floorRunsMs), swapbypassMs: median(r.swapbypassRunsMs), pairedRatioMedian: median(r.pairs), checksums: [...r.checksums] });
    if (name === "stream") {
      // Each run's best sweep after the first (STREAM's report), then the median over runs; and a typical such sweep.
      const best = (config) => median(r.sweeps[config].map((t) => Math.min(...t.slice(1))));
      const typical = (config) => median(r.sweeps[config].flatMap((t) => t.slice(1)));
      r.bestSweepMs = { floor: best("floor"), swapbypass: best("swapbypass") };
      r.medianSweepMs = { floor: typical("floor"), swapbypass: typical("swapbypass") };
    }
    if (r.checksums.length !== 1) { failures++; configs.error = `${name} ${std[name].join(" ")}: checksums differ (${r.checksums.join(", ")})`; }
    standard[name] = r;
  }
  const stats = Object.fromEntries(Object.entries(guests.swapbypass.pc.vm.stats().paging).filter(([k]) => k.startsWith("bypass")));
  for (const config of ["swap", "swapbypass"]) configs[config].swapDisk = { ...guests[config].pc.swapDisk.stats };
  for (const name of WORKLOADS) {
    const sums = new Set(["floor", "swap", "swapbypass"].map((c) => configs[c][name].checksum));
    if (sums.size !== 1) { failures++; configs.error = `${name}: checksums differ across configurations (${[...sums].join(", ")})`; }
  }
  return { mib, ramMiB: SMALL >> 20, swapMiB: SWAP >> 20, runs, configs, standard, stats, failures };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** A header and rows of strings as aligned text lines: the first column left, the others right. */
function table(hdr, rows) {
  const widths = hdr.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [fmt(hdr), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)];
}

export function swapbypassLines(S) {
  const lines = [""];
  if (S.skipped) { lines.push(S.skipped); return lines; }
  lines.push(`SwapBypass (seed 000's Stream/GUPS figure): Linux, shadow paging, symbiotic.ko, Wasm engine; working set ${S.mib} MiB = 2 × the free memory of a ${S.ramMiB} MiB guest`);
  lines.push(`floor = RAM for the whole working set; swap = ${S.ramMiB} MiB RAM + ${S.swapMiB} MiB swap on the in-memory virtio disk; swapbypass = the same with SwapBypass; median of ${S.runs} run(s), host wall time, the three guests taking turns run by run; bypass/floor = the median of each run's ratio`);
  // bypass/floor in guest instructions: the guest's own swap-out (reclaim, swap cache, the disk writes) is on top of
  // the floor's work under SwapBypass too (it removes swap-ins, not swap-outs), so that ratio is as low as the time
  // ratio could go even if kernel code ran as fast per instruction as the workloads' loops.
  const hdr = ["workload", "floor s", "swap s", "swapbypass s", "swap/bypass", "bypass/floor", "instr floor (M)", "swap (M)", "bypass (M)", "bypass/floor instr", "checksum"];
  const rows = [];
  for (const name of ["stream", "gups"]) {
    const [f, s, b] = ["floor", "swap", "swapbypass"].map((c) => S.configs[c][name]);
    rows.push([name, (f.medianMs / 1000).toFixed(2), (s.medianMs / 1000).toFixed(2), (b.medianMs / 1000).toFixed(2),
      (s.medianMs / b.medianMs).toFixed(2), (b.pairedRatioMedian ?? b.medianMs / f.medianMs).toFixed(2),
      (f.instructions / 1e6).toFixed(0), (s.instructions / 1e6).toFixed(0), (b.instructions / 1e6).toFixed(0),
      (b.instructions / f.instructions).toFixed(2), f.checksum === s.checksum && s.checksum === b.checksum ? f.checksum : "DIFFER"]);
  }
  lines.push(...table(hdr, rows));
  if (S.standard) {
    lines.push(`at their benchmarks' own lengths, whole runs (gups: HPCC's 4 updates a table word; stream: McCalpin's ${NTIMES} sweeps); ` +
      `plain swap once, cut at ${CUT} × SwapBypass's time ("> t": cut there):`);
    const shdr = ["workload", "floor s", "swap s", "swapbypass s", "swap/bypass", "bypass/floor", "instr floor (M)", "bypass (M)", "checksum"];
    const srows = ["gups", "stream"].map((name) => {
      const r = S.standard[name], sw = r.swap;
      return [`${name} ${r.args.join(" ")}`, (r.floorMs / 1000).toFixed(2), `${sw.cut ? "> " : ""}${(sw.ms / 1000).toFixed(2)}`, (r.swapbypassMs / 1000).toFixed(2),
        `${sw.cut ? "> " : ""}${(sw.ms / r.swapbypassRunsMs[0]).toFixed(2)}`, r.pairedRatioMedian.toFixed(2),
        (r.floorInstructions / 1e6).toFixed(0), (r.swapbypassInstructions / 1e6).toFixed(0), r.checksums.length === 1 ? r.checksums[0] : "DIFFER"];
    });
    lines.push(...table(shdr, srows));
    const st = S.standard.stream;
    lines.push(`stream's sweeps as STREAM reports them (the best of sweeps 2 – ${NTIMES}, host time): floor ${st.bestSweepMs.floor.toFixed(0)} ms, ` +
      `swapbypass ${st.bestSweepMs.swapbypass.toFixed(0)} ms (${(st.bestSweepMs.swapbypass / st.bestSweepMs.floor).toFixed(2)}×); ` +
      `their median ${st.medianSweepMs.floor.toFixed(0)} and ${st.medianSweepMs.swapbypass.toFixed(0)} ms (${(st.medianSweepMs.swapbypass / st.medianSweepMs.floor).toFixed(2)}×)`);
  }
  lines.push("exits in each workload's (last) run, by reason, and the shadow pager's counters:");
  for (const config of ["floor", "swap", "swapbypass"]) {
    for (const name of ["stream", "gups"]) {
      const r = S.configs[config][name];
      if (!r.exits) continue;
      const total = Object.values(r.exits).reduce((a, b) => a + b, 0);
      const list = (o) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(" ");
      lines.push(`  ${config.padEnd(10)} ${name.padEnd(6)} ${total} exits (${list(r.exits)}); ${list(r.paging ?? {})}`);
    }
  }
  if (S.stats) lines.push(`SwapBypass counters (both workloads): ${Object.entries(S.stats).map(([k, v]) => `${k.replace(/^bypass/, "")}=${v}`).join(" ")}`);
  if (S.configs.error) lines.push(`ERROR: ${S.configs.error}`);
  return lines;
}

// `node benchmarks/swapbypass.mjs`: these rows alone (BENCH_SWAPBYPASS_RUNS runs, default 1), printed and written to
// benchmarks/results/swapbypass-<date>.json with the load average around them (npm run bench leaves latest.json alone then).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const loadavgStart = loadavg();
  const runs = Number(process.env.BENCH_SWAPBYPASS_RUNS ?? 1);
  const r = await swapbypassBench({ runs, progress: (s) => process.stderr.write(s) });
  const file = join(dirname(fileURLToPath(import.meta.url)), "results", `swapbypass-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ ...r, loadavgStart, loadavgEnd: loadavg(), date: new Date().toISOString() }, null, 2) + "\n");
  console.log(swapbypassLines(r).join("\n"));
  console.log(`\nwritten: ${file}`);
  process.exitCode = r.failures ? 1 : 0;
}
