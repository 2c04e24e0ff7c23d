import type {RecoverOutcome} from "../hotpath/batchRecover.js";
import type {RecoverInput, RecoverResult} from "../hotpath/threshold.js";

/** Wire shapes between the main thread and BLS workers: plain bytes only, so structured clone stays cheap. */
export interface SerializedSignatureSet {
  pubkey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifySetsTask {
  kind: "verifySets";
  /** Each job is one caller's sets; the worker answers per job, so one bad set fails only its own caller. */
  jobs: SerializedSignatureSet[][];
}

export interface VerifySetsResult {
  /** Per job: true when every set in it verified. */
  jobValid: boolean[];
  /** How many sets went through one batched pairing check before any fallback. */
  batchedSets: number;
  /** Whether the batch failed and sets were re-verified one by one to find the bad ones. */
  fellBack: boolean;
}

/** Many recoveries in one task: checked with one pairing per message (hotpath/batchRecover.ts). */
export interface RecoverManyTask {
  kind: "recoverMany";
  items: RecoverInput[];
}

/**
 * Many share signatures in one task: a slot's attesters or selection proofs. `secrets` holds the i-th secret at
 * bytes 32i..32i+32 in a buffer of its own, transferred (not copied) to the worker, which zeroes it once used:
 * no copy of a secret stays behind in either thread's heap.
 */
export interface SignManyTask {
  kind: "signMany";
  secrets: Uint8Array;
  messages: Uint8Array[];
}

export type BlsTask = VerifySetsTask | RecoverManyTask | SignManyTask;
export type {RecoverOutcome, RecoverResult};
