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
import type { State } from "../../vmm/snapshot.js";

/** Largest request served at once (Linux asks for at most a page or so). */
const MAX_REQUEST = 64 * 1024;

export type EntropySource = (into: Uint8Array) => void;

/** crypto.getRandomValues in slices of 64 KiB (its limit). */
export const hostEntropy: EntropySource = (into) => {
  for (let o = 0; o < into.length; o += 65536) crypto.getRandomValues(into.subarray(o, Math.min(into.length, o + 65536)));
};

/** A generator whose position a snapshot keeps (a restored deterministic VM reads on where it was). */
export type SeededEntropySource = EntropySource & { readonly state: { s0: bigint; s1: bigint } };

/** A reproducible byte stream (xorshift128+) for deterministic VMs: not for cryptography. */
export function seededEntropy(seed: number): SeededEntropySource {
  const state = { s0: BigInt(seed >>> 0) | 0x9e3779b97f4a7c15n, s1: 0xbf58476d1ce4e5b9n ^ BigInt(seed >>> 0) };
  const M = (1n << 64n) - 1n;
  return Object.assign((into: Uint8Array) => {
    for (let i = 0; i < into.length; i += 8) {
      let x = state.s0;
      const y = state.s1;
      state.s0 = y;
      x = (x ^ (x << 23n)) & M;
      state.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
      let r = (state.s1 + y) & M;
      for (let k = 0; k < 8 && i + k < into.length; k++, r >>= 8n) into[i + k] = Number(r & 0xffn);
    }
  }, { state });
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

  /** Bytes served, and a seeded generator's position (host entropy has none). */
  save(): State {
    const seeded = (this.source as Partial<SeededEntropySource>).state;
    return { bytesServed: this.bytesServed, generator: seeded ? { ...seeded } : null };
  }

  restore(state: State): void {
    this.bytesServed = state.bytesServed as number;
    const seeded = (this.source as Partial<SeededEntropySource>).state;
    if (seeded && state.generator) Object.assign(seeded, state.generator);
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
