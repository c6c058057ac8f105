/**
 * The virtio PCI transport (Virtual I/O Device (VIRTIO) Version 1.2, §4.1),
 * as a transitional device: PCI vendor 0x1AF4, the transitional device ID
 * of §4.1.2.3 with the virtio device ID in the subsystem ID, so both
 * halves of Linux's virtio_pci accept it — the modern driver through the
 * vendor capabilities, the legacy one (`virtio_pci.force_legacy=1`, older
 * kernels) through BAR0.
 *
 * ```
 * BAR0  I/O, legacy interface (§4.1.4.8):
 *       0x00 host features  0x04 guest features  0x08 queue PFN  0x0C queue size
 *       0x0E queue select   0x10 queue notify    0x12 status     0x13 ISR
 *       0x14 device configuration
 * BAR1  memory, 16 KiB, modern interface, located by vendor capabilities (§4.1.4):
 *       0x0000 common configuration   0x1000 ISR   0x2000 device configuration
 *       0x3000 notifications (queue i at 0x3000 + 4·i)
 *
 * BAR2  memory, 4 KiB, the MSI-X table and pending bits (when the machine has APICs)
 * ```
 *
 * Interrupts: with MSI-X (offered when the machine has an APIC bus, `msi`),
 * once the driver enables it, each queue and configuration changes signal
 * the vector the driver assigned (§4.1.5.1.2; NO_VECTOR: none) and the pin
 * stays quiet. Otherwise INTx: the ISR byte has bit 0 for used buffers and
 * bit 1 for configuration changes; the pin is asserted while it is non-zero
 * and reading it clears it (§4.1.4.5). The pin reaches the interrupt
 * controller through the chipset's PCI interrupt routing (`setIntx`, wired
 * by the machine).
 *
 * Errors: when a device finds a broken ring or buffer it throws; the
 * transport sets DEVICE_NEEDS_RESET, raises a configuration interrupt
 * (§2.1.2), reports the reason through `onError`, and ignores the queues
 * until the driver resets the device.
 *
 * @module
 */
import { type AccessSize, type MmioDevice, type PortDevice } from "../../vmm/bus.js";
import { GuestMemoryError, type GuestMemory } from "../../vmm/memory.js";
import { PciFunction, PCI_COMMAND_INTX_DISABLE, PCI_STATUS } from "../pci.js";
import { BarDecoder, type PciAddressSpaces } from "../pci-bars.js";
import { Msix, MSIX_BAR_SIZE } from "../msix.js";
import type { ApicMessage } from "../apic-bus.js";
import {
  type VirtioContext, type VirtioDevice, VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, bit,
} from "./device.js";
import { Virtqueue, VirtqueueError } from "./virtqueue.js";
import { saveFields, restoreFields, type State } from "../../vmm/snapshot.js";

export const VIRTIO_PCI_VENDOR = 0x1af4;

/** Device status bits (§2.1). */
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

/** Modern BAR layout. */
const COMMON = 0x0000, ISR = 0x1000, DEVICE = 0x2000, NOTIFY = 0x3000;
/** Transitional PCI device IDs by virtio device ID (§4.1.2.3): net, block, balloon, console, SCSI, entropy, 9P. */
const TRANSITIONAL_PCI_ID: Record<number, number> = { 1: 0x1000, 2: 0x1001, 5: 0x1002, 3: 0x1003, 8: 0x1004, 4: 0x1005, 9: 0x1009 };
const NOTIFY_MULTIPLIER = 4;
const MODERN_BAR = 1, MODERN_BAR_SIZE = 0x4000;
const MSIX_BAR = 2;
/** Where the legacy block's device configuration starts: after the two MSI-X vector fields while MSI-X is on (§4.1.4.8). */
const LEGACY_CONFIG = 0x14, LEGACY_CONFIG_MSIX = 0x18;
/** "No vector" for config_msix_vector and queue_msix_vector. */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Vendor capability types (§4.1.4). */
const CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4;
const PCI_CAP_ID_VNDR = 0x09;
const PCI_STATUS_INTERRUPT = 0x08, PCI_STATUS_CAP_LIST = 0x10;
const PCI_CAPABILITY_LIST = 0x34;

export interface VirtioPciOptions {
  memory: GuestMemory;
  /** Drive the function's INTA# pin (the machine routes it). */
  setIntx(level: boolean): void;
  /** The device was put in DEVICE_NEEDS_RESET (a broken ring): one line saying why. */
  onError?(message: string): void;
  /** Put an MSI-X message on the APIC bus; given, the function offers MSI-X (a vector per queue and one for configuration). */
  msi?(msg: ApicMessage): void;
}

/** A virtio device on PCI: the configuration space, both register interfaces, queues and the interrupt pin. */
export class VirtioPci {
  readonly pci: PciFunction;
  readonly queues: Virtqueue[];
  private bars: BarDecoder | null = null;
  private status = 0;
  private isr = 0;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private queueSelect = 0;
  private configGeneration = 0;
  private readonly offered: bigint;
  private readonly memory: GuestMemory;
  /** MSI-X (null: the machine has no APIC bus, INTx only), the configuration vector and each queue's. */
  readonly msix: Msix | null = null;
  private configVector = VIRTIO_MSI_NO_VECTOR;
  private readonly queueVectors: number[];
  /** Why the device is in NEEDS_RESET (null when it is not). */
  error: string | null = null;

  constructor(readonly device: VirtioDevice, private readonly opts: VirtioPciOptions) {
    this.memory = opts.memory;
    this.offered = device.features | bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_RING_F_INDIRECT_DESC) | bit(VIRTIO_RING_F_EVENT_IDX);
    this.queues = device.queueSizes.map((n, i) => new Virtqueue(i, n, opts.memory));
    this.queueVectors = this.queues.map(() => VIRTIO_MSI_NO_VECTOR);
    const legacySize = pow2AtLeast(LEGACY_CONFIG_MSIX + device.configSize, 0x20);
    this.pci = new PciFunction({
      name: device.name,
      vendorId: VIRTIO_PCI_VENDOR,
      deviceId: TRANSITIONAL_PCI_ID[device.deviceId] ?? 0x1040 + device.deviceId,
      revision: 0,
      classCode: device.pciClass,
      subsystemVendorId: VIRTIO_PCI_VENDOR,
      subsystemId: device.deviceId,
      interruptPin: 1,
      status: PCI_STATUS_CAP_LIST,
      bars: [{ kind: "io", size: legacySize }, { kind: "mem32", size: MODERN_BAR_SIZE }, ...(opts.msi ? [{ kind: "mem32" as const, size: MSIX_BAR_SIZE }] : [])],
      onRemap: () => this.bars?.remap(),
      onConfigWrite: () => { this.updateIntx(); this.msix?.configWritten(); },
    });
    const end = this.addCapabilities(opts.msi !== undefined);
    if (opts.msi) this.msix = new Msix(this.pci, end, 0, this.queues.length + 1, MSIX_BAR, opts.msi);
  }

  /** Decode the BARs on `spaces` from now on (the machine calls this once). */
  attach(spaces: PciAddressSpaces): void {
    const legacy: PortDevice = { name: `${this.device.name}-legacy`, read: (o, s) => this.legacyRead(o, s), write: (o, s, v) => this.legacyWrite(o, s, v) };
    const modern: MmioDevice = { name: `${this.device.name}-modern`, read: (o, s) => this.modernRead(o, s), write: (o, s, v) => this.modernWrite(o, s, v) };
    this.bars = new BarDecoder(() => this.pci, spaces, [legacy, modern, this.msix?.mmio]);
    this.bars.remap();
  }

  /** The transport's registers, its queues, its MSI-X table and the device model's own fields (a snapshot's part). */
  save(): State {
    return {
      ...saveFields(this, ["offered"]),
      queues: this.queues.map((q) => saveFields(q)),
      msix: this.msix ? saveFields(this.msix) : null,
      device: this.device.save?.() ?? saveFields(this.device),
    };
  }

  /** Take back save()'s state; a driver that had set DRIVER_OK finds its device live again, with the same queues. */
  restore(state: State): void {
    const { queues, msix, device, ...fields } = state;
    restoreFields(this, fields);
    (queues as State[]).forEach((q, i) => restoreFields(this.queues[i]!, q));
    if (this.msix && msix) restoreFields(this.msix, msix as State);
    this.device.reset();
    if (this.device.restore) this.device.restore(device as State); else restoreFields(this.device, device as State);
    if ((this.status & STATUS_DRIVER_OK) && !this.error) this.activate();
  }

  /** The device status byte (§2.1). */
  get deviceStatus(): number {
    return this.status;
  }

  // ---- capabilities -------------------------------------------------------------------

  /** The vendor capabilities, chained; with `more`, another follows the last (returns where it goes). */
  private addCapabilities(more: boolean): number {
    const caps: [type: number, offset: number, length: number, extra?: number][] = [
      [CAP_COMMON, COMMON, 0x38],
      [CAP_ISR, ISR, 1],
      [CAP_DEVICE, DEVICE, Math.max(this.device.configSize, 4)],
      [CAP_NOTIFY, NOTIFY, NOTIFY_MULTIPLIER * this.queues.length, NOTIFY_MULTIPLIER],
    ];
    let at = 0x40;
    this.pci.config[PCI_CAPABILITY_LIST] = at;
    caps.forEach(([type, offset, length, extra], i) => {
      const len = extra === undefined ? 16 : 20;
      const next = i === caps.length - 1 && !more ? 0 : at + len;
      const c = this.pci.config;
      c.set([PCI_CAP_ID_VNDR, next, len, type, MODERN_BAR, 0, 0, 0], at);
      this.pci.set32(at + 8, offset);
      this.pci.set32(at + 12, length);
      if (extra !== undefined) this.pci.set32(at + 16, extra);
      at += len;
    });
    return at;
  }

  // ---- interrupts ---------------------------------------------------------------------

  /** Used buffers in queue `q`: its MSI-X vector, or the ISR's queue bit and the pin. */
  private signalQueue(q: Virtqueue): void {
    if (this.msix?.enabled) this.msix.notify(this.queueVectors[q.index]!);
    else this.raise(1);
  }

  /** A configuration change: the ISR's bit (read by INTx drivers), and the configuration vector under MSI-X. */
  private signalConfig(): void {
    this.raise(2); // under MSI-X the pin stays quiet (updateIntx)
    if (this.msix?.enabled) this.msix.notify(this.configVector);
  }

  private raise(bits: number): void {
    this.isr |= bits;
    this.updateIntx();
  }

  private updateIntx(): void {
    const level = this.isr !== 0 && (this.pci.command & PCI_COMMAND_INTX_DISABLE) === 0 && !this.msix?.enabled;
    const st = this.pci.get(PCI_STATUS, 2);
    this.pci.set16(PCI_STATUS, level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
    this.opts.setIntx(level);
  }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.updateIntx();
    return v;
  }

  // ---- status, reset, errors ----------------------------------------------------------

  private setStatus(v: number): void {
    v &= 0xff;
    if (v === 0) { this.reset(); return; }
    if (this.error) v |= STATUS_NEEDS_RESET;
    const was = this.status;
    if ((v & STATUS_FEATURES_OK) && !(was & STATUS_FEATURES_OK) && !this.featuresAcceptable()) v &= ~STATUS_FEATURES_OK;
    this.status = v;
    if ((v & STATUS_DRIVER_OK) && !(was & STATUS_DRIVER_OK) && !this.error) this.activate();
  }

  private featuresAcceptable(): boolean {
    return (this.driverFeatures & ~this.offered) === 0n && (this.driverFeatures & bit(VIRTIO_F_VERSION_1)) !== 0n;
  }

  private reset(): void {
    this.status = 0;
    this.isr = 0;
    this.driverFeatures = 0n;
    this.deviceFeatureSelect = this.driverFeatureSelect = this.queueSelect = 0;
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    this.queueVectors.fill(VIRTIO_MSI_NO_VECTOR);
    this.error = null;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.updateIntx();
  }

  private activate(): void {
    const eventIdx = (this.driverFeatures & bit(VIRTIO_RING_F_EVENT_IDX)) !== 0n;
    for (const q of this.queues) q.eventIdx = eventIdx;
    const ctx: VirtioContext = {
      memory: this.memory,
      features: this.driverFeatures,
      used: (q) => { if (q.needsInterrupt()) this.signalQueue(q); },
      configChanged: () => { this.configGeneration = (this.configGeneration + 1) & 0xff; this.signalConfig(); },
      fail: (e) => this.fail(e),
    };
    this.device.activate(ctx, this.queues);
  }

  /** Stop the device: NEEDS_RESET, the device model quiet, a configuration interrupt, one line to the VMM. */
  private fail(e: unknown): void {
    if (!(e instanceof VirtqueueError) && !(e instanceof GuestMemoryError)) throw e;
    if (this.error) return;
    this.error = e.message;
    this.device.reset();
    this.status |= STATUS_NEEDS_RESET;
    this.opts.onError?.(`${this.device.name}: device needs reset: ${e.message}`);
    this.signalConfig();
  }

  private kick(index: number): void {
    if (!(this.status & STATUS_DRIVER_OK) || this.error || index >= this.queues.length) return;
    const q = this.queues[index]!;
    if (!q.enabled) return;
    try {
      this.device.notify(index);
    } catch (e) {
      this.fail(e);
    }
  }

  private enableQueue(q: Virtqueue): void {
    try {
      q.enable();
    } catch (e) {
      this.fail(e);
    }
  }

  // ---- modern interface (BAR1) ----------------------------------------------------------

  private get selected(): Virtqueue | undefined {
    return this.queues[this.queueSelect];
  }

  private modernRead(offset: number, size: AccessSize): number {
    if (offset >= DEVICE && offset < DEVICE + 0x1000) return this.device.readConfig(offset - DEVICE, size);
    if (offset === ISR) return this.readIsr();
    if (offset >= COMMON + 0x38) return 0;
    const q = this.selected;
    switch (offset) {
      case 0x00: return this.deviceFeatureSelect;
      case 0x04: return this.deviceFeatureSelect < 2 ? Number((this.offered >> BigInt(32 * this.deviceFeatureSelect)) & 0xffffffffn) : 0;
      case 0x08: return this.driverFeatureSelect;
      case 0x0c: return this.driverFeatureSelect < 2 ? Number((this.driverFeatures >> BigInt(32 * this.driverFeatureSelect)) & 0xffffffffn) : 0;
      case 0x10: return this.configVector;
      case 0x12: return this.queues.length;
      case 0x14: return size === 1 ? this.status : this.status | (this.configGeneration << 8);
      case 0x15: return this.configGeneration;
      case 0x16: return this.queueSelect;
      case 0x18: return q ? q.size : 0;
      case 0x1a: return this.selectedVector;
      case 0x1c: return q?.enabled ? 1 : 0;
      case 0x1e: return q ? this.queueSelect : 0; // queue_notify_off
      case 0x20: return q?.descAddr ?? 0;
      case 0x28: return q?.availAddr ?? 0;
      case 0x30: return q?.usedAddr ?? 0;
      case 0x24: case 0x2c: case 0x34: return 0; // high halves: RAM is below 4 GiB
      default: return 0;
    }
  }

  private modernWrite(offset: number, size: AccessSize, v: number): void {
    if (offset >= NOTIFY && offset < NOTIFY + NOTIFY_MULTIPLIER * this.queues.length) {
      this.kick((offset - NOTIFY) / NOTIFY_MULTIPLIER | 0);
      return;
    }
    if (offset >= DEVICE && offset < DEVICE + 0x1000) { this.device.writeConfig(offset - DEVICE, size, v); return; }
    const q = this.selected;
    const setAddr = (field: "descAddr" | "availAddr" | "usedAddr", high: boolean) => {
      if (!q || q.enabled) return;
      // A ring above 4 GiB cannot be in RAM: keep an impossible address so enabling fails.
      if (high) { if (v !== 0) q[field] = -1; }
      else q[field] = v >>> 0;
    };
    switch (offset) {
      case 0x00: this.deviceFeatureSelect = v >>> 0; return;
      case 0x08: this.driverFeatureSelect = v >>> 0; return;
      case 0x0c: {
        if (this.driverFeatureSelect > 1 || (this.status & STATUS_FEATURES_OK)) return;
        const shift = BigInt(32 * this.driverFeatureSelect);
        this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(v >>> 0) << shift);
        return;
      }
      case 0x10: this.configVector = this.vectorOrNone(v); return;
      case 0x14: this.setStatus(v); return;
      case 0x16: this.queueSelect = v & 0xffff; return;
      case 0x1a: this.selectedVector = v; return;
      case 0x18: if (q && !q.enabled) q.size = v & 0xffff; return;
      case 0x1c: if (q && (v & 1) && !q.enabled) this.enableQueue(q); return;
      case 0x20: setAddr("descAddr", false); return;
      case 0x24: setAddr("descAddr", true); return;
      case 0x28: setAddr("availAddr", false); return;
      case 0x2c: setAddr("availAddr", true); return;
      case 0x30: setAddr("usedAddr", false); return;
      case 0x34: setAddr("usedAddr", true); return;
      default: return; // read-only fields
    }
  }

  /** A vector the driver assigns, kept if the table has it; otherwise the device answers NO_VECTOR (§4.1.5.1.2). */
  private vectorOrNone(v: number): number {
    v &= 0xffff;
    return this.msix && v < this.msix.vectors ? v : VIRTIO_MSI_NO_VECTOR;
  }

  /** The selected queue's MSI-X vector (queue_msix_vector; NO_VECTOR for a queue that does not exist). */
  private get selectedVector(): number {
    return this.selected ? this.queueVectors[this.queueSelect]! : VIRTIO_MSI_NO_VECTOR;
  }

  private set selectedVector(v: number) {
    if (this.selected) this.queueVectors[this.queueSelect] = this.vectorOrNone(v);
  }

  /** Where the legacy block's device configuration starts now. */
  private get legacyConfig(): number {
    return this.msix?.enabled ? LEGACY_CONFIG_MSIX : LEGACY_CONFIG;
  }

  // ---- legacy interface (BAR0) ----------------------------------------------------------

  private legacyRead(offset: number, size: AccessSize): number {
    if (offset >= this.legacyConfig) return this.device.readConfig(offset - this.legacyConfig, size);
    const q = this.selected;
    switch (offset) {
      case 0x00: return Number(this.offered & 0xffffffffn);
      case 0x04: return Number(this.driverFeatures & 0xffffffffn);
      case 0x08: return q?.enabled ? Math.floor(q.descAddr / 4096) : 0;
      case 0x0c: return q ? q.maxSize : 0;
      case 0x0e: return this.queueSelect;
      case 0x12: return this.status;
      case 0x13: return this.readIsr();
      case 0x14: return this.configVector; // only while MSI-X is on (else the device configuration is here)
      case 0x16: return this.selectedVector;
      default: return 0;
    }
  }

  private legacyWrite(offset: number, size: AccessSize, v: number): void {
    if (offset >= this.legacyConfig) { this.device.writeConfig(offset - this.legacyConfig, size, v); return; }
    const q = this.selected;
    switch (offset) {
      case 0x04: this.driverFeatures = BigInt(v >>> 0) & this.offered; return;
      case 0x08: {
        if (!q) return;
        if (v === 0) { q.reset(); return; }
        // Legacy layout (§2.7.2 legacy interfaces): used ring on the next 4 KiB boundary.
        const n = q.maxSize;
        q.size = n;
        q.descAddr = (v >>> 0) * 4096;
        q.availAddr = q.descAddr + 16 * n;
        q.usedAddr = Math.ceil((q.availAddr + 6 + 2 * n) / 4096) * 4096;
        this.enableQueue(q);
        return;
      }
      case 0x0e: this.queueSelect = v & 0xffff; return;
      case 0x10: this.kick(v & 0xffff); return;
      case 0x12: this.setLegacyStatus(v); return;
      case 0x14: this.configVector = this.vectorOrNone(v); return;
      case 0x16: this.selectedVector = v; return;
      default: return;
    }
  }

  /** Legacy drivers have no FEATURES_OK and no VERSION_1: DRIVER_OK activates with the features written. */
  private setLegacyStatus(v: number): void {
    v &= 0xff;
    if (v === 0) { this.reset(); return; }
    const was = this.status;
    this.status = v | (this.error ? STATUS_NEEDS_RESET : 0);
    if ((v & STATUS_DRIVER_OK) && !(was & STATUS_DRIVER_OK) && !this.error) this.activate();
  }
}

function pow2AtLeast(n: number, min: number): number {
  let p = min;
  while (p < n) p *= 2;
  return p;
}
