import { describe, expect, it } from "vitest";
import { Debugcon } from "../../src/devices/debugcon.js";
import { IsaDebugExit } from "../../src/devices/debug-exit.js";
import { PostCode } from "../../src/devices/post-code.js";
import { PortBus } from "../../src/vmm/bus.js";
import { FwCfg, FW_CFG_PORT, e820Table, E820_RAM } from "../../src/devices/fw-cfg.js";
import { Pc } from "../../src/machine/pc.js";
import { createEngine } from "../../src/node/engines.js";
import { findSeabios } from "../../src/node/firmware.js";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";

describe("isa-debug-exit", () => {
  // QEMU hw/misc/debugexit.c: exit((val << 1) | 1).
  it("reports status (value << 1) | 1", () => {
    const statuses: number[] = [];
    const bus = new PortBus();
    bus.register(0xf4, 4, new IsaDebugExit({ onExit: (s) => statuses.push(s) }));
    bus.write(0xf4, 1, 0);
    bus.write(0xf4, 1, 1);
    bus.write(0xf4, 4, 0x10);
    bus.write(0xf7, 1, 0x7f);
    expect(statuses).toEqual([1, 3, 0x21, 0xff]);
  });

  it("defaults to port 0xf4, iosize 4", () => {
    expect(IsaDebugExit.DEFAULT_PORT).toBe(0xf4);
    expect(IsaDebugExit.DEFAULT_LENGTH).toBe(4);
    expect(IsaDebugExit.statusFor(0x80000000)).toBe(1);
  });
});

describe("POST code port", () => {
  it("records the last code and the last 64", () => {
    const p = new PostCode();
    expect(p.last).toBeNull();
    for (let i = 0; i < 70; i++) p.write(0, 1, i);
    expect(p.last).toBe(69);
    expect(p.history.length).toBe(64);
    expect(p.history[0]).toBe(6);
    expect(p.read(0, 1)).toBe(69);
  });
});

describe("debugcon", () => {
  it("outputs written bytes and reads back 0xE9", () => {
    const out: number[] = [];
    const d = new Debugcon({ onOutput: (b) => out.push(b) });
    d.write(0, 1, 0x48);
    d.write(0, 1, 0x69);
    expect(out).toEqual([0x48, 0x69]);
    expect(d.read(0, 1)).toBe(0xe9);
  });
});

describe("fw_cfg (QEMU docs/specs/fw_cfg.txt, traditional interface)", () => {
  /** Select an item (16-bit write to 0x510) and read `n` bytes from 0x511. */
  const readItem = (bus: PortBus, selector: number, n: number) => {
    bus.write(FW_CFG_PORT, 2, selector);
    return Uint8Array.from({ length: n }, () => bus.read(FW_CFG_PORT + 1, 1));
  };

  it("lists its files in the directory (0x19: big-endian count, size, selector, name) and serves them from 0x20", () => {
    const bus = new PortBus();
    const fw = new FwCfg({ ramBytes: 128 << 20, cpus: 2 });
    bus.register(FW_CFG_PORT, 2, fw);
    expect(new TextDecoder().decode(readItem(bus, 0x00, 4))).toBe("QEMU");
    expect([...readItem(bus, 0x19, 4)]).toEqual([0, 0, 0, 0]); // no files yet
    fw.addFile("etc/e820", e820Table([{ base: 0, length: 128 << 20, type: E820_RAM }]));
    fw.addFile("etc/other", new Uint8Array([1, 2, 3]));
    const dir = new DataView(readItem(bus, 0x19, 4 + 2 * 64).buffer);
    expect(dir.getUint32(0)).toBe(2);
    const entry = (i: number) => ({
      size: dir.getUint32(4 + 64 * i), select: dir.getUint16(8 + 64 * i),
      name: new TextDecoder().decode(new Uint8Array(dir.buffer, 12 + 64 * i, 56)).replace(/\0+$/, ""),
    });
    expect([entry(0), entry(1)]).toEqual([{ size: 20, select: 0x20, name: "etc/e820" }, { size: 3, select: 0x21, name: "etc/other" }]);
    // struct e820_entry { le64 address; le64 length; le32 type; } — QEMU's hw/i386/e820_memory_layout.h
    const e820 = new DataView(readItem(bus, 0x20, 20).buffer);
    expect([e820.getBigUint64(0, true), e820.getBigUint64(8, true), e820.getUint32(16, true)]).toEqual([0n, BigInt(128 << 20), 1]);
    expect([...readItem(bus, 0x21, 5)]).toEqual([1, 2, 3, 0, 0]); // zero past the end
    expect(() => fw.addFile("etc/other", new Uint8Array(1))).toThrow(/already exists/);
  });

  // SeaBIOS (Debian's build, what qemu-system-x86 runs) through its power-on self test, its debug log (port 0x402)
  // beside QEMU's for the same BIOS and RAM: the same platform found, the same memory map read from etc/e820, itself
  // shadowed by the 440FX's PAM registers and relocated to the same address, to "No bootable device." (no disks here).
  const seabios = findSeabios()?.path ?? "/usr/share/seabios/bios-256k.bin"; // npm run images fetches Debian's
  const qemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
  it.runIf((existsSync(seabios) && qemu) || !!process.env.SYMBIONT_REQUIRE_IMAGES)(`SeaBIOS runs its POST as under QEMU: fw_cfg, etc/e820, PAM shadowing, relocation${existsSync(seabios) && qemu ? "" : " (skipped: no seabios or qemu-system-i386)"}`, async () => {
    const ram = 128 << 20;
    const pc = new Pc({ engine: await createEngine("wasm", ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic" });
    let log = "";
    pc.vm.addPortDevice(0x402, 1, new Debugcon({ onOutput: (b) => { log += String.fromCharCode(b); } }));
    pc.vm.loadRom(new Uint8Array(readFileSync(seabios)));
    for (let i = 0; i < 20 && !log.includes("No bootable device."); i++) pc.vm.run(50_000_000);
    const dir = mkdtempSync(join(tmpdir(), "symbiont-seabios-"));
    let theirs = "";
    try {
      spawnSync("qemu-system-i386", ["-bios", seabios, "-m", "128", "-display", "none", "-nodefaults", "-machine", "graphics=off", "-serial", "null",
        "-chardev", `file,id=dbg,path=${join(dir, "log")}`, "-device", "isa-debugcon,iobase=0x402,chardev=dbg"], { timeout: 8000 });
      theirs = readFileSync(join(dir, "log"), "latin1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(theirs).toContain("No bootable device.");
    const pick = (text: string) => text.split("\n").filter((l) => /^(Running on QEMU|Found QEMU fw_cfg|qemu\/e820: |Relocating init |Found \d+ serial ports|PS2 keyboard initialized|No bootable device\.)/.test(l)).map((l) => l.replace(/ +Retrying in \d+ seconds\.$/, ""));
    expect(pick(log)).toEqual(pick(theirs));
    // The memory map it reports: QEMU's up to the ACPI tables at the top of RAM (ours are smaller than QEMU's).
    const map = (text: string) => text.split("\n").filter((l) => /^ {2}[0-3]: [0-9a-f]{16} - /.test(l)).slice(0, 3);
    expect(map(log)).toEqual(map(theirs));
  }, 120_000);

  const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;
  it.runIf(existsSync(seabios) || !!process.env.SYMBIONT_REQUIRE_IMAGES)(`symbiont run --bios … --debugcon FILE,port=0x402 writes SeaBIOS's log${existsSync(seabios) ? "" : " (skipped: no seabios)"}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-debugcon-"));
    try {
      const file = join(dir, "seabios.log");
      spawnSync(process.execPath, [cli, "run", "--bios", seabios, "--debugcon", `${file},port=0x402`, "--deterministic", "--timeout", "60"], { input: "", timeout: 90_000 });
      const log = readFileSync(file, "latin1");
      expect(log).toMatch(/^SeaBIOS \(version /);
      expect(log).toContain("No bootable device.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = spawnSync(process.execPath, [cli, "run", "--debugcon", "x,port=0x10000", "k"], { encoding: "utf8", input: "" });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(`symbiont: --debugcon takes FILE or FILE,port=N (N a port 0-0xffff; got "x,port=0x10000")`);
  }, 120_000);
});
