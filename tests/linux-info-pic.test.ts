// The monitor's info pic against Linux's own reading of the I/O APIC: booted with apic=debug, Debian's kernel prints
// every redirection entry as it reads it (arch/x86/kernel/apic/io_apic.c io_apic_print_entries, at late_initcall);
// the monitor is asked at the moment Linux starts that table ("IOAPIC 0:" reaches the UART), and each pin's mask,
// trigger mode, polarity, vector, remote IRR, delivery status, destination mode, destination and delivery mode must
// be what Linux read. Skipped, saying so, without the cached images.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { findCachedImages } from "../src/node/images.js";
import { Monitor } from "../src/vmm/monitor.js";

const images = findCachedImages();

describe.skipIf(!images)(`info pic and Linux's view of the I/O APIC${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it("shows each redirection entry as Linux read it at boot (apic=debug)", async () => {
    const ramBytes = 64 << 20;
    const lines: string[] = [];
    let line = "", shown = "";
    const pc: Pc = new Pc({
      engine: await createEngine("wasm", ramBytes), ramBytes, clock: "deterministic",
      onSerial: (b) => {
        if (b !== 10) { line += String.fromCharCode(b); return; }
        lines.push(line.replace(/\r$/, ""));
        if (/\] IOAPIC 0:$/.test(lines.at(-1)!)) shown = new Monitor(pc.vm, { pics: () => pc.interruptControllers() }).execute("info pic");
        line = "";
      },
    });
    pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), {
      cmdline: `${LINUX_CMDLINE} apic=debug loglevel=8`, initrd: busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), run: "poweroff -f" }),
    });
    for (let i = 0; i < 300 && !lines.some((l) => l.includes("IRQ to pin mappings")); i++) expect(pc.vm.run(20_000_000).kind).toBe("budget");

    // Linux: " pin0c, enabled , edge , high, V(21), IRR(0), S(0), logical , D(0001), M(0)".
    const linux = lines.map((l) => /\] +pin([0-9a-f]{2}), (enabled|disabled) ?, (edge|level) ?, (high|low) ?, V\(([0-9A-F]{2})\), IRR\((\d)\), S\((\d)\), (logical|physical) ?, D\(([0-9A-F]{4})\), M\((\d)\)$/.exec(l))
      .filter((m) => m !== null);
    expect(linux.length).toBe(24); // (the 82093AA's 24 pins: version register 0x00170011)
    const ours = shown.split("\n").map((l) => /^ {2}pin (\d+) +0x([0-9a-f]{16}) dest=([0-9a-f]+) vec=(\d+) +(active-hi|active-lo) (edge|level) +(masked)? +(\S+) +(logical|physical)$/.exec(l))
      .filter((m) => m !== null);
    expect(ours.length).toBe(24);
    const modes = ["fixed", "lowest", "SMI", "...", "NMI", "INIT", "...", "extINT"];
    for (const [, pin, enabled, trigger, polarity, vector, irr, status, destMode, dest, mode] of linux) {
      const m = ours[parseInt(pin!, 16)]!;
      const raw = BigInt(`0x${m[2]}`);
      expect({ pin: m[1], masked: m[7] === "masked", trigger: m[6], polarity: m[5], vector: Number(m[4]), destMode: m[9], dest: parseInt(m[3]!, 16), mode: m[8] }, `pin ${pin}`).toEqual({
        pin: String(parseInt(pin!, 16)), masked: enabled === "disabled", trigger, polarity: polarity === "high" ? "active-hi" : "active-lo",
        vector: parseInt(vector!, 16), destMode, dest: parseInt(dest!, 16), mode: modes[Number(mode)],
      });
      expect([Number((raw >> 14n) & 1n), Number((raw >> 12n) & 1n)], `pin ${pin}: remote IRR, delivery status`).toEqual([Number(irr), Number(status)]);
    }
    // Linux's legacy lines as it routed them (enabled, edge: the timer on pin 2, the keyboard on 1, the mouse on 12).
    expect(linux.filter((m) => m[2] === "enabled").length).toBeGreaterThan(0);
  }, 600_000);
});
