import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {before, describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {herumi, initHerumi} from "../../src/hotpath/herumi.js";
import {recoveryPlan} from "../../src/hotpath/lagrange.js";
import {
  recoverPublicKey,
  recoverSignature,
  secretToPublicKey,
  sign,
  splitSecretKey,
} from "../../src/hotpath/threshold.js";

before(() => initHerumi());

/** herumi's own Lagrange recovery: the reference the cached small-integer plans must equal bit for bit. */
function herumiRecover(partials: {shareIndex: number; signature: Uint8Array}[]): Uint8Array {
  const bls = herumi();
  const sigs = partials.map((p) => {
    const s = new bls.Signature();
    s.deserialize(p.signature);
    return s;
  });
  const ids = partials.map((p) => {
    const id = new bls.Id();
    id.setInt(p.shareIndex);
    return id;
  });
  const out = new bls.Signature();
  out.recover(sigs, ids);
  return out.serialize();
}

function subsets(n: number, m: number): number[][] {
  if (m === 0) return [[]];
  if (n < m) return [];
  return [...subsets(n - 1, m - 1).map((s) => [...s, n]), ...subsets(n - 1, m)];
}

describe("recovery with cached small-integer Lagrange coefficients", () => {
  for (const [m, n] of [
    [1, 1],
    [2, 3],
    [3, 4],
    [5, 7],
    [7, 10],
  ] as const) {
    it(`${m}-of-${n}: every subset, in any order, gives herumi's signature, the validator's, and its public key`, () => {
      const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
      const shares = splitSecretKey(secret, m, n);
      const message = randomBytes(32);
      const whole = sign(secret, message);
      for (const subset of subsets(n, m)) {
        const partials = subset.map((i) => ({shareIndex: i, signature: sign(shares[i - 1] as Uint8Array, message)}));
        for (const order of [partials, [...partials].reverse()]) {
          assert.deepEqual(recoverSignature(order), herumiRecover(order), `subset ${subset.join(",")}`);
          assert.deepEqual(recoverSignature(order), whole);
          const sharePubkeys = order.map((p) => ({
            shareIndex: p.shareIndex,
            pubkey: secretToPublicKey(shares[p.shareIndex - 1] as Uint8Array),
          }));
          assert.deepEqual(
            recoverPublicKey(sharePubkeys),
            secretToPublicKey(secret),
            `pubkey, subset ${subset.join(",")}`,
          );
        }
      }
    });
  }

  it("3-of-4: three of the four index sets need no division; large indices fall back to herumi's recovery", () => {
    const bls = herumi();
    const plans = subsets(4, 3).map((s) => [s.join(","), recoveryPlan(bls, s)] as const);
    assert.deepEqual(
      plans.map(([s, p]) => [s, p !== null, p?.inverseDenominator !== undefined]),
      [
        ["2,3,4", true, false],
        ["1,3,4", true, false],
        ["1,2,4", true, true],
        ["1,2,3", true, false],
      ],
    );
    // Products of large indices exceed the small-scalar bound: no plan, and herumi's recovery still gives the key's.
    const big = [65_535, 65_534, 65_533, 65_532, 65_531, 65_530, 65_529];
    assert.equal(recoveryPlan(bls, big), null);
    const polynomial = Array.from({length: big.length}, () => {
      const c = new bls.SecretKey();
      c.setByCSPRNG();
      return c;
    });
    const message = randomBytes(32);
    const partials = big.map((i) => {
      const id = new bls.Id();
      id.setInt(i);
      const share = new bls.SecretKey();
      share.share(polynomial, id);
      return {shareIndex: i, signature: share.sign(message).serialize()};
    });
    assert.deepEqual(
      recoverSignature(partials),
      (polynomial[0] as InstanceType<typeof bls.SecretKey>).sign(message).serialize(),
    );
  });
});
