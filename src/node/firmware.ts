/**
 * The BIOS a disk boots through: Debian's SeaBIOS (`bios-256k.bin` of the
 * `seabios` package, the build qemu-system-x86 runs). `npm run images`
 * fetches the package with the images' private apt state (src/node/images.ts)
 * and keeps the ROM in the cache:
 *
 * ```
 * seabios.json                    {"bios": "seabios-<version>/bios-256k.bin", "package": "seabios <version>"}
 * seabios-<version>/bios-256k.bin
 * ```
 *
 * Without it, the system's copy is used where Debian, Ubuntu or Fedora put
 * it (`apt-get install seabios`, or QEMU's). Node-only.
 *
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, debVersion, extract, lastLines, run, updatePrivateApt, versionDir } from "./images.js";

const SEABIOS_PACKAGE = "seabios";
const MANIFEST = "seabios.json";
const ROM = "bios-256k.bin";
/** Where distributions install SeaBIOS's 256 KiB ROM (Debian/Ubuntu's seabios package; Fedora's and others' QEMU). */
export const SYSTEM_SEABIOS = ["/usr/share/seabios/bios-256k.bin", "/usr/share/qemu/bios-256k.bin"];

export interface Firmware {
  /** The ROM image. */
  path: string;
  /** Where it comes from: "seabios 1.16.2-1 (npm run images)" or the system path. */
  source: string;
}

/** The SeaBIOS cached by `npm run images`, else the system's; null when there is neither. Never touches the network. */
export function findSeabios(dir: string = cacheDir()): Firmware | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as { bios?: unknown; package?: unknown };
    if (typeof m.bios === "string" && existsSync(join(dir, m.bios))) return { path: join(dir, m.bios), source: `${String(m.package)} (npm run images)` };
  } catch { /* not cached */ }
  const system = SYSTEM_SEABIOS.find((p) => existsSync(p));
  return system ? { path: system, source: system } : null;
}

/** The cached SeaBIOS, fetching Debian's package first when it is not cached. Throws with one line when apt fails. */
export async function ensureSeabios(dir: string = cacheDir(), log: (line: string) => void = (l) => process.stderr.write(`images: ${l}\n`)): Promise<Firmware> {
  const cached = findSeabios(dir);
  if (cached && cached.path.startsWith(dir)) return cached;
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
  const tmp = await extract(join(debDir, deb), dir, [`./usr/share/seabios/${ROM}`], log);
  const romDir = versionDir("seabios", version);
  mkdirSync(join(dir, romDir), { recursive: true });
  copyFileSync(join(tmp, "usr/share/seabios", ROM), join(dir, romDir, ROM));
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(join(dir, `${MANIFEST}.tmp`), JSON.stringify({ bios: `${romDir}/${ROM}`, package: `${SEABIOS_PACKAGE} ${version}` }, null, 2) + "\n");
  renameSync(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  const found = findSeabios(dir);
  if (!found) throw new Error(`${ROM} is missing from ${join(dir, romDir)} after extracting ${deb}`);
  log(`cached ${found.path}`);
  return found;
}
