import type {BeaconConfig, ChainForkConfig} from "@lodestar/config";
import {
  DOMAIN_AGGREGATE_AND_PROOF,
  DOMAIN_APPLICATION_BUILDER,
  DOMAIN_BEACON_ATTESTER,
  DOMAIN_BEACON_PROPOSER,
  DOMAIN_CONTRIBUTION_AND_PROOF,
  DOMAIN_RANDAO,
  DOMAIN_SELECTION_PROOF,
  DOMAIN_SYNC_COMMITTEE,
  DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF,
  SLOTS_PER_EPOCH,
} from "@lodestar/params";
import {ZERO_HASH, computeDomain, computeSigningRoot} from "@lodestar/state-transition";
import {
  type BeaconBlock,
  type Epoch,
  type Slot,
  type altair,
  type bellatrix,
  type electra,
  type phase0,
  ssz,
} from "@lodestar/types";

/**
 * Signing roots: what a share signs. Domains come from the beacon node's fork schedule and genesis
 * validators root (through `config`), so a wrong network or fork can never produce a valid-looking signature.
 *
 * Never build a changed SSZ value with object spread (`{...data, slot}`): @chainsafe/ssz caches a value's hash
 * tree root in a symbol property that spread copies, so the copy hashes to the original's root. Clone
 * through the type (`ssz.phase0.AttestationData.clone`) instead.
 */
export function attestationSigningRoot(config: BeaconConfig, data: phase0.AttestationData): Uint8Array {
  return computeSigningRoot(ssz.phase0.AttestationData, data, config.getDomain(data.slot, DOMAIN_BEACON_ATTESTER));
}

export function randaoSigningRoot(config: BeaconConfig, epoch: Epoch): Uint8Array {
  return computeSigningRoot(ssz.Epoch, epoch, config.getDomain(epoch * SLOTS_PER_EPOCH, DOMAIN_RANDAO));
}

export function blockSigningRoot(config: BeaconConfig, block: BeaconBlock): Uint8Array {
  const type = config.getForkTypes(block.slot).BeaconBlock as unknown as Parameters<typeof computeSigningRoot>[0];
  return computeSigningRoot(type, block, config.getDomain(block.slot, DOMAIN_BEACON_PROPOSER));
}

/** A builder's blinded block: its hash tree root is the full block's, so this is the signing root of either. */
export function blindedBlockSigningRoot(config: BeaconConfig, block: electra.BlindedBeaconBlock): Uint8Array {
  return computeSigningRoot(
    ssz.electra.BlindedBeaconBlock,
    block,
    config.getDomain(block.slot, DOMAIN_BEACON_PROPOSER),
  );
}

export function selectionProofSigningRoot(config: BeaconConfig, slot: Slot): Uint8Array {
  return computeSigningRoot(ssz.Slot, slot, config.getDomain(slot, DOMAIN_SELECTION_PROOF));
}

export function aggregateAndProofSigningRoot(config: BeaconConfig, slot: Slot, message: unknown): Uint8Array {
  const type = config.getForkTypes(slot).AggregateAndProof as unknown as Parameters<typeof computeSigningRoot>[0];
  return computeSigningRoot(type, message, config.getDomain(slot, DOMAIN_AGGREGATE_AND_PROOF));
}

/** A sync committee message: the member's signature over the head block root (not slashable). */
export function syncCommitteeMessageSigningRoot(
  config: BeaconConfig,
  slot: Slot,
  beaconBlockRoot: Uint8Array,
): Uint8Array {
  return computeSigningRoot(ssz.Root, beaconBlockRoot, config.getDomain(slot, DOMAIN_SYNC_COMMITTEE));
}

export function syncSelectionProofSigningRoot(config: BeaconConfig, slot: Slot, subcommitteeIndex: number): Uint8Array {
  return computeSigningRoot(
    ssz.altair.SyncAggregatorSelectionData,
    {slot, subcommitteeIndex},
    config.getDomain(slot, DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF),
  );
}

export function contributionAndProofSigningRoot(
  config: BeaconConfig,
  message: altair.ContributionAndProof,
): Uint8Array {
  return computeSigningRoot(
    ssz.altair.ContributionAndProof,
    message,
    config.getDomain(message.contribution.slot, DOMAIN_CONTRIBUTION_AND_PROOF),
  );
}

/**
 * A voluntary exit. From Deneb on (EIP-7044) its domain is fixed at the Capella fork version whatever the current
 * fork, so an exit signed today stays valid across later forks; before Deneb it is the fork of the exit's epoch.
 * `stateSlot` (the chain's current slot) says which rule applies.
 */
export function voluntaryExitSigningRoot(
  config: BeaconConfig,
  exit: phase0.VoluntaryExit,
  stateSlot: Slot,
): Uint8Array {
  const domain = config.getDomainForVoluntaryExit(stateSlot, exit.epoch * SLOTS_PER_EPOCH);
  return computeSigningRoot(ssz.phase0.VoluntaryExit, exit, domain);
}

/**
 * A builder registration (builder-specs `ValidatorRegistrationV1`): its domain is the application-builder type with
 * the genesis fork version and a zero genesis validators root, so a relay checks it without the chain's state and
 * it stays valid across forks.
 */
export function validatorRegistrationSigningRoot(
  config: ChainForkConfig,
  registration: bellatrix.ValidatorRegistrationV1,
): Uint8Array {
  const domain = computeDomain(DOMAIN_APPLICATION_BUILDER, config.GENESIS_FORK_VERSION, ZERO_HASH);
  return computeSigningRoot(ssz.bellatrix.ValidatorRegistrationV1, registration, domain);
}
