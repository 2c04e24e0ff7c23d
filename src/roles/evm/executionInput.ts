import type {ExecutionPayload as JsonPayload} from "@ethereumjs/block";
import type {BeaconConfig} from "@lodestar/config";
import type {CachedBeaconStateAllForks} from "@lodestar/state-transition";
import {type BeaconBlock, type electra, ssz} from "@lodestar/types";
import {toHex} from "../../hotpath/bytes.js";
import {type ExecutionInput, requestsHash} from "./payloadExecutor.js";

type Payload = electra.ExecutionPayload;
type Body = {executionPayload?: Payload; executionRequests?: electra.ExecutionRequests};

/**
 * What re-executing `block`'s payload needs, read off the block and its parent's state (advanced to the block's
 * slot): null for a block without a payload (before the merge). The parent payload's state root comes from the
 * state consensus verified, never from the execution endpoint.
 */
export function executionInputOf(
  config: BeaconConfig,
  block: BeaconBlock,
  preState: CachedBeaconStateAllForks,
): ExecutionInput | null {
  const body = block.body as Body;
  const p = body.executionPayload;
  if (!p) return null;
  const parent = (preState as unknown as {latestExecutionPayloadHeader: {stateRoot: Uint8Array}})
    .latestExecutionPayloadHeader;
  const q = (n: number | bigint): `0x${string}` => `0x${n.toString(16)}`;
  const r = body.executionRequests;
  const payload: JsonPayload = {
    parentHash: toHex(p.parentHash) as `0x${string}`,
    feeRecipient: toHex(p.feeRecipient) as `0x${string}`,
    stateRoot: toHex(p.stateRoot) as `0x${string}`,
    receiptsRoot: toHex(p.receiptsRoot) as `0x${string}`,
    logsBloom: toHex(p.logsBloom) as `0x${string}`,
    prevRandao: toHex(p.prevRandao) as `0x${string}`,
    blockNumber: q(p.blockNumber),
    gasLimit: q(p.gasLimit),
    gasUsed: q(p.gasUsed),
    timestamp: q(p.timestamp),
    extraData: toHex(p.extraData) as `0x${string}`,
    baseFeePerGas: q(p.baseFeePerGas),
    blockHash: toHex(p.blockHash) as `0x${string}`,
    transactions: p.transactions.map((tx) => toHex(tx) as `0x${string}`),
    ...(p.withdrawals
      ? {
          withdrawals: p.withdrawals.map((w) => ({
            index: q(w.index),
            validatorIndex: q(w.validatorIndex),
            address: toHex(w.address) as `0x${string}`,
            amount: q(w.amount),
          })),
        }
      : {}),
    ...(p.blobGasUsed === undefined ? {} : {blobGasUsed: q(p.blobGasUsed), excessBlobGas: q(p.excessBlobGas)}),
    // EIP-4788: the payload's header commits to its beacon block's parent root (Deneb on).
    ...(p.blobGasUsed === undefined ? {} : {parentBeaconBlockRoot: toHex(block.parentRoot) as `0x${string}`}),
    ...(r
      ? {
          requestsHash: requestsHash([
            {type: 0, data: ssz.electra.DepositRequests.serialize(r.deposits)},
            {type: 1, data: ssz.electra.WithdrawalRequests.serialize(r.withdrawals)},
            {type: 2, data: ssz.electra.ConsolidationRequests.serialize(r.consolidations)},
          ]) as `0x${string}`,
        }
      : {}),
  };
  return {
    payload,
    parentStateRoot: toHex(parent.stateRoot),
    fork: config.getForkName(block.slot),
    chainId: Number(config.DEPOSIT_CHAIN_ID),
  };
}
