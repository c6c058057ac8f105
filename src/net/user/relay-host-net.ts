/**
 * HostNet for a page: the host's sockets are the relay's (src/node/net-relay.ts),
 * reached over one WebSocket (relay-protocol.ts). What a page cannot ask for:
 * listening sockets (host forwards) — they are refused.
 *
 * @module
 */
import type { HostNet, HostTcpEvents, HostTcpSocket, HostUdpSocket, HostListener } from "./host.js";
import type { FromRelay, ToRelay } from "./relay-protocol.js";
import { fromBase64, toBase64 } from "../../base64.js";

/** The WebSocket as this side uses it (the DOM's, or a test's). */
export interface RelaySocket {
  send(text: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onopen: ((ev: unknown) => void) | null;
  close(): void;
}

export class RelayHostNet implements HostNet {
  private nextId = 1;
  private readonly tcp = new Map<number, HostTcpEvents>();
  private readonly udp = new Map<number, (data: Uint8Array, address: string, port: number) => void>();
  private readonly lookups = new Map<number, (addresses: string[]) => void>();
  private readonly pings = new Map<number, { resolve: (answered: boolean) => void; reject: (e: Error) => void }>();
  private servers: string[] = [];

  private constructor(private readonly ws: RelaySocket) {}

  /**
   * Open the relay and wait for its hello; rejects with one line when it cannot be reached or does not take this page
   * (a browser's WebSocket tells neither apart), `where` saying which relay and how to run it.
   */
  static connect(ws: RelaySocket, where = ""): Promise<RelayHostNet> {
    return new Promise((resolve, reject) => {
      const net = new RelayHostNet(ws);
      let ready = false;
      const unreachable = () => reject(new Error(`the network relay${where} cannot be reached, or does not take this page's origin`));
      ws.onerror = () => { if (!ready) unreachable(); };
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data)) as FromRelay;
        if (m.t !== "hello") return;
        net.servers = m.dnsServers;
        ready = true;
        ws.onmessage = (e) => net.receive(JSON.parse(String(e.data)) as FromRelay);
        resolve(net);
      };
      ws.onclose = () => { if (ready) net.lost(); else unreachable(); };
    });
  }

  private send(m: ToRelay): void { this.ws.send(JSON.stringify(m)); }

  private receive(m: FromRelay): void {
    switch (m.t) {
      case "tcp-connect": this.tcp.get(m.id)?.onConnect(); break;
      case "tcp-data": this.tcp.get(m.id)?.onData(fromBase64(m.data)); break;
      case "tcp-end": this.tcp.get(m.id)?.onEnd(); break;
      case "tcp-drain": this.tcp.get(m.id)?.onDrain(); break;
      case "tcp-close": {
        const e = this.tcp.get(m.id);
        this.tcp.delete(m.id);
        e?.onClose(m.error);
        break;
      }
      case "udp-message": this.udp.get(m.id)?.(fromBase64(m.data), m.address, m.port); break;
      case "lookup": {
        const done = this.lookups.get(m.id);
        this.lookups.delete(m.id);
        done?.(m.addresses);
        break;
      }
      case "ping": {
        const p = this.pings.get(m.id);
        this.pings.delete(m.id);
        if (m.error !== null) p?.reject(new Error(m.error)); else p?.resolve(m.answered);
        break;
      }
    }
  }

  /** The relay went away: every connection is closed, every lookup answered with nothing. */
  private lost(): void {
    for (const [id, e] of this.tcp) { this.tcp.delete(id); e.onClose("ECONNRESET"); }
    for (const [id, done] of this.lookups) { this.lookups.delete(id); done([]); }
    for (const [id, p] of this.pings) { this.pings.delete(id); p.resolve(false); }
  }

  dnsServers(): string[] { return this.servers; }

  connectTcp(host: string, port: number, events: HostTcpEvents): HostTcpSocket {
    const id = this.nextId++;
    this.tcp.set(id, events);
    this.send({ t: "tcp-connect", id, host, port });
    return {
      // The relay's socket buffers for us; towards the guest, flow control is pause/resume.
      write: (data) => { if (this.tcp.has(id)) this.send({ t: "tcp-write", id, data: toBase64(data) }); return true; },
      buffered: 0,
      end: () => { if (this.tcp.has(id)) this.send({ t: "tcp-end", id }); },
      destroy: () => { if (this.tcp.delete(id)) this.send({ t: "tcp-destroy", id }); },
      pause: () => { if (this.tcp.has(id)) this.send({ t: "tcp-pause", id }); },
      resume: () => { if (this.tcp.has(id)) this.send({ t: "tcp-resume", id }); },
      setEvents: (e) => { this.tcp.set(id, e); },
    };
  }

  listenTcp(): Promise<HostListener> {
    return Promise.reject(new Error("a page cannot listen on the host's ports (host forwards need symbiont boot)"));
  }

  openUdp(onMessage: (data: Uint8Array, address: string, port: number) => void): HostUdpSocket {
    const id = this.nextId++;
    this.udp.set(id, onMessage);
    this.send({ t: "udp-open", id });
    return {
      send: (data, address, port) => { if (this.udp.has(id)) this.send({ t: "udp-send", id, data: toBase64(data), address, port }); },
      close: () => { if (this.udp.delete(id)) this.send({ t: "udp-close", id }); },
    };
  }

  listenUdp(): Promise<HostUdpSocket & { readonly port: number }> {
    return Promise.reject(new Error("a page cannot listen on the host's ports (host forwards need symbiont boot)"));
  }

  lookupIpv4(name: string): Promise<string[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.lookups.set(id, resolve);
      this.send({ t: "lookup", id, name });
    });
  }

  ping(address: string, timeoutMs: number): Promise<boolean> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { resolve, reject });
      this.send({ t: "ping", id, address, timeoutMs });
    });
  }
}
