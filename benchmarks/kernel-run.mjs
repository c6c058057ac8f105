// One run of a benchmark kernel on a Symbiont engine, shared by run.mjs (the
// engine table) and paging.mjs (the paging-mode table).
import { Pc } from "../dist/index.js";
import { createEngine } from "../dist/node/engines.js";

export const RAM = 64 << 20;
export const MAX_INSTRUCTIONS = 20e9; // a kernel that runs this long is broken

export function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

// One engine instance per kind for the whole benchmark, reset between runs:
// a second instance of the JS engine in the same process runs much slower
// (its functions are fresh closures of the same code, so V8's call-site
// feedback turns polymorphic), and a VM is one long-lived instance anyway.
const engines = new Map();
/** Engine variants measured besides the two engines: the Wasm engine replaying blocks without compiling them. */
const VARIANTS = { "wasm-replay": ["wasm", { compileBlocks: false }] };
export async function freshEngine(kind) {
  let engine = engines.get(kind);
  if (!engine) {
    const [engineKind, options] = VARIANTS[kind] ?? [kind, {}];
    engine = await createEngine(engineKind, RAM, options);
    engines.set(kind, engine);
    return engine;
  }
  new Uint8Array(engine.buffer, engine.core.ramBase(), RAM).fill(0);
  engine.core.reset(RAM); // also the guest-physical map and the VMM's controls
  return engine;
}

/**
 * Boot the kernel on a fresh Pc and run it to its isa-debug-exit. The work
 * window is from the newline of "BEGIN name" to the "R" of "RESULT": wall
 * time and retired instructions at both points are read in the serial
 * callback (during the OUT's exit, when the retired count is exact).
 * `paging`: how guest memory is virtualized (direct, nested, shadow); `setup(pc)`: the kernel's
 * own set-up of the machine (kernels.mjs).
 */
export async function runKernel(kind, image, path, { tcache = true, paging = "direct", setup = undefined } = {}) {
  const engine = await freshEngine(kind);
  let line = "";
  let result = null;
  let begin = null;
  let end = null;
  let pc = null;
  const mark = () => ({ t: performance.now(), cpu: cpuMs(), n: pc.vm.core.getRetired(), exits: { ...pc.vm.stats().exits } });
  pc = new Pc({
    engine, ramBytes: RAM, paging,
    onSerial: (b) => {
      if (b === 10) {
        if (line.startsWith("BEGIN ")) begin = mark();
        else if (line.startsWith("RESULT ")) result = line;
        line = "";
        return;
      }
      if (line === "" && b === 0x52 && begin && !end) end = mark();
      line += String.fromCharCode(b);
    },
  });
  pc.loadKernel(image, { path });
  setup?.(pc);
  pc.vm.setTranslationCache(tcache);
  const t0 = performance.now();
  const stop = pc.vm.run(MAX_INSTRUCTIONS);
  const t1 = performance.now();
  if (stop.kind !== "debug-exit" || stop.status !== 1) { // isa-debug-exit: (0 << 1) | 1
    throw new Error(`${path} on ${kind}: stopped with ${JSON.stringify(stop)}, serial line so far ${JSON.stringify(line)}`);
  }
  if (!begin || !end || !result) throw new Error(`${path} on ${kind}: no BEGIN/RESULT lines`);
  const stats = pc.vm.stats();
  // Exits by reason inside the work window (the serial OUTs that mark it are outside it, but for the last one).
  const windowExits = {};
  for (const [reason, n] of Object.entries(end.exits)) {
    const d = n - (begin.exits[reason] ?? 0);
    if (d > 0) windowExits[reason] = d;
  }
  return {
    windowMs: end.t - begin.t,
    windowCpuMs: end.cpu - begin.cpu,
    windowInstructions: end.n - begin.n,
    windowExits,
    totalMs: t1 - t0,
    totalInstructions: stats.instructions,
    exits: Object.values(stats.exits).reduce((a, b) => a + b, 0),
    tlbMisses: stats.tlbMisses,
    tlbLookups: stats.tlbLookups,
    paging: stats.paging,
    result,
  };
}
