/**
 * `symbiont relay`: the network relay (src/node/net-relay.ts) on a server of
 * its own, for the web page built as static files (`npm run build:web`) and
 * served from anywhere — a page has no sockets, and a static server no relay.
 * Open the page with `?relay=ws://HOST:PORT/symbiont-net` and its Network box
 * gives the guest the user network through this process's sockets, as the dev
 * server's relay does for its own pages (v86's `relay_url` is the same idea).
 *
 * The relay opens connections from this machine for the pages it takes, so it
 * takes pages of the origins named with `--origin` only (the origin a browser
 * sends is the page's; any other site open in the browser is refused); `*`
 * takes every page, said so at start.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { UsageError } from "./args.js";
import { attachNetRelay } from "../node/net-relay.js";
import { RELAY_PATH } from "../net/user/relay-protocol.js";

export interface RelayOptions {
  host: string;
  port: number;
  /** Page origins taken ("https://example.org"), or "*" for any. */
  origins: string[];
}

export const RELAY_USAGE = `usage: symbiont relay --origin ORIGIN [--origin ORIGIN …] [--listen [HOST:]PORT]

The user network's relay for the web page built as static files (npm run build:web): open the page
with ?relay=ws://HOST:PORT${RELAY_PATH} and its Network box reaches the host's network through this
process, as QEMU's -netdev user does (TCP and UDP out, names resolved here; nothing listens).

  --origin ORIGIN     a page origin to take (scheme://host[:port], as the browser's address bar has
                      it); give it once per origin; * takes any page (any site open in the browser)
  --listen [HOST:]PORT  where to listen (default 127.0.0.1:8001); a page reaches ws://localhost
                      from http and https origins alike, another host only from http or through wss`;

/** Parse `relay`'s arguments (after the command). */
export function parseRelayArgs(argv: string[]): RelayOptions {
  const o: RelayOptions = { host: "127.0.0.1", port: 8001, origins: [] };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!, value: string | undefined;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) { value = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a !== "--origin" && a !== "--listen") throw new UsageError(a.startsWith("-") ? `relay: unknown option ${a} (--origin, --listen)` : `relay takes no positional arguments (got ${a})`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`relay: option ${a} needs a value`);
      value = argv[++i]!;
    }
    if (a === "--origin") o.origins.push(parseOrigin(value));
    else [o.host, o.port] = parseListen(value);
  }
  if (o.origins.length === 0) throw new UsageError("relay: name the page's origin with --origin (for example --origin https://example.org; * for any page)");
  return o;
}

/** `*`, or scheme://host[:port] as a browser sends it in Origin (no path, no trailing slash). */
function parseOrigin(v: string): string {
  if (v === "*") return v;
  let url: URL;
  try { url = new URL(v); } catch { throw new UsageError(`relay: --origin ${v} is not an origin (scheme://host[:port])`); }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.pathname.replace(/\/$/, "") !== "" || url.search || url.hash || url.username) {
    throw new UsageError(`relay: --origin ${v} is not an origin (scheme://host[:port], http or https, nothing after it)`);
  }
  return url.origin;
}

function parseListen(v: string): [string, number] {
  const m = /^(?:(.*):)?(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`relay: --listen ${v}: expected [HOST:]PORT`);
  return [m[1] || "127.0.0.1", port];
}

/** Serve the relay until the process is ended (Ctrl-C); resolves with the exit status. */
export async function runRelay(o: RelayOptions): Promise<number> {
  const any = o.origins.includes("*");
  const server = createServer((_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket" });
    res.end(`a Symbiont network relay: open the web page with ?relay=ws://HOST:PORT${RELAY_PATH}\n`);
  });
  const log = (line: string) => process.stderr.write(`symbiont: relay: ${line}\n`);
  const relay = attachNetRelay(server, {
    allowOrigin: (origin) => any || (origin !== undefined && o.origins.includes(origin)),
    onEvent: (event, origin, peer) => log(event === "refused" ? `refused a page of ${origin} (from ${peer}): not an --origin` : `a page of ${origin} ${event === "open" ? "connected" : "went away"} (from ${peer})`),
  });
  try {
    await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(o.port, o.host, () => resolve()); });
  } catch (e) {
    throw new UsageError(`relay: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}`);
  }
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  process.stderr.write(`symbiont: relaying the user network of pages from ${any ? "any origin" : o.origins.join(", ")} at ws://${host}:${port}${RELAY_PATH} (Ctrl-C ends it)\n`);
  if (any) log("--origin *: any web page open in this browser can open connections from this machine through it");
  return new Promise<number>((resolve) => {
    const end = () => { relay.close(); server.close(); server.closeAllConnections(); resolve(0); };
    process.once("SIGINT", end);
    process.once("SIGTERM", end);
  });
}
