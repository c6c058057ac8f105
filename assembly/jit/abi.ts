// What a compiled block's module imports from the core and how its functions
// are laid out: the imported globals and helpers (in import order; index.ts
// exports them under the names block-compiler.ts lists), the function types,
// the locals of a block function, and the Wasm opcodes the emitter uses.
// Imported globals, in import order.
export const G_EIP: i32 = 0;
export const G_INSTR_EIP: i32 = 1;
export const G_ABORTED: i32 = 2;
export const G_EXIT_REASON: i32 = 3;
export const G_SMC_HIT: i32 = 4;
export const G_FLAT_SEGS: i32 = 5;
export const G_USER_MASK: i32 = 6;
export const G_TLB_LOOKUPS: i32 = 7; // f64
// The lazy-flags state (cpu/flags.ts), which inline ALU operations record as alu() does.
export const G_FLAGS_RAW: i32 = 8;
export const G_FLAGS_LAZY: i32 = 9;
export const G_LAST_OP1: i32 = 10;
export const G_LAST_OP2: i32 = 11;
export const G_LAST_RESULT: i32 = 12;
export const G_LAST_SIZE: i32 = 13;
export const G_LAST_SUB: i32 = 14;
export const G_MMIO_READS: i32 = 15; // state.ts mmioReadsAnswered: each instruction starts with none
export const IMPORTED_GLOBALS: i32 = 16;

// Function types.
export const T_BLOCK: i32 = 0;   // () -> i32
export const T_V_I: i32 = 1;     // (i32) -> ()
export const T_I_III: i32 = 2;   // (i32 i32 i32) -> i32
export const T_V_IIII: i32 = 3;  // (i32 i32 i32 i32) -> ()
export const T_I_IIII: i32 = 4;  // (i32 i32 i32 i32) -> i32
export const T_I_I: i32 = 5;     // (i32) -> i32
export const T_V_II: i32 = 6;    // (i32 i32) -> ()
export const T_I_II: i32 = 7;    // (i32 i32) -> i32

// Imported functions, in import order.
export const F_STEP: i32 = 0;      // replayRecord(rec)
export const F_READ: i32 = 1;      // readV(seg, off, size) -> value
export const F_WRITE: i32 = 2;     // writeV(seg, off, size, value)
export const F_ALU: i32 = 3;       // alu(op, size, a, b) -> result
export const F_TESTCC: i32 = 4;    // testCC(cc) -> bool
export const F_JUMP: i32 = 5;      // jumpNear(target, size)
export const F_PUSH: i32 = 6;      // push(size, value)
export const F_POP: i32 = 7;       // pop(size) -> value
export const F_CALL: i32 = 8;      // callNear(target, size)
export const F_RET: i32 = 9;       // retNear(size, imm)
export const F_PROBE: i32 = 10;    // probeWriteV(seg, off, size) -> bool
export const F_INC: i32 = 11;      // inc(size, a)
export const F_DEC: i32 = 12;      // dec(size, a)
export const F_SHIFT: i32 = 13;    // shiftOp(op, size, a, count)
export const F_IMUL: i32 = 14;     // imulTrunc(size, a, b)
export const F_NEG: i32 = 15;      // neg(size, a)
export const IMPORTED_FUNCS: i32 = 16;

// Opcodes.
export const OP_IF: i32 = 0x04, OP_ELSE: i32 = 0x05, OP_END: i32 = 0x0b, OP_RETURN: i32 = 0x0f, OP_CALL: i32 = 0x10, OP_DROP: i32 = 0x1a;
export const OP_LOCAL_GET: i32 = 0x20, OP_LOCAL_SET: i32 = 0x21, OP_LOCAL_TEE: i32 = 0x22, OP_GLOBAL_GET: i32 = 0x23, OP_GLOBAL_SET: i32 = 0x24;
export const OP_I32_LOAD: i32 = 0x28, OP_I32_LOAD8_U: i32 = 0x2d, OP_I32_LOAD16_U: i32 = 0x2f;
export const OP_I32_STORE: i32 = 0x36, OP_I32_STORE8: i32 = 0x3a, OP_I32_STORE16: i32 = 0x3b;
export const OP_I32_CONST: i32 = 0x41, OP_I32_EQZ: i32 = 0x45, OP_I32_ADD: i32 = 0x6a, OP_I32_AND: i32 = 0x71, OP_I32_OR: i32 = 0x72;
export const OP_I32_EQ: i32 = 0x46, OP_I32_NE: i32 = 0x47, OP_I32_LT_S: i32 = 0x48, OP_I32_LT_U: i32 = 0x49, OP_I32_GT_S: i32 = 0x4a;
export const OP_I32_GT_U: i32 = 0x4b, OP_I32_LE_S: i32 = 0x4c, OP_I32_GE_S: i32 = 0x4e, OP_I32_GE_U: i32 = 0x4f, OP_I32_SUB: i32 = 0x6b;
export const OP_I32_LE_U: i32 = 0x4d, OP_I32_SHR_U: i32 = 0x76, OP_F64_CONST: i32 = 0x44, OP_F64_ADD: i32 = 0xa0;
export const OP_I32_XOR: i32 = 0x73, OP_I32_SHL: i32 = 0x74, OP_I32_EXTEND8_S: i32 = 0xc0, OP_I32_EXTEND16_S: i32 = 0xc1;
export const BLOCKTYPE_VOID: i32 = 0x40;
export const I32: i32 = 0x7f;
export const F64: i32 = 0x7c;

// Locals of a block function.
export const L_START: i32 = 0;   // EIP at entry: instruction addresses are relative to it
export const L_OFF: i32 = 1;     // a memory operand's offset
export const L_VAL: i32 = 2;     // a value read
export const L_ENTRY: i32 = 3;   // a TLB entry
export const L_A: i32 = 4;       // operands and result of the last inline ALU operation
export const L_B: i32 = 5;
export const L_R: i32 = 6;
export const LOCALS: i32 = 7;

/** "No register" in an address form (decode.ts NO_REG); it reads as 0. */
export const NO_REG: i32 = 8;
