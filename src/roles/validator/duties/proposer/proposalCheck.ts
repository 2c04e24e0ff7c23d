import {type ProposedBlock, isBlinded} from "../../beacon/types.js";
import {bytesEqual, toHex} from "../../../../hotpath/bytes.js";
import type {ValueRefusal} from "../../consensus/types.js";
import {blockOf} from "./blockValue.js";

/**
 * Why an honest node refuses a well-formed block proposed in consensus (the `reason` label of
 * `r3dv_consensus_rejected_total` and the `refused` entries of a proposal's duty result):
 * - fee_recipient_mismatch: the block's execution payload pays another address than the lock's fee recipient
 *   for the validator (a byzantine leader paying itself, or a beacon node that ignored prepare_beacon_proposer).
 * - wrong_parent: the block does not build on this node's view of the head (a leader orphaning the newest block).
 */
export type ProposalRefusalReason = "fee_recipient_mismatch" | "wrong_parent";

export interface ProposalRefusal extends ValueRefusal {
  reason: ProposalRefusalReason;
}

/** What a node expects of a proposal: the lock's fee recipient for the slot's validator and the heads it has seen. */
export interface ProposalExpectation {
  /** Lower-case 0x hex, from the lock. */
  feeRecipient: string;
  /** Roots (lower-case 0x hex) this node's beacon node gave as its head during the slot. */
  heads: ReadonlySet<string>;
}

/**
 * Checks a decoded block against the lock and this node's view. Blocks before Bellatrix carry no execution
 * payload, and blocks before the merge completes carry an empty one (zero block hash, zero fee recipient):
 * neither pays anyone, so there is no fee recipient to check. A builder's blinded block is not held to the
 * lock's fee recipient: most builders name their own address in the payload and pay the proposer with the
 * payload's last transaction, which the blinded block hides. What pays the lock's fee recipient there is the
 * registration the cluster signed (registrationService.ts), which the relay checks every bid's payment against.
 */
export function checkProposal(p: ProposedBlock, expect: ProposalExpectation): ProposalRefusal | null {
  if (!isBlinded(p)) {
    const payload = (p.block.body as {executionPayload?: {feeRecipient: Uint8Array; blockHash: Uint8Array}})
      .executionPayload;
    if (payload && !bytesEqual(payload.blockHash, EMPTY_HASH)) {
      const paid = toHex(payload.feeRecipient).toLowerCase();
      if (paid !== expect.feeRecipient) {
        return {
          reason: "fee_recipient_mismatch",
          detail: `block pays ${paid}, the lock's fee recipient is ${expect.feeRecipient}`,
        };
      }
    }
  }
  const parent = toHex(blockOf(p).parentRoot).toLowerCase();
  if (!expect.heads.has(parent)) {
    return {
      reason: "wrong_parent",
      detail: `block builds on ${parent}, this node's beacon node has ${[...expect.heads].join(" or ")} as head`,
    };
  }
  return null;
}

const EMPTY_HASH = new Uint8Array(32);
