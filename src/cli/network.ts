/**
 * The network of `symbiont boot`: `--nic`, `--net` and `--net-dump` turned
 * into cards, cables, a switch, a socket and a capture (Node).
 *
 * - `--nic virtio` (virtio-net), `ne2k` (emulated NE2000: every port access
 *   exits), `ne2k,vpio` (the NE2000 under VPIO: the model's ports exit, the
 *   rest are direct), `ne2k,vpio,shared=NAME` (one card, NAME, shared by
 *   every VM of `--vms`); `mac=` and `ip=` set VM 0's addresses (VM i gets
 *   the next ones). One card per VM.
 * - `--net switch` (the default with a card): the VMs' cards on one virtual
 *   switch; `socket:HOST:PORT` / `socket:listen:PORT` (also QEMU's spelling
 *   `socket:connect=HOST:PORT`, `socket:listen=[HOST]:PORT`): the switch
 *   with a TCP uplink to another symbiont or to a QEMU's `-netdev socket`;
 *   `none`: the cables are unplugged.
 * - `--net user[,hostfwd=…][,restrict=on]`: the switch with the user network's
 *   router on it (src/net/user/: DHCP, DNS, NAT through the host's sockets);
 *   the guests configure themselves by DHCP, VM i reserved 10.0.2.(15+i).
 * - `--net-dump FILE`: a pcap of every frame that enters the switch (with
 *   `--net none`, of every frame the cards send).
 *
 * @module
 */
import { openSync, writeSync, closeSync } from "node:fs";
import { UsageError, type NicSpec, type NetSpec } from "./args.js";
import { plugNics, guestAddress, type NicHost, type Nics } from "../machine/nics.js";
import { VirtualSwitch } from "../net/switch.js";
import { PcapWriter } from "../net/pcap.js";
import { formatMac } from "../net/ethernet.js";
import { SocketNetBackend } from "../node/net-socket.js";
import { UserNetwork, USER_NET, USER_NET_POOL } from "../net/user/user-network.js";
import { NodeHostNet } from "../node/host-net.js";
import type { VirtualClock } from "../vmm/clock.js";

export interface Network {
  readonly nics: Nics;
  /** The switch the cables plug into (none with `--net none`). */
  readonly switch: VirtualSwitch | null;
  /** Lines for --stats. */
  describe(): string[];
  /**
   * The machine was taken back to a snapshot's instant (the monitor's loadvm): the user network drops its connections,
   * which the guest opened after that instant (what to tell the user, or "").
   */
  machineRestored(): string;
  close(): void;
}

/**
 * With `--net user`, VM i's station address → the address its DHCP reserves for it; a UsageError when `--nic ip=`
 * puts the VMs outside the DHCP pool (10.0.2.15 – 10.0.2.30).
 */
export function userNetReservations(vms: number, nic: NicSpec): Map<number, number> {
  const reservations = new Map(Array.from({ length: vms }, (_, i) => [(nic.addresses.mac + i) % 2 ** 48, (nic.addresses.ipv4 + i) >>> 0] as const));
  if (nic.addresses.prefix !== 24 || [...reservations.values()].some((ip) => ip < USER_NET.firstGuest || ip >= USER_NET.firstGuest + USER_NET_POOL)) {
    throw new UsageError(`--net user: the guests' addresses come from its DHCP, 10.0.2.15/24 to 10.0.2.30/24 (--nic ip= is ${guestAddress(0, nic.addresses).ip})`);
  }
  return reservations;
}

/**
 * Give every PC its card and wire the cables as `net` says; `onFrame` is
 * called when a frame reaches a card (the runner wakes a sleeping VM).
 */
export async function buildNetwork(
  pcs: readonly NicHost[], nic: NicSpec, net: NetSpec,
  opts: { dump: string | null; clock: VirtualClock; epochSeconds: number; log: (line: string) => void; onFrame: () => void },
): Promise<Network> {
  let nics: Nics;
  try {
    nics = plugNics(pcs, { model: nic.model, vpio: nic.vpio, shared: nic.shared !== null, offloads: nic.offloads }, { addresses: nic.addresses, sharedName: nic.shared ?? undefined });
  } catch (e) {
    throw new UsageError(`--nic: ${(e as Error).message}`);
  }
  for (const l of nics.links) l.onDelivered = opts.onFrame;

  let dumpFd: number | null = null, pcap: PcapWriter | null = null;
  if (opts.dump) {
    try { dumpFd = openSync(opts.dump, "w"); } catch (e) { throw new UsageError(`cannot open --net-dump file ${opts.dump}: ${(e as Error).message}`); }
    const fd = dumpFd;
    pcap = new PcapWriter((b) => writeSync(fd, b), { timeNs: () => opts.epochSeconds * 1e9 + opts.clock.nowNs() });
  }

  let socket: SocketNetBackend | null = null;
  let user: UserNetwork | null = null;
  let sw: VirtualSwitch | null = null;
  try {
    if (net.kind === "user") {
      const reservations = userNetReservations(pcs.length, nic);
      user = new UserNetwork(new NodeHostNet(), { reservations, restrict: net.restrict, hostForwards: net.hostForwards, notice: (line) => opts.log(`net user: ${line}`) });
      await user.start().catch((e: Error) => { user!.close(); throw new UsageError(`--net user: ${e.message}`); });
    }
    if (net.kind === "socket") {
      socket = await SocketNetBackend.open(net.endpoint).catch((e: Error) => { throw new UsageError(`--net socket: ${e.message}`); });
      socket.onNotice = (line) => opts.log(`net: ${line}`);
      if (net.endpoint.mode === "listen") opts.log(`net: listening on ${net.endpoint.host}:${socket.port} (for QEMU: -netdev socket,connect=HOST:${socket.port})`);
    }
  } catch (e) {
    if (dumpFd !== null) closeSync(dumpFd);
    throw e;
  }
  if (net.kind === "none") {
    if (pcap) for (const l of nics.links) l.addTap((frame, dir) => { if (dir === "tx") pcap!.write(frame); });
  } else {
    sw = new VirtualSwitch("switch0");
    if (pcap) sw.addTap((frame) => pcap!.write(frame));
    for (const l of nics.links) sw.connectLink(l);
    if (socket) {
      const s = socket;
      const uplink = sw.connect({ name: "socket" }, (f) => s.send(f));
      s.onFrame = (f) => uplink.send(f);
    }
    user?.plugInto(sw);
  }
  const addresses = pcs.map((_, i) => guestAddress(i, nic.addresses));
  opts.log(`net: ${addresses.map((a, i) => `vm${i} ${nic.model}${nic.vpio ? "+vpio" : ""} ${formatMac(a.mac)} ${a.ip}`).join(", ")}${nic.shared !== null ? ` (one card: ${nic.shared})` : ""}`);

  return {
    nics,
    switch: sw,
    describe() {
      const lines = nics.describe();
      if (user) lines.push(...user.describe());
      if (socket) lines.push(`net socket: sent ${socket.stats.framesSent} received ${socket.stats.framesReceived} dropped while unconnected ${socket.stats.framesDroppedUnconnected}`);
      if (pcap) lines.push(`net dump: ${pcap.frames} frames in ${opts.dump}`);
      return lines;
    },
    machineRestored() {
      const n = user?.forgetConnections() ?? 0;
      return n > 0 ? `the user network dropped ${n} connection${n === 1 ? "" : "s"} opened since` : "";
    },
    close() {
      socket?.close();
      user?.close();
      if (dumpFd !== null) closeSync(dumpFd);
    },
  };
}
