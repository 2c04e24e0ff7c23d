import type {AnchorInfo, VerifyOutcome} from "../roles/evm/blockVerifier.js";
import type {ChainDescription} from "../roles/evm/chainDescription.js";

/** Work for the state transition thread: take an anchor state, or verify one block on the states it keeps. */
export type StateTransitionTask =
  {kind: "bootstrap"; chain: ChainDescription; state: Uint8Array} | {kind: "verify"; block: Uint8Array};

export type StateTransitionResult = AnchorInfo | VerifyOutcome;
