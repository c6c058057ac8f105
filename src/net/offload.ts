/**
 * Offloads, done in the device as a NIC does them in hardware. Transmit:
 *
 * - **Checksum completion** ({@link completeChecksum}): the driver leaves the
 *   transport checksum partial — the field holds the pseudo-header's sum — and
 *   says where it starts; the device adds everything from there to the end and
 *   stores the complement (Virtio 1.2 §5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM;
 *   Linux's CHECKSUM_PARTIAL). The sum is RFC 1071's one's-complement sum.
 * - **TCP segmentation of IPv4** ({@link segmentTcpv4}): one frame with headers
 *   and up to 64 KiB of TCP payload becomes frames of at most `mss` payload bytes,
 *   each with the headers copied and then fixed as a TSO engine (and Linux's own
 *   software GSO, net/ipv4/tcp_offload.c) fixes them: the IPv4 total length, an
 *   identification one higher per segment, the header checksum; the TCP sequence
 *   number advanced by the payload before it, FIN and PSH only on the last
 *   segment, CWR only on the first, the checksum over the pseudo-header, header
 *   and payload (RFC 793, RFC 791).
 *
 * Receive: **a large TCP packet handed to the guest whole**
 * ({@link largeTcpForGuest}), as a NIC's receive-side coalescing (or a tap
 * device's GSO packets) hands Linux one 64 KiB packet instead of 45 frames: the
 * IPv4 header checksum made valid for the whole packet, the TCP checksum left
 * partial (the pseudo-header's sum, CHECKSUM_PARTIAL) with where it starts —
 * what virtio's receive header says with NEEDS_CSUM and GSO_TCPV4.
 *
 * Platform-neutral: bytes in, bytes out.
 *
 * @module
 */

import { sum16, finishSum as finish, ETHERTYPE_IPV4, PROTO_TCP, TCP_FIN, TCP_PSH, TCP_CWR } from "./inet.js";
import { ETH_HEADER } from "./ethernet.js";

/**
 * VIRTIO_NET_HDR_F_NEEDS_CSUM: sum the frame from `start` to its end (the checksum field, at `start + offset`,
 * holds the partial sum the driver left) and store the result in that field. False when the offsets lie outside
 * the frame (the frame is then sent as it is).
 */
export function completeChecksum(frame: Uint8Array, start: number, offset: number): boolean {
  const at = start + offset;
  if (at + 2 > frame.length) return false;
  const c = finish(sum16(frame, start, frame.length));
  frame[at] = c >> 8;
  frame[at + 1] = c & 0xff;
  return true;
}

/** The IPv4 and TCP header lengths of an Ethernet frame holding one IPv4 TCP segment, or why it does not. */
export function tcpv4Headers(frame: Uint8Array): { ipLen: number; tcpLen: number } | "not IPv4/TCP" | "truncated headers" {
  if (frame.length < ETH_HEADER + 20 || ((frame[12]! << 8) | frame[13]!) !== ETHERTYPE_IPV4) return "not IPv4/TCP";
  const ip = ETH_HEADER, ipLen = (frame[ip]! & 0xf) * 4;
  if (frame[ip]! >> 4 !== 4 || frame[ip + 9] !== PROTO_TCP || ipLen < 20) return "not IPv4/TCP";
  const tcp = ip + ipLen;
  if (tcp + 20 > frame.length) return "truncated headers";
  const tcpLen = (frame[tcp + 12]! >> 4) * 4;
  if (tcpLen < 20 || tcp + tcpLen > frame.length) return "truncated headers";
  return { ipLen, tcpLen };
}

/** Why {@link segmentTcpv4} refused a frame. */
export type SegmentRefusal = "not IPv4/TCP" | "truncated headers" | "no MSS";

/**
 * Cut an Ethernet frame holding one IPv4 TCP segment into frames of at most `mss` payload bytes, every header and
 * checksum fixed (see the module comment). Returns the frames, or why it cannot (not IPv4/TCP, headers past the
 * end, an MSS of 0).
 */
export function segmentTcpv4(frame: Uint8Array, mss: number): Uint8Array[] | SegmentRefusal {
  const h = tcpv4Headers(frame);
  if (typeof h === "string") return h;
  if (mss <= 0) return "no MSS";
  const ip = ETH_HEADER, { ipLen, tcpLen } = h, tcp = ip + ipLen, payload = tcp + tcpLen;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const id = view.getUint16(ip + 4), seq = view.getUint32(tcp + 4), flags = frame[tcp + 13]!;
  const total = frame.length - payload, count = Math.max(1, Math.ceil(total / mss));
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const from = payload + i * mss, len = Math.min(mss, frame.length - from);
    const seg = new Uint8Array(payload + len);
    seg.set(frame.subarray(0, payload));
    seg.set(frame.subarray(from, from + len), payload);
    const v = new DataView(seg.buffer);
    v.setUint16(ip + 2, ipLen + tcpLen + len);
    v.setUint16(ip + 4, (id + i) & 0xffff);
    v.setUint16(ip + 10, 0);
    v.setUint16(ip + 10, finish(sum16(seg, ip, ip + ipLen)));
    v.setUint32(tcp + 4, (seq + i * mss) >>> 0);
    let f = flags;
    if (i < count - 1) f &= ~(TCP_FIN | TCP_PSH);
    if (i > 0) f &= ~TCP_CWR;
    seg[tcp + 13] = f;
    v.setUint16(tcp + 16, 0);
    // Pseudo-header: source and destination addresses, zero, protocol, TCP length.
    const pseudo = sum16(seg, ip + 12, ip + 20, PROTO_TCP + tcpLen + len);
    v.setUint16(tcp + 16, finish(sum16(seg, tcp, seg.length, pseudo)));
    out.push(seg);
  }
  return out;
}

/** A large IPv4/TCP packet made ready for a guest's receive offload: see {@link largeTcpForGuest}. */
export interface LargeTcpPacket {
  /** A copy of the frame: IPv4 total length and header checksum for the whole packet, TCP checksum partial. */
  frame: Uint8Array;
  /** Bytes of Ethernet, IPv4 and TCP headers (virtio's hdr_len). */
  headerLength: number;
  /** Where the TCP checksum's coverage starts (the TCP header) and where the field is from there. */
  checksumStart: number;
  checksumOffset: number;
}

/**
 * The packet a receive offload hands the guest for an IPv4/TCP frame of any length (up to 64 KiB of IPv4): null
 * when it is not one or its headers are cut.
 */
export function largeTcpForGuest(frame: Uint8Array): LargeTcpPacket | null {
  const h = tcpv4Headers(frame);
  const ip = ETH_HEADER, total = frame.length - ip;
  if (typeof h === "string" || total > 0xffff) return null;
  const { ipLen, tcpLen } = h, tcp = ip + ipLen;
  const out = frame.slice();
  const v = new DataView(out.buffer);
  v.setUint16(ip + 2, total);
  v.setUint16(ip + 10, 0);
  v.setUint16(ip + 10, finish(sum16(out, ip, ip + ipLen)));
  // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum (addresses, protocol, TCP length), not complemented.
  const pseudo = ~finish(sum16(out, ip + 12, ip + 20, PROTO_TCP + (total - ipLen))) & 0xffff;
  v.setUint16(tcp + 16, pseudo);
  return { frame: out, headerLength: tcp + tcpLen, checksumStart: tcp, checksumOffset: 16 };
}
