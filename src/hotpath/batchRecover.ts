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
type Recovered = {i: number; bytes: Uint8Array; pk: PublicKey};

/**
 * One pairing-check input standing for a group of recovered signatures over one message, each signature decoded
 * and group-checked (partials are decoded without one, see blsWorker.ts); undefined when one is not a valid
 * point of the group. `aggregateWithRandomness` decodes and checks every signature itself (22 ms for 312 here):
 * checking them here first added 19 ms to that.
 */
function groupSet(message: Uint8Array, group: Recovered[]): SignatureSet | undefined {
  try {
    if (group.length === 1) {
      const r = group[0] as Recovered;
      return {msg: message, pk: r.pk, sig: Signature.fromBytes(r.bytes, true)};
    }
    const agg = aggregateWithRandomness(group.map((r) => ({pk: r.pk, sig: r.bytes})));
    return {msg: message, pk: agg.pk, sig: agg.sig};
  } catch {
    return undefined;
  }
}

/** The item with the partials of `bad` shares moved behind the others, so a recovery from the first `threshold` leaves them out. */
function badLast(item: RecoverInput, bad: Set<number>): RecoverInput {
  const partials = [
    ...item.partials.filter((p) => !bad.has(p.shareIndex)),
    ...item.partials.filter((p) => bad.has(p.shareIndex)),
  ];
  return {...item, partials};
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
 * message is checked on its own; a failing message's first item goes the one-by-one way (`recoverAndVerify`),
 * which names the bad partials, and the others are recovered once more without them (see below).
 */
export function recoverAndVerifyMany(items: RecoverInput[]): RecoverOutcome[] {
  return recoverMany(items, true);
}

/** `mayRetry`: whether a failing message's items get one more batch without the shares its first item named. */
function recoverMany(items: RecoverInput[], mayRetry: boolean): RecoverOutcome[] {
  if (items.length === 1) return [alone(items[0] as RecoverInput)];
  const out = new Array<RecoverOutcome | undefined>(items.length);
  const byMessage = new Map<string, {message: Uint8Array; group: Recovered[]}>();
  items.forEach((item, i) => {
    let bytes: Uint8Array;
    let pk: PublicKey;
    try {
      if (item.partials.length < item.threshold) throw new Error("too few partials");
      bytes = recoverSignature(item.partials.slice(0, item.threshold));
      pk = publicKey(item.pubkey);
    } catch {
      out[i] = alone(item);
      return;
    }
    const key = toHex(item.message);
    let m = byMessage.get(key);
    if (!m) byMessage.set(key, (m = {message: item.message, group: []}));
    m.group.push({i, bytes, pk});
  });
  const checked = [...byMessage.values()].map((m) => ({...m, set: groupSet(m.message, m.group)}));
  const sets = checked.flatMap((c) => (c.set ? [c.set] : []));
  const allHold = sets.length > 0 && sets.length === checked.length && holds(sets);
  for (const {group, set} of checked) {
    const good = allHold || (set !== undefined && checked.length > 1 && holds([set]));
    if (good) {
      for (const r of group) {
        const item = items[r.i] as RecoverInput;
        out[r.i] = {
          result: {
            ok: true,
            signature: r.bytes,
            usedShares: item.partials.slice(0, item.threshold).map((p) => p.shareIndex),
            badShares: [],
          },
        };
      }
      continue;
    }
    // A message that failed: its first item goes the one-by-one way, which names the bad partials. A lying member
    // usually lies in every partial of a batch, so the rest are recovered again without its shares among the first
    // `threshold` and checked together: one failed batch costs one one-by-one recovery, not one per item.
    const [first, ...rest] = group as [Recovered, ...Recovered[]];
    const firstOutcome = alone(items[first.i] as RecoverInput);
    out[first.i] = firstOutcome;
    const bad = new Set("result" in firstOutcome ? firstOutcome.result.badShares : []);
    // Once only, and only for items with enough partials besides the named ones: a second failure (another liar)
    // or an item short of partials goes one by one, so the cost stays at most what one-by-one checks of all cost.
    const spare = (r: Recovered) => {
      const item = items[r.i] as RecoverInput;
      return item.partials.filter((p) => !bad.has(p.shareIndex)).length >= item.threshold;
    };
    const retry = mayRetry && bad.size > 0 ? rest.filter(spare) : [];
    const retried = new Set(retry);
    for (const r of rest) if (!retried.has(r)) out[r.i] = alone(items[r.i] as RecoverInput);
    if (retry.length === 0) continue;
    const again = recoverMany(
      retry.map((r) => badLast(items[r.i] as RecoverInput, bad)),
      false,
    );
    retry.forEach((r, j) => (out[r.i] = again[j] as RecoverOutcome));
  }
  return out as RecoverOutcome[];
}
