/**
 * QEMU's `hyperv-testdev` (hw/misc/hyperv_testdev.c, `-device hyperv-testdev`):
 * the device kvm-unit-tests' Hyper-V tests drive the SynIC through from the
 * "host" side. One write-only dword port, 0x3000, takes a command:
 *
 *     bits 31-24 connection id · 23-16 command · 15-8 VP index · 7-0 SINT
 *
 * | command | what |
 * |---|---|
 * | 1 SINT_ROUTE_CREATE | a route to (VP, SINT) |
 * | 2 SINT_ROUTE_DESTROY | drop it |
 * | 3 SINT_ROUTE_SET_SINT | raise the SINT's vector on that VP (nothing when the SINT is masked) |
 * | 4 MSG_CONN_CREATE | listen on message connection `id`: each HvPostMessage to it is posted back, type and payload unchanged, to (VP, SINT) |
 * | 5 MSG_CONN_DESTROY | stop listening on `id` |
 * | 6 EVT_CONN_CREATE | listen on event connection `id`: each HvSignalEvent to it sets event flag `id` of (VP, SINT) |
 * | 7 EVT_CONN_DESTROY | stop listening on `id` |
 *
 * A posted message that finds its slot busy waits for the guest's EOM, one per
 * connection: HvPostMessage answers HV_STATUS_INSUFFICIENT_BUFFERS while it
 * waits (QEMU's staged message), and HV_STATUS_INVALID_HYPERCALL_INPUT when the
 * target VP's SynIC or its message (or event-flags) page is off (QEMU aborts
 * there). Commands on routes or connections that do not exist are ignored
 * (QEMU asserts) and counted in {@link ignored}.
 *
 * @module
 */
import type { AccessSize, PortDevice } from "../vmm/bus.js";
import { HvStatus, type Hyperv } from "../paravirt/hyperv.js";
import type { HvMessage } from "../paravirt/synic.js";
import type { Saveable, State } from "../vmm/snapshot.js";

export const HYPERV_TESTDEV_PORT = 0x3000;

const enum Command { SintRouteCreate = 1, SintRouteDestroy, SintRouteSetSint, MsgConnCreate, MsgConnDestroy, EvtConnCreate, EvtConnDestroy }

/** Where a connection's messages or event flags go. */
interface Route { vp: number; sint: number }

export class HypervTestdev implements PortDevice, Saveable {
  readonly name = "hyperv-testdev";
  private readonly routes = new Set<number>();
  /** Message connections by id, each with the route its messages go to (and wait on, as their owner). */
  private readonly messageConnections = new Map<number, Route>();
  /** Event connections by id, each with the route whose flag `id` it sets. */
  private readonly eventConnections = new Map<number, Route>();
  /** Commands naming a route or connection that does not exist. */
  ignored = 0;

  constructor(private readonly hv: Hyperv) {}

  read(): number { return 0; }

  write(offset: number, size: AccessSize, value: number): void {
    if (offset !== 0 || size !== 4) return; // QEMU takes dword accesses only
    const sint = value & 0xff, vp = (value >>> 8) & 0xff, command = (value >>> 16) & 0xff, id = value >>> 24;
    const route = (vp << 8) | sint;
    switch (command) {
      case Command.SintRouteCreate: this.routes.add(route); return;
      case Command.SintRouteDestroy: if (!this.routes.delete(route)) this.ignored++; return;
      case Command.SintRouteSetSint:
        if (this.routes.has(route) && this.hv.vcpus[vp]) this.hv.vcpus[vp]!.synic.raise(sint); else this.ignored++;
        return;
      case Command.MsgConnCreate: this.listenForMessages(id, { vp, sint }); return;
      case Command.MsgConnDestroy: if (!this.stopMessages(id)) this.ignored++; return;
      case Command.EvtConnCreate: this.listenForEvents(id, { vp, sint }); return;
      case Command.EvtConnDestroy: if (!this.stopEvents(id)) this.ignored++; return;
    }
    this.ignored++;
  }

  /** Each HvPostMessage to connection `id` goes back to `owner`'s route (the route object owns its waiting message). */
  private listenForMessages(id: number, owner: Route): void {
    this.messageConnections.set(id, owner);
    this.hv.setMessageHandler(id, (msg) => {
      const r = this.hv.postMessage(owner.vp, owner.sint, owner, msg);
      return r === "off" ? HvStatus.InvalidHypercallInput : r === "busy" ? HvStatus.InsufficientBuffers : HvStatus.Success;
    });
  }

  private stopMessages(id: number): boolean {
    const owner = this.messageConnections.get(id);
    if (!owner) return false;
    this.messageConnections.delete(id);
    this.hv.setMessageHandler(id, null);
    this.hv.vcpus[owner.vp]?.synic.cancel(owner); // (its message waiting for a slot goes too)
    return true;
  }

  private listenForEvents(id: number, { vp, sint }: Route): void {
    this.eventConnections.set(id, { vp, sint });
    this.hv.setEventHandler(id, () => (this.hv.vcpus[vp]?.synic.signalEvent(sint, id) ? HvStatus.Success : HvStatus.InvalidHypercallInput));
  }

  private stopEvents(id: number): boolean {
    if (!this.eventConnections.delete(id)) return false;
    this.hv.setEventHandler(id, null);
    return true;
  }

  /** Routes, connections and each message connection's message waiting for its slot (the SynIC holds it for the route). */
  save(): State {
    return {
      routes: [...this.routes],
      messageConnections: [...this.messageConnections].map(([id, r]) => {
        const waiting = this.hv.vcpus[r.vp]?.synic.waitingMessage(r) ?? null;
        return { id, vp: r.vp, sint: r.sint, waiting: waiting ? { type: waiting.type, payload: waiting.payload.slice() } : null };
      }),
      eventConnections: [...this.eventConnections].map(([id, r]) => ({ id, vp: r.vp, sint: r.sint })),
      ignored: this.ignored,
    };
  }

  /**
   * Take back save()'s state, after the SynICs' (whose restore drops what waited): the connections listen again and a
   * waiting message waits again, behind a timer's on the same SINT.
   */
  restore(state: State): void {
    for (const id of [...this.messageConnections.keys()]) this.stopMessages(id);
    for (const id of [...this.eventConnections.keys()]) this.stopEvents(id);
    this.routes.clear();
    for (const r of state.routes as number[]) this.routes.add(r);
    for (const c of state.messageConnections as State[]) {
      const owner = { vp: c.vp as number, sint: c.sint as number };
      this.listenForMessages(c.id as number, owner);
      const waiting = c.waiting as { type: number; payload: Uint8Array } | null;
      if (waiting) {
        const msg: HvMessage = { type: waiting.type, payload: waiting.payload.slice() };
        this.hv.vcpus[owner.vp]?.synic.stage(owner.sint, owner, () => msg);
      }
    }
    for (const c of state.eventConnections as State[]) this.listenForEvents(c.id as number, { vp: c.vp as number, sint: c.sint as number });
    this.ignored = state.ignored as number;
  }
}
