/**
 * The typed view of a core exit (kvm-ioctls' `VcpuExit` is the model): the
 * run loop reads the flat exit block once and matches on `reason`.
 *
 * @module
 */
import { ExitCode, ExitField, ViolationQual } from "../engine/core.js";

export type VcpuExit =
  | { reason: "budget" }
  | { reason: "hlt" }
  | { reason: "io-in"; port: number; size: 1 | 2 | 4 }
  | { reason: "io-out"; port: number; size: 1 | 2 | 4; value: number }
  | { reason: "mmio-read"; address: number; size: 1 | 2 | 4 }
  | { reason: "mmio-write"; address: number; size: 1 | 2 | 4; value: number }
  | { reason: "cpuid"; leaf: number; subleaf: number }
  | { reason: "rdmsr"; index: number }
  | { reason: "wrmsr"; index: number; value: bigint }
  /** `eip`: the VMCALL's own address (EIP is past it: the instruction has completed). */
  | { reason: "hypercall"; nr: number; eip: number }
  | { reason: "shutdown" }
  | { reason: "unimplemented"; cs: number; eip: number; bytes: Uint8Array; what: string }
  | { reason: "irq-window" }
  /**
   * The guest-physical map (or the nested tables) refused an access. The
   * instruction restarts when the run continues: change the map first.
   * `walk`: the page walker's own access to a guest page-table entry.
   */
  /** `bytes`: the data access's size from `gpa` on (0 for a fetch or the page walker's own access). */
  | { reason: "ept-violation"; gpa: number; linear: number | null; access: "read" | "write" | "fetch"; walk: boolean; nested: boolean; entry: number; bytes: number }
  /** An exception in the VMM's exception bitmap; `cr2` is the faulting linear address of a #PF (the guest's CR2 is untouched). */
  | { reason: "exception"; vector: number; errorCode: number | null; cr2: number }
  /** A CR0/CR4 write changing a bit in the VMM's mask, or a CR3 load not in the CR3-target list. */
  | { reason: "cr-write"; cr: 0 | 3 | 4; value: number }
  | { reason: "invlpg"; linear: number }
  /** The monitor trap flag: one instruction retired. */
  | { reason: "monitor-trap" }
  /** Shadow paging: the guest wrote `count` 16-byte lines of its page tables (the core's trace log) and is about to translate. */
  | { reason: "trace-log"; count: number }
  | { reason: "pause" };

export type ExitReason = VcpuExit["reason"];

const UNIMPLEMENTED_DETAIL = [
  "instruction", "x87 FPU instruction", "instruction fetch from MMIO", "hardware task switch", "task switch into virtual-8086 mode",
  "PAE mapping of a physical address above 4 GiB", "instruction reading more than 16 MMIO locations", "page walk through MMIO",
  "shadow page-table entry outside host memory",
];

/** Decode the exit block at `base` in the core's memory. */
export function readExit(view: DataView, base: number, code: number): VcpuExit {
  const f = (o: number) => view.getInt32(base + o, true);
  const u = (o: number) => view.getUint32(base + o, true);
  switch (code) {
    case ExitCode.Budget: return { reason: "budget" };
    case ExitCode.Hlt: return { reason: "hlt" };
    case ExitCode.IoIn: return { reason: "io-in", port: u(ExitField.a), size: f(ExitField.size) as 1 | 2 | 4 };
    case ExitCode.IoOut: return { reason: "io-out", port: u(ExitField.a), size: f(ExitField.size) as 1 | 2 | 4, value: u(ExitField.value) };
    case ExitCode.MmioRead: return { reason: "mmio-read", address: u(ExitField.a), size: f(ExitField.size) as 1 | 2 | 4 };
    case ExitCode.MmioWrite: return { reason: "mmio-write", address: u(ExitField.a), size: f(ExitField.size) as 1 | 2 | 4, value: u(ExitField.value) };
    case ExitCode.Cpuid: return { reason: "cpuid", leaf: u(ExitField.a), subleaf: u(ExitField.value2) };
    case ExitCode.Rdmsr: return { reason: "rdmsr", index: u(ExitField.a) };
    case ExitCode.Wrmsr: return { reason: "wrmsr", index: u(ExitField.a), value: (BigInt(u(ExitField.value2)) << 32n) | BigInt(u(ExitField.value)) };
    case ExitCode.Hypercall: return { reason: "hypercall", nr: u(ExitField.a), eip: u(ExitField.eip) };
    case ExitCode.Shutdown: return { reason: "shutdown" };
    case ExitCode.IrqWindow: return { reason: "irq-window" };
    case ExitCode.EptViolation: {
      const q = f(ExitField.qual);
      return {
        reason: "ept-violation", gpa: u(ExitField.a), linear: q & ViolationQual.linearValid ? u(ExitField.linear) : null,
        access: q & ViolationQual.write ? "write" : q & ViolationQual.fetch ? "fetch" : "read",
        walk: (q & ViolationQual.walk) !== 0, nested: (q & ViolationQual.nested) !== 0, entry: u(ExitField.entry), bytes: u(ExitField.size),
      };
    }
    case ExitCode.Exception:
      return { reason: "exception", vector: u(ExitField.a), errorCode: f(ExitField.size) ? u(ExitField.value) : null, cr2: u(ExitField.value2) };
    case ExitCode.CrWrite: return { reason: "cr-write", cr: u(ExitField.a) as 0 | 3 | 4, value: u(ExitField.value) };
    case ExitCode.Invlpg: return { reason: "invlpg", linear: u(ExitField.a) };
    case ExitCode.MonitorTrap: return { reason: "monitor-trap" };
    case ExitCode.TraceLog: return { reason: "trace-log", count: u(ExitField.a) };
    case ExitCode.Pause: return { reason: "pause" };
    case ExitCode.Unimplemented: {
      const n = Math.min(16, f(ExitField.nbytes));
      const bytes = new Uint8Array(view.buffer.slice(view.byteOffset + base + ExitField.bytes, view.byteOffset + base + ExitField.bytes + Math.max(0, n)));
      return { reason: "unimplemented", cs: u(ExitField.cs) & 0xffff, eip: u(ExitField.eip), bytes, what: UNIMPLEMENTED_DETAIL[f(ExitField.detail)] ?? "instruction" };
    }
    default: throw new Error(`core returned unknown exit code ${code}`);
  }
}

/** Answer an input exit (IN, MMIO read, RDMSR low/high, CPUID a..d); the instruction re-executes with it. */
export function writeResponse(view: DataView, base: number, values: number[], fault = false): void {
  for (let i = 0; i < values.length; i++) view.setUint32(base + ExitField.resp0 + 4 * i, values[i]! >>> 0, true);
  view.setInt32(base + ExitField.respFault, fault ? 1 : 0, true);
  view.setInt32(base + ExitField.respValid, 1, true);
}
/** writeResponse with one value (an IN), without an array. */
export function writeResponse1(view: DataView, base: number, value: number): void {
  view.setUint32(base + ExitField.resp0, value >>> 0, true);
  view.setInt32(base + ExitField.respFault, 0, true);
  view.setInt32(base + ExitField.respValid, 1, true);
}

/** The reason each exit code stands for (ExitCode order; null: never reported). */
const REASONS: readonly (ExitReason | null)[] = [
  null, "budget", "hlt", "io-in", "io-out", "mmio-read", "mmio-write", "cpuid", "rdmsr", "wrmsr", "hypercall",
  "shutdown", "unimplemented", "irq-window", null, "ept-violation", "exception", "cr-write", "invlpg",
  "monitor-trap", "trace-log", "pause",
];
/** Exit codes there are (the size of a table of counts by code). */
export const EXIT_CODES = REASONS.length;
/** Counts by exit code as { reason: count }, leaving out the reasons never seen. */
export function exitCountsByReason(counts: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let code = 0; code < REASONS.length; code++) {
    const r = REASONS[code];
    if (r && counts[code]! > 0) out[r] = counts[code]!;
  }
  return out;
}

/** "unimplemented x87 FPU instruction D9 EE at 0008:00101234" */
export function describeUnimplemented(e: Extract<VcpuExit, { reason: "unimplemented" }>): string {
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
  let len = e.bytes.length;
  if (e.what === "instruction" || e.what === "x87 FPU instruction") len = Math.min(len, guessLength(e.bytes));
  const bytes = Array.from(e.bytes.subarray(0, len), (b) => hex(b, 2).toUpperCase()).join(" ");
  const at = `${hex(e.cs, 4)}:${hex(e.eip, 8)}`;
  if (e.what === "instruction") return `unimplemented opcode ${bytes} at ${at}`;
  if (e.what === "x87 FPU instruction") return `unimplemented x87 FPU instruction ${bytes} at ${at}`;
  return `unimplemented: ${e.what} at ${at}`;
}

/** Prefixes plus the opcode (and 0F escape and ModRM for two-byte opcodes): enough to name it. */
function guessLength(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && [0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0, 0xf2, 0xf3].includes(b[i]!)) i++;
  if (b[i] === 0x0f) return Math.min(b.length, i + 2);
  if (b[i]! >= 0xd8 && b[i]! <= 0xdf) return Math.min(b.length, i + 2);
  return Math.min(b.length, i + 1);
}
