/**
 * SymSpy: the shared pages. The guest writes a GPA to MSR 0x534 (the VM's
 * global page) or 0x535 (its vCPU's local page); the VMM puts the page there
 * and both sides read and write it without exits. Reading the MSR returns the
 * page-aligned GPA (0 when none). A GPA outside RAM, in MMIO or ROM, or above
 * 4 GiB is refused with #GP, as a real MSR refuses a bad value; writing 0
 * removes the page (Symbiont's addition, so a guest can withdraw it; Palacios
 * would map it over page 0).
 *
 * The VMM writes Palacios' magic ("V3V", "V3V.<vcpu>") and the extension
 * header (abi.ts Ext) when the page appears; everything else is the guest's,
 * except the local page's sym_call_active bit, which the VMM keeps while a
 * call runs. {@link SymSpy.global} and {@link SymSpy.local} decode the pages.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import { Msr, GlobalPage, LocalPage, Ext, GlobalExt, LocalExt, PAGE_SIZE } from "./abi.js";

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

export class SymSpy {
  private globalGpa = 0;
  private readonly localGpa: number[];
  /** Last consistent extension snapshots, for reads that find the guest mid-update. */
  private lastGlobalExt: GlobalExtension | null = null;
  private readonly lastLocalExt: (LocalExtension | null)[];

  constructor(private readonly vm: Vm, readonly vcpus = 1) {
    this.localGpa = new Array<number>(vcpus).fill(0);
    this.lastLocalExt = new Array<LocalExtension | null>(vcpus).fill(null);
  }

  /** RDMSR 0x534/0x535. */
  readMsr(index: number, vcpu: number): bigint {
    return BigInt(index === Msr.SYMSPY_GLOBAL ? this.globalGpa : this.localGpa[vcpu]!);
  }

  /** WRMSR 0x534/0x535; false (#GP) for a GPA that is not guest RAM. */
  writeMsr(index: number, value: bigint, vcpu: number): boolean {
    if (value !== 0n && !this.placeable(value)) return false;
    const gpa = Number(value) & ~(PAGE_SIZE - 1);
    if (index === Msr.SYMSPY_GLOBAL) {
      this.globalGpa = gpa;
      this.lastGlobalExt = null;
      if (gpa !== 0) this.initPage(gpa, "V3V", 0);
    } else {
      this.localGpa[vcpu] = gpa;
      this.lastLocalExt[vcpu] = null;
      if (gpa !== 0) this.initPage(gpa, `V3V.${vcpu}`, 0);
    }
    return true;
  }

  /** Can a SymSpy page go at this MSR value: below 4 GiB, all of the page RAM, no device or ROM over it? */
  private placeable(value: bigint): boolean {
    if (value < 0n || value >= 1n << 32n) return false;
    const gpa = Number(value) & ~(PAGE_SIZE - 1);
    if (!this.vm.memory.isRam(gpa, PAGE_SIZE)) return false;
    if (gpa >= 0xa0000 && gpa < 0x100000) return false; // the PC's VGA window and BIOS area are not plain RAM
    for (let a = gpa; a < gpa + PAGE_SIZE; a += 1024) if (this.vm.mmio.isMapped(a)) return false;
    return true;
  }

  /**
   * A page appears: the VMM's part of it is written. (The page is the guest's
   * RAM at the GPA until the guest-physical map lets the VMM lay a frame of
   * its own over it; either way both sides address the same bytes.)
   */
  private initPage(gpa: number, magic: string, flags: number): void {
    const m = this.vm.memory;
    const bytes = new Uint8Array(8);
    for (let i = 0; i < magic.length && i < 8; i++) bytes[i] = magic.charCodeAt(i);
    m.write(gpa, bytes);
    m.writeU32(gpa + 8, flags);
    m.writeU32(gpa + Ext.VMM_MAGIC, Ext.MAGIC_VALUE);
    m.writeU32(gpa + Ext.VMM_VERSION, Ext.VERSION);
  }

  get globalPageGpa(): number { return this.globalGpa; }
  localPageGpa(vcpu: number): number { return this.localGpa[vcpu] ?? 0; }

  /** The local page's symcall flags (0 when the vCPU has no page). */
  localFlags(vcpu: number): number {
    const gpa = this.localPageGpa(vcpu);
    return gpa === 0 ? 0 : this.vm.memory.readU32(gpa + LocalPage.FLAGS);
  }

  /** Set or clear sym_call_active in a vCPU's local page. */
  setCallActive(vcpu: number, active: boolean): void {
    const gpa = this.localPageGpa(vcpu);
    if (gpa === 0) return;
    const f = this.vm.memory.readU32(gpa + LocalPage.FLAGS);
    this.vm.memory.writeU32(gpa + LocalPage.FLAGS, active ? f | LocalPage.SYM_CALL_ACTIVE : f & ~LocalPage.SYM_CALL_ACTIVE);
  }

  global(): SymSpyGlobal | null {
    const gpa = this.globalGpa;
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
    }, this.lastLocalExt[vcpu] ?? null);
    if (ext && !ext.stale) this.lastLocalExt[vcpu] = ext;
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
