// v86 booting Linux, as the Linux and snapshot benchmarks run it (linux-child.mjs, snapshot-child.mjs): the npm
// package, SeaBIOS from BENCH_V86_BIOS (its linuxboot option ROM boots the bzImage), and the emulator's options.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

/** SeaBIOS's directory for v86 (bios.bin, vgabios.bin); "none" leaves it out. */
export const V86_BIOS_DIR = process.env.BENCH_V86_BIOS ?? "/usr/share/seabios";

/** Why v86 cannot boot a bzImage here (no SeaBIOS), or null. */
export function v86BiosMissing() {
  if (V86_BIOS_DIR !== "none" && existsSync(join(V86_BIOS_DIR, "bios.bin")) && existsSync(join(V86_BIOS_DIR, "vgabios.bin"))) return null;
  return `v86 needs a BIOS to boot a bzImage (its linuxboot option ROM runs from SeaBIOS): no bios.bin/vgabios.bin in ${V86_BIOS_DIR} (BENCH_V86_BIOS)`;
}

/** The V86 class, and the options of an emulator booting `kernel` with `initrd` in `ramBytes` of RAM. */
export async function v86ForLinux() {
  const v86Dir = join(createRequire(import.meta.url).resolve("v86/package.json"), "..");
  const { V86 } = await import("v86");
  const ab = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const options = ({ ramBytes, kernel, initrd, cmdline, autostart }) => ({
    wasm_path: join(v86Dir, "build/v86.wasm"),
    memory_size: ramBytes,
    vga_memory_size: 2 << 20,
    bios: { buffer: ab(readFileSync(join(V86_BIOS_DIR, "bios.bin"))) },
    vga_bios: { buffer: ab(readFileSync(join(V86_BIOS_DIR, "vgabios.bin"))) },
    bzimage: { buffer: ab(kernel) },
    initrd: { buffer: ab(initrd) },
    cmdline,
    autostart,
    disable_speaker: true,
    disable_keyboard: true,
    disable_mouse: true,
    log_level: 0,
  });
  return { V86, options };
}
