/**
 * Node's way to get an engine: the Wasm bytes come from build/core.wasm.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createWasmEngine, createJsEngine, type Engine, type EngineKind } from "../engine/engine.js";

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

export async function createEngine(kind: EngineKind, ramBytes: number): Promise<Engine> {
  if (kind === "wasm") return createWasmEngine(coreWasmModule(), ramBytes);
  if (kind === "js") return createJsEngine(ramBytes);
  throw new Error(`unknown engine "${kind as string}" (choose wasm or js)`);
}
