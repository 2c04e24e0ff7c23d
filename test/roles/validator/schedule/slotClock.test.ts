import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DUTY_TYPES, DUTY_TYPE_NAMES} from "../../../../src/roles/validator/dutyTypes.js";
import {SlotClock} from "../../../../src/roles/validator/schedule/slotClock.js";

describe("the slot clock and the duty table", () => {
  it("reads slot length from the spec, SLOT_DURATION_MS before SECONDS_PER_SLOT", () => {
    assert.equal(SlotClock.fromSpec("100", {SECONDS_PER_SLOT: "12"}).slotMs, 12_000);
    assert.equal(SlotClock.fromSpec("100", {SECONDS_PER_SLOT: "12", SLOT_DURATION_MS: "6000"}).slotMs, 6000);
    const c = SlotClock.fromSpec("100", {SECONDS_PER_SLOT: "2"});
    assert.equal(c.slotStartMs(5), 110_000);
    assert.equal(c.currentSlot(110_000), 5);
    assert.equal(c.currentSlot(111_999), 5);
    assert.equal(c.currentSlot(50_000), 0, "before genesis is slot 0");
  });

  it("refuses a spec without a slot length, saying what it read", () => {
    assert.throws(() => SlotClock.fromSpec("100", {}), /SLOT_DURATION_MS=undefined SECONDS_PER_SLOT=undefined/);
    assert.throws(() => SlotClock.fromSpec("x", {SECONDS_PER_SLOT: "12"}), /genesis_time=x/);
  });

  it("puts duties at a third and two thirds of the slot on specs without *_DUE_BPS, to the millisecond", () => {
    const c = SlotClock.fromSpec(0, {SECONDS_PER_SLOT: "2"});
    assert.equal(c.dueMs("slot_start", 1), 2000);
    assert.equal(c.dueMs("attestation", 1), 2666);
    assert.equal(c.dueMs("sync_message", 1), 2666);
    assert.equal(c.dueMs("aggregate", 1), 3333);
    assert.equal(c.dueMs("contribution", 1), 3333);
    assert.equal(SlotClock.fromSpec(0, {SECONDS_PER_SLOT: "12"}).dueMs("attestation", 0), 4000);
  });

  it("follows the spec's *_DUE_BPS where it has them (Gloas: a quarter and a half)", () => {
    const c = SlotClock.fromSpec(0, {
      SLOT_DURATION_MS: "12000",
      ATTESTATION_DUE_BPS: "2500",
      SYNC_MESSAGE_DUE_BPS: "2500",
      AGGREGATE_DUE_BPS: "5000",
      CONTRIBUTION_DUE_BPS: "5000",
    });
    assert.deepEqual(
      (["attestation", "sync_message", "aggregate", "contribution"] as const).map((p) => c.dueMs(p, 0)),
      [3000, 3000, 6000, 6000],
    );
    // A value outside the slot is no deadline: the classic one stands.
    assert.equal(
      SlotClock.fromSpec(0, {SLOT_DURATION_MS: "12000", ATTESTATION_DUE_BPS: "12000"}).dueMs("attestation", 0),
      4000,
    );
  });

  it("gives every duty type its own leader term, so no operator leads all of a slot's duties", () => {
    const terms = DUTY_TYPE_NAMES.map((t) => DUTY_TYPES[t].leaderIndex);
    assert.equal(new Set(terms).size, DUTY_TYPE_NAMES.length);
    assert.deepEqual(DUTY_TYPE_NAMES, ["attester", "proposer", "aggregator", "sync_message", "sync_contribution"]);
  });
});
