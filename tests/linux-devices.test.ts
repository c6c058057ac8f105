// Debian's kernel on Symbiont's paravirtual and emulated devices, in one shared boot (CI time):
// virtio-blk (mke2fs, files, sync on a raw image; a second disk under --snapshot), PIIX3 IDE
// through ata_piix (mke2fs, files, sync; bus-master DMA),
// kvm-clock, virtio-rng, virtio-console (hvc0), the VGA (Linux's vgacon console on tty0), virtio-balloon (inflated
// by 32 MiB and deflated again), the monitor's nmi, and pvpanic (the guest panics at the end through sysrq). Oracles: Debian's e2fsprogs on the host (e2fsck -fn, debugfs
// -R "cat …"), the guest's own /sys and /proc (and its screen, read back from /dev/vcsa), the TSC frequency the
// clock is configured with, the snapshot image's bytes before the run.
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
import type { VgaScreen } from "../src/devices/vga/vga.js";
import { screenLines } from "../src/devices/vga/screen-text.js";
import { ps2Typing } from "../src/devices/ps2-keymap.js";
import type { BalloonStats } from "../src/devices/virtio/balloon.js";
import { Monitor } from "../src/vmm/monitor.js";

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
  "echo FPU=$(dmesg | grep -o 'x86/fpu: x87 FPU will use [A-Z]*')",
  "echo RNG=$(cat /sys/class/misc/hw_random/rng_current) $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')",
  "echo VDA-SERIAL=$(cat /sys/block/vda/serial)",
  "echo QUEUE-DEPTH=$(cat /sys/module/virtio_blk/parameters/queue_depth)",
  "echo VIRTIO-IRQS=$(grep virtio /proc/interrupts | tr -s ' ' | sed 's/^ *[0-9]*: [0-9]* //' | tr '\\n' ';')",
  // The VGA console: text with colour and CP437 glyphs (UTF-8 in, which the kernel maps to the font's codes), then
  // /dev/vcsa — the screen as the guest has it (rows, columns, cursor, then character and attribute per cell) — at
  // a marker the host takes its own picture at; again after 1500 lines scrolled (vgacon moves the CRTC's start
  // address through the 32 KiB of text memory and copies back at its end) and the cursor hidden (DECTCEM).
  "printf 'VGA \\033[1;31mred\\033[0m \\342\\226\\210\\342\\224\\200 line\\n' > /dev/tty1",
  "cat /dev/vcsa > /tmp/vcsa1; echo VGA-SNAP-1",
  "echo VCSA1=$(od -An -tx1 -v /tmp/vcsa1 | tr -d ' \\n')",
  "seq 1 1500 > /dev/tty1; printf '\\033[?25l' > /dev/tty1",
  "cat /dev/vcsa > /tmp/vcsa2; echo VGA-SNAP-2",
  "echo VCSA2=$(od -An -tx1 -v /tmp/vcsa2 | tr -d ' \\n')",
  // The PS/2 keyboard: a line typed on it (by scan code, through the i8042's translation and Linux's atkbd and
  // keymap) reaches a reader of tty1.
  "(read -r typed < /dev/tty1; echo \"TYPED=$typed\") &",
  "sleep 1; echo KBD-WAITING; wait",
  "echo from-guest-on-hvc0 > /dev/hvc0",
  // Input that arrives while nobody has hvc0 open waits in the virtqueue until the next interrupt
  // (virtio_console/hvc), so the host types once a reader is there.
  "head -n1 /dev/hvc0 > /tmp/hvc-in &",
  "sleep 1; echo HVC-WAITING; wait",
  "echo HVC-IN=$(cat /tmp/hvc-in)",
  // The balloon: the host asks for 32 MiB when it reads BALLOON-WAITING; Linux's driver (without DEFLATE_ON_OOM)
  // takes each page it gives up out of MemTotal, so the guest waits for MemTotal to drop. At DEFLATE-WAITING the host
  // asks for fresh statistics, looks at its map, lets the pages go and says so on hvc0; the guest waits for MemTotal
  // to come back.
  "memtotal() { awk '/^MemTotal/ { print $2 }' /proc/meminfo; }",
  "m0=$(memtotal); echo MEMTOTAL-0=$m0; echo BALLOON-WAITING",
  "i=0; while [ $(memtotal) -gt $((m0 - 32768)) ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done",
  "echo MEMTOTAL-1=$(memtotal); echo DEFLATE-WAITING; head -n1 /dev/hvc0 > /dev/null",
  "i=0; while [ $(memtotal) -lt $m0 ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done",
  "echo MEMTOTAL-2=$(memtotal)",
  // The monitor's nmi at NMI-WAITING (then a line on hvc0): Linux counts it and, finding no source for it, says so on
  // its console (arch/x86/kernel/nmi.c unknown_nmi_error).
  "echo NMI-WAITING; head -n1 /dev/hvc0 > /dev/null",
  "echo NMI=$(grep NMI: /proc/interrupts | tr -s ' ')",
  // The PCI functions as Linux found them (IDs, and each resource's start, end and flags), and its address maps, for
  // the monitor's info pci and info mtree.
  "for d in /sys/bus/pci/devices/*; do echo PCI-RES=${d##*/} $(cat $d/vendor $d/device) $(head -6 $d/resource | tr ' ' , | tr '\\n' ' '); done",
  "echo IOMEM=$(sed 's/^ *//' /proc/iomem | tr '\\n' ';')",
  "echo IOPORTS=$(sed 's/^ *//' /proc/ioports | tr '\\n' ';')",
  // What the block layer counted for each disk (Documentation/block/stat.rst), its size in sectors and whether it is
  // read-only, for the monitor's info block and info blockstats (every disk is idle by now).
  "for d in vda vdb sda; do echo BLOCK-$d=$(cat /sys/block/$d/size /sys/block/$d/ro /sys/block/$d/stat); done",
  "echo DEVICES-DONE",
  "echo c > /proc/sysrq-trigger",
].join("\n");

interface Run {
  serial: string; hvc: string; stop: StopReason; pc: Pc; screens: VgaScreen[]; inflated: BalloonStats | null; trapped: number[]; trappedNonZero: number;
  /** The monitor's info mtree while the balloon held its 32 MiB. */
  inflatedTree: string;
}

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
    let hvc = "", line = "";
    const screens: VgaScreen[] = [];
    const pc: Pc = new Pc({
      engine: await createEngine("wasm", ramBytes), ramBytes, clock: "deterministic", vga: true,
      onSerial: (b) => {
        serial.push(b);
        // The screen the moment the guest says it read /dev/vcsa (nothing writes to tty1 in between).
        if (b !== 10) { line += String.fromCharCode(b); return; }
        if (/^VGA-SNAP-\d\r?$/.test(line)) screens.push(pc.vga!.screen());
        line = "";
      },
      disks: [{ backend: openDiskImage(diskPath(), "rw"), serial: "symbiont-vda" }, { backend: openDiskImage(snapPath(), "snapshot") }, { backend: openDiskImage(idePath(), "rw"), interface: "ide" }],
      rng: true,
      balloon: true,
      onVirtioConsole: (bytes) => { hvc += Buffer.from(bytes).toString("latin1"); },
    });
    const modules = cachedModules(images!, driverModules(["virtio-blk", "ide", "virtio-rng", "virtio-console", "virtio-balloon", "pvpanic", "ext4"]));
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(images!.busybox)), modules, run: SCRIPT });
    pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), { cmdline: `console=tty0 ${LINUX_CMDLINE} quiet virtio_blk.queue_depth=48`, initrd });
    let stop: StopReason = { kind: "budget" };
    let typed = false, keyed = false, inflating = false, statsAsked = false, deflating = false, nmi = false;
    let inflated: BalloonStats | null = null, trapped: number[] = [], trappedNonZero = -1, inflatedTree = "";
    for (let i = 0; i < 400 && stop.kind === "budget"; i++) {
      stop = pc.vm.run(20_000_000);
      const out = Buffer.from(serial).toString("latin1");
      if (!inflating && out.includes("BALLOON-WAITING")) { pc.balloon!.setTarget(8192); inflating = true; }
      if (!nmi && out.includes("NMI-WAITING")) {
        new Monitor(pc.vm).execute("nmi");
        pc.virtioConsole!.receive(new TextEncoder().encode("nmi sent\n"));
        nmi = true;
      }
      if (!deflating && statsAsked) {
        // (A run later: the guest has answered.) What the balloon and the map say now, then the pages go back.
        inflated = pc.balloon!.stats();
        const m = pc.vm.memory;
        for (let gpa = 0; gpa < ramBytes; gpa += 4096) if (m.lookup(gpa).kind === "trap") trapped.push(gpa);
        trappedNonZero = trapped.filter((gpa) => m.readHost(gpa, 4096).some((b) => b !== 0)).length;
        inflatedTree = new Monitor(pc.vm).execute("info mtree");
        pc.balloon!.setTarget(0);
        pc.virtioConsole!.receive(new TextEncoder().encode("deflating\n"));
        deflating = true;
      }
      if (!statsAsked && out.includes("DEFLATE-WAITING")) statsAsked = pc.balloon!.requestStats();
      if (!keyed && Buffer.from(serial).toString("latin1").includes("KBD-WAITING")) {
        pc.kbc.keyboard.sendScancodes(ps2Typing(["Shift+KeyH", "KeyI", "Space", "KeyV", "KeyG", "KeyA", "Minus", "Digit4", "Digit2", "Enter"]));
        keyed = true;
      }
      if (!typed && Buffer.from(serial).toString("latin1").includes("HVC-WAITING")) {
        pc.virtioConsole!.receive(new TextEncoder().encode("from-host-on-hvc0\n"));
        typed = true;
      }
    }
    run = { serial: Buffer.from(serial).toString("latin1").replace(/\r/g, ""), hvc, stop, pc, screens, inflated, trapped, trappedNonZero, inflatedTree };
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

  it("inflates and deflates the balloon: Linux's MemTotal drops by the 32 MiB the map loses, its statistics say so, and it all comes back", () => {
    const m0 = Number(value("MEMTOTAL-0")), m1 = Number(value("MEMTOTAL-1")), m2 = Number(value("MEMTOTAL-2"));
    expect(m0).toBeGreaterThan(100_000);
    expect(m0 - m1).toBe(32768); // kB: 8192 pages
    expect(m2).toBe(m0);
    expect(run.inflated).toMatchObject({ targetPages: 8192, actualPages: 8192, withdrawnPages: 8192, inflated: 8192 });
    expect(run.trapped.length).toBe(8192);
    expect(run.trappedNonZero).toBe(0); // each withdrawn page's frame was zero then
    expect(run.inflated!.guest!["total-memory"]).toBe(m1 * 1024); // the driver's figure is /proc/meminfo's
    expect(run.inflated!.guest!["free-memory"]).toBeLessThan(m1 * 1024);
    expect(run.pc.balloon!.stats()).toMatchObject({ targetPages: 0, actualPages: 0, withdrawnPages: 0 });
    expect(run.pc.balloon!.stats().deflated + run.pc.balloon!.stats().faultedBack).toBe(8192);
  });

  it("info mtree shows the balloon's pages withdrawn from the guest-physical map: 32 MiB of traps, as Linux's MemTotal dropped", () => {
    const traps = run.inflatedTree.split("\n").map((l) => /^ {2}([0-9a-f]{8})-([0-9a-f]{8}) {2}trap /.exec(l)).filter((m) => m !== null);
    expect(traps.reduce((n, m) => n + parseInt(m[2]!, 16) + 1 - parseInt(m[1]!, 16), 0)).toBe(Number(value("MEMTOTAL-0")) * 1024 - Number(value("MEMTOTAL-1")) * 1024);
    expect(new Monitor(run.pc.vm).execute("info mtree")).not.toMatch(/ trap /); // (deflated: all back)
  });

  it("info pci shows each function as Linux's sysfs has it: vendor and device IDs, each BAR's range", () => {
    const sysfs = [...run.serial.matchAll(/^PCI-RES=0000:00:([0-9a-f]{2})\.(\d) 0x([0-9a-f]{4}) 0x([0-9a-f]{4}) (.*)$/gm)];
    const shown = new Monitor(run.pc.vm, { pci: run.pc.pci }).execute("info pci").split(/\n(?= {2}Bus)/);
    expect(sysfs.length).toBe(shown.length);
    expect(sysfs.length).toBeGreaterThanOrEqual(7); // host and ISA bridges, IDE, pvpanic, two virtio-blk, rng, console, balloon
    for (const [, slot, fn, vendor, device, resources] of sysfs) {
      const block = shown.find((b) => b.startsWith(`  Bus  0, device ${String(parseInt(slot!, 16)).padStart(3)}, function ${fn}:`));
      expect(block, `00:${slot}.${fn}`).toBeDefined();
      expect(block!.split("\n")[1]).toMatch(new RegExp(`: PCI device ${vendor}:${device}$`));
      // A resource Linux sized from a BAR has IORESOURCE_SIZEALIGN (0x40000); the IDE's legacy ports (fixed) do not.
      const bars = resources!.trim().split(" ").map((r, i) => [i, ...r.split(",").map((x) => Number(x))] as const)
        .filter(([, , , flags]) => flags & 0x40000)
        .map(([i, start, end, flags]) => `BAR${i}: ${flags & 0x100 ? "I/O" : "32 bit memory"} at 0x${start.toString(16).padStart(flags & 0x100 ? 4 : 8, "0")} [0x${end.toString(16).padStart(flags & 0x100 ? 4 : 8, "0")}].`);
      expect(block!.split("\n").filter((l) => / {6}BAR/.test(l)).map((l) => l.trim()), `00:${slot}.${fn}`).toEqual(bars);
    }
  });

  it("info mtree has what Linux's /proc/iomem and /proc/ioports place: its RAM, the APICs, each PCI function's BARs, the UART", () => {
    const tree = new Monitor(run.pc.vm, { pci: run.pc.pci }).execute("info mtree").split("\n");
    const io = tree.indexOf("I/O ports");
    const regions = (lines: string[]) => lines.map((l) => /^ {2}([0-9a-f]+)-([0-9a-f]+) {2}(.*)$/.exec(l)).filter((m) => m !== null)
      .map((m) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), what: m[3]! }));
    const memory = regions(tree.slice(0, io)), ports = regions(tree.slice(io));
    const entries = (key: string) => value(key)!.split(";").filter(Boolean).map((e) => /^([0-9a-f]+)-([0-9a-f]+) : (.*)$/.exec(e.trim())!)
      .map((m) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), name: m[3]! }));
    const inside = (e: { start: number; end: number }, among: { start: number; end: number; what: string }[], what: RegExp) =>
      among.some((r) => r.start <= e.start && e.end <= r.end && what.test(r.what));
    const iomem = entries("IOMEM"), ioports = entries("IOPORTS");
    const ram = iomem.filter((e) => e.name === "System RAM");
    expect(ram.length).toBeGreaterThanOrEqual(2);
    // RAM runs are split where permissions or frames change, so a System RAM range may span several.
    for (const e of ram) for (let a = e.start; a < e.end; a += 4096) expect(inside({ start: a, end: a }, memory, /^ram rwx /), `RAM at ${a.toString(16)}`).toBe(true);
    for (const name of ["IOAPIC 0", "Local APIC"]) {
      const e = iomem.find((x) => x.name === name)!;
      expect(inside(e, memory, name === "IOAPIC 0" ? /^mmio ioapic$/ : /^mmio local-apic$/), name).toBe(true);
    }
    const pciMem = iomem.filter((e) => /^0000:00:/.test(e.name)), pciIo = ioports.filter((e) => /^0000:00:/.test(e.name));
    expect(pciMem.length).toBeGreaterThanOrEqual(10);
    for (const e of pciMem) expect(inside(e, memory, new RegExp(`^mmio .*\\(PCI ${e.name.slice(5)} BAR\\d\\)$`)), `${e.name} at ${e.start.toString(16)}`).toBe(true);
    // The IDE's legacy ports are no BARs: they only need a device there.
    for (const e of pciIo) expect(inside(e, ports, e.start < 0x400 ? /^ide/ : new RegExp(`\\(PCI ${e.name.slice(5)} BAR\\d\\)`)), `${e.name} at ${e.start.toString(16)}`).toBe(true);
    expect(inside(ioports.find((e) => e.name === "serial")!, ports, /^uart16550/)).toBe(true);
    expect(inside(ioports.find((e) => e.name === "PCI conf1")!, ports, /^pci-conf1/)).toBe(true);
  });

  it("info blockstats counts what Linux's block layer counted on each disk, info block shows their sizes as Linux sees them", () => {
    const monitor = new Monitor(run.pc.vm, { disks: () => run.pc.blockDevices() });
    const stats = monitor.execute("info blockstats").split("\n"), block = monitor.execute("info block").split("\n");
    for (const [dev, id] of [["vda", "virtio0"], ["vdb", "virtio1"], ["sda", "ide0-hd0"]] as const) {
      // size, ro, then stat: read I/Os, merges, sectors, ticks; write I/Os, merges, sectors, ticks; …; flush I/Os (16th).
      const [size, ro, ...f] = value(`BLOCK-${dev}`)!.split(/\s+/).map(Number);
      expect(f[0]! + f[4]! + f[15]!, dev).toBeGreaterThan(0);
      const ours = /^\S+: rd_bytes=(\d+) wr_bytes=(\d+) rd_operations=(\d+) wr_operations=(\d+) flush_operations=(\d+)$/.exec(stats.find((l) => l.startsWith(`${id}: `))!)!.slice(1).map(Number);
      expect({ rdBytes: ours[0], wrBytes: ours[1], reads: ours[2], flushes: ours[4] }, dev).toEqual({ rdBytes: f[2]! * 512, wrBytes: f[6]! * 512, reads: f[0], flushes: f[15] });
      // A write that only carries a cache flush (blkdev_issue_flush's empty REQ_PREFLUSH write, mke2fs's fsync) is a
      // write I/O to the block layer and a flush to the device: Linux's writes are ours and at most its flushes more.
      expect(f[4]! - ours[3]!, dev).toBeGreaterThanOrEqual(0);
      expect(f[4]! - ours[3]!, dev).toBeLessThanOrEqual(f[15]!);
      const at = block.findIndex((l) => l.startsWith(`${id}: `));
      expect(block[at], dev).toMatch(new RegExp(`, ${size} sectors, ${ro ? "read-only" : "read-write"}\\)$`));
      expect(block[at + 1], dev).toMatch(id.startsWith("ide") ? /^ {4}Attached to: PIIX3 IDE \(PCI 00:01\.1\), primary channel, master$/ : /^ {4}Attached to: virtio-blk \(PCI 00:[0-9a-f]{2}\.0\)$/);
    }
  });

  it("takes the monitor's nmi: Linux's NMI handler reports one it has no reason for", () => {
    expect(value("NMI")).toBe("NMI: 1 Non-maskable interrupts");
    expect(run.serial).toMatch(/NMI-WAITING\n[^\n]*Uhhuh\. NMI received for unknown reason [0-9a-f]{2} on CPU 0\.\n/);
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

  it("switches tasks' x87 state with FXSAVE/FXRSTOR, which CPUID offers (the guest's log)", () => {
    expect(value("FPU")).toBe("x86/fpu: x87 FPU will use FXSAVE");
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

  it("draws Linux's VGA console as the guest reads it back from /dev/vcsa: text, attributes, cursor, colours", () => {
    expect(run.screens.length).toBe(2);
    const [first, scrolled] = run.screens.map((s) => { if (s.kind !== "text") throw new Error(`screen ${s.kind}: ${s.why}`); return s; });
    for (const [k, shot] of [[1, first!], [2, scrolled!]] as const) {
      const vcsa = Buffer.from(value(`VCSA${k}`) ?? "", "hex");
      const [rows, cols, x, y] = vcsa;
      expect(vcsa.length).toBe(4 + rows! * cols! * 2);
      expect([shot.rows, shot.cols]).toEqual([rows, cols]);
      const cells = vcsa.subarray(4);
      expect(Buffer.from(shot.chars).toString("latin1"), `characters, picture ${k}`).toBe(Buffer.from(cells.filter((_, i) => i % 2 === 0)).toString("latin1"));
      expect(shot.attrs, `attributes, picture ${k}`).toEqual(new Uint8Array(cells.filter((_, i) => i % 2 === 1)));
      if (k === 1) expect(shot.cursor).toEqual({ row: y, col: x });
    }
    expect(scrolled!.cursor).toBeNull(); // ESC [ ? 25 l hid it (CRTC cursor-start bit 5)
    // The UTF-8 the guest wrote, shown through CP437: U+2588 and U+2500 are the font's codes 0xDB and 0xC4.
    const lines = screenLines(first!);
    const row = lines.findIndex((l) => l.startsWith("VGA red █─ line"));
    expect(row, lines.join("\n")).toBeGreaterThanOrEqual(0);
    // "red" in bold red on black: attribute 0x0C, which Linux's default palette (drivers/tty/vt/vt.c, written into
    // the DAC by vgacon) makes #FF5555; the rest light grey (0x07, #AAAAAA).
    expect(Array.from(first!.attrs.subarray(row * first!.cols + 4, row * first!.cols + 8))).toEqual([0x0c, 0x0c, 0x0c, 0x07]);
    expect([first!.colors[0x0c], first!.colors[0x07]]).toEqual([0xff5555, 0xaaaaaa]);
    expect(screenLines(scrolled!).filter((l) => /^\d+$/.test(l)).slice(-3)).toEqual(["1498", "1499", "1500"]);
  });

  it("takes a line typed on the PS/2 keyboard into tty1", () => {
    expect(value("TYPED")).toBe("Hi vga-42");
  });

  it("talks both ways on hvc0", () => {
    expect(run.hvc).toContain("from-guest-on-hvc0");
    expect(value("HVC-IN")).toBe("from-host-on-hvc0");
  });
});
