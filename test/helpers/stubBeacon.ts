import {type IncomingMessage, type Server, type ServerResponse, createServer} from "node:http";

/** How the stub answers: well, slowly, syncing (200 with is_syncing, or 503 everywhere), refusing posts, or 500. */
export interface StubBehaviour {
  delayMs: number;
  syncing: "no" | "flag" | "503";
  /** POSTs: accept (200), refuse with 400 and this message, or fail with 500. */
  post: "accept" | {status: number; message: string};
  /** Basic authorization the stub insists on (401 without it). */
  auth?: string;
}

/**
 * A real HTTP server shaped like a beacon node for the routes the beacon set itself calls (node/syncing) and
 * a read route and a submit route for its tests; it counts what it was asked. It can be stopped (sockets
 * destroyed: what a client sees when a beacon node's process dies) and started again on the same port.
 */
export class StubBeacon {
  readonly behaviour: StubBehaviour = {delayMs: 0, syncing: "no", post: "accept"};
  readonly hits = {reads: 0, posts: 0, probes: 0};
  lastAuthorization: string | undefined;
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(this.port, "127.0.0.1", r));
    this.port = (this.server.address() as {port: number}).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req) void _;
    const b = this.behaviour;
    this.lastAuthorization = req.headers.authorization;
    const json = (code: number, body: unknown) =>
      void res.writeHead(code, {"content-type": "application/json"}).end(JSON.stringify(body));
    if (b.delayMs > 0) await new Promise((r) => setTimeout(r, b.delayMs));
    if (b.auth !== undefined && req.headers.authorization !== b.auth)
      return json(401, {code: 401, message: "unauthorized"});
    if (b.syncing === "503") return json(503, {code: 503, message: "Beacon node is currently syncing"});
    if (req.url === "/eth/v1/node/syncing") {
      this.hits.probes++;
      return json(200, {
        data: {
          head_slot: "100",
          sync_distance: b.syncing === "flag" ? "40" : "0",
          is_syncing: b.syncing === "flag",
          is_optimistic: false,
        },
      });
    }
    if (req.method === "POST") {
      this.hits.posts++;
      return b.post === "accept"
        ? void res.writeHead(200).end()
        : json(b.post.status, {code: b.post.status, message: b.post.message});
    }
    this.hits.reads++;
    json(200, {data: {version: `stub ${this.port}`}});
  }
}
