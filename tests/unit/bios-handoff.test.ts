/**
 * A loaded kernel finds the interrupt hardware as the BIOS QEMU runs before
 * `-kernel` leaves it (src/boot/bios-handoff.ts), on both engines.
 *
 * Expected values, from SeaBIOS and the 8254 datasheet, not from this
 * emulator: IRQ 0 arrives at vector 0x08 (SeaBIOS's ICW2 for the master);
 * channel 0 in mode 2 with count 0 interrupts every 65 536 PIT clocks, i.e.
 * 65 536 / 1 193 182 Hz × 100 MHz = 5 492 541 ticks of the deterministic
 * TSC, ± 1 PIT clock (84 ticks) for where the count write falls between two
 * clocks; the first interrupt after at most one period; the masks read back
 * 0xFA / 0xFF (IRQ 0 and the cascade open, the module's documented subset
 * of SeaBIOS's); a real-mode kernel that enables interrupts and halts is
 * woken by IRQ 0 through real-mode vector 8 and finds the interrupt
 * acknowledged (master ISR 0) when the handler returns — what
 * kvm-unit-tests' `realmode` (`sti; hlt` in test_sti_inhibit) relies on.
 *
 * Protected-mode guest (nasm -f bin), loaded flat at 1 MiB, CS 0x10 as
 * QEMU's multiboot loader leaves it:
 *
 * ```nasm
 * bits 32
 * org 0x100000
 * start:
 *   mov esp, 0x90000
 *   mov edi, 0x80000
 *   mov ecx, 256
 * .fill:
 *   mov eax, other
 *   mov [edi], ax
 *   mov word [edi+2], 0x10
 *   mov word [edi+4], 0x8e00
 *   shr eax, 16
 *   mov [edi+6], ax
 *   add edi, 8
 *   loop .fill
 *   mov eax, timer
 *   mov [0x80000 + 8*8], ax
 *   shr eax, 16
 *   mov [0x80000 + 8*8 + 6], ax
 *   lidt [idtr]
 *   in al, 0x21
 *   mov [mask1], al
 *   in al, 0xa1
 *   mov [mask2], al
 *   rdtsc
 *   mov [tsc0], eax
 *   sti
 * .wait:
 *   hlt
 *   cmp dword [ticks], 2
 *   jb .wait
 *   cli
 *   mov al, 0
 *   out 0xf4, al
 *   hlt
 * timer:
 *   push eax
 *   push edx
 *   rdtsc
 *   mov edx, [ticks]
 *   mov [tsc1 + edx*4], eax
 *   inc dword [ticks]
 *   mov al, 0x20
 *   out 0x20, al
 *   pop edx
 *   pop eax
 *   iret
 * other:
 *   inc dword [others]
 *   iret
 * align 4
 * idtr: dw 256*8-1
 *       dd 0x80000
 * align 4
 * ticks: dd 0
 * others: dd 0
 * tsc0: dd 0
 * tsc1: dd 0, 0
 * mask1: db 0
 * mask2: db 0
 *        dw 0
 * ```
 *
 * Real-mode guest: copies its 16-bit part below 1 MiB, drops to real mode
 * with segments 0, then `sti; hlt`:
 *
 * ```nasm
 * bits 32
 * org 0x100000
 * start:
 *   mov esp, 0x90000
 *   mov esi, rm_start
 *   mov edi, 0x7000
 *   mov ecx, rm_end - rm_start
 *   rep movsb
 *   lgdt [gdtr]
 *   jmp 0x08:0x7000
 * align 8
 * gdt: dq 0
 *      dq 0x00009a000000ffff
 *      dq 0x000092000000ffff
 * gdtr: dw 23
 *       dd gdt
 * rm_start:
 * bits 16
 *   mov ax, 0x10
 *   mov ds, ax
 *   mov es, ax
 *   mov ss, ax
 *   mov eax, cr0
 *   and al, 0xfe
 *   mov cr0, eax
 *   jmp 0:(0x7000 + real - rm_start)
 * real:
 *   xor ax, ax
 *   mov ds, ax
 *   mov ss, ax
 *   mov sp, 0x6000
 *   sti
 *   hlt
 *   cli
 *   mov byte [0x5000], 1
 *   mov al, 0x0b
 *   out 0x20, al
 *   in al, 0x20
 *   mov [0x5001], al
 *   mov al, 0
 *   out 0xf4, al
 *   hlt
 * rm_end:
 * ```
 */
import { describe, expect, it } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import type { EngineKind } from "../../src/engine/engine.js";

const PROTECTED_GUEST = new Uint8Array([
  0xbc, 0x00, 0x00, 0x09, 0x00, 0xbf, 0x00, 0x00, 0x08, 0x00, 0xb9, 0x00, 0x01, 0x00, 0x00, 0xb8, 0x8e, 0x00, 0x10, 0x00, 0x66, 0x89, 0x07, 0x66,
  0xc7, 0x47, 0x02, 0x10, 0x00, 0x66, 0xc7, 0x47, 0x04, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0x83, 0xc7, 0x08, 0xe2, 0xe0, 0xb8,
  0x70, 0x00, 0x10, 0x00, 0x66, 0xa3, 0x40, 0x00, 0x08, 0x00, 0xc1, 0xe8, 0x10, 0x66, 0xa3, 0x46, 0x00, 0x08, 0x00, 0x0f, 0x01, 0x1d, 0x98, 0x00,
  0x10, 0x00, 0xe4, 0x21, 0xa2, 0xb4, 0x00, 0x10, 0x00, 0xe4, 0xa1, 0xa2, 0xb5, 0x00, 0x10, 0x00, 0x0f, 0x31, 0xa3, 0xa8, 0x00, 0x10, 0x00, 0xfb,
  0xf4, 0x83, 0x3d, 0xa0, 0x00, 0x10, 0x00, 0x02, 0x72, 0xf6, 0xfa, 0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0x50, 0x52, 0x0f, 0x31, 0x8b, 0x15, 0xa0, 0x00,
  0x10, 0x00, 0x89, 0x04, 0x95, 0xac, 0x00, 0x10, 0x00, 0xff, 0x05, 0xa0, 0x00, 0x10, 0x00, 0xb0, 0x20, 0xe6, 0x20, 0x5a, 0x58, 0xcf, 0xff, 0x05,
  0xa4, 0x00, 0x10, 0x00, 0xcf, 0x90, 0x90, 0x90, 0xff, 0x07, 0x00, 0x00, 0x08, 0x00, 0x90, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
]);
/** ticks, others, tsc0, tsc1[2], mask1, mask2: the last 24 bytes of the image. */
const RESULTS = PROTECTED_GUEST.length - 24;

const REAL_MODE_GUEST = new Uint8Array([
  0xbc, 0x00, 0x00, 0x09, 0x00, 0xbe, 0x46, 0x00, 0x10, 0x00, 0xbf, 0x00, 0x70, 0x00, 0x00, 0xb9, 0x35, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0x0f, 0x01,
  0x15, 0x40, 0x00, 0x10, 0x00, 0xea, 0x00, 0x70, 0x00, 0x00, 0x08, 0x00, 0x90, 0x90, 0x90, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0x00, 0x00, 0x17, 0x00, 0x28, 0x00, 0x10, 0x00, 0xb8, 0x10,
  0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0x0f, 0x20, 0xc0, 0x24, 0xfe, 0x0f, 0x22, 0xc0, 0xea, 0x16, 0x70, 0x00, 0x00, 0x31, 0xc0, 0x8e, 0xd8,
  0x8e, 0xd0, 0xbc, 0x00, 0x60, 0xfb, 0xf4, 0xfa, 0xc6, 0x06, 0x00, 0x50, 0x01, 0xb0, 0x0b, 0xe6, 0x20, 0xe4, 0x20, 0xa2, 0x01, 0x50, 0xb0, 0x00,
  0xe6, 0xf4, 0xf4,
]);

async function boot(kind: EngineKind, image: Uint8Array) {
  const ram = 16 << 20;
  const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic" });
  pc.loadKernel(image, { path: "bios-handoff-guest" });
  const stop = pc.vm.run(1_000_000);
  return { pc, stop };
}

async function protectedRun(kind: EngineKind) {
  const { pc, stop } = await boot(kind, PROTECTED_GUEST);
  const r = new DataView(pc.vm.readPhysical(0x100000 + RESULTS, 24).buffer);
  return {
    stop, ticks: r.getUint32(0, true), others: r.getUint32(4, true),
    first: r.getUint32(12, true) - r.getUint32(8, true), period: r.getUint32(16, true) - r.getUint32(12, true),
    masterMask: r.getUint8(20), slaveMask: r.getUint8(21), instructions: pc.vm.stats().instructions,
  };
}

async function realModeRun(kind: EngineKind) {
  const { pc, stop } = await boot(kind, REAL_MODE_GUEST);
  const m = pc.vm.readPhysical(0x5000, 2);
  return { stop, woke: m[0], masterIsr: m[1], instructions: pc.vm.stats().instructions };
}

describe("BIOS hand-off state of a loaded kernel", () => {
  it("the timer interrupts at 18.2 Hz through vector 8, only IRQ 0 and the cascade unmasked, identically on both engines", async () => {
    const wasm = await protectedRun("wasm");
    expect(await protectedRun("js")).toEqual(wasm);
    expect(wasm.stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(wasm.ticks).toBe(2);
    expect(wasm.others).toBe(0);
    expect(Math.abs(wasm.period - 5_492_541)).toBeLessThanOrEqual(84);
    expect(wasm.first).toBeGreaterThan(0);
    expect(wasm.first).toBeLessThanOrEqual(5_492_541 + 84);
    expect(wasm.masterMask).toBe(0xfa);
    expect(wasm.slaveMask).toBe(0xff);
  });

  it("a real-mode kernel's sti; hlt is woken by IRQ 0 and the BIOS-area handler acknowledges it", async () => {
    const wasm = await realModeRun("wasm");
    expect(await realModeRun("js")).toEqual(wasm);
    expect(wasm.stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(wasm.woke).toBe(1);
    expect(wasm.masterIsr).toBe(0);
  });
});
