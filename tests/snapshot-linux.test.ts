// Linux saved and restored in the middle of its work: Debian's kernel boots with a virtio and an IDE disk (in memory)
// and virtio-rng on a deterministic clock, writes a file to both disks and reads them back from the devices; the
// same run is stopped every 150 M instructions — mid-boot, mid-I/O — and each time saved and restored into a new
// machine with new (blank) disks — on one vCPU, and on two under shadow paging (each vCPU's shadow root built again
// after every restore). Oracles: the run never stopped (the whole serial output, kernel timestamps
// included, and the instruction count must be the same), the host (the checksums of what the guest wrote, the disks'
// bytes at the end). Skipped, saying so, without the cached images.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { MemoryDisk } from "../src/devices/block/backend.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { cachedModules, findCachedImages } from "../src/node/images.js";
import { driverModules } from "../src/boot/kmod.js";

const images = findCachedImages();
const RAM = 64 << 20;
const LINES = 60000;
/** Instructions a run may take: the whole run takes about 3.4 G. */
const LIMIT = 8e9;
const SCRIPT = [
  "set -e",
  `seq 1 ${LINES} > /tmp/n`,
  "dd if=/tmp/n of=/dev/vda bs=4k 2>/dev/null",
  "dd if=/tmp/n of=/dev/sda bs=4k 2>/dev/null",
  "sync; echo 3 > /proc/sys/vm/drop_caches",
  "echo VDA=$(head -c $(wc -c < /tmp/n) /dev/vda | md5sum | cut -c1-32)",
  "echo SDA=$(head -c $(wc -c < /tmp/n) /dev/sda | md5sum | cut -c1-32)",
  "echo RNG=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')",
  "echo SNAPSHOT-LINUX-DONE",
  "poweroff -f",
].join("\n");

describe.skipIf(!images)(`Linux saved and restored mid-boot and mid-I/O${images ? "" : " (skipped: images not cached: run npm run images)"}`, () => {
  it.each([
    { how: "one vCPU", cpus: 1, paging: "direct" as const },
    { how: "two vCPUs under shadow paging", cpus: 2, paging: "shadow" as const },
  ])("$how: ends as the run never stopped: the same serial output and instruction count; the disks hold what the guest wrote", async ({ cpus, paging }) => {
    const kernel = new Uint8Array(readFileSync(images!.kernel));
    const initrd = busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(images!.busybox)),
      modules: cachedModules(images!, driverModules(["virtio-blk", "ide", "virtio-rng"])),
      run: SCRIPT,
    });
    const machine = async (out: number[]) => {
      const disks = [MemoryDisk.blank(4 << 20), MemoryDisk.blank(4 << 20)];
      const pc = new Pc({
        engine: await createEngine("wasm", RAM), ramBytes: RAM, clock: "deterministic", rng: true, cpus, paging, onSerial: (b) => out.push(b),
        disks: [{ backend: disks[0]! }, { backend: disks[1]!, interface: "ide" }],
      });
      return { pc, disks };
    };
    /** Run to the guest's power-off (at most LIMIT instructions: a guest a bad restore left waiting stops too). */
    const run = async (every: number) => {
      const out: number[] = [];
      let m = await machine(out), snapshots = 0;
      m.pc.loadLinux(kernel, { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
      for (;;) {
        const stop = m.pc.vm.run(Math.min(every, LIMIT - m.pc.vm.stats().instructions));
        if (stop.kind !== "budget" || m.pc.vm.stats().instructions >= LIMIT) {
          return { stop, serial: Buffer.from(out).toString("latin1"), instructions: m.pc.vm.stats().instructions, disks: m.disks, snapshots };
        }
        if (every === Infinity) continue;
        const bytes = m.pc.saveSnapshot();
        m = await machine(out);
        m.pc.loadSnapshot(bytes);
        snapshots++;
      }
    };
    const whole = await run(Infinity);
    const text = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join("");
    const md5 = createHash("md5").update(text).digest("hex");
    expect(whole.serial, whole.serial.slice(-2000)).toContain("SNAPSHOT-LINUX-DONE");
    expect(whole.serial).toContain(`VDA=${md5}`);
    expect(whole.serial).toContain(`SDA=${md5}`);

    const stopped = await run(150_000_000);
    expect(stopped.snapshots).toBeGreaterThanOrEqual(20);
    expect(stopped.stop).toEqual(whole.stop);
    expect(stopped.instructions).toBe(whole.instructions);
    expect(stopped.serial).toBe(whole.serial);
    for (const d of stopped.disks) expect(Buffer.from(d.bytes.subarray(0, text.length)).toString("latin1")).toBe(text);
  }, 20 * 60 * 1000);
});
