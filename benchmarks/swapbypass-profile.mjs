// Where the guest's instructions go in the SwapBypass benchmark's workloads
// (benchmarks/swapbypass.mjs): the floor configuration (RAM for the whole
// working set) against SwapBypass, one run of one workload each, with the
// guest's EIP sampled at every 3000th instruction or so (the end of each
// core run cut short by its budget) and the kernel's samples resolved to
// functions through the guest's own /proc/kallsyms (the kernel boots with
// nokaslr, so one table serves both guests). Sampling changes how the core's
// runs are sliced, so the wall times printed here are not the benchmark's.
//
//   node benchmarks/swapbypass-profile.mjs [stream|gups] [top N]
//
// Prints instructions per configuration, the user/kernel split of the
// samples and the kernel functions with the most samples under SwapBypass
// next to their floor counts. Needs what the benchmark needs (npm run
// images, module, workloads) and a build (npm run build).
import { bootThrashGuest, thrashPrerequisites, guestMemFreeMiB, runWorkload } from "../dist/node/thrash.js";
import { SwapBypass } from "../dist/symbiotic/swapbypass.js";
import { SMALL, SWAP, floorRamBytes, WORKLOAD_ARGS } from "./swapbypass.mjs";

const workload = process.argv[2] ?? "gups";
const top = Number(process.argv[3] ?? 25);
const SLICE = 3000;
const why = thrashPrerequisites();
if (why) { console.error(`swapbypass-profile: ${why}`); process.exit(2); }

/** Run the workload with EIP sampling on: { instructions, samples: Map<eip, count>, kallsyms }. */
async function profile(config, mib, small) {
  const floor = config === "floor";
  const g = floor ? await bootThrashGuest({ ramBytes: floorRamBytes(mib), swapBytes: 0, swapBypass: false }) : small;
  if (!floor) new SwapBypass(g.pc.vm, g.pc.vm.paging, g.pc.swapDisk);
  const core = g.pc.vm.core, run = core.run.bind(core), samples = new Map();
  core.run = (budget) => {
    const code = run(Math.min(budget, SLICE));
    if (code === 1 /* ExitCode.Budget */) { const eip = core.getEip() >>> 0; samples.set(eip, (samples.get(eip) ?? 0) + 1); }
    return code;
  };
  const r = await runWorkload(g, workload, WORKLOAD_ARGS(mib)[workload]);
  core.run = run;
  process.stderr.write(`  ${config}: ${r.line}\n`);
  const text = await g.shell.sh("grep -i ' t ' /proc/kallsyms", 600e9);
  const kallsyms = text.split("\n").map((l) => l.trim().split(/\s+/)).filter((p) => p.length >= 3 && /^[0-9a-f]{8}$/.test(p[0]))
    .map((p) => [parseInt(p[0], 16), p[2]]).sort((a, b) => a[0] - b[0]);
  return { instructions: r.instructions, samples, kallsyms };
}

/** Samples by function: kernel EIPs (≥ 0xc0000000) through kallsyms, the rest as "(user)". */
function byFunction({ samples, kallsyms }) {
  const out = new Map();
  for (const [eip, n] of samples) {
    let name = "(user)";
    if (eip >= 0xc0000000) {
      let lo = 0, hi = kallsyms.length - 1;
      while (lo < hi) { const m = (lo + hi + 1) >> 1; if (kallsyms[m][0] <= eip) lo = m; else hi = m - 1; }
      name = kallsyms.length && kallsyms[lo][0] <= eip ? kallsyms[lo][1] : "(kernel, unknown)";
    }
    out.set(name, (out.get(name) ?? 0) + n);
  }
  return out;
}

process.stderr.write("swapbypass-profile: measuring the small guest's free memory …\n");
const small = await bootThrashGuest({ ramBytes: SMALL, swapBytes: SWAP, swapBypass: false });
const mib = 2 * await guestMemFreeMiB(small.shell);
const result = { floor: await profile("floor", mib), swapbypass: await profile("swapbypass", mib, small) };
const f = byFunction(result.floor), b = byFunction(result.swapbypass);
const total = (m) => [...m.values()].reduce((s, n) => s + n, 0);
const kernel = (m) => total(m) - (m.get("(user)") ?? 0);
console.log(`${workload} ${mib} MiB: guest instructions floor ${(result.floor.instructions / 1e6).toFixed(0)} M, SwapBypass ${(result.swapbypass.instructions / 1e6).toFixed(0)} M`);
console.log(`samples (one per ~${SLICE} instructions): floor ${total(f)} (user ${f.get("(user)") ?? 0}, kernel ${kernel(f)}), SwapBypass ${total(b)} (user ${b.get("(user)") ?? 0}, kernel ${kernel(b)})`);
console.log(`kernel functions with the most samples under SwapBypass (floor alongside):`);
for (const [name, n] of [...b].filter(([k]) => k !== "(user)").sort((x, y) => y[1] - x[1]).slice(0, top))
  console.log(`  ${String(n).padStart(6)} ${String(f.get(name) ?? 0).padStart(6)}  ${name}`);
process.exit(0);
