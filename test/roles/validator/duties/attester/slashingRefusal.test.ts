import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {join} from "node:path";
import {describe, it} from "node:test";
import {SLASHING_DB_DIR, SlashingProtection} from "../../../../../src/storage/slashing/slashingProtection.js";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";

const DUTIES = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));
/** Node 4 signed an attestation of validator 0 with this target before: every target of epoch 0 is below it. */
const EARLIER_TARGET = 5;

describe("attester duty on a node whose slashing protection has signed a later target", {timeout: 30_000}, () => {
  it("that node refuses to sign (slashing_refused), the other three still submit", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => b.attesterDuties.push(...DUTIES),
      prepare: async (i, cluster) => {
        if (i !== 4) return;
        const db = SlashingProtection.open(join(cluster.dataDir(i), SLASHING_DB_DIR));
        try {
          const pubkey = cluster.pubkey(0);
          await db.checkAndInsertAttestation({
            pubkey,
            sourceEpoch: 0,
            targetEpoch: EARLIER_TARGET,
            signingRoot: "0x" + "ab".repeat(32),
          });
        } finally {
          await db.close();
        }
      },
    });
    await c.awaitResults("attester", DUTIES, 4);
    const refused = c.resultOf("attester", 1, 4, 0);
    assert.equal(refused.status, "failed", JSON.stringify(refused));
    assert.equal(refused.reason, "slashing_refused", JSON.stringify(refused));
    assert.equal(refused.stages.sign, undefined, "node 4's share never signed");
    assert.equal(c.resultOf("attester", 1, 4, 1).status, "submitted", "its other validator");
    for (const node of [1, 2, 3])
      for (const d of DUTIES) assert.equal(c.resultOf("attester", 1, node, d.validatorIndex).status, "submitted");
    const fromNode4 = c.beacon.received.attestations.filter((a) => a.node === 4).map((a) => a.item.attesterIndex);
    assert.deepEqual(fromNode4, [1], "node 4 submitted nothing for validator 0");
  });
});
