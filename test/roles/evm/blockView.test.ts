import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {type BlockView, decodeBlockView, encodeBlockView, viewOf} from "../../../src/roles/evm/blockView.js";
import {EvmError} from "../../../src/roles/evm/errors.js";

const root = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const timings = {slotsMs: 1, signaturesMs: 2, blockMs: 3, hashMs: 4, executionMs: 5, totalMs: 15};

function refusedOn(payload: unknown, field: string, slot = 5): void {
  const bytes = typeof payload === "string" ? Buffer.from(payload) : encodeBlockView(payload as BlockView);
  assert.throws(
    () => decodeBlockView(bytes, slot),
    (e: unknown) => e instanceof EvmError && e.type.code === "EVM_BAD_BLOCK_VIEW" && e.type.field === field,
    `refused on ${field}`,
  );
}

describe("block views (eth_block chunk payloads)", () => {
  it("carries a verdict in the issue's words, and reads back what was sent", () => {
    const valid = viewOf({
      status: "verified",
      slot: 5,
      root: root(5).toUpperCase().replace("0X", "0x"),
      parentRoot: root(4),
      stateRoot: root(55),
      executed: true,
      executionBlockHash: root(555),
      timings,
    });
    assert.deepEqual(valid, {
      slot: 5,
      root: root(5),
      parentRoot: root(4),
      verdict: "valid",
      stateRoot: root(55),
      executed: true,
      executionBlockHash: root(555),
      timings,
    });
    assert.deepEqual(decodeBlockView(encodeBlockView(valid as BlockView), 5), valid);
    const invalid = viewOf({
      status: "invalid",
      slot: 5,
      root: root(6),
      parentRoot: root(4),
      reason: "bad_state_root",
      detail: "x".repeat(2000),
    });
    assert.equal(invalid?.verdict, "invalid");
    assert.equal(invalid?.detail?.length, 512, "a long detail is cut, not refused by every peer");
    assert.deepEqual(decodeBlockView(encodeBlockView(invalid as BlockView), 5), invalid);
    const unverified = viewOf({
      status: "unavailable",
      slot: 5,
      root: root(7),
      parentRoot: root(4),
      reason: "fetch_failed",
      detail: "404",
    });
    assert.equal(unverified?.verdict, "unverified");
    assert.equal(
      viewOf({status: "unavailable", root: root(8), reason: "fetch_failed", detail: "404"}),
      null,
      "no slot, no view",
    );
  });

  it("refuses a payload that is not a view, naming the field", () => {
    const ok = {slot: 5, root: root(5), parentRoot: root(4), verdict: "valid"};
    refusedOn("not json", "payload");
    refusedOn("[1,2]", "payload");
    refusedOn(ok, "slot", 6);
    refusedOn({...ok, root: "0x1234"}, "root");
    refusedOn({...ok, root: root(5).replace("0x0", "0xA")}, "root");
    refusedOn({...ok, verdict: "maybe"}, "verdict");
    refusedOn({...ok, verdict: "invalid"}, "reason");
    refusedOn({...ok, detail: "y".repeat(513)}, "detail");
    refusedOn({...ok, timings: {...timings, totalMs: -1}}, "timings.totalMs");
    refusedOn({...ok, extra: 1}, "payload");
    assert.deepEqual(decodeBlockView(Buffer.from(JSON.stringify(ok)), 5), ok);
  });
});
