// Debian's kernel with the symbiotic module (guests/linux/symbiotic, built by
// `npm run module`): what the VMM learns by SymSpy and SymCall is checked
// against the guest's own view — busybox ps, /proc/PID/maps of a process
// started for the test, /proc/meminfo, the CPU the guest says a call ran on —
// on one shared boot of a two-vCPU machine (Wasm engine, deterministic clock;
// tests/linux.test.ts's JS boot loads the module too). Skipped, saying so,
// when the images or the module are not built; CI builds both.
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { createEngine } from "../src/node/engines.js";
import { Pc } from "../src/machine/pc.js";
import { busyboxInitramfs } from "../src/boot/initramfs.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { findCachedImages, cachedModules } from "../src/node/images.js";
import { findBuiltModule, symbioticKernelModules, joinKernelModules } from "../src/node/symbiotic-module.js";
import { driverModules } from "../src/boot/kmod.js";
import { MemoryDisk } from "../src/devices/block/backend.js";
import { guestProcesses, guestCurrent, guestVaddr, guestMeminfo } from "../src/symbiotic/linux-calls.js";
import { Monitor } from "../src/vmm/monitor.js";
import { SerialShell } from "../src/node/serial-shell.js";
import { SymcallNr } from "../src/symbiotic/abi.js";
import { readModinfo } from "../src/boot/kmod.js";
import { basename, join } from "node:path";

const images = findCachedImages();
const module = findBuiltModule(images);
const skip = !images ? "images not cached: run npm run images" : !module ? "symbiotic module not built: run npm run module" : null;
const MARKER = "SYMBIONT-INIT-OK";
// Two vCPUs: SymSpy keeps a local page per CPU and a call on vCPU 1 runs on the guest's CPU 1.
const VCPUS = 2;
const SWAP_BYTES = 16 << 20;
/** tests/linux/pageout.asm: pages the first of two pages of its own out to swap (MADV_PAGEOUT), prints its address. */
const PAGEOUT = new URL("./linux/bin/pageout", import.meta.url).pathname;
/** tests/linux/mprotloop.asm: 16 MiB of its own flipped read-only / read-write forever (its mmap lock held for writing nearly always). */
const MPROTLOOP = new URL("./linux/bin/mprotloop", import.meta.url).pathname;

if (skip && process.env.SYMBIONT_REQUIRE_IMAGES) {
  describe("symbiotic Linux prerequisites", () => { it("are built (npm run images, npm run module)", () => { expect(skip).toBeNull(); }); });
}

/** A booted guest with a shell: type a command, get its output (src/node/serial-shell.ts). */
class Guest {
  private readonly shell = new SerialShell();
  readonly pc!: Pc;
  private constructor() {}

  static async boot(): Promise<Guest> {
    const g = new Guest();
    const ramBytes = 128 << 20;
    // A blank virtio disk for swap (/dev/vda), its driver, symbiotic.ko, and tests/linux/bin/pageout.
    const pc = new Pc({
      engine: await createEngine("wasm", ramBytes), ramBytes, cpus: VCPUS, clock: "deterministic", onSerial: g.shell.onSerial,
      disks: [{ backend: MemoryDisk.blank(SWAP_BYTES) }],
    });
    (g as { pc: Pc }).pc = pc;
    g.shell.attach(pc);
    const initrd = busyboxInitramfs({
      busybox: new Uint8Array(readFileSync(images!.busybox)),
      modules: joinKernelModules(cachedModules(images!, driverModules(["virtio-blk"])), symbioticKernelModules(module!)),
      extraFiles: [PAGEOUT, MPROTLOOP].map((f) => ({ path: `bin/${basename(f)}`, data: new Uint8Array(readFileSync(f)), mode: 0o755 })),
    });
    pc.loadLinux(new Uint8Array(readFileSync(images!.kernel)), { cmdline: `${LINUX_CMDLINE} quiet`, initrd });
    await g.until((out) => out.includes(MARKER) && out.lastIndexOf("# ") > out.indexOf(MARKER), 20e9);
    return g;
  }

  get output(): string { return this.shell.output; }
  until(done: (out: string) => boolean, max?: number): Promise<void> { return this.shell.until(done, max); }
  sh(command: string): Promise<string> { return this.shell.sh(command); }
}

interface MapsLine { start: number; end: number; perms: string; name: string }
function parseMaps(text: string): MapsLine[] {
  return text.trim().split("\n").map((l) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(l.trim());
    if (!m) throw new Error(`not a maps line: ${l}`);
    return { start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, name: m[4]! };
  });
}

describe.skipIf(skip !== null)(`npm run module's symbiotic.ko (${skip ?? module?.path})`, () => {
  it("is built for the cached kernel: the vermagic of Debian's own modules, our license", () => {
    const info = (path: string) => Object.fromEntries(readModinfo(new Uint8Array(readFileSync(path))));
    const ours = info(module!.path);
    const firstDebianModule = readFileSync(join(images!.modules, "modules.dep"), "utf8").split(":")[0]!;
    expect(ours.vermagic).toBe(info(join(images!.modules, firstDebianModule)).vermagic);
    expect(ours.vermagic!.split(" ")[0]).toBe(images!.version);
    expect(ours.license).toBe("Dual MIT/GPL");
    expect(ours.name).toBe("symbiotic");
  });
});

describe.skipIf(skip !== null)(`Linux ${images?.version ?? ""} with the symbiotic module (${skip ?? module?.path})`, () => {
  let g: Guest;
  let sleepPid = 0;
  beforeAll(async () => {
    g = await Guest.boot();
    sleepPid = Number((await g.sh("sleep 100000 & echo $!")).trim());
  }, 30 * 60 * 1000);

  it("loads: the module finds the VMM, SymSpy is registered and SymCall enabled", async () => {
    const dmesg = await g.sh("dmesg | grep symbiotic:");
    expect(dmesg).toMatch(new RegExp(`symbiotic: Symbiont VMM found; SymSpy global page at 0x[0-9a-f]+, SymCall on ${VCPUS} CPU\\(s\\)`));
    expect(await g.sh("grep -c symbiotic /proc/modules")).toBe("1\n");
    expect(await g.sh("grep -c ^processor /proc/cpuinfo")).toBe(`${VCPUS}\n`);
    const sym = g.pc.vm.symbiotic!;
    expect(sym.available).toBe(true);
    expect(sym.global!.magic).toBe("V3V");
    // The pages are the VMM's frames (beyond guest RAM) laid over the GPAs the module gave.
    const mem = g.pc.vm.memory;
    expect(mem.lookup(sym.global!.gpa)).toMatchObject({ kind: "mapped", frame: sym.spy.frameOf("global") });
    expect(sym.spy.frameOf("global")).toBeGreaterThanOrEqual(mem.ramBytes);
    for (let v = 0; v < VCPUS; v++) {
      const l = sym.local(v)!;
      expect(l).toMatchObject({ magic: `V3V.${v}`, symCallEnabled: true });
      expect(mem.lookup(l.gpa)).toMatchObject({ kind: "mapped", frame: sym.spy.frameOf(v) });
      const r = sym.callOn(v, SymcallNr.TEST, 1, 2, 3, 4, v);
      expect(r.ok && r.regs).toEqual([1, 2, 3, 4, v].map((x) => ~x >>> 0));
      // The call ran on that vCPU: the guest's smp_processor_id() says so.
      const cur = guestCurrent(sym, v);
      expect(cur.ok && cur.value.cpu).toBe(v);
    }
  });

  it("sym ps lists what the guest's ps lists", async () => {
    const ps = await g.sh("ps -o pid,ppid,stat,comm");
    const sym = guestProcesses(g.pc.vm.symbiotic!);
    expect(sym.ok).toBe(true);
    if (!sym.ok) return;
    const byPid = new Map(sym.value.map((t) => [t.pid, t]));
    const rows = ps.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
    expect(rows.length).toBeGreaterThan(20);
    for (const [pid, ppid, stat, comm] of rows) {
      if (comm === "ps") continue; // it has exited by the time the VMM asks
      const t = byPid.get(Number(pid));
      expect(t, `pid ${pid} (${comm}) in the SymCall list`).toBeDefined();
      // A workqueue worker's /proc comm adds the work it runs ("kworker/0:0-events"), which changes as it runs.
      const theirs = t!.comm.startsWith("kworker/") && comm!.startsWith(`${t!.comm}-`) ? t!.comm : comm;
      expect({ pid: t!.pid, ppid: t!.ppid, comm: t!.comm }).toEqual({ pid: Number(pid), ppid: Number(ppid), comm: theirs });
      if (comm === "sleep" || comm === "kthreadd") expect(t!.state).toBe(stat![0]);
    }
    expect(byPid.get(sleepPid)?.comm).toBe("sleep");
    expect(byPid.get(1)?.kernelThread).toBe(false);
    expect(byPid.get(2)?.kernelThread).toBe(true);
    // SymSpy's count (refreshed by the guest every 250 ms) is of the same list.
    expect(Math.abs(g.pc.vm.symbiotic!.global!.ext!.tasks - sym.value.length)).toBeLessThanOrEqual(2);
  });

  it("sym vaddr agrees with /proc/PID/maps: mapped, read-only, unmapped", async () => {
    const maps = parseMaps(await g.sh(`cat /proc/${sleepPid}/maps`));
    const sym = g.pc.vm.symbiotic!;
    const text = maps.find((m) => m.perms === "r-xp")!;
    const ro = maps.find((m) => m.perms === "r--p")!;
    const stack = maps.find((m) => m.name === "[stack]")!;
    expect(text && ro && stack).toBeTruthy();
    for (const [m, w, x] of [[text, false, true], [ro, false, false], [stack, true, false]] as const) {
      const addr = m.start + 0x10;
      const r = guestVaddr(sym, sleepPid, addr);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.value).toMatchObject({ vaddr: m.start, start: m.start, end: m.end, readable: true, writable: w, executable: x });
    }
    // The top of the stack has been touched: present, and its PTE maps a frame.
    const top = guestVaddr(sym, sleepPid, stack.end - 4);
    expect(top.ok && top.value.present && (top.value.pte & 1)).toBeTruthy();
    // Below the first mapping nothing is mapped.
    const below = guestVaddr(sym, sleepPid, maps[0]!.start - 0x1000);
    expect(below).toEqual({ ok: true, value: expect.objectContaining({ vaddr: 0 }) });
    // A process that does not exist: the guest's ESRCH, state intact.
    const before = g.pc.vm.getState();
    const none = sym.call(SymcallNr.MEM_LOOKUP, 0x1000, 0, 0, 99999);
    expect(none).toMatchObject({ ok: false, reason: "guest-error", code: -3 });
    expect(g.pc.vm.getState()).toEqual(before);
    expect(sym.call(0x7777)).toMatchObject({ ok: false, reason: "guest-error", code: -38 });
  });

  it("sym vaddr of a page the guest paged out to swap: the swap entry /proc/PID/pagemap reports", async () => {
    expect(await g.sh("mkswap /dev/vda >/dev/null && swapon /dev/vda && echo on")).toBe("on\n");
    const pid = Number((await g.sh("pageout > /tmp/pageout & echo $!")).trim());
    let line = "";
    for (let i = 0; i < 20 && !line; i++) line = (await g.sh("cat /tmp/pageout")).trim();
    const [addrHex, result] = line.split(" ");
    expect(result).toBe("00000000"); // madvise(MADV_PAGEOUT) succeeded
    const addr = parseInt(addrHex!, 16);
    // The guest's own account (Documentation/admin-guide/mm/pagemap.rst): bit 63 present (bits 0-54 the PFN),
    // bit 62 swapped (bits 0-4 the swap type, 5-54 the offset).
    const words = (await g.sh(`dd if=/proc/${pid}/pagemap bs=8 skip=${addr / 4096} count=2 2>/dev/null | od -An -tx8`)).trim().split(/\s+/).map((w) => BigInt(`0x${w}`));
    expect(words).toHaveLength(2);
    const [out, kept] = words as [bigint, bigint];
    expect({ present: out >> 63n, swapped: (out >> 62n) & 1n }).toEqual({ present: 0n, swapped: 1n });
    expect({ present: kept >> 63n, swapped: (kept >> 62n) & 1n }).toEqual({ present: 1n, swapped: 0n });
    const sym = g.pc.vm.symbiotic!;
    const paged = guestVaddr(sym, pid, addr);
    expect(paged.ok).toBe(true);
    if (!paged.ok) return;
    expect(paged.value).toMatchObject({ vaddr: addr, present: false, readable: true, writable: true });
    // A swap PTE of the 2-level i386 format (arch/x86/include/asm/pgtable-2level.h): type in bits 1-5, offset from bit 9.
    const pte = paged.value.pte;
    expect({ type: (pte >>> 1) & 31, offset: pte >>> 9 }).toEqual({ type: Number(out & 31n), offset: Number((out >> 5n) & ((1n << 50n) - 1n)) });
    const resident = guestVaddr(sym, pid, addr + 4096);
    expect(resident.ok && resident.value.present).toBe(true);
    expect(resident.ok && resident.value.pte >>> 12).toBe(Number(kept & ((1n << 55n) - 1n)));
    await g.sh(`kill ${pid}`);
  });

  it("SymSpy's memory figures and SymCall MEMINFO match /proc/meminfo", async () => {
    // SymSpy's figures are the guest's refresh every 250 ms: let two pass after the swap set-up.
    const updates = g.pc.vm.symbiotic!.global!.ext!.updates;
    await g.until(() => g.pc.vm.symbiotic!.global!.ext!.updates >= updates + 2);
    const meminfo = await g.sh("cat /proc/meminfo");
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(meminfo)![1]);
    const spy = g.pc.vm.symbiotic!.global!.ext!;
    expect(kib("SwapTotal")).toBeGreaterThan(0); // the swap disk of the test above
    expect(spy.memTotalKiB).toBe(kib("MemTotal"));
    expect(spy.swapTotalKiB).toBe(kib("SwapTotal"));
    expect(spy.swapFreeKiB).toBe(kib("SwapFree"));
    expect(Math.abs(spy.memFreeKiB - kib("MemFree"))).toBeLessThan(4096);
    expect(Math.abs(spy.memAvailableKiB - kib("MemAvailable"))).toBeLessThan(4096);
    const m = guestMeminfo(g.pc.vm.symbiotic!);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.totalKiB).toBe(kib("MemTotal"));
    expect(Math.abs(m.value.freeKiB - kib("MemFree"))).toBeLessThan(4096);
    expect(m.value.swapTotalKiB).toBe(kib("SwapTotal"));
  });

  it("SymSpy's running task is the one SymCall CURRENT finds on each vCPU, and the busy process when it runs", async () => {
    const loopPid = Number((await g.sh("sh -c 'while :; do :; done' & echo $!")).trim());
    const sym = g.pc.vm.symbiotic!;
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      g.pc.vm.run(3_000_000);
      for (let v = 0; v < VCPUS; v++) {
        const spy = sym.local(v)!.ext!;
        const call = guestCurrent(sym, v);
        expect(call.ok).toBe(true);
        if (!call.ok) continue;
        expect({ pid: call.value.pid, tid: call.value.tid, comm: call.value.comm, cpu: call.value.cpu }).toEqual({ pid: spy.pid, tid: spy.tid, comm: spy.comm, cpu: v });
        seen.push(spy.pid);
      }
    }
    expect(seen).toContain(loopPid);
    await g.sh(`kill ${loopPid}`);
  });

  it("a call never waits for a guest lock: MEM_LOOKUP in a process whose mmap lock is held answers EBUSY at once", async () => {
    const pid = Number((await g.sh("mprotloop > /tmp/mprotloop & echo $!")).trim());
    let line = "";
    for (let i = 0; i < 20 && !line; i++) line = (await g.sh("cat /tmp/mprotloop")).trim();
    const addr = parseInt(line, 16);
    const SIZE = 16 << 20;
    // The guest's own view: the program's 16 MiB mapping (read-only or writable, as the flip has it).
    const region = parseMaps(await g.sh(`cat /proc/${pid}/maps`)).find((m) => m.start === addr);
    expect(region).toMatchObject({ start: addr, end: addr + SIZE });
    // Stopped at arbitrary moments while the program runs, the VMM asks about its mapping: mprotect holds
    // the mmap lock for writing nearly all the time, so the call must say EBUSY (docs/symbiotic.md: calls
    // never wait) — and when the lock happens to be free, answer with the mapping.
    const sym = g.pc.vm.symbiotic!;
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) {
      g.pc.vm.run(2_000_000);
      const before = g.pc.vm.getState();
      const r = guestVaddr(sym, pid, addr + 0x5000);
      expect(g.pc.vm.getState()).toEqual(before);
      if (r.ok) expect(r.value).toMatchObject({ vaddr: addr + 0x5000, start: addr, end: addr + SIZE, readable: true, present: true });
      else expect(r.code).toBe(-16); // EBUSY
      answers.push(r.ok ? "mapped" : "EBUSY");
    }
    expect(answers).toContain("EBUSY");
    expect(await g.sh(`kill ${pid} && echo killed`)).toBe("killed\n");
  });

  it("the monitor shows it", async () => {
    const mon = new Monitor(g.pc.vm);
    expect(mon.execute("sym ps")).toMatch(new RegExp(`\\n\\s*${sleepPid}\\s+\\d+\\s+0 S\\s+\\d+\\s+\\d+ sleep(\\n|$)`));
    expect(mon.execute(`sym vaddr ${sleepPid} 0`)).toBe(`0x00000000 in pid ${sleepPid}: not mapped`);
    // A PID the guest cannot have (its PIDs are below pid_max): the module's ESRCH, said plainly.
    const pidMax = Number(await g.sh("cat /proc/sys/kernel/pid_max"));
    expect(pidMax).toBeGreaterThan(sleepPid);
    expect(mon.execute(`sym vaddr ${pidMax} 8048000`)).toBe(`no process ${pidMax} in the guest (MEM_LOOKUP answered ESRCH)`);
    expect(mon.execute("info symbiotic")).toMatch(/SymSpy local page, vCPU 0: GPA 0x[0-9a-f]+, magic "V3V.0", SymCall enabled/);
    const current = mon.execute("sym current").split("\n");
    expect(current).toHaveLength(2 * VCPUS);
    for (let v = 0; v < VCPUS; v++) {
      expect(current[2 * v]).toMatch(new RegExp(`^vCPU ${v}: SymSpy \\(read without an exit\\): pid \\d+`));
      expect(current[2 * v + 1]).toMatch(new RegExp(`^vCPU ${v}: SymCall CURRENT: pid \\d+.* on CPU ${v}, state \\w$`));
    }
    const paging = mon.execute("info paging");
    expect(paging).toMatch(/^paging 32-bit: CR3=[0-9a-f]{8} CR0.WP=1 CR4.PSE=1 CR4.PGE=1\n/);
    expect(paging).toMatch(/\nc0000000-[0-9a-f]{8} [0-9a-f]{8} -rw -> 00000000\n/); // the kernel's direct map of RAM
    expect(mon.execute("info registers")).toMatch(/^EAX=[0-9a-f]{8} /);
    const exits = mon.execute("info exits");
    expect(exits).toMatch(/^instructions \d+, exits \d+\n/);
    expect(exits).toMatch(/\n\s+io-out\s+[1-9]\d*(\n|$)/); // the serial console's output, at least
  });

  it("rmmod withdraws the pages and the entry: calls are refused, the guest goes on", async () => {
    const sym = g.pc.vm.symbiotic!;
    const places = [sym.spy.globalPageGpa, ...Array.from({ length: VCPUS }, (_, v) => sym.spy.localPageGpa(v))];
    expect(await g.sh("rmmod symbiotic && echo gone")).toBe("gone\n");
    expect(sym.global).toBeNull();
    for (let v = 0; v < VCPUS; v++) expect(sym.local(v)).toBeNull();
    // The guest's RAM is back under every page it gave (it frees them next).
    for (const gpa of places) expect(g.pc.vm.memory.lookup(gpa)).toMatchObject({ kind: "mapped", frame: gpa });
    expect(sym.available).toBe(false);
    expect(sym.call(SymcallNr.TEST)).toMatchObject({ ok: false, reason: "refused" });
    expect(await g.sh("echo still here")).toBe("still here\n");
  });
});
