import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DutyCluster} from "../../../../helpers/dutyHarness/dutyCluster.js";
import {MEMORY_SLOT_MS} from "../../../../helpers/dutyHarness/memoryBeacon.js";

const DUTIES = [0, 1].map((validatorIndex) => ({slot: 1, validatorIndex}));
/** From the due time (a third of the slot) to the late point (two thirds), in ms. */
const DUE_TO_LATE_MS = MEMORY_SLOT_MS / 3;
/** The attestation data comes this long after the due time: past the late point before consensus even starts. */
const DATA_DELAY_MS = Math.round(DUE_TO_LATE_MS * 1.4);

describe("attester duty whose attestation data comes late", {timeout: 30_000}, () => {
  it("is still agreed and submitted, and reported late with the fetch stage that made it so", async (t) => {
    const c = await DutyCluster.start(t, {
      validators: 2,
      script: (b) => {
        b.attesterDuties.push(...DUTIES);
        b.fault("produceAttestationData", {delayMs: DATA_DELAY_MS});
      },
    });
    await c.awaitResults("attester", DUTIES, 4);
    for (const node of [1, 2, 3, 4]) {
      for (const d of DUTIES) {
        const r = c.resultOf("attester", d.slot, node, d.validatorIndex);
        assert.equal(r.status, "late", JSON.stringify(r));
        assert.match(r.detail ?? "", /after the aggregators fetched/);
        const stages = r.stages;
        assert.ok((stages.fetch ?? 0) >= DATA_DELAY_MS, `fetch ended ${stages.fetch} ms after the due time`);
        assert.ok((stages.submit ?? 0) > DUE_TO_LATE_MS, `submitted ${stages.submit} ms after the due time`);
      }
    }
    assert.equal(c.beacon.received.attestations.length, DUTIES.length * 4, "late, but submitted");
  });
});
