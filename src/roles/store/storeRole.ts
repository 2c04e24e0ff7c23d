import type {Connection, PrivateKey, Stream} from "@libp2p/interface";
import type {Metrics} from "../../api/metrics.js";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import {fromHex, toHex} from "../../hotpath/bytes.js";
import {CHUNK_KINDS, type Chunk, type ChunkKind, DURABLE_KINDS, chunkId, decodeChunk, encodeChunk, signingBytes} from "../../hotpath/chunk.js";
import {FrameDecoder, frame} from "../../hotpath/frames.js";
import {type Admission, evaluateLimiters, weakestLimiter} from "../../hotpath/limiters.js";
import {TokenBucket} from "../../hotpath/tokenBucket.js";
import {jsonBody} from "../../storage/entry.js";
import type {Series} from "../../storage/series.js";
import {ethBlocksInEpoch, type RefusedEntryBody} from "../../storage/views.js";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterPeer, DhtRole} from "../dht/dhtRole.js";
import {InboundQueue} from "./inboundQueue.js";
import {PushChannel} from "./pushClient.js";
import {FETCH_PROTOCOL, PUSH_PROTOCOL, type PushAnswer, decodePushRequest, encodePushAnswer} from "./pushWire.js";

/**
 * Per-peer token bucket: 1000 chunks/s sustained, bursts of 250. A cluster's honest load is one eth_block,
 * a few qbft steps per duty type and one partial_sig per validator per duty per slot: a few hundred chunks per
 * slot for hundreds of validators, i.e. well under 500/s even on a 2 s devnet slot. 2x headroom, then refuse:
 * every admitted chunk costs a signature check (~0.15 ms) and a durable write, and n-1 peers may flood at once.
 */
export const PEER_RATE_PER_SEC = 1000;
export const PEER_BURST = 250;
/** Queue bound: ~2 s of one peer's full rate; beyond that, waiting only makes a chunk late for its duty. */
export const INBOUND_QUEUE_CAPACITY = 4096;
/**
 * Signature checks run in slices of this many ms per event-loop turn (~40 checks), then the loop serves the
 * network: a flood costs other peers at most one slice of waiting per turn, far under the 50 ms bound.
 */
export const VERIFY_SLICE_MS = 4;
/** Series writes in flight: enough for lmdb-js to batch hundreds per commit, few enough that priority still orders them. */
export const MAX_IN_FLIGHT = 256;
/** A push frame holds one chunk (at most 1 MiB of payload) plus its request id. */
const MAX_PUSH_FRAME = (1 << 20) + 1024;
/** Rate-limit refusals are summarised once a second per peer: a flood must not become a flood of disk writes. */
const RATE_SUMMARY_MS = 1000;
/** Most chunks one fetch answer carries: bounds a response at ~10 MB for typical (~1 KiB) chunks. */
export const FETCH_MAX_CHUNKS = 10_000;
/** Catch-up looks back at most this far: the objective limiter's "recent" band (older history is audit, not duty). */
export const CATCHUP_MAX_SLOTS = 100;
/** Unreplicated durable chunks remembered for a retry when a peer comes back. */
const MAX_UNREPLICATED = 10_000;

export interface StoreRoleOptions {
  lock: ClusterLock;
  self: number;
  privateKey: PrivateKey;
  series: Series;
  dht: DhtRole;
  budgetBytes: number;
  /** Peers that must accept a durable chunk before it counts as replicated. */
  replication: number;
  /** Token bucket rate per peer (chunks/s); the burst is a quarter second of it. */
  peerRate?: number;
  currentSlot: () => number | undefined;
  metrics?: Metrics;
  logger: Logger;
}

interface Inbound {
  /** performance.now() when it entered the queue. */
  t: number;
  encoded: Uint8Array;
  chunk: Chunk;
  id: Uint8Array;
  reply: (a: PushAnswer) => void;
}

export interface PublishResult {
  id: string;
  seq: number;
  slot: number;
  /** Per peer: its answer and the push round trip in ms. */
  answers: {peer: number; status: string; limiter?: string; reason?: string; error?: string; ms?: number}[];
  replicated: boolean;
}

export class StoreRole {
  private readonly lockHash: Uint8Array;
  private readonly buckets = new Map<number, TokenBucket>();
  private readonly rateLimited = new Map<number, number>();
  private readonly queue = new InboundQueue<Inbound>(INBOUND_QUEUE_CAPACITY);
  private readonly channels = new Map<number, PushChannel>();
  private readonly unreplicated = new Map<string, {encoded: Uint8Array; missing: Set<number>}>();
  private readonly provided = new Set<number>();
  private inFlight = 0;
  private readonly toVerify = new Map<number, {from: ClusterPeer; encoded: Uint8Array; reply: (a: PushAnswer) => void; t: number}[]>();
  private verifyScheduled = false;
  private pumpScheduled = false;
  private ownSeq = 0;
  private timers: NodeJS.Timeout[] = [];
  private catchUpFrom: number;
  private catchingUp: Promise<number> | null = null;
  readonly stats = {received: 0, accepted: 0, duplicate: 0, refused: 0, fetched: 0};
  private readonly listeners = new Set<(chunk: Chunk) => void>();
  lastCatchUp: {fromSlot: number; toSlot: number; peers: number[]; added: number; viaDht: boolean; at: string} | undefined;

  constructor(private readonly opts: StoreRoleOptions) {
    this.lockHash = fromHex(opts.lock.lock_hash);
    this.catchUpFrom = opts.series.views.lastChunkSlot;
  }

  async start(): Promise<void> {
    const {libp2p} = this.opts.dht;
    await libp2p.handle(PUSH_PROTOCOL, (stream, conn) => this.servePush(stream, conn));
    await libp2p.handle(FETCH_PROTOCOL, (stream, conn) => this.serveFetch(stream, conn));
    this.opts.dht.onPeer("connect", (p) => this.onPeerConnected(p));
    this.opts.dht.onPeer("disconnect", (p) => {
      this.channels.get(p.index)?.close();
      this.channels.delete(p.index);
      // Cut off from every peer: what the cluster does from now on must be fetched when a peer is back.
      if (this.opts.dht.connected().length === 0) this.catchUpFrom = this.opts.currentSlot() ?? this.opts.series.views.lastChunkSlot;
      void this.opts.series.append("peer_event", jsonBody({peer: p.index, event: "disconnected"}), "batched");
    });
    this.timers.push(setInterval(() => this.flushRateSummaries(), RATE_SUMMARY_MS));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.flushRateSummaries();
    for (const c of this.channels.values()) c.close();
    await this.catchingUp?.catch(() => undefined);
  }

  get writesInFlight(): number {
    return this.inFlight;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  private onPeerConnected(p: ClusterPeer): void {
    void this.opts.series.append("peer_event", jsonBody({peer: p.index, event: "connected"}), "batched");
    // Chunks this peer missed while it was away: push them again, now that it is back.
    for (const [id, u] of this.unreplicated) {
      if (!u.missing.has(p.index)) continue;
      this.channel(p).push(u.encoded).then(
        (a) => {
          if (a.status !== "refused") u.missing.delete(p.index);
          if (u.missing.size === 0) this.unreplicated.delete(id);
        },
        () => undefined,
      );
    }
    // And what this node missed: only when it was cut off from every peer (just started, or isolated). While
    // any peer stays connected nothing is missed: chunks a peer could not deliver are pushed again by it on
    // reconnect (above), so a catch-up then would only re-read, re-verify and discard the whole range.
    const wasIsolated = this.opts.dht.connected().every((c) => c.index === p.index);
    if (wasIsolated && !this.catchingUp) {
      this.catchingUp = new Promise<void>((r) => setTimeout(r, 300))
        .then(() => this.catchUp())
        .catch((e: unknown) => {
          this.opts.logger.warn("catch-up failed", {}, e);
          return 0;
        })
        .finally(() => (this.catchingUp = null));
    }
  }

  private channel(p: ClusterPeer): PushChannel {
    let c = this.channels.get(p.index);
    if (!c) {
      c = new PushChannel(this.opts.dht.libp2p, p.peerId);
      this.channels.set(p.index, c);
    }
    return c;
  }

  // ---- receiving ----

  private servePush(stream: Stream, conn: Connection): void {
    const peer = this.opts.dht.byPeerId(conn.remotePeer.toString());
    if (!peer) {
      stream.abort(new Error("not a cluster member"));
      return;
    }
    const decoder = new FrameDecoder(MAX_PUSH_FRAME);
    // Answers of one event turn leave in one write: one noise frame and one syscall instead of one per chunk.
    let outbox: Uint8Array[] = [];
    const flush = () => {
      const batch = outbox;
      outbox = [];
      if (batch.length === 0 || stream.status !== "open" || stream.writeStatus !== "writable") return;
      try {
        stream.send(batch.length === 1 ? (batch[0] as Uint8Array) : Buffer.concat(batch));
      } catch (e) {
        // Closed under us (the pusher went away): its pushes time out and are retried on a new stream.
        this.opts.logger.debug("push answers not sent", {peer: peer.index, answers: batch.length, reason: errorMessage(e)});
      }
    };
    const reply = (reqId: number) => (a: PushAnswer) => {
      if (outbox.length === 0) setImmediate(flush);
      outbox.push(frame(encodePushAnswer(reqId, a)));
    };
    void (async () => {
      try {
        for await (const buf of stream) {
          for (const f of decoder.push(buf)) {
            const {reqId, chunk} = decodePushRequest(f);
            this.receive(peer, Uint8Array.from(chunk), reply(reqId));
          }
        }
      } catch (e) {
        this.opts.logger.debug("push stream ended", {peer: peer.index, reason: errorMessage(e)});
        stream.abort(e instanceof Error ? e : new Error(String(e)));
      }
    })();
  }

  /**
   * Admission, in order: the sender's token bucket (connection level, before any work), the signature, then
   * the four limiters, then the bounded priority queue. Signature checks wait in per-peer queues served in
   * turn, a few ms per event-loop turn, so a flooding peer's backlog never stands in front of another peer's
   * chunk and the network keeps being served in between.
   */
  receive(from: ClusterPeer, encoded: Uint8Array, reply: (a: PushAnswer) => void): void {
    this.stats.received++;
    let bucket = this.buckets.get(from.index);
    if (!bucket) {
      const rate = this.opts.peerRate ?? PEER_RATE_PER_SEC;
      bucket = new TokenBucket(rate, rate === PEER_RATE_PER_SEC ? PEER_BURST : Math.ceil(rate / 4), Date.now());
      this.buckets.set(from.index, bucket);
    }
    if (!bucket.take(Date.now())) {
      this.rateLimited.set(from.index, (this.rateLimited.get(from.index) ?? 0) + 1);
      this.opts.metrics?.chunksRefused.inc({kind: "unknown", limiter: "rate", reason: "rate_limited"});
      this.stats.refused++;
      reply({status: "refused", limiter: "rate", reason: "rate_limited"});
      return;
    }
    let q = this.toVerify.get(from.index);
    if (!q) {
      q = [];
      this.toVerify.set(from.index, q);
    }
    q.push({from, encoded, reply, t: performance.now()});
    this.scheduleVerify();
  }

  private scheduleVerify(): void {
    if (this.verifyScheduled) return;
    this.verifyScheduled = true;
    setImmediate(() => {
      this.verifyScheduled = false;
      this.verifySome();
    });
  }

  private verifySome(): void {
    const end = performance.now() + VERIFY_SLICE_MS;
    let more = true;
    while (more && performance.now() < end) {
      more = false;
      for (const [peer, q] of this.toVerify) {
        const item = q.shift();
        if (!item) {
          this.toVerify.delete(peer);
          continue;
        }
        more = true;
        this.admit(item.from, item.encoded, item.reply, item.t);
      }
    }
    if (this.toVerify.size > 0) this.scheduleVerify();
  }

  private admit(from: ClusterPeer, encoded: Uint8Array, reply: (a: PushAnswer) => void, t: number): void {
    let chunk: Chunk;
    try {
      chunk = decodeChunk(encoded);
    } catch (e) {
      this.refuse(from.index, undefined, encoded, "malformed", errorMessage(e), reply);
      return;
    }
    const origin = chunk.origin === this.opts.self ? undefined : this.opts.dht.byIndex(chunk.origin);
    if (!origin) {
      this.refuse(from.index, chunk, encoded, "signature", "unknown_origin", reply);
      return;
    }
    if (!origin.verify(signingBytes(chunk, this.lockHash), chunk.sig)) {
      this.refuse(from.index, chunk, encoded, "signature", "bad_signature", reply);
      return;
    }
    const id = chunkId(encoded);
    if (this.opts.series.hasChunk(id)) {
      this.stats.duplicate++;
      this.opts.metrics?.chunksDuplicate.inc();
      reply({status: "duplicate"});
      return;
    }
    const a = this.evaluate(chunk);
    if (!a.admit) {
      this.refuse(from.index, chunk, encoded, a.limiter, a.reason, reply);
      return;
    }
    const now = performance.now();
    this.opts.metrics?.admission.observe({stage: "verify"}, (now - t) / 1000);
    const dropped = this.queue.push({peer: from.index, priority: a.priority, item: {encoded, chunk, id, reply, t: now}});
    if (dropped) {
      const d = dropped.item;
      const f = this.evaluate(d.chunk).factors;
      // Named after the limiter that put it at the back; when every factor is 1, load alone refused it.
      const limiter = f[weakestLimiter(f)] < 1 ? weakestLimiter(f) : "queue";
      this.refuse(dropped.peer, d.chunk, d.encoded, limiter, "queue_full", d.reply);
    }
    this.opts.metrics?.queueDepth.set(this.queue.length);
    this.schedulePump();
  }

  /** The four limiters on this node's derived state (views are incremental: O(1), whatever the series length). */
  evaluate(c: Pick<Chunk, "kind" | "slot" | "origin">): Admission {
    const v = this.opts.series.views;
    return evaluateLimiters({
      bytesStored: v.bytesStored,
      budgetBytes: this.opts.budgetBytes,
      currentSlot: this.opts.currentSlot() ?? c.slot,
      chunkSlot: c.slot,
      ethBlocksThisEpoch: c.kind === "eth_block" ? ethBlocksInEpoch(v, c.origin, c.slot) : 0,
      isEthBlock: c.kind === "eth_block",
      connectedStorePeers: this.opts.dht.connected().length,
    });
  }

  private refuse(from: number, chunk: Chunk | undefined, encoded: Uint8Array, limiter: string, reason: string, reply: (a: PushAnswer) => void): void {
    this.stats.refused++;
    const kind = chunk?.kind ?? "unknown";
    this.opts.metrics?.chunksRefused.inc({kind, limiter, reason});
    const body: RefusedEntryBody = {from, origin: chunk?.origin ?? 0, kind, slot: chunk?.slot ?? 0, id: toHex(chunkId(encoded)), limiter, reason};
    void this.opts.series.append("chunk_refused", jsonBody(body), "batched").catch(() => this.opts.metrics?.seriesErrors.inc());
    reply({status: "refused", limiter, reason});
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Stores queued chunks, highest priority first; all writes of one turn share one LMDB commit. */
  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT) {
      const q = this.queue.shift();
      if (!q) break;
      const {encoded, chunk, id, reply, t} = q.item;
      if (this.opts.series.hasChunk(id)) {
        reply({status: "duplicate"});
        continue;
      }
      const w = performance.now();
      this.opts.metrics?.admission.observe({stage: "queue"}, (w - t) / 1000);
      this.inFlight++;
      const durable = DURABLE_KINDS.has(chunk.kind);
      this.opts.series.appendChunk("chunk_accepted", q.peer, encoded, durable ? "committed" : "batched").then(
        () => {
          this.opts.metrics?.admission.observe({stage: "write"}, (performance.now() - w) / 1000);
          this.stats.accepted++;
          this.opts.metrics?.chunksAccepted.inc({kind: chunk.kind});
          reply({status: "accepted"});
          if (durable) this.announce(chunk.slot);
          this.notify(chunk);
        },
        (e: unknown) => {
          this.opts.metrics?.seriesErrors.inc();
          this.opts.logger.error("series write failed", {kind: chunk.kind}, e);
          reply({status: "refused", limiter: "economic", reason: "write_failed"});
        },
      ).finally(() => {
        this.inFlight--;
        this.schedulePump();
      });
    }
    this.opts.metrics?.queueDepth.set(this.queue.length);
  }

  private flushRateSummaries(): void {
    for (const [peer, count] of this.rateLimited) {
      void this.opts.series.append("rate_limited", jsonBody({peer, count}), "batched").catch(() => this.opts.metrics?.seriesErrors.inc());
    }
    this.rateLimited.clear();
  }

  /** One provider record per slot with durable chunks: "this node holds slot S" is what catch-up asks. */
  private announce(slot: number): void {
    if (this.provided.has(slot)) return;
    this.provided.add(slot);
    if (this.provided.size > CATCHUP_MAX_SLOTS * 2) this.provided.delete(this.provided.values().next().value as number);
    void this.opts.dht.provide(this.opts.lock.lock_hash, slot);
  }

  // ---- sending ----

  /** Signs a chunk with this node's identity, records it, and pushes it to every connected peer. */
  /**
   * Hear every chunk a peer pushed once it is admitted and in the series: the duty layer acts only on what
   * the node has recorded. Returns the unsubscribe function.
   */
  onChunk(listener: (chunk: Chunk) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(chunk: Chunk): void {
    for (const l of this.listeners) {
      try {
        l(chunk);
      } catch (e) {
        this.opts.logger.error("chunk listener failed", {kind: chunk.kind, slot: chunk.slot, origin: chunk.origin}, e);
      }
    }
  }

  async publish(kind: ChunkKind, payload: Uint8Array, slot?: number): Promise<PublishResult> {
    this.ownSeq = Math.max(this.ownSeq, this.opts.series.views.ownSeq) + 1;
    const body = {kind, slot: slot ?? this.opts.currentSlot() ?? 0, origin: this.opts.self, seq: this.ownSeq, t: Date.now(), payload};
    const sig = await this.opts.privateKey.sign(signingBytes(body, this.lockHash));
    const encoded = encodeChunk({...body, sig});
    const durable = DURABLE_KINDS.has(kind);
    await this.opts.series.appendChunk("chunk_sent", 0, encoded, durable ? "committed" : "batched");
    if (durable) this.announce(body.slot);
    const peers = [...this.opts.dht.peers.values()];
    const answers = await Promise.all(
      peers.map(async (p) => {
        if (!p.connected) return {peer: p.index, status: "not_connected"};
        const t0 = performance.now();
        try {
          const a = await this.channel(p).push(encoded);
          const ms = performance.now() - t0;
          this.opts.metrics?.pushRtt.observe(ms / 1000);
          this.opts.metrics?.chunksPushed.inc({kind, result: a.status});
          return {peer: p.index, ...a, ms};
        } catch (e) {
          this.opts.metrics?.chunksPushed.inc({kind, result: "error"});
          return {peer: p.index, status: "error", error: errorMessage(e)};
        }
      }),
    );
    const ok = answers.filter((a) => a.status === "accepted" || a.status === "duplicate").length;
    const id = toHex(chunkId(encoded));
    if (durable && ok < peers.length) {
      if (this.unreplicated.size >= MAX_UNREPLICATED) this.unreplicated.delete(this.unreplicated.keys().next().value as string);
      this.unreplicated.set(id, {encoded, missing: new Set(answers.filter((a) => a.status !== "accepted" && a.status !== "duplicate").map((a) => a.peer))});
    }
    return {id, seq: body.seq, slot: body.slot, answers, replicated: ok >= Math.min(this.opts.replication, peers.length)};
  }

  // ---- fetch ----

  private serveFetch(stream: Stream, conn: Connection): void {
    if (!this.opts.dht.byPeerId(conn.remotePeer.toString())) {
      stream.abort(new Error("not a cluster member"));
      return;
    }
    void (async () => {
      const decoder = new FrameDecoder(64 * 1024);
      try {
        let req: FetchRequest | undefined;
        for await (const buf of stream) {
          const f = decoder.push(buf)[0];
          if (f) {
            req = JSON.parse(Buffer.from(f).toString("utf8")) as FetchRequest;
            break;
          }
        }
        if (!req) throw new Error("no request");
        let n = 0;
        for (const c of this.lookUp(req)) {
          if (!stream.send(frame(c))) await stream.onDrain();
          n++;
        }
        this.opts.metrics?.fetchServed.inc(n);
        stream.send(frame(new Uint8Array(0)));
        await stream.close();
      } catch (e) {
        stream.abort(e instanceof Error ? e : new Error(String(e)));
      }
    })();
  }

  private *lookUp(req: FetchRequest): Generator<Uint8Array> {
    const s = this.opts.series;
    let n = 0;
    if (req.ids) {
      for (const id of req.ids.slice(0, FETCH_MAX_CHUNKS)) {
        const c = s.getChunk(fromHex(id, 32));
        if (c) yield c;
      }
      return;
    }
    const from = Math.max(0, req.fromSlot ?? 0);
    const to = Math.min(req.toSlot ?? from, from + CATCHUP_MAX_SLOTS);
    const kind = req.kind !== undefined ? CHUNK_KINDS.indexOf(req.kind as ChunkKind) : undefined;
    for (let slot = from; slot <= to; slot++) {
      for (const c of s.chunksBySlot(slot, kind !== undefined && kind >= 0 ? kind : undefined, FETCH_MAX_CHUNKS - n)) {
        if (req.durableOnly && !DURABLE_KINDS.has(CHUNK_KINDS[c[1] as number] as ChunkKind)) continue;
        yield c;
        if (++n >= FETCH_MAX_CHUNKS) return;
      }
    }
  }

  /** Asks one peer for chunks; verifies each, stores the ones this node lacks. Returns how many were new. */
  async fetchFrom(p: ClusterPeer, req: FetchRequest): Promise<number> {
    const stream = await this.opts.dht.libp2p.dialProtocol(p.peerId, FETCH_PROTOCOL, {signal: AbortSignal.timeout(10_000)});
    stream.send(frame(Buffer.from(JSON.stringify(req), "utf8")));
    const decoder = new FrameDecoder(MAX_PUSH_FRAME);
    let added = 0;
    const writes: Promise<unknown>[] = [];
    outer: for await (const buf of stream) {
      for (const f of decoder.push(buf)) {
        if (f.length === 0) break outer;
        const encoded = Uint8Array.from(f);
        const ok = await this.verifyFetched(encoded);
        if (!ok) {
          this.opts.metrics?.catchUp.inc({result: "bad_signature"});
          continue;
        }
        if (this.opts.series.hasChunk(chunkId(encoded))) continue;
        writes.push(this.opts.series.appendChunk("chunk_fetched", p.index, encoded, "batched"));
        added++;
        this.opts.metrics?.catchUp.inc({result: "stored"});
      }
    }
    await stream.close().catch(() => undefined);
    await Promise.all(writes);
    await this.opts.series.flush();
    this.stats.fetched += added;
    return added;
  }

  private async verifyFetched(encoded: Uint8Array): Promise<boolean> {
    try {
      const c = decodeChunk(encoded);
      const key = c.origin === this.opts.self ? this.opts.privateKey.publicKey : this.opts.dht.byIndex(c.origin)?.publicKey;
      return key !== undefined && (await key.verify(signingBytes(c, this.lockHash), c.sig));
    } catch {
      return false;
    }
  }

  /**
   * After a restart: durable chunks of the slots this node was away for. Providers come from the DHT's
   * records for those slots; when the DHT knows none yet, every connected peer is asked.
   */
  async catchUp(): Promise<number> {
    const now = this.opts.currentSlot();
    const to = now ?? this.opts.series.views.lastChunkSlot;
    const from = Math.max(this.catchUpFrom, to - CATCHUP_MAX_SLOTS + 1, 0);
    const providers = new Map<number, ClusterPeer>();
    // A peer enters the routing table a moment after it connects (identify, then kad's topology): give it 2 s.
    for (let i = 0; i < 20 && this.opts.dht.routingTableSize() === 0; i++) await new Promise((r) => setTimeout(r, 100));
    // The range's first and last slots: a handful of lookups, not one per slot.
    for (const slot of new Set([from, to])) {
      for (const p of await this.opts.dht.findProviders(this.opts.lock.lock_hash, slot, 2000)) if (p.connected) providers.set(p.index, p);
    }
    const targets = providers.size > 0 ? [...providers.values()] : this.opts.dht.connected();
    let added = 0;
    for (const p of targets) {
      try {
        added += await this.fetchFrom(p, {fromSlot: from, toSlot: to, durableOnly: true});
      } catch (e) {
        this.opts.logger.debug("catch-up fetch failed", {peer: p.index, reason: errorMessage(e)});
      }
    }
    if (targets.length > 0) this.catchUpFrom = Math.max(this.catchUpFrom, to);
    this.lastCatchUp = {fromSlot: from, toSlot: to, peers: targets.map((p) => p.index), added, viaDht: providers.size > 0, at: new Date().toISOString()};
    this.opts.logger.info("catch-up done", this.lastCatchUp);
    return added;
  }
}

export interface FetchRequest {
  ids?: string[];
  fromSlot?: number;
  toSlot?: number;
  kind?: string;
  durableOnly?: boolean;
}
