import type {AnchorInfo, AttestationCheckpoints, VerifyOutcome} from "../roles/evm/blockVerifier.js";
import type {ChainDescription} from "../roles/evm/chainDescription.js";

/**
 * Work for the state transition thread: take an anchor state, verify one block on the states it keeps, or read
 * an attestation's checkpoints off a kept state.
 */
export type StateTransitionTask =
  | {kind: "bootstrap"; chain: ChainDescription; state: Uint8Array}
  | {kind: "verify"; block: Uint8Array}
  | {kind: "checkpoints"; root: string; slot: number};

export type StateTransitionResult = AnchorInfo | VerifyOutcome | AttestationCheckpoints | null;
