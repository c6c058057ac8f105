/**
 * A bootable disk image for booting Linux the way a PC does — BIOS, boot
 * loader, kernel — rather than by loading the kernel directly: a FAT file
 * system holding a bzImage, an initrd and SYSLINUX (its boot sector at
 * sector 0, as on a partitionless "superfloppy"), which loads them through
 * the BIOS's INT 13h and gives Linux the command line of its syslinux.cfg.
 * Built with Debian's tools — mkfs.fat (dosfstools), mcopy (mtools) and
 * syslinux — none of which needs root. `npm run boot-disk` makes one from
 * the cached Debian kernel and busybox (scripts/boot-disk.mjs). Node-only.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxInitramfs } from "../boot/initramfs.js";
import { driverModules } from "../boot/kmod.js";
import { cacheDir, cachedModules, findCachedImages, type CachedImages } from "./images.js";

/** The host programs {@link makeBootDisk} runs, and the Debian packages that have them. */
export const BOOT_DISK_TOOLS = [["mkfs.fat", "dosfstools"], ["mcopy", "mtools"], ["syslinux", "syslinux"]] as const;

/** The tools {@link makeBootDisk} needs that are not installed (their package names), or an empty list. */
export function missingBootDiskTools(): string[] {
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), "/sbin", "/usr/sbin"];
  const executable = (p: string) => { try { accessSync(p, constants.X_OK); return true; } catch { return false; } };
  return BOOT_DISK_TOOLS.filter(([tool]) => !dirs.some((d) => executable(join(d, tool)))).map(([, pkg]) => pkg);
}

export interface BootDiskOptions {
  kernel: Uint8Array;
  initrd: Uint8Array;
  /** The kernel command line (syslinux.cfg's APPEND). */
  append: string;
  /** The image's size in MiB (default: the files plus 8 MiB, at least 16). */
  sizeMiB?: number;
}

/** Write a SYSLINUX boot disk to `out`. Throws with one line naming the tool that failed or is missing. */
export function makeBootDisk(out: string, o: BootDiskOptions): void {
  const missing = missingBootDiskTools();
  if (missing.length > 0) throw new Error(`making a boot disk needs ${missing.join(", ")} (Debian: apt-get install ${missing.join(" ")})`);
  const payload = o.kernel.length + o.initrd.length;
  const sizeMiB = o.sizeMiB ?? Math.max(16, Math.ceil(payload / (1 << 20)) + 8);
  if (payload + (1 << 20) > sizeMiB << 20) throw new Error(`a ${sizeMiB} MiB disk cannot hold the kernel and initrd (${(payload / 1048576).toFixed(1)} MiB)`);
  const tmp = mkdtempSync(join(tmpdir(), "symbiont-boot-disk-"));
  const env = { ...process.env, PATH: `${process.env.PATH ?? ""}:/sbin:/usr/sbin`, MTOOLS_SKIP_CHECK: "1" };
  const step = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: "utf8", env });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${(r.stderr || r.stdout || String(r.error ?? "")).trim().split("\n").pop()}`);
  };
  try {
    writeFileSync(join(tmp, "vmlinuz"), o.kernel);
    writeFileSync(join(tmp, "initrd.img"), o.initrd);
    // No prompt and no timeout: straight to Linux. (No SERIAL line: SYSLINUX's screen reaches COM1 through the
    // firmware's serial console — SeaBIOS's under QEMU -nographic and here — and would come twice.)
    writeFileSync(join(tmp, "syslinux.cfg"), ["DEFAULT linux", "PROMPT 0", "TIMEOUT 0", "LABEL linux",
      "  KERNEL vmlinuz", "  INITRD initrd.img", `  APPEND ${o.append}`, ""].join("\n"));
    rmSync(out, { force: true });
    step("mkfs.fat", ["-C", "-n", "SYMBIONT", out, String(sizeMiB * 1024)]);
    step("mcopy", ["-i", out, join(tmp, "vmlinuz"), join(tmp, "initrd.img"), join(tmp, "syslinux.cfg"), "::"]);
    step("syslinux", ["--install", out]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The kernel command line of `npm run boot-disk`'s disks: the serial console, ACPI on (the firmware's tables). */
export const BOOT_DISK_CMDLINE = "console=ttyS0 nokaslr cryptomgr.notests noisapnp";

/**
 * The initramfs of a boot disk: the cached busybox, and the modules for the PC's disks (virtio-blk, IDE) and the
 * boot disk's own FAT file system, so the guest can mount what it booted from; `run` as in busyboxInitramfs.
 */
export function bootDiskInitramfs(images: CachedImages, run?: string): Uint8Array {
  return busyboxInitramfs({
    busybox: new Uint8Array(readFileSync(images.busybox)),
    modules: cachedModules(images, driverModules(["pvpanic", "virtio-rng", "virtio-blk", "ide", "vfat"])),
    ...(run ? { run } : {}),
  });
}

/** `npm run boot-disk [-- OUT]`: a SYSLINUX disk with the cached Debian kernel and busybox initramfs. Returns the exit status. */
export function bootDiskMain(argv: string[]): number {
  if (argv.some((a) => a.startsWith("-")) || argv.length > 1) {
    const usage = `usage: npm run boot-disk [-- OUT]   (default OUT: ${join(cacheDir(), "boot-disk.img")})\n` +
      "  a FAT disk image with SYSLINUX, the Debian kernel and the busybox initramfs of npm run images, for\n" +
      "  symbiont run --disk OUT (SeaBIOS, SYSLINUX, Linux). Needs mkfs.fat, mcopy and syslinux.\n";
    const help = argv.includes("-h") || argv.includes("--help");
    process[help ? "stdout" : "stderr"].write(help ? usage : `boot-disk: unknown arguments ${argv.join(" ")}\n${usage}`);
    return help ? 0 : 2;
  }
  const out = argv[0] ?? join(cacheDir(), "boot-disk.img");
  try {
    const images = findCachedImages();
    if (!images) throw new Error(`the Debian images are not cached in ${cacheDir()}: run "npm run images" first`);
    makeBootDisk(out, { kernel: new Uint8Array(readFileSync(images.kernel)), initrd: bootDiskInitramfs(images), append: BOOT_DISK_CMDLINE });
    process.stdout.write(`${out}  ${statSync(out).size >> 20} MiB: SYSLINUX, ${images.kernelPackage}, busybox initramfs\n` +
      `boot it: npx symbiont run --disk ${out}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`boot-disk: ${(e as Error).message}\n`);
    return 1;
  }
}
