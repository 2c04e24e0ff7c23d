import type {DutyResult} from "../src/roles/validator/duties/attester/attesterService.js";
import type {SyncMessageResult} from "../src/roles/validator/duties/sync/syncCommitteeService.js";
import type {AnyDutyResult} from "../src/roles/validator/validatorRole.js";
import {type BenchRow, latencyStats} from "./harness.js";

/** Says in every duty row what the setup is, so that none reads as a deployed cluster's numbers. */
export const IN_PROCESS_SETUP =
  "4 nodes in one process (one event loop, one BLS pool, in-memory transport: no libp2p, no series)";

export interface Submissions {
  /** Due->submit (ms) of every node's submission. */
  latency: ReturnType<typeof latencyStats>;
  /** Duties (slot and validator) at least one node submitted on time. */
  onTime: number;
  /** Duties the nodes had: every slot and validator a result was recorded for. */
  scheduled: number;
  /** Results that were not a submission, by status. */
  notSubmitted: Record<string, number>;
}

/**
 * What was done about one duty type. On time: submitted within 1/3 slot of the due time, when the slot's
 * aggregation starts (the devnet report's deadline too); later, a vote no longer reaches its aggregate.
 */
export function submissions(results: AnyDutyResult[], duty: "attester" | "sync_message", slotMs: number): Submissions {
  const mine = results.filter((r): r is DutyResult | SyncMessageResult => r.duty === duty);
  // "late" was submitted too, after the deadline: its latency counts, it is just not on time.
  const submitMs = (r: DutyResult | SyncMessageResult) =>
    r.status === "submitted" || r.status === "late" ? r.stages.submit : undefined;
  const onTime = new Set(
    mine.filter((r) => (submitMs(r) ?? Infinity) <= slotMs / 3).map((r) => `${r.slot}/${r.pubkey}`),
  );
  const notSubmitted: Record<string, number> = {};
  for (const r of mine) if (submitMs(r) === undefined) notSubmitted[r.status] = (notSubmitted[r.status] ?? 0) + 1;
  return {
    latency: latencyStats(mine.flatMap((r) => submitMs(r) ?? [])),
    onTime: onTime.size,
    scheduled: new Set(mine.map((r) => `${r.slot}/${r.pubkey}`)).size,
    notSubmitted,
  };
}

/** ops/s: duties submitted on time per second; latency columns and samples: every submission. */
export function submissionRow(what: string, x: Submissions, seconds: number, validators: number): BenchRow {
  return {
    suite: "duties",
    task: `${what} submitted on time per s (ops/s); due->submit of every submission (ms), ${validators} validators, ${IN_PROCESS_SETUP}`,
    opsPerSec: x.onTime / seconds,
    meanMs: x.latency.mean,
    p99Ms: x.latency.p99,
    samples: x.latency.count,
  };
}
