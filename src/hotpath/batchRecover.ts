import {PublicKey, Signature, aggregateWithRandomness, verify} from "@chainsafe/blst";
import {toHex} from "./bytes.js";
import {
  type RecoverInput,
  type RecoverResult,
  ThresholdError,
  recoverAndVerify,
  recoverSignature,
} from "./threshold.js";

/** One item's answer: its result, or the typed error `recoverAndVerify` would have thrown for it alone. */
export type RecoverOutcome = {result: RecoverResult} | {error: {type: ThresholdError["type"]; message: string}};

/**
 * Validator public keys seen by this thread, decompressed and validated once: a cluster signs for the same
 * few thousand keys every slot, and `PublicKey.fromBytes(..., true)` costs more than the rest of a batched
 * check per key. Cleared when full rather than evicted one by one: refilling costs one slot's worth of decoding.
 */
const PUBKEY_CACHE_MAX = 16_384;
const pubkeys = new Map<string, PublicKey>();

function publicKey(bytes: Uint8Array): PublicKey {
  const hex = toHex(bytes);
  let pk = pubkeys.get(hex);
  if (!pk) {
    pk = PublicKey.fromBytes(bytes, true);
    if (pubkeys.size >= PUBKEY_CACHE_MAX) pubkeys.clear();
    pubkeys.set(hex, pk);
  }
  return pk;
}

function alone(item: RecoverInput): RecoverOutcome {
  try {
    return {result: recoverAndVerify(item)};
  } catch (e) {
    if (e instanceof ThresholdError) return {error: {type: e.type, message: e.message}};
    throw e;
  }
}

/**
 * Recovers many signatures and checks them with one pairing per message instead of one per signature. A
 * slot's sync committee messages all sign one root, and from Electra so do its attestations (committee index
 * 0 in the data), so a slot's recoveries share one or two messages. Each recovered signature is group-checked
 * (blst), then each message's signatures and keys are combined with random 64-bit scalars
 * (`aggregateWithRandomness`) and verified once: a wrong signature passes only with probability 2^-64, and
 * a set of wrong ones cannot cancel out because the scalars are unknown to whoever made them. If a message's
 * check fails, its items go the one-by-one way (`recoverAndVerify`), which names the bad partials.
 */
export function recoverAndVerifyMany(items: RecoverInput[]): RecoverOutcome[] {
  const out = new Array<RecoverOutcome | undefined>(items.length);
  const byMessage = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = toHex(item.message);
    const group = byMessage.get(key);
    if (group) group.push(i);
    else byMessage.set(key, [i]);
  });
  for (const indices of byMessage.values()) {
    if (indices.length === 1) {
      const i = indices[0] as number;
      out[i] = alone(items[i] as RecoverInput);
      continue;
    }
    const recovered: {i: number; signature: Uint8Array; pk: PublicKey}[] = [];
    for (const i of indices) {
      const item = items[i] as RecoverInput;
      try {
        if (item.partials.length < item.threshold) throw new Error("too few partials");
        const signature = recoverSignature(item.partials.slice(0, item.threshold));
        // Group check: partials are decoded without one (herumi, see blsWorker.ts), so the result is checked here.
        Signature.fromBytes(signature, true);
        recovered.push({i, signature, pk: publicKey(item.pubkey)});
      } catch {
        out[i] = alone(item);
      }
    }
    let valid = false;
    if (recovered.length > 0) {
      try {
        const agg = aggregateWithRandomness(recovered.map((r) => ({pk: r.pk, sig: r.signature})));
        valid = verify((items[indices[0] as number] as RecoverInput).message, agg.pk, agg.sig);
      } catch {
        valid = false;
      }
    }
    for (const r of recovered) {
      const item = items[r.i] as RecoverInput;
      out[r.i] = valid
        ? {
            result: {
              ok: true,
              signature: r.signature,
              usedShares: item.partials.slice(0, item.threshold).map((p) => p.shareIndex),
              badShares: [],
            },
          }
        : alone(item);
    }
  }
  return out as RecoverOutcome[];
}
