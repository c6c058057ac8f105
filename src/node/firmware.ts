/**
 * The BIOS a disk boots through: Debian's SeaBIOS (`bios-256k.bin` of the
 * `seabios` package, the build qemu-system-x86 runs), and the VGA BIOS it
 * runs for `--vga` (`vgabios-isavga.bin`, what QEMU's isa-vga loads). `npm run
 * images` fetches the package with the images' private apt state
 * (src/node/images.ts) and keeps the ROMs in the cache:
 *
 * ```
 * seabios.json                    {"bios": "seabios-<version>/bios-256k.bin", "vgabios": "seabios-<version>/vgabios-isavga.bin", "package": "seabios <version>"}
 * seabios-<version>/bios-256k.bin
 * seabios-<version>/vgabios-isavga.bin
 * ```
 *
 * Without them, the system's copies are used where Debian, Ubuntu or Fedora
 * put them (`apt-get install seabios`, or QEMU's). Node-only.
 *
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, debVersion, extract, lastLines, run, updatePrivateApt, versionDir } from "./images.js";

const SEABIOS_PACKAGE = "seabios";
const MANIFEST = "seabios.json";
const ROM = "bios-256k.bin";
const VGA_ROM = "vgabios-isavga.bin";
/** Where distributions install SeaBIOS's 256 KiB ROM (Debian/Ubuntu's seabios package; Fedora's and others' QEMU). */
export const SYSTEM_SEABIOS = ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/bios-256k.bin"];
/** And its ISA VGA BIOS (QEMU's own copy is vgabios.bin, the same build). */
export const SYSTEM_VGABIOS = ["/usr/share/seabios/vgabios-isavga.bin", "/usr/share/qemu/vgabios.bin"];

export interface Firmware {
  /** The ROM image. */
  path: string;
  /** Where it comes from: "seabios 1.16.2-1 (npm run images)" or the system path. */
  source: string;
}

/** The SeaBIOS cached by `npm run images`, else the system's; null when there is neither. Never touches the network. */
export function findSeabios(dir: string = cacheDir()): Firmware | null {
  return findRom("bios", SYSTEM_SEABIOS, dir);
}

/** SeaBIOS's ISA VGA BIOS, cached by `npm run images` (with SeaBIOS), else the system's; null when there is neither. */
export function findVgaBios(dir: string = cacheDir()): Firmware | null {
  return findRom("vgabios", SYSTEM_VGABIOS, dir);
}

function findRom(key: "bios" | "vgabios", system: string[], dir: string): Firmware | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as Record<string, unknown>;
    const path = m[key];
    if (typeof path === "string" && existsSync(join(dir, path))) return { path: join(dir, path), source: `${String(m.package)} (npm run images)` };
  } catch { /* not cached */ }
  const found = system.find((p) => existsSync(p));
  return found ? { path: found, source: found } : null;
}

/** The cached SeaBIOS, fetching Debian's package first when it is not cached. Throws with one line when apt fails. */
export async function ensureSeabios(dir: string = cacheDir(), log: (line: string) => void = (l) => process.stderr.write(`images: ${l}\n`)): Promise<Firmware> {
  const cached = findSeabios(dir);
  // A cache made before the VGA BIOS was kept too is fetched again.
  if (cached && cached.path.startsWith(dir) && findVgaBios(dir)?.path.startsWith(dir)) return cached;
  const { debDir, aptOpts, update } = await updatePrivateApt(dir, log);
  if (update.code !== 0) log("apt-get update reported problems (continuing with the lists it did fetch)");
  log(`apt-get download ${SEABIOS_PACKAGE}`);
  const dl = await run("apt-get", [...aptOpts, "-q", "download", SEABIOS_PACKAGE], { cwd: debDir, onLine: (l) => log(`  ${l}`) });
  if (dl.code !== 0) throw new Error(`apt-get download ${SEABIOS_PACKAGE} failed: ${lastLines(dl.stderr || dl.stdout)}`);
  // An architecture-independent package: seabios_<version>_all.deb (':' as %3a); the newest if several are left.
  const debs = readdirSync(debDir).filter((f) => f.startsWith(`${SEABIOS_PACKAGE}_`) && f.endsWith("_all.deb")).sort();
  const deb = debs[debs.length - 1];
  if (!deb) throw new Error(`apt-get download left no ${SEABIOS_PACKAGE}_*_all.deb in ${debDir}`);
  const version = debVersion(deb);
  const tmp = await extract(join(debDir, deb), dir, [ROM, VGA_ROM].map((r) => `./usr/share/seabios/${r}`), log);
  const romDir = versionDir("seabios", version);
  mkdirSync(join(dir, romDir), { recursive: true });
  for (const r of [ROM, VGA_ROM]) copyFileSync(join(tmp, "usr/share/seabios", r), join(dir, romDir, r));
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(join(dir, `${MANIFEST}.tmp`), JSON.stringify({ bios: `${romDir}/${ROM}`, vgabios: `${romDir}/${VGA_ROM}`, package: `${SEABIOS_PACKAGE} ${version}` }, null, 2) + "\n");
  renameSync(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  const found = findSeabios(dir);
  if (!found) throw new Error(`${ROM} is missing from ${join(dir, romDir)} after extracting ${deb}`);
  log(`cached ${found.path}`);
  return found;
}
