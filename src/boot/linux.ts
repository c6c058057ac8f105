/**
 * Linux/x86 boot protocol loader (Documentation/arch/x86/boot.rst), using
 * the 32-bit boot protocol: no real-mode setup code and no BIOS calls run;
 * the loader builds `struct boot_params` (the "zero page") itself and the
 * CPU enters the protected-mode kernel at its start.
 *
 * What it does with a bzImage:
 *
 * - Reads the setup header at 0x1F1: "HdrS" at 0x202, protocol ≥ 2.06
 *   (cmdline_size exists), LOADED_HIGH set (a bzImage), not a 64-bit-only
 *   kernel. setup_sects 0 means 4.
 * - Copies the protected-mode part (file offset (setup_sects+1)*512 to the
 *   end) to 0x100000 and sets code32_start there.
 * - Checks that the kernel fits: a relocatable kernel decompresses itself at
 *   max(align_up(0x100000, kernel_alignment), pref_address) (head_32.S
 *   clamps to LOAD_PHYSICAL_ADDR = pref_address) and needs init_size bytes
 *   from there; a non-relocatable one runs at pref_address.
 * - Places the initrd page-aligned as high as possible below
 *   min(initrd_addr_max + 1, top of RAM), above the kernel's init area.
 *   (With more than ~880 MiB of RAM the 32-bit kernel moves an initrd that
 *   lies above its low memory; that works, it only costs a copy.)
 * - Builds boot_params at {@link LINUX_BOOT_PARAMS_ADDR} (all zero, then the
 *   image's setup header copied to offset 0x1F1 up to 0x202 + byte[0x201],
 *   then the loader's fields): vid_mode 0xFFFF, type_of_loader 0xFF
 *   (undefined), code32_start, ramdisk_image/size, cmd_line_ptr (the
 *   command line at {@link LINUX_CMDLINE_ADDR}, below 0xA0000), alt_mem_k,
 *   and the E820 map (e820_entries at 0x1E8, entries at 0x2D0).
 *   loadflags keeps LOADED_HIGH and leaves CAN_USE_HEAP clear with
 *   heap_end_ptr 0: the heap is the real-mode setup code's, which the 32-bit
 *   protocol does not run.
 * - screen_info (offset 0) stays all zero unless the machine has a VGA
 *   (`vgaText`). That is the safe setting for a serial-console-only machine:
 *   the decompressor writes to VGA text memory only when orig_video_lines
 *   and orig_video_cols are both non-zero, and vgacon_startup() falls back to
 *   the dummy console when either is zero, so nothing touches 0xB8000 or the
 *   VGA ports. With a VGA it says what a VGA BIOS's mode 3 leaves and the
 *   real-mode setup code would have recorded (arch/x86/boot/video.c): mode 3,
 *   80 × 25, cursor at the top left, a VGA (isVGA 1, ega_bx 0x0003: colour,
 *   256 KiB), 16-line font — and vgacon takes the screen.
 * - Writes a GDT at {@link LINUX_GDT_ADDR} with the flat 4 GiB selectors the
 *   protocol requires: __BOOT_CS 0x10 (execute/read) and __BOOT_DS 0x18
 *   (read/write).
 *
 * The entry state ({@link LinuxEntry}): 32-bit protected mode (CR0.PE=1),
 * paging off, interrupts off, GDTR = the GDT above, CS = 0x10,
 * DS = ES = SS (= FS = GS) = 0x18, all flat; EIP = 0x100000; ESI = the
 * boot_params address; EBP = EDI = EBX = 0 (EAX 0 too).
 *
 * The default E820 map is usable 0-0x9FC00, reserved 0x9FC00-0xA0000
 * (EBDA), reserved 0xF0000-0x100000 (BIOS), usable 0x100000-top of RAM —
 * the map {@link loadMultiboot} reports too.
 *
 * Hints for the guest command line: "console=ttyS0" for the kernel's
 * console; "earlyprintk=serial,ttyS0,115200" also makes the decompressor
 * and early boot print to COM1; "nokaslr" keeps the kernel at its fixed
 * physical address (KASLR draws entropy from RDRAND/RDTSC/the PIT).
 *
 * @module
 */
import { type BootEntry, type GuestPhysicalMemory, cString } from "./types.js";

export type { BootEntry, GuestPhysicalMemory } from "./types.js";

/** "HdrS", little-endian, at offset 0x202. */
export const LINUX_HEADER_MAGIC = 0x53726448;
/** Where the protected-mode kernel is loaded (a bzImage's code32_start). */
export const LINUX_KERNEL_ADDR = 0x100000;
/** Guest-physical address of boot_params (the zero page, 4 KiB). */
export const LINUX_BOOT_PARAMS_ADDR = 0x10000;
/** Guest-physical address of the boot GDT (4 entries: null, unused, __BOOT_CS, __BOOT_DS). */
export const LINUX_GDT_ADDR = 0x11000;
/** Guest-physical address of the kernel command line. */
export const LINUX_CMDLINE_ADDR = 0x20000;
/** __BOOT_CS: flat 32-bit code selector the protocol requires. */
export const LINUX_BOOT_CS = 0x10;
/** __BOOT_DS: flat 32-bit data selector the protocol requires. */
export const LINUX_BOOT_DS = 0x18;
/** Oldest protocol accepted: 2.06 added cmdline_size. */
export const LINUX_MIN_PROTOCOL = 0x0206;

/** E820 memory types. */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

// Setup header offsets (in the image and in boot_params).
const OFF_SETUP_SECTS = 0x1f1;
const OFF_SYSSIZE = 0x1f4;
const OFF_VID_MODE = 0x1fa;
const OFF_JUMP = 0x200;
const OFF_HEADER = 0x202;
const OFF_VERSION = 0x206;
const OFF_KERNEL_VERSION = 0x20e;
const OFF_TYPE_OF_LOADER = 0x210;
const OFF_LOADFLAGS = 0x211;
const OFF_CODE32_START = 0x214;
const OFF_RAMDISK_IMAGE = 0x218;
const OFF_RAMDISK_SIZE = 0x21c;
const OFF_HEAP_END_PTR = 0x224;
const OFF_EXT_LOADER_VER = 0x226;
const OFF_EXT_LOADER_TYPE = 0x227;
const OFF_CMD_LINE_PTR = 0x228;
const OFF_INITRD_ADDR_MAX = 0x22c;
const OFF_KERNEL_ALIGNMENT = 0x230;
const OFF_RELOCATABLE = 0x234;
const OFF_MIN_ALIGNMENT = 0x235;
const OFF_XLOADFLAGS = 0x236;
const OFF_CMDLINE_SIZE = 0x238;
const OFF_HARDWARE_SUBARCH = 0x23c;
const OFF_PAYLOAD_OFFSET = 0x248;
const OFF_PAYLOAD_LENGTH = 0x24c;
const OFF_SETUP_DATA = 0x250;
const OFF_PREF_ADDRESS = 0x258;
const OFF_INIT_SIZE = 0x260;
// boot_params-only fields (zero-page.rst).
const BP_ALT_MEM_K = 0x1e0;
const BP_E820_ENTRIES = 0x1e8;
const BP_E820_TABLE = 0x2d0;
const BP_SIZE = 0x1000;
// screen_info, at the start of boot_params (include/uapi/linux/screen_info.h).
const SI_ORIG_VIDEO_MODE = 0x06;
const SI_ORIG_VIDEO_COLS = 0x07;
const SI_ORIG_VIDEO_EGA_BX = 0x0a;
const SI_ORIG_VIDEO_LINES = 0x0e;
const SI_ORIG_VIDEO_IS_VGA = 0x0f;
const SI_ORIG_VIDEO_POINTS = 0x10;
/** The setup header's room in boot_params ends where edd_mbr_sig_buffer starts. */
const BP_HDR_LIMIT = 0x290;
const E820_MAX_ENTRIES = 128;

/** loadflags bits. */
export const LOADED_HIGH = 0x01;
export const QUIET_FLAG = 0x20;
export const CAN_USE_HEAP = 0x80;
/** xloadflags bit 0: the kernel has the 64-bit entry point (an x86_64 kernel). */
export const XLF_KERNEL_64 = 0x01;

const MIB = 0x100000;
const PAGE = 4096;
const LOW_MEM_END = 0x9fc00;

/** The setup header fields a loader reads. */
export interface LinuxSetupHeader {
  /** Sectors of real-mode setup code (0 in the file is reported as 4). */
  setupSects: number;
  /** Size of the protected-mode code in 16-byte paragraphs. */
  syssize: number;
  /** Protocol version, (major << 8) | minor, e.g. 0x020f. */
  protocol: number;
  /** The same as "2.15". */
  protocolString: string;
  loadflags: number;
  code32Start: number;
  /** Highest byte address the initrd may occupy. */
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  minAlignment: number;
  xloadflags: number;
  /** Longest command line, without its NUL. */
  cmdlineSize: number;
  payloadOffset: number;
  payloadLength: number;
  /** LOAD_PHYSICAL_ADDR: where a kernel that cannot relocate lower runs. */
  prefAddress: number;
  /** Bytes the kernel needs from its runtime start during decompression/early boot. */
  initSize: number;
  /** The kernel_version string, when the header points at one. */
  kernelVersion: string | null;
  /** End of the setup header in the file (0x202 + byte at 0x201). */
  headerEnd: number;
  /** File offset of the protected-mode kernel. */
  kernelOffset: number;
}

/** One E820 entry. */
export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

/** Options for {@link loadLinux}. */
export interface LinuxOptions {
  /** The kernel command line (UTF-8, at most cmdline_size bytes). */
  cmdline: string;
  /** An initrd/initramfs image (cpio, optionally compressed), placed high in RAM. */
  initrd?: Uint8Array;
  /** Override the E820 map (default {@link defaultE820} of the RAM size). */
  e820?: E820Entry[];
  /** type_of_loader (default 0xFF, "undefined"; 0xB0 is QEMU's). */
  typeOfLoader?: number;
  /** Set QUIET_FLAG: the decompressor prints nothing. */
  quiet?: boolean;
  /** The machine has a VGA in text mode 3 with a cleared screen (Vga.biosTextMode): screen_info says so. */
  vgaText?: boolean;
}

/** Where things went and how to enter the kernel (32-bit boot protocol). */
export interface LinuxEntry extends BootEntry {
  /** EIP: the protected-mode kernel (0x100000). */
  eip: number;
  /** ESI: the boot_params address. */
  esi: number;
  /** EAX, EBX, EBP, EDI: zero. */
  eax: number;
  ebx: number;
  ebp: number;
  edi: number;
  /** The GDT written for the entry; load GDTR with it. */
  gdt: { base: number; limit: number };
  /** __BOOT_CS (0x10): CS, flat 4 GiB execute/read, 32-bit. */
  cs: number;
  /** __BOOT_DS (0x18): DS, ES, SS (and FS, GS), flat 4 GiB read/write. */
  ds: number;
  /** The boot_params (zero page) address, same as esi. */
  bootParams: number;
  cmdline: { addr: number; length: number };
  /** The protected-mode image as loaded, and the range the kernel needs while it starts. */
  kernel: { addr: number; size: number; runtimeStart: number; runtimeEnd: number };
  initrd: { addr: number; size: number } | null;
  e820: E820Entry[];
  header: LinuxSetupHeader;
}

const hex = (n: number): string => "0x" + n.toString(16);
const mib = (n: number): string => `${Math.ceil(n / MIB)} MiB`;

type Parsed = { header: LinuxSetupHeader } | { error: string };

function parse(image: Uint8Array): Parsed {
  if (image.length < OFF_HEADER + 4) return { error: `not a Linux bzImage: the file is only ${image.length} bytes` };
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint32(OFF_HEADER, true) !== LINUX_HEADER_MAGIC) {
    return { error: 'not a Linux bzImage: no "HdrS" setup header at offset 0x202' };
  }
  const headerEnd = Math.min(OFF_HEADER + image[OFF_JUMP + 1]!, BP_HDR_LIMIT);
  if (image.length < Math.max(headerEnd, OFF_INIT_SIZE + 4)) {
    return { error: `Linux bzImage is truncated: ${image.length} bytes, the setup header alone needs ${hex(headerEnd)}` };
  }
  const protocol = dv.getUint16(OFF_VERSION, true);
  const u32 = (o: number) => dv.getUint32(o, true);
  const setupSects = image[OFF_SETUP_SECTS]! || 4;
  const kvPtr = dv.getUint16(OFF_KERNEL_VERSION, true);
  let kernelVersion: string | null = null;
  if (kvPtr !== 0 && kvPtr + 0x200 < image.length) {
    let end = kvPtr + 0x200;
    while (end < image.length && image[end] !== 0 && end - kvPtr < 0x200 + 256) end++;
    kernelVersion = String.fromCharCode(...image.subarray(kvPtr + 0x200, end));
  }
  const has = (v: number) => protocol >= v;
  return {
    header: {
      setupSects,
      syssize: u32(OFF_SYSSIZE),
      protocol,
      protocolString: `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")}`,
      loadflags: image[OFF_LOADFLAGS]!,
      code32Start: u32(OFF_CODE32_START),
      initrdAddrMax: has(0x0203) ? u32(OFF_INITRD_ADDR_MAX) : 0x37ffffff,
      kernelAlignment: has(0x0205) ? u32(OFF_KERNEL_ALIGNMENT) : 0,
      relocatable: has(0x0205) ? image[OFF_RELOCATABLE]! !== 0 : false,
      minAlignment: has(0x020a) ? image[OFF_MIN_ALIGNMENT]! : 0,
      xloadflags: has(0x020c) ? dv.getUint16(OFF_XLOADFLAGS, true) : 0,
      cmdlineSize: has(0x0206) ? u32(OFF_CMDLINE_SIZE) : 255,
      payloadOffset: has(0x0208) ? u32(OFF_PAYLOAD_OFFSET) : 0,
      payloadLength: has(0x0208) ? u32(OFF_PAYLOAD_LENGTH) : 0,
      // pref_address is 64-bit; a 32-bit kernel's fits in the low half.
      prefAddress: has(0x020a) ? u32(OFF_PREF_ADDRESS) + u32(OFF_PREF_ADDRESS + 4) * 0x100000000 : 0,
      initSize: has(0x020a) ? u32(OFF_INIT_SIZE) : 0,
      kernelVersion,
      headerEnd,
      kernelOffset: (setupSects + 1) * 512,
    },
  };
}

/** Parse the setup header of a bzImage; throws with a one-line reason if there is none. */
export function parseLinuxHeader(image: Uint8Array): LinuxSetupHeader {
  const r = parse(image);
  if ("error" in r) throw new Error(r.error);
  return r.header;
}

/** Whether `image` is a bzImage (HdrS, protocol ≥ 2.00, LOADED_HIGH): the CLI uses it to pick a loader. */
export function isBzImage(image: Uint8Array): boolean {
  const r = parse(image);
  return "header" in r && r.header.protocol >= 0x0200 && (r.header.loadflags & LOADED_HIGH) !== 0;
}

/** The default E820 map for `ramBytes` of RAM from address 0 (see the module comment). */
export function defaultE820(ramBytes: number): E820Entry[] {
  const map: E820Entry[] = [
    { addr: 0, size: LOW_MEM_END, type: E820_RAM },
    { addr: LOW_MEM_END, size: 0xa0000 - LOW_MEM_END, type: E820_RESERVED },
    { addr: 0xf0000, size: 0x10000, type: E820_RESERVED },
  ];
  if (ramBytes > MIB) map.push({ addr: MIB, size: ramBytes - MIB, type: E820_RAM });
  return map;
}

/** Where a kernel with this header runs while it decompresses and starts: [start, end). */
export function linuxRuntimeRange(h: LinuxSetupHeader, loadAddr = LINUX_KERNEL_ADDR): { start: number; end: number } {
  let start: number;
  if (h.relocatable && h.kernelAlignment > 0) {
    const aligned = Math.ceil(loadAddr / h.kernelAlignment) * h.kernelAlignment;
    // head_32.S never decompresses below LOAD_PHYSICAL_ADDR (= pref_address).
    start = Math.max(aligned, h.prefAddress);
  } else {
    start = h.prefAddress || loadAddr;
  }
  return { start, end: start + h.initSize };
}

/**
 * The Linux command line every Symbiont boot starts from (the CLI's default, the web page's, the tests' and
 * benchmarks' guests): serial console; no KASLR (deterministic layout); skip the crypto self-tests and ISA PnP
 * probing (`noisapnp`: `isapnp=0` only sets the probe's read port), which take half of an emulated boot and test
 * nothing of ours; and no ACPI (`acpi=off`): a Linux boot gets the MP table only (PC.loadLinux says why), and
 * without the option Linux searches for an RSDP anyway and prints "ACPI BIOS Error (bug): A valid RSDP was not
 * found" on every boot.
 */
export const LINUX_CMDLINE = "console=ttyS0 nokaslr cryptomgr.notests noisapnp acpi=off";

/**
 * Load a bzImage (and initrd) into guest RAM, build boot_params, the command
 * line and the boot GDT, and return the 32-bit entry state.
 *
 * Throws an Error with a one-line message when the image is not a bzImage,
 * its protocol is older than 2.06 or it is a 64-bit kernel, the kernel or
 * initrd does not fit into RAM, or the command line is too long.
 */
export function loadLinux(kernel: Uint8Array, mem: GuestPhysicalMemory, opts: LinuxOptions): LinuxEntry {
  const h = parseLinuxHeader(kernel);
  if (h.protocol < LINUX_MIN_PROTOCOL) {
    throw new Error(`Linux boot protocol ${h.protocolString} is too old: need 2.06 or later (kernel 2.6.22+)`);
  }
  if (!(h.loadflags & LOADED_HIGH)) throw new Error("not a bzImage: loadflags LOADED_HIGH is clear (zImage kernels are not supported)");
  if (h.xloadflags & XLF_KERNEL_64) {
    throw new Error("the bzImage is a 64-bit (x86_64) kernel: Symbiont's CPU is 32-bit, use an i386 kernel");
  }
  if (kernel.length <= h.kernelOffset) {
    throw new Error(`Linux bzImage is truncated: setup is ${h.kernelOffset} bytes, the file ${kernel.length}`);
  }
  // syssize counts the protected-mode part in 16-byte paragraphs (build.c pads the file to it).
  if (kernel.length - h.kernelOffset < h.syssize * 16) {
    throw new Error(
      `Linux bzImage is truncated: its setup header says ${h.syssize * 16} bytes of kernel follow the ${h.kernelOffset}-byte setup, ` +
      `the file has ${kernel.length - h.kernelOffset}`,
    );
  }

  const cmdline = cString(opts.cmdline);
  const cmdlineLength = cmdline.length - 1;
  if (cmdlineLength > h.cmdlineSize) {
    throw new Error(`kernel command line is too long: ${cmdlineLength} bytes, this kernel accepts at most ${h.cmdlineSize}`);
  }
  if (LINUX_CMDLINE_ADDR + cmdline.length > 0xa0000) {
    throw new Error(`kernel command line is too long: ${cmdlineLength} bytes do not fit below 0xA0000`);
  }

  const e820 = opts.e820 ?? defaultE820(mem.size);
  if (e820.length > E820_MAX_ENTRIES) throw new Error(`E820 map has ${e820.length} entries, boot_params holds at most ${E820_MAX_ENTRIES}`);
  // RAM the kernel may use: the usable region that holds 1 MiB, capped at guest RAM.
  const high = e820.find((e) => e.type === E820_RAM && e.addr <= MIB && e.addr + e.size > MIB);
  const ramTop = Math.min(mem.size, high ? high.addr + high.size : 0);
  if (ramTop <= LINUX_CMDLINE_ADDR + cmdline.length) {
    throw new Error(`guest RAM (${mem.size} bytes) is too small for Linux`);
  }

  const pm = kernel.subarray(h.kernelOffset);
  const runtime = linuxRuntimeRange(h);
  const kernelEnd = Math.max(LINUX_KERNEL_ADDR + pm.length, runtime.end);
  if (kernelEnd > ramTop) {
    throw new Error(
      `kernel does not fit into RAM: it needs memory up to ${hex(kernelEnd)} (init_size ${hex(h.initSize)} from ${hex(runtime.start)}), ` +
      `usable RAM ends at ${hex(ramTop)}; give the guest at least ${mib(kernelEnd)}`,
    );
  }

  let initrd: { addr: number; size: number } | null = null;
  if (opts.initrd && opts.initrd.length > 0) {
    const size = opts.initrd.length;
    const top = Math.min(h.initrdAddrMax + 1, ramTop);
    const addr = Math.floor((top - size) / PAGE) * PAGE;
    if (addr < kernelEnd) {
      const hint = top === ramTop ? `; give the guest at least ${mib(kernelEnd + Math.ceil(size / PAGE) * PAGE + (mem.size - ramTop))}` : "";
      throw new Error(
        `initrd does not fit into RAM: ${size} bytes do not fit between the end of the kernel (${hex(kernelEnd)}) and ${hex(top)}${hint}`,
      );
    }
    initrd = { addr, size };
  }

  // boot_params: zero, then the setup header, then the loader's fields.
  const bp = new Uint8Array(BP_SIZE);
  const dv = new DataView(bp.buffer);
  bp.set(kernel.subarray(OFF_SETUP_SECTS, h.headerEnd), OFF_SETUP_SECTS);
  bp[OFF_SETUP_SECTS] = h.setupSects;
  if (opts.vgaText) {
    bp[SI_ORIG_VIDEO_MODE] = 3;
    bp[SI_ORIG_VIDEO_COLS] = 80;
    dv.setUint16(SI_ORIG_VIDEO_EGA_BX, 0x0003, true);
    bp[SI_ORIG_VIDEO_LINES] = 25;
    bp[SI_ORIG_VIDEO_IS_VGA] = 1;
    dv.setUint16(SI_ORIG_VIDEO_POINTS, 16, true);
  }
  dv.setUint16(OFF_VID_MODE, 0xffff, true); // "normal"
  bp[OFF_TYPE_OF_LOADER] = (opts.typeOfLoader ?? 0xff) & 0xff;
  bp[OFF_EXT_LOADER_VER] = 0;
  bp[OFF_EXT_LOADER_TYPE] = 0;
  bp[OFF_LOADFLAGS] = (h.loadflags & ~(CAN_USE_HEAP | QUIET_FLAG)) | (opts.quiet ? QUIET_FLAG : 0);
  dv.setUint16(OFF_HEAP_END_PTR, 0, true);
  dv.setUint32(OFF_CODE32_START, LINUX_KERNEL_ADDR, true);
  dv.setUint32(OFF_RAMDISK_IMAGE, initrd?.addr ?? 0, true);
  dv.setUint32(OFF_RAMDISK_SIZE, initrd?.size ?? 0, true);
  dv.setUint32(OFF_CMD_LINE_PTR, LINUX_CMDLINE_ADDR, true);
  dv.setUint32(OFF_HARDWARE_SUBARCH, 0, true); // the default x86/PC environment
  dv.setUint32(OFF_SETUP_DATA, 0, true);
  dv.setUint32(OFF_SETUP_DATA + 4, 0, true);
  dv.setUint32(BP_ALT_MEM_K, Math.floor((ramTop - MIB) / 1024), true);
  bp[BP_E820_ENTRIES] = e820.length;
  e820.forEach((e, i) => {
    const o = BP_E820_TABLE + i * 20;
    dv.setUint32(o, e.addr >>> 0, true);
    dv.setUint32(o + 4, Math.floor(e.addr / 0x100000000), true);
    dv.setUint32(o + 8, e.size >>> 0, true);
    dv.setUint32(o + 12, Math.floor(e.size / 0x100000000), true);
    dv.setUint32(o + 16, e.type, true);
  });

  // GDT: null, unused, __BOOT_CS (flat code, execute/read), __BOOT_DS (flat data, read/write).
  const gdt = new Uint8Array(32);
  const gdv = new DataView(gdt.buffer);
  gdv.setUint32(LINUX_BOOT_CS, 0x0000ffff, true);
  gdv.setUint32(LINUX_BOOT_CS + 4, 0x00cf9a00, true);
  gdv.setUint32(LINUX_BOOT_DS, 0x0000ffff, true);
  gdv.setUint32(LINUX_BOOT_DS + 4, 0x00cf9200, true);

  mem.write(LINUX_KERNEL_ADDR, pm);
  if (initrd) mem.write(initrd.addr, opts.initrd!);
  mem.write(LINUX_BOOT_PARAMS_ADDR, bp);
  mem.write(LINUX_GDT_ADDR, gdt);
  mem.write(LINUX_CMDLINE_ADDR, cmdline);

  return {
    eip: LINUX_KERNEL_ADDR,
    esi: LINUX_BOOT_PARAMS_ADDR,
    eax: 0,
    ebx: 0,
    ebp: 0,
    edi: 0,
    gdt: { base: LINUX_GDT_ADDR, limit: gdt.length - 1 },
    cs: LINUX_BOOT_CS,
    ds: LINUX_BOOT_DS,
    bootParams: LINUX_BOOT_PARAMS_ADDR,
    cmdline: { addr: LINUX_CMDLINE_ADDR, length: cmdlineLength },
    kernel: { addr: LINUX_KERNEL_ADDR, size: pm.length, runtimeStart: runtime.start, runtimeEnd: kernelEnd },
    initrd,
    e820,
    header: h,
  };
}
