import {type Chunk, DURABLE_KINDS} from "../../hotpath/chunk.js";
import {onNextTurn} from "../../util/nextTurn.js";
import type {ChunkSource, Reply, StoreComponents} from "./components.js";
import {InboundQueue, type Queued} from "./inboundQueue.js";
import {PEER_BYTES_PER_SEC} from "./peerBudget.js";

/** Queue bound in items: ~2 s of one peer's full chunk rate; beyond that, waiting only makes a chunk late for its duty. */
export const INBOUND_QUEUE_CAPACITY = 4096;
/**
 * Queue bound in bytes: 4 s of one peer's full byte budget. Items alone let 4096 chunks of 1 MiB (4 GiB) wait;
 * a flood beyond this is dropped lowest priority and busiest peer first, so a current-duty chunk keeps its place.
 */
export const INBOUND_QUEUE_BYTES = 4 * PEER_BYTES_PER_SEC;
/** Series writes in flight: enough for lmdb-js to batch hundreds per commit, few enough that priority still orders them. */
export const MAX_IN_FLIGHT = 256;

/** An admitted chunk waiting for its series write. */
export interface Inbound {
  /** performance.now() when it entered the queue. */
  t: number;
  encoded: Uint8Array;
  chunk: Chunk;
  id: Uint8Array;
  reply: Reply;
  source: ChunkSource;
}

/**
 * Admitted chunks into the series: the bounded priority queue they wait in, at most MAX_IN_FLIGHT writes at
 * a time, highest priority first, then their answer, their slot's provider record and the listeners.
 */
export class WritePump {
  private readonly queue = new InboundQueue<Inbound>(INBOUND_QUEUE_CAPACITY, INBOUND_QUEUE_BYTES);
  private inFlight = 0;
  private readonly schedule = onNextTurn(() => this.pump());
  private readonly listeners = new Set<(chunk: Chunk) => void>();

  constructor(private readonly c: StoreComponents) {}

  get writesInFlight(): number {
    return this.inFlight;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get queueBytes(): number {
    return this.queue.bytes;
  }

  /** Queues an admitted chunk for its write; returns what the queue's bounds dropped for it (to be refused). */
  enqueue(q: Queued<Inbound>): Queued<Inbound>[] {
    const dropped = this.queue.push(q);
    this.c.metrics?.queueDepth.set(this.queue.length);
    this.schedule();
    return dropped;
  }

  /**
   * Hear every chunk a peer pushed once it is admitted and in the series: the duty layer acts only on what
   * the node has recorded. Returns the unsubscribe function.
   */
  onChunk(listener: (chunk: Chunk) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stores queued chunks, highest priority first; all writes of one turn share one LMDB commit. */
  private pump(): void {
    const {series, metrics, logger, stats, providers} = this.c;
    while (this.inFlight < MAX_IN_FLIGHT) {
      const q = this.queue.shift();
      if (!q) break;
      const {encoded, chunk, id, reply, t, source} = q.item;
      if (series.hasChunk(id)) {
        reply({status: "duplicate"});
        continue;
      }
      const w = performance.now();
      metrics?.admission.observe({stage: "queue"}, (w - t) / 1000);
      this.inFlight++;
      const durable = DURABLE_KINDS.has(chunk.kind);
      const entry = source === "fetch" ? "chunk_fetched" : "chunk_accepted";
      series
        .appendChunk(entry, q.peer, encoded, durable && source === "push" ? "committed" : "batched")
        .then(
          () => {
            metrics?.admission.observe({stage: "write"}, (performance.now() - w) / 1000);
            stats.accepted++;
            metrics?.chunksAccepted.inc({kind: chunk.kind});
            reply({status: "accepted"});
            if (durable) providers.announce(chunk.slot);
            // Catch-up fills history; the duty layer hears only what peers push for the duties at hand.
            if (source === "push") this.notify(chunk);
          },
          (e: unknown) => {
            metrics?.seriesErrors.inc();
            logger.error("series write failed", {kind: chunk.kind}, e);
            reply({status: "refused", limiter: "economic", reason: "write_failed"});
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
    metrics?.queueDepth.set(this.queue.length);
  }

  private notify(chunk: Chunk): void {
    for (const l of this.listeners) {
      try {
        l(chunk);
      } catch (e) {
        this.c.logger.error("chunk listener failed", {kind: chunk.kind, slot: chunk.slot, origin: chunk.origin}, e);
      }
    }
  }
}
