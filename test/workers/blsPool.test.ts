import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {after, before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {ThresholdError, sign, verifySignature} from "../../src/hotpath/threshold.js";
import {BlsPool, BlsPoolError, MAX_SETS_PER_TASK, defaultPoolSize} from "../../src/workers/blsPool.js";
import type {SerializedSignatureSet} from "../../src/workers/blsTasks.js";
import {thresholdValidator} from "../helpers/thresholdValidator.js";

function sets(count: number): SerializedSignatureSet[] {
  return Array.from({length: count}, () => {
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const message = randomBytes(32);
    return {pubkey: sk.toPublicKey().toBytes(), message, signature: sk.sign(message).toBytes()};
  });
}

function corrupt(set: SerializedSignatureSet): SerializedSignatureSet {
  return {...set, message: randomBytes(32)};
}

describe("BLS worker pool", () => {
  let pool: BlsPool;
  before(async () => {
    await initHerumi();
    // A long buffer window so the test, not timing luck, decides which jobs share a batch.
    pool = new BlsPool({size: 2, maxBufferWaitMs: 200});
  });
  after(() => pool.close());

  it("defaults to cores - 1 workers, at least 1, and refuses a bad size", () => {
    assert.ok(defaultPoolSize() >= 1);
    assert.throws(
      () => new BlsPool({size: 0}),
      (e) => e instanceof BlsPoolError && e.code === "BLS_POOL_INVALID_SIZE",
    );
  });

  it("batches small jobs from several callers and fails only the caller whose set is bad", async () => {
    const before = pool.stats();
    const jobs = [sets(2), sets(3), [...sets(1), corrupt(sets(1)[0]!)], sets(2)];
    const results = await Promise.all(jobs.map((j) => pool.verifySignatureSets(j)));
    assert.deepEqual(results, [true, true, false, true]);
    const stats = pool.stats();
    assert.equal(stats.tasksRun - before.tasksRun, 1, "four buffered jobs went to the worker as one task");
    assert.equal(stats.batchFallbacks - before.batchFallbacks, 1, "the bad set forced the one-by-one fallback");
    assert.equal(stats.setsVerified - before.setsVerified, 9);
  });

  it("flushes the buffer when it reaches the set count, without waiting for the timer", async () => {
    // A timer that never fires within the test's life: only the count can flush these jobs.
    const patient = new BlsPool({size: 1, maxBufferWaitMs: 3_600_000});
    try {
      const results = await Promise.all(Array.from({length: 4}, () => patient.verifySignatureSets(sets(8))));
      assert.deepEqual(results, [true, true, true, true]);
      assert.equal(patient.stats().tasksRun, 1);
    } finally {
      await patient.close();
    }
  });

  it("runs priority jobs at once and splits big jobs into several tasks", async () => {
    const before = pool.stats();
    assert.equal(await pool.verifySignatureSets(sets(1), {priority: true}), true);
    assert.equal(pool.stats().tasksRun - before.tasksRun, 1);
    const big = sets(MAX_SETS_PER_TASK + 5);
    assert.equal(await pool.verifySignatureSets(big), true);
    assert.equal(pool.stats().tasksRun - before.tasksRun, 3, "129+ sets make two tasks");
    big[MAX_SETS_PER_TASK + 2] = corrupt(big[MAX_SETS_PER_TASK + 2]!);
    assert.equal(await pool.verifySignatureSets(big), false);
  });

  it("treats malformed bytes as invalid, not as a crash", async () => {
    const s = sets(1)[0]!;
    assert.equal(
      await pool.verifySignatureSets([{...s, signature: new Uint8Array(96).fill(1)}], {priority: true}),
      false,
    );
    assert.equal(await pool.verifySignatureSets([{...s, pubkey: new Uint8Array(48)}], {priority: true}), false);
  });

  it("recovers in a worker, and names the bad share when the optimistic path fails", async () => {
    const {message, pubkey, sharePubkeys, partials, shares} = thresholdValidator(3, 4);
    const good = await pool.recoverAndVerify({message, pubkey, sharePubkeys, threshold: 3, partials});
    assert.equal(good.ok, true);
    if (good.ok) assert.ok(verifySignature(pubkey, message, good.signature));
    partials[0] = {shareIndex: 1, signature: sign(shares[1]!, message)};
    const named = await pool.recoverAndVerify({message, pubkey, sharePubkeys, threshold: 3, partials});
    assert.deepEqual(named.badShares, [1]);
    assert.equal(named.ok, true);
  });

  it("sends recoveries asked in one turn together, one task per worker, and answers each caller", async () => {
    const message = randomBytes(32);
    const inputs = Array.from({length: 24}, () => {
      const v = thresholdValidator(3, 4, message);
      return {...v, partials: v.partials.slice(0, 3)};
    });
    const before = pool.stats();
    const results = await Promise.all(inputs.map((i) => pool.recoverAndVerify(i)));
    assert.equal(pool.stats().tasksRun - before.tasksRun, 2, "24 recoveries on 2 workers: 2 tasks");
    assert.equal(pool.stats().recoveries - before.recoveries, 24);
    results.forEach((r, k) =>
      assert.ok(r.ok && verifySignature(inputs[k]!.pubkey, message, r.signature), `recovery ${k}`),
    );
    await assert.rejects(
      pool.recoverAndVerify({...inputs[0]!, partials: inputs[0]!.partials.slice(0, 2)}),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_NOT_ENOUGH_PARTIALS",
    );
  });

  it("signs a batch in the workers, spread over them: each signature the main thread's, the caller's secrets kept", async () => {
    const items = Array.from({length: 40}, () => ({
      secret: SecretKey.fromKeygen(randomBytes(32)).toBytes(),
      message: randomBytes(32),
    }));
    const copies = items.map((i) => Uint8Array.from(i.secret));
    const before = pool.stats();
    const signed = await pool.signMany(items);
    assert.equal(pool.stats().tasksRun - before.tasksRun, 2, "40 signatures on 2 workers: 2 tasks");
    assert.equal(pool.stats().signatures - before.signatures, 40);
    signed.forEach((s, k) => assert.deepEqual(s, sign(items[k]!.secret, items[k]!.message), `signature ${k}`));
    // The workers zero what was moved to them, never the caller's own keys.
    items.forEach((i, k) => assert.deepEqual(i.secret, copies[k]));
    await assert.rejects(pool.signMany([{secret: new Uint8Array(31), message: randomBytes(32)}]), RangeError);
  });

  it("rejects work after close", async () => {
    const p = new BlsPool({size: 1});
    await p.close();
    await assert.rejects(
      p.verifySignatureSets(sets(1)),
      (e) => e instanceof BlsPoolError && e.code === "BLS_POOL_CLOSED",
    );
  });
});
