import {type IncomingMessage, type Server, type ServerResponse, createServer} from "node:http";

export type ProxyMode = "pass" | "timeout" | "error500" | "garbage" | "syncing";

/**
 * A fault injector in front of a real beacon node: passes requests through, or answers them the ways a
 * failing beacon node does (never answering, HTTP 500, a body that is not JSON, "syncing" on every call).
 * Genesis and spec always pass, so clients can connect before a fault starts.
 */
export class FaultyProxy {
  mode: ProxyMode = "pass";
  /** When set, only requests whose URL matches it are faulted (one route failing while the others answer). */
  faultOnly: RegExp | undefined;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  url = "";
  /** Requests passed through to the beacon node (so a test can tell the proxy was really used). */
  passed = 0;

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    // A request cut off while its body is read (a node killed, or stop() closing every connection) rejects the
    // handler with "aborted": the exchange is over, and left unhandled it would fail whichever test was running.
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server?.address() as {port: number}).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const always = req.url === "/eth/v1/beacon/genesis" || req.url === "/eth/v1/config/spec";
    const spared = this.faultOnly !== undefined && !this.faultOnly.test(req.url ?? "");
    const mode: ProxyMode = always || spared ? "pass" : this.mode;
    if (mode === "timeout") {
      this.hanging.add(res);
      res.on("close", () => this.hanging.delete(res));
      return;
    }
    if (mode === "error500")
      return void res
        .writeHead(500, {"content-type": "application/json"})
        .end(JSON.stringify({code: 500, message: "internal error"}));
    if (mode === "garbage")
      return void res.writeHead(200, {"content-type": "application/json"}).end('{"data": [1, 2, oops');
    if (mode === "syncing")
      return void res
        .writeHead(503, {"content-type": "application/json"})
        .end(JSON.stringify({code: 503, message: "Beacon node is currently syncing"}));
    this.passed++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = {};
    // Hop-by-hop headers belong to this connection, not the upstream one (and fetch refuses them).
    const hopByHop = new Set([
      "host",
      "content-length",
      "connection",
      "keep-alive",
      "transfer-encoding",
      "upgrade",
      "expect",
    ]);
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && !hopByHop.has(k)) headers[k] = v;
    try {
      const upstream = await fetch(this.target + req.url, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      const out: Record<string, string> = {};
      upstream.headers.forEach(
        (v, k) => k !== "content-length" && k !== "transfer-encoding" && k !== "content-encoding" && (out[k] = v),
      );
      res.writeHead(upstream.status, out).end(body);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  }
}
