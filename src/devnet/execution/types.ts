import type {ExecutionRpcEngine} from "../api/executionRpc.js";
import type {capella, electra} from "@lodestar/types";

/** The execution genesis block, as the beacon genesis state's `latest_execution_payload_header` records it. */
export interface ExecutionGenesis {
  parentHash: Uint8Array;
  blockHash: Uint8Array;
  stateRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  prevRandao: Uint8Array;
  timestamp: number;
  gasLimit: number;
  baseFeePerGas: bigint;
}

export interface PayloadAttributes {
  parentHash: Uint8Array;
  timestamp: number;
  prevRandao: Uint8Array;
  feeRecipient: Uint8Array;
  withdrawals: capella.Withdrawal[];
  parentBeaconBlockRoot: Uint8Array;
  /** A builder's block: its last transaction pays `value` wei to `to` from the builder's account. */
  payment?: {to: Uint8Array; value: bigint};
}

/**
 * The engine API surface the devnet's consensus side needs, shaped after engine_forkchoiceUpdated +
 * engine_getPayload (build) and engine_newPayload (verify), so the in-process EL could be swapped for a real one.
 */
export interface ExecutionEngine {
  genesis(): ExecutionGenesis;
  buildPayload(attributes: PayloadAttributes): Promise<electra.ExecutionPayload>;
  /** VALID when the payload re-executes to the same block hash on top of a known parent. */
  /** Fault injection: the same payload with a wrong state root and a hash that matches it (optional). */
  corruptStateRoot?(payload: electra.ExecutionPayload): Promise<electra.ExecutionPayload>;
  /** Fault injection: the same payload with one more transaction, which cannot run, and a hash over it (optional). */
  addFailingTransaction?(payload: electra.ExecutionPayload): Promise<electra.ExecutionPayload>;
  newPayload(
    payload: electra.ExecutionPayload,
    parentBeaconBlockRoot: Uint8Array,
  ): Promise<{valid: boolean; reason?: string}>;
  /** What the execution JSON-RPC (eth_getProof and the rest) reads, when the engine keeps its states. */
  executionRpc?(): ExecutionRpcEngine;
}
