/**
 * Flat binary loader: copy raw bytes to one physical address and start
 * there. For test kernels that are not worth an ELF/Multiboot header.
 *
 * The guest starts in 32-bit protected mode with flat segments, paging and
 * interrupts off (the same machine state as Multiboot), at the load address.
 * EAX and EBX are 0: there is no boot information to pass.
 *
 * @module
 */
import type { BootEntry, GuestPhysicalMemory } from "./types.js";

export type { BootEntry, GuestPhysicalMemory } from "./types.js";

/** Load `image` at `loadAddress` (default 1 MiB, above the legacy hole) and return its entry state. */
export function loadFlat(image: Uint8Array, mem: GuestPhysicalMemory, loadAddress = 0x100000): BootEntry {
  if (!Number.isInteger(loadAddress) || loadAddress < 0) {
    throw new Error(`invalid flat load address ${loadAddress}`);
  }
  if (image.length === 0) throw new Error("flat image is empty");
  const end = loadAddress + image.length;
  if (end > mem.size) {
    throw new Error(
      `flat image (0x${loadAddress.toString(16)}-0x${(end - 1).toString(16)}) does not fit in guest RAM (${mem.size} bytes)`,
    );
  }
  mem.write(loadAddress, image);
  return { eip: loadAddress >>> 0, eax: 0, ebx: 0 };
}
