/**
 * Multiboot expectations come from the Multiboot Specification 0.6.96
 * (header layout in section 3.1, boot information format in 3.3: flags@0,
 * mem_lower@4, mem_upper@8, boot_device@12, cmdline@16, mods_count@20,
 * mods_addr@24, mmap_length@44, mmap_addr@48, boot_loader_name@64; module
 * entries mod_start/mod_end/string; mmap entries size/base_addr/length/type)
 * and from QEMU hw/i386/multiboot.c for the QEMU-specific choices (info at
 * 0x9500, mmap at 0x9000, boot_device 0x8000ffff, "<kernel> <append>").
 * ELF field offsets come from the System V ABI (ELF32 header and program
 * header layouts).
 */
import { describe, expect, it } from "vitest";
import { parseElf32 } from "../../src/boot/elf.js";
import { loadFlat } from "../../src/boot/flat.js";
import { type GuestPhysicalMemory, isMultiboot, loadMultiboot } from "../../src/boot/multiboot.js";
import { planRom } from "../../src/boot/rom.js";

const MiB = 0x100000;

class Ram implements GuestPhysicalMemory {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(readonly size: number, fill = 0xaa) {
    this.bytes = new Uint8Array(size).fill(fill);
    this.dv = new DataView(this.bytes.buffer);
  }
  write(gpa: number, data: Uint8Array): void {
    if (gpa + data.length > this.size) throw new Error("write outside RAM");
    this.bytes.set(data, gpa);
  }
  u32(a: number): number {
    return this.dv.getUint32(a, true);
  }
  str(a: number): string {
    let s = "";
    while (this.bytes[a] !== 0) s += String.fromCharCode(this.bytes[a++]!);
    return s;
  }
}

function mbHeader(flags: number, aout?: number[]): Uint8Array {
  const words = [0x1badb002, flags, (-(0x1badb002 + flags)) >>> 0, ...(aout ?? [])];
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

interface ElfOpts {
  machine?: number;
  cls?: number;
  type?: number;
  vaddr?: number;
  paddr?: number;
  bss?: number;
  mbFlags?: number;
}

/**
 * A one-segment ELF32 i386 executable: ELF header (52 bytes), one program
 * header (32 bytes) at 52, Multiboot header at 84, code at 96. The segment
 * covers the whole file, loaded at paddr and linked at vaddr.
 */
function buildElf(o: ElfOpts = {}): { image: Uint8Array; codeOffset: number } {
  const paddr = o.paddr ?? 0x100000;
  const vaddr = o.vaddr ?? paddr;
  const image = new Uint8Array(128);
  const dv = new DataView(image.buffer);
  image.set([0x7f, 0x45, 0x4c, 0x46, o.cls ?? 1, 1, 1]);
  dv.setUint16(16, o.type ?? 2, true); // ET_EXEC
  dv.setUint16(18, o.machine ?? 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, vaddr + 96, true); // e_entry
  dv.setUint32(28, 52, true); // e_phoff
  dv.setUint16(40, 52, true); // e_ehsize
  dv.setUint16(42, 32, true); // e_phentsize
  dv.setUint16(44, 1, true); // e_phnum
  dv.setUint32(52, 1, true); // PT_LOAD
  dv.setUint32(56, 0, true); // p_offset
  dv.setUint32(60, vaddr, true);
  dv.setUint32(64, paddr, true);
  dv.setUint32(68, image.length, true); // p_filesz
  dv.setUint32(72, image.length + (o.bss ?? 0x100), true); // p_memsz
  dv.setUint32(76, 5, true); // R+X
  image.set(mbHeader(o.mbFlags ?? 0x3), 84);
  image.set([0xfa, 0xf4, 0xeb, 0xfd], 96); // cli; hlt; jmp $-1
  return { image, codeOffset: 96 };
}

describe("ELF32 parser", () => {
  it("returns the entry and PT_LOAD segments", () => {
    const { image } = buildElf({ vaddr: 0xc0100000, paddr: 0x100000 });
    const elf = parseElf32(image);
    expect(elf.entry).toBe(0xc0100060);
    expect(elf.segments).toEqual([
      { offset: 0, vaddr: 0xc0100000, paddr: 0x100000, filesz: 128, memsz: 128 + 0x100, flags: 5 },
    ]);
  });

  it("rejects non-ELF, 64-bit, wrong machine, non-EXEC and truncated files", () => {
    expect(() => parseElf32(new Uint8Array([0x4d, 0x5a, 0, 0]))).toThrow(/not an ELF/);
    expect(() => parseElf32(buildElf({ cls: 2 }).image)).toThrow(/64-bit ELF/);
    expect(() => parseElf32(buildElf({ machine: 62 }).image)).toThrow(/wrong ELF machine: x86-64/);
    expect(() => parseElf32(buildElf({ machine: 40 }).image)).toThrow(/wrong ELF machine: machine 40/);
    expect(() => parseElf32(buildElf({ type: 3 }).image)).toThrow(/not an executable/);
    const { image } = buildElf();
    expect(() => parseElf32(image.subarray(0, 40))).toThrow(/truncated ELF file/);
    expect(() => parseElf32(image.subarray(0, 70))).toThrow(/truncated ELF file: program headers/);
    expect(() => parseElf32(image.subarray(0, 100))).toThrow(/truncated ELF file: segment 0/);
  });
});

describe("Multiboot header detection", () => {
  it("finds a valid header and rejects others", () => {
    expect(isMultiboot(buildElf().image)).toBe(true);
    expect(isMultiboot(new Uint8Array(9000))).toBe(false);
    const late = new Uint8Array(8192 + 64);
    late.set(mbHeader(0), 8192); // outside the first 8192 bytes
    expect(isMultiboot(late)).toBe(false);
    const unaligned = new Uint8Array(64);
    unaligned.set(mbHeader(0), 2);
    expect(isMultiboot(unaligned)).toBe(false);
  });

  it("errors clearly on a missing header and on a bad checksum", () => {
    const mem = new Ram(2 * MiB);
    expect(() => loadMultiboot(new Uint8Array(64), mem, { cmdline: "" })).toThrow(/no multiboot header/);
    const bad = buildElf().image;
    bad[84 + 8] = bad[84 + 8]! ^ 1;
    expect(() => loadMultiboot(bad, mem, { cmdline: "" })).toThrow(/bad checksum/);
  });

  it("accepts the video-mode flag (QEMU ignores it) but rejects unknown required flags", () => {
    const mem = new Ram(2 * MiB);
    expect(() => loadMultiboot(buildElf({ mbFlags: 0x7 }).image, mem, { cmdline: "" })).not.toThrow();
    expect(() => loadMultiboot(buildElf({ mbFlags: 0x8 }).image, mem, { cmdline: "" })).toThrow(
      /unsupported features \(flags 0x8\)/,
    );
    // Optional bits 17-31 are ignored.
    expect(() => loadMultiboot(buildElf({ mbFlags: 0x80000003 }).image, mem, { cmdline: "" })).not.toThrow();
  });
});

describe("Multiboot ELF loading and boot information", () => {
  const ramSize = 16 * MiB;
  const { image, codeOffset } = buildElf();
  const mod1 = new Uint8Array(5000).map((_, i) => i & 0xff);
  const mod2 = Uint8Array.from([1, 2, 3]);
  const mem = new Ram(ramSize);
  const entry = loadMultiboot(image, mem, {
    cmdline: "console=ttyS0 debug",
    kernelPath: "kernel.elf",
    modules: [
      { data: mod1, cmdline: "initrd.img root=/dev/ram0" },
      { data: mod2, cmdline: "tiny" },
    ],
  });
  const mbi = entry.ebx;

  it("enters at e_entry with EAX=0x2BADB002 and EBX=info", () => {
    expect(entry.eip).toBe(0x100000 + codeOffset);
    expect(entry.eax).toBe(0x2badb002);
    expect(mbi).toBe(0x9500);
  });

  it("loads the segment at p_paddr and zeroes its bss", () => {
    expect(mem.bytes.subarray(0x100000, 0x100000 + image.length)).toEqual(image);
    expect(mem.bytes.subarray(0x100000 + image.length, 0x100000 + image.length + 0x100).every((b) => b === 0)).toBe(
      true,
    );
  });

  it("sets flags MEM|BOOT_DEVICE|CMDLINE|MODS|MMAP|LOADER_NAME and memory sizes", () => {
    expect(mem.u32(mbi + 0)).toBe(0x24f);
    expect(mem.u32(mbi + 4)).toBe(639);
    expect(mem.u32(mbi + 8)).toBe((ramSize - MiB) / 1024);
    expect(mem.u32(mbi + 12)).toBe(0x8000ffff);
  });

  it("passes '<kernel path> <append>' as the command line and 'symbiont' as loader name", () => {
    expect(mem.str(mem.u32(mbi + 16))).toBe("kernel.elf console=ttyS0 debug");
    expect(mem.str(mem.u32(mbi + 64))).toBe("symbiont");
  });

  it("describes the modules, page-aligned after the kernel", () => {
    expect(mem.u32(mbi + 20)).toBe(2);
    const list = mem.u32(mbi + 24);
    const kernelEnd = 0x100000 + image.length + 0x100;
    expect(list).toBeGreaterThanOrEqual(kernelEnd);
    const mods = [mod1, mod2].map((data, i) => ({
      start: mem.u32(list + 16 * i),
      end: mem.u32(list + 16 * i + 4),
      string: mem.str(mem.u32(list + 16 * i + 8)),
      data,
    }));
    expect(mods.map((m) => m.string)).toEqual(["initrd.img root=/dev/ram0", "tiny"]);
    let prevEnd = kernelEnd;
    for (const m of mods) {
      expect(m.start % 4096).toBe(0);
      expect(m.start).toBeGreaterThanOrEqual(prevEnd);
      expect(m.end - m.start).toBe(m.data.length);
      expect(mem.bytes.subarray(m.start, m.end)).toEqual(m.data);
      prevEnd = m.end;
    }
    // Strings and the list do not overlap the modules.
    expect(mem.u32(mbi + 64)).toBeLessThan(mods[0]!.start);
  });

  it("provides the memory map", () => {
    const len = mem.u32(mbi + 44);
    const addr = mem.u32(mbi + 48);
    expect(addr).toBe(0x9000);
    const entries: number[][] = [];
    for (let p = addr; p < addr + len; p += mem.u32(p) + 4) {
      expect(mem.u32(p)).toBe(20);
      expect(mem.u32(p + 8)).toBe(0); // base high
      expect(mem.u32(p + 16)).toBe(0); // length high
      entries.push([mem.u32(p + 4), mem.u32(p + 12), mem.u32(p + 20)]);
    }
    expect(entries).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [MiB, ramSize - MiB, 1],
    ]);
  });

  it("stores the command line verbatim without kernelPath", () => {
    const m = new Ram(4 * MiB);
    const e = loadMultiboot(image, m, { cmdline: "hello" });
    expect(m.str(m.u32(e.ebx + 16))).toBe("hello");
    expect(m.u32(e.ebx + 20)).toBe(0);
  });
});

describe("Multiboot ELF with differing p_vaddr and p_paddr", () => {
  it("translates the entry point into the physical load address (as QEMU's load_elf)", () => {
    const { image } = buildElf({ vaddr: 0xc0100000, paddr: 0x100000 });
    const mem = new Ram(4 * MiB);
    expect(loadMultiboot(image, mem, { cmdline: "" }).eip).toBe(0x100060);
    expect(mem.bytes.subarray(0x100000, 0x100000 + image.length)).toEqual(image);
  });
});

describe("Multiboot a.out kludge", () => {
  it("loads header_addr..bss_end_addr from the file and enters at entry_addr", () => {
    // File offset 0 corresponds to load_addr; header at offset 0x20.
    const image = new Uint8Array(0x100).map((_, i) => (i * 7 + 1) & 0xff);
    image.set(mbHeader(0x00010002, [0x200020, 0x200000, 0x200100, 0x200400, 0x200040]), 0x20);
    const mem = new Ram(4 * MiB);
    const e = loadMultiboot(image, mem, { cmdline: "x" });
    expect(e.eip).toBe(0x200040);
    expect(mem.bytes.subarray(0x200000, 0x200100)).toEqual(image);
    expect(mem.bytes.subarray(0x200100, 0x200400).every((b) => b === 0)).toBe(true);
    expect(mem.u32(e.ebx + 24)).toBe(0x201000); // mods_addr: first page after bss_end
  });

  it("skips file bytes before load_addr and loads to end of file when load_end_addr is 0", () => {
    const image = new Uint8Array(0x80).fill(0xee);
    image.set(mbHeader(0x00010000, [0x100020, 0x100000, 0, 0, 0x100000]), 0x30);
    const mem = new Ram(2 * MiB);
    loadMultiboot(image, mem, { cmdline: "" });
    // text starts at file offset 0x30 - 0x20 = 0x10
    expect(mem.bytes.subarray(0x100000, 0x100070)).toEqual(image.subarray(0x10));
  });

  it("rejects inconsistent addresses and truncated files", () => {
    const mem = new Ram(2 * MiB);
    const img = (words: number[], size = 0x80) => {
      const b = new Uint8Array(size);
      b.set(mbHeader(0x00010000, words), 0x20);
      return b;
    };
    expect(() => loadMultiboot(img([0x100000, 0x100100, 0, 0, 0]), mem, { cmdline: "" })).toThrow(/header_addr is below/);
    expect(() => loadMultiboot(img([0x100100, 0x100000, 0, 0, 0]), mem, { cmdline: "" })).toThrow(/exceeds the header/);
    expect(() => loadMultiboot(img([0x100020, 0x100000, 0x101000, 0, 0]), mem, { cmdline: "" })).toThrow(
      /truncated/,
    );
  });
});

describe("Multiboot kernel over the boot information (QEMU: the image is copied last)", () => {
  it("loads a kernel at 0x8000 that covers 0x9000-0x9557 and keeps its bytes there", () => {
    // kvm-unit-tests' realmode.flat is linked at 0x8000 and runs under QEMU.
    const { image } = buildElf({ paddr: 0x8000, bss: 0x2000 });
    const big = new Uint8Array(0x1800);
    big.set(image);
    new DataView(big.buffer).setUint32(68, big.length, true); // p_filesz: the whole 6 KiB
    big.fill(0x5a, image.length);
    const mem = new Ram(2 * MiB);
    const e = loadMultiboot(big, mem, { cmdline: "" });
    expect(e.eip).toBe(0x8000 + 96);
    expect(mem.bytes.subarray(0x8000, 0x8000 + big.length)).toEqual(big);
    expect(mem.bytes[0x9500]).toBe(0x5a);
  });
});

describe("Multiboot memory errors", () => {
  it("rejects a segment outside RAM", () => {
    const { image } = buildElf({ paddr: 0x400000 });
    expect(() => loadMultiboot(image, new Ram(2 * MiB), { cmdline: "" })).toThrow(/outside guest RAM/);
  });

  it("rejects kernel + modules that do not fit", () => {
    const { image } = buildElf();
    const big = { data: new Uint8Array(MiB), cmdline: "big" };
    expect(() => loadMultiboot(image, new Ram(2 * MiB), { cmdline: "", modules: [big] })).toThrow(
      /do not fit into RAM/,
    );
  });
});

describe("flat loader", () => {
  it("loads at 1 MiB by default and enters there", () => {
    const mem = new Ram(2 * MiB);
    const e = loadFlat(Uint8Array.from([0xf4]), mem);
    expect(e).toEqual({ eip: 0x100000, eax: 0, ebx: 0 });
    expect(mem.bytes[0x100000]).toBe(0xf4);
    expect(() => loadFlat(new Uint8Array(16), mem, 2 * MiB - 8)).toThrow(/does not fit/);
  });
});

describe("BIOS ROM placement", () => {
  it("ends at 1 MiB and at 4 GiB", () => {
    const p = planRom(new Uint8Array(256 * 1024));
    expect(p.base).toBe(0xc0000);
    expect(p.highBase).toBe(0xfffc0000);
    expect(p.lowBase).toBe(0xe0000);
    expect(p.lowData.length).toBe(128 * 1024);
    expect(planRom(new Uint8Array(64 * 1024)).base).toBe(0xf0000);
  });

  it("rejects sizes that are not multiples of 64 KiB or exceed 1 MiB", () => {
    expect(() => planRom(new Uint8Array(100))).toThrow(/multiple of 64 KiB/);
    expect(() => planRom(new Uint8Array(0))).toThrow(/multiple of 64 KiB/);
    expect(() => planRom(new Uint8Array(2 * MiB))).toThrow(/exceeds 1 MiB/);
  });
});
