/**
 * Expected behaviour from the PCI Local Bus Specification 3.0: configuration
 * mechanism #1 (3.2.2.3.2: CONFIG_ADDRESS at 0CF8h latched only by DWORD
 * writes, bit 31 enable, 23-16 bus, 15-11 device, 10-8 function, 7-2
 * register, 30-24 reserved and 1-0 read as 0; other accesses to 0CF8h-0CFBh
 * pass through as ordinary I/O; CONFIG_DATA at 0CFCh-0CFFh at any byte
 * width), master abort on an absent device reading all ones (6.1), the
 * type 0 header layout and read-only fields (6.2: vendor ID, device ID,
 * revision, class code, header type with bit 7 = multi-function, interrupt
 * pin), status bits 8 and 11-15 cleared by writing 1 (6.2.3), and BAR
 * sizing (6.2.5.1: write all 1s, read back; bit 0 = 1 for I/O, bits 3-1
 * memory type and prefetchable; the read-back value's zeros give the size).
 * IDs from the Intel 82441FX (440FX PMC: 8086h/1237h, class 060000h,
 * revision 02h) and 82371SB (PIIX3 ISA: 8086h/7000h, class 060100h; PIRQ
 * route control registers 60h-63h, default 80h = disabled) datasheets.
 */
import { describe, expect, it } from "vitest";
import { PciBus, PciFunction, PciHost, PciIntxRouter, Piix3IsaBridge, createI440fx, pirqForSlot } from "../../src/devices/pci.js";
import { ResetControl } from "../../src/devices/system-ports.js";
import { PortBus } from "../../src/vmm/bus.js";
import { Pc } from "../../src/machine/pc.js";
import { createEngine } from "../../src/node/engines.js";

function setup() {
  const pci = new PciBus();
  pci.add(0, 0, createI440fx());
  const isa = new Piix3IsaBridge();
  pci.add(1, 0, isa);
  const resets: string[] = [];
  const host = new PciHost(pci, new ResetControl((k) => resets.push(k)));
  const bus = new PortBus();
  bus.register(0xcf8, 8, host);
  const conf = (slot: number, fn: number, reg: number) => (0x80000000 | (slot << 11) | (fn << 8) | reg) >>> 0;
  const cfgRead = (slot: number, fn: number, reg: number, size: 1 | 2 | 4 = 4) => {
    bus.write(0xcf8, 4, conf(slot, fn, reg & 0xfc));
    return bus.read(0xcfc + (reg & 3), size);
  };
  const cfgWrite = (slot: number, fn: number, reg: number, size: 1 | 2 | 4, v: number) => {
    bus.write(0xcf8, 4, conf(slot, fn, reg & 0xfc));
    bus.write(0xcfc + (reg & 3), size, v);
  };
  return { pci, isa, host, bus, cfgRead, cfgWrite, resets };
}

describe("configuration mechanism #1", () => {
  it("latches CONFIG_ADDRESS on DWORD writes only, with reserved bits reading 0", () => {
    const { bus } = setup();
    bus.write(0xcf8, 4, 0xffffffff);
    expect(bus.read(0xcf8, 4)).toBe(0x80fffffc);
    bus.write(0xcf8, 4, 0x80000000);
    bus.write(0xcf8, 2, 0x1234); // not a DWORD: ordinary I/O
    bus.write(0xcfb, 1, 0x01);
    expect(bus.read(0xcf8, 4)).toBe(0x80000000);
  });

  it("passes Linux's pci_check_type1 probe", () => {
    const { bus } = setup();
    bus.write(0xcfb, 1, 0x01);
    const tmp = bus.read(0xcf8, 4);
    bus.write(0xcf8, 4, 0x80000000);
    expect(bus.read(0xcf8, 4)).toBe(0x80000000);
    bus.write(0xcf8, 4, tmp);
  });

  it("finds the 440FX host bridge at 00:00.0 and the PIIX3 at 00:01.0", () => {
    const { cfgRead } = setup();
    expect(cfgRead(0, 0, 0x00)).toBe(0x12378086);
    expect(cfgRead(0, 0, 0x08)).toBe(0x06000002); // class 06 00 00, revision 02
    expect(cfgRead(0, 0, 0x0a, 2)).toBe(0x0600); // what pci_sanity_check reads
    expect(cfgRead(1, 0, 0x00)).toBe(0x70008086);
    expect(cfgRead(1, 0, 0x08) >>> 8).toBe(0x060100);
  });

  it("reads all ones from absent devices, functions and other buses; drops writes to them", () => {
    const { bus, cfgRead, cfgWrite } = setup();
    expect(cfgRead(2, 0, 0x00)).toBe(0xffffffff);
    expect(cfgRead(0, 1, 0x00)).toBe(0xffffffff);
    expect(cfgRead(31, 7, 0x00, 2)).toBe(0xffff);
    bus.write(0xcf8, 4, 0x80010000); // bus 1, device 0
    expect(bus.read(0xcfc, 4)).toBe(0xffffffff);
    cfgWrite(2, 0, 0x04, 2, 0x0007);
    expect(cfgRead(2, 0, 0x04)).toBe(0xffffffff);
  });

  it("reads nothing while the enable bit is clear", () => {
    const { bus } = setup();
    bus.write(0xcf8, 4, 0x00000000);
    expect(bus.read(0xcfc, 4)).toBe(0xffffffff);
  });

  it("reads bytes and words at 0xCFC-0xCFF within the selected dword", () => {
    const { cfgRead } = setup();
    expect(cfgRead(0, 0, 0x00, 1)).toBe(0x86);
    expect(cfgRead(0, 0, 0x01, 1)).toBe(0x80);
    expect(cfgRead(0, 0, 0x02, 2)).toBe(0x1237);
    expect(cfgRead(0, 0, 0x03, 1)).toBe(0x12);
  });

  it("forwards byte accesses to 0xCF9 to the reset control register", () => {
    const { bus, resets } = setup();
    bus.write(0xcf9, 1, 0x02);
    expect(bus.read(0xcf9, 1)).toBe(0x02);
    bus.write(0xcf9, 1, 0x06);
    expect(resets).toEqual(["hard"]);
    expect(bus.read(0xcfa, 1)).toBe(0xff);
  });
});

describe("type 0 configuration header", () => {
  it("keeps the IDs, class, header type and interrupt pin read-only", () => {
    const { cfgRead, cfgWrite } = setup();
    cfgWrite(1, 0, 0x00, 4, 0);
    cfgWrite(1, 0, 0x08, 4, 0);
    cfgWrite(1, 0, 0x0e, 1, 0x7f);
    expect(cfgRead(1, 0, 0x00)).toBe(0x70008086);
    expect(cfgRead(1, 0, 0x08) >>> 8).toBe(0x060100);
    expect(cfgRead(1, 0, 0x0e, 1)).toBe(0x00);
  });

  it("clears status error bits written as 1 and keeps the others", () => {
    const f = new PciFunction({ name: "t", vendorId: 0x1234, deviceId: 0x5678, classCode: 0x020000, status: 0x0010 });
    f.set16(0x06, 0x2010 | 0x8000); // received master abort, detected parity error, capabilities
    f.configWrite(0x06, 2, 0x2000);
    expect(f.configRead(0x06, 2)).toBe(0x8010);
    f.configWrite(0x06, 2, 0xffff);
    expect(f.configRead(0x06, 2)).toBe(0x0010);
  });

  it("sizes BARs: all ones reads back the size mask and the type bits", () => {
    const remaps: number[] = [];
    const f = new PciFunction({
      name: "t", vendorId: 0x1234, deviceId: 0x5678, classCode: 0x020000, interruptPin: 1,
      bars: [{ kind: "io", size: 32 }, { kind: "mem32", size: 4096 }, { kind: "mem32", size: 1 << 20, prefetchable: true }],
      onRemap: () => remaps.push(1),
    });
    const size = (off: number) => {
      f.configWrite(off, 4, 0xffffffff);
      return f.configRead(off, 4);
    };
    expect(f.configRead(0x10, 4)).toBe(0x00000001);
    expect(size(0x10)).toBe(0xffffffe1);
    expect(size(0x14)).toBe(0xfffff000);
    expect(size(0x18)).toBe(0xfff00008);
    expect(size(0x1c)).toBe(0x00000000); // not implemented
    expect(f.configRead(0x3d, 1)).toBe(1);
    f.configWrite(0x10, 4, 0xc040);
    f.configWrite(0x14, 4, 0xfebf1000);
    expect(f.barAddress(0)).toBe(null); // I/O decoding off
    f.configWrite(0x04, 2, 0x0003);
    expect(f.barAddress(0)).toBe(0xc040);
    expect(f.barAddress(1)).toBe(0xfebf1000);
    expect(remaps.length).toBeGreaterThan(0);
  });

  it("sets the multi-function bit on function 0 when other functions exist", () => {
    const { pci, cfgRead } = setup();
    expect(cfgRead(1, 0, 0x0c) >>> 16 & 0xff).toBe(0x00);
    pci.add(1, 1, new PciFunction({ name: "ide", vendorId: 0x8086, deviceId: 0x7010, classCode: 0x010180 }));
    expect(cfgRead(1, 0, 0x0e, 1)).toBe(0x80);
    expect(cfgRead(1, 0, 0x0c) >>> 16 & 0xff).toBe(0x80);
    expect(cfgRead(1, 1, 0x00)).toBe(0x70108086);
  });
});

describe("PIIX3 PIRQ routing", () => {
  it("starts with routing disabled (80h) and routes PIRQs to the programmed ISA IRQ", () => {
    const { isa, cfgRead, cfgWrite } = setup();
    expect(cfgRead(1, 0, 0x60)).toBe(0x80808080);
    expect(isa.pirqRoute(0)).toBe(null);
    cfgWrite(1, 0, 0x60, 4, 0x0b0a0b0a);
    expect([0, 1, 2, 3].map((n) => isa.pirqRoute(n))).toEqual([10, 11, 10, 11]);
  });

  it("delivers shared level-triggered INTx lines through the routing", () => {
    const { isa, cfgWrite } = setup();
    const lines: [number, boolean][] = [];
    const router = new PciIntxRouter(isa, (irq, level) => lines.push([irq, level]));
    cfgWrite(1, 0, 0x60, 4, 0x0b0b0a0a); // A,B → 10; C,D → 11
    // slot 3 INTA → PIRQC, slot 4 INTA → PIRQD, slot 2 INTA → PIRQB
    expect([pirqForSlot(3, 0), pirqForSlot(4, 0), pirqForSlot(2, 0)]).toEqual([2, 3, 1]);
    router.setIntx(3, 0, true);
    router.setIntx(4, 0, true);
    router.setIntx(3, 0, false);
    expect(lines).toEqual([[11, true]]);
    router.setIntx(4, 0, false);
    router.setIntx(2, 0, true);
    expect(lines).toEqual([[11, true], [11, false], [10, true]]);
  });
});

describe("PCI INTx on the PC's I/O APIC", () => {
  // A PIRQ line reaches the ISA IRQ the PIIX3 routes it to — on the I/O APIC too, as an ISA line does (what
  // SeaBIOS's MP table names: pins 10/11) — and pins 16-19 directly (what our MP table and _PRT name). A
  // level-triggered, unmasked redirection entry shows a delivered message by its Remote IRR bit (82093AA).
  it("arrives at the routed ISA IRQ's pin and at pin 16 + PIRQ", async () => {
    const pc = new Pc({ engine: await createEngine("wasm", 4 << 20), ramBytes: 4 << 20, onSerial: () => {} });
    const io = pc.ioapic!;
    const pins = [11, 16 + pirqForSlot(3, 0)]; // slot 3 INTA → PIRQC → IRQ 11 (the PC's routing 10, 10, 11, 11)
    pins.forEach((pin, i) => { io.writeRegister(0x11 + 2 * pin, 0); io.writeRegister(0x10 + 2 * pin, 0x8000 | (0x50 + i)); });
    const remoteIrr = (pin: number) => (io.readRegister(0x10 + 2 * pin) >> 14) & 1;
    expect(pins.map(remoteIrr)).toEqual([0, 0]);
    pc.pciSlots.intx(3, 0, true);
    expect(pins.map(remoteIrr)).toEqual([1, 1]);
    expect(pins[1]).toBe(18);
  });
});
