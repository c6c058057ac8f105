/**
 * `symbiont boot`'s network options: what they mean and the one-line errors
 * for bad values (status 2, nothing started).
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { parseNicSpec, parseNetSpec } from "../../src/cli/args.js";
import { guestAddress, ipCommandLine } from "../../src/machine/nics.js";
import { findCachedImages } from "../../src/node/images.js";
import { createServer } from "node:net";

describe("--nic and --net", () => {
  it("parse cards, their options and the back ends", () => {
    expect(parseNicSpec("virtio")).toMatchObject({ model: "virtio", vpio: false, shared: null });
    expect(parseNicSpec("ne2k,vpio,shared=card0")).toMatchObject({ model: "ne2k", vpio: true, shared: "card0" });
    expect(parseNicSpec("virtio")).toMatchObject({ offloads: true });
    expect(parseNicSpec("virtio,offload=off")).toMatchObject({ model: "virtio", offloads: false });
    const n = parseNicSpec("ne2k,mac=02:00:00:00:00:10,ip=192.168.7.1/16");
    expect(guestAddress(0, n.addresses)).toEqual({ mac: 0x020000000010, ip: "192.168.7.1/16" });
    expect(guestAddress(1, n.addresses)).toEqual({ mac: 0x020000000011, ip: "192.168.7.2/16" });
    expect(ipCommandLine([guestAddress(0), guestAddress(1)])).toBe("symbiont.ip=52:54:00:12:34:56=10.0.2.15/24,52:54:00:12:34:57=10.0.2.16/24");
    expect(parseNetSpec("switch")).toEqual({ kind: "switch" });
    expect(parseNetSpec("socket:listen:7000")).toEqual({ kind: "socket", endpoint: { mode: "listen", host: "0.0.0.0", port: 7000 } });
    expect(parseNetSpec("user")).toEqual({ kind: "user", restrict: false, hostForwards: [] });
    expect(parseNetSpec("user,restrict=on,hostfwd=tcp::2222-:22,hostfwd=tcp:0.0.0.0:8080-10.0.2.16:80")).toEqual({
      kind: "user", restrict: true, hostForwards: [
        { protocol: "tcp", hostAddress: "127.0.0.1", hostPort: 2222, guestAddress: 0x0a00020f, guestPort: 22 },
        { protocol: "tcp", hostAddress: "0.0.0.0", hostPort: 8080, guestAddress: 0x0a000210, guestPort: 80 },
      ],
    });
    expect(ipCommandLine([{ ...guestAddress(0), ip: "dhcp" }])).toBe("symbiont.ip=52:54:00:12:34:56=dhcp");
    expect(parseNetSpec("socket:peer.example:7000")).toEqual({ kind: "socket", endpoint: { mode: "connect", host: "peer.example", port: 7000 } });
  });

  const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", input: "" });
  it.each([
    [["boot", "--nic", "e1000"], /--nic must be virtio or ne2k/],
    [["boot", "--nic", "virtio,vpio"], /VPIO models the NE2000 only/],
    [["boot", "--nic", "ne2k,shared=x"], /only a VPIO card can be shared/],
    [["boot", "--nic", "ne2k,speed=10"], /unknown option "speed=10"/],
    [["boot", "--nic", "ne2k,offload=off"], /offload= is virtio-net's/],
    [["boot", "--nic", "virtio,mac=52:54:00"], /not a MAC address/],
    [["boot", "--nic", "virtio,ip=10.0.2.15"], /prefix length/],
    [["boot", "--net", "tap0"], /--net must be switch, user, socket:HOST:PORT, socket:listen:PORT or none/],
    [["boot", "--net", "user,smb=/tmp"], /unknown option "smb=\/tmp" \(hostfwd=tcp\|udp:\[HOSTADDR\]:HOSTPORT-\[GUESTADDR\]:GUESTPORT, restrict=on\|off\)/],
    [["boot", "--net", "user,hostfwd=sctp::53-:53"], /hostfwd=sctp::53-:53: not understood/],
    [["boot", "--net", "user", "--nic", "virtio,ip=192.168.1.2/24"], /--net user: the guests' addresses come from its DHCP, 10\.0\.2\.15\/24 to 10\.0\.2\.30\/24/],
    [["boot", "--net", "socket:localhost:0"], /port 1-65535/],
    [["boot", "--vms", "0"], /--vms must be a whole number of VMs between 1 and 8/],
    [["demo", "--nic", "virtio"], /are for boot/],
    [["boot", "--vms", "2", "--disk", "/nonexistent.img"], /the VMs would write one image; add ,snapshot or ,ro/],
  ])("refuses %j with one line and status 2", (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  // The forward's port is taken: one line, status 2, before the guest starts (it needs the cached kernel to get there).
  it.skipIf(!findCachedImages())(`refuses a host forward whose port is taken${findCachedImages() ? "" : " (images not cached: run npm run images)"}`, async () => {
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
    try {
      const r = spawnSync(process.execPath, [cli, "boot", "--net", `user,hostfwd=tcp::${port}-:80`, "--timeout", "30"], { encoding: "utf8", input: "" });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toEqual([`symbiont: --net user: hostfwd tcp 127.0.0.1:${port}: cannot listen: EADDRINUSE`]);
    } finally {
      server.close();
    }
  });
});
