import { describe, expect, it } from "vitest";
import { Debugcon } from "../../src/devices/debugcon.js";
import { IsaDebugExit } from "../../src/devices/debug-exit.js";
import { PostCode } from "../../src/devices/post-code.js";
import { PortBus } from "../../src/vmm/bus.js";
import { FwCfg, FW_CFG_PORT, e820Table, E820_RAM } from "../../src/devices/fw-cfg.js";
import { Pc } from "../../src/machine/pc.js";
import { createEngine } from "../../src/node/engines.js";
import { existsSync, readFileSync } from "node:fs";

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

  // SeaBIOS (Debian's build, what qemu-system-x86 runs) as an independent reader: it prints on port 0x402 what it
  // found. It stops further on for other reasons (README: SeaBIOS is not supported yet).
  const seabios = "/usr/share/seabios/bios-256k.bin";
  it.runIf(existsSync(seabios) || !!process.env.SYMBIONT_REQUIRE_IMAGES)(`SeaBIOS finds the PC's fw_cfg and reads its RAM from etc/e820${existsSync(seabios) ? "" : " (skipped: no seabios package)"}`, async () => {
    const ram = 128 << 20;
    const pc = new Pc({ engine: await createEngine("wasm", ram), ramBytes: ram, onSerial: () => {} });
    let log = "";
    pc.vm.addPortDevice(0x402, 1, new Debugcon({ onOutput: (b) => { log += String.fromCharCode(b); } }));
    pc.vm.loadRom(new Uint8Array(readFileSync(seabios)));
    pc.vm.run(300_000_000);
    expect(log).toContain("Found QEMU fw_cfg\n");
    expect(log).toContain("qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 [RAM]\n");
  }, 60_000);
});
