// The nasm test kernels under tests/kernels/, run on both engines with the
// translation cache on and off; their serial output must equal what QEMU printed for the same binary
// (tests/kernels/golden/, recorded by tests/kernels/record-golden.sh).
import { describe, it, expect } from "vitest";
import { readdirSync, existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { ENGINES, runKernel, readBytes } from "./helpers.js";
import { ShadowPaging, type PagingModeName } from "../src/vmm/paging/index.js";
import { Monitor } from "../src/vmm/monitor.js";

const PAGING: PagingModeName[] = ["nested", "shadow"];

const dir = new URL("./kernels/", import.meta.url).pathname;
const kernels = readdirSync(dir + "golden").filter((f) => f.endsWith(".txt")).map((f) => f.slice(0, -4)).sort();

// Kernels recorded with extra QEMU devices (tests/kernels/qemu-args/NAME.args)
// get the same devices in the emulator's PC. Extra -cpu flags need nothing
// here (the emulator's CPU has them: pae.args "-cpu qemu32,+nx") but SMAP and
// SMEP, which a PC offers only when asked (smap.args, smep.args "-cpu max");
// they are not offered under shadow paging, so those kernels skip its variants, as do the multiprocessor
// ones (the shadow pager serves one vCPU).
const QEMU_DEVICES: Record<string, { testdev?: boolean; smap?: boolean; smep?: boolean; vga?: boolean; cpus?: number }> = {
  mmio: { testdev: true }, // -device pc-testdev
  vga: { vga: true },      // -device isa-vga (its VGA BIOS runs before the kernel: Pc.loadKernel leaves the same text mode 3)
  smap: { smap: true },    // -cpu max
  smep: { smep: true },    // -cpu max
  gdbsmp: { cpus: 2 },     // -smp 2
  smppaging: { cpus: 2 },  // -smp 2
};

describe("test kernels match QEMU's serial output", () => {
  it("has golden files to compare against", () => {
    expect(kernels.length).toBeGreaterThan(0);
  });
  // Each kernel on both engines with the translation cache on and off, and on the Wasm
  // engine with its block compiler compiling every block that runs twice.
  // And on both engines under nested and shadow paging (src/vmm/paging/): a VMM's memory
  // virtualization must be invisible to the guest.
  // Shadow paging also without its trace log (every page-table store a trace fault), on the Wasm engine.
  type Variant = { engine: (typeof ENGINES)[number]; tcache: boolean; eager: boolean; paging?: PagingModeName; traceFaults?: boolean };
  const variants: Variant[] = [
    ...ENGINES.flatMap((engine) => [{ engine, tcache: true, eager: false }, { engine, tcache: false, eager: false }]),
    { engine: "wasm" as const, tcache: true, eager: true },
    ...ENGINES.flatMap((engine) => PAGING.map((paging) => ({ engine, tcache: true, eager: false, paging }))),
    { engine: "wasm" as const, tcache: true, eager: false, paging: "shadow" as const, traceFaults: true },
  ];
  for (const name of kernels) {
    const bin = `${dir}bin/${name}.elf`;
    for (const { engine, tcache, eager, paging, traceFaults } of variants) {
      const how = eager ? " compiling every block" : tcache ? "" : " without the translation cache";
      it(`${name} on ${engine}${how}${paging ? ` under ${paging} paging${traceFaults ? " with trace faults" : ""}` : ""}`, async () => {
        expect(existsSync(bin), `${bin} is missing: run tests/kernels/build.sh`).toBe(true);
        const golden = readFileSync(`${dir}golden/${name}.txt`, "latin1");
        const r = await runKernel(readBytes(bin), engine, {
          path: bin, tcache, compileEagerly: eager, paging: traceFaults ? new ShadowPaging({ traceLog: false }) : paging, ...QEMU_DEVICES[name],
        });
        expect(r.serial).toBe(golden);
        // QEMU exits with status 1: the kernel wrote 0 to isa-debug-exit.
        expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
        if (eager) {
          expect(r.compileError, "block compiler error").toBeUndefined();
          expect(r.compiledRegions, "regions compiled").toBeGreaterThan(0);
        }
      });
    }
  }
});

// SMAP and SMEP are offered only when asked for (QEMU's default CPU model has neither): without them the same
// kernels read their CPUID.(EAX=7,ECX=0):EBX bit as 0 and their MOV to CR4 setting bit 21 / 20 is #GP(0) (SDM
// Vol. 3 2.5: setting a reserved CR4 bit), which lib.inc reports as an unexpected exception. Under shadow paging
// they are refused.
describe("SMAP and SMEP only when the PC offers them", () => {
  const cases = [
    { name: "smap", first: "cpuid7 ebx.smap 00000000", before: "-- SMAP on, AC 0" },
    { name: "smep", first: "cpuid7 ebx.smep 00000000", before: "-- SMEP on" },
  ];
  for (const { name, first, before } of cases) {
    const bin = `${dir}bin/${name}.elf`;
    for (const engine of ENGINES) {
      it(`${name}.elf without it on ${engine}: no CPUID bit, the CR4 bit is #GP`, async () => {
        const r = await runKernel(readBytes(bin), engine, { path: bin });
        expect(r.serial.split("\n")[0]).toBe(first);
        expect(r.serial).toMatch(new RegExp(`${before}\\nUNEXPECTED EXC 0d at eip [0-9a-f]{8} err 00000000\\n$`));
        expect(r.stop).toEqual({ kind: "debug-exit", status: (0x7f << 1) | 1 });
      });
    }
  }
  it("run under shadow paging from the CLI as under QEMU: --smap / --smep --paging shadow print the golden", () => {
    const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
    for (const f of ["smap", "smep"]) {
      const r = spawnSync(process.execPath, [cli, "run", `--${f}`, "--paging", "shadow", `${dir}bin/${f}.elf`], { encoding: "latin1", input: "" });
      expect(r.stdout).toBe(readFileSync(`${dir}golden/${f}.txt`, "latin1"));
      expect(r.status).toBe(1); // (isa-debug-exit written with 0, as QEMU exits)
    }
  });
});

// The VGA as a user reaches it: `symbiont run --vga` gives the kernel the card QEMU's golden was recorded with
// (without it the VGA's ports float and the kernel's first lines differ), and the monitor's `screen` shows what the
// kernel left on it — the message its source writes at row 0 (white on blue) and the cursor it set at row 1.
describe("the VGA kernel through the CLI and the monitor", () => {
  const bin = `${dir}bin/vga.elf`;
  const golden = () => readFileSync(`${dir}golden/vga.txt`, "latin1");
  const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;

  it("symbiont run --vga prints QEMU's output; without --vga the registers read 0xFF", () => {
    const r = spawnSync(process.execPath, [cli, "run", "--vga", bin], { encoding: "latin1", input: "" });
    expect(r.stdout).toBe(golden());
    expect(r.status).toBe(1); // isa-debug-exit with 0: QEMU's status
    const without = spawnSync(process.execPath, [cli, "run", bin], { encoding: "latin1", input: "" });
    expect(without.stdout.split("\n")[0]).not.toBe(golden().split("\n")[0]);
    expect(without.stdout).toMatch(/^misc ff/m);
  });

  it("the monitor's screen command shows the kernel's message and cursor", async () => {
    const r = await runKernel(readBytes(bin), "wasm", { path: bin, vga: true });
    expect(r.stop).toEqual({ kind: "debug-exit", status: 1 });
    const screen = new Monitor(r.pc.vm, { screen: () => r.pc.vga!.screen() }).execute("screen");
    expect(screen.split("\n")).toEqual(["text 80×25, cursor at row 1, column 0", "Symbiont VGA test"]);
    const shown = r.pc.vga!.screen();
    expect(shown.kind === "text" && Array.from(shown.attrs.subarray(0, 17))).toEqual(Array(17).fill(0x1f));
    expect(new Monitor(r.pc.vm).execute("screen")).toBe("no display (symbiont boot --vga adds a VGA)");
    // screendump saves a text screen as its 25 lines of text
    const saved = new Map<string, Uint8Array>();
    const mon = new Monitor(r.pc.vm, { screen: () => r.pc.vga!.screen(), saveFile: (path, bytes) => saved.set(path, bytes) });
    expect(mon.execute("screendump screen.txt")).toBe("screen.txt: the 80×25 text screen");
    expect(new TextDecoder().decode(saved.get("screen.txt"))).toBe("Symbiont VGA test\n" + "\n".repeat(24));
    expect(mon.execute("screendump")).toBe("screendump FILE: where to save the screen");
    expect(new Monitor(r.pc.vm, { screen: () => r.pc.vga!.screen() }).execute("screendump x")).toBe("screendump: this monitor cannot write files");
  });
});
