/**
 * Command-line parsing for `symbiont`: a small, strict parser so that every
 * bad option gets a one-line error instead of being ignored.
 *
 * @module
 */
import { parseMac } from "../net/ethernet.js";
import { parseIpv4 } from "../net/inet.js";
import { DEFAULT_ADDRESSES, type AddressBase } from "../machine/nics.js";
import { parseSocketEndpoint, type SocketEndpoint } from "../node/net-socket.js";
import { parseHostForward, type HostForward } from "../net/user/user-network.js";

export class UsageError extends Error {}

/**
 * What the CLI prints for an error that ended a run: one line for the errors it means to report (bad input, a disk
 * that failed, a snapshot that does not fit — their messages say what to do); for a fault inside the emulator itself
 * (a WebAssembly trap, a JavaScript TypeError or ReferenceError: a bug, not the user's doing) a line saying so and the
 * stack, so that a report of it says where.
 */
export function describeError(e: unknown): string {
  const internal = e instanceof WebAssembly.RuntimeError || e instanceof TypeError || e instanceof ReferenceError;
  const message = e instanceof Error ? e.message : String(e);
  if (!internal) return `symbiont: ${message}\n`;
  const stack = (e as Error).stack?.split("\n").slice(1).join("\n");
  return `symbiont: internal error (${(e as Error).name}): ${message} — a bug in symbiont; its stack:\n${stack ?? "  (none)"}\n`;
}

export interface CommonOptions {
  engine: "wasm" | "js";
  memMiB: number;
  timeout: number;
  until: RegExp | null;
  stats: boolean;
  append: string;
  initrd: string[];
  bios: string | null;
  debugcon: string | null;
  /** --trace FILE: every instruction executed, listed to FILE ("stderr" for stderr). */
  trace: string | null;
  /** --debugcon FILE,port=N: the debug console's port (default 0xE9; SeaBIOS writes to 0x402). */
  debugconPort: number;
  tcache: boolean;
  /** The Wasm engine's block compiler (--no-compile turns it off). */
  compile: boolean;
  /** --compile-threshold N: compile a block once replayed N times, at the next exit (null: the engine's defaults). */
  compileThreshold: number | null;
  deterministic: boolean;
  testdev: boolean;
  /** --vga: a VGA (text and graphics modes, Bochs VBE) whose screen the monitor's `screen` shows. */
  vga: boolean;
  /** --display text: the VGA's screen is the terminal, typed keys go to the PS/2 keyboard (null: the serial console). */
  display: "text" | null;
  /** vCPUs (--smp N). */
  smp: number;
  /** --no-apic: the 8259A pair only, no local or I/O APIC. */
  apic: boolean;
  /** --smap: offer SMAP (CPUID, CR4.SMAP, STAC/CLAC). */
  smap: boolean;
  /** --smep: offer SMEP (CPUID, CR4.SMEP). */
  smep: boolean;
  /** --rtm: offer TSX's RTM (CPUID, XBEGIN/XEND/XABORT/XTEST, IA32_TSX_CTRL). */
  rtm: boolean;
  /** --balloon: add virtio-balloon (the monitor's balloon and info balloon). */
  balloon: boolean;
  /** --x2apic: offer x2APIC mode (CPUID.1:ECX[21], the APIC's registers as MSRs). */
  x2apic: boolean;
  /** --hyperv: Hyper-V's enlightenments (SynIC, synthetic timers, hypercalls). */
  hyperv: boolean;
  kernel: string | null;
  /** How guest memory is virtualized (--paging). */
  paging: "direct" | "nested" | "shadow";
  /** --vmm-mem MB: host frames for the VMM beyond guest RAM (null: the engine's default). */
  vmmMiB: number | null;
  /** --disk FILE[,snapshot|,ro][,if=virtio|ide], in order. */
  disks: DiskSpec[];
  /** --console virtio: the terminal is the guest's hvc0 (COM1 output is still shown). */
  console: "serial" | "virtio";
  /** boot: put the symbiotic module (npm run module) in the initramfs. */
  symbiotic: boolean;
  /** --vms N: N machines in this process (boot), scheduled in turns. */
  vms: number;
  /** --nic: each VM's network card (null: none, unless --net asks for one). */
  nic: NicSpec | null;
  /** --net: where the cards' cables go (null: the switch, when there are cards). */
  net: NetSpec | null;
  /** --net-dump FILE: pcap of the frames. */
  netDump: string | null;
  /** --swap MB: a swap disk of that size in VMM memory (null: none). */
  swapMiB: number | null;
  /** --swapbypass: SwapBypass over the --swap disk (needs --paging shadow and --symbiotic). */
  swapBypass: boolean;
  /** --gdb PORT: wait for GDB on 127.0.0.1:PORT before the first instruction (null: no debugger). */
  gdbPort: number | null;
  /** --loadvm FILE: start from this snapshot (the monitor's savevm writes one) instead of power-on. */
  loadvm: string | null;
  /** The command line, without --loadvm: what a snapshot records it was saved by. */
  commandLine: string;
}

/** One --disk option. */
export interface DiskSpec {
  path: string;
  mode: "rw" | "ro" | "snapshot";
  interface: "virtio" | "ide";
}

/** Parse FILE[,snapshot|,ro][,if=virtio|ide]. */
export function parseDiskSpec(v: string): DiskSpec {
  const [path, ...opts] = v.split(",");
  if (!path) throw new UsageError(`--disk needs a file name (got "${v}")`);
  const spec: DiskSpec = { path, mode: "rw", interface: "virtio" };
  for (const o of opts) {
    if (o === "snapshot" || o === "ro") {
      if (spec.mode !== "rw") throw new UsageError(`--disk ${v}: give one of snapshot and ro`);
      spec.mode = o;
    } else if (o === "if=virtio" || o === "if=ide") {
      spec.interface = o.slice(3) as "virtio" | "ide";
    } else {
      throw new UsageError(`--disk ${v}: unknown option "${o}" (snapshot, ro, if=virtio or if=ide)`);
    }
  }
  return spec;
}

/** One `--nic` option. */
export interface NicSpec {
  model: "ne2k" | "virtio";
  vpio: boolean;
  /** The shared card's name (ne2k,vpio,shared=NAME), or null. */
  shared: string | null;
  /** VM 0's addresses (default 52:54:00:12:34:56, 10.0.2.15/24); VM i gets the i-th next ones. */
  addresses: AddressBase;
  /** virtio-net's transmit offloads, checksum and TCP segmentation (offload=on|off; default on). */
  offloads: boolean;
}

export type NetSpec = { kind: "switch" } | { kind: "none" } | { kind: "socket"; endpoint: SocketEndpoint }
  | { kind: "user"; restrict: boolean; hostForwards: HostForward[] };

/** Parse `--nic MODEL[,vpio][,shared=NAME][,mac=MAC][,ip=ADDR/LEN][,offload=on|off]`. */
export function parseNicSpec(v: string): NicSpec {
  const [model, ...opts] = v.split(",");
  if (model !== "ne2k" && model !== "virtio") throw new UsageError(`--nic must be virtio or ne2k, then options (got "${v}")`);
  const spec: NicSpec = { model, vpio: false, shared: null, addresses: { ...DEFAULT_ADDRESSES }, offloads: true };
  let offloadGiven = false;
  for (const o of opts) {
    if (o === "vpio") spec.vpio = true;
    else if (o.startsWith("shared=") && o.length > 7) spec.shared = o.slice(7);
    else if (o.startsWith("mac=")) {
      try { spec.addresses.mac = parseMac(o.slice(4)); } catch (e) { throw new UsageError(`--nic ${v}: ${(e as Error).message}`); }
    } else if (o.startsWith("ip=")) Object.assign(spec.addresses, parseIpv4Prefix(o.slice(3), v));
    else if (o === "offload=on" || o === "offload=off") { spec.offloads = o === "offload=on"; offloadGiven = true; }
    else throw new UsageError(`--nic ${v}: unknown option "${o}" (vpio, shared=NAME, mac=MAC, ip=ADDR/LEN, offload=on|off)`);
  }
  if (offloadGiven && model !== "virtio") throw new UsageError(`--nic ${v}: offload= is virtio-net's (the NE2000 has no offloads)`);
  if (spec.vpio && model !== "ne2k") throw new UsageError(`--nic ${v}: VPIO models the NE2000 only (ne2k,vpio)`);
  if (spec.shared !== null && !spec.vpio) throw new UsageError(`--nic ${v}: only a VPIO card can be shared (ne2k,vpio,shared=NAME)`);
  return spec;
}

function parseIpv4Prefix(text: string, whole: string): { ipv4: number; prefix: number } {
  const m = /^([^/\s]+)\/(\d{1,2})$/.exec(text);
  const ipv4 = m ? parseIpv4(m[1]!) : null;
  const prefix = m ? Number(m[2]) : -1;
  if (ipv4 === null || prefix < 1 || prefix > 30) throw new UsageError(`--nic ${whole}: ip must be an IPv4 address with a prefix length 1-30, like 10.0.2.15/24 (got "${text}")`);
  return { ipv4, prefix };
}

/** Parse `--net switch|none|socket:…|user[,hostfwd=…][,restrict=on|off]`. */
export function parseNetSpec(v: string): NetSpec {
  if (v === "switch" || v === "none") return { kind: v };
  if (v === "user" || v.startsWith("user,")) {
    const spec: NetSpec = { kind: "user", restrict: false, hostForwards: [] };
    for (const o of v.split(",").slice(1)) {
      if (o.startsWith("hostfwd=")) {
        try { spec.hostForwards.push(parseHostForward(o.slice(8))); } catch (e) { throw new UsageError(`--net ${v}: ${(e as Error).message}`); }
      } else if (o === "restrict=on" || o === "restrict=off" || o === "restrict=yes" || o === "restrict=no") spec.restrict = o === "restrict=on" || o === "restrict=yes";
      else throw new UsageError(`--net ${v}: unknown option "${o}" (hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, restrict=on|off)`);
    }
    return spec;
  }
  if (v.startsWith("socket:")) {
    try { return { kind: "socket", endpoint: parseSocketEndpoint(v.slice(7)) }; } catch (e) { throw new UsageError((e as Error).message); }
  }
  throw new UsageError(`--net must be switch, user, socket:HOST:PORT, socket:listen:PORT or none (got "${v}")`);
}

export interface ParsedArgs { command: string; positional: string[]; options: CommonOptions }

const VALUE_OPTIONS = new Set(["--engine", "--compile-threshold", "--mem", "--timeout", "--until", "--append", "--initrd", "--bios", "--debugcon", "--trace", "--kernel", "--smp", "--paging", "--vmm-mem", "--disk", "--console", "--display", "--vms", "--nic", "--net", "--net-dump", "--swap", "--gdb", "--loadvm"]);
const FLAG_OPTIONS = new Set(["--stats", "--no-tcache", "--no-compile", "--deterministic", "--testdev", "--vga", "--no-apic", "--smap", "--smep", "--rtm", "--balloon", "--x2apic", "--hyperv", "--symbiotic", "--swapbypass", "--help", "-h"]);

/** `symbiont ARGS` as a shell would take it back (words quoted where needed), without `--loadvm FILE`. */
function commandLine(argv: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--loadvm") { i++; continue; }
    if (argv[i]!.startsWith("--loadvm=")) continue;
    words.push(argv[i]!);
  }
  return ["symbiont", ...words.map((w) => /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)].join(" ");
}

export function parseArgs(argv: string[]): ParsedArgs {
  const options: CommonOptions = {
    engine: "wasm", memMiB: 128, timeout: Infinity, until: null, stats: false, append: "", initrd: [], bios: null, debugcon: null, trace: null, debugconPort: 0xe9, tcache: true, compile: true, compileThreshold: null, deterministic: false, testdev: false, vga: false, display: null, kernel: null, smp: 1, apic: true, smap: false, smep: false, rtm: false, balloon: false, x2apic: false, hyperv: false,
    paging: "direct", vmmMiB: null, disks: [], console: "serial", symbiotic: false, vms: 1, nic: null, net: null, netDump: null, swapMiB: null, swapBypass: false, gdbPort: null, loadvm: null,
    commandLine: commandLine(argv),
  };
  const positional: string[] = [];
  let command = "";
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) { value = a.slice(eq + 1); a = a.slice(0, eq); }
    if (VALUE_OPTIONS.has(a)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`option ${a} needs a value`);
        value = argv[++i]!;
      }
      applyValue(options, a, value);
    } else if (FLAG_OPTIONS.has(a)) {
      if (a === "--stats") options.stats = true;
      else if (a === "--no-tcache") options.tcache = false;
      else if (a === "--no-compile") options.compile = false;
      else if (a === "--deterministic") options.deterministic = true;
      else if (a === "--testdev") options.testdev = true;
      else if (a === "--vga") options.vga = true;
      else if (a === "--no-apic") options.apic = false;
      else if (a === "--smap") options.smap = true;
      else if (a === "--smep") options.smep = true;
      else if (a === "--rtm") options.rtm = true;
      else if (a === "--balloon") options.balloon = true;
      else if (a === "--x2apic") options.x2apic = true;
      else if (a === "--hyperv") options.hyperv = true;
      else if (a === "--symbiotic") options.symbiotic = true;
      else if (a === "--swapbypass") options.swapBypass = true;
      else command = "help";
    } else if (a.startsWith("-") && a !== "-") {
      throw new UsageError(`unknown option ${a}`);
    } else if (!command) {
      command = a;
    } else {
      positional.push(a);
    }
  }
  if (options.swapBypass && options.paging !== "shadow") throw new UsageError("--swapbypass is a mode of the shadow pager: add --paging shadow");
  if (options.x2apic && !options.apic) throw new UsageError("--x2apic is a mode of the local APIC: not with --no-apic");
  if (options.hyperv && !options.apic) throw new UsageError("--hyperv: the SynIC interrupts through the local APICs: not with --no-apic");
  if (options.swapBypass && !options.symbiotic) throw new UsageError("--swapbypass asks the guest by SymCall: add --symbiotic");
  if (options.swapBypass && options.swapMiB === null) throw new UsageError("--swapbypass needs the swap disk it caches: add --swap MB");
  if (options.gdbPort !== null) {
    if (options.vms > 1) throw new UsageError("--gdb debugs one VM (its vCPUs are GDB's threads): not with --vms above 1");
  }
  if (options.trace !== null && options.vms > 1) throw new UsageError("--trace lists one VM's instructions: not with --vms above 1");
  return { command: command || "help", positional, options };
}

function applyValue(o: CommonOptions, name: string, v: string): void {
  switch (name) {
    case "--engine":
      if (v !== "wasm" && v !== "js") throw new UsageError(`--engine must be wasm or js (got "${v}")`);
      o.engine = v; return;
    case "--mem": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 2 || n > 1984) throw new UsageError(`--mem must be a whole number of MiB between 2 and 1984 (got "${v}")`);
      o.memMiB = n; return;
    }
    case "--smp": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError(`--smp must be a whole number of vCPUs between 1 and 16 (got "${v}")`);
      o.smp = n;
      return;
    }
    case "--compile-threshold": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--compile-threshold must be a whole number of replays ≥ 1 (got "${v}")`);
      o.compileThreshold = n; return;
    }
    case "--timeout": {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got "${v}")`);
      o.timeout = n; return;
    }
    case "--until":
      try { o.until = new RegExp(v); } catch (e) { throw new UsageError(`--until: bad regular expression: ${(e as Error).message}`); }
      return;
    case "--append": o.append = v; return;
    case "--initrd": o.initrd = v.split(",").filter((s) => s.length > 0); return;
    case "--bios": o.bios = v; return;
    case "--debugcon": {
      const m = /^(.*?)(?:,port=(0x[0-9a-f]+|\d+))?$/i.exec(v)!;
      const port = m[2] === undefined ? 0xe9 : Number(m[2]);
      if (!m[1] || port > 0xffff) throw new UsageError(`--debugcon takes FILE or FILE,port=N (N a port 0-0xffff; got "${v}")`);
      o.debugcon = m[1];
      o.debugconPort = port;
      return;
    }
    case "--trace": o.trace = v; return;
    case "--kernel": o.kernel = v; return;
    case "--paging":
      if (v !== "direct" && v !== "nested" && v !== "shadow") throw new UsageError(`--paging must be direct, nested or shadow (got "${v}")`);
      o.paging = v; return;
    case "--vmm-mem": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--vmm-mem must be a whole number of MiB between 1 and 1024 (got "${v}")`);
      o.vmmMiB = n; return;
    }
    case "--disk": o.disks.push(parseDiskSpec(v)); return;
    case "--swap": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--swap must be a whole number of MiB between 1 and 1024 (got "${v}")`);
      o.swapMiB = n; return;
    }
    case "--console":
      if (v !== "serial" && v !== "virtio") throw new UsageError(`--console must be serial or virtio (got "${v}")`);
      o.console = v; return;
    case "--display":
      if (v !== "text") throw new UsageError(`--display must be text (the VGA's screen on the terminal; got "${v}")`);
      o.display = v; return;
    case "--vms": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 8) throw new UsageError(`--vms must be a whole number of VMs between 1 and 8 (got "${v}")`);
      o.vms = n; return;
    }
    case "--nic": o.nic = parseNicSpec(v); return;
    case "--net": o.net = parseNetSpec(v); return;
    case "--net-dump":
      if (!v) throw new UsageError("--net-dump needs a file name");
      o.netDump = v; return;
    case "--loadvm":
      if (!v) throw new UsageError("--loadvm needs the snapshot's file name (the monitor's savevm FILE writes one)");
      o.loadvm = v; return;
    case "--gdb": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--gdb takes a TCP port, 0-65535 (0: any free port; got "${v}")`);
      o.gdbPort = n; return;
    }
  }
}

export const USAGE = `usage: symbiont <command> [options]

commands:
  run <kernel>        run a Multiboot kernel (ELF or a.out kludge) or a flat binary (loaded at 1 MiB)
  run --bios <rom>    run a BIOS or CPU-test ROM from the reset vector
  run --disk <image>  boot a disk image as a PC does, through SeaBIOS (npm run images fetches Debian's;
                      --bios FILE for another BIOS)
  boot                boot Linux: --kernel bzImage [--initrd F] [--append STR] [--symbiotic]
                      (defaults: the Debian kernel and a busybox initramfs from "npm run images")
  demo                run the built-in demo kernel
  start               boot Linux if "npm run images" has cached it, else the demo (npm start)
  relay --origin O    the user network's relay for the web page's static build (symbiont relay --help)
  info <snapshot>     what a snapshot (the monitor's savevm FILE) holds, and the command line it was saved by
  help                show this text

options:
  --engine wasm|js    CPU engine: WebAssembly (default) or pure JavaScript
  --mem MB            guest RAM in MiB (default 128)
  --smp N             vCPUs (1-16, default 1), time-sliced on one thread
  --no-apic           no local or I/O APIC: the 8259A pair drives the CPU (CPUID says so)
  --smap              offer SMAP (CPUID.7:EBX[20], CR4.SMAP, STAC/CLAC), as QEMU's -cpu max
  --smep              offer SMEP (CPUID.7:EBX[7], CR4.SMEP), likewise
  --rtm               offer Intel TSX's RTM (CPUID.7:EBX[11]: XBEGIN, XEND, XABORT, XTEST) with IA32_TSX_CTRL,
                      as QEMU's -cpu max on hardware with TSX; transactions abort at any exit to the VMM
  --x2apic            offer x2APIC mode (CPUID.1:ECX[21]; registers as MSRs 0x800-0x8FF), as
                      QEMU's CPU models under KVM
  --hyperv            offer Hyper-V's enlightenments as KVM does (QEMU's -cpu ...,hv-synic,hv-stimer,
                      hv-stimer-direct,hv-time,hv-vpindex,hv-frequencies): SynIC, synthetic timers,
                      reference counter and TSC page, HvPostMessage/HvSignalEvent; KVM's leaves move
                      to 0x40000100
  --timeout S         stop after S seconds of wall-clock time (exit status 124)
  --until REGEX       stop with status 0 as soon as serial output matches REGEX
  --stats             print statistics to stderr at the end
  --no-tcache         turn the translation cache off (decode every instruction as it runs)
  --no-compile        Wasm engine: replay cached blocks instead of compiling hot ones to Wasm
  --compile-threshold N  Wasm engine: compile a block once it was replayed N times, at the next exit
                      (default: after 5000 replays, in batches)
  --deterministic     virtual time from retired instructions: the same guest and input print the same
  --append STR        kernel command line, as QEMU's -append
  --initrd F[,F...]   Multiboot modules, or the Linux initrd (one file), as QEMU's -initrd
  --kernel FILE       the Linux bzImage for boot
  --disk FILE[,snapshot|,ro][,if=virtio|ide]
                      a raw disk image (repeatable): virtio-blk (/dev/vda …, default) or PIIX3 IDE
                      (/dev/sda …); snapshot keeps writes in memory (the file is not changed), ro is read-only
  --console virtio    boot: the terminal is the guest's virtio console hvc0 (kernel messages stay on COM1)
  --balloon           add a virtio memory balloon, as QEMU's -device virtio-balloon: the monitor's "balloon MB"
                      sets the guest's memory (pages it gives up leave its map), "info balloon" shows it and the
                      guest's memory statistics
  --symbiotic         boot: add the symbiotic module (npm run module) to the initramfs; the default
                      /init loads it; a given --initrd gets it at /lib/modules/RELEASE/extra/symbiotic.ko
  --vms N             boot: N Linux VMs (1-8) in this process, taking turns; their output lines start
                      with [vmI]; typed input goes to vm0, Ctrl-A n moves it to the next VM
  --nic virtio|ne2k[,vpio][,shared=NAME][,mac=MAC][,ip=ADDR/LEN][,offload=on|off]
                      boot: a network card in each VM, up as 10.0.2.15/24, .16 … (52:54:00:12:34:56, :57 …):
                      virtio-net, an emulated NE2000 PCI, or the NE2000 under VPIO (shared=NAME: one card
                      for all the VMs); mac= and ip= give vm0's addresses; offload=off: virtio-net without
                      its transmit offloads (checksum, TCP segmentation), on by default
  --net switch|none|user[,hostfwd=…][,restrict=on]|socket:HOST:PORT|socket:listen:PORT
                      where the cards are cabled: a virtual switch (default), nothing, the switch with
                      a router to the host's network (user: as QEMU's -netdev user, 10.0.2.2 is the host,
                      DHCP, DNS at 10.0.2.3; hostfwd=tcp|udp:[HOSTADDR]:PORT-[GUESTADDR]:PORT forwards a
                      host port, on 127.0.0.1 unless HOSTADDR says otherwise), or the switch with a TCP uplink
                      to another symbiont or QEMU (-netdev socket,…); a card is virtio by default
  --net-dump FILE     write every frame that enters the switch to FILE (pcap: tcpdump -r, Wireshark)
  --bios FILE         ROM image mapped below 1 MiB and 4 GiB; the CPU starts at F000:FFF0
  --debugcon FILE[,port=N]
                      write port 0xE9 output (port N's: 0x402 is SeaBIOS's) to FILE ("stdio" for stdout)
  --trace FILE        list every instruction the vCPUs execute to FILE ("stderr": to stderr), as QEMU's
                      -d in_asm,exec -singlestep: CS:EIP, bytes, objdump's AT&T text; the guest runs one exit
                      per instruction, so for a kernel's first steps (with --timeout or --until), not a Linux boot
  --vga               add a VGA, as QEMU's -device isa-vga (text and graphics modes, Bochs VBE framebuffers):
                      the monitor's screen shows it, screendump FILE saves it; Linux (boot) also writes its
                      console to it, a firmware runs SeaBIOS's VGA BIOS
  --display text      the VGA's screen is the terminal (as QEMU's -display curses): redrawn as it changes,
                      typed keys go to the PS/2 keyboard; COM1's output is not shown; needs --vga
  --gdb PORT          wait for GDB on 127.0.0.1:PORT before the first instruction (gdb KERNEL -ex "target remote
                      :PORT"), as QEMU's -gdb tcp::PORT -S: registers, memory, breakpoints, watchpoints,
                      stepi, Ctrl-C; GDB's "monitor CMD" runs the monitor's commands; with --deterministic also
                      reverse-stepi and reverse-continue (the history recorded from when GDB attaches)
  --loadvm FILE       start from a snapshot the monitor's savevm FILE wrote, as QEMU's -loadvm: give the command
                      line the saved machine was started with (the same guest, --mem, --smp, devices and disks;
                      with --vms N, a snapshot of all N VMs and their network)
  --testdev           add QEMU's pc-testdev (MMIO at 0xFF000000, ports 0xE0-0xEB), as -device pc-testdev,
                      and with --hyperv its hyperv-testdev (port 0x3000)
  --paging MODE       memory virtualization: direct (default; the CPU walks the guest's tables),
                      nested (EPT-style nested tables) or shadow (shadow page tables)
  --vmm-mem MB        host memory for the VMM's own frames (page tables…; default 8 + RAM/16, + the --swap size,
                      + 8 with --vga for its VBE framebuffer)
  --swap MB           a swap disk of MB MiB held in VMM memory: a virtio disk after the --disk ones, serial
                      "symbiont-swap" (/sys/block/vdX/serial), for the guest to mkswap and swapon
  --swapbypass        SwapBypass: the guest's pages swapped out to --swap are mapped read-only straight into
                      it by the shadow pager after asking it by SymCall (needs --paging shadow, --symbiotic)

Serial port COM1 is stdin/stdout; on a terminal Ctrl-A x quits and Ctrl-A c
switches to the VMM monitor and back (help lists its commands). A guest write of v to port 0xF4
(isa-debug-exit) ends the run with exit status (v << 1) | 1, as QEMU does.`;
