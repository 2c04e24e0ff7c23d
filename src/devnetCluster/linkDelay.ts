import {type Server, type Socket, connect, createServer} from "node:net";

/** A round trip added between nodes, and how much it varies (`--latency RTT[/JITTER]`, in ms). */
export interface Latency {
  rttMs: number;
  jitterMs: number;
}

/**
 * A TCP proxy in front of one node's p2p port that holds every chunk, each way, for half the round trip plus or
 * minus half the jitter: the delay far-apart operators see (50-235 ms between regions). Written here because this
 * kernel has no netem and a devnet user has no root for tc: it runs in the devnet's own process, on loopback.
 * Chunks never overtake each other (TCP's order holds); a chunk drawn shorter than the one before it waits for it.
 * No backpressure: what a side sends is held until its time, as a link's queue holds it; a devnet's few MB a slot
 * fit in memory.
 */
export class DelayedLink {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly latency: Latency,
    private readonly listenPort: number,
    private readonly targetPort: number,
    private readonly random: () => number = Math.random,
  ) {}

  async start(): Promise<void> {
    const server = createServer((inbound) => this.pair(inbound));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.listenPort, "127.0.0.1", () => resolve());
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private pair(inbound: Socket): void {
    const outbound = connect(this.targetPort, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      // A side gone (a node killed, the proxy stopping) takes the other with it, as a cut link would.
      s.on("error", () => undefined);
      s.on("close", () => {
        this.sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    this.forward(inbound, outbound);
    this.forward(outbound, inbound);
  }

  /** Writes what `from` reads to `to` one delay later, in order: one queue and one timer per direction. */
  private forward(from: Socket, to: Socket): void {
    const queue: {chunk: Buffer; at: number}[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as {at: number}).at <= now) {
        const {chunk} = queue.shift() as {chunk: Buffer};
        if (to.writable) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, (queue[0] as {at: number}).at - now);
    };
    from.on("data", (chunk: Buffer) => {
      const {rttMs, jitterMs} = this.latency;
      const at = Date.now() + rttMs / 2 + (this.random() - 0.5) * jitterMs;
      queue.push({chunk, at: Math.max(at, queue.at(-1)?.at ?? 0)});
      timer ??= setTimeout(drain, (queue[0] as {at: number}).at - Date.now());
    });
    from.on("close", () => clearTimeout(timer));
  }
}

/** `RTT` or `RTT/JITTER` in ms, e.g. `100/20`: 100 ms round trips, each way 50 ms ± 10 ms. */
export function parseLatency(v: string): Latency | undefined {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  const rttMs = Number(m[1]);
  const jitterMs = Number(m[2] ?? 0);
  return jitterMs > rttMs ? undefined : {rttMs, jitterMs};
}
