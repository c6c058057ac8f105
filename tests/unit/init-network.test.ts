/**
 * /init's network set-up (src/boot/initramfs.ts NETWORK_SETUP), run by the
 * guest's own shell — Debian's static busybox, natively on the host (or under
 * qemu-i386: src/node/i386.ts) — over a
 * fake /proc/cmdline and /sys/class/net, with `ip` recording its calls. The
 * oracle is busybox's sh: the lines must do in it what they do in the guest.
 * Skipped (saying so) when the images are not cached.
 */
import { describe, it, expect } from "vitest";
import { spawnI386 } from "../../src/node/i386.js";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { NETWORK_SETUP, UDHCPC_SCRIPT } from "../../src/boot/initramfs.js";
import { findCachedImages } from "../../src/node/images.js";

const images = findCachedImages();

describe.skipIf(!images)(`/init network set-up ${images ? "" : "(images not cached: run npm run images)"}`, () => {
  it("brings up each interface named by its station address with its address, whatever the kernel called it", () => {
    const root = mkdtempSync(join(tmpdir(), "symbiont-init-net-"));
    try {
      for (const [dev, mac] of [["eth0", "52:54:00:12:34:57"], ["eth1", "52:54:00:12:34:56"], ["lo", "00:00:00:00:00:00"]]) {
        mkdirSync(join(root, "net", dev!), { recursive: true });
        writeFileSync(join(root, "net", dev!, "address"), mac + "\n");
      }
      writeFileSync(join(root, "cmdline"), "console=ttyS0 quiet symbiont.ip=52:54:00:12:34:56=10.0.1.15/24,52:54:00:12:34:57=10.0.2.16/24 nokaslr\n");
      const script = [
        `ip() { echo "ip $*" >> ${root}/log; }`,
        ...NETWORK_SETUP.map((l) => l.replaceAll("/proc/cmdline", `${root}/cmdline`).replaceAll("/sys/class/net", `${root}/net`)),
      ].join("\n");
      const r = spawnI386(images!.busybox, ["sh", "-c", script], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(root, "log"), "utf8").trim().split("\n")).toEqual([
        "ip link set eth1 up", "ip addr add 10.0.1.15/24 dev eth1",
        "ip link set eth0 up", "ip addr add 10.0.2.16/24 dev eth0",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("asks DHCP for an interface given as MAC=dhcp (--net user), and udhcpc's script applies the lease", () => {
    const root = mkdtempSync(join(tmpdir(), "symbiont-init-dhcp-"));
    try {
      mkdirSync(join(root, "net", "eth0"), { recursive: true });
      writeFileSync(join(root, "net", "eth0", "address"), "52:54:00:12:34:56\n");
      writeFileSync(join(root, "cmdline"), "console=ttyS0 symbiont.ip=52:54:00:12:34:56=dhcp\n");
      const setup = [
        `ip() { echo "ip $*" >> ${root}/log; }`,
        `udhcpc() { echo "udhcpc $*" >> ${root}/log; }`,
        ...NETWORK_SETUP.map((l) => l.replaceAll("/proc/cmdline", `${root}/cmdline`).replaceAll("/sys/class/net", `${root}/net`)),
      ].join("\n");
      let r = spawnI386(images!.busybox, ["sh", "-c", setup], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(root, "log"), "utf8").trim().split("\n")).toEqual([
        "ip link set eth0 up", "udhcpc -i eth0 -s /etc/udhcpc.script -q -n -t 5 -T 2",
      ]);
      // The script as udhcpc runs it: "bound", the lease in its environment (busybox's udhcpc names: ip, mask as a
      // prefix length, router and dns as lists).
      writeFileSync(join(root, "log"), "");
      const event = `ip() { echo "ip $*" >> ${root}/log; }\n` + UDHCPC_SCRIPT.replaceAll("/etc/resolv.conf", `${root}/resolv.conf`).replace(/^#!.*\n/, "");
      r = spawnI386(images!.busybox, ["sh", "-c", event, "udhcpc.script", "bound"], {
        encoding: "utf8", env: { interface: "eth0", ip: "10.0.2.15", mask: "24", router: "10.0.2.2 10.0.2.9", dns: "10.0.2.3 10.0.2.4" },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(root, "log"), "utf8").trim().split("\n")).toEqual([
        "ip addr flush dev eth0", "ip addr add 10.0.2.15/24 dev eth0", "ip route replace default via 10.0.2.2 dev eth0",
      ]);
      expect(readFileSync(join(root, "resolv.conf"), "utf8")).toBe("nameserver 10.0.2.3\nnameserver 10.0.2.4\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
