/**
 * The monitor's `info mem` and `info tlb`: the guest's 32-bit or PAE page tables as QEMU's monitor prints them
 * (target/i386/monitor.c), so that what a user knows from QEMU reads the same here — `info mem` the linear ranges of
 * one set of rights (`u` user, `r`, `w` writable: the rights of every level combined), `info tlb` every present leaf:
 * its linear address, the entry's frame bits and its flags X (no-execute, PAE), G, P (a large page), D, A, C (PCD),
 * T (PWT), U, W — the leaf's own bits, as QEMU shows them. Read from guest RAM, as the tables are now.
 *
 * @module
 */
import type { GuestMemory } from "./memory.js";
import { pagingMode, tableWord, type PagingRegs } from "./guest-paging.js";

const P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
const PROT = US | RW | P;
const CR4_PSE = 0x10;

/**
 * Every linear address where the rights may change, in order, with the rights from there on (0: not mapped), and
 * each present leaf as it is met: QEMU's walk, which `info mem` and `info tlb` share.
 */
function walk(mem: GuestMemory, r: PagingRegs, at: (lin: number, prot: number) => void, leaf: (lin: number, lo: number, hi: number, large: boolean) => void): void {
  if (pagingMode(r) === "32-bit") {
    const pd = (r.cr3 & ~0xfff) >>> 0;
    for (let l1 = 0; l1 < 1024; l1++) {
      const pde = tableWord(mem, pd + l1 * 4), base = l1 * 0x400000;
      if (!(pde & P)) { at(base, 0); continue; }
      if (pde & PS && r.cr4 & CR4_PSE) { at(base, pde & PROT); leaf(base, pde, 0, true); continue; }
      for (let l2 = 0; l2 < 1024; l2++) {
        const pte = tableWord(mem, ((pde & ~0xfff) >>> 0) + l2 * 4), lin = base + l2 * 4096;
        at(lin, pte & P ? pte & pde & PROT : 0);
        if (pte & P) leaf(lin, pte & ~PS, 0, false);
      }
    }
    return;
  }
  // A table above 4 GiB (an entry's address bits 32-51 set) is no guest RAM: its entries read as not present.
  const below4G = (hi: number) => (hi & 0xfffff) === 0;
  const pdpt = (r.cr3 & ~0x1f) >>> 0;
  for (let l1 = 0; l1 < 4; l1++) {
    const pdpte = tableWord(mem, pdpt + l1 * 8), base1 = l1 * 0x40000000;
    if (!(pdpte & P) || !below4G(tableWord(mem, pdpt + l1 * 8 + 4))) { at(base1, 0); continue; }
    for (let l2 = 0; l2 < 512; l2++) {
      const pdeAt = ((pdpte & ~0xfff) >>> 0) + l2 * 8, base2 = base1 + l2 * 0x200000;
      const pde = tableWord(mem, pdeAt), pdeHi = tableWord(mem, pdeAt + 4);
      if (!(pde & P)) { at(base2, 0); continue; }
      if (pde & PS) { at(base2, pde & PROT); leaf(base2, pde, pdeHi, true); continue; }
      if (!below4G(pdeHi)) { at(base2, 0); continue; }
      for (let l3 = 0; l3 < 512; l3++) {
        const pteAt = ((pde & ~0xfff) >>> 0) + l3 * 8, lin = base2 + l3 * 4096;
        const pte = tableWord(mem, pteAt);
        at(lin, pte & P ? pte & pde & PROT : 0);
        if (pte & P) leaf(lin, pte & ~PS, tableWord(mem, pteAt + 4), false);
      }
    }
  }
}

const hex16 = (hi: number, lo: number) => (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");
const addr16 = (n: number) => n.toString(16).padStart(16, "0");

/** QEMU's `info mem`: ranges of linear addresses with the same rights, `start-end size urw`. */
export function infoMem(mem: GuestMemory, r: PagingRegs): string[] {
  const out: string[] = [];
  let start = -1, last = 0;
  const at = (lin: number, prot: number) => {
    if (prot === last) return;
    if (last !== 0) out.push(`${addr16(start)}-${addr16(lin)} ${addr16(lin - start)} ${last & US ? "u" : "-"}r${last & RW ? "w" : "-"}`);
    start = prot !== 0 ? lin : -1;
    last = prot;
  };
  walk(mem, r, at, () => {});
  at(2 ** 32, 0);
  return out;
}

/** QEMU's `info tlb`: every present leaf, `linear: frame flags`. */
export function infoTlb(mem: GuestMemory, r: PagingRegs): string[] {
  const pae = pagingMode(r) === "pae";
  const out: string[] = [];
  walk(mem, r, () => {}, (lin, lo, hi, large) => {
    // (QEMU's masks: a PAE 2 MiB page keeps bit 20 of its frame, a 32-bit 4 MiB page bits 22 and up.)
    const frameLo = large ? lo & (pae ? ~0xfffff : ~0x3fffff) : lo & ~0xfff;
    const flag = (bit: number, c: string) => (lo & bit ? c : "-");
    out.push(`${addr16(lin)}: ${hex16(hi, frameLo)} ${hi & 0x80000000 ? "X" : "-"}${flag(G, "G")}${flag(PS, "P")}${flag(D, "D")}${flag(A, "A")}` +
      `${flag(PCD, "C")}${flag(PWT, "T")}${flag(US, "U")}${flag(RW, "W")}`);
  });
  return out;
}
