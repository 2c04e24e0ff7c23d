import {join} from "node:path";
import {setTimeout as sleep} from "node:timers/promises";
import type {PrivateKey} from "@libp2p/interface";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import {toHex} from "../../hotpath/bytes.js";
import {SLASHING_DB_DIR, SlashingProtection} from "../../storage/slashing/slashingProtection.js";
import type {Logger} from "../../util/logger.js";
import type {BlsPool} from "../../workers/blsPool.js";
import {BeaconNode} from "./beacon/beaconNode.js";
import type {BeaconSet} from "./beacon/beaconSet.js";
import {redactUrl} from "./beacon/beaconUrl.js";
import {type AggregationResult, AggregatorService} from "./duties/aggregator/aggregatorService.js";
import {AttesterService, type DutyResult} from "./duties/attester/attesterService.js";
import {type RecovererMode, Recoverers} from "./exchange/recoverers.js";
import {type RegistrationResult, RegistrationService} from "./duties/builder/registrationService.js";
import {type PreparationResult, ProposerPreparation} from "./duties/proposer/proposerPreparation.js";
import {type ProposalResult, ProposerService} from "./duties/proposer/proposerService.js";
import {SHARE_CACHE_FILE} from "./signing/shareCache.js";
import {type ShareKey, loadShareKeys} from "./signing/shareKeys.js";
import {shareLoadLog} from "./signing/shareLoadProgress.js";
import {Signer} from "./signing/signer.js";
import {type PartialDropReason, SignatureExchange} from "./exchange/signatureExchange.js";
import {type SyncMessageResult, SyncCommitteeService} from "./duties/sync/syncCommitteeService.js";
import {type SyncContributionResult, SyncContributionService} from "./duties/sync/syncContributionService.js";
import {SyncDuties} from "./duties/sync/syncDuties.js";
import type {ClusterTransport} from "./clusterTransport.js";
import {type InclusionResult, InclusionChecker} from "./tracking/inclusionChecker.js";
import {DecidedValues} from "./consensus/decidedValues.js";
import {type QbftEvents, QbftDriver} from "./consensus/driver.js";
import {ed25519QbftCrypto} from "./consensus/ed25519Crypto.js";
import type {HeadGuard} from "./verifiedChain/headGuard.js";
import {ExitService, type ExitResult, type PartialExitResult} from "./duties/exit/exitService.js";
import {
  DoppelgangerGuard,
  type DoppelgangerOptions,
  type DoppelgangerState,
  type DoppelgangerStatus,
  noDoppelgangerCounts,
} from "./signing/doppelganger.js";
import {SigningTerm} from "./signing/signingTerm.js";

/** How often a node retries a beacon node that is not answering (or not the right chain) before duties start. */
const BEACON_RETRY_MS = 2000;

export type AnyDutyResult =
  | DutyResult
  | ProposalResult
  | AggregationResult
  | SyncMessageResult
  | SyncContributionResult
  | ExitResult
  | RegistrationResult;

export interface ValidatorRoleOptions {
  lock: ClusterLock;
  self: number;
  nodeDir: string;
  dataDir: string;
  beaconUrls: string[];
  privateKey: PrivateKey;
  transport: ClusterTransport;
  pool: BlsPool;
  logger: Logger;
  onResult(r: AnyDutyResult): void;
  /** What the chain says, a few slots later, about each submitted attestation. */
  onInclusion?(r: InclusionResult): void;
  /** Each epoch's telling of the lock's fee recipients to the beacon nodes. */
  onPreparation?(r: PreparationResult): void;
  /** A slashing-protection commit LMDB refused and that was tried again (a metric in the node). */
  onSlashingCommitRetry?(): void;
  qbftEvents?: QbftEvents;
  /** What became of each partial exit signed or heard (a metric in the node). */
  onPartialExit?(result: PartialExitResult): void;
  /** Partial exits signed or heard before a restart, oldest first (the node reads them from its series). */
  storedExits?(): {origin: number; payload: Uint8Array}[];
  /** Partial signatures dropped before collection (signatureExchange.ts says why): a metric in the node. */
  onPartialsDropped?(reason: PartialDropReason, count: number): void;
  /**
   * Share keys already in memory (benchmarks split 1024 keys in memory: their 4096 EIP-2335 KDF runs would
   * take minutes); by default they are decrypted from the node dir's keystores at start.
   */
  shares?: ShareKey[];
  /** The node runtime's beacon set (shared with readiness and status); without it the client makes its own from `beaconUrls`. */
  beaconSet?: BeaconSet;
  /** An already connected beacon client (tests inject a faulty one); by default one is connected to `beaconUrls`. */
  beacon?: BeaconNode;
  /**
   * Doppelganger protection (signing/doppelganger.ts): `r3dv run` turns it on unless `--doppelganger off`. Absent,
   * as in component tests of the duties, the validators sign from the start.
   */
  doppelganger?: Pick<DoppelgangerOptions, "enabled" | "clusterSigned" | "onChange">;
  /**
   * The builder API (`r3dv run --builder on`): each validator's builder registration is threshold-signed and sent
   * to the beacon nodes every epoch (duties/builder/registrationService.ts), and blocks are asked for through the
   * builder, its bid weighted by `boostFactor` percent (duties/proposer/proposerService.ts). Off (absent) by
   * default, as in Lodestar's validator client: a beacon node without a builder has nowhere to send them.
   */
  builder?: {boostFactor: bigint};
  /** `--verify enforce`: the heads this node verified, the only ones its duties sign for (verifiedChain/). */
  headGuard?: HeadGuard;
  /** `--recoverers`: which nodes recover and submit each attestation (exchange/recoverers.ts); absent, all. */
  recoverers?: RecovererMode;
}

/**
 * The validator role: every duty of the cluster's validators, from the beacon node's schedule to the submitted
 * signature, wired here from the pipeline's steps (one folder each: schedule, beacon, consensus, signing,
 * exchange, duties, tracking). Owns the slashing-protection DB (the only thing here that writes to disk) and
 * the QBFT driver all duties share.
 */
export class ValidatorRole {
  private beacon: BeaconNode | null = null;
  private slashing: SlashingProtection | null = null;
  private driver: QbftDriver | null = null;
  private exchange: SignatureExchange | null = null;
  private attester: AttesterService | null = null;
  private proposer: ProposerService | null = null;
  private preparation: ProposerPreparation | null = null;
  private registrations: RegistrationService | null = null;
  private aggregator: AggregatorService | null = null;
  private syncMessages: SyncCommitteeService | null = null;
  private syncContributions: SyncContributionService | null = null;
  private exitService: ExitService | null = null;
  private doppelganger: DoppelgangerGuard | null = null;
  private term: SigningTerm | null = null;
  private running = false;
  /** The background connect-and-start (see start); stop waits for it, so nothing it opens outlives the stop. */
  private connecting: Promise<void> | null = null;
  /** Cuts the wait between connect attempts short when the node stops. */
  private readonly stopping = new AbortController();

  constructor(private readonly o: ValidatorRoleOptions) {}

  get beaconNode(): BeaconNode | null {
    return this.beacon;
  }

  /** Voluntary exits (`r3dv exit`); null until the duties have started (the beacon node answered). */
  get exits(): ExitService | null {
    return this.exitService;
  }

  /** The epochs this node signs in for its lock (`r3dv retire` ends it); null before start. */
  get signingTerm(): SigningTerm | null {
    return this.term;
  }

  /** Validators per doppelganger protection state (all zero until the duties have started). */
  doppelgangerCounts(): Record<DoppelgangerState, number> {
    return this.doppelganger?.counts() ?? noDoppelgangerCounts();
  }

  /** The first `limit` validators doppelganger protection keeps from signing; empty until the duties have started. */
  doppelgangerNotSigning(limit: number): DoppelgangerStatus[] {
    return this.doppelganger?.notSigning(limit) ?? [];
  }

  /**
   * Loads this node's key shares (a wrong password or a foreign node dir stops the node here, at start), then
   * connects to the beacon node in the background, retrying until it answers: a node must come up, join its
   * peers and report not-ready while its beacon node is still starting.
   */
  async start(): Promise<void> {
    // Before any key is loaded: a retirement the node cannot read stops it here.
    this.term = await SigningTerm.load(this.o.lock, this.o.dataDir);
    const shares =
      this.o.shares ??
      (await loadShareKeys(this.o.lock, this.o.nodeDir, this.o.self, {
        cacheFile: join(this.o.dataDir, SHARE_CACHE_FILE),
        events: shareLoadLog(this.o.logger),
      }));
    this.running = true;
    if (this.o.beacon) return this.run(this.o.beacon, shares);
    this.connecting = this.connectLoop(shares);
  }

  private async connectLoop(shares: ShareKey[]): Promise<void> {
    while (this.running) {
      try {
        await this.run(await BeaconNode.connect(this.o.beaconSet ?? this.o.beaconUrls), shares);
        return;
      } catch (e) {
        await this.stopServices();
        if (!this.running) return;
        this.o.logger.warn(
          "validator duties wait for the beacon node",
          {beacons: this.o.beaconSet?.labels ?? this.o.beaconUrls.map(redactUrl), retryMs: BEACON_RETRY_MS},
          e,
        );
        await sleep(BEACON_RETRY_MS, undefined, {signal: this.stopping.signal}).catch(() => undefined);
      }
    }
  }

  private async run(beacon: BeaconNode, shares: ShareKey[]): Promise<void> {
    const {lock, self, logger} = this.o;
    // A stop that lands while the beacon node was answering: start nothing (stop has already run).
    if (!this.running) return beacon.close();
    this.beacon = beacon;
    const slashing = SlashingProtection.open(join(this.o.dataDir, SLASHING_DB_DIR), {
      commitRetried: (attempt, e) => {
        logger.warn("slashing protection commit refused by LMDB, trying again", {attempt}, e);
        this.o.onSlashingCommitRetry?.();
      },
    });
    this.slashing = slashing;
    await slashing.ensureGenesisValidatorsRoot(toHex(beacon.genesisValidatorsRoot));
    const n = lock.operators.length;
    const crypto = ed25519QbftCrypto(
      this.o.privateKey,
      lock.operators.map((op) => op.peer_id),
    );
    const driver = new QbftDriver(
      this.o.transport,
      {crypto, n, self},
      (id) =>
        this.attester?.instanceConfig(id) ??
        this.proposer?.instanceConfig(id) ??
        this.aggregator?.instanceConfig(id) ??
        this.syncMessages?.instanceConfig(id) ??
        this.syncContributions?.instanceConfig(id),
      logger,
      this.o.qbftEvents,
    );
    this.driver = driver;
    const guard = this.o.doppelganger
      ? new DoppelgangerGuard({
          ...this.o.doppelganger,
          self,
          threshold: lock.threshold,
          pubkeys: shares.map((s) => s.pubkey),
          clock: beacon.clock,
          validatorIndices: (pubkeys) => beacon.validatorIndices(pubkeys),
          liveness: (epoch, indices) => beacon.liveness(epoch, indices),
          logger,
          signsFromEpoch: this.term?.fromEpoch,
        })
      : null;
    this.doppelganger = guard;
    // The Signer alone keeps the share secrets; the duties see the public halves.
    const term = this.term ?? undefined;
    const signer = new Signer(shares, slashing, (pubkey) => guard?.refusal(pubkey), this.o.pool, term);
    const publicShares = signer.publicShares();
    const exchange = new SignatureExchange(
      this.o.transport,
      signer,
      this.o.pool,
      lock.threshold,
      new Set([
        "attester",
        "randao",
        "proposer",
        "selection",
        "aggregate",
        "sync_message",
        "sync_selection",
        "sync_contribution",
        "builder_registration",
      ]),
      (s) => Math.abs(s - beacon.clock.currentSlot()) <= 2,
      {
        validators: new Set(shares.map((s) => s.pubkey)),
        onDropped: (reason, _origin, count) => this.o.onPartialsDropped?.(reason, count),
      },
    );
    this.exchange = exchange;
    const decided = new DecidedValues();
    const common = {
      beacon,
      driver,
      decided,
      shares: publicShares,
      n,
      logger,
      term,
      ...(this.o.headGuard ? {headGuard: this.o.headGuard} : {}),
    };
    this.aggregator = new AggregatorService({
      ...common,
      exchange,
      onResult: this.o.onResult,
      dutiesAt: (slot) => this.attester?.dutiesAt(slot),
    });
    const syncDuties = new SyncDuties(
      beacon,
      shares.map((s) => s.pubkey),
      logger,
    );
    this.syncContributions = new SyncContributionService({
      ...common,
      exchange,
      duties: syncDuties,
      onResult: this.o.onResult,
    });
    this.syncMessages = new SyncCommitteeService({
      ...common,
      exchange,
      duties: syncDuties,
      onResult: this.o.onResult,
    });
    this.attester = new AttesterService({
      ...common,
      exchange,
      onResult: this.o.onResult,
      ...(this.o.onInclusion ? {inclusion: new InclusionChecker(beacon, this.o.onInclusion, logger)} : {}),
      recoverers: new Recoverers(this.o.recoverers ?? "all", n, lock.threshold, self),
    });
    const feeRecipients = new Map(lock.validators.map((v) => [v.pubkey.toLowerCase(), v.fee_recipient.toLowerCase()]));
    this.preparation = new ProposerPreparation({beacon, feeRecipients, logger, onResult: this.o.onPreparation});
    this.proposer = new ProposerService({
      ...common,
      exchange,
      feeRecipients,
      onResult: this.o.onResult,
      ...(this.o.builder ? {builder: this.o.builder} : {}),
    });
    this.registrations = this.o.builder
      ? new RegistrationService({
          beacon,
          exchange,
          shares: publicShares,
          feeRecipients,
          gasLimits: new Map(
            lock.validators.flatMap((v) => (v.gas_limit === undefined ? [] : [[v.pubkey.toLowerCase(), v.gas_limit]])),
          ),
          n,
          logger,
          onResult: this.o.onResult,
        })
      : null;
    this.exitService = new ExitService({
      beacon,
      transport: this.o.transport,
      signer,
      shares: publicShares,
      threshold: lock.threshold,
      n,
      logger,
      onResult: this.o.onResult,
      ...(this.o.onPartialExit ? {onPartial: this.o.onPartialExit} : {}),
      stored: this.o.storedExits?.() ?? [],
    });
    guard?.start();
    this.exitService.start();
    this.preparation.start();
    this.registrations?.start();
    await this.attester.start();
    this.proposer.start();
    this.aggregator.start();
    this.syncMessages.start();
    this.syncContributions.start();
    logger.info("validator duties started", {
      beacons: beacon.urls,
      validators: shares.length,
      genesisTime: beacon.clock.genesisTime,
      slotMs: beacon.clock.slotMs,
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    // A connect in flight finishes (its beacon requests have timeouts) and may have started the duties by
    // then: stopping only after it is what keeps a SIGTERM sent during start from leaving duty timers running.
    await this.connecting?.catch(() => undefined);
    await this.stopServices();
    this.beacon?.close();
  }

  private async stopServices(): Promise<void> {
    this.attester?.stop();
    this.proposer?.stop();
    this.preparation?.stop();
    this.registrations?.stop();
    this.aggregator?.stop();
    this.syncMessages?.stop();
    this.syncContributions?.stop();
    this.exitService?.stop();
    this.doppelganger?.stop();
    this.exchange?.stop();
    this.driver?.stop();
    const slashing = this.slashing;
    this.attester = this.proposer = this.aggregator = null;
    this.preparation = null;
    this.registrations = null;
    this.syncMessages = this.syncContributions = null;
    this.exitService = null;
    this.doppelganger = null;
    this.exchange = null;
    this.driver = null;
    this.slashing = null;
    await slashing?.close();
  }
}
