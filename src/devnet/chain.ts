import {EventEmitter} from "node:events";
import type {BeaconConfig} from "@lodestar/config";
import {ForkSeq} from "@lodestar/params";
import {
  DataAvailabilityStatus,
  ExecutionPayloadStatus,
  computeEpochAtSlot,
  computeStartSlotAtEpoch,
  getBlockRootAtSlot,
  processSlots,
  stateTransition,
  type CachedBeaconStateAllForks,
} from "@lodestar/state-transition";
import {ssz, type SignedBeaconBlock, type altair, type electra, type phase0} from "@lodestar/types";
import {bytesEqual, toHex} from "../hotpath/bytes.js";
import type {Logger} from "../util/logger.js";
import {errorMessage} from "../util/errors.js";
import {AttestationPool} from "./attestationPool.js";
import {BlockStore, type BlockEntry, type Inclusion} from "./blockStore.js";
import {reject} from "./errors.js";
import type {ExecutionEngine} from "./execution/types.js";
import {addSingleAttestation, addSingleAttestations, addSyncCommitteeMessage, attestationData} from "./operations.js";
import {SeenCache} from "./seen.js";
import {SubmissionLog} from "./submissions.js";
import {SyncPool} from "./syncPool.js";
import {ExitPool} from "./exitPool.js";

/** Prepared (slot-advanced) states kept: a proposer and the duty endpoints ask for the same few again and again. */
const PREPARED_STATES_CACHED = 8;

export interface ChainEvents {
  block: [{slot: number; block: string}];
  head: [
    {
      slot: number;
      block: string;
      state: string;
      epochTransition: boolean;
      previousDutyDependentRoot: string;
      currentDutyDependentRoot: string;
    },
  ];
  finalized_checkpoint: [{block: string; state: string; epoch: number}];
}

export interface ChainOptions {
  config: BeaconConfig;
  genesisState: CachedBeaconStateAllForks;
  engine: ExecutionEngine;
  slotMs: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The devnet's beacon chain: a block tree whose every block went through Lodestar's state transition with
 * signatures verified, the op pools, and the head. Fork choice is "highest justified, then highest slot", which
 * is what LMD-GHOST picks on a devnet whose only forks are the ones a test injects.
 */
/** An invalid block the devnet made its head, and who signed over it: validators' votes, blocks built on it. */
export interface InvalidHeadRecord {
  slot: number;
  root: string;
  /** Validators whose attestation named it as head. */
  attesters: number[];
  /** Validators whose sync committee message signed it. */
  syncMembers: number[];
  /** Slots of blocks proposed on it. */
  childSlots: number[];
}

export class DevChain extends EventEmitter<ChainEvents> {
  readonly config: BeaconConfig;
  readonly genesisTime: number;
  readonly genesisValidatorsRoot: Uint8Array;
  readonly slotMs: number;
  readonly blocks = new BlockStore();
  readonly attestationPool = new AttestationPool();
  readonly syncPool = new SyncPool();
  readonly exitPool = new ExitPool();
  /** Accepted aggregates and subnet subscriptions, for the effectiveness report. */
  readonly submissions = new SubmissionLog();
  /** Sync messages, contributions and aggregates already validated (duplicates skip the BLS work). */
  readonly seen = new SeenCache();
  readonly engine: ExecutionEngine;
  readonly genesisBlock: BlockEntry;
  /** validator:epoch -> why the devnet refused that validator's vote; shown by the effectiveness report. */
  readonly rejections = new Map<string, string>();
  /** The invalid_head fault's blocks by root, with every signature made over them: what a run checks is empty. */
  readonly invalidHeads = new Map<string, InvalidHeadRecord>();
  private headEntry: BlockEntry;
  private readonly prepared = new Map<string, CachedBeaconStateAllForks>();
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(opts: ChainOptions) {
    super();
    this.config = opts.config;
    this.engine = opts.engine;
    this.slotMs = opts.slotMs;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    const state = opts.genesisState;
    this.genesisTime = state.genesisTime;
    this.genesisValidatorsRoot = state.genesisValidatorsRoot;
    const block = ssz.electra.BeaconBlock.defaultValue();
    block.stateRoot = state.hashTreeRoot();
    const root = ssz.electra.BeaconBlock.hashTreeRoot(block);
    this.genesisBlock = {
      root,
      rootHex: toHex(root),
      slot: 0,
      parentRootHex: toHex(new Uint8Array(32)),
      signedBlock: {message: block, signature: new Uint8Array(96)},
      stateRoot: block.stateRoot,
      postState: state,
      inclusions: [],
      receivedAtMs: this.now(),
    };
    this.blocks.add(this.genesisBlock);
    this.headEntry = this.genesisBlock;
  }

  currentSlot(): number {
    const ms = this.now() - this.genesisTime * 1000;
    return ms < 0 ? 0 : Math.floor(ms / this.slotMs);
  }

  slotStartMs(slot: number): number {
    return this.genesisTime * 1000 + slot * this.slotMs;
  }

  head(): BlockEntry {
    return this.headEntry;
  }

  headState(): CachedBeaconStateAllForks {
    return this.headEntry.postState as CachedBeaconStateAllForks;
  }

  /** `entry`'s post-state advanced through empty slots to `slot` (a copy; callers may not mutate it). */
  stateAt(entry: BlockEntry, slot: number): CachedBeaconStateAllForks {
    if (!entry.postState)
      reject(`the state of block ${entry.rootHex} at slot ${entry.slot} is no longer kept; build on a recent block`);
    if (slot <= entry.slot) return entry.postState;
    const key = `${entry.rootHex}:${slot}`;
    let state = this.prepared.get(key);
    if (!state) {
      state = processSlots(entry.postState.clone(), slot);
      this.prepared.set(key, state);
      if (this.prepared.size > PREPARED_STATES_CACHED)
        this.prepared.delete(this.prepared.keys().next().value as string);
    }
    return state;
  }

  /**
   * A state whose epoch caches cover `epoch`'s committees and sync committee: the head's, which already holds the
   * next epoch's shuffling (a beacon node answers next-epoch duties without running the epoch transition), else the
   * head's advanced to that epoch. Advancing it for the next epoch's attester duties, which every node asks for at
   * an epoch's first slot, ran an epoch transition per node and head right beside that slot's block production.
   */
  dutyState(epoch: number): CachedBeaconStateAllForks {
    const head = this.headEntry;
    const headEpoch = computeEpochAtSlot(head.slot);
    const state = this.headState();
    if (epoch <= headEpoch) return state;
    if (epoch === headEpoch + 1 && state.epochCtx.getShufflingAtEpochOrNull(epoch) !== null) return state;
    return this.stateAt(head, computeStartSlotAtEpoch(epoch));
  }

  // ---- votes (checks live in operations.ts) ----

  addSingleAttestation(att: electra.SingleAttestation): void {
    addSingleAttestation(this, att);
    this.invalidHeads.get(toHex(att.data.beaconBlockRoot))?.attesters.push(att.attesterIndex);
  }

  /** A submission's votes with one signature check per signed root: each vote's refusal, if any. */
  addSingleAttestations(atts: electra.SingleAttestation[]): (string | undefined)[] {
    const refusals = addSingleAttestations(this, atts);
    atts.forEach((att, k) => {
      if (refusals[k] === undefined)
        this.invalidHeads.get(toHex(att.data.beaconBlockRoot))?.attesters.push(att.attesterIndex);
    });
    return refusals;
  }

  attestationData(slot: number, committeeIndex: number): phase0.AttestationData {
    return attestationData(this, slot, committeeIndex);
  }

  /**
   * A validator seen signing a vote of `slot` (by gossip, as a real node sees it): the liveness API's answer
   * before the vote is in a block (a vote of an epoch's last slot is included in the next epoch).
   */
  markLive(slot: number, index: number): void {
    this.seen.add(slot, `live:${index}`);
  }

  seenLive(slot: number, index: number): boolean {
    return this.seen.has(slot, `live:${index}`);
  }

  addSyncCommitteeMessage(msg: altair.SyncCommitteeMessage): void {
    addSyncCommitteeMessage(this, msg);
    this.invalidHeads.get(toHex(msg.beaconBlockRoot))?.syncMembers.push(msg.validatorIndex);
  }

  addVoluntaryExit(exit: phase0.SignedVoluntaryExit): void {
    this.exitPool.add(this.headState(), exit);
  }

  // ---- blocks ----

  /** Runs the full state transition (signatures, proposer, state root) and makes the block the head if it wins. */
  async importBlock(signed: SignedBeaconBlock): Promise<BlockEntry> {
    const block = signed.message as electra.BeaconBlock;
    const types = this.config.getForkTypes(block.slot);
    const root = types.BeaconBlock.hashTreeRoot(block);
    const rootHex = toHex(root);
    const known = this.blocks.get(rootHex);
    if (known) return known;
    const current = this.currentSlot();
    if (block.slot > current) reject(`block slot ${block.slot} is in the future (current slot ${current})`);
    const parent = this.blocks.getByRoot(block.parentRoot);
    if (!parent) reject(`unknown parent block ${toHex(block.parentRoot)}`);
    if (block.slot <= parent.slot) reject(`block slot ${block.slot} is not after its parent's slot ${parent.slot}`);
    const el = await this.engine.newPayload(block.body.executionPayload, block.parentRoot);
    if (!el.valid) reject(`invalid execution payload: ${el.reason ?? "refused by the execution layer"}`);
    this.invalidHeads.get(parent.rootHex)?.childSlots.push(block.slot);
    const preState = this.stateAt(parent, block.slot);
    let postState: CachedBeaconStateAllForks;
    try {
      postState = stateTransition(preState, signed, {
        verifyStateRoot: true,
        verifyProposer: true,
        verifySignatures: true,
        executionPayloadStatus: ExecutionPayloadStatus.valid,
        dataAvailabilityStatus: DataAvailabilityStatus.Available,
      });
    } catch (e) {
      reject(`block failed the state transition: ${errorMessage(e)}`);
    }
    const entry: BlockEntry = {
      root,
      rootHex,
      slot: block.slot,
      parentRootHex: toHex(block.parentRoot),
      signedBlock: signed,
      stateRoot: block.stateRoot,
      postState,
      inclusions: this.inclusionsOf(postState, block),
      receivedAtMs: this.now(),
    };
    this.blocks.add(entry);
    this.logger.debug("Imported block", {
      slot: entry.slot,
      root: rootHex,
      attestations: block.body.attestations.length,
    });
    this.emit("block", {slot: entry.slot, block: rootHex});
    this.maybeUpdateHead(entry);
    return entry;
  }

  private inclusionsOf(postState: CachedBeaconStateAllForks, block: electra.BeaconBlock): Inclusion[] {
    const out: Inclusion[] = [];
    for (const att of block.body.attestations) {
      const {data} = att;
      const targetSlot = computeStartSlotAtEpoch(data.target.epoch);
      const correctHead = bytesEqual(data.beaconBlockRoot, getBlockRootAtSlot(postState, data.slot));
      const correctTarget = bytesEqual(data.target.root, getBlockRootAtSlot(postState, targetSlot));
      for (const validatorIndex of postState.epochCtx.getAttestingIndices(ForkSeq.electra, att)) {
        out.push({
          validatorIndex,
          attestationSlot: data.slot,
          targetEpoch: data.target.epoch,
          inclusionSlot: block.slot,
          correctSource: true,
          correctTarget,
          correctHead,
        });
      }
    }
    return out;
  }

  /**
   * Stores a block without checking anything and makes it the head, as a beacon node with a consensus bug would
   * (the invalid_head fault): its post-state is the one its proposer computed, so duties are answered on it,
   * while its own `state_root` says something else.
   */
  importUnchecked(signed: SignedBeaconBlock, postState: CachedBeaconStateAllForks): BlockEntry {
    const block = signed.message as electra.BeaconBlock;
    const root = this.config.getForkTypes(block.slot).BeaconBlock.hashTreeRoot(block);
    const entry: BlockEntry = {
      root,
      rootHex: toHex(root),
      slot: block.slot,
      parentRootHex: toHex(block.parentRoot),
      signedBlock: signed,
      stateRoot: block.stateRoot,
      postState,
      inclusions: [],
      receivedAtMs: this.now(),
    };
    this.blocks.add(entry);
    this.invalidHeads.set(entry.rootHex, {
      slot: entry.slot,
      root: entry.rootHex,
      attesters: [],
      syncMembers: [],
      childSlots: [],
    });
    this.emit("block", {slot: entry.slot, block: entry.rootHex});
    this.setHead(entry);
    return entry;
  }

  /** Makes `entry` the head whatever fork choice says: the end of an invalid_head fault. */
  forceHead(entry: BlockEntry): void {
    if (entry !== this.headEntry) this.setHead(entry);
  }

  private maybeUpdateHead(entry: BlockEntry): void {
    const old = this.headEntry;
    const newState = entry.postState as CachedBeaconStateAllForks;
    const oldState = old.postState ?? newState;
    const better =
      entry.parentRootHex === old.rootHex ||
      newState.currentJustifiedCheckpoint.epoch > oldState.currentJustifiedCheckpoint.epoch ||
      (newState.currentJustifiedCheckpoint.epoch === oldState.currentJustifiedCheckpoint.epoch &&
        entry.slot > old.slot);
    if (better) this.setHead(entry);
  }

  private setHead(entry: BlockEntry): void {
    const old = this.headEntry;
    const newState = entry.postState as CachedBeaconStateAllForks;
    const oldState = old.postState ?? newState;
    this.headEntry = entry;
    const epoch = computeEpochAtSlot(entry.slot);
    this.emit("head", {
      slot: entry.slot,
      block: entry.rootHex,
      state: toHex(entry.stateRoot),
      epochTransition: computeEpochAtSlot(old.slot) !== epoch,
      previousDutyDependentRoot: toHex(this.dependentRoot(entry, epoch - 1)),
      currentDutyDependentRoot: toHex(this.dependentRoot(entry, epoch)),
    });
    const oldFin = oldState.finalizedCheckpoint;
    const newFin = newState.finalizedCheckpoint;
    if (newState.currentJustifiedCheckpoint.epoch > oldState.currentJustifiedCheckpoint.epoch) {
      this.logger.info("Justified", {epoch: newState.currentJustifiedCheckpoint.epoch, headSlot: entry.slot});
    }
    if (newFin.epoch > oldFin.epoch) {
      this.logger.info("Finalized", {epoch: newFin.epoch, root: toHex(newFin.root), headSlot: entry.slot});
      const finBlock = this.blocks.getByRoot(newFin.root);
      this.emit("finalized_checkpoint", {
        block: toHex(newFin.root),
        state: toHex(finBlock?.stateRoot ?? new Uint8Array(32)),
        epoch: newFin.epoch,
      });
    }
    // The finalized state stays: it is what a client bootstraps from (`/eth/v2/debug/beacon/states/finalized`).
    this.blocks.pruneStates(entry.slot, new Set([entry.rootHex, toHex(newFin.root)]));
    this.attestationPool.prune(this.currentSlot());
    this.syncPool.prune(this.currentSlot());
  }

  /** The block root at the last slot of the epoch before `epoch`: the duties of `epoch` depend on it. */
  dependentRoot(head: BlockEntry, epoch: number): Uint8Array {
    if (epoch <= 0) return this.genesisBlock.root;
    return (this.blocks.atOrBefore(head, computeStartSlotAtEpoch(epoch) - 1) ?? this.genesisBlock).root;
  }

  /** Source check for block packing: a vote enters a block only if its source is the state's justified checkpoint. */
  sourceMatches(state: CachedBeaconStateAllForks, data: phase0.AttestationData): boolean {
    const epoch = computeEpochAtSlot(state.slot);
    const cp = data.target.epoch === epoch ? state.currentJustifiedCheckpoint : state.previousJustifiedCheckpoint;
    if (data.target.epoch !== epoch && data.target.epoch !== epoch - 1) return false;
    return cp.epoch === data.source.epoch && bytesEqual(cp.root, data.source.root);
  }
}
