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

export const HYPERV_TESTDEV_PORT = 0x3000;

const enum Command { SintRouteCreate = 1, SintRouteDestroy, SintRouteSetSint, MsgConnCreate, MsgConnDestroy, EvtConnCreate, EvtConnDestroy }

export class HypervTestdev implements PortDevice {
  readonly name = "hyperv-testdev";
  private readonly routes = new Set<number>();
  /** Message connections by id, each with the route its messages go to (and wait on, as their owner). */
  private readonly messageConnections = new Map<number, { vp: number; sint: number }>();
  private readonly eventConnections = new Set<number>();
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
      case Command.MsgConnCreate: {
        const owner = { vp, sint };
        this.messageConnections.set(id, owner);
        this.hv.setMessageHandler(id, (msg) => {
          const r = this.hv.postMessage(vp, sint, owner, msg);
          return r === "off" ? HvStatus.InvalidHypercallInput : r === "busy" ? HvStatus.InsufficientBuffers : HvStatus.Success;
        });
        return;
      }
      case Command.MsgConnDestroy: {
        const owner = this.messageConnections.get(id);
        if (!owner) { this.ignored++; return; }
        this.messageConnections.delete(id);
        this.hv.setMessageHandler(id, null);
        this.hv.vcpus[owner.vp]?.synic.cancel(owner); // (its message waiting for a slot goes too)
        return;
      }
      case Command.EvtConnCreate:
        this.eventConnections.add(id);
        this.hv.setEventHandler(id, () => (this.hv.vcpus[vp]?.synic.signalEvent(sint, id) ? HvStatus.Success : HvStatus.InvalidHypercallInput));
        return;
      case Command.EvtConnDestroy:
        if (this.eventConnections.delete(id)) this.hv.setEventHandler(id, null); else this.ignored++;
        return;
    }
    this.ignored++;
  }
}
