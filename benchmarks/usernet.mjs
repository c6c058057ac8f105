// User-mode networking, us vs QEMU: Debian's Linux with virtio-net on `symbiont boot --net user` and on
// `qemu-system-i386 -netdev user` (TCG, libslirp), the same kernel, initramfs and script: the guest configures itself
// by DHCP, then busybox wget downloads BENCH_USERNET_MB MiB from an HTTP server on this host through 10.0.2.2 (to
// /dev/null) and uploads a 6.9 MB file (seq 1 1000000, --post-file). Measured on the host side, per system: the
// download from the request's arrival to the next request's (the upload's: the guest's wget has exited), the upload from the request's arrival
// to the body's last byte; MB/s of wall time and of the emulator process's CPU time (from /proc, both run as
// children). The median of BENCH_USERNET_RUNS runs (default 3).
//
// Alone: node benchmarks/usernet.mjs (after npm run build); npm run bench runs it too (BENCH_USERNET=0 leaves it
// out). Needs the images (npm run images); the QEMU row needs qemu-system-i386.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findCachedImages, cachedModules } from "../dist/node/images.js";
import { busyboxInitramfs } from "../dist/boot/initramfs.js";
import { driverModules } from "../dist/boot/kmod.js";
import { procCpuMs } from "./linux.mjs";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const UPLOAD_LINES = 1_000_000;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** The host's server: /blob (the download), POST /up (the upload), /done; `pid()` is the emulator's, for its CPU time. */
function startServer(mb, pid) {
  const blob = Buffer.alloc(mb << 20, 0x5a);
  const at = {};
  const mark = () => ({ t: performance.now(), cpu: procCpuMs(pid()) });
  const server = createServer((req, res) => {
    if (req.url === "/blob") {
      at.downStart = mark();
      res.end(blob);
    } else if (req.url === "/up") {
      at.upStart = at.downEnd = mark(); // the download is over: the guest's wget has exited and the next one started
      let n = 0;
      req.on("data", (d) => { n += d.length; });
      req.on("end", () => { at.upEnd = mark(); at.upBytes = n; res.end("ok\n"); });
    } else {
      if (req.url === "/done") at.done = true;
      res.end("ok\n");
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: server.address().port, at })));
}

function script(port) {
  return [
    `seq 1 ${UPLOAD_LINES} > /tmp/up`,
    `wget -q -O /dev/null http://10.0.2.2:${port}/warm`,
    `wget -q -O /dev/null http://10.0.2.2:${port}/blob`,
    `wget -q -O /dev/null --post-file /tmp/up http://10.0.2.2:${port}/up`,
    `wget -q -O /dev/null http://10.0.2.2:${port}/done`,
  ].join("\n");
}

/** One boot of `argv` (a child process) until the guest has asked for /done. */
async function runOnce(command, argv, mb, progress) {
  let child = null;
  const { server, port, at } = await startServer(mb, () => child?.pid);
  const dir = mkdtempSync(join(tmpdir(), "symbiont-bench-usernet-"));
  try {
    const images = findCachedImages();
    const initrd = join(dir, "initrd");
    writeFileSync(initrd, busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images.busybox)), modules: cachedModules(images, driverModules(["virtio-net"])), run: script(port) }));
    child = spawn(command, argv(images, initrd), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => { err += d; });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no /done in 300 s")), 300_000);
      const poll = setInterval(() => { if (at.done) { clearInterval(poll); clearTimeout(timer); resolve(); } }, 50);
      child.on("exit", (code) => { if (!at.done) { clearInterval(poll); clearTimeout(timer); reject(new Error(`exited with ${code} before /done: ${err.trim().split("\n").pop() ?? ""}`)); } });
    });
    if (!at.downStart || !at.upEnd) throw new Error(`a transfer was not seen: ${JSON.stringify(at)}`);
    if (at.upBytes <= 0) throw new Error("the upload was empty");
    const rate = (bytes, a, b) => ({ wall: bytes / 1e6 / ((b.t - a.t) / 1000), cpu: bytes / 1e6 / ((b.cpu - a.cpu) / 1000) });
    const r = { down: rate(mb << 20, at.downStart, at.downEnd), up: rate(at.upBytes, at.upStart, at.upEnd), upBytes: at.upBytes };
    progress(`down ${r.down.wall.toFixed(1)} MB/s, up ${r.up.wall.toFixed(1)} MB/s (wall)\n`);
    return r;
  } finally {
    child?.kill("SIGKILL");
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SYSTEMS = [
  ["symbiont (wasm)", process.execPath, (images, initrd) => [cli, "boot", "--kernel", images.kernel, "--initrd", initrd, "--nic", "virtio", "--net", "user", "--timeout", "300"]],
  ["qemu (tcg)", "qemu-system-i386", (images, initrd) => ["-m", "128", "-display", "none", "-serial", "null", "-no-reboot", "-kernel", images.kernel, "-initrd", initrd,
    "-append", "console=ttyS0 nokaslr cryptomgr.notests noisapnp acpi=off symbiont.ip=52:54:00:12:34:56=dhcp",
    "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56"]],
];

/** opts: runs, mb, progress. Returns { rows: [{ system, down, up }] (median MB/s wall and CPU), ratios } or { skipped }. */
export async function usernetBench(opts) {
  if (!findCachedImages()) return { skipped: "user network rows skipped: no cached images (npm run images)" };
  const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
  const rows = [];
  let uploadBytes = null;
  for (const [system, command, argv] of SYSTEMS.filter(([s]) => haveQemu || !s.startsWith("qemu"))) {
    const runs = [];
    try {
      for (let i = 1; i <= opts.runs; i++) {
        opts.progress(`  user network: ${system} run ${i}/${opts.runs} … `);
        const r = await runOnce(command, argv, opts.mb, opts.progress);
        uploadBytes = r.upBytes;
        runs.push(r);
      }
    } catch (e) {
      opts.progress(`failed: ${e.message}\n`);
      rows.push({ system, error: e.message });
      continue;
    }
    const pick = (dir, clock) => +median(runs.map((r) => r[dir][clock])).toFixed(2);
    rows.push({ system, down: { wall: pick("down", "wall"), cpu: pick("down", "cpu") }, up: { wall: pick("up", "wall"), cpu: pick("up", "cpu") } });
  }
  const [s, q] = rows;
  const ratio = (dir, clock) => (s?.[dir] && q?.[dir] ? +(s[dir][clock] / q[dir][clock]).toFixed(2) : null);
  return {
    mb: opts.mb, upMB: uploadBytes === null ? null : +(uploadBytes / 1e6).toFixed(2), rows, ...(haveQemu ? {} : { note: "qemu-system-i386 is not installed: no QEMU row" }),
    ratios: { downWall: ratio("down", "wall"), downCpu: ratio("down", "cpu"), upWall: ratio("up", "wall"), upCpu: ratio("up", "cpu") },
  };
}

export function usernetLines(u) {
  if (!u || u.skipped) return [u?.skipped ?? ""];
  const cell = (x) => `${x.wall.toFixed(1)} MB/s (${x.cpu.toFixed(1)} per CPU s)`;
  const lines = ["", `User-mode networking, busybox wget through 10.0.2.2 (median; download ${u.mb} MiB, upload ${u.upMB} MB):`,
    "| system | download | upload |", "|---|---|---|"];
  for (const r of u.rows) lines.push(r.error ? `| ${r.system} | failed: ${r.error} | |` : `| ${r.system} | ${cell(r.down)} | ${cell(r.up)} |`);
  if (u.note) lines.push(u.note);
  const r = u.ratios;
  if (r.downWall !== null) lines.push(`symbiont / QEMU: download ${r.downWall}× (wall) ${r.downCpu}× (CPU), upload ${r.upWall}× (wall) ${r.upCpu}× (CPU)`);
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const u = await usernetBench({ runs: Number(process.env.BENCH_USERNET_RUNS ?? 3), mb: Number(process.env.BENCH_USERNET_MB ?? 16), progress: (s) => process.stderr.write(s) });
  console.log(usernetLines(u).join("\n"));
  console.log(JSON.stringify(u));
}
