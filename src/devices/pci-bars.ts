/**
 * Decoding a PCI function's base address registers on the machine's buses:
 * whenever the guest (or the firmware) moves a BAR or flips the command
 * register's I/O / memory enables, the function's register blocks are
 * unmapped and mapped again where the BARs now say — the way a PCI device
 * claims cycles. Devices hand one bus device per BAR and never see their
 * base address.
 *
 * @module
 */
import type { MmioDevice, PortDevice } from "../vmm/bus.js";
import type { PciFunction } from "./pci.js";

/** The machine's I/O and memory address spaces as a PCI function's BARs need them. */
export interface PciAddressSpaces {
  mapPorts(base: number, length: number, dev: PortDevice): void;
  unmapPorts(dev: PortDevice): void;
  mapMmio(base: number, length: number, dev: MmioDevice): void;
  unmapMmio(dev: MmioDevice): void;
}

/** Keeps a function's BARs decoded: call {@link remap} from its onRemap. */
export class BarDecoder {
  private mapped: { kind: "io" | "mem32"; dev: PortDevice | MmioDevice }[] = [];

  constructor(
    private readonly fn: () => PciFunction,
    private readonly spaces: PciAddressSpaces,
    /** The device behind each BAR (index = BAR number). */
    private readonly handlers: readonly (PortDevice | MmioDevice | undefined)[],
  ) {}

  remap(): void {
    for (const m of this.mapped) {
      if (m.kind === "io") this.spaces.unmapPorts(m.dev);
      else this.spaces.unmapMmio(m.dev);
    }
    this.mapped = [];
    const fn = this.fn();
    this.handlers.forEach((dev, i) => {
      const bar = fn.bar(i);
      const base = fn.barAddress(i);
      if (!dev || !bar || base === null) return;
      // A BAR the guest moved past the top of its space (while sizing) decodes nothing.
      if (bar.kind === "io" ? base + bar.size > 0x10000 : base + bar.size > 0x100000000) return;
      try {
        if (bar.kind === "io") this.spaces.mapPorts(base, bar.size, dev);
        else this.spaces.mapMmio(base, bar.size, dev);
        this.mapped.push({ kind: bar.kind, dev });
      } catch {
        // Overlapping another device's range: on a real bus both would answer; here the first keeps it.
      }
    });
  }
}
