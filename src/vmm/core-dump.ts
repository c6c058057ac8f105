/**
 * The monitor's `dump-guest-memory` (QEMU's command): the machine as an ELF core file that GDB reads (`gdb -ex
 * "core-file FILE"`) — each vCPU's registers as an NT_PRSTATUS note, guest RAM as PT_LOAD segments.
 *
 * The note is Linux's i386 `struct elf_prstatus` (144 bytes: pr_pid at 24 — the vCPU's index + 1, which GDB shows
 * as its thread —, the 17 words of `user_regs_struct` at 72: EBX ECX EDX ESI EDI EBP EAX DS ES FS GS orig_EAX EIP
 * CS EFLAGS ESP SS), as QEMU writes it for an i386 guest (target/i386/arch_dump.c), the running vCPU first.
 *
 * Without paging (QEMU's default), a segment per run of guest-physical pages the map lets the guest read (pages a
 * balloon or the VMM withdrew are left out), at p_paddr = its guest-physical address — and at p_vaddr the same,
 * where QEMU writes 0, so that GDB reads a guest that does not page. With paging (`-p`, QEMU's), a segment per run
 * of the running vCPU's linear mappings that is contiguous in both spaces, at its linear address (p_paddr its
 * physical one): GDB then reads a kernel's or a process's memory at the addresses its symbols have.
 *
 * @module
 */
import type { Vm } from "./vm.js";
import type { CpuState } from "./cpu-state.js";
import { listMappings } from "./guest-paging.js";

const PAGE = 4096;
const EHDR = 52, PHDR = 32;
const PT_LOAD = 1, PT_NOTE = 4, ET_CORE = 4, EM_386 = 3, NT_PRSTATUS = 1;
const PRSTATUS_SIZE = 144, PR_PID = 24, PR_REG = 72;
/** One note: its header (namesz, descsz, type), "CORE\0" padded to 8, the 144-byte descriptor. */
const NOTE_SIZE = 12 + 8 + PRSTATUS_SIZE;
/** e_phnum is 16 bits; PN_XNUM (0xFFFF) would need a section header to hold the count. */
const MAX_SEGMENTS = 0xfffe;

/** A PT_LOAD segment: where the bytes are in the guest, and the guest-physical run they come from. */
interface Segment { vaddr: number; paddr: number; size: number }

/** The guest's core: what dump-guest-memory writes. Throws an Error saying why when it cannot be made. */
export function guestCoreDump(vm: Vm, paging: boolean): Uint8Array {
  const running = vm.vcpu.index;
  const order = [running, ...vm.vcpus.map((v) => v.index).filter((i) => i !== running)];
  const states = order.map((i) => vm.withVcpu(i, () => vm.getState()));
  const segments = paging ? linearSegments(vm, states[0]!) : physicalSegments(vm);
  if (segments.length > MAX_SEGMENTS) throw new Error(`dump-guest-memory: ${segments.length} segments, more than an ELF header counts`);

  const notesAt = EHDR + PHDR * (1 + segments.length);
  const dataAt = notesAt + NOTE_SIZE * states.length;
  const total = segments.reduce((n, s) => n + s.size, dataAt);
  if (total > 0x7fffffff) throw new Error(`dump-guest-memory: ${total} bytes, more than a dump here can hold (2 GiB)`);
  const out = new Uint8Array(total), dv = new DataView(out.buffer);
  const u16 = (at: number, v: number) => dv.setUint16(at, v, true), u32 = (at: number, v: number) => dv.setUint32(at, v >>> 0, true);

  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // ELF, 32-bit, little-endian, version 1 (System V ABI)
  u16(16, ET_CORE); u16(18, EM_386); u32(20, 1);
  u32(28, EHDR); u16(40, EHDR); u16(42, PHDR); u16(44, 1 + segments.length);

  const phdr = (i: number, type: number, offset: number, vaddr: number, paddr: number, size: number, flags: number) => {
    const at = EHDR + PHDR * i;
    u32(at, type); u32(at + 4, offset); u32(at + 8, vaddr); u32(at + 12, paddr);
    u32(at + 16, size); u32(at + 20, size); u32(at + 24, flags); u32(at + 28, type === PT_NOTE ? 4 : 0);
  };
  phdr(0, PT_NOTE, notesAt, 0, 0, NOTE_SIZE * states.length, 0);
  states.forEach((st, k) => writePrstatus(out, dv, notesAt + NOTE_SIZE * k, order[k]! + 1, st));

  let offset = dataAt;
  segments.forEach((s, i) => {
    phdr(1 + i, PT_LOAD, offset, s.vaddr, s.paddr, s.size, 7); // R W X
    out.set(vm.memory.read(s.paddr, s.size), offset);
    offset += s.size;
  });
  return out;
}

/** An NT_PRSTATUS note for one vCPU at `at`. */
function writePrstatus(out: Uint8Array, dv: DataView, at: number, pid: number, st: CpuState): void {
  dv.setUint32(at, 5, true); // namesz: "CORE\0"
  dv.setUint32(at + 4, PRSTATUS_SIZE, true);
  dv.setUint32(at + 8, NT_PRSTATUS, true);
  out.set([0x43, 0x4f, 0x52, 0x45, 0], at + 12);
  const desc = at + 20;
  dv.setUint32(desc + PR_PID, pid, true);
  const regs = [
    st.ebx, st.ecx, st.edx, st.esi, st.edi, st.ebp, st.eax, st.ds.selector, st.es.selector, st.fs.selector,
    st.gs.selector, st.eax /* orig_eax: no system call in progress to name */, st.eip, st.cs.selector, st.eflags, st.esp, st.ss.selector,
  ];
  regs.forEach((v, i) => dv.setUint32(desc + PR_REG + 4 * i, v >>> 0, true));
}

/** Runs of guest-physical pages the guest may read, in order. */
function physicalSegments(vm: Vm): Segment[] {
  const out: Segment[] = [];
  for (let pa = 0; pa < vm.ramBytes; pa += PAGE) {
    if (!vm.memory.isRam(pa, PAGE)) continue;
    const last = out[out.length - 1];
    if (last && last.paddr + last.size === pa) last.size += PAGE;
    else out.push({ vaddr: pa, paddr: pa, size: PAGE });
  }
  return out;
}

/** The running vCPU's linear mappings onto readable guest RAM, each run contiguous in both spaces. */
function linearSegments(vm: Vm, st: CpuState): Segment[] {
  if ((st.cr0 & 0x80000000) === 0) throw new Error("dump-guest-memory -p: the running vCPU does not page (CR0.PG is clear): dump without -p");
  const out: Segment[] = [];
  for (const r of listMappings(vm.memory, { cr0: st.cr0, cr3: st.cr3, cr4: st.cr4, efer: st.efer }, Infinity)) {
    for (let lin = r.start; lin < r.end; lin += PAGE) {
      const pa = r.pa + (lin - r.start);
      if (!vm.memory.isRam(pa, PAGE)) continue;
      const last = out[out.length - 1];
      if (last && last.vaddr + last.size === lin && last.paddr + last.size === pa) last.size += PAGE;
      else out.push({ vaddr: lin, paddr: pa, size: PAGE });
    }
  }
  return out;
}
