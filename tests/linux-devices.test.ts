// Debian's kernel on Symbiont's paravirtual and emulated devices, in one shared boot (CI time):
// virtio-blk (mke2fs, files, sync on a raw image; a second disk under --snapshot), PIIX3 IDE
// through ata_piix (mke2fs, files, sync; bus-master DMA),
// kvm-clock, virtio-rng, virtio-console (hvc0), and pvpanic (the guest panics at the
// end through sysrq). Oracles: Debian's e2fsprogs on the host (e2fsck -fn, debugfs
// -R "cat …"), the guest's own /sys and /proc, the TSC frequency the clock is
// configured with, the snapshot image's bytes before the run.
// Skipped (saying so) without the cached images, and the host checks without e2fsprogs
// (CI installs it).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";
import { openDiskImage } from "../src/node/disk-file.js";
import type { StopReason } from "../src/vmm/vm.js";

const images = findCachedImages();
const e2fsck = ["/usr/sbin/e2fsck", "/sbin/e2fsck"].find((p) => spawnSync(p, ["-V"]).status === 0);
const debugfs = ["/usr/sbin/debugfs", "/sbin/debugfs"].find((p) => spawnSync(p, ["-V"]).status === 0);

if (!images && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("Linux images", () => { it("are cached (npm run images)", () => { expect(images).not.toBeNull(); }); });
}

/** What the guest runs after init's marker; every result is printed between markers the host parses. */
const SCRIPT = [
  "set -e",
  "mke2fs -q /dev/vda",
  "mount -t ext2 /dev/vda /mnt",
  "echo 'hello from symbiont' > /mnt/hello.txt",
  "seq 1 40000 > /mnt/numbers.txt",
  "mkdir /mnt/dir && cp /mnt/numbers.txt /mnt/dir/copy.txt",
  "umount /mnt",
  "echo ATA=$(dmesg | grep -o 'ata1: PATA max MWDMA2 cmd 0x1f0 ctl 0x3f6 bmdma 0x[0-9a-f]* irq 14')",
  "echo ATA-MODE=$(cat /sys/class/ata_device/dev1.0/xfer_mode)",
  "mke2fs -q /dev/sda",
  "mount -t ext2 /dev/sda /mnt",
  "echo 'hello from ide' > /mnt/hello.txt",
  "seq 1 30000 > /mnt/numbers.txt",
  "umount /mnt",
  "sync",
  "echo SNAP-BEFORE=$(dd if=/dev/vdb bs=4096 count=16 2>/dev/null | md5sum | cut -c1-32)",
  "dd if=/dev/zero of=/dev/vdb bs=4096 count=16 2>/dev/null && sync",
  "echo SNAP-AFTER=$(dd if=/dev/vdb bs=4096 count=16 2>/dev/null | md5sum | cut -c1-32)",
  "echo CLOCKSOURCE=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)",
  "echo MHZ=$(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2)",
  "echo RNG=$(cat /sys/class/misc/hw_random/rng_current) $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')",
  "echo VDA-SERIAL=$(cat /sys/block/vda/serial)",
  "echo QUEUE-DEPTH=$(cat /sys/module/virtio_blk/parameters/queue_depth)",
  "echo VIRTIO-IRQS=$(grep virtio /proc/interrupts | tr -s ' ' | sed 's/^ *[0-9]*: [0-9]* //' | tr '\\n' ';')",
  "echo from-guest-on-hvc0 > /dev/hvc0",
  // Input that arrives while nobody has hvc0 open waits in the virtqueue until the next interrupt
  // (virtio_console/hvc), so the host types once a reader is there.
  "head -n1 /dev/hvc0 > /tmp/hvc-in &",
  "sleep 1; echo HVC-WAITING; wait",
  "echo HVC-IN=$(cat /tmp/hvc-in)",
  "echo DEVICES-DONE",
  "echo c > /proc/sysrq-trigger",
].join("\n");

interface Run { serial: string; hvc: string; stop: StopReason; pc: Pc }

describe.skipIf(!images)(`Linux ${images?.version ?? "(images not cached: run npm run images)"} on virtio and IDE devices`, () => {
  let dir = "";
  let run: Run;
  const diskPath = () => join(dir, "vda.img");
  const snapPath = () => join(dir, "vdb.img");
  const idePath = () => join(dir, "sda.img");
  let snapHash = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "symbiont-devices-"));
    writeFileSync(diskPath(), new Uint8Array(8 << 20));
    writeFileSync(idePath(), new Uint8Array(8 << 20));
    const snap = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
    writeFileSync(snapPath(), snap);
    snapHash = createHash("sha256").update(snap).digest("hex");

    const ramBytes = 128 << 20;
    const serial: number[] = [];
    let hvc = "";
    const pc = new Pc({
      engine: await createEngine("wasm", ramBytes), ramBytes, clock: "deterministic",
      onSerial: (b) => serial.push(b),
      disks: [{ backend: openDiskImage(diskPath(), "rw"), serial: "symbiont-vda" }, { backend: openDiskImage(snapPath(), "snapshot") }, { backend: openDiskImage(idePath(), "rw"), interface: "ide" }],
      rng: true,
      onVirtioConsole: (bytes) => { hvc += Buffer.from(bytes).toString("latin1"); },
    });
    const modules = cachedModules(images!, driverModules(["virtio-blk", "ide", "virtio-rng", "virtio-console", "pvpanic", "ext4"]));
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), modules, run: SCRIPT });
    pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), { cmdline: `${LINUX_CMDLINE} quiet virtio_blk.queue_depth=48`, initrd });
    let stop: StopReason = { kind: "budget" };
    let typed = false;
    for (let i = 0; i < 400 && stop.kind === "budget"; i++) {
      stop = pc.vm.run(20_000_000);
      if (!typed && Buffer.from(serial).toString("latin1").includes("HVC-WAITING")) {
        pc.virtioConsole!.receive(new TextEncoder().encode("from-host-on-hvc0\n"));
        typed = true;
      }
    }
    run = { serial: Buffer.from(serial).toString("latin1").replace(/\r/g, ""), hvc, stop, pc };
  }, 60 * 60 * 1000);

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(run.serial)?.[1]?.trim();

  it("runs the whole script and ends with the guest's panic reported by pvpanic", () => {
    expect(run.serial).toContain("DEVICES-DONE");
    expect(run.serial).toMatch(/Kernel panic - not syncing: sysrq triggered crash/);
    expect(run.stop).toEqual({ kind: "guest-panic", message: "the guest kernel panicked (pvpanic)" });
    expect(run.pc.deviceErrors).toEqual([]);
  });

  it.skipIf(!e2fsck || !debugfs)(`left an ext2 file system that Debian's e2fsck and debugfs read${!e2fsck ? " (skipped: no e2fsprogs)" : ""}`, () => {
    const fsck = spawnSync(e2fsck!, ["-fn", diskPath()], { encoding: "utf8" });
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    const cat = (p: string) => spawnSync(debugfs!, ["-R", `cat ${p}`, diskPath()], { encoding: "utf8", maxBuffer: 1 << 24 }).stdout;
    expect(cat("/hello.txt")).toBe("hello from symbiont\n");
    const numbers = Array.from({ length: 40000 }, (_, i) => `${i + 1}\n`).join("");
    expect(cat("/numbers.txt")).toBe(numbers);
    expect(cat("/dir/copy.txt")).toBe(numbers);
  });

  it.skipIf(!e2fsck || !debugfs)(`left an ext2 file system on the IDE disk too${!e2fsck ? " (skipped: no e2fsprogs)" : ""}`, () => {
    const fsck = spawnSync(e2fsck!, ["-fn", idePath()], { encoding: "utf8" });
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    const cat = (p: string) => spawnSync(debugfs!, ["-R", `cat ${p}`, idePath()], { encoding: "utf8", maxBuffer: 1 << 24 }).stdout;
    expect(cat("/hello.txt")).toBe("hello from ide\n");
    expect(cat("/numbers.txt")).toBe(Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join(""));
    // ata_piix found the PIIX3 at the legacy ports with its bus master, and drives the disk by DMA.
    expect(value("ATA")).toMatch(/^ata1: PATA max MWDMA2 cmd 0x1f0 ctl 0x3f6 bmdma 0x[0-9a-f]+ irq 14$/);
    expect(value("ATA-MODE")).toBe("XFER_MW_DMA_2"); // libata's name for multiword DMA mode 2
  });

  it("kept the snapshot disk's writes in memory: the guest saw them, the file is unchanged", () => {
    const snap = readFileSync(snapPath());
    const first64k = createHash("md5").update(snap.subarray(0, 65536)).digest("hex");
    expect(value("SNAP-BEFORE")).toBe(first64k);
    expect(value("SNAP-AFTER")).toBe(createHash("md5").update(new Uint8Array(65536)).digest("hex"));
    expect(createHash("sha256").update(snap).digest("hex")).toBe(snapHash);
  });

  it("uses kvm-clock and knows the TSC frequency (within 1 %)", () => {
    expect(value("CLOCKSOURCE")).toBe("kvm-clock");
    const mhz = Number(value("MHZ"));
    const want = run.pc.clock.tscFrequencyHz / 1e6;
    expect(Math.abs(mhz - want) / want).toBeLessThan(0.01);
  });

  it("reads entropy from virtio-rng and the disk's serial from virtio-blk", () => {
    expect(value("RNG")).toMatch(/^virtio_rng\.0 [0-9a-f]{32}$/);
    expect(run.pc.rng!.bytesServed).toBeGreaterThanOrEqual(16);
    expect(value("VDA-SERIAL")).toBe("symbiont-vda");
    // A module parameter on the kernel command line reaches the module /init loads (as modprobe would pass it).
    expect(value("QUEUE-DEPTH")).toBe("48");
  });

  it("takes virtio interrupts as MSI-X messages, a vector per queue (the guest's /proc/interrupts)", () => {
    const lines = value("VIRTIO-IRQS")!.split(";").filter(Boolean);
    expect(lines.some((l) => /^PCI-MSI.*-edge virtio\d+-req\.0$/.test(l)), lines.join("\n")).toBe(true); // virtio-blk's request queue
    expect(lines.some((l) => /^PCI-MSI.*-edge virtio\d+-config$/.test(l)), lines.join("\n")).toBe(true);
    expect(lines.filter((l) => /IO-APIC|XT-PIC/.test(l))).toEqual([]); // no virtio device on the pin
  });

  it("talks both ways on hvc0", () => {
    expect(run.hvc).toContain("from-guest-on-hvc0");
    expect(value("HVC-IN")).toBe("from-host-on-hvc0");
  });
});
