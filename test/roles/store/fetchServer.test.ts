import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {CATCHUP_MAX_SLOTS, FetchError, parseFetchRequest, requestedRange} from "../../../src/roles/store/fetchServer.js";

const bytes = (x: unknown) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x));

describe("fetch requests", () => {
  it("refuses malformed requests with FETCH_BAD_REQUEST", () => {
    for (const bad of ["not json", {fromSlot: -1}, {kind: "nonsense"}, {durableOnly: "yes"}, {ids: ["0x12"]}, {fromSlot: 1, extra: true}]) {
      assert.throws(() => parseFetchRequest(bytes(bad)), (e: unknown) => e instanceof FetchError && e.code === "FETCH_BAD_REQUEST", JSON.stringify(bad));
    }
  });

  it("clamps the slot range to CATCHUP_MAX_SLOTS from its start", () => {
    const req = parseFetchRequest(bytes({fromSlot: 10, toSlot: 1_000_000, durableOnly: true}));
    assert.deepEqual(requestedRange(req), {from: 10, to: 10 + CATCHUP_MAX_SLOTS});
    assert.equal(req.durableOnly, true);
  });
});
