import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {SubmitBatcher} from "../../../../src/roles/validator/beacon/submitBatcher.js";

describe("SubmitBatcher with per-item verdicts", () => {
  it("rejects only the items the beacon node refused; the others of their batch resolve", async () => {
    const b = new SubmitBatcher<number>(
      async (items) => new Map(items.flatMap((x, i) => (x < 0 ? [[i, new Error(`item ${x} refused`)] as const] : []))),
    );
    const settled = await Promise.allSettled([b.add(1), b.add(-2), b.add(3)]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /item -2 refused/);
  });
});
