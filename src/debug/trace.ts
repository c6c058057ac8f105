/**
 * An instruction trace, as QEMU's `-d in_asm,exec` with one instruction a block: every instruction a vCPU is
 * about to execute — CS:EIP, its bytes and its text (src/debug/x86-disasm.ts) — one line each, to a sink
 * (`symbiont run … --trace FILE`). It steps the guest with the monitor trap flag, an exit after every instruction
 * (REP string instructions exit after each chunk of iterations and are listed again until done), so a traced guest
 * runs at the speed of the VMM's exit path: for a kernel's first steps, not for a Linux boot.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import { codeSize } from "../vmm/cpu-state.js";
import { readLinear } from "../vmm/guest-paging.js";
import { disassembleAt } from "./x86-disasm.js";

/** Who asks the VM for monitor-trap exits here (Vm.requestMonitorTrap). */
const MTF_OWNER = "trace";

export class InstructionTrace {
  /** Instructions listed so far. */
  count = 0;

  /** Trace every vCPU of `vm` from the instruction each is at now; `write` gets each line (no newline). */
  constructor(private readonly vm: Vm, private readonly write: (line: string) => void) {
    vm.onMonitorTrap(() => { this.list(); return "resume"; });
    for (let i = 0; i < vm.vcpus.length; i++) vm.requestMonitorTrap(MTF_OWNER, true, i);
    this.list();
  }

  /** The running vCPU's next instruction, as a line: `0008:00100000  bc 00 80 10 00   mov    $0x108000,%esp`. */
  private list(): void {
    const st = this.vm.getState();
    const linear = (st.cs.base + st.eip) >>> 0;
    const regs = { cr0: st.cr0, cr3: st.cr3, cr4: st.cr4, efer: st.efer };
    const insn = disassembleAt((a, n) => readLinear(this.vm.memory, regs, a, n), linear, codeSize(st));
    const where = `${this.vm.vcpus.length > 1 ? `cpu${this.vm.vcpu.index} ` : ""}${hex(st.cs.selector, 4)}:${hex(st.eip, 8)}`;
    this.count++;
    if (!insn) { this.write(`${where}  (no memory at linear ${hex(linear, 8)})`); return; }
    const bytes = Array.from(insn.bytes, (b) => hex(b, 2)).join(" ");
    this.write(`${where}  ${bytes.padEnd(20)}  ${insn.text}`);
  }
}

const hex = (v: number, width: number) => (v >>> 0).toString(16).padStart(width, "0");
