/**
 * The transmit offloads of src/net/offload.ts. Oracles: Debian's tcpdump, which
 * verifies every IPv4 header checksum and every TCP and UDP checksum it prints
 * (`-vv`: "cksum 0x… (correct)", "[udp sum ok]"; "bad cksum" / "incorrect"
 * otherwise), reading the frames from a pcap file; and TSO's definition (the
 * Linux software GSO every NIC's TSO must match, net/ipv4/tcp_offload.c): a
 * 10 000-byte payload with MSS 1 448 leaves as 6 × 1 448 + 1 312, sequence numbers
 * 1 448 apart, IP identifications one apart, FIN and PSH on the last segment only.
 * What the driver leaves in a partial checksum field is Linux's CHECKSUM_PARTIAL:
 * the pseudo-header's folded sum (RFC 768/793), computed here as the driver would.
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { completeChecksum, segmentTcpv4 } from "../../src/net/offload.js";
import { tcpdumpFrames } from "../support/tcpdump.js";

const tcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
const requireTools = !!process.env.SYMBIONT_REQUIRE_IMAGES;

const ETH = [0x52, 0x54, 0, 0x12, 0x34, 0x57, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00];
const SRC = [10, 0, 0, 1], DST = [10, 0, 0, 2];

/** The pseudo-header's folded one's-complement sum (not complemented): what Linux leaves in a partial checksum. */
function pseudoSum(proto: number, length: number): number {
  let s = proto + length;
  for (const a of [SRC, DST]) s += (a[0]! << 8 | a[1]!) + (a[2]! << 8 | a[3]!);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ipv4(proto: number, payloadLength: number, id: number): number[] {
  const len = 20 + payloadLength;
  return [0x45, 0, len >> 8, len & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, proto, 0, 0, ...SRC, ...DST];
}

/** One TCP segment as Linux's TSO path hands it over: 32-byte header (NOP NOP timestamp), IP checksum 0, `payload` bytes. */
function tcpFrame(payload: number, flags: number): Uint8Array {
  const tcp = [0x9c, 0x40, 0x13, 0x89, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0x80, flags, 0x01, 0xf5, 0, 0, 0, 0,
    1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
  const f = new Uint8Array(14 + 20 + 32 + payload);
  f.set([...ETH, ...ipv4(6, 32 + payload, 0x1234), ...tcp]);
  for (let i = 0; i < payload; i++) f[66 + i] = (i * 7 + 3) & 0xff;
  const partial = pseudoSum(6, 0); // Linux's GSO prep: the pseudo-header without the length
  f[50] = partial >> 8; f[51] = partial & 0xff;
  return f;
}


describe("TCP segmentation of IPv4 (TSO)", () => {
  it("cuts 10 000 bytes at MSS 1 448: lengths, sequence numbers, IP ids, FIN/PSH on the last only", () => {
    const frame = tcpFrame(10_000, 0x19); // FIN PSH ACK
    const segs = segmentTcpv4(frame, 1448);
    expect(Array.isArray(segs)).toBe(true);
    const s = segs as Uint8Array[];
    expect(s.map((f) => f.length - 66)).toEqual([1448, 1448, 1448, 1448, 1448, 1448, 1312]);
    const dv = (f: Uint8Array) => new DataView(f.buffer, f.byteOffset);
    expect(s.map((f) => dv(f).getUint32(38))).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => 0x01020304 + i * 1448));
    expect(s.map((f) => dv(f).getUint16(18))).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => 0x1234 + i));
    expect(s.map((f) => dv(f).getUint16(16))).toEqual(s.map((f) => f.length - 14)); // IPv4 total length
    expect(s.map((f) => f[47])).toEqual([0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x19]);
    // The payload, put back together, is the original's.
    expect(Buffer.concat(s.map((f) => f.subarray(66)))).toEqual(Buffer.from(frame.subarray(66)));
  });

  it.runIf(tcpdump || requireTools)("every segment's IPv4 and TCP checksums are correct (tcpdump)", () => {
    expect(tcpdump).toBe(true);
    const lines = tcpdumpFrames(segmentTcpv4(tcpFrame(10_000, 0x19), 1448) as Uint8Array[]);
    expect(lines.length).toBe(7);
    for (const [i, l] of lines.entries()) {
      expect(l).toMatch(new RegExp(`id ${0x1234 + i}, offset 0, flags \\[DF\\], proto TCP \\(6\\), length ${i < 6 ? 1500 : 1364}\\)`));
      expect(l).toMatch(/cksum 0x[0-9a-f]{4} \(correct\)/);
      expect(l).toMatch(new RegExp(`seq ${0x01020304 + i * 1448}:${0x01020304 + i * 1448 + (i < 6 ? 1448 : 1312)}`));
      expect(l).not.toMatch(/bad cksum|incorrect/);
    }
    expect(lines[0]).toMatch(/Flags \[\.\]/);
    expect(lines[6]).toMatch(/Flags \[FP\.\]/);
  });

  it("refuses what is not IPv4/TCP, truncated headers and an MSS of 0", () => {
    const udp = new Uint8Array([...ETH, ...ipv4(17, 8, 1), 0, 1, 0, 2, 0, 8, 0, 0]);
    expect(segmentTcpv4(udp, 1448)).toBe("not IPv4/TCP");
    expect(segmentTcpv4(tcpFrame(100, 0x10).subarray(0, 50), 1448)).toBe("truncated headers");
    expect(segmentTcpv4(tcpFrame(100, 0x10), 0)).toBe("no MSS");
  });
});

describe("checksum completion (NEEDS_CSUM)", () => {
  it.runIf(tcpdump || requireTools)("completes a UDP and a TCP checksum from csum_start (tcpdump)", () => {
    expect(tcpdump).toBe(true);
    const data = [104, 101, 108, 108, 111]; // an odd length
    const udpLen = 8 + data.length;
    const partial = pseudoSum(17, udpLen);
    const udp = new Uint8Array([...ETH, ...ipv4(17, udpLen, 7), 0x9c, 0x40, 0, 7, 0, udpLen, partial >> 8, partial & 0xff, ...data]);
    const tcp = tcpFrame(300, 0x18);
    const tcpPartial = pseudoSum(6, 32 + 300); // outside GSO the length is in the pseudo-header
    tcp[50] = tcpPartial >> 8; tcp[51] = tcpPartial & 0xff;
    // The IPv4 header checksum is the driver's: Linux fills it in before the device sees the frame.
    for (const f of [udp, tcp]) {
      let s = 0;
      for (let i = 14; i < 34; i += 2) s += (f[i]! << 8) | f[i + 1]!;
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      f[24] = (~s >> 8) & 0xff; f[25] = ~s & 0xff;
    }
    expect(completeChecksum(udp, 34, 6)).toBe(true);
    expect(completeChecksum(tcp, 34, 16)).toBe(true);
    const [u, t] = tcpdumpFrames([udp, tcp]);
    expect(u).toMatch(/10\.0\.0\.1\.40000 > 10\.0\.0\.2\.7: \[udp sum ok\] UDP, length 5/);
    expect(t).toMatch(/cksum 0x[0-9a-f]{4} \(correct\)/);
    expect(completeChecksum(udp, 34, 100)).toBe(false); // the field past the frame's end
  });
});
