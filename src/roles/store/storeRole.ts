import {fromHex} from "../../hotpath/bytes.js";
import type {Chunk, ChunkKind} from "../../hotpath/chunk.js";
import type {Admission as LimiterAdmission} from "../../hotpath/limiters.js";
import {jsonBody} from "../../storage/entry.js";
import type {ClusterPeer} from "../dht/dhtRole.js";
import {Admission} from "./admission.js";
import type {CatchUp} from "./catchUp.js";
import type {StoreComponents, StoreRoleOptions, StoreStats} from "./components.js";
import {FetchService} from "./fetchService.js";
import type {FetchRequest} from "./fetchServer.js";
import {PeerBudgets} from "./peerBudget.js";
import {ProviderRecords} from "./providerRecords.js";
import {PushServer} from "./pushServer.js";
import {Refusals} from "./refusals.js";
import {type PublishResult, Replication} from "./replication.js";
import {WritePump} from "./writePump.js";

export type {ChunkSource, StoreRoleOptions} from "./components.js";
export type {PublishResult} from "./replication.js";
export {VERIFY_BACKLOG_BYTES, VERIFY_SLICE_MS} from "./verifyBacklog.js";
export {INBOUND_QUEUE_BYTES, INBOUND_QUEUE_CAPACITY, MAX_IN_FLIGHT} from "./writePump.js";

/**
 * The store role: chunks in (push server, admission, write pump), this node's own chunks out (replication),
 * and chunks by request (fetch and catch-up). Each is a service of its own in this folder; this class builds
 * the components they share, wires them, and is the face the node runtime and the tests use.
 */
export class StoreRole {
  readonly stats: StoreStats = {received: 0, accepted: 0, duplicate: 0, refused: 0, fetched: 0};
  /** Fetching what this node missed while it was cut off from every peer. */
  readonly catchUps: CatchUp;
  /** One chunk through admission (admission.ts): the way in of a push and of a fetched chunk. */
  readonly receive: Admission["receive"];
  private readonly c: StoreComponents;
  private readonly refusals: Refusals;
  private readonly pump: WritePump;
  private readonly admission: Admission;
  private readonly pushServer: PushServer;
  private readonly replication: Replication;
  private readonly fetching: FetchService;

  constructor(opts: StoreRoleOptions) {
    const {lock, self, privateKey, series, dht, currentSlot, metrics, logger} = opts;
    this.c = {
      lock,
      lockHash: fromHex(lock.lock_hash),
      self,
      privateKey,
      series,
      dht,
      currentSlot,
      metrics,
      logger,
      stats: this.stats,
      budgets: new PeerBudgets(opts.peerRate),
      providers: new ProviderRecords(dht, lock.lock_hash),
    };
    this.refusals = new Refusals(this.c);
    this.pump = new WritePump(this.c);
    this.admission = new Admission(this.c, {budgetBytes: opts.budgetBytes, refusals: this.refusals, pump: this.pump});
    this.pushServer = new PushServer(this.c, this.admission);
    this.replication = new Replication(this.c, {replication: opts.replication});
    this.fetching = new FetchService(this.c, {
      admission: this.admission,
      fetchDeadlineMs: opts.fetchDeadlineMs,
      fetchMaxChunks: opts.fetchMaxChunks,
    });
    this.catchUps = this.fetching.catchUps;
    this.receive = (...args) => this.admission.receive(...args);
  }

  async start(): Promise<void> {
    await this.pushServer.start();
    await this.fetching.start();
    // Peer events in one place, in this order: the series records the event, then each service reacts.
    const {dht, series} = this.c;
    const record = (p: ClusterPeer, event: "connected" | "disconnected") =>
      void series.append("peer_event", jsonBody({peer: p.index, event}), "batched");
    dht.onPeer("connect", (p) => {
      record(p, "connected");
      this.replication.peerConnected(p);
      this.fetching.peerConnected(p);
    });
    dht.onPeer("disconnect", (p) => {
      this.replication.peerDisconnected(p);
      this.fetching.peerDisconnected();
      record(p, "disconnected");
    });
    this.refusals.start();
  }

  async stop(): Promise<void> {
    this.refusals.stop();
    this.replication.stop();
    await this.fetching.stop();
  }

  /** Whether this node holds a live connection to operator `peer`. */
  isConnected(peer: number): boolean {
    return this.c.dht.byIndex(peer)?.connected === true;
  }

  get writesInFlight(): number {
    return this.pump.writesInFlight;
  }

  get queueDepth(): number {
    return this.pump.queueDepth;
  }

  get queueBytes(): number {
    return this.pump.queueBytes;
  }

  /** The four limiters on this node's derived state. */
  evaluate(c: Pick<Chunk, "kind" | "slot" | "origin">): LimiterAdmission {
    return this.admission.evaluate(c);
  }

  /** Hear every chunk a peer pushed once it is in the series (writePump.ts). Returns the unsubscribe function. */
  onChunk(listener: (chunk: Chunk) => void): () => void {
    return this.pump.onChunk(listener);
  }

  /** Signs a chunk with this node's identity, records it, and pushes it to every connected peer. */
  publish(kind: ChunkKind, payload: Uint8Array, slot?: number): Promise<PublishResult> {
    return this.replication.publish(kind, payload, slot);
  }

  /** Asks one peer for chunks, through the push path's admission; how many were new. */
  fetchFrom(p: ClusterPeer, req: FetchRequest): Promise<number> {
    return this.fetching.fetchFrom(p, req);
  }
}
