/**
 * Types shared by the boot loaders. Loaders only write guest-physical
 * memory and report the register state to enter with, so they work on any
 * engine and never touch the CPU core directly.
 *
 * @module
 */

/** The guest's RAM as a loader sees it: a size, and a way to copy bytes in. */
export interface GuestPhysicalMemory {
  /** Bytes of RAM starting at physical address 0. */
  readonly size: number;
  /** Copy `data` to guest-physical address `gpa` (the range lies inside RAM). */
  write(gpa: number, data: Uint8Array): void;
}

/**
 * Where and how to start the guest: 32-bit protected mode with flat 4 GiB
 * code/data segments, paging and interrupts off (the Multiboot machine
 * state), with these three registers set.
 */
export interface BootEntry {
  eip: number;
  eax: number;
  ebx: number;
}

/** Encode a string as UTF-8 followed by a NUL, for C strings in guest memory. */
export function cString(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  out.push(0);
  return Uint8Array.from(out);
}
