/**
 * SymSpy: the shared pages. The guest writes a GPA to MSR 0x534 (the VM's
 * global page) or 0x535 (its vCPU's local page); the VMM allocates a host
 * frame of its own and maps it over the guest's RAM at that GPA in the
 * guest-physical map (vm.memory) — no copying: both sides read and write the
 * same frame without exits, in every paging mode (the map's change reaches
 * nested and shadow tables through memory.onChange). The RAM page under it is
 * hidden, not lost: when the guest moves the page (another GPA: the frame
 * moves with its contents, as Palacios keeps one page) or withdraws it
 * (writing 0, Symbiont's addition; Palacios would map it over page 0), the
 * RAM frame is mapped back with the permissions it had, and a withdrawn
 * page's frame goes back to the VMM's pool. Reading the MSR returns the
 * page-aligned GPA (0 when none). A GPA that is not plain guest RAM — above
 * 4 GiB, outside RAM, in MMIO, ROM or the VGA window, or a page the VMM has
 * already put a frame of its own over (the other SymSpy page) — is refused
 * with #GP, as a real MSR refuses a bad value.
 *
 * The VMM writes Palacios' magic ("V3V", "V3V.<vcpu>") and the extension
 * header (abi.ts Ext) when the page appears; everything else is the guest's,
 * except the local page's sym_call_active bit, which the VMM keeps while a
 * call runs. {@link SymSpy.global} and {@link SymSpy.local} decode the pages.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { Perms } from "../vmm/memory.js";
import { Msr, GlobalPage, LocalPage, Ext, GlobalExt, LocalExt, PAGE_SIZE } from "./abi.js";
import type { State, StateValue } from "../vmm/snapshot.js";

/** The global page, decoded. */
export interface SymSpyGlobal {
  gpa: number;
  /** The magic as text ("V3V"). */
  magic: string;
  featureFlags: number;
  pciMapValid: boolean;
  symmodEnabled: boolean;
  secSymmodEnabled: boolean;
  /** Passthrough PCI functions marked in pci_pt_map (buses 0-3). */
  pciPassthrough: { bus: number; dev: number; fn: number }[];
  /** Symbiont's extension as the guest last left it consistent; null when the guest fills none. */
  ext: GlobalExtension | null;
}

export interface GlobalExtension {
  version: number;
  memTotalKiB: number; memFreeKiB: number; memAvailableKiB: number;
  swapTotalKiB: number; swapFreeKiB: number;
  /** Refreshes the guest has made (it moves while the guest runs). */
  updates: number;
  tasks: number;
  /** The guest was interrupted mid-update: these are the last consistent values the VMM read. */
  stale: boolean;
}

/** A vCPU's local page, decoded. */
export interface SymSpyLocal {
  vcpu: number;
  gpa: number;
  magic: string;
  symcallFlags: number;
  symCallActive: boolean;
  symCallEnabled: boolean;
  ext: LocalExtension | null;
}

export interface LocalExtension {
  version: number;
  /** Thread-group id of the task running on this vCPU (ps's PID). */
  pid: number;
  tid: number;
  comm: string;
  switches: number;
  kernelThread: boolean;
  idle: boolean;
  stale: boolean;
}

/** A SymSpy page where the guest put it: the VMM's frame over the RAM page at `gpa`. */
interface Placed {
  gpa: number;
  frame: number;
  /** How the RAM page under it was mapped, to map it back as it was. */
  under: { perms: Perms; writesExit: boolean };
}

export class SymSpy {
  private globalPage: Placed | null = null;
  /** Local pages by vCPU index. */
  private readonly localPages = new Map<number, Placed>();
  /** Last consistent extension snapshots, for reads that find the guest mid-update. */
  private lastGlobalExt: GlobalExtension | null = null;
  private readonly lastLocalExt = new Map<number, LocalExtension>();

  constructor(private readonly vm: Vm) {}

  /** vCPUs that may have a local page (the VM's). */
  get vcpus(): number { return this.vm.vcpus.length; }

  /** RDMSR 0x534/0x535. */
  readMsr(index: number, vcpu: number): bigint {
    return BigInt(index === Msr.SYMSPY_GLOBAL ? this.globalPageGpa : this.localPageGpa(vcpu));
  }

  /** WRMSR 0x534/0x535; false (#GP) for a GPA that is not plain guest RAM. */
  writeMsr(index: number, value: bigint, vcpu: number): boolean {
    const global = index === Msr.SYMSPY_GLOBAL;
    const cur = global ? this.globalPage : this.localPages.get(vcpu) ?? null;
    if (value < 0n || value >= 1n << 32n) return false;
    const gpa = Number(value) & ~(PAGE_SIZE - 1);
    if (value !== 0n && gpa !== cur?.gpa && !this.placeable(gpa)) return false;
    const placed = this.place(cur, value === 0n ? null : gpa);
    if (global) { this.globalPage = placed; this.lastGlobalExt = null; }
    else {
      if (placed) this.localPages.set(vcpu, placed); else this.localPages.delete(vcpu);
      this.lastLocalExt.delete(vcpu);
    }
    if (placed) this.initPage(placed.gpa, global ? "V3V" : `V3V.${vcpu}`, 0);
    return true;
  }

  /** Can a SymSpy page go at `gpa`: is the page plain guest RAM at its own frame? */
  private placeable(gpa: number): boolean {
    const m = this.vm.memory;
    if (gpa + PAGE_SIZE > m.ramBytes || !m.isRam(gpa, PAGE_SIZE, true)) return false; // MMIO, ROM, VGA window, beyond RAM
    const e = m.lookup(gpa);
    return e.kind === "mapped" && e.frame === gpa; // not a frame the VMM put there (guest RAM is identity-mapped)
  }

  /**
   * Put the page at `gpa` (null: withdraw it): the RAM frame under its old
   * place is mapped back, the page's frame (allocated on first use) mapped
   * over the new one, read/write, not executable.
   */
  private place(cur: Placed | null, gpa: number | null): Placed | null {
    const m = this.vm.memory;
    if (cur) m.map(cur.gpa, cur.gpa, cur.under.perms, 1, cur.under.writesExit);
    if (gpa === null) {
      if (cur) m.freeFrame(cur.frame);
      return null;
    }
    const e = m.lookup(gpa);
    const under = e.kind === "mapped"
      ? { perms: { read: e.read, write: e.write, exec: e.exec }, writesExit: e.writesExit }
      : { perms: { read: true, write: true, exec: true }, writesExit: false };
    const frame = cur?.frame ?? m.allocFrame();
    m.map(gpa, frame, { read: true, write: true });
    return { gpa, frame, under };
  }

  /** Where the pages are, what was under them, and their contents (a snapshot's part). */
  save(): State {
    const m = this.vm.memory;
    const page = (p: Placed | null | undefined): State | null => p ? { gpa: p.gpa, under: { ...p.under.perms, writesExit: p.under.writesExit }, bytes: m.readHost(p.frame, PAGE_SIZE) } : null;
    return { global: page(this.globalPage), local: Array.from({ length: this.vcpus }, (_, i) => page(this.localPages.get(i))) };
  }

  /** Take back save()'s pages: each goes over the RAM page it was over, in a frame of this VMM's, with its contents. */
  restore(state: State): void {
    const m = this.vm.memory;
    const put = (s: StateValue): Placed | null => {
      if (s === null) return null;
      const saved = s as { gpa: number; under: Perms & { writesExit: boolean }; bytes: Uint8Array };
      const placed = this.place(null, saved.gpa)!;
      const { writesExit, ...perms } = saved.under;
      placed.under = { perms, writesExit };
      m.writeHost(placed.frame, saved.bytes);
      return placed;
    };
    this.place(this.globalPage, null);
    for (const p of this.localPages.values()) this.place(p, null);
    this.localPages.clear();
    this.lastGlobalExt = null;
    this.lastLocalExt.clear();
    this.globalPage = put(state.global!);
    (state.local as StateValue[]).forEach((s, i) => { const p = put(s); if (p) this.localPages.set(i, p); });
  }

  /** A page appears: the VMM's part of it is written (Palacios' magic and flags, the extension header). */
  private initPage(gpa: number, magic: string, flags: number): void {
    const m = this.vm.memory;
    const bytes = new Uint8Array(8);
    for (let i = 0; i < magic.length && i < 8; i++) bytes[i] = magic.charCodeAt(i);
    m.write(gpa, bytes);
    m.writeU32(gpa + 8, flags);
    m.writeU32(gpa + Ext.VMM_MAGIC, Ext.MAGIC_VALUE);
    m.writeU32(gpa + Ext.VMM_VERSION, Ext.VERSION);
  }

  get globalPageGpa(): number { return this.globalPage?.gpa ?? 0; }
  localPageGpa(vcpu: number): number { return this.localPages.get(vcpu)?.gpa ?? 0; }
  /** The host frame behind a page (for tests and the monitor); -1 when there is none. */
  frameOf(page: "global" | number): number { return (page === "global" ? this.globalPage : this.localPages.get(page))?.frame ?? -1; }

  /** The local page's symcall flags (0 when the vCPU has no page). Read in the page's frame: no map lookup, as the guest reads it. */
  localFlags(vcpu: number): number {
    const p = this.localPages.get(vcpu);
    return p ? this.vm.memory.readHostU32(p.frame + LocalPage.FLAGS) : 0;
  }

  /** Set or clear sym_call_active in a vCPU's local page. */
  setCallActive(vcpu: number, active: boolean): void {
    const p = this.localPages.get(vcpu);
    if (!p) return;
    const m = this.vm.memory, at = p.frame + LocalPage.FLAGS, f = m.readHostU32(at);
    m.writeHostU32(at, active ? f | LocalPage.SYM_CALL_ACTIVE : f & ~LocalPage.SYM_CALL_ACTIVE);
  }

  global(): SymSpyGlobal | null {
    const gpa = this.globalPageGpa;
    if (gpa === 0) return null;
    const m = this.vm.memory;
    const features = m.readU32(gpa + GlobalPage.FEATURES);
    const map = m.read(gpa + GlobalPage.PCI_MAP, GlobalPage.PCI_MAP_LEN);
    const pciPassthrough: SymSpyGlobal["pciPassthrough"] = [];
    map.forEach((byte, i) => {
      for (let b = 0; b < 8; b++) if (byte & (1 << b)) { const idx = i * 8 + b; pciPassthrough.push({ bus: idx >> 8, dev: (idx >> 3) & 31, fn: idx & 7 }); }
    });
    const ext = this.consistent(gpa, (v) => ({
      version: v, memTotalKiB: m.readU32(gpa + GlobalExt.MEM_TOTAL), memFreeKiB: m.readU32(gpa + GlobalExt.MEM_FREE),
      memAvailableKiB: m.readU32(gpa + GlobalExt.MEM_AVAILABLE), swapTotalKiB: m.readU32(gpa + GlobalExt.SWAP_TOTAL),
      swapFreeKiB: m.readU32(gpa + GlobalExt.SWAP_FREE), updates: m.readU32(gpa + GlobalExt.UPDATES),
      tasks: m.readU32(gpa + GlobalExt.TASKS), stale: false,
    }), this.lastGlobalExt);
    if (ext && !ext.stale) this.lastGlobalExt = ext;
    return {
      gpa, magic: text(m.read(gpa + GlobalPage.MAGIC, 8)), featureFlags: features,
      pciMapValid: (features & GlobalPage.PCI_MAP_VALID) !== 0, symmodEnabled: (features & GlobalPage.SYMMOD_ENABLED) !== 0,
      secSymmodEnabled: (features & GlobalPage.SEC_SYMMOD_ENABLED) !== 0, pciPassthrough, ext,
    };
  }

  local(vcpu: number): SymSpyLocal | null {
    const gpa = this.localPageGpa(vcpu);
    if (gpa === 0) return null;
    const m = this.vm.memory;
    const flags = m.readU32(gpa + LocalPage.FLAGS);
    const ext = this.consistent(gpa, (v) => {
      const f = m.readU32(gpa + LocalExt.FLAGS);
      return {
        version: v, pid: m.readU32(gpa + LocalExt.PID), tid: m.readU32(gpa + LocalExt.TID),
        comm: text(m.read(gpa + LocalExt.COMM, LocalExt.COMM_LEN)), switches: m.readU32(gpa + LocalExt.SWITCHES),
        kernelThread: (f & 1) !== 0, idle: (f & 2) !== 0, stale: false,
      };
    }, this.lastLocalExt.get(vcpu) ?? null);
    if (ext && !ext.stale) this.lastLocalExt.set(vcpu, ext);
    return {
      vcpu, gpa, magic: text(m.read(gpa + LocalPage.MAGIC, 8)), symcallFlags: flags,
      symCallActive: (flags & LocalPage.SYM_CALL_ACTIVE) !== 0, symCallEnabled: (flags & LocalPage.SYM_CALL_ENABLED) !== 0, ext,
    };
  }

  /**
   * Read the extension inside the guest's sequence count. The guest does not
   * run while the VMM reads, so a count that is odd (or moves) means it was
   * stopped mid-update: the last consistent snapshot is returned, marked stale.
   */
  private consistent<T extends { stale: boolean }>(gpa: number, read: (version: number) => T, last: T | null): T | null {
    const m = this.vm.memory;
    const version = m.readU32(gpa + Ext.GUEST_VERSION);
    if (version === 0) return null;
    const seq = m.readU32(gpa + Ext.SEQ);
    const v = read(version);
    if ((seq & 1) === 0 && m.readU32(gpa + Ext.SEQ) === seq) return v;
    return last ? { ...last, stale: true } : { ...v, stale: true };
  }
}

/** NUL-terminated Latin-1 text. */
function text(b: Uint8Array): string {
  const end = b.indexOf(0);
  return String.fromCharCode(...(end < 0 ? b : b.subarray(0, end)));
}
