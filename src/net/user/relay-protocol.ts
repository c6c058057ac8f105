/**
 * The messages between a page's user network and the relay that opens the
 * host's sockets for it (src/node/net-relay.ts: the dev server's, or `symbiont relay`): HostNet's
 * calls and events, one JSON text message each over a WebSocket, bytes in
 * base64. A page has no sockets; the relay is the "host" of its HostNet.
 *
 * @module
 */

/** Page → relay. `id` names a TCP connection, a UDP socket or a lookup (chosen by the page). */
export type ToRelay =
  | { t: "tcp-connect"; id: number; host: string; port: number }
  | { t: "tcp-write"; id: number; data: string }
  | { t: "tcp-end" | "tcp-destroy" | "tcp-pause" | "tcp-resume"; id: number }
  | { t: "udp-open"; id: number }
  | { t: "udp-send"; id: number; data: string; address: string; port: number }
  | { t: "udp-close"; id: number }
  | { t: "lookup"; id: number; name: string }
  | { t: "ping"; id: number; address: string; timeoutMs: number };

/** Relay → page. */
export type FromRelay =
  /** First message: the host's DNS servers (HostNet.dnsServers answers from it). */
  | { t: "hello"; dnsServers: string[] }
  | { t: "tcp-connect" | "tcp-end" | "tcp-drain"; id: number }
  | { t: "tcp-data"; id: number; data: string }
  | { t: "tcp-close"; id: number; error: string | null }
  | { t: "udp-message"; id: number; data: string; address: string; port: number }
  | { t: "lookup"; id: number; addresses: string[] }
  /** An echo's outcome: answered or not, or why the relay's host cannot ping (error). */
  | { t: "ping"; id: number; answered: boolean; error: string | null };

/** Where a relay (the dev server's, `symbiont relay`) takes a page's WebSocket. */
export const RELAY_PATH = "/symbiont-net";
