/**
 * Expected behaviour from the Intel 8259A datasheet (231468): the
 * initialization sequence (ICW1 with D4 = 1 on A0 = 0, then ICW2, ICW3 when
 * SNGL = 0, ICW4 when IC4 = 1), ICW1 side effects (IMR cleared, IR7 lowest
 * priority, status read = IRR), fully nested priorities (IR0 highest),
 * OCW2 encodings (001 non-specific EOI, 011 specific EOI, 101 rotate on
 * non-specific EOI, 111 rotate on specific EOI, 110 set priority, 100/000
 * rotate in AEOI set/clear), OCW3 (D3 = 1: RR/RIS read IRR or ISR, P poll
 * with the 1000 0www poll word, ESMM/SMM special mask mode), vectors T7-T3
 * from ICW2 with the IR number in bits 2-0, the default IR7 when a request
 * is gone at INTA, and the cascade (slave INT on master IR2, ICW3 bit map /
 * slave ID). ELCR reserved bits from the PIIX3 datasheet (ELCR1 bits 0-2,
 * ELCR2 bits 0 and 5).
 */
import { describe, expect, it } from "vitest";
import { PicPair } from "../../src/devices/i8259.js";
import { PortBus } from "../../src/vmm/bus.js";

function setup(opts: { aeoi?: boolean; sfnm?: boolean; ltim?: boolean } = {}) {
  let changes = 0;
  const pic = new PicPair({ onChange: () => changes++ });
  const bus = new PortBus();
  bus.register(0x20, 2, pic.master);
  bus.register(0xa0, 2, pic.slave);
  bus.register(0x4d0, 2, pic.elcr);
  const out = (p: number, v: number) => bus.write(p, 1, v);
  const inb = (p: number) => bus.read(p, 1);
  const icw4 = 0x01 | (opts.aeoi ? 0x02 : 0) | (opts.sfnm ? 0x10 : 0);
  const icw1 = 0x11 | (opts.ltim ? 0x08 : 0);
  // The PC/AT sequence (as Linux's init_8259A): vectors 0x20 and 0x28.
  out(0x20, icw1); out(0x21, 0x20); out(0x21, 0x04); out(0x21, icw4);
  out(0xa0, icw1); out(0xa1, 0x28); out(0xa1, 0x02); out(0xa1, 0x01);
  return { pic, out, inb, changes: () => changes };
}

describe("8259A initialization", () => {
  it("raises no interrupt before it is initialized", () => {
    const pic = new PicPair();
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("clears the IMR and selects IRR reads after ICW1", () => {
    const { pic, out, inb } = setup();
    expect(inb(0x21)).toBe(0x00);
    out(0x21, 0xfb);
    expect(inb(0x21)).toBe(0xfb); // OCW1 reads back
    pic.setIrq(1, true);
    expect(inb(0x20)).toBe(0x02); // IRR (default read)
    out(0x20, 0x11); // ICW1 again
    expect(inb(0x21)).toBe(0x00);
  });

  it("takes the vector base from ICW2 bits 7-3 and puts the IR number in bits 2-0", () => {
    const { pic } = setup();
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("skips ICW3 in single mode and ICW4 when IC4 = 0", () => {
    const pic = new PicPair();
    const bus = new PortBus();
    bus.register(0x20, 2, pic.master);
    bus.write(0x20, 1, 0x12); // ICW1: single, no ICW4
    bus.write(0x21, 1, 0x48); // ICW2
    bus.write(0x21, 1, 0x01); // now OCW1: mask IR0
    expect(bus.read(0x21, 1)).toBe(0x01);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false); // masked
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x4b);
  });
});

describe("8259A priorities and EOI", () => {
  it("acknowledges the highest-priority request first and moves it from IRR to ISR", () => {
    const { pic, out, inb } = setup();
    pic.setIrq(4, true);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
    out(0x20, 0x0b); // OCW3: read ISR
    expect(inb(0x20)).toBe(0x02);
    out(0x20, 0x0a); // OCW3: read IRR
    expect(inb(0x20)).toBe(0x10);
  });

  it("blocks equal and lower priorities while a request is in service (fully nested)", () => {
    const { pic, out } = setup();
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(1, true); // higher priority nests
    expect(pic.acknowledge()).toBe(0x21);
    out(0x20, 0x20); // non-specific EOI: clears IR1, the highest in service
    expect(pic.hasInterrupt()).toBe(false); // IR3 still in service
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("clears a named ISR bit with a specific EOI", () => {
    const { pic, out, inb } = setup();
    pic.setIrq(6, true);
    pic.acknowledge();
    pic.setIrq(2 + 1, true);
    pic.acknowledge(); // IR3 nests over IR6
    out(0x20, 0x66); // specific EOI, level 6
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x08);
  });

  it("rotates priorities: rotate on non-specific EOI and set priority", () => {
    const { pic, out } = setup();
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0xa0); // rotate on non-specific EOI: IR0 becomes lowest, IR1 highest
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    out(0x20, 0x20);
    out(0x20, 0xc4); // set priority: IR4 lowest, IR5 highest
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    pic.setIrq(6, true);
    expect(pic.acknowledge()).toBe(0x26); // order now 5 6 7 0 1 2 3 4
  });

  it("rotates on specific EOI", () => {
    const { pic, out } = setup();
    pic.setIrq(2 + 4, true);
    pic.acknowledge();
    out(0x20, 0xe6); // rotate on specific EOI 6: IR7 highest
    pic.setIrq(1, true);
    pic.setIrq(7, true);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it("leaves ISR alone in automatic EOI mode", () => {
    const { pic, out, inb } = setup({ aeoi: true });
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
    pic.setIrq(5, true);
    expect(pic.acknowledge()).toBe(0x25); // nothing in service to block it
  });

  it("rotates in AEOI mode when told to (OCW2 100), and stops (000)", () => {
    const { pic, out } = setup({ aeoi: true });
    out(0x20, 0x80);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20); // IR0 becomes lowest
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    pic.setIrq(7, true);
    expect(pic.acknowledge()).toBe(0x27);
  });
});

describe("8259A masks and modes", () => {
  it("keeps masked requests in IRR and delivers them when unmasked", () => {
    const { pic, out, inb } = setup();
    out(0x21, 0x01);
    pic.setIrq(0, true);
    expect(pic.hasInterrupt()).toBe(false);
    expect(inb(0x20) & 1).toBe(1);
    out(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("special mask mode enables lower priorities than the one in service", () => {
    const { pic, out } = setup();
    pic.setIrq(2 + 1, true);
    pic.acknowledge(); // IR3 in service
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x21, 0x08); // mask IR3
    out(0x20, 0x68); // OCW3: ESMM + SMM
    expect(pic.acknowledge()).toBe(0x25);
    out(0x20, 0x48); // reset special mask mode
    out(0x20, 0x65); // specific EOI for 5
    pic.setIrq(6, true);
    expect(pic.hasInterrupt()).toBe(false); // IR3 in service blocks again
  });

  it("answers a poll with 1000 0www and treats it as an acknowledge", () => {
    const { pic, out, inb } = setup();
    out(0x20, 0x0c); // OCW3: poll
    expect(inb(0x20)).toBe(0x00); // nothing pending
    pic.setIrq(6, true);
    out(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x86);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x40); // IR6 now in service
  });
});

describe("8259A triggering", () => {
  it("latches edge-triggered requests on the rising edge only", () => {
    const { pic, out } = setup();
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21);
    out(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // still high: no new edge
    pic.setIrq(1, false);
    pic.setIrq(1, true);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it("re-requests a level-triggered line (ELCR) that is still asserted after EOI", () => {
    const { pic, out, inb } = setup();
    out(0x4d1, 0x08); // IRQ 11 level
    expect(inb(0x4d1)).toBe(0x08);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x2b);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    pic.setIrq(11, false);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("requests at once when a line that is already high is switched to level mode", () => {
    const { pic, out } = setup();
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(0x2a);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false); // edge: consumed
    out(0x4d1, 0x04); // IRQ 10 level-triggered
    expect(pic.acknowledge()).toBe(0x2a);
  });

  it("treats all lines as level-triggered when ICW1 LTIM is set", () => {
    const { pic, out } = setup({ ltim: true });
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it("keeps the PIIX-reserved ELCR bits (IRQ 0, 1, 2, 8, 13) at 0", () => {
    const { out, inb } = setup();
    out(0x4d0, 0xff);
    out(0x4d1, 0xff);
    expect(inb(0x4d0)).toBe(0xf8);
    expect(inb(0x4d1)).toBe(0xde);
  });

  it("returns IR7 (spurious) without setting ISR when the request vanished before INTA", () => {
    const { pic, out, inb } = setup();
    pic.setIrq(3, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(3, false);
    expect(pic.acknowledge()).toBe(0x27);
    out(0x20, 0x0b);
    expect(inb(0x20)).toBe(0x00);
  });
});

describe("8259A cascade", () => {
  it("delivers slave requests through master IR2 with the slave's vector", () => {
    const { pic, out, inb } = setup();
    pic.setIrq(9, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
    out(0x20, 0x0b);
    out(0xa0, 0x0b);
    expect(inb(0x20)).toBe(0x04);
    expect(inb(0xa0)).toBe(0x02);
    // Slave requests wait for the master's IR2 EOI (fully nested).
    pic.setIrq(8, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x28);
  });

  it("ranks the whole slave at the master's IR2 priority", () => {
    const { pic } = setup();
    pic.setIrq(3, true);
    pic.setIrq(15, true);
    expect(pic.acknowledge()).toBe(0x2f); // IR2 (slave) beats IR3
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x21); // IR1 beats IR2 in service
  });

  it("lets higher slave requests through master IR2 in service in special fully nested mode", () => {
    const { pic } = setup({ sfnm: true });
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x2c);
    pic.setIrq(9, true); // higher than 12 on the slave
    expect(pic.acknowledge()).toBe(0x29);
  });

  it("masks the whole slave with master IMR bit 2", () => {
    const { pic, out } = setup();
    out(0x21, 0x04);
    pic.setIrq(14, true);
    expect(pic.hasInterrupt()).toBe(false);
    out(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x2e);
  });

  it("reports INT changes through onChange", () => {
    const s = setup();
    const before = s.changes();
    s.pic.setIrq(4, true);
    expect(s.changes()).toBe(before + 1);
    s.pic.acknowledge();
    expect(s.changes()).toBe(before + 2);
  });
});
