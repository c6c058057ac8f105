/**
 * The Wasm engine's half of the region compiler (assembly/jit/compiler.ts):
 * after each run(), the pages whose blocks the translation cache queued are
 * emitted by the core as one Wasm module (a function per page), instantiated
 * here with the core's memory, globals and helpers as imports, and each
 * function placed in the function-table slot the core chose for it, where
 * the cache calls it.
 *
 * @module
 */

/** The core's raw Wasm exports the compiler needs (not the loader's wrapped ones: globals must stay Global objects). */
interface RawCore {
  memory: WebAssembly.Memory;
  table: WebAssembly.Table;
  jitPending(): number;
  jitCacheGeneration(): number;
  jitEmit(): number;
  jitBuffer(): number;
  jitRegionCount(): number;
  jitRegionSlot(region: number): number;
  jitInstall(ok: boolean): void;
  setJitEnabled(on: boolean, threshold: number): void;
  [name: string]: unknown;
}

/** Names of the core exports a compiled module imports (module "c"). */
const IMPORTS = [
  "memory", "table", "jitEip", "jitInstrEip", "jitAborted", "jitExitReason", "jitSmcHit", "jitFlatSegs", "jitFlagsRaw", "jitFlagsLazy", "jitLastOp1", "jitLastOp2", "jitLastResult", "jitLastSize",
  "jitLastSub", "jitMmioReadsAnswered", "jitSs32", "jitStep", "jitReadV", "jitWriteV", "jitProbeWriteV",
  "jitPush", "jitPop", "jitJumpNear", "jitCallNear", "jitRetNear", "jitShiftOp", "jitDivAcc", "jitIn", "jitOut", "jitEndShadow",
] as const;

/**
 * How long a batch smaller than compileBatch waits before it is compiled anyway: 4096 exits
 * (a guest in an exit-heavy loop, ~1-2 ms), or the first budget exit (a guest computing
 * without the VMM for a whole slice: its hot code should not wait).
 */
const SMALL_BATCH_WAIT = 4096;
const BUDGET_EXIT_WAIT = SMALL_BATCH_WAIT;
/** Ordinary exits between two looks at the core's queue. */
const CHECK_EVERY = 64;

export interface BlockCompilerStats {
  /** Modules compiled, regions (page functions) in them, bytes of Wasm, milliseconds spent emitting and compiling. */
  modules: number; regions: number; bytes: number; ms: number;
  /** Why compiling stopped (the first module that failed to compile or instantiate). */
  error?: string;
}

export class BlockCompiler {
  private readonly imports: WebAssembly.ModuleImports = {};
  private generation = 0;
  private waited = 0;
  private exitsUnchecked = 0;
  readonly stats: BlockCompilerStats = { modules: 0, regions: 0, bytes: 0, ms: 0 };

  constructor(private readonly core: RawCore, threshold: number, private readonly batch: number) {
    for (const name of IMPORTS) {
      if (!(name in core)) throw new Error(`the Wasm core does not export ${name}: rebuild it (npm run build)`);
      this.imports[name] = core[name] as WebAssembly.ImportValue;
    }
    if (!Number.isInteger(threshold) || threshold < 1) throw new Error(`compileThreshold must be a positive integer (got ${threshold})`);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`compileBatch must be a positive integer (got ${batch})`);
    core.setJitEnabled(true, threshold);
  }

  /**
   * Compile and install what the cache has queued, in batches: each module
   * costs a compilation, an instantiation and some memory. A smaller batch
   * waits a while (SMALL_BATCH_WAIT), so a hot loop still gets compiled.
   */
  compilePending(budgetExit: boolean): void {
    // Asking the core costs a call: after an ordinary exit (there may be millions), only every
    // CHECK_EVERY-th time — unless every queued block is to be compiled at once (compileBatch 1).
    let weight = budgetExit ? BUDGET_EXIT_WAIT : 1;
    if (!budgetExit && this.batch > 1) {
      if (++this.exitsUnchecked < CHECK_EVERY) return;
      weight = this.exitsUnchecked;
    }
    this.exitsUnchecked = 0;
    const n = this.core.jitPending();
    if (n === 0) { this.waited = 0; return; }
    if (n < this.batch && (this.waited += weight) < SMALL_BATCH_WAIT) return;
    this.waited = 0;
    const t0 = performance.now();
    const table = this.core.table;
    const generation = this.core.jitCacheGeneration();
    if (generation !== this.generation) {
      // The core dropped every compiled region: let their modules go.
      this.generation = generation;
      for (let i = 0; i < table.length; i++) table.set(i, null);
    }
    const length = this.core.jitEmit();
    if (length === 0) { this.core.jitInstall(false); return; }
    // (Compiled straight from core memory: V8 keeps its own copy of the bytes.)
    const bytes = new Uint8Array(this.core.memory.buffer, this.core.jitBuffer(), length);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { c: this.imports });
    } catch (e) {
      // A page whose Content-Security-Policy forbids compiling Wasm, or a module the
      // emitter got wrong: the guest goes on with every block replayed, and the
      // reason stays in the statistics (tests check that regions do get compiled).
      this.stats.error = e instanceof Error ? e.message : String(e);
      this.core.jitInstall(false);
      this.core.setJitEnabled(false, 1);
      return;
    }
    const regions = this.core.jitRegionCount();
    for (let r = 0; r < regions; r++) {
      const slot = this.core.jitRegionSlot(r);
      if (slot >= table.length) table.grow(slot + 1 - table.length);
      table.set(slot, instance.exports[String(r)] as () => number);
    }
    this.core.jitInstall(true);
    this.stats.modules++;
    this.stats.regions += regions;
    this.stats.bytes += length;
    this.stats.ms += performance.now() - t0;
  }
}
