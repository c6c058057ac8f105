/**
 * x2APIC mode on the PC, from inside a guest, on both engines (which must agree to the
 * instruction): offered (`x2apic: true`), CPUID.1:ECX[21] says so, IA32_APIC_BASE.EXTD
 * switches the local APIC to it, and the guest reads its ID and LDR, takes a self-IPI
 * sent through the ICR MSR and a one-shot timer interrupt, each retired by a WRMSR to
 * the EOI register. Not offered, the same WRMSR raises #GP.
 *
 * Expected values from the Intel SDM vol. 3: CPUID.01H:ECX[21] is x2APIC (table 3-10);
 * IA32_APIC_BASE bits 11 (EN), 10 (EXTD), 8 (BSP) (10.12.1); the BSP's x2APIC ID is its
 * initial APIC ID, 0, and its logical ID 1 << (ID & 0xF) in cluster ID >> 4 (10.12.10.2);
 * an interrupt is taken after the WRMSR that raised it, its return address the next
 * instruction (the guest's `after_icr`). QEMU 7.2's TCG has no x2APIC to compare with
 * (`-cpu max,+x2apic`: "TCG doesn't support requested feature"); kvm-unit-tests with
 * `--x2apic` (scripts/kvm-unit-tests.mjs, in CI) runs the suite through these MSRs.
 * The xAPIC page reading all ones in x2APIC mode is KVM's choice, which we follow (on
 * hardware the page is then no longer the APIC's).
 *
 * Guest source (nasm -f bin), loaded flat at 1 MiB:
 *
 * ```nasm
 * bits 32
 * org 0x100000
 * start:
 *   mov esp, 0x90000
 *   mov edi, 0x80000 + 0x0d*8
 *   mov eax, gp
 *   call gate
 *   mov edi, 0x80000 + 0x40*8
 *   mov eax, ipi
 *   call gate
 *   mov edi, 0x80000 + 0x41*8
 *   mov eax, timer
 *   call gate
 *   lidt [idtr]
 *   mov eax, 1
 *   cpuid
 *   mov [r_cpuid], ecx
 *   mov ecx, 0x1b
 *   rdmsr
 *   or eax, 0x400             ; IA32_APIC_BASE.EXTD: x2APIC mode (#GP if not offered)
 *   wrmsr
 *   rdmsr
 *   mov [r_base], eax
 *   mov eax, [0xfee00030]     ; the xAPIC page (version register)
 *   mov [r_mmio], eax
 *   mov ecx, 0x802            ; x2APIC ID
 *   rdmsr
 *   mov [r_id], eax
 *   mov ecx, 0x80d            ; LDR
 *   rdmsr
 *   mov [r_ldr], eax
 *   xor edx, edx
 *   mov ecx, 0x80f            ; SVR: enabled, spurious vector 0xFF
 *   mov eax, 0x1ff
 *   wrmsr
 *   sti
 *   mov ecx, 0x830            ; ICR: fixed, shorthand self, vector 0x40
 *   mov eax, 0x40040
 *   wrmsr
 * after_icr:
 *   mov ecx, 0x83e            ; divide by 1
 *   mov eax, 0xb
 *   wrmsr
 *   mov ecx, 0x832            ; LVT timer: one-shot, vector 0x41
 *   mov eax, 0x41
 *   wrmsr
 *   mov ecx, 0x838            ; initial count 1000
 *   mov eax, 1000
 *   wrmsr
 * .wait:
 *   hlt
 *   cmp dword [r_timer], 0
 *   je .wait
 *   cli
 *   mov al, 0
 *   out 0xf4, al              ; isa-debug-exit: status 1
 *   hlt
 *
 * gate:                       ; EAX = handler, EDI = IDT entry
 *   mov [edi], ax
 *   mov word [edi+2], 0x10
 *   mov word [edi+4], 0x8e00
 *   shr eax, 16
 *   mov [edi+6], ax
 *   ret
 *
 * eoi:
 *   mov ecx, 0x80b
 *   xor eax, eax
 *   xor edx, edx
 *   wrmsr
 *   ret
 *
 * ipi:
 *   pushad
 *   inc dword [r_ipis]
 *   mov eax, [esp+32]         ; where the interrupt came in
 *   mov [r_ipiret], eax
 *   call eoi
 *   popad
 *   iret
 *
 * timer:
 *   pushad
 *   inc dword [r_timer]
 *   call eoi
 *   popad
 *   iret
 *
 * gp:
 *   mov al, 2
 *   out 0xf4, al              ; status 5: a #GP
 *   hlt
 *
 * idtr: dw 0x7ff
 *       dd 0x80000
 * align 4
 * r_cpuid:  dd 0
 * r_base:   dd 0
 * r_mmio:   dd 0
 * r_id:     dd 0
 * r_ldr:    dd 0
 * r_ipis:   dd 0
 * r_ipiret: dd 0
 * r_timer:  dd 0
 * r_after:  dd after_icr
 * ```
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import type { EngineKind } from "../../src/engine/engine.js";

const GUEST = new Uint8Array([
  0xbc, 0x00, 0x00, 0x09, 0x00, 0xbf, 0x68, 0x00, 0x08, 0x00, 0xb8, 0x14, 0x01, 0x10, 0x00, 0xe8, 0xb8, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x02, 0x08,
  0x00, 0xb8, 0xef, 0x00, 0x10, 0x00, 0xe8, 0xa9, 0x00, 0x00, 0x00, 0xbf, 0x08, 0x02, 0x08, 0x00, 0xb8, 0x06, 0x01, 0x10, 0x00, 0xe8, 0x9a, 0x00,
  0x00, 0x00, 0x0f, 0x01, 0x1d, 0x19, 0x01, 0x10, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0x89, 0x0d, 0x20, 0x01, 0x10, 0x00, 0xb9, 0x1b,
  0x00, 0x00, 0x00, 0x0f, 0x32, 0x0d, 0x00, 0x04, 0x00, 0x00, 0x0f, 0x30, 0x0f, 0x32, 0xa3, 0x24, 0x01, 0x10, 0x00, 0xa1, 0x30, 0x00, 0xe0, 0xfe,
  0xa3, 0x28, 0x01, 0x10, 0x00, 0xb9, 0x02, 0x08, 0x00, 0x00, 0x0f, 0x32, 0xa3, 0x2c, 0x01, 0x10, 0x00, 0xb9, 0x0d, 0x08, 0x00, 0x00, 0x0f, 0x32,
  0xa3, 0x30, 0x01, 0x10, 0x00, 0x31, 0xd2, 0xb9, 0x0f, 0x08, 0x00, 0x00, 0xb8, 0xff, 0x01, 0x00, 0x00, 0x0f, 0x30, 0xfb, 0xb9, 0x30, 0x08, 0x00,
  0x00, 0xb8, 0x40, 0x00, 0x04, 0x00, 0x0f, 0x30, 0xb9, 0x3e, 0x08, 0x00, 0x00, 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x32, 0x08, 0x00,
  0x00, 0xb8, 0x41, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x38, 0x08, 0x00, 0x00, 0xb8, 0xe8, 0x03, 0x00, 0x00, 0x0f, 0x30, 0xf4, 0x83, 0x3d, 0x3c,
  0x01, 0x10, 0x00, 0x00, 0x74, 0xf6, 0xfa, 0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0x66, 0x89, 0x07, 0x66, 0xc7, 0x47, 0x02, 0x10, 0x00, 0x66, 0xc7, 0x47,
  0x04, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0xc3, 0xb9, 0x0b, 0x08, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xc3, 0x60,
  0xff, 0x05, 0x34, 0x01, 0x10, 0x00, 0x8b, 0x44, 0x24, 0x20, 0xa3, 0x38, 0x01, 0x10, 0x00, 0xe8, 0xdf, 0xff, 0xff, 0xff, 0x61, 0xcf, 0x60, 0xff,
  0x05, 0x3c, 0x01, 0x10, 0x00, 0xe8, 0xd1, 0xff, 0xff, 0xff, 0x61, 0xcf, 0xb0, 0x02, 0xe6, 0xf4, 0xf4, 0xff, 0x07, 0x00, 0x00, 0x08, 0x00, 0x90,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x00, 0x10, 0x00,
]);
/** cpuid, base, mmio, id, ldr, ipis, ipiret, timer, after: the last 36 bytes of the image. */
const RESULTS = GUEST.length - 36;

async function run(kind: EngineKind, x2apic: boolean) {
  const ram = 16 << 20;
  const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic", x2apic });
  pc.loadKernel(GUEST, { path: "x2apic-guest" });
  const stop = pc.vm.run(1e8);
  const r = new DataView(pc.vm.readPhysical(0x100000 + RESULTS, 36).buffer);
  const [cpuid, base, mmio, id, ldr, ipis, ipiReturn, timer, afterIcr] = Array.from({ length: 9 }, (_, i) => r.getUint32(i * 4, true));
  return { stop, cpuid, base, mmio, id, ldr, ipis, ipiReturn, timer, afterIcr, retired: pc.vm.core.getRetired() };
}

describe("x2APIC mode in a guest (SDM 10.12)", () => {
  it("offered: CPUID says so, EXTD switches to it, a self-IPI and a timer interrupt through the MSRs; both engines agree", async () => {
    const wasm = await run("wasm", true);
    expect(await run("js", true)).toEqual(wasm);
    expect(wasm.stop).toEqual({ kind: "debug-exit", status: 1 });
    expect((wasm.cpuid >>> 21) & 1).toBe(1);
    expect(wasm.base >>> 0).toBe(0xfee00d00);   // enabled, x2APIC, BSP
    expect(wasm.mmio >>> 0).toBe(0xffffffff);
    expect(wasm.id).toBe(0);
    expect(wasm.ldr).toBe(1);                   // cluster 0, bit 0
    expect(wasm.ipis).toBe(1);
    expect(wasm.ipiReturn).toBe(wasm.afterIcr); // taken after the WRMSR to the ICR, which ran once
    expect(wasm.timer).toBe(1);
  });

  it("not offered: CPUID bit 21 is clear and setting EXTD raises #GP", async () => {
    const wasm = await run("wasm", false);
    expect(await run("js", false)).toEqual(wasm);
    expect(wasm.stop).toEqual({ kind: "debug-exit", status: 5 }); // the guest's #GP handler
    expect((wasm.cpuid >>> 21) & 1).toBe(0);
  });

  it("is a mode of the local APIC: refused without one, by the PC and by the CLI", async () => {
    const ram = 16 << 20;
    const engine = await createEngine("js", ram);
    expect(() => new Pc({ engine, ramBytes: ram, apic: false, x2apic: true })).toThrow(/x2APIC is a mode of the local APIC/);
    const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;
    const r = spawnSync(process.execPath, [cli, "run", "--x2apic", "--no-apic", "kernel.elf"], { encoding: "utf8", input: "" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("symbiont: --x2apic is a mode of the local APIC: not with --no-apic");
  });
});
