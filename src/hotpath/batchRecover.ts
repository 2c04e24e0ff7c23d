import {
  PublicKey,
  Signature,
  type SignatureSet,
  aggregateWithRandomness,
  verify,
  verifyMultipleAggregateSignatures,
} from "@chainsafe/blst";
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

/** A recovered signature waiting for its check, with the key it must verify under. */
type Recovered = {i: number; signature: Signature; bytes: Uint8Array; pk: PublicKey};

/** One pairing-check input standing for a group of recovered signatures over one message. */
function groupSet(message: Uint8Array, group: Recovered[]): SignatureSet {
  if (group.length === 1) {
    const r = group[0] as Recovered;
    return {msg: message, pk: r.pk, sig: r.signature};
  }
  const agg = aggregateWithRandomness(group.map((r) => ({pk: r.pk, sig: r.bytes})));
  return {msg: message, pk: agg.pk, sig: agg.sig};
}

function holds(sets: SignatureSet[]): boolean {
  try {
    if (sets.length === 1) {
      const s = sets[0] as SignatureSet;
      return verify(s.msg, s.pk, s.sig);
    }
    return verifyMultipleAggregateSignatures(sets);
  } catch {
    return false;
  }
}

/**
 * Recovers many signatures and checks them all with one multi-pairing. A slot's sync committee messages all
 * sign one root, and from Electra so do its attestations (committee index 0 in the data), so a slot's
 * recoveries share a few messages; its aggregates and contributions each sign their own. Each recovered
 * signature is group-checked (blst); each message's signatures and keys are combined with random 64-bit scalars
 * (`aggregateWithRandomness`), and the messages' combinations are checked together
 * (`verifyMultipleAggregateSignatures`, which weighs each with a random scalar of its own): one Miller loop
 * per message and one final exponentiation for the whole batch, where one-by-one checks cost two Miller loops
 * and a final exponentiation each. A wrong signature passes only with probability 2^-64, and a set of wrong
 * ones cannot cancel out because the scalars are unknown to whoever made them. If the batch fails, each
 * message is checked on its own, and a failing message's items go the one-by-one way (`recoverAndVerify`),
 * which names the bad partials.
 */
export function recoverAndVerifyMany(items: RecoverInput[]): RecoverOutcome[] {
  if (items.length === 1) return [alone(items[0] as RecoverInput)];
  const out = new Array<RecoverOutcome | undefined>(items.length);
  const byMessage = new Map<string, {message: Uint8Array; group: Recovered[]}>();
  items.forEach((item, i) => {
    let signature: Signature;
    let bytes: Uint8Array;
    let pk: PublicKey;
    try {
      if (item.partials.length < item.threshold) throw new Error("too few partials");
      bytes = recoverSignature(item.partials.slice(0, item.threshold));
      // Group check: partials are decoded without one (herumi, see blsWorker.ts), so the result is checked here.
      signature = Signature.fromBytes(bytes, true);
      pk = publicKey(item.pubkey);
    } catch {
      out[i] = alone(item);
      return;
    }
    const key = toHex(item.message);
    let m = byMessage.get(key);
    if (!m) byMessage.set(key, (m = {message: item.message, group: []}));
    m.group.push({i, signature, bytes, pk});
  });
  const messages = [...byMessage.values()];
  const sets = messages.map((m) => groupSet(m.message, m.group));
  const ok = (r: Recovered) => {
    const item = items[r.i] as RecoverInput;
    out[r.i] = {
      result: {
        ok: true,
        signature: r.bytes,
        usedShares: item.partials.slice(0, item.threshold).map((p) => p.shareIndex),
        badShares: [],
      },
    };
  };
  if (sets.length > 0 && holds(sets)) {
    for (const m of messages) m.group.forEach(ok);
  } else {
    messages.forEach((m, k) => {
      if (messages.length > 1 && holds([sets[k] as SignatureSet])) m.group.forEach(ok);
      else for (const r of m.group) out[r.i] = alone(items[r.i] as RecoverInput);
    });
  }
  return out as RecoverOutcome[];
}
