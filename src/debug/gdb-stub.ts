/**
 * A GDB stub for one VM (GDB manual, "Remote Protocol"; QEMU's `-gdb`): GDB reads and writes
 * the registers and the guest's virtual memory, sets breakpoints (software ones, and "hardware" ones
 * set the same way, as QEMU's TCG does) and write, read and access watchpoints, continues, single-steps and interrupts,
 * over any byte transport (src/node/gdb-server.ts gives it a TCP socket). Each vCPU is a thread, as
 * in QEMU's stub (thread i + 1 is vCPU i, "CPU#i [running]" or "[halted ]"): registers and memory are
 * those of the thread GDB selects (Hg, which a stop moves to the vCPU that stopped), any stop stops
 * every vCPU (all-stop), and vCont resumes the threads it names — stepping some, continuing others, the
 * rest held where they are (GDB's `set scheduler-locking on`); s and c step the Hc thread or none while
 * every vCPU runs.
 *
 * Built on the VMM's exits, not beside them:
 *  - a software breakpoint is an INT3 the stub plants in guest memory (GDB reads the original byte
 *    back), with the exception bitmap intercepting #BP; an INT3 the guest placed itself goes on to
 *    the guest, stepped over with interception off;
 *  - a single step is the monitor trap flag (one instruction, no interrupt taken first, as QEMU's
 *    default);
 *  - a watchpoint takes permissions of its page away in the guest-physical map — a write watchpoint
 *    the write permission, a read or access one all but execute (an execute-only page, as EPT has
 *    them) — so that an access there is an EPT violation; the stub gives back what the access needs
 *    (read, or write) for one instruction (the monitor trap flag) and reports after it, as a debug
 *    register's trap would, if it was of a kind the watchpoint watches (the page walker reading a
 *    paging entry there, a read of a write watchpoint's bytes go on without a stop).
 * Addresses are linear, translated through the guest's page tables (src/vmm/guest-paging.ts). The
 * x87 registers, MXCSR and the system registers (CR0-CR4, EFER, the FS/GS bases) are read, not written.
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import type { MapEntry } from "../vmm/memory.js";
import { Control } from "../engine/core.js";
import { GPR_NAMES, type CpuState } from "../vmm/cpu-state.js";
import { translateLinear } from "../vmm/guest-paging.js";
import { PacketReader, framePacket, hexLE, hexBytes, parseHexBytes } from "./gdb-packets.js";
import { ExecutionHistory, type HistoryEvent, type RewindableMachine, type VcpuActions } from "./history.js";

const BP = 3;
const PAGE = 4096;
/** Who asks the VM for monitor-trap exits here (Vm.requestMonitorTrap). */
const MTF_OWNER = "gdb stub";
/**
 * GDB's single steps ask for the monitor trap flag under a name of their own, for the vCPU they step: they stop after
 * each iteration of a REP string instruction, as a step does on hardware (TF) and under QEMU (and so does the stub's
 * pass over a watched access: see onWatchedAccess).
 */
const STEP_OWNER = "gdb step";
const SIGINT = 2, SIGTRAP = 5;
const PTE_A = 0x20, PTE_D = 0x40; // a paging entry's accessed and dirty bits (both in its low byte)

/** Why a stop happened, for a reverse-continue's scan of the past (which stops count as hits). */
type StopKind = "breakpoint" | "watch" | "step" | "interrupt";
/**
 * A replay under way: whether it scans for breakpoint and watchpoint hits, those it met (their counts; a watchpoint's
 * met inside a REP string instruction, before it retired, also which of those at its count it was), a breakpoint hit
 * to step over, and the pages of breakpoints whose code the guest had not written yet at the checkpoint.
 */
interface Replay { scan: boolean; hits: Hit[]; stepOver: number | null; codeToCome: Set<number> }
interface Hit { at: number; kind: "breakpoint" | "watch"; inside?: number }

/** GDB's Z2, Z3, Z4: which accesses stop. */
type WatchKind = "write" | "read" | "access";
interface Watchpoint { kind: WatchKind; lin: number; len: number; /** Each byte's guest-physical address. */ pas: number[] }
/** The stop reply's field for each kind (GDB manual, "Stop Reply Packets"). */
const WATCH_REASON: Record<WatchKind, string> = { write: "watch", read: "rwatch", access: "awatch" };
const WATCH_TYPE: Record<string, WatchKind> = { 2: "write", 3: "read", 4: "access" };

/**
 * The registers in GDB's numbering (target.xml below): 16 general, 8 x87, 8 x87 control, 8 XMM, MXCSR,
 * then the system registers QEMU's stub shows too (read-only here).
 */
const CORE_REGS = 16, X87_REGS = 8, X87_CONTROL = 8, XMM_REGS = 8;
const XMM_FIRST = CORE_REGS + X87_REGS + X87_CONTROL;
const MXCSR_REG = XMM_FIRST + XMM_REGS;
const SYSTEM_REGS = ["fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "efer"] as const;
const SYSTEM_FIRST = MXCSR_REG + 1;
const LAST_REG = SYSTEM_FIRST + SYSTEM_REGS.length - 1;

export class GdbStub {
  /** The guest waits for GDB (the run loop does not run it). */
  halted = true;
  /** GDB asked to end the session with the guest (k). */
  killed = false;
  private readonly reader = new PacketReader();
  private noAck = false;
  private swbreak = false;
  private hwbreak = false;
  /** GDB speaks the multiprocess extensions: thread-ids are `pPID.TID` (one process, 1). */
  private multiprocess = false;
  private lastSent = "";
  /** The last stop, for '?': its signal, the reason's field (watch:…;), the vCPU that stopped. */
  private lastStop = { signal: SIGTRAP, why: "", vcpu: 0 };
  /** The vCPU whose registers and memory GDB reads and writes (Hg; a stop selects the vCPU that stopped). */
  private gThread = 0;
  /** The vCPU a step is for (Hc), or null: the one that last stopped. */
  private cThread: number | null = null;
  private detached = false;
  /**
   * Breakpoints by linear address: the guest-physical byte the INT3 replaced, and which kinds GDB set there
   * (0 software, 1 "hardware": an INT3 too — QEMU's TCG sets both kinds alike — reported as a debug register's fault).
   * (The INT3 is in the frame the address maps to now; another linear address mapping that frame would pass
   * its INT3 on to the guest.)
   */
  private readonly breakpoints = new Map<number, { pa: number; byte: number; kinds: Set<string> }>();
  /** Whether the breakpoints' INT3s are in guest memory (not while a checkpoint is saved, nor in a plain replay). */
  private inserted = true;
  /** The vCPUs whose single step GDB asked for is under way. */
  private readonly stepping = new Set<number>();
  /** The history's entry for the last step GDB asked for (told, when it stops, whether the step retired the instruction). */
  private lastStep: HistoryEvent | null = null;
  /**
   * Where the guest stopped inside a REP string instruction that a continue ran (a watchpoint's stop going forward, or
   * reverse-continue's and reverse-stepi's landings there): the count and ECX then — a position the history's counts
   * and logged steps do not name. Going back from it goes back iteration by iteration, as under QEMU (whose
   * instruction count counts iterations). Valid while the guest is still there (the count and ECX unchanged). One
   * vCPU only: with more, a landing goes to the count, before the instruction (the others would run meanwhile).
   */
  private insideRep: { at: number; ecx: number } | null = null;
  /** A guest INT3 is being let through (interception off for one instruction). */
  private passingInt3 = false;
  /** Watchpoints by kind, linear address and length. */
  private readonly watchpoints: Watchpoint[] = [];
  /**
   * Guest pages a watchpoint covers — and, in a scan of the past, a breakpoint's whose code was not there yet at the
   * checkpoint (without write permission: the INT3 stays over the code the guest writes there later, loading or
   * relocating it) —: their own entries, which the stub narrows meanwhile.
   */
  private readonly watchedPages = new Map<number, Extract<MapEntry, { kind: "mapped" }>>();
  /**
   * Pages given permissions back for the instruction (or REP iteration) in flight, the first watchpoint it hit, and
   * the bytes of the write watchpoints on a page it got to write, as they were (see onWatchedAccess).
   */
  private passingWatch: { pages: Set<number>; hit: Watchpoint | null; before: Map<Watchpoint, number[]>; retired: number } | null = null;
  /** The recorded past, for reverse execution (null: none, `noHistory` says why). */
  private history: ExecutionHistory | null = null;
  private noHistory = "";
  /** A replay of the past under way (the stops it meets are not GDB's). */
  private replay: Replay | null = null;

  /**
   * `write` sends bytes to GDB; `monitor`, when given, answers GDB's `monitor CMD` (qRcmd) — the VMM
   * monitor's commands (src/vmm/monitor.ts); `rewind`: the machine, for reverse execution (a history is recorded from
   * now on), or why it cannot go back.
   */
  constructor(private readonly vm: Vm, private readonly write: (data: string) => void, private readonly monitor?: (command: string) => string,
    rewind: RewindableMachine | string = "this machine has no recorded history") {
    vm.onException((e) => (e.vector === BP && !this.detached ? this.onBreakpoint() : undefined));
    vm.onMonitorTrap(() => (this.stepping.has(vm.vcpu.index) || this.passingInt3 || this.passingWatch ? this.onStepped() : undefined));
    vm.onEptViolation((e) => {
      if (!this.watchedPages.has(e.gpa - (e.gpa % PAGE))) return undefined;
      return e.walk && e.access === "write" ? this.onWatchedWalk(e.gpa) : this.onWatchedAccess(e.gpa, e.bytes, e.walk ? "walk" : e.access);
    });
    this.setIntercept(true);
    if (typeof rewind === "string") this.noHistory = rewind;
    else {
      try { this.history = new ExecutionHistory(rewind); } catch (e) { this.noHistory = (e as Error).message; }
    }
  }

  /** Bytes from GDB. */
  receive(bytes: Uint8Array): void {
    this.reader.feed(bytes, (input) => {
      if (input.kind === "nak") { if (this.lastSent) this.write(this.lastSent); return; }
      if (input.kind === "interrupt") { if (!this.halted) this.stop(SIGINT); return; }
      if (!this.noAck) this.write("+");
      const reply = this.handle(input.data);
      if (reply !== null) this.send(reply);
    }, () => { if (!this.noAck) this.write("-"); });
  }

  /** The guest's run ended (its exit status for GDB: W). */
  exited(status: number): void {
    if (!this.detached) this.send(`W${hexLE(status & 0xff, 1)}`);
  }

  /** GDB went away: the breakpoints go, the guest runs on. */
  detach(): void {
    this.dropHistory("GDB left, and the history with it");
    for (const addr of [...this.breakpoints.keys()]) this.removeBreakpoint(addr);
    this.watchpoints.length = 0;
    this.protectWatched();
    this.setIntercept(false);
    this.detached = true;
    this.cancelStep();
    for (const v of this.vm.vcpus) v.held = false;
    this.halted = false;
  }

  private send(data: string): void {
    this.lastSent = framePacket(data);
    this.write(this.lastSent);
  }

  /**
   * Stop the guest — every vCPU, a step under way ending with it — and tell GDB why, naming the running vCPU's
   * thread (`why`: a stop reason's field). `inside`: a watchpoint hit by an iteration of a REP string instruction
   * that has not retired yet.
   */
  private stop(signal: number, why = "", kind: StopKind = "interrupt", inside = false): void {
    this.cancelStep();
    if (this.replay) {
      // (In a replay: a scan notes breakpoint and watchpoint hits — where a continue would have stopped — and goes on.)
      if (this.replay.scan && (kind === "breakpoint" || kind === "watch")) {
        const at = this.vm.core.getRetired(), hits = this.replay.hits;
        hits.push(inside ? { at, kind, inside: hits.filter((h) => h.at === at && h.inside !== undefined).length } : { at, kind });
      }
      this.vm.requestStop({ kind: "budget" });
      return;
    }
    this.halted = true;
    const vcpu = this.vm.vcpu.index;
    this.lastStop = { signal, why, vcpu };
    this.gThread = vcpu; // (GDB takes the thread a stop names as the selected one)
    this.cThread = null;
    this.vm.requestStop({ kind: "budget" });
    this.send(this.stopReply());
  }
  private stopReply(): string {
    const { signal, why, vcpu } = this.lastStop;
    return `T${hexLE(signal, 1)}${why}thread:${this.threadId(vcpu)};`;
  }

  private handle(p: string): string | null {
    switch (p[0]) {
      case "?": return this.stopReply();
      case "g": return this.readRegisters();
      case "G": return "E01"; // (GDB writes one register at a time with P)
      case "p": return this.readRegister(parseInt(p.slice(1), 16));
      case "P": return this.writeRegister(p.slice(1));
      case "m": return this.readMemory(p.slice(1));
      case "M": return this.writeMemory(p.slice(1));
      case "Z": case "z": return this.breakpoint(p);
      case "c": this.resume(p.slice(1), false); return null;
      case "s": this.resume(p.slice(1), true); return null;
      case "b": return p === "bs" ? this.reverse(false) : p === "bc" ? this.reverse(true) : "";
      case "D": this.detach(); return "OK";
      case "k": this.killed = true; this.detach(); return null;
      case "H": return this.selectThread(p[1]!, p.slice(2));
      case "T": return typeof this.parseThread(p.slice(1)) === "number" ? "OK" : "E01";
      case "q": case "Q": return this.query(p);
      case "v": return p === "vCont?" ? "vCont;c;C;s;S" : p.startsWith("vCont;") ? this.vCont(p.slice("vCont;".length)) : "";
      default: return ""; // not supported
    }
  }

  private query(p: string): string {
    if (p.startsWith("qSupported")) {
      this.swbreak = p.includes("swbreak+");
      this.hwbreak = p.includes("hwbreak+");
      this.multiprocess = p.includes("multiprocess+");
      return `PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;ReverseStep+;ReverseContinue+${this.swbreak ? ";swbreak+" : ""}${this.hwbreak ? ";hwbreak+" : ""}` +
        (this.multiprocess ? ";multiprocess+" : "");
    }
    if (p === "QStartNoAckMode") { this.noAck = true; return "OK"; }
    if (p.startsWith("qXfer:features:read:target.xml:")) {
      const [off, len] = p.slice("qXfer:features:read:target.xml:".length).split(",").map((x) => parseInt(x, 16));
      const part = TARGET_XML.slice(off!, off! + len!);
      return (off! + len! >= TARGET_XML.length ? "l" : "m") + part;
    }
    if (p === "qAttached" || p.startsWith("qAttached:")) return "1";
    if (p === "qC") return `QC${this.threadId(this.gThread)}`;
    if (p === "qfThreadInfo") return `m${this.vm.vcpus.map((v) => this.threadId(v.index)).join(",")}`;
    if (p === "qsThreadInfo") return "l";
    if (p.startsWith("qThreadExtraInfo,")) {
      const i = this.parseThread(p.slice("qThreadExtraInfo,".length));
      if (typeof i !== "number") return "E01";
      return hexBytes(new TextEncoder().encode(`CPU#${i} [${this.vm.isHalted(i) ? "halted " : "running"}]`));
    }
    if (p.startsWith("qSymbol")) return "OK";
    if (p.startsWith("qRcmd,")) {
      const command = parseHexBytes(p.slice("qRcmd,".length));
      if (!this.monitor || !command) return "";
      const text = this.monitor(new TextDecoder().decode(command));
      if (text) this.tell(text);
      return "OK";
    }
    return "";
  }

  // ---- threads: the vCPUs --------------------------------------------------------------------

  /** vCPU i's thread-id: i + 1, in process 1 when GDB speaks multiprocess (`p01.02`, as QEMU's stub writes them). */
  private threadId(i: number): string {
    const tid = hexLE(i + 1, 1);
    return this.multiprocess ? `p01.${tid}` : tid;
  }

  /** A thread-id from GDB (`TID` or `pPID[.TID]`, hex, -1 all, 0 any): the vCPU's index, "all", "any", or null for none of ours. */
  private parseThread(s: string): number | "all" | "any" | null {
    let tid = s;
    if (s.startsWith("p")) {
      const [pid, t] = s.slice(1).split(".");
      if (pid !== "-1" && !/^0*[01]$/.test(pid!)) return null;
      tid = t ?? "-1";
    }
    if (tid === "-1") return "all";
    if (!/^[0-9a-f]+$/i.test(tid)) return null;
    const n = parseInt(tid, 16);
    return n === 0 ? "any" : n <= this.vm.vcpus.length ? n - 1 : null;
  }

  /** Hg (the thread registers and memory are read from) or Hc (the thread a step is for); "any" or "all" leave g as it is. */
  private selectThread(op: string, id: string): string {
    const t = this.parseThread(id);
    if (t === null || (op !== "g" && op !== "c")) return "E01";
    if (op === "c") this.cThread = typeof t === "number" ? t : null;
    else if (typeof t === "number") this.gThread = t;
    return "OK";
  }

  /** `fn` with the selected thread's vCPU in the core. */
  private onThread<T>(fn: () => T): T { return this.vm.withVcpu(this.gThread, fn); }

  // ---- registers ------------------------------------------------------------------------------

  private coreRegister(i: number, st: CpuState): number {
    if (i < 8) return st[GPR_NAMES[i]!];
    if (i === 8) return st.eip;
    if (i === 9) return st.eflags;
    // (GDB's order, not the CPU's es cs ss ds fs gs)
    return st[(["cs", "ss", "ds", "es", "fs", "gs"] as const)[i - 10]!].selector;
  }

  /** Register i in the 'g' packet's encoding, from `st` (the x87 ones from a fresh core.fpuDebugState()). */
  private registerHex(i: number, st: CpuState): string {
    if (i < CORE_REGS) return hexLE(this.coreRegister(i, st), 4);
    if (i < MXCSR_REG && i >= XMM_FIRST) return hexBytes(this.coreBytes(this.vm.core.xmmBase() + (i - XMM_FIRST) * 16, 16));
    const fpu = this.vm.core.fpuDebugBase();
    if (i < CORE_REGS + X87_REGS) return hexBytes(this.coreBytes(fpu + (i - CORE_REGS) * 10, 10));
    if (i < XMM_FIRST) return hexBytes(this.coreBytes(fpu + 80 + (i - CORE_REGS - X87_REGS) * 4, 4));
    if (i === MXCSR_REG) return hexBytes(this.coreBytes(fpu + 80 + 32, 4));
    return hexLE(this.systemRegister(SYSTEM_REGS[i - SYSTEM_FIRST]!, st), 4);
  }

  private systemRegister(name: (typeof SYSTEM_REGS)[number], st: CpuState): number {
    return name === "fs_base" ? st.fs.base : name === "gs_base" ? st.gs.base : st[name];
  }

  private coreBytes(at: number, n: number): Uint8Array { return new Uint8Array(this.vm.engine.buffer, at, n); }

  private readRegisters(): string {
    return this.onThread(() => {
      this.vm.core.fpuDebugState();
      const st = this.vm.getState();
      let s = "";
      for (let i = 0; i <= LAST_REG; i++) s += this.registerHex(i, st);
      return s;
    });
  }

  private readRegister(i: number): string {
    if (!(Number.isInteger(i) && i >= 0 && i <= LAST_REG)) return "E00";
    return this.onThread(() => {
      this.vm.core.fpuDebugState();
      return this.registerHex(i, this.vm.getState());
    });
  }

  private writeRegister(arg: string): string {
    const [n, v] = arg.split("=");
    const i = parseInt(n!, 16), bytes = parseHexBytes(v ?? "");
    if (!bytes || bytes.length !== 4 || !(i >= 0 && i < 10)) return "E01"; // the general registers, EIP and EFLAGS
    const value = new DataView(bytes.buffer).getUint32(0, true);
    const thread = this.gThread;
    const write = () => this.vm.withVcpu(thread, () => this.vm.setState(i < 8 ? { [GPR_NAMES[i]!]: value } : i === 8 ? { eip: value } : { eflags: value }));
    write();
    this.history?.record("write", write);
    return "OK";
  }

  // ---- memory ---------------------------------------------------------------------------------

  /** Linear → guest-physical (RAM only, else null) as the selected thread's page tables are now. */
  private translator(): (lin: number) => number | null {
    const st = this.onThread(() => this.vm.getState());
    const regs = { cr0: st.cr0, cr3: st.cr3, cr4: st.cr4, efer: st.efer };
    return (lin) => {
      const m = translateLinear(this.vm.memory, regs, lin);
      return m && this.vm.memory.lookup(m.pa).kind === "mapped" ? m.pa : null;
    };
  }

  /**
   * The byte at guest-physical `pa` through the page's host frame: the debugger's view, whatever
   * permissions a watchpoint took from the guest (the frame's own, the watched page's saved entry).
   */
  private hostAddress(pa: number): number {
    const page = pa - (pa % PAGE), own = this.watchedPages.get(page);
    const e = own ?? this.vm.memory.lookup(page);
    if (e.kind !== "mapped") throw new Error(`gdb stub: 0x${pa.toString(16)} is not RAM`); // (translator() checked it)
    return e.frame + (pa % PAGE);
  }
  private peek(pa: number): number { return this.vm.memory.readHost(this.hostAddress(pa), 1)[0]!; }
  private poke(pa: number, b: number): void { this.vm.memory.writeHost(this.hostAddress(pa), Uint8Array.of(b)); }

  private readMemory(arg: string): string {
    const [a, l] = arg.split(",").map((x) => parseInt(x, 16));
    if (!Number.isFinite(a) || !Number.isFinite(l) || l! > 0x10000) return "E01";
    let s = "";
    const physical = this.translator();
    for (let k = 0; k < l!; k++) {
      const lin = (a! + k) >>> 0;
      const planted = this.breakpoints.get(lin);
      const pa = physical(lin);
      if (pa === null) return k > 0 ? s : "E14"; // (a partial read ends at the first unmapped byte)
      s += (planted ? planted.byte : this.peek(pa)).toString(16).padStart(2, "0");
    }
    return s;
  }

  private writeMemory(arg: string): string {
    const colon = arg.indexOf(":");
    const [a, l] = arg.slice(0, colon).split(",").map((x) => parseInt(x, 16));
    const data = parseHexBytes(arg.slice(colon + 1));
    if (colon < 0 || !data || data.length !== l || !Number.isFinite(a)) return "E01";
    const targets: number[] = [];
    const physical = this.translator();
    for (let k = 0; k < data.length; k++) {
      const pa = physical((a! + k) >>> 0);
      if (pa === null) return "E14";
      targets.push(pa);
    }
    const write = () => data.forEach((b, k) => {
      const planted = this.breakpoints.get((a! + k) >>> 0);
      if (planted && this.inserted) planted.byte = b; // the INT3 stays; GDB sees its own byte behind it
      else this.poke(targets[k]!, b);
    });
    write();
    this.history?.record("write", write);
    return "OK";
  }

  // ---- breakpoints, continue, step ------------------------------------------------------------

  private breakpoint(p: string): string {
    const [type, addr, kind] = p.slice(1).split(",");
    const lin = parseInt(addr!, 16) >>> 0;
    if (WATCH_TYPE[type!]) return this.watchpoint(p[0] === "Z", WATCH_TYPE[type!]!, lin, parseInt(kind!, 16));
    if (type !== "0" && type !== "1") return "";
    if (p[0] === "z") { this.removeBreakpoint(lin, type!); return "OK"; }
    const planted = this.breakpoints.get(lin);
    if (planted) { planted.kinds.add(type!); return "OK"; }
    const pa = this.translator()(lin);
    if (pa === null) return "E14";
    this.breakpoints.set(lin, { pa, byte: this.peek(pa), kinds: new Set([type!]) });
    this.poke(pa, 0xcc);
    return "OK";
  }

  /** Take GDB's breakpoint of that kind (every kind when none is named) out; the INT3 goes with the last. */
  private removeBreakpoint(lin: number, kind?: string): void {
    const b = this.breakpoints.get(lin);
    if (!b) return;
    if (kind !== undefined) b.kinds.delete(kind); else b.kinds.clear();
    if (b.kinds.size > 0) return;
    this.breakpoints.delete(lin);
    this.poke(b.pa, b.byte);
  }

  // ---- watchpoints ----------------------------------------------------------------------------

  /** Z2-Z4 (insert) or z2-z4 (remove): a write, read or access watchpoint on guest RAM. */
  private watchpoint(insert: boolean, kind: WatchKind, lin: number, len: number): string {
    if (!(len >= 1 && len <= 4096)) return "E01";
    const at = this.watchpoints.findIndex((w) => w.kind === kind && w.lin === lin && w.len === len);
    if (!insert) { if (at >= 0) this.watchpoints.splice(at, 1); this.protectWatched(); return "OK"; }
    if (at >= 0) return "OK";
    const physical = this.translator(), pas: number[] = [];
    for (let k = 0; k < len; k++) {
      const pa = physical((lin + k) >>> 0); // (RAM only)
      if (pa === null) return "E14";
      pas.push(pa);
    }
    this.watchpoints.push({ kind, lin, len, pas });
    this.protectWatched();
    return "OK";
  }

  /**
   * Narrow every watched page — no write permission under a write watchpoint (or a breakpoint, in a scan of the past),
   * execute-only under a read or access watchpoint (the instructions on the page run on; a fetch is no read a debug
   * register would see) — and give the others theirs back.
   */
  private protectWatched(): void {
    const want = new Map<number, boolean>(); // page → whether reads must exit too
    for (const w of this.watchpoints) for (const pa of w.pas) {
      const page = pa - (pa % PAGE);
      want.set(page, (want.get(page) ?? false) || w.kind !== "write");
    }
    for (const page of this.replay?.codeToCome ?? []) if (!want.has(page)) want.set(page, false);
    for (const [page, own] of this.watchedPages) {
      if (want.has(page)) continue;
      this.vm.memory.protect(page, own, 1, own.writesExit);
      this.watchedPages.delete(page);
    }
    for (const [page, reads] of want) {
      let own = this.watchedPages.get(page);
      if (!own) {
        const e = this.vm.memory.lookup(page);
        if (e.kind !== "mapped") continue;
        own = e;
        this.watchedPages.set(page, e);
      }
      if (this.passingWatch?.pages.has(page)) continue; // (narrowed again after its instruction)
      this.vm.memory.protect(page, reads ? { exec: own.exec } : { read: own.read, write: false, exec: own.exec }, 1, false);
    }
  }

  /**
   * The page walker setting an accessed or dirty bit in a paging entry on a watched page (a guest page
   * table): no write of the program's, so no stop — a debug register's watchpoint does not see the walker
   * either, nor does QEMU's. The stub sets the bit for it (A first; D when the walk comes back for that,
   * an entry with A set being a leaf the walker marks dirty) and the instruction restarts, the page still
   * watched.
   */
  private onWatchedWalk(gpa: number): "resume" {
    const low = gpa - (gpa % 4), b = this.peek(low); // (the entry's low byte holds both bits)
    this.poke(low, b | (b & PTE_A ? PTE_D : PTE_A));
    return "resume";
  }

  /**
   * An access to a watched page: the page gets back, from its own permissions, what the access needs (read
   * and execute for a read or the walker's read of a paging entry; write for a write) until the
   * instruction has retired — a REP string instruction's iteration: a data breakpoint traps after the iteration
   * that met it (SDM vol. 3, 17.3.1.2), and the next iteration's access is checked again —, and a watchpoint of
   * that kind on the bytes accessed is the hit the stub reports then. The exit names the instruction's first access
   * to the page only: one that writes there again (PUSHA, FXSAVE, a far CALL's pushes) hits a write watchpoint it
   * changed later on the page too (what GDB reports of a write watchpoint: a change). An access the page's own
   * permissions refuse too is not the stub's to let through.
   */
  private onWatchedAccess(gpa: number, bytes: number, access: "read" | "write" | "fetch" | "walk"): "resume" | undefined {
    if (access === "fetch") return undefined; // (a watched page keeps its execute permission: the page's own refuses it)
    const page = gpa - (gpa % PAGE), own = this.watchedPages.get(page)!;
    const had = this.vm.memory.lookup(page);
    if (had.kind !== "mapped") return undefined;
    const grant = access === "write" ? { ...had, write: own.write, writesExit: own.writesExit } : { ...had, read: own.read, exec: own.exec };
    if (grant.read === had.read && grant.write === had.write && grant.exec === had.exec && grant.writesExit === had.writesExit) return undefined;
    // (The exit names the access's first byte on this page and its size.)
    const watched = (w: Watchpoint) => (access === "write" ? w.kind !== "read" : access === "read" && w.kind !== "write");
    const hit = this.watchpoints.find((w) => watched(w) && w.pas.some((pa) => pa >= gpa && pa < gpa + bytes));
    const pass = this.passingWatch ??= { pages: new Set(), hit: null, before: new Map(), retired: this.vm.core.getRetired() };
    pass.pages.add(page);
    pass.hit ??= hit ?? null;
    if (access === "write") {
      for (const w of this.watchpoints) {
        if (w.kind !== "read" && !pass.before.has(w) && w.pas.some((pa) => pa - (pa % PAGE) === page)) pass.before.set(w, w.pas.map((pa) => this.peek(pa)));
      }
    }
    this.vm.memory.protect(page, grant, 1, grant.writesExit);
    this.vm.requestMonitorTrap(MTF_OWNER, true, this.vm.vcpu.index, true);
    return "resume";
  }

  /** c or s: every vCPU runs; a step is the Hc thread's (the one that stopped unless GDB named another). */
  private resume(addr: string, step: boolean): void {
    const vcpu = this.cThread ?? this.lastStop.vcpu;
    if (addr) this.vm.withVcpu(vcpu, () => this.vm.setState({ eip: parseInt(addr, 16) >>> 0 }));
    this.resumeVcpus(this.vm.vcpus.map((v) => (step && v.index === vcpu ? "s" : "c")));
  }

  /**
   * vCont;ACTION[:THREAD]…: each vCPU takes the first action naming it (or naming no thread); a vCPU none
   * names stays stopped until the next resume. Replies only when the packet is bad (the stop comes later).
   * C and S (continue, step "with a signal": GDB uses vCont only if they are offered too) are c and s, as in
   * QEMU's stub — a machine has no signals to deliver.
   */
  private vCont(actions: string): string | null {
    const per: ("c" | "s" | null)[] = this.vm.vcpus.map(() => null);
    for (const a of actions.split(";")) {
      const [action, id] = a.split(":");
      const op = /^[cs]$/.test(action!) ? action : /^[CS][0-9a-f]{2}$/i.test(action!) ? action![0]!.toLowerCase() : null;
      const t = id === undefined ? "all" : this.parseThread(id);
      if ((op !== "c" && op !== "s") || t === null) return "E01";
      const target = t === "any" ? this.lastStop.vcpu : t;
      per.forEach((p, i) => { if (p === null && (target === "all" || target === i)) per[i] = op; });
    }
    if (per.every((p) => p === null)) return "E01";
    this.resumeVcpus(per);
    return null;
  }

  /**
   * Resume: each vCPU continues ("c"), steps one instruction ("s") or is held where it is (null). The history logs a
   * step (it holds interrupts back: a replay steps there too) and, on a multiprocessor, every resume: which vCPUs run
   * decides how their instructions interleave.
   */
  private resumeVcpus(per: VcpuActions): void {
    this.cancelStep();
    this.checkpointIfDue();
    const step = per.includes("s");
    if (this.history && (step || per.length > 1)) {
      const e = this.history.record(step ? "step" : "resume", () => {});
      if (e) e.actions = per.slice();
      if (step) this.lastStep = e;
    }
    this.applyActions(per);
    this.halted = false;
  }

  /** Hold, continue or step each vCPU as `per` says (a resume of GDB's, or its replay). */
  private applyActions(per: VcpuActions): void {
    per.forEach((p, i) => {
      this.vm.vcpus[i]!.held = p === null;
      if (p === "s") {
        this.stepping.add(i);
        this.vm.requestMonitorTrap(STEP_OWNER, true, i, true);
      }
    });
  }

  private cancelStep(): void {
    for (const i of this.stepping) this.vm.requestMonitorTrap(STEP_OWNER, false, i);
    this.stepping.clear();
  }

  /** #BP intercepted (EIP at the INT3): a planted breakpoint stops; the guest's own INT3 goes on to the guest. */
  private onBreakpoint(): "resume" {
    const st = this.vm.getState();
    const lin = (st.cs.base + st.eip) >>> 0;
    const planted = this.breakpoints.get(lin);
    if (planted) {
      if (this.replay) this.replay.stepOver = lin; // (a scan of the past notes the hit and goes on)
      this.breakpointStop(planted.kinds, st.eip);
      return "resume";
    }
    this.passingInt3 = true;
    this.setIntercept(false);
    this.vm.requestMonitorTrap(MTF_OWNER, true);
    return "resume";
  }

  /** Stop at a breakpoint of GDB's (`kinds`) with EIP at its address. */
  private breakpointStop(kinds: Set<string>, eip: number): void {
    // A software breakpoint without swbreak: GDB expects the PC after the INT3, as the CPU leaves it, and moves
    // it back itself. A hardware one faults before the instruction: the PC stays.
    const software = kinds.has("0");
    if (software && !this.swbreak && !this.replay) this.vm.setState({ eip: (eip + 1) >>> 0 });
    this.stop(SIGTRAP, software ? (this.swbreak ? "swbreak:;" : "") : this.hwbreak ? "hwbreak:;" : "", "breakpoint");
  }

  /** The monitor trap: one instruction ran (a GDB step, a guest INT3 let through, or an access to a watched page). */
  private onStepped(): "resume" {
    if (this.passingInt3) { this.passingInt3 = false; this.setIntercept(true); }
    this.vm.requestMonitorTrap(MTF_OWNER, false);
    this.vm.requestMonitorTrap(STEP_OWNER, false);
    const watch = this.passingWatch;
    if (watch) {
      this.passingWatch = null;
      this.protectWatched();
      // A write over a breakpoint's INT3 (the guest loading or relocating code there): its new byte goes behind it.
      if (this.inserted) for (const b of this.breakpoints.values()) {
        if (watch.pages.has(b.pa - (b.pa % PAGE)) && this.peek(b.pa) !== 0xcc) { b.byte = this.peek(b.pa); this.poke(b.pa, 0xcc); }
      }
    }
    let hit = watch?.hit;
    if (watch && !hit) for (const [w, before] of watch.before) if (w.pas.some((pa, i) => this.peek(pa) !== before[i])) { hit = w; break; }
    const stepped = this.stepping.has(this.vm.vcpu.index);
    if (stepped && this.lastStep && !this.replay) this.lastStep.moved = this.vm.core.getRetired() > this.lastStep.at;
    const inside = hit !== undefined && hit !== null && this.vm.core.getRetired() === watch!.retired;
    if (inside && !this.replay && this.vm.vcpus.length === 1) this.insideRep = { at: watch!.retired, ecx: this.vm.getState().ecx };
    if (hit) this.stop(SIGTRAP, `${WATCH_REASON[hit.kind]}:${hit.lin.toString(16)};`, "watch", inside);
    else if (stepped) this.stop(SIGTRAP, "", "step");
    return "resume";
  }

  // ---- reverse execution --------------------------------------------------------------------

  /** The machine was replaced under the stub (the monitor's loadvm): its recorded history is no longer this guest's. */
  forgetHistory(why: string): void {
    if (this.history) this.dropHistory(`the history was dropped (${why}); it starts again when GDB attaches`);
  }

  /** No more going back: the history's checkpoints go, and `why` is what GDB is told when it asks. */
  private dropHistory(why: string): void {
    this.history?.close();
    this.history = null;
    this.noHistory = why;
  }

  /** Between the run loop's slices while the guest runs: a checkpoint of its history, when one is due. */
  running(): void {
    if (this.halted || this.passingInt3 || this.passingWatch || this.stepping.size > 0 || !this.checkpointIfDue()) return;
    // (A replay from this checkpoint starts with every vCPU running: the vCPUs GDB holds are held again first.)
    const e = this.vm.vcpus.some((v) => v.held) ? this.history?.record("resume", () => {}) : null;
    if (e) e.actions = this.vm.vcpus.map((v) => (v.held ? null : "c"));
  }

  /**
   * The history goes forward from here; its checkpoint, when due, is saved without the INT3s of GDB's breakpoints.
   * Whether one was taken.
   */
  private checkpointIfDue(): boolean {
    const history = this.history;
    if (!history) return false;
    history.goingForward();
    if (!history.checkpointDue()) return false;
    this.removeInt3s();
    try { history.checkpoint(); } catch (e) {
      this.dropHistory(`the machine could not be saved (${(e as Error).message})`);
      return false;
    } finally { this.insertInt3s(); }
    return true;
  }

  private removeInt3s(): void {
    if (!this.inserted) return;
    for (const b of this.breakpoints.values()) this.poke(b.pa, b.byte);
    this.inserted = false;
  }
  /** Put the INT3s (back) in guest memory, over the bytes there now. */
  private insertInt3s(): void {
    if (this.inserted) return;
    for (const b of this.breakpoints.values()) { b.byte = this.peek(b.pa); this.poke(b.pa, 0xcc); }
    this.inserted = true;
  }

  /**
   * bs (`toHit` false: back one instruction) or bc (back to the last breakpoint or watchpoint hit before here — where a
   * continue would have stopped, a watchpoint's after the access, as QEMU's reverse debugging has it, reported as a
   * plain SIGTRAP as QEMU's is). The beginning of the history stops both (replaylog:begin: GDB says "No more
   * reverse-execution history"). Replies with the stop, or E01 after saying why it cannot go back.
   */
  private reverse(toHit: boolean): string | null {
    const history = this.history;
    if (!history) {
      this.tell(`symbiont: no reverse execution here: ${this.noHistory}`);
      return "E01";
    }
    this.cancelStep();
    const now = this.vm.core.getRetired();
    const inside = this.insideRepHere();
    this.insideRep = null;
    try {
      if (inside) {
        // Its iterations at this count up to here, which hit a watchpoint; back one, or to the last hit before here.
        const hits = this.iterationsTo(inside);
        const to = toHit ? hits.slice(0, -1).lastIndexOf(true) : hits.length - 2;
        if (to >= 0 || !toHit) {
          this.replayTo(now, false);
          this.insideInstruction(now, () => { for (let i = 0; i <= to; i++) this.stepIteration(); });
          if (to >= 0) this.insideRep = { at: now, ecx: this.vm.getState().ecx };
          this.stop(SIGTRAP, "", toHit ? "watch" : "step");
          return null;
        }
      }
      const back = history.stepBack(); // (inside a REP instruction: one iteration back, at the same count)
      if (toHit ? now <= history.beginning : back.at < history.beginning) { this.stop(SIGTRAP, "replaylog:begin;"); return null; }
      if (!toHit) {
        this.replayTo(back.at, false, back.at, back.eventsAt);
        this.stop(SIGTRAP, "", "step");
        return null;
      }
      // The stretches between checkpoints, newest first, scanned for the last hit before `now`.
      const starts = history.checkpointCounts().filter((c) => c < now);
      for (let k = starts.length - 1, end = now; k >= 0; end = starts[k]!, k--) {
        const hits = this.replayTo(end, true, starts[k]!).filter((h) => h.at < now);
        const hit = hits[hits.length - 1];
        if (!hit) continue;
        this.replayTo(hit.at, false);
        if (hit.inside !== undefined && this.vm.vcpus.length === 1) this.runToHitInside(hit.at, hit.inside);
        if (hit.kind === "watch") { this.stop(SIGTRAP, "", "watch"); return null; }
        const st = this.vm.getState();
        const planted = this.breakpoints.get((st.cs.base + st.eip) >>> 0);
        if (planted) this.breakpointStop(planted.kinds, st.eip);
        else this.stop(SIGTRAP);
        return null;
      }
      this.replayTo(history.beginning, false);
      this.stop(SIGTRAP, "replaylog:begin;");
      return null;
    } catch (e) {
      // (Determinism broken — the replay did not retrace the run: the history can no longer be trusted.)
      this.dropHistory(`the replay of its history failed (${(e as Error).message})`);
      this.tell(`symbiont: reverse execution failed, the guest is at instruction ${this.vm.core.getRetired()}: ${(e as Error).message}`);
      this.stop(SIGTRAP);
      return null;
    }
  }

  /**
   * Replay the history to instruction `target`: plainly (the breakpoints and watchpoints out of the way) or, `scan`,
   * from the checkpoint at or before `from` with them in place, returning the hits met — a breakpoint stepped over, a
   * watchpoint's access let through, as if GDB had continued from each.
   */
  private replayTo(target: number, scan: boolean, from = target, eventsAt = 0): Replay["hits"] {
    const history = this.history!;
    const watches = scan ? [] : this.watchpoints.splice(0);
    if (!scan) this.protectWatched();
    const replay: Replay = this.replay = { scan, hits: [], stepOver: null, codeToCome: new Set() };
    const code = new Map([...this.breakpoints].map(([lin, b]) => [lin, b.byte])); // (the bytes behind the INT3s now)
    try {
      history.replayTo(target, {
        loaded: () => {
          this.inserted = false; // (the checkpoint's RAM holds none of the INT3s)
          for (const v of this.vm.vcpus) v.held = false; // (as at every checkpoint; a logged resume holds them again)
          if (!scan) return;
          for (const [lin, b] of this.breakpoints) if (this.peek(b.pa) !== code.get(lin)) replay.codeToCome.add(b.pa - (b.pa % PAGE));
          this.insertInt3s();
          this.protectWatched();
        },
        runTo: (count) => this.runTo(count),
        step: (e, limit) => {
          // GDB's resume as it made it: the vCPUs it held, held; a single step with its breakpoints out and interrupts
          // held back (the monitor trap flag), run until the step ends — or, other vCPUs running meanwhile, `limit`.
          this.applyActions(e.actions ?? ["s"]);
          if (this.stepping.size === 0) return;
          this.removeInt3s();
          const core = this.vm.core;
          // (The first run goes even at `limit`: a step inside a REP instruction may stop after an iteration, retiring nothing.)
          for (let first = true, idle = 0; this.stepping.size > 0; first = false) {
            const before = core.getRetired();
            if (!first && before >= limit) break;
            this.vm.run(Math.max(1, limit - before));
            if (core.getRetired() === before && ++idle > 1000) throw new Error(`a step at instruction ${before} did not end`);
          }
          this.cancelStep();
          if (scan) this.insertInt3s();
        },
      }, from, eventsAt);
    } finally {
      this.cancelStep(); // (a landing inside a step of one vCPU while others ran)
      this.replay = null;
      this.insertInt3s();
      this.watchpoints.push(...watches);
      this.protectWatched(); // (the pages of code to come, back as they were)
    }
    return replay.hits;
  }

  /**
   * From instruction `at` (replayed to), on through the iterations of the REP string instruction there until the
   * `n`th watchpoint hit among them (from 0): where a continue stopped going forward, after that iteration.
   */
  private runToHitInside(at: number, n: number): void {
    this.insideInstruction(at, (hits) => { while (hits() <= n) this.vm.run(1); });
    this.insideRep = { at, ecx: this.vm.getState().ecx };
  }

  /**
   * The iterations the REP instruction at `to.at` ran at that count until ECX was `to.ecx`, one by one from the
   * count (replayed to): whether each hit a watchpoint.
   */
  private iterationsTo(to: NonNullable<GdbStub["insideRep"]>): boolean[] {
    const hit: boolean[] = [];
    this.replayTo(to.at, false);
    this.insideInstruction(to.at, (hits) => {
      while (this.vm.getState().ecx !== to.ecx) { const h = hits(); this.stepIteration(); hit.push(hits() > h); }
    });
    return hit;
  }

  /** One iteration of the running vCPU's REP instruction (a step: the monitor trap flag stops after each). */
  private stepIteration(): void {
    const v = this.vm.vcpu.index;
    this.stepping.add(v);
    this.vm.requestMonitorTrap(STEP_OWNER, true, v, true);
    this.vm.run(1);
  }

  /**
   * Run `go` from instruction `at` (replayed to) inside the REP string instruction there, the watchpoints in place and
   * their hits counted (`hits()`: how many, each inside the instruction) rather than reported; it must not retire.
   */
  private insideInstruction(at: number, go: (hits: () => number) => void): void {
    const replay: Replay = this.replay = { scan: true, hits: [], stepOver: null, codeToCome: new Set() };
    this.removeInt3s(); // (no breakpoint but one at the instruction itself, already passed)
    const hits = () => {
      if (this.vm.core.getRetired() !== at) throw new Error(`the REP instruction at ${at} did not run as before`);
      return replay.hits.filter((h) => h.inside !== undefined).length;
    };
    try {
      go(hits);
      hits();
    } finally {
      this.cancelStep();
      this.replay = null;
      this.insertInt3s();
    }
  }

  /** The stop inside a REP instruction the guest is still at (see insideRep), if it is. */
  private insideRepHere(): GdbStub["insideRep"] {
    const r = this.insideRep;
    return r && this.vm.core.getRetired() === r.at && this.vm.getState().ecx === r.ecx ? r : null;
  }

  /**
   * Run the guest until instruction `count` has retired, stepping over breakpoints a scan meets — and, arrived, noting
   * one the guest stands at: the run stopped there (at a breakpoint) before GDB stepped on.
   */
  private runTo(count: number): void {
    const core = this.vm.core, replay = this.replay!;
    for (let idle = 0; ;) {
      const before = core.getRetired();
      if (before === count) {
        const st = this.vm.getState();
        if (replay.scan && this.breakpoints.has((st.cs.base + st.eip) >>> 0)) replay.hits.push({ at: count, kind: "breakpoint" });
        return;
      }
      if (before > count) throw new Error(`it went past instruction ${count}, to ${before}`);
      const stop = this.vm.run(count - before);
      if (replay.stepOver !== null) {
        // (The INT3 out for the instruction it stands for, which runs as it did without the breakpoint.)
        const b = this.breakpoints.get(replay.stepOver)!;
        replay.stepOver = null;
        this.poke(b.pa, b.byte);
        this.vm.run(1);
        this.poke(b.pa, 0xcc);
        continue;
      }
      if (core.getRetired() !== before) { idle = 0; continue; }
      if (stop.kind === "halted" && core.pendingInterrupt() >= 0) continue;
      if (stop.kind !== "budget" || ++idle > 1000) {
        throw new Error(`the guest stopped before instruction ${count}, at ${before}${"message" in stop ? `: ${stop.message}` : ` (${stop.kind})`}`);
      }
    }
  }

  /** A line for GDB's console (an O packet: GDB takes them while the target runs — after bs and bc — and for qRcmd). */
  private tell(text: string): void { this.send(`O${hexBytes(new TextEncoder().encode(text.endsWith("\n") ? text : `${text}\n`))}`); }

  private setIntercept(on: boolean): void {
    const bitmap = this.vm.getControl(Control.ExceptionBitmap);
    this.vm.setControl(Control.ExceptionBitmap, on ? bitmap | (1 << BP) : bitmap & ~(1 << BP));
  }
}

// What GDB is told the registers are (GDB manual, "Target Descriptions"; the i386 core and SSE
// features, in the 'g' packet's order).
const reg = (name: string, bits: number, type: string, group = "") => `<reg name="${name}" bitsize="${bits}" type="${type}"${group ? ` group="${group}"` : ""}/>`;
const flags = (id: string, fields: [string, number, number][]) =>
  `<flags id="${id}" size="4">${fields.map(([n, lo, hi]) => `<field name="${n}" start="${lo}" end="${hi}"/>`).join("")}</flags>`;
// EFLAGS and MXCSR by their bits' names in the SDM (Vol. 1 §3.4.3, §10.2.3).
const EFLAGS_TYPE = flags("i386_eflags", [
  ["CF", 0, 0], ["", 1, 1], ["PF", 2, 2], ["AF", 4, 4], ["ZF", 6, 6], ["SF", 7, 7], ["TF", 8, 8], ["IF", 9, 9], ["DF", 10, 10],
  ["OF", 11, 11], ["IOPL", 12, 13], ["NT", 14, 14], ["RF", 16, 16], ["VM", 17, 17], ["AC", 18, 18], ["VIF", 19, 19], ["VIP", 20, 20], ["ID", 21, 21],
]);
const MXCSR_TYPE = flags("i386_mxcsr", [
  ["IE", 0, 0], ["DE", 1, 1], ["ZE", 2, 2], ["OE", 3, 3], ["UE", 4, 4], ["PE", 5, 5], ["DAZ", 6, 6], ["IM", 7, 7], ["DM", 8, 8],
  ["ZM", 9, 9], ["OM", 10, 10], ["UM", 11, 11], ["PM", 12, 12], ["FZ", 15, 15],
]);
// The system registers as QEMU's stub describes them (its i386 target XML: the same field names, the SDM's).
const CR0_TYPE = flags("i386_cr0", [
  ["PG", 31, 31], ["CD", 30, 30], ["NW", 29, 29], ["AM", 18, 18], ["WP", 16, 16], ["NE", 5, 5], ["ET", 4, 4], ["TS", 3, 3],
  ["EM", 2, 2], ["MP", 1, 1], ["PE", 0, 0],
]);
const CR3_TYPE = flags("i386_cr3", [["PDBR", 12, 31], ["PCID", 0, 11]]);
const CR4_TYPE = flags("i386_cr4", [
  ["SMAP", 21, 21], ["SMEP", 20, 20], ["OSXSAVE", 18, 18], ["PCIDE", 17, 17], ["FSGSBASE", 16, 16], ["SMXE", 14, 14],
  ["VMXE", 13, 13], ["LA57", 12, 12], ["UMIP", 11, 11], ["OSXMMEXCPT", 10, 10], ["OSFXSR", 9, 9], ["PCE", 8, 8], ["PGE", 7, 7],
  ["MCE", 6, 6], ["PAE", 5, 5], ["PSE", 4, 4], ["DE", 3, 3], ["TSD", 2, 2], ["PVI", 1, 1], ["VME", 0, 0],
]);
const EFER_TYPE = flags("i386_efer", [
  ["TCE", 15, 15], ["FFXSR", 14, 14], ["LMSLE", 13, 13], ["SVME", 12, 12], ["NXE", 11, 11], ["LMA", 10, 10], ["LME", 8, 8], ["SCE", 0, 0],
]);
const SYSTEM_TYPES: Record<(typeof SYSTEM_REGS)[number], string> = {
  fs_base: "int32", gs_base: "int32", cr0: "i386_cr0", cr2: "int32", cr3: "i386_cr3", cr4: "i386_cr4", efer: "i386_efer",
};
const TARGET_XML = `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>i386</architecture>` +
  `<feature name="org.gnu.gdb.i386.core">${EFLAGS_TYPE}` +
  ["eax", "ecx", "edx", "ebx"].map((n) => reg(n, 32, "int32")).join("") + reg("esp", 32, "data_ptr") + reg("ebp", 32, "data_ptr") +
  reg("esi", 32, "int32") + reg("edi", 32, "int32") + reg("eip", 32, "code_ptr") + reg("eflags", 32, "i386_eflags") +
  ["cs", "ss", "ds", "es", "fs", "gs"].map((n) => reg(n, 32, "int32")).join("") +
  Array.from({ length: 8 }, (_, i) => reg(`st${i}`, 80, "i387_ext")).join("") +
  ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"].map((n) => reg(n, 32, "int", "float")).join("") +
  `</feature><feature name="org.gnu.gdb.i386.sse">${MXCSR_TYPE}` +
  `<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>` +
  `<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>` +
  `<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>` +
  `<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>` +
  `<field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>` +
  `<field name="uint128" type="uint128"/></union>` +
  Array.from({ length: 8 }, (_, i) => reg(`xmm${i}`, 128, "vec128", "vector")).join("") + reg("mxcsr", 32, "i386_mxcsr", "vector") +
  `</feature><feature name="org.gnu.gdb.i386.sys">${CR0_TYPE}${CR3_TYPE}${CR4_TYPE}${EFER_TYPE}` +
  SYSTEM_REGS.map((n) => reg(n, 32, SYSTEM_TYPES[n])).join("") +
  `</feature></target>`;
