import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import {describe, it} from "node:test";
import {toHex} from "../../../../src/hotpath/bytes.js";
import {verifySignature} from "../../../../src/hotpath/threshold.js";
import {encodePartialSigs} from "../../../../src/roles/validator/exchange/partialSigs.js";
import type {ShareKey} from "../../../../src/roles/validator/signing/shareKeys.js";
import {EARLY_MIN, SignatureExchange} from "../../../../src/roles/validator/exchange/signatureExchange.js";
import {type SignRequest, type Signer, SignerError} from "../../../../src/roles/validator/signing/signer.js";
import {exchangeFailure} from "../../../../src/roles/validator/tracking/outcome.js";
import {MemoryHub} from "../../../helpers/memoryTransport.js";
import {exchangeKit} from "../../../helpers/testSigner.js";
import {thresholdValidator} from "../../../helpers/thresholdValidator.js";

const hex = (n: number) => toHex(randomBytes(n));
const settle = () => new Promise((r) => setImmediate(r));

describe("SignatureExchange against a flooding member", () => {
  const {pool, signers} = exchangeKit();

  function cluster() {
    const v = thresholdValidator(3, 4);
    const pubkey = toHex(v.pubkey);
    const share = (node: number): ShareKey => ({
      pubkey,
      secret: v.shares[node - 1] as Uint8Array,
      sharePubkeys: v.sharePubkeys,
    });
    const hub = new MemoryHub();
    const validators = new Set([pubkey]);
    const make = (node: number) =>
      new SignatureExchange(
        hub.transport(node),
        signers().signer([share(node)]),
        pool,
        3,
        new Set(["sync_message"]),
        () => true,
        {validators},
      );
    return {v, pubkey, share, hub, make};
  }

  it("drops and counts partials for validators outside the cluster, and batches larger than the cluster could sign", async () => {
    const {hub, make, pubkey} = cluster();
    const x1 = make(1);
    const flooder = hub.transport(4);
    flooder.publish(
      "partial_sig",
      5,
      encodePartialSigs({
        duty: "sync_message",
        slot: 5,
        sigs: [0, 1, 2].map(() => ({pubkey: hex(48), root: hex(32), sig: hex(96)})),
      }),
    );
    flooder.publish(
      "partial_sig",
      5,
      encodePartialSigs({
        duty: "sync_message",
        slot: 5,
        sigs: Array.from({length: 100}, () => ({pubkey, root: hex(32), sig: hex(96)})),
      }),
    );
    await settle();
    assert.equal(x1.dropped.unknown_validator, 3);
    assert.equal(x1.dropped.oversized, 1, "a 100-partial batch for a 1-validator cluster was read");
    assert.equal(x1.earlyHeld, 0);
    x1.stop();
  });

  it("keeps partials for roots it does not await in a bounded buffer per origin, and a flood there does not evict another origin's", async () => {
    const {v, hub, make, pubkey, share} = cluster();
    const [x1, x2, x3] = [make(1), make(2), make(3)];
    const message = v.message;
    const never = new Promise<never>(() => {});
    // Nodes 2 and 3 decide first: their partials for `message` reach node 1 before node 1 awaits that root.
    void x2.signAndExchangeAll("sync_message", 5, [{share: share(2), message}], never);
    void x3.signAndExchangeAll("sync_message", 5, [{share: share(3), message}], never);
    // Member 4 floods partials for roots nobody decided, in batches of the largest size an honest node sends.
    const flooder = hub.transport(4);
    for (let i = 0; i < 200; i++)
      flooder.publish(
        "partial_sig",
        5,
        encodePartialSigs({duty: "sync_message", slot: 5, sigs: [{pubkey, root: hex(32), sig: hex(96)}]}),
      );
    await settle();
    await settle();
    assert.equal(
      x1.earlyHeld,
      EARLY_MIN + 2,
      "the flood held more than its origin's bound, or the honest early partials were lost",
    );
    assert.equal(x1.dropped.early_evicted, 200 - EARLY_MIN);
    // Node 1 decides the same root: its own partial and the two early ones recover the signature.
    const [sig] = await Promise.all(
      x1.signAndExchangeAll(
        "sync_message",
        5,
        [{share: share(1), message}],
        new Promise<never>((_, r) => setTimeout(() => r(new Error("not recovered in 10 s")), 10_000).unref()),
      ),
    );
    assert.ok(verifySignature(v.pubkey, message, sig as Uint8Array));
    x1.prune(6);
    assert.equal(x1.earlyHeld, 0, "pruning the slot left early partials behind");
    for (const x of [x1, x2, x3]) x.stop();
  });

  it("shares a partial it leaves to others to recover, which counts in their recovery, and keeps none of theirs", async () => {
    const {v, make, share} = cluster();
    const [x1, x2, x3] = [make(1), make(2), make(3)];
    const message = v.message;
    const never = new Promise<never>(() => {});
    // Node 2 signs first: its partial reaches node 1 before node 1 has signed (an early arrival).
    const recovered = x2.signAndExchangeAll("sync_message", 5, [{share: share(2), message}], never)[0];
    await settle();
    await Promise.all(x1.signAndShareAll("sync_message", 5, [{share: share(1), message}]));
    // Node 3's partial reaches node 1 after it shared its own.
    void x3.signAndExchangeAll("sync_message", 5, [{share: share(3), message}], never);
    assert.ok(verifySignature(v.pubkey, message, (await recovered) as Uint8Array), "node 1's partial counted");
    await settle();
    assert.equal(x1.earlyHeld, 0, "node 1 kept partials for a signature it does not recover");
    for (const x of [x1, x2, x3]) x.stop();
  });

  it("never resolves a signature this node's slashing protection refused, though the others' partials recover it", async () => {
    const {v, hub, pubkey, share} = cluster();
    const signAll = ["attester"];
    // Node 1's slashing protection answers only once the test opens `gate`: the others' partials arrive while
    // node 1 is still deciding whether it may sign.
    let open = () => {};
    let gate = Promise.resolve();
    const s1 = signers().signer([share(1)]);
    const slow = Object.assign(Object.create(s1) as Signer, {
      signAll: async (r: SignRequest[]) => (await gate, s1.signAll(r)),
    });
    const make = (node: number) =>
      new SignatureExchange(
        hub.transport(node),
        node === 1 ? slow : signers().signer([share(node)]),
        pool,
        3,
        new Set(signAll),
        () => true,
        {validators: new Set([pubkey])},
      );
    const [x1, x2, x3, x4] = [make(1), make(2), make(3), make(4)];
    const deadline = () => {
      const d = new Promise<never>((_, r) => setTimeout(() => r(new Error("not recovered in 10 s")), 10_000).unref());
      d.catch(() => {});
      return d;
    };
    const vote = (message: Uint8Array) => ({
      share: share(1),
      message,
      slashable: {kind: "attestation" as const, sourceEpoch: 0, targetEpoch: 5},
    });
    // Every node signs vote A for target epoch 5: it recovers.
    const a = v.message;
    const signedA = [x1, x2, x3, x4].map(
      (x, k) =>
        x.signAndExchangeAll("attester", 5, [{...vote(a), share: share(k + 1)}], deadline())[0] as Promise<Uint8Array>,
    );
    assert.ok(verifySignature(v.pubkey, a, await (signedA[0] as Promise<Uint8Array>)));
    await Promise.all(signedA);
    // Vote B for the same target is a double vote for node 1; nodes 2-4 sign it (their DBs were wiped, say).
    const b = randomBytes(32);
    let signedAt: number | undefined;
    gate = new Promise<void>((r) => (open = r));
    const refused = x1.signAndExchangeAll(
      "attester",
      5,
      [{...vote(b), onSigned: () => (signedAt = Date.now())}],
      deadline(),
    )[0] as Promise<Uint8Array>;
    const others = [x2, x3, x4].map(
      (x, k) =>
        x.signAndExchangeAll(
          "attester",
          5,
          [
            {
              ...vote(b),
              share: share(k + 2),
              slashable: {kind: "attestation" as const, sourceEpoch: 0, targetEpoch: 6},
            },
          ],
          deadline(),
        )[0],
    );
    await Promise.all(others);
    await settle();
    open();
    await assert.rejects(refused, (e: unknown) => e instanceof SignerError && e.type.code === "SLASHING_REFUSED");
    assert.equal(signedAt, undefined, "node 1 signed a double vote");
    assert.deepEqual(
      exchangeFailure(4, await refused.catch((e: unknown) => e), "attestation signature").reason,
      "slashing_refused",
    );
    for (const x of [x1, x2, x3, x4]) x.stop();
  });
});
