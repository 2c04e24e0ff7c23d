import {DOMAIN_BEACON_ATTESTER, DOMAIN_SYNC_COMMITTEE, SLOTS_PER_EPOCH} from "@lodestar/params";
import {Signature, aggregateWithRandomness, verify} from "@chainsafe/blst";
import {computeEpochAtSlot, computeSigningRoot, computeStartSlotAtEpoch} from "@lodestar/state-transition";
import {ssz, type altair, type electra, type phase0} from "@lodestar/types";
import {toHex} from "../hotpath/bytes.js";
import type {DevChain} from "./chain.js";
import {reject} from "./errors.js";
import {errorMessage} from "../util/errors.js";
import {verifySignature} from "./signatures.js";

/*
 * What a beacon node checks before a vote enters its pools (the gossip rules), and the vote it hands an honest
 * attester. Every refusal says why; the API turns it into a 400.
 */

/** A vote that passed the gossip checks: what its signature check and its entry into the pool need. */
interface CheckedVote {
  att: electra.SingleAttestation;
  committee: Uint32Array;
  position: number;
  seenKey: string;
  domain: Uint8Array;
  refuse: (reason: string) => never;
}

/** Gossip-style checks on an Electra `SingleAttestation` before any BLS work; undefined when already seen. */
function checkVote(chain: DevChain, att: electra.SingleAttestation): CheckedVote | undefined {
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
  if (chain.seen.has(data.slot, seenKey)) return undefined;
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
  return {att, committee, position, seenKey, domain, refuse};
}

function acceptVote(chain: DevChain, v: CheckedVote, signature: Signature): void {
  const {data} = v.att;
  chain.attestationPool.add(data, v.committee, v.att.committeeIndex, [v.position], signature);
  chain.markLive(data.slot, v.att.attesterIndex);
  chain.seen.add(data.slot, v.seenKey);
  chain.rejections.delete(`${v.att.attesterIndex}:${data.target.epoch}`);
}

/** The gossip checks, then the signature, then into the pool; refuses with a reason that names the failure. */
export function addSingleAttestation(chain: DevChain, att: electra.SingleAttestation): void {
  const v = checkVote(chain, att);
  if (!v) return;
  const state = chain.dutyState(computeEpochAtSlot(att.data.slot));
  const signature = verifySignature(
    state,
    att.attesterIndex,
    ssz.phase0.AttestationData,
    att.data,
    v.domain,
    att.signature,
    v.refuse,
  );
  acceptVote(chain, v, signature);
}

/**
 * A submission's votes, as `addSingleAttestation` takes each, with one signature check for all the votes over the
 * same data, as a beacon node batches its gossip checks: a slot's votes all sign one root from Electra, and one
 * by one the devnet spent 0.8 ms a vote (250 ms a slot at 2,500 validators) on the cores the cluster shares. The
 * votes are weighed with random scalars (`aggregateWithRandomness`), so wrong signatures cannot cancel out; when
 * the batch fails, each vote is checked alone and a wrong one refused by name. Returns each vote's refusal.
 */
export function addSingleAttestations(chain: DevChain, atts: electra.SingleAttestation[]): (string | undefined)[] {
  const refusals: (string | undefined)[] = atts.map(() => undefined);
  const byRoot = new Map<string, {k: number; v: CheckedVote; root: Uint8Array}[]>();
  const inThisBatch = new Set<string>();
  // A vote repeated in one submission is taken after the others, as a beacon node takes a repeat: ignored once
  // the first is held, checked on its own when the first was refused.
  const repeats: number[] = [];
  atts.forEach((att, k) => {
    try {
      const v = checkVote(chain, att);
      if (!v) return;
      if (inThisBatch.has(v.seenKey)) return void repeats.push(k);
      inThisBatch.add(v.seenKey);
      const root = computeSigningRoot(ssz.phase0.AttestationData, att.data, v.domain);
      const key = toHex(root);
      const group = byRoot.get(key);
      if (group) group.push({k, v, root});
      else byRoot.set(key, [{k, v, root}]);
    } catch (e) {
      refusals[k] = errorMessage(e);
    }
  });
  const take = (k: number, add: () => void) => {
    try {
      add();
    } catch (e) {
      refusals[k] = errorMessage(e);
    }
  };
  for (const group of byRoot.values()) {
    const together = group.length > 1 ? groupHolds(chain, group) : undefined;
    for (const {k, v} of group)
      take(k, () =>
        together ? acceptVote(chain, v, together.get(k) as Signature) : addSingleAttestation(chain, v.att),
      );
  }
  for (const k of repeats) take(k, () => addSingleAttestation(chain, atts[k] as electra.SingleAttestation));
  return refusals;
}

/** Each vote's decoded signature when the group's random combination verifies; undefined when it does not. */
function groupHolds(
  chain: DevChain,
  group: {k: number; v: CheckedVote; root: Uint8Array}[],
): Map<number, Signature> | undefined {
  try {
    const state = chain.dutyState(computeEpochAtSlot(group[0]?.v.att.data.slot ?? 0));
    const sets = group.map(({v}) => {
      const pk = state.epochCtx.getPubkey(v.att.attesterIndex);
      if (!pk) throw new Error(`unknown validator index ${v.att.attesterIndex}`);
      return {pk, sig: v.att.signature};
    });
    const agg = aggregateWithRandomness(sets);
    if (!verify(group[0]?.root as Uint8Array, agg.pk, agg.sig)) return undefined;
    return new Map(group.map(({k, v}) => [k, Signature.fromBytes(v.att.signature)]));
  } catch {
    return undefined;
  }
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
