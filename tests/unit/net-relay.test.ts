// The page's HostNet (src/net/user/relay-host-net.ts) through the dev server's relay (web/net-relay.ts), run here in
// Node with the `ws` client standing in for the browser's WebSocket: a TCP connection to an echo server on this
// machine (bytes back as sent, half-close, the server's close), a refused connection (the host's ECONNREFUSED), a
// UDP datagram to an echo socket, a lookup by the host's resolver ("localhost"), the host's DNS servers in the hello,
// and a relay that is not there. The oracles are the host's own servers and resolver.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createTcp, type Server as TcpServer } from "node:net";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { WebSocket } from "ws";
import { attachNetRelay } from "../../web/net-relay.js";
import { RelayHostNet, type RelaySocket } from "../../src/net/user/relay-host-net.js";
import { RELAY_PATH } from "../../src/net/user/relay-protocol.js";
import { NodeHostNet } from "../../src/node/host-net.js";
import { freePort } from "../support/processes.js";

const listen = (s: Server | TcpServer) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as { port: number }).port)));

describe("the page's user network through the dev server's relay", () => {
  let http: Server, echo: TcpServer, udp: UdpSocket;
  let relayPort = 0, echoPort = 0, udpPort = 0;

  beforeAll(async () => {
    http = createHttp();
    attachNetRelay(http);
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

  const relay = () => RelayHostNet.connect(new WebSocket(`ws://127.0.0.1:${relayPort}${RELAY_PATH}`) as unknown as RelaySocket);

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

  it("says so in one line when the relay is not there", async () => {
    const port = await freePort();
    const ws = new WebSocket(`ws://127.0.0.1:${port}${RELAY_PATH}`) as unknown as RelaySocket;
    await expect(RelayHostNet.connect(ws)).rejects.toThrow("the network relay cannot be reached (it runs on the dev server: npm run web)");
  });
});
