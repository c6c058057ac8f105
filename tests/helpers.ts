// Shared test helpers: run a kernel image on an engine through the library API.
import { readFileSync } from "node:fs";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import type { EngineKind } from "../src/engine/engine.js";
import type { StopReason } from "../src/vmm/vm.js";
import type { PagingModeName, PagingStrategy } from "../src/vmm/paging/index.js";
import type { GuestMemory } from "../src/vmm/memory.js";
import type { BareMachine } from "../src/machine/bare.js";
import type { Vm } from "../src/vmm/vm.js";
import type { VcpuExit } from "../src/vmm/exits.js";
import { Control } from "../src/engine/core.js";

export const ENGINES: EngineKind[] = ["wasm", "js"];

export interface KernelRun { serial: string; stop: StopReason; pc: Pc; compiledRegions: number; compileError?: string }

/** Run a Multiboot kernel until it stops (debug-exit, halt, fault) or the instruction cap. */
/** Block compiler settings that compile every block replayed once, at every exit: the compiled path runs almost everything. */
export const COMPILE_EAGERLY = { compileThreshold: 1, compileBatch: 1 } as const;

export async function runKernel(image: Uint8Array, engine: EngineKind, opts: { memMiB?: number; append?: string; path?: string; maxInstructions?: number; tcache?: boolean; testdev?: boolean; vga?: boolean; smap?: boolean; smep?: boolean; cpus?: number; compileEagerly?: boolean; paging?: PagingModeName | PagingStrategy } = {}): Promise<KernelRun> {
  const ramBytes = (opts.memMiB ?? 32) * 1024 * 1024;
  const e = await createEngine(engine, ramBytes, opts.compileEagerly ? COMPILE_EAGERLY : {});
  const bytes: number[] = [];
  const pc = new Pc({ engine: e, ramBytes, onSerial: (b) => bytes.push(b), testdev: opts.testdev, vga: opts.vga, smap: opts.smap, smep: opts.smep, cpus: opts.cpus, paging: opts.paging });
  if (opts.tcache === false) pc.vm.setTranslationCache(false);
  pc.loadKernel(image, { path: opts.path ?? "kernel", append: opts.append ?? "" });
  const stop = pc.vm.run(opts.maxInstructions ?? 2_000_000_000);
  return { serial: Buffer.from(bytes).toString("latin1"), stop, pc, compiledRegions: e.compiler?.regions ?? 0, compileError: e.compiler?.error };
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Guest RAM as an image of `ramBytes`: the pages the guest-physical map backs with RAM, zeros elsewhere (VGA window, ROM). */
export function ramImage(memory: GuestMemory, ramBytes: number): Uint8Array {
  const out = new Uint8Array(ramBytes);
  for (let a = 0; a < ramBytes; a += 4096) if (memory.isRam(a, 4096)) out.set(memory.read(a, 4096), a);
  return out;
}

/** Accessors for a PCI function's BAR0 (I/O) and BAR1 (memory) on a PC's buses, by offset — as a driver reaches them. */
export function barAccess(pc: Pc, fn: { barAddress(i: number): number | null }) {
  const bar1 = fn.barAddress(1)!, bar0 = fn.barAddress(0)!;
  return {
    mmio: { r: (o: number, s: 1 | 2 | 4) => pc.vm.mmio.read(bar1 + o, s), w: (o: number, s: 1 | 2 | 4, v: number) => pc.vm.mmio.write(bar1 + o, s, v) },
    io: { r: (o: number, s: 1 | 2 | 4) => pc.vm.ports.read(bar0 + o, s), w: (o: number, s: 1 | 2 | 4, v: number) => pc.vm.ports.write(bar0 + o, s, v) },
  };
}

/**
 * Run `m` in runs of `step` instructions (between which the Wasm engine compiles what was queued) until the guest
 * raises exception `vector`, which exits instead of vectoring; what `capture` takes from that exit. Throws if
 * another stop comes first or no such exception comes in 10 000 runs.
 */
export function runToException<T>(m: BareMachine, vector: number, step: number, capture: (exit: Extract<VcpuExit, { reason: "exception" }>, vm: Vm) => T): T {
  m.vm.setControl(Control.ExceptionBitmap, 1 << vector);
  let got: { value: T } | null = null;
  m.vm.onException((exit, vm) => {
    got = { value: capture(exit, vm) };
    return { kind: "requested", why: "the test stops at the exception" };
  });
  for (let i = 0; i < 10_000 && got === null; i++) {
    const stop = m.step(step);
    if (stop.kind !== "budget" && stop.kind !== "requested") throw new Error(`stopped: ${JSON.stringify(stop)}`);
  }
  if (got === null) throw new Error(`no exception ${vector}`);
  return (got as { value: T }).value;
}
