/**
 * /init's network set-up (src/boot/initramfs.ts NETWORK_SETUP), run by the
 * guest's own shell — Debian's static busybox, natively on the host (or under
 * qemu-i386: tests/support/i386.ts) — over a
 * fake /proc/cmdline and /sys/class/net, with `ip` recording its calls. The
 * oracle is busybox's sh: the lines must do in it what they do in the guest.
 * Skipped (saying so) when the images are not cached.
 */
import { describe, it, expect } from "vitest";
import { spawnI386 } from "../support/i386.js";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { NETWORK_SETUP } from "../../src/boot/initramfs.js";
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
});
