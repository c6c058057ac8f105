/**
 * Kernel modules without depmod (src/boot/kmod.ts). Oracles: kmod's own
 * depmod(8) run on the same module files (Debian package kmod; the test
 * skips that comparison, saying so, without it), modules.dep(5)'s format,
 * and the ELF section layout of the System V ABI for a hand-made module.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  DRIVER_MODULES, driverModules, generateModulesDep, moduleInfo, modulesLoadOrder, parseModulesDep, readModinfo,
} from "../../src/boot/kmod.js";
import { cachedModules, findCachedImages } from "../../src/node/images.js";
import { busyboxLayout } from "../../src/boot/initramfs.js";

/** A minimal ELF32 relocatable file with a .modinfo section holding `strings`. */
function fakeKo(strings: string[]): Uint8Array {
  const enc = new TextEncoder();
  const modinfo = enc.encode(strings.map((s) => s + "\0").join(""));
  const shstr = enc.encode("\0.modinfo\0.shstrtab\0");
  const shoff = 52 + modinfo.length + shstr.length;
  const buf = new Uint8Array(shoff + 3 * 40);
  const dv = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  dv.setUint16(16, 1, true); // ET_REL
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(0x20, shoff, true);
  dv.setUint16(0x2e, 40, true);
  dv.setUint16(0x30, 3, true);
  dv.setUint16(0x32, 2, true);
  buf.set(modinfo, 52);
  buf.set(shstr, 52 + modinfo.length);
  const sh = (i: number, name: number, off: number, size: number) => {
    dv.setUint32(shoff + i * 40, name, true);
    dv.setUint32(shoff + i * 40 + 4, i === 2 ? 3 : 1, true);
    dv.setUint32(shoff + i * 40 + 16, off, true);
    dv.setUint32(shoff + i * 40 + 20, size, true);
  };
  sh(1, 1, 52, modinfo.length);
  sh(2, 10, 52 + modinfo.length, shstr.length);
  return buf;
}

describe("kernel modules", () => {
  it("reads .modinfo key=value strings from an ELF module", () => {
    const ko = fakeKo(["license=GPL", "depends=virtio,virtio_ring", "alias=virtio:d00000002v*", "name=virtio_blk"]);
    expect(readModinfo(ko)).toEqual([["license", "GPL"], ["depends", "virtio,virtio_ring"], ["alias", "virtio:d00000002v*"], ["name", "virtio_blk"]]);
    expect(moduleInfo("kernel/drivers/block/virtio_blk.ko", ko).depends).toEqual(["virtio", "virtio_ring"]);
    expect(() => readModinfo(new Uint8Array(100))).toThrow(/not an ELF/);
  });

  it("writes modules.dep with the transitive dependencies, each before its own, and loads them in reverse", () => {
    const dep = generateModulesDep([
      { path: "kernel/b/blk.ko", depends: ["ring", "core"] },
      { path: "kernel/v/core.ko", depends: ["ring"] },
      { path: "kernel/v/ring.ko", depends: [] },
      { path: "kernel/x/virtio-rng.ko", depends: ["core"] },
    ]);
    expect(dep).toBe(
      "kernel/b/blk.ko: kernel/v/core.ko kernel/v/ring.ko\n" +
      "kernel/v/core.ko: kernel/v/ring.ko\n" +
      "kernel/v/ring.ko:\n" +
      "kernel/x/virtio-rng.ko: kernel/v/core.ko kernel/v/ring.ko\n",
    );
    expect(modulesLoadOrder(dep, ["virtio_rng", "blk"])).toEqual(["kernel/v/ring.ko", "kernel/v/core.ko", "kernel/x/virtio-rng.ko", "kernel/b/blk.ko"]);
    expect(() => modulesLoadOrder(dep, ["nope"])).toThrow(/no kernel module "nope"/);
    expect(() => generateModulesDep([{ path: "kernel/a.ko", depends: ["gone"] }])).toThrow(/a depends on gone/);
  });

  it("puts modules and an insmod line per module, in order, into the initramfs", () => {
    const fs = busyboxLayout({
      busybox: new Uint8Array(4),
      modules: { release: "6.1.0-9-686", files: [{ path: "kernel/v/ring.ko", data: new Uint8Array(3) }, { path: "kernel/b/blk.ko", data: new Uint8Array(5) }], modulesDep: "kernel/b/blk.ko: kernel/v/ring.ko\nkernel/v/ring.ko:\n" },
    });
    expect(fs.has("lib/modules/6.1.0-9-686/kernel/b/blk.ko")).toBe(true);
    expect(fs.has("lib/modules/6.1.0-9-686/modules.dep")).toBe(true);
    const init = new TextDecoder().decode(fs.build());
    const a = init.indexOf("insmod '/lib/modules/6.1.0-9-686/kernel/v/ring.ko'");
    const b = init.indexOf("insmod '/lib/modules/6.1.0-9-686/kernel/b/blk.ko'");
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    expect(init.indexOf("SYMBIONT-INIT-OK")).toBeGreaterThan(b);
  });

  const images = findCachedImages();
  const depmod = ["/usr/sbin/depmod", "/sbin/depmod"].find((p) => spawnSync(p, ["--version"]).status === 0);
  it.skipIf(!images || !depmod)(`agrees with kmod's depmod on Debian's driver modules${!images ? " (skipped: images not cached)" : !depmod ? " (skipped: no depmod; apt-get install kmod)" : ""}`, () => {
    const all = Object.keys(DRIVER_MODULES) as (keyof typeof DRIVER_MODULES)[];
    const mods = cachedModules(images!, driverModules(all));
    const tmp = mkdtempSync(join(tmpdir(), "symbiont-depmod-"));
    try {
      const root = join(tmp, "lib/modules", mods.release);
      for (const f of mods.files) {
        mkdirSync(dirname(join(root, f.path)), { recursive: true });
        copyFileSync(join(images!.modules, f.path), join(root, f.path));
      }
      const r = spawnSync(depmod!, ["-b", tmp, mods.release], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const theirs = parseModulesDep(readFileSync(join(root, "modules.dep"), "utf8"));
      const ours = parseModulesDep(generateModulesDep(mods.files.map((f) => moduleInfo(f.path, f.data))));
      expect([...ours.keys()].sort()).toEqual([...theirs.keys()].sort());
      for (const [name, m] of ours) {
        expect(new Set(m.needs), name).toEqual(new Set(theirs.get(name)!.needs));
        // Each listed module comes before the modules it needs itself.
        m.needs.forEach((p, i) => {
          for (const q of ours.get(p.replace(/^.*\//, "").replace(/\.ko$/, "").replace(/-/g, "_"))!.needs) expect(m.needs.indexOf(q)).toBeGreaterThan(i);
        });
      }
      // The cached tree's own modules.dep (generated by npm run images) says the same for these modules.
      expect(mods.modulesDep).toBe(generateModulesDep(mods.files.map((f) => moduleInfo(f.path, f.data))).split("\n").filter(Boolean).map((l) => l + "\n").join(""));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
