/**
 * virtio-rng, the entropy device (Virtual I/O Device (VIRTIO) Version 1.2,
 * §5.4): one request queue of device-writable buffers the device fills with
 * random bytes. No configuration, no feature bits. Bytes come from `source`:
 * the platform's crypto.getRandomValues by default; a deterministic VM
 * passes a seeded generator so that two runs read the same bytes.
 *
 * @module
 */
import { QueueDevice, type VirtioDevice, VIRTIO_ID_RNG } from "./device.js";

/** Largest request served at once (Linux asks for at most a page or so). */
const MAX_REQUEST = 64 * 1024;

export type EntropySource = (into: Uint8Array) => void;

/** crypto.getRandomValues in slices of 64 KiB (its limit). */
export const hostEntropy: EntropySource = (into) => {
  for (let o = 0; o < into.length; o += 65536) crypto.getRandomValues(into.subarray(o, Math.min(into.length, o + 65536)));
};

/** A reproducible byte stream (xorshift128+) for deterministic VMs: not for cryptography. */
export function seededEntropy(seed: number): EntropySource {
  let s0 = BigInt(seed >>> 0) | 0x9e3779b97f4a7c15n, s1 = 0xbf58476d1ce4e5b9n ^ BigInt(seed >>> 0);
  const M = (1n << 64n) - 1n;
  return (into) => {
    for (let i = 0; i < into.length; i += 8) {
      let x = s0;
      const y = s1;
      s0 = y;
      x = (x ^ (x << 23n)) & M;
      s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
      let r = (s1 + y) & M;
      for (let k = 0; k < 8 && i + k < into.length; k++, r >>= 8n) into[i + k] = Number(r & 0xffn);
    }
  };
}

export class VirtioRng extends QueueDevice implements VirtioDevice {
  readonly name = "virtio-rng";
  readonly deviceId = VIRTIO_ID_RNG;
  readonly pciClass = 0x00ff00; // unclassified, as QEMU's virtio-rng-pci
  readonly features = 0n;
  readonly queueSizes = [64];
  readonly configSize = 0;
  /** Bytes handed to the guest. */
  bytesServed = 0;

  constructor(private readonly source: EntropySource = hostEntropy) {
    super();
  }

  readConfig(): number { return 0; }
  writeConfig(): void {}

  notify(): void {
    this.drain(0, (q, chain) => {
      const bytes = new Uint8Array(Math.min(chain.writableBytes, MAX_REQUEST));
      this.source(bytes);
      const n = q.write(chain, 0, bytes);
      this.bytesServed += n;
      return n;
    });
  }
}
