#!/usr/bin/env node
// Run the i386 build of kvm-unit-tests (the hypervisor test suite of KVM and
// QEMU) on symbiont and print a table beside QEMU 7.2 TCG's results.
//
// The suite is GPL test code and is not part of this repository: it is read
// from ../shared/kvm-unit-tests beside the repository (as CI has it) or from
// $SYMBIONT_KUT_DIR. It holds x86/*.flat (Multiboot kernels), x86/unittests.cfg
// (per test: file, smp, test_args, timeout, arch) and a README whose table
// records QEMU's results on the same binaries. Without the suite the script
// says that it skipped and exits 0.
//
//   node scripts/kvm-unit-tests.mjs [--check] [--x2apic] [--paging direct|nested|shadow] [--jobs N] [--engine wasm|js] [TEST...]
//
// Each test runs as `symbiont run --testdev --smp N [--append ARGS] [--smap --smep --rtm] [--hyperv] --timeout T FILE`
// (--smap --smep --rtm where its qemu_params ask for `-cpu max`, --hyperv where they ask for Hyper-V's `hv_…` features:
// what this CPU offers only on request; --testdev brings hyperv-testdev along with --hyperv). With --x2apic every
// test is offered x2APIC mode too, as QEMU's CPU models are under KVM (not under TCG 7.2, whose results the table
// shows): the suite's start-up code switches to it when CPUID says it exists, so the tests' APIC accesses —
// IPIs, EOIs, the timer — go through the x2APIC MSRs, and `msr` checks every one of them. With --paging nested or
// shadow the tests run under that memory virtualization (the VMM's page tables, several vCPUs sharing them): the
// same tests must pass.
// A test reports through isa-debug-exit: status 1 = PASS, 77 = SKIP, anything
// else FAIL (124: timed out). With --check the exit status is non-zero when a
// test in EXPECTED_PASS did not pass.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Tests that pass on symbiont today: --check fails if one of them does not. */
const EXPECTED_PASS = [
  "cmpxchg8b", "smptest", "smptest3", "vmexit_cpuid", "vmexit_vmcall", "vmexit_mov_from_cr8", "vmexit_mov_to_cr8",
  "vmexit_inl_pmtimer", "vmexit_ipi", "vmexit_ipi_halt", "vmexit_ple_round_robin", "vmexit_tscdeadline",
  "vmexit_tscdeadline_immed", "vmexit_cr0_wp", "vmexit_cr4_pge", "eventinj", "hypercall", "pmu", "setjmp", "tsc",
  "taskswitch", "taskswitch2", "umip", "la57", "msr", "tsc_adjust", "s3", "realmode", "smap", "kvmclock_test", "emulator",
  "hyperv_synic", "hyperv_connections", "hyperv_stimer", "hyperv_stimer_direct", "tsx-ctrl",
];

const args = process.argv.slice(2);
let check = false, x2apic = false, jobs = Math.max(1, Math.min(2, cpus().length)), engine = "wasm", paging = "direct";
const only = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--check") check = true;
  else if (a === "--x2apic") x2apic = true;
  else if (a === "--jobs") jobs = Number(args[++i]);
  else if (a === "--engine") engine = args[++i];
  else if (a === "--paging") paging = args[++i];
  else if (a.startsWith("-")) { console.error(`kvm-unit-tests: unknown option ${a}`); process.exit(2); }
  else only.push(a);
}
if (!Number.isInteger(jobs) || jobs < 1) { console.error("kvm-unit-tests: --jobs takes a positive whole number"); process.exit(2); }
if (!["direct", "nested", "shadow"].includes(paging)) { console.error(`kvm-unit-tests: --paging takes direct, nested or shadow (got ${paging})`); process.exit(2); }

const dir = resolve(process.env.SYMBIONT_KUT_DIR ?? join(repo, "..", "shared", "kvm-unit-tests"));
const cfgPath = join(dir, "x86", "unittests.cfg");
if (!existsSync(cfgPath)) {
  console.log(`kvm-unit-tests: skipped — no suite at ${dir} (x86/unittests.cfg missing; set SYMBIONT_KUT_DIR to its folder)`);
  process.exit(0);
}

/** unittests.cfg: [name] sections of key = value lines. */
function parseConfig(text) {
  const tests = [];
  let cur = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) { cur = { name: m[1] }; tests.push(cur); continue; }
    const eq = line.indexOf("=");
    if (cur && eq > 0) cur[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return tests;
}
const unquote = (s) => (s ?? "").replace(/^(['"])(.*)\1$/, "$2");
/**
 * test_args as the suite's own runner passes them, which evaluates them in the shell: kvmclock_test's
 * "10000000 `date +%s`" gives the guest the host's time to check its wallclock against. Plain words stay as they are.
 */
function testArgs(raw) {
  if (!raw || !/`|\$\(/.test(raw)) return unquote(raw);
  return execFileSync("sh", ["-c", `echo ${raw}`], { encoding: "utf8" }).trim();
}

/** QEMU's results from the suite's README table: | PASS (23) | a, b, ... | */
function qemuResults() {
  const out = new Map();
  const readme = join(dir, "README.md");
  if (!existsSync(readme)) return out;
  for (const line of readFileSync(readme, "utf8").split("\n")) {
    const m = /^\|\s*(PASS|FAIL|SKIP|not runnable)[^|]*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (!m) continue;
    const kind = m[1] === "not runnable" ? "n/a" : m[1];
    for (const t of m[2].split(",")) {
      const name = t.trim().split(/\s/)[0];
      if (name) out.set(name, kind);
    }
  }
  return out;
}

const tests = parseConfig(readFileSync(cfgPath, "utf8"))
  .filter((t) => t.arch === undefined || t.arch === "i386")
  .filter((t) => existsSync(join(dir, "x86", t.file)))
  .filter((t) => only.length === 0 || only.includes(t.name));
const qemu = qemuResults();

function runOne(t) {
  const timeout = Number(t.timeout ?? 90);
  const argv = [join(repo, "bin", "symbiont.js"), "run", "--testdev", "--engine", engine, "--paging", paging, "--smp", String(t.smp ?? 1), "--timeout", String(timeout)];
  const append = testArgs(t.test_args);
  if (append) argv.push("--append", append);
  if (/-cpu\s+max\b/.test(t.qemu_params ?? "")) argv.push("--smap", "--smep", "--rtm");
  if (/\bhv[_-]/.test(t.qemu_params ?? "")) argv.push("--hyperv");
  if (x2apic) argv.push("--x2apic");
  argv.push(join(dir, "x86", t.file));
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    child.on("close", (code) => {
      const status = code ?? -1;
      const result = status === 1 ? "PASS" : status === 77 ? "SKIP" : "FAIL";
      const summary = /SUMMARY: (.*)/.exec(out)?.[1] ?? "";
      const why = result === "FAIL" ? (status === 124 ? "timeout" : (out.trim().split("\n").filter((l) => /FAIL|symbiont:|Unhandled|unexpected/i.test(l)).pop() ?? `status ${status}`)) : "";
      done({ name: t.name, result, status, summary, why, seconds: (Date.now() - started) / 1000 });
    });
  });
}

console.log(`kvm-unit-tests: ${tests.length} tests from ${dir} (engine ${engine}, ${paging} paging, ${jobs} at a time${x2apic ? ", x2APIC offered" : ""})`);
const results = new Array(tests.length);
let next = 0;
async function worker() {
  while (next < tests.length) {
    const i = next++;
    results[i] = await runOne(tests[i]);
    const r = results[i];
    console.log(`  ${r.name.padEnd(26)} ${r.result.padEnd(4)} ${r.seconds.toFixed(1).padStart(6)} s  ${r.summary}${r.why ? `  [${r.why.slice(0, 100)}]` : ""}`);
  }
}
await Promise.all(Array.from({ length: jobs }, worker));

console.log("\n| test | symbiont | QEMU 7.2 TCG |\n|---|---|---|");
for (const r of results) console.log(`| ${r.name} | ${r.result} | ${qemu.get(r.name) ?? "?"} |`);
const count = (k) => results.filter((r) => r.result === k).length;
const qemuPass = results.filter((r) => qemu.get(r.name) === "PASS").length;
console.log(`\nQEMU 7.2 TCG passes ${qemuPass} of these ${results.length}; symbiont passes ${count("PASS")}.`);
console.log(`kvm-unit-tests: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped`);

if (check) {
  const missing = EXPECTED_PASS.filter((n) => results.some((r) => r.name === n) && results.find((r) => r.name === n).result !== "PASS");
  if (missing.length > 0) {
    console.error(`kvm-unit-tests: expected to pass but did not: ${missing.join(", ")}`);
    process.exit(1);
  }
}
