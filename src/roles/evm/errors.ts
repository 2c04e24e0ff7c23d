import {R3dvError} from "../../util/errors.js";

export type EvmErrorType =
  /** The state transition thread runs another Lodestar preset than the chain's: every SSZ shape would differ. */
  | {code: "EVM_PRESET_MISMATCH"; expected: string; actual: string}
  /** The anchor (finalized or genesis) state the beacon node served cannot be used. */
  | {code: "EVM_BAD_ANCHOR"; reason: string}
  /** The chain follower was given no beacon node to follow. */
  | {code: "EVM_NO_BEACON_NODE"}
  /** A beacon node request the follower needs failed. */
  | {code: "EVM_FETCH_FAILED"; url: string; route: string; status?: number; reason: string}
  /** A peer's `eth_block` chunk does not hold a block view: which field is wrong, and how. */
  | {code: "EVM_BAD_BLOCK_VIEW"; field: string; reason: string};

export class EvmError extends R3dvError<EvmErrorType> {}
