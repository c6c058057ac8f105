/**
 * IPv4 and what rides on it, as bytes: the Internet checksum (RFC 1071),
 * reading an Ethernet frame's IPv4 header and its UDP, TCP or ICMP part, and
 * building such frames with every length and checksum filled in (RFC 791,
 * 768, 793, 792; ARP, RFC 826). Used by the transmit offloads (offload.ts)
 * and by the user-mode network (user/).
 *
 * Addresses are 32-bit unsigned numbers (10.0.2.15 = 0x0a00020f).
 * Platform-neutral.
 *
 * @module
 */
import { ETH_HEADER, ETH_MIN_FRAME, macBytes, macAt, type Mac } from "./ethernet.js";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10, TCP_CWR = 0x80;

/** RFC 1071's 16-bit one's-complement sum of bytes [start, end) added to `sum`, not folded or complemented. */
export function sum16(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8; // an odd byte is padded with zero
  return sum;
}

/** Fold carries into 16 bits and complement: the value a checksum field holds. */
export function finishSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** An IPv4 packet inside an Ethernet frame: its header fields and where its payload lies. */
export interface Ipv4View {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  /** Offset of the transport header/payload in the frame. */
  payload: number;
  /** End of the IP packet in the frame (Ethernet padding excluded). */
  end: number;
  /** A fragment (MF set or a fragment offset): the user network does not reassemble. */
  fragment: boolean;
}

/** The IPv4 packet of a frame, or null when it is not one (or its header is truncated or its lengths lie). */
export function readIpv4(frame: Uint8Array): Ipv4View | null {
  const ip = ETH_HEADER;
  if (frame.length < ip + 20 || ((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4 || frame[ip]! >> 4 !== 4) return null;
  const ihl = (frame[ip]! & 0xf) * 4, total = (frame[ip + 2]! << 8) | frame[ip + 3]!;
  if (ihl < 20 || total < ihl || ip + total > frame.length) return null;
  const flagsFrag = (frame[ip + 6]! << 8) | frame[ip + 7]!;
  return {
    src: be32(frame, ip + 12), dst: be32(frame, ip + 16), protocol: frame[ip + 9]!, ttl: frame[ip + 8]!,
    payload: ip + ihl, end: ip + total, fragment: (flagsFrag & 0x3fff) !== 0,
  };
}

export function be16(b: Uint8Array, at: number): number { return (b[at]! << 8) | b[at + 1]!; }
export function be32(b: Uint8Array, at: number): number { return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0; }
function put16(b: Uint8Array, at: number, v: number): void { b[at] = (v >>> 8) & 0xff; b[at + 1] = v & 0xff; }
function put32(b: Uint8Array, at: number, v: number): void { put16(b, at, v >>> 16); put16(b, at + 2, v & 0xffff); }

/** The pseudo-header sum of UDP and TCP checksums (RFC 768, 793): addresses, protocol, transport length. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** An Ethernet frame of `ethertype` with room for `payloadLength` bytes after the 14-byte header. */
function ethernetFrame(dst: Mac, src: Mac, ethertype: number, payloadLength: number): Uint8Array {
  const f = new Uint8Array(Math.max(ETH_MIN_FRAME, ETH_HEADER + payloadLength)); // short frames padded, as a NIC does
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  put16(f, 12, ethertype);
  return f;
}

export interface Ipv4Addressing { dstMac: Mac; srcMac: Mac; src: number; dst: number; id: number; ttl?: number }

/**
 * An Ethernet frame carrying an IPv4 packet of `protocol` whose payload is `header` then `data`; the IP header
 * checksum is filled, the payload's is the caller's (see {@link udpFrame}, {@link tcpFrame}, {@link icmpFrame}).
 * Returns the frame and the payload's offset.
 */
function ipv4Frame(a: Ipv4Addressing, protocol: number, payloadLength: number): { frame: Uint8Array; at: number } {
  const frame = ethernetFrame(a.dstMac, a.srcMac, ETHERTYPE_IPV4, 20 + payloadLength);
  const ip = ETH_HEADER;
  frame[ip] = 0x45;
  put16(frame, ip + 2, 20 + payloadLength);
  put16(frame, ip + 4, a.id & 0xffff);
  put16(frame, ip + 6, 0x4000); // DF: the user network never fragments
  frame[ip + 8] = a.ttl ?? 64;
  frame[ip + 9] = protocol;
  put32(frame, ip + 12, a.src);
  put32(frame, ip + 16, a.dst);
  put16(frame, ip + 10, finishSum(sum16(frame, ip, ip + 20)));
  return { frame, at: ip + 20 };
}

export function udpFrame(a: Ipv4Addressing, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const { frame, at } = ipv4Frame(a, PROTO_UDP, 8 + data.length);
  put16(frame, at, srcPort);
  put16(frame, at + 2, dstPort);
  put16(frame, at + 4, 8 + data.length);
  frame.set(data, at + 8);
  const c = finishSum(sum16(frame, at, at + 8 + data.length, pseudoHeaderSum(a.src, a.dst, PROTO_UDP, 8 + data.length)));
  put16(frame, at + 6, c === 0 ? 0xffff : c); // 0 means "no checksum" in UDP
  return frame;
}

export interface TcpFields { srcPort: number; dstPort: number; seq: number; ack: number; flags: number; window: number; mss?: number }

export function tcpFrame(a: Ipv4Addressing, t: TcpFields, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const headerLength = t.mss !== undefined ? 24 : 20;
  const { frame, at } = ipv4Frame(a, PROTO_TCP, headerLength + data.length);
  put16(frame, at, t.srcPort);
  put16(frame, at + 2, t.dstPort);
  put32(frame, at + 4, t.seq >>> 0);
  put32(frame, at + 8, t.ack >>> 0);
  frame[at + 12] = (headerLength / 4) << 4;
  frame[at + 13] = t.flags;
  put16(frame, at + 14, Math.min(t.window, 0xffff));
  if (t.mss !== undefined) { frame[at + 20] = 2; frame[at + 21] = 4; put16(frame, at + 22, t.mss); }
  frame.set(data, at + headerLength);
  const len = headerLength + data.length;
  put16(frame, at + 16, finishSum(sum16(frame, at, at + len, pseudoHeaderSum(a.src, a.dst, PROTO_TCP, len))));
  return frame;
}

/** An ICMP message: type, code, then `body` (for an echo: identifier, sequence number, data). */
export function icmpFrame(a: Ipv4Addressing, type: number, code: number, body: Uint8Array): Uint8Array {
  const { frame, at } = ipv4Frame(a, PROTO_ICMP, 4 + body.length);
  frame[at] = type;
  frame[at + 1] = code;
  frame.set(body, at + 4);
  put16(frame, at + 2, finishSum(sum16(frame, at, at + 4 + body.length)));
  return frame;
}

/** A TCP segment as read from a frame. */
export interface TcpView extends TcpFields { data: Uint8Array; /** MSS option of a SYN, else undefined. */ mss?: number }

export function readTcp(frame: Uint8Array, ip: Ipv4View): TcpView | null {
  const at = ip.payload;
  if (at + 20 > ip.end) return null;
  const headerLength = (frame[at + 12]! >> 4) * 4;
  if (headerLength < 20 || at + headerLength > ip.end) return null;
  let mss: number | undefined;
  for (let o = at + 20; o < at + headerLength;) { // options: kind, length, value (RFC 793 §3.1)
    const kind = frame[o]!;
    if (kind === 0) break;
    if (kind === 1) { o++; continue; }
    const len = frame[o + 1]!;
    if (len < 2 || o + len > at + headerLength) break;
    if (kind === 2 && len === 4) mss = be16(frame, o + 2);
    o += len;
  }
  return {
    srcPort: be16(frame, at), dstPort: be16(frame, at + 2), seq: be32(frame, at + 4), ack: be32(frame, at + 8),
    flags: frame[at + 13]!, window: be16(frame, at + 14), mss, data: frame.subarray(at + headerLength, ip.end),
  };
}

export interface UdpView { srcPort: number; dstPort: number; data: Uint8Array }

export function readUdp(frame: Uint8Array, ip: Ipv4View): UdpView | null {
  const at = ip.payload;
  if (at + 8 > ip.end) return null;
  const len = be16(frame, at + 4);
  if (len < 8 || at + len > ip.end) return null;
  return { srcPort: be16(frame, at), dstPort: be16(frame, at + 2), data: frame.subarray(at + 8, at + len) };
}

/** An ARP packet for IPv4 over Ethernet (RFC 826). */
export interface ArpView { op: number; senderMac: Mac; senderIp: number; targetMac: Mac; targetIp: number }
export const ARP_REQUEST = 1, ARP_REPLY = 2;

export function readArp(frame: Uint8Array): ArpView | null {
  const a = ETH_HEADER;
  if (frame.length < a + 28 || be16(frame, 12) !== ETHERTYPE_ARP) return null;
  if (be16(frame, a) !== 1 || be16(frame, a + 2) !== ETHERTYPE_IPV4 || frame[a + 4] !== 6 || frame[a + 5] !== 4) return null;
  return { op: be16(frame, a + 6), senderMac: macAt(frame, a + 8), senderIp: be32(frame, a + 14), targetMac: macAt(frame, a + 18), targetIp: be32(frame, a + 24) };
}

export function arpFrame(dstMac: Mac, p: ArpView): Uint8Array {
  const f = ethernetFrame(dstMac, p.senderMac, ETHERTYPE_ARP, 28);
  const a = ETH_HEADER;
  put16(f, a, 1);
  put16(f, a + 2, ETHERTYPE_IPV4);
  f[a + 4] = 6;
  f[a + 5] = 4;
  put16(f, a + 6, p.op);
  f.set(macBytes(p.senderMac), a + 8);
  put32(f, a + 14, p.senderIp);
  f.set(macBytes(p.targetMac), a + 18);
  put32(f, a + 24, p.targetIp);
  return f;
}
