// One Linux boot in its own process, for benchmarks/linux.mjs:
//   node benchmarks/linux-child.mjs ENGINE BZIMAGE INITRD MEM_MIB MODE TIMEOUT_S [PAGING]
// ENGINE is wasm or js (Symbiont, host clock: guest time follows the host
// like v86's and QEMU's) or v86 (the npm package, booting the bzImage through
// SeaBIOS and its linuxboot option ROM). MODE "boot" stops at the init
// marker; "workload" then types benchmarks/linux-guest.mjs's INPUT at the
// shell prompt and stops at the workload's end marker; "fill" types
// FILL_INPUT instead (200 MiB written to the guest's tmpfs), "forkexec"
// FORKEXEC_INPUT (a fork+exec loop). PAGING: direct (default), nested or
// shadow (Symbiont's memory virtualization, --paging), or shadow-faults (shadow
// paging without its trace log).
// Timestamps (wall ms, this process's CPU ms and, on Symbiont, retired
// instructions) are taken in the serial-output callback. Prints one line
// "LINUXJSON {...}" on stdout, including process.resourceUsage().maxRSS.
import { readFileSync } from "node:fs";
import { CMDLINE, INPUT as WORKLOAD_INPUT, FILL_INPUT, FORKEXEC_INPUT, SerialScanner } from "./linux-guest.mjs";
import { V86_BIOS_DIR, v86BiosMissing, v86ForLinux } from "./v86-linux.mjs";

const [engineKind, kernelPath, initrdPath, memArg, mode, timeoutArg, paging = "direct"] = process.argv.slice(2);
const ramBytes = Number(memArg) * 1024 * 1024;
const timeoutMs = Number(timeoutArg ?? 1800) * 1000;
const INPUT = mode === "fill" ? FILL_INPUT : mode === "forkexec" ? FORKEXEC_INPUT : WORKLOAD_INPUT;
// (Read where each system loads them, and not kept after: the peak RSS measured is the emulator's, not this
// script's copy of the images.)
const readImages = () => ({ kernel: new Uint8Array(readFileSync(kernelPath)), initrd: new Uint8Array(readFileSync(initrdPath)) });

let rssAtMarkerKiB = null;
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }
function finish(result) {
  result.maxRssKiB = process.resourceUsage().maxRSS;
  result.maxRssAtMarkerKiB = rssAtMarkerKiB;
  process.stdout.write(`LINUXJSON ${JSON.stringify(result)}\n`);
  process.exit(0);
}
function fail(message, scanner) {
  finish({ engine: engineKind, error: message, serialTail: scanner?.text.slice(-1500) ?? "" });
}

if (engineKind === "wasm" || engineKind === "js") await runSymbiont();
else if (engineKind === "v86") await runV86();
else { process.stderr.write(`linux-child: unknown engine ${engineKind}\n`); process.exit(2); }

async function runSymbiont() {
  const { Pc } = await import("../dist/index.js");
  const { createEngine } = await import("../dist/node/engines.js");
  const engine = await createEngine(engineKind, ramBytes);
  let pc = null;
  let pending = [];
  let done = false;
  const mark = () => ({ t: performance.now(), cpu: cpuMs(), n: pc.vm.core.getRetired() });
  const scanner = new SerialScanner(mark, {
    onMarker: () => { rssAtMarkerKiB = process.resourceUsage().maxRSS; if (mode === "boot") done = true; },
    onPrompt: () => { pending = [...new TextEncoder().encode(INPUT)]; },
    onEnd: () => { done = true; },
  });
  const { pagingOption } = await import("./paging.mjs");
  pc = new Pc({ engine, ramBytes, paging: pagingOption(paging), onSerial: (b) => scanner.byte(b) });
  { const { kernel, initrd } = readImages(); pc.loadLinux(kernel, { cmdline: CMDLINE, initrd }); }
  const start = mark();
  const deadline = start.t + timeoutMs;
  for (;;) {
    const stop = pc.vm.run(1_000_000);
    if (done) break;
    if (pending.length > 0) pc.uart.receive(pending.splice(0, pc.uart.receiveSpace));
    if (performance.now() > deadline) return fail(`timed out after ${timeoutMs / 1000} s`, scanner);
    if (stop.kind === "idle") {
      // The guest waits for a timer: sleep in real time until it is due, as the CLI does.
      const ms = Math.max(0, Math.min(20, (stop.untilNs - pc.vm.clock.nowNs()) / 1e6));
      await new Promise((r) => setTimeout(r, ms));
      continue;
    }
    if (stop.kind === "halted" && pc.vm.core.pendingInterrupt() >= 0) continue;
    if (stop.kind !== "budget") return fail(`guest stopped: ${JSON.stringify(stop)}`, scanner);
  }
  const at = scanner.at;
  const span = (a, b) => (a && b ? { ms: b.t - a.t, cpuMs: b.cpu - a.cpu, instructions: b.n - a.n } : null);
  finish({
    engine: engineKind, memMiB: ramBytes >> 20, mode,
    boot: span(start, at.marker), firstByte: span(start, at.first),
    workload: span(at.begin, at.end),
    workloadOutput: scanner.workloadOutput(),
    totalInstructions: pc.vm.stats().instructions,
    exits: pc.vm.stats().exits, paging: pc.vm.stats().paging,
  });
}

async function runV86() {
  const missing = v86BiosMissing();
  if (missing) return fail(missing);
  const { V86, options } = await v86ForLinux();
  const mark = () => ({ t: performance.now(), cpu: cpuMs() });
  let emu = null;
  let done = null;
  const finished = new Promise((r) => { done = r; });
  const scanner = new SerialScanner(mark, {
    onMarker: () => { rssAtMarkerKiB = process.resourceUsage().maxRSS; if (mode === "boot") done(); },
    onPrompt: () => { emu.serial0_send(INPUT); },
    onEnd: () => done(),
  });
  process.on("uncaughtException", (e) => fail(`v86 threw: ${e?.stack ?? e}`, scanner));
  const { kernel, initrd } = readImages();
  const created = mark();
  let started = null;
  emu = new V86(options({ ramBytes, kernel, initrd, cmdline: CMDLINE, autostart: true }));
  emu.add_listener("emulator-started", () => { started = mark(); });
  emu.add_listener("serial0-output-byte", (b) => scanner.byte(b));
  const timer = setTimeout(() => fail(`timed out after ${timeoutMs / 1000} s`, scanner), timeoutMs);
  await finished;
  clearTimeout(timer);
  const at = scanner.at;
  const span = (a, b) => (a && b ? { ms: b.t - a.t, cpuMs: b.cpu - a.cpu } : null);
  const start = started ?? created;
  finish({
    engine: "v86", memMiB: ramBytes >> 20, mode, bios: V86_BIOS_DIR,
    boot: span(start, at.marker), firstByte: span(start, at.first), startupMs: start.t - created.t,
    workload: span(at.begin, at.end),
    workloadOutput: scanner.workloadOutput(),
  });
}
