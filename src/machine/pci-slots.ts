/**
 * Plugging PCI functions into the PC, and the part of the firmware's PCI
 * set-up a directly booted kernel expects to find done (what SeaBIOS's
 * pciinit does before it loads a kernel): PIIX3 PIRQA-D routed to ISA IRQs
 * 10, 10, 11, 11 and those IRQs level-triggered in the ELCR; each new
 * function's BARs assigned (I/O from 0xC000 up, memory from 0xFE000000 up,
 * naturally aligned), I/O and memory decoding enabled, and its Interrupt
 * Line register set to the IRQ its pin reaches. Linux without a $PIR table
 * or ACPI takes the IRQ from that register.
 *
 * **Interrupt routing has one entry point:** a function's pin goes through
 * {@link PciSlots.intx}, which hands it to the chipset's router
 * (devices/pci.ts PciIntxRouter: slot/pin → PIRQ → ISA IRQ → 8259A). An
 * I/O APIC joins there as a second sink of the same router.
 *
 * @module
 */
import type { PciAddressSpaces } from "../devices/pci-bars.js";
import { type PciBus, type PciFunction, type PciIntxRouter, type Piix3IsaBridge, PCI_BAR0, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PIIX_PIRQRC, pirqForSlot } from "../devices/pci.js";
import type { PicPair } from "../devices/i8259.js";

/** SeaBIOS's PIRQ routing on the i440FX machine. */
export const PIRQ_IRQS = [10, 10, 11, 11] as const;

const IO_WINDOW = { start: 0xc000, end: 0x10000 };
/** Below the I/O APIC (0xFEC00000), the local APIC and pc-testdev. */
const MEM_WINDOW = { start: 0xfe000000, end: 0xfec00000 };
/** Slots 0 (host bridge), 1 (PIIX3) and 2 (kept for a VGA card, as QEMU's i440FX machine has it) are taken. */
const FIRST_FREE_SLOT = 3;

export class PciSlots {
  private nextIo = IO_WINDOW.start;
  private nextMem = MEM_WINDOW.start;

  constructor(
    private readonly bus: PciBus,
    private readonly router: PciIntxRouter,
    private readonly spaces: PciAddressSpaces,
  ) {}

  /** The firmware's chipset set-up: PIRQ routes and their ELCR bits. */
  static routePirqs(bridge: Piix3IsaBridge, pic: PicPair): void {
    PIRQ_IRQS.forEach((irq, n) => bridge.configWrite(PIIX_PIRQRC + n, 1, irq));
    for (const irq of new Set(PIRQ_IRQS)) pic.elcr.write(irq >> 3, 1, pic.elcr.read(irq >> 3, 1) | (1 << (irq & 7)));
  }

  /** The machine's address spaces, for functions that decode their own BARs. */
  get addressSpaces(): PciAddressSpaces {
    return this.spaces;
  }

  /** The first free slot at or after 3. Throws when the bus is full. */
  freeSlot(): number {
    for (let s = FIRST_FREE_SLOT; s < 32; s++) if (!this.bus.get(s, 0)) return s;
    throw new Error("PCI bus 0 is full (32 slots)");
  }

  /** Drive `slot`'s interrupt pin `pin` (0 = INTA#) — the one entry point for PCI INTx. */
  intx(slot: number, pin: number, level: boolean): void {
    this.router.setIntx(slot, pin, level);
  }

  /**
   * Plug `fn` in at `slot`.`func` and do the firmware's work for it:
   * BARs, decoding, Interrupt Line. Returns the slot.
   */
  add(fn: PciFunction, slot = this.freeSlot(), func = 0): number {
    this.bus.add(slot, func, fn);
    let command = 0;
    for (let i = 0; i < 6; i++) {
      const bar = fn.bar(i);
      if (!bar) continue;
      const io = bar.kind === "io";
      const window = io ? IO_WINDOW : MEM_WINDOW;
      const base = Math.ceil((io ? this.nextIo : this.nextMem) / bar.size) * bar.size;
      if (base + bar.size > window.end) throw new Error(`PCI: no room for ${fn.name}'s BAR${i} (${bar.size} bytes of ${io ? "I/O" : "memory"} space)`);
      if (io) this.nextIo = base + bar.size;
      else this.nextMem = base + bar.size;
      fn.configWrite(PCI_BAR0 + 4 * i, 4, base);
      command |= io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    const pin = fn.get(PCI_INTERRUPT_PIN, 1);
    if (pin >= 1 && pin <= 4) fn.configWrite(PCI_INTERRUPT_LINE, 1, PIRQ_IRQS[pirqForSlot(slot, pin - 1)]!);
    if (command) fn.configWrite(PCI_COMMAND, 2, fn.command | command);
    return slot;
  }
}
