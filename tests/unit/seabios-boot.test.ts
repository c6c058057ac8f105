// SeaBIOS (Debian's build, the one qemu-system-i386 runs) boots a disk on our PC, with QEMU as the oracle: the
// same image, booted by the same BIOS under QEMU (-machine graphics=off, as our PC has no display), must print the
// same bytes, SeaBIOS's serial console included; a second disk (tests/disks/keydisk.asm) checks that console's
// input side, INT 16h keys from bytes typed on COM1. The first disk (tests/disks/bootdisk.asm)
// asks the BIOS about its drive through INT 12h and INT 13h (EDD check, CHS and EDD geometry) and reads and writes
// it, so SeaBIOS's IDE and virtio-blk drivers run over our devices; the sector it writes must land in the image.
// The same POST installs the ACPI tables we hand over fw_cfg with QEMU's linker script (SeaBIOS is the linker
// here, an implementation independent of ours): they must be where the RSDP says, with valid checksums, and
// byte for byte what our own linker makes of the same tables at the same addresses. Its MP table must route
// ISA IRQ 0 to I/O APIC pin 2 (the IRQ0_OVERRIDE item), as our wiring and the MADT say.
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { createConnection } from "node:net";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { Pc } from "../../src/machine/pc.js";
import { createEngine } from "../../src/node/engines.js";
import { MemoryDisk } from "../../src/devices/block/backend.js";
import { acpiTableSet, linkAcpiTables } from "../../src/boot/acpi.js";
import { findSeabios, findVgaBios } from "../../src/node/firmware.js";
import { ENGINES } from "../helpers.js";
import type { VgaScreen } from "../../src/devices/vga/vga.js";
import { Monitor } from "../../src/vmm/monitor.js";

// The SeaBIOS "npm run images" fetched (or the system's): the same ROM goes to QEMU (-bios) and to us.
const SEABIOS = findSeabios()?.path ?? "";
// Its VGA BIOS, the one QEMU's isa-vga hands SeaBIOS (QEMU takes its own copy of the same package's build).
const VGABIOS = findVgaBios()?.path ?? "";
const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
const runnable = (SEABIOS !== "" && haveQemu) || !!process.env.SYMBIONT_REQUIRE_IMAGES;
const skipNote = SEABIOS !== "" && haveQemu ? "" : " (skipped: no SeaBIOS (npm run images) or no qemu-system-i386)";

const DISK_BYTES = 1 << 20;
const DONE = "BOOTDISK-DONE\r\n";
/** What the disk writes at sector 3: the bytes 0…255 twice. */
const WRITTEN = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);

/** tests/disks/bin/NAME.img padded with zeros to DISK_BYTES. */
function testDisk(name: "bootdisk" | "keydisk"): Uint8Array {
  const disk = new Uint8Array(DISK_BYTES);
  disk.set(readFileSync(new URL(`../disks/bin/${name}.img`, import.meta.url)));
  return disk;
}

/**
 * Input once the guest printed `after`: bytes typed on COM1, or keys pressed on the PS/2 keyboard with the monitor's
 * `sendkey` (`sendkeys`: QEMU's names, given to QEMU's monitor and to ours alike).
 */
interface Typing { after: string; bytes: string; sendkeys?: string[] }

/** Guest memory QEMU saved (monitor pmemsave) just before the typing: the text screen and the BIOS data area. */
interface QemuScreen { text: Uint8Array; bda: Uint8Array }
const SCREEN_BYTES = 80 * 25 * 2;

/**
 * QEMU's serial output and the image after it. The disks end QEMU's run through isa-debug-exit after their last
 * line. No display, as our PC: SeaBIOS's serial console (fw_cfg etc/sercon-port) puts its text screen on COM1 too.
 * With `vga`, an ISA VGA as well (-device isa-vga: SeaBIOS runs its VGA BIOS and writes the screen too), whose
 * text memory (0xB8000) and the BIOS data area (0x400) QEMU's monitor saves when the guest printed `typing.after`.
 */
async function underQemu(disk: Uint8Array, iface: "ide" | "virtio", typing?: Typing, vga = false): Promise<{ serial: string; disk: Uint8Array; screen?: QemuScreen }> {
  const dir = mkdtempSync(join(tmpdir(), "symbiont-testdisk-"));
  try {
    const image = join(dir, "disk.img");
    writeFileSync(image, disk);
    const [textFile, bdaFile] = [join(dir, "text.bin"), join(dir, "bda.bin")];
    const saveScreenAndPressKeys = async (keys: string[]) => {
      const monitor = createConnection(join(dir, "monitor.sock"));
      monitor.write(`pmemsave 0xb8000 ${SCREEN_BYTES} "${textFile}"\npmemsave 0x400 256 "${bdaFile}"\n`);
      // The second file is written once the first is complete.
      for (let i = 0; i < 200 && !(existsSync(bdaFile) && statSync(bdaFile).size === 256); i++) await new Promise((r) => setTimeout(r, 50));
      for (const key of keys) {
        monitor.write(`sendkey ${key}\n`);
        await new Promise((r) => setTimeout(r, 200)); // one key at a time, as a typist would
      }
      monitor.end();
    };
    const serial = await new Promise<string>((resolve) => {
      // -icount: QEMU's virtual time from the instructions it runs, as ours is deterministic — SeaBIOS's serial console
      // sends the cursor's character on its timer, so with host time a loaded host moves the last dot of "Booting from
      // Hard Disk..." and its newline elsewhere in the output.
      const q = spawn("qemu-system-i386", ["-bios", SEABIOS, "-m", "128", "-icount", "shift=0,sleep=off", "-display", "none", "-nodefaults", "-machine", "graphics=off", "-serial", "stdio",
        "-drive", `file=${image},format=raw,if=${iface}`, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ...(vga ? ["-device", "isa-vga", "-monitor", `unix:${join(dir, "monitor.sock")},server=on,wait=off`] : [])]);
      let out = "";
      q.stdout.on("data", (d: Buffer) => {
        const before = out;
        out += d.toString("latin1");
        if (typing && !before.includes(typing.after) && out.includes(typing.after)) {
          if (vga) void saveScreenAndPressKeys(typing.sendkeys ?? []).then(() => q.stdin.write(typing.bytes));
          else q.stdin.write(typing.bytes);
        }
      });
      const timer = setTimeout(() => q.kill(), 60_000);
      q.on("close", () => { clearTimeout(timer); resolve(out); });
    });
    const screen = vga && existsSync(bdaFile) ? { text: new Uint8Array(readFileSync(textFile)), bda: new Uint8Array(readFileSync(bdaFile)) } : undefined;
    return { serial, disk: new Uint8Array(readFileSync(image)), screen };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our serial output up to `end`, and the disk after it, the same disk booted by the same BIOS. */
async function underSymbiont(engine: "wasm" | "js", disk: Uint8Array, iface: "ide" | "virtio", end: string, typing?: Typing, vga = false) {
  const ram = 128 << 20;
  const backend = new MemoryDisk(disk);
  let serial = "";
  const pc = new Pc({ engine: await createEngine(engine, ram), ramBytes: ram, clock: "deterministic", onSerial: (b) => { serial += String.fromCharCode(b); },
    disks: [{ backend, interface: iface }], ...(vga ? { vga: true, vgaBios: new Uint8Array(readFileSync(VGABIOS)) } : {}) });
  pc.vm.loadRom(new Uint8Array(readFileSync(SEABIOS)));
  let typed = false;
  let screen: { memory: Uint8Array; bda: Uint8Array; shown: VgaScreen } | undefined;
  for (let i = 0; i < 400 && !serial.includes(end); i++) {
    pc.vm.run(5_000_000);
    if (typing && !typed && serial.includes(typing.after)) {
      if (pc.vga) screen = { memory: pc.vm.readPhysical(0xb8000, SCREEN_BYTES), bda: pc.vm.readPhysical(0x400, 256), shown: pc.vga.screen() };
      const monitor = new Monitor(pc.vm, { keyboard: pc.kbc.keyboard });
      for (const key of typing.sendkeys ?? []) expect(monitor.execute(`sendkey ${key}`)).toBe("");
      pc.uart.receive(new TextEncoder().encode(typing.bytes));
      typed = true;
    }
  }
  return { serial, disk: backend.bytes, pc, screen };
}

/** The keys the key disk printed (tests/disks/keydisk.asm: "key SSCC" per INT 16h key), and its end marker. */
const keysRead = (serial: string) => serial.replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, "").match(/key [0-9A-F]{4}|KEYDISK-DONE/g);

describe("SeaBIOS boots a disk", () => {
  for (const iface of ["ide", "virtio"] as const) {
    it.runIf(runnable)(`over ${iface}: INT 12h/13h answers, reads and a write as under QEMU, on both engines${skipNote}`, async () => {
      const theirs = await underQemu(testDisk("bootdisk"), iface);
      expect(theirs.serial).toContain(DONE);
      expect(theirs.serial).toContain("read 00 00 sector 1 says hello");
      expect(theirs.disk.subarray(3 * 512, 4 * 512)).toEqual(WRITTEN);
      const lines = theirs.serial.slice(0, theirs.serial.indexOf(DONE) + DONE.length);
      for (const engine of ENGINES) {
        const ours = await underSymbiont(engine, testDisk("bootdisk"), iface, DONE);
        expect(ours.serial, engine).toBe(lines);
        expect(ours.disk.subarray(3 * 512, 4 * 512)).toEqual(WRITTEN);
      }
    }, 300_000);
  }

  // The serial console's input side: bytes typed on COM1 become INT 16h keys (tests/disks/keydisk.asm prints each
  // key's scan code and character), as under QEMU with the same BIOS and the same bytes typed.
  it.runIf(runnable)(`its serial console turns bytes typed on COM1 into INT 16h keys, as under QEMU, on both engines${skipNote}`, async () => {
    const typing = { after: "KEYS?", bytes: "a\r1Aq" }, END = "KEYDISK-DONE\r\n";
    const theirs = (await underQemu(testDisk("keydisk"), "virtio", typing)).serial;
    expect(theirs).toContain("key 1E61\r\nkey 1C0D\r\nkey 0231\r\nkey 1E41\r\nkey 1071\r\n" + END); // PC/AT scan codes of a, Enter, 1, A, q
    for (const engine of ENGINES) {
      const ours = await underSymbiont(engine, testDisk("keydisk"), "virtio", END, typing);
      expect(ours.serial, engine).toBe(theirs.slice(0, theirs.indexOf(END) + END.length));
    }
  }, 180_000);

  // SeaBIOS's VGA BIOS (vgabios-isavga, handed over fw_cfg's "vgaroms/" as QEMU's isa-vga does) programs our VGA and
  // SeaBIOS writes its banner on the screen as well as on COM1: the text memory, the cursor the BIOS data area
  // records and the mode must be QEMU's when the disk waits for its keys — and the screen we draw must be that text.
  // Then keys pressed on the PS/2 keyboard by the monitor's sendkey (QEMU's and ours, the same names) reach INT 16h as
  // QEMU's do.
  it.runIf(runnable)(`its VGA BIOS sets text mode 3 on our VGA and the screen is QEMU's isa-vga's; PS/2 keys reach INT 16h, on both engines${skipNote}`, async () => {
    expect(VGABIOS, "no vgabios-isavga.bin (npm run images caches it with SeaBIOS)").not.toBe("");
    const typing = { after: "KEYS?", bytes: "", sendkeys: ["a", "ret", "shift-a", "1", "q"] };
    const END = "KEYDISK-DONE\r\n";
    const q = await underQemu(testDisk("keydisk"), "virtio", typing, true);
    const theirs = q.screen!;
    expect(theirs, "QEMU's monitor saved the screen").toBeDefined();
    expect(q.serial).toContain("key 1E61\r\nkey 1C0D\r\nkey 1E41\r\nkey 0231\r\nkey 1071\r\n" + END); // PC/AT scan codes and characters
    const text = (b: Uint8Array) => Array.from({ length: 25 }, (_, r) => String.fromCharCode(...Array.from(b.subarray(r * 160, r * 160 + 160)).filter((_, i) => i % 2 === 0)).trimEnd());
    expect(text(theirs.text).slice(0, 2)).toEqual([expect.stringMatching(/^SeaBIOS \(version /), "Booting from Hard Disk..."]);
    expect([theirs.bda[0x49], theirs.bda[0x4a]]).toEqual([3, 80]); // the BDA's video mode and columns: mode 3, 80
    for (const engine of ENGINES) {
      const ours = await underSymbiont(engine, testDisk("keydisk"), "virtio", END, typing, true);
      // (With a VGA, SeaBIOS's serial console mirrors the screen on its timer, so where the cursor's dot and the
      // escape sequences fall in COM1's output depends on timing, under QEMU as here: the keys are compared.)
      expect(keysRead(ours.serial), engine).toEqual(keysRead(q.serial));
      const { memory, bda, shown } = ours.screen!;
      expect(text(memory), engine).toEqual(text(theirs.text));
      expect(memory, engine).toEqual(theirs.text); // attributes too
      expect(bda.subarray(0x49, 0x52), engine).toEqual(theirs.bda.subarray(0x49, 0x52)); // mode, columns, page size and offset, cursor of page 0
      expect(shown.kind).toBe("text");
      if (shown.kind !== "text") continue;
      expect([shown.cols, shown.rows]).toEqual([80, 25]);
      expect(shown.chars).toEqual(memory.filter((_, i) => i % 2 === 0));
      expect(shown.attrs).toEqual(memory.filter((_, i) => i % 2 === 1));
      expect(shown.cursor).toEqual({ row: theirs.bda[0x51], col: theirs.bda[0x50] });
    }
  }, 180_000);

  const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;
  it.runIf(runnable)(`symbiont run --disk IMAGE boots it through SeaBIOS (the one npm run images fetched)${skipNote}`, async () => {
    const theirs = (await underQemu(testDisk("bootdisk"), "virtio")).serial;
    const dir = mkdtempSync(join(tmpdir(), "symbiont-bootdisk-cli-"));
    try {
      const image = join(dir, "disk.img");
      writeFileSync(image, testDisk("bootdisk"));
      const r = spawnSync(process.execPath, [cli, "run", "--disk", image, "--deterministic", "--until", "BOOTDISK-DONE", "--timeout", "60"], { encoding: "latin1", input: "" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(theirs.slice(0, theirs.indexOf("BOOTDISK-DONE") + "BOOTDISK-DONE".length));
      expect(new Uint8Array(readFileSync(image)).subarray(3 * 512, 4 * 512)).toEqual(WRITTEN); // the image itself, not a snapshot
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const none = spawnSync(process.execPath, [cli, "run"], { encoding: "utf8", input: "" });
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toBe("symbiont: run needs a kernel file, --bios FILE or a --disk to boot");
  }, 120_000);

  it.runIf(runnable)(`installs our ACPI tables through fw_cfg's etc/table-loader, and its MP table routes IRQ 0 to pin 2${skipNote}`, async () => {
    const { pc, serial } = await underSymbiont("wasm", testDisk("bootdisk"), "ide", DONE);
    expect(serial).toContain(DONE);
    const mem = (addr: number, len: number) => pc.vm.readPhysical(addr, len);
    const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
    const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);
    // The OS's search (ACPI 6.4, 5.2.5.1): "RSD PTR " on a 16-byte boundary in 0xE0000-0xFFFFF.
    const fseg = mem(0xe0000, 0x20000);
    const find = (sig: string) => {
      for (let at = 0; at < fseg.length; at += 16) if (String.fromCharCode(...fseg.subarray(at, at + sig.length)) === sig) return 0xe0000 + at;
      return -1;
    };
    const rsdpAddr = find("RSD PTR ");
    expect(rsdpAddr).toBeGreaterThan(0);
    const rsdp = mem(rsdpAddr, 20);
    expect(sum(rsdp)).toBe(0);
    const set = acpiTableSet(1, 128 << 20);
    const tablesAddr = u32(rsdp, 16) - u32(set.rsdp, 16); // the RSDT's address less its offset in etc/acpi/tables
    expect(tablesAddr % 64).toBe(0); // the FACS's alignment, which the loader script asks for
    const [ourRsdp, ourTables] = linkAcpiTables(set, rsdpAddr, tablesAddr);
    expect(rsdp).toEqual(ourRsdp!.bytes);
    expect(mem(tablesAddr, set.tables.length)).toEqual(ourTables!.bytes);
    for (const c of set.checksums.filter((c) => c.blob === "tables")) expect(sum(mem(tablesAddr + c.start, c.length))).toBe(0);

    // MP 1.4: the floating pointer "_MP_", its configuration table "PCMP"; entry type 3 is an I/O interrupt
    // (type, interrupt type, flags, source bus, source IRQ, destination I/O APIC, destination pin).
    const mpf = find("_MP_");
    expect(mpf).toBeGreaterThan(0);
    const table = u32(mem(mpf, 16), 4);
    const header = mem(table, 44);
    expect(String.fromCharCode(...header.subarray(0, 4))).toBe("PCMP");
    const length = header[4]! | (header[5]! << 8), count = header[34]! | (header[35]! << 8);
    const body = mem(table + 44, length - 44);
    const isaBus: number[] = [], irq0: number[][] = [];
    for (let at = 0, n = 0; n < count; n++) {
      const type = body[at]!;
      if (type === 1 && String.fromCharCode(...body.subarray(at + 2, at + 8)).startsWith("ISA")) isaBus.push(body[at + 1]!);
      if (type === 3 && body[at + 5] === 0) irq0.push([...body.subarray(at, at + 8)]);
      at += type === 0 ? 20 : 8;
    }
    expect(isaBus).toHaveLength(1);
    expect(irq0.filter((e) => e[4] === isaBus[0] && e[1] === 0).map((e) => e[7])).toEqual([2]);
  }, 120_000);
});
