/**
 * `--net socket:…`: Ethernet frames between symbiont processes (or a QEMU
 * started with `-netdev socket,listen=…|connect=…`) over TCP, framed as
 * QEMU does (stream-framing.ts). Like QEMU, a listening end serves one peer
 * at a time and accepts a new one when it goes away; frames sent while no
 * peer is connected are dropped (the cable is unplugged) and counted.
 *
 * Node-only (node:net).
 *
 * @module
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { StreamFrameDecoder, encodeStreamFrame } from "../net/stream-framing.js";

export interface SocketEndpoint { mode: "listen" | "connect"; host: string; port: number }

/**
 * Parse the part after "socket:" — `HOST:PORT` or `connect=HOST:PORT`
 * (connect), `listen:PORT`, `listen:HOST:PORT` or `listen=[HOST]:PORT`
 * (listen; on every address without a host).
 */
export function parseSocketEndpoint(spec: string): SocketEndpoint {
  let mode: "listen" | "connect" = "connect";
  let rest = spec;
  if (spec.startsWith("listen=") || spec.startsWith("listen:")) { mode = "listen"; rest = spec.slice(7); }
  else if (spec.startsWith("connect=")) rest = spec.slice(8);
  const colon = rest.lastIndexOf(":");
  const host = colon >= 0 ? rest.slice(0, colon).replace(/^\[(.*)\]$/, "$1") : "";
  const portText = colon >= 0 ? rest.slice(colon + 1) : mode === "listen" ? rest : "";
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--net socket:${spec}: expected HOST:PORT, listen:PORT or listen:HOST:PORT with a port 1-65535`);
  }
  if (mode === "connect" && host === "") throw new Error(`--net socket:${spec}: connecting needs a host (HOST:PORT)`);
  return { mode, host: host || "0.0.0.0", port };
}

export interface SocketStats { framesSent: number; framesReceived: number; framesDroppedUnconnected: number; connections: number }

export class SocketNetBackend {
  private server: Server | null = null;
  private socket: Socket | null = null;
  private decoder = new StreamFrameDecoder();
  readonly stats: SocketStats = { framesSent: 0, framesReceived: 0, framesDroppedUnconnected: 0, connections: 0 };
  /** Frames from the peer. */
  onFrame: (frame: Uint8Array) => void = () => {};
  /** One-line notices (peer connected/left, protocol errors). */
  onNotice: (line: string) => void = () => {};

  private constructor(readonly endpoint: SocketEndpoint) {}

  /** Listen or connect; resolves once listening / connected, rejects with a one-line error. */
  static async open(endpoint: SocketEndpoint): Promise<SocketNetBackend> {
    const b = new SocketNetBackend(endpoint);
    if (endpoint.mode === "listen") await b.listen();
    else await b.connectOnce();
    return b;
  }

  /** The listening port (useful with port 0 in tests). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === "object" ? a.port : this.endpoint.port;
  }

  get connected(): boolean { return this.socket !== null; }

  send(frame: Uint8Array): void {
    if (!this.socket) { this.stats.framesDroppedUnconnected++; return; }
    this.stats.framesSent++;
    this.socket.write(encodeStreamFrame(frame));
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
    this.server?.close();
    this.server = null;
  }

  private listen(): Promise<void> {
    const { host, port } = this.endpoint;
    return new Promise((resolve, reject) => {
      const server = createServer((s) => {
        if (this.socket) { s.destroy(); return; } // one peer at a time, as QEMU
        this.adopt(s, `peer ${s.remoteAddress}:${s.remotePort} connected`);
      });
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${host}:${port}: ${e.code ?? e.message}`)));
      server.listen(port, host, () => { this.server = server; resolve(); });
    });
  }

  private connectOnce(): Promise<void> {
    const { host, port } = this.endpoint;
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      s.once("error", (e: NodeJS.ErrnoException) => reject(new Error(`cannot connect to ${host}:${port}: ${e.code ?? e.message}`)));
      s.once("connect", () => { s.removeAllListeners("error"); this.adopt(s, `connected to ${host}:${port}`); resolve(); });
    });
  }

  private adopt(s: Socket, notice: string): void {
    s.setNoDelay(true);
    this.socket = s;
    this.decoder = new StreamFrameDecoder();
    this.stats.connections++;
    this.onNotice(notice);
    s.on("data", (chunk: Buffer) => {
      try {
        this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), (f) => { this.stats.framesReceived++; this.onFrame(f); });
      } catch (e) {
        this.onNotice(`dropping the connection: ${(e as Error).message}`);
        s.destroy();
      }
    });
    s.on("error", () => { /* reported by close */ });
    s.on("close", () => {
      if (this.socket === s) this.socket = null;
      this.onNotice(this.server ? "peer left; waiting for another" : "peer closed the connection");
    });
  }
}
