import { describe, expect, it } from "vitest";
import { Debugcon } from "../../src/devices/debugcon.js";
import { IsaDebugExit } from "../../src/devices/debug-exit.js";
import { PostCode } from "../../src/devices/post-code.js";
import { PortBus } from "../../src/vmm/bus.js";

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
