// Runs the hardware-captured 80286 real-mode single-instruction tests
// (tests/conformance/data/80286-real/, SingleStepTests/80286 by Daniel Balsom, MIT)
// on a BareMachine. The 286 is the oracle; that folder's README.md gives the
// rules implemented here. What an i686 legitimately does differently is not
// decided here but in the exclusion table of 80286.test.ts.
import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { realSegment, type CpuState } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";
import type { StopReason } from "../../src/vmm/vm.js";

export const DATA_DIR = new URL("./data/80286-real/", import.meta.url).pathname;

export type Reg = "ax" | "bx" | "cx" | "dx" | "cs" | "ss" | "ds" | "es" | "sp" | "bp" | "si" | "di" | "ip" | "flags";
export const REGS: Reg[] = ["ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"];
type Ram = [number, number][];
export interface Case {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Record<Reg, number>; ram: Ram };
  final: { regs: Partial<Record<Reg, number>>; ram: Ram };
  exception?: { number: number; flag_address?: number };
  hash: string;
}
/** An opcode's entry in metadata.json ("F6.6" resolves to opcodes.F6.reg["6"]). */
export interface OpcodeInfo { status: string; arch?: string; "flags-mask"?: number }

export function listFiles(): string[] {
  return readdirSync(`${DATA_DIR}tests/`).filter((f) => f.endsWith(".json.gz")).map((f) => f.slice(0, -8)).sort();
}
export function loadCases(file: string): Case[] {
  const text = gunzipSync(readFileSync(`${DATA_DIR}tests/${file}.json.gz`)).toString("utf8");
  return text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Case);
}

type MetaEntry = OpcodeInfo & { reg?: Record<string, OpcodeInfo> };
const metadata = JSON.parse(readFileSync(`${DATA_DIR}metadata.json`, "utf8")) as { opcodes: Record<string, MetaEntry> };
export function opcodeInfo(file: string): OpcodeInfo {
  const [op, reg] = file.split(".");
  const e = metadata.opcodes[op];
  const r = reg === undefined ? e : e?.reg?.[reg];
  if (!r) throw new Error(`${file} is not in metadata.json`);
  return r;
}

/** Hashes of cases the test authors found bad (revocation_list.txt). */
export const revoked: ReadonlySet<string> = new Set(
  readFileSync(`${DATA_DIR}revocation_list.txt`, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")),
);

/**
 * The FLAGS bits a real-mode 286 has. Bits 12-15 always read as 0 there (the
 * classic 286 detection) while an i686 keeps IOPL and NT; the captured initial
 * states carry random values in them that the 286 ignored (the FLAGS it pushes
 * have them clear). They are cleared before loading and never compared.
 */
export const FLAGS_286 = 0x0fff;

/**
 * Each unused interrupt vector v points at a HLT at 0000:SENTINEL+v, so an
 * exception the 286 did not take stops at once, at an address that names the
 * vector, instead of running off into zeroed memory.
 */
export const SENTINEL = 0x400;
const LOW = new Uint8Array(SENTINEL + 256);
for (let v = 0; v < 256; v++) {
  LOW.set([(SENTINEL + v) & 0xff, (SENTINEL + v) >> 8, 0, 0], v * 4);
  LOW[SENTINEL + v] = 0xf4;
}

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);
/** Index of the opcode byte in c.bytes (after the prefixes). */
export function opAt(c: Case): number { let i = 0; while (PREFIXES.has(c.bytes[i])) i++; return i; }
/** A string instruction with REP/REPE/REPNE. */
export function isRepString(c: Case): boolean {
  const op = c.bytes[opAt(c)];
  const str = (op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
  return str && c.bytes.slice(0, opAt(c)).some((b) => b === 0xf2 || b === 0xf3);
}

/** What one engine did with a case. */
export interface Outcome {
  stop: StopReason;
  state: CpuState;
  /** Bytes at every address the case names (initial and final RAM) and the 6 at the final SS:SP, after the run. */
  ram: Map<number, number>;
}
/** The vector whose sentinel HLT the run stopped at, or -1. */
export function sentinelVector(o: Outcome): number {
  const at = o.state.eip - 1 - SENTINEL;
  return o.stop.kind === "halted" && o.state.cs.selector === 0 && at >= 0 && at < 256 ? at : -1;
}

/** Contiguous runs of [address, byte] pairs (a later duplicate wins), one writeMemory call each. */
function runsOf(pairs: Ram): { addr: number; bytes: number[] }[] {
  const byAddr = new Map(pairs);
  const out: { addr: number; bytes: number[] }[] = [];
  for (const a of [...byAddr.keys()].sort((x, y) => x - y)) {
    const last = out[out.length - 1];
    if (last && last.addr + last.bytes.length === a) last.bytes.push(byAddr.get(a)!);
    else out.push({ addr: a, bytes: [byAddr.get(a)!] });
  }
  return out;
}

const GPR: [Reg, "eax" | "ebx" | "ecx" | "edx" | "esp" | "ebp" | "esi" | "edi"][] = [
  ["ax", "eax"], ["bx", "ebx"], ["cx", "ecx"], ["dx", "edx"], ["sp", "esp"], ["bp", "ebp"], ["si", "esi"], ["di", "edi"],
];

/** One 16 MiB BareMachine per engine, reused across cases: RAM is zero between cases. */
export class Runner286 {
  static readonly RAM = 16 << 20; // the 286's 24-bit physical address space, flat
  /** The instruction, its HLT, maybe one more HLT: more means the run went astray. */
  static readonly CAP = 64;
  /** A REP INS/OUTS leaves the core once per element (an I/O exit), each counted as a step. */
  static readonly REP_CAP = 1 << 17;
  private static readonly zeros = new Uint8Array(Runner286.RAM);
  private constructor(readonly kind: EngineKind, readonly m: BareMachine) {}

  static async create(kind: EngineKind): Promise<Runner286> {
    return new Runner286(kind, new BareMachine({ engine: await createEngine(kind, Runner286.RAM), ramBytes: Runner286.RAM }));
  }

  /** Load the case, run until the HLT after the instruction, read back; RAM is zero again afterwards. */
  run(c: Case): Outcome {
    const r = c.initial.regs;
    const st: Partial<CpuState> = {
      cr0: 0, cr4: 0, efer: 0, cpl: 0, halted: false,
      idtr: { base: 0, limit: 0x3ff }, gdtr: { base: 0, limit: 0xffff },
      eip: r.ip, eflags: (r.flags & FLAGS_286) | 2,
      // CS as a real-mode CPU holds it after reset (SDM Vol. 3 Table 9-1: "Present, R/W,
      // Accessed", 0x93): writes with a CS: override work, as on the 286.
      cs: realSegment(r.cs), ss: realSegment(r.ss), ds: realSegment(r.ds), es: realSegment(r.es),
      fs: realSegment(0), gs: realSegment(0),
    };
    for (const [k, g] of GPR) st[g] = r[k];
    this.m.setState(st);
    this.m.writeMemory(0, LOW);
    for (const run of runsOf(c.initial.ram)) this.m.writeMemory(run.addr, run.bytes);
    let stop = this.m.step(Runner286.CAP);
    const rep = isRepString(c);
    for (let n = Runner286.CAP; rep && stop.kind === "budget" && n < Runner286.REP_CAP; n += Runner286.CAP) {
      stop = this.m.step(Runner286.CAP);
    }
    // getState().halted is the raw Wasm bool (1/0) on one engine and true/false on the other.
    const state = { ...this.m.getState() };
    state.halted = Boolean(state.halted);
    const ram = new Map<number, number>();
    // Also the top of the final stack: the frame of an exception the 286 may not have taken.
    const frame: Ram = [0, 1, 2, 3, 4, 5].map((i) => [state.ss.base + ((state.esp + i) & 0xffff), 0]);
    for (const run of runsOf([...c.initial.ram, ...c.final.ram, ...frame])) {
      this.m.readMemory(run.addr, run.bytes.length).forEach((v, i) => ram.set(run.addr + i, v));
      this.m.writeMemory(run.addr, Runner286.zeros.subarray(0, run.bytes.length));
    }
    this.m.writeMemory(0, Runner286.zeros.subarray(0, LOW.length));
    return { stop, state, ram };
  }

  /**
   * Guest RAM itself, for the checks between cases that would otherwise copy
   * 16 MiB (readMemory copies). Only read or zeroed here; the next case's
   * writeMemory flushes the core's caches.
   */
  private ram(): Uint8Array {
    return new Uint8Array(this.m.vm.engine.buffer, this.m.vm.core.ramBase(), Runner286.RAM);
  }

  /**
   * Zero every 64 KiB segment window the run could have written through (the
   * segment registers before and after it): what an excluded case wrote where
   * the 286 did not. Most windows are clean, and comparing is cheaper than writing.
   */
  clearWindows(c: Case, o: Outcome): void {
    const r = c.initial.regs, s = o.state, ram = this.ram();
    const bases = new Set([r.cs * 16, r.ss * 16, r.ds * 16, r.es * 16, s.cs.base, s.ss.base, s.ds.base, s.es.base]);
    for (const b of bases) {
      const w = ram.subarray(b, b + 0x10000);
      if (Buffer.compare(w, Runner286.zeros.subarray(0, w.length)) !== 0) w.fill(0);
    }
  }

  /** Nonzero RAM bytes (up to `max`): writes to addresses no case names. */
  dirty(max = 8): number[] {
    const ram = this.ram();
    if (Buffer.compare(ram, Runner286.zeros) === 0) return [];
    const out: number[] = [];
    for (let a = 0; a < ram.length && out.length < max; a++) if (ram[a] !== 0) out.push(a);
    return out;
  }

  scrub(): void { this.m.writeMemory(0, Runner286.zeros); }
}

/** What a correct run must end with; exclusion rules may adjust it (80286.test.ts). */
export interface Expectation {
  /** Full 32-bit values: upper halves of 16-bit registers must stay 0. */
  regs: Record<Reg, number>;
  ram: Map<number, number>;
  /** FLAGS bits compared, in the register and in a FLAGS word an exception pushed. */
  flagsMask: number;
  /** Where an exception pushed FLAGS, if it did. */
  flagsAt?: number;
  /** Registers not compared. */
  ignore: Set<Reg>;
}

export function expect286(c: Case, info: OpcodeInfo): Expectation {
  const regs = { ...c.initial.regs, ...c.final.regs } as Record<Reg, number>;
  const ram = new Map<number, number>(c.initial.ram);
  for (const [a, v] of c.final.ram) ram.set(a, v);
  // exception.flag_address is one byte low when SP is odd (it is rounded down), so the
  // address is taken from the frame itself: FLAGS sits above IP and CS at the final SS:SP.
  const flagsAt = c.exception ? regs.ss * 16 + ((regs.sp + 4) & 0xffff) : undefined;
  return { regs, ram, flagsMask: (info["flags-mask"] ?? 0xffff) & FLAGS_286, flagsAt, ignore: new Set() };
}

const hex = (v: number, w = 4) => (v >>> 0).toString(16).padStart(w, "0");

/** Differences between an outcome and an expectation, as readable fragments. */
export function compare(e: Expectation, o: Outcome): string[] {
  const diffs: string[] = [];
  if (o.stop.kind !== "halted") diffs.push(`stopped with ${o.stop.kind}${"message" in o.stop ? ` (${o.stop.message})` : ""}`);
  const v = sentinelVector(o);
  if (v >= 0 && !(e.regs.cs === 0 && e.regs.ip === SENTINEL + v + 1)) diffs.push(`took vector ${v}`);
  const s = o.state;
  for (const reg of REGS) {
    if (e.ignore.has(reg)) continue;
    const want = e.regs[reg];
    if (reg === "flags") {
      const m = e.flagsMask;
      if ((s.eflags & m) !== (want & m)) diffs.push(`flags ${hex(s.eflags & m)}, want ${hex(want & m)} (mask ${hex(m)})`);
      continue;
    }
    let got: number;
    if (reg === "ip") got = s.eip;
    else if (reg === "cs" || reg === "ss" || reg === "ds" || reg === "es") {
      got = s[reg].selector;
      if (s[reg].base !== got * 16) diffs.push(`${reg}.base ${hex(s[reg].base, 6)}, want ${hex(got * 16, 6)}`);
    } else got = s[GPR.find(([k]) => k === reg)![1]];
    if (got !== want) diffs.push(`${reg} ${hex(got)}, want ${hex(want)}`);
  }
  for (const [a, w] of e.ram) {
    const m = e.flagsAt === undefined ? 0xff : a === e.flagsAt ? e.flagsMask & 0xff : a === e.flagsAt + 1 ? e.flagsMask >> 8 : 0xff;
    const g = o.ram.get(a) ?? -1;
    if ((g & m) !== (w & m)) diffs.push(`[${hex(a, 6)}] ${hex(g & m, 2)}, want ${hex(w & m, 2)}`);
  }
  return diffs;
}

/** Differences between two engines: the whole CPU state (32-bit, descriptor caches) and every named byte. */
export function compareEngines(a: Outcome, b: Outcome): string[] {
  const diffs: string[] = [];
  if (JSON.stringify(a.stop) !== JSON.stringify(b.stop)) diffs.push(`stop ${JSON.stringify(a.stop)} vs ${JSON.stringify(b.stop)}`);
  const sa = a.state as unknown as Record<string, unknown>, sb = b.state as unknown as Record<string, unknown>;
  for (const k of Object.keys(sa)) {
    const x = JSON.stringify(sa[k]), y = JSON.stringify(sb[k]);
    if (x !== y) diffs.push(`${k} ${x} vs ${y}`);
  }
  for (const [addr, v] of a.ram) if (b.ram.get(addr) !== v) diffs.push(`[${hex(addr, 6)}] ${hex(v, 2)} vs ${hex(b.ram.get(addr) ?? -1, 2)}`);
  return diffs;
}
