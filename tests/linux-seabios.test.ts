// Debian's Linux booted the way a PC boots it — SeaBIOS, then SYSLINUX from a FAT disk (npm run boot-disk's kind),
// then the kernel — on two vCPUs, with QEMU booting the same image with the same SeaBIOS as the oracle. The disk's
// /init script reads the disk back through Linux's own drivers, counts CPUs, suspends to RAM with an RTC wake alarm
// and powers off. What must match QEMU: the command line SYSLINUX built, the PCI root bridge Linux finds in the ACPI
// namespace (without it, no PCI device at all), the MADT as the source of the SMP configuration, the timer on I/O
// APIC pin 2, both CPUs up, the boot disk's size and its syslinux.cfg as Linux reads them, the S3 resume and the
// power-off. Ours must additionally show our ACPI tables (OEM "SYMBNT", as SeaBIOS installed them from fw_cfg)
// with no ACPI error or checksum complaint.
// Skipped, saying so, without the cached images and SeaBIOS (npm run images), the boot-disk tools (mkfs.fat, mcopy,
// syslinux: CI installs them) or qemu-system-i386.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { findCachedImages } from "../src/node/images.js";
import { findSeabios } from "../src/node/firmware.js";
import { BOOT_DISK_CMDLINE, bootDiskInitramfs, makeBootDisk, missingBootDiskTools } from "../src/node/boot-disk.js";
import { openDiskImage } from "../src/node/disk-file.js";
import type { StopReason } from "../src/vmm/vm.js";

const images = findCachedImages();
const seabios = findSeabios();
const missingTools = missingBootDiskTools();
const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
const why = !images || !seabios ? "no cached images or SeaBIOS: npm run images"
  : missingTools.length > 0 ? `no ${missingTools.join(", ")}` : !haveQemu ? "no qemu-system-i386" : "";

if (why && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("Linux from a SYSLINUX disk through SeaBIOS", () => { it("has what it needs", () => { expect(why).toBe(""); }); });
}

const DONE = "BOOTDISK-LINUX-DONE";
const SCRIPT = [
  "mount -t vfat -o ro /dev/vda /mnt && echo CFG=$(grep APPEND /mnt/syslinux.cfg) && umount /mnt",
  "echo CPUS=$(grep -c ^processor /proc/cpuinfo)",
  "echo ACPI-TABLES=$(ls /sys/firmware/acpi/tables | tr '\\n' ' ')",
  "echo +2 > /sys/class/rtc/rtc0/wakealarm && echo mem > /sys/power/state && echo RESUMED-FROM-S3",
  `echo ${DONE}`,
  "poweroff -f",
].join("\n");

/**
 * QEMU's serial output for the image (it exits at the guest's power-off). The serial port writes to a file: our
 * boot runs meanwhile and keeps this process busy, and QEMU loses what it cannot write into a full pipe.
 */
function underQemu(image: string, serialFile: string): Promise<string> {
  return new Promise((resolve) => {
    const q = spawn("qemu-system-i386", ["-bios", seabios!.path, "-m", "128", "-smp", "2", "-display", "none", "-nodefaults", "-machine", "graphics=off", "-no-reboot",
      "-serial", `file:${serialFile}`, "-drive", `file=${image},format=raw,if=virtio,snapshot=on`], { stdio: "ignore" });
    const timer = setTimeout(() => q.kill(), 180_000);
    q.on("close", () => { clearTimeout(timer); resolve(readFileSync(serialFile, "latin1").replace(/\r/g, "")); });
  });
}

describe.skipIf(!!why)(`Linux from a SYSLINUX disk through SeaBIOS, as under QEMU${why ? ` (skipped: ${why})` : ""}`, () => {
  let dir = "";
  let ours = "", theirs = "";
  let stop: StopReason = { kind: "budget" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "symbiont-seabios-linux-"));
    const image = join(dir, "boot.img");
    makeBootDisk(image, { kernel: new Uint8Array(readFileSync(images!.kernel)), initrd: bootDiskInitramfs(images!, SCRIPT), append: BOOT_DISK_CMDLINE });
    const qemu = underQemu(image, join(dir, "qemu-serial.txt"));
    const ramBytes = 128 << 20;
    let serial = "";
    const pc = new Pc({ engine: await createEngine("wasm", ramBytes), ramBytes, cpus: 2, clock: "deterministic",
      onSerial: (b) => { serial += String.fromCharCode(b); }, disks: [{ backend: openDiskImage(image, "snapshot") }] });
    pc.vm.loadRom(new Uint8Array(readFileSync(seabios!.path)));
    for (let i = 0; i < 500 && stop.kind === "budget"; i++) stop = pc.vm.run(50_000_000);
    ours = serial.replace(/\r/g, "");
    theirs = await qemu;
  }, 20 * 60 * 1000);

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const line = (text: string, re: RegExp) => text.split("\n").map((l) => l.replace(/^\[ *\d+\.\d+\] /, "")).filter((l) => re.test(l));

  it("runs the script to its end and powers off through ACPI S5", () => {
    expect(theirs).toContain(DONE);
    expect(ours).toContain(DONE);
    expect(stop).toEqual({ kind: "halted", message: "powered off (ACPI S5)" });
  });

  it("gets SYSLINUX's command line, reads its boot disk back, finds the PCI root bridge and the disk, as under QEMU", () => {
    for (const re of [/^Kernel command line: /, /^CFG=/, /^ACPI: PCI Root Bridge /, /^virtio_blk virtio\d: \[vda\] /]) {
      expect(line(ours, re), String(re)).toEqual(line(theirs, re));
      expect(line(ours, re).length, String(re)).toBeGreaterThan(0);
    }
    expect(line(ours, /^CFG=/)).toEqual([`CFG= APPEND ${BOOT_DISK_CMDLINE}`]);
  });

  it("takes the SMP configuration from the MADT, brings both CPUs up and has the timer on pin 2, as under QEMU", () => {
    for (const re of [/^ACPI: Using ACPI \(MADT\) for SMP configuration information$/, /^smp: Brought up 1 node, 2 CPUs$/, /^\.\.TIMER: /, /^CPUS=/]) {
      expect(line(ours, re), String(re)).toEqual(line(theirs, re));
      expect(line(ours, re), String(re)).toHaveLength(1);
    }
    expect(line(ours, /^\.\.TIMER: /)[0]).toMatch(/pin1=2 /);
  });

  it("suspends to RAM and resumes through SeaBIOS, as under QEMU", () => {
    for (const text of [ours, theirs]) {
      expect(text).toMatch(/ACPI: PM: Waking up from system sleep state S3\n(.*\n)*RESUMED-FROM-S3\n/);
    }
  });

  it("uses our ACPI tables, installed by SeaBIOS from fw_cfg, without an ACPI error", () => {
    expect(line(ours, /^ACPI: RSDP /)[0]).toMatch(/\(v00 SYMBNT\)$/);
    expect(line(ours, /^ACPI-TABLES=/)[0]).toMatch(/^ACPI-TABLES=APIC DSDT FACP FACS /);
    expect(ours).not.toMatch(/ACPI (BIOS )?(Error|Warning)|Incorrect checksum|ACPI Exception/);
  });
});
