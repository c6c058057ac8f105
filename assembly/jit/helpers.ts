// The functions every region module defines once, before its regions: the
// slow paths of memory and stack accesses (jit/memory.ts). A block calls one
// with the instruction's module offset; the helper sets the instruction's
// EIP (so a fault restarts it), calls the core and hands back what the
// block needs — the value read, or whether a write ended in an exit or hit
// cached code. The block checks `aborted` itself and leaves. Kept out of
// line, an access costs a block a few bytes instead of a few dozen, which
// is most of what V8 spends compiling a region.
import * as W from "./writer";
import { REGS } from "../layout";
import { ESP } from "../state";
import {
  F_POP, F_PROBE, F_PUSH, F_READ, F_WRITE, G_BASE, G_EXIT_REASON, G_INSTR_EIP, G_MMIO_READS, G_SMC_HIT, G_ABORTED,
  OP_DROP, OP_END, OP_I32_ADD, OP_I32_LOAD, OP_I32_OR, OP_I32_STORE, OP_I32_SUB, T_I_III, T_I_IIII, T_I_IIIII,
} from "./abi";
import { call, globalGet, globalSet, ifVoid, end, konst, localGet, memOp, op, resetDepth } from "./emit";

/** Helpers in module order (their function index is IMPORTED_FUNCS + H_*, abi.ts), and their types. */
export const HELPERS: i32 = 6;
export function helperType(h: i32): i32 {
  switch (h) {
    case 0: return T_I_IIII;   // H_READ
    case 1: return T_I_IIII;   // H_RMW_READ
    case 2: return T_I_IIIII;  // H_WRITE
    case 3: return T_I_IIIII;  // H_WRITE_RMW
    case 4: return T_I_IIII;   // H_PUSH
    default: return T_I_III;   // H_POP
  }
}

/** instrEip = base + (param rel); no MMIO reads answered yet (state.ts setInstrEip). */
function setInstrEip(rel: i32): void {
  globalGet(G_BASE); localGet(rel); op(OP_I32_ADD); globalSet(G_INSTR_EIP);
  konst(0); globalSet(G_MMIO_READS);
}
/** exitReason | smcHit: the write needs the instruction to be the block's last. */
function pending(): void { globalGet(G_EXIT_REASON); globalGet(G_SMC_HIT); op(OP_I32_OR); }

/** Emit the code section entries of the helpers, in order. */
export function emitHelpers(): void {
  for (let h = 0; h < HELPERS; h++) {
    const size = W.reserveSize();
    W.u32leb(0); // no locals
    resetDepth();
    emitHelper(h);
    W.byte(OP_END);
    W.patch(size);
  }
}

function emitHelper(h: i32): void {
  switch (h) {
    case 0: // H_READ(seg, off, size, rel) -> value
      setInstrEip(3);
      localGet(0); localGet(1); localGet(2); call(F_READ);
      return;
    case 1: // H_RMW_READ(seg, off, size, rel) -> value, after checking it can be written back (cpu/exec.ts rmwWritable)
      setInstrEip(3);
      localGet(0); localGet(1); localGet(2); call(F_READ);
      globalGet(G_ABORTED); op(0x45 /* i32.eqz */);
      ifVoid(); localGet(0); localGet(1); localGet(2); call(F_PROBE); op(OP_DROP); end(); // (false only with `aborted` set)
      return;
    case 2: case 3: // H_WRITE[_RMW](seg, off, size, value, rel) -> pending
      setInstrEip(4);
      localGet(0); localGet(1); localGet(2); localGet(3); call(F_WRITE);
      pending();
      return;
    case 4: // H_PUSH(size, value, esp, rel) -> pending; ESP in the register file is updated when it succeeded
      setInstrEip(3);
      konst(0); localGet(2); memOp(OP_I32_STORE, 2, REGS + (ESP << 2));
      localGet(0); localGet(1); call(F_PUSH);
      pending();
      return;
    default: // H_POP(size, esp, rel) -> value; ESP in the register file moves past it
      setInstrEip(2);
      konst(0); localGet(1); memOp(OP_I32_STORE, 2, REGS + (ESP << 2));
      localGet(0); call(F_POP);
      return;
  }
}
