import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {isAggregatorFromCommitteeLength} from "@lodestar/state-transition";
import {ssz} from "@lodestar/types";
import {bytesEqual} from "../../../../../src/hotpath/bytes.js";
import {
  aggregateAndProofSigningRoot,
  selectionProofSigningRoot,
} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {decodePartialSigs} from "../../../../../src/roles/validator/exchange/partialSigs.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {MEMORY_SLOT_MS} from "../../../../helpers/dutyHarness/memoryBeacon.js";
import {signedAs, signedBy} from "../../../../helpers/dutyHarness/signatures.js";

/**
 * Validator 0 sits in a committee of 4, where every member aggregates (fewer than TARGET_AGGREGATORS_PER_COMMITTEE
 * * 2); validator 1 in one of 2048, where one in 128 does, and its selection proof for slot 1 makes it none.
 */
const SELECTED = {slot: 1, validatorIndex: 0, committeeIndex: 0, committeeLength: 4, validatorCommitteeIndex: 2};
const NOT_SELECTED = {slot: 1, validatorIndex: 1, committeeIndex: 1, committeeLength: 2048, validatorCommitteeIndex: 7};

describe("aggregator duty", {timeout: 30_000}, () => {
  it("aggregates for the validator its recovered selection proof selects, and reports the other not selected", async (t) => {
    const c = await DutyCluster.start(t, {validators: 2, script: (b) => b.attesterDuties.push(SELECTED, NOT_SELECTED)});
    const proof = (v: number) => signedAs(v, selectionProofSigningRoot(c.beacon.config, 1));
    assert.ok(isAggregatorFromCommitteeLength(SELECTED.committeeLength, proof(0)), "the script's premise");
    assert.ok(!isAggregatorFromCommitteeLength(NOT_SELECTED.committeeLength, proof(1)), "the script's premise");
    await c.awaitResults("aggregator", [SELECTED, NOT_SELECTED], 4);

    for (const node of [1, 2, 3, 4]) {
      const r = c.resultOf("aggregator", 1, node, 0);
      assert.equal(r.status, "submitted", JSON.stringify(r));
      // Published after the aggregate due time (2/3 slot) and within the slot: the latency reports read it.
      const submitMs = (r as {stages?: {submit?: number}}).stages?.submit ?? -1;
      assert.ok(submitMs >= 0 && submitMs < MEMORY_SLOT_MS / 3, `submit stage ${submitMs} ms`);
      assert.equal(c.resultOf("aggregator", 1, node, 1).status, "not_selected");
      const published = c.beacon.received.aggregates.filter((a) => a.node === node);
      assert.equal(published.length, 1, `node ${node} published one aggregate: ${published.length}`);
      const {message, signature} = published[0]?.item as (typeof published)[number]["item"];
      assert.equal(message.aggregatorIndex, 0);
      assert.ok(bytesEqual(message.selectionProof, proof(0)), "the recovered selection proof is the validator's");
      assert.ok(ssz.phase0.AttestationData.equals(message.aggregate.data, c.beacon.attestationData(1)));
      assert.ok(
        message.aggregate.aggregationBits.get(SELECTED.validatorCommitteeIndex),
        "the cluster's attestation in it",
      );
      assert.ok(
        signedBy(0, aggregateAndProofSigningRoot(c.beacon.config, 1, message), signature),
        "signed by validator 0",
      );
    }
  });

  it("signs and exchanges a slot's aggregates in one partial_sig chunk per node", async (t) => {
    // Committees of 4: both validators aggregate, each for its own committee.
    const second = {...SELECTED, validatorIndex: 1, committeeIndex: 1, validatorCommitteeIndex: 0};
    const c = await DutyCluster.start(t, {validators: 2, script: (b) => b.attesterDuties.push(SELECTED, second)});
    await c.awaitResults("aggregator", [SELECTED, second], 4);
    for (const node of [1, 2, 3, 4]) {
      for (const v of [0, 1]) assert.equal(c.resultOf("aggregator", 1, node, v).status, "submitted");
      const chunks = c.hub.published
        .filter((p) => p.from === node && p.kind === "partial_sig")
        .map((p) => decodePartialSigs(p.payload))
        .filter((b) => b?.duty === "aggregate");
      assert.deepEqual(
        chunks.map((b) => b?.sigs.length),
        [2],
        `node ${node}: one chunk with both aggregates' partials`,
      );
    }
  });
});
