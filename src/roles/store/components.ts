import type {PrivateKey} from "@libp2p/interface";
import type {Metrics} from "../../api/metrics.js";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import type {Series} from "../../storage/series.js";
import type {Logger} from "../../util/logger.js";
import type {DhtRole} from "../dht/dhtRole.js";
import type {PeerBudgets} from "./peerBudget.js";
import type {ProviderRecords} from "./providerRecords.js";
import type {PushAnswer} from "./pushWire.js";

export interface StoreRoleOptions {
  lock: ClusterLock;
  self: number;
  privateKey: PrivateKey;
  series: Series;
  dht: DhtRole;
  budgetBytes: number;
  /** Peers that must accept a durable chunk before it counts as replicated. */
  replication: number;
  /** Chunk rate per peer (chunks/s); the burst is a quarter second of it, and the byte budget scales with it. */
  peerRate?: number;
  currentSlot: () => number | undefined;
  /** A fetch's overall deadline (fetchClient.ts's FETCH_DEADLINE_MS unless set; tests shorten it). */
  fetchDeadlineMs?: number;
  /** Most chunks one fetch answer may carry (FETCH_MAX_CHUNKS unless set; tests lower it). */
  fetchMaxChunks?: number;
  metrics?: Metrics;
  logger: Logger;
}

/** Pushed by a peer, or pulled by this node's catch-up: the same admission, recorded as different entries. */
export type ChunkSource = "push" | "fetch";

/** Where a chunk's answer goes: back on the pusher's stream, or to the fetch that pulled it. */
export type Reply = (a: PushAnswer) => void;

/** Chunks by what became of them, since start: `r3dv status` shows them. */
export interface StoreStats {
  received: number;
  accepted: number;
  duplicate: number;
  refused: number;
  fetched: number;
}

/**
 * What the store's services share, in one object given to each constructor (as js-libp2p gives its services
 * their components): the node's identity, lock, series and DHT role, its metrics and logger, and the state
 * more than one service reads or writes (counters, peer budgets, provider records). A service's own settings
 * come as a second argument.
 */
export interface StoreComponents {
  readonly lock: ClusterLock;
  /** The lock hash as bytes: every chunk's signature covers it. */
  readonly lockHash: Uint8Array;
  readonly self: number;
  readonly privateKey: PrivateKey;
  readonly series: Series;
  readonly dht: DhtRole;
  readonly currentSlot: () => number | undefined;
  readonly metrics?: Metrics;
  readonly logger: Logger;
  readonly stats: StoreStats;
  /** Admission spends them, the push server pauses on them, a fetch waits for them. */
  readonly budgets: PeerBudgets;
  /** Both the write pump (a stored durable chunk) and publishing announce a slot. */
  readonly providers: ProviderRecords;
}
