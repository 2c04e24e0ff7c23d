import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {corruptingPartials} from "../../../../helpers/memoryTransport.js";

const DUTIES = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));

describe("attester duty with a node sending invalid partials while a fourth is away", {timeout: 30_000}, () => {
  it("fails with invalid_partial, naming the bad node, and submits nothing", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => b.attesterDuties.push(...DUTIES),
      node: (i, cluster) => (i === 3 ? {transport: corruptingPartials(cluster.hub.transport(i))} : {}),
    });
    c.hub.down.add(4);
    // Three partials arrive, one of them bad: the signature can never be recovered, and the duty gives up when it
    // expires two slots after its own.
    await c.awaitResults("attester", DUTIES, 4, [1, 2]);
    for (const d of DUTIES) {
      for (const node of [1, 2]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "invalid_partial", JSON.stringify(r));
        assert.deepEqual(r.invalidPartials, [3], JSON.stringify(r));
        assert.match(r.detail ?? "", /node\(s\) 3 did not verify/);
      }
    }
    // Node 3 recovers from its own honest partial and submits; nodes 1 and 2 never had three valid ones.
    assert.deepEqual(
      c.beacon.received.attestations.filter((a) => a.node !== 3).map((a) => a.node),
      [],
      "nodes 1 and 2 submitted nothing",
    );
  });
});
