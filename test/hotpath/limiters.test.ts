import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
  type LimiterInputs,
  W_EPOCH_ALLOWANCE,
  W_SLOT_ALLOWANCE,
  evaluateLimiters,
  objectiveFactor,
  weakestLimiter,
  wTrackingFactor,
} from "../../src/hotpath/limiters.js";
import {TokenBucket} from "../../src/hotpath/tokenBucket.js";

const ok: LimiterInputs = {
  bytesStored: 0,
  budgetBytes: 1000,
  currentSlot: 500,
  chunkSlot: 500,
  ethBlocksThisEpoch: 0,
  ethBlocksThisSlot: 0,
  isEthBlock: false,
  connectedStorePeers: 3,
};

describe("limiters", () => {
  it("admits a current chunk on a healthy node with priority 1", () => {
    const a = evaluateLimiters(ok);
    assert.equal(a.admit, true);
    assert.equal(a.priority, 1);
  });

  it("economic refuses storage_full below factor 0.2", () => {
    assert.equal(evaluateLimiters({...ok, bytesStored: 790}).admit, true);
    const a = evaluateLimiters({...ok, bytesStored: 801});
    assert.equal(a.admit, false);
    assert.equal(!a.admit && a.limiter, "economic");
    assert.equal(!a.admit && a.reason, "storage_full");
  });

  it("objective follows the bands and refuses 100 slots and older", () => {
    assert.deepEqual(
      [0, 9, 10, 99, 100, 200].map((age) => objectiveFactor(500, 500 - age)),
      [1, 1, 0.5, 0.5, 0.1, 0.1],
    );
    assert.equal(evaluateLimiters({...ok, chunkSlot: 401}).admit, true);
    const a = evaluateLimiters({...ok, chunkSlot: 300});
    assert.equal(!a.admit && a.limiter, "objective");
  });

  it("objective refuses a chunk more than one slot ahead (future_slot), and takes the next slot as current", () => {
    const next = evaluateLimiters({...ok, chunkSlot: 501});
    assert.equal(next.admit, true);
    assert.equal(next.factors.objective, 1);
    const a = evaluateLimiters({...ok, chunkSlot: 502});
    assert.equal(!a.admit && a.limiter, "objective");
    assert.equal(!a.admit && a.reason, "future_slot");
    assert.equal(evaluateLimiters({...ok, chunkSlot: 1_000_000}).admit, false);
  });

  it("W-tracking declines to its floor and refuses the view past the epoch's allowance (40)", () => {
    assert.equal(W_EPOCH_ALLOWANCE, 40);
    assert.equal(wTrackingFactor(0), 1);
    assert.equal(wTrackingFactor(20), 0.5);
    assert.equal(wTrackingFactor(40), 0.1);
    assert.equal(evaluateLimiters({...ok, isEthBlock: true, ethBlocksThisEpoch: 39}).admit, true);
    const a = evaluateLimiters({...ok, isEthBlock: true, ethBlocksThisEpoch: 40});
    assert.deepEqual(!a.admit && [a.limiter, a.reason], ["w_tracking", "epoch_allowance_spent"]);
    assert.equal(evaluateLimiters({...ok, isEthBlock: false, ethBlocksThisEpoch: 40}).admit, true);
  });

  it("W-tracking takes two block views of one slot from an origin (two blocks at a slot) and refuses a third", () => {
    assert.equal(evaluateLimiters({...ok, isEthBlock: true, ethBlocksThisSlot: W_SLOT_ALLOWANCE - 1}).admit, true);
    const a = evaluateLimiters({...ok, isEthBlock: true, ethBlocksThisSlot: W_SLOT_ALLOWANCE});
    assert.deepEqual(!a.admit && [a.limiter, a.reason], ["w_tracking", "slot_allowance_spent"]);
    assert.equal(W_SLOT_ALLOWANCE, 2);
    assert.equal(evaluateLimiters({...ok, isEthBlock: false, ethBlocksThisSlot: 5}).admit, true);
  });

  it("topology with fewer than 3 peers keeps only current-duty chunks", () => {
    const cur = evaluateLimiters({...ok, connectedStorePeers: 2});
    assert.equal(cur.admit, true);
    assert.equal(cur.priority, 0.2);
    const older = evaluateLimiters({...ok, connectedStorePeers: 2, chunkSlot: 480});
    assert.equal(!older.admit && older.limiter, "topology");
  });

  it("names the weakest factor", () => {
    assert.equal(weakestLimiter({economic: 0.9, objective: 0.5, w_tracking: 0.3, topology: 1}), "w_tracking");
  });
});

describe("token bucket", () => {
  it("allows the burst, then the rate", () => {
    const b = new TokenBucket(10, 5, 0);
    let n = 0;
    while (b.take(0)) n++;
    assert.equal(n, 5);
    assert.equal(b.take(50), false);
    assert.equal(b.take(100), true);
    assert.equal(b.take(100), false);
    assert.ok(b.available(10_000) <= 5);
  });
});
