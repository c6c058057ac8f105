/**
 * The Wasm engine's half of the block compiler (assembly/jit/compiler.ts):
 * after each run(), the blocks the translation cache queued are emitted by
 * the core as one Wasm module, instantiated here with the core's memory,
 * globals and helpers as imports, and their functions placed in the core's
 * function table, where the cache calls them.
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
  jitInstall(firstSlot: number): void;
  setJitEnabled(on: boolean, threshold: number): void;
  [name: string]: unknown;
}

/** Names of the core exports a compiled module imports (module "c"). */
const IMPORTS = [
  "memory", "jitEip", "jitInstrEip", "jitAborted", "jitExitReason", "jitSmcHit", "jitFlatSegs", "jitCplUserMask",
  "jitTlbLookups", "jitFlagsRaw", "jitFlagsLazy", "jitLastOp1", "jitLastOp2", "jitLastResult", "jitLastSize",
  "jitLastSub", "jitMmioReadsAnswered", "jitStep", "jitReadV", "jitWriteV",
  "jitAlu", "jitTestCC", "jitJumpNear", "jitPush", "jitPop", "jitCallNear", "jitRetNear", "jitProbeWriteV", "jitInc",
  "jitDec", "jitShiftOp", "jitImulTrunc", "jitNeg",
] as const;

/** Budget exits a batch smaller than compileBatch waits before it is compiled anyway. */
const BUDGET_EXITS_BEFORE_SMALL_BATCH = 4;

export interface BlockCompilerStats {
  modules: number; blocks: number; bytes: number; ms: number;
  /** Why compiling stopped (the first module that failed to compile or instantiate). */
  error?: string;
}

export class BlockCompiler {
  private readonly imports: WebAssembly.ModuleImports = {};
  /** Table slot 0 stays empty (a null function reference). */
  private nextSlot = 1;
  private generation = -1;
  private budgetExitsWaited = 0;
  readonly stats: BlockCompilerStats = { modules: 0, blocks: 0, bytes: 0, ms: 0 };

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
   * waits until the guest has used up its budget a few times over (it is
   * computing, not waiting for the VMM), so a hot loop still gets compiled.
   */
  compilePending(budgetExit: boolean): void {
    const n = this.core.jitPending();
    if (n === 0) { this.budgetExitsWaited = 0; return; }
    if (n < this.batch && (!budgetExit || ++this.budgetExitsWaited < BUDGET_EXITS_BEFORE_SMALL_BATCH)) return;
    this.budgetExitsWaited = 0;
    const t0 = performance.now();
    const generation = this.core.jitCacheGeneration();
    if (generation !== this.generation) { this.generation = generation; this.nextSlot = 1; }
    const length = this.core.jitEmit();
    if (length === 0) { this.core.jitInstall(-1); return; }
    // (Compiled straight from core memory: V8 keeps its own copy of the bytes.)
    const bytes = new Uint8Array(this.core.memory.buffer, this.core.jitBuffer(), length);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { c: this.imports });
    } catch (e) {
      // A page whose Content-Security-Policy forbids compiling Wasm, or a module the
      // emitter got wrong: the guest goes on with every block replayed, and the
      // reason stays in the statistics (tests check that blocks do get compiled).
      this.stats.error = e instanceof Error ? e.message : String(e);
      this.core.jitInstall(-1);
      this.core.setJitEnabled(false, 1);
      return;
    }
    const table = this.core.table;
    const first = this.nextSlot;
    if (table.length < first + n) table.grow(first + n - table.length);
    for (let i = 0; i < n; i++) table.set(first + i, instance.exports[String(i)] as () => number);
    this.nextSlot += n;
    this.core.jitInstall(first);
    this.stats.modules++;
    this.stats.blocks += n;
    this.stats.bytes += length;
    this.stats.ms += performance.now() - t0;
  }
}
