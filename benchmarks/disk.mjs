// Paravirtual vs emulated disk I/O (seeds 002 and 003): Debian's kernel writes
// and reads a raw disk with busybox dd (O_DIRECT, 64 KiB blocks, so the page
// cache is out of the way) on virtio-blk, on PIIX3 IDE with bus-master DMA, and
// on PIIX3 IDE in PIO mode (libata.dma=0), on each engine. Reported per case:
// MB/s of host time (wall or CPU, BENCH_CLOCK) and VM exits per MB, both from
// the serial markers the guest prints around each dd, timestamped in the serial
// callback. Disks are in memory (MemoryDisk), so host file I/O is not measured.
//
// Alone: node benchmarks/disk.mjs (after npm run build); npm run bench runs it
// too (BENCH_DISK=0 leaves it out). Environment: BENCH_DISK_MB (default 16),
// BENCH_ENGINES (wasm,js).
import { readFileSync } from "node:fs";
import { Pc, MemoryDisk, driverModules } from "../dist/index.js";
import { createEngine } from "../dist/node/engines.js";
import { cachedModules, findCachedImages } from "../dist/node/images.js";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { LINUX_CMDLINE } from "../dist/boot/linux.js";

const RAM = 128 << 20;
const CMDLINE = `${LINUX_CMDLINE} quiet`;

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

/** One boot: `disks` attached, dd on each of `devs`; returns per-device, per-direction windows. */
async function boot(engineKind, disks, devs, mb, extraCmdline, progress) {
  const images = findCachedImages();
  const engine = await createEngine(engineKind, RAM);
  const marks = [];
  let line = "";
  let pc = null;
  const exitsNow = () => Object.values(pc.vm.stats().exits).reduce((a, b) => a + b, 0);
  pc = new Pc({
    engine, ramBytes: RAM, clock: "deterministic", disks,
    onSerial: (b) => {
      if (b === 10) {
        const m = /^DD-(\w+)$/.exec(line.trim());
        if (m) marks.push({ tag: m[1], t: performance.now(), cpu: cpuMs(), exits: exitsNow(), n: pc.vm.core.getRetired() });
        line = "";
      } else line += String.fromCharCode(b);
    },
  });
  const count = (mb << 20) >> 16;
  const script = devs.flatMap((d) => [
    `echo DD-W${d}`, `dd if=/dev/zero of=/dev/${d} bs=64k count=${count} oflag=direct 2>/dev/null`,
    `echo DD-R${d}`, `dd if=/dev/${d} of=/dev/null bs=64k count=${count} iflag=direct 2>/dev/null`,
    `echo DD-E${d}`,
  ]).join("\n");
  const kinds = ["pvpanic", ...(devs.some((d) => d.startsWith("vd")) ? ["virtio-blk"] : []), ...(devs.some((d) => d.startsWith("sd")) ? ["ide"] : [])];
  const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images.busybox)), modules: cachedModules(images, driverModules(kinds)), run: script });
  pc.loadLinux(new Uint8Array(readFileSync(images.kernel)), { cmdline: `${CMDLINE} ${extraCmdline}`.trim(), initrd });
  const stop = pc.vm.run(200e9);
  if (stop.kind !== "halted") throw new Error(`disk bench on ${engineKind}: guest stopped with ${JSON.stringify(stop)}`);
  const at = (tag) => {
    const m = marks.find((x) => x.tag === tag);
    if (!m) throw new Error(`disk bench on ${engineKind}: no DD-${tag} marker`);
    return m;
  };
  const out = {};
  for (const d of devs) {
    for (const [dir, a, b] of [["write", `W${d}`, `R${d}`], ["read", `R${d}`, `E${d}`]]) {
      const s = at(a), e = at(b);
      out[`${d}-${dir}`] = { wallMs: e.t - s.t, cpuMs: e.cpu - s.cpu, exits: e.exits - s.exits, instructions: e.n - s.n, mb };
    }
  }
  progress(".");
  return out;
}

/** The disk rows for `engines` (wasm, js). */
export async function diskBench({ engines, mb = 16, clock = "wall", progress = () => {} }) {
  if (!findCachedImages()) return { skipped: "disk rows skipped: the Debian images are not cached (npm run images)" };
  const size = (mb + 4) << 20;
  const rows = [];
  for (const engine of engines) {
    progress(`bench: disk I/O on ${engine} `);
    const a = await boot(engine, [{ backend: MemoryDisk.blank(size) }, { backend: MemoryDisk.blank(size), interface: "ide" }], ["vda", "sda"], mb, "", progress);
    const b = await boot(engine, [{ backend: MemoryDisk.blank(size), interface: "ide" }], ["sda"], mb, "libata.dma=0", progress);
    progress("\n");
    const cases = [["virtio-blk", a, "vda"], ["IDE (DMA)", a, "sda"], ["IDE (PIO)", b, "sda"]];
    for (const [name, r, dev] of cases) {
      for (const dir of ["write", "read"]) {
        const w = r[`${dev}-${dir}`];
        const ms = clock === "cpu" ? w.cpuMs : w.wallMs;
        rows.push({ engine, device: name, dir, mb, ms: +ms.toFixed(1), mbPerS: +(mb / (ms / 1000)).toFixed(2), exitsPerMb: +(w.exits / mb).toFixed(1), instructionsPerMb: Math.round(w.instructions / mb) });
      }
    }
  }
  return { rows, ratios: diskRatios(rows) };
}

/** virtio-blk against each IDE mode, per engine and direction: throughput ratio and exit ratio. */
function diskRatios(rows) {
  const out = [];
  for (const r of rows.filter((x) => x.device === "virtio-blk")) {
    for (const ide of rows.filter((x) => x.engine === r.engine && x.dir === r.dir && x.device !== "virtio-blk")) {
      out.push({ engine: r.engine, dir: r.dir, versus: ide.device, throughput: +(r.mbPerS / ide.mbPerS).toFixed(2), fewerExits: +(ide.exitsPerMb / Math.max(r.exitsPerMb, 0.1)).toFixed(1) });
    }
  }
  return out;
}

export function diskLines(d) {
  if (!d || d.skipped) return [d?.skipped ?? ""];
  const lines = ["", "| engine | device | dd | MB/s | exits/MB |", "|---|---|---|---|---|"];
  for (const r of d.rows) lines.push(`| ${r.engine} | ${r.device} | ${r.dir} | ${r.mbPerS} | ${r.exitsPerMb} |`);
  lines.push("", "virtio-blk vs IDE (throughput ×, exits ÷):");
  for (const q of d.ratios) lines.push(`  ${q.engine} ${q.dir} vs ${q.versus}: ${q.throughput}× throughput, ${q.fewerExits}× fewer exits per MB`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const engines = (process.env.BENCH_ENGINES ?? "wasm,js").split(",").filter((e) => e === "wasm" || e === "js");
  const mb = Number(process.env.BENCH_DISK_MB ?? 16);
  const d = await diskBench({ engines, mb, clock: process.env.BENCH_CLOCK === "cpu" ? "cpu" : "wall", progress: (s) => process.stderr.write(s) });
  console.log(diskLines(d).join("\n"));
  console.log(JSON.stringify(d));
}
