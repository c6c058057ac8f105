/**
 * Linux boot protocol expectations come from Documentation/arch/x86/boot.rst
 * (setup header offsets 0x1F1-0x268, "HdrS" at 0x202, setup_sects 0 = 4,
 * LOADED_HIGH = loadflags bit 0, CAN_USE_HEAP bit 7, QUIET_FLAG bit 5, the
 * protected-mode kernel at file offset (setup_sects+1)*512 loaded at
 * 0x100000, initrd_addr_max = highest byte, the 32-bit boot protocol's entry
 * state: __BOOT_CS 0x10 / __BOOT_DS 0x18 flat, ESI = boot_params,
 * EBP = EDI = EBX = 0) and zero-page.rst (alt_mem_k 0x1E0, e820_entries
 * 0x1E8, e820_table 0x2D0 with 20-byte entries, setup header copied to
 * 0x1F1), plus the GDT descriptor encoding of the Intel SDM vol. 3 §3.4.5.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import {
  type GuestPhysicalMemory, isBzImage, loadLinux, parseLinuxHeader, defaultE820,
} from "../../src/boot/linux.js";
import { findCachedImages } from "../../src/node/images.js";
import { busyboxInitramfs } from "../../src/boot/initramfs.js";

const MiB = 0x100000;

class Ram implements GuestPhysicalMemory {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  constructor(readonly size: number, fill = 0xaa) {
    this.bytes = new Uint8Array(size).fill(fill);
    this.dv = new DataView(this.bytes.buffer);
  }
  write(gpa: number, data: Uint8Array): void {
    if (gpa < 0 || gpa + data.length > this.size) throw new Error("write outside RAM");
    this.bytes.set(data, gpa);
  }
  u8(a: number): number { return this.bytes[a]!; }
  u16(a: number): number { return this.dv.getUint16(a, true); }
  u32(a: number): number { return this.dv.getUint32(a, true); }
  str(a: number): string {
    let s = "";
    while (this.bytes[a] !== 0) s += String.fromCharCode(this.bytes[a++]!);
    return s;
  }
}

interface FakeOpts {
  setupSects?: number;
  protocol?: number;
  loadflags?: number;
  pmSize?: number;
  initSize?: number;
  align?: number;
  relocatable?: boolean;
  pref?: number;
  cmdlineSize?: number;
  initrdAddrMax?: number;
  xloadflags?: number;
  magic?: number;
}

/** A synthetic bzImage: boot sector + setup sectors with a setup header, then a recognisable protected-mode part. */
function fakeBzImage(o: FakeOpts = {}): Uint8Array {
  const setupSects = o.setupSects ?? 4;
  const realSects = setupSects === 0 ? 4 : setupSects;
  const pmSize = o.pmSize ?? 0x3000;
  const img = new Uint8Array((realSects + 1) * 512 + pmSize);
  const dv = new DataView(img.buffer);
  // Junk everywhere in the setup area, so that copying too much shows.
  for (let i = 0; i < (realSects + 1) * 512; i++) img[i] = 0x5a;
  img.fill(0, 0, 0x40); // no screen_info-looking junk in the boot sector start either way
  img[0x1ef] = 0xff; // sentinel, as a real bzImage has
  img[0x1f1] = setupSects;
  dv.setUint32(0x1f4, pmSize / 16, true); // syssize
  dv.setUint16(0x1fa, 0xffff, true);
  dv.setUint16(0x1fe, 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = 0x6a; // header ends at 0x26c
  dv.setUint32(0x202, o.magic ?? 0x53726448, true);
  dv.setUint16(0x206, o.protocol ?? 0x020f, true);
  dv.setUint32(0x208, 0, true);
  dv.setUint16(0x20e, 0x200, true); // kernel_version at file offset 0x400
  img[0x210] = 0;
  img[0x211] = o.loadflags ?? 0x01;
  dv.setUint16(0x212, 0x8000, true);
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x218, 0, true);
  dv.setUint32(0x21c, 0, true);
  dv.setUint32(0x220, 0, true);
  dv.setUint16(0x224, 0, true);
  dv.setUint16(0x226, 0, true);
  dv.setUint32(0x228, 0, true);
  dv.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, o.align ?? 0x200000, true);
  img[0x234] = o.relocatable === false ? 0 : 1;
  img[0x235] = 13;
  dv.setUint16(0x236, o.xloadflags ?? 0x4, true);
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setUint32(0x23c, 0, true);
  dv.setUint32(0x240, 0, true);
  dv.setUint32(0x244, 0, true);
  dv.setUint32(0x248, 0x94, true);
  dv.setUint32(0x24c, 0x1000, true);
  dv.setUint32(0x250, 0, true);
  dv.setUint32(0x254, 0, true);
  dv.setUint32(0x258, o.pref ?? 0x400000, true);
  dv.setUint32(0x25c, 0, true);
  dv.setUint32(0x260, o.initSize ?? 0x80000, true);
  dv.setUint32(0x264, 0, true);
  dv.setUint32(0x268, 0, true);
  const ver = new TextEncoder().encode("6.1.0-test (fake) #1\0");
  img.set(ver, 0x400);
  for (let i = 0; i < pmSize; i++) img[(realSects + 1) * 512 + i] = (i * 7 + 3) & 0xff;
  return img;
}

describe("bzImage detection and header", () => {
  it("recognises a bzImage and nothing else", () => {
    expect(isBzImage(fakeBzImage())).toBe(true);
    expect(isBzImage(fakeBzImage({ loadflags: 0 }))).toBe(false);
    expect(isBzImage(fakeBzImage({ magic: 0x12345678 }))).toBe(false);
    expect(isBzImage(new Uint8Array(100))).toBe(false);
    expect(isBzImage(new Uint8Array(4096))).toBe(false);
  });

  it("reads the setup header fields (setup_sects 0 means 4)", () => {
    const h = parseLinuxHeader(fakeBzImage({ setupSects: 0 }));
    expect(h.setupSects).toBe(4);
    expect(h.kernelOffset).toBe(5 * 512);
    expect(h.protocol).toBe(0x020f);
    expect(h.protocolString).toBe("2.15");
    expect(h.headerEnd).toBe(0x26c);
    expect(h.initrdAddrMax).toBe(0x7fffffff);
    expect(h.kernelAlignment).toBe(0x200000);
    expect(h.relocatable).toBe(true);
    expect(h.cmdlineSize).toBe(2047);
    expect(h.prefAddress).toBe(0x400000);
    expect(h.initSize).toBe(0x80000);
    expect(h.kernelVersion).toBe("6.1.0-test (fake) #1");
    const h7 = parseLinuxHeader(fakeBzImage({ setupSects: 7 }));
    expect(h7.kernelOffset).toBe(8 * 512);
  });
});

describe("loadLinux", () => {
  const cmdline = "console=ttyS0 earlyprintk=serial nokaslr";

  it("loads the protected-mode kernel at 1 MiB and returns the 32-bit entry state", () => {
    const img = fakeBzImage({ setupSects: 6 });
    const ram = new Ram(32 * MiB);
    const e = loadLinux(img, ram, { cmdline });
    expect(Array.from(ram.bytes.subarray(0x100000, 0x100000 + 0x3000))).toEqual(Array.from(img.subarray(7 * 512)));
    expect(e.eip).toBe(0x100000);
    expect(e.esi).toBe(e.bootParams);
    expect(e.esi).toBeLessThan(0xa0000);
    expect([e.eax, e.ebx, e.ebp, e.edi]).toEqual([0, 0, 0, 0]);
    expect(e.cs).toBe(0x10);
    expect(e.ds).toBe(0x18);
    // GDT: flat 4 GiB code (execute/read, 32-bit, G=1) at 0x10 and data (read/write) at 0x18.
    expect(e.gdt.limit).toBeGreaterThanOrEqual(0x1f);
    expect(ram.u32(e.gdt.base + 0x10)).toBe(0x0000ffff);
    expect(ram.u32(e.gdt.base + 0x14)).toBe(0x00cf9a00);
    expect(ram.u32(e.gdt.base + 0x18)).toBe(0x0000ffff);
    expect(ram.u32(e.gdt.base + 0x1c)).toBe(0x00cf9200);
    expect(ram.u32(e.gdt.base)).toBe(0);
    expect(ram.u32(e.gdt.base + 4)).toBe(0);
  });

  it("builds boot_params: header copy, loader fields, command line, E820", () => {
    const img = fakeBzImage();
    const ram = new Ram(64 * MiB);
    const e = loadLinux(img, ram, { cmdline });
    const bp = e.bootParams;
    // The setup header is copied from 0x1F1 to its end (0x202 + 0x6A).
    expect(ram.u32(bp + 0x202)).toBe(0x53726448);
    expect(ram.u16(bp + 0x206)).toBe(0x020f);
    expect(ram.u8(bp + 0x1f1)).toBe(4);
    expect(ram.u32(bp + 0x230)).toBe(0x200000);
    expect(ram.u32(bp + 0x260)).toBe(0x80000);
    // ...and nothing else: zero before 0x1F1 (screen_info, sentinel) and after the header.
    expect(ram.bytes.subarray(bp, bp + 0x1e0).every((b) => b === 0)).toBe(true);
    expect(ram.u8(bp + 0x1ef)).toBe(0);
    expect(ram.bytes.subarray(bp + 0x26c, bp + 0x2d0).every((b) => b === 0)).toBe(true);
    // Loader-written fields.
    expect(ram.u16(bp + 0x1fa)).toBe(0xffff); // vid_mode "normal"
    expect(ram.u8(bp + 0x210)).toBe(0xff); // type_of_loader: undefined
    expect(ram.u8(bp + 0x211) & 0x01).toBe(0x01); // LOADED_HIGH kept
    expect(ram.u8(bp + 0x211) & 0x80).toBe(0); // no real-mode heap in the 32-bit protocol
    expect(ram.u8(bp + 0x211) & 0x20).toBe(0); // not quiet
    expect(ram.u32(bp + 0x214)).toBe(0x100000); // code32_start
    expect(ram.u32(bp + 0x218)).toBe(0); // no initrd
    expect(ram.u32(bp + 0x21c)).toBe(0);
    const cmdPtr = ram.u32(bp + 0x228);
    expect(cmdPtr).toBe(e.cmdline.addr);
    expect(cmdPtr).toBeLessThan(0xa0000);
    expect(ram.str(cmdPtr)).toBe(cmdline);
    expect(e.cmdline.length).toBe(cmdline.length);
    expect(ram.u32(bp + 0x1e0)).toBe((64 * MiB - MiB) / 1024); // alt_mem_k
    // E820: 4 entries at 0x2D0, 20 bytes each (addr u64, size u64, type u32).
    expect(ram.u8(bp + 0x1e8)).toBe(4);
    const entry = (i: number) => {
      const o = bp + 0x2d0 + 20 * i;
      return [ram.u32(o) + ram.u32(o + 4) * 2 ** 32, ram.u32(o + 8) + ram.u32(o + 12) * 2 ** 32, ram.u32(o + 16)];
    };
    expect([0, 1, 2, 3].map(entry)).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, 63 * MiB, 1],
    ]);
    expect(ram.bytes.subarray(bp + 0x2d0 + 80, bp + 0x2d0 + 100).every((b) => b === 0)).toBe(true);
    expect(e.e820).toEqual(defaultE820(64 * MiB));
  });

  it("places the initrd page-aligned as high as possible in RAM", () => {
    const ram = new Ram(64 * MiB);
    const initrd = new Uint8Array(12345).map((_, i) => (i * 13) & 0xff);
    const e = loadLinux(fakeBzImage(), ram, { cmdline: "", initrd });
    const addr = ram.u32(e.bootParams + 0x218);
    expect(ram.u32(e.bootParams + 0x21c)).toBe(12345);
    expect(e.initrd).toEqual({ addr, size: 12345 });
    expect(addr % 4096).toBe(0);
    expect(addr + 12345).toBeLessThanOrEqual(64 * MiB);
    expect(64 * MiB - (addr + 12345)).toBeLessThan(4096);
    expect(Array.from(ram.bytes.subarray(addr, addr + 12345))).toEqual(Array.from(initrd));
    expect(ram.str(ram.u32(e.bootParams + 0x228))).toBe("");
  });

  it("keeps the initrd below initrd_addr_max", () => {
    const ram = new Ram(64 * MiB);
    const e = loadLinux(fakeBzImage({ initrdAddrMax: 0x01ffffff }), ram, { cmdline: "", initrd: new Uint8Array(5000) });
    expect(e.initrd!.addr + 5000).toBeLessThanOrEqual(0x02000000);
    expect(e.initrd!.addr).toBe(0x02000000 - 8192);
  });

  it("accounts for where a relocatable kernel decompresses (pref_address + init_size)", () => {
    const h = { pref: 0x1000000, align: 0x1000000, initSize: 0x100c000 };
    const ram = new Ram(40 * MiB);
    const e = loadLinux(fakeBzImage(h), ram, { cmdline: "" });
    expect(e.kernel.runtimeStart).toBe(0x1000000);
    expect(e.kernel.runtimeEnd).toBe(0x200c000);
    expect(() => loadLinux(fakeBzImage(h), new Ram(32 * MiB), { cmdline: "" })).toThrow(
      /^kernel does not fit into RAM: .*at least 33 MiB$/,
    );
    // An initrd must not overlap that range.
    expect(() => loadLinux(fakeBzImage(h), new Ram(33 * MiB), { cmdline: "", initrd: new Uint8Array(2 * MiB) })).toThrow(
      /^initrd does not fit into RAM/,
    );
    // A kernel that is not relocatable runs at pref_address.
    const n = loadLinux(fakeBzImage({ ...h, relocatable: false }), new Ram(40 * MiB), { cmdline: "" });
    expect(n.kernel.runtimeStart).toBe(0x1000000);
  });

  it("sets QUIET_FLAG and type_of_loader on request, and takes a custom E820 map", () => {
    const ram = new Ram(32 * MiB);
    const e820 = [{ addr: 0, size: 0xa0000, type: 1 }, { addr: MiB, size: 15 * MiB, type: 1 }, { addr: 16 * MiB, size: 16 * MiB, type: 2 }];
    const e = loadLinux(fakeBzImage(), ram, { cmdline: "x", quiet: true, typeOfLoader: 0xb0, e820, initrd: new Uint8Array(100) });
    expect(ram.u8(e.bootParams + 0x211)).toBe(0x21);
    expect(ram.u8(e.bootParams + 0x210)).toBe(0xb0);
    expect(ram.u8(e.bootParams + 0x1e8)).toBe(3);
    // The initrd goes to the top of the usable region, not of guest RAM.
    expect(e.initrd!.addr).toBe(16 * MiB - 4096);
  });

  it("fails with one-line errors", () => {
    const ram = new Ram(32 * MiB);
    const one = (f: () => unknown) => {
      try { f(); } catch (err) { const m = (err as Error).message; expect(m).not.toContain("\n"); return m; }
      throw new Error("did not throw");
    };
    expect(one(() => loadLinux(new Uint8Array(8192), ram, { cmdline: "" }))).toMatch(/^not a Linux bzImage: no "HdrS"/);
    expect(one(() => loadLinux(new Uint8Array(16), ram, { cmdline: "" }))).toMatch(/^not a Linux bzImage/);
    expect(one(() => loadLinux(fakeBzImage({ protocol: 0x0205 }), ram, { cmdline: "" }))).toMatch(/protocol 2\.05 is too old/);
    expect(one(() => loadLinux(fakeBzImage({ loadflags: 0 }), ram, { cmdline: "" }))).toMatch(/LOADED_HIGH/);
    expect(one(() => loadLinux(fakeBzImage({ xloadflags: 0x1 }), ram, { cmdline: "" }))).toMatch(/64-bit/);
    expect(one(() => loadLinux(fakeBzImage({ cmdlineSize: 16 }), ram, { cmdline: "x".repeat(17) }))).toMatch(
      /^kernel command line is too long: 17 bytes, this kernel accepts at most 16$/,
    );
    // Exactly cmdline_size characters is fine.
    expect(() => loadLinux(fakeBzImage({ cmdlineSize: 16 }), ram, { cmdline: "x".repeat(16) })).not.toThrow();
    expect(one(() => loadLinux(fakeBzImage({ pmSize: 0x100000 }), new Ram(2 * MiB), { cmdline: "" }))).toMatch(/^kernel does not fit into RAM/);
    expect(one(() => loadLinux(fakeBzImage(), ram, { cmdline: "", initrd: new Uint8Array(32 * MiB) }))).toMatch(/^initrd does not fit into RAM/);
    // syssize (paragraphs of protected-mode code) says how much must follow the setup.
    const whole = fakeBzImage({ pmSize: 0x3000 });
    expect(one(() => loadLinux(whole.subarray(0, whole.length - 16), ram, { cmdline: "" }))).toMatch(
      /^Linux bzImage is truncated: its setup header says 12288 bytes of kernel follow the 2560-byte setup, the file has 12272$/,
    );
  });
});

const cached = findCachedImages();

describe.skipIf(!cached)("Debian's kernel (cached by npm run images)", () => {
  it("has the header this loader expects and loads with a busybox initramfs", () => {
    const img = new Uint8Array(readFileSync(cached!.kernel));
    expect(isBzImage(img)).toBe(true);
    const h = parseLinuxHeader(img);
    expect(h.protocol).toBeGreaterThanOrEqual(0x020f);
    expect(h.kernelVersion!.startsWith(cached!.version)).toBe(true);
    expect(h.relocatable).toBe(true);
    expect(h.xloadflags & 1).toBe(0);
    const initrd = busyboxInitramfs({ busybox: new Uint8Array(readFileSync(cached!.busybox)) });
    const ram = new Ram(128 * MiB, 0);
    const e = loadLinux(img, ram, { cmdline: "console=ttyS0", initrd });
    expect(e.kernel.runtimeStart).toBe(h.prefAddress);
    expect(e.initrd!.addr).toBeGreaterThanOrEqual(e.kernel.runtimeEnd);
    expect(e.initrd!.addr + initrd.length).toBeLessThanOrEqual(128 * MiB);
    // A truncated copy is refused before anything runs (it used to triple-fault).
    expect(() => loadLinux(img.subarray(0, img.length - 100_000), ram, { cmdline: "" })).toThrow(/^Linux bzImage is truncated/);
    // The 686 kernel needs more than 16 MiB (it runs at 16 MiB): 24 MiB is refused with a size hint.
    expect(() => loadLinux(img, new Ram(24 * MiB, 0), { cmdline: "" })).toThrow(/at least \d+ MiB/);
  });
});
