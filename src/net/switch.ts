/**
 * The virtual switch: Xen's virtual firewall-router (seed 003) reduced to
 * what a set of VMs needs — a learning Ethernet switch whose ports carry
 * rules. Each port is one NIC (a {@link NicLink} in this thread), a VM in a
 * worker thread (a MessagePort, see worker-port.ts) or an uplink (a TCP
 * socket to another symbiont or QEMU process).
 *
 * Forwarding: the source address of every frame that enters is learned for
 * its port; a frame to a learned unicast address goes to that port only
 * (never back where it came from), broadcast, multicast and unknown unicast
 * go to every other port. Entries age out after {@link MAC_AGE_MS}.
 *
 * Rules: each port has an ordered list, first match wins, default accept.
 * "out" rules see frames the port's VM sends into the switch, "in" rules
 * frames the switch would deliver to it. A port may also be locked to one
 * source MAC (Xen's anti-spoofing rule): frames from the VM with any other
 * source are dropped.
 *
 * Frames are immutable once transmitted: the switch hands the same bytes to
 * every destination.
 *
 * Large TCP packets (link.ts: a NIC's TSO, the user network's TCP) cross the
 * switch whole to ports that take them so — another VM's NIC with the receive
 * offload — and as the wire's segments everywhere else: taps (a capture shows
 * what a wire would carry), an uplink, a port without the offload.
 *
 * @module
 */
import { wireSegments, type LargeSender, type NicLink } from "./link.js";
import { type Mac, destinationMac, sourceMac, etherType, isMulticast, formatMac, ETH_HEADER } from "./ethernet.js";

/** Learned addresses are forgotten after 300 s without a frame from them (IEEE 802.1D's default). */
export const MAC_AGE_MS = 300_000;

export interface PortRule {
  action: "accept" | "drop";
  /** "out": frames from the port into the switch; "in": frames from the switch to the port. */
  direction: "in" | "out";
  /** Match only this EtherType (0x0800 IPv4, 0x0806 ARP, 0x86dd IPv6 …). */
  etherType?: number;
  src?: Mac;
  dst?: Mac;
}

export interface PortOptions {
  /** A name for statistics and errors ("vm0", "uplink"). */
  name: string;
  rules?: PortRule[];
  /** Accept frames from this port only with this source address. */
  lockSource?: Mac;
}

export interface PortStats {
  /** Frames that entered the switch from the port. */
  inFrames: number;
  /** Frames the switch delivered to the port. */
  outFrames: number;
  /** Frames dropped by the port's rules (either direction) or its source lock. */
  filtered: number;
}

/** One port of the switch, as the thing plugged into it sees it. */
export class SwitchPort {
  readonly stats: PortStats = { inFrames: 0, outFrames: 0, filtered: 0 };
  /** @internal */ connected = true;

  /** @internal */
  constructor(
    private readonly sw: VirtualSwitch,
    readonly options: PortOptions,
    /** @internal Where the switch delivers frames for this port. */ readonly deliver: (frame: Uint8Array) => void,
    /** @internal Where it delivers large TCP packets (none: as segments through deliver). */ readonly deliverLarge: LargeSender | null = null,
  ) {}

  get name(): string { return this.options.name; }

  /** A frame from the port's device into the switch. */
  send(frame: Uint8Array): void { this.sw.forward(this, frame, 0); }

  /** A large IPv4/TCP packet (`mss` payload bytes a segment) from the port's device into the switch. */
  sendLarge(frame: Uint8Array, mss: number): void { this.sw.forward(this, frame, mss); }

  /** Unplug: no more frames either way; learned addresses of the port are forgotten. */
  disconnect(): void { this.sw.remove(this); }
}

interface Learned { port: SwitchPort; seenMs: number }

export class VirtualSwitch {
  private readonly ports: SwitchPort[] = [];
  private readonly table = new Map<Mac, Learned>();
  /** Frames dropped because they were too short to carry an Ethernet header. */
  runts = 0;
  private readonly taps: ((frame: Uint8Array, port: SwitchPort) => void)[] = [];

  /** @param nowMs monotonic milliseconds for address aging (default performance.now). */
  constructor(readonly name = "switch0", private readonly nowMs: () => number = () => performance.now()) {}

  /**
   * Plug something in: `deliver` receives the frames the switch sends to it, `deliverLarge` (if given) large TCP
   * packets whole.
   */
  connect(options: PortOptions, deliver: (frame: Uint8Array) => void, deliverLarge: LargeSender | null = null): SwitchPort {
    if (this.ports.some((p) => p.name === options.name)) throw new Error(`${this.name}: a port is already named ${options.name}`);
    const port = new SwitchPort(this, options, deliver, deliverLarge);
    this.ports.push(port);
    return port;
  }

  /** Plug a NIC's cable in (a port named after the link unless `options` says otherwise). */
  connectLink(link: NicLink, options: Partial<PortOptions> = {}): SwitchPort {
    const port = this.connect({ name: link.name, ...options }, (frame) => link.deliver(frame), (frame, mss) => link.deliverLarge(frame, mss));
    link.attachBackend((frame) => port.send(frame), (frame, mss) => port.sendLarge(frame, mss));
    return port;
  }

  /** See every frame that enters the switch, once, before rules (a mirror port: a pcap writer). */
  addTap(tap: (frame: Uint8Array, from: SwitchPort) => void): void { this.taps.push(tap); }

  /** The ports, in the order they were connected. */
  list(): readonly SwitchPort[] { return this.ports; }

  /** Where the switch would send a frame to `mac` now (diagnostics, tests). */
  lookup(mac: Mac): SwitchPort | undefined {
    const e = this.table.get(mac);
    return e && this.nowMs() - e.seenMs <= MAC_AGE_MS ? e.port : undefined;
  }

  /** The learned table, for the monitor: address → port name. */
  addresses(): { mac: string; port: string }[] {
    return [...this.table].map(([mac, e]) => ({ mac: formatMac(mac), port: e.port.name }));
  }

  /** The learned addresses and their ports' names, for a snapshot of the VMs on the switch (group-snapshot.ts). */
  saveAddresses(): [Mac, string][] {
    const now = this.nowMs();
    return [...this.table].filter(([, e]) => now - e.seenMs <= MAC_AGE_MS).map(([mac, e]) => [mac, e.port.name]);
  }

  /** Learn saveAddresses' entries again, as seen now (the rest forgotten); one naming a port this switch lacks is left out. */
  restoreAddresses(entries: readonly [Mac, string][]): void {
    this.table.clear();
    const now = this.nowMs();
    for (const [mac, name] of entries) {
      const port = this.ports.find((p) => p.name === name);
      if (port) this.table.set(mac, { port, seenMs: now });
    }
  }

  /** @internal A frame (mss 0) or a large TCP packet from a port. */
  forward(from: SwitchPort, frame: Uint8Array, mss: number): void {
    if (!from.connected) return;
    if (frame.length < ETH_HEADER) { this.runts++; return; }
    from.stats.inFrames++;
    let segments: Uint8Array[] | null = null; // a large packet's wire segments, cut once when someone needs them
    const wire = () => (segments ??= wireSegments(frame, mss));
    if (this.taps.length > 0) for (const f of mss > 0 ? wire() : [frame]) for (const t of this.taps) t(f, from);
    const src = sourceMac(frame);
    if ((from.options.lockSource !== undefined && src !== from.options.lockSource) || !accepts(from.options.rules, "out", frame)) {
      from.stats.filtered++;
      return;
    }
    const now = this.nowMs();
    if (!isMulticast(src)) this.table.set(src, { port: from, seenMs: now });
    const dst = destinationMac(frame);
    if (!isMulticast(dst)) {
      const known = this.table.get(dst);
      if (known && now - known.seenMs <= MAC_AGE_MS) {
        if (known.port !== from) this.deliverTo(known.port, frame, mss, wire);
        return;
      }
    }
    for (const p of this.ports) if (p !== from) this.deliverTo(p, frame, mss, wire);
  }

  /** @internal */
  remove(port: SwitchPort): void {
    port.connected = false;
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
    for (const [mac, e] of this.table) if (e.port === port) this.table.delete(mac);
  }

  private deliverTo(port: SwitchPort, frame: Uint8Array, mss: number, wire: () => Uint8Array[]): void {
    if (!accepts(port.options.rules, "in", frame)) { port.stats.filtered++; return; }
    port.stats.outFrames++;
    if (mss === 0) port.deliver(frame);
    else if (port.deliverLarge) port.deliverLarge(frame, mss);
    else for (const f of wire()) port.deliver(f);
  }
}

/** First matching rule of `direction` decides; no match accepts. */
function accepts(rules: PortRule[] | undefined, direction: "in" | "out", frame: Uint8Array): boolean {
  if (!rules) return true;
  for (const r of rules) {
    if (r.direction !== direction) continue;
    if (r.etherType !== undefined && r.etherType !== etherType(frame)) continue;
    if (r.src !== undefined && r.src !== sourceMac(frame)) continue;
    if (r.dst !== undefined && r.dst !== destinationMac(frame)) continue;
    return r.action === "accept";
  }
  return true;
}
