/**
 * Ethernet frames as the virtual network sees them: destination MAC (6
 * bytes), source MAC (6), EtherType (2), payload — no preamble and no
 * frame check sequence (the virtual wire does not corrupt frames, as with
 * QEMU's and Xen's back ends). MAC addresses are kept as 48-bit numbers
 * (exact in a JS number) so that tables can key on them.
 *
 * @module
 */

/** Shortest frame a NIC puts on the wire (without FCS): shorter ones are padded with zeros. */
export const ETH_MIN_FRAME = 60;
/** Longest untagged frame without FCS (1500 bytes of payload + 14 of header); 4 more for a VLAN tag. */
export const ETH_MAX_FRAME = 1518;
export const ETH_HEADER = 14;

/** A MAC address as a 48-bit integer (first byte most significant). */
export type Mac = number;

export const BROADCAST_MAC: Mac = 0xffffffffffff;

/** Bytes `off`..`off+5` of `b` as a {@link Mac}. */
export function macAt(b: Uint8Array, off: number): Mac {
  return ((b[off]! << 8 | b[off + 1]!) >>> 0) * 0x100000000 + ((b[off + 2]! << 24 | b[off + 3]! << 16 | b[off + 4]! << 8 | b[off + 5]!) >>> 0);
}

export function destinationMac(frame: Uint8Array): Mac { return macAt(frame, 0); }
export function sourceMac(frame: Uint8Array): Mac { return macAt(frame, 6); }
export function etherType(frame: Uint8Array): number { return frame.length >= ETH_HEADER ? (frame[12]! << 8) | frame[13]! : -1; }

/** Group bit (I/G) of the first byte: multicast, broadcast included. */
export function isMulticast(mac: Mac): boolean { return Math.floor(mac / 0x10000000000) % 2 === 1; }

export function macBytes(mac: Mac): Uint8Array {
  const out = new Uint8Array(6);
  const hi = Math.floor(mac / 0x100000000), lo = mac % 0x100000000;
  out[0] = (hi >> 8) & 0xff; out[1] = hi & 0xff;
  out[2] = (lo >>> 24) & 0xff; out[3] = (lo >>> 16) & 0xff; out[4] = (lo >>> 8) & 0xff; out[5] = lo & 0xff;
  return out;
}

export function formatMac(mac: Mac): string {
  return [...macBytes(mac)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Parse "52:54:00:12:34:56" (or with '-'); throws a one-line error otherwise. */
export function parseMac(text: string): Mac {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) throw new Error(`not a MAC address: "${text}" (expected six hex bytes like 52:54:00:12:34:56)`);
  return macAt(Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16))), 0);
}

/**
 * The n-th default NIC address: QEMU's locally administered 52:54:00:12:34:56
 * counting upwards, so that a symbiont guest looks like a QEMU guest to tools.
 */
export function defaultMac(n: number): Mac {
  return 0x525400123456 + n;
}
