/**
 * One Engine interface over the two builds of the core: the Wasm module
 * (asc) and the same source compiled to JavaScript (esbuild). Loading is
 * platform-neutral: the caller supplies the Wasm bytes (Node reads a file,
 * a browser fetches).
 *
 * @module
 */
import { instantiate } from "@assemblyscript/loader";
import { ExitCode, type CoreExports } from "./core.js";
import { BlockCompiler, type BlockCompilerStats } from "./block-compiler.js";
import { createCore } from "../../build/core-js.mjs";

export type EngineKind = "wasm" | "js";

export interface Engine {
  readonly kind: EngineKind;
  readonly core: CoreExports;
  /** Guest RAM: the first frames of the host frame pool, identity-mapped at guest-physical 0. */
  readonly ramBytes: number;
  /** The host frame pool: guest RAM plus the frames the VMM allocates for itself. */
  readonly hostBytes: number;
  /** The core's linear memory (guest RAM starts at core.ramBase()). */
  readonly buffer: ArrayBuffer;
  /** The Wasm engine's block compiler, when on: what it has compiled so far. */
  readonly compiler?: BlockCompilerStats;
  /**
   * Who serves the ports marked direct in the core's I/O bitmaps: the core
   * calls it synchronously, in the middle of the instruction (the VM sets it).
   */
  setDirectPortHandler(handler: DirectPortHandler): void;
}

/** Serves direct (non-exiting) port accesses; see assembly/cpu/ops/io.ts. */
export interface DirectPortHandler {
  read(port: number, size: number): number;
  write(port: number, size: number, value: number): void;
}

const NO_DIRECT_PORTS: DirectPortHandler = {
  read(port) { throw new Error(`direct port 0x${port.toString(16)} read with no handler`); },
  write(port) { throw new Error(`direct port 0x${port.toString(16)} written with no handler`); },
};

const WASM_PAGE = 65536;

/** Largest host frame pool (guest RAM + the VMM's frames): the core's addresses are 31-bit and the pool sits above 64 MiB of metadata. */
export const MAX_HOST_BYTES = 2048 * 1024 * 1024 - 64 * 1024 * 1024;
/** Largest guest RAM: the pool keeps at least 1 MiB for the VMM's own frames. */
export const MAX_RAM_BYTES = MAX_HOST_BYTES - 1024 * 1024;

export interface HostMemoryOptions {
  /**
   * Bytes of host frames for the VMM beyond guest RAM (shadow and nested page
   * tables, SymSpy pages, swap caches). Default: 8 MiB + RAM/16, within the
   * pool's limit. Frames nobody touches cost no host memory.
   */
  vmmBytes?: number;
}

/** The VMM's frames a guest of `ramBytes` gets by default: 8 MiB + RAM/16. */
export function defaultVmmBytes(ramBytes: number): number {
  return 8 * 1048576 + Math.floor(ramBytes / 16 / 4096) * 4096;
}

/** The host frame pool's size for a guest: RAM plus the VMM's frames. */
function hostPoolBytes(ramBytes: number, opts: HostMemoryOptions): number {
  if (!Number.isInteger(ramBytes) || ramBytes < 1024 * 1024 || ramBytes > MAX_RAM_BYTES || ramBytes % 4096 !== 0) {
    throw new Error(`guest RAM must be a multiple of 4 KiB between 1 MiB and ${MAX_RAM_BYTES / 1048576} MiB (got ${ramBytes} bytes)`);
  }
  const vmm = opts.vmmBytes ?? Math.min(defaultVmmBytes(ramBytes), MAX_HOST_BYTES - ramBytes);
  if (!Number.isInteger(vmm) || vmm < 0 || vmm % 4096 !== 0 || ramBytes + vmm > MAX_HOST_BYTES) {
    throw new Error(`VMM memory must be a multiple of 4 KiB with RAM + VMM memory at most ${MAX_HOST_BYTES / 1048576} MiB (got ${vmm} bytes)`);
  }
  return ramBytes + vmm;
}

export interface WasmEngineOptions extends HostMemoryOptions {
  /** Compile hot translation-cache blocks to Wasm (default true; see block-compiler.ts). */
  compileBlocks?: boolean;
  /** Replays of a block before it is queued for compilation (default 5000: compiled code costs memory, so only hot blocks). */
  compileThreshold?: number;
  /** Queued blocks that make a module worth compiling at an exit other than the budget's (default 64). */
  compileBatch?: number;
  /**
   * Wasm bytes compiled between two looks for modules whose regions were all superseded, which are then
   * let go of (default 2 MiB; block-compiler.ts DEFAULT_COMPACT_BYTES).
   */
  compileCompactBytes?: number;
  /** The host's garbage collector, run when compiled modules were let go of (Node's createEngine passes V8's). */
  collectGarbage?: () => void;
}

/** Instantiate the Wasm engine for a guest with ramBytes of RAM. */
export async function createWasmEngine(wasm: BufferSource | WebAssembly.Module, ramBytes: number, options: WasmEngineOptions = {}): Promise<Engine> {
  const hostBytes = hostPoolBytes(ramBytes, options);
  let ports = NO_DIRECT_PORTS;
  const mod = await instantiate<Record<string, unknown>>(wasm, {
    env: {
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`core abort at ${line}:${col}`);
      },
    },
    portable: {
      hostPortIn: (port: number, size: number) => ports.read(port, size),
      hostPortOut: (port: number, size: number, value: number) => ports.write(port, size, value),
    },
  });
  // The raw exports, not the loader's wrappers: those pass every call through a rest-parameter
  // closure, which costs more than the call itself on the exit path (the core's API is numbers only).
  const exports = mod.instance.exports as unknown as CoreExports & { memory: WebAssembly.Memory };
  const need = Math.ceil(exports.memoryNeeded(hostBytes) / WASM_PAGE);
  const have = exports.memory.buffer.byteLength / WASM_PAGE;
  if (need > have) exports.memory.grow(need - have);
  exports.initHostMemory(ramBytes, hostBytes);
  exports.reset(ramBytes);
  let core: CoreExports = exports;
  let buffer = exports.memory.buffer;
  let compiler: BlockCompiler | undefined;
  if (options.compileBlocks ?? true) {
    compiler = new BlockCompiler(mod.instance.exports as unknown as ConstructorParameters<typeof BlockCompiler>[0], options.compileThreshold ?? 5000, options.compileBatch ?? 64, options.compileCompactBytes, options.collectGarbage);
    const c = compiler;
    // Queued blocks are compiled between runs, where the VMM is anyway.
    core = { ...exports, run: (budget: number) => { const r = exports.run(budget); c.compilePending(r === ExitCode.Budget); return r; } };
  }
  return {
    kind: "wasm",
    core,
    ramBytes,
    hostBytes,
    compiler: compiler?.stats,
    // memory.buffer is a costly getter; the ArrayBuffer only changes when the memory grows,
    // which detaches the old one (byteLength 0).
    get buffer() { if (buffer.byteLength === 0) buffer = exports.memory.buffer; return buffer; },
    setDirectPortHandler(h) { ports = h; },
  };
}

/** Instantiate the pure-JavaScript engine (no Wasm needed). */
export function createJsEngine(ramBytes: number, options: HostMemoryOptions = {}): Engine {
  const hostBytes = hostPoolBytes(ramBytes, options);
  const core = createCore() as unknown as CoreExports;
  const buffer = new ArrayBuffer(core.memoryNeeded(hostBytes));
  core.jsAttachMemory(buffer);
  core.initHostMemory(ramBytes, hostBytes);
  core.reset(ramBytes);
  let ports = NO_DIRECT_PORTS;
  core.jsAttachDirectPorts((port, size) => ports.read(port, size), (port, size, value) => ports.write(port, size, value));
  return { kind: "js", core, buffer, ramBytes, hostBytes, setDirectPortHandler(h) { ports = h; } };
}
