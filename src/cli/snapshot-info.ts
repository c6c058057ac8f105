/**
 * `symbiont info FILE`: what a snapshot holds — the machine (or the VMs) it is of, how far each had run, and the command
 * line it was saved by, which is what `--loadvm FILE` needs again (as `qemu-img info` tells what an image is). Read
 * from the snapshot's outline: its RAM is not loaded.
 *
 * @module
 */
import { snapshotOutline, type State } from "../vmm/snapshot.js";
import { groupSize } from "../machine/group-snapshot.js";

/** The lines `symbiont info` prints for the snapshot `bytes` read from `path` (a SnapshotError if it is not one). */
export function describeSnapshot(path: string, bytes: Uint8Array): string[] {
  const { version, tree } = snapshotOutline(bytes);
  const vms = groupSize(tree);
  const machines = vms === null ? [tree] : tree.machines as State[];
  const lines = [`${path}: a Symbiont snapshot (format ${version}) of ${vms === null ? "one machine" : `${vms} VMs`}, ${(bytes.length / 1048576).toFixed(1)} MiB`];
  lines.push(typeof tree.savedBy === "string" ? `saved by: ${tree.savedBy}` : "saved by: (not recorded: a snapshot a library user or the web page made)");
  machines.forEach((m, i) => {
    const retired = (m.vm as State | undefined)?.retired;
    lines.push(`${vms === null ? "the machine" : `vm${i}`}: ${typeof retired === "number" ? `${retired} instructions retired` : "(no vCPU state)"}`);
    for (const [key, value] of Object.entries((m.machine ?? {}) as State)) {
      const shown = key.startsWith("RAM") && typeof value === "number" ? `${value / 1048576} MiB` : value === true ? "yes" : value === false ? "no" : String(value);
      lines.push(`  ${key}: ${shown}`);
    }
  });
  return lines;
}
