/**
 * A switch port across threads: a VM running in a worker (Node's
 * worker_threads or a browser Worker) reaches the virtual switch in the
 * main thread through a MessagePort. Each message is one Ethernet frame (a
 * Uint8Array, its buffer transferred, not copied).
 *
 * Main thread: {@link connectPortToSwitch}. Worker: {@link linkOverPort}.
 * Platform-neutral: both ends use only the MessagePort standard interface.
 *
 * @module
 */
import type { VirtualSwitch, SwitchPort, PortOptions } from "./switch.js";
import type { NicLink } from "./link.js";

/** The part of MessagePort both Node and browsers have. */
export interface FramePort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  start?(): void;
  close(): void;
}

function send(port: FramePort, frame: Uint8Array): void {
  // The frame may be shared by several destinations: transfer a copy of its bytes.
  const copy = frame.slice();
  port.postMessage(copy, [copy.buffer]);
}

function listen(port: FramePort, onFrame: (frame: Uint8Array) => void): void {
  port.addEventListener("message", (e: MessageEvent) => {
    if (e.data instanceof Uint8Array) onFrame(e.data);
  });
  port.start?.();
}

/** Main thread: plug the worker at the other end of `port` into `sw`. */
export function connectPortToSwitch(sw: VirtualSwitch, port: FramePort, options: PortOptions): SwitchPort {
  const p = sw.connect(options, (frame) => send(port, frame));
  listen(port, (frame) => p.send(frame));
  return p;
}

/** Worker: make `port` the back end of a NIC's link. */
export function linkOverPort(link: NicLink, port: FramePort): void {
  link.attachBackend((frame) => send(port, frame));
  listen(port, (frame) => link.deliver(frame));
}
