import {toHex} from "../../../hotpath/bytes.js";
import {sign} from "../../../hotpath/threshold.js";
import type {SlashingProtection} from "../../../storage/slashing/slashingProtection.js";
import {R3dvError, errorMessage} from "../../../util/errors.js";
import {type BlsPool, SIGN_IN_POOL_MIN} from "../../../workers/blsPool.js";
import type {PublicShare, ShareKey} from "./shareKeys.js";
import type {SigningTerm} from "./signingTerm.js";

/** What makes a message slashable (EIP-3076): slashing protection judges it before the share signs. */
export type Slashable = {kind: "attestation"; sourceEpoch: number; targetEpoch: number} | {kind: "block"; slot: number};

export interface SignRequest {
  pubkey: string;
  /** The signing root. */
  message: Uint8Array;
  /** Absent for messages no one can be slashed for (randao, selection proofs, aggregates, sync messages). */
  slashable?: Slashable;
}

export type SignerErrorType =
  | {code: "SLASHING_REFUSED"; pubkey: string; reason: string}
  | {code: "UNKNOWN_VALIDATOR"; pubkey: string}
  | {code: "DOPPELGANGER"; pubkey: string; reason: string}
  | {code: "OUTSIDE_TERM"; pubkey: string; reason: string};
export class SignerError extends R3dvError<SignerErrorType> {}

export type SignOutcome = {ok: true; signature: Uint8Array} | {ok: false; error: SignerError};

/**
 * The only holder of this node's share secrets. One call checks slashing protection and signs, so no path
 * can sign a slashable message without its durable record (DESIGN.md, "the node never signs anything
 * slashable"). A batch of SIGN_IN_POOL_MIN or more is signed in the worker pool: a slot's attesters and
 * selection proofs are hundreds at 10,000 validators, ~0.33 ms each, and on the main thread they held back every
 * peer's partials meanwhile (34 s of a node's main thread in a 2,500-validator devnet run). Fewer are signed here,
 * done before a task would start.
 */
export class Signer {
  private readonly shares: Map<string, ShareKey>;

  constructor(
    shares: ShareKey[],
    private readonly slashing: SlashingProtection,
    /** Why a validator must not sign now (doppelganger protection), checked before anything else. */
    private readonly gate: (pubkey: string) => string | undefined = () => undefined,
    /** Where big batches are signed; without one (tests of the layers above) everything is signed here. */
    private readonly pool?: Pick<BlsPool, "signMany">,
    /** The epochs this lock signs in (signingTerm.ts): a reshared lock's and a retired node's limits. */
    private readonly term?: Pick<SigningTerm, "refusal">,
  ) {
    this.shares = new Map(shares.map((s) => [s.pubkey, s]));
  }

  /** Every share's public half: what the duties and the exchange may know of a validator. */
  publicShares(): PublicShare[] {
    return [...this.shares.values()].map(({pubkey, sharePubkeys}) => ({pubkey, sharePubkeys}));
  }

  /**
   * Signs each request with this node's share, in order. Slashable requests are judged first, all in one
   * durable commit for attestations; a refused request gets its error and no signature.
   */
  async signAll(requests: SignRequest[]): Promise<SignOutcome[]> {
    const out: (SignOutcome | undefined)[] = requests.map((r) => {
      if (!this.shares.has(r.pubkey))
        return {
          ok: false,
          error: new SignerError(
            {code: "UNKNOWN_VALIDATOR", pubkey: r.pubkey},
            `no share of validator ${r.pubkey} on this node`,
          ),
        };
      const outside = r.slashable === undefined ? undefined : this.term?.refusal(r.slashable);
      if (outside !== undefined)
        return {ok: false, error: new SignerError({code: "OUTSIDE_TERM", pubkey: r.pubkey, reason: outside}, outside)};
      const reason = this.gate(r.pubkey);
      return reason === undefined
        ? undefined
        : {ok: false, error: new SignerError({code: "DOPPELGANGER", pubkey: r.pubkey, reason}, reason)};
    });
    const refuse = (k: number, pubkey: string, reason: string) => {
      out[k] = {ok: false, error: new SignerError({code: "SLASHING_REFUSED", pubkey, reason}, reason)};
    };
    const attestations = requests.flatMap((r, k) =>
      out[k] === undefined && r.slashable?.kind === "attestation" ? [{k, r, s: r.slashable}] : [],
    );
    if (attestations.length > 0) {
      const verdicts = await this.slashing.checkAndInsertAttestations(
        attestations.map(({r, s}) => ({
          pubkey: r.pubkey,
          sourceEpoch: s.sourceEpoch,
          targetEpoch: s.targetEpoch,
          signingRoot: toHex(r.message),
        })),
      );
      attestations.forEach(({k, r}, j) => {
        const v = verdicts[j];
        if (!v?.ok) refuse(k, r.pubkey, v ? v.error.message : "slashing protection gave no verdict");
      });
    }
    for (const [k, r] of requests.entries()) {
      if (out[k] !== undefined || r.slashable?.kind !== "block") continue;
      try {
        await this.slashing.checkAndInsertBlock({
          pubkey: r.pubkey,
          slot: r.slashable.slot,
          signingRoot: toHex(r.message),
        });
      } catch (e) {
        refuse(k, r.pubkey, errorMessage(e));
      }
    }
    const toSign = requests.flatMap((r, k) =>
      out[k] === undefined ? [{k, secret: (this.shares.get(r.pubkey) as ShareKey).secret, message: r.message}] : [],
    );
    const signatures = await this.signBatch(toSign);
    toSign.forEach(({k}, j) => (out[k] = {ok: true, signature: signatures[j] as Uint8Array}));
    return out as SignOutcome[];
  }

  private async signBatch(items: {secret: Uint8Array; message: Uint8Array}[]): Promise<Uint8Array[]> {
    if (this.pool && items.length >= SIGN_IN_POOL_MIN) {
      try {
        return await this.pool.signMany(items);
      } catch {
        // The pool closing under a stopping node, or a worker lost: the records are made, so the same signatures
        // are made here instead of failing the duty.
      }
    }
    return items.map(({secret, message}) => sign(secret, message));
  }
}
