import type {ClusterPeer} from "../dht/dhtRole.js";
import {CATCHUP_MAX_SLOTS, type FetchRequest} from "./fetchServer.js";
import type {StoreComponents} from "./components.js";
import type {FetchResult} from "./fetchClient.js";

/**
 * Provider lookups of a catch-up in flight at once: a 100-slot gap (CATCHUP_MAX_SLOTS) is looked up in a few
 * rounds of lookups instead of 100 in a row, without 100 concurrent DHT queries on a node that just started.
 */
const CATCHUP_LOOKUPS_IN_FLIGHT = 4;
/** One provider lookup's time limit: a small cluster's DHT answers in a few round trips, a loaded machine in seconds. */
const CATCHUP_LOOKUP_MS = 3000;
/**
 * A catch-up whose every fetch failed is tried again after this, doubling with each failure in a row up to
 * CATCHUP_RETRY_MAX_MS: a peer busy or restarting answers in seconds, and one that keeps failing is not asked
 * (and warned about) every 2 s for as long as it lasts.
 */
const CATCHUP_RETRY_MS = 2000;
/** At most this long between tries: the outage's chunks still arrive within a minute of a peer answering again. */
const CATCHUP_RETRY_MAX_MS = 60_000;

/** The store's own options it needs, and the store's fetch. */
export type CatchUpOptions = Pick<StoreComponents, "lock" | "dht" | "series" | "currentSlot" | "logger"> & {
  /** One peer's answer for a range, through the push path's admission: how many chunks were new, how many refused. */
  fetch(p: ClusterPeer, req: FetchRequest): Promise<Pick<FetchResult, "added" | "retryable">>;
};

/** What the last catch-up did, for `r3dv status`. */
export type CatchUpReport = {
  fromSlot: number;
  toSlot: number;
  peers: number[];
  added: number;
  viaDht: boolean;
  at: string;
};

/**
 * After a restart or an isolation: the durable chunks of the slots this node was away for. Providers come from
 * the DHT's records for those slots; when the DHT knows none yet, every connected peer is asked. One catch-up
 * runs at a time, and one that no peer answered is tried again (its range stays open).
 */
export class CatchUp {
  /** The first slot not yet caught up: the range a catch-up asks for starts here. */
  private from: number;
  private running: Promise<number> | null = null;
  private retry: NodeJS.Timeout | undefined;
  /** Catch-ups in a row that no peer answered: the next retry waits longer (CATCHUP_RETRY_MS doubling). */
  private failures = 0;
  private stopped = false;
  /** Chunks the tries of the range still open added so far. */
  private openAdded = 0;
  last: CatchUpReport | undefined;

  constructor(private readonly o: CatchUpOptions) {
    this.from = o.series.views.lastChunkSlot;
  }

  /** Cut off from every peer: what the cluster does from now on must be fetched when a peer is back. */
  cutOff(): void {
    this.from = this.o.currentSlot() ?? this.o.series.views.lastChunkSlot;
  }

  /** One catch-up at a time, after `delayMs`; its failure is logged, never thrown. */
  start(delayMs: number): void {
    if (this.running || this.stopped) return;
    this.running = new Promise<void>((r) => setTimeout(r, delayMs))
      .then(() => this.run())
      .catch((e: unknown) => {
        this.o.logger.warn("catch-up failed", {}, e);
        return 0;
      })
      .finally(() => (this.running = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running?.catch(() => undefined);
  }

  /** Fetches the open range from its providers now; resolves with how many chunks were new. */
  async run(): Promise<number> {
    const {dht, lock, logger} = this.o;
    const to = this.o.currentSlot();
    // The store starts before the beacon node has told the time: a catch-up then would end at this node's own
    // last chunk, count as done, and never fetch the outage (CI's crash test lost its missed chunks that way).
    if (to === undefined) {
      logger.info("catch-up waits for the slot clock", {retryMs: CATCHUP_RETRY_MS});
      this.retryLater(CATCHUP_RETRY_MS);
      return 0;
    }
    const from = Math.max(this.from, to - CATCHUP_MAX_SLOTS + 1, 0);
    const providers = new Map<number, ClusterPeer>();
    // A peer enters the routing table a moment after it connects (identify, then kad's topology): give it 2 s.
    for (let i = 0; i < 20 && dht.routingTableSize() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    // Every slot of the gap may hold the only durable chunks of the outage: each is looked up, newest first,
    // until every connected peer is known to provide (no lookup can add a target then).
    const slots = Array.from({length: Math.max(0, to - from + 1)}, (_, k) => to - k);
    const connected = dht.connected().length;
    const lookups = async () => {
      // A stopping node ends its catch-up after the lookup in flight: a 100-slot gap of lookups that time out
      // (CATCHUP_LOOKUP_MS each) would hold its shutdown for over a minute.
      for (
        let slot = slots.shift();
        slot !== undefined && providers.size < connected && !this.stopped;
        slot = slots.shift()
      ) {
        for (const p of await dht.findProviders(lock.lock_hash, slot, CATCHUP_LOOKUP_MS))
          if (p.connected) providers.set(p.index, p);
      }
    };
    // A few loops share the queue (p-limit would be a dependency for these lines).
    await Promise.all(Array.from({length: CATCHUP_LOOKUPS_IN_FLIGHT}, lookups));
    const targets = providers.size > 0 ? [...providers.values()] : dht.connected();
    let added = 0;
    let answered = 0;
    let retryable = 0;
    for (const p of targets) {
      if (this.stopped) break;
      try {
        const r = await this.o.fetch(p, {fromSlot: from, toSlot: to, durableOnly: true});
        added += r.added;
        retryable += r.retryable;
        answered++;
      } catch (e) {
        logger.warn("catch-up fetch failed", {peer: p.index, fromSlot: from, toSlot: to}, e);
      }
    }
    // A chunk refused unread (over budget, queue full) may be the only copy of the outage's: the range stays
    // open and is fetched again (CI's crash test lost 1 of 20 missed chunks to the fetch budget this way).
    if (answered > 0 && retryable > 0) {
      this.failures++;
      logger.info("catch-up met refusals a later fetch may pass; trying again", {
        retryable,
        fromSlot: from,
        toSlot: to,
      });
      this.retryLater();
    } else if (answered > 0) {
      this.from = Math.max(this.from, to);
      this.failures = 0;
    } else if (targets.length > 0) {
      this.failures++;
      this.retryLater();
    }
    // What the tries of one open range added in all: the report is of the outage, not of its last try.
    this.openAdded += added;
    this.last = {
      fromSlot: from,
      toSlot: to,
      peers: targets.map((p) => p.index),
      added: this.openAdded,
      viaDht: providers.size > 0,
      at: new Date().toISOString(),
    };
    if (answered > 0 && retryable === 0) this.openAdded = 0;
    logger.info("catch-up done", this.last);
    return added;
  }

  /**
   * A catch-up none of whose peers answered (or that had no clock yet) is tried again: with a peer connected no
   * new catch-up starts on its own, so the chunks of the outage would otherwise never be fetched.
   */
  private retryLater(
    delay = Math.min(CATCHUP_RETRY_MAX_MS, CATCHUP_RETRY_MS * 2 ** Math.max(0, this.failures - 1)),
  ): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) this.start(0);
    }, delay);
  }
}
