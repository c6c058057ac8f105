/**
 * Node's way to get an engine: the Wasm bytes come from build/core.wasm.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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

let gc: (() => void) | null | undefined;
/**
 * V8's full garbage collection, for the block compiler to run when it has let compiled modules go: their
 * memory (tens of MiB after a Linux boot) is otherwise only freed at V8's next major collection,
 * which a guest that makes little JavaScript garbage puts off indefinitely. V8 offers the function only
 * behind --expose-gc: the flag is on just long enough to take it from a fresh context. Undefined if that fails.
 */
export function hostGarbageCollector(): (() => void) | undefined {
  if (gc === undefined) {
    gc = null;
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === "function") gc = exposed as () => void;
    else {
      try {
        setFlagsFromString("--expose-gc");
        const fn: unknown = runInNewContext("gc");
        if (typeof fn === "function") gc = fn as () => void;
      } catch { /* (left to V8's own schedule) */ } finally { setFlagsFromString("--no-expose-gc"); }
    }
  }
  return gc ?? undefined;
}

let branchHints = false;
/**
 * Let V8 read the branch hints the block compiler puts in its modules (jit/writer.ts): TurboFan then lays the
 * slow paths (TLB misses, faults, exits) out of line and keeps the fast path's values in registers — compiled
 * guest code runs ≈ 10 % faster. Node 20's V8 reads them only behind this flag; without it they are skipped.
 */
function enableBranchHints(): void {
  if (branchHints) return;
  branchHints = true;
  try { setFlagsFromString("--experimental-wasm-branch-hinting"); } catch { /* (hints skipped: same code, slower) */ }
}

/** Create an engine; `wasm` options tune the Wasm engine's block compiler (ignored by the JS engine) and both engines' VMM memory. */
export async function createEngine(kind: EngineKind, ramBytes: number, wasm: WasmEngineOptions = {}): Promise<Engine> {
  if (kind === "wasm") {
    enableBranchHints();
    return createWasmEngine(coreWasmModule(), ramBytes, { collectGarbage: hostGarbageCollector(), ...wasm });
  }
  if (kind === "js") return createJsEngine(ramBytes, { vmmBytes: wasm.vmmBytes });
  throw new Error(`unknown engine "${kind as string}" (choose wasm or js)`);
}
