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
import binaryen from "binaryen";

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

function leb(bytes: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0, b: number;
  do { b = bytes[at++]!; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
  return [v, at];
}
/** A module's sections in order: id, custom name, payload start and end. */
function sections(bytes: Uint8Array): { id: number; name: string; start: number; end: number }[] {
  const out = [];
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at]!;
    const [size, start] = leb(bytes, at + 1);
    let name = "", payload = start;
    if (id === 0) { const [n, s] = leb(bytes, start); name = Buffer.from(bytes.subarray(s, s + n)).toString(); payload = s + n; }
    out.push({ id, name, start: payload, end: start + size });
    at = start + size;
  }
  return out;
}
/** The branch hints section's hints: likely (1) or not (0), in the order given (functions, then offsets, ascending). */
function branchHints(bytes: Uint8Array, s: { start: number; end: number }): number[] {
  const hints: number[] = [];
  let [funcs, at] = leb(bytes, s.start);
  let lastFunc = -1;
  for (; funcs > 0; funcs--) {
    let f: number, n: number, lastOff = -1, off: number, size: number;
    [f, at] = leb(bytes, at);
    expect(f).toBeGreaterThan(lastFunc);
    lastFunc = f;
    for ([n, at] = leb(bytes, at); n > 0; n--) {
      [off, at] = leb(bytes, at);
      expect(off).toBeGreaterThan(lastOff);
      lastOff = off;
      [size, at] = leb(bytes, at);
      expect(size).toBe(1);
      hints.push(bytes[at++]!);
    }
  }
  expect(at).toBe(s.end);
  return hints;
}

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

  // The modules carry branch hints (the Wasm branch-hinting proposal's custom section, which V8 reads behind a
  // flag the Node engine sets) for their slow paths: binaryen, reading the same bytes, must find each hint at an
  // `if` — an offset counted from anywhere else than the function body's start would land elsewhere or nowhere.
  it("puts branch hints before the code section, each at an if: fast paths likely, ways out unlikely", async () => {
    const modules: Uint8Array[] = [];
    const { output } = await runAlu(COMPILE_EAGERLY, function keep(bytes: BufferSource) {
      modules.push(new Uint8Array(bytes as ArrayBuffer).slice());
      return new RealModule(bytes);
    });
    expect(output).toBe(golden());
    expect(modules.length).toBeGreaterThan(10);
    const largest = [...modules].sort((a, b) => b.length - a.length).slice(0, 4);
    for (const bytes of largest) {
      const secs = sections(bytes);
      const at = secs.findIndex((s) => s.name === "metadata.code.branch_hint");
      expect(at).toBeGreaterThan(0);
      expect(secs[at + 1]!.id).toBe(10); // (right before the code section)
      const hints = branchHints(bytes, secs[at]!);
      expect(hints.filter((h) => h === 1).length).toBeGreaterThan(0);
      expect(hints.filter((h) => h === 0).length).toBeGreaterThan(0);
      const m = binaryen.readBinary(bytes);
      const text = m.emitText();
      m.dispose();
      const annotated = [...text.matchAll(/\(@metadata\.code\.branch_hint "\\0([01])"\)\s*\n\s*\((\S+)/g)];
      expect(annotated.map((a) => Number(a[1]))).toEqual(hints);
      expect(new Set(annotated.map((a) => a[2]))).toEqual(new Set(["if"]));
      // The block's budget check, its first if, is the unlikely way out.
      expect(text).toMatch(/\(@metadata\.code\.branch_hint "\\00"\)\s*\n\s*\(if\s*\n\s*\(i32\.lt_s\s*\n\s*\(local\.get \$0\)/);
    }
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
