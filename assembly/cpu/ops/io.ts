// Port I/O: IN/OUT and the permission check (IOPL, then the TSS I/O bitmap).
// Every port access leaves the core as an exit; IN re-executes with the
// VMM's answer (see exit.ts).
import { protectedMode, cpl, flagsRaw, IOPL, VM, segBase, segLimit, segAttr, TR, getReg, setReg, EAX } from "../../state";
import { readSys } from "../access";
import { aborted, raise, GP, requestRestart } from "../../fault";
import { setExit, armResponse, takeResponse, response, EXIT_IO_IN, EXIT_IO_OUT, exitReason, EXIT_NONE } from "../../exit";

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
  if (exitReason == EXIT_NONE) {
    armResponse(EXIT_IO_IN, port, size);
    setExit(EXIT_IO_IN, port, size, 0);
  }
  requestRestart();
  return 0;
}

/** Write a port: the instruction completes and run() returns with an IO_OUT exit. */
export function portOut(port: i32, size: i32, v: i32): void {
  setExit(EXIT_IO_OUT, port, size, size == 1 ? v & 0xff : size == 2 ? v & 0xffff : v);
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
