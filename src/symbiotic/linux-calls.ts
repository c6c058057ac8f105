/**
 * Typed wrappers for the SymCalls a symbiotic Linux guest answers
 * (guests/linux/symbiotic, docs/symbiotic.md): the process list, the
 * interrupted task, a virtual-address lookup in a process, memory figures.
 * Each returns the decoded answer or an error string (the call's own error:
 * refused, the guest's errno, budget, …); the guest's state is intact either
 * way.
 *
 * @module
 */
import type { Symbiotic } from "./symbiotic.js";
import type { SymcallResult } from "./symcall.js";
import { SymcallNr, TaskRecord, LookupPerm } from "./abi.js";

/** One process as the guest's task list has it. */
export interface GuestTask {
  pid: number;
  ppid: number;
  uid: number;
  /** /proc/PID/stat's state letter. */
  state: string;
  threads: number;
  vszKiB: number;
  rssKiB: number;
  kernelThread: boolean;
  comm: string;
}

/** A decoded answer, or the call's error; `code` is the guest's errno when it answered with one (-3 ESRCH …). */
export type Answer<T> = { ok: true; value: T } | { ok: false; error: string; code?: number };

/** A failed call as an Answer, keeping the guest's error code. */
function failed(r: SymcallResult & { ok: false }): { ok: false; error: string; code?: number } {
  return r.code === undefined ? { ok: false, error: r.error } : { ok: false, error: r.error, code: r.code };
}

function decodeTask(b: Uint8Array, at: number): GuestTask {
  const dv = new DataView(b.buffer, b.byteOffset + at, TaskRecord.SIZE);
  const u = (o: number) => dv.getUint32(o, true);
  const comm = b.subarray(at + TaskRecord.COMM, at + TaskRecord.COMM + TaskRecord.COMM_LEN);
  const end = comm.indexOf(0);
  return {
    pid: u(TaskRecord.PID), ppid: u(TaskRecord.PPID), uid: u(TaskRecord.UID), state: String.fromCharCode(u(TaskRecord.STATE) & 0xff),
    threads: u(TaskRecord.THREADS), vszKiB: u(TaskRecord.VSZ_KIB), rssKiB: u(TaskRecord.RSS_KIB),
    kernelThread: (u(TaskRecord.FLAGS) & 1) !== 0, comm: String.fromCharCode(...(end < 0 ? comm : comm.subarray(0, end))),
  };
}

/** Read `count` task records the guest left at `gpa`. */
function readTasks(sym: Symbiotic, gpa: number, count: number, size: number): Answer<GuestTask[]> {
  if (size !== TaskRecord.SIZE) return { ok: false, error: `the guest's task records are ${size} bytes, this VMM reads ${TaskRecord.SIZE}` };
  if (!sym.vm.memory.isRam(gpa, count * size)) return { ok: false, error: `the guest's buffer at 0x${gpa.toString(16)} is not in RAM` };
  const b = sym.vm.memory.read(gpa, count * size);
  return { ok: true, value: Array.from({ length: count }, (_, i) => decodeTask(b, i * size)) };
}

/** The guest's processes, by SYMCALL_PS, one call per buffer-full (nothing else runs in between). */
export function guestProcesses(sym: Symbiotic): Answer<GuestTask[]> {
  const all: GuestTask[] = [];
  let cursor = 0;
  for (let page = 0; page < 1000; page++) {
    const r = sym.call(SymcallNr.PS, cursor);
    if (!r.ok) return failed(r);
    const [count, gpa, next, size] = r.regs;
    const tasks = readTasks(sym, gpa, count, size);
    if (!tasks.ok) return tasks;
    all.push(...tasks.value);
    if (next === 0) return { ok: true, value: all };
    if (next <= cursor) return { ok: false, error: `the guest's process list cursor went from ${cursor} to ${next}` };
    cursor = next;
  }
  return { ok: false, error: "the guest's process list did not end after 1000 pages" };
}

/** The task the guest was running on `vcpu` when the VMM called (SYMCALL_CURRENT); `cpu` is the guest's own CPU number. */
export function guestCurrent(sym: Symbiotic, vcpu = 0): Answer<GuestTask & { tid: number; cpu: number }> {
  const r = sym.callOn(vcpu, SymcallNr.CURRENT);
  if (!r.ok) return failed(r);
  const [, tid, gpa, cpu] = r.regs;
  const t = readTasks(sym, gpa, 1, TaskRecord.SIZE);
  if (!t.ok) return t;
  return { ok: true, value: { ...t.value[0]!, tid, cpu } };
}

/** What MEM_LOOKUP says about a virtual address in a process. */
export interface VaddrInfo {
  /** The page's address, or 0 when no mapping covers the address. */
  vaddr: number;
  /** The PTE now in the process's page tables (0: none). */
  pte: number;
  readable: boolean; writable: boolean; executable: boolean;
  /** The page is present in memory. */
  present: boolean;
  /** The covering mapping (as a line of /proc/PID/maps). */
  start: number; end: number;
}

/** SYMCALL_MEM_LOOKUP for `vaddr` in process `pid` (0: the interrupted task). */
export function guestVaddr(sym: Symbiotic, pid: number, vaddr: number): Answer<VaddrInfo> {
  const r = sym.call(SymcallNr.MEM_LOOKUP, vaddr, 0, 0, pid);
  if (!r.ok) return failed(r);
  const [page, pte, perms, start, end] = r.regs;
  return {
    ok: true,
    value: {
      vaddr: page, pte, readable: (perms & LookupPerm.READ) !== 0, writable: (perms & LookupPerm.WRITE) !== 0,
      executable: (perms & LookupPerm.EXEC) !== 0, present: (perms & LookupPerm.PRESENT) !== 0, start, end,
    },
  };
}

/** Memory figures in KiB (SYMCALL_MEMINFO). */
export interface GuestMeminfo { totalKiB: number; freeKiB: number; availableKiB: number; swapTotalKiB: number; swapFreeKiB: number }

export function guestMeminfo(sym: Symbiotic): Answer<GuestMeminfo> {
  const r = sym.call(SymcallNr.MEMINFO);
  if (!r.ok) return failed(r);
  const [totalKiB, freeKiB, availableKiB, swapTotalKiB, swapFreeKiB] = r.regs;
  return { ok: true, value: { totalKiB, freeKiB, availableKiB, swapTotalKiB, swapFreeKiB } };
}
