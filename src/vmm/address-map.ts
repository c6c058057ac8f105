/**
 * The monitor's `info mtree`: the guest's two address spaces as its accesses find them (QEMU's `info mtree -f`,
 * the flattened view). Memory is decoded as the core decodes it — a device's MMIO range first, then the VGA window
 * and the firmware ROM, then the guest-physical map, whose pages are host frames with permissions, withdrawn
 * ("trap": every access is an EPT-violation exit the VMM handles — a balloon's pages, a debugger's watched ones), or
 * unassigned (the MMIO bus answers). Ports are the port bus's ranges, with the ones served without an exit (the I/O
 * bitmap's direct ports) marked. A region that is a PCI function's BAR names the function.
 *
 * @module
 */
import { P2mBits, PhysKind } from "../engine/core.js";
import { PciFunction, pciAddress, type PciBus } from "../devices/pci.js";
import type { Vm } from "./vm.js";

const PAGE = 4096;
const PAGES = 0x100000; // 4 GiB of 4 KiB pages

const hex = (n: number, w: number) => (n >>> 0).toString(16).padStart(w, "0");

/** One run of pages the same decode and map entry kind covers (RAM runs also have contiguous host frames). */
interface Run { start: number; end: number; kind: "ram" | "rom" | "mmio" | "trap" | "unassigned"; perms: string; frame: number; writesExit: boolean }

/** `info mtree`'s text for `vm`; `pci` names the regions that are its functions' BARs. */
export function describeAddressSpaces(vm: Vm, pci?: PciBus): string {
  const bars = pci ? decodedBars(pci) : [];
  const owner = (space: "io" | "mem", base: number, length: number) =>
    bars.find((b) => b.space === space && base >= b.base && base + length <= b.base + b.size)?.name;
  const out = ["memory (guest-physical)"];
  for (const r of memoryRuns(vm)) {
    const range = `  ${hex(r.start, 8)}-${hex(r.end - 1, 8)}`;
    if (r.kind === "ram") {
      out.push(`${range}  ram ${r.perms}${r.writesExit ? " (writes exit)" : ""}  host frames ${hex(r.frame, 8)}-${hex(r.frame + (r.end - r.start) - 1, 8)}`);
    } else if (r.kind === "rom") {
      out.push(`${range}  rom (the firmware image, read-only)`);
    } else if (r.kind === "trap") {
      out.push(`${range}  trap (withdrawn: every access exits to the VMM)`);
    } else {
      // A device's range, or unassigned pages: the MMIO bus's regions there. Whole pages of a device range no device
      // claims read as all ones (a VGA window without a VGA); unassigned ones are left out, as QEMU's flat view does.
      let at = r.start;
      const gap = (until: number) => {
        const from = Math.ceil(at / PAGE) * PAGE, to = Math.floor(until / PAGE) * PAGE;
        if (r.kind === "mmio" && from < to) out.push(`  ${hex(from, 8)}-${hex(to - 1, 8)}  mmio, no device (reads as all ones)`);
      };
      for (const m of vm.mmio.regions()) {
        const start = Math.max(m.base, r.start), end = Math.min(m.base + m.length, r.end);
        if (start >= end) continue;
        gap(start);
        const pciName = owner("mem", m.base, m.length);
        out.push(`  ${hex(start, 8)}-${hex(end - 1, 8)}  mmio ${m.device.name}${pciName ? ` (${pciName})` : ""}`);
        at = end;
      }
      gap(r.end);
    }
  }
  out.push("I/O ports");
  for (const p of vm.ports.regions()) {
    const pciName = owner("io", p.base, p.length);
    out.push(`  ${hex(p.base, 4)}-${hex(p.base + p.length - 1, 4)}  ${p.device.name}${pciName ? ` (${pciName})` : ""}${directness(vm, p.base, p.length)}`);
  }
  return out.join("\n");
}

/** The 4 GiB of guest-physical space as runs (unassigned ones with no device left out by the caller). */
function memoryRuns(vm: Vm): Run[] {
  const runs: Run[] = [];
  const core = vm.core, memory = vm.memory;
  let cur: Run | null = null;
  for (let p = 0; p < PAGES; p++) {
    const gpa = p * PAGE;
    const decoded = core.physKindOf(gpa | 0);
    let kind: Run["kind"], perms = "", frame = 0, writesExit = false;
    if (decoded === PhysKind.mmio) kind = "mmio";
    else if (decoded === PhysKind.rom) kind = "rom";
    else {
      const e = memory.entry(gpa);
      if (e & P2mBits.valid) {
        kind = "ram";
        perms = `${e & P2mBits.read ? "r" : "-"}${e & P2mBits.write ? "w" : "-"}${e & P2mBits.exec ? "x" : "-"}`;
        frame = (e & ~0xfff) >>> 0;
        writesExit = (e & P2mBits.writeMmio) !== 0;
      } else kind = e & P2mBits.trap ? "trap" : "unassigned";
    }
    if (cur && cur.kind === kind && cur.perms === perms && cur.writesExit === writesExit && (kind !== "ram" || frame === cur.frame + (gpa - cur.start))) {
      cur.end = gpa + PAGE;
      continue;
    }
    cur = { start: gpa, end: gpa + PAGE, kind, perms, frame, writesExit };
    runs.push(cur);
  }
  return runs;
}

/** Every BAR a function decodes now, named "PCI 00:SS.F BARn". */
function decodedBars(pci: PciBus): { space: "io" | "mem"; base: number; size: number; name: string }[] {
  const bars = [];
  for (const { slot, fn, dev } of pci.list()) {
    if (!(dev instanceof PciFunction)) continue;
    for (let i = 0; i < 6; i++) {
      const bar = dev.bar(i), base = dev.barAddress(i);
      if (bar && base !== null) bars.push({ space: bar.kind === "io" ? "io" as const : "mem" as const, base, size: bar.size, name: `PCI ${pciAddress(slot, fn)} BAR${i}` });
    }
  }
  return bars;
}

/** ", direct" when the range's ports are served without an exit (both ways, or the one way named). */
function directness(vm: Vm, base: number, length: number): string {
  const all = (out: boolean) => { for (let p = base; p < base + length; p++) if (!vm.direct.isDirect(p, out)) return false; return true; };
  const reads = all(false), writes = all(true);
  return reads && writes ? ", direct (no exits)" : reads ? ", direct reads" : writes ? ", direct writes" : "";
}
