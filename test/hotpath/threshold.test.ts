import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {combinations} from "../../src/hotpath/combinations.js";
import {initHerumi} from "../../src/hotpath/herumi.js";
import {
  ThresholdError,
  recoverAndVerify,
  recoverPublicKey,
  recoverSignature,
  sign,
  splitSecretKey,
  verifySignature,
} from "../../src/hotpath/threshold.js";
import {defaultThreshold} from "../../src/cluster/quorum.js";
import {bytesToBigintBE, interpolateAtZero} from "../helpers/lagrange.js";
import {thresholdValidator} from "../helpers/thresholdValidator.js";

before(() => initHerumi());

const fixture = (n: number, m: number) => thresholdValidator(m, n);

describe("threshold BLS", () => {
  for (const n of [3, 4, 7, 10]) {
    const m = defaultThreshold(n);
    it(`${m}-of-${n}: every ${m}-subset recovers a signature blst verifies; no ${m - 1}-subset does`, () => {
      const f = fixture(n, m);
      let subsets = 0;
      for (const subset of combinations(n, m)) {
        const sig = recoverSignature(subset.map((i) => f.partials[i]!));
        assert.ok(verifySignature(f.pubkey, f.message, sig), `subset ${subset.map((i) => i + 1)}`);
        subsets++;
      }
      assert.ok(subsets >= n, "at least n subsets checked");
      for (const subset of combinations(n, m - 1)) {
        const sig = recoverSignature(subset.map((i) => f.partials[i]!));
        assert.equal(
          verifySignature(f.pubkey, f.message, sig),
          false,
          `m-1 subset ${subset.map((i) => i + 1)} must not sign`,
        );
      }
    });

    it(`${m}-of-${n}: a tampered partial is named and the rest still recover`, () => {
      const f = fixture(n, m);
      const bad = 2;
      const partials = f.partials.map((p) => ({...p}));
      partials[bad - 1]!.signature = sign(SecretKey.fromKeygen(randomBytes(32)).toBytes(), f.message);
      const result = recoverAndVerify({
        message: f.message,
        pubkey: f.pubkey,
        sharePubkeys: f.sharePubkeys,
        threshold: m,
        partials,
      });
      assert.deepEqual(result.badShares, [bad]);
      assert.equal(result.ok, true);
      if (result.ok) {
        assert.ok(!result.usedShares.includes(bad));
        assert.ok(verifySignature(f.pubkey, f.message, result.signature));
      }
    });
  }

  it("share i is the polynomial at x = i: bigint Lagrange over any m shares gives the secret", () => {
    const f = fixture(5, 4);
    const secret = bytesToBigintBE(f.secret);
    for (const subset of combinations(5, 4)) {
      const points = subset.map((i) => ({x: i + 1, y: bytesToBigintBE(f.shares[i]!)}));
      assert.equal(interpolateAtZero(points), secret);
    }
    const three = [0, 1, 2].map((i) => ({x: i + 1, y: bytesToBigintBE(f.shares[i]!)}));
    assert.notEqual(interpolateAtZero(three), secret, "m-1 shares must not determine the secret");
  });

  it("recovers the group public key from share public keys", () => {
    const f = fixture(4, 3);
    const pk = recoverPublicKey([4, 2, 3].map((i) => ({shareIndex: i, pubkey: f.sharePubkeys[i]!})));
    assert.deepEqual(pk, f.pubkey);
  });

  it("with too many bad partials, fails and names them", () => {
    const f = fixture(4, 3);
    const other = SecretKey.fromKeygen(randomBytes(32)).toBytes();
    const partials = f.partials.map((p) => (p.shareIndex <= 2 ? {...p, signature: sign(other, f.message)} : p));
    const result = recoverAndVerify({
      message: f.message,
      pubkey: f.pubkey,
      sharePubkeys: f.sharePubkeys,
      threshold: 3,
      partials,
    });
    assert.equal(result.ok, false);
    assert.deepEqual(result.badShares, [1, 2]);
    if (!result.ok) assert.deepEqual(result.validShares, [3, 4]);
  });

  it("names a partial that is not even a curve point", () => {
    const f = fixture(4, 3);
    const partials = f.partials.map((p) => (p.shareIndex === 1 ? {...p, signature: new Uint8Array(96).fill(0xff)} : p));
    const result = recoverAndVerify({
      message: f.message,
      pubkey: f.pubkey,
      sharePubkeys: f.sharePubkeys,
      threshold: 3,
      partials,
    });
    assert.equal(result.ok, true);
    assert.deepEqual(result.badShares, [1]);
  });

  it("refuses duplicate or invalid share indices and impossible parameters", () => {
    const f = fixture(4, 3);
    assert.throws(
      () => recoverSignature([f.partials[0]!, f.partials[0]!, f.partials[1]!]),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_DUPLICATE_SHARE",
    );
    assert.throws(
      () => recoverSignature([{...f.partials[0]!, shareIndex: 0}]),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_BAD_SHARE_INDEX",
    );
    assert.throws(
      () => splitSecretKey(f.secret, 5, 4),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_INVALID_PARAMS",
    );
    assert.throws(
      () => splitSecretKey(new Uint8Array(32), 2, 3),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_INVALID_SECRET",
    );
    assert.throws(
      () =>
        recoverAndVerify({
          message: f.message,
          pubkey: f.pubkey,
          sharePubkeys: f.sharePubkeys,
          threshold: 3,
          partials: f.partials.slice(0, 2),
        }),
      (e) => e instanceof ThresholdError && e.code === "THRESHOLD_NOT_ENOUGH_PARTIALS",
    );
  });
});
