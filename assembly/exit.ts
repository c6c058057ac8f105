// The exit block ("kvm_run"): why run() returned and the data the VMM needs.
// One flat structure at a fixed address, read by the VMM through a DataView.
// Input exits (IN, MMIO read, CPUID, RDMSR/WRMSR) leave EIP at the
// instruction; the VMM writes the response slot and the instruction is
// executed again, consuming the response (KVM completes them the same way).
import { EXIT } from "./layout";
import { st32a, ld32a, ld8, st8 } from "./portable";

export const EXIT_NONE: i32 = 0;
export const EXIT_BUDGET: i32 = 1;        // budget of instructions used up
export const EXIT_HLT: i32 = 2;
export const EXIT_IO_IN: i32 = 3;         // a=port, size; response: value
export const EXIT_IO_OUT: i32 = 4;        // a=port, size, value
export const EXIT_MMIO_READ: i32 = 5;     // a=guest-physical address, size; response: value
export const EXIT_MMIO_WRITE: i32 = 6;    // a=address, size, value
export const EXIT_CPUID: i32 = 7;         // a=leaf, value=subleaf; response: eax..edx
export const EXIT_RDMSR: i32 = 8;         // a=index; response: value (low), value2 (high) or fault
export const EXIT_WRMSR: i32 = 9;         // a=index, value (low), value2 (high); response: ok or fault
export const EXIT_HYPERCALL: i32 = 10;    // a=EAX (the call number); the VMM reads/writes registers
export const EXIT_SHUTDOWN: i32 = 11;     // triple fault
export const EXIT_UNIMPLEMENTED: i32 = 12; // instruction bytes in the block
export const EXIT_IRQ_WINDOW: i32 = 13;   // guest can take an interrupt (when requested)
export const EXIT_DEBUG: i32 = 14;        // breakpoint requested by the VMM (reserved)
// VMX-like exits the VMM turns on with execution controls (controls.ts):
export const EXIT_EPT_VIOLATION: i32 = 15; // a=GPA; X_QUAL access (p2m.ts Q_*), X_LINEAR, X_ENTRY the map/nested entry
export const EXIT_EXCEPTION: i32 = 16;     // a=vector, size=1 with an error code, value=error code, value2=CR2 for #PF
export const EXIT_CR_WRITE: i32 = 17;      // a=CR number, value=new value; response: ok → the write completes
export const EXIT_INVLPG: i32 = 18;        // a=linear address; response: ok → the INVLPG completes
export const EXIT_MONITOR_TRAP: i32 = 19;  // the monitor trap flag: one instruction retired (or its event delivered)
export const EXIT_TRACE_LOG: i32 = 20;     // shadow paging: guest page tables were written (a=count of 16-byte lines in the trace log)
export const EXIT_PAUSE: i32 = 21;        // PAUSE with pause exiting on (the instruction is done): a spinning vCPU

/** VMM control: PAUSE (F3 90) exits, so that a vCPU spinning on a lock yields to the others (VT-x's PAUSE exiting). */
export let pauseExiting: bool = false;
export function setPauseExiting(on: bool): void { pauseExiting = on; }

// Field offsets inside the block.
export const X_REASON: i32 = 0;
export const X_A: i32 = 4;          // port / physical address / leaf / MSR index / hypercall number
export const X_SIZE: i32 = 8;       // access size in bytes
export const X_VALUE: i32 = 12;     // OUT/MMIO-write value, WRMSR low
export const X_VALUE2: i32 = 16;    // WRMSR high, CPUID subleaf
export const X_CS: i32 = 20;        // CS selector of the instruction
export const X_EIP: i32 = 24;       // EIP of the instruction
export const X_NBYTES: i32 = 28;    // unimplemented: number of instruction bytes captured
export const X_BYTES: i32 = 32;     // up to 16 bytes
// Response slot, written by the VMM before it calls run() again.
export const X_RESP_VALID: i32 = 64; // 1 when the response below answers the exit
export const X_RESP_FAULT: i32 = 68; // 1: the instruction raises #GP(0) instead (MSRs)
export const X_RESP0: i32 = 72;      // IN/MMIO value, RDMSR low, CPUID EAX
export const X_RESP1: i32 = 76;      // RDMSR high, CPUID EBX
export const X_RESP2: i32 = 80;      // CPUID ECX
export const X_RESP3: i32 = 84;      // CPUID EDX
export const X_RESP_KIND: i32 = 88;  // the exit reason answered (set by the core)
export const X_RESP_KEY: i32 = 92;   // port/address/leaf/index answered (set by the core)
export const X_RESP_SIZE: i32 = 96;
export const X_DETAIL: i32 = 100;    // reason-specific detail (e.g. unimplemented: 1 = x87)
export const X_QUAL: i32 = 104;      // EPT violation: the access (p2m.ts Q_*)
export const X_LINEAR: i32 = 108;    // EPT violation: the linear address being translated (when Q_LINEAR_VALID)
export const X_ENTRY: i32 = 112;     // EPT violation: the guest-physical map or nested-table entry that refused it

/** The reason of the current exit; EXIT_NONE while running. */
export let exitReason: i32 = EXIT_NONE;

export function setExit(reason: i32, a: i32, size: i32, value: i32): void {
  exitReason = reason;
  st32a(EXIT + X_REASON, reason);
  st32a(EXIT + X_A, a);
  st32a(EXIT + X_SIZE, size);
  st32a(EXIT + X_VALUE, value);
}
export function setExitField(field: i32, v: i32): void { st32a(EXIT + field, v); }
export function exitField(field: i32): i32 { return ld32a(EXIT + field); }
export function clearExitReason(): void { exitReason = EXIT_NONE; st32a(EXIT + X_REASON, EXIT_NONE); }

/**
 * An input exit asks the VMM for a value. When run() resumes, the re-executed
 * instruction calls takeResponse(kind, key, size); it returns true once, when
 * the VMM answered exactly this request.
 */
export function armResponse(kind: i32, key: i32, size: i32): void {
  st32a(EXIT + X_RESP_VALID, 0);
  st32a(EXIT + X_RESP_FAULT, 0);
  st32a(EXIT + X_RESP_KIND, kind);
  st32a(EXIT + X_RESP_KEY, key);
  st32a(EXIT + X_RESP_SIZE, size);
}
export function takeResponse(kind: i32, key: i32, size: i32): bool {
  if (ld32a(EXIT + X_RESP_VALID) == 0) return false;
  if (ld32a(EXIT + X_RESP_KIND) != kind || ld32a(EXIT + X_RESP_KEY) != key || ld32a(EXIT + X_RESP_SIZE) != size) return false;
  st32a(EXIT + X_RESP_VALID, 0);
  return true;
}
/** The VMM has answered an exit whose instruction has not yet re-executed to take the answer. */
export function responsePending(): bool { return ld32a(EXIT + X_RESP_VALID) != 0; }
export function responseFault(): bool { return ld32a(EXIT + X_RESP_FAULT) != 0; }
export function response(i: i32): i32 { return ld32a(EXIT + X_RESP0 + (i << 2)); }
export function setExitByte(i: i32, b: i32): void { st8(EXIT + X_BYTES + i, b); }
export function exitByte(i: i32): i32 { return ld8(EXIT + X_BYTES + i); }
