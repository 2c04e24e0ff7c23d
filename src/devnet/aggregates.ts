import {Signature, fastAggregateVerify, type PublicKey} from "@chainsafe/blst";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  SLOTS_PER_EPOCH,
  SYNC_COMMITTEE_SUBNET_SIZE,
} from "@lodestar/params";
import {
  computeEpochAtSlot,
  computeSigningRoot,
  isAggregatorFromCommitteeLength,
  isSyncCommitteeAggregator,
  type CachedBeaconStateAllForks,
} from "@lodestar/state-transition";
import {ssz, type altair, type electra} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import {errorMessage} from "../util/errors.js";
import type {DevChain} from "./chain.js";
import {reject} from "./errors.js";
import {verifySignature} from "./signatures.js";

function verifyAggregateSignature(
  state: CachedBeaconStateAllForks,
  indices: number[],
  signingRoot: Uint8Array,
  signatureBytes: Uint8Array,
  what: string,
): Signature {
  let sig: Signature;
  try {
    sig = Signature.fromBytes(signatureBytes, true);
  } catch (e) {
    reject(`${what}: not a valid BLS signature: ${errorMessage(e)}`);
  }
  const pks = indices.map((i) => state.epochCtx.getPubkey(i) as PublicKey);
  if (pks.length === 0 || !fastAggregateVerify(signingRoot, pks, sig)) reject(`${what}: invalid aggregate signature`);
  return sig;
}

/** Gossip checks of an Electra SignedAggregateAndProof (selection proof, aggregator, both signatures), then pool. */
export function addAggregateAndProof(chain: DevChain, signed: electra.SignedAggregateAndProof): void {
  const {aggregatorIndex, aggregate, selectionProof} = signed.message;
  const {data} = aggregate;
  const current = chain.currentSlot();
  if (data.slot > current) reject(`aggregate slot ${data.slot} is in the future (current slot ${current})`);
  if (data.slot + SLOTS_PER_EPOCH < current) reject(`aggregate slot ${data.slot} is older than one epoch`);
  const committeeIndices = aggregate.committeeBits.getTrueBitIndexes();
  if (committeeIndices.length !== 1)
    reject(`an aggregate must have exactly one committee bit, got ${committeeIndices.length}`);
  const committeeIndex = committeeIndices[0] as number;
  const seenKey = `aggregate:${aggregatorIndex}:${committeeIndex}:${toHex(ssz.electra.AggregateAndProof.hashTreeRoot(signed.message))}`;
  if (chain.seen.has(data.slot, seenKey)) return;
  const state = chain.dutyState(computeEpochAtSlot(data.slot));
  const committee = state.epochCtx.getBeaconCommittee(data.slot, committeeIndex);
  if (aggregate.aggregationBits.bitLen !== committee.length)
    reject(`aggregation bits length ${aggregate.aggregationBits.bitLen} != committee size ${committee.length}`);
  if (!committee.includes(aggregatorIndex))
    reject(`aggregator ${aggregatorIndex} is not in committee ${committeeIndex} of slot ${data.slot}`);
  verifySignature(
    state,
    aggregatorIndex,
    ssz.Slot,
    data.slot,
    chain.config.getDomain(state.slot, DOMAIN_SELECTION_PROOF, data.slot),
    selectionProof,
    (r) => reject(`selection proof: ${r}`),
  );
  if (!isAggregatorFromCommitteeLength(committee.length, selectionProof))
    reject(`validator ${aggregatorIndex} is not an aggregator for slot ${data.slot}`);
  verifySignature(
    state,
    aggregatorIndex,
    ssz.electra.AggregateAndProof,
    signed.message,
    chain.config.getDomain(state.slot, DOMAIN_AGGREGATE_AND_PROOF, data.slot),
    signed.signature,
    reject,
  );
  const positions = aggregate.aggregationBits.getTrueBitIndexes();
  const root = computeSigningRoot(
    ssz.phase0.AttestationData,
    data,
    chain.config.getDomain(state.slot, DOMAIN_BEACON_ATTESTER, data.slot),
  );
  const sig = verifyAggregateSignature(
    state,
    positions.map((p) => committee[p] as number),
    root,
    aggregate.signature,
    "aggregate attestation",
  );
  chain.attestationPool.add(data, committee, committeeIndex, positions, sig);
  chain.markLive(data.slot, aggregatorIndex);
  chain.submissions.addAggregate({
    slot: data.slot,
    aggregatorIndex,
    committeeIndex,
    validators: positions.map((p) => committee[p] as number),
  });
  chain.seen.add(data.slot, seenKey);
}

/** Gossip checks of a SignedContributionAndProof, then into the sync pool where it beats the members' own messages. */
export function addContributionAndProof(chain: DevChain, signed: altair.SignedContributionAndProof): void {
  const {aggregatorIndex, contribution, selectionProof} = signed.message;
  const current = chain.currentSlot();
  if (contribution.slot > current)
    reject(`contribution slot ${contribution.slot} is in the future (current slot ${current})`);
  const seenKey = `contribution:${toHex(ssz.altair.ContributionAndProof.hashTreeRoot(signed.message))}`;
  if (chain.seen.has(contribution.slot, seenKey)) return;
  const state = chain.dutyState(computeEpochAtSlot(contribution.slot));
  const members = state.epochCtx.getIndexedSyncCommittee(contribution.slot).validatorIndices;
  const start = contribution.subcommitteeIndex * SYNC_COMMITTEE_SUBNET_SIZE;
  const sub = Array.from(members.subarray(start, start + SYNC_COMMITTEE_SUBNET_SIZE));
  if (!sub.includes(aggregatorIndex))
    reject(`aggregator ${aggregatorIndex} is not in sync subcommittee ${contribution.subcommitteeIndex}`);
  const selectionData = {slot: contribution.slot, subcommitteeIndex: contribution.subcommitteeIndex};
  verifySignature(
    state,
    aggregatorIndex,
    ssz.altair.SyncAggregatorSelectionData,
    selectionData,
    chain.config.getDomain(state.slot, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF, contribution.slot),
    selectionProof,
    (r) => reject(`selection proof: ${r}`),
  );
  if (!isSyncCommitteeAggregator(selectionProof))
    reject(`validator ${aggregatorIndex} is not a sync aggregator for slot ${contribution.slot}`);
  verifySignature(
    state,
    aggregatorIndex,
    ssz.altair.ContributionAndProof,
    signed.message,
    chain.config.getDomain(state.slot, DOMAIN_CONTRIBUTION_AND_PROOF, contribution.slot),
    signed.signature,
    reject,
  );
  const participants = contribution.aggregationBits.getTrueBitIndexes().map((p) => sub[p] as number);
  const root = computeSigningRoot(
    ssz.Root,
    contribution.beaconBlockRoot,
    chain.config.getDomain(state.slot, DOMAIN_SYNC_COMMITTEE, contribution.slot),
  );
  const sig = verifyAggregateSignature(state, participants, root, contribution.signature, "sync contribution");
  const positions = contribution.aggregationBits.getTrueBitIndexes().map((p) => start + p);
  chain.syncPool.addContribution(
    contribution.slot,
    contribution.beaconBlockRoot,
    contribution.subcommitteeIndex,
    positions,
    sig,
  );
  chain.seen.add(contribution.slot, seenKey);
}
