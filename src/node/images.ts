/**
 * Guest images that are not the project's own — Debian 12's i386 Linux
 * kernel (`linux-image-6.1.0-N-686`, the newest N, non-PAE) and
 * `busybox-static` — fetched from Debian's archive by package name and
 * cached outside the repository, never committed.
 *
 * How: apt-get with a private state/cache/sources directory under the cache
 * (`-o Dir::State=… -o Dir::Cache=… -o Dir::Etc::sourcelist=…
 * -o APT::Architecture=i386`), so the system's apt configuration and package
 * lists are left untouched. The private sources list uses the Debian
 * mirror(s) the system itself is configured with (read from
 * /etc/apt/sources.list and sources.list.d, one-line and deb822 formats), with
 * the suites bookworm, bookworm-updates and bookworm-security. Set
 * SYMBIONT_DEBIAN_MIRROR (and optionally SYMBIONT_DEBIAN_SECURITY_MIRROR) to
 * use another mirror. Packages are extracted with `dpkg-deb`: boot/ and
 * lib/modules/ of the kernel package. The package ships no modules.dep, so
 * one is generated here (src/boot/kmod.ts reads each module's .modinfo).
 *
 * Cache layout (`$XDG_CACHE_HOME/symbiont`, default `~/.cache/symbiont`):
 *
 * ```
 * images.json                      manifest written last (see CachedImages)
 * apt/                             private apt state, lists, cache, sources
 * debs/                            the downloaded .deb files
 * linux-6.1.0-N-686/vmlinuz        bzImage
 * linux-6.1.0-N-686/config         the kernel's .config
 * linux-6.1.0-N-686/lib/modules/6.1.0-N-686/   the modules (kernel/…) and the generated modules.dep
 * busybox-<debian version>/busybox static i386 busybox
 * ```
 *
 * Node-only (src/node).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { generateModulesDep, moduleInfo, modulesLoadOrder, subsetModulesDep } from "../boot/kmod.js";
import type { KernelModules } from "../boot/initramfs.js";
import { ensureSeabios, findSeabios, type Firmware } from "./firmware.js";

/** The Debian release whose packages are fetched (Debian 12). */
export const DEBIAN_SUITE = "bookworm";
/** Kernel flavour: 686 is the non-PAE i686 kernel. */
export const KERNEL_FLAVOUR = "686";
const KERNEL_PACKAGE_RE = /^linux-image-(6\.1\.0-(\d+)-686)$/;
const BUSYBOX_PACKAGE = "busybox-static";
const MANIFEST = "images.json";

/** What {@link findCachedImages} and {@link ensureImages} return: absolute paths and versions. */
export interface CachedImages {
  /** bzImage of Debian's linux-image-6.1.0-N-686. */
  kernel: string;
  /** Static i386 busybox from busybox-static. */
  busybox: string;
  /** The kernel's build configuration (boot/config-*). */
  config: string;
  /** /lib/modules/RELEASE of the kernel package: kernel/… and the generated modules.dep. */
  modules: string;
  /** Kernel release, e.g. "6.1.0-50-686" (uname -r in the guest). */
  version: string;
  /** Debian package and version of the kernel, e.g. "linux-image-6.1.0-50-686 6.1.176-1". */
  kernelPackage: string;
  /** Debian package and version of busybox. */
  busyboxPackage: string;
  /** The cache directory holding all of the above. */
  dir: string;
}

/** `$XDG_CACHE_HOME/symbiont`, or `~/.cache/symbiont`. */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(homedir(), ".cache"), "symbiont");
}

/** The cached images if a complete, consistent set is present; null otherwise. Never touches the network. */
export function findCachedImages(dir: string = cacheDir()): CachedImages | null {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  let m: Omit<CachedImages, "dir" | "kernel" | "busybox" | "config" | "modules"> & Record<string, string>;
  try {
    m = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
  const abs = (rel: unknown): string | null => (typeof rel === "string" && existsSync(join(dir, rel)) ? join(dir, rel) : null);
  const kernel = abs(m.kernel), busybox = abs(m.busybox), config = abs(m.config), modules = abs(m.modules);
  if (!kernel || !busybox || !config || !modules || !existsSync(join(modules, "modules.dep")) || typeof m.version !== "string") return null;
  return {
    kernel, busybox, config, modules,
    version: m.version,
    kernelPackage: String(m.kernelPackage ?? ""),
    busyboxPackage: String(m.busyboxPackage ?? ""),
    dir,
  };
}

/** Options for {@link ensureImages}. */
export interface EnsureOptions {
  /** Re-resolve the newest packages even when a cached set exists. */
  refresh?: boolean;
  /** Cache directory (default {@link cacheDir}). */
  dir?: string;
  /** Progress lines (default: to stderr prefixed with "images: "). */
  log?: (line: string) => void;
}

/**
 * The cached images, fetching them first when absent (or when `refresh`).
 * Throws an Error with a one-line message when apt, dpkg-deb or the mirror
 * fail.
 */
export async function ensureImages(opts: EnsureOptions = {}): Promise<CachedImages> {
  const dir = opts.dir ?? cacheDir();
  const log = opts.log ?? ((line: string) => process.stderr.write(`images: ${line}\n`));
  if (!opts.refresh) {
    const cached = findCachedImages(dir);
    if (cached) {
      log(`cached in ${dir}: ${cached.kernelPackage}, ${cached.busyboxPackage}`);
      return cached;
    }
  }
  return fetchImages(dir, log);
}

// ---------------------------------------------------------------------------
// The system's apt sources

/** One apt source entry (a one-line `deb …` line or a deb822 stanza). */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
  enabled: boolean;
}

/** Parse a one-line-format sources.list. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const options = new Map<string, string>();
    for (const o of (m[2] ?? "").trim().split(/\s+/)) {
      const eq = o.indexOf("=");
      if (eq > 0) options.set(o.slice(0, eq), o.slice(eq + 1));
    }
    out.push({
      types: [m[1]!],
      uris: [m[3]!],
      suites: [m[4]!],
      components: m[5]!.trim().split(/\s+/).filter(Boolean),
      signedBy: options.get("signed-by"),
      enabled: true,
    });
  }
  return out;
}

/** Parse a deb822-format .sources file. */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let key = "";
    for (const line of stanza.split("\n")) {
      if (line.startsWith("#")) continue;
      if (/^\s/.test(line) && key) {
        fields.set(key, `${fields.get(key)}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      key = m[1]!.toLowerCase();
      fields.set(key, m[2]!.trim());
    }
    if (!fields.has("uris") || !fields.has("suites")) continue;
    const list = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
    const signedBy = fields.get("signed-by");
    out.push({
      types: list("types"),
      uris: list("uris"),
      suites: list("suites"),
      components: list("components"),
      // An inline key block is not a path; apt then uses the keyrings it trusts anyway.
      signedBy: signedBy && !signedBy.includes("\n") ? signedBy : undefined,
      enabled: (fields.get("enabled") ?? "yes").toLowerCase() !== "no",
    });
  }
  return out;
}

const DEBIAN_CODENAMES = new Set([
  "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
  "oldoldstable", "oldstable", "stable", "testing", "unstable",
]);

/** The Debian mirrors among `sources`: the main archive URI and, if configured, the security archive URI. */
export function debianMirrors(sources: AptSource[]): { archive?: AptSource; security?: AptSource } {
  let archive: AptSource | undefined;
  let security: AptSource | undefined;
  for (const s of sources) {
    if (!s.enabled || !s.types.includes("deb")) continue;
    for (const suite of s.suites) {
      const base = suite.split(/[-/]/)[0]!;
      if (!DEBIAN_CODENAMES.has(base)) continue;
      const isSecurity = /-security$|\/updates$/.test(suite);
      for (const uri of s.uris) {
        const one: AptSource = { ...s, uris: [uri] };
        if (isSecurity) security ??= one;
        else archive ??= one;
      }
    }
  }
  return { archive, security };
}

/** Read the system's apt source entries (sources.list and sources.list.d, as apt-config reports them). */
export async function systemAptSources(): Promise<AptSource[]> {
  let list = "/etc/apt/sources.list";
  let parts = "/etc/apt/sources.list.d/";
  try {
    const r = await run("apt-config", ["shell", "SL", "Dir::Etc::sourcelist/f", "SP", "Dir::Etc::sourceparts/d"]);
    list = /SL='([^']*)'/.exec(r.stdout)?.[1] ?? list;
    parts = /SP='([^']*)'/.exec(r.stdout)?.[1] ?? parts;
  } catch { /* defaults */ }
  const out: AptSource[] = [];
  if (existsSync(list)) out.push(...parseOneLineSources(readFileSync(list, "utf8")));
  if (existsSync(parts)) {
    for (const f of readdirSync(parts).sort()) {
      // apt reads only these names; "*.disabled" and the like are ignored.
      if (!/^[A-Za-z0-9_.-]+\.(list|sources)$/.test(f)) continue;
      const text = readFileSync(join(parts, f), "utf8");
      out.push(...(f.endsWith(".sources") ? parseDeb822Sources(text) : parseOneLineSources(text)));
    }
  }
  return out;
}

/**
 * The private deb822 sources file: the system's Debian mirror(s), bookworm
 * suites, i386 (and the host's architecture when the module build needs its
 * build tools: src/node/symbiotic-module.ts).
 */
export function privateSources(archive: { uri: string; signedBy?: string }, security?: { uri: string; signedBy?: string }, architectures: readonly string[] = ["i386"]): string {
  const stanza = (uri: string, suites: string, signedBy?: string) =>
    [`Types: deb`, `URIs: ${uri}`, `Suites: ${suites}`, `Components: main`, `Architectures: ${architectures.join(" ")}`,
      ...(signedBy ? [`Signed-By: ${signedBy}`] : [])].join("\n") + "\n";
  const out = [stanza(archive.uri, `${DEBIAN_SUITE} ${DEBIAN_SUITE}-updates`, archive.signedBy)];
  if (security) out.push(stanza(security.uri, `${DEBIAN_SUITE}-security`, security.signedBy));
  return out.join("\n");
}

// ---------------------------------------------------------------------------
// Fetching

export interface RunResult { code: number; stdout: string; stderr: string }

/** Run a command, collecting its output (and passing lines to onLine as they come). */
export function run(cmd: string, args: string[], o: { cwd?: string; onLine?: (l: string) => void } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let stdout = "", stderr = "";
    let pending = "";
    const onData = (chunk: Buffer, isOut: boolean) => {
      const s = chunk.toString("utf8");
      if (isOut) stdout += s; else stderr += s;
      if (o.onLine) {
        pending += s;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const l of lines) if (l.trim()) o.onLine(l.replace(/\r/g, ""));
      }
    };
    child.stdout.on("data", (c: Buffer) => onData(c, true));
    child.stderr.on("data", (c: Buffer) => onData(c, false));
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === "ENOENT" ? `${cmd} is not installed (needed to fetch Debian packages)` : `${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      if (o.onLine && pending.trim()) o.onLine(pending);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export function lastLines(s: string, n = 3): string {
  return s.trim().split("\n").slice(-n).map((l) => l.trim()).join(" | ");
}

/** apt options that confine apt to the private directory `aptDir` (packages of `architectures`; i386 is native). */
export function privateAptOptions(aptDir: string, architectures: readonly string[] = ["i386"]): string[] {
  const o = (k: string, v: string) => ["-o", `${k}=${v}`];
  return [
    ...o("Dir::State", join(aptDir, "state")),
    ...o("Dir::State::Lists", join(aptDir, "state/lists")),
    ...o("Dir::State::status", join(aptDir, "state/status")),
    ...o("Dir::Cache", join(aptDir, "cache")),
    ...o("Dir::Etc::sourcelist", join(aptDir, "etc/sources.list")),
    ...o("Dir::Etc::sourceparts", join(aptDir, "etc/sources.list.d")),
    ...o("Dir::Etc::preferences", join(aptDir, "etc/preferences")),
    ...o("Dir::Etc::preferencesparts", join(aptDir, "etc/preferences.d")),
    ...o("APT::Architecture", "i386"),
    ...o("APT::Architectures", architectures.join(",")),
    // As root, apt's _apt sandbox user cannot write into a private cache under $HOME.
    ...(process.getuid?.() === 0 ? o("APT::Sandbox::User", "root") : []),
  ];
}

/** Create the private apt directory's layout and write its sources. */
export function prepareAptDir(aptDir: string, sources: string): void {
  for (const d of ["state/lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d"]) {
    mkdirSync(join(aptDir, d), { recursive: true });
  }
  writeFileSync(join(aptDir, "etc/sources.list"), "");
  writeFileSync(join(aptDir, "etc/preferences"), "");
  writeFileSync(join(aptDir, "state/status"), "");
  writeFileSync(join(aptDir, "etc/sources.list.d/symbiont.sources"), sources);
}

/** The Debian mirrors to use: SYMBIONT_DEBIAN_MIRROR, or the system's own. */
export async function resolveMirrors(log: (l: string) => void): Promise<{ archive: { uri: string; signedBy?: string }; security?: { uri: string; signedBy?: string } }> {
  const envArchive = process.env.SYMBIONT_DEBIAN_MIRROR;
  const envSecurity = process.env.SYMBIONT_DEBIAN_SECURITY_MIRROR;
  if (envArchive) {
    log(`mirror from SYMBIONT_DEBIAN_MIRROR: ${envArchive}`);
    return { archive: { uri: envArchive }, security: envSecurity ? { uri: envSecurity } : undefined };
  }
  const { archive, security } = debianMirrors(await systemAptSources());
  if (!archive) {
    throw new Error("no Debian mirror in the system's apt sources (/etc/apt/sources.list*): set SYMBIONT_DEBIAN_MIRROR to a Debian archive URI");
  }
  const a = { uri: archive.uris[0]!, signedBy: archive.signedBy };
  const s = envSecurity ? { uri: envSecurity } : security ? { uri: security.uris[0]!, signedBy: security.signedBy } : undefined;
  log(`using the system's Debian mirror ${a.uri}${s ? ` (security: ${s.uri})` : ""}`);
  return { archive: a, security: s };
}

/**
 * The private apt of the cache `dir`, its lists updated from the Debian mirror: the options that confine apt-get
 * to it, where downloads go (`debs/`) and how the update went.
 */
export async function updatePrivateApt(dir: string, log: (l: string) => void): Promise<{ aptDir: string; debDir: string; aptOpts: string[]; update: RunResult }> {
  const aptDir = join(dir, "apt");
  const debDir = join(dir, "debs");
  mkdirSync(debDir, { recursive: true });
  const mirrors = await resolveMirrors(log);
  prepareAptDir(aptDir, privateSources(mirrors.archive, mirrors.security));
  const aptOpts = privateAptOptions(aptDir);
  log(`apt-get update (private lists in ${aptDir}, i386, ${DEBIAN_SUITE})`);
  const update = await run("apt-get", [...aptOpts, "-q", "update"], { onLine: (l) => log(`  ${l}`) });
  return { aptDir, debDir, aptOpts, update };
}

/** The Debian version in a downloaded .deb's name (`<package>_<version, ':' as %3a>_<arch>.deb`). */
export function debVersion(file: string): string {
  return decodeURIComponent(file.split("_")[1]!).replace(/%3a/gi, ":");
}

/** A cache directory for a package's files: `prefix-version`, without the epoch, characters a path dislikes as "_". */
export function versionDir(prefix: string, version: string): string {
  return `${prefix}-${version.replace(/^\d+:/, "").replace(/[^A-Za-z0-9.+~-]/g, "_")}`;
}

async function fetchImages(dir: string, log: (l: string) => void): Promise<CachedImages> {
  const { aptDir, debDir, aptOpts, update: upd } = await updatePrivateApt(dir, log);
  const lists = readdirSync(join(aptDir, "state/lists")).filter((f) => f.includes(`_dists_${DEBIAN_SUITE}_main_binary-i386_Packages`));
  if (lists.length === 0) {
    throw new Error(`apt-get update found no i386 package list for ${DEBIAN_SUITE}: ${lastLines(upd.stderr || upd.stdout)}`);
  }
  if (upd.code !== 0 || /^(E|W):/m.test(upd.stderr)) log("apt-get update reported problems (continuing with the lists it did fetch)");

  const names = await run("apt-cache", [...aptOpts, "pkgnames", "linux-image-6.1.0-"]);
  let best: { pkg: string; release: string; n: number } | null = null;
  for (const name of names.stdout.split("\n")) {
    const m = KERNEL_PACKAGE_RE.exec(name.trim());
    if (m && (!best || Number(m[2]) > best.n)) best = { pkg: m[0], release: m[1]!, n: Number(m[2]) };
  }
  if (!best) throw new Error(`no linux-image-6.1.0-N-${KERNEL_FLAVOUR} package in the ${DEBIAN_SUITE} i386 lists`);
  log(`newest kernel package: ${best.pkg}`);

  const want = [best.pkg, BUSYBOX_PACKAGE];
  // apt-get download names files <package>_<version with ':' as %3a>_i386.deb.
  const candidate = new Map<string, string>();
  for (const pkg of want) {
    const show = await run("apt-cache", [...aptOpts, "show", "--no-all-versions", pkg]);
    const v = /^Version:\s*(\S+)/m.exec(show.stdout)?.[1];
    if (!v) throw new Error(`apt-cache knows no i386 candidate for ${pkg}: ${lastLines(show.stderr || show.stdout)}`);
    candidate.set(pkg, `${pkg}_${v.replace(/:/g, "%3a")}_i386.deb`);
  }
  const have = (pkg: string) => readdirSync(debDir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith("_i386.deb"));
  const missing = want.filter((p) => !existsSync(join(debDir, candidate.get(p)!)));
  if (missing.length > 0) {
    log(`apt-get download ${missing.join(" ")}`);
    const dl = await run("apt-get", [...aptOpts, "-q", "download", ...missing], { cwd: debDir, onLine: (l) => log(`  ${l}`) });
    if (dl.code !== 0) throw new Error(`apt-get download failed: ${lastLines(dl.stderr || dl.stdout)}`);
  } else {
    log(`already downloaded: ${want.join(", ")}`);
  }
  const newestDeb = (pkg: string): string => {
    const file = candidate.get(pkg)!;
    if (existsSync(join(debDir, file))) return file;
    // apt may spell the file name differently; take what it left for the package.
    const files = have(pkg).sort();
    if (files.length === 0) throw new Error(`apt-get download left no ${pkg}_*_i386.deb in ${debDir}`);
    return files[files.length - 1]!;
  };
  const kernelDeb = newestDeb(best.pkg);
  const busyboxDeb = newestDeb(BUSYBOX_PACKAGE);

  // Kernel: ./boot and the modules (about 170 MiB unpacked), with a modules.dep made here.
  const kdir = join(dir, `linux-${best.release}`);
  const kTmp = await extract(join(debDir, kernelDeb), dir, ["./boot", "./lib/modules"], log);
  mkdirSync(kdir, { recursive: true });
  rmSync(join(kdir, "lib"), { recursive: true, force: true });
  copyFileSync(join(kTmp, `boot/vmlinuz-${best.release}`), join(kdir, "vmlinuz"));
  copyFileSync(join(kTmp, `boot/config-${best.release}`), join(kdir, "config"));
  mkdirSync(join(kdir, "lib"), { recursive: true });
  renameSync(join(kTmp, "lib/modules"), join(kdir, "lib/modules"));
  rmSync(kTmp, { recursive: true, force: true });
  const modulesDir = join(kdir, "lib/modules", best.release);
  log(`generating ${modulesDir}/modules.dep`);
  const count = writeModulesDep(modulesDir);
  log(`modules.dep: ${count} modules`);

  const bbVersion = debVersion(busyboxDeb);
  const bdir = join(dir, versionDir("busybox", bbVersion));
  const bTmp = await extract(join(debDir, busyboxDeb), dir, ["./bin/busybox"], log);
  mkdirSync(bdir, { recursive: true });
  copyFileSync(join(bTmp, "bin/busybox"), join(bdir, "busybox"));
  rmSync(bTmp, { recursive: true, force: true });

  const rel = (p: string) => p.slice(dir.length + 1);
  const manifest = {
    kernel: rel(join(kdir, "vmlinuz")),
    busybox: rel(join(bdir, "busybox")),
    config: rel(join(kdir, "config")),
    modules: rel(modulesDir),
    version: best.release,
    kernelPackage: `${best.pkg} ${debVersion(kernelDeb)}`,
    busyboxPackage: `${BUSYBOX_PACKAGE} ${bbVersion}`,
  };
  writeFileSync(join(dir, `${MANIFEST}.tmp`), JSON.stringify(manifest, null, 2) + "\n");
  renameSync(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  const found = findCachedImages(dir);
  if (!found) throw new Error(`the image cache in ${dir} is incomplete after fetching`);
  log(`cached in ${dir}`);
  return found;
}

/** Extract `members` of a .deb into a fresh temporary directory under `parent`; returns that directory. */
export async function extract(deb: string, parent: string, members: string[], log: (l: string) => void): Promise<string> {
  const tmp = join(parent, `.extract-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  log(`dpkg-deb: extracting ${members.join(" ")} from ${deb.split("/").pop()}`);
  // dpkg-deb --fsys-tarfile | tar -x MEMBERS: unpacks only what is needed.
  const r = await run("sh", ["-c", `dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" "$@"`, deb, tmp, ...members]);
  if (r.code !== 0) {
    // Fall back to unpacking the whole package.
    const x = await run("dpkg-deb", ["-x", deb, tmp]);
    if (x.code !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${lastLines(x.stderr)}`);
  }
  return tmp;
}

// ---------------------------------------------------------------------------
// Kernel modules

/** Every *.ko under `dir`, as paths relative to it. */
function findModules(dir: string, sub = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const rel = sub ? `${sub}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...findModules(dir, rel));
    else if (e.name.endsWith(".ko")) out.push(rel);
  }
  return out;
}

/** Write `modulesDir`/modules.dep for the modules under it (as depmod would); returns how many. */
export function writeModulesDep(modulesDir: string): number {
  const infos = findModules(modulesDir).map((p) => {
    try {
      return moduleInfo(p, new Uint8Array(readFileSync(join(modulesDir, p))));
    } catch (e) {
      throw new Error(`${p}: ${(e as Error).message}`);
    }
  });
  writeFileSync(join(modulesDir, "modules.dep.tmp"), generateModulesDep(infos));
  renameSync(join(modulesDir, "modules.dep.tmp"), join(modulesDir, "modules.dep"));
  return infos.length;
}

/**
 * The module files `names` need from the cached kernel, in load order
 * (dependencies first) — what the initramfs builder's `modules` option
 * takes (see src/boot/kmod.ts DRIVER_MODULES for the names per device).
 */
export function cachedModules(images: CachedImages, names: readonly string[]): KernelModules {
  const dep = readFileSync(join(images.modules, "modules.dep"), "utf8");
  const order = modulesLoadOrder(dep, names);
  return {
    release: images.version,
    files: order.map((path) => ({ path, data: new Uint8Array(readFileSync(join(images.modules, path))) })),
    modulesDep: subsetModulesDep(dep, order),
  };
}

// ---------------------------------------------------------------------------
// Kernel configuration

/** Parse a kernel .config: CONFIG_X=value and "# CONFIG_X is not set" (as "n"). */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) { out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, "$1")); continue; }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (m) out.set(m[1]!, "n");
  }
  return out;
}

/** The options that tell what the guest kernel needs from the CPU and the machine. */
export const INTERESTING_CONFIG = [
  "CONFIG_M686", "CONFIG_X86_MINIMUM_CPU_FAMILY", "CONFIG_X86_CMOV", "CONFIG_X86_TSC", "CONFIG_X86_CMPXCHG64",
  "CONFIG_X86_PAE", "CONFIG_HIGHMEM4G", "CONFIG_HIGHMEM64G", "CONFIG_MATH_EMULATION", "CONFIG_X86_LOCAL_APIC",
  "CONFIG_X86_IO_APIC", "CONFIG_X86_UP_APIC", "CONFIG_SMP", "CONFIG_ACPI", "CONFIG_PCI", "CONFIG_HPET_TIMER",
  "CONFIG_X86_INTEL_USERCOPY", "CONFIG_X86_USE_PPRO_CHECKSUM", "CONFIG_RELOCATABLE", "CONFIG_RANDOMIZE_BASE",
  "CONFIG_PHYSICAL_START", "CONFIG_PHYSICAL_ALIGN", "CONFIG_PAGE_OFFSET", "CONFIG_VMSPLIT_3G",
  "CONFIG_SERIAL_8250", "CONFIG_SERIAL_8250_CONSOLE", "CONFIG_BLK_DEV_INITRD", "CONFIG_RD_GZIP", "CONFIG_RD_XZ",
  "CONFIG_RD_ZSTD", "CONFIG_DEVTMPFS", "CONFIG_DEVTMPFS_MOUNT", "CONFIG_BINFMT_SCRIPT", "CONFIG_BINFMT_ELF",
  "CONFIG_VGA_CONSOLE", "CONFIG_DUMMY_CONSOLE", "CONFIG_EARLY_PRINTK", "CONFIG_KERNEL_GZIP", "CONFIG_KERNEL_XZ",
  "CONFIG_PARAVIRT", "CONFIG_KVM_GUEST", "CONFIG_HYPERVISOR_GUEST", "CONFIG_VIRTIO_PCI", "CONFIG_VIRTIO_BLK",
  "CONFIG_VIRTIO_NET", "CONFIG_VIRTIO_CONSOLE", "CONFIG_NE2K_PCI", "CONFIG_NE2000", "CONFIG_ATA_PIIX",
] as const;

/** The {@link INTERESTING_CONFIG} values of a kernel config file ("absent" when not mentioned). */
export function kernelConfigSummary(configPath: string): Record<string, string> {
  const cfg = parseKernelConfig(readFileSync(configPath, "utf8"));
  return Object.fromEntries(INTERESTING_CONFIG.map((k) => [k, cfg.get(k) ?? "absent"]));
}

// ---------------------------------------------------------------------------
// CLI (scripts/images.mjs)

function size(path: string): string {
  const n = statSync(path).size;
  return `${n} bytes (${(n / 1048576).toFixed(1)} MiB)`;
}

/**
 * `npm run images [-- --refresh] [-- --json] [-- --config]`: make sure the
 * images are cached and print where they are. Progress goes to stderr, the
 * result to stdout. Returns the exit status.
 */
export async function imagesMain(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => !["--refresh", "--json", "--config", "--cached", "-h", "--help"].includes(a));
  if (argv.includes("-h") || argv.includes("--help") || unknown.length > 0) {
    const usage = "usage: npm run images [-- --refresh | --cached] [--json] [--config]\n" +
      "  fetch Debian 12's linux-image-6.1.0-N-686, busybox-static (i386) and seabios into " + cacheDir() + "\n" +
      "  --refresh  look for newer packages even when cached    --cached  never fetch (status 1 if absent)\n" +
      "  --json     print the paths as JSON                      --config  print the kernel options that matter\n";
    if (unknown.length > 0) {
      process.stderr.write(`images: unknown option ${unknown[0]}\n${usage}`);
      return 2;
    }
    process.stdout.write(usage);
    return 0;
  }
  let images: CachedImages;
  let seabios: Firmware | null;
  try {
    if (argv.includes("--cached")) {
      const c = findCachedImages();
      if (!c) {
        process.stderr.write(`images: nothing cached in ${cacheDir()} (run npm run images)\n`);
        return 1;
      }
      images = c;
      seabios = findSeabios();
    } else {
      images = await ensureImages({ refresh: argv.includes("--refresh") });
      seabios = await ensureSeabios();
    }
  } catch (e) {
    process.stderr.write(`images: ${(e as Error).message}\n`);
    return 1;
  }
  if (argv.includes("--json")) {
    const out: Record<string, unknown> = { ...images, seabios: seabios?.path ?? null };
    if (argv.includes("--config")) out.configSummary = kernelConfigSummary(images.config);
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
  }
  process.stdout.write(
    `kernel   ${images.kernel}  ${size(images.kernel)}\n` +
    `         ${images.kernelPackage}, release ${images.version}\n` +
    `config   ${images.config}  ${size(images.config)}\n` +
    `modules  ${images.modules}  (modules.dep generated)\n` +
    `busybox  ${images.busybox}  ${size(images.busybox)}\n` +
    `         ${images.busyboxPackage}\n` +
    (seabios ? `seabios  ${seabios.path}  ${size(seabios.path)}\n         ${seabios.source}\n` : "seabios  none (not cached, none installed)\n"),
  );
  if (argv.includes("--config")) {
    for (const [k, v] of Object.entries(kernelConfigSummary(images.config))) process.stdout.write(`${k}=${v}\n`);
  }
  return 0;
}
