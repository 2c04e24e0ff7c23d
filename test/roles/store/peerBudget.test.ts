import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {MAX_PAYLOAD_BYTES} from "../../../src/hotpath/chunk.js";
import {PEER_BYTE_BURST, PEER_BYTES_PER_SEC, PeerBudget} from "../../../src/roles/store/peerBudget.js";

describe("per-peer budget in chunks and bytes", () => {
  it("refuses 1 MiB chunks by bytes after the byte burst, though the chunk budget has room", () => {
    const b = new PeerBudget(0);
    let n = 0;
    while (b.take(MAX_PAYLOAD_BYTES, 0) === undefined) n++;
    assert.equal(n, Math.floor(PEER_BYTE_BURST / MAX_PAYLOAD_BYTES));
    assert.equal(b.take(MAX_PAYLOAD_BYTES, 0), "byte_rate_limited");
    // One second later one more second's worth of bytes is back.
    let later = 0;
    while (b.take(64 * 1024, 1000) === undefined) later++;
    assert.ok(later * 64 * 1024 <= PEER_BYTES_PER_SEC + 64 * 1024, `${later} chunks of 64 KiB in the second second`);
  });

  it("refuses by chunks (rate_limited) when small chunks spend the chunk budget", () => {
    const b = new PeerBudget(0);
    let n = 0;
    while (b.take(100, 0) === undefined) n++;
    assert.equal(n, 250);
    assert.equal(b.take(100, 0), "rate_limited");
  });

  it("says how long a puller waits for a chunk to fit", () => {
    const b = new PeerBudget(0);
    while (b.take(MAX_PAYLOAD_BYTES, 0) === undefined);
    const wait = b.waitMs(MAX_PAYLOAD_BYTES, 0);
    assert.ok(wait > 0 && wait <= Math.ceil((MAX_PAYLOAD_BYTES * 1000) / PEER_BYTES_PER_SEC), `wait ${wait} ms`);
    assert.equal(b.take(MAX_PAYLOAD_BYTES, wait), undefined);
  });
});
