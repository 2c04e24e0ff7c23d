import type {HeadRefusalReason} from "../verifiedChain/headGuard.js";
import {R3dvError, errorMessage} from "../../../util/errors.js";
import type {QbftDriver} from "../consensus/driver.js";
import {qbftQuorum} from "../consensus/quorum.js";
import {SignerError} from "../signing/signer.js";
import {BeaconError} from "../beacon/errors.js";

/**
 * Why a duty failed: the same words in every duty's result, in the `r3dv_duty_results_total` metric's
 * `reason` label and at the top of `r3dv duty SLOT`, so an operator can grep one word across all three.
 * - no_quorum: too few nodes took part (in consensus, or in signing after it); `missing` names them.
 * - consensus_timeout: enough nodes took part but they did not decide in time (slow or split views).
 * - invalid_partial: partials arrived, but too many of them were invalid; `invalidPartials` names their nodes.
 * - recover_timeout: enough partials arrived but recovering the signature did not finish in time (an
 *   overloaded node: its worker pool or event loop is behind).
 * - late_block: the slot's block was too late for the duty (proposal published after attesters voted).
 * - pool_empty: the beacon node answered, but its pool held no attestation (sync message) for the agreed
 *   data by the aggregation's last try (5/6 of the slot): they reached it too late or not at all. The
 *   attester (sync message) results of the slot say which.
 * - duty_fetch_failed: the duty came due while the beacon node(s) could not say what the duties were; `detail`
 *   says why.
 * - doppelganger: this node did not sign: doppelganger protection is still checking the validator, or saw it
 *   signing elsewhere; `detail` says which and what to do.
 * - head_invalid, head_unverified (`--verify enforce`): the head the duty would sign for failed this node's
 *   block verification, or was not verified in time, and no verified block of its chain could stand in.
 */
export type FailureReason =
  | "no_quorum"
  | "consensus_timeout"
  | "beacon_unavailable"
  | "slashing_refused"
  | "invalid_partial"
  | "recover_timeout"
  | "submit_failed"
  | "late_block"
  | "pool_empty"
  | "duty_fetch_failed"
  | "doppelganger"
  | HeadRefusalReason;

/**
 * Why a read of a beacon node's pool (an aggregate, a sync contribution) failed: a refusal after every retry
 * is an empty pool (the node works; the messages were not there), anything else is the beacon node's.
 */
export function poolReadFailure(e: unknown): FailureReason {
  return e instanceof BeaconError && e.code === "BEACON_REFUSED" ? "pool_empty" : "beacon_unavailable";
}

/**
 * - delegated: `--recoverers designated` and this node is not one of the operators that recover and submit
 *   this validator's attestation at this slot: it signed and shared its partial, and its part is done.
 */
export type DutyStatus = "submitted" | "late" | "failed" | "not_selected" | "delegated";

/** What every duty's result carries besides its own stages. */
export interface DutyOutcome {
  status: DutyStatus;
  reason?: FailureReason;
  detail?: string;
  /** Operators (1-based) this node heard nothing from for the failed step. */
  missing?: number[];
  /** Operators whose partial signature did not verify against their share key. */
  invalidPartials?: number[];
  /**
   * A duty_fetch_failed result whose own slot is unknown (its epoch's duties were never fetched): the slots it
   * may have fallen in. `slot` is the first of them, so the result is counted once, and `r3dv duty` shows it
   * for each of them.
   */
  window?: {from: number; to: number};
}

export type SignatureStepErrorType = {
  code: "PARTIALS_INSUFFICIENT";
  duty: string;
  slot: number;
  have: number[];
  invalid: number[];
  threshold: number;
};
/** A threshold signature that could not be made: who sent a partial, whose did not verify. */
export class SignatureStepError extends R3dvError<SignatureStepErrorType> {}

/** 1..n without the given operators. */
export function othersThan(n: number, present: Iterable<number>): number[] {
  const have = new Set(present);
  const out: number[] = [];
  for (let i = 1; i <= n; i++) if (!have.has(i)) out.push(i);
  return out;
}

/**
 * A consensus instance that ended without a decision: no_quorum when fewer than a QBFT quorum of nodes sent
 * anything for it (so no decision was possible), else consensus_timeout.
 */
export function consensusFailure(driver: QbftDriver, instance: string, n: number, e: unknown): DutyOutcome {
  const heard = driver.heardFrom(instance);
  if (heard.length === 0) {
    // This node never ran the instance: it reached the duty after its consensus window (overloaded or just restarted).
    return {
      status: "failed",
      reason: "consensus_timeout",
      detail: `consensus ${instance}: this node reached the duty after its consensus window (${errorMessage(e)})`,
    };
  }
  const quorum = qbftQuorum(n);
  if (heard.length < quorum) {
    const missing = othersThan(n, heard);
    return {
      status: "failed",
      reason: "no_quorum",
      missing,
      detail: `consensus ${instance}: heard ${heard.length} of the ${quorum} nodes a decision needs; nothing from node(s) ${missing.join(", ")}`,
    };
  }
  return {
    status: "failed",
    reason: "consensus_timeout",
    detail: `consensus ${instance}: ${heard.length} nodes took part but did not decide in time (${errorMessage(e)})`,
  };
}

/**
 * A threshold signature that was not recovered: invalid_partial when enough partials arrived but some did
 * not verify, else no_quorum naming the nodes whose partials never came.
 */
export function signatureFailure(
  n: number,
  threshold: number,
  have: number[],
  invalid: number[],
  step: string,
): DutyOutcome {
  const valid = have.filter((i) => !invalid.includes(i));
  if (valid.length >= threshold) {
    return {
      status: "failed",
      reason: "recover_timeout",
      detail: `${step}: ${valid.length} partial signatures arrived (from node(s) ${valid.join(", ")}) but the signature was not recovered before the deadline`,
    };
  }
  if (invalid.length > 0 && have.length >= threshold) {
    return {
      status: "failed",
      reason: "invalid_partial",
      invalidPartials: invalid,
      detail: `${step}: partial signature(s) from node(s) ${invalid.join(", ")} did not verify; ${valid.length} of ${threshold} valid`,
    };
  }
  const missing = othersThan(n, have);
  return {
    status: "failed",
    reason: "no_quorum",
    missing,
    ...(invalid.length > 0 ? {invalidPartials: invalid} : {}),
    detail: `${step}: ${valid.length} of ${threshold} partial signatures; nothing from node(s) ${missing.join(", ")}`,
  };
}

/** Outcome of a failed SignatureExchange step (this node's Signer refused, the deadline passed, or an error). */
export function exchangeFailure(n: number, e: unknown, step: string): DutyOutcome {
  if (e instanceof SignerError)
    return {
      status: "failed",
      reason: e.type.code === "DOPPELGANGER" ? "doppelganger" : "slashing_refused",
      detail: `${step}: ${e.message}`,
    };
  if (e instanceof SignatureStepError) return signatureFailure(n, e.type.threshold, e.type.have, e.type.invalid, step);
  return {status: "failed", reason: "no_quorum", detail: `${step}: ${errorMessage(e)}`};
}
