/**
 * The oracle for the Linux loader: QEMU's CPU runs Debian's kernel from
 * exactly the memory and entry state that loadLinux() produces.
 *
 * QEMU's own -kernel loader would build its own boot_params, so instead the
 * test hands QEMU a Multiboot ELF whose segments are the loader's writes
 * above 1 MiB (kernel, initrd) plus a small stub. The stub copies the
 * loader's low-memory writes (boot_params, GDT, command line) into place —
 * they cannot be ELF segments because QEMU's Multiboot option ROM copies the
 * ELF as one block and would overwrite itself below 1 MiB — then loads the
 * loader's GDT, sets CS = 0x10, DS = ES = FS = GS = SS = 0x18,
 * ESI = boot_params, EAX = EBX = EBP = EDI = 0, and jumps to the entry.
 *
 * Runs when qemu-system-i386 is installed and `npm run images` has cached
 * the kernel and busybox; skipped otherwise.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLinux } from "../../src/boot/linux.js";
import { busyboxInitramfs, gzip } from "../../src/boot/initramfs.js";
import { findCachedImages } from "../../src/node/images.js";

const STUB = 0x900000;
/**
 * nasm -f bin, org 0x900000:
 *   dd 0x1BADB002, 0, -(0x1BADB002)        ; Multiboot header, flags 0
 *   cld
 *   mov ebx, 0x900090                      ; table of {len, dst, src}, len 0 ends
 * .loop: mov ecx, [ebx] / test ecx, ecx / jz .done
 *   mov edi, [ebx+4] / mov esi, [ebx+8] / rep movsb / add ebx, 12 / jmp .loop
 * .done: lgdt [0x900088] / jmp 0x10:.cs
 * .cs: mov ax, 0x18 / mov ds, ax / mov es, ax / mov fs, ax / mov gs, ax / mov ss, ax
 *   mov esi, [0x900080] / mov ecx, [0x900084]
 *   xor eax, eax / xor ebx, ebx / xor ebp, ebp / xor edi, edi / jmp ecx
 */
const STUB_CODE = [
  0x02, 0xb0, 0xad, 0x1b, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x4f, 0x52, 0xe4, 0xfc, 0xbb, 0x90, 0x00, 0x90, 0x00, 0x8b, 0x0b,
  0x85, 0xc9, 0x74, 0x0d, 0x8b, 0x7b, 0x04, 0x8b, 0x73, 0x08, 0xf3, 0xa4, 0x83, 0xc3, 0x0c, 0xeb, 0xed, 0x0f, 0x01, 0x15,
  0x88, 0x00, 0x90, 0x00, 0xea, 0x33, 0x00, 0x90, 0x00, 0x10, 0x00, 0x66, 0xb8, 0x18, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e,
  0xe0, 0x8e, 0xe8, 0x8e, 0xd0, 0x8b, 0x35, 0x80, 0x00, 0x90, 0x00, 0x8b, 0x0d, 0x84, 0x00, 0x90, 0x00, 0x31, 0xc0, 0x31,
  0xdb, 0x31, 0xed, 0x31, 0xff, 0xff, 0xe1,
];
const STUB_ENTRY = STUB + 12;

interface Write { gpa: number; data: Uint8Array }

/** The stub segment: code, entry parameters at +0x80, GDTR at +0x88, copy table at +0x90, then the low blobs. */
function stubSegment(low: Write[], esi: number, eip: number, gdt: { base: number; limit: number }): Uint8Array {
  const tableAt = 0x90;
  let blobAt = tableAt + 12 * (low.length + 1);
  const size = low.reduce((n, w) => n + w.data.length, blobAt);
  const seg = new Uint8Array(size);
  const dv = new DataView(seg.buffer);
  seg.set(STUB_CODE, 0);
  dv.setUint32(0x80, esi, true);
  dv.setUint32(0x84, eip, true);
  dv.setUint16(0x88, gdt.limit, true);
  dv.setUint32(0x8a, gdt.base, true);
  low.forEach((w, i) => {
    dv.setUint32(tableAt + 12 * i, w.data.length, true);
    dv.setUint32(tableAt + 12 * i + 4, w.gpa, true);
    dv.setUint32(tableAt + 12 * i + 8, STUB + blobAt, true);
    seg.set(w.data, blobAt);
    blobAt += w.data.length;
  });
  return seg;
}

/** An ELF32 i386 executable with one PT_LOAD per segment (paddr = vaddr), the first segment first in the file. */
function elf32(segments: Write[], entry: number): Uint8Array {
  const phoff = 52;
  let off = (phoff + 32 * segments.length + 15) & ~15;
  const offsets = segments.map((s) => { const o = off; off = (off + s.data.length + 15) & ~15; return o; });
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, entry, true);
  dv.setUint32(28, phoff, true);
  dv.setUint16(40, 52, true);
  dv.setUint16(42, 32, true);
  dv.setUint16(44, segments.length, true);
  dv.setUint16(46, 40, true);
  segments.forEach((s, i) => {
    const p = phoff + 32 * i;
    dv.setUint32(p, 1, true); // PT_LOAD
    dv.setUint32(p + 4, offsets[i]!, true);
    dv.setUint32(p + 8, s.gpa, true);
    dv.setUint32(p + 12, s.gpa, true);
    dv.setUint32(p + 16, s.data.length, true);
    dv.setUint32(p + 20, s.data.length, true);
    dv.setUint32(p + 24, 7, true);
    dv.setUint32(p + 28, 16, true);
    out.set(s.data, offsets[i]!);
  });
  return out;
}

function hasQemu(): boolean {
  try {
    execFileSync("qemu-system-i386", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * QEMU's serial output (and its stderr). The serial port writes to a file: on a loaded machine QEMU drops what it
 * cannot write into a full pipe ("BIOS-em 0x…" for "BIOS-e820: [mem 0x…"), and a file never fills.
 */
function runQemu(elfPath: string, serialPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const q = spawn("qemu-system-i386", [
      "-machine", "pc", "-accel", "tcg", "-cpu", "pentium2", "-m", "128",
      "-display", "none", "-monitor", "none", "-serial", `file:${serialPath}`, "-no-reboot", "-kernel", elfPath,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    q.stderr.on("data", (c: Buffer) => { err += c.toString("latin1"); });
    const timer = setTimeout(() => q.kill("SIGKILL"), timeoutMs);
    q.on("close", () => { clearTimeout(timer); resolve(readFileSync(serialPath, "latin1") + err); });
  });
}

const cached = findCachedImages();
const RAM = 120 << 20; // below QEMU's 128 MiB: its Multiboot info goes after the ELF

describe.skipIf(!cached || !hasQemu())("loadLinux under QEMU (Debian's kernel + busybox initramfs)", () => {
  it("boots to the initramfs /init and runs commands on ttyS0", { timeout: 200_000 }, async () => {
    const writes: Write[] = [];
    const mem = { size: RAM, write: (gpa: number, data: Uint8Array) => { writes.push({ gpa, data: data.slice() }); } };
    const initrd = await gzip(busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(cached!.busybox)),
      run: "uname -r; factor 1234567; cat /proc/cmdline",
    }));
    const cmdline = "console=ttyS0 panic=-1 nokaslr";
    const e = loadLinux(new Uint8Array(readFileSync(cached!.kernel)), mem, { cmdline, initrd });
    expect(e.kernel.addr + e.kernel.size).toBeLessThan(STUB);
    const low = writes.filter((w) => w.gpa < 0x100000);
    const high = writes.filter((w) => w.gpa >= 0x100000);
    const elf = elf32([{ gpa: STUB, data: stubSegment(low, e.esi, e.eip, e.gdt) }, ...high], STUB_ENTRY);

    const dir = mkdtempSync(join(tmpdir(), "symbiont-qemu-"));
    let out: string;
    try {
      writeFileSync(join(dir, "linux.elf"), elf);
      out = await runQemu(join(dir, "linux.elf"), join(dir, "serial.txt"), 150_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const lines = out.split(/\r?\n/);
    expect(out).toContain(`Kernel command line: ${cmdline}`);
    // The E820 map as the kernel read it from boot_params.
    expect(out).toContain("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable");
    expect(out).toContain("BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved");
    expect(out).toContain("BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved");
    expect(out).toContain(`BIOS-e820: [mem 0x0000000000100000-0x${(RAM - 1).toString(16).padStart(16, "0")}] usable`);
    const rd = e.initrd!;
    const pageEnd = Math.ceil((rd.addr + rd.size) / 4096) * 4096 - 1;
    expect(out).toContain(`RAMDISK: [mem 0x${rd.addr.toString(16).padStart(8, "0")}-0x${pageEnd.toString(16).padStart(8, "0")}]`);
    // All-zero screen_info: no VGA console.
    expect(out).toContain("Console: colour dummy device");
    expect(lines).toContain("SYMBIONT-INIT-OK");
    expect(lines).toContain(cached!.version);
    expect(lines).toContain("1234567: 127 9721");
    expect(lines).toContain(cmdline);
    expect(out).toContain("reboot: Power down");
  });
});
