import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import type {electra} from "@lodestar/types";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

const DUTIES = [0, 1, 2].map((validatorIndex) => ({slot: 1, validatorIndex}));
const REFUSED = 1;
const WHY = "scripted: signature not valid for this chain";

describe("attester duty whose beacon node refuses one attestation of a batch", {timeout: 30_000}, () => {
  it("ends that duty submit_failed with the node's reason, the others of the batch submitted", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 3,
      script: (b) =>
        b.fault("submitPoolAttestationsV2", {
          refuse: (a) => ((a as electra.SingleAttestation).attesterIndex === REFUSED ? WHY : undefined),
        }),
    });
    c.beacon.attesterDuties.push(...DUTIES);
    await c.awaitResults("attester", DUTIES, 4);
    for (const node of [1, 2, 3, 4]) {
      for (const d of DUTIES) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        if (d.validatorIndex !== REFUSED) {
          assert.equal(r.status, "submitted", JSON.stringify(r));
          continue;
        }
        assert.equal(r.status, "failed", JSON.stringify(r));
        assert.equal(r.reason, "submit_failed", JSON.stringify(r));
        assert.match(r.detail ?? "", new RegExp(WHY));
      }
    }
    // Asked once with the whole batch (the refusal names its item), not again item by item.
    const sent = c.beacon.received.attestations;
    assert.equal(sent.length, DUTIES.length * 4, JSON.stringify(sent.map((a) => [a.node, a.item.attesterIndex])));
    assert.ok(sent.every((a) => (a.refused !== undefined) === (a.item.attesterIndex === REFUSED)));
  });
});
