import {
  type Chunk,
  MAX_PAYLOAD_BY_KIND,
  type ChunkHeader,
  chunkId,
  decodeChunk,
  readChunkHeader,
  signingBytes,
} from "../../hotpath/chunk.js";
import {ed25519Verifier} from "../../hotpath/ed25519.js";
import {
  type Admission as LimiterAdmission,
  OBJECTIVE_RECENT_SLOTS,
  evaluateLimiters,
  weakestLimiter,
} from "../../hotpath/limiters.js";
import {ethBlocksInEpoch, ethBlocksInSlot} from "../../storage/views.js";
import {errorMessage} from "../../util/errors.js";
import type {ClusterPeer} from "../dht/dhtRole.js";
import type {ChunkSource, Reply, StoreComponents} from "./components.js";
import type {BudgetRefusal} from "./peerBudget.js";
import type {Refusals} from "./refusals.js";
import {VerifyBacklog} from "./verifyBacklog.js";
import type {WritePump} from "./writePump.js";

/**
 * Pruning the admitted block views starts past this many `slot:origin` keys: the 100 slots the objective limiter
 * admits, for a 10-node cluster, fit without pruning, so honest load prunes rarely.
 */
const ADMITTED_VIEWS_PRUNE_AT = 1024;

/** A chunk past its sender's budget and the size cap, waiting for its signature check. */
interface ToVerify {
  from: ClusterPeer;
  encoded: Uint8Array;
  reply: Reply;
  /** performance.now() when it was received. */
  t: number;
  source: ChunkSource;
}

export interface AdmissionInit {
  /** The storage budget the economic limiter weighs the series against. */
  budgetBytes: number;
  refusals: Refusals;
  pump: WritePump;
}

/**
 * Admission, in order: the sender's budget in chunks and bytes (connection level, before any work), the
 * kind's size cap, a bounded signature-check backlog, the signature, then the four limiters, then the
 * priority queue bounded in items and bytes (the write pump's). Fetched (catch-up) chunks take the same path
 * with their own budget.
 */
export class Admission {
  private readonly backlog = new VerifyBacklog<ToVerify>((item) => this.admit(item));
  private readonly verifySelf: (data: Uint8Array, sig: Uint8Array) => boolean;
  /**
   * Block views admitted per `slot:origin` by this process, queued or stored: the series' views count a chunk only
   * once the write pump stored it, and a flood of one slot's views would all pass W-tracking before the first
   * is written.
   */
  private readonly admittedViews = new Map<string, number>();

  constructor(
    private readonly c: StoreComponents,
    private readonly init: AdmissionInit,
  ) {
    this.verifySelf = ed25519Verifier(c.privateKey.publicKey.raw);
  }

  /**
   * Takes one chunk from `from` through admission; its answer goes to `reply`, now or once it is checked and
   * stored. Returns the budget refusal when the sender is over its budget (the push server then pauses it).
   */
  receive(
    from: ClusterPeer,
    encoded: Uint8Array,
    reply: Reply,
    source: ChunkSource = "push",
  ): BudgetRefusal | undefined {
    const {refusals} = this.init;
    this.c.stats.received++;
    const overBudget = this.c.budgets.of(from.index, source).take(encoded.length, Date.now());
    if (overBudget) {
      refusals.overBudget(from.index, overBudget, reply);
      return overBudget;
    }
    let header: ChunkHeader & {payloadLength: number};
    try {
      header = readChunkHeader(encoded);
    } catch (e) {
      refusals.refuse(from.index, undefined, encoded, "malformed", errorMessage(e), reply);
      return;
    }
    if (header.payloadLength > MAX_PAYLOAD_BY_KIND[header.kind]) {
      refusals.refuse(from.index, undefined, encoded, "size", "payload_too_large", reply, header);
      return;
    }
    if (!this.backlog.hasRoom(from.index, encoded.length)) {
      refusals.refuse(from.index, undefined, encoded, "rate", "verify_backlog", reply, header);
      return;
    }
    // A copy, taken only now that the chunk is admitted this far: a pushed chunk is a view into its frame, which
    // may be a view into the stream's receive buffer, kept alive while the chunk waits. A fetched chunk is already
    // a buffer of its own and is kept as it is. Buffer.from copies with one memcpy; Uint8Array.from, used before,
    // went element by element: 2-3 ms of main thread per MiB on this machine.
    const own = encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength;
    const item = {from, encoded: own ? encoded : Buffer.from(encoded), reply, t: performance.now(), source};
    this.backlog.add(from.index, item, encoded.length);
  }

  /** The four limiters on this node's derived state (views are incremental: O(1), whatever the series length). */
  evaluate(c: Pick<Chunk, "kind" | "slot" | "origin">): LimiterAdmission {
    const v = this.c.series.views;
    const isEthBlock = c.kind === "eth_block";
    return evaluateLimiters({
      bytesStored: v.bytesStored,
      budgetBytes: this.init.budgetBytes,
      currentSlot: this.c.currentSlot() ?? c.slot,
      chunkSlot: c.slot,
      ethBlocksThisEpoch: isEthBlock ? ethBlocksInEpoch(v, c.origin, c.slot) : 0,
      ethBlocksThisSlot: isEthBlock
        ? Math.max(ethBlocksInSlot(v, c.origin, c.slot), this.admittedViews.get(`${c.slot}:${c.origin}`) ?? 0)
        : 0,
      isEthBlock,
      connectedStorePeers: this.c.dht.connected().length,
    });
  }

  /** The signature, a duplicate check, then the limiters; what passes goes to the write pump's queue. */
  private admit({from, encoded, reply, t, source}: ToVerify): void {
    const {refusals, pump} = this.init;
    const {series, dht, metrics} = this.c;
    let chunk: Chunk;
    try {
      chunk = decodeChunk(encoded);
    } catch (e) {
      refusals.refuse(from.index, undefined, encoded, "malformed", errorMessage(e), reply);
      return;
    }
    // This node's own chunks come back by catch-up (its data dir lost or restored from a backup).
    const verify = chunk.origin === this.c.self ? this.verifySelf : dht.byIndex(chunk.origin)?.verify;
    if (!verify) {
      refusals.refuse(from.index, chunk, encoded, "signature", "unknown_origin", reply);
      return;
    }
    if (!verify(signingBytes(chunk, this.c.lockHash), chunk.sig)) {
      refusals.refuse(from.index, chunk, encoded, "signature", "bad_signature", reply);
      return;
    }
    const id = chunkId(encoded);
    if (series.hasChunk(id)) {
      this.c.stats.duplicate++;
      metrics?.chunksDuplicate.inc();
      reply({status: "duplicate"});
      return;
    }
    const a = this.evaluate(chunk);
    if (!a.admit) {
      refusals.refuse(from.index, chunk, encoded, a.limiter, a.reason, reply);
      return;
    }
    if (chunk.kind === "eth_block") this.countView(chunk.slot, chunk.origin);
    const now = performance.now();
    metrics?.admission.observe({stage: "verify"}, (now - t) / 1000);
    const dropped = pump.enqueue({
      peer: from.index,
      priority: a.priority,
      bytes: encoded.length,
      item: {encoded, chunk, id, reply, t: now, source},
    });
    for (const {peer, item: d} of dropped) {
      const f = this.evaluate(d.chunk).factors;
      // Named after the limiter that put it at the back; when every factor is 1, load alone refused it.
      const limiter = f[weakestLimiter(f)] < 1 ? weakestLimiter(f) : "queue";
      refusals.refuse(peer, d.chunk, d.encoded, limiter, "queue_full", d.reply);
    }
  }

  private countView(slot: number, origin: number): void {
    const key = `${slot}:${origin}`;
    this.admittedViews.set(key, (this.admittedViews.get(key) ?? 0) + 1);
    // Bounded by the objective limiter: views this old are refused before they are counted.
    if (this.admittedViews.size > ADMITTED_VIEWS_PRUNE_AT) {
      const oldest = (this.c.currentSlot() ?? slot) - OBJECTIVE_RECENT_SLOTS;
      for (const k of this.admittedViews.keys())
        if (Number(k.slice(0, k.indexOf(":"))) < oldest) this.admittedViews.delete(k);
    }
  }
}
