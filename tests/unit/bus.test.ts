import { describe, expect, it } from "vitest";
import { type AccessSize, MmioBus, PortBus, type PortDevice } from "../../src/vmm/bus.js";

interface Access {
  op: "r" | "w";
  offset: number;
  size: AccessSize;
  value?: number;
}

/** A device that logs accesses and answers reads with a fixed per-size pattern. */
function recorder(name: string, readValue = 0x12345678): PortDevice & { log: Access[] } {
  const log: Access[] = [];
  return {
    name,
    log,
    read(offset, size) {
      log.push({ op: "r", offset, size });
      return size === 1 ? readValue & 0xff : size === 2 ? readValue & 0xffff : readValue;
    },
    write(offset, size, value) {
      log.push({ op: "w", offset, size, value });
    },
  };
}

describe("PortBus", () => {
  it("reads all ones from unmapped ports, per access size", () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4)).toBe(0xffffffff);
  });

  it("ignores writes to unmapped ports", () => {
    const bus = new PortBus();
    expect(() => bus.write(0x10, 4, 0xdeadbeef)).not.toThrow();
  });

  it("hands the device offset = port - base", () => {
    const bus = new PortBus();
    const dev = recorder("uart");
    bus.register(0x3f8, 8, dev);
    bus.read(0x3fd, 1);
    bus.write(0x3f8, 1, 0x41);
    expect(dev.log).toEqual([
      { op: "r", offset: 5, size: 1 },
      { op: "w", offset: 0, size: 1, value: 0x41 },
    ]);
    expect(bus.isMapped(0x3ff)).toBe(true);
    expect(bus.isMapped(0x400)).toBe(false);
    expect(bus.deviceAt(0x3fa)).toBe(dev);
  });

  it("rejects overlapping registrations naming both devices", () => {
    const bus = new PortBus();
    bus.register(0x3f8, 8, recorder("com1"));
    expect(() => bus.register(0x3ff, 2, recorder("probe"))).toThrow(/probe.*overlaps.*com1/);
    // Adjacent is fine.
    expect(() => bus.register(0x400, 1, recorder("next"))).not.toThrow();
  });

  it("delivers a wide access inside one device as a single access", () => {
    const bus = new PortBus();
    const dev = recorder("wide");
    bus.register(0xcf8, 8, dev);
    expect(bus.read(0xcfc, 4)).toBe(0x12345678);
    bus.write(0xcf8, 4, 0x80000000);
    expect(dev.log).toEqual([
      { op: "r", offset: 4, size: 4 },
      { op: "w", offset: 0, size: 4, value: 0x80000000 },
    ]);
  });

  it("splits an access that runs past a device into bytes; unmapped bytes read 0xff", () => {
    const bus = new PortBus();
    const post = recorder("post", 0x55);
    bus.register(0x80, 1, post);
    expect(bus.read(0x80, 2)).toBe(0xff55);
    bus.write(0x80, 2, 0xbeef);
    expect(post.log).toEqual([
      { op: "r", offset: 0, size: 1 },
      { op: "w", offset: 0, size: 1, value: 0xef },
    ]);
  });

  it("splits a dword spanning two devices into byte accesses to each", () => {
    const bus = new PortBus();
    const a = recorder("a", 0x11);
    const b = recorder("b", 0x22);
    bus.register(0x100, 2, a);
    bus.register(0x102, 2, b);
    expect(bus.read(0x101, 4)).toBe(0xff222211);
    bus.write(0x101, 4, 0x44332211);
    expect(a.log.filter((x) => x.op === "w")).toEqual([{ op: "w", offset: 1, size: 1, value: 0x11 }]);
    expect(b.log.filter((x) => x.op === "w")).toEqual([
      { op: "w", offset: 0, size: 1, value: 0x22 },
      { op: "w", offset: 1, size: 1, value: 0x33 },
    ]);
  });

  it("masks device results to the access size", () => {
    const bus = new PortBus();
    bus.register(0x60, 1, { name: "sloppy", read: () => 0x1ff, write: () => {} });
    expect(bus.read(0x60, 1)).toBe(0xff);
  });

  it("unregisters a device", () => {
    const bus = new PortBus();
    const dev = recorder("x");
    bus.register(0x70, 2, dev);
    bus.unregister(dev);
    expect(bus.read(0x70, 1)).toBe(0xff);
    expect(() => bus.register(0x70, 2, recorder("y"))).not.toThrow();
  });
});

describe("MmioBus", () => {
  it("reads all ones when unmapped and routes offsets", () => {
    const bus = new MmioBus();
    expect(bus.read(0xfee00000, 4)).toBe(0xffffffff);
    expect(bus.read(0xfee00000, 2)).toBe(0xffff);
    expect(bus.read(0xfee00000, 1)).toBe(0xff);
    const apic = recorder("lapic", 0xabcdef01);
    bus.register(0xfee00000, 0x1000, apic);
    expect(bus.read(0xfee00020, 4)).toBe(0xabcdef01);
    bus.write(0xfee000b0, 4, 0);
    expect(apic.log).toEqual([
      { op: "r", offset: 0x20, size: 4 },
      { op: "w", offset: 0xb0, size: 4, value: 0 },
    ]);
  });

  it("rejects overlaps naming both devices", () => {
    const bus = new MmioBus();
    bus.register(0xfec00000, 0x1000, recorder("ioapic"));
    expect(() => bus.register(0xfebff000, 0x2000, recorder("bar0"))).toThrow(/bar0.*overlaps.*ioapic/);
  });

  it("finds the right region among several", () => {
    const bus = new MmioBus();
    const devs = [0xa0000, 0xe0000000, 0xfec00000, 0xfee00000].map((base, i) => {
      const d = recorder(`d${i}`, i + 1);
      bus.register(base, 0x1000, d);
      return d;
    });
    expect(bus.read(0xfec00ffc, 1)).toBe(3);
    expect(bus.read(0xa0010, 1)).toBe(1);
    expect(bus.read(0xe0000800, 1)).toBe(2);
    expect(bus.read(0xe0001000, 1)).toBe(0xff);
    expect(devs[3]!.log).toEqual([]);
  });

  it("splits an access crossing the end of a region", () => {
    const bus = new MmioBus();
    const d = recorder("r", 0x77);
    bus.register(0x1000, 0x10, d);
    expect(bus.read(0x100e, 4)).toBe(0xffff7777);
  });
});
