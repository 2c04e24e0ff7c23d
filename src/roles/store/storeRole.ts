import type {PrivateKey} from "@libp2p/interface";
import type {Metrics} from "../../api/metrics.js";
import type {ClusterLock} from "../../cluster/lockSchema.js";
import {fromHex, toHex} from "../../hotpath/bytes.js";
import {
  type Chunk,
  type ChunkKind,
  DURABLE_KINDS,
  MAX_PAYLOAD_BY_KIND,
  chunkId,
  decodeChunk,
  encodeChunk,
  readChunkHeader,
  signingBytes,
} from "../../hotpath/chunk.js";
import {ed25519Verifier} from "../../hotpath/ed25519.js";
import {type Admission, evaluateLimiters, weakestLimiter} from "../../hotpath/limiters.js";
import {jsonBody} from "../../storage/entry.js";
import type {Series} from "../../storage/series.js";
import {ethBlocksInEpoch, type RefusedEntryBody} from "../../storage/views.js";
import {errorMessage} from "../../util/errors.js";
import type {Logger} from "../../util/logger.js";
import type {ClusterPeer, DhtRole} from "../dht/dhtRole.js";
import {type FetchResult, fetchChunks} from "./fetchClient.js";
import {CatchUp} from "./catchUp.js";
import {CATCHUP_MAX_SLOTS, type FetchRequest, serveFetch} from "./fetchServer.js";
import {InboundQueue} from "./inboundQueue.js";
import {type BudgetRefusal, PEER_BYTE_BURST, PEER_BYTES_PER_SEC, PeerBudget} from "./peerBudget.js";
import {PushChannel} from "./pushClient.js";
import {servePush} from "./pushServer.js";
import {FETCH_PROTOCOL, PUSH_PROTOCOL, type PushAnswer} from "./pushWire.js";

/** Queue bound in items: ~2 s of one peer's full chunk rate; beyond that, waiting only makes a chunk late for its duty. */
export const INBOUND_QUEUE_CAPACITY = 4096;
/**
 * Queue bound in bytes: 4 s of one peer's full byte budget. Items alone let 4096 chunks of 1 MiB (4 GiB) wait;
 * a flood beyond this is dropped lowest priority and busiest peer first, so a current-duty chunk keeps its place.
 */
export const INBOUND_QUEUE_BYTES = 4 * PEER_BYTES_PER_SEC;
/**
 * Bytes one peer may have waiting for their signature check: its byte burst. The budget lets no more in at
 * once; a backlog beyond it means checks fall behind, and refusing is cheaper than holding what will be late.
 */
export const VERIFY_BACKLOG_BYTES = PEER_BYTE_BURST;
/**
 * Signature checks run in slices of this many ms per event-loop turn (~40 checks), then the loop serves the
 * network: a flood costs other peers at most one slice of waiting per turn, far under the 50 ms bound.
 */
export const VERIFY_SLICE_MS = 4;
/** Series writes in flight: enough for lmdb-js to batch hundreds per commit, few enough that priority still orders them. */
export const MAX_IN_FLIGHT = 256;
/** Rate-limit refusals are summarised once a second per peer: a flood must not become a flood of disk writes. */
const RATE_SUMMARY_MS = 1000;
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

interface Inbound {
  /** performance.now() when it entered the queue. */
  t: number;
  encoded: Uint8Array;
  chunk: Chunk;
  id: Uint8Array;
  reply: (a: PushAnswer) => void;
  source: ChunkSource;
}

interface ToVerify {
  from: ClusterPeer;
  encoded: Uint8Array;
  reply: (a: PushAnswer) => void;
  t: number;
  source: ChunkSource;
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
  /** Per peer and source: catch-up pulls never spend the budget a peer's pushes for the current duty need. */
  private readonly budgets = new Map<string, PeerBudget>();
  private readonly rateLimited = new Map<string, {peer: number; reason: BudgetRefusal; count: number}>();
  private readonly queue = new InboundQueue<Inbound>(INBOUND_QUEUE_CAPACITY, INBOUND_QUEUE_BYTES);
  private readonly channels = new Map<number, PushChannel>();
  private readonly unreplicated = new Map<string, {encoded: Uint8Array; missing: Set<number>}>();
  private readonly provided = new Set<number>();
  private inFlight = 0;
  private readonly toVerify = new Map<number, {items: ToVerify[]; bytes: number}>();
  private readonly verifySelf: (data: Uint8Array, sig: Uint8Array) => boolean;
  private verifyScheduled = false;
  private pumpScheduled = false;
  private ownSeq = 0;
  private timers: NodeJS.Timeout[] = [];
  readonly stats = {received: 0, accepted: 0, duplicate: 0, refused: 0, fetched: 0};
  private readonly listeners = new Set<(chunk: Chunk) => void>();
  /** Fetching what this node missed while it was cut off from every peer. */
  readonly catchUps: CatchUp;

  constructor(private readonly opts: StoreRoleOptions) {
    this.lockHash = fromHex(opts.lock.lock_hash);
    this.catchUps = new CatchUp({...opts, fetchFrom: (p, req) => this.fetchFrom(p, req)});
    this.verifySelf = ed25519Verifier(opts.privateKey.publicKey.raw);
  }

  async start(): Promise<void> {
    const {libp2p} = this.opts.dht;
    await libp2p.handle(PUSH_PROTOCOL, (stream, conn) => {
      const peer = this.opts.dht.byPeerId(conn.remotePeer.toString());
      if (!peer) return stream.abort(new Error("not a cluster member"));
      servePush(stream, peer, {
        receive: (from, encoded, reply) => this.receive(from, encoded, reply),
        refillMs: (index, size) => this.budget(index, "push").waitMs(size, Date.now()),
        metrics: this.opts.metrics,
        logger: this.opts.logger,
      });
    });
    await libp2p.handle(FETCH_PROTOCOL, (stream, conn) => {
      if (!this.opts.dht.byPeerId(conn.remotePeer.toString())) stream.abort(new Error("not a cluster member"));
      else void serveFetch(stream, this.opts.series, this.opts.metrics);
    });
    this.opts.dht.onPeer("connect", (p) => this.onPeerConnected(p));
    this.opts.dht.onPeer("disconnect", (p) => {
      this.channels.get(p.index)?.close();
      this.channels.delete(p.index);
      // Cut off from every peer: what the cluster does from now on must be fetched when a peer is back.
      if (this.opts.dht.connected().length === 0) this.catchUps.cutOff();
      void this.opts.series.append("peer_event", jsonBody({peer: p.index, event: "disconnected"}), "batched");
    });
    this.timers.push(setInterval(() => this.flushRateSummaries(), RATE_SUMMARY_MS));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.flushRateSummaries();
    for (const c of this.channels.values()) c.close();
    await this.catchUps.stop();
  }

  /** Whether this node holds a live connection to operator `peer`. */
  isConnected(peer: number): boolean {
    return this.opts.dht.byIndex(peer)?.connected === true;
  }

  get writesInFlight(): number {
    return this.inFlight;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get queueBytes(): number {
    return this.queue.bytes;
  }

  private onPeerConnected(p: ClusterPeer): void {
    void this.opts.series.append("peer_event", jsonBody({peer: p.index, event: "connected"}), "batched");
    // Chunks this peer missed while it was away: push them again, now that it is back.
    for (const [id, u] of this.unreplicated) {
      if (!u.missing.has(p.index)) continue;
      this.channel(p)
        .push(u.encoded)
        .then(
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
    if (wasIsolated) this.catchUps.start(300);
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

  /**
   * Admission, in order: the sender's budget in chunks and bytes (connection level, before any work), the
   * kind's size cap, a bounded signature-check backlog, the signature, then the four limiters, then the
   * priority queue bounded in items and bytes. Signature checks wait in per-peer queues served in turn, a few
   * ms per event-loop turn, so a flooding peer's backlog never stands in front of another peer's chunk and the
   * network keeps being served in between. Fetched (catch-up) chunks take the same path with their own budget.
   */
  receive(
    from: ClusterPeer,
    encoded: Uint8Array,
    reply: (a: PushAnswer) => void,
    source: ChunkSource = "push",
  ): BudgetRefusal | undefined {
    this.stats.received++;
    const refusal = this.budget(from.index, source).take(encoded.length, Date.now());
    if (refusal) {
      const key = `${from.index}/${refusal}`;
      const r = this.rateLimited.get(key) ?? {peer: from.index, reason: refusal, count: 0};
      r.count++;
      this.rateLimited.set(key, r);
      this.opts.metrics?.chunksRefused.inc({kind: "unknown", limiter: "rate", reason: refusal});
      this.stats.refused++;
      reply({status: "refused", limiter: "rate", reason: refusal});
      return refusal;
    }
    let header: ReturnType<typeof readChunkHeader>;
    try {
      header = readChunkHeader(encoded);
    } catch (e) {
      this.refuse(from.index, undefined, encoded, "malformed", errorMessage(e), reply);
      return;
    }
    if (header.payloadLength > MAX_PAYLOAD_BY_KIND[header.kind]) {
      this.refuse(from.index, undefined, encoded, "size", "payload_too_large", reply, header);
      return;
    }
    let q = this.toVerify.get(from.index);
    if (!q) {
      q = {items: [], bytes: 0};
      this.toVerify.set(from.index, q);
    }
    if (q.bytes + encoded.length > VERIFY_BACKLOG_BYTES) {
      this.refuse(from.index, undefined, encoded, "rate", "verify_backlog", reply, header);
      return;
    }
    // A copy, taken only now that the chunk is admitted this far: a pushed chunk is a view into its frame, which
    // may be a view into the stream's receive buffer, kept alive while the chunk waits. A fetched chunk is already
    // a buffer of its own and is kept as it is. Buffer.from copies with one memcpy; Uint8Array.from, used before,
    // went element by element: 2-3 ms of main thread per MiB on this machine.
    const own = encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength;
    q.items.push({from, encoded: own ? encoded : Buffer.from(encoded), reply, t: performance.now(), source});
    q.bytes += encoded.length;
    this.scheduleVerify();
  }

  private budget(peer: number, source: ChunkSource): PeerBudget {
    const key = `${peer}/${source}`;
    let b = this.budgets.get(key);
    if (!b) {
      b = new PeerBudget(Date.now(), this.opts.peerRate);
      this.budgets.set(key, b);
    }
    return b;
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
        const item = q.items.shift();
        if (!item) {
          this.toVerify.delete(peer);
          continue;
        }
        q.bytes -= item.encoded.length;
        more = true;
        this.admit(item);
      }
    }
    if (this.toVerify.size > 0) this.scheduleVerify();
  }

  private admit({from, encoded, reply, t, source}: ToVerify): void {
    let chunk: Chunk;
    try {
      chunk = decodeChunk(encoded);
    } catch (e) {
      this.refuse(from.index, undefined, encoded, "malformed", errorMessage(e), reply);
      return;
    }
    // This node's own chunks come back by catch-up (its data dir lost or restored from a backup).
    const verify = chunk.origin === this.opts.self ? this.verifySelf : this.opts.dht.byIndex(chunk.origin)?.verify;
    if (!verify) {
      this.refuse(from.index, chunk, encoded, "signature", "unknown_origin", reply);
      return;
    }
    if (!verify(signingBytes(chunk, this.lockHash), chunk.sig)) {
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
    const dropped = this.queue.push({
      peer: from.index,
      priority: a.priority,
      bytes: encoded.length,
      item: {encoded, chunk, id, reply, t: now, source},
    });
    for (const {peer, item: d} of dropped) {
      const f = this.evaluate(d.chunk).factors;
      // Named after the limiter that put it at the back; when every factor is 1, load alone refused it.
      const limiter = f[weakestLimiter(f)] < 1 ? weakestLimiter(f) : "queue";
      this.refuse(peer, d.chunk, d.encoded, limiter, "queue_full", d.reply);
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

  private refuse(
    from: number,
    chunk: Chunk | undefined,
    encoded: Uint8Array,
    limiter: string,
    reason: string,
    reply: (a: PushAnswer) => void,
    header?: Pick<Chunk, "kind" | "slot" | "origin">,
  ): void {
    this.stats.refused++;
    const known = chunk ?? header;
    const kind = known?.kind ?? "unknown";
    this.opts.metrics?.chunksRefused.inc({kind, limiter, reason});
    const body: RefusedEntryBody = {
      from,
      origin: known?.origin ?? 0,
      kind,
      slot: known?.slot ?? 0,
      id: toHex(chunkId(encoded)),
      limiter,
      reason,
    };
    void this.opts.series
      .append("chunk_refused", jsonBody(body), "batched")
      .catch(() => this.opts.metrics?.seriesErrors.inc());
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
      const {encoded, chunk, id, reply, t, source} = q.item;
      if (this.opts.series.hasChunk(id)) {
        reply({status: "duplicate"});
        continue;
      }
      const w = performance.now();
      this.opts.metrics?.admission.observe({stage: "queue"}, (w - t) / 1000);
      this.inFlight++;
      const durable = DURABLE_KINDS.has(chunk.kind);
      const entry = source === "fetch" ? "chunk_fetched" : "chunk_accepted";
      this.opts.series
        .appendChunk(entry, q.peer, encoded, durable && source === "push" ? "committed" : "batched")
        .then(
          () => {
            this.opts.metrics?.admission.observe({stage: "write"}, (performance.now() - w) / 1000);
            this.stats.accepted++;
            this.opts.metrics?.chunksAccepted.inc({kind: chunk.kind});
            reply({status: "accepted"});
            if (durable) this.announce(chunk.slot);
            // Catch-up fills history; the duty layer hears only what peers push for the duties at hand.
            if (source === "push") this.notify(chunk);
          },
          (e: unknown) => {
            this.opts.metrics?.seriesErrors.inc();
            this.opts.logger.error("series write failed", {kind: chunk.kind}, e);
            reply({status: "refused", limiter: "economic", reason: "write_failed"});
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedulePump();
        });
    }
    this.opts.metrics?.queueDepth.set(this.queue.length);
  }

  private flushRateSummaries(): void {
    for (const r of this.rateLimited.values()) {
      void this.opts.series
        .append("rate_limited", jsonBody(r), "batched")
        .catch(() => this.opts.metrics?.seriesErrors.inc());
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
    const body = {
      kind,
      slot: slot ?? this.opts.currentSlot() ?? 0,
      origin: this.opts.self,
      seq: this.ownSeq,
      t: Date.now(),
      payload,
    };
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
      if (this.unreplicated.size >= MAX_UNREPLICATED)
        this.unreplicated.delete(this.unreplicated.keys().next().value as string);
      this.unreplicated.set(id, {
        encoded,
        missing: new Set(answers.filter((a) => a.status !== "accepted" && a.status !== "duplicate").map((a) => a.peer)),
      });
    }
    return {
      id,
      seq: body.seq,
      slot: body.slot,
      answers,
      replicated: ok >= Math.min(this.opts.replication, peers.length),
    };
  }

  // ---- fetch ----

  /**
   * Asks one peer for chunks; each passes the push path's admission (paced by the peer's fetch budget). The
   * client enforces its request, a chunk cap and a deadline (fetchClient.ts). Returns how many were new.
   */
  async fetchFrom(p: ClusterPeer, req: FetchRequest): Promise<number> {
    const r: FetchResult = await fetchChunks(
      this.opts.dht.libp2p,
      p,
      req,
      {
        waitMs: (peer, size) => this.budget(peer, "fetch").waitMs(size, Date.now()),
        admit: (peer, encoded) => new Promise<PushAnswer>((resolve) => this.receive(peer, encoded, resolve, "fetch")),
      },
      {metrics: this.opts.metrics, deadlineMs: this.opts.fetchDeadlineMs, maxChunks: this.opts.fetchMaxChunks},
    );
    await this.opts.series.flush();
    this.stats.fetched += r.added;
    return r.added;
  }
}
