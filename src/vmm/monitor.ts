/**
 * The VMM monitor (QEMU's habit: in `symbiont boot`, Ctrl-A c switches the
 * terminal between the guest's console and this). Commands read the machine
 * without disturbing it — `info registers`, `info cpus`, `info exits`, `info paging`,
 * `info symbiotic`, `info net`, `info lapic`, memory by `x` (virtual) and `xp`
 * (physical), each vCPU's view as `cpu N` selects — and ask a symbiotic guest what only it knows: `sym ps`
 * (its processes, by SymCall), `sym current` (the running task, by SymSpy and
 * by SymCall), `sym vaddr PID ADDR`, `sym meminfo`. `stop` and `cont` pause
 * and resume the guest; `quit` ends the run. Platform-neutral: it takes lines
 * and returns text (the terminal side is node/console.ts).
 *
 * @module
 */
import type { Vm } from "./vm.js";
import type { CpuState, SegmentState } from "./cpu-state.js";
import { listMappings, pagingMode, readLinear } from "./guest-paging.js";
import { memoryDump, evaluate, type DumpDefaults } from "./memory-dump.js";
import { guestCoreDump } from "./core-dump.js";
import { infoMem, infoTlb } from "./paging-info.js";
import { guestProcesses, guestCurrent, guestVaddr, guestMeminfo } from "../symbiotic/linux-calls.js";
import { SymcallNr, GUEST_ERRNO } from "../symbiotic/abi.js";
import { formatSwapBypass } from "../symbiotic/swapbypass.js";
import { formatBalloon, type VirtioBalloon } from "../devices/virtio/balloon.js";
import type { VgaScreen } from "../devices/vga/vga.js";
import { describeScreen, screenLines } from "../devices/vga/screen-text.js";
import { ppm } from "../devices/vga/ppm.js";
import { sendkeyScancodes } from "../devices/ps2-keymap.js";
import type { PciBus } from "../devices/pci.js";
import { describePci } from "../devices/pci-info.js";
import { describeAddressSpaces } from "./address-map.js";
import type { DiskStats } from "../devices/block/backend.js";

const HELP = [
  "info registers [-a] the selected vCPU's registers (-a: every vCPU's)",
  "info cpus           the vCPUs: EIP (CS base + EIP), halted or not; * marks the selected one",
  "cpu N               select vCPU N for info registers, info paging, x",
  "x /FMT ADDR         memory at a virtual address, through the selected vCPU's page tables (as QEMU's x:",
  "                    FMT = count, format x d u o c i, size b h w g; ADDR = numbers, $reg, + and -;",
  "                    i: instructions, in the vCPU's code size and AT&T syntax as objdump and gdb print them)",
  "xp /FMT ADDR        memory at a guest-physical address (as QEMU's xp)",
  "p [/x|/d|/u] EXPR   an expression's value (numbers, $reg, + and -; QEMU's print)",
  "i [/b|/w|/l] PORT   read an I/O port, as an IN would (with its side effects); o [/b|/w|/l] PORT VALUE: write one",
  "memsave ADDR SIZE FILE   save SIZE bytes of memory at a virtual address to FILE (as QEMU's memsave)",
  "pmemsave ADDR SIZE FILE  likewise at a guest-physical address (QEMU's pmemsave)",
  "dump-guest-memory [-p] FILE   the machine as an ELF core GDB reads (gdb -ex \"core-file FILE\"): every vCPU's",
  "                    registers, guest RAM at its physical addresses — with -p at the running vCPU's virtual ones",
  "info exits          exits by reason since power-on",
  "info paging         the guest's paging mode and mappings (ranges with the frames they map)",
  "info mem, info tlb  the guest's mappings as QEMU prints them: ranges by rights; every page with its entry's flags",
  "info symbiotic      SymSpy pages, the running task and memory figures, SymCall entry and statistics",
  "info net            network cables' traffic, the VPIO model's state per VM, the user network's connections",
  "info swapbypass     SwapBypass: faults bypassed, mappings live and dropped (by cause), SymCalls and their cost",
  "info status         whether the guest runs or is paused (stop, cont)",
  "info pci            the PCI functions as QEMU's info pci: class, IDs, IRQ, each BAR's range, MSI-X",
  "info mtree          the guest-physical address space as accesses find it (RAM with its host frames and",
  "                    permissions, ROM, withdrawn pages, each device's MMIO) and the I/O ports (QEMU's info mtree -f)",
  "info block          the disks: image, size, read-only or not, where each is attached (QEMU's info block)",
  "info blockstats     each disk's reads, writes and flushes: operations and bytes (QEMU's info blockstats)",
  "info pic            the 8259 pair and the I/O APIC's redirection table (QEMU's info pic)",
  "info lapic          each vCPU's local APIC: mode (xAPIC, x2APIC), IDs, priorities, pending vectors, LVTs, timer",
  "info balloon        the balloon (--balloon): the guest's memory, pages withdrawn, the guest's memory statistics",
  "balloon MB          give the guest MB MiB of its RAM (as QEMU's balloon): the balloon takes the rest",
  "screen              the VGA's text screen (a PC made with --vga)",
  "screendump FILE     save the VGA's screen: a picture as PPM (as QEMU's screendump), a text screen as text",
  "sendkey KEYS        press keys on the PS/2 keyboard, as QEMU's sendkey: a, shift-a, ret, ctrl-alt-delete, alt-f2 …",
  "sym ps              the guest's processes (SymCall)",
  "sym current         the running task of each vCPU: SymSpy's view (no exit) and SymCall's",
  "sym vaddr PID ADDR  what PID's address space has at ADDR (SymCall MEM_LOOKUP; PID 0: the running task)",
  "sym meminfo         memory figures (SymCall)",
  "sym test            a SymCall round trip (SYMCALL_TEST)",
  "gdbserver [PORT]    wait for GDB on 127.0.0.1:PORT (default 1234; 0: a free one); the guest stops when it connects",
  "system_reset        reset the machine: it starts over, as at power-on (QEMU's system_reset)",
  "nmi                 an NMI to every vCPU (QEMU's nmi): a hung kernel's NMI handler runs",
  "savevm FILE         save the whole machine (vCPUs, RAM, devices, time; every VM of --vms) to FILE: symbiont … --loadvm FILE, or",
  "loadvm FILE         here, goes on from that instant (QEMU's savevm/loadvm, with a file for a tag; not the disks)",
  "stop, cont          pause / resume the guest",
  "quit                end the run",
].join("\n");

const NO_DISPLAY = "no display (symbiont boot --vga adds a VGA)";
const NO_BALLOON = "no balloon (symbiont boot --balloon adds one)";

const hex = (n: number, w = 8) => (n >>> 0).toString(16).padStart(w, "0");

export class Monitor {
  /** Set by `stop`, cleared by `cont`: the runner keeps the guest paused meanwhile. */
  paused = false;
  /** Set by `quit`. */
  quitRequested = false;
  /** The vCPU `info registers`, `info paging` and `x` look at (`cpu N`). */
  private cpu = 0;
  /** `x`/`xp`'s last format and unit size (QEMU's start: hex words). */
  private readonly dumpDefaults: DumpDefaults = { format: "x", size: 4 };

  /**
   * `net`: the network's description (symbiont boot's --nic network), when the VM has one; `lapics`: the local
   * APICs, vCPU by vCPU (a PC's; none without APICs); `screen`: the VGA's screen, when the machine has one;
   * `saveFile`: where `screendump` writes (the CLI's file system; absent, the command says it cannot); `keyboard`:
   * the PS/2 keyboard `sendkey` presses keys on; `gdbserver`: starts a GDB stub on a TCP port (the CLI's); `reset`:
   * restarts the machine (the CLI's, which makes a fresh one as for a guest's own reset); `snapshot`: savevm and
   * loadvm, to and from a file (the CLI's), each returning what to say; `pci`: the PCI bus (a PC's) info pci lists
   * and info mtree names BARs from; `pics`: the interrupt controllers info pic shows (the 8259 pair, the I/O APIC);
   * `disks`: info block's and info blockstats' disks.
   */
  constructor(private readonly vm: Vm, private readonly sources: {
    net?: () => string[]; lapics?: () => readonly { describe(): string[] }[]; screen?: () => VgaScreen;
    saveFile?: (path: string, bytes: Uint8Array) => void;
    keyboard?: { sendScancodes(bytes: readonly number[]): void };
    gdbserver?: (port: number) => string;
    reset?: () => void;
    snapshot?: { save(path: string): string; load(path: string): string };
    balloon?: VirtioBalloon;
    pci?: PciBus;
    pics?: () => readonly { describe(): string[] }[];
    disks?: () => readonly { id: string; backend: { name: string; size: number; readOnly: boolean }; stats: DiskStats; attached: string }[];
  } = {}) {}

  /**
   * `i [/b|/w|/l] PORT` and `o [/b|/w|/l] PORT VALUE` (QEMU's): a read or write of an I/O port through the port bus, as
   * the guest's IN or OUT would make it — with its side effects (a read of the UART's receive buffer takes a byte).
   */
  private portAccess(write: boolean, args: string[]): string {
    const usage = write ? "o [/b|/w|/l] PORT VALUE: write an I/O port" : "i [/b|/w|/l] PORT: read an I/O port";
    const fmt = args[0]?.startsWith("/") ? args.shift()! : "/b";
    const size = ({ "/b": 1, "/w": 2, "/l": 4 } as const)[fmt as "/b" | "/w" | "/l"];
    if (!size || args.length !== (write ? 2 : 1)) return usage;
    const st = this.onCpu(() => this.vm.getState());
    const port = evaluate(args[0]!, st), value = write ? evaluate(args[1]!, st) : 0;
    if (typeof port === "string") return port;
    if (typeof value === "string") return value;
    if (port < 0 || port > 0xffff) return `${usage} (PORT is 0 to 0xffff)`;
    if (write) { this.vm.ports.write(port, size, (value >>> 0) & (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1)); return ""; }
    return `port${fmt[1]}[0x${hex(port, 4)}] = 0x${hex(this.vm.ports.read(port, size), 2 * size)}`;
  }

  /** `p [/x|/d|/u] EXPR` (QEMU's print): numbers, $registers, + and -. */
  private print(args: string[]): string {
    const fmt = args[0]?.startsWith("/") ? args.shift()! : "/x";
    if (!["/x", "/d", "/u"].includes(fmt) || args.length === 0) return "p [/x|/d|/u] EXPR: a number, $reg, + and -";
    const v = this.onCpu(() => evaluate(args.join(""), this.vm.getState()));
    if (typeof v === "string") return v;
    return fmt === "/d" ? String(v | 0) : fmt === "/u" ? String(v >>> 0) : `0x${(v >>> 0).toString(16)}`;
  }

  /** `info block` (each disk: image, size, access, where attached) or `info blockstats` (QEMU's counters by kind). */
  private block(stats: boolean): string {
    const disks = this.sources.disks?.() ?? [];
    if (disks.length === 0) return "no disks (symbiont boot --disk FILE adds one)";
    return disks.map((d) => stats
      ? `${d.id}: rd_bytes=${d.stats.readBytes} wr_bytes=${d.stats.writtenBytes} rd_operations=${d.stats.reads} wr_operations=${d.stats.writes} flush_operations=${d.stats.flushes}`
      : `${d.id}: ${d.backend.name} (${d.backend.size % 1048576 === 0 ? `${d.backend.size / 1048576} MiB` : `${d.backend.size} bytes`}, ` +
        `${Math.floor(d.backend.size / 512)} sectors, ${d.backend.readOnly ? "read-only" : "read-write"})\n    Attached to: ${d.attached}`).join("\n");
  }

  /** `balloon MB`: the guest's memory target (QEMU's: RAM less what the balloon takes); the driver gets there as it runs. */
  private setBalloon(arg: string | undefined): string {
    const balloon = this.sources.balloon, ram = this.vm.ramBytes;
    if (!balloon) return NO_BALLOON;
    const mib = Number(arg);
    if (arg === undefined || !Number.isInteger(mib) || mib < 1 || mib * 1048576 > ram) return `balloon MB: the guest's memory, 1 to ${ram / 1048576} MiB`;
    balloon.setTarget((ram - mib * 1048576) / 4096);
    balloon.requestStats();
    return `balloon: target ${mib} MiB; the guest's driver takes or gives back the pages as it runs (info balloon)`;
  }

  private infoBalloon(): string {
    const balloon = this.sources.balloon;
    if (!balloon) return NO_BALLOON;
    balloon.requestStats(); // (fresh figures for the next info balloon: the guest answers as it runs)
    return `balloon: ${formatBalloon(balloon.stats(), this.vm.ramBytes)}`;
  }

  private screendump(path: string): string {
    if (!this.sources.screen) return NO_DISPLAY;
    if (!path) return "screendump FILE: where to save the screen";
    if (!this.sources.saveFile) return "screendump: this monitor cannot write files";
    const screen = this.sources.screen();
    if (screen.kind !== "pixels" && screen.kind !== "text") return `nothing to save: ${screenLines(screen)[0]}`;
    const bytes = screen.kind === "pixels" ? ppm(screen) : new TextEncoder().encode(screenLines(screen).join("\n") + "\n");
    this.sources.saveFile(path, bytes);
    return screen.kind === "pixels" ? `${path}: ${screen.width}×${screen.height} PPM (${screen.mode})` : `${path}: the ${screen.cols}×${screen.rows} text screen`;
  }

  /** `dump-guest-memory [-p] FILE` (QEMU's): src/vmm/core-dump.ts. */
  private dumpGuestMemory(args: string[]): string {
    const paging = args[0] === "-p";
    const path = args.slice(paging ? 1 : 0).join(" ");
    if (!path || path.startsWith("-")) return "dump-guest-memory [-p] FILE: where to write the ELF core (-p: at the running vCPU's virtual addresses)";
    if (!this.sources.saveFile) return "dump-guest-memory: this monitor cannot write files";
    const core = guestCoreDump(this.vm, paging);
    this.sources.saveFile(path, core);
    return `${path}: an ELF core, ${this.vm.vcpus.length} vCPU(s) and ${(core.length / 1048576).toFixed(1)} MiB (gdb -ex "core-file ${path}")`;
  }

  /** `memsave ADDR SIZE FILE` (through the selected vCPU's page tables) and `pmemsave ADDR SIZE FILE` (physical), as QEMU's. */
  private memsave(physical: boolean, args: string[]): string {
    const name = physical ? "pmemsave" : "memsave";
    const [addrArg, sizeArg, ...file] = args;
    const path = file.join(" ");
    if (!addrArg || !sizeArg || !path) return `${name} ADDR SIZE FILE: SIZE bytes at ${physical ? "guest-physical" : "virtual"} address ADDR into FILE`;
    if (!this.sources.saveFile) return `${name}: this monitor cannot write files`;
    const st = this.vm.getState();
    const addr = evaluate(addrArg, st), size = evaluate(sizeArg, st);
    if (typeof addr === "string") return addr;
    if (typeof size === "string") return size;
    if (size < 1 || size > 0x40000000) return `${name}: SIZE from 1 byte to 1 GiB (got ${size})`;
    const read = physical ? this.physicalReader() : this.linearReader();
    const bytes = read(addr >>> 0, size);
    if (!bytes) return `${name}: ${physical ? "guest-physical" : "virtual"} 0x${hex(addr)}-0x${hex(addr + size)} is not all readable guest RAM`;
    this.sources.saveFile(path, bytes);
    return `${path}: ${size} bytes`;
  }

  private lapics(): string {
    const apics = this.sources.lapics?.() ?? [];
    if (apics.length === 0) return "no local APIC (a machine made with --no-apic, or not a PC)";
    return apics.map((a, i) => a.describe().map((l, k) => (k === 0 ? `cpu${i}: ${l}` : `  ${l}`)).join("\n")).join("\n");
  }

  /** Run one command line; the text to show (without a trailing newline). */
  execute(line: string): string {
    const words = line.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) return "";
    const [cmd, sub, ...rest] = words;
    try {
      switch (cmd) {
        case "help": case "?": return HELP;
        case "info":
          switch (sub) {
            case "registers":
              if (rest[0] === "-a") return this.vm.vcpus.map((v) => `CPU#${v.index}\n${this.vm.withVcpu(v.index, () => this.registers())}`).join("\n");
              return this.onCpu(() => this.registers());
            case "cpus": return this.cpus();
            case "exits": return this.exits();
            case "paging": return this.onCpu(() => this.paging());
            case "mem": case "tlb": return this.onCpu(() => this.qemuPaging(sub));
            case "symbiotic": return this.symbiotic();
            case "net": return this.sources.net ? this.sources.net().join("\n") || "no network traffic yet" : "no network card (symbiont boot --nic …)";
            case "swapbypass": return formatSwapBypass(this.vm.stats().paging) ?? "SwapBypass is off for this VM (boot with --swap MB --swapbypass --paging shadow --symbiotic)";
            case "lapic": return this.lapics();
            case "pci": return this.sources.pci ? describePci(this.sources.pci) : "no PCI bus (not a PC)";
            case "block": return this.block(false);
            case "blockstats": return this.block(true);
            case "pic": return this.sources.pics?.().flatMap((c) => c.describe()).join("\n") || "no interrupt controllers (not a PC)";
            case "mtree": return describeAddressSpaces(this.vm, this.sources.pci);
            case "balloon": return this.infoBalloon();
            case "status": return `VM status: ${this.paused ? "paused" : "running"}`;
            default: return `${sub === undefined ? "info what?" : `unknown: info ${sub}`} (info registers | cpus | status | exits | paging | mem | tlb | mtree | pci | pic | block | blockstats | symbiotic | net | swapbypass | lapic | balloon)`;
          }
        case "i": case "o": return this.portAccess(cmd === "o", words.slice(1));
        case "p": case "print": return this.print(words.slice(1));
        case "sym": return this.sym(sub, rest);
        case "balloon": return this.setBalloon(sub);
        case "screen": return this.sources.screen ? describeScreen(this.sources.screen()) : NO_DISPLAY;
        case "screendump": return this.screendump(words.slice(1).join(" "));
        case "dump-guest-memory": return this.dumpGuestMemory(words.slice(1));
        case "memsave": case "pmemsave": return this.onCpu(() => this.memsave(cmd === "pmemsave", words.slice(1)));
        case "sendkey":
          if (!this.sources.keyboard) return "no keyboard (a PC's i8042 has one)";
          if (!sub) return "sendkey KEYS: which keys (a, shift-a, ret, ctrl-alt-delete …)";
          this.sources.keyboard.sendScancodes(sendkeyScancodes(sub));
          return "";
        case "cpu": {
          const n = this.vm.vcpus.length;
          if (sub === undefined || !/^\d+$/.test(sub) || Number(sub) >= n) return `cpu N: a vCPU index, 0${n > 1 ? `-${n - 1}` : ""}`;
          this.cpu = Number(sub);
          return "";
        }
        case "x": case "xp": {
          const physical = cmd === "xp";
          const args = line.trim().slice(cmd.length);
          return this.onCpu(() => memoryDump(args, physical, this.dumpDefaults, this.vm.getState(), physical ? this.physicalReader() : this.linearReader()));
        }
        case "gdbserver": {
          if (!this.sources.gdbserver) return "gdbserver: this monitor cannot start a GDB stub (symbiont run/boot with one VM can)";
          const port = sub === undefined ? 1234 : /^\d+$/.test(sub) && Number(sub) <= 65535 ? Number(sub) : null;
          if (port === null) return "gdbserver [PORT]: a TCP port, 0-65535 (default 1234; 0: a free one)";
          return this.sources.gdbserver(port);
        }
        case "nmi":
          for (const v of this.vm.vcpus) this.vm.nmiVcpu(v.index);
          return "";
        case "system_reset":
          if (!this.sources.reset) return "system_reset: this monitor cannot reset the machine";
          this.sources.reset();
          return "resetting the machine";
        case "savevm": case "loadvm": {
          if (!this.sources.snapshot) return `${cmd}: this monitor cannot save or load snapshots (symbiont run and boot can)`;
          const path = words.slice(1).join(" ");
          if (!path) return `${cmd} FILE: the snapshot's file`;
          return cmd === "savevm" ? this.sources.snapshot.save(path) : this.sources.snapshot.load(path);
        }
        case "stop": this.paused = true; return "guest paused (cont resumes)";
        case "cont": case "c": this.paused = false; return "guest running";
        case "quit": case "q": this.quitRequested = true; return "";
        default: return `unknown command "${cmd}" (help lists them)`;
      }
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  }

  /** `fn` with the selected vCPU in the core. */
  private onCpu<T>(fn: () => T): T { return this.vm.withVcpu(this.cpu, fn); }

  private cpus(): string {
    return this.vm.vcpus.map((v) => {
      const st = this.vm.withVcpu(v.index, () => this.vm.getState());
      return `${v.index === this.cpu ? "*" : " "} CPU #${v.index}: pc=0x${hex(st.cs.base + st.eip)}${this.vm.isHalted(v.index) ? " (halted)" : ""}`;
    }).join("\n");
  }

  /** Guest-physical bytes, RAM only (a monitor's read must not reach a device register). */
  private physicalReader() {
    return (pa: number, len: number) => (pa + len <= 2 ** 32 && this.vm.memory.isRam(pa, len) ? this.vm.memory.read(pa, len) : null);
  }

  /** Bytes at linear addresses through the running vCPU's page tables. */
  private linearReader() {
    const st = this.vm.getState();
    const regs = { cr0: st.cr0, cr3: st.cr3, cr4: st.cr4, efer: st.efer };
    return (lin: number, len: number) => readLinear(this.vm.memory, regs, lin, len);
  }

  private registers(): string {
    const s = this.vm.getState();
    const flags = "ODITSZ-A-P-C".split("").map((c, i) => (c !== "-" && (s.eflags & (1 << (11 - i))) !== 0 ? c : "-")).join("");
    const seg = (name: string, g: SegmentState) => `${name.padEnd(3)}=${hex(g.selector, 4)} ${hex(g.base)} ${hex(g.limit)} ${hex(g.attr)}`;
    return [
      `EAX=${hex(s.eax)} EBX=${hex(s.ebx)} ECX=${hex(s.ecx)} EDX=${hex(s.edx)}`,
      `ESI=${hex(s.esi)} EDI=${hex(s.edi)} EBP=${hex(s.ebp)} ESP=${hex(s.esp)}`,
      `EIP=${hex(s.eip)} EFL=${hex(s.eflags)} [${flags}] CPL=${s.cpl} HLT=${s.halted ? 1 : 0}`,
      ...(["es", "cs", "ss", "ds", "fs", "gs"] as const).map((n) => seg(n.toUpperCase(), s[n])),
      seg("LDT", s.ldtr), seg("TR", s.tr),
      `GDT=     ${hex(s.gdtr.base)} ${hex(s.gdtr.limit)}`,
      `IDT=     ${hex(s.idtr.base)} ${hex(s.idtr.limit)}`,
      `CR0=${hex(s.cr0)} CR2=${hex(s.cr2)} CR3=${hex(s.cr3)} CR4=${hex(s.cr4)} EFER=${hex(s.efer)}`,
    ].join("\n");
  }

  /** `info mem` / `info tlb` of the selected vCPU's tables, in QEMU's format. */
  private qemuPaging(which: "mem" | "tlb"): string {
    const s = this.vm.getState();
    if (pagingMode(s) === "none") return "PG disabled"; // (QEMU's answer)
    return (which === "mem" ? infoMem : infoTlb)(this.vm.memory, s).join("\n");
  }

  private exits(): string {
    const st = this.vm.stats();
    const rows = Object.entries(st.exits).sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((n, [, v]) => n + v, 0);
    return [
      `instructions ${st.instructions}, exits ${total}`,
      ...rows.map(([k, v]) => `  ${k.padEnd(14)} ${String(v).padStart(12)}`),
    ].join("\n");
  }

  private paging(): string {
    const s: CpuState = this.vm.getState();
    const mode = pagingMode(s);
    if (mode === "none") return "paging off (CR0.PG=0): linear = physical";
    const bit = (v: number, b: number) => ((v & b) !== 0 ? 1 : 0);
    const head = `paging ${mode}: CR3=${hex(s.cr3)} CR0.WP=${bit(s.cr0, 1 << 16)} CR4.PSE=${bit(s.cr4, 0x10)} CR4.PGE=${bit(s.cr4, 0x80)}` +
      (mode === "pae" ? ` EFER.NXE=${bit(s.efer, 0x800)}` : "");
    const limit = 64;
    const ranges = listMappings(this.vm.memory, s, limit + 1);
    const lines = ranges.slice(0, limit).map((r) =>
      `${hex(r.start)}-${hex(r.end)} ${hex(r.end - r.start)} ${r.user ? "u" : "-"}r${r.writable ? "w" : "-"}${mode === "pae" ? (r.noExec ? "-" : "x") : ""} -> ${hex(r.pa)}`);
    if (ranges.length > limit) lines.push(`… more than ${limit} ranges`);
    return [head, ...lines].join("\n");
  }

  private symbiotic(): string {
    const sym = this.vm.symbiotic;
    if (!sym) return "the symbiotic interfaces are off for this VM";
    const out: string[] = ["discovery: CPUID 0x90000000 answers \"V3V\" \"VMX\"; CPUID.1:ECX[31] set"];
    const g = sym.global;
    if (!g) out.push("SymSpy global page: not registered (MSR 0x534)");
    else {
      out.push(`SymSpy global page: GPA 0x${hex(g.gpa)}, magic "${g.magic}", features 0x${g.featureFlags.toString(16)}`);
      const e = g.ext;
      out.push(e
        ? `  memory: total ${e.memTotalKiB} KiB, free ${e.memFreeKiB} KiB, available ${e.memAvailableKiB} KiB, swap used ${e.swapTotalKiB - e.swapFreeKiB} of ${e.swapTotalKiB} KiB; ${e.tasks} processes; ${e.updates} updates${e.stale ? " (stale: the guest was mid-update)" : ""}`
        : "  (the guest fills no extension)");
    }
    const vcpus = sym.spy.vcpus;
    for (let v = 0; v < vcpus; v++) {
      const l = sym.local(v);
      if (!l) { out.push(`SymSpy local page, vCPU ${v}: not registered (MSR 0x535)`); continue; }
      out.push(`SymSpy local page, vCPU ${v}: GPA 0x${hex(l.gpa)}, magic "${l.magic}", SymCall ${l.symCallEnabled ? "enabled" : "not enabled"}${l.symCallActive ? ", a call is active" : ""}`);
      const e = l.ext;
      if (e) out.push(`  running: ${describeTask(e.pid, e.tid, e.comm, e.kernelThread, e.idle)}; ${e.switches} context switches${e.stale ? " (stale)" : ""}`);
      const m = sym.symcall.entry(v);
      out.push(`SymCall, vCPU ${v}: entry ${hex(m.cs, 4)}:${hex(m.rip)} stack ${hex(m.rsp)} FS base ${hex(m.fs)} GS base ${hex(m.gs)}`);
    }
    const st = sym.symcall.stats;
    out.push(`SymCalls: ${st.calls} made, ${st.failed} failed, ${st.instructions} guest instructions; budget ${sym.budget} instructions per call`);
    return out.join("\n");
  }

  private sym(sub: string | undefined, args: string[]): string {
    const sym = this.vm.symbiotic;
    if (!sym) return "the symbiotic interfaces are off for this VM";
    // A guest that never registered SymSpy runs no symbiotic module: say how to get one.
    const failed = (error: string) => `error: ${error}${sym.local(0) ? "" : "\n(no symbiotic guest: boot with --symbiotic, or insmod symbiotic.ko in the guest)"}`;
    switch (sub) {
      case "ps": {
        const r = guestProcesses(sym);
        if (!r.ok) return failed(r.error);
        return [
          "  PID  PPID   UID STAT      VSZ      RSS COMMAND",
          ...r.value.map((t) => `${String(t.pid).padStart(5)} ${String(t.ppid).padStart(5)} ${String(t.uid).padStart(5)} ${t.state.padEnd(4)} ${String(t.vszKiB).padStart(8)} ${String(t.rssKiB).padStart(8)} ${t.kernelThread ? `[${t.comm}]` : t.comm}`),
        ].join("\n");
      }
      case "current": {
        const out: string[] = [];
        for (let v = 0; v < this.vm.vcpus.length; v++) {
          const l = sym.local(v);
          out.push(l?.ext ? `vCPU ${v}: SymSpy (read without an exit): ${describeTask(l.ext.pid, l.ext.tid, l.ext.comm, l.ext.kernelThread, l.ext.idle)}` : `vCPU ${v}: SymSpy: the guest publishes no running task`);
          const r = guestCurrent(sym, v);
          out.push(r.ok ? `vCPU ${v}: SymCall CURRENT: ${describeTask(r.value.pid, r.value.tid, r.value.comm, r.value.kernelThread, r.value.pid === 0)} on CPU ${r.value.cpu}, state ${r.value.state}` : `vCPU ${v}: SymCall CURRENT: error: ${r.error}`);
        }
        return out.join("\n");
      }
      case "vaddr": {
        if (args.length !== 2) return "usage: sym vaddr PID ADDR (ADDR in hex, 0x optional)";
        const pid = Number(args[0]);
        const addr = parseInt(args[1]!.replace(/^0x/i, ""), 16);
        if (!Number.isInteger(pid) || pid < 0) return `bad PID "${args[0]}"`;
        if (!/^(0x)?[0-9a-f]{1,8}$/i.test(args[1]!)) return `bad address "${args[1]}" (hex, up to 8 digits)`;
        const r = guestVaddr(sym, pid, addr);
        if (!r.ok) return r.code !== undefined && GUEST_ERRNO[r.code] === "ESRCH" ? `no process ${pid} in the guest (MEM_LOOKUP answered ESRCH)` : failed(r.error);
        const v = r.value;
        const who = pid === 0 ? "the running task" : `pid ${pid}`;
        if (v.vaddr === 0) {
          // PID 0 is the task the vCPU ran: a kernel thread (the idle task, often) has no user address space.
          const task = pid === 0 ? sym.local(0)?.ext : undefined;
          const kernel = task && (task.kernelThread || task.idle) ? ` (${describeTask(task.pid, task.tid, task.comm, true, task.idle)} is a kernel thread: no user address space)` : "";
          return `0x${hex(addr)} in ${who}: not mapped${kernel}`;
        }
        const perms = `${v.readable ? "r" : "-"}${v.writable ? "w" : "-"}${v.executable ? "x" : "-"}`;
        return `0x${hex(addr)} in ${who}: mapped by ${hex(v.start)}-${hex(v.end)} ${perms}; PTE 0x${hex(v.pte)} (${v.present ? "present" : v.pte === 0 ? "none yet" : "not present"})`;
      }
      case "meminfo": {
        const r = guestMeminfo(sym);
        if (!r.ok) return failed(r.error);
        const m = r.value;
        return `MemTotal ${m.totalKiB} kB, MemFree ${m.freeKiB} kB, MemAvailable ${m.availableKiB} kB, SwapTotal ${m.swapTotalKiB} kB, SwapFree ${m.swapFreeKiB} kB`;
      }
      case "test": {
        const r = sym.call(SymcallNr.TEST, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555);
        return r.ok ? `SYMCALL_TEST answered ${r.regs.map((x) => hex(x)).join(" ")} in ${r.instructions} guest instructions` : failed(r.error);
      }
      default: return `${sub === undefined ? "sym what?" : `unknown: sym ${sub}`} (sym ps | current | vaddr PID ADDR | meminfo | test)`;
    }
  }
}

function describeTask(pid: number, tid: number, comm: string, kernel: boolean, idle: boolean): string {
  return `pid ${pid}${tid !== pid ? ` (thread ${tid})` : ""} ${kernel ? `[${comm}]` : comm}${idle ? " (idle)" : ""}`;
}
