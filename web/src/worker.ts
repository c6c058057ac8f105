/**
 * The VM worker: builds a PC from src/ (the same code the CLI runs), loads a
 * guest and runs it in slices, so the page never blocks. Between slices it
 * feeds queued keyboard input to COM1 at the pace the UART's FIFO allows,
 * posts the guest's serial output and, about ten times a second, the VM's
 * statistics. When the guest idles (HLT waiting for a timer or for input) it
 * sleeps until the timer is due or input arrives.
 *
 * The disk (virtio-blk) lives here, in memory: a start makes it from the
 * page's choice, a reset (the page's or the guest's) keeps it, and the page
 * asks for its bytes to download them.
 *
 * @module
 */
import { Pc } from "../../src/machine/pc.js";
import { createWasmEngine, createJsEngine, defaultVmmBytes, type Engine } from "../../src/engine/engine.js";
import { VBE_VRAM_BYTES } from "../../src/devices/vga/vbe.js";
import { isMultiboot } from "../../src/boot/multiboot.js";
import { busyboxInitramfs, joinKernelModules, type KernelModules } from "../../src/boot/initramfs.js";
import { MemoryDisk, SECTOR } from "../../src/devices/block/backend.js";
import type { DriverName } from "../../src/boot/kmod.js";
import { DEMO_KERNEL } from "../../src/guests/demo.js";
import type { StopReason } from "../../src/vmm/vm.js";
import type { BootConfig, DiskSpec, FromWorker, GuestSpec, ModulesJson, RunState, ToWorker } from "./protocol.js";
import { classifyFiles, type Loadable } from "./guests.js";
import type { VgaScreen } from "../../src/devices/vga/vga.js";
import { DEFAULT_ADDRESSES, guestAddress, ipCommandLine, plugNics } from "../../src/machine/nics.js";
import { VirtualSwitch } from "../../src/net/switch.js";
import { UserNetwork } from "../../src/net/user/user-network.js";
import { RelayHostNet, type RelaySocket } from "../../src/net/user/relay-host-net.js";
import { fromBase64 } from "../../src/base64.js";
import { Monitor } from "../../src/vmm/monitor.js";
import wasmUrl from "../../build/core.wasm?url";
import echoUrl from "../guests/echo.bin?url";

/** The worker's global scope, typed with the DOM lib's Worker (the same postMessage/onmessage shape). */
const ctx = self as unknown as Worker;

/** Instructions per slice: adapted so that a slice takes about SLICE_MS of host time. */
const SLICE_MS = 15;
const MIN_SLICE = 100_000;
const MAX_SLICE = 50_000_000;
const STATS_MS = 100;
const SCREEN_MS = 50;
/** Longest sleep while idle, so that stats keep flowing. */
const MAX_IDLE_MS = 50;

let wasmModule: Promise<WebAssembly.Module> | null = null;
let config: BootConfig | null = null;
let guest: Loadable | null = null;
let pc: Pc | null = null;
/** The VMM monitor of the running machine (the CLI's commands; files it writes are downloaded). */
let monitor: Monitor | null = null;
/** The disk of the last start (kept across resets and after the guest stops), and the name to save it as. */
let disk: { backend: MemoryDisk; fileName: string } | null = null;
/** Incremented on every (re)start: a loop of an older machine ends at its next turn. */
let boot = 0;
let paused = false;
let running = false;
let slice = 2_000_000;
const input: number[] = [];
/** PS/2 scan codes waiting for room in the keyboard's queue. */
const keys: number[] = [];
let serialOut: number[] = [];
let lastStats = 0;
let lastScreenCheck = 0;
let lastScreen: VgaScreen | null = null;
let wake: (() => void) | null = null;
/** The user network of the running machine (closed on the next start). */
let network: { user: UserNetwork; relay: RelaySocket } | null = null;

function post(msg: FromWorker, transfer: Transferable[] = []): void { ctx.postMessage(msg, transfer); }
function log(text: string): void { post({ type: "log", text }); }
function state(s: RunState, detail = ""): void { post({ type: "state", boot, state: s, detail }); }

ctx.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case "start": config = m.config; guest = null; disk = null; void start(); break;
    case "reset": if (config) void start(); break;
    case "save-disk": saveDisk(); break;
    case "save-state": saveState(); break;
    case "load-state": loadState(m.name, m.bytes); break;
    case "pause": pause(); break;
    case "resume": resume(); break;
    case "input":
      for (const b of m.bytes) input.push(b);
      wake?.();
      break;
    case "keys":
      keys.push(...m.bytes);
      wake?.();
      break;
    case "monitor": monitorCommand(m.command); break;
  }
};

/**
 * The page's monitor line: the command runs between slices; stop and cont pause and resume, quit stops the machine.
 * A machine that stopped (halted, panicked, triple-faulted) can still be looked at.
 */
function monitorCommand(command: string): void {
  if (!monitor) { post({ type: "monitor-output", command, text: "no machine yet: press Start" }); return; }
  monitor.paused = paused; // (the page's Pause button is the monitor's stop)
  const text = monitor.execute(command);
  post({ type: "monitor-output", command, text });
  if (monitor.quitRequested) { monitor.quitRequested = false; if (pc) stopped("quit (the monitor)"); return; }
  if (monitor.paused && !paused) pause();
  else if (!monitor.paused && paused) resume();
  flush(true); // (what the command changed: the screen after sendkey, the counters)
  wake?.();
}

function pause(): void {
  if (running && !paused) { paused = true; flush(true); state("paused", "paused"); }
}

function resume(): void {
  if (pc && paused) { paused = false; state("running"); void loop(boot); }
}

/** A monitor bound to `machine`: its files go to the page as downloads; system_reset restarts as the page's Reset does. */
function monitorFor(machine: Pc): Monitor {
  const download = (fileName: string, bytes: Uint8Array) => {
    const copy = bytes.slice() as Uint8Array<ArrayBuffer>;
    post({ type: "file-contents", fileName: fileName.replace(/^.*\//, ""), bytes: copy }, [copy.buffer]);
  };
  return new Monitor(machine.vm, {
    lapics: () => machine.lapics, screen: machine.vga ? () => machine.vga!.screen() : undefined, keyboard: machine.kbc.keyboard, pci: machine.pci,
    pics: () => machine.interruptControllers(), disks: () => machine.blockDevices(),
    saveFile: download,
    reset: () => { queueMicrotask(() => { if (config) void start(); }); },
    snapshot: {
      save: (path) => { const bytes = machine.saveSnapshot(); download(path, bytes); return `saved the machine to ${path} (${(bytes.length / 1048576).toFixed(1)} MiB, downloaded)`; },
      load: () => "loadvm: a page cannot open your files: use Restore state… (it takes a savevm file back)",
    },
  });
}

async function start(): Promise<void> {
  const my = ++boot;
  running = false; paused = false; pc = null; monitor = null;
  input.length = 0; keys.length = 0; serialOut = []; lastScreen = null;
  if (network) { network.user.close(); network.relay.close(); network = null; }
  wake?.();
  const cfg = config!;
  try {
    state("loading", "loading the guest");
    const g = guest ?? await resolveGuest(cfg.guest, cfg);
    if (my !== boot) return; // a newer start or reset came in while this one was loading
    guest = g;
    const kept = disk !== null;
    disk ??= cfg.disk && makeDisk(cfg.disk);
    post({ type: "disk", disk: disk && { name: disk.backend.name, size: disk.backend.size } });
    const ramBytes = cfg.ramMiB * 1024 * 1024;
    const engine = await createEngine(cfg.engine, ramBytes, cfg.vga);
    if (my !== boot) return;
    const machine = new Pc({
      engine, ramBytes, paging: cfg.paging, onSerial: (b) => { serialOut.push(b); }, disks: disk ? [{ backend: disk.backend }] : [],
      vga: cfg.vga, ...(g.kind === "firmware" && g.vgaBios ? { vgaBios: g.vgaBios } : {}),
    });
    if (cfg.net) await attachUserNetwork(machine, cfg.net);
    if (my !== boot) return;
    if (g.kind === "firmware") {
      machine.vm.loadRom(g.rom);
      log(`${g.name}: ${kib(g.rom.length)} BIOS from its reset vector, booting the disk; ${cfg.ramMiB} MiB RAM, ${cfg.engine} engine, ${cfg.paging} paging`);
    } else if (g.kind === "linux") {
      const dhcp = cfg.net ? ipCommandLine([{ mac: guestAddress(0).mac, ip: "dhcp" }]) : "";
      const e = machine.loadLinux(g.kernel, { cmdline: [cfg.cmdline, dhcp].filter(Boolean).join(" "), initrd: g.initrd });
      log(`${g.name}: Linux ${e.header.kernelVersion?.split(" ")[0] ?? "bzImage"} (boot protocol ${e.header.protocolString}), ` +
        `kernel ${kib(g.kernel.length)}${g.initrd ? `, initrd ${kib(g.initrd.length)}` : ""}, ${cfg.ramMiB} MiB RAM, ${cfg.engine} engine, ${cfg.paging} paging`);
    } else {
      machine.loadKernel(g.image, { path: g.name, append: cfg.cmdline, modules: g.modules });
      log(`${g.name}: ${isMultiboot(g.image) ? "Multiboot kernel" : "flat binary"} ${kib(g.image.length)}` +
        `${g.modules.length ? ` + ${g.modules.length} module(s)` : ""}, ${cfg.ramMiB} MiB RAM, ${cfg.engine} engine, ${cfg.paging} paging`);
    }
    if (disk) {
      log(`disk: ${disk.backend.name}, ${kib(disk.backend.size)}, as virtio-blk (/dev/vda in Linux)` +
        (kept ? ", kept from before the reset" : "; writes stay in this page: Save disk downloads them"));
    }
    pc = machine;
    monitor = monitorFor(machine);
    state("running");
    flush(true); // the zero point of the rates
    void loop(my);
  } catch (e) {
    if (my !== boot) return;
    state("error", (e as Error).message);
  }
}

/** A new disk for a start. Throws (one line) for an image that has not one whole sector. */
function makeDisk(spec: DiskSpec): { backend: MemoryDisk; fileName: string } {
  if (spec.kind === "blank") return { backend: MemoryDisk.blank(spec.mib * 1048576), fileName: "blank.img" };
  if (spec.bytes.length < SECTOR) throw new Error(`${spec.name}: ${spec.bytes.length} bytes, not a disk image (less than one ${SECTOR}-byte sector)`);
  if (spec.bytes.length % SECTOR !== 0) log(`${spec.name}: the last ${spec.bytes.length % SECTOR} bytes are not a whole sector; the guest does not see them`);
  return { backend: new MemoryDisk(spec.bytes, false, spec.name), fileName: spec.name };
}

/** Post a copy of the disk's bytes: handled between slices, so every request the guest made is complete. */
function saveDisk(): void {
  if (!disk) { log("no disk to save: choose one and press Start"); return; }
  const bytes = disk.backend.bytes.slice();
  post({ type: "disk-contents", fileName: disk.fileName, bytes }, [bytes.buffer]);
}

/** Post the machine's snapshot: taken between slices, as the CLI's savevm is. */
function saveState(): void {
  if (!pc) { log("Save state: no machine is running"); return; }
  try {
    const bytes = pc.saveSnapshot() as Uint8Array<ArrayBuffer>;
    post({ type: "state-contents", fileName: "symbiont.snap", bytes }, [bytes.buffer]);
  } catch (e) {
    log(`Save state: ${(e as Error).message}`);
  }
}

/** Take a snapshot back into the running machine, which then goes on from that instant. */
function loadState(name: string, bytes: Uint8Array): void {
  if (!pc) { log("Restore state: start a machine with the options the saved one had (guest, memory, paging, disk, VGA), then restore"); return; }
  try {
    pc.loadSnapshot(bytes);
    lastScreen = null; // (the screen is the snapshot's now: sent again)
    log(`the machine is now as saved in ${name}`);
    wake?.();
  } catch (e) {
    log(`Restore state: ${name}: ${(e as Error).message}`);
  }
}

function kib(n: number): string { return n >= 1 << 20 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`; }

/** An engine for a guest of `ramBytes`, with room for the VGA's VBE framebuffer when the machine has the VGA. */
async function createEngine(kind: "wasm" | "js", ramBytes: number, vga: boolean): Promise<Engine> {
  const memory = vga ? { vmmBytes: defaultVmmBytes(ramBytes) + VBE_VRAM_BYTES } : {};
  if (kind === "js") return createJsEngine(ramBytes, memory);
  wasmModule ??= fetchBytes(wasmUrl).then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>));
  return createWasmEngine(await wasmModule, ramBytes, memory);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Fetch or classify the guest's images. */
async function resolveGuest(spec: GuestSpec, cfg: BootConfig): Promise<Loadable> {
  switch (spec.kind) {
    case "builtin":
      if (spec.id === "demo") return { kind: "kernel", name: "demo kernel", image: DEMO_KERNEL, modules: [] };
      return { kind: "kernel", name: "echo kernel", image: await fetchBytes(echoUrl), modules: [] };
    case "debian": {
      // The drivers the hardware needs, as the CLI's --disk asks for them (ext4 serves ext2 and ext3 too).
      const drivers: DriverName[] = [...(cfg.disk ? ["virtio-blk", "ext4"] as const : []), ...(cfg.net ? ["virtio-net"] as const : [])];
      const [kernel, busybox, module, driverModules] = await Promise.all([
        fetchBytes(spec.baseUrl + "vmlinuz"), fetchBytes(spec.baseUrl + "busybox"),
        spec.symbioticRelease ? fetchBytes(spec.baseUrl + "symbiotic.ko") : null,
        drivers.length > 0 ? fetchModules(spec.baseUrl, drivers) : undefined,
      ]);
      // With the symbiotic module, /init loads it (after the drivers): the page then shows what the guest publishes by SymSpy.
      const symbiotic = module && spec.symbioticRelease
        ? { release: spec.symbioticRelease, files: [{ path: "extra/symbiotic.ko", data: module }], modulesDep: "extra/symbiotic.ko:\n" }
        : undefined;
      const modules = symbiotic ? joinKernelModules(driverModules, symbiotic) : driverModules;
      if (driverModules) log(`initramfs: ${driverModules.files.map((f) => f.path.replace(/^.*\//, "")).join(", ")} for ${drivers.join(", ")}`);
      const initrd = busyboxInitramfs({ busybox, modules });
      return { kind: "linux", name: "Debian Linux", kernel, initrd };
    }
    case "files":
      return classifyFiles(spec.files);
    case "firmware":
      if (!cfg.disk) throw new Error("booting through SeaBIOS needs a disk: choose an image (or a blank disk) first");
      return {
        kind: "firmware", name: "SeaBIOS", rom: await fetchBytes(spec.url),
        ...(cfg.vga && spec.vgaBiosUrl ? { vgaBios: await fetchBytes(spec.vgaBiosUrl) } : {}),
      };
  }
}

/** The cached kernel's modules for these driver kinds, from the dev server (images-middleware.ts). */
async function fetchModules(baseUrl: string, drivers: DriverName[]): Promise<KernelModules> {
  const url = `${baseUrl}modules.json?drivers=${drivers.join(",")}`;
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${(await r.text()).trim()}`);
  const m = (await r.json()) as ModulesJson;
  return { release: m.release, modulesDep: m.modulesDep, files: m.files.map((f) => ({ path: f.path, data: fromBase64(f.base64) })) };
}

function flush(force = false): void {
  if (serialOut.length > 0) {
    const bytes = Uint8Array.from(serialOut);
    serialOut = [];
    post({ type: "serial", bytes }, [bytes.buffer]);
  }
  const now = performance.now();
  if (pc && (force || now - lastStats >= STATS_MS)) {
    lastStats = now;
    const sym = pc.vm.symbiotic;
    const symbiotic = sym && (sym.global || sym.local(0)) ? { task: sym.local(0)?.ext ?? null, memory: sym.global?.ext ?? null } : null;
    post({ type: "stats", boot, t: now, stats: pc.vm.stats(), slice, symbiotic });
  }
  if (pc?.vga && (force || now - lastScreenCheck >= SCREEN_MS)) {
    lastScreenCheck = now;
    const screen = pc.vga.screen();
    if (!sameScreen(screen, lastScreen)) {
      lastScreen = screen;
      post({ type: "screen", boot, screen });
    }
  }
}

function sameScreen(a: VgaScreen, b: VgaScreen | null): boolean {
  if (!b || a.kind !== b.kind) return false;
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  if (a.kind === "pixels" && b.kind === "pixels") return a.width === b.width && a.height === b.height && eq(a.rgb, b.rgb);
  if (a.kind !== "text" || b.kind !== "text") return (a as { why: string }).why === (b as { why: string }).why;
  return a.cols === b.cols && a.rows === b.rows && a.blink === b.blink && a.cursor?.row === b.cursor?.row && a.cursor?.col === b.cursor?.col &&
    eq(a.chars, b.chars) && eq(a.attrs, b.attrs) && eq(a.colors, b.colors);
}

/** Keyboard bytes the PS/2 keyboard holds at most before the page's next ones go in (its queue takes 64). */
const KEYBOARD_FILL = 32;

function pumpInput(machine: Pc): void {
  const n = Math.min(input.length, machine.uart.receiveSpace);
  if (n > 0) machine.uart.receive(input.splice(0, n));
  const room = KEYBOARD_FILL - machine.kbc.keyboard.queue.length;
  if (keys.length > 0 && room > 0) machine.kbc.keyboard.sendScancodes(keys.splice(0, room));
}

/** Input is waiting and the UART (or the keyboard) can take some of it. */
function inputReady(machine: Pc): boolean {
  return (input.length > 0 && machine.uart.receiveSpace > 0) || (keys.length > 0 && machine.kbc.keyboard.queue.length < KEYBOARD_FILL);
}

/** Let queued messages run: a MessageChannel turn is not clamped like nested setTimeout(0). */
const channel = new MessageChannel();
const turns: (() => void)[] = [];
channel.port1.onmessage = () => { turns.shift()?.(); };
function yieldTurn(): Promise<void> {
  return new Promise((r) => { turns.push(r); channel.port2.postMessage(0); });
}

/** Sleep up to ms, ending early when input arrives (or the machine is restarted). */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => {
    const done = () => { clearTimeout(timer); wake = null; r(); };
    const timer = setTimeout(done, ms);
    wake = done;
  });
}

async function loop(my: number): Promise<void> {
  if (running) return;
  running = true;
  try {
    while (my === boot && !paused && pc) {
      const machine = pc;
      pumpInput(machine);
      const t0 = performance.now();
      const before = machine.vm.core.getRetired();
      let stop: StopReason;
      try {
        stop = machine.vm.run(slice);
      } catch (e) {
        flush(true);
        state("error", `VMM error: ${(e as Error).message}`);
        pc = null;
        return;
      }
      const dt = performance.now() - t0;
      const ran = machine.vm.core.getRetired() - before;
      if (stop.kind === "budget" && dt > 0) {
        // Aim at SLICE_MS per slice; change by at most 2x at a time.
        const want = (ran / dt) * SLICE_MS;
        slice = Math.round(Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.min(slice * 2, Math.max(slice / 2, want)))));
      }
      flush();
      switch (stop.kind) {
        case "budget":
          await yieldTurn();
          continue;
        case "idle": {
          // Host clock (performance.now()): sleep until the guest's next timer is due, or input arrives.
          const due = performance.now() + (stop.untilNs - machine.clock.nowNs()) / 1e6;
          while (my === boot && !paused && !inputReady(machine)) {
            const left = due - performance.now();
            if (left <= 0) break;
            await sleep(Math.min(MAX_IDLE_MS, left));
            flush();
          }
          continue;
        }
        case "halted":
          if (machine.vm.core.pendingInterrupt() >= 0) continue;
          if ((machine.vm.getState().eflags & 0x200) !== 0) {
            // Waiting for an interrupt with no timer armed: only input can wake it.
            while (my === boot && !paused && !inputReady(machine)) {
              await sleep(MAX_IDLE_MS);
              flush();
            }
            continue;
          }
          return stopped(stop.message);
        case "reset":
          log(`the guest reset the machine (${stop.why}): rebooting`);
          running = false;
          void start();
          return;
        case "debug-exit":
          // status is QEMU's (value << 1) | 1 for a guest write of value.
          return stopped(`the guest wrote ${stop.status >>> 1} to isa-debug-exit (exit status ${stop.status})`);
        case "shutdown": case "unimplemented": case "guest-panic": case "device-error":
          return stopped(stop.message);
        case "requested":
          return stopped(stop.why);
      }
    }
  } finally {
    if (my === boot) running = false;
  }
}

/**
 * A virtio-net card cabled to the user network's router on a switch, the router's sockets the relay's at `url`
 * (over a WebSocket: the dev server's, or `symbiont relay`'s): what `symbiont boot --net user` builds, with the
 * relay as the host.
 */
async function attachUserNetwork(machine: Pc, url: string): Promise<void> {
  const ws = new WebSocket(url) as unknown as RelaySocket;
  const host = await RelayHostNet.connect(ws, ` at ${url} (the dev server's, npm run web; or symbiont relay --origin ${self.location.origin})`);
  const nics = plugNics([machine], { model: "virtio", vpio: false, shared: false });
  const sw = new VirtualSwitch("switch0");
  for (const l of nics.links) { l.onDelivered = () => wake?.(); sw.connectLink(l); }
  const user = new UserNetwork(host, { reservations: new Map([[guestAddress(0).mac, DEFAULT_ADDRESSES.ipv4]]), notice: (line) => log(`net user: ${line}`) });
  await user.start();
  user.plugInto(sw);
  network = { user, relay: ws };
  log(`network: virtio-net on the user network (10.0.2.15 by DHCP, 10.0.2.2 the host), through the relay at ${url}`);
}

function stopped(why: string): void {
  flush(true);
  log(why);
  state("stopped", why);
  pc = null;
}
