/**
 * Expected values come from the PC16550D datasheet (National/TI, SNLS378):
 * register reset values (Table III), IIR encodings and priorities (Table IV),
 * loopback wiring of the modem-control outputs to the modem-status inputs
 * (MCR bit 4 description), FIFO trigger levels (FCR bits 6-7).
 */
import { describe, expect, it } from "vitest";
import { Uart16550 } from "../../src/devices/uart16550.js";

const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function make() {
  const tx: number[] = [];
  const irq: boolean[] = [];
  const u = new Uart16550({ onTransmit: (b) => tx.push(b), raiseIrq: (l) => irq.push(l) });
  const r = (o: number) => u.read(o, 1);
  const w = (o: number, v: number) => u.write(o, 1, v);
  return { u, tx, irq, r, w };
}

describe("16550 reset state", () => {
  it("matches the datasheet reset values", () => {
    const { r } = make();
    expect(r(IER)).toBe(0x00);
    expect(r(IIR)).toBe(0x01); // no interrupt pending
    expect(r(LCR)).toBe(0x00);
    expect(r(MCR)).toBe(0x00);
    expect(r(LSR)).toBe(0x60); // THRE | TEMT
    expect(r(MSR) & 0x0f).toBe(0x00); // no deltas
  });
});

describe("16550 divisor latch and line control", () => {
  it("DLAB=1 maps offsets 0/1 to DLL/DLM without transmitting", () => {
    const { u, r, w, tx } = make();
    w(LCR, 0x80);
    w(DLL, 0x01); // 115200 baud
    w(DLM, 0x00);
    expect(r(DLL)).toBe(0x01);
    expect(r(DLM)).toBe(0x00);
    expect(u.divisorLatch).toBe(1);
    expect(tx).toEqual([]);
    w(LCR, 0x03); // 8N1, DLAB off
    expect(r(LCR)).toBe(0x03);
    expect(r(IER)).toBe(0x00); // IER was not touched by the DLM write
    w(THR, 0x41);
    expect(tx).toEqual([0x41]);
    expect(u.divisorLatch).toBe(1);
  });

  it("keeps the scratch register", () => {
    const { r, w } = make();
    w(SCR, 0x5a);
    expect(r(SCR)).toBe(0x5a);
  });

  it("accepts a 16-bit write as two byte writes (LCR then MCR)", () => {
    const { u, r } = make();
    u.write(LCR, 2, 0x0b03);
    expect(r(LCR)).toBe(0x03);
    expect(r(MCR)).toBe(0x0b);
  });
});

describe("16550 THR empty interrupt", () => {
  it("is raised by enabling ETBEI, cleared by reading IIR, re-raised by writing THR", () => {
    const { r, w, irq, tx } = make();
    w(IER, 0x02);
    expect(irq).toEqual([true]);
    expect(r(IIR)).toBe(0x02); // THRE is the source; this read clears it
    expect(irq).toEqual([true, false]);
    expect(r(IIR)).toBe(0x01);
    w(THR, 0x42); // THR written, transmitted at once, empty again
    expect(tx).toEqual([0x42]);
    expect(r(IIR)).toBe(0x02);
    expect(r(LSR) & 0x60).toBe(0x60);
  });

  it("is re-raised when ETBEI is toggled off and on", () => {
    const { r, w } = make();
    w(IER, 0x02);
    r(IIR);
    w(IER, 0x00);
    w(IER, 0x02);
    expect(r(IIR)).toBe(0x02);
  });
});

describe("16550 receiver (16450 mode)", () => {
  it("sets DR and interrupts with IIR 0x04 until RBR is read", () => {
    const { u, r, w, irq } = make();
    w(IER, 0x01);
    u.receive([0x61]);
    expect(r(LSR)).toBe(0x61);
    expect(irq).toEqual([true]);
    expect(r(IIR)).toBe(0x04);
    expect(r(RBR)).toBe(0x61);
    expect(r(LSR)).toBe(0x60);
    expect(r(IIR)).toBe(0x01);
    expect(irq).toEqual([true, false]);
  });

  it("overrun sets OE (line status interrupt 0x06), cleared by reading LSR", () => {
    const { u, r, w } = make();
    w(IER, 0x05); // ERBFI | ELSI
    u.receive([0x31, 0x32]);
    expect(r(IIR)).toBe(0x06);
    expect(r(LSR)).toBe(0x63); // DR | OE | THRE | TEMT
    expect(r(LSR)).toBe(0x61); // OE cleared by the read
    expect(r(IIR)).toBe(0x04);
    expect(r(RBR)).toBe(0x32); // 16450: the new character overwrote the old one
  });
});

describe("16550 FIFO mode", () => {
  it("shows FIFOs enabled in IIR bits 6-7", () => {
    const { r, w } = make();
    w(FCR, 0x01);
    expect(r(IIR)).toBe(0xc1);
    w(FCR, 0x00);
    expect(r(IIR)).toBe(0x01);
  });

  it("signals received data at the trigger level, character timeout below it", () => {
    const { u, r, w } = make();
    w(FCR, 0x41); // enable, trigger level 4
    w(IER, 0x01);
    u.receive([1, 2, 3]);
    expect(r(IIR)).toBe(0xcc); // timeout indication: data below trigger
    u.receive([4]);
    expect(r(IIR)).toBe(0xc4); // trigger level reached
    expect(r(RBR)).toBe(1);
    expect(r(IIR)).toBe(0xcc); // dropped below trigger level
    r(RBR);
    r(RBR);
    expect(r(RBR)).toBe(4);
    expect(r(IIR)).toBe(0xc1);
    expect(r(LSR) & 0x01).toBe(0);
  });

  it("holds 16 bytes; the 17th is lost and sets OE", () => {
    const { u, r, w } = make();
    w(FCR, 0xc1);
    expect(u.receiveSpace).toBe(16);
    const data = Array.from({ length: 17 }, (_, i) => 0x40 + i);
    u.receive(data);
    expect(u.receiveSpace).toBe(0);
    expect(r(LSR) & 0x03).toBe(0x03);
    const got: number[] = [];
    while (r(LSR) & 0x01) got.push(r(RBR));
    expect(got).toEqual(data.slice(0, 16));
  });

  it("FCR bit 1 clears the receive FIFO", () => {
    const { u, r, w } = make();
    w(FCR, 0x01);
    u.receive([1, 2, 3]);
    w(FCR, 0x03);
    expect(r(LSR) & 0x01).toBe(0);
    expect(r(IIR)).toBe(0xc1);
  });
});

describe("16550 interrupt priorities", () => {
  it("orders line status > RX data > THR empty > modem status", () => {
    const { u, r, w } = make();
    w(IER, 0x0f);
    w(MCR, 0x10); // loopback: CTS/DSR/DCD inputs change → deltas
    w(MCR, 0x11); // DTR → DSR changes again
    u.receive([0xaa, 0xbb]); // overrun
    expect(r(IIR)).toBe(0x06);
    r(LSR);
    expect(r(IIR)).toBe(0x04);
    r(RBR);
    expect(r(IIR)).toBe(0x02); // THRE (reading IIR clears it)
    expect(r(IIR)).toBe(0x00); // modem status
    expect(r(MSR) & 0x0f).not.toBe(0);
    expect(r(IIR)).toBe(0x01);
  });
});

describe("16550 loopback", () => {
  it("wires RTS→CTS, DTR→DSR, OUT1→RI, OUT2→DCD", () => {
    const { r, w } = make();
    w(MCR, 0x10);
    expect(r(MSR) & 0xf0).toBe(0x00);
    w(MCR, 0x1a); // LOOP | OUT2 | RTS (the Linux 8250 probe)
    expect(r(MSR) & 0xf0).toBe(0x90); // DCD | CTS
    w(MCR, 0x15); // LOOP | OUT1 | DTR
    expect(r(MSR) & 0xf0).toBe(0x60); // RI | DSR
    w(MCR, 0x1f);
    expect(r(MSR) & 0xf0).toBe(0xf0);
  });

  it("sets TERI only on RI's trailing edge", () => {
    const { r, w } = make();
    w(MCR, 0x10);
    r(MSR);
    w(MCR, 0x14); // RI on
    expect(r(MSR) & 0x04).toBe(0);
    w(MCR, 0x10); // RI off
    expect(r(MSR) & 0x0f).toBe(0x04);
  });

  it("receives its own transmissions instead of sending them", () => {
    const { u, r, w, tx } = make();
    w(MCR, 0x10);
    w(THR, 0x5a);
    expect(tx).toEqual([]);
    expect(r(LSR) & 0x01).toBe(1);
    expect(r(RBR)).toBe(0x5a);
    w(MCR, 0x00);
    w(THR, 0x5b);
    expect(tx).toEqual([0x5b]);
    expect(u.receiveSpace).toBe(1);
  });

  it("reports DCD, DSR and CTS asserted outside loopback", () => {
    const { r } = make();
    expect(r(MSR)).toBe(0xb0);
  });
});
