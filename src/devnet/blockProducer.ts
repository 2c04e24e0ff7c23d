import {DOMAIN_RANDAO, ForkSeq, SLOTS_PER_EPOCH} from "@lodestar/params";
import {
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  computeEpochAtSlot,
  computeTimeAtSlot,
  getExpectedWithdrawals,
  getRandaoMix,
  stateTransition,
  type CachedBeaconStateAllForks,
  type CachedBeaconStateElectra,
} from "@lodestar/state-transition";
import {ssz, type electra} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import {errorMessage} from "../util/errors.js";
import type {BlockEntry} from "./blockStore.js";
import type {DevChain} from "./chain.js";
import {reject} from "./errors.js";
import type {PayloadFault} from "./faults.js";
import {verifySignature} from "./signatures.js";

export interface ProducedBlock {
  block: electra.BeaconBlock;
  /** The state after the block, whose root is the block's `state_root`. */
  postState: CachedBeaconStateAllForks;
  executionPayloadValue: bigint;
  consensusBlockValue: bigint;
}

/** Default fee recipient when the proposer never called prepare_beacon_proposer: a visible, burnt-looking address. */
const DEFAULT_FEE_RECIPIENT = new Uint8Array(20).fill(0xfe);

/**
 * Builds an unsigned block on the head for `slot`, as a beacon node's produceBlockV3 does: checks the randao
 * reveal, packs pool attestations and the sync aggregate, asks the execution layer for a payload with the
 * withdrawals the state expects, and fills in the post-state root by running the state transition.
 */
export async function produceBlock(
  chain: DevChain,
  slot: number,
  randaoReveal: Uint8Array,
  graffiti: Uint8Array,
  feeRecipients: Map<number, Uint8Array>,
  opts: {
    parent?: BlockEntry;
    /** A fault: the payload claims a wrong execution state root, or carries a transaction that cannot run. */
    badPayload?: PayloadFault;
    /** A builder's block: its fee recipient in the payload, and its payment (builder.ts). */
    builder?: {feeRecipient: Uint8Array; payment: {to: Uint8Array; value: bigint}};
  } = {},
): Promise<ProducedBlock> {
  const head = opts.parent ?? chain.head();
  if (slot <= head.slot) reject(`slot ${slot} is not after the head's slot ${head.slot}`);
  const state = chain.stateAt(head, slot) as CachedBeaconStateElectra;
  const proposerIndex = state.epochCtx.getBeaconProposer(slot);
  const epoch = computeEpochAtSlot(slot);
  const randaoDomain = chain.config.getDomain(state.slot, DOMAIN_RANDAO, slot);
  verifySignature(state, proposerIndex, ssz.Epoch, epoch, randaoDomain, randaoReveal, (reason) =>
    reject(`randao reveal: ${reason}; slot ${slot} belongs to proposer ${proposerIndex}`),
  );

  let payload = await chain.engine.buildPayload({
    parentHash: state.latestExecutionPayloadHeader.blockHash,
    timestamp: computeTimeAtSlot(chain.config, slot, state.genesisTime),
    prevRandao: getRandaoMix(state, epoch),
    feeRecipient: opts.builder?.feeRecipient ?? feeRecipients.get(proposerIndex) ?? DEFAULT_FEE_RECIPIENT,
    withdrawals: getExpectedWithdrawals(ForkSeq.electra, state).expectedWithdrawals,
    parentBeaconBlockRoot: head.root,
    ...(opts.builder ? {payment: opts.builder.payment} : {}),
  });
  if (opts.badPayload === "state_root" && chain.engine.corruptStateRoot)
    payload = await chain.engine.corruptStateRoot(payload);
  if (opts.badPayload === "failing_tx" && chain.engine.addFailingTransaction)
    payload = await chain.engine.addFailingTransaction(payload);

  // Votes the parent chain already carries (last two epochs): packing them again would waste the block's 8 slots.
  const onChain = new Set<string>();
  for (const b of chain.blocks.ancestors(head)) {
    if (b.slot + 2 * SLOTS_PER_EPOCH < slot) break;
    for (const inc of b.inclusions) onChain.add(`${inc.validatorIndex}:${inc.targetEpoch}`);
  }
  const body: electra.BeaconBlockBody = {
    ...ssz.electra.BeaconBlockBody.defaultValue(),
    randaoReveal,
    eth1Data: state.eth1Data.toValue(),
    graffiti,
    attestations: chain.attestationPool.pack(
      slot,
      (data, validators) =>
        chain.sourceMatches(state, data) && validators.some((v) => !onChain.has(`${v}:${data.target.epoch}`)),
    ),
    syncAggregate: chain.syncPool.syncAggregate(slot - 1, head.root),
    voluntaryExits: chain.exitPool.pack(state),
    executionPayload: payload,
  };
  const block: electra.BeaconBlock = {slot, proposerIndex, parentRoot: head.root, stateRoot: new Uint8Array(32), body};
  let postState;
  try {
    postState = stateTransition(
      state,
      {message: block, signature: new Uint8Array(96)},
      {
        verifyStateRoot: false,
        verifyProposer: false,
        verifySignatures: false,
        executionPayloadStatus: ExecutionPayloadStatus.valid,
        dataAvailabilityStatus: DataAvailabilityStatus.Available,
      },
    );
  } catch (e) {
    reject(`could not build a valid block for slot ${slot} on ${toHex(head.root)}: ${errorMessage(e)}`);
  }
  block.stateRoot = postState.hashTreeRoot();
  const proposerReward = BigInt(postState.proposerRewards.attestations + postState.proposerRewards.syncAggregate);
  return {
    block,
    postState,
    executionPayloadValue: opts.builder?.payment.value ?? 0n,
    consensusBlockValue: proposerReward * 1_000_000_000n,
  };
}
