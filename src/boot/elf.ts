/**
 * Minimal ELF32 little-endian i386 executable parser: just what a boot
 * loader needs (entry point and PT_LOAD segments), with errors that say why
 * an image cannot be booted instead of loading garbage.
 *
 * @module
 */

/** ELF e_machine for Intel 80386. */
export const EM_386 = 3;
/** ELF e_machine for AMD x86-64 (named in the error message). */
export const EM_X86_64 = 62;
/** ELF e_type for an executable. */
export const ET_EXEC = 2;
/** Program header type of a loadable segment. */
export const PT_LOAD = 1;
/** Segment flag: executable. */
export const PF_X = 1;

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;

/** One PT_LOAD program header. */
export interface ElfSegment {
  /** Physical load address (p_paddr): where boot loaders put the bytes. */
  paddr: number;
  /** Virtual address the code is linked for (p_vaddr). */
  vaddr: number;
  /** Bytes present in the file. */
  filesz: number;
  /** Bytes in memory; memsz - filesz trailing bytes are zero (bss). */
  memsz: number;
  /** File offset of the segment's bytes (p_offset). */
  offset: number;
  /** p_flags (PF_X = 1, PF_W = 2, PF_R = 4). */
  flags: number;
}

/** The parts of an executable a loader uses. */
export interface ElfImage {
  /** e_entry, a virtual address as linked. */
  entry: number;
  /** PT_LOAD segments in program-header order. */
  segments: ElfSegment[];
}

/** Whether `image` starts with the ELF magic (any class/machine). */
export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && image[0] === 0x7f && image[1] === 0x45 && image[2] === 0x4c && image[3] === 0x46;
}

/**
 * Parse an ELF32 LSB i386 ET_EXEC image. Throws an Error with a one-line
 * message for: not an ELF file, a 64-bit ELF, big-endian data, a machine
 * other than i386, a type other than EXEC, or a file too short for its
 * headers or segment data.
 */
export function parseElf32(image: Uint8Array): ElfImage {
  if (!isElf(image)) throw new Error("not an ELF file (bad magic)");
  if (image.length < 6) throw new Error("truncated ELF file: identification is incomplete");
  const cls = image[4];
  if (cls === 2) throw new Error("64-bit ELF (ELFCLASS64) is not supported: give a 32-bit i386 image");
  if (cls !== 1) throw new Error(`unsupported ELF class ${cls} (expected ELFCLASS32)`);
  if (image[5] !== 1) throw new Error("big-endian ELF is not supported: expected ELFDATA2LSB");
  if (image.length < EHDR_SIZE) {
    throw new Error(`truncated ELF file: ${image.length} bytes, the ELF header needs ${EHDR_SIZE}`);
  }
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_386) {
    const what = machine === EM_X86_64 ? "x86-64" : `machine ${machine}`;
    throw new Error(`wrong ELF machine: ${what} (expected i386, EM_386 = 3)`);
  }
  if (type !== ET_EXEC) throw new Error(`ELF type ${type} is not an executable (expected ET_EXEC = 2)`);
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (phnum > 0 && phentsize < PHDR_SIZE) {
    throw new Error(`bad ELF program header size ${phentsize} (expected at least ${PHDR_SIZE})`);
  }
  if (phoff + phnum * phentsize > image.length) {
    throw new Error(
      `truncated ELF file: program headers end at ${phoff + phnum * phentsize}, file has ${image.length} bytes`,
    );
  }
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const seg: ElfSegment = {
      offset: dv.getUint32(o + 4, true),
      vaddr: dv.getUint32(o + 8, true),
      paddr: dv.getUint32(o + 12, true),
      filesz: dv.getUint32(o + 16, true),
      memsz: dv.getUint32(o + 20, true),
      flags: dv.getUint32(o + 24, true),
    };
    if (seg.filesz > seg.memsz) {
      throw new Error(`bad ELF segment ${i}: file size ${seg.filesz} exceeds memory size ${seg.memsz}`);
    }
    if (seg.offset + seg.filesz > image.length) {
      throw new Error(
        `truncated ELF file: segment ${i} data ends at ${seg.offset + seg.filesz}, file has ${image.length} bytes`,
      );
    }
    segments.push(seg);
  }
  return { entry, segments };
}
