import {fastify, type FastifyInstance} from "fastify";
import {registerRoutes, type BeaconApiMethods} from "@lodestar/api/beacon/server";
import {ApiError, addSszContentTypeParser} from "@lodestar/api/server";
import {ExecutionRpc} from "./executionRpc.js";
import {SLOTS_PER_EPOCH} from "@lodestar/params";
import type {ChainForkConfig} from "@lodestar/config";
import type {Logger} from "../../util/logger.js";
import {DevnetError} from "../errors.js";
import type {Devnet} from "../devnet.js";
import {effectivenessReport} from "../effectiveness.js";
import type {Fault} from "../faults.js";
import {beaconMethods} from "./beaconApi.js";
import {debugMethods} from "./debugApi.js";
import {configMethods, eventsMethods, nodeMethods} from "./nodeConfigApi.js";
import {validatorMethods} from "./validatorApi.js";

type AnyMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * Wraps a namespace's methods: a refused submission becomes 400 with its reason, a missing item 404, and an
 * endpoint the devnet does not implement 501, all in the Beacon API's `{code, message}` error format.
 */
function namespace(methods: Record<string, unknown>): unknown {
  return new Proxy(methods, {
    get(target, prop) {
      const fn = target[prop as string] as AnyMethod | undefined;
      if (typeof prop !== "string") return undefined;
      if (typeof fn !== "function") {
        return async () => {
          throw new ApiError(501, `${prop} is not implemented by the r3dv devnet beacon node`);
        };
      }
      return async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          if (e instanceof DevnetError) throw new ApiError(e.code === "DEVNET_NOT_FOUND" ? 404 : 400, e.message);
          throw e;
        }
      };
    },
  });
}

/** Comma-separated values (`?id=1,2`) and repeated keys both become arrays, as the Beacon API's OpenAPI spec requires. */
function parseQuery(str: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const params = new URLSearchParams(str);
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key).flatMap((v) => v.split(","));
    out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

/**
 * A batch refused item by item, answered as the Beacon API's IndexedErrorMessage: `{code, message, failures:
 * [{index, message}]}`, which tells a client which items were refused (the others were taken).
 */
export class IndexedApiError extends ApiError {
  constructor(
    statusCode: number,
    message: string,
    readonly failures: {index: number; message: string}[],
  ) {
    super(statusCode, message);
  }
}

/** The Beacon API namespaces a server built here serves. */
export type ServedNamespace = "beacon" | "validator" | "node" | "config" | "events" | "debug";

/**
 * A fastify server (not listening yet) serving the Beacon API over `methods` through @lodestar/api's own route
 * definitions, so requests and answers are parsed and written exactly as a Lodestar beacon node does; the
 * errors are the API's `{code, message}` (see `namespace`). The devnet serves its chain through it, and tests
 * a scripted beacon node.
 */
export function beaconApiServer(
  config: ChainForkConfig,
  methods: Partial<Record<ServedNamespace, object>>,
  logger: Logger,
): FastifyInstance {
  const server = fastify({
    logger: false,
    ajv: {customOptions: {coerceTypes: "array"}},
    // Comma-separated arrays (`?id=1,2`) are what the Beacon API's OpenAPI spec requires; Lodestar parses the same way.
    routerOptions: {querystringParser: parseQuery},
  });
  addSszContentTypeParser(server);
  server.setErrorHandler(
    (err: Error & {validation?: {instancePath: string; message?: string}[]; statusCode?: number}, _req, res) => {
      if (err.validation) {
        const v = err.validation[0];
        const field = v ? v.instancePath.substring(v.instancePath.lastIndexOf("/") + 1) : "";
        void res.status(400).send({code: 400, message: `${field} ${v?.message ?? "is invalid"}`.trim()});
        return;
      }
      const code =
        err instanceof ApiError ? err.statusCode : err instanceof DevnetError ? 400 : (err.statusCode ?? 500);
      if (code >= 500) logger.error("API request failed", {}, err);
      const failures = err instanceof IndexedApiError ? {failures: err.failures} : {};
      void res.status(code).send({code, message: err.message, ...failures});
    },
  );
  server.setNotFoundHandler((req, res) => {
    void res.code(404).send({code: 404, message: `Route ${req.raw.method}:${req.raw.url} not found`});
  });
  const namespaces: ServedNamespace[] = ["beacon", "validator", "node", "config", "events", "debug"];
  const wrapped = Object.fromEntries(namespaces.map((ns) => [ns, namespace({...methods[ns]})]));
  registerRoutes(server, config, wrapped as unknown as BeaconApiMethods, namespaces);
  return server;
}

export async function startApiServer(
  devnet: Devnet,
  port: number,
  logger: Logger,
): Promise<{server: FastifyInstance; url: string}> {
  const server = beaconApiServer(
    devnet.chain.config,
    {
      beacon: beaconMethods(devnet),
      validator: validatorMethods(devnet),
      node: nodeMethods(devnet),
      config: configMethods(devnet),
      events: eventsMethods(devnet),
      debug: debugMethods(devnet),
    },
    logger,
  );

  server.get("/r3dv/v1/effectiveness", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const current = Math.floor(devnet.chain.currentSlot() / SLOTS_PER_EPOCH);
    const from = q.from_epoch === undefined ? 0 : Number(q.from_epoch);
    const to = q.to_epoch === undefined ? current : Number(q.to_epoch);
    return {data: effectivenessReport(devnet.chain, devnet.duties, from, to)};
  });
  server.get("/r3dv/v1/faults", async () => ({data: devnet.faults.list()}));
  // The execution layer's JSON-RPC (executionRpc.ts): what a node's EVM role re-executes payloads with.
  const rpcEngine = devnet.chain.engine.executionRpc?.();
  const rpc = rpcEngine
    ? new ExecutionRpc(rpcEngine, () => {
        const head = devnet.chain.headState() as unknown as {latestExecutionPayloadHeader: {blockHash: Uint8Array}};
        return head.latestExecutionPayloadHeader.blockHash;
      })
    : null;
  server.post("/r3dv/v1/execution", async (req) => {
    const body = (req.body ?? {}) as Record<string, unknown> | Record<string, unknown>[];
    const one = (call: Record<string, unknown>) =>
      rpc
        ? rpc.answer(call)
        : {jsonrpc: "2.0", id: call.id ?? null, error: {code: -32601, message: "this devnet keeps no EL state"}};
    // A batch (JSON-RPC 2.0 section 6): the answers in one list.
    return Array.isArray(body) ? Promise.all(body.map(one)) : one(body);
  });
  // The invalid_head fault's blocks and every signature made over them: a run checks that none came from its cluster.
  server.get("/r3dv/v1/invalid_heads", async () => ({data: [...devnet.chain.invalidHeads.values()]}));
  server.get("/r3dv/v1/builder", async () => ({data: devnet.builder ? devnet.builder.counts : null}));
  // What a relay would hold for each validator: how a run shows that its cluster's registrations arrived.
  server.get("/r3dv/v1/builder/registrations", async () => ({data: devnet.registrations.list()}));
  server.post("/r3dv/v1/faults", async (req) => {
    const body = (req.body ?? {}) as {kind?: string; slot?: number; delay_ms?: number};
    const kinds = [
      "skip",
      "late",
      "fork",
      "bad_state_root",
      "invalid_head",
      "invalid_payload_head",
      "invalid_tx_head",
      "builder_late",
      "builder_withhold",
      "builder_wrong_payee",
    ];
    if (!body.kind || !kinds.includes(body.kind))
      throw new ApiError(400, `kind must be one of ${kinds.join(", ")}, got ${JSON.stringify(body.kind)}`);
    const delayed = body.kind === "late" || body.kind === "builder_late";
    if (delayed && !(Number.isSafeInteger(body.delay_ms) && (body.delay_ms as number) > 0))
      throw new ApiError(400, `a ${body.kind} fault needs delay_ms, a positive integer`);
    if (body.kind.startsWith("builder_") && !devnet.builder)
      throw new ApiError(400, `a ${body.kind} fault needs a builder: start the devnet with --builder`);
    devnet.faults.add({kind: body.kind, slot: Number(body.slot), delayMs: body.delay_ms} as Fault);
    return {data: devnet.faults.list()};
  });

  const address = await server.listen({port, host: "127.0.0.1"});
  return {server, url: address};
}
