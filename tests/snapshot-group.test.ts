// Snapshots of several VMs at once (src/machine/group-snapshot.ts): two Linux VMs on a deterministic clock, each with
// a virtio-net card on a switch and a function of one VPIO NE2000 both share, ping each other over both networks; the
// same run is stopped every 150 M instructions of vm0 — mid-boot and mid-traffic — and a few times where vm1 holds
// the shared card or a VM waits for it, and each time both VMs, their cables, the switch and the scheduler are saved
// and restored into new machines on a new network. Oracles: the run never stopped (each VM's whole serial output,
// kernel timestamps included, and its instruction count must be the same) and busybox ping's own count of the
// replies. Then what is refused: a snapshot of one machine whose card is shared, a snapshot of another number of VMs,
// of one machine into two. Skipped, saying so, without the cached images.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { VmGroup } from "../src/vmm/vm-group.js";
import { VirtualSwitch } from "../src/net/switch.js";
import { defaultMac } from "../src/net/ethernet.js";
import { plugNics, guestAddress, ipCommandLine, type Nics, type NicKind } from "../src/machine/nics.js";
import { saveGroupSnapshot, loadGroupSnapshot, type MachineGroup } from "../src/machine/group-snapshot.js";
import { SnapshotError } from "../src/vmm/snapshot.js";
import { NE2K_PORTS } from "../src/devices/ne2k/ne2k-pci.js";

const images = findCachedImages();
const RAM = 64 << 20;
const PINGS = 15;
/** virtio-net on a switch (10.0.2.0/24) and one VPIO NE2000 both VMs share (10.0.5.0/24); VM i at .15 + i. */
const NETWORKS: { kind: NicKind; subnet: number }[] = [
  { kind: { model: "virtio", vpio: false, shared: false }, subnet: 2 },
  { kind: { model: "ne2k", vpio: true, shared: true }, subnet: 5 },
];
const base = (subnet: number) => ({ mac: defaultMac(0x100 * (subnet - 2)), ipv4: (10 << 24 | subnet << 8 | 15) >>> 0, prefix: 24 });
/** VM i pings the other over each network, then powers off once the other has had time to finish too. */
const script = (i: number) => [
  ...NETWORKS.map((n) => `ping -c ${PINGS} -i 0.05 -s 1000 10.0.${n.subnet}.${16 - i} | sed -n "s/^${PINGS} packets/PING 10.0.${n.subnet} &/p"`),
  "sleep 2",
  `echo GROUP-SNAPSHOT-DONE-${i}`,
  "poweroff -f",
].join("\n");
/** Instructions a VM may take (the whole run takes about 3.5 G each): a VM a bad restore left waiting stops too. */
const LIMIT = 9e9;

/** Two VMs with their cards, a switch for the virtio cables, and their scheduler: as a --vms 2 process builds them. */
async function machines(serial: string[]): Promise<MachineGroup & { nets: Nics[] }> {
  const pcs: Pc[] = [];
  for (let i = 0; i < 2; i++) {
    pcs.push(new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", onSerial: (b) => { serial[i] += String.fromCharCode(b); } }));
  }
  const nets = NETWORKS.map((n) => plugNics(pcs, n.kind, { addresses: base(n.subnet), sharedName: `net${n.subnet}` }));
  const sw = new VirtualSwitch("switch0");
  for (const l of nets[0]!.links) sw.connectLink(l);
  const scheduler = new VmGroup(pcs.map((p) => p.vm), { pollers: nets.flatMap((n) => [...n.pollers]) });
  return { pcs, networks: nets, switches: [sw], scheduler, nets };
}

describe.skipIf(!images)(`Two Linux VMs saved and restored together mid-traffic${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it("end as the run never stopped: each VM's serial output and instruction count; every ping answered on both networks", async () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const busybox = new Uint8Array(readFileSync(images!.busybox));
    const modules = cachedModules(images!, driverModules(["virtio-net", "ne2k-pci"]));
    const run = async (every: number) => {
      const serial = ["", ""];
      let g = await machines(serial), restores = 0, busyRestores = 0;
      g.pcs.forEach((pc, i) => pc.loadLinux(kernel, {
        cmdline: `${LINUX_CMDLINE} quiet ${ipCommandLine(NETWORKS.map((n) => guestAddress(i, base(n.subnet))))}`,
        initrd: busyboxInitramfs({ busybox, modules, run: script(i) }),
      }));
      const instructions = () => g.pcs.map((pc) => pc.vm.stats().instructions);
      let next = every, turns = 0, cardCuts = 0;
      // Also cut where the shared card is in another state than vm0 owning it idle: vm1 owns it, or a VM waits for
      // it (its access suspended) — a few times, 20 turns apart.
      const cardBusy = () => { const card = g.nets[1]!.vpio[0]!; return card.owner.index !== 0 || card.members.some((m) => m.waiting); };
      for (;;) {
        const outcome = await g.scheduler!.run({
          shouldStop: () => {
            if (instructions().some((n) => n >= LIMIT)) return "limit";
            if (instructions()[0]! >= next) return "cut";
            return ++turns >= 20 && cardCuts < 8 && every !== Infinity && cardBusy() ? (cardCuts++, "cut") : null;
          },
        });
        turns = 0;
        if (outcome.kind !== "until" || outcome.why === "limit") return { outcome, serial, instructions: instructions(), restores, busyRestores };
        if (instructions()[0]! >= next) next += every;
        const card = () => g.nets[1]!.vpio[0]!;
        const was = { owner: card().owner.index, waiting: card().members.map((m) => m.waiting) };
        const bytes = saveGroupSnapshot(g);
        g = await machines(serial);
        loadGroupSnapshot(g, bytes);
        expect({ owner: card().owner.index, waiting: card().members.map((m) => m.waiting) }).toEqual(was);
        // The owner's unhooked ports are direct again, every port of the other VM's function exits (to wait for the card).
        for (const m of card().members) expect(Array.from({ length: NE2K_PORTS }, (_, o) => m.vm.direct.isDirect(m.base! + o, false)).some(Boolean)).toBe(m.owner);
        if (cardBusy()) busyRestores++;
        restores++;
      }
    };
    const whole = await run(Infinity);
    expect(whole.outcome.kind).toBe("all-stopped");
    for (let i = 0; i < 2; i++) {
      expect(whole.serial[i], whole.serial[i]!.slice(-2000)).toContain(`GROUP-SNAPSHOT-DONE-${i}`);
      for (const n of NETWORKS) expect(whole.serial[i]).toContain(`PING 10.0.${n.subnet} ${PINGS} packets transmitted, ${PINGS} packets received`);
    }

    const cut = await run(150_000_000);
    console.log(`${cut.restores} restores (${cut.busyRestores} with vm1 owning the shared card or a VM waiting for it); instructions ${whole.instructions.join(", ")}`);
    expect(cut.restores).toBeGreaterThanOrEqual(20);
    expect(cut.busyRestores).toBeGreaterThanOrEqual(4);
    expect(cut.outcome.kind).toBe("all-stopped");
    expect(cut.instructions).toEqual(whole.instructions);
    expect(cut.serial[0]).toBe(whole.serial[0]);
    expect(cut.serial[1]).toBe(whole.serial[1]);
  }, 30 * 60 * 1000);
});

describe("snapshots of several VMs: what is refused", () => {
  it("one machine whose card is shared; another number of VMs; one machine's snapshot into two, and two into one", async () => {
    const g = await machines(["", ""]);
    expect(() => g.pcs[0]!.saveSnapshot()).toThrow("savevm: this machine's NE2000 is shared with other VMs (--vms, shared=): only a snapshot of all of them holds it");
    const both = saveGroupSnapshot(g);
    expect(() => g.pcs[0]!.loadSnapshot(both)).toThrow("snapshot: of 2 VMs (--vms 2): it goes back into as many, started with the options they had");
    const three: Pc[] = [];
    for (let i = 0; i < 3; i++) three.push(new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", onSerial: () => {} }));
    expect(() => loadGroupSnapshot({ pcs: three }, both)).toThrow("snapshot: of 2 VMs, this run has 3 (--vms 2)");
    const alone = saveGroupSnapshot({ pcs: three.slice(0, 1) });
    expect(() => loadGroupSnapshot(g, alone)).toThrow(SnapshotError);
    const single = three[0]!.saveSnapshot();
    expect(() => loadGroupSnapshot(g, single)).toThrow("snapshot: of one machine, not of 2 VMs (load it without --vms)");
    // Two machines without cards into two with them: refused, naming the VM, before either changes.
    const bare = saveGroupSnapshot({ pcs: three.slice(0, 2) });
    const before = g.pcs.map((pc) => pc.vm.stats().instructions);
    expect(() => loadGroupSnapshot(g, bare)).toThrow(/^vm0: snapshot: its machine's devices is none, this one's virtio-net$/);
    expect(() => loadGroupSnapshot({ pcs: three.slice(0, 2), networks: g.networks }, bare)).toThrow(/^snapshot: its VMs have 0 network cable\(s\), these 3 \(--nic\)$/);
    expect(g.pcs.map((pc) => pc.vm.stats().instructions)).toEqual(before);
  });
});
