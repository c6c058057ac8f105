// `symbiont boot --vms 2 --nic ne2k,vpio,shared=card0 --net socket:listen:… --net-dump … --stats`
// as a user runs it: two VMs sharing one NE2000 under VPIO, the card on a switch whose uplink is a
// TCP socket, and an independent peer at the other end: QEMU (its `-netdev socket` framing, its
// own virtio-net-pci) running Debian's kernel. vm0, typed to through stdin, pings vm1 (through the
// shared card) and the QEMU guest, fetches a file from the QEMU guest and sends it one (busybox).
// Oracles: QEMU and its guest (what it received, its md5sum), the file's MD5 computed here, busybox
// ping's report, Debian's tcpdump reading the capture.
// Skipped (saying so) without the cached images or qemu-system-i386 (CI installs QEMU).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { freePort, waitFor } from "./support/processes.js";

const images = findCachedImages();
const qemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
const tcpdump = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump"].find((p) => spawnSync(p, ["--version"]).status === 0);
const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;

const FILE_BYTES = 100 * 1024;
const SEQ = 20000;
/** What the QEMU guest runs: serve the file, then take one and report what came. */
const PEER = [
  "nc -l -p 6000 < /data.bin",
  "nc -l -p 6001 > /tmp/in",
  "echo QEMU-GOT $(md5sum < /tmp/in | cut -c1-32) $(wc -c < /tmp/in)",
].join("\n");
/** Typed into the Symbiont guest's shell. The markers are computed so the echoed command line does not match them. */
const TYPED = [
  "dmesg -n 1", // a kernel console message (a link coming up) must not land inside the lines matched below
  "until ping -c 1 10.0.2.16 >/dev/null; do sleep 1; done",
  "ping -c 2 10.0.2.16",
  "until ping -c 1 10.0.2.99 >/dev/null; do sleep 1; done",
  "ping -c 2 10.0.2.99",
  "until nc 10.0.2.99 6000 > /tmp/r; do sleep 1; done",
  "echo GOT-$((1+1)) $(md5sum < /tmp/r | cut -c1-32) $(wc -c < /tmp/r)",
  `until seq 1 ${SEQ} | nc 10.0.2.99 6001; do sleep 1; done`,
  "echo CLI-NET-$((1+1))",
].join("; ") + "\n";

describe.skipIf(!images || !qemu)(`symbiont boot: two VMs sharing a VPIO NE2000, on a socket to a QEMU guest${!images ? " (images not cached: run npm run images)" : !qemu ? " (skipped: no qemu-system-i386)" : ""}`, () => {
  let dir = "";
  const data = Uint8Array.from({ length: FILE_BYTES }, (_, i) => (i * 2654435761) >>> 24);
  let out = "", err = "", qout = "", status: number | null = null;
  let sym: ChildProcess | null = null, peer: ChildProcess | null = null;
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "symbiont-qemu-net-"));
    const modules = cachedModules(images!, driverModules(["virtio-net"]));
    writeFileSync(join(dir, "peer-initrd"), busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), modules, run: PEER, extraFiles: [{ path: "/data.bin", data }] }));
    port = await freePort();
    sym = spawn(process.execPath, [cli, "boot", "--vms", "2", "--nic", "ne2k,vpio,shared=card0", "--stats", "--net", `socket:listen:127.0.0.1:${port}`, "--net-dump", join(dir, "cli.pcap"), "--until", "CLI-NET-2", "--timeout", "1200"], { stdio: ["pipe", "pipe", "pipe"] });
    sym.stdout!.on("data", (b: Buffer) => { out += b.toString("latin1"); });
    sym.stderr!.on("data", (b: Buffer) => { err += b.toString("latin1"); });
    const exited = new Promise<void>((resolve) => sym!.on("exit", (code) => { status = code; resolve(); }));
    await waitFor(() => err, /net: listening on/, 60_000, "symbiont to listen");
    peer = spawn("qemu-system-i386", [
      "-m", "128", "-nographic", "-no-reboot", "-kernel", images!.kernel, "-initrd", join(dir, "peer-initrd"),
      "-append", "console=ttyS0 nokaslr cryptomgr.notests quiet symbiont.ip=52:54:00:12:34:99=10.0.2.99/24",
      "-netdev", `socket,id=n0,connect=127.0.0.1:${port}`, "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:99",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    peer.stdout!.on("data", (b: Buffer) => { qout += b.toString("latin1"); });
    // Type once the guest's shell has printed its prompt (input sent earlier can be eaten by its line editor's start-up).
    await waitFor(() => out, /\[vm0\] SYMBIONT-INIT-OK[\s\S]*\[vm0\] [^\n]*# /, 900_000, "vm0's shell");
    sym.stdin!.write(TYPED);
    await exited;
    await waitFor(() => qout, /QEMU-GOT \S+ \d+/, 120_000, "the QEMU guest's report").catch(() => {});
  }, 30 * 60 * 1000);

  afterAll(() => {
    sym?.kill();
    peer?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ran to the end of the typed commands and said where it listened, who connected, and the card's state", () => {
    expect(status, err + out.slice(-2000)).toBe(0);
    expect(err).toContain(`symbiont: net: listening on 127.0.0.1:${port}`);
    expect(err).toMatch(/symbiont: net: peer 127\.0\.0\.1:\d+ connected/);
    expect(err).toContain("symbiont: net: vm0 ne2k+vpio 52:54:00:12:34:56 10.0.2.15/24, vm1 ne2k+vpio 52:54:00:12:34:57 10.0.2.16/24 (one card: card0)");
    expect(err).toMatch(/\[stats\] vpio vm0 52:54:00:12:34:56 (owner )?state \w+ updates \d+ denied 0 switches-in [1-9]/);
    expect(err).toMatch(/\[stats\] vpio card: switches [1-9]\d* refused \d+ local frames [1-9]/);
    // Both VMs' output, each line tagged.
    expect(out).toMatch(/^\[vm1\] SYMBIONT-INIT-OK/m);
  });

  it("pings vm1 through the shared card and the QEMU guest through the socket (busybox ping's own counts)", () => {
    expect(out.match(/^\[vm0\] 2 packets transmitted, 2 packets received, 0% packet loss/gm)).toHaveLength(2);
  });

  it("fetches the QEMU guest's file (MD5 of what arrived = the file's)", () => {
    expect(/GOT-2 ([0-9a-f]{32}) +(\d+)/.exec(out)?.slice(1)).toEqual([createHash("md5").update(data).digest("hex"), String(FILE_BYTES)]);
  });

  it("sends the QEMU guest a file (its md5sum of what it received)", () => {
    const seq = Array.from({ length: SEQ }, (_, i) => `${i + 1}\n`).join("");
    expect(/QEMU-GOT ([0-9a-f]{32}) +(\d+)/.exec(qout)?.slice(1), qout.slice(-1000)).toEqual([createHash("md5").update(seq).digest("hex"), String(seq.length)]);
  });

  it.skipIf(!tcpdump)(`wrote --net-dump as a capture Debian's tcpdump reads${tcpdump ? "" : " (skipped: no tcpdump)"}`, () => {
    const r = spawnSync(tcpdump!, ["-nr", join(dir, "cli.pcap")], { encoding: "utf8", maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/IP 10\.0\.2\.15 > 10\.0\.2\.99: ICMP echo request/);
    expect(r.stdout).toMatch(/IP 10\.0\.2\.99 > 10\.0\.2\.15: ICMP echo reply/);
    expect(r.stdout).toMatch(/IP 10\.0\.2\.99\.6000 > 10\.0\.2\.15\.\d+: Flags \[[^\]]*\], seq \d+:\d+/);
  });
});
