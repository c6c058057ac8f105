// Runs one benchmark kernel on v86 (the npm package), headless, in its own
// process: `node benchmarks/v86-child.mjs KERNEL.elf WARMUP RUNS`.
// Each run is a fresh V86 instance booting the kernel with v86's `multiboot`
// option. The time measured is the kernel's work window, from the newline of
// its "BEGIN name" line to the first byte of its "RESULT name N" line on COM1,
// timestamped in v86's serial0-output-byte listener (called synchronously
// while v86 executes the OUT), so v86's start-up (SeaBIOS, option ROM, Wasm
// instantiation) is not counted.
// A fourth argument "nojit" sets v86's disable_jit (its interpreter only).
// Prints one line "V86JSON {...}" on stdout.
//
// BIOS: SeaBIOS from BENCH_V86_BIOS (a directory with bios.bin and
// vgabios.bin; default /usr/share/seabios, Debian's `seabios` package). With
// BENCH_V86_BIOS=none, or when the files are missing, v86 boots the kernel
// without a BIOS (v86 supports that for multiboot: it loads the kernel
// directly); the mode used is reported.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const [kernelPath, warmupArg, runsArg, jitArg] = process.argv.slice(2);
const noJit = jitArg === "nojit";
const warmup = Number(warmupArg ?? 1);
const runs = Number(runsArg ?? 3);

const require = createRequire(import.meta.url);
const v86Dir = join(require.resolve("v86/package.json"), "..");
const { V86 } = await import("v86");

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }
function ab(buf) { return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength); }

const biosDir = process.env.BENCH_V86_BIOS ?? "/usr/share/seabios";
let bios = null;
if (biosDir !== "none" && existsSync(join(biosDir, "bios.bin")) && existsSync(join(biosDir, "vgabios.bin"))) {
  bios = { bios: readFileSync(join(biosDir, "bios.bin")), vga: readFileSync(join(biosDir, "vgabios.bin")) };
}
const kernel = readFileSync(kernelPath);

// The multiboot loader of v86 maps port 0xF4 to "throw 'HALT'" (its
// kvm-unit-tests exit). The kernel writes it after its RESULT line; the throw
// ends v86's tick and lands here. Anything else is a real error.
process.on("uncaughtException", (e) => {
  if (e === "HALT") return;
  process.stderr.write(`v86: ${e?.stack ?? e}\n`);
  process.exit(1);
});

function once() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const opts = {
      wasm_path: join(v86Dir, "build/v86.wasm"),
      memory_size: 64 << 20,
      vga_memory_size: 2 << 20,
      multiboot: { buffer: ab(kernel) },
      autostart: true,
      disable_speaker: true,
      disable_keyboard: true,
      disable_mouse: true,
      log_level: 0,
      disable_jit: noJit,
    };
    if (bios) { opts.bios = { buffer: ab(bios.bios) }; opts.vga_bios = { buffer: ab(bios.vga) }; }
    const emu = new V86(opts);
    let line = "";
    let tBegin = -1;
    let tEnd = -1;
    const timer = setTimeout(() => reject(new Error(`timed out; serial so far: ${JSON.stringify(line)}`)), 120_000);
    let cBegin = 0;
    let cEnd = 0;
    emu.add_listener("serial0-output-byte", (b) => {
      const now = performance.now();
      const cpu = cpuMs();
      if (b === 10) {
        if (line.startsWith("BEGIN ")) { tBegin = now; cBegin = cpu; }
        else if (line.startsWith("RESULT ")) {
          clearTimeout(timer);
          emu.stop?.().catch(() => {});
          resolve({ startupMs: tBegin - t0, windowMs: tEnd - tBegin, windowCpuMs: cEnd - cBegin, result: line });
        }
        line = "";
        return;
      }
      if (line === "" && b === 0x52 /* R */ && tBegin >= 0) { tEnd = now; cEnd = cpu; }
      line += String.fromCharCode(b);
    });
  });
}

const out = { jit: !noJit, bios: bios ? biosDir : "none", version: JSON.parse(readFileSync(join(v86Dir, "package.json"), "utf8")).version, warmup: [], runs: [] };
for (let i = 0; i < warmup; i++) out.warmup.push(await once());
for (let i = 0; i < runs; i++) out.runs.push(await once());
process.stdout.write(`V86JSON ${JSON.stringify(out)}\n`);
process.exit(0);
