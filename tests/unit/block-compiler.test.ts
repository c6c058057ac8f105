// The Wasm engine's block compiler when compiling is refused (a page whose
// Content-Security-Policy forbids Wasm compilation throws from
// WebAssembly.Module): the guest must run on, every block replayed, with the
// same output, and the statistics must say why compiling stopped. And the
// compiled modules' lifetime: those no longer used must be freed.
import { describe, it, expect, afterEach } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine, hostGarbageCollector } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { COMPILE_EAGERLY, readBytes } from "../helpers.js";
import type { WasmEngineOptions } from "../../src/engine/engine.js";

const dir = new URL("../kernels/", import.meta.url).pathname;
const RealModule = WebAssembly.Module;

/**
 * Run the alu test kernel on the Wasm engine with these compiler options, WebAssembly.Module replaced by
 * `module` (called with new) once the engine is made (the core is compiled and instantiated already: only the block modules
 * are made by it): the serial output, how the kernel stopped, the compiler's statistics.
 */
async function runAlu(options: WasmEngineOptions, module: (bytes: BufferSource) => WebAssembly.Module, flushEvery = 0) {
  const bin = `${dir}bin/alu.elf`;
  const ramBytes = 32 << 20;
  const engine = await createEngine("wasm", ramBytes, options);
  (WebAssembly as { Module: unknown }).Module = module;
  const out: number[] = [];
  const pc = new Pc({ engine, ramBytes, onSerial: (b) => out.push(b) });
  pc.loadKernel(readBytes(bin), { path: bin, append: "" });
  let stop = pc.vm.run(flushEvery || 2_000_000_000);
  // (`flushEvery`: runs of that many instructions, the translation cache flushed between them — every region dropped.)
  while (flushEvery && stop.kind === "budget") { pc.vm.core.flushCaches(); stop = pc.vm.run(flushEvery); }
  return { pc, output: Buffer.from(out).toString("latin1"), stop, stats: pc.vm.stats().compiler! };
}
/** Run the host's collector in a later job (WeakRef targets stay alive until the current one ends); how many of `refs` it freed. */
async function collected(refs: WeakRef<object>[]): Promise<number> {
  await new Promise((r) => setTimeout(r, 0));
  const gc = hostGarbageCollector();
  expect(gc).toBeTypeOf("function");
  gc!();
  return refs.filter((m) => m.deref() === undefined).length;
}
/** A WebAssembly.Module that notes a weak reference to each module made. */
function tracking(into: WeakRef<WebAssembly.Module>[]) {
  return function track(bytes: BufferSource) {
    const m = new RealModule(bytes);
    into.push(new WeakRef(m));
    return m;
  };
}
const golden = () => readFileSync(`${dir}golden/alu.txt`, "latin1");

describe("block compiler", () => {
  afterEach(() => { (WebAssembly as { Module: unknown }).Module = RealModule; });

  it("falls back to replaying every block when Wasm compilation is refused", async () => {
    const { output, stop, stats } = await runAlu(COMPILE_EAGERLY, function refuse() {
      throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
    });
    expect(output).toBe(golden());
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(stats.regions).toBe(0);
    expect(stats.error).toContain("disallowed");
  });

  // Compiled modules must be freed once their regions are superseded (a page recompiled with more blocks):
  // V8 keeps an instance alive as long as any table it imports, so the block compiler gives the modules a
  // link table of their own that it replaces, re-instantiating only the modules still in use (block-compiler.ts).
  // Compiling every block after one replay recompiles each page many times; compacting after every module,
  // the guest must print QEMU's output, and the dropped modules must be collected.
  it("lets go of modules whose regions were superseded, and the host collects them", async () => {
    const modules: WeakRef<WebAssembly.Module>[] = [];
    const { pc, output, stop, stats } = await runAlu({ ...COMPILE_EAGERLY, compileCompactBytes: 1 }, tracking(modules));
    expect(output).toBe(golden());
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(stats.modules).toBe(modules.length);
    expect(stats.compactions).toBeGreaterThan(0);
    expect(stats.modulesDropped).toBeGreaterThan(stats.modules / 2);
    // The dropped ones, while the machine and the modules it still runs live on (collected before it is gone).
    expect(await collected(modules)).toBeGreaterThanOrEqual(stats.modulesDropped);
    expect(pc.vm.stats().compiler!.modules).toBe(modules.length);
  });

  it("starts over when the translation cache is flushed: every module let go of, the guest's output the same", async () => {
    const modules: WeakRef<WebAssembly.Module>[] = [];
    // (No compaction: only the flushes let modules go.)
    const { pc, output, stop, stats } = await runAlu({ ...COMPILE_EAGERLY, compileCompactBytes: 2 ** 30 }, tracking(modules), 1_000_000);
    expect(output).toBe(golden());
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(stats.flushes).toBeGreaterThan(2);
    expect(stats.compactions).toBe(0);
    expect(stats.modulesDropped).toBeGreaterThan(0);
    // The dropped ones, while the machine and the modules it still runs live on (collected before it is gone).
    expect(await collected(modules)).toBeGreaterThanOrEqual(stats.modulesDropped);
    expect(pc.vm.stats().compiler!.modules).toBe(modules.length);
  });
});
