/**
 * User-mode networking, as QEMU's `-netdev user` (slirp): a virtual router
 * on the switch that gives guests a way out through the host's own sockets,
 * with no privileges, TAP device or bridge.
 *
 * The network is QEMU's: 10.0.2.0/24; the router, which is also the host
 * (10.0.2.2 reaches the host's 127.0.0.1), answers ARP and ping; DHCP hands
 * out 10.0.2.15 upwards with router 10.0.2.2 and DNS 10.0.2.3; the DNS
 * server resolves A queries with the host's resolver (hosts file included)
 * and relays the others to the host's DNS server.
 * Every other IPv4 packet is NAT'ed: a guest's TCP connection becomes a host
 * TCP connection to the same address and port (tcp.ts), a UDP flow a host
 * UDP socket. Host forwards (`hostfwd=tcp:…`) listen on the host and open a
 * connection to the guest for every one accepted; UDP forwards (`hostfwd=udp:…`)
 * give each host peer a port of the router's, so the guest's answers find it.
 *
 * An echo request beyond the router is the host's to make (HostNet.ping: on
 * Node the host's ping command, Node having no ICMP socket); its reply comes
 * back to the guest with the guest's own identifier, sequence and data, as
 * slirp's ICMP sockets give them. Other ICMP beyond the router is dropped.
 *
 * Not there: IP fragments, IPv6.
 *
 * It plugs into the virtual switch like a NIC: {@link receive} takes the
 * frames the switch delivers to its port, {@link output} sends frames in.
 *
 * @module
 */
import { BROADCAST_MAC, type Mac, destinationMac, sourceMac } from "../ethernet.js";
import {
  ARP_REPLY, ARP_REQUEST, ETHERTYPE_ARP, PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN,
  arpFrame, be16, formatIpv4, icmpFrame, parseIpv4, readArp, readIpv4, readTcp, readUdp, tcpFrame, udpFrame,
  type Ipv4View, type TcpView,
} from "../inet.js";
import { DhcpServer, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, readDhcpRequest } from "./dhcp.js";
import { CLASS_IN, DNS_PORT, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_OK, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA, dnsResponse, readDnsQuery } from "./dns.js";
import { NatTcpConnection, type TcpConnectionCallbacks } from "./tcp.js";
import type { LargeSender } from "../link.js";
import type { VirtualSwitch } from "../switch.js";
import type { HostListener, HostNet, HostTcpSocket, HostUdpSocket } from "./host.js";

/** QEMU's user network (docs: "Using the user mode network stack"). */
export const USER_NET = {
  network: 0x0a000200, // 10.0.2.0
  prefix: 24,
  router: 0x0a000202, // 10.0.2.2: the gateway, and the host
  dns: 0x0a000203, // 10.0.2.3
  firstGuest: 0x0a00020f, // 10.0.2.15
} as const;
/** Addresses DHCP hands out from 10.0.2.15 (to 10.0.2.30). */
export const USER_NET_POOL = 16;
const NETMASK = (~0 << (32 - USER_NET.prefix)) >>> 0;
const HOST_LOOPBACK = "127.0.0.1";
/** How long a relayed DNS query waits for the host's server. */
const DNS_RELAY_MS = 5000;
/** UDP flows without traffic for this long are closed. */
export const UDP_IDLE_MS = 60_000;
/** Open connections listed by describe() at most. */
const MAX_LISTED = 16;
/** How long the host waits for an echo's reply (a guest's ping waits longer: busybox and iputils say "no answer" after 10 s). */
const PING_TIMEOUT_MS = 4000;
/** Host echoes at once (one process each on Node): a flood beyond it is dropped, as a router rate-limits ICMP. */
const PINGS_IN_FLIGHT = 16;
/** First source port of connections the router opens to a guest (host forwards). */
const FORWARD_PORT_BASE = 49152;

/** A TCP connection's key: the guest's end, then the far end as the guest sees it. */
function tcpKey(guest: number, guestPort: number, peer: number, peerPort: number): string {
  return `${guest}:${guestPort}>${peer}:${peerPort}`;
}

/** A virtual host's station address: 52:55 then its IPv4 address, as slirp's. */
export function userNetMac(ip: number): Mac { return 0x52550000_0000 + ip; }

/** `hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT` (QEMU's syntax). */
export interface HostForward { protocol: "tcp" | "udp"; hostAddress: string; hostPort: number; guestAddress: number; guestPort: number }

export interface UserNetworkOptions {
  /** Station address → address DHCP gives it (symbiont's VMs get 10.0.2.15 + i whoever asks first). */
  reservations?: ReadonlyMap<Mac, number>;
  /** QEMU's `restrict=on`: the guest reaches nothing beyond the router's own services (DHCP, DNS, ping); host forwards still work. */
  restrict?: boolean;
  hostForwards?: readonly HostForward[];
  /** One-line notices (refused connections, forwards). */
  notice?: (line: string) => void;
}

/** Parse a `hostfwd=` value: `tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT` (tcp: may be left out, as in QEMU). */
export function parseHostForward(text: string): HostForward {
  const m = /^(?:(tcp|udp):)?([^:]*):(\d+)-([^:]*):(\d+)$/.exec(text);
  const bad = (why: string) => new Error(`hostfwd=${text}: ${why} (expected tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)`);
  if (!m) throw bad("not understood");
  const hostPort = Number(m[3]), guestPort = Number(m[5]);
  if (hostPort > 65535) throw bad("host port out of range");
  if (guestPort < 1 || guestPort > 65535) throw bad("guest port out of range");
  if (m[2] && parseIpv4(m[2]) === null) throw bad(`"${m[2]}" is not an IPv4 address`);
  const guest = m[4] ? parseIpv4(m[4]) : USER_NET.firstGuest;
  if (guest === null) throw bad(`"${m[4]}" is not an IPv4 address`);
  if (((guest & NETMASK) >>> 0) !== USER_NET.network) throw bad(`the guest address must be in 10.0.2.0/24`);
  return { protocol: m[1] === "udp" ? "udp" : "tcp", hostAddress: m[2] || HOST_LOOPBACK, hostPort, guestAddress: guest, guestPort };
}

export interface UserNetworkStats {
  framesIn: number;
  framesOut: number;
  /** Large TCP packets (link.ts) among them: a guest's TSO packets taken whole, 64 KiB segments sent whole to its NIC. */
  largeIn: number;
  largeOut: number;
  arpReplies: number;
  pingReplies: number;
  /** Echo requests beyond the router that the host's echo answered (and the guest got its reply), or did not. */
  pingsRelayed: number;
  pingsUnanswered: number;
  dnsQueries: number;
  /** Queries other than A and AAAA relayed to the host's DNS server. */
  dnsRelayed: number;
  tcpOpened: number;
  tcpRefused: number;
  tcpForwarded: number;
  udpFlows: number;
  /** Host peers of UDP forwards. */
  udpForwarded: number;
  /** Frames the router could not route: ICMP beyond it but echoes the host can make, fragments, addresses in 10.0.2.0/24 it does not own, restrict=on. */
  dropped: number;
}

/** A guest's UDP flow out (keyed by its address and port) and the host socket it goes through. */
interface UdpFlow { socket: HostUdpSocket; guest: number; guestPort: number; lastMs: number }
/** A host peer of a UDP forward, seen by the guest as 10.0.2.2:routerPort. */
interface ForwardedUdp { socket: HostUdpSocket; peerAddress: string; peerPort: number; guest: number; guestPort: number; lastMs: number }

export class UserNetwork {
  /** Where frames for the guests go (the switch port). */
  output: (frame: Uint8Array) => void = () => {};
  /** Where large TCP packets for the guests go, if the way to them carries them whole (the switch port; link.ts). */
  outputLarge: LargeSender | null = null;
  readonly stats: UserNetworkStats = { framesIn: 0, framesOut: 0, largeIn: 0, largeOut: 0, arpReplies: 0, pingReplies: 0, pingsRelayed: 0, pingsUnanswered: 0, dnsQueries: 0, dnsRelayed: 0, tcpOpened: 0, tcpRefused: 0, tcpForwarded: 0, udpFlows: 0, udpForwarded: 0, dropped: 0 };
  readonly dhcp: DhcpServer;
  /** Guests' station addresses, learned from what they send. */
  private readonly neighbours = new Map<number, Mac>();
  private readonly tcp = new Map<string, NatTcpConnection>();
  private readonly udp = new Map<string, UdpFlow>();
  private readonly listeners: HostListener[] = [];
  /** UDP forwards: the router-side port each host peer got, and its way back. */
  private readonly udpForwarded = new Map<number, ForwardedUdp>();
  private readonly udpForwardPort = new Map<string, number>();
  private readonly sweep: ReturnType<typeof setInterval>;
  private ipId = 0;
  /** Host echoes not yet answered, and whether the host cannot ping at all (said once). */
  private pingsInFlight = 0;
  private pingUnavailable = false;
  private nextForwardPort = FORWARD_PORT_BASE;
  private readonly notice: (line: string) => void;

  constructor(private readonly host: HostNet, private readonly options: UserNetworkOptions = {}) {
    this.notice = options.notice ?? (() => {});
    this.dhcp = new DhcpServer({
      server: USER_NET.router, netmask: NETMASK, dns: USER_NET.dns, firstAddress: USER_NET.firstGuest,
      poolSize: USER_NET_POOL, leaseSeconds: 86400, reservations: options.reservations,
    });
    this.sweep = setInterval(() => this.closeIdleUdp(), UDP_IDLE_MS / 2);
    (this.sweep as { unref?: () => void }).unref?.();
  }

  /** Open the host forwards' listeners; rejects with a one-line error (port in use …). */
  async start(): Promise<void> {
    for (const f of this.options.hostForwards ?? []) {
      const where = `${f.protocol} ${f.hostAddress}:${f.hostPort}`;
      const l = await (f.protocol === "tcp"
        ? this.host.listenTcp(f.hostAddress, f.hostPort, (socket, peer) => this.acceptForward(f, socket, peer))
        : this.listenUdpForward(f)
      ).catch((e: Error) => { throw new Error(`hostfwd ${where}: ${e.message}`); });
      this.listeners.push(l);
      this.notice(`forwarding ${f.protocol} ${f.hostAddress}:${l.port} to ${formatIpv4(f.guestAddress)}:${f.guestPort}`);
    }
  }

  /**
   * A UDP forward: each host peer (address and port) gets a port of the router's, and its datagrams reach the guest
   * from 10.0.2.2 and that port; the guest's answers to it go back to the peer from the listening socket.
   */
  private async listenUdpForward(f: HostForward): Promise<HostListener> {
    const socket = await this.host.listenUdp(f.hostAddress, f.hostPort, (data, address, port) => {
      const peer = `${address}:${port}`;
      let routerPort = this.udpForwardPort.get(peer);
      if (routerPort === undefined) {
        routerPort = this.freeForwardPort((p) => this.udpForwarded.has(p));
        if (routerPort === 0) return;
        this.udpForwardPort.set(peer, routerPort);
        this.udpForwarded.set(routerPort, { socket, peerAddress: address, peerPort: port, guest: f.guestAddress, guestPort: f.guestPort, lastMs: 0 });
        this.stats.udpForwarded++;
      }
      const fwd = this.udpForwarded.get(routerPort)!;
      fwd.lastMs = Date.now();
      const to = this.toGuest(USER_NET.router, f.guestAddress);
      if (to) this.send(udpFrame(to, routerPort, f.guestPort, data));
    });
    return { port: socket.port, close: () => socket.close() };
  }

  /** Put the router on a switch port; a guest's TSO packet reaches it whole (its TCP takes the 64 KiB at once). */
  plugInto(sw: VirtualSwitch): void {
    const port = sw.connect({ name: "user" }, (f) => this.receive(f), (f) => this.receiveLarge(f));
    this.output = (f) => port.send(f);
    this.outputLarge = (f, mss) => port.sendLarge(f, mss);
  }

  close(): void {
    clearInterval(this.sweep);
    for (const l of this.listeners) l.close();
    for (const c of [...this.tcp.values()]) c.abort();
    for (const f of this.udp.values()) f.socket.close();
    this.udp.clear();
  }

  /**
   * The guests were taken back to a snapshot's instant (the monitor's loadvm): the connections and UDP flows open now
   * are not theirs any more. Each is dropped without a word to the guest and its host end closed, so the network is as a
   * fresh one (a `--loadvm` run's) is: a segment the guest sends on a connection it had at the snapshot gets a reset, as
   * from QEMU's slirp, which keeps no NAT connection in a snapshot either. Host forwards go on listening. Returns the
   * number of TCP connections dropped.
   */
  forgetConnections(): number {
    const tcp = [...this.tcp.values()];
    for (const c of tcp) c.forget();
    for (const f of this.udp.values()) f.socket.close();
    this.udp.clear();
    return tcp.length;
  }

  /** Lines for --stats and the monitor: the counters, then the open connections (as QEMU's `info usernet`). */
  describe(): string[] {
    const s = this.stats, d = this.dhcp.stats;
    const open = [
      ...[...this.tcp.values()].map((c) => `net user:   ${c.label} ${c.stateName}`),
      ...[...this.udp.values()].map((f) => `net user:   udp from ${formatIpv4(f.guest)}:${f.guestPort}`),
    ];
    return [
      `net user: frames in ${s.framesIn} out ${s.framesOut} (large TCP packets in ${s.largeIn} out ${s.largeOut}) dropped ${s.dropped}; arp replies ${s.arpReplies} ping replies ${s.pingReplies} (beyond the router: ${s.pingsRelayed}, unanswered ${s.pingsUnanswered}); dhcp offers ${d.offers} acks ${d.acks} naks ${d.naks}; dns queries ${s.dnsQueries} (relayed ${s.dnsRelayed})`,
      `net user: tcp opened ${s.tcpOpened} refused ${s.tcpRefused} forwarded-in ${s.tcpForwarded} open now ${this.tcp.size}; udp flows ${s.udpFlows} open now ${this.udp.size} forwarded-in ${s.udpForwarded}; leases ${this.dhcp.describeLeases().join(", ") || "none"}`,
      ...open.slice(0, MAX_LISTED),
      ...(open.length > MAX_LISTED ? [`net user:   … and ${open.length - MAX_LISTED} more`] : []),
    ];
  }

  /** A large TCP packet the switch delivers whole (a guest's TSO packet): TCP takes its payload at once. */
  receiveLarge(frame: Uint8Array): void {
    this.stats.largeIn++;
    this.receive(frame);
  }

  /** A frame the switch delivers to the router. */
  receive(frame: Uint8Array): void {
    const dst = destinationMac(frame);
    if (dst !== BROADCAST_MAC && dst !== userNetMac(USER_NET.router) && dst !== userNetMac(USER_NET.dns)) return; // another guest's
    this.stats.framesIn++;
    if (be16(frame, 12) === ETHERTYPE_ARP) { this.arp(frame); return; }
    const ip = readIpv4(frame);
    if (!ip) return;
    if (ip.src !== 0 && this.inNetwork(ip.src)) this.neighbours.set(ip.src, sourceMac(frame));
    if (ip.fragment) { this.stats.dropped++; return; }
    switch (ip.protocol) {
      case PROTO_UDP: this.udpIn(frame, ip); return;
      case PROTO_TCP: this.tcpIn(frame, ip); return;
      case PROTO_ICMP: this.icmpIn(frame, ip); return;
      default: this.stats.dropped++;
    }
  }

  private inNetwork(ip: number): boolean { return ((ip & NETMASK) >>> 0) === USER_NET.network; }
  private isRouter(ip: number): boolean { return ip === USER_NET.router || ip === USER_NET.dns; }

  private send(frame: Uint8Array): void {
    this.stats.framesOut++;
    this.output(frame);
  }

  /** Addressing of a packet from `from` (as the guest sees it) to guest `to`; null (and an ARP request sent) when the guest's station address is not known yet. */
  private toGuest(from: number, to: number): { dstMac: Mac; srcMac: Mac; src: number; dst: number; id: number } | null {
    const mac = to === 0xffffffff ? BROADCAST_MAC : this.neighbours.get(to);
    if (mac === undefined) {
      this.send(arpFrame(BROADCAST_MAC, { op: ARP_REQUEST, senderMac: userNetMac(USER_NET.router), senderIp: USER_NET.router, targetMac: 0, targetIp: to }));
      return null;
    }
    const srcMac = userNetMac(this.isRouter(from) ? from : USER_NET.router);
    return { dstMac: mac, srcMac, src: from, dst: to, id: this.nextIpId() };
  }

  /** The IPv4 identification of the router's next packet. */
  private nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  // ---- ARP and ICMP: the router's own ----

  private arp(frame: Uint8Array): void {
    const a = readArp(frame);
    if (!a) return;
    if (this.inNetwork(a.senderIp)) this.neighbours.set(a.senderIp, a.senderMac);
    if (a.op !== ARP_REQUEST || !this.isRouter(a.targetIp)) return;
    this.stats.arpReplies++;
    this.send(arpFrame(a.senderMac, { op: ARP_REPLY, senderMac: userNetMac(a.targetIp), senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }));
  }

  private icmpIn(frame: Uint8Array, ip: Ipv4View): void {
    // Echo request (type 8): an echo reply (type 0) with the same identifier, sequence and data (RFC 792) — the
    // router's own at once, another address's when the host's echo to it was answered.
    if (frame[ip.payload] !== 8 || ip.end - ip.payload < 8) { this.stats.dropped++; return; }
    const body = frame.slice(ip.payload + 4, ip.end), src = ip.src, dst = ip.dst;
    const reply = () => {
      const to = this.toGuest(dst, src);
      if (to) this.send(icmpFrame(to, 0, 0, body));
    };
    if (this.isRouter(dst)) { this.stats.pingReplies++; reply(); return; }
    const target = this.hostAddress(dst);
    if (target === null || !this.host.ping || this.pingUnavailable || this.pingsInFlight >= PINGS_IN_FLIGHT) { this.stats.dropped++; return; }
    this.pingsInFlight++;
    this.host.ping(target, PING_TIMEOUT_MS).then((answered) => {
      if (answered) { this.stats.pingsRelayed++; reply(); } else this.stats.pingsUnanswered++;
    }, (e: Error) => {
      if (!this.pingUnavailable) this.notice(`ping beyond the router: ${e.message}; such pings go unanswered`);
      this.pingUnavailable = true;
    }).finally(() => { this.pingsInFlight--; });
  }

  // ---- UDP: DHCP, DNS, NAT ----

  private udpIn(frame: Uint8Array, ip: Ipv4View): void {
    const u = readUdp(frame, ip);
    if (!u) return;
    if (u.dstPort === DHCP_SERVER_PORT && (ip.dst === 0xffffffff || ip.dst === USER_NET.router)) { this.dhcpIn(u.data, sourceMac(frame)); return; }
    if (ip.dst === USER_NET.dns && u.dstPort === DNS_PORT) { this.dnsIn(u.data, ip.src, u.srcPort); return; }
    const forwarded = ip.dst === USER_NET.router ? this.udpForwarded.get(u.dstPort) : undefined;
    if (forwarded && forwarded.guest === ip.src && forwarded.guestPort === u.srcPort) { // an answer to a forward's peer
      forwarded.lastMs = Date.now();
      forwarded.socket.send(u.data.slice(), forwarded.peerAddress, forwarded.peerPort);
      return;
    }
    const target = this.hostAddress(ip.dst);
    if (target === null) { this.stats.dropped++; return; }
    const key = `${ip.src}:${u.srcPort}`;
    let flow = this.udp.get(key);
    if (!flow) {
      const guest = ip.src, guestPort = u.srcPort;
      const socket = this.host.openUdp((data, address, port) => {
        const from = address === HOST_LOOPBACK ? USER_NET.router : parseIpv4(address);
        const f = this.udp.get(key);
        if (from === null || !f) return;
        f.lastMs = Date.now();
        const to = this.toGuest(from, guest);
        if (to) this.send(udpFrame(to, port, guestPort, data));
      });
      flow = { socket, guest, guestPort, lastMs: Date.now() };
      this.udp.set(key, flow);
      this.stats.udpFlows++;
    }
    flow.lastMs = Date.now();
    flow.socket.send(u.data.slice(), target, u.dstPort);
  }

  private closeIdleUdp(): void {
    const now = Date.now();
    for (const [key, f] of this.udp) if (now - f.lastMs > UDP_IDLE_MS) { f.socket.close(); this.udp.delete(key); }
    for (const [port, f] of this.udpForwarded) {
      if (now - f.lastMs > UDP_IDLE_MS) { this.udpForwarded.delete(port); this.udpForwardPort.delete(`${f.peerAddress}:${f.peerPort}`); }
    }
  }

  private dhcpIn(msg: Uint8Array, mac: Mac): void {
    const req = readDhcpRequest(msg);
    if (!req || req.mac !== mac) return;
    const reply = this.dhcp.handle(req);
    if (!reply) return;
    // To the client's station address (it has no IP address yet), IP broadcast: what every client takes (RFC 2131 §4.1).
    const broadcast = (req.flags & 0x8000) !== 0;
    this.send(udpFrame({ dstMac: broadcast ? BROADCAST_MAC : mac, srcMac: userNetMac(USER_NET.router), src: USER_NET.router, dst: 0xffffffff, id: this.nextIpId() },
      DHCP_SERVER_PORT, DHCP_CLIENT_PORT, reply));
  }

  private dnsIn(msg: Uint8Array, guest: number, guestPort: number): void {
    const q = readDnsQuery(msg);
    if (!q) return;
    this.stats.dnsQueries++;
    const answer = (rcode: number, addresses: number[] = []) => {
      const to = this.toGuest(USER_NET.dns, guest);
      if (to) this.send(udpFrame(to, DNS_PORT, guestPort, dnsResponse(q, rcode, addresses)));
    };
    if (q.qclass !== CLASS_IN || (q.type !== TYPE_A && q.type !== TYPE_AAAA)) { this.relayDns(msg, guest, guestPort, () => answer(RCODE_NOTIMP)); return; }
    // AAAA: the name's IPv4 existence decides NXDOMAIN; the answer is empty either way (the network has no IPv6).
    this.host.lookupIpv4(q.name).then(
      (addresses) => {
        const ips = addresses.map(parseIpv4).filter((a): a is number => a !== null);
        if (ips.length === 0) answer(RCODE_NXDOMAIN);
        else answer(RCODE_OK, q.type === TYPE_A ? ips : []);
      },
      () => answer(RCODE_SERVFAIL),
    );
  }

  /**
   * Any other query (MX, TXT, SRV, PTR …) goes as it is to the host's first DNS server, and its answer back from
   * 10.0.2.3 — what QEMU's DNS does with every query. `none()` answers when the host has no (IPv4) server.
   */
  private relayDns(msg: Uint8Array, guest: number, guestPort: number, none: () => void): void {
    const server = this.host.dnsServers()[0];
    if (!server) { none(); return; }
    const [address, port] = server.includes(":") ? [server.slice(0, server.indexOf(":")), Number(server.slice(server.indexOf(":") + 1))] : [server, DNS_PORT];
    this.stats.dnsRelayed++;
    const socket = this.host.openUdp((data) => {
      socket.close();
      clearTimeout(timer);
      const to = this.toGuest(USER_NET.dns, guest);
      if (to) this.send(udpFrame(to, DNS_PORT, guestPort, data));
    });
    const timer = setTimeout(() => socket.close(), DNS_RELAY_MS); // no answer: the guest's resolver retries
    (timer as { unref?: () => void }).unref?.();
    socket.send(msg.slice(), address, port);
  }

  /** Where a guest's packet to `dst` goes on the host: null when nowhere (restrict=on, or 10.0.2.x that is not the router). */
  private hostAddress(dst: number): string | null {
    if (this.options.restrict) return null;
    if (dst === USER_NET.router) return HOST_LOOPBACK;
    if (this.inNetwork(dst) || dst === 0xffffffff || dst >>> 28 === 0xe || dst >>> 24 === 127 || dst === 0) return null;
    return formatIpv4(dst);
  }

  // ---- TCP ----

  private tcpIn(frame: Uint8Array, ip: Ipv4View): void {
    const seg = readTcp(frame, ip);
    if (!seg) return;
    const key = tcpKey(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const existing = this.tcp.get(key);
    if (existing) { existing.segment(seg); return; }
    if (seg.flags & TCP_RST) return;
    const target = this.hostAddress(ip.dst);
    if ((seg.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN || target === null) {
      if (target === null && seg.flags & TCP_SYN) this.stats.tcpRefused++;
      this.refuse(ip, seg);
      return;
    }
    this.stats.tcpOpened++;
    const label = `tcp ${formatIpv4(ip.src)}:${seg.srcPort} -> ${target}:${seg.dstPort}`;
    const conn = new NatTcpConnection(this.tcpCallbacks(key, ip.src, seg.srcPort, ip.dst, seg.dstPort), seg,
      (events) => this.host.connectTcp(target, seg.dstPort, events), label);
    if (!conn.closed) this.tcp.set(key, conn);
  }

  private tcpCallbacks(key: string, guest: number, guestPort: number, peer: number, peerPort: number): TcpConnectionCallbacks {
    const net = this;
    return {
      get large() { return net.outputLarge !== null; },
      send: (t, data, mss) => {
        const to = this.toGuest(peer, guest);
        if (!to) return;
        const frame = tcpFrame(to, { ...t, srcPort: peerPort, dstPort: guestPort }, data);
        if (data && mss && data.length > mss && this.outputLarge) { this.stats.largeOut++; this.stats.framesOut++; this.outputLarge(frame, mss); }
        else this.send(frame);
      },
      gone: () => { this.tcp.delete(key); },
      notice: this.notice,
      refused: (error: string) => {
        this.stats.tcpRefused++;
        this.notice(`tcp ${formatIpv4(guest)}:${guestPort} -> ${formatIpv4(peer)}:${peerPort}: ${error}; the guest got a reset`);
      },
    };
  }

  /** RFC 793's reset for a segment that belongs to no connection. */
  private refuse(ip: Ipv4View, seg: TcpView): void {
    const to = this.toGuest(ip.dst, ip.src);
    if (!to) return;
    const fields = seg.flags & TCP_ACK
      ? { seq: seg.ack, ack: 0, flags: TCP_RST }
      : { seq: 0, ack: (seg.seq + seg.data.length + (seg.flags & TCP_SYN ? 1 : 0)) >>> 0, flags: TCP_RST | TCP_ACK };
    this.send(tcpFrame(to, { ...fields, srcPort: seg.dstPort, dstPort: seg.srcPort, window: 0 }));
  }

  /** A router port for a forwarded connection or peer, from 49152 on, that `taken` says is free (0: none). */
  private freeForwardPort(taken: (port: number) => boolean): number {
    for (let i = 0; i < 16384; i++) {
      const p = this.nextForwardPort;
      this.nextForwardPort = p === 65535 ? FORWARD_PORT_BASE : p + 1;
      if (!taken(p)) return p;
    }
    return 0;
  }

  private acceptForward(f: HostForward, socket: HostTcpSocket, peer: string): void {
    const port = this.freeForwardPort((p) => this.tcp.has(tcpKey(f.guestAddress, f.guestPort, USER_NET.router, p)));
    if (port === 0) { socket.destroy(); return; }
    const key = tcpKey(f.guestAddress, f.guestPort, USER_NET.router, port);
    this.stats.tcpForwarded++;
    const conn = new NatTcpConnection(this.tcpCallbacks(key, f.guestAddress, f.guestPort, USER_NET.router, port), null, socket,
      `hostfwd ${peer} -> ${formatIpv4(f.guestAddress)}:${f.guestPort}`);
    this.tcp.set(key, conn);
  }
}
