/**
 * The PC's ACPI tables (ACPI 1.0b / 2.0 layouts, ACPI spec 5.2): RSDP → RSDT
 * → FADT (→ FACS, DSDT) and MADT, for the PC's devices (src/machine/pc.ts),
 * built once in relocatable form ({@link acpiTableSet}) and installed two
 * ways: linked by the VMM where a BIOS would leave them, for a direct boot
 * ({@link acpiTables}), or handed to a firmware through fw_cfg with the
 * linker script QEMU gives SeaBIOS ({@link tableLoader}). They describe PM1a event/control
 * blocks and the 24-bit PM timer of {@link AcpiPm} at 0xB000, SCI on IRQ 9,
 * one local APIC per vCPU, the I/O APIC at 0xFEC00000 with ISA IRQ 0 on
 * GSI 2 (the interrupt source override QEMU's tables carry too), LINT1 as
 * NMI; the DSDT's namespace holds the PCI host bridge (see {@link dsdt}).
 *
 * @module
 */
import { APIC_DEFAULT_BASE } from "../devices/lapic.js";
import { IOAPIC_BASE } from "../devices/ioapic.js";
import { PM_BASE, PM1_EVT_LEN, PM1_CNT, PM1_CNT_LEN, PM_TMR, SCI_IRQ } from "../devices/acpi-pm.js";
import { PCI_IOAPIC_PIN_BASE, pirqForSlot } from "../devices/pci.js";
import { type Aml, busNumbers, device, eisaId, integer, ioPorts, ioRange, isaIrq, le32, memoryRange, name, packageOf, resourceTemplate, scope } from "./aml.js";

/** Where a direct boot puts them: the BIOS area, which the E820 maps reserve (0xF0000-0xFFFFF). */
export const ACPI_RSDP_ADDR = 0xf0000;
/** The FACS leads the table area (it must be 64-byte aligned); a direct boot's is here, after the MP table. */
export const FACS_ADDR = 0xf1000;
/** Offset of the FACS's firmware waking vector (ACPI 6.4, table 5.14). */
export const FACS_WAKING_VECTOR = 12;
/** End of a direct boot's ACPI area. */
export const ACPI_END = 0xf3000;

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
  entries.push(1, 12, 0, 0, ...le32(IOAPIC_BASE), ...le32(0)); // I/O APIC 0 at 0xFEC00000, GSI base 0
  entries.push(2, 10, 0, 0, ...le32(2), 0, 0); // ISA IRQ 0 → GSI 2, bus-conforming polarity and trigger
  entries.push(2, 10, 0, SCI_IRQ, ...le32(SCI_IRQ), 0x0d, 0); // SCI: level-triggered, active high
  entries.push(4, 6, 0xff, 0, 0, 1); // local APIC NMI: all processors, LINT1
  const body = new Uint8Array(8 + entries.length);
  const dv = new DataView(body.buffer);
  dv.setUint32(0, APIC_DEFAULT_BASE, true);
  dv.setUint32(4, 1, true); // PCAT_COMPAT: 8259As present
  body.set(entries, 8);
  return sdt("APIC", 1, body);
}

/** The FACP's FIRMWARE_CTRL and DSDT fields (offsets in the table): pointers, linked where the tables land. */
const FADT_FIRMWARE_CTRL = 36, FADT_DSDT = 40;

function fadt(): Uint8Array {
  // ACPI 1.0 FADT body (offsets below are from the table start).
  const b = new Uint8Array(116 - 36);
  const dv = new DataView(b.buffer);
  const at = (off: number) => off - 36;
  // FIRMWARE_CTRL (36) and DSDT (40): pointers, filled in by linkAcpiTables
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

/** An ISA device node: its PnP ID and the resources it decodes. */
const isaDevice = (n: string, id: string, ...resources: Aml[]): Aml => device(n, name("_HID", eisaId(id)), name("_CRS", resourceTemplate(...resources)));

/**
 * The DSDT: \_S3_ and \_S5_ (SLP_TYP 1 and 0, QEMU's values) and the PCI host bridge \_SB.PCI0 — without
 * it an OS that uses ACPI finds no PCI bus (Linux scans only the root bridges the namespace lists). Its
 * _CRS gives the ranges below the bridge: buses 0-255, the configuration ports, the I/O space around
 * them, the VGA window and the 32-bit hole from the end of RAM to the I/O APIC; its _PRT, for APIC mode,
 * each slot's INTA-D as the I/O APIC input its PIRQ line reaches (16 + PIRQ, the MP table's wiring). Below
 * it, the ISA bridge with the legacy devices QEMU's DSDT lists too (keyboard, mouse, COM1, RTC).
 */
function dsdt(ramBytes: number): Uint8Array {
  const prt: Aml[] = [];
  for (let slot = 0; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      prt.push(packageOf(integer(((slot << 16) | 0xffff) >>> 0), integer(pin), integer(0), integer(PCI_IOAPIC_PIN_BASE + pirqForSlot(slot, pin))));
    }
  }
  const pciHole = Math.max(ramBytes, 0x100000);
  const aml = [
    ...name("_S3_", packageOf(integer(1), integer(1), integer(0), integer(0))),
    ...name("_S5_", packageOf(integer(0), integer(0), integer(0), integer(0))),
    ...scope("\\_SB", device("PCI0",
      name("_HID", eisaId("PNP0A03")),
      name("_ADR", integer(0)),
      name("_UID", integer(0)),
      name("_CRS", resourceTemplate(
        busNumbers(0, 0xff),
        ioPorts(0xcf8, 8),
        ioRange(0x0000, 0x0cf7),
        ioRange(0x0d00, 0xffff),
        memoryRange(0xa0000, 0xbffff),
        ...(pciHole < IOAPIC_BASE ? [memoryRange(pciHole, IOAPIC_BASE - 1)] : []),
      )),
      name("_PRT", packageOf(...prt)),
      // The PIIX3's ISA devices (00:01.0) an OS or a firmware looks for by ID: SeaBIOS sets the keyboard up only
      // when a DSDT it parses lists one, Linux binds the UART and the RTC to these (PnP) nodes.
      device("ISA",
        name("_ADR", integer(0x00010000)),
        isaDevice("KBD", "PNP0303", ioPorts(0x60, 1), ioPorts(0x64, 1), isaIrq(1)),
        isaDevice("MOU", "PNP0F13", isaIrq(12)),
        isaDevice("COM1", "PNP0501", ioPorts(0x3f8, 8), isaIrq(4)),
        isaDevice("RTC", "PNP0B00", ioPorts(0x70, 2), isaIrq(8)),
      ),
    )),
  ];
  return sdt("DSDT", 1, Uint8Array.from(aml));
}

/** The RSDP's RsdtAddress field (ACPI 6.4, table 5.3). */
const RSDP_RSDT = 16;

/** Which of the two blobs a pointer or checksum lives in. */
export type AcpiBlob = "rsdp" | "tables";

/**
 * The PC's ACPI tables, relocatable: the RSDP (20 bytes; it must land in the BIOS area, where the OS
 * searches) and the rest in one blob — FACS first (64-byte aligned), DSDT, FADT, MADT, RSDT. Every
 * pointer field holds an offset into `tables`; `pointers` lists the fields (4 bytes each) and
 * `checksums` the checksum bytes to recompute once they are linked. That is the form QEMU hands a
 * firmware through fw_cfg (`etc/acpi/rsdp`, `etc/acpi/tables` and the linker script
 * `etc/table-loader`, see {@link tableLoader}); a direct boot links them itself ({@link acpiTables}).
 */
export interface AcpiTableSet {
  rsdp: Uint8Array;
  tables: Uint8Array;
  pointers: { blob: AcpiBlob; offset: number }[];
  checksums: { blob: AcpiBlob; offset: number; start: number; length: number }[];
}

export function acpiTableSet(cpus: number, ramBytes: number): AcpiTableSet {
  const parts = { facs: facs(), dsdt: dsdt(ramBytes), fadt: fadt(), madt: madt(cpus) };
  const at: Record<string, number> = {};
  let end = 0;
  const place = (name: string, bytes: Uint8Array) => { at[name] = end; end = (end + bytes.length + 15) & ~15; };
  for (const [name, bytes] of Object.entries(parts)) place(name, bytes);
  const rsdt = sdt("RSDT", 1, Uint8Array.from([...le32(at.fadt!), ...le32(at.madt!)]));
  place("rsdt", rsdt);
  const tables = new Uint8Array(end);
  for (const [name, bytes] of Object.entries({ ...parts, rsdt })) tables.set(bytes, at[name]!);
  const dv = new DataView(tables.buffer);
  dv.setUint32(at.fadt! + FADT_FIRMWARE_CTRL, at.facs!, true);
  dv.setUint32(at.fadt! + FADT_DSDT, at.dsdt!, true);

  const rsdp = new Uint8Array(20);
  ascii(rsdp, 0, "RSD PTR ");
  ascii(rsdp, 9, "SYMBNT");
  rsdp[15] = 0; // revision 0: ACPI 1.0, RSDT only
  new DataView(rsdp.buffer).setUint32(RSDP_RSDT, at.rsdt!, true);

  const sdtChecksum = (name: string, bytes: Uint8Array) => ({ blob: "tables" as const, offset: at[name]! + 9, start: at[name]!, length: bytes.length });
  return {
    rsdp, tables,
    pointers: [
      { blob: "rsdp", offset: RSDP_RSDT },
      { blob: "tables", offset: at.fadt! + FADT_FIRMWARE_CTRL },
      { blob: "tables", offset: at.fadt! + FADT_DSDT },
      { blob: "tables", offset: at.rsdt! + 36 },
      { blob: "tables", offset: at.rsdt! + 40 },
    ],
    checksums: [
      sdtChecksum("fadt", parts.fadt), sdtChecksum("madt", parts.madt), sdtChecksum("dsdt", parts.dsdt), sdtChecksum("rsdt", rsdt),
      { blob: "rsdp", offset: 8, start: 0, length: 20 },
    ],
  };
}

/** Link a table set at `rsdpAddr` and `tablesAddr`: each pointer field gets the tables' address added, then the checksums. */
export function linkAcpiTables(set: AcpiTableSet, rsdpAddr: number, tablesAddr: number): TableBlob[] {
  const blobs = { rsdp: set.rsdp.slice(), tables: set.tables.slice() };
  for (const p of set.pointers) {
    const dv = new DataView(blobs[p.blob].buffer);
    dv.setUint32(p.offset, dv.getUint32(p.offset, true) + tablesAddr, true);
  }
  for (const c of set.checksums) checksum(blobs[c.blob], c.offset, c.start, c.start + c.length);
  return [{ addr: rsdpAddr, bytes: blobs.rsdp }, { addr: tablesAddr, bytes: blobs.tables }];
}

/** A table set as a direct boot leaves it: the RSDP at 0xF0000, the rest from the FACS at 0xF1000. */
export function acpiTables(set: AcpiTableSet): TableBlob[] {
  const blobs = linkAcpiTables(set, ACPI_RSDP_ADDR, FACS_ADDR);
  if (FACS_ADDR + blobs[1]!.bytes.length > ACPI_END) throw new Error("ACPI tables overrun their area");
  return blobs;
}

/** fw_cfg file names of QEMU's ACPI tables and their linker script (hw/acpi/bios-linker-loader.c). */
export const ACPI_FILES = { rsdp: "etc/acpi/rsdp", tables: "etc/acpi/tables", loader: "etc/table-loader" } as const;

/** Linker-script commands (QEMU's BiosLinkerLoaderEntry.command) and allocation zones. */
const enum LoaderCommand { Allocate = 1, AddPointer = 2, AddChecksum = 3 }
const enum LoaderZone { High = 1, Fseg = 2 }
/** Each command is 128 bytes: a u32 command, then its fields; file names are 56-byte NUL-padded strings. */
const LOADER_ENTRY = 128, LOADER_NAME = 56;

/**
 * `etc/table-loader`, the script by which a firmware (SeaBIOS, OVMF) installs the tables QEMU hands it:
 * allocate the RSDP in the F segment and the tables in high memory, add the tables' address to each
 * pointer field, recompute each checksum (the firmware subtracts the range's byte sum from the
 * checksum byte, so the sum becomes zero).
 */
export function tableLoader(set: AcpiTableSet): Uint8Array {
  const entries: Uint8Array[] = [];
  const entry = (command: LoaderCommand, fill: (b: Uint8Array, dv: DataView) => void) => {
    const b = new Uint8Array(LOADER_ENTRY);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, command, true);
    fill(b, dv);
    entries.push(b);
  };
  const name = (blob: AcpiBlob) => ACPI_FILES[blob];
  entry(LoaderCommand.Allocate, (b, dv) => { ascii(b, 4, name("rsdp")); dv.setUint32(4 + LOADER_NAME, 16, true); b[8 + LOADER_NAME] = LoaderZone.Fseg; });
  entry(LoaderCommand.Allocate, (b, dv) => { ascii(b, 4, name("tables")); dv.setUint32(4 + LOADER_NAME, 64, true); b[8 + LOADER_NAME] = LoaderZone.High; });
  for (const p of set.pointers) {
    entry(LoaderCommand.AddPointer, (b, dv) => {
      ascii(b, 4, name(p.blob));                 // the file holding the pointer
      ascii(b, 4 + LOADER_NAME, name("tables")); // the file it points into
      dv.setUint32(4 + 2 * LOADER_NAME, p.offset, true);
      b[8 + 2 * LOADER_NAME] = 4;
    });
  }
  for (const c of set.checksums) {
    entry(LoaderCommand.AddChecksum, (b, dv) => {
      ascii(b, 4, name(c.blob));
      dv.setUint32(4 + LOADER_NAME, c.offset, true);
      dv.setUint32(8 + LOADER_NAME, c.start, true);
      dv.setUint32(12 + LOADER_NAME, c.length, true);
    });
  }
  const out = new Uint8Array(entries.length * LOADER_ENTRY);
  entries.forEach((e, i) => out.set(e, i * LOADER_ENTRY));
  return out;
}
