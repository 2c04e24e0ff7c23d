import type {AnchorInfo, ChainDescription, VerifyOutcome} from "../roles/evm/blockVerifier.js";

/** Work for the state transition thread: take an anchor state, or verify one block on the states it keeps. */
export type StateTransitionTask =
  {kind: "bootstrap"; chain: ChainDescription; state: Uint8Array} | {kind: "verify"; block: Uint8Array};

export type StateTransitionResult = AnchorInfo | VerifyOutcome;
