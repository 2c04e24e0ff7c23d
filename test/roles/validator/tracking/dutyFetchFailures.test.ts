import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {BlindSlots} from "../../../../src/roles/validator/tracking/dutyFetchFailures.js";

describe("BlindSlots", () => {
  it("hands the blind slots of an epoch fetched late over once, with the fetch's error", () => {
    const b = new BlindSlots("attester");
    b.fetchFailed(2, new Error("HTTP 500"));
    b.mark(16);
    b.mark(17);
    b.mark(17);
    const late = b.takeFetched(2);
    assert.deepEqual([...(late?.slots ?? [])], [16, 17]);
    assert.equal(late?.outcome.reason, "duty_fetch_failed");
    assert.match(late?.outcome.detail ?? "", /epoch 2 .*HTTP 500/);
    assert.equal(b.takeFetched(2), undefined, "reported once");
    assert.deepEqual(b.takeUnfetched(10), []);
  });

  it("closes an epoch never fetched with its window, and ignores its slots marked after that", () => {
    const b = new BlindSlots("proposer");
    b.mark(25);
    b.fetchFailed(3, new Error("timeout"));
    b.mark(31);
    assert.deepEqual(b.takeUnfetched(3), [], "epoch 3 not over yet");
    const [u, ...more] = b.takeUnfetched(4);
    assert.equal(more.length, 0);
    assert.deepEqual([u?.epoch, u?.window], [3, {from: 25, to: 31}]);
    assert.deepEqual(u?.outcome.window, {from: 25, to: 31});
    assert.match(u?.outcome.detail ?? "", /never fetched \(slots 25-31.*timeout/);
    b.mark(30);
    assert.deepEqual(b.takeUnfetched(5), [], "a slot of a closed epoch, run late, is covered by its epoch-wide result");
  });
});
