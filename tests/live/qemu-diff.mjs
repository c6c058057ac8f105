#!/usr/bin/env node
// Live differential fuzz test against QEMU: random instruction streams drawn
// from the decoder's own opcode table (assembly/cpu/opcodes.ts, read through
// the JS engine's core export opcodeFormat) run as ring-3 code in small
// Multiboot kernels under qemu-system-i386 and under both Symbiont engines;
// the register, flag, exception and memory dumps must be identical.
//
//   node tests/live/qemu-diff.mjs [--seed N] [--streams N (500)] [--length N (24)]
//        [--per-kernel N (50)] [--minimize N (8)] [--only I[,J..]] [--show]
//        [--verbose] [--keep DIR] [--all-writable] [--reps N (3)]
//        [--insns HEX,HEX,..[;..] [--regs EAX,ECX,..,EDI[,EFLAGS]]]
//   (or the environment: QEMU_DIFF_SEED, QEMU_DIFF_STREAMS, QEMU_DIFF_LENGTH,
//    QEMU_DIFF_PER_KERNEL, QEMU_DIFF_MINIMIZE; QEMU names the emulator binary)
//
//   --only I,J     run only those streams of the seed (same initial state and code)
//   --show         print each stream's disassembly and all three dumps
//   --minimize N   for the first N mismatching streams, run every prefix of the
//                  stream to name the first instruction after which they differ
//   --keep DIR     keep the generated kernels (.asm, .bin) in DIR
//   --all-writable map all scratch aliases read/write (no data #PF), for triage
//   --insns        run hand-written streams (hex bytes per instruction) instead
//
// Run by .ci/run after `npm test` (needs build/ and dist/, nasm, qemu-system-i386,
// objdump optional). Exit status 0 when every stream matches, 1 on a mismatch,
// 2 when the test could not run. The seed is printed first; a failure prints
// the stream's disassembly, both dumps and the first diverging instruction.
//
// ---- How a stream runs ----------------------------------------------------------
// Each kernel (nasm -f bin, Multiboot a.out kludge, loaded at 1 MiB) sets up
// a GDT, a TSS, an IDT whose 256 DPL-0 interrupt gates all go to one
// recording handler, and paging in which EVERY linear address outside the
// kernel maps (aliased) onto NSCR scratch pages: page directory entries
// 1..1023 and the non-kernel entries of the first table all point at one
// table in which linear page n maps by n mod 8 to a scratch page, user
// read/write (5 in 8), user read-only (2 in 8) or not present (1 in 8). So
// random base/index registers, random ESP, random moffs and string pointers
// are all harmless: they land in scratch memory or fault (#PF, recorded like
// any exception). Kernel pages are supervisor-only, the stream code pages
// user read-only.
//
// For each stream the kernel fills the scratch pages from a per-stream seed
// (xorshift32), loads the stream's GPRs/EFLAGS and IRETs to CPL 3 (CS/DS/ES/
// SS flat, FS and GS with non-zero bases, CR0.EM=1 so MMX/SSE are #UD on
// QEMU too; a quarter of the streams run in a 16-bit code segment and a
// quarter on a 16-bit stack segment). At CPL 3 with IOPL 0 the privileged, I/O, CLI/STI, HLT and INT n
// instructions fault deterministically instead of breaking the harness, so
// they stay in the generator. Every exception enters the handler on the TSS
// stack, which logs (vector, offset in the stream, error code, CR2 for #PF)
// and resumes at the next instruction (a table of instruction boundaries the
// generator emits; traps, vector 1, resume where they were reported). The
// stream ends with UD2 at a known address: the handler then prints one line
//   S<idx> eax ecx edx ebx esp ebp esi edi eflags cs ss ds es fs gs E <n> <events> M <page hashes>
// over COM1 (polled), and the next stream starts. After the last stream the
// kernel writes 0 to isa-debug-exit.
//
// ---- Undefined flags ------------------------------------------------------------
// The generator tracks, per stream, which arithmetic flags are undefined
// (SDM vol. 2 "Flags Affected" of each instruction): an instruction that
// reads a flag (ADC, SBB, RCL/RCR, SETcc, CMOVcc, PUSHF, LAHF, DAA, ...)
// is not generated while that flag is undefined, and the final EFLAGS are
// compared with the still-undefined flags masked out. Whether an instruction
// really executed is known only after the run, so the state is recomputed
// from QEMU's exception log; a stream in which an executed instruction read
// an undefined flag (possible only after an unexpected fault) is reported as
// inconclusive instead of compared. Instructions whose RESULTS are undefined
// are not generated (see veto()).
//
// ---- QEMU's deviations ------------------------------------------------------------
// Where QEMU 7.2 departs from the SDM the generator avoids the case, with the
// reason next to it: EXCLUDE1/EXCLUDE2/groupExcluded()/simdSpace() for
// encodings, "glue" instructions before an instruction where that sidesteps a
// QEMU bug, and qemuImprecise for deviations that show only when the
// instruction faults at run time (a mismatching stream where such an
// instruction took a #PF is counted as skipped, not as a failure).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

// ---- options ------------------------------------------------------------------------

function option(name, env, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  if (env && process.env[env] !== undefined && process.env[env] !== "") return process.env[env];
  return dflt;
}
const SEED = Number(option("seed", "QEMU_DIFF_SEED", String((Date.now() ^ (process.pid << 16)) >>> 0))) >>> 0;
const NSTREAMS = Number(option("streams", "QEMU_DIFF_STREAMS", "500"));
const LENGTH = Number(option("length", "QEMU_DIFF_LENGTH", "24"));
const PER_KERNEL = Number(option("per-kernel", "QEMU_DIFF_PER_KERNEL", "50"));
const MINIMIZE = Number(option("minimize", "QEMU_DIFF_MINIMIZE", "8"));
// Each stream runs REPS times in a row from the same initial registers (memory
// effects carry over, on every system alike) and the last run's dump is
// compared: the first run records the translation cache's blocks, later runs
// replay them, and the Wasm engine compiles them after one replay
// (--compile-threshold 1), so all three execution paths meet QEMU.
const REPS = Number(option("reps", "QEMU_DIFF_REPS", "3"));
const ONLY = option("only", null, "");
const KEEP = option("keep", null, "");
const VERBOSE = process.argv.includes("--verbose");
// --all-writable: map every alias page read/write (no #PF on user data accesses), to triage
const ALL_WRITABLE = process.argv.includes("--all-writable");
const SHOW = process.argv.includes("--show") || option("insns", null, "") !== ""; // print every selected stream with all three dumps
// --insns "d0ce,0f9da8e2fdffff[;...]": run hand-written streams (hex bytes, one instruction per comma,
// streams separated by ';') from the initial state of the generated stream with the same index.
const INSNS = option("insns", null, "");
// --regs eax,ecx,edx,ebx,esp,ebp,esi,edi[,eflags] (hex): override the initial registers of --insns streams
const REGS = option("regs", null, "");
const QEMU = process.env.QEMU ?? "qemu-system-i386";

function die(msg) { process.stderr.write(`qemu-diff: ${msg}\n`); process.exit(2); }

for (const f of ["dist/index.js", "build/core.wasm", "build/core-js.mjs", "bin/symbiont.js"]) {
  if (!existsSync(join(root, f))) die(`${f} is missing: run \`npm run build\` first`);
}
function have(cmd, args) { try { execFileSync(cmd, args, { stdio: "ignore" }); return true; } catch { return false; } }
if (!have("nasm", ["-v"])) die("nasm is not installed (Debian: nasm)");
if (!have(QEMU, ["--version"])) die(`${QEMU} is not installed (Debian: qemu-system-x86)`);
const HAVE_OBJDUMP = have("objdump", ["--version"]);

// ---- the decoder's opcode table, from the core itself ------------------------------------

const { createJsEngine } = await import(join(root, "dist/index.js"));
const { OpcodeFormat: F } = await import(join(root, "dist/engine/core.js"));
const core = createJsEngine(1 << 20).core;
const FMT = [[], []];
for (let op = 0; op < 256; op++) { FMT[0][op] = core.opcodeFormat(op, false); FMT[1][op] = core.opcodeFormat(op, true); }

// ---- PRNG ---------------------------------------------------------------------------

function mix32(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}
class Rng {
  constructor(seed) { this.s = [mix32(seed ^ 0x9e3779b9), mix32(seed + 0x6a09e667), mix32(seed ^ 0xbb67ae85), mix32(seed + 0x3c6ef372) | 1]; }
  u32() { // xoshiro128**
    const s = this.s;
    const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return r;
  }
  int(n) { return this.u32() % n; }
  chance(p) { return this.u32() / 4294967296 < p; }
  pick(a) { return a[this.int(a.length)]; }
  /** An "interesting" 32-bit value: often small, or near a power of two / sign boundary. */
  value() {
    switch (this.int(8)) {
      case 0: return this.int(256);
      case 1: return (0 - this.int(256)) >>> 0;
      case 2: return (1 << this.int(32)) >>> 0;
      case 3: return ((1 << this.int(32)) - 1 + this.int(3) - 1) >>> 0;
      case 4: return this.int(0x10000);
      case 5: return (0x80000000 + this.int(512) - 256) >>> 0;
      default: return this.u32();
    }
  }
}

// ---- flags ------------------------------------------------------------------------------

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const A6 = CF | PF | AF | ZF | SF | OF;
const CC = [OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF];
/** r: flags the result depends on; d: flags left defined; u: flags left undefined (SDM "Flags Affected"). */
const S = (r = 0, d = 0, u = 0) => ({ r, d, u });
const NONE = S();
const LOGIC = S(0, A6 & ~AF, AF); // AND OR XOR TEST: "the state of the AF flag is undefined"
const MULF = S(0, CF | OF, SF | ZF | AF | PF); // MUL/IMUL: SF ZF AF PF undefined
function aluSem(aop) {
  switch (aop) {
    case 0: case 5: case 7: return S(0, A6);       // ADD SUB CMP
    case 2: case 3: return S(CF, A6);             // ADC SBB
    default: return LOGIC;                        // OR AND XOR
  }
}
/** Group 2 (SDM SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR). count: the imm/1 count, or null for CL. */
function shiftSem(reg, bits, count) {
  if (count === null) { // unknown count: a flag is either unchanged or set as for a known count
    switch (reg) {
      case 0: case 1: return S(0, 0, OF);
      case 2: case 3: return S(CF, 0, OF);
      case 7: return S(0, 0, OF | AF);
      default: return S(0, 0, OF | AF | (bits < 32 ? CF : 0)); // CF undefined for SHL/SHR counts >= size
    }
  }
  const c = count & 31;
  if (c === 0) return NONE; // "If the count is 0, the flags are not affected"
  const o1 = c === 1 ? OF : 0, ou = c === 1 ? 0 : OF; // OF defined for 1-bit shifts/rotates only
  switch (reg) {
    case 0: case 1: return S(0, CF | o1, ou);
    case 2: case 3: { const tc = bits === 32 ? c : c % (bits + 1); return S(tc ? CF : 0, (tc ? CF : 0) | o1, ou); }
    case 7: return S(0, CF | SF | ZF | PF | o1, AF | ou);
    default: return S(0, SF | ZF | PF | (c < bits ? CF : 0) | o1, AF | ou | (c >= bits ? CF : 0));
  }
}
/** SHLD/SHRD (SDM): 16-bit counts above 16 leave the RESULT undefined: not generated (null). */
function shiftDoubleSem(bits, count) {
  if (count === null) return bits === 16 ? null : S(0, 0, OF | AF);
  const c = count & 31;
  if (c === 0) return NONE;
  if (bits === 16 && c > 16) return null;
  return S(0, CF | SF | ZF | PF | (c === 1 ? OF : 0), AF | (c === 1 ? 0 : OF));
}
function group3Sem(reg) {
  switch (reg) {
    case 0: case 1: return LOGIC;
    case 2: return NONE;
    case 3: return S(0, A6);
    case 4: case 5: return MULF;
    default: return S(0, 0, A6); // DIV/IDIV: all six undefined
  }
}
function sem1(x) {
  const op = x.op, reg = x.reg, bits = (op & 1) ? x.os * 8 : 8;
  if (op < 0x40 && (op & 7) < 6) return aluSem(op >> 3);
  if (op === 0x27 || op === 0x2f) return S(CF | AF, CF | AF | SF | ZF | PF, OF); // DAA DAS
  if (op === 0x37 || op === 0x3f) return S(AF, CF | AF, OF | SF | ZF | PF);     // AAA AAS
  if (op >= 0x40 && op <= 0x4f) return S(0, A6 & ~CF);                          // INC DEC
  if (op === 0x63) return S(0, ZF);                                              // ARPL
  if (op === 0x69 || op === 0x6b) return MULF;
  if (op >= 0x80 && op <= 0x83) return aluSem(reg);
  if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9) return LOGIC;
  if (op === 0x9c) return S(A6);                                                 // PUSHF
  if (op === 0x9d) return S(0, A6);                                              // POPF
  if (op === 0x9e) return S(0, SF | ZF | AF | PF | CF);                          // SAHF
  if (op === 0x9f) return S(SF | ZF | AF | PF | CF);                             // LAHF
  if (op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf) return x.rep && x.k === 0 ? NONE : S(0, A6);
  if (op === 0xc0 || op === 0xc1) return shiftSem(reg, bits, x.count);
  if (op === 0xd0 || op === 0xd1) return shiftSem(reg, bits, 1);
  if (op === 0xd2 || op === 0xd3) return shiftSem(reg, bits, null);
  if (op === 0xce) return S(OF);                                                 // INTO
  if (op === 0xd4) return x.count === 0 ? NONE : S(0, SF | ZF | PF, OF | AF | CF); // AAM (0: #DE)
  if (op === 0xd5) return S(0, SF | ZF | PF, OF | AF | CF);                      // AAD
  if (op === 0xd6) return S(CF);                                                 // SALC
  if (op === 0xf6 || op === 0xf7) return group3Sem(reg);
  if (op === 0xf8 || op === 0xf9) return S(0, CF);                               // CLC STC
  if (op === 0xfe || op === 0xff) return reg < 2 ? S(0, A6 & ~CF) : NONE;
  return NONE; // CMC flips CF: an undefined CF stays undefined, no constraint needed
}
function sem2(x) {
  const op = x.op, reg = x.reg;
  if (op === 0x00) return reg === 4 || reg === 5 ? S(0, ZF) : NONE;              // VERR VERW
  if (op === 0x02 || op === 0x03) return S(0, ZF);                               // LAR LSL
  if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f)) return S(CC[(op & 15) >> 1]); // CMOVcc SETcc
  if (op === 0xa3 || op === 0xab || op === 0xb3 || op === 0xbb) return S(0, CF, OF | SF | AF | PF);
  if (op === 0xba) return reg >= 4 ? S(0, CF, OF | SF | AF | PF) : NONE;
  if (op === 0xa4 || op === 0xac) return shiftDoubleSem(x.os * 8, x.count);
  if (op === 0xa5 || op === 0xad) return shiftDoubleSem(x.os * 8, null);
  if (op === 0xaf) return MULF;
  if (op === 0xb0 || op === 0xb1 || op === 0xc0 || op === 0xc1) return S(0, A6); // CMPXCHG XADD
  if (op === 0xbc || op === 0xbd) return S(0, ZF, CF | OF | SF | AF | PF);      // BSF BSR
  if (op === 0xc7) return reg === 1 ? S(0, ZF) : NONE;                           // CMPXCHG8B
  return NONE;
}

// ---- generator policy -------------------------------------------------------------------
// Everything the table declares (all one-byte and 0F opcodes except prefixes,
// the 0F escape and whatever it marks as not implemented by the core) is
// generated, minus the following, each for the reason given. The x87 escapes
// run with CR0.EM=1, so they test the #NM path only: the core's x87 computes
// in f64, QEMU's in 80-bit extended precision (tests/kernels/fpu.asm covers it).

const EXCLUDE1 = new Map([
  // Segment-register loads: a null or code selector in DS/ES/FS/GS would make
  // later accesses #GP on an SDM-conforming CPU, but QEMU does not check
  // segments on data accesses (DESIGN.md: limits, read-only, nulled segments).
  [0x07, "POP ES"], [0x17, "POP SS"], [0x1f, "POP DS"], [0x8e, "MOV Sreg"], [0xc4, "LES"], [0xc5, "LDS"],
  // Returns jump to a random address out of the stream.
  [0xc2, "RET imm"], [0xc3, "RET"], [0xca, "RETF imm"], [0xcb, "RETF"], [0xcf, "IRET"],
  // QEMU deviation: INT1/ICEBP is #UD in QEMU 7.2 (its translate.c handles F1
  // only #ifdef WANT_ICEBP); the SDM (vol. 2, "INT n/INTO/INT3/INT1") makes it
  // a #DB trap, which the core delivers.
  [0xf1, "INT1 (QEMU: #UD)"],
]);
const EXCLUDE2 = new Map([
  [0xa1, "POP FS"], [0xa9, "POP GS"], [0xb2, "LSS"], [0xb4, "LFS"], [0xb5, "LGS"], // segment loads (above)
  [0xa2, "CPUID: the CPU models differ"], [0x31, "RDTSC: time"],
  // QEMU deviation: RDPMC is #UD in QEMU 7.2; the SDM says #GP(0) for an invalid counter (the core: no counters).
  [0x33, "RDPMC"],
  // CPU-model dependent encodings: QEMU executes 0F 0D as a NOP Ev and the
  // memory forms of 0F AE /2-/7 (LDMXCSR, STMXCSR, CLFLUSH: SSE and CLFSH are in
  // QEMU's CPUID, not in ours), where the core raises #UD like a CPU without those
  // features (both execute the fences, 0F AE mod=3 /5-/7); FXSAVE's image holds
  // QEMU's SSE state (tests/kernels/fxsr.asm covers FXSAVE/FXRSTOR).
  [0x0d, "PREFETCHW/NOP (0F 0D)"], [0xae, "group 15 (fences, FXSAVE)"],
  // QEMU deviation: QEMU 7.2 runs EMMS whatever CR0.EM and CR0.TS say; the SDM (EMMS)
  // raises #UD and #NM, as the core does (tests/unit/mmx.test.ts). These streams run
  // with CR0.EM = 1, where every other MMX instruction is #UD on both.
  [0x77, "EMMS (QEMU: no #UD with CR0.EM)"],
  // QEMU deviation: QEMU 7.2 runs the conversions between XMM and MMX registers (0F 2A, 2C, 2D:
  // CVTPI2PS, CVTTPS2PI, CVTPS2PI and their 66/F2/F3 forms) with CR0.EM set; the SDM raises #UD,
  // as the core does (tests/unit/sse.test.ts; tests/kernels/sse.asm runs them with EM clear).
  [0x2a, "CVTPI2PS (QEMU: no #UD with CR0.EM)"], [0x2c, "CVTTPS2PI (QEMU: no #UD with CR0.EM)"], [0x2d, "CVTPS2PI (QEMU: no #UD with CR0.EM)"],
  // QEMU deviation: QEMU 7.2 runs MOVNTI (0F C3) with a 66/F2/F3 prefix, which the SDM marks NP
  // (#UD, as in the core: tests/unit/sse2.test.ts; tests/kernels/sse2int.asm runs the plain form).
  [0xc3, "MOVNTI (QEMU: runs its prefixed forms)"],
]);
/** Group members (reg field) that are not generated. */
function groupExcluded(two, op, reg, mod) {
  if (!two && op === 0xff && reg >= 2 && reg <= 5) return true; // CALL/JMP near/far indirect: random targets
  // QEMU deviation: it ignores the reg field of groups 11 and 1A and executes
  // C6/C7 /1-/7 as MOV and 8F /1-/7 as POP; the SDM (vol. 2, Table A-6) defines
  // only /0 (and XABORT/XBEGIN, not on this CPU): the rest are #UD, as in the core.
  if (!two && (op === 0xc6 || op === 0xc7 || op === 0x8f) && reg !== 0) return true;
  // Undocumented encodings the SDM leaves blank in Table A-6, where QEMU and
  // hardware differ: F6/F7 /1 executes as TEST on Intel and AMD CPUs (and in
  // the core), QEMU raises #UD; 0F 18 /0-/3 with a register operand (PREFETCHh
  // takes m8) is a hint NOP on hardware and in the core, QEMU raises #UD.
  if (!two && (op === 0xf6 || op === 0xf7) && reg === 1) return true;
  if (two && op === 0x18 && mod === 3 && reg < 4) return true;
  // QEMU deviation: for the reserved group-8 encodings 0F BA /0-/3 it loads the
  // memory operand (and takes its #PF) before raising #UD; an invalid encoding
  // is #UD at decode, before any operand access, as in the core.
  if (two && op === 0xba && reg < 4 && mod !== 3) return true;
  if (!two && op === 0xff && reg === 7 && mod !== 3) return true; // the same for group 5 /7
  // 0F 01 with mod=3 encodes VMX/SVM/MONITOR/XGETBV/RDTSCP/CLAC... by CPU model; keep SMSW r and LMSW r.
  if (two && op === 0x01 && mod === 3 && reg !== 4 && reg !== 6) return true;
  return false;
}
const isRelBranch = (two, op) => two ? (op >= 0x80 && op <= 0x8f) : ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op === 0xe8 || op === 0xe9 || op === 0xeb);
const isString = (two, op) => !two && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf));
const isIoString = (two, op) => !two && op >= 0x6c && op <= 0x6f;
const isPushSeg = (two, op) => two ? (op === 0xa0 || op === 0xa8) : (op === 0x06 || op === 0x0e || op === 0x16 || op === 0x1e);
/** Opcodes that take LOCK with a memory destination (SDM LOCK: "ADD, ADC, AND, BTC, BTR, BTS, CMPXCHG, CMPXCHG8B, DEC, INC, NEG, NOT, OR, SBB, SUB, XOR, XADD, and XCHG"). */
function lockable(two, op, reg) {
  if (two) return op === 0xab || op === 0xb3 || op === 0xbb || (op === 0xba && reg >= 5) || op === 0xb0 || op === 0xb1 || op === 0xc0 || op === 0xc1 || (op === 0xc7 && reg === 1);
  if (op < 0x40 && (op & 7) < 2 && (op >> 3) !== 7) return true;
  if (op >= 0x80 && op <= 0x83) return reg !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return reg === 2 || reg === 3;
  if (op === 0xfe || op === 0xff) return reg < 2;
  return false;
}
/**
 * Instructions whose result the SDM leaves undefined or implementation-specific
 * (null), or whose encoding this harness cannot run.
 */
function veto(x, mode) {
  // QEMU deviation (DESIGN.md): ENTER with 32-bit operands on a 16-bit stack.
  if (!x.two && x.op === 0xc8 && x.os === 4 && mode.ss16) return true;
  // BSWAP r16: "the result is undefined" (SDM BSWAP).
  if (x.two && x.op >= 0xc8 && x.op <= 0xcf && x.os === 2) return true;
  // SMSW r32: "the high-order 16 bits are undefined" (SDM SMSW).
  if (x.two && x.op === 0x01 && x.reg === 4 && x.mod === 3 && x.os === 4) return true;
  return false;
}

/**
 * 0F opcodes in MMX/SSE space (and RDPMC) the table marks #UD, not generated as invalid
 * opcodes: the kernels run with CR0.EM=1, under
 * which the SDM requires #UD for every MMX/SSE instruction; QEMU deviates
 * and executes some anyway (CVTPI2PD 66 0F 2A, MOVNTI 0F C3, ...), decoding a
 * ModRM out of the next instruction.
 */
function simdSpace(op) {
  return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x7f) ||
    (op >= 0xc2 && op <= 0xc6) || (op >= 0xd0 && op <= 0xfe) || op === 0x38 || op === 0x3a;
}
const CANDIDATES = [[], []];     // valid opcodes of each map
const INVALID2 = [];             // 0F opcodes the table marks #UD
for (const two of [0, 1]) {
  for (let op = 0; op < 256; op++) {
    const f = FMT[two][op];
    if (f & (F.prefix | F.escape | F.escape3 | F.unimplemented | F.unknown)) continue; // (no three-byte opcodes: SSSE3 is #UD under CR0.EM on both)
    if ((two ? EXCLUDE2 : EXCLUDE1).has(op)) continue;
    if (f & F.invalid) { if (!simdSpace(op)) INVALID2.push(op); continue; }
    CANDIDATES[two].push(op);
  }
}

// ---- instruction generation ------------------------------------------------------------

const SEG_PREFIXES = [0x26, 0x36, 0x3e, 0x64, 0x65]; // not 2E: CS is read-only, QEMU would let a write through

function disp32(rng) { return rng.chance(0.5) ? rng.u32() : (rng.int(0x2000) - 0x1000) >>> 0; }
function le(v, n) { const b = []; for (let i = 0; i < n; i++) b.push((v >>> (8 * i)) & 0xff); return b; }

/** One random instruction; null to draw again. */
function genInstruction(rng, mode) {
  let two = rng.chance(0.25) ? 1 : 0;
  let op;
  if (two && rng.chance(0.08)) op = rng.pick(INVALID2);
  else op = rng.pick(CANDIDATES[two]);
  const f = FMT[two][op];
  const dsz = mode.cs16 ? 2 : 4;
  const x = { two, op, reg: 0, mod: 3, os: dsz, as: dsz, rep: 0, k: 0, count: undefined, bytes: [], fix: null, glue: null };

  // ModRM
  let modrm = [];
  if (f & F.modrm) {
    x.reg = rng.int(8);
    const memOnly = (!two && (op === 0x62 || op === 0x8d)) || (two && op === 0xc7);
    x.mod = rng.chance(memOnly ? 0.1 : 0.4) ? 3 : rng.int(3);
    if (groupExcluded(two, op, x.reg, x.mod)) return null;
    if (!two && op === 0x8c && x.reg > 5 && rng.chance(0.7)) x.reg = rng.int(6);
  }
  // Prefixes
  const pre = [];
  // In 32-bit code a 16-bit branch would truncate EIP (the streams live above 64 KiB).
  const noOpsize = !mode.cs16 && (isRelBranch(two, op) || (!two && (op === 0x9a || op === 0xea)));
  if (isPushSeg(two, op)) {
    // PUSH Sreg with a 32-bit operand: "either a zero-extended value is pushed
    // or the selector is written with a 16-bit move" (SDM PUSH): generate the 16-bit form only.
    if (!mode.cs16) pre.push(0x66);
    x.os = 2;
  } else if (!noOpsize && rng.chance(0.3)) { pre.push(0x66); x.os = 6 - dsz; }
  const memOperand = (f & F.modrm) && x.mod !== 3 && !(f & F.regOnly);
  const addressed = memOperand || (f & F.immMask) === F.immMoffs || isString(two, op) || isIoString(two, op) ||
    (!two && (op === 0xd7 || (op >= 0xe0 && op <= 0xe3)));
  if (rng.chance(addressed ? 0.2 : 0.04)) { pre.push(0x67); x.as = 6 - dsz; }
  if (rng.chance(addressed ? 0.3 : 0.05)) pre.push(rng.pick(SEG_PREFIXES));
  if (isString(two, op)) {
    if (rng.chance(0.5)) {
      const cmpScas = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
      // REPNE is defined only for CMPS/SCAS (SDM REP/REPE/REPZ/REPNE/REPNZ).
      x.rep = cmpScas && rng.chance(0.5) ? 0xf2 : 0xf3;
      pre.push(x.rep);
      x.k = rng.int(9);
      x.glue = [...(mode.cs16 ? [0x66] : []), 0xb9, ...le(x.k, 4)]; // MOV ECX, k (both CX and ECX forms then count k)
    }
  } else if (!two && !isIoString(two, op) && rng.chance(0.02)) {
    pre.push(rng.chance(0.5) ? 0xf2 : 0xf3); // ignored (PAUSE, REP RET, BND/XACQUIRE hints)
  }
  if (memOperand && lockable(two, op, x.reg) && rng.chance(0.3)) pre.push(0xf0);
  // shuffle the prefixes (their order does not matter)
  for (let i = pre.length - 1; i > 0; i--) { const j = rng.int(i + 1); [pre[i], pre[j]] = [pre[j], pre[i]]; }

  if (f & F.modrm) {
    const rm = rng.int(8);
    modrm.push((x.mod << 6) | (x.reg << 3) | rm);
    if (x.mod !== 3 && !(f & F.regOnly)) {
      if (x.as === 4) {
        let base = rm;
        if (rm === 4) { const sib = rng.int(256); modrm.push(sib); base = sib & 7; }
        if (x.mod === 1) modrm.push(rng.int(256));
        else if (x.mod === 2 || (x.mod === 0 && base === 5)) modrm.push(...le(disp32(rng), 4));
      } else {
        if (x.mod === 1) modrm.push(rng.int(256));
        else if (x.mod === 2 || (x.mod === 0 && rm === 6)) modrm.push(...le(rng.int(0x10000), 2));
      }
    }
  }
  // Immediates
  let imm = [];
  const ik = f & F.immMask;
  const immZ = () => le(rng.value(), x.os);
  switch (ik) {
    case F.immB: {
      let v = rng.int(256);
      if (isRelBranch(two, op)) v = 0; // rel 0: the branch goes to the next instruction either way
      else if (!two && (op === 0xc0 || op === 0xc1)) v = rng.chance(0.8) ? rng.int(34) : v;
      else if (two && (op === 0xa4 || op === 0xac)) v = rng.chance(0.8) ? rng.int(x.os === 2 ? 17 : 32) : v;
      else if (!two && (op === 0xd4 || op === 0xd5)) v = rng.chance(0.5) ? 10 : rng.chance(0.1) ? 0 : v;
      x.count = v;
      imm = [v];
      break;
    }
    case F.immW: imm = le(rng.int(0x10000), 2); break;
    case F.immZ: imm = isRelBranch(two, op) ? le(0, x.os) : immZ(); break;
    case F.immPtr: // JMP/CALL far: mostly to the next instruction through the stream's code segment
      imm = [...le(0, x.os), ...le(rng.chance(0.8) ? (mode.cs16 ? 0x40 : 0x18) | rng.int(4) : rng.int(0x10000), 2)];
      x.fix = { at: "ptr" };
      break;
    case F.immMoffs: imm = le(x.as === 4 ? disp32(rng) : rng.int(0x10000), x.as); break;
    case F.immWB: imm = [...le(rng.chance(0.7) ? rng.int(64) : rng.int(0x10000), 2), rng.chance(0.7) ? rng.int(4) : rng.int(256)]; break;
    case F.immTestB: imm = x.reg < 2 ? [rng.int(256)] : []; break;
    case F.immTestZ: imm = x.reg < 2 ? immZ() : []; break;
    default: break;
  }
  if (veto(x, mode)) return null;
  // QEMU 7.2 bug: its CMPXCHG8B helper computes the unchanged flags from a stale
  // env->cc_op (no gen_update_cc_op before the call; QEMU 8.0 inlined the
  // instruction), so CF/PF/AF/SF/OF — and even IOPL/NT bits, through the
  // EFLAGS image of the next exception — come out as junk. A JMP +0 before it
  // ends QEMU's translation block, which stores cc_op.
  if (two && op === 0xc7 && x.reg === 1 && x.mod !== 3) x.glue = [0xeb, 0x00];
  // Known QEMU deviations that show only when the instruction faults (which
  // depends on run-time addresses): a mismatching stream in which QEMU or the
  // engine reports a #PF on such an instruction is counted as skipped.
  //  - POPA loads the registers one by one, so a #PF part way leaves some of
  //    them loaded; faults are precise in the SDM (vol. 3, 6.5), as in the core.
  //  - PUSHA stores from the lowest address up (EDI first), so CR2 names another
  //    address than the SDM's order (Push(EAX) first, as in the core).
  //  - far CALL pushes CS:EIP with a supervisor access in QEMU's helper (CR0.WP=0
  //    lets it write a read-only user page); the SDM makes them CPL-3 accesses.
  //  - ENTER: "#PF if a write using the final value of the stack pointer would
  //    cause a page fault" (SDM ENTER); QEMU does not probe it.
  //  - CMPS reads ES:EDI before DS:ESI in QEMU (the core, like Bochs, reads
  //    DS:ESI first): when both fault, CR2 differs. The SDM gives no order.
  //  - RCL/RCR m: QEMU's helper updates CF/OF before the store, so a write fault
  //    leaves them changed (faults are precise in the SDM, vol. 3, 6.5).
  //  - ARPL m16 with the RPL already high enough: the SDM's ARPL writes nothing
  //    then (and test386.asm checks real hardware does not); QEMU always stores,
  //    so it faults on a read-only page where the core, following the SDM, does not.
  if (!two && op === 0x63 && x.mod !== 3) x.qemuImprecise = "ARPL m16 that does not change the RPL on a read-only page (QEMU always writes)";
  if (!two && op === 0xc8) x.qemuImprecise = "ENTER with an unwritable final stack pointer";
  if (!two && (op === 0xa6 || op === 0xa7)) x.qemuImprecise = "CMPS with both operands faulting (read order)";
  if (!two && op === 0x61) x.qemuImprecise = "POPA that faults part way";
  if (!two && op === 0x60) x.qemuImprecise = "PUSHA that faults (store order)";
  if (!two && op === 0x9a) x.qemuImprecise = "far CALL whose stack push faults (QEMU pushes as supervisor)";
  if (!two && (op === 0xc0 || op === 0xc1 || (op >= 0xd0 && op <= 0xd3)) && (x.reg === 2 || x.reg === 3) && x.mod !== 3)
    x.qemuImprecise = "RCL/RCR m whose write faults (QEMU updates CF/OF first)";
  // QEMU 7.2 bug: SETcc m8 materialises EFLAGS (gen_compute_eflags: CC_SRC :=
  // flags, CC_DST discarded) before its store; when the store faults, cc_op is
  // restored to the value before the instruction but its operands are gone, so
  // EFLAGS come out as junk (seen: ZF lost after AND; after ROL/ROR even RF, VIP
  // and IF set through the exception's EFLAGS image). CMC; CMC before it leaves
  // the flags as they were but already materialised, so QEMU has nothing to lose.
  if (two && op >= 0x90 && op <= 0x9f && x.mod !== 3) x.glue = [0xf5, 0xf5];
  x.sem = two ? sem2(x) : sem1(x);
  if (x.sem === null) return null;
  x.bytes = [...pre, ...(two ? [0x0f] : []), op, ...modrm, ...imm];
  if (x.bytes.length > 15) return null;
  x.immAt = x.bytes.length - imm.length;
  return x;
}

/** A stream: initial state and instructions (glue instructions — MOV ECX before REP, JMP +0, CMC; CMC — count too). */
function genStream(index) {
  const rng = new Rng(mix32(SEED ^ mix32(index + 1)));
  const regs = [];
  for (let i = 0; i < 8; i++) regs.push(rng.value());
  // EFLAGS: random arithmetic flags and DF; sometimes AC, ID, NT, TF. IF=0, IOPL=0.
  let eflags = 2 | (rng.u32() & (A6 | 0x400));
  if (rng.chance(0.2)) eflags |= 0x40000;  // AC (CR0.AM=0: no alignment checks)
  if (rng.chance(0.2)) eflags |= 0x200000; // ID
  if (rng.chance(0.05)) eflags |= 0x4000;  // NT
  if (rng.chance(0.05)) eflags |= 0x100;   // TF: single-step traps, logged
  // A quarter of the streams run in a 16-bit code segment, a quarter on a 16-bit stack (B=0).
  const mode = { cs16: rng.chance(0.25), ss16: rng.chance(0.25) };
  const insns = [];
  let undef = 0;
  while (insns.length < LENGTH) {
    const x = genInstruction(rng, mode);
    if (!x) continue;
    if (x.sem.r & undef) continue; // would read an undefined flag
    undef = (undef & ~x.sem.d) | x.sem.u;
    if (x.glue) insns.push({ bytes: x.glue, sem: NONE, glue: true, qemuImprecise: null });
    insns.push(x);
  }
  return { index, regs, eflags, seed: rng.u32() | 1, insns, mode };
}

// ---- kernels -------------------------------------------------------------------------------

const KBASE = 0x100000, USER_CODE = 0x110000, BSS = 0x180000, NSCR = 4, MAXEV = 48, REC = 64;
const FS_BASE = 0x00345678, GS_BASE = 0xfffff000;
/** A segment descriptor with limit 0xfffff: access byte, flags nibble (8 = G, 4 = D/B). */
function desc(base, access, flags) {
  const lo = (((base & 0xffff) << 16) | 0xffff) >>> 0;
  const hi = ((base & 0xff000000) | (flags << 20) | 0x000f0000 | (access << 8) | ((base >>> 16) & 0xff)) >>> 0;
  return `dd 0x${lo.toString(16)}, 0x${hi.toString(16)}`;
}
const hex = (v, w = 8) => (v >>> 0).toString(16).padStart(w, "0");

/** Lay streams out at USER_CODE; returns asm text plus per-stream offsets. */
function buildKernel(streams) {
  let addr = USER_CODE;
  const resume = new Map(); // absolute start -> next
  const code = [];
  const layout = [];
  for (const s of streams) {
    const start = addr;
    const offs = [];
    for (const x of s.insns) {
      const at = addr;
      const next = at + x.bytes.length;
      const b = x.bytes.slice();
      if (x.fix) { const v = le(next - (s.mode.cs16 ? USER_CODE : 0), x.os); for (let i = 0; i < x.os; i++) b[x.immAt + i] = v[i]; }
      resume.set(at, next);
      offs.push(at - start);
      code.push(...b);
      addr = next;
    }
    const term = addr;
    code.push(0x0f, 0x0b); // UD2: end of stream
    addr += 2;
    layout.push({ start, term, offs, cs16: s.mode.cs16, bytes: code.slice(start - USER_CODE, term - USER_CODE) });
  }
  const userEnd = addr;
  const userSize = userEnd - USER_CODE;
  const dataAt = (userEnd + 0xfff) & ~0xfff;
  const tab = new Array(userSize).fill(0);
  for (const [a, n] of resume) tab[a - USER_CODE] = n;
  const lines = [];
  const emit = (dir, arr, per) => { for (let i = 0; i < arr.length; i += per) lines.push(`    ${dir} ${arr.slice(i, i + per).map((v) => "0x" + (v >>> 0).toString(16)).join(",")}`); };
  lines.push(`USER_CODE_END equ 0x${hex(userEnd)}`, `USER_CODE_SIZE equ ${userSize}`, `NSTREAMS equ ${streams.length}`, `REPS equ ${REPS}`,
    `%define ALL_WRITABLE ${ALL_WRITABLE ? 1 : 0}`);
  lines.push(KERNEL_ASM);
  lines.push(`    times USER_CODE - KBASE - ($ - $$) db 0`, `user_code:`);
  emit("db", code, 32);
  lines.push(`    times 0x${hex(dataAt)} - KBASE - ($ - $$) db 0`, `resume_tab:`);
  emit("dd", tab, 16);
  lines.push(`records:`);
  for (let i = 0; i < streams.length; i++) {
    const s = streams[i], l = layout[i];
    emit("dd", [...s.regs, s.eflags, s.seed, l.start, l.term, s.index, s.mode.cs16 ? 0x43 : 0x1b, s.mode.ss16 ? 0x4b : 0x23, s.mode.cs16 ? USER_CODE : 0], 16);
  }
  lines.push(`load_end:`);
  return { asm: lines.join("\n") + "\n", layout };
}

const KERNEL_ASM = String.raw`
bits 32
cpu 686
org 0x100000
KBASE      equ 0x${hex(KBASE)}
USER_CODE  equ 0x${hex(USER_CODE)}
BSS        equ 0x${hex(BSS)}
PD         equ BSS
T0         equ BSS + 0x1000
T1         equ BSS + 0x2000
TSS        equ BSS + 0x3000
IDT        equ BSS + 0x3800
SCRATCH    equ BSS + 0x4000
NSCR       equ ${NSCR}
TRAP_STACK equ BSS + 0xc000
MAIN_STACK equ BSS + 0x10000
BSS_END    equ BSS + 0x10000
MAXEV      equ ${MAXEV}
REC        equ ${REC}
SEL_KCODE  equ 0x08
SEL_KDATA  equ 0x10
SEL_UCODE  equ 0x1b
SEL_UDATA  equ 0x23
SEL_TSS    equ 0x28
SEL_UFS    equ 0x33
SEL_UGS    equ 0x3b
; handler frame (ebp), after pushad and push ds/es/fs/gs
F_GS equ 0
F_FS equ 4
F_ES equ 8
F_DS equ 12
F_EDI equ 16
F_ESI equ 20
F_EBP equ 24
F_EBX equ 32
F_EDX equ 36
F_ECX equ 40
F_EAX equ 44
F_VEC equ 48
F_ERR equ 52
F_EIP equ 56
F_CS equ 60
F_EFL equ 64
F_UESP equ 68
F_USS equ 72

mb:
    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
    dd mb, KBASE, load_end, BSS_END, start

start:
    cli
    cld
    lgdt [gdt_desc]
    jmp SEL_KCODE:.cs
.cs:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, MAIN_STACK
    mov al, 0xff
    out 0x21, al
    out 0xa1, al
    mov edi, BSS
    mov ecx, (BSS_END - BSS) / 4
    xor eax, eax
    rep stosd
    ; IDT: 256 DPL-0 interrupt gates
    xor ecx, ecx
.idt:
    mov eax, [isr_table + ecx * 4]
    mov [IDT + ecx * 8], ax
    mov word [IDT + ecx * 8 + 2], SEL_KCODE
    mov word [IDT + ecx * 8 + 4], 0x8e00
    shr eax, 16
    mov [IDT + ecx * 8 + 6], ax
    inc ecx
    cmp ecx, 256
    jb .idt
    lidt [idt_desc]
    ; TSS: ring-0 stack; I/O bitmap beyond the limit (every port denied at CPL 3)
    mov dword [TSS + 4], TRAP_STACK
    mov dword [TSS + 8], SEL_KDATA
    mov word [TSS + 102], 104
    mov ax, SEL_TSS
    ltr ax
    xor eax, eax                ; LDTR is undefined after a Multiboot boot: make it null
    lldt ax
    ; paging: everything outside the kernel aliases the scratch pages
    mov edi, PD
    mov eax, T0 + 7
    stosd
    mov eax, T1 + 7
    mov ecx, 1023
    rep stosd
    mov edi, T1
    xor ecx, ecx
.t1:
    mov eax, ecx
    and eax, 7
    mov eax, [alias_pte + eax * 4]
    stosd
    inc ecx
    cmp ecx, 1024
    jb .t1
    mov edi, T0
    xor ecx, ecx
.t0:
    mov eax, ecx
    shl eax, 12
    cmp eax, KBASE
    jb .alias
    cmp eax, BSS_END
    jae .alias
    cmp eax, USER_CODE
    jb .sup
    cmp eax, USER_CODE_END
    jae .sup
    or eax, 5                   ; stream code: user, read-only
    jmp .put
.sup:
    or eax, 3                   ; kernel: supervisor, writable
    jmp .put
.alias:
    mov eax, ecx
    and eax, 7
    mov eax, [alias_pte + eax * 4]
.put:
    stosd
    inc ecx
    cmp ecx, 1024
    jb .t0
    mov eax, PD
    mov cr3, eax
    mov eax, 0x80000015         ; PG | ET | EM | PE
    mov cr0, eax
    jmp .paged
.paged:
    mov dword [cur_idx], 0
.next:
    mov eax, [cur_idx]
    cmp eax, NSTREAMS
    jae .done
    imul esi, eax, REC
    add esi, records
    mov dword [cur_rep], 0
.rep:
    call run_stream
    inc dword [cur_rep]
    cmp dword [cur_rep], REPS
    jb .rep
    inc dword [cur_idx]
    jmp .next
.done:
    mov esi, msg_done
    call puts
    mov al, 0
    out 0xf4, al
.hang:
    hlt
    jmp .hang

; esi = stream record: eax ecx edx ebx esp ebp esi edi eflags seed start term index
run_stream:
    pushad
    mov [k_esp], esp
    mov eax, [esi + 40]
    mov [cur_start], eax
    mov eax, [esi + 44]
    mov [cur_term], eax
    mov eax, [esi + 48]
    mov [cur_index], eax
    mov dword [nevents], 0
    mov eax, [esi + 36]
    mov edi, SCRATCH
    mov ecx, NSCR * 1024
.fill:
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    stosd
    dec ecx
    jnz .fill
    mov eax, cr3
    mov cr3, eax
    push dword [esi + 56]       ; SS
    push dword [esi + 16]
    push dword [esi + 32]
    push dword [esi + 52]       ; CS
    mov eax, [esi + 40]
    sub eax, [esi + 60]         ; EIP = start - CS base
    push eax
    mov ax, SEL_UDATA
    mov ds, ax
    mov es, ax
    mov ax, SEL_UFS
    mov fs, ax
    mov ax, SEL_UGS
    mov gs, ax
    mov eax, [esi + 0]
    mov ecx, [esi + 4]
    mov edx, [esi + 8]
    mov ebx, [esi + 12]
    mov ebp, [esi + 20]
    mov edi, [esi + 28]
    mov esi, [esi + 24]
    iret

; ---- exceptions ----------------------------------------------------------------
%macro ISR 1
isr_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17)
    push strict dword %1
%else
    push strict dword 0
    push strict dword %1
%endif
    jmp isr_common
%endmacro
%assign v 0
%rep 256
    ISR v
%assign v v + 1
%endrep

isr_common:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    cld
    mov ebp, esp
    test byte [ebp + F_CS], 3
    jz kernel_fault
    call frame_lin
    mov [lin_eip], ebx
    mov eax, [ebp + F_VEC]
    cmp eax, 6
    jne .event
    cmp ebx, [cur_term]
    je stream_end
.event:
    mov ecx, [nevents]
    inc dword [nevents]
    cmp ecx, MAXEV
    jae .resume
    shl ecx, 4
    mov [events + ecx], eax
    mov ebx, [lin_eip]
    sub ebx, [cur_start]
    mov [events + ecx + 4], ebx
    mov ebx, [ebp + F_ERR]
    mov [events + ecx + 8], ebx
    xor ebx, ebx
    cmp eax, 14
    jne .nocr2
    mov ebx, cr2
.nocr2:
    mov [events + ecx + 12], ebx
.resume:
    cmp eax, 1                  ; #DB traps (single step, INT1) report the next instruction
    je .out
    mov ebx, [lin_eip]
    sub ebx, USER_CODE
    cmp ebx, USER_CODE_SIZE
    jae bad_resume
    mov ebx, [resume_tab + ebx * 4]
    test ebx, ebx
    jz bad_resume
    sub ebx, [lin_eip]
    add [ebp + F_EIP], ebx      ; same segment: advance by the instruction's length
.out:
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8
    iret

bad_resume:
    call put_stream_tag
    mov esi, msg_bad
    call puts
    mov eax, [ebp + F_VEC]
    call hex8
    call space
    mov eax, [lin_eip]
    sub eax, [cur_start]
    call hex8
    call newline
    mov esp, [k_esp]
    popad
    ret

kernel_fault:
    mov esi, msg_kfault
    call puts
    mov eax, [ebp + F_VEC]
    call hex8
    call space
    mov eax, [ebp + F_EIP]
    call hex8
    call space
    mov eax, [ebp + F_ERR]
    call hex8
    call newline
    mov al, 0x3f
    out 0xf4, al
    hlt

; ebx = linear address of the frame's CS:EIP (the 16-bit user code segment has base USER_CODE)
frame_lin:
    mov ebx, [ebp + F_CS]
    and ebx, 0xfff8
    cmp ebx, 0x40
    mov ebx, [ebp + F_EIP]
    jne .flat
    add ebx, USER_CODE
.flat:
    ret

put_stream_tag:
    mov al, 'S'
    call putc
    mov eax, [cur_index]
    call hex8
    ret

stream_end:
    call put_stream_tag
    mov esi, dump_order
.reg:
    mov ebx, [esi]
    cmp ebx, -1
    je .regs_done
    call space
    mov eax, [ebp + ebx]
    call hex8
    add esi, 4
    jmp .reg
.regs_done:
    mov esi, msg_e
    call puts
    mov eax, [nevents]
    call hex8
    mov ecx, [nevents]
    cmp ecx, MAXEV
    jbe .nev
    mov ecx, MAXEV
.nev:
    xor ebx, ebx
.ev:
    cmp ebx, ecx
    jae .ev_done
    call space
    mov eax, ebx
    shl eax, 4
    lea edi, [events + eax]
    mov eax, [edi]
    call hex2
    mov al, '@'
    call putc
    mov eax, [edi + 4]
    call hex8
    mov al, ':'
    call putc
    mov eax, [edi + 8]
    call hex8
    mov al, ':'
    call putc
    mov eax, [edi + 12]
    call hex8
    inc ebx
    jmp .ev
.ev_done:
    mov esi, msg_m
    call puts
    mov esi, SCRATCH
    mov ecx, NSCR
.page:
    call space
    xor edx, edx
    mov edi, 1024
.dw:
    rol edx, 5
    xor edx, [esi]
    imul edx, edx, 0x9e3779b1
    add esi, 4
    dec edi
    jnz .dw
    mov eax, edx
    call hex8
    dec ecx
    jnz .page
    call newline
    mov esp, [k_esp]
    popad
    ret

; ---- serial ---------------------------------------------------------------------
putc:
    push edx
    push eax
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, 0x3f8
    out dx, al
    pop edx
    ret
puts:
    push eax
.l:
    mov al, [esi]
    test al, al
    jz .d
    call putc
    inc esi
    jmp .l
.d:
    pop eax
    ret
space:
    push eax
    mov al, ' '
    call putc
    pop eax
    ret
newline:
    push eax
    mov al, 10
    call putc
    pop eax
    ret
hex8:
    push ecx
    mov ecx, 8
    jmp hexn
hex2:
    push ecx
    mov ecx, 2
    rol eax, 24
hexn:
    push eax
    push edx
    mov edx, eax
.dig:
    rol edx, 4
    mov eax, edx
    and eax, 15
    mov al, [hexdigits + eax]
    call putc
    dec ecx
    jnz .dig
    pop edx
    pop eax
    pop ecx
    ret

; ---- data ---------------------------------------------------------------------------
align 4
isr_table:
%assign v 0
%rep 256
    dd isr_ %+ v
%assign v v + 1
%endrep
; linear page n (outside the kernel) maps by n mod 8: user read/write, read-only or not present
alias_pte: dd SCRATCH + 0x0007, SCRATCH + 0x1007, SCRATCH + 0x2007, SCRATCH + 0x3007
%if ALL_WRITABLE
           dd SCRATCH + 0x0007, SCRATCH + 0x1007, SCRATCH + 0x2007, SCRATCH + 0x3007
%else
           dd SCRATCH + 0x0005, 0, SCRATCH + 0x2007, SCRATCH + 0x3005
%endif
dump_order: dd F_EAX, F_ECX, F_EDX, F_EBX, F_UESP, F_EBP, F_ESI, F_EDI, F_EFL, F_CS, F_USS, F_DS, F_ES, F_FS, F_GS, -1
hexdigits: db '0123456789abcdef'
msg_done: db 'DONE', 10, 0
msg_bad: db ' BADRESUME ', 0
msg_kfault: db 'KFAULT ', 0
msg_e: db ' E ', 0
msg_m: db ' M', 0
align 8
; Descriptors start with their accessed bit set: the SDM (vol. 3, 3.4.5.1)
; sets it on every segment-register load, QEMU not on IRET/far returns, which
; LAR/LSL/VERR would otherwise show.
gdt:
    dq 0
    dq 0x00cf9b000000ffff       ; 08 kernel code
    dq 0x00cf93000000ffff       ; 10 kernel data
    dq 0x00cffb000000ffff       ; 18 user code
    dq 0x00cff3000000ffff       ; 20 user data
    dw 103, TSS & 0xffff        ; 28 TSS
    db (TSS >> 16) & 0xff, 0x89, 0, TSS >> 24
    ${desc(FS_BASE, 0xf3, 0xc)}       ; 30 user FS
    ${desc(GS_BASE, 0xf3, 0xc)}       ; 38 user GS
    ${desc(USER_CODE, 0xfb, 0x8)}       ; 40 user code, 16-bit
    ${desc(0, 0xf3, 0x8)}       ; 48 user stack, 16-bit (B=0), 4 GiB
gdt_end:
align 4
    dw 0
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
    dw 0
idt_desc:
    dw 256 * 8 - 1
    dd IDT
align 4
k_esp: dd 0
cur_idx: dd 0
cur_rep: dd 0
cur_index: dd 0
cur_start: dd 0
cur_term: dd 0
lin_eip: dd 0
nevents: dd 0
events: times MAXEV * 4 dd 0
`;

// ---- running ----------------------------------------------------------------------------------

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out = [], err = [];
    p.stdout.on("data", (d) => out.push(d));
    p.stderr.on("data", (d) => err.push(d));
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("latin1"), stderr: Buffer.concat(err).toString("latin1") });
    });
  });
}
let running = 0;
const waiting = [];
const PARALLEL = Math.max(1, cpus().length);
async function limited(fn) {
  if (running >= PARALLEL) await new Promise((r) => waiting.push(r));
  running++;
  try { return await fn(); } finally { running--; waiting.shift()?.(); }
}

const work = mkdtempSync(join(tmpdir(), "qemu-diff-"));
if (KEEP) mkdirSync(KEEP, { recursive: true });
let kernelNo = 0;

const RUNNERS = {
  // (+popcnt: the core offers POPCNT, F3 0F B8, which qemu32 lacks; the generator draws it)
  qemu: (bin) => [QEMU, ["-cpu", "qemu32,+popcnt", "-nodefaults", "-display", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", bin]],
  wasm: (bin) => [process.execPath, [join(root, "bin/symbiont.js"), "run", bin, "--engine", "wasm", "--compile-threshold", "1", "--timeout", "600"]],
  js: (bin) => [process.execPath, [join(root, "bin/symbiont.js"), "run", bin, "--engine", "js", "--timeout", "600"]],
};

/** Build and run one kernel on QEMU and both engines; returns per-stream parsed dumps. */
async function runKernel(streams) {
  const n = kernelNo++;
  const { asm, layout } = buildKernel(streams);
  const dir = KEEP || work;
  const src = join(dir, `k${n}.asm`), bin = join(dir, `k${n}.bin`);
  writeFileSync(src, asm);
  const as = await run("nasm", ["-f", "bin", "-o", bin, src], 120000);
  if (as.code !== 0) die(`nasm failed on ${src}:\n${as.stderr}`);
  if (statSync(bin).size > BSS - KBASE) die(`${bin} is too large (${statSync(bin).size} bytes): use fewer streams per kernel`);
  const outs = {};
  await Promise.all(Object.entries(RUNNERS).map(([name, mk]) => limited(async () => {
    const [cmd, args] = mk(bin);
    const r = await run(cmd, args, 700000);
    outs[name] = r;
  })));
  return { layout, outs, bin };
}

// ---- comparing --------------------------------------------------------------------------------

const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eflags", "cs", "ss", "ds", "es", "fs", "gs"];
function parse(stdout) {
  const m = new Map();
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("S")) continue;
    const idx = parseInt(line.slice(1, 9), 16);
    const t = line.slice(9).trim().split(/\s+/);
    if (t[0] === "BADRESUME") { m.set(idx, { line, bad: true }); continue; }
    const regs = t.slice(0, 15).map((v) => parseInt(v, 16) >>> 0);
    const ei = t.indexOf("E"), mi = t.indexOf("M");
    const nev = parseInt(t[ei + 1], 16);
    const events = t.slice(ei + 2, mi).map((e) => {
      const [vec, rest] = e.split("@");
      const [off, err, cr2] = rest.split(":").map((v) => parseInt(v, 16) >>> 0);
      return { vec: parseInt(vec, 16), off, err, cr2 };
    });
    m.set(idx, { line, regs, nev, events, mem: t.slice(mi + 1) });
  }
  return m;
}

/** Undefined-flag state at the end, given which instructions QEMU reported as faulting. */
function finalUndefined(stream, offs, events) {
  const faulted = new Set(events.filter((e) => e.vec !== 1).map((e) => e.off));
  let undef = 0, tainted = null;
  stream.insns.forEach((x, i) => {
    if (faulted.has(offs[i])) return;
    if ((x.sem.r & undef) && tainted === null) tainted = i;
    undef = (undef & ~x.sem.d) | x.sem.u;
  });
  return { undef, tainted };
}

function describe(d, mask) {
  if (!d) return "(no output for this stream)";
  if (d.bad) return d.line;
  const r = d.regs.map((v, i) => `${REG_NAMES[i]}=${hex(i === 8 ? v & mask : v)}`).join(" ");
  const ev = d.events.map((e) => `#${e.vec.toString(16)}@+${e.off.toString(16)}/${hex(e.err)}${e.vec === 14 ? ` cr2=${hex(e.cr2)}` : ""}`).join(" ");
  return `${r}\n      events(${d.nev}): ${ev || "-"}\n      memory: ${d.mem.join(" ")}`;
}

function compare(stream, lay, ref, got) {
  if (!ref) return { status: "noref" };
  if (ref.bad) return { status: "noref" };
  const c = compareDumps(stream, lay, ref, got);
  if (c.status !== "mismatch") return c;
  // A mismatch in a stream where an instruction with a known QEMU deviation took a #PF is not counted.
  const faulted = new Set([...ref.events, ...(got && !got.bad ? got.events : [])].filter((e) => e.vec === 14).map((e) => e.off));
  const imprecise = stream.insns.findIndex((x, i) => x.qemuImprecise && faulted.has(lay.offs[i]));
  if (imprecise >= 0) return { status: "deviation", why: `QEMU deviation: ${stream.insns[imprecise].qemuImprecise} (instruction ${imprecise})` };
  return c;
}

function compareDumps(stream, lay, ref, got) {
  const { undef, tainted } = finalUndefined(stream, lay.offs, ref.events);
  if (tainted !== null) return { status: "inconclusive", why: `instruction ${tainted} reads a flag left undefined after a fault` };
  const mask = ~undef >>> 0;
  if (!got || got.bad) return { status: "mismatch", mask, fields: ["output"] };
  const fields = [];
  for (let i = 0; i < 15; i++) {
    const m = i === 8 ? mask : 0xffffffff;
    if (((ref.regs[i] ^ got.regs[i]) & m) >>> 0) fields.push(REG_NAMES[i]);
  }
  if (ref.nev !== got.nev || JSON.stringify(ref.events) !== JSON.stringify(got.events)) fields.push("events");
  if (ref.mem.join() !== got.mem.join()) fields.push("memory");
  return fields.length ? { status: "mismatch", mask, fields } : { status: "ok", mask };
}

function disassemble(lay) {
  const lines = [];
  if (HAVE_OBJDUMP) {
    const f = join(work, `s${lay.start.toString(16)}.bin`);
    writeFileSync(f, Uint8Array.from(lay.bytes));
    try {
      const vma = lay.start - (lay.cs16 ? USER_CODE : 0); // CS-relative for 16-bit code
      const out = execFileSync("objdump", ["-D", "-b", "binary", lay.cs16 ? "-mi8086" : "-mi386", `--adjust-vma=0x${vma.toString(16)}`, f], { encoding: "latin1" });
      for (const l of out.split("\n")) if (/^\s+[0-9a-f]+:/.test(l)) lines.push(l.replace(/^\s+/, "      "));
    } catch { /* fall through to hex */ }
  }
  if (!lines.length) lines.push("      " + lay.bytes.map((b) => hex(b, 2)).join(" "));
  return lines.join("\n");
}
function insnText(lay, stream, i) {
  return `+${lay.offs[i].toString(16)}: ${stream.insns[i].bytes.map((b) => hex(b, 2)).join(" ")}`;
}

// ---- main -----------------------------------------------------------------------------------------

const t0 = performance.now();
const indices = ONLY ? ONLY.split(",").map(Number) : Array.from({ length: NSTREAMS }, (_, i) => i);
process.stdout.write(`qemu-diff: seed ${SEED}, ${indices.length} streams x ${LENGTH} instructions, ${PER_KERNEL} per kernel ` +
  `(reproduce: node tests/live/qemu-diff.mjs --seed ${SEED} --streams ${NSTREAMS} --length ${LENGTH})\n`);
let streams = indices.map(genStream);
if (INSNS) {
  streams = INSNS.split(";").map((text, i) => {
    const s = genStream(indices[i] ?? i);
    s.insns = text.split(",").map((h) => ({ bytes: h.match(/../g).map((b) => parseInt(b, 16)), sem: NONE, qemuImprecise: null }));
    if (REGS) { const v = REGS.split(",").map((x) => parseInt(x, 16) >>> 0); s.regs = v.slice(0, 8); if (v.length > 8) s.eflags = v[8]; }
    return s;
  });
}
const chunks = [];
for (let i = 0; i < streams.length; i += PER_KERNEL) chunks.push(streams.slice(i, i + PER_KERNEL));

const results = await Promise.all(chunks.map((c) => runKernel(c)));
let ok = 0, inconclusive = 0, deviations = 0, noRef = 0, setupFail = false;
const mismatches = [];
for (let k = 0; k < chunks.length; k++) {
  const { layout, outs, bin } = results[k];
  const parsed = {};
  for (const [name, r] of Object.entries(outs)) {
    parsed[name] = parse(r.stdout);
    const wantStatus = 1;
    if (r.code !== wantStatus || !r.stdout.includes("DONE")) {
      process.stdout.write(`qemu-diff: kernel ${bin}: ${name} exited with ${r.code ?? r.signal}${r.stdout.includes("DONE") ? "" : " before DONE"}\n` +
        (r.stderr ? `  stderr: ${r.stderr.trim().split("\n").slice(0, 12).join("\n  ")}\n` : "") +
        (r.stdout.includes("KFAULT") ? `  ${r.stdout.split("\n").find((l) => l.startsWith("KFAULT"))}\n` : ""));
      if (name === "qemu") setupFail = true;
    }
  }
  chunks[k].forEach((s, j) => {
    const ref = parsed.qemu.get(s.index);
    if (SHOW) {
      process.stdout.write(`\nstream ${s.index}: initial ${s.regs.map((v, i) => `${REG_NAMES[i]}=${hex(v)}`).join(" ")} eflags=${hex(s.eflags)}\n${disassemble(layout[j])}\n`);
      for (const eng of ["qemu", "wasm", "js"]) process.stdout.write(`  ${eng.padEnd(4)}: ${describe(parsed[eng].get(s.index), 0xffffffff)}\n`);
    }
    for (const eng of ["wasm", "js"]) {
      const c = compare(s, layout[j], ref, parsed[eng].get(s.index));
      if (c.status === "ok") { if (eng === "wasm") ok++; continue; }
      if (c.status === "deviation") { if (eng === "wasm") { deviations++; if (VERBOSE) process.stdout.write(`stream ${s.index}: ${c.why}\n`); } continue; }
      if (c.status === "inconclusive") { if (eng === "wasm") { inconclusive++; if (VERBOSE) process.stdout.write(`stream ${s.index}: inconclusive (${c.why})\n`); } continue; }
      if (c.status === "noref") {
        // QEMU left the stream (BADRESUME) or printed nothing for it: not comparable.
        if (!ref) setupFail = true; else noRef++;
        process.stdout.write(`stream ${s.index}: no QEMU result: ${ref?.line ?? "missing"}\n`);
        break;
      }
      mismatches.push({ s, lay: layout[j], eng, c, ref, got: parsed[eng].get(s.index) });
    }
  });
}

/** Run every prefix of a stream (same initial state) to find the first instruction that diverges. */
async function minimize(m) {
  const s = m.s;
  const prefixes = [];
  for (let n = 1; n <= s.insns.length; n++) prefixes.push({ ...s, index: n, insns: s.insns.slice(0, n) });
  const { layout, outs } = await runKernel(prefixes);
  const ref = parse(outs.qemu.stdout), got = parse(outs[m.eng].stdout);
  for (let i = 0; i < prefixes.length; i++) {
    const c = compare(prefixes[i], layout[i], ref.get(i + 1), got.get(i + 1));
    if (c.status === "mismatch") return { n: i + 1, lay: layout[i], c, ref: ref.get(i + 1), got: got.get(i + 1) };
  }
  return null;
}

let shown = 0;
for (const m of mismatches) {
  if (m.eng === "js" && mismatches.some((o) => o.s === m.s && o.eng === "wasm" && JSON.stringify(o.got?.line) === JSON.stringify(m.got?.line))) continue; // same as wasm
  shown++;
  const mask = m.c.mask;
  process.stdout.write(`\nMISMATCH stream ${m.s.index} (seed ${SEED}, --only ${m.s.index}) on ${m.eng}: ${m.c.fields.join(", ")}\n` +
    `  initial: ${m.s.regs.map((v, i) => `${REG_NAMES[i]}=${hex(v)}`).join(" ")} eflags=${hex(m.s.eflags)} memseed=${hex(m.s.seed)}` +
    ` (${m.s.mode.cs16 ? "16" : "32"}-bit code, ${m.s.mode.ss16 ? "16" : "32"}-bit stack)\n` +
    `  stream:\n${disassemble(m.lay)}\n` +
    `  qemu: ${describe(m.ref, mask)}\n  ${m.eng.padEnd(4)}: ${describe(m.got, mask)}\n`);
  if (shown <= MINIMIZE) {
    const r = await minimize(m);
    if (r) {
      process.stdout.write(`  first divergence after ${r.n} instruction(s); the last one is  ${insnText(m.lay, m.s, r.n - 1)}  (${r.c.fields.join(", ")})\n` +
        `    qemu: ${describe(r.ref, r.c.mask)}\n    ${m.eng.padEnd(4)}: ${describe(r.got, r.c.mask)}\n`);
    }
  }
}

if (!KEEP) rmSync(work, { recursive: true, force: true });
const secs = ((performance.now() - t0) / 1000).toFixed(1);
const bad = new Set(mismatches.map((m) => m.s.index)).size;
process.stdout.write(`\nqemu-diff: ${ok} streams match, ${bad} mismatch, ${inconclusive} inconclusive, ` +
  `${deviations} skipped for a known QEMU deviation${noRef ? `, ${noRef} without a QEMU result` : ""}, seed ${SEED}, ${secs} s\n`);
process.exit(setupFail ? 2 : bad ? 1 : 0);
