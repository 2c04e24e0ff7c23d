import {DOMAIN_BEACON_ATTESTER, DOMAIN_SYNC_COMMITTEE, SLOTS_PER_EPOCH} from "@lodestar/params";
import {computeEpochAtSlot, computeStartSlotAtEpoch} from "@lodestar/state-transition";
import {ssz, type altair, type electra, type phase0} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import type {DevChain} from "./chain.js";
import {reject} from "./errors.js";
import {verifySignature} from "./signatures.js";

/*
 * What a beacon node checks before a vote enters its pools (the gossip rules), and the vote it hands an honest
 * attester. Every refusal says why; the API turns it into a 400.
 */

/** Gossip-style checks on an Electra `SingleAttestation`, then signature, then into the pool. */
export function addSingleAttestation(chain: DevChain, att: electra.SingleAttestation): void {
  const {data} = att;
  const epoch = computeEpochAtSlot(data.slot);
  const refuse = (reason: string): never => {
    chain.rejections.set(`${att.attesterIndex}:${data.target.epoch}`, reason);
    reject(reason);
  };
  const current = chain.currentSlot();
  if (data.slot > current) refuse(`attestation slot ${data.slot} is in the future (current slot ${current})`);
  if (data.slot + SLOTS_PER_EPOCH < current)
    refuse(`attestation slot ${data.slot} is older than one epoch (current slot ${current})`);
  if (data.index !== 0) refuse(`attestation data index must be 0 after Electra, got ${data.index}`);
  // A vote this validator already gave for the same data is ignored before any BLS work, as a beacon node's
  // already-known check does: every node of a cluster submits the same recovered vote, and at 2,500 validators
  // verifying all four copies (1,250 a slot) left the devnet's submissions timing out.
  const seenKey = `att:${att.attesterIndex}:${toHex(ssz.phase0.AttestationData.hashTreeRoot(data))}`;
  if (chain.seen.has(data.slot, seenKey)) return;
  if (data.target.epoch !== epoch) refuse(`target epoch ${data.target.epoch} does not match the slot's epoch ${epoch}`);
  if (!chain.blocks.getByRoot(data.beaconBlockRoot)) refuse(`unknown beacon block root ${toHex(data.beaconBlockRoot)}`);
  const state = chain.dutyState(epoch);
  const committeeCount = state.epochCtx.getCommitteeCountPerSlot(epoch);
  if (att.committeeIndex >= committeeCount)
    refuse(`committee index ${att.committeeIndex} out of range (${committeeCount} committees per slot)`);
  const committee = state.epochCtx.getBeaconCommittee(data.slot, att.committeeIndex);
  const position = committee.indexOf(att.attesterIndex);
  if (position < 0)
    refuse(`validator ${att.attesterIndex} is not in committee ${att.committeeIndex} of slot ${data.slot}`);
  const domain = chain.config.getDomain(state.slot, DOMAIN_BEACON_ATTESTER, data.slot);
  const signature = verifySignature(
    state,
    att.attesterIndex,
    ssz.phase0.AttestationData,
    data,
    domain,
    att.signature,
    refuse,
  );
  chain.attestationPool.add(data, committee, att.committeeIndex, [position], signature);
  chain.markLive(data.slot, att.attesterIndex);
  chain.seen.add(data.slot, seenKey);
  chain.rejections.delete(`${att.attesterIndex}:${data.target.epoch}`);
}

/** What an honest attester votes for at `slot`: the head, its target checkpoint and the justified source. */
export function attestationData(chain: DevChain, slot: number, committeeIndex: number): phase0.AttestationData {
  const head = chain.head();
  if (slot > chain.currentSlot()) reject(`slot ${slot} is in the future (current slot ${chain.currentSlot()})`);
  const epoch = computeEpochAtSlot(slot);
  const state = chain.dutyState(epoch);
  const committees = state.epochCtx.getCommitteeCountPerSlot(epoch);
  if (committeeIndex >= committees)
    reject(`committee index ${committeeIndex} out of range (${committees} committees per slot)`);
  // For a past slot the vote is for the canonical block of that slot, as an honest attester then saw it.
  const voted = slot >= head.slot ? head : (chain.blocks.atOrBefore(head, slot) ?? chain.genesisBlock);
  const advanced = chain.stateAt(voted, slot);
  const target = chain.blocks.atOrBefore(voted, computeStartSlotAtEpoch(epoch)) ?? chain.genesisBlock;
  const source = advanced.currentJustifiedCheckpoint;
  return {
    slot,
    index: 0,
    beaconBlockRoot: voted.root,
    source: {epoch: source.epoch, root: source.root},
    target: {epoch, root: target.root},
  };
}

/** A sync committee member's signature over the head root of `slot`, checked, then into the sync pool. */
export function addSyncCommitteeMessage(chain: DevChain, msg: altair.SyncCommitteeMessage): void {
  const current = chain.currentSlot();
  if (msg.slot > current) reject(`sync committee message slot ${msg.slot} is in the future (current slot ${current})`);
  if (msg.slot + 1 < current) reject(`sync committee message slot ${msg.slot} is too old (current slot ${current})`);
  const seenKey = `sync:${msg.validatorIndex}:${toHex(msg.beaconBlockRoot)}`;
  if (chain.seen.has(msg.slot, seenKey)) return;
  const state = chain.dutyState(computeEpochAtSlot(msg.slot));
  const positions = state.epochCtx.getIndexedSyncCommittee(msg.slot).validatorIndexMap.get(msg.validatorIndex);
  if (!positions) reject(`validator ${msg.validatorIndex} is not in the sync committee at slot ${msg.slot}`);
  const domain = chain.config.getDomain(state.slot, DOMAIN_SYNC_COMMITTEE, msg.slot);
  const signature = verifySignature(
    state,
    msg.validatorIndex,
    ssz.Root,
    msg.beaconBlockRoot,
    domain,
    msg.signature,
    reject,
  );
  chain.syncPool.add(msg.slot, msg.beaconBlockRoot, positions, signature);
  chain.seen.add(msg.slot, seenKey);
}
