import "../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {DecidedValues} from "../../../../src/roles/validator/consensus/decidedValues.js";

/** A deadline that rejects after `ms` (or never, for ms = Infinity). */
function deadline(ms: number): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (ms !== Infinity) setTimeout(() => reject(new Error("deadline")), ms);
  });
}

describe("DecidedValues", () => {
  it("hands a decision to a duty that waited for it, and to one that asks after it", async () => {
    const d = new DecidedValues();
    const early = d.await("sync_message", 5, deadline(Infinity));
    d.set("sync_message", 5, new Uint8Array([1]));
    assert.deepEqual(await early, new Uint8Array([1]));
    assert.deepEqual(await d.await("sync_message", 5, deadline(Infinity)), new Uint8Array([1]));
  });

  it("keeps duty types and slots apart", async () => {
    const d = new DecidedValues();
    d.set("sync_message", 5, new Uint8Array([5]));
    await assert.rejects(d.await("sync_message", 6, deadline(5)), /deadline/);
    await assert.rejects(d.await("attester", 5, deadline(5)), /deadline/);
  });

  it("gives the deadline's rejection when no decision comes", async () => {
    const d = new DecidedValues();
    await assert.rejects(d.await("attester", 3, deadline(5)), /deadline/);
  });

  it("forgets waits that were never decided once later slots are awaited", async () => {
    const d = new DecidedValues();
    void d.await("attester", 1, deadline(Infinity));
    for (let slot = 2; slot < 100; slot++) void d.await("attester", slot, deadline(Infinity));
    assert.ok(d.size <= 3, `${d.size} entries kept`);
  });

  it("forgets decisions more than two slots behind the newest", async () => {
    const d = new DecidedValues();
    d.set("sync_message", 1, new Uint8Array([1]));
    d.set("sync_message", 3, new Uint8Array([3]));
    assert.deepEqual(await d.await("sync_message", 1, deadline(Infinity)), new Uint8Array([1]), "two behind: kept");
    d.set("sync_message", 4, new Uint8Array([4]));
    await assert.rejects(d.await("sync_message", 1, deadline(5)), /deadline/);
    assert.deepEqual(await d.await("sync_message", 3, deadline(Infinity)), new Uint8Array([3]));
  });
});
