/**
 * Nested paging (VT-x EPT / AMD NPT): the core translates every guest
 * page-table reference and every final guest-physical address through
 * nested page tables that this strategy builds in host frames, in the 32-bit
 * page-table format (4 KiB pages, and 4 MiB pages where the guest-physical
 * map allows). They start empty and are filled on demand at EPT violations
 * from the guest-physical map (vm.memory), which stays the one authority:
 * a map change drops exactly the nested entries derived from it. The guest's
 * own page tables, CR3 and page faults are left entirely to the guest.
 *
 * Violations this strategy cannot resolve — the map withdrew the page, or
 * forbids the access — go on to the VM's onEptViolation hooks.
 *
 * @module
 */
import { Control, NptBits, PagingModeCode } from "../../engine/core.js";
import type { Vm } from "../vm.js";
import type { GuestMemory } from "../memory.js";
import type { PagingStrategy, ExitAction, PagingExit } from "./strategy.js";

const PAGE = 4096;
const LARGE = 4 << 20;

export interface NestedPagingOptions {
  /** Use 4 MiB nested pages where the map is uniform over an aligned 4 MiB (default true). */
  largePages?: boolean;
}

export class NestedPaging implements PagingStrategy {
  readonly mode = "nested" as const;
  private vm!: Vm;
  private mem!: GuestMemory;
  private root = 0;
  /** Nested page-table frames by directory index (4 KiB mappings under a 4 MiB region). */
  private readonly tables = new Map<number, number>();
  private readonly largePages: boolean;
  private fills = 0;
  private largeFills = 0;
  private mmioFills = 0;
  private drops = 0;

  constructor(opts: NestedPagingOptions = {}) { this.largePages = opts.largePages ?? true; }

  attach(vm: Vm): void {
    this.vm = vm;
    this.mem = vm.memory;
    this.root = this.mem.allocFrame();
    this.mem.onChange((gpa, pages) => this.drop(gpa, pages));
    vm.setControl(Control.NptRoot, this.root);
    vm.setControl(Control.PagingMode, PagingModeCode.Nested);
  }

  handle(exit: PagingExit): ExitAction | undefined {
    if (exit.reason !== "ept-violation" || !exit.nested) return undefined;
    const e = this.mem.lookup(exit.gpa);
    const gpaPage = exit.gpa & ~(PAGE - 1);
    if (e.kind === "unassigned") { this.install(gpaPage, NptBits.present | NptBits.mmio); this.mmioFills++; return "resume"; }
    if (e.kind === "trap") return undefined; // the VMM withdrew it: its hooks decide
    const allowed = exit.access === "write" ? e.write || e.writesExit : exit.access === "fetch" ? e.exec : e.read;
    if (!allowed) return undefined;
    if (this.largePages && this.tryLarge(exit.gpa)) return "resume";
    this.install(gpaPage, e.frame | leafBits(e));
    return "resume";
  }

  /** A 4 MiB nested page when the whole aligned 4 MiB is mapped contiguously from an aligned frame with one set of permissions. */
  private tryLarge(gpa: number): boolean {
    const base = Math.floor(gpa / LARGE) * LARGE;
    const first = this.mem.entry(base);
    if ((first & 0xfff) === 0 || (first & ~0xfff) % LARGE !== 0) return false;
    for (let i = 1; i < LARGE / PAGE; i++) {
      if (this.mem.entry(base + i * PAGE) !== first + i * PAGE) return false;
    }
    const e = this.mem.lookup(base);
    if (e.kind !== "mapped") return false;
    const pdeAddr = this.root + (base >>> 22) * 4;
    const old = this.mem.readHostU32(pdeAddr);
    if (old & NptBits.present && !(old & NptBits.large)) this.freeTable(base >>> 22);
    this.mem.writeHostU32(pdeAddr, e.frame | leafBits(e) | NptBits.large);
    this.largeFills++;
    return true;
  }

  /** A 4 KiB nested leaf for guest page `gpa`, with a nested table under its directory entry. */
  private install(gpa: number, leaf: number): void {
    const dir = gpa >>> 22;
    const pdeAddr = this.root + dir * 4;
    let table = this.tables.get(dir);
    if (table === undefined) {
      table = this.mem.allocFrame();
      this.tables.set(dir, table);
      // Directory entries allow everything; the leaves say what is allowed.
      this.mem.writeHostU32(pdeAddr, table | NptBits.present | NptBits.write);
    }
    this.mem.writeHostU32(table + ((gpa >>> 12) & 0x3ff) * 4, leaf);
    this.fills++;
  }

  /** The map changed for [gpa, gpa + pages·4 KiB): drop the nested entries derived from it. */
  private drop(gpa: number, pages: number): void {
    for (let p = 0; p < pages; p++) {
      const a = gpa + p * PAGE;
      const dir = a >>> 22;
      const pdeAddr = this.root + dir * 4;
      const pde = this.mem.readHostU32(pdeAddr);
      if (!(pde & NptBits.present)) continue;
      if (pde & NptBits.large) { this.mem.writeHostU32(pdeAddr, 0); this.drops++; continue; }
      const table = this.tables.get(dir)!;
      const slot = table + ((a >>> 12) & 0x3ff) * 4;
      if (this.mem.readHostU32(slot) & NptBits.present) { this.mem.writeHostU32(slot, 0); this.drops++; }
    }
    // (The TLB's combined translations through these entries were dropped by the map change itself.)
  }

  private freeTable(dir: number): void {
    const t = this.tables.get(dir);
    if (t === undefined) return;
    this.tables.delete(dir);
    this.mem.freeFrame(t);
  }

  stats(): Record<string, number> {
    return { nptFills: this.fills, nptLargeFills: this.largeFills, nptMmioFills: this.mmioFills, nptDrops: this.drops, nptFrames: 1 + this.tables.size };
  }
}

function leafBits(e: { read: boolean; write: boolean; exec: boolean; writesExit: boolean }): number {
  return NptBits.present | (e.read ? 0 : NptBits.noRead) | (e.write ? NptBits.write : 0) | (e.exec ? 0 : NptBits.noExec) |
    (e.writesExit && !e.write ? NptBits.writeMmio : 0);
}
