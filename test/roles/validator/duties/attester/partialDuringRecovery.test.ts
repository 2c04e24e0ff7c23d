import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {badPartialsFromNode3} from "../../../../helpers/dutyHarness/badPartials.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

const DUTIES = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));
/** A worker this far behind (a loaded machine; seen at 100-300 ms while another suite ran) answers each recovery late. */
const SLOW_WORKER_MS = 100;

/**
 * SignatureExchange starts a recovery once `threshold` partials are in and, while it runs, only collects the
 * partials that come. When that recovery fails (node 3's partial is bad), it must try again with the partial that
 * came meanwhile; before it did, the duty failed with recover_timeout although three valid partials were there. On
 * a loaded machine this is what the invalid-partial case came to whenever node 4's partial landed mid-recovery.
 */
describe("attester duty whose last honest partial comes during a recovery", {timeout: 30_000}, () => {
  it("recovers from the three honest partials once the recovery with the bad one failed", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => b.attesterDuties.push(...DUTIES),
      // Node 4's attestation partials go out once nodes 1, 2 and 3 have each started every attestation recovery
      // without them. Those are the recoveries over the second message the pool saw: the first is the slot's
      // selection proof, made a slot ahead, whose recoveries without node 4 must not release it early.
      node: badPartialsFromNode3((pool) => {
        const attestation = [...new Set(pool.started.map((r) => r.message))][1];
        const without4 = pool.started.filter((r) => r.message === attestation && !r.shares.includes(4));
        return attestation !== undefined && without4.length === 3 * DUTIES.length;
      }),
    });
    c.pool.answerDelayMs = SLOW_WORKER_MS;
    await c.awaitResults("attester", DUTIES, 5, [1, 2]);
    for (const d of DUTIES) {
      for (const node of [1, 2]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        // Late is fair: the slow worker answers each of the two recoveries SLOW_WORKER_MS late.
        assert.ok(r.status === "submitted" || r.status === "late", JSON.stringify(r));
        assert.deepEqual(r.invalidPartials, [3], JSON.stringify(r));
      }
    }
  });
});
