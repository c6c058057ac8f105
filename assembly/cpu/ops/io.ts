// Port I/O: IN/OUT and the permission check (IOPL, then the TSS I/O bitmap).
// A port access leaves the core as an exit (IN re-executes with the VMM's
// answer, see exit.ts) unless the VMM marked every port it touches direct in
// the I/O bitmaps (layout.ts IO_DIRECT_IN/OUT, written by the VMM like a
// VMCS's I/O bitmap): then the host function serving it is called at once and
// the instruction completes without an exit — VT-x's pass-through port. The
// host may ask for the run to end after the instruction (kick), e.g. when the
// access raised an interrupt.
import { protectedMode, cpl, flagsRaw, IOPL, VM, segBase, segLimit, segAttr, TR, getReg, setReg, EAX } from "../../state";
import { readSys } from "../access";
import { aborted, raise, GP, requestRestart } from "../../fault";
import { setExit, armResponse, takeResponse, response, EXIT_IO_IN, EXIT_IO_OUT, EXIT_BUDGET, exitReason, EXIT_NONE } from "../../exit";
import { IO_DIRECT_IN, IO_DIRECT_OUT } from "../../layout";
import { ld8, directPortIn, directPortOut } from "../../portable";

let kicked: bool = false;

/** KVM's immediate_exit: called by a host function serving a direct access, run() returns after the instruction. */
export function kick(): void { kicked = true; }

/** Are all `size` ports from `port` (wrapping at 64 Ki) set in `bitmap`? */
function allDirect(bitmap: i32, port: i32, size: i32): bool {
  for (let i = 0; i < size; i++) {
    const p = (port + i) & 0xffff;
    if (((ld8(bitmap + (p >> 3)) >> (p & 7)) & 1) == 0) return false;
  }
  return true;
}

/** After a direct access: end the run here if the host asked to (the instruction itself completes). */
function afterDirect(): void {
  if (!kicked) return;
  kicked = false;
  if (exitReason == EXIT_NONE) setExit(EXIT_BUDGET, 0, 0, 0);
}

/** May the current privilege level access `size` ports from `port`? Raises #GP(0) if not. */
export function ioAllowed(port: i32, size: i32): bool {
  if (!protectedMode) return true;
  if ((flagsRaw & VM) == 0 && cpl <= ((flagsRaw & IOPL) >> 12)) return true;
  // Consult the I/O permission bitmap of a 32-bit TSS.
  const attr = segAttr(TR);
  if ((attr & 0xf) != 0xb && (attr & 0xf) != 0x9) { raise(GP, 0); return false; }
  const limit = segLimit(TR);
  if (u32(limit) < 0x67) { raise(GP, 0); return false; }
  const base = segBase(TR);
  const mapOff = readSys(i32(base + 0x66), 2);
  if (aborted) return false;
  const byteOff = mapOff + (port >> 3);
  if (u32(byteOff + 1) > u32(limit)) { raise(GP, 0); return false; }
  const bitsWord = readSys(i32(base + byteOff), 2);
  if (aborted) return false;
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bitsWord & mask) != 0) { raise(GP, 0); return false; }
  return true;
}

/** Read a port: returns the value, or stops the instruction with an IO_IN exit. */
export function portIn(port: i32, size: i32): i32 {
  if (takeResponse(EXIT_IO_IN, port, size)) {
    const v = response(0);
    return size == 1 ? v & 0xff : size == 2 ? v & 0xffff : v;
  }
  if (allDirect(IO_DIRECT_IN, port, size)) {
    const v = directPortIn(port, size);
    afterDirect();
    return size == 1 ? v & 0xff : size == 2 ? v & 0xffff : v;
  }
  if (exitReason == EXIT_NONE) {
    armResponse(EXIT_IO_IN, port, size);
    setExit(EXIT_IO_IN, port, size, 0);
  }
  requestRestart();
  return 0;
}

/** Write a port: the instruction completes and run() returns with an IO_OUT exit. */
export function portOut(port: i32, size: i32, v: i32): void {
  const value = size == 1 ? v & 0xff : size == 2 ? v & 0xffff : v;
  if (allDirect(IO_DIRECT_OUT, port, size)) {
    directPortOut(port, size, value);
    afterDirect();
    return;
  }
  setExit(EXIT_IO_OUT, port, size, value);
}

export function inAcc(port: i32, size: i32): void {
  if (!ioAllowed(port, size)) return;
  const v = portIn(port, size);
  if (aborted) return;
  setReg(size, EAX, v);
}
export function outAcc(port: i32, size: i32): void {
  if (!ioAllowed(port, size)) return;
  portOut(port, size, getReg(size, EAX));
}

// For compiled code (jit/instr.ts), which keeps EAX in a local: IN returns the value (0 and
// `aborted` when the instruction stops for an exit or a fault), OUT takes it.
export function jitIn(port: i32, size: i32): i32 {
  if (!ioAllowed(port, size)) return 0;
  return portIn(port, size);
}
export function jitOut(port: i32, size: i32, value: i32): void {
  if (!ioAllowed(port, size)) return;
  portOut(port, size, value);
}
