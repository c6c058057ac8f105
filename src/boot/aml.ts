/**
 * Just enough of the ACPI Machine Language encoder (ACPI 6.4, chapter 20) for
 * a static DSDT: names, scopes, devices, integers, packages and buffers, and
 * the resource descriptors of a PCI host bridge's _CRS (6.4). Every function
 * returns the encoded bytes of one term; nothing is evaluated.
 *
 * @module
 */

export type Aml = number[];

/** PkgLength (20.2.4): the length of what follows *including* these bytes; 1 byte below 64, else 2-4 bytes. */
function pkgLength(body: number): Aml {
  for (let extra = 0; extra <= 3; extra++) {
    const total = body + 1 + extra;
    if (extra === 0 && total < 0x40) return [total];
    if (extra > 0 && total < 1 << (4 + 8 * extra)) {
      const out = [(extra << 6) | (total & 0x0f)];
      for (let i = 0; i < extra; i++) out.push((total >>> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error(`AML package too long (${body} bytes)`);
}

/** A NameString: a 4-character NameSeg (padded with "_"), or several joined by ".", with "\\" for the root. */
export function nameString(path: string): Aml {
  const root = path.startsWith("\\");
  const segs = (root ? path.slice(1) : path).split(".").filter(Boolean).map((s) => {
    if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(s)) throw new Error(`bad AML name segment "${s}"`);
    return [...s.padEnd(4, "_")].map((c) => c.charCodeAt(0));
  });
  const prefix = root ? [0x5c] : [];
  if (segs.length === 1) return [...prefix, ...segs[0]!];
  if (segs.length === 2) return [...prefix, 0x2e, ...segs[0]!, ...segs[1]!]; // DualNamePrefix
  return [...prefix, 0x2f, segs.length, ...segs.flat()]; // MultiNamePrefix
}

/** An Integer as the smallest constant that holds it (ZeroOp, OneOp, Byte/Word/DWordConst). */
export function integer(v: number): Aml {
  if (v === 0) return [0x00];
  if (v === 1) return [0x01];
  if (v <= 0xff) return [0x0a, v];
  if (v <= 0xffff) return [0x0b, v & 0xff, v >>> 8];
  return [0x0c, ...le32(v)];
}

/** EisaId("PNP0A03"): the compressed EISA ID as a DWordConst. */
export function eisaId(id: string): Aml {
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const h = (i: number) => parseInt(id[i]!, 16);
  const vendor = (c(0) << 10) | (c(1) << 5) | c(2);
  const product = (h(3) << 12) | (h(4) << 8) | (h(5) << 4) | h(6);
  // Each 16-bit half is stored big-endian (the DWord reads 0x030AD041 for PNP0A03).
  return [0x0c, vendor >>> 8, vendor & 0xff, product >>> 8, product & 0xff];
}

export const name = (n: string, value: Aml): Aml => [0x08, ...nameString(n), ...value];
export const scope = (n: string, ...terms: Aml[]): Aml => { const body = [...nameString(n), ...terms.flat()]; return [0x10, ...pkgLength(body.length), ...body]; };
export const device = (n: string, ...terms: Aml[]): Aml => { const body = [...nameString(n), ...terms.flat()]; return [0x5b, 0x82, ...pkgLength(body.length), ...body]; };
export const packageOf = (...elements: Aml[]): Aml => { const body = [elements.length, ...elements.flat()]; return [0x12, ...pkgLength(body.length), ...body]; };
export const buffer = (bytes: Aml): Aml => { const body = [...integer(bytes.length), ...bytes]; return [0x11, ...pkgLength(body.length), ...body]; };

/** Little-endian bytes of a 16- or 32-bit value (AML's constants and descriptors; the ACPI tables' fields too). */
export function le16(v: number): Aml { return [v & 0xff, (v >>> 8) & 0xff]; }
export function le32(v: number): Aml { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }

// Resource descriptors (6.4). A bridge *produces* the ranges below it: general flags MinFixed | MaxFixed (0x0C).
const PRODUCER_FIXED = 0x0c;
/** Word Address Space Descriptor (6.4.3.5.3): bus numbers (type 2) or I/O (type 1, EntireRange). */
function wordAddress(type: 1 | 2, min: number, max: number): Aml {
  return [0x88, ...le16(0x0d), type, PRODUCER_FIXED, type === 1 ? 0x03 : 0x00, ...le16(0), ...le16(min), ...le16(max), ...le16(0), ...le16(max - min + 1)];
}
export const busNumbers = (min: number, max: number): Aml => wordAddress(2, min, max);
export const ioRange = (min: number, max: number): Aml => wordAddress(1, min, max);
/** DWord Address Space Descriptor (6.4.3.5.2) for memory: cacheable, read-write. */
export function memoryRange(min: number, max: number): Aml {
  return [0x87, ...le16(0x17), 0, PRODUCER_FIXED, 0x03, ...le32(0), ...le32(min), ...le32(max), ...le32(0), ...le32(max - min + 1)];
}
/** I/O Port Descriptor (6.4.2.5): a fixed 16-bit-decoded range the device itself uses. */
export const ioPorts = (base: number, length: number): Aml => [0x47, 0x01, ...le16(base), ...le16(base), 0x01, length];
/** IRQ Descriptor (6.4.2.1), the 2-byte form: one ISA IRQ, edge-triggered, active high (ASL's IRQNoFlags). */
export const isaIrq = (irq: number): Aml => [0x22, (1 << irq) & 0xff, (1 << irq) >>> 8];
/** A resource template: the descriptors and an End Tag (checksum 0: "treated as valid", 6.4.2.9), as a Buffer. */
export const resourceTemplate = (...descriptors: Aml[]): Aml => buffer([...descriptors.flat(), 0x79, 0x00]);
