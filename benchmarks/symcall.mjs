// The SymCall round trip: the VMM calls into the guest (SYMCALL_TEST) and the
// guest returns with VMCALL — state saved, entry loaded, a nested entry, the
// return hypercall, state restored. Measured on the symbiotic test kernel
// (tests/kernels/symbiotic.asm), stopped at the checkpoint where its SymCall
// entry is ready; calls are made between runs, as the monitor makes them.
// ns per call (median of the runs, on the benchmark's clock) and the guest
// instructions each call retires; run.mjs prints them next to the I/O exit
// round trip of the io/iobase kernels.
import { readFileSync, existsSync } from "node:fs";
import { Pc } from "../dist/index.js";

const KERNEL = new URL("../tests/kernels/bin/symbiotic.elf", import.meta.url);
const READY_CHECKPOINT = 6; // the kernel's SymCall entry is valid from here (symbiotic.asm)
const CALLS = 20000;
const SYMCALL_TEST = 1;

/** { kind: { ns, instructions, calls } } for each engine kind; throws if the kernel is missing or a call fails. */
export async function symcallBench({ kinds, freshEngine, ramBytes, runs, warmup, timer, progress }) {
  if (!existsSync(KERNEL)) throw new Error(`${KERNEL.pathname} is missing (tests/kernels/build.sh symbiotic)`);
  const image = new Uint8Array(readFileSync(KERNEL));
  const out = {};
  for (const kind of kinds) {
    const pc = new Pc({ engine: await freshEngine(kind), ramBytes, onSerial: () => {} });
    pc.vm.addPortDevice(0xe00, 8, {
      name: "bench-checkpoints", read: () => 0,
      write: (offset, _size, value) => { if (offset === 0 && value === READY_CHECKPOINT) pc.vm.requestStop({ kind: "requested", why: "ready" }); },
    });
    pc.loadKernel(image, { path: KERNEL.pathname });
    const stop = pc.vm.run(1e8);
    if (stop.kind !== "requested") throw new Error(`symbiotic kernel on ${kind}: ${JSON.stringify(stop)}`);
    const sym = pc.vm.symbiotic;
    let instructions = 0;
    const batch = () => {
      for (let i = 0; i < CALLS; i++) {
        const r = sym.call(SYMCALL_TEST, i, 2, 3, 4, 5);
        if (!r.ok || r.regs[0] !== (~i >>> 0)) throw new Error(`SymCall on ${kind}: ${JSON.stringify(r)}`);
        instructions = r.instructions;
      }
    };
    const times = [];
    for (let i = 0; i < warmup + runs; i++) {
      progress(`  symcall   ${kind.padEnd(9)} ${i < warmup ? "warm-up " : `run ${i - warmup + 1}/${runs}`} … `);
      const t0 = timer();
      batch();
      const ms = timer() - t0;
      progress(`${(ms / 1000).toFixed(3)} s\n`);
      if (i >= warmup) times.push(ms);
    }
    times.sort((a, b) => a - b);
    out[kind] = { ns: (times[times.length >> 1] * 1e6) / CALLS, instructions, calls: CALLS };
  }
  return out;
}
