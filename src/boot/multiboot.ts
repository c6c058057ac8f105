/**
 * Multiboot (v0.6.96) loader that lays out memory the way QEMU's `-kernel`
 * does (hw/i386/multiboot.c plus its multiboot.bin option ROM), so a test
 * kernel sees the same boot information here as under QEMU, the project's
 * oracle:
 *
 * - The header is the first 4-byte-aligned magic 0x1BADB002 whose checksum
 *   is valid, wholly inside the first 8192 bytes (QEMU stops its search 48
 *   bytes earlier; the spec only requires the header to fit).
 * - Flags bit 16 (a.out kludge) loads file bytes per header_addr/load_addr/
 *   load_end_addr/bss_end_addr with QEMU's validity checks; otherwise the
 *   image must be an ELF32 i386 executable, loaded by physical address, with
 *   QEMU's entry-point adjustment when an executable segment's p_vaddr and
 *   p_paddr differ.
 * - Required flags (bits 0-15): bits 0 (page-aligned modules), 1 (memory
 *   info) and 2 (video mode) are understood; bit 2 is accepted and ignored,
 *   as QEMU does (no framebuffer info is provided). Any other required bit
 *   fails the load, as the spec demands.
 * - The info structure is at 0x9500 and the memory map at 0x9000 (QEMU's
 *   addresses), written before the kernel: a kernel loaded over them wins, as
 *   under QEMU, whose option ROM copies the image last. Info flags are MEM,
 *   BOOT_DEVICE, CMDLINE, MODS, MMAP and
 *   LOADER_NAME (0x24F), boot_device is 0x8000FFFF.
 * - After the kernel, at the next page boundary: the module list (16 bytes
 *   each), then the module command lines, the kernel command line and the
 *   boot loader name; then each module at its own page boundary.
 * - mem_lower is 639 and the map reserves 0x9FC00-0xA0000: QEMU computes
 *   mem_lower with INT 12h, which under SeaBIOS reports 639 KiB because the
 *   EBDA occupies the top 1 KiB. mem_upper is (RAM - 1 MiB) / 1024.
 *
 * @module
 */
import { parseElf32, PF_X } from "./elf.js";
import { type BootEntry, type GuestPhysicalMemory, cString } from "./types.js";

export type { BootEntry, GuestPhysicalMemory } from "./types.js";

/** One boot module (e.g. an initrd): its bytes and the string the kernel sees for it. */
export interface MultibootModule {
  data: Uint8Array;
  cmdline: string;
}

/** Options for {@link loadMultiboot}. */
export interface MultibootOptions {
  /**
   * The kernel command line. Stored verbatim unless `kernelPath` is given;
   * QEMU stores "<kernel path> <append>" — see {@link qemuCommandLine}.
   */
  cmdline: string;
  /** Modules, placed page-aligned after the kernel in this order. */
  modules?: MultibootModule[];
  /** If set, the command line becomes `${kernelPath} ${cmdline}` as under QEMU. */
  kernelPath?: string;
  /** boot_loader_name; default "symbiont". */
  bootLoaderName?: string;
}

/** Magic a kernel puts in its Multiboot header. */
export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** Magic the loader leaves in EAX. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** Guest-physical address of the multiboot_info structure (QEMU's ADDR_MBI). */
export const MULTIBOOT_INFO_ADDR = 0x9500;
/** Guest-physical address of the memory map (QEMU's ADDR_E820_MAP). */
export const MULTIBOOT_MMAP_ADDR = 0x9000;
/** Size of the multiboot_info structure written (through vbe_interface_len). */
export const MULTIBOOT_INFO_SIZE = 88;

/** Info flags QEMU sets: MEM | BOOT_DEVICE | CMDLINE | MODS | MMAP | LOADER_NAME. */
export const MULTIBOOT_INFO_FLAGS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9);

const SEARCH_LIMIT = 8192;
const PAGE = 4096;
const FLAG_AOUT_KLUDGE = 1 << 16;
const KNOWN_REQUIRED_FLAGS = 0x7;
const MMAP_ENTRY_SIZE = 24; // 4-byte size field + 20-byte entry
const LOW_MEM_END = 0x9fc00;
const MIB = 0x100000;

/** A Multiboot header found in an image. */
export interface MultibootHeader {
  /** File offset of the magic. */
  offset: number;
  flags: number;
  /** Address fields, present when flags bit 16 is set. */
  aout?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
}

type Search = { header: MultibootHeader } | { error: string };

function searchHeader(image: Uint8Array): Search {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, SEARCH_LIMIT);
  let badChecksumAt = -1;
  for (let i = 0; i + 12 <= limit; i += 4) {
    if (dv.getUint32(i, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(i + 4, true);
    const checksum = dv.getUint32(i + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      if (badChecksumAt < 0) badChecksumAt = i;
      continue;
    }
    const header: MultibootHeader = { offset: i, flags };
    if (flags & FLAG_AOUT_KLUDGE) {
      if (i + 32 > limit) {
        return { error: `multiboot header at offset ${i} is truncated: the address fields lie past the first 8192 bytes or the end of the file` };
      }
      header.aout = {
        headerAddr: dv.getUint32(i + 12, true),
        loadAddr: dv.getUint32(i + 16, true),
        loadEndAddr: dv.getUint32(i + 20, true),
        bssEndAddr: dv.getUint32(i + 24, true),
        entryAddr: dv.getUint32(i + 28, true),
      };
    }
    return { header };
  }
  if (badChecksumAt >= 0) {
    return { error: `multiboot header at offset ${badChecksumAt} has a bad checksum` };
  }
  return { error: "no multiboot header in the first 8192 bytes" };
}

/** Find and validate the Multiboot header; throws with a one-line reason if there is none. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader {
  const r = searchHeader(image);
  if ("error" in r) throw new Error(r.error);
  return r.header;
}

/** Whether `image` carries a valid Multiboot v1 header (the CLI uses it to pick a loader). */
export function isMultiboot(image: Uint8Array): boolean {
  return "header" in searchHeader(image);
}

/** QEMU's kernel command line: the kernel's file name, a space, then the -append string. */
export function qemuCommandLine(kernelPath: string, append: string): string {
  return `${kernelPath} ${append}`;
}

const hex = (n: number): string => "0x" + n.toString(16);
const alignUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

interface KernelImage {
  /** Lowest physical address; the image below covers [low, low + bytes.length). */
  low: number;
  bytes: Uint8Array;
  entry: number;
}

function checkInRam(what: string, start: number, end: number, mem: GuestPhysicalMemory): void {
  if (end > mem.size) {
    throw new Error(`${what} at ${hex(start)}-${hex(end - 1)} is outside guest RAM (${hex(mem.size)} bytes)`);
  }
}

function aoutKernel(image: Uint8Array, h: MultibootHeader, mem: GuestPhysicalMemory): KernelImage {
  const a = h.aout!;
  if (a.headerAddr < a.loadAddr) throw new Error("multiboot header: header_addr is below load_addr");
  if (a.headerAddr - a.loadAddr > h.offset) {
    throw new Error("multiboot header: header_addr - load_addr exceeds the header's file offset");
  }
  const textOffset = h.offset - (a.headerAddr - a.loadAddr);
  let loadSize: number;
  if (a.loadEndAddr !== 0) {
    if (a.loadEndAddr < a.loadAddr) throw new Error("multiboot header: load_end_addr is below load_addr");
    loadSize = a.loadEndAddr - a.loadAddr;
    if (textOffset + loadSize > image.length) {
      throw new Error(
        `multiboot kernel is truncated: load_end_addr needs ${loadSize} bytes from file offset ${textOffset}, file has ${image.length}`,
      );
    }
  } else {
    loadSize = image.length - textOffset;
  }
  let size = loadSize;
  if (a.bssEndAddr !== 0) {
    if (a.bssEndAddr < a.loadAddr + loadSize) throw new Error("multiboot header: bss_end_addr is below the end of the loaded text");
    size = a.bssEndAddr - a.loadAddr;
  }
  checkInRam("multiboot kernel", a.loadAddr, a.loadAddr + size, mem);
  const bytes = new Uint8Array(size);
  bytes.set(image.subarray(textOffset, textOffset + loadSize));
  return { low: a.loadAddr, bytes, entry: a.entryAddr };
}

function elfKernel(image: Uint8Array, mem: GuestPhysicalMemory): KernelImage {
  const elf = parseElf32(image);
  let entry = elf.entry;
  // QEMU drops a segment's zero-fill when it would overlap another segment
  // (ELF files that rely on runtime bss clearing).
  const segs = elf.segments.map((s) => ({ ...s }));
  for (const s of segs) {
    if (s.memsz <= s.filesz) continue;
    const zs = s.paddr + s.filesz;
    const ze = s.paddr + s.memsz;
    if (segs.some((o) => o !== s && o.paddr < ze && zs < o.paddr + o.memsz)) s.memsz = s.filesz;
  }
  const loaded = segs.filter((s) => s.memsz > 0);
  if (loaded.length === 0) throw new Error("ELF kernel has no loadable segments");
  let low = Infinity;
  let high = 0;
  loaded.forEach((s, i) => {
    checkInRam(`ELF segment ${i}`, s.paddr, s.paddr + s.memsz, mem);
    low = Math.min(low, s.paddr);
    high = Math.max(high, s.paddr + s.memsz);
  });
  for (const s of segs) {
    // The entry point is a virtual address; translate it like QEMU's load_elf.
    if (s.vaddr !== s.paddr && s.flags & PF_X && elf.entry >= s.vaddr && elf.entry < s.vaddr + s.filesz) {
      entry = (elf.entry - s.vaddr + s.paddr) >>> 0;
    }
  }
  const bytes = new Uint8Array(high - low);
  for (const s of loaded) bytes.set(image.subarray(s.offset, s.offset + s.filesz), s.paddr - low);
  return { low, bytes, entry };
}

/**
 * Load a Multiboot kernel (and modules) into guest RAM and build the
 * multiboot_info structure. Returns the entry state: EIP = the kernel's
 * entry, EAX = 0x2BADB002, EBX = the info structure's address.
 *
 * Throws an Error with a one-line message when there is no header, the
 * checksum is bad, the header requires an unsupported feature, a segment
 * lies outside RAM, or the kernel plus modules do not fit into RAM.
 */
export function loadMultiboot(image: Uint8Array, mem: GuestPhysicalMemory, opts: MultibootOptions): BootEntry {
  const header = findMultibootHeader(image);
  const unknown = header.flags & 0xffff & ~KNOWN_REQUIRED_FLAGS;
  if (unknown !== 0) {
    throw new Error(`multiboot header requires unsupported features (flags ${hex(unknown)})`);
  }
  if (mem.size < MIB) throw new Error(`guest RAM (${mem.size} bytes) is too small for multiboot: need at least 1 MiB`);

  const kernel = header.aout ? aoutKernel(image, header, mem) : elfKernel(image, mem);
  const modules = opts.modules ?? [];
  const kernelCmdline = opts.kernelPath !== undefined ? qemuCommandLine(opts.kernelPath, opts.cmdline) : opts.cmdline;

  // Layout after the kernel, as QEMU builds its mb_buf.
  const modListAddr = alignUp(kernel.low + kernel.bytes.length);
  const strings = [...modules.map((m) => cString(m.cmdline)), cString(kernelCmdline)];
  const loaderName = cString(opts.bootLoaderName ?? "symbiont");
  let p = modListAddr + 16 * modules.length;
  const stringAddrs = strings.map((s) => {
    const a = p;
    p += s.length;
    return a;
  });
  const loaderNameAddr = p;
  p += loaderName.length;
  const modAddrs: number[] = [];
  p = alignUp(p);
  for (const m of modules) {
    modAddrs.push(p);
    p = alignUp(p + m.data.length);
  }
  const end = p;
  if (end > mem.size) {
    throw new Error(
      `kernel + modules do not fit into RAM: they need memory up to ${hex(end)}, guest RAM is ${hex(mem.size)} bytes`,
    );
  }
  // Module list, strings, loader name (one block), then modules.
  const block = new Uint8Array(loaderNameAddr + loaderName.length - modListAddr);
  const bdv = new DataView(block.buffer);
  modules.forEach((m, i) => {
    const o = 16 * i;
    bdv.setUint32(o + 0, modAddrs[i]!, true); // mod_start
    bdv.setUint32(o + 4, modAddrs[i]! + m.data.length, true); // mod_end (exclusive)
    bdv.setUint32(o + 8, stringAddrs[i]!, true); // string
    bdv.setUint32(o + 12, 0, true); // reserved
  });
  strings.forEach((s, i) => block.set(s, stringAddrs[i]! - modListAddr));
  block.set(loaderName, loaderNameAddr - modListAddr);
  mem.write(modListAddr, block);
  modules.forEach((m, i) => mem.write(modAddrs[i]!, m.data));

  // Memory map: [size=20][base 64][length 64][type 32] per entry.
  const ram = mem.size;
  const map: [number, number, number][] = [
    [0, LOW_MEM_END, 1],
    [LOW_MEM_END, 0xa0000 - LOW_MEM_END, 2],
    [0xf0000, 0x10000, 2],
  ];
  if (ram > MIB) map.push([MIB, ram - MIB, 1]);
  const mmap = new Uint8Array(map.length * MMAP_ENTRY_SIZE);
  const mdv = new DataView(mmap.buffer);
  map.forEach(([base, length, type], i) => {
    const o = i * MMAP_ENTRY_SIZE;
    mdv.setUint32(o, 20, true);
    mdv.setUint32(o + 4, base, true);
    mdv.setUint32(o + 8, 0, true);
    mdv.setUint32(o + 12, length, true);
    mdv.setUint32(o + 16, Math.floor(length / 0x100000000), true);
    mdv.setUint32(o + 20, type, true);
  });
  mem.write(MULTIBOOT_MMAP_ADDR, mmap);

  const info = new Uint8Array(MULTIBOOT_INFO_SIZE);
  const idv = new DataView(info.buffer);
  idv.setUint32(0, MULTIBOOT_INFO_FLAGS, true);
  idv.setUint32(4, LOW_MEM_END >>> 10, true); // mem_lower = 639
  idv.setUint32(8, Math.floor((ram - MIB) / 1024), true); // mem_upper
  idv.setUint32(12, 0x8000ffff, true); // boot_device: BIOS drive 0x80, no partition
  idv.setUint32(16, stringAddrs[modules.length]!, true); // cmdline
  idv.setUint32(20, modules.length, true); // mods_count
  idv.setUint32(24, modListAddr, true); // mods_addr
  idv.setUint32(44, mmap.length, true); // mmap_length
  idv.setUint32(48, MULTIBOOT_MMAP_ADDR, true); // mmap_addr
  idv.setUint32(64, loaderNameAddr, true); // boot_loader_name
  mem.write(MULTIBOOT_INFO_ADDR, info);

  // The kernel last: QEMU's multiboot.bin copies the image after the boot information, so
  // a kernel loaded over 0x9000-0x9557 (kvm-unit-tests' realmode.flat at 0x8000) keeps its
  // bytes there and simply finds no boot information.
  mem.write(kernel.low, kernel.bytes);

  return { eip: kernel.entry >>> 0, eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: MULTIBOOT_INFO_ADDR };
}
