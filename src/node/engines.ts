/**
 * Node's way to get an engine: the Wasm bytes come from build/core.wasm.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createWasmEngine, createJsEngine, type Engine, type EngineKind, type WasmEngineOptions } from "../engine/engine.js";

let wasmModule: WebAssembly.Module | null = null;

export function coreWasmModule(): WebAssembly.Module {
  if (!wasmModule) {
    const url = new URL("../../build/core.wasm", import.meta.url);
    let bytes: Buffer;
    try { bytes = readFileSync(url); } catch {
      throw new Error(`the Wasm core is not built (${url.pathname} is missing): run "npm run build"`);
    }
    wasmModule = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return wasmModule;
}

/** Create an engine; `wasm` options tune the Wasm engine's block compiler (ignored by the JS engine) and both engines' VMM memory. */
export async function createEngine(kind: EngineKind, ramBytes: number, wasm: WasmEngineOptions = {}): Promise<Engine> {
  if (kind === "wasm") return createWasmEngine(coreWasmModule(), ramBytes, wasm);
  if (kind === "js") return createJsEngine(ramBytes, { vmmBytes: wasm.vmmBytes });
  throw new Error(`unknown engine "${kind as string}" (choose wasm or js)`);
}
