// ACPI S3 (suspend to RAM) on the PC, on both engines. Expected behaviour from the ACPI
// specification (6.4): writing PM1_CNT with SLP_EN and the \_S3 sleep type (1 in our DSDT,
// as in QEMU's) puts the machine to sleep at once — the instruction after the OUT never
// runs (4.8.3.2.1); with PM1_EN.RTC_EN the RTC alarm wakes it and sets PM1_STS.WAK_STS and
// RTC_STS (4.8.3.1.1); the firmware then starts the BSP in real mode at the FACS firmware
// waking vector, CS:IP = (vector >> 4):(vector & 0xF) (5.2.10); RAM keeps its contents.
// The RTC alarm with "don't care" in all three alarm bytes fires every second (MC146818A).
import { describe, it, expect } from "vitest";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import { Attr } from "../../src/vmm/cpu-state.js";
import { FACS_ADDR, FACS_WAKING_VECTOR } from "../../src/boot/acpi.js";
import { ENGINES } from "../helpers.js";

const flat = (sel: number, attr: number) => ({ selector: sel, base: 0, limit: 0xffffffff, attr });
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const rtcOut = (reg: number, v: number) => [0xb0, reg, 0xe6, 0x70, 0xb0, v, 0xe6, 0x71]; // mov al,reg; out 70h,al; mov al,v; out 71h,al

describe.each(ENGINES)("ACPI S3 (%s engine)", (kind) => {
  it("sleeps at the PM1_CNT write, the RTC alarm wakes it, the BSP resumes at the FACS waking vector", async () => {
    const ram = 4 << 20;
    const pc = new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, clock: "deterministic", onSerial() {} });
    const code = [
      0xc7, 0x05, ...le32(FACS_ADDR + FACS_WAKING_VECTOR), ...le32(0x1234), // the OS's waking vector
      0x66, 0xba, 0x02, 0xb0, 0x66, 0xb8, 0x00, 0x04, 0x66, 0xef, // PM1_EN = RTC_EN
      ...rtcOut(1, 0xc0), ...rtcOut(3, 0xc0), ...rtcOut(5, 0xc0), // alarm: every second
      0xb0, 0x0b, 0xe6, 0x70, 0xe4, 0x71, 0x0c, 0x20, 0x88, 0xc4, 0xb0, 0x0b, 0xe6, 0x70, 0x88, 0xe0, 0xe6, 0x71, // register B |= AIE
      0xc7, 0x05, ...le32(0x5000), ...le32(0x11),
      0x66, 0xba, 0x04, 0xb0, 0x66, 0xb8, 0x00, 0x24, 0x66, 0xef, // PM1_CNT = SLP_EN | SLP_TYP 1 (S3)
      0xc7, 0x05, ...le32(0x5000), ...le32(0x22), // never runs
      0xeb, 0xfe,
    ];
    pc.vm.writePhysical(0x1000, Uint8Array.from(code));
    pc.vm.writePhysical(0x1234, Uint8Array.from([0xf4])); // the resume code: HLT (IF = 0 after the reset)
    pc.vm.setState({ cr0: 0x11, cs: flat(8, Attr.flatCode32), ds: flat(0x10, Attr.flatData32), es: flat(0x10, Attr.flatData32),
      ss: flat(0x10, Attr.flatData32), eflags: 2, eip: 0x1000, halted: false });
    let stop = pc.vm.run(1_000_000);
    for (let i = 0; i < 100 && stop.kind === "budget"; i++) stop = pc.vm.run(1_000_000);
    expect(stop.kind).toBe("halted");
    const s = pc.vm.getState();
    expect(s.cr0 & 1).toBe(0);
    expect(s.cs.selector).toBe(0x123);
    expect(s.eip).toBe(0x5); // after the HLT at 0123:0004
    expect(new DataView(pc.vm.readPhysical(0x5000, 4).buffer).getUint32(0, true)).toBe(0x11);
    expect(pc.vm.ports.read(0xb000, 2) & 0x8400).toBe(0x8400); // WAK_STS | RTC_STS
    expect(pc.clock.nowNs()).toBeLessThanOrEqual(1.1e9); // woken by the next second's alarm
  });
});
