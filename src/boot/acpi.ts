/**
 * ACPI tables for a direct boot (ACPI 1.0b / 2.0 layouts, ACPI spec 5.2):
 * RSDP → RSDT → FADT (→ FACS, DSDT) and MADT, built the way a BIOS leaves
 * them, for the PC's devices (src/machine/pc.ts): PM1a event/control
 * blocks and the 24-bit PM timer of {@link AcpiPm} at 0xB000, SCI on IRQ 9,
 * one local APIC per vCPU, the I/O APIC at 0xFEC00000 with ISA IRQ 0 on
 * GSI 2 (the interrupt source override QEMU's tables carry too), LINT1 as
 * NMI. The DSDT holds only \_S3_ and \_S5_ (SLP_TYP 1 and 0, QEMU's
 * values); it has no device namespace.
 *
 * @module
 */
import { APIC_DEFAULT_BASE } from "../devices/lapic.js";
import { IOAPIC_BASE } from "../devices/ioapic.js";
import { PM_BASE, PM1_EVT_LEN, PM1_CNT, PM1_CNT_LEN, PM_TMR, SCI_IRQ } from "../devices/acpi-pm.js";

/** Where the tables go: the BIOS area, which the E820 maps reserve (0xF0000-0xFFFFF). */
export const ACPI_RSDP_ADDR = 0xf0000;
export const FACS_ADDR = 0xf0040;
/** Offset of the FACS's firmware waking vector (ACPI 6.4, table 5.14). */
export const FACS_WAKING_VECTOR = 12;
const RSDT_ADDR = 0xf0080;
const FADT_ADDR = 0xf00c0;
const MADT_ADDR = 0xf0140;
const DSDT_ADDR = 0xf0240;
/** End of the ACPI area; the MP table follows (mptable.ts). */
export const ACPI_END = 0xf0300;

export interface TableBlob { addr: number; bytes: Uint8Array }

export function checksum(b: Uint8Array, at: number, from = 0, to = b.length): void {
  b[at] = 0;
  let s = 0;
  for (let i = from; i < to; i++) s += b[i]!;
  b[at] = (0x100 - (s & 0xff)) & 0xff;
}

function ascii(b: Uint8Array, at: number, s: string): void { for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i); }

/** A system description table: 36-byte header (signature, length, revision, checksum, OEM fields) then body. */
function sdt(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(36 + body.length);
  const dv = new DataView(b.buffer);
  ascii(b, 0, signature);
  dv.setUint32(4, b.length, true);
  b[8] = revision;
  ascii(b, 10, "SYMBNT");        // OEM ID (6)
  ascii(b, 16, "SYMBIONT");      // OEM table ID (8)
  dv.setUint32(24, 1, true);     // OEM revision
  ascii(b, 28, "SYMB");          // creator ID
  dv.setUint32(32, 1, true);     // creator revision
  b.set(body, 36);
  checksum(b, 9);
  return b;
}

function madt(cpus: number): Uint8Array {
  const entries: number[] = [];
  for (let i = 0; i < cpus; i++) entries.push(0, 8, i, i, 1, 0, 0, 0); // processor local APIC: UID i, APIC ID i, enabled
  entries.push(1, 12, 0, 0, ...u32(IOAPIC_BASE), ...u32(0)); // I/O APIC 0 at 0xFEC00000, GSI base 0
  entries.push(2, 10, 0, 0, ...u32(2), 0, 0); // ISA IRQ 0 → GSI 2, bus-conforming polarity and trigger
  entries.push(2, 10, 0, SCI_IRQ, ...u32(SCI_IRQ), 0x0d, 0); // SCI: level-triggered, active high
  entries.push(4, 6, 0xff, 0, 0, 1); // local APIC NMI: all processors, LINT1
  const body = new Uint8Array(8 + entries.length);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, APIC_DEFAULT_BASE, true);
  dv.setUint32(4, 1, true); // PCAT_COMPAT: 8259As present
  body.set(entries, 8);
  return sdt("APIC", 1, body);
}

function u32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }

function fadt(): Uint8Array {
  // ACPI 1.0 FADT body (offsets below are from the table start).
  const b = new Uint8Array(116 - 36);
  const dv = new DataView(b.buffer);
  const at = (off: number) => off - 36;
  dv.setUint32(at(36), FACS_ADDR, true);
  dv.setUint32(at(40), DSDT_ADDR, true);
  b[at(45)] = 0;                                // preferred PM profile: unspecified
  dv.setUint16(at(46), SCI_IRQ, true);
  dv.setUint32(at(48), 0, true);                // SMI_CMD 0: ACPI is always enabled (SCI_EN reads 1)
  dv.setUint32(at(56), PM_BASE, true);          // PM1a_EVT_BLK
  dv.setUint32(at(64), PM_BASE + PM1_CNT, true); // PM1a_CNT_BLK
  dv.setUint32(at(76), PM_BASE + PM_TMR, true);  // PM_TMR_BLK
  b[at(88)] = PM1_EVT_LEN;
  b[at(89)] = PM1_CNT_LEN;
  b[at(91)] = 4;                                 // PM_TMR_LEN
  dv.setUint16(at(96), 0xfff, true);             // P_LVL2_LAT > 100: no C2
  dv.setUint16(at(98), 0xfff, true);             // P_LVL3_LAT > 1000: no C3
  dv.setUint16(at(109), 0, true);                // IAPC_BOOT_ARCH (ACPI 2.0; 0 in 1.0)
  dv.setUint32(at(112), (1 << 0) | (1 << 4) | (1 << 5), true); // WBINVD, power and sleep buttons absent (control methods: none)
  return sdt("FACP", 1, b);
}

function facs(): Uint8Array {
  const b = new Uint8Array(64);
  const dv = new DataView(b.buffer);
  ascii(b, 0, "FACS");
  dv.setUint32(4, 64, true);
  // hardware signature 0, firmware waking vector 0 (the guest writes it), global lock 0, flags 0
  return b;
}

function dsdt(): Uint8Array {
  // Name (_S3_, Package (4) {1, 1, 0, 0}); Name (_S5_, Package (4) {0, 0, 0, 0})
  const aml = [0x08, 0x5f, 0x53, 0x33, 0x5f, 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00,
    0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
  return sdt("DSDT", 1, Uint8Array.from(aml));
}

/** The ACPI tables for `cpus` vCPUs, each with its guest-physical address. */
export function acpiTables(cpus: number): TableBlob[] {
  const rsdt = sdt("RSDT", 1, Uint8Array.from([...u32(FADT_ADDR), ...u32(MADT_ADDR)]));
  const rsdp = new Uint8Array(20);
  ascii(rsdp, 0, "RSD PTR ");
  ascii(rsdp, 9, "SYMBNT");
  rsdp[15] = 0; // revision 0: ACPI 1.0, RSDT only
  new DataView(rsdp.buffer).setUint32(16, RSDT_ADDR, true);
  checksum(rsdp, 8);
  const blobs = [
    { addr: ACPI_RSDP_ADDR, bytes: rsdp },
    { addr: FACS_ADDR, bytes: facs() },
    { addr: RSDT_ADDR, bytes: rsdt },
    { addr: FADT_ADDR, bytes: fadt() },
    { addr: MADT_ADDR, bytes: madt(cpus) },
    { addr: DSDT_ADDR, bytes: dsdt() },
  ];
  for (let i = 0; i + 1 < blobs.length; i++) {
    if (blobs[i]!.addr + blobs[i]!.bytes.length > blobs[i + 1]!.addr) throw new Error(`ACPI table at 0x${blobs[i]!.addr.toString(16)} overruns the next one`);
  }
  const last = blobs[blobs.length - 1]!;
  if (last.addr + last.bytes.length > ACPI_END) throw new Error("ACPI tables overrun their area");
  return blobs;
}
