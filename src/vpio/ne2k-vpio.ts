/**
 * An NE2000 under VPIO (seed 004), shared by one or more VMs.
 *
 * One card (a {@link Dp8390}: the "physical device") and, per VM, a
 * {@link VpioMember}: the card's PCI function in that VM, a device model
 * ({@link Ne2kModel}) and the card's context while the VM does not own it.
 *
 * **Hooked and direct ports.** The owner's accesses to the ports in
 * {@link HOOKED_PORTS} exit to the VMM, go through the model (which may deny
 * them) and then reach the card; all its other accesses are direct
 * (vm.direct: served inside the instruction, no exit). A VM that does not
 * own the card has all its 32 ports hooked.
 *
 * **Multiplexing.** The card changes hands only when the owner's model says
 * it is reusable ({@link switchTo} refuses otherwise), at the first such
 * moment after another VM wants it. A VM wants the card when it touched one
 * of its ports (the access is suspended: the VM stops at the instruction;
 * an OUT is kept and applied when the VM gets the card) or when frames
 * arrived for it. Frames for a VM that does not own the card are queued (up
 * to {@link MEMBER_QUEUE_FRAMES}), not lost, and fed to the card when it gets
 * the card back. A context switch saves and restores the whole chip — its
 * registers and its 32 KiB of card memory (the receive ring may hold frames
 * the VM has not read, the transmit buffer a frame it has not sent) — and
 * moves the card's interrupt line to the new owner.
 *
 * The card is one port on the network: the VMM sorts incoming frames by
 * destination address (each VM's station address; broadcast and multicast
 * to all), and frames between VMs that share the card never reach the wire
 * (a switch does not send a frame back out of the port it came in by).
 *
 * @module
 */
import type { Vm } from "../vmm/vm.js";
import { allOnes, type AccessSize, type PortDevice } from "../vmm/bus.js";
import { Dp8390, copyState as copyContext, type Dp8390State, type TransmitClock } from "../devices/ne2k/dp8390.js";
import { Ne2000Ports, NE2K_PORTS, ne2kPciFunction } from "../devices/ne2k/ne2k-pci.js";
import type { PciFunction } from "../devices/pci.js";
import { Ne2kModel, HOOKED_PORTS } from "./ne2k-model.js";
import { destinationMac, isMulticast, formatMac, type Mac } from "../net/ethernet.js";
import type { NicLink } from "../net/link.js";
import { SnapshotError, saveFields, restoreFields, type State } from "../vmm/snapshot.js";

/** Frames kept for a VM that does not own the card (then the oldest are dropped and counted). */
export const MEMBER_QUEUE_FRAMES = 512;

/** Where a PCI function's I/O BAR is decoded (the machine's port space; the shape of PciAddressSpaces). */
export interface PortSpace {
  mapPorts(base: number, length: number, dev: PortDevice): void;
  unmapPorts(dev: PortDevice): void;
}

const HOOKED_READ = new Array<boolean>(NE2K_PORTS).fill(false);
const HOOKED_WRITE = new Array<boolean>(NE2K_PORTS).fill(false);
for (const h of HOOKED_PORTS) { HOOKED_READ[h.offset] = h.read; HOOKED_WRITE[h.offset] = h.write; }

export interface MemberStats {
  /** Times the VM touched the card while another VM owned it (and waited). */
  suspensions: number;
  /** Times the card was switched to this VM. */
  switchesIn: number;
  framesQueued: number;
  framesDropped: number;
}

/** One VM's share of the card. */
export class VpioMember {
  readonly pci: PciFunction;
  readonly model = new Ne2kModel();
  /** The card's context while this VM does not own it. */
  context: Dp8390State | null;
  /** Drive this VM's INTA# (set by the machine that plugs the function in). */
  setIntx: (level: boolean) => void = () => {};
  readonly stats: MemberStats = { suspensions: 0, switchesIn: 0, framesQueued: 0, framesDropped: 0 };
  /** @internal */ readonly queue: Uint8Array[] = [];
  /** @internal An OUT made while waiting for the card. */ pendingOut: { offset: number; size: AccessSize; value: number } | null = null;
  /** @internal */ waiting = false;
  /** @internal */ base: number | null = null;
  private spaces: PortSpace | null = null;
  /** @internal The hooked-port device on this VM's bus. */ readonly front: PortDevice;

  /** @internal */
  constructor(private readonly vpio: Ne2kVpio, readonly index: number, readonly vm: Vm, readonly mac: Mac) {
    this.pci = ne2kPciFunction(() => this.remap());
    this.context = Dp8390.powerOnState(mac);
    this.front = {
      name: `ne2k-pci (vpio, vm${index})`,
      read: (offset, size) => vpio.frontRead(this, offset, size),
      write: (offset, size, value) => vpio.frontWrite(this, offset, size, value),
    };
  }

  /** Decode the BAR in `spaces` from now on (the machine calls this when plugging the function in). */
  attach(spaces: PortSpace): void {
    this.spaces = spaces;
    this.remap();
  }

  get owner(): boolean { return this.vpio.owner === this; }

  /** The card and this VM's station address, as a snapshot's machine must have it (Pc.addNetworkCard). */
  get identity(): string { return `ne2k-pci (vpio) ${formatMac(this.mac)}`; }

  /** The card's cable when this VM alone has the card (a recorded history logs what comes in on it: Pc.rewindable). */
  get link(): NicLink | undefined { return this.vpio.members.length === 1 ? this.vpio.link : undefined; }

  /** Whether other VMs share the card (a snapshot of this VM's machine is then part of a snapshot of them all). */
  get shared(): boolean { return this.vpio.members.length > 1; }

  /** The card's state for this VM's machine snapshot: the card's, or of a shared card this VM's share ({@link Ne2kVpio.saveShare}). */
  save(): State { return this.shared ? this.vpio.saveShare(this) : this.vpio.save(); }
  restore(state: State): void { if (this.shared) this.vpio.restoreShare(this, state); else this.vpio.restore(state); }
  /** Every member's machine is back from a snapshot of them all: the card's owner and mappings ({@link Ne2kVpio.restored}). */
  groupRestored(): void { if (this.shared) this.vpio.restored(); }

  /** @internal Follow BAR0: hooked front on the bus, and the owner's direct ports. */
  remap(): void {
    if (!this.spaces) return;
    this.spaces.unmapPorts(this.front);
    if (this.base !== null) this.vm.direct.unset(this.base, NE2K_PORTS);
    this.base = this.pci.barAddress(0);
    if (this.base === null) return;
    this.spaces.mapPorts(this.base, NE2K_PORTS, this.front);
    if (this.owner) this.mapDirect();
  }

  /** @internal Ports the model does not need go straight to the card, a run of equal modes at a time. */
  mapDirect(): void {
    if (this.base === null) return;
    const window = this.vpio.window;
    let start = 0;
    for (let o = 1; o <= NE2K_PORTS; o++) {
      if (o < NE2K_PORTS && HOOKED_READ[o] === HOOKED_READ[start] && HOOKED_WRITE[o] === HOOKED_WRITE[start]) continue;
      this.vm.direct.set(this.base + start, o - start, window, { read: !HOOKED_READ[start], write: !HOOKED_WRITE[start] }, start);
      start = o;
    }
  }

  /** @internal Every port hooked (the VM does not own the card). */
  hookAll(): void {
    if (this.base !== null) this.vm.direct.unset(this.base, NE2K_PORTS);
  }
}

export interface Ne2kVpioOptions {
  /** The card's cable to the network. */
  link: NicLink;
  /** One entry per VM sharing the card (one: plain VPIO, no multiplexing). */
  members: { vm: Vm; mac: Mac }[];
}

export interface VpioStats {
  /** Context switches made. */
  switches: number;
  /** Switches asked for while the owner's model said the card was not reusable. */
  refused: number;
  /** Frames between sharing VMs, delivered without the wire. */
  localFrames: number;
}

export class Ne2kVpio {
  readonly chip: Dp8390;
  /** The card's 32 ports (what direct accesses reach). */
  readonly window: Ne2000Ports;
  readonly members: VpioMember[];
  readonly stats: VpioStats = { switches: 0, refused: 0, localFrames: 0 };
  private current: VpioMember;
  /** The card's cable (one for every VM sharing the card). */
  readonly link: NicLink;

  constructor(opts: Ne2kVpioOptions) {
    if (opts.members.length === 0) throw new Error("VPIO NE2000: no VM to attach it to");
    this.link = opts.link;
    this.members = opts.members.map((m, i) => new VpioMember(this, i, m.vm, m.mac));
    const first = this.members[0]!;
    this.current = first;
    // The card's transmitter runs on the owner's clock (the card changes hands only between transmissions).
    const owners = () => this.current.vm.clock!;
    const clock: TransmitClock | undefined = first.vm.clock ? {
      nowNs: () => owners().nowNs(),
      schedule: (at, cb) => owners().schedule(at, cb),
      saveTimer: (h) => owners().saveTimer(h),
      restoreTimer: (saved, cb) => owners().restoreTimer(saved, cb),
    } : undefined;
    this.chip = new Dp8390({
      mac: first.mac,
      clock,
      transmit: (f) => this.transmitted(f),
      setIrq: (level) => this.current.setIntx(level),
      onReceiveReady: () => this.feedOwner(),
    });
    first.context = null;
    this.chip.onInterruptEvent = (bits) => this.interruptEvent(bits);
    this.window = new Ne2000Ports(this.chip);
    opts.link.attachNic({ canReceive: () => true, receive: (f) => this.fromWire(f) });
  }

  /** The VM that owns the card now. */
  get owner(): VpioMember { return this.current; }

  /**
   * Hand the card to member `index`: refused (false) while the owner's model
   * says the card is not reusable. Saves the owner's context (registers and
   * card memory), loads the new one, moves direct ports and the interrupt.
   */
  switchTo(index: number): boolean {
    const next = this.members[index];
    if (!next) throw new RangeError(`VPIO NE2000: no member ${index}`);
    const cur = this.current;
    if (next === cur) return true;
    // The model decides; the card's own transmitter state is a second guard (they agree in every test).
    if (!cur.model.reusable || this.chip.transmitting) { this.stats.refused++; return false; }
    cur.context = this.chip.saveState();
    cur.hookAll();
    cur.setIntx(false);
    this.current = next;
    this.chip.loadState(next.context!);
    next.context = null;
    next.setIntx(this.chip.irqLevel);
    next.mapDirect();
    this.stats.switches++;
    next.stats.switchesIn++;
    if (next.waiting) {
      next.waiting = false;
      const out = next.pendingOut;
      next.pendingOut = null;
      if (out) this.apply(next, out.offset, out.size, out.value);
      next.vm.resume();
    }
    this.feedOwner();
    return true;
  }

  /**
   * Give the card to a VM that wants it, if the owner can let go: a waiting
   * VM first, then one with frames queued. Called after hooked accesses,
   * frame arrivals and by the scheduler between slices.
   */
  poll(): void {
    if (this.members.length < 2 || !this.current.model.reusable) return;
    const n = this.members.length;
    const start = this.current.index;
    for (const wants of [(m: VpioMember) => m.waiting, (m: VpioMember) => m.queue.length > 0]) {
      for (let k = 1; k < n; k++) {
        const m = this.members[(start + k) % n]!;
        if (wants(m)) { this.switchTo(m.index); return; }
      }
    }
  }

  /**
   * The card and its model for a machine snapshot: the chip (registers, card memory, a frame on the wire) and the
   * model's state — of a card one VM has (a shared card is saved share by share: {@link saveShare}).
   */
  save(): State {
    if (this.members.length > 1) throw new SnapshotError("savevm: this NE2000 is shared with other VMs: it is saved with all of them");
    return { chip: this.chip.save(), model: saveFields(this.current.model, ["record"]) };
  }

  /** Take back save()'s state; frames that waited for the card as it was are dropped. */
  restore(state: State): void {
    if (this.members.length > 1) throw new SnapshotError("snapshot: this machine's NE2000 is shared with other VMs");
    this.chip.restore(state.chip as State);
    restoreFields(this.current.model, state.model as State);
    this.current.queue.length = 0;
    this.link.discardQueued();
  }

  /**
   * A shared card, as member `m`'s machine snapshot holds it: its model, the frames queued for it, an OUT waiting for
   * the card, and the card itself — the chip (with a transmission's timer, which runs on the owner's clock) if `m` owns
   * it, else its saved context. The snapshots of all the members together are the card (src/machine/group-snapshot.ts).
   */
  saveShare(m: VpioMember): State {
    return {
      owner: m.owner,
      chip: m.owner ? this.chip.save() : null,
      context: m.context ? copyContext(m.context) as unknown as State : null,
      model: saveFields(m.model, ["record"]),
      queue: m.queue.map((f) => f.slice()),
      pendingOut: m.pendingOut ? { ...m.pendingOut } : null,
      waiting: m.waiting,
      stats: { ...m.stats },
      card: m.owner ? { ...this.stats } : null,
    };
  }

  /**
   * Take back member `m`'s share (after its machine's clock is back: the owner's chip re-arms its timer there). The
   * ports are mapped for the restored owner by {@link restored}, once every member's machine is back.
   */
  restoreShare(m: VpioMember, state: State): void {
    if (state.owner) {
      this.current = m;
      m.context = null;
      this.chip.restore(state.chip as State);
      Object.assign(this.stats, state.card as State);
    } else {
      m.context = copyContext(state.context as unknown as Dp8390State);
    }
    restoreFields(m.model, state.model as State);
    m.queue.splice(0, m.queue.length, ...(state.queue as Uint8Array[]).map((f) => f.slice()));
    m.pendingOut = state.pendingOut ? { ...(state.pendingOut as { offset: number; size: AccessSize; value: number }) } : null;
    m.waiting = state.waiting as boolean;
    Object.assign(m.stats, state.stats as State);
  }

  /**
   * Every member's share is back: exactly one owns the card; its ports go direct, the others' are hooked, and a VM
   * that waited for the card waits again (its machine's restore cleared that). Each member asks (idempotent).
   */
  restored(): void {
    const owners = this.members.filter((m) => m.context === null);
    if (owners.length !== 1) throw new SnapshotError(`snapshot: the shared NE2000 has ${owners.length} owners among its VMs' snapshots (they were not saved together)`);
    for (const m of this.members) {
      m.hookAll();
      if (m.owner) m.mapDirect();
      if (m.waiting) m.vm.suspend(`the shared NE2000 belongs to vm${this.current.index}`);
    }
  }

  /** The model state of each VM, for --stats and the monitor. */
  describe(): string[] {
    return this.members.map((m) => {
      const s = m.model.stats;
      return `vm${m.index} ${formatMac(m.mac)}${m.owner ? " owner" : ""} state ${m.model.state}${m.waiting ? " (waiting)" : ""} updates ${s.updates} denied ${s.denied}` +
        (this.members.length > 1 ? ` switches-in ${m.stats.switchesIn} suspensions ${m.stats.suspensions} queued ${m.queue.length} dropped ${m.stats.framesDropped}` : "");
    });
  }

  // ---- the VMs' hooked ports ------------------------------------------------------------

  /** @internal */
  frontRead(m: VpioMember, offset: number, size: AccessSize): number {
    if (!m.owner && !this.acquire(m)) { this.wait(m); return allOnes(size); }
    if (offset >= 0x18) m.model.reset(); // the reset port: a read resets the chip
    const v = this.window.read(offset, size);
    this.poll();
    return v;
  }

  /** @internal */
  frontWrite(m: VpioMember, offset: number, size: AccessSize, value: number): void {
    if (!m.owner && !this.acquire(m)) { m.pendingOut = { offset, size, value }; this.wait(m); return; }
    this.apply(m, offset, size, value);
    this.poll();
  }

  /** An access by the owner: registers the model hooks go through it, the rest straight to the card. */
  private apply(m: VpioMember, offset: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = offset + i, b = (value >>> (8 * i)) & 0xff;
      if (o >= 0x10 || !HOOKED_WRITE[o]) {
        if (o >= 0x10 && o < 0x18 && i === 0) { this.window.write(offset, size, value); return; } // data port: one transfer
        this.window.write(o, 1, b);
        continue;
      }
      const verdict = m.model.write(o, b);
      if (verdict.forward !== null) this.window.write(o, 1, verdict.forward);
      if (verdict.abortTransmit) this.chip.abortTransmit();
    }
  }

  /** The card is free now (owner reusable): take it. */
  private acquire(m: VpioMember): boolean {
    return this.current.model.reusable && this.switchTo(m.index);
  }

  private wait(m: VpioMember): void {
    if (!m.waiting) m.stats.suspensions++;
    m.waiting = true;
    m.vm.suspend(`the shared NE2000 belongs to vm${this.current.index}`);
  }

  // ---- the card's events -------------------------------------------------------------------

  private interruptEvent(bits: number): void {
    this.current.model.interrupt(bits);
    // A transfer ended during a direct access and another VM waits: end the owner's slice so the
    // scheduler can hand the card over (switching inside an instruction is avoided).
    if (this.members.length > 1 && this.current.model.reusable && this.members.some((m) => m.waiting || (m !== this.current && m.queue.length > 0))) {
      this.current.vm.direct.kick();
    }
  }

  // ---- frames ----------------------------------------------------------------------------------

  private transmitted(frame: Uint8Array): void {
    const from = this.current;
    const dst = destinationMac(frame);
    if (isMulticast(dst)) {
      for (const m of this.members) if (m !== from) { this.stats.localFrames++; this.deliverTo(m, frame); }
      this.link.transmit(frame);
      return;
    }
    const local = this.members.find((m) => m.mac === dst && m !== from);
    if (local) { this.stats.localFrames++; this.deliverTo(local, frame); return; }
    this.link.transmit(frame);
  }

  private fromWire(frame: Uint8Array): void {
    const dst = destinationMac(frame);
    if (isMulticast(dst) || this.members.length === 1) { for (const m of this.members) this.deliverTo(m, frame); return; }
    const m = this.members.find((x) => x.mac === dst);
    if (m) this.deliverTo(m, frame);
    else this.deliverTo(this.current, frame); // not ours by address: the owner's filter decides (promiscuous mode)
  }

  private deliverTo(m: VpioMember, frame: Uint8Array): void {
    if (m.owner && m.queue.length === 0 && this.chip.canReceive(frame.length)) {
      this.chip.receive(frame);
      return;
    }
    if (m.queue.length >= MEMBER_QUEUE_FRAMES) { m.queue.shift(); m.stats.framesDropped++; }
    m.queue.push(frame);
    m.stats.framesQueued++;
  }

  /** Move the owner's queued frames into the card while its ring has room. */
  private feedOwner(): void {
    const m = this.current;
    while (m.queue.length > 0 && this.chip.canReceive(m.queue[0]!.length)) this.chip.receive(m.queue.shift()!);
  }
}
