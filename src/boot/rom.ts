/**
 * Placement of a PC BIOS image (e.g. SeaBIOS). The CPU resets at
 * 0xFFFFFFF0, so the whole image is mapped to end at 4 GiB; real-mode BIOS
 * code runs from the copy that ends at 1 MiB. This module only validates the
 * image and computes the addresses; the core does the mapping.
 *
 * @module
 */

/** Where a BIOS image goes in the guest-physical address space. */
export interface RomPlan {
  /** The whole image. */
  data: Uint8Array;
  /** 1 MiB - size: where the whole image would start if mapped to end at 1 MiB. */
  base: number;
  /** 4 GiB - size: the high alias, containing the reset vector. */
  highBase: number;
  /**
   * The part QEMU maps below 1 MiB (its "isa-bios" alias): the last
   * min(size, 128 KiB) bytes of the image. Mapping all of a 256 KiB image
   * below 1 MiB would cover 0xC0000-0xDFFFF, where SeaBIOS expects RAM for
   * option ROMs; a machine that wants QEMU's layout maps this instead.
   */
  lowData: Uint8Array;
  /** 1 MiB - lowData.length. */
  lowBase: number;
}

const KIB64 = 0x10000;
const MIB = 0x100000;
const ISA_BIOS_MAX = 0x20000;

/**
 * Validate a BIOS image and compute its placement. The size must be a
 * non-zero multiple of 64 KiB and at most 1 MiB, the granularity and limit
 * of the legacy BIOS window.
 */
export function planRom(image: Uint8Array): RomPlan {
  const size = image.length;
  if (size === 0 || size % KIB64 !== 0) {
    throw new Error(`BIOS image size ${size} bytes is not a non-zero multiple of 64 KiB`);
  }
  if (size > MIB) throw new Error(`BIOS image size ${size} bytes exceeds 1 MiB`);
  const lowSize = Math.min(size, ISA_BIOS_MAX);
  return {
    data: image,
    base: MIB - size,
    highBase: 0x100000000 - size,
    lowData: image.subarray(size - lowSize),
    lowBase: MIB - lowSize,
  };
}
