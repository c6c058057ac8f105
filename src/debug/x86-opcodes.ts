/**
 * The disassembler's opcode tables: for every opcode, the mnemonic as GNU objdump prints it in AT&T syntax and
 * its operands in the Intel manual's order (destination first; the formatter reverses them), declared once.
 * Operand codes follow the SDM's opcode-map notation (vol. 2, appendix A), with the objdump spellings it needs:
 *
 *   E  ModRM r/m (register or memory)    G  ModRM reg, a general register     M  ModRM r/m, memory only
 *   R  ModRM r/m, register only          S  ModRM reg, a segment register     C/D/T  ModRM reg, a control/debug/test register
 *   B  ModRM reg, an MPX bound register  H  VEX.vvvv, a second vector source
 *   I  immediate                         J  relative branch target            O  moffs (an address, no ModRM)
 *   A  far pointer (ptr16:16/32)         X  %ds:(%esi) (string source)        Y  %es:(%edi) (string destination)
 *   V  ModRM reg, an XMM register        W  ModRM r/m, XMM or memory          U  ModRM r/m, XMM only
 *   P  ModRM reg, an MMX register        Q  ModRM r/m, MMX or memory          N  ModRM r/m, MMX only
 *   size letters: b byte, w word, d dword, v word/dword by operand size, z like v for immediates, q quad, x xmm,
 *   a word/dword by address size
 *   "Ibs" an imm8 sign-extended to the operand size; "%al", "%cl", "%dx" … fixed registers ("%eAX": eax or ax by
 *   operand size); "(%dx)" the port in IN/OUT; "r" a register in the opcode's low three bits (size from its code).
 *   "Cc" a comparison predicate (CMPPS's imm8) and "Cq" PCLMULQDQ's, which objdump folds into the mnemonic.
 *
 * Mnemonic marks (objdump's suffix rules):
 *   `~` the operand-size suffix (b, w, l) when the r/m operand is memory — `addl $0x1,(%eax)` but `add $0x1,%eax`
 *   `&` the suffix only when an operand-size prefix changed the size — `push $0x1`, `pushw $0x1`
 *   `!` the suffix always (`movzbl`, `movswl` are spelled out instead: `movzb!` gives movzbw/movzbl)
 *
 * @module
 */

/** One opcode: mnemonic with its marks, then operands in Intel order. */
export type OpcodeEntry = readonly [mnemonic: string, ...operands: string[]];
/** An opcode whose ModRM reg field picks the operation (a "group"): eight entries, null where invalid. */
export type GroupEntry = {
  group: readonly (OpcodeEntry | null)[];
  /** Operands every member shares, before its own. */
  operands: readonly string[];
  /** Members for a register ModRM (mod 3), with all their operands, where they differ from the memory forms. */
  registerForms?: readonly (OpcodeEntry | null)[];
};

const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const CC = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
const SHIFTS = ["rol", "ror", "rcl", "rcr", "shl", "shr", "shl", "sar"];

/** The one-byte map. Prefixes and the 0F escape are handled by the decoder and are null here. */
export const ONE_BYTE: (OpcodeEntry | GroupEntry | null)[] = new Array(256).fill(null);
for (let i = 0; i < 8; i++) {
  const base = i * 8, name = ALU[i]!;
  ONE_BYTE[base] = [name, "Eb", "Gb"];
  ONE_BYTE[base + 1] = [name, "Ev", "Gv"];
  ONE_BYTE[base + 2] = [name, "Gb", "Eb"];
  ONE_BYTE[base + 3] = [name, "Gv", "Ev"];
  ONE_BYTE[base + 4] = [name, "%al", "Ib"];
  ONE_BYTE[base + 5] = [name, "%eAX", "Iz"];
}
Object.assign(ONE_BYTE, {
  0x06: ["push&", "%es"], 0x07: ["pop&", "%es"], 0x0e: ["push&", "%cs"],
  0x16: ["push&", "%ss"], 0x17: ["pop&", "%ss"], 0x1e: ["push&", "%ds"], 0x1f: ["pop&", "%ds"],
  0x27: ["daa"], 0x2f: ["das"], 0x37: ["aaa"], 0x3f: ["aas"],
  0x60: ["pusha&"], 0x61: ["popa&"], 0x62: ["bound", "Gv", "Ma"], 0x63: ["arpl", "Ew", "Gw"],
  0x68: ["push&", "Iz"], 0x69: ["imul", "Gv", "Ev", "Iz"], 0x6a: ["push&", "Ibs"], 0x6b: ["imul", "Gv", "Ev", "Ibs"],
  0x6c: ["insb", "Yb", "(%dx)"], 0x6d: ["ins!", "Yv", "(%dx)"], 0x6e: ["outsb", "(%dx)", "Xb"], 0x6f: ["outs!", "(%dx)", "Xv"],
  0x84: ["test", "Eb", "Gb"], 0x85: ["test", "Ev", "Gv"], 0x86: ["xchg", "Eb", "Gb"], 0x87: ["xchg", "Ev", "Gv"],
  0x88: ["mov", "Eb", "Gb"], 0x89: ["mov", "Ev", "Gv"], 0x8a: ["mov", "Gb", "Eb"], 0x8b: ["mov", "Gv", "Ev"],
  0x8c: { operands: [], group: new Array(8).fill(["mov", "Mw", "Sw"]), registerForms: new Array(8).fill(["mov", "Ev", "Sw"]) }, 0x8d: ["lea", "Gv", "M"], 0x8e: { operands: [], group: new Array(8).fill(["mov", "Sw", "Mw"]), registerForms: new Array(8).fill(["mov", "Sw", "Ev"]) },
  0x8f: { operands: ["Ev"], group: [["pop&"], null, null, null, null, null, null, null] },
  0x90: ["nop"],
  0x98: ["cwtl"], 0x99: ["cltd"], 0x9a: ["lcall&", "Ap"], 0x9b: ["fwait"], 0x9c: ["pushf&"], 0x9d: ["popf&"],
  0x9e: ["sahf"], 0x9f: ["lahf"],
  0xa0: ["mov", "%al", "Ob"], 0xa1: ["mov", "%eAX", "Ov"], 0xa2: ["mov", "Ob", "%al"], 0xa3: ["mov", "Ov", "%eAX"],
  0xa4: ["movsb", "Yb", "Xb"], 0xa5: ["movs!", "Yv", "Xv"], 0xa6: ["cmpsb", "Xb", "Yb"], 0xa7: ["cmps!", "Xv", "Yv"],
  0xa8: ["test", "%al", "Ib"], 0xa9: ["test", "%eAX", "Iz"],
  0xaa: ["stos", "Yb", "%al"], 0xab: ["stos", "Yv", "%eAX"], 0xac: ["lods", "%al", "Xb"], 0xad: ["lods", "%eAX", "Xv"],
  0xae: ["scas", "%al", "Yb"], 0xaf: ["scas", "%eAX", "Yv"],
  0xc0: { operands: ["Eb", "Ib"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xc1: { operands: ["Ev", "Ib"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xc2: ["ret&", "Iw"], 0xc3: ["ret&"], 0xc4: ["les", "Gv", "Mp"], 0xc5: ["lds", "Gv", "Mp"],
  0xc6: { operands: ["Eb", "Ib"], group: [["mov~"], null, null, null, null, null, null, null], registerForms: [["mov~", "Eb", "Ib"], null, null, null, null, null, null, ["xabort", "Ib"]] },
  0xc7: { operands: ["Ev", "Iz"], group: [["mov~"], null, null, null, null, null, null, null], registerForms: [["mov~", "Ev", "Iz"], null, null, null, null, null, null, ["xbegin&", "Jz"]] },
  0xc8: ["enter&", "Iw", "Ib"], 0xc9: ["leave&"], 0xca: ["lret&", "Iw"], 0xcb: ["lret&"], 0xcc: ["int3"], 0xcd: ["int", "Ib"],
  0xce: ["into"], 0xcf: ["iret&"],
  0xd0: { operands: ["Eb", "1"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xd1: { operands: ["Ev", "1"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xd2: { operands: ["Eb", "%cl"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xd3: { operands: ["Ev", "%cl"], group: SHIFTS.map((n) => [`${n}~`]) },
  0xd4: ["aam", "Ib"], 0xd5: ["aad", "Ib"], 0xd7: ["xlat", "Xlat"],
  0xe0: ["loopne", "Jb"], 0xe1: ["loope", "Jb"], 0xe2: ["loop", "Jb"], 0xe3: ["jecxz", "Jb"],
  0xe4: ["in", "%al", "Ib"], 0xe5: ["in", "%eAX", "Ib"], 0xe6: ["out", "Ib", "%al"], 0xe7: ["out", "Ib", "%eAX"],
  0xe8: ["call&", "Jz"], 0xe9: ["jmp&", "Jz"], 0xea: ["ljmp&", "Ap"], 0xeb: ["jmp", "Jb"],
  0xec: ["in", "%al", "(%dx)"], 0xed: ["in", "%eAX", "(%dx)"], 0xee: ["out", "(%dx)", "%al"], 0xef: ["out", "(%dx)", "%eAX"],
  0xf1: ["int1"], 0xf4: ["hlt"], 0xf5: ["cmc"],
  0xf6: { operands: ["Eb"], group: [["test~", "Ib"], ["test~", "Ib"], ["not~"], ["neg~"], ["mul~"], ["imul~"], ["div~"], ["idiv~"]] },
  0xf7: { operands: ["Ev"], group: [["test~", "Iz"], ["test~", "Iz"], ["not~"], ["neg~"], ["mul~"], ["imul~"], ["div~"], ["idiv~"]] },
  0xf8: ["clc"], 0xf9: ["stc"], 0xfa: ["cli"], 0xfb: ["sti"], 0xfc: ["cld"], 0xfd: ["std"],
  0xfe: { operands: ["Eb"], group: [["inc~"], ["dec~"], null, null, null, null, null, null] },
  0xff: { operands: [], group: [["inc~", "Ev"], ["dec~", "Ev"], ["call&", "*Ev"], ["lcall&", "*Mp"], ["jmp&", "*Ev"], ["ljmp&", "*Mp"], ["push&", "Ev"], null] },
});
for (let r = 0; r < 8; r++) {
  ONE_BYTE[0x40 + r] = ["inc", `rv${r}`];
  ONE_BYTE[0x48 + r] = ["dec", `rv${r}`];
  ONE_BYTE[0x50 + r] = ["push", `rv${r}`];
  ONE_BYTE[0x58 + r] = ["pop", `rv${r}`];
  if (r) ONE_BYTE[0x90 + r] = ["xchg", `rv${r}`, "%eAX"];
  ONE_BYTE[0xb0 + r] = ["mov", `rb${r}`, "Ib"];
  ONE_BYTE[0xb8 + r] = ["mov", `rv${r}`, "Iv"];
}
for (let c = 0; c < 16; c++) ONE_BYTE[0x70 + c] = [`j${CC[c]}`, "Jb"];
for (const [op, ops] of [[0x80, ["Eb", "Ib"]], [0x81, ["Ev", "Iz"]], [0x82, ["Eb", "Ib"]], [0x83, ["Ev", "Ibs"]]] as const)
  ONE_BYTE[op] = { operands: ops, group: ALU.map((n) => [`${n}~`]) };

/** The two-byte map (0F xx) for its instructions that are not SSE/MMX (those are in {@link SSE}). */
export const TWO_BYTE: (OpcodeEntry | GroupEntry | null)[] = new Array(256).fill(null);
Object.assign(TWO_BYTE, {
  0x00: {
    operands: [], group: [["sldt", "Mw"], ["str", "Mw"], ["lldt", "Ew"], ["ltr", "Ew"], ["verr", "Ew"], ["verw", "Ew"], null, null],
    registerForms: [["sldt", "Ev"], ["str", "Ev"], ["lldt", "Ew"], ["ltr", "Ew"], ["verr", "Ew"], ["verw", "Ew"], null, null],
  },
  0x01: { operands: [], group: [["sgdt!", "M"], ["sidt!", "M"], ["lgdt!", "M"], ["lidt!", "M"], ["smsw", "Mw"], null, ["lmsw", "Mw"], ["invlpg", "M"]] },
  0x02: ["lar", "Gv", "Ev"], 0x03: ["lsl", "Gv", "Ev"], 0x05: ["syscall"], 0x06: ["clts"], 0x07: ["sysret"],
  0x08: ["invd"], 0x09: ["wbinvd"], 0x0b: ["ud2"], 0x0e: ["femms"], 0x37: ["getsec"],
  0x1a: { operands: [], group: new Array(8).fill(["bndldx", "Bq", "M"]), registerForms: new Array(8).fill(["nop~", "Ev"]) },
  0x1b: { operands: [], group: new Array(8).fill(["bndstx", "M", "Bq"]), registerForms: new Array(8).fill(["nop~", "Ev"]) },
  0x0d: { operands: ["M"], group: [["prefetch"], ["prefetchw"], ["prefetchwt1"], ["prefetch"], ["prefetch"], ["prefetch"], ["prefetch"], ["prefetch"]] },
  0x18: {
    operands: [], group: [["prefetchnta", "M"], ["prefetcht0", "M"], ["prefetcht1", "M"], ["prefetcht2", "M"], ["nop~", "Ev"], ["nop~", "Ev"], ["nop~", "Ev"], ["nop~", "Ev"]],
    registerForms: new Array(8).fill(["nop~", "Ev"]),
  },
  0x1c: ["nop~", "Ev"], // (CLDEMOTE without a prefix: in SSE)
  0x20: ["mov", "Rd", "Cd"], 0x21: ["mov", "Rd", "Dd"], 0x22: ["mov", "Cd", "Rd"], 0x23: ["mov", "Dd", "Rd"],
  0x24: ["mov", "Rd", "Td"], 0x26: ["mov", "Td", "Rd"], // the 386's and 486's test registers
  0x30: ["wrmsr"], 0x31: ["rdtsc"], 0x32: ["rdmsr"], 0x33: ["rdpmc"], 0x34: ["sysenter"], 0x35: ["sysexit"],
  0x77: ["emms"], 0x78: ["vmread", "Ed", "Gd"], 0x79: ["vmwrite", "Gd", "Ed"],
  0xa0: ["push&", "%fs"], 0xa1: ["pop&", "%fs"], 0xa2: ["cpuid"], 0xa3: ["bt", "Ev", "Gv"],
  0xa4: ["shld", "Ev", "Gv", "Ib"], 0xa5: ["shld", "Ev", "Gv", "%cl"],
  0xa8: ["push&", "%gs"], 0xa9: ["pop&", "%gs"], 0xaa: ["rsm"], 0xab: ["bts", "Ev", "Gv"],
  0xac: ["shrd", "Ev", "Gv", "Ib"], 0xad: ["shrd", "Ev", "Gv", "%cl"], 0xaf: ["imul", "Gv", "Ev"],
  0xb0: ["cmpxchg", "Eb", "Gb"], 0xb1: ["cmpxchg", "Ev", "Gv"], 0xb2: ["lss", "Gv", "Mp"], 0xb3: ["btr", "Ev", "Gv"],
  0xb4: ["lfs", "Gv", "Mp"], 0xb5: ["lgs", "Gv", "Mp"], 0xb6: ["movzb!", "Gv", "Eb"], 0xb7: ["movzw!", "Gv", "Ew"],
  0xb9: ["ud1", "Gv", "Ev"],
  0xba: { operands: ["Ev", "Ib"], group: [null, null, null, null, ["bt~"], ["bts~"], ["btr~"], ["btc~"]] },
  0xbb: ["btc", "Ev", "Gv"], 0xbc: ["bsf", "Gv", "Ev"], 0xbd: ["bsr", "Gv", "Ev"], 0xbe: ["movsb!", "Gv", "Eb"], 0xbf: ["movsw!", "Gv", "Ew"],
  0xc0: ["xadd", "Eb", "Gb"], 0xc1: ["xadd", "Ev", "Gv"],
  0xc7: { operands: [], group: [null, ["cmpxchg8b", "Mq"], null, ["xrstors", "M"], ["xsavec", "M"], ["xsaves", "M"], ["vmptrld", "Mq"], ["vmptrst", "Mq"]], registerForms: [null, null, null, null, null, null, ["rdrand", "Rv"], ["rdseed", "Rv"]] },
  0xff: ["ud0", "Gv", "Ev"],
});
for (let c = 0; c < 16; c++) {
  TWO_BYTE[0x40 + c] = [`cmov${CC[c]}`, "Gv", "Ev"];
  TWO_BYTE[0x80 + c] = [`j${CC[c]}`, "Jz"];
  TWO_BYTE[0x90 + c] = [`set${CC[c]}`, "Eb"];
}
for (let r = 0; r < 8; r++) TWO_BYTE[0xc8 + r] = ["bswap", `rv${r}`];
for (const op of [0x19, 0x1d, 0x1e, 0x1f]) TWO_BYTE[op] = ["nop~", "Ev"];

/** 0F 01 with a register ModRM (mod 3) under a mandatory prefix, by prefix and the whole ModRM byte. */
export const GROUP7_REGISTER_PREFIXED: Record<number, Record<number, string>> = {
  0x66: { 0xcc: "tdcall" },
  0xf3: { 0xd9: "vmgexit", 0xe8: "setssbsy", 0xea: "saveprevssp", 0xfa: "mcommit" },
  0xf2: { 0xd9: "vmgexit", 0xe8: "xsusldtrk", 0xe9: "xresldtrk", 0xff: "pvalidate" },
};

/** 0F 01 with a register ModRM (mod 3): fixed encodings named by the whole ModRM byte. */
export const GROUP7_REGISTER: Record<number, string> = {
  0xc0: "enclv", 0xc1: "vmcall", 0xc2: "vmlaunch", 0xc3: "vmresume", 0xc4: "vmxoff", 0xc5: "pconfig", 0xc6: "wrmsrns",
  0xc8: "monitor %eax,%ecx,%edx", 0xc9: "mwait %eax,%ecx", 0xca: "clac", 0xcb: "stac", 0xcf: "encls",
  0xd0: "xgetbv", 0xd1: "xsetbv", 0xd4: "vmfunc", 0xd5: "xend", 0xd6: "xtest", 0xd7: "enclu",
  0xd8: "vmrun", 0xd9: "vmmcall", 0xda: "vmload", 0xdb: "vmsave", 0xdc: "stgi", 0xdd: "clgi", 0xde: "skinit", 0xdf: "invlpga",
  0xe8: "serialize", 0xee: "rdpkru", 0xef: "wrpkru",
  0xf8: "swapgs", 0xf9: "rdtscp", 0xfa: "monitorx %eax,%ecx,%edx", 0xfb: "mwaitx %eax,%ecx,%ebx", 0xfc: "clzero", 0xfd: "rdpru",
  0xfe: "invlpgb", 0xff: "tlbsync",
};

// 0F AE (group 15): state saves and fences; with prefixes, in SSE.
TWO_BYTE[0xae] = {
  operands: [], group: ["fxsave", "fxrstor", "ldmxcsr", "stmxcsr", "xsave", "xrstor", "xsaveopt", "clflush"].map((n) => [n, "M"]),
  registerForms: [null, null, null, null, null, ["lfence"], ["mfence"], ["sfence"]],
};
// VIA PadLock
TWO_BYTE[0xa6] = { operands: [], group: new Array(8).fill(null), registerForms: [["montmul"], ["xsha1"], ["xsha256"], null, null, null, null, null] };
TWO_BYTE[0xa7] = {
  operands: [], group: new Array(8).fill(null),
  registerForms: [["xstore-rng"], ["xcrypt-ecb"], ["xcrypt-cbc"], ["xcrypt-ctr"], ["xcrypt-cfb"], ["xcrypt-ofb"], null, null],
};

/**
 * SSE, SSE2, SSE3, SSSE3, SSE4 and MMX: keyed by the mandatory prefix (none, 66, F3, F2) and the opcode after 0F
 * (or 0F 38 / 0F 3A, as 0x38xx / 0x3axx).
 */
export type SsePrefix = "" | "66" | "f3" | "f2";
export const SSE: Record<SsePrefix, Record<number, OpcodeEntry | GroupEntry>> = { "": {}, "66": {}, "f3": {}, "f2": {} };

/** An opcode that is one instruction with a memory operand and another with a register (MOVLPS / MOVHLPS). */
function byMod(memory: OpcodeEntry, register: OpcodeEntry | null): GroupEntry {
  return { operands: [], group: new Array(8).fill(memory), registerForms: new Array(8).fill(register) };
}

function sse(prefix: SsePrefix, op: number, mnemonic: string, ...operands: string[]): void {
  SSE[prefix][op] = [mnemonic, ...operands];
}
/** The packed-single form (no prefix) and packed-double form (66). */
function psPd(op: number, name: string, ...operands: string[]): void {
  sse("", op, `${name}ps`, ...operands);
  sse("66", op, `${name}pd`, ...operands);
}
/** All four: ps, pd, ss (F3), sd (F2). */
function allFour(op: number, name: string): void {
  psPd(op, name, "Vx", "Wx");
  sse("f3", op, `${name}ss`, "Vx", "Wx");
  sse("f2", op, `${name}sd`, "Vx", "Wx");
}
/** An MMX instruction (no prefix, MMX registers) that SSE2 extends to XMM registers with a 66 prefix. */
function mmxSse2(op: number, name: string): void {
  sse("", op, name, "Pq", "Qq");
  sse("66", op, name, "Vx", "Wx");
}

psPd(0x10, "movu", "Vx", "Wx"); psPd(0x11, "movu", "Wx", "Vx");
sse("f3", 0x10, "movss", "Vx", "Wx"); sse("f3", 0x11, "movss", "Wx", "Vx");
sse("f2", 0x10, "movsd", "Vx", "Wx"); sse("f2", 0x11, "movsd", "Wx", "Vx");
SSE[""][0x12] = byMod(["movlps", "Vx", "Mq"], ["movhlps", "Vx", "Ux"]); sse("66", 0x12, "movlpd", "Vx", "Mq"); sse("f3", 0x12, "movsldup", "Vx", "Wx"); sse("f2", 0x12, "movddup", "Vx", "Wx");
sse("", 0x13, "movlps", "Mq", "Vx"); sse("66", 0x13, "movlpd", "Mq", "Vx");
psPd(0x14, "unpckl", "Vx", "Wx"); psPd(0x15, "unpckh", "Vx", "Wx");
SSE[""][0x16] = byMod(["movhps", "Vx", "Mq"], ["movlhps", "Vx", "Ux"]); sse("66", 0x16, "movhpd", "Vx", "Mq"); sse("f3", 0x16, "movshdup", "Vx", "Wx");
sse("", 0x17, "movhps", "Mq", "Vx"); sse("66", 0x17, "movhpd", "Mq", "Vx");
psPd(0x28, "mova", "Vx", "Wx"); psPd(0x29, "mova", "Wx", "Vx");
sse("", 0x2a, "cvtpi2ps", "Vx", "Qq"); sse("66", 0x2a, "cvtpi2pd", "Vx", "Qq");
sse("f3", 0x2a, "cvtsi2ss", "Vx", "Ed"); sse("f2", 0x2a, "cvtsi2sd", "Vx", "Ed");
psPd(0x2b, "movnt", "Mx", "Vx"); sse("f3", 0x2b, "movntss", "Md", "Vx"); sse("f2", 0x2b, "movntsd", "Mq", "Vx");
sse("", 0x2c, "cvttps2pi", "Pq", "Wx"); sse("66", 0x2c, "cvttpd2pi", "Pq", "Wx");
sse("f3", 0x2c, "cvttss2si", "Gd", "Wx"); sse("f2", 0x2c, "cvttsd2si", "Gd", "Wx");
sse("", 0x2d, "cvtps2pi", "Pq", "Wx"); sse("66", 0x2d, "cvtpd2pi", "Pq", "Wx");
sse("f3", 0x2d, "cvtss2si", "Gd", "Wx"); sse("f2", 0x2d, "cvtsd2si", "Gd", "Wx");
sse("", 0x2e, "ucomiss", "Vx", "Wx"); sse("66", 0x2e, "ucomisd", "Vx", "Wx");
sse("", 0x2f, "comiss", "Vx", "Wx"); sse("66", 0x2f, "comisd", "Vx", "Wx");
psPd(0x50, "movmsk", "Gd", "Ux");
allFour(0x51, "sqrt");
sse("", 0x52, "rsqrtps", "Vx", "Wx"); sse("f3", 0x52, "rsqrtss", "Vx", "Wx");
sse("", 0x53, "rcpps", "Vx", "Wx"); sse("f3", 0x53, "rcpss", "Vx", "Wx");
psPd(0x54, "and", "Vx", "Wx"); psPd(0x55, "andn", "Vx", "Wx"); psPd(0x56, "or", "Vx", "Wx"); psPd(0x57, "xor", "Vx", "Wx");
allFour(0x58, "add"); allFour(0x59, "mul");
sse("", 0x5a, "cvtps2pd", "Vx", "Wx"); sse("66", 0x5a, "cvtpd2ps", "Vx", "Wx");
sse("f3", 0x5a, "cvtss2sd", "Vx", "Wx"); sse("f2", 0x5a, "cvtsd2ss", "Vx", "Wx");
sse("", 0x5b, "cvtdq2ps", "Vx", "Wx"); sse("66", 0x5b, "cvtps2dq", "Vx", "Wx"); sse("f3", 0x5b, "cvttps2dq", "Vx", "Wx");
allFour(0x5c, "sub"); allFour(0x5d, "min"); allFour(0x5e, "div"); allFour(0x5f, "max");
[
  "punpcklbw", "punpcklwd", "punpckldq", "packsswb", "pcmpgtb", "pcmpgtw", "pcmpgtd", "packuswb",
  "punpckhbw", "punpckhwd", "punpckhdq", "packssdw",
].forEach((name, i) => mmxSse2(0x60 + i, name));
sse("66", 0x6c, "punpcklqdq", "Vx", "Wx"); sse("66", 0x6d, "punpckhqdq", "Vx", "Wx");
sse("", 0x6e, "movd", "Pq", "Ed"); sse("66", 0x6e, "movd", "Vx", "Ed");
sse("", 0x6f, "movq", "Pq", "Qq"); sse("66", 0x6f, "movdqa", "Vx", "Wx"); sse("f3", 0x6f, "movdqu", "Vx", "Wx");
sse("", 0x70, "pshufw", "Pq", "Qq", "Ib"); sse("66", 0x70, "pshufd", "Vx", "Wx", "Ib");
sse("f3", 0x70, "pshufhw", "Vx", "Wx", "Ib"); sse("f2", 0x70, "pshuflw", "Vx", "Wx", "Ib");
for (const [op, names] of [[0x71, [null, null, "psrlw", null, "psraw", null, "psllw", null]], [0x72, [null, null, "psrld", null, "psrad", null, "pslld", null]], [0x73, [null, null, "psrlq", "psrldq", null, null, "psllq", "pslldq"]]] as const) {
  SSE[""][op] = { operands: ["Nq", "Ib"], group: names.map((n, r) => (n && r !== 3 && r !== 7 ? [n] : null)) };
  SSE["66"][op] = { operands: ["Ux", "Ib"], group: names.map((n) => (n ? [n] : null)) };
}
mmxSse2(0x74, "pcmpeqb"); mmxSse2(0x75, "pcmpeqw"); mmxSse2(0x76, "pcmpeqd");
sse("66", 0x7c, "haddpd", "Vx", "Wx"); sse("f2", 0x7c, "haddps", "Vx", "Wx");
sse("66", 0x7d, "hsubpd", "Vx", "Wx"); sse("f2", 0x7d, "hsubps", "Vx", "Wx");
sse("", 0x7e, "movd", "Ed", "Pq"); sse("66", 0x7e, "movd", "Ed", "Vx"); sse("f3", 0x7e, "movq", "Vx", "Wq");
sse("", 0x7f, "movq", "Qq", "Pq"); sse("66", 0x7f, "movdqa", "Wx", "Vx"); sse("f3", 0x7f, "movdqu", "Wx", "Vx");
sse("f3", 0xb8, "popcnt", "Gv", "Ev"); sse("f3", 0xbc, "tzcnt", "Gv", "Ev"); sse("f3", 0xbd, "lzcnt", "Gv", "Ev");
psPd(0xc2, "cmp", "Vx", "Wx", "Cc"); sse("f3", 0xc2, "cmpss", "Vx", "Wx", "Cc"); sse("f2", 0xc2, "cmpsd", "Vx", "Wx", "Cc");
sse("", 0xc3, "movnti", "Md", "Gd");
sse("", 0xc4, "pinsrw", "Pq", "Ed", "Ib"); sse("66", 0xc4, "pinsrw", "Vx", "Ed", "Ib");
sse("", 0xc5, "pextrw", "Gd", "Nq", "Ib"); sse("66", 0xc5, "pextrw", "Gd", "Ux", "Ib");
psPd(0xc6, "shuf", "Vx", "Wx", "Ib");
sse("66", 0xd0, "addsubpd", "Vx", "Wx"); sse("f2", 0xd0, "addsubps", "Vx", "Wx");
[
  null, "psrlw", "psrld", "psrlq", "paddq", "pmullw", null, "pmovmskb", "psubusb", "psubusw", "pminub", "pand", "paddusb", "paddusw", "pmaxub", "pandn",
  "pavgb", "psraw", "psrad", "pavgw", "pmulhuw", "pmulhw", null, null, "psubsb", "psubsw", "pminsw", "por", "paddsb", "paddsw", "pmaxsw", "pxor",
  null, "psllw", "pslld", "psllq", "pmuludq", "pmaddwd", "psadbw", null, "psubb", "psubw", "psubd", "psubq", "paddb", "paddw", "paddd", null,
].forEach((name, i) => { if (name) mmxSse2(0xd0 + i, name); });
sse("", 0xd7, "pmovmskb", "Gd", "Nq"); sse("66", 0xd7, "pmovmskb", "Gd", "Ux");
sse("66", 0xd6, "movq", "Wq", "Vx"); sse("f3", 0xd6, "movq2dq", "Vx", "Nq"); sse("f2", 0xd6, "movdq2q", "Pq", "Ux");
sse("66", 0xe6, "cvttpd2dq", "Vx", "Wx"); sse("f3", 0xe6, "cvtdq2pd", "Vx", "Wx"); sse("f2", 0xe6, "cvtpd2dq", "Vx", "Wx");
sse("", 0xe7, "movntq", "Mq", "Pq"); sse("66", 0xe7, "movntdq", "Mx", "Vx");
sse("f2", 0xf0, "lddqu", "Vx", "Mx");
sse("", 0xf7, "maskmovq", "Pq", "Nq"); sse("66", 0xf7, "maskmovdqu", "Vx", "Ux");

// 0F 38 (SSSE3, SSE4.1, SSE4.2): MMX and XMM forms for SSSE3, XMM only (66) for SSE4.
[
  "pshufb", "phaddw", "phaddd", "phaddsw", "pmaddubsw", "phsubw", "phsubd", "phsubsw", "psignb", "psignw", "psignd", "pmulhrsw",
].forEach((name, i) => mmxSse2(0x3800 + i, name));
mmxSse2(0x381c, "pabsb"); mmxSse2(0x381d, "pabsw"); mmxSse2(0x381e, "pabsd");
for (const [op, name] of [
  [0x10, "pblendvb"], [0x14, "blendvps"], [0x15, "blendvpd"],
] as const) sse("66", 0x3800 + op, name, "Vx", "Wx", "%xmm0");
for (const [op, name] of [
  [0x17, "ptest"], [0x20, "pmovsxbw"], [0x21, "pmovsxbd"], [0x22, "pmovsxbq"], [0x23, "pmovsxwd"], [0x24, "pmovsxwq"], [0x25, "pmovsxdq"],
  [0x28, "pmuldq"], [0x29, "pcmpeqq"], [0x2b, "packusdw"], [0x30, "pmovzxbw"], [0x31, "pmovzxbd"], [0x32, "pmovzxbq"],
  [0x33, "pmovzxwd"], [0x34, "pmovzxwq"], [0x35, "pmovzxdq"], [0x37, "pcmpgtq"], [0x38, "pminsb"], [0x39, "pminsd"],
  [0x3a, "pminuw"], [0x3b, "pminud"], [0x3c, "pmaxsb"], [0x3d, "pmaxsd"], [0x3e, "pmaxuw"], [0x3f, "pmaxud"], [0x40, "pmulld"],
  [0x41, "phminposuw"],
] as const) sse("66", 0x3800 + op, name, "Vx", "Wx");
sse("66", 0x382a, "movntdqa", "Vx", "Mx");
sse("f2", 0x38f0, "crc32~", "Gd", "Eb"); sse("f2", 0x38f1, "crc32~", "Gd", "Ev");
sse("", 0x38f0, "movbe", "Gv", "Mv"); sse("", 0x38f1, "movbe", "Mv", "Gv");
sse("66", 0x3880, "invept", "Gd", "Mx"); sse("66", 0x3881, "invvpid", "Gd", "Mx"); sse("66", 0x3882, "invpcid", "Gd", "Mx");
// SHA, GFNI, ADX, direct stores, CET shadow-stack writes, RAO-INT
for (const [op, name] of [[0xc8, "sha1nexte"], [0xc9, "sha1msg1"], [0xca, "sha1msg2"], [0xcc, "sha256msg1"], [0xcd, "sha256msg2"]] as const)
  sse("", 0x3800 + op, name, "Vx", "Wx");
sse("", 0x38cb, "sha256rnds2", "Vx", "Wx", "%xmm0"); sse("", 0x3acc, "sha1rnds4", "Vx", "Wx", "Ib");
sse("66", 0x38cf, "gf2p8mulb", "Vx", "Wx"); sse("66", 0x3ace, "gf2p8affineqb", "Vx", "Wx", "Ib"); sse("66", 0x3acf, "gf2p8affineinvqb", "Vx", "Wx", "Ib");
sse("66", 0x38f6, "adcx", "Gd", "Ed"); sse("f3", 0x38f6, "adox", "Gd", "Ed");
sse("", 0x38f6, "wrssd", "Md", "Gd"); sse("66", 0x38f5, "wrussd", "Md", "Gd");
sse("", 0x38f9, "movdiri", "Md", "Gd"); sse("66", 0x38f8, "movdir64b", "Ga", "M"); sse("f2", 0x38f8, "enqcmd", "Ga", "M"); sse("f3", 0x38f8, "enqcmds", "Ga", "M");
sse("", 0x38fc, "aadd", "Md", "Gd"); sse("66", 0x38fc, "aand", "Md", "Gd"); sse("f2", 0x38fc, "aor", "Md", "Gd"); sse("f3", 0x38fc, "axor", "Md", "Gd");
sse("f3", 0x09, "wbnoinvd");
SSE["66"][0xae] = {
  operands: [], group: [null, null, null, null, null, null, ["clwb", "M"], ["clflushopt", "M"]],
  registerForms: [null, null, null, null, null, null, ["tpause", "Rd"], null],
};
SSE.f3[0xae] = {
  operands: [], group: [null, null, null, null, ["ptwrite", "Ed"], null, ["clrssbsy", "Mq"], null],
  registerForms: [["rdfsbase", "Rv"], ["rdgsbase", "Rv"], ["wrfsbase", "Rv"], ["wrgsbase", "Rv"], ["ptwrite", "Ed"], ["incsspd", "Rd"], ["umonitor", "Rv"], null],
};
SSE.f2[0xae] = { operands: [], group: new Array(8).fill(null), registerForms: [null, null, null, null, null, null, ["umwait", "Rd"], null] };
SSE.f3[0x1e] = { operands: [], group: new Array(8).fill(null), registerForms: [null, ["rdsspd", "Rd"], null, null, null, null, null, null] };
SSE[""][0x1c] = { operands: ["Ev"], group: [["cldemote"], ["nop~"], ["nop~"], ["nop~"], ["nop~"], ["nop~"], ["nop~"], ["nop~"]], registerForms: new Array(8).fill(["nop~", "Ev"]) };
// MPX (the bound registers; NOPs on a CPU without it), by mandatory prefix.
sse("66", 0x1a, "bndmov", "Bq", "Bm"); sse("66", 0x1b, "bndmov", "Bm", "Bq");
sse("f3", 0x1a, "bndcl", "Bq", "Ed"); sse("f2", 0x1a, "bndcu", "Bq", "Ed"); sse("f2", 0x1b, "bndcn", "Bq", "Ed");
SSE.f3[0x1b] = { operands: [], group: new Array(8).fill(["bndmk", "Bq", "M"]), registerForms: new Array(8).fill(null) };
// SSE4a (AMD)
sse("66", 0x78, "extrq", "Ux", "Ib", "Ib"); sse("f2", 0x78, "insertq", "Vx", "Ux", "Ib", "Ib");
sse("66", 0x79, "extrq", "Vx", "Ux"); sse("f2", 0x79, "insertq", "Vx", "Ux");
// Key Locker
for (const [op, name] of [[0xdc, "aesenc128kl"], [0xdd, "aesdec128kl"], [0xde, "aesenc256kl"], [0xdf, "aesdec256kl"]] as const)
  SSE.f3[0x3800 + op] = byMod([name, "Vx", "M"], op === 0xdc ? ["loadiwkey", "Vx", "Ux"] : null);
SSE.f3[0x38d8] = { operands: ["M"], group: [["aesencwide128kl"], ["aesdecwide128kl"], ["aesencwide256kl"], ["aesdecwide256kl"], null, null, null, null] };
sse("f3", 0x38fa, "encodekey128", "Gd", "Rd"); sse("f3", 0x38fb, "encodekey256", "Gd", "Rd");
for (const [op, name] of [[0xdb, "aesimc"], [0xdc, "aesenc"], [0xdd, "aesenclast"], [0xde, "aesdec"], [0xdf, "aesdeclast"]] as const)
  sse("66", 0x3800 + op, name, "Vx", "Wx");
// 0F C7 /6 and /7 in memory form, named by their mandatory prefix (VMX); the unprefixed ones are in TWO_BYTE.
SSE["66"][0xc7] = { operands: [], group: [null, null, null, null, null, null, ["vmclear", "Mq"], null], registerForms: new Array(8).fill(null) };
SSE.f3[0xc7] = { operands: [], group: [null, null, null, null, null, null, ["vmxon", "Mq"], null], registerForms: [null, null, null, null, null, null, null, ["rdpid", "Rd"]] };

// 0F 3A: an imm8 after ModRM.
sse("", 0x3a0f, "palignr", "Pq", "Qq", "Ib"); sse("66", 0x3a0f, "palignr", "Vx", "Wx", "Ib");
for (const [op, name, ...ops] of [
  [0x08, "roundps", "Vx", "Wx"], [0x09, "roundpd", "Vx", "Wx"], [0x0a, "roundss", "Vx", "Wx"], [0x0b, "roundsd", "Vx", "Wx"],
  [0x0c, "blendps", "Vx", "Wx"], [0x0d, "blendpd", "Vx", "Wx"], [0x0e, "pblendw", "Vx", "Wx"],
  [0x14, "pextrb", "Ed", "Vx"], [0x15, "pextrw", "Ed", "Vx"], [0x16, "pextrd", "Ed", "Vx"], [0x17, "extractps", "Ed", "Vx"],
  [0x20, "pinsrb", "Vx", "Ed"], [0x21, "insertps", "Vx", "Wx"], [0x22, "pinsrd", "Vx", "Ed"],
  [0x40, "dpps", "Vx", "Wx"], [0x41, "dppd", "Vx", "Wx"], [0x42, "mpsadbw", "Vx", "Wx"], [0xdf, "aeskeygenassist", "Vx", "Wx"],
  [0x60, "pcmpestrm", "Vx", "Wx"], [0x61, "pcmpestri", "Vx", "Wx"], [0x62, "pcmpistrm", "Vx", "Wx"], [0x63, "pcmpistri", "Vx", "Wx"],
] as const) sse("66", 0x3a00 + op, name, ...ops, "Ib");

/** x87 memory forms, by escape byte (D8-DF) and ModRM reg. */
export const X87_MEMORY: readonly (readonly (string | null)[])[] = [
  ["fadds", "fmuls", "fcoms", "fcomps", "fsubs", "fsubrs", "fdivs", "fdivrs"],
  ["flds", null, "fsts", "fstps", "fldenv", "fldcw", "fnstenv", "fnstcw"],
  ["fiaddl", "fimull", "ficoml", "ficompl", "fisubl", "fisubrl", "fidivl", "fidivrl"],
  ["fildl", "fisttpl", "fistl", "fistpl", null, "fldt", null, "fstpt"],
  ["faddl", "fmull", "fcoml", "fcompl", "fsubl", "fsubrl", "fdivl", "fdivrl"],
  ["fldl", "fisttpll", "fstl", "fstpl", "frstor", null, "fnsave", "fnstsw"],
  ["fiadds", "fimuls", "ficoms", "ficomps", "fisubs", "fisubrs", "fidivs", "fidivrs"],
  ["filds", "fisttps", "fists", "fistps", "fbld", "fildll", "fbstp", "fistpll"],
];

/**
 * x87 register forms, by escape byte and ModRM reg: a name with its operands ("i" is %st(i)), or per-ModRM names for
 * the rows of fixed instructions. AT&T's fsub/fsubr and fdiv/fdivr are swapped against Intel's for the DC and DE
 * forms (the UnixWare assembler's convention, which GNU as and objdump keep): DC E8+i, Intel's FSUB ST(i),ST(0),
 * is `fsubr %st,%st(i)` — so these rows read, by ModRM reg, in D8's order.
 */
export const X87_REGISTER: readonly (readonly (string | readonly (string | null)[] | null)[])[] = [
  ["fadd i,st", "fmul i,st", "fcom i", "fcomp i", "fsub i,st", "fsubr i,st", "fdiv i,st", "fdivr i,st"],
  ["fld i", "fxch i", ["fnop", null, null, null, null, null, null, null], null,
    ["fchs", "fabs", null, null, "ftst", "fxam", null, null],
    ["fld1", "fldl2t", "fldl2e", "fldpi", "fldlg2", "fldln2", "fldz", null],
    ["f2xm1", "fyl2x", "fptan", "fpatan", "fxtract", "fprem1", "fdecstp", "fincstp"],
    ["fprem", "fyl2xp1", "fsqrt", "fsincos", "frndint", "fscale", "fsin", "fcos"]],
  ["fcmovb i,st", "fcmove i,st", "fcmovbe i,st", "fcmovu i,st", null, [null, "fucompp", null, null, null, null, null, null], null, null],
  ["fcmovnb i,st", "fcmovne i,st", "fcmovnbe i,st", "fcmovnu i,st",
    ["fneni(8087 only)", "fndisi(8087 only)", "fnclex", "fninit", "fnsetpm(287 only)", "frstpm(287 only)", null, null], "fucomi i,st", "fcomi i,st", null],
  ["fadd st,i", "fmul st,i", null, null, "fsub st,i", "fsubr st,i", "fdiv st,i", "fdivr st,i"],
  ["ffree i", null, "fst i", "fstp i", "fucom i", "fucomp i", null, null],
  ["faddp st,i", "fmulp st,i", null, [null, "fcompp", null, null, null, null, null, null], "fsubp st,i", "fsubrp st,i", "fdivp st,i", "fdivrp st,i"],
  ["ffreep i", null, null, null, ["fnstsw %ax", null, null, null, null, null, null, null], "fucomip i,st", "fcomip i,st", null],
];

sse("66", 0x3a44, "pclmulqdq", "Vx", "Wx", "Cq");

/**
 * The VEX forms (AVX) of the SSE instructions above take a second source in VEX.vvvv — `vxorps %xmm2,%xmm1,%xmm0` —
 * except the moves, conversions and shuffles with one source. Opcodes (after 0F, or 0x38xx / 0x3axx) whose VEX
 * form has it, for any mandatory prefix unless listed by prefix.
 */
export const VEX_SECOND_SOURCE = new Set<number>([
  0x12, 0x16, 0x14, 0x15, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x7c, 0x7d, 0xc2, 0xc4, 0xc6,
  ...range(0x60, 0x6d), 0x74, 0x75, 0x76, ...range(0xd0, 0xd5), ...range(0xd8, 0xdf), ...range(0xe0, 0xe5), ...range(0xe8, 0xef),
  ...range(0xf1, 0xf6), ...range(0xf8, 0xfe),
  ...range(0x3800, 0x380b), 0x3828, 0x3829, 0x382b, ...range(0x3837, 0x3840), ...range(0x38dc, 0x38df), 0x38cf, 0x3ace, 0x3acf,
  ...range(0x3a0c, 0x3a0f), 0x3a0a, 0x3a0b, 0x3a20, 0x3a21, 0x3a22, 0x3a40, 0x3a41, 0x3a42, 0x3a44,
]);
/** Scalar forms (F3/F2) that take the second source where the packed forms do not. */
export const VEX_SECOND_SOURCE_SCALAR = new Set<number>([0x2a, 0x51, 0x52, 0x53, 0x5a]);

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** objdump's names for PCLMULQDQ's four meaningful immediates (pclmullqlqdq …); others print as an operand. */
export const PCLMUL_PREDICATES: Record<number, string> = { 0x00: "lqlq", 0x01: "hqlq", 0x10: "lqhq", 0x11: "hqhq" };

/**
 * objdump's names for the CMPPS/CMPPD/CMPSS/CMPSD predicates (cmpeqps …): 0-7 for SSE, all 32 for the VEX forms;
 * other immediates print as an operand.
 */
export const CMP_PREDICATES = [
  "eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord", "eq_uq", "nge", "ngt", "false", "neq_oq", "ge", "gt", "true",
  "eq_os", "lt_oq", "le_oq", "unord_s", "neq_us", "nlt_uq", "nle_uq", "ord_s", "eq_us", "nge_uq", "ngt_uq", "false_os", "neq_os", "ge_oq", "gt_oq", "true_us",
];
