import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import {bytesEqual} from "../../../../../src/hotpath/bytes.js";
import {
  contributionAndProofSigningRoot,
  syncCommitteeMessageSigningRoot,
  syncSelectionProofSigningRoot,
} from "../../../../../src/roles/validator/signing/signingRoots.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {signedAs, signedBy} from "../../../../helpers/dutyHarness/signatures.js";

const SLOT = 1;
/**
 * Sync committee positions: validator 0 in subcommittee 0, validator 1 twice, in subcommittees 1 and 2 (positions
 * / SYNC_COMMITTEE_SUBNET_SIZE). The minimal preset's subcommittees are small enough that every member aggregates.
 */
const POSITIONS = new Map([
  [0, [3]],
  [1, [SYNC_COMMITTEE_SUBNET_SIZE + 1, 2 * SYNC_COMMITTEE_SUBNET_SIZE + 5]],
]);
const CONTRIBUTIONS = [...POSITIONS].flatMap(([v, ps]) =>
  ps.map((p) => ({v, p, sub: Math.floor(p / SYNC_COMMITTEE_SUBNET_SIZE)})),
);

describe("sync committee duties", {timeout: 30_000}, () => {
  it("submit each member's message over the head root and a contribution per subcommittee it sits in", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => POSITIONS.forEach((p, v) => b.syncCommittee.set(v, p)),
    });
    const done = () =>
      [1, 2, 3, 4].every(
        (node) =>
          c.resultsOf("sync_message", SLOT, {node}).length === POSITIONS.size &&
          c.resultsOf("sync_contribution", SLOT, {node}).length === CONTRIBUTIONS.length,
      );
    await c.until("every node's sync message and contribution results", done, SLOT + 3);
    const {config} = c.beacon;
    const head = c.beacon.blockRoot(SLOT);

    for (const node of [1, 2, 3, 4]) {
      const results = [...c.resultsOf("sync_message", SLOT, {node}), ...c.resultsOf("sync_contribution", SLOT, {node})];
      for (const r of results) assert.equal(r.status, "submitted", JSON.stringify(r));
      for (const v of POSITIONS.keys()) {
        const sent = c.beacon.received.syncMessages.filter(
          (m) => m.node === node && m.item.slot === SLOT && m.item.validatorIndex === v,
        );
        assert.equal(sent.length, 1, `node ${node} sent validator ${v}'s message once`);
        const m = sent[0]?.item as (typeof sent)[number]["item"];
        assert.ok(bytesEqual(m.beaconBlockRoot, head), "over the head the beacon node gave");
        assert.ok(
          signedBy(v, syncCommitteeMessageSigningRoot(config, SLOT, head), m.signature),
          `validator ${v}'s signature`,
        );
      }
      const published = c.beacon.received.contributions.filter(
        (x) => x.node === node && x.item.message.contribution.slot === SLOT,
      );
      assert.equal(
        published.length,
        CONTRIBUTIONS.length,
        `node ${node}: one contribution per member and subcommittee`,
      );
      for (const {v, p, sub} of CONTRIBUTIONS) {
        const s = published.find(
          (x) => x.item.message.aggregatorIndex === v && x.item.message.contribution.subcommitteeIndex === sub,
        );
        assert.ok(s, `node ${node} published validator ${v}'s contribution to subcommittee ${sub}`);
        const {message, signature} = s.item;
        assert.ok(bytesEqual(message.selectionProof, signedAs(v, syncSelectionProofSigningRoot(config, SLOT, sub))));
        assert.ok(bytesEqual(message.contribution.beaconBlockRoot, head));
        assert.ok(
          message.contribution.aggregationBits.get(p % SYNC_COMMITTEE_SUBNET_SIZE),
          "the member's own message in it",
        );
        assert.ok(
          signedBy(v, contributionAndProofSigningRoot(config, message), signature),
          `validator ${v}'s signature`,
        );
      }
    }
  });
});
