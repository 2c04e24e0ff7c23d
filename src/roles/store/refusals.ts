import {toHex} from "../../hotpath/bytes.js";
import {type Chunk, chunkId} from "../../hotpath/chunk.js";
import {jsonBody} from "../../storage/entry.js";
import type {RefusedEntryBody} from "../../storage/views.js";
import type {Reply, StoreComponents} from "./components.js";
import type {BudgetRefusal} from "./peerBudget.js";

/** Rate-limit refusals are summarised once a second per peer: a flood must not become a flood of disk writes. */
const RATE_SUMMARY_MS = 1000;

/**
 * Refusing a chunk: its answer to the sender, a count, a metric and a series entry. A refusal after the budget
 * (size, signature, limiters, queue) is a `chunk_refused` entry of its own; budget refusals, which a flood makes
 * by the thousand, are summed per peer and reason into one `rate_limited` entry a second.
 */
export class Refusals {
  private readonly rateLimited = new Map<string, {peer: number; reason: BudgetRefusal; count: number}>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly c: StoreComponents) {}

  start(): void {
    this.timer = setInterval(() => this.flushRateSummaries(), RATE_SUMMARY_MS);
  }

  /** Writes the summaries still open: a stop must not lose the last second's refusals. */
  stop(): void {
    clearInterval(this.timer);
    this.flushRateSummaries();
  }

  /** A chunk over its sender's budget, refused before anything else is read of it. */
  overBudget(from: number, reason: BudgetRefusal, reply: Reply): void {
    const key = `${from}/${reason}`;
    const r = this.rateLimited.get(key) ?? {peer: from, reason, count: 0};
    r.count++;
    this.rateLimited.set(key, r);
    this.c.metrics?.chunksRefused.inc({kind: "unknown", limiter: "rate", reason});
    this.c.stats.refused++;
    reply({status: "refused", limiter: "rate", reason});
  }

  /** A chunk refused by `limiter` (or a check: size, signature, malformed), with what is known of it. */
  refuse(
    from: number,
    chunk: Chunk | undefined,
    encoded: Uint8Array,
    limiter: string,
    reason: string,
    reply: Reply,
    header?: Pick<Chunk, "kind" | "slot" | "origin">,
  ): void {
    this.c.stats.refused++;
    const known = chunk ?? header;
    const kind = known?.kind ?? "unknown";
    this.c.metrics?.chunksRefused.inc({kind, limiter, reason});
    const body: RefusedEntryBody = {
      from,
      origin: known?.origin ?? 0,
      kind,
      slot: known?.slot ?? 0,
      id: toHex(chunkId(encoded)),
      limiter,
      reason,
    };
    void this.c.series
      .append("chunk_refused", jsonBody(body), "batched")
      .catch(() => this.c.metrics?.seriesErrors.inc());
    reply({status: "refused", limiter, reason});
  }

  private flushRateSummaries(): void {
    for (const r of this.rateLimited.values()) {
      void this.c.series.append("rate_limited", jsonBody(r), "batched").catch(() => this.c.metrics?.seriesErrors.inc());
    }
    this.rateLimited.clear();
  }
}
