// The disassembler (src/debug/x86-disasm.ts) against GNU objdump, its oracle: every instruction objdump lists —
// in real code (the test kernels here; busybox and Debian's kernel modules when the images are cached) and in an
// enumeration of every opcode under each prefix with a spread of ModRM bytes, in 32-bit and 16-bit code — must
// get the same text and the same length. Where objdump itself gives up ("(bad)" in its text) there is nothing to
// compare, nor where it lists a lone .byte at the end of a section. AVX-only instructions (FMA, AVX2's new ones, BMI,
// AVX-512 mask ops) and AVX-512's EVEX ones, which the CPU does not implement, are "<unknown>" here: their length
// must still be objdump's. Skips, saying so, without objdump (binutils).
import { describe, it, expect } from "vitest";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { disassemble } from "../../src/debug/x86-disasm.js";
import { findCachedImages } from "../../src/node/images.js";
import { haveObjdump, objdump, objdumpBytes, type ObjdumpInstruction } from "../support/objdump.js";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
const PREFIX_BYTES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** VEX- or EVEX-encoded: legacy prefixes, then C4/C5 or 62 with a register-form byte after it. */
function isVex(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length && PREFIX_BYTES.has(b[i]!)) i++;
  return (b[i] === 0xc4 || b[i] === 0xc5 || b[i] === 0x62) && (b[i + 1] ?? 0) >= 0xc0;
}

/**
 * objdump 2.40 names the destination of VMOVSS/VMOVSD's register store %ymm when VEX.L is set, though the
 * instruction ignores L (Intel SDM: VMOVSS, "VEX.LIG"); there the register must be %xmm.
 */
function objdumpQuirk(want: string, got: string): boolean {
  return /^vmovs[sd] /.test(want) && want.replace(/%ymm/g, "%xmm") === got;
}

/** Every listed instruction disassembled from its own bytes (and filler after them): the ones that differ. */
function mismatches(list: ObjdumpInstruction[], bits: 16 | 32): string[] {
  const bad: string[] = [];
  const buf = new Uint8Array(15).fill(0x90);
  for (const insn of list) {
    if (insn.text.includes("(bad)") || insn.text.startsWith(".byte")) continue; // (objdump could not either)
    buf.fill(0x90);
    buf.set(insn.bytes.subarray(0, 15));
    const got = disassemble(buf, insn.address, bits);
    const text = got.text.replace(/\s+/g, " ");
    const sameText = text === insn.text || (text === "<unknown>" && isVex(insn.bytes)) || objdumpQuirk(insn.text, text);
    if (!sameText || got.length !== insn.bytes.length) bad.push(`${insn.address.toString(16)}: ${hex(insn.bytes)}: objdump "${insn.text}", ours "${text}" (${got.length} bytes)`);
  }
  return bad;
}

/** An opcode enumeration: each opcode under each prefix, followed by ModRM, SIB/displacement/immediate bytes. */
function enumeration(): Uint8Array {
  const out: number[] = [];
  const tail = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90];
  for (const p of [[], [0x66], [0xf3], [0xf2], [0x67], [0xf0], [0x26]]) {
    for (let op = 0; op < 256; op++) {
      if (op === 0x0f || PREFIX_BYTES.has(op)) continue;
      for (let m = 0; m < 256; m += 7) out.push(...p, op, m, ...tail);
    }
    for (let op = 0; op < 256; op++) {
      const maps = op === 0x38 || op === 0x3a ? Array.from({ length: 256 }, (_, i) => [op, i]) : [[op]];
      for (const o of maps) for (let m = 0; m < 256; m += o.length > 1 ? 37 : 7) out.push(...p, 0x0f, ...o, m, ...tail);
    }
  }
  // VEX: two- and three-byte prefixes over the maps, both lengths, all four mandatory prefixes, a few vvvv.
  for (const pp of [0, 1, 2, 3]) for (const l of [0, 4]) for (let op = 0; op < 256; op++) for (const m of [0x00, 0x44, 0xc1, 0xd3]) {
    out.push(0xc5, 0xe8 | l | pp, op, m, ...tail);
    for (const map of [2, 3]) out.push(0xc4, 0xe0 | map, 0x58 | l | pp, op, m, ...tail);
  }
  return Uint8Array.from(out);
}

const images = findCachedImages();
const kernelDir = new URL("../kernels/bin/", import.meta.url).pathname;

describe.skipIf(!haveObjdump)(`x/i's disassembler against GNU objdump${haveObjdump ? "" : " (skipped: no objdump; Debian: binutils)"}`, () => {
  it("every instruction of the test kernels (tests/kernels/bin)", () => {
    const files = readdirSync(kernelDir).filter((f) => f.endsWith(".elf")).map((f) => join(kernelDir, f));
    const list = objdump(files);
    expect(list.length).toBeGreaterThan(5000);
    expect(mismatches(list, 32).slice(0, 20)).toEqual([]);
  });

  it.skipIf(!images)(`every instruction of Debian's busybox and of the kernel's x86, crypto and virtio modules${images ? "" : " (skipped: images not cached: npm run images)"}`, () => {
    const modules = join(images!.modules, "kernel");
    const files = [images!.busybox];
    for (const dir of ["arch/x86/crypto", "arch/x86/kvm", "arch/x86/kernel", "crypto", "drivers/virtio", "drivers/net/virtio_net.ko", "lib/raid6"]) {
      const p = join(modules, dir);
      if (!existsSync(p)) continue;
      if (p.endsWith(".ko")) files.push(p);
      else files.push(...readdirSync(p).filter((f) => f.endsWith(".ko")).map((f) => join(p, f)));
    }
    const list = objdump(files);
    expect(list.length).toBeGreaterThan(700_000); // (busybox alone has 469 149)
    expect(mismatches(list, 32).slice(0, 20)).toEqual([]);
  }, 120_000);

  for (const bits of [32, 16] as const) {
    it(`every opcode under each prefix, in ${bits}-bit code`, () => {
      const list = objdumpBytes(enumeration(), bits);
      expect(list.length).toBeGreaterThan(500_000);
      expect(mismatches(list, bits).slice(0, 20)).toEqual([]);
    }, 120_000);
  }
});

describe("the disassembler at the edges of what it is given", () => {
  it("a truncated instruction is (bad), as long as the bytes there; an AVX-only one <unknown> with its length", () => {
    expect(disassemble(Uint8Array.of(0xe8, 0x00, 0x00), 0x1000)).toEqual({ text: "(bad)", length: 3 }); // call rel32, 2 of 4 bytes
    expect(disassemble(Uint8Array.of(0x0f), 0x1000)).toEqual({ text: "(bad)", length: 1 });
    // VFMADD231PS (%eax),%xmm4,%xmm0 — VEX.66.0F38 B8 /r: prefix 3 bytes, opcode, ModRM
    expect(disassemble(Uint8Array.of(0xc4, 0xe2, 0x59, 0xb8, 0x00, 0x90), 0)).toEqual({ text: "<unknown>", length: 5 });
  });

  it("the same bytes read as 16-bit and as 32-bit code (SDM vol. 2, table 2-1 and 2-2: ModRM 00 /r rm=0)", () => {
    expect(disassemble(Uint8Array.of(0x01, 0x00), 0, 32).text).toBe("add    %eax,(%eax)");
    expect(disassemble(Uint8Array.of(0x01, 0x00), 0, 16).text).toBe("add    %ax,(%bx,%si)");
  });
});
