// A worker for tests/unit/net.test.ts: a NIC behind a NicLink whose back end
// is a MessagePort to the main thread's switch (src/net/worker-port.ts). The
// NIC answers every frame with the same payload, addresses swapped.
// Imports the compiled library (dist/, built by `npm test`).
import { parentPort, workerData } from "node:worker_threads";
import { NicLink } from "../../dist/net/link.js";
import { linkOverPort } from "../../dist/net/worker-port.js";

const link = new NicLink("worker-eth0");
link.attachNic({
  canReceive: () => true,
  receive(frame) {
    const reply = frame.slice();
    reply.set(frame.subarray(6, 12), 0);
    reply.set(frame.subarray(0, 6), 6);
    link.transmit(reply);
  },
});
linkOverPort(link, workerData.port);
parentPort.postMessage("ready");
