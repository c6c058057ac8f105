// The functions every region module defines once, before its regions: the
// slow paths of memory and stack accesses (jit/memory.ts). A block calls one
// with the instruction's module offset; the helper sets the instruction's
// EIP (so a fault restarts it), calls the core and hands back what the
// block needs — the value read, or whether a write ended in an exit or hit
// cached code. The block checks `aborted` itself and leaves. Kept out of
// line, an access costs a block a few bytes instead of a few dozen, which
// is most of what V8 spends compiling a region.
import * as W from "./writer";
import { REGS, JIT_LINKS, JIT_LINK_ON, JIT_LINKS_TAKEN, JIT_SLOT_GEN, TLB } from "../layout";
import { ESP } from "../state";
import { TLB_VALID, TLB_SLOW, TLB_NO_EXEC } from "../mmu/tlb";
import { ASSUME_SS32, LINK_HOST, LINK_SLOT, LINK_GEN, LINK_ENTRY, LINK_MOFF, LINK_NEEDS, LINK_HASH_MUL, LINK_HASH_SHIFT } from "../tcache";
import {
  F_POP, F_PROBE, F_PUSH, F_READ, F_WRITE, G_BASE, G_EIP, G_EXIT_REASON, G_INSTR_EIP, G_MMIO_READS, G_SMC_HIT, G_ABORTED,
  IMPORTED_FUNCS, G_FLAT_SEGS, G_SS32, G_LINK_ENTRY, G_LINK_BASE, I32,
  OP_DROP, OP_END, OP_I32_ADD, OP_I32_AND, OP_I32_EQZ, OP_I32_LOAD, OP_I32_NE, OP_I32_OR, OP_I32_SHL, OP_I32_SHR_U,
  OP_I32_STORE, OP_I32_SUB, OP_I32_XOR, OP_I64_CONST, OP_RETURN, T_I_II, T_I_III, T_I_IIII, T_I_IIIII,
} from "./abi";
import { call, globalGet, globalSet, ifVoid, end, konst, localGet, localSet, localTee, memOp, op, resetDepth } from "./emit";

/** Helpers in module order (their function index is IMPORTED_FUNCS + H_*, abi.ts), and their types. */
export const HELPERS: i32 = 7;
export function helperType(h: i32): i32 {
  switch (h) {
    case 0: return T_I_IIII;   // H_READ
    case 1: return T_I_IIII;   // H_RMW_READ
    case 2: return T_I_IIIII;  // H_WRITE
    case 3: return T_I_IIIII;  // H_WRITE_RMW
    case 4: return T_I_IIII;   // H_PUSH
    case 5: return T_I_III;    // H_POP
    default: return T_I_II;    // H_LINK
  }
}

/** Helper h's name in the module's name section (what a host profile shows). */
export function helperName(h: i32): string {
  switch (h) {
    case 0: return "h_read";
    case 1: return "h_rmw_read";
    case 2: return "h_write";
    case 3: return "h_write_rmw";
    case 4: return "h_push";
    case 5: return "h_pop";
    default: return "h_link";
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
    const size = W.bodySize(IMPORTED_FUNCS + h);
    if (h == 6) { W.u32leb(1); W.u32leb(LINK_LOCALS); W.byte(I32); } else W.u32leb(0); // (only H_LINK has locals)
    resetDepth();
    if (h == 6) emitLinkHelper(); else emitHelper(h);
    W.byte(OP_END);
    W.patch(size);
  }
}

// H_LINK(userMask, privilege) -> slot: may a block leaving for EIP (G_EIP, a near transfer out of its region in flat
// 32-bit code) go on into the region tcache.ts noted for that EIP? Only where the cache itself would enter it next
// (tcRun's checks): the cache chains, nothing stops the block (an exit, a fault, a write into cached code), the
// region in the slot is the one noted (its generation), the TLB maps EIP's page, executable at this privilege, to
// the page the region was compiled from, and the state has every bit the region needs (tcache.ts assumedState; the
// privilege is the leaving region's own, a near transfer keeps it). Then G_LINK_ENTRY and G_LINK_BASE say where to
// enter it (as runBlock would call it) and the block tail-calls the slot; 0 sends it back to the cache.
const LINK_LOCALS: i32 = 3;
const LT: i32 = 2, LE: i32 = 3, LTLB: i32 = 4; // EIP, its links entry, EIP's TLB entry
function emitLinkHelper(): void {
  globalGet(G_EXIT_REASON); globalGet(G_SMC_HIT); op(OP_I32_OR); globalGet(G_ABORTED); op(OP_I32_OR);
  konst(0); memOp(OP_I32_LOAD, 2, JIT_LINK_ON); op(OP_I32_EQZ); op(OP_I32_OR);
  ifVoid(); konst(0); op(OP_RETURN); end();
  globalGet(G_EIP); localTee(LT);
  konst(LINK_HASH_MUL); op(0x6c /* i32.mul */); konst(LINK_HASH_SHIFT); op(OP_I32_SHR_U);
  konst(5); op(OP_I32_SHL); localSet(LE);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS); localGet(LT); op(OP_I32_NE);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_SLOT); op(OP_I32_EQZ); op(OP_I32_OR);
  ifVoid(); konst(0); op(OP_RETURN); end();
  localGet(LT); konst(12); op(OP_I32_SHR_U); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, TLB); localSet(LTLB);
  // TLB entry: (host page ^ linear page) | flags
  localGet(LTLB); konst(TLB_VALID | TLB_SLOW | TLB_NO_EXEC); localGet(0); op(OP_I32_OR); op(OP_I32_AND); konst(TLB_VALID); op(OP_I32_NE);
  localGet(LTLB); localGet(LT); op(OP_I32_XOR); konst(-4096); op(OP_I32_AND);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_HOST); op(OP_I32_NE); op(OP_I32_OR);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_SLOT); konst(2); op(OP_I32_SHL); memOp(OP_I32_LOAD, 2, JIT_SLOT_GEN);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_GEN); op(OP_I32_NE); op(OP_I32_OR);
  // needs & ~(flatSegs | privilege | SS32 if the stack is 32-bit)
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_NEEDS);
  globalGet(G_FLAT_SEGS); localGet(1); op(OP_I32_OR); globalGet(G_SS32); konst(ASSUME_SS32); op(0x6c /* i32.mul */); op(OP_I32_OR);
  konst(-1); op(OP_I32_XOR); op(OP_I32_AND); op(OP_I32_OR);
  ifVoid(); konst(0); op(OP_RETURN); end();
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_ENTRY); globalSet(G_LINK_ENTRY);
  localGet(LT); localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_MOFF); op(OP_I32_SUB); globalSet(G_LINK_BASE);
  // links taken += 1 (an i64)
  konst(0); konst(0); memOp(0x29 /* i64.load */, 3, JIT_LINKS_TAKEN); W.byte(OP_I64_CONST); W.i32leb(1); op(0x7c /* i64.add */);
  memOp(0x37 /* i64.store */, 3, JIT_LINKS_TAKEN);
  localGet(LE); memOp(OP_I32_LOAD, 2, JIT_LINKS + LINK_SLOT);
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
