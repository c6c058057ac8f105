/**
 * The SwapBypass thrashing set-up, shared by tests/swapbypass-linux.test.ts
 * and the benchmark (benchmarks/swapbypass.mjs): Debian's cached kernel and
 * busybox with the virtio-blk driver, symbiotic.ko (unless told not to) and
 * the workloads `npm run workloads` built (guests/linux/thrash: stream, gups)
 * in /bin; shadow paging; a swap disk in VMM memory the guest formats and
 * enables; SwapBypass on or off.
 *
 * @module
 */
import { readFileSync, existsSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "./engines.js";
import { defaultVmmBytes, type EngineKind } from "../engine/engine.js";
import { Pc, SWAP_DISK_SERIAL } from "../machine/pc.js";
import { ShadowPaging } from "../vmm/paging/index.js";
import { busyboxInitramfs } from "../boot/initramfs.js";
import { LINUX_CMDLINE } from "../boot/linux.js";
import { findCachedImages, cachedModules } from "./images.js";
import { findBuiltModule, symbioticKernelModules, joinKernelModules } from "./symbiotic-module.js";
import { driverModules } from "../boot/kmod.js";
import { SerialShell, type TimedOutput } from "./serial-shell.js";
import { MemoryDisk } from "../devices/block/backend.js";

/** Where `npm run workloads` puts the programs. */
export const WORKLOADS_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../build/workloads");
export const WORKLOADS = ["stream", "gups"] as const;
export type Workload = (typeof WORKLOADS)[number];
/** The serial of the `otherDiskBytes` disk: an ordinary disk, not the one SwapBypass watches. */
export const OTHER_DISK_SERIAL = "other-disk";

/** Why the set-up cannot run here (what to build first), or null. */
export function thrashPrerequisites(symbiotic = true): string | null {
  const images = findCachedImages();
  if (!images) return "images not cached: run npm run images";
  if (symbiotic && !findBuiltModule(images)) return "symbiotic module not built: run npm run module";
  if (!workloadsBuilt()) return "workloads not built: run npm run workloads";
  if (WORKLOADS.some(workloadStale)) return "workloads older than their sources in guests/linux/thrash: run npm run workloads";
  return null;
}

/** Has `npm run workloads` built every workload? */
function workloadsBuilt(): boolean { return WORKLOADS.every((w) => existsSync(join(WORKLOADS_DIR, w))); }

/** The sources of the workloads (guests/linux/thrash: the program and the header they share). */
const WORKLOADS_SRC = join(dirname(fileURLToPath(import.meta.url)), "../../guests/linux/thrash");
/** Was workload `w` built before its source (or the shared header) last changed? (No sources, as in a package: no.) */
function workloadStale(w: Workload): boolean {
  const built = statSync(join(WORKLOADS_DIR, w)).mtimeMs;
  return [`${w}.c`, "common.h"].some((f) => existsSync(join(WORKLOADS_SRC, f)) && statSync(join(WORKLOADS_SRC, f)).mtimeMs > built);
}

/** The built workloads as initramfs files in /bin (none when `npm run workloads` has not run). */
export function thrashWorkloadFiles(): { path: string; data: Uint8Array; mode: number }[] {
  if (!workloadsBuilt()) return [];
  return WORKLOADS.map((n) => ({ path: `bin/${n}`, data: new Uint8Array(readFileSync(join(WORKLOADS_DIR, n))), mode: 0o755 }));
}

export interface ThrashGuestOptions {
  engine?: EngineKind;
  ramBytes: number;
  /** The swap disk in VMM memory (0: none). */
  swapBytes: number;
  swapBypass: boolean;
  /** A blank virtio disk of this many bytes (in host memory, serial {@link OTHER_DISK_SERIAL}), for the guest to swap to instead. */
  otherDiskBytes?: number;
  /** Load symbiotic.ko (default true). */
  symbiotic?: boolean;
  /** More files for the initramfs (a test's programs), beside the workloads in /bin. */
  extraFiles?: { path: string; data: Uint8Array; mode: number }[];
  clock?: "deterministic" | "host";
  /** vCPUs (default 1). */
  cpus?: number;
}

export interface ThrashGuest { pc: Pc; shell: SerialShell }

/** The thrashing guest's machine as {@link bootThrashGuest} builds it, nothing loaded (what a snapshot is restored into). */
export async function thrashMachine(o: ThrashGuestOptions, onSerial: (b: number) => void): Promise<Pc> {
  return new Pc({
    engine: await createEngine(o.engine ?? "wasm", o.ramBytes, { vmmBytes: defaultVmmBytes(o.ramBytes) + o.swapBytes }),
    ramBytes: o.ramBytes, clock: o.clock ?? "deterministic", onSerial, paging: new ShadowPaging(), cpus: o.cpus,
    disks: o.otherDiskBytes ? [{ backend: MemoryDisk.blank(o.otherDiskBytes), serial: OTHER_DISK_SERIAL }] : [],
    ...(o.swapBytes ? { swapDiskBytes: o.swapBytes, swapBypass: o.swapBypass } : {}),
  });
}

/** Boot to the shell; with a swap disk, find it by its serial, mkswap and swapon it. */
export async function bootThrashGuest(o: ThrashGuestOptions): Promise<ThrashGuest> {
  const why = thrashPrerequisites(o.symbiotic ?? true);
  if (why) throw new Error(why);
  const images = findCachedImages()!;
  const shell = new SerialShell();
  const pc = await thrashMachine(o, shell.onSerial);
  shell.attach(pc);
  const drivers = cachedModules(images, driverModules(["virtio-blk"]));
  const initrd = busyboxInitramfs({
    busybox: new Uint8Array(readFileSync(images.busybox)),
    modules: o.symbiotic ?? true ? joinKernelModules(drivers, symbioticKernelModules(findBuiltModule(images)!)) : drivers,
    extraFiles: [...thrashWorkloadFiles(), ...(o.extraFiles ?? [])],
  });
  pc.loadLinux(new Uint8Array(readFileSync(images.kernel)), { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
  const MARKER = "SYMBIONT-INIT-OK";
  await shell.until((out) => out.includes(MARKER) && out.lastIndexOf("# ") > out.indexOf(MARKER), 20e9);
  if (o.swapBytes) {
    const dev = (await guestVirtioDisks(shell)).find((d) => d.serial === SWAP_DISK_SERIAL)?.dev;
    if (!dev) throw new Error(`the guest has no virtio disk with serial ${SWAP_DISK_SERIAL}`);
    const on = await shell.sh(`mkswap /dev/${dev} >/dev/null && swapon /dev/${dev} && echo on`);
    if (on !== "on\n") throw new Error(`swapon /dev/${dev} failed: ${on}`);
  }
  return { pc, shell };
}

/** The guest's virtio disks (/dev/vdX) and their serials, as the guest sees them in /sys/block. */
export async function guestVirtioDisks(shell: SerialShell): Promise<{ dev: string; serial: string }[]> {
  const out = await shell.sh(`for d in /sys/block/vd*; do echo "\${d##*/} $(cat $d/serial 2>/dev/null)"; done`);
  return out.split("\n").filter((l) => /^vd[a-z]+\b/.test(l)).map((l) => {
    const [dev, serial = ""] = l.trim().split(/\s+/);
    return { dev: dev!, serial };
  });
}

/** The guest's MemFree in MiB. */
export async function guestMemFreeMiB(shell: SerialShell): Promise<number> {
  return Math.floor(Number(/MemFree:\s+(\d+) kB/.exec(await shell.sh("cat /proc/meminfo"))![1]) / 1024);
}

/**
 * Run a workload in the guest: its output ("stream: N MiB, …, checksum XXXXXXXX, T ms"), the host ms the command
 * ran for (SerialShell.timed: the shell's lines before and after it), the guest instructions taken and its output's
 * lines with the host ms each arrived at (`stream … -v` prints one per pass). With `cutMs` a run still going
 * then is interrupted: `cut` says so and `ms` is a lower bound of its time.
 */
export async function runWorkload(g: ThrashGuest, name: Workload, args: string[], { cutMs }: { cutMs?: number } = {}):
  Promise<Omit<TimedOutput, "output"> & { line: string; instructions: number }> {
  const i0 = g.pc.vm.stats().instructions;
  const r = await g.shell.timed(`${name} ${args.join(" ")}`, 500e9, { cutMs });
  return { line: r.output.trim(), ms: r.ms, instructions: g.pc.vm.stats().instructions - i0, lines: r.lines, cut: r.cut };
}

/** The checksum in a workload's line. */
export function workloadChecksum(line: string): string | undefined {
  return /checksum ([0-9a-f]{8})/.exec(line)?.[1];
}
