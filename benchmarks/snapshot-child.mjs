// One snapshot measurement in its own process, for benchmarks/snapshot.mjs:
//   node benchmarks/snapshot-child.mjs SYSTEM BZIMAGE INITRD MEM_MIB TIMEOUT_S
// SYSTEM is wasm (Symbiont: Pc.saveSnapshot / loadSnapshot) or v86 (the npm package: save_state / restore_state).
// Linux boots to its first shell prompt; the machine is saved; a new machine is made as the first was (v86: a new
// V86 with the same images, not started) and the snapshot restored into it; a line is typed, and the time until the
// restored guest answers it is taken. Host clock, wall times. Prints one line "LINUXJSON {...}".
import { readFileSync } from "node:fs";
import { CMDLINE, SerialScanner } from "./linux-guest.mjs";
import { v86BiosMissing, v86ForLinux } from "./v86-linux.mjs";

const [system, kernelPath, initrdPath, memArg, timeoutArg] = process.argv.slice(2);
const ramBytes = Number(memArg) * 1024 * 1024;
const timeoutMs = Number(timeoutArg ?? 600) * 1000;
/** Typed into the restored guest; the shell's answer (the expansion, not the echo of the line) ends the measurement. */
const PROBE = "echo RESTORED-$((6*7))\n", ANSWER = "RESTORED-42";
const images = () => ({ kernel: new Uint8Array(readFileSync(kernelPath)), initrd: new Uint8Array(readFileSync(initrdPath)) });

function finish(result) { process.stdout.write(`LINUXJSON ${JSON.stringify(result)}\n`); process.exit(0); }
let tail = "";
const timer = setTimeout(() => finish({ system, error: `timed out after ${timeoutMs / 1000} s`, serialTail: tail.slice(-600) }), timeoutMs);
const ms = (a, b) => +(b - a).toFixed(1);

if (system === "wasm") await runSymbiont();
else if (system === "v86") await runV86();
else { process.stderr.write(`snapshot-child: unknown system ${system}\n`); process.exit(2); }

async function runSymbiont() {
  const { Pc } = await import("../dist/index.js");
  const { createEngine } = await import("../dist/node/engines.js");
  let out = "";
  const make = async () => new Pc({ engine: await createEngine("wasm", ramBytes), ramBytes, rng: true, onSerial: (b) => { out += String.fromCharCode(b); tail += String.fromCharCode(b); scanner.byte(b); } });
  let atPrompt = false;
  const scanner = new SerialScanner(() => performance.now(), { onPrompt: () => { atPrompt = true; } });
  const until = async (pc, done, input = []) => {
    while (!done()) {
      const stop = pc.vm.run(1_000_000);
      if (input.length > 0) pc.uart.receive(input.splice(0, pc.uart.receiveSpace)); // (as typed: the UART's FIFO at a time)
      if (stop.kind === "idle") await new Promise((r) => setTimeout(r, Math.max(0, Math.min(20, (stop.untilNs - pc.vm.clock.nowNs()) / 1e6))));
      else if (stop.kind !== "budget" && !(stop.kind === "halted" && pc.vm.core.pendingInterrupt() >= 0)) finish({ system, error: `guest stopped: ${JSON.stringify(stop)}` });
    }
  };
  const t0 = performance.now();
  const pc = await make();
  { const { kernel, initrd } = images(); pc.loadLinux(kernel, { cmdline: CMDLINE, initrd }); }
  await until(pc, () => atPrompt);
  const t1 = performance.now();
  const snapshot = pc.saveSnapshot();
  const t2 = performance.now();
  const fresh = await make();
  fresh.loadSnapshot(snapshot);
  const t3 = performance.now();
  out = "";
  await until(fresh, () => out.includes(ANSWER), [...new TextEncoder().encode(PROBE)]);
  const t4 = performance.now();
  clearTimeout(timer);
  finish({ system, memMiB: ramBytes >> 20, bootMs: ms(t0, t1), saveMs: ms(t1, t2), bytes: snapshot.length, restoreMs: ms(t2, t3), answerMs: ms(t3, t4) });
}

async function runV86() {
  const missing = v86BiosMissing();
  if (missing) finish({ system, error: missing });
  const { V86, options } = await v86ForLinux();
  const make = (autostart) => new V86(options({ ramBytes, ...images(), cmdline: CMDLINE, autostart }));
  process.on("uncaughtException", (e) => finish({ system, error: `v86 threw: ${e?.stack ?? e}` }));
  const t0 = performance.now();
  const emu = make(true);
  await new Promise((resolve) => {
    const scanner = new SerialScanner(() => performance.now(), { onPrompt: resolve });
    emu.add_listener("serial0-output-byte", (b) => scanner.byte(b));
  });
  const t1 = performance.now();
  const state = await emu.save_state();
  const t2 = performance.now();
  emu.stop();
  await emu.destroy?.();
  const fresh = make(false);
  await new Promise((r) => fresh.add_listener("emulator-loaded", r));
  await fresh.restore_state(state);
  fresh.run();
  const t3 = performance.now();
  let out = "";
  const answered = new Promise((r) => fresh.add_listener("serial0-output-byte", (b) => { out += String.fromCharCode(b); if (out.includes(ANSWER)) r(); }));
  fresh.serial0_send(PROBE);
  await answered;
  const t4 = performance.now();
  clearTimeout(timer);
  finish({ system, memMiB: ramBytes >> 20, bootMs: ms(t0, t1), saveMs: ms(t1, t2), bytes: state.byteLength, restoreMs: ms(t2, t3), answerMs: ms(t3, t4) });
}
