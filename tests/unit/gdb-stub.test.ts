// The GDB stub's protocol and its use of the VMM's exits, packet by packet on both engines
// (tests/gdb.test.ts drives it with GDB itself against QEMU's). Expected values: the GDB manual's
// Remote Protocol (framing, checksums, stop replies, the register encoding, E errors) and the
// state each test sets; and VT-x's exception bitmap (SDM Vol. 3 §26.2: INT3 exits with EIP at the
// instruction, INT n does not).
import { describe, it, expect } from "vitest";
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { Control } from "../../src/engine/core.js";
import { GdbStub } from "../../src/debug/gdb-stub.js";
import { Monitor } from "../../src/vmm/monitor.js";
import { waitForGdb } from "../../src/node/gdb-server.js";
import { connect } from "node:net";
import { framePacket } from "../../src/debug/gdb-packets.js";
import { ENGINES } from "../helpers.js";

const RAM = 1 << 20, CODE = 0x1000, IDT = 0x8000, HANDLER = 0x3000;
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Flat 32-bit ring 0, an IDT whose gates all lead to HANDLER (mov ebx, 0xb3b3b3b3; hlt). */
async function machine(kind: (typeof ENGINES)[number], code: number[]) {
  const m = new BareMachine({ engine: await createEngine(kind, RAM), ramBytes: RAM });
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  const gdt = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0];
  m.writeMemory(0x500, gdt);
  const gates: number[] = [];
  for (let v = 0; v < 32; v++) gates.push(HANDLER & 0xff, HANDLER >> 8, 8, 0, 0, 0x8e, 0, 0);
  m.writeMemory(IDT, gates);
  m.writeMemory(HANDLER, [0xbb, ...le32(0xb3b3b3b3), 0xf4]);
  m.setState({
    cr0: 0x11, eip: CODE, eflags: 2, cpl: 0, gdtr: { base: 0x500, limit: 23 }, idtr: { base: IDT, limit: 32 * 8 - 1 },
    cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16), es: flat(Attr.flatData32, 16),
    ss: flat(Attr.flatData32, 16), fs: flat(Attr.flatData32, 16), gs: flat(Attr.flatData32, 16), esp: 0x7000,
  });
  m.writeMemory(CODE, code);
  return m;
}

/**
 * Two running vCPUs, taking turns of 1000 instructions: vCPU 0 loops on inc eax at CODE; vCPU 1 on inc ecx, inc edx
 * at CODE + 0x100 (ECX starting at `ecx`), followed by cli; hlt at CODE + 0x104.
 */
async function twoVcpus(kind: (typeof ENGINES)[number], ecx: number) {
  const m = await machine(kind, [0x40, 0xeb, 0xfd]);
  m.writeMemory(CODE + 0x100, [0x41, 0x42, 0xeb, 0xfc, 0xfa, 0xf4]);
  const vm = m.vm, st0 = m.getState();
  vm.addVcpu();
  vm.vcpus[1]!.waitingForSipi = false;
  vm.withVcpu(1, () => vm.setState({ ...st0, eip: CODE + 0x100, eax: 0, ecx, edx: 0 }));
  vm.quantum = 1000;
  return m;
}

/** A stub on the machine with GDB's side scripted: each request's reply (acks dropped once NoAck is on). */
function session(m: BareMachine) {
  let out = "";
  const stub = new GdbStub(m.vm, (d) => { out += d; });
  const request = (data: string) => { out = ""; stub.receive(Buffer.from(framePacket(data), "latin1")); return out; };
  const reply = (data: string) => { const r = request(data); const p = /\$(.*)#[0-9a-f]{2}$/.exec(r); return p ? p[1]! : null; };
  /** Run the guest until the stub halts it (or the budget ends). */
  const run = () => { for (let i = 0; i < 100 && !stub.halted; i++) m.step(10_000); return out; };
  return { stub, request, reply, run, output: () => out };
}

describe.each(ENGINES)("GDB stub on %s", (kind) => {
  it("frames, checksums and acknowledges packets; a bad checksum is NAKed, a NAK resends the last reply", async () => {
    const s = session(await machine(kind, [0xf4]));
    expect(s.request("qAttached")).toBe("+$1#31");
    s.output();
    let out = "";
    const stub = new GdbStub((await machine(kind, [0xf4])).vm, (d) => { out += d; });
    stub.receive(Buffer.from("$qAttached#00", "latin1"));
    expect(out).toBe("-");
    out = "";
    stub.receive(Buffer.from("$qC#b4", "latin1"));
    expect(out).toBe("+$QC01#f5");
    out = "";
    stub.receive(Buffer.from("-", "latin1"));
    expect(out).toBe("$QC01#f5");
    expect(s.request("QStartNoAckMode")).toBe("+$OK#9a");
    expect(s.request("?")).toBe(framePacket("T05thread:01;")); // no ack any more
  });

  it("reads the registers in the target description's order (the x87 ones as 80-bit images, the system ones last) and writes EAX and EIP", async () => {
    const m = await machine(kind, [0xdb, 0xe3, 0xd9, 0xe8, 0xf4]); // fninit; fld1; hlt
    m.step(10);
    m.setState({ eax: 0x11223344, edi: 0xcafef00d, eflags: 0x202, eip: 0x1000 });
    const s = session(m);
    const g = s.reply("g")!;
    expect(g.slice(0, 8)).toBe("44332211");
    expect(g.slice(56, 64)).toBe("0df0feca"); // EDI
    expect(g.slice(64, 72)).toBe("00100000"); // EIP
    expect(g.slice(72, 80)).toBe("02020000"); // EFLAGS
    expect(g.slice(80, 88)).toBe("08000000"); // CS
    expect(g.slice(128, 148)).toBe("0000000000000080ff3f"); // ST0 = 1.0: exponent 0x3FFF, integer bit set
    expect(g.slice(288, 296)).toBe("7f030000"); // FCTRL after FNINIT
    expect(g.slice(296, 304)).toBe("00380000"); // FSTAT: TOP = 7
    expect(g.length).toBe(2 * (16 * 4 + 8 * 10 + 8 * 4 + 8 * 16 + 4 + 7 * 4)); // … MXCSR, then FS/GS bases, CR0 CR2 CR3 CR4 EFER
    expect(g.slice(-40, -32)).toBe("11000000"); // CR0: PE | ET, as the machine was set up
    expect(s.reply("p28")).toBe("801f0000"); // MXCSR (register 40) at reset
    expect(s.reply("p2b")).toBe("11000000"); // CR0 (register 43) alone
    expect(s.reply("P2b=01000000")).toBe("E01"); // the system registers are read-only here
    expect(s.reply("p10")).toBe("0000000000000080ff3f"); // ST0 alone
    expect(s.reply("P0=78563412")).toBe("OK");
    expect(m.getState().eax).toBe(0x12345678);
    expect(s.reply("P8=00200000")).toBe("OK");
    expect(m.getState().eip).toBe(0x2000);
    expect(s.reply("Pa=10000000")).toBe("E01"); // a segment register: not written
    const xml = s.reply("qXfer:features:read:target.xml:0,3fff")!;
    expect(xml).toMatch(/^l<\?xml/);
    expect(xml).toContain("<architecture>i386</architecture>");
  });

  it("stops at a breakpoint with EIP at it, hides the INT3 from reads, steps one instruction, and takes the breakpoint out", async () => {
    // mov eax, 1 ; mov ecx, 2 ; add eax, ecx ; hlt
    const m = await machine(kind, [0xb8, ...le32(1), 0xb9, ...le32(2), 0x01, 0xc8, 0xf4]);
    const s = session(m);
    s.reply("qSupported:swbreak+");
    expect(s.reply("Z0,100a,1")).toBe("OK");
    expect(m.readMemory(0x100a, 1)[0]).toBe(0xcc); // planted
    expect(s.reply("m100a,2")).toBe("01c8"); // GDB sees the original bytes
    s.request("c");
    expect(s.run()).toMatch(/^\+?\$T05swbreak:;thread:01;#/);
    expect(m.getState()).toMatchObject({ eip: 0x100a, eax: 1, ecx: 2 });
    expect(s.reply("z0,100a,1")).toBe("OK");
    expect(m.readMemory(0x100a, 1)[0]).toBe(0x01);
    s.request("s");
    expect(s.run()).toMatch(/^\+?\$T05thread:01;#/);
    expect(m.getState()).toMatchObject({ eip: 0x100c, eax: 3 });
    expect(s.reply("m7fff000,4")).toBe("E14"); // beyond RAM
  });

  it("shares the monitor trap flag: a step and another owner's request end at the same instruction, each told", async () => {
    // nop; nop; nop; hlt — another party (as the shadow pager letting a store through) wants the same exits
    const m = await machine(kind, [0x90, 0x90, 0x90, 0xf4]);
    const s = session(m);
    const seen: number[] = [];
    m.vm.onMonitorTrap(() => { seen.push(m.getState().eip); return "resume"; });
    m.vm.requestMonitorTrap("other", true);
    s.request("s");
    expect(s.run()).toMatch(/^\+?\$T05thread:01;#/);
    expect(m.getState().eip).toBe(0x1001);
    expect(seen).toEqual([0x1001]); // the step's exit reached the other owner too
    expect(m.vm.getControl(Control.MonitorTrap)).toBe(1); // the step is done, the other still asks
    m.vm.requestMonitorTrap("other", false);
    expect(m.vm.getControl(Control.MonitorTrap)).toBe(0);
    s.request("c");
    m.step(100);
    expect(seen).toEqual([0x1001]);
    expect(m.getState().eip).toBe(0x1004); // ran on to the HLT, no more monitor traps
  });

  it("without swbreak reports the PC after the INT3, as GDB then expects", async () => {
    const m = await machine(kind, [0x90, 0x90, 0xf4]);
    const s = session(m);
    s.reply("Z0,1001,1");
    s.request("c");
    expect(s.run()).toMatch(/^\+?\$T05thread:01;#/);
    expect(m.getState().eip).toBe(0x1002);
  });

  it("stops at a hardware breakpoint (an INT3 too) with EIP at it, with or without hwbreak", async () => {
    for (const features of ["", "qSupported:swbreak+;hwbreak+"]) {
      const m = await machine(kind, [0x90, 0x90, 0xf4]);
      const s = session(m);
      if (features) expect(s.reply(features)).toContain("hwbreak+");
      expect(s.reply("Z1,1001,1")).toBe("OK");
      expect(s.reply("Z0,1001,1")).toBe("OK"); // both kinds at one address: one INT3
      expect(s.reply("z0,1001,1")).toBe("OK");
      expect(m.readMemory(0x1001, 1)[0]).toBe(0xcc); // the hardware one is still there
      s.request("c");
      expect(s.run()).toMatch(features ? /^\+?\$T05hwbreak:;thread:01;#/ : /^\+?\$T05thread:01;#/);
      expect(m.getState().eip).toBe(0x1001);
      expect(s.reply("z1,1001,1")).toBe("OK");
      expect(m.readMemory(0x1001, 1)[0]).toBe(0x90);
    }
  });

  it("lets the guest's own INT3 reach its IDT while a breakpoint is planted elsewhere; INT n never exits", async () => {
    // int3 (to HANDLER: mov ebx, …; hlt)
    const m = await machine(kind, [0xcc, 0xf4]);
    const s = session(m);
    s.reply("Z0,1001,1");
    s.request("c");
    s.run();
    expect(s.stub.halted).toBe(false); // nothing reported: the guest took its #BP
    expect(m.getState()).toMatchObject({ eip: HANDLER + 6, ebx: 0xb3b3b3b3 });
    expect(m.vm.getControl(Control.ExceptionBitmap) & 8).toBe(8); // interception back on
    expect(m.vm.getControl(Control.MonitorTrap)).toBe(0);
    // INT 3 (CD 03) is a software interrupt: the exception bitmap does not apply (SDM Vol. 3 §26.2).
    const m2 = await machine(kind, [0xcd, 0x03, 0xf4]);
    m2.vm.setControl(Control.ExceptionBitmap, 8);
    m2.step(10);
    expect(m2.getState().ebx).toBe(0xb3b3b3b3);
  });

  it("stops a running guest on Ctrl-C (0x03) with SIGINT, and writes memory through the guest's view", async () => {
    const m = await machine(kind, [0xeb, 0xfe]); // jmp $
    const s = session(m);
    s.request("c");
    m.step(1000);
    s.stub.receive(Uint8Array.of(0x03));
    expect(s.output()).toMatch(/^\+?\$T02thread:01;#/);
    expect(s.stub.halted).toBe(true);
    expect(s.reply("M2000,4:deadbeef")).toBe("OK");
    expect([...m.readMemory(0x2000, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(s.reply("M2000,4:dead")).toBe("E01"); // the length and the data disagree
  });

  it("detaches: the breakpoints go, #BP is no longer intercepted, the guest runs on", async () => {
    const m = await machine(kind, [0x90, 0x90, 0xf4]);
    const s = session(m);
    s.reply("Z0,1001,1");
    expect(s.reply("D")).toBe("OK");
    expect(s.stub.halted).toBe(false);
    expect(m.readMemory(0x1001, 1)[0]).toBe(0x90);
    expect(m.vm.getControl(Control.ExceptionBitmap) & 8).toBe(0);
    expect(m.step(10).kind).toBe("halted");
  });

  it("stops after a write to a watched address, old value gone, and lets writes elsewhere on the page through", async () => {
    // mov ecx, 3 ; l: mov [0x1108], ecx ; add dword [0x1100], 5 ; loop l ; hlt
    const m = await machine(kind, [0xb9, ...le32(3), 0x89, 0x0d, ...le32(0x1108), 0x83, 0x05, ...le32(0x1100), 5, 0xe2, 0xf1, 0xf4]);
    const s = session(m);
    expect(s.reply("Z2,1100,4")).toBe("OK");
    expect(m.vm.memory.lookup(0x1000)).toMatchObject({ kind: "mapped", write: false, read: true, exec: true });
    s.request("c");
    expect(s.run()).toMatch(/^\+?\$T05watch:1100;thread:01;#/);
    expect(m.getState()).toMatchObject({ eip: 0x1012, ecx: 3 }); // after the ADD, as a debug register's trap
    expect([...m.readMemory(0x1100, 12)]).toEqual([5, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
    expect(s.reply("m1100,4")).toBe("05000000");
    expect(s.reply("M1104,4:aabbccdd")).toBe("OK"); // the debugger writes the protected page
    expect(s.reply("z2,1100,4")).toBe("OK");
    expect(m.vm.memory.lookup(0x1000)).toMatchObject({ kind: "mapped", write: true });
    s.request("c");
    s.run();
    expect(m.getState().ecx).toBe(0);
    expect([...m.readMemory(0x1100, 8)]).toEqual([15, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
  });

  it("stops after a read of a read watchpoint's bytes and after any access to an access watchpoint's, not for the bytes beside them", async () => {
    // l: mov eax, [0x1104] ; mov ebx, [0x1100] ; mov [0x1108], ecx ; jmp l — code and data on one page
    const m = await machine(kind, [0xa1, ...le32(0x1104), 0x8b, 0x1d, ...le32(0x1100), 0x89, 0x0d, ...le32(0x1108), 0xeb, 0xee]);
    const s = session(m);
    expect(s.reply("Z3,1100,4")).toBe("OK");
    expect(m.vm.memory.lookup(0x1000)).toMatchObject({ kind: "mapped", read: false, write: false, exec: true }); // execute-only
    s.request("c");
    expect(s.run()).toMatch(/^\+?\$T05rwatch:1100;thread:01;#/); // not the read of 0x1104 before it
    expect(m.getState().eip).toBe(0x100b); // after the read, as a debug register's trap
    expect(s.reply("z3,1100,4")).toBe("OK");
    expect(s.reply("Z4,1108,4")).toBe("OK");
    s.request("c");
    expect(s.run()).toMatch(/^\+?\$T05awatch:1108;thread:01;#/); // the store
    expect(m.getState().eip).toBe(0x1011);
    expect(s.reply("z4,1108,4")).toBe("OK");
    expect(m.vm.memory.lookup(0x1000)).toMatchObject({ kind: "mapped", read: true, write: true, exec: true });
    expect(s.reply("Z5,1100,4")).toBe(""); // no such kind
  });

  it("passes GDB's monitor commands (qRcmd) to the VMM monitor and its answer back as console output", async () => {
    const m = await machine(kind, [0xf4]);
    m.setState({ eax: 0x11223344 });
    const monitor = new Monitor(m.vm);
    let out = "";
    const stub = new GdbStub(m.vm, (d) => { out += d; }, (c) => monitor.execute(c));
    const hex = (t: string) => Buffer.from(t).toString("hex");
    stub.receive(Buffer.from(framePacket(`qRcmd,${hex("info registers")}`), "latin1"));
    const packets = [...out.matchAll(/\$([^#]*)#/g)].map((x) => x[1]!);
    expect(packets).toHaveLength(2);
    const text = Buffer.from(packets[0]!.slice(1), "hex").toString();
    expect(packets[0]![0]).toBe("O");
    expect(text).toContain("EAX=11223344");
    expect(text).toBe(`${monitor.execute("info registers")}\n`);
    expect(packets[1]).toBe("OK");
    expect(session(m).reply(`qRcmd,${hex("help")}`)).toBe(""); // a stub without a monitor: not supported
  });

  it("shows each vCPU as a thread: lists them, reads and writes the one Hg selects, steps the one Hc selects while the other runs on", async () => {
    const m = await twoVcpus(kind, 0x100);
    const vm = m.vm, s = session(m);
    const hex = (t: string) => Buffer.from(t).toString("hex");
    expect(s.reply("qfThreadInfo")).toBe("m01,02");
    expect(s.reply("qsThreadInfo")).toBe("l");
    expect(s.reply("T02")).toBe("OK");
    expect(s.reply("T03")).toBe("E01"); // no third vCPU
    expect(s.reply("Hg03")).toBe("E01");
    expect(s.reply(`qThreadExtraInfo,02`)).toBe(hex("CPU#1 [running]"));
    expect(s.reply("Hg02")).toBe("OK");
    expect(s.reply("p8")).toBe("00110000"); // EIP of vCPU 1
    expect(s.reply("P0=78563412")).toBe("OK");
    expect(s.reply("p0")).toBe("78563412");
    expect(vm.withVcpu(1, () => vm.getState().eax)).toBe(0x12345678);
    expect(vm.getState().eax).toBe(0); // vCPU 0's is its own
    expect(s.reply("qC")).toBe("QC02");
    // A step of thread 2: vCPU 0 runs its turn meanwhile, vCPU 1 exactly one instruction, and the stop names thread 2.
    expect(s.reply("Hc02")).toBe("OK");
    s.request("s");
    s.run();
    expect(s.output()).toBe(`+${framePacket("T05thread:02;")}`);
    expect(vm.withVcpu(1, () => vm.getState().eip)).toBe(CODE + 0x101);
    expect(vm.withVcpu(1, () => vm.getState().ecx)).toBe(0x101);
    expect(vm.getState().eax).toBeGreaterThan(0);
    expect(s.reply("qC")).toBe("QC02"); // the stop selected the thread that stopped
    expect(s.reply("p1")).toBe("01010000"); // ECX, of vCPU 1
    // A breakpoint only vCPU 0 reaches, inserted through vCPU 1's view (the same flat memory): thread 1 stops.
    expect(s.reply(`Z0,${CODE.toString(16)},1`)).toBe("OK");
    expect(s.reply("Hc-1")).toBe("OK");
    s.request("c");
    s.run();
    expect(s.output()).toBe(`+${framePacket("T05thread:01;")}`);
    expect(s.reply("p8")).toBe("01100000"); // vCPU 0 at the INT3, PC after it (no swbreak)
  });

  it("resumes the threads vCont names — stepping one, continuing others — and holds the rest where they are (scheduler locking)", async () => {
    const m = await twoVcpus(kind, 0);
    const vm = m.vm, s = session(m);
    const eax0 = () => vm.withVcpu(0, () => vm.getState().eax);
    expect(s.reply("vCont?")).toBe("vCont;c;C;s;S");
    for (const bad of ["vCont;x", "vCont;c:03", "vCont;C:02", "vCont;s:p2.1"]) expect(s.reply(bad), bad).toBe("E01");
    // Step thread 2 alone: thread 1 does not move, though it is runnable.
    s.request("vCont;s:02");
    s.run();
    expect(s.output()).toBe(`+${framePacket("T05thread:02;")}`);
    expect(vm.withVcpu(1, () => vm.getState().eip)).toBe(CODE + 0x101);
    expect(eax0()).toBe(0);
    // Step thread 2 with a signal (ignored, as QEMU does) while the others continue. A stop leaves the schedule as it
    // was (src/vmm/vm.ts: what a recorded history replays without the stops): thread 2 goes on with the rest of its
    // turn, so its step ends before thread 1 runs; continuing both, thread 1 gets its turn.
    s.request("vCont;S05:02;c");
    s.run();
    expect(s.output()).toBe(`+${framePacket("T05thread:02;")}`);
    expect(vm.withVcpu(1, () => vm.getState().eip)).toBe(CODE + 0x102);
    expect(eax0()).toBe(0);
    s.request("vCont;c");
    m.step(60_000);
    expect(eax0()).toBeGreaterThan(0);
    s.stub.receive(Uint8Array.of(3)); // (Ctrl-C: stopped again, the VM's next run ends at once)
    m.step(1);
    // Thread 2 alone to a halt with interrupts off: nothing else may run, and the VM waits for the debugger, not "halted".
    const before = eax0();
    vm.withVcpu(1, () => vm.setState({ eip: CODE + 0x104 }));
    s.request("vCont;c:02");
    expect(m.step(10_000)).toEqual({ kind: "idle", untilNs: Infinity });
    expect(vm.isHalted(1)).toBe(true);
    expect(eax0()).toBe(before);
    s.request("D"); // detach: the held vCPU runs again
    m.step(5000);
    expect(eax0()).toBeGreaterThan(before);
  });

  it("names threads p1.N when GDB speaks multiprocess, as QEMU's stub does", async () => {
    const m = await machine(kind, [0xf4]);
    m.vm.addVcpu();
    const s = session(m);
    expect(s.reply("qSupported:multiprocess+;swbreak+")).toMatch(/;multiprocess\+$/);
    expect(s.reply("qfThreadInfo")).toBe("mp01.01,p01.02");
    expect(s.reply("?")).toBe("T05thread:p01.01;");
    expect(s.reply("Hgp1.2")).toBe("OK");
    expect(s.reply("qC")).toBe("QCp01.02");
    expect(s.reply("Tp2.1")).toBe("E01"); // no process 2
    expect(s.reply("qThreadExtraInfo,p1.2")).toBe(Buffer.from("CPU#1 [halted ]").toString("hex")); // waiting for a start-up IPI
    expect(s.reply("Hgp1.-1")).toBe("OK"); // all threads: the selection stays
    expect(s.reply("qC")).toBe("QCp01.02");
  });

  it("takes GDB over TCP, one at a time: a second debugger is turned away, and may connect once the first left", async () => {
    const m = await machine(kind, [0xf4]);
    let listening = 0;
    const ready = waitForGdb(m.vm, 0, (p) => { listening = p; });
    await new Promise((r) => setTimeout(r, 50));
    const talk = (packet: string) => new Promise<{ reply: string; closed: boolean }>((resolve) => {
      const c = connect(listening, "127.0.0.1");
      let reply = "";
      c.on("data", (b) => { reply += b.toString("latin1"); if (reply.includes("#")) { c.end(); resolve({ reply, closed: false }); } });
      c.on("close", () => resolve({ reply, closed: true }));
      c.write(framePacket(packet));
    });
    const first = connect(listening, "127.0.0.1");
    first.resume(); // (its replies are not read: flowing, so that its end arrives)
    const session = await ready;
    const firstStub = session.stub;
    expect(firstStub.halted).toBe(true);
    expect((await talk("?")).reply).toBe(""); // turned away while the first is connected
    first.write(framePacket("D"));
    first.end();
    await new Promise((r) => first.on("close", r));
    await new Promise((r) => setTimeout(r, 50));
    expect(firstStub.halted).toBe(false); // detached: the guest runs on
    expect((await talk("?")).reply).toBe(`+${framePacket("T05thread:01;")}`);
    expect(session.stub).not.toBe(firstStub);
    expect(session.stub.halted).toBe(true); // a debugger that connects stops the guest
    session.close();
  });
});
