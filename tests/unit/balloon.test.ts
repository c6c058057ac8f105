/**
 * virtio-balloon (src/devices/virtio/balloon.ts) on a PC's guest-physical map, on both engines, its queues driven
 * from the test as Linux's virtio_balloon drives them. Expected behaviour from the Virtio 1.2 specification, §5.5:
 * the configuration's num_pages (device-written) and actual (driver-written) little-endian words; inflate and deflate
 * buffers of 32-bit page frame numbers, returned used with nothing written; the statistics queue's 10-byte entries
 * (le16 tag, le64 value; VIRTIO_BALLOON_S_MEMFREE 4, S_MEMTOT 5), the buffer the device keeps until it wants fresh
 * figures and then returns; and from KVM/QEMU's practice the spec leaves to the device: a page the guest gave up is
 * gone from the guest (here: out of the map, an access exits) and comes back zeroed when the guest touches it.
 * Linux's driver and accounting are the other check (tests/balloon-linux.test.ts).
 */
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { Virtqueue } from "../../src/devices/virtio/virtqueue.js";
import type { VirtioContext } from "../../src/devices/virtio/device.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { ENGINES } from "../helpers.js";
import { Monitor } from "../../src/vmm/monitor.js";
import type { EngineKind } from "../../src/engine/engine.js";

const RAM = 8 << 20;
const RINGS = 0x100000; // three queues' rings, 0x3000 apart
const BUF = 0x110000;   // the buffers the "driver" hands over
const QSIZE = 8;

async function balloonPc(kind: EngineKind, activateNow = true) {
  const pc = new Pc({ engine: await createEngine(kind, RAM), ramBytes: RAM, onSerial: () => {}, balloon: true });
  const balloon = pc.balloon!, m = pc.vm.memory;
  let used = 0, configChanges = 0;
  const ctx: VirtioContext = {
    memory: m, features: 1n << 1n, used: () => { used++; }, configChanged: () => { configChanges++; }, fail: (e) => { throw e; },
  };
  const queues = [0, 1, 2].map((i) => {
    const q = new Virtqueue(i, QSIZE, m);
    q.size = QSIZE;
    q.descAddr = RINGS + i * 0x3000; q.availAddr = q.descAddr + 0x1000; q.usedAddr = q.descAddr + 0x2000;
    q.enable();
    return q;
  });
  const activate = () => balloon.activate(ctx, queues);
  if (activateNow) activate();
  const availIdx = [0, 0, 0];
  /** Offer one device-readable buffer on queue `i` (descriptor `head`) and notify. */
  const offer = (i: number, head: number, bytes: Uint8Array, notify = true) => {
    const q = queues[i]!, at = BUF + head * 0x1000 + i * 0x10000;
    m.write(at, bytes);
    m.writeU32(q.descAddr + 16 * head, at); m.writeU32(q.descAddr + 16 * head + 4, 0);
    m.writeU32(q.descAddr + 16 * head + 8, bytes.length); m.writeU16(q.descAddr + 16 * head + 12, 0);
    m.writeU16(q.availAddr + 4 + 2 * (availIdx[i]! % QSIZE), head);
    m.writeU16(q.availAddr + 2, ++availIdx[i]!);
    if (notify) balloon.notify(i);
  };
  const usedRing = (i: number) => {
    const u = queues[i]!.usedAddr, n = m.readU16(u + 2);
    return Array.from({ length: n }, (_, k) => [m.readU32(u + 4 + 8 * k), m.readU32(u + 8 + 8 * k)]);
  };
  return { pc, balloon, m, offer, usedRing, activate, counts: () => ({ used, configChanges }) };
}

const pfns = (...p: number[]) => { const b = new Uint8Array(4 * p.length), dv = new DataView(b.buffer); p.forEach((v, i) => dv.setUint32(4 * i, v, true)); return b; };

describe.each(ENGINES)("virtio-balloon on %s (Virtio 1.2 §5.5)", (kind) => {
  it("inflate takes pages out of the map, zeroed; a guest access brings one back zeroed; deflate gives the rest back", async () => {
    const { pc, balloon, m, offer, usedRing } = await balloonPc(kind);
    m.fill(0x200000, 0x2000, 0xab);
    m.fill(0x3ff000, 0x1000, 0xcd);
    offer(0, 0, pfns(0x200, 0x201, 0x3ff, 0x200, 0x900)); // a repeat and a frame past RAM change nothing
    expect(usedRing(0)).toEqual([[0, 0]]);
    for (const gpa of [0x200000, 0x201000, 0x3ff000]) expect(m.lookup(gpa).kind).toBe("trap");
    expect(m.readHost(0x200000, 0x2000).every((b) => b === 0)).toBe(true);
    expect(m.readHost(0x3ff000, 0x1000).every((b) => b === 0)).toBe(true);
    expect(balloon.stats()).toMatchObject({ withdrawnPages: 3, inflated: 3, deflated: 0, faultedBack: 0 });

    // mov eax, [0x200000]; mov dword [0x201004], 0x1234; hlt — flat protected mode at CPL 0
    const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
    pc.vm.setState({
      cr0: 0x11, eip: 0x1000, eflags: 2, eax: 0xffffffff, cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16),
      es: flat(Attr.flatData32, 16), ss: flat(Attr.flatData32, 16), esp: 0x8000,
    });
    m.write(0x1000, Uint8Array.of(0xa1, 0x00, 0x00, 0x20, 0x00, 0xc7, 0x05, 0x04, 0x10, 0x20, 0x00, 0x34, 0x12, 0x00, 0x00, 0xf4));
    expect(pc.vm.run(100).kind).toBe("halted");
    expect(pc.vm.getState().eax).toBe(0);
    expect(m.readU32(0x201004)).toBe(0x1234);
    expect(m.lookup(0x200000)).toMatchObject({ kind: "mapped", frame: 0x200000, write: true });
    expect(balloon.stats()).toMatchObject({ withdrawnPages: 1, faultedBack: 2 });

    offer(1, 0, pfns(0x3ff, 0x200)); // 0x200 is back already
    expect(usedRing(1)).toEqual([[0, 0]]);
    expect(m.lookup(0x3ff000)).toMatchObject({ kind: "mapped", frame: 0x3ff000 });
    expect(m.readU32(0x3ff000)).toBe(0);
    expect(balloon.stats()).toMatchObject({ withdrawnPages: 0, inflated: 3, deflated: 1, faultedBack: 2 });
  });

  it("num_pages is the VMM's (a configuration interrupt when it changes), actual the driver's", async () => {
    const { balloon, counts } = await balloonPc(kind);
    balloon.setTarget(0x345);
    expect(counts().configChanges).toBe(1);
    expect(balloon.readConfig(0, 4)).toBe(0x345);
    expect(balloon.readConfig(1, 1)).toBe(0x03);
    balloon.writeConfig(0, 4, 99); // the driver may not move the target
    expect(balloon.readConfig(0, 4)).toBe(0x345);
    balloon.writeConfig(4, 4, 0x201);
    balloon.writeConfig(5, 1, 0x03);
    expect(balloon.readConfig(4, 4)).toBe(0x301);
    expect(balloon.stats()).toMatchObject({ targetPages: 0x345, actualPages: 0x301 });
    expect(() => balloon.setTarget(RAM / 4096 + 1)).toThrow(RangeError);
  });

  it("keeps the statistics buffer until asked, then returns it for the driver to refill", async () => {
    const { balloon, offer, usedRing } = await balloonPc(kind);
    expect(balloon.requestStats()).toBe(false); // none offered yet
    const entry = (tag: number, v: bigint) => { const b = new Uint8Array(10), dv = new DataView(b.buffer); dv.setUint16(0, tag, true); dv.setBigUint64(2, v, true); return [...b]; };
    offer(2, 1, Uint8Array.from([...entry(4, 1000n * 4096n), ...entry(5, 2048n * 4096n), ...entry(99, 7n), ...entry(1, 3n)]));
    expect(balloon.stats().guest).toEqual({ "free-memory": 1000 * 4096, "total-memory": 2048 * 4096, "swap-out": 3 });
    expect(usedRing(2)).toEqual([]);
    expect(balloon.requestStats()).toBe(true);
    expect(usedRing(2)).toEqual([[1, 0]]);
    expect(balloon.requestStats()).toBe(false);
  });

  it("takes a statistics buffer offered before DRIVER_OK (Linux's probe kicks before it), at activation", async () => {
    const { balloon, offer, activate } = await balloonPc(kind, false);
    const b = new Uint8Array(10), dv = new DataView(b.buffer);
    dv.setUint16(0, 5, true); dv.setBigUint64(2, 4096n, true);
    offer(2, 0, b, false);
    expect(balloon.stats().guest).toBeNull();
    activate();
    expect(balloon.stats().guest).toEqual({ "total-memory": 4096 });
  });

  it("gives every page back at a device reset, and a snapshot keeps what it holds", async () => {
    const a = await balloonPc(kind);
    a.offer(0, 0, pfns(0x300, 0x301));
    a.balloon.setTarget(2);
    const snapshot = a.pc.saveSnapshot();
    a.balloon.reset();
    expect(a.m.lookup(0x300000).kind).toBe("mapped");
    expect(a.m.lookup(0x301000).kind).toBe("mapped");
    expect(a.balloon.stats().withdrawnPages).toBe(0);

    const b = await balloonPc(kind);
    b.pc.loadSnapshot(snapshot);
    expect(b.m.lookup(0x300000).kind).toBe("trap");
    expect(b.m.lookup(0x301000).kind).toBe("trap");
    expect(b.balloon.stats()).toMatchObject({ targetPages: 2, withdrawnPages: 2, inflated: 2 });
    expect(b.balloon.faultBack(0x300123)).toBe(true);
    expect(b.m.lookup(0x300000)).toMatchObject({ kind: "mapped", frame: 0x300000 });
  });

  it("the monitor's balloon MB sets the guest's memory as QEMU's does; info balloon reports it", async () => {
    const { pc, offer } = await balloonPc(kind);
    const monitor = new Monitor(pc.vm, { balloon: pc.balloon! });
    expect(monitor.execute("balloon 6")).toMatch(/target 6 MiB/);
    expect(pc.balloon!.stats().targetPages).toBe(512); // (8 - 6) MiB of 4 KiB pages
    expect(monitor.execute("balloon 9")).toBe("balloon MB: the guest's memory, 1 to 8 MiB");
    expect(monitor.execute("balloon x")).toBe("balloon MB: the guest's memory, 1 to 8 MiB");
    pc.balloon!.writeConfig(4, 4, 256); // the driver's count: 1 MiB so far
    offer(0, 0, pfns(0x300));
    expect(monitor.execute("info balloon")).toBe("balloon: actual=7 MiB (target 6 MiB); 1 pages withdrawn (inflated 1, deflated 0, faulted back 0); the guest's last report: no statistics from the guest yet");
    expect(new Monitor(pc.vm).execute("info balloon")).toBe("no balloon (symbiont boot --balloon adds one)");
  });
});
