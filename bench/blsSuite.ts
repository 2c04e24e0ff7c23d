import {randomBytes} from "node:crypto";
import {PublicKey, SecretKey, Signature, verifyMultipleAggregateSignatures} from "@chainsafe/blst";
import {initHerumi} from "../src/hotpath/herumi.js";
import {recoverAndVerifyMany} from "../src/hotpath/batchRecover.js";
import {
  recoverAndVerify,
  recoverSignature,
  secretToPublicKey,
  sign,
  splitSecretKey,
  verifySignature,
} from "../src/hotpath/threshold.js";
import {BlsPool} from "../src/workers/blsPool.js";
import type {SerializedSignatureSet} from "../src/workers/blsTasks.js";
import type {BenchTask, Suite} from "./harness.js";

function signatureSets(count: number): SerializedSignatureSet[] {
  return Array.from({length: count}, () => {
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const message = randomBytes(32);
    return {pubkey: sk.toPublicKey().toBytes(), message, signature: sk.sign(message).toBytes()};
  });
}

function recoveryFixture(threshold: number, shares: number, message: Uint8Array = randomBytes(32)) {
  const secret = SecretKey.fromKeygen(randomBytes(32)).toBytes();
  const pubkey = secretToPublicKey(secret);
  const keyShares = splitSecretKey(secret, threshold, shares);
  const sharePubkeys = Object.fromEntries(keyShares.map((s, i) => [i + 1, secretToPublicKey(s)]));
  const partials = keyShares.slice(0, threshold).map((s, i) => ({shareIndex: i + 1, signature: sign(s, message)}));
  return {message, pubkey, sharePubkeys, threshold, partials};
}

/** A slot's sync committee messages (or Electra attestations): many validators, one signing root. */
const SLOT_RECOVERIES = 32;

/** Jobs in flight at once in the pool tasks, so every worker is busy and ops/s is the pool's throughput. */
const POOL_PARALLEL_JOBS = 8;

export const blsSuite: Suite = {
  name: "bls",
  async setup() {
    await initHerumi();
    const pool = new BlsPool();
    const sk = SecretKey.fromKeygen(randomBytes(32));
    const skBytes = sk.toBytes();
    const msg = randomBytes(32);
    const single = signatureSets(1)[0] as SerializedSignatureSet;
    const sets32 = signatureSets(32);
    const sets128 = signatureSets(128);
    const r34 = recoveryFixture(3, 4);
    const r710 = recoveryFixture(7, 10);
    const slotMessage = randomBytes(32);
    const slot34 = Array.from({length: SLOT_RECOVERIES}, () => recoveryFixture(3, 4, slotMessage));
    // A slot's aggregates: each AggregateAndProof signs its own message.
    const distinct34 = Array.from({length: SLOT_RECOVERIES}, () => recoveryFixture(3, 4));
    const parallel =
      <T>(f: () => Promise<T>) =>
      () =>
        Promise.all(Array.from({length: POOL_PARALLEL_JOBS}, f)).then(() => undefined);
    const tasks: BenchTask[] = [
      {name: "sign (main)", fn: () => void sign(skBytes, msg)},
      {name: "verify (main)", fn: () => void verifySignature(single.pubkey, single.message, single.signature)},
      {
        name: "verify (pool, priority)",
        fn: parallel(() => pool.verifySignatureSets([single], {priority: true})),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
      {
        name: "verify (pool, buffered)",
        fn: parallel(() => pool.verifySignatureSets([single])),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
      {name: "batch-verify 32 sets (main)", fn: () => void verifyBatchMain(sets32)},
      {
        name: "batch-verify 32 sets (pool)",
        fn: parallel(() => pool.verifySignatureSets(sets32)),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
      {name: "batch-verify 128 sets (main)", fn: () => void verifyBatchMain(sets128)},
      {
        name: "batch-verify 128 sets (pool)",
        fn: parallel(() => pool.verifySignatureSets(sets128)),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
      {name: "recover 3-of-4 (main)", fn: () => void recoverSignature(r34.partials)},
      {
        name: "recover+verify 3-of-4 (main)",
        fn: () => void verifySignature(r34.pubkey, r34.message, recoverSignature(r34.partials)),
      },
      {
        name: "recover+verify 3-of-4 (pool)",
        fn: parallel(() => pool.recoverAndVerify(r34)),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
      {
        name: `recover+verify 3-of-4 x${SLOT_RECOVERIES}, one message (main, one by one)`,
        fn: () => slot34.forEach((r) => recoverAndVerify(r)),
        opsPerCall: SLOT_RECOVERIES,
      },
      {
        name: `recover+verify 3-of-4 x${SLOT_RECOVERIES}, one message (main, batched)`,
        fn: () => void recoverAndVerifyMany(slot34),
        opsPerCall: SLOT_RECOVERIES,
      },
      {
        name: `recover+verify 3-of-4 x${SLOT_RECOVERIES}, each its own message (main, one by one)`,
        fn: () => distinct34.forEach((r) => recoverAndVerify(r)),
        opsPerCall: SLOT_RECOVERIES,
      },
      {
        name: `recover+verify 3-of-4 x${SLOT_RECOVERIES}, each its own message (main, batched)`,
        fn: () => void recoverAndVerifyMany(distinct34),
        opsPerCall: SLOT_RECOVERIES,
      },
      {
        name: `recover+verify 3-of-4 x${SLOT_RECOVERIES}, one message (pool)`,
        fn: () => Promise.all(slot34.map((r) => pool.recoverAndVerify(r))).then(() => undefined),
        opsPerCall: SLOT_RECOVERIES,
      },
      {name: "recover 7-of-10 (main)", fn: () => void recoverSignature(r710.partials)},
      {
        name: "recover+verify 7-of-10 (main)",
        fn: () => void verifySignature(r710.pubkey, r710.message, recoverSignature(r710.partials)),
      },
      {
        name: "recover+verify 7-of-10 (pool)",
        fn: parallel(() => pool.recoverAndVerify(r710)),
        opsPerCall: POOL_PARALLEL_JOBS,
      },
    ];
    return {tasks, teardown: () => pool.close()};
  },
};

function verifyBatchMain(sets: SerializedSignatureSet[]): boolean {
  return verifyMultipleAggregateSignatures(
    sets.map((s) => ({
      msg: s.message,
      pk: PublicKey.fromBytes(s.pubkey, true),
      sig: Signature.fromBytes(s.signature, true),
    })),
  );
}
