// GNU objdump (binutils) as the disassembler's oracle: its listing of a file, one entry per instruction.
import { spawnSync, execFileSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

export const haveObjdump = spawnSync("objdump", ["--version"], { stdio: "ignore" }).status === 0;

export interface ObjdumpInstruction { address: number; bytes: Uint8Array; text: string }

/**
 * `objdump -d -w` of ELF files, or of a raw file with `{ raw: 16 | 32 }` (`-D -b binary -m i8086|i386`, at
 * `vma`). The text has its whitespace collapsed; a branch target objdump names by symbol (`call 11 <f+0x3>`) is
 * given as the bare address it prints without symbols (`call 0x11`).
 */
export function objdump(files: string[], opts: { raw?: 16 | 32; vma?: number } = {}): ObjdumpInstruction[] {
  const args = opts.raw
    ? ["-D", "-w", "-b", "binary", "-m", opts.raw === 16 ? "i8086" : "i386", ...(opts.vma ? [`--adjust-vma=${opts.vma}`] : []), ...files]
    : ["-d", "-w", ...files];
  const out = execFileSync("objdump", args, { maxBuffer: 1 << 30 }).toString();
  const list: ObjdumpInstruction[] = [];
  for (const line of out.split("\n")) {
    const m = /^ *([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (!m) continue;
    let text = m[3]!.replace(/\s+/g, " ").trim();
    if (/ <[^>]*>$/.test(text)) text = text.replace(/ <[^>]*>$/, "").replace(/ ([0-9a-f]+)$/, " 0x$1");
    list.push({ address: parseInt(m[1]!, 16), bytes: Uint8Array.from(m[2]!.trim().split(" "), (h) => parseInt(h, 16)), text });
  }
  return list;
}

/** objdump's listing of raw bytes as `bits`-bit code at `vma` (written to a temporary file for it). */
export function objdumpBytes(bytes: Uint8Array, bits: 16 | 32, vma = 0): ObjdumpInstruction[] {
  const dir = mkdtempSync(join(tmpdir(), "symbiont-objdump-"));
  try {
    writeFileSync(join(dir, "code.bin"), bytes);
    return objdump([join(dir, "code.bin")], { raw: bits, vma });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
