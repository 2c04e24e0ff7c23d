import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

/** Slot 1's duties meet two nodes away; slot 4's come after they are back. */
const SILENT = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));
const AFTER = [0, 1].map((validatorIndex) => ({slot: 4, validatorIndex}));

describe("attester duty with two of four nodes down", {timeout: 30_000}, () => {
  it("fails with no_quorum on the nodes still up, naming the silent ones, and submits again once they return", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => b.attesterDuties.push(...SILENT, ...AFTER),
    });
    c.hub.down.add(3).add(4);
    // A duty's consensus gives up two slots after its own: slot 1's results come at slot 3.
    await c.awaitResults("attester", SILENT, 4, [1, 2]);
    c.hub.down.clear();
    for (const d of SILENT) {
      for (const node of [1, 2]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "no_quorum", JSON.stringify(r));
        assert.deepEqual(r.missing, [3, 4], JSON.stringify(r));
        assert.match(r.detail ?? "", /nothing from node\(s\) 3, 4/);
      }
    }
    assert.deepEqual(c.beacon.received.attestations, [], "no attestation without a quorum");

    await c.awaitResults("attester", AFTER, 7);
    for (const d of AFTER)
      for (const node of [1, 2, 3, 4]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "submitted", `node ${node} after the return: ${JSON.stringify(r)}`);
      }
  });
});
