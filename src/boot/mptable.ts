/**
 * The Intel MultiProcessor Specification 1.4 tables (chapter 4): the
 * floating pointer structure and the configuration table, as a BIOS leaves
 * them, for the PC of src/machine/pc.ts: one processor entry per vCPU
 * (APIC IDs 0..n-1, the first the BSP), buses PCI 0 and ISA 1, the I/O APIC
 * (ID = n, the number after the last local APIC, as SeaBIOS does) at
 * 0xFEC00000, ISA IRQs 0-15 on its pins (IRQ 0 on pin 2, IRQ 2 — the
 * cascade — not wired), every PCI slot's INTA#-INTD# on pins 16-19 through
 * the PIIX3's PIRQ rotation (level-triggered, active low), ExtINT on LINT0
 * and NMI on LINT1.
 *
 * @module
 */
import { APIC_DEFAULT_BASE } from "../devices/lapic.js";
import { IOAPIC_BASE } from "../devices/ioapic.js";
import { PCI_IOAPIC_PIN_BASE, pirqForSlot } from "../devices/pci.js";
import { checksum, type TableBlob } from "./acpi.js";

/** Where the floating pointer goes (16-byte aligned in 0xF0000-0xFFFFF, which Linux and others scan). */
export const MP_FLOATING_ADDR = 0xf0020;
/** Where the configuration table goes (between the RSDP and a direct boot's ACPI tables). */
export const MP_CONFIG_ADDR = 0xf0300;

const CPU_SIGNATURE = 0x0633; // CPUID.1:EAX
const CPU_FEATURES = 0x0000a379; // CPUID.1:EDX as the core reports it with an APIC (FPU PSE TSC MSR PAE CX8 APIC SEP PGE CMOV)

export function mpTable(cpus: number): TableBlob[] {
  const ioapicId = cpus;
  const entries: number[][] = [];
  for (let i = 0; i < cpus; i++) {
    entries.push([0, i, 0x14, i === 0 ? 3 : 1, ...u32(CPU_SIGNATURE), ...u32(CPU_FEATURES), 0, 0, 0, 0, 0, 0, 0, 0]);
  }
  entries.push([1, 0, ...ascii("PCI   ")]);
  entries.push([1, 1, ...ascii("ISA   ")]);
  entries.push([2, ioapicId, 0x11, 1, ...u32(IOAPIC_BASE)]);
  // I/O interrupt entries: [3, type, flags lo, flags hi, source bus, source IRQ, dest I/O APIC, dest pin]
  entries.push([3, 3, 0, 0, 1, 0, ioapicId, 0]); // ExtINT from the 8259A on pin 0
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    entries.push([3, 0, 0, 0, 1, irq, ioapicId, irq === 0 ? 2 : irq]);
  }
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      // PCI source IRQ: device number in bits 6:2, pin (0 = INTA#) in bits 1:0. Flags: active low (3), level (3 << 2).
      entries.push([3, 0, 0x0f, 0, 0, (slot << 2) | pin, ioapicId, PCI_IOAPIC_PIN_BASE + pirqForSlot(slot, pin)]);
    }
  }
  // Local interrupt entries: ExtINT on LINT0, NMI on LINT1, for all local APICs.
  entries.push([4, 3, 0, 0, 1, 0, 0xff, 0]);
  entries.push([4, 1, 0, 0, 1, 0, 0xff, 1]);

  const body = entries.flat();
  const table = new Uint8Array(44 + body.length);
  const dv = new DataView(table.buffer);
  table.set(ascii("PCMP"), 0);
  dv.setUint16(4, table.length, true);
  table[6] = 4; // spec revision 1.4
  table.set(ascii("SYMBIONT"), 8);      // OEM ID (8)
  table.set(ascii("PC          "), 16); // product ID (12)
  dv.setUint16(34, entries.length, true);
  dv.setUint32(36, APIC_DEFAULT_BASE, true);
  table.set(body, 44);
  checksum(table, 7);

  const floating = new Uint8Array(16);
  floating.set(ascii("_MP_"), 0);
  new DataView(floating.buffer).setUint32(4, MP_CONFIG_ADDR, true);
  floating[8] = 1; // length in 16-byte units
  floating[9] = 4; // revision 1.4
  // feature byte 1 = 0: a configuration table is present; byte 2 bit 7 = 0: virtual-wire mode (no IMCR)
  checksum(floating, 10);
  return [{ addr: MP_FLOATING_ADDR, bytes: floating }, { addr: MP_CONFIG_ADDR, bytes: table }];
}

function ascii(s: string): number[] { return Array.from(s, (c) => c.charCodeAt(0)); }
function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }
