import {join} from "node:path";
import type {PrivateKey} from "@libp2p/interface";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import {toHex} from "../../hotpath/bytes.js";
import {SLASHING_DB_DIR, SlashingProtection} from "../../storage/slashing/slashingProtection.js";
import type {Logger} from "../../util/logger.js";
import type {BlsPool} from "../../workers/blsPool.js";
import {BeaconNode} from "./beacon/beaconNode.js";
import {type AggregationResult, AggregatorService} from "./duties/aggregatorService.js";
import {AttesterService, type DutyResult} from "./duties/attesterService.js";
import {type ProposalResult, ProposerService} from "./duties/proposerService.js";
import {loadShareKeys} from "./duties/shareKeys.js";
import {SignatureExchange} from "./duties/signatureExchange.js";
import type {ClusterTransport} from "./duties/transport.js";
import {type QbftEvents, QbftDriver} from "./qbft/driver.js";
import {ed25519QbftCrypto} from "./qbft/ed25519Crypto.js";

export type AnyDutyResult = DutyResult | ProposalResult | AggregationResult;

export interface EvmRoleOptions {
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
  qbftEvents?: QbftEvents;
  /** An already connected beacon client (tests inject a faulty one); by default one is connected to `beaconUrls`. */
  beacon?: BeaconNode;
}

/**
 * The EVM role's validator half: every duty of the cluster's validators, from the beacon node's schedule to
 * the submitted signature. Owns the slashing-protection DB (the only thing here that writes to disk) and
 * the QBFT driver all duties share.
 */
export class EvmRole {
  private beacon: BeaconNode | null = null;
  private slashing: SlashingProtection | null = null;
  private driver: QbftDriver | null = null;
  private exchange: SignatureExchange | null = null;
  private attester: AttesterService | null = null;
  private proposer: ProposerService | null = null;
  private aggregator: AggregatorService | null = null;

  constructor(private readonly o: EvmRoleOptions) {}

  get beaconNode(): BeaconNode | null {
    return this.beacon;
  }

  async start(): Promise<void> {
    const {lock, self, logger} = this.o;
    const shares = await loadShareKeys(lock, this.o.nodeDir, self);
    const beacon = this.o.beacon ?? (await BeaconNode.connect(this.o.beaconUrls));
    this.beacon = beacon;
    const slashing = SlashingProtection.open(join(this.o.dataDir, SLASHING_DB_DIR));
    this.slashing = slashing;
    await slashing.ensureGenesisValidatorsRoot(toHex(beacon.genesisValidatorsRoot));
    const n = lock.operators.length;
    const crypto = ed25519QbftCrypto(this.o.privateKey, lock.operators.map((op) => op.peer_id));
    const driver = new QbftDriver(
      this.o.transport,
      {crypto, n, self},
      (id) => this.attester?.instanceConfig(id) ?? this.proposer?.instanceConfig(id) ?? this.aggregator?.instanceConfig(id),
      logger,
      this.o.qbftEvents,
    );
    this.driver = driver;
    const exchange = new SignatureExchange(this.o.transport, this.o.pool, lock.threshold, new Set(["randao", "proposer", "selection", "aggregate"]), (s) => Math.abs(s - beacon.currentSlot()) <= 2);
    this.exchange = exchange;
    const common = {beacon, driver, shares, n, logger};
    this.aggregator = new AggregatorService({...common, exchange, onResult: this.o.onResult});
    this.attester = new AttesterService({
      ...common,
      transport: this.o.transport,
      slashing,
      pool: this.o.pool,
      threshold: lock.threshold,
      onResult: this.o.onResult,
      onDecided: (slot, data, duties) => this.aggregator?.onAttestationDecided(slot, data, duties),
    });
    this.proposer = new ProposerService({...common, exchange, slashing, onResult: this.o.onResult});
    await this.attester.start();
    this.proposer.start();
  }

  async stop(): Promise<void> {
    this.attester?.stop();
    this.proposer?.stop();
    this.aggregator?.stop();
    this.exchange?.stop();
    this.driver?.stop();
    const slashing = this.slashing;
    this.slashing = null;
    await slashing?.close();
  }
}
