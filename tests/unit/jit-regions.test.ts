// Region boundaries under the region compiler (compiling every block after
// one replay), with the JS engine (no compiler: replay and the interpreter)
// as the second witness:
// - a loop whose two halves sit on two pages (one region spanning both, the
//   jump between them checked against the TLB), the guest unmapping the second
//   page inside the loop. SDM vol. 3, 4.7 and 6.15: the fetch from the
//   not-present page is a #PF with CR2 = the address, error code 0
//   (supervisor, read/fetch, not present; 32-bit paging reports no I/D bit),
//   and EIP = the instruction that could not be fetched. The VMM intercepts
//   #PF through the exception bitmap, so the fault is seen with the registers
//   as they were.
// - external interrupts injected while a compiled loop runs: each is taken
//   once (SDM 6.8.1), between instructions, at the same instruction on both
//   engines (the run() budget splits the loop at the same points).
// - an interrupt made pending while a loop runs with IF = 0 and becoming
//   deliverable inside it: taken right after STI's shadow, or right after the
//   POPF that sets IF (SDM vol. 2, STI and POPF).
// - guest page faults in the middle of a compiled loop, handled by the guest:
//   the faulting instruction restarts, the ones before it in the block stay
//   done (SDM vol. 3, 4.7, 6.15).
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { BareMachine } from "../../src/machine/bare.js";
import { Attr, type CpuState } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";
import { COMPILE_EAGERLY, runToException } from "../helpers.js";

// At 0x3FE0 (nasm, bits 32), the loop's first half at the end of one page, its second at 0x4000:
//   start: inc eax                    40
//          cmp eax, 50                83 F8 32
//          jne go                     75 11
//          mov dword [0x11010], 0     C7 05 10 10 01 00 00 00 00 00   (PTE of 0x4000: not present)
//          invlpg [0x4000]            0F 01 3D 00 40 00 00
//   go:    jmp 0x4000                 E9 04 00 00 00
//          (4 × nop)
//   0x4000: inc ebx                   43
//          cmp ebx, 1000              81 FB E8 03 00 00
//          jb start                   72 D7
//          hlt                        F4
const CODE = [
  0x40, 0x83, 0xf8, 0x32, 0x75, 0x11, 0xc7, 0x05, 0x10, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x01, 0x3d, 0x00,
  0x40, 0x00, 0x00, 0xe9, 0x04, 0x00, 0x00, 0x00, 0x90, 0x90, 0x90, 0x90, 0x43, 0x81, 0xfb, 0xe8, 0x03, 0x00, 0x00, 0x72,
  0xd7, 0xf4,
];
const RAM = 4 << 20;
const PD = 0x10000, PT = 0x11000;
const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });

/** 32-bit paging at PD/PT, the first 4 MiB identity-mapped with 4 KiB pages (the page at `absent`, if given, not present). */
function identityMap(m: BareMachine, absent = -1): void {
  const pd = new DataView(new ArrayBuffer(4096)), pt = new DataView(new ArrayBuffer(4096));
  pd.setUint32(0, PT | 3, true);
  for (let i = 0; i < 1024; i++) pt.setUint32(4 * i, (i << 12) | (i << 12 === absent ? 0 : 3), true);
  m.writeMemory(PD, new Uint8Array(pd.buffer));
  m.writeMemory(PT, new Uint8Array(pt.buffer));
}

interface Fault { vector: number; errorCode: number | null; cr2: number; eip: number; eax: number; ebx: number; compiled: number; perEntry: number }

async function run(kind: EngineKind): Promise<Fault> {
  const engine = await createEngine(kind, RAM, COMPILE_EAGERLY);
  const m = new BareMachine({ engine, ramBytes: RAM });
  identityMap(m);
  m.writeMemory(0x3fe0, CODE);
  m.setState({
    cr0: 0x80000011, cr3: PD, eip: 0x3fe0, eax: 0, ebx: 0, halted: false,
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
  });
  const f: Fault = runToException(m, 14, 50, (exit, vm) => {
    const s = vm.getState();
    return { vector: exit.vector, errorCode: exit.errorCode, cr2: exit.cr2, eip: s.eip, eax: s.eax, ebx: s.ebx, compiled: 0, perEntry: 0 };
  });
  const t = m.vm.stats().tcache;
  f.compiled = t.compiledInstructions;
  f.perEntry = t.regionEntries ? t.compiledInstructions / t.regionEntries : 0;
  return f;
}

describe("regions across pages (SDM 4.7, 6.15)", () => {
  it("a loop spread over two pages faults at the second page's first instruction once the guest unmaps it", async () => {
    // 50 turns of the first half, 49 of the second: the 50th jump to 0x4000 cannot fetch.
    const expected = { vector: 14, errorCode: 0, cr2: 0x4000, eip: 0x4000, eax: 50, ebx: 49 };
    const wasm = await run("wasm");
    const js = await run("js");
    expect(wasm).toMatchObject(expected);
    expect(js).toMatchObject(expected);
    // The loop did run compiled, several turns per entry into its region: the jumps between the
    // two pages stayed inside it (a region ends at every instruction otherwise).
    expect(wasm.compiled).toBeGreaterThan(0);
    expect(wasm.perEntry).toBeGreaterThan(10);
  });
});

// At 0x1000: loop: inc eax; add ebx, eax; cmp eax, 20000; jb loop; hlt. At 0x6000 (vector 0x20's
// interrupt gate): inc esi; add edi, eax; iret.
const LOOP = [0x40, 0x01, 0xc3, 0x3d, 0x20, 0x4e, 0x00, 0x00, 0x72, 0xf6, 0xf4];
const HANDLER = [0x46, 0x01, 0xc7, 0xcf];

// A flat protected-mode machine (compiling eagerly): code at 0x1000, a handler at 0x6000 behind
// vector `vector`'s gate, the stack at 0x9000. GDT at 0x800 (null, flat code 0x08, flat data
// 0x10); IDT at 0x5000 with one 32-bit interrupt gate, DPL 0. `state` adds or overrides registers.
async function flatMachine(kind: EngineKind, code: number[], handler: number[], vector: number, state: Partial<CpuState>) {
  const engine = await createEngine(kind, RAM, COMPILE_EAGERLY);
  const m = new BareMachine({ engine, ramBytes: RAM });
  m.writeMemory(0x1000, code);
  m.writeMemory(0x6000, handler);
  m.writeMemory(0x800, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);
  m.writeMemory(0x5000 + 8 * vector, [0x00, 0x60, 0x08, 0x00, 0x00, 0x8e, 0x00, 0x00]);
  m.setState({
    cr0: 0x11, eip: 0x1000, esp: 0x9000, eflags: 0x202, halted: false,
    gdtr: { base: 0x800, limit: 23 }, idtr: { base: 0x5000, limit: 0x7ff },
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
    ...state,
  });
  return m;
}

/** A fixed pseudo-random stream (xorshift32), the same on both engines. */
function xorshift(seed: number): () => number {
  return () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0; };
}

async function interrupted(kind: EngineKind) {
  const m = await flatMachine(kind, LOOP, HANDLER, 0x20, { eax: 0, ebx: 0, esi: 0, edi: 0 });
  let injected = 0;
  for (let i = 0; i < 100_000; i++) {
    const stop = m.step(37);
    if (stop.kind === "halted") break;
    if (stop.kind !== "budget") throw new Error(`stopped: ${JSON.stringify(stop)}`);
    if (i % 5 === 4) { m.vm.core.injectInterrupt(0x20); injected++; }
  }
  const s = m.getState();
  return { eax: s.eax, ebx: s.ebx, esi: s.esi, edi: s.edi, esp: s.esp, eip: s.eip, retired: m.instructions, injected, compiled: m.vm.stats().tcache.compiledInstructions };
}

describe("interrupts into compiled loops (SDM 6.8.1)", () => {
  it("each injected interrupt is taken once, at the same instruction as without the compiler", async () => {
    const wasm = await interrupted("wasm");
    const js = await interrupted("js");
    expect(wasm.eax).toBe(20000);
    expect(wasm.ebx).toBe((20000 * 20001 / 2) >>> 0);
    expect(wasm.esi).toBe(wasm.injected); // every interrupt delivered once
    expect(wasm.esp).toBe(0x9000);        // every handler returned
    expect(wasm.eip).toBe(0x100b);        // after the HLT
    const { compiled: _c, ...same } = wasm;
    const { compiled: _j, ...sameJs } = js;
    expect(same).toEqual(sameJs);         // EDI sums EAX where each interrupt landed: the same points
    expect(wasm.compiled).toBeGreaterThan(0);
  });
});

// An interrupt that becomes deliverable inside a compiled loop. At 0x1000:
//   loop: cli                 FA              0x1000
//         inc eax             40              0x1001
//         add ebx, eax        01 C3           0x1002
//         sti                 FB              0x1004
//         add ecx, eax        01 C1           0x1005   (STI's interrupt shadow)
//   L1:   add edx, ecx        01 CA           0x1007
//         pushfd              9C              0x1009
//         cli                 FA              0x100A
//         add ebx, edx        01 D3           0x100B
//         popfd               9D              0x100D
//   L2:   add ecx, ebx        01 D9           0x100E
//         cmp eax, 20000      3D 20 4E 00 00  0x1010
//         jb loop             72 E9           0x1015
//         hlt                 F4              0x1017
// Vector 0x20's handler at 0x6000 appends its return EIP to a list (count at 0x10000, EIPs from
// 0x10004): mov ebp, [0x10000]; mov edi, [esp]; mov [ebp*4 + 0x10004], edi; inc dword [0x10000]; iret.
// The test injects an interrupt only while IF = 0, so it is pending until the loop sets IF again.
// SDM vol. 2, STI: interrupts are recognised after the instruction that follows STI (the shadow);
// POPF has no shadow: it is recognised right after the POPF that set IF. So an interrupt made
// pending in the first window lands at L1, one in the second at L2 — never later in the loop.
const IF_LOOP = [
  0xfa, 0x40, 0x01, 0xc3, 0xfb, 0x01, 0xc1, 0x01, 0xca, 0x9c, 0xfa, 0x01, 0xd3, 0x9d, 0x01, 0xd9, 0x3d, 0x20, 0x4e, 0x00,
  0x00, 0x72, 0xe9, 0xf4,
];
const IF_HANDLER = [
  0x8b, 0x2d, 0x00, 0x00, 0x01, 0x00, 0x8b, 0x3c, 0x24, 0x89, 0x3c, 0xad, 0x04, 0x00, 0x01, 0x00, 0xff, 0x05, 0x00, 0x00,
  0x01, 0x00, 0xcf,
];
const L1 = 0x1007, L2 = 0x100e, LIST = 0x10000, TURNS = 20000;
const windowOf = (eip: number) => (eip >= 0x1001 && eip <= 0x1004 ? L1 : eip === 0x100b || eip === 0x100d ? L2 : -1);

async function unmasked(kind: EngineKind) {
  const m = await flatMachine(kind, IF_LOOP, IF_HANDLER, 0x20, { eax: 0, ebx: 0, ecx: 0, edx: 0 });
  // Budgets from a fixed pseudo-random stream (the same on both engines), so runs stop at every
  // point of the loop; an interrupt is injected at about every second stop inside a window.
  const next = xorshift(0x2545f491);
  const expected: number[] = [];
  for (let i = 0; i < 200_000; i++) {
    const stop = m.step(1 + (next() % 48));
    if (stop.kind === "halted") break;
    if (stop.kind !== "budget") throw new Error(`stopped: ${JSON.stringify(stop)}`);
    const s = m.getState();
    // (IF is 0 in the handler too: no injection there.)
    if ((s.eflags & 0x200) === 0 && s.eip < 0x6000 && m.vm.core.pendingInterrupt() < 0 && next() % 2 === 0) {
      const lands = windowOf(s.eip);
      if (lands < 0) throw new Error(`IF = 0 outside the loop's windows, at ${s.eip.toString(16)}`);
      m.vm.core.injectInterrupt(0x20);
      expected.push(lands);
    }
  }
  const s = m.getState();
  const count = m.readMemory(LIST, 4);
  const n = count[0] | (count[1] << 8) | (count[2] << 16) | (count[3] << 24);
  const raw = m.readMemory(LIST + 4, 4 * n);
  const landed = Array.from({ length: n }, (_, i) => raw[4 * i] | (raw[4 * i + 1] << 8) | (raw[4 * i + 2] << 16) | (raw[4 * i + 3] << 24));
  return {
    eax: s.eax, ebx: s.ebx, ecx: s.ecx, edx: s.edx, esp: s.esp, eip: s.eip, halted: s.halted, retired: m.instructions,
    expected, landed, compiled: m.vm.stats().tcache.compiledInstructions,
  };
}

describe("an interrupt becoming deliverable inside a compiled loop (SDM vol. 2 STI, POPF)", () => {
  it("is taken right after STI's shadow or right after the POPF that sets IF, on every turn it is made pending", async () => {
    // The loop's sums, computed here (the handler touches none of these registers).
    let eax = 0, ebx = 0, ecx = 0, edx = 0;
    for (let t = 0; t < TURNS; t++) {
      eax = (eax + 1) >>> 0; ebx = (ebx + eax) >>> 0; ecx = (ecx + eax) >>> 0; edx = (edx + ecx) >>> 0;
      ebx = (ebx + edx) >>> 0; ecx = (ecx + ebx) >>> 0;
    }
    const wasm = await unmasked("wasm");
    const js = await unmasked("js");
    for (const r of [wasm, js]) {
      expect(r).toMatchObject({ eax, ebx, ecx, edx, esp: 0x9000, eip: 0x1018, halted: true });
      expect(r.expected.length).toBeGreaterThan(100);
      expect(r.expected.filter((e) => e === L1).length).toBeGreaterThan(20);
      expect(r.expected.filter((e) => e === L2).length).toBeGreaterThan(20);
      expect(r.landed).toEqual(r.expected); // each taken once, where the SDM says
    }
    const { compiled: _c, ...same } = wasm;
    const { compiled: _j, ...sameJs } = js;
    expect(same).toEqual(sameJs);
    expect(wasm.compiled).toBeGreaterThan(0);
  });
});

// Page faults in the middle of a compiled loop, handled by the guest. At 0x1000 (paging on):
//   l: inc ecx                41                 (retired before the fault: kept)
//      add edx, ecx           01 CA
//      mov eax, [esi]         8B 06              (#PF on the first touch of a not-present page)
//      add eax, edx           01 D0
//      mov [esi], eax         89 06
//      add esi, 1024          81 C6 00 04 00 00
//      cmp ecx, 1024          81 F9 00 04 00 00
//      jb l                   72 E9
//      hlt                    F4
// ESI walks 256 pages of the window at 4 MiB, four dwords a page; the odd pages start not present.
// Vector 14's handler at 0x6000 appends (CR2, error code) to a list (count at 0x20000), sets the
// PTE's present bit and returns to the faulting instruction:
//   push eax; push ebx; mov ebx, [0x20000]; mov eax, [esp+8]; mov [ebx*8 + 0x20008], eax;
//   mov eax, cr2; mov [ebx*8 + 0x20004], eax; inc dword [0x20000]; shr eax, 12; and eax, 0x3ff;
//   or dword [eax*4 + 0x12000], 1; pop ebx; pop eax; add esp, 4; iret
// SDM vol. 3, 4.7 and 6.15: the fault leaves the instruction undone (EIP = the MOV, EAX as it was),
// CR2 = the linear address, error code 0 (supervisor read, not present); 4.10.2.3: a not-present
// entry is not cached, so setting P needs no INVLPG. The sums below are plain arithmetic.
const PF_LOOP = [
  0x41, 0x01, 0xca, 0x8b, 0x06, 0x01, 0xd0, 0x89, 0x06, 0x81, 0xc6, 0x00, 0x04, 0x00, 0x00, 0x81, 0xf9, 0x00, 0x04, 0x00,
  0x00, 0x72, 0xe9, 0xf4,
];
const PF_HANDLER = [
  0x50, 0x53, 0x8b, 0x1d, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x44, 0x24, 0x08, 0x89, 0x04, 0xdd, 0x08, 0x00, 0x02, 0x00, 0x0f,
  0x20, 0xd0, 0x89, 0x04, 0xdd, 0x04, 0x00, 0x02, 0x00, 0xff, 0x05, 0x00, 0x00, 0x02, 0x00, 0xc1, 0xe8, 0x0c, 0x25, 0xff,
  0x03, 0x00, 0x00, 0x83, 0x0c, 0x85, 0x00, 0x20, 0x01, 0x00, 0x01, 0x5b, 0x58, 0x83, 0xc4, 0x04, 0xcf,
];
const WINDOW = 0x400000, DATA = 0x200000, PAGES = 256, PF_TURNS = 1024, PF_LIST = 0x20000;
const initial = (k: number) => (k * 7 + 3) >>> 0;

async function faulting(kind: EngineKind) {
  const m = await flatMachine(kind, PF_LOOP, PF_HANDLER, 14, { cr0: 0x80000011, cr3: 0x10000, eax: 0, ecx: 0, edx: 0, esi: WINDOW, eflags: 0x2 });
  const pd = new DataView(new ArrayBuffer(4096)), pt0 = new DataView(new ArrayBuffer(4096)), pt1 = new DataView(new ArrayBuffer(4096));
  pd.setUint32(0, 0x11000 | 3, true);
  pd.setUint32(4, 0x12000 | 3, true);
  for (let i = 0; i < 1024; i++) pt0.setUint32(4 * i, (i << 12) | 3, true);
  for (let i = 0; i < PAGES; i++) pt1.setUint32(4 * i, (DATA + (i << 12)) | (i % 2 ? 2 : 3), true);
  m.writeMemory(0x10000, new Uint8Array(pd.buffer));
  m.writeMemory(0x11000, new Uint8Array(pt0.buffer));
  m.writeMemory(0x12000, new Uint8Array(pt1.buffer));
  const data = new DataView(new ArrayBuffer(PF_TURNS * 1024));
  for (let k = 0; k < PF_TURNS; k++) data.setUint32(k * 1024, initial(k), true);
  m.writeMemory(DATA, new Uint8Array(data.buffer));
  // Budgets from a fixed pseudo-random stream, so runs also stop inside the loop and the handler.
  const next = xorshift(0x6b43a9b5);
  for (let i = 0; i < 100_000; i++) {
    const stop = m.step(1 + (next() % 64));
    if (stop.kind === "halted") break;
    if (stop.kind !== "budget") throw new Error(`stopped: ${JSON.stringify(stop)}`);
  }
  const s = m.getState();
  const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  const n = u32(m.readMemory(PF_LIST, 4), 0);
  const list = m.readMemory(PF_LIST + 4, 8 * n);
  const faults = Array.from({ length: n }, (_, i) => ({ cr2: u32(list, 8 * i), errorCode: u32(list, 8 * i + 4) }));
  const mem = m.readMemory(DATA, PF_TURNS * 1024);
  const values = Array.from({ length: PF_TURNS }, (_, k) => u32(mem, k * 1024));
  return {
    eax: s.eax, ecx: s.ecx, edx: s.edx, esi: s.esi, esp: s.esp, eip: s.eip, halted: s.halted, retired: m.instructions,
    faults, values, compiled: m.vm.stats().tcache.compiledInstructions,
  };
}

describe("guest page faults in the middle of a compiled loop (SDM 4.7, 6.15)", () => {
  it("restart the faulting instruction with the instructions before it kept, once per not-present page", async () => {
    const values: number[] = [];
    let edx = 0, eax = 0;
    for (let k = 0; k < PF_TURNS; k++) { edx = (edx + k + 1) >>> 0; eax = (initial(k) + edx) >>> 0; values.push(eax); }
    const faults = Array.from({ length: PAGES / 2 }, (_, i) => ({ cr2: WINDOW + ((2 * i + 1) << 12), errorCode: 0 }));
    const expected = { eax, ecx: PF_TURNS, edx, esi: WINDOW + PF_TURNS * 1024, esp: 0x9000, eip: 0x1018, halted: true, faults, values };
    const wasm = await faulting("wasm");
    const js = await faulting("js");
    expect(wasm).toMatchObject(expected);
    expect(js).toMatchObject(expected);
    expect(wasm.retired).toBe(js.retired);
    expect(wasm.compiled).toBeGreaterThan(0);
  });
});

// Calls and returns between pages: kernel code calls functions on other pages (through
// registers, too) and returns to callers on other pages all the time. At 0x1000 (nasm, bits 32):
//   start: mov ebx, 0x5000      BB 00 50 00 00
//   l:     push ecx             51
//          call ebx             FF D3           (0x1006)
//          jmp [jt]             FF 25 13 10 00 00
//          nop                  90
//   n:     dec ecx              49
//          jnz l                75 F3
//          hlt                  F4
//   jt:    dd n                 0F 10 00 00
// and at 0x5000:
//   f:     mov edx, [esp+4]     8B 54 24 04
//          lea edx, [edx*2+edx] 8D 14 52
//          add eax, edx         01 D0
//          xor esi, eax         31 C6
//          ret                  C3              (the argument stays: ESP goes down 4 a turn)
// SDM vol. 2 CALL, RET, JMP; vol. 3 4.7, 6.15: a CALL whose push meets a not-present page is a
// #PF (error code 2: supervisor write, not present; CR2 the address) with ESP and EIP as before it.
const CALLER = [0xbb, 0x00, 0x50, 0x00, 0x00, 0x51, 0xff, 0xd3, 0xff, 0x25, 0x13, 0x10, 0x00, 0x00, 0x90, 0x49, 0x75, 0xf3, 0xf4, 0x0f, 0x10, 0x00, 0x00];
const CALLEE = [0x8b, 0x54, 0x24, 0x04, 0x8d, 0x14, 0x52, 0x01, 0xd0, 0x31, 0xc6, 0xc3];
const CALL_EBX = 0x1006, GAP = 0x8000; // (the page below 0x9000 is not present)

async function callsMachine(kind: EngineKind, esp: number, turns: number): Promise<BareMachine> {
  const m = new BareMachine({ engine: await createEngine(kind, RAM, COMPILE_EAGERLY), ramBytes: RAM });
  identityMap(m, GAP);
  m.writeMemory(0x1000, CALLER);
  m.writeMemory(0x5000, CALLEE);
  m.setState({
    cr0: 0x80000011, cr3: PD, eip: 0x1000, esp, ecx: turns, eax: 0, esi: 0, halted: false,
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
    fs: flat(0x10, Attr.flatData32), gs: flat(0x10, Attr.flatData32),
  });
  return m;
}
/** EAX and ESI after the turns for ECX = from down to to + 1. */
function expectedSums(from: number, to: number): { eax: number; esi: number } {
  let eax = 0, esi = 0;
  for (let c = from; c > to; c--) { eax = (eax + 3 * c) >>> 0; esi = (esi ^ eax) >>> 0; }
  return { eax, esi };
}

describe("calls and returns between pages (SDM vol. 2 CALL, RET, JMP; vol. 3 4.7, 6.15)", () => {
  it("a loop calling through a register to another page and jumping through memory gives the same sums in any budgets", async () => {
    for (const kind of ["wasm", "js"] as const) {
      for (const slice of [1_000_000, 7, 23]) {
        const m = await callsMachine(kind, 0x80000, 300);
        for (let i = 0; i < 100_000 && !m.vm.getState().halted; i++) {
          const stop = m.step(slice);
          if (stop.kind !== "budget" && stop.kind !== "halted") throw new Error(`stopped: ${JSON.stringify(stop)}`);
        }
        const s = m.vm.getState();
        expect({ halted: s.halted, eax: s.eax, esi: s.esi, ecx: s.ecx, esp: s.esp }).toEqual({ halted: true, ...expectedSums(300, 0), ecx: 0, esp: 0x80000 - 4 * 300 });
        // (One slice of a million runs it all before anything is compiled: the interpreter's and replay's answer.)
        if (kind === "wasm" && slice < 1000) expect(m.vm.stats().tcache.compiledInstructions).toBeGreaterThan(2000);
      }
    }
  });

  it("a CALL whose push meets a not-present page faults with ESP and EIP as before it", async () => {
    // ESP starts 51 dwords above the gap: 50 turns leave their arguments, the 51st turn's PUSH ECX takes
    // the last dword above it, and its CALL's push is the first write into the gap.
    for (const kind of ["wasm", "js"] as const) {
      const m = await callsMachine(kind, GAP + 0x1000 + 4 * 51, 300);
      for (let i = 0; i < 10; i++) m.step(30); // (compiled meanwhile; 300 instructions are 30 turns of 10)
      expect(m.vm.getState().ecx).toBeGreaterThan(250);
      if (kind === "wasm") expect(m.vm.stats().tcache.compiledInstructions).toBeGreaterThan(0);
      const f = runToException(m, 14, 100_000, (exit, vm) => {
        const s = vm.getState();
        return { vector: exit.vector, errorCode: exit.errorCode, cr2: exit.cr2, eip: s.eip, esp: s.esp, ecx: s.ecx, eax: s.eax, esi: s.esi };
      });
      expect(f).toEqual({ vector: 14, errorCode: 2, cr2: GAP + 0xffc, eip: CALL_EBX, esp: GAP + 0x1000, ecx: 250, ...expectedSums(300, 250) });
    }
  });
});

// Links between regions (jit/region.ts): a region leaving for code outside it goes on into that code's
// region itself, when the cache has entered it before and it may be entered now. A loop at 0x1000 calling a
// function at 0x5000 through a register, and at turn K changing what 0x5000 holds before its call (nasm):
//   start: mov ebx, 0x5000               BB 00 50 00 00
//   l:     push ecx                      51
//          cmp ecx, K                    81 F9 <K>
//          jne go                        75 <n>
//          <the change, n bytes>
//   go:    call ebx                      FF D3
//          dec ecx                       49
//          jnz l                         75 <back>
//          hlt                           F4
// and at 0x5000 the function of the calls above, returning with RET 4 (C2 04 00): ESP stays put.
const LINK_CALLEE = [0x8b, 0x54, 0x24, 0x04, 0x8d, 0x14, 0x52, 0x01, 0xd0, 0x31, 0xc6, 0xc2, 0x04, 0x00];
function linkCaller(k: number, change: number[]): number[] {
  const head = [0xbb, 0x00, 0x50, 0x00, 0x00, 0x51, 0x81, 0xf9, k & 0xff, (k >> 8) & 0xff, 0, 0, 0x75, change.length, ...change, 0xff, 0xd3, 0x49];
  return [...head, 0x75, (0x1005 - (0x1000 + head.length + 2)) & 0xff, 0xf4];
}
async function linkMachine(kind: EngineKind, code: number[], turns: number): Promise<BareMachine> {
  const m = new BareMachine({ engine: await createEngine(kind, RAM, COMPILE_EAGERLY), ramBytes: RAM });
  identityMap(m);
  m.writeMemory(0x1000, code);
  m.writeMemory(0x5000, LINK_CALLEE);
  m.setState({
    cr0: 0x80000011, cr3: PD, eip: 0x1000, esp: 0x80000, ecx: turns, eax: 0, esi: 0, halted: false,
    cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
    fs: flat(0x10, Attr.flatData32), gs: flat(0x10, Attr.flatData32),
  });
  return m;
}

describe("links between regions (SDM vol. 2 CALL, RET; vol. 3 4.7, 4.10.4, 6.15)", () => {
  it("a call into code the guest rewrote runs the new code, not the region compiled from the old", async () => {
    // At turn 100 the guest turns the function's ADD EAX, EDX (01 D0) into SUB EAX, EDX (29 D0): mov byte [0x5007], 0x29.
    const code = linkCaller(100, [0xc6, 0x05, 0x07, 0x50, 0x00, 0x00, 0x29]);
    let eax = 0, esi = 0;
    for (let c = 300; c > 0; c--) { eax = (c > 100 ? eax + 3 * c : eax - 3 * c) >>> 0; esi = (esi ^ eax) >>> 0; }
    for (const kind of ["wasm", "js"] as const) {
      for (const slice of [1_000_000, 23]) {
        const m = await linkMachine(kind, code, 300);
        for (let i = 0; i < 100_000 && !m.vm.getState().halted; i++) {
          const stop = m.step(slice);
          if (stop.kind !== "budget" && stop.kind !== "halted") throw new Error(`stopped: ${JSON.stringify(stop)}`);
        }
        const s = m.vm.getState();
        expect({ kind, slice, halted: s.halted, eax: s.eax, esi: s.esi, ecx: s.ecx, esp: s.esp }).toEqual({ kind, slice, halted: true, eax, esi, ecx: 0, esp: 0x80000 });
        if (kind === "wasm" && slice < 1000) expect(m.vm.stats().tcache.regionLinks).toBeGreaterThan(300);
      }
    }
  });

  it("a call into a page the guest unmapped faults at its first instruction instead of going on into its region", async () => {
    // At turn 100 the guest clears the PTE of 0x5000 and invalidates it: mov dword [PT + 0x14], 0; invlpg [0x5000].
    // The CALL completes (SDM vol. 2 CALL: it pushes and jumps); the fetch at 0x5000 is a #PF with CR2 = 0x5000,
    // error code 0 (supervisor, not present, no I/D bit in 32-bit paging) and EIP = 0x5000.
    const pte = PT + 0x14;
    const code = linkCaller(100, [0xc7, 0x05, pte & 0xff, (pte >> 8) & 0xff, (pte >> 16) & 0xff, 0, 0, 0, 0, 0, 0x0f, 0x01, 0x3d, 0x00, 0x50, 0x00, 0x00]);
    const returnAddress = 0x1000 + code.length - 4; // (after the CALL: DEC ECX)
    for (const kind of ["wasm", "js"] as const) for (const slice of [1000, 23]) {
      const m = await linkMachine(kind, code, 300);
      const f = runToException(m, 14, slice, (exit, vm) => {
        const s = vm.getState();
        return { vector: exit.vector, errorCode: exit.errorCode, cr2: exit.cr2, eip: s.eip, esp: s.esp, ecx: s.ecx, eax: s.eax, esi: s.esi, top: vm.memory.readU32(s.esp) };
      });
      expect({ kind, slice, ...f }).toEqual({ kind, slice, vector: 14, errorCode: 0, cr2: 0x5000, eip: 0x5000, esp: 0x80000 - 8, ecx: 100, ...expectedSums(300, 100), top: returnAddress });
      if (kind === "wasm") expect(m.vm.stats().tcache.regionLinks).toBeGreaterThan(100);
    }
  });
});

// A block in two regions (jit/compiler.ts jitInstall): a region takes the compiled blocks of its page with it, so a block
// can move from an older region whose other blocks stay on their own pages. The older region still holds the block's
// code; a write to the block's page must not leave it running there. Three pages, identity-mapped (nasm, bits 32):
//   0x1000 F: add eax, edx   01 D0      (the guest turns it into SUB EAX, EDX: 29 D0)
//             ret            C3
//   0x1010 G: inc esi        46         (a loop on F's page: its region takes F along)
//             dec ecx        49
//             jnz G          75 FC
//             ret            C3
//   0x5000 L: call F         E8 FB BF FF FF   (the older region: L, and F on the page it calls)
//             dec ecx        49
//             jnz L          75 F8
//             ret            C3
//   0x9000    mov edx, 3; mov ecx, 300; call L; mov ecx, 200; call G; mov byte [0x1000], 0x29; mov ecx, 100; call L; hlt
const F_AND_G = [0x01, 0xd0, 0xc3, ...new Array<number>(13).fill(0x90), 0x46, 0x49, 0x75, 0xfc, 0xc3];
const L_CALLS_F = [0xe8, 0xfb, 0xbf, 0xff, 0xff, 0x49, 0x75, 0xf8, 0xc3];
const REWRITES_F = [
  0xba, 0x03, 0x00, 0x00, 0x00, 0xb9, 0x2c, 0x01, 0x00, 0x00, 0xe8, 0xf1, 0xbf, 0xff, 0xff, 0xb9, 0xc8, 0x00, 0x00, 0x00,
  0xe8, 0xf7, 0x7f, 0xff, 0xff, 0xc6, 0x05, 0x00, 0x10, 0x00, 0x00, 0x29, 0xb9, 0x64, 0x00, 0x00, 0x00, 0xe8, 0xd6, 0xbf,
  0xff, 0xff, 0xf4,
];

describe("self-modifying code in a block that moved to a newer region (SDM vol. 3, 8.1.3)", () => {
  it("runs the rewritten code when reached through the older region's other blocks", async () => {
    // 300 calls adding 3, 200 turns of G, then 100 calls of the rewritten F subtracting 3: EAX = 900 - 300.
    for (const kind of ["wasm", "js"] as const) for (const slice of [1_000_000, 7, 23, 50, 101]) {
      const m = new BareMachine({ engine: await createEngine(kind, RAM, COMPILE_EAGERLY), ramBytes: RAM });
      identityMap(m);
      m.writeMemory(0x1000, F_AND_G);
      m.writeMemory(0x5000, L_CALLS_F);
      m.writeMemory(0x9000, REWRITES_F);
      m.setState({
        cr0: 0x80000011, cr3: PD, eip: 0x9000, esp: 0x80000, eax: 0, esi: 0, halted: false,
        cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32), ss: flat(0x10, Attr.flatData32),
      });
      for (let i = 0; i < 100_000 && !m.vm.getState().halted; i++) m.step(slice);
      const s = m.vm.getState();
      expect({ kind, slice, halted: s.halted, eax: s.eax, esi: s.esi, esp: s.esp }).toEqual({ kind, slice, halted: true, eax: 600, esi: 200, esp: 0x80000 });
      // (One slice of a million runs it all before anything is compiled.)
      if (kind === "wasm" && slice < 1000) expect(m.vm.stats().tcache.compiledInstructions).toBeGreaterThan(1000);
    }
  });
});
