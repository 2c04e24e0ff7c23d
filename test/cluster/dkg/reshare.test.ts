import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {DkgError, type DkgResult} from "../../../src/cluster/dkg/outcome.js";
import {reshareRoles} from "../../../src/cluster/dkg/roles.js";
import {toHex} from "../../../src/hotpath/bytes.js";
import {initHerumi} from "../../../src/hotpath/herumi.js";
import {secretToPublicKey, splitSecretKey} from "../../../src/hotpath/threshold.js";
import {assertAgree, assertThresholdKeys, resultsOf} from "../../helpers/dkgAsserts.js";
import {type DkgNet, runDkgNet} from "../../helpers/dkgNet.js";

/** An existing cluster as create-cluster makes it: each validator's key split `threshold`-of-`operators`. */
async function oldCluster(operators: number, threshold: number, validators: number) {
  await initHerumi();
  const keys = Array.from({length: validators}, () => {
    const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
    const shares = splitSecretKey(secret, threshold, operators);
    return {pubkey: secretToPublicKey(secret), shares, sharePubkeys: shares.map(secretToPublicKey)};
  });
  return {
    threshold,
    keys,
    /** Old operator i's shares, one per validator. */
    sharesOf: (i: number) => keys.map((k) => k.shares[i - 1] as Uint8Array),
  };
}

type Old = Awaited<ReturnType<typeof oldCluster>>;

/**
 * Runs a reshare in memory: `dealers` maps participant -> old operator index; participants 1..receivers are the
 * new operators. `lie` makes a dealer deal fresh secrets instead of its old shares.
 */
function reshare(
  old: Old,
  o: {participants: number; receivers: number; threshold: number; dealers: [number, number][]; lie?: number[]},
): Promise<DkgNet> {
  const dealers = new Map(o.dealers);
  return runDkgNet({
    operators: o.participants,
    threshold: o.threshold,
    validators: old.keys.length,
    roles: (self) => {
      const oldIndex = dealers.get(self);
      const fresh = () => old.keys.map(() => SecretKey.fromKeygen(randomBytes(32)).toBytes());
      const ownSecrets = oldIndex === undefined ? undefined : o.lie?.includes(self) ? fresh() : old.sharesOf(oldIndex);
      return reshareRoles({
        dealers,
        receivers: o.receivers,
        oldThreshold: old.threshold,
        validators: old.keys.map((k) => ({pubkey: k.pubkey, sharePubkeys: k.sharePubkeys})),
        ownSecrets,
      });
    },
  });
}

/** Every new operator's keys are for the old validator keys, and any `threshold` new shares sign for them. */
function assertKeptKeys(old: Old, results: Map<number, DkgResult>, threshold: number): void {
  assertAgree(results);
  for (const r of results.values()) {
    assert.deepEqual(
      r.validators.map((v) => toHex(v.groupPubkey)),
      old.keys.map((k) => toHex(k.pubkey)),
      "every validator keeps its public key",
    );
  }
  // Any `threshold` new shares recover the key (signature, public key, and bigint interpolation); fewer do not.
  assertThresholdKeys(results, threshold);
}

describe("reshare ceremony (the old operators deal their shares, in memory)", () => {
  it("4 operators to 5 (threshold 3 to 4): the validator keys stay, any 4 new shares sign, no 3 do", async () => {
    const old = await oldCluster(4, 3, 2);
    const dealers: [number, number][] = [1, 2, 3, 4].map((i) => [i, i]);
    const net = await reshare(old, {participants: 5, receivers: 5, threshold: 4, dealers});
    const results = resultsOf(net, [1, 2, 3, 4, 5]);
    assertKeptKeys(old, results, 4);
    for (const r of results.values()) assert.deepEqual([r.qualified, r.disqualified], [[1, 2, 3, 4], []]);
    // New polynomials: no new share equals the old share of the same operator.
    const first = results.get(1) as DkgResult;
    first.validators.forEach((v, j) =>
      assert.notEqual(toHex(v.secretShare), toHex(old.keys[j]?.shares[0] as Uint8Array)),
    );
  });

  it("replacing operator 4 whose machine is lost: three old operators deal, the new fourth gets working shares", async () => {
    const old = await oldCluster(4, 3, 2);
    // Participants 1-3 are old operators 1-3, participant 4 the replacement; old operator 4 takes no part.
    const dealers: [number, number][] = [1, 2, 3].map((i) => [i, i]);
    const net = await reshare(old, {participants: 4, receivers: 4, threshold: 3, dealers});
    const results = resultsOf(net, [1, 2, 3, 4]);
    assertKeptKeys(old, results, 3);
    // The lost machine's old share no longer combines with the new ones: old share 4 with new shares 1 and 2.
    const v = (results.get(1) as DkgResult).validators[0] as DkgResult["validators"][number];
    assert.notEqual(toHex(v.sharePubkeys[3] as Uint8Array), toHex(old.keys[0]?.sharePubkeys[3] as Uint8Array));
  });

  it("removing an operator and lowering the threshold: the removed one deals, receives nothing, and the rest hold 2-of-3", async () => {
    const old = await oldCluster(4, 3, 1);
    // Participants 1-3 stay (old 1-3), participant 4 is old operator 4, leaving.
    const dealers: [number, number][] = [1, 2, 3, 4].map((i) => [i, i]);
    const net = await reshare(old, {participants: 4, receivers: 3, threshold: 2, dealers});
    assertKeptKeys(old, resultsOf(net, [1, 2, 3]), 2);
    const leaving = resultsOf(net, [4]).get(4) as DkgResult;
    assert.deepEqual([leaving.qualified, leaving.validators], [[1, 2, 3, 4], []]);
  });

  it("a dealer that deals a secret other than its old share is disqualified and named; the others still reshare", async () => {
    const old = await oldCluster(4, 3, 2);
    const dealers: [number, number][] = [1, 2, 3, 4].map((i) => [i, i]);
    const net = await reshare(old, {participants: 4, receivers: 4, threshold: 3, dealers, lie: [2]});
    const results = resultsOf(net, [1, 2, 3, 4]);
    assertKeptKeys(old, results, 3);
    for (const r of results.values()) {
      assert.deepEqual(r.qualified, [1, 3, 4]);
      assert.deepEqual(
        r.disqualified.map((d) => [d.dealer, d.reason]),
        [[2, "wrong_secret"]],
      );
      assert.match(r.disqualified[0]?.detail ?? "", /other than its old share 2/);
    }
  });

  it("fewer honest dealers than the old threshold abort the reshare, naming the cheater", async () => {
    const old = await oldCluster(4, 3, 1);
    const dealers: [number, number][] = [1, 2, 3].map((i) => [i, i]);
    const net = await reshare(old, {participants: 4, receivers: 4, threshold: 3, dealers, lie: [3]});
    for (const o of net.outcomes) {
      assert.ok(o instanceof DkgError && o.type.code === "DKG_TOO_FEW_QUALIFIED", String(o));
      assert.match(
        o.message,
        /only 2 dealer\(s\) qualified \(1, 2\), fewer than the threshold 3: operator 3 disqualified \(wrong_secret/,
      );
    }
  });

  it("a participant that is no dealer cannot deal: its deal is dropped as a fault and changes nothing", async () => {
    const old = await oldCluster(4, 3, 1);
    const dealers: [number, number][] = [1, 2, 3].map((i) => [i, i]);
    // Participant 4 (the new operator) also deals, as if it were one: a DKG's roles for itself.
    const net = await runDkgNet({
      operators: 4,
      threshold: 3,
      validators: 1,
      roles: (self) =>
        self === 4
          ? {...reshareRoles({dealers: new Map([...dealers, [4, 4]]), receivers: 4, oldThreshold: 3, validators: []})}
          : reshareRoles({
              dealers: new Map(dealers),
              receivers: 4,
              oldThreshold: 3,
              validators: old.keys.map((k) => ({pubkey: k.pubkey, sharePubkeys: k.sharePubkeys})),
              ownSecrets: old.sharesOf(self),
            }),
    });
    const results = resultsOf(net, [1, 2, 3]);
    for (const r of results.values()) {
      assert.deepEqual(r.qualified, [1, 2, 3]);
      assert.ok(
        r.faults.some((f) => f.operator === 4 && /no dealer of this ceremony/.test(f.detail)),
        "named",
      );
    }
  });
});
