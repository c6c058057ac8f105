// Linux booted the way a PC boots it — SeaBIOS, SYSLINUX from a FAT disk (npm run boot-disk's kind), the kernel —
// on Symbiont's Wasm engine and on qemu-system-i386 (TCG) with the same BIOS and image, virtio-blk, 128 MiB, one
// vCPU. Reported per system: host time (wall and CPU) from the start to three serial marks: the boot loader starts
// (SYSLINUX's banner: the firmware is done), the kernel prints its first line, init runs (no "quiet": it would
// silence both); the median of BENCH_FIRMWARE_RUNS runs (default 3) after one unmeasured run. Ours runs in this
// process (CPU time of this process), QEMU as a child (its CPU time from /proc, read when its output arrives).
//
// Alone: node benchmarks/firmware.mjs (after npm run build); npm run bench runs it too (BENCH_FIRMWARE=0 leaves
// it out). Needs the images and SeaBIOS (npm run images) and mkfs.fat, mcopy, syslinux.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pc } from "../dist/index.js";
import { createEngine } from "../dist/node/engines.js";
import { findCachedImages } from "../dist/node/images.js";
import { findSeabios } from "../dist/node/firmware.js";
import { BOOT_DISK_CMDLINE, bootDiskInitramfs, makeBootDisk, missingBootDiskTools } from "../dist/node/boot-disk.js";
import { openDiskImage } from "../dist/node/disk-file.js";
import { procCpuMs } from "./linux.mjs";

const RAM = 128 << 20;
/** Serial marks: the boot loader's banner (the firmware is done), the kernel's first line, init. */
const MARKS = [["loader", "SYSLINUX "], ["kernel", "Linux version"], ["init", "SYMBIONT-INIT-OK"]];

function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }

/** Watches serial bytes for the marks; `at` gets { t, cpu } per mark name. */
function marker(now) {
  let text = "";
  const at = {};
  return {
    at,
    byte(b) {
      text += String.fromCharCode(b);
      if (text.length > 4096) text = text.slice(-256);
      for (const [name, s] of MARKS) if (!at[name] && text.includes(s)) at[name] = now();
    },
    done: () => at.init !== undefined,
  };
}

async function ours(image) {
  const t0 = performance.now(), c0 = cpuMs();
  const m = marker(() => ({ t: performance.now() - t0, cpu: cpuMs() - c0 }));
  const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, onSerial: (b) => m.byte(b), disks: [{ backend: openDiskImage(image, "snapshot") }] });
  pc.vm.loadRom(new Uint8Array(readFileSync(findSeabios().path)));
  const deadline = performance.now() + 300_000;
  while (!m.done()) {
    if (performance.now() > deadline) throw new Error("symbiont did not reach init in 300 s");
    const stop = pc.vm.run(1_000_000);
    if (stop.kind === "idle") {
      // The guest waits for a timer (SeaBIOS and SYSLINUX do): sleep in real time until it is due, as the CLI does.
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(20, (stop.untilNs - pc.vm.clock.nowNs()) / 1e6))));
    } else if (stop.kind !== "budget" && !(stop.kind === "halted" && pc.vm.core.pendingInterrupt() >= 0)) {
      throw new Error(`symbiont stopped: ${JSON.stringify(stop)}`);
    }
  }
  return m.at;
}

function qemu(image) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn("qemu-system-i386", ["-accel", "tcg", "-bios", findSeabios().path, "-m", "128", "-display", "none", "-nodefaults",
      "-machine", "graphics=off", "-serial", "stdio", "-no-reboot", "-drive", `file=${image},format=raw,if=virtio,snapshot=on`], { stdio: ["ignore", "pipe", "ignore"] });
    const m = marker(() => ({ t: performance.now() - t0, cpu: procCpuMs(child.pid) }));
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error("QEMU did not reach init in 300 s")); }, 300_000);
    child.stdout.on("data", (d) => {
      for (const b of d) m.byte(b);
      if (m.done()) { clearTimeout(timer); child.kill("SIGKILL"); resolve(m.at); }
    });
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** opts: runs, progress. Returns { rows: [{ system, loader, kernel, init }] (median ms and CPU ms), ratios } or { skipped }. */
export async function firmwareBench(opts) {
  const images = findCachedImages();
  const missing = missingBootDiskTools();
  if (!images || !findSeabios()) return { skipped: "firmware boot rows skipped: no cached images or SeaBIOS (npm run images)" };
  if (missing.length > 0) return { skipped: `firmware boot rows skipped: no ${missing.join(", ")}` };
  const dir = mkdtempSync(join(tmpdir(), "symbiont-bench-firmware-"));
  try {
    const image = join(dir, "boot.img");
    makeBootDisk(image, { kernel: new Uint8Array(readFileSync(images.kernel)), initrd: bootDiskInitramfs(images), append: BOOT_DISK_CMDLINE });
    const rows = [];
    const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
    for (const [system, boot] of [["symbiont (wasm)", ours], ...(haveQemu ? [["qemu (tcg)", qemu]] : [])]) {
      const runs = [];
      try {
        for (let i = 0; i <= opts.runs; i++) {
          opts.progress(`  firmware: ${system} run ${i === 0 ? "warm-up" : `${i}/${opts.runs}`} … `);
          const at = await boot(image);
          const missed = MARKS.filter(([name]) => !at[name]).map(([, s]) => `"${s}"`);
          if (missed.length > 0) throw new Error(`no ${missed.join(", ")} on the serial port`);
          opts.progress(`init at ${(at.init.t / 1000).toFixed(2)} s wall, ${(at.init.cpu / 1000).toFixed(2)} s CPU\n`);
          if (i > 0) runs.push(at);
        }
      } catch (e) {
        opts.progress(`failed: ${e.message}\n`);
        rows.push({ system, error: e.message });
        continue;
      }
      const row = { system };
      for (const [name] of MARKS) row[name] = { ms: Math.round(median(runs.map((r) => r[name].t))), cpuMs: Math.round(median(runs.map((r) => r[name].cpu))) };
      rows.push(row);
    }
    const [s, q] = rows;
    const both = s?.init && q?.init;
    return {
      rows, ...(haveQemu ? {} : { note: "qemu-system-i386 is not installed: no QEMU row" }),
      qemuFasterCpu: both ? +(s.init.cpuMs / q.init.cpuMs).toFixed(2) : null, qemuFasterWall: both ? +(s.init.ms / q.init.ms).toFixed(2) : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function firmwareLines(f) {
  if (!f || f.skipped) return [f?.skipped ?? ""];
  const cell = (x) => `${(x.ms / 1000).toFixed(2)} s (${(x.cpuMs / 1000).toFixed(2)} s CPU)`;
  const lines = ["", "Linux from a SYSLINUX disk through SeaBIOS (median, from the start):", "| system | SYSLINUX starts | the kernel's first line | init |", "|---|---|---|---|"];
  for (const r of f.rows) lines.push(r.error ? `| ${r.system} | failed: ${r.error} | | |` : `| ${r.system} | ${cell(r.loader)} | ${cell(r.kernel)} | ${cell(r.init)} |`);
  if (f.note) lines.push(f.note);
  if (f.qemuFasterCpu !== null) lines.push(`QEMU reaches init ${f.qemuFasterCpu}× faster in CPU time, ${f.qemuFasterWall}× in wall time`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await firmwareBench({ runs: Number(process.env.BENCH_FIRMWARE_RUNS ?? 3), progress: (s) => process.stderr.write(s) });
  console.log(firmwareLines(f).join("\n"));
  console.log(JSON.stringify(f));
}
