import "../../../../helpers/minimalPreset.js";
import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {describe, it} from "node:test";
import {SecretKey} from "@chainsafe/blst";
import {BitArray} from "@chainsafe/ssz";
import {SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import {ssz} from "@lodestar/types";
import {toHex} from "../../../../../src/hotpath/bytes.js";
import {secretToPublicKey, splitSecretKey, verifySignature} from "../../../../../src/hotpath/threshold.js";
import {SignatureStepError} from "../../../../../src/roles/validator/tracking/outcome.js";
import type {ShareKey} from "../../../../../src/roles/validator/signing/shareKeys.js";
import {SignatureExchange} from "../../../../../src/roles/validator/exchange/signatureExchange.js";
import {SubmitBatcher} from "../../../../../src/roles/validator/beacon/submitBatcher.js";
import {
  decodeContributions,
  encodeContributions,
} from "../../../../../src/roles/validator/duties/sync/syncContributionService.js";
import type {ClusterTransport, DutyChunkKind} from "../../../../../src/roles/validator/clusterTransport.js";
import {MemoryHub} from "../../../../helpers/memoryTransport.js";
import {exchangeKit} from "../../../../helpers/testSigner.js";

function contribution(subcommitteeIndex: number, slot = 9) {
  return {
    slot,
    beaconBlockRoot: randomBytes(32),
    subcommitteeIndex,
    aggregationBits: BitArray.fromSingleBit(SYNC_COMMITTEE_SUBNET_SIZE, 1),
    signature: randomBytes(96),
  };
}

describe("sync contribution consensus value", () => {
  it("round-trips contributions in subcommittee order, whatever order they were fetched in", () => {
    const cs = [contribution(2), contribution(0), contribution(3)];
    const decoded = decodeContributions(encodeContributions(cs));
    assert.deepEqual(
      decoded?.map((c) => c.subcommitteeIndex),
      [0, 2, 3],
    );
    assert.ok(ssz.altair.SyncCommitteeContribution.equals(decoded?.[1] as never, cs[0] as never));
  });

  it("refuses an empty value, a truncated one and one with a subcommittee twice", () => {
    assert.equal(decodeContributions(new Uint8Array(0)), null);
    assert.equal(decodeContributions(encodeContributions([contribution(1)]).subarray(1)), null);
    const twice = Buffer.concat([encodeContributions([contribution(1)]), encodeContributions([contribution(1)])]);
    assert.equal(decodeContributions(twice), null);
  });
});

describe("SubmitBatcher", () => {
  it("submits the items added in one tick as one request, and settles each with its batch", async () => {
    const calls: number[][] = [];
    const b = new SubmitBatcher<number>(async (items) => {
      calls.push(items);
      if (items.includes(99)) throw new Error("refused");
    });
    await Promise.all([b.add(1), b.add(2), b.add(3)]);
    await assert.rejects(Promise.all([b.add(4), b.add(99)]), /refused/);
    assert.deepEqual(calls, [
      [1, 2, 3],
      [4, 99],
    ]);
  });
});

describe("SignatureExchange.signAndExchangeAll", () => {
  const {pool, signers} = exchangeKit();

  /** Three validators split 3-of-4: `shares[node - 1][v]` is node's share of validator v. */
  function validators() {
    const secrets = [0, 1, 2].map(() => SecretKey.fromKeygen(randomBytes(32)).toBytes());
    const split = secrets.map((s) => splitSecretKey(s.slice(), 3, 4));
    const pubkeys = secrets.map((s) => secretToPublicKey(s));
    const shares: ShareKey[][] = [1, 2, 3, 4].map((node) =>
      secrets.map((_, v) => ({
        pubkey: toHex(pubkeys[v] as Uint8Array),
        secret: (split[v] as Uint8Array[])[node - 1] as Uint8Array,
        sharePubkeys: Object.fromEntries((split[v] as Uint8Array[]).map((s, i) => [i + 1, secretToPublicKey(s)])),
      })),
    );
    return {pubkeys, shares};
  }

  /** Counts the chunks each node publishes. */
  function counted(t: ClusterTransport, counts: Map<number, number>): ClusterTransport {
    return {
      self: t.self,
      subscribe: t.subscribe,
      publish: (kind: DutyChunkKind, slot: number, payload: Uint8Array) => {
        counts.set(t.self, (counts.get(t.self) ?? 0) + 1);
        t.publish(kind, slot, payload);
      },
    };
  }

  it("pushes one chunk per node for all validators and recovers every signature, also with one node down", async () => {
    const {pubkeys, shares} = validators();
    const hub = new MemoryHub();
    const counts = new Map<number, number>();
    const exchanges = [1, 2, 3, 4].map(
      (i) =>
        new SignatureExchange(
          counted(hub.transport(i), counts),
          signers().signer(shares[i - 1] as ShareKey[]),
          pool,
          3,
          new Set(["sync_message"]),
          () => true,
        ),
    );
    hub.down.add(4);
    const message = randomBytes(32);
    const never = new Promise<never>(() => {});
    const recovered = await Promise.all(
      exchanges.slice(0, 3).map((x, k) =>
        Promise.all(
          x.signAndExchangeAll(
            "sync_message",
            5,
            (shares[k] as ShareKey[]).map((share) => ({share, message})),
            never,
          ),
        ),
      ),
    );
    for (const sigs of recovered)
      sigs.forEach((sig, v) => assert.ok(verifySignature(pubkeys[v] as Uint8Array, message, sig), `validator ${v}`));
    assert.deepEqual([...counts.entries()].sort(), [
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    for (const x of exchanges) x.stop();
  });

  it("rejects at the deadline naming who sent partials when only two nodes sign", async () => {
    const {shares} = validators();
    const hub = new MemoryHub();
    const exchanges = [1, 2].map(
      (i) =>
        new SignatureExchange(
          hub.transport(i),
          signers().signer(shares[i - 1] as ShareKey[]),
          pool,
          3,
          new Set(["sync_message"]),
          () => true,
        ),
    );
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("slot ended")), 200));
    deadline.catch(() => {});
    const message = randomBytes(32);
    const pending = exchanges.map(
      (x, k) =>
        x.signAndExchangeAll(
          "sync_message",
          5,
          [{share: (shares[k] as ShareKey[])[0] as ShareKey, message}],
          deadline,
        )[0] as Promise<Uint8Array>,
    );
    for (const p of pending)
      await assert.rejects(
        p,
        (e: unknown) =>
          e instanceof SignatureStepError && [...e.type.have].sort().join(",") === "1,2" && e.type.threshold === 3,
      );
    for (const x of exchanges) x.stop();
  });
});
