// The local APIC and the I/O APIC against the register semantics of the Intel SDM
// vol. 3, chapter 10 (local APIC: 10.4-10.9, 10.5.4 timer, 10.6 ICR and destinations,
// 10.8 priorities, EOI and ISR/IRR/TMR, 10.5.3 ESR) and the 82093AA I/O APIC datasheet
// (IOREGSEL/IOWIN, version register, redirection entries, remote IRR). Where the
// model follows QEMU instead of the SDM's reset state it is said (BSP LINT0 in ExtINT).
// x2APIC mode against SDM 10.12 (its register table 10-6, the IA32_APIC_BASE state
// transitions of 10.12.5, the logical ID of 10.12.10.2, reserved bits 10.12.1.3).
import { describe, it, expect } from "vitest";
import { LocalApic, Reg, type ApicCpu } from "../../src/devices/lapic.js";
import { IoApic } from "../../src/devices/ioapic.js";
import { ApicBus } from "../../src/devices/apic-bus.js";
import { VirtualClock } from "../../src/vmm/clock.js";

interface Rig { bus: ApicBus; clock: VirtualClock; apics: LocalApic[]; events: string[]; tsc: { value: number } }

/** Two APICs on one bus with a deterministic clock (10 ns per instruction; TSC 100 MHz); x2APIC mode offered if asked. */
function rig(n = 2, x2apic = false): Rig {
  const bus = new ApicBus();
  const clock = new VirtualClock({ mode: "deterministic" });
  const events: string[] = [];
  const tsc = { value: 0 };
  const apics: LocalApic[] = [];
  for (let i = 0; i < n; i++) {
    const cpu: ApicCpu = {
      nmi: () => events.push(`nmi ${i}`),
      init: () => events.push(`init ${i}`),
      startup: (v) => events.push(`sipi ${i} ${v.toString(16)}`),
      kick: () => {},
      tsc: () => tsc.value,
      tscHz: clock.tscFrequencyHz,
      unimplemented: (w) => events.push(`unimplemented ${w}`),
    };
    apics.push(new LocalApic({ id: i, bsp: i === 0, bus, clock, cpu, x2apic }));
  }
  return { bus, clock, apics, events, tsc };
}
const rd = (a: LocalApic, r: number) => a.read(r, 4);
const wr = (a: LocalApic, r: number, v: number) => a.write(r, 4, v);
/** Software-enable with spurious vector 0xFF (SVR bit 8). */
const enable = (a: LocalApic) => wr(a, Reg.Svr, 0x1ff);
const bit = (a: LocalApic, base: number, v: number) => (rd(a, base + ((v >> 5) << 4)) >>> (v & 31)) & 1;
/** Advance virtual time to `ns` and fire due timers. */
function timeTo(clock: VirtualClock, ns: number) { clock.advanceTo(ns / clock.nsPerInstruction); clock.runDue(); }

describe("local APIC registers (SDM 10.4, 10.12 reset state)", () => {
  it("reads ID, version, DFR, SVR and masked LVTs after reset", () => {
    const { apics: [bsp, ap] } = rig();
    expect(rd(ap!, Reg.Id)).toBe(0x01000000);
    expect(rd(bsp!, Reg.Version) & 0xff).toBe(0x14);          // integrated APIC
    expect((rd(bsp!, Reg.Version) >>> 16) & 0xff).toBe(6);    // max LVT entry: 7 LVTs
    expect(rd(bsp!, Reg.Dfr)).toBe(0xffffffff);
    expect(rd(bsp!, Reg.Svr)).toBe(0xff);
    expect(rd(bsp!, Reg.Tpr)).toBe(0);
    for (const r of [Reg.LvtTimer, Reg.LvtThermal, Reg.LvtPerf, Reg.LvtLint1, Reg.LvtError]) expect(rd(bsp!, r)).toBe(0x10000);
    expect(rd(ap!, Reg.LvtLint0)).toBe(0x10000);
    expect(rd(bsp!, Reg.LvtLint0)).toBe(0x700); // QEMU's BSP: ExtINT, unmasked (virtual wire)
  });

  it("keeps only the defined bits of LDR, DFR, TPR, LVTs and the divide register", () => {
    const { apics: [a] } = rig(1);
    enable(a!);
    wr(a!, Reg.Ldr, 0xffffffff); expect(rd(a!, Reg.Ldr)).toBe(0xff000000);
    wr(a!, Reg.Dfr, 0); expect(rd(a!, Reg.Dfr)).toBe(0x0fffffff);
    wr(a!, Reg.Tpr, 0xffffffff); expect(rd(a!, Reg.Tpr)).toBe(0xff);
    wr(a!, Reg.LvtTimer, 0xfffdffff); expect(rd(a!, Reg.LvtTimer)).toBe(0x500ff); // vector, mask, mode (bit 17 written 0)
    wr(a!, Reg.LvtLint1, 0xffffffff); expect(rd(a!, Reg.LvtLint1)).toBe(0x1a7ff);
    wr(a!, Reg.LvtError, 0xffffffff); expect(rd(a!, Reg.LvtError)).toBe(0x100ff);
    wr(a!, Reg.TimerDivide, 0xffffffff); expect(rd(a!, Reg.TimerDivide)).toBe(0xb);
  });

  it("a software-disabled APIC masks every LVT and they stay masked (10.4.7.2)", () => {
    const { apics: [a] } = rig(1);
    enable(a!);
    wr(a!, Reg.LvtError, 0x33); expect(rd(a!, Reg.LvtError)).toBe(0x33);
    wr(a!, Reg.Svr, 0xff);
    expect(rd(a!, Reg.LvtError)).toBe(0x10033);
    wr(a!, Reg.LvtError, 0x34);
    expect(rd(a!, Reg.LvtError)).toBe(0x10034);
    a!.accept(0x40, false);
    expect(bit(a!, Reg.Irr, 0x40)).toBe(0); // fixed interrupts are not accepted
  });
});

describe("priorities, IRR/ISR/TMR and EOI (SDM 10.8)", () => {
  it("delivers the highest vector above the PPR, moves it IRR → ISR, and EOI clears it", () => {
    const { apics: [a] } = rig(1);
    enable(a!);
    wr(a!, Reg.Tpr, 0x50);
    a!.accept(0x51, false);
    expect(a!.hasInterrupt()).toBe(false);        // class 5 is not above TPR class 5
    a!.accept(0x61, true);
    expect(bit(a!, Reg.Tmr, 0x61)).toBe(1);       // level-triggered: TMR set
    expect(a!.hasInterrupt()).toBe(true);
    expect(a!.acknowledge()).toBe(0x61);
    expect(bit(a!, Reg.Irr, 0x61)).toBe(0);
    expect(bit(a!, Reg.Isr, 0x61)).toBe(1);
    expect(rd(a!, Reg.Ppr)).toBe(0x60);           // the in-service class is above the TPR
    wr(a!, Reg.Eoi, 0);
    expect(bit(a!, Reg.Isr, 0x61)).toBe(0);
    expect(rd(a!, Reg.Ppr)).toBe(0x50);
    expect(a!.hasInterrupt()).toBe(false);
    wr(a!, Reg.Tpr, 0x4f);
    expect(a!.acknowledge()).toBe(0x51);
  });

  it("acknowledges the spurious vector when nothing is deliverable (10.9)", () => {
    const { apics: [a] } = rig(1);
    wr(a!, Reg.Svr, 0x1e7);
    expect(a!.acknowledge()).toBe(0xe7);
  });

  it("a nested interrupt of a higher class is taken; EOI retires the highest in-service vector", () => {
    const { apics: [a] } = rig(1);
    enable(a!);
    a!.accept(0x30, false);
    expect(a!.acknowledge()).toBe(0x30);
    a!.accept(0x35, false);
    expect(a!.hasInterrupt()).toBe(false);        // same class as the one in service
    a!.accept(0x90, false);
    expect(a!.acknowledge()).toBe(0x90);
    wr(a!, Reg.Eoi, 0);
    expect(bit(a!, Reg.Isr, 0x90)).toBe(0);
    expect(bit(a!, Reg.Isr, 0x30)).toBe(1);
  });
});

describe("ICR, destinations and the ESR (SDM 10.6, 10.5.3)", () => {
  it("self-IPI and shorthands", () => {
    const { apics: [a, b] } = rig();
    enable(a!); enable(b!);
    wr(a!, Reg.IcrLo, (1 << 18) | 0x44);                 // self
    expect(bit(a!, Reg.Irr, 0x44)).toBe(1);
    wr(a!, Reg.IcrLo, (3 << 18) | 0x45);                 // all excluding self
    expect(bit(a!, Reg.Irr, 0x45)).toBe(0);
    expect(bit(b!, Reg.Irr, 0x45)).toBe(1);
    wr(a!, Reg.IcrLo, (2 << 18) | 0x46);                 // all including self
    expect(bit(a!, Reg.Irr, 0x46) + bit(b!, Reg.Irr, 0x46)).toBe(2);
    expect(rd(a!, Reg.IcrLo) & (1 << 12)).toBe(0);       // delivery status: idle
  });

  it("physical and logical (flat and cluster) destinations", () => {
    const { apics: [a, b] } = rig();
    enable(a!); enable(b!);
    wr(b!, Reg.IcrHi, 0x00000000); wr(b!, Reg.IcrLo, 0x50); // physical, APIC ID 0
    expect(bit(a!, Reg.Irr, 0x50)).toBe(1);
    wr(a!, Reg.Ldr, 0x01000000); wr(b!, Reg.Ldr, 0x02000000);
    wr(a!, Reg.IcrHi, 0x02000000); wr(a!, Reg.IcrLo, (1 << 11) | 0x51); // logical flat, mask 2
    expect(bit(b!, Reg.Irr, 0x51)).toBe(1);
    expect(bit(a!, Reg.Irr, 0x51)).toBe(0);
    for (const x of [a!, b!]) wr(x, Reg.Dfr, 0x0fffffff); // cluster model
    wr(a!, Reg.Ldr, 0x12000000); wr(b!, Reg.Ldr, 0x21000000);
    wr(b!, Reg.IcrHi, 0x16000000); wr(b!, Reg.IcrLo, (1 << 11) | 0x52); // cluster 1, members 1 and 2
    expect(bit(a!, Reg.Irr, 0x52)).toBe(1);
    wr(a!, Reg.IcrHi, 0x12000000); wr(a!, Reg.IcrLo, (1 << 11) | 0x53); // cluster 1 only: not b (cluster 2)
    expect(bit(b!, Reg.Irr, 0x53)).toBe(0);
  });

  it("NMI, INIT and start-up IPIs reach the target vCPU; INIT level de-assert does nothing", () => {
    const { apics: [a], events } = rig();
    enable(a!);
    wr(a!, Reg.IcrHi, 0x01000000);
    wr(a!, Reg.IcrLo, 0x400);                          // NMI
    wr(a!, Reg.IcrLo, 0x4500);                         // INIT, level assert
    wr(a!, Reg.IcrLo, 0x8500);                         // INIT level de-assert (trigger level, level 0)
    wr(a!, Reg.IcrLo, 0x4612);                         // start-up, vector 0x12
    expect(events).toEqual(["nmi 1", "init 1", "sipi 1 12"]);
  });

  it("an illegal vector sets ESR bits, visible after the next ESR write", () => {
    const { apics: [a] } = rig(1);
    enable(a!);
    wr(a!, Reg.IcrLo, (1 << 18) | 0x05);              // fixed IPI with vector 5: send illegal vector
    expect(rd(a!, Reg.Esr)).toBe(0);
    wr(a!, Reg.Esr, 0);
    expect(rd(a!, Reg.Esr)).toBe(0x20);               // send illegal vector (bit 5): the message is not sent
  });
});

describe("the APIC timer (SDM 10.5.4)", () => {
  it("one-shot: counts down at the bus clock / divisor and fires once", () => {
    const { apics: [a], clock } = rig(1);
    enable(a!);
    wr(a!, Reg.TimerDivide, 0xb);                      // divide by 1: 1 ns per tick (1 GHz bus)
    wr(a!, Reg.LvtTimer, 0x40);
    wr(a!, Reg.TimerInitial, 1000);
    timeTo(clock, 400);
    expect(rd(a!, Reg.TimerCurrent)).toBe(600);
    timeTo(clock, 1000);
    expect(rd(a!, Reg.TimerCurrent)).toBe(0);
    expect(bit(a!, Reg.Irr, 0x40)).toBe(1);
    expect(a!.acknowledge()).toBe(0x40); wr(a!, Reg.Eoi, 0);
    timeTo(clock, 5000);
    expect(bit(a!, Reg.Irr, 0x40)).toBe(0);
  });

  it("periodic: reloads from the initial count; divide by 16 slows it down", () => {
    const { apics: [a], clock } = rig(1);
    enable(a!);
    wr(a!, Reg.TimerDivide, 0x3);                      // divide by 16
    wr(a!, Reg.LvtTimer, (1 << 17) | 0x41);
    wr(a!, Reg.TimerInitial, 100);                     // 1600 ns period
    timeTo(clock, 1590);
    expect(bit(a!, Reg.Irr, 0x41)).toBe(0);
    timeTo(clock, 1600);
    expect(a!.acknowledge()).toBe(0x41); wr(a!, Reg.Eoi, 0);
    timeTo(clock, 2400);
    expect(rd(a!, Reg.TimerCurrent)).toBe(50);
    timeTo(clock, 3200);
    expect(bit(a!, Reg.Irr, 0x41)).toBe(1);
  });

  it("TSC-deadline: fires when the TSC reaches the deadline; writing 0 disarms", () => {
    const { apics: [a], clock, tsc } = rig(1);
    enable(a!);
    wr(a!, Reg.LvtTimer, (2 << 17) | 0x42);
    a!.writeTscDeadline(500n);                         // 500 ticks at 100 MHz: 5000 ns
    expect(a!.readTscDeadline()).toBe(500n);
    tsc.value = 300; timeTo(clock, 3000);
    expect(bit(a!, Reg.Irr, 0x42)).toBe(0);
    tsc.value = 500; timeTo(clock, 5000);
    expect(bit(a!, Reg.Irr, 0x42)).toBe(1);
    expect(a!.readTscDeadline()).toBe(0n);             // cleared when it fires
    expect(rd(a!, Reg.TimerInitial)).toBe(0);
  });
});

describe("I/O APIC (82093AA)", () => {
  function io() {
    const r = rig(2);
    for (const a of r.apics) enable(a);
    const ioapic = new IoApic(r.bus, 2);
    const reg = (i: number) => { ioapic.write(0, 4, i); return ioapic.read(0x10, 4); };
    const set = (i: number, v: number) => { ioapic.write(0, 4, i); ioapic.write(0x10, 4, v); };
    return { ...r, ioapic, reg, set };
  }

  it("ID, version (24 entries) and masked redirection entries after reset", () => {
    const { reg } = io();
    expect(reg(0)).toBe(2 << 24);
    expect(reg(1)).toBe(0x00170011);
    expect(reg(0x10)).toBe(0x10000);
    expect(reg(0x10 + 2 * 23)).toBe(0x10000);
  });

  it("an edge-triggered pin sends once per rising edge to its destination", () => {
    const { ioapic, set, apics: [, b] } = io();
    set(0x10 + 2 * 4 + 1, 0x01000000);                // destination APIC 1
    set(0x10 + 2 * 4, 0x34);                          // unmasked, edge, fixed, vector 0x34
    ioapic.setPin(4, true);
    expect(b!.acknowledge()).toBe(0x34);
    ioapic.setPin(4, true);                           // still high: no new edge
    expect(b!.hasInterrupt()).toBe(false);
  });

  it("a level-triggered pin sets remote IRR and sends again after the EOI if still asserted", () => {
    const { ioapic, reg, set, apics: [a] } = io();
    set(0x10 + 2 * 10, (1 << 15) | 0x3a);            // level, to APIC 0
    ioapic.setPin(10, true);
    expect(reg(0x10 + 2 * 10) & (1 << 14)).not.toBe(0);
    expect(a!.acknowledge()).toBe(0x3a);
    expect(bit(a!, Reg.Tmr, 0x3a)).toBe(1);
    wr(a!, Reg.Eoi, 0);                               // EOI: the I/O APIC clears remote IRR and resends
    expect(a!.acknowledge()).toBe(0x3a);
    ioapic.setPin(10, false);
    wr(a!, Reg.Eoi, 0);
    expect(reg(0x10 + 2 * 10) & (1 << 14)).toBe(0);
    expect(a!.hasInterrupt()).toBe(false);
  });

  it("a masked pin sends nothing; remote IRR and delivery status are read-only", () => {
    const { ioapic, reg, set, apics: [a] } = io();
    set(0x10 + 2 * 3, 0x10000 | (1 << 15) | 0x33);
    ioapic.setPin(3, true);
    expect(a!.hasInterrupt()).toBe(false);
    set(0x10 + 2 * 3, (1 << 15) | (1 << 14) | (1 << 12) | 0x33); // unmask: the asserted level is sent now
    expect(a!.acknowledge()).toBe(0x33);
    expect(reg(0x10 + 2 * 3) & (1 << 12)).toBe(0);
  });
});

/** IA32_APIC_BASE values (BSP bit aside): xAPIC, x2APIC, disabled. */
const XAPIC = 0xfee00800n, X2APIC = 0xfee00c00n, DISABLED = 0xfee00000n;
/** Into x2APIC mode and software-enabled (SVR 0x1FF through its MSR). */
function x2(a: LocalApic): LocalApic {
  expect(a.writeBaseMsr(X2APIC)).toBe(true);
  expect(a.writeX2apicMsr(0x80f, 0x1ffn)).toBe(true);
  return a;
}
const msrBit = (a: LocalApic, base: number, v: number) => Number((a.readX2apicMsr(base + (v >> 5))! >> BigInt(v & 31)) & 1n);

describe("x2APIC mode (SDM 10.12)", () => {
  it("IA32_APIC_BASE.EXTD: reserved unless offered; only the transitions of 10.12.5", () => {
    expect(rig(1).apics[0]!.writeBaseMsr(X2APIC)).toBe(false);     // not offered: bit 10 reserved
    const a = rig(1, true).apics[0]!;
    expect(a.writeBaseMsr(0xfee00400n)).toBe(false);                // EXTD without EN: invalid
    expect(a.writeBaseMsr(X2APIC)).toBe(true);                      // xAPIC → x2APIC
    expect(a.readBaseMsr()).toBe(0xfee00d00n);                      // (the BSP bit)
    expect(a.writeBaseMsr(XAPIC)).toBe(false);                      // x2APIC → xAPIC: not a transition
    expect(a.writeBaseMsr(DISABLED)).toBe(true);                    // x2APIC → disabled
    expect(a.writeBaseMsr(X2APIC)).toBe(false);                     // disabled → x2APIC: not a transition
    expect(a.writeBaseMsr(XAPIC)).toBe(true);
    expect(a.writeBaseMsr(X2APIC)).toBe(true);
  });

  it("the registers become MSRs 0x800-0x8FF as Table 10-6 lists them; the page reads as all ones", () => {
    // Table 10-6: read-only, read/write and write-only registers; every other MSR of the range is reserved.
    const ro = [0x802, 0x803, 0x80a, 0x80d, ...Array.from({ length: 24 }, (_, i) => 0x810 + i), 0x839];
    const rw = [0x808, 0x80f, 0x828, 0x82f, 0x830, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837, 0x838, 0x83e];
    const wo = [0x80b, 0x83f];
    const a = rig(1, true).apics[0]!;
    for (let i = 0x800; i < 0x900; i++) expect([a.readX2apicMsr(i), a.writeX2apicMsr(i, 0n)]).toEqual([undefined, false]); // xAPIC mode: #GP
    a.writeBaseMsr(X2APIC);
    for (let i = 0x800; i < 0x900; i++) {
      const readable = a.readX2apicMsr(i) !== undefined, writable = a.writeX2apicMsr(i, 0n);
      const kind = ro.includes(i) ? "ro" : rw.includes(i) ? "rw" : wo.includes(i) ? "wo" : "reserved";
      expect({ msr: i.toString(16), readable, writable }).toEqual({
        msr: i.toString(16), readable: kind === "ro" || kind === "rw", writable: kind === "rw" || kind === "wo",
      });
    }
    expect(a.readX2apicMsr(0x803)).toBe(0x60014n);                  // the version xAPIC mode reads (version 14h, 7 LVTs)
    a.writeX2apicMsr(0x808, 0x20n);
    expect(rd(a, Reg.Tpr)).toBe(0xffffffff);                        // the page is no longer the APIC's
    wr(a, Reg.Tpr, 0x30);
    expect(a.readX2apicMsr(0x808)).toBe(0x20n);
  });

  it("the x2APIC ID is the initial APIC ID and the LDR follows from it (10.12.5.1, 10.12.10.2)", () => {
    const { apics } = rig(18, true);
    wr(apics[17]!, Reg.Id, 0x05000000);                               // the xAPIC ID register, rewritten…
    x2(apics[17]!);
    expect(apics[17]!.readX2apicMsr(0x802)).toBe(17n);               // …does not carry over
    expect(apics[17]!.readX2apicMsr(0x80d)).toBe(0x00010002n);       // cluster 17 >> 4 = 1, bit 17 & 15 = 1
    expect(x2(apics[3]!).readX2apicMsr(0x80d)).toBe(0x00000008n);
    expect(apics[3]!.writeX2apicMsr(0x802, 3n)).toBe(false);          // read-only
    expect(apics[3]!.writeX2apicMsr(0x80d, 8n)).toBe(false);
  });

  it("WRMSR of a reserved bit raises #GP (10.12.1.3); EOI and ESR take only 0", () => {
    const a = x2(rig(1, true).apics[0]!);
    expect(a.writeX2apicMsr(0x808, 0x100n)).toBe(false);              // TPR bits 31:8
    expect(a.writeX2apicMsr(0x808, 0x1_0000_0000n)).toBe(false);      // bits 63:32 of all but the ICR
    expect(a.writeX2apicMsr(0x808, 0xffn)).toBe(true);
    expect(a.writeX2apicMsr(0x80b, 1n)).toBe(false);                  // EOI: non-zero
    expect(a.writeX2apicMsr(0x828, 1n)).toBe(false);                  // ESR: non-zero
    expect(a.writeX2apicMsr(0x83f, 0x100n)).toBe(false);              // SELF IPI bits 31:8
    expect(a.writeX2apicMsr(0x830, 0x1000n)).toBe(false);             // ICR bit 12: no delivery status in x2APIC mode
    expect(a.writeX2apicMsr(0x832, 0x100000n)).toBe(false);           // LVT timer bit 20
    expect(a.writeX2apicMsr(0x83e, 0x4n)).toBe(false);                // divide configuration bit 2
    expect(a.readX2apicMsr(0x808)).toBe(0xffn);
  });

  it("describes its state for the monitor's info lapic: mode, IDs, priorities, vectors, LVTs, timer, ICR", () => {
    const { apics } = rig(18, true);
    const a = x2(apics[17]!);
    a.writeX2apicMsr(0x808, 0x20n);                                    // TPR class 2
    a.writeX2apicMsr(0x83f, 0x61n); a.writeX2apicMsr(0x83f, 0x40n);    // two self-IPIs
    expect(a.acknowledge()).toBe(0x61);                                // class 6 > 2: in service; 0x40 (class 4) waits
    a.writeX2apicMsr(0x83e, 0xbn); a.writeX2apicMsr(0x832, 0x20041n);  // divide by 1; periodic, vector 0x41
    a.writeX2apicMsr(0x838, 1000n);
    expect(a.describe()).toEqual([
      "x2APIC (IA32_APIC_BASE 0xfee00c00), ID 17, LDR 0x00010002",
      "SVR 0x1ff (software-enabled, spurious vector 0xff), TPR 0x20, PPR 0x60, ESR 0x00",
      "ISR 0x61; IRR 0x40; TMR (none)",
      "LVT timer 0x00020041, thermal 0x00010000 (masked), perf 0x00010000 (masked), LINT0 0x00010000 (masked), " +
        "LINT1 0x00010000 (masked), error 0x00010000 (masked), CMCI 0x00010000 (masked)",
      "timer periodic, divide by 1, initial count 1000, current count 1000",
      "ICR 0x00000000_00000000",
    ]);
  });

  it("the ICR has a 32-bit destination: physical, broadcast, logical by cluster; SELF IPI and EOI", () => {
    const { apics } = rig(18, true);
    for (const a of apics) x2(a);
    const [a] = apics;
    const icr = (dest: number, lo: number) => expect(a!.writeX2apicMsr(0x830, (BigInt(dest) << 32n) | BigInt(lo))).toBe(true);
    icr(17, 0x50);                                                     // physical, x2APIC ID 17
    expect(apics.map((x) => msrBit(x, 0x820, 0x50))).toEqual(apics.map((_, i) => (i === 17 ? 1 : 0)));
    expect(a!.readX2apicMsr(0x830)).toBe((17n << 32n) | 0x50n);
    icr(0xffffffff, 0x51);                                             // physical broadcast
    expect(apics.every((x) => msrBit(x, 0x820, 0x51) === 1)).toBe(true);
    icr(0x00010002, (1 << 11) | 0x52);                                 // logical: cluster 1, member bit 1 → ID 17
    expect(apics.map((x) => msrBit(x, 0x820, 0x52))).toEqual(apics.map((_, i) => (i === 17 ? 1 : 0)));
    icr(0x00000006, (1 << 11) | 0x53);                                 // cluster 0, bits 1 and 2 → IDs 1, 2
    expect(apics.map((x) => msrBit(x, 0x820, 0x53))).toEqual(apics.map((_, i) => (i === 1 || i === 2 ? 1 : 0)));
    expect(a!.writeX2apicMsr(0x83f, 0x60n)).toBe(true);                // SELF IPI
    expect(msrBit(a!, 0x820, 0x60)).toBe(1);
    expect(msrBit(apics[1]!, 0x820, 0x60)).toBe(0);
    expect(a!.acknowledge()).toBe(0x60);
    expect(msrBit(a!, 0x810, 0x60)).toBe(1);                           // in service
    expect(a!.writeX2apicMsr(0x80b, 0n)).toBe(true);                   // EOI
    expect(msrBit(a!, 0x810, 0x60)).toBe(0);
  });
});
