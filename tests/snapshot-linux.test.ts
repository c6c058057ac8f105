// Linux saved and restored in the middle of its work: Debian's kernel boots with a virtio and an IDE disk (in memory)
// and virtio-rng on a deterministic clock, writes a file to both disks and reads them back from the devices; the
// same run is stopped every 150 M instructions — mid-boot, mid-I/O — and each time saved and restored into a new
// machine with new (blank) disks — on one vCPU, and on two under shadow paging (each vCPU's shadow root built again
// after every restore). Then with its three kinds of network card — virtio-net, the emulated NE2000, the NE2000
// under VPIO — each cabled to a user network of its own, pinging the router through each card in turn, stopped
// mid-traffic and restored into a new machine with new networks. Oracles: the run never stopped (the whole serial
// output, kernel timestamps included, and the instruction count must be the same), the host (the checksums of what
// the guest wrote, the disks' bytes at the end), busybox ping's own count of the replies. Skipped, saying so, without
// the cached images.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { MemoryDisk } from "../src/devices/block/backend.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { plugNics, guestAddress, ipCommandLine, type NicKind, type Nics } from "../src/machine/nics.js";
import { defaultMac, formatMac } from "../src/net/ethernet.js";
import { UserNetwork } from "../src/net/user/user-network.js";
import type { HostNet } from "../src/net/user/host.js";

const images = findCachedImages();
const RAM = 64 << 20;
const LINES = 60000;
/** Instructions a run may take: the whole run takes about 3.4 G. */
const LIMIT = 8e9;
const SCRIPT = [
  "set -e",
  `seq 1 ${LINES} > /tmp/n`,
  "dd if=/tmp/n of=/dev/vda bs=4k 2>/dev/null",
  "dd if=/tmp/n of=/dev/sda bs=4k 2>/dev/null",
  "sync; echo 3 > /proc/sys/vm/drop_caches",
  "echo VDA=$(head -c $(wc -c < /tmp/n) /dev/vda | md5sum | cut -c1-32)",
  "echo SDA=$(head -c $(wc -c < /tmp/n) /dev/sda | md5sum | cut -c1-32)",
  "echo RNG=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')",
  "echo SNAPSHOT-LINUX-DONE",
  "poweroff -f",
].join("\n");

describe.skipIf(!images)(`Linux saved and restored mid-boot and mid-I/O${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it.each([
    { how: "one vCPU", cpus: 1, paging: "direct" as const },
    { how: "two vCPUs under shadow paging", cpus: 2, paging: "shadow" as const },
  ])("$how: ends as the run never stopped: the same serial output and instruction count; the disks hold what the guest wrote", async ({ cpus, paging }) => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(images!.busybox)),
      modules: cachedModules(images!, driverModules(["virtio-blk", "ide", "virtio-rng"])),
      run: SCRIPT,
    });
    const machine = async (out: number[]) => {
      const disks = [MemoryDisk.blank(4 << 20), MemoryDisk.blank(4 << 20)];
      const pc = new Pc({
        engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, cpus, paging, onSerial: (b) => out.push(b),
        disks: [{ backend: disks[0]! }, { backend: disks[1]!, interface: "ide" }],
      });
      return { pc, disks };
    };
    /** Run to the guest's power-off (at most LIMIT instructions: a guest a bad restore left waiting stops too). */
    const run = async (every: number) => {
      const out: number[] = [];
      let m = await machine(out), snapshots = 0;
      m.pc.loadLinux(kernel, { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
      for (;;) {
        const stop = m.pc.vm.run(Math.min(every, LIMIT - m.pc.vm.stats().instructions));
        if (stop.kind !== "budget" || m.pc.vm.stats().instructions >= LIMIT) {
          return { stop, serial: Buffer.from(out).toString("latin1"), instructions: m.pc.vm.stats().instructions, disks: m.disks, snapshots };
        }
        if (every === Infinity) continue;
        const bytes = m.pc.saveSnapshot();
        m = await machine(out);
        m.pc.loadSnapshot(bytes);
        snapshots++;
      }
    };
    const whole = await run(Infinity);
    const text = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join("");
    const md5 = createHash("md5").update(text).digest("hex");
    expect(whole.serial, whole.serial.slice(-2000)).toContain("SNAPSHOT-LINUX-DONE");
    expect(whole.serial).toContain(`VDA=${md5}`);
    expect(whole.serial).toContain(`SDA=${md5}`);

    const stopped = await run(150_000_000);
    expect(stopped.snapshots).toBeGreaterThanOrEqual(20);
    expect(stopped.stop).toEqual(whole.stop);
    expect(stopped.instructions).toBe(whole.instructions);
    expect(stopped.serial).toBe(whole.serial);
    for (const d of stopped.disks) expect(Buffer.from(d.bytes.subarray(0, text.length)).toString("latin1")).toBe(text);
  }, 20 * 60 * 1000);
});

/** The three kinds of card, VM 0's card k at 52:54:00:12:34:56 + k and 10.0.2.(15 + k), each on a user network of its own. */
const CARDS: { name: string; kind: NicKind }[] = [
  { name: "virtio-net", kind: { model: "virtio", vpio: false, shared: false } },
  { name: "NE2000", kind: { model: "ne2k", vpio: false, shared: false } },
  { name: "NE2000 under VPIO", kind: { model: "ne2k", vpio: true, shared: false } },
];
const cardBase = (k: number) => ({ mac: defaultMac(k), ipv4: (0x0a00020f + k) >>> 0, prefix: 24 });
const PINGS = 30;
/** Each card in turn (found by its station address): its driver, then pings of 1400 bytes to the router through it alone. */
const PING_SCRIPT = [
  ...CARDS.map((_, k) => formatMac(cardBase(k).mac)).map((mac) => [
    `for d in /sys/class/net/*; do [ "$(cat $d/address)" = ${mac} ] && i=\${d##*/}; done`,
    `echo NIC ${mac} $(basename $(readlink /sys/class/net/$i/device/driver))`,
    `ping -c ${PINGS} -i 0.02 -s 1400 -I $i 10.0.2.2 | sed -n "s/^${PINGS} packets/PING ${mac} &/p"`,
  ].join("\n")),
  "echo NIC-SNAPSHOT-DONE",
  "poweroff -f",
].join("\n");
/** The guest reaches only the routers' own services (ARP, ping): a host it asked for would fail the test. */
const NO_HOST = new Proxy({}, { get: (_t, p) => p === "dnsServers" ? () => [] : () => { throw new Error(`the guest asked the host (${String(p)})`); } }) as HostNet;

describe.skipIf(!images)(`Linux with three kinds of network card saved and restored mid-traffic${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it("ends as the run never stopped: the same serial output and instruction count; every ping answered on each card", async () => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(images!.busybox)),
      modules: cachedModules(images!, driverModules(["virtio-net", "ne2k-pci"])),
      run: PING_SCRIPT,
    });
    const cmdline = `${LINUX_CMDLINE} quiet ${ipCommandLine(CARDS.map((_, k) => guestAddress(0, cardBase(k))))}`;
    /** A machine with its cards, each cabled to a new user network (as a --loadvm process starts with). */
    const machine = async (out: number[]) => {
      const pc = new Pc({ engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", onSerial: (b) => out.push(b) });
      const nets: Nics[] = [], users: UserNetwork[] = [];
      CARDS.forEach(({ kind }, k) => {
        const nics = plugNics([pc], kind, { addresses: cardBase(k) });
        const user = new UserNetwork(NO_HOST), link = nics.links[0]!;
        link.attachBackend((f) => user.receive(f));
        user.output = (f) => link.deliver(f);
        nets.push(nics);
        users.push(user);
      });
      return { pc, nets, users };
    };
    /** The NE2000s (emulated, VPIO) with something in flight: a frame in the ring the driver has not read, a remote DMA, a transmission. */
    const busyCards = (nets: Nics[]) => [nets[1]!.emulated[0]!.chip, nets[2]!.vpio[0]!.chip].map((chip) => {
      const s = chip.state, next = s.bnry + 1 >= s.pstop ? s.pstart : s.bnry + 1;
      return (s.cr & 1) === 0 && (next !== s.curr || ((s.cr & 0x18) !== 0 && s.rbcr > 0) || chip.transmitting);
    });
    /**
     * To the guest's power-off. Stopped (`stopped`): every 500 M instructions until the first card's line (the boot
     * is the test above's), then every 4 M and whenever an NE2000 has something in flight at the end of a 20 k slice,
     * each time saved and restored into a new machine.
     */
    const run = async (stopped: boolean) => {
      const out: number[] = [];
      let m = await machine(out), snapshots = 0, lastSnapshot = 0, traffic = false;
      const midFlight = [0, 0];
      m.pc.loadLinux(kernel, { cmdline, initrd });
      for (;;) {
        const stop = m.pc.vm.run(!stopped ? LIMIT : Math.min(traffic ? 20_000 : 1_000_000, LIMIT - m.pc.vm.stats().instructions));
        const retired = m.pc.vm.stats().instructions;
        if (stop.kind !== "budget" || retired >= LIMIT) {
          for (const u of m.users) u.close();
          return { stop, serial: Buffer.from(out).toString("latin1"), instructions: retired, snapshots, midFlight };
        }
        if (!stopped) continue;
        traffic ||= Buffer.from(out.slice(-4096)).toString("latin1").includes("\nNIC ");
        const busy = traffic ? busyCards(m.nets) : [false, false];
        if (!busy.includes(true) && retired - lastSnapshot < (traffic ? 4_000_000 : 500_000_000)) continue;
        busy.forEach((b, i) => { if (b) midFlight[i]!++; });
        lastSnapshot = retired;
        const bytes = m.pc.saveSnapshot();
        for (const u of m.users) u.close();
        m = await machine(out);
        m.pc.loadSnapshot(bytes);
        snapshots++;
      }
    };
    const whole = await run(false);
    expect(whole.serial, whole.serial.slice(-2000)).toContain("NIC-SNAPSHOT-DONE");
    const drivers = ["virtio_net", "ne2k-pci", "ne2k-pci"], lines = whole.serial.replace(/\r/g, "");
    CARDS.forEach((_, k) => {
      const mac = formatMac(cardBase(k).mac);
      expect(lines).toContain(`\nNIC ${mac} ${drivers[k]}\n`);
      expect(lines).toContain(`\nPING ${mac} ${PINGS} packets transmitted, ${PINGS} packets received, 0% packet loss\n`);
    });

    const stopped = await run(true);
    for (const n of stopped.midFlight) expect(n).toBeGreaterThanOrEqual(5);
    expect(stopped.snapshots).toBeGreaterThanOrEqual(10);
    expect(stopped.stop).toEqual(whole.stop);
    expect(stopped.instructions).toBe(whole.instructions);
    expect(stopped.serial).toBe(whole.serial);
  }, 20 * 60 * 1000);
});
