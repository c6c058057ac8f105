/**
 * The monitor's `info pci`: every function on bus 0 as QEMU's `info pci` lays it out — location, class and IDs,
 * subsystem, interrupt line and pin, each BAR's decoded range — read from the configuration spaces as the guest left
 * them (so it shows what the guest's PCI code assigned and enabled), plus the MSI-X state a virtio driver set up.
 *
 * @module
 */
import { PciFunction, type PciBus, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from "./pci.js";

/** Base class and subclass names (PCI Code and ID Assignment Specification 1.x, appendix D) for the classes we model. */
const CLASS_NAMES: Record<number, string> = {
  0x0000: "Non-VGA unclassified device", 0x00ff: "Unclassified device",
  0x0100: "SCSI storage controller", 0x0101: "IDE interface", 0x0180: "Mass storage controller",
  0x0200: "Ethernet controller", 0x0280: "Network controller",
  0x0300: "VGA compatible controller", 0x0380: "Display controller",
  0x0600: "Host bridge", 0x0601: "ISA bridge", 0x0680: "Bridge",
  0x0700: "Serial controller", 0x0780: "Communication controller",
  0x0880: "System peripheral",
};

const PCI_STATUS_CAP_LIST = 0x10;
const PCI_CAPABILITY_LIST = 0x34;
const PCI_CAP_ID_MSIX = 0x11;

const hex = (n: number, w: number) => (n >>> 0).toString(16).padStart(w, "0");

/** `info pci`'s text for `bus`. */
export function describePci(bus: PciBus): string {
  const out: string[] = [];
  for (const { slot, fn, dev } of bus.list()) {
    const cfg = (offset: number, size: 1 | 2 | 4) => dev.configRead(offset, size);
    const cls = cfg(0x0a, 2);
    out.push(`  Bus  0, device ${String(slot).padStart(3)}, function ${fn}:`);
    out.push(`    ${CLASS_NAMES[cls] ?? `Class ${hex(cls, 4)}`}: PCI device ${hex(cfg(0x00, 2), 4)}:${hex(cfg(0x02, 2), 4)}`);
    const subVendor = cfg(0x2c, 2), sub = cfg(0x2e, 2);
    if (subVendor !== 0 || sub !== 0) out.push(`      PCI subsystem ${hex(subVendor, 4)}:${hex(sub, 4)}`);
    const pin = cfg(0x3d, 1);
    if (pin >= 1 && pin <= 4) out.push(`      IRQ ${cfg(0x3c, 1)}, pin ${String.fromCharCode(0x40 + pin)}`);
    if (dev instanceof PciFunction) {
      const command = dev.command;
      for (let i = 0; i < 6; i++) {
        const bar = dev.bar(i);
        if (!bar) continue;
        const base = dev.barAddress(i);
        const what = bar.kind === "io" ? "I/O" : `32 bit${bar.prefetchable ? " prefetchable" : ""} memory`;
        const enabled = (command & (bar.kind === "io" ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) !== 0;
        const w = bar.kind === "io" ? 4 : 8;
        out.push(base === null
          ? `      BAR${i}: ${what}, ${bar.size} bytes, not mapped (${enabled ? "no address assigned" : `${bar.kind === "io" ? "I/O" : "memory"} decoding off`}).`
          : `      BAR${i}: ${what} at 0x${hex(base, w)} [0x${hex(base + bar.size - 1, w)}].`);
      }
    }
    const msix = findCapability(cfg, PCI_CAP_ID_MSIX);
    if (msix !== null) {
      const control = cfg(msix + 2, 2);
      out.push(`      MSI-X: ${(control & 0x7ff) + 1} vectors, ${control & 0x8000 ? "enabled" : "disabled"}${control & 0x4000 ? ", function masked" : ""}`);
    }
    out.push(`      id "${dev.name}"`);
  }
  return out.join("\n");
}

/** The offset of the first capability with `id` in the function's list, or null (PCI 3.0 §6.7). */
function findCapability(cfg: (offset: number, size: 1 | 2 | 4) => number, id: number): number | null {
  if ((cfg(0x06, 2) & PCI_STATUS_CAP_LIST) === 0) return null;
  let at = cfg(PCI_CAPABILITY_LIST, 1) & 0xfc;
  for (let hops = 0; at >= 0x40 && hops < 48; hops++) {
    if (cfg(at, 1) === id) return at;
    at = cfg(at + 1, 1) & 0xfc;
  }
  return null;
}
