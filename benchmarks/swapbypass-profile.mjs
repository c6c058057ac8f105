// Where the guest's instructions go in the SwapBypass benchmark's workloads
// (benchmarks/swapbypass.mjs): the floor configuration (RAM for the whole
// working set) against SwapBypass, one run of one workload each, with the
// guest's EIP sampled at every 3000th instruction or so (the end of each
// core run cut short by its budget) and the kernel's samples resolved to
// functions through the guest's own /proc/kallsyms (the kernel boots with
// nokaslr, so one table serves both guests). Sampling changes how the core's
// runs are sliced, so the wall times printed here are not the benchmark's.
//
//   node benchmarks/swapbypass-profile.mjs [stream|gups] [top N] [--host]
//
// With --host: where the *host's* time goes instead — each configuration runs
// the workload three times (its code compiled), then once under V8's sampling
// profiler; compiled guest code is named by its block's guest address
// (jit/compiler.ts writes a name section), so the time in it is attributed to
// user mode or to kernel functions; the rest is the core (interpreter, replay,
// slow paths) and the VMM's JavaScript, each also by function (the core's named
// from build/core.wat).
//
// Prints instructions per configuration, the user/kernel split of the
// samples and the kernel functions with the most samples under SwapBypass
// next to their floor counts. Needs what the benchmark needs (npm run
// images, module, workloads) and a build (npm run build).
import { bootThrashGuest, thrashPrerequisites, guestMemFreeMiB, runWorkload } from "../dist/node/thrash.js";
import { SwapBypass } from "../dist/symbiotic/swapbypass.js";
import { SMALL, SWAP, floorRamBytes, WORKLOAD_ARGS } from "./swapbypass.mjs";
import { Session } from "node:inspector/promises";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const host = process.argv.includes("--host");
const [workload = "gups", topArg = "25"] = process.argv.slice(2).filter((a) => a !== "--host");
const top = Number(topArg);
const SLICE = 3000;
const why = thrashPrerequisites();
if (why) { console.error(`swapbypass-profile: ${why}`); process.exit(2); }

/** Run the workload with EIP sampling on: { instructions, samples: Map<eip, count>, kallsyms }. */
async function profile(config, mib, small) {
  const floor = config === "floor";
  const g = floor ? await bootThrashGuest({ ramBytes: floorRamBytes(mib), swapBytes: 0, swapBypass: false }) : small;
  if (!floor) new SwapBypass(g.pc.vm, g.pc.vm.paging, g.pc.swapDisk);
  const core = g.pc.vm.core, run = core.run.bind(core), samples = new Map();
  if (!host) core.run = (budget) => {
    const code = run(Math.min(budget, SLICE));
    if (code === 1 /* ExitCode.Budget */) { const eip = core.getEip() >>> 0; samples.set(eip, (samples.get(eip) ?? 0) + 1); }
    return code;
  };
  let hostProfile = null;
  if (host) for (let i = 0; i < 3; i++) await runWorkload(g, workload, WORKLOAD_ARGS(mib)[workload]);
  const session = host ? new Session() : null;
  if (session) {
    session.connect();
    await session.post("Profiler.enable"); await session.post("Profiler.setSamplingInterval", { interval: 100 }); await session.post("Profiler.start");
  }
  const r = await runWorkload(g, workload, WORKLOAD_ARGS(mib)[workload]);
  if (session) { hostProfile = (await session.post("Profiler.stop")).profile; session.disconnect(); }
  core.run = run;
  process.stderr.write(`  ${config}: ${r.line}${host ? `, ${(r.ms / 1000).toFixed(2)} s` : ""}\n`);
  const text = await g.shell.sh("grep -i ' t ' /proc/kallsyms", 600e9);
  const kallsyms = text.split("\n").map((l) => l.trim().split(/\s+/)).filter((p) => p.length >= 3 && /^[0-9a-f]{8}$/.test(p[0]))
    .map((p) => [parseInt(p[0], 16), p[2]]).sort((a, b) => a[0] - b[0]);
  return { instructions: r.instructions, samples, kallsyms, hostProfile };
}

/** The function of kallsyms holding `eip`: kernel EIPs (≥ 0xc0000000), the rest "(user)". */
function functionAt(kallsyms, eip) {
  if (eip < 0xc0000000) return "(user)";
  let lo = 0, hi = kallsyms.length - 1;
  while (lo < hi) { const m = (lo + hi + 1) >> 1; if (kallsyms[m][0] <= eip) lo = m; else hi = m - 1; }
  return kallsyms.length && kallsyms[lo][0] <= eip ? kallsyms[lo][1] : "(kernel, unknown)";
}

/**
 * A V8 CPU profile's self time (s) by where it went: compiled guest code ("r"/"b" + the block's guest address) by
 * guest function, and the rest as "core" (the Wasm core), "VMM JavaScript" or "other" (GC, V8, idle).
 */
function hostTime({ hostProfile, kallsyms }) {
  const nodes = new Map(hostProfile.nodes.map((n) => [n.id, n.callFrame]));
  const dt = hostProfile.timeDeltas, out = new Map();
  hostProfile.samples.forEach((id, i) => {
    const { functionName: name, url } = nodes.get(id), m = /^\$?[rb]([0-9a-f]{8})$/.exec(name);
    const where = m ? functionAt(kallsyms, parseInt(m[1], 16)) : url.startsWith("wasm:") ? "core" : url.startsWith("file:") ? "VMM JavaScript" : "other";
    out.set(where, (out.get(where) ?? 0) + (dt[i] ?? 0) / 1e6);
    // Also by function: the core's through build/core.wat's names (its module has no name section), a compiled
    // module's helpers (h_read … h_link) by their own names, JavaScript by function and file.
    if (!m) {
      const core = /^wasm-function\[(\d+)\]$/.exec(name);
      const what = core ? CORE_FUNCTIONS[Number(core[1])] ?? name : /^\$?h_/.test(name) ? `${name.replace(/^\$/, "")} (compiled-code helper)` : `${name || "(anonymous)"} ${url.replace(/^.*\//, "")}`;
      const k = `${where}: ${what}`;
      out.set(k, (out.get(k) ?? 0) + (dt[i] ?? 0) / 1e6);
    }
  });
  return out;
}

/** The core's function names by index (imports first), from the text form the build writes beside core.wasm. */
function coreFunctionNames() {
  const wat = join(dirname(fileURLToPath(import.meta.url)), "../build/core.wat");
  if (!existsSync(wat)) return [];
  const text = readFileSync(wat, "utf8");
  const imports = [...text.matchAll(/^\s*\(import "[^"]*" "[^"]*" \(func (\$\S+)/gm)].map((x) => x[1]);
  const defined = [...text.matchAll(/^\s*\(func (\$\S+)/gm)].map((x) => x[1]);
  return [...imports, ...defined].map((n) => n.replace(/^\$(assembly\/)?/, ""));
}
const CORE_FUNCTIONS = host ? coreFunctionNames() : [];

/** Samples by function: kernel EIPs through kallsyms, the rest as "(user)". */
function byFunction({ samples, kallsyms }) {
  const out = new Map();
  for (const [eip, n] of samples) { const name = functionAt(kallsyms, eip); out.set(name, (out.get(name) ?? 0) + n); }
  return out;
}

process.stderr.write("swapbypass-profile: measuring the small guest's free memory …\n");
const small = await bootThrashGuest({ ramBytes: SMALL, swapBytes: SWAP, swapBypass: false });
const mib = 2 * await guestMemFreeMiB(small.shell);
const result = { floor: await profile("floor", mib), swapbypass: await profile("swapbypass", mib, small) };
if (host) {
  const f = hostTime(result.floor), b = hostTime(result.swapbypass);
  const REST = ["core", "VMM JavaScript", "other", "(user)"];
  const detail = (k) => /^(core|VMM JavaScript|other): /.test(k);
  const sum = (m, keep) => [...m].filter(([k]) => keep(k)).reduce((s, [, v]) => s + v, 0);
  const line = (label, m) => `${label}: compiled user code ${(m.get("(user)") ?? 0).toFixed(3)} s, compiled kernel code ${sum(m, (k) => !REST.includes(k) && !detail(k)).toFixed(3)} s, ` +
    `core ${(m.get("core") ?? 0).toFixed(3)} s, VMM JavaScript ${(m.get("VMM JavaScript") ?? 0).toFixed(3)} s, other ${(m.get("other") ?? 0).toFixed(3)} s`;
  console.log(`${workload} ${mib} MiB, host time of one warm run under the profiler (guest instructions floor ${(result.floor.instructions / 1e6).toFixed(0)} M, SwapBypass ${(result.swapbypass.instructions / 1e6).toFixed(0)} M):`);
  console.log(line("  floor", f));
  console.log(line("  SwapBypass", b));
  console.log(`kernel functions with the most compiled-code time under SwapBypass (floor alongside), ms:`);
  for (const [name, v] of [...b].filter(([k]) => !REST.includes(k) && !detail(k)).sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${(v * 1e3).toFixed(1).padStart(7)} ${((f.get(name) ?? 0) * 1e3).toFixed(1).padStart(7)}  ${name}`);
  console.log(`the core's, the VMM's and other functions with the most time under SwapBypass (floor alongside), ms:`);
  for (const [name, v] of [...b].filter(([k]) => detail(k)).sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${(v * 1e3).toFixed(1).padStart(7)} ${((f.get(name) ?? 0) * 1e3).toFixed(1).padStart(7)}  ${name}`);
  process.exit(0);
}
const f = byFunction(result.floor), b = byFunction(result.swapbypass);
const total = (m) => [...m.values()].reduce((s, n) => s + n, 0);
const kernel = (m) => total(m) - (m.get("(user)") ?? 0);
console.log(`${workload} ${mib} MiB: guest instructions floor ${(result.floor.instructions / 1e6).toFixed(0)} M, SwapBypass ${(result.swapbypass.instructions / 1e6).toFixed(0)} M`);
console.log(`samples (one per ~${SLICE} instructions): floor ${total(f)} (user ${f.get("(user)") ?? 0}, kernel ${kernel(f)}), SwapBypass ${total(b)} (user ${b.get("(user)") ?? 0}, kernel ${kernel(b)})`);
console.log(`kernel functions with the most samples under SwapBypass (floor alongside):`);
for (const [name, n] of [...b].filter(([k]) => k !== "(user)").sort((x, y) => y[1] - x[1]).slice(0, top))
  console.log(`  ${String(n).padStart(6)} ${String(f.get(name) ?? 0).padStart(6)}  ${name}`);
process.exit(0);
