// `symbiont boot --nic virtio --net user,hostfwd=tcp:127.0.0.1:P-:8080` as a user runs it, beside QEMU's own user
// networking (`-netdev user,hostfwd=…`) booting Debian's kernel and the same busybox, both running one script against
// servers on this host: the guest configures itself by DHCP, pings the router, downloads a file from a host HTTP server
// through 10.0.2.2, uploads one, asks a host DNS server through the UDP NAT, connects to a closed port, and serves a
// file through the host forward (the host server fetches it while the guest waits). Oracles: QEMU's guest, which must
// print the same report; the file's MD5 computed here; what the host servers received; the host's own resolver
// (the DNS at 10.0.2.3, which QEMU forwards to the host's name server instead, so only ours is checked there).
// Skipped (saying so) without the cached images or qemu-system-i386 (CI installs QEMU).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer as createHttpServer, get as httpGet, type Server } from "node:http";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { join } from "node:path";
import { tmpdir, networkInterfaces } from "node:os";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { freePort, waitFor } from "./support/processes.js";

const images = findCachedImages();
/** This host's own address beyond its loopback (the guest pings it through the router: an echo the host's ping makes). */
const hostAddress = Object.values(networkInterfaces()).flat().find((a) => a?.family === "IPv4" && !a.internal)?.address ?? null;
const havePing = spawnSync("ping", ["-V"]).status === 0;
const qemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;

const BLOB = Uint8Array.from({ length: 1 << 20 }, (_, i) => (Math.imul(i, 2654435761) >>> 23) & 0xff);
const SEQ = 20000, SERVED = 30000;
const seqText = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
const md5 = (b: Uint8Array | string) => createHash("md5").update(b).digest("hex");

/**
 * The guest's script: every report line starts with NET- (the markers are computed so that a typed, echoed command
 * line does not match them). `fwd` is the host port forwarded to the guest's 8080.
 */
function script(http: number, dns: number, closed: number, fwd: number): string {
  return [
    // The kernel's console messages (a link coming up) would otherwise land inside a report line: only emergencies.
    "dmesg -n 1",
    "echo NET-$((0))-ADDR $(ip -4 addr show dev eth0 | grep inet)",
    "ip route | sed \"s/^/NET-$((0))-ROUTE /\"",
    "sed \"s/^/NET-$((0))-RESOLV /\" /etc/resolv.conf",
    "ping -c 2 10.0.2.2 | sed -n \"s/^2 packets/NET-$((0))-PING &/p\"",
    `echo NET-$((0))-GET $(wget -q -O - http://10.0.2.2:${http}/blob | md5sum)`,
    `seq 1 ${SEQ} > /tmp/s; echo NET-$((0))-POST $(md5sum < /tmp/s) $(wget -q -O - --post-file /tmp/s http://10.0.2.2:${http}/up)`,
    `nslookup foo.example 10.0.2.2:${dns} | sed -n "s/^Address: /NET-$((0))-UDP /p"`,
    `wget -q -O - http://10.0.2.2:${closed}/ 2>&1 | sed "s/^/NET-$((0))-CLOSED /"`,
    `mkdir -p /tmp/www; seq 1 ${SERVED} > /tmp/www/f; httpd -p 8080 -h /tmp/www`,
    `echo NET-$((0))-FWD $(wget -q -O - http://10.0.2.2:${http}/fetch-forwarded/${fwd})`,
  ].join("\n");
}

/** The report lines of a console transcript (prefixes and carriage returns stripped). */
function report(text: string): string[] {
  return text.replace(/\r/g, "").split("\n").map((l) => l.replace(/^\[vm\d\] /, "")).filter((l) => l.startsWith("NET-0-"));
}

/** A DNS server answering every A query with 192.0.2.7 (RFC 5737's documentation range) and nothing else. */
function startDnsServer(): Promise<{ socket: UdpSocket; port: number; queries: string[] }> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4"), queries: string[] = [];
    socket.on("message", (m, r) => {
      let o = 12;
      const labels: string[] = [];
      while (m[o]) { labels.push(m.subarray(o + 1, o + 1 + m[o]!).toString("latin1")); o += m[o]! + 1; }
      o += 5;
      const type = m.readUInt16BE(o - 4);
      queries.push(`${labels.join(".")} ${type}`);
      const answer = type === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]) : Buffer.alloc(0);
      const header = Buffer.from([m[0]!, m[1]!, 0x81, 0x80, 0, 1, 0, type === 1 ? 1 : 0, 0, 0, 0, 0]);
      socket.send(Buffer.concat([header, m.subarray(12, o), answer]), r.port, r.address);
    });
    socket.bind(0, "127.0.0.1", () => resolve({ socket, port: socket.address().port, queries }));
  });
}

describe.skipIf(!images || !qemu)(`symbiont boot --net user beside QEMU's -netdev user${!images ? " (images not cached: run npm run images)" : !qemu ? " (skipped: no qemu-system-i386)" : ""}`, () => {
  let dir = "";
  let out = "", err = "", qout = "", status: number | null = null;
  let sym: ChildProcess | null = null, peer: ChildProcess | null = null;
  let http: Server | null = null, dns: Awaited<ReturnType<typeof startDnsServer>> | null = null;
  const posted: string[] = [];
  let localhost: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "symbiont-usernet-"));
    localhost = (await lookup("localhost", { family: 4, all: true })).map((a) => a.address);
    // The host's servers: the blob, an upload sink that answers with what it got, and the forward prober.
    http = createHttpServer((req, res) => {
      if (req.method === "POST") {
        const h = createHash("md5");
        let n = 0;
        req.on("data", (d: Buffer) => { h.update(d); n += d.length; });
        req.on("end", () => { const r = `${h.digest("hex")} ${n}`; posted.push(r); res.end(`${r}\n`); });
        return;
      }
      const fwd = /^\/fetch-forwarded\/(\d+)$/.exec(req.url ?? "");
      if (fwd) { // fetch the guest's file through the forward while the guest waits for this answer
        httpGet({ host: "127.0.0.1", port: Number(fwd[1]), path: "/f" }, (r) => {
          const h = createHash("md5");
          let n = 0;
          r.on("data", (d: Buffer) => { h.update(d); n += d.length; });
          r.on("end", () => res.end(`${r.statusCode} ${h.digest("hex")} ${n}\n`));
        }).on("error", (e) => res.end(`error ${e.message}\n`));
        return;
      }
      res.end(BLOB);
    });
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    const httpPort = (http.address() as { port: number }).port;
    dns = await startDnsServer();
    const closed = await freePort(), fwdOurs = await freePort(), fwdQemu = await freePort();

    const modules = cachedModules(images!, driverModules(["virtio-net"]));
    writeFileSync(join(dir, "initrd"), busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), modules, run: script(httpPort, dns.port, closed, fwdQemu) }));
    peer = spawn("qemu-system-i386", [
      "-m", "128", "-nographic", "-no-reboot", "-kernel", images!.kernel, "-initrd", join(dir, "initrd"),
      "-append", "console=ttyS0 nokaslr cryptomgr.notests quiet symbiont.ip=52:54:00:12:34:56=dhcp",
      "-netdev", `user,id=n0,hostfwd=tcp:127.0.0.1:${fwdQemu}-:8080`, "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    peer.stdout!.on("data", (b: Buffer) => { qout += b.toString("latin1"); });
    const qemuDone = new Promise<void>((resolve) => peer!.on("exit", () => resolve()));

    sym = spawn(process.execPath, [cli, "boot", "--nic", "virtio", "--net", `user,hostfwd=tcp:127.0.0.1:${fwdOurs}-:8080`, "--stats", "--until", "NET-DONE-2", "--timeout", "1200"], { stdio: ["pipe", "pipe", "pipe"] });
    sym.stdout!.on("data", (b: Buffer) => { out += b.toString("latin1"); });
    sym.stderr!.on("data", (b: Buffer) => { err += b.toString("latin1"); });
    const exited = new Promise<void>((resolve) => sym!.on("exit", (code) => { status = code; resolve(); }));
    await waitFor(() => out, /SYMBIONT-INIT-OK[\s\S]*# /, 900_000, "the guest's shell");
    const icmp = hostAddress ? `\nping -c 2 ${hostAddress} | sed -n "s/^2 packets/NET-$((0))-ICMP &/p"` : "";
    const typed = script(httpPort, dns.port, closed, fwdOurs) + `\nnslookup localhost 10.0.2.3 | sed -n "s/^Address: /NET-$((0))-DNS /p"${icmp}\necho NET-DONE-$((1+1))\n`;
    sym.stdin!.write(typed.split("\n").join("; ").replace(/; $/, "\n"));
    await exited;
    await qemuDone;
  }, 30 * 60 * 1000);

  afterAll(() => {
    sym?.kill();
    peer?.kill();
    http?.close();
    dns?.socket.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ran the script to its end and said where it forwards", () => {
    expect(status, err + out.slice(-3000)).toBe(0);
    expect(err).toMatch(/symbiont: net user: forwarding tcp 127\.0\.0\.1:\d+ to 10\.0\.2\.15:8080/);
    expect(err).toMatch(/\[stats\] net user: .*dhcp offers 1 acks 1 naks 0/);
    // The download reached the guest's virtio-net as 64 KiB packets (receive offloads), the upload the router as its TSO packets.
    expect(err).toMatch(/\[stats\] net user: frames in \d+ out \d+ \(large TCP packets in [1-9]\d* out [1-9]\d*\)/);
    expect(err).toMatch(/\[stats\] virtio-net 52:54:00:12:34:56: offloads: .*; [1-9]\d* large packets received whole/);
  });

  it("configured itself by DHCP as under QEMU: the lease, address, default route and name server", () => {
    const lease = (t: string) => /udhcpc: lease of [\d.]+ obtained from [\d.]+, lease time \d+/.exec(t)?.[0];
    expect(lease(out)).toBeDefined();
    expect(lease(out)).toBe(lease(qout));
    const config = (lines: string[]) => lines.filter((l) => /^NET-0-(ADDR|ROUTE|RESOLV)/.test(l));
    expect(config(report(out)).length).toBeGreaterThanOrEqual(4);
    expect(config(report(out))).toEqual(config(report(qout)));
  });

  it("printed the same report as QEMU's guest, whose every line checks against the host's side", () => {
    const ours = report(out).filter((l) => !l.startsWith("NET-0-DNS ") && !l.startsWith("NET-0-ICMP "));
    expect(ours).toEqual(report(qout));
    const line = (tag: string) => ours.find((l) => l.startsWith(`NET-0-${tag} `))?.slice(`NET-0-${tag} `.length);
    expect(line("PING")).toBe("2 packets transmitted, 2 packets received, 0% packet loss");
    expect(line("GET")).toBe(`${md5(BLOB)} -`);
    const seq = seqText(SEQ);
    expect(line("POST")).toBe(`${md5(seq)} - ${md5(seq)} ${seq.length}`);
    expect(posted).toEqual([`${md5(seq)} ${seq.length}`, `${md5(seq)} ${seq.length}`]); // ours and QEMU's
    expect(line("UDP")).toBe("192.0.2.7");
    expect(dns!.queries).toContain("foo.example 1");
    expect(line("CLOSED")).toBe("wget: can't connect to remote host (10.0.2.2): Connection refused");
    expect(line("FWD")).toBe(`200 ${md5(seqText(SERVED))} ${seqText(SERVED).length}`);
  });

  // Beyond the router QEMU's slirp needs an ICMP socket the host may not allow, so only ours is asked: the guest's
  // pings to this host's own address are answered by the host's ping command's echoes.
  it.skipIf(!hostAddress || !havePing)(`answers pings beyond the router with the host's echoes${!hostAddress ? " (skipped: this host has no address beyond its loopback)" : !havePing ? " (skipped: no ping command: apt-get install iputils-ping)" : ""}`, () => {
    expect(report(out)).toContain("NET-0-ICMP 2 packets transmitted, 2 packets received, 0% packet loss");
    expect(err).toMatch(/\[stats\] net user: .*ping replies 2 \(beyond the router: 2, unanswered 0\)/);
  });

  it("answers DNS at 10.0.2.3 with the host's resolver", () => {
    const answers = report(out).filter((l) => l.startsWith("NET-0-DNS ")).map((l) => l.slice(10));
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.sort()).toEqual([...localhost].sort());
  });
});
