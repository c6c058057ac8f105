/**
 * Expected values from the IBM PC AT / PS/2 keyboard controller
 * documentation (IBM PS/2 Hardware Interface Technical Reference, 8042
 * "keyboard/auxiliary device controller"): status bits (0 output buffer
 * full, 1 input buffer full, 2 system flag, 3 command/data, 4 inhibit
 * switch, 5 auxiliary output buffer full, 6 general time-out, 7 parity
 * error), command byte bits (0 keyboard interrupt, 1 auxiliary interrupt,
 * 2 system flag, 4 disable keyboard, 5 disable auxiliary device, 6 IBM PC
 * compatibility / translate), commands 20h/60h, A7h/A8h, A9h (00h = no
 * error), AAh (55h), ABh (00h), ADh/AEh, D0h/D1h (output port bit 0 system
 * reset, bit 1 A20 gate), D2h/D3h/D4h, F0h-FFh pulse output port; and the
 * IBM PS/2 keyboard and mouse command sets: keyboard FFh → FAh AAh, F2h →
 * FAh ABh 83h (41h through translation), EEh → EEh; mouse FFh → FAh AAh
 * 00h, F2h → FAh 00h. Scan-code translation: set 2 1Ch ("A") → set 1 1Eh,
 * F0h 1Ch → 9Eh.
 */
import { describe, expect, it } from "vitest";
import { I8042, translateSet2 } from "../../src/devices/i8042.js";
import { PortBus } from "../../src/vmm/bus.js";

function setup(opts: { mouse?: boolean; commandByte?: number } = {}) {
  const irqs: [number, boolean][] = [];
  let resets = 0;
  const a20: boolean[] = [];
  const kbc = new I8042({
    mouse: opts.mouse,
    commandByte: opts.commandByte,
    setIrq: (irq, level) => irqs.push([irq, level]),
    onReset: () => resets++,
    setA20: (e) => a20.push(e),
  });
  const bus = new PortBus();
  bus.register(0x60, 1, kbc.data);
  bus.register(0x64, 1, kbc.command);
  const cmd = (c: number) => bus.write(0x64, 1, c);
  const data = (v: number) => bus.write(0x60, 1, v);
  const status = () => bus.read(0x64, 1);
  const rd = () => bus.read(0x60, 1);
  /** Everything currently readable from the output buffer. */
  const drain = () => {
    const out: number[] = [];
    while (status() & 1) out.push(rd());
    return out;
  };
  return { kbc, cmd, data, status, rd, drain, irqs, resets: () => resets, a20 };
}

describe("8042 controller commands", () => {
  it("passes the self-test (AAh → 55h) and sets the system flag", () => {
    const t = setup({ commandByte: 0x00 });
    expect(t.status() & 0x04).toBe(0);
    t.cmd(0xaa);
    expect(t.status() & 0x01).toBe(0x01);
    expect(t.rd()).toBe(0x55);
    expect(t.status() & 0x05).toBe(0x04); // OBF clear, SYS set
  });

  it("answers the interface tests with 00h", () => {
    const t = setup();
    t.cmd(0xab);
    expect(t.drain()).toEqual([0x00]);
    t.cmd(0xa9);
    expect(t.drain()).toEqual([0x00]);
  });

  it("reads and writes the command byte (20h / 60h)", () => {
    const t = setup();
    t.cmd(0x20);
    expect(t.drain()).toEqual([0x65]);
    t.cmd(0x60);
    expect(t.status() & 0x08).toBe(0x08); // last write was a command
    t.data(0x47);
    expect(t.status() & 0x08).toBe(0x00);
    t.cmd(0x20);
    expect(t.drain()).toEqual([0x47]);
  });

  it("disables and enables the ports (ADh AEh A7h A8h) through command byte bits 4 and 5", () => {
    const t = setup({ commandByte: 0x00 });
    const cb = () => {
      t.cmd(0x20);
      return t.rd();
    };
    t.cmd(0xad);
    expect(cb()).toBe(0x10);
    t.cmd(0xa7);
    expect(cb()).toBe(0x30);
    t.cmd(0xae);
    expect(cb()).toBe(0x20);
    t.cmd(0xa8);
    expect(cb()).toBe(0x00);
  });

  it("reports the keyboard not inhibited (status bit 4)", () => {
    expect(setup().status() & 0x10).toBe(0x10);
  });

  it("loops a byte back as auxiliary data with D3h, on IRQ 12 when enabled", () => {
    const t = setup();
    t.cmd(0x60);
    t.data(0x02 | 0x04); // AUX interrupt on
    t.cmd(0xd3);
    t.data(0x5a);
    expect(t.status() & 0x21).toBe(0x21); // OBF | AUXB
    expect(t.irqs).toEqual([[12, true]]);
    expect(t.rd()).toBe(0x5a);
    expect(t.irqs).toEqual([[12, true], [12, false]]);
  });

  it("writes the keyboard output buffer with D2h, on IRQ 1", () => {
    const t = setup();
    t.cmd(0xd2);
    t.data(0x1e);
    expect(t.status() & 0x21).toBe(0x01);
    expect(t.irqs).toEqual([[1, true]]);
    expect(t.rd()).toBe(0x1e);
  });

  it("resets the CPU on FEh (pulse output port bit 0) and not on FFh", () => {
    const t = setup();
    t.cmd(0xff);
    expect(t.resets()).toBe(0);
    t.cmd(0xfe);
    expect(t.resets()).toBe(1);
  });

  it("drives A20 from output port bit 1 (D1h) and resets when bit 0 is written 0", () => {
    const t = setup();
    t.cmd(0xd0);
    expect(t.drain()[0]! & 0x03).toBe(0x03); // not in reset, A20 on
    t.cmd(0xd1);
    t.data(0xdd); // A20 off
    expect(t.a20).toEqual([false]);
    t.cmd(0xd1);
    t.data(0xdf);
    expect(t.a20).toEqual([false, true]);
    t.cmd(0xdd);
    t.cmd(0xdf);
    expect(t.a20).toEqual([false, true, false, true]);
    t.cmd(0xd1);
    t.data(0xde);
    expect(t.resets()).toBe(1);
  });
});

describe("8042 with a PS/2 keyboard", () => {
  it("resets the keyboard: FFh → FAh AAh", () => {
    const t = setup();
    t.data(0xff);
    expect(t.drain()).toEqual([0xfa, 0xaa]);
  });

  it("identifies an MF2 keyboard: ABh 83h, or ABh 41h through translation", () => {
    const t = setup({ commandByte: 0x05 });
    t.data(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x83]);
    t.cmd(0x60);
    t.data(0x45); // XLATE on
    t.data(0xf2);
    expect(t.drain()).toEqual([0xfa, 0xab, 0x41]);
  });

  it("acknowledges commands with arguments (EDh LEDs) and echoes EEh", () => {
    const t = setup();
    t.data(0xed);
    t.data(0x07);
    expect(t.drain()).toEqual([0xfa, 0xfa]);
    expect(t.kbc.keyboard.leds).toBe(7);
    t.data(0xee);
    expect(t.drain()).toEqual([0xee]);
  });

  it("translates set 2 scan codes to set 1, folding F0h into bit 7", () => {
    expect(translateSet2(0x1c)).toBe(0x1e);
    expect(translateSet2(0x76)).toBe(0x01); // Esc
    expect(translateSet2(0x5a)).toBe(0x1c); // Enter
    const t = setup();
    t.kbc.keyboard.sendScancodes([0x1c, 0xf0, 0x1c]);
    expect(t.drain()).toEqual([0x1e, 0x9e]);
  });

  it("holds keyboard data while the keyboard port is disabled", () => {
    const t = setup();
    t.cmd(0xad);
    t.kbc.keyboard.sendScancodes([0x1c]);
    expect(t.status() & 1).toBe(0);
    t.cmd(0xae);
    expect(t.drain()).toEqual([0x1e]);
  });

  it("raises IRQ 1 for each byte when the keyboard interrupt is enabled", () => {
    const t = setup();
    t.kbc.keyboard.sendScancodes([0x1c, 0xf0, 0x1c]);
    expect(t.irqs).toEqual([[1, true]]);
    t.rd();
    expect(t.irqs).toEqual([[1, true], [1, false], [1, true]]); // a fresh edge for the next byte
    t.rd();
    expect(t.irqs.at(-1)).toEqual([1, false]);
  });
});

describe("8042 auxiliary port", () => {
  it("answers D4h bytes with FEh and a time-out when no mouse is attached", () => {
    const t = setup({ mouse: false });
    t.cmd(0xd4);
    t.data(0xf2);
    expect(t.status() & 0x61).toBe(0x61); // OBF | AUXB | TIMEOUT
    expect(t.rd()).toBe(0xfe);
  });

  it("talks to a PS/2 mouse: FFh → FAh AAh 00h, F2h → FAh 00h", () => {
    const t = setup();
    t.cmd(0xa8);
    t.cmd(0xd4);
    t.data(0xff);
    expect(t.drain()).toEqual([0xfa, 0xaa, 0x00]);
    t.cmd(0xd4);
    t.data(0xf2);
    expect(t.drain()).toEqual([0xfa, 0x00]);
  });

  it("streams 3-byte movement packets once reporting is enabled", () => {
    const t = setup();
    t.cmd(0xa8);
    t.cmd(0xd4);
    t.data(0xf4);
    expect(t.drain()).toEqual([0xfa]);
    t.kbc.mouse!.move(5, -3, 1);
    // byte 0: Y sign (bit 5), always-1 (bit 3), left button (bit 0)
    expect(t.drain()).toEqual([0x29, 0x05, 0xfd]);
  });
});
