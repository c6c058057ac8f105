// What a compiled region's module imports from the core and how its functions
// are laid out: the imported globals and helpers (in import order; index.ts
// exports them under the names block-compiler.ts lists), the function types,
// the locals of a region function, and the Wasm opcodes the emitter uses.

// Imported globals, in import order.
export const G_EIP: i32 = 0;
export const G_INSTR_EIP: i32 = 1;
export const G_ABORTED: i32 = 2;
export const G_EXIT_REASON: i32 = 3;
export const G_SMC_HIT: i32 = 4;
export const G_FLAT_SEGS: i32 = 5;
// The lazy-flags state (cpu/flags.ts), which region functions keep in locals and write back.
export const G_FLAGS_RAW: i32 = 6;
export const G_FLAGS_LAZY: i32 = 7;
export const G_LAST_OP1: i32 = 8;
export const G_LAST_OP2: i32 = 9;
export const G_LAST_RESULT: i32 = 10;
export const G_LAST_SIZE: i32 = 11;
export const G_LAST_SUB: i32 = 12;
export const G_MMIO_READS: i32 = 13; // state.ts mmioReadsAnswered: each instruction starts with none
export const G_SS32: i32 = 14;
export const IMPORTED_GLOBALS: i32 = 15;
/** The module's own global: the running region's base (the EIP its offsets are relative to), set by its entry. */
export const G_BASE: i32 = IMPORTED_GLOBALS;
/** The module's globals through which H_LINK hands a block the region entry to tail-call: its block index and base. */
export const G_LINK_ENTRY: i32 = IMPORTED_GLOBALS + 1;
export const G_LINK_BASE: i32 = IMPORTED_GLOBALS + 2;
export const MODULE_GLOBALS: i32 = 3;

// Function types.
export const T_ENTRY: i32 = 0;   // a region's entry: (block index, budget, base) -> budget left
export const T_V_I: i32 = 1;     // (i32) -> ()
export const T_I_III: i32 = 2;   // (i32 i32 i32) -> i32
export const T_V_IIII: i32 = 3;  // (i32 i32 i32 i32) -> ()
export const T_I_IIII: i32 = 4;  // (i32 i32 i32 i32) -> i32
export const T_I_I: i32 = 5;     // (i32) -> i32
export const T_V_II: i32 = 6;    // (i32 i32) -> ()
export const T_I_II: i32 = 7;    // (i32 i32) -> i32
export const T_BLOCK: i32 = 8;   // a block: (budget left, flagsRaw, lastOp1, lastOp2, lastResult, packed lazy/size/sub) -> budget left
export const T_V_III: i32 = 9;   // (i32 i32 i32) -> ()
export const T_I_IIIII: i32 = 10; // (i32 i32 i32 i32 i32) -> i32
export const T_V_V: i32 = 11;    // () -> ()
export const TYPES: i32 = 12;

// Imported functions, in import order.
export const F_STEP: i32 = 0;      // replayRecord(rec): the interpreter's body (or fast form) for one record
export const F_READ: i32 = 1;      // readV(seg, off, size) -> value
export const F_WRITE: i32 = 2;     // writeV(seg, off, size, value)
export const F_PROBE: i32 = 3;     // probeWriteV(seg, off, size) -> ok
export const F_PUSH: i32 = 4;      // push(size, value)
export const F_POP: i32 = 5;       // pop(size) -> value
export const F_JUMP: i32 = 6;      // jumpNear(target, size)
export const F_CALL: i32 = 7;      // callNear(target, size)
export const F_RET: i32 = 8;       // retNear(size, imm)
export const F_SHIFT: i32 = 9;     // shiftOp(op, size, a, count) -> result (flags in the globals)
export const F_DIV: i32 = 10;      // divAcc(size, divisor, signed) -> ok (registers in memory)
export const F_IN: i32 = 11;       // jitIn(port, size) -> value (cpu/ops/io.ts: permission, direct port or exit)
export const F_OUT: i32 = 12;      // jitOut(port, size, value)
export const F_END_SHADOW: i32 = 13; // jitEndShadow(): STI's interrupt shadow over (tcache.ts)
export const F_RETIRED_AT: i32 = 14; // jitRetiredAt(left): the instructions retired before this one, for RDTSC (tcache.ts)
export const IMPORTED_FUNCS: i32 = 15;

// The module's own functions first: the slow paths of memory accesses (helpers.ts), by function index.
export const H_READ: i32 = IMPORTED_FUNCS;         // (seg, off, size, rel) -> value
export const H_RMW_READ: i32 = IMPORTED_FUNCS + 1; // (seg, off, size, rel) -> value, probed for the write back
export const H_WRITE: i32 = IMPORTED_FUNCS + 2;    // (seg, off, size, value, rel) -> exit or cached code hit
export const H_WRITE_RMW: i32 = IMPORTED_FUNCS + 3; // the same, for the write half of a read-modify-write
export const H_PUSH: i32 = IMPORTED_FUNCS + 4;     // (size, value, esp, rel) -> exit or cached code hit
export const H_POP: i32 = IMPORTED_FUNCS + 5;      // (size, esp, rel) -> value
export const H_LINK: i32 = IMPORTED_FUNCS + 6;     // (TLB user mask, privilege bit) -> the slot of the region to go on into, or 0

// Opcodes.
export const OP_BLOCK: i32 = 0x02, OP_LOOP: i32 = 0x03, OP_IF: i32 = 0x04, OP_ELSE: i32 = 0x05, OP_END: i32 = 0x0b;
export const OP_BR: i32 = 0x0c, OP_BR_IF: i32 = 0x0d, OP_BR_TABLE: i32 = 0x0e, OP_RETURN: i32 = 0x0f, OP_CALL: i32 = 0x10;
export const OP_RETURN_CALL: i32 = 0x12, OP_RETURN_CALL_INDIRECT: i32 = 0x13;
export const OP_DROP: i32 = 0x1a, OP_SELECT: i32 = 0x1b;
export const OP_LOCAL_GET: i32 = 0x20, OP_LOCAL_SET: i32 = 0x21, OP_LOCAL_TEE: i32 = 0x22, OP_GLOBAL_GET: i32 = 0x23, OP_GLOBAL_SET: i32 = 0x24;
export const OP_I32_LOAD: i32 = 0x28, OP_I32_LOAD8_U: i32 = 0x2d, OP_I32_LOAD16_U: i32 = 0x2f;
export const OP_I32_STORE: i32 = 0x36, OP_I32_STORE8: i32 = 0x3a, OP_I32_STORE16: i32 = 0x3b;
export const OP_I32_CONST: i32 = 0x41, OP_F64_CONST: i32 = 0x44;
export const OP_I32_EQZ: i32 = 0x45, OP_I32_EQ: i32 = 0x46, OP_I32_NE: i32 = 0x47, OP_I32_LT_S: i32 = 0x48, OP_I32_LT_U: i32 = 0x49;
export const OP_I32_GT_S: i32 = 0x4a, OP_I32_GT_U: i32 = 0x4b, OP_I32_LE_S: i32 = 0x4c, OP_I32_LE_U: i32 = 0x4d;
export const OP_I32_GE_S: i32 = 0x4e, OP_I32_GE_U: i32 = 0x4f;
export const OP_I64_EQZ: i32 = 0x50, OP_I64_EQ: i32 = 0x51, OP_I64_NE: i32 = 0x52;
export const OP_I32_CLZ: i32 = 0x67, OP_I32_CTZ: i32 = 0x68, OP_I32_POPCNT: i32 = 0x69;
export const OP_I32_ADD: i32 = 0x6a, OP_I32_SUB: i32 = 0x6b, OP_I32_MUL: i32 = 0x6c, OP_I32_DIV_S: i32 = 0x6d, OP_I32_DIV_U: i32 = 0x6e;
export const OP_I32_REM_S: i32 = 0x6f, OP_I32_REM_U: i32 = 0x70;
export const OP_I32_AND: i32 = 0x71, OP_I32_OR: i32 = 0x72, OP_I32_XOR: i32 = 0x73, OP_I32_SHL: i32 = 0x74, OP_I32_SHR_S: i32 = 0x75;
export const OP_I32_SHR_U: i32 = 0x76, OP_I32_ROTL: i32 = 0x77, OP_I32_ROTR: i32 = 0x78;
export const OP_I64_MUL: i32 = 0x7e, OP_I64_DIV_S: i32 = 0x7f, OP_I64_DIV_U: i32 = 0x80, OP_I64_REM_S: i32 = 0x81, OP_I64_REM_U: i32 = 0x82;
export const OP_I64_OR: i32 = 0x84, OP_I64_SHL: i32 = 0x86, OP_I64_SHR_S: i32 = 0x87, OP_I64_SHR_U: i32 = 0x88;
export const OP_F64_ADD: i32 = 0xa0, OP_F64_CONVERT_I32_U: i32 = 0xb8;
export const OP_I32_WRAP_I64: i32 = 0xa7, OP_I64_EXTEND_I32_S: i32 = 0xac, OP_I64_EXTEND_I32_U: i32 = 0xad;
export const OP_I64_CONST: i32 = 0x42;
export const OP_I32_EXTEND8_S: i32 = 0xc0, OP_I32_EXTEND16_S: i32 = 0xc1;
export const BLOCKTYPE_VOID: i32 = 0x40;
export const I32: i32 = 0x7f;
export const I64: i32 = 0x7e;
export const F64: i32 = 0x7c;

// Parameters and locals of a block function. The lazy flags travel from
// block to block as parameters (cpu/flags.ts's state, with flagsLazy,
// lastSize and lastSub packed into one word: FOP_*; it stays packed in the
// function, so recording an operation's kind is one constant); guest
// registers live in core memory and are cached in locals within a block
// (emit.ts).
export const P_R: i32 = 0;       // instructions that may still be retired (the budget left)
export const L_FRAW: i32 = 1;    // flagsRaw
export const L_FA: i32 = 2;      // lastOp1
export const L_FB: i32 = 3;      // lastOp2
export const L_FRES: i32 = 4;    // lastResult
export const P_FOP: i32 = 5;     // flagsLazy | lastSize << FOP_SIZE | lastSub << FOP_SUB
export const BLOCK_PARAMS: i32 = 6;
export const L_REG: i32 = 6;     // 8 locals: EAX ECX EDX EBX ESP EBP ESI EDI
export const L_OFF: i32 = 14;    // a memory operand's offset
export const L_VAL: i32 = 15;    // a value read or to be written
export const L_E: i32 = 16;      // a TLB entry
export const L_T1: i32 = 17;     // temporaries
export const L_T2: i32 = 18;
export const L_T3: i32 = 19;
export const L_PEND: i32 = 20;   // an instruction's slow-path write ended in an exit or hit cached code: leave after it
export const L_HOST: i32 = 21;   // host address of a memory operand on the fast path, 0 on the slow path
export const L_XREL: i32 = 22;   // a way out's EIP (module offset: EIP = base + it), for the function's shared exit
export const L_XUN: i32 = 23;    // a way out's instructions not retired (given back to the budget)
export const L_LIN: i32 = 24;    // a memory operand's linear address in a segment whose base is not 0
export const L_SEGS: i32 = 25;   // flatSegs before an instruction the interpreter runs (instr.ts genericBody)
export const L_LINK: i32 = 26;   // a way out to a plain EIP (a jump, call or return out of the region): it may go on into another region
export const I32_LOCALS: i32 = 21; // locals 6 .. 26
export const L_W: i32 = 27;      // i64 temporaries (products, dividends, quotients)
export const L_W2: i32 = 28;
export const I64_LOCALS: i32 = 2;
export const FOP_SIZE: i32 = 16;
export const FOP_SUB: i32 = 24;
/** The packed word for flagsLazy `lazy`, lastSize `size`, lastSub `sub`. */
export function fop(lazy: i32, size: i32, sub: bool): i32 { return lazy | (size << FOP_SIZE) | (sub ? 1 << FOP_SUB : 0); }

// Parameters of a region's entry function.
export const E_ENTRY: i32 = 0;
export const E_BUDGET: i32 = 1;
export const E_BASE: i32 = 2;

/** "No register" in an address form (decode.ts NO_REG); it reads as 0. */
export const NO_REG: i32 = 8;
