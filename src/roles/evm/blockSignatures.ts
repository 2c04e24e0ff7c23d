import {Signature, verify, verifyMultipleAggregateSignatures, type SignatureSet} from "@chainsafe/blst";
import type {BeaconConfig} from "@lodestar/config";
import {
  BeaconStateView,
  getBlockSignatureSets,
  getSignatureSetPubkey,
  type CachedBeaconStateAllForks,
  type ISignatureSet,
} from "@lodestar/state-transition";
import type {SignedBeaconBlock} from "@lodestar/types";
import {errorMessage} from "../../util/errors.js";

/**
 * Null when every signature of the block verifies; otherwise which one failed. Sets that cannot be built (an
 * attestation naming a committee that does not exist) are the state transition's failure, not a signature's.
 */
export function checkBlockSignatures(
  config: BeaconConfig,
  state: CachedBeaconStateAllForks,
  signed: SignedBeaconBlock,
): {reason: "bad_signature" | "state_transition"; detail: string} | null {
  const fork = config.getForkSeq(signed.message.slot);
  let sets: ISignatureSet[];
  try {
    const indexed = signed.message.body.attestations.map((a) => state.epochCtx.getIndexedAttestation(fork, a));
    sets = getBlockSignatureSets(
      config,
      state.epochCtx.currentSyncCommitteeIndexed,
      new BeaconStateView(state),
      signed,
      indexed,
    );
  } catch (e) {
    return {reason: "state_transition", detail: `the block's signature sets cannot be built: ${errorMessage(e)}`};
  }
  const pubkeyCache = state.epochCtx.pubkeyCache;
  const batch: SignatureSet[] = [];
  for (const [i, set] of sets.entries()) {
    try {
      // Group-checked here: a batch verification assumes every signature is in the subgroup.
      batch.push({
        msg: set.signingRoot,
        pk: getSignatureSetPubkey(set, pubkeyCache),
        sig: Signature.fromBytes(set.signature, true),
      });
    } catch (e) {
      const detail = `signature ${i + 1} of ${sets.length} (${describeSet(i, signed)}) is not a valid point: ${errorMessage(e)}`;
      return {reason: "bad_signature", detail};
    }
  }
  if (verifyMultipleAggregateSignatures(batch)) return null;
  // The batch failed: name the first bad one (this costs one pairing per set, only for a bad block).
  for (const [i, s] of batch.entries()) {
    if (!verify(s.msg, s.pk, s.sig))
      return {
        reason: "bad_signature",
        detail: `signature ${i + 1} of ${sets.length} (${describeSet(i, signed)}) does not verify`,
      };
  }
  return {reason: "bad_signature", detail: "the signature batch does not verify"};
}

/**
 * Which of getBlockSignatureSets' sets index `i` is, in its order: RANDAO first, then slashings, attestations and
 * exits, the proposer's, and the sync aggregate's (when it has participants) and BLS changes last.
 */
function describeSet(i: number, signed: SignedBeaconBlock): string {
  const body = signed.message.body;
  if (i === 0) return "randao reveal";
  const ops = 2 * body.proposerSlashings.length + 2 * body.attesterSlashings.length;
  if (i <= ops) return "a slashing";
  if (i <= ops + body.attestations.length) return `attestation ${i - ops}`;
  const proposer = ops + body.attestations.length + body.voluntaryExits.length + 1;
  if (i < proposer) return "a voluntary exit";
  if (i === proposer) return "block proposer";
  const sync = "syncAggregate" in body && body.syncAggregate.syncCommitteeBits.getTrueBitIndexes().length > 0;
  return i === proposer + 1 && sync ? "sync aggregate" : "a BLS change";
}
