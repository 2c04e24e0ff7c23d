import {MAX_PAYLOAD_BYTES} from "../../hotpath/chunk.js";
import {TokenBucket} from "../../hotpath/tokenBucket.js";
import type {ChunkSource} from "./components.js";

/**
 * Per-peer chunk budget: 1000 chunks/s sustained, bursts of 250. A cluster's honest load is one eth_block,
 * a few qbft steps per duty type and one partial_sig batch per duty per slot: a few hundred chunks per slot,
 * well under 500/s even on a 2 s devnet slot. 2x headroom, then refuse: every admitted chunk costs a signature
 * check (~0.15 ms) and a durable write, and n-1 peers may flood at once.
 */
export const PEER_RATE_PER_SEC = 1000;
export const PEER_BURST = 250;
/**
 * Per-peer byte budget: 1 MiB/s sustained. A peer's honest bytes per slot are its partial_sig batches (~400
 * bytes per validator and duty) for the validators with a duty in that slot: a 10,000-validator cluster has
 * ~310 attesters per slot (each attests once per epoch), as many selection proofs, and a handful of sync
 * committee seats, ~300 KB per slot in all: 150 KB/s on a 2 s devnet slot, 25 KB/s on mainnet, so 1 MiB/s
 * leaves 6x headroom where slots are shortest, and the burst below takes a whole slot's batches at once. At
 * 2 MiB/s a member flooding 1 MiB chunks added 45-90 ms to the honest duty push p99 on this disk (the
 * admitted flood is written durably); at 1 MiB/s, see `npm run bench -- flood`. Counting chunks alone let a
 * peer send 1000 MiB/s of 1 MiB chunks.
 */
export const PEER_BYTES_PER_SEC = 1024 * 1024;
/** The byte burst holds one chunk of the largest size plus a slot's honest batches, so a legal chunk always fits. */
export const PEER_BYTE_BURST = MAX_PAYLOAD_BYTES + 1024 * 1024;

/** Why a budget refused: too many chunks, or too many bytes, in the window. */
export type BudgetRefusal = "rate_limited" | "byte_rate_limited";

/**
 * One peer's admission budget in chunks and in bytes (DESIGN.md: budgets are in bytes as well as chunks).
 * `rateScale` raises both together (the `--peer-rate` option, for benchmarks that want the bucket out of the way).
 */
export class PeerBudget {
  private readonly chunks: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(now: number, chunksPerSec = PEER_RATE_PER_SEC) {
    const scale = chunksPerSec / PEER_RATE_PER_SEC;
    this.chunks = new TokenBucket(chunksPerSec, scale === 1 ? PEER_BURST : Math.ceil(chunksPerSec / 4), now);
    this.bytes = new TokenBucket(PEER_BYTES_PER_SEC * Math.max(1, scale), PEER_BYTE_BURST * Math.max(1, scale), now);
  }

  /** Takes one chunk of `size` bytes, or neither token kind when either budget is spent. */
  take(size: number, now: number): BudgetRefusal | undefined {
    if (this.chunks.available(now) < 1) return "rate_limited";
    if (!this.bytes.take(now, size)) return "byte_rate_limited";
    this.chunks.take(now);
    return undefined;
  }

  /** Ms until a chunk of `size` bytes fits both budgets: how long a puller (catch-up) waits instead of being refused. */
  waitMs(size: number, now: number): number {
    const c = this.chunks.available(now);
    const b = this.bytes.available(now);
    const chunkWait = c >= 1 ? 0 : ((1 - c) * 1000) / this.chunks.ratePerSec;
    const byteWait = b >= size ? 0 : ((size - b) * 1000) / this.bytes.ratePerSec;
    return Math.ceil(Math.max(chunkWait, byteWait));
  }
}

/** Every peer's budgets, one per peer and source: catch-up pulls never spend the budget a peer's pushes for the current duty need. */
export class PeerBudgets {
  private readonly budgets = new Map<string, PeerBudget>();

  constructor(private readonly chunksPerSec?: number) {}

  of(peer: number, source: ChunkSource): PeerBudget {
    const key = `${peer}/${source}`;
    let b = this.budgets.get(key);
    if (!b) {
      b = new PeerBudget(Date.now(), this.chunksPerSec);
      this.budgets.set(key, b);
    }
    return b;
  }
}
