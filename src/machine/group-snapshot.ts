/**
 * Snapshots of several VMs at once (`--vms N`: the monitor's savevm and loadvm, `--loadvm`): every machine of the run
 * and what lies between them — the frames on their cables, the switch's learned addresses, a VPIO NE2000 they share,
 * the scheduler's turn — saved at one instant between turns, so that the VMs go on together from it.
 *
 * The file is one snapshot tree (src/vmm/snapshot.ts) with `group` where a single machine's has `machine`:
 * `{ group: { vms }, machines: [each Pc's tree], links, switches, scheduler }`. A single machine's snapshot is not a
 * group's and the other way round; each machine's tree is checked against its machine as Pc.loadSnapshot checks one.
 *
 * Why the cables and the switch are in it: between VMs the network is part of what they compute — a frame queued for
 * a card that lost it, or an address the switch forgot (so floods a frame to every VM instead of one), makes the
 * guests run differently afterwards. With a deterministic clock the restored VMs run exactly as they would have from
 * the saved instant (tests/snapshot-group.test.ts). What is outside — the user network's connections to the host, a
 * socket to another process — is not saved, as for one machine (the user network drops what was opened since).
 *
 * @module
 */
import type { Pc } from "./pc.js";
import type { Nics } from "./nics.js";
import type { VirtualSwitch } from "../net/switch.js";
import type { VmGroup } from "../vmm/vm-group.js";
import type { LinkCheckpoint, NicLink } from "../net/link.js";
import { encodeSnapshot, decodeSnapshot, SnapshotError, type State } from "../vmm/snapshot.js";

/** What a snapshot of several VMs holds: the machines, and what connects and schedules them. */
export interface MachineGroup {
  readonly pcs: readonly Pc[];
  /** Their cards' cables, a Nics per network (plugNics' result). */
  readonly networks?: readonly Nics[];
  /** The switches the cables plug into. */
  readonly switches?: readonly VirtualSwitch[];
  /** Their scheduler (null: the caller makes one after loading). */
  readonly scheduler?: VmGroup | null;
}

/** How many VMs a snapshot's tree is of when it is a group's (null: one machine's). */
export function groupSize(tree: State): number | null {
  const g = tree.group;
  return g !== null && typeof g === "object" && !Array.isArray(g) && !ArrayBuffer.isView(g) ? (g as State).vms as number : null;
}

/**
 * Every VM of `g` and what connects them, as bytes {@link loadGroupSnapshot} takes back (between turns only).
 * `savedBy`: how they were started (as Pc.saveSnapshot's).
 */
export function saveGroupSnapshot(g: MachineGroup, opts: { savedBy?: string } = {}): Uint8Array {
  const machines = g.pcs.map((pc, i) => {
    try { return pc.snapshotState({ group: true }); } catch (e) {
      if (e instanceof SnapshotError) throw new SnapshotError(e.message.replace(/^(savevm: )?/, `$1vm${i}: `));
      throw e;
    }
  });
  return encodeSnapshot({
    group: { vms: g.pcs.length },
    machines,
    links: cables(g).map((l) => l.checkpoint() as unknown as State),
    switches: (g.switches ?? []).map((sw) => sw.saveAddresses()),
    scheduler: g.scheduler ? g.scheduler.save() : null,
    ...opts.savedBy ? { savedBy: opts.savedBy } : {},
  });
}

/**
 * Take back a snapshot {@link saveGroupSnapshot} made of VMs started with the same options: each machine its own
 * state, the cables their frames, the switch its addresses, the scheduler its turn. A snapshot of one machine, of
 * another number of VMs or of machines that differ is refused (a SnapshotError saying how, naming the VM) before any
 * VM changes.
 */
export function loadGroupSnapshot(g: MachineGroup, bytes: Uint8Array): void {
  const tree = decodeSnapshot(bytes);
  const vms = groupSize(tree);
  if (vms === null) throw new SnapshotError(`snapshot: of one machine, not of ${g.pcs.length} VMs (load it without --vms)`);
  if (vms !== g.pcs.length) throw new SnapshotError(`snapshot: of ${vms} VMs, this run has ${g.pcs.length} (--vms ${vms})`);
  const machines = tree.machines as State[];
  const eachVm = (what: (pc: Pc, tree: State) => void) => g.pcs.forEach((pc, i) => {
    try { what(pc, machines[i]!); } catch (e) {
      if (e instanceof SnapshotError) throw new SnapshotError(`vm${i}: ${e.message}`);
      throw e;
    }
  });
  // Everything checked before any VM changes: each machine (its cards among it), then what lies between them.
  eachVm((pc, m) => pc.checkSnapshotFits(m));
  const links = tree.links as unknown as LinkCheckpoint[], mine = cables(g);
  if (links.length !== mine.length) throw new SnapshotError(`snapshot: its VMs have ${links.length} network cable(s), these ${mine.length} (--nic)`);
  const switches = tree.switches as unknown as [number, string][][], sws = g.switches ?? [];
  if (switches.length !== sws.length) throw new SnapshotError(`snapshot: its VMs have ${switches.length} switch(es) between them, these ${sws.length} (--net)`);
  eachVm((pc, m) => pc.restoreSnapshotState(m, { group: true }));
  for (const pc of g.pcs) pc.groupRestored();
  links.forEach((c, i) => mine[i]!.restoreCheckpoint(c));
  switches.forEach((entries, i) => sws[i]!.restoreAddresses(entries));
  if (g.scheduler && tree.scheduler) g.scheduler.restore(tree.scheduler as State);
}

function cables(g: MachineGroup): NicLink[] { return (g.networks ?? []).flatMap((n) => n.links); }
