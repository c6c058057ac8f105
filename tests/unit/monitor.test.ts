// The VMM monitor (src/vmm/monitor.ts) without a guest OS: what it reads from
// the machine is checked against independent values — the reset state the
// Intel SDM gives (Vol. 3A, Table 9-1) and page tables this test writes — and
// every malformed command gets a one-line answer saying what is wrong. The
// symbiotic commands against a real guest are in tests/symbiotic-linux.test.ts.
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { BareMachine } from "../../src/machine/bare.js";
import { Monitor } from "../../src/vmm/monitor.js";
import { Pc } from "../../src/machine/pc.js";
import { MemoryDisk } from "../../src/devices/block/backend.js";
import { Symbiotic } from "../../src/symbiotic/symbiotic.js";
import { ENGINES } from "../helpers.js";
import { flatMachine } from "./flat-machine.js";
import { Attr, realSegment } from "../../src/vmm/cpu-state.js";
import { haveObjdump, objdumpBytes } from "../support/objdump.js";

async function monitor(kind: "wasm" | "js", symbiotic = false) {
  const ram = 2 << 20;
  const m = new BareMachine({ engine: await createEngine(kind, ram), ramBytes: ram });
  if (symbiotic) new Symbiotic(m.vm); // the interfaces offered, as the PC does; no guest uses them
  return { m, mon: new Monitor(m.vm) };
}

const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

describe.each(ENGINES)("the monitor on %s", (kind) => {
  it("info registers after power-on: the SDM's reset state", async () => {
    const { mon } = await monitor(kind);
    const lines = mon.execute("info registers").split("\n");
    expect(lines[2]).toMatch(/^EIP=0000fff0 EFL=00000002 \[-{12}\] CPL=0 HLT=0$/);
    expect(lines[4]).toMatch(/^CS =f000 ffff0000 0000ffff /);
    expect(lines[1]).toBe("ESI=00000000 EDI=00000000 EBP=00000000 ESP=00000000");
    expect(lines[0]).toMatch(/^EAX=00000000 EBX=00000000 ECX=00000000 EDX=000006[0-9a-f]{2}$/); // family 6 signature
    expect(lines.at(-1)).toBe("CR0=60000010 CR2=00000000 CR3=00000000 CR4=00000000 EFER=00000000");
    expect(mon.execute("info paging")).toBe("paging off (CR0.PG=0): linear = physical");
    expect(mon.execute("info exits")).toBe("instructions 0, exits 0");
  });

  it("info lapic: a PC's local APICs at reset (SDM 10.4.4, 10.12: base 0xFEE00000, enabled, BSP; LDR 0, DFR all ones)", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, cpus: 2 });
    const lines = new Monitor(pc.vm, { lapics: () => pc.lapics }).execute("info lapic").split("\n");
    expect(lines[0]).toBe("cpu0: xAPIC (IA32_APIC_BASE 0xfee00900, BSP), ID 0, LDR 0x00000000, DFR 0xffffffff");
    expect(lines[6]).toBe("cpu1: xAPIC (IA32_APIC_BASE 0xfee00800), ID 1, LDR 0x00000000, DFR 0xffffffff");
    expect(lines[1]).toBe("  SVR 0x0ff (software-disabled, spurious vector 0xff), TPR 0x00, PPR 0x00, ESR 0x00");
    expect(lines).toHaveLength(12);
    const noApic = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, apic: false });
    expect(new Monitor(noApic.vm, { lapics: () => noApic.lapics }).execute("info lapic")).toMatch(/^no local APIC/);
  });

  it("info paging lists the guest's 32-bit tables as ranges with their rights", async () => {
    const { m, mon } = await monitor(kind);
    const PD = 0x10000, PT = 0x11000;
    m.writeMemory(PD + 1 * 4, u32(PT | 7)); // 0x00400000: a page table, user + writable
    m.writeMemory(PD + 0x300 * 4, u32(0x83)); // 0xc0000000: a 4 MiB page at 0, supervisor, writable
    m.writeMemory(PT, [...u32(0x20007), ...u32(0x21007), ...u32(0x30001), ...u32(0), ...u32(0x31005)]);
    m.setState({ cr0: 0x80000011, cr3: PD, cr4: 0x10 });
    expect(mon.execute("info paging").split("\n")).toEqual([
      "paging 32-bit: CR3=00010000 CR0.WP=0 CR4.PSE=1 CR4.PGE=0",
      "00400000-00402000 00002000 urw -> 00020000", // two pages, physically contiguous: one range
      "00402000-00403000 00001000 -r- -> 00030000", // the PTE takes away user and write
      "00404000-00405000 00001000 ur- -> 00031000", // after a hole
      "c0000000-c0400000 00400000 -rw -> 00000000",
    ]);
  });

  it("cpu N selects the vCPU info registers, info paging and x look at; info cpus lists them (the SDM's reset state, an AP waiting for SIPI)", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, cpus: 2 });
    const mon = new Monitor(pc.vm);
    // After reset both are at F000:FFF0 with CS base FFFF0000 (SDM Vol. 3A Table 9-1); the AP waits for a start-up IPI.
    expect(mon.execute("info cpus")).toBe("* CPU #0: pc=0xfffffff0\n  CPU #1: pc=0xfffffff0 (halted)");
    // vCPU 1 with paging on: its tables map 0x400000 to a page this test fills; vCPU 0's paging is off.
    const PD = 0x10000, PT = 0x11000, PAGE = 0x20000;
    pc.vm.writePhysical(PD + 4, Uint8Array.from(u32(PT | 3)));
    pc.vm.writePhysical(PT, Uint8Array.from(u32(PAGE | 3)));
    pc.vm.writePhysical(PAGE, Uint8Array.from([...u32(0xcafe0001), ...u32(0xcafe0002)]));
    pc.vm.withVcpu(1, () => pc.vm.setState({ eax: 0x11111111, cr3: PD, cr0: 0x80000011 }));
    expect(mon.execute("x /2xw 0x400000")).toBe("00400000: 0x00000000 0x00000000"); // (vCPU 0: linear = physical)
    expect(mon.execute("cpu 1")).toBe("");
    expect(mon.execute("info cpus")).toBe("  CPU #0: pc=0xfffffff0\n* CPU #1: pc=0xfffffff0 (halted)");
    expect(mon.execute("info registers").split("\n")[0]).toMatch(/^EAX=11111111 EBX=00000000 ECX=00000000 EDX=000006[0-9a-f]{2}$/);
    expect(mon.execute("x /2xw 0x400000")).toBe("00400000: 0xcafe0001 0xcafe0002");
    expect(mon.execute("xp /xw $cr3+4")).toBe("0000000000010004: 0x00011003"); // vCPU 1's page directory entry 1
    expect(mon.execute("x /xw $cr3+4")).toBe("00010004: Cannot access memory"); // (its tables map nothing there)
    expect(mon.execute("info paging").split("\n")[0]).toBe("paging 32-bit: CR3=00010000 CR0.WP=0 CR4.PSE=0 CR4.PGE=0");
    const all = mon.execute("info registers -a").split("\n");
    expect(all[0]).toBe("CPU#0");
    expect(all[1]).toMatch(/^EAX=00000000 /);
    expect(all[all.indexOf("CPU#1") + 1]).toMatch(/^EAX=11111111 /);
    expect(pc.vm.vcpu.index).toBe(0); // (the running vCPU stays the running one)
  });
});

describe.each(ENGINES)("the monitor's info pci and info mtree on %s", (kind) => {
  // Configuration mechanism #1 from the VMM's side, as a guest's PCI code would do it (PCI 3.0 §3.2.2.3.2).
  const config = (pc: Pc, slot: number, offset: number, value?: number) => {
    pc.vm.ports.write(0xcf8, 4, (0x80000000 | (slot << 11) | offset) >>> 0);
    if (value === undefined) return pc.vm.ports.read(0xcfc, 4);
    pc.vm.ports.write(0xcfc, 4, value);
    return value;
  };

  it("lists the functions with the IDs their datasheets and the virtio spec give, and each BAR as the guest assigns it", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, disks: [{ backend: new MemoryDisk(new Uint8Array(1 << 20)) }] });
    const mon = new Monitor(pc.vm, { pci: pc.pci });
    const slot = pc.pci.list().find((f) => f.dev.name === "virtio-blk")!.slot;
    const before = mon.execute("info pci").split("\n");
    // 82441FX host bridge 8086:1237 and PIIX3 ISA bridge 8086:7000 (Intel's datasheets); a transitional
    // virtio-blk: 1af4:1001, subsystem 1af4:0002 (virtio 1.2 §4.1.2.3: the device ID 2), class 01 00 (SCSI, as QEMU's).
    expect(before.slice(0, 3)).toEqual(["  Bus  0, device   0, function 0:", "    Host bridge: PCI device 8086:1237", "      PCI subsystem 1af4:1100"]);
    expect(before).toContain("    ISA bridge: PCI device 8086:7000");
    const blk = before.indexOf(`  Bus  0, device ${String(slot).padStart(3)}, function 0:`);
    expect(before.slice(blk + 1, blk + 3)).toEqual(["    SCSI storage controller: PCI device 1af4:1001", "      PCI subsystem 1af4:0002"]);
    expect(before[blk + 3]).toMatch(/^ {6}IRQ \d+, pin A$/); // (the interrupt line is whatever firmware wrote)
    expect(before[blk + 4]).toMatch(/^ {6}BAR0: I\/O at 0x[0-9a-f]{4} \[0x[0-9a-f]{4}\]\.$/); // (as the PC's firmware left it)
    // The guest's part: decoding off (nothing decodes the BARs), an address in BAR0 and BAR1, the interrupt line,
    // I/O and memory decoding on.
    config(pc, slot, 0x04, 0);
    const off = mon.execute("info pci").split("\n");
    expect(off[blk + 4]).toBe("      BAR0: I/O, 64 bytes, not mapped (I/O decoding off).");
    expect(off[blk + 5]).toBe("      BAR1: 32 bit memory, 16384 bytes, not mapped (memory decoding off).");
    expect(mon.execute("info mtree")).not.toMatch(/virtio-blk/);
    config(pc, slot, 0x18, 0);
    config(pc, slot, 0x10, 0xc040);
    config(pc, slot, 0x14, 0xfe004000);
    config(pc, slot, 0x3c, 0x105);
    config(pc, slot, 0x04, 0x3);
    const after = mon.execute("info pci").split("\n");
    expect(after.slice(blk + 3, blk + 7)).toEqual([
      "      IRQ 5, pin A", "      BAR0: I/O at 0xc040 [0xc07f].", "      BAR1: 32 bit memory at 0xfe004000 [0xfe007fff].",
      "      BAR2: 32 bit memory, 4096 bytes, not mapped (no address assigned).",
    ]);
    expect(after).toContain("      MSI-X: 2 vectors, disabled"); // (a vector per queue and one for configuration changes)
    const tree = mon.execute("info mtree").split("\n");
    const loc = `PCI 00:${String(slot).padStart(2, "0")}.0`;
    expect(tree).toContain(`  c040-c07f  virtio-blk-legacy (${loc} BAR0)`);
    expect(tree).toContain(`  fe004000-fe007fff  mmio virtio-blk-modern (${loc} BAR1)`);
    expect(tree).toContain("  0cf8-0cff  pci-conf1");
    expect(new Monitor(pc.vm).execute("info pci")).toBe("no PCI bus (not a PC)");
    const disks = new Monitor(pc.vm, { disks: () => pc.blockDevices() });
    expect(disks.execute("info block")).toBe(`virtio0: memory (1 MiB, 2048 sectors, read-write)\n    Attached to: virtio-blk (${loc})`);
    expect(disks.execute("info blockstats")).toBe("virtio0: rd_bytes=0 wr_bytes=0 rd_operations=0 wr_operations=0 flush_operations=0");
    expect(new Monitor(pc.vm).execute("info block")).toBe("no disks (symbiont boot --disk FILE adds one)");
  });

  it("shows the guest-physical map as the VMM set it: RAM with its host frames and permissions, withdrawn pages, devices", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram });
    const m = pc.vm.memory;
    m.unmap(0x200000, 4); // withdrawn (a balloon's pages)
    m.protect(0x300000, { read: true, exec: true }, 2); // read-only (a debugger's write watchpoint)
    const frame = m.allocFrame();
    m.map(0x400000, frame, { read: true, write: true }, 1); // a VMM frame above RAM, not executable
    const memory = new Monitor(pc.vm).execute("info mtree").split("\n");
    const h = (n: number) => n.toString(16).padStart(8, "0");
    expect(memory.slice(0, 10)).toEqual([
      "memory (guest-physical)",
      "  00000000-0009ffff  ram rwx  host frames 00000000-0009ffff",
      "  000a0000-000bffff  mmio, no device (reads as all ones)", // (the VGA window: a PC without --vga)
      "  000c0000-001fffff  ram rwx  host frames 000c0000-001fffff",
      "  00200000-00203fff  trap (withdrawn: every access exits to the VMM)",
      "  00204000-002fffff  ram rwx  host frames 00204000-002fffff",
      "  00300000-00301fff  ram r-x  host frames 00300000-00301fff",
      "  00302000-003fffff  ram rwx  host frames 00302000-003fffff",
      `  00400000-00400fff  ram rw-  host frames ${h(frame)}-${h(frame + 4095)}`,
      "  00401000-00ffffff  ram rwx  host frames 00401000-00ffffff",
    ]);
    expect(memory).toContain("  fee00000-fee00fff  mmio local-apic");
    expect(memory).toContain("  fec00000-fec00fff  mmio ioapic");
  });
});

describe.each(ENGINES)("the monitor's info pic on %s", (kind) => {
  it("shows the 8259s as their initialization words set them and an I/O APIC entry as written (8259A and 82093AA datasheets)", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram });
    const mon = new Monitor(pc.vm, { pics: () => pc.interruptControllers() });
    // ICW1 (edge, cascade, ICW4), ICW2 (vectors from 0x20), ICW3 (slave on line 2), ICW4 (8086 mode); OCW1 masks all but line 2.
    for (const [port, value] of [[0x20, 0x11], [0x21, 0x20], [0x21, 0x04], [0x21, 0x01], [0x21, 0xfb]] as const) pc.vm.ports.write(port, 1, value);
    // Pin 4: vector 0x31, level-triggered, active low (bits 15 and 13), to APIC ID 3 in physical mode (82093AA §3.2.4).
    const ioapic = (register: number, value: number) => { pc.vm.mmio.write(0xfec00000, 4, register); pc.vm.mmio.write(0xfec00010, 4, value); };
    ioapic(0x10 + 2 * 4, 0xa031);
    ioapic(0x11 + 2 * 4, 0x03000000);
    const lines = mon.execute("info pic").split("\n");
    expect(lines[0]).toBe("pic0: irr=00 imr=fb isr=00 irq_base=20 elcr=00");
    expect(lines[1]).toMatch(/^pic1: irr=00 imr=[0-9a-f]{2} isr=00 irq_base=[0-9a-f]{2} elcr=[0-9a-f]{2}$/);
    expect(lines[2]).toBe("ioapic0: ver=0x11 id=0x01 sel=0x19 (redir[4])");
    expect(lines[3]).toBe("  pin 0  0x0000000000010000 dest=0 vec=0   active-hi edge  masked fixed  physical"); // (masked at reset)
    expect(lines[7]).toBe("  pin 4  0x030000000000a031 dest=3 vec=49  active-lo level        fixed  physical");
    expect(lines.slice(-2)).toEqual(["  IRR (none)", "  Remote IRR (none)"]);
    expect(lines).toHaveLength(2 + 1 + 24 + 2);
    const noApic = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, apic: false });
    expect(new Monitor(noApic.vm, { pics: () => noApic.interruptControllers() }).execute("info pic").split("\n")).toHaveLength(2);
    expect(new Monitor(noApic.vm).execute("info pic")).toBe("no interrupt controllers (not a PC)");
  });
});

describe.each(ENGINES)("the monitor's i, o, p and info status on %s", (kind) => {
  it("reads and writes I/O ports as IN and OUT would (the MC146818's register D: VRT set, its datasheet), prints expressions", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram });
    const mon = new Monitor(pc.vm);
    expect(mon.execute("o 0x70 0x0d")).toBe("");
    expect(mon.execute("i 0x71")).toBe("portb[0x0071] = 0x80");
    expect(mon.execute("o /b 0x70 0x8d")).toBe(""); // (register D again, bit 7 the NMI mask)
    expect(mon.execute("i /b 0x71")).toBe("portb[0x0071] = 0x80");
    expect(mon.execute("i /w 0xcfc")).toMatch(/^portw\[0x0cfc\] = 0x[0-9a-f]{4}$/);
    pc.vm.setState({ eax: 0x1234, esp: 0x8000 });
    expect(mon.execute("p $eax+4")).toBe("0x1238");
    expect(mon.execute("p /d $esp-0x8001")).toBe("-1");
    expect(mon.execute("print /u 7")).toBe("7");
    expect(mon.execute("i")).toBe("i [/b|/w|/l] PORT: read an I/O port");
    expect(mon.execute("o /q 1 2")).toBe("o [/b|/w|/l] PORT VALUE: write an I/O port");
    expect(mon.execute("i 0x10000")).toBe("i [/b|/w|/l] PORT: read an I/O port (PORT is 0 to 0xffff)");
    expect(mon.execute("p $nope")).toMatch(/^unknown register \$nope/);
    expect(mon.execute("info status")).toBe("VM status: running");
    mon.execute("stop");
    expect(mon.execute("info status")).toBe("VM status: paused");
  });
});

describe.each(ENGINES)("the monitor's nmi on %s", (kind) => {
  // lgdt; lidt (vector 2: a gate to `nmi`); spin: jmp spin — nmi: inc dword [0x3000]; iret (nasm -f bin, org 0x1000)
  const PROGRAM = [0x0f, 0x01, 0x15, 0x30, 0x10, 0x00, 0x00, 0x0f, 0x01, 0x1d, 0x36, 0x10, 0x00, 0x00, 0xeb, 0xfe, 0xff, 0x05, 0x00, 0x30, 0x00, 0x00, 0xcf, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00, 0x17, 0x00, 0x18, 0x10, 0x00, 0x00, 0x17, 0x00, 0x40, 0x10, 0x00, 0x00, 0x90, 0x90, 0x90, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x10, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00];
  it("delivers an NMI through the guest's IDT vector 2, whatever IF says (SDM 6.7.1), and the guest goes on", async () => {
    const m = await flatMachine(kind, 1 << 20, PROGRAM);
    const mon = new Monitor(m.vm);
    expect(m.vm.run(1000).kind).toBe("budget");
    expect(m.vm.memory.readU32(0x3000)).toBe(0);
    expect(mon.execute("nmi")).toBe("");
    expect(m.vm.run(1000).kind).toBe("budget");
    expect(m.vm.memory.readU32(0x3000)).toBe(1);
    expect(m.vm.getState().eip).toBe(0x100e); // back at the spin loop
    expect(m.vm.getState().eflags & 0x200).toBe(0);
  });
});

/**
 * Bytes placed in guest memory and what objdump says they are, at the address the monitor will show them at: the
 * oracle for x/i's instructions. (QEMU's Capstone spells AT&T differently; tests/monitor-qemu.test.ts checks x/i's
 * addresses and bytes against QEMU's monitor.)
 */
function objdumpAt(code: number[], bits: 16 | 32, vma: number): string[] {
  return objdumpBytes(Uint8Array.from(code), bits, vma).map((i) => i.text);
}

describe.skipIf(!haveObjdump)(`x/i and xp/i${haveObjdump ? "" : " (skipped: no objdump; Debian: binutils)"}`, () => {
  // Real-mode code as a boot sector starts (16-bit), and a 32-bit function with a far branch, x87 and SSE.
  const BOOT = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb, 0xbe, 0x20, 0x7c, 0xac, 0x08, 0xc0, 0x74, 0x06,
    0xb4, 0x0e, 0xcd, 0x10, 0xeb, 0xf5, 0xf4, 0xea, 0x00, 0x7c, 0x00, 0x00];
  const FUNC = [0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0x8b, 0x45, 0x08, 0x66, 0x0f, 0x6f, 0x04, 0x85, 0x00, 0x10, 0x00, 0x00,
    0xdd, 0x44, 0x24, 0x04, 0xf3, 0xa5, 0x0f, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00, 0xe8, 0xdb, 0xff, 0xff, 0xff, 0xc9, 0xc3];

  it.each(ENGINES)("in real mode and in 32-bit protected mode, as the vCPU runs (%s)", async (kind) => {
    const { m, mon } = await monitor(kind);
    m.writeMemory(0x7c00, BOOT);
    m.writeMemory(0x100000, FUNC);
    // A line: "0x00007c00:  " + the bytes in 24 columns + two spaces + the instruction (column 39).
    const texts = (out: string) => out.split("\n").filter((l) => l.length > 39).map((l) => l.slice(39).replace(/\s+/g, " "));
    // Real mode at 0000:7C00: 16-bit code; $pc is CS.base + EIP as in QEMU.
    m.setState({ eip: 0x7c00, cs: realSegment(0, true) });
    const real = mon.execute("x /12i $pc");
    expect(texts(real)).toEqual(objdumpAt(BOOT, 16, 0x7c00).slice(0, 12));
    expect(real.split("\n")[0]).toBe("0x00007c00:  fa                        cli");
    // The same bytes in a 32-bit code segment read differently (31 C0 is xor %eax,%eax).
    m.setState({ eip: 0x100000, cr0: 0x11, cs: { selector: 8, base: 0, limit: 0xffffffff, attr: Attr.flatCode32 } });
    const func = mon.execute("x /11i $eip");
    expect(texts(func)).toEqual(objdumpAt(FUNC, 32, 0x100000).slice(0, 11));
    // An instruction longer than eight bytes continues on a line of its own, as QEMU lays it out.
    expect(func.split("\n").slice(4, 6)).toEqual([
      "0x00100009:  66 0f 6f 04 85 00 10 00   movdqa 0x1000(,%eax,4),%xmm0",
      "0x00100011:  00",
    ]);
    expect(mon.execute("xp /2i 0x7c01").split("\n").map((l) => l.slice(39))).toEqual(["xor    %eax,%eax", "mov    %eax,%ds"]);
    expect(mon.execute(`xp /2i ${m.vm.memory.ramBytes - 1}`).split("\n")).toEqual([
      `0x${(m.vm.memory.ramBytes - 1).toString(16).padStart(8, "0")}:  00                        (bad)`,
      `0x${m.vm.memory.ramBytes.toString(16).padStart(8, "0")}: Cannot access memory`,
    ]);
  });
});

describe("the monitor's answers to bad input", () => {
  it("says what is wrong in one line, or what a non-symbiotic guest lacks", async () => {
    expect((await monitor("wasm")).mon.execute("sym ps")).toBe("the symbiotic interfaces are off for this VM");
    const { mon } = await monitor("wasm", true);
    const answers = Object.fromEntries(["info", "info memory", "sym", "sym pss", "frobnicate", "sym vaddr", "sym vaddr 1",
      "sym vaddr abc 1000", "sym vaddr -1 1000", "sym vaddr 1 zz", "sym vaddr 1 123456789", "",
      "cpu", "cpu 1", "cpu x", "x", "xp /4xw", "x /4j 0", "x /4q 0", "x /4xw $foo", "x /xw 0x1000*2", "gdbserver", "system_reset"].map((c) => [c, mon.execute(c)]));
    expect(answers).toEqual({
      "info": "info what? (info registers | cpus | status | exits | paging | mem | tlb | mtree | pci | pic | block | blockstats | symbiotic | net | swapbypass | lapic | balloon)",
      "info memory": "unknown: info memory (info registers | cpus | status | exits | paging | mem | tlb | mtree | pci | pic | block | blockstats | symbiotic | net | swapbypass | lapic | balloon)",
      "sym": "sym what? (sym ps | current | vaddr PID ADDR | meminfo | test)",
      "sym pss": "unknown: sym pss (sym ps | current | vaddr PID ADDR | meminfo | test)",
      "frobnicate": "unknown command \"frobnicate\" (help lists them)",
      "sym vaddr": "usage: sym vaddr PID ADDR (ADDR in hex, 0x optional)",
      "sym vaddr 1": "usage: sym vaddr PID ADDR (ADDR in hex, 0x optional)",
      "cpu": "cpu N: a vCPU index, 0",
      "cpu 1": "cpu N: a vCPU index, 0",
      "cpu x": "cpu N: a vCPU index, 0",
      "x": "x /FMT ADDR: an address is needed (a number, $reg, +, -)",
      "xp /4xw": "xp /FMT ADDR: an address is needed (a number, $reg, +, -)",
      "x /4j 0": "invalid char in format: 'j'",
      "x /4q 0": "invalid char in format: 'q'",
      "x /4xw $foo": "unknown register $foo ($eax $ecx $edx $ebx $esp $ebp $esi $edi $eip $eflags $cr0 $cr2 $cr3 $cr4, $pc)",
      "x /xw 0x1000*2": "not an address: \"0x1000*2\" (a number, $reg, +, -)",
      "gdbserver": "gdbserver: this monitor cannot start a GDB stub (symbiont run/boot with one VM can)",
      "system_reset": "system_reset: this monitor cannot reset the machine",
      "sym vaddr abc 1000": "bad PID \"abc\"",
      "sym vaddr -1 1000": "bad PID \"-1\"",
      "sym vaddr 1 zz": "bad address \"zz\" (hex, up to 8 digits)",
      "sym vaddr 1 123456789": "bad address \"123456789\" (hex, up to 8 digits)",
      "": "",
    });
    // No guest registered SymSpy: the call is refused (nothing ran) and the monitor says how to get a symbiotic guest.
    for (const c of ["sym ps", "sym vaddr 1 8048000", "sym meminfo", "sym test"]) {
      expect(mon.execute(c)).toBe("error: SymCall refused: the guest has registered no SymSpy local page on vCPU 0 (MSR 0x535)\n" +
        "(no symbiotic guest: boot with --symbiotic, or insmod symbiotic.ko in the guest)");
    }
    expect(mon.execute("info exits")).toBe("instructions 0, exits 0");
    expect(mon.execute("stop")).toBe("guest paused (cont resumes)");
    expect(mon.paused).toBe(true);
    expect(mon.execute("cont")).toBe("guest running");
    expect(mon.paused).toBe(false);
    mon.execute("quit");
    expect(mon.quitRequested).toBe(true);
  });

  it("gdbserver: the port (1234 unless given) to whoever starts the stub; one line for a bad one", async () => {
    const { m } = await monitor("wasm");
    const ports: number[] = [];
    const mon = new Monitor(m.vm, { gdbserver: (port) => { ports.push(port); return ""; } });
    expect(["gdbserver", "gdbserver 0", "gdbserver 4321"].map((c) => mon.execute(c))).toEqual(["", "", ""]);
    expect(ports).toEqual([1234, 0, 4321]);
    for (const bad of ["gdbserver x", "gdbserver 65536", "gdbserver -1"]) {
      expect(mon.execute(bad)).toBe("gdbserver [PORT]: a TCP port, 0-65535 (default 1234; 0: a free one)");
    }
    expect(ports).toHaveLength(3);
  });

  it("sendkey: QEMU's key names; one line for none, an unknown one, or no keyboard", async () => {
    const { m } = await monitor("wasm");
    const sent: number[][] = [];
    const mon = new Monitor(m.vm, { keyboard: { sendScancodes: (b) => sent.push([...b]) } });
    expect(mon.execute("sendkey")).toBe("sendkey KEYS: which keys (a, shift-a, ret, ctrl-alt-delete …)");
    expect(mon.execute("sendkey ctrl-frob")).toBe("error: unknown key \"frob\" (QEMU's names: a, 1, ret, spc, esc, shift, ctrl, alt, f1, up, delete, kp_0 …)");
    expect(sent).toEqual([]);
    // Ctrl-Alt-Delete in scan-code set 2 (IBM's PS/2 table): Ctrl 14, Alt 11, Delete E0 71 pressed in order, released
    // (F0 before the code, after E0 for extended keys) in reverse.
    expect(mon.execute("sendkey ctrl-alt-delete")).toBe("");
    expect(sent).toEqual([[0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14]]);
    expect(new Monitor(m.vm).execute("sendkey a")).toBe("no keyboard (a PC's i8042 has one)");
  });
});
