// The VGA's pictures against QEMU's: tests/kernels/vgagfx.asm sets the 256-colour mode 13h from the register tables
// (then moves the CRTC's start address and changes DAC entries), three Bochs VBE modes (640×480×32, 800×600×16,
// 320×240×8 through the DAC), the planar 16-colour modes 12h (a band of rows per write mode, set/reset, rotation,
// logical function, bit mask and latch copy, and the planes read back through read modes 0 and 1) and 0Dh (with a
// colour plane masked off), and the unchained 256-colour "mode X", without a BIOS; it draws a test picture in each
// and waits at a READY line. QEMU
// (-device isa-vga) runs it and its monitor's screendump saves each picture; ours must be the same, pixel for pixel,
// on both engines — and the kernel's serial output (the VBE registers it reads back) must be QEMU's. QEMU draws mode
// 13h doubled (640×400 for 320×200): each of our pixels is checked against the 2×2 block. DAC colours are compared
// as the DAC's 6-bit values: QEMU widens them to 8 bits its own way (0x15 → 0x57), we scale them (0x15 → 0x55).
// The monitor's screendump writes the same PPM file as QEMU's, byte for byte, where QEMU draws at the mode's own
// size and without a DAC (640×480×32). Skipped, saying so, without qemu-system-i386 (CI has it).
import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { createConnection } from "node:net";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import type { VgaScreen } from "../../src/devices/vga/vga.js";
import { Monitor } from "../../src/vmm/monitor.js";
import { ENGINES } from "../helpers.js";

const KERNEL = new URL("../kernels/bin/vgagfx.elf", import.meta.url).pathname;
const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
const skip = !haveQemu && !process.env.SYMBIONT_REQUIRE_IMAGES ? " (skipped: no qemu-system-i386)" : "";
const STAGES = ["mode13h", "mode13h-scroll", "bga32", "bga16", "bga8", "mode12h", "mode0dh", "modex"];
/** Stages whose colours come from the DAC (compared as 6-bit values). */
const THROUGH_DAC = new Set(["mode13h", "mode13h-scroll", "bga8", "mode12h", "mode0dh", "modex"]);

interface Picture { width: number; height: number; rgb: Uint8Array; file: Uint8Array }

function parsePpm(bytes: Uint8Array): Picture {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(Buffer.from(bytes.subarray(0, 32)).toString("latin1"));
  if (!header) throw new Error("not a binary PPM");
  const width = Number(header[1]), height = Number(header[2]);
  return { width, height, rgb: bytes.subarray(header[0].length, header[0].length + width * height * 3), file: bytes };
}

/** QEMU's serial output and its screendump at each READY line. */
async function underQemu(): Promise<{ serial: string; pictures: Map<string, Picture> }> {
  const dir = mkdtempSync(join(tmpdir(), "symbiont-vgagfx-"));
  const pictures = new Map<string, Picture>();
  try {
    const socket = join(dir, "monitor.sock");
    const serial = await new Promise<string>((resolve) => {
      const q = spawn("qemu-system-i386", ["-nodefaults", "-display", "none", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
        "-device", "isa-vga", "-monitor", `unix:${socket},server=on,wait=off`, "-kernel", KERNEL]);
      let out = "", seen = 0;
      const dump = async (name: string) => {
        const file = join(dir, `${name}.ppm`);
        const monitor = createConnection(socket);
        monitor.write(`screendump "${file}"\n`);
        const complete = () => {
          if (!existsSync(file) || statSync(file).size < 16) return false;
          const p = parsePpm(new Uint8Array(readFileSync(file)));
          return p.rgb.length === p.width * p.height * 3;
        };
        for (let i = 0; i < 200 && !complete(); i++) await new Promise((r) => setTimeout(r, 50));
        monitor.end();
        pictures.set(name, parsePpm(new Uint8Array(readFileSync(file))));
        q.stdin.write(" ");
      };
      q.stdout.on("data", (d: Buffer) => {
        out += d.toString("latin1");
        const ready = [...out.matchAll(/^READY (\S+)\r?\n/gm)];
        for (; seen < ready.length; seen++) void dump(ready[seen]![1]!);
      });
      const timer = setTimeout(() => q.kill(), 60_000);
      q.on("close", () => { clearTimeout(timer); resolve(out); });
    });
    return { serial, pictures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our serial output and our screen at each READY line (a byte typed after each, as the QEMU run does). */
async function underSymbiont(engine: "wasm" | "js"): Promise<{ serial: string; screens: Map<string, VgaScreen>; dumps: Map<string, Uint8Array> }> {
  const ram = 32 << 20;
  const screens = new Map<string, VgaScreen>(), dumps = new Map<string, Uint8Array>();
  const monitor = (pc: Pc) => new Monitor(pc.vm, { screen: () => pc.vga!.screen(), saveFile: (path, bytes) => dumps.set(path, bytes) });
  let serial = "", line = "", owed = 0;
  const pc: Pc = new Pc({
    engine: await createEngine(engine, ram), ramBytes: ram, vga: true,
    onSerial: (b) => {
      serial += String.fromCharCode(b);
      if (b !== 10) { line += String.fromCharCode(b); return; }
      const ready = /^READY (\S+)\r?$/.exec(line);
      if (ready) {
        screens.set(ready[1]!, pc.vga!.screen());
        monitor(pc).execute(`screendump ${ready[1]}.ppm`);
        owed++;
      }
      line = "";
    },
  });
  pc.loadKernel(new Uint8Array(readFileSync(KERNEL)), { path: KERNEL });
  for (let i = 0; i < 400 && pc.exitStatus === null; i++) {
    pc.vm.run(5_000_000);
    for (; owed > 0; owed--) pc.uart.receive(Uint8Array.of(0x20));
  }
  return { serial, screens, dumps };
}

/** Pixels of ours that differ from QEMU's (QEMU's scaled by a whole factor; DAC colours as 6-bit values). */
function differences(ours: VgaScreen | undefined, theirs: Picture, dac: boolean): string[] {
  if (ours?.kind !== "pixels") return [`our screen is ${ours?.kind ?? "missing"}`];
  const sx = theirs.width / ours.width, sy = theirs.height / ours.height;
  if (!Number.isInteger(sx) || !Number.isInteger(sy)) return [`${ours.width}×${ours.height} against QEMU's ${theirs.width}×${theirs.height}`];
  const out: string[] = [];
  const same = (a: number, b: number) => (dac ? a >> 2 === b >> 2 : a === b);
  for (let y = 0; y < ours.height && out.length < 5; y++) {
    for (let x = 0; x < ours.width && out.length < 5; x++) {
      const o = (y * ours.width + x) * 3;
      const block = Array.from({ length: sx * sy }, (_, i) => ((y * sy + Math.floor(i / sx)) * theirs.width + x * sx + (i % sx)) * 3);
      const t = block.find((t) => ![0, 1, 2].every((c) => same(ours.rgb[o + c]!, theirs.rgb[t + c]!)));
      if (t !== undefined) out.push(`(${x}, ${y}): ours ${Array.from(ours.rgb.subarray(o, o + 3))}, QEMU's ${Array.from(theirs.rgb.subarray(t, t + 3))}`);
    }
  }
  return out;
}

describe("the VGA's graphics modes", () => {
  it.runIf(haveQemu || !!process.env.SYMBIONT_REQUIRE_IMAGES)(`draw mode 13h and VBE modes as QEMU's isa-vga does, on both engines${skip}`, async () => {
    const theirs = await underQemu();
    expect([...theirs.pictures.keys()]).toEqual(STAGES);
    expect(theirs.serial).toContain("vgagfx done");
    for (const engine of ENGINES) {
      const ours = await underSymbiont(engine);
      expect(ours.serial, engine).toBe(theirs.serial);
      for (const stage of STAGES) {
        expect(differences(ours.screens.get(stage), theirs.pictures.get(stage)!, THROUGH_DAC.has(stage)), `${stage} on ${engine}`).toEqual([]);
      }
      expect(Buffer.compare(ours.dumps.get("bga32.ppm")!, theirs.pictures.get("bga32")!.file), "screendump of bga32").toBe(0);
    }
  }, 180_000);
});
