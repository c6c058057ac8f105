/**
 * Linux kernel modules without depmod: read a module's `.modinfo` section
 * (the NUL-separated `key=value` strings modpost writes: name, depends,
 * alias, softdep, vermagic …) straight from the ELF file, write the
 * `modules.dep` that depmod would (Debian's linux-image package ships none),
 * and resolve a list of module names to the files to load, dependencies
 * first.
 *
 * modules.dep format (depmod(8), modules.dep(5)): one line per module,
 * `path: dep1 dep2 …`, paths relative to /lib/modules/RELEASE; the list
 * holds every module the first one needs, directly or not, each listed
 * before the modules it depends on itself, so modprobe loads it from right
 * to left. Module names treat "-" and "_" alike (the name field uses "_").
 *
 * Platform-neutral: bytes in, text out (the Node side walks the directory).
 *
 * @module
 */

const latin1 = new TextDecoder("latin1");

/** A module name as the kernel spells it ("virtio-rng" → "virtio_rng"). */
export function moduleName(s: string): string {
  return s.replace(/\.ko$/, "").replace(/^.*\//, "").replace(/-/g, "_");
}

/** The `key=value` strings of an ELF module's `.modinfo` section, in order. Throws if `ko` is not an ELF file with one. */
export function readModinfo(ko: Uint8Array): [string, string][] {
  const dv = new DataView(ko.buffer, ko.byteOffset, ko.byteLength);
  if (ko.length < 52 || dv.getUint32(0, false) !== 0x7f454c46) throw new Error("not an ELF file");
  const is64 = ko[4] === 2;
  const le = ko[5] === 1;
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const word = (o: number) => (is64 ? Number(dv.getBigUint64(o, le)) : u32(o));
  const shoff = is64 ? word(0x28) : u32(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  if (shoff + shnum * shentsize > ko.length || shstrndx >= shnum) throw new Error("truncated ELF section table");
  const section = (i: number) => {
    const h = shoff + i * shentsize;
    return is64
      ? { name: u32(h), offset: word(h + 0x18), size: word(h + 0x20) }
      : { name: u32(h), offset: u32(h + 0x10), size: u32(h + 0x14) };
  };
  const strtab = section(shstrndx);
  const nameAt = (o: number) => {
    let end = strtab.offset + o;
    while (end < ko.length && ko[end] !== 0) end++;
    return latin1.decode(ko.subarray(strtab.offset + o, end));
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameAt(s.name) !== ".modinfo") continue;
    if (s.offset + s.size > ko.length) throw new Error("truncated .modinfo section");
    const out: [string, string][] = [];
    for (const str of latin1.decode(ko.subarray(s.offset, s.offset + s.size)).split("\0")) {
      const eq = str.indexOf("=");
      if (eq > 0) out.push([str.slice(0, eq), str.slice(eq + 1)]);
    }
    return out;
  }
  throw new Error("no .modinfo section (not a kernel module)");
}

/** What modules.dep needs of one module. */
export interface ModuleInfo {
  /** Path relative to /lib/modules/RELEASE, e.g. "kernel/drivers/block/virtio_blk.ko". */
  path: string;
  /** Module names from its `depends=` field. */
  depends: string[];
}

/** The module's {@link ModuleInfo} from its file bytes. */
export function moduleInfo(path: string, ko: Uint8Array): ModuleInfo {
  const depends = readModinfo(ko).filter(([k]) => k === "depends").flatMap(([, v]) => v.split(",")).filter(Boolean).map(moduleName);
  return { path, depends };
}

/**
 * Every module `name` needs (itself excluded), each before its own
 * dependencies: the right-hand side of its modules.dep line. Throws naming
 * the module when a dependency is missing from `byName`.
 */
function closure(name: string, byName: ReadonlyMap<string, ModuleInfo>): string[] {
  const order: string[] = []; // dependencies first (load order)
  const seen = new Set<string>();
  const visit = (n: string, from: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const m = byName.get(n);
    if (!m) throw new Error(`module ${from} depends on ${n}, which is not in the tree`);
    for (const d of m.depends) visit(d, n);
    order.push(n);
  };
  visit(name, name);
  return order.slice(0, -1).reverse();
}

/** modules.dep text for `modules` (sorted by path, so the same tree gives the same bytes). */
export function generateModulesDep(modules: readonly ModuleInfo[]): string {
  const byName = new Map(modules.map((m) => [moduleName(m.path), m]));
  return [...modules]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((m) => `${m.path}:${closure(moduleName(m.path), byName).map((d) => " " + byName.get(d)!.path).join("")}\n`)
    .join("");
}

/** modules.dep parsed: module name → its path and the paths it needs (as listed). */
export function parseModulesDep(text: string): Map<string, { path: string; needs: string[] }> {
  const out = new Map<string, { path: string; needs: string[] }>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    out.set(moduleName(path), { path, needs: line.slice(colon + 1).trim().split(/\s+/).filter(Boolean) });
  }
  return out;
}

/**
 * The module files to load for `names`, in load order (each after everything
 * it needs, each once). Throws with the unknown name when a module is not in
 * modules.dep.
 */
export function modulesLoadOrder(modulesDep: string, names: readonly string[]): string[] {
  const dep = parseModulesDep(modulesDep);
  const order: string[] = [];
  for (const raw of names) {
    const m = dep.get(moduleName(raw));
    if (!m) throw new Error(`no kernel module "${raw}" in modules.dep`);
    // modprobe loads the listed dependencies from right to left, then the module.
    for (const p of [...m.needs].reverse().concat(m.path)) if (!order.includes(p)) order.push(p);
  }
  return order;
}

/** The lines of `modulesDep` for the modules in `paths` (what an initramfs that carries only those needs). */
export function subsetModulesDep(modulesDep: string, paths: readonly string[]): string {
  const want = new Set(paths);
  return modulesDep.split("\n").filter((l) => want.has(l.slice(0, l.indexOf(":")))).map((l) => l + "\n").join("");
}

/**
 * The modules each kind of virtual hardware needs in Debian's 686 kernel
 * (where its driver is `=m`). Streams that add hardware add a line here;
 * dependencies (virtio, virtio_ring, libata, scsi_mod …) come from
 * modules.dep by themselves.
 */
export const DRIVER_MODULES = {
  "virtio-blk": ["virtio_pci", "virtio_blk"],
  "virtio-console": ["virtio_pci", "virtio_console"],
  "virtio-rng": ["virtio_pci", "virtio_rng"],
  "virtio-balloon": ["virtio_pci", "virtio_balloon"],
  "virtio-net": ["virtio_pci", "virtio_net"],
  /** PIIX3 IDE through libata (disks appear as /dev/sdX). */
  "ide": ["ata_piix", "sd_mod"],
  "ne2k-pci": ["ne2k_pci"],
  /** QEMU's pvpanic PCI device: the guest reports a kernel panic to the VMM. */
  "pvpanic": ["pvpanic_pci"],
  /**
   * ext2/ext3/ext4 file systems (ext4 serves ext2 in Debian's kernel). ext4
   * mounts only with a crc32c shash (its softdep "pre: crc32c"); the generic
   * one, since crc32c-intel needs SSE4.2.
   */
  "ext4": ["crc32c_generic", "ext4"],
  /** FAT (a SYSLINUX boot disk), with the code page and character set Debian's kernel defaults to (437, ascii). */
  "vfat": ["vfat", "nls_cp437", "nls_ascii"],
} as const satisfies Record<string, readonly string[]>;

export type DriverName = keyof typeof DRIVER_MODULES;

/** Module names for a set of hardware/file-system kinds, each once, in the order given. */
export function driverModules(kinds: readonly DriverName[]): string[] {
  const out: string[] = [];
  for (const k of kinds) for (const m of DRIVER_MODULES[k]) if (!out.includes(m)) out.push(m);
  return out;
}
