/**
 * A split virtqueue as the device side sees it (Virtual I/O Device (VIRTIO)
 * Version 1.2, §2.7): the driver's descriptor table and available ring, the
 * device's used ring, all in guest RAM and reached only through
 * {@link GuestMemory} by guest-physical address.
 *
 * ```
 * descriptor table  N × { le64 addr; le32 len; le16 flags; le16 next }
 * available ring    le16 flags; le16 idx; le16 ring[N]; le16 used_event
 * used ring         le16 flags; le16 idx; { le32 id; le32 len } ring[N]; le16 avail_event
 * ```
 *
 * Notification suppression (§2.7.7, §2.7.10): with VIRTIO_F_EVENT_IDX the
 * device interrupts only when the used index passes the driver's
 * `used_event` ({@link needsInterrupt}, the vring_need_event() rule) and
 * publishes `avail_event` so the driver notifies only for buffers past it;
 * without it the driver's VIRTQ_AVAIL_F_NO_INTERRUPT flag decides. This is
 * the counterpart of Xen's event-channel masks (seed 003).
 *
 * Everything the guest wrote is untrusted. {@link Virtqueue.pop} checks a
 * whole chain before a device sees any of it: descriptor indices inside the
 * table, chains no longer than the table (so a loop ends), indirect tables
 * (§2.7.5.3) whole descriptors long, in RAM, not nested and not chained,
 * device-writable descriptors after the readable ones, and every buffer
 * inside guest RAM with a length that fits. A chain that breaks a rule
 * throws {@link VirtqueueError}; the transport then marks the device
 * DEVICE_NEEDS_RESET and touches nothing (§2.1.2).
 *
 * @module
 */
import type { GuestMemory } from "../../vmm/memory.js";

/** Descriptor flags (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Available ring flag: the driver needs no interrupt (ignored with EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device needs no notification (not used with EVENT_IDX). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** A guest buffer: guest-physical address and length, already checked to lie in RAM. */
export interface GuestBuffer {
  addr: number;
  len: number;
}

/** One descriptor chain taken from the available ring. */
export interface DescriptorChain {
  /** Head descriptor index: what goes back in the used ring. */
  head: number;
  /** Device-readable buffers, in order. */
  readable: GuestBuffer[];
  /** Device-writable buffers, in order (all after the readable ones). */
  writable: GuestBuffer[];
  readableBytes: number;
  writableBytes: number;
}

/** The guest broke a ring rule: the device must stop and ask for a reset. */
export class VirtqueueError extends Error {
  constructor(readonly queue: number, message: string) {
    super(`virtqueue ${queue}: ${message}`);
    this.name = "VirtqueueError";
  }
}

/** Largest buffer a device accepts in one descriptor (le32 len allows 4 GiB; no guest has that much RAM here). */
const MAX_CHAIN_BYTES = 0x7fffffff;

export class Virtqueue {
  /** Queue size the driver chose (a power of two ≤ maxSize); 0 until configured. */
  size: number;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  enabled = false;
  /** VIRTIO_F_EVENT_IDX negotiated. */
  eventIdx = false;
  /** Next available-ring slot the device will read (free-running 16-bit). */
  private lastAvail = 0;
  /** The used index the device will publish next (free-running 16-bit). */
  private usedIdx = 0;
  /** The used index at the last interrupt decision. */
  private signalledUsed = 0;

  constructor(readonly index: number, readonly maxSize: number, private readonly mem: GuestMemory) {
    this.size = maxSize;
  }

  /** Back to the state after a device reset. */
  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.enabled = false;
    this.eventIdx = false;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
  }

  /**
   * Make the queue live: check that its three areas lie in RAM (§2.7: sizes
   * 16·N, 6+2·N, 6+8·N). Both indices start at 0 (§2.7.6, §2.7.8).
   */
  enable(): void {
    const n = this.size;
    if (n === 0 || (n & (n - 1)) !== 0 || n > this.maxSize) throw new VirtqueueError(this.index, `size ${n} is not a power of two ≤ ${this.maxSize}`);
    if (!this.mem.isRam(this.descAddr, 16 * n)) throw new VirtqueueError(this.index, `descriptor table at ${hex(this.descAddr)} is not in RAM`);
    if (!this.mem.isRam(this.availAddr, 6 + 2 * n)) throw new VirtqueueError(this.index, `available ring at ${hex(this.availAddr)} is not in RAM`);
    if (!this.mem.isRam(this.usedAddr, 6 + 8 * n)) throw new VirtqueueError(this.index, `used ring at ${hex(this.usedAddr)} is not in RAM`);
    this.usedIdx = this.signalledUsed = this.lastAvail = 0;
    this.enabled = true;
  }

  /** Whether the driver has made buffers available that the device has not taken. */
  hasAvailable(): boolean {
    return this.enabled && this.availIdx() !== this.lastAvail;
  }

  /**
   * Without taking them: how many of the available chains, in order, it takes to have `bytes` writable bytes, and
   * how many they have (fewer than `bytes` when the available chains run out). Throws as {@link pop} on a broken chain.
   */
  peekWritable(bytes: number): { chains: number; bytes: number } {
    if (!this.enabled) return { chains: 0, bytes: 0 };
    const pending = (this.availIdx() - this.lastAvail) & 0xffff;
    let chains = 0, sum = 0;
    while (sum < bytes && chains < Math.min(pending, this.size)) {
      const head = this.mem.readU16(this.availAddr + 4 + 2 * ((this.lastAvail + chains) % this.size));
      sum += this.walk(head).writableBytes;
      chains++;
    }
    return { chains, bytes: sum };
  }

  private availIdx(): number {
    return this.mem.readU16(this.availAddr + 2);
  }

  /**
   * Take the next available chain, or null when there is none. Throws
   * {@link VirtqueueError} (having consumed nothing) when the ring or the
   * chain breaks a rule.
   */
  pop(): DescriptorChain | null {
    if (!this.enabled) return null;
    const avail = this.availIdx();
    const pending = (avail - this.lastAvail) & 0xffff;
    if (pending === 0) return null;
    if (pending > this.size) throw new VirtqueueError(this.index, `available index ${avail} is ${pending} ahead of ${this.lastAvail}, more than the ${this.size} descriptors`);
    const head = this.mem.readU16(this.availAddr + 4 + 2 * (this.lastAvail % this.size));
    const chain = this.walk(head);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) this.mem.writeU16(this.usedAddr + 4 + 8 * this.size, this.lastAvail); // avail_event
    return chain;
  }

  /** Follow and check the chain that starts at descriptor `head`. */
  private walk(head: number): DescriptorChain {
    const chain: DescriptorChain = { head, readable: [], writable: [], readableBytes: 0, writableBytes: 0 };
    if (head >= this.size) throw new VirtqueueError(this.index, `head descriptor ${head} is outside the table of ${this.size}`);
    let table = this.descAddr, tableLen = this.size, i = head, seen = 0, indirect = false;
    for (;;) {
      if (++seen > tableLen) throw new VirtqueueError(this.index, `descriptor chain from ${head} is longer than its table (a loop)`);
      const d = table + 16 * i;
      const addrLo = this.mem.readU32(d), addrHi = this.mem.readU32(d + 4);
      const len = this.mem.readU32(d + 8), flags = this.mem.readU16(d + 12), next = this.mem.readU16(d + 14);
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (indirect) throw new VirtqueueError(this.index, `indirect descriptor inside an indirect table (chain ${head})`);
        if (flags & VIRTQ_DESC_F_NEXT) throw new VirtqueueError(this.index, `indirect descriptor with NEXT set (chain ${head})`);
        if (len === 0 || len % 16 !== 0) throw new VirtqueueError(this.index, `indirect table length ${len} is not a whole number of descriptors`);
        if (addrHi !== 0 || !this.mem.isRam(addrLo, len)) throw new VirtqueueError(this.index, `indirect table ${hex64(addrHi, addrLo)}+${hex(len)} is not in RAM`);
        table = addrLo; tableLen = len / 16; i = 0; seen = 0; indirect = true;
        continue;
      }
      if (addrHi !== 0 || !this.mem.isRam(addrLo, len)) throw new VirtqueueError(this.index, `buffer ${hex64(addrHi, addrLo)}+${hex(len)} of chain ${head} is not in RAM`);
      if (chain.readableBytes + chain.writableBytes + len > MAX_CHAIN_BYTES) throw new VirtqueueError(this.index, `chain ${head} is larger than 2 GiB`);
      if (flags & VIRTQ_DESC_F_WRITE) {
        chain.writable.push({ addr: addrLo, len });
        chain.writableBytes += len;
      } else {
        if (chain.writable.length > 0) throw new VirtqueueError(this.index, `chain ${head} has a readable buffer after a writable one`);
        chain.readable.push({ addr: addrLo, len });
        chain.readableBytes += len;
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) return chain;
      if (next >= tableLen) throw new VirtqueueError(this.index, `descriptor ${i} of chain ${head} links to ${next}, outside its table of ${tableLen}`);
      i = next;
    }
  }

  /** Return a chain to the driver with `written` bytes written into its writable buffers. */
  push(chain: DescriptorChain, written: number): void {
    const slot = this.usedAddr + 4 + 8 * (this.usedIdx % this.size);
    this.mem.writeU32(slot, chain.head);
    this.mem.writeU32(slot + 4, written);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.mem.writeU16(this.usedAddr + 2, this.usedIdx); // after the element: the driver reads idx, then the ring
  }

  /**
   * Whether the driver wants an interrupt for what was pushed since the last
   * call (§2.7.10). Call once after a batch of {@link push}es.
   */
  needsInterrupt(): boolean {
    const old = this.signalledUsed, now = this.usedIdx;
    this.signalledUsed = now;
    if (old === now) return false;
    if (this.eventIdx) {
      const event = this.mem.readU16(this.availAddr + 4 + 2 * this.size); // used_event
      return ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
    }
    return (this.mem.readU16(this.availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** `length` device-readable bytes of a chain from byte `offset` on (fewer if the chain ends first), gathered. */
  read(chain: DescriptorChain, offset = 0, length = chain.readableBytes - offset): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(length, chain.readableBytes - offset)));
    let skip = offset, o = 0;
    for (const b of chain.readable) {
      if (o >= out.length) break;
      if (skip >= b.len) { skip -= b.len; continue; }
      const n = Math.min(b.len - skip, out.length - o);
      out.set(this.mem.read(b.addr + skip, n), o);
      o += n;
      skip = 0;
    }
    return out;
  }

  /** Scatter `data` into the chain's writable buffers from byte `offset` on; returns the bytes written. */
  write(chain: DescriptorChain, offset: number, data: Uint8Array): number {
    let skip = offset, from = 0;
    for (const b of chain.writable) {
      if (from >= data.length) break;
      if (skip >= b.len) { skip -= b.len; continue; }
      const n = Math.min(b.len - skip, data.length - from);
      this.mem.write(b.addr + skip, data.subarray(from, from + n));
      from += n;
      skip = 0;
    }
    return from;
  }
}

function hex(n: number): string { return "0x" + (n >>> 0).toString(16); }
function hex64(hi: number, lo: number): string { return hi ? "0x" + (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, "0") : hex(lo); }
