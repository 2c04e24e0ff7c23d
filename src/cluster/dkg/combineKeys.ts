import {bytesEqual} from "../../hotpath/bytes.js";
import {secretToPublicKey} from "../../hotpath/threshold.js";
import {type CommitmentPoints, addCommitments, addShares, evaluateCommitments} from "./feldman.js";
import {DkgError, type DkgValidatorKeys} from "./outcome.js";

/** How the qualified dealers' polynomials make the keys: summed (a DKG), or interpolated at 0 (a reshare). */
export interface Combination {
  commitments(sets: CommitmentPoints[]): CommitmentPoints;
  shares(shares: Uint8Array[]): Uint8Array;
}

const SUM: Combination = {commitments: addCommitments, shares: addShares};

/**
 * The ceremony's output from the qualified dealers' commitments ([dealer][validator]) and the shares they gave this
 * operator ([dealer][validator]): per validator the group key (the combined polynomial at 0), every operator's
 * public share (at its index) and this operator's secret share (the combination), checked against its public share.
 */
export function combineKeys(
  points: CommitmentPoints[][],
  shares: Uint8Array[][],
  c: {validators: number; operators: number; self: number},
  how: Combination = SUM,
): DkgValidatorKeys[] {
  return Array.from({length: c.validators}, (_, v) => {
    const combined = how.commitments(points.map((p) => p[v] as CommitmentPoints));
    const sharePubkeys = Array.from({length: c.operators}, (_, k) => evaluateCommitments(combined, k + 1));
    const groupPubkey = (combined[0] as CommitmentPoints[number]).serialize();
    const secretShare = how.shares(shares.map((s) => s[v] as Uint8Array));
    if (!bytesEqual(secretToPublicKey(secretShare), sharePubkeys[c.self - 1] as Uint8Array)) {
      throw new DkgError(
        {code: "DKG_SELF_CHECK_FAILED", validator: v},
        `validator ${v}: this operator's combined share does not match its public share`,
      );
    }
    return {groupPubkey, sharePubkeys, secretShare};
  });
}
