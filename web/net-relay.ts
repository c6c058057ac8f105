/**
 * The dev server's network relay: the host's sockets for a page's user
 * network (`--net user` in a browser tab). The page's worker opens a
 * WebSocket at RELAY_PATH and speaks relay-protocol.ts; here each message
 * becomes a call on Node's HostNet (src/node/host-net.ts, what `symbiont boot
 * --net user` uses) and each of its events a message back. One WebSocket per
 * page; its sockets close with it. Only the dev server has it (a static build
 * has no host to relay through), and it listens where the dev server does
 * (127.0.0.1): a page that reaches the dev server can open connections from
 * this machine, as QEMU's user networking lets its guest do.
 *
 * @module
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { NodeHostNet } from "../src/node/host-net.ts";
import type { HostTcpSocket, HostUdpSocket } from "../src/net/user/host.ts";
import { RELAY_PATH, type FromRelay, type ToRelay } from "../src/net/user/relay-protocol.ts";
import { fromBase64, toBase64 } from "../src/base64.ts";

/** Serve the relay on `server`'s upgrade requests for RELAY_PATH (the others — Vite's own — are left alone). */
export function attachNetRelay(server: Server): void {
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? "").split("?")[0] !== RELAY_PATH) return;
    wss.handleUpgrade(req, socket, head, (ws) => relay(ws));
  });
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
    }
  });
  ws.on("close", () => {
    for (const s of tcp.values()) s.destroy();
    for (const s of udp.values()) s.close();
    tcp.clear();
    udp.clear();
  });
}
