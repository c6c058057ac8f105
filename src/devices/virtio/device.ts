/**
 * What a virtio device model (blk, console, rng, net …) implements, and what
 * the transport gives it. A device knows its queues and its configuration
 * space; the transport (pci.ts) knows registers, feature negotiation, status,
 * interrupts and the device's error state. Adding a device type is one file
 * implementing {@link VirtioDevice}.
 *
 * @module
 */
import type { AccessSize } from "../../vmm/bus.js";
import type { GuestMemory } from "../../vmm/memory.js";
import type { DescriptorChain, Virtqueue } from "./virtqueue.js";
import type { State } from "../../vmm/snapshot.js";

/** Virtio device IDs (§5). */
export const VIRTIO_ID_NET = 1;
export const VIRTIO_ID_BLOCK = 2;
export const VIRTIO_ID_CONSOLE = 3;
export const VIRTIO_ID_RNG = 4;
export const VIRTIO_ID_BALLOON = 5;

/** Feature bits the transport and ring define (§6). */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
export const VIRTIO_RING_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

/** A feature bit as a 64-bit mask. */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

/** What a device may do with the transport. */
export interface VirtioContext {
  readonly memory: GuestMemory;
  /** The features the driver accepted. */
  readonly features: bigint;
  /** Tell the driver about buffers pushed on `queue`, if it wants an interrupt for them. */
  used(queue: Virtqueue): void;
  /** The device configuration changed (e.g. a console resize): a configuration interrupt. */
  configChanged(): void;
  /**
   * The guest broke a ring rule during work the host started (a frame or
   * console input arriving): DEVICE_NEEDS_RESET, as for an error thrown from
   * {@link VirtioDevice.notify}. The device is reset (quiet) until the driver
   * resets it. Anything but a VirtqueueError or GuestMemoryError is rethrown.
   */
  fail(error: unknown): void;
}

/** A virtio device model behind a transport. */
export interface VirtioDevice {
  readonly name: string;
  /** Virtio device ID ({@link VIRTIO_ID_BLOCK} …). */
  readonly deviceId: number;
  /** PCI class code (base << 16 | sub << 8 | prog-if) the transitional PCI function reports. */
  readonly pciClass: number;
  /** Device-specific feature bits offered (the transport adds VERSION_1, INDIRECT_DESC, EVENT_IDX). */
  readonly features: bigint;
  /** Maximum size of each queue (powers of two); the number of entries is the number of queues. */
  readonly queueSizes: readonly number[];
  /** Bytes of device-specific configuration space. */
  readonly configSize: number;
  readConfig(offset: number, size: AccessSize): number;
  writeConfig(offset: number, size: AccessSize, value: number): void;
  /** The driver set DRIVER_OK: queues are live, `ctx` stays valid until {@link reset}. */
  activate(ctx: VirtioContext, queues: readonly Virtqueue[]): void;
  /**
   * The driver notified queue `index` (available buffers). May throw a
   * VirtqueueError or GuestMemoryError: the transport then marks the device
   * DEVICE_NEEDS_RESET.
   */
  notify(index: number): void;
  /** Device reset (status 0): forget queues and in-flight state. */
  reset(): void;
  /** A snapshot's part beyond the transport's (absent: the device's plain fields, src/vmm/snapshot.ts saveFields). */
  save?(): State;
  restore?(state: State): void;
}

/**
 * What every device keeps between DRIVER_OK and reset (its context and
 * queues) and the loop every queue handler runs: take each available chain,
 * serve it, return it, then interrupt if the driver wants.
 */
export abstract class QueueDevice {
  protected ctx: VirtioContext | null = null;
  protected queues: readonly Virtqueue[] = [];

  activate(ctx: VirtioContext, queues: readonly Virtqueue[]): void {
    this.ctx = ctx;
    this.queues = queues;
    this.activated();
  }

  reset(): void {
    this.ctx = null;
    this.queues = [];
  }

  /** Called after {@link activate}. */
  protected activated(): void {}

  /**
   * Serve the available chains of queue `index` while `more()` says so;
   * `serve` returns the bytes it wrote into the chain. A broken chain puts
   * the device in NEEDS_RESET (whether the driver's notification or the
   * host's input started the work).
   */
  protected drain(index: number, serve: (q: Virtqueue, chain: DescriptorChain) => number, more: () => boolean = () => true): void {
    const q = this.queues[index], ctx = this.ctx;
    if (!q || !ctx) return;
    let chain: DescriptorChain | null;
    try {
      while (more() && (chain = q.pop()) !== null) q.push(chain, serve(q, chain));
    } catch (e) {
      ctx.used(q); // what was pushed before the broken chain is the driver's
      ctx.fail(e);
      return;
    }
    ctx.used(q);
  }
}

/** Read `size` bytes at `offset` of a little-endian configuration byte array (bytes past its end read 0). */
export function readConfigBytes(bytes: Uint8Array, offset: number, size: AccessSize): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= (bytes[offset + i] ?? 0) << (8 * i);
  return v >>> 0;
}
