import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {DkgError, type DkgResult} from "../../src/cluster/dkg/outcome.js";
import {toHex} from "../../src/hotpath/bytes.js";
import {recoverAndVerify, recoverPublicKey, secretToPublicKey, sign} from "../../src/hotpath/threshold.js";
import type {DkgNet} from "./dkgNet.js";
import {bytesToBigintBE, interpolateAtZero} from "./lagrange.js";

/** Checks of a DKG or reshare outcome shared by the ceremony tests. */

/** All k-subsets of `items`. */
function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((x, i) => subsets(items.slice(i + 1), k - 1).map((rest) => [x, ...rest]));
}

/** The results of the given operators (1-based), failing if any of them stopped with an error. */
export function resultsOf(net: DkgNet, operators: number[]): Map<number, DkgResult> {
  return new Map(
    operators.map((i) => {
      const o = net.outcomes[i - 1];
      if (o instanceof DkgError) assert.fail(`operator ${i} stopped: ${o.message}`);
      return [i, o as DkgResult];
    }),
  );
}

/** Every operator given must hold the same group keys, public shares and qualified set. */
export function assertAgree(results: Map<number, DkgResult>): void {
  const [first, ...rest] = [...results.values()] as DkgResult[];
  const view = (r: DkgResult) => ({
    qualified: r.qualified,
    disqualified: r.disqualified.map((d) => [d.dealer, d.reason, d.complainers, d.detail]),
    answered: r.answered,
    keys: r.validators.map((v) => [toHex(v.groupPubkey), v.sharePubkeys.map(toHex)]),
  });
  for (const r of rest) assert.deepEqual(view(r), view(first as DkgResult));
}

/**
 * For every validator and every t-subset of the given operators: their shares sign a message whose recovered
 * signature verifies under the group key (the project's own recovery), their public shares recover the group
 * key, and, independently in bigint arithmetic, their secret shares interpolate to the group key's secret.
 * One fewer share must not give the key.
 */
export function assertThresholdKeys(results: Map<number, DkgResult>, threshold: number): void {
  const message = new Uint8Array(randomBytes(32));
  const operators = [...results.keys()];
  const any = results.get(operators[0] as number) as DkgResult;
  any.validators.forEach((v, j) => {
    const sharePubkeys = Object.fromEntries(v.sharePubkeys.map((pk, k) => [k + 1, pk]));
    for (const group of subsets(operators, threshold)) {
      const secret = (i: number) => (results.get(i) as DkgResult).validators[j]?.secretShare as Uint8Array;
      const partials = group.map((i) => ({shareIndex: i, signature: sign(secret(i), message)}));
      const recovered = recoverAndVerify({message, pubkey: v.groupPubkey, sharePubkeys, threshold, partials});
      assert.ok(recovered.ok, `validator ${j}: shares ${group} do not recover a valid signature`);
      const pubkey = recoverPublicKey(group.map((i) => ({shareIndex: i, pubkey: v.sharePubkeys[i - 1] as Uint8Array})));
      assert.equal(toHex(pubkey), toHex(v.groupPubkey));
      const points = group.map((i) => ({x: i, y: bytesToBigintBE(secret(i))}));
      const groupSecret = Buffer.from(interpolateAtZero(points).toString(16).padStart(64, "0"), "hex");
      assert.equal(toHex(secretToPublicKey(groupSecret)), toHex(v.groupPubkey), `validator ${j}: shares ${group}`);
      const fewer = interpolateAtZero(points.slice(1)).toString(16).padStart(64, "0");
      assert.notEqual(toHex(secretToPublicKey(Buffer.from(fewer, "hex"))), toHex(v.groupPubkey));
    }
  });
}
