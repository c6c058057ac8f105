/**
 * The guest's own page tables, read by the VMM: translate a guest-virtual
 * (linear) address the way the guest's MMU would, without side effects (no
 * accessed/dirty bits, no TLB fill, no fault), and list the guest's mappings.
 * For VMM tools — reading the guest's GDT for a SymCall, the monitor's
 * `info paging` — not for the CPU, whose walk is assembly/mmu/walk.ts.
 *
 * 32-bit paging (4 KiB and, with CR4.PSE, 4 MiB pages) and PAE (4 KiB and
 * 2 MiB pages, NX with EFER.NXE). PAE's PDPTEs are read from memory at CR3,
 * where the CPU uses the copies it loaded when CR3 was written. Table entries
 * outside RAM read as not present, as in the core.
 *
 * @module
 */
import type { GuestMemory } from "./memory.js";

/** The registers that decide how the guest translates. */
export interface PagingRegs { cr0: number; cr3: number; cr4: number; efer: number }

/** A successful translation: the physical address and what the combined entries allow. */
export interface GuestMapping {
  /** Guest-physical address of the byte. */
  pa: number;
  writable: boolean;
  user: boolean;
  /** Execute-disable (PAE with EFER.NXE only). */
  noExec: boolean;
  /** Size of the page that maps it: 4 KiB, 2 MiB or 4 MiB. */
  pageSize: number;
  /** The leaf entry (low 32 bits for PAE). */
  entry: number;
}

export type PagingMode = "none" | "32-bit" | "pae";

const P = 1, RW = 2, US = 4, PS = 0x80;
const CR0_PG = 0x80000000, CR0_PE = 1, CR4_PSE = 0x10, CR4_PAE = 0x20, EFER_NXE = 0x800;

export function pagingMode(r: PagingRegs): PagingMode {
  if ((r.cr0 & CR0_PG) === 0 || (r.cr0 & CR0_PE) === 0) return "none";
  return (r.cr4 & CR4_PAE) !== 0 ? "pae" : "32-bit";
}

/** A word of a guest page table (0 where the map has no RAM: not present). */
export function tableWord(mem: GuestMemory, gpa: number): number {
  return mem.isRam(gpa, 4) ? mem.readU32(gpa) : 0;
}

/** Translate `lin`; null when the guest's tables do not map it. */
export function translateLinear(mem: GuestMemory, r: PagingRegs, lin: number): GuestMapping | null {
  lin >>>= 0;
  const mode = pagingMode(r);
  if (mode === "none") return { pa: lin, writable: true, user: true, noExec: false, pageSize: 4096, entry: 0 };
  if (mode === "32-bit") {
    const pde = tableWord(mem, ((r.cr3 & ~0xfff) >>> 0) + (lin >>> 22) * 4);
    if ((pde & P) === 0) return null;
    if ((pde & PS) !== 0 && (r.cr4 & CR4_PSE) !== 0) {
      return { pa: ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0, writable: (pde & RW) !== 0, user: (pde & US) !== 0, noExec: false, pageSize: 4 << 20, entry: pde >>> 0 };
    }
    const pte = tableWord(mem, ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x3ff) * 4);
    if ((pte & P) === 0) return null;
    return { pa: ((pte & ~0xfff) | (lin & 0xfff)) >>> 0, writable: (pde & pte & RW) !== 0, user: (pde & pte & US) !== 0, noExec: false, pageSize: 4096, entry: pte >>> 0 };
  }
  const nxe = (r.efer & EFER_NXE) !== 0;
  const pdpte = tableWord(mem, ((r.cr3 & ~0x1f) >>> 0) + (lin >>> 30) * 8);
  if ((pdpte & P) === 0) return null;
  const pdeAt = ((pdpte & ~0xfff) >>> 0) + ((lin >>> 21) & 0x1ff) * 8;
  const pde = tableWord(mem, pdeAt), pdeHi = tableWord(mem, pdeAt + 4);
  if ((pde & P) === 0 || (pdeHi & 0xf) !== 0) return null; // frames above 4 GiB are not guest RAM here
  if ((pde & PS) !== 0) {
    return { pa: ((pde & 0xffe00000) | (lin & 0x1fffff)) >>> 0, writable: (pde & RW) !== 0, user: (pde & US) !== 0, noExec: nxe && pdeHi < 0, pageSize: 2 << 20, entry: pde >>> 0 };
  }
  const pteAt = ((pde & ~0xfff) >>> 0) + ((lin >>> 12) & 0x1ff) * 8;
  const pte = tableWord(mem, pteAt), pteHi = tableWord(mem, pteAt + 4);
  if ((pte & P) === 0 || (pteHi & 0xf) !== 0) return null;
  return {
    pa: ((pte & ~0xfff) | (lin & 0xfff)) >>> 0, writable: (pde & pte & RW) !== 0, user: (pde & pte & US) !== 0,
    noExec: nxe && (pdeHi < 0 || pteHi < 0), pageSize: 4096, entry: pte >>> 0,
  };
}

/** Read `len` bytes at a guest-virtual address; null when a page is not mapped or not RAM. */
export function readLinear(mem: GuestMemory, r: PagingRegs, lin: number, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const at = (lin + done) >>> 0;
    const m = translateLinear(mem, r, at);
    const n = Math.min(len - done, 4096 - (at & 0xfff));
    if (!m || !mem.isRam(m.pa, n)) return null;
    out.set(mem.read(m.pa, n), done);
    done += n;
  }
  return out;
}

/** A run of guest-virtual addresses mapped contiguously with the same rights (QEMU's `info mem`). */
export interface MappedRange { start: number; end: number; pa: number; writable: boolean; user: boolean; noExec: boolean }

/**
 * The guest's mappings, merged into ranges that are virtually and physically
 * contiguous with the same rights; at most `limit` ranges.
 */
export function listMappings(mem: GuestMemory, r: PagingRegs, limit = 1000): MappedRange[] {
  const out: MappedRange[] = [];
  const mode = pagingMode(r);
  if (mode === "none") return out;
  const add = (lin: number, m: GuestMapping, size: number) => {
    const last = out[out.length - 1];
    if (last && last.end === lin && last.pa + (last.end - last.start) === m.pa &&
      last.writable === m.writable && last.user === m.user && last.noExec === m.noExec) { last.end = lin + size; return; }
    out.push({ start: lin, end: lin + size, pa: m.pa, writable: m.writable, user: m.user, noExec: m.noExec });
  };
  // Step by directory entry and skip empty ones, so a sparse 4 GiB space costs little.
  const dirSpan = mode === "pae" ? 2 << 20 : 4 << 20;
  for (let dir = 0; dir < 0x100000000 && out.length <= limit; dir += dirSpan) {
    const m = translateLinear(mem, r, dir);
    if (m && m.pageSize >= dirSpan) { add(dir, m, dirSpan); continue; }
    if (!m && !directoryPresent(mem, r, dir)) continue;
    for (let lin = dir; lin < dir + dirSpan; lin += 4096) {
      const p = lin === dir ? m : translateLinear(mem, r, lin);
      if (p) add(lin, p, 4096);
    }
  }
  return out.slice(0, limit);
}

/** Is the directory entry covering `lin` present (so its page table is worth walking)? */
function directoryPresent(mem: GuestMemory, r: PagingRegs, lin: number): boolean {
  if (pagingMode(r) === "32-bit") return (tableWord(mem, ((r.cr3 & ~0xfff) >>> 0) + (lin >>> 22) * 4) & P) !== 0;
  const pdpte = tableWord(mem, ((r.cr3 & ~0x1f) >>> 0) + (lin >>> 30) * 8);
  if ((pdpte & P) === 0) return false;
  return (tableWord(mem, ((pdpte & ~0xfff) >>> 0) + ((lin >>> 21) & 0x1ff) * 8) & P) !== 0;
}
