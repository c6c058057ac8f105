/**
 * The GDB stub on a TCP port (`symbiont run … --gdb PORT`, as QEMU's `-gdb tcp::PORT -S`): one
 * debugger at a time; the guest waits for it before its first instruction.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Vm } from "../vmm/vm.js";
import { GdbStub } from "../debug/gdb-stub.js";

export interface GdbSession {
  stub: GdbStub;
  /** The port listened on (the one asked for, or the one the system chose for 0). */
  port: number;
  close(): void;
}

/**
 * Listen on 127.0.0.1:`port` and resolve once GDB has connected (`waiting` is called with the port first);
 * `monitor` answers GDB's `monitor CMD`.
 */
export function waitForGdb(vm: Vm, port: number, waiting: (port: number) => void, monitor?: (command: string) => string): Promise<GdbSession> {
  return new Promise((resolve, reject) => {
    let socket: Socket | null = null;
    const server: Server = createServer((s) => {
      if (socket) { s.end(); return; } // one debugger
      socket = s;
      s.setNoDelay(true);
      const stub = new GdbStub(vm, (data) => { if (!s.destroyed) s.write(data, "latin1"); }, monitor);
      s.on("data", (b) => stub.receive(b));
      s.on("close", () => stub.detach());
      s.on("error", () => stub.detach());
      resolve({ stub, port: (server.address() as { port: number }).port, close: () => { s.destroy(); server.close(); } });
    });
    server.on("error", (e) => reject(new Error(`--gdb: cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, "127.0.0.1", () => waiting((server.address() as { port: number }).port));
  });
}
