/**
 * An x86 disassembler for the monitor's `x/i` (in the CLI and the web page): one instruction at a time, printed in AT&T
 * syntax exactly as GNU objdump (and so gdb) prints it — the same mnemonics, operand order, size suffixes, prefixes
 * and number formats — so that what a user reads here matches the tools they check it with. objdump is the oracle of
 * its test (tests/unit/disasm.test.ts), over every instruction of real i386 binaries.
 *
 * The decoder reads prefixes, the opcode (one byte, 0F xx, 0F 38 xx, 0F 3A xx), ModRM/SIB/displacement and
 * immediates; the tables (x86-opcodes.ts) say what each opcode is called and what its operands are. It is the
 * VMM's, not the core's: the core decodes to execute, this decodes to show.
 *
 * @module
 */
import {
  ONE_BYTE, TWO_BYTE, SSE, X87_MEMORY, X87_REGISTER, GROUP7_REGISTER, GROUP7_REGISTER_PREFIXED, CMP_PREDICATES, PCLMUL_PREDICATES,
  VEX_SECOND_SOURCE, VEX_SECOND_SOURCE_SCALAR,
  type OpcodeEntry, type GroupEntry, type SsePrefix,
} from "./x86-opcodes.js";

/**
 * One disassembled instruction: its length in bytes and its text — `(bad)` for bytes that are no instruction (or
 * are cut short), `<unknown>` for an AVX-only or AVX-512 instruction these tables do not name.
 */
export interface DisassembledInstruction { length: number; text: string }

const REG8 = ["al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"];
const REG16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const REG32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const SEGMENTS = ["es", "cs", "ss", "ds", "fs", "gs"];
const ADDR16 = ["%bx,%si", "%bx,%di", "%bp,%si", "%bp,%di", "%si", "%di", "%bp", "%bx"];
const SEGMENT_PREFIXES: Record<number, string> = { 0x26: "es", 0x2e: "cs", 0x36: "ss", 0x3e: "ds", 0x64: "fs", 0x65: "gs" };
const MAX_LENGTH = 15;

class Truncated extends Error {}
class Invalid extends Error {}

/**
 * Disassemble the instruction at the start of `code` (its bytes, up to 15 of them; fewer near the end of readable
 * memory), which sits at `address` (for branch targets) in a code segment of `bits` (16 or 32) default size.
 */
export function disassemble(code: Uint8Array, address: number, bits: 16 | 32 = 32): DisassembledInstruction {
  const d = new Decoder(code, address, bits);
  try {
    return { text: d.decode(), length: d.pos };
  } catch (e) {
    if (e instanceof Truncated || e instanceof Invalid) return { text: "(bad)", length: Math.max(1, Math.min(d.pos, code.length)) };
    throw e;
  }
}

/**
 * The instruction at `address` read through `read` (which answers null for bytes it cannot give): up to 15 bytes,
 * fewer near the end of readable memory; null when not even one byte is there. With the instruction's bytes.
 */
export function disassembleAt(read: (address: number, length: number) => Uint8Array | null, address: number, bits: 16 | 32):
  (DisassembledInstruction & { bytes: Uint8Array }) | null {
  let code: Uint8Array | null = null;
  for (let n = MAX_LENGTH; n > 0 && !code; n--) code = read(address, n);
  if (!code) return null;
  const insn = disassemble(code, address, bits);
  return { ...insn, bytes: code.subarray(0, insn.length) };
}

/** The objdump-style line for an instruction: mnemonic padded to six columns, a space, the operands. */
function line(prefixes: string[], mnemonic: string, operands: string[]): string {
  const head = [...prefixes, mnemonic].join(" ");
  return operands.length ? `${head.padEnd(6)} ${operands.join(",")}` : head;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const signedHex = (v: number) => (v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);

class Decoder {
  pos = 0;
  /** The prefix bytes in order; each is dropped from the printed prefixes once an operand or the opcode uses it. */
  private prefixes: number[] = [];
  private used = new Set<number>();
  private opsize: 16 | 32;
  private adsize: 16 | 32;
  private segment: string | null = null;
  private modrm = -1;
  /** The one-byte opcode (0x0f for the two- and three-byte maps). */
  private opcode = -1;
  private memory: string | null = null;
  /** A VEX prefix's vector length (1: 256-bit, the %ymm registers) and second source register (vvvv), or null. */
  private vex: { long: boolean; source: number } | null = null;

  constructor(private readonly code: Uint8Array, private readonly address: number, private readonly bits: 16 | 32) {
    this.opsize = bits;
    this.adsize = bits;
  }

  private u8(): number {
    if (this.pos >= this.code.length || this.pos >= MAX_LENGTH) throw new Truncated();
    return this.code[this.pos++]!;
  }
  private s8(): number { return (this.u8() << 24) >> 24; }
  private u16(): number { return this.u8() | (this.u8() << 8); }
  private u32(): number { return (this.u16() | (this.u16() << 16)) >>> 0; }
  private has(prefix: number): boolean { return this.prefixes.includes(prefix); }

  decode(): string {
    let b: number;
    for (;;) {
      b = this.u8();
      if (b === 0x66) this.opsize = this.bits === 32 ? 16 : 32;
      else if (b === 0x67) this.adsize = this.bits === 32 ? 16 : 32;
      else if (b in SEGMENT_PREFIXES) this.segment = SEGMENT_PREFIXES[b]!;
      else if (b !== 0xf0 && b !== 0xf2 && b !== 0xf3) break;
      this.prefixes.push(b);
    }
    this.opcode = b;
    if (b === 0x0f) return this.twoByte();
    // C4/C5 followed by a register-form byte are not LES/LDS but a VEX prefix (AVX).
    if ((b === 0xc4 || b === 0xc5) && this.pos < this.code.length && this.code[this.pos]! >= 0xc0) return this.vexEncoded(b);
    if (b === 0x62 && this.pos < this.code.length && this.code[this.pos]! >= 0xc0) return this.evexEncoded();
    if (b >= 0xd8 && b <= 0xdf) return this.x87(b - 0xd8);
    if (b === 0x90) {
      if (this.has(0xf3)) { this.used.add(0xf3); return this.finish("pause", []); }
      if (this.opsize !== this.bits) { this.used.add(0x66); return this.finish("xchg", this.opsize === 16 ? ["%ax", "%ax"] : ["%eax", "%eax"]); }
    }
    if (b === 0x98 || b === 0x99) {
      this.used.add(0x66);
      const names = b === 0x98 ? ["cbtw", "cwtl"] : ["cwtd", "cltd"];
      return this.finish(names[this.opsize === 16 ? 0 : 1]!, []);
    }
    if (b === 0xe3) {
      this.used.add(0x67);
      return this.entry([this.adsize === 16 ? "jcxz" : "jecxz", "Jb"]);
    }
    if (b >= 0xe0 && b <= 0xe2 && this.adsize !== this.bits) { // LOOPcc counting in CX (or ECX in 16-bit code)
      this.used.add(0x67);
      return this.entry([`${["loopne", "loope", "loop"][b - 0xe0]}${this.adsize === 16 ? "w" : "l"}`, "Jb"]);
    }
    if (b === 0x9b && this.pos < this.code.length && this.code[this.pos]! >= 0xd8 && this.code[this.pos]! <= 0xdf) {
      // FWAIT before an x87 instruction is part of it, as objdump reads it: the waiting form of FNSTSW is FSTSW.
      const escape = this.u8();
      return this.x87(escape - 0xd8, true);
    }
    const e = ONE_BYTE[b];
    if (!e) throw new Invalid();
    return this.entry(e);
  }

  private twoByte(): string {
    let op = this.u8();
    if (op === 0x38 || op === 0x3a) op = (op << 8) | this.u8();
    if (op === 0x1e && this.has(0xf3) && (this.peekModrm() & 0xfe) === 0xfa) { // CET's branch targets (other ModRMs: hint NOPs)
      this.used.add(0xf3);
      return this.finish(this.readModrm() === 0xfb ? "endbr32" : "endbr64", []);
    }
    if (op === 0x01 && this.peekModrm() >> 6 !== 3 && ((this.peekModrm() >> 3) & 7) === 5 && this.has(0xf3)) {
      this.used.add(0xf3);
      return this.finish("rstorssp", [this.rm("M")]);
    }
    if (op === 0x01 && this.peekModrm() >> 6 === 3) {
      const m = this.readModrm();
      const rep = [...this.prefixes].reverse().find((p) => p === 0xf3 || p === 0xf2 || p === 0x66);
      const prefixed = rep !== undefined ? GROUP7_REGISTER_PREFIXED[rep]?.[m] : undefined;
      if (prefixed) { this.used.add(rep!); return this.finish(prefixed, []); }
      const name = GROUP7_REGISTER[m];
      if (name) {
        const [mn, ops] = name.split(" ");
        // MONITOR's address is in EAX or, under an address-size prefix, AX.
        const operands = ops ? ops.split(",").map((o, i) => (i === 0 && o === "%eax" && this.adsize === 16 ? (this.used.add(0x67), "%ax") : o)) : [];
        return this.finish(mn!, operands);
      }
      const reg = (m >> 3) & 7;
      if (reg === 4) { this.used.add(0x66); return this.finish("smsw", [this.register(m & 7, this.opsize)]); }
      if (reg === 6) return this.finish("lmsw", [this.register(m & 7, 16)]);
      throw new Invalid();
    }
    const sse = this.sseEntry(op);
    if (sse) return this.entry(sse);
    const e = op < 0x100 ? TWO_BYTE[op] : null;
    if (!e) throw new Invalid();
    return this.entry(e);
  }

  /**
   * An AVX instruction: the VEX prefix carries the map (0F, 0F 38, 0F 3A), the mandatory prefix, the vector length
   * and a second source register; the instruction is its SSE form's, named with a v.
   */
  private vexEncoded(b: number): string {
    let map = 1, byte = this.u8();
    if (b === 0xc4) { map = byte & 0x1f; byte = this.u8(); }
    const prefix = (["", "66", "f3", "f2"] as const)[byte & 3]!;
    // (In 32-bit code only eight vector registers exist: vvvv's top bit is ignored.)
    this.vex = { long: (byte & 4) !== 0, source: (~byte >> 3) & 7 };
    if (map < 1 || map > 3) throw new Invalid();
    const op = this.u8() | (map === 2 ? 0x3800 : map === 3 ? 0x3a00 : 0);
    if (op === 0x77 && prefix === "") return this.finish(this.vex.long ? "vzeroall" : "vzeroupper", []);
    const e = SSE[prefix][op];
    let name = "", operands: string[] = [];
    if (e) [name = "", ...operands] = (isGroup(e) ? groupMember(e, this.readModrm()) : e) ?? [];
    // The immediate shifts (0F 71-73) write the vvvv register: vpsrlw $n,%xmm1,%xmm2.
    if (e && isGroup(e) && op >= 0x71 && op <= 0x73) operands = ["H", ...operands];
    if (!name || operands.some((o) => /^[PQN]/.test(o))) { // (MMX forms have no VEX encoding)
      // An AVX-only instruction (FMA, AVX2's permutes, BMI …) is not in these tables: its length is still known —
      // every VEX instruction but VZEROUPPER/VZEROALL has a ModRM, and those in map 0F 3A an imm8.
      this.rm("M0");
      if (map === 3) this.u8();
      return "<unknown>";
    }
    const scalar = ((prefix === "f3" || prefix === "f2") && /s[sd]$/.test(name)) || /^(u?comis|rounds)[sd]$/.test(name);
    if (scalar) this.vex.long = false; // (the scalar forms ignore the length)
    const register = this.peekModrm() >> 6 === 3;
    if (VEX_SECOND_SOURCE.has(op) || (scalar && VEX_SECOND_SOURCE_SCALAR.has(op)) || (scalar && register && (op === 0x10 || op === 0x11)))
      operands.splice(1, 0, "H");
    // The shifts by a register count take the count from an XMM register at either length.
    if ([0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3].includes(op)) operands = operands.map((o) => (o === "Wx" ? "Wdq" : o));
    return this.format(`v${name}`, operands);
  }

  /**
   * An AVX-512 instruction: 62 followed by a register-form byte is an EVEX prefix (three bytes after 62: the map in
   * the first), not BOUND. None is named here; its length is known — the opcode, a ModRM with its SIB and
   * displacement, and an imm8 in map 0F 3A and for the 0F opcodes that have one.
   */
  private evexEncoded(): string {
    const map = this.u8() & 3;
    this.u8();
    this.u8();
    const op = this.u8();
    if (map === 0) throw new Invalid();
    this.rm("M0");
    // (in map 0F the shuffles, immediate shifts, compares and inserts/extracts take an imm8 too, as their SSE forms)
    if (map === 3 || (map === 1 && ((op >= 0x70 && op <= 0x73) || op === 0xc2 || (op >= 0xc4 && op <= 0xc6)))) this.u8();
    return "<unknown>";
  }

  /** The SSE/MMX entry for `op` under the mandatory prefix the instruction carries, marking that prefix used. */
  private sseEntry(op: number): OpcodeEntry | GroupEntry | null {
    const rep = [...this.prefixes].reverse().find((p) => p === 0xf3 || p === 0xf2);
    const candidates: [SsePrefix, number | null][] = [];
    if (rep !== undefined) candidates.push([rep === 0xf3 ? "f3" : "f2", rep]);
    if (this.has(0x66)) candidates.push(["66", 0x66]);
    for (const [prefix, byte] of candidates) {
      const e = SSE[prefix][op];
      if (e && this.hasForm(e)) {
        this.used.add(byte!);
        if (byte === 0x66) this.opsize = this.bits;
        return e;
      }
    }
    // (An unprefixed SSE-table instruction that shares its opcode with an older one — 0F 1C CLDEMOTE, a hint NOP —
    // is the older one under a prefix.)
    const plain = SSE[""][op];
    if (plain && !(candidates.length && op < 0x100 && TWO_BYTE[op])) return plain;
    if (candidates.length && (SSE["66"][op] || SSE.f3[op] || SSE.f2[op]) && !(op < 0x100 && TWO_BYTE[op])) throw new Invalid();
    return null;
  }

  /**
   * Whether a prefixed table's entry covers this ModRM: where a group has no member for it, the prefix is an
   * ordinary prefix and the unprefixed instruction is decoded (66 0F C7 /1 is CMPXCHG8B with a data16).
   */
  private hasForm(e: OpcodeEntry | GroupEntry): boolean {
    return !isGroup(e) || groupMember(e, this.peekModrm()) !== null;
  }

  private peekModrm(): number {
    if (this.pos >= this.code.length) throw new Truncated();
    return this.code[this.pos]!;
  }

  private readModrm(): number {
    if (this.modrm < 0) this.modrm = this.u8();
    return this.modrm;
  }

  /** Resolve a group by ModRM.reg (and mod), then format. */
  private entry(e: OpcodeEntry | GroupEntry): string {
    const [name, ...operands] = (isGroup(e) ? groupMember(e, this.readModrm()) : e) ?? [];
    if (!name) throw new Invalid();
    return this.format(name, operands);
  }

  private format(template: string, operands: string[]): string {
    let name = template.replace(/[~&!]$/, "");
    const mark = template.length > name.length ? template[template.length - 1] : "";
    // The immediate of CMPPS and its kin becomes part of the name for the eight predicates objdump names.
    let predicate: string | null = null;
    const texts: string[] = [];
    let memoryOperandSize = 0;
    for (const op of operands) {
      if (op === "Cc") {
        const imm = this.u8();
        if (imm < (this.vex ? 32 : 8)) predicate = CMP_PREDICATES[imm]!; // (VEX has 32 predicates)
        else texts.push(`$${hex(imm)}`);
        continue;
      }
      if (op === "Cq") {
        const imm = this.u8();
        if (imm in PCLMUL_PREDICATES) predicate = PCLMUL_PREDICATES[imm]!;
        else texts.push(`$${hex(imm)}`);
        continue;
      }
      const t = this.operand(op);
      if (/^\*?[EMW]/.test(op) && this.memory !== null && memoryOperandSize === 0) memoryOperandSize = this.operandSize(op);
      if (t !== null) texts.push(t);
    }
    if (predicate) name = /pclmulqdq$/.test(name) ? name.replace(/qdq$/, `${predicate}dq`) : name.replace(/cmp/, `cmp${predicate}`);
    const v = operands.some((o) => /[vz]$|^%eAX$|^rv|^Ibs$/.test(o) && o !== "Jz");
    if (v || mark === "&" || mark === "!") this.used.add(0x66);
    if (mark === "~" && memoryOperandSize) name += suffix(memoryOperandSize);
    // `&`: a changed operand size shows in the name unless a general register operand shows it already.
    const registerOperand = operands.some((o) => /^\*?E/.test(o)) && this.modrm >> 6 === 3;
    if (mark === "&" && this.opsize !== this.bits && !registerOperand) name += suffix(this.opsize / 8);
    if (mark === "!") name += suffix(this.opsize / 8);
    if (/^j(?!mp|ecxz|cxz)/.test(name) && operands[0]?.startsWith("J")) {
      // Branch hints: CS (not taken) and DS (taken) on a conditional jump.
      if (this.has(0x2e)) { this.used.add(0x2e); name += ",pn"; } else if (this.has(0x3e)) { this.used.add(0x3e); name += ",pt"; }
    }
    const ordered = /^(enter|bound)/.test(name) ? texts : texts.reverse(); // (objdump keeps Intel's order for these two)
    return this.finish(name, ordered);
  }

  /** Prefix names for the prefix bytes no part of the instruction used, then the instruction. */
  private finish(mnemonic: string, operands: string[]): string {
    const names: string[] = [];
    const string = /^(ins|outs|movs|lods|stos|cmps|scas)[bwl]?$/.test(mnemonic);
    // F2 on a near branch is MPX's BND; F2/F3 on a locked (or XCHG's implicitly locked) write to memory are the
    // lock-elision hints, and F3 on a MOV to memory is XRELEASE.
    const branch = /^(call|jmp|ret|j(?!mp|e?cxz))/.test(mnemonic);
    const elidable = this.memory !== null && (this.has(0xf0) || /^xchg/.test(mnemonic));
    const release = this.memory !== null && /^mov[bwl]?$/.test(mnemonic) && [0x88, 0x89, 0xc6, 0xc7].includes(this.opcode);
    this.prefixes.forEach((p, i) => {
      // A used prefix is used once, at its last occurrence: a repeated one is named like an unused one.
      if (this.used.has(p) && this.prefixes.lastIndexOf(p) === i) return;
      if (p === 0xf0) names.push("lock");
      else if (p === 0xf3) names.push(string && !/^(cmps|scas)/.test(mnemonic) ? "rep" : elidable || release ? "xrelease" : "repz");
      else if (p === 0xf2) names.push(branch ? "bnd" : elidable ? "xacquire" : "repnz");
      else if (p === 0x66) names.push(this.bits === 32 ? "data16" : "data32");
      else if (p === 0x67) names.push(this.bits === 32 ? "addr16" : "addr32");
      else names.push(SEGMENT_PREFIXES[p]!);
    });
    return line(names, mnemonic, operands);
  }

  /** An operand's size in bytes from its code's size letter (v, z and the rest: the operand size). */
  private operandSize(op: string): number {
    const size = op.replace(/^\*/, "")[1];
    return size === "b" ? 1 : size === "w" ? 2 : size === "d" ? 4 : size === "q" ? 8 : this.opsize / 8;
  }

  private register(n: number, size: number): string {
    return `%${(size === 8 ? REG8 : size === 16 ? REG16 : REG32)[n]}`;
  }

  /** One operand's text (null for the implicit 1 of the shift-by-one forms, which AT&T does not print). */
  private operand(op: string): string | null {
    if (op.startsWith("%")) {
      if (op === "%eAX") return this.opsize === 16 ? "%ax" : "%eax";
      return op;
    }
    if (op === "(%dx)") return op;
    if (op === "1") return null;
    if (op === "Xlat") { this.used.add(0x67); return `${this.segmentOverride() || "%ds:"}(${this.adsize === 16 ? "%bx" : "%ebx"})`; }
    if (op.startsWith("*")) return `*${this.operand(op.slice(1))}`;
    if (/^r[bvd]\d$/.test(op)) return this.register(Number(op[2]), op[1] === "b" ? 8 : op[1] === "d" ? 32 : this.opsize);
    const kind = op[0]!, size = op.slice(1);
    switch (kind) {
      case "E": case "M": case "W": case "Q": return this.rm(op);
      case "G": { // (Ga: a register of the address size — MOVDIR64B's and ENQCMD's destination address)
        if (size === "a") this.used.add(0x67);
        return this.register((this.readModrm() >> 3) & 7, size === "a" ? this.adsize : this.operandSize(op) * 8);
      }
      case "R": return this.register(this.readModrm() & 7, size === "v" ? this.opsize : 32);
      case "S": return `%${SEGMENTS[(this.readModrm() >> 3) & 7] ?? "?"}`; // (objdump's name for the two that do not exist)
      case "C": { // (AMD: LOCK MOV CR0 is CR8)
        const n = ((this.readModrm() >> 3) & 7) + (this.has(0xf0) ? 8 : 0);
        if (n >= 8) this.used.add(0xf0);
        return `%cr${n}`;
      }
      case "D": return `%db${(this.readModrm() >> 3) & 7}`;
      case "T": return `%tr${(this.readModrm() >> 3) & 7}`;
      case "B": { // Bq: a bound register named by ModRM.reg; Bm: one named by r/m, or memory
        const m = this.readModrm();
        if (size !== "m") return `%bnd${(m >> 3) & 7}`;
        return m >> 6 === 3 ? `%bnd${m & 7}` : this.rm("M");
      }
      case "V": return `${this.vectorRegister(size)}${(this.readModrm() >> 3) & 7}`;
      case "H": return `${this.vectorRegister("x")}${this.vex!.source}`;
      case "P": return `%mm${(this.readModrm() >> 3) & 7}`;
      case "U": case "N": {
        const m = this.readModrm();
        if (m >> 6 !== 3) throw new Invalid();
        return `${kind === "U" ? this.vectorRegister(size) : "%mm"}${m & 7}`;
      }
      case "I": return this.immediate(size);
      case "J": return this.branchTarget(size);
      case "O": { // (objdump names an address-size prefix here even though it sizes the offset)
        const addr = this.adsize === 16 ? this.u16() : this.u32();
        return `${this.segmentOverride()}${hex(addr)}`;
      }
      case "A": {
        const offset = this.opsize === 16 ? this.u16() : this.u32();
        return `$${hex(this.u16())},$${hex(offset)}`;
      }
      case "X": this.used.add(0x67); return `${this.segmentOverride() || "%ds:"}(${this.adsize === 16 ? "%si" : "%esi"})`;
      case "Y": this.used.add(0x67); return `%es:(${this.adsize === 16 ? "%di" : "%edi"})`;
    }
    throw new Error(`disassembler table: unknown operand ${op}`);
  }

  /** An XMM register, or a YMM one for a full-width operand of a 256-bit VEX instruction. */
  private vectorRegister(size: string): string {
    return this.vex?.long && size === "x" ? "%ymm" : "%xmm";
  }

  private segmentOverride(): string {
    if (!this.segment) return "";
    for (const [byte, name] of Object.entries(SEGMENT_PREFIXES)) if (name === this.segment) this.used.add(Number(byte));
    return `%${this.segment}:`;
  }

  private immediate(size: string): string {
    switch (size) {
      case "b": return `$${hex(this.u8())}`;
      case "w": return `$${hex(this.u16())}`;
      case "bs": { const v = this.s8(); return `$${hex(this.opsize === 16 ? v & 0xffff : v)}`; }
      default: return `$${hex(this.opsize === 16 ? this.u16() : this.u32())}`; // z, v
    }
  }

  /**
   * A branch's target as a linear address, as objdump computes it: a near branch with a 16-bit operand size wraps
   * within its 64 KiB (in 32-bit code: the low 64 KiB); a short one does not.
   */
  private branchTarget(size: string): string {
    if (size === "b") { const rel = this.s8(); return hex(this.address + this.pos + rel); }
    this.used.add(0x66);
    const rel = this.opsize === 16 ? (this.u16() << 16) >> 16 : this.u32() | 0;
    const target = this.address + this.pos + rel;
    if (this.opsize === 32) return hex(target);
    return hex(this.bits === 32 ? target & 0xffff : (this.address & ~0xffff) | (target & 0xffff));
  }

  /**
   * The ModRM r/m operand: a register (of the operand's kind) or a memory reference in AT&T form. ("M0" reads it
   * for its length alone: any register, no text.)
   */
  private rm(op: string): string {
    const m = this.readModrm();
    const mod = m >> 6, rm = m & 7;
    const kind = op[0]!, size = op.slice(1);
    if (mod === 3) {
      if (op === "M0") return "";
      if (kind === "M") throw new Invalid();
      if (kind === "W") return `${this.vectorRegister(size)}${rm}`;
      if (kind === "Q") return `%mm${rm}`;
      this.memory = null;
      return this.register(rm, this.operandSize(op) * 8);
    }
    if (this.memory === null) this.memory = this.adsize === 16 ? this.memory16(mod, rm) : this.memory32(mod, rm);
    return this.memory;
  }

  private memory16(mod: number, rm: number): string {
    this.used.add(0x67);
    const seg = this.segmentOverride();
    if (mod === 0 && rm === 6) return `${seg}${signedHex((this.u16() << 16) >> 16)}`; // (objdump: signed, even bare)
    const disp = mod === 1 ? this.s8() : mod === 2 ? (this.u16() << 16) >> 16 : null;
    return `${seg}${disp === null ? "" : signedHex(disp)}(${ADDR16[rm]})`;
  }

  /** objdump's rules: %eiz where a SIB names no index but must be shown; a displacement signed beside a base. */
  private memory32(mod: number, rm: number): string {
    const seg = this.segmentOverride();
    let base = rm, index = 4, scale = 0, haveSib = false;
    if (rm === 4) {
      const sib = this.u8();
      haveSib = true;
      scale = sib >> 6; index = (sib >> 3) & 7; base = sib & 7;
    }
    const haveBase = !(mod === 0 && base === 5);
    const haveIndex = index !== 4;
    const needIndex = haveSib && !haveBase && !haveIndex;
    const disp = mod === 1 ? this.s8() : mod === 2 || !haveBase ? this.u32() | 0 : 0;
    const showDisp = mod !== 0 || !haveBase;
    const haveDisp = haveBase || needIndex || (haveSib && (haveIndex || scale !== 0));
    // (In 16-bit code objdump names the address-size prefix of a bare 32-bit address, which reads like a 16-bit one.)
    if (haveSib || haveBase || this.bits === 32) this.used.add(0x67);
    let text = seg;
    if (showDisp) text += haveDisp ? signedHex(disp) : hex(disp);
    if (haveDisp) {
      text += "(";
      if (haveBase) text += `%${REG32[base]}`;
      if (haveSib && (scale !== 0 || needIndex || haveIndex || (haveBase && base !== 4)))
        text += `,%${haveIndex ? REG32[index] : "eiz"},${1 << scale}`;
      text += ")";
    }
    return text;
  }

  /** An x87 instruction (escape D8-DF); `waiting` when FWAIT came first, which makes FNSTSW FSTSW and so on. */
  private x87(escape: number, waiting = false): string {
    const m = this.readModrm();
    const reg = (m >> 3) & 7;
    const waited = (n: string) => (waiting && n.startsWith("fn") ? `f${n.slice(2)}` : n);
    if (m >> 6 !== 3) {
      let name = X87_MEMORY[escape]![reg];
      if (!name) throw new Invalid();
      // The environment and state images have a 16-bit layout: an operand-size prefix picks it (s) or the 32-bit one (l).
      if (/^(fldenv|fnstenv|frstor|fnsave)$/.test(name) && this.opsize !== this.bits) {
        this.used.add(0x66);
        name += this.opsize === 16 ? "s" : "l";
      }
      return this.finish(waited(name), [this.rm("M")]);
    }
    const row = X87_REGISTER[escape]![reg];
    const form = Array.isArray(row) ? row[m & 7] : row;
    if (!form) throw new Invalid();
    const [name, operands] = waited(form as string).split(" ");
    const st = (t: string) => (t === "i" ? `%st(${m & 7})` : t === "st" ? "%st" : t);
    return this.finish(name!, operands ? operands.split(",").map(st) : []);
  }
}

function isGroup(e: OpcodeEntry | GroupEntry): e is GroupEntry {
  return !Array.isArray(e);
}

/** A group's member for a ModRM byte, with all its operands (the group's, then its own); null where there is none. */
function groupMember(g: GroupEntry, modrm: number): OpcodeEntry | null {
  const reg = (modrm >> 3) & 7;
  if (modrm >> 6 === 3 && g.registerForms) return g.registerForms[reg] ?? null;
  const m = g.group[reg];
  return m ? [m[0], ...g.operands, ...m.slice(1)] : null;
}

function suffix(bytes: number): string {
  return bytes === 1 ? "b" : bytes === 2 ? "w" : bytes === 4 ? "l" : "q";
}
