import assert from "node:assert/strict";
import {type Server, type Socket, connect, createServer} from "node:net";
import {describe, it} from "node:test";
import {DelayedLink, parseLatency} from "../../src/devnetCluster/linkDelay.js";
import {freeLocalPorts} from "../../src/devnetCluster/ports.js";

/** An echo server on a free port: what the proxy stands in front of. */
async function echoServer(): Promise<{server: Server; port: number; sockets: Set<Socket>}> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {server, port: (server.address() as {port: number}).port, sockets};
}

async function dial(port: number): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => s.once("connect", resolve).once("error", reject));
  return s;
}

describe("the devnet's delay proxy (--latency)", () => {
  it("parses RTT and RTT/JITTER, and refuses jitter larger than the round trip", () => {
    assert.deepEqual(parseLatency("100/20"), {rttMs: 100, jitterMs: 20});
    assert.deepEqual(parseLatency("150"), {rttMs: 150, jitterMs: 0});
    assert.equal(parseLatency("20/100"), undefined);
    assert.equal(parseLatency("100ms"), undefined);
  });

  it("delays each way by half the round trip plus or minus half the jitter, and never reorders the stream", async (t) => {
    const echo = await echoServer();
    const [port] = (await freeLocalPorts(1)) as [number];
    // Alternating the extremes of the jitter: every second chunk is drawn 20 ms shorter than the one before it, so
    // without the proxy's ordering it would overtake.
    let k = 0;
    const link = new DelayedLink({rttMs: 100, jitterMs: 20}, port, echo.port, () => (k++ % 2 === 0 ? 1 : 0));
    await link.start();
    const client = await dial(port);
    t.after(async () => {
      client.destroy();
      await link.stop();
      for (const s of echo.sockets) s.destroy();
      await new Promise<void>((r) => echo.server.close(() => r()));
    });

    const received: Buffer[] = [];
    let firstBackAt = 0;
    client.on("data", (b: Buffer) => {
      firstBackAt ||= Date.now();
      received.push(b);
    });
    const sentAt = Date.now();
    const messages = 50;
    for (let i = 0; i < messages; i++) {
      client.write(Buffer.from([i]));
      // Separate chunks on the wire: each gets its own draw.
      await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 5000;
    while (Buffer.concat(received).length < messages && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const back = Buffer.concat(received);
    assert.deepEqual(
      [...back],
      Array.from({length: messages}, (_, i) => i),
      "every byte back, in order",
    );
    // The first byte went through the proxy twice (out and back), each way at least 50 - 10 ms.
    const firstBackMs = firstBackAt - sentAt;
    assert.ok(firstBackMs >= 80, `echo after ${firstBackMs} ms`);
  });

  it("a node gone closes the connection through the proxy, as a cut link would", async (t) => {
    const echo = await echoServer();
    const [port] = (await freeLocalPorts(1)) as [number];
    const link = new DelayedLink({rttMs: 10, jitterMs: 0}, port, echo.port);
    await link.start();
    t.after(async () => {
      await link.stop();
      await new Promise<void>((r) => echo.server.close(() => r()));
    });
    const client = await dial(port);
    const closed = new Promise<void>((r) => client.once("close", () => r()));
    client.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    for (const s of echo.sockets) s.destroy();
    await closed;
    assert.equal(client.destroyed, true);
  });
});
