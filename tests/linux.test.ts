// Boots Debian's i386 kernel with a busybox initramfs (the images that
// `npm run images` caches) and runs a workload in the guest shell. Oracles:
// the kernel release recorded by the image fetcher, and the same busybox
// binary run natively on the host with the same script and files (under
// qemu-i386 where the host's kernel runs no 32-bit programs: src/node/i386.ts).
// Skipped (with the reason printed) when the images are not cached; CI
// fetches them before running the tests.
import { describe, it, expect } from "vitest";
import { readFileSync, mkdtempSync, writeFileSync, rmSync, utimesSync } from "node:fs";
import { spawnI386 } from "../src/node/i386.js";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { findCachedImages } from "../src/node/images.js";
import type { EngineKind } from "../src/engine/engine.js";
import { findBuiltModule, symbioticKernelModules } from "../src/node/symbiotic-module.js";
import { guestProcesses } from "../src/symbiotic/linux-calls.js";
import { SymcallNr } from "../src/symbiotic/abi.js";
import type { PagingModeName } from "../src/vmm/paging/index.js";

const images = findCachedImages();
const MARKER = "SYMBIONT-INIT-OK";
const script = readFileSync(new URL("./linux/workload.sh", import.meta.url), "utf8");
const fpScript = readFileSync(new URL("./linux/fpswitch.sh", import.meta.url), "utf8");

/** Deterministic test data: a pseudo-random file and a list of numbers. */
function dataFiles(): { path: string; data: Uint8Array }[] {
  const bin = new Uint8Array(200_000);
  let x = 0x12345678;
  for (let i = 0; i < bin.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bin[i] = (x >>> 24) & 0xff; }
  const numbers: string[] = [];
  for (let i = 0; i < 500; i++) numbers.push(String((i * 7919) % 1013));
  return [
    { path: "data.bin", data: bin },
    { path: "numbers.txt", data: new TextEncoder().encode(numbers.join("\n") + "\n") },
    { path: "workload.sh", data: new TextEncoder().encode(script) },
    { path: "fpswitch.sh", data: new TextEncoder().encode(fpScript) },
  ];
}

interface Boot { out: string; pc: Pc }

/**
 * Boot, wait for init, then type `input` and run until `until` matches. The
 * run is cut into steps of exactly STEP retired instructions (exits that
 * retire nothing do not shorten a step), so where the input is typed depends
 * on the guest alone, whatever the paging mode. With `symbiotic`, init loads symbiotic.ko; `cpu` may offer SMAP,
 * SMEP and RTM (PcOptions.smap, .smep, .rtm) or more vCPUs (.cpus), and add to the kernel's command line (.append).
 */
async function boot(engine: EngineKind, input: string, until: RegExp, maxInstructions: number, paging: PagingModeName = "direct", symbiotic = false, cpu: { smap?: boolean; smep?: boolean; rtm?: boolean; cpus?: number; append?: string } = {}): Promise<Boot> {
  const STEP = 20_000_000;
  const ramBytes = 128 * 1024 * 1024;
  const bytes: number[] = [];
  const { append, ...cpuOptions } = cpu;
  const pc = new Pc({ engine: await createEngine(engine, ramBytes), ramBytes, clock: "deterministic", onSerial: (b) => bytes.push(b), paging, ...cpuOptions });
  const initrd = busyboxInitramfs({
    busybox: new Uint8Array(readFileSync(images!.busybox)),
    extraFiles: dataFiles().map((f) => ({ path: `/work/${f.path}`, data: f.data, mode: 0o644 })),
    ...(symbiotic ? { modules: symbioticKernelModules(findBuiltModule(images)!) } : {}),
  });
  pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), { cmdline: `${LINUX_CMDLINE} quiet${append ? ` ${append}` : ""}`, initrd });
  const pending = [...new TextEncoder().encode(input)];
  let typed = false;
  let out = "";
  for (let target = STEP; target <= maxInstructions; target += STEP) {
    for (let left = target - pc.vm.stats().instructions; left > 0; left = target - pc.vm.stats().instructions) {
      const stop = pc.vm.run(left);
      if (stop.kind !== "budget") throw new Error(`guest stopped: ${JSON.stringify(stop)}\n${Buffer.from(bytes).toString("latin1").slice(-2000)}`);
    }
    out = Buffer.from(bytes).toString("latin1");
    // Type once the shell has printed its prompt after init's marker (earlier input may be flushed).
    if (!typed && out.includes(MARKER) && out.lastIndexOf("# ") > out.indexOf(MARKER)) typed = true;
    if (typed && pending.length > 0) pc.uart.receive(pending.splice(0, pc.uart.receiveSpace));
    if (until.test(out)) return { out, pc };
  }
  throw new Error(`no ${until} after ${maxInstructions} instructions:\n${out.slice(-3000)}`);
}

/** The workload's output lines between the BEGIN and END markers. */
function section(out: string): string {
  const m = /WORKLOAD-BEGIN0\n([\s\S]*?)WORKLOAD-E0ND/.exec(out.replace(/\r/g, ""));
  if (!m) throw new Error("workload markers not found:\n" + out.slice(-2000));
  return m[1]!;
}

// CI sets SYMBIONT_REQUIRE_IMAGES=1 after fetching them: a missing cache is then a failure, not a skip.
if (!images && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("Linux images", () => { it("are cached (npm run images)", () => { expect(images).not.toBeNull(); }); });
}

describe.skipIf(!images)(`Linux ${images?.version ?? "(images not cached: run npm run images)"} with busybox`, () => {
  // The workload under each way of virtualizing memory (issue #10): the same
  // output as busybox natively, and — the clock being deterministic — the same
  // serial bytes and instruction count in every mode, as on one machine.
  const input = "cd /work; uname -r; echo WORKLOAD-BEGIN$((0)); sh workload.sh; sh fpswitch.sh; echo WORKLOAD-E$((0))ND\n";
  const runs = new Map<PagingModeName, Boot>();
  const native = new Map<string, string>();
  /** What busybox prints running `command` natively, in a directory holding the guest's files. */
  function nativeOutput(command = "sh workload.sh; sh fpswitch.sh"): string {
    const known = native.get(command);
    if (known !== undefined) return known;
    const dir = mkdtempSync(join(tmpdir(), "symbiont-workload-"));
    try {
      // mtime 0, as the initramfs gives the guest's files: `gzip -c < data.bin` records its input's mtime.
      for (const f of dataFiles()) { writeFileSync(join(dir, f.path), f.data); utimesSync(join(dir, f.path), 0, 0); }
      const r = spawnI386(images!.busybox, ["sh", "-c", command], { cwd: dir, encoding: "latin1" });
      expect(r.status).toBe(0);
      const out = r.stdout.replace(/\r/g, "").trim();
      native.set(command, out);
      return out;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it.each(["direct", "nested", "shadow"] as const)("boots to the busybox shell on wasm with %s paging and runs the workload exactly as busybox does natively", async (paging) => {
    // The markers are expanded by the shell ("$((0))" → "0"), so the terminal's echo of the typed line cannot match them.
    const run = await boot("wasm", input, /WORKLOAD-E0ND/, 20e9, paging);
    runs.set(paging, run);
    expect(run.out).toContain(MARKER);
    expect(run.out.replace(/\r/g, "")).toMatch(new RegExp(`\\n${images!.version.replace(/[.]/g, "\\.")}\\n`));
    expect(section(run.out).trim()).toBe(nativeOutput());
    const p = run.pc.vm.stats().paging as Record<string, number | string>;
    expect(p.mode).toBe(paging);
    if (paging === "nested") {
      // Guest RAM is mapped by large nested pages on first touch: a handful of violations, and a 2-D walk per TLB miss.
      expect(p.violations).toBeGreaterThan(0);
      expect(p.nestedWalks).toBeGreaterThan(100_000);
    }
    if (paging === "shadow") {
      // Fork and exec: copy-on-write and demand faults are the guest's (true faults), fills the VMM's (hidden).
      expect(p.hiddenFaults).toBeGreaterThan(1000);
      expect(p.trueFaults).toBeGreaterThan(100);
      expect(p.traceExits).toBeGreaterThan(0);
    }
  }, 60 * 60 * 1000);

  // Linux 6.1 enables SMAP and SMEP when CPUID offers them (arch/x86/kernel/cpu/common.c setup_smap, setup_smep)
  // and brackets every access to user memory with STAC/CLAC: the workload's system calls (read, write, execve,
  // pipes) all cross it.
  // Under shadow paging the VMM's tables carry the guest's U bits and the core checks SMAP and SMEP against them; a
  // fault they cause is the guest's (a true fault), which the pager must tell from a hidden one.
  // RTM is offered too: Debian's kernel (CONFIG_X86_INTEL_TSX_MODE_OFF) turns it off through IA32_TSX_CTRL, whose
  // CPUID_CLEAR hides it from CPUID, so /proc/cpuinfo has no "rtm" (arch/x86/kernel/cpu/tsx.c); with tsx=on it keeps it.
  it.each([["direct", "off"], ["shadow", "on"]] as const)("runs the workload with SMAP, SMEP and RTM offered under %s paging: Linux sets SMAP and SMEP in CR4, keeps RTM as tsx=%s says, and prints what busybox prints natively", async (paging, tsx) => {
    const rtmInput = input.replace(/\n$/, "; grep -c -w rtm /proc/cpuinfo; echo RTM-E$((0))ND\n");
    const run = await boot("wasm", rtmInput, /RTM-E0ND/, 20e9, paging, false, { smap: true, smep: true, rtm: true, ...(tsx === "on" ? { append: "tsx=on" } : {}) });
    expect(run.pc.vm.getState().cr4 & (3 << 20)).toBe(3 << 20);
    expect(section(run.out).trim()).toBe(nativeOutput());
    expect(/WORKLOAD-E0ND\n(\d+)\nRTM-E0ND/.exec(run.out.replace(/\r/g, ""))?.[1]).toBe(tsx === "on" ? "1" : "0");
  }, 60 * 60 * 1000);

  // Two vCPUs (shadow paging's shared tables, a root per vCPU): two copies of the workload at once, each forking
  // its pipelines and shells, so the guest's CPUs build, switch and tear down address spaces side by side. Each
  // copy's output must be busybox's, the guest's own accounting must show user and system time on its second CPU,
  // and on the deterministic clock shadow paging must print and retire exactly what direct paging does.
  const smpInput = "cd /work; echo WORKLOAD-BEGIN$((0)); sh -c 'sh workload.sh > /tmp/a & sh workload.sh > /tmp/b; wait'; "
    + "cat /tmp/a; cmp /tmp/a /tmp/b && echo both-copies-same; "
    + "awk '/^cpu1 / { print ($2 > 0 && $4 > 0) ? \"cpu1-ran\" : \"cpu1-idle\" }' /proc/stat; echo WORKLOAD-E$((0))ND\n";
  const smpRuns = new Map<PagingModeName, Boot>();
  it.each(["direct", "shadow"] as const)("runs two copies of the workload at once on two vCPUs with %s paging, each as busybox does natively", async (paging) => {
    const run = await boot("wasm", smpInput, /WORKLOAD-E0ND/, 30e9, paging, false, { cpus: 2 });
    smpRuns.set(paging, run);
    expect(section(run.out).trim()).toBe(`${nativeOutput("sh workload.sh")}\nboth-copies-same\ncpu1-ran`);
    if (paging === "shadow") expect((run.pc.vm.stats().paging as Record<string, number>).hiddenFaults).toBeGreaterThan(1000);
  }, 60 * 60 * 1000);
  it("prints and retires the same on two vCPUs under shadow paging as under direct paging", () => {
    const direct = smpRuns.get("direct"), shadow = smpRuns.get("shadow");
    expect(direct && shadow).toBeTruthy();
    expect(shadow!.out).toBe(direct!.out);
    expect(shadow!.pc.vm.stats().instructions).toBe(direct!.pc.vm.stats().instructions);
  });

  it("prints byte-identical serial output and retires the same instructions in all three paging modes", () => {
    const direct = runs.get("direct"), nested = runs.get("nested"), shadow = runs.get("shadow");
    expect(direct && nested && shadow).toBeTruthy();
    expect(nested!.out).toBe(direct!.out);
    expect(shadow!.out).toBe(direct!.out);
    expect(nested!.pc.vm.stats().instructions).toBe(direct!.pc.vm.stats().instructions);
    expect(shadow!.pc.vm.stats().instructions).toBe(direct!.pc.vm.stats().instructions);
  });

  // When symbiotic.ko is built (npm run module; CI builds it), this boot also carries it, so
  // SymCall runs on the JS engine too (tests/symbiotic-linux.test.ts checks it in depth on Wasm).
  const symbiotic = findBuiltModule(images) !== null;
  it(`boots to init on the JS engine${symbiotic ? ", where SymCall lists the guest's processes" : ""}`, async () => {
    const { out, pc } = await boot("js", "", new RegExp(MARKER), 20e9, "direct", symbiotic);
    expect(out).toContain(MARKER);
    if (!symbiotic) return;
    const sym = pc.vm.symbiotic!;
    expect(sym.available).toBe(true);
    expect(sym.call(SymcallNr.TEST, 5)).toMatchObject({ ok: true, regs: [~5 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0, ~0 >>> 0] });
    const ps = guestProcesses(sym);
    expect(ps.ok && ps.value.find((t) => t.pid === 1)).toMatchObject({ ppid: 0, kernelThread: false });
    expect(ps.ok && ps.value.find((t) => t.pid === 2)).toMatchObject({ comm: "kthreadd", kernelThread: true });
    expect(sym.local(0)!.ext!.comm.length).toBeGreaterThan(0);
  }, 60 * 60 * 1000);
});
