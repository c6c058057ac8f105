/**
 * Expected values from the Intel 82371FB/SB (PIIX/PIIX3) datasheet: NMI
 * status and control register at 61h (bit 0 timer counter 2 enable, bit 1
 * speaker data enable, bits 2-3 R/W NMI enables, bit 4 refresh cycle
 * toggle, bit 5 timer counter 2 OUT, bits 6-7 NMI source status, read
 * only), port 92h (bit 0 fast INIT on a 0 → 1 transition, bit 1 fast A20),
 * reset control register CF9h (bit 1 SYS_RST selects hard/soft reset, bit 2
 * RST_CPU 0 → 1 starts it; Linux's "cf9" reboot writes 02h then 06h), and
 * A20M# = NOT (A20GATE from the keyboard controller OR fast A20). The
 * refresh toggle period is the PC's 15.085 µs DRAM refresh interval.
 */
import { describe, expect, it } from "vitest";
import { I8254 } from "../../src/devices/i8254.js";
import { A20Gate, Port92, ResetControl, SystemControlB } from "../../src/devices/system-ports.js";
import { PortBus } from "../../src/vmm/bus.js";
import { VirtualClock } from "../../src/vmm/clock.js";

function port61() {
  const clock = new VirtualClock({ mode: "deterministic", nsPerInstruction: 1 });
  const pit = new I8254({ clock });
  const bus = new PortBus();
  bus.register(0x40, 4, pit);
  bus.register(0x61, 1, new SystemControlB(pit, clock));
  return { clock, pit, bus };
}

describe("port 0x61", () => {
  it("stores bits 0-3, ignores writes to bits 4-7, and drives counter 2's gate", () => {
    const { pit, bus } = port61();
    expect(pit.gate(2)).toBe(false);
    bus.write(0x61, 1, 0xff);
    expect(bus.read(0x61, 1) & 0xcf).toBe(0x0f);
    expect(pit.gate(2)).toBe(true);
    bus.write(0x61, 1, 0x02);
    expect(pit.gate(2)).toBe(false);
    expect(bus.read(0x61, 1) & 0x0f).toBe(0x02);
  });

  it("reads counter 2's OUT in bit 5", () => {
    const { clock, pit, bus } = port61();
    expect(bus.read(0x61, 1) & 0x20).toBe(0x20); // mode 3, gate low: OUT high
    bus.write(0x43, 1, 0xb0); // mode 0: OUT low
    expect(bus.read(0x61, 1) & 0x20).toBe(0);
    bus.write(0x61, 1, 0x01);
    bus.write(0x42, 1, 2);
    bus.write(0x42, 1, 0);
    clock.advanceTo(3000); // 3 clocks of 838 ns have passed
    expect(pit.out(2)).toBe(true);
    expect(bus.read(0x61, 1) & 0x20).toBe(0x20);
  });

  it("toggles the refresh bit every 15.085 µs of virtual time", () => {
    const { clock, bus } = port61();
    const bit = () => bus.read(0x61, 1) & 0x10;
    expect(bit()).toBe(0);
    clock.advanceTo(15_084);
    expect(bit()).toBe(0);
    clock.advanceTo(15_085);
    expect(bit()).toBe(0x10);
    clock.advanceTo(30_170);
    expect(bit()).toBe(0);
  });
});

describe("port 0x92", () => {
  it("drives fast A20 from bit 1 and resets on a 0 → 1 transition of bit 0", () => {
    const a20: boolean[] = [];
    let resets = 0;
    const p = new Port92({ setA20: (e) => a20.push(e), onReset: () => resets++ });
    expect(p.read(0, 1)).toBe(0x00);
    p.write(0, 1, 0x02);
    expect(a20).toEqual([true]);
    expect(p.read(0, 1)).toBe(0x02);
    p.write(0, 1, 0x03);
    expect(resets).toBe(1);
    p.write(0, 1, 0x03); // no transition
    expect(resets).toBe(1);
    p.write(0, 1, 0x00);
    expect(a20).toEqual([true, false]);
  });
});

describe("reset control register 0xCF9", () => {
  it("resets on RST_CPU with the type from SYS_RST (Linux writes 02h then 06h)", () => {
    const kinds: string[] = [];
    const rc = new ResetControl((k) => kinds.push(k));
    rc.write(0, 1, 0x02);
    expect(kinds).toEqual([]);
    expect(rc.read(0, 1)).toBe(0x02);
    rc.write(0, 1, 0x06);
    rc.write(0, 1, 0x04);
    rc.write(0, 1, 0x0e);
    expect(kinds).toEqual(["hard", "soft", "full"]);
  });
});

describe("A20 gate", () => {
  it("is the OR of the keyboard controller and port 92 sources", () => {
    const seen: boolean[] = [];
    const g = new A20Gate((e) => seen.push(e));
    expect(g.enabled).toBe(true); // 8042 output port powers on with A20 set
    g.setFast(true);
    g.setKbc(false);
    expect(seen).toEqual([]);
    g.setFast(false);
    expect(seen).toEqual([false]);
    g.setKbc(true);
    expect(seen).toEqual([false, true]);
  });

  it("wires port 92 through the gate", () => {
    const seen: boolean[] = [];
    const g = new A20Gate((e) => seen.push(e));
    const p = new Port92({ setA20: (e) => g.setFast(e) });
    g.setKbc(false);
    p.write(0, 1, 0x02);
    expect(seen).toEqual([false, true]);
  });
});

describe("system ports on the bus", () => {
  it("coexist with the PIT and the 8042 at their standard addresses", () => {
    const bus = new PortBus();
    const clock = new VirtualClock({ mode: "deterministic" });
    const pit = new I8254({ clock });
    bus.register(0x40, 4, pit);
    bus.register(0x61, 1, new SystemControlB(pit, clock));
    bus.register(0x92, 1, new Port92({}));
    expect(bus.isMapped(0x60)).toBe(false);
    expect(bus.isMapped(0x64)).toBe(false);
  });
});
