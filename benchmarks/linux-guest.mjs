// What the Linux benchmark boots and types, shared by benchmarks/linux.mjs
// (the parent) and benchmarks/linux-child.mjs (one boot on Symbiont or v86):
// the kernel command line, the initramfs contents (tests/linux.test.ts's
// busybox layout with the same workload and data files), the line typed at
// the shell prompt, and a scanner that timestamps the serial console.
import { readFileSync } from "node:fs";
import { LINUX_CMDLINE } from "../dist/boot/linux.js";

/** The command line of every engine (README's default: no crypto self-tests, no ISA PnP probe). */
export const CMDLINE = LINUX_CMDLINE;
/** Printed by /init once it has mounted proc, sys and devtmpfs (src/boot/initramfs.ts). */
export const MARKER = "SYMBIONT-INIT-OK";
/**
 * Typed at the first shell prompt after the marker. The markers are expanded
 * by the shell ("$((0))" → "0"), so the terminal's echo of the typed line
 * cannot match them. `poweroff -f` ends QEMU's and Symbiont's runs.
 */
export const INPUT = "cd /work; echo WORKLOAD-BEGIN$((0)); sh workload.sh; echo WORKLOAD-E$((0))ND\n";
/**
 * For the peak-RSS measurement: make the guest touch most of its RAM by
 * writing 200 MiB of zeros to a tmpfs (its page cache; the rootfs is capped
 * at half of RAM, so a tmpfs of its own), between the same markers.
 */
export const FILL_INPUT = "mount -t tmpfs -o size=240m fill /mnt; echo WORKLOAD-BEGIN$((0)); dd if=/dev/zero of=/mnt/fill bs=1M count=200 2>&1; echo WORKLOAD-E$((0))ND\n";
/**
 * For the paging table (benchmarks/paging.mjs): 200 × fork and exec of a shell
 * that exits at once — new address spaces built and torn down, copy-on-write
 * faults: the page-table updates shadow paging pays for (seed 002).
 */
export const FORKEXEC_INPUT = "echo WORKLOAD-BEGIN$((0)); i=0; while [ $i -lt 200 ]; do /bin/sh -c :; i=$((i + 1)); done; echo WORKLOAD-E$((0))ND\n";
export const BEGIN = "WORKLOAD-BEGIN0\n";
export const END = "WORKLOAD-E0ND";

/** tests/linux.test.ts's data files: a pseudo-random file, a list of numbers, and tests/linux/workload.sh. */
export function dataFiles() {
  const script = readFileSync(new URL("../tests/linux/workload.sh", import.meta.url), "utf8");
  const bin = new Uint8Array(200_000);
  let x = 0x12345678;
  for (let i = 0; i < bin.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bin[i] = (x >>> 24) & 0xff; }
  const numbers = [];
  for (let i = 0; i < 500; i++) numbers.push(String((i * 7919) % 1013));
  return [
    { path: "data.bin", data: bin },
    { path: "numbers.txt", data: new TextEncoder().encode(numbers.join("\n") + "\n") },
    { path: "workload.sh", data: new TextEncoder().encode(script) },
  ];
}

/**
 * Follows the serial console byte by byte and records when things appear:
 * `now()` is called for each event and its value stored (the caller decides
 * what a timestamp is: wall ms, CPU ms, retired instructions …).
 *   first   the first byte
 *   marker  the last byte of MARKER
 *   prompt  the first "# " after the marker (then `onPrompt` is called once)
 *   begin   the newline of "WORKLOAD-BEGIN0"
 *   end     the last byte of "WORKLOAD-E0ND"
 */
export class SerialScanner {
  constructor(now, { onPrompt, onMarker, onEnd } = {}) {
    this.now = now;
    this.onPrompt = onPrompt;
    this.onMarker = onMarker;
    this.onEnd = onEnd;
    this.text = "";
    this.at = {};
    this.beginIndex = -1;
    this.endIndex = -1;
  }
  byte(b) {
    const s = String.fromCharCode(b);
    this.text += s;
    const t = this.text;
    if (!this.at.first) this.at.first = this.now();
    if (!this.at.marker) {
      if (s === MARKER[MARKER.length - 1] && t.endsWith(MARKER)) { this.at.marker = this.now(); this.onMarker?.(); }
      return;
    }
    if (!this.at.prompt) {
      if (s === " " && t.endsWith("# ")) { this.at.prompt = this.now(); this.onPrompt?.(); }
      return;
    }
    if (!this.at.begin) {
      if (s === "\n" && (t.endsWith(BEGIN) || t.endsWith(BEGIN.replace("\n", "\r\n")))) { this.at.begin = this.now(); this.beginIndex = t.length; }
      return;
    }
    if (!this.at.end && s === END[END.length - 1] && t.endsWith(END)) {
      this.at.end = this.now();
      this.endIndex = t.length - END.length;
      this.onEnd?.();
    }
  }
  /** The workload's output (between the two markers), without CRs. */
  workloadOutput() {
    return this.beginIndex >= 0 && this.endIndex >= 0 ? this.text.slice(this.beginIndex, this.endIndex).replace(/\r/g, "") : null;
  }
}
