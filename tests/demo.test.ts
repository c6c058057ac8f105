// The embedded demo guest and the CLI around it.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { DEMO_KERNEL } from "../src/guests/demo.js";
import { ENGINES, runKernel } from "./helpers.js";

// Sum of the first n odd numbers is n^2: 100000^2 = 10^10, whose low 32 bits are 0x540be400.
const expected = ((10n ** 10n) & 0xffffffffn).toString(16).padStart(8, "0");

describe("demo guest", () => {
  for (const engine of ENGINES) {
    it(`computes 100000^2 mod 2^32 on ${engine}`, async () => {
      const r = await runKernel(DEMO_KERNEL, engine);
      expect(r.serial).toContain(`(low 32 bits): 0x${expected}\n`);
      expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
    });
  }
});

describe("CLI", () => {
  const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", input: "" });

  it("runs the demo with QEMU's debug-exit status", () => {
    const r = run("demo", "--engine", "js");
    expect(r.stdout).toContain("Hello from the Symbiont demo guest!");
    expect(r.status).toBe(1);
  });
  it("stops at --until with status 0", () => {
    const r = run("demo", "--until", "low 32 bits");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("This guest ran");
  });
  it("rejects a missing kernel file with one line and status 2", () => {
    const r = run("run", "/nonexistent/kernel.elf");
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("no such file");
  });
  it("rejects a bad option", () => {
    const r = run("run", "x", "--engine", "quantum");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--engine must be wasm or js");
  });
  it("rejects a file that is neither Multiboot nor loadable", () => {
    const r = run("run", "/dev/null");
    expect(r.status).toBe(2);
  });
  it("reports statistics with --stats", () => {
    const r = run("demo", "--stats");
    expect(r.stderr).toMatch(/\[stats\] instructions\s+\d+/);
    expect(r.stderr).toMatch(/io-out=\d+/);
  });
  it("compiles blocks with --compile-threshold and none with --no-compile, printing the same", () => {
    const eager = run("demo", "--stats", "--compile-threshold", "1");
    const none = run("demo", "--stats", "--no-compile");
    expect(eager.status).toBe(1);
    expect(eager.stdout).toBe(none.stdout);
    expect(Number(/\[stats\] compiler\s+(\d+) regions/.exec(eager.stderr)?.[1])).toBeGreaterThan(0);
    expect(none.stderr).toMatch(/\[stats\] compiler\s+off/);
  });
  it("ends quietly, with SIGPIPE's status, when the reader of its output goes away", () => {
    // fpu prints 89 KB, more than a pipe and head's read hold: the writes after head exits fail.
    const fpu = new URL("./kernels/bin/fpu.elf", import.meta.url).pathname;
    const golden = readFileSync(new URL("./kernels/golden/fpu.txt", import.meta.url), "latin1");
    const r = spawnSync("bash", ["-c", `set -o pipefail; ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} run ${JSON.stringify(fpu)} | head -1`], { encoding: "utf8" });
    expect(r.stdout).toBe(golden.split("\n")[0] + "\n");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(141); // 128 + SIGPIPE (13), as for `cat big | head -1` under pipefail
  });
  it("rejects a compile threshold below 1", () => {
    const r = run("demo", "--compile-threshold", "0");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--compile-threshold must be");
  });
});
