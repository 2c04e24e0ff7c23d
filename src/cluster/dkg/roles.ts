import {bytesEqual, toHex} from "../../hotpath/bytes.js";
import {combineKeys} from "./combineKeys.js";
import {type CommitmentPoints, interpolateCommitments, interpolateShares} from "./feldman.js";
import {DkgError, type DkgValidatorKeys} from "./outcome.js";

/**
 * Who deals and who receives in a ceremony. A DKG: every operator deals a random secret and receives a share of
 * every dealer's. A reshare: the old operators taking part deal their old shares, the new operators receive, and
 * the new keys interpolate the dealers' polynomials at x = 0 weighted for the dealers' old share indices, so every
 * validator keeps its public key. Participants are numbered 1..P; the receivers are 1..receivers, a receiver's
 * number being its new share index.
 */
export interface CeremonyRoles {
  /** Participants that deal, ascending. */
  readonly dealers: readonly number[];
  /** Participants 1..receivers receive shares. */
  readonly receivers: number;
  /** Fewest qualified dealers that still give the keys: the new threshold for a DKG, the old one for a reshare. */
  readonly minQualified: number;
  /** The constant terms this participant deals, one per validator; undefined: fresh random ones. */
  readonly ownSecrets?: Uint8Array[];
  /** Why a qualified dealer's commitments cannot be its part of the keys, or undefined. */
  wrongSecret(dealer: number, points: CommitmentPoints[]): string | undefined;
  /** The keys from the qualified dealers' commitments and this receiver's shares from them ([dealer][validator]). */
  combine(qualified: number[], points: CommitmentPoints[][], shares: Uint8Array[][], self: number): DkgValidatorKeys[];
}

/** Every operator deals and receives; the group key is the sum of the qualified dealers' secrets. */
export function dkgRoles(operators: number, threshold: number, validators: number): CeremonyRoles {
  return {
    dealers: Array.from({length: operators}, (_, k) => k + 1),
    receivers: operators,
    minQualified: threshold,
    wrongSecret: () => undefined,
    combine: (_qualified, points, shares, self) => combineKeys(points, shares, {operators, validators, self}),
  };
}

export interface ReshareRolesInput {
  /** Participant -> its old share index, for every old operator that deals. */
  dealers: Map<number, number>;
  /** New operators, participants 1..receivers. */
  receivers: number;
  oldThreshold: number;
  /** Per validator: the unchanged group key and the old share public keys ([oldIndex - 1]), 48-byte compressed. */
  validators: {pubkey: Uint8Array; sharePubkeys: Uint8Array[]}[];
  /** This participant's old secret shares, one per validator, when it deals. */
  ownSecrets?: Uint8Array[];
}

export function reshareRoles(input: ReshareRolesInput): CeremonyRoles {
  const dealers = [...input.dealers.keys()].sort((a, b) => a - b);
  const oldIndex = (participant: number) => input.dealers.get(participant) as number;
  return {
    dealers,
    receivers: input.receivers,
    minQualified: input.oldThreshold,
    ownSecrets: input.ownSecrets,
    wrongSecret(dealer, points) {
      // The constant term must be the dealer's old share: anything else would change the validator's key.
      const v = points.findIndex(
        (p, j) =>
          !bytesEqual(
            (p[0] as CommitmentPoints[number]).serialize(),
            input.validators[j]?.sharePubkeys[oldIndex(dealer) - 1] ?? new Uint8Array(),
          ),
      );
      return v < 0 ? undefined : `validator ${v}: it dealt a secret other than its old share ${oldIndex(dealer)}`;
    },
    combine(qualified, points, shares, self) {
      const at = qualified.map(oldIndex);
      const keys = combineKeys(
        points,
        shares,
        {validators: input.validators.length, operators: input.receivers, self},
        {commitments: (sets) => interpolateCommitments(sets, at), shares: (s) => interpolateShares(s, at)},
      );
      keys.forEach(({groupPubkey}, v) => {
        const old = input.validators[v]?.pubkey ?? new Uint8Array();
        if (!bytesEqual(groupPubkey, old)) {
          throw new DkgError(
            {code: "DKG_SELF_CHECK_FAILED", validator: v},
            `validator ${v}: the reshared key ${toHex(groupPubkey)} is not the validator's key ${toHex(old)}`,
          );
        }
      });
      return keys;
    },
  };
}
