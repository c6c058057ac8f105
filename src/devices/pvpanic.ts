/**
 * QEMU's pvpanic PCI device (docs/specs/pvpanic.rst; Linux's pvpanic-pci
 * driver, a module in Debian's kernel): PCI 1B36:0011, class "other system
 * peripheral", one memory BAR whose first byte reads the events the device
 * supports (bit 0 PANICKED, bit 1 CRASH_LOADED) and takes the event the
 * guest reports. A guest kernel that panics writes PANICKED: the VMM stops
 * the run at once instead of leaving a dead guest spinning until a timeout.
 *
 * @module
 */
import type { AccessSize, MmioDevice } from "../vmm/bus.js";
import { PciFunction } from "./pci.js";
import { BarDecoder, type PciAddressSpaces } from "./pci-bars.js";

export const PVPANIC_PANICKED = 1;
export const PVPANIC_CRASH_LOADED = 2;

export class PvPanic implements MmioDevice {
  readonly name = "pvpanic";
  readonly pci: PciFunction;
  private bars: BarDecoder | null = null;
  /** Events the guest has reported (OR of PVPANIC_*). */
  events = 0;

  constructor(private readonly onEvent: (event: number) => void) {
    this.pci = new PciFunction({
      name: "pvpanic-pci",
      vendorId: 0x1b36,
      deviceId: 0x0011,
      classCode: 0x088000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      bars: [{ kind: "mem32", size: 16 }],
      onRemap: () => this.bars?.remap(),
    });
  }

  attach(spaces: PciAddressSpaces): void {
    this.bars = new BarDecoder(() => this.pci, spaces, [this]);
    this.bars.remap();
  }

  read(offset: number, _size: AccessSize): number {
    return offset === 0 ? PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0;
  }

  write(offset: number, _size: AccessSize, value: number): void {
    const ev = value & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
    if (offset !== 0 || ev === 0) return;
    this.events |= ev;
    this.onEvent(ev);
  }
}
