/**
 * The user network's host side on Node (see src/net/user/host.ts): TCP
 * through node:net (half-open allowed, so a guest that has sent its FIN still
 * gets the rest of the answer), UDP through node:dgram, names through
 * dns.lookup — the host's getaddrinfo, so /etc/hosts and whatever resolver
 * the host uses answer the guest's queries. Node has no ICMP socket, so an
 * echo beyond the router is the host's `ping` command's (iputils-ping: an
 * unprivileged ICMP socket where net.ipv4.ping_group_range allows one, else
 * its own capability), one process per echo.
 *
 * @module
 */
import { createServer, connect, type Socket } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { getServers } from "node:dns";
import { execFile } from "node:child_process";
import type { HostNet, HostTcpEvents, HostTcpSocket, HostUdpSocket, HostListener } from "../net/user/host.js";

class NodeTcpSocket implements HostTcpSocket {
  private events: HostTcpEvents | null = null;

  constructor(private readonly s: Socket) {
    s.setNoDelay(true);
    s.on("connect", () => this.events?.onConnect());
    s.on("data", (b: Buffer) => this.events?.onData(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    s.on("end", () => this.events?.onEnd());
    s.on("drain", () => this.events?.onDrain());
    let error: string | null = null;
    s.on("error", (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
    s.on("close", () => this.events?.onClose(error));
  }

  setEvents(events: HostTcpEvents): void { this.events = events; }
  write(data: Uint8Array): boolean { return this.s.destroyed ? false : this.s.write(data); }
  get buffered(): number { return this.s.writableLength; }
  end(): void { if (!this.s.destroyed) this.s.end(); }
  destroy(): void { this.s.destroy(); }
  pause(): void { this.s.pause(); }
  resume(): void { this.s.resume(); }
}

/** A udp4 socket handing each datagram to `onMessage`. */
function udpSocket(onMessage: (data: Uint8Array, address: string, port: number) => void): UdpSocket {
  const s = createSocket("udp4");
  s.on("message", (b, rinfo) => onMessage(new Uint8Array(b.buffer, b.byteOffset, b.length), rinfo.address, rinfo.port));
  return s;
}

/** An ICMP error for one datagram: UDP is unreliable, the guest times out as it would. */
function ignoreUdpError(): void {}

/** The HostUdpSocket of a bound socket: sends and a close that may be called more than once. */
function udpHandle(s: UdpSocket): HostUdpSocket {
  let open = true;
  return {
    send: (data, address, port) => { if (open) s.send(data, port, address); },
    close: () => { if (open) { open = false; s.close(); } },
  };
}

export class NodeHostNet implements HostNet {
  /** `dnsServers`: instead of the host's own (`dns.getServers()`: /etc/resolv.conf). */
  constructor(private readonly options: { dnsServers?: string[] } = {}) {}

  dnsServers(): string[] {
    // IPv4 servers only ("1.2.3.4" or "1.2.3.4:5353"): the router's sockets are udp4.
    return (this.options.dnsServers ?? getServers()).filter((s) => /^\d+\.\d+\.\d+\.\d+(:\d+)?$/.test(s));
  }

  connectTcp(host: string, port: number, events: HostTcpEvents): HostTcpSocket {
    const t = new NodeTcpSocket(connect({ host, port, allowHalfOpen: true }));
    t.setEvents(events);
    return t;
  }

  listenTcp(host: string, port: number, onAccept: (socket: HostTcpSocket, peer: string) => void): Promise<HostListener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => onAccept(new NodeTcpSocket(s), `${s.remoteAddress}:${s.remotePort}`));
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen: ${e.code ?? e.message}`)));
      server.listen(port, host, () => {
        const a = server.address();
        resolve({ port: a && typeof a === "object" ? a.port : port, close: () => server.close() });
      });
    });
  }

  openUdp(onMessage: (data: Uint8Array, address: string, port: number) => void): HostUdpSocket {
    const s = udpSocket(onMessage);
    s.on("error", ignoreUdpError);
    s.bind(0);
    return udpHandle(s);
  }

  listenUdp(host: string, port: number, onMessage: (data: Uint8Array, address: string, port: number) => void): Promise<HostUdpSocket & { readonly port: number }> {
    return new Promise((resolve, reject) => {
      const s = udpSocket(onMessage);
      s.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen: ${e.code ?? e.message}`)));
      s.bind(port, host, () => {
        s.removeAllListeners("error");
        s.on("error", ignoreUdpError);
        resolve({ port: s.address().port, ...udpHandle(s) });
      });
    });
  }

  /** One echo by the host's `ping`: true when its reply came (status 0), false when none did (status 1). */
  ping(address: string, timeoutMs: number): Promise<boolean> {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) return Promise.resolve(false);
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    return new Promise((resolve, reject) => {
      execFile("ping", ["-n", "-q", "-c", "1", "-W", seconds, address], { timeout: timeoutMs + 5000 }, (error, _out, err) => {
        if (!error) { resolve(true); return; }
        const code = (error as NodeJS.ErrnoException).code as string | number | undefined;
        if (code === 1) resolve(false);
        else if (code === "ENOENT") reject(new Error("the host has no ping command (Debian: apt-get install iputils-ping)"));
        else reject(new Error(`the host's ping cannot send: ${String(err).trim().split("\n")[0] || error.message}`));
      });
    });
  }

  async lookupIpv4(name: string): Promise<string[]> {
    try {
      return (await lookup(name, { family: 4, all: true })).map((a) => a.address);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOTFOUND" || (e as NodeJS.ErrnoException).code === "ENODATA") return [];
      throw e;
    }
  }
}
