/**
 * A bare machine (CPU and RAM) in flat 32-bit protected mode at CPL 0 — CS selector 8, the data segments 16, all
 * based at 0 with 4 GiB limits — running `code` from `at` with ESP at 0x8000: for VMM mechanisms tested on a few
 * instructions (the guest-physical map, the monitor trap flag).
 */
import { BareMachine } from "../../src/machine/bare.js";
import { createEngine } from "../../src/node/engines.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import type { EngineKind } from "../../src/engine/engine.js";

export async function flatMachine(kind: EngineKind, ramBytes: number, code: number[], at = 0x1000): Promise<BareMachine> {
  const m = new BareMachine({ engine: await createEngine(kind, ramBytes), ramBytes });
  const flat = (attr: number, selector: number) => ({ selector, base: 0, limit: 0xffffffff, attr });
  m.setState({
    cr0: 0x11, eip: at, eflags: 2, cpl: 0,
    cs: flat(Attr.flatCode32, 8), ds: flat(Attr.flatData32, 16), es: flat(Attr.flatData32, 16),
    ss: flat(Attr.flatData32, 16), fs: flat(Attr.flatData32, 16), gs: flat(Attr.flatData32, 16), esp: 0x8000,
  });
  m.writeMemory(at, code);
  return m;
}

export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
