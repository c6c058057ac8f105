/**
 * The monitor's `x` (virtual) and `xp` (physical) memory dumps, in QEMU's HMP formats so that what a user
 * knows from QEMU reads the same here: `/COUNT FORMAT SIZE` (format x d u o c or i, size b h w g; both remembered
 * from one dump to the next, as QEMU's monitor does, starting at x and w), 8 units a line for bytes and
 * 16 bytes a line otherwise, each line headed by its address (physical ones as 16 hex digits), and
 * "Cannot access memory" where the address leads to no RAM. The address is an expression of numbers
 * (0x… hex, 0… octal, else decimal) and registers (`$eip`, `$esp`, `$cr3` …) joined by + and -.
 *
 * The `i` format disassembles (src/debug/x86-disasm.ts) in the code size the vCPU runs in (16-bit in real and
 * virtual-8086 mode or under a 16-bit code segment, else 32), laid out as QEMU lays it out — address, up to eight
 * bytes, the instruction — in GNU objdump's AT&T syntax (what gdb prints) where QEMU's Capstone has its own.
 *
 * Departures from QEMU: device memory (MMIO) and the ROM alias below 4 GiB are not read — a debugger's read must
 * not reach a device register — and show as "Cannot access memory".
 *
 * @module
 */
import { codeSize, type CpuState } from "./cpu-state.js";
import { disassembleAt } from "../debug/x86-disasm.js";

/** The last format and unit size, which the next dump without them uses. */
export interface DumpDefaults { format: string; size: number }

/** Read `len` bytes at `addr` (linear for `x`, guest-physical for `xp`), or null if any of them is not RAM. */
export type DumpReader = (addr: number, len: number) => Uint8Array | null;

const SIZES: Record<string, number> = { b: 1, h: 2, w: 4, g: 8 };
const REGISTERS = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags", "cr0", "cr2", "cr3", "cr4"] as const;

/**
 * `x` or `xp` with its arguments (`/FMT ADDR`): the dump's lines, or one line saying what is wrong.
 * `defaults` is updated as QEMU updates its own (a format given is remembered even when the address is bad).
 */
export function memoryDump(args: string, physical: boolean, defaults: DumpDefaults, st: CpuState, read: DumpReader): string {
  let rest = args.trim();
  let count = 1, format = defaults.format, size = defaults.size;
  if (rest.startsWith("/")) {
    const m = /^\/(\d*)(\S*)/.exec(rest)!;
    rest = rest.slice(m[0].length).trim();
    count = m[1] ? Number(m[1]) : 1;
    let sizeGiven: number | null = null;
    for (const ch of m[2]!) {
      if ("xduoci".includes(ch)) format = ch;
      else if (ch in SIZES) sizeGiven = SIZES[ch]!;
      else return `invalid char in format: '${ch}'`;
    }
    size = sizeGiven ?? defaults.size;
    defaults.format = format;
    defaults.size = size;
  }
  if (!rest) return `${physical ? "xp" : "x"} /FMT ADDR: an address is needed (a number, $reg, +, -)`;
  const addr = evaluate(rest, st);
  if (typeof addr === "string") return addr;
  if (format === "i") return instructionLines(addr >>> 0, physical, count, codeSize(st), read).join("\n");
  return dumpLines(addr >>> 0, physical, count, format, size, read).join("\n");
}

/** QEMU's memory_dump: `count` units of `size` bytes, printed as `format`. */
function dumpLines(start: number, physical: boolean, count: number, format: string, size: number, read: DumpReader): string[] {
  const lineSize = size === 1 ? 8 : 16;
  const unit = format === "c" ? 1 : size; // (a char dump reads bytes, the count still in units of `size`)
  const width = format === "o" ? Math.ceil((size * 8) / 3) : format === "x" ? size * 2 : Math.ceil((size * 80) / 33);
  const lines: string[] = [];
  for (let addr = start, len = size * count; len > 0;) {
    const head = physical ? addr.toString(16).padStart(16, "0") : (addr >>> 0).toString(16).padStart(8, "0");
    const n = Math.min(len, lineSize);
    const bytes = read(addr, n);
    if (!bytes) { lines.push(`${head}: Cannot access memory`); break; }
    let line = `${head}:`;
    for (let i = 0; i < n; i += unit) line += ` ${formatUnit(bytes.subarray(i, i + unit), format, width)}`;
    lines.push(line);
    addr += n;
    len -= n;
  }
  return lines;
}

/** QEMU's monitor_disas layout: address, the bytes (eight a line, the rest on lines of their own), the instruction. */
function instructionLines(start: number, physical: boolean, count: number, bits: 16 | 32, read: DumpReader): string[] {
  const lines: string[] = [];
  const head = (a: number) => `0x${(physical ? a : a >>> 0).toString(16).padStart(8, "0")}:`;
  const byteText = (b: Uint8Array) => Array.from(b, (x) => `${x.toString(16).padStart(2, "0")} `).join("");
  for (let addr = start, i = 0; i < count; i++) {
    const insn = disassembleAt(read, addr, bits);
    if (!insn) { lines.push(`${head(addr)} Cannot access memory`); break; }
    const bytes = insn.bytes;
    lines.push(`${head(addr)}  ${byteText(bytes.subarray(0, 8)).padEnd(24)}  ${insn.text}`);
    for (let o = 8; o < bytes.length; o += 8) lines.push(`${head(addr + o)}  ${byteText(bytes.subarray(o, o + 8)).trimEnd()}`);
    addr = physical ? addr + insn.length : (addr + insn.length) >>> 0;
  }
  return lines;
}

function formatUnit(b: Uint8Array, format: string, width: number): string {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  switch (format) {
    case "x": return `0x${v.toString(16).padStart(width, "0")}`;
    case "o": return (v === 0n ? "0" : `0${v.toString(8)}`).padStart(width);
    case "d": return (b.length === 8 ? BigInt.asIntN(64, v) : v).toString().padStart(width); // (QEMU: only a 64-bit unit is signed)
    case "u": return v.toString().padStart(width);
    default: return quoteChar(Number(v));
  }
}

/** A byte as QEMU's monitor_printc quotes it. */
function quoteChar(c: number): string {
  const s = c === 0x27 ? "\\'" : c === 0x5c ? "\\\\" : c === 10 ? "\\n" : c === 13 ? "\\r"
    : c >= 32 && c <= 126 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  return `'${s}'`;
}

/** Numbers and registers joined by + and -, left to right; a message if something else is there. */
export function evaluate(expr: string, st: CpuState): number | string {
  const tokens = expr.replace(/\s+/g, "").split(/([+-])/);
  let total = 0, sign = 1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (i % 2 === 1) { sign = t === "-" ? -1 : 1; continue; }
    if (t === "" && i === 0 && tokens.length > 1) continue; // a leading sign
    let v: number;
    if (t.startsWith("$")) {
      const name = t.slice(1).toLowerCase();
      if (name === "pc") v = st.eip + st.cs.base; // QEMU's $pc: the linear address of the next instruction
      else if (!(REGISTERS as readonly string[]).includes(name)) return `unknown register ${t} (${REGISTERS.map((r) => `$${r}`).join(" ")}, $pc)`;
      else v = st[name as (typeof REGISTERS)[number]];
    } else if (/^0x[0-9a-f]+$/i.test(t)) v = parseInt(t.slice(2), 16);
    else if (/^0[0-7]*$/.test(t)) v = parseInt(t, 8);
    else if (/^[1-9]\d*$/.test(t)) v = parseInt(t, 10);
    else return `not an address: "${expr}" (a number, $reg, +, -)`;
    total += sign * v;
  }
  return total;
}
