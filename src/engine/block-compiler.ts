/**
 * The Wasm engine's half of the region compiler (assembly/jit/compiler.ts):
 * after each run(), the pages whose blocks the translation cache queued are
 * emitted by the core as one Wasm module (a function per page), instantiated
 * here with the core's memory, globals and helpers as imports, and each
 * function placed in the function-table slot the core chose for it, where
 * the cache calls it.
 *
 * Compiled modules must be let go of, or a long-running guest's memory grows
 * with every page recompiled: see DEFAULT_COMPACT_BYTES for how they are.
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
  jitSlotLive(slot: number): number;
  setJitEnabled(on: boolean, threshold: number): void;
  [name: string]: unknown;
}

/** Names of the core exports a compiled module imports (module "c"). */
const IMPORTS = [
  "memory", "table", "jitEip", "jitInstrEip", "jitAborted", "jitExitReason", "jitSmcHit", "jitFlatSegs", "jitFlagsRaw", "jitFlagsLazy", "jitLastOp1", "jitLastOp2", "jitLastResult", "jitLastSize",
  "jitLastSub", "jitMmioReadsAnswered", "jitSs32", "jitStep", "jitReadV", "jitWriteV", "jitProbeWriteV",
  "jitPush", "jitPop", "jitJumpNear", "jitCallNear", "jitRetNear", "jitShiftOp", "jitDivAcc", "jitIn", "jitOut", "jitEndShadow", "jitRetiredAt",
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
  /** Times the core's code cache started over (its translation cache was flushed, or its table slots ran out), dropping every module. */
  flushes: number;
  /** Times the modules whose regions were all superseded were let go of (compactions), and the modules dropped by both. */
  compactions: number; modulesDropped: number;
  /** Why compiling stopped (the first module that failed to compile or instantiate). */
  error?: string;
}

/** A compiled module of this link table's generation, and the slot each of its regions went to. */
interface CompiledModule { module: WebAssembly.Module; slots: number[]; bytes: number }

/**
 * Compiled regions tail-call each other (their links) through a table the modules import. It is not the
 * core's table (where the cache calls regions; it holds the same functions): V8 keeps every instance that
 * imports a table alive as long as the table, which lists them to keep their indirect calls in step with
 * it — modules importing the core's table could never be freed. Instead the link table is replaced, and
 * its modules with it: when the core drops every region, and when enough modules have been compiled
 * since the last time (`compactBytes`, and at least as many bytes as the modules kept then) — the
 * modules with a region still in use are then instantiated again with the new table (V8 reuses their
 * compiled code), the others dropped, and the host's garbage collector frees them.
 */
export const DEFAULT_COMPACT_BYTES = 2 << 20;

export class BlockCompiler {
  private readonly imports: WebAssembly.ModuleImports = {};
  private generation = 0;
  private waited = 0;
  private exitsUnchecked = 0;
  private linkTable!: WebAssembly.Table;
  /** This link table's modules, the module whose region each slot last received, and bytes compiled / kept since the table was made. */
  private modules: CompiledModule[] = [];
  private owner: (CompiledModule | undefined)[] = [];
  private bytesSinceCompaction = 0;
  private bytesKept = 0;
  readonly stats: BlockCompilerStats = { modules: 0, regions: 0, bytes: 0, ms: 0, flushes: 0, compactions: 0, modulesDropped: 0 };

  /**
   * `compactBytes`: Wasm bytes compiled between two compactions, at least; `collectGarbage`: the host's
   * collector, run once modules were let go of, so that their memory is freed now.
   */
  constructor(private readonly core: RawCore, threshold: number, private readonly batch: number,
    private readonly compactBytes = DEFAULT_COMPACT_BYTES, private readonly collectGarbage?: () => void) {
    for (const name of IMPORTS) {
      if (!(name in core)) throw new Error(`the Wasm core does not export ${name}: rebuild it (npm run build)`);
      this.imports[name] = core[name] as WebAssembly.ImportValue;
    }
    if (!Number.isInteger(threshold) || threshold < 1) throw new Error(`compileThreshold must be a positive integer (got ${threshold})`);
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`compileBatch must be a positive integer (got ${batch})`);
    if (!Number.isInteger(compactBytes) || compactBytes < 1) throw new Error(`compileCompactBytes must be a positive integer (got ${compactBytes})`);
    core.setJitEnabled(true, threshold);
    this.newLinkTable();
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
    const length = this.core.jitEmit();
    // (After emitting: the core may have dropped every region since the last look — its translation cache
    // was flushed — or in jitEmit itself, its table slots having run out.)
    if (this.core.jitCacheGeneration() !== this.generation) this.startOver();
    if (length === 0) { this.core.jitInstall(false); return; }
    // (Compiled straight from core memory: V8 keeps its own copy of the bytes.)
    const bytes = new Uint8Array(this.core.memory.buffer, this.core.jitBuffer(), length);
    let module: WebAssembly.Module, instance: WebAssembly.Instance;
    try {
      module = new WebAssembly.Module(bytes);
      instance = new WebAssembly.Instance(module, { c: this.imports });
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
    const compiled: CompiledModule = { module, slots: [], bytes: length };
    for (let r = 0; r < regions; r++) {
      const slot = this.core.jitRegionSlot(r);
      compiled.slots.push(slot);
      this.install(slot, compiled, instance.exports[String(r)] as () => number);
    }
    this.core.jitInstall(true);
    this.modules.push(compiled);
    this.stats.modules++;
    this.stats.regions += regions;
    this.stats.bytes += length;
    this.bytesSinceCompaction += length;
    if (this.bytesSinceCompaction >= Math.max(this.compactBytes, this.bytesKept)) this.compact();
    this.stats.ms += performance.now() - t0;
  }

  /** Put region function `entry` of `module` in `slot`, in the core's table and the link table. */
  private install(slot: number, module: CompiledModule, entry: () => number): void {
    for (const table of [this.core.table, this.linkTable]) {
      if (slot >= table.length) table.grow(slot + 1 - table.length);
      table.set(slot, entry);
    }
    this.owner[slot] = module;
  }

  private newLinkTable(): void {
    this.linkTable = new WebAssembly.Table({ element: "anyfunc", initial: this.core.table.length });
    this.imports.table = this.linkTable;
    this.bytesSinceCompaction = 0;
  }

  /** The core dropped every compiled region: let every module go. */
  private startOver(): void {
    this.generation = this.core.jitCacheGeneration();
    const table = this.core.table;
    for (let i = 0; i < table.length; i++) table.set(i, null);
    this.stats.modulesDropped += this.modules.length;
    this.modules = [];
    this.owner = [];
    this.bytesKept = 0;
    this.newLinkTable();
    this.stats.flushes++;
    this.collectGarbage?.();
  }

  /** Keep the modules with a region the cache still runs, with a new link table; let the others go. */
  private compact(): void {
    const owner = this.owner;
    /** Does `slot` still run module m's region (not freed by the core, not given to a later module)? */
    const live = (m: CompiledModule, slot: number): boolean => owner[slot] === m && this.core.jitSlotLive(slot) !== 0;
    const kept = this.modules.filter((m) => m.slots.some((slot) => live(m, slot)));
    this.stats.compactions++;
    this.stats.modulesDropped += this.modules.length - kept.length;
    this.newLinkTable();
    this.owner = [];
    this.bytesKept = 0;
    for (const m of kept) {
      const instance = new WebAssembly.Instance(m.module, { c: this.imports });
      m.slots.forEach((slot, r) => { if (live(m, slot)) this.install(slot, m, instance.exports[String(r)] as () => number); });
      this.bytesKept += m.bytes;
    }
    // Slots the cache no longer runs must not keep a dropped module alive.
    const table = this.core.table;
    for (let slot = 0; slot < table.length; slot++) if (this.owner[slot] === undefined && owner[slot] !== undefined) table.set(slot, null);
    this.modules = kept;
    this.collectGarbage?.();
  }
}
