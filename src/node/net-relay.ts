/**
 * The network relay: the host's sockets for a page's user network (`--net user`
 * in a browser tab, which has no sockets of its own). The page's worker opens
 * a WebSocket at RELAY_PATH and speaks relay-protocol.ts; here each message
 * becomes a call on Node's HostNet (src/node/host-net.ts, what `symbiont boot
 * --net user` uses) and each of its events a message back. One WebSocket per
 * page; its sockets close with it.
 *
 * Two servers carry it: the dev server (`npm run web`, web/vite.config.ts), for
 * its own pages, and `symbiont relay` (src/cli/relay.ts), for a static build
 * served from anywhere (`?relay=ws://…` in the page's address). A relay lets a
 * page open connections from this machine, as QEMU's user networking lets its
 * guest do, so it takes only pages of the origins it is given: a browser sends
 * the page's origin with the WebSocket's opening request, and any other page —
 * any site the browser visits while the relay runs — is refused (403).
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { NodeHostNet } from "./host-net.js";
import type { HostTcpSocket, HostUdpSocket } from "../net/user/host.js";
import { RELAY_PATH, type FromRelay, type ToRelay } from "../net/user/relay-protocol.js";
import { fromBase64, toBase64 } from "../base64.js";

export interface NetRelayOptions {
  /** Whether a page of this origin (the request's Origin header; undefined: none sent, not a browser) may use the relay. */
  allowOrigin(origin: string | undefined, req: IncomingMessage): boolean;
  /** A page's WebSocket opened (`origin` its page's) or closed; a page refused. */
  onEvent?(event: "open" | "close" | "refused", origin: string, peer: string): void;
}

/**
 * A page of the server's own origin on this machine (what the dev server takes): its Origin header names the host the
 * request went to, and that is a loopback name — not another site's, nor one a rebinding DNS points here.
 */
export function sameOrigin(origin: string | undefined, req: IncomingMessage): boolean {
  if (!origin || !req.headers.host) return false;
  try {
    const url = new URL(origin);
    return url.host === req.headers.host && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}

/**
 * Serve the relay on `server`'s upgrade requests for RELAY_PATH (the others — Vite's own — are left alone). close()
 * ends every page's connection (and so their sockets) — the HTTP server's close leaves upgraded connections open.
 */
export function attachNetRelay(server: Server, opts: NetRelayOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? "").split("?")[0] !== RELAY_PATH) return;
    const origin = req.headers.origin, peer = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? "?"}`;
    if (!opts.allowOrigin(origin, req)) {
      opts.onEvent?.("refused", origin ?? "(none)", peer);
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthis relay takes pages of other origins, not ${origin ?? "a request without one"}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      opts.onEvent?.("open", origin ?? "(none)", peer);
      ws.on("close", () => opts.onEvent?.("close", origin ?? "(none)", peer));
      relay(ws);
    });
  });
  return { close: () => { for (const ws of wss.clients) ws.terminate(); wss.close(); } };
}

function relay(ws: WebSocket): void {
  const host = new NodeHostNet();
  const tcp = new Map<number, HostTcpSocket>();
  const udp = new Map<number, HostUdpSocket>();
  const send = (m: FromRelay) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m)); };
  send({ t: "hello", dnsServers: host.dnsServers() });
  ws.on("message", (raw) => {
    let m: ToRelay;
    try { m = JSON.parse(String(raw)) as ToRelay; } catch { return; }
    switch (m.t) {
      case "tcp-connect":
        tcp.set(m.id, host.connectTcp(m.host, m.port, {
          onConnect: () => send({ t: "tcp-connect", id: m.id }),
          onData: (data) => send({ t: "tcp-data", id: m.id, data: toBase64(data) }),
          onEnd: () => send({ t: "tcp-end", id: m.id }),
          onDrain: () => send({ t: "tcp-drain", id: m.id }),
          onClose: (error) => { tcp.delete(m.id); send({ t: "tcp-close", id: m.id, error }); },
        }));
        break;
      case "tcp-write": tcp.get(m.id)?.write(fromBase64(m.data)); break;
      case "tcp-end": tcp.get(m.id)?.end(); break;
      case "tcp-destroy": tcp.get(m.id)?.destroy(); tcp.delete(m.id); break;
      case "tcp-pause": tcp.get(m.id)?.pause(); break;
      case "tcp-resume": tcp.get(m.id)?.resume(); break;
      case "udp-open":
        udp.set(m.id, host.openUdp((data, address, port) => send({ t: "udp-message", id: m.id, data: toBase64(data), address, port })));
        break;
      case "udp-send": udp.get(m.id)?.send(fromBase64(m.data), m.address, m.port); break;
      case "udp-close": udp.get(m.id)?.close(); udp.delete(m.id); break;
      case "lookup":
        void host.lookupIpv4(m.name).then((addresses) => send({ t: "lookup", id: m.id, addresses }));
        break;
      case "ping":
        host.ping(m.address, Math.min(m.timeoutMs, 10_000)).then(
          (answered) => send({ t: "ping", id: m.id, answered, error: null }),
          (e: Error) => send({ t: "ping", id: m.id, answered: false, error: e.message }));
        break;
    }
  });
  ws.on("close", () => {
    for (const s of tcp.values()) s.destroy();
    for (const s of udp.values()) s.close();
    tcp.clear();
    udp.clear();
  });
}
