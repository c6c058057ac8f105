/**
 * The archives are read back with a reader written here from the newc
 * format description (Documentation/driver-api/early-userspace/
 * buffer-format.rst and cpio(5)): "070701", 13 × 8 hex digits (ino, mode,
 * uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
 * rdevminor, namesize, check), name + NUL padded to 4 bytes from the header
 * start, data padded to 4, ending with "TRAILER!!!". gzip is checked with
 * node:zlib. st_mode type bits are those of POSIX <sys/stat.h>.
 */
import { describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BUSYBOX_APPLETS, Initramfs, busyboxInitramfs, busyboxLayout, concatInitrds, defaultInitScript, gzip,
} from "../../src/boot/initramfs.js";
import { findCachedImages } from "../../src/node/images.js";
import { runI386 } from "../../src/node/i386.js";

interface Member {
  name: string; ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number;
  devmajor: number; devminor: number; rdevmajor: number; rdevminor: number; check: number; data: Buffer;
}

/** An independent newc reader. Returns the members before the trailer and checks the trailer and padding. */
function readNewc(buf: Uint8Array): Member[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Member[] = [];
  let o = 0;
  for (;;) {
    expect(o % 4).toBe(0);
    const magic = b.toString("latin1", o, o + 6);
    if (magic !== "070701") throw new Error(`bad magic ${JSON.stringify(magic)} at ${o}`);
    const f: number[] = [];
    for (let i = 0; i < 13; i++) {
      const s = b.toString("latin1", o + 6 + i * 8, o + 14 + i * 8);
      expect(s).toMatch(/^[0-9A-Fa-f]{8}$/);
      f.push(parseInt(s, 16));
    }
    const [ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check] = f as [
      number, number, number, number, number, number, number, number, number, number, number, number, number];
    const nameStart = o + 110;
    expect(b[nameStart + namesize - 1]).toBe(0);
    const name = b.toString("utf8", nameStart, nameStart + namesize - 1);
    let p = nameStart + namesize;
    while (p % 4 !== 0) { expect(b[p]).toBe(0); p++; }
    const data = b.subarray(p, p + filesize);
    p += filesize;
    while (p % 4 !== 0) { expect(b[p]).toBe(0); p++; }
    o = p;
    if (name === "TRAILER!!!") {
      expect(filesize).toBe(0);
      expect(o).toBe(b.length);
      return out;
    }
    out.push({ name, ino, mode, uid, gid, nlink, mtime, devmajor, devminor, rdevmajor, rdevminor, check, data });
  }
}

const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;

describe("Initramfs (cpio newc)", () => {
  it("writes directories, files, symlinks and device nodes that read back", () => {
    const bin = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
    const cpio = new Initramfs()
      .dir("/proc", 0o555)
      .file("/init", "#!/bin/sh\necho hi\n", 0o755)
      .file("bin/busybox", bin, 0o755)
      .symlink("/bin/sh", "busybox")
      .node("/dev/console", "c", 5, 1, 0o600)
      .node("/dev/ttyS0", "c", 4, 64, 0o660)
      .node("/dev/sda", "b", 8, 0)
      .node("/run/fifo", "p", 0, 0, 0o644)
      .build();
    const m = readNewc(cpio);
    expect(m.map((e) => e.name)).toEqual(["proc", "init", "bin", "bin/busybox", "bin/sh", "dev", "dev/console", "dev/ttyS0", "dev/sda", "run", "run/fifo"]);
    const by = new Map(m.map((e) => [e.name, e]));
    expect(by.get("proc")!.mode).toBe(S_IFDIR | 0o555);
    expect(by.get("proc")!.nlink).toBe(2);
    expect(by.get("bin")!.mode).toBe(S_IFDIR | 0o755); // created for its child
    expect(by.get("init")!.mode).toBe(S_IFREG | 0o755);
    expect(by.get("init")!.data.toString()).toBe("#!/bin/sh\necho hi\n");
    expect(by.get("init")!.nlink).toBe(1);
    expect(Array.from(by.get("bin/busybox")!.data)).toEqual(Array.from(bin));
    expect(by.get("bin/sh")!.mode).toBe(S_IFLNK | 0o777);
    expect(by.get("bin/sh")!.data.toString()).toBe("busybox");
    expect(by.get("dev/console")!.mode).toBe(S_IFCHR | 0o600);
    expect([by.get("dev/console")!.rdevmajor, by.get("dev/console")!.rdevminor]).toEqual([5, 1]);
    expect([by.get("dev/ttyS0")!.rdevmajor, by.get("dev/ttyS0")!.rdevminor]).toEqual([4, 64]);
    expect(by.get("dev/ttyS0")!.mode).toBe(S_IFCHR | 0o660);
    expect(by.get("dev/sda")!.mode).toBe(S_IFBLK | 0o600);
    expect(by.get("run/fifo")!.mode).toBe(S_IFIFO | 0o644);
    for (const e of m) {
      expect(e.uid).toBe(0);
      expect(e.gid).toBe(0);
      expect(e.mtime).toBe(0);
      expect(e.check).toBe(0);
      expect(e.data.length === 0 || (e.mode & 0o170000) !== S_IFDIR).toBe(true);
    }
    // Inode numbers are distinct and non-zero.
    expect(new Set(m.map((e) => e.ino)).size).toBe(m.length);
    expect(m.every((e) => e.ino > 0)).toBe(true);
  });

  it("pads names and data of every length to 4 bytes", () => {
    const fs = new Initramfs({ mtime: 1700000000 });
    for (let n = 1; n <= 9; n++) fs.file("f".repeat(n), new Uint8Array(n).fill(n), 0o600);
    const m = readNewc(fs.build());
    expect(m).toHaveLength(9);
    m.forEach((e, i) => {
      expect(e.name).toBe("f".repeat(i + 1));
      expect(e.data.length).toBe(i + 1);
      expect(e.data.every((b) => b === i + 1)).toBe(true);
      expect(e.mtime).toBe(1700000000);
    });
  });

  it("normalizes paths, replaces an entry added twice and refuses bad paths", () => {
    const fs = new Initramfs().file("/etc//motd", "a").file("./etc/motd", "b", 0o600).dir("etc", 0o700);
    expect(fs.paths()).toEqual(["etc", "etc/motd"]);
    const m = readNewc(fs.build());
    expect(m[0]!.mode).toBe(S_IFDIR | 0o700);
    expect(m[1]!.data.toString()).toBe("b");
    expect(m[1]!.mode).toBe(S_IFREG | 0o600);
    expect(fs.has("/etc/motd")).toBe(true);
    expect(() => new Initramfs().file("../x", "")).toThrow(/\.\./);
    expect(() => new Initramfs().dir("/")).toThrow(/root/);
    expect(() => new Initramfs().file("a", "").file("a/b", "")).toThrow(/not a directory/);
    expect(() => new Initramfs().symlink("a", "")).toThrow(/empty target/);
  });

  it("an empty archive is just the trailer", () => {
    const cpio = new Initramfs().build();
    expect(readNewc(cpio)).toEqual([]);
    expect(Buffer.from(cpio).toString("latin1", 0, 6)).toBe("070701");
  });

  it("gzips with CompressionStream, and node:zlib gunzips it back", async () => {
    const fs = new Initramfs().file("init", "x".repeat(10000), 0o755).symlink("bin/sh", "busybox");
    const raw = fs.build();
    const gz = await fs.buildGzip();
    expect(gz[0]).toBe(0x1f);
    expect(gz[1]).toBe(0x8b);
    expect(gz.length).toBeLessThan(raw.length);
    expect(Buffer.compare(gunzipSync(gz), Buffer.from(raw))).toBe(0);
    const empty = await gzip(new Uint8Array(0));
    expect(gunzipSync(empty).length).toBe(0);
  });

  it("concatenates initrds on 4-byte boundaries", () => {
    const a = new Uint8Array([1, 2, 3, 4, 5]);
    const b = new Uint8Array([6, 7]);
    const c = concatInitrds([a, b, a]);
    expect(Array.from(c)).toEqual([1, 2, 3, 4, 5, 0, 0, 0, 6, 7, 0, 0, 1, 2, 3, 4, 5]);
  });
});

describe("busybox initramfs", () => {
  const fakeBusybox = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9, 9, 9]);

  it("lays out busybox, applet links, console device nodes and /init", () => {
    const m = readNewc(busyboxInitramfs({
      busybox: fakeBusybox,
      extraFiles: [{ path: "/opt/test/run.sh", data: "echo ok\n", mode: 0o755 }],
    }));
    const by = new Map(m.map((e) => [e.name, e]));
    expect(Array.from(by.get("bin/busybox")!.data)).toEqual(Array.from(fakeBusybox));
    expect(by.get("bin/busybox")!.mode).toBe(S_IFREG | 0o755);
    for (const a of ["sh", "mount", "echo", "cat", "ls", "uname", "md5sum", "sha256sum", "awk", "sort", "gzip", "factor", "poweroff", "reboot", "setsid", "cttyhack"]) {
      const e = by.get(`bin/${a}`);
      expect(e, a).toBeDefined();
      expect(e!.mode).toBe(S_IFLNK | 0o777);
      expect(e!.data.toString()).toBe("busybox");
    }
    expect(by.get("dev/console")!.mode).toBe(S_IFCHR | 0o600);
    expect([by.get("dev/console")!.rdevmajor, by.get("dev/console")!.rdevminor]).toEqual([5, 1]);
    expect([by.get("dev/ttyS0")!.rdevmajor, by.get("dev/ttyS0")!.rdevminor]).toEqual([4, 64]);
    expect([by.get("dev/null")!.rdevmajor, by.get("dev/null")!.rdevminor]).toEqual([1, 3]);
    for (const d of ["proc", "sys", "dev", "bin", "sbin", "usr/bin", "tmp", "root", "etc"]) expect(by.get(d)!.mode & 0o170000).toBe(S_IFDIR);
    expect(by.get("tmp")!.mode).toBe(S_IFDIR | 0o1777);
    const init = by.get("init")!;
    expect(init.mode).toBe(S_IFREG | 0o755);
    const script = init.data.toString();
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toMatch(/mount -t proc proc \/proc/);
    expect(script).toMatch(/mount -t sysfs sysfs \/sys/);
    expect(script).toMatch(/mount -t devtmpfs devtmpfs \/dev/);
    expect(script).toMatch(/^echo 'SYMBIONT-INIT-OK'$/m);
    expect(script).toMatch(/^setsid cttyhack sh$/m);
    expect(script).toMatch(/^poweroff -f$/m);
    expect(by.get("opt/test/run.sh")!.data.toString()).toBe("echo ok\n");
    expect(by.get("opt")!.mode & 0o170000).toBe(S_IFDIR);
    // Every parent comes before its children.
    const seen = new Set<string>();
    for (const e of m) {
      const parent = e.name.includes("/") ? e.name.slice(0, e.name.lastIndexOf("/")) : null;
      if (parent) expect(seen.has(parent), e.name).toBe(true);
      seen.add(e.name);
    }
  });

  it("takes a custom init, marker and commands", () => {
    const custom = readNewc(busyboxInitramfs({ busybox: fakeBusybox, init: "#!/bin/sh\nexec sh\n" }));
    expect(custom.find((e) => e.name === "init")!.data.toString()).toBe("#!/bin/sh\nexec sh\n");
    const s = defaultInitScript({ marker: "it's ready", run: "uname -r; factor 1234567" });
    expect(s).toContain("echo 'it'\\''s ready'");
    expect(s).toMatch(/^uname -r; factor 1234567$/m);
    expect(s).not.toContain("cttyhack");
    expect(busyboxLayout({ busybox: fakeBusybox, applets: ["sh"] }).paths().filter((p) => p.startsWith("bin/"))).toEqual(["bin/busybox", "bin/sh"]);
  });

  it("the default /init is valid sh", () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-init-"));
    try {
      const f = join(dir, "init");
      writeFileSync(f, defaultInitScript());
      execFileSync("sh", ["-n", f]);
      writeFileSync(f, defaultInitScript({ run: "for i in 1 2; do echo $i; done" }));
      execFileSync("sh", ["-n", f]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const cached = findCachedImages();

describe.skipIf(!cached)(`Debian's busybox-static${cached ? "" : " (skipped: images not cached, npm run images)"}`, () => {
  it("has every applet the initramfs links and the default /init uses", () => {
    // busybox --list, natively or under qemu-i386 (src/node/i386.ts: it says what to install when neither runs it).
    const have = new Set(runI386(cached!.busybox, ["--list"]).split("\n").filter(Boolean));
    for (const a of BUSYBOX_APPLETS) expect(have.has(a), a).toBe(true);
    for (const a of ["mount", "mkdir", "hostname", "echo", "setsid", "cttyhack", "sync", "poweroff"]) expect(have.has(a), a).toBe(true);
    const m = readNewc(busyboxInitramfs({ busybox: new Uint8Array(readFileSync(cached!.busybox)) }));
    expect(m.find((e) => e.name === "bin/busybox")!.data.length).toBe(readFileSync(cached!.busybox).length);
  });
});
