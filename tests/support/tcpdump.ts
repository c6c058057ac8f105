/**
 * Frames read back by Debian's tcpdump (the independent oracle for frame formats and checksums: with -vv it
 * verifies the IPv4, UDP, TCP and ICMP checksums it prints).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { PcapWriter } from "../../src/net/pcap.js";

/** `tcpdump -n -vv -S [more]` of the frames written to a pcap: one entry per frame (its continuation lines joined). */
export function tcpdumpFrames(frames: readonly Uint8Array[], more: readonly string[] = []): string[] {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((b) => chunks.push(b.slice()), { timeNs: () => 1_767_225_600_000_000_000 });
  for (const f of frames) w.write(f);
  const dir = mkdtempSync(join(tmpdir(), "symbiont-tcpdump-"));
  try {
    writeFileSync(join(dir, "cap.pcap"), Buffer.concat(chunks));
    const r = spawnSync("tcpdump", ["-r", join(dir, "cap.pcap"), "-n", "-vv", "-S", ...more], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tcpdump failed (status ${r.status}): ${r.stderr}`);
    return r.stdout.trim().replace(/\n\s+/g, " ").split("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
