/**
 * A packet capture in the classic libpcap format (what `tcpdump -r` and
 * Wireshark open): a 24-byte global header — magic 0xa1b2c3d4 written
 * little-endian, version 2.4, thiszone 0, sigfigs 0, snaplen, link type 1
 * (LINKTYPE_ETHERNET) — then per frame a 16-byte record header (seconds,
 * microseconds, captured length, original length) and the captured bytes.
 * (Format: the pcap-savefile man page / tcpdump.org "Link-layer header
 * types".)
 *
 * Platform-neutral: bytes go to a sink (Node appends them to a file, a
 * browser could collect a Blob).
 *
 * @module
 */

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

export interface PcapWriterOptions {
  /** Longest part of a frame kept (default 65535; longer frames are truncated, their original length recorded). */
  snaplen?: number;
  /** Capture time of a frame in nanoseconds since the Unix epoch (the VM's clock plus its start time). */
  timeNs: () => number;
}

export class PcapWriter {
  private readonly snaplen: number;
  frames = 0;

  constructor(private readonly sink: (bytes: Uint8Array) => void, private readonly opts: PcapWriterOptions) {
    this.snaplen = opts.snaplen ?? 65535;
    const h = new DataView(new ArrayBuffer(PCAP_GLOBAL_HEADER));
    h.setUint32(0, PCAP_MAGIC, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true);
    h.setUint32(12, 0, true);
    h.setUint32(16, this.snaplen, true);
    h.setUint32(20, LINKTYPE_ETHERNET, true);
    sink(new Uint8Array(h.buffer));
  }

  /** Record one frame at the current time. */
  write(frame: Uint8Array): void {
    const ns = this.opts.timeNs();
    const sec = Math.floor(ns / 1e9);
    const usec = Math.floor((ns - sec * 1e9) / 1000);
    const kept = Math.min(frame.length, this.snaplen);
    const rec = new Uint8Array(PCAP_RECORD_HEADER + kept);
    const dv = new DataView(rec.buffer);
    dv.setUint32(0, sec >>> 0, true);
    dv.setUint32(4, usec, true);
    dv.setUint32(8, kept, true);
    dv.setUint32(12, frame.length, true);
    rec.set(frame.subarray(0, kept), PCAP_RECORD_HEADER);
    this.sink(rec);
    this.frames++;
  }
}
