/**
 * An initramfs builder: directories, files, symlinks and device nodes into a
 * cpio "newc" archive (see cpio.ts), plus a busybox layout with an /init that
 * gets a shell on the serial console.
 *
 * The kernel unpacks an uncompressed newc archive whatever its RD_* options
 * (init/initramfs.c recognises "070701" itself and only looks up a
 * decompressor for other magics), so {@link Initramfs.build} needs no
 * compression; Debian's 686 kernel also has RD_GZIP (and XZ, ZSTD, …).
 * {@link gzip} compresses with the platform's `CompressionStream("gzip")`,
 * which Node ≥ 18 and current browsers provide globally; it is async.
 *
 * The kernel does not create missing parent directories while unpacking, so
 * the builder adds them (mode 0755) before their first child, and it needs
 * /dev/console in the archive to give /init its stdin/stdout/stderr before
 * devtmpfs is mounted — {@link busyboxInitramfs} includes it. Kernel modules
 * (`modules`: files in load order, from src/boot/kmod.ts) go to
 * /lib/modules/RELEASE/ with their modules.dep, and /init insmods them in
 * order (with their parameters from the kernel command line, as modprobe
 * passes them) before it prints its marker.
 *
 * @module
 */
import { type CpioEntry, S_IFCHR, S_IFBLK, S_IFDIR, S_IFLNK, S_IFREG, S_IFIFO, writeNewc } from "./cpio.js";

const utf8 = new TextEncoder();

/** Normalize an archive path: no leading "/" or "./", no empty or "." parts; ".." is refused. */
export function normalizeArchivePath(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw new Error(`initramfs: ".." is not allowed in a path (${path})`);
    parts.push(p);
  }
  if (parts.length === 0) throw new Error(`initramfs: "${path}" names the root, which always exists`);
  return parts.join("/");
}

/** Options for an {@link Initramfs}. */
export interface InitramfsOptions {
  /** mtime of every entry (default 0: the same input gives the same bytes). */
  mtime?: number;
}

/**
 * Builds an initramfs. Paths are archive paths ("/bin/sh" and "bin/sh" are
 * the same); adding a path again replaces the earlier entry in place.
 *
 * ```ts
 * const cpio = new Initramfs()
 *   .dir("/proc", 0o755)
 *   .file("/init", "#!/bin/sh\necho hi\n", 0o755)
 *   .symlink("/bin/sh", "busybox")
 *   .node("/dev/console", "c", 5, 1, 0o600)
 *   .build();
 * ```
 */
export class Initramfs {
  private readonly entries = new Map<string, CpioEntry>();

  constructor(private readonly options: InitramfsOptions = {}) {}

  /** A directory (parents are created as needed). */
  dir(path: string, mode = 0o755): this {
    return this.put(path, { mode: S_IFDIR | (mode & 0o7777) });
  }

  /** A regular file; a string is stored as UTF-8. */
  file(path: string, data: Uint8Array | string, mode = 0o644): this {
    return this.put(path, { mode: S_IFREG | (mode & 0o7777), data: typeof data === "string" ? utf8.encode(data) : data });
  }

  /** A symbolic link to `target` (stored verbatim: relative targets stay relative). */
  symlink(path: string, target: string): this {
    if (target === "") throw new Error(`initramfs: symlink ${path} has an empty target`);
    return this.put(path, { mode: S_IFLNK | 0o777, data: utf8.encode(target) });
  }

  /** A device node: 'c' character, 'b' block; or 'p' a FIFO (major/minor ignored). */
  node(path: string, type: "c" | "b" | "p", major: number, minor: number, mode = 0o600): this {
    const kind = type === "c" ? S_IFCHR : type === "b" ? S_IFBLK : type === "p" ? S_IFIFO : -1;
    if (kind < 0) throw new Error(`initramfs: node type must be "c", "b" or "p", not "${type as string}"`);
    return this.put(path, {
      mode: kind | (mode & 0o7777),
      rdevMajor: type === "p" ? 0 : major,
      rdevMinor: type === "p" ? 0 : minor,
    });
  }

  /** Whether the archive has an entry at `path`. */
  has(path: string): boolean {
    return this.entries.has(normalizeArchivePath(path));
  }

  /** The archive paths in order. */
  paths(): string[] {
    return [...this.entries.keys()];
  }

  /** The uncompressed newc archive. */
  build(): Uint8Array {
    return writeNewc([...this.entries.values()]);
  }

  /** The archive compressed with gzip (see {@link gzip}). */
  buildGzip(): Promise<Uint8Array> {
    return gzip(this.build());
  }

  private put(path: string, e: Omit<CpioEntry, "name">): this {
    const name = normalizeArchivePath(path);
    const slash = name.lastIndexOf("/");
    if (slash > 0) {
      const parent = name.slice(0, slash);
      const existing = this.entries.get(parent);
      if (!existing) this.dir(parent, 0o755);
      else if ((existing.mode & 0o170000) !== S_IFDIR) throw new Error(`initramfs: ${parent} is not a directory (adding ${name})`);
    }
    this.entries.set(name, { ...e, name, mtime: this.options.mtime ?? 0 });
    return this;
  }
}

/**
 * gzip `data` with the platform's CompressionStream (Node ≥ 18 has it
 * globally, as do browsers and Workers). The kernel accepts gzip-compressed
 * initramfs images when built with RD_GZIP (Debian's are).
 */
export async function gzip(data: Uint8Array): Promise<Uint8Array> {
  if (typeof CompressionStream === "undefined") {
    throw new Error("gzip: this platform has no CompressionStream (Node 18+ or a current browser is needed)");
  }
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Concatenate initramfs images (cpio archives, compressed or not) into one
 * initrd, each starting on a 4-byte boundary as the kernel requires; later
 * archives add to or replace files of earlier ones.
 */
export function concatInitrds(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => ((n + 3) & ~3) + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    o = (o + 3) & ~3;
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Applets linked in /bin of {@link busyboxInitramfs} (all present in Debian
 * 12's busybox-static); the default /init also runs `busybox --install -s`
 * for every other applet.
 */
export const BUSYBOX_APPLETS: readonly string[] = [
  "sh", "ash", "mount", "umount", "echo", "cat", "ls", "uname", "md5sum", "sha1sum", "sha256sum", "sha512sum",
  "awk", "sort", "uniq", "gzip", "gunzip", "zcat", "factor", "poweroff", "reboot", "halt", "setsid", "cttyhack",
  "mkdir", "rmdir", "ln", "cp", "mv", "rm", "touch", "chmod", "chown", "mknod", "dmesg", "ps", "kill", "sleep",
  "head", "tail", "wc", "grep", "sed", "tr", "cut", "dd", "od", "hexdump", "seq", "printf", "test", "[", "[[", "true",
  "false", "date", "env", "sync", "id", "hostname", "free", "uptime", "yes", "expr", "find", "xargs", "tee", "stat",
  "df", "du", "basename", "dirname", "readlink", "which", "time", "nproc", "bc", "dc", "vi", "less", "more", "stty",
  "tty", "clear", "reset", "sysctl", "insmod", "modprobe", "lsmod", "mdev", "switch_root", "tar", "cpio", "xz", "unxz",
];

/** Kernel modules an initramfs carries and /init loads, in load order (see src/boot/kmod.ts). */
export interface KernelModules {
  /** The kernel release (uname -r): they go to /lib/modules/RELEASE/. */
  release: string;
  /** Paths relative to /lib/modules/RELEASE and contents, dependencies before the modules that need them. */
  files: { path: string; data: Uint8Array }[];
  /** modules.dep lines for these modules (so busybox modprobe works in the guest too). */
  modulesDep?: string;
}

/** `extra` loaded after `base` (e.g. symbiotic.ko after the driver modules a configuration needs), for one initramfs. */
export function joinKernelModules(base: KernelModules | undefined, extra: KernelModules): KernelModules {
  if (!base) return extra;
  if (base.release !== extra.release) throw new Error(`kernel modules for ${base.release} and ${extra.release} cannot share an initramfs`);
  return { release: base.release, files: [...base.files, ...extra.files], modulesDep: (base.modulesDep ?? "") + (extra.modulesDep ?? "") };
}

/** Options for {@link defaultInitScript}. */
export interface InitScriptOptions {
  /** Line printed on the console once /init has mounted everything (default "SYMBIONT-INIT-OK"). */
  marker?: string;
  /**
   * Shell commands run after the marker instead of the interactive shell
   * (default `setsid cttyhack sh`: a shell with job control on the console).
   * The machine powers off (`poweroff -f`) when they finish.
   */
  run?: string;
  /** Modules /init loads with insmod, in this order, before it prints the marker. */
  modules?: KernelModules;
}

/**
 * The default /init: mount proc, sys, devtmpfs; print the marker; run a shell on the console; power off. With the
 * interactive default and a VGA console asked for (`console=tty0`), a second shell on the screen's tty1 for its
 * keyboard, started again whenever it exits.
 */
export function defaultInitScript(opts: InitScriptOptions = {}): string {
  const marker = opts.marker ?? "SYMBIONT-INIT-OK";
  const run = opts.run ?? "setsid cttyhack sh";
  return [
    "#!/bin/sh",
    "# /init of Symbiont's busybox initramfs (src/boot/initramfs.ts)",
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=vt100",
    "mount -t proc proc /proc",
    "mount -t sysfs sysfs /sys",
    "mount -t devtmpfs devtmpfs /dev 2>/dev/null",
    "mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null",
    "/bin/busybox --install -s 2>/dev/null",
    ...(opts.modules?.files.length ? MODULE_PARAMETERS : []),
    ...(opts.modules?.files ?? []).map((f) => {
      const path = shellQuote(`/lib/modules/${opts.modules!.release}/${f.path}`);
      const name = shellQuote(f.path.replace(/^.*\//, "").replace(/\.ko(\.[a-z]+)?$/, "").replace(/-/g, "_"));
      return `insmod ${path} $(modparams ${name}) || echo ${shellQuote(`symbiont: insmod ${f.path} failed`)}`;
    }),
    "hostname symbiont",
    ...NETWORK_SETUP,
    `echo ${shellQuote(marker)}`,
    ...(opts.run === undefined ? VGA_CONSOLE_SHELL : []),
    run,
    "echo 'symbiont: /init finished, powering off'",
    "sync",
    "poweroff -f",
    "",
  ].join("\n");
}

/**
 * A shell on tty1 (the VGA's console, with the PS/2 keyboard) when the command line has `console=tty0`: setsid
 * makes `sh -c` a session leader, whose opening tty1 makes it the controlling terminal (job control, Ctrl-C).
 */
const VGA_CONSOLE_SHELL: readonly string[] = [
  "case \" $(cat /proc/cmdline) \" in *\" console=tty0 \"*)",
  "  (while [ -c /dev/tty1 ]; do setsid sh -c 'exec sh -i </dev/tty1 >/dev/tty1 2>&1'; sleep 1; done) & ;;",
  "esac",
];

/**
 * `modparams NAME`: the module's parameters from the kernel command line
 * (`libata.dma=0` gives `dma=0`). The kernel applies `module.param` only to
 * built-in code; for loadable modules modprobe does it, and busybox insmod
 * does not — so init does.
 */
const MODULE_PARAMETERS: readonly string[] = [
  "modparams() { for a in $(cat /proc/cmdline); do case \"$a\" in \"$1\".*) echo \"${a#\"$1\".}\";; esac; done; }",
];

/**
 * Interfaces configured from the kernel command line: `symbiont.ip=MAC=ADDR/LEN[,MAC=ADDR/LEN…]`
 * brings up the interface with that station address (whatever the kernel
 * named it) with that IPv4 address — what `symbiont boot --nic …` passes;
 * `MAC=dhcp` asks a DHCP server instead (busybox udhcpc with
 * {@link UDHCPC_SCRIPT}: address, default route, resolv.conf) — what
 * `--net user` passes.
 */
export const NETWORK_SETUP: readonly string[] = [
  "for arg in $(cat /proc/cmdline); do",
  "  case \"$arg\" in symbiont.ip=*)",
  "    for spec in $(echo \"${arg#symbiont.ip=}\" | tr , ' '); do",
  "      for dev in /sys/class/net/*; do",
  "        [ \"$(cat $dev/address)\" = \"${spec%%=*}\" ] || continue",
  "        ip link set ${dev##*/} up",
  "        if [ \"${spec#*=}\" = dhcp ]; then udhcpc -i ${dev##*/} -s /etc/udhcpc.script -q -n -t 5 -T 2; else ip addr add ${spec#*=} dev ${dev##*/}; fi",
  "      done",
  "    done;;",
  "  esac",
  "done",
];

/** What busybox udhcpc runs with a lease (`bound`, `renew`) or without one (`deconfig`): its environment names the lease's parts. */
export const UDHCPC_SCRIPT = [
  "#!/bin/sh",
  "# udhcpc's event script (src/boot/initramfs.ts)",
  "case \"$1\" in",
  "  deconfig) ip addr flush dev \"$interface\" ;;",
  "  bound|renew)",
  "    ip addr flush dev \"$interface\"",
  "    ip addr add \"$ip/$mask\" dev \"$interface\"",
  "    for r in $router; do ip route replace default via \"$r\" dev \"$interface\"; break; done",
  "    : > /etc/resolv.conf",
  "    for d in $dns; do echo \"nameserver $d\" >> /etc/resolv.conf; done ;;",
  "esac",
  "",
].join("\n");

function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** A file to add to {@link busyboxInitramfs}. */
export interface ExtraFile {
  path: string;
  data: Uint8Array | string;
  /** Default 0644. */
  mode?: number;
}

/** Options for {@link busyboxInitramfs}. */
export interface BusyboxInitramfsOptions extends InitScriptOptions {
  /** A static i386 busybox binary (Debian's busybox-static: bin/busybox). */
  busybox: Uint8Array;
  /** The whole /init script (default {@link defaultInitScript} with `marker`/`run`). */
  init?: string;
  /** More files (parent directories are created). */
  extraFiles?: ExtraFile[];
  /** Applets to link in /bin (default {@link BUSYBOX_APPLETS}). */
  applets?: readonly string[];
  /** mtime of every entry (default 0). */
  mtime?: number;
}

/**
 * The layout of a busybox initramfs, as a builder to add to:
 * /bin/busybox with /bin/<applet> → busybox symlinks; /sbin, /usr/bin,
 * /usr/sbin, /proc, /sys, /tmp, /root, /etc (passwd, group), /mnt, /run;
 * device nodes /dev/console (c 5 1), /dev/ttyS0 (c 4 64), /dev/null
 * (c 1 3), /dev/tty (c 5 0) so that /init has a console before devtmpfs;
 * and the /init script.
 */
export function busyboxLayout(opts: BusyboxInitramfsOptions): Initramfs {
  const fs = new Initramfs({ mtime: opts.mtime });
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "mnt", "run", "etc"]) fs.dir(d, 0o755);
  fs.dir("tmp", 0o1777).dir("root", 0o700);
  fs.node("dev/console", "c", 5, 1, 0o600)
    .node("dev/ttyS0", "c", 4, 64, 0o660)
    .node("dev/null", "c", 1, 3, 0o666)
    .node("dev/tty", "c", 5, 0, 0o666);
  fs.file("etc/passwd", "root::0:0:root:/root:/bin/sh\n", 0o644)
    .file("etc/group", "root:x:0:\n", 0o644)
    .file("etc/udhcpc.script", UDHCPC_SCRIPT, 0o755);
  fs.file("bin/busybox", opts.busybox, 0o755);
  for (const a of opts.applets ?? BUSYBOX_APPLETS) {
    if (a === "busybox" || a.includes("/")) continue;
    fs.symlink(`bin/${a}`, "busybox");
  }
  fs.file("init", opts.init ?? defaultInitScript(opts), 0o755);
  if (opts.modules) {
    const dir = `lib/modules/${opts.modules.release}`;
    for (const f of opts.modules.files) fs.file(`${dir}/${f.path}`, f.data, 0o644);
    fs.file(`${dir}/modules.dep`, opts.modules.modulesDep ?? "", 0o644);
  }
  for (const f of opts.extraFiles ?? []) fs.file(f.path, f.data, f.mode ?? 0o644);
  return fs;
}

/** An uncompressed busybox initramfs ({@link busyboxLayout}, built). */
export function busyboxInitramfs(opts: BusyboxInitramfsOptions): Uint8Array {
  return busyboxLayout(opts).build();
}
