import { V86 } from "v86";
import { readFileSync } from "node:fs";
const useBios = process.argv[3] === "bios";
const kernel = readFileSync(process.argv[2]);
const t0 = performance.now();
const opts = {
  wasm_path: new URL("../node_modules/v86/build/v86.wasm", import.meta.url).pathname,
  memory_size: 64 << 20,
  multiboot: { buffer: kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.length) },
  autostart: true,
  disable_speaker: true,
  log_level: 0,
};
if (useBios) {
  const b = readFileSync("/usr/share/seabios/bios.bin"); const v = readFileSync("/usr/share/seabios/vgabios.bin");
  opts.bios = { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) };
  opts.vga_bios = { buffer: v.buffer.slice(v.byteOffset, v.byteOffset + v.length) };
}
const emu = new V86(opts);
let line = "";
emu.add_listener("serial0-output-byte", (b) => {
  const c = String.fromCharCode(b);
  if (c === "\n") { console.log((performance.now() - t0).toFixed(1), JSON.stringify(line)); if (line.startsWith("RESULT")) process.exit(0); line = ""; }
  else line += c;
});
emu.add_listener("emulator-ready", () => console.log("ready", (performance.now() - t0).toFixed(1)));
