import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {submissionRow, submissions} from "../../bench/dutyRows.js";
import {emptyRows} from "../../bench/harness.js";
import type {AnyDutyResult} from "../../src/roles/validator/validatorRole.js";

const SLOT_MS = 2000;

/** Node `node`'s result for validator `v`'s attestation of slot 1: submitted `ms` after due, or failed. */
function attestation(node: number, v: string, ms: number | "failed"): AnyDutyResult {
  if (ms === "failed")
    return {
      duty: "attester",
      slot: 1,
      pubkey: v,
      validatorIndex: node,
      status: "failed",
      reason: "no_quorum",
      stages: {fetch: 5},
    };
  // The attester service calls a submission after 1/3 slot "late" (it still went out).
  return {
    duty: "attester",
    slot: 1,
    pubkey: v,
    validatorIndex: node,
    status: ms > SLOT_MS / 3 ? "late" : "submitted",
    stages: {consensus: ms - 100, submit: ms},
  };
}

describe("duty bench rows", () => {
  it("count duties submitted on time per second, not duties scheduled, and time every node's submission", () => {
    const results: AnyDutyResult[] = [
      // a: every node on time; b: two nodes late (900 ms, past the 667 ms deadline), two failed; c: failed everywhere.
      ...[1, 2, 3, 4].map((n) => attestation(n, "a", 300 + n)),
      ...[1, 2].map((n) => attestation(n, "b", 900)),
      ...[3, 4].map((n) => attestation(n, "b", "failed")),
      ...[1, 2, 3, 4].map((n) => attestation(n, "c", "failed")),
      {duty: "aggregator", slot: 1, pubkey: "a", validatorIndex: 0, status: "submitted"},
    ];
    const x = submissions(results, "attester", SLOT_MS);
    assert.deepEqual([x.onTime, x.scheduled, x.latency.count, x.notSubmitted], [1, 3, 6, {failed: 6}]);
    const row = submissionRow("attestations", x, 2, 64);
    // 1 duty on time in 2 s; 3 scheduled duties would be 1.5/s.
    assert.equal(row.opsPerSec, 0.5);
    assert.equal(row.samples, 6);
    assert.equal(row.p99Ms, 900);
    assert.match(
      row.task,
      /^attestations submitted on time per s .*64 validators, 4 nodes in one process \(one event loop, one BLS pool/,
    );
    assert.deepEqual(emptyRows([row]), []);
  });

  it("flag a row with no submission at all as measuring nothing", () => {
    const x = submissions(
      [1, 2, 3, 4].map((n) => attestation(n, "a", "failed")),
      "attester",
      SLOT_MS,
    );
    const row = submissionRow("attestations", x, 2, 1024);
    assert.equal(row.opsPerSec, 0);
    assert.deepEqual(emptyRows([row]), [row]);
  });
});
