// The page's HostNet (src/net/user/relay-host-net.ts) through the relay (src/node/net-relay.ts) as the dev server
// serves it, run here in Node with the `ws` client standing in for the browser's WebSocket (sending the page's
// Origin, as a browser does): a TCP connection to an echo server on this machine (bytes back as sent, half-close, the
// server's close), a refused connection (the host's ECONNREFUSED), a UDP datagram to an echo socket, a lookup by the
// host's resolver ("localhost"), the host's DNS servers in the hello, echoes by the host's ping command (iputils-ping:
// CI installs it), and a relay that is not there; a page of another origin refused. Then `symbiont relay`, the relay
// for a static build, as a user starts it: its errors, the origins it takes and refuses. The oracles are the host's
// own servers, resolver and ping, and the HTTP status.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createTcp, type Server as TcpServer } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { WebSocket } from "ws";
import { spawn, spawnSync } from "node:child_process";
import { request } from "node:http";
import { attachNetRelay, sameOrigin } from "../../src/node/net-relay.js";
import { RelayHostNet, type RelaySocket } from "../../src/net/user/relay-host-net.js";
import { RELAY_PATH } from "../../src/net/user/relay-protocol.js";
import { NodeHostNet } from "../../src/node/host-net.js";
import { freePort, waitFor } from "../support/processes.js";

const havePing = spawnSync("ping", ["-V"]).status === 0;
const requireTools = !!process.env.SYMBIONT_REQUIRE_IMAGES;
const listen = (s: Server | TcpServer) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));

describe("the page's user network through the dev server's relay", () => {
  let http: Server, echo: TcpServer, udp: UdpSocket;
  let relayPort = 0, echoPort = 0, udpPort = 0;

  beforeAll(async () => {
    http = createHttp();
    attachNetRelay(http, { allowOrigin: sameOrigin });
    relayPort = await listen(http);
    // Echoes what it gets, then, when the client half-closes, says "bye" and closes.
    echo = createTcp({ allowHalfOpen: true }, (s) => { s.on("data", (d) => s.write(d)); s.on("end", () => s.end("bye")); });
    echoPort = await listen(echo);
    udp = createSocket("udp4");
    udp.on("message", (m, r) => udp.send(Buffer.concat([Buffer.from("echo:"), m]), r.port, r.address));
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
    udpPort = udp.address().port;
  });
  afterAll(() => { http.close(); echo.close(); udp.close(); });

  const relay = (origin = `http://127.0.0.1:${relayPort}`) =>
    RelayHostNet.connect(new WebSocket(`ws://127.0.0.1:${relayPort}${RELAY_PATH}`, { origin }) as unknown as RelaySocket);

  it("opens TCP connections, passes bytes both ways, half-closes, and reports the far end's close", async () => {
    const net = await relay();
    expect(net.dnsServers()).toEqual(new NodeHostNet().dnsServers()); // the host's, as Node's HostNet reports them
    const got: string[] = [];
    const closed = await new Promise<string | null>((resolve) => {
      const s = net.connectTcp("127.0.0.1", echoPort, {
        onConnect: () => { s.write(new TextEncoder().encode("hello ")); s.write(new TextEncoder().encode("relay")); s.end(); },
        onData: (d) => got.push(new TextDecoder().decode(d)),
        onEnd: () => got.push("<end>"),
        onClose: (error) => resolve(error),
        onDrain: () => {},
      });
    });
    expect(closed).toBeNull();
    expect(got.join("")).toBe("hello relaybye<end>");
  });

  it("reports a refused connection with the host's error code", async () => {
    const net = await relay();
    const port = await freePort();
    const error = await new Promise<string | null>((resolve) => {
      net.connectTcp("127.0.0.1", port, { onConnect: () => {}, onData: () => {}, onEnd: () => {}, onClose: resolve, onDrain: () => {} });
    });
    expect(error).toBe("ECONNREFUSED");
  });

  it("sends and receives UDP datagrams, and resolves names with the host's resolver", async () => {
    const net = await relay();
    const reply = await new Promise<string>((resolve) => {
      const s = net.openUdp((data, address, port) => resolve(`${address}:${port} ${new TextDecoder().decode(data)}`));
      s.send(new TextEncoder().encode("ping"), "127.0.0.1", udpPort);
    });
    expect(reply).toBe(`127.0.0.1:${udpPort} echo:ping`);
    const host = (await lookup("localhost", { all: true, family: 4 })).map((a) => a.address);
    expect(await net.lookupIpv4("localhost")).toEqual(host);
    await expect(net.listenTcp()).rejects.toThrow("a page cannot listen on the host's ports");
  });

  it.runIf(havePing || requireTools)(`pings with the host's ping command: this machine's loopback answers, an address nothing routes to does not${havePing ? "" : " (needs iputils-ping)"}`, async () => {
    const net = await relay();
    expect(await net.ping("127.0.0.1", 2000)).toBe(true);
    expect(await net.ping("198.18.0.1", 1000)).toBe(false); // (RFC 2544's benchmarking range: not routed here)
    expect(await new NodeHostNet().ping("127.0.0.1", 2000)).toBe(true);
  }, 20_000);

  it("says so in one line when the relay is not there", async () => {
    const port = await freePort();
    const ws = new WebSocket(`ws://127.0.0.1:${port}${RELAY_PATH}`) as unknown as RelaySocket;
    await expect(RelayHostNet.connect(ws, " at X")).rejects.toThrow("the network relay at X cannot be reached, or does not take this page's origin");
  });

  it("refuses a page of another origin (any site open in the browser) with 403, and one that sends none", async () => {
    await expect(relay("https://elsewhere.example")).rejects.toThrow("cannot be reached, or does not take this page's origin");
    expect(await upgradeStatus(relayPort, "https://elsewhere.example")).toBe(403);
    expect(await upgradeStatus(relayPort, null)).toBe(403);
    expect(await upgradeStatus(relayPort, `http://127.0.0.1:${relayPort}`)).toBe(101);
    // A site whose name a rebinding DNS points at 127.0.0.1: its origin is the host it asked for, but not a loopback name.
    expect(await upgradeStatus(relayPort, `http://rebound.example:${relayPort}`, `rebound.example:${relayPort}`)).toBe(403);
  });
});

/** The HTTP status of a WebSocket opening request to the relay at `port` with this Origin (null: none) and Host. */
function upgradeStatus(port: number, origin: string | null, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1", port, path: RELAY_PATH,
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        ...(origin ? { Origin: origin } : {}), ...(host ? { Host: host } : {}),
      },
    });
    req.on("upgrade", (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0); });
    req.on("response", (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on("error", reject);
    req.end();
  });
}

const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;

describe("symbiont relay (the relay for the web page's static build)", () => {
  it.each([
    [[], "symbiont: relay: name the page's origin with --origin (for example --origin https://example.org; * for any page)"],
    [["--origin", "example.org"], "symbiont: relay: --origin example.org is not an origin (scheme://host[:port])"],
    [["--origin", "https://example.org/page.html"], "symbiont: relay: --origin https://example.org/page.html is not an origin (scheme://host[:port], http or https, nothing after it)"],
    [["--origin", "https://example.org", "--listen", "port"], "symbiont: relay: --listen port: expected [HOST:]PORT"],
    [["--origin", "https://example.org", "--verbose"], "symbiont: relay: unknown option --verbose (--origin, --listen)"],
  ])("%j: one line, status 2", (args, message) => {
    const r = spawnSync(process.execPath, [cli, "relay", ...args], { encoding: "utf8" });
    expect(r.stderr.trim()).toBe(message);
    expect(r.status).toBe(2);
  });

  it("takes pages of the --origin given, refuses others, and relays a TCP connection for them; Ctrl-C ends it", async () => {
    const echo = createTcp((s) => s.pipe(s));
    const echoPort = await listen(echo);
    const child = spawn(process.execPath, [cli, "relay", "--origin", "https://page.example/", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
    try {
      await waitFor(() => err, /at ws:\/\/127\.0\.0\.1:\d+\/symbiont-net/, 20_000, "the relay's address");
      const m = /^symbiont: relaying the user network of pages from https:\/\/page\.example at ws:\/\/127\.0\.0\.1:(\d+)\/symbiont-net \(Ctrl-C ends it\)$/m.exec(err);
      expect(m, err).not.toBeNull();
      const port = Number(m![1]);
      const net = await RelayHostNet.connect(new WebSocket(`ws://127.0.0.1:${port}${RELAY_PATH}`, { origin: "https://page.example" }) as unknown as RelaySocket);
      const back = await new Promise<string>((resolve) => {
        const s = net.connectTcp("127.0.0.1", echoPort, {
          onConnect: () => s.write(new TextEncoder().encode("through the relay")), onData: (d) => resolve(new TextDecoder().decode(d)),
          onEnd: () => {}, onClose: () => {}, onDrain: () => {},
        });
      });
      expect(back).toBe("through the relay");
      expect(await upgradeStatus(port, "https://evil.example")).toBe(403);
      expect(await upgradeStatus(port, "http://page.example")).toBe(403); // (another scheme is another origin)
      const plain = await fetch(`http://127.0.0.1:${port}/`);
      expect(plain.status).toBe(426);
      await waitFor(() => err, /refused a page of http:\/\/page\.example/, 5_000, "the refusal's line");
      expect(err).toMatch(/^symbiont: relay: a page of https:\/\/page\.example connected \(from 127\.0\.0\.1:\d+\)$/m);
      expect(err).toMatch(/^symbiont: relay: refused a page of https:\/\/evil\.example \(from 127\.0\.0\.1:\d+\): not an --origin$/m);
      child.kill("SIGINT");
      expect(await new Promise((r) => child.on("exit", (code) => r(code)))).toBe(0);
    } finally {
      child.kill();
      echo.close();
    }
  }, 60_000);
});
