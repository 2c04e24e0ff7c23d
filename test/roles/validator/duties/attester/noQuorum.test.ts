import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

const DUTIES = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));

describe("attester duty with two of four nodes down", {timeout: 30_000}, () => {
  it("fails with no_quorum on the nodes still up, naming the silent ones, and submits nothing", async (t) => {
    const c = await DutyCluster.start(t, {validators: 2, script: (b) => b.attesterDuties.push(...DUTIES)});
    c.hub.down.add(3).add(4);
    // A duty's consensus gives up two slots after its own.
    await c.awaitResults("attester", DUTIES, 5, [1, 2]);
    for (const d of DUTIES) {
      for (const node of [1, 2]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "no_quorum", JSON.stringify(r));
        assert.deepEqual(r.missing, [3, 4], JSON.stringify(r));
        assert.match(r.detail ?? "", /nothing from node\(s\) 3, 4/);
      }
    }
    assert.deepEqual(c.beacon.received.attestations, [], "no attestation without a quorum");
  });
});
