/**
 * `symbiont` — the command-line VMM. Serial COM1 is the process's stdio; the
 * exit status follows QEMU's isa-debug-exit convention.
 *
 * @module
 */
import { readFileSync, openSync, writeSync, closeSync, writeFileSync } from "node:fs";
import { parseArgs, parseNicSpec, UsageError, describeError, USAGE, type CommonOptions } from "./args.js";
import { SnapshotError, snapshotSavedBy } from "../vmm/snapshot.js";
import { describeSnapshot } from "./snapshot-info.js";
import { parseRelayArgs, runRelay, RELAY_USAGE } from "./relay.js";
import { createEngine } from "../node/engines.js";
import { defaultVmmBytes } from "../engine/engine.js";
import { formatSwapBypass } from "../symbiotic/swapbypass.js";
import { thrashWorkloadFiles } from "../node/thrash.js";
import { runVm, type RunOutcome } from "../node/runner.js";
import { SerialConsole, MonitorConsole, PrefixedOutput } from "../node/console.js";
import { InstructionTrace } from "../debug/trace.js";
import { Monitor } from "../vmm/monitor.js";
import { listenForGdb, type GdbSession } from "../node/gdb-server.js";
import { VmGroup, Waker } from "../vmm/vm-group.js";
import { buildNetwork, userNetReservations } from "./network.js";
import { guestAddress, ipCommandLine } from "../machine/nics.js";
import { Pc } from "../machine/pc.js";
import { saveGroupSnapshot, loadGroupSnapshot, type MachineGroup } from "../machine/group-snapshot.js";
import type { Hyperv } from "../paravirt/hyperv.js";
import type { VmStats } from "../vmm/vm.js";
import { DEMO_KERNEL } from "../guests/demo.js";
import { cachedModules, findCachedImages } from "../node/images.js";
import { findSeabios, findVgaBios } from "../node/firmware.js";
import { TextDisplay, TerminalKeys } from "../node/text-display.js";
import { VBE_VRAM_BYTES } from "../devices/vga/vbe.js";
import { isBzImage, parseLinuxHeader, LINUX_CMDLINE } from "../boot/linux.js";
import { busyboxInitramfs, concatInitrds, Initramfs } from "../boot/initramfs.js";
import { type DriverName, driverModules } from "../boot/kmod.js";
import { formatBalloon } from "../devices/virtio/balloon.js";
import { openDiskImage } from "../node/disk-file.js";
import { DiskError } from "../devices/block/backend.js";
import type { DiskOptions } from "../machine/pc.js";
import { findBuiltModule, moduleGuestPath, symbioticKernelModules, joinKernelModules, type BuiltModule } from "../node/symbiotic-module.js";

/** Exit statuses other than the guest's own (debug-exit). */
const EXIT_USAGE = 2;
const EXIT_GUEST_ERROR = 3;
const EXIT_TIMEOUT = 124;

function readInput(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a directory" : err.message;
    throw new UsageError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** What to load: a Multiboot/flat kernel, a Linux bzImage, or nothing (a BIOS ROM only). */
type Guest =
  | { kind: "kernel"; image: Uint8Array; path: string }
  | { kind: "linux"; kernel: Uint8Array; initrd?: Uint8Array; path: string }
  | { kind: "none" };

/** A guest that resets the machine (reboot, 8042 or port 0x92/0xCF9 reset) gets a fresh machine, up to this many times. */
const MAX_RESETS = 20;
/** Why the run ended when the monitor's system_reset asked. */
const MONITOR_RESET = "system_reset in the monitor";

/**
 * Open the --disk images once for each VM (a snapshot overlay lives as long
 * as the process, across guest reboots). VMs after the first get their own
 * overlay of a snapshot disk and share a read-only one; a writable image
 * cannot be given to several VMs.
 */
function openDisks(o: CommonOptions, vms: number): DiskOptions[][] {
  try {
    const first = o.disks.map((d) => ({ backend: openDiskImage(d.path, d.mode), interface: d.interface }));
    return Array.from({ length: vms }, (_, i) => i === 0 ? first : o.disks.map((d, k) => (d.mode === "snapshot" ? { backend: openDiskImage(d.path, d.mode), interface: d.interface } : first[k]!)));
  } catch (e) {
    if (e instanceof DiskError) throw new UsageError(e.message);
    throw e;
  }
}

/** One VM of the run and what the runner watches of it. */
interface Machine {
  pc: Pc;
  /** The last few KiB of its serial output (--until, a panic's reason). */
  tail: string;
}

async function runCommand(guest: Guest, o: CommonOptions, disks: DiskOptions[][] = openDisks(o, guest.kind === "linux" ? o.vms : 1), resets = 0): Promise<number> {
  const vms = disks.length;
  const ramBytes = o.memMiB * 1024 * 1024;
  let matched = false;
  let debugconFd: number | null = null;
  if (o.debugcon && o.debugcon !== "stdio") {
    // After a guest reset the machine is new but the log goes on: what led to the reset stays in the file.
    try { debugconFd = openSync(o.debugcon, resets === 0 ? "w" : "a"); } catch (e) { throw new UsageError(`cannot open --debugcon file ${o.debugcon}: ${(e as Error).message}`); }
  }
  // One VM writes straight to stdout; several share it line by line, each line tagged.
  const out: number[] = [];
  let serial: SerialConsole | undefined;
  // With --display text the terminal is the VGA's screen: COM1's output is not shown (--until still sees it).
  let display: TextDisplay | null = null;
  // While the monitor has the terminal, guest output waits (its last 64 KiB).
  let held: number[] = [];
  const release = () => { if (held.length) { process.stdout.write(Uint8Array.from(held)); held = []; } };
  const write = (b: Uint8Array) => {
    if (display) return;
    if (serial?.monitorActive) { held.push(...b); if (held.length > 65536) held = held.slice(-65536); }
    else { release(); process.stdout.write(b); }
  };
  const prefixed = vms > 1 ? new PrefixedOutput(disks.map((_, i) => `[vm${i}] `), write) : null;
  const flush = () => {
    if (prefixed) prefixed.flush();
    else if (out.length) { write(Uint8Array.from(out)); out.length = 0; }
  };
  const machines: Machine[] = [];
  for (let i = 0; i < vms; i++) {
    const engine = await createEngine(o.engine, ramBytes, {
      compileBlocks: o.compile,
      // Room for what the VMM keeps beyond the default: the swap disk, the VGA's VBE framebuffer.
      ...(o.vmmMiB !== null ? { vmmBytes: o.vmmMiB * 1024 * 1024 }
        : o.swapMiB !== null || o.vga ? { vmmBytes: defaultVmmBytes(ramBytes) + (o.swapMiB ?? 0) * 1048576 + (o.vga ? VBE_VRAM_BYTES : 0) } : {}),
      ...(o.compileThreshold !== null ? { compileThreshold: o.compileThreshold, compileBatch: 1 } : {}),
    });
    const m: Machine = { pc: null as unknown as Pc, tail: "" };
    const emit = (b: number) => {
      if (prefixed) prefixed.push(i, b);
      else { out.push(b); if (out.length >= 4096) flush(); }
    };
    m.pc = new Pc({
      engine,
      ramBytes,
      clock: o.deterministic ? "deterministic" : "host",
      testdev: o.testdev,
      vga: o.vga,
      ...(o.vga && o.bios ? { vgaBios: vgaBios() } : {}),
      paging: o.paging,
      cpus: o.smp,
      apic: o.apic,
      smap: o.smap,
      smep: o.smep,
      rtm: o.rtm,
      balloon: o.balloon,
      x2apic: o.x2apic,
      hyperv: o.hyperv,
      disks: disks[i],
      ...(o.swapMiB !== null ? { swapDiskBytes: o.swapMiB * 1048576, swapBypass: o.swapBypass } : {}),
      rng: guest.kind === "linux",
      onVirtioConsole: o.console === "virtio" ? (bytes) => { flush(); for (const b of bytes) emit(b); flush(); } : undefined,
      onSerial: (b) => {
        emit(b);
        m.tail = m.tail.length >= 8192 ? m.tail.slice(-4096) + String.fromCharCode(b) : m.tail + String.fromCharCode(b);
        if (o.until && !matched && o.until.test(m.tail.slice(-4096))) { matched = true; m.pc.vm.requestStop({ kind: "requested", why: "until" }); }
      },
      debugconPort: o.debugconPort,
      onDebugcon: o.debugcon ? (b) => {
        if (debugconFd !== null) writeSync(debugconFd, Uint8Array.of(b)); else emit(b);
      } : undefined,
    });
    machines.push(m);
  }
  const pcs = machines.map((m) => m.pc);
  let trace: ReturnType<typeof openTrace> | null = null;
  // A frame for a guest that sleeps (halted until a timer) wakes the runner at once.
  let wakeRunner = () => {};
  const network = o.nic ? await buildNetwork(pcs, o.nic, o.net ?? { kind: "switch" }, {
    dump: o.netDump,
    clock: pcs[0]!.clock,
    epochSeconds: pcs[0]!.startEpochSeconds,
    log: (line) => { flush(); process.stderr.write(`symbiont: ${line}\n`); },
    onFrame: () => wakeRunner(),
  }) : null;
  // Several VMs take turns; a snapshot holds them all, with their network and the turn (group-snapshot.ts).
  const group = vms > 1 ? new VmGroup(pcs.map((pc) => pc.vm), { pollers: [...(network?.nics.pollers ?? [])] }) : null;
  const machineGroup = (): MachineGroup => ({ pcs, networks: network ? [network.nics] : [], switches: network?.switch ? [network.switch] : [], scheduler: group });
  /** A snapshot into this run's machine(s); one that does not fit them says how they were started. */
  const loadMachines = (bytes: Uint8Array) => {
    try {
      if (vms === 1) pcs[0]!.loadSnapshot(bytes); else loadGroupSnapshot(machineGroup(), bytes);
    } catch (e) {
      const savedBy = e instanceof SnapshotError ? snapshotSavedBy(bytes) : null;
      throw savedBy && savedBy !== o.commandLine ? new SnapshotError(`${(e as Error).message} (it was saved by: ${savedBy})`) : e;
    }
  };
  // --display text: the screen is drawn on the terminal and what is typed goes to the PS/2 keyboard.
  const keys = o.display === "text" ? new TerminalKeys(pcs[0]!.kbc.keyboard) : null;
  serial = new SerialConsole(keys ?? pcs[0]!.virtioConsole ?? pcs[0]!.uart);
  if (keys) display = new TextDisplay((s) => process.stdout.write(s));
  let lastDraw = 0, monitorWasActive = false;
  // The monitor looks at the VM that has the keyboard.
  const monitors = pcs.map((pc) => new Monitor(pc.vm, {
    net: network ? () => network.describe() : undefined, lapics: () => pc.lapics, screen: pc.vga ? () => pc.vga!.screen() : undefined,
    balloon: pc.balloon ?? undefined, pci: pc.pci, pics: () => pc.interruptControllers(), disks: () => pc.blockDevices(),
    saveFile: (path, bytes) => writeFileSync(path, bytes), keyboard: pc.kbc.keyboard,
    gdbserver: vms === 1 ? (port: number) => gdbserver(port) : undefined,
    reset: vms === 1 ? () => { resetAsked = true; } : undefined,
    // With several VMs, savevm and loadvm take all of them (and what connects them), from any VM's monitor.
    snapshot: {
      save: (path: string) => {
        const bytes = vms === 1 ? pc.saveSnapshot({ savedBy: o.commandLine }) : saveGroupSnapshot(machineGroup(), { savedBy: o.commandLine });
        writeFileSync(path, bytes);
        return `saved ${vms === 1 ? "the machine" : `the ${vms} VMs`} to ${path} (${(bytes.length / 1048576).toFixed(1)} MiB)`;
      },
      load: (path: string) => {
        loadMachines(readInput(path, "snapshot"));
        const dropped = network?.machineRestored();
        gdb?.stub.forgetHistory(`the monitor's loadvm ${path}`);
        return `${vms === 1 ? "the machine is" : `the ${vms} VMs are`} now as saved in ${path}${dropped ? `; ${dropped}` : ""}`;
      },
    },
  }));
  serial.monitor = new MonitorConsole(monitors[0]!, (text) => process.stdout.write(text));
  let restart = false;
  let status = 0;
  /** The GDB stub's listener (--gdb, or the monitor's gdbserver) and, once GDB has connected, its session. */
  let gdbListener = null as { close(): void } | null;
  let gdb = null as GdbSession | null; // (set from a callback: not narrowed to null)
  /** The monitor's system_reset: the run ends as for a guest's reset, and a fresh machine starts. */
  let resetAsked = false;
  /** Listen for GDB; resolves once it has connected, rejects (saying `what` failed) if the port cannot be had. */
  const listen = (port: number, what: string): Promise<void> => {
    const l = listenForGdb(pcs[0]!.vm, port, (p) => {
      process.stderr.write(`symbiont: waiting for GDB on 127.0.0.1:${p} (gdb -ex "target remote :${p}" [the kernel's ELF file])\n`);
    }, (command) => monitors[0]!.execute(command), pcs[0]!.rewindable());
    gdbListener = l;
    return l.connected.then((s) => { gdb = s; }, (e: Error) => { gdbListener = null; throw new Error(`${what}: ${e.message}`); });
  };
  /** The monitor's gdbserver: a stub for the running guest, which stops when GDB connects (as QEMU's). */
  const gdbserver = (port: number): string => {
    if (gdbListener) return "gdbserver: a GDB stub is there already (one debugger at a time)";
    listen(port, "gdbserver").catch((e: Error) => { flush(); process.stderr.write(`symbiont: ${e.message}\n`); });
    return "";
  };
  try {
    // With the user network the guests ask its DHCP server (which has VM i's address reserved for it).
    const dhcp = o.net?.kind === "user";
    pcs.forEach((pc, i) => loadGuest(pc, guest, o, network ? ipCommandLine([{ ...guestAddress(i, o.nic!.addresses), ...(dhcp ? { ip: "dhcp" } : {}) }]) : ""));
    // --loadvm: the machine, built and loaded as the saved one was, takes the snapshot's state (not after a reset:
    // the guest's reboot or system_reset starts it from power-on).
    if (o.loadvm !== null && resets === 0) {
      try {
        loadMachines(readInput(o.loadvm, "snapshot"));
      } catch (e) {
        if (e instanceof SnapshotError) throw new UsageError(`${o.loadvm}: ${e.message}`);
        throw e;
      }
      process.stderr.write(`symbiont: going on from the snapshot in ${o.loadvm}\n`);
    }
    // (From the loaded guest's first instruction.)
    if (o.trace !== null) trace = openTrace(pcs[0]!, o.trace, resets);
    if (vms > 1) {
      let focus = 0;
      serial.onNext = () => {
        focus = (focus + 1) % vms;
        serial!.retarget(pcs[focus]!.virtioConsole ?? pcs[focus]!.uart);
        serial!.monitor = new MonitorConsole(monitors[focus]!, (text) => process.stdout.write(text));
        flush();
        process.stderr.write(`\r\nsymbiont: typing to vm${focus} (Ctrl-A n: next VM)\r\n`);
      };
    }
    const started = performance.now();
    const shouldStop = (): RunOutcome | null => {
      serial!.pump();
      flush();
      const now = performance.now();
      keys?.tick(now); // (an Escape alone: no sequence followed it within 50 ms, as a terminal sends one whole)
      if (display && now - lastDraw >= 50) {
        lastDraw = now;
        if (monitorWasActive && !serial!.monitorActive) display.invalidate(); // the monitor drew over the screen
        monitorWasActive = serial!.monitorActive;
        if (!serial!.monitorActive) display.show(pcs[0]!.vga!.screen());
      }
      if (matched) return { kind: "until-matched", pattern: o.until!.source };
      if (serial!.quitRequested) return { kind: "requested", why: monitors.some((m) => m.quitRequested) ? "monitor quit" : "Ctrl-A x" };
      if (gdb?.stub.killed) return { kind: "requested", why: "GDB killed the guest" };
      gdb?.stub.running(); // (a checkpoint of the history reverse execution replays, when one is due)
      if (resetAsked) return { kind: "reset", why: MONITOR_RESET };
      return null;
    };
    if (o.gdbPort !== null) {
      await listen(o.gdbPort, "--gdb");
    }
    let outcomes: RunOutcome[];
    if (vms === 1) {
      const waker = new Waker();
      wakeRunner = () => waker.wake();
      outcomes = [await runVm(pcs[0]!.vm, { timeoutSeconds: o.timeout, shouldStop, waker, paused: () => monitors[0]!.paused || (gdb?.stub.halted ?? false) })];
    } else {
      const turns = group!;
      wakeRunner = () => turns.wake();
      let stop: RunOutcome | null = null;
      const g = await turns.run({ timeoutSeconds: o.timeout, shouldStop: () => (stop = shouldStop()) && "stop", paused: () => monitors.some((m) => m.paused) });
      outcomes = machines.map((_, i) => g.kind === "until" ? stop! : g.kind === "timeout" ? g
        : g.kind === "stuck" ? turns.finished[i] ?? { kind: "shutdown", message: `every VM is waiting: ${g.why}` }
        : turns.finished[i]!);
    }
    flush();
    if (o.stats) {
      const seconds = (performance.now() - started) / 1000;
      machines.forEach((m, i) => printStats(m.pc, seconds, o, vms > 1 ? `vm${i} ` : ""));
      if (network) process.stderr.write(network.describe().map((l) => `[stats] ${l}`).join("\n") + "\n");
      if (trace) process.stderr.write(`[stats] trace: ${trace.tracer.count} instructions listed to ${o.trace}\n`);
    }
    const reset = outcomes[0]!;
    if (vms === 1 && reset.kind === "reset") {
      if (resets >= MAX_RESETS) { process.stderr.write(`symbiont: the guest reset the machine ${resets + 1} times; stopping\n`); return EXIT_GUEST_ERROR; }
      process.stderr.write(reset.why === MONITOR_RESET ? `symbiont: ${MONITOR_RESET}; restarting\n` : `symbiont: the guest reset the machine (${reset.why}); restarting\n`);
      restart = true;
    } else {
      // Several VMs: each one's end is reported; the exit status is vm0's.
      status = outcomes.map((outcome, i) => exitStatus(outcome, machines[i]!.tail, vms > 1 ? `vm${i}: ` : ""))[0]!;
    }
    gdb?.stub.exited(status);
  } finally {
    gdbListener?.close();
    display?.close();
    // A guest that ends while the monitor has the terminal: what it printed meanwhile is shown, not lost.
    if (serial.monitorActive) { serial.monitorActive = false; process.stdout.write("\r\n"); }
    release();
    flush();
    serial.close();
    network?.close();
    if (debugconFd !== null) closeSync(debugconFd);
    trace?.close();
  }
  // A fresh machine, once the old one's console, network and files are closed.
  return restart ? runCommand(guest, o, disks, resets + 1) : status;
}

/**
 * --trace FILE: the instruction trace of the (one) VM, written in 64 KiB pieces. After a guest reset the machine is
 * new and the trace goes on in the same file.
 */
function openTrace(pc: Pc, path: string, resets: number): { tracer: InstructionTrace; close(): void } {
  let fd = 2;
  if (path !== "stderr") {
    try { fd = openSync(path, resets === 0 ? "w" : "a"); } catch (e) { throw new UsageError(`cannot open --trace file ${path}: ${(e as Error).message}`); }
  }
  let pending: string[] = [], size = 0;
  const flush = () => { if (pending.length) { writeSync(fd, pending.join("")); pending = []; size = 0; } };
  const tracer = new InstructionTrace(pc.vm, (line) => {
    pending.push(line + "\n");
    size += line.length + 1;
    if (size >= 65536) flush();
  });
  return { tracer, close: () => { flush(); if (fd !== 2) closeSync(fd); } };
}

/**
 * SeaBIOS's VGA BIOS for a firmware boot with --vga (QEMU's isa-vga hands the firmware the same ROM); without one
 * the firmware still runs, but draws nothing on the screen — said once on stderr.
 */
function vgaBios(): Uint8Array | undefined {
  const rom = findVgaBios();
  if (rom) return readInput(rom.path, "VGA BIOS");
  process.stderr.write("symbiont: no VGA BIOS (vgabios-isavga.bin) found: the firmware will not use the screen (\"npm run images\" fetches Debian's SeaBIOS with it; or apt-get install seabios)\n");
  return undefined;
}

/** Load the guest into a fresh PC (Linux gets `extraCmdline`: the network addresses). */
function loadGuest(pc: Pc, guest: Guest, o: CommonOptions, extraCmdline: string): void {
  if (o.bios) {
    try { pc.vm.loadRom(readInput(o.bios, "BIOS image")); } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${o.bios}: ${(e as Error).message}`);
    }
  }
  try {
    if (guest.kind === "kernel") {
      const modules = o.initrd.map((p) => ({ data: readInput(p, "module"), cmdline: p }));
      pc.loadKernel(guest.image, { path: guest.path, append: o.append, modules });
    } else if (guest.kind === "linux") {
      pc.loadLinux(guest.kernel, { cmdline: [o.append, extraCmdline].filter(Boolean).join(" "), initrd: guest.initrd });
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${guest.kind === "none" ? "" : guest.path + ": "}${(e as Error).message}`);
  }
}

/** The exit status for how a VM's run ended, with a line on stderr when it says something (`who`: "vm1: " with several VMs). */
function exitStatus(outcome: RunOutcome, tail: string, who: string): number {
  const say = (line: string) => process.stderr.write(`symbiont: ${who}${line}\n`);
  switch (outcome.kind) {
    case "debug-exit": return outcome.status & 0xff;
    case "until-matched": case "requested": case "idle": case "budget": return 0;
    case "timeout": say(`timeout after ${outcome.seconds} s`); return EXIT_TIMEOUT;
    case "halted": say(outcome.message); return 0;
    case "reset": say(`the guest reset the machine (${outcome.why}); a VM of several is not restarted`); return EXIT_GUEST_ERROR;
    case "shutdown": case "unimplemented": case "device-error": say(outcome.message); return EXIT_GUEST_ERROR;
    case "guest-panic": {
      const line = /Kernel panic - not syncing: ([^\r\n]*)/.exec(tail)?.[1];
      say(`${outcome.message}${line ? `: ${line.replace(/ \]---$/, "")}` : ""}`);
      return EXIT_GUEST_ERROR;
    }
    case "suspended": say(`the vCPU is suspended (${outcome.why}) with nothing to resume it`); return EXIT_GUEST_ERROR;
  }
}

/** "shadow: hiddenFaults=… trueFaults=…": the mode and its non-zero counters. */
function formatPaging(p: Record<string, number | string>): string {
  // (SwapBypass's counters have their own line.)
  const counters = Object.entries(p).filter(([k, v]) => k !== "mode" && v !== 0 && !k.startsWith("bypass")).map(([k, v]) => `${k}=${v}`);
  return `${p.mode}${counters.length ? ": " + counters.join(" ") : ""}`;
}

/** "97.1% compiled (41 per region entry, 80% of entries linked), 2.0% replayed, 0.9% interpreted" */
function instructionShares(s: VmStats): string {
  const total = s.instructions, t = s.tcache;
  if (total === 0) return "none";
  const pct = (n: number) => `${(100 * n / total).toFixed(1)}%`;
  const interpreted = total - t.compiledInstructions - t.replayedInstructions;
  // An entry is the cache's (tcRun) or a link's (a region going straight on into another, jit/region.ts).
  const entries = t.regionEntries + t.regionLinks;
  const perEntry = entries ? ` (${(t.compiledInstructions / entries).toFixed(0)} per region entry, ${(100 * t.regionLinks / entries).toFixed(0)}% of entries linked)` : "";
  return `${pct(t.compiledInstructions)} compiled${perEntry}, ${pct(t.replayedInstructions)} replayed, ${pct(interpreted)} interpreted`;
}

function printStats(pc: Pc, seconds: number, o: CommonOptions, who = ""): void {
  const s = pc.vm.stats();
  const lines = [
    `engine          ${o.engine}`,
    `instructions    ${s.instructions}`,
    `time            ${seconds.toFixed(3)} s`,
    `MIPS            ${(s.instructions / seconds / 1e6).toFixed(1)}`,
    `exits           ${Object.entries(s.exits).map(([k, v]) => `${k}=${v}`).join(" ") || "none"}`,
    s.compiler
      ? `TLB             misses ${s.tlbMisses} flushes ${s.tlbFlushes} (compiled code checks the TLB without counting hits: --engine js for the hit rate)`
      : `TLB             lookups ${s.tlbLookups} misses ${s.tlbMisses} (hit rate ${s.tlbLookups ? (100 * (1 - s.tlbMisses / s.tlbLookups)).toFixed(2) : "-"}%) flushes ${s.tlbFlushes}`,
    `tcache          ${s.tcache.enabled ? `lookups ${s.tcache.lookups} hits ${s.tcache.hits} (${s.tcache.lookups ? (100 * s.tcache.hits / s.tcache.lookups).toFixed(1) : "0"}%) blocks ${s.tcache.blocksBuilt} invalidations ${s.tcache.invalidations} evictions ${s.tcache.evictions}` : "off"}`,
    `executed        ${instructionShares(s)}`,
    `compiler        ${s.compiler ? `${s.compiler.regions} regions in ${s.compiler.modules} modules (${(s.compiler.bytes / 1024).toFixed(0)} KiB of Wasm, ${s.compiler.ms.toFixed(0)} ms; ${s.compiler.modulesDropped} of them since dropped: superseded or flushed)${s.compiler.error ? `; stopped: ${s.compiler.error}` : ""}` : "off"}`,
    `paging          ${formatPaging(s.paging)}`,
    ...(formatSwapBypass(s.paging)?.split("\n").map((l) => `swapbypass      ${l}`) ?? []),
    ...(pc.hyperv ? [`hyperv          ${formatHyperv(pc.hyperv.stats())}`] : []),
    ...(s.rtm.transactions ? [`rtm             transactions ${s.rtm.transactions} committed ${s.rtm.committed} aborted ${s.rtm.aborted}`] : []),
    ...(pc.balloon ? [`balloon         ${formatBalloon(pc.balloon.stats(), pc.vm.ramBytes)}`] : []),
    `POST code       ${pc.postCode.last === null ? "none" : "0x" + pc.postCode.last.toString(16).padStart(2, "0")}`,
  ];
  process.stderr.write(lines.map((l) => `[stats] ${who}${l}`).join("\n") + "\n");
}

function formatHyperv(h: ReturnType<Hyperv["stats"]>): string {
  const calls = Object.entries(h.hypercalls).map(([k, v]) => `${k}=${v}`).join(" ") || "none";
  return `hypercalls ${calls}; SynIC messages ${h.messages} (${h.messagesWaited} waited for their slot), event flags set ${h.eventFlags}; timer expiries ${h.timerExpiries}`;
}

/** The Linux guest for `boot`: the given files, or the cached Debian kernel with a busybox initramfs. */
async function linuxGuest(o: CommonOptions): Promise<Guest> {
  const cached = o.kernel && o.initrd.length > 0 ? null : findCachedImages();
  const kernelPath = o.kernel ?? cached?.kernel;
  if (!kernelPath) throw new UsageError("boot needs --kernel FILE, or the Debian images: run \"npm run images\" first");
  const kernel = readInput(kernelPath, "kernel");
  if (!isBzImage(kernel)) throw new UsageError(`${kernelPath}: not a Linux bzImage (no "HdrS" setup header)`);
  let initrd: Uint8Array | undefined;
  if (o.initrd.length > 1) throw new UsageError("boot takes one --initrd file");
  const module = o.symbiotic ? symbioticModule(kernel, kernelPath) : null;
  if (o.initrd.length === 1) {
    initrd = readInput(o.initrd[0]!, "initrd");
    // Linux unpacks concatenated archives: the module joins the user's initramfs for its /init to insmod.
    if (module) {
      const path = moduleGuestPath(module.release);
      initrd = concatInitrds([initrd, new Initramfs().file(path, readInput(module.path, "symbiotic module"), 0o644).build()]);
      process.stderr.write(`symbiont: symbiotic.ko is in the initramfs at ${path}; your /init loads it with insmod\n`);
    }
  } else if (cached) {
    // The cached kernel's modules for the devices asked for (and symbiotic.ko last); /init loads them.
    const kinds: DriverName[] = ["pvpanic", "virtio-rng"];
    if (o.disks.some((d) => d.interface === "virtio") || o.swapMiB !== null) kinds.push("virtio-blk");
    if (o.disks.some((d) => d.interface === "ide")) kinds.push("ide");
    if (o.disks.length > 0) kinds.push("ext4");
    if (o.console === "virtio") kinds.push("virtio-console");
    if (o.balloon) kinds.push("virtio-balloon");
    if (o.nic) kinds.push(o.nic.model === "virtio" ? "virtio-net" : "ne2k-pci");
    let modules = o.kernel === null ? cachedModules(cached, driverModules(kinds)) : undefined;
    if (module) modules = joinKernelModules(modules, symbioticKernelModules(module));
    // With a swap disk, the thrashing workloads of the SwapBypass demo (npm run workloads) in /bin.
    const workloads = o.swapMiB !== null ? thrashWorkloadFiles() : [];
    if (o.swapMiB !== null && workloads.length === 0) process.stderr.write("symbiont: the thrashing workloads (stream, gups) are not built, so not in /bin: run \"npm run workloads\"\n");
    initrd = busyboxInitramfs({
      busybox: readInput(cached.busybox, "busybox"),
      modules,
      extraFiles: workloads,
      ...(o.console === "virtio" ? { run: "setsid sh -c 'exec sh -i </dev/hvc0 >/dev/hvc0 2>&1'" } : {}),
    });
  } else if (module) {
    throw new UsageError("--symbiotic needs an initramfs: the cached busybox (npm run images) or --initrd FILE");
  }
  // With a VGA the kernel's messages go to its screen too (tty0); ttyS0 stays /dev/console, the shell's terminal.
  if (!o.append) o.append = o.vga ? `console=tty0 ${LINUX_CMDLINE}` : LINUX_CMDLINE;
  if (o.memMiB < 64 && o.kernel === null) o.memMiB = 128;
  return { kind: "linux", kernel, initrd, path: kernelPath };
}

/** The symbiotic module built for this kernel (npm run module). */
function symbioticModule(kernel: Uint8Array, kernelPath: string): BuiltModule {
  const built = findBuiltModule();
  if (!built) throw new UsageError("--symbiotic needs the symbiotic module built for the cached kernel: run \"npm run images\" and \"npm run module\"");
  const release = parseLinuxHeader(kernel).kernelVersion?.split(" ")[0];
  if (release !== built.release) {
    throw new UsageError(`--symbiotic: the module is built for ${built.release}, but ${kernelPath} is ${release ?? "a kernel of unknown release"}`);
  }
  return built;
}

/**
 * Options that go together: --vms and the network are for Linux; a --net or
 * --net-dump without --nic gets virtio-net, a card gets the switch; several
 * VMs cannot write one disk image.
 */
function checkCombinations(o: CommonOptions, command: string): void {
  const linux = command === "boot" || command === "start";
  if (!linux && (o.nic || o.net || o.netDump || o.vms > 1)) throw new UsageError(`--nic, --net, --net-dump and --vms are for boot (Linux guests), not ${command}`);
  if (o.symbiotic && !linux) throw new UsageError("--symbiotic is an option of boot (it adds the symbiotic Linux module)");
  if (o.display && !o.vga) throw new UsageError("--display text shows the VGA's screen: add --vga");
  if (o.display && o.vms > 1) throw new UsageError("--display text shows one VM's screen: not with --vms");
  const rw = o.vms > 1 ? o.disks.find((d) => d.mode === "rw") : undefined;
  if (rw) throw new UsageError(`--disk ${rw.path} with --vms ${o.vms}: the VMs would write one image; add ,snapshot or ,ro`);
  if (!o.nic && (o.net || o.netDump)) o.nic = parseNicSpec("virtio");
  if (o.nic && !o.net) o.net = { kind: "switch" };
  if (o.nic && o.net?.kind === "user") userNetReservations(o.vms, o.nic);
  if (o.nic?.shared && o.vms < 2) process.stderr.write(`symbiont: --nic ${o.nic.model},vpio,shared=${o.nic.shared} with one VM: nothing shares the card (--vms N)\n`);
}

/** The status of a process that SIGPIPE ended (128 + 13), what `cat` gives a pipeline whose reader went away. */
const EXIT_BROKEN_PIPE = 141;

export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (`symbiont run kernel | head`) ends the run quietly, as it ends `cat`, not with a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT_BROKEN_PIPE);
    throw e;
  });
  try {
    // The relay is a server, not a machine: its own few options (src/cli/relay.ts).
    if (argv[0] === "relay") {
      if (argv.includes("--help") || argv.includes("-h")) { process.stdout.write(RELAY_USAGE + "\n"); return 0; }
      return await runRelay(parseRelayArgs(argv.slice(1)));
    }
    const { command, positional, options } = parseArgs(argv);
    if (command !== "help") checkCombinations(options, command);
    switch (command) {
      case "help":
        process.stdout.write(USAGE + "\n");
        return 0;
      case "run": {
        if (positional.length > 1) throw new UsageError(`run takes one kernel file (got ${positional.length})`);
        const path = positional[0];
        if (!path && !options.bios) {
          // A disk and nothing else boots the way a PC does: through a BIOS, Debian's SeaBIOS unless --bios names one.
          if (options.disks.length === 0) throw new UsageError("run needs a kernel file, --bios FILE or a --disk to boot");
          const seabios = findSeabios();
          if (!seabios) throw new UsageError("booting a disk needs a BIOS: none found (\"npm run images\" fetches Debian's SeaBIOS; or apt-get install seabios; or give --bios FILE)");
          options.bios = seabios.path;
        }
        const image = path ? readInput(path, "kernel") : null;
        if (image && image.length === 0) throw new UsageError(`${path}: empty file`);
        return await runCommand(image && path ? { kind: "kernel", image, path } : { kind: "none" }, options);
      }
      case "demo":
        return await runCommand({ kind: "kernel", image: DEMO_KERNEL, path: "demo" }, options);
      case "start":
        // npm start: Linux when the images are cached, else the demo and how to get Linux.
        if (findCachedImages()) return await runCommand(await linuxGuest(options), options);
        process.stderr.write("symbiont: the Debian images are not cached, so this is the demo kernel; run \"npm run images\" and then \"npm start\" to boot Linux\n");
        return await runCommand({ kind: "kernel", image: DEMO_KERNEL, path: "demo" }, options);
      case "info": {
        if (positional.length !== 1) throw new UsageError("info takes one snapshot file (the monitor's savevm FILE writes one)");
        try {
          process.stdout.write(describeSnapshot(positional[0]!, readInput(positional[0]!, "snapshot")).join("\n") + "\n");
        } catch (e) {
          if (e instanceof SnapshotError) throw new UsageError(`${positional[0]}: ${e.message}`);
          throw e;
        }
        return 0;
      }
      case "boot":
        if (positional.length > 0) throw new UsageError(`boot takes no positional arguments (use --kernel FILE)`);
        return await runCommand(await linuxGuest(options), options);
      default:
        throw new UsageError(`unknown command "${command}" (try: symbiont help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`symbiont: ${e.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(describeError(e));
    return EXIT_GUEST_ERROR;
  }
}
