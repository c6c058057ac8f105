/**
 * The GDB stub on a TCP port (`symbiont run … --gdb PORT`, as QEMU's `-gdb tcp::PORT -S`): one
 * debugger at a time; the guest waits for it before its first instruction.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Vm } from "../vmm/vm.js";
import { GdbStub } from "../debug/gdb-stub.js";
import type { RewindableMachine } from "../debug/history.js";

export interface GdbSession {
  /** The connected debugger's stub (a new one when GDB connects again after leaving). */
  readonly stub: GdbStub;
  /** The port listened on (the one asked for, or the one the system chose for 0). */
  port: number;
  close(): void;
}

/**
 * Listen on 127.0.0.1:`port` and resolve once GDB has connected (`waiting` is called with the port first);
 * `monitor` answers GDB's `monitor CMD`. One debugger at a time; when it leaves (detach, or the
 * connection closes) the guest runs on and another may connect, which stops the guest, as QEMU's stub does.
 */
export function waitForGdb(vm: Vm, port: number, waiting: (port: number) => void, monitor?: (command: string) => string, rewind?: RewindableMachine | string): Promise<GdbSession> {
  return listenForGdb(vm, port, waiting, monitor, rewind).connected;
}

/**
 * As {@link waitForGdb}, with the listener at hand at once (`close` it whether or not GDB came): the VMM monitor's
 * `gdbserver` starts one while the guest runs, as QEMU's does.
 */
export function listenForGdb(vm: Vm, port: number, waiting: (port: number) => void, monitor?: (command: string) => string, rewind?: RewindableMachine | string): { close(): void; connected: Promise<GdbSession> } {
  let active: Socket | null = null;
  let server: Server | null = null;
  const close = () => { active?.destroy(); server?.close(); };
  const connected = new Promise<GdbSession>((resolve, reject) => {
    let stub: GdbStub | null = null;
    const session: GdbSession = {
      get stub() { return stub!; },
      port,
      close,
    };
    server = createServer((s) => {
      if (active) { s.end(); return; }
      active = s;
      s.setNoDelay(true);
      const current = new GdbStub(vm, (data) => { if (!s.destroyed) s.write(data, "latin1"); }, monitor, rewind);
      stub = current;
      const gone = () => { current.detach(); if (active === s) active = null; };
      s.on("data", (b) => current.receive(b));
      s.on("close", gone);
      s.on("error", gone);
      resolve(session);
    });
    server.on("error", (e) => reject(new Error(`cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, "127.0.0.1", () => { session.port = (server!.address() as { port: number }).port; waiting(session.port); });
  });
  return { close, connected };
}
