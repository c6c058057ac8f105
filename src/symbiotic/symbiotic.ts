/**
 * The symbiotic interfaces of a VM, compatible with Palacios: discovery by
 * CPUID leaf 0x90000000, SymSpy (symspy.ts) and SymCall (symcall.ts).
 * `new Symbiotic(vm)` attaches them (the PC does so unless told not to) and
 * sets `vm.symbiotic`:
 *
 * ```ts
 * const sym = pc.vm.symbiotic!;
 * sym.available;                        // the guest can take a SymCall on vCPU 0
 * sym.global?.ext?.memFreeKiB;          // SymSpy, as the guest keeps it, read without an exit
 * sym.local(0)?.ext?.comm;              // the task running on vCPU 0
 * const r = sym.call(SymcallNr.TEST, 1, 2, 3, 4, 5);
 * if (r.ok) r.regs; else r.error;       // results in EBX…EDI, or why not
 * ```
 *
 * `call` may be used between runs or from inside any exit handler (the run
 * loop is re-entrant: Vm.runNested). A guest that never uses the interfaces
 * sees no difference: the leaf is one the CPU did not define, the MSRs were
 * #GP before and are only answered now, and VMCALL 0x535/0x536 outside a call
 * get the unknown-hypercall answer they always got.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import { SYM_CPUID_LEAF, SYM_CPUID_EAX, SYM_CPUID_EBX, Msr, Hypercall, LocalPage } from "./abi.js";
import { SymSpy, type SymSpyGlobal, type SymSpyLocal } from "./symspy.js";
import { SymCall, type SymcallResult } from "./symcall.js";

export class Symbiotic {
  readonly spy: SymSpy;
  readonly symcall: SymCall;

  constructor(readonly vm: Vm) {
    this.spy = new SymSpy(vm);
    this.symcall = new SymCall(vm, this.spy);
    if (!vm.core.setCpuidLeaf(SYM_CPUID_LEAF | 0, SYM_CPUID_EAX, SYM_CPUID_EBX, 0, 0)) throw new Error("the core's table of VMM-defined CPUID leaves is full");
    // The MSRs are per vCPU (the global page's is the VM's): the handlers serve the vCPU whose exit it is.
    for (const index of [Msr.SYMSPY_GLOBAL, Msr.SYMSPY_LOCAL]) {
      vm.onMsr(index, { read: (i) => this.spy.readMsr(i, vm.vcpu.index), write: (i, v) => this.spy.writeMsr(i, v, vm.vcpu.index) });
    }
    for (const index of [Msr.SYMCALL_RIP, Msr.SYMCALL_RSP, Msr.SYMCALL_CS, Msr.SYMCALL_GS, Msr.SYMCALL_FS]) {
      vm.onMsr(index, { read: (i) => this.symcall.readMsr(i, vm.vcpu.index), write: (i, v) => this.symcall.writeMsr(i, v, vm.vcpu.index) });
    }
    vm.onHypercall(Hypercall.SYMCALL_RETURN, () => this.symcall.onHypercall(Hypercall.SYMCALL_RETURN));
    vm.onHypercall(Hypercall.SYMCALL_ERROR, () => this.symcall.onHypercall(Hypercall.SYMCALL_ERROR));
    vm.symbiotic = this;
  }

  /** Whether vCPU 0 can take a SymCall now: its local page is registered and says sym_call_enabled. */
  get available(): boolean { return (this.spy.localFlags(0) & LocalPage.SYM_CALL_ENABLED) !== 0 && !this.symcall.running; }

  /** The global SymSpy page, decoded (null until the guest registers one). */
  get global(): SymSpyGlobal | null { return this.spy.global(); }

  /** A vCPU's local SymSpy page, decoded (null until the guest registers one). */
  local(vcpu = 0): SymSpyLocal | null { return this.spy.local(vcpu); }

  /** SymCall `nr` on vCPU 0 with up to five arguments (EBX, ECX, EDX, ESI, EDI). */
  call(nr: number, ...args: number[]): SymcallResult { return this.symcall.call(0, nr, args); }

  /** SymCall on a given vCPU (the VMM switches the core to it for the call, and back). */
  callOn(vcpu: number, nr: number, ...args: number[]): SymcallResult { return this.symcall.call(vcpu, nr, args); }

  /** Instruction budget of each call (default {@link DEFAULT_SYMCALL_BUDGET}). */
  get budget(): number { return this.symcall.budget; }
  set budget(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`SymCall budget must be a whole number of instructions ≥ 1 (got ${n})`);
    this.symcall.budget = n;
  }
}

export { DEFAULT_SYMCALL_BUDGET } from "./symcall.js";
