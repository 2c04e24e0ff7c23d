import {SLOTS_PER_EPOCH, SYNC_COMMITTEE_SUBNET_SIZE} from "@lodestar/params";
import {
  computeAttestationsRewards,
  computeEndSlotAtEpoch,
  computeEpochAtSlot,
  computeStartSlotAtEpoch,
  type CachedBeaconStateAllForks,
} from "@lodestar/state-transition";
import type {SignedBeaconBlock, altair, electra, phase0} from "@lodestar/types";
import type {BlockEntry} from "../blockStore.js";
import {reject, rejectFailures, rejectRefusals} from "../errors.js";
import type {Devnet} from "../devnet.js";
import {isCanonical, resolveBlock, resolveState, resolveValidatorIds, validatorStatus} from "./resolve.js";

type StateArgs = {stateId: string | number};
type BlockArgs = {blockId: string | number};

function header(chain: Devnet["chain"], e: BlockEntry) {
  const m = e.signedBlock.message;
  const bodyRoot = chain.config.getForkTypes(m.slot).BeaconBlockBody.hashTreeRoot(m.body as never);
  return {
    root: e.root,
    canonical: isCanonical(chain, e),
    header: {
      message: {
        slot: m.slot,
        proposerIndex: m.proposerIndex,
        parentRoot: m.parentRoot,
        stateRoot: m.stateRoot,
        bodyRoot,
      },
      signature: e.signedBlock.signature,
    },
  };
}

export function beaconMethods(devnet: Devnet) {
  const chain = devnet.chain;
  const meta = (finalized = false) => ({executionOptimistic: false, finalized});
  const versionOf = (slot: number) => chain.config.getForkName(slot);

  const validators = async ({
    stateId,
    validatorIds,
    statuses,
  }: StateArgs & {validatorIds?: (string | number)[]; statuses?: string[]}) => {
    const {state, finalized} = resolveState(chain, stateId);
    const epoch = computeEpochAtSlot(state.slot);
    const data = [];
    for (const index of resolveValidatorIds(state, validatorIds)) {
      const validator = state.validators.getReadonly(index).toValue();
      const balance = state.balances.get(index);
      const status = validatorStatus(validator, balance, epoch);
      if (statuses && statuses.length > 0 && !statuses.includes(status) && !statuses.some((s) => status.startsWith(s)))
        continue;
      data.push({index, balance, status, validator});
    }
    return {data, meta: meta(finalized)};
  };

  return {
    getGenesis: async () => ({
      data: {
        genesisTime: chain.genesisTime,
        genesisValidatorsRoot: chain.genesisValidatorsRoot,
        genesisForkVersion: chain.config.GENESIS_FORK_VERSION,
      },
    }),
    getBlockHeaders: async ({slot, parentRoot}: {slot?: number; parentRoot?: string}) => {
      let entries: BlockEntry[];
      if (parentRoot !== undefined)
        entries = [...chain.blocks.all()].filter((e) => e.parentRootHex === parentRoot.toLowerCase());
      else if (slot !== undefined) entries = [...chain.blocks.all()].filter((e) => e.slot === slot);
      else entries = [chain.head()];
      return {data: entries.map((e) => header(chain, e)), meta: meta()};
    },
    getBlockHeader: async ({blockId}: BlockArgs) => ({data: header(chain, resolveBlock(chain, blockId)), meta: meta()}),
    getBlockV2: async ({blockId}: BlockArgs) => {
      const e = resolveBlock(chain, blockId);
      return {data: e.signedBlock, meta: {...meta(), version: versionOf(e.slot)}};
    },
    getBlockRoot: async ({blockId}: BlockArgs) => ({data: {root: resolveBlock(chain, blockId).root}, meta: meta()}),
    getBlockAttestationsV2: async ({blockId}: BlockArgs) => {
      const e = resolveBlock(chain, blockId);
      return {data: e.signedBlock.message.body.attestations, meta: {...meta(), version: versionOf(e.slot)}};
    },
    publishBlockV2: async ({signedBlockContents}: {signedBlockContents: {signedBlock: SignedBeaconBlock}}) => {
      await devnet.publishBlock(signedBlockContents.signedBlock);
    },
    publishBlindedBlockV2: async ({signedBlindedBlock}: {signedBlindedBlock: electra.SignedBlindedBeaconBlock}) => {
      if (!devnet.builder)
        reject("this devnet runs without a builder: it built no blinded block (start it with --builder)");
      const slot = signedBlindedBlock.message.slot;
      const withhold = devnet.faults.peek(slot)?.kind === "builder_withhold";
      await devnet.publishBlock(devnet.builder.reveal(signedBlindedBlock, withhold));
    },
    publishBlock: async ({signedBlockOrContents}: {signedBlockOrContents: {signedBlock: SignedBeaconBlock}}) => {
      await devnet.publishBlock(signedBlockOrContents.signedBlock);
    },
    getStateRoot: async ({stateId}: StateArgs) => {
      const {state, finalized} = resolveState(chain, stateId);
      return {data: {root: state.hashTreeRoot()}, meta: meta(finalized)};
    },
    getStateFork: async ({stateId}: StateArgs) => {
      const {state, finalized} = resolveState(chain, stateId);
      return {data: state.fork.toValue(), meta: meta(finalized)};
    },
    getStateFinalityCheckpoints: async ({stateId}: StateArgs) => {
      const {state, finalized} = resolveState(chain, stateId);
      return {
        data: {
          previousJustified: state.previousJustifiedCheckpoint.toValue(),
          currentJustified: state.currentJustifiedCheckpoint.toValue(),
          finalized: state.finalizedCheckpoint.toValue(),
        },
        meta: meta(finalized),
      };
    },
    getStateValidators: validators,
    postStateValidators: validators,
    getStateValidator: async ({stateId, validatorId}: StateArgs & {validatorId: string | number}) => {
      const r = await validators({stateId, validatorIds: [validatorId]});
      const first = r.data[0];
      if (!first) reject(`validator ${validatorId} not found`);
      return {data: first, meta: r.meta};
    },
    getStateValidatorBalances: async ({stateId, validatorIds}: StateArgs & {validatorIds?: (string | number)[]}) => {
      const {state, finalized} = resolveState(chain, stateId);
      return {
        data: resolveValidatorIds(state, validatorIds).map((index) => ({index, balance: state.balances.get(index)})),
        meta: meta(finalized),
      };
    },
    getEpochCommittees: async ({
      stateId,
      epoch,
      index,
      slot,
    }: StateArgs & {epoch?: number; index?: number; slot?: number}) => {
      const {state, finalized} = resolveState(chain, stateId);
      const e = epoch ?? computeEpochAtSlot(state.slot);
      const stateEpoch = computeEpochAtSlot(state.slot);
      if (e > stateEpoch + 1 || e < stateEpoch - 1)
        reject(`epoch ${e} is out of range for this state (epoch ${stateEpoch}); ask a state within one epoch`);
      const count = state.epochCtx.getCommitteeCountPerSlot(e);
      const data = [];
      for (let s = computeStartSlotAtEpoch(e); s <= computeEndSlotAtEpoch(e); s++) {
        if (slot !== undefined && s !== slot) continue;
        for (let c = 0; c < count; c++) {
          if (index !== undefined && c !== index) continue;
          data.push({index: c, slot: s, validators: Array.from(state.epochCtx.getBeaconCommittee(s, c))});
        }
      }
      return {data, meta: meta(finalized)};
    },
    getEpochSyncCommittees: async ({stateId, epoch}: StateArgs & {epoch?: number}) => {
      const {state, finalized} = resolveState(chain, stateId);
      const e = epoch ?? computeEpochAtSlot(state.slot);
      const indices = Array.from(state.epochCtx.getIndexedSyncCommitteeAtEpoch(e).validatorIndices);
      const validatorAggregates: number[][] = [];
      for (let i = 0; i < indices.length; i += SYNC_COMMITTEE_SUBNET_SIZE)
        validatorAggregates.push(indices.slice(i, i + SYNC_COMMITTEE_SUBNET_SIZE));
      return {data: {validators: indices, validatorAggregates}, meta: meta(finalized)};
    },
    getPoolAttestationsV2: async ({slot}: {slot?: number; committeeIndex?: number}) => {
      const current = chain.currentSlot();
      const data: electra.Attestation[] = [];
      for (let s = Math.max(0, current - SLOTS_PER_EPOCH); s <= current; s++) {
        if (slot !== undefined && s !== slot) continue;
        data.push(...chain.attestationPool.pack(s + 1, () => true).filter((a) => a.data.slot === s));
      }
      return {data, meta: {version: versionOf(current)}};
    },
    submitPoolAttestationsV2: async ({signedAttestations}: {signedAttestations: electra.SingleAttestation[]}) => {
      rejectRefusals(chain.addSingleAttestations(signedAttestations));
    },
    submitPoolSyncCommitteeSignatures: async ({signatures}: {signatures: altair.SyncCommitteeMessage[]}) => {
      rejectFailures(signatures, (m) => chain.addSyncCommitteeMessage(m));
    },
    getAttestationsRewards: async ({epoch, validatorIds}: {epoch: number; validatorIds?: (string | number)[]}) => {
      const end = computeEndSlotAtEpoch(epoch + 1);
      if (end > chain.head().slot && computeEpochAtSlot(chain.currentSlot()) < epoch + 2)
        reject(`rewards of epoch ${epoch} are known only once epoch ${epoch + 1} has ended`);
      const base = chain.blocks.atOrBefore(chain.head(), end) ?? chain.genesisBlock;
      const state: CachedBeaconStateAllForks = chain.stateAt(base, end);
      const data = await computeAttestationsRewards(chain.config, state.epochCtx.pubkeyCache, state, validatorIds);
      return {data, meta: meta(epoch + 1 < chain.headState().finalizedCheckpoint.epoch)};
    },
    getPoolAttesterSlashingsV2: async () => ({data: [], meta: {version: versionOf(chain.currentSlot())}}),
    getPoolProposerSlashings: async () => ({data: []}),
    getPoolVoluntaryExits: async () => ({data: chain.exitPool.all()}),
    submitPoolVoluntaryExit: async ({signedVoluntaryExit}: {signedVoluntaryExit: phase0.SignedVoluntaryExit}) => {
      chain.addVoluntaryExit(signedVoluntaryExit);
    },
    getPoolBLSToExecutionChanges: async () => ({data: []}),
  };
}
