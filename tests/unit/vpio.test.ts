/**
 * VPIO's NE2000 model (seed 004) on both engines: a guest (tests/vpio/
 * portscript.asm, a port-script interpreter) drives the card through the
 * core, so hooked accesses exit and direct ones are served inside the
 * instruction, exactly as under Linux. Checked here:
 *
 * - every transition of the model's diagram is taken by a real sequence of
 *   commands and interrupts, in the order the DP8390 datasheet implies;
 * - a remote DMA or a transmit outside card memory or into the receive ring
 *   is denied before the card performs it, and the card's memory is
 *   untouched (compared byte for byte with a copy taken before);
 * - a context switch is refused while the model says the card is busy and
 *   done as soon as it is reusable; a VM that touches a card it does not own
 *   waits, and frames for it are queued and delivered when it gets the card.
 *
 * Both engines must produce the same traces, results and card memory.
 */
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { Ne2kVpio } from "../../src/vpio/ne2k-vpio.js";
import { TRANSITIONS, HOOKED_PORTS, type Ne2kState } from "../../src/vpio/ne2k-model.js";
import { NicLink } from "../../src/net/link.js";
import { defaultMac, macBytes } from "../../src/net/ethernet.js";
import { ENGINES } from "../helpers.js";

const GUEST = new Uint8Array(readFileSync(new URL("../vpio/portscript.bin", import.meta.url)));
const BASE = 0xc000;
// DP8390 registers (page 0) and commands, from the datasheet.
const CR = 0x00, PSTART = 0x01, PSTOP = 0x02, BNRY = 0x03, TPSR = 0x04, TBCR0 = 0x05, TBCR1 = 0x06, ISR = 0x07;
const RSAR0 = 0x08, RSAR1 = 0x09, RBCR0 = 0x0a, RBCR1 = 0x0b, RCR = 0x0c, DCR = 0x0e, IMR = 0x0f, DATA = 0x10, RESET = 0x1f;
const STOP = 0x21, START = 0x22, RREAD = 0x0a, RWRITE = 0x12, TRANSMIT = 0x26, PAGE1 = 0x62;

/** A port script (see portscript.asm). */
class Script {
  readonly words: number[] = [];
  private op(op: number, port: number, value: number) { this.words.push(op, port, value >>> 0); return this; }
  out(reg: number, v: number) { return this.op(1, BASE + reg, v); }
  outl(reg: number, v: number) { return this.op(3, BASE + reg, v); }
  in(reg: number) { return this.op(4, BASE + reg, 0); }
  insd(n: number) { return this.op(7, BASE + DATA, n); }
  outsd(n: number) { return this.op(8, BASE + DATA, n); }
  waitIsr(mask: number) { return this.op(9, BASE + ISR, mask); }
  /** Wait for the transmission to end (PTX) and acknowledge it. */
  waitTx() { return this.waitIsr(0x02).out(ISR, 0x02); }
  checkpoint(n: number) { return this.op(10, 0, n); }
  dma(addr: number, count: number) { return this.out(RBCR0, count & 0xff).out(RBCR1, count >> 8).out(RSAR0, addr & 0xff).out(RSAR1, addr >> 8); }
  tx(page: number, count: number) { return this.out(TPSR, page).out(TBCR0, count & 0xff).out(TBCR1, count >> 8); }
  /** What Linux's NS8390_init does (ring 0x4C-0x80, transmit buffer at 0x40, word mode) and start. */
  init(mac: number) {
    this.out(CR, STOP).out(DCR, 0x49).out(RBCR0, 0).out(RBCR1, 0).out(RCR, 0x20).out(0x0d, 0x02).out(TPSR, 0x40)
      .out(PSTART, 0x4c).out(BNRY, 0x7f).out(PSTOP, 0x80).out(ISR, 0xff).out(IMR, 0).out(CR, 0x61);
    macBytes(mac).forEach((b, i) => this.out(1 + i, b));
    return this.out(0x07, 0x4c).out(CR, STOP).out(ISR, 0xff).out(IMR, 0x3f).out(CR, START).out(0x0d, 0).out(RCR, 0x04);
  }
  end() { return this.op(0, 0, 0); }
  bytes(): Uint8Array {
    const b = new Uint8Array(this.words.length * 4);
    const dv = new DataView(b.buffer);
    this.words.forEach((w, i) => dv.setUint32(i * 4, w, true));
    return b;
  }
}

interface Rig { pcs: Pc[]; vpio: Ne2kVpio; wire: Uint8Array[]; trace: string[][]; irqs: boolean[] }

async function rig(engine: "wasm" | "js", scripts: Script[], data: Uint8Array = new Uint8Array(0)): Promise<Rig> {
  const pcs: Pc[] = [];
  for (const script of scripts) {
    const ramBytes = 4 << 20;
    const pc = new Pc({ engine: await createEngine(engine, ramBytes), ramBytes, clock: "deterministic", onSerial: () => {} });
    pc.loadKernel(GUEST, { path: "portscript.bin" });
    pc.vm.memory.write(0x10000, script.bytes());
    pc.vm.memory.write(0x30000, data);
    pc.vm.addPortDevice(0x5f0, 1, { name: "checkpoint", read: () => 0, write: (_o, _s, v) => pc.vm.requestStop({ kind: "requested", why: `checkpoint ${v}` }) });
    pcs.push(pc);
  }
  const link = new NicLink("card");
  const wire: Uint8Array[] = [];
  link.attachBackend((f) => wire.push(f));
  const vpio = new Ne2kVpio({ link, members: pcs.map((pc, i) => ({ vm: pc.vm, mac: defaultMac(i) })) });
  const trace: string[][] = pcs.map(() => []);
  const irqs = pcs.map(() => false);
  vpio.members.forEach((m, i) => {
    const vm = pcs[i]!.vm;
    m.attach({ mapPorts: (b, l, d) => vm.addPortDevice(b, l, d), unmapPorts: (d) => vm.ports.unregister(d) });
    m.setIntx = (l) => { irqs[i] = l; };
    m.model.onTransition = (from, to, e) => trace[i]!.push(`${from}→${to} (${e})`);
    m.pci.configWrite(0x10, 4, BASE);
    m.pci.configWrite(0x04, 2, 1); // I/O decoding on
  });
  return { pcs, vpio, wire, trace, irqs };
}

function results(pc: Pc, n: number): number[] {
  const b = pc.vm.memory.read(0x20000, 4 * n);
  const dv = new DataView(b.buffer, b.byteOffset);
  return Array.from({ length: n }, (_, i) => dv.getUint32(4 * i, true));
}

const DEBUG_EXIT_0 = { kind: "debug-exit", status: 1 };

/** A walk over every edge of the diagram (the expected trace is written from the datasheet's semantics). */
function walk(): { script: Script; expected: string[] } {
  const s = new Script();
  const expected: string[] = [];
  const ex = (...t: string[]) => expected.push(...t);
  s.in(RESET); ex("Init→Init (Reset)");
  s.init(defaultMac(0)); ex("Init→Idle (CmdStart)");
  // A remote write, then a remote read, each ending with RDC after the last data-port transfer.
  s.dma(0x4000, 8).out(CR, RWRITE).outsd(2); ex("Idle→DmaWr (CmdDmaWr)", "DmaWr→Idle (IntRdc)");
  s.dma(0x4000, 8).out(CR, RREAD).insd(2); ex("Idle→DmaRd (CmdDmaRd)", "DmaRd→Idle (IntRdc)");
  // Transmit (60 bytes at page 0x40: 84 bytes on the wire = 67.2 µs), a DMA while it is on the wire.
  s.tx(0x40, 60).out(CR, TRANSMIT); ex("Idle→Trans (CmdTransmit)");
  s.dma(0x4000, 8).out(CR, RREAD).insd(2); ex("Trans→TransDmaRd (CmdDmaRd)", "TransDmaRd→Trans (IntRdc)");
  s.dma(0x4008, 8).out(CR, RWRITE).outsd(2); ex("Trans→TransDmaWr (CmdDmaWr)", "TransDmaWr→Trans (IntRdc)");
  s.waitTx(); ex("Trans→Idle (IntPtx)");
  // The transmission ends while a DMA is still going.
  s.out(CR, TRANSMIT).dma(0x4000, 16).out(CR, RREAD).waitTx().insd(4);
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaRd (CmdDmaRd)", "TransDmaRd→DmaRd (IntPtx)", "DmaRd→Idle (IntRdc)");
  s.out(CR, TRANSMIT).dma(0x4010, 16).out(CR, RWRITE).waitTx().outsd(4);
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaWr (CmdDmaWr)", "TransDmaWr→DmaWr (IntPtx)", "DmaWr→Idle (IntRdc)");
  // A transmission started during a DMA (the command keeps RD, adds TXP).
  s.dma(0x4000, 8).out(CR, RREAD).out(CR, RREAD | 0x04).insd(2).waitTx();
  ex("Idle→DmaRd (CmdDmaRd)", "DmaRd→DmaRd (CmdDmaRd)", "DmaRd→TransDmaRd (CmdTransmit)", "TransDmaRd→Trans (IntRdc)", "Trans→Idle (IntPtx)");
  s.dma(0x4000, 8).out(CR, RWRITE).out(CR, RWRITE | 0x04).outsd(2).waitTx();
  ex("Idle→DmaWr (CmdDmaWr)", "DmaWr→DmaWr (CmdDmaWr)", "DmaWr→TransDmaWr (CmdTransmit)", "TransDmaWr→Trans (IntRdc)", "Trans→Idle (IntPtx)");
  // One DMA replaced by another.
  s.dma(0x4000, 8).out(CR, RREAD).dma(0x4000, 8); // (RSAR/RBCR writes during a DMA are denied: 4 denials)
  s.out(CR, RWRITE).out(CR, RREAD).insd(2);
  ex("Idle→DmaRd (CmdDmaRd)", "DmaRd→DmaWr (CmdDmaWr)", "DmaWr→DmaRd (CmdDmaRd)", "DmaRd→Idle (IntRdc)");
  // Aborts: Abort/Complete ends a transfer (RDC), Stop ends it with the chip reset (RST).
  s.dma(0x4000, 8).out(CR, RREAD).out(CR, START); ex("Idle→DmaRd (CmdDmaRd)", "DmaRd→AbortDma (CmdAbortDma)", "AbortDma→Idle (IntRdc)");
  s.dma(0x4000, 8).out(CR, RWRITE).out(CR, STOP); ex("Idle→DmaWr (CmdDmaWr)", "DmaWr→AbortDma (CmdStop)", "AbortDma→Init (IntRst)");
  s.out(CR, START); ex("Init→Idle (CmdStart)");
  s.out(CR, TRANSMIT).dma(0x4000, 8).out(CR, RREAD).out(CR, START).waitTx();
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaRd (CmdDmaRd)", "TransDmaRd→AbortDma (CmdAbortDma)", "AbortDma→Trans (IntRdc)", "Trans→Idle (IntPtx)");
  s.out(CR, TRANSMIT).dma(0x4000, 8).out(CR, RWRITE).out(CR, STOP);
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaWr (CmdDmaWr)", "TransDmaWr→AbortDma (CmdStop)", "AbortDma→Init (IntRst)");
  s.waitTx(); ex(); // the transmission finishes after the Stop (datasheet): no transition, still Init
  s.dma(0x4000, 8).out(CR, 0x09).insd(2); ex("Init→DmaRd (CmdDmaRd)", "DmaRd→Init (IntRdc)"); // a DMA on the stopped chip
  s.dma(0x4000, 8).out(CR, 0x11).outsd(2); ex("Init→DmaWr (CmdDmaWr)", "DmaWr→Init (IntRdc)");
  s.out(CR, START).dma(0x4000, 8).out(CR, RREAD).out(CR, STOP).out(CR, START).out(CR, STOP);
  ex("Init→Idle (CmdStart)", "Idle→DmaRd (CmdDmaRd)", "DmaRd→AbortDma (CmdStop)", "AbortDma→Init (IntRst)", "Init→Idle (CmdStart)", "Idle→Init (CmdStop)");
  s.out(CR, START).dma(0x4000, 8).out(CR, RWRITE).out(CR, START).outsd(2);
  ex("Init→Idle (CmdStart)", "Idle→DmaWr (CmdDmaWr)", "DmaWr→AbortDma (CmdAbortDma)", "AbortDma→Idle (IntRdc)");
  s.out(CR, TRANSMIT).dma(0x4000, 8).out(CR, RWRITE).out(CR, START).waitTx();
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaWr (CmdDmaWr)", "TransDmaWr→AbortDma (CmdAbortDma)", "AbortDma→Trans (IntRdc)", "Trans→Idle (IntPtx)");
  s.out(CR, TRANSMIT).dma(0x4000, 8).out(CR, RREAD).out(CR, STOP).waitTx();
  ex("Idle→Trans (CmdTransmit)", "Trans→TransDmaRd (CmdDmaRd)", "TransDmaRd→AbortDma (CmdStop)", "AbortDma→Init (IntRst)");
  s.end();
  return { script: s, expected };
}

describe("VPIO NE2000 model (both engines)", () => {
  const runs: Record<string, { trace: string[]; memory: Uint8Array; counts: { exits: number; direct: number } }> = {};

  for (const engine of ENGINES) {
    it(`${engine}: takes every transition of the diagram, in the datasheet's order`, async () => {
      const { script, expected } = walk();
      const data = Uint8Array.from({ length: 64 }, (_, i) => i * 3 + 1);
      const r = await rig(engine, [script], data);
      expect(r.pcs[0]!.vm.run(50_000_000)).toEqual(DEBUG_EXIT_0);
      expect(r.trace[0]).toEqual(expected);
      const taken = new Set(r.trace[0]!.map((t) => t.replace(/ \(.*/, "") + "|" + /\((.*)\)/.exec(t)![1]));
      for (const [from, edges] of Object.entries(TRANSITIONS) as [Ne2kState, Record<string, Ne2kState>][]) {
        for (const [event, to] of Object.entries(edges)) expect(taken, `${from} --${event}--> ${to}`).toContain(`${from}→${to}|${event}`);
      }
      const m = r.vpio.members[0]!.model;
      expect(m.stats.denied).toBe(4);
      expect(m.stats.lastDenial).toBe("RSAR1 written while a transfer is in flight (DmaRd)");
      // Every access to a hooked port exited, every other one was direct.
      const vm = r.pcs[0]!.vm;
      for (let o = 0; o < 32; o++) {
        const h = HOOKED_PORTS.find((p) => p.offset === o);
        const c = vm.direct.counts(BASE + o);
        if (!h) expect(c.exits, `port +${o.toString(16)}`).toBe(0);
        if (h && h.read && h.write) expect(c.direct).toBe(0);
      }
      runs[engine] = { trace: r.trace[0]!, memory: r.vpio.chip.state.memory.slice(), counts: vm.direct.countsIn(BASE, 32) };
    });
  }

  it("agrees between the engines", () => {
    expect(runs.js?.trace).toEqual(runs.wasm?.trace);
    expect(runs.js?.memory).toEqual(runs.wasm?.memory);
    expect(runs.js?.counts).toEqual(runs.wasm?.counts);
  });

  for (const engine of ENGINES) {
    it(`${engine}: denies transfers outside card memory or into the ring, leaving card memory untouched`, async () => {
      const s = new Script().init(defaultMac(0));
      s.dma(0x4000, 64).out(CR, RWRITE).outsd(16).out(ISR, 0x40).checkpoint(1); // a legal write: the pattern
      s.dma(0x7f00, 0x200).out(CR, RWRITE).outsd(0x80);                  // runs past the end of RAM: denied
      s.dma(0x4c00, 16).out(CR, RWRITE).outsd(4);                        // into the receive ring: denied
      s.dma(0x0000, 64).out(CR, RWRITE).outsd(16);                       // onto the PROM: denied
      s.dma(0x3ff0, 0x20).out(CR, RREAD).insd(4).in(ISR);                // reads below RAM (not the PROM): denied, all ones, no RDC
      s.dma(0x4000, 64).out(CR, RREAD).insd(16);                         // a legal read of the pattern
      s.tx(0x7f, 0x200).out(CR, TRANSMIT).in(ISR).in(0x04);              // a transmit past RAM: aborted (TXE, TSR.ABT)
      s.tx(0x40, 2000).out(CR, TRANSMIT);                                // longer than a frame: aborted
      s.checkpoint(2).end();
      const data = Uint8Array.from({ length: 0x400 }, (_, i) => (i * 7 + 3) & 0xff);
      const r = await rig(engine, [s], data);
      const vm = r.pcs[0]!.vm;
      expect(vm.run(50_000_000)).toEqual({ kind: "requested", why: "checkpoint 1" });
      const before = r.vpio.chip.state.memory.slice();
      expect([...before.subarray(0x4000, 0x4040)]).toEqual([...data.subarray(0, 64)]);
      expect(vm.run(50_000_000)).toEqual({ kind: "requested", why: "checkpoint 2" });
      expect(r.vpio.chip.state.memory).toEqual(before);
      const got = results(r.pcs[0]!, 4 + 1 + 16 + 2);
      expect(got.slice(0, 4)).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
      expect(got[4]! & 0x40).toBe(0); // no RDC for the denied read
      const pattern = new DataView(data.buffer);
      expect(got.slice(5, 21)).toEqual(Array.from({ length: 16 }, (_, i) => pattern.getUint32(4 * i, true)));
      expect(got[21]! & 0x08).toBe(0x08); // ISR.TXE
      expect(got[22]! & 0x08).toBe(0x08); // TSR.ABT
      expect(r.wire.length).toBe(0);
      const m = r.vpio.members[0]!.model;
      expect(m.stats.denied).toBe(6);
      expect(m.state).toBe("Idle");
      expect(vm.run(50_000_000)).toEqual(DEBUG_EXIT_0);
    });
  }

  for (const engine of ENGINES) {
    it(`${engine}: lets Linux's probe start the chip before the ring is set, and checks the ring of a running chip`, async () => {
      const s = new Script().in(RESET).out(CR, STOP).out(DCR, 0x49).dma(0, 32).out(CR, RREAD | 0x02).insd(8); // ne2k_pci_init_one
      s.out(CR, STOP).out(PSTART, 0x20).out(PSTOP, 0x50).out(CR, START);   // a ring outside buffer RAM: start denied
      s.out(PSTART, 0x4c).out(PSTOP, 0x80).out(CR, START);                 // fixed: started
      s.out(PSTOP, 0x90).out(PSTART, 0x30).in(CR).end();                   // running: both denied, the ring stays
      const r = await rig(engine, [s]);
      expect(r.pcs[0]!.vm.run(50_000_000)).toEqual(DEBUG_EXIT_0);
      const got = results(r.pcs[0]!, 10).slice(1); // (the first is the reset port's read)
      const prom = new Uint8Array(new Uint32Array(got.slice(0, 8)).buffer);
      expect([...prom.subarray(0, 12)]).toEqual([...macBytes(defaultMac(0))].flatMap((b) => [b, b]));
      expect([...prom.subarray(28, 32)]).toEqual([0x57, 0x57, 0x57, 0x57]);
      expect(got[8]! & 0x03).toBe(0x02); // CR: running
      const m = r.vpio.members[0]!.model;
      expect(m.stats.denied).toBe(3);
      expect([m.pstart, m.pstop]).toEqual([0x4c, 0x80]);
      expect([r.vpio.chip.state.pstart, r.vpio.chip.state.pstop]).toEqual([0x4c, 0x80]);
    });
  }

  for (const engine of ENGINES) {
    it(`${engine}: switches the shared card only when it is reusable; the other VM waits and its frames are queued`, async () => {
      const a = new Script().init(defaultMac(0));
      a.dma(0x4000, 16).out(CR, RWRITE).outsd(2).checkpoint(1);          // mid-DMA: not reusable
      a.outsd(2).out(ISR, 0x40).checkpoint(2);                            // DMA done: reusable
      a.in(ISR).dma(0x4000, 16).out(CR, RREAD).insd(4).end();             // back on the card: its own data, a frame waiting
      const b = new Script().init(defaultMac(1));
      b.out(CR, PAGE1).in(0x01).in(0x06).out(CR, START);                 // its own station address
      b.dma(0x4000, 16).out(CR, RWRITE).outsd(4).out(ISR, 0x40).checkpoint(3); // its own data at the same card address
      b.in(ISR).end();
      const data = Uint8Array.from({ length: 64 }, (_, i) => 0xa0 + i);
      const r = await rig(engine, [a, b], data);
      const [vmA, vmB] = [r.pcs[0]!.vm, r.pcs[1]!.vm];
      const [ma, mb] = [r.vpio.members[0]!, r.vpio.members[1]!];
      const link = (r.vpio as unknown as { link: NicLink }).link;
      const frameFor = (mac: number, n: number) => { const f = new Uint8Array(60); f.set(macBytes(mac)); f[14] = n; return f; };

      expect(vmA.run(50_000_000)).toEqual({ kind: "requested", why: "checkpoint 1" });
      expect(ma.model.state).toBe("DmaWr");
      expect(r.vpio.switchTo(1)).toBe(false);                             // refused: a DMA is in flight
      expect(r.vpio.stats.refused).toBe(1);
      expect(vmB.run(50_000_000)).toEqual({ kind: "suspended", why: "the shared NE2000 belongs to vm0" });
      expect(mb.waiting).toBe(true);
      r.vpio.poll();
      expect(r.vpio.owner).toBe(ma);                                      // still busy: nothing happens
      expect(vmA.run(50_000_000)).toEqual({ kind: "requested", why: "checkpoint 2" });
      expect(ma.model.reusable).toBe(true);
      r.vpio.poll();                                                      // B waits and A can let go: switched
      expect(r.vpio.owner).toBe(mb);
      expect(vmB.suspendedBy).toBeNull();
      expect(vmB.run(50_000_000)).toEqual({ kind: "requested", why: "checkpoint 3" });
      expect(results(r.pcs[1]!, 2).map((v) => v & 0xff)).toEqual([macBytes(defaultMac(1))[0], macBytes(defaultMac(1))[5]]);
      // Frames while B owns the card: B's goes in at once, A's is queued.
      link.deliver(frameFor(defaultMac(1), 0xbb));
      link.deliver(frameFor(defaultMac(0), 0xaa));
      expect(ma.queue.length).toBe(1);
      expect(mb.queue.length).toBe(0);
      // A touches the card while B owns it but B can let go: A takes it at once, without waiting.
      expect(vmA.run(50_000_000)).toEqual(DEBUG_EXIT_0);
      expect(r.vpio.owner).toBe(ma);
      expect(ma.queue.length).toBe(0);                                    // fed into A's card on the switch
      expect(ma.stats.suspensions).toBe(0);
      const got = results(r.pcs[0]!, 1 + 4);
      expect(got[0]! & 0x01).toBe(0x01);                                  // PRX: the frame queued for A arrived
      const dv = new DataView(data.buffer);
      expect(got.slice(1)).toEqual([0, 1, 2, 3].map((i) => dv.getUint32(4 * i, true))); // A's card memory came back
      expect(vmB.run(50_000_000)).toEqual(DEBUG_EXIT_0);
      expect(results(r.pcs[1]!, 3)[2]! & 0x01).toBe(0x01);               // B's frame is in B's ring
      expect(mb.stats.suspensions).toBe(1);
      expect(r.vpio.stats.switches).toBe(3);
      expect(ma.stats.framesDropped + mb.stats.framesDropped).toBe(0);
    });
  }
});
