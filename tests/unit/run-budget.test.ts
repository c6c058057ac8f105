// Vm.run(n) runs n guest instructions, however many exits the VMM takes on the way: an exit that retires
// nothing (a shadow pager's hidden fault, a nested-paging violation, its trace-log exit) uses none of the
// budget. So what a driver does between runs — a serial shell typing its next command, a benchmark
// reading a counter — happens at the same guest instruction in every paging mode, and a change in how
// the VMM takes its exits cannot change what the guest does (it moved a benchmark guest's typed command,
// and with it the guest's memory history, by enough to change its work by a fifth).
import { describe, it, expect } from "vitest";
import { ENGINES, readBytes } from "../helpers.js";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import type { PagingModeName } from "../../src/vmm/paging/index.js";

const KERNEL = new URL("../kernels/bin/paging.elf", import.meta.url).pathname;
const RAM = 32 << 20;
/** Instructions per run: small enough that the kernel (≈ 100 000 instructions) ends after many runs. */
const STEP = 2_000;

/** The paging test kernel run STEP instructions at a time: after each run, the retired count and the CPU's state. */
async function boundaries(engine: (typeof ENGINES)[number], paging: PagingModeName) {
  const e = await createEngine(engine, RAM, {});
  const out: number[] = [];
  const pc = new Pc({ engine: e, ramBytes: RAM, onSerial: (b) => out.push(b), paging });
  pc.loadKernel(readBytes(KERNEL), { path: KERNEL, append: "" });
  const vm = pc.vm, seen: string[] = [];
  const start = vm.core.getRetired();
  for (let i = 1; i < 10_000; i++) {
    const stop = vm.run(STEP);
    if (stop.kind !== "budget") return { seen, stop, serial: Buffer.from(out).toString("latin1"), exits: vm.stats().exits, start };
    const s = vm.getState();
    seen.push(`${vm.core.getRetired() - start} ${s.eip.toString(16)} ${[s.eax, s.ebx, s.ecx, s.edx, s.esi, s.edi, s.esp, s.ebp, s.eflags].map((r) => (r >>> 0).toString(16)).join(" ")}`);
  }
  throw new Error("the paging kernel did not end");
}

describe.each(ENGINES)("Vm.run's budget counts retired instructions (%s engine)", (engine) => {
  it("stops at the same instruction with the same state under direct, shadow and nested paging", async () => {
    const direct = await boundaries(engine, "direct");
    expect(direct.stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(direct.seen.length).toBeGreaterThan(10);
    // Every run ran exactly its budget…
    direct.seen.forEach((line, i) => expect(Number(line.split(" ")[0])).toBe((i + 1) * STEP));
    for (const mode of ["shadow", "nested"] as const) {
      const other = await boundaries(engine, mode);
      // …under the other modes too, and the guest is where it was under direct paging — although shadow paging
      // exits on the way without retiring anything, more often than there are runs (the kernel's first touch of
      // each page is a hidden fault, its page-table stores trace-log exits).
      if (mode === "shadow") expect((other.exits.exception ?? 0) + (other.exits["trace-log"] ?? 0)).toBeGreaterThan(direct.seen.length);
      expect(other.seen).toEqual(direct.seen);
      expect(other.serial).toBe(direct.serial);
      expect(other.stop).toEqual(direct.stop);
    }
  });
});
