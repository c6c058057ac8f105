/**
 * The user network (src/net/user/) against a fake host: the router's ARP, ping, DHCP, DNS, UDP NAT and TCP NAT as
 * the RFCs say a router, a DHCP server and a TCP peer behave, seen from the guest's side of the wire. Every frame
 * the router sends is decoded by Debian's tcpdump (the independent oracle for the formats and checksums:
 * "-vv" verifies IPv4, UDP, TCP and ICMP checksums); the expected values are the RFCs' (RFC 826, 792, 793, 2131,
 * 1035) and QEMU's documented user network (10.0.2.2 router, 10.0.2.3 DNS, 10.0.2.15 first guest).
 * The whole-system oracle, a Linux guest beside QEMU's own user network, is tests/linux-usernet.test.ts.
 */
import { describe, it, expect, beforeEach, afterEach, vi } from "vitest";
import { spawnSync } from "node:child_process";
import { UserNetwork, parseHostForward, userNetMac, USER_NET } from "../../src/net/user/user-network.js";
import type { HostNet, HostTcpEvents, HostTcpSocket, HostUdpSocket, HostListener } from "../../src/net/user/host.js";
import { tcpFrame, udpFrame, icmpFrame, arpFrame, readIpv4, readTcp, readUdp, ARP_REQUEST, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpFields } from "../../src/net/inet.js";
import { BROADCAST_MAC, parseMac } from "../../src/net/ethernet.js";
import { tcpdumpFrames } from "../support/tcpdump.js";

const tcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
const requireTools = !!process.env.SYMBIONT_REQUIRE_IMAGES;

const GUEST_MAC = parseMac("52:54:00:12:34:56"), GUEST = 0x0a00020f; // 10.0.2.15
const ROUTER_MAC = userNetMac(USER_NET.router);
const REMOTE = 0x5db8d822; // 93.184.216.34

class FakeTcp implements HostTcpSocket {
  written: number[] = [];
  ended = false;
  destroyed = false;
  paused = false;
  buffered = 0;
  constructor(readonly host: string, readonly port: number, public events: HostTcpEvents | null) {}
  write(d: Uint8Array): boolean { this.written.push(...d); return true; }
  end(): void { this.ended = true; }
  destroy(): void { this.destroyed = true; }
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  setEvents(e: HostTcpEvents): void { this.events = e; }
}

class FakeHost implements HostNet {
  tcp: FakeTcp[] = [];
  udp: { sent: [number[], string, number][]; deliver: (d: Uint8Array, a: string, p: number) => void; closed: boolean }[] = [];
  accept: ((s: HostTcpSocket, peer: string) => void) | null = null;
  names = new Map<string, string[]>();
  servers: string[] = [];
  dnsServers(): string[] { return this.servers; }
  connectTcp(host: string, port: number, events: HostTcpEvents): HostTcpSocket {
    const s = new FakeTcp(host, port, events);
    this.tcp.push(s);
    return s;
  }
  async listenTcp(_h: string, port: number, onAccept: (s: HostTcpSocket, peer: string) => void): Promise<HostListener> {
    this.accept = onAccept;
    return { port, close: () => {} };
  }
  openUdp(onMessage: (d: Uint8Array, a: string, p: number) => void): HostUdpSocket {
    const u = { sent: [] as [number[], string, number][], deliver: onMessage, closed: false };
    this.udp.push(u);
    return { send: (d, a, p) => u.sent.push([[...d], a, p]), close: () => { u.closed = true; } };
  }
  udpListeners: { port: number; sent: [number[], string, number][]; deliver: (d: Uint8Array, a: string, p: number) => void }[] = [];
  async listenUdp(_h: string, port: number, onMessage: (d: Uint8Array, a: string, p: number) => void) {
    const l = { port, sent: [] as [number[], string, number][], deliver: onMessage };
    this.udpListeners.push(l);
    return { port, send: (d: Uint8Array, a: string, p: number) => { l.sent.push([[...d], a, p]); }, close: () => {} };
  }
  async lookupIpv4(name: string): Promise<string[]> {
    if (name === "broken.test") throw new Error("EAI_AGAIN");
    return this.names.get(name) ?? [];
  }
}

/** The guest's ARP request (RFC 826) for `target`: who has it, tell 10.0.2.15 at 52:54:00:12:34:56. */
const guestAsks = (target: number) => arpFrame(BROADCAST_MAC, { op: ARP_REQUEST, senderMac: GUEST_MAC, senderIp: GUEST, targetMac: 0, targetIp: target });

/** Let the router learn the guest's station address from an ARP request, and forget the reply it sent to `out`. */
function introduceGuest(net: UserNetwork, out: Uint8Array[], target: number = USER_NET.router): void {
  net.receive(guestAsks(target));
  out.length = 0;
}

/** Guest → router addressing. */
const fromGuest = (dst: number, id = 1) => ({ dstMac: ROUTER_MAC, srcMac: GUEST_MAC, src: GUEST, dst, id });


/** A DHCP client message (RFC 2131 §2, options RFC 2132) from `mac`, built from the RFC's layout. */
function dhcpMessage(mac: number, type: number, requested?: number[]): Uint8Array {
  const m = new Uint8Array(300);
  m.set([1, 1, 6, 0, 0x12, 0x34, 0x56, 0x78]); // BOOTREQUEST, Ethernet, hlen 6, hops, xid
  m.set([(mac / 2 ** 40) & 0xff, (mac / 2 ** 32) & 0xff, (mac >>> 24) & 0xff, (mac >>> 16) & 0xff, (mac >>> 8) & 0xff, mac & 0xff], 28);
  m.set([99, 130, 83, 99, 53, 1, type], 236);
  let o = 243;
  if (requested) { m.set([50, 4, ...requested], o); o += 6; }
  m[o] = 255;
  return m;
}

function dhcpFrame(mac: number, type: number, requested?: number[]): Uint8Array {
  return udpFrame({ dstMac: BROADCAST_MAC, srcMac: mac, src: 0, dst: 0xffffffff, id: 1 }, 68, 67, dhcpMessage(mac, type, requested));
}

/** A DNS query (RFC 1035 §4.1) for `name` of `type`. */
function dnsQuery(name: string, type: number, id = 0x4242): Uint8Array {
  const labels = name.split(".").flatMap((l) => [l.length, ...Buffer.from(l, "latin1")]);
  return Uint8Array.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, type >> 8, type & 0xff, 0, 1]);
}

describe("the user network's router", () => {
  let host: FakeHost, net: UserNetwork, out: Uint8Array[];
  const tcp = (t: Partial<TcpFields> & { seq: number; flags: number }, data?: number[], dst = REMOTE, dstPort = 80) =>
    net.receive(tcpFrame(fromGuest(dst), { srcPort: 40000, dstPort, ack: 0, window: 65535, ...t }, Uint8Array.from(data ?? [])));
  /** TCP segments the router sent to the guest since the last call. */
  const segments = () => out.splice(0).map((f) => { const ip = readIpv4(f)!; return readTcp(f, ip)!; });

  beforeEach(() => {
    vi.useFakeTimers();
    host = new FakeHost();
    net = new UserNetwork(host, { reservations: new Map([[parseMac("52:54:00:12:34:57"), 0x0a000210]]) });
    out = [];
    net.output = (f) => out.push(f);
  });
  afterEach(() => { net.close(); vi.useRealTimers(); });

  it.runIf(tcpdump || requireTools)("answers ARP for 10.0.2.2 and 10.0.2.3, ping to itself, DHCP and DNS — tcpdump reads every frame with correct checksums", async () => {
    net.receive(guestAsks(USER_NET.router));
    net.receive(guestAsks(USER_NET.dns));
    net.receive(guestAsks(0x0a000263)); // 10.0.2.99: nobody
    net.receive(icmpFrame(fromGuest(USER_NET.router), 8, 0, Uint8Array.from([0x12, 0x34, 0, 7, 1, 2, 3, 4, 5])));
    net.receive(icmpFrame(fromGuest(0x08080808), 8, 0, Uint8Array.from([0x12, 0x34, 0, 8]))); // beyond the router: not answered
    net.receive(dhcpFrame(GUEST_MAC, 1));
    net.receive(dhcpFrame(GUEST_MAC, 3, [10, 0, 2, 15]));
    host.names.set("example.test", ["192.0.2.7", "192.0.2.8"]);
    net.receive(udpFrame(fromGuest(USER_NET.dns), 5353, 53, dnsQuery("Example.test", 1)));
    await vi.runOnlyPendingTimersAsync();
    const lines = tcpdumpFrames(out, ["-e"]);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^\S+ 52:55:0a:00:02:02 > 52:54:00:12:34:56, ethertype ARP .*Reply 10\.0\.2\.2 is-at 52:55:0a:00:02:02, length 4[26]/);
    expect(lines[1]).toMatch(/52:55:0a:00:02:03 > 52:54:00:12:34:56, .*Reply 10\.0\.2\.3 is-at 52:55:0a:00:02:03/);
    expect(lines[2]).toMatch(/ethertype IPv4 \(0x0800\), length 60: \(tos 0x0, ttl 64, .*proto ICMP \(1\), length 33\) 10\.0\.2\.2 > 10\.0\.2\.15: ICMP echo reply, id 4660, seq 7, length 13$/);
    // DHCP (RFC 2131 §4.3.1): the offer and the ack carry the address, the server id, the lease, mask, router, DNS.
    for (const [i, kind] of [[3, "Offer"], [4, "ACK"]] as const) {
      expect(lines[i]).toMatch(/10\.0\.2\.2\.67 > 255\.255\.255\.255\.68: \[udp sum ok\] BOOTP\/DHCP, Reply/);
      expect(lines[i]).toContain(`DHCP-Message (53), length 1: ${kind}`);
      expect(lines[i]).toMatch(/Your-IP 10\.0\.2\.15 /);
      expect(lines[i]).toContain("Server-ID (54), length 4: 10.0.2.2");
      expect(lines[i]).toContain("Lease-Time (51), length 4: 86400");
      expect(lines[i]).toContain("Subnet-Mask (1), length 4: 255.255.255.0");
      expect(lines[i]).toContain("Default-Gateway (3), length 4: 10.0.2.2");
      expect(lines[i]).toContain("Domain-Name-Server (6), length 4: 10.0.2.3");
    }
    // The question as asked (case kept, RFC 1035 §7.3 / the 0x20 trick), both addresses.
    expect(lines[5]).toMatch(/10\.0\.2\.3\.53 > 10\.0\.2\.15\.5353: \[udp sum ok\] 16962 q: A\? Example\.test\. 2\/0\/0 Example\.test\. A 192\.0\.2\.7, Example\.test\. A 192\.0\.2\.8 /);
    for (const l of lines) expect(l).not.toMatch(/incorrect|bad cksum|wrong/);
    expect(net.stats).toMatchObject({ arpReplies: 2, pingReplies: 1, dnsQueries: 1, dropped: 1 });
  });

  it.runIf(tcpdump || requireTools)("a ping beyond the router is the host's echo: its reply reaches the guest from that address with the guest's id, sequence and data; none when the host got none, or under restrict=on", async () => {
    const pinged: string[] = [];
    let answer = (address: string) => Promise.resolve(address === "192.0.2.7");
    (host as HostNet).ping = (address: string, timeoutMs: number) => { pinged.push(`${address} ${timeoutMs}`); return answer(address); };
    introduceGuest(net, out);
    net.receive(icmpFrame(fromGuest(0xc0000207), 8, 0, Uint8Array.from([0x12, 0x34, 0, 9, 0xde, 0xad, 0xbe, 0xef]))); // 192.0.2.7
    net.receive(icmpFrame(fromGuest(0xc0000208), 8, 0, Uint8Array.from([0x12, 0x34, 0, 10]))); // 192.0.2.8: no answer
    net.receive(icmpFrame(fromGuest(0x0a000263), 8, 0, Uint8Array.from([0x12, 0x34, 0, 11]))); // 10.0.2.99: in the network, nobody
    await vi.runOnlyPendingTimersAsync();
    expect(pinged).toEqual(["192.0.2.7 4000", "192.0.2.8 4000"]);
    const lines = tcpdumpFrames(out, ["-e"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ 52:55:0a:00:02:02 > 52:54:00:12:34:56, ethertype IPv4 \(0x0800\), length 60: \(tos 0x0, ttl 64, .*proto ICMP \(1\), length 32\) 192\.0\.2\.7 > 10\.0\.2\.15: ICMP echo reply, id 4660, seq 9, length 12$/);
    expect(readIpv4(out[0]!) && [...out[0]!.subarray(14 + 20 + 8, 14 + 20 + 12)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(net.stats).toMatchObject({ pingReplies: 0, pingsRelayed: 1, pingsUnanswered: 1, dropped: 1 });

    // A host that cannot ping at all: said once, and no echo is asked of it again.
    const notices: string[] = [];
    const cannot = new UserNetwork(host, { notice: (l) => notices.push(l) });
    cannot.output = (f) => out.push(f);
    answer = () => Promise.reject(new Error("the host has no ping command (Debian: apt-get install iputils-ping)"));
    for (const seq of [1, 2]) { cannot.receive(icmpFrame(fromGuest(0xc0000207), 8, 0, Uint8Array.from([0, 1, 0, seq]))); await vi.runOnlyPendingTimersAsync(); }
    expect(notices).toEqual(["ping beyond the router: the host has no ping command (Debian: apt-get install iputils-ping); such pings go unanswered"]);
    expect(pinged).toHaveLength(3);
    cannot.close();

    const restricted = new UserNetwork(host, { restrict: true });
    restricted.receive(icmpFrame(fromGuest(0xc0000207), 8, 0, Uint8Array.from([0, 1, 0, 1])));
    expect(pinged).toHaveLength(3);
    restricted.close();
  });

  it("DHCP: reserved addresses go to their stations whoever asks first; others get the next free one; a request for another address is refused (NAK)", () => {
    const other = parseMac("52:54:00:aa:bb:cc"), reserved = parseMac("52:54:00:12:34:57");
    const yiaddr = (f: Uint8Array) => { const u = readUdp(f, readIpv4(f)!)!; return [...u.data.subarray(16, 20)].join("."); };
    const type = (f: Uint8Array) => { const u = readUdp(f, readIpv4(f)!)!; return u.data[242]; }; // option 53 comes first
    net.receive(dhcpFrame(other, 1));
    net.receive(dhcpFrame(other, 3, [10, 0, 2, 15]));
    net.receive(dhcpFrame(reserved, 1));
    net.receive(dhcpFrame(GUEST_MAC, 1));
    net.receive(dhcpFrame(GUEST_MAC, 3, [10, 0, 2, 15])); // taken by `other`
    expect(out.map(yiaddr)).toEqual(["10.0.2.15", "10.0.2.15", "10.0.2.16", "10.0.2.17", "0.0.0.0"]);
    expect(out.map(type)).toEqual([2, 5, 2, 2, 6]); // OFFER ACK OFFER OFFER NAK
    expect(net.dhcp.describeLeases()).toEqual(["52:54:00:aa:bb:cc 10.0.2.15"]);
  });

  it("DNS: AAAA gets an empty answer, a name the host does not know NXDOMAIN, a failed lookup SERVFAIL, other types NOTIMP", async () => {
    host.names.set("v4only.test", ["192.0.2.1"]);
    for (const [name, type] of [["v4only.test", 28], ["nowhere.test", 1], ["broken.test", 1], ["v4only.test", 15]] as const) {
      net.receive(udpFrame(fromGuest(USER_NET.dns), 5353, 53, dnsQuery(name, type)));
    }
    await vi.runOnlyPendingTimersAsync();
    const answers = out.map((f) => readUdp(f, readIpv4(f)!)!.data);
    const byName = answers.map((a) => ({ rcode: a[3]! & 0xf, count: (a[6]! << 8) | a[7]!, qr: a[2]! >> 7 }));
    expect(byName).toHaveLength(4);
    // RFC 1035 §4.1.1: RCODE 0 no error, 3 name error, 2 server failure, 4 not implemented. Order: NOTIMP is at once.
    expect(byName.map((a) => a.qr)).toEqual([1, 1, 1, 1]);
    expect(byName.map((a) => `${a.rcode}/${a.count}`).sort()).toEqual(["0/0", "2/0", "3/0", "4/0"]);
  });

  it("DNS: another type (MX) is relayed as it is to the host's DNS server and its answer comes back from 10.0.2.3", () => {
    host.servers = ["192.0.2.53"];
    const query = dnsQuery("example.test", 15, 0x1234);
    net.receive(udpFrame(fromGuest(USER_NET.dns), 5353, 53, query));
    expect(host.udp).toHaveLength(1);
    expect(host.udp[0]!.sent).toEqual([[[...query], "192.0.2.53", 53]]);
    const reply = Uint8Array.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, ...query.subarray(12)]);
    host.udp[0]!.deliver(reply, "192.0.2.53", 53);
    const got = out.map((f) => { const ip = readIpv4(f)!; const u = readUdp(f, ip)!; return [ip.src, u.srcPort, u.dstPort, [...u.data]]; });
    expect(got).toEqual([[USER_NET.dns, 53, 5353, [...reply]]]);
    expect(host.udp[0]!.closed).toBe(true);
    expect(net.stats.dnsRelayed).toBe(1);
  });

  it("UDP: a guest's datagram leaves through a host socket to the same port (10.0.2.2 = the host's 127.0.0.1) and the answer comes back from there", () => {
    net.receive(udpFrame(fromGuest(USER_NET.router), 4000, 5000, Uint8Array.from([1, 2, 3])));
    net.receive(udpFrame(fromGuest(0xc0000201), 4000, 6000, Uint8Array.from([4]))); // 192.0.2.1: the same flow, another destination
    expect(host.udp).toHaveLength(1);
    expect(host.udp[0]!.sent).toEqual([[[1, 2, 3], "127.0.0.1", 5000], [[4], "192.0.2.1", 6000]]);
    host.udp[0]!.deliver(Uint8Array.from([9, 9]), "127.0.0.1", 5000);
    host.udp[0]!.deliver(Uint8Array.from([8]), "192.0.2.1", 6000);
    const got = out.map((f) => { const ip = readIpv4(f)!; const u = readUdp(f, ip)!; return [ip.src, ip.dst, u.srcPort, u.dstPort, [...u.data]]; });
    expect(got).toEqual([[USER_NET.router, GUEST, 5000, 4000, [9, 9]], [0xc0000201, GUEST, 6000, 4000, [8]]]);
    vi.advanceTimersByTime(2 * 60_000); // idle flows are closed
    expect(host.udp[0]!.closed).toBe(true);
  });

  it("TCP: SYN-ACK only once the host has connected; it acknowledges the SYN and offers MSS 1460 (RFC 793 §3.4, RFC 879)", () => {
    tcp({ seq: 1000, flags: TCP_SYN, mss: 1400 });
    expect(host.tcp.map((s) => `${s.host}:${s.port}`)).toEqual(["93.184.216.34:80"]);
    expect(out).toHaveLength(0);
    host.tcp[0]!.events!.onConnect();
    const [synAck] = segments();
    expect(synAck!.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck!.ack).toBe(1001);
    expect(synAck!.mss).toBe(1460);
    expect(host.tcp[0]!.paused).toBe(true); // nothing for the guest before it acknowledges our SYN
    tcp({ seq: 1001, ack: synAck!.seq + 1, flags: TCP_ACK | TCP_PSH }, [104, 105]);
    expect(host.tcp[0]!.written).toEqual([104, 105]);
    expect(host.tcp[0]!.paused).toBe(false);
    const [ack] = segments();
    expect([ack!.flags, ack!.ack, ack!.seq]).toEqual([TCP_ACK, 1003, synAck!.seq + 1]);
  });

  /** An established connection: the guest's ISN 1000, its MSS 1000, window `window`; returns our first data sequence number. */
  function established(window: number): number {
    tcp({ seq: 1000, flags: TCP_SYN, mss: 1000, window });
    host.tcp[0]!.events!.onConnect();
    const [synAck] = segments();
    tcp({ seq: 1001, ack: synAck!.seq + 1, flags: TCP_ACK, window });
    return synAck!.seq + 1;
  }

  it("TCP: sends the host's bytes in guest-MSS segments within the guest's window, and more as it acknowledges", () => {
    const iss = established(3000);
    host.tcp[0]!.events!.onData(Uint8Array.from({ length: 5500 }, (_, i) => i & 0xff));
    let s = segments();
    expect(s.map((x) => [x.seq - iss, x.data.length])).toEqual([[0, 1000], [1000, 1000], [2000, 1000]]);
    tcp({ seq: 1001, ack: iss + 2000, flags: TCP_ACK, window: 3000 });
    s = segments();
    expect(s.map((x) => [x.seq - iss, x.data.length, x.flags])).toEqual([[3000, 1000, TCP_ACK], [4000, 1000, TCP_ACK]]);
    tcp({ seq: 1001, ack: iss + 5000, flags: TCP_ACK, window: 3000 });
    s = segments();
    expect(s.map((x) => [x.seq - iss, x.data.length, x.flags])).toEqual([[5000, 500, TCP_ACK | TCP_PSH]]);
    expect([...s[0]!.data.subarray(0, 3)]).toEqual([5000 & 0xff, 5001 & 0xff, 5002 & 0xff]);
  });

  it("TCP: when the guest's NIC takes large packets, the host's bytes go as one packet up to the window, to be cut at the guest's MSS", () => {
    const large: [Uint8Array, number][] = [];
    net.outputLarge = (f, mss) => large.push([f, mss]);
    const iss = established(30000);
    host.tcp[0]!.events!.onData(new Uint8Array(40000));
    expect(out).toHaveLength(0);
    expect(large.map(([f, mss]) => { const t = readTcp(f, readIpv4(f)!)!; return [t.seq - iss, t.data.length, mss]; })).toEqual([[0, 30000, 1000]]);
    tcp({ seq: 1001, ack: iss + 30000, flags: TCP_ACK, window: 30000 });
    expect(large.slice(1).map(([f]) => readTcp(f, readIpv4(f)!)!.data.length)).toEqual([10000]);
    expect(net.stats.largeOut).toBe(2);
  });

  it("TCP: what the guest does not acknowledge is sent again from the oldest byte after the retransmission timeout, with the timeout doubling", () => {
    const iss = established(65535);
    host.tcp[0]!.events!.onData(new Uint8Array(2500));
    expect(segments().map((x) => x.seq - iss)).toEqual([0, 1000, 2000]);
    tcp({ seq: 1001, ack: iss + 1000, flags: TCP_ACK });
    vi.advanceTimersByTime(249);
    expect(out).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(segments().map((x) => [x.seq - iss, x.data.length])).toEqual([[1000, 1000], [2000, 500]]);
    vi.advanceTimersByTime(499);
    expect(out).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(segments().map((x) => x.seq - iss)).toEqual([1000, 2000]);
  });

  it("TCP: a zero window stops sending; the timer probes it with one byte", () => {
    const iss = established(0);
    host.tcp[0]!.events!.onData(new Uint8Array(10));
    expect(out).toHaveLength(0);
    vi.advanceTimersByTime(250);
    expect(segments().map((x) => [x.seq - iss, x.data.length])).toEqual([[0, 1]]);
    tcp({ seq: 1001, ack: iss + 1, flags: TCP_ACK, window: 4096 }); // the probe taken, the window open
    expect(segments().map((x) => [x.seq - iss, x.data.length])).toEqual([[1, 9]]);
  });

  it("TCP: out-of-order data is not passed on; the guest gets a duplicate ACK for what is expected", () => {
    const iss = established(65535);
    tcp({ seq: 1011, ack: iss, flags: TCP_ACK }, [1, 2, 3]);
    expect(host.tcp[0]!.written).toEqual([]);
    expect(segments().map((x) => x.ack)).toEqual([1001]);
    tcp({ seq: 1001, ack: iss, flags: TCP_ACK }, [7, 8]);
    tcp({ seq: 1001, ack: iss, flags: TCP_ACK }, [7, 8, 9]); // a retransmission overlapping what came: only the new byte
    expect(host.tcp[0]!.written).toEqual([7, 8, 9]);
  });

  it("TCP: the host's end becomes a FIN after its data; the guest's FIN ends the host's side; both acknowledged, the connection is gone", () => {
    const iss = established(65535);
    host.tcp[0]!.events!.onData(Uint8Array.from([1, 2]));
    host.tcp[0]!.events!.onEnd();
    expect(segments().map((x) => [x.seq - iss, x.data.length, x.flags])).toEqual([[0, 2, TCP_ACK | TCP_PSH], [2, 0, TCP_FIN | TCP_ACK]]);
    expect(net.describe().slice(2)).toEqual(["net user:   tcp 10.0.2.15:40000 -> 93.184.216.34:80 established"]); // info net, as QEMU's info usernet
    tcp({ seq: 1001, ack: iss + 3, flags: TCP_FIN | TCP_ACK });
    expect(host.tcp[0]!.ended).toBe(true);
    expect(segments().map((x) => [x.flags, x.ack])).toEqual([[TCP_ACK, 1002]]);
    expect(net.describe()[1]).toMatch(/tcp opened 1 refused 0 forwarded-in 0 open now 0/);
    expect(net.describe()).toHaveLength(2); // no connection listed any more
  });

  it("TCP: a refused host connection is a reset for the guest (RFC 793 p. 36: RST, ACK of the SYN); so is a segment of no connection, and restrict=on refuses everything", () => {
    tcp({ seq: 5000, flags: TCP_SYN });
    host.tcp[0]!.events!.onClose("ECONNREFUSED");
    expect(segments().map((x) => [x.flags, x.ack])).toEqual([[TCP_RST | TCP_ACK, 5001]]);
    tcp({ seq: 77, ack: 12345, flags: TCP_ACK }, [], REMOTE, 81); // no such connection: RST with the ACK's number
    expect(segments().map((x) => [x.flags, x.seq])).toEqual([[TCP_RST, 12345]]);
    expect(net.describe()[1]).toMatch(/tcp opened 1 refused 1 /);
    const restricted = new UserNetwork(host, { restrict: true });
    const got: Uint8Array[] = [];
    restricted.output = (f) => got.push(f);
    restricted.receive(tcpFrame(fromGuest(REMOTE), { srcPort: 40000, dstPort: 80, seq: 9, ack: 0, flags: TCP_SYN, window: 1000 }));
    restricted.close();
    expect(host.tcp).toHaveLength(1);
    expect(got.map((f) => readTcp(f, readIpv4(f)!)!.flags)).toEqual([TCP_RST | TCP_ACK]);
  });

  it("a host forward opens a connection to the guest from 10.0.2.2: SYN with MSS, then the host socket once the guest's SYN-ACK comes", async () => {
    const fwd = new UserNetwork(host, { hostForwards: [parseHostForward("tcp::8022-:22")] });
    const got: Uint8Array[] = [];
    fwd.output = (f) => got.push(f);
    await fwd.start();
    introduceGuest(fwd, got);
    const sock = new FakeTcp("", 0, null);
    sock.paused = true;
    host.accept!(sock, "127.0.0.1:5555");
    const syn = readTcp(got[0]!, readIpv4(got[0]!)!)!;
    expect([readIpv4(got[0]!)!.src, readIpv4(got[0]!)!.dst, syn.dstPort, syn.flags, syn.mss]).toEqual([USER_NET.router, GUEST, 22, TCP_SYN, 1460]);
    fwd.receive(tcpFrame({ ...fromGuest(USER_NET.router) }, { srcPort: 22, dstPort: syn.srcPort, seq: 300, ack: syn.seq + 1, flags: TCP_SYN | TCP_ACK, window: 65535, mss: 1460 }));
    const ack = readTcp(got[1]!, readIpv4(got[1]!)!)!;
    expect([ack.flags, ack.ack]).toEqual([TCP_ACK, 301]);
    expect(sock.paused).toBe(false);
    fwd.receive(tcpFrame({ ...fromGuest(USER_NET.router) }, { srcPort: 22, dstPort: syn.srcPort, seq: 301, ack: syn.seq + 1, flags: TCP_ACK | TCP_PSH, window: 65535 }, Uint8Array.from([83, 83, 72])));
    expect(sock.written).toEqual([83, 83, 72]);
    fwd.close();
  });

  it("a UDP forward hands each host peer's datagrams to the guest from its own router port, and the guest's answers back to that peer", async () => {
    const fwd = new UserNetwork(host, { hostForwards: [parseHostForward("udp::5353-:53")] });
    const got: Uint8Array[] = [];
    fwd.output = (f) => got.push(f);
    await fwd.start();
    introduceGuest(fwd, got);
    const l = host.udpListeners[0]!;
    expect(l.port).toBe(5353);
    l.deliver(Uint8Array.from([1]), "127.0.0.1", 40001);
    l.deliver(Uint8Array.from([2]), "127.0.0.1", 40002);
    l.deliver(Uint8Array.from([3]), "127.0.0.1", 40001);
    const seen = got.map((f) => { const ip = readIpv4(f)!; const u = readUdp(f, ip)!; return [ip.src, ip.dst, u.srcPort, u.dstPort, u.data[0]]; });
    const [p1, p2] = [seen[0]![2], seen[1]![2]];
    expect(p1).not.toBe(p2);
    expect(seen).toEqual([[USER_NET.router, GUEST, p1, 53, 1], [USER_NET.router, GUEST, p2, 53, 2], [USER_NET.router, GUEST, p1, 53, 3]]);
    fwd.receive(udpFrame(fromGuest(USER_NET.router), 53, p2!, Uint8Array.from([9])));
    fwd.receive(udpFrame(fromGuest(USER_NET.router), 53, p1!, Uint8Array.from([8])));
    expect(l.sent).toEqual([[[9], "127.0.0.1", 40002], [[8], "127.0.0.1", 40001]]);
    expect(host.udp).toHaveLength(0); // answers to a forward's peer are not a new outbound flow
    expect(fwd.describe()[1]).toMatch(/forwarded-in 2;/);
    fwd.close();
  });

  it("hostfwd= takes QEMU's syntax and says what is wrong", () => {
    expect(parseHostForward("tcp::2222-:22")).toEqual({ protocol: "tcp", hostAddress: "127.0.0.1", hostPort: 2222, guestAddress: GUEST, guestPort: 22 });
    expect(parseHostForward("tcp:0.0.0.0:8080-10.0.2.16:80")).toEqual({ protocol: "tcp", hostAddress: "0.0.0.0", hostPort: 8080, guestAddress: 0x0a000210, guestPort: 80 });
    expect(parseHostForward(":2222-:22")).toMatchObject({ protocol: "tcp", guestPort: 22 });
    expect(parseHostForward("udp::5353-:53")).toEqual({ protocol: "udp", hostAddress: "127.0.0.1", hostPort: 5353, guestAddress: GUEST, guestPort: 53 });
    expect(() => parseHostForward("tcp::2222-192.168.1.5:22")).toThrow(/must be in 10\.0\.2\.0\/24/);
    expect(() => parseHostForward("tcp::2222")).toThrow(/expected tcp\|udp:\[HOSTADDR\]:HOSTPORT-\[GUESTADDR\]:GUESTPORT/);
    expect(() => parseHostForward("tcp::99999-:22")).toThrow(/host port out of range/);
  });
});

describe("the user network on Node's sockets (src/node/host-net.ts)", () => {
  it("relays a query it does not answer itself to the host's DNS server (here one in this test) and the answer to the guest", async () => {
    const { NodeHostNet } = await import("../../src/node/host-net.js");
    const { createSocket } = await import("node:dgram");
    const server = createSocket("udp4");
    server.on("message", (m, r) => { const a = Buffer.from(m); a[2] = 0x81; a[3] = 0x83; server.send(a, r.port, r.address); }); // NXDOMAIN
    const port = await new Promise<number>((resolve) => server.bind(0, "127.0.0.1", () => resolve(server.address().port)));
    const net = new UserNetwork(new NodeHostNet({ dnsServers: [`127.0.0.1:${port}`, "::1"] }));
    const toGuest: Uint8Array[] = [];
    net.output = (f) => toGuest.push(f);
    try {
      introduceGuest(net, toGuest, USER_NET.dns);
      net.receive(udpFrame(fromGuest(USER_NET.dns), 5353, 53, dnsQuery("nowhere.test", 16, 0x4321)));
      await vi.waitFor(() => expect(toGuest).toHaveLength(1), { timeout: 5000 });
      const ip = readIpv4(toGuest[0]!)!, u = readUdp(toGuest[0]!, ip)!;
      expect([ip.src, u.srcPort, u.dstPort, u.data[0], u.data[1], u.data[3]! & 0xf]).toEqual([USER_NET.dns, 53, 5353, 0x43, 0x21, 3]);
    } finally {
      server.close();
      net.close();
    }
  });

  it("a UDP forward: a host client's datagram reaches the guest through the bound port, and the guest's answer reaches the client", async () => {
    const { NodeHostNet } = await import("../../src/node/host-net.js");
    const { createSocket } = await import("node:dgram");
    const probe = createSocket("udp4");
    const port = await new Promise<number>((resolve) => probe.bind(0, "127.0.0.1", () => resolve(probe.address().port)));
    probe.close(); // a port free just now
    const net = new UserNetwork(new NodeHostNet(), { hostForwards: [parseHostForward(`udp:127.0.0.1:${port}-:53`)] });
    const toGuest: Uint8Array[] = [];
    net.output = (f) => toGuest.push(f);
    await net.start();
    introduceGuest(net, toGuest);
    const client = createSocket("udp4");
    try {
      const answer = new Promise<Buffer>((resolve) => client.on("message", (m) => resolve(m)));
      client.send(Buffer.from("question"), port, "127.0.0.1");
      await vi.waitFor(() => expect(toGuest).toHaveLength(1), { timeout: 5000 });
      const ip = readIpv4(toGuest[0]!)!, u = readUdp(toGuest[0]!, ip)!;
      expect([ip.src, ip.dst, u.dstPort, Buffer.from(u.data).toString()]).toEqual([USER_NET.router, GUEST, 53, "question"]);
      net.receive(udpFrame(fromGuest(USER_NET.router), 53, u.srcPort, Buffer.from("answer")));
      expect((await answer).toString()).toBe("answer");
    } finally {
      client.close();
      net.close();
    }
  });
});
