import {monitorEventLoopDelay} from "node:perf_hooks";
import {join} from "node:path";
import {type ClusterLock} from "../cluster/lockSchema.js";
import {loadLock, operatorFor} from "../cluster/lock.js";
import {IDENTITY_FILE, loadIdentity} from "../cluster/identity.js";
import type {PrivateKey} from "@libp2p/interface";
import {createMetrics, type Metrics} from "../api/metrics.js";
import {HttpApi} from "../api/http.js";
import {IpcServer} from "../api/ipc.js";
import {fromHex, toHex} from "../hotpath/bytes.js";
import {type ChunkKind, chunkId, decodeChunk, isChunkKind, readStoredChunkHeader} from "../hotpath/chunk.js";
import {CHUNK_ENTRY_TYPES, type Entry, jsonBody, parseJsonBody} from "../storage/entry.js";
import {type AnyDutyResult, ValidatorRole} from "../roles/validator/validatorRole.js";
import type {InclusionResult} from "../roles/validator/tracking/inclusionChecker.js";
import {BlsPool} from "../workers/blsPool.js";
import {storeTransport} from "./storeTransport.js";
import {DhtRole, lockAddressToMultiaddr} from "../roles/dht/dhtRole.js";
import {type PublishResult, StoreRole} from "../roles/store/storeRole.js";
import {Series} from "../storage/series.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import type {Logger} from "../util/logger.js";
import {LimiterPool} from "../workers/limiterPool.js";
import {Beacon} from "./beacon.js";
import type {SlotClock} from "../roles/validator/schedule/slotClock.js";
import {buildDutyTrail, windowedResults} from "./dutyTrail.js";
import {BeaconSet, type BeaconSetEvents} from "../roles/validator/beacon/beaconSet.js";
import type {RunOptions} from "./config.js";
import {type NodeStatus, type PeerStatus, buildStatus} from "./status.js";

/** How often the node retries the beacon node for genesis and spec until it answers. */
const CLOCK_RETRY_MS = 2000;
/** A /readyz answer about the beacon node stays good this long: probes every second must not become one Beacon API call each. */
const SYNC_CACHE_MS = 1000;
/** Compaction check interval: cheap (one comparison) unless the budget is crossed. */
const COMPACT_CHECK_MS = 5000;

export type NodeErrorType =
  | {code: "NODE_NOT_IN_LOCK"; nodeDir: string; peerId: string; lock: string}
  | {code: "NODE_BAD_REQUEST"; reason: string};
export class NodeError extends R3dvError<NodeErrorType> {}

/** One cluster node: the DHT and store roles, the series, the HTTP API and the IPC socket, started and stopped together. */
export class R3dvNode {
  readonly metrics: Metrics;
  readonly series: Series;
  readonly dht: DhtRole;
  readonly store: StoreRole;
  readonly pool: LimiterPool;
  readonly blsPool: BlsPool;
  readonly validator: ValidatorRole;
  readonly beacon: Beacon;
  private http: HttpApi | null = null;
  private ipc: IpcServer | null = null;
  private clock: SlotClock | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  /** The start in progress: a stop that arrives while keys are still being decrypted waits for it (see stop). */
  private starting: Promise<void> | null = null;
  private synced = {value: false, at: 0};
  private readonly startedAt = Date.now();
  private readonly loopDelay = monitorEventLoopDelay({resolution: 10});

  private constructor(
    readonly opts: RunOptions,
    readonly lock: ClusterLock,
    readonly self: number,
    readonly peerId: string,
    private readonly privateKey: PrivateKey,
    series: Series,
    metrics: Metrics,
    readonly logger: Logger,
  ) {
    this.metrics = metrics;
    this.series = series;
    const me = lock.operators[self - 1];
    const listen = opts.p2pListen ?? lockAddressToMultiaddr(me?.address ?? "127.0.0.1:0").toString();
    this.dht = new DhtRole({lock, self, privateKey, listen, metrics, logger: logger.child({role: "dht"})});
    this.beacon = new Beacon(new BeaconSet(opts.beaconNodes, this.beaconEvents()), lock.network);
    this.pool = new LimiterPool(opts.workers);
    this.store = new StoreRole({
      lock,
      self,
      privateKey,
      series,
      dht: this.dht,
      budgetBytes: opts.storageBudget,
      replication: opts.replication,
      peerRate: opts.peerRate,
      currentSlot: () => this.currentSlot(),
      metrics,
      logger: logger.child({role: "store"}),
    });
    this.blsPool = new BlsPool({size: opts.workers});
    this.validator = new ValidatorRole({
      lock,
      self,
      nodeDir: opts.nodeDir,
      dataDir: opts.dataDir,
      beaconUrls: opts.beaconNodes,
      beaconSet: this.beacon.set,
      privateKey: this.privateKey,
      transport: storeTransport(this.store, self, logger.child({role: "validator"})),
      pool: this.blsPool,
      logger: logger.child({role: "validator"}),
      onResult: (r) => this.recordDuty(r),
      onInclusion: (r) => this.recordInclusion(r),
      onPreparation: (r) => this.metrics.proposerPreparations.inc({result: r.result}),
      onPartialsDropped: (reason, count) => this.metrics.partialSigsDropped.inc({reason}, count),
      qbftEvents: {
        onRoundChange: () => this.metrics.consensusRounds.inc(),
        onRejected: (_instance, _from, reason) => this.metrics.consensusRejected.inc({reason}),
      },
    });
  }

  /** Every duty outcome is a series entry (`r3dv series --kind duty_result`) and a metric. */
  private recordDuty(r: AnyDutyResult): void {
    this.metrics.dutyResults.inc({duty: r.duty, status: r.status, reason: r.reason ?? ""});
    if ("stages" in r)
      for (const [stage, ms] of Object.entries(r.stages))
        if (typeof ms === "number") this.metrics.dutyStageSeconds.observe({duty: r.duty, stage}, ms / 1000);
    void this.series
      .append("duty_result", jsonBody(r), "batched", r.slot)
      .catch((e: unknown) => this.logger.error("duty result not recorded", {duty: r.duty, slot: r.slot}, e));
    if (r.status === "failed")
      this.logger.warn("duty failed", {
        duty: r.duty,
        slot: r.slot,
        validator: r.validatorIndex,
        reason: r.reason,
        detail: r.detail,
      });
  }

  /** What the chain says about a submitted attestation: a series entry beside the duty's result, and metrics. */
  private recordInclusion(r: InclusionResult): void {
    const outcome = r.error ? "unknown" : !r.included ? "missed" : r.correctTarget ? "included" : "wrong_target";
    this.metrics.inclusions.inc({outcome});
    if (r.delay !== undefined) this.metrics.inclusionDelay.observe(r.delay);
    void this.series
      .append("duty_inclusion", jsonBody(r), "batched", r.slot)
      .catch((e: unknown) => this.logger.error("inclusion not recorded", {slot: r.slot}, e));
    if (outcome === "missed" || outcome === "wrong_target")
      this.logger.warn("attestation not included as signed", {slot: r.slot, validator: r.validatorIndex, outcome});
  }

  /**
   * Beacon node health is a metric per node, a log line and a series entry on each change; every request a
   * metric. Failed requests log at debug: a benching says the same once, at warn.
   */
  private beaconEvents(): BeaconSetEvents {
    return {
      request: (beacon, kind, result, seconds, route, error) => {
        this.metrics.beaconRequests.inc({beacon, kind, result});
        this.metrics.beaconRequestSeconds.observe({beacon, kind}, seconds);
        if (error) this.logger.debug("beacon node request failed", {beacon, kind, result, route}, error);
      },
      health: (status, previous) => {
        this.metrics.beaconHealthy.set({beacon: status.url}, status.health === "healthy" ? 1 : 0);
        if (status.health === "benched") {
          this.metrics.beaconBenched.inc({beacon: status.url, reason: status.reason ?? ""});
          this.logger.warn("beacon node benched", {
            beacon: status.url,
            reason: status.reason,
            failures: status.failures,
            retryInMs: status.retryInMs,
            error: status.lastError,
          });
        } else {
          this.logger.info("beacon node healthy", {beacon: status.url, previous, latencyMs: status.latencyMs});
        }
        void this.series
          .append("beacon_health", jsonBody({...status, previous}), "batched")
          .catch((e: unknown) => this.logger.error("beacon health not recorded", {beacon: status.url}, e));
      },
    };
  }

  /** Loads and checks everything a node needs, refusing (with what to do) a bad lock, node dir or data dir. */
  static async create(opts: RunOptions, logger: Logger): Promise<R3dvNode> {
    const lock = await loadLock(opts.lock);
    const identity = await loadIdentity(join(opts.nodeDir, IDENTITY_FILE));
    const self = operatorFor(lock, identity.peerId);
    if (self === undefined) {
      throw new NodeError(
        {code: "NODE_NOT_IN_LOCK", nodeDir: opts.nodeDir, peerId: identity.peerId, lock: opts.lock},
        `node dir ${opts.nodeDir} holds identity ${identity.peerId}, which is not an operator of ${opts.lock} ` +
          `(operators: ${lock.operators.map((o) => `${o.index}=${o.peer_id}`).join(", ")}); use the node dir create-cluster wrote for this cluster`,
      );
    }
    const metrics = createMetrics();
    const series = await Series.open({
      dir: opts.dataDir,
      lockHash: lock.lock_hash,
      operator: self,
      budgetBytes: opts.storageBudget,
      onAppend: (e) => metrics.seriesAppends.inc({type: e.type}),
    });
    return new R3dvNode(
      opts,
      lock,
      self,
      identity.peerId,
      identity.privateKey,
      series,
      metrics,
      logger.child({operator: self}),
    );
  }

  start(): Promise<void> {
    this.starting ??= this.startRoles();
    return this.starting;
  }

  private async startRoles(): Promise<void> {
    this.loopDelay.enable();
    this.running = true;
    // The socket first: a second node on the same data dir fails here, before it touches the network.
    this.ipc = new IpcServer(this.opts.ipc, (method, params) => this.handleIpc(method, params), this.logger);
    await this.ipc.start();
    await this.dht.start();
    await this.store.start();
    if (this.opts.http) {
      this.http = new HttpApi(this, this.logger);
      await this.http.start(this.opts.http.host, this.opts.http.port);
    }
    this.beacon.set.start();
    void this.fetchClock();
    // Key shares are decrypted here: a wrong keystore password stops the node at start, with its message.
    await this.validator.start();
    this.timers.push(setInterval(() => this.updateGauges(), 1000));
    this.timers.push(
      setInterval(() => {
        this.series.compactIfNeeded().then(
          (c) => {
            if (c) {
              this.metrics.compactions.inc();
              this.logger.info("series compacted", {...c});
            }
          },
          (e: unknown) => this.logger.error("compaction failed", {}, e),
        );
      }, COMPACT_CHECK_MS),
    );
    this.logger.info("node started", {
      cluster: this.lock.name,
      operator: this.self,
      peerId: this.peerId,
      listen: this.dht.listenAddrs(),
      http: this.http?.address,
      ipc: this.opts.ipc,
      seriesEntries: this.series.views.entries,
    });
  }

  async stop(): Promise<void> {
    // HTTP answers /livez before the key shares are decrypted, so a SIGTERM can land mid-start. Stopping then
    // would close the roles started so far, and the rest of start would open timers and duty loops after the
    // stop: a process that never exits. Waiting for start (failed or not) first closes everything it opened.
    await this.starting?.catch(() => undefined);
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.beacon.set.stop();
    this.loopDelay.disable();
    await this.ipc?.stop().catch(() => undefined);
    await this.http?.stop().catch(() => undefined);
    await this.validator.stop().catch(() => undefined);
    await this.blsPool.close().catch(() => undefined);
    await this.store.stop().catch(() => undefined);
    await this.dht.stop().catch(() => undefined);
    await this.pool.close().catch(() => undefined);
    await this.series.close();
    this.logger.info("node stopped", {});
  }

  private async fetchClock(): Promise<void> {
    while (!this.clock && this.running) {
      try {
        this.clock = await this.beacon.slotClock();
        this.logger.info("slot clock from beacon node", {
          genesisTime: this.clock.genesisTime,
          slotMs: this.clock.slotMs,
          slot: this.currentSlot(),
        });
        return;
      } catch (e) {
        this.logger.warn("beacon node not answering genesis/spec yet; retrying", {
          beacons: this.beacon.urls,
          reason: errorMessage(e),
        });
        await new Promise((r) => setTimeout(r, CLOCK_RETRY_MS));
      }
    }
  }

  /** Undefined until a beacon node has told genesis and slot time. */
  currentSlot(): number | undefined {
    return this.clock?.currentSlot();
  }

  async beaconSynced(): Promise<boolean> {
    if (Date.now() - this.synced.at > SYNC_CACHE_MS)
      this.synced = {value: await this.beacon.isSynced(), at: Date.now()};
    return this.synced.value;
  }

  /** /readyz: at least m-1 peers (with this node, a signing quorum) and a synced beacon node. */
  async readiness(): Promise<{ready: boolean; peersConnected: number; peersNeeded: number; beaconSynced: boolean}> {
    const peersConnected = this.dht.connected().length;
    const peersNeeded = this.lock.threshold - 1;
    const beaconSynced = await this.beaconSynced();
    return {ready: peersConnected >= peersNeeded && beaconSynced, peersConnected, peersNeeded, beaconSynced};
  }

  private updateGauges(): void {
    this.metrics.seriesEntries.set(this.series.views.entries);
    this.metrics.seriesBytes.set(this.series.views.bytesStored);
    this.metrics.queueDepth.set(this.store.queueDepth);
    this.metrics.workerQueue.set(this.pool.queueSize);
    this.metrics.peersConnected.set(this.dht.connected().length);
    for (const b of this.beacon.status())
      if (b.latencyMs !== undefined) this.metrics.beaconLatency.set({beacon: b.url}, b.latencyMs / 1000);
  }

  peers(): PeerStatus[] {
    const v = this.series.views;
    return [...this.dht.peers.values()].map((p) => ({
      operator: p.index,
      peerId: p.peerId.toString(),
      address: p.address,
      connected: p.connected,
      rttMs: p.rttMs,
      clockOffsetMs: p.clockOffsetMs,
      accepted: v.peers[p.index]?.accepted ?? 0,
      refused: v.peers[p.index]?.refused ?? 0,
      rateLimited: v.peers[p.index]?.rateLimited ?? 0,
    }));
  }

  async status(): Promise<NodeStatus> {
    return buildStatus(this, await this.readiness(), this.loopDelay.percentile(99) / 1e6, Date.now() - this.startedAt);
  }

  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  async publish(kind: ChunkKind, payload: Uint8Array, slot?: number): Promise<PublishResult> {
    return this.store.publish(kind, payload, slot);
  }

  /** The IPC methods local tools call. Params come from a JSON line: every field is checked. */
  private async handleIpc(method: string, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case "status":
        return this.status();
      case "peers":
        return this.peers();
      case "series": {
        const n = Number(params.tail ?? 20);
        if (!Number.isInteger(n) || n < 1 || n > 10_000)
          throw badRequest(`tail must be an integer from 1 to 10000, got ${String(params.tail)}`);
        const type = params.kind === undefined ? undefined : String(params.kind);
        const entries = this.series.tail(n, type ? (e) => entryKind(e) === type || e.type === type : undefined);
        const verify = params.verify ? await this.pool.verifyChain(this.series.dir) : undefined;
        return {
          lastSeq: this.series.lastSeq,
          headHash: this.series.headHash,
          entries: entries.map(describeEntry),
          verify,
        };
      }
      case "duty": {
        const slot = Number(params.slot);
        if (!Number.isSafeInteger(slot) || slot < 0)
          throw badRequest(`slot must be a non-negative integer, got ${String(params.slot)}`);
        const validator = params.validator === undefined ? undefined : Number(params.validator);
        if (validator !== undefined && (!Number.isSafeInteger(validator) || validator < 0))
          throw badRequest(`validator must be a non-negative integer, got ${String(params.validator)}`);
        const slotStart = this.clock?.slotStartMs(slot);
        const entries = [
          ...windowedResults((s) => this.series.entriesBySlot(s), slot),
          ...this.series.entriesBySlot(slot),
        ].sort((a, b) => a.seq - b.seq);
        return buildDutyTrail(entries, this.self, slot, slotStart, validator);
      }
      case "limiters": {
        const window = Number(params.window ?? 100_000);
        if (!Number.isInteger(window) || window < 1)
          throw badRequest(`window must be a positive integer, got ${String(params.window)}`);
        this.metrics.limiterAudits.inc({result: "run"});
        return {...(await this.status()).limiters, window: await this.pool.window(this.series.dir, window)};
      }
      case "publish": {
        const kind = String(params.kind ?? "probe");
        if (!isChunkKind(kind)) throw badRequest(`unknown chunk kind ${kind}`);
        const payload = Buffer.from(String(params.payload ?? ""), "utf8");
        const slot = params.slot === undefined ? undefined : Number(params.slot);
        if (slot !== undefined && (!Number.isSafeInteger(slot) || slot < 0))
          throw badRequest(`slot must be a non-negative integer`);
        return this.publish(kind, payload, slot);
      }
      case "has": {
        const ids = Array.isArray(params.ids) ? params.ids.map(String) : [];
        return ids.map((id) => {
          try {
            return this.series.hasChunk(fromHex(id, 32));
          } catch {
            throw badRequest(`ids must be 0x-prefixed 32-byte hex, got ${id.slice(0, 20)}`);
          }
        });
      }
      case "catchup":
        return {added: await this.store.catchUps.run()};
      default:
        throw badRequest(
          `unknown method ${method}; methods: status, peers, series, duty, limiters, publish, has, catchup`,
        );
    }
  }
}

function badRequest(reason: string): NodeError {
  return new NodeError({code: "NODE_BAD_REQUEST", reason}, reason);
}

function entryKind(e: Entry): string | undefined {
  return CHUNK_ENTRY_TYPES.has(e.type) ? readStoredChunkHeader(e.body.subarray(1)).kind : undefined;
}

/** One entry as JSON for local tools: chunk entries decoded, others as their JSON body. */
export function describeEntry(e: Entry): Record<string, unknown> {
  const base = {seq: e.seq, type: e.type, t: new Date(e.t).toISOString(), prevHash: toHex(e.prevHash)};
  if (CHUNK_ENTRY_TYPES.has(e.type)) {
    const encoded = e.body.subarray(1);
    const c = decodeChunk(encoded);
    return {
      ...base,
      from: e.body[0],
      chunk: {
        id: toHex(chunkId(encoded)),
        kind: c.kind,
        slot: c.slot,
        origin: c.origin,
        seq: c.seq,
        bytes: c.payload.length,
      },
    };
  }
  return {...base, body: parseJsonBody(e)};
}
