// The region compiler's memory over a long-running guest: the SwapBypass guest of
// benchmarks/swapbypass.mjs (48 MiB, swap in VMM memory, SwapBypass) runs STREAM
// and GUPS in turn, N runs (default 40), and every fifth run the process's RSS
// and the Wasm compiled so far are printed, then the peak RSS. The guest thrashes,
// so its binaries' pages land in other frames and are compiled again, run after
// run: the compiled modules no longer used must be freed (src/engine/block-compiler.ts),
// or the RSS grows with every run (it did until a28a708).
//   node benchmarks/code-memory.mjs [N]        (needs npm run images, module, workloads)
import { bootThrashGuest, thrashPrerequisites, runWorkload } from "../dist/node/thrash.js";
import { SwapBypass } from "../dist/symbiotic/swapbypass.js";
import { SMALL, SWAP, WORKLOAD_ARGS } from "./swapbypass.mjs";

const runs = Number(process.argv[2] ?? 40);
if (!Number.isInteger(runs) || runs < 1) { console.error(`code-memory: N must be a whole number of runs ≥ 1 (got ${process.argv[2]})`); process.exit(2); }
const why = thrashPrerequisites();
if (why) { console.error(`code-memory: skipped: ${why}`); process.exit(0); }
const mib = (bytes) => (bytes / 1048576).toFixed(1);
const guest = await bootThrashGuest({ ramBytes: SMALL, swapBytes: SWAP, swapBypass: false });
new SwapBypass(guest.pc.vm, guest.pc.vm.paging, guest.pc.swapDisk);
for (let i = 1; i <= runs; i++) {
  const workload = i % 2 ? "stream" : "gups";
  await runWorkload(guest, workload, WORKLOAD_ARGS(34)[workload]);
  if (i % 5 === 0 || i === runs) {
    const c = guest.pc.vm.stats().compiler;
    console.log(`run ${String(i).padStart(3)}: RSS ${mib(process.memoryUsage.rss()).padStart(6)} MiB; compiled ${mib(c.bytes)} MiB of Wasm in ${c.modules} modules, ${c.modulesDropped} dropped`);
  }
}
console.log(`peak RSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
process.exit(0);
