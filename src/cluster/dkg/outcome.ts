import {R3dvError} from "../../util/errors.js";
import type {ComplaintReason, DkgRound} from "./messages.js";

/** The round after the DKG proper, in which every operator signs the lock and its deposit partials. */
export type DkgStep = DkgRound | "lock";

/** Why a dealer's polynomial is left out of every key: each names the dealer and, where someone saw it, who. */
export type DisqualifyReason =
  /** Signed two different commitment sets: proven by the two signatures. */
  | "equivocated"
  /** Accused (missing or bad share, or no deal) and did not reveal what it owes in the answer round. */
  | "unanswered_complaint"
  /** Revealed a share that does not match its own commitments, or a deal that is not the one it signed. */
  | "bad_answer"
  /** A reshare dealer whose polynomial's constant term is not its old share: it would change the validator's key. */
  | "wrong_secret";

export interface Disqualification {
  dealer: number;
  reason: DisqualifyReason;
  /** The operators whose complaint it failed to answer (empty for an equivocation). */
  complainers: number[];
  detail: string;
}

/** Misbehaviour that costs nobody a key but is named in the outcome: a forged relay, a malformed or late message. */
export interface DkgFault {
  operator: number;
  round: DkgRound;
  reason: "malformed" | "duplicate" | "late" | "forged_echo" | "false_complaint";
  detail: string;
}

export interface AnsweredComplaint {
  dealer: number;
  complainer: number;
  reason: ComplaintReason;
}

export interface DkgValidatorKeys {
  /** 48-byte compressed: the sum of the qualified dealers' constant-term commitments. */
  groupPubkey: Uint8Array;
  /** Operator k+1's public share: the summed commitments evaluated at k+1. Element order = operator order. */
  sharePubkeys: Uint8Array[];
  /** This operator's secret share (32 bytes, big-endian), the sum of what each qualified dealer gave it. */
  secretShare: Uint8Array;
}

export interface DkgResult {
  qualified: number[];
  disqualified: Disqualification[];
  /** Complaints the accused dealer answered with a correct share: it stays, and the complaint is on record. */
  answered: AnsweredComplaint[];
  faults: DkgFault[];
  validators: DkgValidatorKeys[];
}

export type DkgErrorType =
  | {code: "DKG_BAD_CONFIG"; reason: string}
  | {code: "DKG_OPERATORS_MISSING"; round: DkgStep; operators: number[]}
  | {code: "DKG_DEFINITION_MISMATCH"; expected: string; operators: {operator: number; definitionHash: string}[]}
  | {code: "DKG_DEFINITION_SIGNATURE_INVALID"; operators: number[]}
  | {code: "DKG_TOO_FEW_QUALIFIED"; threshold: number; qualified: number[]; disqualified: Disqualification[]}
  | {code: "DKG_SELF_CHECK_FAILED"; validator: number}
  | {code: "DKG_LOCK_MISMATCH"; expected: string; operators: {operator: number; lockHash: string}[]}
  | {code: "DKG_LOCK_SIGNATURE_INVALID"; operators: number[]}
  | {code: "DKG_DEPOSIT_FAILED"; validator: number; badShares: number[]}
  | {code: "DKG_PEER_ABORTED"; operator: number; reason: string}
  | {code: "DKG_PEER_RESTARTED"; operators: number[]}
  | {code: "DKG_CANCELLED"}
  | {code: "DKG_FINISHED"; round: DkgRound | "done"};

/** A ceremony that cannot produce keys: the message says why and names the operators involved. */
export class DkgError extends R3dvError<DkgErrorType> {}
