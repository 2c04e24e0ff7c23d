import {performance} from "node:perf_hooks";
import type {BeaconConfig} from "@lodestar/config";
import {
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  computeEpochAtSlot,
  computeStartSlotAtEpoch,
  createCachedBeaconState,
  getBlockRootAtSlot,
  createPubkeyCache,
  processSlots,
  stateTransition,
  type BeaconStateAllForks,
  type CachedBeaconStateAllForks,
} from "@lodestar/state-transition";
import {ssz, type SignedBeaconBlock} from "@lodestar/types";
import {toHex} from "../../hotpath/bytes.js";
import {errorMessage} from "../../util/errors.js";
import {checkBlockSignatures} from "./blockSignatures.js";
import {executionInputOf} from "./executionInput.js";
import type {ExecutionInput} from "./payloadExecutor.js";
import {EvmError} from "./errors.js";
import {signedBlockHeader, stateSlot} from "./sszFields.js";
import type {BlockVerdict, VerifyTimings} from "./verdict.js";

/**
 * Post-states kept, newest last: a block whose parent is among them is verified without asking the beacon node
 * for a state. Reorgs on mainnet are one or two blocks deep, and 32 blocks is four minimal-preset epochs or one
 * mainnet epoch; a deeper reorg re-bootstraps from the finalized state. The states share their unchanged subtrees
 * (persistent-merkle-tree), so each costs about the nodes its block changed, not a whole state.
 */
export const STATES_KEPT = 32;

export interface AnchorInfo {
  /** Root of the block whose post-state (possibly advanced through empty slots) the anchor is. */
  root: string;
  slot: number;
  stateSlot: number;
  stateRoot: string;
}

/** An FFG vote's checkpoints (0x roots) as one block's chain sees them at a slot: what an attestation naming it votes for. */
export interface AttestationCheckpoints {
  source: {epoch: number; root: string};
  target: {epoch: number; root: string};
}

/** A verification's outcome: a verdict, or "I lack the parent's state" for the follower to resolve. */
export type VerifyOutcome =
  /** `execution`: for a block consensus found valid, what re-executing its payload needs (payloadExecutor.ts). */
  | {kind: "verdict"; verdict: BlockVerdict; execution?: ExecutionInput}
  | {kind: "no_parent_state"; root: string; slot: number; parentRoot: string}
  /** The bytes are no SignedBeaconBlock: the beacon node served garbage, which says nothing of the block asked for. */
  | {kind: "malformed"; detail: string};

/**
 * Verifies beacon blocks on states it keeps: bootstrapped once from a trusted anchor state (the finalized one),
 * then advanced block by block with Lodestar's state transition. Pure computation and no I/O, so it runs as is
 * in a worker thread (stateTransitionWorker.ts), where it lives for the follower's lifetime.
 */
export class BlockVerifier {
  private readonly states = new Map<string, CachedBeaconStateAllForks>();

  constructor(readonly config: BeaconConfig) {}

  /**
   * Takes a serialized BeaconState as the anchor and forgets every state kept so far. The block it belongs to is
   * named by the state itself (its latest block header, state root filled in), never by what the beacon node said
   * alongside it, so a node cannot pair a state with another block's root.
   */
  bootstrap(stateBytes: Uint8Array): AnchorInfo {
    const slot = stateSlot(stateBytes);
    if (slot === null)
      throw new EvmError({code: "EVM_BAD_ANCHOR", reason: "too short"}, "the anchor state is too short");
    let state: CachedBeaconStateAllForks;
    try {
      const view = this.config.getForkTypes(slot).BeaconState.deserializeToViewDU(stateBytes);
      state = createCachedBeaconState(view as BeaconStateAllForks, {
        config: this.config,
        pubkeyCache: createPubkeyCache(),
      });
    } catch (e) {
      throw new EvmError(
        {code: "EVM_BAD_ANCHOR", reason: errorMessage(e)},
        `the anchor state does not decode: ${errorMessage(e)}`,
      );
    }
    const stateRoot = state.hashTreeRoot();
    const header = state.latestBlockHeader.toValue();
    // The header's state root is filled in only by the next slot's processing: zero means "this state's".
    if (header.stateRoot.every((b) => b === 0)) header.stateRoot = stateRoot;
    const root = toHex(ssz.phase0.BeaconBlockHeader.hashTreeRoot(header));
    this.states.clear();
    this.states.set(root, state);
    return {root, slot: header.slot, stateSlot: slot, stateRoot: toHex(stateRoot)};
  }

  /**
   * Verifies one serialized SignedBeaconBlock on its parent's kept state: signatures first (in one blst batch,
   * so a forged block costs no state transition), then the transition, then the state root. A verified block's
   * post-state is kept for its children.
   */
  verify(blockBytes: Uint8Array): VerifyOutcome {
    const t0 = performance.now();
    const slot = signedBlockHeader(blockBytes)?.slot ?? 0;
    let signed: SignedBeaconBlock;
    let root: string;
    try {
      const types = this.config.getForkTypes(slot);
      signed = types.SignedBeaconBlock.deserialize(blockBytes);
      root = toHex(types.BeaconBlock.hashTreeRoot(signed.message));
    } catch (e) {
      return {kind: "malformed", detail: `not a SignedBeaconBlock: ${errorMessage(e)}`};
    }
    const block = signed.message;
    const parentRoot = toHex(block.parentRoot);
    const payload = (block.body as {executionPayload?: {blockHash: Uint8Array}}).executionPayload;
    const base = {
      slot: block.slot,
      root,
      parentRoot,
      ...(payload ? {executionBlockHash: toHex(payload.blockHash)} : {}),
    };
    const parent = this.states.get(parentRoot);
    if (!parent) return {kind: "no_parent_state", ...base};
    if (block.slot <= parent.slot) {
      const detail = `slot ${block.slot} is not after its parent state's slot ${parent.slot}`;
      return {kind: "verdict", verdict: {status: "invalid", reason: "state_transition", detail, ...base}};
    }

    const timings: VerifyTimings = {slotsMs: 0, signaturesMs: 0, blockMs: 0, hashMs: 0, totalMs: 0};
    const invalid = (
      reason: "bad_signature" | "state_transition" | "bad_state_root",
      detail: string,
    ): VerifyOutcome => {
      timings.totalMs = performance.now() - t0;
      return {kind: "verdict", verdict: {status: "invalid", reason, detail, timings, ...base}};
    };

    let t = performance.now();
    let preState: CachedBeaconStateAllForks;
    try {
      preState = processSlots(parent, block.slot);
    } catch (e) {
      return invalid("state_transition", `advancing to slot ${block.slot} failed: ${errorMessage(e)}`);
    }
    timings.slotsMs = performance.now() - t;
    // Read before the transition, which writes this block's payload header over the parent's.
    const execution = executionInputOf(this.config, block, preState);

    t = performance.now();
    const badSignature = checkBlockSignatures(this.config, preState, signed);
    timings.signaturesMs = performance.now() - t;
    if (badSignature !== null) return invalid(badSignature.reason, badSignature.detail);

    t = performance.now();
    let postState: CachedBeaconStateAllForks;
    try {
      // Signatures were checked above in one batch; the state root below, to tell the two failures apart.
      postState = stateTransition(preState, signed, {
        verifyStateRoot: false,
        verifyProposer: false,
        verifySignatures: false,
        // The payload's re-execution is the execution half's check; consensus takes the payload as given.
        executionPayloadStatus: ExecutionPayloadStatus.valid,
        dataAvailabilityStatus: DataAvailabilityStatus.Available,
      });
    } catch (e) {
      return invalid("state_transition", errorMessage(e));
    }
    timings.blockMs = performance.now() - t;

    t = performance.now();
    const stateRoot = postState.hashTreeRoot();
    timings.hashMs = performance.now() - t;
    if (!ssz.Root.equals(stateRoot, block.stateRoot))
      return invalid(
        "bad_state_root",
        `the block says state root ${toHex(block.stateRoot)}, the state transition gives ${toHex(stateRoot)}`,
      );

    this.keep(root, postState);
    timings.totalMs = performance.now() - t0;
    return {
      kind: "verdict",
      verdict: {status: "verified", stateRoot: toHex(stateRoot), timings, ...base},
      ...(execution ? {execution} : {}),
    };
  }

  /**
   * The source and target an attestation at `slot` votes for when its head is the verified block `root`, as a
   * beacon node's produceAttestationData derives them from its head: the target is the newest block of that
   * chain at or before the epoch's first slot; the source is the justified checkpoint of the block's state
   * advanced into the attestation's epoch (an epoch transition on the way may justify a newer one). Null when
   * the block's state is not kept (never verified here, or evicted).
   */
  attestationCheckpoints(root: string, slot: number): AttestationCheckpoints | null {
    const kept = this.states.get(root);
    if (!kept || slot < kept.slot) return null;
    const epoch = computeEpochAtSlot(slot);
    const epochStart = computeStartSlotAtEpoch(epoch);
    const targetRoot = kept.slot <= epochStart ? root : toHex(getBlockRootAtSlot(kept, epochStart));
    const state = kept.slot < epochStart ? processSlots(kept, epochStart) : kept;
    const cp = state.currentJustifiedCheckpoint;
    return {source: {epoch: cp.epoch, root: toHex(cp.root)}, target: {epoch, root: targetRoot}};
  }

  private keep(root: string, state: CachedBeaconStateAllForks): void {
    this.states.set(root, state);
    while (this.states.size > STATES_KEPT) this.states.delete(this.states.keys().next().value as string);
  }
}
