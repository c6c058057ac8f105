// The monitor trap flag and REP string instructions, on both engines. VT-x's flag stops a REP instruction after
// each iteration, EIP still on it until the last (SDM vol. 3C, 25.5.2: "an MTF VM exit is pending on the instruction
// boundary after that iteration"), as the guest's own TF does (vol. 3A, 17.3.1.4): the VMM asks for that with
// `iterations` (a debugger's single step). Without it the instruction's chunk of iterations runs before the exit
// (the shadow pager's "one instruction"). Either way the instruction retires once: how many instructions retire
// does not depend on the VMM's stepping — the same count as the run never stepped.
import { describe, it, expect } from "vitest";
import { ENGINES } from "../helpers.js";
import { flatMachine, le32 } from "./flat-machine.js";

const RAM = 1 << 20;
const CODE = 0x1000;
// mov esi, 0x2000; mov edi, 0x3000; mov ecx, 4; rep movsb (at 0x100f); nop; hlt
const PROGRAM = [0xbe, ...le32(0x2000), 0xbf, ...le32(0x3000), 0xb9, ...le32(4), 0xf3, 0xa4, 0x90, 0xf4];
const REP_AT = CODE + 15;

async function machine(kind: (typeof ENGINES)[number]) {
  const m = await flatMachine(kind, RAM, PROGRAM, CODE);
  m.writeMemory(0x2000, [0x11, 0x22, 0x33, 0x44]);
  return m;
}

/** Run to the HLT under the monitor trap flag: where each exit found EIP, ECX and the destination's first dword. */
async function stepped(kind: (typeof ENGINES)[number], iterations: boolean | null) {
  const m = await machine(kind);
  const exits: [number, number, number][] = [];
  if (iterations !== null) {
    m.vm.requestMonitorTrap("test", true, 0, iterations);
    m.vm.onMonitorTrap(() => {
      const st = m.vm.getState();
      exits.push([st.eip, st.ecx, m.vm.memory.readU32(0x3000)]);
      return "resume";
    });
  }
  expect(m.vm.run(100).kind).toBe("halted");
  return { exits, retired: m.vm.core.getRetired(), dst: m.vm.memory.readU32(0x3000) };
}

describe.each(ENGINES)("the monitor trap flag and REP instructions on %s", (kind) => {
  it("with `iterations`: an exit after each iteration, EIP on the instruction until the last; it retires once", async () => {
    const plain = await stepped(kind, null);
    const r = await stepped(kind, true);
    expect(r.exits.slice(3, 7)).toEqual([
      [REP_AT, 3, 0x11], [REP_AT, 2, 0x2211], [REP_AT, 1, 0x332211], [REP_AT + 2, 0, 0x44332211],
    ]);
    expect(r.exits.length).toBe(3 + 4 + 1); // three MOVs, four iterations, the NOP (the HLT ends the run)
    expect(r.dst).toBe(plain.dst);
    expect(r.retired).toBe(plain.retired);
  });

  it("without: the instruction's iterations run before its one exit", async () => {
    const plain = await stepped(kind, null);
    const r = await stepped(kind, false);
    expect(r.exits.slice(3, 4)).toEqual([[REP_AT + 2, 0, 0x44332211]]);
    expect(r.exits.length).toBe(3 + 1 + 1);
    expect(r.retired).toBe(plain.retired);
  });
});

// An instruction that ends in an exit of its own — OUT (an I/O exit after it completed) or CPUID (answered by the
// VMM) — is one step too: the trap is due on the boundary after it (SDM vol. 3C, 25.5.2), not after the next one.
// Expected EIPs are the instruction boundaries: OUT imm8 is 2 bytes, NOP 1, CPUID 2.
describe.each(ENGINES)("the monitor trap flag after an instruction that exits on %s", (kind) => {
  it("stops on every boundary: after an OUT, a NOP, a CPUID", async () => {
    // out 0x80, al; nop; cpuid; nop; hlt
    const m = await flatMachine(kind, RAM, [0xe6, 0x80, 0x90, 0x0f, 0xa2, 0x90, 0xf4], CODE);
    const stops: number[] = [];
    m.vm.requestMonitorTrap("test", true);
    m.vm.onMonitorTrap(() => ({ kind: "requested", why: "step" }));
    for (let i = 0; i < 4; i++) {
      expect(m.vm.run(100).kind).toBe("requested");
      stops.push(m.vm.getState().eip - CODE);
    }
    expect(stops).toEqual([2, 3, 5, 6]);
    expect(m.vm.run(100).kind).toBe("halted");
  });
});
