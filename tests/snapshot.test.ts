// Snapshots (src/vmm/snapshot.ts, Pc.saveSnapshot/loadSnapshot): a test kernel stopped at several points, each time
// saved and taken back into a new machine on a new engine, must print what it prints under QEMU (its golden file) and
// end exactly as the run that was never stopped — same instruction count, same registers — on both engines.
import { describe, it, expect } from "vitest";
import { readFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ENGINES, readBytes } from "./helpers.js";
import { createEngine } from "../src/node/engines.js";
import { Pc, type PcOptions } from "../src/machine/pc.js";
import { decodeSnapshot, encodeSnapshot, snapshotSavedBy, SnapshotError, type State } from "../src/vmm/snapshot.js";
import { VirtioRng, seededEntropy } from "../src/devices/virtio/rng.js";
import type { EngineKind } from "../src/engine/engine.js";
import { MemoryDisk } from "../src/devices/block/backend.js";
import { openDiskImage } from "../src/node/disk-file.js";
import { plugNics } from "../src/machine/nics.js";
import { defaultMac } from "../src/net/ethernet.js";

const dir = new URL("./kernels/", import.meta.url).pathname;
const RAM = 32 * 1024 * 1024;
const LIMIT = 2_000_000_000;

type Options = Omit<PcOptions, "engine" | "ramBytes" | "onSerial">;

async function machine(engine: EngineKind, out: number[], opts: Options = {}): Promise<Pc> {
  return new Pc({ engine: await createEngine(engine, RAM), ramBytes: RAM, onSerial: (b) => out.push(b), clock: "deterministic", ...opts });
}

/** Run `name` to its end; with `stops`, stop after each of those instruction counts and go on in a new machine from a snapshot. */
async function run(name: string, engine: EngineKind, stops: number[] = [], opts: Options = {}) {
  const bin = `${dir}bin/${name}.elf`;
  const out: number[] = [];
  let pc = await machine(engine, out, opts);
  pc.loadKernel(readBytes(bin), { path: bin });
  let snapshots = 0;
  for (const at of stops) {
    const stop = pc.vm.run(at - pc.vm.stats().instructions);
    if (stop.kind !== "budget") break;
    const bytes = pc.saveSnapshot();
    pc = await machine(engine === "wasm" ? "js" : "wasm", out, opts); // (the snapshot is the same for both engines)
    pc.loadSnapshot(bytes);
    snapshots++;
  }
  const stop = pc.vm.run(LIMIT);
  const { eip, eflags, cr0, cr3, cs } = pc.vm.getState();
  return { serial: Buffer.from(out).toString("latin1"), stop, instructions: pc.vm.stats().instructions, regs: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => pc.vm.reg(i)), eip, eflags, cr0, cr3, cs: cs.selector, snapshots };
}

// Test kernels with the devices QEMU ran them with (mmio: pc-testdev's MMIO window and data register; vga: the VGA).
const KERNELS: [string, Options][] = [
  ["events", {}], ["tasks", {}], ["paging", {}], ["pae", {}], ["v86", {}], ["fpu", {}], ["sse", {}], ["smc", {}],
  ["string", {}], ["gdbsmp", { cpus: 2 }], ["vga", { vga: true }], ["mmio", { testdev: true }],
  // Under the VMM's memory virtualization, whose tables a restored machine builds again (shadow: from the guest's).
  ["paging", { paging: "shadow" }], ["pae", { paging: "shadow" }], ["events", { paging: "shadow" }], ["tasks", { paging: "shadow" }],
  ["paging", { paging: "nested" }], ["v86", { paging: "nested" }], ["gdbsmp", { cpus: 2, paging: "nested" }],
];

describe("a test kernel saved and restored into a new machine, again and again, runs as if never stopped", () => {
  for (const [name, opts] of KERNELS) {
    for (const engine of ENGINES) {
      it(`${name}${opts.paging ? ` under ${opts.paging} paging` : ""} (${engine} engine, then the other)`, async () => {
        const bin = `${dir}bin/${name}.elf`;
        expect(existsSync(bin), `${bin} is missing: run tests/kernels/build.sh`).toBe(true);
        const whole = await run(name, engine, [], opts);
        expect(whole.serial).toBe(readFileSync(`${dir}golden/${name}.txt`, "latin1"));
        const n = whole.instructions;
        const stopped = await run(name, engine, [1, Math.floor(n / 4), Math.floor(n / 2), n - 1], opts);
        expect(stopped.snapshots).toBe(4);
        const { snapshots: _, ...rest } = stopped, { snapshots: __, ...expected } = whole;
        expect(rest).toEqual(expected);
      }, 120_000);
    }
  }
});

/** A screen as a short string (its pixels hashed): comparing 640×480 pictures element by element is slow. */
function digest(screen: object): string {
  return JSON.stringify(screen, (_k, v: unknown) => ArrayBuffer.isView(v) ? createHash("sha256").update(v as Uint8Array).digest("hex") : v);
}

describe("the VGA in a snapshot", () => {
  // vgagfx.asm draws a picture per mode and waits for a key at each READY line (tests/unit/vga-graphics.test.ts holds
  // those pictures against QEMU's): at each, the machine is saved and restored into a new one on the other engine,
  // which must show the same screen — planar and chained video memory, the DAC, VBE's framebuffer — and go on.
  // (Once, from the Wasm engine: the machines alternate between the engines.)
  for (const engine of ["wasm"] as const) {
    it(`vgagfx (${engine} engine, then the other): the same screen at every picture, the same output to the end`, async () => {
      const bin = `${dir}bin/vgagfx.elf`;
      const run = async (restoreAtEachPicture: boolean) => {
        const out: number[] = [];
        let pc = await machine(engine, out, { vga: true }), at = engine, pictures = 0;
        const screens: string[] = [];
        pc.loadKernel(readBytes(bin), { path: bin });
        for (let i = 0; i < 400 && pc.exitStatus === null; i++) {
          pc.vm.run(5_000_000);
          const ready = (Buffer.from(out).toString("latin1").match(/^READY \S+\r?$/gm) ?? []).length;
          for (; pictures < ready; pictures++) {
            screens.push(digest(pc.vga!.screen()));
            if (restoreAtEachPicture) {
              const bytes = pc.saveSnapshot();
              at = at === "wasm" ? "js" : "wasm";
              pc = await machine(at, out, { vga: true });
              pc.loadSnapshot(bytes);
              expect(digest(pc.vga!.screen()), `picture ${pictures + 1}`).toBe(screens[screens.length - 1]);
            }
            pc.uart.receive(Uint8Array.of(0x20));
          }
        }
        return { serial: Buffer.from(out).toString("latin1"), screens, exit: pc.exitStatus };
      };
      const whole = await run(false);
      expect(whole.screens.length).toBe(8);
      expect(whole.serial).toContain("vgagfx done");
      expect(await run(true)).toEqual(whole);
    }, 180_000);
  }
});

describe("a snapshot taken back into the machine that saved it, after it ran on to its end (the monitor's loadvm)", () => {
  const cases: [string, Options][] = [["events", {}], ["events", { paging: "shadow" }], ["gdbsmp", { cpus: 2 }], ["paging", { paging: "nested" }]];
  for (const [name, opts] of cases) {
    it(`${name}${opts.paging ? ` under ${opts.paging} paging` : ""}: the same output from there, the same end`, async () => {
      const bin = `${dir}bin/${name}.elf`;
      const out: number[] = [];
      const pc = await machine("wasm", out, opts);
      pc.loadKernel(readBytes(bin), { path: bin });
      expect(pc.vm.run(50_000).kind).toBe("budget");
      const snapshot = pc.saveSnapshot(), mark = out.length;
      const end = () => ({ stop: pc.vm.run(LIMIT), serial: Buffer.from(out.splice(mark)).toString("latin1"), instructions: pc.vm.stats().instructions, state: pc.vm.getState() });
      const first = end();
      expect(Buffer.from(out).toString("latin1") + first.serial).toBe(readFileSync(`${dir}golden/${name}.txt`, "latin1"));
      pc.loadSnapshot(snapshot);
      expect(end()).toEqual(first);
    }, 120_000);
  }
});

describe("snapshot errors", () => {
  it("a file that is not a snapshot, or is cut short, or is of another machine, is refused and the machine is unchanged", async () => {
    const out: number[] = [];
    const pc = await machine("wasm", out);
    const bin = `${dir}bin/events.elf`;
    pc.loadKernel(readBytes(bin), { path: bin });
    pc.vm.run(100_000);
    const bytes = pc.saveSnapshot();
    const before = pc.vm.getState();
    expect(() => pc.loadSnapshot(new TextEncoder().encode("hello"))).toThrow(/not a Symbiont snapshot/);
    expect(() => pc.loadSnapshot(bytes.subarray(0, bytes.length - 100))).toThrow(/cut short/);
    const two = await machine("wasm", [], { cpus: 2 });
    expect(() => two.loadSnapshot(bytes)).toThrow(/vCPUs \(--smp\) is 1, this one's 2/);
    const big = new Pc({ engine: await createEngine("wasm", 2 * RAM), ramBytes: 2 * RAM, onSerial: () => {}, clock: "deterministic" });
    expect(() => big.loadSnapshot(bytes)).toThrow(/RAM \(--mem\) is 33554432, this one's 67108864/);
    expect(pc.vm.getState()).toEqual(before);
    await expect(machine("wasm", [], { testdev: true }).then((m) => m.loadSnapshot(bytes))).rejects.toThrow("snapshot: its machine's pc-testdev (--testdev) is none, this one's on");
  });

  it("holds a disk in memory (its written pages); refuses an image the guest writes in place, saying what to use", async () => {
    const written = MemoryDisk.blank(1 << 20);
    written.write(8192 + 100, Uint8Array.of(1, 2, 3));
    written.write((1 << 20) - 1, Uint8Array.of(9));
    const pc = await machine("wasm", [], { disks: [{ backend: written }] });
    const bytes = pc.saveSnapshot();
    const fresh = MemoryDisk.blank(1 << 20);
    fresh.write(0, Uint8Array.of(7)); // (a restore replaces what was there)
    (await machine("js", [], { disks: [{ backend: fresh }] })).loadSnapshot(bytes);
    expect(fresh.bytes).toEqual(written.bytes);

    const dir = mkdtempSync(join(tmpdir(), "symbiont-snapshot-"));
    try {
      const image = join(dir, "disk.img");
      writeFileSync(image, new Uint8Array(1 << 20));
      const inPlace = await machine("wasm", [], { disks: [{ backend: openDiskImage(image, "rw") }] });
      expect(() => inPlace.saveSnapshot()).toThrow(`savevm: the disk image ${image} is written in place, and a snapshot holds the machine, not its disks: use --disk ${image},snapshot (its writes are kept and saved with the machine) or ,ro`);
      const readOnly = await machine("wasm", [], { disks: [{ backend: openDiskImage(image, "ro") }] });
      expect(readOnly.saveSnapshot().length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("holds network cards (a machine without the same cards is refused, naming them); one NE2000 shared by VMs only with all of them (tests/snapshot-group.test.ts); reverse execution with each card a VM has alone", async () => {
    const withCards = async () => {
      const pc = await machine("wasm", []);
      plugNics([pc], { model: "virtio", vpio: false, shared: false });
      plugNics([pc], { model: "ne2k", vpio: false, shared: false }, { addresses: { mac: defaultMac(1), ipv4: 0x0a000310, prefix: 24 } });
      plugNics([pc], { model: "ne2k", vpio: true, shared: false }, { addresses: { mac: defaultMac(2), ipv4: 0x0a000410, prefix: 24 } });
      return pc;
    };
    const bytes = (await withCards()).saveSnapshot();
    (await withCards()).loadSnapshot(bytes);
    const none = await machine("wasm", []);
    expect(() => none.loadSnapshot(bytes)).toThrow("snapshot: its machine's devices is virtio-net, this one's none");
    const noNe2k = await machine("wasm", []);
    plugNics([noNe2k], { model: "virtio", vpio: false, shared: false });
    expect(() => noNe2k.loadSnapshot(bytes)).toThrow(
      "snapshot: its machine's network cards (--nic) is virtio-net 52:54:00:12:34:56, ne2k-pci 52:54:00:12:34:57, ne2k-pci (vpio) 52:54:00:12:34:58, this one's virtio-net 52:54:00:12:34:56");
    const pcs = [await machine("wasm", []), await machine("wasm", [])];
    plugNics(pcs, { model: "ne2k", vpio: true, shared: true });
    expect(() => pcs[0]!.saveSnapshot()).toThrow("savevm: this machine's NE2000 is shared with other VMs (--vms, shared=): only a snapshot of all of them holds it");
    expect(pcs[0]!.rewindable()).toBe("its network card is a VPIO NE2000 other VMs share: the frames it receives are not this machine's alone");
    expect(typeof (await withCards()).rewindable()).toBe("object"); // (their frames are in the history: tests/gdb-reverse-linux.test.ts)
  });

  it("keeps a deterministic VM's virtio-rng generator where it was: a restored device hands on the same bytes", () => {
    const source = seededEntropy(7), device = new VirtioRng(source);
    source(new Uint8Array(40));
    const state = decodeSnapshot(encodeSnapshot({ device: device.save() })).device as State;
    const again = seededEntropy(7);
    new VirtioRng(again).restore(state);
    const next = new Uint8Array(24), restored = new Uint8Array(24);
    source(next);
    again(restored);
    expect(restored).toEqual(next);
    expect(next.some((b) => b !== 0)).toBe(true);
  });

  it("keeps non-finite numbers, bigints and typed arrays through the file format", () => {
    const tree = { a: Infinity, b: -Infinity, c: 12n ** 20n, d: Uint32Array.of(1, 2, 0xffffffff), e: [Float64Array.of(0.5), { f: "x" }] };
    expect(decodeSnapshot(encodeSnapshot(tree))).toEqual(tree);
  });

  it("records the command line it was saved by, read back without the RAM (none: null; not a snapshot: null)", () => {
    const bytes = encodeSnapshot({ machine: {}, ram: new Uint8Array(1 << 20), savedBy: "symbiont boot --mem 64" });
    expect(snapshotSavedBy(bytes)).toBe("symbiont boot --mem 64");
    expect(snapshotSavedBy(encodeSnapshot({ machine: {} }))).toBeNull();
    expect(snapshotSavedBy(new TextEncoder().encode("SYMBIONT-SNAPSHOT 1\n99\n{"))).toBeNull();
    expect(snapshotSavedBy(new Uint8Array(0))).toBeNull();
  });
});
