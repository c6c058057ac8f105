/**
 * SymCall: synchronous upcalls from the VMM into the guest (seed 000).
 *
 * The guest describes an entry context in per-vCPU MSRs (0x536 RIP, 0x537
 * RSP, 0x538 CS with SS = CS + 8, 0x539 GS base, 0x540 FS base) and sets
 * sym_call_enabled in its SymSpy local page. A call saves the vCPU's state,
 * enters that context at CPL 0 with EAX = call number and EBX, ECX, EDX, ESI,
 * EDI = arguments, and runs the guest (a nested entry: exits are handled as
 * usual, nothing is injected) until it executes VMCALL with EAX = 0x535
 * (return; results in EBX…EDI) or 0x536 (error; code in EBX). Then the state
 * is put back.
 *
 * Where Palacios (vmm_symcall.c) falls short, this does better: the whole
 * architectural state is restored on every path — return, guest error, a call
 * that runs past its instruction budget, halts, triple-faults or is stopped —
 * so the guest resumes exactly where it was; the entry is checked (the CS/SS
 * descriptors must be present ring-0 32-bit code and writable data in the
 * GDT) and a bad one is a clear error instead of a guest crash.
 *
 * The entry state beyond Palacios' (which leaves RFLAGS, DS and ES as they
 * were): EFLAGS = 0x2 (interrupts off — none are injected anyway — and a
 * clean DF/TF/VM/NT/AC), DS = ES = SS, FS and GS flat 4 GiB data with the
 * MSRs' bases (selectors unchanged), EBP = 0. CR0, CR3, CR4, the GDT, IDT,
 * LDT and TR are the interrupted context's. The core saves the vCPU's whole
 * state (x87 included) and puts it back.
 *
 * Each vCPU has its own entry MSRs and local page; a call on a vCPU other
 * than the one whose exit is being handled (or the one last run) switches
 * the core to it for the call and back (Vm.withVcpu). One call runs at a
 * time in the VM.
 *
 * @module
 */
import type { Vm, NestedOutcome } from "../vmm/vm.js";
import type { SegmentState } from "../vmm/cpu-state.js";
import { Attr } from "../vmm/cpu-state.js";
import { readLinear, type PagingRegs } from "../vmm/guest-paging.js";
import { Msr, Hypercall, LocalPage, GUEST_ERRNO } from "./abi.js";
import type { SymSpy } from "./symspy.js";
import type { State } from "../vmm/snapshot.js";

/** Why a call did not return results. */
export type SymcallFailure =
  /** Not started: the guest cannot take a call now (not enabled, one running, bad entry MSRs). */
  | "refused"
  /** The guest answered with the error hypercall (0x536); `code` is its EBX. */
  | "guest-error"
  /** It ran past the instruction budget. */
  | "budget"
  /** It halted: nothing would wake it during a call. */
  | "halted"
  /** It triple-faulted. */
  | "triple-fault"
  /** It reached an instruction the CPU does not implement. */
  | "unimplemented"
  /** The machine was asked to stop while it ran (debug exit, reset, …); the request stays pending. */
  | "stopped";

export type SymcallResult =
  | { ok: true; regs: [number, number, number, number, number]; instructions: number }
  | { ok: false; reason: SymcallFailure; error: string; code?: number; instructions: number };

/** Guest instructions a call may run before it is abandoned (≈ 50 ms on the Wasm engine). */
export const DEFAULT_SYMCALL_BUDGET = 10_000_000;

interface EntryMsrs { rip: number; rsp: number; cs: number; gs: number; fs: number }
const NO_ENTRY: Readonly<EntryMsrs> = { rip: 0, rsp: 0, cs: 0, gs: 0, fs: 0 };

const SEG_FS = 4, SEG_GS = 5; // segment register numbers of the core's accessors

const MSR_FIELD: Record<number, keyof EntryMsrs> = {
  [Msr.SYMCALL_RIP]: "rip", [Msr.SYMCALL_RSP]: "rsp", [Msr.SYMCALL_CS]: "cs", [Msr.SYMCALL_GS]: "gs", [Msr.SYMCALL_FS]: "fs",
};

export class SymCall {
  /** Entry MSRs by vCPU index. */
  private readonly msrs = new Map<number, EntryMsrs>();
  private active: { vcpu: number; returned: boolean; regs: number[]; errorCode: number | null } | null = null;
  /** Instruction budget of each call. */
  budget = DEFAULT_SYMCALL_BUDGET;
  /** Calls made, and how many failed (refused ones included). */
  readonly stats = { calls: 0, failed: 0, instructions: 0 };

  constructor(private readonly vm: Vm, private readonly spy: SymSpy) {}

  /** The entry MSRs of each vCPU and the call statistics (a snapshot's part; none is taken during a call). */
  save(): State { return { msrs: Object.fromEntries(this.msrs) as unknown as State, stats: { ...this.stats }, budget: this.budget }; }
  restore(state: State): void {
    this.msrs.clear();
    for (const [vcpu, m] of Object.entries(state.msrs as State)) this.msrs.set(Number(vcpu), { ...(m as unknown as EntryMsrs) });
    Object.assign(this.stats, state.stats);
    this.budget = state.budget as number;
  }

  readMsr(index: number, vcpu: number): bigint { return BigInt(this.entry(vcpu)[MSR_FIELD[index]!]); }

  /** WRMSR 0x536-0x540: 32-bit values (a 16-bit selector for CS); anything wider is #GP. */
  writeMsr(index: number, value: bigint, vcpu: number): boolean {
    const field = MSR_FIELD[index]!;
    if (value < 0n || value >= (field === "cs" ? 1n << 16n : 1n << 32n)) return false;
    let m = this.msrs.get(vcpu);
    if (!m) this.msrs.set(vcpu, m = { ...NO_ENTRY });
    m[field] = Number(value);
    return true;
  }

  /** The entry MSRs of a vCPU, as the guest wrote them. */
  entry(vcpu: number): Readonly<EntryMsrs> { return this.msrs.get(vcpu) ?? NO_ENTRY; }

  /** True while a call runs. */
  get running(): boolean { return this.active !== null; }

  /** VMCALL 0x535 / 0x536. Outside a call they are unknown hypercalls, as before SymCall existed. */
  onHypercall(nr: number): void {
    const a = this.active;
    const vm = this.vm;
    if (!a || a.returned) { vm.setReg(0, -1000); return; } // -KVM_ENOSYS, what any unknown hypercall gets
    a.returned = true;
    if (nr === Hypercall.SYMCALL_RETURN) a.regs = [vm.reg(3), vm.reg(1), vm.reg(2), vm.reg(6), vm.reg(7)]; // EBX ECX EDX ESI EDI
    else a.errorCode = vm.reg(3) | 0;
  }

  /** Make call `nr` on `vcpu` with up to five arguments. */
  call(vcpu: number, nr: number, args: readonly number[]): SymcallResult {
    this.stats.calls++;
    const r = this.run(vcpu, nr, args);
    if (!r.ok) this.stats.failed++;
    this.stats.instructions += r.instructions;
    return r;
  }

  private run(vcpu: number, nr: number, args: readonly number[]): SymcallResult {
    const vm = this.vm;
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= vm.vcpus.length) return refused(`no vCPU ${vcpu} (the VM has ${vm.vcpus.length})`);
    if (args.length > 5) return refused(`at most 5 arguments (got ${args.length})`);
    if (this.active) return refused(`a call is already running on vCPU ${this.active.vcpu} (one at a time)`);
    if (vm.vcpus[vcpu]!.waitingForSipi) return refused(`vCPU ${vcpu} has not been started (it waits for a start-up IPI)`);
    return vm.withVcpu(vcpu, () => this.enter(vcpu, nr, args));
  }

  /** The call, with `vcpu` in the core. */
  private enter(vcpu: number, nr: number, args: readonly number[]): SymcallResult {
    if (this.spy.localPageGpa(vcpu) === 0) return refused(`the guest has registered no SymSpy local page on vCPU ${vcpu} (MSR 0x535)`);
    const flags = this.spy.localFlags(vcpu);
    if ((flags & LocalPage.SYM_CALL_ENABLED) === 0) return refused("the guest has not enabled SymCall (sym_call_enabled in its local page)");
    if ((flags & LocalPage.SYM_CALL_ACTIVE) !== 0) return refused("the guest's local page says a call is already active");
    const vm = this.vm, core = vm.core;
    const cr0 = core.getCr(0) >>> 0;
    if ((cr0 & 1) === 0) return refused("the guest is not in protected mode");
    const regs = { cr0, cr3: core.getCr(3) >>> 0, cr4: core.getCr(4) >>> 0, efer: core.getEfer() >>> 0 };
    const gdtr = { base: core.getGdtrBase() >>> 0, limit: core.getGdtrLimit() & 0xffff };
    const m = this.entry(vcpu);
    const segs = this.descriptors(regs, gdtr, m.cs);
    if (typeof segs === "string") return refused(segs);
    const [cs, ss] = segs;

    const flat = (seg: number, base: number): SegmentState => ({ selector: core.getSegSel(seg) & 0xffff, base, limit: 0xffffffff, attr: Attr.flatData32 });
    const a = (i: number) => (args[i] ?? 0) >>> 0;
    const active = { vcpu, returned: false, regs: [] as number[], errorCode: null as number | null };
    this.active = active;
    let outcome: NestedOutcome;
    try {
      this.spy.setCallActive(vcpu, true);
      // The core saves the whole CPU state and puts it back however the call ends (pushEntry/popEntry).
      outcome = vm.runNested(this.budget, () => active.returned, {
        saveState: true,
        enter: () => vm.setState({
          cs, ss, ds: ss, es: ss, fs: flat(SEG_FS, m.fs), gs: flat(SEG_GS, m.gs), cpl: 0,
          eflags: 0x2, eip: m.rip, esp: m.rsp, ebp: 0,
          eax: nr >>> 0, ebx: a(0), ecx: a(1), edx: a(2), esi: a(3), edi: a(4), halted: false,
        }),
      });
    } finally {
      this.spy.setCallActive(vcpu, false);
      this.active = null;
    }
    const n = outcome.instructions;
    const name = `SymCall ${nr}`;
    switch (outcome.kind) {
      case "done":
        if (active.errorCode === null) return { ok: true, regs: active.regs as [number, number, number, number, number], instructions: n };
        return {
          ok: false, reason: "guest-error", code: active.errorCode, instructions: n,
          error: `${name}: the guest answered error ${active.errorCode}${GUEST_ERRNO[active.errorCode] ? ` (${GUEST_ERRNO[active.errorCode]})` : ""}`,
        };
      case "budget":
        return { ok: false, reason: "budget", instructions: n, error: `${name} did not return within ${this.budget} instructions; the guest resumes where it was` };
      case "stopped": {
        const s = outcome.reason;
        const reason: SymcallFailure = s.kind === "shutdown" ? "triple-fault" : s.kind === "halted" ? "halted" : s.kind === "unimplemented" ? "unimplemented" : "stopped";
        const what = s.kind === "shutdown" ? "triple-faulted" : s.kind === "halted" ? "halted" : s.kind === "unimplemented" ? "stopped" : "was interrupted";
        const detail = "message" in s ? s.message : "why" in s ? `${s.kind}: ${s.why}` : s.kind === "debug-exit" ? `debug exit ${s.status}` : s.kind;
        return { ok: false, reason, instructions: n, error: `${name} ${what} (${detail}); the guest resumes where it was` };
      }
    }
  }

  /**
   * The descriptors of the call's CS and SS (= CS + 8), read from the guest's
   * GDT through its page tables (one read for both); a string says what is
   * wrong, CS's problems first.
   */
  private descriptors(regs: PagingRegs, gdtr: { base: number; limit: number }, sel: number): [SegmentState, SegmentState] | string {
    const msr = `SymCall CS MSR (0x538) = 0x${sel.toString(16)}`;
    const csBad = selectorProblem(sel, "CS", gdtr.limit), ssBad = selectorProblem(sel + 8, "SS (CS + 8)", gdtr.limit);
    if (csBad) return `${msr}: ${csBad}`;
    const b = readLinear(this.vm.memory, regs, gdtr.base + (sel & 0xfff8), ssBad ? 8 : 16);
    if (!b) return `${msr}: the GDT entries for CS and SS (CS + 8) are not mapped in guest memory`;
    const cs = decode(b, 0, sel, "code");
    if (typeof cs === "string") return `${msr}: ${cs}`;
    if (ssBad) return `${msr}: ${ssBad}`;
    const ss = decode(b, 8, sel + 8, "stack");
    if (typeof ss === "string") return `${msr}: ${ss}`;
    return [cs, ss];
  }
}

/** What is wrong with `sel` as a GDT selector (LDT, null, beyond the limit), or null. */
function selectorProblem(sel: number, what: string, gdtLimit: number): string | null {
  if ((sel & 4) !== 0) return `${what} 0x${sel.toString(16)} is an LDT selector`;
  if ((sel & 0xfff8) === 0) return `${what} is the null selector`;
  if ((sel & 0xfff8) + 7 > gdtLimit) return `${what} 0x${sel.toString(16)} is beyond the GDT limit 0x${gdtLimit.toString(16)}`;
  return null;
}

/** The descriptor at b[at..at+8) as segment state, if it is what the call's CS (kind "code") or SS (kind "stack") must be. */
function decode(b: Uint8Array, at: number, sel: number, kind: "code" | "stack"): SegmentState | string {
  const lo = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
  const hi = b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24);
  const attr = ((hi >>> 8) & 0xff) | ((hi >>> 8) & 0xf000);
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if ((attr & 0x8000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
  const present = (attr & 0x80) !== 0, s = (attr & 0x10) !== 0, code = (attr & 8) !== 0, dpl = (attr >> 5) & 3;
  const ok = kind === "code"
    ? present && s && code && dpl === 0 && (attr & 0x4000) !== 0
    : present && s && !code && (attr & 2) !== 0 && dpl === 0;
  if (!ok) {
    const want = kind === "code" ? "a present 32-bit ring-0 code segment" : "a present writable ring-0 data segment";
    return `GDT entry 0x${sel.toString(16)} (${kind === "code" ? "CS" : "SS (CS + 8)"}) is not ${want}`;
  }
  return { selector: sel & 0xfffc, base, limit, attr: attr | 1 };
}

function refused(why: string): SymcallResult {
  return { ok: false, reason: "refused", error: `SymCall refused: ${why}`, instructions: 0 };
}
