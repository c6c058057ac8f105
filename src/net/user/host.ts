/**
 * What the user network needs of the host it runs on: TCP connections out,
 * TCP listeners (port forwarding in), UDP sockets and name lookups. Node's
 * implementation is src/node/host-net.ts; a page could give a fetch- or
 * WebSocket-based one.
 *
 * @module
 */

/** Events of one host TCP connection, delivered by the host. */
export interface HostTcpEvents {
  onConnect(): void;
  onData(data: Uint8Array): void;
  /** The far end sent its FIN: no more data. */
  onEnd(): void;
  /** The connection is gone (after onEnd, or on an error: `error` is its code, e.g. ECONNREFUSED). */
  onClose(error: string | null): void;
  /** Buffered output was written out (after write returned false). */
  onDrain(): void;
}

export interface HostTcpSocket {
  /** Queue bytes; false once the host's buffer is over its mark (wait for onDrain). */
  write(data: Uint8Array): boolean;
  /** Bytes queued and not yet handed to the host's kernel. */
  readonly buffered: number;
  /** Send FIN after what is queued. */
  end(): void;
  /** Reset/abandon. */
  destroy(): void;
  /** Stop / resume onData (flow control towards the guest). */
  pause(): void;
  resume(): void;
  /** Install the event handlers (for an accepted connection; connectTcp takes them directly). */
  setEvents(events: HostTcpEvents): void;
}

export interface HostUdpSocket {
  send(data: Uint8Array, address: string, port: number): void;
  close(): void;
}

export interface HostListener {
  /** The port actually bound (for port 0). */
  readonly port: number;
  close(): void;
}

export interface HostNet {
  connectTcp(host: string, port: number, events: HostTcpEvents): HostTcpSocket;
  /** Listen on host:port; each accepted connection is handed over paused, without event handlers yet. */
  listenTcp(host: string, port: number, onAccept: (socket: HostTcpSocket, peer: string) => void): Promise<HostListener>;
  openUdp(onMessage: (data: Uint8Array, address: string, port: number) => void): HostUdpSocket;
  /** A UDP socket bound to host:port (a UDP host forward); rejects with a one-line error (port in use …). */
  listenUdp(host: string, port: number, onMessage: (data: Uint8Array, address: string, port: number) => void): Promise<HostUdpSocket & { readonly port: number }>;
  /** IPv4 addresses of a name, as the host's resolver (hosts file, DNS) sees it; [] for none. */
  lookupIpv4(name: string): Promise<string[]>;
  /** The host's DNS servers as IPv4 "address" or "address:port" (for queries the router relays as they are). */
  dnsServers(): string[];
  /**
   * Whether `address` answers one ICMP echo from the host within `timeoutMs` (a guest's ping beyond the router);
   * rejects with one line when the host cannot ping at all. A host without it leaves such pings unanswered.
   */
  ping?(address: string, timeoutMs: number): Promise<boolean>;
}
