import Fastify, {type FastifyInstance} from "fastify";
import type {Registry} from "prom-client";
import type {Logger} from "../util/logger.js";

/** All the HTTP API reads: metrics, readiness and status. It holds nothing that could change the node. */
export interface HttpSource {
  readonly metrics: {readonly register: Registry};
  readiness(): Promise<{ready: boolean}>;
  status(): Promise<object>;
  health(): Promise<{status: string}>;
}

/** Operator-facing HTTP: Prometheus metrics, liveness, readiness, status JSON. Read-only: nothing here changes the node. */
export class HttpApi {
  private readonly app: FastifyInstance;
  address: string | undefined;

  constructor(
    node: HttpSource,
    private readonly logger: Logger,
  ) {
    this.app = Fastify({logger: false});
    this.app.get("/metrics", async (_req, reply) => {
      reply.header("content-type", node.metrics.register.contentType);
      return node.metrics.register.metrics();
    });
    // Alive means the event loop answers: a stuck loop fails this, a busy one does not.
    this.app.get("/livez", async () => ({status: "ok"}));
    this.app.get("/readyz", async (_req, reply) => {
      const r = await node.readiness();
      reply.code(r.ready ? 200 : 503);
      return r;
    });
    this.app.get("/r3dv/v1/status", async () => node.status());
    // 503 when a critical check fails, so a load balancer or uptime probe can act on it as on /readyz.
    this.app.get("/r3dv/v1/health", async (_req, reply) => {
      const h = await node.health();
      reply.code(h.status === "critical" ? 503 : 200);
      return h;
    });
  }

  async start(host: string, port: number): Promise<void> {
    this.address = await this.app.listen({host, port});
    this.logger.info("http listening", {address: this.address});
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
