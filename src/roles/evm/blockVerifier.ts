import {performance} from "node:perf_hooks";
import {Signature, verifyMultipleAggregateSignatures, verify, type SignatureSet} from "@chainsafe/blst";
import {
  type BeaconConfig,
  chainConfigFromJson,
  chainConfigToJson,
  createBeaconConfig,
  createChainForkConfig,
} from "@lodestar/config";
import {mainnetChainConfig, minimalChainConfig} from "@lodestar/config/configs";
import {ACTIVE_PRESET} from "@lodestar/params";
import {
  BeaconStateView,
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  createCachedBeaconState,
  createPubkeyCache,
  getBlockSignatureSets,
  getSignatureSetPubkey,
  processSlots,
  stateTransition,
  type BeaconStateAllForks,
  type CachedBeaconStateAllForks,
  type ISignatureSet,
} from "@lodestar/state-transition";
import {ssz, type SignedBeaconBlock} from "@lodestar/types";
import {fromHex, toHex} from "../../hotpath/bytes.js";
import {errorMessage} from "../../util/errors.js";
import {EvmError} from "./errors.js";
import type {BlockVerdict, VerifyTimings} from "./verdict.js";

/**
 * Post-states kept, newest last: a block whose parent is among them is verified without asking the beacon node
 * for a state. Reorgs on mainnet are one or two blocks deep, and 32 blocks is four minimal-preset epochs or one
 * mainnet epoch; a deeper reorg re-bootstraps from the finalized state. The states share their unchanged subtrees
 * (persistent-merkle-tree), so each costs about the nodes its block changed, not a whole state.
 */
export const STATES_KEPT = 32;

/** The chain as the beacon node described it: enough to rebuild the same BeaconConfig in a worker thread. */
export interface ChainDescription {
  /** `chainConfigToJson(config)`: the spec values as JSON, which a thread's message can carry. */
  chainConfig: Record<string, unknown>;
  genesisValidatorsRoot: string;
  /** The preset the main thread runs; a worker on another one would decode every SSZ object wrongly. */
  preset: string;
}

export interface AnchorInfo {
  /** Root of the block whose post-state (possibly advanced through empty slots) the anchor is. */
  root: string;
  slot: number;
  stateSlot: number;
  stateRoot: string;
}

/** A verification's outcome: a verdict, or "I lack the parent's state" for the follower to resolve. */
export type VerifyOutcome =
  | {kind: "verdict"; verdict: BlockVerdict}
  | {kind: "no_parent_state"; root: string; slot: number; parentRoot: string}
  /** The bytes are no SignedBeaconBlock: the beacon node served garbage, which says nothing of the block asked for. */
  | {kind: "malformed"; detail: string};

/** The `slot` field of a serialized SignedBeaconBlock: after the message offset (4) and the signature (96). */
const SIGNED_BLOCK_SLOT_OFFSET = 100;

/** The `slot` field of a serialized BeaconState: after genesis_time (8) and genesis_validators_root (32). */
const STATE_SLOT_OFFSET = 40;

function readSlot(bytes: Uint8Array, offset: number): number {
  if (bytes.length < offset + 8) return -1;
  return Number(new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, true));
}

/** What a worker thread needs to rebuild `config`. */
export function describeChain(config: BeaconConfig): ChainDescription {
  return {
    chainConfig: chainConfigToJson(config),
    genesisValidatorsRoot: toHex(config.genesisValidatorsRoot),
    preset: ACTIVE_PRESET,
  };
}

export function configFromDescription(d: ChainDescription): BeaconConfig {
  if (d.preset !== ACTIVE_PRESET)
    throw new EvmError(
      {code: "EVM_PRESET_MISMATCH", expected: d.preset, actual: ACTIVE_PRESET},
      `the state transition thread runs the ${ACTIVE_PRESET} preset, the chain needs ${d.preset}`,
    );
  const base = d.preset === "minimal" ? minimalChainConfig : mainnetChainConfig;
  const chainConfig = createChainForkConfig({...base, ...chainConfigFromJson(d.chainConfig)});
  return createBeaconConfig(chainConfig, fromHex(d.genesisValidatorsRoot));
}

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
    const stateSlot = readSlot(stateBytes, STATE_SLOT_OFFSET);
    if (stateSlot < 0)
      throw new EvmError({code: "EVM_BAD_ANCHOR", reason: "too short"}, "the anchor state is too short");
    let state: CachedBeaconStateAllForks;
    try {
      const view = this.config.getForkTypes(stateSlot).BeaconState.deserializeToViewDU(stateBytes);
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
    return {root, slot: header.slot, stateSlot, stateRoot: toHex(stateRoot)};
  }

  /**
   * Verifies one serialized SignedBeaconBlock on its parent's kept state: signatures first (in one blst batch,
   * so a forged block costs no state transition), then the transition, then the state root. A verified block's
   * post-state is kept for its children.
   */
  verify(blockBytes: Uint8Array): VerifyOutcome {
    const t0 = performance.now();
    const slot = readSlot(blockBytes, SIGNED_BLOCK_SLOT_OFFSET);
    let signed: SignedBeaconBlock;
    let root: string;
    try {
      const types = this.config.getForkTypes(Math.max(0, slot));
      signed = types.SignedBeaconBlock.deserialize(blockBytes);
      root = toHex(types.BeaconBlock.hashTreeRoot(signed.message));
    } catch (e) {
      return {kind: "malformed", detail: `not a SignedBeaconBlock: ${errorMessage(e)}`};
    }
    const block = signed.message;
    const parentRoot = toHex(block.parentRoot);
    const base = {slot: block.slot, root, parentRoot};
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

    t = performance.now();
    const badSignature = this.checkSignatures(preState, signed);
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
    return {kind: "verdict", verdict: {status: "verified", stateRoot: toHex(stateRoot), timings, ...base}};
  }

  /**
   * Null when every signature of the block verifies; otherwise which one failed. Sets that cannot be built (an
   * attestation naming a committee that does not exist) are the state transition's failure, not a signature's.
   */
  private checkSignatures(
    state: CachedBeaconStateAllForks,
    signed: SignedBeaconBlock,
  ): {reason: "bad_signature" | "state_transition"; detail: string} | null {
    const fork = this.config.getForkSeq(signed.message.slot);
    let sets: ISignatureSet[];
    try {
      const indexed = signed.message.body.attestations.map((a) => state.epochCtx.getIndexedAttestation(fork, a));
      sets = getBlockSignatureSets(
        this.config,
        state.epochCtx.currentSyncCommitteeIndexed,
        new BeaconStateView(state),
        signed,
        indexed,
      );
    } catch (e) {
      return {reason: "state_transition", detail: `the block's signature sets cannot be built: ${errorMessage(e)}`};
    }
    const pubkeyCache = state.epochCtx.pubkeyCache;
    const batch: SignatureSet[] = [];
    for (const [i, set] of sets.entries()) {
      try {
        // Group-checked here: a batch verification assumes every signature is in the subgroup.
        batch.push({
          msg: set.signingRoot,
          pk: getSignatureSetPubkey(set, pubkeyCache),
          sig: Signature.fromBytes(set.signature, true),
        });
      } catch (e) {
        const detail = `signature ${i + 1} of ${sets.length} (${describeSet(i, signed)}) is not a valid point: ${errorMessage(e)}`;
        return {reason: "bad_signature", detail};
      }
    }
    if (verifyMultipleAggregateSignatures(batch)) return null;
    // The batch failed: name the first bad one (this costs one pairing per set, only for a bad block).
    for (const [i, s] of batch.entries()) {
      if (!verify(s.msg, s.pk, s.sig))
        return {
          reason: "bad_signature",
          detail: `signature ${i + 1} of ${sets.length} (${describeSet(i, signed)}) does not verify`,
        };
    }
    return {reason: "bad_signature", detail: "the signature batch does not verify"};
  }

  private keep(root: string, state: CachedBeaconStateAllForks): void {
    this.states.set(root, state);
    while (this.states.size > STATES_KEPT) this.states.delete(this.states.keys().next().value as string);
  }
}

/**
 * Which of getBlockSignatureSets' sets index `i` is, in its order: RANDAO first, then slashings, attestations and
 * exits, the proposer's, and the sync aggregate's (when it has participants) and BLS changes last.
 */
function describeSet(i: number, signed: SignedBeaconBlock): string {
  const body = signed.message.body;
  if (i === 0) return "randao reveal";
  const ops = 2 * body.proposerSlashings.length + 2 * body.attesterSlashings.length;
  if (i <= ops) return "a slashing";
  if (i <= ops + body.attestations.length) return `attestation ${i - ops}`;
  const proposer = ops + body.attestations.length + body.voluntaryExits.length + 1;
  if (i < proposer) return "a voluntary exit";
  if (i === proposer) return "block proposer";
  const sync = "syncAggregate" in body && body.syncAggregate.syncCommitteeBits.getTrueBitIndexes().length > 0;
  return i === proposer + 1 && sync ? "sync aggregate" : "a BLS change";
}
