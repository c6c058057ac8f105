// Run a static i386 Linux program on this host, as the native oracle for what the guest prints
// (busybox in tests/linux.test.ts and benchmarks/linux.mjs, the thrashing workloads in the SwapBypass tests): natively where
// the host's kernel runs 32-bit programs, else under QEMU's user-mode emulator, qemu-i386 (Debian's
// qemu-user) — an independent x86 implementation either way. Some hosts' kernels are built without
// IA32 emulation (Firecracker guests among them): there the kernel refuses the ELF, and Node's
// execvp hands the file to /bin/sh as a script.
import { spawnSync, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The smallest i386 ELF executable: one PT_LOAD segment at 0x08048000 whose code is
 * `mov eax, 1 ; mov ebx, 42 ; int 0x80` (exit(42)). A host that exits 42 running it runs i386 programs.
 */
function exit42Elf(): Uint8Array {
  const b = new Uint8Array(96);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // ELF, 32-bit, little-endian, version 1
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, 0x08048054, true); // entry: the code after the headers
  v.setUint32(28, 52, true); // program headers right after this header
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  v.setUint32(52, 1, true); // PT_LOAD
  v.setUint32(60, 0x08048000, true);
  v.setUint32(64, 0x08048000, true);
  v.setUint32(68, 96, true);
  v.setUint32(72, 96, true);
  v.setUint32(76, 5, true); // R X
  v.setUint32(80, 0x1000, true);
  b.set([0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80], 84);
  return b;
}

/** How this host runs i386 programs: natively, under qemu-i386, or not at all (why). */
export type I386Runner = "native" | "qemu-i386" | { error: string };
let how: I386Runner | null = null;

/** How this host runs i386 programs (probed once: a tiny exit(42) program, natively then under qemu-i386). */
export function i386Runner(): I386Runner {
  if (how) return how;
  const dir = mkdtempSync(join(tmpdir(), "symbiont-i386-"));
  try {
    const probe = join(dir, "exit42");
    writeFileSync(probe, exit42Elf());
    chmodSync(probe, 0o755);
    if (spawnSync(probe).status === 42) how = "native";
    else if (spawnSync("qemu-i386", [probe]).status === 42) how = "qemu-i386";
    else how = { error: "this host's kernel runs no i386 programs and qemu-i386 is missing (apt-get install qemu-user)" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return how;
}

/** spawnSync of a static i386 program, natively or under qemu-i386 (throws, saying what to install, when neither can). */
export function spawnI386(program: string, args: string[], opts: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string> {
  const runner = i386Runner();
  if (typeof runner === "object") throw new Error(runner.error);
  return runner === "native" ? spawnSync(program, args, opts) : spawnSync("qemu-i386", [program, ...args], opts);
}

/** The program's standard output; throws on a non-zero exit status, as execFileSync does. */
export function runI386(program: string, args: string[]): string {
  const r = spawnI386(program, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${program} ${args.join(" ")}: status ${r.status}${r.stderr ? `: ${r.stderr.trim()}` : ""}`);
  return r.stdout;
}
