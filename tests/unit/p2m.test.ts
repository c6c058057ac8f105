// The guest-physical map (vm.memory): the VMM withdraws, maps and protects
// guest pages, and the core's accesses obey — an unbacked frame is an EPT
// violation the VMM can resolve, a write to a read-only frame exits and the
// guest never sees it. Expected values are the map's documented semantics
// (VT-x EPT violations; KVM's read-only memory slots), on both engines.
import { describe, it, expect } from "vitest";
import { NestedPaging } from "../../src/vmm/paging/index.js";
import { ENGINES } from "../helpers.js";
import { flatMachine, le32 } from "./flat-machine.js";

const RAM = 4 << 20;
const CODE = 0x1000;

const machine = (kind: (typeof ENGINES)[number], code: number[]) => flatMachine(kind, RAM, code, CODE);

describe.each(ENGINES)("guest-physical map on %s", (kind) => {
  it("turns an access to a withdrawn page into an EPT violation; the VMM maps a frame and the guest goes on", async () => {
    // mov eax, [0x200000] ; mov dword [0x200004], 0x1234 ; hlt
    const m = await machine(kind, [0xa1, ...le32(0x200000), 0xc7, 0x05, ...le32(0x200004), ...le32(0x1234), 0xf4]);
    const mem = m.vm.memory;
    mem.unmap(0x200000);
    expect(mem.lookup(0x200000)).toEqual({ kind: "trap" });
    expect(() => mem.read(0x200000, 4)).toThrow(/not RAM/);
    const frame = mem.allocFrame();
    expect(frame).toBeGreaterThanOrEqual(RAM); // the VMM's own frames lie beyond guest RAM
    mem.writeHost(frame, Uint8Array.from(le32(0x5a5a5a5a)));
    const seen: { gpa: number; access: string; linear: number | null }[] = [];
    m.vm.onEptViolation((e) => {
      seen.push({ gpa: e.gpa, access: e.access, linear: e.linear });
      mem.map(0x200000, frame);
      return "resume";
    });
    const stop = m.step(10);
    expect(stop.kind).toBe("halted");
    expect(seen).toEqual([{ gpa: 0x200000, access: "read", linear: 0x200000 }]);
    expect(m.getState().eax).toBe(0x5a5a5a5a);
    // The write landed in the VMM's frame, which is what the guest now sees at 0x200000.
    expect(mem.readHostU32(frame + 4)).toBe(0x1234);
    expect(mem.readU32(0x200004)).toBe(0x1234);
    expect(m.vm.stats().paging.violations).toBe(1);
  });

  it("sends writes to a read-only page with writesExit to the MMIO bus: the guest never sees them", async () => {
    // mov dword [0x300000], 0xdeadbeef ; mov ecx, [0x300000] ; hlt
    const m = await machine(kind, [0xc7, 0x05, ...le32(0x300000), ...le32(0xdeadbeef), 0x8b, 0x0d, ...le32(0x300000), 0xf4]);
    const mem = m.vm.memory;
    mem.writeU32(0x300000, 0x11223344);
    mem.protect(0x300000, { read: true, exec: true }, 1, true);
    const writes: [number, number, number][] = [];
    const orig = m.vm.mmio.write.bind(m.vm.mmio);
    let depth = 0; // (the bus splits a write nobody claims into bytes, through itself)
    m.vm.mmio.write = (a, s, v) => { if (depth++ === 0) writes.push([a, s, v]); orig(a, s, v); depth--; };
    const stop = m.step(10);
    expect(stop.kind).toBe("halted");
    expect(writes).toEqual([[0x300000, 4, 0xdeadbeef]]);
    expect(m.vm.stats().exits["mmio-write"]).toBe(1);
    expect(m.getState().ecx).toBe(0x11223344);
    expect(mem.readU32(0x300000)).toBe(0x11223344);
  });

  it("reports a write to a read-only page as a violation; widening the permission lets it complete", async () => {
    // mov dword [0x300000], 0xdeadbeef ; hlt
    const m = await machine(kind, [0xc7, 0x05, ...le32(0x300000), ...le32(0xdeadbeef), 0xf4]);
    const mem = m.vm.memory;
    mem.protect(0x300000, { read: true });
    let violations = 0;
    m.vm.onEptViolation((e) => {
      violations++;
      expect(e.access).toBe("write");
      expect(e.entry & 0xfffff000).toBe(0x300000); // the identity map's frame
      mem.protect(0x300000, { read: true, write: true });
      return "resume";
    });
    expect(m.step(10).kind).toBe("halted");
    expect(violations).toBe(1);
    expect(mem.readU32(0x300000)).toBe(0xdeadbeef);
  });

  it.each(["direct", "nested"] as const)("runs code from an execute-only page and makes a read of it a violation naming its size (%s paging)", async (mode) => {
    // At 0x1000: mov eax, [0x1010] ; mov cx, [0x1012] ; hlt — then data at 0x1010.
    const m = await machine(kind, [0xa1, ...le32(0x1010), 0x66, 0x8b, 0x0d, ...le32(0x1012), 0xf4]);
    if (mode === "nested") m.vm.setPaging(new NestedPaging());
    const mem = m.vm.memory;
    mem.writeU32(0x1010, 0xcafef00d);
    mem.protect(0x1000, { exec: true }); // EPT's execute-only: fetches go on, reads exit
    expect(mem.lookup(0x1000)).toMatchObject({ kind: "mapped", read: false, write: false, exec: true });
    const seen: { gpa: number; access: string; bytes: number; walk: boolean }[] = [];
    // Each read is let through for its instruction (the monitor trap flag), then the page is execute-only again.
    m.vm.onEptViolation((e) => {
      seen.push({ gpa: e.gpa, access: e.access, bytes: e.bytes, walk: e.walk });
      mem.protect(0x1000, { read: true, exec: true });
      m.vm.requestMonitorTrap("test", true);
      return "resume";
    });
    m.vm.onMonitorTrap(() => { mem.protect(0x1000, { exec: true }); m.vm.requestMonitorTrap("test", false); return "resume"; });
    expect(m.step(10).kind).toBe("halted");
    expect(seen).toEqual([
      { gpa: 0x1010, access: "read", bytes: 4, walk: false },
      { gpa: 0x1012, access: "read", bytes: 2, walk: false },
    ]);
    expect(m.getState().eax).toBe(0xcafef00d);
    expect(m.getState().ecx & 0xffff).toBe(0xcafe);
  });

  it("stops with a clear message when nothing handles a violation", async () => {
    const m = await machine(kind, [0xa1, ...le32(0x200000), 0xf4]);
    m.vm.memory.unmap(0x200000);
    const stop = m.step(10);
    expect(stop).toEqual({ kind: "unimplemented", message: "EPT violation: read of guest-physical 0x00200000 (linear 0x00200000) at 0008:00001000, and no handler for it" });
  });

  it("refuses device accesses outside the map and keeps them off core metadata", async () => {
    const m = await machine(kind, [0xf4]);
    const mem = m.vm.memory;
    expect(mem.isRam(RAM - 4, 4)).toBe(true);
    expect(mem.isRam(RAM - 4, 8)).toBe(false);
    expect(() => mem.write(RAM, new Uint8Array(4))).toThrow(/not RAM/);
    expect(() => mem.map(0x1000, mem.hostBytes)).toThrow(/not a range of host frames/);
    mem.protect(0x5000, { read: true });
    expect(() => mem.writeU32(0x5000, 1)).toThrow(/not writable/);
  });

  it("is the identity map again after a core reset, with every entry the VMM set above RAM gone", async () => {
    const m = await machine(kind, [0xf4]);
    const mem = m.vm.memory;
    const frame = mem.allocFrame();
    // Above RAM, in the table's second page (4-8 MiB), its last page (MMIO space near 4 GiB) and a page of RAM.
    for (const gpa of [RAM + 0x3000, 0xfee00000, 0xe0000000]) mem.map(gpa, frame);
    mem.unmap(0x200000);
    m.vm.core.reset(RAM);
    for (const gpa of [RAM + 0x3000, 0xfee00000, 0xe0000000]) expect(mem.lookup(gpa)).toEqual({ kind: "unassigned" });
    for (const gpa of [0, 0x200000, RAM - 0x1000]) {
      expect(mem.lookup(gpa)).toEqual({ kind: "mapped", frame: gpa, read: true, write: true, exec: true, writesExit: false });
    }
  });
});
