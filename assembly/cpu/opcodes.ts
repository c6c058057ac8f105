// The decoder's opcode table: the encoding format of every one-byte opcode
// and every 0F xx opcode, declared once. It says how long an instruction
// is (ModRM, immediates) and what kind of opcode it is (prefix, escape,
// invalid, x87, unimplemented); it does not say what an instruction does.
// Users: the length of the bytes captured for an unimplemented-instruction
// exit (exec.ts), and the live differential fuzzer (tests/live/qemu-diff.mjs,
// through the core export opcodeFormat).
//
// One character per opcode, 16 per row (a space after the eighth, for the
// eye), rows 0x00-0xF0 as in the SDM opcode maps (vol. 2, appendix A):
//
//   .  no ModRM, no immediate          P  prefix (66 67 segment F0 F2 F3)
//   M  ModRM                           E  two-byte escape (0F)
//   R  ModRM naming registers only: mod is ignored, no displacement (MOV CR/DR)
//   b  imm8            B  ModRM + imm8            w  imm16
//   z  imm16/32 (operand size)         Z  ModRM + imm16/32
//   p  ptr16:16/32 (far pointer)       o  moffs16/32 (address size)
//   e  imm16 + imm8 (ENTER)
//   g  group: ModRM whose reg field selects the operation
//   h  group + imm8                    k  group + imm16/32
//   t  group 3, byte form: imm8 when reg is 0 or 1 (TEST)
//   T  group 3, operand-size form: imm16/32 when reg is 0 or 1 (TEST)
//   y  0F 38: a third opcode byte, then ModRM  Y  0F 3A: a third opcode byte, then ModRM + imm8
//   U  invalid: raises #UD (the core implements no VMX, SSE4, ...)
//   X  x87 escape (ModRM), executed by cpu/fpu/
//   ?  not implemented, format unknown: exits as unimplemented

const MAP1: StaticArray<string> = [
  "MMMMbz.. MMMMbz.E", // 00 ADD, PUSH/POP ES, OR, PUSH CS, 0F
  "MMMMbz.. MMMMbz..", // 10 ADC, PUSH/POP SS, SBB, PUSH/POP DS
  "MMMMbzP. MMMMbzP.", // 20 AND, ES:, DAA, SUB, CS:, DAS
  "MMMMbzP. MMMMbzP.", // 30 XOR, SS:, AAA, CMP, DS:, AAS
  "........ ........", // 40 INC, DEC
  "........ ........", // 50 PUSH, POP
  "..MMPPPP zZbB....", // 60 PUSHA POPA BOUND ARPL FS: GS: 66 67 PUSH IMUL PUSH IMUL INS OUTS
  "bbbbbbbb bbbbbbbb", // 70 Jcc rel8
  "hkhhMMMM MMMMMMMg", // 80 group 1, TEST, XCHG, MOV, MOV Sreg, LEA, POP Ev (group 1A)
  "........ ..p.....", // 90 XCHG, CBW CWD, CALL far, WAIT, PUSHF POPF SAHF LAHF
  "oooo.... bz......", // A0 MOV moffs, MOVS CMPS, TEST, STOS LODS SCAS
  "bbbbbbbb zzzzzzzz", // B0 MOV imm
  "hhw.MMhk e.w..b..", // C0 group 2, RET, LES LDS, group 11, ENTER LEAVE RETF INT3 INT INTO IRET
  "ggggbb.. XXXXXXXX", // D0 group 2, AAM AAD SALC XLAT, x87
  "bbbbbbbb zzpb....", // E0 LOOPcc JCXZ IN OUT, CALL JMP JMP far JMP short, IN OUT (DX)
  "P.PP..tT ......gg", // F0 LOCK INT1 REPNE REP HLT CMC, group 3, CLC..STD, group 4, group 5
];

const MAP2: StaticArray<string> = [
  "ggMMUU.U ..UUUUUU", // 00 group 6, group 7, LAR LSL, (SYSCALL) CLTS (SYSRET), INVD WBINVD, UD2, (3DNow!)
  "MMMMMMMM gMMMMMMM", // 10 SSE moves, UNPCKLPS UNPCKHPS; hint NOPs / PREFETCHh (group 16)
  "RRRRUUUU MMMMMMMM", // 20 MOV CR/DR, (MOV TR), SSE: MOVAPS CVTPI2PS MOVNTPS CVT(T)PS2PI UCOMISS COMISS
  "......UU yUYUUUUU", // 30 WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT (GETSEC), three-byte maps 38 and 3A (SSSE3, SSE4.1)
  "MMMMMMMM MMMMMMMM", // 40 CMOVcc
  "MMMMMMMM MMMMMMMM", // 50 SSE/SSE2: MOVMSKPx SQRT RSQRT RCP AND ANDN OR XOR ADD MUL CVT CVT SUB MIN DIV MAX
  "MMMMMMMM MMMMMMMM", // 60 MMX: PUNPCKLx PACKSSWB PCMPGTx PACKUSWB PUNPCKHx PACKSSDW, SSE2 PUNPCKxQDQ, MOVD MOVQ/MOVDQx
  "BhhhMMM. UUUUMMMM", // 70 PSHUFW, MMX shift groups 12-14, PCMPEQx, EMMS, (VMX), HADDPx HSUBPx, MOVD MOVQ
  "zzzzzzzz zzzzzzzz", // 80 Jcc rel16/32
  "MMMMMMMM MMMMMMMM", // 90 SETcc
  "...MBMUU ..UMBMgM", // A0 PUSH/POP FS, CPUID, BT, SHLD, PUSH/POP GS, (RSM), BTS, SHRD, group 15 (fences), IMUL
  "MMMMMMMM MUhMMMMM", // B0 CMPXCHG, LSS, BTR, LFS LGS, MOVZX, POPCNT (F3), UD1, group 8, BTC BSF BSR MOVSX
  "MMBMBBBg ........", // C0 XADD, CMPPS, MOVNTI, PINSRW PEXTRW SHUFPS, group 9 (CMPXCHG8B), BSWAP
  "MMMMMMMM MMMMMMMM", // D0 ADDSUBPx, MMX: PSRLx PADDQ PMULLW MOVQ PMOVMSKB PSUBUSx PMINUB PAND PADDUSx PMAXUB PANDN
  "MMMMMMMM MMMMMMMM", // E0 MMX: PAVGB PSRAx PAVGW PMULHUW PMULHW CVTxPD2DQ/CVTDQ2PD MOVNTQ PSUBSx PMINSW POR PADDSx PMAXSW PXOR
  "MMMMMMMM MMMMMMMU", // F0 LDDQU, MMX: PSLLx PMULUDQ PMADDWD PSADBW MASKMOVQ PSUBx PSUBQ PADDx; UD0
];

// ---- the format word returned by opcodeFormat ----------------------------------

/** Bits 0-3: the immediate (and other trailing operand bytes). */
export const FMT_IMM_MASK: i32 = 0xf;
export const IMM_NONE: i32 = 0;
export const IMM_B: i32 = 1;        // imm8
export const IMM_W: i32 = 2;        // imm16
export const IMM_Z: i32 = 3;        // imm16/32 by operand size
export const IMM_PTR: i32 = 4;      // offset16/32 + selector16
export const IMM_MOFFS: i32 = 5;    // offset16/32 by address size
export const IMM_WB: i32 = 6;       // imm16 + imm8 (ENTER)
export const IMM_TEST_B: i32 = 7;   // imm8 when ModRM.reg < 2
export const IMM_TEST_Z: i32 = 8;   // imm16/32 when ModRM.reg < 2
/** A ModRM byte (with SIB and displacement per mod/rm/address size) follows the opcode. */
export const FMT_MODRM: i32 = 0x10;
/** ModRM.reg selects the operation (an opcode group). */
export const FMT_GROUP: i32 = 0x20;
/** The ModRM byte always names registers: no SIB, no displacement (MOV CR/DR). */
export const FMT_REGONLY: i32 = 0x40;
/** A prefix byte, not an opcode. */
export const FMT_PREFIX: i32 = 0x80;
/** 0F: the opcode continues in the two-byte map. */
export const FMT_ESCAPE: i32 = 0x100;
/** Invalid opcode: #UD whatever follows. */
export const FMT_INVALID: i32 = 0x200;
/** x87 escape D8-DF. */
export const FMT_X87: i32 = 0x400;
/** The core does not execute it: an unimplemented-instruction exit. */
export const FMT_UNIMPLEMENTED: i32 = 0x800;
/** The length cannot be determined from the table. */
export const FMT_UNKNOWN: i32 = 0x1000;
/** 0F 38 / 0F 3A: a third opcode byte comes before the ModRM byte (the format's other bits hold for every opcode of the map). */
export const FMT_ESCAPE3: i32 = 0x2000;

function charFormat(c: i32): i32 {
  switch (c) {
    case 0x2e: return IMM_NONE;                                   // .
    case 0x4d: return FMT_MODRM;                                  // M
    case 0x52: return FMT_MODRM | FMT_REGONLY;                    // R
    case 0x62: return IMM_B;                                      // b
    case 0x42: return FMT_MODRM | IMM_B;                          // B
    case 0x77: return IMM_W;                                      // w
    case 0x7a: return IMM_Z;                                      // z
    case 0x5a: return FMT_MODRM | IMM_Z;                          // Z
    case 0x70: return IMM_PTR;                                    // p
    case 0x6f: return IMM_MOFFS;                                  // o
    case 0x65: return IMM_WB;                                     // e
    case 0x67: return FMT_MODRM | FMT_GROUP;                      // g
    case 0x68: return FMT_MODRM | FMT_GROUP | IMM_B;              // h
    case 0x6b: return FMT_MODRM | FMT_GROUP | IMM_Z;              // k
    case 0x74: return FMT_MODRM | FMT_GROUP | IMM_TEST_B;         // t
    case 0x54: return FMT_MODRM | FMT_GROUP | IMM_TEST_Z;         // T
    case 0x50: return FMT_PREFIX;                                 // P
    case 0x45: return FMT_ESCAPE;                                 // E
    case 0x55: return FMT_INVALID;                                // U
    case 0x58: return FMT_MODRM | FMT_X87;                        // X
    case 0x79: return FMT_ESCAPE3 | FMT_MODRM;                    // y
    case 0x59: return FMT_ESCAPE3 | FMT_MODRM | IMM_B;            // Y
    default: return FMT_UNIMPLEMENTED | FMT_UNKNOWN;              // ?
  }
}

/** The format word of one-byte opcode `op`, or of 0F `op` when twoByte. */
export function opcodeFormat(op: i32, twoByte: bool): i32 {
  const i = op & 15;
  const row = twoByte ? MAP2[(op >> 4) & 15] : MAP1[(op >> 4) & 15];
  return charFormat(row.charCodeAt(i + (i >> 3)));
}

/** Bytes of immediate/offset after the ModRM bytes. */
export function immediateBytes(fmt: i32, opsize: i32, adsize: i32, modrmReg: i32): i32 {
  switch (fmt & FMT_IMM_MASK) {
    case IMM_B: return 1;
    case IMM_W: return 2;
    case IMM_Z: return opsize;
    case IMM_PTR: return opsize + 2;
    case IMM_MOFFS: return adsize;
    case IMM_WB: return 3;
    case IMM_TEST_B: return modrmReg < 2 ? 1 : 0;
    case IMM_TEST_Z: return modrmReg < 2 ? opsize : 0;
    default: return 0;
  }
}

/**
 * Length of the instruction whose first n bytes (n <= 15) are in b, for a
 * code segment with the given default size: the length when those bytes hold
 * all of it, 0 when more bytes are needed, -1 when the table cannot tell
 * (invalid or unknown opcode, more than 15 bytes).
 */
export function insnLength(b: StaticArray<u8>, n: i32, default32: bool): i32 {
  let i = 0;
  let op32 = default32, ad32 = default32;
  let fmt = 0, op = 0;
  for (;;) {
    if (i >= n) return i < 15 ? 0 : -1;
    op = i32(b[i]); i++;
    fmt = opcodeFormat(op, false);
    if ((fmt & FMT_PREFIX) == 0) break;
    if (op == 0x66) op32 = !default32;
    else if (op == 0x67) ad32 = !default32;
  }
  if ((fmt & FMT_ESCAPE) != 0) {
    if (i >= n) return i < 15 ? 0 : -1;
    op = i32(b[i]); i++;
    fmt = opcodeFormat(op, true);
    if ((fmt & FMT_ESCAPE3) != 0) { // the third opcode byte
      if (i >= n) return i < 15 ? 0 : -1;
      i++;
    }
  }
  if ((fmt & (FMT_INVALID | FMT_UNKNOWN)) != 0) return -1;
  let reg = 0;
  if ((fmt & FMT_MODRM) != 0) {
    if (i >= n) return i < 15 ? 0 : -1;
    const m = i32(b[i]); i++;
    const mod = m >> 6, rm = m & 7;
    reg = (m >> 3) & 7;
    if (mod != 3 && (fmt & FMT_REGONLY) == 0) {
      if (ad32) {
        let base = rm;
        if (rm == 4) {
          if (i >= n) return i < 15 ? 0 : -1;
          base = i32(b[i]) & 7; i++;
        }
        if (mod == 1) i += 1;
        else if (mod == 2 || (mod == 0 && base == 5)) i += 4;
      } else {
        if (mod == 1) i += 1;
        else if (mod == 2 || (mod == 0 && rm == 6)) i += 2;
      }
    }
  }
  i += immediateBytes(fmt, op32 ? 4 : 2, ad32 ? 4 : 2, reg);
  if (i > 15) return -1;
  return i <= n ? i : 0;
}
