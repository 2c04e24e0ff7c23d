import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {toHex} from "../../../../../src/hotpath/bytes.js";
import {decodePartialSigs} from "../../../../../src/roles/validator/exchange/partialSigs.js";
import {Recoverers} from "../../../../../src/roles/validator/exchange/recoverers.js";
import {attestationSigningRoot} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedBy} from "../../../../helpers/dutyHarness/signatures.js";

/** Four validators at each of two slots: with 2 recoverers of 4 rotating, every node is designated for some of them. */
const DUTIES = [1, 2].flatMap((slot) =>
  [0, 1, 2, 3].map((k) => ({
    slot,
    validatorIndex: 4 * (slot - 1) + k,
    committeeIndex: 0,
    validatorCommitteeIndex: k,
  })),
);
const designated = new Recoverers("designated", 4, 3, 1);

describe("attester duty with --recoverers designated", {timeout: 30_000}, () => {
  it("only the n-t+1 designated operators recover and submit; the others sign, share and say who submits", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 8,
      script: (b) => b.attesterDuties.push(...DUTIES),
      node: () => ({recoverers: "designated"}),
    });
    await c.awaitResults("attester", DUTIES, 5);

    for (const d of DUTIES) {
      const by = designated.of(d.slot, d.validatorIndex);
      assert.equal(by.length, 2, "3-of-4: n - t + 1 = 2 recoverers");
      const root = attestationSigningRoot(c.beacon.config, c.beacon.attestationData(d.slot));
      for (const node of [1, 2, 3, 4]) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        const sent = c.beacon.received.attestations.filter(
          (a) => a.node === node && a.item.data.slot === d.slot && a.item.attesterIndex === d.validatorIndex,
        );
        if (by.includes(node)) {
          assert.equal(r.status, "submitted", JSON.stringify(r));
          assert.equal(sent.length, 1, `designated node ${node} submitted slot ${d.slot} v${d.validatorIndex}`);
          assert.ok(signedBy(d.validatorIndex, root, sent[0]?.item.signature as Uint8Array));
        } else {
          assert.equal(r.status, "delegated", JSON.stringify(r));
          assert.equal(typeof r.stages.sign, "number", "a delegating node still signs its share");
          assert.match(r.detail ?? "", new RegExp(`operator\\(s\\) ${by.join(", ")} recover and submit`));
          assert.equal(sent.length, 0, `node ${node} submitted an attestation it was not designated for`);
        }
      }
    }
    for (const slot of [1, 2]) {
      // The four nodes share one pool, and a slot's four validators sign one root: 4 x 2 recoveries, not 4 x 4.
      const root = toHex(attestationSigningRoot(c.beacon.config, c.beacon.attestationData(slot))).slice(2);
      assert.equal(c.pool.started.filter((s) => s.message === root).length, 8, `slot ${slot}`);
    }
    assert.equal(c.beacon.received.attestations.length, DUTIES.length * 2);
    // What a node recovers and what it only shares are signed together: one attester chunk a slot with all four.
    for (const node of [1, 2, 3, 4])
      for (const slot of [1, 2]) {
        const chunks = c.hub.published
          .filter((p) => p.from === node && p.kind === "partial_sig" && p.slot === slot)
          .map((p) => decodePartialSigs(p.payload))
          .filter((b) => b?.duty === "attester");
        assert.deepEqual(
          chunks.map((b) => b?.sigs.length),
          [4],
          `node ${node} slot ${slot}`,
        );
      }
  });

  it("with one node down, every attestation is still submitted by a designated node that is up", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 8,
      script: (b) => b.attesterDuties.push(...DUTIES),
      node: () => ({recoverers: "designated"}),
    });
    c.hub.down.add(4);
    await c.awaitResults("attester", DUTIES, 5, [1, 2, 3]);
    for (const d of DUTIES) {
      const up = designated.of(d.slot, d.validatorIndex).filter((n) => n !== 4);
      assert.ok(up.length >= 1, "a designated node is up whenever a quorum is");
      const submitted = c.beacon.received.attestations.filter(
        (a) => a.item.data.slot === d.slot && a.item.attesterIndex === d.validatorIndex,
      );
      assert.deepEqual(submitted.map((a) => a.node).sort(), up, `slot ${d.slot} v${d.validatorIndex}`);
      for (const node of up) assert.equal(c.resultOf("attester", d.slot, node, d.validatorIndex).status, "submitted");
    }
  });
});
