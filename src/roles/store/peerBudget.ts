import {MAX_PAYLOAD_BYTES} from "../../hotpath/chunk.js";
import {TokenBucket} from "../../hotpath/tokenBucket.js";

/**
 * Per-peer chunk budget: 1000 chunks/s sustained, bursts of 250. A cluster's honest load is one eth_block,
 * a few qbft steps per duty type and one partial_sig batch per duty per slot: a few hundred chunks per slot,
 * well under 500/s even on a 2 s devnet slot. 2x headroom, then refuse: every admitted chunk costs a signature
 * check (~0.15 ms) and a durable write, and n-1 peers may flood at once.
 */
export const PEER_RATE_PER_SEC = 1000;
export const PEER_BURST = 250;
/**
 * Per-peer byte budget: 2 MiB/s sustained. The heaviest honest chunk is a partial_sig batch of ~400 bytes per
 * validator (a 1,000-validator cluster's attestations: ~400 KB per slot from each peer, 0.2 MB/s on a 2 s
 * slot): 10x headroom. Counting chunks alone let a peer send 1000 MiB/s of 1 MiB chunks; this lets it send 2.
 */
export const PEER_BYTES_PER_SEC = 2 * 1024 * 1024;
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
