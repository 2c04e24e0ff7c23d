import {randomBytes} from "node:crypto";
import {SecretKey} from "@chainsafe/blst";
import {reshareRoles} from "../src/cluster/dkg/roles.js";
import {initHerumi} from "../src/hotpath/herumi.js";
import {secretToPublicKey, splitSecretKey} from "../src/hotpath/threshold.js";
import {runDkgNet} from "../test/helpers/dkgNet.js";
import type {BenchRow, Suite} from "./harness.js";

/**
 * DKG ceremony time (issue 15) for 1, 100 and 1,000 validators with 4 and 7 operators, one ceremony each (the
 * largest takes a minute in one thread). All operators run in this one thread over the in-memory network; the
 * row is the critical path (per round, the busiest operator), i.e. the time on n machines with an instant
 * network, without the connect wait, the lock step and the keystore KDFs.
 */
const SIZES: [operators: number, threshold: number][] = [
  [4, 3],
  [7, 5],
];
const VALIDATORS = [1, 100, 1000];
/** Reshares of a 3-of-4 cluster (every old operator deals): to 5 operators (4-of-5) and to 7 (5-of-7). */
const RESHARES: [operators: number, threshold: number][] = [
  [5, 4],
  [7, 5],
];

/** The critical path of a reshare of `validators` keys split 3-of-4 to `operators` new operators. */
async function reshareMs(validators: number, operators: number, threshold: number): Promise<number> {
  await initHerumi();
  const keys = Array.from({length: validators}, () => {
    const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
    const shares = splitSecretKey(secret, 3, 4);
    return {pubkey: secretToPublicKey(secret), shares, sharePubkeys: shares.map(secretToPublicKey)};
  });
  // Participants 1-4 are the old operators (kept), 5.. the new ones.
  const dealers = new Map([1, 2, 3, 4].map((i) => [i, i]));
  const net = await runDkgNet({
    operators,
    threshold,
    validators,
    roles: (self) =>
      reshareRoles({
        dealers,
        receivers: operators,
        oldThreshold: 3,
        validators: keys.map((k) => ({pubkey: k.pubkey, sharePubkeys: k.sharePubkeys})),
        ...(self <= 4 ? {ownSecrets: keys.map((k) => k.shares[self - 1] as Uint8Array)} : {}),
      }),
  });
  if (net.outcomes.some((o) => !("validators" in o))) throw new Error(`reshare to ${operators} x ${validators} failed`);
  return net.criticalPathMs;
}

export const dkgSuite: Suite = {
  name: "dkg",
  async measure() {
    const rows: BenchRow[] = [];
    for (const [operators, threshold] of SIZES) {
      for (const validators of VALIDATORS) {
        const net = await runDkgNet({operators, threshold, validators});
        const failed = net.outcomes.filter((o) => !("validators" in o));
        if (failed.length > 0) throw new Error(`DKG ${threshold}-of-${operators} x ${validators} failed`);
        const ms = net.criticalPathMs;
        rows.push({
          suite: "dkg",
          task: `${threshold}-of-${operators}, ${validators} validator(s): ceremony critical path`,
          opsPerSec: 1000 / ms,
          meanMs: ms,
          p99Ms: ms,
          samples: 1,
        });
      }
    }
    for (const [operators, threshold] of RESHARES) {
      for (const validators of VALIDATORS) {
        const ms = await reshareMs(validators, operators, threshold);
        rows.push({
          suite: "dkg",
          task: `reshare 3-of-4 to ${threshold}-of-${operators}, ${validators} validator(s): ceremony critical path`,
          opsPerSec: 1000 / ms,
          meanMs: ms,
          p99Ms: ms,
          samples: 1,
        });
      }
    }
    return rows;
  },
};
