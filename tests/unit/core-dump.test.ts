/**
 * The monitor's dump-guest-memory, memsave and pmemsave (src/vmm/core-dump.ts, src/vmm/monitor.ts) on a two-vCPU
 * PC, both engines. The oracle for the core file is Debian's GDB reading it (`core-file`): the registers of each
 * vCPU as threads from the NT_PRSTATUS notes (Linux's i386 elf_prstatus), memory at guest-physical addresses, and
 * with -p at the running vCPU's virtual ones; binutils' readelf for the headers. Skips, saying so, without gdb or
 * readelf (Debian: gdb, binutils; CI installs both).
 */
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { Monitor } from "../../src/vmm/monitor.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { ENGINES } from "../helpers.js";
import type { EngineKind } from "../../src/engine/engine.js";

const have = (cmd: string) => spawnSync(cmd, ["--version"]).status === 0;
const missing = ["gdb", "readelf"].filter((c) => !have(c));
if (missing.length > 0) console.warn(`tests/unit/core-dump.test.ts: the GDB checks skipped: ${missing.join(" and ")} not installed (Debian: gdb, binutils)`);

const RAM = 8 << 20;
const MARK = "symbiont-core-dump";

/**
 * vCPU 0 paging with 4 MiB pages (0 and 0xC0000000 both map physical 0-4 MiB), its registers distinct; vCPU 1 in
 * real mode as a waiting AP is, EIP and EAX set; a marker at physical 0x20000.
 */
async function machine(kind: EngineKind) {
  const pc = new Pc({ engine: await createEngine(kind, RAM), ramBytes: RAM, onSerial: () => {}, cpus: 2 });
  const m = pc.vm.memory;
  m.writeU32(0x10000, 0x83); // PDE 0: 4 MiB, present, writable
  m.writeU32(0x10000 + 0x300 * 4, 0x83); // PDE 0x300: 0xC0000000 → 0
  m.write(0x20000, new TextEncoder().encode(`${MARK}\0`));
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  pc.vm.setState({
    cr0: 0x80000011, cr3: 0x10000, cr4: 0x10, eip: 0xc0001000, eflags: 0x246, esp: 0xc0008000,
    eax: 0x11111111, ebx: 0x22222222, ecx: 0x33333333, edx: 0x44444444, esi: 0x55555555, edi: 0x66666666, ebp: 0x77777777,
    cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 0x10), es: flat(Attr.flatData32, 0x18), ss: flat(Attr.flatData32, 0x10),
    fs: flat(Attr.flatData32, 0x20), gs: flat(Attr.flatData32, 0x28),
  });
  pc.vm.withVcpu(1, () => pc.vm.setState({ eip: 0x2000, eax: 0xaaaa }));
  const dir = mkdtempSync(join(tmpdir(), "symbiont-dump-"));
  const monitor = new Monitor(pc.vm, { saveFile: (p, b) => writeFileSync(join(dir, p), b) });
  return { pc, monitor, dir, path: (p: string) => join(dir, p) };
}

function gdb(core: string, commands: string[]): string {
  const r = spawnSync("gdb", ["-q", "-batch", "-nx", "-ex", `core-file ${core}`, ...commands.flatMap((c) => ["-ex", c])], { encoding: "utf8" });
  return r.stdout + r.stderr;
}
/** GDB's `info registers` lines as name → value. */
const registers = (out: string) => Object.fromEntries([...out.matchAll(/^(\w+)\s+0x([0-9a-f]+)\s/gm)].map((m) => [m[1]!, parseInt(m[2]!, 16)]));

describe.each(ENGINES)("dump-guest-memory on %s", (kind) => {
  it.skipIf(missing.length > 0)("writes an ELF core GDB reads: each vCPU a thread with its registers, RAM at its physical addresses", async () => {
    const { pc, monitor, dir, path } = await machine(kind);
    try {
      expect(monitor.execute("dump-guest-memory core")).toMatch(/^core: an ELF core, 2 vCPU\(s\) and [\d.]+ MiB/);
      const out = gdb(path("core"), ["info registers", `x/s 0x20000`, "info threads", "thread 2", "info registers eip eax"]);
      const [first, second] = out.split("[Switching to thread 2");
      const st = pc.vm.getState();
      expect(registers(first!)).toMatchObject({
        eax: st.eax, ecx: st.ecx, edx: st.edx, ebx: st.ebx, esp: st.esp, ebp: st.ebp, esi: st.esi, edi: st.edi, eip: st.eip,
        eflags: st.eflags, cs: 8, ss: 0x10, ds: 0x10, es: 0x18, fs: 0x20, gs: 0x28,
      });
      expect(out).toContain(`0x20000:\t"${MARK}"`);
      expect(out).toMatch(/^\* 1 +LWP 1 +0xc0001000/m);
      expect(out).toMatch(/^ {2}2 +LWP 2 +0x00002000/m);
      expect(registers(second!)).toMatchObject({ eip: 0x2000, eax: 0xaaaa });
      // The VGA window is no RAM in a PC: the physical segments go round it.
      const headers = spawnSync("readelf", ["-l", path("core")], { encoding: "utf8" }).stdout;
      expect([...headers.matchAll(/^\s+LOAD\s+0x[0-9a-f]+ (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)].map((m) => m.slice(1).map(Number)))
        .toEqual([[0, 0, 0xa0000], [0xc0000, 0xc0000, RAM - 0xc0000]]);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it.skipIf(missing.length > 0)("-p: memory at the running vCPU's virtual addresses, p_paddr the physical ones", async () => {
    const { monitor, dir, path } = await machine(kind);
    try {
      expect(monitor.execute("dump-guest-memory -p vcore")).toMatch(/^vcore: an ELF core/);
      expect(gdb(path("vcore"), [`x/s 0xc0020000`])).toContain(`0xc0020000:\t"${MARK}"`);
      const headers = spawnSync("readelf", ["-l", path("vcore")], { encoding: "utf8" }).stdout;
      const loads = [...headers.matchAll(/^\s+LOAD\s+0x[0-9a-f]+ (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)].map((m) => m.slice(1).map(Number));
      // Each 4 MiB page: physical 0-4 MiB without the VGA window, at 0 and at 0xC0000000.
      expect(loads).toEqual([[0, 0, 0xa0000], [0xc0000, 0xc0000, 0x340000], [0xc0000000, 0, 0xa0000], [0xc00c0000, 0xc0000, 0x340000]]);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it("memsave and pmemsave write the bytes at a virtual and at a physical address; bad requests say why", async () => {
    const { pc, monitor, dir, path } = await machine(kind);
    try {
      expect(monitor.execute("pmemsave 0x20000 18 p.bin")).toBe(`p.bin: 18 bytes`);
      expect(new TextDecoder().decode(readFileSync(path("p.bin")))).toBe(MARK);
      expect(monitor.execute("memsave 0xc0020000 0x12 v.bin")).toBe(`v.bin: 18 bytes`);
      expect(readFileSync(path("v.bin"))).toEqual(readFileSync(path("p.bin")));
      expect(monitor.execute("memsave 0xc0400000 16 x.bin")).toBe("memsave: virtual 0xc0400000-0xc0400010 is not all readable guest RAM");
      expect(monitor.execute("pmemsave 0xa0000 16 x.bin")).toBe("pmemsave: guest-physical 0x000a0000-0x000a0010 is not all readable guest RAM");
      expect(monitor.execute("pmemsave 0x20000 0 x.bin")).toBe("pmemsave: SIZE from 1 byte to 1 GiB (got 0)");
      expect(monitor.execute("memsave 0x20000 0-16 x.bin")).toBe("memsave: SIZE from 1 byte to 1 GiB (got -16)");
      expect(monitor.execute("pmemsave 0x20000")).toBe("pmemsave ADDR SIZE FILE: SIZE bytes at guest-physical address ADDR into FILE");
      expect(monitor.execute("dump-guest-memory")).toMatch(/^dump-guest-memory \[-p\] FILE/);
      pc.vm.setState({ cr0: 0x11 });
      expect(monitor.execute("dump-guest-memory -p x")).toMatch(/CR0\.PG is clear/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
