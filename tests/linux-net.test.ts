// Debian's kernel on Symbiont's network cards, two VMs in one shared boot (CI time): each VM
// has four cards, one per network — virtio-net (10.0.2.0/24), the emulated NE2000 (10.0.3.0/24),
// the NE2000 under VPIO with a card per VM (10.0.4.0/24) and one VPIO NE2000 shared by both VMs
// (10.0.5.0/24) — and vm0 fetches the same file from vm1 over each with busybox nc.
// Oracles: the file's MD5 computed here from the bytes put in vm1's initramfs (the guest's own
// md5sum prints what arrived), busybox ping's own report, Debian's tcpdump reading the capture,
// the VPIO model's hooked-port table (exits only there), Linux's ne2k-pci/virtio_net drivers,
// and its TCP, which hands virtio-net 64 KiB segments (TSO) that must reach the capture as
// ordinary frames with checksums tcpdump -vv finds correct, and the other VM's virtio-net whole
// (its driver takes the receive offloads).
// Skipped (saying so) without the cached images, the capture check without tcpdump (CI installs it).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { VmGroup, type GroupOutcome } from "../src/vmm/vm-group.js";
import { VirtualSwitch } from "../src/net/switch.js";
import { PcapWriter } from "../src/net/pcap.js";
import { defaultMac, formatMac } from "../src/net/ethernet.js";
import { plugNics, guestAddress, ipCommandLine, type Nics, type NicKind } from "../src/machine/nics.js";
import { HOOKED_PORTS, NE2K_STATES } from "../src/vpio/ne2k-model.js";
import { Monitor } from "../src/vmm/monitor.js";
import { NE2K_PORTS } from "../src/devices/ne2k/ne2k-pci.js";

const images = findCachedImages();
const tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].find((p) => spawnSync(p, ["--version"]).status === 0);

if (!images && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("Linux images", () => { it("are cached (npm run images)", () => { expect(images).not.toBeNull(); }); });
}

/** The four networks: card kind and where its addresses start (subnet 10.0.N.0/24, VM i at .15+i). */
const NETWORKS: { name: string; kind: NicKind; subnet: number }[] = [
  { name: "virtio", kind: { model: "virtio", vpio: false, shared: false }, subnet: 2 },
  { name: "ne2k", kind: { model: "ne2k", vpio: false, shared: false }, subnet: 3 },
  { name: "vpio", kind: { model: "ne2k", vpio: true, shared: false }, subnet: 4 },
  { name: "shared", kind: { model: "ne2k", vpio: true, shared: true }, subnet: 5 },
];
const base = (subnet: number) => ({ mac: defaultMac(0x100 * (subnet - 2)), ipv4: (10 << 24 | subnet << 8 | 15) >>> 0, prefix: 24 });
const FILE_BYTES = 256 * 1024;

/** vm1 serves the file on each network; vm0 pings over virtio-net, then fetches it over each card in turn. */
// Over virtio-net the file goes through cat (nc -e): its writes are larger than a segment, so Linux's TCP can
// hand the card GSO packets (TSO); nc's own 1 KiB writes are sent as they come, one small segment each.
const SERVER = [...NETWORKS.map((n) => n.name === "virtio" ? "nc -l -p 5002 -e cat /data.bin &" : `nc -l -p 500${n.subnet} < /data.bin &`), "wait", "echo SERVED", "sleep 1000"].join("\n");
const CLIENT = [
  "for d in /sys/class/net/eth*; do n=${d##*/}; echo NIC $n $(cat $d/address) $(basename $(readlink $d/device/driver)) $(ip -4 -o addr show dev $n | awk '{print $4}'); done",
  "ping -c 3 10.0.2.16",
  ...NETWORKS.flatMap((n) => [
    `echo XFER-${n.name}-BEGIN`,
    `until nc 10.0.${n.subnet}.16 500${n.subnet} > /tmp/${n.name}; do sleep 1; done`,
    `echo XFER-${n.name}-END $(md5sum < /tmp/${n.name} | cut -c1-32) $(wc -c < /tmp/${n.name})`,
  ]),
  "echo NET-DONE",
].join("\n");

/** Per transfer: vm0's exits and the VPIO card's port counts between its markers. */
interface Phase { exits: number; ioExits: number; mmioExits: number; ms: number; cardExits: number; cardDirect: number; portCounts: { exits: number; direct: number }[] }

describe.skipIf(!images)(`Linux ${images?.version ?? "(images not cached: run npm run images)"} on two VMs with four kinds of network card`, () => {
  let dir = "";
  const serial = ["", ""];
  let outcome: GroupOutcome;
  let nets: Nics[] = [];
  let pcs: Pc[] = [];
  const phases = new Map<string, Phase>();
  const data = new Uint8Array(FILE_BYTES);
  let pcapPath = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "symbiont-net-"));
    let x = 0x12345678;
    for (let i = 0; i < data.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; data[i] = x & 0xff; }
    const ramBytes = 128 << 20;
    for (let i = 0; i < 2; i++) {
      pcs.push(new Pc({ engine: await createEngine("wasm", ramBytes), ramBytes, clock: "deterministic", onSerial: (b) => { serial[i] += String.fromCharCode(b); } }));
    }
    nets = NETWORKS.map((n) => plugNics(pcs, n.kind, { addresses: base(n.subnet), linkPrefix: `${n.name} `, sharedName: n.name }));
    // A switch per network but the shared card's (frames between the VMs that share it stay in the card).
    const chunks: Uint8Array[] = [];
    nets.forEach((nics, k) => {
      if (NETWORKS[k]!.kind.shared) return;
      const sw = new VirtualSwitch(NETWORKS[k]!.name);
      if (k === 0) {
        const pcap = new PcapWriter((b) => chunks.push(b.slice()), { timeNs: () => pcs[0]!.startEpochSeconds * 1e9 + pcs[0]!.clock.nowNs() });
        sw.addTap((f) => pcap.write(f));
      }
      for (const l of nics.links) sw.connectLink(l);
    });
    const modules = cachedModules(images!, driverModules(["virtio-net", "ne2k-pci"]));
    pcs.forEach((pc, i) => {
      const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), modules, run: i === 0 ? CLIENT : SERVER, extraFiles: i === 1 ? [{ path: "/data.bin", data }] : [] });
      const ip = ipCommandLine(NETWORKS.map((n) => guestAddress(i, base(n.subnet))));
      pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), { cmdline: `${LINUX_CMDLINE} quiet ${ip}`, initrd });
    });
    const group = new VmGroup(pcs.map((p) => p.vm), { pollers: nets.flatMap((n) => [...n.pollers]) });
    const vm0 = pcs[0]!.vm;
    const vpioCard = nets[2]!.vpio[0]!.members[0]!; // vm0's own VPIO card
    let open: { name: string; at: Phase } | null = null;
    const snapshot = (): Phase => {
      const e = vm0.stats().exits;
      const counts = Array.from({ length: NE2K_PORTS }, (_, o) => vm0.direct.counts(vpioCard.base! + o));
      return {
        exits: Object.values(e).reduce((a, b) => a + b, 0), ioExits: (e["io-in"] ?? 0) + (e["io-out"] ?? 0), mmioExits: (e["mmio-read"] ?? 0) + (e["mmio-write"] ?? 0),
        ms: performance.now(), cardExits: counts.reduce((a, c) => a + c.exits, 0), cardDirect: counts.reduce((a, c) => a + c.direct, 0), portCounts: counts,
      };
    };
    outcome = await group.run({
      timeoutSeconds: 1500,
      shouldStop: () => {
        const s = serial[0]!;
        for (const n of NETWORKS) {
          if (!open && !phases.has(n.name) && s.includes(`XFER-${n.name}-BEGIN`)) open = { name: n.name, at: snapshot() };
          if (open?.name === n.name && s.includes(`XFER-${n.name}-END`)) {
            const end = snapshot(), at = open.at;
            phases.set(n.name, {
              exits: end.exits - at.exits, ioExits: end.ioExits - at.ioExits, mmioExits: end.mmioExits - at.mmioExits, ms: end.ms - at.ms,
              cardExits: end.cardExits - at.cardExits, cardDirect: end.cardDirect - at.cardDirect,
              portCounts: end.portCounts.map((c, o) => ({ exits: c.exits - at.portCounts[o]!.exits, direct: c.direct - at.portCounts[o]!.direct })),
            });
            open = null;
          }
        }
        return s.includes("NET-DONE") ? "done" : null;
      },
    });
    pcapPath = join(dir, "virtio.pcap");
    writeFileSync(pcapPath, Buffer.concat(chunks));
    for (const [name, p] of phases) {
      console.log(`${name}: ${FILE_BYTES} bytes in ${(p.ms / 1000).toFixed(2)} s wall; vm0 exits ${p.exits} (port I/O ${p.ioExits}, MMIO ${p.mmioExits})` +
        (name === "vpio" ? `; card ports: ${p.cardExits} exits, ${p.cardDirect} direct (hooked fraction 1/${((p.cardExits + p.cardDirect) / Math.max(1, p.cardExits)).toFixed(1)})` : ""));
    }
  }, 60 * 60 * 1000);

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const md5 = () => createHash("md5").update(data).digest("hex");

  it("runs both guests to the end of the transfers", () => {
    expect(outcome, serial[0]!.slice(-3000)).toEqual({ kind: "until", why: "done" });
    expect(serial[1]).toContain("SERVED");
    for (const pc of pcs) expect(pc.deviceErrors).toEqual([]);
  });

  it("pings over virtio-net (busybox ping's own count)", () => {
    expect(serial[0]).toMatch(/3 packets transmitted, 3 packets received, 0% packet loss/);
  });

  it.each(NETWORKS.map((n) => [n.name]))("moves the file over %s: the MD5 of what arrived is the file's", (name) => {
    const m = new RegExp(`XFER-${name}-END ([0-9a-f]{32}) +(\\d+)`).exec(serial[0]!);
    expect(m?.slice(1)).toEqual([md5(), String(FILE_BYTES)]);
  });

  it("found each card with its driver, up with the address it was given (the guest's /sys and ip)", () => {
    const found = [...serial[0]!.matchAll(/^NIC eth\d (\S+) (\S+) (\S+)$/gm)].map((m) => m.slice(1).join(" ")).sort();
    const want = NETWORKS.map((n) => {
      const a = guestAddress(0, base(n.subnet));
      return `${formatMac(a.mac)} ${n.kind.model === "virtio" ? "virtio_net" : "ne2k-pci"} ${a.ip}`;
    }).sort();
    expect(found).toEqual(want);
    for (const n of nets) for (const l of n.links) expect(l.stats.txFrames, l.name).toBeGreaterThan(0);
  });

  it("exits on the VPIO card only at the ports the model hooks, and reports the hooked fraction", () => {
    const p = phases.get("vpio")!;
    const hooked = new Set(HOOKED_PORTS.map((h) => h.offset));
    p.portCounts.forEach((c, offset) => {
      if (!hooked.has(offset)) expect(c.exits, `port offset ${offset}`).toBe(0);
      if (HOOKED_PORTS.some((h) => h.offset === offset && h.read && h.write)) expect(c.direct, `port offset ${offset}`).toBe(0);
    });
    // Most accesses are the data port's remote DMA, which is direct.
    expect(p.cardDirect).toBeGreaterThan(10 * p.cardExits);
    expect(p.portCounts[0x10]!.direct).toBeGreaterThan(FILE_BYTES / 4 / 2);
    // The emulated card exits at every access, so the VPIO transfer needs far fewer port exits.
    expect(p.ioExits * 5).toBeLessThan(phases.get("ne2k")!.ioExits);
  });

  it("shared one card between the VMs: context switches, and frames between them never left the card", () => {
    const card = nets[3]!.vpio[0]!;
    expect(card.stats.switches).toBeGreaterThan(0);
    expect(card.stats.localFrames).toBeGreaterThan(FILE_BYTES / 1500);
    expect(card.members.map((m) => m.model.stats.denied)).toEqual([0, 0]);
    // The monitor's `info net` shows each VM's model: a state of the seed's diagram, one owner of the card.
    const shown = new Monitor(pcs[0]!.vm, { net: () => nets[3]!.describe() }).execute("info net").split("\n");
    const models = shown.filter((l) => /^vpio vm\d /.test(l));
    expect(models.map((l) => /^vpio (vm\d) /.exec(l)![1])).toEqual(["vm0", "vm1"]);
    for (const l of models) expect(NE2K_STATES).toContain(/ state (\w+)/.exec(l)![1]);
    expect(models.filter((l) => / owner /.test(l))).toHaveLength(1);
    expect(shown).toContain(`vpio card: switches ${card.stats.switches} refused ${card.stats.refused} local frames ${card.stats.localFrames}`);
  });

  it.skipIf(!tcpdump)(`wrote a capture of the virtio network that Debian's tcpdump reads${tcpdump ? "" : " (skipped: no tcpdump)"}`, () => {
    const r = spawnSync(tcpdump!, ["-nr", pcapPath], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ARP, Request who-has 10\.0\.2\.16 tell 10\.0\.2\.15/);
    expect(r.stdout.match(/IP 10\.0\.2\.15 > 10\.0\.2\.16: ICMP echo request/g)).toHaveLength(3);
    expect(r.stdout.match(/IP 10\.0\.2\.16 > 10\.0\.2\.15: ICMP echo reply/g)).toHaveLength(3);
    // The server's data segments: relative sequence numbers, so the last byte of the file ends at FILE_BYTES + 1.
    const seqs = [...r.stdout.matchAll(/IP 10\.0\.2\.16\.5002 > 10\.0\.2\.15\.\d+: Flags \[[^\]]*\], seq \d+:(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...seqs)).toBe(FILE_BYTES + 1);
  });

  it.skipIf(!tcpdump)(`virtio-net's offloads: Linux hands over 64 KiB TCP segments, which the capture shows as frames whose checksums tcpdump finds correct and the other VM receives whole${tcpdump ? "" : " (skipped: no tcpdump)"}`, () => {
    const [client, server] = nets[0]!.virtio;
    // The server's TCP sent the file as GSO packets (TSO), and checksums partial (CSUM); the device finished both.
    expect(server!.stats.txSegmented).toBeGreaterThan(0);
    expect(server!.stats.txFrames).toBeGreaterThan(server!.stats.txSegmented);
    expect(client!.stats.txChecksummed + server!.stats.txChecksummed).toBeGreaterThan(0);
    expect(client!.stats.txDropped + server!.stats.txDropped).toBe(0);
    // The client's driver took the receive offloads: the server's TSO packets crossed the switch and reached it whole.
    expect(client!.stats.rxLarge).toBeGreaterThan(0);
    expect(client!.stats.rxLargeBuffers).toBeGreaterThan(client!.stats.rxLarge);
    expect(nets[0]!.describe().join("\n")).toMatch(/virtio-net 52:54:00:12:34:57: offloads: [1-9]\d* TSO packets sent, \d+ checksums completed, 0 packets dropped \(a GSO type not offered\); 0 large packets/); // --stats, info net
    expect(nets[0]!.describe().join("\n")).toMatch(/virtio-net 52:54:00:12:34:56: offloads: .*; [1-9]\d* large packets received whole in [1-9]\d* buffers/);
    // On the wire, every frame is at most 1 514 bytes, and every IPv4/TCP checksum is right (tcpdump -vv checks them).
    const r = spawnSync(tcpdump!, ["-nr", pcapPath, "-vv", "-e"], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    const lengths = [...r.stdout.matchAll(/ethertype IPv4 \(0x0800\), length (\d+):/g)].map((m) => Number(m[1]));
    expect(Math.max(...lengths)).toBeLessThanOrEqual(1514);
    const tcp = r.stdout.match(/cksum 0x[0-9a-f]{4} \((correct|incorrect[^)]*)\)/g) ?? [];
    expect(tcp.length).toBeGreaterThan(FILE_BYTES / 1448);
    expect(tcp.filter((c) => !c.endsWith("(correct)"))).toEqual([]);
    expect(r.stdout).not.toMatch(/bad cksum/);
  });
});
