// Snapshots as a user takes them (Pc.saveSnapshot/loadSnapshot; src/vmm/snapshot.ts): Linux booted to its shell on a
// terminal, a file written in its tmpfs, the monitor's savevm; then a new symbiont process started with --loadvm
// goes on from that instant — the guest's own shell is the oracle: the file it wrote, its PID, SymSpy's view of it.
// Then with a network card on the user network: a connection open at the savevm is reset when the restored guest
// next sends on it (as under QEMU, whose slirp keeps no NAT connection in a snapshot), a new one works (the file's
// MD5 computed here), and the monitor's loadvm drops the connections opened since (the host's server sees them end).
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { findCachedImages } from "../src/node/images.js";
import { findBuiltModule } from "../src/node/symbiotic-module.js";
import { LINUX_CMDLINE } from "../src/boot/linux.js";
import { CURSOR_ANSWER, haveScript, runOnTerminal, type TerminalStep } from "./support/terminal.js";

const cli = new URL("../bin/symbiont.js", import.meta.url).pathname;
const images = findCachedImages();
const needs = !images ? "images not cached: run npm run images" : !findBuiltModule(images) ? "symbiotic module not built: run npm run module" : null;
const skip = needs ?? (!haveScript ? "no `script` (util-linux) to give the CLI a terminal" : null);

describe.skipIf(skip !== null)(`Linux saved with the monitor's savevm, and started again with --loadvm (${skip ?? "on a terminal"})`, () => {
  it("goes on where it was saved: the shell, its PID, files in tmpfs and on ,snapshot disks, SymSpy's pages, SymCall", async () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-snapshot-"));
    const file = join(dir, "linux.snap");
    try {
      // Two blank disks under ,snapshot (their writes stay in memory, and go into the snapshot): virtio and IDE.
      const vda = join(dir, "vda.img"), sda = join(dir, "sda.img");
      writeFileSync(vda, new Uint8Array(8 << 20));
      writeFileSync(sda, new Uint8Array(8 << 20));
      const boot = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --symbiotic --disk ${vda},snapshot --disk ${sda},snapshot,if=ide --append '${LINUX_CMDLINE} quiet'`;
      const fill = (dev: string, text: string) => `mke2fs -q /dev/${dev} && mount -t ext2 /dev/${dev} /mnt && echo ${text} > /mnt/f && umount /mnt`;
      let pid = 0;
      const save: TerminalStep[] = [
        [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}${fill("vda", "on-virtio-$((6*7))")}; ${fill("sda", "on-ide-$((6*7))")}; echo written-$((6*7)) > /tmp/f; echo PID=$$\r`],
        [/PID=(\d+)\r*\n[\s\S]*# \x1b\[6n$/, (m) => { pid = Number(m[1]); return `${CURSOR_ANSWER}\x01c`; }],
        [/\(symbiont\) $/, () => `savevm ${file}\r`],
        [/saved the machine to [^\n]*\n[\s\S]*\(symbiont\) $/, () => "quit\r"],
      ];
      const first = await runOnTerminal(boot, save, 5 * 60 * 1000);
      expect(first.steps, first.out.slice(-3000)).toBe(save.length);
      expect(first.status).toBe(0);
      expect(statSync(file).size).toBeGreaterThan(1 << 20);
      // symbiont info: the machine and the command line it was started with (what --loadvm needs again).
      const info = spawnSync(process.execPath, [cli, "info", file], { encoding: "utf8" });
      expect(info.status, info.stderr).toBe(0);
      expect(info.stdout).toContain(`: a Symbiont snapshot (format 1) of one machine, `);
      expect(info.stdout).toContain(`\nsaved by: symbiont boot --symbiotic --disk ${vda},snapshot --disk ${sda},snapshot,if=ide --append '${LINUX_CMDLINE} quiet'\n`);
      expect(info.stdout).toMatch(/\nthe machine: [1-9]\d{8,} instructions retired\n {2}RAM \(--mem\): 128 MiB\n/);
      expect(info.stdout).toContain("\n  symbiotic interfaces: yes\n");

      const again: TerminalStep[] = [
        // The disks read back from the devices, not the page cache (dropped first).
        [/going on from the snapshot in /, () => "cat /tmp/f; echo changed > /tmp/f; echo 3 > /proc/sys/vm/drop_caches; for d in vda sda; do mount -t ext2 /dev/$d /mnt && cat /mnt/f; umount /mnt; done; echo PID=$$\r"],
        [/PID=\d+\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => "info symbiotic\r"],
        [/SymCalls: [\s\S]*\(symbiont\) $/, () => "sym ps\r"],
        // The monitor's loadvm: this machine, which ran on (and changed /tmp/f), goes back to the saved instant.
        [/COMMAND[\s\S]*\(symbiont\) $/, () => `loadvm ${file}\r`],
        [/the machine is now as saved in [^\n]*\n[\s\S]*\(symbiont\) $/, () => "\x01c"],
        [/\n$/, () => "echo back-$(cat /tmp/f) PID=$$\r"],
        [/back-[\w-]+ PID=\d+\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => "quit\r"],
      ];
      const second = await runOnTerminal(`${boot} --loadvm ${file}`, again, 5 * 60 * 1000);
      expect(second.steps, second.out.slice(-3000)).toBe(again.length);
      expect(second.status).toBe(0);
      expect(second.text).not.toContain("SYMBIONT-INIT-OK"); // (no boot: the machine starts where it was saved)
      expect(second.text).toMatch(/\nwritten-42\non-virtio-42\non-ide-42\n/);
      for (const img of [vda, sda]) expect(readFileSync(img).every((b) => b === 0)).toBe(true); // (,snapshot: the images untouched)
      expect(second.text).toContain(`\nPID=${pid}\n`);
      expect(second.text).toContain(`\nback-written-42 PID=${pid}\n`); // (not "changed": written after the save)
      expect(second.text).toMatch(/SymSpy local page, vCPU 0: GPA 0x[0-9a-f]{8}, magic "V3V.0", SymCall enabled\n {2}running: pid \d+/);
      // A SymCall into the restored guest (its entry MSRs came back with it): its process list has the shell.
      expect(second.text).toMatch(new RegExp(`\\n\\s+${pid}\\s+1\\s+0 \\w\\s+\\d+\\s+\\d+ sh\\n`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 25 * 60 * 1000);
});

describe.skipIf(skip !== null)(`Linux with a network card saved and started again with --loadvm (${skip ?? "on a terminal"})`, () => {
  it("resets the connections of the saved instant when the guest sends on them, opens new ones; loadvm drops those opened since", async () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-snapshot-net-"));
    const file = join(dir, "net.snap");
    const blob = Uint8Array.from({ length: 300 * 1024 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
    const md5 = createHash("md5").update(blob).digest("hex");
    const http: HttpServer = createHttpServer((_req, res) => res.end(blob));
    const echoed = { accepted: 0, ended: 0 };
    const echo: TcpServer = createTcpServer((sock) => {
      echoed.accepted++;
      sock.on("error", () => {});
      sock.on("close", () => { echoed.ended++; });
      sock.pipe(sock);
    });
    const listen = (srv: HttpServer | TcpServer) => new Promise<number>((ok) => srv.listen(0, "127.0.0.1", () => ok((srv.address() as AddressInfo).port)));
    const httpPort = await listen(http), echoPort = await listen(echo);
    try {
      const boot = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --nic virtio --net user --append '${LINUX_CMDLINE} quiet'`;
      const blobMd5 = (n: number) => `BLOB-$((${n})) $(wget -q -O - http://10.0.2.2:${httpPort}/b | md5sum | cut -c1-32)`;
      // A connection to the host's echo server through the user network, fed from a FIFO the shell keeps open (fd 3).
      const connect = (fifo: string, fd: number, out: string) => `mkfifo ${fifo}; (nc 10.0.2.2 ${echoPort} < ${fifo} > ${out}; echo NC-EXIT=$? > ${out}.exit) & exec ${fd}> ${fifo}`;
      // The guest's own count of established connections its TCP closed on a reset (Tcp: EstabResets, /proc/net/snmp).
      const resets = "resets() { awk '/^Tcp:/ { n++; for (i = 1; i <= NF; i++) if (n == 1) k[i] = $i; else if (k[i] == \"EstabResets\") print $i }' /proc/net/snmp; }";
      const save: TerminalStep[] = [
        [/SYMBIONT-INIT-OK[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}${resets}; ${connect("/tmp/in", 3, "/tmp/echo")}; echo one >&3; sleep 1; echo ECHO-$((1)) $(cat /tmp/echo) $(resets) ${blobMd5(1)}\r`],
        [/ECHO-1 .*\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => `savevm ${file}\r`],
        [/saved the machine to [^\n]*\n[\s\S]*\(symbiont\) $/, () => "quit\r"],
      ];
      const first = await runOnTerminal(boot, save, 5 * 60 * 1000);
      expect(first.steps, first.out.slice(-3000)).toBe(save.length);
      expect(first.status).toBe(0);
      expect(first.text).toContain(`\nECHO-1 one 0 BLOB-1 ${md5}\n`);

      let endedAtLoadvm = -1;
      const again: TerminalStep[] = [
        [/going on from the snapshot in /, () => `echo two >&3; sleep 1; echo RESET-$((2)) $(resets) $(cat /tmp/echo.exit) ${blobMd5(2)}\r`],
        [/RESET-2 .*\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}${connect("/tmp/in2", 4, "/tmp/echo2")}; echo three >&4; sleep 1; echo ECHO-$((3)) $(cat /tmp/echo2)\r`],
        [/ECHO-3 .*\r*\n[\s\S]*# \x1b\[6n$/, () => `${CURSOR_ANSWER}\x01c`],
        [/\(symbiont\) $/, () => `loadvm ${file}\r`],
        [/the machine is now as saved in [^\n]*\n[\s\S]*\(symbiont\) $/, () => "\x01c"],
        [/\n$/, () => "echo four >&3; sleep 1; echo RESET-$((4)) $(resets) $(cat /tmp/echo.exit)\r"],
        [/RESET-4 .*\r*\n[\s\S]*# \x1b\[6n$/, () => { endedAtLoadvm = echoed.ended; return `${CURSOR_ANSWER}\x01c`; }],
        [/\(symbiont\) $/, () => "quit\r"],
      ];
      const second = await runOnTerminal(`${boot} --loadvm ${file}`, again, 5 * 60 * 1000);
      expect(second.steps, second.out.slice(-3000)).toBe(again.length);
      expect(second.status).toBe(0);
      // The connection of the saved instant: the guest's next segment on it got a reset (its TCP counted it; busybox nc
      // then ends, with status 0), as under QEMU; a new connection brings the file whole.
      expect(second.text).toContain(`\nRESET-2 1 NC-EXIT=0 BLOB-2 ${md5}\n`);
      expect(second.text).toContain("\nECHO-3 three\n");
      expect(second.text).toMatch(/the machine is now as saved in \S+; the user network dropped 1 connection opened since\r?\n/);
      expect(second.text).toContain("\nRESET-4 1 NC-EXIT=0\n"); // (the count taken back to the saved instant's 0 with the rest)
      // Two connections reached the host: the first process's (ended when it quit), the second's (ended by the loadvm).
      expect(echoed.accepted).toBe(2);
      expect(endedAtLoadvm).toBe(2);
    } finally {
      http.close();
      echo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 25 * 60 * 1000);
});

describe.skipIf(skip !== null)(`Two VMs sharing a VPIO NE2000 saved with savevm and started again with --vms 2 --loadvm (${skip ?? "on a terminal"})`, () => {
  it("both go on where they were saved: each one's files and shell, and the shared card still carries their pings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "symbiont-snapshot-vms-"));
    const file = join(dir, "vms.snap");
    try {
      const boot = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} boot --vms 2 --nic ne2k,vpio,shared=card0 --append '${LINUX_CMDLINE} quiet'`;
      // Typing goes to vm0 until Ctrl-A n hands it to vm1; each VM's lines come tagged [vm0] / [vm1].
      const save: TerminalStep[] = [
        [/^(?=[\s\S]*\[vm1\] SYMBIONT-INIT-OK)[\s\S]*\[vm0\] [^\n]*# /, () => `${CURSOR_ANSWER}echo zero-$((6*7)) > /tmp/f; ping -c 2 10.0.2.16 | grep -c ttl; echo PID0=$$\r`],
        [/\[vm0\] PID0=(\d+)/, () => "\x01n"],
        [/typing to vm1/, () => "echo one-$((6*7)) > /tmp/f; echo PID1=$$\r"],
        [/\[vm1\] PID1=\d+/, () => "\x01c"],
        [/\(symbiont\) $/, () => `savevm ${file}\r`],
        [/saved the 2 VMs to [^\n]*\n[\s\S]*\(symbiont\) $/, () => "quit\r"],
      ];
      const first = await runOnTerminal(boot, save, 5 * 60 * 1000);
      expect(first.steps, first.out.slice(-3000)).toBe(save.length);
      expect(first.status).toBe(0);
      expect(first.text).toContain("[vm0] 2\n"); // (two replies over the shared card: lines with a ttl)
      const pids = [/\[vm0\] PID0=(\d+)/, /\[vm1\] PID1=(\d+)/].map((re) => re.exec(first.text)![1]);

      const again: TerminalStep[] = [
        [/going on from the snapshot in /, () => "echo AGAIN0 $(cat /tmp/f) PID=$$; ping -c 2 10.0.2.16 | grep -c ttl\r"],
        [/\[vm0\] AGAIN0 [^\n]*\n[\s\S]*\[vm0\] \d+\r*\n/, () => "\x01n"],
        [/typing to vm1/, () => "echo AGAIN1 $(cat /tmp/f) PID=$$; ping -c 2 10.0.2.15 | grep -c ttl\r"],
        [/\[vm1\] AGAIN1 [^\n]*\n[\s\S]*\[vm1\] \d+\r*\n/, () => "\x01c"],
        [/\(symbiont\) $/, () => "quit\r"],
      ];
      const second = await runOnTerminal(`${boot} --loadvm ${file}`, again, 5 * 60 * 1000);
      expect(second.steps, second.out.slice(-3000)).toBe(again.length);
      expect(second.status).toBe(0);
      expect(second.text).not.toContain("SYMBIONT-INIT-OK"); // (no boot: both start where they were saved)
      expect(second.text).toContain(`[vm0] AGAIN0 zero-42 PID=${pids[0]}\n[vm0] 2\n`);
      expect(second.text).toContain(`[vm1] AGAIN1 one-42 PID=${pids[1]}\n[vm1] 2\n`);
      // A snapshot of two VMs into one, or into two with other cards: refused, saying why and how they were started.
      const savedBy = `(it was saved by: symbiont boot --vms 2 --nic ne2k,vpio,shared=card0 --append '${LINUX_CMDLINE} quiet')`;
      const one = spawnSync(process.execPath, [cli, "boot", "--loadvm", file], { encoding: "utf8", input: "" });
      expect(one.status).toBe(2);
      expect(one.stderr.trim()).toBe(`symbiont: ${file}: snapshot: of 2 VMs (--vms 2): it goes back into as many, started with the options they had ${savedBy}`);
      // symbiont info: what the file holds, without loading it.
      const info = spawnSync(process.execPath, [cli, "info", file], { encoding: "utf8" });
      expect(info.status, info.stderr).toBe(0);
      expect(info.stdout).toMatch(new RegExp(`^${file}: a Symbiont snapshot \\(format 1\\) of 2 VMs, \\d+\\.\\d MiB\n`));
      expect(info.stdout).toContain(`\nsaved by: ${savedBy.slice("(it was saved by: ".length, -1)}\n`);
      for (let i = 0; i < 2; i++) {
        expect(info.stdout).toMatch(new RegExp(`\nvm${i}: [1-9]\\d{8,} instructions retired\n  RAM \\(--mem\\): 128 MiB\n  vCPUs \\(--smp\\): 1\n`));
        expect(info.stdout).toContain(`\n  network cards (--nic): ne2k-pci (vpio) 52:54:00:12:34:5${6 + i}\n`);
      }
      const virtio = spawnSync(process.execPath, [cli, "boot", "--vms", "2", "--nic", "virtio", "--loadvm", file], { encoding: "utf8", input: "" });
      expect(virtio.status).toBe(2);
      expect(virtio.stderr).toContain(`symbiont: ${file}: vm0: snapshot: its machine's devices is virtio-rng, this one's virtio-rng,virtio-net ${savedBy}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 25 * 60 * 1000);
});

describe("--loadvm's errors", () => {
  it("a missing file, or a file that is not a snapshot: one line, status 2", () => {
    const kernel = new URL("./kernels/bin/events.elf", import.meta.url).pathname;
    const missing = spawnSync(process.execPath, [cli, "run", kernel, "--loadvm", "/nonexistent/x.snap"], { encoding: "utf8", input: "" });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe("symbiont: cannot read snapshot /nonexistent/x.snap: no such file");
    const notSnap = spawnSync(process.execPath, [cli, "run", kernel, "--loadvm", kernel], { encoding: "utf8", input: "" });
    expect(notSnap.status).toBe(2);
    expect(notSnap.stderr.trim()).toBe(`symbiont: ${kernel}: not a Symbiont snapshot (it does not start with SYMBIONT-SNAPSHOT)`);
  });
});
