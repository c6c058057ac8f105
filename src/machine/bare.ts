/**
 * A bare machine for conformance harnesses: RAM and a CPU, no devices (port
 * reads return all ones, writes are ignored). Set the whole CPU state,
 * write memory, execute exactly N instructions, read everything back.
 *
 * @module
 */
import { Vm, type StopReason } from "../vmm/vm.js";
import type { Engine } from "../engine/engine.js";
import type { CpuState } from "../vmm/cpu-state.js";

export interface BareMachineOptions { engine: Engine; ramBytes: number }

export class BareMachine {
  readonly vm: Vm;
  constructor(opts: BareMachineOptions) {
    this.vm = new Vm(opts.engine, opts.ramBytes);
    // No devices: all of RAM is RAM, including the PC's VGA window.
    this.vm.core.setVgaHole(false);
  }
  getState(): CpuState { return this.vm.getState(); }
  setState(st: Partial<CpuState>): void { this.vm.setState(st); }
  writeMemory(addr: number, data: Uint8Array | number[]): void { this.vm.writePhysical(addr, data instanceof Uint8Array ? data : Uint8Array.from(data)); }
  readMemory(addr: number, len: number): Uint8Array { return this.vm.readPhysical(addr, len); }
  /** Execute up to n instructions; stops early at HLT, a shutdown or an unimplemented instruction. */
  step(n = 1): StopReason { return this.vm.run(n); }
  /** Instructions retired since reset. */
  get instructions(): number { return this.vm.core.getRetired(); }
}
