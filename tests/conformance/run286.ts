// Runs the hardware-captured 80286 real-mode single-instruction tests
// (../shared/conformance/80286-real/, SingleStepTests/80286) on a BareMachine.
// The 286 data are the oracle; see that folder's README.md for the rules
// implemented here (how to run a case, flags masks, what to compare).
import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { realSegment, type CpuState } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";
import type { StopReason } from "../../src/vmm/vm.js";

export const DATA_DIR = new URL("../../../shared/conformance/80286-real/", import.meta.url).pathname;

export type Reg = "ax" | "bx" | "cx" | "dx" | "cs" | "ss" | "ds" | "es" | "sp" | "bp" | "si" | "di" | "ip" | "flags";
export interface Case {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Record<Reg, number>; ram: [number, number][] };
  final: { regs: Partial<Record<Reg, number>>; ram: [number, number][] };
  exception?: { number: number; flag_address?: number };
  hash: string;
}

/** One line of metadata.json, resolved for a file ("F6.6" → opcodes.F6.reg["6"]). */
export interface OpcodeInfo { status: string; arch?: string; "flags-mask"?: number }

export function loadCases(file: string): Case[] {
  const text = gunzipSync(readFileSync(`${DATA_DIR}tests/${file}.json.gz`)).toString("utf8");
  return text.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as Case);
}

/** The opcode files, e.g. "00", "F6.6", in a stable order. */
export function listFiles(): string[] {
  return readdirSync(`${DATA_DIR}tests/`).filter((f) => f.endsWith(".json.gz")).map((f) => f.slice(0, -8)).sort();
}

const metadata = JSON.parse(readFileSync(`${DATA_DIR}metadata.json`, "utf8")) as { opcodes: Record<string, OpcodeInfo & { reg?: Record<string, OpcodeInfo> }> };

export function opcodeInfo(file: string): OpcodeInfo {
  const [op, reg] = file.split(".");
  const e = metadata.opcodes[op];
  if (!e) throw new Error(`opcode ${op} is not in metadata.json`);
  if (reg !== undefined) { const r = e.reg?.[reg]; if (!r) throw new Error(`${file} is not in metadata.json`); return r; }
  return e;
}

/** Hashes of cases the test authors found bad (revocation_list.txt): skipped. */
export const revoked: ReadonlySet<string> = new Set(
  readFileSync(`${DATA_DIR}revocation_list.txt`, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")),
);

const REGS: Reg[] = ["ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"];
const GPR: Partial<Record<Reg, keyof CpuState>> = { ax: "eax", bx: "ebx", cx: "ecx", dx: "edx", sp: "esp", bp: "ebp", si: "esi", di: "edi" };
const SEG: Reg[] = ["cs", "ss", "ds", "es"];

/**
 * FLAGS bits a real-mode 286 has: bits 12-15 always read as 0 there (the
 * classic 286 detection), while an i686 keeps IOPL and NT. The captured
 * initial states carry random values in bits 12-15 that the 286 ignored
 * (its pushed FLAGS show them clear), so they are cleared before loading
 * and never compared.
 */
export const FLAGS_286 = 0x0fff;

/** What one engine did with a case: everything compared against the 286 and the other engine. */
export interface Outcome {
  stop: StopReason;
  state: CpuState;
  /** Bytes at every address the case names (initial and final RAM), after the run. */
  ram: Map<number, number>;
}

/** Contiguous runs of [address, byte] pairs, so each run is one writeMemory call. */
function runsOf(pairs: [number, number][]): { addr: number; bytes: number[] }[] {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const out: { addr: number; bytes: number[] }[] = [];
  for (const [a, v] of sorted) {
    const last = out[out.length - 1];
    if (last && last.addr + last.bytes.length === a) last.bytes.push(v);
    else if (!last || a >= last.addr + last.bytes.length) out.push({ addr: a, bytes: [v] });
    else last.bytes[a - last.addr] = v; // a duplicated address: the later value wins
  }
  return out;
}

/** One 16 MiB BareMachine per engine, reused across cases: only touched bytes are reset. */
export class Runner286 {
  static readonly RAM = 16 << 20; // the 286's 24-bit physical address space, flat
  private constructor(readonly kind: EngineKind, readonly m: BareMachine) {}

  static async create(kind: EngineKind): Promise<Runner286> {
    return new Runner286(kind, new BareMachine({ engine: await createEngine(kind, Runner286.RAM), ramBytes: Runner286.RAM }));
  }

  /** Load the case, execute until the HLT after the instruction, read back; RAM is zero again afterwards. */
  run(c: Case): Outcome {
    const r = c.initial.regs;
    const st: Partial<CpuState> = {
      cr0: 0, cr4: 0, efer: 0, cpl: 0, halted: false,
      idtr: { base: 0, limit: 0x3ff }, gdtr: { base: 0, limit: 0xffff },
      eip: r.ip, eflags: (r.flags & FLAGS_286) | 2,
      cs: realSegment(r.cs, true), ss: realSegment(r.ss), ds: realSegment(r.ds), es: realSegment(r.es),
      fs: realSegment(0), gs: realSegment(0),
    };
    for (const [k, g] of Object.entries(GPR) as [Reg, keyof CpuState][]) (st as Record<string, unknown>)[g] = r[k];
    this.m.setState(st);
    const touched = runsOf([...c.initial.ram, ...c.final.ram.map(([a]) => [a, 0] as [number, number])]);
    for (const run of runsOf(c.initial.ram)) this.m.writeMemory(run.addr, run.bytes);
    // The instruction, then HLT; a branch or an exception adds one more HLT at the target.
    const stop = this.m.step(64);
    const state = this.m.getState();
    const ram = new Map<number, number>();
    for (const run of touched) {
      const got = this.m.readMemory(run.addr, run.bytes.length);
      got.forEach((v, i) => ram.set(run.addr + i, v));
      this.m.writeMemory(run.addr, new Uint8Array(run.bytes.length));
    }
    return { stop, state, ram };
  }

  /** Nonzero RAM bytes (up to `max`): after all cases, a write to an address no case names. */
  dirty(max = 8): number[] {
    const ram = new Uint8Array(this.m.vm.engine.buffer, this.m.vm.core.ramBase(), Runner286.RAM);
    const out: number[] = [];
    const zero = new Uint8Array(65536);
    for (let base = 0; base < ram.length && out.length < max; base += zero.length) {
      const chunk = ram.subarray(base, base + zero.length);
      if (Buffer.compare(chunk, zero) === 0) continue;
      chunk.forEach((v, i) => { if (v !== 0 && out.length < max) out.push(base + i); });
    }
    return out;
  }
}

const hex = (v: number, w = 4) => v.toString(16).padStart(w, "0");

/** Differences between one engine's outcome and the 286's final state, as readable lines. */
export function compare286(c: Case, o: Outcome, flagsMask = 0xffff): string[] {
  const diffs: string[] = [];
  if (o.stop.kind !== "halted") diffs.push(`stopped with ${o.stop.kind}${"message" in o.stop ? `: ${o.stop.message}` : ""}`);
  const s = o.state;
  const fmask = flagsMask & FLAGS_286;
  for (const reg of REGS) {
    const want = c.final.regs[reg] ?? c.initial.regs[reg];
    let got: number;
    if (GPR[reg]) got = s[GPR[reg]] as number;
    else if (reg === "ip") got = s.eip;
    else if (reg === "flags") got = s.eflags;
    else {
      const seg = s[reg as "cs"];
      if (seg.base !== seg.selector * 16) diffs.push(`${reg}.base ${hex(seg.base, 6)}, want ${hex(seg.selector * 16, 6)}`);
      got = seg.selector;
    }
    if (reg === "flags") {
      if ((got & fmask) !== (want & fmask)) diffs.push(`flags ${hex(got & fmask)}, want ${hex(want & fmask)} (mask ${hex(fmask)})`);
    } else if (got !== want) { // upper halves of the 32-bit registers must stay 0
      diffs.push(`${reg} ${hex(got)}, want ${hex(want)}`);
    }
  }
  const want = new Map<number, number>(c.initial.ram);
  for (const [a, v] of c.final.ram) want.set(a, v);
  const fa = c.exception?.flag_address;
  for (const [a, w] of want) {
    // The FLAGS word an exception pushed is masked like FLAGS itself.
    const m = fa === undefined ? 0xff : a === fa ? fmask & 0xff : a === fa + 1 ? fmask >> 8 : 0xff;
    const g = o.ram.get(a) ?? -1;
    if ((g & m) !== (w & m)) diffs.push(`[${hex(a, 6)}] ${hex(g & m, 2)}, want ${hex(w & m, 2)}`);
  }
  return diffs;
}

/** Differences between two engines' outcomes: every register (32-bit, with descriptor caches) and every named byte. */
export function compareEngines(a: Outcome, b: Outcome): string[] {
  const diffs: string[] = [];
  if (a.stop.kind !== b.stop.kind) diffs.push(`stop ${a.stop.kind} vs ${b.stop.kind}`);
  const sa = a.state as unknown as Record<string, unknown>, sb = b.state as unknown as Record<string, unknown>;
  for (const k of Object.keys(sa)) {
    const x = JSON.stringify(sa[k]), y = JSON.stringify(sb[k]);
    if (x !== y) diffs.push(`${k} ${x} vs ${y}`);
  }
  for (const [addr, v] of a.ram) if (b.ram.get(addr) !== v) diffs.push(`[${hex(addr, 6)}] ${hex(v, 2)} vs ${hex(b.ram.get(addr) ?? -1, 2)}`);
  return diffs;
}
