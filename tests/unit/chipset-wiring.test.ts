/**
 * The chipset wired the way src/vmm/vm.ts should wire it, on both engines:
 * a reference run loop (advance the clock, fire due timers, PIC → INTA →
 * injectInterrupt, budget bounded by the next deadline, halt skips to it)
 * and a small guest that programs the 8259A pair, calibrates the TSC against
 * PIT counter 2 the way Linux's pit_calibrate_tsc() does, then counts 100
 * IRQ 0 ticks of a 1 kHz mode 2 timer while halting in between.
 *
 * Expected values: 100 ticks and no spurious interrupt (the guest's own
 * loop); counter 2 in mode 0 with count 1193 raises OUT 1193 to 1194 PIT
 * clocks after the count write (8254 datasheet: N + 1 clocks from the write,
 * the write falling between two clocks), i.e. 99 985 - 100 069 ticks of the
 * deterministic 100 MHz TSC; 100 periods of 1193 clocks plus that
 * calibration is 100.98 ms ± 0.05 of virtual time; one RTC interrupt
 * (enabling PIE with PF already set by the power-on 1024 Hz rate raises
 * IRQF at once: IRQF = PF·PIE, MC146818A datasheet; the next 2 Hz period
 * ends after the run). The two engines must agree to the instruction.
 *
 * Guest source (nasm -f bin), loaded flat at 1 MiB:
 *
 * ```nasm
 * bits 32
 * org 0x100000
 * start:
 *   mov esp, 0x90000
 *   ; IDT at 0x80000: every vector -> ignore, 0x20 -> timer, 0x27 -> spurious, 0x28 -> rtc
 *   mov edi, 0x80000
 *   mov ecx, 256
 * .fill:
 *   mov eax, ignore
 *   mov word [edi], ax
 *   mov word [edi+2], 0x10
 *   mov word [edi+4], 0x8e00
 *   shr eax, 16
 *   mov word [edi+6], ax
 *   add edi, 8
 *   loop .fill
 *   mov eax, timer
 *   mov word [0x80000 + 0x20*8], ax
 *   shr eax, 16
 *   mov word [0x80000 + 0x20*8 + 6], ax
 *   mov eax, rtc
 *   mov word [0x80000 + 0x28*8], ax
 *   shr eax, 16
 *   mov word [0x80000 + 0x28*8 + 6], ax
 *   lidt [idtr]
 *   ; PIC
 *   mov al,0x11
 *   out 0x20,al
 *   mov al,0x20
 *   out 0x21,al
 *   mov al,4
 *   out 0x21,al
 *   mov al,1
 *   out 0x21,al
 *   mov al,0x11
 *   out 0xa0,al
 *   mov al,0x28
 *   out 0xa1,al
 *   mov al,2
 *   out 0xa1,al
 *   mov al,1
 *   out 0xa1,al
 *   mov al,0xfa        ; IRQ0, IRQ2 unmasked
 *   out 0x21,al
 *   mov al,0xfe        ; IRQ8
 *   out 0xa1,al
 *   ; TSC calibration as Linux pit_calibrate_tsc: ch2 mode 0, 10 ms
 *   in al,0x61
 *   and al,0xfd
 *   or al,1
 *   out 0x61,al
 *   mov al,0xb0
 *   out 0x43,al
 *   mov al, 1193 & 0xff
 *   out 0x42,al
 *   mov al, 1193 >> 8
 *   out 0x42,al
 *   rdtsc
 *   mov esi,eax
 *   xor ebx,ebx
 * .poll:
 *   inc ebx
 *   in al,0x61
 *   test al,0x20
 *   jz .poll
 *   rdtsc
 *   sub eax,esi
 *   mov [tscdelta],eax
 *   mov [polls],ebx
 *   ; PIT ch0 mode 2, 1000 Hz
 *   mov al,0x34
 *   out 0x43,al
 *   mov al,1193 & 0xff
 *   out 0x40,al
 *   mov al,1193 >> 8
 *   out 0x40,al
 *   ; RTC periodic 2 Hz (RS=15), PIE
 *   mov al,0x0a
 *   out 0x70,al
 *   mov al,0x2f
 *   out 0x71,al
 *   mov al,0x0b
 *   out 0x70,al
 *   mov al,0x42
 *   out 0x71,al
 *   sti
 * .wait:
 *   hlt
 *   cmp dword [ticks],100
 *   jb .wait
 *   cli
 *   mov al,0
 *   out 0xf4,al
 *   hlt
 * timer:
 *   inc dword [ticks]
 *   push eax
 *   mov al,0x20
 *   out 0x20,al
 *   pop eax
 *   iret
 * rtc:
 *   push eax
 *   inc dword [rtcticks]
 *   mov al,0x0c
 *   out 0x70,al
 *   in al,0x71
 *   mov al,0x20
 *   out 0xa0,al
 *   out 0x20,al
 *   pop eax
 *   iret
 * ignore:
 *   inc dword [spurious]
 *   iret
 * align 4
 * idtr: dw 256*8-1
 *       dd 0x80000
 * align 16
 * results:
 * ticks: dd 0
 * rtcticks: dd 0
 * spurious: dd 0
 * tscdelta: dd 0
 * polls: dd 0
 * ```
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { ExitCode } from "../../src/engine/core.js";
import { readExit, writeResponse } from "../../src/vmm/exits.js";
import { VirtualClock } from "../../src/vmm/clock.js";
import { PicPair } from "../../src/devices/i8259.js";
import { I8254 } from "../../src/devices/i8254.js";
import { Mc146818 } from "../../src/devices/mc146818.js";
import { SystemControlB } from "../../src/devices/system-ports.js";
import type { EngineKind } from "../../src/engine/engine.js";

const GUEST = new Uint8Array([
  0xbc, 0x00, 0x00, 0x09, 0x00, 0xbf, 0x00, 0x00, 0x08, 0x00, 0xb9, 0x00, 0x01, 0x00, 0x00, 0xb8, 0x05, 0x01, 0x10, 0x00, 0x66, 0x89, 0x07, 0x66,
  0xc7, 0x47, 0x02, 0x10, 0x00, 0x66, 0xc7, 0x47, 0x04, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0x83, 0xc7, 0x08, 0xe2, 0xe0, 0xb8,
  0xe3, 0x00, 0x10, 0x00, 0x66, 0xa3, 0x00, 0x01, 0x08, 0x00, 0xc1, 0xe8, 0x10, 0x66, 0xa3, 0x06, 0x01, 0x08, 0x00, 0xb8, 0xf0, 0x00, 0x10, 0x00,
  0x66, 0xa3, 0x40, 0x01, 0x08, 0x00, 0xc1, 0xe8, 0x10, 0x66, 0xa3, 0x46, 0x01, 0x08, 0x00, 0x0f, 0x01, 0x1d, 0x0c, 0x01, 0x10, 0x00, 0xb0, 0x11,
  0xe6, 0x20, 0xb0, 0x20, 0xe6, 0x21, 0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21, 0xb0, 0x11, 0xe6, 0xa0, 0xb0, 0x28, 0xe6, 0xa1, 0xb0, 0x02,
  0xe6, 0xa1, 0xb0, 0x01, 0xe6, 0xa1, 0xb0, 0xfa, 0xe6, 0x21, 0xb0, 0xfe, 0xe6, 0xa1, 0xe4, 0x61, 0x24, 0xfd, 0x0c, 0x01, 0xe6, 0x61, 0xb0, 0xb0,
  0xe6, 0x43, 0xb0, 0xa9, 0xe6, 0x42, 0xb0, 0x04, 0xe6, 0x42, 0x0f, 0x31, 0x89, 0xc6, 0x31, 0xdb, 0x43, 0xe4, 0x61, 0xa8, 0x20, 0x74, 0xf9, 0x0f,
  0x31, 0x29, 0xf0, 0xa3, 0x2c, 0x01, 0x10, 0x00, 0x89, 0x1d, 0x30, 0x01, 0x10, 0x00, 0xb0, 0x34, 0xe6, 0x43, 0xb0, 0xa9, 0xe6, 0x40, 0xb0, 0x04,
  0xe6, 0x40, 0xb0, 0x0a, 0xe6, 0x70, 0xb0, 0x2f, 0xe6, 0x71, 0xb0, 0x0b, 0xe6, 0x70, 0xb0, 0x42, 0xe6, 0x71, 0xfb, 0xf4, 0x83, 0x3d, 0x20, 0x01,
  0x10, 0x00, 0x64, 0x72, 0xf6, 0xfa, 0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0xff, 0x05, 0x20, 0x01, 0x10, 0x00, 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf,
  0x50, 0xff, 0x05, 0x24, 0x01, 0x10, 0x00, 0xb0, 0x0c, 0xe6, 0x70, 0xe4, 0x71, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf, 0xff, 0x05, 0x28,
  0x01, 0x10, 0x00, 0xcf, 0xff, 0x07, 0x00, 0x00, 0x08, 0x00, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);
/** ticks, rtcticks, spurious, tscdelta, polls: the last 20 bytes of the image. */
const RESULTS = GUEST.length - 20;

async function run(kind: EngineKind) {
  const ram = 16 << 20;
  const engine = await createEngine(kind, ram);
  const pc = new Pc({ engine, ramBytes: ram, onSerial: () => {} });
  const { vm } = pc;
  const core = vm.core;
  const clock = new VirtualClock({ mode: "deterministic" });
  const pic = new PicPair();
  const pit = new I8254({ clock, setIrq: (level) => pic.setIrq(0, level) });
  const rtc = new Mc146818({ clock, startEpochSeconds: 1_700_000_000, ramBytes: ram, setIrq: (level) => pic.setIrq(8, level) });
  vm.addPortDevice(PicPair.MASTER_PORT, 2, pic.master);
  vm.addPortDevice(PicPair.SLAVE_PORT, 2, pic.slave);
  vm.addPortDevice(PicPair.ELCR_PORT, 2, pic.elcr);
  vm.addPortDevice(I8254.DEFAULT_PORT, 4, pit);
  vm.addPortDevice(SystemControlB.DEFAULT_PORT, 1, new SystemControlB(pit, clock));
  vm.addPortDevice(Mc146818.DEFAULT_PORT, 2, rtc);
  pc.loadKernel(GUEST, { path: "chipset-guest" });
  const exitBase = core.exitBlock();
  let exits = 0;
  for (let guard = 0; pc.exitStatus === null; guard++) {
    if (guard > 1_000_000) throw new Error("guest did not finish");
    // Between slices: time, timers, interrupts, then a budget that ends at the next deadline.
    clock.advanceTo(core.getRetired());
    clock.runDue();
    if (pic.hasInterrupt() && core.pendingInterrupt() < 0) {
      if (core.interruptsEnabled()) core.injectInterrupt(pic.acknowledge());
      else core.requestIrqWindow(true);
    }
    const budget = Math.max(1, Math.min(1 << 20, clock.instructionsUntil(clock.nextDeadline())));
    const code = core.run(budget);
    clock.advanceTo(core.getRetired()); // devices see the instant of the exiting instruction
    if (code === ExitCode.Budget || code === ExitCode.IrqWindow) continue;
    exits++;
    const view = new DataView(engine.buffer);
    const e = readExit(view, exitBase, code);
    if (e.reason === "io-in") writeResponse(view, exitBase, [vm.ports.read(e.port, e.size)]);
    else if (e.reason === "io-out") vm.ports.write(e.port, e.size, e.value);
    else if (e.reason === "hlt") {
      if (!core.interruptsEnabled()) throw new Error("halted with interrupts off");
      if (!pic.hasInterrupt()) clock.skipTo(clock.nextDeadline()); // idle: jump to the next timer
    } else throw new Error(`unexpected exit ${e.reason}`);
  }
  const r = new DataView(vm.readPhysical(0x100000 + RESULTS, 20).buffer);
  return {
    ticks: r.getUint32(0, true),
    rtcTicks: r.getUint32(4, true),
    spurious: r.getUint32(8, true),
    tscDelta: r.getUint32(12, true),
    polls: r.getUint32(16, true),
    virtualNs: clock.nowNs(),
    retired: core.getRetired(),
    exits,
  };
}

describe("chipset wiring (reference run loop)", () => {
  it("delivers PIT and RTC interrupts through the PICs and calibrates the TSC, identically on both engines", async () => {
    const wasm = await run("wasm");
    const js = await run("js");
    expect(js).toEqual(wasm);
    expect(wasm.ticks).toBe(100);
    expect(wasm.spurious).toBe(0);
    expect(wasm.rtcTicks).toBe(1);
    expect(wasm.tscDelta).toBeGreaterThanOrEqual(99_985);
    expect(wasm.tscDelta).toBeLessThanOrEqual(100_069);
    expect(wasm.virtualNs / 1e6).toBeGreaterThan(100.93);
    expect(wasm.virtualNs / 1e6).toBeLessThan(101.03);
  }, 30_000);
});
