// The Wasm engine's block compiler when compiling is refused (a page whose
// Content-Security-Policy forbids Wasm compilation throws from
// WebAssembly.Module): the guest must run on, every block replayed, with the
// same output, and the statistics must say why compiling stopped.
import { describe, it, expect, afterEach } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { COMPILE_EAGERLY, readBytes } from "../helpers.js";

const dir = new URL("../kernels/", import.meta.url).pathname;
const RealModule = WebAssembly.Module;

describe("block compiler", () => {
  afterEach(() => { (WebAssembly as { Module: unknown }).Module = RealModule; });

  it("falls back to replaying every block when Wasm compilation is refused", async () => {
    const bin = `${dir}bin/alu.elf`;
    const golden = readFileSync(`${dir}golden/alu.txt`, "latin1");
    const ramBytes = 32 << 20;
    const engine = await createEngine("wasm", ramBytes, COMPILE_EAGERLY);
    // Only the block modules are refused: the core is instantiated already.
    (WebAssembly as { Module: unknown }).Module = function refuse() {
      throw new WebAssembly.CompileError("Wasm code generation disallowed by embedder");
    };
    const out: number[] = [];
    const pc = new Pc({ engine, ramBytes, onSerial: (b) => out.push(b) });
    pc.loadKernel(readBytes(bin), { path: bin, append: "" });
    const stop = pc.vm.run(2_000_000_000);
    expect(Buffer.from(out).toString("latin1")).toBe(golden);
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });
    const stats = pc.vm.stats().compiler;
    expect(stats?.regions).toBe(0);
    expect(stats?.error).toContain("disallowed");
  });
});
