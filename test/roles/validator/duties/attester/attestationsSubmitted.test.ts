import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {ssz} from "@lodestar/types";
import {attestationSigningRoot} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedBy} from "../../../../helpers/dutyHarness/signatures.js";

/** Two slots of attester duties, two committees: (slot, validator, committee). */
const DUTIES = [
  {slot: 1, validatorIndex: 0, committeeIndex: 0, validatorCommitteeIndex: 0},
  {slot: 1, validatorIndex: 1, committeeIndex: 1, validatorCommitteeIndex: 2},
  {slot: 2, validatorIndex: 2, committeeIndex: 0, validatorCommitteeIndex: 1},
  {slot: 2, validatorIndex: 3, committeeIndex: 0, validatorCommitteeIndex: 3},
];

describe("attester duty on a healthy cluster", {timeout: 30_000}, () => {
  it("submits each duty once per node, the recovered signature the validator's over the agreed data", async (t) => {
    const c = await DutyCluster.start(t, {validators: 4, script: (b) => b.attesterDuties.push(...DUTIES)});
    await c.awaitResults("attester", DUTIES, 5);

    for (const d of DUTIES) {
      for (const node of [1, 2, 3, 4]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "submitted", JSON.stringify(r));
        const sent = c.beacon.received.attestations.filter(
          (a) => a.node === node && a.item.data.slot === d.slot && a.item.attesterIndex === d.validatorIndex,
        );
        assert.equal(sent.length, 1, `node ${node} submitted slot ${d.slot} validator ${d.validatorIndex} once`);
        const att = sent[0]?.item as (typeof sent)[number]["item"];
        assert.equal(att.committeeIndex, d.committeeIndex);
        assert.ok(
          ssz.phase0.AttestationData.equals(att.data, c.beacon.attestationData(d.slot)),
          "the data every node fetched",
        );
        assert.ok(
          signedBy(d.validatorIndex, attestationSigningRoot(c.beacon.config, att.data), att.signature),
          `slot ${d.slot} validator ${d.validatorIndex}: the validator's signature over the agreed data`,
        );
      }
    }
    assert.equal(c.beacon.received.attestations.length, DUTIES.length * 4, "nothing but the scripted duties");
    assert.ok(c.beacon.received.attestations.every((a) => !a.refused));
  });
});
