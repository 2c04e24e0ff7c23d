/**
 * What this node concluded about one beacon block: the typed answer the validator role will consult before it
 * signs anything that names the block ("sign only what was verified").
 *
 * - `verified`: the block's consensus checks passed on a state this node derived itself (every signature
 *   batch-verified, the state transition ran, the post-state root it computed equals the block's `state_root`),
 *   and, with an execution endpoint, its payload re-executed to the same roots (`executed`); without one the
 *   payload is taken as given.
 * - `invalid`: a check failed; `reason` says which. A block built on an invalid block is invalid too.
 * - `unavailable`: this node could not check the block (not fetched, no parent state): neither valid nor invalid.
 */
export type BlockVerdict = VerifiedBlock | InvalidBlock | UnavailableBlock;

/** Why a block is invalid, one name per check so a metric and a duty refusal can say which failed. */
export type InvalidReason =
  /** Its parent was judged invalid: nothing built on an invalid block can be valid. */
  | "bad_parent"
  /** The proposer, RANDAO, attestation, sync aggregate or another signature in the block does not verify. */
  | "bad_signature"
  /** The state transition refused the block (wrong proposer, a bad attestation, an impossible operation...). */
  | "state_transition"
  /** Everything processed, but the post-state root differs from the block's `state_root`. */
  | "bad_state_root"
  /**
   * The execution payload re-executed here (`--execution-rpc`) does not give the payload's state root, receipts
   * root, logs bloom or gas used, or does not hash to its block hash.
   */
  | "bad_payload";

/** Why a block could not be checked. */
export type UnavailableReason =
  /** The beacon node did not serve the block (or its ancestors) as SSZ, or served bytes that are no block. */
  | "fetch_failed"
  /** The block's parent is not among the states kept and could not be reached from a fresh bootstrap. */
  | "no_parent_state"
  /** The worker running the state transition failed (crashed, out of memory). */
  | "worker_failed"
  /** The execution endpoint did not answer what re-executing the payload needs (down, too slow, an error). */
  | "execution_unavailable"
  /** The execution endpoint's proofs or code do not prove the parent's state: it lies, or serves another chain. */
  | "bad_witness";

interface VerdictBase {
  slot: number;
  /** 0x-prefixed block root (hash tree root of the BeaconBlock message). */
  root: string;
  parentRoot: string;
  /** The execution payload's block hash (0x hex), for blocks that carry a payload. */
  executionBlockHash?: string;
}

export interface VerifiedBlock extends VerdictBase {
  status: "verified";
  /** The post-state root this node computed (equal to the block's `state_root`). */
  stateRoot: string;
  /** True when its payload was re-executed here too (`--execution-rpc`); absent when it was taken as given. */
  executed?: boolean;
  timings: VerifyTimings;
}

export interface InvalidBlock extends VerdictBase {
  status: "invalid";
  reason: InvalidReason;
  /** A human sentence: which signature, which roots, the state transition's own message. */
  detail: string;
  timings?: VerifyTimings;
}

export interface UnavailableBlock {
  status: "unavailable";
  reason: UnavailableReason;
  detail: string;
  /** What is known of the block: at least its root; slot and parent when it was fetched. */
  root: string;
  slot?: number;
  parentRoot?: string;
}

/** Where one verification spent its time (ms), measured in the worker. */
export interface VerifyTimings {
  /** Advancing the parent state through the block's slot (includes an epoch transition at an epoch's start). */
  slotsMs: number;
  /** Building the signature sets and verifying them in one blst batch. */
  signaturesMs: number;
  /** processBlock: the block's operations applied to the state. */
  blockMs: number;
  /** Hashing the post-state (persistent-merkle-tree): the state root compared with the block's. */
  hashMs: number;
  /** Re-executing the payload in the execution thread (reading the witness included), when it was. */
  executionMs?: number;
  totalMs: number;
}
