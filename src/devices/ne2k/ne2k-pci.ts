/**
 * An NE2000 PCI card with a Realtek RTL8029AS — what Debian's `ne2k-pci` and
 * `8390` modules drive (PCI 10ec:8029). The card decodes 32 I/O ports behind
 * BAR0:
 *
 * | offset    | what                                                        |
 * |-----------|-------------------------------------------------------------|
 * | 0x00-0x0F | the DP8390's registers (page selected by CR bits 7-6)       |
 * | 0x10-0x17 | the data port: remote DMA transfers (8/16/32-bit accesses)  |
 * | 0x18-0x1F | the reset port: a read resets the chip, a write is ignored   |
 *
 * and raises INTA#. {@link Ne2000Ports} is that port decoding over a chip,
 * {@link ne2kPciFunction} the configuration space, {@link Ne2kPci} the
 * emulated card (VPIO's card is in src/vpio/ne2k-vpio.ts).
 *
 * @module
 */
import { readBytewise, type AccessSize, type PortDevice } from "../../vmm/bus.js";
import { PciFunction } from "../pci.js";
import { BarDecoder, type PciAddressSpaces } from "../pci-bars.js";
import { Dp8390, type TransmitClock } from "./dp8390.js";
import { formatMac, type Mac } from "../../net/ethernet.js";
import type { NicLink } from "../../net/link.js";
import type { State } from "../../vmm/snapshot.js";

export const NE2K_PORTS = 32;
export const NE2K_DATA_PORT = 0x10;
export const NE2K_RESET_PORT = 0x1f;
export const RTL8029_VENDOR = 0x10ec;
export const RTL8029_DEVICE = 0x8029;

/** The card's 32 ports over a DP8390. */
export class Ne2000Ports implements PortDevice {
  readonly name = "ne2k-pci";
  constructor(readonly chip: Dp8390) {}

  read(offset: number, size: AccessSize): number {
    if (offset >= NE2K_DATA_PORT && offset < 0x18) return this.chip.dataRead(size);
    if (offset >= 0x18) { this.chip.hardReset(); return 0; }
    return readBytewise((o) => this.chip.readReg(o & 0x0f), offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset >= NE2K_DATA_PORT && offset < 0x18) { this.chip.dataWrite(size, value); return; }
    if (offset >= 0x18) return; // the end of the reset pulse: nothing to do
    for (let i = 0; i < size; i++) this.chip.writeReg((offset + i) & 0x0f, (value >>> (8 * i)) & 0xff);
  }
}

/** The RTL8029AS's configuration space: Ethernet controller, BAR0 32 I/O ports, INTA#. */
export function ne2kPciFunction(onRemap: () => void): PciFunction {
  return new PciFunction({
    name: "ne2k-pci",
    vendorId: RTL8029_VENDOR,
    deviceId: RTL8029_DEVICE,
    subsystemVendorId: RTL8029_VENDOR,
    subsystemId: RTL8029_DEVICE,
    classCode: 0x020000,
    interruptPin: 1,
    bars: [{ kind: "io", size: NE2K_PORTS }],
    onRemap,
  });
}

/**
 * The emulated card: a chip, its ports on BAR0 — every access exits to the
 * VMM (the baseline VPIO and virtio-net are compared with) — and its cable.
 */
export class Ne2kPci {
  readonly chip: Dp8390;
  readonly ports: Ne2000Ports;
  readonly pci: PciFunction;
  /** Drive INTA# (the machine sets it when plugging the card in). */
  setIntx: (level: boolean) => void = () => {};
  /** The card and its station address, as a snapshot's machine must have it (Pc.addNetworkCard). */
  readonly identity: string;
  private decoder: BarDecoder | null = null;
  /** Its cable (a recorded history logs what comes in on it). */
  readonly link: NicLink;

  constructor(opts: { mac: Mac; link: NicLink; clock?: TransmitClock }) {
    this.link = opts.link;
    this.identity = `ne2k-pci ${formatMac(opts.mac)}`;
    this.chip = new Dp8390({
      mac: opts.mac,
      clock: opts.clock,
      transmit: (f) => opts.link.transmit(f),
      setIrq: (level) => this.setIntx(level),
      onReceiveReady: () => opts.link.ready(),
    });
    opts.link.attachNic(this.chip);
    this.ports = new Ne2000Ports(this.chip);
    this.pci = ne2kPciFunction(() => this.decoder?.remap());
  }

  /** The chip for a machine snapshot (the configuration space is the PCI bus's part). */
  save(): State { return this.chip.save(); }

  /** Take back save()'s state; frames that waited for the card as it was are dropped. */
  restore(state: State): void {
    this.chip.restore(state);
    this.link.discardQueued();
  }

  /** Decode BAR0 in the machine's port space from now on. */
  attach(spaces: PciAddressSpaces): void {
    this.decoder = new BarDecoder(() => this.pci, spaces, [this.ports]);
    this.decoder.remap();
  }
}
