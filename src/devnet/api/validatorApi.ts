import {computeEpochAtSlot, computeStartSlotAtEpoch, computeEndSlotAtEpoch} from "@lodestar/state-transition";
import {ProducedBlockSource, type altair, type bellatrix, type electra} from "@lodestar/types";
import {fromHex, toHex} from "../../hotpath/bytes.js";
import {addAggregateAndProof, addContributionAndProof} from "../aggregates.js";
import {produceBlock} from "../blockProducer.js";
import type {Devnet} from "../devnet.js";
import {reject, rejectFailures} from "../errors.js";

/** Epochs ahead of the head for which duties are served: the spec allows the next epoch; more is not knowable. */
const MAX_DUTY_LOOKAHEAD_EPOCHS = 1;

export function validatorMethods(devnet: Devnet) {
  const chain = devnet.chain;
  /**
   * Blocks built, by slot, randao reveal, graffiti, parent and fault: a cluster's nodes all ask for the same
   * block (the randao reveal is the recovered signature), and a real cluster has one beacon node per node. One
   * devnet building it four times over serialised the nodes' requests (200-450 ms at every proposal on two
   * cores), which made the test beacon node, not r3dv, the proposal's slowest step.
   */
  const produced = new Map<string, ReturnType<typeof produceBlock>>();
  const checkEpoch = (epoch: number) => {
    const current = computeEpochAtSlot(chain.currentSlot());
    if (epoch > current + MAX_DUTY_LOOKAHEAD_EPOCHS)
      reject(
        `duties for epoch ${epoch} are not known yet (current epoch ${current}, at most ${MAX_DUTY_LOOKAHEAD_EPOCHS} ahead)`,
      );
  };
  /** The builder registration the devnet holds for `slot`'s proposer, if any. */
  const registrationOf = (slot: number) => {
    const state = chain.stateAt(chain.head(), slot);
    const pubkey = state.validators.getReadonly(state.epochCtx.getBeaconProposer(slot)).pubkey;
    return devnet.registrations.get(toHex(pubkey));
  };
  // The Beacon API sends dependent_root as a 0x hex string, as every real beacon node does.
  const depMeta = (epoch: number) => ({
    executionOptimistic: false,
    dependentRoot: toHex(chain.dependentRoot(chain.head(), epoch)),
  });

  return {
    getAttesterDuties: async ({epoch, indices}: {epoch: number; indices: number[]}) => {
      checkEpoch(epoch);
      const state = chain.dutyState(epoch);
      if (epoch < computeEpochAtSlot(state.slot) - 1)
        reject(`attester duties of epoch ${epoch} are no longer kept; ask the current or previous epoch`);
      const duties = state.epochCtx.getCommitteeAssignments(epoch, indices);
      const data = [...duties.values()].map((d) => ({
        ...d,
        pubkey: state.validators.getReadonly(d.validatorIndex).pubkey,
      }));
      return {data, meta: depMeta(epoch - 1)};
    },
    getProposerDuties: async ({epoch}: {epoch: number}) => {
      checkEpoch(epoch);
      const headEpoch = computeEpochAtSlot(chain.head().slot);
      let proposers: number[];
      if (epoch < headEpoch) {
        // Past epochs: the head state no longer holds their proposers; the recorder kept them.
        proposers =
          devnet.duties.byEpoch.get(epoch)?.proposers ?? reject(`proposer duties of epoch ${epoch} are no longer kept`);
      } else {
        const state =
          epoch > headEpoch ? chain.stateAt(chain.head(), computeStartSlotAtEpoch(epoch)) : chain.headState();
        proposers = [];
        for (let slot = computeStartSlotAtEpoch(epoch); slot <= computeEndSlotAtEpoch(epoch); slot++)
          proposers.push(state.epochCtx.getBeaconProposer(slot));
      }
      const validators = chain.headState().validators;
      const data = proposers.map((validatorIndex, i) => ({
        slot: computeStartSlotAtEpoch(epoch) + i,
        validatorIndex,
        pubkey: validators.getReadonly(validatorIndex).pubkey,
      }));
      return {data, meta: depMeta(epoch)};
    },
    getSyncCommitteeDuties: async ({epoch, indices}: {epoch: number; indices: number[]}) => {
      checkEpoch(epoch);
      const state = chain.dutyState(epoch);
      const map = state.epochCtx.getIndexedSyncCommitteeAtEpoch(epoch).validatorIndexMap;
      const data = [];
      for (const validatorIndex of indices) {
        const positions = map.get(validatorIndex);
        if (positions)
          data.push({
            pubkey: state.validators.getReadonly(validatorIndex).pubkey,
            validatorIndex,
            validatorSyncCommitteeIndices: positions,
          });
      }
      return {data, meta: {executionOptimistic: false}};
    },
    produceAttestationData: async ({slot, committeeIndex}: {slot: number; committeeIndex?: number}) => ({
      data: chain.attestationData(slot, committeeIndex ?? 0),
    }),
    produceBlockV3: async ({
      slot,
      randaoReveal,
      graffiti,
      builderBoostFactor,
    }: {
      slot: number;
      randaoReveal: Uint8Array;
      graffiti?: string;
      builderBoostFactor?: bigint;
    }) => {
      const current = chain.currentSlot();
      if (slot > current + 1) reject(`slot ${slot} is in the future (current slot ${current})`);
      const g = new Uint8Array(32);
      if (graffiti) {
        if (graffiti.startsWith("0x")) g.set(fromHex(graffiti).subarray(0, 32));
        else new TextEncoder().encodeInto(graffiti, g);
      }
      const fault = devnet.faults.peek(slot);
      const head = chain.head();
      const build = (kind: string, opts: Parameters<typeof produceBlock>[5]) => {
        const key = [slot, toHex(randaoReveal), toHex(g), head.rootHex, kind].join("/");
        let building = produced.get(key);
        if (!building) {
          building = produceBlock(chain, slot, randaoReveal, g, devnet.feeRecipients, {parent: head, ...opts});
          produced.set(key, building);
          building.catch(() => produced.delete(key));
          for (const k of produced.keys()) if (Number(k.split("/")[0]) < slot - 1) produced.delete(k);
        }
        return building;
      };
      const meta = (blinded: boolean, value: {executionPayloadValue: bigint; consensusBlockValue: bigint}) => ({
        version: chain.config.getForkName(slot),
        executionPayloadBlinded: blinded,
        executionPayloadSource: blinded ? ProducedBlockSource.builder : ProducedBlockSource.engine,
        ...value,
      });
      // With a builder and a registration for the slot's proposer, the builder's bid (0.1 ETH) beats the local
      // block (which the devnet values at 0) at any boost factor but 0, so only the builder's block is built.
      const registration = devnet.builder && builderBoostFactor !== 0n ? registrationOf(slot) : undefined;
      if (devnet.builder && registration) {
        if (fault?.kind === "builder_late") await new Promise((r) => setTimeout(r, fault.delayMs));
        const payee = registration.message.feeRecipient;
        const bid = devnet.builder.payment(payee, fault?.kind === "builder_wrong_payee");
        const built = await build(`builder:${toHex(bid.payment.to)}`, {builder: bid});
        const blinded = devnet.builder.offer(built, payee, bid.payment.to);
        if (blinded) return {data: blinded, meta: meta(true, built)} as never;
      }
      const built = await build(`local:${fault?.kind === "bad_state_root"}`, {
        ...(fault?.kind === "bad_state_root" ? {badPayload: "state_root" as const} : {}),
      });
      return {data: {block: built.block, kzgProofs: [], blobs: []}, meta: meta(false, built)};
    },
    produceSyncCommitteeContribution: async ({
      slot,
      subcommitteeIndex,
      beaconBlockRoot,
    }: {
      slot: number;
      subcommitteeIndex: number;
      beaconBlockRoot: Uint8Array;
    }) => {
      const c = chain.syncPool.contribution(slot, beaconBlockRoot, subcommitteeIndex);
      if (!c)
        reject(`no sync committee messages for slot ${slot}, subcommittee ${subcommitteeIndex} and that block root`);
      return {data: c};
    },
    getAggregatedAttestationV2: async ({
      attestationDataRoot,
      slot,
      committeeIndex,
    }: {
      attestationDataRoot: Uint8Array;
      slot: number;
      committeeIndex: number;
    }) => {
      const att = chain.attestationPool.getAggregate(slot, attestationDataRoot, committeeIndex);
      if (!att) reject(`no attestation for slot ${slot}, committee ${committeeIndex} and that data root in the pool`);
      return {data: att, meta: {version: chain.config.getForkName(slot)}};
    },
    publishAggregateAndProofsV2: async ({
      signedAggregateAndProofs,
    }: {
      signedAggregateAndProofs: electra.SignedAggregateAndProof[];
    }) => {
      rejectFailures(signedAggregateAndProofs, (s) => addAggregateAndProof(chain, s));
    },
    publishContributionAndProofs: async ({
      contributionAndProofs,
    }: {
      contributionAndProofs: altair.SignedContributionAndProof[];
    }) => {
      rejectFailures(contributionAndProofs, (s) => addContributionAndProof(chain, s));
    },
    // No gossip subnets here, but a subscription is checked as a beacon node would and logged for the effectiveness report.
    prepareBeaconCommitteeSubnet: async ({
      subscriptions,
    }: {
      subscriptions: {validatorIndex: number; committeeIndex: number; slot: number; isAggregator: boolean}[];
    }) => {
      rejectFailures(subscriptions, (s) => {
        const epoch = computeEpochAtSlot(s.slot);
        checkEpoch(epoch);
        const state = chain.dutyState(epoch);
        if (s.committeeIndex >= state.epochCtx.getCommitteeCountPerSlot(epoch))
          reject(`committee index ${s.committeeIndex} out of range at slot ${s.slot}`);
        if (!state.epochCtx.getBeaconCommittee(s.slot, s.committeeIndex).includes(s.validatorIndex))
          reject(`validator ${s.validatorIndex} is not in committee ${s.committeeIndex} of slot ${s.slot}`);
        chain.submissions.addCommitteeSubscription(s.slot, s.validatorIndex, s.isAggregator);
      });
    },
    prepareSyncCommitteeSubnets: async ({
      subscriptions,
    }: {
      subscriptions: {validatorIndex: number; syncCommitteeIndices: number[]; untilEpoch: number}[];
    }) => {
      const epoch = computeEpochAtSlot(chain.currentSlot());
      rejectFailures(subscriptions, (s) => {
        if (s.untilEpoch <= epoch) reject(`until_epoch ${s.untilEpoch} is not after the current epoch ${epoch}`);
        const members = chain
          .dutyState(epoch)
          .epochCtx.getIndexedSyncCommitteeAtEpoch(s.untilEpoch - 1).validatorIndexMap;
        if (!members.has(s.validatorIndex))
          reject(`validator ${s.validatorIndex} is not in the sync committee that ends before epoch ${s.untilEpoch}`);
        chain.submissions.addSyncSubscription(epoch, s.validatorIndex);
      });
    },
    prepareBeaconProposer: async ({proposers}: {proposers: {validatorIndex: number; feeRecipient: string}[]}) => {
      for (const p of proposers) devnet.feeRecipients.set(p.validatorIndex, fromHex(p.feeRecipient, 20));
    },
    registerValidator: async ({registrations}: {registrations: bellatrix.SignedValidatorRegistrationV1[]}) => {
      const state = chain.headState();
      const now = Math.floor(Date.now() / 1000);
      rejectFailures(registrations, (r) => devnet.registrations.add(state, r, now, reject));
    },
    submitBeaconCommitteeSelections: async () => reject("DVT selection aggregation is not offered by this beacon node"),
    getLiveness: async ({epoch, indices}: {epoch: number; indices: number[]}) => ({
      data: indices.map((index) => ({index, isLive: devnet.isLive(index, epoch)})),
    }),
  };
}
