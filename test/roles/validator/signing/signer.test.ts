import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {mkdtemp, rm} from "node:fs/promises";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {verifySignature} from "../../../../src/hotpath/threshold.js";
import type {ShareKey} from "../../../../src/roles/validator/signing/shareKeys.js";
import {type SignRequest, Signer} from "../../../../src/roles/validator/signing/signer.js";
import {SlashingProtection} from "../../../../src/storage/slashing/slashingProtection.js";
import {BlsPool, SIGN_IN_POOL_MIN} from "../../../../src/workers/blsPool.js";

function shareKeys(count: number): ShareKey[] {
  return Array.from({length: count}, () => {
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const pubkey = toHex(sk.toPublicKey().toBytes());
    return {pubkey, sharePubkeys: {1: sk.toPublicKey().toBytes()}, secret: sk.toBytes()};
  });
}

describe("the Signer signs big batches in the worker pool", () => {
  let dir: string;
  let pool: BlsPool;
  const dbs: SlashingProtection[] = [];
  const db = () => {
    const d = SlashingProtection.open(join(dir, String(dbs.length)));
    dbs.push(d);
    return d;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "r3dv-signer-pool-"));
    pool = new BlsPool({size: 1});
  });
  after(async () => {
    await pool.close();
    for (const d of dbs) await d.close();
    await rm(dir, {recursive: true, force: true});
  });

  it("a slot's attesters go to the pool, a few sync messages stay on the main thread; each signature verifies, slashing judged first", async () => {
    const shares = shareKeys(SIGN_IN_POOL_MIN + 8);
    const signer = new Signer(shares, db(), undefined, pool);
    const root = randomBytes(32);
    const attest = (target: number): SignRequest[] =>
      shares.map((s) => ({
        pubkey: s.pubkey,
        message: root,
        slashable: {kind: "attestation", sourceEpoch: 0, targetEpoch: target},
      }));
    const before = pool.stats().signatures;
    const outcomes = await signer.signAll(attest(1));
    assert.equal(pool.stats().signatures - before, shares.length, "signed in the workers");
    outcomes.forEach((o, k) => {
      assert.ok(o.ok, `outcome ${k}`);
      assert.ok(verifySignature(shares[k]!.sharePubkeys[1]!, root, o.signature));
    });
    // A second vote for the same target with another root is refused for every one of them, and nothing is signed.
    const again = await signer.signAll(attest(1).map((r) => ({...r, message: randomBytes(32)})));
    assert.ok(again.every((o) => !o.ok && o.error.code === "SLASHING_REFUSED"));
    assert.equal(pool.stats().signatures - before, shares.length);
    const few = await signer.signAll(shares.slice(0, 3).map((s) => ({pubkey: s.pubkey, message: root})));
    assert.ok(few.every((o) => o.ok));
    assert.equal(pool.stats().signatures - before, shares.length, "a small batch stays on the main thread");
  });

  it("a pool that fails (closing under a stopping node) costs no duty: the records are made, the same signatures made here", async () => {
    const shares = shareKeys(SIGN_IN_POOL_MIN);
    const broken = {signMany: () => Promise.reject(new Error("worker lost"))};
    const signer = new Signer(shares, db(), undefined, broken);
    const root = randomBytes(32);
    const outcomes = await signer.signAll(
      shares.map((s) => ({
        pubkey: s.pubkey,
        message: root,
        slashable: {kind: "attestation", sourceEpoch: 0, targetEpoch: 2},
      })),
    );
    outcomes.forEach((o, k) => assert.ok(o.ok && verifySignature(shares[k]!.sharePubkeys[1]!, root, o.signature)));
  });
});
