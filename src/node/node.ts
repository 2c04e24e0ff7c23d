import {SLOTS_PER_EPOCH} from "@lodestar/params";
import {monitorEventLoopDelay} from "node:perf_hooks";
import {join} from "node:path";
import {type ClusterLock} from "../cluster/lockSchema.js";
import {loadLock, operatorFor} from "../cluster/lock.js";
import {IDENTITY_FILE, loadIdentity} from "../cluster/identity.js";
import type {PrivateKey} from "@libp2p/interface";
import {createMetrics, type Metrics} from "../api/metrics.js";
import {HttpApi} from "../api/http.js";
import {IpcServer} from "../api/ipc.js";
import {ipcMethods} from "./ipcMethods.js";
import {
  beaconEvents,
  clusterSignedIn,
  recordDoppelganger,
  recordDuty,
  recordInclusion,
  storedChunks,
  verdictEvents,
  blockViewEvents,
} from "./records.js";
import {ChainFollower} from "../roles/evm/chainFollower.js";
import {readChain} from "../roles/validator/beacon/chainConfig.js";
import {redactUrl} from "../roles/validator/beacon/beaconUrl.js";
import type {ChunkKind} from "../hotpath/chunk.js";
import {ValidatorRole} from "../roles/validator/validatorRole.js";
import {BlsPool} from "../workers/blsPool.js";
import {storeTransport, viewTransport} from "./storeTransport.js";
import {DhtRole, lockAddressToMultiaddr} from "../roles/dht/dhtRole.js";
import {type PublishResult, StoreRole} from "../roles/store/storeRole.js";
import {Series} from "../storage/series.js";
import {R3dvError, errorMessage} from "../util/errors.js";
import type {Logger} from "../util/logger.js";
import {LimiterPool} from "../workers/limiterPool.js";
import {Beacon} from "./beacon.js";
import type {SlotClock} from "../roles/validator/schedule/slotClock.js";
import {BeaconSet} from "../roles/validator/beacon/beaconSet.js";
import {FollowerVerdicts} from "../roles/evm/followerVerdicts.js";
import {ViewSharing} from "../roles/evm/viewSharing.js";
import {HeadGuard} from "../roles/validator/verifiedChain/headGuard.js";
import type {RunOptions} from "./config.js";
import {type NodeStatus, type PeerStatus, buildStatus} from "./status.js";
import {DutyWindow, type HealthReport, WindowedTotal, healthReport} from "./health.js";
import {anonymousResidentBytes} from "./residentMemory.js";

/** How often the node retries the beacon node for genesis and spec until it answers. */
const CLOCK_RETRY_MS = 2000;
/** A /readyz answer about the beacon node stays good this long: probes every second must not become one Beacon API call each. */
const SYNC_CACHE_MS = 1000;
/** How often the health gauges are computed: a few times a mainnet slot, cheap (status and counts only). */
const HEALTH_REFRESH_MS = 5000;
/** The memory check's baseline is the lowest resident size of this long: past a start's growth, shorter than a leak's. */
const MEMORY_WINDOW_MS = 3_600_000;
/** Compaction check interval: cheap (one comparison) unless the budget is crossed. */
const COMPACT_CHECK_MS = 5000;

export type NodeErrorType = {code: "NODE_NOT_IN_LOCK"; nodeDir: string; peerId: string; lock: string};
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
  /** The EVM role's chain follower (`--verify`): null until the beacon node told the chain, or when off. */
  private follower: ChainFollower | null = null;
  /** The follower's verdicts as the duties read them (`--verify enforce`), handed over before the follower exists. */
  private readonly verdicts = new FollowerVerdicts();
  /** This node's verdicts out to its peers as `eth_block` chunks, theirs in (into `verdicts.peers`). */
  private readonly viewSharing: ViewSharing;
  private verification: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  /** The start in progress: a stop that arrives while keys are still being decrypted waits for it (see stop). */
  private starting: Promise<void> | null = null;
  private synced = {value: false, at: 0};
  private readonly startedAt = Date.now();
  private readonly loopDelay = monitorEventLoopDelay({resolution: 10});
  /** Recent duty results and limiter refusal totals by slot: what the health checks count. */
  private readonly dutyWindow = new DutyWindow();
  private readonly refusedAt = new WindowedTotal();
  /** Blocks refused in consensus for their fee recipient, since start, by the slot they were counted at. */
  private feeRecipientMismatches = 0;
  private readonly feeMismatchesAt = new WindowedTotal();
  /** Anonymous resident memory at each health refresh of the last hour (MEMORY_WINDOW_MS): its lowest is the baseline. */
  private readonly anonResidentSamples: {at: number; bytes: number}[] = [];

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
    this.beacon = new Beacon(new BeaconSet(opts.beaconNodes, beaconEvents(this)), lock.network);
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
    this.viewSharing = new ViewSharing(
      viewTransport(this.store, series, self, () => this.currentSlot(), logger.child({role: "evm"})),
      this.verdicts.peers,
      (root) => this.verdicts.verdict(root),
      blockViewEvents(this),
    );
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
      onResult: (r) => {
        recordDuty(r, this);
        this.dutyWindow.record(r);
      },
      onInclusion: (r) => recordInclusion(r, this),
      onPreparation: (r) => this.metrics.proposerPreparations.inc({result: r.result}),
      onSlashingCommitRetry: () => this.metrics.slashingCommitRetries.inc(),
      onPartialsDropped: (reason, count) => this.metrics.partialSigsDropped.inc({reason}, count),
      onPartialExit: (result) => this.metrics.exitPartials.inc({result}),
      storedExits: () => storedChunks(this.series, "partial_exit"),
      ...(opts.builder ? {builder: {boostFactor: opts.builderBoostFactor}} : {}),
      recoverers: opts.recoverers,
      ...(opts.verify === "enforce"
        ? {
            headGuard: new HeadGuard(this.verdicts, {
              threshold: lock.threshold,
              // An epoch: a head merely late has the previous block as its stand-in; an outage of the node's
              // own verification longer than that fails its duties rather than voting a stale target.
              maxStandInAgeSlots: SLOTS_PER_EPOCH,
              onPeerAccepted: (root, peers) => {
                this.metrics.headsOnPeerViews.inc();
                this.logger.info("signing for a head its peers verified, before this node did", {root, peers});
              },
            }),
          }
        : {}),
      doppelganger: {
        enabled: opts.doppelganger,
        clusterSigned: clusterSignedIn(series),
        onChange: (s) => recordDoppelganger(s, this),
      },
      qbftEvents: {
        onRoundChange: (instance, round) => {
          this.metrics.consensusRounds.inc();
          this.logger.debug("consensus round change", {instance, round});
        },
        onRejected: (instance, from, reason) => {
          // Debug, not info: a message for an instance already closed is refused every slot in normal running.
          this.logger.debug("consensus message refused", {instance, from, reason});
          this.metrics.consensusRejected.inc({reason});
          if (reason === "fee_recipient_mismatch") this.feeRecipientMismatches++;
        },
      },
    });
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
    this.ipc = new IpcServer(this.opts.ipc, ipcMethods(this), this.logger);
    await this.ipc.start();
    await this.dht.start();
    await this.store.start();
    // Peers' views are kept in every mode: `r3dv status` shows what the others verified.
    this.viewSharing.start();
    if (this.opts.http) {
      this.http = new HttpApi(this, this.logger);
      await this.http.start(this.opts.http.host, this.opts.http.port);
    }
    this.beacon.set.start();
    void this.fetchClock();
    // Key shares are decrypted here: a wrong keystore password stops the node at start, with its message.
    await this.validator.start();
    if (this.opts.verify !== "off") this.verification = this.startVerification();
    this.timers.push(setInterval(() => this.updateGauges(), 1000));
    // The health gauges for Prometheus, and the refusal samples the limiter check compares against.
    this.timers.push(
      setInterval(
        () => void this.health().catch((e: unknown) => this.logger.debug("health not computed", {}, e)),
        HEALTH_REFRESH_MS,
      ),
    );
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
    // The follower first: its stop aborts a state download that would otherwise hold the start for minutes.
    await this.follower?.stop().catch(() => undefined);
    this.viewSharing.stop();
    await this.verification;
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

  /**
   * The EVM role: this node's own verdict on every block any of its beacon nodes announces (a duty may sign for
   * the head of any of them). The chain's config (fork schedule, genesis validators root) comes from the beacon
   * nodes, asked until one answers.
   */
  private async startVerification(): Promise<void> {
    const beacons = this.opts.beaconNodes.map((url) => ({url, label: redactUrl(url)}));
    while (this.running) {
      try {
        const {config} = await readChain(this.beacon.set);
        if (!this.running) return;
        this.follower = new ChainFollower({
          beacons,
          config,
          logger: this.logger.child({role: "evm"}),
          ...(this.opts.executionRpc[0] ? {executionRpc: this.opts.executionRpc[0]} : {}),
          events: verdictEvents({
            metrics: this.metrics,
            logger: this.logger,
            series: this.series,
            share: (v) => this.viewSharing.share(v),
          }),
        });
        this.verdicts.attach(this.follower);
        await this.follower.start();
        this.logger.info("block verification started", {mode: this.opts.verify, beacons: beacons.map((b) => b.label)});
        return;
      } catch (e) {
        this.logger.warn("block verification not started yet; retrying", {beacons: this.beacon.urls}, e);
        await new Promise((r) => setTimeout(r, CLOCK_RETRY_MS));
      }
    }
  }

  /** This node's newest block verdicts (for status): the last verified block, and the last verdict of any kind. */
  verificationStatus(): NodeStatus["verification"] {
    const peers = this.verdicts.peers.summary();
    if (this.opts.verify === "off") return {mode: "off", peers};
    const f = this.follower;
    return {mode: this.opts.verify, anchorSlot: f?.anchorInfo?.slot, peers, ...f?.verdicts.summary()};
  }

  /** Undefined until a beacon node has told genesis and slot time. */
  currentSlot(): number | undefined {
    return this.clock?.currentSlot();
  }

  slotStartMs(slot: number): number | undefined {
    return this.clock?.slotStartMs(slot);
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
    this.metrics.seriesBudget.set(this.opts.storageBudget);
    this.metrics.queueDepth.set(this.store.queueDepth);
    this.metrics.workerQueue.set(this.pool.queueSize);
    this.metrics.peersConnected.set(this.dht.connected().length);
    for (const b of this.beacon.status())
      if (b.latencyMs !== undefined) this.metrics.beaconLatency.set({beacon: b.url}, b.latencyMs / 1000);
    for (const [state, count] of Object.entries(this.validator.doppelgangerCounts()))
      this.metrics.doppelgangerValidators.set({state}, count);
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

  /** The named health checks; each is also the `r3dv_health_check_failing` gauge. */
  async health(): Promise<HealthReport> {
    const status = await this.status();
    const slot = status.slot ?? 0;
    const refused = Object.values(status.limiters.refused).reduce((a, n) => a + n, 0);
    const windowAgo = this.refusedAt.record(slot, refused);
    const mismatchesAgo = this.feeMismatchesAt.record(slot, this.feeRecipientMismatches);
    const now = Date.now();
    const resident = anonymousResidentBytes();
    this.anonResidentSamples.push({at: now, bytes: resident});
    while ((this.anonResidentSamples[0]?.at ?? now) < now - MEMORY_WINDOW_MS) this.anonResidentSamples.shift();
    const report = healthReport(
      status,
      this.dutyWindow.counts(slot),
      {now: refused, windowAgo},
      {
        feeRecipientMismatches: this.feeRecipientMismatches - mismatchesAgo,
        anonResidentBytes: resident,
        anonResidentLowestBytes: Math.min(...this.anonResidentSamples.map((r) => r.bytes)),
      },
    );
    for (const c of report.checks) this.metrics.healthFailing.set({check: c.name, severity: c.severity}, c.ok ? 0 : 1);
    return report;
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
}
