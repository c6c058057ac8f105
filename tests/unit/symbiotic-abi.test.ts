// The symbiotic ABI is declared three times, once per language: src/symbiotic/abi.ts
// (the VMM), guests/linux/symbiotic/symbiotic_abi.h (the Linux module; its layouts
// are also checked by the compiler's static_asserts) and tests/kernels/symbiotic.inc
// (nasm guests). They must agree; the Palacios values are the and
// vmm_symspy.c/vmm_symcall.c's.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import * as abi from "../../src/symbiotic/abi.js";

const header = readFileSync(new URL("../../guests/linux/symbiotic/symbiotic_abi.h", import.meta.url), "utf8");
const inc = readFileSync(new URL("../kernels/symbiotic.inc", import.meta.url), "utf8");

function defines(text: string, re: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(re)) {
    const v = m[2]!.replace(/[()]/g, "");
    const shift = /^1 << (\d+)$/.exec(v);
    out.set(m[1]!, shift ? 1 << Number(shift[1]) : Number(v));
  }
  return out;
}

const C = defines(header, /^#define\s+(\w+)\s+(\(1 << \d+\)|0x[0-9a-fA-F]+|\d+)(?=\s|$)/gm);
const NASM = defines(inc, /^(\w+)\s+equ\s+(0x[0-9a-fA-F]+|\d+)/gm);
const OFFSETS = new Map([...header.matchAll(/^SYMBIOTIC_ABI_OFFSET\((\w+), (\w+), (0x[0-9a-f]+|\d+)\);/gm)].map((m) => [`${m[1]}.${m[2]}`, Number(m[3])]));

describe("the symbiotic ABI agrees across the VMM, the Linux module and the nasm guests", () => {
  it("Palacios' values", () => {
    expect(abi.SYM_CPUID_LEAF).toBe(0x90000000);
    expect(abi.SYM_CPUID_EAX).toBe(0x00563356);
    expect(abi.SYM_CPUID_EBX).toBe(0x00584d56);
    expect(abi.Msr).toEqual({ SYMSPY_GLOBAL: 0x534, SYMSPY_LOCAL: 0x535, SYMCALL_RIP: 0x536, SYMCALL_RSP: 0x537, SYMCALL_CS: 0x538, SYMCALL_GS: 0x539, SYMCALL_FS: 0x540 });
    expect(abi.Hypercall).toEqual({ SYMCALL_RETURN: 0x535, SYMCALL_ERROR: 0x536 });
    expect([abi.SymcallNr.TEST, abi.SymcallNr.MEM_LOOKUP]).toEqual([1, 10]);
    expect([abi.LocalPage.SYM_CALL_ACTIVE, abi.LocalPage.SYM_CALL_ENABLED]).toEqual([1, 2]);
    expect([abi.GlobalPage.FEATURES, abi.GlobalPage.PCI_MAP, abi.GlobalPage.PCI_MAP_LEN, abi.LocalPage.FLAGS]).toEqual([8, 12, 128, 8]);
  });

  const shared: [string, number][] = [
    ["SYM_CPUID_LEAF", abi.SYM_CPUID_LEAF], ["SYM_CPUID_EAX", abi.SYM_CPUID_EAX],
    ["MSR_SYMSPY_GLOBAL", abi.Msr.SYMSPY_GLOBAL], ["MSR_SYMSPY_LOCAL", abi.Msr.SYMSPY_LOCAL], ["MSR_SYMCALL_RIP", abi.Msr.SYMCALL_RIP],
    ["MSR_SYMCALL_RSP", abi.Msr.SYMCALL_RSP], ["MSR_SYMCALL_CS", abi.Msr.SYMCALL_CS], ["MSR_SYMCALL_GS", abi.Msr.SYMCALL_GS],
    ["MSR_SYMCALL_FS", abi.Msr.SYMCALL_FS], ["HCALL_SYMCALL_RETURN", abi.Hypercall.SYMCALL_RETURN], ["HCALL_SYMCALL_ERROR", abi.Hypercall.SYMCALL_ERROR],
    ["SYMCALL_TEST", abi.SymcallNr.TEST], ["SYMCALL_MEM_LOOKUP", abi.SymcallNr.MEM_LOOKUP],
    ["SYM_CALL_ACTIVE", abi.LocalPage.SYM_CALL_ACTIVE], ["SYM_CALL_ENABLED", abi.LocalPage.SYM_CALL_ENABLED],
  ];

  it("the Linux module's header", () => {
    for (const [name, v] of [
      ...shared,
      ["SYMCALL_CURRENT", abi.SymcallNr.CURRENT], ["SYMCALL_PS", abi.SymcallNr.PS], ["SYMCALL_MEMINFO", abi.SymcallNr.MEMINFO],
      ["SYMCALL_SWAP_MAP", abi.SymcallNr.SWAP_MAP], ["HCALL_PROTECTION_CHANGED", abi.Notify.PROTECTION_CHANGED],
      ["LOOKUP_READ", abi.LookupPerm.READ], ["LOOKUP_WRITE", abi.LookupPerm.WRITE], ["LOOKUP_USER", abi.LookupPerm.USER],
      ["LOOKUP_EXEC", abi.LookupPerm.EXEC], ["LOOKUP_PRESENT", abi.LookupPerm.PRESENT], ["LOOKUP_SWAP_CACHED", abi.LookupPerm.SWAP_CACHED],
      ["SYMSPY_EXT_OFFSET", abi.Ext.OFFSET], ["SYMSPY_EXT_MAGIC", abi.Ext.MAGIC_VALUE], ["SYMSPY_EXT_VERSION", abi.Ext.VERSION],
      ["TASK_RECORD_SIZE", abi.TaskRecord.SIZE],
    ] as [string, number][]) expect(C.get(name), name).toBe(v);
    const want: Record<string, number> = {
      "symspy_global_page.feature_flags": abi.GlobalPage.FEATURES, "symspy_global_page.pci_pt_map": abi.GlobalPage.PCI_MAP,
      "symspy_global_page.ext": abi.Ext.OFFSET, "symspy_global_page.mem_total_kib": abi.GlobalExt.MEM_TOTAL,
      "symspy_global_page.mem_free_kib": abi.GlobalExt.MEM_FREE, "symspy_global_page.mem_available_kib": abi.GlobalExt.MEM_AVAILABLE,
      "symspy_global_page.swap_total_kib": abi.GlobalExt.SWAP_TOTAL, "symspy_global_page.swap_free_kib": abi.GlobalExt.SWAP_FREE,
      "symspy_global_page.updates": abi.GlobalExt.UPDATES, "symspy_global_page.tasks": abi.GlobalExt.TASKS,
      "symspy_local_page.symcall_flags": abi.LocalPage.FLAGS, "symspy_local_page.ext": abi.Ext.OFFSET,
      "symspy_local_page.pid": abi.LocalExt.PID, "symspy_local_page.tid": abi.LocalExt.TID, "symspy_local_page.switches": abi.LocalExt.SWITCHES,
      "symspy_local_page.flags": abi.LocalExt.FLAGS, "symspy_local_page.comm": abi.LocalExt.COMM,
      "symspy_ext_header.guest_version": abi.Ext.GUEST_VERSION - abi.Ext.OFFSET, "symspy_ext_header.seq": abi.Ext.SEQ - abi.Ext.OFFSET,
      "symcall_task_record.ppid": abi.TaskRecord.PPID, "symcall_task_record.uid": abi.TaskRecord.UID, "symcall_task_record.state": abi.TaskRecord.STATE,
      "symcall_task_record.threads": abi.TaskRecord.THREADS, "symcall_task_record.vsz_kib": abi.TaskRecord.VSZ_KIB,
      "symcall_task_record.rss_kib": abi.TaskRecord.RSS_KIB, "symcall_task_record.flags": abi.TaskRecord.FLAGS, "symcall_task_record.comm": abi.TaskRecord.COMM,
    };
    expect(Object.fromEntries(OFFSETS)).toEqual(want);
  });

  it("the nasm include", () => {
    for (const [name, v] of [
      ...shared,
      ["LOCAL_FLAGS", abi.LocalPage.FLAGS], ["GLOBAL_FEATURES", abi.GlobalPage.FEATURES],
      ["EXT_VMM_MAGIC", abi.Ext.VMM_MAGIC], ["EXT_VMM_VERSION", abi.Ext.VMM_VERSION], ["EXT_GUEST_VERSION", abi.Ext.GUEST_VERSION],
      ["EXT_SEQ", abi.Ext.SEQ], ["EXT_MAGIC_VALUE", abi.Ext.MAGIC_VALUE], ["EXT_VERSION", abi.Ext.VERSION],
      ["GEXT_MEM_TOTAL", abi.GlobalExt.MEM_TOTAL], ["GEXT_MEM_FREE", abi.GlobalExt.MEM_FREE], ["GEXT_MEM_AVAILABLE", abi.GlobalExt.MEM_AVAILABLE],
      ["GEXT_SWAP_TOTAL", abi.GlobalExt.SWAP_TOTAL], ["GEXT_SWAP_FREE", abi.GlobalExt.SWAP_FREE], ["GEXT_UPDATES", abi.GlobalExt.UPDATES],
      ["GEXT_TASKS", abi.GlobalExt.TASKS], ["LEXT_PID", abi.LocalExt.PID], ["LEXT_TID", abi.LocalExt.TID],
      ["LEXT_SWITCHES", abi.LocalExt.SWITCHES], ["LEXT_FLAGS", abi.LocalExt.FLAGS], ["LEXT_COMM", abi.LocalExt.COMM],
    ] as [string, number][]) expect(NASM.get(name), name).toBe(v);
  });
});
