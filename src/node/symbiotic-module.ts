/**
 * Builds the symbiotic Linux module (guests/linux/symbiotic/) for exactly the
 * kernel `npm run images` cached, the way Debian builds out-of-tree modules:
 * against Debian's own headers with Debian's compiler.
 *
 * 1. Through the same private apt state as images.ts (the system's apt
 *    configuration is not touched, no root is needed), with the host's
 *    architecture added for the build tools, it downloads at the kernel
 *    package's exact version: `linux-headers-<release>` (i386),
 *    `linux-headers-<abi>-common` (all) and `linux-kbuild-6.1` (the host's
 *    fixdep, modpost, … — amd64 here), and unpacks them into one tree.
 * 2. The headers' top Makefile includes the common tree by an absolute
 *    /usr/src path; it is pointed at the unpacked tree.
 * 3. `make -C <headers> M=<copy of the source> modules` with `gcc-12` (the
 *    kernel's own compiler, CONFIG_CC_VERSION_TEXT), then the debug sections
 *    are stripped. The module is unsigned: the kernel loads it and taints.
 *
 * Needs gcc-12, make and binutils on an x86 host (Debian: `apt-get install
 * gcc-12 make binutils`). Cache layout, beside the images:
 *
 * ```
 * linux-headers-<release>/              the unpacked headers and kbuild tree
 * symbiotic-module/<release>/symbiotic.ko
 * symbiotic-module/<release>/build.json  kernel package and source hash it was built from
 * ```
 *
 * Node-only (src/node).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  cacheDir, findCachedImages, run, lastLines, privateAptOptions, privateSources, prepareAptDir, resolveMirrors, type CachedImages,
} from "./images.js";
import type { KernelModules } from "../boot/initramfs.js";

/** Where the module's source lives in the repository. */
export const MODULE_SOURCE_DIR = fileURLToPath(new URL("../../guests/linux/symbiotic/", import.meta.url));
const MODULE_FILE = "symbiotic.ko";
/** Where the module goes under /lib/modules/RELEASE in an initramfs: out-of-tree modules' usual place. */
export const MODULE_RELATIVE_PATH = `extra/${MODULE_FILE}`;

/** Where `symbiont boot --symbiotic` puts the module in the guest's initramfs (its own or the user's). */
export function moduleGuestPath(release: string): string { return `/lib/modules/${release}/${MODULE_RELATIVE_PATH}`; }

/** The module as the initramfs builder's `modules` (busyboxInitramfs: /init insmods it before its marker). */
export function symbioticKernelModules(built: BuiltModule): KernelModules {
  return {
    release: built.release,
    files: [{ path: MODULE_RELATIVE_PATH, data: new Uint8Array(readFileSync(built.path)) }],
    modulesDep: `${MODULE_RELATIVE_PATH}:\n`,
  };
}

/** Platform-neutral (the web worker joins modules too); re-exported here where the CLI and tests found it. */
export { joinKernelModules } from "../boot/initramfs.js";

/** A built module: the file and what it was built for. */
export interface BuiltModule {
  path: string;
  /** Kernel release (uname -r) it loads into. */
  release: string;
  /** Debian package and version of that kernel. */
  kernelPackage: string;
  /** Hash of the module's source files it was built from. */
  sourceHash: string;
}

/** A hash of the module's source files (so an edited source means a rebuild). */
export function moduleSourceHash(dir = MODULE_SOURCE_DIR): string {
  const h = createHash("sha256");
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(c|h|S)$|^Kbuild$/.test(f)) continue;
    h.update(f).update("\0").update(readFileSync(join(dir, f))).update("\0");
  }
  return h.digest("hex").slice(0, 16);
}

function moduleDir(dir: string, release: string): string { return join(dir, "symbiotic-module", release); }

/**
 * The module built for the cached kernel from the current source, or null
 * (not built, built for another kernel, or the source changed since).
 */
export function findBuiltModule(images: CachedImages | null = findCachedImages(), dir: string = cacheDir()): BuiltModule | null {
  if (!images) return null;
  const mdir = moduleDir(dir, images.version);
  try {
    const meta = JSON.parse(readFileSync(join(mdir, "build.json"), "utf8")) as Omit<BuiltModule, "path">;
    const path = join(mdir, MODULE_FILE);
    if (!existsSync(path) || meta.kernelPackage !== images.kernelPackage) return null;
    if (existsSync(MODULE_SOURCE_DIR) && meta.sourceHash !== moduleSourceHash()) return null;
    return { ...meta, path };
  } catch {
    return null;
  }
}

export interface BuildOptions {
  /** Rebuild even when an up-to-date module is cached. */
  rebuild?: boolean;
  dir?: string;
  log?: (line: string) => void;
}

/** The module for the cached kernel, built first when needed. Throws an Error with a one-line message. */
export async function ensureModule(opts: BuildOptions = {}): Promise<BuiltModule> {
  const dir = opts.dir ?? cacheDir();
  const log = opts.log ?? ((l: string) => process.stderr.write(`module: ${l}\n`));
  const images = findCachedImages(dir);
  if (!images) throw new Error(`no Debian kernel cached in ${dir}: run "npm run images" first`);
  if (!opts.rebuild) {
    const built = findBuiltModule(images, dir);
    if (built) { log(`up to date: ${built.path} (for ${built.release})`); return built; }
  }
  await checkTools();
  const headers = await ensureHeaders(images, dir, log);
  return compile(images, headers, dir, log);
}

/** The host's Debian architecture; only x86 hosts can run the kbuild tools and gcc-12 -m32. */
async function hostArchitecture(): Promise<string> {
  const r = await run("dpkg", ["--print-architecture"]).catch(() => null);
  const arch = r?.stdout.trim() ?? "";
  if (arch !== "amd64" && arch !== "i386") throw new Error(`building the module needs an x86 Debian host (amd64 or i386); dpkg says "${arch || "nothing"}"`);
  return arch;
}

async function checkTools(): Promise<void> {
  const missing: string[] = [];
  for (const [cmd, pkg] of [["gcc-12", "gcc-12"], ["make", "make"], ["ld", "binutils"], ["strip", "binutils"]] as const) {
    const r = await run(cmd, ["--version"]).catch(() => null);
    if (!r || r.code !== 0) missing.push(pkg);
  }
  if (missing.length) throw new Error(`building the module needs ${[...new Set(missing)].join(", ")} (Debian: apt-get install ${[...new Set(missing)].join(" ")})`);
}

/** Unpack Debian's headers and kbuild for the cached kernel; returns the headers directory. */
async function ensureHeaders(images: CachedImages, dir: string, log: (l: string) => void): Promise<string> {
  const release = images.version;                              // 6.1.0-57-686
  const version = images.kernelPackage.split(" ")[1];          // 6.1.192-3
  const abi = release.replace(/-[^-]+$/, "");                   // 6.1.0-57
  const series = /^(\d+\.\d+)/.exec(release)?.[1];             // 6.1
  if (!version || !series) throw new Error(`cannot tell the kernel package's version from "${images.kernelPackage}"`);
  const tree = join(dir, `linux-headers-${release}`);
  const headers = join(tree, `usr/src/linux-headers-${release}`);
  const stamp = join(tree, ".symbiont-unpacked");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === version) return headers;

  const host = await hostArchitecture();
  const archs = host === "i386" ? ["i386"] : ["i386", host];
  const aptDir = join(dir, "apt");
  const debDir = join(dir, "debs");
  mkdirSync(debDir, { recursive: true });
  const mirrors = await resolveMirrors(log);
  prepareAptDir(aptDir, privateSources(mirrors.archive, mirrors.security, archs));
  const aptOpts = privateAptOptions(aptDir, archs);
  log(`apt-get update (private lists in ${aptDir}, ${archs.join(" + ")})`);
  const upd = await run("apt-get", [...aptOpts, "-q", "update"], { onLine: (l) => log(`  ${l}`) });
  if (upd.code !== 0) log("apt-get update reported problems (continuing with the lists it did fetch)");

  const want = [`linux-headers-${release}`, `linux-headers-${abi}-common`, `linux-kbuild-${series}:${host}`];
  log(`apt-get download ${want.map((p) => `${p}=${version}`).join(" ")}`);
  const dl = await run("apt-get", [...aptOpts, "-q", "download", ...want.map((p) => `${p}=${version}`)], { cwd: debDir, onLine: (l) => log(`  ${l}`) });
  if (dl.code !== 0) {
    throw new Error(`apt-get download failed (the archive may have moved past ${images.kernelPackage}: "npm run images -- --refresh" fetches the newest kernel): ${lastLines(dl.stderr || dl.stdout)}`);
  }
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  for (const pkg of want) {
    const name = pkg.split(":")[0]!;
    const deb = readdirSync(debDir).find((f) => f.startsWith(`${name}_`) && decodeURIComponent(f.split("_")[1]!) === version);
    if (!deb) throw new Error(`apt-get download left no ${name}_${version}_*.deb in ${debDir}`);
    log(`dpkg-deb -x ${deb}`);
    const x = await run("dpkg-deb", ["-x", join(debDir, deb), tree]);
    if (x.code !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${lastLines(x.stderr)}`);
  }
  // The headers' Makefile is one line, "include /usr/src/linux-headers-<abi>-common/Makefile".
  const makefile = join(headers, "Makefile");
  const text = readFileSync(makefile, "utf8");
  if (!/^include \/usr\/src\//m.test(text)) throw new Error(`unexpected ${makefile}: ${text.trim().slice(0, 120)}`);
  writeFileSync(makefile, text.replace(/^include \/usr\/src\//gm, `include ${tree}/usr/src/`));
  writeFileSync(stamp, version + "\n");
  return headers;
}

async function compile(images: CachedImages, headers: string, dir: string, log: (l: string) => void): Promise<BuiltModule> {
  const mdir = moduleDir(dir, images.version);
  const build = join(mdir, "build");
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  cpSync(MODULE_SOURCE_DIR, build, { recursive: true });
  const sourceHash = moduleSourceHash();
  log(`make -C ${headers} M=${build} modules (gcc-12)`);
  const mk = await run("make", ["-C", headers, `M=${build}`, "CC=gcc-12", "modules"], { onLine: (l) => log(`  ${l}`) });
  const ko = join(build, MODULE_FILE);
  if (mk.code !== 0 || !existsSync(ko)) throw new Error(`the module did not build: ${lastLines(mk.stderr || mk.stdout, 5)}`);
  const out = join(mdir, MODULE_FILE);
  const st = await run("strip", ["--strip-debug", "-o", out, ko]);
  if (st.code !== 0) { log(`strip failed (${lastLines(st.stderr)}); keeping the debug sections`); copyFileSync(ko, out); }
  const built: BuiltModule = { path: out, release: images.version, kernelPackage: images.kernelPackage, sourceHash };
  writeFileSync(join(mdir, "build.json"), JSON.stringify({ release: built.release, kernelPackage: built.kernelPackage, sourceHash }, null, 2) + "\n");
  log(`built ${out} for ${images.version}`);
  return built;
}

/**
 * `npm run module [-- --rebuild | --cached] [--json]`: make sure the module is
 * built for the cached kernel and print where it is. Returns the exit status.
 */
export async function moduleMain(argv: string[]): Promise<number> {
  const known = ["--rebuild", "--cached", "--json", "-h", "--help"];
  const unknown = argv.filter((a) => !known.includes(a));
  const usage = "usage: npm run module [-- --rebuild | --cached] [--json]\n" +
    "  build guests/linux/symbiotic (symbiotic.ko) for the kernel \"npm run images\" cached, with Debian's headers and gcc-12\n" +
    "  --rebuild  build even when up to date    --cached  never build (status 1 if absent)    --json  print as JSON\n";
  if (unknown.length > 0) { process.stderr.write(`module: unknown option ${unknown[0]}\n${usage}`); return 2; }
  if (argv.includes("-h") || argv.includes("--help")) { process.stdout.write(usage); return 0; }
  let built: BuiltModule;
  try {
    if (argv.includes("--cached")) {
      const b = findBuiltModule();
      if (!b) { process.stderr.write("module: not built for the cached kernel (run npm run module)\n"); return 1; }
      built = b;
    } else {
      built = await ensureModule({ rebuild: argv.includes("--rebuild") });
    }
  } catch (e) {
    process.stderr.write(`module: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(argv.includes("--json") ? JSON.stringify(built, null, 2) + "\n" : `${built.path}  (${built.release}, ${built.kernelPackage})\n`);
  return 0;
}
