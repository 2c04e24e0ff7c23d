import {type IncomingMessage, type Server, type ServerResponse, createServer} from "node:http";

/**
 * An HTTP server on a free loopback port in front of a real service, for the tamper proxies: `handle` answers each
 * request (a failure there closes the connection, as a crashed proxy would); `stop` closes every connection.
 */
export abstract class LoopbackProxy {
  private server: Server | null = null;
  url = "";

  constructor(protected readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => this.server?.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server?.address() as {port: number}).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}
